//! The generator of `flux-schemas.json` from the upstream Flux CRDs in
//! `schemas/flux/crds/` (a test: it fails when the embedded file is out of date;
//! `PCTL_WRITE_SCHEMAS=1 cargo test --lib check::schemagen` rewrites it).
//!
//! Per served version: the CRD's `openAPIV3Schema` without descriptions, defaults and
//! `x-kubernetes-*` keys; `apiVersion` and `kind` pinned; `metadata` replaced by an
//! ObjectMeta schema; every object with `properties` closed (`additionalProperties:
//! false`, unknown fields are errors as under `kubectl --validate=strict`) except
//! where the CRD preserves unknown fields (HelmRelease `spec.values`);
//! `format: int32/int64` as bounds; each CEL rule (`x-kubernetes-validations`)
//! translated by hand below into plain JSON Schema, with the CEL message as its
//! `description`. A CEL rule missing from the table fails the generator.
use crate::yaml::{Map, Value};
use serde_json::json;
use std::path::Path;

const CRDS: &str = "schemas/flux/crds";
const OUT: &str = "src/check/flux-schemas.json";
const DNS_SUBDOMAIN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// A field is absent, or has a value other than `v`, as `not(field == v)`.
fn is(field: &str, v: &str) -> Value {
    json!({"required": [field], "properties": {field: {"const": v}}})
}
fn has(fields: &[&str]) -> Value {
    json!({ "required": fields })
}
fn not(v: Value) -> Value {
    json!({ "not": v })
}
fn any(v: Vec<Value>) -> Value {
    json!({ "anyOf": v })
}
fn all(v: Vec<Value>) -> Value {
    json!({ "allOf": v })
}
/// Bucket's provider, absent meaning its default `generic`.
fn provider_is(p: &str) -> Value {
    if p == "generic" {
        any(vec![not(has(&["provider"])), is("provider", "generic")])
    } else {
        is("provider", p)
    }
}

/// The hand translation of every CEL rule in the CRDs (rule text, whitespace
/// collapsed) into JSON Schema.
fn cel(rule: &str) -> Option<Value> {
    let sts = |inner: Value| json!({"required": ["sts"], "properties": {"sts": inner}});
    Some(match rule {
        "!has(self.retryInterval) || self.name != 'RemediateOnFailure'" => not(all(vec![
            has(&["retryInterval"]),
            is("name", "RemediateOnFailure"),
        ])),
        "!has(self.retryInterval) || self.name == 'RetryOnFailure'" => not(all(vec![
            has(&["retryInterval"]),
            not(is("name", "RetryOnFailure")),
        ])),
        "has(self.configMapRef) || has(self.secretRef)" => {
            any(vec![has(&["configMapRef"]), has(&["secretRef"])])
        }
        "!has(self.configMapRef) || !has(self.secretRef)" => {
            not(has(&["configMapRef", "secretRef"]))
        }
        "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))" => {
            any(vec![
                all(vec![has(&["chart"]), not(has(&["chartRef"]))]),
                all(vec![not(has(&["chart"])), has(&["chartRef"])]),
            ])
        }
        "has(self.pathPattern) && size(self.pathPattern) > 0 || self.artifacts.all(a, a.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'))" => {
            any(vec![
                json!({"required": ["pathPattern"], "properties": {"pathPattern": {"minLength": 1}}}),
                json!({"properties": {"artifacts": {"items": {"properties": {"name": {"pattern": DNS_SUBDOMAIN}}}}}}),
            ])
        }
        "self.provider == 'aws' || self.provider == 'generic' || !has(self.sts)" => any(vec![
            provider_is("aws"),
            provider_is("generic"),
            not(has(&["sts"])),
        ]),
        "self.provider != 'aws' || !has(self.sts) || self.sts.provider == 'aws'" => not(all(vec![
            provider_is("aws"),
            sts(not(is("provider", "aws"))),
        ])),
        "self.provider != 'generic' || !has(self.sts) || self.sts.provider == 'ldap'" => {
            not(all(vec![
                provider_is("generic"),
                sts(not(is("provider", "ldap"))),
            ]))
        }
        "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.secretRef)" => {
            not(sts(all(vec![is("provider", "aws"), has(&["secretRef"])])))
        }
        "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.certSecretRef)" => {
            not(sts(all(vec![
                is("provider", "aws"),
                has(&["certSecretRef"]),
            ])))
        }
        "self.provider != 'generic' || !has(self.serviceAccountName)" => not(all(vec![
            provider_is("generic"),
            has(&["serviceAccountName"]),
        ])),
        "!has(self.secretRef) || !has(self.serviceAccountName)" => {
            not(has(&["secretRef", "serviceAccountName"]))
        }
        "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))" => {
            any(vec![
                not(has(&["serviceAccountName"])),
                json!({"required": ["provider"], "properties": {"provider": {"enum": ["azure", "aws"]}}}),
            ])
        }
        "!has(self.verify) || self.sourceRef.kind == 'HelmRepository'" => any(vec![
            not(has(&["verify"])),
            json!({"properties": {"sourceRef": {"properties": {"kind": {"const": "HelmRepository"}}}}}),
        ]),
        _ => return None,
    })
}

fn object_meta() -> Value {
    let strings = json!({"type": "object", "additionalProperties": {"type": "string"}});
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
            "generateName": {"type": "string"},
            "namespace": {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "labels": strings,
            "annotations": strings,
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "ownerReferences": {"type": "array", "items": {"type": "object"}},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer"},
            "creationTimestamp": {"type": ["string", "null"]},
        },
        "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
        "description": "metadata.name is required",
    })
}

/// One CRD schema node, cleaned and closed.
fn convert(node: &Value, missing: &mut Vec<String>) -> Value {
    let Some(m) = node.as_object() else {
        return node.clone();
    };
    let mut out = Map::new();
    let preserve = m
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for (k, v) in m {
        match k.as_str() {
            "description" | "default" | "example" => {}
            k if k.starts_with("x-kubernetes-") => {}
            "properties" => {
                let props: Map = v
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(name, s)| (name.clone(), convert(s, missing)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" if v.is_object() => {
                out.insert(k.clone(), convert(v, missing));
            }
            "format" => match v.as_str() {
                Some("int32") => {
                    out.entry("minimum").or_insert(json!(i32::MIN));
                    out.insert("maximum".into(), json!(i32::MAX));
                }
                Some("int64") => {
                    out.entry("minimum").or_insert(json!(i64::MIN));
                    out.insert("maximum".into(), json!(i64::MAX));
                }
                _ => {}
            },
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if out.contains_key("properties") && !out.contains_key("additionalProperties") && !preserve {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Array(rules)) = m.get("x-kubernetes-validations") {
        let mut entries = Vec::new();
        for r in rules {
            let rule = r.get("rule").and_then(Value::as_str).unwrap_or("");
            let rule = rule.split_whitespace().collect::<Vec<_>>().join(" ");
            let message = r.get("message").and_then(Value::as_str).unwrap_or(&rule);
            match cel(&rule) {
                Some(Value::Object(mut t)) => {
                    t.insert("description".into(), json!(message));
                    t.insert("$comment".into(), json!(format!("CEL: {rule}")));
                    entries.push(Value::Object(t));
                }
                _ => missing.push(rule),
            }
        }
        out.insert("allOf".into(), Value::Array(entries));
    }
    Value::Object(out)
}

/// Every served version of every CRD under `dir`, as `"<apiVersion>/<kind>"` to schema.
pub fn generate(dir: &Path) -> (Map, Vec<String>) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("schemas/flux/crds")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut out = Map::new();
    let mut missing = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let crd: Value = crate::yaml::documents(&f.display().to_string(), &text)
            .unwrap()
            .remove(0);
        let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap();
        let kind = crd
            .pointer("/spec/names/kind")
            .and_then(Value::as_str)
            .unwrap();
        for v in crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .unwrap()
        {
            if v.get("served").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let version = v.get("name").and_then(Value::as_str).unwrap();
            let api = format!("{group}/{version}");
            let mut schema = convert(v.pointer("/schema/openAPIV3Schema").unwrap(), &mut missing);
            let props = schema
                .get_mut("properties")
                .and_then(Value::as_object_mut)
                .unwrap();
            props.insert("apiVersion".into(), json!({"const": api}));
            props.insert("kind".into(), json!({"const": kind}));
            props.insert("metadata".into(), object_meta());
            props.remove("status");
            schema.as_object_mut().unwrap().insert(
                "required".into(),
                json!(["apiVersion", "kind", "metadata", "spec"]),
            );
            out.insert(format!("{api}/{kind}"), schema);
        }
    }
    (out, missing)
}

#[test]
fn embedded_schemas_match_the_crds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (schemas, missing) = generate(&root.join(CRDS));
    assert!(
        missing.is_empty(),
        "CEL rules without a translation in src/check/schemagen.rs: {missing:#?}"
    );
    let text = serde_json::to_string_pretty(&Value::Object(schemas)).unwrap() + "\n";
    if std::env::var_os("PCTL_WRITE_SCHEMAS").is_some() {
        std::fs::write(root.join(OUT), &text).unwrap();
    }
    assert!(
        text == super::schema::EMBEDDED,
        "{OUT} is out of date: run `PCTL_WRITE_SCHEMAS=1 cargo test --lib check::schemagen`"
    );
}
