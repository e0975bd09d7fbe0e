//! `pctl publish` arguments.
use crate::ops::publish::{PublishOptions, run as op};

/// Publish a new version of a profile: lint it and tag HEAD.
///
/// DIR must be a committed profile directory with no uncommitted change. The tag is
/// `DIR/vX.Y.Z` (`vX.Y.Z` for a profile at the repository root), annotated, with the
/// changelog as its message and a `Channel: C` trailer when --channel is given. The
/// version's channel is --channel, else its pre-release name (1.3.0-beta.1 → beta),
/// else stable. Refused (nothing changes) when lint finds an error, when the version
/// exists, or when it is not newer than the newest version of its channel. With
/// --push the tag is pushed to the remote (default origin) and only then created
/// locally; the remote's tags count too.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile directory (the one holding profile.yaml), inside a Git repository.
    dir: String,
    /// The new version, X.Y.Z (a pre-release such as 1.3.0-beta.1 is fine).
    #[arg(long, value_name = "X.Y.Z")]
    version: String,
    /// Release channel (beta, rc, ...), written as a `Channel:` trailer.
    #[arg(long)]
    channel: Option<String>,
    /// The changelog: the annotated tag's message [default: "PROFILE VERSION"].
    #[arg(long, value_name = "TEXT")]
    changelog: Option<String>,
    /// Read the changelog from FILE (`-` for stdin).
    #[arg(
        short = 'F',
        long = "changelog-file",
        value_name = "FILE",
        conflicts_with = "changelog"
    )]
    changelog_file: Option<std::path::PathBuf>,
    /// Push the tag to the remote (server rejections are reported; nothing is tagged then).
    #[arg(long)]
    push: bool,
    /// The remote to push to.
    #[arg(long, value_name = "NAME", default_value = "origin", requires = "push")]
    remote: String,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    /// Check everything and print the tag that would be created; create nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, None, a.offline.offline, None);
    op(
        &ctx,
        PublishOptions {
            dir: a.dir,
            version: a.version,
            channel: a.channel,
            changelog: a.changelog,
            changelog_file: a.changelog_file,
            push: a.push,
            remote: a.remote,
            dry_run: a.dry_run,
        },
    )
}
