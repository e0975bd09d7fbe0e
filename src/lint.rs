//! The core of `pctl lint`: findings with a file and a line, the line of every key of
//! a YAML text, and the checks one `profile.yaml` must pass on its own — syntax,
//! schema (every unknown field, with "did you mean"), artifacts, `dependsOn`,
//! parameters and presets — all reported at once. Pure: resolving nested profiles,
//! rendering and the file system are in `ops::lint`.
mod yaml11;
use crate::model::{self, ParamType, Parameter, ProfileDefinition};
use crate::yaml::{Map, Value};
use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------- findings

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

// ---------------------------------------------------------------- positions

/// The line of every key (`spec.artifacts[1].chart.url`) and list item
/// (`spec.artifacts[1]`) of a YAML text.
#[derive(Debug, Default, Clone)]
pub struct Positions {
    lines: BTreeMap<String, usize>,
    text: Vec<String>,
}

/// A YAML node read only for where its parts are.
enum Node {
    Leaf,
    Seq(Vec<serde_saphyr::Spanned<Node>>),
    Map(Vec<(serde_saphyr::Spanned<Key>, serde_saphyr::Spanned<Node>)>),
}

/// A mapping key: any scalar, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Node, D2::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = a.next_element()? {
                    items.push(x);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
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

impl Positions {
    /// Positions of a YAML text; empty (every line 1) when it does not parse.
    pub fn parse(text: &str) -> Positions {
        let mut p = Positions {
            lines: BTreeMap::new(),
            text: text.lines().map(str::to_string).collect(),
        };
        if let Ok(root) = serde_saphyr::from_str::<serde_saphyr::Spanned<Node>>(text) {
            p.walk(&root.value, "");
        }
        p
    }

    fn walk(&mut self, node: &Node, path: &str) {
        match node {
            Node::Leaf => {}
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let here = format!("{path}[{i}]");
                    self.lines
                        .insert(here.clone(), item.referenced.line() as usize);
                    self.walk(&item.value, &here);
                }
            }
            Node::Map(entries) => {
                for (k, v) in entries {
                    let here = if path.is_empty() {
                        k.value.0.clone()
                    } else {
                        format!("{path}.{}", k.value.0)
                    };
                    self.lines
                        .entry(here.clone())
                        .or_insert(k.referenced.line() as usize);
                    self.walk(&v.value, &here);
                }
            }
        }
    }

    /// The line of `path`, else of the nearest enclosing key or item; 1 when none.
    pub fn line(&self, path: &str) -> usize {
        let mut p = path.to_string();
        loop {
            if let Some(l) = self.lines.get(&p) {
                return *l;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => return 1,
            }
        }
    }

    /// The line in the file of line `n` (1-based) of the block scalar at `path`
    /// (`defaultValues: |`); the key's own line when the value is not a block.
    pub fn block_line(&self, path: &str, n: usize) -> usize {
        let at = self.line(path);
        let block = self
            .text
            .get(at.saturating_sub(1))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim_start().starts_with(['|', '>']))
            .unwrap_or(false);
        if block { at + n } else { at }
    }
}

// ---------------------------------------------------------------- schema

/// What a field holds.
#[derive(Clone, Copy)]
enum Shape {
    /// A string, number or boolean.
    Scalar,
    Bool,
    Number,
    Any,
    /// A mapping with any keys.
    FreeMap,
    ScalarList,
    AnyList,
    /// Named parameter sets: a mapping of mappings.
    Presets,
    List(&'static Ctx),
    Map(&'static Ctx),
}

/// The fields a mapping of profile.yaml may have.
struct Ctx {
    what: &'static str,
    fields: &'static [(&'static str, Shape)],
    required: &'static [&'static str],
}

static ROOT: Ctx = Ctx {
    what: "the definition",
    fields: &[
        ("apiVersion", Shape::Scalar),
        ("kind", Shape::Scalar),
        ("metadata", Shape::FreeMap),
        ("spec", Shape::Map(&SPEC)),
    ],
    required: &["apiVersion", "kind", "metadata", "spec"],
};

static SPEC: Ctx = Ctx {
    what: "spec",
    fields: &[
        ("name", Shape::Scalar),
        ("description", Shape::Scalar),
        ("maintainer", Shape::Scalar),
        ("prerequisites", Shape::ScalarList),
        ("keywords", Shape::ScalarList),
        ("parameters", Shape::List(&PARAMETER)),
        ("presets", Shape::Presets),
        ("artifacts", Shape::List(&ARTIFACT)),
    ],
    required: &[],
};

static PARAMETER: Ctx = Ctx {
    what: "parameter",
    fields: &[
        ("name", Shape::Scalar),
        ("type", Shape::Scalar),
        ("required", Shape::Bool),
        ("default", Shape::Any),
        ("enum", Shape::AnyList),
        ("pattern", Shape::Scalar),
        ("minimum", Shape::Number),
        ("maximum", Shape::Number),
        ("description", Shape::Scalar),
        ("multiline", Shape::Bool),
    ],
    required: &["name"],
};

static ARTIFACT: Ctx = Ctx {
    what: "artifact",
    fields: &[
        ("name", Shape::Scalar),
        ("chart", Shape::Map(&CHART)),
        ("kustomize", Shape::Map(&KUSTOMIZE)),
        ("profile", Shape::Map(&PROFILE)),
        ("dependsOn", Shape::List(&DEPENDS_ON)),
        ("template", Shape::Bool),
    ],
    required: &["name"],
};

static CHART: Ctx = Ctx {
    what: "chart",
    fields: &[
        ("path", Shape::Scalar),
        ("url", Shape::Scalar),
        ("name", Shape::Scalar),
        ("version", Shape::Scalar),
        ("defaultValues", Shape::Scalar),
        ("release", Shape::FreeMap),
    ],
    required: &[],
};

static KUSTOMIZE: Ctx = Ctx {
    what: "kustomize",
    fields: &[("path", Shape::Scalar)],
    required: &["path"],
};

static PROFILE: Ctx = Ctx {
    what: "profile",
    fields: &[("source", Shape::Map(&SOURCE)), ("with", Shape::FreeMap)],
    required: &["source"],
};

static SOURCE: Ctx = Ctx {
    what: "source",
    fields: &[
        ("url", Shape::Scalar),
        ("tag", Shape::Scalar),
        ("branch", Shape::Scalar),
        ("version", Shape::Scalar),
        ("path", Shape::Scalar),
    ],
    required: &[],
};

static DEPENDS_ON: Ctx = Ctx {
    what: "dependsOn entry",
    fields: &[("name", Shape::Scalar)],
    required: &["name"],
};

fn kind_of(v: &Value) -> &'static str {
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

/// What to call the mapping at `path` in messages: `artifact "nginx"`, `chart of
/// artifact "nginx"`, `parameter #2`.
fn label_of(ctx: &Ctx, map: &Map, index: Option<usize>, parent: &str) -> String {
    let own = match (map.get("name").and_then(Value::as_str), index) {
        (Some(n), _) if matches!(ctx.what, "artifact" | "parameter") => {
            format!("{} {n:?}", ctx.what)
        }
        (_, Some(i)) => format!("{} #{}", ctx.what, i + 1),
        _ => ctx.what.to_string(),
    };
    if parent.is_empty() || matches!(ctx.what, "artifact" | "parameter" | "spec") {
        own
    } else {
        format!("{own} of {parent}")
    }
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

    /// Check a mapping against its context; returns it without the fields that are
    /// unknown or of the wrong shape.
    fn map(&mut self, ctx: &Ctx, map: &Map, path: &str, label: &str) -> Map {
        let mut out = Map::new();
        let allowed: Vec<&str> = ctx.fields.iter().map(|(f, _)| *f).collect();
        for (k, v) in map {
            let here = join(path, k);
            let Some((_, shape)) = ctx.fields.iter().find(|(f, _)| f == k) else {
                self.error(
                    &here,
                    format!("unknown field `{k}` in {label}"),
                    Some(model::field_hint(k, &allowed)),
                );
                continue;
            };
            if let Some(v) = self.shape(*shape, v, &here, k, label) {
                out.insert(k.clone(), v);
            }
        }
        for r in ctx.required {
            if !out.contains_key(*r) && !map.contains_key(*r) {
                self.error(
                    path,
                    format!("{label} has no `{r}`"),
                    Some(format!("`{r}` is required in {}", ctx.what)),
                );
            }
        }
        out
    }

    fn shape(
        &mut self,
        shape: Shape,
        v: &Value,
        path: &str,
        key: &str,
        label: &str,
    ) -> Option<Value> {
        let wrong =
            |expected: &str| format!("`{key}` of {label} must be {expected}, not {}", kind_of(v));
        match shape {
            Shape::Any => Some(v.clone()),
            Shape::Scalar if is_scalar(v) => Some(v.clone()),
            Shape::Scalar => {
                self.error(path, wrong("a single value"), None);
                None
            }
            Shape::Bool => match v {
                Value::Null | Value::Bool(_) => Some(v.clone()),
                Value::String(s)
                    if matches!(
                        s.to_ascii_lowercase().as_str(),
                        "true" | "false" | "yes" | "no" | "on" | "off"
                    ) =>
                {
                    Some(v.clone())
                }
                _ => {
                    self.error(path, wrong("true or false"), None);
                    None
                }
            },
            Shape::Number => match v {
                Value::Null | Value::Number(_) => Some(v.clone()),
                Value::String(s) if s.trim().parse::<f64>().is_ok() => Some(v.clone()),
                _ => {
                    self.error(path, wrong("a number"), None);
                    None
                }
            },
            Shape::FreeMap => match v {
                Value::Null | Value::Object(_) => Some(v.clone()),
                _ => {
                    self.error(path, wrong("a mapping"), None);
                    None
                }
            },
            Shape::ScalarList | Shape::AnyList => match v {
                Value::Null => Some(v.clone()),
                Value::Array(items) => {
                    if matches!(shape, Shape::ScalarList) {
                        for (i, item) in items.iter().enumerate() {
                            if !is_scalar(item) {
                                self.error(
                                    &format!("{path}[{i}]"),
                                    format!(
                                        "item {} of `{key}` in {label} must be a single value, not {}",
                                        i + 1,
                                        kind_of(item)
                                    ),
                                    None,
                                );
                                return None;
                            }
                        }
                    }
                    Some(v.clone())
                }
                _ => {
                    self.error(path, wrong("a list"), None);
                    None
                }
            },
            Shape::Presets => match v {
                Value::Null => Some(v.clone()),
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
            Shape::Map(ctx) => match v {
                Value::Null => None,
                Value::Object(m) => {
                    let l = label_of(ctx, m, None, label);
                    Some(Value::Object(self.map(ctx, m, path, &l)))
                }
                _ => {
                    self.error(path, wrong("a mapping"), None);
                    None
                }
            },
            Shape::List(ctx) => match v {
                Value::Null => None,
                Value::Array(items) => {
                    let mut out = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let here = format!("{path}[{i}]");
                        match item {
                            Value::Object(m) => {
                                let l = label_of(ctx, m, Some(i), label);
                                out.push(Value::Object(self.map(ctx, m, &here, &l)));
                            }
                            other => self.error(
                                &here,
                                format!(
                                    "item {} of `{key}` must be a mapping ({}), not {}",
                                    i + 1,
                                    ctx.what,
                                    kind_of(other)
                                ),
                                None,
                            ),
                        }
                    }
                    Some(Value::Array(out))
                }
                _ => {
                    self.error(path, wrong("a list"), None);
                    None
                }
            },
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

// ---------------------------------------------------------------- the definition

/// What checking one profile.yaml found.
pub struct Checked {
    pub findings: Vec<Finding>,
    /// The definition, when it has no error (what install would read).
    pub def: Option<ProfileDefinition>,
    pub positions: Positions,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
}

/// The line number in a message such as "… line 7 column 3: …".
fn line_in_message(msg: &str) -> Option<usize> {
    let rest = &msg[msg.find("line ")? + 5..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A model error as a finding: its message without the file prefix, and its hint.
fn model_finding(file: &str, line: usize, err: &anyhow::Error) -> Finding {
    let (top, causes, hints) = crate::error::describe(err);
    let mut msg = top
        .strip_prefix(&format!("{file}: "))
        .unwrap_or(&top)
        .to_string();
    for c in causes {
        msg.push_str(&format!(": {c}"));
    }
    Finding::new(file, line, Severity::Error, msg).with_hint(hints.join("; "))
}

/// Check one profile.yaml: `file` names it in findings, `dir_name` is the name of its
/// directory (None at a repository root or when unknown).
pub fn check_definition(file: &str, text: &str, dir_name: Option<&str>) -> Checked {
    let positions = Positions::parse(text);
    let mut out = Checked {
        findings: Vec::new(),
        def: None,
        positions,
    };
    // Syntax.
    let doc: Value = match serde_saphyr::from_str(text) {
        // Plain scalars read as the author reads them (see `model::parse`).
        Ok(d) => crate::yaml::author_values(file, text).unwrap_or(d),
        Err(e) => {
            let line = e.location().map(|l| l.line() as usize).unwrap_or(1);
            let first = crate::yaml::clean(&e.to_string());
            let first = first.as_str();
            let msg = match first.find(": ") {
                Some(i) if first.starts_with("line ") => &first[i + 2..],
                _ => first,
            };
            out.findings.push(
                Finding::new(file, line, Severity::Error, format!("invalid YAML: {msg}"))
                    .with_hint("fix the YAML syntax; nothing else was checked"),
            );
            return out;
        }
    };
    let Value::Object(top) = &doc else {
        out.findings.push(
            Finding::new(
                file,
                1,
                Severity::Error,
                format!("a profile definition is a mapping, not {}", kind_of(&doc)),
            )
            .with_hint(format!(
                "start it with `apiVersion: {}` and `kind: {}`",
                model::API_VERSION,
                model::KIND
            )),
        );
        return out;
    };
    let api = top.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = top.get("kind").and_then(Value::as_str).unwrap_or("");
    match (api, kind) {
        (model::API_VERSION, model::KIND) => {}
        (old, model::LEGACY_KIND) if model::is_legacy_api_version(old) => {
            legacy(file, text, dir_name, &mut out);
            return out;
        }
        _ => {
            out.findings.push(
                Finding::new(
                    file,
                    out.positions.line("apiVersion"),
                    Severity::Error,
                    format!("not a profile definition (apiVersion {api:?}, kind {kind:?})"),
                )
                .with_hint(format!(
                    "a profile.yaml starts with `apiVersion: {}` and `kind: {}`",
                    model::API_VERSION,
                    model::KIND
                )),
            );
            return out;
        }
    }
    // Schema: every unknown field and every field of the wrong shape.
    let mut walk = Walk {
        file,
        pos: &out.positions,
        findings: Vec::new(),
    };
    let clean = walk.map(&ROOT, top, "", "the definition");
    let mut findings = walk.findings;
    let pos = &out.positions;
    let at = |path: &str| pos.line(path);
    let spec = clean
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    // metadata and the legacy spec.name.
    let name = top
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        findings.push(
            Finding::new(
                file,
                at("metadata"),
                Severity::Error,
                "metadata.name is missing",
            )
            .with_hint("give the profile a DNS-1123 name, usually its directory name"),
        );
    } else if !crate::names::is_dns1123_label(&name) {
        findings.push(
            Finding::new(
                file,
                at("metadata.name"),
                Severity::Error,
                format!("metadata.name {name:?} is not a DNS-1123 label"),
            )
            .with_hint("use lower-case letters, digits and '-', at most 63 characters"),
        );
    } else if let Some(dir) = dir_name.filter(|d| !d.is_empty() && *d != name) {
        findings.push(Finding::new(
            file,
            at("metadata.name"),
            Severity::Warning,
            format!("metadata.name {name:?} differs from its directory {dir:?}"),
        ));
    }
    if let Some(spec_name) = spec.get("name").and_then(Value::as_str) {
        if spec_name == name {
            findings.push(
                Finding::new(
                    file,
                    at("spec.name"),
                    Severity::Warning,
                    "spec.name is a legacy field and is ignored",
                )
                .with_hint("remove it: metadata.name names the profile"),
            );
        } else {
            findings.push(
                Finding::new(
                    file,
                    at("spec.name"),
                    Severity::Error,
                    format!("spec.name {spec_name:?} differs from metadata.name {name:?}"),
                )
                .with_hint("remove spec.name: metadata.name names the profile"),
            );
        }
    }

    let artifacts: Vec<Map> = list_of(&spec, "artifacts");
    if artifacts.is_empty() {
        findings.push(Finding::new(
            file,
            at("spec"),
            Severity::Warning,
            "the profile has no artifacts: installing it writes no objects",
        ));
    }
    check_artifacts(file, pos, &artifacts, &mut findings);
    findings.extend(yaml11::check(file, text, pos, &spec));
    let params = check_parameters(file, pos, &list_of(&spec, "parameters"), &mut findings);
    if let Some(Value::Object(presets)) = spec.get("presets") {
        check_presets(file, pos, presets, &params, &mut findings);
    }

    if !findings.iter().any(|f| f.severity == Severity::Error) {
        // What install reads: anything the checks above missed is still an error.
        match model::parse(file, text, dir_name) {
            Ok((def, _warnings)) => out.def = Some(def),
            Err(e) => {
                let (top, _, _) = crate::error::describe(&e);
                let line = line_in_message(&top).unwrap_or(1);
                findings.push(model_finding(file, line, &e));
            }
        }
    }
    out.findings = findings;
    out
}

fn list_of(spec: &Map, key: &str) -> Vec<Map> {
    spec.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default()
}

/// A definition around one item, for checking it with the model on its own.
fn isolated(key: &str, item: Value) -> Option<String> {
    let mut spec = Map::new();
    spec.insert(key.to_string(), Value::Array(vec![item]));
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String("lint".into()));
    let mut doc = Map::new();
    doc.insert(
        "apiVersion".into(),
        Value::String(model::API_VERSION.into()),
    );
    doc.insert("kind".into(), Value::String(model::KIND.into()));
    doc.insert("metadata".into(), Value::Object(meta));
    doc.insert("spec".into(), Value::Object(spec));
    crate::yaml::to_string(&Value::Object(doc)).ok()
}

fn check_artifacts(file: &str, pos: &Positions, artifacts: &[Map], findings: &mut Vec<Finding>) {
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    let names: Vec<String> = artifacts
        .iter()
        .filter_map(|a| a.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut deps: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for (i, a) in artifacts.iter().enumerate() {
        let path = format!("spec.artifacts[{i}]");
        let Some(name) = a.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(j) = first.get(name) {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.name")),
                    Severity::Error,
                    format!(
                        "artifact name {name:?} is used twice (first at line {})",
                        pos.line(&format!("spec.artifacts[{j}].name"))
                    ),
                )
                .with_hint("artifact names must be unique within a profile"),
            );
        } else {
            first.insert(name.to_string(), i);
        }
        // The model's own rules for one artifact (kinds, charts, nested sources).
        let mut alone = a.clone();
        alone.remove("dependsOn");
        // Chart URL and version are reported below, each at its own line, by the
        // same rules the model applies: stand in valid ones for the model's check.
        if let Some(Value::Object(chart)) = alone.get_mut("chart") {
            use crate::model::rules::{self, UrlVerdict};
            // `chart.release` is reported below, field by field at its own line.
            chart.remove("release");
            if chart
                .get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| matches!(rules::chart_url(u), UrlVerdict::Refuse(..)))
            {
                chart.insert("url".into(), Value::String("https://lint.invalid".into()));
            }
            if chart
                .get("version")
                .and_then(Value::as_str)
                .is_some_and(|v| !rules::chart_version(v))
            {
                chart.insert("version".into(), Value::String("0.0.0".into()));
            }
        }
        if let Some(text) = isolated("artifacts", Value::Object(alone))
            && let Err(e) = model::parse(file, &text, None)
        {
            let msg = e.to_string();
            let field = if msg.contains("profile source") {
                ".profile.source"
            } else if msg.contains("chart") && !msg.contains("chart, kustomize, profile") {
                ".chart"
            } else {
                ".name"
            };
            findings.push(model_finding(file, pos.line(&format!("{path}{field}")), &e));
        }
        if let Some(chart) = a.get("chart").and_then(Value::as_object) {
            check_chart(file, pos, &path, name, chart, findings);
        }
        if let Some(v) = a
            .get("profile")
            .and_then(|p| p.get("source"))
            .and_then(|s| s.get("version"))
            .and_then(Value::as_str)
            && let Err(e) = crate::version::parse_constraint(v)
        {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.profile.source.version")),
                    Severity::Error,
                    format!("artifact {name:?}: invalid version constraint: {e}"),
                )
                .with_hint("use 1.2.3, ^1.2, ~1.2, >=1.0, <2, 1.x or latest"),
            );
        }
        let templated = a.get("template").is_some_and(|t| {
            t.as_bool() == Some(true)
                || t.as_str().is_some_and(|s| {
                    matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "on")
                })
        });
        if templated && (a.contains_key("chart") || a.contains_key("profile")) {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.template")),
                    Severity::Warning,
                    format!(
                        "artifact {name:?}: `template` applies only to kustomize artifacts and is ignored here"
                    ),
                )
                .with_hint("chart values are templated through `defaultValues`; remove `template`"),
            );
        }
        let mut own = Vec::new();
        for (j, d) in list_of(a, "dependsOn").iter().enumerate() {
            let Some(target) = d.get("name").and_then(Value::as_str) else {
                continue;
            };
            let line = pos.line(&format!("{path}.dependsOn[{j}]"));
            if target == name {
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Error,
                        format!("artifact {name:?} depends on itself"),
                    )
                    .with_hint("remove it from its own dependsOn"),
                );
            } else if !names.iter().any(|n| n == target) {
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Error,
                        format!(
                            "artifact {name:?} depends on {target:?}, which is not an artifact of this profile"
                        ),
                    )
                    .with_hint(format!(
                        "dependsOn names an artifact of the same profile: {}",
                        names.join(", ")
                    )),
                );
            } else {
                own.push(target.to_string());
            }
        }
        deps.entry(name.to_string()).or_insert((i, own));
    }
    // Cycles, each reported once, at the first artifact of the cycle.
    let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    for start in deps.keys() {
        if let Some(cycle) = cycle_from(start, &deps) {
            let members: BTreeSet<String> = cycle.iter().cloned().collect();
            if cycle.first() != Some(start) || !reported.insert(members) {
                continue;
            }
            let i = deps[start].0;
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("spec.artifacts[{i}].dependsOn")),
                    Severity::Error,
                    format!("dependsOn cycle: {}", cycle.join(" -> ")),
                )
                .with_hint("break the cycle: Flux would wait forever"),
            );
        }
    }
}

/// A dependency cycle through `start`, as the chain from `start` back to it.
fn cycle_from(start: &str, deps: &BTreeMap<String, (usize, Vec<String>)>) -> Option<Vec<String>> {
    fn dfs(
        n: &str,
        start: &str,
        deps: &BTreeMap<String, (usize, Vec<String>)>,
        stack: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for d in deps.get(n).map(|(_, v)| v.as_slice()).unwrap_or_default() {
            if d == start {
                stack.push(d.clone());
                return true;
            }
            if seen.insert(d.clone()) {
                stack.push(d.clone());
                if dfs(d, start, deps, stack, seen) {
                    return true;
                }
                stack.pop();
            }
        }
        false
    }
    let mut stack = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    dfs(start, start, deps, &mut stack, &mut seen).then_some(stack)
}

fn check_chart(
    file: &str,
    pos: &Positions,
    path: &str,
    name: &str,
    chart: &Map,
    findings: &mut Vec<Finding>,
) {
    use crate::model::rules::{self, UrlVerdict};
    if let Some(release) = chart.get("release") {
        for p in crate::model::release::problems(release) {
            let at = if p.path.is_empty() {
                format!("{path}.chart.release")
            } else {
                format!("{path}.chart.release.{}", p.path)
            };
            let shown = at
                .strip_prefix(&format!("{path}."))
                .unwrap_or(&at)
                .to_string();
            findings.push(
                Finding::new(
                    file,
                    pos.line(&at),
                    Severity::Error,
                    format!("artifact {name:?}: {shown}: {}", p.message),
                )
                .with_hint(p.hint),
            );
        }
    }
    if let Some(url) = chart.get("url").and_then(Value::as_str) {
        let line = pos.line(&format!("{path}.chart.url"));
        match rules::chart_url(url) {
            UrlVerdict::Ok => {}
            UrlVerdict::Warn(w) => findings.push(Finding::new(
                file,
                line,
                Severity::Warning,
                format!("artifact {name:?}: {w}"),
            )),
            UrlVerdict::Refuse(why, hint) => findings.push(
                Finding::new(
                    file,
                    line,
                    Severity::Error,
                    format!("artifact {name:?}: {why}"),
                )
                .with_hint(hint),
            ),
        }
    }
    if let Some(v) = chart.get("version") {
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        if !rules::chart_version(&text) {
            findings.push(
                Finding::new(
                    file,
                    pos.line(&format!("{path}.chart.version")),
                    Severity::Error,
                    format!(
                        "artifact {name:?}: chart version {} is neither a version nor a semver range",
                        crate::source::escaped(&text)
                    ),
                )
                .with_hint(rules::CHART_VERSION_HINT),
            );
        }
    }
}

/// Check the parameters; returns every parameter that parsed, by name, and the
/// names of those that did not.
fn check_parameters(
    file: &str,
    pos: &Positions,
    items: &[Map],
    findings: &mut Vec<Finding>,
) -> Params {
    let mut out = Params::default();
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("spec.parameters[{i}]");
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            continue;
        };
        let line = |field: &str| pos.line(&format!("{path}.{field}"));
        out.declared.insert(name.to_string());
        if let Some(j) = first.get(name) {
            findings.push(
                Finding::new(
                    file,
                    line("name"),
                    Severity::Error,
                    format!(
                        "parameter {name:?} is declared twice (first at line {})",
                        pos.line(&format!("spec.parameters[{j}].name"))
                    ),
                )
                .with_hint("parameter names must be unique within a profile"),
            );
            continue;
        }
        first.insert(name.to_string(), i);
        let p = match isolated("parameters", Value::Object(item.clone()))
            .map(|t| model::parse(file, &t, None).map(|(d, _)| d.parameters.into_iter().next()))
        {
            Some(Ok(Some(p))) => p,
            Some(Err(e)) => {
                findings.push(model_finding(file, line("type"), &e));
                continue;
            }
            _ => continue,
        };
        for f in check_parameter(&p) {
            let (field, severity, msg, hint) = f;
            findings.push(Finding::new(file, line(field), severity, msg).with_hint(hint));
        }
        out.valid.insert(name.to_string(), p);
    }
    out
}

#[derive(Default)]
struct Params {
    declared: BTreeSet<String>,
    valid: BTreeMap<String, Parameter>,
}

/// What is wrong with one parameter on its own: (field, severity, message, hint).
fn check_parameter(p: &Parameter) -> Vec<(&'static str, Severity, String, String)> {
    let mut out = Vec::new();
    let name = &p.name;
    let mut push =
        |field, sev, msg: String, hint: &str| out.push((field, sev, msg, hint.to_string()));
    if name.contains('.') {
        push(
            "name",
            Severity::Error,
            format!(
                "parameter name {name:?} contains '.', which separates PROFILE.PARAM and ARTIFACT.PARAM in values"
            ),
            "use letters, digits and '_'",
        );
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        push(
            "name",
            Severity::Warning,
            format!(
                "parameter name {name:?} is not a template identifier: templates must write params[\"{name}\"]"
            ),
            "use letters, digits and '_' so templates can write params.NAME",
        );
    }
    let numeric = matches!(p.kind, ParamType::Integer | ParamType::Number);
    let textual = matches!(p.kind, ParamType::String | ParamType::Secret);
    if p.multiline && !matches!(p.kind, ParamType::String | ParamType::Object) {
        push(
            "multiline",
            Severity::Warning,
            format!("parameter {name:?}: `multiline` applies only to string and object parameters"),
            "remove `multiline` (secrets may always span lines)",
        );
    }
    if p.kind == ParamType::Enum && p.allowed.is_empty() {
        push(
            "type",
            Severity::Error,
            format!("parameter {name:?} is an enum without `enum` values"),
            "list the allowed values: enum: [small, large]",
        );
    }
    if p.kind != ParamType::Enum && !p.allowed.is_empty() {
        push(
            "enum",
            Severity::Warning,
            format!(
                "parameter {name:?}: `enum` is ignored for type {}",
                p.kind.as_str()
            ),
            "set `type: enum` to restrict the values",
        );
    }
    if let Some(pattern) = &p.pattern {
        if let Err(e) = regex::Regex::new(pattern) {
            push(
                "pattern",
                Severity::Error,
                format!(
                    "parameter {name:?}: pattern {pattern:?} is not a valid regular expression: {e}"
                ),
                "",
            );
        } else if !textual {
            push(
                "pattern",
                Severity::Warning,
                format!(
                    "parameter {name:?}: `pattern` is ignored for type {}",
                    p.kind.as_str()
                ),
                "patterns apply to string and secret parameters",
            );
        }
    }
    for (field, v) in [("minimum", p.minimum), ("maximum", p.maximum)] {
        if v.is_some() && !numeric {
            push(
                field,
                Severity::Warning,
                format!(
                    "parameter {name:?}: `{field}` is ignored for type {}",
                    p.kind.as_str()
                ),
                "minimum and maximum apply to integer and number parameters",
            );
        }
    }
    if let (Some(min), Some(max)) = (p.minimum, p.maximum)
        && min > max
    {
        push(
            "minimum",
            Severity::Error,
            format!("parameter {name:?}: minimum {min} is above maximum {max}"),
            "no value could satisfy both",
        );
    }
    if let Some(d) = &p.default {
        if let Err(e) = crate::values::coerce(p, &crate::values::from_profile(p, d)) {
            push(
                "default",
                Severity::Error,
                format!("parameter {name:?}: default {e}"),
                "give a default of the declared type that meets its constraints",
            );
        }
        if p.required {
            push(
                "required",
                Severity::Warning,
                format!("parameter {name:?} is required but has a default, so it is never missing"),
                "drop `required` or the default",
            );
        }
        if p.kind == ParamType::Secret {
            push(
                "default",
                Severity::Warning,
                format!(
                    "secret parameter {name:?} has a default, which sits in plaintext in profile.yaml"
                ),
                "remove the default: secrets come from --set-file, --set-env or a values file",
            );
        }
    }
    out
}

fn check_presets(
    file: &str,
    pos: &Positions,
    presets: &Map,
    params: &Params,
    findings: &mut Vec<Finding>,
) {
    let declared: Vec<&str> = params.declared.iter().map(String::as_str).collect();
    for (preset, set) in presets {
        let Some(set) = set.as_object() else { continue };
        for (k, v) in set {
            let line = pos.line(&format!("spec.presets.{preset}.{k}"));
            if !params.declared.contains(k) {
                let hint = if declared.is_empty() {
                    "this profile declares no parameters".to_string()
                } else {
                    model::field_hint(k, &declared).replace("Allowed:", "Parameters:")
                };
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Error,
                        format!(
                            "preset {preset:?} sets {k:?}, which is not a parameter of this profile"
                        ),
                    )
                    .with_hint(hint),
                );
                continue;
            }
            let Some(p) = params.valid.get(k) else {
                continue;
            };
            if let Err(e) = crate::values::coerce(p, &crate::values::from_profile(p, v)) {
                findings.push(Finding::new(
                    file,
                    line,
                    Severity::Error,
                    format!("preset {preset:?} sets parameter {k:?}: {e}"),
                ));
            }
            if p.kind == ParamType::Secret {
                findings.push(
                    Finding::new(
                        file,
                        line,
                        Severity::Warning,
                        format!("preset {preset:?} sets secret parameter {k:?} in plaintext in profile.yaml"),
                    )
                    .with_hint("secrets come from --set-file, --set-env or a values file"),
                );
            }
        }
    }
}

/// The legacy schema: read by the model (first error only), with its warning.
fn legacy(file: &str, text: &str, dir_name: Option<&str>, out: &mut Checked) {
    match model::parse(file, text, dir_name) {
        Ok((def, warnings)) => {
            for w in warnings {
                let msg = w
                    .strip_prefix(&format!("{file}: "))
                    .unwrap_or(&w)
                    .to_string();
                out.findings.push(
                    Finding::new(file, out.positions.line("apiVersion"), Severity::Warning, msg)
                        .with_hint(format!(
                            "convert it: `apiVersion: {}`, `kind: {}`, artifacts with `chart`, `kustomize` or `profile`",
                            model::API_VERSION,
                            model::KIND
                        )),
                );
            }
            out.def = Some(def);
        }
        Err(e) => {
            let (top, _, _) = crate::error::describe(&e);
            // An error about one artifact is placed at that artifact's name.
            let artifact_at = || {
                let name = artifact_in_message(&top)?;
                let doc: crate::yaml::Value = crate::yaml::from_str(file, text).ok()?;
                let i = doc
                    .pointer("/spec/artifacts")?
                    .as_array()?
                    .iter()
                    .position(|a| a.get("name").and_then(|n| n.as_str()) == Some(name.as_str()))?;
                Some(out.positions.line(&format!("spec.artifacts[{i}].name")))
            };
            let line = line_in_message(&top).or_else(artifact_at).unwrap_or(1);
            out.findings.push(model_finding(file, line, &e));
        }
    }
}

// ---------------------------------------------------------------- locating later findings

/// The line to report an error about artifact `name` of the root profile at: the
/// artifact's name, else `spec.artifacts`.
pub fn artifact_line(pos: &Positions, def: &ProfileDefinition, name: &str) -> usize {
    match def.artifacts.iter().position(|a| a.name == name) {
        Some(i) => pos.line(&format!("spec.artifacts[{i}].name")),
        None => pos.line("spec.artifacts"),
    }
}

/// The first `artifact "NAME"` a message names.
pub fn artifact_in_message(msg: &str) -> Option<String> {
    let rest = &msg[msg.find("artifact \"")? + 10..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The `(line N)` a template error ends with.
pub fn template_line(msg: &str) -> Option<usize> {
    let rest = &msg[msg.rfind("(line ")? + 6..];
    rest[..rest.find(')')?].parse().ok()
}

#[cfg(test)]
mod tests;
