//! One parameter's value: coercion of what was given to the declared type (the
//! spellings Helm's YAML 1.1 reads included), its constraints, how it is shown
//! (secrets masked) and placeholders that satisfy them.
use super::*;

pub(super) const MASK: &str = "<redacted>";

pub(super) fn describe_value(p: &Parameter, v: &Raw) -> String {
    if p.kind == ParamType::Secret {
        return MASK.into();
    }
    let shown = match v {
        Raw::Text(s) | Raw::String(s) => format!("{s:?}"),
        Raw::Typed(v) => v.to_string(),
    };
    // A value of any size is named, not echoed whole.
    const MAX: usize = 80;
    match shown.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} bytes)", &shown[..cut], shown.len()),
        None => shown,
    }
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

pub(super) fn expected(p: &Parameter) -> String {
    match p.kind {
        ParamType::Enum => format!(
            "one of {}",
            p.allowed
                .iter()
                .map(|v| v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ParamType::Object => "a mapping".into(),
        ParamType::Secret => "a string".into(),
        k => format!(
            "{} {}",
            if k == ParamType::Integer { "an" } else { "a" },
            k.as_str()
        ),
    }
}

/// Coerce a given value to the parameter's type and check its constraints.
/// The error says what was expected, never showing a secret.
pub fn coerce(p: &Parameter, raw: &Raw) -> std::result::Result<Value, String> {
    let v = match (p.kind, raw) {
        (ParamType::String | ParamType::Secret, Raw::Text(s) | Raw::String(s)) => {
            Value::String(s.clone())
        }
        // Text is read as Helm reads the same text in a values file (`0755` is 493,
        // `y` is true, `1_000` is 1000), then checked against the declared type.
        (ParamType::Integer | ParamType::Number | ParamType::Boolean, Raw::Text(s)) => {
            let t = s.trim();
            match yaml::scalar::to_value(t, yaml::scalar::helm(t)) {
                Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                    return coerce(p, &Raw::Typed(v));
                }
                _ => {
                    return Err(format!(
                        "expected {}, got {}",
                        if p.kind == ParamType::Boolean {
                            "a boolean (true or false)".to_string()
                        } else {
                            expected(p)
                        },
                        describe_value(p, raw)
                    ));
                }
            }
        }
        (ParamType::Enum, Raw::Text(s) | Raw::String(s)) => p
            .allowed
            .iter()
            .find(|a| {
                a.as_str() == Some(s.as_str())
                    || (!matches!(raw, Raw::String(_)) && a.to_string() == *s)
            })
            .cloned()
            .ok_or_else(|| format!("expected {}, got {}", expected(p), describe_value(p, raw)))?,
        (ParamType::Object, Raw::Text(s)) => match yaml::helm_values("value", s) {
            Ok(Value::Object(m)) => Value::Object(m),
            _ => {
                return Err(format!(
                    "expected a mapping (YAML or JSON), got {}",
                    describe_value(p, raw)
                ));
            }
        },
        (_, Raw::String(_)) => {
            return Err(format!(
                "expected {}, got the string {} from --set-string",
                expected(p),
                describe_value(p, raw)
            ));
        }
        (kind, Raw::Typed(v)) => {
            if kind == ParamType::Enum
                && !p.allowed.contains(v)
                && let Some(a) = enum_spelling(p, v)
            {
                // `size: y` in a values file, Helm's `true`, is the allowed "y".
                return Ok(a);
            }
            let ok = match kind {
                ParamType::String | ParamType::Secret => v.is_string(),
                ParamType::Integer => v.is_i64(),
                ParamType::Number => v.is_number(),
                ParamType::Boolean => v.is_boolean(),
                ParamType::Enum => p.allowed.contains(v),
                ParamType::Object => v.is_object(),
            };
            if !ok && kind == ParamType::Integer && v.is_u64() {
                return Err(format!(
                    "expected an integer, got {v}, which is beyond the 64-bit integer range"
                ));
            }
            if !ok {
                let mut msg = format!(
                    "expected {}, got {} {}",
                    expected(p),
                    type_name(v),
                    describe_value(p, raw)
                );
                if matches!(
                    kind,
                    ParamType::String | ParamType::Secret | ParamType::Enum
                ) && !v.is_object()
                    && !v.is_array()
                {
                    msg.push_str(" (quote it in YAML to make it a string)");
                }
                return Err(msg);
            }
            v.clone()
        }
    };
    check_constraints(p, &v)?;
    Ok(v)
}

/// The one allowed enum string that Helm reads as the non-string `v` (`y` for true).
pub(super) fn enum_spelling(p: &Parameter, v: &Value) -> Option<Value> {
    if v.is_string() || v.is_object() || v.is_array() {
        return None;
    }
    let mut hits = p.allowed.iter().filter(|a| {
        a.as_str()
            .is_some_and(|s| yaml::scalar::to_value(s, yaml::scalar::helm(s)).as_ref() == Some(v))
    });
    let first = hits.next()?.clone();
    hits.next().is_none().then_some(first)
}

/// A value written in profile.yaml (a default, a preset): text the author wrote for
/// a typed parameter is coerced as command-line text is (`default: "3"`, and plain
/// scalars the YAML versions disagree about, which profile.yaml keeps as text).
pub fn from_profile(p: &Parameter, v: &Value) -> Raw {
    match (p.kind, v) {
        (ParamType::Integer | ParamType::Number | ParamType::Boolean, Value::String(s)) => {
            Raw::Text(s.clone())
        }
        _ => Raw::Typed(v.clone()),
    }
}

pub(super) fn check_constraints(p: &Parameter, v: &Value) -> std::result::Result<(), String> {
    // Secrets are printed as stand-ins, never as text: they may hold anything.
    if p.kind != ParamType::Secret {
        crate::template::structure::check_characters(v, p.multiline)?;
    }
    if let (Some(pattern), Some(s)) = (&p.pattern, v.as_str()) {
        let re = regex::Regex::new(pattern).map_err(|e| {
            format!("its pattern {pattern:?} is not a valid regular expression: {e}")
        })?;
        if !re.is_match(s) {
            let shown = if p.kind == ParamType::Secret {
                MASK.to_string()
            } else {
                format!("{s:?}")
            };
            return Err(format!("{shown} does not match the pattern {pattern:?}"));
        }
    }
    if let Some(n) = v.as_f64().filter(|_| v.is_number()) {
        if let Some(min) = p.minimum
            && n < min
        {
            return Err(format!("{v} is below the minimum {min}"));
        }
        if let Some(max) = p.maximum
            && n > max
        {
            return Err(format!("{v} is above the maximum {max}"));
        }
    }
    Ok(())
}

/// The origin detail of a placeholder value (see [`placeholder`]).
pub const PLACEHOLDER: &str = "placeholder";

/// A value of the parameter's type that satisfies its constraints, for rendering a
/// profile whose required parameter has no value and no default (`pctl lint`, `pctl
/// diff`). None when no candidate fits (a pattern that none of them matches).
pub fn placeholder(p: &Parameter) -> Option<Value> {
    placeholder_for(p, &[])
}

/// A placeholder for `p` (see [`placeholder`]) that also satisfies every parameter
/// in `downstream`, the parameters of nested profiles that a `with` binding
/// (`email: "{{ params.email }}"`) passes its value on to, read as the binding's
/// rendered text. Their own candidates (an enum's values, their bounds) are tried
/// too. None when no candidate fits them all.
pub fn placeholder_for(p: &Parameter, downstream: &[&Parameter]) -> Option<Value> {
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    std::iter::once(p)
        .chain(downstream.iter().copied())
        .flat_map(candidates)
        .find(|c| {
            coerce(p, &Raw::Typed(c.clone())).is_ok()
                && downstream
                    .iter()
                    .all(|d| coerce(d, &Raw::Text(as_text(c))).is_ok())
        })
}

/// The values [`placeholder`] tries for `p`, in order.
pub(super) fn candidates(p: &Parameter) -> Vec<Value> {
    let bounds = || {
        let mut v: Vec<f64> = Vec::new();
        v.extend(p.minimum.map(f64::ceil));
        v.extend(p.maximum.map(f64::floor));
        v.extend([1.0, 0.0]);
        v
    };
    match p.kind {
        ParamType::String | ParamType::Secret => [
            "placeholder",
            "example.com",
            "placeholder-0123456789",
            "example",
            "a",
            "x",
            "1",
            "0",
            "1.0.0",
            "v1.0.0",
            "10.0.0.1",
            "user@example.com",
            "https://example.com",
            "Placeholder-0123456789",
        ]
        .iter()
        .map(|s| Value::String(s.to_string()))
        .collect(),
        ParamType::Integer => bounds()
            .into_iter()
            .filter(|f| f.is_finite() && f.abs() < 9.0e15)
            .map(|f| Value::from(f as i64))
            .collect(),
        ParamType::Number => bounds()
            .into_iter()
            .filter_map(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .collect(),
        ParamType::Boolean => vec![Value::Bool(false)],
        ParamType::Enum => p.allowed.clone(),
        ParamType::Object => vec![Value::Object(Map::new())],
    }
}
