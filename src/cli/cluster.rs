//! `pctl cluster` arguments: add, list, remove.
use crate::ops::cluster::{self as op, AddOptions};
use crate::printer::Printer;

/// Manage the clusters of a fleet (docs/fleets.md).
///
/// `.pctl/config.yaml` `clusters:` maps each cluster name to the path its root Flux
/// Kustomization syncs (syncPath) and the directory its installations go to
/// (installPath). A repository without `clusters:` is one cluster, `default`; adding a
/// cluster to it turns its syncPath and installPath into the cluster `default`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    Add(AddArgs),
    List(ListArgs),
    Remove(RemoveArgs),
}

/// Add a cluster, in one commit: its entry in .pctl/config.yaml and a
/// kustomization.yaml in its install path, reachable from its sync path.
#[derive(clap::Args, Debug)]
struct AddArgs {
    /// Cluster name (a DNS-1123 label).
    name: String,
    /// Path that the cluster's root Flux Kustomization syncs [default: clusters/NAME].
    #[arg(long, value_name = "PATH")]
    sync_path: Option<String>,
    /// Where the cluster's installations go [default: <sync-path>/profiles].
    #[arg(long, value_name = "PATH")]
    install_path: Option<String>,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    write: super::WriteFlags,
}

/// List the clusters: NAME, SYNC PATH, INSTALL PATH, INSTALLATIONS.
#[derive(clap::Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    output: super::args::FormatArgs,
}

/// Remove a cluster from .pctl/config.yaml, in one commit; refused while it has
/// installations. Its files (the sync path's kustomization.yaml files) stay in place.
#[derive(clap::Args, Debug)]
struct RemoveArgs {
    /// Cluster name.
    name: String,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    write: super::WriteFlags,
}

pub fn run(a: Args, p: &Printer) -> anyhow::Result<()> {
    use super::args::context;
    match a.command {
        Sub::Add(a) => op::add(
            &context(p, a.repo.repo, false, None),
            AddOptions {
                name: a.name,
                sync_path: a.sync_path,
                install_path: a.install_path,
                mode: a.write.mode(),
            },
        ),
        Sub::List(a) => op::list(&context(p, a.repo.repo, false, None), a.output.output),
        Sub::Remove(a) => op::remove(
            &context(p, a.repo.repo, false, None),
            &a.name,
            a.write.mode(),
        ),
    }
}
