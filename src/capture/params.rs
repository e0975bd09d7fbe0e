//! The parameters a capture makes (Secret values, repeated literals): unique
//! names, the tokens that stand for them until the text is written, and Tera escaping.
use super::*;

#[derive(Debug, Clone)]
pub(super) struct Param {
    pub(super) name: String,
    pub(super) kind: &'static str,
    pub(super) default: Option<Value>,
    pub(super) pattern: Option<&'static str>,
    pub(super) minimum: Option<i64>,
    pub(super) description: String,
    /// How a token standing for it is written: the whole scalar, or inside a string.
    pub(super) whole: String,
    pub(super) inside: String,
}

/// Parameter names: lower-case letters, digits and `_`, starting with a letter.
pub(super) fn param_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    match out.chars().next() {
        None => "value".into(),
        Some(c) if c.is_ascii_digit() => format!("p_{out}"),
        _ => out,
    }
}

#[derive(Default)]
pub(super) struct Params {
    pub(super) list: Vec<Param>,
    /// (Secret namespace/name, key) -> parameter index: one parameter per Secret value.
    pub(super) secrets: BTreeMap<(String, String), usize>,
}

impl Params {
    pub(super) fn unique(&self, base: &str) -> String {
        let taken = |n: &str| self.list.iter().any(|p| p.name == n);
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_string())
    }

    pub(super) fn add(&mut self, mut p: Param) -> usize {
        p.name = self.unique(&p.name);
        p.whole = p.whole.replace("NAME", &p.name);
        p.inside = p.inside.replace("NAME", &p.name);
        self.list.push(p);
        self.list.len() - 1
    }

    /// The secret parameter for one value of a Secret.
    pub(super) fn secret(&mut self, secret: &str, ns: &str, key: &str, from: &str) -> usize {
        let id = (format!("{ns}/{secret}"), key.to_string());
        if let Some(i) = self.secrets.get(&id) {
            return *i;
        }
        let where_ = if ns.is_empty() {
            secret.to_string()
        } else {
            format!("{ns}/{secret}")
        };
        let i = self.add(Param {
            name: param_name(&format!("{secret}_{key}")),
            kind: "secret",
            default: None,
            pattern: None,
            minimum: None,
            description: format!("Secret {where_}, key {key} ({from})"),
            whole: "\"{{ params.NAME }}\"".into(),
            inside: "{{ params.NAME }}".into(),
        });
        self.secrets.insert(id, i);
        i
    }

    pub(super) fn token(i: usize) -> String {
        format!("{TOKEN}{i}X")
    }

    /// Replace every token in YAML text by its template expression.
    pub(super) fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(TOKEN) {
            out.push_str(&rest[..at]);
            let after = &rest[at + TOKEN.len()..];
            let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
            let tail = &after[digits.len()..];
            match (digits.parse::<usize>().ok(), tail.strip_prefix('X')) {
                (Some(i), Some(tail)) if i < self.list.len() => {
                    // A whole scalar stands alone after `key: ` or `- `.
                    let whole = out.ends_with(": ") || out.ends_with("- ");
                    let p = &self.list[i];
                    let end_of_scalar = tail.starts_with('\n') || tail.is_empty();
                    if whole && end_of_scalar {
                        out.push_str(&p.whole);
                    } else {
                        out.push_str(&p.inside);
                    }
                    rest = tail;
                }
                _ => {
                    out.push_str(TOKEN);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Escape Tera's syntax so that rendering gives the text back.
pub(super) fn escape_tera(text: &str) -> String {
    if !text.contains("{{") && !text.contains("{%") && !text.contains("{#") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let open = ["{{", "{%", "{#"].into_iter().find(|o| tail.starts_with(o));
        match open {
            Some(o) => {
                out.push_str(&format!("{{{{ \"{o}\" }}}}"));
                rest = &tail[2..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
