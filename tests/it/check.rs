//! `pctl check` (SPEC §10): the seeded corpus of broken GitOps trees (each fails for
//! its own reason), a tree laid out like fluxcd/flux2-kustomize-helm-example, the
//! output formats, `--helm`, and the commit guard.

use crate::common::*;
use std::path::{Path, PathBuf};

fn checks_dir() -> PathBuf {
    fixtures_dir().join("checks")
}

/// A copy of a fixture tree in the sandbox (tests never touch fixtures/).
fn copy_fixture(env: &Env, rel: &str) -> PathBuf {
    let dest = env.path(&rel.replace('/', "_"));
    std::fs::create_dir_all(&dest).unwrap();
    copy_tree(&checks_dir().join(rel), &dest);
    dest
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Skips (returns false) when a tool is missing, but fails under CI=true.
fn require(what: &str, present: bool) -> bool {
    tool_or_skip(present, &format!("{what} is not available"))
}

#[test]
fn every_broken_tree_fails_for_its_own_reason() {
    let env = Env::new();
    let mut names: Vec<String> = std::fs::read_dir(checks_dir().join("broken"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 15, "the corpus has {} trees", names.len());
    let kubectl = require(
        "kubectl (kustomize builds)",
        on_path("kubectl") || on_path("kustomize"),
    );
    for name in names {
        let tree = copy_fixture(&env, &format!("broken/{name}"));
        let expect = std::fs::read_to_string(tree.join("EXPECT")).unwrap();
        let expect = expect.trim();
        if expect.contains("kustomize build failed") && !kubectl {
            continue;
        }
        let before = walk(&tree);
        let out = run_check(&tree, &[]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", describe(&out));
        assert!(
            text.contains(expect),
            "{name}: expected {expect:?} in:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.contains(": error: ") && l.contains(expect)),
            "{name}: the reason is not an error finding:\n{text}"
        );
        assert!(
            text.contains(" paths built, "),
            "{name}: no summary line:\n{text}"
        );
        assert!(
            stderr(&out).contains("error: check failed: "),
            "{name}: {}",
            describe(&out)
        );
        assert_eq!(before, walk(&tree), "{name}: pctl check changed the tree");
    }
}

#[test]
fn findings_name_the_file_and_line() {
    let env = Env::new();
    let tree = copy_fixture(&env, "broken/schema-unknown-field");
    let out = run_check(&tree, &[]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l == "clusters/default/apps.yaml:8: error: Kustomization apps: spec.intervall: unknown field (the schema does not allow it)"),
        "{text}"
    );
    let tree = copy_fixture(&env, "broken/invalid-yaml");
    let text = stdout(&run_check(&tree, &[]));
    assert!(
        text.contains("apps/ns.yaml:5: error: building apps fails: not valid YAML"),
        "{text}"
    );
}

#[test]
fn json_output_holds_findings_and_the_summary() {
    let env = Env::new();
    let tree = copy_fixture(&env, "broken/dependson-missing");
    let out = run_check(&tree, &["-o", "json"]);
    assert_exit(&out, 1);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["syncPath"], "clusters/default");
    assert_eq!(v["source"], "flux-system/flux-system");
    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["summary"]["kustomizations"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], "clusters/default/apps.yaml");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("dependsOn flux-system/infra-controllers"),
        "{v}"
    );
}

#[test]
fn the_flux2_kustomize_helm_example_layout_passes() {
    if !require(
        "kubectl (kustomize builds)",
        on_path("kubectl") || on_path("kustomize"),
    ) {
        return;
    }
    let env = Env::new();
    let tree = copy_fixture(&env, "flux2-kustomize-helm-example");
    for cluster in ["clusters/staging", "clusters/production"] {
        let out = pctl_check_with(&tree, &["--path", cluster]);
        assert!(
            out.contains("4 paths built, 18 objects (4 Kustomization, 3 HelmRelease), 0 problems"),
            "{cluster}:\n{out}"
        );
    }
    // The artifact is cut from the repository by the ArtifactGenerator's copy rules:
    // the apps overlay lost, the apps Kustomization has nothing to build.
    std::fs::remove_dir_all(tree.join("apps/staging")).unwrap();
    let out = run_check(&tree, &["--path", "clusters/staging"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("ArtifactGenerator artifact apps: copy from \"@fleet/apps/staging/**\": apps/staging does not exist in the repository"),
        "{}",
        describe(&out)
    );
}

#[test]
fn without_kustomize_a_path_that_needs_it_is_not_built() {
    let env = Env::new();
    let tree = copy_fixture(&env, "flux2-kustomize-helm-example");
    let empty = env.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = std::process::Command::new(pctl_bin())
        .args(["check", "--path", "clusters/staging", "--repo"])
        .arg(&tree)
        .env("PATH", &empty)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_exit(&out, 0);
    assert!(
        text.lines().any(|l| l == "clusters/staging/flux-system/kustomization.yaml:1: warning: not built: needs kustomize (this kustomization uses more than `resources`; put kubectl or kustomize on PATH)"),
        "{text}"
    );
    assert!(
        text.contains("@apps/staging/kustomization.yaml:1: warning: not built: needs kustomize"),
        "{text}"
    );
}

#[test]
fn a_repository_without_pctl_config_is_walked_from_clusters_default() {
    let env = Env::new();
    let tree = copy_fixture(&env, "broken/target-namespace-overrides");
    std::fs::rename(tree.join("apps/cm.yaml"), env.path("cm.yaml")).unwrap();
    let out = pctl_check(&tree);
    assert!(
        out.contains("2 paths built, 2 objects (1 Kustomization, 0 HelmRelease), 0 problems"),
        "{out}"
    );
    // --source names another GitRepository: the Kustomization is not followed.
    let out = pctl_check_with(&tree, &["--source", "gitops/fleet"]);
    assert!(out.contains("1 paths built, 1 objects"), "{out}");
    let bad = run_check(&tree, &["--source", "fleet"]);
    assert_exit(&bad, 1);
    assert_stderr_mentions(&bad, &["--source \"fleet\" is not NAMESPACE/NAME"]);
}

/// `pctl check --helm` renders a local chart with `helm template` (here a shim on the
/// Helm SDK from PyPI helm-python-sdk); a template error is a problem.
#[test]
fn helm_renders_local_charts() {
    if !helm_sdk() {
        return;
    }
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let quickstart = fixtures_dir().join("quickstart/podinfo");
    // --allow-dirty: a checkout may hold uncommitted fixture edits.
    assert_success(&env.install(
        &gitops,
        &quickstart.display().to_string(),
        "podinfo",
        &["--allow-dirty"],
    ));
    let (path, _) = path_with_helm_shim();
    let run = |repo: &Path| {
        std::process::Command::new(pctl_bin())
            .args(["check", "--helm", "--repo"])
            .arg(repo)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let out = run(&gitops);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("objects rendered from charts, 0 problems"),
        "{}",
        describe(&out)
    );
    let chart = gitops.join("clusters/default/profiles/podinfo/artifacts/frontend/chart");
    std::fs::write(
        chart.join("templates/broken.yaml"),
        "kind: ConfigMap\nname: {{ .Values.nope.deeper }}\n",
    )
    .unwrap();
    let out = run(&gitops);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains(
            "helm template of clusters/default/profiles/podinfo/artifacts/frontend/chart fails"
        ),
        "{}",
        describe(&out)
    );
    // Without a helm binary, --helm says the charts were not rendered.
    let out = std::process::Command::new(pctl_bin())
        .args(["check", "--helm", "--repo"])
        .arg(&gitops)
        .env("PATH", env.path("no-bin"))
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("--helm: 1 local chart(s) not rendered: no helm binary on PATH"),
        "{}",
        describe(&out)
    );
}

fn commit_all(env: &Env, dir: &Path, msg: &str) {
    env.git(dir, &["add", "-A"]);
    env.git(dir, &["commit", "-q", "-m", msg]);
}

/// The commit guard: a commit that would break the repository is refused (exit 2,
/// nothing written); a repository already broken elsewhere can still be worked on.
#[test]
fn the_commit_guard_refuses_only_problems_the_commit_introduces() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let quickstart = fixtures_dir().join("quickstart/podinfo");
    // --allow-dirty: a checkout may hold uncommitted fixture edits.
    assert_success(&env.install(
        &gitops,
        &quickstart.display().to_string(),
        "podinfo",
        &["--allow-dirty"],
    ));
    // The user's own Kustomization waits for one of the installation's wrappers, and
    // an unrelated one is broken already.
    std::fs::create_dir_all(gitops.join("apps")).unwrap();
    std::fs::write(
        gitops.join("apps/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: flux-system\ndata:\n  a: b\n",
    )
    .unwrap();
    let ks = |name: &str, path: &str, deps: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n{deps}"
        )
    };
    std::fs::write(
        gitops.join("clusters/default/web.yaml"),
        ks(
            "web",
            "./apps",
            "  dependsOn:\n    - name: podinfo-settings\n",
        ),
    )
    .unwrap();
    std::fs::write(
        gitops.join("clusters/default/legacy.yaml"),
        ks("legacy", "./gone", ""),
    )
    .unwrap();
    commit_all(&env, &gitops, "user: web and legacy");

    let before = snapshot(&gitops);
    let out = env.pctl([
        "uninstall",
        "podinfo",
        "--repo",
        &gitops.display().to_string(),
    ]);
    assert_exit(&out, 2);
    assert_stderr_mentions(
        &out,
        &[
            "the change would break the GitOps repository",
            "Kustomization web: dependsOn flux-system/podinfo-settings is not a Kustomization that any synced path defines",
            "already broken before this change (1 problem",
            "Kustomization legacy: path \"./gone\" does not exist",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));

    // Without the dependency, the uninstall goes through, and says what was broken.
    std::fs::remove_file(gitops.join("clusters/default/web.yaml")).unwrap();
    commit_all(&env, &gitops, "user: drop web");
    let out = env.pctl([
        "uninstall",
        "podinfo",
        "--repo",
        &gitops.display().to_string(),
    ]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &["was already broken before this change (1 problem", "legacy"],
    );
    assert_eq!(head_subject(&gitops), "pctl: uninstall podinfo");
}

/// A problem the commit check finds in a file the profile brought (here a
/// ConfigMap whose `data` holds a list, which the API server refuses) is the
/// profile's: exit 1, the file named and the fix, nothing written. Only problems in
/// files pctl generates are its own bug (exit 2).
#[test]
fn the_commit_guard_blames_the_profile_for_its_own_files() {
    let env = Env::new();
    let repo = env.path("profiles");
    let files = [
        (
            "app/profile.yaml",
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: app\nspec:\n  description: a broken ConfigMap\n  artifacts:\n    - name: config\n      kustomize: {path: manifests}\n",
        ),
        (
            "app/manifests/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  tags: [1, 2]\n",
        ),
    ];
    for (rel, text) in files {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "app"]);
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &repo.join("app").display().to_string(), "app", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "the profile's files would break",
            "artifacts/config/cm.yaml",
            "must be a string",
            "comes from the profile",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}
