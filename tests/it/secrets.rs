//! Secret parameters (docs/guide.md#values-and-secrets): never in plaintext in the GitOps repository, its Git
//! objects, or any output (failing commands included); SOPS-encrypted (age) Secrets
//! that an independent implementation decrypts; `--secret-ref` for Secrets the user
//! creates; refused where they would leak. Against the `params` fixture repository.

use crate::common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A key pair made with `age-keygen` for these tests only; it protects nothing.
const AGE_RECIPIENT: &str = "age1vm40eudx5hll86463mz9hqhsem9vavp5ufp5tthesquzjezvp5ns0e7dxv";
const AGE_IDENTITY: &str =
    "AGE-SECRET-KEY-1TJGD94QKLZJTVWD4JU5PVMR3GLG40RFNRUUMA97MT5E9V4YDRUESLW6W4V";

fn params() -> &'static TempRepo {
    shared_repo("params")
}

fn source(profile: &str) -> String {
    params().source(profile, Some("1.0.0"))
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// A GitOps repository whose `.sops.yaml` has an age recipient.
fn sops_gitops(env: &Env, name: &str) -> PathBuf {
    let g = env.init_gitops(name);
    std::fs::write(
        g.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {AGE_RECIPIENT}\n"
        ),
    )
    .unwrap();
    env.git(&g, &["add", ".sops.yaml"]);
    env.git(&g, &["commit", "-q", "-m", "sops: age recipients"]);
    g
}

/// The forms a leaked secret could take: itself, and its base64 encoding at each of
/// the three alignments (without the characters that depend on neighbours).
fn leak_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    for shift in 0..3 {
        let mut bytes = vec![b'x'; shift];
        bytes.extend_from_slice(secret.as_bytes());
        let enc = b64(&bytes);
        let start = if shift == 0 { 0 } else { 4 };
        let inner: String = enc[start..enc.len() - 4].to_string();
        forms.push(inner);
    }
    forms
}

/// Every file below `dir`, `.git` included.
fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            all_files(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

/// No secret appears in any file of the repository (work tree and `.git`), in any
/// Git object (loose or packed, reachable or not), or in any command's output.
#[track_caller]
fn assert_no_leak(repos: &[&Path], outputs: &[(String, Output)], secrets: &[&str]) {
    let forms: Vec<(String, String)> = secrets
        .iter()
        .flat_map(|s| leak_forms(s).into_iter().map(move |f| (s.to_string(), f)))
        .collect();
    let hit = |hay: &[u8]| {
        forms
            .iter()
            .find(|(_, f)| hay.windows(f.len()).any(|w| w == f.as_bytes()))
            .map(|(s, f)| format!("{s} (as {f:?})"))
    };
    for repo in repos {
        let mut files = Vec::new();
        all_files(repo, &mut files);
        for f in files {
            let data = std::fs::read(&f).unwrap();
            if let Some(h) = hit(&data) {
                panic!("secret {h} is in {}", f.display());
            }
        }
        let objects = git_cmd(repo)
            .args(["cat-file", "--batch-all-objects", "--batch"])
            .output()
            .unwrap();
        assert!(objects.status.success());
        assert!(!objects.stdout.is_empty());
        if let Some(h) = hit(&objects.stdout) {
            panic!("secret {h} is in a Git object of {}", repo.display());
        }
    }
    for (what, out) in outputs {
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if let Some(h) = hit(bytes) {
                panic!(
                    "secret {h} is in the {stream} of `{what}`\n{}",
                    describe(out)
                );
            }
        }
    }
}

fn files_below(dir: &Path) -> Vec<String> {
    tree_files(dir).into_keys().collect()
}

// ---------------------------------------------------------------------------
// Canaries
// ---------------------------------------------------------------------------

/// Canary secrets passed with `--set-file` and `--set-env` are written nowhere in
/// plaintext and printed by no command, whether it succeeds or fails.
#[test]
fn canary_secrets_from_set_file_and_set_env_never_leak() {
    let env = Env::new();
    let g = sops_gitops(&env, "gitops");
    let plain = env.init_gitops("plain");
    let (admin, db, session) = (canary("Admin"), canary("Db"), canary("Session"));
    let pw = env.path("admin-password.txt");
    std::fs::write(&pw, format!("{admin}\n")).unwrap();
    let bad_pw = env.path("bad-password.txt");
    std::fs::write(&bad_pw, format!("two words {admin}\n")).unwrap();
    env.set_var("PCTL_TEST_DB_PASSWORD", &db);
    env.set_var("PCTL_TEST_SESSION_KEY", &session);
    let set_file = format!("admin_password={}", arg(&pw));
    let secrets = [
        "--set-file",
        set_file.as_str(),
        "--set-env",
        "db_password=PCTL_TEST_DB_PASSWORD",
    ];
    let repo = arg(&g);
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let mut run = |what: &str, args: Vec<String>| -> Output {
        let out = env.pctl(&args);
        outputs.push((what.to_string(), out.clone()));
        out
    };
    let with = |base: &[&str], extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect()
    };

    // Successful commands.
    let out = run(
        "install secure-app",
        with(
            &[
                "install",
                &source("secure-app"),
                "--name",
                "grafana",
                "--repo",
                &repo,
            ],
            &secrets,
        ),
    );
    assert_success(&out);
    let out = run(
        "install webapp with a session key",
        with(
            &[
                "install",
                &source("webapp"),
                "--name",
                "web",
                "--repo",
                &repo,
            ],
            &[
                "--set",
                "domain=shop.example.com",
                "--set",
                "region=eu-west-1",
                "--set-env",
                "session_key=PCTL_TEST_SESSION_KEY",
            ],
        ),
    );
    assert_success(&out);
    let out = run(
        "render",
        with(
            &["render", &source("secure-app"), "--repo", &repo],
            &secrets,
        ),
    );
    assert_success(&out);
    assert!(
        stdout(&out).contains("ENC[AES256_GCM,"),
        "{}",
        describe(&out)
    );
    let out = run(
        "render --explain",
        with(
            &[
                "render",
                &source("secure-app"),
                "--repo",
                &repo,
                "--explain",
            ],
            &secrets,
        ),
    );
    assert_success(&out);
    assert!(stdout(&out).contains("<redacted>"), "{}", describe(&out));
    let out = run(
        "install --dry-run",
        with(
            &[
                "install",
                &source("secure-app"),
                "--name",
                "grafana2",
                "--repo",
                &repo,
                "--dry-run",
            ],
            &secrets,
        ),
    );
    assert_success(&out);
    assert!(
        stdout(&out).contains("secret-values.yaml"),
        "{}",
        describe(&out)
    );
    let out = run("list", with(&["list", "--repo", &repo], &[]));
    assert_success(&out);

    // Failing commands: exit 1, nothing changed, nothing printed.
    let before = snapshot(&g);
    let before_plain = snapshot(&plain);
    let install_with = |name: &str, extra: &[&str]| -> Vec<String> {
        with(
            &[
                "install",
                &source("secure-app"),
                "--name",
                name,
                "--repo",
                &repo,
            ],
            extra,
        )
    };
    let bad_file = format!("admin_password={}", arg(&bad_pw));
    let out = run(
        "a secret that does not match its pattern",
        install_with(
            "bad",
            &[
                "--set-file",
                &bad_file,
                "--set-env",
                "db_password=PCTL_TEST_DB_PASSWORD",
            ],
        ),
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["admin_password", "pattern", "--set-file admin_password"],
    );
    let set_arg = format!("admin_password={admin}");
    let out = run(
        "--set on a secret",
        install_with(
            "bad",
            &[
                "--set",
                &set_arg,
                "--set-env",
                "db_password=PCTL_TEST_DB_PASSWORD",
            ],
        ),
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["admin_password", "secret", "--set-file", "--set-env"],
    );
    let out = run(
        "no .sops.yaml",
        with(
            &[
                "install",
                &source("secure-app"),
                "--name",
                "grafana",
                "--repo",
                &arg(&plain),
            ],
            &secrets,
        ),
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &[".sops.yaml", "--secret-ref"]);
    let out = run(
        "render without a GitOps repository (no .sops.yaml)",
        with(&["render", &source("secure-app")], &secrets),
    );
    assert_error(&out, 1);
    let out = run(
        "a secret in a ConfigMap",
        with(
            &[
                "install",
                &source("leaky"),
                "--name",
                "leaky",
                "--repo",
                &repo,
            ],
            &["--set-env", "api_key=PCTL_TEST_DB_PASSWORD"],
        ),
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["app-config.yaml"]);
    let broken = env.path("broken.yaml");
    std::fs::write(
        &broken,
        format!("db_password: {db}\nadmin_password: [unclosed\n  x: y\n"),
    )
    .unwrap();
    let out = run(
        "a broken values file",
        install_with("bad", &["-f", &arg(&broken)]),
    );
    assert_error(&out, 1);
    let typo = env.path("typo.yaml");
    std::fs::write(
        &typo,
        format!("db_pasword: {db}\nadmin_password: {admin}\n"),
    )
    .unwrap();
    let out = run(
        "a misspelled secret key",
        install_with("bad", &["-f", &arg(&typo)]),
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["db_pasword", "typo.yaml line 1"]);
    let mapping = env.path("mapping.yaml");
    std::fs::write(
        &mapping,
        format!("db_password: {{nested: {db}}}\nadmin_password: [{admin}]\n"),
    )
    .unwrap();
    let out = run(
        "a secret of the wrong type",
        install_with("bad", &["-f", &arg(&mapping)]),
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["db_password", "admin_password", "mapping.yaml line 1"],
    );
    env.set_var("PCTL_FAULT", "after-write");
    let out = run(
        "a late failure (PCTL_FAULT=after-write)",
        install_with("late", &secrets),
    );
    env.remove_var("PCTL_FAULT");
    assert_exit(&out, 2);
    assert_unchanged(&before, &snapshot(&g));
    assert_unchanged(&before_plain, &snapshot(&plain));

    assert_no_leak(&[&g, &plain], &outputs, &[&admin, &db, &session]);
    // The secrets are there, encrypted, and the record names them.
    let rec = yaml_file(&install_dir(&g, "grafana").join("profile-installation.yaml"));
    assert_eq!(
        rec["spec"]["secrets"],
        json!(["admin_password", "db_password"])
    );
    assert!(rec["spec"]["values"].get("admin_password").is_none());
    assert!(rec["spec"]["values"].get("db_password").is_none());
    let rec = yaml_file(&install_dir(&g, "web").join("profile-installation.yaml"));
    assert_eq!(rec["spec"]["secrets"], json!(["session_key"]));
}

// ---------------------------------------------------------------------------
// SOPS, decrypted independently
// ---------------------------------------------------------------------------

/// Decrypts every document of `file` independently; returns (was it SOPS, plaintext).
fn sops_decrypt(env: &Env, file: &Path) -> Vec<(bool, Value)> {
    let identity = env.path("age-identity.txt");
    std::fs::write(&identity, format!("{AGE_IDENTITY}\n")).unwrap();
    crate::common::sops_decrypt(file, &identity)
}

/// The SOPS files pctl writes (chart values Secret, templated Secrets) decrypt with
/// the `age` CLI and AES-GCM from Python's `cryptography`, MAC included, to exactly
/// the secrets given; the wrappers tell kustomize-controller to decrypt; the charts
/// read the Secret through `valuesFrom`.
#[test]
fn sops_files_decrypt_independently_to_the_given_secrets() {
    if !sops_tools() {
        return;
    }
    let env = Env::new();
    let g = sops_gitops(&env, "gitops");
    let (admin, db, session) = (canary("Admin"), canary("Db"), canary("Session"));
    let pw = env.path("admin-password.txt");
    std::fs::write(&pw, format!("{admin}\n")).unwrap();
    env.set_var("PCTL_TEST_DB_PASSWORD", &db);
    env.set_var("PCTL_TEST_SESSION_KEY", &session);
    let set_file = format!("admin_password={}", arg(&pw));
    let out = env.install(
        &g,
        &source("secure-app"),
        "grafana",
        &[
            "--set-file",
            &set_file,
            "--set-env",
            "db_password=PCTL_TEST_DB_PASSWORD",
        ],
    );
    assert_success(&out);
    let out = env.install(
        &g,
        &source("webapp"),
        "web",
        &[
            "--set",
            "domain=shop.example.com",
            "--set",
            "region=eu-west-1",
            "--set-env",
            "session_key=PCTL_TEST_SESSION_KEY",
        ],
    );
    assert_success(&out);
    check_installation(&g, "grafana");
    check_installation(&g, "web");

    // Chart values: a Secret beside the HelmRelease, read through valuesFrom.
    let dir = install_dir(&g, "grafana").join("artifacts/grafana");
    assert!(
        kustomization_resources(&dir.join("kustomization.yaml"))
            .contains(&"secret-values.yaml".to_string())
    );
    let docs = sops_decrypt(&env, &dir.join("secret-values.yaml"));
    assert_eq!(docs.len(), 1);
    let (encrypted, secret) = &docs[0];
    assert!(encrypted);
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["namespace"], "flux-system");
    let secret_name = name_of(secret);
    assert_eq!(
        secret["stringData"],
        json!({"admin_password": admin, "db_password": db}),
        "the chart's Secret holds exactly the two secrets"
    );
    let hr = yaml_file(&dir.join("helm-release.yaml"));
    let from = hr["spec"]["valuesFrom"]
        .as_array()
        .expect("valuesFrom")
        .clone();
    assert_eq!(from.len(), 2, "{from:?}");
    for f in &from {
        assert_eq!(f["kind"], "Secret");
        assert_eq!(
            f["name"],
            secret_name.as_str(),
            "valuesFrom names the Secret written"
        );
        let key = f["valuesKey"].as_str().unwrap();
        assert!(
            secret["stringData"].get(key).is_some(),
            "valuesKey {key} is in the Secret"
        );
    }
    assert_eq!(from[0]["valuesKey"], "admin_password");
    assert_eq!(from[0]["targetPath"], "adminPassword");
    assert_eq!(from[1]["valuesKey"], "db_password");
    let values = &hr["spec"]["values"];
    assert!(values.get("adminPassword").is_none(), "{values}");
    assert!(
        values["grafana.ini"]["database"].get("password").is_none(),
        "{values}"
    );
    assert_eq!(values["grafana.ini"]["database"]["user"], "grafana");

    // Templated Secret: encrypted in place; the ConfigMap beside it stays plain.
    let docs = sops_decrypt(
        &env,
        &install_dir(&g, "grafana").join("artifacts/db-credentials/database.yaml"),
    );
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert!(!docs[0].0);
    assert_eq!(docs[0].1["kind"], "ConfigMap");
    assert_eq!(docs[0].1["data"]["DB_HOST"], "postgres.databases.svc");
    assert!(docs[1].0);
    let s = &docs[1].1;
    assert_eq!(name_of(s), "grafana-database");
    assert_eq!(s["type"], "kubernetes.io/basic-auth");
    // `data` entries move to `stringData` (decoded) before encryption, since an
    // encrypted `data` value is not base64 (README, Secrets).
    assert_eq!(
        s["stringData"],
        json!({"username": "grafana", "password": db, "admin-password": admin})
    );
    assert!(s.get("data").is_none(), "{s}");

    let docs = sops_decrypt(
        &env,
        &install_dir(&g, "web").join("artifacts/settings/settings.yaml"),
    );
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert!(!docs[0].0 && docs[0].1["kind"] == "ConfigMap");
    assert!(docs[1].0);
    assert_eq!(docs[1].1["stringData"], json!({"SESSION_KEY": session}));

    // Wrappers decrypt with the cluster's age key (Flux's sops-age convention); the
    // others do not.
    for (name, id, decrypts) in [
        ("grafana", "grafana", true),
        ("grafana", "db-credentials", true),
        ("web", "settings", true),
        ("web", "frontend", false),
    ] {
        let w = &wrappers(&g, name)[id];
        if decrypts {
            assert_eq!(
                w["spec"]["decryption"],
                json!({"provider": "sops", "secretRef": {"name": "sops-age"}}),
                "{name}/{id}"
            );
        } else {
            assert!(w["spec"].get("decryption").is_none(), "{name}/{id}: {w}");
        }
    }
    flux_dry_run(&g);
}

/// Helm (and Flux's valuesFrom) read `targetPath` with `strvals`: a dot inside a key
/// must be escaped, or `grafana.ini` becomes `grafana: {ini: …}`.
#[test]
fn values_from_target_path_escapes_dots_inside_keys() {
    let env = Env::new();
    let g = sops_gitops(&env, "gitops");
    env.set_var("PCTL_TEST_SECRET", "s3cret-for-target-path");
    let out = env.pctl([
        "render",
        &source("secure-app"),
        "--repo",
        &arg(&g),
        "--set-env",
        "admin_password=PCTL_TEST_SECRET",
        "--set-env",
        "db_password=PCTL_TEST_SECRET",
    ]);
    assert_success(&out);
    let hr = yaml_docs_str(&stdout(&out))
        .into_iter()
        .find(|d| d["kind"] == "HelmRelease")
        .unwrap();
    let paths: Vec<&str> = hr["spec"]["valuesFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["targetPath"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["adminPassword", r"grafana\.ini.database.password"]);
}

// ---------------------------------------------------------------------------
// --secret-ref
// ---------------------------------------------------------------------------

/// `--secret-ref PARAM=SECRET/KEY` makes the chart read the user's Secret through
/// `valuesFrom` (nothing written for it, no decryption needed for it), and pctl
/// prints the `kubectl create secret` command that makes it, without the value.
/// Here beside a secret pctl encrypts itself.
#[test]
fn secret_ref_reads_a_user_secret_and_prints_the_kubectl_command() {
    let env = Env::new();
    let g = sops_gitops(&env, "gitops");
    env.set_var(
        "PCTL_TEST_WEBHOOK",
        "https://hooks.slack.example/T000/B000/canary-webhook",
    );
    let args = [
        "--set-env",
        "slack_webhook=PCTL_TEST_WEBHOOK",
        "--secret-ref",
        "pagerduty_key=alertmanager-pd/routing-key",
    ];
    let out = env.install(&g, &source("alerting"), "alerts", &args);
    assert_success(&out);
    check_installation(&g, "alerts");
    let dir = install_dir(&g, "alerts").join("artifacts/alertmanager");
    let hr = yaml_file(&dir.join("helm-release.yaml"));
    let from = hr["spec"]["valuesFrom"].as_array().unwrap();
    assert_eq!(
        from[1],
        json!({"kind": "Secret", "name": "alertmanager-pd", "valuesKey": "routing-key",
               "targetPath": "notifications.pagerduty.routingKey"})
    );
    assert_eq!(from[0]["targetPath"], "notifications.slack.webhookUrl");
    assert_eq!(from[0]["valuesKey"], "slack_webhook");
    let written = files_below(&install_dir(&g, "alerts"));
    assert!(
        written.iter().all(|f| !f.contains("alertmanager-pd")),
        "{written:?}"
    );
    let rec = yaml_file(&install_dir(&g, "alerts").join("profile-installation.yaml"));
    assert_eq!(
        rec["spec"]["secrets"],
        json!(["slack_webhook", "pagerduty_key"])
    );
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains("canary-webhook"), "{}", describe(&out));
    assert!(
        stderr(&out)
            .contains("kubectl create secret generic alertmanager-pd --namespace flux-system")
            && stderr(&out).contains("routing-key"),
        "install prints the kubectl command for the Secret it references\n{}",
        describe(&out)
    );
    flux_dry_run(&g);
}

/// With no `.sops.yaml`, `--secret-ref` alone supplies a required secret: the user
/// never hands its value to pctl. `render` prints the kubectl command too.
#[test]
fn secret_ref_alone_satisfies_a_required_secret_without_sops() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let args = [
        "--secret-ref",
        "slack_webhook=alertmanager-slack/webhook-url",
    ];
    let out = env.pctl(
        ["render", source("alerting").as_str()]
            .into_iter()
            .chain(args),
    );
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &[
            "kubectl create secret generic alertmanager-slack",
            "--namespace flux-system",
            "webhook-url",
        ],
    );
    let out = env.install(&g, &source("alerting"), "alerts", &args);
    assert_success(&out);
    assert_stderr_mentions(&out, &["kubectl create secret generic alertmanager-slack"]);
    let hr = yaml_file(&install_dir(&g, "alerts").join("artifacts/alertmanager/helm-release.yaml"));
    assert_eq!(
        hr["spec"]["valuesFrom"],
        json!([{"kind": "Secret", "name": "alertmanager-slack", "valuesKey": "webhook-url",
                "targetPath": "notifications.slack.webhookUrl"}])
    );
    let w = &wrappers(&g, "alerts")["alertmanager"];
    assert!(w["spec"].get("decryption").is_none(), "{w}");
    flux_dry_run(&g);
}

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

/// A secret used in a templated file outside a Kubernetes Secret is refused, naming
/// the file, with or without SOPS; nothing is written.
#[test]
fn secret_in_a_non_secret_template_is_refused_naming_the_file() {
    let env = Env::new();
    env.set_var("PCTL_TEST_API_KEY", "leaky-api-key-0123456789");
    for g in [
        sops_gitops(&env, "with-sops"),
        env.init_gitops("without-sops"),
    ] {
        let before = snapshot(&g);
        let out = env.install(
            &g,
            &source("leaky"),
            "leaky",
            &["--set-env", "api_key=PCTL_TEST_API_KEY"],
        );
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["app-config.yaml"]);
        assert!(
            !stderr(&out).contains("leaky-api-key"),
            "{}",
            describe(&out)
        );
        assert_unchanged(&before, &snapshot(&g));
    }
}

/// A missing required secret is reported with a hint that works for secrets
/// (`--set-file`/`--set-env`/`-f`, or `--secret-ref`), not `--set`, which pctl
/// refuses for them.
#[test]
fn missing_secret_hint_names_the_flags_that_accept_secrets() {
    let env = Env::new();
    let g = sops_gitops(&env, "gitops");
    let out = env.install(&g, &source("secure-app"), "grafana", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["admin_password", "db_password"]);
    let hint: String = stderr(&out)
        .lines()
        .filter(|l| l.starts_with("hint:"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        hint.contains("--set-file") || hint.contains("--set-env"),
        "the hint should name a flag that accepts secrets\n{}",
        describe(&out)
    );
}

/// Upgrade and sync cannot decrypt what pctl encrypted: a secret given at install is
/// kept byte for byte while the Secret holding it would not change; when a new version
/// changes that Secret, pctl asks for the secret again (exit 1, nothing written), and
/// with it given the file is encrypted anew. No secret leaks anywhere on the way.
#[test]
fn upgrade_and_sync_keep_encrypted_secrets_and_ask_again_when_they_change() {
    let upstream = build_repo("params");
    let env = Env::new();
    let g = sops_gitops(&env, "gitops");
    let repo = arg(&g);
    let admin = canary("Admin");
    let db = canary("Db");
    let db2 = canary("DbNew");
    std::fs::write(env.path("admin.txt"), &admin).unwrap();
    std::fs::write(env.path("db.txt"), &db).unwrap();
    std::fs::write(env.path("db2.txt"), &db2).unwrap();
    let file_flag = |k: &str, f: &str| format!("{k}={}", env.path(f).display());
    let mut outputs = Vec::new();
    let out = env.pctl([
        "install",
        &upstream.source("secure-app", Some("1.0.0")),
        "--name",
        "grafana",
        "--repo",
        &repo,
        "--set-file",
        &file_flag("admin_password", "admin.txt"),
        "--set-file",
        &file_flag("db_password", "db.txt"),
    ]);
    assert_success(&out);
    outputs.push(("install".to_string(), out));
    let dir = install_dir(&g, "grafana");
    let sealed = |p: &str| std::fs::read(dir.join(p)).unwrap();
    let chart_secret = sealed("artifacts/grafana/secret-values.yaml");
    let db_secret = sealed("artifacts/db-credentials/database.yaml");

    // Nothing changed: sync commits nothing.
    let before = head(&g);
    let out = env.pctl(["sync", "--repo", &repo]);
    assert_success(&out);
    assert_eq!(head(&g), before, "{}", describe(&out));
    outputs.push(("sync".to_string(), out));

    // A plain value changes: the encrypted files stay byte for byte.
    let out = env.pctl([
        "upgrade",
        "grafana",
        "--repo",
        &repo,
        "--set",
        "admin_user=root",
    ]);
    assert_success(&out);
    assert_ne!(head(&g), before);
    assert!(sealed("artifacts/grafana/secret-values.yaml") == chart_secret);
    assert!(sealed("artifacts/db-credentials/database.yaml") == db_secret);
    let release = std::fs::read_to_string(dir.join("artifacts/grafana/helm-release.yaml")).unwrap();
    assert!(release.contains("adminUser: root"), "{release}");
    outputs.push(("upgrade --set".to_string(), out));

    // Upstream changes the Secret that holds db_password.
    let manifest = upstream.path().join("secure-app/manifests/database.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            "  username: grafana\n",
            "  username: grafana\n  port: \"5432\"\n",
        ),
    )
    .unwrap();
    upstream.git(&["commit", "-qam", "secure-app: database port in the Secret"]);
    upstream.git(&["tag", "-a", "secure-app/v1.1.0", "-m", "secure-app 1.1.0"]);
    let state = snapshot(&g);
    let out = env.pctl(["upgrade", "grafana", "--repo", &repo, "--to", "^1.0"]);
    assert_error(&out, 1);
    // That Secret holds both passwords (the chart's does not change).
    assert_stderr_mentions(
        &out,
        &[
            "artifacts/db-credentials/database.yaml",
            "pass admin_password and db_password again",
        ],
    );
    assert_unchanged(&state, &snapshot(&g));
    outputs.push(("upgrade refused".to_string(), out));

    let out = env.pctl([
        "upgrade",
        "grafana",
        "--repo",
        &repo,
        "--to",
        "^1.0",
        "--set-file",
        &file_flag("db_password", "db2.txt"),
        "--set-file",
        &file_flag("admin_password", "admin.txt"),
    ]);
    assert_success(&out);
    assert_eq!(head_subject(&g), "pctl: upgrade grafana 1.0.0 -> 1.1.0");
    assert!(sealed("artifacts/db-credentials/database.yaml") != db_secret);
    outputs.push(("upgrade with the secret".to_string(), out));
    if sops_tools() {
        let docs = sops_decrypt(&env, &dir.join("artifacts/db-credentials/database.yaml"));
        let secret = docs
            .iter()
            .map(|(_, d)| d)
            .find(|d| d["kind"] == "Secret")
            .unwrap();
        assert_eq!(secret["stringData"]["password"], json!(db2));
        assert_eq!(secret["stringData"]["port"], json!("5432"));
        assert_eq!(secret["stringData"]["admin-password"], json!(admin));
    }
    assert_no_leak(&[&g], &outputs, &[&admin, &db, &db2]);
}
