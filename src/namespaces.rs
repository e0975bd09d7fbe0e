//! Namespaces of installed objects (docs/layout.md#namespaces): which kinds are
//! cluster-scoped without asking a cluster, what a directory of Kubernetes YAML or a
//! kustomization holds once built (a pure, approximate kustomize build), how an
//! artifact keeps explicit namespaces while the others go to `--namespace`, and the
//! Namespace artifact that creates the install namespace.
//! See docs/layout.md `## Namespaces` for the design.
use crate::yaml::{self, At, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

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

/// The files a build reads: a map of repository paths to contents, or a reader of
/// the GitOps repository that reads a directory only when asked and remembers what a
/// directory built to (the ownership scan's, `crate::ops::owners`).
pub trait Files {
    /// Whether `path` is a file.
    fn is_file(&self, path: &str) -> bool;
    /// The content of file `path`.
    fn content(&self, path: &str) -> Option<Cow<'_, [u8]>>;
    /// The entries of directory `dir` ("" the root) that hold files, in the order of
    /// full paths: each name, and whether it is a directory.
    fn children(&self, dir: &str) -> Vec<(String, bool)>;
    /// Whether [`Files::recall`] may know something (the build then notes what each
    /// directory's build read).
    fn remembers(&self) -> bool {
        false
    }
    /// What `dir` built to before ([`Files::keep`]), when its files are the same.
    fn recall(&self, _dir: &str) -> Option<Rc<Unit>> {
        None
    }
    /// Remember what `dir` builds to: read only below `dir`, starting with no
    /// directory below it built yet.
    fn keep(&self, _dir: &str, _unit: Unit) {}
}

/// What one directory builds to ([`build`]'s work for it, with its kustomization or
/// without): its objects, and the directories below it built on the way (a build
/// builds each directory once).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub objs: Vec<Obj>,
    pub built: Vec<String>,
}

impl Files for BTreeMap<String, Vec<u8>> {
    fn is_file(&self, path: &str) -> bool {
        self.contains_key(path)
    }

    fn content(&self, path: &str) -> Option<Cow<'_, [u8]>> {
        self.get(path).map(|b| Cow::Borrowed(b.as_slice()))
    }

    fn children(&self, dir: &str) -> Vec<(String, bool)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<(String, bool)> = Vec::new();
        for p in self.range(prefix.clone()..).map(|(k, _)| k) {
            let Some(rel) = p.strip_prefix(&prefix) else {
                break;
            };
            let (name, is_dir) = match rel.split_once('/') {
                Some((n, _)) => (n, true),
                None => (rel, false),
            };
            if !out.last().is_some_and(|(n, d)| n == name && *d == is_dir) {
                out.push((name.to_string(), is_dir));
            }
        }
        out
    }
}

/// What `dir` holds once built, approximately as kustomize (with a kustomization
/// file: its `resources`, `bases`, `components`, fixed-name generators,
/// `namePrefix`/`nameSuffix`, `namespace` and inline namespace transformers) or Flux
/// (without one: every YAML file below it) would build it. Pure over `files`
/// (paths relative to the same root as `dir`).
pub fn build<F: Files + ?Sized>(files: &F, dir: &str) -> Vec<Obj> {
    let mut b = Builder {
        remembers: files.remembers(),
        files,
        seen: BTreeSet::new(),
        open: Vec::new(),
    };
    b.build_in(dir)
}

/// One build: the directories built so far, and those whose build is under way
/// (with whether it read outside them), when `files` remembers.
struct Builder<'a, F: ?Sized> {
    files: &'a F,
    remembers: bool,
    seen: BTreeSet<String>,
    open: Vec<(String, bool)>,
}

/// Whether `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
}

impl<'a, F: Files + ?Sized> Builder<'a, F> {
    /// Note a read of `path` by every build under way.
    fn touch(&mut self, path: &str) {
        for (dir, outside) in &mut self.open {
            if !*outside && !within(path, dir) {
                *outside = true;
            }
        }
    }

    fn is_file(&mut self, path: &str) -> bool {
        if self.remembers {
            self.touch(path);
        }
        self.files.is_file(path)
    }

    fn content(&mut self, path: &str) -> Option<Cow<'a, [u8]>> {
        if self.remembers {
            self.touch(path);
        }
        self.files.content(path)
    }

    fn kustomization_of(&mut self, dir: &str) -> Option<String> {
        KUSTOMIZATION_FILES
            .iter()
            .map(|k| join(dir, k))
            .find(|p| self.is_file(p))
    }

    fn build_in(&mut self, dir: &str) -> Vec<Obj> {
        if !self.seen.insert(dir.to_string()) {
            return Vec::new();
        }
        self.unit(dir)
    }

    /// The directories below `dir` built so far.
    fn built_below(&self, dir: &str) -> impl Iterator<Item = &String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.seen
            .range(prefix.clone()..)
            .take_while(move |d| d.starts_with(&prefix))
            .filter(|d| !d.is_empty())
    }

    /// What `dir` builds to: recalled when `files` remembers it and nothing below it
    /// was built yet (what it remembers was built from there), else built and kept
    /// when the build read nothing outside `dir`.
    fn unit(&mut self, dir: &str) -> Vec<Obj> {
        if !self.remembers {
            return self.unit_of(dir);
        }
        let fresh = self.built_below(dir).next().is_none();
        if fresh && let Some(u) = self.files.recall(dir) {
            self.touch(dir);
            self.seen.extend(u.built.iter().cloned());
            return u.objs.clone();
        }
        self.open.push((dir.to_string(), false));
        let objs = self.unit_of(dir);
        let outside = self.open.pop().is_none_or(|(_, o)| o);
        if fresh && !outside {
            let built = self.built_below(dir).cloned().collect();
            self.files.keep(
                dir,
                Unit {
                    objs: objs.clone(),
                    built,
                },
            );
        }
        objs
    }

    fn unit_of(&mut self, dir: &str) -> Vec<Obj> {
        let Some(kpath) = self.kustomization_of(dir) else {
            return self.every_yaml(dir);
        };
        let text = self.content(&kpath);
        let Some(k) = text
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
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
                match self.content(&p) {
                    Some(b) => out.extend(objects_of_file(&p, &b)),
                    None => out.extend(self.build_in(&p)),
                }
            }
        }
        out.extend(generated(&k, &kpath));
        customize(&mut out, &k, &kpath);
        out
    }

    /// Flux's generated kustomization: every YAML file below `dir`, except that a
    /// subdirectory with a kustomization of its own is built as one (a directory whose
    /// only file is a kustomization, of generators or remote resources, is built too).
    fn every_yaml(&mut self, dir: &str) -> Vec<Obj> {
        let mut out = Vec::new();
        if self.remembers {
            self.touch(dir);
        }
        for (name, is_dir) in self.files.children(dir) {
            let p = join(dir, &name);
            if is_dir {
                if self.kustomization_of(&p).is_some() {
                    out.extend(self.build_in(&p));
                } else {
                    out.extend(self.unit(&p));
                }
            } else if is_yaml(&p)
                && !KUSTOMIZATION_FILES.contains(&name.as_str())
                && let Some(b) = self.content(&p)
            {
                out.extend(objects_of_file(&p, &b));
            }
        }
        out
    }
}

/// A kustomization's name affixes, `namespace` and inline namespace transformers,
/// applied to what it builds.
fn customize(out: &mut [Obj], k: &Value, kpath: &str) {
    let prefix = k.get("namePrefix").and_then(Value::as_str).unwrap_or("");
    let suffix = k.get("nameSuffix").and_then(Value::as_str).unwrap_or("");
    if !prefix.is_empty() || !suffix.is_empty() {
        for o in out.iter_mut() {
            // kustomize leaves Namespace and CustomResourceDefinition names alone
            if o.kind != "Namespace" && o.kind != "CustomResourceDefinition" {
                o.name = format!("{prefix}{}{suffix}", o.name);
            }
        }
    }
    if let Some(ns) = k.get("namespace").and_then(Value::as_str) {
        set_namespace(out, ns, false);
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
        let Ok(doc) = yaml::from_str::<Value>(kpath, text) else {
            continue;
        };
        if doc.get("kind").and_then(Value::as_str) != Some("NamespaceTransformer") {
            continue;
        }
        if let Some(ns) = doc.at("/metadata/namespace").and_then(Value::as_str) {
            let unset_only = doc.get("unsetOnly").and_then(Value::as_bool) == Some(true);
            set_namespace(out, ns, unset_only);
        }
    }
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
