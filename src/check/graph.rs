//! What only the whole walk shows: `dependsOn` targets and cycles, HelmRelease chart
//! sources, chart paths and `valuesFrom` ConfigMaps, namespaces nothing creates,
//! `.sourceignore`; and laying out an `ArtifactGenerator`'s artifact (Flux 2.7
//! source-watcher) by its copy rules.
use super::tree::{Files, glob_regex, join, resolve};
use super::{FLUX_HELM, FLUX_KS, Severity, Walk};
use crate::yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

fn str_at<'v>(v: &'v Value, p: &str) -> &'v str {
    field(v, p).and_then(Value::as_str).unwrap_or("")
}

/// `v.pointer(p)` for a pointer of plain keys (`/spec/dependsOn`), looked up key by
/// key: `Value::pointer` unescapes each part into a new string.
fn field<'v>(v: &'v Value, p: &str) -> Option<&'v Value> {
    p.split('/').skip(1).try_fold(v, |v, k| v.get(k))
}

/// `KIND NAME` in a message, written only when a problem is reported.
struct KindName<'a>(&'a str, &'a str);

impl std::fmt::Display for KindName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}

/// dependsOn targets, chart sources and paths, valuesFrom, chartRef.
pub fn check(w: &mut Walk) {
    let mut out: Vec<(String, usize, Severity, String)> = Vec::new();
    for o in &w.objects {
        let is_flux = o.api.starts_with(FLUX_KS) || o.api.starts_with(FLUX_HELM);
        if !is_flux || o.rendered {
            continue;
        }
        let v = &o.doc.value;
        let at = |path: &[&str]| {
            o.doc
                .line_of(&path.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let what = KindName(&o.kind, &o.name);
        for dep in field(v, "/spec/dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = dep.get("name").and_then(Value::as_str) else {
                continue;
            };
            let ns = dep
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(&o.ns);
            if !w.has(&(o.kind.clone(), ns.to_string(), name.to_string())) {
                out.push((
                    o.doc.file.clone(),
                    at(&["spec", "dependsOn"]),
                    Severity::Error,
                    format!(
                        "{what}: dependsOn {ns}/{name} is not a {} that any synced path defines",
                        o.kind
                    ),
                ));
            }
        }
        if o.kind != "HelmRelease" || !o.api.starts_with(FLUX_HELM) {
            continue;
        }
        if let Some(sref) = field(v, "/spec/chart/spec/sourceRef").filter(|s| s.is_object()) {
            let kind = str_at(sref, "/kind");
            let ns = sref
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(&o.ns);
            let name = str_at(sref, "/name");
            let is_root = kind == "GitRepository" && ns == w.src_ns && name == w.src_name;
            if !is_root && !w.has(&(kind.to_string(), ns.to_string(), name.to_string())) {
                out.push((
                    o.doc.file.clone(),
                    at(&["spec", "chart", "spec", "sourceRef"]),
                    Severity::Error,
                    format!(
                        "{what}: chart source {kind} {ns}/{name} is not defined by any synced path"
                    ),
                ));
            }
            if is_root {
                let chart = str_at(v, "/spec/chart/spec/chart");
                let dir = resolve("", chart).unwrap_or_default();
                if !w.files.is_file(&join(&dir, "Chart.yaml")) {
                    out.push((
                        o.doc.file.clone(),
                        at(&["spec", "chart", "spec", "chart"]),
                        Severity::Error,
                        format!("{what}: chart path {chart:?} has no Chart.yaml in the repository"),
                    ));
                }
            }
        }
        for r in field(v, "/spec/valuesFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if r.get("optional").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let kind = str_at(r, "/kind");
            let name = str_at(r, "/name");
            let k = (kind.to_string(), o.ns.clone(), name.to_string());
            if kind == "ConfigMap" && !w.has(&k) {
                out.push((o.doc.file.clone(), at(&["spec", "valuesFrom"]), Severity::Error, format!("{what}: valuesFrom ConfigMap {}/{name} is not defined by any synced path (mark it optional: true if it is made elsewhere)", o.ns)));
            } else if kind == "Secret" && !w.has(&k) {
                out.push((o.doc.file.clone(), at(&["spec", "valuesFrom"]), Severity::Note, format!("{what}: valuesFrom Secret {}/{name} must exist in the cluster (it is not in Git)", o.ns)));
            }
        }
        if let Some(r) = field(v, "/spec/chartRef").filter(|s| s.is_object()) {
            let kind = str_at(r, "/kind");
            let ns = r.get("namespace").and_then(Value::as_str).unwrap_or(&o.ns);
            let name = str_at(r, "/name");
            if !w.has(&(kind.to_string(), ns.to_string(), name.to_string())) {
                out.push((
                    o.doc.file.clone(),
                    at(&["spec", "chartRef"]),
                    Severity::Error,
                    format!(
                        "{what}: chartRef {kind} {ns}/{name} is not defined by any synced path"
                    ),
                ));
            }
        }
    }
    for (f, l, s, m) in out {
        w.push(&f, l, s, m);
    }
}

/// dependsOn cycles among Flux Kustomizations and HelmReleases: a depth-first search
/// from each object that depends on something, in (kind, namespace, name) order,
/// over the objects' indexes (linear in the objects and their dependsOn entries).
pub fn cycles(w: &mut Walk) {
    // The objects with at least one named dependsOn, and what each names, in order.
    let mut deps: Vec<(usize, Vec<(&str, &str)>)> = Vec::new();
    for (i, o) in w.objects.iter().enumerate() {
        if !(o.api.starts_with(FLUX_KS) || o.api.starts_with(FLUX_HELM)) || o.rendered {
            continue;
        }
        let named: Vec<(&str, &str)> = field(&o.doc.value, "/spec/dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|dep| {
                let name = dep.get("name").and_then(Value::as_str)?;
                let ns = dep
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or(&o.ns);
                Some((ns, name))
            })
            .collect();
        if !named.is_empty() {
            deps.push((i, named));
        }
    }
    let objects = &w.objects;
    let key = |i: usize| {
        let o = &objects[i];
        (o.kind.as_str(), o.ns.as_str(), o.name.as_str())
    };
    deps.sort_by(|a, b| key(a.0).cmp(&key(b.0)));
    // Only an object that depends on something can be on a cycle.
    let node: foldhash::HashMap<(&str, &str, &str), usize> = deps
        .iter()
        .enumerate()
        .map(|(n, (i, _))| (key(*i), n))
        .collect();
    let edges: Vec<Vec<usize>> = deps
        .iter()
        .map(|(i, named)| {
            let kind = objects[*i].kind.as_str();
            named
                .iter()
                .filter_map(|(ns, name)| node.get(&(kind, *ns, *name)).copied())
                .collect()
        })
        .collect();
    // 0 unseen, 1 on the stack, 2 done.
    let mut state = vec![0u8; edges.len()];
    let mut found: Vec<Vec<usize>> = Vec::new();
    fn visit(
        n: usize,
        stack: &mut Vec<usize>,
        edges: &[Vec<usize>],
        state: &mut [u8],
        found: &mut Vec<Vec<usize>>,
    ) {
        state[n] = 1;
        stack.push(n);
        for &m in &edges[n] {
            match state[m] {
                1 => {
                    let start = stack.iter().position(|x| *x == m).unwrap_or(0);
                    let mut c = stack[start..].to_vec();
                    c.push(m);
                    found.push(c);
                }
                0 => visit(m, stack, edges, state, found),
                _ => {}
            }
        }
        stack.pop();
        state[n] = 2;
    }
    for n in 0..edges.len() {
        if state[n] == 0 {
            visit(n, &mut Vec::new(), &edges, &mut state, &mut found);
        }
    }
    let out: Vec<(String, usize, String)> = found
        .into_iter()
        .map(|c| {
            let first = &objects[deps[c[0]].0];
            let chain: Vec<String> = c
                .iter()
                .map(|n| {
                    let (_, ns, name) = key(deps[*n].0);
                    format!("{ns}/{name}")
                })
                .collect();
            (
                first.doc.file.clone(),
                first.doc.line,
                format!(
                    "dependsOn cycle: {} (Flux waits forever)",
                    chain.join(" -> ")
                ),
            )
        })
        .collect();
    for (file, line, msg) in out {
        w.push(&file, line, Severity::Error, msg);
    }
}

/// Namespaces that objects go to but that nothing in the walk creates (a note: they
/// may be made outside Git).
pub fn namespaces(w: &mut Walk) {
    const BUILTIN: &[&str] = &[
        "default",
        "flux-system",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    ];
    let created: BTreeSet<&str> = w
        .objects
        .iter()
        .filter(|o| o.kind == "Namespace")
        .map(|o| o.name.as_str())
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for o in &w.objects {
        if super::build::CLUSTER_SCOPED.contains(&o.kind.as_str()) || o.rendered {
            continue;
        }
        let ns = o.ns.as_str();
        if BUILTIN.contains(&ns) || created.contains(ns) || !seen.insert(ns.to_string()) {
            continue;
        }
        out.push((o.doc.file.clone(), o.doc.line, format!("namespace {ns} (of {} {}) is created by nothing in the repository; it must exist in the cluster", o.kind, o.name)));
    }
    for (f, l, m) in out {
        w.push(&f, l, Severity::Note, m);
    }
}

/// `.sourceignore` must leave `.pctl/` out: Flux fails on YAML that is not a
/// Kubernetes object.
pub fn sourceignore(w: &mut Walk, sync_path: &str) {
    if !w.files.is_dir(".pctl") || w.ignore.ignored(".pctl", true) {
        return;
    }
    let reached = resolve("", sync_path).is_some_and(|p| p.is_empty());
    let (file, sev) = if w.files.is_file(".sourceignore") {
        (
            ".sourceignore",
            if reached {
                Severity::Error
            } else {
                Severity::Warning
            },
        )
    } else {
        (
            super::CONFIG,
            if reached {
                Severity::Error
            } else {
                Severity::Warning
            },
        )
    };
    w.push(file, 1, sev, ".sourceignore does not leave out .pctl/ (pctl's own files are not Kubernetes objects, and Flux fails on them when a generated path reaches them); add the line `.pctl/`".into());
}

/// Lay out artifact `name` of the ArtifactGenerator (in namespace `ns`) that makes it,
/// from the GitOps repository, by its copy rules. None when it cannot (reported).
pub fn lay_out(
    w: &mut Walk,
    ns: &str,
    name: &str,
    who: Option<&(String, usize, String)>,
) -> Option<Files<'static>> {
    let mut found = None;
    for o in &w.objects {
        if o.kind != "ArtifactGenerator" || o.ns != ns {
            continue;
        }
        for art in o
            .doc
            .value
            .pointer("/spec/artifacts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if art.get("name").and_then(Value::as_str) == Some(name) {
                found = Some((
                    o.doc.value.clone(),
                    art.clone(),
                    o.doc.file.clone(),
                    o.doc.line,
                ));
            }
        }
    }
    let Some((gen_doc, art, gfile, gline)) = found else {
        let (f, l, n) = who.cloned().unwrap_or_default();
        w.push(&f, l, Severity::Error, format!("Kustomization {n}: ExternalArtifact {ns}/{name} is not produced by any ArtifactGenerator that the synced paths define"));
        return None;
    };
    let aliases: BTreeSet<String> = gen_doc
        .pointer("/spec/sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| {
            str_at(s, "/kind") == "GitRepository"
                && str_at(s, "/name") == w.src_name
                && s.get("namespace").and_then(Value::as_str).unwrap_or(ns) == w.src_ns
        })
        .map(|s| str_at(s, "/alias").to_string())
        .collect();
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for rule in art
        .get("copy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let from = str_at(rule, "/from");
        let to = str_at(rule, "/to");
        if let Err(e) = copy(w.files, &aliases, from, to, rule, &mut out) {
            w.push(
                &gfile,
                gline,
                Severity::Error,
                format!("ArtifactGenerator artifact {name}: {e}"),
            );
            return None;
        }
    }
    Some(Files::memory(out))
}

fn copy(
    files: &Files,
    aliases: &BTreeSet<String>,
    from: &str,
    to: &str,
    rule: &Value,
    out: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    let (alias, pattern) = from
        .trim_start_matches('@')
        .split_once('/')
        .unwrap_or((from.trim_start_matches('@'), ""));
    if !aliases.contains(alias) {
        return Err(format!(
            "copy from {from:?}: source alias {alias:?} is not the GitOps repository"
        ));
    }
    let Some(target) = to.strip_prefix("@artifact/") else {
        return Err(format!("copy to {to:?} does not start with @artifact/"));
    };
    let excludes: Vec<regex::Regex> = rule
        .get("exclude")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|e| regex::Regex::new(&glob_regex(e).replace("[^/]*", ".*")).ok())
        .collect();
    if pattern == "**" || pattern.ends_with("/**") {
        let base =
            resolve("", pattern.trim_end_matches("**").trim_end_matches('/')).unwrap_or_default();
        if !files.is_dir(&base) {
            return Err(format!(
                "copy from {from:?}: {base} does not exist in the repository"
            ));
        }
        for f in files.files_below(&base) {
            let rel = if base.is_empty() {
                f.clone()
            } else {
                f[base.len() + 1..].to_string()
            };
            if excludes.iter().any(|e| e.is_match(&rel)) {
                continue;
            }
            if let Ok(Some(b)) = files.read(&f) {
                out.insert(resolve(target, &rel).unwrap_or(rel), b.as_ref().clone());
            }
        }
        return Ok(());
    }
    let re = regex::Regex::new(&glob_regex(pattern))
        .map_err(|_| format!("copy from {from:?}: not a valid pattern"))?;
    let fixed: Vec<&str> = pattern
        .split('/')
        .take_while(|s| !s.contains(['*', '?', '[']))
        .collect();
    let start = if fixed.len() == pattern.split('/').count() {
        fixed[..fixed.len().saturating_sub(1)].join("/")
    } else {
        fixed.join("/")
    };
    let hits: Vec<String> = files
        .files_below(&start)
        .into_iter()
        .filter(|f| re.is_match(f))
        .collect();
    if hits.is_empty() {
        return Err(format!("copy from {from:?} matches no file"));
    }
    for h in &hits {
        let base = h.rsplit('/').next().unwrap_or(h);
        let dest = if target.ends_with('/') || target.is_empty() || hits.len() > 1 {
            join(target.trim_end_matches('/'), base)
        } else {
            target.to_string()
        };
        if let Ok(Some(b)) = files.read(h) {
            out.insert(dest, b.as_ref().clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A Flux object of `kind` named `ns/name` that depends on `deps` (`name` or
    /// `ns/name`).
    fn flux(kind: &str, ns: &str, name: &str, deps: &[&str]) -> String {
        let api = match kind {
            "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
            _ => "kustomize.toolkit.fluxcd.io/v1",
        };
        let mut s = format!(
            "---\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 5m\n"
        );
        if !deps.is_empty() {
            s.push_str("  dependsOn:\n");
        }
        for d in deps {
            match d.split_once('/') {
                Some((ns, n)) => s.push_str(&format!("    - name: {n}\n      namespace: {ns}\n")),
                None => s.push_str(&format!("    - name: {d}\n")),
            }
        }
        s
    }

    #[test]
    fn dependson_cycles_are_found_once_each_in_key_order() {
        let ks = |ns, name, deps| flux("Kustomization", ns, name, deps);
        let text = [
            ks("flux-system", "zz", &["yy"]),
            ks("flux-system", "yy", &["xx", "missing"]),
            ks("flux-system", "xx", &["zz", "yy"]),
            ks("flux-system", "self", &["self"]),
            ks("other", "aa", &["bb"]),
            ks("other", "bb", &["flux-system/cc", "aa"]),
            ks("flux-system", "cc", &["other/aa"]),
            ks("flux-system", "mm", &["nn"]),
            ks("flux-system", "nn", &[]),
            ks("flux-system", "dd", &["ee"]),
            ks("flux-system", "ee", &["dd", "dd"]),
            flux("HelmRelease", "flux-system", "hr", &["hr2"]),
            flux("HelmRelease", "flux-system", "hr2", &["hr", "zz"]),
        ]
        .concat();
        let files = crate::check::tree::Files::memory(
            [("clusters/default/all.yaml".to_string(), text.into_bytes())].into(),
        );
        let opts = crate::check::Options {
            no_kustomize: true,
            ..Default::default()
        };
        let report = crate::check::run(&files, &opts);
        let cycles: Vec<String> = report
            .findings
            .iter()
            .filter_map(|f| f.message.strip_prefix("dependsOn cycle: "))
            .map(|m| m.trim_end_matches(" (Flux waits forever)").to_string())
            .collect();
        // What the search over a map keyed by (kind, namespace, name) found (main at
        // 3c6dac8): each root in key order, its dependsOn in order.
        let fs = "flux-system";
        assert_eq!(
            cycles,
            [
                format!("{fs}/hr -> {fs}/hr2 -> {fs}/hr"),
                format!("{fs}/cc -> other/aa -> other/bb -> {fs}/cc"),
                "other/aa -> other/bb -> other/aa".to_string(),
                format!("{fs}/dd -> {fs}/ee -> {fs}/dd"),
                format!("{fs}/dd -> {fs}/ee -> {fs}/dd"),
                format!("{fs}/self -> {fs}/self"),
                format!("{fs}/xx -> {fs}/zz -> {fs}/yy -> {fs}/xx"),
            ]
        );
        let first = report
            .findings
            .iter()
            .find(|f| f.message.starts_with("dependsOn cycle: "))
            .unwrap();
        assert_eq!(first.file, "clusters/default/all.yaml");
    }
}
