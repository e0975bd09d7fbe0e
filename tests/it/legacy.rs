//! Legacy `profiles.fluxcd.io/v1alpha1` `kind: Profile` shapes as Weaveworks pctl read
//! them (issue 13, item 1), from `fixtures/repos/legacy` (modelled on the public
//! `weaveworks/profiles-examples`): nested profiles named by tag
//! (`profile: {url, version}`) two levels deep, by branch and path
//! (`profile: {url, branch, path}`), remote charts (`chart: {url, name, version}`);
//! each converted with one warning per source. A chart artifact with both `path` and
//! `chart` is refused for that reason.

use crate::common::*;

/// The URL the fixture's nested profiles name, mapped to the fixture repository.
const LEGACY_URL: &str = "https://github.com/example/legacy-profiles";

fn setup() -> (Env, &'static TempRepo, std::path::PathBuf) {
    let env = Env::new();
    let repo = shared_repo("legacy");
    env.insteadof(&repo.url(), LEGACY_URL);
    let g = env.init_gitops("gitops");
    (env, repo, g)
}

/// The legacy-schema warnings of a run, one line each.
fn legacy_warnings(out: &std::process::Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.contains("profiles.fluxcd.io/v1alpha1"))
        .map(str::to_string)
        .collect()
}

#[test]
fn nested_by_tag_two_levels_deep_installs_with_one_warning_per_source() {
    let (env, repo, g) = setup();
    let out = env.install(
        &g,
        &repo.source("top-web", Some("top-web/v0.0.1")),
        "top",
        &[],
    );
    assert_success(&out);
    assert_eq!(
        artifact_ids(&g, "top"),
        ["mid-leaf-web", "mid-web"].map(String::from).to_vec(),
        "{}",
        describe(&out)
    );
    let w = legacy_warnings(&out);
    assert_eq!(w.len(), 3, "{w:#?}");
    for p in ["top-web", "mid-web", "leaf-web"] {
        assert_eq!(
            w.iter()
                .filter(|l| l.contains(&format!("{p}/profile.yaml")))
                .count(),
            1,
            "{p}: {w:#?}"
        );
    }
    // The nested local charts are copied from the tags the legacy `version` named.
    assert_eq!(
        tree_files(&install_dir(&g, "top").join("artifacts/mid-leaf-web/chart"))
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        ["Chart.yaml", "templates/deployment.yaml", "values.yaml"]
    );
}

#[test]
fn a_remote_chart_and_a_kustomize_directory_install() {
    let (env, repo, g) = setup();
    let out = env.install(
        &g,
        &repo.source("remote-wiki", Some("remote-wiki/v0.0.1")),
        "wiki",
        &[],
    );
    assert_success(&out);
    assert_eq!(
        artifact_ids(&g, "wiki"),
        ["leaf-web", "web", "wiki"].map(String::from).to_vec()
    );
    let dir = install_dir(&g, "wiki").join("artifacts/wiki");
    let hr = yaml_file(&dir.join("helm-release.yaml"));
    assert_eq!(hr["spec"]["chart"]["spec"]["chart"], "dokuwiki");
    assert_eq!(hr["spec"]["chart"]["spec"]["version"], "11.1.6");
    let files = tree_files(&dir);
    let repo_doc = files
        .iter()
        .filter(|(k, _)| k.ends_with(".yaml"))
        .flat_map(|(_, v)| {
            serde_saphyr::from_multiple::<Value>(&String::from_utf8_lossy(v)).unwrap_or_default()
        })
        .find(|d| d["kind"] == "HelmRepository")
        .expect("a HelmRepository");
    assert_eq!(
        repo_doc["spec"]["url"],
        "https://charts.bitnami.com/bitnami"
    );
    assert_eq!(legacy_warnings(&out).len(), 2, "{}", describe(&out));
}

#[test]
fn nested_by_branch_and_path_installs() {
    let (env, repo, g) = setup();
    let out = env.install(
        &g,
        &repo.source("via-branch", Some("on-a-branch")),
        "br",
        &[],
    );
    assert_success(&out);
    assert_eq!(
        artifact_ids(&g, "br"),
        ["branch-web"].map(String::from).to_vec()
    );
    assert!(
        install_dir(&g, "br")
            .join("artifacts/branch-web/deployment.yaml")
            .exists()
    );
    assert_eq!(legacy_warnings(&out).len(), 2, "{}", describe(&out));
}

#[test]
fn a_chart_artifact_with_path_and_chart_is_refused_for_that_reason() {
    let (env, repo, g) = setup();
    let before = snapshot(&g);
    let out = env.install(
        &g,
        &repo.source("broken", Some("broken-artifact")),
        "broken",
        &[],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["artifact \"wiki\"", "path and chart both set"]);
    assert!(!stderr(&out).contains("expected"), "{}", describe(&out));
    assert_unchanged(&before, &snapshot(&g));
}

/// Every legacy shape installs together into one repository, with distinct names
/// and namespaces (the pre-commit check guards each commit), and the tree passes the Flux
/// oracle. `pctl check` of the
/// whole repository is to be added here once the `check` command is merged.
#[test]
fn all_legacy_shapes_install_together() {
    let (env, repo, g) = setup();
    for (subdir, reference, name) in [
        ("top-web", "top-web/v0.0.1", "top"),
        ("remote-wiki", "remote-wiki/v0.0.1", "wiki"),
        ("via-branch", "on-a-branch", "br"),
        ("leaf-web", "leaf-web/v0.0.1", "leaf"),
    ] {
        let ns = format!("ns-{name}");
        let out = env.install(
            &g,
            &repo.source(subdir, Some(reference)),
            name,
            &["--namespace", &ns],
        );
        assert_success(&out);
    }
    assert_eq!(env.list_json(&g).len(), 4);
    flux_dry_run(&g);
}
