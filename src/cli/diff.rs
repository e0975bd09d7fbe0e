//! `pctl diff` arguments.
use crate::ops::diff::{DiffOptions, run as op};

/// Show what changes between two versions of a profile: a unified diff of the files
/// each would install, then a summary of the definition changes (parameters,
/// artifacts, chart versions, nested profile versions).
///
/// SOURCE is URL[//SUBDIR], CATALOG/PROFILE or ./DIR inside a Git repository (its
/// local tags, branches and commits); FROM and TO are versions, constraints, tags,
/// branches or commits. Both sides are rendered with the same values (the value
/// flags, and a GitOps repository's value profiles and global.yaml); a required
/// parameter nobody gave gets the same placeholder on both sides (noted on stderr).
/// Secrets are never shown: encrypted files are compared by their plaintext. With
/// `helm` on PATH, a last section shows what changes in the cluster: each
/// HelmRelease's chart rendered by `helm template` before and after, object by
/// object. Exit code 0 with or without differences, unless --exit-code.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// URL[//SUBDIR], CATALOG/PROFILE or ./DIR (without @REF).
    source: String,
    /// The old version: a version, constraint, tag, branch or commit.
    from: String,
    /// The new version: a version, constraint, tag, branch or commit.
    to: String,
    /// Installation name used for object names [default: the profile's name].
    #[arg(long)]
    name: Option<String>,
    /// Namespace for the profile's workloads.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Install path used in generated Flux paths.
    #[arg(long, default_value = "clusters/default/profiles")]
    install_path: String,
    /// Let constraints also pick versions of this channel (beta, rc, ...).
    #[arg(long)]
    channel: Option<String>,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    #[command(flatten)]
    repo: super::args::OptionalRepoArgs,
    /// Exit with 1 when the two versions render differently (like git diff --exit-code).
    #[arg(long)]
    exit_code: bool,
    #[command(flatten)]
    values: super::ValueFlags,
}

pub fn run(a: Args, m: &clap::ArgMatches, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let exit_code = a.exit_code;
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, None);
    let differs = op(
        &ctx,
        DiffOptions {
            values: a.values.options(m),
            source: a.source,
            from: a.from,
            to: a.to,
            name: a.name,
            namespace: a.namespace,
            install_path: a.install_path,
            channel: a.channel,
        },
    )?;
    if exit_code && differs {
        // Like `git diff --exit-code`: differences are not an error, so no message.
        std::process::exit(1);
    }
    Ok(())
}
