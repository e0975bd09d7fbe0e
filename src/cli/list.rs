//! `pctl list` arguments.
use crate::ops::list::{ListOptions, run as op};
use crate::printer::Format;

/// List the installations committed in the GitOps repository.
///
/// Columns: NAME, NAMESPACE, PROFILE, VERSION, SOURCE, PATH, UPDATE (the newest
/// version the installation's constraint allows, from the cached upstreams; `?`
/// when the upstream is not cached: `pctl outdated` fetches) and DRIFT (files
/// edited, added or removed by hand since pctl wrote them).
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    op(ListOptions {
        repo: a.repo.repo,
        clusters: a.clusters.selection(),
        format: a.output,
    })
}
