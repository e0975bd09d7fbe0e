//! Fleets, first slice (docs/fleets.md): `clusters:` in `.pctl/config.yaml`,
//! `pctl init --cluster`, `pctl cluster add|list|remove`, and `--cluster` /
//! `--all-clusters` on the commands that touch installations.
use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo_arg(gitops: &Path) -> String {
    gitops.display().to_string()
}

/// A fleet of two clusters, staging and production, made by `pctl init --cluster`.
fn fleet(env: &Env) -> PathBuf {
    let gitops = env.root.join("fleet");
    let out = env.pctl([
        "init",
        &repo_arg(&gitops),
        "--cluster",
        "staging,production",
    ]);
    assert_success(&out);
    gitops
}

fn nginx() -> String {
    shared_repo("platform").source("nginx", Some("nginx/v1.0.0"))
}

/// `pctl ARGS... --repo GITOPS`.
fn run(env: &Env, gitops: &Path, args: &[&str]) -> std::process::Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.push("--repo".into());
    all.push(repo_arg(gitops));
    env.pctl(&all)
}

#[test]
fn init_with_two_clusters_writes_both_in_one_commit() {
    let env = Env::new();
    let gitops = fleet(&env);
    assert_eq!(commit_count(&gitops), 1);
    assert_eq!(head_subject(&gitops), "pctl: init");
    let config = std::fs::read_to_string(gitops.join(".pctl/config.yaml")).unwrap();
    assert_eq!(
        config,
        "# pctl settings for this GitOps repository (see `pctl init --help`).\n\
         gitRepository:\n  name: flux-system\n  namespace: flux-system\n\
         clusters:\n  production:\n    syncPath: clusters/production\n    installPath: clusters/production/profiles\n\
         \x20 staging:\n    syncPath: clusters/staging\n    installPath: clusters/staging/profiles\n"
    );
    for c in ["staging", "production"] {
        assert!(
            gitops
                .join(format!("clusters/{c}/profiles/kustomization.yaml"))
                .is_file(),
            "{c}"
        );
    }
    assert!(!gitops.join("clusters/default").exists());
    let out = run(&env, &gitops, &["cluster", "list"]);
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        "NAME        SYNC PATH            INSTALL PATH                  INSTALLATIONS\n\
         production  clusters/production  clusters/production/profiles  0\n\
         staging     clusters/staging     clusters/staging/profiles     0\n"
    );
}

#[test]
fn a_repository_without_clusters_keeps_its_config_byte_for_byte() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_eq!(
        std::fs::read_to_string(gitops.join(".pctl/config.yaml")).unwrap(),
        "# pctl settings for this GitOps repository (see `pctl init --help`).\n\
         gitRepository:\n  name: flux-system\n  namespace: flux-system\n\
         syncPath: clusters/default\ninstallPath: clusters/default/profiles\n"
    );
    // Its one cluster is `default`: --cluster default works, another name does not.
    let out = run(&env, &gitops, &["list", "--cluster", "default"]);
    assert_success(&out);
    assert_success(&env.install(&gitops, &nginx(), "web", &[]));
    let plain = pctl_check(&gitops);
    for flags in [&["--cluster", "default"][..], &["--all-clusters"]] {
        let out = run_check(&gitops, flags);
        assert_success(&out);
        assert_eq!(stdout(&out), plain, "check {flags:?}");
    }
    let out = run(&env, &gitops, &["list", "--all-clusters", "-o", "json"]);
    assert_success(&out);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list[0].get("cluster").is_none(), "{list:?}");
    // cluster add --dry-run shows the change and writes nothing.
    let before = snapshot(&gitops);
    let out = run(&env, &gitops, &["cluster", "add", "staging", "--dry-run"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("+  staging:\n+    syncPath: clusters/staging\n"),
        "{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
    let out = env.install(&gitops, &nginx(), "api", &["--cluster", "staging"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "--cluster \"staging\"",
            "no cluster of that name",
            "pctl cluster add staging",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn install_into_one_cluster_and_check_each() {
    let env = Env::new();
    let gitops = fleet(&env);
    let out = env.install(&gitops, &nginx(), "web", &["--cluster", "staging"]);
    assert_success(&out);
    assert!(
        gitops
            .join("clusters/staging/profiles/web/profile-installation.yaml")
            .is_file()
    );
    assert!(!gitops.join("clusters/production/profiles/web").exists());
    assert_eq!(
        kustomization_resources(&gitops.join("clusters/staging/profiles/kustomization.yaml")),
        ["web"]
    );
    assert!(
        kustomization_resources(&gitops.join("clusters/production/profiles/kustomization.yaml"))
            .is_empty()
    );

    // Each cluster passes the check from its own sync path (and the oracle, in CI,
    // from the same --path).
    let staging = pctl_check_with(&gitops, &["--path", "clusters/staging"]);
    let production = pctl_check_with(&gitops, &["--path", "clusters/production"]);
    assert!(staging.contains("1 HelmRelease"), "{staging}");
    assert!(production.contains("0 HelmRelease"), "{production}");
    // --cluster walks from that cluster's sync path: the same report as --path.
    for (cluster, expected) in [("staging", &staging), ("production", &production)] {
        let out = run_check(&gitops, &["--cluster", cluster]);
        assert_success(&out);
        assert_eq!(
            stdout(&out),
            *expected,
            "check --cluster {cluster}\n{}",
            describe(&out)
        );
    }
    // --all-clusters walks every cluster, a summary line each.
    let out = run_check(&gitops, &["--all-clusters"]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("cluster production (clusters/production): ")
            && text.contains("cluster staging (clusters/staging): "),
        "{text}"
    );
    let out = run_check(&gitops, &["--all-clusters", "-o", "json"]);
    assert_success(&out);
    let reports: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = reports
        .iter()
        .map(|r| r["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["production", "staging"]);
    assert_eq!(reports[1]["syncPath"], "clusters/staging");
    assert_eq!(reports[1]["summary"]["helmReleases"], 1);
    // Without --cluster, a fleet of several clusters is refused.
    let out = run_check(&gitops, &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "has 2 clusters (production, staging): say which one",
            "--all-clusters",
        ],
    );
}

#[test]
fn list_shows_a_cluster_column_across_clusters() {
    let env = Env::new();
    let gitops = fleet(&env);
    for cluster in ["staging", "production"] {
        // Names are unique in a cluster, not across clusters.
        let out = env.install(&gitops, &nginx(), "web", &["--cluster", cluster]);
        assert_success(&out);
    }
    assert_success(&env.install(
        &gitops,
        &nginx(),
        "edge",
        &["--cluster", "production", "--namespace", "edge"],
    ));
    // The same name again in one cluster is refused.
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &nginx(), "web", &["--cluster", "staging"]);
    assert_error(&out, 1);
    // (main words this "already exists at"; this branch still "is inside".)
    assert_stderr_mentions_any(
        &out,
        &[
            "an installation named \"web\" already exists at clusters/staging/profiles/web",
            "is inside the installation at clusters/staging/profiles/web",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));

    // Several clusters: the fleet view, a row per name and a column per cluster.
    let out = run(&env, &gitops, &["list", "--all-clusters"]);
    assert_success(&out);
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "production", "staging"],
            // pinned to nginx/v1.0.0: 1.1.0 is newer outside the constraint
            vec!["edge", "1.0.0 ^1.1.0", "-"],
            vec!["web", "1.0.0 ^1.1.0", "1.0.0 ^1.1.0"],
        ],
        "{text}"
    );
    assert_stderr_mentions(&out, &["legend: VERSION [->WANTED"]);

    let out = run(&env, &gitops, &["list", "--all-clusters", "-o", "json"]);
    assert_success(&out);
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["clusters"], serde_json::json!(["production", "staging"]));
    let got: Vec<(&str, &str, &str)> = m["installations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row["clusters"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(c, cell)| {
                    (
                        c.as_str(),
                        row["name"].as_str().unwrap(),
                        cell["path"].as_str().unwrap(),
                    )
                })
        })
        .collect();
    assert_eq!(
        got,
        [
            ("production", "edge", "clusters/production/profiles/edge"),
            ("production", "web", "clusters/production/profiles/web"),
            ("staging", "web", "clusters/staging/profiles/web")
        ]
    );

    // One cluster: its installations, no CLUSTER column or field.
    let out = run(
        &env,
        &gitops,
        &["list", "--cluster", "staging", "-o", "json"],
    );
    assert_success(&out);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].get("cluster").is_none(), "{list:?}");
    let out = run(&env, &gitops, &["list", "--cluster", "staging"]);
    assert!(stdout(&out).starts_with("NAME "), "{}", describe(&out));

    // status across clusters: one entry per cluster that has it.
    let out = run(
        &env,
        &gitops,
        &["status", "web", "--all-clusters", "--offline", "-o", "json"],
    );
    assert_success(&out);
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &m["installations"][0];
    assert_eq!(row["name"], "web");
    let clusters: Vec<&String> = row["clusters"].as_object().unwrap().keys().collect();
    assert_eq!(clusters, ["production", "staging"]);

    // outdated across clusters.
    let out = run(
        &env,
        &gitops,
        &["outdated", "--all-clusters", "--offline", "-o", "json"],
    );
    assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["installations"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report}");
    let cells: usize = rows
        .iter()
        .map(|r| r["clusters"].as_object().unwrap().len())
        .sum();
    assert_eq!(cells, 3, "{report}");
    assert_eq!(report["summary"][0]["installations"], 3, "{report}");

    // Uninstall from one cluster leaves the other's alone.
    let out = run(&env, &gitops, &["uninstall", "web", "--cluster", "staging"]);
    assert_success(&out);
    assert!(!gitops.join("clusters/staging/profiles/web").exists());
    assert!(gitops.join("clusters/production/profiles/web").exists());
    pctl_check_with(&gitops, &["--path", "clusters/production"]);
    pctl_check_with(&gitops, &["--path", "clusters/staging"]);
}

#[test]
fn several_clusters_need_a_choice_and_nothing_is_written() {
    let env = Env::new();
    let gitops = fleet(&env);
    assert_success(&env.install(&gitops, &nginx(), "web", &["--cluster", "staging"]));
    let before = snapshot(&gitops);
    for args in [
        vec!["list"],
        vec!["outdated", "--offline"],
        vec!["status", "web", "--offline"],
        vec!["uninstall", "web"],
        vec!["upgrade", "web"],
        vec!["sync"],
    ] {
        let out = run(&env, &gitops, &args);
        assert_error(&out, 1);
        assert_stderr_mentions(
            &out,
            &[
                "has 2 clusters (production, staging): say which one",
                "hint: pass --cluster NAME (one of production, staging) or --all-clusters",
            ],
        );
        assert_unchanged(&before, &snapshot(&gitops));
    }
    let out = env.install(&gitops, &nginx(), "api", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["say which one"]);
    assert_unchanged(&before, &snapshot(&gitops));
    // Install and uninstall write to several clusters in one commit
    // (fleet_install.rs); an installation missing from one of them is named.
    let out = run(&env, &gitops, &["uninstall", "web", "--all-clusters"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["no installation named \"web\" in cluster production of"],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // An unknown cluster is named, with the clusters there are.
    let out = env.install(&gitops, &nginx(), "api", &["--cluster", "prod"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "--cluster \"prod\"",
            "no cluster of that name",
            "clusters: production, staging",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn cluster_remove_is_refused_while_the_cluster_has_installations() {
    let env = Env::new();
    let gitops = fleet(&env);
    assert_success(&env.install(&gitops, &nginx(), "web", &["--cluster", "staging"]));
    let before = snapshot(&gitops);
    let out = run(&env, &gitops, &["cluster", "remove", "staging"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "cluster staging still has 1 installation: web",
            "hint: uninstall them first: pctl uninstall web --cluster staging",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // Production holds nothing: it goes, in one commit, and its files stay.
    let out = run(&env, &gitops, &["cluster", "remove", "production"]);
    assert_success(&out);
    assert_eq!(head_subject(&gitops), "pctl: cluster remove production");
    assert_eq!(files_in_commit(&gitops, "HEAD"), [".pctl/config.yaml"]);
    let config = std::fs::read_to_string(gitops.join(".pctl/config.yaml")).unwrap();
    assert!(!config.contains("production"), "{config}");
    // The last cluster cannot go.
    let before = snapshot(&gitops);
    let out = run(&env, &gitops, &["cluster", "remove", "staging"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["still has 1 installation"]);
    assert_success(&run(
        &env,
        &gitops,
        &["uninstall", "web", "--cluster", "staging"],
    ));
    let before2 = snapshot(&gitops);
    let out = run(&env, &gitops, &["cluster", "remove", "staging"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["staging is the only cluster", "at least one"]);
    assert_unchanged(&before2, &snapshot(&gitops));
    drop(before);
    // A cluster that does not exist.
    let out = run(&env, &gitops, &["cluster", "remove", "qa"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["has no cluster named \"qa\"", "clusters: staging"]);
}

#[test]
fn cluster_add_turns_one_cluster_into_default_and_keeps_its_installations() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &nginx(), "web", &[]));
    let out = run(
        &env,
        &gitops,
        &["cluster", "add", "edge", "--sync-path", "envs/edge"],
    );
    assert_success(&out);
    assert_eq!(head_subject(&gitops), "pctl: cluster add edge");
    assert_eq!(
        files_in_commit(&gitops, "HEAD"),
        [".pctl/config.yaml", "envs/edge/profiles/kustomization.yaml"]
    );
    let config = std::fs::read_to_string(gitops.join(".pctl/config.yaml")).unwrap();
    assert!(
        config.ends_with(
            "clusters:\n  default:\n    syncPath: clusters/default\n    installPath: clusters/default/profiles\n\
             \x20 edge:\n    syncPath: envs/edge\n    installPath: envs/edge/profiles\n"
        ) && !config.contains("\nsyncPath"),
        "{config}"
    );
    let out = run(&env, &gitops, &["cluster", "list", "-o", "json"]);
    assert_success(&out);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["name"], "default");
    assert_eq!(rows[0]["installations"], 1);
    assert_eq!(rows[1]["name"], "edge");
    assert_eq!(rows[1]["installations"], 0);
    pctl_check_with(&gitops, &["--path", "clusters/default"]);
    pctl_check_with(&gitops, &["--path", "envs/edge"]);
    let out = run_check(&gitops, &["--cluster", "default"]);
    assert_success(&out);
}

#[test]
fn bad_cluster_names_and_paths_are_refused_and_nothing_is_written() {
    let env = Env::new();
    for bad in ["Staging", "a_b", "", "-x", "staging,"] {
        let dir = env.root.join(format!("bad-{}", bad.len()));
        let out = env.pctl(["init", &repo_arg(&dir), &format!("--cluster={bad}")]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["is not a DNS-1123 label"]);
        assert!(
            !dir.exists(),
            "init --cluster {bad:?} created {}",
            dir.display()
        );
    }
    let gitops = fleet(&env);
    let before = snapshot(&gitops);
    for (args, why) in [
        (
            vec!["cluster", "add", "Prod"],
            "cluster name \"Prod\" is not a DNS-1123 label",
        ),
        (
            vec!["cluster", "add", "staging"],
            "already has a cluster named staging",
        ),
        (
            vec!["cluster", "add", "qa", "--sync-path", "clusters/staging/qa"],
            "inside cluster staging's syncPath",
        ),
        (
            vec!["cluster", "add", "qa", "--sync-path", "clusters/staging"],
            "the same as cluster staging's syncPath",
        ),
        (
            vec![
                "cluster",
                "add",
                "qa",
                "--install-path",
                "clusters/production/qa",
            ],
            "that cluster would apply these installations too",
        ),
        (
            vec!["cluster", "add", "qa", "--sync-path", "/etc"],
            "is an absolute path",
        ),
        (
            vec!["cluster", "add", "qa", "--sync-path", "."],
            "below the repository root",
        ),
    ] {
        let out = run(&env, &gitops, &args);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[why]);
        assert_unchanged(&before, &snapshot(&gitops));
    }
    // A hand-edited config is checked the same way, with its line.
    let config = gitops.join(".pctl/config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    for (edited, why) in [
        (
            text.replace("  staging:", "  Stag_ing:"),
            ".pctl/config.yaml:9: clusters.Stag_ing: cluster name \"Stag_ing\" is not a DNS-1123 label",
        ),
        (
            text.replace(
                "    syncPath: clusters/staging",
                "    syncPth: clusters/staging",
            ),
            ".pctl/config.yaml:10: unknown field `clusters.staging.syncPth`",
        ),
        (
            text.replace("clusters:\n", "syncPath: clusters/x\nclusters:\n"),
            "syncPath is set beside clusters",
        ),
    ] {
        std::fs::write(&config, &edited).unwrap();
        git(&gitops, &["commit", "-qam", "edit"]);
        let out = run(&env, &gitops, &["list", "--all-clusters"]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[why]);
        git(&gitops, &["reset", "-q", "--hard", "HEAD~1"]);
    }
}

/// `spec.values.<key>` of the record in `dir`: (value, source).
fn recorded(gitops: &Path, dir: &str, key: &str) -> (Value, Value) {
    let rec = yaml_file(&gitops.join(dir).join("profile-installation.yaml"));
    let e = &rec["spec"]["values"][key];
    (e["value"].clone(), e["source"].clone())
}

#[test]
fn the_cluster_values_level_sits_between_value_profiles_and_global() {
    let env = Env::new();
    let gitops = fleet(&env);
    let webapp = shared_repo("params").source("webapp", Some("1.0.0"));
    let required = [
        "--set",
        "domain=shop.example.com",
        "--set",
        "region=eu-west-1",
    ];
    env.commit_file(
        &gitops,
        ".pctl/values/global.yaml",
        "replicas: 4\ndebug: true\n",
    );
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/production.yaml",
        "# production only\nreplicas: 3\n",
    );
    env.commit_file(&gitops, ".pctl/values/team.yaml", "replicas: 5\n");
    let with = |cluster: &str, more: &[&str]| {
        let mut a: Vec<&str> = vec!["--cluster", cluster];
        a.extend(required);
        a.extend(more);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let args = with("production", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_success(&env.install(&gitops, &webapp, "web", &args));
    let prod = "clusters/production/profiles/web";
    // The cluster level beats global.yaml; global.yaml still gives the rest.
    assert_eq!(
        recorded(&gitops, prod, "replicas"),
        (Value::from(3), Value::from("cluster:production"))
    );
    assert_eq!(
        recorded(&gitops, prod, "debug"),
        (Value::from(true), Value::from("global"))
    );
    // Another cluster does not see production's level.
    let args = with("staging", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_success(&env.install(&gitops, &webapp, "web", &args));
    assert_eq!(
        recorded(&gitops, "clusters/staging/profiles/web", "replicas"),
        (Value::from(4), Value::from("global"))
    );
    // A value profile beats the cluster level.
    let args = with(
        "production",
        &["--values-profile", "team", "--namespace", "team"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_success(&env.install(&gitops, &webapp, "team-web", &args));
    assert_eq!(
        recorded(&gitops, "clusters/production/profiles/team-web", "replicas"),
        (Value::from(5), Value::from("values-profile:team"))
    );
    // An edit to the cluster level reaches the cluster's installations with sync.
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/production.yaml",
        "replicas: 2\n",
    );
    let out = run(&env, &gitops, &["sync", "--cluster", "production"]);
    assert_success(&out);
    assert_eq!(
        recorded(&gitops, prod, "replicas"),
        (Value::from(2), Value::from("cluster:production"))
    );
    assert_eq!(
        recorded(&gitops, "clusters/production/profiles/team-web", "replicas"),
        (Value::from(5), Value::from("values-profile:team"))
    );
    pctl_check_with(&gitops, &["--path", "clusters/production"]);
    pctl_check_with(&gitops, &["--path", "clusters/staging"]);
    // render --explain names the level.
    let mut args = vec![
        "render",
        webapp.as_str(),
        "--explain",
        "--cluster",
        "production",
    ];
    args.extend(required);
    let out = run(&env, &gitops, &args);
    assert_success(&out);
    let row = stdout(&out)
        .lines()
        .find(|l| l.starts_with("replicas "))
        .unwrap_or_default()
        .to_string();
    assert!(
        row.contains(" 2 ")
            && row.contains("cluster production (.pctl/values/clusters/production.yaml"),
        "{}",
        describe(&out)
    );
    // So does show, in its final values.
    let mut args = vec![
        "show",
        webapp.as_str(),
        "--cluster",
        "production",
        "-o",
        "json",
    ];
    args.extend(required);
    let out = run(&env, &gitops, &args);
    assert_success(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = shown["values"]
        .as_array()
        .and_then(|v| v.iter().find(|r| r["parameter"] == "replicas"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["value"], "2", "{shown}");
    assert!(
        row["source"].as_str().is_some_and(
            |s| s.starts_with("cluster production (.pctl/values/clusters/production.yaml")
        ),
        "{row}"
    );
    // An unknown cluster is refused there too.
    let mut args = vec!["render", webapp.as_str(), "--explain", "--cluster", "qa"];
    args.extend(required);
    let out = run(&env, &gitops, &args);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["--cluster \"qa\"", "no cluster of that name"]);
}

#[test]
fn an_installation_outside_the_cluster_paths_belongs_to_the_cluster_that_syncs_it() {
    let env = Env::new();
    let gitops = fleet(&env);
    let out = env.install(
        &gitops,
        &nginx(),
        "web",
        &["--cluster", "staging", "--path", "apps/staging"],
    );
    assert_success(&out);
    // A Flux Kustomization in staging's sync path makes it reachable ...
    assert!(
        gitops
            .join("clusters/staging/pctl-apps-staging.yaml")
            .is_file()
    );
    pctl_check_with(&gitops, &["--path", "clusters/staging"]);
    // ... and so it is staging's.
    let out = run(&env, &gitops, &["list", "--all-clusters", "-o", "json"]);
    assert_success(&out);
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = m["installations"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{m}");
    let cells = list[0]["clusters"].as_object().unwrap();
    assert_eq!(cells.keys().collect::<Vec<_>>(), ["staging"], "{m}");
    assert_eq!(cells["staging"]["path"], "apps/staging/web");
    let out = run(
        &env,
        &gitops,
        &["list", "--cluster", "production", "-o", "json"],
    );
    assert_success(&out);
    assert_eq!(stdout(&out).trim(), "[]");
    // Moved out of every cluster's reach, it is named in a warning, not hidden.
    std::fs::remove_file(gitops.join("clusters/staging/pctl-apps-staging.yaml")).unwrap();
    git(&gitops, &["commit", "-qam", "unlink"]);
    let out = run(&env, &gitops, &["list", "--all-clusters"]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &["installation web at apps/staging/web is in no cluster"],
    );
}

/// In a fleet, a pull request's branch names the cluster too: the same installation
/// name in two clusters gets two branches and two pull requests.
#[test]
fn pull_request_branches_name_the_cluster() {
    use crate::common::forge::Forge;
    use crate::pr::{Transport, world};
    let w = world(Forge::GitHub, Transport::Daemon);
    let local = w.local.display().to_string();
    for c in ["staging", "production"] {
        assert_success(&w.pctl(&["cluster", "add", c, "--repo", &local]));
    }
    git(&w.local, &["push", "-q", "origin", "main"]);
    let src = shared_repo("platform").source("nginx", Some("1.1.0"));
    for c in ["staging", "production"] {
        let out = w.pctl(&[
            "install",
            &src,
            "--name",
            "web",
            "--cluster",
            c,
            "--repo",
            &local,
            "--create-pr",
        ]);
        assert_success(&out);
    }
    let mut heads: Vec<String> = w.forge.prs().into_iter().map(|p| p.head).collect();
    heads.sort();
    assert_eq!(
        heads,
        vec![
            "pctl/install-production.web-1.1.0".to_string(),
            "pctl/install-staging.web-1.1.0".to_string(),
        ]
    );
}
