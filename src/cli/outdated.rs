//! `pctl outdated` arguments.
use crate::ops::outdated::{OutdatedOptions, run as op};
use crate::printer::Format;

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
    /// Use cached upstream repositories only; never fetch.
    #[arg(long)]
    offline: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    op(OutdatedOptions {
        repo: a.repo.repo,
        clusters: a.clusters.selection(),
        offline: a.offline,
        format: a.output,
    })
}
