//! `pctl search` arguments.
use crate::ops::search::{SearchOptions, run as op};

/// Search the profiles of every catalog.
///
/// A profile matches when every word of QUERY is found in its name, its keywords,
/// its description or its catalog's name; name matches rank first, then keywords, then
/// descriptions. `CATALOG/` or `CATALOG/WORD` limits the search to one catalog. Without
/// QUERY every profile is listed.
///
/// Columns: CATALOG/PROFILE, VERSION (the newest stable version; with --channel, the
/// newest in stable or that channel), DESCRIPTION. Answers from the catalog indexes
/// (`pctl catalog update` refreshes them); a catalog without an index is scanned first.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Words to look for (all must match).
    query: Vec<String>,
    /// Also consider versions of this channel (beta, rc, ...) for VERSION.
    #[arg(long)]
    channel: Option<String>,
    #[command(flatten)]
    repo: super::args::OptionalRepoArgs,
    #[command(flatten)]
    output: super::args::FormatArgs,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    op(
        &super::args::context(p, a.repo.repo, false, None),
        SearchOptions {
            query: a.query.join(" "),
            channel: a.channel,
            format: a.output.output,
        },
    )
}
