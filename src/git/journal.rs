//! Interrupted writes: a journal in `.git/pctl-journal` makes every write to a local
//! GitOps work tree all or nothing even when pctl is killed (`kill -9`, power cut of
//! the terminal, OOM killer) halfway through.
//!
//! Before the first file is touched, the journal records every path the change
//! writes or removes with its content before (as a blob in the object database), the
//! directories the change creates, and what finishes the change (the branch moving to
//! the new commit, the stopped-merge file appearing, or nothing for `--no-commit`).
//! The index before is kept as a hard link (`.git/pctl-journal.index`: pctl's index
//! writer and libgit2 both replace the index by renaming `index.lock`, so the link
//! keeps the old bytes). Files are written
//! to `NAME.pctl-tmp` and renamed into place, so none is ever half-written.
//!
//! The next pctl command on the repository (under the same lock) finds the journal:
//! if the finishing step happened, the change is complete and the journal is
//! dropped; otherwise every recorded path is put back, the created directories are
//! removed and the old index is renamed back. A failure inside pctl rolls back the
//! same way at once.
//!
//! Every kill window leaves at most these files in `.git`, and recovery removes all of
//! them: before the journal is renamed into place only the saved index and
//! `pctl-journal.pctl-tmp` can exist (nothing in the work tree was touched yet, so
//! they are garbage); after the journal is removed (the change is complete or undone)
//! only the saved index can be left. [`pending`] therefore looks for any of the three,
//! and [`recover`] drops the strays when there is no journal.
use anyhow::{Context, Result, anyhow};
use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const JOURNAL: &str = "pctl-journal";
const JOURNAL_INDEX: &str = "pctl-journal.index";
/// Suffix of a file being written before it is renamed into place.
pub(super) const TMP_SUFFIX: &str = ".pctl-tmp";

/// What completes a change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub(super) enum Finish {
    /// The branch (`reference`, or the detached HEAD when None) points to `commit`.
    Commit {
        reference: Option<String>,
        commit: String,
    },
    /// The stopped-merge state file exists.
    Stop { pending: String },
    /// Only the removal of the journal (`--no-commit`).
    Stage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PathEntry {
    path: String,
    /// Blob of the content before, None when the file did not exist.
    before: Option<String>,
    #[serde(default)]
    executable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Journal {
    pid: u32,
    finish: Finish,
    /// Whether the change writes the index (and had one before).
    index: bool,
    had_index: bool,
    paths: Vec<PathEntry>,
    /// Directories (repository-relative) that did not exist, parents first.
    created_dirs: Vec<String>,
}

/// A change in progress: write through it, then [`Writer::finish`] or
/// [`Writer::rollback`].
pub(super) struct Writer<'r> {
    repo: &'r Repository,
    root: PathBuf,
    journal: Journal,
}

fn journal_path(repo: &Repository) -> PathBuf {
    repo.path().join(JOURNAL)
}

/// Record the state before `paths` are written or removed; nothing in the work tree
/// or the index has changed when this returns.
pub(super) fn begin<'r>(
    repo: &'r Repository,
    root: &Path,
    paths: &[&str],
    finish: Finish,
    index: bool,
) -> Result<Writer<'r>> {
    let mut entries = Vec::with_capacity(paths.len());
    let mut created = std::collections::BTreeSet::new();
    for path in paths {
        let full = root.join(path);
        let (before, executable) = match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_file() => {
                let bytes = std::fs::read(&full)
                    .with_context(|| format!("cannot read {}", full.display()))?;
                let oid = repo.blob(&bytes).map_err(|e| storage_error(path, e))?;
                #[cfg(unix)]
                let exec = {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o111 != 0
                };
                #[cfg(not(unix))]
                let exec = false;
                (Some(oid.to_string()), exec)
            }
            _ => (None, false),
        };
        entries.push(PathEntry {
            path: path.to_string(),
            before,
            executable,
        });
        let mut dir = Path::new(path).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            let key = d.to_string_lossy().replace('\\', "/");
            if created.contains(&key) || root.join(d).exists() {
                break;
            }
            created.insert(key);
            dir = d.parent();
        }
    }
    let index_path = repo.path().join("index");
    let had_index = index && index_path.is_file();
    let saved = repo.path().join(JOURNAL_INDEX);
    let _ = std::fs::remove_file(&saved);
    if had_index && std::fs::hard_link(&index_path, &saved).is_err() {
        std::fs::copy(&index_path, &saved)
            .with_context(|| format!("cannot keep a copy of {}", index_path.display()))
            .map_err(full_hint)?;
    }
    // Parents sort before their children.
    let created_dirs: Vec<String> = created.into_iter().collect();
    let journal = Journal {
        pid: std::process::id(),
        finish,
        index,
        had_index,
        paths: entries,
        created_dirs,
    };
    let bytes = serde_json::to_vec(&journal).context("cannot serialize the write journal")?;
    let path = journal_path(repo);
    write_atomic(&path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(full_hint)?;
    Ok(Writer {
        repo,
        root: root.to_path_buf(),
        journal,
    })
}

/// A hint for errors that come from a full disk or a file-size limit.
pub(super) fn full_hint(e: anyhow::Error) -> anyhow::Error {
    crate::error::with_hint(
        e,
        "nothing was changed; check free disk space and the file-size limit (ulimit -f), then run the command again",
    )
}

/// An object-database write that failed, with the path it was for.
pub(super) fn storage_error(path: &str, e: git2::Error) -> anyhow::Error {
    full_hint(anyhow!(e).context(format!(
        "cannot store {path} in the repository's object database"
    )))
}

/// Write `bytes` to `NAME.pctl-tmp` beside `path`, then rename it into place.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(TMP_SUFFIX);
    let tmp = PathBuf::from(tmp);
    let res = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

impl Writer<'_> {
    /// Write one file (repository-relative), creating its directories.
    pub fn write(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        let full = self.root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))
                .map_err(full_hint)?;
        }
        write_atomic(&full, bytes)
            .with_context(|| format!("cannot write {}", full.display()))
            .map_err(full_hint)
    }

    /// Remove one file and the directories it leaves empty.
    pub fn remove(&mut self, path: &str) -> Result<()> {
        let full = self.root.join(path);
        if full.symlink_metadata().is_ok() {
            std::fs::remove_file(&full)
                .with_context(|| format!("cannot remove {}", full.display()))?;
        }
        let mut d = full.parent();
        while let Some(dir) = d {
            if dir == self.root || std::fs::remove_dir(dir).is_err() {
                break;
            }
            d = dir.parent();
        }
        Ok(())
    }

    /// Directories the change created (repository-relative, parents first).
    pub fn created_dirs(&self) -> &[String] {
        &self.journal.created_dirs
    }

    /// The change is complete: forget the journal.
    pub fn finish(self) {
        forget(self.repo);
    }

    /// Put everything back as it was before [`begin`].
    pub fn rollback(self) {
        let _ = roll_back(self.repo, &self.root, &self.journal);
    }
}

/// Every file the journal machinery keeps in `.git`: the journal itself, the saved
/// index, and the journal being written (`pctl-journal.pctl-tmp`).
fn journal_files(repo: &Repository) -> [PathBuf; 3] {
    [
        journal_path(repo),
        repo.path().join(JOURNAL_INDEX),
        repo.path().join(format!("{JOURNAL}{TMP_SUFFIX}")),
    ]
}

/// Drop the journal. The journal goes first: its removal is the finishing step of a
/// `--no-commit` change, and a kill after it leaves only strays that [`recover`]
/// removes.
fn forget(repo: &Repository) {
    for f in journal_files(repo) {
        let _ = std::fs::remove_file(f);
    }
}

fn roll_back(repo: &Repository, root: &Path, j: &Journal) -> Result<usize> {
    let mut restored = 0;
    for e in j.paths.iter().rev() {
        let full = root.join(&e.path);
        let mut tmp = full.as_os_str().to_os_string();
        tmp.push(TMP_SUFFIX);
        if !j
            .paths
            .iter()
            .any(|p| format!("{}{TMP_SUFFIX}", e.path) == p.path)
        {
            let _ = std::fs::remove_file(PathBuf::from(tmp));
        }
        match &e.before {
            Some(hex) => {
                let oid = Oid::from_str(hex)?;
                let blob = repo
                    .find_blob(oid)
                    .with_context(|| format!("cannot read the saved content of {}", e.path))?;
                let same = std::fs::read(&full).is_ok_and(|b| b == blob.content());
                if !same {
                    if let Some(parent) = full.parent() {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("cannot create {}", parent.display()))?;
                    }
                    write_atomic(&full, blob.content())
                        .with_context(|| format!("cannot write {}", full.display()))?;
                    restored += 1;
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = if e.executable { 0o755 } else { 0o644 };
                    let _ = std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode));
                }
            }
            None => {
                if full.symlink_metadata().is_ok() {
                    std::fs::remove_file(&full)
                        .with_context(|| format!("cannot remove {}", full.display()))?;
                    restored += 1;
                }
            }
        }
    }
    for d in j.created_dirs.iter().rev() {
        let _ = std::fs::remove_dir(root.join(d));
    }
    if j.index {
        let index = repo.path().join("index");
        let saved = repo.path().join(JOURNAL_INDEX);
        if saved.is_file() {
            std::fs::rename(&saved, &index)
                .with_context(|| format!("cannot put back {}", index.display()))?;
        } else if !j.had_index {
            let _ = std::fs::remove_file(&index);
        }
    }
    forget(repo);
    Ok(restored)
}

/// Whether the change a journal describes reached its finishing step.
fn finished(repo: &Repository, j: &Journal) -> bool {
    match &j.finish {
        Finish::Commit { reference, commit } => {
            let now = match reference {
                Some(name) => repo.refname_to_id(name).ok(),
                None => repo.head().ok().and_then(|h| h.target()),
            };
            now.is_some_and(|oid| oid.to_string() == *commit)
        }
        Finish::Stop { pending } => repo.path().join(pending).exists(),
        Finish::Stage => false,
    }
}

/// Lock files that a killed pctl may have left while it held the repository lock:
/// removed when they are not older than its journal.
fn stale_locks(repo: &Repository, j: &Journal, since: std::time::SystemTime) {
    let mut locks = Vec::new();
    if j.index {
        locks.push(repo.path().join("index.lock"));
    }
    if let Finish::Commit {
        reference: Some(name),
        ..
    } = &j.finish
    {
        locks.push(repo.path().join(format!("{name}.lock")));
    }
    for l in locks {
        let young = std::fs::metadata(&l)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t + std::time::Duration::from_secs(1) >= since);
        if young {
            let _ = std::fs::remove_file(&l);
        }
    }
}

/// Finish or undo the change of a pctl process that died while writing (the caller
/// holds the repository lock). Returns a sentence for the user, or None when there
/// was nothing to do.
pub(super) fn recover(repo: &Repository, root: &Path) -> Result<Option<String>> {
    let path = journal_path(repo);
    let (bytes, since) = match std::fs::read(&path) {
        Ok(b) => (
            b,
            std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // No journal: a saved index or a half-written journal is what a kill before
            // the journal existed (nothing touched yet) or after it was removed (change
            // complete) left behind.
            forget(repo);
            return Ok(None);
        }
        Err(e) => return Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
    };
    let j: Journal = match serde_json::from_slice(&bytes) {
        Ok(j) => j,
        Err(_) => {
            // Written by rename: a journal that does not parse was never complete, so
            // nothing was touched after it.
            forget(repo);
            return Ok(None);
        }
    };
    stale_locks(repo, &j, since);
    if finished(repo, &j) {
        forget(repo);
        return Ok(Some(format!(
            "an interrupted pctl run (process {}) had finished its change; cleaned up after it",
            j.pid
        )));
    }
    let n = roll_back(repo, root, &j).map_err(|e| {
        crate::error::with_hint(
            e.context(format!(
                "cannot undo the change of an interrupted pctl run (journal {})",
                path.display()
            )),
            "fix the cause, then run pctl again; `git status` shows what it left",
        )
    })?;
    Ok(Some(format!(
        "undid the unfinished change of an interrupted pctl run (process {}): {n} file(s) put back",
        j.pid
    )))
}

/// Whether a journal, or a stray file of one, is waiting to be recovered.
pub(super) fn pending(repo: &Repository) -> bool {
    journal_files(repo)
        .iter()
        .any(|f| f.symlink_metadata().is_ok())
}
