//! `pctl upgrade` and `pctl sync` (docs/guide.md#upgrades): re-render installations at
//! a new version or with changed inputs, three-way merge the result with the files in
//! the GitOps repository (the user's edits), and commit; on conflicts, stop with
//! markers in the work tree until `pctl upgrade --continue` or `--abort`.
//!
//! base = the recorded version rendered with every recorded value (at the recorded
//! commits, nested profiles included); ours = the installation's files at HEAD;
//! theirs = the target rendered with the values the user gave (recorded flags and
//! files, the recorded preset and value profiles, new flags) over today's value
//! profiles, `global.yaml` and defaults. Secrets cannot be decrypted: a secret kept
//! from the installation renders as [`crate::values::KEPT_SECRET`] and the encrypted file pctl wrote
//! is kept as long as its plaintext would not change.
use crate::error::{conflict, user};
use crate::git::{Changes, Mode, Outcome, TreeView, Upstreams, Workspace};
use crate::gitops::{self, Config};
use crate::merge::{self, FileMerge, Strategy};
use crate::ops::Context as OpsContext;
use crate::ops::ValueOptions;
use crate::printer::Printer;
use crate::record::{self, Installation};
use crate::render::{self, Rendered};
use crate::resolve::{self, Resolved};
use crate::values::{Given, Origin, Raw, is_kept_secret, kept_secret};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod between;
mod groups;
mod plan;
mod promote;
mod release;
mod shared;
use between::refuse_conflicts_between;
pub use groups::GroupBy;
pub use plan::recorded_givens;
use plan::*;
pub use promote::{Promotion, plan_promotion};

pub struct UpgradeOptions {
    /// The installation to upgrade (None with `all`).
    pub name: Option<String>,
    /// Every installation behind the newest version its constraint allows.
    pub all: bool,
    /// A new constraint, tag, branch or commit (recorded as the new request).
    pub to: Option<String>,
    /// The newest version of the channel, whatever the constraint.
    pub latest: bool,
    pub strategy: Strategy,
    pub mode: Mode,
    pub message: Option<String>,
    /// Channel allowed besides stable (default: the recorded one).
    pub channel: Option<String>,
    /// `--create-namespace` (default: the recorded choice).
    pub create_namespace: Option<bool>,
    pub values: ValueOptions,
    /// `--create-pr`: commit on a branch of its own and open a pull request.
    pub pr: Option<crate::ops::pr::PrOptions>,
    /// `--group-by` with `--create-pr`: one pull request per group, kept up to date
    /// by later runs (docs/fleets.md#upgrades-as-pull-requests).
    pub group_by: Option<GroupBy>,
    /// `-o`: the summary of `--group-by` as a table, JSON or YAML.
    pub format: crate::printer::Format,
}

/// `--repo`, `--offline` and `--cluster`/`--all-clusters` come from the ops context
/// (as for [`UpgradeOptions`]).
pub struct SyncOptions {
    pub strategy: Strategy,
    pub mode: Mode,
    pub message: Option<String>,
    pub pr: Option<crate::ops::pr::PrOptions>,
}

/// What theirs is rendered from.
#[derive(Debug, Clone)]
struct Target {
    /// Reference to resolve (None: the newest stable version, else the default branch).
    reference: Option<String>,
    /// What the new record keeps as requested.
    requested: Option<String>,
    /// Resolve at the recorded commits (sync: same versions, new inputs).
    pinned: bool,
    channel: Option<String>,
    /// `pctl promote`: the installation theirs takes its pins, value flags, preset
    /// and value profiles from (None: the one upgraded).
    given: Option<Installation>,
}

/// The merge of one installation, ready to write.
struct Planned {
    name: String,
    /// Repository-relative directory of the installation.
    dir: String,
    from: String,
    to: String,
    /// Repository paths to new content (None = delete), the record included.
    files: BTreeMap<String, Option<Vec<u8>>>,
    /// Per-file merges with repository paths, for conflicts and resolutions.
    merges: Vec<FileMerge>,
    /// Annotated tag messages of the versions after `from` up to `to`.
    changelog: Vec<(String, String)>,
    changed: usize,
    /// The installation's files the merge started from (compared with the
    /// repository's when it may have changed since).
    ours: Ours,
    /// The Git tree of the repository the merge was planned on (None when the view
    /// is not a commit's): when the tree is the same under the write lock, no
    /// installation changed and their files need not be read again.
    planned_on: Option<String>,
    /// The fleet bases its old and new record name, by the record's path (only that
    /// record: [`release::release`]).
    known: BTreeMap<String, release::Known>,
    /// What the merged installation will produce (docs/layout.md#ownership).
    claims: Vec<crate::ownership::Owned>,
    /// Its fleet cluster (docs/fleets.md), for the pull request's branch name.
    cluster: Option<String>,
    /// How messages name it: NAME, or CLUSTER.NAME when several clusters are upgraded.
    label: String,
    profile: String,
    /// Its cluster (`default` in a repository without `clusters:`), for grouping.
    cluster_name: String,
}

impl Planned {
    fn conflicted(&self) -> impl Iterator<Item = &FileMerge> {
        self.merges.iter().filter(|m| !m.conflicts.is_empty())
    }

    fn describe(&self) -> String {
        if self.from == self.to {
            format!("{} {} (re-rendered)", self.label, self.from)
        } else {
            format!("{} {} -> {}", self.label, self.from, self.to)
        }
    }
}

/// State of a merge stopped on conflicts, kept in `.git/pctl-merge.yaml`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    /// `upgrade` or `sync`.
    command: String,
    message: String,
    /// Every repository path the merge wrote or deleted.
    paths: Vec<String>,
    /// Conflicted paths and what conflicts in each.
    conflicts: BTreeMap<String, Vec<String>>,
    /// Directories the merge created (removed again by --abort).
    created_dirs: Vec<String>,
    /// The installations the stopped command was merging (absent in state files
    /// written before pctl recorded them).
    #[serde(default)]
    installations: Vec<String>,
}

/// Everything shared by the installations of one command.
struct Ctx<'a> {
    view: &'a TreeView,
    config: Config,
    /// The fleet cluster whose values level applies (docs/fleets.md).
    cluster: Option<String>,
    /// The cluster's name (`default` in a repository without `clusters:`).
    cluster_name: String,
    upstreams: &'a Upstreams,
    flags: &'a ValueOptions,
    strategy: Strategy,
    /// `--create-namespace` given now (None: the recorded choice).
    create_namespace: Option<bool>,
    /// The repository as Flux applies it, for namespaces and ownership.
    tree: crate::ops::owners::Tree,
    printer: &'a Printer,
    /// Resolutions, changelogs and fleet bases the installations of every cluster
    /// share.
    shared: &'a shared::Shared,
}

/// `--repo`, `--offline` and `--cluster`/`--all-clusters` come from the ops context.
pub fn run(octx: &OpsContext, opts: UpgradeOptions) -> Result<()> {
    run_counted(octx, opts).map(|_| ())
}

/// [`run`], saying whether anything was written: a commit, or a pull request opened
/// or updated (`--detailed-exitcode`, docs/commands.md#pctl-upgrade).
pub fn run_counted(octx: &OpsContext, opts: UpgradeOptions) -> Result<bool> {
    let (out, offline) = (octx.printer(), octx.offline());
    let ws = octx.workspace()?;
    if opts.mode != Mode::DryRun && ws.pending()?.is_some() {
        bail!(user(
            "an upgrade with conflicts is in progress",
            "resolve the conflicts and run `pctl upgrade --continue`, or `pctl upgrade --abort`",
        ));
    }
    let view = ws.view()?;
    let each = crate::gitops::clusters::load_each(&view, &ws.describe(), octx.clusters())?;
    let several = each.len() > 1;
    let upstreams = octx.upstreams()?;
    let shared = shared::Shared::default();
    let mut plans = Vec::new();
    let (mut chosen_any, mut found_name) = (false, false);
    // The ownership scan of the one cluster, when one installation is upgraded: the
    // write keeps the scan of the tree it commits (`owners::after_change`).
    let mut scanned = None;
    // Each installation lives in one cluster: each cluster is planned with its own
    // config, values level and ownership (docs/fleets.md).
    for (config, cluster) in each {
        let (ctx, all) = cluster_ctx(
            &view,
            (config, cluster),
            upstreams,
            &opts.values,
            opts.strategy,
            opts.create_namespace,
            (out, &shared),
        )?;
        let mut chosen: Vec<(String, Installation, Target)> = Vec::new();
        if opts.all {
            for (dir, inst) in all {
                let (behind, error) = ctx.shared.behind(ctx.upstreams, &inst.spec.source);
                if let Some(e) = &error {
                    out.warn(&format!(
                        "{}: cannot read {}: {e}",
                        inst.metadata.name, inst.spec.source.url
                    ));
                }
                if behind {
                    let target = target_of(&inst, None, false, opts.channel.as_deref());
                    chosen.push((dir, inst, target));
                }
            }
        } else {
            let name = opts.name.clone().unwrap_or_default();
            let Some((dir, inst)) = all.into_iter().find(|(_, i)| i.metadata.name == name) else {
                continue;
            };
            found_name = true;
            let target = target_of(
                &inst,
                opts.to.as_deref(),
                opts.latest,
                opts.channel.as_deref(),
            );
            let target = match (&target.reference, opts.latest) {
                (None, true) => latest_target(&ctx, &inst, target)?,
                _ => target,
            };
            chosen.push((dir, inst, target));
        }
        chosen_any |= !chosen.is_empty();
        let mut cluster_plans = Vec::new();
        for (dir, inst, target) in &chosen {
            let mut p = plan(&ctx, dir, inst, target)?;
            if several {
                p.label = crate::ops::pr::scoped_name(Some(&p.cluster_name), &p.name);
            }
            if p.changed == 0 {
                out.info(&format!(
                    "{}: already at {}; nothing to change",
                    p.label, p.from
                ));
                continue;
            }
            cluster_plans.push(p);
        }
        refuse_conflicts_between(&cluster_plans)?;
        plans.extend(cluster_plans);
        if !several && !opts.all {
            scanned = Some((ctx.tree, ctx.config));
        }
    }
    // What the clusters shared (resolved trees, records) is not kept while writing.
    drop(shared);
    if !opts.all && !found_name {
        let name = opts.name.clone().unwrap_or_default();
        return Err(unknown_installation(&name, &view, ws, out));
    }
    if opts.all && !chosen_any {
        out.info("every installation is at the newest version its constraint allows");
        if let (Some(pr), Some(by)) = (&opts.pr, opts.group_by) {
            return groups::open_all(ws, pr, by, Vec::new(), (offline, out), opts.format);
        }
        return Ok(false);
    }
    if let (Some(pr), Some(by)) = (&opts.pr, opts.group_by) {
        return groups::open_all(ws, pr, by, plans, (offline, out), opts.format);
    }
    if plans.is_empty() {
        return Ok(false);
    }
    let message = opts.message.clone().unwrap_or_else(|| {
        let mut m = if plans.len() == 1 {
            format!("pctl: upgrade {}\n", plans[0].describe())
        } else {
            let mut m = format!("pctl: upgrade {} installations\n\n", plans.len());
            for p in &plans {
                m.push_str(&format!("- {}\n", p.describe()));
            }
            m
        };
        for p in &plans {
            for (tag, text) in &p.changelog {
                m.push_str(&format!("\n{tag}:\n{text}\n"));
            }
        }
        m
    });
    finish(
        (ws, out),
        "upgrade",
        &message,
        (opts.mode, offline),
        (opts.pr.as_ref(), scanned.as_ref()),
        &plans,
    )?;
    Ok(opts.mode != Mode::DryRun)
}

pub fn sync(octx: &OpsContext, opts: SyncOptions) -> Result<()> {
    let (out, offline) = (octx.printer(), octx.offline());
    let ws = octx.workspace()?;
    if opts.mode != Mode::DryRun && ws.pending()?.is_some() {
        bail!(user(
            "an upgrade or sync with conflicts is in progress",
            "resolve the conflicts and run `pctl upgrade --continue`, or `pctl upgrade --abort`",
        ));
    }
    let view = ws.view()?;
    let flags = ValueOptions::default();
    let each = crate::gitops::clusters::load_each(&view, &ws.describe(), octx.clusters())?;
    let several = each.len() > 1;
    let upstreams = octx.upstreams()?;
    let shared = shared::Shared::default();
    let mut plans = Vec::new();
    // Each installation lives in one cluster: each cluster is synced with its own
    // config, values level and ownership, all in one commit (docs/fleets.md).
    for (config, cluster) in each {
        let (ctx, all) = cluster_ctx(
            &view,
            (config, cluster),
            upstreams,
            &flags,
            opts.strategy,
            None,
            (out, &shared),
        )?;
        let mut cluster_plans = Vec::new();
        for (dir, inst) in all {
            if inst.spec.source.dirty || inst.spec.source.commit.is_none() {
                out.warn(&format!(
                    "{}: installed from uncommitted files; skipped (reinstall it to sync it)",
                    inst.metadata.name
                ));
                continue;
            }
            let target = Target {
                reference: inst.spec.source.requested.clone(),
                requested: inst.spec.source.requested.clone(),
                pinned: true,
                channel: inst.spec.source.channel.clone(),
                given: None,
            };
            let mut p = plan(&ctx, &dir, &inst, &target)?;
            if several {
                p.label = crate::ops::pr::scoped_name(Some(&p.cluster_name), &p.name);
            }
            if p.changed > 0 {
                cluster_plans.push(p);
            }
        }
        refuse_conflicts_between(&cluster_plans)?;
        plans.extend(cluster_plans);
    }
    // What the clusters shared (resolved trees, records) is not kept while writing.
    drop(shared);
    if plans.is_empty() {
        out.info("every installation matches its inputs; nothing to sync");
        return Ok(());
    }
    let message = opts.message.clone().unwrap_or_else(|| {
        let names: Vec<&str> = plans.iter().map(|p| p.label.as_str()).collect();
        let mut m = format!("pctl: sync {}\n\n", names.join(", "));
        m.push_str("Re-rendered with the current value profiles and .pctl/values/global.yaml.\n");
        m
    });
    finish(
        (ws, out),
        "sync",
        &message,
        (opts.mode, offline),
        (opts.pr.as_ref(), None),
        &plans,
    )
}

/// The context of one cluster of an upgrade or sync, and its installations (each
/// installation lives in one cluster: its config, values level and ownership).
fn cluster_ctx<'a>(
    view: &'a TreeView,
    (config, cluster): (Config, crate::gitops::clusters::Cluster),
    upstreams: &'a Upstreams,
    flags: &'a ValueOptions,
    strategy: Strategy,
    create_namespace: Option<bool>,
    (printer, shared): (&'a Printer, &'a shared::Shared),
) -> Result<(Ctx<'a>, Vec<(String, Installation)>)> {
    let all = shared.installations_in(view, &config, &cluster, printer)?;
    let ctx = Ctx {
        view,
        tree: crate::ops::owners::scan(view, &config)?,
        cluster: crate::ops::cluster::values_level(&config, &cluster),
        cluster_name: cluster.name.clone(),
        config,
        upstreams,
        flags,
        strategy,
        create_namespace,
        printer,
        shared,
    };
    Ok((ctx, all))
}

/// What the plans change in the cluster (docs/commands.md#diff), for a dry run or a
/// pull request.
fn in_cluster(
    ws: &Workspace,
    plans: &[Planned],
    offline: bool,
) -> Result<Option<Result<Vec<crate::chartdiff::ReleaseDiff>, String>>> {
    let view = ws.view()?;
    let list: Vec<crate::ops::incluster::Change> = plans
        .iter()
        .map(|p| crate::ops::incluster::Change {
            dir: &p.dir,
            files: &p.files,
        })
        .collect();
    crate::ops::incluster::diff(&view, &list, offline)
}

/// Write the plans: commit, print the diff of a dry run, or stop on conflicts.
fn finish(
    (ws, out): (&Workspace, &Printer),
    command: &str,
    message: &str,
    (mode, offline): (Mode, bool),
    (pr, scanned): (
        Option<&crate::ops::pr::PrOptions>,
        Option<&(crate::ops::owners::Tree, Config)>,
    ),
    plans: &[Planned],
) -> Result<()> {
    let mut changes = Changes::default();
    for p in plans {
        changes
            .files
            .extend(p.files.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    changes.guard = plans.iter().map(|p| p.dir.clone()).collect();
    // Fleet bases no installation uses after all the plans (docs/fleets.md): from
    // the records planned when the repository is still the one planned on.
    let view = ws.view()?;
    if view.tree_id().is_some() && plans.iter().all(|p| p.planned_on == view.tree_id()) {
        let known: BTreeMap<String, release::Known> = plans
            .iter()
            .flat_map(|p| p.known.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        let users = || release::BaseUsers::of(&view).map(std::rc::Rc::new);
        release::release(&view, &users, &mut changes.files, &known)?;
    } else {
        crate::ops::uninstall::release_bases(&view, &mut changes.files)?;
    }
    for m in plans.iter().flat_map(|p| p.merges.iter()) {
        for r in &m.resolved {
            out.info(&format!("resolved {}: {r}", m.path));
        }
    }
    let conflicted: Vec<&FileMerge> = plans.iter().flat_map(|p| p.conflicted()).collect();
    let what = plans
        .iter()
        .map(Planned::describe)
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(pr) = pr {
        let cluster = crate::ops::incluster::markdown(&in_cluster(ws, plans, offline)?);
        return pull_request(
            (ws, out),
            pr,
            (command, message),
            plans,
            &changes,
            &conflicted,
            cluster,
        );
    }
    if conflicted.is_empty() || mode == Mode::DryRun {
        let outcome: Outcome = ws.apply(message, mode, |view| {
            // Under the lock (or after a remote moved): the merge must still apply.
            // The same tree as planned on holds the same files in every installation.
            let same_tree = view.tree_id();
            for p in plans {
                if same_tree.is_some() && p.planned_on == same_tree {
                    continue;
                }
                if !p.ours.same_in(view, &p.dir)? {
                    bail!(user(
                        format!("{} changed while pctl worked on it", p.dir),
                        "run the command again",
                    ));
                }
            }
            let mut changes = changes.clone();
            // One installation: the ownership scan of the tree committed, for the next
            // command (docs/architecture.md#the-ownership-scan-of-a-whole-tree).
            if let ([p], Some((tree, config))) = (plans, scanned)
                && mode != Mode::DryRun
            {
                let memos = crate::ops::owners::after_change(view, config, tree, &changes, &p.dir);
                changes.memos.extend(memos);
            }
            Ok(changes)
        })?;
        crate::ops::report(out, &outcome, mode, &format!("{command} {what}"));
        if mode == Mode::DryRun {
            match in_cluster(ws, plans, offline)? {
                None => {}
                Some(Err(why)) => out.info(&format!("note: {why}")),
                Some(Ok(diffs)) => out.data(&format!(
                    "{}{}",
                    crate::chartdiff::HEADING,
                    crate::chartdiff::text(&diffs)
                )),
            }
        }
        if !conflicted.is_empty() {
            list_conflicts(&conflicted, out);
            return Err(conflict(
                format!(
                    "dry run: {command} would stop on conflicts in {} file(s)",
                    conflicted.len()
                ),
                "pass --strategy ours or --strategy theirs to resolve them automatically, or run without --dry-run and resolve them by hand",
            ));
        }
        return Ok(());
    }
    list_conflicts(&conflicted, out);
    if ws.root().is_none() {
        return Err(conflict(
            format!(
                "{command} of {what} stopped on conflicts in {} file(s); nothing was pushed",
                conflicted.len()
            ),
            "run it in a local clone (--repo DIR) to resolve them by hand, or pass --strategy ours|theirs",
        ));
    }
    let pending_conflicts: BTreeMap<String, Vec<String>> = conflicted
        .iter()
        .map(|m| (m.path.clone(), m.conflicts.clone()))
        .collect();
    // A whole-file conflict may leave the file as it is: --continue must still read it
    // (the user may delete it to accept upstream's removal) and --abort restore it.
    let mut paths: Vec<String> = changes.files.keys().cloned().collect();
    for p in pending_conflicts.keys() {
        if !paths.contains(p) {
            paths.push(p.clone());
        }
    }
    paths.sort();
    ws.stop_with_conflicts(&changes, |created| {
        let state = Pending {
            command: command.to_string(),
            message: message.to_string(),
            paths: paths.clone(),
            conflicts: pending_conflicts.clone(),
            created_dirs: created.to_vec(),
            installations: plans.iter().map(|p| p.name.clone()).collect(),
        };
        Ok(crate::yaml::to_string(&state)?.into_bytes())
    })?;
    Err(conflict(
        format!(
            "{command} of {what} stopped on conflicts in {} file(s); nothing was committed",
            conflicted.len()
        ),
        "edit the files listed above (remove the <<<<<<< ======= >>>>>>> blocks), then run `pctl upgrade --continue`; or `pctl upgrade --abort` to go back",
    ))
}

/// `--create-pr`: the merge goes on a branch built on the remote's base branch, which
/// must hold the installations as they were merged; conflicts are committed with their
/// markers and listed in the pull request for review (exit 3).
fn pull_request(
    (ws, out): (&Workspace, &Printer),
    pr: &crate::ops::pr::PrOptions,
    (command, message): (&str, &str),
    plans: &[Planned],
    changes: &Changes,
    conflicted: &[&FileMerge],
    in_cluster: Option<String>,
) -> Result<()> {
    let cluster = plans
        .first()
        .and_then(|p| p.cluster.as_deref())
        .filter(|c| plans.iter().all(|p| p.cluster.as_deref() == Some(*c)));
    let (name, version) = match plans {
        [one] => (one.name.clone(), one.to.clone()),
        _ => {
            let what: Vec<String> = plans.iter().map(Planned::describe).collect();
            let digest = record::sha256(what.join("\n").as_bytes());
            ("all".to_string(), digest[..8].to_string())
        }
    };
    let name = crate::ops::pr::scoped_name(cluster, &name);
    let changelog: Vec<String> = plans
        .iter()
        .flat_map(|p| p.changelog.iter())
        .map(|(tag, text)| format!("### {tag}\n\n{text}"))
        .collect();
    let mut conflicts = Vec::new();
    for m in conflicted {
        for c in &m.conflicts {
            conflicts.push(format!("{}: {c}", m.path));
        }
    }
    list_conflicts(conflicted, out);
    let req = crate::ops::pr::PrRequest {
        verb: command.to_string(),
        name,
        version,
        title: message.lines().next().unwrap_or(message).to_string(),
        changelog: (!changelog.is_empty()).then(|| changelog.join("\n\n")),
        conflicts,
        in_cluster,
        summary: None,
    };
    crate::ops::pr::open(
        ws,
        pr,
        &req,
        |view| {
            same_on_base(view, plans)?;
            Ok(changes.clone())
        },
        out,
    )?;
    if !conflicted.is_empty() {
        return Err(pr_conflicts(conflicted.len()));
    }
    Ok(())
}

/// An installation's files as the merge found them, to tell whether a repository holds
/// the same: the Git tree id of its directory, or, in a view that is not a commit's
/// tree, the files themselves (holding every installation's files until the commit
/// was most of an `upgrade --all`'s peak memory).
#[derive(Debug, Clone, PartialEq)]
enum Ours {
    Tree(Vec<u8>),
    Files(BTreeMap<String, Vec<u8>>),
}

impl Ours {
    /// The files below `dir` in `view`, which are `files`.
    fn of(view: &TreeView, dir: &str, files: BTreeMap<String, Vec<u8>>) -> Result<Ours> {
        Ok(match view.dir_key(dir)? {
            Some(id) => Ours::Tree(id),
            None => Ours::Files(files),
        })
    }

    /// Whether `view` holds the same files below `dir`.
    fn same_in(&self, view: &TreeView, dir: &str) -> Result<bool> {
        Ok(match self {
            Ours::Tree(id) => match view.dir_key(dir)? {
                Some(now) => now == *id,
                // No directory there now, or not a commit's tree to compare with.
                None => false,
            },
            Ours::Files(files) => view.files_below(dir)? == *files,
        })
    }
}

/// Refuse a pull request whose base branch holds other files in an installation than
/// the repository the change was planned on.
fn same_on_base<'p>(view: &TreeView, plans: impl IntoIterator<Item = &'p Planned>) -> Result<()> {
    for p in plans {
        if !p.ours.same_in(view, &p.dir)? {
            bail!(user(
                format!(
                    "{} differs between the GitOps repository here and the pull request's base branch",
                    p.dir
                ),
                "pull (or push) so both hold the same installation, then run the command again",
            ));
        }
    }
    Ok(())
}

/// The exit-3 error of a pull request opened with conflict markers in `n` files.
fn pr_conflicts(n: usize) -> anyhow::Error {
    conflict(
        format!(
            "the pull request holds conflicts in {n} file(s), marked <<<<<<< ours / >>>>>>> theirs"
        ),
        "resolve them on the pull request's branch before merging it, or run again with --strategy ours|theirs",
    )
}

fn list_conflicts(conflicted: &[&FileMerge], out: &Printer) {
    for m in conflicted {
        for c in &m.conflicts {
            out.warn(&format!("CONFLICT {}: {c}", m.path));
        }
    }
}

/// `pctl upgrade --continue`: commit a stopped merge once no markers remain.
/// `--repo` comes from the ops context.
pub fn continue_pending(octx: &OpsContext, name: Option<&str>) -> Result<()> {
    let out = octx.printer();
    let ws = octx.workspace()?;
    let state = load_pending(ws)?;
    state.check_name(name, "--continue")?;
    let now = ws.worktree_files(&state.paths)?;
    let left: Vec<&String> = state
        .conflicts
        .keys()
        .filter(|p| {
            now.get(*p)
                .and_then(|c| c.as_deref())
                .is_some_and(merge::has_conflict_markers)
        })
        .collect();
    if !left.is_empty() {
        for p in &left {
            out.warn(&format!("still has conflict markers: {p}"));
        }
        return Err(conflict(
            format!(
                "{} file(s) still hold conflict markers: {}",
                left.len(),
                left.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "remove every <<<<<<< ======= >>>>>>> block, then run `pctl upgrade --continue` again",
        ));
    }
    let changes = Changes {
        own: state.paths.iter().cloned().collect(),
        files: now,
        ..Default::default()
    };
    let outcome = ws.apply(&state.message, Mode::Commit, |_| Ok(changes.clone()))?;
    ws.forget_pending()?;
    let what = state.message.lines().next().unwrap_or_default();
    crate::ops::report(
        out,
        &outcome,
        Mode::Commit,
        what.strip_prefix("pctl: ").unwrap_or(what),
    );
    Ok(())
}

/// `pctl upgrade --abort`: put the work tree back as it was before the merge.
/// `--repo` comes from the ops context.
pub fn abort_pending(octx: &OpsContext, name: Option<&str>) -> Result<()> {
    let ws = octx.workspace()?;
    let state = load_pending(ws)?;
    state.check_name(name, "--abort")?;
    ws.abort_pending(&state.paths, &state.created_dirs)?;
    octx.printer().success(&format!(
        "{} aborted: {} file(s) restored",
        state.command,
        state.paths.len()
    ));
    Ok(())
}

impl Pending {
    /// `pctl upgrade NAME --continue|--abort` names the installation it means: it
    /// must be one the stopped command was merging.
    fn check_name(&self, name: Option<&str>, flag: &str) -> Result<()> {
        let Some(name) = name else { return Ok(()) };
        if self.installations.is_empty() || self.installations.iter().any(|n| n == name) {
            return Ok(());
        }
        bail!(user(
            format!(
                "the {} stopped on conflicts is not of {name:?}: it was merging {}",
                self.command,
                self.installations.join(", ")
            ),
            format!("run `pctl {} {flag}` without a name", self.command),
        ))
    }
}

fn load_pending(ws: &Workspace) -> Result<Pending> {
    let Some(bytes) = ws.pending()? else {
        bail!(user(
            format!(
                "no upgrade with conflicts is in progress in {}",
                ws.describe()
            ),
            "`pctl upgrade NAME` starts one",
        ));
    };
    let text = String::from_utf8_lossy(&bytes);
    let file = format!(".git/{}", crate::git::STOPPED_STATE_FILE);
    crate::yaml::from_str(&file, &text)
}

fn unknown_installation(
    name: &str,
    view: &TreeView,
    ws: &Workspace,
    out: &Printer,
) -> anyhow::Error {
    let names: Vec<String> = crate::ops::installations(view, out)
        .map(|v| v.into_iter().map(|(_, i)| i.metadata.name).collect())
        .unwrap_or_default();
    user(
        format!("no installation named {name:?} in {}", ws.describe()),
        crate::ops::legacy_hint(view, name).unwrap_or_else(|| {
            if names.is_empty() {
                "`pctl list` shows installations; there are none".to_string()
            } else {
                format!("installed: {}", names.join(", "))
            }
        }),
    )
}

/// What an upgrade without `--to` aims at: the newest version the recorded request
/// allows (a pinned tag or commit stays; a branch moves to its tip).
fn target_of(inst: &Installation, to: Option<&str>, latest: bool, channel: Option<&str>) -> Target {
    let src = &inst.spec.source;
    let channel = channel.map(str::to_string).or_else(|| src.channel.clone());
    if latest {
        return Target {
            reference: None,
            requested: None,
            pinned: false,
            channel,
            given: None,
        };
    }
    let reference = to.map(str::to_string).or_else(|| src.requested.clone());
    Target {
        requested: reference.clone(),
        reference,
        pinned: false,
        channel,
        given: None,
    }
}

/// `--latest`: the newest version in the channel, whatever the constraint.
fn latest_target(ctx: &Ctx, inst: &Installation, mut t: Target) -> Result<Target> {
    let src = &inst.spec.source;
    let up = ctx.upstreams.open(&src.url)?;
    let cands: Vec<crate::version::Candidate> = resolve::candidates(&up, &src.path)?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let Some(newest) = crate::version::select(
        &cands,
        &crate::version::Constraint::Latest,
        t.channel.as_deref(),
    ) else {
        bail!(user(
            format!("{}: no version tags for {}", src.url, inst.spec.profile),
            "--latest needs version tags; use --to REF",
        ));
    };
    t.reference = Some(newest.tag.clone());
    Ok(t)
}

#[cfg(test)]
mod ours_tests;
