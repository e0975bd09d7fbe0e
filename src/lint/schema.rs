//! Lint's schema check: every mapping of profile.yaml walked against the model's own
//! field set ([`crate::model::schema`]), reporting every unknown field (with "did you
//! mean") and every field of the wrong shape at once, and keeping the rest for the
//! model's conversion.
use super::{Finding, Positions, Severity};
use crate::model::{
    self,
    schema::{Fields, Shape},
};
use crate::yaml::{Map, Value};

pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)
    )
}

/// What one item of the list `key` is called: `artifacts` → `artifact`,
/// `dependsOn` → `dependsOn entry`.
fn item_of(key: &str) -> String {
    match key.strip_suffix('s') {
        Some(one) => one.to_string(),
        None => format!("{key} entry"),
    }
}

/// What to call the mapping at `path` in messages: `artifact "nginx"`, `chart of
/// artifact "nginx"`, `parameter #2`.
fn label_of(what: &str, map: &Map, index: Option<usize>, parent: &str) -> String {
    let own = match (map.get("name").and_then(Value::as_str), index) {
        (Some(n), _) if matches!(what, "artifact" | "parameter") => {
            format!("{what} {n:?}")
        }
        (_, Some(i)) => format!("{what} #{}", i + 1),
        _ => what.to_string(),
    };
    if parent.is_empty() || matches!(what, "artifact" | "parameter" | "spec") {
        own
    } else {
        format!("{own} of {parent}")
    }
}

/// Check a whole current definition against the model's schema: the findings, and
/// the document without the fields that are unknown or of the wrong shape (text
/// fields holding a number or boolean hold its text, as the model reads them).
pub(super) fn check(file: &str, pos: &Positions, top: &Map) -> (Vec<Finding>, Map) {
    let mut walk = Walk {
        file,
        pos,
        findings: Vec::new(),
    };
    let Shape::Struct(root) = model::schema::definition() else {
        return (Vec::new(), top.clone());
    };
    let clean = walk.map(root, "the definition", top, "", "the definition");
    (walk.findings, clean)
}

struct Walk<'a> {
    file: &'a str,
    pos: &'a Positions,
    findings: Vec<Finding>,
}

impl Walk<'_> {
    fn error(&mut self, path: &str, msg: String, hint: Option<String>) {
        let f = Finding::new(self.file, self.pos.line(path), Severity::Error, msg);
        self.findings.push(match hint {
            Some(h) => f.with_hint(h),
            None => f,
        });
    }

    /// Check a mapping against its fields; returns it without the fields that are
    /// unknown or of the wrong shape.
    fn map(&mut self, fields: &Fields, what: &str, map: &Map, path: &str, label: &str) -> Map {
        let mut out = Map::new();
        let allowed = fields.names();
        for (k, v) in map {
            let here = join(path, k);
            let Some(field) = fields.get(k) else {
                if fields.open {
                    out.insert(k.clone(), v.clone());
                } else {
                    self.error(
                        &here,
                        format!("unknown field `{k}` in {label}"),
                        Some(model::field_hint(k, &allowed)),
                    );
                }
                continue;
            };
            if let Some(v) = self.shape(&field.shape, v, &here, k, label) {
                out.insert(k.clone(), v);
            }
        }
        for r in fields.fields.iter().filter(|f| f.required) {
            if !out.contains_key(r.name) && !map.contains_key(r.name) {
                self.error(
                    path,
                    format!("{label} has no `{}`", r.name),
                    Some(format!("`{}` is required in {what}", r.name)),
                );
            }
        }
        out
    }

    fn shape(
        &mut self,
        shape: &Shape,
        v: &Value,
        path: &str,
        key: &str,
        label: &str,
    ) -> Option<Value> {
        let wrong =
            |expected: &str| format!("`{key}` of {label} must be {expected}, not {}", kind_of(v));
        match shape {
            Shape::Any => Some(v.clone()),
            Shape::Text => match v {
                Value::String(_) | Value::Null => Some(v.clone()),
                Value::Bool(_) | Value::Number(_) => Some(Value::String(v.to_string())),
                _ => {
                    self.error(path, wrong("a single value"), None);
                    None
                }
            },
            Shape::Bool => match v {
                Value::Null | Value::Bool(_) => Some(v.clone()),
                Value::String(s) => match s.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" => Some(Value::Bool(true)),
                    "false" | "no" | "off" => Some(Value::Bool(false)),
                    _ => {
                        self.error(path, wrong("true or false"), None);
                        None
                    }
                },
                _ => {
                    self.error(path, wrong("true or false"), None);
                    None
                }
            },
            Shape::Number => match v {
                Value::Null | Value::Number(_) => Some(v.clone()),
                Value::String(s) => match s.trim().parse::<f64>() {
                    Ok(n) => serde_json::Number::from_f64(n).map(Value::Number),
                    Err(_) => {
                        self.error(path, wrong("a number"), None);
                        None
                    }
                },
                _ => {
                    self.error(path, wrong("a number"), None);
                    None
                }
            },
            Shape::List(item) => match v {
                Value::Null => None,
                Value::Array(items) => self.list(item, items, path, key, label),
                _ => {
                    self.error(path, wrong("a list"), None);
                    None
                }
            },
            Shape::Map(inner) if **inner == Shape::Any => match v {
                Value::Null | Value::Object(_) => Some(v.clone()),
                _ => {
                    self.error(path, wrong("a mapping"), None);
                    None
                }
            },
            Shape::Struct(f) if f.open => match v {
                Value::Null | Value::Object(_) => Some(v.clone()),
                _ => {
                    self.error(path, wrong("a mapping"), None);
                    None
                }
            },
            // Named sets of values: presets.
            Shape::Map(_) => match v {
                Value::Null => None,
                Value::Object(m) => {
                    let mut out = Map::new();
                    for (name, set) in m {
                        match set {
                            Value::Object(_) => {
                                out.insert(name.clone(), set.clone());
                            }
                            Value::Null => {
                                out.insert(name.clone(), Value::Object(Map::new()));
                            }
                            other => self.error(
                                &join(path, name),
                                format!(
                                    "preset {name:?} must be a mapping of parameter names to values, not {}",
                                    kind_of(other)
                                ),
                                None,
                            ),
                        }
                    }
                    Some(Value::Object(out))
                }
                _ => {
                    self.error(path, wrong("a mapping of preset names to values"), None);
                    None
                }
            },
            Shape::Struct(f) => match v {
                Value::Null => None,
                Value::Object(m) => {
                    let l = label_of(key, m, None, label);
                    Some(Value::Object(self.map(f, key, m, path, &l)))
                }
                _ => {
                    self.error(path, wrong("a mapping"), None);
                    None
                }
            },
        }
    }

    fn list(
        &mut self,
        item: &Shape,
        items: &[Value],
        path: &str,
        key: &str,
        label: &str,
    ) -> Option<Value> {
        match item {
            Shape::Struct(f) => {
                let what = item_of(key);
                let mut out = Vec::new();
                for (i, x) in items.iter().enumerate() {
                    let here = format!("{path}[{i}]");
                    match x {
                        Value::Object(m) => {
                            let l = label_of(&what, m, Some(i), label);
                            out.push(Value::Object(self.map(f, &what, m, &here, &l)));
                        }
                        other => self.error(
                            &here,
                            format!(
                                "item {} of `{key}` must be a mapping ({what}), not {}",
                                i + 1,
                                kind_of(other)
                            ),
                            None,
                        ),
                    }
                }
                Some(Value::Array(out))
            }
            Shape::Text => {
                for (i, x) in items.iter().enumerate() {
                    if !is_scalar(x) {
                        self.error(
                            &format!("{path}[{i}]"),
                            format!(
                                "item {} of `{key}` in {label} must be a single value, not {}",
                                i + 1,
                                kind_of(x)
                            ),
                            None,
                        );
                        return None;
                    }
                }
                Some(Value::Array(
                    items
                        .iter()
                        .map(|x| match x {
                            Value::Bool(_) | Value::Number(_) => Value::String(x.to_string()),
                            other => other.clone(),
                        })
                        .collect(),
                ))
            }
            _ => Some(Value::Array(items.to_vec())),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
