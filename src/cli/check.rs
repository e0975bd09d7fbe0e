//! `pctl check` arguments.
use crate::ops::check::{CheckOptions, run as op};

/// Check a whole GitOps repository as Flux will apply it, with no cluster.
///
/// Walks from the sync path (`syncPath` of .pctl/config.yaml, else clusters/default):
/// builds every path as kustomize-controller does (a kustomization.yaml that only
/// lists `resources` is evaluated by pctl; one that needs more is built with `kubectl
/// kustomize` or `kustomize build` from PATH; a directory without one is generated),
/// follows every Flux Kustomization whose source is the GitOps repository or an
/// ExternalArtifact generated from it, applies `targetNamespace`, validates every
/// Flux object against the served Flux CRD schemas (embedded), and checks paths,
/// .sourceignore, dependsOn targets and cycles, chart sources and chart paths,
/// valuesFrom ConfigMaps, duplicate objects and namespaces. Each finding reads
/// `FILE:LINE: error|warning|note: message`, then a summary line. Exit code 1 when
/// there is an error. A local repository is checked as its files are on disk.
///
/// In a fleet (docs/fleets.md) it walks from the chosen cluster's syncPath;
/// --all-clusters walks from each cluster's in turn (a summary line per cluster).
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    /// The root sync path, relative to the repository [default: syncPath of
    /// .pctl/config.yaml (of the cluster chosen by --cluster), else clusters/default].
    #[arg(long, value_name = "PATH", conflicts_with_all = ["cluster", "all_clusters"])]
    path: Option<String>,
    /// The Flux GitRepository that syncs the repository, NAMESPACE/NAME [default:
    /// gitRepository of .pctl/config.yaml, else flux-system/flux-system].
    #[arg(long, value_name = "NAMESPACE/NAME")]
    source: Option<String>,
    /// Also render every HelmRelease whose chart is a directory of the repository with
    /// `helm template` (a helm binary on PATH), from its valuesFrom ConfigMaps and values.
    #[arg(long)]
    helm: bool,
    #[command(flatten)]
    output: super::args::FormatArgs,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    op(
        &super::args::context(p, a.repo.repo, false, Some(&a.clusters)),
        CheckOptions {
            path: a.path,
            source: a.source,
            helm: a.helm,
            format: a.output.output,
        },
    )
}
