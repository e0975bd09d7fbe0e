//! Namespaces (docs/layout.md#namespaces): objects of raw YAML and Kustomize artifacts keep an
//! explicit `metadata.namespace`, objects without one go to `--namespace`, Namespace
//! objects are never renamed, and the install namespace is created unless the
//! repository or the profile already creates it or `--create-namespace=false`.
//! Checked with `kubectl kustomize` (what kustomize-controller builds) and the Flux
//! oracle (which reports renamed Namespaces and overridden explicit namespaces).

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// A profile repository: `versions` of profile `name`, each a list of files (relative
/// to the profile directory), committed and tagged `name/vVERSION` in order.
fn raw_profile(name: &str) -> String {
    format!(
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: {name}\nspec:\n  description: raw YAML\n  artifacts:\n    - name: app\n      kustomize: {{path: manifests}}\n"
    )
}

/// The common Flux layout: a Namespace, its HelmRepository and HelmRelease in one file.
const FLUX_LAYOUT: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: podinfo
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 10m
  url: https://stefanprodan.github.io/podinfo
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: '6.x'
      sourceRef:
        kind: HelmRepository
        name: podinfo
";

const TWO_NAMESPACES: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-b
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: team-a
data: {x: a}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: team-b
data: {x: b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data: {x: plain}
";

const EXPLICIT: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: elsewhere
  namespace: monitoring
data: {x: '1'}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data: {x: '2'}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules: []
";

const PLAIN: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
data:
  x: '1'
";

/// `(kind, namespace, name)` of every object `kubectl kustomize DIR` builds.
fn built(dir: &Path) -> Vec<(String, String, String)> {
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_docs_str(&String::from_utf8_lossy(&out.stdout))
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or("").to_string(),
                d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                name_of(d),
            )
        })
        .collect()
}

fn obj(kind: &str, ns: &str, name: &str) -> (String, String, String) {
    (kind.into(), ns.into(), name.into())
}

fn record(gitops: &Path, name: &str) -> Value {
    yaml_file(&install_dir(gitops, name).join("profile-installation.yaml"))
}

/// Installs `files` (a one-artifact raw YAML profile) as `name` into `ns`.
fn install_raw(
    env: &Env,
    gitops: &Path,
    profile: &str,
    manifests: &str,
    name: &str,
    extra: &[&str],
) {
    let repo = profile_repo(
        env,
        profile,
        &[(
            "1.0.0",
            &[
                ("profile.yaml", &raw_profile(profile)),
                ("manifests/all.yaml", manifests),
            ],
        )],
    );
    assert_success(&env.install(gitops, &source(&repo, profile, "1.0.0"), name, extra));
}

#[test]
fn the_flux_layout_keeps_its_namespace_and_the_install_namespace_is_created() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    install_raw(
        &env,
        &gitops,
        "podinfo",
        FLUX_LAYOUT,
        "demo",
        &["--namespace", "apps"],
    );
    let dir = install_dir(&gitops, "demo");
    let w = wrappers(&gitops, "demo");
    assert!(
        w["app"]["spec"]["targetNamespace"].is_null(),
        "the wrapper must not move the objects: {}",
        w["app"]
    );
    let mut objs = built(&dir.join("artifacts/app"));
    objs.sort();
    assert_eq!(
        objs,
        vec![
            obj("HelmRelease", "podinfo", "podinfo"),
            obj("HelmRepository", "podinfo", "podinfo"),
            obj("Namespace", "", "podinfo"),
        ]
    );
    // the upstream file is copied byte for byte
    assert_eq!(
        std::fs::read_to_string(dir.join("artifacts/app/all.yaml")).unwrap(),
        FLUX_LAYOUT
    );
    // nothing creates `apps`: the installation does, and every artifact waits for it
    assert_eq!(
        built(&dir.join("artifacts/namespace")),
        vec![obj("Namespace", "", "apps")]
    );
    assert_eq!(depends_on(&w["app"]), vec!["demo-namespace".to_string()]);
    let ns_doc = yaml_file(&dir.join("artifacts/namespace/namespace.yaml"));
    assert_eq!(
        ns_doc["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"],
        "disabled"
    );
    let rec = record(&gitops, "demo");
    assert_eq!(rec["spec"]["namespaces"]["create"], true);
    assert_eq!(rec["spec"]["namespaces"]["created"], true);
    let report = flux_dry_run(&gitops);
    assert!(!report.contains("renamed"), "{report}");
}

#[test]
fn two_namespace_objects_build_and_keep_their_names() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    install_raw(
        &env,
        &gitops,
        "teams",
        TWO_NAMESPACES,
        "teams",
        &["--namespace", "apps"],
    );
    let mut objs = built(&install_dir(&gitops, "teams").join("artifacts/app"));
    objs.sort();
    assert_eq!(
        objs,
        vec![
            obj("ConfigMap", "apps", "plain"),
            obj("ConfigMap", "team-a", "settings"),
            obj("ConfigMap", "team-b", "settings"),
            obj("Namespace", "", "team-a"),
            obj("Namespace", "", "team-b"),
        ]
    );
    flux_dry_run(&gitops);
}

#[test]
fn an_explicit_namespace_other_than_the_install_namespace_is_kept() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    install_raw(
        &env,
        &gitops,
        "explicit",
        EXPLICIT,
        "ex",
        &["--namespace", "apps"],
    );
    let mut objs = built(&install_dir(&gitops, "ex").join("artifacts/app"));
    objs.sort();
    assert_eq!(
        objs,
        vec![
            obj("ClusterRole", "", "reader"),
            obj("ConfigMap", "apps", "plain"),
            obj("ConfigMap", "monitoring", "elsewhere"),
        ]
    );
    let report = flux_dry_run(&gitops);
    assert!(!report.contains("overridden"), "{report}");
}

#[test]
fn an_upstream_kustomization_gets_the_namespace_transformer_and_keeps_the_rest() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - all.yaml\ncommonLabels:\n  team: web\n";
    let repo = profile_repo(
        &env,
        "kz",
        &[(
            "1.0.0",
            &[
                ("profile.yaml", &raw_profile("kz")),
                ("manifests/kustomization.yaml", kustomization),
                ("manifests/all.yaml", FLUX_LAYOUT),
            ],
        )],
    );
    assert_success(&env.install(
        &gitops,
        &source(&repo, "kz", "1.0.0"),
        "kz",
        &["--namespace", "apps"],
    ));
    let dir = install_dir(&gitops, "kz").join("artifacts/app");
    let k = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    assert!(
        k.starts_with(kustomization),
        "upstream's kustomization is kept: {k}"
    );
    assert!(k.contains("unsetOnly: true"), "{k}");
    let objs = built(&dir);
    assert!(objs.contains(&obj("Namespace", "", "podinfo")), "{objs:?}");
    assert!(
        objs.contains(&obj("HelmRelease", "podinfo", "podinfo")),
        "{objs:?}"
    );
    flux_dry_run(&gitops);
}

#[test]
fn objects_without_a_namespace_keep_target_namespace_and_default_is_never_created() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    install_raw(&env, &gitops, "plain", PLAIN, "p", &[]);
    let w = wrappers(&gitops, "p");
    assert_eq!(w["app"]["spec"]["targetNamespace"], "default");
    assert!(!w.contains_key("namespace"), "{:?}", w.keys());
    assert_eq!(record(&gitops, "p")["spec"]["namespaces"]["created"], false);
    flux_dry_run(&gitops);
}

#[test]
fn create_namespace_false_creates_nothing_and_is_kept_by_sync() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    install_raw(
        &env,
        &gitops,
        "plain",
        PLAIN,
        "p",
        &["--namespace", "team", "--create-namespace=false"],
    );
    let w = wrappers(&gitops, "p");
    assert!(!w.contains_key("namespace"), "{:?}", w.keys());
    assert_eq!(w["app"]["spec"]["targetNamespace"], "team");
    let rec = record(&gitops, "p");
    assert_eq!(rec["spec"]["namespaces"]["create"], false);
    let out = env.pctl(["sync", "--repo", gitops.to_str().unwrap()]);
    assert_success(&out);
    assert!(
        !install_dir(&gitops, "p")
            .join("artifacts/namespace")
            .exists()
    );
    assert!(is_clean(&gitops));
}

#[test]
fn a_namespace_the_repository_already_creates_is_not_created_again() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // the first installation creates `team`; the second sees it in the tree
    install_raw(
        &env,
        &gitops,
        "plain",
        PLAIN,
        "one",
        &["--namespace", "team"],
    );
    assert!(wrappers(&gitops, "one").contains_key("namespace"));
    let other = PLAIN.replace("name: plain", "name: other");
    install_raw(
        &env,
        &gitops,
        "other",
        &other,
        "two",
        &["--namespace", "team"],
    );
    assert!(!wrappers(&gitops, "two").contains_key("namespace"));
    assert_eq!(
        record(&gitops, "two")["spec"]["namespaces"]["created"],
        false
    );
    // a Namespace in a file of the synced tree counts too
    std::fs::write(
        gitops.join(SYNC_PATH).join("ns-ops.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ops\n",
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-q", "-m", "ops namespace"]);
    install_raw(
        &env,
        &gitops,
        "teams",
        TWO_NAMESPACES,
        "three",
        &["--namespace", "ops"],
    );
    assert!(!wrappers(&gitops, "three").contains_key("namespace"));
    flux_dry_run(&gitops);
}

#[test]
fn the_profile_creating_the_install_namespace_needs_no_namespace_artifact() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    install_raw(
        &env,
        &gitops,
        "podinfo",
        FLUX_LAYOUT,
        "demo",
        &["--namespace", "podinfo"],
    );
    let w = wrappers(&gitops, "demo");
    assert!(!w.contains_key("namespace"), "{:?}", w.keys());
    // targetNamespace podinfo keeps what the YAML means here
    assert_eq!(w["app"]["spec"]["targetNamespace"], "podinfo");
    flux_dry_run(&gitops);
}

#[test]
fn an_installation_recorded_before_namespaces_were_kept_upgrades() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let more = EXPLICIT.replace("name: plain", "name: second");
    let repo = profile_repo(
        &env,
        "web",
        &[
            (
                "1.0.0",
                &[
                    ("profile.yaml", &raw_profile("web")),
                    ("manifests/all.yaml", PLAIN),
                ],
            ),
            (
                "1.1.0",
                &[
                    ("profile.yaml", &raw_profile("web")),
                    ("manifests/all.yaml", PLAIN),
                    ("manifests/more.yaml", &more),
                ],
            ),
        ],
    );
    assert_success(&env.install(
        &gitops,
        &source(&repo, "web", "1.0.0"),
        "web",
        &["--namespace", "team", "--create-namespace=false"],
    ));
    // What an older pctl wrote: the same files (targetNamespace, no Namespace
    // artifact) and a record without `namespaces`.
    let rec_path = install_dir(&gitops, "web").join("profile-installation.yaml");
    let text = std::fs::read_to_string(&rec_path).unwrap();
    let old = text.replace("  namespaces:\n    create: false\n    created: false\n", "");
    assert_ne!(old, text, "{text}");
    std::fs::write(&rec_path, old).unwrap();
    git(
        &gitops,
        &["commit", "-q", "-a", "-m", "as an older pctl wrote it"],
    );
    // a user's edit, which the merge keeps
    let cm = install_dir(&gitops, "web").join("artifacts/app/all.yaml");
    std::fs::write(&cm, PLAIN.replace("  x: '1'", "  x: '1'\n  mine: 'yes'")).unwrap();
    git(&gitops, &["commit", "-q", "-a", "-m", "edit"]);

    let out = env.pctl([
        "upgrade",
        "web",
        "--to",
        "1.1.0",
        "--repo",
        gitops.to_str().unwrap(),
    ]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &[
            "installed before pctl kept explicit namespaces",
            "ConfigMap monitoring/elsewhere (was moved into team)",
            "namespace team is now created",
        ],
    );
    assert!(
        std::fs::read_to_string(&cm)
            .unwrap()
            .contains("mine: 'yes'")
    );
    let dir = install_dir(&gitops, "web");
    let mut objs = built(&dir.join("artifacts/app"));
    objs.sort();
    assert_eq!(
        objs,
        vec![
            obj("ClusterRole", "", "reader"),
            obj("ConfigMap", "monitoring", "elsewhere"),
            obj("ConfigMap", "team", "plain"),
            obj("ConfigMap", "team", "second"),
        ]
    );
    // an old record had no choice recorded: the namespace is now created
    assert!(wrappers(&gitops, "web").contains_key("namespace"));
    let rec = record(&gitops, "web");
    assert_eq!(rec["spec"]["namespaces"]["create"], true);
    flux_dry_run(&gitops);
}

#[test]
fn create_namespace_on_upgrade_changes_the_recorded_choice() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    install_raw(&env, &gitops, "plain", PLAIN, "p", &["--namespace", "team"]);
    assert!(wrappers(&gitops, "p").contains_key("namespace"));
    let out = env.pctl([
        "upgrade",
        "p",
        "--create-namespace=false",
        "--repo",
        gitops.to_str().unwrap(),
    ]);
    assert_success(&out);
    assert!(!wrappers(&gitops, "p").contains_key("namespace"));
    assert_eq!(record(&gitops, "p")["spec"]["namespaces"]["create"], false);
    flux_dry_run(&gitops);
}
