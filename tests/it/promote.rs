//! `pctl promote NAME --from A --to B` (docs/fleets.md#promotion): a fleet with
//! staging and production, `webstack` (fixtures/repos/upgrade) installed at 1.0.0 in
//! both, staging upgraded, production's installation edited by hand; promotion
//! brings production to staging's version and staging's own values through the
//! upgrade merge.
use crate::common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

const NAME: &str = "web";
const DEPLOYMENT: &str = "artifacts/app/deployment.yaml";
const STAGING: &str = "clusters/staging/profiles/web";
const PRODUCTION: &str = "clusters/production/profiles/web";

fn webstack(reference: &str) -> String {
    shared_repo("upgrade").source("webstack", Some(reference))
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// `pctl ARGS... --repo GITOPS`.
fn run(env: &Env, gitops: &Path, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.push("--repo".into());
    all.push(arg(gitops));
    env.pctl(&all)
}

fn promote(env: &Env, gitops: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["promote", NAME, "--from", "staging", "--to", "production"];
    a.extend_from_slice(extra);
    run(env, gitops, &a)
}

/// A fleet of staging and production without installations.
fn init_fleet(env: &Env, gitops: &Path) {
    let out = env.pctl(["init", &arg(gitops), "--cluster", "staging,production"]);
    assert_success(&out);
}

/// Cluster values for both clusters, then `webstack` 1.0.0 as `web` in staging
/// (`--set replicas=3`) and in production (`--set replicas=4`).
fn install_both(env: &Env, gitops: &Path) {
    env.commit_file(
        gitops,
        ".pctl/values/clusters/staging.yaml",
        "webstack.message: hello from staging\n",
    );
    env.commit_file(
        gitops,
        ".pctl/values/clusters/production.yaml",
        "webstack.log_level: error\n",
    );
    for (c, replicas) in [("staging", "replicas=3"), ("production", "replicas=4")] {
        let out = env.install(
            gitops,
            &webstack("1.0.0"),
            NAME,
            &["--cluster", c, "--set", replicas],
        );
        assert_success(&out);
    }
}

fn fleet() -> (Env, PathBuf) {
    let env = Env::new();
    let gitops = env.root.join("fleet");
    init_fleet(&env, &gitops);
    install_both(&env, &gitops);
    (env, gitops)
}

/// staging upgraded to `version`; production's memory limit edited and committed.
fn staging_ahead(env: &Env, gitops: &Path, version: &str) {
    let out = run(
        env,
        gitops,
        &["upgrade", NAME, "--to", version, "--cluster", "staging"],
    );
    assert_success(&out);
    edit_memory(gitops);
    env.git(gitops, &["add", "-A"]);
    env.git(gitops, &["commit", "-q", "-m", "production: more memory"]);
}

fn edit_memory(gitops: &Path) {
    let p = gitops.join(PRODUCTION).join(DEPLOYMENT);
    let text = std::fs::read_to_string(&p).unwrap();
    let from = "            limits:\n              memory: 128Mi\n";
    assert_eq!(text.matches(from).count(), 1, "{text}");
    std::fs::write(
        &p,
        text.replace(from, "            limits:\n              memory: 512Mi\n"),
    )
    .unwrap();
}

fn record(gitops: &Path, dir: &str) -> Value {
    yaml_file(&gitops.join(dir).join("profile-installation.yaml"))
}

fn deployment(gitops: &Path, dir: &str) -> Value {
    yaml_docs(&gitops.join(dir).join(DEPLOYMENT))
        .into_iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("no Deployment")
}

fn container(d: &Value) -> &Value {
    &d["spec"]["template"]["spec"]["containers"][0]
}

fn env_var(d: &Value, var: &str) -> Value {
    container(d)["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == var)
        .unwrap_or_else(|| panic!("no env {var} in {d}"))["value"]
        .clone()
}

fn has_markers(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("<<<<<<<") || l.starts_with(">>>>>>>"))
}

/// Every conflict block replaced by its `ours` side.
fn keep_ours(text: &str) -> String {
    let mut out = String::new();
    let mut state = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        match state {
            0 if bare == "<<<<<<< ours" => state = 1,
            1 if bare.starts_with("|||||||") => state = 2,
            1 | 2 if bare == "=======" => state = 3,
            3 if bare == ">>>>>>> theirs" => state = 0,
            0 | 1 => out.push_str(line),
            _ => {}
        }
    }
    out
}

#[test]
fn promotion_takes_the_version_and_own_values_and_keeps_local_edits() {
    let (env, gitops) = fleet();
    staging_ahead(&env, &gitops, "1.1.0");
    let staging_files = tree_files(&gitops.join(STAGING));
    let before = head(&gitops);

    let out = promote(&env, &gitops, &[]);
    assert_success(&out);
    assert_eq!(
        head_subject(&gitops),
        "pctl: promote web 1.1.0 from staging to production"
    );
    assert_eq!(git(&gitops, &["rev-parse", "HEAD~1"]), before);
    assert!(is_clean(&gitops));
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(f.starts_with(&format!("{PRODUCTION}/")), "touched {f}");
    }
    // The commit message says what changed.
    let body = git(&gitops, &["log", "-1", "--format=%b"]);
    assert!(body.contains("production: 1.0.0 -> 1.1.0"), "{body}");
    assert!(body.contains("- replicas: 4 -> 3 (flag)"), "{body}");
    assert!(body.contains("webstack/v1.1.0:\nwebstack 1.1.0"), "{body}");
    assert_stderr_mentions(&out, &["value replicas: 4 -> 3 (flag)"]);

    // Staging's version: the same commit, recorded with staging's constraint.
    let (s, p) = (record(&gitops, STAGING), record(&gitops, PRODUCTION));
    assert_eq!(p["spec"]["source"]["version"], "1.1.0");
    assert_eq!(p["spec"]["source"]["commit"], s["spec"]["source"]["commit"]);
    assert_eq!(p["spec"]["source"]["requested"], "1.1.0");
    // Staging's own value travels; staging's cluster value does not; production's
    // cluster value stays.
    let values = &p["spec"]["values"];
    assert_eq!(values["replicas"], json!({"value": 3, "source": "flag"}));
    assert_eq!(
        values["message"],
        json!({"value": "Hello from webstack", "source": "default"})
    );
    assert_eq!(
        values["log_level"],
        json!({"value": "error", "source": "cluster:production"})
    );
    assert_eq!(
        s["spec"]["values"]["message"]["source"], "cluster:staging",
        "the fixture's staging value is not from its cluster level"
    );
    let d = deployment(&gitops, PRODUCTION);
    assert_eq!(container(&d)["image"], "ghcr.io/stefanprodan/podinfo:6.7.1");
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(env_var(&d, "PODINFO_UI_MESSAGE"), "Hello from webstack");
    assert!(
        container(&d)["command"]
            .as_array()
            .unwrap()
            .contains(&json!("--level=error"))
    );
    // The local edit is kept.
    assert_eq!(container(&d)["resources"]["limits"]["memory"], "512Mi");
    assert!(gitops.join(PRODUCTION).join("artifacts/route").is_dir());
    assert!(!gitops.join(PRODUCTION).join("artifacts/ingress").exists());
    // Staging is untouched.
    assert_eq!(tree_files(&gitops.join(STAGING)), staging_files);
    let check = run_check(&gitops, &["--all-clusters"]);
    assert_success(&check);

    // Again: nothing to do, no commit.
    let after = head(&gitops);
    let out = promote(&env, &gitops, &[]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &["web in production is already at staging's version 1.1.0 and values; nothing to promote"],
    );
    assert_eq!(head(&gitops), after);
}

#[test]
fn a_conflict_stops_with_exit_3_and_continue_or_abort_finishes() {
    let (env, gitops) = fleet();
    // 1.2.0 raises the memory limit production edited.
    staging_ahead(&env, &gitops, "1.2.0");
    let before = snapshot(&gitops);
    let path = format!("{PRODUCTION}/{DEPLOYMENT}");

    let out = promote(&env, &gitops, &[]);
    assert_exit(&out, 3);
    assert_stderr_mentions(
        &out,
        &[
            &format!("CONFLICT {path}"),
            "then run `pctl upgrade --continue`",
        ],
    );
    assert_eq!(head(&gitops), before.head.clone().unwrap());
    let text = std::fs::read_to_string(gitops.join(&path)).unwrap();
    assert!(has_markers(&text), "{text}");
    assert!(text.contains("512Mi") && text.contains("256Mi"), "{text}");
    // Other writing commands wait.
    let out = promote(&env, &gitops, &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["with conflicts is in progress"]);

    let out = run(&env, &gitops, &["promote", "--abort"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&gitops));

    let out = promote(&env, &gitops, &[]);
    assert_exit(&out, 3);
    let out = run(&env, &gitops, &["promote", "--continue"]);
    assert_exit(&out, 3);
    assert_stderr_mentions(&out, &["still hold conflict markers"]);
    std::fs::write(gitops.join(&path), keep_ours(&text)).unwrap();
    let out = run(&env, &gitops, &["promote", NAME, "--continue"]);
    assert_success(&out);
    assert_eq!(
        head_subject(&gitops),
        "pctl: promote web 1.2.0 from staging to production"
    );
    assert!(is_clean(&gitops));
    let d = deployment(&gitops, PRODUCTION);
    assert_eq!(container(&d)["resources"]["limits"]["memory"], "512Mi");
    assert_eq!(
        record(&gitops, PRODUCTION)["spec"]["source"]["version"],
        "1.2.0"
    );
    assert_success(&run_check(&gitops, &["--all-clusters"]));

    // --strategy theirs resolves it without stopping.
    let (env, gitops) = fleet();
    staging_ahead(&env, &gitops, "1.2.0");
    let out = promote(&env, &gitops, &["--strategy", "theirs"]);
    assert_success(&out);
    let d = deployment(&gitops, PRODUCTION);
    assert_eq!(container(&d)["resources"]["limits"]["memory"], "256Mi");
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let (env, gitops) = fleet();
    staging_ahead(&env, &gitops, "1.1.0");
    let before = snapshot(&gitops);
    let out = promote(&env, &gitops, &["--dry-run"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("+          image: ghcr.io/stefanprodan/podinfo:6.7.1"),
        "{}",
        describe(&out)
    );
    assert_stderr_mentions(&out, &["value replicas: 4 -> 3 (flag)"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn bad_promotions_are_refused_and_write_nothing() {
    let env = Env::new();
    let gitops = env.root.join("fleet");
    init_fleet(&env, &gitops);
    // `only` is in staging only; `other` is a different profile in each cluster;
    // `same` is the same version with the same values in both.
    for (name, src, c) in [
        ("only", webstack("1.0.0"), "staging"),
        ("same", webstack("1.0.0"), "staging"),
        ("same", webstack("1.0.0"), "production"),
        ("web", webstack("1.0.0"), "staging"),
        ("other", webstack("1.0.0"), "staging"),
        (
            "other",
            shared_repo("platform").source("nginx", Some("nginx/v1.0.0")),
            "production",
        ),
    ] {
        assert_success(&env.install(&gitops, &src, name, &["--cluster", c]));
    }
    let before = snapshot(&gitops);
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["web", "--from", "nowhere", "--to", "production"],
            vec![
                "--from \"nowhere\"",
                "no cluster of that name",
                "clusters: production, staging",
            ],
        ),
        (
            vec!["web", "--from", "staging", "--to", "prod"],
            vec!["--to \"prod\"", "no cluster of that name"],
        ),
        (
            vec!["web", "--from", "staging", "--to", "staging"],
            vec!["--from and --to both name cluster staging"],
        ),
        (
            vec!["ghost", "--from", "staging", "--to", "production"],
            vec![
                "no installation named \"ghost\" in cluster staging",
                "installed in staging: ",
            ],
        ),
        (
            vec!["only", "--from", "staging", "--to", "production"],
            vec![
                "\"only\" is not installed in cluster production",
                "hint: install it there first: pctl install ",
                "--name only --cluster production",
            ],
        ),
        (
            vec!["other", "--from", "staging", "--to", "production"],
            vec![
                "other installs webstack from",
                "in cluster staging but nginx from",
                "not one profile in place of another",
            ],
        ),
    ];
    for (args, reasons) in cases {
        let mut a = vec!["promote"];
        a.extend(args.iter().copied());
        let out = run(&env, &gitops, &a);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &reasons);
        assert_unchanged(&before, &snapshot(&gitops));
    }
    // A repository without `clusters:` is one cluster: nowhere to promote to.
    let single = env.init_gitops("single");
    assert_success(&env.install(&single, &webstack("1.0.0"), NAME, &[]));
    let before_single = snapshot(&single);
    let out = run(
        &env,
        &single,
        &["promote", NAME, "--from", "default", "--to", "production"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "--to \"production\"",
            "no cluster of that name",
            "one cluster, default; `pctl cluster add production` adds another",
        ],
    );
    assert_unchanged(&before_single, &snapshot(&single));
    // Already at staging's version and values: exit 0, nothing written.
    let out = run(
        &env,
        &gitops,
        &["promote", "same", "--from", "staging", "--to", "production"],
    );
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &["same in production is already at staging's version 1.0.0 and values"],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn create_pr_opens_a_pull_request_that_says_what_changes() {
    use crate::common::forge::Forge;
    use crate::pr::{Transport, world};
    let w = world(Forge::GitHub, Transport::Daemon);
    let local = w.local.clone();
    for c in ["staging", "production"] {
        assert_success(&w.pctl(&["cluster", "add", c, "--repo", &arg(&local)]));
    }
    w.env.commit_file(
        &local,
        ".pctl/values/clusters/staging.yaml",
        "webstack.message: hello from staging\n",
    );
    for (c, replicas) in [("staging", "replicas=3"), ("production", "replicas=4")] {
        let out = w.env.install(
            &local,
            &webstack("1.0.0"),
            NAME,
            &["--cluster", c, "--set", replicas],
        );
        assert_success(&out);
    }
    staging_ahead(&w.env, &local, "1.1.0");
    git(&local, &["push", "-q", "origin", "main"]);
    let before = head(&local);

    let out = w.pctl(&[
        "promote",
        NAME,
        "--from",
        "staging",
        "--to",
        "production",
        "--repo",
        &arg(&local),
        "--create-pr",
    ]);
    assert_success(&out);
    assert_eq!(head(&local), before, "the local branch moved");
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 1);
    let pr = &prs[0];
    assert_eq!(pr.head, "pctl/promote-production.web-1.1.0");
    assert_eq!(
        pr.title,
        "pctl: promote web 1.1.0 from staging to production"
    );
    for needle in [
        "## Promotion",
        "**web** in cluster **production**: 1.0.0 → 1.1.0, the version cluster **staging** runs",
        "## Values",
        "| `replicas` | `4` | `3` | flag |",
        "## Changelog",
        "### webstack/v1.1.0",
        "## Changes",
        "`clusters/production/profiles/web/artifacts/app/deployment.yaml` | changed",
        "## In the cluster",
    ] {
        assert!(pr.body.contains(needle), "{needle:?} not in:\n{}", pr.body);
    }
    // Staging's cluster value is not among the changes.
    assert!(!pr.body.contains("hello from staging"), "{}", pr.body);
    assert!(!pr.body.contains("clusters/staging/"), "{}", pr.body);
}

/// With `helm` on PATH (the Helm SDK stand-in), `--dry-run` prints and the pull
/// request carries what changes in the cluster: podinfo 6.0.0 -> 6.1.0 (a vendored
/// chart whose 6.1.0 adds a HorizontalPodAutoscaler).
#[test]
fn the_objects_that_change_in_the_cluster_are_shown() {
    use crate::common::forge::Forge;
    use crate::pr::{Transport, world};
    if !helm_sdk() {
        return;
    }
    let w = world(Forge::GitHub, Transport::Daemon);
    let local = w.local.clone();
    for c in ["staging", "production"] {
        assert_success(&w.pctl(&["cluster", "add", c, "--repo", &arg(&local)]));
    }
    let src = shared_repo("platform").source("podinfo", Some("6.0.0"));
    for c in ["staging", "production"] {
        assert_success(&w.env.install(&local, &src, NAME, &["--cluster", c]));
    }
    let out = run(
        &w.env,
        &local,
        &["upgrade", NAME, "--to", "6.1.0", "--cluster", "staging"],
    );
    assert_success(&out);
    git(&local, &["push", "-q", "origin", "main"]);
    let (with_shim, _) = path_with_helm_shim();
    w.env.set_var("PATH", &with_shim);

    let before = snapshot(&local);
    let out = promote(&w.env, &local, &["--dry-run"]);
    assert_success(&out);
    let text = stdout(&out);
    let at = text
        .find("# What changes in the cluster (helm template, per HelmRelease):\n")
        .unwrap_or_else(|| panic!("no cluster section:\n{}", describe(&out)));
    assert!(text[at..].contains("HorizontalPodAutoscaler"), "{text}");
    assert_unchanged(&before, &snapshot(&local));

    let out = promote(&w.env, &local, &["--create-pr"]);
    assert_success(&out);
    let prs = w.forge.prs();
    let pr = prs
        .iter()
        .find(|p| p.head == "pctl/promote-production.web-6.1.0")
        .unwrap_or_else(|| panic!("no promotion pull request: {prs:?}"));
    assert!(
        pr.body.contains("## In the cluster")
            && pr
                .body
                .contains("<details><summary>HorizontalPodAutoscaler "),
        "{}",
        pr.body
    );
}
