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
    pub explain: bool,
    pub repo: Option<String>,
    pub values: crate::ops::ValueOptions,
}

pub fn run(opts: RenderOptions) -> Result<()> {
    let spec = source::parse(&opts.source)?;
    // The GitOps repository, when there is one, supplies value profiles and global.yaml.
    let view = match &opts.repo {
        Some(r) => Some(crate::git::Workspace::open(Some(r))?.view()?),
        None => crate::git::Workspace::open(None)
            .ok()
            .and_then(|ws| ws.view().ok())
            .filter(|v| v.exists(crate::gitops::CONFIG_PATH).unwrap_or(false)),
    };
    let inputs = crate::ops::gather_values(&opts.values, view.as_ref())?;
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
    let mut inputs = inputs;
    // Rendering an existing installation again: the values it recorded apply (level 3).
    if let (Some(view), Some(wanted)) = (&view, &opts.name) {
        let existing = crate::ops::installations(view)?;
        if let Some((dir, inst)) = existing.iter().find(|(_, i)| &i.metadata.name == wanted) {
            let keys = render::parameter_keys(&resolved);
            inputs.recorded = crate::ops::upgrade::recorded_givens(inst, dir, &keys, false)
                .into_iter()
                .filter(|g| !crate::values::is_kept_secret(&g.value))
                .collect();
            printer().info(&format!(
                "using the values recorded for installation {wanted} in {dir}/{}",
                crate::record::FILE
            ));
        }
    }
    let install_dir = crate::gitops::join(&crate::gitops::norm_dir(&opts.install_path)?, &name);
    let git_repository = GitRepositoryRef {
        name: "flux-system".into(),
        namespace: "flux-system".into(),
    };
    let render_opts = render::Options {
        name: name.clone(),
        namespace: opts.namespace.clone(),
        install_dir: install_dir.clone(),
        git_repository: git_repository.clone(),
        inputs: inputs.clone(),
        sops_yaml: match &view {
            Some(v) => v.read_string(".sops.yaml")?,
            None => None,
        },
        secret_refs: opts.values.secret_refs()?,
    };
    if opts.explain {
        let rows = render::explain(&resolved, &render_opts)?;
        printer().table(&["PARAMETER", "TYPE", "VALUE", "SOURCE"], &rows);
        return Ok(());
    }
    let rendered = render::render(&resolved, &render_opts)?;
    crate::check::check(&rendered, &install_dir, &git_repository.name)?;
    printer().data(&render::manifests(&rendered));
    for note in &rendered.notes {
        printer().info(&format!("next: {note}"));
    }
    Ok(())
}
