//! The pre-commit graph check (docs/layout.md#before-a-commit-the-graph-check): before
//! anything is committed, the objects about to be written are walked the way Flux will
//! walk them. A failure here is a bug in pctl (exit 2), never a broken commit.
use crate::error::Bug;
use crate::render::{Rendered, WRAPPER_FILE};
use crate::yaml::{self, At, Value};
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
        // Through the process's parse cache (the ownership walk and the commit guard
        // read the same files); anything but one document is read as before.
        let one = super::build::documents(path, &text)
            .ok()
            .filter(|d| d.len() == 1)
            .and_then(|mut d| d.pop());
        let doc = match one.map_or_else(|| yaml::from_str(path, &text).map(std::rc::Rc::new), Ok) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{path}: {e}"));
                continue;
            }
        };
        let name = doc
            .at("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !crate::names::is_dns1123_label(&name) {
            problems.push(format!("{path}: name {name:?} is not a DNS-1123 label"));
        }
        match doc.get("kind").and_then(Value::as_str) {
            Some("Kustomization") => {
                let p = doc
                    .at("/spec/path")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let rel = p.trim_start_matches("./");
                // A wrapper may point at a fleet base
                // (docs/fleets.md#one-install-several-clusters-one-copy).
                let bases = &r.record.spec.bases;
                match crate::gitops::bases::logical(install_dir, bases, rel).as_deref() {
                    Some(inner)
                        if r.files.contains_key(&format!("{inner}/kustomization.yaml"))
                            || r.files.contains_key(&format!("{inner}/kustomization.yml"))
                            || r.files.contains_key(&format!("{inner}/Kustomization")) => {}
                    _ => problems.push(format!(
                        "{path}: spec.path {p:?} holds no kustomization.yaml"
                    )),
                }
                let deps = doc
                    .at("/spec/dependsOn")
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
                    .at("/spec/chart/spec/sourceRef/kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let src = doc
                    .at("/spec/chart/spec/sourceRef/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let chart = doc
                    .at("/spec/chart/spec/chart")
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
                let inner = crate::gitops::bases::logical(install_dir, &r.record.spec.bases, rel)
                    .unwrap_or_else(|| rel.to_string());
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

/// The Flux APIs a current Flux serves, for the groups pctl writes: (apiVersion, kinds).
const SERVED: &[(&str, &[&str])] = &[
    (
        "source.toolkit.fluxcd.io/v1",
        &[
            "GitRepository",
            "HelmRepository",
            "OCIRepository",
            "HelmChart",
            "Bucket",
            "ExternalArtifact",
        ],
    ),
    ("helm.toolkit.fluxcd.io/v2", &["HelmRelease"]),
    ("kustomize.toolkit.fluxcd.io/v1", &["Kustomization"]),
];

/// What the Flux schemas require of the objects pctl generates: (kind, required spec
/// fields, every spec field the schema allows). Field names only, from the CRDs'
/// OpenAPI schemas (`additionalProperties: false` on spec).
const SPECS: &[(&str, &[&str], &[&str])] = &[
    (
        "Kustomization",
        &["interval", "prune", "sourceRef"],
        &[
            "buildMetadata",
            "commonMetadata",
            "components",
            "decryption",
            "deletionPolicy",
            "dependsOn",
            "force",
            "healthCheckExprs",
            "healthChecks",
            "ignore",
            "ignoreMissingComponents",
            "images",
            "interval",
            "kubeConfig",
            "namePrefix",
            "nameSuffix",
            "patches",
            "path",
            "postBuild",
            "prune",
            "retryInterval",
            "serviceAccountName",
            "sourceRef",
            "suspend",
            "targetNamespace",
            "timeout",
            "wait",
        ],
    ),
    (
        "HelmRelease",
        &["interval"],
        &[
            "chart",
            "chartRef",
            "commonMetadata",
            "dependsOn",
            "driftDetection",
            "healthCheckExprs",
            "install",
            "interval",
            "kubeConfig",
            "maxHistory",
            "persistentClient",
            "postRenderStrategy",
            "postRenderers",
            "releaseName",
            "rollback",
            "serviceAccountName",
            "storageNamespace",
            "suspend",
            "targetNamespace",
            "test",
            "timeout",
            "uninstall",
            "upgrade",
            "values",
            "valuesFrom",
            "waitStrategy",
        ],
    ),
    (
        "HelmRepository",
        &["url"],
        &[
            "accessFrom",
            "certSecretRef",
            "insecure",
            "interval",
            "passCredentials",
            "provider",
            "secretRef",
            "suspend",
            "timeout",
            "type",
            "url",
        ],
    ),
];

/// Structural validation of the Flux objects in a rendering, as the Flux schemas
/// would do it: every document of a Flux group uses an apiVersion and kind a current
/// Flux serves; the objects pctl generates (wrappers, HelmReleases, HelmRepositories)
/// have a name and namespace, their required spec fields, no field the schema does
/// not know, well-formed durations and enums. Returns one line per problem.
pub fn flux_objects(r: &Rendered) -> Vec<String> {
    let mut problems = Vec::new();
    let generated = |path: &str| {
        path.ends_with(WRAPPER_FILE)
            || r.leaves.iter().any(|l| {
                l.kind != "kustomize"
                    && (path == format!("artifacts/{}/helm-release.yaml", l.id)
                        || path == format!("artifacts/{}/helm-repository.yaml", l.id))
            })
    };
    for (path, bytes) in &r.files {
        if !(path.ends_with(".yaml") || path.ends_with(".yml"))
            || r.is_chart_file(path)
            || path == crate::record::FILE
        {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        let Ok(docs) = super::build::documents(path, &text) else {
            continue;
        };
        for doc in docs {
            let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
            let group = api.split('/').next().unwrap_or("");
            if SERVED
                .iter()
                .any(|(a, _)| a.split('/').next() == Some(group))
            {
                let served = SERVED
                    .iter()
                    .any(|(a, kinds)| *a == api && kinds.contains(&kind));
                if !served {
                    let now = SERVED
                        .iter()
                        .find(|(_, kinds)| kinds.contains(&kind))
                        .map(|(a, _)| format!("; use {a}"))
                        .unwrap_or_default();
                    problems.push(format!(
                        "{path}: {kind} {api} is not served by a current Flux{now}"
                    ));
                    continue;
                }
            }
            if generated(path) {
                problems.extend(
                    object_problems(&doc, kind)
                        .into_iter()
                        .map(|p| format!("{path}: {kind}: {p}")),
                );
            }
        }
    }
    problems
}

fn is_duration(s: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
}

/// What the schema of `kind` finds wrong with one object.
fn object_problems(doc: &Value, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some((_, required, allowed)) = SPECS.iter().find(|(k, _, _)| *k == kind) else {
        return out;
    };
    for field in ["name", "namespace"] {
        if doc
            .at(&format!("/metadata/{field}"))
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            out.push(format!("metadata.{field} is missing"));
        }
    }
    let Some(spec) = doc.get("spec").and_then(Value::as_object) else {
        out.push("spec is missing".into());
        return out;
    };
    for f in *required {
        if !spec.contains_key(*f) {
            out.push(format!("spec.{f} is required"));
        }
    }
    for k in spec.keys() {
        if !allowed.contains(&k.as_str()) {
            out.push(format!("spec.{k} is not a field of {kind}"));
        }
    }
    for f in ["interval", "timeout", "retryInterval"] {
        if let Some(v) = spec.get(f)
            && !v.as_str().is_some_and(is_duration)
        {
            out.push(format!("spec.{f} {v} is not a duration such as 10m0s"));
        }
    }
    let refs = |v: Option<&Value>, at: &str, out: &mut Vec<String>| {
        if let Some(list) = v {
            match list.as_array() {
                Some(items) => {
                    for (i, d) in items.iter().enumerate() {
                        if d.get("name")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                        {
                            out.push(format!("{at}[{i}].name is required"));
                        }
                    }
                }
                None => out.push(format!("{at} must be a list")),
            }
        }
    };
    refs(spec.get("dependsOn"), "spec.dependsOn", &mut out);
    match kind {
        "Kustomization" => {
            for f in ["kind", "name"] {
                if spec
                    .get("sourceRef")
                    .and_then(|s| s.get(f))
                    .and_then(Value::as_str)
                    .is_none()
                {
                    out.push(format!("spec.sourceRef.{f} is required"));
                }
            }
            if let Some(d) = spec.get("decryption")
                && d.get("provider").and_then(Value::as_str) != Some("sops")
            {
                out.push("spec.decryption.provider must be sops".into());
            }
        }
        "HelmRelease" => {
            match spec.get("chart").and_then(|c| c.get("spec")) {
                Some(cs) => {
                    if cs.get("chart").and_then(Value::as_str).is_none() {
                        out.push("spec.chart.spec.chart is required".into());
                    }
                    let kind = cs.at("/sourceRef/kind").and_then(Value::as_str);
                    if !matches!(kind, Some("HelmRepository" | "GitRepository" | "Bucket")) {
                        out.push(format!(
                            "spec.chart.spec.sourceRef.kind {kind:?} is not HelmRepository, GitRepository or Bucket"
                        ));
                    }
                    if cs.at("/sourceRef/name").and_then(Value::as_str).is_none() {
                        out.push("spec.chart.spec.sourceRef.name is required".into());
                    }
                }
                None if spec.get("chartRef").is_none() => {
                    out.push("spec.chart or spec.chartRef is required".into())
                }
                None => {}
            }
            if let Some(vf) = spec.get("valuesFrom") {
                for (i, v) in vf.as_array().into_iter().flatten().enumerate() {
                    if !matches!(
                        v.get("kind").and_then(Value::as_str),
                        Some("Secret" | "ConfigMap")
                    ) || v.get("name").and_then(Value::as_str).is_none()
                    {
                        out.push(format!(
                            "spec.valuesFrom[{i}] needs kind Secret or ConfigMap and a name"
                        ));
                    }
                }
            }
        }
        "HelmRepository" => {
            if let Some(t) = spec.get("type")
                && !matches!(t.as_str(), Some("default" | "oci"))
            {
                out.push(format!("spec.type {t} is not default or oci"));
            }
        }
        _ => {}
    }
    out
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
    fn flux_objects_are_checked_against_the_schemas() {
        let wrapper = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a, namespace: flux-system}\nspec: {interval: 10m0s, prune: true, sourceRef: {kind: GitRepository, name: flux-system}, path: ./x, wait: true}\n";
        let old = "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata: {name: b}\nspec: {interval: 1m}\n";
        let mut r = Rendered {
            files: BTreeMap::from([
                ("artifacts/a/kustomize-flux.yaml".to_string(), wrapper.as_bytes().to_vec()),
                ("artifacts/a/hr.yaml".to_string(), old.as_bytes().to_vec()),
            ]),
            record: crate::record::Installation::from_yaml(
                "t",
                "apiVersion: x\nkind: y\nmetadata: {name: n}\nspec: {namespace: d, path: p, profile: q, source: {url: u}, files: {}, generatedBy: t}\n",
            )
            .unwrap(),
            leaves: Vec::new(),
            notes: Vec::new(),
            sealed: BTreeMap::new(),
            relocatable: false,
        };
        let p = flux_objects(&r);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("v2beta1 is not served")
                && p[0].contains("use helm.toolkit.fluxcd.io/v2"),
            "{p:?}"
        );
        let broken = wrapper
            .replace("prune: true, ", "")
            .replace("10m0s", "ten minutes")
            .replace("wait: true", "wiat: true");
        r.files.insert(
            "artifacts/a/kustomize-flux.yaml".into(),
            broken.into_bytes(),
        );
        let p = flux_objects(&r).join("\n");
        assert!(p.contains("spec.prune is required"), "{p}");
        assert!(
            p.contains("spec.interval \"ten minutes\" is not a duration"),
            "{p}"
        );
        assert!(
            p.contains("spec.wiat is not a field of Kustomization"),
            "{p}"
        );
    }

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
