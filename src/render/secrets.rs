//! Secrets in a rendering: markers where a secret value appeared, taking them out
//! of chart values into `valuesFrom`, and the Secrets to SOPS-encrypt for the
//! repository's recipients (encrypted after rendering, by `crate::sops::seal`).
use super::renderer::Renderer;
use super::*;

/// Marks where a secret appeared in rendered text (followed by the parameter key in
/// hex and SECRET_END); safe in any YAML scalar; never written anywhere.
pub(super) const SECRET_MARK: &str = "PCTL-SECRET-";
pub(super) const SECRET_END: &str = "-END";

pub(super) fn marker(key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{SECRET_MARK}{hex}{SECRET_END}")
}

/// The parameter key of the marker at the start of `s`, and the rest of `s`.
pub(super) fn parse_marker(s: &str) -> Option<(String, &str)> {
    let after = s.strip_prefix(SECRET_MARK)?;
    let end = after.find(SECRET_END)?;
    let hex = &after[..end];
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    Some((
        String::from_utf8(bytes?).ok()?,
        &after[end + SECRET_END.len()..],
    ))
}

impl Renderer<'_> {
    /// The Secret a chart reads its secret values from, to SOPS-encrypt. Returns
    /// whether the wrapper must decrypt.
    pub(super) fn chart_secret(
        &mut self,
        dir: &str,
        object: &str,
        data: &Map,
        resources: &mut Vec<String>,
    ) -> Result<bool> {
        if data.is_empty() {
            return Ok(false);
        }
        let path = format!("{}/{dir}/secret-values.yaml", self.opts.install_dir);
        let recipients = self.recipients(&path, &format!("chart values of {object}"))?;
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": format!("{}-secrets", names::fit(object, 55)), "namespace": self.opts.flux_namespace()},
            "type": "Opaque",
            "stringData": data,
        });
        let plain = yaml::to_string(&doc)?;
        let path = format!("{dir}/secret-values.yaml");
        self.sealed.insert(path.clone(), Sealed::of(&plain));
        self.to_seal.push(ToSeal {
            path,
            parts: vec![Part::Secret {
                plaintext: Plaintext::new(plain),
                recipients,
            }],
        });
        resources.push("secret-values.yaml".into());
        Ok(true)
    }

    /// The age recipients for a file, or an error naming what needed them.
    pub(super) fn recipients(&self, path: &str, what: &str) -> Result<Vec<String>> {
        let found = match &self.opts.sops_yaml {
            Some(text) => crate::sops_rules::age_recipients(text, path)?,
            None => None,
        };
        found.filter(|r| !r.is_empty()).ok_or_else(|| {
            crate::error::user(
                format!("{what} use a secret, but the GitOps repository has no .sops.yaml rule with age recipients for {path}"),
                "add a .sops.yaml with `creation_rules: [{age: age1…}]` so pctl can encrypt it, or pass --secret-ref PARAM=SECRET/KEY and create the Secret yourself",
            )
        })
    }

    /// A templated YAML file that uses secrets: they may appear only in the `data` or
    /// `stringData` of a Kubernetes Secret, which is then SOPS-encrypted. Returns the
    /// file's documents to seal and its plaintext.
    pub(super) fn protect_secrets(
        &self,
        label: &str,
        path: &str,
        text: &str,
    ) -> Result<(Vec<Part>, String)> {
        let refuse = |why: &str| {
            crate::error::user(
                format!("{label}: a secret parameter is used {why}"),
                "secrets may appear only in the data or stringData of a Kubernetes Secret (which pctl encrypts with SOPS); pass other values as plain parameters",
            )
        };
        let docs = yaml::documents(label, text)
            .map_err(|_| refuse("in a file that is not valid YAML once rendered"))?;
        let mut out = Vec::new();
        let mut plain = Vec::new();
        for mut doc in docs {
            if !doc.to_string().contains(SECRET_MARK) {
                out.push(Part::Clear(yaml::to_string(&doc)?));
                plain.push(yaml::to_string(&doc)?);
                continue;
            }
            if doc.get("kind").and_then(Value::as_str) != Some("Secret")
                || doc.get("apiVersion").and_then(Value::as_str) != Some("v1")
            {
                return Err(refuse("outside a Kubernetes Secret"));
            }
            for (field, b64) in [("stringData", false), ("data", true)] {
                if let Some(Value::Object(m)) = doc.get_mut(field) {
                    for v in m.values_mut() {
                        let Some(s) = v.as_str() else { continue };
                        if !s.contains(SECRET_MARK) {
                            continue;
                        }
                        let plain = self.unmask(s).ok_or_else(|| refuse("without a value"))?;
                        *v = Value::String(if b64 {
                            base64_encode(plain.as_bytes())
                        } else {
                            plain
                        });
                    }
                }
            }
            if doc.to_string().contains(SECRET_MARK) {
                return Err(refuse("in a Secret outside its data and stringData"));
            }
            move_data_to_string_data(&mut doc);
            let recipients = self.recipients(path, label)?;
            let text = yaml::to_string(&doc)?;
            plain.push(text.clone());
            out.push(Part::Secret {
                plaintext: Plaintext::new(text),
                recipients,
            });
        }
        Ok((out, plain.join("---\n")))
    }

    /// Replace every secret marker in `s` with its value (None when one has none).
    pub(super) fn unmask(&self, s: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(SECRET_MARK) {
            out.push_str(&rest[..i]);
            let (key, after) = parse_marker(&rest[i..])?;
            out.push_str(self.secret_values.get(&key)?.as_deref()?);
            rest = after;
        }
        out.push_str(rest);
        Some(out)
    }
}

/// The Secret in the Flux namespace holding the cluster's age key (Flux's convention).
pub const SOPS_KEY_SECRET: &str = "sops-age";

/// Take secret markers out of chart values: each becomes (parameter key, targetPath).
/// A secret must be a whole value (not part of a longer string) and not in a list.
pub(super) fn take_secrets(
    m: &mut Map,
    at: &str,
    origin: &str,
    found: &mut Vec<(String, String)>,
) -> Result<()> {
    let keys: Vec<String> = m.keys().cloned().collect();
    for k in keys {
        let path = if at.is_empty() {
            strvals_key(&k)
        } else {
            format!("{at}.{}", strvals_key(&k))
        };
        let Some(v) = m.get_mut(&k) else { continue };
        match v {
            Value::String(s) if s.contains(SECRET_MARK) => {
                let whole = parse_marker(s).filter(|(_, rest)| rest.is_empty());
                let Some(key) = whole.map(|(k, _)| k) else {
                    bail!(crate::error::user(
                        format!("{origin}: a secret parameter is part of a longer value at {path}"),
                        "use the secret as a whole value (`key: {{ params.token }}`) so it can be passed through valuesFrom",
                    ));
                };
                found.push((key, path));
                m.remove(&k);
            }
            Value::Object(inner) => take_secrets(inner, &path, origin, found)?,
            Value::Array(items)
                if Value::Array(items.clone())
                    .to_string()
                    .contains(SECRET_MARK) =>
            {
                bail!(crate::error::user(
                    format!("{origin}: a secret parameter is used inside the list at {path}"),
                    "Helm's valuesFrom targetPath cannot address list items reliably: move the secret to a mapping key",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A key in Helm's strvals syntax (valuesFrom `targetPath`): `.`, `[`, `]`, `,`,
/// `=` and `\` are escaped with a backslash, so `grafana.ini` stays one key.
pub(super) fn strvals_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    for c in k.chars() {
        if matches!(c, '.' | '[' | ']' | ',' | '=' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Before encryption, `data` entries that are UTF-8 move to `stringData` (decoded):
/// an encrypted `data` value is not base64, and validators of Secrets reject it.
pub(super) fn move_data_to_string_data(doc: &mut Value) {
    use base64::Engine;
    let Some(Value::Object(data)) = doc.get("data").cloned() else {
        return;
    };
    let mut keep = Map::new();
    let mut moved = Map::new();
    for (k, v) in data {
        let decoded = v
            .as_str()
            .and_then(|s| {
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        match decoded {
            Some(text) => {
                moved.insert(k, Value::String(text));
            }
            None => {
                keep.insert(k, v);
            }
        }
    }
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    if keep.is_empty() {
        obj.remove("data");
    } else {
        obj.insert("data".into(), Value::Object(keep));
    }
    if !moved.is_empty() {
        let sd = obj
            .entry("stringData")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(sd) = sd.as_object_mut() {
            for (k, v) in moved {
                sd.entry(k).or_insert(v);
            }
        }
    }
}
