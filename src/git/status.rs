//! The uncommitted-changes check before a local write ([`check_clean`]): which paths
//! under those a change writes differ from HEAD (staged, modified, deleted, or
//! untracked and not ignored). It reads only the index entries, the HEAD trees and
//! the work tree files under those paths (`git/index.rs`), and asks libgit2's status
//! (which reads and checks the whole index) only for what it cannot tell: an index
//! pctl does not read itself, a case-insensitive work tree, and under a path a
//! symbolic link, a submodule, a conflict, an entry with special flags, a mode change,
//! or a file whose stat data and raw content both differ from its entry.
use super::change::Changes;
use super::index::{self, Index};
use super::local::dirty_paths;
use crate::error::user;
use anyhow::{Result, bail};
use git2::Repository;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Up to this many outermost prefixes get one libgit2 status each (see [`check_clean`]).
const FEW_PREFIXES: usize = 4;

/// The deepest directory holding every path of `paths` ("" for the root).
fn common_dir(paths: &[&str]) -> String {
    let mut common: Vec<&str> = match paths.first() {
        Some(p) => p.split('/').collect(),
        None => return String::new(),
    };
    for p in paths {
        let parts: Vec<&str> = p.split('/').collect();
        // A path is never its own holder: keep at most its parent directories.
        let n = common
            .iter()
            .zip(parts.iter().take(parts.len().saturating_sub(1)))
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(n);
    }
    common.join("/")
}

/// The paths a change writes or guards that no other of them holds: one check each
/// (a guarded installation directory covers every file written into it). A path is
/// held by another when one of its parent directories (or the root, "") is one too.
fn outermost_of(changes: &Changes) -> Vec<&str> {
    let mut prefixes: BTreeSet<&str> = changes.guard.iter().map(String::as_str).collect();
    prefixes.extend(changes.files.keys().map(String::as_str));
    let covered = |p: &str| {
        let mut rest = p;
        while let Some(slash) = rest.rfind('/') {
            rest = &rest[..slash];
            if prefixes.contains(rest) {
                return true;
            }
        }
        !p.is_empty() && prefixes.contains("")
    };
    prefixes.iter().copied().filter(|p| !covered(p)).collect()
}

/// Refuse the change when a path it writes or guards has uncommitted changes that are
/// not the change's own.
pub(super) fn check_clean(repo: &Repository, changes: &Changes) -> Result<()> {
    let outermost = outermost_of(changes);
    let found = match fast_dirty(repo, &outermost)? {
        Some(found) => found,
        None => libgit2_dirty(repo, &outermost)?,
    };
    let dirty: BTreeSet<String> = found
        .into_iter()
        .filter(|d| !changes.own.contains(d))
        .collect();
    if !dirty.is_empty() {
        let list: Vec<String> = dirty.into_iter().collect();
        bail!(user(
            format!(
                "uncommitted changes where pctl would write: {}",
                list.join(", ")
            ),
            "commit or stash them (git stash -u) and run the command again",
        ));
    }
    Ok(())
}

/// libgit2's status. A few prefixes (an install: its directory and the kustomization
/// linking it): one status each, so that nothing else is walked. Many: one status of
/// the directory holding them all, its answer filtered to the prefixes.
fn libgit2_dirty(repo: &Repository, outermost: &[&str]) -> Result<Vec<String>> {
    if outermost.len() <= FEW_PREFIXES {
        let mut found = Vec::new();
        for p in outermost {
            found.extend(dirty_paths(repo, p)?);
        }
        return Ok(found);
    }
    Ok(dirty_paths(repo, &common_dir(outermost))?
        .into_iter()
        .filter(|d| {
            outermost
                .iter()
                .any(|q| d == q || d.strip_prefix(*q).is_some_and(|r| r.starts_with('/')))
        })
        .collect())
}

/// The dirty paths under each prefix from the index entries under it, or None when
/// the index or the configuration is beyond this check. A prefix it cannot decide
/// gets libgit2's status.
fn fast_dirty(repo: &Repository, outermost: &[&str]) -> Result<Option<Vec<String>>> {
    let Some(root) = repo.workdir() else {
        return Ok(None);
    };
    if cfg!(not(unix)) || outermost.iter().any(|p| p.is_empty()) {
        return Ok(None);
    }
    let config = repo.config()?;
    if config.get_bool("core.ignorecase").unwrap_or(false) {
        return Ok(None);
    }
    let Some(index) = index::read(repo.path())? else {
        return Ok(None);
    };
    let head = match repo.head() {
        Ok(h) => Some(h.peel_to_tree()?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
        Err(e) if e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let mut found = Vec::new();
    for p in outermost {
        match prefix_dirty(repo, root, &index, head.as_ref(), p)? {
            Some(d) => found.extend(d),
            None => found.extend(dirty_paths(repo, p)?),
        }
    }
    Ok(Some(found))
}

/// A blob of a tree or an index entry: mode and id.
type Blob = (u32, Vec<u8>);

/// The dirty paths at or below `p`, or None when this check cannot tell.
fn prefix_dirty(
    repo: &Repository,
    root: &Path,
    index: &Index,
    head: Option<&git2::Tree>,
    p: &str,
) -> Result<Option<Vec<String>>> {
    // The index entries at `p` (a file) and below it (a directory).
    let at = index.at(p);
    let below = index.below(p);
    let mut staged: BTreeMap<&str, (usize, Blob)> = BTreeMap::new();
    for i in at.chain(below.clone()) {
        let mode = index.mode(i);
        if index.stage(i) != 0 || index.special(i) || !matches!(mode, 0o100644 | 0o100755) {
            return Ok(None);
        }
        let Ok(path) = std::str::from_utf8(index.path(i)) else {
            return Ok(None);
        };
        staged.insert(path, (i, (mode, index.oid(i).to_vec())));
    }
    let mut dirty = BTreeSet::new();
    // HEAD against the index.
    let Some(committed) = head_blobs(repo, index, head, p, below.len())? else {
        return Ok(None);
    };
    match committed {
        // The cache tree says the index holds HEAD's tree below `p`.
        Committed::SameAsIndex => {}
        Committed::Blobs(committed) => {
            for (path, blob) in &committed {
                if staged.get(path.as_str()).map(|(_, b)| b) != Some(blob) {
                    dirty.insert(path.clone());
                }
            }
            for path in staged.keys() {
                if !committed.contains_key(*path) {
                    dirty.insert(path.to_string());
                }
            }
        }
    }
    // The work tree against the index.
    let Some(files) = worktree_files(root, p)? else {
        return Ok(None);
    };
    for (path, (i, _)) in &staged {
        match files.get(*path) {
            None => {
                dirty.insert(path.to_string());
            }
            Some(meta) => match same_as_entry(index, *i, &root.join(path), meta) {
                Some(true) => {}
                Some(false) => {
                    dirty.insert(path.to_string());
                }
                None => return Ok(None),
            },
        }
    }
    for path in files.keys() {
        if !staged.contains_key(path.as_str()) && !repo.is_path_ignored(path)? {
            dirty.insert(path.clone());
        }
    }
    Ok(Some(dirty.into_iter().collect()))
}

/// What HEAD holds at and below a prefix.
enum Committed {
    /// Exactly what the index holds below it (its cache tree is HEAD's tree).
    SameAsIndex,
    /// Its blobs by path.
    Blobs(BTreeMap<String, Blob>),
}

/// HEAD's blobs at and below `p`, or None when a submodule or a name that is not
/// UTF-8 is among them.
fn head_blobs(
    repo: &Repository,
    index: &Index,
    head: Option<&git2::Tree>,
    p: &str,
    below: usize,
) -> Result<Option<Committed>> {
    let mut out = BTreeMap::new();
    let Some(head) = head else {
        return Ok(Some(Committed::Blobs(out)));
    };
    let entry = match head.get_path(Path::new(p)) {
        Ok(e) => e,
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            return Ok(Some(Committed::Blobs(out)));
        }
        Err(e) => return Err(e.into()),
    };
    match entry.kind() {
        Some(git2::ObjectType::Blob) => {
            out.insert(
                p.to_string(),
                (entry.filemode() as u32, entry.id().as_bytes().to_vec()),
            );
        }
        Some(git2::ObjectType::Tree) => {
            if index.at(p).is_empty() && index.cached_tree(p, below) == Some(entry.id().as_bytes())
            {
                return Ok(Some(Committed::SameAsIndex));
            }
            let tree = repo.find_tree(entry.id())?;
            let mut unsure = false;
            tree.walk(git2::TreeWalkMode::PreOrder, |dir, e| {
                match (e.kind(), e.name()) {
                    (Some(git2::ObjectType::Blob), Ok(name)) => {
                        out.insert(
                            format!("{p}/{dir}{name}"),
                            (e.filemode() as u32, e.id().as_bytes().to_vec()),
                        );
                    }
                    (Some(git2::ObjectType::Tree), Ok(_)) => {}
                    _ => unsure = true,
                }
                git2::TreeWalkResult::Ok
            })?;
            if unsure {
                return Ok(None);
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(Committed::Blobs(out)))
}

/// The regular files at and below `p` in the work tree by repository-relative path,
/// or None when a symbolic link, a nested repository, a name that is not UTF-8 or a
/// special file is on the way.
fn worktree_files(root: &Path, p: &str) -> Result<Option<BTreeMap<String, std::fs::Metadata>>> {
    let mut out = BTreeMap::new();
    // The directories holding `p`: real directories, or `p` is not there.
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = p.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => return Ok(None),
            _ => return Ok(Some(out)),
        }
    }
    let mut stack = vec![p.to_string()];
    while let Some(rel) = stack.pop() {
        let full = root.join(&rel);
        let meta = match std::fs::symlink_metadata(&full) {
            Ok(m) => m,
            Err(_) => continue,
        };
        let ft = meta.file_type();
        if ft.is_file() {
            out.insert(rel, meta);
        } else if ft.is_dir() {
            let entries = match std::fs::read_dir(&full) {
                Ok(r) => r,
                Err(e) => {
                    return Err(anyhow::anyhow!(e)
                        .context(format!("cannot read the directory {}", full.display())));
                }
            };
            for e in entries {
                let e = e?;
                let Ok(name) = e.file_name().into_string() else {
                    return Ok(None);
                };
                if name == ".git" {
                    return Ok(None);
                }
                stack.push(format!("{rel}/{name}"));
            }
        } else {
            return Ok(None);
        }
    }
    Ok(Some(out))
}

/// Whether the file `full` holds its index entry's content: Some(true) when its stat
/// data matches and the entry is not racily clean, or its raw content is the entry's
/// blob; None (ask libgit2) for a mode change or other content (a clean filter or
/// line-ending conversion may still make it the same).
fn same_as_entry(index: &Index, i: usize, full: &Path, meta: &std::fs::Metadata) -> Option<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let executable = meta.permissions().mode() & 0o100 != 0;
        if executable != (index.mode(i) == 0o100755) {
            return None;
        }
        if index::Stat::of(meta) == index.stat(i) && !index.racy(i) {
            return Some(true);
        }
        let content = std::fs::read(full).ok()?;
        index::is_blob(&content, index.oid(i)).then_some(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (index, i, full, meta);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outermost(guard: &[&str], files: &[&str]) -> Vec<String> {
        let mut c = Changes {
            guard: guard.iter().map(|s| s.to_string()).collect(),
            ..Changes::default()
        };
        for f in files {
            c.files.insert(f.to_string(), None);
        }
        outermost_of(&c).into_iter().map(str::to_string).collect()
    }

    #[test]
    fn only_the_outermost_prefixes_are_checked() {
        assert_eq!(
            outermost(
                &["a/i1", "a/i2"],
                &["a/i1/x", "a/i1/y/z", "a/i1-b/x", "a/kustomization.yaml"]
            ),
            ["a/i1", "a/i1-b/x", "a/i2", "a/kustomization.yaml"]
        );
        assert_eq!(outermost(&["", "a"], &["b/c"]), [""]);
        assert_eq!(outermost(&[], &["a/b", "a/b/c"]), ["a/b"]);
    }

    #[test]
    fn the_common_directory_holds_every_prefix() {
        assert_eq!(common_dir(&["a/b/c", "a/b/d", "a/b/e/f"]), "a/b");
        assert_eq!(common_dir(&["a/b/c", "x/y"]), "");
        // A file's own name is never the holder, nor is a prefix shared by two names.
        assert_eq!(common_dir(&["a/b", "a/b"]), "a");
        assert_eq!(common_dir(&["a/kustomization.yaml", "a/i1", "a/i2"]), "a");
        assert_eq!(common_dir(&["ab/x", "ab2/y"]), "");
    }
}
