//! What an upgrade changes in the cluster (docs/commands.md#diff): with `helm` on
//! PATH (here the `helm template` stand-in built on the Helm SDK,
//! `fixtures/checks/helm-shim`), `upgrade --dry-run` prints, and an upgrade pull
//! request carries, each HelmRelease's rendered objects compared before and after;
//! without helm they say the charts were not rendered.

use crate::common::forge::Forge;
use crate::common::*;
use crate::pr::{Transport, world};

fn with_shim(env: &Env) -> String {
    let (with_shim, path) = path_with_helm_shim();
    env.set_var("PATH", &with_shim);
    path
}

/// podinfo 6.0.0 -> 6.1.0 (a vendored chart whose 6.1.0 adds a HorizontalPodAutoscaler).
#[test]
fn upgrade_dry_run_shows_the_objects_that_change() {
    if !helm_sdk() {
        return;
    }
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let platform = shared_repo("platform");
    let src = platform.source("podinfo", Some("6.0.0"));
    assert_success(&env.install(&gitops, &src, "web", &[]));
    let plain_path = with_shim(&env);
    let before = snapshot(&gitops);
    let g = gitops.display().to_string();
    let out = env.pctl(["upgrade", "web", "--to", "6.1.0", "--dry-run", "--repo", &g]);
    assert_success(&out);
    let text = stdout(&out);
    let at = text
        .find("# What changes in the cluster (helm template, per HelmRelease):\n")
        .unwrap_or_else(|| panic!("no cluster section:\n{}", describe(&out)));
    let cluster = &text[at..];
    assert!(
        cluster.contains("HorizontalPodAutoscaler") && cluster.contains(": added (+"),
        "{cluster}"
    );
    assert_unchanged(&before, &snapshot(&gitops));

    // without helm: a note, and the files' diff alone
    env.set_var("PATH", &plain_path);
    let out = env.pctl(["upgrade", "web", "--to", "6.1.0", "--dry-run", "--repo", &g]);
    assert_success(&out);
    assert!(!stdout(&out).contains("What changes in the cluster"));
    assert_stderr_mentions(
        &out,
        &["note: the charts' objects were not rendered (no helm on PATH)"],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn an_upgrade_pull_request_says_what_changes_in_the_cluster() {
    if !helm_sdk() {
        return;
    }
    let w = world(Forge::GitHub, Transport::Daemon);
    let local = w.local.display().to_string();
    let src = shared_repo("platform").source("podinfo", Some("6.0.0"));
    assert_success(&w.pctl(&["install", &src, "--name", "web", "--repo", &local]));
    git(&w.local, &["push", "-q", "origin", "main"]);
    with_shim(&w.env);
    let out = w.pctl(&[
        "upgrade",
        "web",
        "--to",
        "6.1.0",
        "--repo",
        &local,
        "--create-pr",
    ]);
    assert_success(&out);
    let prs = w.forge.prs();
    let pr = prs
        .iter()
        .find(|p| p.head == "pctl/upgrade-web-6.1.0")
        .unwrap_or_else(|| panic!("no upgrade pull request: {prs:?}"));
    assert!(pr.body.contains("## In the cluster"), "{}", pr.body);
    assert!(
        pr.body
            .contains("<details><summary>HorizontalPodAutoscaler "),
        "{}",
        pr.body
    );
    assert!(pr.body.contains("```diff\n"), "{}", pr.body);
}
