//! `pctl init`: creating or adopting a GitOps repository.

use crate::common::*;

#[test]
fn init_creates_a_repository_with_config_sourceignore_and_kustomizations() {
    let env = Env::new();
    let repo = env.path("fleet");
    let out = env.pctl(["init", &repo.display().to_string()]);
    assert_success(&out);
    assert!(
        out.stdout.is_empty(),
        "init has no data to print; messages go to stderr\n{}",
        describe(&out)
    );

    // a Git repository on branch main with one commit "pctl: init" and a clean tree
    assert_eq!(git(&repo, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(commit_count(&repo), 1);
    assert_eq!(head_subject(&repo), "pctl: init");
    assert!(
        is_clean(&repo),
        "{}",
        git(&repo, &["status", "--porcelain"])
    );

    let config = yaml_file(&repo.join(".pctl/config.yaml"));
    assert_eq!(config["gitRepository"]["name"], "flux-system");
    assert_eq!(config["gitRepository"]["namespace"], "flux-system");
    assert_eq!(config["syncPath"], SYNC_PATH);
    assert_eq!(config["installPath"], INSTALL_PATH);

    let ignore = std::fs::read_to_string(repo.join(".sourceignore")).unwrap();
    assert!(
        ignore
            .lines()
            .any(|l| l.trim() == ".pctl/" || l.trim() == "/.pctl/"),
        "{ignore}"
    );

    // Without a kustomization.yaml at the sync path, kustomize-controller applies
    // every directory below it; with one, it must list the install directory.
    let sync = repo.join(SYNC_PATH).join("kustomization.yaml");
    if sync.exists() {
        assert_eq!(kustomization_resources(&sync), vec!["profiles".to_string()]);
    }
    assert!(installed_names(&repo).is_empty());

    // everything init wrote is committed
    let committed = git(&repo, &["ls-files"]);
    for f in [
        ".pctl/config.yaml",
        ".sourceignore",
        "clusters/default/profiles/kustomization.yaml",
    ] {
        assert!(
            committed.lines().any(|l| l == f),
            "{f} is not committed: {committed}"
        );
    }
    flux_dry_run(&repo);
}

#[test]
fn init_without_a_directory_initialises_the_current_directory() {
    let env = Env::new();
    let dir = env.path("here");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env.pctl_in(&dir, ["init"]);
    assert_success(&out);
    assert!(dir.join(".git").is_dir());
    assert!(dir.join(".pctl/config.yaml").is_file());
    assert_eq!(head_subject(&dir), "pctl: init");
    flux_dry_run(&dir);
}

#[test]
fn init_uses_branch_main_whatever_the_users_default_branch() {
    let env = Env::new();
    env.append_gitconfig("[init]\n\tdefaultBranch = trunk\n");
    let repo = env.path("fleet");
    assert_success(&env.pctl(["init", &repo.display().to_string()]));
    assert_eq!(git(&repo, &["symbolic-ref", "HEAD"]), "refs/heads/main");
}

#[test]
fn init_twice_changes_nothing() {
    let env = Env::new();
    let repo = env.init_gitops("fleet");
    let before = snapshot(&repo);
    let out = env.pctl(["init", &repo.display().to_string()]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&repo));
    // and in the repository, without DIR
    let out = env.pctl_in(&repo, ["init"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&repo));
}

#[test]
fn init_in_a_subdirectory_of_a_repository_is_refused() {
    let env = Env::new();
    let repo = env.init_gitops("fleet");
    let before = snapshot(&repo);
    let out = env.pctl_in(&repo.join("clusters"), ["init"]);
    assert_error(&out, 1);
    assert!(
        stderr(&out).lines().any(|l| l.starts_with("hint: ")),
        "{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&repo));
}

#[test]
fn init_with_an_install_path_outside_the_sync_path_keeps_installations_reachable() {
    let env = Env::new();
    let repo = env.path("fleet");
    let out = env.pctl([
        "init",
        &repo.display().to_string(),
        "--install-path",
        "apps/profiles",
    ]);
    assert_success(&out);
    assert_eq!(
        yaml_file(&repo.join(".pctl/config.yaml"))["installPath"],
        "apps/profiles"
    );
    assert!(repo.join("apps/profiles/kustomization.yaml").is_file());
    flux_dry_run(&repo);
    let platform = shared_repo("platform");
    assert_success(&env.install(&repo, &platform.source("nginx", None), "ingress", &[]));
    let w = yaml_file(&repo.join("apps/profiles/ingress/artifacts/controller/kustomize-flux.yaml"));
    assert_eq!(
        w["spec"]["path"],
        "./apps/profiles/ingress/artifacts/controller"
    );
    let report = flux_dry_run(&repo);
    assert!(
        flux_summary(&report).1 >= 4,
        "the installation is not reached from the sync path:\n{report}"
    );
}

#[test]
fn init_with_custom_paths_and_git_repository_is_walked_by_flux() {
    let env = Env::new();
    let repo = env.path("fleet");
    let out = env.pctl([
        "init",
        &repo.display().to_string(),
        "--sync-path",
        "clusters/production",
        "--install-path",
        "clusters/production/apps",
        "--git-repository",
        "gitops/fleet-infra",
    ]);
    assert_success(&out);
    let config = yaml_file(&repo.join(".pctl/config.yaml"));
    assert_eq!(config["gitRepository"]["name"], "fleet-infra");
    assert_eq!(config["gitRepository"]["namespace"], "gitops");
    assert_eq!(config["syncPath"], "clusters/production");
    assert_eq!(config["installPath"], "clusters/production/apps");
    assert!(
        repo.join("clusters/production/apps/kustomization.yaml")
            .is_file()
    );
    assert!(
        !repo.join(SYNC_PATH).exists(),
        "the default sync path must not be created"
    );
    flux_dry_run_with(&repo, &["--source", "gitops/fleet-infra"]);

    // an installation then lands under the custom path, with wrappers pointing at it
    let platform = shared_repo("platform");
    let out = env.install(
        &repo,
        &platform.source("nginx", Some("nginx/v1.0.0")),
        "ingress",
        &[],
    );
    assert_success(&out);
    let dir = repo.join("clusters/production/apps/ingress");
    assert!(dir.join("profile-installation.yaml").is_file());
    for id in ["config", "controller"] {
        let w = yaml_file(&dir.join("artifacts").join(id).join("kustomize-flux.yaml"));
        assert_eq!(
            w["spec"]["path"],
            format!("./clusters/production/apps/ingress/artifacts/{id}")
        );
        assert_eq!(w["metadata"]["namespace"], "gitops");
        assert_eq!(w["spec"]["sourceRef"]["name"], "fleet-infra");
    }
    let report = flux_dry_run_with(&repo, &["--source", "gitops/fleet-infra"]);
    assert!(
        flux_summary(&report).1 >= 4,
        "the installation is not reached from the sync path:\n{report}"
    );
}

#[test]
fn init_adopts_an_existing_repository_and_keeps_its_history_and_files() {
    let env = Env::new();
    let repo = env.path("existing");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "# Our fleet\n").unwrap();
    std::fs::write(
        repo.join(".sourceignore"),
        "# keep docs out of the cluster\ndocs/\n",
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "initial"]);
    let old_head = head(&repo);

    assert_success(&env.pctl(["init", &repo.display().to_string()]));
    assert_eq!(head_subject(&repo), "pctl: init");
    assert_eq!(git(&repo, &["rev-parse", "HEAD~1"]), old_head);
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "# Our fleet\n"
    );
    let ignore = std::fs::read_to_string(repo.join(".sourceignore")).unwrap();
    assert!(
        ignore.contains("docs/"),
        "existing .sourceignore lines must stay: {ignore}"
    );
    assert!(
        ignore
            .lines()
            .any(|l| l.trim() == ".pctl/" || l.trim() == "/.pctl/"),
        "{ignore}"
    );
    assert!(is_clean(&repo));
    flux_dry_run(&repo);
}

/// A repository bootstrapped by `flux bootstrap` has clusters/default/flux-system/
/// and no kustomization.yaml at the sync path (Flux generates one). pctl's new
/// kustomization.yaml must keep flux-system synced, or Flux would prune itself.
#[test]
fn init_in_a_flux_bootstrapped_repository_keeps_flux_system_synced() {
    let env = Env::new();
    let repo = env.path("bootstrapped");
    let fs = repo.join("clusters/default/flux-system");
    std::fs::create_dir_all(&fs).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(
        fs.join("gotk-sync.yaml"),
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\n\
spec:\n  interval: 1m0s\n  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: ssh://git@github.com/example/fleet\n\
---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\n\
spec:\n  interval: 10m0s\n  path: ./clusters/default\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    )
    .unwrap();
    std::fs::write(
        fs.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-sync.yaml\n",
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "Add Flux sync manifests"]);

    assert_success(&env.pctl(["init", &repo.display().to_string()]));
    let sync = repo.join("clusters/default/kustomization.yaml");
    if sync.exists() {
        let resources = kustomization_resources(&sync);
        assert!(
            resources.contains(&"flux-system".to_string()),
            "flux-system is no longer synced: {resources:?}"
        );
        assert!(resources.contains(&"profiles".to_string()), "{resources:?}");
    }
    let out = flux_dry_run(&repo);
    let (_, objects) = flux_summary(&out);
    assert!(
        objects >= 2,
        "the flux-system objects are no longer reached:\n{out}"
    );
    // and an installation is reached next to them
    let platform = shared_repo("platform");
    assert_success(&env.install(&repo, &platform.source("nginx", None), "ingress", &[]));
    let out = flux_dry_run(&repo);
    assert!(
        flux_summary(&out).1 >= objects + 4,
        "the installation is not reached:\n{out}"
    );
}

#[test]
fn init_refuses_a_sync_path_outside_the_repository() {
    let env = Env::new();
    let repo = env.path("fleet");
    let out = env.pctl([
        "init",
        &repo.display().to_string(),
        "--sync-path",
        "../elsewhere",
    ]);
    assert_error(&out, 1);
    assert!(!env.path("elsewhere").exists());
}
