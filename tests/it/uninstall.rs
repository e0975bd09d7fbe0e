//! `pctl uninstall`.

use crate::common::*;
use std::path::PathBuf;

/// A GitOps repository with nginx installed as `ingress` and podinfo as `demo`.
fn two_installations() -> (Env, PathBuf) {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "ingress", &[]));
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "demo", &[]));
    (env, gitops)
}

fn uninstall(
    env: &Env,
    gitops: &std::path::Path,
    name: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "uninstall".to_string(),
        name.to_string(),
        "--repo".into(),
        gitops.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    env.pctl(&args)
}

#[test]
fn uninstall_removes_the_installation_and_its_entry_in_one_commit() {
    let (env, gitops) = two_installations();
    let before = head(&gitops);
    let out = uninstall(&env, &gitops, "ingress", &[]);
    assert_success(&out);
    assert_eq!(git(&gitops, &["rev-parse", "HEAD~1"]), before);
    assert_eq!(head_subject(&gitops), "pctl: uninstall ingress");
    assert!(!install_dir(&gitops, "ingress").exists());
    assert_eq!(installed_names(&gitops), ["demo"]);
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(
            f.starts_with(&format!("{INSTALL_PATH}/ingress/"))
                || f == format!("{INSTALL_PATH}/kustomization.yaml"),
            "{f}"
        );
    }
    assert!(is_clean(&gitops));
    let list = env.list_json(&gitops);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "demo");
    check_installation(&gitops, "demo");
    flux_dry_run(&gitops);

    // removing the last one leaves an empty, valid installation list
    assert_success(&uninstall(&env, &gitops, "demo", &[]));
    assert!(installed_names(&gitops).is_empty());
    assert!(env.list_json(&gitops).is_empty());
    flux_dry_run(&gitops);
}

#[test]
fn uninstall_dry_run_prints_a_diff_and_changes_nothing() {
    let (env, gitops) = two_installations();
    let before = snapshot(&gitops);
    let out = uninstall(&env, &gitops, "ingress", &["--dry-run"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&gitops));
    let diff = stdout(&out);
    assert!(diff.contains("--- ") && diff.contains("@@"), "{diff}");
    assert!(
        diff.contains(&format!(
            "{INSTALL_PATH}/ingress/artifacts/controller/kustomize-flux.yaml"
        )),
        "{diff}"
    );
    assert!(
        diff.lines()
            .any(|l| l.starts_with("-") && l.contains("ingress")),
        "{diff}"
    );
}

#[test]
fn uninstall_no_commit_leaves_the_removal_in_the_work_tree() {
    let (env, gitops) = two_installations();
    let before = head(&gitops);
    assert_success(&uninstall(&env, &gitops, "ingress", &["--no-commit"]));
    assert_eq!(head(&gitops), before);
    assert!(!install_dir(&gitops, "ingress").exists());
    assert_eq!(installed_names(&gitops), ["demo"]);
    assert!(!is_clean(&gitops));
}

#[test]
fn uninstall_message_flag_sets_the_commit_message() {
    let (env, gitops) = two_installations();
    assert_success(&uninstall(
        &env,
        &gitops,
        "demo",
        &["-m", "Retire the demo app"],
    ));
    assert_eq!(head_subject(&gitops), "Retire the demo app");
}

#[test]
fn uninstall_refuses_an_installation_with_uncommitted_edits() {
    let (env, gitops) = two_installations();
    let f = install_dir(&gitops, "ingress").join("artifacts/config/custom-headers.yaml");
    let edited = std::fs::read_to_string(&f)
        .unwrap()
        .replace("DENY", "SAMEORIGIN");
    std::fs::write(&f, edited).unwrap();
    let before = snapshot(&gitops);
    let out = uninstall(&env, &gitops, "ingress", &[]);
    assert_error(&out, 1);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn uninstall_from_inside_the_repository_defaults_repo_to_it() {
    let (env, gitops) = two_installations();
    let out = env.pctl_in(&install_dir(&gitops, "demo"), ["uninstall", "ingress"]);
    assert_success(&out);
    assert_eq!(installed_names(&gitops), ["demo"]);
}
