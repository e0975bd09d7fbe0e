//! The parse cache in `.git/pctl/parsed-v1` (docs/architecture.md#the-parse-cache):
//! a write leaves it behind, a later command reads it and commits what a command
//! without it commits, and a cache that is corrupted, truncated, or written under
//! another user's secret changes no result (the ownership check still sees every
//! object it would see without it).

use crate::common::*;
use std::path::{Path, PathBuf};

const PROFILE: &str = RAW_APP_PROFILE;

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  x: '1'
---
apiVersion: v1
kind: Secret
metadata:
  name: token
stringData:
  t: 'abc'
";

fn app(env: &Env) -> String {
    let repo = profile_repo(
        env,
        "app",
        &[(
            "1.0.0",
            &[
                ("profile.yaml", PROFILE),
                ("manifests/settings.yaml", CONFIG),
            ],
        )],
    );
    source(&repo, "app", "1.0.0")
}

fn cache_file(gitops: &Path) -> PathBuf {
    gitops.join(".git/pctl/parsed-v1")
}

fn tree(gitops: &Path) -> String {
    git(gitops, &["rev-parse", "HEAD^{tree}"])
        .trim()
        .to_string()
}

#[test]
fn a_write_leaves_the_cache_and_a_later_install_commits_what_one_without_it_commits() {
    let env = Env::new();
    let src = app(&env);
    let warm = env.init_gitops("warm");
    assert!(!cache_file(&warm).exists());
    assert_success(&env.install(&warm, &src, "one", &["--namespace", "one"]));
    let size = std::fs::metadata(cache_file(&warm)).unwrap().len();
    assert!(
        size > 100,
        "the cache holds the parsed files ({size} bytes)"
    );
    // The same repository without its cache.
    let cold = without_cache(&env, &warm);
    for repo in [&warm, &cold] {
        assert_success(&env.install(repo, &src, "two", &["--namespace", "two"]));
    }
    assert_eq!(tree(&warm), tree(&cold));
    assert!(cache_file(&cold).exists(), "rebuilt by the write");
    let check = |repo: &Path| stdout(&env.pctl(["check", "--repo", repo.to_str().unwrap()]));
    assert_eq!(check(&warm), check(&cold));
}

#[test]
fn a_corrupted_or_foreign_cache_changes_no_result() {
    let env = Env::new();
    let src = app(&env);
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps"]));
    let good = std::fs::read(cache_file(&gitops)).unwrap();
    let key = env.path("cache/pctl/parse-cache.key");
    assert_eq!(std::fs::metadata(&key).unwrap().len(), 16);
    let mut flipped = good.clone();
    let half = flipped.len() / 2;
    for b in &mut flipped[half..] {
        *b ^= 0x55;
    }
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("garbage", b"not a cache".to_vec(), false),
        ("truncated", good[..good.len() - 7].to_vec(), false),
        ("flipped bytes", flipped, false),
        ("another user's secret", good.clone(), true),
    ];
    for (what, bytes, foreign) in cases {
        std::fs::write(cache_file(&gitops), &bytes).unwrap();
        if foreign {
            std::fs::write(&key, [9u8; 16]).unwrap();
        }
        // The objects of `one` are still seen: the same install into its namespace
        // is refused, naming both owners.
        let before = snapshot(&gitops);
        let out = env.install(&gitops, &src, "two", &["--namespace", "apps"]);
        assert_error(&out, 1);
        assert_stderr_mentions(
            &out,
            &[
                "already have an owner",
                "ConfigMap apps/settings",
                "installation one (clusters/default/profiles/one/artifacts/config/settings.yaml)",
            ],
        );
        assert_unchanged(&before, &snapshot(&gitops));
        let check = env.pctl(["check", "--repo", gitops.to_str().unwrap()]);
        assert_success(&check);
        assert!(
            stdout(&check).contains("0 problems"),
            "{what}: {}",
            stdout(&check)
        );
    }
    // A write replaces the bad file with a good one.
    assert_success(&env.install(&gitops, &src, "three", &["--namespace", "three"]));
    let fresh = std::fs::read(cache_file(&gitops)).unwrap();
    assert!(fresh.starts_with(b"PCTLPARSE\0") && fresh != good);
}

/// A definition whose parse has warnings (its name is not its directory's) and a
/// default the author's reading keeps as written.
const NAMED_APART: &str = "apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: other
spec:
  parameters:
    - name: mode
      default: 0755
  artifacts:
    - name: config
      kustomize: {path: manifests}
      template: true
";

const TEMPLATED: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: '{{ params.mode }}'
";

/// The parsed profile definition a write remembers (docs/architecture.md#memos) is
/// what a later install reads instead of parsing profile.yaml: the same warnings and
/// the same files as a repository without the cache.
#[test]
fn a_remembered_definition_answers_as_its_parse() {
    let env = Env::new();
    let repo = profile_repo(
        &env,
        "app",
        &[(
            "1.0.0",
            &[
                ("profile.yaml", NAMED_APART),
                ("manifests/settings.yaml", TEMPLATED),
            ],
        )],
    );
    let src = source(&repo, "app", "1.0.0");
    let warm = env.init_gitops("warm");
    assert_success(&env.install(&warm, &src, "one", &["--namespace", "one"]));
    let cold = without_cache(&env, &warm);
    for repo in [&warm, &cold] {
        let out = env.install(repo, &src, "two", &["--namespace", "two"]);
        assert_success(&out);
        assert_stderr_mentions(
            &out,
            &["metadata.name \"other\" differs from its directory \"app\""],
        );
    }
    assert_eq!(tree(&warm), tree(&cold));
    let settings =
        std::fs::read_to_string(install_dir(&warm, "two").join("artifacts/config/settings.yaml"))
            .unwrap();
    assert!(settings.contains("mode: '0755'"), "{settings}");
}

/// A copy of the repository `warm` named `cold`, all of it (.git included: copy_tree
/// leaves .git out), without its cache (`.git/pctl`).
fn without_cache(env: &Env, warm: &std::path::Path) -> std::path::PathBuf {
    let cold = env.path("cold");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(warm)
        .arg(&cold)
        .status()
        .unwrap();
    assert!(cp.success());
    std::fs::remove_dir_all(cold.join(".git/pctl")).unwrap();
    cold
}
