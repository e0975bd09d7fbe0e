//! Validation of objects against the served Flux CRD schemas, embedded in the binary
//! (`flux-schemas.json`, generated from `schemas/flux/crds/` by the test in
//! `schemagen.rs`), with a small JSON-schema validator for the keywords those schemas
//! use, and a minimal check of a few core Kubernetes kinds.
use crate::git::parsecache::{self, Key};
use crate::yaml::Value;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The generated schemas: `"<apiVersion>/<kind>"` to a JSON schema.
pub const EMBEDDED: &str = include_str!("flux-schemas.json");

/// The API groups whose served versions are embedded: any other version of them is
/// not served by a current Flux.
pub const FLUX_GROUPS: &[&str] = &[
    "source.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "source.extensions.fluxcd.io",
];

fn schemas() -> &'static serde_json::Map<String, Value> {
    static S: OnceLock<serde_json::Map<String, Value>> = OnceLock::new();
    S.get_or_init(|| match serde_json::from_str::<Value>(EMBEDDED) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    })
}

/// One problem: where in the object (`spec.chart.spec`) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: Vec<String>,
    pub message: String,
}

impl Violation {
    pub fn at(&self) -> String {
        let mut s = String::new();
        for p in &self.path {
            if p.starts_with('[') {
                s.push_str(p);
            } else {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(p);
            }
        }
        if s.is_empty() { "(root)".into() } else { s }
    }
}

/// The API group of an apiVersion that names one of [`FLUX_GROUPS`] (every embedded
/// schema is of one of them).
pub(super) fn flux_group(api: &str) -> Option<&str> {
    api.split_once('/')
        .map(|(group, _)| group)
        .filter(|g| FLUX_GROUPS.contains(g))
}

/// What validation says about one object: None when no schema applies.
pub fn validate(doc: &Value) -> Option<Vec<Violation>> {
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    // Only a Flux group's kinds are embedded: other objects never load the schemas.
    if let Some(group) = flux_group(api) {
        if let Some(schema) = schemas().get(&format!("{api}/{kind}")) {
            let mut out = Vec::new();
            check(schema, doc, &mut Vec::new(), &mut out);
            return Some(out);
        }
        let served: Vec<&str> = schemas()
            .keys()
            .filter(|k| k.ends_with(&format!("/{kind}")) && k.starts_with(&format!("{group}/")))
            .map(|k| &k[..k.len() - kind.len() - 1])
            .collect();
        let hint = if served.is_empty() {
            String::new()
        } else {
            format!("; use {}", served.join(", "))
        };
        return Some(vec![Violation {
            path: Vec::new(),
            message: format!("{api} {kind} is not served by a current Flux{hint}"),
        }]);
    }
    core(doc, api, kind)
}

/// The first byte of a remembered verdict (a new layout takes a new byte).
const VERDICT_FORMAT: u8 = 1;

/// The memo key of the verdict on document `index` of the text whose parse-cache key
/// is `text`, with `target` (a Flux Kustomization's targetNamespace) applied to it.
pub fn verdict_key(text: &Key, index: u32, target: Option<&str>) -> Key {
    // One part, so that the hashed input mostly fits two SHA-256 blocks.
    let mut part = Vec::with_capacity(48 + target.map_or(0, str::len));
    part.push(VERDICT_FORMAT);
    part.extend_from_slice(&(EMBEDDED.len() as u32).to_le_bytes());
    part.extend_from_slice(text);
    part.extend_from_slice(&index.to_le_bytes());
    if let Some(t) = target {
        part.push(1);
        part.extend_from_slice(t.as_bytes());
    }
    parsecache::memo_key("schema", &[&part])
}

/// [`validate`] of an object read as document `origin.1` of the text whose parse-cache
/// key is `origin.0`, after `target` (its targetNamespace) was applied: for a Flux
/// kind, the verdict is remembered across processes in the parse cache's memo store
/// (`parsecache::memo_get`, believed only when its tag proves the user's pctl wrote
/// it for this key; anything else is validated again). The value is a function of the
/// text, the index and the target, so the key names everything the verdict depends on.
pub fn validate_read(
    doc: &Value,
    origin: Option<&(Key, u32)>,
    target: Option<&str>,
) -> Option<Vec<Violation>> {
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let Some((text, index)) = origin.filter(|_| flux_group(api).is_some()) else {
        return validate(doc);
    };
    let key = verdict_key(text, *index, target);
    if let Some(v) = parsecache::memo_get(&key).and_then(|b| decode_verdict(&b)) {
        return v;
    }
    let v = validate(doc);
    parsecache::memo_put(&key, &encode_verdict(&v));
    v
}

/// A verdict as a payload: [`VERDICT_FORMAT`], then one value: null (no schema
/// applies) or a list of `[[path part, ...], message]`.
fn encode_verdict(v: &Option<Vec<Violation>>) -> Vec<u8> {
    let value = match v {
        None => Value::Null,
        Some(vs) => Value::Array(
            vs.iter()
                .map(|x| {
                    Value::Array(vec![
                        Value::Array(x.path.iter().cloned().map(Value::String).collect()),
                        Value::String(x.message.clone()),
                    ])
                })
                .collect(),
        ),
    };
    let mut out = vec![VERDICT_FORMAT];
    out.extend(parsecache::encode_values(&[&value]));
    out
}

/// The verdict [`encode_verdict`] wrote; None when `bytes` is anything else.
fn decode_verdict(bytes: &[u8]) -> Option<Option<Vec<Violation>>> {
    let (&format, rest) = bytes.split_first()?;
    if format != VERDICT_FORMAT {
        return None;
    }
    let [value] = <[Value; 1]>::try_from(parsecache::decode_values(rest)?).ok()?;
    let items = match value {
        Value::Null => return Some(None),
        Value::Array(items) => items,
        _ => return None,
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(pair) = item else {
            return None;
        };
        let [Value::Array(path), Value::String(message)] = <[Value; 2]>::try_from(pair).ok()?
        else {
            return None;
        };
        let path = path
            .into_iter()
            .map(|p| match p {
                Value::String(p) => Some(p),
                _ => None,
            })
            .collect::<Option<Vec<String>>>()?;
        out.push(Violation { path, message });
    }
    Some(Some(out))
}

/// Validate `v` against the schema of one field of a served Flux kind, found by the
/// path of property names below the object (`["spec", "install"]`); None when the
/// kind or the field is not embedded. Paths in the violations start at `v`.
pub fn validate_field(api_kind: &str, field: &[&str], v: &Value) -> Option<Vec<Violation>> {
    let mut schema = schemas().get(api_kind)?;
    for f in field {
        schema = schema.get("properties")?.get(*f)?;
    }
    let mut out = Vec::new();
    check(schema, v, &mut Vec::new(), &mut out);
    Some(out)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        other => type_name(v) == other,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn pattern_matches(pattern: &str, s: &str) -> bool {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Option<regex::Regex>>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let re = c
            .entry(pattern.to_string())
            .or_insert_with(|| regex::Regex::new(pattern).ok());
        re.as_ref().is_none_or(|re| re.is_match(s))
    })
}

fn count(schema: &Value, v: &Value) -> usize {
    let mut out = Vec::new();
    check(schema, v, &mut Vec::new(), &mut out);
    out.len()
}

/// The keywords of one schema node that [`check`] reads, found in one pass over its
/// entries (not one hashed lookup per keyword: most nodes have two or three).
#[derive(Default)]
struct Keywords<'a> {
    ty: Option<&'a Value>,
    konst: Option<&'a Value>,
    enumeration: Option<&'a Value>,
    min_length: Option<&'a Value>,
    max_length: Option<&'a Value>,
    pattern: Option<&'a Value>,
    minimum: Option<&'a Value>,
    maximum: Option<&'a Value>,
    min_items: Option<&'a Value>,
    max_items: Option<&'a Value>,
    items: Option<&'a Value>,
    required: Option<&'a Value>,
    properties: Option<&'a Value>,
    additional: Option<&'a Value>,
    all_of: Option<&'a Value>,
    any_of: Option<&'a Value>,
    one_of: Option<&'a Value>,
    not: Option<&'a Value>,
}

impl<'a> Keywords<'a> {
    fn of(s: &'a serde_json::Map<String, Value>) -> Self {
        let mut kw = Keywords::default();
        for (k, v) in s {
            match k.as_str() {
                "type" => kw.ty = Some(v),
                "const" => kw.konst = Some(v),
                "enum" => kw.enumeration = Some(v),
                "minLength" => kw.min_length = Some(v),
                "maxLength" => kw.max_length = Some(v),
                "pattern" => kw.pattern = Some(v),
                "minimum" => kw.minimum = Some(v),
                "maximum" => kw.maximum = Some(v),
                "minItems" => kw.min_items = Some(v),
                "maxItems" => kw.max_items = Some(v),
                "items" => kw.items = Some(v),
                "required" => kw.required = Some(v),
                "properties" => kw.properties = Some(v),
                "additionalProperties" => kw.additional = Some(v),
                "allOf" => kw.all_of = Some(v),
                "anyOf" => kw.any_of = Some(v),
                "oneOf" => kw.one_of = Some(v),
                "not" => kw.not = Some(v),
                _ => {}
            }
        }
        kw
    }
}

/// A violation's path, owned.
fn owned(path: &[Cow<str>]) -> Vec<String> {
    path.iter().map(|p| p.to_string()).collect()
}

/// Validate `v` against `schema`, pushing every violation.
/// `path` borrows the object's keys (an owned copy is made only for a violation).
fn check<'v>(schema: &Value, v: &'v Value, path: &mut Vec<Cow<'v, str>>, out: &mut Vec<Violation>) {
    let Some(s) = schema.as_object() else {
        return;
    };
    let kw = Keywords::of(s);
    let mut push = |path: &[Cow<str>], message: String| {
        out.push(Violation {
            path: owned(path),
            message,
        })
    };
    if let Some(t) = kw.ty {
        let ok = match t {
            Value::String(t) => is_type(v, t),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| is_type(v, t)),
            _ => true,
        };
        if !ok {
            let want = match t {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            push(path, format!("{} is not of type {want}", short(v)));
            return;
        }
    }
    if let Some(c) = kw.konst
        && c != v
    {
        push(path, format!("{} must be {}", short(v), short(c)));
    }
    if let Some(Value::Array(e)) = kw.enumeration
        && !e.contains(v)
    {
        let opts: Vec<String> = e.iter().map(short).collect();
        push(
            path,
            format!("{} is not one of {}", short(v), opts.join(", ")),
        );
    }
    if let Value::String(text) = v {
        let n = text.chars().count() as u64;
        if let Some(min) = kw.min_length.and_then(Value::as_u64)
            && n < min
        {
            push(
                path,
                format!("{} is shorter than {min} characters", short(v)),
            );
        }
        if let Some(max) = kw.max_length.and_then(Value::as_u64)
            && n > max
        {
            push(
                path,
                format!("{} is longer than {max} characters", short(v)),
            );
        }
        if let Some(p) = kw.pattern.and_then(Value::as_str)
            && !pattern_matches(p, text)
        {
            push(path, format!("{} does not match {p}", short(v)));
        }
    }
    if let Some(x) = v.as_f64() {
        if let Some(min) = kw.minimum.and_then(Value::as_f64)
            && x < min
        {
            push(path, format!("{} is less than the minimum {min}", short(v)));
        }
        if let Some(max) = kw.maximum.and_then(Value::as_f64)
            && x > max
        {
            push(path, format!("{} is more than the maximum {max}", short(v)));
        }
    }
    if let Value::Array(items) = v {
        if let Some(min) = kw.min_items.and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            push(path, format!("needs at least {min} item(s)"));
        }
        if let Some(max) = kw.max_items.and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            push(path, format!("has more than {max} item(s)"));
        }
        if let Some(is) = kw.items {
            for (i, item) in items.iter().enumerate() {
                path.push(Cow::Owned(format!("[{i}]")));
                check(is, item, path, out);
                path.pop();
            }
        }
    }
    if let Value::Object(map) = v {
        if let Some(Value::Array(req)) = kw.required {
            for r in req.iter().filter_map(Value::as_str) {
                if !map.contains_key(r) {
                    out.push(Violation {
                        path: owned(path),
                        message: format!("{r} is required"),
                    });
                }
            }
        }
        let props = kw.properties.and_then(Value::as_object);
        for (k, val) in map {
            path.push(Cow::Borrowed(k));
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(ps, val, path, out),
                None => match kw.additional {
                    Some(Value::Bool(false)) => out.push(Violation {
                        path: owned(path),
                        message: "unknown field (the schema does not allow it)".into(),
                    }),
                    Some(ap @ Value::Object(_)) => check(ap, val, path, out),
                    _ => {}
                },
            }
            path.pop();
        }
    }
    let described = |sub: &Value| -> Option<String> {
        sub.get("description")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if let Some(Value::Array(all)) = kw.all_of {
        for sub in all {
            if let Some(d) = described(sub) {
                if count(sub, v) > 0 {
                    out.push(Violation {
                        path: owned(path),
                        message: d,
                    });
                }
            } else {
                check(sub, v, path, out);
            }
        }
    }
    if let Some(Value::Array(any)) = kw.any_of {
        let counts: Vec<usize> = any.iter().map(|sub| count(sub, v)).collect();
        if !any.is_empty() && !counts.contains(&0) {
            match described(schema) {
                Some(d) if kw.all_of.is_none() => out.push(Violation {
                    path: owned(path),
                    message: d,
                }),
                _ => {
                    let best = counts
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, c)| **c)
                        .map_or(0, |(i, _)| i);
                    check(&any[best], v, path, out);
                }
            }
        }
    }
    if let Some(Value::Array(one)) = kw.one_of {
        let ok = one.iter().filter(|sub| count(sub, v) == 0).count();
        if ok != 1 {
            out.push(Violation {
                path: owned(path),
                message: described(schema).unwrap_or_else(|| {
                    format!("must match exactly one of {} alternatives", one.len())
                }),
            });
        }
    }
    if let Some(not) = kw.not
        && count(not, v) == 0
    {
        out.push(Violation {
            path: owned(path),
            message: described(schema).unwrap_or_else(|| "is not allowed here".into()),
        });
    }
}

fn dns_label(s: &str) -> bool {
    crate::names::is_dns1123_label(s)
}

fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(dns_label)
}

fn is_base64(s: &str) -> bool {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let body = t.trim_end_matches('=');
    t.len() - body.len() <= 2
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

/// A minimal check of Namespace, ConfigMap, Secret, Service and Deployment: names,
/// string maps, base64 Secret data.
fn core(doc: &Value, api: &str, kind: &str) -> Option<Vec<Violation>> {
    if !matches!(
        (api, kind),
        ("v1", "Namespace" | "ConfigMap" | "Secret" | "Service") | ("apps/v1", "Deployment")
    ) {
        return None;
    }
    let mut out = Vec::new();
    let mut push = |path: &[&str], message: String| {
        out.push(Violation {
            path: path.iter().map(|s| s.to_string()).collect(),
            message,
        })
    };
    let Some(md) = doc.get("metadata").and_then(Value::as_object) else {
        push(&["metadata"], "metadata must be a mapping".into());
        return Some(out);
    };
    match md.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => {
            let ok = if matches!(kind, "Namespace" | "Service") {
                dns_label(n)
            } else {
                dns_subdomain(n)
            };
            if !ok {
                push(
                    &["metadata", "name"],
                    format!("{n:?} is not a valid DNS-1123 name"),
                );
            }
        }
        _ => push(&["metadata", "name"], "metadata.name is required".into()),
    }
    if let Some(ns) = md.get("namespace")
        && !ns.as_str().is_some_and(dns_label)
    {
        push(
            &["metadata", "namespace"],
            format!("{} is not a valid namespace", short(ns)),
        );
    }
    for key in ["labels", "annotations"] {
        match md.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    if !v.is_string() {
                        push(
                            &["metadata", key, k],
                            format!("value {} must be a string", short(v)),
                        );
                    }
                }
            }
            Some(_) => push(&["metadata", key], "must be a mapping".into()),
        }
    }
    if matches!(kind, "ConfigMap" | "Secret") {
        let sops = doc.get("sops").is_some_and(Value::is_object);
        for key in ["data", "stringData"] {
            match doc.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Object(m)) => {
                    for (k, v) in m {
                        match v.as_str() {
                            None => push(
                                &[key, k],
                                format!("value must be a string, got {}", type_name(v)),
                            ),
                            Some(s)
                                if kind == "Secret"
                                    && key == "data"
                                    && !is_base64(s)
                                    && !(sops && s.starts_with("ENC[")) =>
                            {
                                push(&[key, k], "Secret .data values must be base64".into())
                            }
                            _ => {}
                        }
                    }
                }
                Some(_) => push(&[key], "must be a mapping".into()),
            }
        }
    }
    if matches!(kind, "Deployment" | "Service") && !doc.get("spec").is_some_and(Value::is_object) {
        push(&["spec"], "spec is required".into());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(y: &str) -> Value {
        crate::yaml::from_str("t", y).unwrap()
    }

    #[test]
    fn every_embedded_schema_is_of_a_flux_group() {
        // `validate` looks the schemas up only for these groups.
        for key in schemas().keys() {
            let api = &key[..key.rfind('/').unwrap()];
            assert!(flux_group(api).is_some(), "{key}");
        }
    }

    const HR: &str = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\n  namespace: x\nspec:\n  interval: INTERVAL\n  chart:\n    spec:\n      chart: c\n      sourceRef: {kind: HelmRepository, name: r}\n";

    /// On a thread of its own (the parse cache and the parsed texts are per thread):
    /// with the parse cache of `git` under `secret`, the verdict on the HelmRelease
    /// whose interval is `interval`, read as the guard reads it, and what `pctl check`
    /// of a tree holding it reports; then the cache is saved.
    fn read(
        git: &std::path::Path,
        secret: (u64, u64),
        interval: &str,
        forge: Option<&'static str>,
    ) -> (Option<Vec<Violation>>, Vec<String>) {
        let (git, text) = (git.to_path_buf(), HR.replace("INTERVAL", interval));
        std::thread::spawn(move || {
            parsecache::attach_for_tests(&git, secret);
            let docs = crate::check::build::parse_docs("a.yaml", &text).unwrap();
            let origin = docs[0].origin.unwrap();
            if let Some(message) = forge {
                let v = Some(vec![Violation {
                    path: Vec::new(),
                    message: message.into(),
                }]);
                parsecache::memo_put(&verdict_key(&origin.0, 0, None), &encode_verdict(&v));
            }
            let verdict = validate_read(&docs[0].value, Some(&origin), None);
            let files = crate::check::tree::Files::memory(
                [("clusters/default/a.yaml".to_string(), text.into_bytes())].into(),
            );
            let opts = crate::check::Options {
                no_kustomize: true,
                ..Default::default()
            };
            let report = crate::check::run(&files, &opts);
            parsecache::save();
            // (The chart's source is not in the tree: that problem is not the schema's.)
            let errors = report
                .errors()
                .map(|f| f.message.clone())
                .filter(|m| !m.contains("chart source"))
                .collect();
            (verdict, errors)
        })
        .join()
        .unwrap()
    }

    #[test]
    fn remembered_verdicts_are_believed_only_under_the_users_tag() {
        const MINE: (u64, u64) = (3, 5);
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path();
        let truth = validate(&doc(&HR.replace("INTERVAL", "5"))).unwrap();
        assert!(!truth.is_empty());
        let wrong = "5 is not of type string";
        assert!(truth.iter().any(|v| v.message.contains(wrong)), "{truth:?}");
        // Computed, remembered, then read back by the next process: the same.
        let first = read(git, MINE, "5", None);
        assert_eq!(first.0.as_ref(), Some(&truth));
        assert!(first.1.iter().any(|m| m.contains(wrong)), "{:?}", first.1);
        assert_eq!(read(git, MINE, "5", None), first);

        // A verdict under the user's tag is believed (it is what is read)...
        let forged = tempfile::tempdir().unwrap();
        let forged = forged.path();
        let said = read(forged, MINE, "5", Some("forged verdict"));
        assert_eq!(said.0.unwrap()[0].message, "forged verdict");
        let again = read(forged, MINE, "5", None);
        assert_eq!(again.0.unwrap()[0].message, "forged verdict");
        assert!(again.1.iter().any(|m| m.contains("forged verdict")));
        // ...and nothing else: a file written under another secret (a copied or
        // hostile .git) or with a flipped byte is not believed, and the problem is
        // still reported.
        let foreign = read(forged, (3, 6), "5", None);
        assert_eq!(foreign, first);
        let file = forged.join(parsecache::FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        let at = bytes
            .windows(14)
            .position(|w| w == b"forged verdict")
            .unwrap();
        bytes[at] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(read(forged, MINE, "5", None), first);
        // A changed text is validated again, whatever was remembered for the old one.
        let changed = read(git, MINE, "\"5m\"", None);
        assert_eq!(changed.0, Some(Vec::new()));
        assert!(changed.1.is_empty(), "{:?}", changed.1);
        let changed = read(forged, MINE, "6", None);
        assert!(
            changed
                .1
                .iter()
                .any(|m| m.contains("6 is not of type string"))
        );
    }

    #[test]
    fn a_verdict_payload_is_read_back_exactly_or_not_at_all() {
        let v = Some(vec![Violation {
            path: vec!["spec".into(), "[0]".into()],
            message: "m".into(),
        }]);
        let bytes = encode_verdict(&v);
        assert_eq!(decode_verdict(&bytes), Some(v));
        assert_eq!(decode_verdict(&encode_verdict(&None)), Some(None));
        for cut in 0..bytes.len() {
            assert_eq!(decode_verdict(&bytes[..cut]), None);
        }
        let mut other = bytes.clone();
        other[0] = VERDICT_FORMAT + 1;
        assert_eq!(decode_verdict(&other), None);
        let mut odd = vec![VERDICT_FORMAT];
        odd.extend(parsecache::encode_values(&[&serde_json::json!([
            ["a", 1],
            "m"
        ])]));
        assert_eq!(decode_verdict(&odd), None);
    }

    #[test]
    fn the_embedded_schemas_cover_the_served_flux_kinds() {
        for key in [
            "kustomize.toolkit.fluxcd.io/v1/Kustomization",
            "helm.toolkit.fluxcd.io/v2/HelmRelease",
            "source.toolkit.fluxcd.io/v1/GitRepository",
            "source.toolkit.fluxcd.io/v1/HelmRepository",
            "source.toolkit.fluxcd.io/v1/OCIRepository",
            "source.toolkit.fluxcd.io/v1/ExternalArtifact",
            "source.extensions.fluxcd.io/v1beta1/ArtifactGenerator",
        ] {
            assert!(schemas().contains_key(key), "{key}");
        }
    }

    #[test]
    fn flux_objects_are_validated_strictly() {
        let ok = doc(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a, namespace: flux-system}\nspec: {interval: 10m, prune: true, path: ./x, sourceRef: {kind: GitRepository, name: flux-system}}\n",
        );
        assert_eq!(validate(&ok), Some(vec![]));
        let bad = doc(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: A_, namespace: flux-system}\nspec: {intervall: 10m, prune: yes-please, sourceRef: {kind: Bucket2, name: x}}\n",
        );
        let v = validate(&bad).unwrap();
        let text: Vec<String> = v
            .iter()
            .map(|x| format!("{}: {}", x.at(), x.message))
            .collect();
        let all = text.join("\n");
        assert!(all.contains("spec.intervall: unknown field"), "{all}");
        assert!(all.contains("spec: interval is required"), "{all}");
        assert!(
            all.contains("spec.prune: \"yes-please\" is not of type boolean"),
            "{all}"
        );
        assert!(
            all.contains("spec.sourceRef.kind: \"Bucket2\" is not one of"),
            "{all}"
        );
        assert!(
            all.contains("metadata.name: \"A_\" does not match"),
            "{all}"
        );
    }

    #[test]
    fn cel_rules_are_enforced_with_their_message() {
        let both = doc(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a, namespace: x}\nspec:\n  interval: 5m\n  chart: {spec: {chart: c, sourceRef: {kind: HelmRepository, name: r}}}\n  chartRef: {kind: OCIRepository, name: o}\n",
        );
        let v = validate(&both).unwrap();
        assert!(
            v.iter()
                .any(|x| x.message == "either chart or chartRef must be set"),
            "{v:?}"
        );
        let old = doc(
            "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata: {name: a}\nspec: {}\n",
        );
        let v = validate(&old).unwrap();
        assert!(
            v[0].message
                .contains("not served by a current Flux; use helm.toolkit.fluxcd.io/v2"),
            "{v:?}"
        );
    }

    #[test]
    fn core_kinds_get_a_minimal_check() {
        let s =
            doc("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: 'not base64!'}\n");
        assert_eq!(
            validate(&s).unwrap()[0].message,
            "Secret .data values must be base64"
        );
        let c = doc("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1}\n");
        assert!(
            validate(&c).unwrap()[0]
                .message
                .contains("must be a string")
        );
        let other = doc("apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\n");
        assert_eq!(validate(&other), None);
    }
}
