//! The core of `pctl lint` for one `profile.yaml`, all findings at once: syntax, the
//! schema against the model's own field set, the model's conversion of each artifact
//! and parameter, its field and name rules (duplicates, `dependsOn`, cycles), what is
//! legal but wrong, presets; and the definition without the parts with errors, so
//! that `ops::lint` still resolves, renders and checks the rest. Pure: resolving
//! nested profiles, rendering and the file system are in `ops::lint`.
mod artifacts;
mod finding;
mod parameters;
mod positions;
mod schema;
mod yaml11;
use crate::model::{self, ProfileDefinition};
use crate::yaml::{Map, Value};
use artifacts::{check_artifacts, check_names};
pub use finding::{Finding, Severity, format, sort};
use parameters::{check_parameters, check_presets};
pub use positions::Positions;

// ---------------------------------------------------------------- the definition

/// What checking one profile.yaml found.
pub struct Checked {
    pub findings: Vec<Finding>,
    /// The definition: what install would read when there is no error; else, when
    /// `partial`, what the model could read without the parts reported as errors.
    pub def: Option<ProfileDefinition>,
    pub partial: bool,
    pub positions: Positions,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
}

/// A model error as a finding: its message without the file prefix, and its hint.
fn model_finding(file: &str, line: usize, err: &anyhow::Error) -> Finding {
    let (top, causes, hints) = crate::error::describe(err);
    let mut msg = top
        .strip_prefix(&format!("{file}: "))
        .unwrap_or(&top)
        .to_string();
    for c in causes {
        msg.push_str(&format!(": {c}"));
    }
    Finding::new(file, line, Severity::Error, msg).with_hint(hints.join("; "))
}

/// Check one profile.yaml: `file` names it in findings, `dir_name` is the name of its
/// directory (None at a repository root or when unknown).
pub fn check_definition(file: &str, text: &str, dir_name: Option<&str>) -> Checked {
    let positions = Positions::parse(text);
    let mut out = Checked {
        findings: Vec::new(),
        def: None,
        partial: false,
        positions,
    };
    // Syntax.
    let doc: Value = match serde_saphyr::from_str(text) {
        // Plain scalars read as the author reads them (see `model::parse`).
        Ok(d) => crate::yaml::author_values(file, text).unwrap_or(d),
        Err(e) => {
            let line = e.location().map(|l| l.line() as usize).unwrap_or(1);
            let first = crate::yaml::clean(&e.to_string());
            let first = first.as_str();
            let msg = match first.find(": ") {
                Some(i) if first.starts_with("line ") => &first[i + 2..],
                _ => first,
            };
            out.findings.push(
                Finding::new(file, line, Severity::Error, format!("invalid YAML: {msg}"))
                    .with_hint("fix the YAML syntax; nothing else was checked"),
            );
            return out;
        }
    };
    let Value::Object(top) = &doc else {
        out.findings.push(
            Finding::new(
                file,
                1,
                Severity::Error,
                format!(
                    "a profile definition is a mapping, not {}",
                    schema::kind_of(&doc)
                ),
            )
            .with_hint(format!(
                "start it with `apiVersion: {}` and `kind: {}`",
                model::API_VERSION,
                model::KIND
            )),
        );
        return out;
    };
    let api = top.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = top.get("kind").and_then(Value::as_str).unwrap_or("");
    match (api, kind) {
        (model::API_VERSION, model::KIND) => {}
        (old, model::LEGACY_KIND) if model::is_legacy_api_version(old) => {
            legacy(file, text, dir_name, &mut out);
            return out;
        }
        _ => {
            out.findings.push(
                Finding::new(
                    file,
                    out.positions.line("apiVersion"),
                    Severity::Error,
                    format!("not a profile definition (apiVersion {api:?}, kind {kind:?})"),
                )
                .with_hint(format!(
                    "a profile.yaml starts with `apiVersion: {}` and `kind: {}`",
                    model::API_VERSION,
                    model::KIND
                )),
            );
            return out;
        }
    }
    // Schema: every unknown field and every field of the wrong shape.
    let (mut findings, clean) = schema::check(file, &out.positions, top);
    let pos = &out.positions;
    let at = |path: &str| pos.line(path);
    let spec = clean
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    // metadata and the legacy spec.name.
    let name = top
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        findings.push(
            Finding::new(
                file,
                at("metadata"),
                Severity::Error,
                "metadata.name is missing",
            )
            .with_hint("give the profile a DNS-1123 name, usually its directory name"),
        );
    } else if !crate::names::is_dns1123_label(&name) {
        findings.push(
            Finding::new(
                file,
                at("metadata.name"),
                Severity::Error,
                format!("metadata.name {name:?} is not a DNS-1123 label"),
            )
            .with_hint("use lower-case letters, digits and '-', at most 63 characters"),
        );
    } else if let Some(dir) = dir_name.filter(|d| !d.is_empty() && *d != name) {
        findings.push(Finding::new(
            file,
            at("metadata.name"),
            Severity::Warning,
            format!("metadata.name {name:?} differs from its directory {dir:?}"),
        ));
    }
    if let Some(spec_name) = spec.get("name").and_then(Value::as_str) {
        if spec_name == name {
            findings.push(
                Finding::new(
                    file,
                    at("spec.name"),
                    Severity::Warning,
                    "spec.name is a legacy field and is ignored",
                )
                .with_hint("remove it: metadata.name names the profile"),
            );
        } else {
            findings.push(
                Finding::new(
                    file,
                    at("spec.name"),
                    Severity::Error,
                    format!("spec.name {spec_name:?} differs from metadata.name {name:?}"),
                )
                .with_hint("remove spec.name: metadata.name names the profile"),
            );
        }
    }

    let artifacts: Vec<Map> = list_of(&spec, "artifacts");
    if artifacts.is_empty() {
        findings.push(Finding::new(
            file,
            at("spec"),
            Severity::Warning,
            "the profile has no artifacts: installing it writes no objects",
        ));
    }
    // The model's conversion of every item (parameters report theirs themselves;
    // `chart.release` is reported field by field at its own line).
    let read = model::lenient::read(file, &clean);
    for (path, e) in &read.problems {
        if !path.starts_with("spec.parameters[") && !path.ends_with(".chart.release") {
            findings.push(model_finding(file, pos.line(path), e));
        }
    }
    check_artifacts(file, pos, &artifacts, &read.artifacts, &mut findings);
    check_names(
        file,
        pos,
        &artifacts,
        &list_of(&spec, "parameters"),
        &mut findings,
    );
    findings.extend(yaml11::check(file, text, pos, &spec));
    let params = check_parameters(
        file,
        pos,
        &list_of(&spec, "parameters"),
        &read,
        &mut findings,
    );
    if let Some(Value::Object(presets)) = spec.get("presets") {
        check_presets(file, pos, presets, &params, &mut findings);
    }

    if !findings.iter().any(|f| f.severity == Severity::Error) {
        // What install reads: anything the checks above missed is still an error.
        match model::parse(file, text, dir_name) {
            Ok((def, _warnings)) => out.def = Some(def),
            Err(e) => {
                let line = model::schema_error_line(text).unwrap_or(1);
                findings.push(model_finding(file, line, &e));
            }
        }
    } else {
        // The rest is still checked (paths, nested profiles, templates) on what
        // the model could read.
        out.def = usable(file, read.def);
        out.partial = out.def.is_some();
    }
    out.findings = findings;
    out
}

fn list_of(spec: &Map, key: &str) -> Vec<Map> {
    spec.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default()
}

/// The definition without what install would refuse: the later of two artifacts or
/// parameters of one name, artifacts that break a field rule, `dependsOn` entries
/// that name no artifact (or, when there is a cycle, all of them), presets that set
/// an undeclared parameter or a value it refuses, defaults their parameter refuses
/// (a placeholder instead). None when nothing sensible is left
/// (the name is not a DNS-1123 label).
fn usable(origin: &str, mut def: ProfileDefinition) -> Option<ProfileDefinition> {
    if !crate::names::is_dns1123_label(&def.name) {
        return None;
    }
    let mut seen = std::collections::BTreeSet::new();
    def.artifacts.retain(|a| {
        crate::names::sanitize(&a.name) == a.name
            && !a.name.is_empty()
            && model::rules::artifact_problems(a).is_empty()
            && seen.insert(a.name.clone())
    });
    for a in &mut def.artifacts {
        let own = a.name.clone();
        a.depends_on.retain(|d| *d != own && seen.contains(d));
    }
    if model::validate(origin, &def).is_err() {
        for a in &mut def.artifacts {
            a.depends_on.clear();
        }
    }
    let mut names = std::collections::BTreeSet::new();
    def.parameters.retain(|p| names.insert(p.name.clone()));
    // A default its parameter refuses (reported) is replaced by a placeholder.
    for p in &mut def.parameters {
        if let Some(d) = &p.default
            && crate::values::coerce(p, &crate::values::from_profile(p, d)).is_err()
        {
            p.default = crate::values::placeholder(p);
        }
    }
    let params = def.parameters.clone();
    def.presets.retain(|_, set| {
        set.iter().all(|(k, v)| {
            params.iter().find(|p| &p.name == k).is_some_and(|p| {
                crate::values::coerce(p, &crate::values::from_profile(p, v)).is_ok()
            })
        })
    });
    model::validate(origin, &def).is_ok().then_some(def)
}

/// The legacy schema: read by the model (first error only), with its warning.
fn legacy(file: &str, text: &str, dir_name: Option<&str>, out: &mut Checked) {
    match model::parse(file, text, dir_name) {
        Ok((def, warnings)) => {
            for w in warnings {
                let msg = w
                    .strip_prefix(&format!("{file}: "))
                    .unwrap_or(&w)
                    .to_string();
                out.findings.push(
                    Finding::new(file, out.positions.line("apiVersion"), Severity::Warning, msg)
                        .with_hint(format!(
                            "convert it: `apiVersion: {}`, `kind: {}`, artifacts with `chart`, `kustomize` or `profile`",
                            model::API_VERSION,
                            model::KIND
                        )),
                );
            }
            out.def = Some(def);
        }
        Err(e) => {
            let (top, _, _) = crate::error::describe(&e);
            // An error about one artifact is placed at that artifact's name.
            let artifact_at = || {
                let name = artifact_in_message(&top)?;
                let doc: crate::yaml::Value = crate::yaml::from_str(file, text).ok()?;
                let i = doc
                    .pointer("/spec/artifacts")?
                    .as_array()?
                    .iter()
                    .position(|a| a.get("name").and_then(|n| n.as_str()) == Some(name.as_str()))?;
                Some(out.positions.line(&format!("spec.artifacts[{i}].name")))
            };
            let line = model::schema_error_line(text)
                .or_else(artifact_at)
                .unwrap_or(1);
            out.findings.push(model_finding(file, line, &e));
        }
    }
}

// ---------------------------------------------------------------- locating later findings

/// The line to report an error about artifact `name` of the root profile at: the
/// artifact's name, else `spec.artifacts`.
pub fn artifact_line(pos: &Positions, def: &ProfileDefinition, name: &str) -> usize {
    match def.artifacts.iter().position(|a| a.name == name) {
        Some(i) => pos.line(&format!("spec.artifacts[{i}].name")),
        None => pos.line("spec.artifacts"),
    }
}

/// The first `artifact "NAME"` a message names.
pub fn artifact_in_message(msg: &str) -> Option<String> {
    let rest = &msg[msg.find("artifact \"")? + 10..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The `(line N)` a template error ends with.
pub fn template_line(msg: &str) -> Option<usize> {
    let rest = &msg[msg.rfind("(line ")? + 6..];
    rest[..rest.find(')')?].parse().ok()
}

#[cfg(test)]
mod tests;
