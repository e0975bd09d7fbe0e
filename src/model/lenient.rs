//! The model read leniently, for `pctl lint`: a document already checked against
//! [`super::schema`] (unknown fields and wrong shapes taken out) is converted item by
//! item with the same conversions install uses, and every item that fails is a
//! problem at its path; what converted still makes a definition, so that lint checks
//! paths, nested profiles and templates even when profile.yaml has errors.
use super::convert::{convert_artifact, convert_parameter};
use super::raw::{RawArtifact, RawParameter};
use super::*;

/// What a lenient read found.
pub struct Lenient {
    /// Every item that converted (duplicates and bad references included: the
    /// caller reports them with their lines).
    pub def: ProfileDefinition,
    /// The items that did not convert: the path of the field (`spec.artifacts[2].chart`)
    /// and why.
    pub problems: Vec<(String, anyhow::Error)>,
    /// Each item of `spec.parameters`, converted when it could be.
    pub parameters: Vec<Option<Parameter>>,
    /// Each item of `spec.artifacts`, converted when it could be.
    pub artifacts: Vec<Option<Artifact>>,
}

/// Convert the checked document `doc` (see the module's comment).
pub fn read(origin: &str, doc: &Map) -> Lenient {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let texts = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let items = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let empty = Map::new();
    let spec = doc.get("spec").and_then(Value::as_object).unwrap_or(&empty);
    let mut problems = Vec::new();
    let mut parameters = Vec::new();
    for (i, item) in items(spec.get("parameters")).into_iter().enumerate() {
        let p = serde_json::from_value::<RawParameter>(item)
            .ok()
            .and_then(|raw| match convert_parameter(origin, raw) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.push((format!("spec.parameters[{i}].type"), e));
                    None
                }
            });
        parameters.push(p);
    }
    let mut artifacts = Vec::new();
    for (i, item) in items(spec.get("artifacts")).into_iter().enumerate() {
        let a = serde_json::from_value::<RawArtifact>(item)
            .ok()
            .and_then(|raw| match convert_artifact(origin, raw) {
                Ok(a) => Some(a),
                Err((field, e)) => {
                    problems.push((format!("spec.artifacts[{i}]{field}"), e));
                    None
                }
            });
        artifacts.push(a);
    }
    let presets = spec
        .get("presets")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_object()?.clone())))
                .collect()
        })
        .unwrap_or_default();
    let def = ProfileDefinition {
        name: text(doc.get("metadata").and_then(|m| m.get("name"))),
        description: text(spec.get("description")),
        maintainer: text(spec.get("maintainer")),
        prerequisites: texts(spec.get("prerequisites")),
        keywords: texts(spec.get("keywords")),
        parameters: parameters.iter().flatten().cloned().collect(),
        presets,
        artifacts: artifacts.iter().flatten().cloned().collect(),
    };
    Lenient {
        def,
        problems,
        parameters,
        artifacts,
    }
}
