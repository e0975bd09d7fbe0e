//! `pctl status` arguments.
use crate::ops::status::{StatusOptions, run as op};
use crate::printer::Format;

/// Show one installation: the files added, removed or edited by hand since pctl wrote
/// them (drift), and whether an update exists.
///
/// Drift compares the files in the installation's directory (the work tree of a local
/// GitOps repository, uncommitted edits included) with the SHA-256 hashes recorded in
/// its profile-installation.yaml. The update check reads the upstream's version tags
/// like `pctl outdated`. Exit code 0 with or without drift.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the installation.
    name: String,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    /// Use cached upstream repositories only; never fetch.
    #[arg(long)]
    offline: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    op(StatusOptions {
        name: a.name,
        repo: a.repo.repo,
        clusters: a.clusters.selection(),
        offline: a.offline,
        format: a.output,
    })
}
