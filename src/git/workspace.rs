//! The GitOps repository a command writes to ([`Workspace`]): a local work tree or a
//! remote through a cached bare clone, and its transactions: a change applied all or
//! nothing under the repository's lock, a change pushed to a branch of its own, and a
//! change stopped on conflicts that waits in the work tree.
use super::advice::{NeedsWorkTree, Remedy, StoppedChange, advised};
use super::change::{
    BranchOutcome, Changes, Mode, Notice, Outcome, diff_stats, drop_noops, unified_diff,
};
use super::commit::{build_tree, build_tree_of, make_commit, stage, write_blobs};
use super::config::{cache_dir, cache_key, user_config};
use super::fault::{fault, pause_before_lock, slow_write};
use super::index::Staging;
use super::local::head_commit;
use super::lock::{lock_file, try_lock_file};
use super::remote::{
    PushError, fetch_base, fetch_branch_tip, push, push_commit, remote_sync, remote_url_of,
};
use super::snapshot::{TreeView, local_view, view_of};
use super::status::check_clean;
use super::{credentials, journal, redact_url};
use crate::error::{Bug, HintExt, user};
use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A GitOps repository: a local work tree, or a remote reached through a bare clone
/// in the cache.
pub enum Workspace {
    Local {
        repo: Repository,
        root: PathBuf,
    },
    Remote {
        url: String,
        repo: Repository,
        config: git2::Config,
        /// Held while the cached clone is fetched into, committed to and pushed from.
        lock: PathBuf,
    },
}

fn is_url(s: &str) -> bool {
    s.contains("://")
        || (s.contains('@') && s.contains(':') && !s.starts_with('/') && !s.starts_with('.'))
}

impl Workspace {
    /// `--repo`: a URL, a directory, or (None) the repository containing the cwd.
    pub fn open(repo: Option<&str>) -> Result<Workspace> {
        let ws = match repo {
            Some(u) if is_url(u) => Self::open_remote(u)?,
            Some(dir) => Self::open_local(Path::new(dir))?,
            None => Self::open_local(Path::new("."))?,
        };
        // What earlier pctl processes parsed in this repository (docs/architecture.md#the-parse-cache).
        super::parsecache::attach(ws.git_dir());
        // Its remotes' hosts may receive token variables (docs/security.md); the user's own
        // configuration, which lists more, must be valid.
        crate::userconfig::load()?;
        credentials::trust_workspace(&ws);
        Ok(ws)
    }

    fn open_local(dir: &Path) -> Result<Workspace> {
        let repo = Repository::discover(dir)
            .with_context(|| format!("{} is not inside a Git repository", dir.display()))
            .map_err(|e| advised(e, Remedy::CreateOrNameRepository))?;
        let root = repo
            .workdir()
            .ok_or_else(|| {
                advised(
                    anyhow!("{} is a bare repository", dir.display()),
                    Remedy::NameWorkTreeOrUrl,
                )
            })?
            .to_path_buf();
        if journal::pending(&repo) {
            // A pctl process died while writing: finish or undo its change now, unless
            // another pctl holds the lock (it recovers before it writes).
            if let Ok(Some(_lock)) = try_lock_file(&repo.path().join("pctl.lock")) {
                print_recovered(recover(&repo, &root)?);
            }
        }
        Ok(Workspace::Local { repo, root })
    }

    fn open_remote(url: &str) -> Result<Workspace> {
        let config = user_config()?;
        let parent = cache_dir()?.join("gitops");
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let key = cache_key(url);
        let dir = parent.join(format!("{key}.git"));
        let lock = parent.join(format!("{key}.lock"));
        // Creating the clone is serialized with every other use of it.
        let _guard = lock_file(&lock)?;
        let repo = if dir.join("HEAD").is_file() {
            Repository::open_bare(&dir).with_context(|| format!("cannot open {}", dir.display()))?
        } else {
            Repository::init_bare(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?
        };
        Ok(Workspace::Remote {
            url: url.to_string(),
            repo,
            config,
            lock,
        })
    }

    /// The Git directory (`.git` of a work tree, or the cached clone).
    fn git_dir(&self) -> &Path {
        match self {
            Workspace::Local { repo, .. } | Workspace::Remote { repo, .. } => repo.path(),
        }
    }

    /// A description for messages.
    pub fn describe(&self) -> String {
        match self {
            Workspace::Local { root, .. } => {
                root.display().to_string().trim_end_matches('/').to_string()
            }
            Workspace::Remote { url, .. } => url.clone(),
        }
    }

    /// The local work tree, if any.
    pub fn root(&self) -> Option<&Path> {
        match self {
            Workspace::Local { root, .. } => Some(root),
            Workspace::Remote { .. } => None,
        }
    }

    /// A view of HEAD (local) or of the remote default branch after a fetch.
    pub fn view(&self) -> Result<TreeView> {
        match self {
            Workspace::Local { repo, .. } => local_view(repo),
            Workspace::Remote {
                url,
                repo,
                config,
                lock,
            } => {
                let _guard = lock_file(lock)?;
                let (_, commit) = remote_sync(repo, config, url)?;
                view_of(repo, commit)
            }
        }
    }

    /// Build the change with `build` from the current state and apply it all or
    /// nothing; `message` is the commit message. Concurrent pctl processes on one
    /// local repository serialize on a lock; a remote that moved is fetched and the
    /// change rebuilt and retried.
    pub fn apply(
        &self,
        message: &str,
        mode: Mode,
        mut build: impl FnMut(&TreeView) -> Result<Changes>,
    ) -> Result<Outcome> {
        match self {
            Workspace::Local { repo, root } => {
                let mut notices = Vec::new();
                let _lock = if mode == Mode::DryRun {
                    None
                } else {
                    pause_before_lock();
                    let lock = lock_file(&repo.path().join("pctl.lock"))?;
                    notices.extend(recover(repo, root)?);
                    Some(lock)
                };
                let view = local_view(repo)?;
                let changes = build(&view)?;
                if mode != Mode::DryRun && changes.own.is_empty() {
                    refuse_if_pending(repo)?;
                }
                let changes = drop_noops(&view, changes)?;
                let diff = dry_run_diff(&view, &changes, mode)?;
                let changed = changes.files.len();
                if mode == Mode::DryRun || changed == 0 {
                    return Ok(Outcome {
                        commit: None,
                        diff,
                        changed,
                        notices,
                    });
                }
                let guarded = crate::check::guard::guard(&view, &changes)?;
                notices.extend(guarded.warnings.iter().cloned().map(Notice::Warning));
                check_clean(repo, &changes)?;
                let commit = apply_local(repo, root, &changes, message, mode)?;
                // Under the lock, the commit's parent is the view's: its tree is the
                // view with the changes, the tree the guard checked.
                if let Some(c) = commit {
                    let tree = repo.find_commit(c)?.tree_id();
                    guarded.keep(tree.as_bytes());
                    for m in &changes.memos {
                        m.keep(repo, tree);
                    }
                }
                // Still under the lock: what this process parsed, for the next one.
                super::parsecache::save();
                Ok(Outcome {
                    commit,
                    diff,
                    changed,
                    notices,
                })
            }
            Workspace::Remote {
                url,
                repo,
                config,
                lock,
            } => {
                let _guard = lock_file(lock)?;
                let mut last_err = None;
                let mut notices = Vec::new();
                for _attempt in 0..5 {
                    let (branch, head) = remote_sync(repo, config, url)?;
                    let view = view_of(repo, head)?;
                    let changes = drop_noops(&view, build(&view)?)?;
                    let diff = dry_run_diff(&view, &changes, mode)?;
                    let changed = changes.files.len();
                    if mode != Mode::Commit || changed == 0 {
                        if mode == Mode::NoCommit {
                            bail!(NeedsWorkTree);
                        }
                        return Ok(Outcome {
                            commit: None,
                            diff,
                            changed,
                            notices,
                        });
                    }
                    let guarded = crate::check::guard::guard(&view, &changes)?;
                    let warnings = guarded.warnings.clone();
                    let parent = if head.is_zero() { None } else { Some(head) };
                    let tree = build_tree(repo, parent, &changes)?;
                    let commit = make_commit(repo, tree, parent, message)?;
                    fault("after-write")?;
                    match push(repo, config, url, &branch, commit) {
                        Ok(()) => {
                            notices.extend(warnings.into_iter().map(Notice::Warning));
                            guarded.keep(tree.as_bytes());
                            for m in &changes.memos {
                                m.keep(repo, tree);
                            }
                            super::parsecache::save();
                            return Ok(Outcome {
                                commit: Some(commit),
                                diff,
                                changed,
                                notices,
                            });
                        }
                        Err(PushError::Moved(e)) => {
                            notices.push(Notice::Note(format!(
                                "{url} moved while pctl worked ({e}); fetching and retrying"
                            )));
                            last_err = Some(e);
                        }
                        Err(PushError::Other(e)) => return Err(e),
                    }
                }
                Err(user(
                    format!(
                        "cannot push to {url}: the remote kept moving ({})",
                        last_err.unwrap_or_default()
                    ),
                    "try again later",
                ))
            }
        }
    }

    /// The URL of the remote `name` of a local GitOps repository (its push URL when it
    /// has one), or the URL of a remote workspace (`--repo URL`), whatever `name`.
    pub fn remote_url(&self, name: &str) -> Result<String> {
        match self {
            Workspace::Remote { url, .. } => Ok(url.clone()),
            Workspace::Local { repo, root } => remote_url_of(repo, name, true, Some(root)),
        }
    }

    /// Build the change with `build` on the tip of the remote's `base` branch (default:
    /// its default branch), commit it with `message` and force-push it to
    /// `refs/heads/<branch>` of the remote `remote` (for `--repo URL`, that URL), so a
    /// second run moves the same branch. A local repository is left exactly as it
    /// was: only Git objects are added to it.
    pub fn apply_on_branch(
        &self,
        remote: &str,
        base: Option<&str>,
        branch: &str,
        message: &str,
        build: impl FnMut(&TreeView) -> Result<Changes>,
    ) -> Result<BranchOutcome> {
        self.branch_change(remote, base, branch, message, false, build)
    }

    /// [`Workspace::apply_on_branch`], except that a branch whose tip already is this
    /// change (the same tree) on this base (its only parent) is left as it is: no
    /// commit, no push (`pushed: false`). A scheduled job run again with nothing new
    /// changes nothing (docs/fleets.md#upgrades-as-pull-requests).
    pub fn apply_on_branch_unless_same(
        &self,
        remote: &str,
        base: Option<&str>,
        branch: &str,
        message: &str,
        build: impl FnMut(&TreeView) -> Result<Changes>,
    ) -> Result<BranchOutcome> {
        self.branch_change(remote, base, branch, message, true, build)
    }

    fn branch_change(
        &self,
        remote: &str,
        base: Option<&str>,
        branch: &str,
        message: &str,
        keep_same: bool,
        mut build: impl FnMut(&TreeView) -> Result<Changes>,
    ) -> Result<BranchOutcome> {
        let dst = format!("refs/heads/{branch}");
        if !git2::Reference::is_valid_name(&dst) {
            bail!(user(
                format!("{branch:?} is not a valid branch name"),
                "choose a name without spaces, '..', '~', '^', ':' or '\\'",
            ));
        }
        let url = self.remote_url(remote)?;
        let local_config;
        let (repo, config, _guard) = match self {
            Workspace::Local { repo, .. } => {
                let mut c = user_config()?;
                let _ = c.add_file(&repo.path().join("config"), git2::ConfigLevel::Local, false);
                local_config = c;
                (repo, &local_config, None)
            }
            Workspace::Remote {
                repo, config, lock, ..
            } => (repo, config, Some(lock_file(lock)?)),
        };
        let (base_branch, base_commit) = match self {
            Workspace::Local { .. } => fetch_base(repo, config, &url, base)?,
            Workspace::Remote { .. } => {
                let (default, head) = remote_sync(repo, config, &url)?;
                let name = base
                    .map(|b| b.trim_start_matches("refs/heads/").to_string())
                    .unwrap_or(default);
                let tip = repo
                    .find_reference(&format!("refs/heads/{name}"))
                    .ok()
                    .and_then(|r| r.peel_to_commit().ok())
                    .map(|c| c.id())
                    .or((base.is_none() && !head.is_zero()).then_some(head))
                    .ok_or_else(|| {
                        advised(
                            anyhow!(
                                "{} has no branch {name:?} to open the pull request against",
                                redact_url(&url)
                            ),
                            Remedy::PushOrNameAnotherBase,
                        )
                    })?;
                (name, tip)
            }
        };
        if base_branch == branch {
            bail!(advised(
                anyhow!("the pull request branch {branch} is its own base"),
                Remedy::NameAnotherBase,
            ));
        }
        let view = view_of(repo, base_commit)?;
        let changes = drop_noops(&view, build(&view)?)?;
        let notices: Vec<Notice> = crate::check::guard::guard(&view, &changes)?
            .warnings
            .into_iter()
            .map(Notice::Warning)
            .collect();
        let diff = unified_diff(&view, &changes)?;
        let stats = diff_stats(&view, &changes)?;
        let changed = changes.files.len();
        if changed == 0 {
            return Ok(BranchOutcome {
                commit: None,
                base_branch,
                base_commit,
                diff,
                changed,
                stats,
                pushed: false,
                notices,
            });
        }
        let tree = build_tree(repo, Some(base_commit), &changes)?;
        if keep_same {
            let tip = match self {
                Workspace::Local { .. } => fetch_branch_tip(repo, config, &url, branch)?,
                Workspace::Remote { .. } => repo
                    .find_reference(&dst)
                    .ok()
                    .and_then(|r| r.peel_to_commit().ok())
                    .map(|c| c.id()),
            };
            if let Some(tip) = tip.and_then(|t| repo.find_commit(t).ok())
                && tip.tree_id() == tree
                && tip.parent_ids().eq([base_commit])
            {
                return Ok(BranchOutcome {
                    commit: Some(tip.id()),
                    base_branch,
                    base_commit,
                    diff,
                    changed,
                    stats,
                    pushed: false,
                    notices,
                });
            }
        }
        let commit = make_commit(repo, tree, Some(base_commit), message)?;
        fault("after-write")?;
        match push_commit(repo, config, &url, commit, &dst, true) {
            Ok(()) => {}
            Err(PushError::Other(e)) => return Err(e),
            Err(PushError::Moved(m)) => bail!(user(
                format!("{} rejected the push to {branch}: {m}", redact_url(&url)),
                "check the branch protection and your permissions",
            )),
        }
        if let Workspace::Remote { .. } = self {
            let _ = repo.reference(&dst, commit, true, "pctl push");
        }
        // What the change knows about the tree it pushed: the same tree on the base
        // branch once the pull request is merged as it is.
        if !changes.memos.is_empty() {
            for m in &changes.memos {
                m.keep(repo, tree);
            }
            super::parsecache::save();
        }
        Ok(BranchOutcome {
            commit: Some(commit),
            base_branch,
            base_commit,
            diff,
            changed,
            stats,
            pushed: true,
            notices,
        })
    }

    /// The state saved by [`Workspace::stop_with_conflicts`], if a stopped change
    /// waits (local repositories only).
    pub fn pending(&self) -> Result<Option<Vec<u8>>> {
        match self {
            Workspace::Local { repo, .. } => {
                let path = repo.path().join(STOPPED_STATE_FILE);
                match std::fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
                }
            }
            Workspace::Remote { .. } => Ok(None),
        }
    }

    /// Stop a change with conflicts: write `changes` into the work tree only (the index
    /// and HEAD stay as they are) and save `state(created directories)` as the pending
    /// state. Until [`Workspace::forget_pending`] or [`Workspace::abort_pending`], any
    /// other write is refused with [`StoppedChange`]. All or nothing: on error the work
    /// tree is put back.
    pub fn stop_with_conflicts(
        &self,
        changes: &Changes,
        state: impl FnOnce(&[String]) -> Result<Vec<u8>>,
    ) -> Result<()> {
        let Workspace::Local { repo, root } = self else {
            bail!(Bug("stop_with_conflicts on a remote workspace".into()));
        };
        let _lock = lock_file(&repo.path().join("pctl.lock"))?;
        print_recovered(recover(repo, root)?);
        refuse_if_pending(repo)?;
        check_clean(repo, changes)?;
        let paths: Vec<&str> = changes.files.keys().map(String::as_str).collect();
        let finish = journal::Finish::Stop {
            pending: STOPPED_STATE_FILE.to_string(),
        };
        let mut writer = journal::begin(repo, root, &paths, finish, false)?;
        let result = (|| -> Result<()> {
            for (path, content) in &changes.files {
                match content {
                    Some(bytes) => writer.write(path, bytes)?,
                    None => {
                        let full = root.join(path);
                        if full.symlink_metadata().is_ok() {
                            std::fs::remove_file(&full)
                                .with_context(|| format!("cannot remove {}", full.display()))?;
                        }
                    }
                }
                slow_write();
            }
            let bytes = state(writer.created_dirs())?;
            fault("after-write")?;
            // Its appearance finishes the change (see the journal): whole or absent.
            let path = repo.path().join(STOPPED_STATE_FILE);
            journal::write_atomic(&path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))
                .map_err(journal::full_hint)?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                writer.finish();
                Ok(())
            }
            Err(e) => {
                writer.rollback();
                Err(e)
            }
        }
    }

    /// End a stopped change: put `paths` back as HEAD has them (content and mode; a
    /// path HEAD lacks is removed), remove the directories the change created, and
    /// forget the pending state.
    pub fn abort_pending(&self, paths: &[String], created_dirs: &[String]) -> Result<()> {
        let Workspace::Local { repo, root } = self else {
            bail!(Bug("abort_pending on a remote workspace".into()));
        };
        let _lock = lock_file(&repo.path().join("pctl.lock"))?;
        print_recovered(recover(repo, root)?);
        let tree = match head_commit(repo) {
            Some(c) => Some(repo.find_commit(c)?.tree()?),
            None => None,
        };
        for path in paths {
            let full = root.join(path);
            let entry = tree.as_ref().and_then(|t| t.get_path(Path::new(path)).ok());
            match entry {
                Some(e) => {
                    let blob = repo
                        .find_blob(e.id())
                        .with_context(|| format!("cannot read {path} from HEAD"))?;
                    if let Some(parent) = full.parent() {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("cannot create {}", parent.display()))?;
                    }
                    std::fs::write(&full, blob.content())
                        .with_context(|| format!("cannot write {}", full.display()))?;
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        let mode = if e.filemode() == i32::from(git2::FileMode::BlobExecutable) {
                            0o755
                        } else {
                            0o644
                        };
                        let _ =
                            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(mode));
                    }
                }
                None => {
                    if full.exists() {
                        std::fs::remove_file(&full)
                            .with_context(|| format!("cannot remove {}", full.display()))?;
                    }
                }
            }
        }
        let mut dirs: Vec<&String> = created_dirs.iter().collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.len()));
        for d in dirs {
            let _ = std::fs::remove_dir(root.join(d));
        }
        self.forget_pending()
    }

    /// Forget a stopped change's state (once it is committed).
    pub fn forget_pending(&self) -> Result<()> {
        if let Workspace::Local { repo, .. } = self {
            let path = repo.path().join(STOPPED_STATE_FILE);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// The contents of `paths` in the work tree (None = absent), to continue a stopped change.
    pub fn worktree_files(&self, paths: &[String]) -> Result<BTreeMap<String, Option<Vec<u8>>>> {
        let Workspace::Local { root, .. } = self else {
            bail!(Bug("worktree_files on a remote workspace".into()));
        };
        let mut out = BTreeMap::new();
        for p in paths {
            let full = root.join(p);
            let content = match std::fs::read(&full) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(anyhow!(e).context(format!("cannot read {}", full.display()))),
            };
            out.insert(p.clone(), content);
        }
        Ok(out)
    }
}

/// Open the local workspace of a repository already opened.
pub fn workspace_of(repo: Repository) -> Result<Workspace> {
    let root = repo
        .workdir()
        .ok_or_else(|| {
            user(
                "a bare repository cannot be initialized as a GitOps work tree",
                "use a clone",
            )
        })?
        .to_path_buf();
    Ok(Workspace::Local { repo, root })
}

/// Where a change stopped on conflicts keeps its state (bytes the stopping command
/// wrote, opaque here), inside `.git`.
pub const STOPPED_STATE_FILE: &str = "pctl-merge.yaml";

/// The unified diff a dry run prints (a write prints only a summary: a fleet install
/// changes thousands of files, and diffing them all cost more than writing them).
fn dry_run_diff(view: &TreeView, changes: &Changes, mode: Mode) -> Result<String> {
    if mode == Mode::DryRun {
        unified_diff(view, changes)
    } else {
        Ok(String::new())
    }
}

fn refuse_if_pending(repo: &Repository) -> Result<()> {
    if repo.path().join(STOPPED_STATE_FILE).exists() {
        let root = repo.workdir().unwrap_or(repo.path()).to_path_buf();
        return Err(anyhow::Error::new(StoppedChange { root }));
    }
    Ok(())
}

/// Finish or undo the change of a pctl process that died while writing to this work
/// tree (see `git/journal.rs`); the caller holds the repository lock. Returns what
/// the user should be told.
fn recover(repo: &Repository, root: &Path) -> Result<Option<Notice>> {
    Ok(journal::recover(repo, root)?.map(Notice::Warning))
}

/// A recovery when opening the repository, or before a stopped merge is kept or
/// aborted: kept for the operation to print ([`super::change::take_notices`]).
fn print_recovered(notice: Option<Notice>) {
    if let Some(n) = notice {
        super::change::keep(n);
    }
}

/// The index a local write stages its files in.
enum Index {
    Own(Box<Staging>),
    Libgit2(git2::Index),
}

fn apply_local(
    repo: &Repository,
    root: &Path,
    changes: &Changes,
    message: &str,
    mode: Mode,
) -> Result<Option<Oid>> {
    let head_ref = repo.find_reference("HEAD").context("cannot read HEAD")?;
    let target_ref = head_ref
        .symbolic_target()
        .ok()
        .flatten()
        .map(str::to_string);
    let parent = head_commit(repo);
    let blobs = write_blobs(repo, changes)?;
    let new_commit = if mode == Mode::Commit {
        let tree = build_tree_of(repo, parent, changes, &blobs)?;
        Some(make_commit(repo, tree, parent, message)?)
    } else {
        None
    };

    let finish = match new_commit {
        Some(c) => journal::Finish::Commit {
            reference: target_ref.clone(),
            commit: c.to_string(),
        },
        None => journal::Finish::Stage,
    };
    let paths: Vec<&str> = changes.files.keys().map(String::as_str).collect();
    let mut writer = journal::begin(repo, root, &paths, finish, true)?;
    let result = (|| -> Result<()> {
        // pctl's own index update (git/index.rs), else libgit2's, which reads and
        // writes every entry.
        let skip_hash = super::index::skips_hash(repo);
        let mut index = match Staging::start(repo.path(), &changes.files, skip_hash)? {
            Some(s) => Index::Own(Box::new(s)),
            None => Index::Libgit2(repo.index().context("cannot read the index")?),
        };
        for (path, content) in &changes.files {
            match content {
                Some(bytes) => {
                    writer.write(path, bytes)?;
                    let oid = blobs
                        .get(path.as_str())
                        .copied()
                        .ok_or_else(|| Bug(format!("no blob for {path}")))?;
                    match &mut index {
                        Index::Own(s) => s.stage(&root.join(path), path, oid.as_bytes()),
                        Index::Libgit2(ix) => stage(ix, root, path, oid),
                    }
                    .with_context(|| format!("cannot stage {path}"))?;
                }
                None => {
                    writer.remove(path)?;
                    match &mut index {
                        Index::Own(s) => s.remove(path),
                        Index::Libgit2(ix) => {
                            let _ = ix.remove_path(Path::new(path));
                        }
                    }
                }
            }
            slow_write();
        }
        match index {
            Index::Own(s) => s.commit(root)?,
            Index::Libgit2(mut ix) => ix.write().context("cannot write the index")?,
        }
        fault("after-write")?;
        if let Some(commit) = new_commit {
            let log = format!("commit: {}", message.lines().next().unwrap_or(""));
            match (&target_ref, parent) {
                (Some(name), Some(old)) => {
                    repo.reference_matching(name, commit, true, old, &log)
                        .with_context(|| format!("{name} moved while pctl worked"))
                        .hint("run the command again")?;
                }
                (Some(name), None) => {
                    repo.reference(name, commit, false, &log)
                        .with_context(|| format!("{name} was created while pctl worked"))
                        .hint("run the command again")?;
                }
                (None, _) => {
                    repo.set_head_detached(commit)
                        .context("cannot move the detached HEAD")?;
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            writer.finish();
            Ok(new_commit)
        }
        Err(e) => {
            writer.rollback();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A local work tree with one commit, as a workspace.
    fn workspace(dir: &Path) -> Workspace {
        let (repo, _) = super::super::init_or_open(dir).unwrap();
        let ws = workspace_of(repo).unwrap();
        ws.apply("first", Mode::Commit, |_| {
            let mut c = Changes::default();
            c.files.insert("a.yaml".into(), Some(b"a: 1\n".to_vec()));
            Ok(c)
        })
        .unwrap();
        ws
    }

    fn write_b(_: &TreeView) -> Result<Changes> {
        let mut c = Changes::default();
        c.files.insert("b.yaml".into(), Some(b"b: 1\n".to_vec()));
        Ok(c)
    }

    /// The remote URL is read as configured: an `insteadOf` rewrite (a mirror for
    /// github.com) does not change which forge the pull request goes to.
    #[test]
    fn the_remote_url_is_the_one_configured_not_the_rewritten_one() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = workspace(tmp.path());
        let Workspace::Local { repo, .. } = &ws else {
            panic!("a local workspace")
        };
        repo.remote("origin", "https://github.com/org/gitops.git")
            .unwrap();
        let mut config = repo.config().unwrap();
        config
            .set_str(
                "url.https://mirror.example.com/github/.insteadOf",
                "https://github.com/",
            )
            .unwrap();
        assert_eq!(
            ws.remote_url("origin").unwrap(),
            "https://github.com/org/gitops.git"
        );
        config
            .set_str("remote.origin.pushurl", "git@github.com:org/gitops.git")
            .unwrap();
        assert_eq!(
            ws.remote_url("origin").unwrap(),
            "git@github.com:org/gitops.git"
        );
    }

    #[test]
    fn a_stopped_change_refuses_other_writes_with_a_type_the_op_can_word() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = workspace(tmp.path());
        let mut stop = Changes::default();
        stop.files
            .insert("a.yaml".into(), Some(b"<<<<<<< ours\n".to_vec()));
        ws.stop_with_conflicts(&stop, |_| Ok(b"state\n".to_vec()))
            .unwrap();
        assert_eq!(ws.pending().unwrap().as_deref(), Some(&b"state\n"[..]));

        let err = ws.apply("second", Mode::Commit, write_b).unwrap_err();
        let stopped = err
            .downcast_ref::<StoppedChange>()
            .expect("a StoppedChange");
        assert_eq!(
            stopped.root.canonicalize().unwrap(),
            tmp.path().canonicalize().unwrap()
        );
        assert!(!tmp.path().join("b.yaml").exists());
        // A dry run is not refused; continuing the stopped change (its own paths) is not.
        assert!(ws.apply("second", Mode::DryRun, write_b).is_ok());
        let own = |_: &TreeView| {
            let mut c = Changes::default();
            c.files.insert("a.yaml".into(), Some(b"a: 2\n".to_vec()));
            c.own.insert("a.yaml".into());
            Ok(c)
        };
        assert!(
            ws.apply("continue", Mode::Commit, own)
                .unwrap()
                .commit
                .is_some()
        );
        ws.forget_pending().unwrap();
        assert!(ws.apply("second", Mode::Commit, write_b).is_ok());
    }
}
