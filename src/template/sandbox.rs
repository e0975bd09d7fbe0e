//! The template sandbox (docs/security.md#trust-model): which Tera functions and
//! tags a profile's templates may use, checked on the parsed template before it runs,
//! so that a call in a branch not taken is refused too.
use tera::ast::{Expr, ExprVal, FunctionCall, Node};

/// The only functions a template may call: they read nothing but their arguments.
pub const ALLOWED_FUNCTIONS: &[&str] = &["range", "throw"];

/// What a function Tera knows, but pctl does not allow, would read.
pub fn impure_reason(name: &str) -> Option<&'static str> {
    match name {
        "get_env" => Some("reads the environment (where tokens live)"),
        "now" => Some("reads the clock"),
        "get_random" => Some("draws random numbers"),
        _ => None,
    }
}

/// One thing a template may not do, with the text to find its line by.
#[derive(Debug, PartialEq)]
pub struct Breach {
    pub what: String,
    /// A needle to search `{{ }}`/`{% %}` blocks for (a name), to give the line.
    pub needle: String,
    /// The needle must be followed by `(` (a call).
    pub call: bool,
}

/// Every breach of the sandbox in `ast`. `yaml`: the template renders YAML, where
/// outputs the structure check cannot see are refused too (a `~` concatenation or an
/// array literal printed without a filter).
pub fn breaches(ast: &[Node], yaml: bool, context: &tera::Value) -> Vec<Breach> {
    let mut w = Walker {
        out: Vec::new(),
        yaml,
        context,
    };
    w.nodes(ast);
    w.out
}

struct Walker<'c> {
    out: Vec<Breach>,
    yaml: bool,
    context: &'c tera::Value,
}

impl Walker<'_> {
    fn nodes(&mut self, nodes: &[Node]) {
        for n in nodes {
            self.node(n);
        }
    }

    fn node(&mut self, n: &Node) {
        match n {
            Node::VariableBlock(_, e) => {
                if self.yaml && e.filters.is_empty() {
                    match &e.val {
                        ExprVal::StringConcat(_) => self.out.push(Breach {
                            what: "prints a `~` concatenation, whose output pctl cannot check \
                                   in YAML: write `{{ a }}{{ b }}` instead"
                                .into(),
                            needle: "~".into(),
                            call: false,
                        }),
                        ExprVal::Array(_) => self.out.push(Breach {
                            what: "prints an array literal: write it with `| json_encode`".into(),
                            needle: "[".into(),
                            call: false,
                        }),
                        ExprVal::Ident(path) if self.lookup(path).is_some_and(|v| v.is_array()) => {
                            self.out.push(Breach {
                                what: format!(
                                    "prints the list {path} as Tera's text, which pctl cannot check in YAML: write `{{{{ {path} | json_encode }}}}`"
                                ),
                                needle: path.clone(),
                                call: false,
                            })
                        }
                        _ => {}
                    }
                }
                if self.yaml && e.is_marked_safe() {
                    self.out.push(Breach {
                        what: "prints with the `safe` filter, which would skip the check that values do not change the YAML: remove `| safe`".into(),
                        needle: "safe".into(),
                        call: false,
                    });
                }
                self.expr(e);
            }
            Node::MacroDefinition(_, m, _) => {
                for e in m.args.values().flatten() {
                    self.expr(e);
                }
                self.nodes(&m.body);
            }
            Node::Extends(_, name) => self.tag("extends", name),
            Node::Include(_, names, _) => {
                self.tag("include", names.first().map_or("", String::as_str))
            }
            Node::ImportMacro(_, name, _) => self.tag("import", name),
            Node::Set(_, s) => self.expr(&s.value),
            Node::FilterSection(_, f, _) => {
                self.call(&f.filter, false);
                self.nodes(&f.body);
            }
            Node::Block(_, b, _) => self.nodes(&b.body),
            Node::Forloop(_, f, _) => {
                self.expr(&f.container);
                self.nodes(&f.body);
                if let Some(b) = &f.empty_body {
                    self.nodes(b);
                }
            }
            Node::If(i, _) => {
                for (_, e, body) in &i.conditions {
                    self.expr(e);
                    self.nodes(body);
                }
                if let Some((_, body)) = &i.otherwise {
                    self.nodes(body);
                }
            }
            Node::Super
            | Node::Text(_)
            | Node::Raw(..)
            | Node::Break(_)
            | Node::Continue(_)
            | Node::Comment(..) => {}
        }
    }

    /// The context value at a dotted path (`params.o.list`), when there is one.
    fn lookup(&self, path: &str) -> Option<&tera::Value> {
        path.split('.').try_fold(self.context, |v, k| v.get(k))
    }

    fn tag(&mut self, tag: &str, name: &str) {
        self.out.push(Breach {
            what: format!(
                "uses `{{% {tag} {name:?} %}}`: a template of a profile is one file and cannot {tag} another"
            ),
            needle: tag.into(),
            call: false,
        });
    }

    fn expr(&mut self, e: &Expr) {
        self.val(&e.val);
        for f in &e.filters {
            self.call(f, false);
        }
    }

    fn call(&mut self, f: &FunctionCall, function: bool) {
        if function && !ALLOWED_FUNCTIONS.contains(&f.name.as_str()) {
            let what = match impure_reason(&f.name) {
                Some(reason) => format!("calls {}(), which {reason}", f.name),
                None => format!(
                    "calls {}(), which is not a function pctl templates provide",
                    f.name
                ),
            };
            self.out.push(Breach {
                what,
                needle: f.name.clone(),
                call: true,
            });
        }
        for a in f.args.values() {
            self.expr(a);
        }
    }

    fn val(&mut self, v: &ExprVal) {
        match v {
            ExprVal::Math(m) => {
                self.expr(&m.lhs);
                self.expr(&m.rhs);
            }
            ExprVal::Logic(l) => {
                self.expr(&l.lhs);
                self.expr(&l.rhs);
            }
            ExprVal::Test(t) => {
                for a in &t.args {
                    self.expr(a);
                }
            }
            ExprVal::MacroCall(m) => {
                for a in m.args.values() {
                    self.expr(a);
                }
            }
            ExprVal::FunctionCall(f) => self.call(f, true),
            ExprVal::Array(items) => {
                for i in items {
                    self.expr(i);
                }
            }
            ExprVal::StringConcat(c) => {
                for x in &c.values {
                    self.val(x);
                }
            }
            ExprVal::In(i) => {
                self.expr(&i.lhs);
                self.expr(&i.rhs);
            }
            ExprVal::String(_)
            | ExprVal::Int(_)
            | ExprVal::Float(_)
            | ExprVal::Bool(_)
            | ExprVal::Ident(_) => {}
        }
    }
}

/// A Tera function standing in for one pctl does not allow: should the static check
/// ever miss a call, running it still reads nothing.
pub fn refuse(
    name: &'static str,
) -> impl Fn(&std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    move |_| {
        Err(tera::Error::msg(format!(
            "{name}() is not available in pctl templates"
        )))
    }
}

/// The most items one call of `range` may make in a pctl template: an upstream
/// profile must not make pctl allocate gigabytes (`range(end=1000000000)`).
pub const MAX_RANGE: usize = 10_000;
/// The most bytes one template may render to (nested loops multiply output).
pub const MAX_OUTPUT: usize = 16 << 20;

/// Tera's `range(start=0, end, step_by=1)`, refusing more than [`MAX_RANGE`] items.
pub fn bounded_range(
    args: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let number = |key: &str, default: Option<u64>| -> tera::Result<u64> {
        match args.get(key) {
            Some(v) => v.as_u64().ok_or_else(|| {
                tera::Error::msg(format!("range() takes a whole number for `{key}`, not {v}"))
            }),
            None => default.ok_or_else(|| tera::Error::msg(format!("range() needs `{key}`"))),
        }
    };
    let start = number("start", Some(0))?;
    let end = number("end", None)?;
    let step = number("step_by", Some(1))?;
    if step == 0 {
        return Err(tera::Error::msg("range() needs a step_by above 0"));
    }
    let count = end.saturating_sub(start).div_ceil(step);
    if count > MAX_RANGE as u64 {
        return Err(tera::Error::msg(format!(
            "range() would make {count} items, over the limit of {MAX_RANGE} in pctl templates"
        )));
    }
    let items: Vec<tera::Value> = (start..end)
        .step_by(step as usize)
        .map(tera::Value::from)
        .collect();
    Ok(tera::Value::Array(items))
}

/// A rendering buffer that refuses to grow past [`MAX_OUTPUT`] bytes.
#[derive(Default)]
pub struct Capped(pub Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            return Err(std::io::Error::other(format!(
                "the rendering grows past {} MiB, the limit of one pctl template",
                MAX_OUTPUT >> 20
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, yaml: bool) -> Vec<String> {
        let t = tera::Template::new("t", None, text).unwrap();
        let ctx = serde_json::json!({"params": {"o": {"l": ["a"], "s": "b"}}});
        breaches(&t.ast, yaml, &ctx)
            .into_iter()
            .map(|b| b.needle)
            .collect()
    }

    #[test]
    fn range_is_bounded_and_otherwise_tera_s() {
        let args = |pairs: &[(&str, u64)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), tera::Value::from(*v)))
                .collect::<std::collections::HashMap<_, _>>()
        };
        assert_eq!(
            bounded_range(&args(&[("end", 5)])).unwrap(),
            serde_json::json!([0, 1, 2, 3, 4])
        );
        assert_eq!(
            bounded_range(&args(&[("start", 2), ("end", 9), ("step_by", 3)])).unwrap(),
            serde_json::json!([2, 5, 8])
        );
        assert_eq!(
            bounded_range(&args(&[("start", 5), ("end", 2)])).unwrap(),
            serde_json::json!([])
        );
        let err = bounded_range(&args(&[("end", 1_000_000_000)])).unwrap_err();
        assert!(err.to_string().contains("over the limit of 10000"), "{err}");
        assert!(bounded_range(&args(&[("end", 3), ("step_by", 0)])).is_err());
    }

    #[test]
    fn impure_calls_are_found_everywhere() {
        assert_eq!(found("{{ get_env(name='X') }}", false), ["get_env"]);
        assert_eq!(
            found("{% if false %}{{ now() }}{% endif %}", false),
            ["now"]
        );
        assert_eq!(
            found(
                "{% for i in range(end=get_random(end=3)) %}{% endfor %}",
                false
            ),
            ["get_random"]
        );
        assert_eq!(found("{% set x = get_env(name='X') %}", false), ["get_env"]);
        assert_eq!(
            found("{{ params.a | default(value=get_env(name='X')) }}", false),
            ["get_env"]
        );
        assert_eq!(
            found(
                "{% macro m(a=1) %}{{ now() }}{{ read_file(p='x') }}{% endmacro m %}",
                false
            ),
            ["now", "read_file"]
        );
        assert_eq!(
            found("{% if get_env(name='X') == 'a' %}{% endif %}", false),
            ["get_env"]
        );
        assert!(
            found(
                "{{ range(end=3) | join(sep=',') }}{{ params.a | upper }}",
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn includes_and_unchecked_outputs_are_found() {
        assert_eq!(found("{% include 'x' %}", false), ["include"]);
        assert_eq!(found("{{ 'a' ~ params.b }}", true), ["~"]);
        assert!(found("{{ 'a' ~ params.b }}", false).is_empty());
        assert!(found("{{ 'a' ~ params.b | upper }}", true).is_empty());
        assert_eq!(found("{{ [params.b] }}", true), ["["]);
        assert_eq!(found("{{ params.o.l }}", true), ["params.o.l"]);
        assert!(found("{{ params.o.s }}{{ params.o.l | json_encode }}", true).is_empty());
        assert_eq!(found("{{ params.o.s | safe }}", true), ["safe"]);
    }
}
