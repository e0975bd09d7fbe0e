//! Flag groups shared by the commands (one declaration and one help text each):
//! `--repo`, and `--cluster`/`--all-clusters` for the commands that touch installations.

/// The GitOps repository a command works on.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RepoArgs {
    /// GitOps repository: a directory, or a URL to clone (a command that writes commits
    /// and pushes there) [default: the Git repository containing the current directory].
    #[arg(long, value_name = "DIR|URL")]
    pub repo: Option<String>,
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
