//! Lint's checks of the artifacts of one definition: duplicate names, the model's
//! rules for each artifact, chart URL, version and release, nested version
//! constraints, `template` where it is ignored, `dependsOn` targets and cycles.
use super::*;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check_artifacts(
    file: &str,
    pos: &Positions,
    artifacts: &[Map],
    converted: &[Option<crate::model::Artifact>],
    findings: &mut Vec<Finding>,
) {
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    let names: Vec<String> = artifacts
        .iter()
        .filter_map(|a| a.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut deps: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for (i, a) in artifacts.iter().enumerate() {
        let path = format!("spec.artifacts[{i}]");
        let Some(name) = a.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(j) = first.get(name) {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.name")),
                    Severity::Error,
                    format!(
                        "artifact name {name:?} is used twice (first at line {})",
                        pos.line(&format!("spec.artifacts[{j}].name"))
                    ),
                )
                .with_hint("artifact names must be unique within a profile"),
            );
        } else {
            first.insert(name.to_string(), i);
        }
        // The model's own rules for the artifact as the model converted it (its
        // conversion errors are reported by the caller); chart URL and version are
        // reported below with the raw text.
        if let Some(Some(converted)) = converted.get(i) {
            if crate::names::sanitize(name) != name || name.is_empty() {
                findings.push(
                    Finding::new(
                        file,
                        pos.line(&format!("{path}.name")),
                        Severity::Error,
                        format!("artifact name {name:?} is not a DNS-1123 label"),
                    )
                    .with_hint("use lower-case letters, digits and '-'"),
                );
            }
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
        let mut own = Vec::new();
        for (j, d) in list_of(a, "dependsOn").iter().enumerate() {
            let Some(target) = d.get("name").and_then(Value::as_str) else {
                continue;
            };
            let line = pos.line(&format!("{path}.dependsOn[{j}]"));
            if target == name {
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Error,
                        format!("artifact {name:?} depends on itself"),
                    )
                    .with_hint("remove it from its own dependsOn"),
                );
            } else if !names.iter().any(|n| n == target) {
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Error,
                        format!(
                            "artifact {name:?} depends on {target:?}, which is not an artifact of this profile"
                        ),
                    )
                    .with_hint(format!(
                        "dependsOn names an artifact of the same profile: {}",
                        names.join(", ")
                    )),
                );
            } else {
                own.push(target.to_string());
            }
        }
        deps.entry(name.to_string()).or_insert((i, own));
    }
    // Cycles, each reported once, at the first artifact of the cycle.
    let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    for start in deps.keys() {
        if let Some(cycle) = cycle_from(start, &deps) {
            let members: BTreeSet<String> = cycle.iter().cloned().collect();
            if cycle.first() != Some(start) || !reported.insert(members) {
                continue;
            }
            let i = deps[start].0;
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("spec.artifacts[{i}].dependsOn")),
                    Severity::Error,
                    format!("dependsOn cycle: {}", cycle.join(" -> ")),
                )
                .with_hint("break the cycle: Flux would wait forever"),
            );
        }
    }
}

/// A dependency cycle through `start`, as the chain from `start` back to it.
pub(super) fn cycle_from(
    start: &str,
    deps: &BTreeMap<String, (usize, Vec<String>)>,
) -> Option<Vec<String>> {
    fn dfs(
        n: &str,
        start: &str,
        deps: &BTreeMap<String, (usize, Vec<String>)>,
        stack: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for d in deps.get(n).map(|(_, v)| v.as_slice()).unwrap_or_default() {
            if d == start {
                stack.push(d.clone());
                return true;
            }
            if seen.insert(d.clone()) {
                stack.push(d.clone());
                if dfs(d, start, deps, stack, seen) {
                    return true;
                }
                stack.pop();
            }
        }
        false
    }
    let mut stack = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    dfs(start, start, deps, &mut stack, &mut seen).then_some(stack)
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
