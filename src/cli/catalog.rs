//! `pctl catalog` arguments: add, remove, list, update.
use crate::ops::catalog::{self as op, AddOptions, ListOptions, UpdateOptions};
use crate::printer::Format;

/// Manage catalog sources and their indexes.
///
/// Catalogs come from three places, merged by name (the first wins): the GitOps
/// repository's .pctl/catalogs.yaml (shared by the team through Git), the user's
/// $XDG_CONFIG_HOME/pctl/catalogs.yaml (edited by add and remove), and the catalog
/// built into pctl. A catalog is a Git repository whose version tags (DIR/vX.Y.Z,
/// DIR/X.Y.Z, vX.Y.Z) are scanned into an index in $XDG_CACHE_HOME/pctl/catalog, or a
/// list of profiles written by hand.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    Add(AddArgs),
    Remove(RemoveArgs),
    List(ListArgs),
    Update(UpdateArgs),
}

/// Add a Git repository as a catalog in the user's catalogs.yaml and scan it.
///
/// Every tag naming a profile version is read once; `pctl catalog update` later reads
/// only new or moved tags. Nothing is added when the repository cannot be scanned,
/// unless --no-scan.
#[derive(clap::Args, Debug)]
struct AddArgs {
    /// Catalog name (a DNS-1123 label): the CATALOG of CATALOG/PROFILE.
    name: String,
    /// Git repository URL (https://, ssh://, git://, file://, git@host:org/repo) or a
    /// local repository directory.
    url: String,
    /// A description shown by `pctl catalog list -o yaml`.
    #[arg(long)]
    description: Option<String>,
    /// Add it without scanning now (the next `pctl catalog update` scans it).
    #[arg(long)]
    no_scan: bool,
}

/// Remove a catalog from the user's catalogs.yaml.
///
/// Catalogs built into pctl cannot be removed; those of the GitOps repository are
/// removed by editing its .pctl/catalogs.yaml.
#[derive(clap::Args, Debug)]
struct RemoveArgs {
    /// Catalog name.
    name: String,
}

/// List the catalogs: NAME, ORIGIN (embedded, user, repo), URL, PROFILES, VERSIONS,
/// INDEX (when it was scanned, shipped with pctl, by hand, not scanned, corrupt).
#[derive(clap::Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    repo: super::args::OptionalRepoArgs,
    #[command(flatten)]
    output: super::args::FormatArgs,
}

/// Scan every catalog (or NAME) again: fetch it and read only the version tags that are
/// new or moved since the last scan.
///
/// Prints one summary line per catalog on stderr ("read N tags (M unchanged, …)"). A
/// repository that cannot be reached keeps its last index, with a warning; a corrupt
/// index is rebuilt, with a warning; a tag whose profile.yaml is broken is skipped,
/// with a warning naming it. -o json|yaml|table also prints the summary as data.
#[derive(clap::Args, Debug)]
struct UpdateArgs {
    /// Only this catalog.
    name: Option<String>,
    #[command(flatten)]
    repo: super::args::OptionalRepoArgs,
    /// Print the summary as data on stdout.
    #[arg(short = 'o', long, value_enum)]
    output: Option<Format>,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    use super::args::context;
    match a.command {
        Sub::Add(a) => op::add(
            &context(p, None, false, None),
            AddOptions {
                name: a.name,
                url: a.url,
                description: a.description,
                no_scan: a.no_scan,
            },
        ),
        Sub::Remove(a) => op::remove(&context(p, None, false, None), &a.name),
        Sub::List(a) => op::list(
            &context(p, a.repo.repo, false, None),
            ListOptions {
                format: a.output.output,
            },
        ),
        Sub::Update(a) => op::update(
            &context(p, a.repo.repo, false, None),
            UpdateOptions {
                name: a.name,
                format: a.output,
            },
        ),
    }
}
