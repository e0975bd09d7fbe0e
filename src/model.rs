//! The profile model (docs/profile-reference.md): `profile.yaml` in the Weaveworks
//! `ProfileDefinition` schema, the legacy `profiles.fluxcd.io/v1alpha1` schema
//! converted to it, and the rules one definition must satisfy on its own.
use crate::yaml::{self, Map, Value};
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};

mod convert;
pub mod lenient;
mod raw;
pub mod release;
pub mod resolved;
pub mod rules;
pub mod schema;
pub mod validate;

pub use convert::field_hint;
use convert::{convert, convert_legacy, schema_error};
use raw::*;
pub use validate::validate;

pub use release::Release;

pub const API_VERSION: &str = "weave.works/v1alpha1";
pub const KIND: &str = "ProfileDefinition";
pub const LEGACY_API_VERSION: &str = "profiles.fluxcd.io/v1alpha1";
/// The same legacy schema under the group a branch of Weaveworks'
/// profiles-examples (`fix_api_version`) publishes it with.
pub const LEGACY_API_VERSION_PACKAGES: &str = "packages.weave.works/v1alpha1";

/// Whether `api` is one of the legacy schema's apiVersions.
pub fn is_legacy_api_version(api: &str) -> bool {
    api == LEGACY_API_VERSION || api == LEGACY_API_VERSION_PACKAGES
}
pub const LEGACY_KIND: &str = "Profile";

/// A parsed and checked profile definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileDefinition {
    pub name: String,
    pub description: String,
    pub maintainer: String,
    pub prerequisites: Vec<String>,
    pub keywords: Vec<String>,
    pub parameters: Vec<Parameter>,
    pub presets: BTreeMap<String, Map>,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub name: String,
    pub kind: ArtifactKind,
    pub depends_on: Vec<String>,
    /// Render the artifact's YAML files with Tera.
    pub template: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactKind {
    Chart {
        chart: Chart,
        default_values: Option<String>,
        /// HelmRelease settings (`chart.release`); empty: pctl's defaults.
        release: Release,
    },
    Kustomize {
        path: String,
    },
    Profile {
        source: NestedSource,
        with: Map,
    },
}

impl ArtifactKind {
    pub fn label(&self) -> &'static str {
        match self {
            ArtifactKind::Chart {
                chart: Chart::Local { .. },
                ..
            } => "local chart",
            ArtifactKind::Chart { .. } => "chart",
            ArtifactKind::Kustomize { .. } => "kustomize",
            ArtifactKind::Profile { .. } => "profile",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// A chart directory inside the profile.
    Local { path: String },
    /// A chart from a Helm repository (`https://…`) or an OCI registry (`oci://…`).
    Remote {
        url: String,
        name: String,
        version: String,
    },
}

/// Where a nested profile comes from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NestedSource {
    /// None: the same repository as the parent.
    pub url: Option<String>,
    pub tag: Option<String>,
    pub branch: Option<String>,
    pub version: Option<String>,
    /// Directory of the profile inside its repository (from the repository root).
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Enum,
    Secret,
    Object,
}

impl ParamType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Enum => "enum",
            ParamType::Secret => "secret",
            ParamType::Object => "object",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub kind: ParamType,
    pub required: bool,
    pub default: Option<Value>,
    pub allowed: Vec<Value>,
    pub pattern: Option<String>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub description: String,
    /// A string value may hold newlines and tabs (docs/security.md#trust-model); it still cannot change
    /// the structure of the YAML it is printed into.
    pub multiline: bool,
}

/// Something worth telling the user that does not stop the read.
pub type Warnings = Vec<String>;

// ---------------------------------------------------------------- parsing

/// Parse `profile.yaml`. `origin` names the file in messages (for example
/// `https://github.com/org/profiles//nginx/profile.yaml@nginx/v1.0.0`); `dir_name` is
/// the name of the directory holding it, when there is one.
pub fn parse(
    origin: &str,
    text: &str,
    dir_name: Option<&str>,
) -> Result<(ProfileDefinition, Warnings)> {
    let header: Header = yaml::from_str(origin, text)?;
    let api = header.api_version.unwrap_or_default();
    let kind = header.kind.unwrap_or_default();
    let mut warnings = Warnings::new();
    let (metadata_name, spec_name, def) = match (api.as_str(), kind.as_str()) {
        (API_VERSION, KIND) => {
            let mut raw: RawDefinition =
                serde_saphyr::from_str(text).map_err(|e| schema_error(origin, &e.to_string()))?;
            author_reading(origin, text, &mut raw.spec)?;
            let name = raw.metadata.name.clone().unwrap_or_default();
            let spec_name = raw.spec.name.clone();
            (name.clone(), spec_name, convert(origin, name, raw.spec)?)
        }
        (legacy, LEGACY_KIND) if is_legacy_api_version(legacy) => {
            let raw: LegacyDefinition =
                serde_saphyr::from_str(text).map_err(|e| schema_error(origin, &e.to_string()))?;
            warnings.push(format!(
                "{origin}: {legacy} {LEGACY_KIND} is the legacy schema; read as {API_VERSION} {KIND} (run `pctl lint` to see the converted form)"
            ));
            let name = raw.metadata.name.clone().unwrap_or_default();
            let spec_name = raw.spec.name.clone();
            (
                name.clone(),
                spec_name,
                convert_legacy(origin, name, raw.spec)?,
            )
        }
        _ => {
            bail!(crate::error::user(
                format!("{origin}: not a profile definition (apiVersion {api:?}, kind {kind:?})"),
                format!(
                    "a profile.yaml starts with `apiVersion: {API_VERSION}` and `kind: {KIND}`"
                ),
            ))
        }
    };
    if metadata_name.is_empty() {
        bail!(crate::error::user(
            format!("{origin}: metadata.name is missing"),
            "give the profile a DNS-1123 name, usually its directory name",
        ));
    }
    if !crate::names::is_dns1123_label(&metadata_name) {
        bail!(crate::error::user(
            format!("{origin}: metadata.name {metadata_name:?} is not a DNS-1123 label"),
            "use lower-case letters, digits and '-', at most 63 characters",
        ));
    }
    if let Some(spec_name) = spec_name {
        if spec_name == metadata_name {
            warnings.push(format!(
                "{origin}: spec.name is a legacy field and is ignored"
            ));
        } else {
            bail!(crate::error::user(
                format!(
                    "{origin}: spec.name {spec_name:?} differs from metadata.name {metadata_name:?}"
                ),
                "remove spec.name: metadata.name names the profile",
            ));
        }
    }
    if let Some(dir) = dir_name
        && !dir.is_empty()
        && dir != metadata_name
    {
        warnings.push(format!(
            "{origin}: metadata.name {metadata_name:?} differs from its directory {dir:?}"
        ));
    }
    validate(origin, &def)?;
    warnings.extend(rules::warnings(origin, &def));
    Ok((def, warnings))
}

/// The line of the first error serde finds reading `text` in its schema (current or
/// legacy, by its header): an unknown field, a value of the wrong type. From the
/// parser's own location; None when it reads or is not a profile definition.
pub fn schema_error_line(text: &str) -> Option<usize> {
    let header: Header = serde_saphyr::from_str(text).ok()?;
    let api = header.api_version.unwrap_or_default();
    let kind = header.kind.unwrap_or_default();
    let err = match (api.as_str(), kind.as_str()) {
        (API_VERSION, KIND) => serde_saphyr::from_str::<RawDefinition>(text).err()?,
        (legacy, LEGACY_KIND) if is_legacy_api_version(legacy) => {
            serde_saphyr::from_str::<LegacyDefinition>(text).err()?
        }
        _ => return None,
    };
    err.location().map(|l| l.line() as usize)
}

/// Defaults, `enum` values, presets and `with` bindings read the way the author of
/// profile.yaml reads them: a plain scalar that YAML 1.1 and 1.2 readers disagree
/// about (`y`, `0755`, `1:30`) is the text as written (a typed parameter then
/// coerces the text as it does `--set` text), and every plain `enum` value is text
/// (`enum: [x, y]` is "x" and "y", `[1.10, 1.20]` "1.10" and "1.20"). The
/// default and presets of an `object` parameter are chart values: read as Helm
/// reads a values.yaml.
fn author_reading(origin: &str, text: &str, spec: &mut RawSpec) -> Result<()> {
    use yaml::scalar::Reading;
    // One parse, read three ways. Helm's reading can fail anywhere in the document (a
    // number it cannot pass on, a key it cannot read), so it reads the whole document
    // as before; the author's and the text reading cannot fail, so each reads only
    // the parts looked up below.
    let doc = yaml::scalar::parse(origin, text)?;
    let helm = doc.value(Reading::Helm)?;
    let at = |v: &Value, path: &[&str]| -> Option<Value> {
        let mut cur = v;
        for p in path {
            cur = match cur {
                Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
                _ => cur.get(*p)?,
            };
        }
        Some(cur.clone())
    };
    let mut objects = BTreeSet::new();
    for (i, p) in spec.parameters.iter_mut().enumerate() {
        let i = i.to_string();
        let object = p.kind.as_deref() == Some("object");
        if object {
            objects.insert(p.name.clone());
        }
        let path = ["spec", "parameters", &i, "default"];
        if p.default.is_some() {
            p.default = match object {
                true => at(&helm, &path),
                false => doc.value_at(Reading::Author, &path)?,
            };
        }
        // An author writing an enum list means strings: `[x, y]`, `[1.10, 1.20]`.
        if let Some(Value::Array(items)) =
            doc.value_at(Reading::Text, &["spec", "parameters", &i, "enum"])?
        {
            p.allowed = items;
        }
    }
    for (name, set) in spec.presets.iter_mut() {
        for (k, v) in set.iter_mut() {
            let path = ["spec", "presets", name, k];
            let x = match objects.contains(k) {
                true => at(&helm, &path),
                false => doc.value_at(Reading::Author, &path)?,
            };
            if let Some(x) = x {
                *v = x;
            }
        }
    }
    for (i, a) in spec.artifacts.iter_mut().enumerate() {
        if let Some(p) = a.profile.as_mut()
            && let Some(Value::Object(with)) = doc.value_at(
                Reading::Author,
                &["spec", "artifacts", &i.to_string(), "profile", "with"],
            )?
        {
            p.with = with;
        }
    }
    Ok(())
}

/// A schema error from serde with a "did you mean" hint for unknown fields.
#[cfg(test)]
mod tests;
