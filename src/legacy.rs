//! Installations written by the archived Weaveworks pctl (`weave.works/v1alpha1`
//! `ProfileInstallation` records, docs/guide.md#coming-from-weaveworks-pctl): reading
//! their records, and what Weaveworks pctl generated for each artifact, so that
//! `pctl migrate` can tell the user's edits from its output. Pure: no I/O.
use crate::model::{ArtifactKind, Chart};
use crate::resolve::{Resolved, ResolvedKind};
use crate::yaml::{self, Value};
use anyhow::Result;
use serde::Deserialize;
use serde_json::json;

/// The apiVersion of Weaveworks pctl's records (and of its profile definitions).
pub const API_VERSION: &str = "weave.works/v1alpha1";
pub const KIND: &str = "ProfileInstallation";
/// The interval Weaveworks pctl wrote on every Flux object.
pub const INTERVAL: &str = "5m0s";

/// A Weaveworks pctl record, as `pctl add` wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Legacy {
    pub name: String,
    /// The namespace of every object it generated (`--namespace`).
    pub namespace: String,
    pub source: Source,
    /// `CATALOG/PROFILE` when it was added from a catalog.
    pub catalog: Option<String>,
    /// `spec.configMap`: the user's ConfigMap of values, one key per artifact.
    pub config_map: Option<String>,
    /// `spec.gitRepository` as `NAMESPACE/NAME`.
    pub git_repository: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    pub url: String,
    pub branch: Option<String>,
    pub tag: Option<String>,
    /// Directory of the profile in its repository ("" = root).
    pub path: String,
}

impl Source {
    /// The tag or branch it was added from.
    pub fn reference(&self) -> Option<&str> {
        self.tag.as_deref().or(self.branch.as_deref())
    }

    /// What `pctl list` shows as VERSION: the version of a `NAME/vX.Y.Z` tag, the tag,
    /// or the branch.
    pub fn label(&self) -> String {
        match (&self.tag, &self.branch) {
            (Some(t), _) => t.rsplit('/').next().unwrap_or(t).to_string(),
            (None, Some(b)) => b.clone(),
            (None, None) => "-".into(),
        }
    }

    pub fn display(&self) -> String {
        if self.path.is_empty() {
            self.url.clone()
        } else {
            format!("{}//{}", self.url, self.path)
        }
    }
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default)]
    metadata: RawMeta,
    #[serde(default)]
    spec: RawSpec,
}

#[derive(Deserialize, Default)]
struct RawMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    source: Option<RawSource>,
    #[serde(default)]
    catalog: Option<RawCatalog>,
    #[serde(default)]
    config_map: Option<String>,
    #[serde(default)]
    git_repository: Option<RawRef>,
}

#[derive(Deserialize, Default)]
struct RawSource {
    #[serde(default)]
    url: String,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
struct RawCatalog {
    #[serde(default)]
    catalog: String,
    #[serde(default)]
    profile: String,
}

#[derive(Deserialize)]
struct RawRef {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

/// Whether a `profile-installation.yaml` is a Weaveworks pctl record (its
/// apiVersion and kind; the rest is not read).
pub fn is_legacy(text: &str) -> bool {
    if !text.contains(API_VERSION) {
        return false;
    }
    let Ok(docs) = yaml::documents("record", text) else {
        return false;
    };
    docs.first().is_some_and(|d| {
        d.get("apiVersion").and_then(Value::as_str) == Some(API_VERSION)
            && d.get("kind").and_then(Value::as_str) == Some(KIND)
    })
}

/// Read a Weaveworks pctl record; `origin` names the file in errors.
pub fn parse(origin: &str, text: &str) -> Result<Legacy> {
    let raw: RawRecord = yaml::from_str(origin, text)?;
    let empty = |s: String| Some(s).filter(|s| !s.is_empty());
    let source = raw.spec.source.unwrap_or_default();
    let path = crate::gitops::norm_dir(source.path.as_deref().unwrap_or(""))?;
    Ok(Legacy {
        name: raw.metadata.name,
        namespace: empty(raw.metadata.namespace).unwrap_or_else(|| "default".into()),
        source: Source {
            url: source.url,
            branch: source.branch.and_then(empty),
            tag: source.tag.and_then(empty),
            path,
        },
        catalog: raw
            .spec
            .catalog
            .filter(|c| !c.catalog.is_empty())
            .map(|c| format!("{}/{}", c.catalog, c.profile)),
        config_map: raw.spec.config_map.and_then(empty),
        git_repository: raw
            .spec
            .git_repository
            .filter(|g| !g.name.is_empty())
            .map(|g| format!("{}/{}", g.namespace, g.name)),
    })
}

/// One artifact that Weaveworks pctl wrote into its own directory (nested profiles
/// flattened), with where pctl writes it now.
#[derive(Debug, Clone)]
pub struct OldLeaf {
    /// `artifacts/<nested…>/<artifact>` relative to the installation directory.
    pub dir: String,
    /// The artifact's own name (Weaveworks pctl's release name and object suffix).
    pub name: String,
    /// The artifact id pctl gives it (nesting path joined with `-`).
    pub id: String,
    pub kind: OldKind,
    /// Files of the profile's artifact, relative to its path (or chart root).
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OldKind {
    /// Copied from `path` (relative to the profile) into `<dir>/<path>/`.
    Kustomize { path: String },
    /// Copied from `path` into `<dir>/helm-chart/<path>/`.
    LocalChart { path: String },
    RemoteChart {
        url: String,
        chart: String,
        version: String,
    },
}

impl OldLeaf {
    /// Where Weaveworks pctl copied the artifact's files, relative to the installation.
    pub fn copy_root(&self) -> Option<String> {
        let under = |a: &str, b: &str| {
            crate::gitops::norm_dir(b)
                .ok()
                .map(|b| crate::gitops::join(a, &b))
        };
        match &self.kind {
            OldKind::Kustomize { path } => under(&self.dir, path),
            OldKind::LocalChart { path } => under(&format!("{}/helm-chart", self.dir), path),
            OldKind::RemoteChart { .. } => None,
        }
    }

    /// Where pctl copies the same files now.
    pub fn new_root(&self) -> Option<String> {
        match &self.kind {
            OldKind::Kustomize { .. } => Some(format!("artifacts/{}", self.id)),
            OldKind::LocalChart { .. } => Some(format!("artifacts/{}/chart", self.id)),
            OldKind::RemoteChart { .. } => None,
        }
    }

    pub fn is_chart(&self) -> bool {
        !matches!(self.kind, OldKind::Kustomize { .. })
    }
}

/// Every artifact of a resolved profile as Weaveworks pctl laid it out.
pub fn old_leaves(root: &Resolved) -> Vec<OldLeaf> {
    let mut out = Vec::new();
    walk(root, &[], &mut out);
    out
}

fn walk(p: &Resolved, nest: &[String], out: &mut Vec<OldLeaf>) {
    for a in &p.artifacts {
        let mut path: Vec<String> = nest.to_vec();
        path.push(a.name.clone());
        if let ResolvedKind::Profile { profile, .. } = &a.kind {
            walk(profile, &path, out);
            continue;
        }
        let def = p.def.artifacts.iter().find(|d| d.name == a.name);
        let (kind, files) = match (&a.kind, def.map(|d| &d.kind)) {
            (ResolvedKind::Kustomize { files }, Some(ArtifactKind::Kustomize { path })) => {
                (OldKind::Kustomize { path: path.clone() }, files.clone())
            }
            (
                ResolvedKind::LocalChart { files, .. },
                Some(ArtifactKind::Chart {
                    chart: Chart::Local { path },
                    ..
                }),
            ) => (OldKind::LocalChart { path: path.clone() }, files.clone()),
            (
                ResolvedKind::RemoteChart {
                    url, name, version, ..
                },
                _,
            ) => (
                OldKind::RemoteChart {
                    url: url.clone(),
                    chart: name.clone(),
                    version: version.clone(),
                },
                Default::default(),
            ),
            _ => continue,
        };
        out.push(OldLeaf {
            dir: format!("artifacts/{}", path.join("/")),
            name: a.name.clone(),
            id: path.join("-"),
            kind,
            files,
        });
    }
}

/// Fields of a generated object: copied from the file as it is (`Keep`: they only
/// say where things are, which the new layout decides) or set to what Weaveworks
/// pctl wrote (`Set`).
enum Field {
    Keep(&'static str),
    Set(&'static str, Value),
}

/// What Weaveworks pctl wrote for the object `ours` (a HelmRelease, HelmRepository or
/// wrapper Kustomization of `leaf`), as far as it matters: the fields the user did not
/// touch equal `ours`, every field the user added, removed or changed differs.
pub fn generated_base(kind: &str, leaf: &OldLeaf, ours: &Value) -> Value {
    let mut fields = vec![
        Field::Keep("/apiVersion"),
        Field::Keep("/kind"),
        Field::Keep("/metadata/name"),
        Field::Keep("/metadata/namespace"),
    ];
    match kind {
        "HelmRelease" => {
            fields.extend([
                Field::Set("/spec/interval", json!(INTERVAL)),
                Field::Set("/spec/releaseName", json!(leaf.name)),
                Field::Keep("/spec/chart/spec/sourceRef"),
                Field::Keep("/spec/valuesFrom"),
            ]);
            match &leaf.kind {
                OldKind::RemoteChart { chart, version, .. } => fields.extend([
                    Field::Set("/spec/chart/spec/chart", json!(chart)),
                    Field::Set("/spec/chart/spec/version", json!(version)),
                ]),
                _ => fields.push(Field::Keep("/spec/chart/spec/chart")),
            }
        }
        "HelmRepository" => {
            fields.push(Field::Keep("/spec/interval"));
            if let OldKind::RemoteChart { url, .. } = &leaf.kind {
                fields.push(Field::Set("/spec/url", json!(url)));
            }
        }
        _ => fields.extend([
            Field::Set("/spec/interval", json!(INTERVAL)),
            Field::Set("/spec/prune", json!(true)),
            Field::Keep("/spec/path"),
            Field::Keep("/spec/sourceRef"),
            Field::Keep("/spec/dependsOn"),
            Field::Keep("/spec/healthChecks"),
            Field::Keep("/spec/targetNamespace"),
        ]),
    }
    let mut base = json!({});
    for f in fields {
        let (ptr, v) = match f {
            Field::Keep(p) => match ours.pointer(p) {
                Some(v) => (p, v.clone()),
                None => continue,
            },
            Field::Set(p, v) => (p, v),
        };
        set_pointer(&mut base, ptr, v);
    }
    base
}

/// Set `value` at a JSON pointer made of object keys, creating objects on the way.
pub fn set_pointer(doc: &mut Value, ptr: &str, value: Value) {
    let keys: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
    crate::yaml::set_path(doc, &keys, value);
}

/// Remove the value at a JSON pointer made of object keys, if present.
pub fn remove_pointer(doc: &mut Value, ptr: &str) -> Option<Value> {
    let (parent, key) = ptr.rsplit_once('/')?;
    let target = if parent.is_empty() {
        Some(doc)
    } else {
        doc.pointer_mut(parent)
    };
    target?.as_object_mut()?.remove(key)
}

/// Helm's merge of values: mappings merge key by key, anything else replaces.
pub fn merge_values(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_values(existing, v)
                    }
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into, from) => *into = from.clone(),
    }
}

/// The release a HelmRelease makes, as helm-controller names and stores it:
/// `(release name, storage namespace, target namespace)`. `ns` is the namespace the
/// object lands in (its wrapper's `targetNamespace` wins over its own).
pub fn release_of(hr: &Value, ns: &str) -> (String, String, String) {
    let spec = |k: &str| {
        hr.pointer(&format!("/spec/{k}"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name = hr
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let target = spec("targetNamespace");
    let release = spec("releaseName").unwrap_or_else(|| match &target {
        Some(t) => format!("{t}-{name}"),
        None => name.to_string(),
    });
    let storage = spec("storageNamespace").unwrap_or_else(|| ns.to_string());
    (release, storage, target.unwrap_or_else(|| ns.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = "apiVersion: weave.works/v1alpha1\nkind: ProfileInstallation\nmetadata:\n  creationTimestamp: null\n  name: pprof\n  namespace: team-a\nspec:\n  configMap: pprof-values\n  gitRepository:\n    name: flux-system\n    namespace: flux-system\n  source:\n    branch: main\n    path: weaveworks-nginx\n    url: https://github.com/weaveworks/profiles-examples\nstatus: {}\n";

    #[test]
    fn a_weaveworks_record_is_read_and_told_apart() {
        assert!(is_legacy(RECORD));
        assert!(!is_legacy(
            "apiVersion: pctl.dev/v1alpha1\nkind: ProfileInstallation\n"
        ));
        assert!(!is_legacy(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\n"
        ));
        let l = parse("r", RECORD).unwrap();
        assert_eq!(l.name, "pprof");
        assert_eq!(l.namespace, "team-a");
        assert_eq!(l.source.reference(), Some("main"));
        assert_eq!(l.source.path, "weaveworks-nginx");
        assert_eq!(l.config_map.as_deref(), Some("pprof-values"));
        assert_eq!(l.git_repository.as_deref(), Some("flux-system/flux-system"));
        let tagged = RECORD.replace("branch: main", "tag: weaveworks-nginx/v0.1.1");
        assert_eq!(parse("r", &tagged).unwrap().source.label(), "v0.1.1");
    }

    #[test]
    fn release_names_follow_helm_controller() {
        let hr = json!({"metadata": {"name": "pprof-nginx-chart"}, "spec": {"releaseName": "nginx-chart"}});
        assert_eq!(
            release_of(&hr, "team-a"),
            ("nginx-chart".into(), "team-a".into(), "team-a".into())
        );
        let hr = json!({"metadata": {"name": "web"}, "spec": {"targetNamespace": "apps"}});
        assert_eq!(
            release_of(&hr, "flux-system"),
            ("apps-web".into(), "flux-system".into(), "apps".into())
        );
    }

    #[test]
    fn values_merge_as_helm_merges_them() {
        let mut a = json!({"a": {"b": 1, "c": 2}, "l": [1]});
        merge_values(&mut a, &json!({"a": {"c": 3}, "l": [2]}));
        assert_eq!(a, json!({"a": {"b": 1, "c": 3}, "l": [2]}));
    }
}
