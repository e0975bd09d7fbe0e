//! Lint's checks of the artifacts of one definition: the model's field rules for
//! each artifact, chart URL, version and release field by field, nested version
//! constraints, `template` where it is ignored; and the model's name rules
//! (duplicates, `dependsOn` targets and cycles) for artifacts and parameters, each at
//! its line.
use super::*;

pub(super) fn check_artifacts(
    file: &str,
    pos: &Positions,
    artifacts: &[Map],
    converted: &[Option<crate::model::Artifact>],
    findings: &mut Vec<Finding>,
) {
    for (i, a) in artifacts.iter().enumerate() {
        let path = format!("spec.artifacts[{i}]");
        let Some(name) = a.get("name").and_then(Value::as_str) else {
            continue;
        };
        // The model's own rules for the artifact as the model converted it (its
        // conversion errors are reported by the caller); chart URL and version are
        // reported below with the raw text.
        if let Some(Some(converted)) = converted.get(i) {
            for p in crate::model::rules::artifact_problems(converted) {
                if matches!(p.path.as_str(), "chart.url" | "chart.version") {
                    continue;
                }
                findings.push(
                    Finding::new(
                        file,
                        pos.line(&format!("{path}.{}", p.path)),
                        Severity::Error,
                        p.message,
                    )
                    .with_hint(p.hint),
                );
            }
        }
        if let Some(chart) = a.get("chart").and_then(Value::as_object) {
            check_chart(file, pos, &path, name, chart, findings);
        }
        if let Some(v) = a
            .get("profile")
            .and_then(|p| p.get("source"))
            .and_then(|s| s.get("version"))
            .and_then(Value::as_str)
            && let Err(e) = crate::version::parse_constraint(v)
        {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.profile.source.version")),
                    Severity::Error,
                    format!("artifact {name:?}: invalid version constraint: {e}"),
                )
                .with_hint("use 1.2.3, ^1.2, ~1.2, >=1.0, <2, 1.x or latest"),
            );
        }
        let templated = a.get("template").is_some_and(|t| {
            t.as_bool() == Some(true)
                || t.as_str().is_some_and(|s| {
                    matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "on")
                })
        });
        if templated && (a.contains_key("chart") || a.contains_key("profile")) {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.template")),
                    Severity::Warning,
                    format!(
                        "artifact {name:?}: `template` applies only to kustomize artifacts and is ignored here"
                    ),
                )
                .with_hint("chart values are templated through `defaultValues`; remove `template`"),
            );
        }
    }
}

pub(super) fn check_chart(
    file: &str,
    pos: &Positions,
    path: &str,
    name: &str,
    chart: &Map,
    findings: &mut Vec<Finding>,
) {
    use crate::model::rules::{self, UrlVerdict};
    if let Some(release) = chart.get("release") {
        for p in crate::model::release::problems(release) {
            let at = if p.path.is_empty() {
                format!("{path}.chart.release")
            } else {
                format!("{path}.chart.release.{}", p.path)
            };
            let shown = at
                .strip_prefix(&format!("{path}."))
                .unwrap_or(&at)
                .to_string();
            findings.push(
                Finding::new(
                    file,
                    pos.line(&at),
                    Severity::Error,
                    format!("artifact {name:?}: {shown}: {}", p.message),
                )
                .with_hint(p.hint),
            );
        }
    }
    if let Some(url) = chart.get("url").and_then(Value::as_str) {
        let line = pos.line(&format!("{path}.chart.url"));
        match rules::chart_url(url) {
            UrlVerdict::Ok => {}
            UrlVerdict::Warn(w) => findings.push(Finding::new(
                file,
                line,
                Severity::Warning,
                format!("artifact {name:?}: {w}"),
            )),
            UrlVerdict::Refuse(why, hint) => findings.push(
                Finding::new(
                    file,
                    line,
                    Severity::Error,
                    format!("artifact {name:?}: {why}"),
                )
                .with_hint(hint),
            ),
        }
    }
    if let Some(v) = chart.get("version") {
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        if !rules::chart_version(&text) {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.chart.version")),
                    Severity::Error,
                    format!(
                        "artifact {name:?}: chart version {} is neither a version nor a semver range",
                        crate::source::escaped(&text)
                    ),
                )
                .with_hint(rules::CHART_VERSION_HINT),
            );
        }
    }
}

/// An artifact's index in profile.yaml, its name, and its `dependsOn` names with
/// their indexes.
type NamedAt = (usize, String, Vec<(usize, String)>);

/// The model's name rules ([`model::validate::name_problems`]) over every artifact
/// and parameter that has a name, each problem at its line.
pub(super) fn check_names(
    file: &str,
    pos: &Positions,
    artifacts: &[Map],
    parameters: &[Map],
    findings: &mut Vec<Finding>,
) {
    let name = |m: &Map| m.get("name").and_then(Value::as_str).map(str::to_string);
    let arts: Vec<NamedAt> = artifacts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let deps = list_of(a, "dependsOn")
                .iter()
                .enumerate()
                .filter_map(|(j, d)| Some((j, name(d)?)))
                .collect();
            Some((i, name(a)?, deps))
        })
        .collect();
    let params: Vec<(usize, String)> = parameters
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, name(p)?)))
        .collect();
    let named: Vec<model::validate::Named> = arts
        .iter()
        .map(|(_, n, d)| (n.as_str(), d.iter().map(|(_, x)| x.as_str()).collect()))
        .collect();
    let param_names: Vec<&str> = params.iter().map(|(_, n)| n.as_str()).collect();
    // `artifacts[2].dependsOn[1]` (indexes among the named) → `spec.artifacts[5].dependsOn[1]`.
    let place = |path: &str| -> String {
        let re = |p: &str| -> Option<String> {
            if let Some(rest) = p.strip_prefix("parameters[") {
                let (k, tail) = rest.split_once(']')?;
                let (i, _) = params.get(k.parse::<usize>().ok()?)?;
                return Some(format!("spec.parameters[{i}]{tail}"));
            }
            let rest = p.strip_prefix("artifacts[")?;
            let (k, tail) = rest.split_once(']')?;
            let (i, _, deps) = arts.get(k.parse::<usize>().ok()?)?;
            let tail = match tail.strip_prefix(".dependsOn[") {
                Some(d) => {
                    let (j, t) = d.split_once(']')?;
                    let (raw, _) = deps.get(j.parse::<usize>().ok()?)?;
                    format!(".dependsOn[{raw}]{t}")
                }
                None => tail.to_string(),
            };
            Some(format!("spec.artifacts[{i}]{tail}"))
        };
        re(path).unwrap_or_else(|| "spec".to_string())
    };
    for p in model::validate::name_problems(&named, &param_names) {
        let message = match &p.first {
            Some(first) => format!("{} (first at line {})", p.message, pos.line(&place(first))),
            None => p.message,
        };
        findings.push(
            Finding::new(file, pos.line(&place(&p.path)), Severity::Error, message)
                .with_hint(p.hint),
        );
    }
}
