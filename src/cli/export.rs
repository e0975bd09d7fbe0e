//! `pctl export` and `pctl import` arguments.
use crate::ops::export::{ExportOptions, run as export_op};
use crate::ops::import::{ImportOptions, run as import_op};

/// Bundle one profile version, with every nested profile vendored, into a .tar.gz.
///
/// SOURCE is resolved as by `pctl install`. Every profile of the tree goes into the
/// bundle: the exported one at its own directory, profiles from other repositories (or
/// other commits) under vendor/<repository>/; nested `source` references are rewritten
/// to point inside the bundle (same repository, path and version tag). pctl-export.yaml
/// records the URL, directory, version and commit each profile came from. The archive
/// is deterministic: exporting the same version twice gives identical bytes.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Profile to export: CATALOG/PROFILE[@CONSTRAINT], URL[//SUBDIR][@REF] or ./DIR.
    source: String,
    /// The bundle to write (replaced when it exists).
    #[arg(short = 'o', long = "output", value_name = "FILE.tar.gz")]
    output: std::path::PathBuf,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    /// Accept a local profile directory with uncommitted changes or outside Git.
    #[arg(long)]
    allow_dirty: bool,
    /// Let version constraints also pick versions of this channel (beta, rc, ...).
    #[arg(long)]
    channel: Option<String>,
}

pub fn run_export(a: ExportArgs, p: &crate::printer::Printer) -> anyhow::Result<()> {
    export_op(
        &super::args::context(p, None, a.offline.offline, None),
        ExportOptions {
            source: a.source,
            output: a.output,
            allow_dirty: a.allow_dirty,
            channel: a.channel,
        },
    )
}

/// Unpack a bundle from `pctl export` into a new profile repository.
///
/// Creates DIR as a Git repository (branch main) with one commit holding the bundle's
/// files and an annotated version tag (<path>/vX.Y.Z, the changelog as its message) for
/// the exported profile and each vendored nested profile, so that
/// `pctl install file://DIR//PATH@X.Y.Z` works, offline too. GIT_AUTHOR_* and
/// GIT_COMMITTER_* (name, email, date) pin the commit. Archives with absolute paths,
/// `..`, links, devices, .git entries or entries outside the bundle are refused and
/// nothing is written.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The bundle (.tar.gz) to import.
    file: std::path::PathBuf,
    /// The repository to create; must not exist or be empty.
    dir: std::path::PathBuf,
}

pub fn run_import(a: ImportArgs, p: &crate::printer::Printer) -> anyhow::Result<()> {
    import_op(
        &super::args::context(p, None, false, None),
        ImportOptions {
            file: a.file,
            dir: a.dir,
        },
    )
}
