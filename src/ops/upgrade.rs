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
use crate::ops::ValueOptions;
use crate::printer::printer;
use crate::record::{self, Installation};
use crate::render::{self, Rendered};
use crate::resolve::{self, Resolved, Resolver};
use crate::source::SourceSpec;
use crate::values::{Given, Origin, Raw, is_kept_secret, kept_secret};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    pub repo: Option<String>,
    /// `--cluster` / `--all-clusters` (docs/fleets.md).
    pub clusters: crate::gitops::clusters::Selection,
    pub mode: Mode,
    pub message: Option<String>,
    pub offline: bool,
    /// Channel allowed besides stable (default: the recorded one).
    pub channel: Option<String>,
    /// `--create-namespace` (default: the recorded choice).
    pub create_namespace: Option<bool>,
    pub values: ValueOptions,
    /// `--create-pr`: commit on a branch of its own and open a pull request.
    pub pr: Option<crate::ops::pr::PrOptions>,
}

pub struct SyncOptions {
    pub repo: Option<String>,
    /// `--cluster` / `--all-clusters` (docs/fleets.md).
    pub clusters: crate::gitops::clusters::Selection,
    pub strategy: Strategy,
    pub mode: Mode,
    pub message: Option<String>,
    pub offline: bool,
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
    /// Fingerprint of the installation's files the merge started from.
    ours: String,
    /// What the merged installation will produce (docs/layout.md#ownership).
    claims: Vec<crate::ownership::Owned>,
}

impl Planned {
    fn conflicted(&self) -> impl Iterator<Item = &FileMerge> {
        self.merges.iter().filter(|m| !m.conflicts.is_empty())
    }

    fn describe(&self) -> String {
        if self.from == self.to {
            format!("{} {} (re-rendered)", self.name, self.from)
        } else {
            format!("{} {} -> {}", self.name, self.from, self.to)
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
    upstreams: Upstreams,
    flags: &'a ValueOptions,
    strategy: Strategy,
    /// `--create-namespace` given now (None: the recorded choice).
    create_namespace: Option<bool>,
    /// The repository as Flux applies it, for namespaces and ownership.
    tree: crate::ops::owners::Tree,
}

pub fn run(opts: UpgradeOptions) -> Result<()> {
    let ws = Workspace::open(opts.repo.as_deref())?;
    if opts.mode != Mode::DryRun && ws.pending()?.is_some() {
        bail!(user(
            "an upgrade with conflicts is in progress",
            "resolve the conflicts and run `pctl upgrade --continue`, or `pctl upgrade --abort`",
        ));
    }
    let view = ws.view()?;
    let crate::ops::cluster::OneCluster {
        config,
        values_level: cluster,
        installations: all,
    } = crate::ops::cluster::one_cluster(&view, &ws.describe(), &opts.clusters, "upgrade")?;
    let ctx = Ctx {
        view: &view,
        tree: crate::ops::owners::scan(&view, &config)?,
        config,
        cluster,
        upstreams: Upstreams::new(opts.offline)?,
        flags: &opts.values,
        strategy: opts.strategy,
        create_namespace: opts.create_namespace,
    };
    let mut chosen: Vec<(String, Installation, Target)> = Vec::new();
    if opts.all {
        for (dir, inst) in all {
            let info = crate::tracking::update_info(&ctx.upstreams, &inst.spec.source);
            if let Some(e) = &info.error {
                printer().warn(&format!(
                    "{}: cannot read {}: {e}",
                    inst.metadata.name, inst.spec.source.url
                ));
            }
            if info.behind() {
                let target = target_of(&inst, None, false, opts.channel.as_deref());
                chosen.push((dir, inst, target));
            }
        }
        if chosen.is_empty() {
            printer().info("every installation is at the newest version its constraint allows");
            return Ok(());
        }
    } else {
        let name = opts.name.clone().unwrap_or_default();
        let Some((dir, inst)) = all.into_iter().find(|(_, i)| i.metadata.name == name) else {
            return Err(unknown_installation(&name, &view, &ws));
        };
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

    let mut plans = Vec::new();
    for (dir, inst, target) in &chosen {
        let p = plan(&ctx, dir, inst, target)?;
        if p.changed == 0 {
            printer().info(&format!(
                "{}: already at {}; nothing to change",
                p.name, p.from
            ));
            continue;
        }
        plans.push(p);
    }
    refuse_conflicts_between(&plans)?;
    if plans.is_empty() {
        return Ok(());
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
        &ws,
        "upgrade",
        &message,
        (opts.mode, opts.offline),
        opts.pr.as_ref(),
        &plans,
    )
}

pub fn sync(opts: SyncOptions) -> Result<()> {
    let ws = Workspace::open(opts.repo.as_deref())?;
    if opts.mode != Mode::DryRun && ws.pending()?.is_some() {
        bail!(user(
            "an upgrade or sync with conflicts is in progress",
            "resolve the conflicts and run `pctl upgrade --continue`, or `pctl upgrade --abort`",
        ));
    }
    let view = ws.view()?;
    let flags = ValueOptions::default();
    let crate::ops::cluster::OneCluster {
        config,
        values_level: cluster,
        installations: all,
    } = crate::ops::cluster::one_cluster(&view, &ws.describe(), &opts.clusters, "sync")?;
    let ctx = Ctx {
        view: &view,
        tree: crate::ops::owners::scan(&view, &config)?,
        config,
        cluster,
        upstreams: Upstreams::new(opts.offline)?,
        flags: &flags,
        strategy: opts.strategy,
        create_namespace: None,
    };
    let mut plans = Vec::new();
    for (dir, inst) in all {
        if inst.spec.source.dirty || inst.spec.source.commit.is_none() {
            printer().warn(&format!(
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
        };
        let p = plan(&ctx, &dir, &inst, &target)?;
        if p.changed > 0 {
            plans.push(p);
        }
    }
    refuse_conflicts_between(&plans)?;
    if plans.is_empty() {
        printer().info("every installation matches its inputs; nothing to sync");
        return Ok(());
    }
    let message = opts.message.clone().unwrap_or_else(|| {
        let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
        let mut m = format!("pctl: sync {}\n\n", names.join(", "));
        m.push_str("Re-rendered with the current value profiles and .pctl/values/global.yaml.\n");
        m
    });
    finish(
        &ws,
        "sync",
        &message,
        (opts.mode, opts.offline),
        opts.pr.as_ref(),
        &plans,
    )
}

/// Installations upgraded together must not start producing the same objects.
fn refuse_conflicts_between(plans: &[Planned]) -> Result<()> {
    for (i, p) in plans.iter().enumerate() {
        for q in &plans[i + 1..] {
            let found = crate::ownership::conflicts(&q.claims, &p.claims);
            if !found.is_empty() {
                bail!(user(
                    format!(
                        "upgrade of {} and {}: both would produce the same object(s) or Helm release(s):\n{}",
                        p.name,
                        q.name,
                        crate::ownership::describe(&found)
                    ),
                    "upgrade them one at a time to see which one can keep them",
                ));
            }
        }
    }
    Ok(())
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
    ws: &Workspace,
    command: &str,
    message: &str,
    (mode, offline): (Mode, bool),
    pr: Option<&crate::ops::pr::PrOptions>,
    plans: &[Planned],
) -> Result<()> {
    let mut changes = Changes::default();
    for p in plans {
        changes
            .files
            .extend(p.files.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    changes.guard = plans.iter().map(|p| p.dir.clone()).collect();
    for m in plans.iter().flat_map(|p| p.merges.iter()) {
        for r in &m.resolved {
            printer().info(&format!("resolved {}: {r}", m.path));
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
            ws,
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
            for p in plans {
                if fingerprint(&view.files_below(&p.dir)?) != p.ours {
                    bail!(user(
                        format!("{} changed while pctl worked on it", p.dir),
                        "run the command again",
                    ));
                }
            }
            Ok(changes.clone())
        })?;
        crate::ops::report(&outcome, mode, &format!("{command} {what}"));
        if mode == Mode::DryRun {
            match in_cluster(ws, plans, offline)? {
                None => {}
                Some(Err(why)) => printer().info(&format!("note: {why}")),
                Some(Ok(diffs)) => printer().data(&format!(
                    "# What changes in the cluster (helm template, per HelmRelease):\n{}",
                    crate::chartdiff::text(&diffs)
                )),
            }
        }
        if !conflicted.is_empty() {
            list_conflicts(&conflicted);
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
    list_conflicts(&conflicted);
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
    ws: &Workspace,
    pr: &crate::ops::pr::PrOptions,
    (command, message): (&str, &str),
    plans: &[Planned],
    changes: &Changes,
    conflicted: &[&FileMerge],
    in_cluster: Option<String>,
) -> Result<()> {
    let (name, version) = match plans {
        [one] => (one.name.clone(), one.to.clone()),
        _ => {
            let what: Vec<String> = plans.iter().map(Planned::describe).collect();
            let digest = record::sha256(what.join("\n").as_bytes());
            ("all".to_string(), digest[..8].to_string())
        }
    };
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
    list_conflicts(conflicted);
    let req = crate::ops::pr::PrRequest {
        verb: command.to_string(),
        name,
        version,
        title: message.lines().next().unwrap_or(message).to_string(),
        changelog: (!changelog.is_empty()).then(|| changelog.join("\n\n")),
        conflicts,
        in_cluster,
    };
    crate::ops::pr::open(ws, pr, &req, |view| {
        for p in plans {
            if fingerprint(&view.files_below(&p.dir)?) != p.ours {
                bail!(user(
                    format!(
                        "{} differs between the GitOps repository here and the pull request's base branch",
                        p.dir
                    ),
                    "pull (or push) so both hold the same installation, then run the command again",
                ));
            }
        }
        Ok(changes.clone())
    })?;
    if !conflicted.is_empty() {
        return Err(conflict(
            format!(
                "the pull request holds conflicts in {} file(s), marked <<<<<<< ours / >>>>>>> theirs",
                conflicted.len()
            ),
            "resolve them on the pull request's branch before merging it, or run again with --strategy ours|theirs",
        ));
    }
    Ok(())
}

fn list_conflicts(conflicted: &[&FileMerge]) {
    for m in conflicted {
        for c in &m.conflicts {
            printer().warn(&format!("CONFLICT {}: {c}", m.path));
        }
    }
}

/// `pctl upgrade --continue`: commit a stopped merge once no markers remain.
pub fn continue_pending(repo: Option<&str>, name: Option<&str>) -> Result<()> {
    let ws = Workspace::open(repo)?;
    let state = load_pending(&ws)?;
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
            printer().warn(&format!("still has conflict markers: {p}"));
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
        guard: Vec::new(),
    };
    let outcome = ws.apply(&state.message, Mode::Commit, |_| Ok(changes.clone()))?;
    ws.forget_pending()?;
    let what = state.message.lines().next().unwrap_or_default();
    crate::ops::report(
        &outcome,
        Mode::Commit,
        what.strip_prefix("pctl: ").unwrap_or(what),
    );
    Ok(())
}

/// `pctl upgrade --abort`: put the work tree back as it was before the merge.
pub fn abort_pending(repo: Option<&str>, name: Option<&str>) -> Result<()> {
    let ws = Workspace::open(repo)?;
    let state = load_pending(&ws)?;
    state.check_name(name, "--abort")?;
    ws.abort_pending(&state.paths, &state.created_dirs)?;
    printer().success(&format!(
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

fn unknown_installation(name: &str, view: &TreeView, ws: &Workspace) -> anyhow::Error {
    let names: Vec<String> = crate::ops::installations(view)
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
        };
    }
    let reference = to.map(str::to_string).or_else(|| src.requested.clone());
    Target {
        requested: reference.clone(),
        reference,
        pinned: false,
        channel,
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

/// Re-render one installation and merge it with the repository's files.
fn plan(ctx: &Ctx, dir: &str, inst: &Installation, target: &Target) -> Result<Planned> {
    let name = inst.metadata.name.clone();
    let src = &inst.spec.source;
    if src.dirty || src.commit.is_none() {
        bail!(user(
            format!(
                "{name} was installed from a directory with uncommitted changes: the installed files cannot be rendered again to merge with"
            ),
            "reinstall it from a commit (pctl uninstall, then pctl install)",
        ));
    }
    let spec_of = |reference: Option<String>| SourceSpec::Git {
        url: src.url.clone(),
        subdir: src.path.clone(),
        reference,
    };
    let pins = pins_of(inst);

    // base: exactly what was installed.
    let mut r = Resolver::new(
        &ctx.upstreams,
        resolve::Options {
            allow_dirty: false,
            channel: src.channel.clone(),
        },
    );
    r.pins = pins.clone();
    let base_tree = r.resolve(&spec_of(src.requested.clone()))?;
    let base_keys = render::parameter_keys(&base_tree);
    let base_inputs = crate::values::Inputs {
        recorded: recorded_givens(inst, dir, &base_keys, true),
        secret_refs: inst.spec.secret_refs.keys().cloned().collect(),
        ..Default::default()
    };
    let base = render_with(
        ctx,
        dir,
        inst,
        &base_tree,
        base_inputs,
        &recorded_refs(inst)?,
        crate::namespaces::Policy::of_record(inst.spec.namespaces.as_ref()),
    )?;

    // theirs: the target with the values the user gave.
    let mut r = Resolver::new(
        &ctx.upstreams,
        resolve::Options {
            allow_dirty: false,
            channel: target.channel.clone(),
        },
    );
    if target.pinned {
        r.pins = pins;
    }
    let mut theirs_tree = r.resolve(&spec_of(target.reference.clone()))?;
    for w in &r.warnings {
        printer().warn(w);
    }
    theirs_tree.source.requested = target.requested.clone();
    theirs_tree.source.catalog = src.catalog.clone();
    theirs_tree.source.channel = target.channel.clone();
    let keys = render::parameter_keys(&theirs_tree);
    let mut flags = ctx.flags.clone();
    flags.cluster = ctx.cluster.clone();
    if flags.preset.is_none() {
        flags.preset = inst
            .spec
            .preset
            .clone()
            .or_else(|| preset_from_labels(inst));
    }
    if flags.values_profiles.is_empty() {
        flags.values_profiles = inst.spec.values_profiles.clone();
    }
    let mut refs: Vec<String> = inst
        .spec
        .secret_refs
        .iter()
        .filter(|(k, _)| keys.get(*k) == Some(&true))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    refs.extend(flags.secret_refs.iter().cloned());
    flags.secret_refs = refs;
    let secret_refs = flags.secret_refs()?;
    let mut inputs = crate::ops::gather_values(&flags, Some(ctx.view))?;
    inputs.recorded = recorded_givens(inst, dir, &keys, false);
    inputs
        .recorded
        .retain(|g| !(is_kept_secret(&g.value) && secret_refs.contains_key(&g.key)));
    for (k, v) in &inst.spec.values {
        if !keys.contains_key(k) && user_given(&v.source) {
            printer().warn(&format!(
                "{name}: the value of {k} (from {}) is dropped: {} {} no longer declares it",
                v.source,
                theirs_tree.def.name,
                theirs_tree.source.label()
            ));
        }
    }
    let policy = crate::namespaces::Policy {
        keep_explicit: true,
        create: ctx
            .create_namespace
            .unwrap_or_else(|| inst.spec.namespaces.as_ref().is_none_or(|r| r.create)),
        created_elsewhere: ctx.tree.creates_namespace(&inst.spec.namespace, Some(dir)),
    };
    let theirs = render_with(ctx, dir, inst, &theirs_tree, inputs, &secret_refs, policy)?;
    crate::ops::owners::refuse_conflicts(&ctx.tree, &theirs, dir, &name, "upgrade")?;
    let claims = crate::ops::owners::claims_of(&theirs, dir, &name, &ctx.config.git_repository);
    if inst.spec.namespaces.is_none() {
        warn_namespace_change(&name, &inst.spec.namespace, &base, &theirs);
    }

    let ours_all = ctx.view.files_below(dir)?;
    let fingerprint = fingerprint(&ours_all);
    let prefix = format!("{dir}/");
    let mut ours: BTreeMap<String, Vec<u8>> = ours_all
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v)))
        .collect();
    ours.remove(record::FILE);
    let (base_files, theirs_files) = seal(&name, &base, &theirs, &ours)?;
    let merges = merge::merge_tree(&base_files, &ours, &theirs_files, ctx.strategy);

    warn_orphans(&name, dir, &merges);
    let mut record = theirs.record.clone();
    record.spec.files = theirs_files
        .iter()
        .map(|(k, v)| (k.clone(), record::sha256(v)))
        .collect();
    let record_bytes = record.to_yaml()?.into_bytes();

    let mut files = BTreeMap::new();
    let mut changed = 0;
    let mut repo_merges = Vec::new();
    for m in merges {
        let path = gitops::join(dir, &m.path);
        if m.result.as_deref() != ours.get(&m.path).map(Vec::as_slice) {
            changed += 1;
            files.insert(path.clone(), m.result.clone());
        }
        repo_merges.push(FileMerge { path, ..m });
    }
    let record_path = gitops::join(dir, record::FILE);
    if ctx.view.read(&record_path)?.as_deref() != Some(record_bytes.as_slice()) {
        changed += 1;
        files.insert(record_path, Some(record_bytes));
    }
    let from = inst.version_label();
    let to = record.version_label();
    let changelog = if from != to {
        changelog(ctx, inst, &record)?
    } else {
        Vec::new()
    };
    Ok(Planned {
        name,
        dir: dir.to_string(),
        from,
        to,
        files,
        merges: repo_merges,
        changelog,
        changed,
        ours: fingerprint,
        claims,
    })
}

fn render_with(
    ctx: &Ctx,
    dir: &str,
    inst: &Installation,
    tree: &Resolved,
    inputs: crate::values::Inputs,
    secret_refs: &BTreeMap<String, (String, String)>,
    namespaces: crate::namespaces::Policy,
) -> Result<Rendered> {
    let rendered = render::render(
        tree,
        &render::Options {
            name: inst.metadata.name.clone(),
            namespace: inst.spec.namespace.clone(),
            install_dir: dir.to_string(),
            git_repository: ctx.config.git_repository.clone(),
            inputs,
            sops_yaml: ctx.view.read_string(".sops.yaml")?,
            secret_refs: secret_refs.clone(),
            namespaces,
        },
    )?;
    crate::check::check(&rendered, dir, &ctx.config.git_repository.name)?;
    Ok(rendered)
}

/// An installation recorded before pctl kept explicit namespaces is upgraded to the
/// rules of docs/security.md#trust-model: say which artifacts now place objects differently (a Namespace
/// object no longer renamed, an explicit namespace no longer overridden) and whether
/// the namespace is now created.
fn warn_namespace_change(name: &str, ns: &str, base: &Rendered, theirs: &Rendered) {
    let has_target = |r: &Rendered, path: &str| {
        r.files
            .get(path)
            .is_some_and(|b| String::from_utf8_lossy(b).contains("\n  targetNamespace:"))
    };
    let mut moved = Vec::new();
    for l in theirs.leaves.iter().filter(|l| l.kind == "kustomize") {
        let wrapper = format!("artifacts/{}/{}", l.id, render::WRAPPER_FILE);
        if !has_target(base, &wrapper) || has_target(theirs, &wrapper) {
            continue;
        }
        let prefix = format!("artifacts/{}/", l.id);
        let files: BTreeMap<String, Vec<u8>> = theirs
            .files
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v.clone())))
            .collect();
        for o in crate::namespaces::build(&files, "") {
            if o.kind == "Namespace" && o.name != ns {
                moved.push(format!("Namespace {} (was renamed to {ns})", o.name));
            } else if let Some(n) = o.namespace.as_deref().filter(|n| *n != ns) {
                moved.push(format!("{} {n}/{} (was moved into {ns})", o.kind, o.name));
            }
        }
    }
    if !moved.is_empty() {
        printer().warn(&format!(
            "{name} was installed before pctl kept explicit namespaces; from now on these objects keep the namespace their YAML names: {}; check the diff before you commit",
            moved.join(", ")
        ));
    }
    if theirs.leaves.iter().any(|l| l.kind == "namespace") {
        printer().info(&format!(
            "{name}: namespace {ns} is now created by the installation (a Namespace that uninstalling leaves in place); pass --create-namespace=false if something else creates it"
        ));
    }
}

/// Encrypted files cannot be compared by their bytes (every encryption differs) and
/// kept secrets cannot be encrypted again: where base and theirs encrypt the same
/// plaintext, both take the bytes in the repository, so the file stays as it is.
/// Returns base's and theirs' files without the record.
#[allow(clippy::type_complexity)]
fn seal(
    name: &str,
    base: &Rendered,
    theirs: &Rendered,
    ours: &BTreeMap<String, Vec<u8>>,
) -> Result<(BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>)> {
    let mut b = base.files.clone();
    let mut t = theirs.files.clone();
    b.remove(record::FILE);
    t.remove(record::FILE);
    for (path, sealed) in &base.sealed {
        let Some(mine) = ours.get(path) else { continue };
        b.insert(path.clone(), mine.clone());
        if theirs.sealed.get(path).map(|s| &s.plain_sha256) == Some(&sealed.plain_sha256) {
            t.insert(path.clone(), mine.clone());
        }
    }
    for (path, sealed) in &theirs.sealed {
        if !sealed.kept.is_empty() && t.get(path) != ours.get(path) {
            bail!(user(
                format!(
                    "{name}: the encrypted file {path} changes in this version and holds secrets kept from the installation, which pctl cannot decrypt"
                ),
                format!(
                    "pass {} again with --set-file NAME=PATH or --set-env NAME=VAR",
                    sealed
                        .kept
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
    }
    Ok((b, t))
}

/// Files kept in an artifact directory whose wrapper is gone (an artifact removed
/// upstream whose files were edited here, kept by a conflict or `--strategy ours`):
/// Flux no longer applies them, so say so.
fn warn_orphans(name: &str, dir: &str, merges: &[FileMerge]) {
    let kept: std::collections::BTreeSet<&str> = merges
        .iter()
        .filter(|m| m.result.is_some())
        .map(|m| m.path.as_str())
        .collect();
    let mut warned = std::collections::BTreeSet::new();
    for path in &kept {
        let Some(id) = path
            .strip_prefix("artifacts/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(id, _)| id)
        else {
            continue;
        };
        let wrapper = format!("artifacts/{id}/{}", render::WRAPPER_FILE);
        if !kept.contains(wrapper.as_str()) && warned.insert(id) {
            printer().warn(&format!(
                "{name}: {dir}/artifacts/{id}/ keeps files of an artifact the new version removed; Flux no longer applies them (delete the directory, or move what you need elsewhere)"
            ));
        }
    }
}

/// A digest of an installation's files, to notice a change made while pctl worked.
fn fingerprint(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut all = Vec::new();
    for (k, v) in files {
        all.extend_from_slice(k.as_bytes());
        all.push(0);
        all.extend_from_slice(record::sha256(v).as_bytes());
    }
    record::sha256(&all)
}

/// The commits of the installed profile and of every nested profile.
fn pins_of(inst: &Installation) -> BTreeMap<(String, String), String> {
    let mut pins = BTreeMap::new();
    let mut add = |s: &record::SourceRecord| {
        if let Some(c) = &s.commit {
            pins.insert((s.url.clone(), s.path.clone()), c.clone());
        }
    };
    add(&inst.spec.source);
    for n in &inst.spec.nested {
        add(&n.source);
    }
    pins
}

/// Labels of values the user gave (as opposed to presets, value profiles, global
/// values, bindings and defaults, which are read afresh).
fn user_given(label: &str) -> bool {
    matches!(label, "flag" | "values-file" | "recorded")
}

/// Recorded values as level-3 inputs: all of them for base (`all`), else those the
/// user gave; plus a stand-in for every recorded secret. Only keys of `keys`.
pub fn recorded_givens(
    inst: &Installation,
    dir: &str,
    keys: &BTreeMap<String, bool>,
    all: bool,
) -> Vec<Given> {
    let detail = format!("recorded in {dir}/{}", record::FILE);
    let mut out: Vec<Given> = inst
        .spec
        .values
        .iter()
        .filter(|(k, v)| keys.get(*k) == Some(&false) && (all || user_given(&v.source)))
        .map(|(k, v)| Given {
            key: k.clone(),
            value: Raw::Typed(v.value.clone()),
            origin: Origin::recorded(detail.clone(), &v.source),
            secret_ok: false,
            group: 0,
        })
        .collect();
    for k in &inst.spec.secrets {
        if keys.get(k) == Some(&true) && !inst.spec.secret_refs.contains_key(k) {
            out.push(Given {
                key: k.clone(),
                value: Raw::String(kept_secret(k)),
                origin: Origin::recorded(detail.clone(), "recorded"),
                secret_ok: true,
                group: 0,
            });
        }
    }
    out
}

fn recorded_refs(inst: &Installation) -> Result<BTreeMap<String, (String, String)>> {
    ValueOptions {
        secret_refs: inst
            .spec
            .secret_refs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        ..Default::default()
    }
    .secret_refs()
}

/// The preset of a record written before presets were recorded by name.
fn preset_from_labels(inst: &Installation) -> Option<String> {
    inst.spec
        .values
        .values()
        .find_map(|v| v.source.strip_prefix("preset:").map(str::to_string))
}

/// Changelog entries (tag name, message) after the installed version up to the
/// target, oldest first.
fn changelog(ctx: &Ctx, old: &Installation, new: &Installation) -> Result<Vec<(String, String)>> {
    let src = &new.spec.source;
    let parse = |v: &Option<String>| v.as_deref().and_then(|v| semver::Version::parse(v).ok());
    let (Some(from), Some(to)) = (parse(&old.spec.source.version), parse(&src.version)) else {
        return Ok(Vec::new());
    };
    let up = ctx.upstreams.open(&src.url)?;
    let messages: BTreeMap<String, String> = up
        .tags()?
        .into_iter()
        .filter_map(|t| t.message.map(|m| (t.name, m)))
        .collect();
    let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
    Ok(resolve::candidates(&up, &src.path)?
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| c.version > lo && c.version <= hi)
        .filter_map(|c| {
            messages
                .get(&c.tag)
                .map(|m| (c.tag.clone(), m.trim().to_string()))
        })
        .collect())
}
