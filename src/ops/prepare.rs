//! The pipeline every op that produces an installation's files shares: resolve (a
//! SOURCE to a tree of profiles, through the context's upstreams) → render (the
//! installation's files, then sealed: its Secrets SOPS-encrypted) → check (the
//! rendering as Flux will apply it), before anything is written. install, render, diff,
//! show, lint, upgrade, export and promote go through it; each step is also callable
//! alone for an op that does something between two of them (install's shared bases
//! across clusters, diff's two sides, lint's lenient resolution).
use crate::git::Upstreams;
use crate::ops::Context;
use crate::render::{self, Rendered};
use crate::resolve::{self, Resolved, Resolver, Visited};
use crate::source::SourceSpec;
use anyhow::Result;
use std::collections::BTreeMap;

/// A resolution in progress: one or more SOURCEs resolved with the same options
/// (diff's two sides, upgrade's base and new version share what was fetched).
pub struct Resolve<'u> {
    resolver: Resolver<'u>,
}

/// What a resolution found besides the trees.
#[derive(Default)]
pub struct Found {
    /// What is worth saying (legacy fields, converted schemas), once each.
    pub warnings: Vec<String>,
    /// With `resolve::Options::lenient` (lint): the root's artifacts left out, with
    /// their errors.
    pub skipped: Vec<(String, anyhow::Error)>,
    /// Where every profile of the trees was read from, by `resolve::visit_key`
    /// (export vendors those files).
    pub visited: BTreeMap<(String, String, String), Visited>,
}

impl<'u> Resolve<'u> {
    /// Resolve through the context's upstreams (`--offline` honoured).
    pub fn new(ctx: &'u Context<'_>, opts: resolve::Options) -> Result<Self> {
        Ok(Self::with(ctx.upstreams()?, opts))
    }

    /// Resolve through these upstreams.
    pub fn with(upstreams: &'u Upstreams, opts: resolve::Options) -> Self {
        Resolve {
            resolver: Resolver::new(upstreams, opts),
        }
    }

    /// One SOURCE and everything it nests.
    pub fn tree(&mut self, spec: &SourceSpec) -> Result<Resolved> {
        self.resolver.resolve(spec)
    }

    /// The warnings, skipped artifacts and visited profiles of every tree resolved.
    pub fn finish(self) -> Found {
        Found {
            warnings: self.resolver.warnings,
            skipped: self.resolver.skipped,
            visited: self.resolver.visited,
        }
    }

    /// Print the warnings (on the context's printer) and drop the rest.
    pub fn warn(self, ctx: &Context<'_>) {
        for w in &self.finish().warnings {
            ctx.printer().warn(w);
        }
    }
}

/// Resolve one SOURCE, printing the resolution's warnings.
pub fn resolve(ctx: &Context<'_>, spec: &SourceSpec, opts: resolve::Options) -> Result<Resolved> {
    let mut r = Resolve::new(ctx, opts)?;
    let tree = r.tree(spec)?;
    r.warn(ctx);
    Ok(tree)
}

/// Render a resolved tree into the files of one installation directory, then seal
/// (SOPS-encrypt) the Secrets it holds with the system's randomness and clock.
pub fn render(tree: &Resolved, opts: &render::Options) -> Result<Rendered> {
    render::render(tree, opts).and_then(|u| crate::sops::seal(u, &mut crate::sops::System))
}

/// Check a rendering of the installation directory `install_dir`, synced by the
/// GitRepository named `git_repository`, as Flux will apply it (a failure is a bug in
/// pctl: exit 2).
pub fn check(rendered: &Rendered, install_dir: &str, git_repository: &str) -> Result<()> {
    crate::check::check(rendered, install_dir, git_repository)
}

/// Render, then check.
pub fn render_checked(tree: &Resolved, opts: &render::Options) -> Result<Rendered> {
    let rendered = render(tree, opts)?;
    check(&rendered, &opts.install_dir, &opts.git_repository.name)?;
    Ok(rendered)
}

/// The whole pipeline for one SOURCE: resolve (warnings printed), render, check.
pub fn prepare(
    ctx: &Context<'_>,
    spec: &SourceSpec,
    opts: resolve::Options,
    render_opts: impl FnOnce(&Resolved) -> Result<render::Options>,
) -> Result<(Resolved, Rendered)> {
    let tree = resolve(ctx, spec, opts)?;
    let ropts = render_opts(&tree)?;
    let rendered = render_checked(&tree, &ropts)?;
    Ok((tree, rendered))
}
