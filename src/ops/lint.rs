//! `pctl lint DIR`: every problem of a profile directory at once — its definition
//! (see `lint`), its paths and nested profiles (resolved leniently, one finding per
//! artifact that cannot be resolved, cycles with their chain), its templates rendered
//! with defaults and with each preset (placeholders for required parameters that
//! satisfy the nested parameters they are bound to), and the Flux objects it would
//! generate (graph check and schema check); when profile.yaml has errors, on the
//! definition without them.
use crate::error::user;
use crate::gitops::GitRepositoryRef;
use crate::lint::{self, Finding, Positions, Severity};
use crate::model::{ArtifactKind, ProfileDefinition};
use crate::ops::Context as OpsContext;
use crate::ops::prepare;
use crate::printer::Format;
use crate::resolve::{self, Resolved, ResolvedKind};
use crate::source::SourceSpec;
use anyhow::{Result, bail};
use serde::Serialize;
use std::path::Path;

pub struct LintOptions {
    pub dir: String,
    pub format: Format,
    /// Warnings fail the lint too.
    pub strict: bool,
}

/// What `pctl lint` prints with `-o json|yaml`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub file: String,
    pub profile: Option<String>,
    pub errors: usize,
    pub warnings: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

/// `--offline` comes from the context.
pub fn run(octx: &OpsContext, opts: LintOptions) -> Result<()> {
    let report = lint(octx, &opts.dir)?;
    let p = octx.printer();
    if !p.structured(opts.format, &report)? {
        p.data(&lint::format(&report.findings));
    }
    let failed = report.errors > 0 || (opts.strict && report.warnings > 0);
    let summary = format!(
        "{}: {} error(s), {} warning(s)",
        report.file, report.errors, report.warnings
    );
    if failed {
        bail!(user(
            format!("lint failed: {summary}"),
            if report.errors > 0 {
                "fix the errors listed above and run pctl lint again"
            } else {
                "--strict fails on warnings too"
            },
        ));
    }
    p.success(&format!("lint passed: {summary}"));
    Ok(())
}

/// Lint the profile directory `dir` (in or outside a Git repository; the work tree is
/// read as it is). Errors only when there is nothing to lint.
/// Nested profiles come through the context's upstreams (`--offline` honoured).
pub fn lint(octx: &OpsContext, dir: &str) -> Result<Report> {
    let shown = match dir.trim_end_matches('/') {
        "" => "/",
        d => d,
    };
    let file = if shown == "/" {
        "/profile.yaml".to_string()
    } else {
        format!("{shown}/profile.yaml")
    };
    let abs = std::fs::canonicalize(dir).map_err(|e| {
        user(
            format!("profile directory {dir} does not exist ({e})"),
            "give the directory that holds profile.yaml",
        )
    })?;
    if !abs.is_dir() {
        bail!(user(
            format!("{dir} is not a directory"),
            "give the directory that holds profile.yaml"
        ));
    }
    let bytes = std::fs::read(abs.join("profile.yaml")).map_err(|e| {
        user(
            format!("cannot read {file}: {e}"),
            "give the directory that holds profile.yaml",
        )
    })?;
    let Ok(text) = String::from_utf8(bytes) else {
        bail!(user(
            format!("{file} is not UTF-8 text"),
            "save it as UTF-8"
        ));
    };
    let at_root = crate::git::discover(&abs)
        .is_some_and(|(root, _)| std::fs::canonicalize(&root).is_ok_and(|r| r == abs));
    let dir_name = if at_root {
        None
    } else {
        abs.file_name().map(|n| n.to_string_lossy().into_owned())
    };
    let checked = lint::check_definition(&file, &text, dir_name.as_deref());
    let mut findings = checked.findings;
    let profile = checked.def.as_ref().map(|d| d.name.clone());
    match &checked.def {
        Some(def) => {
            let ctx = Ctx {
                dir: shown,
                file: &file,
                def,
                pos: &checked.positions,
                partial: checked.partial,
            };
            ctx.deep(&abs, octx, &mut findings)?;
        }
        None => findings.push(Finding::new(
            &file,
            1,
            Severity::Info,
            "paths, nested profiles, templates and generated objects were not checked: fix the errors in profile.yaml first",
        )),
    }
    lint::sort(&mut findings);
    let mut report = Report {
        file,
        profile,
        errors: 0,
        warnings: 0,
        findings,
    };
    report.errors = report.count(Severity::Error);
    report.warnings = report.count(Severity::Warning);
    Ok(report)
}

struct Ctx<'a> {
    /// DIR as the user wrote it (without a trailing '/').
    dir: &'a str,
    file: &'a str,
    def: &'a ProfileDefinition,
    pos: &'a Positions,
    /// `def` is lint's reading of a profile.yaml with errors (those parts left out).
    partial: bool,
}

impl Ctx<'_> {
    fn error(&self, line: usize, msg: impl Into<String>, hint: &[String]) -> Finding {
        Finding::new(self.file, line, Severity::Error, msg).with_hint(hint.join("; "))
    }

    fn artifact_line(&self, name: &str) -> usize {
        lint::artifact_line(self.pos, self.def, name)
    }

    /// The line of what an artifact takes its files from: its path, or its nested
    /// profile's source.
    fn source_line(&self, name: &str) -> usize {
        let Some(i) = self.def.artifacts.iter().position(|a| a.name == name) else {
            return self.pos.line("spec.artifacts");
        };
        let field = match &self.def.artifacts[i].kind {
            ArtifactKind::Kustomize { .. } => "kustomize.path",
            ArtifactKind::Chart { .. } => "chart.path",
            ArtifactKind::Profile { .. } => "profile.source",
        };
        self.pos.line(&format!("spec.artifacts[{i}].{field}"))
    }

    /// Resolve, render and check what the definition alone cannot show.
    fn deep(&self, abs: &Path, octx: &OpsContext, out: &mut Vec<Finding>) -> Result<()> {
        let mut resolver = prepare::Resolve::new(
            octx,
            resolve::Options {
                allow_dirty: true,
                lenient: true,
                worktree: true,
                root_definition: self.partial.then(|| self.def.clone()),
                ..Default::default()
            },
        )?;
        let spec = SourceSpec::Local {
            path: abs.to_string_lossy().into_owned(),
        };
        let resolved = match resolver.tree(&spec) {
            Ok(r) => r,
            Err(e) => {
                let (top, causes, hints) = crate::error::describe(&e);
                let msg = std::iter::once(top).chain(causes).collect::<Vec<_>>();
                out.push(self.error(1, msg.join("; "), &hints));
                return Ok(());
            }
        };
        let root_origin = format!(
            "{}//{}",
            resolved.source.url,
            crate::gitops::join(&resolved.source.path, "profile.yaml")
        );
        let found = resolver.finish();
        for (name, e) in &found.skipped {
            let (top, causes, hints) = crate::error::describe(e);
            let mut msg = strip_origin(&top, &root_origin);
            if !msg.contains(&format!("artifact {name:?}")) {
                msg = format!("artifact {name:?}: {msg}");
            }
            for c in causes {
                let c = strip_origin(&c, &root_origin);
                if !msg.contains(&c) {
                    msg.push_str(&format!("; {c}"));
                }
            }
            out.push(self.error(self.source_line(name), msg, &hints));
        }
        for w in &found.warnings {
            if !w.starts_with(&root_origin) {
                out.push(Finding::new(
                    self.file,
                    self.pos.line("spec.artifacts"),
                    Severity::Warning,
                    format!("in a nested profile: {w}"),
                ));
            }
        }
        self.with_bindings(&resolved, out);
        if !self.partial {
            // Artifacts left out for their errors may be what uses a parameter.
            self.unused_parameters(&resolved, out);
        }
        self.render_all(&resolved, out);
        Ok(())
    }

    /// Every key of a `with` binding must name a parameter of the nested profile.
    fn with_bindings(&self, resolved: &Resolved, out: &mut Vec<Finding>) {
        for (i, a) in resolved.artifacts.iter().enumerate() {
            let ResolvedKind::Profile { profile, with } = &a.kind else {
                continue;
            };
            let declared: Vec<&str> = profile
                .def
                .parameters
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            let index = self
                .def
                .artifacts
                .iter()
                .position(|x| x.name == a.name)
                .unwrap_or(i);
            for k in with.keys() {
                if !declared.contains(&k.as_str()) {
                    let hint = if declared.is_empty() {
                        format!("profile {:?} declares no parameters", profile.def.name)
                    } else {
                        crate::model::field_hint(k, &declared).replace("Allowed:", "Parameters:")
                    };
                    out.push(self.error(
                        self.pos
                            .line(&format!("spec.artifacts[{index}].profile.with.{k}")),
                        format!(
                            "artifact {:?}: `with` binds {k:?}, which profile {:?} does not declare",
                            a.name, profile.def.name
                        ),
                        &[hint],
                    ));
                }
            }
        }
    }

    /// A parameter that no template of the profile mentions is probably a mistake.
    fn unused_parameters(&self, resolved: &Resolved, out: &mut Vec<Finding>) {
        let mut texts: Vec<String> = Vec::new();
        for (a, r) in self.def.artifacts.iter().zip(resolved.artifacts.iter()) {
            if a.name != r.name {
                return; // an artifact was left out: do not guess
            }
            match &a.kind {
                ArtifactKind::Chart { default_values, .. } => {
                    texts.extend(default_values.clone());
                }
                ArtifactKind::Profile { with, .. } => {
                    texts.push(serde_json::Value::Object(with.clone()).to_string());
                }
                ArtifactKind::Kustomize { .. } => {}
            }
            if let (true, ResolvedKind::Kustomize { files }) = (a.template, &r.kind) {
                texts.extend(
                    files
                        .values()
                        .map(|b| String::from_utf8_lossy(b).into_owned()),
                );
            }
        }
        if resolved.artifacts.len() != self.def.artifacts.len()
            || texts.iter().any(|t| {
                t.contains("in params") || t.contains("params[") && !t.contains("params[\"")
            })
        {
            return;
        }
        for (i, p) in self.def.parameters.iter().enumerate() {
            let n = &p.name;
            let used = texts.iter().any(|t| {
                t.contains(&format!("params.{n}"))
                    || t.contains(&format!("params[\"{n}\"]"))
                    || t.contains(&format!("params['{n}']"))
            });
            if !used {
                out.push(
                    Finding::new(
                        self.file,
                        self.pos.line(&format!("spec.parameters[{i}].name")),
                        Severity::Warning,
                        format!("parameter {n:?} is not used by any template of this profile"),
                    )
                    .with_hint(format!(
                        "use it as {{{{ params.{n} }}}} in defaultValues, a `with` binding or a file of a `template: true` artifact, or remove it"
                    )),
                );
            }
        }
    }

    /// Render with defaults and placeholders, then with each preset; check the graph
    /// and the Flux objects of each rendering.
    fn render_all(&self, resolved: &Resolved, out: &mut Vec<Finding>) {
        let name = self.def.name.clone();
        let install_dir = format!("clusters/default/profiles/{name}");
        let git_repository = GitRepositoryRef {
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        };
        let inputs = crate::values::Inputs {
            global: crate::render::placeholder_values(resolved),
            ..Default::default()
        };
        let mut opts = crate::render::Options {
            name,
            namespace: "default".into(),
            install_dir: install_dir.clone(),
            git_repository: git_repository.clone(),
            inputs,
            sops_yaml: Some(crate::sops::throwaway_sops_yaml()),
            secret_refs: Default::default(),
            namespaces: Default::default(),
            flux_objects: None,
        };
        if let Ok(rows) = crate::render::explain(resolved, &opts) {
            for row in rows.iter().filter(|r| r[3] == crate::values::PLACEHOLDER) {
                let (key, kind, value) = (&row[0], &row[1], &row[2]);
                let line = match self.def.parameters.iter().position(|p| &p.name == key) {
                    Some(i) => self.pos.line(&format!("spec.parameters[{i}].name")),
                    None => self.artifact_line(key.split('.').next().unwrap_or_default()),
                };
                let shown = if kind == "secret" {
                    "a placeholder".to_string()
                } else {
                    format!("the placeholder {value:?}")
                };
                out.push(Finding::new(
                    self.file,
                    line,
                    Severity::Info,
                    format!(
                        "required parameter {key} has no default: templates were rendered with {shown}"
                    ),
                ));
            }
        }
        let mut default_errors: Vec<String> = Vec::new();
        let mut presets: Vec<Option<String>> = vec![None];
        presets.extend(self.def.presets.keys().cloned().map(Some));
        for preset in presets {
            opts.inputs.preset = preset.clone();
            let (line, prefix) = match &preset {
                Some(p) => (
                    self.pos.line(&format!("spec.presets.{p}")),
                    format!("with preset {p:?}: "),
                ),
                None => (0, String::new()),
            };
            let (rendered, errors) = render_each(resolved, &opts);
            for e in errors {
                let (top, causes, hints) = crate::error::describe(&e);
                let msg = std::iter::once(top)
                    .chain(causes)
                    .collect::<Vec<_>>()
                    .join("; ");
                if preset.is_some() && default_errors.contains(&msg) {
                    continue;
                }
                let (file, at) = match &preset {
                    Some(_) => (self.file.to_string(), line),
                    None => {
                        default_errors.push(msg.clone());
                        self.locate(&msg)
                    }
                };
                out.push(
                    Finding::new(&file, at, Severity::Error, format!("{prefix}{msg}"))
                        .with_hint(hints.join("; ")),
                );
            }
            let Some(rendered) = rendered else { continue };
            let at = |leaf_line: usize| if preset.is_some() { line } else { leaf_line };
            if let Err(e) = prepare::check(&rendered, &install_dir, &git_repository.name) {
                out.push(self.error(
                    at(self.pos.line("spec.artifacts")),
                    format!("{prefix}{e}"),
                    &[],
                ));
            }
            for problem in crate::check::flux_objects(&rendered) {
                let artifact = problem
                    .strip_prefix("artifacts/")
                    .and_then(|p| p.split('/').next())
                    .unwrap_or_default();
                let leaf_line = if self.def.artifacts.iter().any(|a| a.name == artifact) {
                    self.artifact_line(artifact)
                } else {
                    self.pos.line("spec.artifacts")
                };
                out.push(
                    self.error(at(leaf_line), format!("{prefix}{problem}"), &[])
                        .with_hint("Flux would reject this object"),
                );
            }
        }
    }

    /// Where a rendering error points: a line of defaultValues or of a templated file
    /// when the message says, else the artifact it names, else `spec.artifacts`.
    fn locate(&self, msg: &str) -> (String, usize) {
        let file = self.file.to_string();
        let Some(artifact) = lint::artifact_in_message(msg) else {
            return (file, self.pos.line("spec.artifacts"));
        };
        let Some(i) = self.def.artifacts.iter().position(|a| a.name == artifact) else {
            return (file, self.pos.line("spec.artifacts"));
        };
        let own = msg.contains(&format!("{:?} artifact {artifact:?}", self.def.name))
            || msg.contains(&format!("({} artifact {artifact:?})", self.def.name));
        let tline = lint::template_line(msg);
        if own && msg.contains("defaultValues") {
            let path = format!("spec.artifacts[{i}].chart.defaultValues");
            return (file, self.pos.block_line(&path, tline.unwrap_or(0)));
        }
        if own && msg.contains("`with`") {
            return (
                file,
                self.pos.line(&format!("spec.artifacts[{i}].profile.with")),
            );
        }
        if own
            && let ArtifactKind::Kustomize { path } = &self.def.artifacts[i].kind
            && let Some(rest) = msg.split("cannot render template ").nth(1)
            && let Some((rel, _)) = rest.split_once(&format!(" ({} artifact", self.def.name))
        {
            let base = format!("{}/{}", self.dir, path.trim_end_matches('/'));
            let shown = if Path::new(self.dir).join(path).is_file() {
                base
            } else {
                format!("{base}/{rel}")
            };
            return (shown, tline.unwrap_or(1));
        }
        (file, self.artifact_line(&artifact))
    }
}

/// `ORIGIN@REF: message` → `message` when ORIGIN is the linted profile's.
fn strip_origin(msg: &str, origin: &str) -> String {
    if let Some(rest) = msg.strip_prefix(origin)
        && let Some(at) = rest.strip_prefix('@')
        && let Some((_, m)) = at.split_once(": ")
    {
        return m.to_string();
    }
    msg.to_string()
}

/// Render, and when an artifact fails, render again without it, so that every
/// artifact's template error is found: the errors, and the last rendering when one
/// succeeded (without the failing artifacts).
fn render_each(
    resolved: &Resolved,
    opts: &crate::render::Options,
) -> (Option<crate::render::Rendered>, Vec<anyhow::Error>) {
    let mut tree = resolved.clone();
    let mut errors = Vec::new();
    loop {
        match prepare::render(&tree, opts) {
            Ok(r) => return (Some(r), errors),
            Err(e) => {
                let culprit = lint::artifact_in_message(&e.to_string())
                    .and_then(|name| root_artifact_of(&tree, &name));
                errors.push(e);
                match culprit {
                    Some(i) => {
                        tree.artifacts.remove(i);
                    }
                    None => return (None, errors),
                }
            }
        }
    }
}

/// The index of the root artifact that is, or nests, an artifact named `name`.
fn root_artifact_of(root: &Resolved, name: &str) -> Option<usize> {
    fn contains(p: &Resolved, name: &str) -> bool {
        p.artifacts.iter().any(|a| {
            a.name == name
                || matches!(&a.kind, ResolvedKind::Profile { profile, .. } if contains(profile, name))
        })
    }
    root.artifacts
        .iter()
        .position(|a| a.name == name)
        .or_else(|| {
            root.artifacts.iter().position(|a| {
                matches!(&a.kind, ResolvedKind::Profile { profile, .. } if contains(profile, name))
            })
        })
}
