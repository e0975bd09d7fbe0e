//! Capture's manifests artifact: the YAML that is not a chart, written with its
//! kustomizations (pctl's own generated files dropped), tokens in place of parameters.
use super::*;

impl Capture<'_> {
    /// What is left becomes the `manifests` kustomize artifact.
    pub(super) fn manifests(&mut self) -> Result<()> {
        // Files whose documents are all gone are removed, and so are their entries in
        // kustomizations; wrappers give way to the directory they pointed at.
        let mut gone: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (rel, f) in &self.yaml {
            if !is_kustomization_file(rel) && !f.docs.is_empty() && f.docs.iter().all(|d| d.dropped)
            {
                gone.insert(rel.clone(), self.wrappers.get(rel).cloned().flatten());
            }
        }
        let templated = self
            .yaml
            .values()
            .flat_map(|f| &f.docs)
            .any(|d| !d.dropped && d.modified && value_has_token(&d.value));
        let kfiles: Vec<String> = self
            .yaml
            .keys()
            .filter(|p| is_kustomization_file(p))
            .cloned()
            .collect();
        // A kustomization left with nothing to apply goes too, and its entry with it.
        let mut gone_dirs: BTreeSet<String> = BTreeSet::new();
        loop {
            let mut progress = false;
            for kfile in &kfiles {
                let kdir = parent_dir(kfile).to_string();
                if gone_dirs.contains(&kdir) {
                    continue;
                }
                let Some(doc) = self.yaml.get_mut(kfile).and_then(|f| f.docs.first_mut()) else {
                    continue;
                };
                let Some(Value::Array(res)) = doc.value.get("resources").cloned() else {
                    continue;
                };
                let mut new = Vec::new();
                for r in &res {
                    let Some(entry) = r.as_str() else {
                        new.push(r.clone());
                        continue;
                    };
                    let target = lexical(&kdir, entry).unwrap_or_default();
                    let replacement = match gone.get(&target) {
                        None if gone_dirs.contains(&target) => None,
                        None => Some(r.clone()),
                        Some(None) => None,
                        Some(Some(dir)) if gone_dirs.contains(dir) => None,
                        Some(Some(dir)) => Some(Value::String(relative(&kdir, dir))),
                    };
                    if let Some(x) = replacement
                        && !new.contains(&x)
                    {
                        new.push(x);
                    }
                }
                if new != res {
                    if let Some(m) = doc.value.as_object_mut() {
                        m.insert("resources".into(), Value::Array(new.clone()));
                    }
                    doc.modified = true;
                    progress = true;
                }
                let plain = doc.value.as_object().is_some_and(|m| {
                    m.keys()
                        .all(|k| matches!(k.as_str(), "apiVersion" | "kind" | "resources"))
                });
                if new.is_empty() && !res.is_empty() && plain && !kdir.is_empty() {
                    gone_dirs.insert(kdir);
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
        let in_gone_dir = |p: &str| gone_dirs.iter().any(|d| p.starts_with(&format!("{d}/")));
        // Bases outside DIR cannot come along.
        let mut outside = Vec::new();
        for kfile in &kfiles {
            let kdir = parent_dir(kfile);
            let Some(doc) = self.yaml.get(kfile).and_then(|f| f.docs.first()) else {
                continue;
            };
            for field in ["resources", "components"] {
                for r in doc
                    .value
                    .get(field)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !r.contains("://") && lexical(kdir, r).is_none() {
                        outside.push(format!(
                            "{}: {field} entry {r:?} is outside {}: not captured, so this kustomization will not build in the profile; copy what it needs into the profile by hand",
                            self.origin(kfile),
                            shown(&self.input.dir)
                        ));
                    }
                }
            }
        }
        for n in outside {
            self.note(n);
        }
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut objects = 0;
        for (rel, f) in &self.yaml {
            if gone.contains_key(rel) || in_gone_dir(rel) {
                continue;
            }
            let untouched = f.docs.iter().all(|d| !d.dropped && !d.modified);
            let text = if untouched && !f.docs.is_empty() {
                self.input
                    .files
                    .get(rel)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default()
            } else {
                let mut parts = Vec::new();
                for d in f.docs.iter().filter(|d| !d.dropped) {
                    parts.push(match (&d.raw, d.modified) {
                        (Some(raw), false) => raw.clone(),
                        _ => yaml::to_string(&d.value)?,
                    });
                }
                if parts.is_empty() {
                    continue;
                }
                parts
                    .iter()
                    .map(|p| {
                        let p = p.trim_start_matches('\n');
                        if p.ends_with('\n') {
                            p.to_string()
                        } else {
                            format!("{p}\n")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("---\n")
            };
            objects += f
                .docs
                .iter()
                .filter(|d| !d.dropped && is_object(&d.value) && !is_kustomization_file(rel))
                .count();
            // Render templates only the YAML files (`.yaml`, `.yml`) of an artifact.
            let text = if templated && is_yaml(rel) {
                self.params.substitute(&escape_tera(&text))
            } else {
                text
            };
            files.insert(rel.clone(), text.into_bytes());
        }
        if objects == 0 {
            return Ok(());
        }
        for (rel, b) in &self.other {
            if !in_gone_dir(rel) {
                files.insert(rel.clone(), b.clone());
            }
        }
        if !KUSTOMIZATION_NAMES.iter().any(|k| files.contains_key(*k)) {
            let list = self.generated_resources(&files);
            let mut k = crate::gitops::kustomization(&list)?;
            if templated {
                k = escape_tera(&String::from_utf8_lossy(&k)).into_bytes();
            }
            files.insert("kustomization.yaml".into(), k);
        }
        let count = files.len();
        for (rel, b) in files {
            self.out.insert(format!("{MANIFESTS}/{rel}"), b);
        }
        let mut a = Map::new();
        a.insert("name".into(), json!(MANIFESTS));
        a.insert("kustomize".into(), json!({"path": MANIFESTS}));
        if templated {
            a.insert("template".into(), json!(true));
        }
        self.artifacts.push((
            Value::Object(a),
            ArtifactSummary {
                name: MANIFESTS.into(),
                kind: "kustomize".into(),
                detail: format!(
                    "{count} file(s), {objects} object(s){}",
                    if templated { ", templated" } else { "" }
                ),
                from: format!("{}/", shown(&self.input.dir)),
            },
        ));
        Ok(())
    }

    /// Resources of a kustomization for a directory that has none: every file with
    /// objects, and every subdirectory with its own kustomization (instead of its files).
    pub(super) fn generated_resources(&self, files: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
        let kdirs: BTreeSet<String> = files
            .keys()
            .filter(|p| is_kustomization_file(p))
            .map(|p| parent_dir(p).to_string())
            .collect();
        let mut out: Vec<String> = Vec::new();
        for rel in files.keys() {
            if let Some(d) = kdirs
                .iter()
                .find(|d| !d.is_empty() && rel.starts_with(&format!("{d}/")))
            {
                if !out.contains(d) {
                    out.push(d.clone());
                }
                continue;
            }
            let has_objects = self
                .yaml
                .get(rel)
                .is_some_and(|f| f.docs.iter().any(|d| !d.dropped && is_object(&d.value)));
            if has_objects && !is_kustomization_file(rel) {
                out.push(rel.clone());
            }
        }
        out
    }
}

/// Put `block` as a literal block scalar where `token` stands as a plain scalar.
pub(super) fn insert_block(text: &str, token: &str, block: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(at) = line.find(token) {
            let indent = line.len() - line.trim_start().len();
            // `- defaultValues: TOKEN` has its keys one level deeper than the dash.
            let key_col = if line.trim_start().starts_with("- ") {
                indent + 2
            } else {
                indent
            };
            out.push_str(&line[..at]);
            out.push_str("|\n");
            let pad = " ".repeat(key_col + 2);
            for l in block.lines() {
                if l.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&pad);
                    out.push_str(l);
                    out.push('\n');
                }
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

pub(super) fn value_has_token(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(TOKEN),
        Value::Array(a) => a.iter().any(value_has_token),
        Value::Object(m) => m.values().any(value_has_token),
        _ => false,
    }
}
