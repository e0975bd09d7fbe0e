//! The profile model (docs/profile-reference.md): `profile.yaml` in the Weaveworks
//! `ProfileDefinition` schema, the legacy `profiles.fluxcd.io/v1alpha1` schema
//! converted to it, and the rules one definition must satisfy on its own.
use crate::yaml::{self, Map, Value};
use anyhow::{Result, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

pub mod release;
pub mod rules;

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

// ---------------------------------------------------------------- raw schema

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawDefinition {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: RawMetadata,
    spec: RawSpec,
}

#[derive(Deserialize)]
struct RawMetadata {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    /// Legacy field of Weaveworks profiles; ignored when it equals metadata.name.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    maintainer: Option<String>,
    #[serde(default)]
    prerequisites: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    parameters: Vec<RawParameter>,
    #[serde(default)]
    presets: BTreeMap<String, Map>,
    #[serde(default)]
    artifacts: Vec<RawArtifact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawParameter {
    name: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    default: Option<Value>,
    #[serde(rename = "enum", default)]
    allowed: Vec<Value>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    minimum: Option<f64>,
    #[serde(default)]
    maximum: Option<f64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    multiline: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawArtifact {
    name: String,
    #[serde(default)]
    chart: Option<RawChart>,
    #[serde(default)]
    kustomize: Option<RawKustomize>,
    #[serde(default)]
    profile: Option<RawProfileRef>,
    #[serde(default)]
    depends_on: Vec<RawDependsOn>,
    #[serde(default)]
    template: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawChart {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    default_values: Option<String>,
    #[serde(default)]
    release: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKustomize {
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfileRef {
    source: RawNestedSource,
    #[serde(default)]
    with: Map,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNestedSource {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDependsOn {
    name: String,
}

// Legacy schema: profiles.fluxcd.io/v1alpha1, kind Profile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LegacyDefinition {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: RawMetadata,
    spec: LegacySpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LegacySpec {
    #[serde(default)]
    name: Option<String>,
    /// Informational in the legacy schema; versions come from Git tags.
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    maintainer: Option<String>,
    #[serde(default)]
    prerequisites: Vec<String>,
    #[serde(default)]
    artifacts: Vec<LegacyArtifact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LegacyArtifact {
    name: String,
    kind: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    /// Weaveworks pctl: `chart: {url, name, version}`; a bare name (with `url` and
    /// `version` beside it) is read too.
    #[serde(default)]
    chart: Option<LegacyChartRef>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    default_values: Option<String>,
    /// Weaveworks pctl: `profile: {url, version: DIR/vX.Y.Z}` or
    /// `profile: {url, branch, path}`; the current `profile: {source: …}` too.
    #[serde(default)]
    profile: Option<LegacyProfileRef>,
    #[serde(default)]
    depends_on: Vec<RawDependsOn>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LegacyChartRef {
    Name(String),
    Spec(LegacyChart),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LegacyChart {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    default_values: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LegacyProfileRef {
    Current(RawProfileRef),
    Legacy(LegacyProfile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyProfile {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    path: Option<String>,
    /// The profile's Git tag (`nested-nginx-2/v0.0.1`), as Weaveworks pctl read it.
    #[serde(default)]
    version: Option<String>,
}

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

/// Defaults, `enum` values, presets and `with` bindings read the way the author of
/// profile.yaml reads them: a plain scalar that YAML 1.1 and 1.2 readers disagree
/// about (`y`, `0755`, `1:30`) is the text as written (a typed parameter then
/// coerces the text as it does `--set` text), and every plain `enum` value is text
/// (`enum: [x, y]` is "x" and "y", `[1.10, 1.20]` "1.10" and "1.20"). The
/// default and presets of an `object` parameter are chart values: read as Helm
/// reads a values.yaml.
fn author_reading(origin: &str, text: &str, spec: &mut RawSpec) -> Result<()> {
    let author = yaml::author_values(origin, text)?;
    let helm = yaml::helm_values(origin, text)?;
    let texts = yaml::scalar::read(origin, text, yaml::scalar::Reading::Text)?.0;
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
        let tree = if object { &helm } else { &author };
        if p.default.is_some() {
            p.default = at(tree, &["spec", "parameters", &i, "default"]);
        }
        // An author writing an enum list means strings: `[x, y]`, `[1.10, 1.20]`.
        if let Some(Value::Array(items)) = at(&texts, &["spec", "parameters", &i, "enum"]) {
            p.allowed = items;
        }
    }
    for (name, set) in spec.presets.iter_mut() {
        for (k, v) in set.iter_mut() {
            let tree = if objects.contains(k) { &helm } else { &author };
            if let Some(x) = at(tree, &["spec", "presets", name, k]) {
                *v = x;
            }
        }
    }
    for (i, a) in spec.artifacts.iter_mut().enumerate() {
        if let Some(p) = a.profile.as_mut()
            && let Some(Value::Object(with)) = at(
                &author,
                &["spec", "artifacts", &i.to_string(), "profile", "with"],
            )
        {
            p.with = with;
        }
    }
    Ok(())
}

/// A schema error from serde with a "did you mean" hint for unknown fields.
fn schema_error(origin: &str, raw: &str) -> anyhow::Error {
    let first = yaml::clean(raw);
    let first = first.as_str();
    let msg = format!("{origin}: {first}");
    match unknown_field_hint(first) {
        Some(h) => crate::error::user(msg, h),
        None => anyhow::anyhow!(msg),
    }
}

/// From "unknown field `chrat`, expected one of `name`, `chart`, …" build
/// "did you mean `chart`?" (or list the allowed fields).
fn unknown_field_hint(msg: &str) -> Option<String> {
    let rest = msg.split("unknown field `").nth(1)?;
    let field = rest.split('`').next()?;
    let expected: Vec<&str> = rest
        .split_once("expected")
        .map(|(_, e)| {
            let e = e.trim_start().strip_prefix("one of").unwrap_or(e);
            e.split(',')
                .map(|x| x.trim().trim_matches('`'))
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Some(field_hint(field, &expected))
}

/// "did you mean `chart`? Allowed: …" for an unknown field, given the fields allowed
/// where it appeared (used by `parse` and by `pctl lint`).
pub fn field_hint(field: &str, expected: &[&str]) -> String {
    let best = expected
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&field.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut hint = match best {
        Some((_, c)) => format!("did you mean `{c}`?"),
        None => format!("`{field}` is not a field here."),
    };
    if !expected.is_empty() {
        hint.push_str(&format!(" Allowed: {}", expected.join(", ")));
    }
    hint
}

fn convert(origin: &str, name: String, spec: RawSpec) -> Result<ProfileDefinition> {
    let mut artifacts = Vec::new();
    for a in spec.artifacts {
        artifacts.push(convert_artifact(origin, a)?);
    }
    let mut parameters = Vec::new();
    for p in spec.parameters {
        parameters.push(convert_parameter(origin, p)?);
    }
    Ok(ProfileDefinition {
        name,
        description: spec.description.unwrap_or_default(),
        maintainer: spec.maintainer.unwrap_or_default(),
        prerequisites: spec.prerequisites,
        keywords: spec.keywords,
        parameters,
        presets: spec.presets,
        artifacts,
    })
}

fn convert_parameter(origin: &str, p: RawParameter) -> Result<Parameter> {
    let kind = match p.kind.as_deref().unwrap_or("string") {
        "string" => ParamType::String,
        "integer" | "int" => ParamType::Integer,
        "number" | "float" => ParamType::Number,
        "boolean" | "bool" => ParamType::Boolean,
        "enum" => ParamType::Enum,
        "secret" => ParamType::Secret,
        "object" => ParamType::Object,
        other => bail!(crate::error::user(
            format!(
                "{origin}: parameter {:?} has unknown type {other:?}",
                p.name
            ),
            "types are string, integer, number, boolean, enum, secret, object",
        )),
    };
    Ok(Parameter {
        name: p.name,
        kind,
        required: p.required,
        default: p.default,
        allowed: p.allowed,
        pattern: p.pattern,
        minimum: p.minimum,
        maximum: p.maximum,
        description: p.description.unwrap_or_default(),
        multiline: p.multiline,
    })
}

fn convert_artifact(origin: &str, a: RawArtifact) -> Result<Artifact> {
    let set = [
        a.chart.is_some(),
        a.kustomize.is_some(),
        a.profile.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if set != 1 {
        let what = if set == 0 { "none" } else { "more than one" };
        bail!(crate::error::user(
            format!(
                "{origin}: artifact {:?} has {what} of chart, kustomize, profile",
                a.name
            ),
            "give each artifact exactly one of `chart`, `kustomize` or `profile`",
        ));
    }
    let kind = if let Some(c) = a.chart {
        ArtifactKind::Chart {
            chart: convert_chart(origin, &a.name, c.path, c.url, c.name, c.version)?,
            default_values: c.default_values,
            release: match c.release {
                Some(r) => release::parse(origin, &a.name, r)?,
                None => Release::default(),
            },
        }
    } else if let Some(k) = a.kustomize {
        ArtifactKind::Kustomize { path: k.path }
    } else if let Some(p) = a.profile {
        convert_profile_ref(origin, &a.name, p)?
    } else {
        unreachable!("exactly one kind was checked above")
    };
    Ok(Artifact {
        name: a.name,
        kind,
        depends_on: a.depends_on.into_iter().map(|d| d.name).collect(),
        template: a.template,
    })
}

fn convert_chart(
    origin: &str,
    artifact: &str,
    path: Option<String>,
    url: Option<String>,
    name: Option<String>,
    version: Option<String>,
) -> Result<Chart> {
    match (path, url, name, version) {
        (Some(_), Some(_), _, _) => bail!(crate::error::user(
            format!("{origin}: artifact {artifact:?}: chart has both `path` and `url`"),
            "a chart is either a directory in the profile (`path`) or a remote chart (`url`, `name`, `version`)",
        )),
        (Some(path), None, None, None) => Ok(Chart::Local { path }),
        (Some(_), None, _, _) => bail!(crate::error::user(
            format!(
                "{origin}: artifact {artifact:?}: a local chart (`path`) takes no `name` or `version`"
            ),
            "remove `name` and `version`: the chart directory's Chart.yaml names it",
        )),
        (None, Some(url), Some(name), Some(version)) => Ok(Chart::Remote { url, name, version }),
        (None, Some(_), name, version) => {
            let missing: Vec<&str> = [("name", name.is_none()), ("version", version.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(f, _)| *f)
                .collect();
            bail!(crate::error::user(
                format!(
                    "{origin}: artifact {artifact:?}: remote chart misses {}",
                    missing.join(" and ")
                ),
                "a remote chart needs `url`, `name` and `version`",
            ))
        }
        (None, None, _, _) => bail!(crate::error::user(
            format!("{origin}: artifact {artifact:?}: chart has neither `path` nor `url`"),
            "a chart is either a directory in the profile (`path`) or a remote chart (`url`, `name`, `version`)",
        )),
    }
}

fn convert_profile_ref(origin: &str, artifact: &str, p: RawProfileRef) -> Result<ArtifactKind> {
    let s = p.source;
    let refs = [s.tag.is_some(), s.branch.is_some(), s.version.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if refs > 1 {
        bail!(crate::error::user(
            format!(
                "{origin}: artifact {artifact:?}: profile source sets more than one of tag, branch, version"
            ),
            "pick one of `tag`, `branch` or `version`",
        ));
    }
    let path = match (&s.path, &s.tag, &s.branch) {
        (Some(p), _, _) => p.clone(),
        (None, Some(tag), _) => match tag.rsplit_once('/') {
            Some((dir, _)) => dir.to_string(),
            None => String::new(),
        },
        (None, None, Some(_)) => bail!(crate::error::user(
            format!("{origin}: artifact {artifact:?}: profile source with `branch` needs `path`"),
            "add `path: DIR`, the profile's directory in that repository",
        )),
        (None, None, None) => {
            if s.version.is_some() || s.url.is_some() {
                String::new()
            } else {
                bail!(crate::error::user(
                    format!("{origin}: artifact {artifact:?}: profile source names no profile"),
                    "set `path` (and `tag`, `branch` or `version`), or `url`",
                ))
            }
        }
    };
    Ok(ArtifactKind::Profile {
        source: NestedSource {
            url: s.url,
            tag: s.tag,
            branch: s.branch,
            version: s.version,
            path,
        },
        with: p.with,
    })
}

fn convert_legacy(origin: &str, name: String, spec: LegacySpec) -> Result<ProfileDefinition> {
    let mut artifacts = Vec::new();
    for a in spec.artifacts {
        let n = a.name.as_str();
        let kind = match a.kind.as_str() {
            "HelmChart" => {
                let (url, chart, version, values) = match a.chart {
                    Some(LegacyChartRef::Spec(_)) if a.path.is_some() => {
                        bail!(crate::error::user(
                            format!("{origin}: artifact {n:?}: path and chart both set"),
                            "a legacy HelmChart artifact has either `path` (a chart directory in the profile) or `chart: {url, name, version}`",
                        ))
                    }
                    Some(LegacyChartRef::Spec(c)) => (
                        c.url,
                        c.name,
                        c.version,
                        c.default_values.or(a.default_values),
                    ),
                    Some(LegacyChartRef::Name(c)) => (a.url, Some(c), a.version, a.default_values),
                    None => (a.url, None, a.version, a.default_values),
                };
                ArtifactKind::Chart {
                    chart: convert_chart(origin, n, a.path, url, chart, version)?,
                    default_values: values,
                    release: Release::default(),
                }
            }
            "Kustomize" => match (a.path, a.chart.is_some() || a.profile.is_some()) {
                (Some(_), true) => bail!(crate::error::user(
                    format!(
                        "{origin}: artifact {n:?}: kind Kustomize sets `path` and a chart or profile"
                    ),
                    "a Kustomize artifact is the directory `path` alone",
                )),
                (Some(path), false) => ArtifactKind::Kustomize { path },
                (None, _) => bail!(crate::error::user(
                    format!("{origin}: artifact {n:?}: kind Kustomize needs `path`"),
                    "add `path: DIR` relative to the profile",
                )),
            },
            "Profile" => {
                if a.profile.is_some() && (a.path.is_some() || a.chart.is_some()) {
                    bail!(crate::error::user(
                        format!(
                            "{origin}: artifact {n:?}: kind Profile sets `profile` and `path` or `chart`"
                        ),
                        "a nested profile is `profile: {url, version}` or `profile: {url, branch, path}` alone",
                    ));
                }
                let source = match a.profile {
                    Some(LegacyProfileRef::Current(p)) => {
                        artifacts.push(Artifact {
                            name: a.name.clone(),
                            kind: convert_profile_ref(origin, n, p)?,
                            depends_on: a.depends_on.into_iter().map(|d| d.name).collect(),
                            template: false,
                        });
                        continue;
                    }
                    // Weaveworks pctl's `version` is the profile's Git tag.
                    Some(LegacyProfileRef::Legacy(p)) => RawNestedSource {
                        url: p.url,
                        tag: p.version,
                        branch: p.branch,
                        version: None,
                        path: p.path,
                    },
                    None => RawNestedSource {
                        url: a.url,
                        tag: None,
                        branch: None,
                        version: a.version,
                        path: a.path,
                    },
                };
                convert_profile_ref(
                    origin,
                    n,
                    RawProfileRef {
                        source,
                        with: Map::new(),
                    },
                )?
            }
            other => bail!(crate::error::user(
                format!("{origin}: artifact {n:?} has unknown kind {other:?}"),
                "legacy artifacts are kind HelmChart, Kustomize or Profile",
            )),
        };
        artifacts.push(Artifact {
            name: a.name,
            kind,
            depends_on: a.depends_on.into_iter().map(|d| d.name).collect(),
            template: false,
        });
    }
    Ok(ProfileDefinition {
        name,
        description: spec.description.unwrap_or_default(),
        maintainer: spec.maintainer.unwrap_or_default(),
        prerequisites: spec.prerequisites,
        keywords: Vec::new(),
        parameters: Vec::new(),
        presets: BTreeMap::new(),
        artifacts,
    })
}

/// Rules that one definition must satisfy on its own: artifact names valid and unique,
/// `dependsOn` targets present, parameters unique.
pub fn validate(origin: &str, def: &ProfileDefinition) -> Result<()> {
    rules::check(origin, def)?;
    let mut seen = BTreeSet::new();
    for a in &def.artifacts {
        if crate::names::sanitize(&a.name) != a.name || a.name.is_empty() {
            bail!(crate::error::user(
                format!(
                    "{origin}: artifact name {:?} is not a DNS-1123 label",
                    a.name
                ),
                "use lower-case letters, digits and '-'",
            ));
        }
        if !seen.insert(a.name.as_str()) {
            bail!(crate::error::user(
                format!("{origin}: artifact name {:?} is used twice", a.name),
                "artifact names must be unique within a profile",
            ));
        }
    }
    for a in &def.artifacts {
        for d in &a.depends_on {
            if d == &a.name {
                bail!(crate::error::user(
                    format!("{origin}: artifact {:?} depends on itself", a.name),
                    "remove it from its own dependsOn",
                ));
            }
            if !seen.contains(d.as_str()) {
                let names: Vec<&str> = def.artifacts.iter().map(|a| a.name.as_str()).collect();
                bail!(crate::error::user(
                    format!(
                        "{origin}: artifact {:?} depends on {d:?}, which is not an artifact of this profile",
                        a.name
                    ),
                    format!(
                        "dependsOn names an artifact of the same profile: {}",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    dependency_cycle(origin, def)?;
    let mut params = BTreeSet::new();
    for p in &def.parameters {
        if !params.insert(p.name.as_str()) {
            bail!(crate::error::user(
                format!("{origin}: parameter {:?} is declared twice", p.name),
                "parameter names must be unique within a profile",
            ));
        }
    }
    Ok(())
}

fn dependency_cycle(origin: &str, def: &ProfileDefinition) -> Result<()> {
    let deps: BTreeMap<&str, &Vec<String>> = def
        .artifacts
        .iter()
        .map(|a| (a.name.as_str(), &a.depends_on))
        .collect();
    fn visit<'a>(
        n: &'a str,
        deps: &BTreeMap<&'a str, &'a Vec<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| *s == n) {
            let mut cyc: Vec<String> = stack[i..].iter().map(|s| s.to_string()).collect();
            cyc.push(n.to_string());
            return Some(cyc);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n);
        for d in deps.get(n).map(|v| v.iter()).into_iter().flatten() {
            if let Some(c) = visit(d.as_str(), deps, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n);
        None
    }
    let mut done = BTreeSet::new();
    for n in deps.keys() {
        if let Some(c) = visit(n, &deps, &mut Vec::new(), &mut done) {
            bail!(crate::error::user(
                format!("{origin}: dependsOn cycle: {}", c.join(" -> ")),
                "break the cycle: Flux would wait forever",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
