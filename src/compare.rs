//! Comparing two renderings of a profile (`pctl diff`): a unified diff of their files
//! in `git diff` style, and a summary of what changed in the definitions — parameters,
//! artifacts, chart versions and nested profile versions. Pure.
use crate::model::{ArtifactKind, Chart, Parameter};
use crate::record;
use crate::render::Rendered;
use crate::resolve::{Resolved, ResolvedKind};
use crate::textdiff;
use serde::Serialize;
use std::collections::BTreeMap;

/// The unified diff of two renderings (the record file left out: its versions and
/// hashes are summarised instead) and the number of files that differ. SOPS-encrypted
/// files are compared by their plaintext and never shown; binary files are named.
pub fn unified(old: &Rendered, new: &Rendered) -> (String, usize) {
    let mut paths: Vec<&String> = old.files.keys().chain(new.files.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = String::new();
    let mut changed = 0;
    for path in paths {
        if path == record::FILE {
            continue;
        }
        let (a, b) = (old.files.get(path), new.files.get(path));
        let sealed = old.sealed.contains_key(path) || new.sealed.contains_key(path);
        if a == b {
            continue;
        }
        if let (Some(x), Some(y)) = (old.sealed.get(path), new.sealed.get(path))
            && x.plain_sha256 == y.plain_sha256
        {
            continue;
        }
        changed += 1;
        out.push_str(&textdiff::header(path));
        match (a, b) {
            (None, Some(_)) => out.push_str("new file mode 100644\n"),
            (Some(_), None) => out.push_str("deleted file mode 100644\n"),
            _ => {}
        }
        let (ta, tb) = (text(a), text(b));
        if sealed {
            out.push_str(&format!(
                "Encrypted files a/{path} and b/{path} differ (SOPS; secrets are not shown)\n"
            ));
            continue;
        }
        if matches!(ta, Some(None)) || matches!(tb, Some(None)) {
            out.push_str(&textdiff::differ(
                "Binary files",
                path,
                a.is_some(),
                b.is_some(),
            ));
            continue;
        }
        out.push_str(&textdiff::unified(path, ta.flatten(), tb.flatten()));
    }
    (out, changed)
}

/// The text of a file that exists: Some(None) when it is not UTF-8.
fn text(x: Option<&Vec<u8>>) -> Option<Option<&str>> {
    x.map(|b| std::str::from_utf8(b).ok())
}

/// What changed between two versions' definitions.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub parameters_added: Vec<String>,
    pub parameters_removed: Vec<String>,
    pub parameters_changed: Vec<String>,
    pub artifacts_added: Vec<String>,
    pub artifacts_removed: Vec<String>,
    pub artifacts_changed: Vec<String>,
    pub charts_changed: Vec<String>,
    pub nested_changed: Vec<String>,
}

impl Summary {
    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }

    /// The summary as indented lines under a heading.
    pub fn text(&self, from: &str, to: &str) -> String {
        let mut out = format!("Definition changes {from} -> {to}:\n");
        if self.is_empty() {
            out.push_str(
                "  none (parameters, artifacts, charts and nested profiles are the same)\n",
            );
            return out;
        }
        for (label, items) in [
            ("parameters added", &self.parameters_added),
            ("parameters removed", &self.parameters_removed),
            ("parameters changed", &self.parameters_changed),
            ("artifacts added", &self.artifacts_added),
            ("artifacts removed", &self.artifacts_removed),
            ("artifacts changed", &self.artifacts_changed),
            ("chart versions", &self.charts_changed),
            ("nested profiles", &self.nested_changed),
        ] {
            for (i, item) in items.iter().enumerate() {
                let head = if i == 0 {
                    format!("{label}:")
                } else {
                    String::new()
                };
                out.push_str(&format!("  {head:<20} {item}\n"));
            }
        }
        out
    }
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn describe(p: &Parameter) -> String {
    let mut parts = vec![p.kind.as_str().to_string()];
    if p.required {
        parts.push("required".into());
    }
    if let Some(d) = &p.default {
        parts.push(if p.kind == crate::model::ParamType::Secret {
            "default <redacted>".into()
        } else {
            format!("default {}", show(d))
        });
    }
    parts.join(", ")
}

/// Every parameter of the tree by its command-line key.
fn parameters(root: &Resolved) -> BTreeMap<String, Parameter> {
    fn walk(p: &Resolved, path: &str, out: &mut BTreeMap<String, Parameter>) {
        for x in &p.def.parameters {
            out.insert(join(path, &x.name), x.clone());
        }
        for a in &p.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                walk(profile, &join(path, &a.name), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

/// Every artifact of the tree (`ingress.nginx` for one of a nested profile) with
/// its kind.
fn artifacts(root: &Resolved) -> BTreeMap<String, String> {
    fn walk(p: &Resolved, path: &str, out: &mut BTreeMap<String, String>) {
        for a in &p.def.artifacts {
            let kind = match &a.kind {
                ArtifactKind::Chart {
                    chart: Chart::Remote { name, .. },
                    ..
                } => format!("chart {name}"),
                other => other.label().to_string(),
            };
            out.insert(join(path, &a.name), kind);
        }
        for a in &p.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                walk(profile, &join(path, &a.name), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// What changed from `old` to `new`.
pub fn summarize(old: &Resolved, old_r: &Rendered, new: &Resolved, new_r: &Rendered) -> Summary {
    let mut s = Summary::default();
    let (pa, pb) = (parameters(old), parameters(new));
    for (k, p) in &pb {
        match pa.get(k) {
            None => s.parameters_added.push(format!("{k} ({})", describe(p))),
            Some(q) => {
                let mut what = Vec::new();
                if q.kind != p.kind {
                    what.push(format!("type {} -> {}", q.kind.as_str(), p.kind.as_str()));
                }
                if q.default != p.default {
                    let d = |x: &Option<serde_json::Value>| match x {
                        _ if p.kind == crate::model::ParamType::Secret => "<redacted>".into(),
                        Some(v) => show(v),
                        None => "none".into(),
                    };
                    what.push(format!("default {} -> {}", d(&q.default), d(&p.default)));
                }
                if q.required != p.required {
                    what.push(if p.required {
                        "now required".into()
                    } else {
                        "no longer required".into()
                    });
                }
                if q.allowed != p.allowed {
                    let l =
                        |v: &[serde_json::Value]| v.iter().map(show).collect::<Vec<_>>().join(", ");
                    what.push(format!("enum [{}] -> [{}]", l(&q.allowed), l(&p.allowed)));
                }
                if q.pattern != p.pattern || q.minimum != p.minimum || q.maximum != p.maximum {
                    what.push("constraints changed".into());
                }
                if !what.is_empty() {
                    s.parameters_changed
                        .push(format!("{k}: {}", what.join("; ")));
                }
            }
        }
    }
    for k in pa.keys() {
        if !pb.contains_key(k) {
            s.parameters_removed.push(k.clone());
        }
    }
    let (aa, ab) = (artifacts(old), artifacts(new));
    for (k, kind) in &ab {
        match aa.get(k) {
            None => s.artifacts_added.push(format!("{k} ({kind})")),
            Some(was) if was != kind => s.artifacts_changed.push(format!("{k}: {was} -> {kind}")),
            _ => {}
        }
    }
    for (k, kind) in &aa {
        if !ab.contains_key(k) {
            s.artifacts_removed.push(format!("{k} ({kind})"));
        }
    }
    let charts = |r: &Rendered| -> BTreeMap<String, record::ChartRecord> {
        r.record
            .spec
            .charts
            .iter()
            .map(|c| (c.artifact.clone(), c.clone()))
            .collect()
    };
    let (ca, cb) = (charts(old_r), charts(new_r));
    for (id, c) in &cb {
        if let Some(o) = ca.get(id)
            && (o.version != c.version || o.name != c.name || o.url != c.url)
        {
            let mut line = format!("{id} ({}): {} -> {}", c.name, o.version, c.version);
            if o.name != c.name || o.url != c.url {
                line = format!(
                    "{id}: {} {} -> {} {}",
                    o.url.as_deref().unwrap_or("local"),
                    o.name,
                    c.url.as_deref().unwrap_or("local"),
                    c.name
                );
                if o.version != c.version {
                    line.push_str(&format!(" ({} -> {})", o.version, c.version));
                }
            }
            s.charts_changed.push(line);
        }
    }
    let nested = |r: &Rendered| -> BTreeMap<String, record::NestedRecord> {
        r.record
            .spec
            .nested
            .iter()
            .map(|n| (n.artifact.clone(), n.clone()))
            .collect()
    };
    let (na, nb) = (nested(old_r), nested(new_r));
    for (id, n) in &nb {
        if let Some(o) = na.get(id) {
            let (from, to) = (o.source.label(), n.source.label());
            if from != to || o.source.display() != n.source.display() {
                let from = if o.source.display() == n.source.display() {
                    from
                } else {
                    format!("{} {from}", o.source.display())
                };
                s.nested_changed
                    .push(format!("{id} ({}): {from} -> {to}", n.profile));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Installation, SourceRecord};
    use crate::resolve::ResolvedArtifact;

    fn def(params: &str, artifacts: &str) -> crate::model::ProfileDefinition {
        let text = format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {{name: web}}\nspec:\n  parameters: {params}\n  artifacts:\n{artifacts}"
        );
        crate::model::parse("t", &text, None).unwrap().0
    }

    fn rendered(files: &[(&str, &str)], chart_version: &str) -> Rendered {
        let mut record = Installation::from_yaml(
            "t",
            "apiVersion: x\nkind: y\nmetadata: {name: n}\nspec: {namespace: d, path: p, profile: q, source: {url: u}, files: {}, generatedBy: t}\n",
        )
        .unwrap();
        record.spec.charts.push(record::ChartRecord {
            artifact: "web".into(),
            url: Some("https://charts.example.com".into()),
            name: "web".into(),
            version: chart_version.into(),
        });
        record.spec.nested.push(record::NestedRecord {
            artifact: "db".into(),
            profile: "postgres".into(),
            source: SourceRecord {
                url: "https://git.example.com/p".into(),
                path: "postgres".into(),
                version: Some(chart_version.replace('4', "1")),
                ..Default::default()
            },
        });
        Rendered {
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .chain([(
                    "profile-installation.yaml".to_string(),
                    chart_version.as_bytes().to_vec(),
                )])
                .collect(),
            record,
            leaves: Vec::new(),
            notes: Vec::new(),
            sealed: BTreeMap::new(),
            relocatable: false,
        }
    }

    fn resolved(d: crate::model::ProfileDefinition) -> Resolved {
        let artifacts = d
            .artifacts
            .iter()
            .map(|a| ResolvedArtifact {
                name: a.name.clone(),
                depends_on: vec![],
                template: false,
                kind: ResolvedKind::Kustomize {
                    files: BTreeMap::new(),
                },
            })
            .collect();
        Resolved {
            def: d,
            source: SourceRecord::default(),
            artifacts,
        }
    }

    #[test]
    fn unified_diff_has_git_headers_and_leaves_the_record_out() {
        let a = rendered(
            &[("x.yaml", "a: 1\nb: 2\n"), ("gone.yaml", "c: 3\n")],
            "4.9.1",
        );
        let b = rendered(
            &[("x.yaml", "a: 1\nb: 3\n"), ("new.yaml", "d: 4\n")],
            "4.10.1",
        );
        let (text, n) = unified(&a, &b);
        assert_eq!(n, 3, "{text}");
        assert!(text.contains("diff --git a/x.yaml b/x.yaml\n--- a/x.yaml\n+++ b/x.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"), "{text}");
        assert!(text.contains("diff --git a/gone.yaml b/gone.yaml\ndeleted file mode 100644\n--- a/gone.yaml\n+++ /dev/null\n"), "{text}");
        assert!(
            text.contains(
                "new file mode 100644\n--- /dev/null\n+++ b/new.yaml\n@@ -0,0 +1 @@\n+d: 4\n"
            ),
            "{text}"
        );
        assert!(!text.contains("profile-installation"), "{text}");
        let (same, n) = unified(&a, &a);
        assert_eq!((same.as_str(), n), ("", 0));
    }

    #[test]
    fn summary_names_parameters_artifacts_charts_and_nested_versions() {
        let old = resolved(def(
            "[{name: size, type: string, default: small}, {name: gone, type: string}]",
            "    - {name: web, chart: {url: 'https://charts.example.com', name: web, version: '4.9.1'}}\n    - {name: old, kustomize: {path: x}}\n",
        ));
        let new = resolved(def(
            "[{name: size, type: enum, enum: [small, large], default: large}, {name: replicas, type: integer, default: 3}]",
            "    - {name: web, chart: {url: 'https://charts.example.com', name: web, version: '4.10.1'}}\n    - {name: pdb, kustomize: {path: x}}\n",
        ));
        let s = summarize(
            &old,
            &rendered(&[], "4.9.1"),
            &new,
            &rendered(&[], "4.10.1"),
        );
        assert_eq!(s.parameters_added, vec!["replicas (integer, default 3)"]);
        assert_eq!(s.parameters_removed, vec!["gone"]);
        assert_eq!(
            s.parameters_changed,
            vec![
                "size: type string -> enum; default \"small\" -> \"large\"; enum [] -> [\"small\", \"large\"]"
            ]
        );
        assert_eq!(s.artifacts_added, vec!["pdb (kustomize)"]);
        assert_eq!(s.artifacts_removed, vec!["old (kustomize)"]);
        assert_eq!(s.charts_changed, vec!["web (web): 4.9.1 -> 4.10.1"]);
        assert_eq!(s.nested_changed, vec!["db (postgres): 1.9.1 -> 1.10.1"]);
        let text = s.text("1.0.0", "1.1.0");
        assert!(
            text.starts_with("Definition changes 1.0.0 -> 1.1.0:\n  parameters added:    replicas"),
            "{text}"
        );
        assert!(Summary::default().text("a", "b").contains("none"));
    }
}
