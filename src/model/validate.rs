//! Rules one whole definition must satisfy: artifact names valid and unique,
//! `dependsOn` targets present and acyclic, parameter names unique.
use super::*;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};

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
