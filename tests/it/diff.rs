//! `pctl diff SOURCE FROM TO`: the unified diff of two versions' rendered files and a
//! summary of the definition changes, for every SOURCE form, on real repositories.

use crate::common::*;

fn diff(env: &Env, args: &[&str]) -> std::process::Output {
    let mut all = vec!["diff"];
    all.extend(args);
    env.pctl(&all)
}

#[test]
fn two_versions_of_a_git_source() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let src = repo.source("webapp", None);
    let out = diff(
        &env,
        &[&src, "1.0.0", "1.1.0", "--set", "domain=example.com"],
    );
    assert_success(&out);
    let text = stdout(&out);
    // git diff headers, per file, with the installation-relative path.
    assert!(
        text.contains(
            "diff --git a/artifacts/frontend/helm-release.yaml b/artifacts/frontend/helm-release.yaml\n--- a/artifacts/frontend/helm-release.yaml\n+++ b/artifacts/frontend/helm-release.yaml\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("-      version: \"6.5.4\"\n+      version: \"6.6.0\"\n"),
        "{text}"
    );
    assert!(
        text.contains("-    replicaCount: 2\n+    replicaCount: 3\n+    logLevel: info\n"),
        "{text}"
    );
    // A new artifact is a new file; the nested cache moved to 2.1.x.
    assert!(
        text.contains("diff --git a/artifacts/pdb/pdb.yaml b/artifacts/pdb/pdb.yaml\nnew file mode 100644\n--- /dev/null\n+++ b/artifacts/pdb/pdb.yaml\n"),
        "{text}"
    );
    assert!(
        text.contains("-      version: 2.0.x\n+      version: 2.1.x\n"),
        "{text}"
    );
    // The record is summarised, not diffed.
    assert!(!text.contains("profile-installation.yaml"), "{text}");
    // The summary of definition changes, after the diff.
    let summary = &text[text.find("Definition changes ").expect(&text)..];
    assert!(
        summary.starts_with("Definition changes 1.0.0 (webapp/v1.0.0, "),
        "{summary}"
    );
    for line in [
        "  parameters added:    log_level (enum, default \"info\")\n",
        "  parameters changed:  replicas: default 2 -> 3\n",
        "  artifacts added:     pdb (kustomize)\n",
        "  chart versions:      cache-valkey (valkey): 2.0.x -> 2.1.x\n",
        "                       frontend (podinfo): 6.5.4 -> 6.6.0\n",
        "  nested profiles:     cache (cache): 1.0.0 -> 1.1.0\n",
    ] {
        assert!(summary.contains(line), "missing {line:?} in\n{summary}");
    }
    assert!(!summary.contains("removed"), "{summary}");
    assert_stderr_mentions(&out, &["diff of webapp 1.0.0", "-> 1.1.0"]);
    // Differences are not an error, unless asked for.
    let again = diff(
        &env,
        &[
            &src,
            "1.0.0",
            "1.1.0",
            "--set",
            "domain=example.com",
            "--exit-code",
        ],
    );
    assert_exit(&again, 1);
    assert_eq!(again.stdout, out.stdout);
    assert!(!stderr(&again).contains("error:"), "{}", describe(&again));
}

#[test]
fn the_same_version_twice_has_no_diff() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let src = repo.source("webapp", None);
    let out = diff(
        &env,
        &[
            &src,
            "webapp/v1.1.0",
            "^1",
            "--set",
            "domain=example.com",
            "--exit-code",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    assert!(!text.contains("diff --git"), "{text}");
    assert!(
        text.contains("  none (parameters, artifacts, charts and nested profiles are the same)"),
        "{text}"
    );
}

#[test]
fn values_apply_to_both_sides_and_missing_ones_get_one_placeholder() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let src = repo.source("webapp", None);
    let out = diff(&env, &[&src, "1.0.0", "1.1.0", "--preset", "ha"]);
    assert_success(&out);
    let text = stdout(&out);
    // The preset's three replicas on both sides: no replicaCount change.
    let changed = |needle: &str| {
        text.lines()
            .any(|l| (l.starts_with('+') || l.starts_with('-')) && l.contains(needle))
    };
    assert!(!changed("replicaCount"), "{text}");
    // The placeholder is the same on both sides: no changed line shows it.
    assert!(!changed("placeholder"), "{text}");
    assert_stderr_mentions(
        &out,
        &["required parameter domain has no value", "same placeholder"],
    );
    // A bad value is an error naming the parameter.
    let out = diff(
        &env,
        &[
            &src,
            "1.0.0",
            "1.1.0",
            "--set",
            "replicas=0",
            "--set",
            "domain=x",
        ],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["replicas", "below the minimum"]);
}

#[test]
fn a_local_directory_uses_its_repository_tags_branches_and_commits() {
    let repo = build_repo("authoring");
    let env = Env::new();
    let first = repo.rev("webapp/v1.0.0");
    let out = env.pctl_in(
        repo.path(),
        [
            "diff",
            "./webapp",
            &first,
            "main",
            "--set",
            "domain=example.com",
        ],
    );
    assert_success(&out);
    assert!(
        stdout(&out).contains("+      version: \"6.6.0\"\n"),
        "{}",
        describe(&out)
    );
    // A local commit that no remote has is visible too.
    let p = repo.path().join("webapp/profile.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("6.6.0", "6.7.0");
    std::fs::write(&p, text).unwrap();
    repo.git(&["commit", "-qam", "podinfo 6.7.0"]);
    let out = env.pctl_in(
        repo.path(),
        [
            "diff",
            "./webapp",
            "webapp/v1.1.0",
            "HEAD",
            "--set",
            "domain=example.com",
        ],
    );
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("-      version: \"6.6.0\"\n+      version: \"6.7.0\"\n"),
        "{text}"
    );
    assert!(
        text.contains("frontend (podinfo): 6.6.0 -> 6.7.0"),
        "{text}"
    );
}

#[test]
fn a_catalog_source() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    assert_success(&env.pctl(["catalog", "add", "auth", &repo.url()]));
    let out = diff(
        &env,
        &[
            "auth/webapp",
            "1.0.0",
            "1.1.0",
            "--set",
            "domain=example.com",
        ],
    );
    assert_success(&out);
    assert!(
        stdout(&out).contains("nested profiles:     cache (cache): 1.0.0 -> 1.1.0"),
        "{}",
        describe(&out)
    );
}

#[test]
fn secrets_are_compared_but_never_shown() {
    let params = shared_repo("params");
    let env = Env::new();
    let secret = env.path("pw");
    std::fs::write(&secret, "s3cr3t-canary-password\n").unwrap();
    let db = env.path("db");
    std::fs::write(&db, "db-canary-password\n").unwrap();
    let src = params.source("secure-app", None);
    let out = diff(
        &env,
        &[
            &src,
            "1.0.0",
            "secure-app/v1.0.0",
            "--set-file",
            &format!("admin_password={}", secret.display()),
            "--set-file",
            &format!("db_password={}", db.display()),
            "--exit-code",
        ],
    );
    // Encryption is randomized, yet the same plaintext is no difference.
    assert_success(&out);
    assert!(
        !stdout(&out).contains("canary") && !stderr(&out).contains("canary"),
        "{}",
        describe(&out)
    );
}

#[test]
fn bad_inputs_are_refused() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let src = repo.source("webapp", None);
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec![src.clone(), "1.0.0".into(), "9.9.9".into()],
            vec!["9.9.9", "webapp/v1.1.0"],
        ),
        (
            vec![src.clone(), "no-such-branch".into(), "1.1.0".into()],
            vec!["no-such-branch"],
        ),
        (
            vec![
                repo.source("webapp", Some("1.0.0")),
                "1.0.0".into(),
                "1.1.0".into(),
            ],
            vec!["takes the versions as FROM and TO"],
        ),
        (
            vec![
                repo.source("nothing-here", None),
                "1.0.0".into(),
                "1.1.0".into(),
            ],
            vec!["nothing-here"],
        ),
        (
            vec![src.clone(), "".into(), "1.1.0".into()],
            vec!["must not be empty"],
        ),
    ];
    for (args, needles) in cases {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["--set", "domain=example.com"]);
        let out = diff(&env, &all);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &needles);
    }
    // A directory outside Git has no versions.
    let dir = env.work.join("loose");
    copy_tree(&repo.path().join("webapp"), &dir);
    let out = diff(&env, &["./loose", "1.0.0", "1.1.0"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not inside a Git repository"]);
    // Missing arguments are a usage error.
    let out = diff(&env, &[&src, "1.0.0"]);
    assert_exit(&out, 1);
}

/// With `helm` on PATH (here a `helm template` stand-in built on the Helm SDK,
/// `fixtures/checks/helm-shim`), `pctl diff` adds what changes in the cluster: the
/// objects each HelmRelease's chart renders before and after, object by object.
/// Without it, a note says the charts were not rendered.
#[test]
fn with_helm_the_charts_objects_are_compared_object_by_object() {
    if !helm_sdk() {
        return;
    }
    let repo = shared_repo("platform");
    let env = Env::new();
    let src = repo.source("podinfo", None);
    let (with_shim, path) = path_with_helm_shim();
    env.set_var("PATH", &with_shim);
    let args = [src.as_str(), "6.0.0", "6.1.0"];
    let out = diff(&env, &args);
    assert_success(&out);
    let text = stdout(&out);
    let cluster = &text[text
        .find("# What changes in the cluster (helm template, per HelmRelease):\n")
        .unwrap_or_else(|| panic!("no cluster section:\n{text}"))..];
    assert!(cluster.contains("# HelmRelease "), "{cluster}");
    assert!(cluster.contains("object(s) change"), "{cluster}");
    // 6.1.0's chart adds a HorizontalPodAutoscaler
    assert!(
        cluster.contains("HorizontalPodAutoscaler") && cluster.contains(": added (+"),
        "{cluster}"
    );

    // without helm: the files' diff alone, and a note
    env.set_var("PATH", &path);
    let out = diff(&env, &args);
    assert_success(&out);
    assert!(!stdout(&out).contains("What changes in the cluster"));
    assert_stderr_mentions(&out, &["not rendered (no helm on PATH)"]);
}
