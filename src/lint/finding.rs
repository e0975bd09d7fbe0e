//! Lint's findings: a severity and a message at a line of a file, printed as
//! `FILE:LINE: severity: message` with the hint below.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One problem (or note) at a line of a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    /// A finding; a message of several lines becomes one (one finding per line).
    pub fn new(file: &str, line: usize, severity: Severity, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let message = if message.contains('\n') {
            message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            message
        };
        Finding {
            file: file.to_string(),
            line,
            severity,
            message,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        let h = hint.into();
        self.hint = if h.is_empty() { None } else { Some(h) };
        self
    }
}

/// `FILE:LINE: severity: message`, and `  hint: …` below when there is one.
pub fn format(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}:{}: {}: {}\n",
            f.file,
            f.line,
            f.severity.as_str(),
            f.message
        ));
        if let Some(h) = &f.hint {
            out.push_str(&format!("  hint: {h}\n"));
        }
    }
    out
}

/// Sort by file, line and severity, and drop exact duplicates.
pub fn sort(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (a.file.as_str(), a.line, a.severity).cmp(&(b.file.as_str(), b.line, b.severity))
    });
    findings.dedup();
}
