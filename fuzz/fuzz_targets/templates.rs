//! Fuzz target: hostile string values printed into YAML templates
//! (`template::render_yaml`, docs/security.md#trust-model: "a value cannot add keys, documents or
//! objects").
//!
//! Input: the first byte picks one of the templates below (plain, quoted, block
//! scalar, flow collections, keys, several documents, json_encode …); the rest, as
//! UTF-8, is the value of `params.s` (newlines and control characters included: the
//! renderer must hold even where the value check would have refused them).
//!
//! Invariant: when the rendering is accepted, it is YAML with exactly the documents,
//! keys, list items and node kinds of the rendering of an inert value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pctl::yaml::Value;
use serde_json::json;

const TEMPLATES: &[&str] = &[
    "a: {{ params.s }}\nb: 1\n",
    "a: \"{{ params.s }}\"\nb: 1\n",
    "a: 'x {{ params.s }} y'\nb: 1\n",
    "a: |\n  {{ params.s | indent(width=2) }}\nb: 1\n",
    "a: |\n  {{ params.s }}\nb: 1\n",
    "{\"a\": \"{{ params.s }}\", \"b\": 1}\n",
    "{a: {{ params.s }}, b: false,\n c: 1}\n",
    "l:\n  - {{ params.s }}\n  - x\n",
    "l: [{{ params.s }}, x]\n",
    "{{ params.s }}: 1\nb: 2\n",
    "a: 1\n---\nb: x-{{ params.s }}\n",
    "# {{ params.s }}\na: 1\n",
    "labels: {{ params.o | json_encode }}\nb: 1\n",
    "a: >\n  {{ params.s }}\nb: 1\n",
    "a: \"{{ params.s }}\"\n{% if params.s == 'x' %}c: 1\n{% endif %}b: 1\n",
];

fn context(s: &str) -> Value {
    json!({
        "params": {"s": s, "o": {"k": s, "l": [s, 1]}},
        "profile": {"name": "p", "version": "1.0.0"},
        "install": {"name": "i", "namespace": "n", "path": "clusters/i"},
    })
}

/// Same documents, keys (but keys made from the value), items and node kinds.
fn same_shape(base: &Value, got: &Value) -> bool {
    match (base, got) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|((ka, va), (kb, vb))| {
                    (ka.contains("inert") || ka == kb) && same_shape(va, vb)
                })
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_shape(x, y))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(value) = std::str::from_utf8(rest) else {
        return;
    };
    let template = TEMPLATES[pick as usize % TEMPLATES.len()];
    let Ok(base) = pctl::template::render_yaml("t", template, &context("inert")) else {
        panic!("the template {template:?} does not render with an inert value");
    };
    let base = pctl::yaml::documents("t", &base).expect("inert rendering is YAML");
    let Ok(out) = pctl::template::render_yaml("t", template, &context(value)) else {
        return;
    };
    let docs = match pctl::yaml::documents("t", &out) {
        Ok(d) => d,
        Err(e) => panic!("accepted a rendering that is not YAML: {e:#}\n{out}"),
    };
    let template_branches = template.contains("{% if");
    assert!(
        template_branches
            || (docs.len() == base.len() && base.iter().zip(&docs).all(|(b, d)| same_shape(b, d))),
        "the value {value:?} changed the structure of {template:?}:\n{out}"
    );
});
