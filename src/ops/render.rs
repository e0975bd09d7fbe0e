//! `pctl render`: resolve and render a profile without a GitOps repository; print the
//! manifests.
use crate::git::Upstreams;
use crate::gitops::GitRepositoryRef;
use crate::printer::printer;
use crate::resolve::{self, Resolver};
use crate::{render, source};
use anyhow::Result;

pub struct RenderOptions {
    pub source: String,
    pub name: Option<String>,
    pub namespace: String,
    pub install_path: String,
    pub offline: bool,
    pub allow_dirty: bool,
}

pub fn run(opts: RenderOptions) -> Result<()> {
    let spec = source::parse(&opts.source)?;
    let upstreams = Upstreams::new(opts.offline)?;
    let mut resolver = Resolver::new(
        &upstreams,
        resolve::Options {
            allow_dirty: opts.allow_dirty,
            channel: None,
        },
    );
    let resolved = resolver.resolve(&spec)?;
    for w in &resolver.warnings {
        printer().warn(w);
    }
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| resolved.def.name.clone());
    let install_dir = crate::gitops::join(&crate::gitops::norm_dir(&opts.install_path)?, &name);
    let git_repository = GitRepositoryRef {
        name: "flux-system".into(),
        namespace: "flux-system".into(),
    };
    let rendered = render::render(
        &resolved,
        &render::Options {
            name,
            namespace: opts.namespace.clone(),
            install_dir: install_dir.clone(),
            git_repository: git_repository.clone(),
        },
    )?;
    crate::check::check(&rendered, &install_dir, &git_repository.name)?;
    printer().data(&render::manifests(&rendered));
    Ok(())
}
