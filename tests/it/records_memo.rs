//! Installation names stay unique across the whole GitOps repository when the record
//! walk answers from its memo (docs/architecture.md#finding-installation-records):
//! records added by hand below directories a walk has already seen, written by pctl
//! or by Weaveworks pctl, are found, and a memo that is not the user's own changes
//! no answer.

use crate::common::*;
use std::path::Path;

const PROFILE: &str = RAW_APP_PROFILE;

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  x: '1'
";

/// A Weaveworks pctl record (as `migrate.rs` has it) named `old`.
const LEGACY: &str = "apiVersion: weave.works/v1alpha1\nkind: ProfileInstallation\nmetadata:\n  creationTimestamp: null\n  name: old\n  namespace: team-a\nspec:\n  configMap: old-values\n  gitRepository:\n    name: flux-system\n    namespace: flux-system\n  source:\n    branch: main\n    path: weaveworks-nginx\n    url: https://github.com/weaveworks/profiles-examples\nstatus: {}\n";

fn commit_all(env: &Env, g: &Path, message: &str) {
    env.git(g, &["add", "-A"]);
    env.git(g, &["commit", "-q", "-m", message]);
}

#[test]
fn records_added_by_hand_below_directories_the_memo_has_seen_are_found() {
    let env = Env::new();
    let repo = profile_repo(
        &env,
        "app",
        &[(
            "1.0.0",
            &[
                ("profile.yaml", PROFILE),
                ("manifests/settings.yaml", CONFIG),
            ],
        )],
    );
    let src = source(&repo, "app", "1.0.0");
    let g = env.init_gitops("gitops");
    // Directories pctl does not own, walked (and memoised) by the installs below.
    for d in ["apps/team/a", "apps/team/b/c"] {
        std::fs::create_dir_all(g.join(d)).unwrap();
        std::fs::write(g.join(d).join("notes.txt"), "not pctl's\n").unwrap();
    }
    commit_all(&env, &g, "apps");
    assert_success(&env.install(&g, &src, "one", &["--namespace", "one"]));
    assert_success(&env.install(&g, &src, "two", &["--namespace", "two"]));
    let memo = std::fs::read(g.join(".git/pctl/parsed-v1")).unwrap();
    assert!(memo.starts_with(b"PCTLPARSE\0"));

    // By hand, in those directories: a Weaveworks pctl record, and a copy of pctl's
    // record of `one` named `copied`.
    std::fs::create_dir_all(g.join("apps/team/a/old")).unwrap();
    std::fs::write(g.join("apps/team/a/old/profile-installation.yaml"), LEGACY).unwrap();
    let one =
        std::fs::read_to_string(g.join("clusters/default/profiles/one/profile-installation.yaml"))
            .unwrap();
    assert!(one.contains("\n  name: one\n"), "{one}");
    std::fs::write(
        g.join("apps/team/b/c/profile-installation.yaml"),
        one.replacen("\n  name: one\n", "\n  name: copied\n", 1),
    )
    .unwrap();
    commit_all(&env, &g, "by hand");
    let refused = |name: &str, dir: &str| {
        let before = snapshot(&g);
        let out = env.install(&g, &src, name, &["--namespace", name]);
        assert_error(&out, 1);
        assert_stderr_mentions(
            &out,
            &[&format!(
                "an installation named {name:?} already exists at {dir}"
            )],
        );
        assert_unchanged(&before, &snapshot(&g));
    };
    refused("old", "apps/team/a/old");
    refused("copied", "apps/team/b/c");
    refused("two", "clusters/default/profiles/two");

    // Under another user's secret the memo is not believed, and the answers stay.
    std::fs::write(env.path("cache/pctl/parse-cache.key"), [9u8; 16]).unwrap();
    refused("old", "apps/team/a/old");
    refused("copied", "apps/team/b/c");
    // Another pctl version's file is not read either.
    let mut other = memo.clone();
    other[14] ^= 1; // the length of the version string in the header
    std::fs::write(g.join(".git/pctl/parsed-v1"), &other).unwrap();
    refused("old", "apps/team/a/old");
    assert_success(&env.install(&g, &src, "three", &["--namespace", "three"]));
}
