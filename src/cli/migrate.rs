//! `pctl migrate` arguments.
use crate::ops::migrate::{MigrateOptions, run as op};

/// Convert an installation made by the archived Weaveworks pctl into a pctl
/// installation, in one commit.
///
/// NAME is the metadata.name of its weave.works/v1alpha1 ProfileInstallation record
/// (`pctl list` marks those WRITTEN-BY weaveworks). The profile is resolved at the
/// recorded tag or branch and rendered in place, in the same directory and
/// namespace. Every HelmRelease keeps its Helm release (release name, storage and
/// target namespace) so that helm-controller takes the release over instead of
/// installing a second one, and its values, including those of the ConfigMaps it
/// read (which must be in the repository, or --allow-missing-values). Every old
/// Flux object (wrapper Kustomization, HelmRelease, HelmRepository) keeps its kind,
/// namespace and name, so that Flux updates it in place: nothing needs suspending.
/// What Flux prunes (normally only the -defaultvalues ConfigMaps, no longer read)
/// is printed. Edits made to the old files are carried over; those that cannot be
/// are listed as warnings and in the commit message.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the Weaveworks pctl installation.
    name: String,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    /// Commit message [default: "pctl: migrate NAME from Weaveworks pctl (PROFILE VERSION)"].
    #[arg(short = 'm', long)]
    message: Option<String>,
    /// Create the namespace (a Namespace object every artifact waits for) unless the
    /// repository or the profile already creates it.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    create_namespace: bool,
    /// Migrate even when a ConfigMap of values a HelmRelease reads is not in the
    /// repository; its values are left out and reported.
    #[arg(long)]
    allow_missing_values: bool,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    #[command(flatten)]
    write: super::WriteFlags,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    op(
        &super::args::context(p, a.repo.repo, a.offline.offline, None),
        MigrateOptions {
            name: a.name,
            mode: a.write.mode(),
            message: a.message,
            create_namespace: a.create_namespace,
            allow_missing_values: a.allow_missing_values,
        },
    )
}
