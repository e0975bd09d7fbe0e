//! Local repositories the user works in: finding the one around a directory, its
//! HEAD and uncommitted paths, the URL to record for it, and creating one.
use super::advice::{Remedy, advised};
use super::snapshot::Snapshot;
use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The Git repository containing `dir`, if any: (repository root, repository).
pub fn discover(dir: &Path) -> Option<(PathBuf, Repository)> {
    let repo = Repository::discover(dir).ok()?;
    let root = repo.workdir()?.to_path_buf();
    Some((root, repo))
}

/// HEAD's commit of a repository, if born.
pub fn head_commit(repo: &Repository) -> Option<Oid> {
    repo.head().ok()?.peel_to_commit().ok().map(|c| c.id())
}

/// Repository-relative paths under `prefix` that differ from HEAD (modified, staged,
/// untracked, deleted).
pub fn dirty_paths(repo: &Repository, prefix: &str) -> Result<Vec<String>> {
    let mut so = git2::StatusOptions::new();
    so.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    if !prefix.is_empty() {
        so.pathspec(prefix);
        so.disable_pathspec_match(false);
    }
    let statuses = repo
        .statuses(Some(&mut so))
        .context("cannot read the repository status")?;
    let mut out = Vec::new();
    for s in statuses.iter() {
        if s.status() == git2::Status::CURRENT || s.status().contains(git2::Status::IGNORED) {
            continue;
        }
        if let Ok(p) = s.path() {
            let inside = prefix.is_empty()
                || p == prefix
                || p.starts_with(&format!("{}/", prefix.trim_end_matches('/')));
            if inside {
                out.push(p.to_string());
            }
        }
    }
    Ok(out)
}

/// The URL to record for a local repository: its `origin` remote, else a file:// URL.
pub fn recorded_url(repo: &Repository, root: &Path) -> String {
    if let Ok(r) = repo.find_remote("origin")
        && let Ok(u) = r.url()
    {
        return u.to_string();
    }
    format!("file://{}", root.display())
}

/// A snapshot of HEAD in a local repository.
pub fn head_snapshot(repo: Repository) -> Result<(Oid, Snapshot)> {
    let commit = head_commit(&repo).ok_or_else(|| {
        advised(
            anyhow!("the profile repository has no commit yet"),
            Remedy::CommitOrReadFromDisk,
        )
    })?;
    let tree = repo.find_commit(commit)?.tree()?.id();
    Ok((
        commit,
        Snapshot::Tree {
            repo: Rc::new(repo),
            tree,
        },
    ))
}

/// Open or create a repository at `dir` (created with branch `main`).
pub fn init_or_open(dir: &Path) -> Result<(Repository, bool)> {
    if let Ok(repo) = Repository::open(dir) {
        return Ok((repo, false));
    }
    if dir.exists()
        && let Ok(outer) = Repository::discover(dir)
        && let Some(root) = outer.workdir()
    {
        bail!(advised(
            anyhow!(
                "{} is inside the Git repository {} but is not its root",
                dir.display(),
                root.display()
            ),
            Remedy::UseRepositoryRoot {
                root: root.to_path_buf(),
            },
        ));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = Repository::init_opts(dir, &opts)
        .with_context(|| format!("cannot create a Git repository in {}", dir.display()))?;
    Ok((repo, true))
}

/// The commit a revision (`HEAD`, `HEAD~1`, `@{u}`) names in the repository at `root`.
pub fn local_revision(root: &Path, rev: &str) -> Option<String> {
    let repo = Repository::open(root).ok()?;
    let obj = repo.revparse_single(rev).ok()?;
    Some(obj.peel_to_commit().ok()?.id().to_string())
}

/// Whether the repository-relative `path` is a file in HEAD's tree.
pub fn file_at_head(repo: &Repository, path: &str) -> Result<bool> {
    let Some(head) = head_commit(repo) else {
        return Ok(false);
    };
    let tree = repo.find_commit(head)?.tree()?;
    Ok(tree
        .get_path(Path::new(path))
        .is_ok_and(|e| e.kind() == Some(git2::ObjectType::Blob)))
}
