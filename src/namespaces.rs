//! Namespaces of installed objects (docs/layout.md#namespaces): which kinds are
//! cluster-scoped without asking a cluster, what a directory of Kubernetes YAML or a
//! kustomization holds once built (a pure, approximate kustomize build), how an
//! artifact keeps explicit namespaces while the others go to `--namespace`, and the
//! Namespace artifact that creates the install namespace.
//! See docs/layout.md `## Namespaces` for the design.
use crate::yaml::{self, At, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Kinds kustomize knows to be cluster-scoped (its namespace transformer, and so
/// kustomize-controller's `targetNamespace`, leaves them alone).
pub const KUSTOMIZE_CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "StorageClass",
    "SubjectAccessReview",
    "TokenReview",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Cluster-scoped kinds of common add-ons, which kustomize does not know: it would
/// give them a namespace that the API server then drops.
const ADDON_CLUSTER_SCOPED: &[&str] = &[
    "ClusterIssuer",
    "ClusterPolicy",
    "ClusterSecretStore",
    "GatewayClass",
    "IPAddressPool",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "VolumeSnapshotClass",
    "VolumeSnapshotContent",
];

/// Namespaces every cluster has: pctl never creates them.
const BUILT_IN: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Whether objects of `kind` live outside namespaces.
pub fn is_cluster_scoped(kind: &str) -> bool {
    KUSTOMIZE_CLUSTER_SCOPED.contains(&kind) || ADDON_CLUSTER_SCOPED.contains(&kind)
}

/// Whether every cluster already has namespace `ns`.
pub fn is_built_in(ns: &str) -> bool {
    BUILT_IN.contains(&ns)
}

/// How an installation places its objects (recorded in `profile-installation.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// False only to render again a record written before pctl kept explicit
    /// namespaces: every Kustomize wrapper then sets `targetNamespace` and nothing
    /// creates the namespace.
    pub keep_explicit: bool,
    /// `--create-namespace` (default true).
    pub create: bool,
    /// The rest of the GitOps repository already creates the install namespace.
    pub created_elsewhere: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            keep_explicit: true,
            create: true,
            created_elsewhere: false,
        }
    }
}

impl Policy {
    /// What an installation's record asks for when it is rendered again.
    pub fn of_record(rec: Option<&crate::record::NamespaceRecord>) -> Policy {
        match rec {
            None => Policy {
                keep_explicit: false,
                create: false,
                created_elsewhere: false,
            },
            Some(r) => Policy {
                keep_explicit: true,
                create: r.create,
                created_elsewhere: r.create && !r.created,
            },
        }
    }
}

/// One object found in YAML, with the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` as built (None: unset).
    pub namespace: Option<String>,
    /// Path of the file (as keyed in the file map).
    pub file: String,
    /// The document, shared with the parse cache (`crate::check::build::parsed`).
    pub doc: std::rc::Rc<Value>,
}

const KUSTOMIZATION_FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// The kustomization file of `dir` in `files`, if it has one.
pub fn kustomization_of(files: &BTreeMap<String, Vec<u8>>, dir: &str) -> Option<String> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|k| join(dir, k))
        .find(|p| files.contains_key(p))
}

/// Every Kubernetes object of one YAML file (documents without `kind` and
/// `metadata.name`, kustomization files and unreadable YAML are skipped: the check
/// reports those).
pub fn objects_of_file(path: &str, bytes: &[u8]) -> Vec<Obj> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    // Parsed once per process (the commit guard's check reads the same files); a
    // text the document splitter refuses is read as one stream, as before.
    let Ok(docs) = crate::check::build::documents(path, text) else {
        return Vec::new();
    };
    docs.into_iter()
        .filter_map(|doc| {
            let kind = doc.get("kind")?.as_str()?.to_string();
            let api_version = doc
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if api_version.starts_with("kustomize.config.k8s.io/") {
                return None;
            }
            let name = doc.at("/metadata/name")?.as_str()?.to_string();
            let namespace = doc
                .at("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            Some(Obj {
                api_version,
                kind,
                name,
                namespace,
                file: path.to_string(),
                doc,
            })
        })
        .collect()
}

/// What `dir` holds once built, approximately as kustomize (with a kustomization
/// file: its `resources`, `bases`, `components`, fixed-name generators,
/// `namePrefix`/`nameSuffix`, `namespace` and inline namespace transformers) or Flux
/// (without one: every YAML file below it) would build it. Pure over `files`
/// (paths relative to the same root as `dir`).
pub fn build(files: &BTreeMap<String, Vec<u8>>, dir: &str) -> Vec<Obj> {
    let mut seen = BTreeSet::new();
    build_in(files, dir, &mut seen)
}

fn build_in(files: &BTreeMap<String, Vec<u8>>, dir: &str, seen: &mut BTreeSet<String>) -> Vec<Obj> {
    if !seen.insert(dir.to_string()) {
        return Vec::new();
    }
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let Some(kpath) = kustomization_of(files, dir) else {
        // Flux's generated kustomization: every YAML file below, except that a
        // subdirectory with a kustomization of its own is built as one.
        let mut out = Vec::new();
        for (p, b) in files.range(prefix.clone()..) {
            let Some(rel) = p.strip_prefix(&prefix) else {
                break;
            };
            let parts: Vec<&str> = rel.split('/').collect();
            let is_kustomization = parts
                .last()
                .is_some_and(|f| KUSTOMIZATION_FILES.contains(f));
            if !is_yaml(p) && !is_kustomization {
                continue;
            }
            // A subdirectory's kustomization file counts too: a directory whose only
            // file is a kustomization (generators, remote resources) is built.
            let sub = (1..parts.len())
                .map(|n| format!("{prefix}{}", parts[..n].join("/")))
                .find(|d| kustomization_of(files, d).is_some());
            match sub {
                Some(d) => out.extend(build_in(files, &d, seen)),
                None if is_kustomization => {}
                None => out.extend(objects_of_file(p, b)),
            }
        }
        return out;
    };
    let Some(k) = std::str::from_utf8(&files[&kpath])
        .ok()
        .and_then(|t| crate::check::build::one_document_shared(&kpath, t).ok())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // `components` are built like resources (a Component's kustomization adds its own
    // resources); kustomize applies them after the resources.
    for field in ["resources", "bases", "components"] {
        for r in k.get(field).and_then(Value::as_array).into_iter().flatten() {
            let Some(r) = r.as_str() else { continue };
            if r.contains("://") || r.starts_with("github.com/") {
                continue;
            }
            let p = join(dir, r);
            match files.get(&p) {
                Some(b) => out.extend(objects_of_file(&p, b)),
                None => out.extend(build_in(files, &p, seen)),
            }
        }
    }
    out.extend(generated(&k, &kpath));
    let prefix = k.get("namePrefix").and_then(Value::as_str).unwrap_or("");
    let suffix = k.get("nameSuffix").and_then(Value::as_str).unwrap_or("");
    if !prefix.is_empty() || !suffix.is_empty() {
        for o in &mut out {
            // kustomize leaves Namespace and CustomResourceDefinition names alone
            if o.kind != "Namespace" && o.kind != "CustomResourceDefinition" {
                o.name = format!("{prefix}{}{suffix}", o.name);
            }
        }
    }
    if let Some(ns) = k.get("namespace").and_then(Value::as_str) {
        set_namespace(&mut out, ns, false);
    }
    for t in k
        .get("transformers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(text) = t.as_str().filter(|s| s.contains('\n')) else {
            continue;
        };
        let Ok(doc) = yaml::from_str::<Value>(&kpath, text) else {
            continue;
        };
        if doc.get("kind").and_then(Value::as_str) != Some("NamespaceTransformer") {
            continue;
        }
        if let Some(ns) = doc.at("/metadata/namespace").and_then(Value::as_str) {
            let unset_only = doc.get("unsetOnly").and_then(Value::as_bool) == Some(true);
            set_namespace(&mut out, ns, unset_only);
        }
    }
    out
}

/// The ConfigMaps and Secrets a kustomization's `configMapGenerator` and
/// `secretGenerator` create. Only those with a fixed name count: an object whose name
/// gets kustomize's content hash (the default) is named by its content, so two
/// generators of different content never collide, and pctl cannot know the hash
/// without building. `behavior: merge|replace` changes an object listed elsewhere.
fn generated(k: &Value, kpath: &str) -> Vec<Obj> {
    let hash_off_everywhere = k
        .at("/generatorOptions/disableNameSuffixHash")
        .and_then(Value::as_bool)
        == Some(true);
    let mut out = Vec::new();
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for g in k.get(field).and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = g.get("name").and_then(Value::as_str) else {
                continue;
            };
            let behavior = g
                .get("behavior")
                .and_then(Value::as_str)
                .unwrap_or("create");
            let hash_off = g
                .at("/options/disableNameSuffixHash")
                .and_then(Value::as_bool)
                .unwrap_or(hash_off_everywhere);
            if behavior != "create" || !hash_off {
                continue;
            }
            let namespace = g
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            let mut metadata = serde_json::Map::new();
            metadata.insert("name".into(), Value::String(name.to_string()));
            if let Some(ns) = &namespace {
                metadata.insert("namespace".into(), Value::String(ns.clone()));
            }
            let mut doc = serde_json::Map::new();
            doc.insert("apiVersion".into(), Value::String("v1".into()));
            doc.insert("kind".into(), Value::String(kind.into()));
            doc.insert("metadata".into(), Value::Object(metadata));
            out.push(Obj {
                api_version: "v1".into(),
                kind: kind.into(),
                name: name.to_string(),
                namespace,
                file: kpath.to_string(),
                doc: std::rc::Rc::new(Value::Object(doc)),
            });
        }
    }
    out
}

/// kustomize's namespace transformer: every namespaced object goes to `ns` (with
/// `unset_only`, only those without one) and Namespace objects are renamed to `ns`
/// (never with `unset_only`).
pub fn set_namespace(objs: &mut [Obj], ns: &str, unset_only: bool) {
    for o in objs {
        if o.kind == "Namespace" {
            if !unset_only {
                o.name = ns.to_string();
            }
        } else if !is_cluster_scoped(&o.kind) && (!unset_only || o.namespace.is_none()) {
            o.namespace = Some(ns.to_string());
        }
    }
}

/// Whether Flux's `targetNamespace: ns` gives these objects the namespaces their YAML
/// means: no Namespace but `ns` itself, no explicit namespace but `ns`.
pub fn target_namespace_keeps_meaning(objs: &[Obj], ns: &str) -> bool {
    objs.iter().all(|o| {
        if o.kind == "Namespace" {
            o.name == ns
        } else {
            is_cluster_scoped(&o.kind) || o.namespace.as_deref().is_none_or(|n| n == ns)
        }
    })
}

/// The inline transformer pctl adds to a kustomization: objects without a namespace
/// go to `ns`; explicit namespaces and Namespace objects stay as they are.
pub fn transformer(ns: &str) -> String {
    format!(
        "transformers:\n- |-\n  apiVersion: builtin\n  kind: NamespaceTransformer\n  metadata:\n    name: pctl-namespace\n    namespace: {ns}\n  unsetOnly: true\n"
    )
}

/// `text` (a kustomization file) with [`transformer`] added: appended as a new
/// `transformers:` list when it has none, else added to its list (the file is then
/// written again from its parsed form). None when the file does not parse as a mapping.
pub fn add_transformer(origin: &str, text: &str, ns: &str) -> Option<String> {
    let mut doc: Value = yaml::from_str(origin, text).ok()?;
    let m = doc.as_object_mut()?;
    if !m.contains_key("transformers") {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&transformer(ns));
        return Some(out);
    }
    let entry: Value = yaml::from_str(origin, &transformer(ns)).ok()?;
    let new = entry.get("transformers")?.as_array()?.first()?.clone();
    m.get_mut("transformers")?.as_array_mut()?.push(new);
    yaml::to_string(&doc).ok()
}

/// The id and files of the artifact that creates namespace `ns`: a Namespace that
/// Flux never prunes (as Helm never deletes a namespace it created, so uninstalling
/// leaves the namespace and whatever else lives in it).
pub fn namespace_files(ns: &str) -> BTreeMap<String, Vec<u8>> {
    let doc = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    app.kubernetes.io/managed-by: pctl\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n"
    );
    BTreeMap::from([("namespace.yaml".to_string(), doc.into_bytes())])
}

/// Artifact id of the namespace artifact: `namespace`, unless an artifact has that id.
pub fn namespace_id(taken: &dyn Fn(&str) -> bool) -> String {
    let mut id = "namespace".to_string();
    let mut n = 1;
    while taken(&id) {
        n += 1;
        id = format!("namespace-{n}");
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    const FLUX_LAYOUT: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  url: https://x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n";

    #[test]
    /// `kubectl kustomize` (kustomize v5) gives these names and namespaces for the
    /// same files, plus `pre-hashed-suf-<hash>`, which pctl leaves out by design.
    fn components_generators_and_name_affixes_are_built_as_kustomize_does() {
        let f = files(&[
            (
                "k/kustomization.yaml",
                "resources: [ns.yaml, cm.yaml]\ncomponents: [../comp]\nnamePrefix: pre-\nnameSuffix: -suf\nnamespace: apps\nconfigMapGenerator:\n- name: fixed\n  options: {disableNameSuffixHash: true}\n- name: hashed\n- name: cm\n  behavior: merge\nsecretGenerator:\n- name: creds\n  namespace: other\n  options: {disableNameSuffixHash: true}\n",
            ),
            (
                "k/ns.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
            ),
            (
                "k/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
            ),
            (
                "comp/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n",
            ),
            (
                "comp/extra.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
            ),
        ]);
        let got: Vec<(String, String, Option<String>)> = build(&f, "k")
            .into_iter()
            .map(|o| (o.kind, o.name, o.namespace))
            .collect();
        let want: Vec<(String, String, Option<String>)> = [
            ("Namespace", "apps", None),
            ("ConfigMap", "pre-cm-suf", Some("apps")),
            ("ConfigMap", "pre-extra-suf", Some("apps")),
            ("ConfigMap", "pre-fixed-suf", Some("apps")),
            ("Secret", "pre-creds-suf", Some("apps")),
        ]
        .into_iter()
        .map(|(k, n, ns)| (k.to_string(), n.to_string(), ns.map(str::to_string)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_directory_without_kustomization_is_every_yaml_file() {
        let f = files(&[("a/all.yaml", FLUX_LAYOUT), ("a/README.md", "x")]);
        let objs = build(&f, "a");
        assert_eq!(objs.len(), 3);
        assert!(!target_namespace_keeps_meaning(&objs, "apps"));
        assert!(target_namespace_keeps_meaning(&objs, "podinfo"));
    }

    #[test]
    fn a_subdirectory_with_a_kustomization_is_built_as_one() {
        let f = files(&[
            (
                "c/top.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: top}\n",
            ),
            ("c/p/kustomization.yaml", "resources: [listed.yaml]\n"),
            (
                "c/p/listed.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: listed}\n",
            ),
            (
                "c/p/x/unlisted.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unlisted}\n",
            ),
        ]);
        let names: Vec<String> = build(&f, "c").into_iter().map(|o| o.name).collect();
        assert_eq!(names, vec!["listed", "top"]);
    }

    #[test]
    fn kustomization_namespace_and_unset_only_transformer() {
        let k = format!("resources: [all.yaml]\n{}", transformer("apps"));
        let f = files(&[("a/all.yaml", FLUX_LAYOUT), ("a/kustomization.yaml", &k)]);
        let objs = build(&f, "a");
        let ns: Vec<(String, Option<String>)> = objs
            .iter()
            .map(|o| (o.name.clone(), o.namespace.clone()))
            .collect();
        assert_eq!(
            ns,
            vec![
                ("podinfo".into(), None),
                ("podinfo".into(), Some("podinfo".into())),
                ("plain".into(), Some("apps".into())),
            ]
        );
        let f = files(&[
            ("a/all.yaml", FLUX_LAYOUT),
            (
                "a/kustomization.yaml",
                "resources: [all.yaml]\nnamespace: x\n",
            ),
        ]);
        let objs = build(&f, "a");
        assert!(
            objs.iter()
                .all(|o| o.name == "x" || o.namespace.as_deref() == Some("x"))
        );
    }

    #[test]
    fn transformer_is_appended_or_added_to_a_list() {
        let t = add_transformer("k", "resources:\n- a.yaml\n", "apps").unwrap();
        assert!(
            t.starts_with("resources:\n- a.yaml\ntransformers:\n- |-\n"),
            "{t}"
        );
        let t =
            add_transformer("k", "resources: [a.yaml]\ntransformers: [t.yaml]\n", "apps").unwrap();
        let v: Value = yaml::from_str("k", &t).unwrap();
        let list = v["transformers"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert!(list[1].as_str().unwrap().contains("unsetOnly: true"), "{t}");
    }

    #[test]
    fn the_namespace_id_avoids_an_artifact_named_namespace() {
        assert_eq!(namespace_id(&|_| false), "namespace");
        assert_eq!(namespace_id(&|s| s == "namespace"), "namespace-2");
    }
}
