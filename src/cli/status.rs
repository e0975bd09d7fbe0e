//! `pctl status` arguments.
use crate::ops::status::{StatusOptions, run as op};
use crate::printer::Printer;

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
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    #[command(flatten)]
    output: super::args::FormatArgs,
}

pub fn run(a: Args, p: &Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, Some(&a.clusters));
    op(
        &ctx,
        StatusOptions {
            name: a.name,
            format: a.output.output,
        },
    )
}
