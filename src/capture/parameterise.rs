//! Capture's `--parameterise`: literals repeated across the manifests (domains,
//! replica counts, image tags) become parameters with the value as default.
use super::*;

impl Capture<'_> {
    pub(super) fn parameterise(&mut self) {
        // Pass 1: count literals.
        let mut counts: BTreeMap<(Cand, String), (usize, BTreeSet<String>)> = BTreeMap::new();
        let mut seen = |c: Cand, lit: &str, hint: &str| -> Option<String> {
            let e = counts.entry((c, lit.to_string())).or_default();
            e.0 += 1;
            if !hint.is_empty() {
                e.1.insert(hint.to_string());
            }
            None
        };
        for f in self
            .yaml
            .iter_mut()
            .filter(|(p, _)| !is_kustomization_file(p))
        {
            for d in f.1.docs.iter_mut().filter(|d| !d.dropped) {
                if !is_object(&d.value) || kind_of(&d.value).1 == "Secret" {
                    continue;
                }
                let mut v = d.value.clone();
                walk_candidates(&mut v, None, false, &mut seen);
            }
        }
        for v in self.values.values() {
            let mut v = v.clone();
            walk_candidates(&mut v, None, false, &mut seen);
        }
        // Choose: a literal seen twice or more.
        let mut chosen: BTreeMap<(Cand, String), usize> = BTreeMap::new();
        for ((cand, lit), (n, hints)) in counts {
            if n < 2 {
                continue;
            }
            let (name, kind, default, pattern, minimum, what) = match cand {
                Cand::Replicas => {
                    let Ok(i) = lit.parse::<i64>() else { continue };
                    (
                        "replicas".to_string(),
                        "integer",
                        json!(i),
                        None,
                        Some(0),
                        "replica count",
                    )
                }
                Cand::Domain => (
                    "domain".to_string(),
                    "string",
                    json!(lit),
                    Some("^[A-Za-z0-9*.-]+$"),
                    None,
                    "domain",
                ),
                Cand::Tag => {
                    let base = if hints.len() == 1 {
                        hints.iter().next().cloned().unwrap_or_default()
                    } else {
                        "image".to_string()
                    };
                    (
                        param_name(&format!("{base}_tag")),
                        "string",
                        json!(lit),
                        Some("^[A-Za-z0-9_][A-Za-z0-9_.-]*$"),
                        None,
                        "image tag",
                    )
                }
            };
            let (whole, inside) = if kind == "integer" {
                (
                    "{{ params.NAME }}".to_string(),
                    "{{ params.NAME }}".to_string(),
                )
            } else {
                (
                    "\"{{ params.NAME }}\"".to_string(),
                    "{{ params.NAME }}".to_string(),
                )
            };
            let i = self.params.add(Param {
                name,
                kind,
                default: Some(default),
                pattern,
                minimum,
                description: format!("The {what} {lit:?}, found {n} times"),
                whole,
                inside,
            });
            chosen.insert((cand, lit), i);
        }
        if chosen.is_empty() {
            return;
        }
        // Pass 2: replace.
        let mut replace = |c: Cand, lit: &str, _hint: &str| -> Option<String> {
            chosen.get(&(c, lit.to_string())).map(|i| Params::token(*i))
        };
        for f in self
            .yaml
            .iter_mut()
            .filter(|(p, _)| !is_kustomization_file(p))
        {
            for d in f.1.docs.iter_mut().filter(|d| !d.dropped) {
                if !is_object(&d.value) || kind_of(&d.value).1 == "Secret" {
                    continue;
                }
                let before = d.value.clone();
                walk_candidates(&mut d.value, None, false, &mut replace);
                if d.value != before {
                    d.modified = true;
                }
            }
        }
        for v in self.values.values_mut() {
            walk_candidates(v, None, false, &mut replace);
        }
    }
}

// ---------------------------------------------------------------- candidates

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cand {
    Domain,
    Replicas,
    Tag,
}

/// A public DNS name: two labels or more, an alphabetic top-level label, not a file
/// name or a cluster-internal name.
pub(super) fn is_domain(s: &str) -> bool {
    let s = s.strip_prefix("*.").unwrap_or(s);
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 || s.len() > 253 {
        return false;
    }
    let ok_label = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld = labels.last().copied().unwrap_or("");
    const NOT_TLDS: [&str; 22] = [
        "yaml", "yml", "json", "conf", "txt", "sh", "py", "toml", "ini", "xml", "html", "js",
        "css", "crt", "key", "pem", "tpl", "svc", "local", "internal", "cluster", "md",
    ];
    labels.iter().all(ok_label)
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && !NOT_TLDS.contains(&tld.to_ascii_lowercase().as_str())
        && labels
            .iter()
            .any(|l| l.chars().any(|c| c.is_ascii_alphabetic()))
}

/// The tag of an image reference `[host[:port]/]path:tag`, and the image's base name.
pub(super) fn image_tag(image: &str) -> Option<(usize, &str, &str)> {
    let image_no_digest = image.split('@').next()?;
    let slash = image_no_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let colon = image_no_digest[slash..].rfind(':')? + slash;
    let tag = &image_no_digest[colon + 1..];
    let base = &image_no_digest[slash..colon];
    let valid = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !tag.starts_with(['.', '-']);
    valid.then_some((colon + 1, tag, base))
}

/// Visit every candidate literal; `f(kind, literal, hint)` returns a replacement for
/// it (a token) or None.
pub(super) fn walk_candidates(
    v: &mut Value,
    key: Option<&str>,
    has_repository: bool,
    f: &mut dyn FnMut(Cand, &str, &str) -> Option<String>,
) {
    match v {
        Value::Object(m) => {
            let repo = m.contains_key("repository");
            for (k, child) in m.iter_mut() {
                if matches!(k.as_str(), "apiVersion" | "kind") {
                    continue;
                }
                walk_candidates(child, Some(k), repo, f);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk_candidates(x, key, false, f);
            }
        }
        Value::Number(n) => {
            if matches!(key, Some("replicas" | "replicaCount"))
                && let Some(i) = n.as_i64()
                && let Some(t) = f(Cand::Replicas, &i.to_string(), "")
            {
                *v = Value::String(t);
            }
        }
        Value::String(s) => {
            if key == Some("tag") && has_repository {
                if let Some(t) = image_tag(&format!("x:{s}"))
                    .filter(|(_, tag, _)| tag == s)
                    .and_then(|(_, tag, _)| f(Cand::Tag, tag, ""))
                {
                    *v = Value::String(t);
                }
                return;
            }
            if key.is_some_and(|k| k.to_ascii_lowercase().ends_with("image")) {
                if let Some((at, tag, base)) = image_tag(s) {
                    let base = base.to_string();
                    if let Some(t) = f(Cand::Tag, tag, &base) {
                        *v = Value::String(format!("{}{t}", &s[..at]));
                    }
                }
                return;
            }
            if is_domain(s) {
                if let Some(t) = f(Cand::Domain, &s.clone(), "") {
                    *v = Value::String(t);
                }
                return;
            }
            // A URL's host.
            if let Some((scheme, rest)) = s.split_once("://")
                && !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphabetic())
            {
                let host_end = rest.find([':', '/', '?', '#']).unwrap_or(rest.len());
                let host = &rest[..host_end];
                if is_domain(host)
                    && let Some(t) = f(Cand::Domain, host, "")
                {
                    let start = scheme.len() + 3;
                    *v = Value::String(format!("{}{t}{}", &s[..start], &s[start + host_end..]));
                }
            }
        }
        _ => {}
    }
}
