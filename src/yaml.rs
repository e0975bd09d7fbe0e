//! YAML reading and writing (serde-saphyr), and the generic value type used for
//! free-form YAML (`serde_json::Value`, insertion-ordered).
use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod scalar;

pub type Value = serde_json::Value;
pub type Map = serde_json::Map<String, Value>;

/// [`Value::pointer`] without its allocations (it copies every token of the pointer,
/// twice): the walks over many parsed documents look fields up through this.
pub trait At {
    /// The value at the JSON pointer `pointer` (`/a/b/0`), as [`Value::pointer`].
    fn at(&self, pointer: &str) -> Option<&Value>;
}

impl At for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        if pointer.contains('~') {
            return self.pointer(pointer);
        }
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/').try_fold(self, |v, token| match v {
            Value::Object(m) => m.get(token),
            Value::Array(a) => {
                // As serde_json reads an index: no sign, no leading zero.
                if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
                    return None;
                }
                a.get(token.parse::<usize>().ok()?)
            }
            _ => None,
        })
    }
}

/// Serialize to YAML. Strings that a YAML 1.1 reader would take for another type
/// (`yes`, `on`, `NO`, `0755`, `1.10`, `null`, `~`) are quoted by serde-saphyr.
pub fn to_string<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).context("cannot serialize YAML")
}

/// Parse one YAML document from `text`; `origin` names the file in errors.
pub fn from_str<T: DeserializeOwned>(origin: &str, text: &str) -> Result<T> {
    serde_saphyr::from_str(text).map_err(|e| error(origin, &e.to_string()))
}

/// Parse one values document as Helm reads a chart's values.yaml (YAML 1.1 through
/// go-yaml v2: `0755` is 493, `y` is true; see [`scalar`]).
pub fn helm_values(origin: &str, text: &str) -> Result<Value> {
    scalar::read(origin, text, scalar::Reading::Helm).map(|(v, _)| v)
}

/// Parse one document as the author of a profile.yaml reads it: plain scalars that
/// YAML 1.1 and 1.2 readers disagree about (`y`, `0755`, `1:30`) stay text.
pub fn author_values(origin: &str, text: &str) -> Result<Value> {
    scalar::read(origin, text, scalar::Reading::Author).map(|(v, _)| v)
}

/// Parse every document of a multi-document YAML stream, skipping empty ones.
pub fn documents(origin: &str, text: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| error(origin, &e.to_string()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// A parse error naming `origin`. The parser's resource limits (nesting depth,
/// nodes after alias expansion: what stops an alias bomb) are said in words, with
/// a hint.
fn error(origin: &str, raw: &str) -> anyhow::Error {
    let msg = clean(raw);
    let limit = if msg.contains("Depth {") || msg.contains("recursion limit") {
        Some("is nested too deeply")
    } else if msg.contains("Nodes {") || msg.contains("Alias") {
        Some("has too many nodes once aliases are expanded (an alias bomb?)")
    } else if msg.contains("budget breached") {
        Some("is too large")
    } else {
        None
    };
    match limit {
        Some(what) => crate::error::user(
            format!("{origin}: the YAML {what}: {msg}"),
            "pctl reads YAML nested at most 64 levels deep and with at most 250,000 nodes (aliases expanded): simplify the file",
        ),
        None => anyhow::anyhow!("{origin}: {msg}"),
    }
}

/// serde-saphyr's messages start with `error: ` and carry a source snippet; keep the
/// first line (it holds the line and column), drop the prefix, and say in words about
/// the user's file what the parser says as advice to a programmer ("use
/// Option<String>", "set DuplicateKeyPolicy in Options", "use from_str_multiple").
pub fn clean(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 3 column 5: what" → keep the place, reword the rest.
    let (place, what) = match first.split_once(": ") {
        Some((p, w)) if p.starts_with("line ") => (Some(p), w),
        _ => (None, first),
    };
    let what = reword(what);
    match place {
        Some(p) => format!("{p}: {what}"),
        None => what,
    }
}

/// One parser message about the user's file, in words.
fn reword(what: &str) -> String {
    if let Some(rest) = what.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set ").next().unwrap_or(rest);
        return format!("the key `{key}` appears twice in the same mapping");
    }
    if what.starts_with("multiple YAML documents detected") {
        return "the file holds more than one YAML document (`---`); only one is read here".into();
    }
    if let Some(rest) = what.strip_prefix("cannot deserialize null into ") {
        let ty = rest.split(';').next().unwrap_or(rest);
        return format!(
            "a value is missing (null or `~`) where {} is expected",
            kind(ty)
        );
    }
    match what {
        "expected sequence start" => return "expected a list here".into(),
        "expected mapping start" => return "expected a mapping (key: value) here".into(),
        "expected string scalar" => return "expected a single value (text) here".into(),
        _ => {}
    }
    // Any other advice to a programmer: drop it.
    let mut out = what.to_string();
    for marker in ["; use ", ", set ", "; set ", " in Options", "Option<"] {
        if let Some(i) = out.find(marker) {
            out.truncate(i);
        }
    }
    out.trim_end_matches([',', ';', ' ']).to_string()
}

/// A Rust type as the kind of YAML value it reads.
fn kind(ty: &str) -> &'static str {
    match ty.trim() {
        "string" | "str" | "String" | "char" => "text",
        t if t.starts_with('i') || t.starts_with('u') => "a whole number",
        t if t.starts_with('f') => "a number",
        "bool" | "boolean" => "true or false",
        t if t.contains("seq") || t.contains("Vec") || t.contains("sequence") => "a list",
        t if t.contains("map") || t.contains("struct") => "a mapping",
        _ => "a value",
    }
}

/// Set `value` at a path of mapping keys, creating mappings on the way (and turning
/// a non-mapping in the way into one).
pub fn set_path<K: AsRef<str>>(root: &mut Value, keys: &[K], value: Value) {
    let mut at = root;
    for (i, k) in keys.iter().enumerate() {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let Some(m) = at.as_object_mut() else {
            return;
        };
        if i + 1 == keys.len() {
            m.insert(k.as_ref().to_string(), value);
            return;
        }
        at = m
            .entry(k.as_ref().to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Merge `from` into `into` as Helm merges values: mappings key by key, anything
/// else replaced.
pub fn merge_values(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(x) if x.is_object() && v.is_object() => merge_values(x, v),
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into, from) => *into = from.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_reads_what_pointer_reads() {
        let v: Value = serde_json::json!({
            "a": {"b": [1, {"c": "x"}], "": {"e": 2}, "t~x": 3, "s/l": 4},
            "0": "zero",
        });
        for p in [
            "",
            "/",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1/c",
            "/a/b/01",
            "/a/b/+1",
            "/a/b/2",
            "/a/b/-1",
            "/a//e",
            "/a/t~0x",
            "/a/s~1l",
            "/0",
            "a",
            "/a/b/1/c/d",
            "/x",
        ] {
            assert_eq!(v.at(p), v.pointer(p), "{p}");
        }
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        let mut m = Map::new();
        for s in ["yes", "on", "NO", "0755", "1.10", "null", "~", ""] {
            m.insert(format!("k{}", m.len()), Value::String(s.into()));
        }
        let text = to_string(&Value::Object(m.clone())).unwrap();
        let back: Value = from_str("t", &text).unwrap();
        assert_eq!(back, Value::Object(m));
        assert!(text.contains("\"yes\""), "{text}");
    }

    #[test]
    fn errors_name_origin_and_line() {
        let err = from_str::<Value>("a/profile.yaml", "a: [1,\nb: c").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("a/profile.yaml: line 1"), "{msg}");
    }

    #[test]
    fn resource_limits_are_errors_in_words_with_a_hint() {
        let deep = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                vec![format!("*a{}", i - 1); 10].join(", ")
            ));
        }
        for (text, what) in [
            (deep.as_str(), "nested too deeply"),
            (bomb.as_str(), "alias"),
        ] {
            let err = from_str::<Value>("v.yaml", text).unwrap_err();
            let (top, _, hints) = crate::error::describe(&err);
            assert!(top.starts_with("v.yaml: the YAML "), "{top}");
            assert!(top.contains(what), "{top}");
            assert_eq!(hints.len(), 1);
        }
    }

    #[test]
    fn no_library_advice_reaches_the_user() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            a: String,
            #[serde(default)]
            b: Vec<String>,
        }
        for (text, want) in [
            (
                "a: ~\n",
                "f.yaml: line 1 column 4: a value is missing (null or `~`) where text is expected",
            ),
            (
                "a: x\na: y\n",
                "f.yaml: line 2 column 1: the key `a` appears twice in the same mapping",
            ),
            (
                "a: x\n---\na: y\n",
                "f.yaml: line 3 column 1: the file holds more than one YAML document (`---`); only one is read here",
            ),
            (
                "a: x\nb: y\n",
                "f.yaml: line 2 column 4: expected a list here",
            ),
            (
                "- 1\n",
                "f.yaml: line 1 column 1: expected a mapping (key: value) here",
            ),
        ] {
            let msg = from_str::<S>("f.yaml", text).unwrap_err().to_string();
            assert_eq!(msg, want);
            for advice in [
                "Option<",
                "DuplicateKeyPolicy",
                "from_str_multiple",
                "Options",
            ] {
                assert!(!msg.contains(advice), "{msg}");
            }
        }
    }

    #[test]
    fn multi_documents() {
        let d = documents("x", "a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(d.len(), 2);
    }
}
