//! Export bundles (docs/commands.md, `pctl export`): one profile version with every
//! nested profile vendored, as a deterministic `.tar.gz` with a manifest
//! (`pctl-export.yaml`) of where each profile came from; rewriting nested `source`
//! references to point inside the bundle; and the checks that make unpacking a bundle
//! safe. Pure: no Git, no file system.
use crate::model::{ArtifactKind, Chart, NestedSource, ProfileDefinition};
use crate::record::SourceRecord;
use crate::yaml::{self, Map, Value};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

mod unpack;
pub use unpack::{Limits, human, unpack, unpack_stream};

pub const MANIFEST: &str = "pctl-export.yaml";
pub const API_VERSION: &str = "pctl.dev/v1alpha1";
pub const KIND: &str = "ProfileExport";
/// Where profiles from other repositories (or other commits) go in a bundle.
pub const VENDOR: &str = "vendor";

/// `pctl-export.yaml`: what a bundle holds and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    /// Name of the exported (root) profile.
    pub name: String,
    /// Directory of the exported profile in the bundle ("" = the bundle's root).
    pub root: String,
    /// Every profile of the tree, the root first, each directory once.
    pub profiles: Vec<BundledProfile>,
    pub generated_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundledProfile {
    /// Directory in the bundle.
    pub path: String,
    pub name: String,
    /// Artifact paths that nest it (`gateway.dns`; "" for the root).
    pub artifacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The version tag `pctl import` creates (`<path>/v<version>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The annotated message of the tag it came from (its changelog).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
    /// Where it came from: URL, directory, reference, version and commit.
    pub source: SourceRecord,
}

impl Manifest {
    pub fn to_yaml(&self) -> Result<String> {
        Ok(format!(
            "# Written by pctl export: the profiles of this bundle and where they came from.\n{}",
            yaml::to_string(self)?
        ))
    }

    pub fn from_yaml(origin: &str, text: &str) -> Result<Manifest> {
        let m: Manifest = yaml::from_str(origin, text).map_err(|e| {
            crate::error::user(
                format!("{e}"),
                "this is not a bundle written by `pctl export`",
            )
        })?;
        if m.api_version != API_VERSION || m.kind != KIND {
            bail!(crate::error::user(
                format!(
                    "{origin}: not a pctl export manifest (apiVersion {:?}, kind {:?})",
                    m.api_version, m.kind
                ),
                format!("a bundle's {MANIFEST} has apiVersion {API_VERSION} and kind {KIND}"),
            ));
        }
        Ok(m)
    }
}

/// The version tag of a profile directory: `DIR/vX.Y.Z`, or `vX.Y.Z` at the root.
pub fn version_tag(dir: &str, version: &str) -> String {
    crate::gitops::join(dir, &format!("v{version}"))
}

/// A vendor directory for a repository URL: `vendor/<name>`, made unique among
/// `taken` with the commit's first hex digits, then a counter.
pub fn vendor_dir(url: &str, commit: &str, taken: &BTreeSet<String>) -> String {
    let last = url
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("")
        .trim_end_matches(".git");
    let slug = crate::names::sanitize(last);
    let slug = if slug.is_empty() {
        "profiles".to_string()
    } else {
        slug
    };
    let short: String = commit.chars().take(8).collect();
    let candidates = [
        format!("{VENDOR}/{slug}"),
        format!("{VENDOR}/{slug}-{short}"),
    ];
    for c in candidates {
        if !taken.contains(&c) {
            return c;
        }
    }
    (2..)
        .map(|i| format!("{VENDOR}/{slug}-{short}-{i}"))
        .find(|c| !taken.contains(c))
        .unwrap_or_else(|| format!("{VENDOR}/{slug}"))
}

/// Where a nested profile now lives: its bundle directory and version tag.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSource {
    pub path: String,
    pub tag: Option<String>,
}

/// `profile.yaml` with the `source` of each nested-profile artifact named in
/// `rewrites` pointing inside the bundle (same repository, bundle path, version tag).
/// The definition is written again from what pctl reads of it (comments and unknown
/// metadata are lost; a legacy definition comes out in the current schema), so that
/// nothing a YAML reader could retype (`1.10`, `on`) changes on the way.
pub fn rewrite_nested(
    origin: &str,
    text: &str,
    rewrites: &BTreeMap<String, NewSource>,
) -> Result<String> {
    if rewrites.is_empty() {
        return Ok(text.to_string());
    }
    let (mut def, _) = crate::model::parse(origin, text, None)?;
    let mut done = BTreeSet::new();
    for a in def.artifacts.iter_mut() {
        let Some(new) = rewrites.get(&a.name) else {
            continue;
        };
        if let ArtifactKind::Profile { source, .. } = &mut a.kind {
            *source = NestedSource {
                url: None,
                tag: new.tag.clone(),
                branch: None,
                version: None,
                path: new.path.clone(),
            };
            done.insert(a.name.clone());
        }
    }
    if let Some(missing) = rewrites.keys().find(|k| !done.contains(*k)) {
        bail!(crate::error::Bug(format!(
            "{origin}: nested profile artifact {missing:?} not found while vendoring"
        )));
    }
    Ok(format!(
        "# Vendored by pctl export: nested profiles come from this repository.\n{}",
        yaml::to_string(&definition(&def))?
    ))
}

/// A definition as `profile.yaml` (the current schema).
fn definition(def: &ProfileDefinition) -> Value {
    let mut spec = Map::new();
    let mut put = |k: &str, v: Value, keep: bool| {
        if keep {
            spec.insert(k.into(), v);
        }
    };
    put(
        "description",
        json!(def.description),
        !def.description.is_empty(),
    );
    put(
        "maintainer",
        json!(def.maintainer),
        !def.maintainer.is_empty(),
    );
    put(
        "prerequisites",
        json!(def.prerequisites),
        !def.prerequisites.is_empty(),
    );
    put("keywords", json!(def.keywords), !def.keywords.is_empty());
    let params: Vec<Value> = def
        .parameters
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("name".into(), json!(p.name));
            m.insert("type".into(), json!(p.kind.as_str()));
            if p.required {
                m.insert("required".into(), json!(true));
            }
            if let Some(d) = &p.default {
                m.insert("default".into(), d.clone());
            }
            if !p.allowed.is_empty() {
                m.insert("enum".into(), json!(p.allowed));
            }
            if let Some(x) = &p.pattern {
                m.insert("pattern".into(), json!(x));
            }
            if let Some(x) = p.minimum {
                m.insert("minimum".into(), json!(x));
            }
            if let Some(x) = p.maximum {
                m.insert("maximum".into(), json!(x));
            }
            if !p.description.is_empty() {
                m.insert("description".into(), json!(p.description));
            }
            Value::Object(m)
        })
        .collect();
    put(
        "parameters",
        Value::Array(params.clone()),
        !params.is_empty(),
    );
    put("presets", json!(def.presets), !def.presets.is_empty());
    let artifacts: Vec<Value> = def
        .artifacts
        .iter()
        .map(|a| {
            let mut m = Map::new();
            m.insert("name".into(), json!(a.name));
            match &a.kind {
                ArtifactKind::Chart {
                    chart,
                    default_values,
                    release,
                } => {
                    let mut c = match chart {
                        Chart::Local { path } => json!({"path": path}),
                        Chart::Remote { url, name, version } => {
                            json!({"url": url, "name": name, "version": version})
                        }
                    };
                    if let (Some(v), Some(o)) = (default_values, c.as_object_mut()) {
                        o.insert("defaultValues".into(), json!(v));
                    }
                    if let (false, Some(o)) = (release.is_empty(), c.as_object_mut()) {
                        o.insert("release".into(), Value::Object(release.fields.clone()));
                    }
                    m.insert("chart".into(), c);
                }
                ArtifactKind::Kustomize { path } => {
                    m.insert("kustomize".into(), json!({"path": path}));
                }
                ArtifactKind::Profile { source, with } => {
                    let mut s = Map::new();
                    for (k, v) in [
                        ("url", &source.url),
                        ("tag", &source.tag),
                        ("branch", &source.branch),
                        ("version", &source.version),
                    ] {
                        if let Some(v) = v {
                            s.insert(k.into(), json!(v));
                        }
                    }
                    s.insert("path".into(), json!(source.path));
                    let mut p = Map::new();
                    p.insert("source".into(), Value::Object(s));
                    if !with.is_empty() {
                        p.insert("with".into(), Value::Object(with.clone()));
                    }
                    m.insert("profile".into(), Value::Object(p));
                }
            }
            if a.template {
                m.insert("template".into(), json!(true));
            }
            if !a.depends_on.is_empty() {
                let d: Vec<Value> = a.depends_on.iter().map(|n| json!({"name": n})).collect();
                m.insert("dependsOn".into(), Value::Array(d));
            }
            Value::Object(m)
        })
        .collect();
    spec.insert("artifacts".into(), Value::Array(artifacts));
    json!({
        "apiVersion": crate::model::API_VERSION,
        "kind": crate::model::KIND,
        "metadata": {"name": def.name},
        "spec": spec,
    })
}

/// A deterministic `.tar.gz` of `files` under the directory `top`: entries sorted,
/// regular files only, mode 0644, owner 0:0, modification time 0.
pub fn pack(top: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (rel, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(bytes.len() as u64);
        tar.append_data(&mut h, format!("{top}/{rel}"), bytes.as_slice())
            .with_context(|| format!("cannot add {rel} to the bundle"))?;
    }
    let gz = tar.into_inner().context("cannot finish the bundle")?;
    gz.finish().context("cannot compress the bundle")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            (MANIFEST.to_string(), b"a: 1\n".to_vec()),
            ("web/profile.yaml".to_string(), b"x\n".to_vec()),
            (format!("web/{}/deep.yaml", "d".repeat(120)), vec![0, 1, 2]),
        ])
    }

    #[test]
    fn packing_is_deterministic_and_round_trips() {
        let a = pack("web-1.0.0", &files()).unwrap();
        let b = pack("web-1.0.0", &files()).unwrap();
        assert_eq!(a, b);
        let (top, back) = unpack("b.tar.gz", a.as_slice()).unwrap();
        assert_eq!(top, "web-1.0.0");
        assert_eq!(back, files());
    }

    #[test]
    fn nested_sources_are_rewritten() {
        let text = "apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: gateway
spec:
  artifacts:
    - name: traefik
      chart:
        url: https://t
        name: traefik
        version: '1'
        release: {releaseName: traefik, targetNamespace: edge, install: {remediation: {retries: 3}}}
    - name: dns
      profile:
        source: {url: https://git.example.com/addons.git, tag: external-dns/v0.15.0}
        with: {domain: x}
    - name: 'on'
      chart: {url: https://o, name: o, version: 1.10}
";
        let out = rewrite_nested(
            "p",
            text,
            &BTreeMap::from([(
                "dns".to_string(),
                NewSource {
                    path: "vendor/addons/external-dns".into(),
                    tag: Some("vendor/addons/external-dns/v0.15.0".into()),
                },
            )]),
        )
        .unwrap();
        let (def, _) = crate::model::parse("p", &out, None).unwrap();
        match &def.artifacts[1].kind {
            crate::model::ArtifactKind::Profile { source, with } => {
                assert_eq!(source.url, None);
                assert_eq!(source.path, "vendor/addons/external-dns");
                assert_eq!(
                    source.tag.as_deref(),
                    Some("vendor/addons/external-dns/v0.15.0")
                );
                assert_eq!(with["domain"], "x");
            }
            k => panic!("{k:?}"),
        }
        // Nothing is retyped or lost on the way (chart.release included): the
        // definition reads the same.
        let (before, _) = crate::model::parse("p", text, None).unwrap();
        assert!(out.contains("releaseName: traefik"), "{out}");
        assert_eq!(def.artifacts[0], before.artifacts[0]);
        assert_eq!(def.artifacts[2], before.artifacts[2]);
        let legacy = "apiVersion: profiles.fluxcd.io/v1alpha1
kind: Profile
metadata:
  name: l
spec:
  artifacts:
    - name: nested
      kind: Profile
      url: https://x/y.git
      path: z
";
        let out = rewrite_nested(
            "p",
            legacy,
            &BTreeMap::from([(
                "nested".to_string(),
                NewSource {
                    path: "vendor/y/z".into(),
                    tag: None,
                },
            )]),
        )
        .unwrap();
        let (def, _) = crate::model::parse("p", &out, None).unwrap();
        assert!(
            matches!(&def.artifacts[0].kind, crate::model::ArtifactKind::Profile { source, .. } if source.path == "vendor/y/z" && source.url.is_none())
        );
    }

    #[test]
    fn vendor_directories_are_unique() {
        let mut taken = BTreeSet::new();
        let a = vendor_dir("https://git.example.com/addons.git", "abcdef1234", &taken);
        assert_eq!(a, "vendor/addons");
        taken.insert(a);
        assert_eq!(
            vendor_dir("git@host:org/addons", "0123456789", &taken),
            "vendor/addons-01234567"
        );
        assert_eq!(version_tag("", "1.0.0"), "v1.0.0");
        assert_eq!(version_tag("a/b", "1.0.0"), "a/b/v1.0.0");
    }
}
