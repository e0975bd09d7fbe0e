//! Values files: a mapping split into one given value per key, with the line each
//! key is on for messages.
use super::*;

/// Split a values mapping into one `Given` per top-level key. `text` is used to find
/// the line of each key for messages.
pub fn givens_from_map(
    map: &Map,
    text: Option<&str>,
    level: Level,
    label: &str,
    group: usize,
) -> Vec<Given> {
    map.iter()
        .map(|(k, v)| {
            let line = text.and_then(|t| line_of(t, k));
            let detail = match line {
                Some(n) => format!("{label} line {n}"),
                None => label.to_string(),
            };
            Given {
                key: k.clone(),
                value: Raw::Typed(v.clone()),
                origin: Origin::new(level, detail),
                secret_ok: true,
                group,
            }
        })
        .collect()
}

/// Parse a values file (a YAML mapping) into `Given`s.
pub fn parse_values_file(
    label: &str,
    text: &str,
    level: Level,
    group: usize,
) -> Result<Vec<Given>> {
    let v: Value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        yaml::helm_values(label, text)?
    };
    match v {
        Value::Object(m) => Ok(givens_from_map(&m, Some(text), level, label, group)),
        Value::Null => Ok(Vec::new()),
        other => bail!(crate::error::user(
            format!(
                "{label}: a values file is a mapping of parameter names to values, not a {}",
                type_name(&other)
            ),
            "write `param: value` or `profile.param: value` lines",
        )),
    }
}

/// The 1-based line where `key:` first appears at the start of a line.
pub(super) fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            let t = t
                .strip_prefix('"')
                .and_then(|r| r.strip_prefix(key))
                .and_then(|r| r.strip_prefix('"'))
                .or_else(|| {
                    t.strip_prefix('\'')
                        .and_then(|r| r.strip_prefix(key))
                        .and_then(|r| r.strip_prefix('\''))
                })
                .or_else(|| t.strip_prefix(key));
            t.is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}
