//! Capture's HelmReleases: each release with its source (HelmRepository,
//! OCIRepository, GitRepository) becomes a chart artifact, its values
//! `defaultValues`, or stays raw YAML with a note saying why.
use super::*;

impl Capture<'_> {
    pub(super) fn charts(&mut self) -> Result<()> {
        let releases: Vec<(String, usize)> = self
            .live()
            .filter(|(_, _, d)| {
                let (api, kind) = kind_of(&d.value);
                kind == "HelmRelease" && group(api) == "helm.toolkit.fluxcd.io"
            })
            .map(|(r, i, _)| (r.clone(), i))
            .collect();
        // Sources used by a release that stays raw YAML stay too.
        let mut consumed: Vec<(String, usize)> = Vec::new();
        let mut kept_sources: Vec<(String, usize)> = Vec::new();
        let mut captured: BTreeMap<String, String> = BTreeMap::new(); // release name -> artifact
        let mut deps: Vec<(usize, Vec<String>, String)> = Vec::new();
        for at in releases {
            let hr = self.doc(&at).value.clone();
            let hr_name = s(&hr, &["metadata", "name"]).unwrap_or("").to_string();
            let hr_ns = s(&hr, &["metadata", "namespace"]).map(str::to_string);
            let label = format!("HelmRelease {hr_name} ({})", self.origin(&at.0));
            match self.chart_of(&hr, &label, hr_ns.as_deref())? {
                ChartFrom::Kept { source } => {
                    if let Some(src) = source {
                        kept_sources.push(src);
                    }
                }
                ChartFrom::Chart {
                    chart,
                    source,
                    from,
                } => {
                    let name = self.artifact_name(&hr_name);
                    let values = self.chart_values(&hr, &label, hr_ns.as_deref());
                    let mut a = Map::new();
                    a.insert("name".into(), json!(name));
                    let detail = match &chart {
                        Value::Object(m) if m.contains_key("path") => {
                            format!("local chart {}", s(&chart, &["path"]).unwrap_or(""))
                        }
                        _ => format!(
                            "{} {} from {}",
                            s(&chart, &["name"]).unwrap_or(""),
                            s(&chart, &["version"]).unwrap_or(""),
                            s(&chart, &["url"]).unwrap_or("")
                        ),
                    };
                    let mut chart = chart;
                    let settings = self.release_settings(&hr, &label, &at.0);
                    if let Value::Object(c) = &mut chart {
                        c.insert("release".into(), Value::Object(settings));
                    }
                    if let Some(src) = &source {
                        let doc = self.doc(src).value.clone();
                        self.source_notes(&doc, &src.0);
                    }
                    a.insert("chart".into(), chart);
                    let idx = self.artifacts.len();
                    self.artifacts.push((
                        Value::Object(a),
                        ArtifactSummary {
                            name: name.clone(),
                            kind: "chart".into(),
                            detail,
                            from,
                        },
                    ));
                    if let Some(v) = values {
                        self.values.insert(idx, v);
                    }
                    let wanted: Vec<String> = hr
                        .get("spec")
                        .and_then(|x| x.get("dependsOn"))
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|d| s(d, &["name"]).map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    deps.push((idx, wanted, label.clone()));
                    captured.insert(hr_name.clone(), name);
                    consumed.push(at.clone());
                    if let Some(src) = source {
                        consumed.push(src);
                    }
                }
            }
        }
        for (idx, wanted, label) in deps {
            for w in wanted.iter().filter(|w| !captured.contains_key(*w)) {
                self.note(format!(
                    "{label}: spec.dependsOn {w} not captured: no HelmRelease of that name becomes a chart artifact of this profile"
                ));
            }
            let names: Vec<Value> = wanted
                .iter()
                .filter_map(|w| captured.get(w))
                .map(|a| json!({"name": a}))
                .collect();
            if !names.is_empty()
                && let Some(Value::Object(a)) = self.artifacts.get_mut(idx).map(|x| &mut x.0)
            {
                a.insert("dependsOn".into(), Value::Array(names));
            }
        }
        for at in consumed {
            if kept_sources.contains(&at) {
                continue;
            }
            if let Some(d) = self.doc_mut(&at) {
                d.dropped = true;
            }
        }
        Ok(())
    }

    pub(super) fn note(&mut self, n: String) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// Where a release's chart comes from.
    pub(super) fn chart_of(
        &mut self,
        hr: &Value,
        label: &str,
        hr_ns: Option<&str>,
    ) -> Result<ChartFrom> {
        let spec = hr.get("spec").cloned().unwrap_or(Value::Null);
        if let Some(r) = spec.get("chartRef") {
            let kind = s(r, &["kind"]).unwrap_or("");
            let name = s(r, &["name"]).unwrap_or("");
            let ns = s(r, &["namespace"]).or(hr_ns);
            if kind != "OCIRepository" {
                self.note(format!(
                    "{label}: chartRef kind {kind} is not captured; the release stays raw YAML"
                ));
                return Ok(ChartFrom::Kept { source: None });
            }
            let Some(at) = self.find(&["OCIRepository"], name, ns) else {
                self.note(format!(
                    "{label}: its OCIRepository {name} is not below {}; the release stays raw YAML",
                    shown(&self.input.dir)
                ));
                return Ok(ChartFrom::Kept { source: None });
            };
            let repo = self.doc(&at).value.clone();
            let url = s(&repo, &["spec", "url"]).unwrap_or("");
            let Some((base, chart)) = url.rsplit_once('/').filter(|(b, _)| b.len() > 6) else {
                self.note(format!(
                    "{label}: OCIRepository {name} has no usable url; the release stays raw YAML"
                ));
                return Ok(ChartFrom::Kept { source: Some(at) });
            };
            let version = s(&repo, &["spec", "ref", "tag"])
                .or(s(&repo, &["spec", "ref", "semver"]))
                .unwrap_or("*")
                .to_string();
            if s(&repo, &["spec", "ref", "digest"]).is_some() {
                self.note(format!(
                    "{label}: OCIRepository {name} pins a digest; the chart artifact uses version {version}"
                ));
            }
            let from = both(self.origin_of(hr), self.origin(&at.0));
            return Ok(ChartFrom::Chart {
                chart: json!({"url": base, "name": chart, "version": version}),
                source: Some(at),
                from,
            });
        }
        let cs = spec
            .get("chart")
            .and_then(|c| c.get("spec"))
            .cloned()
            .unwrap_or(Value::Null);
        let chart = s(&cs, &["chart"]).unwrap_or("").to_string();
        let kind = s(&cs, &["sourceRef", "kind"]).unwrap_or("").to_string();
        let name = s(&cs, &["sourceRef", "name"]).unwrap_or("").to_string();
        let ns = s(&cs, &["sourceRef", "namespace"])
            .map(str::to_string)
            .or(hr_ns.map(str::to_string));
        if chart.is_empty() {
            self.note(format!(
                "{label}: no spec.chart.spec.chart; the release stays raw YAML"
            ));
            return Ok(ChartFrom::Kept { source: None });
        }
        match kind.as_str() {
            "HelmRepository" => {
                let Some(at) = self.find(&["HelmRepository"], &name, ns.as_deref()) else {
                    self.note(format!(
                        "{label}: its HelmRepository {name} is not below {}; the release stays raw YAML",
                        shown(&self.input.dir)
                    ));
                    return Ok(ChartFrom::Kept { source: None });
                };
                let repo = self.doc(&at).value.clone();
                let Some(url) = s(&repo, &["spec", "url"]) else {
                    self.note(format!(
                        "{label}: HelmRepository {name} has no url; the release stays raw YAML"
                    ));
                    return Ok(ChartFrom::Kept { source: Some(at) });
                };
                let version = s(&cs, &["version"]).unwrap_or("*").to_string();
                let from = both(self.origin_of(hr), self.origin(&at.0));
                Ok(ChartFrom::Chart {
                    chart: json!({"url": url, "name": chart, "version": version}),
                    source: Some(at),
                    from,
                })
            }
            "GitRepository" => {
                let gr = &self.input.git_repository;
                let ours =
                    name == gr.name && ns.as_deref().unwrap_or(&gr.namespace) == gr.namespace;
                if !ours {
                    let url = self
                        .find(&["GitRepository"], &name, ns.as_deref())
                        .and_then(|at| s(&self.doc(&at).value, &["spec", "url"]).map(String::from));
                    self.note(format!(
                        "{label}: its chart comes from GitRepository {name}{}, not from this GitOps repository; the release stays raw YAML (make it a chart artifact by hand)",
                        url.map(|u| format!(" ({u})")).unwrap_or_default()
                    ));
                    return Ok(ChartFrom::Kept { source: None });
                }
                let Some(path) = lexical("", &chart) else {
                    self.note(format!(
                        "{label}: chart path {chart} leaves the repository; the release stays raw YAML"
                    ));
                    return Ok(ChartFrom::Kept { source: None });
                };
                let files = (self.input.read_dir)(&path)?;
                let Some(files) = files.filter(|f| f.contains_key("Chart.yaml")) else {
                    self.note(format!(
                        "{label}: chart directory {path} is not in the GitOps repository; the release stays raw YAML"
                    ));
                    return Ok(ChartFrom::Kept { source: None });
                };
                let hr_name = s(hr, &["metadata", "name"]).unwrap_or("chart");
                let dir = format!("charts/{}", crate::names::sanitize(hr_name));
                let dir = if self.out.keys().any(|k| k.starts_with(&format!("{dir}/"))) {
                    format!("{dir}-{}", self.artifacts.len() + 1)
                } else {
                    dir
                };
                for (rel, bytes) in files {
                    self.out.insert(format!("{dir}/{rel}"), bytes);
                }
                Ok(ChartFrom::Chart {
                    chart: json!({"path": dir}),
                    source: None,
                    from: format!("{} + chart {path}", self.origin_of(hr)),
                })
            }
            other => {
                self.note(format!(
                    "{label}: sourceRef kind {other:?} is not captured; the release stays raw YAML"
                ));
                Ok(ChartFrom::Kept { source: None })
            }
        }
    }

    pub(super) fn origin_of(&self, doc: &Value) -> String {
        for (rel, f) in &self.yaml {
            if f.docs.iter().any(|d| &d.value == doc) {
                return self.origin(rel);
            }
        }
        shown(&self.input.dir)
    }

    /// A release's values: valuesFrom (in order), then spec.values over them, with
    /// every value read from a Secret replaced by a token of its parameter.
    pub(super) fn chart_values(
        &mut self,
        hr: &Value,
        label: &str,
        hr_ns: Option<&str>,
    ) -> Option<Value> {
        let mut values = Value::Object(Map::new());
        let from = hr
            .get("spec")
            .and_then(|x| x.get("valuesFrom"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for entry in from {
            let kind = s(&entry, &["kind"]).unwrap_or("").to_string();
            let name = s(&entry, &["name"]).unwrap_or("").to_string();
            let key = s(&entry, &["valuesKey"])
                .unwrap_or("values.yaml")
                .to_string();
            let target = s(&entry, &["targetPath"]).map(str::to_string);
            let optional = entry.get("optional").and_then(Value::as_bool) == Some(true);
            let target_path = match target.as_deref().map(strvals_path) {
                Some(None) => {
                    self.note(format!(
                        "{label}: valuesFrom {kind}/{name} targetPath {:?} is not captured (list indexes and escapes are not supported)",
                        target.as_deref().unwrap_or("")
                    ));
                    continue;
                }
                Some(Some(p)) => Some(p),
                None => None,
            };
            let at = self.find(&[kind.as_str()], &name, hr_ns);
            let doc = at.as_ref().map(|a| self.doc(a).value.clone());
            match kind.as_str() {
                "Secret" => {
                    let ns = match &doc {
                        Some(d) => s(d, &["metadata", "namespace"]).unwrap_or(""),
                        None => hr_ns.unwrap_or(""),
                    }
                    .to_string();
                    let origin = at
                        .as_ref()
                        .map(|a| self.origin(&a.0))
                        .unwrap_or_else(|| format!("valuesFrom of {label}"));
                    let readable = doc.as_ref().and_then(|d| secret_value(d, &key));
                    match (target_path, doc.is_some(), readable) {
                        (Some(path), _, _) => {
                            if doc.is_none() {
                                if optional {
                                    continue;
                                }
                                self.note(format!(
                                    "{label}: Secret {name} is not below {}; its value at {} became a secret parameter",
                                    shown(&self.input.dir),
                                    target.as_deref().unwrap_or("")
                                ));
                            }
                            let i = self.params.secret(&name, &ns, &key, &origin);
                            crate::yaml::set_path(
                                &mut values,
                                &path,
                                Value::String(Params::token(i)),
                            );
                        }
                        (None, true, Some(text)) => {
                            let parsed: Option<Value> = yaml::from_str("values", &text)
                                .ok()
                                .filter(Value::is_object);
                            let Some(mut parsed) = parsed else {
                                self.note(format!(
                                    "{label}: key {key} of Secret {name} is not a YAML mapping; not captured"
                                ));
                                continue;
                            };
                            let mut lists = false;
                            self.secret_leaves(
                                &mut parsed,
                                &name,
                                &ns,
                                &key,
                                "",
                                &origin,
                                &mut lists,
                            );
                            if lists {
                                self.note(format!(
                                    "{label}: lists in key {key} of Secret {name} are not captured (a secret parameter cannot sit in a list)"
                                ));
                            }
                            crate::yaml::merge_values(&mut values, &parsed);
                        }
                        _ => {
                            if !(optional && doc.is_none()) {
                                self.note(format!(
                                    "{label}: values from key {key} of Secret {name} without targetPath are not captured ({}); add secret parameters for them by hand",
                                    if doc.is_none() {
                                        "the Secret is not in the directory"
                                    } else {
                                        "its content is encrypted or not text"
                                    }
                                ));
                            }
                        }
                    }
                }
                "ConfigMap" => {
                    let text = doc
                        .as_ref()
                        .and_then(|d| s(d, &["data", &key]).map(String::from));
                    let Some(text) = text else {
                        if !optional {
                            self.note(format!(
                                "{label}: values from key {key} of ConfigMap {name} are not captured (not found below {})",
                                shown(&self.input.dir)
                            ));
                        }
                        continue;
                    };
                    match target_path {
                        Some(path) => crate::yaml::set_path(&mut values, &path, Value::String(text)),
                        None => match yaml::from_str::<Value>("values", &text) {
                            Ok(v @ Value::Object(_)) => crate::yaml::merge_values(&mut values, &v),
                            _ => self.note(format!(
                                "{label}: key {key} of ConfigMap {name} is not a YAML mapping; not captured"
                            )),
                        },
                    }
                }
                other => self.note(format!(
                    "{label}: valuesFrom kind {other:?} is not captured"
                )),
            }
        }
        if let Some(v) = hr.get("spec").and_then(|x| x.get("values")).cloned() {
            crate::yaml::merge_values(&mut values, &v);
        }
        match &values {
            Value::Object(m) if m.is_empty() => None,
            _ => Some(values),
        }
    }

    /// Replace every scalar of a values document read from a Secret by a token of a
    /// secret parameter; lists are dropped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn secret_leaves(
        &mut self,
        v: &mut Value,
        secret: &str,
        ns: &str,
        key: &str,
        at: &str,
        origin: &str,
        lists: &mut bool,
    ) {
        if let Value::Object(m) = v {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                let Some(child) = m.get_mut(&k) else { continue };
                match child {
                    Value::Object(_) => {
                        self.secret_leaves(child, secret, ns, key, &path, origin, lists)
                    }
                    Value::Array(_) => {
                        *lists = true;
                        m.remove(&k);
                    }
                    Value::Null => {}
                    _ => {
                        let i = self
                            .params
                            .secret(secret, ns, &format!("{key}.{path}"), origin);
                        *child = Value::String(Params::token(i));
                    }
                }
            }
        }
    }
}

pub(super) enum ChartFrom {
    /// The release stays raw YAML (a note says why); its source too.
    Kept { source: Option<(String, usize)> },
    Chart {
        chart: Value,
        source: Option<(String, usize)>,
        from: String,
    },
}

/// Where a release and its source were: one file, or both.
pub(super) fn both(a: String, b: String) -> String {
    if a == b { a } else { format!("{a} + {b}") }
}

/// A Helm strvals path (`a.b\.c.d`) as keys; None for list indexes.
pub(super) fn strvals_path(p: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.push(chars.next()?),
            '.' => out.push(std::mem::take(&mut cur)),
            '[' | ']' | ',' | '=' => return None,
            c => cur.push(c),
        }
    }
    out.push(cur);
    if out.iter().any(String::is_empty) {
        return None;
    }
    Some(out)
}
