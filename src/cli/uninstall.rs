//! `pctl uninstall` arguments.
use crate::ops::uninstall::{UninstallOptions, run as op};
use crate::printer::Printer;

/// Remove an installation (its directory and its kustomization entry) in one commit.
///
/// With --create-pr the commit goes to the branch pctl/uninstall-<NAME>-<version> on
/// the remote instead, and a pull request listing the removed files is opened or
/// updated; the pull request's URL is printed.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the installation.
    name: String,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    /// Commit message [default: "pctl: uninstall NAME"].
    #[arg(short = 'm', long)]
    message: Option<String>,
    #[command(flatten)]
    write: super::WriteFlags,
    #[command(flatten)]
    pr: super::PrFlags,
}

pub fn run(a: Args, p: &Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, false, Some(&a.clusters));
    op(
        &ctx,
        UninstallOptions {
            name: a.name,
            mode: a.write.mode(),
            message: a.message,
            pr: a.pr.options(),
        },
    )
}
