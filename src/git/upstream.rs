//! Upstream profile repositories: bare mirrors in the cache, fetched at most once per
//! command, and what is read from them (tags, branches, commits, snapshots); a local
//! repository can stand in for one without being copied.
use super::advice::NotCached;
use super::config::{cache_dir, cache_key, callbacks, rewrite_url, short_url, user_config};
use super::credentials;
use super::lock::lock_file;
use super::snapshot::Snapshot;
use crate::error::user;
use anyhow::{Context, Result, bail};
use git2::{Oid, Repository};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Upstream profile repositories for one command: each URL fetched at most once.
pub struct Upstreams {
    root: PathBuf,
    offline: bool,
    config: git2::Config,
    opened: RefCell<BTreeMap<String, Rc<Upstream>>>,
    bars: ProgressBars,
}

/// Makes the progress bar of one fetch from its message: the operation passes its
/// printer's (shown only on a terminal); Git prints nothing of its own.
pub type ProgressBars = Box<dyn Fn(&str) -> indicatif::ProgressBar>;

/// A bare mirror of one upstream repository.
pub struct Upstream {
    /// The URL as written by the user or the profile (before `insteadOf`).
    pub url: String,
    pub repo: Rc<Repository>,
}

/// A version tag or any tag: its name, the commit it points to, and the message of
/// an annotated tag.
#[derive(Debug, Clone)]
pub struct TagInfo {
    pub name: String,
    pub commit: Oid,
    pub message: Option<String>,
}

/// A tag reference and the object it names (an annotated tag object or a commit),
/// read without peeling: cheap enough to list thousands of tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub name: String,
    pub target: Oid,
}

/// What the catalog keeps of one tag: its commit, the annotated message, and the
/// tagger date (the commit date for a lightweight tag), in seconds since the epoch.
#[derive(Debug, Clone)]
pub struct TagDetail {
    pub commit: Oid,
    pub message: Option<String>,
    pub time: i64,
}

impl Upstreams {
    pub fn new(offline: bool) -> Result<Self> {
        crate::userconfig::load()?;
        Ok(Upstreams {
            root: cache_dir()?.join("mirrors"),
            offline,
            config: user_config()?,
            opened: RefCell::new(BTreeMap::new()),
            bars: Box::new(|_| indicatif::ProgressBar::hidden()),
        })
    }

    /// Show each fetch's progress on the bars `bars` makes (hidden without it).
    pub fn with_progress(mut self, bars: ProgressBars) -> Self {
        self.bars = bars;
        self
    }

    pub fn config(&self) -> &git2::Config {
        &self.config
    }

    /// Fetch one reference the mirror does not follow (the mirror keeps branches
    /// and tags; a forge's `refs/pull/N/head` or `refs/merge-requests/N/head` is
    /// fetched when a SOURCE names it). Offline, the mirror is used as it is.
    pub fn fetch_reference(&self, up: &Upstream, full: &str) -> Result<()> {
        if self.offline || up.reference(full).is_some() {
            return Ok(());
        }
        if !git2::Reference::is_valid_name(full) {
            bail!(user(
                format!("{full:?} is not a valid Git reference name"),
                "name a tag, a branch, a commit or a full reference such as refs/pull/12/head",
            ));
        }
        let fetch_url = rewrite_url(&self.config, &up.url, false);
        let mut remote = up
            .repo
            .remote_anonymous(&fetch_url)
            .with_context(|| format!("invalid Git URL {}", up.url))?;
        let mut fo = git2::FetchOptions::new();
        fo.remote_callbacks(callbacks(&self.config, &fetch_url, None));
        fo.download_tags(git2::AutotagOption::None);
        // A reference the remote does not have is not an error here: the caller
        // reports "nothing matches" with the versions it knows.
        let _ = remote.fetch(&[format!("+{full}:{full}").as_str()], Some(&mut fo), None);
        Ok(())
    }

    /// The mirror of `url`, fetched once in this command unless offline.
    pub fn open(&self, url: &str) -> Result<Rc<Upstream>> {
        if let Some(u) = self.opened.borrow().get(url) {
            return Ok(u.clone());
        }
        let dir = self.root.join(format!("{}.git", cache_key(url)));
        let fetch_url = rewrite_url(&self.config, url, false);
        let exists = dir.join("HEAD").is_file();
        if self.offline && !exists {
            bail!(NotCached {
                url: url.to_string(),
                dir,
            });
        }
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        let repo = if exists {
            let repo = Repository::open_bare(&dir)
                .with_context(|| format!("cannot open the cached mirror {}", dir.display()))?;
            if !self.offline {
                let _lock = lock_file(&dir.join("pctl-fetch.lock"))?;
                fetch_mirror(&repo, &self.config, url, &fetch_url, &self.bars)?;
            }
            repo
        } else {
            // A new mirror is fetched where nobody looks and moved into place only
            // once the fetch succeeded: a failed first fetch (a typo, a directory
            // that is no repository) must not leave an empty mirror that a later
            // offline command takes for a repository without versions.
            let tmp = tempfile::Builder::new()
                .prefix(".mirror-")
                .tempdir_in(&self.root)
                .context("cannot create a mirror in the cache")?;
            let staged_repo =
                Repository::init_bare(tmp.path()).context("cannot create a mirror in the cache")?;
            fetch_mirror(&staged_repo, &self.config, url, &fetch_url, &self.bars)?;
            drop(staged_repo);
            let staged = tmp.keep();
            // Another process may have created it meanwhile: then use theirs.
            if std::fs::rename(&staged, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&staged);
            }
            Repository::open_bare(&dir)
                .with_context(|| format!("cannot open the cached mirror {}", dir.display()))?
        };
        let up = Rc::new(Upstream {
            url: url.to_string(),
            repo: Rc::new(repo),
        });
        self.opened.borrow_mut().insert(url.to_string(), up.clone());
        Ok(up)
    }

    /// Use the local repository at `root` as the upstream `url` for this command,
    /// without copying it into the cache: its own branches, tags and commits
    /// (`pctl diff ./DIR FROM TO`).
    pub fn register_local(&self, url: &str, root: &Path) -> Result<()> {
        let up = local_upstream(root, url)?;
        self.opened
            .borrow_mut()
            .insert(url.to_string(), Rc::new(up));
        Ok(())
    }
}

fn fetch_mirror(
    repo: &Repository,
    cfg: &git2::Config,
    url: &str,
    fetch_url: &str,
    bars: &ProgressBars,
) -> Result<()> {
    let pb = bars(&format!("fetching {}", short_url(url)));
    let mut remote = repo
        .remote_anonymous(fetch_url)
        .with_context(|| format!("invalid Git URL {url}"))?;
    let mut fo = git2::FetchOptions::new();
    fo.remote_callbacks(callbacks(cfg, fetch_url, Some(&pb)));
    fo.prune(git2::FetchPrune::On);
    fo.download_tags(git2::AutotagOption::None);
    let shown = if fetch_url == url {
        url.to_string()
    } else {
        format!("{url} (as {fetch_url})")
    };
    remote
        .fetch(
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            Some(&mut fo),
            None,
        )
        .map_err(|e| {
            credentials::transport_error(&e, &format!("cannot fetch {shown}"), fetch_url)
        })?;
    pb.finish_and_clear();
    if let Ok(buf) = remote.default_branch()
        && let Ok(name) = buf.as_str()
    {
        let _ = repo.set_head(name);
    }
    Ok(())
}

impl Upstream {
    /// Every tag with the commit it points to.
    pub fn tags(&self) -> Result<Vec<TagInfo>> {
        let mut out = Vec::new();
        let names = self.repo.tag_names(None).context("cannot list tags")?;
        for name in names.iter().flatten().flatten() {
            let Ok(r) = self.repo.find_reference(&format!("refs/tags/{name}")) else {
                continue;
            };
            let message = r
                .peel_to_tag()
                .ok()
                .and_then(|t| t.message().ok().flatten().map(str::to_string));
            let Ok(commit) = r.peel_to_commit() else {
                continue;
            };
            out.push(TagInfo {
                name: name.to_string(),
                commit: commit.id(),
                message,
            });
        }
        Ok(out)
    }

    pub fn tag(&self, name: &str) -> Option<TagInfo> {
        let r = self
            .repo
            .find_reference(&format!("refs/tags/{name}"))
            .ok()?;
        let message = r
            .peel_to_tag()
            .ok()
            .and_then(|t| t.message().ok().flatten().map(str::to_string));
        Some(TagInfo {
            name: name.to_string(),
            commit: r.peel_to_commit().ok()?.id(),
            message,
        })
    }

    /// A commit named by a full reference (`refs/tags/X`, `refs/heads/X`,
    /// `refs/pull/N/head`, `refs/merge-requests/N/head`, ...) in the mirror.
    pub fn reference(&self, full: &str) -> Option<Oid> {
        let r = self.repo.find_reference(full).ok()?;
        Some(r.peel_to_commit().ok()?.id())
    }

    pub fn branch(&self, name: &str) -> Option<Oid> {
        let r = self
            .repo
            .find_reference(&format!("refs/heads/{name}"))
            .ok()?;
        Some(r.peel_to_commit().ok()?.id())
    }

    /// The remote's default branch and its commit.
    pub fn default_branch(&self) -> Result<(String, Oid)> {
        if let Ok(head) = self.repo.head()
            && let (Ok(name), Ok(c)) = (head.shorthand(), head.peel_to_commit())
        {
            return Ok((name.to_string(), c.id()));
        }
        for b in ["main", "master"] {
            if let Some(oid) = self.branch(b) {
                return Ok((b.to_string(), oid));
            }
        }
        Err(user(
            format!("{} has no default branch", self.url),
            "name a tag, branch or commit with @REF",
        ))
    }

    /// A commit named by a full or abbreviated hash.
    pub fn commit(&self, hex: &str) -> Option<Oid> {
        if hex.len() < 4 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let obj = self.repo.revparse_single(hex).ok()?;
        Some(obj.peel_to_commit().ok()?.id())
    }

    pub fn snapshot(&self, commit: Oid) -> Result<Snapshot> {
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .with_context(|| format!("cannot read commit {commit} of {}", self.url))?;
        Ok(Snapshot::Tree {
            repo: self.repo.clone(),
            tree: tree.id(),
        })
    }

    /// Every `refs/tags/*` reference with its unpeeled target, sorted by name.
    pub fn tag_refs(&self) -> Result<Vec<TagRef>> {
        let mut out = Vec::new();
        let refs = self
            .repo
            .references_glob("refs/tags/*")
            .with_context(|| format!("cannot list the tags of {}", self.url))?;
        for r in refs.flatten() {
            let (Ok(name), Some(target)) = (r.name(), r.target()) else {
                continue;
            };
            out.push(TagRef {
                name: name.trim_start_matches("refs/tags/").to_string(),
                target,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The commit, message and date of one tag.
    pub fn tag_detail(&self, name: &str) -> Result<TagDetail> {
        let r = self
            .repo
            .find_reference(&format!("refs/tags/{name}"))
            .with_context(|| format!("{}: no tag {name}", self.url))?;
        let commit = r
            .peel_to_commit()
            .with_context(|| format!("{}: tag {name} does not point to a commit", self.url))?;
        let (message, time) = match r.peel_to_tag() {
            Ok(t) => (
                t.message().ok().flatten().map(str::to_string),
                t.tagger()
                    .map(|s| s.when().seconds())
                    .unwrap_or_else(|| commit.time().seconds()),
            ),
            Err(_) => (None, commit.time().seconds()),
        };
        Ok(TagDetail {
            commit: commit.id(),
            message,
            time,
        })
    }

    /// The bytes of the file at repository path `path` in `commit`, if it is a file.
    pub fn file_at(&self, commit: Oid, path: &str) -> Result<Option<Vec<u8>>> {
        self.snapshot(commit)?.read(path)
    }

    /// The annotated message of a tag, if it is an annotated tag.
    pub fn tag_message(&self, name: &str) -> Option<String> {
        self.tag(name).and_then(|t| t.message)
    }
}

/// Open a local repository (a work tree or a bare one) as an [`Upstream`] recorded
/// under `url`, without fetching: for `pctl show ./DIR`.
pub fn local_upstream(path: &Path, url: &str) -> Result<Upstream> {
    let repo = Repository::open(path)
        .with_context(|| format!("cannot open the Git repository {}", path.display()))?;
    Ok(Upstream {
        url: url.to_string(),
        repo: Rc::new(repo),
    })
}
