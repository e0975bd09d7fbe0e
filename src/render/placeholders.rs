//! Placeholder values that let `pctl lint` and `pctl diff` render a profile nobody
//! gave values for: one per required parameter without a default, each fitting its
//! own constraints and those of the nested parameters it is bound to.
use super::join_path;
use crate::model::resolved::{Resolved, ResolvedKind};

/// Values for the required parameters of the tree that have no default, as the
/// lowest level but defaults (`global`, detail [`crate::values::PLACEHOLDER`]), so that
/// `pctl lint` and `pctl diff` can render a profile nobody gave values for. A value
/// given at any level, or a parent's `with` binding, still wins. Parameters for which
/// no placeholder fits (a pattern none matches) get none.
fn base_values(root: &Resolved) -> Vec<crate::values::Given> {
    fn walk(p: &Resolved, path: &str, out: &mut Vec<crate::values::Given>) {
        for x in &p.def.parameters {
            if !x.required || x.default.is_some() {
                continue;
            }
            let Some(v) = crate::values::placeholder(x) else {
                continue;
            };
            let key = if path.is_empty() {
                format!("{}.{}", p.def.name, x.name)
            } else {
                format!("{path}.{}", x.name)
            };
            out.push(crate::values::Given {
                key,
                value: crate::values::Raw::Typed(v),
                origin: crate::values::Origin::new(
                    crate::values::Level::Global,
                    crate::values::PLACEHOLDER,
                ),
                secret_ok: true,
                group: usize::MAX,
            });
        }
        for a in &p.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                walk(profile, &join_path(path, &a.name), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, "", &mut out);
    out
}

/// The placeholders for required parameters without a default , each chosen to also satisfy the parameters
/// of nested profiles its value flows into through `with` bindings: a parent's
/// unconstrained `email` bound to a child's `email` with a pattern gets a
/// placeholder the child accepts, since every real value the child accepts would
/// install.
pub fn placeholder_values(root: &Resolved) -> Vec<crate::values::Given> {
    use crate::model::Parameter;
    use crate::values::Raw;
    /// The parameters that parameter `name` of `p` is passed on to, at any depth.
    fn downstream<'a>(p: &'a Resolved, name: &str, out: &mut Vec<&'a Parameter>) {
        for a in &p.artifacts {
            let ResolvedKind::Profile { profile, with } = &a.kind else {
                continue;
            };
            for (k, v) in with {
                if v.as_str().and_then(bound_parameter).as_deref() != Some(name) {
                    continue;
                }
                if let Some(child) = profile.def.parameters.iter().find(|c| &c.name == k) {
                    out.push(child);
                    downstream(profile, k, out);
                }
            }
        }
    }
    /// Each parameter of the tree by its command-line key (as `placeholder_values`
    /// names them), with the parameters its value flows into.
    fn walk<'a>(
        p: &'a Resolved,
        path: &str,
        out: &mut std::collections::BTreeMap<String, (&'a Parameter, Vec<&'a Parameter>)>,
    ) {
        for x in &p.def.parameters {
            let key = match path {
                "" => format!("{}.{}", p.def.name, x.name),
                _ => format!("{path}.{}", x.name),
            };
            let mut down = Vec::new();
            downstream(p, &x.name, &mut down);
            out.insert(key, (x, down));
        }
        for a in &p.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                let child = match path {
                    "" => a.name.clone(),
                    _ => format!("{path}.{}", a.name),
                };
                walk(profile, &child, out);
            }
        }
    }
    let mut params = std::collections::BTreeMap::new();
    walk(root, "", &mut params);
    let mut out = base_values(root);
    for given in &mut out {
        if let Some((p, down)) = params.get(&given.key)
            && !down.is_empty()
            && let Some(v) = crate::values::placeholder_for(p, down)
        {
            given.value = Raw::Typed(v);
        }
    }
    out
}

/// The parameter a `with` binding passes on whole: `{{ params.NAME }}` (or
/// `params["NAME"]`), nothing else in the text.
fn bound_parameter(text: &str) -> Option<String> {
    let inner = text
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim_matches(|c: char| c == '-' || c.is_whitespace());
    let name = match inner.strip_prefix("params.") {
        Some(n) => n,
        None => inner
            .strip_prefix("params[")?
            .strip_suffix(']')?
            .trim_matches(|c| c == '"' || c == '\''),
    };
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| name.to_string())
}
