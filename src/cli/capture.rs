//! `pctl capture` arguments.
use crate::ops::capture::{CaptureOptions, run as op};

/// Turn a directory of manifests in a GitOps repository into a profile.
///
/// Reads DIR as committed (what Flux applies). Each HelmRelease whose HelmRepository or
/// OCIRepository is below DIR becomes a chart artifact (url, name, version) with the
/// release's values as defaultValues; a chart served by the GitOps repository's own
/// GitRepository is copied as a local chart. Everything else becomes the kustomize
/// artifact `manifests` (files copied; kustomization.yaml files kept). Every Secret
/// value, SOPS-encrypted ones and values a HelmRelease reads through valuesFrom
/// included, becomes a `secret` parameter and is never copied: the Secret is written
/// with `{{ params.NAME }}` instead. pctl's own wrappers and records are left out.
/// Writes PROFILE_DIR/profile.yaml and the artifact directories; prints the artifacts
/// and parameters.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of manifests in the GitOps repository.
    dir: String,
    /// Name of the new profile (metadata.name, a DNS-1123 label).
    #[arg(long)]
    name: String,
    /// Directory to write the profile into; must not exist or be empty.
    #[arg(short = 'o', long = "output", value_name = "PROFILE_DIR")]
    output: std::path::PathBuf,
    /// Also turn literals that repeat (a domain, a replica count, an image tag seen
    /// twice or more) into typed parameters defaulting to the literal.
    #[arg(long, visible_alias = "parameterize")]
    parameterise: bool,
    /// GitOps repository: a directory (DIR may then be relative to it) or a URL (DIR is
    /// a path inside it) [default: the Git repository containing DIR].
    #[arg(long)]
    repo: Option<String>,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    op(
        &super::args::context(p, None, false, None),
        CaptureOptions {
            dir: a.dir,
            name: a.name,
            output: a.output,
            parameterise: a.parameterise,
            repo: a.repo,
        },
    )
}
