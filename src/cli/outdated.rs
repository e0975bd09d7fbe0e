//! `pctl outdated` arguments.
use crate::ops::outdated::{OutdatedOptions, run as op};
use crate::printer::Printer;

/// List every installation with its current version, the newest version its constraint
/// allows (WANTED) and the newest version overall (LATEST), then how many installations
/// of each profile are behind.
///
/// Versions are the upstream repository's tags, fetched once each (--offline: the
/// cache). Only stable versions count, plus the channel an installation was installed
/// with (--channel). An installation from a branch, a commit or a directory is "not
/// versioned". Exit code 0 whether or not something is behind.
#[derive(clap::Args, Debug)]
pub struct Args {
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
        OutdatedOptions {
            format: a.output.output,
        },
    )
}
