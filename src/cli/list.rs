//! `pctl list` arguments.
use crate::ops::list::{ListOptions, run as op};
use crate::printer::Printer;

/// List the installations committed in the GitOps repository.
///
/// Columns: NAME, NAMESPACE, PROFILE, VERSION, SOURCE, PATH, UPDATE (the newest
/// version the installation's constraint allows, from the cached upstreams and
/// those on this machine (a file:// URL or a path); `?` when a remote upstream is not
/// cached: `pctl outdated` fetches) and DRIFT (files edited, added or removed by hand
/// since pctl wrote them).
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    #[command(flatten)]
    output: super::args::FormatArgs,
}

pub fn run(a: Args, p: &Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, false, Some(&a.clusters));
    op(
        &ctx,
        ListOptions {
            format: a.output.output,
        },
    )
}
