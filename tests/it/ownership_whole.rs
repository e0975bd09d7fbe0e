//! The ownership scan of a whole tree (docs/architecture.md#the-ownership-scan-of-a-whole-tree):
//! an install keeps the scan of the tree it commits, and the next command reads it
//! instead of walking. Debug builds (these tests) walk whenever a kept scan is read
//! and panic when the two differ, so each layout below fails if an install keeps a
//! scan that a walk of its tree would not find; each also checks that ownership is
//! still refused as before, naming the owner.

use crate::common::*;
use crate::ownership_memo::{profile, refused};
use std::path::Path;

/// Installs `one` (namespace `apps`), then `two` and `three` (namespace `other`):
/// each scan after the first reads what the install before it kept. Then `four`
/// into `apps` is refused as `one`'s, and `five` into `other` as `two`'s (a claim of
/// an installation added by a kept scan).
fn installs_in_a_row(env: &Env, gitops: &Path, prefix: &str) -> String {
    let app = profile(env, "app", "settings");
    assert_success(&env.install(gitops, &app, "one", &["--namespace", "apps"]));
    assert_success(&env.install(gitops, &app, "two", &["--namespace", "other"]));
    let other = profile(env, "other", "more");
    assert_success(&env.install(gitops, &other, "three", &["--namespace", "other"]));
    let before = snapshot(gitops);
    refused(
        &env.install(gitops, &app, "four", &["--namespace", "apps"]),
        "ConfigMap apps/settings",
        "installation one (",
    );
    refused(
        &env.install(gitops, &app, "five", &["--namespace", "other"]),
        "ConfigMap other/settings",
        &format!("installation two ({prefix}/two/artifacts/config/cm.yaml)"),
    );
    assert_unchanged(&before, &snapshot(gitops));
    app
}

#[test]
fn installs_in_a_row_read_the_scan_the_install_before_kept() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let app = installs_in_a_row(&env, &gitops, "clusters/default/profiles");
    // A dry run of another install reads it too, and writes nothing.
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &app, "six", &["--namespace", "six", "--dry-run"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn an_install_path_whose_kustomization_sets_a_namespace_is_walked_each_time() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // kustomize moves every namespaced object it builds: the installations' wrappers
    // (their artifacts are applied by the wrappers, each into its own namespace), so
    // the claims of an installation are not those of its rendering alone.
    env.commit_file(&gitops, "clusters/default/profiles/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: moved\nresources: []\n",
    );
    let app = profile(&env, "app", "settings");
    assert_success(&env.install(&gitops, &app, "one", &["--namespace", "apps"]));
    assert_success(&env.install(&gitops, &app, "two", &["--namespace", "other"]));
    let before = snapshot(&gitops);
    refused(
        &env.install(&gitops, &app, "three", &["--namespace", "apps"]),
        "ConfigMap apps/settings",
        "installation one (",
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn an_install_path_outside_the_sync_path_applied_by_a_flux_kustomization() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // The install path outside the sync path, applied by a Flux Kustomization of
    // namespace `moved` (objects built there without a namespace would go to `moved`,
    // not to the GitRepository's namespace: a walk start the install keeps no scan
    // for; pctl's wrappers name their namespace, so the claims are the same).
    env.commit_file(&gitops, ".pctl/config.yaml", "gitRepository: {name: flux-system, namespace: flux-system}\nsyncPath: clusters/default\ninstallPath: apps/profiles\n");
    env.commit_file(
        &gitops,
        "apps/profiles/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    );
    env.commit_file(&gitops, "clusters/default/apps.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: moved\nspec:\n  interval: 10m\n  path: ./apps/profiles\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n    namespace: flux-system\n",
    );
    installs_in_a_row_moved(&env, &gitops);
}

fn installs_in_a_row_moved(env: &Env, gitops: &Path) {
    let app = profile(env, "app", "settings");
    assert_success(&env.install(gitops, &app, "one", &["--namespace", "apps"]));
    let other = profile(env, "other", "more");
    assert_success(&env.install(gitops, &other, "two", &["--namespace", "other"]));
    let before = snapshot(gitops);
    refused(
        &env.install(gitops, &app, "three", &["--namespace", "apps"]),
        "ConfigMap apps/settings",
        "installation one (apps/profiles/one/artifacts/config/cm.yaml)",
    );
    assert_unchanged(&before, &snapshot(gitops));
}

#[test]
fn a_commit_pctl_did_not_make_is_walked_and_its_new_objects_conflict() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let app = profile(&env, "app", "settings");
    assert_success(&env.install(&gitops, &app, "one", &["--namespace", "apps"]));
    // A ConfigMap added by hand: the tree is not the one `one`'s install committed.
    env.commit_file(
        &gitops,
        "clusters/default/by-hand.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: other\n",
    );
    let before = snapshot(&gitops);
    refused(
        &env.install(&gitops, &app, "two", &["--namespace", "other"]),
        "ConfigMap other/settings",
        "clusters/default/by-hand.yaml",
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn an_upgrade_and_an_uninstall_keep_the_scan_of_the_tree_they_commit() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    // 1.1.0 adds ConfigMap `extra`.
    let def = RAW_APP_PROFILE;
    let cm = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  x: '1'\n")
    };
    let (one, both) = (
        cm("settings"),
        format!("{}---\n{}", cm("settings"), cm("extra")),
    );
    let repo = profile_repo(
        &env,
        "app",
        &[
            (
                "1.0.0",
                &[("profile.yaml", def), ("manifests/cm.yaml", &one)],
            ),
            (
                "1.1.0",
                &[("profile.yaml", def), ("manifests/cm.yaml", &both)],
            ),
        ],
    );
    let app = source(&repo, "app", "1.0.0");
    let extra = profile(&env, "extra", "extra");
    assert_success(&env.install(&gitops, &app, "one", &["--namespace", "apps"]));
    assert_success(&env.install(&gitops, &app, "two", &["--namespace", "other"]));
    // The upgrade's scan is the one `two`'s install kept; it keeps one for its own tree.
    assert_success(&env.pctl(["upgrade", "two", "--to", "1.1.0", "--repo", &g]));
    let before = snapshot(&gitops);
    refused(
        &env.install(&gitops, &extra, "three", &["--namespace", "other"]),
        "ConfigMap other/extra",
        "installation two (clusters/default/profiles/two/artifacts/config/cm.yaml)",
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // Another installation, so that the tree after the uninstall is a new one (the
    // scan of a tree seen before is kept already).
    let other = profile(&env, "other", "more");
    assert_success(&env.install(&gitops, &other, "x", &["--namespace", "x"]));
    // The uninstall keeps the scan of its tree from the one `x`'s install kept:
    // `extra` is free.
    assert_success(&env.pctl(["uninstall", "two", "--repo", &g]));
    assert_success(&env.install(&gitops, &extra, "four", &["--namespace", "other"]));
    let before = snapshot(&gitops);
    refused(
        &env.install(&gitops, &app, "five", &["--namespace", "apps"]),
        "ConfigMap apps/settings",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
    assert_unchanged(&before, &snapshot(&gitops));
}
