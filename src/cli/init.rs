//! `pctl init` arguments.
use crate::ops::init::{InitOptions, run as op};
use std::path::PathBuf;

/// Create or adopt a Git repository as a GitOps repository.
///
/// Writes .pctl/config.yaml (gitRepository, syncPath, installPath), lists .pctl/ in
/// .sourceignore (Flux fails on YAML that is not a Kubernetes object), and creates the
/// kustomization.yaml files that make the install path reachable from the sync path.
/// Commits the result as "pctl: init". Running it again changes nothing.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of the GitOps repository (created and `git init`ed if needed).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Make a fleet: one cluster per NAME, each synced from clusters/NAME with its
    /// installations in clusters/NAME/profiles (`pctl cluster add` takes other paths).
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',', conflicts_with_all = ["sync_path", "install_path"])]
    cluster: Vec<String>,
    /// Path that the root Flux Kustomization syncs.
    #[arg(long, default_value = "clusters/default")]
    sync_path: String,
    /// Where installations go [default: <sync-path>/profiles].
    #[arg(long)]
    install_path: Option<String>,
    /// The Flux GitRepository that syncs this repository, as NAMESPACE/NAME.
    #[arg(long, default_value = "flux-system/flux-system")]
    git_repository: String,
    #[command(flatten)]
    write: super::WriteFlags,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    op(
        &super::args::context(p, None, false, None),
        InitOptions {
            dir: a.dir,
            sync_path: a.sync_path,
            install_path: a.install_path,
            git_repository: a.git_repository,
            clusters: a.cluster,
            mode: a.write.mode(),
        },
    )
}
