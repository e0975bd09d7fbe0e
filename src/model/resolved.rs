//! The resolved profile tree (what `resolve` produces and `render` reads): every
//! definition of an installation with the files its artifacts use, as plain data.
use super::ProfileDefinition;
use crate::record::SourceRecord;
use crate::yaml::Map;
use std::collections::BTreeMap;

/// A profile with everything it needs, nested profiles resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub def: ProfileDefinition,
    pub source: SourceRecord,
    pub artifacts: Vec<ResolvedArtifact>,
}

#[derive(Debug, Clone)]
pub struct ResolvedArtifact {
    pub name: String,
    pub depends_on: Vec<String>,
    pub template: bool,
    pub kind: ResolvedKind,
}

#[derive(Debug, Clone)]
pub enum ResolvedKind {
    RemoteChart {
        url: String,
        name: String,
        version: String,
        default_values: Option<String>,
        release: super::Release,
    },
    /// A chart directory: its files relative to the chart root, byte for byte.
    LocalChart {
        name: String,
        files: BTreeMap<String, Vec<u8>>,
        default_values: Option<String>,
        release: super::Release,
    },
    /// Raw YAML or a kustomization directory: files relative to the artifact path.
    Kustomize {
        files: BTreeMap<String, Vec<u8>>,
    },
    Profile {
        profile: Box<Resolved>,
        with: Map,
    },
}
