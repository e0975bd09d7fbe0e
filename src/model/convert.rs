//! From the serde form ([`super::raw`]) to the checked model: one kind per artifact,
//! chart and nested-source rules, parameter types, the legacy schema converted, and
//! the "did you mean" hint for unknown fields.
use super::raw::*;
use super::*;
use crate::yaml::{self, Map};
use anyhow::{Result, bail};

pub(super) fn schema_error(origin: &str, raw: &str) -> anyhow::Error {
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
pub(super) fn unknown_field_hint(msg: &str) -> Option<String> {
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

pub(super) fn convert(origin: &str, name: String, spec: RawSpec) -> Result<ProfileDefinition> {
    let mut artifacts = Vec::new();
    for a in spec.artifacts {
        artifacts.push(convert_artifact(origin, a).map_err(|(_, e)| e)?);
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

pub(super) fn convert_parameter(origin: &str, p: RawParameter) -> Result<Parameter> {
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

/// One artifact; an error comes with the field it is about, below the artifact
/// (`.name`, `.chart`, `.chart.release`, `.profile.source`).
pub(super) fn convert_artifact(
    origin: &str,
    a: RawArtifact,
) -> std::result::Result<Artifact, (&'static str, anyhow::Error)> {
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
        return Err((
            ".name",
            crate::error::user(
                format!(
                    "{origin}: artifact {:?} has {what} of chart, kustomize, profile",
                    a.name
                ),
                "give each artifact exactly one of `chart`, `kustomize` or `profile`",
            ),
        ));
    }
    let kind = if let Some(c) = a.chart {
        ArtifactKind::Chart {
            chart: convert_chart(origin, &a.name, c.path, c.url, c.name, c.version)
                .map_err(|e| (".chart", e))?,
            default_values: c.default_values,
            release: match c.release {
                Some(r) => release::parse(origin, &a.name, r).map_err(|e| (".chart.release", e))?,
                None => Release::default(),
            },
        }
    } else if let Some(k) = a.kustomize {
        ArtifactKind::Kustomize { path: k.path }
    } else if let Some(p) = a.profile {
        convert_profile_ref(origin, &a.name, p).map_err(|e| (".profile.source", e))?
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

pub(super) fn convert_chart(
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

pub(super) fn convert_profile_ref(
    origin: &str,
    artifact: &str,
    p: RawProfileRef,
) -> Result<ArtifactKind> {
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

pub(super) fn convert_legacy(
    origin: &str,
    name: String,
    spec: LegacySpec,
) -> Result<ProfileDefinition> {
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
