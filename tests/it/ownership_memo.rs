//! The ownership scan's memos (docs/architecture.md#the-ownership-scans-memos): what a
//! directory contributes is remembered by its Git tree id in the parse cache's file,
//! and never believed beyond that: an installation edited by hand is read again (its
//! new objects still conflict), a cache file copied from another repository with the
//! same paths changes no answer, and one written by another pctl version is not read.

use crate::common::*;
use std::path::{Path, PathBuf};

const PROFILE: &str = RAW_APP_PROFILE;

/// Profile `name` (1.0.0) whose one artifact is ConfigMap `configmap`, as a source.
pub(crate) fn profile(env: &Env, name: &str, configmap: &str) -> String {
    let def = PROFILE.replace("name: app", &format!("name: {name}"));
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {configmap}\ndata:\n  x: '1'\n"
    );
    let repo = profile_repo(
        env,
        name,
        &[(
            "1.0.0",
            &[("profile.yaml", &def), ("manifests/cm.yaml", &cm)],
        )],
    );
    source(&repo, name, "1.0.0")
}

fn cache_file(gitops: &Path) -> PathBuf {
    gitops.join(".git/pctl/parsed-v1")
}

/// Refused (exit 1) for `claim`, already owned by `theirs`.
pub(crate) fn refused(out: &std::process::Output, claim: &str, theirs: &str) {
    assert_error(out, 1);
    assert_stderr_mentions(out, &["already have an owner", claim, theirs]);
}

#[test]
fn an_installation_edited_by_hand_is_read_again_and_its_new_object_conflicts() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let app = profile(&env, "app", "settings");
    assert_success(&env.install(&gitops, &app, "one", &["--namespace", "apps"]));
    // A second install scans (and remembers) the directories of `one`.
    assert_success(&env.install(&gitops, &app, "two", &["--namespace", "other"]));
    assert!(cache_file(&gitops).exists());
    // `one`'s ConfigMap renamed by hand: what was remembered of its directory is
    // no longer asked for.
    let cm = gitops.join("clusters/default/profiles/one/artifacts/config/cm.yaml");
    let text = std::fs::read_to_string(&cm).unwrap();
    std::fs::write(&cm, text.replace("name: settings", "name: by-hand")).unwrap();
    git(&gitops, &["commit", "-qam", "rename by hand"]);
    let hand = profile(&env, "hand", "by-hand");
    let before = snapshot(&gitops);
    refused(
        &env.install(&gitops, &hand, "three", &["--namespace", "apps"]),
        "ConfigMap apps/by-hand",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // And its old name is free again.
    assert_success(&env.install(&gitops, &app, "four", &["--namespace", "apps"]));
}

/// Repository `name` with `one` (profile `app`) installed into `namespace`, then
/// `x` into `x` (whose scan reads `one`'s directories).
fn with_one(env: &Env, name: &str, app: &str, namespace: &str) -> PathBuf {
    let gitops = env.init_gitops(name);
    assert_success(&env.install(&gitops, app, "one", &["--namespace", namespace]));
    assert_success(&env.install(&gitops, app, "x", &["--namespace", "x"]));
    gitops
}

#[test]
fn a_cache_from_another_repository_with_the_same_paths_changes_no_answer() {
    let env = Env::new();
    let app = profile(&env, "app", "settings");
    let a = with_one(&env, "a", &app, "apps");
    let b = with_one(&env, "b", &app, "other");
    // Same user, so the entries' tags hold; same directory names, other trees.
    std::fs::copy(cache_file(&a), cache_file(&b)).unwrap();
    assert_success(&env.install(&b, &app, "two", &["--namespace", "apps"]));
    refused(
        &env.install(&b, &app, "three", &["--namespace", "other"]),
        "ConfigMap other/settings",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
}

#[test]
fn a_cache_written_by_another_pctl_version_is_not_read() {
    let env = Env::new();
    let app = profile(&env, "app", "settings");
    let gitops = with_one(&env, "gitops", &app, "apps");
    let mut bytes = std::fs::read(cache_file(&gitops)).unwrap();
    // The header: magic (10 bytes), format (4), the version's length and the version.
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    assert_eq!(&bytes[15..15 + version.len()], version);
    for b in &mut bytes[15..15 + version.len()] {
        if b.is_ascii_digit() {
            *b = b'9';
        }
    }
    std::fs::write(cache_file(&gitops), &bytes).unwrap();
    let before = snapshot(&gitops);
    refused(
        &env.install(&gitops, &app, "two", &["--namespace", "apps"]),
        "ConfigMap apps/settings",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
    assert_unchanged(&before, &snapshot(&gitops));
    assert_success(&env.install(&gitops, &app, "three", &["--namespace", "three"]));
    let fresh = std::fs::read(cache_file(&gitops)).unwrap();
    assert_eq!(&fresh[15..15 + version.len()], version, "written again");
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_below_the_sync_path_is_read_as_before() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // A ConfigMap outside the sync path, applied through a link inside it.
    std::fs::create_dir_all(gitops.join("outside")).unwrap();
    std::fs::write(
        gitops.join("outside/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: linked\n  namespace: apps\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../outside/cm.yaml",
        gitops.join("clusters/default/linked.yaml"),
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-qm", "a link by hand"]);
    let linked = profile(&env, "linked", "linked");
    let before = snapshot(&gitops);
    refused(
        &env.install(&gitops, &linked, "one", &["--namespace", "apps"]),
        "ConfigMap apps/linked",
        "clusters/default/linked.yaml",
    );
    assert_unchanged(&before, &snapshot(&gitops));
    assert_success(&env.install(&gitops, &linked, "two", &["--namespace", "other"]));
}
