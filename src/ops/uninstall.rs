//! `pctl uninstall`: remove an installation's directory and its entry, in one commit.
use crate::error::user;
use crate::git::{Changes, Mode, TreeView};
use crate::gitops::{self, Overlay};
use crate::ops::Context;
use crate::printer::Printer;
use crate::record::Installation;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};

pub struct UninstallOptions {
    pub name: String,
    pub mode: Mode,
    pub message: Option<String>,
    /// `--create-pr`: commit on a branch of its own and open a pull request.
    pub pr: Option<crate::ops::pr::PrOptions>,
}

/// Installations as (cluster, directory, record).
type Found = Vec<(String, String, Installation)>;

/// The installations named `name` in the chosen clusters; refused when one cluster
/// has none.
fn find(
    view: &TreeView,
    repo: &str,
    sel: &crate::gitops::clusters::Selection,
    name: &str,
    p: &Printer,
) -> Result<(gitops::Config, Found)> {
    let config = gitops::load(view, repo)?;
    let chosen = gitops::clusters::select(&config, sel, repo)?;
    let all = crate::ops::cluster::installations_in(view, &config, &chosen, p)?;
    let mut out = Vec::new();
    for c in &chosen {
        let here: Vec<&(String, String, Installation)> =
            all.iter().filter(|(n, _, _)| *n == c.name).collect();
        let Some(found) = here.iter().find(|(_, _, i)| i.metadata.name == name) else {
            let names: Vec<&str> = here
                .iter()
                .map(|(_, _, i)| i.metadata.name.as_str())
                .collect();
            let place = if chosen.len() > 1 {
                format!("cluster {} of {repo}", c.name)
            } else {
                repo.to_string()
            };
            bail!(user(
                format!("no installation named {name:?} in {place}"),
                if names.is_empty() {
                    "`pctl list` shows installations; there are none".to_string()
                } else {
                    format!("installed: {}", names.join(", "))
                },
            ));
        };
        out.push((*found).clone());
    }
    Ok((config, out))
}

/// `--repo` and `--cluster`/`--all-clusters` come from the context.
pub fn run(ctx: &Context, opts: UninstallOptions) -> Result<()> {
    let p = ctx.printer();
    let ws = ctx.workspace()?;
    let view = ctx.view()?;
    let (config, found) = find(view, &ws.describe(), ctx.clusters(), &opts.name, p)?;
    let clusters: Vec<&str> = found.iter().map(|(c, _, _)| c.as_str()).collect();
    let what = if found.len() > 1 {
        format!("uninstall {} from {}", opts.name, clusters.join(", "))
    } else {
        format!("uninstall {}", opts.name)
    };
    let message = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("pctl: {what}"));
    let build = |view: &TreeView| -> Result<Changes> {
        let (config, found) = find(view, &ws.describe(), ctx.clusters(), &opts.name, p)?;
        let mut o = Overlay::new(view);
        for (_, dir, _) in &found {
            for path in view.files_below(dir)?.into_keys() {
                o.delete(&path);
            }
            let (parent, entry) = dir.rsplit_once('/').unwrap_or(("", dir.as_str()));
            gitops::unlist_entry(&mut o, parent, entry)?;
            o.changes.guard.push(dir.clone());
        }
        // A fleet base goes with the last installation that uses it.
        release_bases(view, &mut o.changes.files)?;
        // One installation: the ownership scan of the tree committed, from the one of
        // the tree it started from when that is kept (never walked here), for the next
        // command (docs/architecture.md#the-ownership-scan-of-a-whole-tree).
        if let [(_, dir, _)] = found.as_slice()
            && !config.is_fleet()
            && opts.mode != Mode::DryRun
            && let Some(tree) = crate::ops::owners::recalled(view, &config)?
        {
            let memos = crate::ops::owners::after_change(view, &config, &tree, &o.changes, dir);
            o.changes.memos.extend(memos);
        }
        Ok(o.changes)
    };
    if let Some(pr) = &opts.pr {
        // The version being removed names the branch.
        let version = found
            .first()
            .map(|(_, _, i)| i.version_label())
            .unwrap_or_default();
        let scope = if found.len() > 1 {
            Some(clusters.join("."))
        } else {
            config.is_fleet().then(|| clusters[0].to_string())
        };
        let req = crate::ops::pr::PrRequest {
            verb: "uninstall".into(),
            name: crate::ops::pr::scoped_name(scope.as_deref(), &opts.name),
            version,
            title: message.clone(),
            changelog: None,
            conflicts: Vec::new(),
            in_cluster: None,
            summary: None,
        };
        crate::ops::pr::open(ws, pr, &req, build, p)?;
        return Ok(());
    }
    let outcome = ws.apply(&message, opts.mode, build)?;
    crate::ops::report(p, &outcome, opts.mode, &what);
    Ok(())
}

/// The files below the fleet bases `inst` uses, by repository path.
pub fn base_files(view: &TreeView, inst: &Installation) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for base in gitops::bases::dirs(inst) {
        out.extend(view.files_below(&base)?);
    }
    Ok(out)
}

/// Delete, in `files` (a change to the repository in `view`), every fleet base that an
/// installation used before the change and none uses after it: the change removes or
/// rewrites the records that referenced it.
pub fn release_bases(view: &TreeView, files: &mut BTreeMap<String, Option<Vec<u8>>>) -> Result<()> {
    let parse = |path: &str, bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .ok()
            .filter(|t| t.contains("\n  bases:\n"))
            .and_then(|t| Installation::from_yaml(path, t).ok())
    };
    // Only a changed record that used bases can leave one unused.
    let mut candidates = BTreeSet::new();
    let suffix = format!("/{}", crate::record::FILE);
    for path in files.keys().filter(|p| p.ends_with(&suffix)) {
        if let Some(old) = view.read(path)?.and_then(|b| parse(path, &b)) {
            candidates.extend(gitops::bases::dirs(&old));
        }
    }
    if candidates.is_empty() {
        return Ok(());
    }
    let mut used = BTreeSet::new();
    crate::ops::with_installations(view, |all| {
        for (dir, inst) in all {
            let path = gitops::join(dir, crate::record::FILE);
            match files.get(&path) {
                None => used.extend(gitops::bases::dirs(inst)),
                Some(None) => {}
                Some(Some(bytes)) => {
                    if let Some(new) = parse(&path, bytes) {
                        used.extend(gitops::bases::dirs(&new));
                    }
                }
            }
        }
    })?;
    // Records this change adds (an install in the same commit).
    for (path, bytes) in files.iter() {
        if let (true, Some(bytes)) = (path.ends_with(&suffix), bytes)
            && !view.exists(path)?
            && let Some(new) = parse(path, bytes)
        {
            used.extend(gitops::bases::dirs(&new));
        }
    }
    for base in candidates.difference(&used) {
        for path in view.files_below(base)?.into_keys() {
            files.insert(path, None);
        }
    }
    Ok(())
}
