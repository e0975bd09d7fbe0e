//! The serde form of `profile.yaml` as written: the current `ProfileDefinition`
//! schema and the legacy `profiles.fluxcd.io` one. Unknown fields are refused here;
//! [`super::schema`] reads the same structs to tell lint every known field.
use crate::yaml::{Map, Value};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
pub(super) struct Header {
    #[serde(rename = "apiVersion", default)]
    pub(super) api_version: Option<String>,
    #[serde(default)]
    pub(super) kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawDefinition {
    #[allow(dead_code)]
    pub(super) api_version: String,
    #[allow(dead_code)]
    pub(super) kind: String,
    pub(super) metadata: RawMetadata,
    pub(super) spec: RawSpec,
}

#[derive(Deserialize)]
pub(super) struct RawMetadata {
    #[serde(default)]
    pub(super) name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawSpec {
    /// Legacy field of Weaveworks profiles; ignored when it equals metadata.name.
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) maintainer: Option<String>,
    #[serde(default)]
    pub(super) prerequisites: Vec<String>,
    #[serde(default)]
    pub(super) keywords: Vec<String>,
    #[serde(default)]
    pub(super) parameters: Vec<RawParameter>,
    #[serde(default)]
    pub(super) presets: BTreeMap<String, Map>,
    #[serde(default)]
    pub(super) artifacts: Vec<RawArtifact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawParameter {
    pub(super) name: String,
    #[serde(rename = "type", default)]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) required: bool,
    #[serde(default)]
    pub(super) default: Option<Value>,
    #[serde(rename = "enum", default)]
    pub(super) allowed: Vec<Value>,
    #[serde(default)]
    pub(super) pattern: Option<String>,
    #[serde(default)]
    pub(super) minimum: Option<f64>,
    #[serde(default)]
    pub(super) maximum: Option<f64>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) multiline: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawArtifact {
    pub(super) name: String,
    #[serde(default)]
    pub(super) chart: Option<RawChart>,
    #[serde(default)]
    pub(super) kustomize: Option<RawKustomize>,
    #[serde(default)]
    pub(super) profile: Option<RawProfileRef>,
    #[serde(default)]
    pub(super) depends_on: Vec<RawDependsOn>,
    #[serde(default)]
    pub(super) template: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawChart {
    #[serde(default)]
    pub(super) path: Option<String>,
    #[serde(default)]
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) version: Option<String>,
    #[serde(default)]
    pub(super) default_values: Option<String>,
    #[serde(default)]
    pub(super) release: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKustomize {
    pub(super) path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfileRef {
    pub(super) source: RawNestedSource,
    #[serde(default)]
    pub(super) with: Map,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNestedSource {
    #[serde(default)]
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) tag: Option<String>,
    #[serde(default)]
    pub(super) branch: Option<String>,
    #[serde(default)]
    pub(super) version: Option<String>,
    #[serde(default)]
    pub(super) path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDependsOn {
    pub(super) name: String,
}

// Legacy schema: profiles.fluxcd.io/v1alpha1, kind Profile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct LegacyDefinition {
    #[allow(dead_code)]
    pub(super) api_version: String,
    #[allow(dead_code)]
    pub(super) kind: String,
    pub(super) metadata: RawMetadata,
    pub(super) spec: LegacySpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct LegacySpec {
    #[serde(default)]
    pub(super) name: Option<String>,
    /// Informational in the legacy schema; versions come from Git tags.
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) version: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) maintainer: Option<String>,
    #[serde(default)]
    pub(super) prerequisites: Vec<String>,
    #[serde(default)]
    pub(super) artifacts: Vec<LegacyArtifact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct LegacyArtifact {
    pub(super) name: String,
    pub(super) kind: String,
    #[serde(default)]
    pub(super) path: Option<String>,
    #[serde(default)]
    pub(super) url: Option<String>,
    /// Weaveworks pctl: `chart: {url, name, version}`; a bare name (with `url` and
    /// `version` beside it) is read too.
    #[serde(default)]
    pub(super) chart: Option<LegacyChartRef>,
    #[serde(default)]
    pub(super) version: Option<String>,
    #[serde(default)]
    pub(super) default_values: Option<String>,
    /// Weaveworks pctl: `profile: {url, version: DIR/vX.Y.Z}` or
    /// `profile: {url, branch, path}`; the current `profile: {source: …}` too.
    #[serde(default)]
    pub(super) profile: Option<LegacyProfileRef>,
    #[serde(default)]
    pub(super) depends_on: Vec<RawDependsOn>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum LegacyChartRef {
    Name(String),
    Spec(LegacyChart),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct LegacyChart {
    #[serde(default)]
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) version: Option<String>,
    #[serde(default)]
    pub(super) default_values: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum LegacyProfileRef {
    Current(RawProfileRef),
    Legacy(LegacyProfile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LegacyProfile {
    #[serde(default)]
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) branch: Option<String>,
    #[serde(default)]
    pub(super) path: Option<String>,
    /// The profile's Git tag (`nested-nginx-2/v0.0.1`), as Weaveworks pctl read it.
    #[serde(default)]
    pub(super) version: Option<String>,
}
