//! `pctl install` arguments.
use crate::ops::install::{InstallOptions, run as op};

/// Install a profile into the GitOps repository as one commit.
///
/// SOURCE is a Git URL (https://, http://, ssh://, git://, file://, git@host:org/repo)
/// with an optional //SUBDIR and @REF, where REF is a tag, a branch, a commit or a
/// semver constraint (1.2.3, ^1.2, ~1.2, ">=1.0, <2", 1.x, latest) over SUBDIR/vX.Y.Z
/// tags; or a local directory (./DIR) inside a Git repository, whose HEAD commit is
/// recorded. Without @REF the newest stable version tag is used, else the default
/// branch.
///
/// Writes <install-path>/<NAME>/ with profile-installation.yaml (the record and lock),
/// a kustomization.yaml and one artifacts/<id>/ directory per artifact, each wrapped in
/// a Flux Kustomization. Nothing changes unless everything succeeds.
///
/// With --create-pr the commit goes to the branch pctl/install-<NAME>-<version> on the
/// remote instead, and a pull request (body: the version's changelog and a summary of
/// the files) is opened or updated; the pull request's URL is printed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Profile to install: CATALOG/PROFILE[@CONSTRAINT], URL[//SUBDIR][@REF] or ./DIR.
    source: String,
    /// Name of the installation (a DNS-1123 label, unique in the repository).
    #[arg(long)]
    name: String,
    /// Namespace for the profile's workloads.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Create the namespace (a Namespace object every artifact waits for) unless the
    /// repository or the profile already creates it; `--create-namespace=false` when
    /// it is created some other way. Recorded: upgrade and sync keep it.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    create_namespace: bool,
    /// Directory for the installation [default: installPath of .pctl/config.yaml].
    #[arg(long)]
    path: Option<String>,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    /// Commit message [default: "pctl: install PROFILE VERSION as NAME"].
    #[arg(short = 'm', long)]
    message: Option<String>,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    /// Accept a local profile directory with uncommitted changes or outside Git.
    #[arg(long)]
    allow_dirty: bool,
    /// Let version constraints also pick versions of this channel (beta, rc, ...);
    /// without it they pick only stable versions.
    #[arg(long)]
    channel: Option<String>,
    #[command(flatten)]
    values: super::ValueFlags,
    #[command(flatten)]
    write: super::WriteFlags,
    #[command(flatten)]
    pr: super::PrFlags,
}

pub fn run(a: Args, m: &clap::ArgMatches, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, Some(&a.clusters));
    op(
        &ctx,
        InstallOptions {
            values: a.values.options(m),
            source: a.source,
            name: a.name,
            namespace: a.namespace,
            create_namespace: a.create_namespace,
            path: a.path,
            mode: a.write.mode(),
            message: a.message,
            allow_dirty: a.allow_dirty,
            channel: a.channel,
            pr: a.pr.options(),
        },
    )
}
