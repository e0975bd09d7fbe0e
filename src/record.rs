//! `profile-installation.yaml`: the record and lock of one installation
//! (docs/layout.md#the-record-profile-installationyaml).
use crate::yaml::{self, Value};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FILE: &str = "profile-installation.yaml";
pub const API_VERSION: &str = "pctl.dev/v1alpha1";
pub const KIND: &str = "ProfileInstallation";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Namespace the workloads are installed into.
    pub namespace: String,
    /// How namespaces are set (docs/security.md#trust-model); absent in records written before pctl kept
    /// explicit namespaces, which are rendered again as they were (`targetNamespace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NamespaceRecord>,
    /// Where the installation's Flux objects live when not under pctl's own layout
    /// (docs/commands.md#pctl-migrate-name): absent for every installation but
    /// one migrated from Weaveworks pctl, which keeps its old objects' namespace and
    /// names so that Flux updates them in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux_objects: Option<FluxObjects>,
    /// Repository-relative directory of the installation.
    pub path: String,
    /// The installed profile's name (metadata.name of its definition).
    pub profile: String,
    pub source: SourceRecord,
    /// Nested profiles, in resolution order, keyed by artifact id path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<NestedRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartRecord>,
    /// Non-secret values with the level they came from.
    #[serde(default)]
    pub values: BTreeMap<String, ValueRecord>,
    /// Names of the secret parameters that were given a value or a `--secret-ref`
    /// (never their values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Secret parameters read from a Secret the user creates: key -> `SECRET/KEY`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_refs: BTreeMap<String, String>,
    /// The preset applied (`--preset`), applied again on upgrade and sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_profiles: Vec<String>,
    /// SHA-256 of every file pctl generated, by path relative to the installation.
    pub files: BTreeMap<String, String>,
    /// Artifacts whose files are stored once for several clusters (docs/fleets.md), by
    /// artifact id: [`crate::gitops::bases::physical`] maps a path of `files` to where
    /// its bytes are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bases: BTreeMap<String, BaseRecord>,
    pub generated_by: String,
}

/// Where the shared files of one artifact are
/// (docs/fleets.md#one-install-several-clusters-one-copy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseRecord {
    /// The repository directory standing for `artifacts/<id>/`.
    pub path: String,
    /// What is there: every file of the artifact but its wrapper, or its chart only.
    pub holds: Holds,
    /// The artifact's wrapper is the same in every cluster too, and stored once beside
    /// the base, in `<path>.flux/` (with a `kustomization.yaml` naming it): each
    /// cluster's `kustomization.yaml` names that directory instead of a wrapper of its
    /// own ([`crate::gitops::bases::wrapper_dir`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wrapper: bool,
}

/// What a base holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Holds {
    /// Every file of `artifacts/<id>/` except the wrapper `kustomize-flux.yaml`.
    Artifact,
    /// The copied local chart, `artifacts/<id>/chart/`.
    Chart,
}

/// Where a profile came from, as requested and as resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SourceRecord {
    pub url: String,
    /// Directory of the profile in the repository ("" = root).
    #[serde(default)]
    pub path: String,
    /// What was asked for: a constraint, tag, branch or commit (absent = default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The resolved version, when the commit is a version tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The tag or branch that was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The commit the files came from (absent for an uncommitted directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// True when files came from a work tree with uncommitted changes (--allow-dirty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dirty: bool,
    /// `CATALOG/PROFILE` when installed from a catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// The channel allowed besides stable (`--channel`), used again by `outdated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// The install namespace's creation (docs/layout.md#namespaces).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceRecord {
    /// `--create-namespace` as given (kept by upgrade and sync).
    pub create: bool,
    /// Whether this installation creates the namespace (false when the rest of the
    /// repository or the profile itself already does, or with `create: false`).
    pub created: bool,
}

/// The namespace and names of an installation's Flux objects (wrapper Kustomizations,
/// HelmReleases, their sources and chart Secrets) when they are not pctl's own
/// (the GitRepository's namespace, `<NAME>-<artifact id>`): kept by upgrade and sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FluxObjects {
    /// Namespace of the Flux objects of every artifact (the namespace artifact's
    /// wrapper, which has no old counterpart, stays in the GitRepository's).
    pub namespace: String,
    /// Object names by artifact id, where they differ from `<NAME>-<artifact id>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NestedRecord {
    /// Artifact id of the nested profile (joined nesting path).
    pub artifact: String,
    pub profile: String,
    pub source: SourceRecord,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartRecord {
    pub artifact: String,
    /// Repository URL (https:// or oci://), or "local" for a chart copied in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub name: String,
    /// The version or range written to the HelmRelease (Flux resolves ranges).
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueRecord {
    pub value: Value,
    pub source: String,
}

impl Installation {
    pub fn to_yaml(&self) -> Result<String> {
        let mut s = String::from(
            "# Written by pctl: the record and lock of this installation. Flux does not apply it.\n",
        );
        s.push_str(&yaml::to_string(self)?);
        Ok(s)
    }

    pub fn from_yaml(origin: &str, text: &str) -> Result<Self> {
        yaml::from_str(origin, text)
    }

    /// The version to show: the resolved version, else the reference, else a short commit.
    pub fn version_label(&self) -> String {
        self.spec.source.label()
    }
}

/// `spec.bases` of a record laid out as pctl writes it (a `  bases:` line and the
/// lines indented below it), parsing that block only; None for any other layout (or
/// no bases), which then needs [`Installation::from_yaml`]. The ownership scan of every
/// cluster of a fleet asks this of each record it reaches.
pub fn quick_bases(origin: &str, text: &str) -> Option<BTreeMap<String, BaseRecord>> {
    #[derive(Deserialize)]
    struct Block {
        bases: BTreeMap<String, BaseRecord>,
    }
    let start = text.find("\n  bases:\n")? + 1;
    let mut block = String::new();
    for (i, line) in text[start..].lines().enumerate() {
        if i > 0 && !line.starts_with("    ") {
            break;
        }
        block.push_str(line.strip_prefix("  ")?);
        block.push('\n');
    }
    thread_local! {
        /// Blocks read already, by their text: every cluster's record of one fleet
        /// install has the same block.
        static READ: std::cell::RefCell<foldhash::HashMap<String, Option<BTreeMap<String, BaseRecord>>>> =
            Default::default();
    }
    if let Some(known) = READ.with(|r| r.borrow().get(&block).cloned()) {
        return known;
    }
    let bases = yaml::from_str::<Block>(origin, &block)
        .ok()
        .map(|b| b.bases);
    READ.with(|r| r.borrow_mut().insert(block, bases.clone()));
    bases
}

/// `metadata.name` of a record laid out as pctl writes it (a `metadata:` line, then
/// `  name: NAME` with a DNS-1123 NAME), without parsing the rest; None for any other
/// layout, which then needs [`Installation::from_yaml`].
pub fn quick_name(text: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|l| *l != "metadata:");
    lines.next()?;
    let name = lines.next()?.strip_prefix("  name: ")?;
    crate::names::is_dns1123_label(name).then(|| name.to_string())
}

impl SourceRecord {
    pub fn label(&self) -> String {
        if let Some(v) = &self.version {
            return v.clone();
        }
        if let Some(r) = &self.reference {
            return r.clone();
        }
        match &self.commit {
            Some(c) => c.chars().take(12).collect(),
            None => "dirty".into(),
        }
    }

    /// URL with `//path` when the profile is in a subdirectory.
    pub fn display(&self) -> String {
        if self.path.is_empty() {
            self.url.clone()
        } else {
            format!("{}//{}", self.url, self.path)
        }
    }
}

/// SHA-256 in lowercase hex (without a `format!` per byte: an upgrade of 500
/// installations hashes some 10,000 files, and the formatting cost more than the hash).
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    /// Small contents hashed already, by their bytes: a fleet install hashes the same
    /// wrappers and kustomizations once for every cluster. At most `KEPT` bytes of
    /// contents are kept.
    const SMALL: usize = 4096;
    const KEPT: usize = 8 << 20;
    thread_local! {
        static SMALL_SUMS: std::cell::RefCell<(usize, foldhash::HashMap<Vec<u8>, String>)> =
            Default::default();
    }
    if bytes.len() > SMALL {
        return hex(&sha2::Sha256::digest(bytes));
    }
    if let Some(sum) = SMALL_SUMS.with(|m| m.borrow().1.get(bytes).cloned()) {
        return sum;
    }
    let sum = hex(&sha2::Sha256::digest(bytes));
    SMALL_SUMS.with(|m| {
        let (kept, sums) = &mut *m.borrow_mut();
        if *kept + bytes.len() <= KEPT {
            *kept += bytes.len();
            sums.insert(bytes.to_vec(), sum.clone());
        }
    });
    sum
}

/// Lower-case hex digits of `bytes` (a `format!` per byte was most of the cost of
/// hashing a rendering's small files).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_lowercase_hex_of_the_digest() {
        assert_eq!(
            sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn quick_name_reads_what_to_yaml_writes_and_nothing_else() {
        let text = "apiVersion: pctl.dev/v1alpha1\nkind: ProfileInstallation\nmetadata: {name: web-1}\nspec:\n  namespace: default\n  path: p/web-1\n  profile: web\n  source: {url: 'file:///r'}\n  files: {}\n  generatedBy: pctl\n";
        let inst = Installation::from_yaml("t", text).unwrap();
        assert_eq!(quick_name(text), None, "flow mappings need the full parse");
        let written = inst.to_yaml().unwrap();
        assert_eq!(quick_name(&written).as_deref(), Some("web-1"), "{written}");
        assert_eq!(quick_name("metadata:\n  name: \"quoted\"\n"), None);
        assert_eq!(quick_name("metadata:\n  labels: {}\n  name: x\n"), None);
        assert_eq!(quick_name("kind: X\n"), None);
    }

    #[test]
    fn quick_bases_reads_what_to_yaml_writes() {
        let text = "apiVersion: pctl.dev/v1alpha1\nkind: ProfileInstallation\nmetadata: {name: web}\nspec:\n  namespace: default\n  path: c/a/web\n  profile: web\n  source: {url: 'file:///r'}\n  files: {}\n  generatedBy: pctl\n";
        let mut inst = Installation::from_yaml("t", text).unwrap();
        assert_eq!(quick_bases("t", &inst.to_yaml().unwrap()), None);
        for (id, holds, wrapper) in [("app", Holds::Chart, false), ("raw", Holds::Artifact, true)] {
            inst.spec.bases.insert(
                id.into(),
                BaseRecord {
                    path: format!("bases/web/1.0.0/{id}"),
                    holds,
                    wrapper,
                },
            );
        }
        let written = inst.to_yaml().unwrap();
        assert_eq!(
            quick_bases("t", &written),
            Some(inst.spec.bases),
            "{written}"
        );
    }
}
