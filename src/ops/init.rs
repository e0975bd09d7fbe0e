//! `pctl init`: create or adopt a Git repository as a GitOps repository.
use crate::error::HintExt;
use crate::git::{self, Mode};
use crate::gitops::{self, Config, GitRepositoryRef};
use anyhow::Result;
use std::path::PathBuf;

pub struct InitOptions {
    pub dir: PathBuf,
    pub sync_path: String,
    pub install_path: Option<String>,
    pub git_repository: String,
    /// `--cluster`: the clusters of a fleet (empty: one cluster, from the paths above).
    pub clusters: Vec<String>,
    pub mode: Mode,
}

/// The context gives the printer only: init works on its DIR argument.
pub fn run(ctx: &crate::ops::Context, opts: InitOptions) -> Result<()> {
    let (namespace, name) = opts
        .git_repository
        .split_once('/')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .filter(|(a, b)| crate::names::is_dns1123_label(a) && !b.is_empty())
        .ok_or_else(|| {
            crate::error::user(
                format!(
                    "--git-repository {:?} is not NAMESPACE/NAME",
                    opts.git_repository
                ),
                "for example flux-system/flux-system",
            )
        })?;
    let sync_path = gitops::repo_dir("--sync-path", &opts.sync_path)?;
    let install_path = match &opts.install_path {
        Some(p) => gitops::repo_dir("--install-path", p)?,
        None => gitops::join(&sync_path, "profiles"),
    };
    if sync_path.is_empty() || install_path.is_empty() {
        return Err(crate::error::user(
            "--sync-path and --install-path must name directories below the repository root",
            "for example clusters/default",
        ));
    }
    let mut wanted = Config {
        git_repository: GitRepositoryRef { name, namespace },
        sync_path,
        install_path,
        forge: None,
        clusters: Default::default(),
        bases_path: None,
    };
    for c in &opts.clusters {
        gitops::clusters::check_name("--cluster", c)?;
        let sync_path = format!("clusters/{c}");
        wanted.clusters.insert(
            c.clone(),
            gitops::clusters::ClusterPaths {
                install_path: gitops::join(&sync_path, "profiles"),
                sync_path,
            },
        );
    }
    if wanted.is_fleet() {
        wanted.sync_path.clear();
        wanted.install_path.clear();
    }
    // Worded first: the hint of a directory inside a work tree is more specific.
    let (repo, created) = git::init_or_open(&opts.dir)
        .map_err(crate::ops::advice::word)
        .hint("pass a directory you can write to")?;
    let ws = git::workspace_of(repo)?;
    let mut config = None;
    let outcome = ws.apply("pctl: init", opts.mode, |view| {
        let (c, changes) = gitops::init_changes(view, &wanted)?;
        config = Some(c);
        Ok(changes)
    })?;
    let p = ctx.printer();
    if created {
        p.info(&format!("created Git repository {}", opts.dir.display()));
    }
    if let Some(c) = config {
        if c != wanted && !created {
            p.info(&format!("kept the existing {}", gitops::CONFIG_PATH));
            if !opts.clusters.is_empty() {
                p.info("`pctl cluster add NAME` adds a cluster to it");
            }
        }
        for cl in c.cluster_list() {
            let prefix = if c.is_fleet() {
                format!("cluster {}: ", cl.name)
            } else {
                String::new()
            };
            p.info(&format!(
                "{prefix}sync path {}, installations in {}",
                cl.sync_path, cl.install_path
            ));
        }
    }
    crate::ops::report(p, &outcome, opts.mode, "init");
    Ok(())
}
