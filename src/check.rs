//! The pre-commit graph check (SPEC §5): before anything is committed, the objects
//! about to be written are walked the way Flux will walk them. A failure here is a bug
//! in pctl (exit 2), never a broken commit.
use crate::error::Bug;
use crate::render::{Rendered, WRAPPER_FILE};
use crate::yaml::{self, Value};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// Check a rendering: every wrapper's path exists inside the installation and holds a
/// kustomization.yaml, every dependsOn names a wrapper that exists, dependsOn has no
/// cycle, every HelmRelease source exists, every name is a valid DNS-1123 label.
pub fn check(r: &Rendered, install_dir: &str, git_repo: &str) -> Result<()> {
    let mut problems = Vec::new();
    let mut wrappers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sources: BTreeSet<(String, String)> = BTreeSet::new();
    let mut releases: Vec<(String, String, String, Option<String>)> = Vec::new();
    for (path, bytes) in &r.files {
        if !(path.ends_with(WRAPPER_FILE)
            || path.ends_with("helm-repository.yaml")
            || path.ends_with("helm-release.yaml"))
        {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        let doc: Value = match yaml::from_str(path, &text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{path}: {e}"));
                continue;
            }
        };
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !crate::names::is_dns1123_label(&name) {
            problems.push(format!("{path}: name {name:?} is not a DNS-1123 label"));
        }
        match doc.get("kind").and_then(Value::as_str) {
            Some("Kustomization") => {
                let p = doc
                    .pointer("/spec/path")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let rel = p.trim_start_matches("./");
                match rel.strip_prefix(&format!("{install_dir}/")) {
                    Some(inner)
                        if r.files.contains_key(&format!("{inner}/kustomization.yaml"))
                            || r.files.contains_key(&format!("{inner}/kustomization.yml"))
                            || r.files.contains_key(&format!("{inner}/Kustomization")) => {}
                    _ => problems.push(format!(
                        "{path}: spec.path {p:?} holds no kustomization.yaml"
                    )),
                }
                let deps = doc
                    .pointer("/spec/dependsOn")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|d| {
                                d.get("name").and_then(Value::as_str).map(str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if wrappers.insert(name.clone(), deps).is_some() {
                    problems.push(format!("{path}: Kustomization {name} is defined twice"));
                }
            }
            Some("HelmRepository") => {
                sources.insert(("HelmRepository".into(), name));
            }
            Some("HelmRelease") => {
                let kind = doc
                    .pointer("/spec/chart/spec/sourceRef/kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let src = doc
                    .pointer("/spec/chart/spec/sourceRef/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let chart = doc
                    .pointer("/spec/chart/spec/chart")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                releases.push((path.clone(), kind, src, chart));
            }
            _ => {}
        }
    }
    for (path, kind, src, chart) in &releases {
        match kind.as_str() {
            "GitRepository" if src == git_repo => {
                let rel = chart
                    .as_deref()
                    .unwrap_or_default()
                    .trim_start_matches("./");
                let inner = rel.strip_prefix(&format!("{install_dir}/")).unwrap_or(rel);
                if !r.files.contains_key(&format!("{inner}/Chart.yaml")) {
                    problems.push(format!("{path}: chart {rel:?} has no Chart.yaml"));
                }
            }
            _ if sources.contains(&(kind.clone(), src.clone())) => {}
            _ => problems.push(format!("{path}: chart source {kind} {src} is not defined")),
        }
    }
    for (name, deps) in &wrappers {
        for d in deps {
            if !wrappers.contains_key(d) {
                problems.push(format!(
                    "Kustomization {name}: dependsOn {d} is not defined"
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(&wrappers) {
        problems.push(format!("dependsOn cycle: {}", cycle.join(" -> ")));
    }
    for leaf in &r.leaves {
        if !r
            .files
            .contains_key(&format!("artifacts/{}/{WRAPPER_FILE}", leaf.id))
        {
            problems.push(format!("artifact {} has no wrapper", leaf.id));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(anyhow::Error::new(Bug(format!(
            "the generated Flux graph is broken ({}); nothing was written; please report this",
            problems.join("; ")
        ))))
    }
}

fn find_cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, Vec<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found() {
        let mut g = BTreeMap::new();
        g.insert("a".to_string(), vec!["b".to_string()]);
        g.insert("b".to_string(), vec!["a".to_string()]);
        assert_eq!(find_cycle(&g).unwrap(), vec!["a", "b", "a"]);
        g.insert("b".to_string(), vec![]);
        assert!(find_cycle(&g).is_none());
    }
}
