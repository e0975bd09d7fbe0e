//! `pctl check --helm`: render every HelmRelease whose chart is a directory of the
//! GitOps repository with `helm template`, from its `valuesFrom` ConfigMaps and
//! `values` as helm-controller merges them; a template or values-schema error is a
//! problem, and the rendered objects join the duplicate check.
use super::build::{CLUSTER_SCOPED, Doc, parse_docs};
use super::tree::{join, resolve};
use super::{FLUX_HELM, Severity, Walk};
use crate::chartdiff::{Template, helm_binary, merge_values, set_target_path, template_command};
use crate::yaml::{Map, Value};

/// Render the local charts. Returns how many objects they rendered.
pub fn render(w: &mut Walk) -> usize {
    let mut jobs = Vec::new();
    let mut notes = Vec::new();
    for o in &w.objects {
        if o.kind != "HelmRelease" || !o.api.starts_with(FLUX_HELM) || o.rendered {
            continue;
        }
        let v = &o.doc.value;
        let s = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let sref_ns = v
            .pointer("/spec/chart/spec/sourceRef/namespace")
            .and_then(Value::as_str)
            .unwrap_or(&o.ns);
        if !(s("/spec/chart/spec/sourceRef/kind") == "GitRepository"
            && sref_ns == w.src_ns
            && s("/spec/chart/spec/sourceRef/name") == w.src_name)
        {
            let from = v
                .pointer("/spec/chart/spec/sourceRef/kind")
                .or_else(|| v.pointer("/spec/chartRef/kind"))
                .and_then(Value::as_str)
                .unwrap_or("a source")
                .to_string();
            notes.push((
                o.doc.file.clone(),
                o.doc.line,
                format!("HelmRelease {}: its chart comes from {from}; not rendered (pctl check fetches nothing)", o.name),
            ));
            continue;
        }
        let dir = resolve("", &s("/spec/chart/spec/chart")).unwrap_or_default();
        if !w.files.is_file(&join(&dir, "Chart.yaml")) {
            continue; // reported by the graph check
        }
        let mut values = Value::Object(Map::new());
        for r in v
            .pointer("/spec/valuesFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if r.get("kind").and_then(Value::as_str) != Some("ConfigMap") {
                continue;
            }
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            let key = r
                .get("valuesKey")
                .and_then(Value::as_str)
                .unwrap_or("values.yaml");
            let Some(cm) = w.get(&("ConfigMap".into(), o.ns.clone(), name.into())) else {
                continue;
            };
            let Some(raw) = cm
                .doc
                .value
                .pointer(&format!(
                    "/data/{}",
                    key.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(Value::as_str)
            else {
                continue;
            };
            match r.get("targetPath").and_then(Value::as_str) {
                Some(tp) if !tp.is_empty() => {
                    set_target_path(&mut values, tp, Value::String(raw.into()))
                }
                _ => {
                    if let Ok(parsed) = crate::yaml::from_str::<Value>("values", raw) {
                        merge_values(&mut values, &parsed);
                    }
                }
            }
        }
        if let Some(inline) = v.pointer("/spec/values") {
            merge_values(&mut values, inline);
        }
        let target = v
            .pointer("/spec/targetNamespace")
            .and_then(Value::as_str)
            .map(str::to_string);
        let release = match (s("/spec/releaseName"), &target) {
            (r, _) if !r.is_empty() => r,
            (_, Some(t)) => format!("{t}-{}", o.name),
            _ => o.name.clone(),
        };
        jobs.push((
            o.doc.file.clone(),
            o.doc.line,
            format!("HelmRelease {}", o.name),
            dir,
            values,
            release,
            target.unwrap_or_else(|| o.ns.clone()),
        ));
    }
    for (f, l, m) in notes {
        w.push(&f, l, Severity::Note, m);
    }
    if jobs.is_empty() {
        return 0;
    }
    let Some(helm) = helm_binary() else {
        let (f, l, ..) = &jobs[0];
        let (f, l) = (f.clone(), *l);
        w.push(
            &f,
            l,
            Severity::Error,
            format!(
                "--helm: {} local chart(s) not rendered: no helm binary on PATH",
                jobs.len()
            ),
        );
        return 0;
    };
    let mut count = 0;
    for (file, line, what, dir, values, release, ns) in jobs {
        let rendered = w.files.on_disk().and_then(|root| {
            let tmp = tempfile::Builder::new()
                .prefix("pctl-values-")
                .suffix(".yaml")
                .tempfile()?;
            std::fs::write(tmp.path(), crate::yaml::to_string(&values)?)?;
            let chart = root.join(&dir);
            let out = template_command(
                &helm,
                &Template {
                    release: &release,
                    chart: chart.as_os_str(),
                    namespace: &ns,
                    values: tmp.path(),
                    repo: None,
                    version: None,
                },
            )
            .output()?;
            Ok(out)
        });
        let out = match rendered {
            Ok(o) => o,
            Err(e) => {
                w.push(
                    &file,
                    line,
                    Severity::Error,
                    format!("{what}: cannot run helm template on {dir}: {e}"),
                );
                continue;
            }
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let msg: String = err.split_whitespace().collect::<Vec<_>>().join(" ");
            let msg: String = msg.chars().take(400).collect();
            w.push(
                &file,
                line,
                Severity::Error,
                format!("{what}: helm template of {dir} fails: {msg}"),
            );
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // Each document is labelled `# Source: CHART/templates/...`.
        let docs = match parse_docs(&format!("{dir} (rendered)"), &text) {
            Ok(d) => d,
            Err((_, msg)) => {
                w.push(
                    &file,
                    line,
                    Severity::Error,
                    format!("{what}: helm template of {dir} printed YAML pctl cannot read: {msg}"),
                );
                continue;
            }
        };
        for d in docs {
            let source = d
                .text
                .as_deref()
                .and_then(|t| t.lines().find_map(|l| l.strip_prefix("# Source: ")))
                .map(str::to_string);
            if source.as_deref().is_some_and(|s| s.contains("/tests/")) {
                continue;
            }
            let Some(kind) = d.value.get("kind").and_then(Value::as_str) else {
                continue;
            };
            let default_ns = if CLUSTER_SCOPED.contains(&kind) {
                String::new()
            } else {
                ns.clone()
            };
            let shown = match &source {
                Some(s) => join(&dir, s.split_once('/').map_or(s.as_str(), |(_, rest)| rest)),
                None => format!("{dir} (rendered)"),
            };
            count += 1;
            w.add(
                Doc {
                    file: shown,
                    line: 1,
                    text: None,
                    value: d.value,
                    origin: None,
                    kept_schema: None,
                },
                &default_ns,
                true,
            );
        }
    }
    count
}
