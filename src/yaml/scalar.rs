//! How a plain (unquoted, untagged) YAML scalar is typed, three ways: as Helm reads
//! a chart's values (go-yaml v2 through sigs.k8s.io/yaml: `0755` is the octal 493,
//! `y`/`yes`/`on` are booleans, `1_000` is 1000, `1:30` is text), as a YAML 1.2 core
//! reader reads it, and as a YAML 1.1 reader (PyYAML) reads it; and the span-aware
//! readers built on them (see `docs/values.md`).
use super::{Map, Value};
use anyhow::Result;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::collections::HashMap;

/// A scalar's type and value; `Str` means the text itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
}

fn bool_or_null_helm(s: &str) -> Option<Scalar> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Scalar::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Scalar::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        ".nan" | ".NaN" | ".NAN" => Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Scalar::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Scalar::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Go's `strconv.ParseUint(s, base, 64)` digits: every byte a digit of `base`.
fn go_digits(s: &str, base: u32) -> Option<u128> {
    if s.is_empty() {
        return None;
    }
    let mut n: u128 = 0;
    for c in s.chars() {
        n = n
            .checked_mul(base as u128)?
            .checked_add(c.to_digit(base)? as u128)?;
        if n > u64::MAX as u128 + 1 {
            return None;
        }
    }
    Some(n)
}

/// Go's base-0 prefix rules: `0x`, `0o`, `0b`, a leading `0` (octal), else decimal.
fn go_base0(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.first() == Some(&b'0') {
        if b.len() >= 3 {
            match b[1].to_ascii_lowercase() {
                b'b' => return go_digits(&s[2..], 2),
                b'o' => return go_digits(&s[2..], 8),
                b'x' => return go_digits(&s[2..], 16),
                _ => {}
            }
        }
        let rest = &s[1..];
        return if rest.is_empty() {
            Some(0)
        } else {
            go_digits(rest, 8)
        };
    }
    go_digits(s, 10)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn go_parse_int(s: &str, base: Option<u32>) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = match base {
        None => go_base0(rest)?,
        Some(b) => go_digits(rest, b)?,
    };
    if neg {
        if n <= i64::MAX as u128 + 1 {
            Some((n as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(n).ok()
    }
}

fn yaml_style_float(s: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").unwrap()
    })
    .is_match(s)
}

fn finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// How Helm (go-yaml v2's resolver) types the plain scalar `s`.
pub fn helm(s: &str) -> Scalar {
    if let Some(x) = bool_or_null_helm(s) {
        return x;
    }
    match s.as_bytes().first() {
        Some(b'.') => {
            // Go's ParseFloat; a value out of range is an error, so text.
            let ok = s.len() > 1
                && s[1..]
                    .split_once(['e', 'E'])
                    .map(|(m, e)| {
                        m.bytes().all(|b| b.is_ascii_digit())
                            && !m.is_empty()
                            && e.strip_prefix(['+', '-'])
                                .unwrap_or(e)
                                .bytes()
                                .all(|b| b.is_ascii_digit())
                            && !e.is_empty()
                    })
                    .unwrap_or_else(|| s[1..].bytes().all(|b| b.is_ascii_digit()));
            match finite(s).filter(|_| ok) {
                Some(f) => Scalar::Float(f),
                None => Scalar::Str,
            }
        }
        Some(b'0'..=b'9' | b'+' | b'-') => {
            let plain = s.replace('_', "");
            if let Some(i) = go_parse_int(&plain, None) {
                return Scalar::Int(i);
            }
            if plain.as_bytes().first().is_some_and(u8::is_ascii_digit)
                && let Some(u) = go_base0(&plain).and_then(|n| u64::try_from(n).ok())
            {
                return Scalar::Uint(u);
            }
            if yaml_style_float(&plain)
                && let Some(f) = finite(&plain)
            {
                return Scalar::Float(f);
            }
            if let Some(rest) = plain.strip_prefix("0b")
                && let Some(i) = go_parse_int(rest, Some(2))
            {
                return Scalar::Int(i);
            }
            if let Some(rest) = plain.strip_prefix("-0b")
                && let Some(i) = go_parse_int(rest, Some(2))
            {
                return Scalar::Int(i.wrapping_neg());
            }
            Scalar::Str
        }
        _ => Scalar::Str,
    }
}

/// How a YAML 1.2 core-schema reader types the plain scalar `s`.
pub fn core12(s: &str) -> Scalar {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return int_or_float(s.strip_prefix('+').unwrap_or(s), 10);
    }
    if let Some(d) = s.strip_prefix("0o")
        && !d.is_empty()
        && d.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return int_or_float(d, 8);
    }
    if let Some(d) = s.strip_prefix("0x")
        && !d.is_empty()
        && d.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return int_or_float(d, 16);
    }
    if yaml_style_float(s) {
        return finite(s).map(Scalar::Float).unwrap_or(Scalar::Str);
    }
    Scalar::Str
}

fn int_or_float(digits: &str, radix: u32) -> Scalar {
    if let Ok(i) = i64::from_str_radix(digits, radix) {
        return Scalar::Int(i);
    }
    if let Ok(u) = u64::from_str_radix(digits, radix) {
        return Scalar::Uint(u);
    }
    let mut f = 0f64;
    for c in digits.trim_start_matches('-').chars() {
        f = f * radix as f64 + c.to_digit(radix).unwrap_or(0) as f64;
    }
    Scalar::Float(if digits.starts_with('-') { -f } else { f })
}

/// How a YAML 1.1 reader (PyYAML's resolver) types the plain scalar `s`.
/// Timestamps are left as text (no Helm value is one).
pub fn yaml11(s: &str) -> Scalar {
    static RES: std::sync::OnceLock<[regex::Regex; 3]> = std::sync::OnceLock::new();
    let [boolean, float, int] = RES.get_or_init(|| {
        [
            regex::Regex::new(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$").unwrap(),
            regex::Regex::new(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$").unwrap(),
            regex::Regex::new(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$").unwrap(),
        ]
    });
    if matches!(s, "" | "~" | "null" | "Null" | "NULL") {
        return Scalar::Null;
    }
    if boolean.is_match(s) {
        return Scalar::Bool(
            matches!(s.as_bytes()[0], b'y' | b'Y' | b't' | b'T') || s.eq_ignore_ascii_case("on"),
        );
    }
    let t = s.replace('_', "");
    let (neg, u) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t.as_str()),
    };
    let sign = |x: f64| if neg { -x } else { x };
    if int.is_match(s) {
        let x = if let Some(d) = u.strip_prefix("0b") {
            int_or_float(d, 2)
        } else if let Some(d) = u.strip_prefix("0x") {
            int_or_float(d, 16)
        } else if u.contains(':') {
            Scalar::Float(
                u.split(':')
                    .fold(0f64, |a, p| a * 60.0 + p.parse::<f64>().unwrap_or(0.0)),
            )
        } else if u.len() > 1 && u.starts_with('0') {
            int_or_float(&u[1..], 8)
        } else {
            int_or_float(u, 10)
        };
        return match x {
            Scalar::Int(i) if neg => Scalar::Int(-i),
            Scalar::Uint(v) if neg => Scalar::Float(-(v as f64)),
            Scalar::Float(f) => match f.fract() == 0.0 && f.abs() < 9.0e15 {
                true => Scalar::Int(sign(f) as i64),
                false => Scalar::Float(sign(f)),
            },
            other => other,
        };
    }
    if float.is_match(s) {
        let lower = u.to_ascii_lowercase();
        if lower == ".inf" {
            return Scalar::Float(sign(f64::INFINITY));
        }
        if lower == ".nan" {
            return Scalar::Float(f64::NAN);
        }
        if u.contains(':') {
            return Scalar::Float(sign(
                u.split(':')
                    .fold(0f64, |a, p| a * 60.0 + p.parse::<f64>().unwrap_or(0.0)),
            ));
        }
        return Scalar::Float(sign(u.parse::<f64>().unwrap_or(f64::INFINITY)));
    }
    Scalar::Str
}

/// Whether two readings are the same value (numbers compared by value).
fn same(a: Scalar, b: Scalar) -> bool {
    fn num(x: Scalar) -> Option<f64> {
        match x {
            Scalar::Int(i) => Some(i as f64),
            Scalar::Uint(u) => Some(u as f64),
            Scalar::Float(f) => Some(f),
            _ => None,
        }
    }
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// The plain scalar `s` in words as each reader takes it, when they do not all
/// agree: `Some("Helm reads 493 (octal), YAML 1.2 reads 755, YAML 1.1 reads 493")`.
pub fn disagreement(s: &str) -> Option<String> {
    let (h, c, p) = (helm(s), core12(s), yaml11(s));
    if same(h, c) && same(h, p) {
        return None;
    }
    let show = |x: Scalar| match x {
        Scalar::Null => "null".to_string(),
        Scalar::Bool(b) => format!("the boolean {b}"),
        Scalar::Int(i) => format!("the number {i}"),
        Scalar::Uint(u) => format!("the number {u}"),
        Scalar::Float(f) => format!("the number {f}"),
        Scalar::Str => format!("the text {s:?}"),
    };
    Some(format!(
        "Helm reads {}, a YAML 1.2 reader {}, a YAML 1.1 reader {}",
        show(h),
        show(c),
        show(p)
    ))
}

/// The JSON value of a reading; None for a non-finite float (JSON has none).
pub fn to_value(s: &str, x: Scalar) -> Option<Value> {
    Some(match x {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::from(i),
        Scalar::Uint(u) => Value::from(u),
        Scalar::Float(f) => Value::Number(serde_json::Number::from_f64(f)?),
        Scalar::Str => Value::String(s.to_string()),
    })
}

/// A mapping key as sigs.k8s.io/yaml turns Helm's reading of it into a JSON key;
/// None for a key Helm refuses (null, or an integer above the int64 range).
pub fn helm_key(s: &str) -> Option<String> {
    Some(match helm(s) {
        Scalar::Str => s.to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Null | Scalar::Uint(_) => return None,
        Scalar::Float(f) if f.is_nan() => ".nan".into(),
        Scalar::Float(f) if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.into(),
        Scalar::Float(f) => go_float32_g(f),
    })
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`.
fn go_float32_g(f: f64) -> String {
    let e = format!("{:e}", f as f32); // "-1.2345679e8"
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    if digits == "0" {
        return format!("{neg}0");
    }
    if !(-4..6).contains(&exp) {
        let frac = &digits[1..];
        let dot = if frac.is_empty() { "" } else { "." };
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{neg}{}{dot}{frac}e{sign}{:02}", &digits[..1], exp.abs());
    }
    let dp = exp + 1;
    if dp <= 0 {
        format!("{neg}0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp as usize >= digits.len() {
        format!("{neg}{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{neg}{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

// ---------------------------------------------------------------- readers

/// Which reading a document gets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// As Helm reads a chart's values.yaml.
    Helm,
    /// As the author of profile.yaml reads it: YAML 1.2 core where every reader
    /// agrees, and the text as written where they do not (`y`, `0755`, `1:30`).
    Author,
    /// Every plain scalar but null is its text (`enum: [1.10, y]` lists "1.10" and "y").
    Text,
}

/// A plain scalar whose readers disagree: where it is and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Ambiguous {
    pub line: usize,
    pub column: usize,
    pub text: String,
    pub why: String,
}

enum Node {
    Scalar(Value),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::String(v.into())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::from(v)))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::from(v as f64)))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::from(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(
                    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
                ))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::String(
                    String::from_utf8_lossy(v).into(),
                )))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::Null))
            }
            fn visit_none<E: de::Error>(self) -> std::result::Result<Node, E> {
                Ok(Node::Scalar(Value::Null))
            }
            fn visit_some<D2: Deserializer<'de>>(
                self,
                d: D2,
            ) -> std::result::Result<Node, D2::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> std::result::Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = a.next_element()? {
                    items.push(x);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> std::result::Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = a.next_key()? {
                    let v = a.next_value()?;
                    entries.push((k, v));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// The deepest nesting serde-saphyr's budget allows (its `Budget::max_depth`).
const MAX_DEPTH: usize = 64;

/// Byte offsets of the plain, untagged scalars of `text`; Err with the position
/// where the nesting goes deeper than [`MAX_DEPTH`] (checked here, iteratively,
/// before the recursive reader sees the text).
fn plain_offsets(text: &str) -> std::result::Result<HashMap<usize, ()>, (usize, usize)> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    let mut out = HashMap::new();
    let mut depth = 0usize;
    for ev in Parser::new_from_str(text) {
        let Ok((ev, span)) = ev else {
            break;
        };
        match ev {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err((span.start.line(), span.start.col() + 1));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            Event::Scalar(_, style, _, tag) => {
                if style == ScalarStyle::Plain
                    && tag.is_none()
                    && let Some(at) = span.start.byte_offset()
                {
                    out.insert(at, ());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

struct Reader<'a> {
    text: &'a str,
    plain: &'a HashMap<usize, ()>,
    reading: Reading,
    origin: &'a str,
    /// Whether [`Reader::note`] keeps the ambiguous scalars (only [`Parsed::read`]
    /// returns them; working them out costs three readings of every plain scalar).
    collect: bool,
    ambiguous: Vec<Ambiguous>,
}

impl Reader<'_> {
    /// The plain text of a scalar node, when it is plain.
    fn plain_text(&self, n: &Spanned<Node>, visited: &Value) -> Option<String> {
        let span = n.defined.span();
        let at = span.byte_offset()? as usize;
        self.plain.get(&at)?;
        let len = span.byte_len()? as usize;
        let raw = self.text.get(at..at + len)?;
        if raw.contains('\n') {
            // A multi-line plain scalar is folded: its value is the visited text.
            return visited.as_str().map(str::to_string);
        }
        Some(raw.to_string())
    }

    fn note(&mut self, n: &Spanned<Node>, s: &str) {
        if !self.collect {
            return;
        }
        if let Some(why) = disagreement(s) {
            self.ambiguous.push(Ambiguous {
                line: n.referenced.line() as usize,
                column: n.referenced.column() as usize,
                text: s.to_string(),
                why,
            });
        }
    }

    fn scalar(&mut self, n: &Spanned<Node>, visited: &Value) -> Result<Value> {
        let Some(s) = self.plain_text(n, visited) else {
            return Ok(visited.clone());
        };
        self.note(n, &s);
        match self.reading {
            Reading::Helm => to_value(&s, helm(&s)).ok_or_else(|| {
                crate::error::user(
                    format!(
                        "{}: line {} column {}: {s} is not a finite number, which Helm cannot pass to a chart",
                        self.origin,
                        n.referenced.line(),
                        n.referenced.column()
                    ),
                    format!("quote it ('{s}') for the text"),
                )
            }),
            Reading::Text => Ok(match helm(&s) {
                Scalar::Null => Value::Null,
                _ => Value::String(s),
            }),
            Reading::Author => Ok(if disagreement(&s).is_some() {
                Value::String(s)
            } else {
                to_value(&s, core12(&s)).unwrap_or(Value::String(s))
            }),
        }
    }

    fn key(&mut self, n: &Spanned<Node>, visited: &Value) -> Result<String> {
        let plain = self.plain_text(n, visited);
        if let Some(s) = &plain {
            self.note(n, s);
        }
        let text = match visited {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match (self.reading, plain) {
            (Reading::Helm, Some(s)) => helm_key(&s).ok_or_else(|| {
                crate::error::user(
                    format!(
                        "{}: line {} column {}: Helm cannot read the key {s:?} (it is null or a number above the 64-bit range)",
                        self.origin,
                        n.referenced.line(),
                        n.referenced.column()
                    ),
                    format!("quote the key ('{s}')"),
                )
            }),
            (Reading::Author | Reading::Text, Some(s)) => Ok(s),
            (_, None) => Ok(text),
        }
    }

    fn node(&mut self, n: &Spanned<Node>) -> Result<Value> {
        match &n.value {
            Node::Scalar(v) => self.scalar(n, v),
            Node::Seq(items) => Ok(Value::Array(
                items.iter().map(|x| self.node(x)).collect::<Result<_>>()?,
            )),
            Node::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    let key = match &k.value {
                        Node::Scalar(kv) => self.key(k, kv)?,
                        _ => super::to_string(&self.node(k)?)?.trim_end().to_string(),
                    };
                    let value = self.node(v)?;
                    m.insert(key, value);
                }
                Ok(Value::Object(m))
            }
        }
    }

    /// The key of one mapping entry, as [`Reader::node`] makes it.
    fn entry_key(&mut self, k: &Spanned<Node>) -> Result<String> {
        match &k.value {
            Node::Scalar(kv) => self.key(k, kv),
            _ => Ok(super::to_string(&self.node(k)?)?.trim_end().to_string()),
        }
    }

    /// The node at `path` below `n` (an item's index in a sequence, a key in a
    /// mapping: the last entry with that key, as a mapping built by [`Reader::node`]
    /// keeps it), reading only the keys of the mappings on the way.
    fn find<'n>(
        &mut self,
        mut n: &'n Spanned<Node>,
        path: &[&str],
    ) -> Result<Option<&'n Spanned<Node>>> {
        for p in path {
            n = match &n.value {
                Node::Seq(items) => match p.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(x) => x,
                    None => return Ok(None),
                },
                Node::Map(entries) => {
                    let mut found = None;
                    for (k, v) in entries {
                        if self.entry_key(k)? == *p {
                            found = Some(v);
                        }
                    }
                    match found {
                        Some(v) => v,
                        None => return Ok(None),
                    }
                }
                Node::Scalar(_) => return Ok(None),
            };
        }
        Ok(Some(n))
    }
}

/// A YAML document parsed once, with where its plain scalars are, to be read one or
/// more ways ([`Reading`]) without parsing it again.
pub struct Parsed<'a> {
    origin: &'a str,
    text: &'a str,
    plain: HashMap<usize, ()>,
    root: Spanned<Node>,
}

/// Parse one YAML document for [`Parsed::read`] and the other readers. `origin`
/// names the file in errors.
pub fn parse<'a>(origin: &'a str, text: &'a str) -> Result<Parsed<'a>> {
    let options = serde_saphyr::options! {
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
    };
    let plain = plain_offsets(text).map_err(|(line, column)| {
        super::error(
            origin,
            &format!("line {line} column {column}: recursion limit exceeded"),
        )
    })?;
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| super::error(origin, &e.to_string()))?;
    Ok(Parsed {
        origin,
        text,
        plain,
        root,
    })
}

impl Parsed<'_> {
    fn reader(&self, reading: Reading, collect: bool) -> Reader<'_> {
        Reader {
            text: self.text,
            plain: &self.plain,
            reading,
            origin: self.origin,
            collect,
            ambiguous: Vec::new(),
        }
    }

    /// The document with `reading`, and the plain scalars that YAML readers disagree
    /// about.
    pub fn read(&self, reading: Reading) -> Result<(Value, Vec<Ambiguous>)> {
        let mut r = self.reader(reading, true);
        let v = r.node(&self.root)?;
        Ok((v, r.ambiguous))
    }

    /// The document with `reading` (what [`Parsed::read`] returns first).
    pub fn value(&self, reading: Reading) -> Result<Value> {
        self.reader(reading, false).node(&self.root)
    }

    /// The part of the document at `path` (keys, and indexes of sequence items) with
    /// `reading`: what looking `path` up in [`Parsed::value`] finds, reading only the
    /// nodes on the way and below. The errors are those of that part: a reading that
    /// can fail elsewhere in the document (Helm's) is checked with [`Parsed::value`].
    pub fn value_at(&self, reading: Reading, path: &[&str]) -> Result<Option<Value>> {
        let mut r = self.reader(reading, false);
        match r.find(&self.root, path)? {
            Some(n) => r.node(n).map(Some),
            None => Ok(None),
        }
    }
}

/// Read one YAML document with `reading`; also returns the plain scalars that YAML
/// readers disagree about. `origin` names the file in errors.
pub fn read(origin: &str, text: &str, reading: Reading) -> Result<(Value, Vec<Ambiguous>)> {
    parse(origin, text)?.read(reading)
}

#[cfg(test)]
mod tests;
