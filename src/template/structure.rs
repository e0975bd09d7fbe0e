//! Values cannot change structure (docs/security.md#trust-model): every string a template prints into
//! YAML is marked while Tera renders, and the rendering is compared with its
//! skeleton, the same text with each printed string replaced by an inert token. The
//! two must have the same documents, keys, items and non-value scalars.
use crate::yaml::Value;
use std::collections::HashMap;

/// Around a string printed by `{{ }}` (Tera's escape function adds them).
pub const OPEN: char = '\u{FDD0}';
pub const CLOSE: char = '\u{FDD1}';
/// Around the output of `json_encode`: JSON is structure made by the value's type.
pub const JSON_OPEN: char = '\u{FDD2}';
pub const JSON_CLOSE: char = '\u{FDD3}';

/// Stands for a printed string in the skeleton: letters and digits only, so it is a
/// plain scalar wherever it lands.
const TOKEN: &str = "pctlvalue";

pub fn is_marker(c: char) -> bool {
    ('\u{FDD0}'..='\u{FDD3}').contains(&c)
}

/// Tera's escape function for YAML templates: marks a printed string (the output of
/// `json_encode` keeps its own marks). Idempotent; the empty string stays empty.
pub fn mark(s: &str) -> String {
    if let Some(inner) = s
        .strip_prefix(JSON_OPEN)
        .and_then(|r| r.strip_suffix(JSON_CLOSE))
        && !inner.contains(is_marker)
    {
        return s.to_string();
    }
    let plain: String = s.chars().filter(|c| !is_marker(*c)).collect();
    if plain.is_empty() {
        return plain;
    }
    format!("{OPEN}{plain}{CLOSE}")
}

/// `json_encode` (and `json_encode(pretty=true)`) for YAML templates: the JSON of the
/// value, marked as structure.
pub fn json_encode(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let pretty = args.get("pretty").and_then(Value::as_bool).unwrap_or(false);
    let clean = strip(value);
    let text = if pretty {
        serde_json::to_string_pretty(&clean)
    } else {
        serde_json::to_string(&clean)
    }
    .map_err(tera::Error::json)?;
    Ok(Value::String(format!("{JSON_OPEN}{text}{JSON_CLOSE}")))
}

/// `v` without marks in its strings.
fn strip(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.chars().filter(|c| !is_marker(*c)).collect()),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), strip(x))).collect()),
        other => other.clone(),
    }
}

/// A value whose strings hold a line break or a control character (or a Unicode
/// noncharacter) is refused; with `multiline`, newlines, carriage returns and tabs are
/// allowed. The error says which character and where, for "parameter X from SOURCE: …".
pub fn check_characters(v: &Value, multiline: bool) -> Result<(), String> {
    fn bad(s: &str, multiline: bool) -> Option<(usize, char)> {
        s.chars().enumerate().find(|&(_, c)| {
            let line_or_tab = matches!(c, '\n' | '\r' | '\t');
            (c.is_control() && !(multiline && line_or_tab))
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FDD0}'
                        ..='\u{FDEF}' | '\u{FFFE}' | '\u{FFFF}'
                )
        })
    }
    fn walk(v: &Value, multiline: bool) -> Option<(usize, char)> {
        match v {
            Value::String(s) => bad(s, multiline),
            Value::Array(a) => a.iter().find_map(|x| walk(x, multiline)),
            Value::Object(m) => m
                .iter()
                .find_map(|(k, x)| bad(k, false).or_else(|| walk(x, multiline))),
            _ => None,
        }
    }
    let Some((at, c)) = walk(v, multiline) else {
        return Ok(());
    };
    let what = match c {
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => "a line break",
        '\t' => "a tab",
        c if c.is_control() => "a control character",
        _ => "a Unicode noncharacter or byte-order mark",
    };
    let fix = if multiline || !matches!(c, '\n' | '\r' | '\t') {
        "remove it"
    } else {
        "declare the parameter `multiline: true` in profile.yaml if it may span lines, or remove it"
    };
    Err(format!(
        "the value holds {what} (U+{:04X}, character {}), which could change the structure of the YAML it is printed into: {fix}",
        c as u32,
        at + 1
    ))
}

#[derive(Debug, PartialEq)]
enum Segment {
    Text(String),
    Value(String),
    Json(String, Value),
}

/// Cut marked text into template text, printed strings and printed JSON.
fn segments(marked: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    let mut rest = marked;
    while let Some(i) = rest.find(is_marker) {
        let open = rest[i..].chars().next()?;
        if i > 0 {
            out.push(Segment::Text(rest[..i].to_string()));
        }
        let body = &rest[i + open.len_utf8()..];
        let close = match open {
            OPEN => CLOSE,
            JSON_OPEN => JSON_CLOSE,
            _ => return None,
        };
        let end = body.find(is_marker)?;
        if !body[end..].starts_with(close) {
            return None;
        }
        let inner = &body[..end];
        out.push(if open == OPEN {
            Segment::Value(inner.to_string())
        } else {
            match serde_json::from_str::<Value>(inner) {
                // Still the JSON json_encode made (no later filter rewrote it).
                Ok(v) if json_text(&v, inner.contains('\n')).as_deref() == Some(inner) => {
                    Segment::Json(inner.to_string(), v)
                }
                _ => Segment::Value(inner.to_string()),
            }
        });
        rest = &body[end + close.len_utf8()..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_string()));
    }
    Some(out)
}

fn json_text(v: &Value, pretty: bool) -> Option<String> {
    if pretty {
        serde_json::to_string_pretty(v).ok()
    } else {
        serde_json::to_string(v).ok()
    }
}

/// Printed strings by the token that stands for them in the skeleton.
type Tokens = HashMap<String, String>;

fn token(n: usize, j: Option<usize>) -> String {
    match j {
        Some(j) => format!("{TOKEN}{n}j{j}x"),
        None => format!("{TOKEN}{n}x"),
    }
}

/// `v` with every string replaced by a token (remembered in `tokens`).
fn tokenize(v: &Value, n: usize, j: &mut usize, tokens: &mut Tokens) -> Value {
    match v {
        Value::String(s) => {
            *j += 1;
            let t = token(n, Some(*j));
            tokens.insert(t.clone(), s.clone());
            Value::String(t)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| tokenize(x, n, j, tokens)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), tokenize(x, n, j, tokens)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The text with the printed values for which `real(i)` holds, tokens elsewhere.
fn assemble(segs: &[Segment], real: impl Fn(usize) -> bool, tokens: &mut Tokens) -> String {
    let mut out = String::new();
    let mut n = 0usize;
    for s in segs {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Value(v) => {
                n += 1;
                if real(n) {
                    out.push_str(v);
                } else {
                    let t = token(n, None);
                    tokens.insert(t.clone(), v.clone());
                    out.push_str(&t);
                }
            }
            Segment::Json(text, v) => {
                n += 1;
                if real(n) {
                    out.push_str(text);
                } else {
                    let t = tokenize(v, n, &mut 0, tokens);
                    out.push_str(&json_text(&t, text.contains('\n')).unwrap_or_default());
                }
            }
        }
    }
    out
}

/// `s` with each token replaced by the string it stands for (one pass).
fn expand(s: &str, tokens: &Tokens) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(TOKEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + TOKEN.len()..];
        let len = after
            .find(|c: char| !c.is_ascii_digit() && c != 'j')
            .filter(|&e| after[e..].starts_with('x'));
        match len.and_then(|e| {
            tokens
                .get(&rest[i..i + TOKEN.len() + e + 1])
                .map(|v| (e, v))
        }) {
            Some((e, v)) => {
                out.push_str(v);
                rest = &after[e + 1..];
            }
            None => {
                out.push_str(TOKEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text compared without its whitespace (YAML folds and indents it).
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A scalar of the skeleton holding tokens reads, in the rendering, as the text
/// the printed strings make: a `#` comment, an `&anchor`, a `!!tag`, an escape
/// sequence or an `*alias` in a value makes it read otherwise.
fn lands_as_itself(skel: &str, real: &Value, tokens: &Tokens) -> bool {
    let want = expand(skel, tokens);
    match real {
        Value::String(r) => squeeze(&expand(r, tokens)) == squeeze(&want),
        Value::Null => matches!(want.trim(), "" | "~" | "null" | "Null" | "NULL"),
        other => crate::yaml::from_str::<Value>("value", &want).ok().as_ref() == Some(other),
    }
}

/// Why the structure of `real` differs from the skeleton's `skel`, at `path`.
fn diff(skel: &Value, real: &Value, path: &str, tokens: &Tokens) -> Option<String> {
    let at = if path.is_empty() { "the top" } else { path };
    let kind = |v: &Value| match v {
        Value::Object(_) => "a mapping",
        Value::Array(_) => "a list",
        _ => "a scalar",
    };
    match (skel, real) {
        (Value::Object(a), Value::Object(b)) => {
            if let Some(k) = b.keys().find(|k| !k.contains(TOKEN) && !a.contains_key(*k))
                && a.len() < b.len()
            {
                return Some(format!("it adds the key {k:?} at {at}"));
            }
            if a.len() != b.len() {
                return Some(format!("{at} has {} keys instead of {}", b.len(), a.len()));
            }
            for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                let same = if ka.contains(TOKEN) {
                    lands_as_itself(ka, &Value::String(kb.clone()), tokens)
                } else {
                    ka == kb
                };
                if !same {
                    return Some(format!("it puts the key {kb:?} where the template has {:?} at {at}", expand(ka, tokens)));
                }
                let sub = if path.is_empty() {
                    kb.clone()
                } else {
                    format!("{path}.{kb}")
                };
                if let Some(d) = diff(va, vb, &sub, tokens) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!(
                    "the list at {at} has {} items instead of {}",
                    b.len(),
                    a.len()
                ));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| diff(x, y, &format!("{path}[{i}]"), tokens))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
            Some(format!("it makes {} of {at}, where the template has {}", kind(real), kind(skel)))
        }
        (Value::String(s), _) if s.contains(TOKEN) => (!lands_as_itself(s, real, tokens)).then(|| {
            format!("the value at {at} does not read as itself in YAML (it reads as {real}): a `#`, `&`, `*`, `!` or `\\` in it means something there")
        }),
        _ if skel == real => None,
        _ => Some(format!("it changes {at} from {skel} to {real}")),
    }
}

/// Why the documents of `real` differ in structure from those of `skel`.
fn diff_docs(skel: &[Value], real: &[Value], tokens: &Tokens) -> Option<String> {
    if skel.len() != real.len() {
        return Some(format!(
            "it makes {} YAML documents where the template has {}",
            real.len(),
            skel.len()
        ));
    }
    skel.iter().zip(real).enumerate().find_map(|(i, (s, r))| {
        diff(s, r, "", tokens).map(|d| {
            if skel.len() > 1 {
                format!("{d} (document {})", i + 1)
            } else {
                d
            }
        })
    })
}

/// A problem found by [`check`]: the message and, for a value, the 1-based line of
/// the rendering where it was printed.
#[derive(Debug)]
pub struct Broken {
    pub reason: String,
    /// The printed string that breaks the structure, when one alone does.
    pub value: Option<String>,
    /// Its line in the rendering.
    pub line: Option<usize>,
}

/// The rendering without marks, when its structure is the skeleton's. `marked` is
/// Tera's output for a YAML template with [`mark`] as escape function.
pub fn check(marked: &str) -> Result<String, Broken> {
    let Some(segs) = segments(marked) else {
        return Err(Broken {
            reason: "a filter section cut a printed value, so the output cannot be checked".into(),
            value: None,
            line: None,
        });
    };
    let mut tokens = Tokens::new();
    let real = assemble(&segs, |_| true, &mut tokens);
    if !segs.iter().any(|s| !matches!(s, Segment::Text(_))) {
        return Ok(real);
    }
    let skel_text = assemble(&segs, |_| false, &mut tokens);
    let skel = crate::yaml::documents("template", &skel_text).ok();
    let parsed = crate::yaml::documents("template", &real);
    let why = match (&skel, &parsed) {
        (Some(s), Ok(r)) => match diff_docs(s, r, &tokens) {
            None => return Ok(real),
            Some(d) => d,
        },
        (_, Err(e)) => format!("the rendering is not valid YAML ({})", plain(e)),
        (None, Ok(_)) => "the rendering is YAML only thanks to a printed value".to_string(),
    };
    // The first printed value that breaks the structure on its own.
    let count = segs
        .iter()
        .filter(|s| !matches!(s, Segment::Text(_)))
        .count();
    let culprit = skel.as_ref().and_then(|s| {
        (1..=count).find(|&i| {
            let one = assemble(&segs, |n| n == i, &mut Tokens::new());
            crate::yaml::documents("template", &one)
                .map_or(true, |r| diff_docs(s, &r, &tokens).is_some())
        })
    });
    let (value, line) = match culprit {
        Some(i) => {
            let mut n = 0;
            let mut line = 1;
            let mut found = None;
            for s in &segs {
                match s {
                    Segment::Text(t) => line += t.matches('\n').count(),
                    Segment::Value(v) | Segment::Json(v, _) => {
                        n += 1;
                        if n == i {
                            found = Some(v.clone());
                            break;
                        }
                        line += v.matches('\n').count();
                    }
                }
            }
            (found, Some(line))
        }
        None => (None, None),
    };
    Err(Broken {
        reason: why,
        value,
        line,
    })
}

/// A parse error without the origin prefix [`crate::yaml`] adds.
fn plain(e: &anyhow::Error) -> String {
    let s = e.to_string();
    s.strip_prefix("template: ").unwrap_or(&s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> String {
        mark(s)
    }

    #[test]
    fn marks_are_idempotent_and_skip_empty_strings() {
        assert_eq!(mark(""), "");
        assert_eq!(mark(&m("a")), m("a"));
        let j = json_encode(&serde_json::json!(["a"]), &HashMap::new()).unwrap();
        let j = j.as_str().unwrap();
        assert_eq!(mark(j), j);
    }

    #[test]
    fn values_inside_scalars_pass() {
        let t = format!("a: \"x{}y\"\nb: {}\nc: {}\n", m("q\" z"), m("3"), m("true"));
        // the quote inside a double-quoted scalar breaks it
        assert!(check(&t).is_err());
        let t = format!("a: x{}y\nb: {}\nc: {}\n", m("q z"), m("3"), m("true"));
        assert_eq!(check(&t).unwrap(), "a: xq zy\nb: 3\nc: true\n");
    }

    #[test]
    fn values_that_add_structure_are_refused() {
        for (tpl, v) in [
            ("a: {}\n", "x\n---\nkind: ClusterRoleBinding"),
            ("a: {}\nb: 1\n", "x\nhostNetwork: true"),
            (
                "{\"a\": \"{}\", \"b\": 1}\n",
                "x\", \"hostNetwork\": true, \"y\": \"",
            ),
            ("a: {}\n", "{hostNetwork: true}"),
            ("a: {}\n", "[x]"),
            ("- {}\n", "a: b"),
            ("{a: {}, b: false,\n c: 1}\n", "x, b: true #"),
        ] {
            let text = tpl.replace("{}", &m(v));
            let err = check(&text).unwrap_err();
            assert_eq!(err.value.as_deref(), Some(v), "{tpl:?} {v:?}: {err:?}");
        }
    }

    #[test]
    fn harmless_indicators_stay_scalars() {
        for v in ["# c", "&anchor", "!!str x", "x #y"] {
            let text = format!("a: \"{}\"\nb: 1\n", m(v));
            let out = check(&text).unwrap();
            let doc: Value = crate::yaml::from_str("t", &out).unwrap();
            assert_eq!(doc["a"], Value::String(v.into()), "{v}");
        }
    }

    #[test]
    fn indicators_in_plain_scalars_are_refused() {
        for v in ["x #c", "&anchor x", "!!str 5", "*alias", "#"] {
            let text = format!("a: &alias 1\nb: {}\n", m(v));
            let err = check(&text).unwrap_err();
            assert_eq!(err.value.as_deref(), Some(v), "{v}: {err:?}");
        }
    }

    #[test]
    fn numbers_booleans_and_indented_blocks_pass() {
        let text = format!(
            "a: {}\nb: {}\nc: {}\nd: |\n  {}\ne: x\n",
            m("1.10"),
            m("true"),
            m("~"),
            m("l1\n  l2: x\n  - y")
        );
        let out = check(&text).unwrap();
        let doc: Value = crate::yaml::from_str("t", &out).unwrap();
        assert_eq!(doc["d"], "l1\nl2: x\n- y\n");
        assert_eq!(doc["e"], "x");
        // Without the indentation the block ends and a key is added.
        let text = format!("d: |\n  {}\ne: x\n", m("l1\nhostNetwork: true"));
        assert!(check(&text).unwrap_err().reason.contains("hostNetwork"));
    }

    #[test]
    fn json_encode_is_structure() {
        let j = json_encode(
            &serde_json::json!({"a": "x\", \"evil\": \"y", "b": [1, "c"]}),
            &HashMap::new(),
        )
        .unwrap();
        let text = format!("labels: {}\n", mark(j.as_str().unwrap()));
        let out = check(&text).unwrap();
        let doc: Value = crate::yaml::from_str("t", &out).unwrap();
        assert_eq!(doc["labels"]["a"], "x\", \"evil\": \"y");
        // A later filter that rewrote the JSON makes it a plain value again.
        let text = format!("labels: {OPEN}{{\"a\": 1}}{CLOSE}\n");
        assert!(check(&text).is_err());
    }

    #[test]
    fn cut_marks_are_refused() {
        assert!(check(&format!("a: {OPEN}x\n")).is_err());
        assert!(check(&format!("a: {OPEN}x{JSON_CLOSE}\n")).is_err());
    }
}
