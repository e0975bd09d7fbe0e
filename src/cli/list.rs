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
    /// GitOps repository: a directory or a URL [default: the repository of the cwd].
    #[arg(long)]
    repo: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    op(ListOptions {
        repo: a.repo,
        format: a.output,
    })
}
