//! `pctl upgrade` and `pctl sync` arguments.
use crate::merge::Strategy;
use crate::ops::upgrade::{GroupBy, SyncOptions, UpgradeOptions};
use crate::printer::Format;

/// How `--strategy` resolves conflicts.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum StrategyArg {
    /// Stop on conflicts: leave markers in the files, list them, exit 3.
    #[default]
    Merge,
    /// Resolve every conflict with the repository's version (your edits).
    Ours,
    /// Resolve every conflict with the new upstream version.
    Theirs,
}

impl From<StrategyArg> for Strategy {
    fn from(s: StrategyArg) -> Strategy {
        match s {
            StrategyArg::Merge => Strategy::Merge,
            StrategyArg::Ours => Strategy::Ours,
            StrategyArg::Theirs => Strategy::Theirs,
        }
    }
}

/// Upgrade an installation to a newer version, keeping your edits.
///
/// A three-way merge: base = the installed version rendered again with the recorded
/// values, ours = the installation's files now (with your edits), theirs = the target
/// version rendered with the values you gave at install (recorded) plus any new value
/// flags. YAML documents are merged by structure (matched by apiVersion, kind,
/// namespace and name; lists of named items by name), other files line by line.
///
/// Without --to the target is the newest version the recorded constraint allows (a
/// branch moves to its tip). On conflicts nothing is committed: the files keep
/// <<<<<<< ours / ======= / >>>>>>> theirs markers, the paths are listed and the exit
/// code is 3; edit them and run `pctl upgrade --continue`, or `pctl upgrade --abort`.
///
/// With `helm` on PATH, --dry-run and --create-pr also show what changes in the
/// cluster: each HelmRelease's chart rendered by `helm template` now and after the
/// merge, object by object.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the installation (with --continue or --abort: optional, and must be
    /// the one the stopped upgrade was merging).
    #[arg(required_unless_present_any = ["all", "continue_", "abort"])]
    name: Option<String>,
    /// Upgrade every installation that is behind the newest version its constraint allows.
    #[arg(long, conflicts_with_all = ["name", "to", "latest"])]
    all: bool,
    /// Target: a version constraint (^2.0, 2.1.0, latest), tag, branch or commit;
    /// recorded as the installation's new constraint.
    #[arg(long, value_name = "CONSTRAINT")]
    to: Option<String>,
    /// Target the newest version of the channel, whatever the recorded constraint
    /// (which is then dropped).
    #[arg(long, conflicts_with = "to")]
    latest: bool,
    /// How conflicts are resolved (when the merge runs; not with --continue or
    /// --abort, which finish a merge that already stopped).
    #[arg(long, value_enum, default_value_t = StrategyArg::Merge)]
    strategy: StrategyArg,
    /// Commit a stopped upgrade once no conflict markers remain.
    #[arg(long = "continue", conflicts_with_all = ["all", "abort", "to", "latest", "create_pr", "strategy"])]
    continue_: bool,
    /// Give up a stopped upgrade: restore the files as they were before it.
    #[arg(long, conflicts_with_all = ["all", "to", "latest", "create_pr", "strategy"])]
    abort: bool,
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    /// Commit message [default: "pctl: upgrade NAME FROM -> TO"].
    #[arg(short = 'm', long)]
    message: Option<String>,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    /// Let constraints also pick versions of this channel [default: the recorded one].
    #[arg(long)]
    channel: Option<String>,
    /// Create the namespace unless the repository or the profile already creates it
    /// [default: as recorded at install]; the new choice is recorded.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    create_namespace: Option<bool>,
    #[command(flatten)]
    values: super::ValueFlags,
    #[command(flatten)]
    write: super::WriteFlags,
    #[command(flatten)]
    pr: super::PrFlags,
    /// With --create-pr: one pull request per group (cluster, profile or
    /// installation) on the branch pctl/upgrade/<group>, which holds no version: a
    /// run with nothing new writes nothing, a newer version updates the open pull
    /// request, and one closed or merged with the same versions is not opened again
    /// (docs/fleets.md#upgrades-as-pull-requests).
    #[arg(long, value_enum, value_name = "GROUP", requires = "create_pr")]
    group_by: Option<GroupByArg>,
    /// Answer yes to any question (pctl upgrade asks none: accepted for scheduled
    /// jobs).
    #[arg(short = 'y', long)]
    yes: bool,
    /// Exit 4 when something was written (a commit, or a pull request opened or
    /// updated), 0 when there was nothing to do; errors keep 1, 2 and 3.
    #[arg(long)]
    detailed_exitcode: bool,
    /// The summary of --group-by (groups, branches, pull requests, actions).
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

/// `--group-by`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum GroupByArg {
    /// One pull request per profile, across clusters.
    Profile,
    /// One pull request per cluster.
    Cluster,
    /// One pull request per installation of each cluster.
    Installation,
}

/// The exit code of `--detailed-exitcode` when something was written.
pub const CHANGED: i32 = 4;

pub fn run(a: Args, m: &clap::ArgMatches, p: &crate::printer::Printer) -> anyhow::Result<i32> {
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, Some(&a.clusters));
    if a.continue_ {
        return crate::ops::upgrade::continue_pending(&ctx, a.name.as_deref()).map(|_| 0);
    }
    if a.abort {
        return crate::ops::upgrade::abort_pending(&ctx, a.name.as_deref()).map(|_| 0);
    }
    let _ = a.yes;
    let detailed = a.detailed_exitcode;
    let wrote = crate::ops::upgrade::run_counted(
        &ctx,
        UpgradeOptions {
            group_by: a.group_by.map(|g| match g {
                GroupByArg::Profile => GroupBy::Profile,
                GroupByArg::Cluster => GroupBy::Cluster,
                GroupByArg::Installation => GroupBy::Installation,
            }),
            format: a.output,
            values: a.values.options(m),
            name: a.name,
            all: a.all,
            to: a.to,
            latest: a.latest,
            strategy: a.strategy.into(),
            mode: a.write.mode(),
            message: a.message,
            channel: a.channel,
            create_namespace: a.create_namespace,
            pr: a.pr.options(),
        },
    )?;
    Ok(if detailed && wrote { CHANGED } else { 0 })
}

/// Re-render every installation whose inputs changed without a version change.
///
/// After an edit to a value profile (.pctl/values/NAME.yaml), to a cluster's
/// .pctl/values/clusters/CLUSTER.yaml or to .pctl/values/global.yaml, each
/// installation is rendered again at its recorded version with the values you gave at
/// install, and merged with its files as `pctl upgrade` does; all changes go in one
/// commit, across every cluster chosen (`--all-clusters`: each installation in its
/// own cluster). Conflicts stop the same way (finish with `pctl upgrade --continue`
/// or `--abort`).
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    repo: super::args::RepoArgs,
    #[command(flatten)]
    clusters: super::args::ClusterArgs,
    /// How conflicts are resolved.
    #[arg(long, value_enum, default_value_t = StrategyArg::Merge)]
    strategy: StrategyArg,
    /// Commit message [default: "pctl: sync NAMES"].
    #[arg(short = 'm', long)]
    message: Option<String>,
    #[command(flatten)]
    offline: super::args::OfflineArgs,
    #[command(flatten)]
    write: super::WriteFlags,
    #[command(flatten)]
    pr: super::PrFlags,
}

pub fn sync(a: SyncArgs, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let ctx = super::args::context(p, a.repo.repo, a.offline.offline, Some(&a.clusters));
    crate::ops::upgrade::sync(
        &ctx,
        SyncOptions {
            strategy: a.strategy.into(),
            mode: a.write.mode(),
            message: a.message,
            pr: a.pr.options(),
        },
    )
}
