//! `pctl show` arguments.
use crate::ops::show::{ShowOptions, run as op};

/// Show a profile: description, maintainer, versions (channel, date), parameters
/// (type, default, required), artifacts and changelog.
///
/// SOURCE is CATALOG/PROFILE[@VERSION] (from a catalog's index), or any SOURCE that
/// `pctl install` takes: URL[//SUBDIR][@REF] (read from Git) or ./DIR. VERSION is an
/// exact version or a constraint (^1.2, ~1.2, 1.x, latest); without it the newest
/// stable version is shown. The changelog is the annotated tags' messages; a version's
/// channel is its tag's `Channel:` trailer, else its pre-release name, else stable.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// CATALOG/PROFILE[@VERSION], URL[//SUBDIR][@REF] or ./DIR.
    source: String,
    /// Also consider versions of this channel (beta, rc, ...) when choosing a version.
    #[arg(long)]
    channel: Option<String>,
    #[command(flatten)]
    repo: super::args::OptionalRepoArgs,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    /// Show a local profile directory with uncommitted changes without a note.
    #[arg(long)]
    allow_dirty: bool,
    #[command(flatten)]
    output: super::args::FormatArgs,
    /// Apply the values level of this cluster of a fleet
    /// (.pctl/values/clusters/NAME.yaml of the GitOps repository, docs/fleets.md).
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    #[command(flatten)]
    values: super::ValueFlags,
}

pub fn run(a: Args, m: &clap::ArgMatches, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, None);
    op(
        &ctx,
        ShowOptions {
            values: crate::ops::ValueOptions {
                cluster: a.cluster,
                ..a.values.options(m)
            },
            source: a.source,
            channel: a.channel,
            allow_dirty: a.allow_dirty,
            format: a.output.output,
        },
    )
}
