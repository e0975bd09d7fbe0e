//! More value tests: see the module above for the fixtures and helpers.
use super::*;

/// Command-line text is coerced to each declared type, and the typed value is what
/// the chart values, the templates and the record get.
#[test]
fn command_line_values_are_coerced_to_declared_types() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let mut a = REQUIRED.to_vec();
    a.extend([
        "--set",
        "replicas=4",
        "--set",
        "cpu_limit=1.10",
        "--set",
        "debug=yes",
        "--set",
        "tier=large",
        "--set",
        r#"labels={"team": "web", "tier": "gold"}"#,
        "--set",
        "message=0755",
        "--set",
        "sessions.persistence=on",
    ]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "replicas", json!(4), "flag");
    assert_recorded(&g, "web", "cpu_limit", json!(1.1), "flag");
    assert_recorded(&g, "web", "debug", json!(true), "flag");
    assert_recorded(&g, "web", "tier", json!("large"), "flag");
    assert_recorded(
        &g,
        "web",
        "labels",
        json!({"team": "web", "tier": "gold"}),
        "flag",
    );
    assert_recorded(&g, "web", "message", json!("0755"), "flag");
    assert_recorded(&g, "web", "sessions.persistence", json!(true), "flag");
    let v = release_values(&g, "web", "frontend");
    assert!(v["replicaCount"].is_i64(), "{v}");
    assert_eq!(v["replicaCount"], json!(4));
    assert_eq!(v["resources"]["limits"]["cpu"], json!(1.1));
    assert_eq!(v["debug"], json!(true));
    assert_eq!(v["logLevel"], json!("debug"));
    assert_eq!(v["podLabels"], json!({"team": "web", "tier": "gold"}));
    assert_eq!(v["ui"]["message"], json!("0755"));
    let s = settings(&g, "web");
    assert_eq!(s["CPU_LIMIT"], json!("1.1"));
    assert_eq!(s["DEBUG"], json!("true"));
    assert_eq!(s["MESSAGE"], json!("0755"));
    assert_eq!(
        release_values(&g, "web", "sessions-valkey")["primary"]["persistence"]["enabled"],
        json!(true)
    );
}

/// Every kind of bad value is an error (exit 1) naming the parameter, where the value
/// came from and what was expected, and leaves the GitOps repository as it was.
#[test]
fn bad_values_are_refused_naming_parameter_source_and_expectation() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    // A file whose line 3 holds a string for an integer, and one with an unknown key.
    let typed = write(
        &env,
        "typed.yaml",
        "# shop values\ndomain: shop.example.com\nreplicas: \"3\"\n",
    );
    let unknown = write(&env, "unknown.yaml", "region: eu-west-1\nreplcas: 3\n");
    let nested = write(&env, "nested.yaml", "sessions:\n  memory: lots\n");
    env.commit_file(
        &g,
        ".pctl/values/team.yaml",
        "# team defaults\ntier: gigantic\n",
    );
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec!["--set".into(), "replicas=many".into()],
            vec!["replicas", "--set replicas", "integer", "\"many\""],
        ),
        (
            vec!["--set".into(), "replicas=11".into()],
            vec!["replicas", "--set replicas", "maximum 10"],
        ),
        (
            vec!["--set".into(), "replicas=0".into()],
            vec!["replicas", "--set replicas", "minimum 1"],
        ),
        (
            vec!["--set".into(), "cpu_limit=fast".into()],
            vec!["cpu_limit", "--set cpu_limit", "number"],
        ),
        (
            vec!["--set".into(), "cpu_limit=9.5".into()],
            vec!["cpu_limit", "maximum 4"],
        ),
        (
            vec!["--set".into(), "debug=maybe".into()],
            vec!["debug", "--set debug", "boolean"],
        ),
        (
            vec!["--set".into(), "tier=huge".into()],
            vec!["tier", "--set tier", "small, medium, large"],
        ),
        (
            vec!["--set-string".into(), "replicas=3".into()],
            vec!["replicas", "--set-string", "integer"],
        ),
        (
            vec!["--set".into(), "domain=Shop_Example".into()],
            vec!["domain", "--set domain", "pattern"],
        ),
        (
            vec!["--set".into(), "labels=team".into()],
            vec!["labels", "--set labels", "mapping"],
        ),
        (
            vec!["--set".into(), "replica=3".into()],
            vec!["unknown parameter", "replica", "--set replica"],
        ),
        (
            vec!["--set".into(), "sessions.memory=lots".into()],
            vec!["sessions.memory", "--set sessions.memory", "pattern"],
        ),
        (
            vec!["--set".into(), "sessions.replicas=9".into()],
            vec!["sessions.replicas", "maximum 5"],
        ),
        (
            vec!["--set".into(), "nosuch.replicas=2".into()],
            vec!["unknown parameter", "nosuch.replicas"],
        ),
        (
            vec!["-f".into(), arg(&typed)],
            vec!["replicas", "typed.yaml line 3", "integer"],
        ),
        (
            vec!["-f".into(), arg(&unknown)],
            vec!["unknown parameter", "replcas", "unknown.yaml line 2"],
        ),
        (
            vec!["-f".into(), arg(&nested)],
            vec!["sessions.memory", "nested.yaml", "pattern"],
        ),
        (
            vec!["--values-profile".into(), "team".into()],
            vec![
                "tier",
                "values profile team (.pctl/values/team.yaml) line 2",
                "small, medium, large",
            ],
        ),
        (
            vec!["--values-profile".into(), "nosuch".into()],
            vec!["nosuch", ".pctl/values/nosuch.yaml"],
        ),
        (
            vec!["--preset".into(), "huge".into()],
            vec!["huge", "ha", "dev"],
        ),
        (vec!["--set".into(), "replicas".into()], vec!["NAME=VALUE"]),
    ];
    let before = snapshot(&g);
    for (extra, needles) in cases {
        let mut args: Vec<String> = REQUIRED.iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().cloned());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.install(&g, &webapp(), "web", &a);
        assert_error(&out, 1);
        for n in &needles {
            assert!(
                stderr(&out).contains(n),
                "pctl install {extra:?}: stderr does not mention {n:?}\n{}",
                describe(&out)
            );
        }
        assert_unchanged(&before, &snapshot(&g));
    }

    // global.yaml is shared by every installation: keys for other profiles (bare,
    // or addressed to another profile) are nothing to this one, but a key addressed
    // to this profile must name one of its parameters (file and line named).
    env.commit_file(
        &g,
        ".pctl/values/global.yaml",
        "replicas: 2\nworkers: 8\nnginx.workers: 4\n",
    );
    let out = env.install(&g, &webapp(), "shared", &REQUIRED);
    assert_success(&out);
    let record = std::fs::read_to_string(
        g.join("clusters/default/profiles/shared/profile-installation.yaml"),
    )
    .unwrap();
    assert!(!record.contains("workers"), "{record}");
    git(&g, &["reset", "-q", "--hard", "HEAD~1"]);
    env.commit_file(
        &g,
        ".pctl/values/global.yaml",
        "replicas: 2\nwebapp.replica_count: 3\n",
    );
    let before = snapshot(&g);
    let out = env.install(&g, &webapp(), "web", &REQUIRED);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "unknown parameter \"webapp.replica_count\"",
            ".pctl/values/global.yaml line 2",
        ],
    );
    assert_unchanged(&before, &snapshot(&g));
}

/// Every problem is reported in one run: all missing required parameters at once,
/// together with bad values.
#[test]
fn all_missing_required_parameters_are_reported_at_once() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let before = snapshot(&g);
    let out = env.install(&g, &webapp(), "web", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["required", "domain", "region"]);
    assert_unchanged(&before, &snapshot(&g));

    let out = env.install(
        &g,
        &webapp(),
        "web",
        &["--set", "replicas=zero", "--set", "tier=huge"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["domain", "region", "replicas", "tier"]);
    assert_unchanged(&before, &snapshot(&g));

    // Both required secrets of another profile.
    let out = env.install(
        &g,
        &params().source("secure-app", Some("1.0.0")),
        "grafana",
        &[],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["admin_password", "db_password"]);
    assert_unchanged(&before, &snapshot(&g));
}

// ---------------------------------------------------------------------------
// --explain
// ---------------------------------------------------------------------------

/// Rows of a table printed with columns separated by two or more spaces.
pub(super) fn explain_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// `pctl render --explain` prints every parameter of the tree with its type, final
/// value (secrets masked) and the level it came from, file lines included.
#[test]
fn render_explain_prints_every_parameter_with_type_value_and_source() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(&g, ".pctl/values/global.yaml", "persistence: true\n");
    env.commit_file(
        &g,
        ".pctl/values/team.yaml",
        "# team defaults\nmessage: team greeting\n",
    );
    // session_key is rendered into a Secret, which needs SOPS recipients.
    env.commit_file(&g,
        ".sops.yaml",
        "creation_rules:\n  - age: age1vm40eudx5hll86463mz9hqhsem9vavp5ufp5tthesquzjezvp5ns0e7dxv\n",
    );
    let vals = write(&env, "vals.yaml", "# shop\ndomain: shop.example.com\n");
    env.set_var("PCTL_TEST_SESSION_KEY", "explain-canary-5f1e2d");
    let out = env.pctl([
        "render",
        &webapp(),
        "--explain",
        "--repo",
        &arg(&g),
        "--set",
        "replicas=4",
        "-f",
        &arg(&vals),
        "--preset",
        "ha",
        "--values-profile",
        "team",
        "--set",
        "region=eu-west-1",
        "--set-env",
        "session_key=PCTL_TEST_SESSION_KEY",
    ]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        !text.contains("explain-canary") && !stderr(&out).contains("explain-canary"),
        "{}",
        describe(&out)
    );
    let rows = explain_rows(&text);
    assert_eq!(rows[0], ["PARAMETER", "TYPE", "VALUE", "SOURCE"], "{text}");
    let vals_line = format!("{} line 2", arg(&vals));
    let expected: Vec<[&str; 4]> = vec![
        ["domain", "string", "shop.example.com", &vals_line],
        ["region", "enum", "eu-west-1", "--set region"],
        ["replicas", "integer", "4", "--set replicas"],
        ["cpu_limit", "number", "1.5", "--preset ha"],
        ["debug", "boolean", "false", "default"],
        ["tier", "enum", "large", "--preset ha"],
        [
            "message",
            "string",
            "team greeting",
            "values profile team (.pctl/values/team.yaml) line 2",
        ],
        ["labels", "object", r#"{"team":"web"}"#, "default"],
        [
            "session_key",
            "secret",
            "<redacted>",
            "--set-env session_key",
        ],
        [
            "sessions.host",
            "string",
            "sessions.shop.example.com",
            "`with` of the parent profile (artifact sessions)",
        ],
        ["sessions.replicas", "integer", "1", "default"],
        [
            "sessions.memory",
            "string",
            "1Gi",
            "`with` of the parent profile (artifact sessions)",
        ],
        [
            "sessions.persistence",
            "boolean",
            "true",
            ".pctl/values/global.yaml line 1",
        ],
    ];
    for e in &expected {
        let row = rows
            .iter()
            .find(|r| r.first().map(String::as_str) == Some(e[0]))
            .unwrap_or_else(|| panic!("no row for {}\n{text}", e[0]));
        assert_eq!(row, &e.to_vec(), "row of {}\n{text}", e[0]);
    }
    assert_eq!(
        rows.len(),
        expected.len() + 1,
        "one row per parameter\n{text}"
    );
}

// ---------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------

/// `defaultValues` and `template: true` files see `params`, `profile` (name,
/// version) and `install` (name, namespace, path); files of a local chart are
/// copied byte for byte even though they hold `{{ }}` and `{% %}`.
#[test]
fn templates_see_params_profile_and_install_and_charts_stay_verbatim() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let mut a = REQUIRED.to_vec();
    a.extend([
        "--namespace",
        "shop",
        "--set",
        "labels={team: web, cost-center: \"42\"}",
    ]);
    install_ok(&env, &g, &webapp(), "storefront", &a);
    let path = format!("{INSTALL_PATH}/storefront");

    let v = release_values(&g, "storefront", "frontend");
    let ann = &v["podAnnotations"];
    assert_eq!(ann["app.example.com/profile"], json!("webapp"));
    assert_eq!(ann["app.example.com/profile-version"], json!("1.0.0"));
    assert_eq!(ann["app.example.com/installation"], json!("storefront"));
    assert_eq!(ann["app.example.com/namespace"], json!("shop"));
    assert_eq!(ann["app.example.com/path"], json!(path));
    assert_eq!(ann["app.example.com/region"], json!("eu-west-1"));
    assert_eq!(v["podLabels"], json!({"team": "web", "cost-center": "42"}));
    assert_eq!(
        v["cache"],
        json!("tcp://storefront-sessions-valkey.shop:6379")
    );
    assert_eq!(
        v["ingress"]["hosts"],
        json!([{"host": "shop.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}])
    );

    let s = settings(&g, "storefront");
    assert_eq!(s["INSTALL_NAME"], json!("storefront"));
    assert_eq!(s["INSTALL_NAMESPACE"], json!("shop"));
    assert_eq!(s["INSTALL_PATH"], json!(path));
    assert_eq!(s["DOMAIN"], json!("shop.example.com"));
    let docs = yaml_docs(&install_dir(&g, "storefront").join("artifacts/settings/settings.yaml"));
    assert_eq!(docs.len(), 1, "no session_key, no Secret: {docs:?}");
    assert_eq!(name_of(&docs[0]), "storefront-settings");
    assert_eq!(
        docs[0]["metadata"]["annotations"]["app.example.com/profile-version"],
        json!("1.0.0")
    );

    // The nested profile's templates see the same install context.
    assert_eq!(
        release_values(&g, "storefront", "sessions-valkey")["commonAnnotations"]["app.example.com/installation"],
        json!("storefront")
    );

    // Local chart: copied byte for byte, values rendered into its HelmRelease.
    let chart = repo_files_at(params().path(), "webapp/v1.0.0", "webapp/charts/extras");
    assert!(
        String::from_utf8_lossy(&chart["templates/configmap.yaml"])
            .contains("{{ .Values.region | quote }}")
    );
    let dest = install_dir(&g, "storefront").join("artifacts/extras/chart");
    assert_copied_byte_for_byte(&chart, &dest);
    assert_eq!(
        tree_files(&dest).len(),
        chart.len(),
        "exactly the chart's files"
    );
    let extras = release_values(&g, "storefront", "extras");
    assert_eq!(
        extras,
        json!({"region": "eu-west-1", "tier": "small", "extraData": {"message": "Hello from pctl"}})
    );
    flux_dry_run(&g);
}

/// `pctl show SOURCE` prints the same final values and levels as `render --explain`
/// (the GitOps repository's value profiles and global.yaml included), secrets redacted.
#[test]
fn show_prints_final_values_with_their_levels() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(
        &g,
        ".pctl/values/global.yaml",
        "persistence: true\nmessage: global greeting\n",
    );
    env.set_var("PCTL_TEST_SESSION_KEY", "show-canary-9a8b7c");
    let common = [
        "--repo",
        &arg(&g),
        "--set",
        "domain=shop.example.com",
        "--preset",
        "ha",
        "--set-env",
        "session_key=PCTL_TEST_SESSION_KEY",
    ];
    let mut args = vec!["show".to_string(), webapp()];
    args.extend(common.iter().map(|s| s.to_string()));
    let out = env.pctl(&args);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        !text.contains("show-canary") && !stderr(&out).contains("show-canary"),
        "{}",
        describe(&out)
    );
    let section = text
        .split("Values (final, with the level each came from):")
        .nth(1)
        .and_then(|s| s.split("\nArtifacts:").next())
        .unwrap_or_else(|| panic!("no Values section\n{text}"));
    let rows = explain_rows(section);
    let find = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing\n{section}"))
    };
    assert_eq!(
        find("domain"),
        ["domain", "string", "shop.example.com", "--set domain"]
    );
    assert_eq!(find("tier"), ["tier", "enum", "large", "--preset ha"]);
    assert_eq!(
        find("message"),
        [
            "message",
            "string",
            "global greeting",
            ".pctl/values/global.yaml line 2"
        ]
    );
    assert_eq!(
        find("session_key"),
        [
            "session_key",
            "secret",
            "<redacted>",
            "--set-env session_key"
        ]
    );
    // The same rows as render --explain.
    let mut args = vec!["render".to_string(), webapp(), "--explain".into()];
    args.extend(common.iter().map(|s| s.to_string()));
    let explain = env.pctl(&args);
    assert_success(&explain);
    let explained = explain_rows(&stdout(&explain));
    assert_eq!(
        explained[1..],
        rows[1..],
        "show and render --explain differ"
    );
    // A bad value is an error of show too (exit 1), naming its source.
    let out = env.pctl(["show", &webapp(), "--set", "replicas=many"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("parameter replicas from --set replicas"),
        "{}",
        describe(&out)
    );
}
