//! Installations of the archived Weaveworks pctl (issue 13, item 4): `pctl list`
//! shows them, the other commands skip them, and `pctl migrate NAME` turns one into
//! a pctl installation that keeps its Helm releases, namespaces, values and the
//! user's edits. The GitOps repository is `fixtures/legacy-installs/` (the files
//! Weaveworks pctl's `pctl add` wrote, then edits by hand); the profiles are
//! `fixtures/repos/weaveworks-examples`.
mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The profile repository the old records and nested profiles name.
const WW_URL: &str = "https://github.com/weaveworks/profiles-examples";
const PPROF: &str = "clusters/default/pprof";

/// A GitOps repository holding two Weaveworks pctl installations (`pprof` from a
/// branch with a ConfigMap of values, `site` from a catalog tag), committed as
/// `pctl add` wrote them, then a commit of edits by hand.
fn setup() -> (Env, PathBuf) {
    let env = Env::new();
    let repo = shared_repo("weaveworks-examples");
    env.insteadof(&repo.url(), WW_URL);
    let g = env.init_gitops("gitops");
    let fixtures = fixtures_dir().join("legacy-installs");
    copy_tree(&fixtures.join("pristine"), &g);
    git(&g, &["add", "-A"]);
    git(
        &g,
        &[
            "commit",
            "-q",
            "-m",
            "pctl add pprof and site (Weaveworks pctl)",
        ],
    );
    copy_tree(&fixtures.join("edited"), &g);
    git(&g, &["add", "-A"]);
    git(&g, &["commit", "-q", "-m", "edits by hand"]);
    (env, g)
}

fn migrate(env: &Env, g: &Path, name: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["migrate".to_string(), name.to_string(), "--repo".into()];
    args.push(g.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    env.pctl(&args)
}

/// Every HelmRelease under `dir` by the release it makes: release name ->
/// (storage namespace, target namespace, values), as helm-controller computes them.
fn releases(dir: &Path) -> BTreeMap<String, (String, String, Value)> {
    let mut out = BTreeMap::new();
    for (file, hr) in objects_of_kind(dir, "HelmRelease") {
        // The namespace the object lands in: its wrapper's targetNamespace (Weaveworks
        // pctl set it on every wrapper) or its own.
        let wrapper_ns = std::fs::read_dir(dir.join(&file).parent().unwrap().parent().unwrap())
            .ok()
            .and_then(|_| {
                let w = dir
                    .join(&file)
                    .parent()?
                    .parent()?
                    .join("kustomize-flux.yaml");
                w.is_file().then(|| yaml_file(&w))
            })
            .and_then(|w| w["spec"]["targetNamespace"].as_str().map(str::to_string));
        let own_ns = hr["metadata"]["namespace"].as_str().unwrap_or("default");
        let ns = wrapper_ns
            .filter(|_| file.contains("/helm-chart/"))
            .unwrap_or_else(|| own_ns.to_string());
        let name = hr["metadata"]["name"].as_str().unwrap().to_string();
        let target = hr["spec"]["targetNamespace"].as_str().map(str::to_string);
        let release = hr["spec"]["releaseName"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| match &target {
                Some(t) => format!("{t}-{name}"),
                None => name.clone(),
            });
        let storage = hr["spec"]["storageNamespace"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| ns.clone());
        out.insert(
            release,
            (storage, target.unwrap_or(ns), hr["spec"]["values"].clone()),
        );
    }
    out
}

#[test]
fn migrate_keeps_releases_namespaces_values_and_edits_in_one_commit() {
    let (env, g) = setup();
    let before = releases(&g.join(PPROF));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["dependon-chart", "nginx-chart", "nginx-server"],
        "{before:?}"
    );
    let commits = commit_count(&g);
    let out = migrate(&env, &g, "pprof", &[]);
    assert_success(&out);
    assert_eq!(commit_count(&g), commits + 1, "one commit");
    assert!(
        head_subject(&g).starts_with("pctl: migrate pprof from Weaveworks pctl"),
        "{}",
        head_subject(&g)
    );
    assert!(is_clean(&g));
    let dir = g.join(PPROF);
    // A pctl installation now, in the same place.
    let record = yaml_file(&dir.join("profile-installation.yaml"));
    assert_eq!(record["apiVersion"], "pctl.dev/v1alpha1", "{record}");
    assert_eq!(record["spec"]["namespace"], "team-a");
    assert_eq!(record["spec"]["profile"], "weaveworks-nginx");
    assert!(dir.join("kustomization.yaml").is_file());
    assert!(!dir.join("artifacts/nginx-chart/helm-chart").exists());

    // Every release keeps its name and storage and target namespace.
    let after = releases(&dir);
    for (release, (storage, target, _)) in &before {
        let (s, t, _) = after
            .get(release)
            .unwrap_or_else(|| panic!("release {release} is gone: {after:?}"));
        assert_eq!((s, t), (storage, target), "release {release}");
    }
    assert_eq!(after.len(), before.len(), "{after:?}");
    // Values: the default values (as edited by hand), then the user's ConfigMap.
    assert_eq!(
        after["dependon-chart"].2,
        serde_json::json!({"master": {"persistence": {"enabled": false}}, "replica": {"replicaCount": 0}}),
        "the ConfigMap pprof-values wins over the edited defaults, as valuesFrom did"
    );
    assert_eq!(
        after["nginx-chart"].2,
        serde_json::json!({"service": {"type": "ClusterIP"}, "replicaCount": 2})
    );
    assert_eq!(
        after["nginx-server"].2,
        serde_json::json!({"replicaCount": 2})
    );

    // The HelmRelease edits are carried.
    let hr = yaml_file(&dir.join("artifacts/nginx-chart/helm-release.yaml"));
    assert_eq!(hr["spec"]["install"]["remediation"]["retries"], 3, "{hr}");
    assert_eq!(hr["spec"]["timeout"], "10m0s", "{hr}");
    // The copied file's edit is carried, and the file added by hand is kept and listed.
    let deployment =
        std::fs::read_to_string(dir.join("artifacts/nginx-deployment/deployment.yaml")).unwrap();
    assert!(deployment.contains("nginx:1.25.3"), "{deployment}");
    assert!(
        dir.join("artifacts/nginx-deployment/service.yaml")
            .is_file()
    );
    assert!(
        kustomization_resources(&dir.join("artifacts/nginx-deployment/kustomization.yaml"))
            .contains(&"service.yaml".to_string())
    );
    // Objects without a namespace still land in team-a.
    let w = yaml_file(&dir.join("artifacts/nginx-deployment/kustomize-flux.yaml"));
    assert_eq!(w["spec"]["targetNamespace"], "team-a", "{w}");
    let err = stderr(&out);
    assert!(
        err.contains("flux suspend helmrelease -n team-a pprof-nginx-chart"),
        "{err}"
    );

    // `site` is still a Weaveworks pctl installation: migrate it too, then the
    // repository is clean for pctl check.
    assert_success(&migrate(&env, &g, "site", &[]));
    let site = releases(&g.join("clusters/default/site"));
    assert_eq!(site["nginx-server"].0, "web");
    let report = pctl_check(&g);
    assert!(!report.contains("error"), "{report}");
    let list = env.list_json(&g);
    assert!(list.iter().all(|e| e.get("legacy").is_none()), "{list:?}");
}
