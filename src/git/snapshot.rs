//! Reading files at one state of a repository, symlinks not followed unless asked:
//! a [`Snapshot`] of a profile repository (a commit or a directory) with the path
//! safety checks that keep every read inside it, and the [`TreeView`] of the GitOps
//! repository a change builds on.
use super::local::head_commit;
use crate::error::user;
use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The files of a profile repository at one state: a commit, or a directory on disk.
#[derive(Clone)]
pub enum Snapshot {
    Tree { repo: Rc<Repository>, tree: Oid },
    Dir { root: PathBuf },
}

/// One entry of a snapshot, symlinks not followed.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    File(Vec<u8>),
    Dir(Vec<String>),
    Link(String),
}

const MAX_LINKS: usize = 40;
/// How deep `files_below` descends.
const MAX_DEPTH: usize = 64;

impl Snapshot {
    /// The entry at a normalized repository-relative path ("" is the root).
    pub fn entry(&self, rel: &str) -> Result<Option<Entry>> {
        match self {
            Snapshot::Tree { repo, tree } => {
                let plain = !(rel.starts_with('/') || rel.ends_with('/') || rel.contains("//"));
                let (obj_id, mode) = if rel.is_empty() {
                    (*tree, 0o040000)
                } else if plain {
                    // From the directory above, found once per tree (see `dir_id`),
                    // not from the root for every path.
                    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
                    let Some(dir) = dir_id(repo, *tree, parent)? else {
                        return Ok(None);
                    };
                    match listing_of(repo, dir)?.by_name.get(name) {
                        Some(&(mode, id)) => (id, mode),
                        None => return Ok(None),
                    }
                } else {
                    match repo.find_tree(*tree)?.get_path(Path::new(rel)) {
                        Ok(e) => (e.id(), e.filemode()),
                        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
                        Err(e) => return Err(e.into()),
                    }
                };
                match mode {
                    0o040000 => {
                        let t = repo.find_tree(obj_id)?;
                        // A name that is not UTF-8 is listed lossily: it is then not
                        // found, and `collect` reports it.
                        Ok(Some(Entry::Dir(
                            t.iter()
                                .map(|e| String::from_utf8_lossy(e.name_bytes()).into_owned())
                                .collect(),
                        )))
                    }
                    0o120000 => {
                        let b = repo.find_blob(obj_id)?;
                        Ok(Some(Entry::Link(
                            String::from_utf8_lossy(b.content()).into_owned(),
                        )))
                    }
                    0o160000 => Ok(None), // submodule: not part of this repository
                    _ => Ok(Some(Entry::File(blob_content(repo, obj_id)?))),
                }
            }
            Snapshot::Dir { root } => {
                let p = if rel.is_empty() {
                    root.clone()
                } else {
                    root.join(rel)
                };
                let meta = match std::fs::symlink_metadata(&p) {
                    Ok(m) => m,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => {
                        return Err(anyhow!(e).context(format!("cannot read {}", p.display())));
                    }
                };
                if meta.file_type().is_symlink() {
                    let t = std::fs::read_link(&p)
                        .with_context(|| format!("cannot read link {}", p.display()))?;
                    Ok(Some(Entry::Link(t.to_string_lossy().into_owned())))
                } else if meta.is_dir() {
                    let mut names = Vec::new();
                    for e in std::fs::read_dir(&p)
                        .with_context(|| format!("cannot list {}", p.display()))?
                    {
                        let name = e?.file_name().to_string_lossy().into_owned();
                        if name != ".git" {
                            names.push(name);
                        }
                    }
                    Ok(Some(Entry::Dir(names)))
                } else {
                    Ok(Some(Entry::File(std::fs::read(&p).with_context(|| {
                        format!("cannot read {}", p.display())
                    })?)))
                }
            }
        }
    }

    /// Resolve `rel` (relative to the directory `base`, both repository-relative) to a
    /// normalized repository-relative path with no symlink in it. `..` and symlinks may
    /// move around inside the repository but never out of it; absolute paths are refused.
    pub fn resolve(&self, base: &str, rel: &str) -> std::result::Result<String, String> {
        if rel.starts_with('/')
            || rel.starts_with('\\')
            || rel.contains(':') && rel.len() > 1 && rel.as_bytes()[1] == b':'
        {
            return Err(format!(
                "{rel:?} is an absolute path; paths are relative to the profile directory"
            ));
        }
        let mut pending: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
        let mut done: Vec<String> = base
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    if done.pop().is_none() {
                        return Err(format!("{rel:?} leaves the repository"));
                    }
                }
                name => {
                    done.push(name.to_string());
                    let here = done.join("/");
                    if let Ok(Some(Entry::Link(target))) = self.entry(&here) {
                        links += 1;
                        if links > MAX_LINKS {
                            return Err(format!("{rel:?}: too many levels of symbolic links"));
                        }
                        if target.starts_with('/') {
                            return Err(format!(
                                "{rel:?}: symlink {here} points outside the repository (to {target})"
                            ));
                        }
                        done.pop();
                        let mut depth = done.len() as i64;
                        for t in target.split('/') {
                            match t {
                                "" | "." => {}
                                ".." => depth -= 1,
                                _ => depth += 1,
                            }
                            if depth < 0 {
                                return Err(format!(
                                    "{rel:?}: symlink {here} points outside the repository (to {target})"
                                ));
                            }
                        }
                        pending.extend(target.split('/').rev().map(str::to_string));
                    }
                }
            }
        }
        Ok(done.join("/"))
    }

    /// Read a file at a resolved path.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(path)? {
            Some(Entry::File(b)) => Ok(Some(b)),
            _ => Ok(None),
        }
    }

    /// Whether a resolved path is a directory.
    pub fn is_dir(&self, path: &str) -> Result<bool> {
        Ok(matches!(self.entry(path)?, Some(Entry::Dir(_))))
    }

    /// Every file below the resolved directory `dir`, keyed by its path relative to
    /// `dir`, symlinks followed (and checked to stay inside the repository).
    pub fn files_below(&self, dir: &str) -> Result<BTreeMap<String, Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut seen = BTreeSet::new();
        self.collect(dir, "", &mut out, &mut seen, 0)?;
        Ok(out)
    }

    fn collect(
        &self,
        real: &str,
        shown: &str,
        out: &mut BTreeMap<String, Vec<u8>>,
        seen: &mut BTreeSet<String>,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            bail!(user(
                format!("{real}: directories nested more than {MAX_DEPTH} levels deep"),
                "flatten the profile's directories",
            ));
        }
        if !seen.insert(real.to_string()) {
            bail!(user(
                format!(
                    "{real} is reached again through {shown}: a symbolic link loops back to a directory that contains it"
                ),
                "remove the symbolic link loop from the profile",
            ));
        }
        let Some(Entry::Dir(mut names)) = self.entry(real)? else {
            return Ok(());
        };
        names.sort();
        for name in names {
            let child_real = if real.is_empty() {
                name.clone()
            } else {
                format!("{real}/{name}")
            };
            let child_shown = if shown.is_empty() {
                name.clone()
            } else {
                format!("{shown}/{name}")
            };
            let target = match self.entry(&child_real)? {
                Some(Entry::Link(_)) => {
                    let parent = real;
                    self.resolve(parent, &name)
                        .map_err(|e| anyhow!("{child_real}: {e}"))?
                }
                _ => child_real.clone(),
            };
            match self.entry(&target)? {
                Some(Entry::File(b)) => {
                    out.insert(child_shown, b);
                }
                Some(Entry::Dir(_)) => self.collect(&target, &child_shown, out, seen, depth + 1)?,
                None if name.contains(char::REPLACEMENT_CHARACTER) => bail!(user(
                    format!("{child_real}: the file name is not valid UTF-8"),
                    "rename the file: pctl writes file names into Kubernetes manifests as UTF-8 text",
                )),
                Some(Entry::Link(_)) | None => {}
            }
        }
        seen.remove(real);
        Ok(())
    }
}

thread_local! {
    /// Directories found in this process: root tree id → path → the directory's tree
    /// id (None: no directory there). A tree id names its content, so the answer never
    /// changes; every lookup in a tree then reads one tree object, not one per level.
    static DIRS: std::cell::RefCell<foldhash::HashMap<Oid, foldhash::HashMap<String, Option<Oid>>>> = Default::default();
}

/// The tree id of directory `dir` (a plain relative path, "" the root) below the tree
/// `root`, as `git_tree_entry_bypath` finds it: None when a part of it is missing or
/// is not a directory.
fn dir_id(repo: &Repository, root: Oid, dir: &str) -> Result<Option<Oid>> {
    if dir.is_empty() {
        return Ok(Some(root));
    }
    if let Some(known) = DIRS.with(|d| d.borrow().get(&root).and_then(|m| m.get(dir).copied())) {
        return Ok(known);
    }
    let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
    let id = match dir_id(repo, root, parent)? {
        Some(p) => listing_of(repo, p)?
            .by_name
            .get(name)
            .filter(|(mode, _)| mode & 0o170000 == 0o040000)
            .map(|&(_, id)| id),
        None => None,
    };
    DIRS.with(|d| {
        d.borrow_mut()
            .entry(root)
            .or_default()
            .insert(dir.to_string(), id)
    });
    Ok(id)
}

thread_local! {
    /// File contents read in this process, by blob id (a blob's content never changes):
    /// the ownership scan and the commit guard read the same files of the tree, each
    /// inflated once. Blobs up to 64 KiB are kept, 8 MiB in all.
    static BLOBS: std::cell::RefCell<(BlobMap, usize)> = Default::default();
}

/// Blob contents by id.
type BlobMap = foldhash::HashMap<Oid, Rc<[u8]>>;

const BLOB_KEPT: usize = 64 << 10;
const BLOBS_KEPT: usize = 8 << 20;

/// The content of blob `id`, inflated once per process.
pub(super) fn blob_content(repo: &Repository, id: Oid) -> Result<Vec<u8>> {
    if let Some(b) = BLOBS.with(|c| c.borrow().0.get(&id).cloned()) {
        return Ok(b.to_vec());
    }
    let blob = repo.find_blob(id)?;
    let bytes = blob.content();
    BLOBS.with(|c| {
        let (map, total) = &mut *c.borrow_mut();
        if bytes.len() <= BLOB_KEPT && *total + bytes.len() <= BLOBS_KEPT {
            *total += bytes.len();
            map.insert(id, Rc::from(bytes));
        }
    });
    Ok(bytes.to_vec())
}

/// What an entry of a directory [`TreeView::listing`] lists is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symbolic link: its target is not read here.
    Link,
    /// A submodule (not part of the repository's files).
    Submodule,
    /// A name that is not UTF-8.
    BadName,
}

/// One entry of a directory, in Git's order (which is the order of full paths).
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub kind: Kind,
}

/// The entries of one directory ([`TreeView::listing`]).
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Listed>,
    /// Each entry with a UTF-8 name: its mode and id.
    by_name: foldhash::HashMap<String, (i32, Oid)>,
}

impl Listing {
    /// What the entry `name` is, if there is one.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.by_name.get(name).map(|&(mode, _)| kind_of(mode))
    }

    /// The Git id of the entry `name`, as raw bytes.
    pub fn id(&self, name: &str) -> Option<[u8; 20]> {
        let (_, id) = self.by_name.get(name)?;
        id.as_bytes().try_into().ok()
    }
}

fn kind_of(mode: i32) -> Kind {
    match mode {
        0o040000 => Kind::Dir,
        0o120000 => Kind::Link,
        0o160000 => Kind::Submodule,
        _ => Kind::File,
    }
}

/// The entries of the tree `id`, read once per process.
fn listing_of(repo: &Repository, id: Oid) -> Result<Rc<Listing>> {
    if let Some(l) = LISTINGS.with(|c| c.borrow().get(&id).cloned()) {
        return Ok(l);
    }
    let t = repo.find_tree(id)?;
    let mut entries = Vec::with_capacity(t.len());
    let mut by_name = foldhash::HashMap::with_capacity_and_hasher(t.len(), Default::default());
    for e in t.iter() {
        match std::str::from_utf8(e.name_bytes()) {
            Err(_) => entries.push(Listed {
                name: String::from_utf8_lossy(e.name_bytes()).into_owned(),
                kind: Kind::BadName,
            }),
            Ok(name) => {
                entries.push(Listed {
                    name: name.to_string(),
                    kind: kind_of(e.filemode()),
                });
                by_name.insert(name.to_string(), (e.filemode(), e.id()));
            }
        }
    }
    let listed = Rc::new(Listing { entries, by_name });
    LISTINGS.with(|c| c.borrow_mut().insert(id, listed.clone()));
    Ok(listed)
}

thread_local! {
    /// Directory listings read in this process, by tree id (a tree never changes).
    static LISTINGS: std::cell::RefCell<foldhash::HashMap<Oid, Rc<Listing>>> = Default::default();
}

/// A read-only view of the GitOps repository's files at the state a change builds on.
pub struct TreeView {
    snapshot: Option<Snapshot>,
    /// The commit whose tree this is (None for an empty repository or a directory).
    commit: Option<Oid>,
}

impl TreeView {
    pub fn empty() -> Self {
        TreeView {
            snapshot: None,
            commit: None,
        }
    }

    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match &self.snapshot {
            Some(s) => s.read(path),
            None => Ok(None),
        }
    }

    /// The repository and tree id this view shows, when it shows a commit's tree.
    pub(super) fn git_tree(&self) -> Option<(&Repository, Oid)> {
        match &self.snapshot {
            Some(Snapshot::Tree { repo, tree }) => Some((repo, *tree)),
            _ => None,
        }
    }

    /// The Git tree this view shows, when it shows a commit's tree: two views with
    /// the same id hold the same files (a command that checked the repository before
    /// taking the write lock need not check it again).
    pub fn tree_id(&self) -> Option<String> {
        match &self.snapshot {
            Some(Snapshot::Tree { tree, .. }) => Some(tree.to_string()),
            _ => None,
        }
    }

    /// The trees of this view's commit and of up to `n` first-parent ancestors, newest
    /// first, as raw ids (empty when the view is not a commit's tree).
    pub fn recent_trees(&self, n: usize) -> Vec<[u8; 20]> {
        let (Some((repo, _)), Some(mut at)) = (self.git_tree(), self.commit) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while out.len() <= n {
            let Ok(c) = repo.find_commit(at) else { break };
            out.push(raw(c.tree_id()));
            match c.parent_id(0) {
                Ok(p) => at = p,
                Err(_) => break,
            }
        }
        out
    }

    /// Every file path that differs between the tree `old` and this view's tree
    /// (added, deleted or changed; a path whose type changed too), or None when the
    /// view is not a commit's tree, `old` cannot be read, or more than `limit` paths
    /// differ. Subtrees with the same id are not entered.
    pub fn paths_changed_since(&self, old: &[u8; 20], limit: usize) -> Option<Vec<String>> {
        let (repo, tree) = self.git_tree()?;
        let old = Oid::from_bytes(old).ok()?;
        let mut out = Vec::new();
        changed_below(repo, Some(old), Some(tree), "", &mut out, limit)?;
        out.sort_unstable();
        Some(out)
    }

    pub fn read_string(&self, path: &str) -> Result<Option<String>> {
        self.read(path)?
            .map(|b| String::from_utf8(b).map_err(|_| anyhow!("{path} is not UTF-8 text")))
            .transpose()
    }

    /// The entry at a normalized repository-relative path ("" is the root).
    pub fn entry(&self, path: &str) -> Result<Option<Entry>> {
        match &self.snapshot {
            Some(s) => s.entry(path),
            None => Ok(if path.is_empty() {
                Some(Entry::Dir(Vec::new()))
            } else {
                None
            }),
        }
    }

    pub fn exists(&self, path: &str) -> Result<bool> {
        Ok(match &self.snapshot {
            Some(s) => s.entry(path)?.is_some(),
            None => false,
        })
    }

    /// Whether there is a directory at `dir` (a plain repository-relative path), found
    /// from the listing of the directory above it without reading the directory
    /// itself; None when the view is not a commit's tree or the path is not plain.
    pub fn dir_exists(&self, dir: &str) -> Option<bool> {
        let Some(Snapshot::Tree { repo, tree }) = &self.snapshot else {
            return None;
        };
        if dir.starts_with('/') || dir.ends_with('/') || dir.contains("//") {
            return None;
        }
        dir_id(repo, *tree, dir).ok().map(|id| id.is_some())
    }

    /// The Git tree id of directory `dir` (a plain repository-relative path, "" the
    /// root) as raw bytes: two directories with the same id hold the same files. None
    /// when there is no directory there, or when the view is not a commit's tree.
    pub fn dir_key(&self, dir: &str) -> Result<Option<Vec<u8>>> {
        let Some(Snapshot::Tree { repo, tree }) = &self.snapshot else {
            return Ok(None);
        };
        Ok(dir_id(repo, *tree, dir)?.map(|id| id.as_bytes().to_vec()))
    }

    /// Learn the tree ids of directories below `base` without reading their trees: each
    /// `(path relative to base, tree id)` of `dirs` comes from a memo keyed by `base`'s
    /// own tree id, which determines every tree below it (the ownership scan's records
    /// memo, `ops/owners/subtrees.rs`). Later lookups of those directories (the scan's
    /// and the commit guard's) then read no tree. Debug builds read them and compare.
    pub fn know_dirs(&self, base: &str, dirs: &[(String, [u8; 20])]) {
        let Some(Snapshot::Tree { repo, tree }) = &self.snapshot else {
            return;
        };
        for (rel, id) in dirs {
            let Ok(id) = Oid::from_bytes(id) else {
                continue;
            };
            let dir = if base.is_empty() {
                rel.clone()
            } else {
                format!("{base}/{rel}")
            };
            if cfg!(debug_assertions) {
                let read = dir_id(repo, *tree, &dir).ok().flatten();
                assert_eq!(
                    read,
                    Some(id),
                    "pctl bug: the remembered tree id of {dir} is not the one in the tree"
                );
                continue;
            }
            DIRS.with(|d| {
                d.borrow_mut()
                    .entry(*tree)
                    .or_default()
                    .entry(dir)
                    .or_insert(Some(id));
            });
        }
    }

    /// The entries of directory `dir` (a plain repository-relative path), read once
    /// per tree and process. None when there is no directory there, or when the view
    /// is not a commit's tree.
    pub fn listing(&self, dir: &str) -> Result<Option<Rc<Listing>>> {
        let Some(Snapshot::Tree { repo, tree }) = &self.snapshot else {
            return Ok(None);
        };
        let Some(id) = dir_id(repo, *tree, dir)? else {
            return Ok(None);
        };
        Ok(Some(listing_of(repo, id)?))
    }

    /// Every file below `dir` (repository-relative), keyed by full repository path.
    pub fn files_below(&self, dir: &str) -> Result<BTreeMap<String, Vec<u8>>> {
        let Some(s) = &self.snapshot else {
            return Ok(BTreeMap::new());
        };
        if let Snapshot::Tree { repo, tree } = s
            && let Some(out) = plain_files_below(repo, *tree, dir)?
        {
            return Ok(out);
        }
        let mut out = BTreeMap::new();
        for (k, v) in s.files_below(dir)? {
            out.insert(
                if dir.is_empty() {
                    k
                } else {
                    format!("{dir}/{k}")
                },
                v,
            );
        }
        Ok(out)
    }

    /// [`TreeView::find_named`] restricted to what can hold or be held by `dir`: the
    /// files named `name` in `dir`'s ancestors (the root included), in `dir` itself,
    /// and anywhere below it, in path order. Reads only the trees on the path to `dir`
    /// and below it, not the rest of the repository.
    pub fn find_named_around(&self, name: &str, dir: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let Some(Snapshot::Tree { repo, tree }) = &self.snapshot else {
            return Ok(out);
        };
        let root = repo.find_tree(*tree)?;
        let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        let mut current = root;
        let mut prefix = String::new();
        for (i, part) in parts.iter().enumerate() {
            if let Some(e) = current.get_name(name)
                && e.kind() == Some(git2::ObjectType::Blob)
            {
                out.push(format!("{prefix}{name}"));
            }
            let next = match current.get_name(part) {
                Some(e) if e.kind() == Some(git2::ObjectType::Tree) => repo.find_tree(e.id())?,
                _ => {
                    out.sort();
                    return Ok(out);
                }
            };
            current = next;
            prefix = format!("{}/", parts[..=i].join("/"));
        }
        // `dir` itself and everything below it.
        current.walk(git2::TreeWalkMode::PreOrder, |sub, entry| {
            if entry.name().ok() == Some(name) && entry.kind() == Some(git2::ObjectType::Blob) {
                out.push(format!("{prefix}{sub}{name}"));
            }
            git2::TreeWalkResult::Ok
        })?;
        out.sort();
        Ok(out)
    }

    /// Repository paths of every file named `name`, in path order.
    pub fn find_named(&self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if let Some(Snapshot::Tree { repo, tree }) = &self.snapshot {
            let tree = repo.find_tree(*tree)?;
            tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if entry.name().ok() == Some(name) && entry.kind() == Some(git2::ObjectType::Blob) {
                    out.push(format!("{dir}{name}"));
                }
                git2::TreeWalkResult::Ok
            })?;
        }
        out.sort();
        Ok(out)
    }
}

/// [`TreeView::files_below`] read tree by tree and blob by blob id (no lookup from the
/// root for each file), when nothing below `dir` needs the careful walk of
/// [`Snapshot::files_below`]: None as soon as a symbolic link, a name that is not
/// UTF-8 or directories nested too deep are met.
fn plain_files_below(
    repo: &Repository,
    tree: Oid,
    dir: &str,
) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
    fn walk(
        repo: &Repository,
        tree: &git2::Tree,
        prefix: &str,
        depth: usize,
        out: &mut BTreeMap<String, Vec<u8>>,
    ) -> Result<bool> {
        if depth > MAX_DEPTH {
            return Ok(false);
        }
        for e in tree.iter() {
            let Ok(name) = std::str::from_utf8(e.name_bytes()) else {
                return Ok(false);
            };
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            match e.filemode() {
                0o040000 => {
                    if !walk(repo, &repo.find_tree(e.id())?, &path, depth + 1, out)? {
                        return Ok(false);
                    }
                }
                0o120000 => return Ok(false),
                0o160000 => {}
                _ => {
                    out.insert(path, blob_content(repo, e.id())?);
                }
            }
        }
        Ok(true)
    }
    let root = repo.find_tree(tree)?;
    let start = if dir.is_empty() {
        root
    } else {
        match root.get_path(Path::new(dir)) {
            Ok(e) if e.filemode() == 0o040000 => repo.find_tree(e.id())?,
            Ok(_) => return Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(Some(BTreeMap::new())),
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = BTreeMap::new();
    Ok(walk(repo, &start, dir, 0, &mut out)?.then_some(out))
}

/// The file paths below `prefix` that differ between the trees `old` and `new` (None:
/// no tree there), into `out`; None when a tree cannot be read, a name is not UTF-8,
/// or more than `limit` paths differ. Entries with the same id are not entered (libgit2's
/// tree-to-tree diff walks both trees whole).
fn changed_below(
    repo: &Repository,
    old: Option<Oid>,
    new: Option<Oid>,
    prefix: &str,
    out: &mut Vec<String>,
    limit: usize,
) -> Option<()> {
    if old == new {
        return Some(());
    }
    let list = |id: Option<Oid>| -> Option<Option<Rc<Listing>>> {
        match id {
            None => Some(None),
            Some(id) => {
                let l = listing_of(repo, id).ok()?;
                l.entries
                    .iter()
                    .all(|e| !matches!(e.kind, Kind::BadName))
                    .then_some(Some(l))
            }
        }
    };
    let (a, b) = (list(old)?, list(new)?);
    let is_dir = |mode: i32| mode & 0o170000 == 0o040000;
    let mut names: Vec<&String> = a
        .iter()
        .chain(b.iter())
        .flat_map(|l| l.by_name.keys())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let x = a
            .as_ref()
            .and_then(|l| l.by_name.get(name.as_str()).copied());
        let y = b
            .as_ref()
            .and_then(|l| l.by_name.get(name.as_str()).copied());
        if x == y {
            continue;
        }
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let dir_of = |e: Option<(i32, Oid)>| e.filter(|(m, _)| is_dir(*m)).map(|(_, id)| id);
        let (dx, dy) = (dir_of(x), dir_of(y));
        if dx.is_some() || dy.is_some() {
            changed_below(repo, dx, dy, &path, out, limit)?;
        }
        // A file (or link) on either side that is not the same on the other.
        if x.is_some_and(|(m, _)| !is_dir(m)) || y.is_some_and(|(m, _)| !is_dir(m)) {
            out.push(path);
        }
        if out.len() > limit {
            return None;
        }
    }
    Some(())
}

fn raw(id: Oid) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(&id.as_bytes()[..20]);
    out
}

pub(super) fn local_view(repo: &Repository) -> Result<TreeView> {
    match head_commit(repo) {
        Some(c) => view_of(repo, c),
        None => Ok(TreeView::empty()),
    }
}

pub(super) fn view_of(repo: &Repository, commit: Oid) -> Result<TreeView> {
    if commit.is_zero() {
        return Ok(TreeView::empty());
    }
    let tree = repo.find_commit(commit)?.tree()?.id();
    // A second handle, since Snapshot owns its repository: over the same object
    // database (objects are all it reads), so that opening it reads no configuration
    // and no pack index a second time.
    let handle = Repository::from_odb(repo.odb()?)?;
    Ok(TreeView {
        snapshot: Some(Snapshot::Tree {
            repo: Rc::new(handle),
            tree,
        }),
        commit: Some(commit),
    })
}

#[cfg(test)]
mod tests;
