//! YAML reading and writing (serde-saphyr), and the generic value type used for
//! free-form YAML (`serde_json::Value`, insertion-ordered).
use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod scalar;

pub type Value = serde_json::Value;
pub type Map = serde_json::Map<String, Value>;

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
/// first line (it holds the line and column) and drop the prefix.
fn clean(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg);
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn multi_documents() {
        let d = documents("x", "a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(d.len(), 2);
    }
}
