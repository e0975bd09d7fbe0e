//! Rules one whole definition must satisfy: artifact names valid and unique,
//! `dependsOn` targets present and acyclic, parameter names unique. Every problem is
//! found ([`name_problems`], which `pctl lint` reports at their lines); reading a
//! profile stops at the first ([`validate`]).
use super::*;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};

/// One problem of the names of a definition: where (`artifacts[2].dependsOn[0]`, by
/// the index given to [`name_problems`]), the message, a hint, and for a name used
/// twice where it was first.
#[derive(Debug, Clone, PartialEq)]
pub struct NameProblem {
    pub path: String,
    pub message: String,
    pub hint: String,
    pub first: Option<String>,
}

/// An artifact as the name rules see it: its name and its `dependsOn` names.
pub type Named<'a> = (&'a str, Vec<&'a str>);

/// Rules that one definition must satisfy on its own: the field rules of every
/// artifact ([`rules::check`]), then the first of [`name_problems`].
pub fn validate(origin: &str, def: &ProfileDefinition) -> Result<()> {
    rules::check(origin, def)?;
    let artifacts: Vec<Named> = def
        .artifacts
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.depends_on.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let parameters: Vec<&str> = def.parameters.iter().map(|p| p.name.as_str()).collect();
    if let Some(p) = name_problems(&artifacts, &parameters).into_iter().next() {
        bail!(crate::error::user(
            format!("{origin}: {}", p.message),
            p.hint
        ));
    }
    Ok(())
}

/// Every problem of the artifact and parameter names, in this order: names that are
/// not DNS-1123 labels or used twice, `dependsOn` entries naming the artifact itself
/// or no artifact, cycles (each once, from its alphabetically first artifact), and
/// parameters declared twice.
pub fn name_problems(artifacts: &[Named], parameters: &[&str]) -> Vec<NameProblem> {
    let mut out = Vec::new();
    let mut push = |path: String, message: String, hint: String, first: Option<String>| {
        out.push(NameProblem {
            path,
            message,
            hint,
            first,
        })
    };
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (name, _)) in artifacts.iter().enumerate() {
        if crate::names::sanitize(name) != *name || name.is_empty() {
            push(
                format!("artifacts[{i}].name"),
                format!("artifact name {name:?} is not a DNS-1123 label"),
                "use lower-case letters, digits and '-'".into(),
                None,
            );
        }
        match first.get(name) {
            Some(j) => push(
                format!("artifacts[{i}].name"),
                format!("artifact name {name:?} is used twice"),
                "artifact names must be unique within a profile".into(),
                Some(format!("artifacts[{j}].name")),
            ),
            None => {
                first.insert(name, i);
            }
        }
    }
    let names: Vec<&str> = artifacts.iter().map(|(n, _)| *n).collect();
    let mut deps: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for (i, (name, depends_on)) in artifacts.iter().enumerate() {
        let mut own = Vec::new();
        for (j, d) in depends_on.iter().enumerate() {
            if d == name {
                push(
                    format!("artifacts[{i}].dependsOn[{j}]"),
                    format!("artifact {name:?} depends on itself"),
                    "remove it from its own dependsOn".into(),
                    None,
                );
            } else if !names.contains(d) {
                push(
                    format!("artifacts[{i}].dependsOn[{j}]"),
                    format!(
                        "artifact {name:?} depends on {d:?}, which is not an artifact of this profile"
                    ),
                    format!(
                        "dependsOn names an artifact of the same profile: {}",
                        names.join(", ")
                    ),
                    None,
                );
            } else {
                own.push(d.to_string());
            }
        }
        deps.entry(name.to_string()).or_insert((i, own));
    }
    let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    for start in deps.keys() {
        if let Some(cycle) = cycle_from(start, &deps) {
            let members: BTreeSet<String> = cycle.iter().cloned().collect();
            if !reported.insert(members) {
                continue;
            }
            push(
                format!("artifacts[{}].dependsOn", deps[start].0),
                format!("dependsOn cycle: {}", cycle.join(" -> ")),
                "break the cycle: Flux would wait forever".into(),
                None,
            );
        }
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, p) in parameters.iter().enumerate() {
        match seen.get(p) {
            Some(j) => push(
                format!("parameters[{k}].name"),
                format!("parameter {p:?} is declared twice"),
                "parameter names must be unique within a profile".into(),
                Some(format!("parameters[{j}].name")),
            ),
            None => {
                seen.insert(p, k);
            }
        }
    }
    out
}

/// A dependency cycle through `start`, as the chain from `start` back to it.
fn cycle_from(start: &str, deps: &BTreeMap<String, (usize, Vec<String>)>) -> Option<Vec<String>> {
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
