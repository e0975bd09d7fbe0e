//! Flag groups shared by the commands (one declaration and one help text each):
//! `--repo`, `--offline`, `--cluster`/`--all-clusters` and `-o table|json|yaml`, and
//! the ops context built from them.
use crate::printer::{Format, Printer};

/// The GitOps repository a command works on.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RepoArgs {
    /// GitOps repository: a directory, or a URL to clone (a command that writes commits
    /// and pushes there) [default: the Git repository containing the current directory].
    #[arg(long, value_name = "DIR|URL")]
    pub repo: Option<String>,
}

/// The GitOps repository of a command that needs none but uses one when there is one
/// (its catalogs, value profiles and recorded values).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OptionalRepoArgs {
    /// GitOps repository whose .pctl/catalogs.yaml, .pctl/values/ and installations
    /// are used: a directory or a URL [default: the repository of the current
    /// directory, when it is one].
    #[arg(long, value_name = "DIR|URL")]
    pub repo: Option<String>,
}

/// Whether upstream repositories may be fetched.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OfflineArgs {
    /// Use cached upstream repositories only; never fetch.
    #[arg(long)]
    pub offline: bool,
}

/// The output format of a command that prints data.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FormatArgs {
    /// Output format: a table for people, or JSON or YAML for scripts.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// The clusters of a fleet a command works on (docs/fleets.md).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Cluster(s) of .pctl/config.yaml `clusters:` to work on, comma-separated
    /// [default: the only cluster; a repository without `clusters:` is one cluster,
    /// `default`].
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pub cluster: Vec<String>,
    /// Work on every cluster of the repository.
    #[arg(long, conflicts_with = "cluster")]
    pub all_clusters: bool,
}

impl ClusterArgs {
    pub fn selection(&self) -> crate::gitops::clusters::Selection {
        crate::gitops::clusters::Selection {
            names: self.cluster.clone(),
            all: self.all_clusters,
        }
    }
}

/// The ops context of a command from its shared flags.
pub fn context<'p>(
    printer: &'p Printer,
    repo: Option<String>,
    offline: bool,
    clusters: Option<&ClusterArgs>,
) -> crate::ops::Context<'p> {
    crate::ops::Context::new(
        printer,
        crate::ops::Shared {
            repo,
            offline,
            clusters: clusters.map(ClusterArgs::selection).unwrap_or_default(),
        },
    )
}
