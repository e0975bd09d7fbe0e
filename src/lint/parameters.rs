//! Lint's checks of parameters and presets: each parameter read by the model, then
//! what is legal but wrong (a default that fails its own type, constraints its type
//! ignores, secrets in plaintext), and every preset value against its parameter.
use super::*;
use crate::model::{ParamType, Parameter};
use std::collections::{BTreeMap, BTreeSet};

/// Check the parameters; returns every parameter that parsed, by name, and the
/// names of those that did not.
pub(super) fn check_parameters(
    file: &str,
    pos: &Positions,
    items: &[Map],
    read: &model::lenient::Lenient,
    findings: &mut Vec<Finding>,
) -> Params {
    let mut out = Params::default();
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("spec.parameters[{i}]");
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            continue;
        };
        let line = |field: &str| pos.line(&format!("{path}.{field}"));
        out.declared.insert(name.to_string());
        // A second declaration is reported by the name rules (`check_names`).
        if first.contains_key(name) {
            continue;
        }
        first.insert(name.to_string(), i);
        // The parameter as the model converted it, or why it could not.
        let Some(Some(p)) = read.parameters.get(i).cloned() else {
            let at = format!("{path}.");
            for (_, e) in read.problems.iter().filter(|(p, _)| p.starts_with(&at)) {
                findings.push(model_finding(file, line("type"), e));
            }
            continue;
        };
        for f in check_parameter(&p) {
            let (field, severity, msg, hint) = f;
            findings.push(Finding::new(file, line(field), severity, msg).with_hint(hint));
        }
        out.valid.insert(name.to_string(), p);
    }
    out
}

#[derive(Default)]
pub(super) struct Params {
    pub(super) declared: BTreeSet<String>,
    pub(super) valid: BTreeMap<String, Parameter>,
}

/// What is wrong with one parameter on its own: (field, severity, message, hint).
pub(super) fn check_parameter(p: &Parameter) -> Vec<(&'static str, Severity, String, String)> {
    let mut out = Vec::new();
    let name = &p.name;
    let mut push =
        |field, sev, msg: String, hint: &str| out.push((field, sev, msg, hint.to_string()));
    if name.contains('.') {
        push(
            "name",
            Severity::Error,
            format!(
                "parameter name {name:?} contains '.', which separates PROFILE.PARAM and ARTIFACT.PARAM in values"
            ),
            "use letters, digits and '_'",
        );
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        push(
            "name",
            Severity::Warning,
            format!(
                "parameter name {name:?} is not a template identifier: templates must write params[\"{name}\"]"
            ),
            "use letters, digits and '_' so templates can write params.NAME",
        );
    }
    let numeric = matches!(p.kind, ParamType::Integer | ParamType::Number);
    let textual = matches!(p.kind, ParamType::String | ParamType::Secret);
    if p.multiline && !matches!(p.kind, ParamType::String | ParamType::Object) {
        push(
            "multiline",
            Severity::Warning,
            format!("parameter {name:?}: `multiline` applies only to string and object parameters"),
            "remove `multiline` (secrets may always span lines)",
        );
    }
    if p.kind == ParamType::Enum && p.allowed.is_empty() {
        push(
            "type",
            Severity::Error,
            format!("parameter {name:?} is an enum without `enum` values"),
            "list the allowed values: enum: [small, large]",
        );
    }
    if p.kind != ParamType::Enum && !p.allowed.is_empty() {
        push(
            "enum",
            Severity::Warning,
            format!(
                "parameter {name:?}: `enum` is ignored for type {}",
                p.kind.as_str()
            ),
            "set `type: enum` to restrict the values",
        );
    }
    if let Some(pattern) = &p.pattern {
        if let Err(e) = regex::Regex::new(pattern) {
            push(
                "pattern",
                Severity::Error,
                format!(
                    "parameter {name:?}: pattern {pattern:?} is not a valid regular expression: {e}"
                ),
                "",
            );
        } else if !textual {
            push(
                "pattern",
                Severity::Warning,
                format!(
                    "parameter {name:?}: `pattern` is ignored for type {}",
                    p.kind.as_str()
                ),
                "patterns apply to string and secret parameters",
            );
        }
    }
    for (field, v) in [("minimum", p.minimum), ("maximum", p.maximum)] {
        if v.is_some() && !numeric {
            push(
                field,
                Severity::Warning,
                format!(
                    "parameter {name:?}: `{field}` is ignored for type {}",
                    p.kind.as_str()
                ),
                "minimum and maximum apply to integer and number parameters",
            );
        }
    }
    if let (Some(min), Some(max)) = (p.minimum, p.maximum)
        && min > max
    {
        push(
            "minimum",
            Severity::Error,
            format!("parameter {name:?}: minimum {min} is above maximum {max}"),
            "no value could satisfy both",
        );
    }
    if let Some(d) = &p.default {
        if let Err(e) = crate::values::coerce(p, &crate::values::from_profile(p, d)) {
            push(
                "default",
                Severity::Error,
                format!("parameter {name:?}: default {e}"),
                "give a default of the declared type that meets its constraints",
            );
        }
        if p.required {
            push(
                "required",
                Severity::Warning,
                format!("parameter {name:?} is required but has a default, so it is never missing"),
                "drop `required` or the default",
            );
        }
        if p.kind == ParamType::Secret {
            push(
                "default",
                Severity::Warning,
                format!(
                    "secret parameter {name:?} has a default, which sits in plaintext in profile.yaml"
                ),
                "remove the default: secrets come from --set-file, --set-env or a values file",
            );
        }
    }
    out
}

pub(super) fn check_presets(
    file: &str,
    pos: &Positions,
    presets: &Map,
    params: &Params,
    findings: &mut Vec<Finding>,
) {
    let declared: Vec<&str> = params.declared.iter().map(String::as_str).collect();
    for (preset, set) in presets {
        let Some(set) = set.as_object() else { continue };
        for (k, v) in set {
            let line = pos.line(&format!("spec.presets.{preset}.{k}"));
            if !params.declared.contains(k) {
                let hint = if declared.is_empty() {
                    "this profile declares no parameters".to_string()
                } else {
                    model::field_hint(k, &declared).replace("Allowed:", "Parameters:")
                };
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Error,
                        format!(
                            "preset {preset:?} sets {k:?}, which is not a parameter of this profile"
                        ),
                    )
                    .with_hint(hint),
                );
                continue;
            }
            let Some(p) = params.valid.get(k) else {
                continue;
            };
            if let Err(e) = crate::values::coerce(p, &crate::values::from_profile(p, v)) {
                findings.push(Finding::new(
                    file,
                    line,
                    Severity::Error,
                    format!("preset {preset:?} sets parameter {k:?}: {e}"),
                ));
            }
            if p.kind == ParamType::Secret {
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Warning,
                        format!("preset {preset:?} sets secret parameter {k:?} in plaintext in profile.yaml"),
                    )
                    .with_hint("secrets come from --set-file, --set-env or a values file"),
                );
            }
        }
    }
}
