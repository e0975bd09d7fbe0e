//! A change to the GitOps repository: what a command wants to write ([`Changes`]),
//! how it is finished ([`Mode`]), what happened ([`Outcome`], [`BranchOutcome`], with
//! the [`Notice`]s the caller shows, and those Git keeps from work that returns no
//! outcome: [`take_notices`]), and how it compares with the files it builds on (a
//! unified diff, line counts).
use super::snapshot::TreeView;
use crate::textdiff;
use anyhow::Result;
use git2::Oid;
use std::collections::{BTreeMap, BTreeSet};

/// What a command wants to write: repository-relative path to new content (None =
/// delete), and directories that must have no uncommitted change.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub files: BTreeMap<String, Option<Vec<u8>>>,
    pub guard: Vec<String>,
    /// Paths a change stopped on conflicts left in the work tree, committed now that
    /// it is continued: their changes are pctl's own, not the user's. A change that
    /// names them may go ahead although a stopped change is pending.
    pub own: BTreeSet<String>,
    /// Answers about the tree the change commits, known before it is committed: kept
    /// under that tree's id once the commit is made (never on a dry run or an error).
    pub memos: Vec<TreeMemo>,
}

/// A memo about the tree a change commits (docs/architecture.md#memos): kept in the
/// parse cache under [`TreeMemo::key`] with the Git id of directory `dir` in that
/// tree (a memo about a directory that is not there is not kept).
#[derive(Debug, Clone)]
pub struct TreeMemo {
    pub kind: &'static str,
    /// The directory whose tree id keys the memo ("" for the root).
    pub dir: String,
    /// The inputs besides that tree the answer depends on.
    pub parts: Vec<Vec<u8>>,
    pub payload: Vec<u8>,
    /// Directories whose tree ids in the committed tree the answer holds, unknown
    /// before the commit: appended to the payload as their count, then each path and
    /// its id (0, or 1 and the 20 bytes), in the parse cache's encoding
    /// (`parsecache::put_len`, `put_bytes`).
    pub ids_of: Vec<String>,
}

impl TreeMemo {
    /// The key of a memo of `kind` about the tree `id` (raw) with `parts`: the parts,
    /// then the id.
    pub fn key(kind: &str, parts: &[Vec<u8>], id: &[u8]) -> super::parsecache::Key {
        let mut all: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        all.push(id);
        super::parsecache::memo_key(kind, &all)
    }

    /// Keep the memo for the tree `tree` committed (written by the next save).
    pub fn keep(&self, repo: &git2::Repository, tree: Oid) {
        let Ok(root) = repo.find_tree(tree) else {
            return;
        };
        let dir_id = |dir: &str| {
            if dir.is_empty() {
                return Some(tree);
            }
            root.get_path(std::path::Path::new(dir))
                .ok()
                .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
                .map(|e| e.id())
        };
        let Some(id) = dir_id(&self.dir) else {
            return;
        };
        let key = Self::key(self.kind, &self.parts, id.as_bytes());
        if self.ids_of.is_empty() {
            super::parsecache::memo_put(&key, &self.payload);
            return;
        }
        let mut payload = self.payload.clone();
        super::parsecache::put_len(&mut payload, self.ids_of.len());
        for dir in &self.ids_of {
            super::parsecache::put_bytes(&mut payload, dir.as_bytes());
            match dir_id(dir) {
                None => payload.push(0),
                Some(id) => {
                    payload.push(1);
                    payload.extend_from_slice(id.as_bytes());
                }
            }
        }
        super::parsecache::memo_put(&key, &payload);
    }
}

/// How a change is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Commit,
    NoCommit,
    DryRun,
}

/// What happened.
#[derive(Debug)]
pub struct Outcome {
    pub commit: Option<Oid>,
    /// Unified diff of the change, for a dry run to print (empty otherwise).
    pub diff: String,
    pub changed: usize,
    /// What the user should know about the write, for the caller to show.
    pub notices: Vec<Notice>,
}

/// Something Git tells the user about a write (it prints nothing itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A problem that did not stop the write (a repository already broken, an
    /// interrupted run's change undone).
    Warning(String),
    /// What pctl did on its way (a remote that moved, fetched again).
    Note(String),
}

thread_local! {
    /// Notices of Git work that returns no [`Outcome`] (a repository opened after an
    /// interrupted run, a CA bundle that cannot be loaded), kept for the operation.
    static KEPT: std::cell::RefCell<Vec<Notice>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Keep `n` for the operation to print ([`take_notices`]).
pub(crate) fn keep(n: Notice) {
    KEPT.with(|k| k.borrow_mut().push(n));
}

/// The notices Git kept since the last call, oldest first: the operation prints them
/// (`ops::print_kept_notices`), since Git prints nothing itself.
pub fn take_notices() -> Vec<Notice> {
    KEPT.with(|k| std::mem::take(&mut *k.borrow_mut()))
}

/// What [`Workspace::apply_on_branch`] did.
#[derive(Debug)]
pub struct BranchOutcome {
    /// The commit pushed to the branch; None when the change is empty (nothing pushed).
    pub commit: Option<Oid>,
    /// The branch the commit is built on, and its tip.
    pub base_branch: String,
    pub base_commit: Oid,
    /// Unified diff of the change against the base.
    pub diff: String,
    /// How many files the change writes or removes.
    pub changed: usize,
    /// Line counts per file, in path order.
    pub stats: Vec<FileStat>,
    /// False when the branch already held this very change on this very base (see
    /// [`crate::git::Workspace::apply_on_branch_unless_same`]): nothing was pushed.
    pub pushed: bool,
    /// What the user should know about the write, for the caller to show.
    pub notices: Vec<Notice>,
}

/// How one file changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    Added,
    Modified,
    Removed,
}

/// One file of a change with its added and removed lines (0 for binary files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    pub path: String,
    pub change: FileChange,
    pub added: usize,
    pub removed: usize,
    pub binary: bool,
}

/// Line counts of a change against a view, per file (as `git diff --numstat`).
pub fn diff_stats(view: &TreeView, changes: &Changes) -> Result<Vec<FileStat>> {
    let mut out = Vec::new();
    for (path, new) in &changes.files {
        let old = view.read(path)?;
        let change = match (&old, new) {
            (None, Some(_)) => FileChange::Added,
            (Some(_), None) => FileChange::Removed,
            (Some(_), Some(_)) => FileChange::Modified,
            (None, None) => continue,
        };
        let text = |b: &Option<Vec<u8>>| match b {
            None => Some(String::new()),
            Some(b) => String::from_utf8(b.clone()).ok(),
        };
        let (added, removed, binary) = match (text(&old), text(new)) {
            (Some(a), Some(b)) => {
                let (plus, minus) = textdiff::line_counts(&a, &b);
                (plus, minus, false)
            }
            _ => (0, 0, true),
        };
        out.push(FileStat {
            path: path.clone(),
            change,
            added,
            removed,
            binary,
        });
    }
    Ok(out)
}

pub(super) fn drop_noops(view: &TreeView, mut changes: Changes) -> Result<Changes> {
    let mut keep = BTreeMap::new();
    for (path, content) in std::mem::take(&mut changes.files) {
        let old = view.read(&path)?;
        if old != content {
            keep.insert(path, content);
        }
    }
    changes.files = keep;
    Ok(changes)
}

/// Files larger than this get no line diff.
const DIFF_MAX_BYTES: usize = 8 << 20;

/// A unified diff (`git diff` style) of a change against a view.
pub fn unified_diff(view: &TreeView, changes: &Changes) -> Result<String> {
    let mut out = String::new();
    for (path, new) in &changes.files {
        let old = view.read(path)?;
        out.push_str(&textdiff::header(path));
        // As git does: no line diff of binary files; nor of huge ones (bounded memory).
        let special = [old.as_deref(), new.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|b| {
                if textdiff::is_binary(b) {
                    Some("Binary files")
                } else if b.len() > DIFF_MAX_BYTES {
                    Some("Large files")
                } else {
                    None
                }
            });
        if let Some(kind) = special {
            out.push_str(&textdiff::differ(kind, path, old.is_some(), new.is_some()));
            continue;
        }
        let old_s = old.as_deref().map(String::from_utf8_lossy);
        let new_s = new.as_deref().map(String::from_utf8_lossy);
        out.push_str(&textdiff::unified(path, old_s.as_deref(), new_s.as_deref()));
    }
    Ok(out)
}
