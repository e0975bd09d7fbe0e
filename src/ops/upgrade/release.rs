//! Which fleet bases (docs/fleets.md#one-install-several-clusters-one-copy) the
//! planned upgrades leave unused: the files [`crate::ops::uninstall::release_bases`]
//! deletes, answered from one count per command of the installations using each base
//! instead of a pass over every record for each upgraded installation, and from the
//! records upgrade already holds instead of parsing them again
//! (docs/benchmarks.md#upgrade---all-an-unedited-installation-is-its-own-base).
use crate::git::TreeView;
use crate::gitops;
use crate::record::{self, Installation};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// The installations of a repository (by record path) with the base directories each
/// uses, and how many use each directory.
#[derive(Default)]
pub(super) struct BaseUsers {
    by_record: BTreeMap<String, BTreeSet<String>>,
    count: BTreeMap<String, usize>,
}

impl BaseUsers {
    /// Every installation of `view` ([`crate::ops::with_installations`]).
    pub fn of(view: &TreeView) -> Result<BaseUsers> {
        let mut out = BaseUsers::default();
        crate::ops::with_installations(view, |all| {
            for (dir, inst) in all {
                let dirs: BTreeSet<String> = gitops::bases::dirs(inst).collect();
                for d in &dirs {
                    *out.count.entry(d.clone()).or_default() += 1;
                }
                out.by_record.insert(gitops::join(dir, record::FILE), dirs);
            }
        })?;
        Ok(out)
    }
}

/// What the old and the new record of one planned installation name, as
/// `release_bases` reads them: the base directories of a record whose text holds a
/// block-style `bases:` key, none otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Known {
    pub old: Vec<String>,
    pub new: Vec<String>,
}

impl Known {
    /// `old` parsed from `old_text` (the record in the view), `new` written as
    /// `new_text` (`record::Installation::to_yaml`, which reads back as `new`).
    pub fn of(old: &Installation, old_text: &[u8], new: &Installation, new_text: &[u8]) -> Known {
        let dirs = |inst: &Installation, text: &[u8]| -> Vec<String> {
            match std::str::from_utf8(text) {
                Ok(t) if t.contains(BASES) => gitops::bases::dirs(inst).collect(),
                _ => Vec::new(),
            }
        };
        Known {
            old: dirs(old, old_text),
            new: dirs(new, new_text),
        }
    }
}

/// The key `release_bases` looks for before it parses a record.
const BASES: &str = "\n  bases:\n";

/// [`crate::ops::uninstall::release_bases`] of `files` (a change to `view`) whose
/// records are the ones `known` holds (by repository path) and no others: delete every
/// base a changed record used that no installation uses after the change. `users` is
/// made from `view` when first needed.
pub(super) fn release(
    view: &TreeView,
    users: &dyn Fn() -> Result<std::rc::Rc<BaseUsers>>,
    files: &mut BTreeMap<String, Option<Vec<u8>>>,
    known: &BTreeMap<String, Known>,
) -> Result<()> {
    let suffix = format!("/{}", record::FILE);
    let records: Vec<&String> = files.keys().filter(|p| p.ends_with(&suffix)).collect();
    if records.iter().any(|p| !known.contains_key(*p)) {
        // A record upgrade did not plan (none today): read them all, as uninstall does.
        return crate::ops::uninstall::release_bases(view, files);
    }
    let candidates: BTreeSet<&String> = records.iter().flat_map(|p| known[*p].old.iter()).collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let users = users()?;
    // Installations the change rewrites or deletes, and what their new records use.
    let mut leaving: BTreeMap<&str, usize> = BTreeMap::new();
    let mut added: BTreeSet<&str> = BTreeSet::new();
    for path in &records {
        match users.by_record.get(*path) {
            Some(dirs) => {
                for d in dirs {
                    *leaving.entry(d.as_str()).or_default() += 1;
                }
            }
            // A record the view does not hold is one the change adds.
            None if view.exists(path)? => continue,
            None => {}
        }
        if files[*path].is_some() {
            added.extend(known[*path].new.iter().map(String::as_str));
        }
    }
    let mut released = Vec::new();
    for base in candidates {
        let users_left = users.count.get(base).copied().unwrap_or(0)
            - leaving.get(base.as_str()).copied().unwrap_or(0);
        if users_left == 0 && !added.contains(base.as_str()) {
            released.extend(view.files_below(base)?.into_keys());
        }
    }
    for path in released {
        files.insert(path, None);
    }
    Ok(())
}
