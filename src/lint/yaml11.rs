//! Lint's YAML 1.1 check: a plain scalar in profile.yaml or in a chart's
//! `defaultValues` that YAML readers take differently (`0755`: Helm reads the octal
//! 493, a YAML 1.2 reader 755; `y`: Helm reads true, YAML 1.2 the text) is a warning
//! at its line and column, with a hint to quote it or spell the value out.
use super::{Finding, Positions, Severity};
use crate::yaml::scalar::{self, Ambiguous, Reading};
use crate::yaml::{Map, Value};

fn finding(file: &str, line: usize, column: usize, a: &Ambiguous, chart: bool) -> Finding {
    let helm = scalar::to_value(&a.text, scalar::helm(&a.text));
    let what = if chart {
        "chart value"
    } else {
        "profile.yaml value"
    };
    let spelled = match &helm {
        Some(Value::String(_)) | None => String::new(),
        Some(v) => format!(", or write {v} for what Helm reads"),
    };
    Finding::new(
        file,
        line,
        Severity::Warning,
        format!(
            "column {column}: the {what} {} means different things to YAML 1.1 and 1.2 readers: {}",
            a.text, a.why
        ),
    )
    .with_hint(format!(
        "quote it ('{}') if you mean the text{spelled}",
        a.text
    ))
}

/// Tera tags blanked out (same length), so that the YAML around them parses.
fn blank_tera(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{']) {
        let close = match rest[i..].get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push_str(&rest[..=i]);
                rest = &rest[i + 1..];
                continue;
            }
        };
        out.push_str(&rest[..i]);
        match rest[i..].find(close) {
            Some(j) => {
                let tag = &rest[i..i + j + 2];
                out.extend(tag.chars().map(|c| if c == '\n' { '\n' } else { '_' }));
                rest = &rest[i + j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The warnings for `text`, the profile.yaml of `file`, and its `defaultValues`.
pub fn check(file: &str, text: &str, pos: &Positions, spec: &Map) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Ok((_, ambiguous)) = scalar::read(file, text, Reading::Author) {
        for a in &ambiguous {
            out.push(finding(file, a.line, a.column, a, false));
        }
    }
    let artifacts = spec.get("artifacts").and_then(Value::as_array);
    for (i, a) in artifacts.into_iter().flatten().enumerate() {
        let Some(dv) = a
            .get("chart")
            .and_then(|c| c.get("defaultValues"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let path = format!("spec.artifacts[{i}].chart.defaultValues");
        let Ok((_, ambiguous)) = scalar::read(file, &blank_tera(dv), Reading::Helm) else {
            continue;
        };
        for x in &ambiguous {
            let line = pos.block_line(&path, x.line);
            // The block's indentation in the file.
            let indent = match (pos.text.get(line - 1), dv.lines().nth(x.line - 1)) {
                (Some(f), Some(c)) if line != pos.line(&path) => {
                    let lead = |s: &str| s.len() - s.trim_start().len();
                    lead(f).saturating_sub(lead(c))
                }
                _ => 0,
            };
            out.push(finding(file, line, x.column + indent, x, true));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_at_line_and_column_in_profile_and_default_values() {
        let text = "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {name: p}\nspec:\n  parameters:\n    - {name: s, type: enum, enum: [x, y]}\n  artifacts:\n    - name: app\n      chart:\n        path: chart\n        defaultValues: |\n          mode: 0755\n          replicas: {{ params.r }}\n          ok: '0644'\n";
        let pos = Positions::parse(text);
        let doc = crate::yaml::author_values("p", text).unwrap();
        let spec = doc["spec"].as_object().unwrap();
        let f = check("p/profile.yaml", text, &pos, spec);
        let at: Vec<(usize, &str)> = f.iter().map(|f| (f.line, f.message.as_str())).collect();
        assert_eq!(f.len(), 2, "{at:?}");
        assert_eq!(f[0].line, 6);
        assert!(
            f[0].message
                .starts_with("column 39: the profile.yaml value y "),
            "{at:?}"
        );
        assert_eq!(f[1].line, 12);
        assert!(
            f[1].message.starts_with("column 17: the chart value 0755 "),
            "{at:?}"
        );
        assert!(f[1].message.contains("Helm reads the number 493"), "{at:?}");
        assert!(f[1].hint.as_deref().unwrap().contains("'0755'"), "{f:?}");
        assert!(f[1].hint.as_deref().unwrap().contains("write 493"), "{f:?}");
    }
}
