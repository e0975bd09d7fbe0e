//! Installations of the archived Weaveworks pctl (issue 13, item 4): `pctl list`
//! shows them, the other commands skip them, and `pctl migrate NAME` turns one into
//! a pctl installation that keeps its Helm releases, namespaces, values and the
//! user's edits. The GitOps repository is `fixtures/legacy-installs/` (the files
//! Weaveworks pctl's `pctl add` wrote, then edits by hand); the profiles are
//! `fixtures/repos/weaveworks-examples`.
use crate::common::*;
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
    setup_with(true)
}

/// [`setup`], with the commit of edits by hand only when `edited`.
fn setup_with(edited: bool) -> (Env, PathBuf) {
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
    if edited {
        copy_tree(&fixtures.join("edited"), &g);
        git(&g, &["add", "-A"]);
        git(&g, &["commit", "-q", "-m", "edits by hand"]);
    }
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
        let wrapper = dir
            .join(&file)
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("kustomize-flux.yaml"));
        let wrapper_ns = wrapper
            .filter(|w| file.contains("/helm-chart/") && w.is_file())
            .and_then(|w| {
                yaml_file(&w)["spec"]["targetNamespace"]
                    .as_str()
                    .map(str::to_string)
            });
        let own_ns = hr["metadata"]["namespace"].as_str().unwrap_or("default");
        let ns = wrapper_ns.unwrap_or_else(|| own_ns.to_string());
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
    // The branch moved on (nginx chart 9.4.0): what runs is kept, like an edit.
    assert_eq!(hr["spec"]["chart"]["spec"]["version"], "9.3.0", "{hr}");
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
    assert!(!err.contains("suspend"), "{err}");
    assert!(
        err.contains("updates the old Kustomizations, HelmReleases and HelmRepositories in place"),
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

#[test]
fn list_shows_weaveworks_installations_and_other_commands_skip_them_with_one_note() {
    let (env, g) = setup();
    let list = env.list_json(&g);
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pprof", "site"], "{list:?}");
    let pprof = &list[0];
    assert_eq!(pprof["legacy"], true, "{pprof}");
    assert_eq!(pprof["namespace"], "team-a");
    assert_eq!(pprof["profile"], "weaveworks-nginx");
    assert_eq!(pprof["version"], "main");
    assert_eq!(pprof["path"], PPROF);
    assert_eq!(list[1]["version"], "v0.0.2");
    assert_eq!(list[1]["profile"], "bitnami-nginx");

    let repo = g.display().to_string();
    let table = env.pctl(["list", "--repo", &repo]);
    assert_success(&table);
    let text = stdout(&table);
    let header = text.lines().next().unwrap_or_default();
    assert!(header.ends_with("WRITTEN-BY"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("pprof "))
        .unwrap_or_default();
    assert!(row.trim_end().ends_with("weaveworks"), "{text}");

    // The other commands work and say once that they left them out.
    for args in [
        vec!["outdated", "--repo", &repo],
        vec!["upgrade", "--all", "--repo", &repo, "--dry-run"],
        vec!["list", "--repo", &repo, "-o", "yaml"],
    ] {
        let out = env.pctl(&args);
        assert_success(&out);
        let notes = stderr(&out).matches("Weaveworks pctl installation").count();
        assert!(notes <= 1, "{args:?}: {}", describe(&out));
        assert!(
            !stderr(&out).contains("missing field"),
            "{}",
            describe(&out)
        );
    }
    let out = env.pctl(["outdated", "--repo", &repo]);
    assert_stderr_mentions(&out, &["pprof, site", "pctl migrate NAME"]);
    for verb in ["status", "upgrade"] {
        let out = env.pctl([verb, "pprof", "--repo", &repo]);
        assert_error(&out, 1);
        assert_stderr_mentions(
            &out,
            &[
                "no installation named \"pprof\"",
                "installed by Weaveworks pctl",
                "pctl migrate pprof",
            ],
        );
    }

    // Installing another profile next to them works, and its name must differ.
    let platform = shared_repo("platform");
    let taken = env.install(&g, &platform.source("podinfo", None), "pprof", &[]);
    assert_error(&taken, 1);
    assert_stderr_mentions(&taken, &["already exists at clusters/default/pprof"]);
    assert_success(&env.install(&g, &platform.source("podinfo", None), "demo", &[]));
    let list = env.list_json(&g);
    assert_eq!(list.len(), 3, "{list:?}");
    assert!(
        list.iter()
            .any(|e| e["name"] == "demo" && e.get("legacy").is_none())
    );
    let out = env.pctl(["status", "demo", "--repo", &repo]);
    assert_success(&out);
}

#[test]
fn migrate_dry_run_prints_the_diff_and_writes_nothing() {
    let (env, g) = setup();
    let before = snapshot(&g);
    let out = migrate(&env, &g, "pprof", &["--dry-run"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&g));
    let diff = stdout(&out);
    assert!(
        diff.contains(&format!("{PPROF}/artifacts/nginx-chart/helm-release.yaml")),
        "{diff}"
    );
    assert!(diff.contains("+  releaseName: nginx-chart"), "{diff}");
}

#[test]
fn migrate_refuses_bad_input_and_writes_nothing() {
    let (env, g) = setup();
    let platform = shared_repo("platform");
    assert_success(&env.install(&g, &platform.source("podinfo", None), "demo", &[]));
    let before = snapshot(&g);

    let out = migrate(&env, &g, "nope", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "no Weaveworks pctl installation named \"nope\"",
            "pprof, site",
        ],
    );
    assert_unchanged(&before, &snapshot(&g));

    let out = migrate(&env, &g, "demo", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["demo", "already a pctl installation", "nothing to migrate"],
    );
    assert_unchanged(&before, &snapshot(&g));

    // Uncommitted changes in the installation directory.
    let file = g
        .join(PPROF)
        .join("artifacts/nginx-chart/helm-chart/HelmRelease.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("timeout: 10m0s", "timeout: 20m0s")).unwrap();
    let dirty = snapshot(&g);
    let out = migrate(&env, &g, "pprof", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["uncommitted changes", "HelmRelease.yaml"]);
    assert_unchanged(&dirty, &snapshot(&g));
    std::fs::write(&file, text).unwrap();

    // A ConfigMap of values that is not in the repository.
    git(&g, &["rm", "-q", "clusters/default/pprof-values.yaml"]);
    git(
        &g,
        &["commit", "-q", "-m", "the values live in the cluster only"],
    );
    let before = snapshot(&g);
    let out = migrate(&env, &g, "pprof", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "ConfigMap team-a/pprof-values",
            "not in the GitOps repository",
            "--allow-missing-values",
        ],
    );
    assert_unchanged(&before, &snapshot(&g));
    let out = migrate(&env, &g, "pprof", &["--allow-missing-values"]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &["not carried over", "pprof-values (key nginx-chart)"],
    );
}

#[test]
fn edits_that_cannot_be_carried_are_reported_and_recorded_in_the_commit() {
    let (env, g) = setup();
    let wrapper = g
        .join(PPROF)
        .join("artifacts/nginx-chart/kustomize-flux.yaml");
    let text = std::fs::read_to_string(&wrapper).unwrap();
    let text = text.replace(
        "  healthChecks:",
        "  dependsOn:\n  - name: cert-manager\n    namespace: cert-manager\n  healthChecks:",
    );
    std::fs::write(&wrapper, text).unwrap();
    std::fs::write(g.join(PPROF).join("NOTES.md"), "why we run this\n").unwrap();
    // An artifact the profile no longer has: its wrapper and HelmRelease are pruned
    // (the release uninstalled), which is said as a warning and in the commit.
    let from = g.join(PPROF).join("artifacts/nginx-chart");
    let to = g.join(PPROF).join("artifacts/retired-chart");
    copy_tree(&from, &to);
    for f in [
        "kustomize-flux.yaml",
        "helm-chart/HelmRelease.yaml",
        "helm-chart/HelmRepository.yaml",
        "helm-chart/ConfigMap.yaml",
    ] {
        let text = std::fs::read_to_string(to.join(f)).unwrap();
        std::fs::write(to.join(f), text.replace("nginx-chart", "retired-chart")).unwrap();
    }
    git(&g, &["add", "-A"]);
    git(&g, &["commit", "-q", "-m", "more edits"]);
    let out = migrate(&env, &g, "pprof", &[]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &[
            "warning: Flux will prune Kustomization team-a/pprof-retired-chart when it applies this commit: kustomize-controller deletes everything it applied",
            "warning: Flux will prune HelmRelease team-a/pprof-retired-chart when it applies this commit: helm-controller uninstalls its release",
            "Flux will prune ConfigMap team-a/pprof-nginx-chart-defaultvalues when it applies this commit, which is harmless",
        ],
    );
    assert!(
        !stderr(&out).contains("warning: Flux will prune ConfigMap"),
        "{}",
        stderr(&out)
    );
    assert_stderr_mentions(
        &out,
        &[
            "not carried over: clusters/default/pprof/artifacts/nginx-chart/kustomize-flux.yaml",
            "spec.dependsOn \"cert-manager\"",
            "not carried over: clusters/default/pprof/NOTES.md",
        ],
    );
    let body = git(&g, &["log", "-1", "--format=%b"]);
    assert!(
        body.contains("Edits not carried over:") && body.contains("cert-manager"),
        "{body}"
    );
    assert!(body.contains("NOTES.md"), "{body}");
    assert!(
        body.contains("Flux prunes when it applies this commit:\n")
            && body.contains(
                "- HelmRelease team-a/pprof-retired-chart: helm-controller uninstalls its release"
            ),
        "{body}"
    );
}

/// Weaveworks pctl installations had no kustomization.yaml of their own, so a parent
/// kustomization listed their artifact directories one by one; after the migration
/// it lists the installation directory, and the repository is clean for pctl check.
#[test]
fn a_parent_kustomization_listing_old_artifacts_lists_the_new_directory() {
    let env = Env::new();
    let repo = shared_repo("weaveworks-examples");
    env.insteadof(&repo.url(), WW_URL);
    let g = env.init_gitops("gitops");
    let pristine = fixtures_dir().join("legacy-installs/pristine/clusters/default");
    copy_tree(&pristine.join("pprof"), &g.join("apps/pprof"));
    std::fs::copy(
        pristine.join("pprof-values.yaml"),
        g.join("apps/pprof-values.yaml"),
    )
    .unwrap();
    std::fs::write(
        g.join("apps/kustomization.yaml"),
        "resources:\n- pprof-values.yaml\n- pprof/artifacts/nginx-chart\n- ./pprof/artifacts/nginx-deployment/\n- pprof/artifacts/dependon-chart\n- pprof/artifacts/nested-profile/nginx-server\n",
    )
    .unwrap();
    std::fs::write(
        g.join("clusters/default/apps.yaml"),
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    )
    .unwrap();
    git(&g, &["add", "-A"]);
    git(
        &g,
        &[
            "commit",
            "-q",
            "-m",
            "Weaveworks pctl installation under apps/",
        ],
    );
    assert_success(&migrate(&env, &g, "pprof", &[]));
    assert_eq!(
        yaml_file(&g.join("apps/kustomization.yaml"))["resources"],
        serde_json::json!(["pprof-values.yaml", "pprof"])
    );
    let releases = releases(&g.join("apps/pprof"));
    assert_eq!(releases["nginx-chart"].0, "team-a", "{releases:?}");
    pctl_check(&g);
}

/// An object's identity: (kind, namespace, name).
type Id = (String, String, String);

/// The Flux objects and ConfigMaps below `dir` (chart internals left out), each
/// with the namespace it is written with (every one of them names it, in both
/// layouts).
fn identities(dir: &Path) -> BTreeMap<Id, Value> {
    const KINDS: &[&str] = &[
        "Kustomization",
        "HelmRelease",
        "HelmRepository",
        "GitRepository",
        "OCIRepository",
        "ConfigMap",
        "Secret",
    ];
    let mut out = BTreeMap::new();
    for (file, doc) in yaml_objects(dir) {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let api = doc["apiVersion"].as_str().unwrap_or_default();
        if !KINDS.contains(&kind.as_str()) || api.starts_with("kustomize.config.k8s.io/") {
            continue;
        }
        let ns = doc["metadata"]["namespace"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: {kind} without a namespace"))
            .to_string();
        out.insert((kind, ns, name_of(&doc)), doc);
    }
    out
}

fn id(kind: &str, ns: &str, name: &str) -> Id {
    (kind.into(), ns.into(), name.into())
}

/// Migrating keeps every old Flux object that holds or sources a release (wrapper
/// Kustomization, HelmRelease, HelmRepository) with its kind, namespace and name, so
/// that Flux updates each in place: the root Kustomization prunes no wrapper, no
/// wrapper prunes a HelmRelease, and helm-controller upgrades the releases instead of
/// uninstalling them. Only the `-defaultvalues` ConfigMaps go, which nothing reads
/// any more. The repository checks clean, and the installation stays in that layout
/// through status and upgrade.
#[test]
fn migrated_flux_objects_keep_their_identity_so_flux_updates_them_in_place() {
    for edited in [false, true] {
        let (env, g) = setup_with(edited);
        let repo = g.display().to_string();
        let cases = [
            (
                "pprof",
                "team-a",
                vec![
                    "pprof-dependon-chart",
                    "pprof-nginx-chart",
                    "pprof-nginx-server",
                ],
            ),
            ("site", "web", vec!["site-nginx-server"]),
        ];
        let mut before = BTreeMap::new();
        for (name, _, _) in &cases {
            before.insert(
                *name,
                identities(&g.join(format!("clusters/default/{name}"))),
            );
        }
        for (name, ns, charts) in &cases {
            let out = migrate(&env, &g, name, &[]);
            assert_success(&out);
            let err = stderr(&out);
            assert!(!err.contains("suspend"), "edited={edited}: {err}");
            assert!(
                !err.contains("warning: Flux will prune"),
                "edited={edited}: {err}"
            );
            let dir = g.join(format!("clusters/default/{name}"));
            let old = &before[name];
            let new = identities(&dir);
            // Every object that holds or sources a release is still there.
            let holders: Vec<&Id> = old.keys().filter(|(k, _, _)| k != "ConfigMap").collect();
            // pprof: 4 wrappers, 3 HelmReleases, 2 HelmRepositories; site: 1 and 1.
            let want = if *name == "pprof" { 9 } else { 2 };
            assert_eq!(holders.len(), want, "{holders:?}");
            for h in &holders {
                assert!(
                    new.contains_key(*h),
                    "edited={edited}: {h:?} is pruned by Flux; new objects: {:?}",
                    new.keys().collect::<Vec<_>>()
                );
            }
            // What disappears: exactly the default-values ConfigMaps, each reported.
            let gone: Vec<&Id> = old.keys().filter(|k| !new.contains_key(*k)).collect();
            let expected: Vec<Id> = charts
                .iter()
                .map(|c| id("ConfigMap", ns, &format!("{c}-defaultvalues")))
                .collect();
            assert_eq!(gone, expected.iter().collect::<Vec<_>>(), "edited={edited}");
            for (_, _, cm) in &expected {
                assert!(
                    err.contains(&format!(
                        "Flux will prune ConfigMap {ns}/{cm} when it applies this commit, which is harmless"
                    )),
                    "edited={edited}: {err}"
                );
            }
            for (key, doc) in new.iter().filter(|(k, _)| k.0 == "HelmRelease") {
                assert!(
                    doc["spec"].get("valuesFrom").is_none(),
                    "{key:?} reads {doc}"
                );
            }
            // Dependencies and sources name the namespaces the objects have now.
            for ((kind, ns, name), doc) in &new {
                for d in doc["spec"]["dependsOn"].as_array().into_iter().flatten() {
                    let target = id(
                        kind,
                        d["namespace"].as_str().unwrap_or(ns),
                        d["name"].as_str().unwrap(),
                    );
                    assert!(
                        new.contains_key(&target),
                        "{kind} {ns}/{name}: dependsOn {target:?}"
                    );
                }
                let src = &doc["spec"]["chart"]["spec"]["sourceRef"];
                if let Some(src_name) = src["name"].as_str() {
                    let target = id(
                        src["kind"].as_str().unwrap(),
                        src["namespace"].as_str().unwrap_or(ns),
                        src_name,
                    );
                    assert!(
                        new.contains_key(&target)
                            || target == id("GitRepository", "flux-system", "flux-system"),
                        "{kind} {ns}/{name}: sourceRef {target:?}"
                    );
                }
            }
            // §10: the install namespace is created (by an artifact every other one
            // waits for, in the GitRepository's namespace), and no Namespace object
            // is renamed.
            let namespaces = objects_of_kind(&dir, "Namespace");
            assert_eq!(namespaces.len(), 1, "{namespaces:?}");
            assert_eq!(name_of(&namespaces[0].1), *ns);
            let ns_wrapper = id("Kustomization", "flux-system", &format!("{name}-namespace"));
            assert!(
                new.contains_key(&ns_wrapper),
                "{:?}",
                new.keys().collect::<Vec<_>>()
            );
            assert!(new[&ns_wrapper]["spec"].get("targetNamespace").is_none());
            // The layout is recorded for upgrade, sync and status.
            let record = yaml_file(&dir.join("profile-installation.yaml"));
            assert_eq!(record["spec"]["fluxObjects"]["namespace"], *ns, "{record}");
            // pctl status right after the migration: pctl wrote every file.
            let status = env.pctl(["status", name, "--repo", &repo, "-o", "json", "--offline"]);
            assert_success(&status);
            let status: Value = serde_json::from_str(&stdout(&status)).unwrap();
            assert_eq!(
                status["drift"],
                serde_json::json!({"added": [], "removed": [], "modified": []}),
                "edited={edited}: {status}"
            );
        }
        // The nested profile's artifact keeps its Weaveworks name (not
        // pprof-nested-profile-nginx-server), recorded for the next renderings.
        let record = yaml_file(&g.join(PPROF).join("profile-installation.yaml"));
        assert_eq!(
            record["spec"]["fluxObjects"]["names"],
            serde_json::json!({"nested-profile-nginx-server": "pprof-nginx-server"}),
            "{record}"
        );
        let report = pctl_check(&g);
        assert!(!report.contains("error"), "{report}");
        let list = env.list_json(&g);
        assert_eq!(list.len(), 2, "{list:?}");
        assert!(list.iter().all(|e| e.get("legacy").is_none()), "{list:?}");

        // An upgrade renders the same layout: no old object moves.
        let kept = identities(&g.join(PPROF));
        let out = env.pctl(["upgrade", "pprof", "--repo", &repo]);
        assert_success(&out);
        // Rendered again in the recorded layout, nothing but the record changes.
        assert_eq!(
            files_in_commit(&g, "HEAD"),
            [format!("{PPROF}/profile-installation.yaml")],
            "edited={edited}: {}",
            describe(&out)
        );
        let after = identities(&g.join(PPROF));
        let holders = |m: &BTreeMap<Id, Value>| -> Vec<Id> {
            m.keys().filter(|k| k.0 != "ConfigMap").cloned().collect()
        };
        assert_eq!(
            holders(&after),
            holders(&kept),
            "edited={edited}: {}",
            describe(&out)
        );
        let record = yaml_file(&g.join(PPROF).join("profile-installation.yaml"));
        assert_eq!(
            record["spec"]["fluxObjects"]["namespace"], "team-a",
            "{record}"
        );
        pctl_check(&g);
    }
}
