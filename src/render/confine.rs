//! Kustomization files and local charts that come with a profile may name only files
//! inside their own artifact: no path that climbs out of it (into the rest of the
//! GitOps repository, another team's Secrets included), no absolute path, no remote
//! base that Flux would fetch at apply time, and no Helm chart inflation.
use crate::yaml::Value;
use anyhow::{Result, bail};
use std::collections::BTreeMap;

const NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields holding a list of paths (or, for some, inline YAML, which is skipped).
const PATH_LISTS: [&str; 9] = [
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "patchesStrategicMerge",
    "transformers",
    "generators",
    "validators",
];

/// Fields holding a list of mappings whose `path` is a file.
const PATH_ITEMS: [&str; 3] = ["patches", "patchesJson6902", "replacements"];

/// Check every kustomization among `files` (paths relative to the artifact's
/// directory, as written); `origin` names the artifact for the error.
pub fn kustomizations(origin: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for (rel, bytes) in files {
        let (dir, base) = match rel.rsplit_once('/') {
            Some((d, b)) => (d, b),
            None => ("", rel.as_str()),
        };
        if !NAMES.contains(&base) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        // A file pctl cannot read is reported by the build that reads it.
        let Ok(doc) = crate::yaml::from_str(rel, text) else {
            continue;
        };
        for (field, path) in references(&doc)? {
            if let Some(why) = problem(dir, &path) {
                bail!(crate::error::user(
                    format!("{origin}: {rel}: `{field}` entry {path:?} {why}"),
                    "a profile's kustomization may name only files and directories inside its artifact; vendor what it needs into the profile",
                ));
            }
        }
        for field in ["helmCharts", "helmChartInflationGenerator", "helmGlobals"] {
            if doc.get(field).is_some() {
                bail!(crate::error::user(
                    format!(
                        "{origin}: {rel}: `{field}` inflates a Helm chart, which Flux's kustomize-controller does not do"
                    ),
                    "make the chart a `chart:` artifact of the profile instead",
                ));
            }
        }
    }
    Ok(())
}

/// A local chart's `file://` dependencies (in `Chart.yaml` or the old
/// `requirements.yaml`, of the chart and of its subcharts) must stay inside the chart:
/// Flux's source-controller resolves them inside the GitOps repository.
pub fn chart_dependencies(origin: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for (rel, bytes) in files {
        let (dir, base) = match rel.rsplit_once('/') {
            Some((d, b)) => (d, b),
            None => ("", rel.as_str()),
        };
        if base != "Chart.yaml" && base != "requirements.yaml" {
            continue;
        }
        let Some(doc): Option<Value> = std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| crate::yaml::from_str(rel, t).ok())
        else {
            continue;
        };
        for dep in doc
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(repo) = dep.get("repository").and_then(Value::as_str) else {
                continue;
            };
            let Some(path) = repo.strip_prefix("file://") else {
                continue;
            };
            if let Some(why) = problem(dir, path) {
                bail!(crate::error::user(
                    format!("{origin}: chart {rel}: dependency repository {repo:?} {why}"),
                    "a local chart's file:// dependencies must be inside the chart directory; vendor them under charts/",
                ));
            }
        }
    }
    Ok(())
}

/// (field, path) for every file or directory the kustomization names.
fn references(doc: &Value) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    // Inline patches and generator configurations are YAML, not paths.
                    .filter(|s| !s.contains('\n'))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    for field in PATH_LISTS {
        for p in strings(doc.get(field)) {
            out.push((field.to_string(), p));
        }
    }
    for field in PATH_ITEMS {
        for item in doc
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = item.get("path").and_then(Value::as_str) {
                out.push((format!("{field}.path"), p.to_string()));
            }
        }
    }
    if let Some(p) = doc.pointer("/openapi/path").and_then(Value::as_str) {
        out.push(("openapi.path".into(), p.to_string()));
    }
    for field in ["configMapGenerator", "secretGenerator"] {
        for item in doc
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in strings(item.get("files")) {
                // `key=path` or `path`.
                let path = p.split_once('=').map(|(_, p)| p).unwrap_or(&p).to_string();
                out.push((format!("{field}.files"), path));
            }
            for p in strings(item.get("envs")) {
                out.push((format!("{field}.envs"), p));
            }
            if let Some(p) = item.get("env").and_then(Value::as_str) {
                out.push((format!("{field}.env"), p.to_string()));
            }
        }
    }
    Ok(out)
}

/// Why `path`, named by a kustomization in `dir`, is not allowed (None: it is).
fn problem(dir: &str, path: &str) -> Option<&'static str> {
    let p = path.trim();
    if p.contains("://")
        || p.starts_with("git@")
        || p.starts_with("github.com/")
        || p.contains("?ref=")
        || p.contains("//")
    {
        return Some("is a remote base, which Flux would fetch from the network when it applies");
    }
    if p.starts_with('/') || p.starts_with('~') || p.contains('\\') {
        return Some("is an absolute path");
    }
    let mut depth: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return Some("leaves the artifact's directory");
                }
            }
            other => depth.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    fn refused(k: &str) -> String {
        let f = files(&[("sub/kustomization.yaml", k)]);
        kustomizations("artifact \"a\"", &f)
            .expect_err(k)
            .to_string()
    }

    #[test]
    fn chart_file_dependencies_stay_in_the_chart() {
        let ok = files(&[(
            "Chart.yaml",
            "name: c\ndependencies:\n- name: sub\n  repository: file://charts/sub\n- name: r\n  repository: https://charts.example\n",
        )]);
        chart_dependencies("a", &ok).unwrap();
        let bad = files(&[(
            "charts/sub/Chart.yaml",
            "name: sub\ndependencies:\n- name: x\n  repository: file://../../../../team-b/chart\n",
        )]);
        let err = chart_dependencies("a", &bad).unwrap_err().to_string();
        assert!(
            err.contains("chart charts/sub/Chart.yaml: dependency repository \"file://../../../../team-b/chart\" leaves the artifact's directory"),
            "{err}"
        );
    }

    #[test]
    fn paths_inside_the_artifact_are_fine() {
        let f = files(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml, sub, ./x/../y.yaml]\ncomponents: [comp]\npatches:\n- path: p.yaml\nconfigMapGenerator:\n- name: c\n  files: [k=conf/a.txt, b.txt]\n  envs: [e.env]\npatchesStrategicMerge:\n- |\n  apiVersion: v1\n  kind: ConfigMap\n",
            ),
            ("sub/kustomization.yaml", "resources: [../cm2.yaml]\n"),
        ]);
        kustomizations("a", &f).unwrap();
    }

    #[test]
    fn paths_out_of_the_artifact_remote_bases_and_helm_are_refused() {
        for (k, why) in [
            (
                "resources: [../../team-b/secrets]\n",
                "`resources` entry \"../../team-b/secrets\" leaves the artifact's directory",
            ),
            ("resources: [/etc/x]\n", "is an absolute path"),
            (
                "resources: ['https://github.com/evil/x//base']\n",
                "is a remote base",
            ),
            (
                "resources: ['github.com/evil/x/base?ref=main']\n",
                "is a remote base",
            ),
            ("bases: [../../x]\n", "`bases` entry"),
            ("components: [../../c]\n", "`components` entry"),
            ("patches:\n- path: ../../p.yaml\n", "`patches.path` entry"),
            (
                "secretGenerator:\n- name: s\n  files: [key=../../../home/id_rsa]\n",
                "`secretGenerator.files` entry \"../../../home/id_rsa\"",
            ),
            (
                "configMapGenerator:\n- name: s\n  envs: [../../.env]\n",
                "`configMapGenerator.envs`",
            ),
            ("openapi:\n  path: ../../schema.json\n", "`openapi.path`"),
            (
                "helmCharts:\n- name: x\n",
                "`helmCharts` inflates a Helm chart",
            ),
        ] {
            let err = refused(k);
            assert!(err.contains(why), "{k}: {err}");
        }
    }
}
