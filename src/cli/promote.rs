//! `pctl promote` arguments.
use super::upgrade::StrategyArg;
use crate::ops::promote::PromoteOptions;

/// Bring one cluster's installation to the version and values another cluster runs.
///
/// In a fleet (docs/fleets.md), `pctl promote NAME --from staging --to production`
/// brings production's installation NAME to the exact version staging's installation
/// records (the same commits, nested profiles included; no constraint is resolved
/// again) and to staging's own values, through the upgrade merge: production's local
/// edits are kept, and conflicts leave <<<<<<< ours / ======= / >>>>>>> theirs markers,
/// list the paths and exit 3; resolve them and run `pctl promote --continue` (the same
/// as `pctl upgrade --continue`), or `pctl promote --abort`.
///
/// From --from come the version, the values given at install or upgrade (--set,
/// --set-file, -f; they replace --to's), the preset and the value profiles' names.
/// --to keeps its namespace, its secrets and secret references, and its cluster
/// values (.pctl/values/clusters/TO.yaml); value profiles, global.yaml and defaults
/// are read afresh. --from's cluster values never travel.
///
/// One commit, "pctl: promote NAME VERSION from FROM to TO", or with --create-pr a
/// pull request on pctl/promote-TO.NAME-VERSION whose body lists the versions, the
/// values that change (secrets by name only), the changelog, the files and, with
/// `helm` on PATH, what changes in the cluster. Already at --from's version and
/// values: says so, exit 0, no commit.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the installation, the same in both clusters (with --continue or
    /// --abort: optional, and must be the one the stopped merge was merging).
    #[arg(required_unless_present_any = ["continue_", "abort"])]
    name: Option<String>,
    /// The cluster whose installation is the model (e.g. staging).
    #[arg(long, value_name = "CLUSTER", required_unless_present_any = ["continue_", "abort"])]
    from: Option<String>,
    /// The cluster whose installation changes (e.g. production).
    #[arg(long, value_name = "CLUSTER", required_unless_present_any = ["continue_", "abort"])]
    to: Option<String>,
    /// How conflicts are resolved (when the merge runs).
    #[arg(long, value_enum, default_value_t = StrategyArg::Merge)]
    strategy: StrategyArg,
    /// Commit a stopped promotion (or upgrade) once no conflict markers remain.
    #[arg(long = "continue", conflicts_with_all = ["abort", "from", "to", "create_pr", "strategy"])]
    continue_: bool,
    /// Give up a stopped promotion (or upgrade): restore the files as they were.
    #[arg(long, conflicts_with_all = ["from", "to", "create_pr", "strategy"])]
    abort: bool,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    /// Commit message [default: "pctl: promote NAME VERSION from FROM to TO"].
    #[arg(short = 'm', long)]
    message: Option<String>,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    #[command(flatten)]
    write: super::WriteFlags,
    #[command(flatten)]
    pr: super::PrFlags,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, None);
    if a.continue_ {
        return crate::ops::upgrade::continue_pending(&ctx, a.name.as_deref());
    }
    if a.abort {
        return crate::ops::upgrade::abort_pending(&ctx, a.name.as_deref());
    }
    crate::ops::promote::run(
        &ctx,
        PromoteOptions {
            name: a.name.unwrap_or_default(),
            from: a.from.unwrap_or_default(),
            to: a.to.unwrap_or_default(),
            strategy: a.strategy.into(),
            mode: a.write.mode(),
            message: a.message,
            pr: a.pr.options(),
        },
    )
}
