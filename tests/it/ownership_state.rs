//! The ownership scan's state (docs/architecture.md#the-ownership-scans-state): what a
//! scan read of a tree is kept as one memo for that tree, and the next scan starts
//! from the state of its own tree or of a recent ancestor's, reading again only the
//! paths changed since. A change made by plain `git` is seen, a changed
//! `.pctl/config.yaml` is another scan, and a cache that is not the user's own
//! (tampered with, or tagged under another key) is not believed.

use crate::common::*;
use std::path::{Path, PathBuf};

const PROFILE: &str = RAW_APP_PROFILE;

/// Profile `name` whose one manifest is ConfigMap `configmap`.
fn profile(env: &Env, name: &str, configmap: &str) -> String {
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

fn refused(out: &std::process::Output, claim: &str, theirs: &str) {
    assert_error(out, 1);
    assert_stderr_mentions(out, &["already have an owner", claim, theirs]);
}

/// How the (last) ownership scan of the default cluster answered, from the test hook.
fn how(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .filter_map(|l| l.strip_prefix("pctl test hook: ownership scan of clusters/default: "))
        .next_back();
    line.unwrap_or_else(|| panic!("no trace of the ownership scan in:\n{err}"))
        .to_string()
}

/// Repository `name` with `one` (ConfigMap `settings`) installed into `apps`, then
/// `x` into `x`.
fn with_one(env: &Env, name: &str, app: &str) -> PathBuf {
    let gitops = env.init_gitops(name);
    assert_success(&env.install(&gitops, app, "one", &["--namespace", "apps"]));
    assert_success(&env.install(&gitops, app, "x", &["--namespace", "x"]));
    gitops
}

#[test]
fn the_state_of_the_last_install_is_reused_and_a_plain_git_edit_of_an_installation_is_seen() {
    let env = Env::new();
    env.set_var("PCTL_FAULT", "trace-owners-state");
    let app = profile(&env, "app", "settings");
    let gitops = env.init_gitops("gitops");
    let first = env.install(&gitops, &app, "one", &["--namespace", "apps"]);
    assert_success(&first);
    assert_eq!(how(&first), "no state");
    // The install's scan kept the state of the tree it scanned (HEAD^ now): this scan
    // reads only what `one`'s install changed.
    let second = env.install(&gitops, &app, "x", &["--namespace", "x"]);
    assert_success(&second);
    assert!(
        how(&second).starts_with("state of 1 commit(s) back, "),
        "{}",
        how(&second)
    );
    // `one`'s ConfigMap renamed by plain git, then an install that claims the new name.
    let cm = gitops.join("clusters/default/profiles/one/artifacts/config/cm.yaml");
    let text = std::fs::read_to_string(&cm).unwrap();
    std::fs::write(&cm, text.replace("name: settings", "name: by-hand")).unwrap();
    git(&gitops, &["commit", "-qam", "rename by hand"]);
    let hand = profile(&env, "hand", "by-hand");
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &hand, "three", &["--namespace", "apps"]);
    refused(
        &out,
        "ConfigMap apps/by-hand",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
    // The state is the one `x`'s install kept of the tree it scanned: since then, its
    // own files and the edit changed.
    assert!(
        how(&out).starts_with("state of 2 commit(s) back, "),
        "{}",
        how(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // The old name is free again; `x`'s objects are still seen from the state.
    let out = env.install(&gitops, &app, "four", &["--namespace", "apps"]);
    assert_success(&out);
    refused(
        &env.install(&gitops, &app, "five", &["--namespace", "x"]),
        "ConfigMap x/settings",
        "installation x (clusters/default/profiles/x/artifacts/config/cm.yaml)",
    );
}

#[test]
fn a_new_object_added_by_plain_git_to_one_installation_conflicts_with_the_next_install() {
    let env = Env::new();
    env.set_var("PCTL_FAULT", "trace-owners-state");
    let app = profile(&env, "app", "settings");
    let gitops = with_one(&env, "gitops", &app);
    // A second ConfigMap in `x`'s artifact, listed in its kustomization, by plain git.
    let dir = gitops.join("clusters/default/profiles/x/artifacts/config");
    std::fs::write(
        dir.join("extra.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    )
    .unwrap();
    let k = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    assert!(k.contains("- cm.yaml"), "{k}");
    std::fs::write(
        dir.join("kustomization.yaml"),
        k.replace("- cm.yaml", "- cm.yaml\n- extra.yaml"),
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-qm", "an object by hand"]);
    let extra = profile(&env, "extra", "extra");
    let out = env.install(&gitops, &extra, "two", &["--namespace", "x"]);
    refused(
        &out,
        "ConfigMap x/extra",
        "installation x (clusters/default/profiles/x/artifacts/config/extra.yaml)",
    );
    assert!(
        how(&out).starts_with("state of 2 commit(s) back, "),
        "{}",
        how(&out)
    );
    assert_success(&env.install(&gitops, &extra, "three", &["--namespace", "apps"]));
}

#[test]
fn a_plain_git_commit_that_changes_the_sync_path_is_another_scan() {
    let env = Env::new();
    env.set_var("PCTL_FAULT", "trace-owners-state");
    let app = profile(&env, "app", "settings");
    let gitops = with_one(&env, "gitops", &app);
    // A ConfigMap outside the old sync path, inside the new one.
    std::fs::create_dir_all(gitops.join("clusters/extra")).unwrap();
    std::fs::write(
        gitops.join("clusters/extra/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outer\n  namespace: apps\n",
    )
    .unwrap();
    let config = gitops.join(".pctl/config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("syncPath: clusters/default\n"), "{text}");
    std::fs::write(
        &config,
        text.replace("syncPath: clusters/default\n", "syncPath: clusters\n"),
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(
        &gitops,
        &["commit", "-qm", "sync everything below clusters"],
    );
    let outer = profile(&env, "outer", "outer");
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &outer, "two", &["--namespace", "apps"]);
    refused(&out, "ConfigMap apps/outer", "clusters/extra/cm.yaml");
    assert_unchanged(&before, &snapshot(&gitops));
    // And `one`, now read from the new sync path, is still an owner.
    refused(
        &env.install(&gitops, &app, "three", &["--namespace", "apps"]),
        "ConfigMap apps/settings",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
}

#[test]
fn a_tampered_cache_is_not_believed() {
    let env = Env::new();
    env.set_var("PCTL_FAULT", "trace-owners-state");
    let app = profile(&env, "app", "settings");
    let gitops = with_one(&env, "gitops", &app);
    // Every entry naming `one`'s ConfigMap (its text's, its directory's memo, the
    // state) now names another one; lengths and layout are kept.
    let bytes = std::fs::read(cache_file(&gitops)).unwrap();
    let (from, to) = (b"settings", b"settingz");
    let mut tampered = bytes.clone();
    let mut n = 0;
    for i in 0..tampered.len().saturating_sub(from.len()) {
        if &tampered[i..i + from.len()] == from {
            tampered[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
    }
    assert!(n >= 2, "{n} occurrences");
    std::fs::write(cache_file(&gitops), &tampered).unwrap();
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &app, "two", &["--namespace", "apps"]);
    refused(
        &out,
        "ConfigMap apps/settings",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
    // The state of the tree `x`'s install scanned names `settings`: a miss, and the
    // scan starts from the state of the tree before (which named nothing).
    assert!(
        how(&out).starts_with("state of 2 commit(s) back, "),
        "{}",
        how(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn a_cache_tagged_under_another_key_is_not_believed() {
    let env = Env::new();
    env.set_var("PCTL_FAULT", "trace-owners-state");
    let app = profile(&env, "app", "settings");
    let gitops = with_one(&env, "gitops", &app);
    // Another user's key: the entries this user's pctl wrote fail their tags.
    let key = env.cache.join("pctl/parse-cache.key");
    assert!(key.exists(), "{}", key.display());
    std::fs::write(&key, [7u8; 16]).unwrap();
    let out = env.install(&gitops, &app, "two", &["--namespace", "apps"]);
    refused(
        &out,
        "ConfigMap apps/settings",
        "installation one (clusters/default/profiles/one/artifacts/config/cm.yaml)",
    );
    assert_eq!(how(&out), "no state");
    let out = env.install(&gitops, &app, "two", &["--namespace", "two"]);
    assert_success(&out);
    assert_eq!(how(&out), "no state");
    // Written again under this key: the next scan starts from it.
    let out = env.install(&gitops, &app, "three", &["--namespace", "three"]);
    assert_success(&out);
    assert!(
        how(&out).starts_with("state of 1 commit(s) back"),
        "{}",
        how(&out)
    );
}
