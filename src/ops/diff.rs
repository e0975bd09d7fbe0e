//! `pctl diff SOURCE FROM TO`: render two versions of a profile with the same values
//! and print the unified diff of their files, then a summary of what changed in the
//! definitions (see `compare`).
use crate::error::user;
use crate::git::Upstreams;
use crate::gitops::GitRepositoryRef;
use crate::ops::Context;
use crate::ops::prepare::{self, Resolve};
use crate::printer::Printer;
use crate::render::{self, Rendered};
use crate::resolve::{self, Resolved};
use crate::source::{self, SourceSpec};
use anyhow::{Result, bail};
use std::collections::BTreeSet;

pub struct DiffOptions {
    pub source: String,
    pub from: String,
    pub to: String,
    pub name: Option<String>,
    pub namespace: String,
    pub install_path: String,
    pub channel: Option<String>,
    pub values: crate::ops::ValueOptions,
}

/// Print the diff and the summary; returns whether the renderings differ. `--repo`
/// (optional here) and `--offline` come from the context.
pub fn run(ctx: &Context, opts: DiffOptions) -> Result<bool> {
    let p = ctx.printer();
    let upstreams = ctx.upstreams()?;
    let (from_spec, to_spec) = specs(&opts, upstreams)?;
    let view = ctx.optional_view()?;
    let inputs = crate::ops::gather_values(&opts.values, view)?;
    let mut resolver = Resolve::with(
        upstreams,
        resolve::Options {
            allow_dirty: false,
            channel: opts.channel.clone(),
            catalog_repo: ctx.shared.repo.clone(),
            ..Default::default()
        },
    );
    let old = resolve_side(&mut resolver, &from_spec, &opts.from)?;
    let new = resolve_side(&mut resolver, &to_spec, &opts.to)?;
    resolver.warn(ctx);
    let name = opts.name.clone().unwrap_or_else(|| new.def.name.clone());
    let install_dir = crate::gitops::join(
        &crate::gitops::repo_dir("--install-path", &opts.install_path)?,
        &name,
    );
    // One throwaway age recipient for both sides: secrets render (encrypted for nobody)
    // without a GitOps repository, and encrypted files are compared by plaintext.
    let sops = crate::sops::throwaway_sops_yaml();
    let secret_refs = opts.values.secret_refs()?;
    let mut placeholders = BTreeSet::new();
    let mut render_side = |side: &Resolved, label: &str| -> Result<Rendered> {
        let mut inputs = inputs.clone();
        inputs.global.extend(render::placeholder_values(side));
        let ropts = render::Options {
            name: name.clone(),
            namespace: opts.namespace.clone(),
            install_dir: install_dir.clone(),
            git_repository: GitRepositoryRef {
                name: "flux-system".into(),
                namespace: "flux-system".into(),
            },
            inputs,
            sops_yaml: Some(sops.clone()),
            secret_refs: secret_refs.clone(),
            namespaces: Default::default(),
            flux_objects: None,
        };
        let rendered = prepare::render(side, &ropts).map_err(|e| {
            let msg = format!("cannot render {label} ({}): {e}", side.source.label());
            crate::error::with_hint(
                e.context(msg),
                "give the values both versions need with --set or -f",
            )
        })?;
        prepare::check(&rendered, &install_dir, "flux-system")?;
        for row in render::explain(side, &ropts)? {
            if row[3] == crate::values::PLACEHOLDER {
                placeholders.insert(row[0].clone());
            }
        }
        Ok(rendered)
    };
    let old_r = render_side(&old, &opts.from)?;
    let new_r = render_side(&new, &opts.to)?;
    for key in &placeholders {
        p.info(&format!(
            "note: required parameter {key} has no value; both versions were rendered with the same placeholder (pass --set {key}=VALUE to choose one)"
        ));
    }
    let (diff, changed) = crate::compare::unified(&old_r, &new_r);
    let summary = crate::compare::summarize(&old, &old_r, &new, &new_r);
    let (from_label, to_label) = (label(&old), label(&new));
    p.info(&format!(
        "diff of {} {from_label} -> {to_label}: {changed} file(s) differ",
        new.def.name
    ));
    let mut out = diff;
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary.text(&from_label, &to_label));
    if let Some(cluster) = cluster_diff(p, &old_r, &new_r, &install_dir, ctx.offline()) {
        out.push('\n');
        out.push_str(&cluster);
    }
    p.data(&out);
    Ok(changed > 0)
}

/// What the change does in the cluster: each HelmRelease's chart rendered by `helm
/// template` before and after, compared object by object (docs/commands.md#diff).
/// None when neither side has a HelmRelease; without helm, a note says so.
fn cluster_diff(
    p: &Printer,
    old: &Rendered,
    new: &Rendered,
    install_dir: &str,
    offline: bool,
) -> Option<String> {
    use crate::chartdiff;
    if !chartdiff::has_releases(install_dir, &old.files, &new.files) {
        return None;
    }
    let Some(helm) = chartdiff::HelmCli::on_path(offline) else {
        p.info(&format!(
            "note: {}: the diff above is of the files only",
            chartdiff::NOT_RENDERED
        ));
        return None;
    };
    let diffs = chartdiff::compare_renderings(&helm, install_dir, &old.files, &new.files);
    Some(format!("{}{}", chartdiff::HEADING, chartdiff::text(&diffs)))
}

/// `1.1.0 (nginx/v1.1.0, 1a2b3c4d)`, or the reference and short commit.
fn label(r: &Resolved) -> String {
    let s = &r.source;
    let commit: String = s.commit.as_deref().unwrap_or("").chars().take(8).collect();
    match (&s.version, &s.reference) {
        (Some(v), Some(t)) => format!("{v} ({t}, {commit})"),
        (None, Some(t)) => format!("{t} ({commit})"),
        _ => commit,
    }
}

fn resolve_side(resolver: &mut Resolve, spec: &SourceSpec, what: &str) -> Result<Resolved> {
    resolver.tree(spec).map_err(|e| {
        let msg = format!("cannot resolve {what}: {e}");
        e.context(msg)
    })
}

/// The two sources to compare: SOURCE at FROM and at TO.
fn specs(opts: &DiffOptions, upstreams: &Upstreams) -> Result<(SourceSpec, SourceSpec)> {
    let at = |r: &str| Some(r.to_string());
    let no_ref = |s: &str| {
        user(
            format!("SOURCE {s:?} names a version; pctl diff takes the versions as FROM and TO"),
            "write pctl diff URL//DIR FROM TO (or CATALOG/PROFILE FROM TO)",
        )
    };
    for v in [&opts.from, &opts.to] {
        if v.trim().is_empty() {
            bail!(user(
                "FROM and TO must not be empty",
                "give versions, constraints, tags, branches or commits"
            ));
        }
    }
    Ok(match source::parse(&opts.source)? {
        SourceSpec::Git {
            reference: Some(_), ..
        }
        | SourceSpec::Catalog {
            constraint: Some(_),
            ..
        } => return Err(no_ref(&opts.source)),
        SourceSpec::Git { url, subdir, .. } => (
            SourceSpec::Git {
                url: url.clone(),
                subdir: subdir.clone(),
                reference: at(&opts.from),
            },
            SourceSpec::Git {
                url,
                subdir,
                reference: at(&opts.to),
            },
        ),
        SourceSpec::Catalog {
            catalog, profile, ..
        } => (
            SourceSpec::Catalog {
                catalog: catalog.clone(),
                profile: profile.clone(),
                constraint: at(&opts.from),
            },
            SourceSpec::Catalog {
                catalog,
                profile,
                constraint: at(&opts.to),
            },
        ),
        SourceSpec::Local { path } => {
            let abs = std::fs::canonicalize(&path).map_err(|e| {
                user(
                    format!("profile directory {path} does not exist ({e})"),
                    "give the directory that holds profile.yaml",
                )
            })?;
            let Some((root, _)) = crate::git::discover(&abs) else {
                bail!(user(
                    format!("{path} is not inside a Git repository"),
                    "pctl diff compares committed versions: commit the profile and tag its versions",
                ));
            };
            let root = std::fs::canonicalize(&root).unwrap_or(root);
            let rel = abs
                .strip_prefix(&root)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let url = format!("file://{}", root.display());
            upstreams.register_local(&url, &root)?;
            // HEAD, HEAD~1, @{u}…: revisions only the local repository knows.
            let local = |r: &str| -> Result<String> {
                if !(r.starts_with("HEAD") || r.starts_with('@')) {
                    return Ok(r.to_string());
                }
                crate::git::local_revision(&root, r).ok_or_else(|| {
                    user(
                        format!("{r:?} names no commit in {}", root.display()),
                        "give a version, tag, branch or commit",
                    )
                })
            };
            let (from, to) = (local(&opts.from)?, local(&opts.to)?);
            (
                SourceSpec::Git {
                    url: url.clone(),
                    subdir: rel.clone(),
                    reference: Some(from),
                },
                SourceSpec::Git {
                    url,
                    subdir: rel,
                    reference: Some(to),
                },
            )
        }
    })
}
