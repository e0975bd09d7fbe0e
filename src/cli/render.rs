//! `pctl render` arguments.
use crate::ops::render::{RenderOptions, run as op};
use crate::printer::Printer;

/// Print the manifests a profile would install, as multi-document YAML on stdout, or
/// write the installation's files into a directory with -o DIR.
///
/// Takes the same SOURCE forms as `pctl install`; needs no GitOps repository. With
/// -o DIR the files are exactly those install writes under <installPath>/<NAME>/
/// (record included); DIR must be new, empty, or an unchanged earlier -o output,
/// which is replaced.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Profile to render: URL[//SUBDIR][@REF] or ./DIR.
    source: String,
    /// Installation name used for object names [default: the profile's name]. When the
    /// GitOps repository has an installation of that name, its recorded values apply.
    #[arg(long)]
    name: Option<String>,
    /// Namespace for the profile's workloads.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Install path used in generated Flux paths.
    #[arg(long, default_value = "clusters/default/profiles")]
    install_path: String,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    /// Accept a local profile directory with uncommitted changes or outside Git.
    #[arg(long)]
    allow_dirty: bool,
    /// Instead of manifests, print every parameter with its type, final value (secrets
    /// masked) and the level it came from.
    #[arg(long, conflicts_with = "output")]
    explain: bool,
    /// Write the installation's files into DIR instead of printing the manifests.
    #[arg(short = 'o', long, value_name = "DIR")]
    output: Option<std::path::PathBuf>,
    #[command(flatten)]
    repo: super::args::OptionalRepoArgs,
    /// Apply the values level of this cluster of a fleet
    /// (.pctl/values/clusters/NAME.yaml of the GitOps repository, docs/fleets.md).
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    #[command(flatten)]
    values: super::ValueFlags,
}

pub fn run(a: Args, m: &clap::ArgMatches, p: &Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, None);
    op(
        &ctx,
        RenderOptions {
            explain: a.explain,
            output: a.output,
            values: crate::ops::ValueOptions {
                cluster: a.cluster,
                ..a.values.options(m)
            },
            source: a.source,
            name: a.name,
            namespace: a.namespace,
            install_path: a.install_path,
            allow_dirty: a.allow_dirty,
        },
    )
}
