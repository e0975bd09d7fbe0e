//! `pctl lint` arguments.
use crate::ops::lint::{LintOptions, run as op};

/// Check a profile directory and report every problem at once.
///
/// Checks the schema of profile.yaml (unknown fields with "did you mean"), its
/// parameters (types, defaults, enums, patterns, ranges, presets), paths (they exist
/// and stay inside the repository), nested profiles (resolvable, fetched, no cycle),
/// templates (rendered with the defaults and with each preset; required parameters
/// without a default get a placeholder, reported as info), the Flux objects the
/// profile generates (graph and schema), and what its own kustomizations and Flux
/// objects may read of the GitOps repository (only their artifact, and their
/// installation). Each finding reads
/// `FILE:LINE: error|warning|info: message`. DIR may be inside a Git repository or
/// not; its files are read as they are on disk. Exit code 1 when there is an error.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile directory (the one holding profile.yaml).
    dir: String,
    #[command(flatten)]
    output: super::args::FormatArgs,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    strict: bool,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, None, a.offline.offline, None);
    op(
        &ctx,
        LintOptions {
            dir: a.dir,
            format: a.output.output,
            strict: a.strict,
        },
    )
}
