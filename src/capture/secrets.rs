//! Capture's Secrets: every value of a Secret or a kustomize `secretGenerator`
//! becomes a `secret` parameter; the value itself is never copied.
use super::*;

impl Capture<'_> {
    /// Every value of every Secret becomes a secret parameter; the Secret keeps its
    /// keys with `{{ params.NAME }}` as values.
    pub(super) fn secrets(&mut self) -> Result<()> {
        let at: Vec<(String, usize)> = self
            .live()
            .filter(|(_, _, d)| {
                let (api, kind) = kind_of(&d.value);
                kind == "Secret" && api == "v1"
            })
            .map(|(r, i, _)| (r.clone(), i))
            .collect();
        for a in at {
            let origin = self.origin(&a.0);
            let mut v = self.doc(&a).value.clone();
            let name = s(&v, &["metadata", "name"]).unwrap_or("secret").to_string();
            let ns = s(&v, &["metadata", "namespace"]).unwrap_or("").to_string();
            let sops = v.get("sops").is_some();
            let mut binary = Vec::new();
            for field in ["stringData", "data"] {
                let Some(Value::Object(m)) = v.get_mut(field) else {
                    continue;
                };
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let Some(val) = m.get(&k) else { continue };
                    if val.is_null() {
                        continue;
                    }
                    if field == "data"
                        && !sops
                        && secret_value_of(val, true).is_none()
                        && val.as_str().is_some_and(|x| !x.is_empty())
                    {
                        binary.push(k.clone());
                        m.remove(&k);
                        continue;
                    }
                    let i = self.params.secret(&name, &ns, &k, &origin);
                    m.insert(k.clone(), Value::String(Params::token(i)));
                }
            }
            if let Some(o) = v.as_object_mut() {
                o.remove("sops");
            }
            if let Some(Value::Object(ann)) =
                v.get_mut("metadata").and_then(|m| m.get_mut("annotations"))
            {
                ann.remove(LAST_APPLIED);
            }
            if sops {
                self.note(format!(
                    "Secret {name} ({origin}) is SOPS-encrypted: its keys became secret parameters; decrypt it (sops -d) to find their values"
                ));
            }
            if !binary.is_empty() {
                self.note(format!(
                    "Secret {name} ({origin}): binary value(s) of {} not captured; add them by hand",
                    binary.join(", ")
                ));
            }
            if let Some(d) = self.doc_mut(&a)
                && d.value != v
            {
                d.value = v;
                d.modified = true;
            }
        }
        // SOPS-encrypted documents that are not Secrets cannot be read.
        let mut dropped = Vec::new();
        for (rel, f) in self.yaml.iter_mut() {
            for d in f.docs.iter_mut().filter(|d| !d.dropped) {
                if d.value.get("sops").is_some_and(Value::is_object) {
                    d.dropped = true;
                    let (_, kind) = kind_of(&d.value);
                    dropped.push(format!(
                        "{kind} {} ({}) is SOPS-encrypted and not a Secret: not captured",
                        s(&d.value, &["metadata", "name"]).unwrap_or(""),
                        join(&self.input.dir, rel)
                    ));
                }
            }
        }
        for n in dropped {
            self.note(n);
        }
        Ok(())
    }

    /// A kustomization's `secretGenerator` becomes a Secret with a parameter per key;
    /// the files it read are not copied.
    pub(super) fn secret_generators(&mut self) -> Result<()> {
        let files: Vec<String> = self
            .yaml
            .keys()
            .filter(|p| is_kustomization_file(p))
            .cloned()
            .collect();
        for kfile in files {
            let Some(doc) = self.yaml[&kfile].docs.first().cloned() else {
                continue;
            };
            let Some(gens) = doc.value.get("secretGenerator").and_then(Value::as_array) else {
                continue;
            };
            let kdir = parent_dir(&kfile).to_string();
            let origin = self.origin(&kfile);
            let mut resources = Vec::new();
            for g in gens.clone() {
                let name = s(&g, &["name"]).unwrap_or("").to_string();
                if name.is_empty() {
                    bail!(crate::error::user(
                        format!("{origin}: a secretGenerator has no name"),
                        "fix the kustomization (kustomize refuses it too)",
                    ));
                }
                let ns = s(&g, &["namespace"]).unwrap_or("").to_string();
                let mut keys: Vec<String> = Vec::new();
                let list = |f: &str| -> Vec<String> {
                    g.get(f)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                for l in list("literals") {
                    keys.push(l.split_once('=').map(|(k, _)| k).unwrap_or(&l).to_string());
                }
                for f in list("files") {
                    let (key, path) = match f.split_once('=') {
                        Some((k, p)) => (k.to_string(), p.to_string()),
                        None => (base_name(&f).to_string(), f.clone()),
                    };
                    keys.push(key);
                    if let Some(p) = lexical(&kdir, &path) {
                        self.other.remove(&p);
                        self.yaml.remove(&p);
                    }
                }
                for e in list("envs").into_iter().chain(list("env")) {
                    let Some(p) = lexical(&kdir, &e) else {
                        continue;
                    };
                    let text = self
                        .other
                        .remove(&p)
                        .or_else(|| self.input.files.get(&p).cloned())
                        .unwrap_or_default();
                    self.yaml.remove(&p);
                    for line in String::from_utf8_lossy(&text).lines() {
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        keys.push(
                            line.split_once('=')
                                .map(|(k, _)| k)
                                .unwrap_or(line)
                                .to_string(),
                        );
                    }
                }
                let mut data = Map::new();
                for k in keys {
                    let i = self.params.secret(&name, &ns, &k, &origin);
                    data.insert(k, Value::String(Params::token(i)));
                }
                let mut meta = Map::new();
                meta.insert("name".into(), json!(name));
                if !ns.is_empty() {
                    meta.insert("namespace".into(), json!(ns));
                }
                let mut secret = Map::new();
                secret.insert("apiVersion".into(), json!("v1"));
                secret.insert("kind".into(), json!("Secret"));
                secret.insert("metadata".into(), Value::Object(meta));
                if let Some(t) = g.get("type") {
                    secret.insert("type".into(), t.clone());
                }
                secret.insert("stringData".into(), Value::Object(data));
                let mut file = join(
                    &kdir,
                    &format!("{}-secret.yaml", crate::names::sanitize(&name)),
                );
                while self.yaml.contains_key(&file) || self.other.contains_key(&file) {
                    file = file.replace(".yaml", "-generated.yaml");
                }
                self.yaml.insert(
                    file.clone(),
                    YamlFile {
                        docs: vec![Doc {
                            value: Value::Object(secret),
                            raw: None,
                            dropped: false,
                            modified: true,
                        }],
                    },
                );
                resources.push(base_name(&file).to_string());
                self.note(format!(
                    "{origin}: secretGenerator {name} became a Secret ({}) with secret parameters; its name has no hash suffix any more",
                    self.origin(&file)
                ));
            }
            if let Some(f) = self.yaml.get_mut(&kfile)
                && let Some(d) = f.docs.first_mut()
                && let Some(m) = d.value.as_object_mut()
            {
                m.remove("secretGenerator");
                let res = m
                    .entry("resources")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(a) = res {
                    a.extend(resources.into_iter().map(Value::String));
                }
                d.modified = true;
            }
        }
        Ok(())
    }
}

/// A Secret's value for `key` as text: stringData, or data decoded from base64.
pub(super) fn secret_value(doc: &Value, key: &str) -> Option<String> {
    if doc.get("sops").is_some() {
        return None;
    }
    if let Some(v) = doc.get("stringData").and_then(|d| d.get(key)) {
        return secret_value_of(v, false);
    }
    secret_value_of(doc.get("data")?.get(key)?, true)
}

pub(super) fn secret_value_of(v: &Value, b64: bool) -> Option<String> {
    use base64::Engine;
    let text = v.as_str()?;
    if !b64 {
        return Some(text.to_string());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}
