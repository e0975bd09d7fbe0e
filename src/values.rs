//! Parameter values (docs/guide.md#parameters-and-values): the values given at every
//! precedence level, matched to the parameters of each profile in a tree, coerced to
//! their declared types and checked against their constraints, with the level each
//! final value came from. Pure: reading files and the environment happens in the
//! callers.
use crate::model::{ParamType, Parameter, ProfileDefinition};
use crate::yaml::{self, Map, Value};
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

mod files;
mod typed;
pub use files::*;
pub use typed::*;

/// Where a value came from, highest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Flag,
    File,
    Recorded,
    Preset,
    Binding,
    ValuesProfile,
    /// `.pctl/values/clusters/<cluster>.yaml` of a fleet (docs/fleets.md).
    Cluster,
    Global,
    Default,
}

impl Level {
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Flag => "flag",
            Level::File => "values-file",
            Level::Recorded => "recorded",
            Level::Preset => "preset",
            Level::Binding => "binding",
            Level::ValuesProfile => "values-profile",
            Level::Cluster => "cluster",
            Level::Global => "global",
            Level::Default => "default",
        }
    }
}

/// The level and a precise description (flag, file and line, value profile …).
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub level: Level,
    pub detail: String,
    /// For a recorded value: the label it was recorded with, kept when it is
    /// recorded again (upgrade and sync do not turn `flag` into `recorded`).
    pub recorded_as: Option<String>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl Origin {
    pub fn new(level: Level, detail: impl Into<String>) -> Self {
        Origin {
            level,
            detail: detail.into(),
            recorded_as: None,
        }
    }

    /// A value read back from an installation record, where it had `label`.
    pub fn recorded(detail: impl Into<String>, label: &str) -> Self {
        Origin {
            recorded_as: Some(label.to_string()),
            ..Origin::new(Level::Recorded, detail)
        }
    }

    /// The short label kept in the installation record (no machine-specific paths).
    pub fn record_label(&self) -> String {
        if let Some(label) = &self.recorded_as {
            return label.clone();
        }
        match self.level {
            // "--preset NAME" and "values profile NAME (…)": keep the name.
            Level::Preset => format!(
                "preset:{}",
                self.detail.split_whitespace().nth(1).unwrap_or_default()
            ),
            Level::ValuesProfile => format!(
                "values-profile:{}",
                self.detail.split_whitespace().nth(2).unwrap_or_default()
            ),
            // "cluster NAME (…)": keep the name.
            Level::Cluster => format!(
                "cluster:{}",
                self.detail.split_whitespace().nth(1).unwrap_or_default()
            ),
            _ => self.level.as_str().to_string(),
        }
    }
}

/// The stand-in for a secret kept from an installation on upgrade and sync: pctl
/// cannot decrypt the value it wrote, so it renders this instead and keeps the
/// encrypted file it wrote before (see `ops::upgrade`). Never written anywhere.
pub const KEPT_SECRET: &str = "PCTL-KEPT-SECRET-7f3a";

/// The stand-in for the kept secret `key`: `KEPT_SECRET[key]`.
pub fn kept_secret(key: &str) -> String {
    format!("{KEPT_SECRET}[{key}]")
}

/// Whether a given value is a kept secret's stand-in.
pub fn is_kept_secret(raw: &Raw) -> bool {
    matches!(raw, Raw::String(s) if s.starts_with(KEPT_SECRET))
}

/// The keys of the kept secrets whose stand-ins appear in `text`.
pub fn kept_secrets_in(text: &str) -> BTreeSet<String> {
    text.match_indices(KEPT_SECRET)
        .filter_map(|(i, _)| {
            let rest = text[i + KEPT_SECRET.len()..].strip_prefix('[')?;
            rest.find(']').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// A value as given.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// Text from the command line, coerced to the declared type (`--set`, `--set-file`, `--set-env`).
    Text(String),
    /// Text that must stay a string (`--set-string`).
    String(String),
    /// A typed YAML value (values files, presets, bindings, records).
    Typed(Value),
}

/// One value given for a key at some level.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    /// `param`, `profile.param`, `artifact.param` (nested: `a.b.param`), or a profile
    /// or artifact name whose value is a mapping of parameters.
    pub key: String,
    pub value: Raw,
    pub origin: Origin,
    /// May carry a secret (not `--set`/`--set-string`).
    pub secret_ok: bool,
    /// Values with the same group come from one file; within a group a specific key
    /// (`profile.param`) beats a bare one (`param`).
    pub group: usize,
}

/// Everything the user gave, before it is matched to profiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// Command-line flags in command-line order (a later one wins).
    pub flags: Vec<Given>,
    /// `-f` files in order (a later file wins).
    pub files: Vec<Given>,
    /// Values recorded in the installation (upgrade and re-render).
    pub recorded: Vec<Given>,
    pub preset: Option<String>,
    /// Value profiles in the order named (an earlier one wins).
    pub values_profiles: Vec<Given>,
    pub values_profile_names: Vec<String>,
    /// `.pctl/values/clusters/<cluster>.yaml`, for an installation in a fleet's cluster.
    pub cluster: Vec<Given>,
    /// `.pctl/values/global.yaml`.
    pub global: Vec<Given>,
    /// Secret parameters (keys as on the command line) read from a Secret the user
    /// creates (`--secret-ref`): they need no value.
    pub secret_refs: BTreeSet<String>,
}

/// A profile in the tree whose parameters are being resolved.
pub struct Scope<'a> {
    pub def: &'a ProfileDefinition,
    /// Artifact path of a nested profile (`ingress`, `ingress.tls`); "" for the root.
    pub path: &'a str,
    /// The parent's `with` binding, already rendered.
    pub binding: Option<&'a Map>,
}

/// The final values of one profile's parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamValues {
    /// Every parameter that has a value, typed (secrets included, for rendering).
    pub values: Map,
    pub origins: BTreeMap<String, Origin>,
    /// Names of the secret parameters.
    pub secrets: BTreeSet<String>,
}

/// How specifically a key names a parameter of a scope: 2 = `profile.param` or
/// `artifact-path.param` (or nested mapping), 1 = bare `param`, None = no match.
fn match_key(
    scope: &Scope,
    g: &Given,
    param: &str,
    bare_allowed: bool,
) -> Option<(u8, Raw, Origin)> {
    let names: Vec<String> = {
        let mut v = vec![scope.def.name.clone()];
        if !scope.path.is_empty() {
            v.push(scope.path.to_string());
        }
        v
    };
    for n in &names {
        if g.key == format!("{n}.{param}") {
            return Some((2, g.value.clone(), g.origin.clone()));
        }
        if &g.key == n
            && let Raw::Typed(Value::Object(m)) = &g.value
            && let Some(v) = m.get(param)
        {
            let mut origin = g.origin.clone();
            origin.detail = format!("{} ({n}.{param})", origin.detail);
            return Some((2, Raw::Typed(v.clone()), origin));
        }
    }
    if bare_allowed && g.key == param {
        return Some((1, g.value.clone(), g.origin.clone()));
    }
    None
}

/// The winning value among `givens` for `param`: groups are searched in the order
/// given by `later_wins`; within a group a specific key beats a bare one.
fn pick(
    scope: &Scope,
    givens: &[Given],
    param: &str,
    bare_allowed: bool,
    later_wins: bool,
) -> Option<(Raw, Origin, bool)> {
    let mut groups: Vec<usize> = Vec::new();
    for g in givens {
        if !groups.contains(&g.group) {
            groups.push(g.group);
        }
    }
    if later_wins {
        groups.reverse();
    }
    for group in groups {
        let mut best: Option<(u8, Raw, Origin, bool)> = None;
        for g in givens.iter().filter(|g| g.group == group) {
            if let Some((rank, raw, origin)) = match_key(scope, g, param, bare_allowed) {
                // Within a group the later of two equally specific keys wins.
                if best.as_ref().is_none_or(|b| rank >= b.0) {
                    best = Some((rank, raw, origin, g.secret_ok));
                }
            }
        }
        if let Some((_, raw, origin, ok)) = best {
            return Some((raw, origin, ok));
        }
    }
    None
}

/// Resolve the parameters of one profile of the tree. Reports every problem at once.
pub fn resolve(scope: &Scope, inputs: &Inputs) -> Result<ParamValues> {
    resolve_with(scope, inputs, false)
}

/// As [`resolve`], but a missing required parameter is left unset instead of being an
/// error (for `--explain` and `show`, which report it as missing).
pub fn resolve_allow_missing(scope: &Scope, inputs: &Inputs) -> Result<ParamValues> {
    resolve_with(scope, inputs, true)
}

fn resolve_with(scope: &Scope, inputs: &Inputs, allow_missing: bool) -> Result<ParamValues> {
    let def = scope.def;
    let root = scope.path.is_empty();
    let mut out = ParamValues::default();
    let mut problems: Vec<String> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    let preset = match (&inputs.preset, root) {
        (Some(name), true) => match def.presets.get(name) {
            Some(m) => Some((name.clone(), m.clone())),
            None => {
                let names: Vec<&str> = def.presets.keys().map(String::as_str).collect();
                bail!(crate::error::user(
                    format!(
                        "--preset {name:?}: profile {:?} has no such preset",
                        def.name
                    ),
                    if names.is_empty() {
                        "this profile defines no presets".to_string()
                    } else {
                        format!("presets: {}", names.join(", "))
                    },
                ));
            }
        },
        _ => None,
    };
    if let Some((name, m)) = &preset {
        for k in m.keys() {
            if !def.parameters.iter().any(|p| &p.name == k) {
                problems.push(format!(
                    "preset {name:?} sets {k:?}, which profile {:?} does not declare",
                    def.name
                ));
            }
        }
    }
    for p in &def.parameters {
        if p.kind == ParamType::Secret {
            out.secrets.insert(p.name.clone());
        }
        let name = p.name.as_str();
        let found = pick(scope, &inputs.flags, name, root, true)
            .or_else(|| pick(scope, &inputs.files, name, true, true))
            .or_else(|| pick(scope, &inputs.recorded, name, root, true))
            .or_else(|| {
                preset.as_ref().and_then(|(pname, m)| {
                    m.get(name).map(|v| {
                        (
                            from_profile(p, v),
                            Origin::new(Level::Preset, format!("--preset {pname}")),
                            true,
                        )
                    })
                })
            })
            .or_else(|| {
                // A binding rendered by Tera is text: coerce it like a command-line value.
                scope.binding.and_then(|b| b.get(name)).map(|v| {
                    (
                        match v {
                            Value::String(s) => Raw::Text(s.clone()),
                            other => Raw::Typed(other.clone()),
                        },
                        Origin::new(
                            Level::Binding,
                            format!("`with` of the parent profile (artifact {})", scope.path),
                        ),
                        true,
                    )
                })
            })
            .or_else(|| pick(scope, &inputs.values_profiles, name, true, false))
            .or_else(|| pick(scope, &inputs.cluster, name, true, false))
            .or_else(|| pick(scope, &inputs.global, name, true, false))
            .or_else(|| {
                p.default.as_ref().map(|d| {
                    (
                        from_profile(p, d),
                        Origin::new(Level::Default, "default"),
                        true,
                    )
                })
            });
        let Some((raw, origin, secret_ok)) = found else {
            let key = if root {
                name.to_string()
            } else {
                format!("{}.{name}", scope.path)
            };
            if p.required
                && !allow_missing
                && !(p.kind == ParamType::Secret && inputs.secret_refs.contains(&key))
            {
                missing.push(name);
            }
            continue;
        };
        let shown = if root {
            name.to_string()
        } else {
            format!("{}.{name}", scope.path)
        };
        if p.kind == ParamType::Secret && !secret_ok {
            problems.push(format!(
                "parameter {shown} is a secret and cannot be set with {} (it would show in process lists and shell history)",
                origin.detail.split_whitespace().next().unwrap_or("--set")
            ));
            continue;
        }
        let kept =
            p.kind == ParamType::Secret && origin.level == Level::Recorded && is_kept_secret(&raw);
        match if kept {
            Ok(Value::String(match &raw {
                Raw::String(s) => s.clone(),
                _ => KEPT_SECRET.to_string(),
            }))
        } else {
            coerce(p, &raw)
        } {
            Ok(v) => {
                out.values.insert(p.name.clone(), v);
                out.origins.insert(p.name.clone(), origin);
            }
            Err(e) => problems.push(format!("parameter {shown} from {origin}: {e}")),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .map(|m| {
                if root {
                    m.to_string()
                } else {
                    format!("{}.{m}", scope.path)
                }
            })
            .collect();
        problems.push(format!(
            "profile {:?} needs a value for required parameter(s): {}",
            def.name,
            shown.join(", ")
        ));
    }
    if !problems.is_empty() {
        let secret_hint = problems.iter().any(|p| p.contains("is a secret"));
        let missing_secret = missing.iter().any(|m| {
            def.parameters
                .iter()
                .any(|p| p.name == *m && p.kind == ParamType::Secret)
        });
        let hint = if secret_hint {
            "pass secrets with --set-file NAME=PATH, --set-env NAME=VAR or a values file (-f)"
        } else if missing_secret {
            "set them with --set NAME=VALUE or -f values.yaml; secrets with --set-file NAME=PATH, --set-env NAME=VAR, a values file, or --secret-ref NAME=SECRET/KEY"
        } else if !missing.is_empty() {
            "set them with --set NAME=VALUE or -f values.yaml"
        } else {
            "fix the values named above"
        };
        bail!(crate::error::user(problems.join("\n  "), hint));
    }
    Ok(out)
}

/// A profile of the tree and the parameters it declares, for the unknown-key check.
pub struct Declared {
    pub profile: String,
    pub path: String,
    pub params: BTreeSet<String>,
}

/// Keys that name no parameter of any profile in the tree are errors naming their
/// source. Command-line and recorded bare keys name the root profile only. In the
/// shared files (value profiles, the cluster's file, `global.yaml`) only keys
/// addressed to a profile of the tree (`profile.param`) are checked: the others are
/// meant for other profiles.
pub fn check_unknown(inputs: &Inputs, tree: &[Declared]) -> Result<()> {
    let mut problems = Vec::new();
    let known = |g: &Given, bare_root_only: bool| -> bool {
        tree.iter().any(|d| {
            let root = d.path.is_empty();
            let names: Vec<&str> = if root { vec![d.profile.as_str()] } else { vec![d.profile.as_str(), d.path.as_str()] };
            if d.params.contains(&g.key) && (root || !bare_root_only) {
                return true;
            }
            names.iter().any(|n| {
                g.key
                    .strip_prefix(&format!("{n}."))
                    .is_some_and(|p| d.params.contains(p))
                    || (g.key == *n && matches!(&g.value, Raw::Typed(Value::Object(m)) if m.keys().all(|k| d.params.contains(k))))
            })
        })
    };
    for g in inputs.flags.iter().chain(inputs.recorded.iter()) {
        if !known(g, true) {
            problems.push(format!("unknown parameter {:?} from {}", g.key, g.origin));
        }
    }
    for g in &inputs.files {
        if !known(g, false) {
            problems.push(format!("unknown parameter {:?} from {}", g.key, g.origin));
        }
    }
    // Value profiles, the cluster's file and global.yaml are shared by every
    // installation of the repository: a bare key applies to the profiles that declare
    // it and is nothing to the others, and `other.param` belongs to another profile.
    // Only a key addressed to a profile of this tree must name one of its parameters.
    let addressed_here = |g: &Given| {
        tree.iter().any(|d| {
            let root = d.path.is_empty();
            let names: Vec<&str> = if root {
                vec![d.profile.as_str()]
            } else {
                vec![d.profile.as_str(), d.path.as_str()]
            };
            names
                .iter()
                .any(|n| g.key == *n || g.key.starts_with(&format!("{n}.")))
        })
    };
    for g in inputs
        .values_profiles
        .iter()
        .chain(inputs.cluster.iter())
        .chain(inputs.global.iter())
    {
        if !known(g, false) && addressed_here(g) {
            problems.push(format!("unknown parameter {:?} from {}", g.key, g.origin));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut all: Vec<String> = Vec::new();
    for d in tree {
        for p in &d.params {
            all.push(if d.path.is_empty() {
                p.clone()
            } else {
                format!("{}.{p}", d.path)
            });
        }
    }
    bail!(crate::error::user(
        problems.join("\n  "),
        if all.is_empty() {
            "this profile declares no parameters".to_string()
        } else {
            format!("parameters: {}", all.join(", "))
        },
    ))
}

/// Rows for `--explain` and `show`: NAME, TYPE, VALUE (secrets masked), SOURCE.
pub fn explain(def: &ProfileDefinition, path: &str, pv: &ParamValues) -> Vec<Vec<String>> {
    def.parameters
        .iter()
        .map(|p| {
            let name = if path.is_empty() {
                p.name.clone()
            } else {
                format!("{path}.{}", p.name)
            };
            let (value, source) = match (pv.values.get(&p.name), pv.origins.get(&p.name)) {
                (Some(_), Some(o)) if p.kind == ParamType::Secret => {
                    (MASK.to_string(), o.detail.clone())
                }
                (Some(v), Some(o)) => (
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                    o.detail.clone(),
                ),
                _ => (
                    "".to_string(),
                    if p.required {
                        "missing (required)".into()
                    } else {
                        "unset".into()
                    },
                ),
            };
            vec![name, p.kind.as_str().to_string(), value, source]
        })
        .collect()
}

#[cfg(test)]
mod tests;
