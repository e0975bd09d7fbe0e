//! The ownership scan of the tree a write commits, made by the write from the scan of
//! the tree it started from (docs/architecture.md#the-ownership-scan-of-a-whole-tree):
//! the old claims and walk starts with those of the one installation the write adds,
//! replaces or removes, when nothing but that installation's directory can change what
//! the walk finds. Kept under the committed tree's id ([`crate::git::TreeMemo`]).
use super::subtrees::within;
use super::{Start, Tree, whole};
use crate::check::chain::passes_through;
use crate::git::{Changes, TreeMemo, TreeView};
use crate::gitops::{Config, join};
use crate::ownership::{Claim, Owned, Owner};
use std::collections::BTreeMap;

/// A memo made of more sections than this is written out again as one (each write
/// since the last walk adds one, and reading merges them).
const MAX_SECTIONS: usize = 16;

/// Whether the walk of the tree `changes` commits on `tree` (scanned in `view`) can
/// differ from `tree`'s only inside `install_dir`, which holds an installation before
/// the change when `before` and after it when `after`. None when not:
///
/// - the scan is of the tree the change is made on;
/// - the change writes only below `install_dir` and its parent's `kustomization.yaml`;
/// - exactly one walk start of the old tree outside `install_dir` lies above it,
///   applying no `targetNamespace` and defaulting to the GitRepository's namespace
///   (as the walk of one installation from its directory does);
/// - every directory from that start down to the parent passes the installation
///   through unchanged ([`passes_through`]): nothing on the way renames, moves or
///   patches what it builds, and the parent lists it exactly when it is there.
fn plainly_reached(
    view: &TreeView,
    config: &Config,
    tree: &Tree,
    changes: &Changes,
    install_dir: &str,
    (before, after): (bool, bool),
) -> Option<()> {
    if tree.root.is_none() || view.tree_id() != tree.root {
        return None;
    }
    // The memo is keyed by the sync path's tree; the other directories it read keep
    // their ids only when the installation lies outside them.
    let sync = whole::keyed_by(config)?;
    if !within(install_dir, &sync)
        || install_dir == sync
        || tree
            .loaded
            .iter()
            .any(|(d, _)| within(d, install_dir) || within(install_dir, d))
    {
        return None;
    }
    let (parent, _) = install_dir.rsplit_once('/')?;
    let parent_k = join(parent, "kustomization.yaml");
    let ok_paths = changes.files.iter().all(|(path, content)| {
        within(path, install_dir) || (path == &parent_k && content.is_some())
    });
    if !ok_paths {
        return None;
    }
    let mut above = tree
        .starts
        .iter()
        .filter(|s| !within(&s.dir, install_dir) && within(install_dir, &s.dir));
    let (Some(start), None) = (above.next(), above.next()) else {
        return None;
    };
    if start.target_namespace.is_some()
        || start.default_namespace != config.git_repository.namespace
        || !within(parent, &start.dir)
    {
        return None;
    }
    let below = install_dir
        .strip_prefix(start.dir.as_str())
        .unwrap_or(install_dir)
        .trim_start_matches('/');
    let mut dir = start.dir.clone();
    for next in below.split('/') {
        let listed = (dir == parent).then_some((before, after));
        if !passes_through(view, changes, &dir, next, listed)? {
            return None;
        }
        dir = join(&dir, next);
    }
    Some(())
}

/// The scan of the tree that `changes` (an install's whole change) commits on the tree
/// `tree` scanned in `view`: `tree` with the claims `mine` of the new installation in
/// `install_dir` added, and the starts `rendered_starts` of the walk of its rendering
/// from `install_dir` (`claims_noting`). None, and the next scan walks, unless
/// [`plainly_reached`], no start of the old walk lies in `install_dir` (nothing
/// pointed there before it existed), and every start of the rendering's walk does.
/// Cheap: the old memo's bytes with a section added. With it, the memos of what the
/// installation's directories build to ([`super::subtrees::unit_memos`]), for a walk
/// after a commit pctl did not make. Debug builds compare the memo with a walk
/// whenever a scan uses it. Empty when none can be made.
#[allow(clippy::too_many_arguments)]
pub fn after_install(
    view: &TreeView,
    config: &Config,
    tree: &Tree,
    changes: &Changes,
    install_dir: &str,
    mine: &[Owned],
    rendered_starts: &[Start],
) -> Vec<TreeMemo> {
    let memo = (|| -> Option<TreeMemo> {
        plainly_reached(view, config, tree, changes, install_dir, (false, true))?;
        if tree.starts.iter().any(|s| within(&s.dir, install_dir)) {
            return None;
        }
        match rendered_starts.split_first() {
            Some((first, rest))
                if first.dir == install_dir && rest.iter().all(|s| within(&s.dir, install_dir)) => {
            }
            _ => return None,
        }
        // The old tree's memo (or the scan, written out, when it has many sections), then
        // the installation's claims and starts as a section of their own, and the ids of
        // its starts' directories once committed. The directory ids it holds stay true
        // in the new tree unless one is the installation's or above it.
        let moved = |d: &str| within(d, install_dir) || within(install_dir, d);
        let mut payload = match &tree.kept {
            Some(kept)
                if tree.sections < MAX_SECTIONS && !tree.dirs.iter().any(|(d, _)| moved(d)) =>
            {
                kept.to_vec()
            }
            _ => {
                let mut kept = tree.clone();
                kept.dirs.retain(|(d, _)| !moved(d));
                whole::encode(&kept)
            }
        };
        let mut mine_by_claim: BTreeMap<&Claim, Vec<Owner>> = BTreeMap::new();
        for m in mine {
            mine_by_claim
                .entry(&m.claim)
                .or_default()
                .push(m.owner.clone());
        }
        let index: Vec<(&Claim, &[Owner])> = mine_by_claim
            .iter_mut()
            .map(|(c, o)| {
                o.sort();
                (*c, o.as_slice())
            })
            .collect();
        whole::section(&mut payload, &rendered_starts[1..], &[], &index);
        let ids_of: Vec<String> = rendered_starts[1..].iter().map(|s| s.dir.clone()).collect();
        if !ids_of.is_empty() {
            payload.push(whole::IDS);
        }
        Some(TreeMemo {
            kind: whole::KIND,
            dir: whole::keyed_by(config)?,
            parts: whole::parts(config),
            payload,
            ids_of,
        })
    })();
    let Some(memo) = memo else {
        return Vec::new();
    };
    let files: BTreeMap<String, Vec<u8>> = changes
        .files
        .iter()
        .filter(|(p, _)| within(p, install_dir))
        .filter_map(|(p, c)| Some((p.clone(), c.clone()?)))
        .collect();
    let dirs: Vec<String> = rendered_starts.iter().map(|s| s.dir.clone()).collect();
    let mut all = vec![memo];
    all.extend(super::subtrees::unit_memos(&files, &dirs));
    all
}

/// The scan of the tree that `changes` (an `upgrade` or `uninstall` of the one
/// installation in `install_dir`, without fleet bases) commits on the tree `tree`
/// scanned in `view`. The installation's files before and after the change are walked
/// from its directory, as a rendering is: `tree`'s claims owned below it, and its starts
/// there, must be exactly those of the walk before (so nothing else reached it, and
/// nothing it reached lay elsewhere), and the walk after must start nowhere else.
/// Then `tree`'s claims and starts there are replaced by those of the walk after.
/// Empty, and the next scan walks, when anything does not hold, or
/// [`plainly_reached`] does not; else with the memos of what the installation's
/// directories build to after the change, as [`after_install`]'s.
pub fn after_change(
    view: &TreeView,
    config: &Config,
    tree: &Tree,
    changes: &Changes,
    install_dir: &str,
) -> Vec<TreeMemo> {
    change_memos(view, config, tree, changes, install_dir).unwrap_or_default()
}

fn change_memos(
    view: &TreeView,
    config: &Config,
    tree: &Tree,
    changes: &Changes,
    install_dir: &str,
) -> Option<Vec<TreeMemo>> {
    let old = view.files_below(install_dir).ok()?;
    let mut new = old.clone();
    for (path, content) in &changes.files {
        if within(path, install_dir) {
            match content {
                Some(bytes) => new.insert(path.clone(), bytes.clone()),
                None => new.remove(path),
            };
        }
    }
    let record = join(install_dir, crate::record::FILE);
    let (before, after) = (old.contains_key(&record), new.contains_key(&record));
    if !before || old.is_empty() {
        return None;
    }
    plainly_reached(view, config, tree, changes, install_dir, (before, after))?;
    let walk = |files: &BTreeMap<String, Vec<u8>>| {
        let bytes = files.get(&record)?;
        let name = super::RecordInfo::of(&record, bytes).name;
        if super::RecordInfo::of(&record, bytes).bases.is_some() {
            return None;
        }
        let mut walked = Vec::new();
        let claims = super::claims_in(
            files,
            install_dir,
            &name,
            &config.git_repository,
            &mut walked,
        );
        let (first, rest) = walked.split_first()?;
        (first.dir == install_dir && rest.iter().all(|s| within(&s.dir, install_dir)))
            .then(|| (claims, rest.to_vec()))
    };
    // The walk before must find what the scan found there.
    let (old_claims, mut old_starts) = walk(&old)?;
    let mut had: Vec<(&Claim, &Owner)> = tree
        .index
        .iter()
        .flat_map(|(c, owners)| owners.iter().map(move |o| (c, o)))
        .filter(|(_, o)| within(&o.file, install_dir))
        .collect();
    let mut found: Vec<(&Claim, &Owner)> =
        old_claims.iter().map(|o| (&o.claim, &o.owner)).collect();
    had.sort();
    found.sort();
    old_starts.sort();
    let there: Vec<&Start> = tree
        .starts
        .iter()
        .filter(|s| within(&s.dir, install_dir))
        .collect();
    if had != found || there != old_starts.iter().collect::<Vec<_>>() {
        return None;
    }
    let (new_claims, new_starts) = if after {
        walk(&new)?
    } else if new.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        return None;
    };
    let mut dirs = vec![install_dir.to_string()];
    dirs.extend(new_starts.iter().map(|s| s.dir.clone()));
    let units = if after {
        super::subtrees::unit_memos(&new, &dirs)
    } else {
        Vec::new()
    };
    let new_starts_dirs: Vec<String> = dirs[1..].to_vec();
    let mut next = tree.clone();
    next.kept = None;
    next.dirs
        .retain(|(d, _)| !within(d, install_dir) && !within(install_dir, d));
    next.starts.retain(|s| !within(&s.dir, install_dir));
    next.starts.extend(new_starts);
    next.starts.sort();
    for owners in next.index.values_mut() {
        owners.retain(|o| !within(&o.file, install_dir));
    }
    next.index.retain(|_, owners| !owners.is_empty());
    for m in new_claims {
        let owners = next.index.entry(m.claim).or_default();
        let at = owners.partition_point(|o| o <= &m.owner);
        owners.insert(at, m.owner);
    }
    let mut payload = whole::encode(&next);
    if !new_starts_dirs.is_empty() {
        payload.push(whole::IDS);
    }
    let mut all = vec![TreeMemo {
        kind: whole::KIND,
        dir: whole::keyed_by(config)?,
        parts: whole::parts(config),
        payload,
        ids_of: new_starts_dirs,
    }];
    all.extend(units);
    Some(all)
}
