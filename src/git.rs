//! All Git access: the user's Git configuration (credentials, `insteadOf`), upstream
//! repositories cached as bare mirrors, reading profile files from commits or
//! directories with path-safety checks, and the all-or-nothing commit into a GitOps
//! repository (local, or remote through a cached clone and a push).
use crate::error::{Bug, HintExt, user};
use crate::printer::printer;
use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub mod credentials;
mod journal;

// ------------------------------------------------------------------ config

/// The user's Git configuration: system (unless `GIT_CONFIG_NOSYSTEM`), global
/// (`GIT_CONFIG_GLOBAL`, else `~/.gitconfig` and `$XDG_CONFIG_HOME/git/config`).
pub fn user_config() -> Result<git2::Config> {
    let mut cfg = git2::Config::new().context("cannot create a Git configuration")?;
    let nosystem =
        std::env::var_os("GIT_CONFIG_NOSYSTEM").is_some_and(|v| !v.is_empty() && v != "0");
    if !nosystem && let Ok(p) = git2::Config::find_system() {
        let _ = cfg.add_file(&p, git2::ConfigLevel::System, false);
    }
    match std::env::var_os("GIT_CONFIG_GLOBAL") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_file() {
                cfg.add_file(&p, git2::ConfigLevel::Global, false)
                    .with_context(|| format!("cannot read Git configuration {}", p.display()))?;
            }
        }
        _ => {
            if let Ok(p) = git2::Config::find_xdg() {
                let _ = cfg.add_file(&p, git2::ConfigLevel::XDG, false);
            }
            if let Ok(p) = git2::Config::find_global() {
                let _ = cfg.add_file(&p, git2::ConfigLevel::Global, false);
            }
        }
    }
    Ok(cfg)
}

/// The CA bundle OpenSSL would have read at libgit2's start, loaded when an
/// `https://` URL is first used (see [`start_libgit2`]).
static TLS_BUNDLE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
static TLS_LOADED: std::sync::Once = std::sync::Once::new();

/// Start libgit2 without having OpenSSL parse the system's whole CA bundle, which
/// libgit2 does eagerly and which costs more than half the instructions of a local
/// install; the bundle is loaded when an `https://` URL is first used. Call first
/// thing in `main`, before any other thread exists.
pub fn start_libgit2() {
    #[cfg(all(unix, not(target_os = "macos"), not(target_os = "ios")))]
    {
        let previous = std::env::var_os("SSL_CERT_FILE");
        let bundle = previous
            .as_ref()
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .or_else(|| openssl_probe::probe().cert_file);
        if bundle.is_some() {
            // SAFETY: called before any other thread exists (see above).
            unsafe { std::env::set_var("SSL_CERT_FILE", "/dev/null") };
        }
        // Any call initialises libgit2 and OpenSSL, which reads SSL_CERT_FILE now.
        let _ = git2::Config::new();
        // SAFETY: as above; children (credential helpers) see the user's setting.
        unsafe {
            match previous {
                Some(v) => std::env::set_var("SSL_CERT_FILE", v),
                None => std::env::remove_var("SSL_CERT_FILE"),
            }
        }
        let _ = TLS_BUNDLE.set(bundle);
    }
    // Trees up to 1 MiB stay in libgit2's object cache (the default, 4 KiB, leaves
    // out the directory listing hundreds of installations, which every path lookup
    // under it then inflates again); objects read are not re-hashed on every read,
    // as the git CLI does not (`git fsck` checks them).
    // SAFETY: sets a libgit2 global option before any other thread exists.
    let _ = unsafe { git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 1 << 20) };
    git2::opts::strict_hash_verification(false);
}

/// Load the CA bundle [`start_libgit2`] left out, before the first HTTPS connection.
fn load_tls_certificates(url: &str) {
    if !url.starts_with("https://") {
        return;
    }
    TLS_LOADED.call_once(|| {
        if let Some(Some(file)) = TLS_BUNDLE.get() {
            // SAFETY: sets a libgit2 global option; pctl's Git work is single-threaded.
            if let Err(e) = unsafe { git2::opts::set_ssl_cert_file(file.as_path()) } {
                printer().warn(&format!(
                    "cannot load the CA certificates {}: {}",
                    file.display(),
                    e.message()
                ));
            }
        }
    });
}

/// Apply `url.<base>.insteadOf` (or `pushInsteadOf` when `push`) rewrites: the longest
/// matching prefix wins, as in Git.
pub fn rewrite_url(cfg: &git2::Config, url: &str, push: bool) -> String {
    let mut best: Option<(usize, String)> = None;
    let key = if push { "pushinsteadof" } else { "insteadof" };
    if let Ok(mut entries) = cfg.entries(Some(r"^url\..*\.(push)?insteadof$")) {
        while let Some(Ok(e)) = entries.next() {
            let (Ok(name), Ok(prefix)) = (e.name(), e.value()) else {
                continue;
            };
            let lname = name.to_ascii_lowercase();
            if !lname.ends_with(&format!(".{key}")) {
                continue;
            }
            let base = &name["url.".len()..name.len() - key.len() - 1];
            if url.starts_with(prefix) && best.as_ref().is_none_or(|(l, _)| prefix.len() > *l) {
                best = Some((prefix.len(), format!("{base}{}", &url[prefix.len()..])));
            }
        }
    }
    match best {
        Some((_, u)) => u,
        None if push => rewrite_url(cfg, url, false),
        None => url.to_string(),
    }
}

/// Callbacks for a fetch or push: credentials from the SSH agent and keys, token
/// variables (only where [`credentials::check`] allows them) and credential helpers;
/// progress on a terminal.
fn callbacks<'a>(
    cfg: &'a git2::Config,
    url: &'a str,
    pb: Option<&'a indicatif::ProgressBar>,
) -> git2::RemoteCallbacks<'a> {
    load_tls_certificates(url);
    credentials::clear_refusal();
    let mut cb = git2::RemoteCallbacks::new();
    let mut attempts = 0u32;
    let mut ssh_tries = 0usize;
    cb.credentials(move |u, url_user, allowed| {
        attempts += 1;
        if attempts > 6 {
            return Err(git2::Error::from_str("authentication failed"));
        }
        let username = url_user.unwrap_or("git");
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            // The agent (all its keys), then each default key file in turn, as ssh does.
            ssh_tries += 1;
            if ssh_tries == 1 {
                return git2::Cred::ssh_key_from_agent(username);
            }
            let home = dirs::home_dir().unwrap_or_default();
            let key = ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|k| home.join(".ssh").join(k))
                .filter(|p| p.is_file())
                .nth(ssh_tries - 2);
            return match key {
                Some(p) => git2::Cred::ssh_key(username, None, &p, None),
                None => Err(git2::Error::from_str(
                    "no SSH key was accepted (tried the SSH agent and ~/.ssh/id_ed25519, id_ecdsa, id_rsa)",
                )),
            };
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            // `u` is the URL Git is connected to (after insteadOf and redirects): a
            // token goes there only over HTTPS and to a host the user trusts.
            if let Some((var, token)) = credentials::token_from_env()
                && attempts <= 2
            {
                match credentials::check(u, var) {
                    Ok(()) => {
                        let user = if var == "GITLAB_TOKEN" {
                            "oauth2"
                        } else {
                            "x-access-token"
                        };
                        return git2::Cred::userpass_plaintext(user, &token);
                    }
                    Err(refusal) => credentials::refuse(refusal),
                }
            }
            // Only a username from the URL: the helper answers with the username
            // it stored (a made-up "git" would hide every stored credential).
            return git2::Cred::credential_helper(cfg, u, url_user.filter(|s| !s.is_empty()));
        }
        if allowed.contains(git2::CredentialType::USERNAME) {
            return git2::Cred::username(username);
        }
        git2::Cred::default()
    });
    cb.certificate_check(|_, _| Ok(git2::CertificateCheckStatus::CertificatePassthrough));
    if let Some(pb) = pb {
        cb.transfer_progress(move |p| {
            pb.set_length(p.total_objects() as u64);
            pb.set_position(p.received_objects() as u64);
            true
        });
    }
    cb
}

fn short_url(url: &str) -> String {
    url.rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(url)
        .to_string()
}

/// A directory name for a URL in the cache: readable part plus a hash.
fn cache_key(url: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(url.as_bytes());
    let hex: String = h.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let readable: String = short_url(url)
        .trim_end_matches(".git")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("{readable}-{hex}")
}

/// The pctl cache directory: `$XDG_CACHE_HOME/pctl` (or the platform equivalent).
pub fn cache_dir() -> Result<PathBuf> {
    let base = dirs::cache_dir()
        .ok_or_else(|| user("cannot find the user cache directory", "set XDG_CACHE_HOME"))?;
    Ok(base.join("pctl"))
}

// ------------------------------------------------------------------ upstreams

/// Upstream profile repositories for one command: each URL fetched at most once.
pub struct Upstreams {
    root: PathBuf,
    offline: bool,
    config: git2::Config,
    opened: RefCell<BTreeMap<String, Rc<Upstream>>>,
}

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

impl Upstreams {
    pub fn new(offline: bool) -> Result<Self> {
        crate::userconfig::load()?;
        Ok(Upstreams {
            root: cache_dir()?.join("mirrors"),
            offline,
            config: user_config()?,
            opened: RefCell::new(BTreeMap::new()),
        })
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
            bail!(user(
                format!(
                    "{url} is not in the cache ({}) and --offline forbids fetching it",
                    dir.display()
                ),
                "run the same command once without --offline",
            ));
        }
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        let repo = if exists {
            let repo = Repository::open_bare(&dir)
                .with_context(|| format!("cannot open the cached mirror {}", dir.display()))?;
            if !self.offline {
                let _lock = lock_file(&dir.join("pctl-fetch.lock"))?;
                fetch_mirror(&repo, &self.config, url, &fetch_url)?;
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
            fetch_mirror(&staged_repo, &self.config, url, &fetch_url)?;
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
}

fn fetch_mirror(repo: &Repository, cfg: &git2::Config, url: &str, fetch_url: &str) -> Result<()> {
    let pb = printer().progress(&format!("fetching {}", short_url(url)));
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
}

// ------------------------------------------------------------------ snapshots

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
                let tree = repo.find_tree(*tree)?;
                let (obj_id, mode) = if rel.is_empty() {
                    (tree.id(), 0o040000)
                } else {
                    match tree.get_path(Path::new(rel)) {
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
                    _ => Ok(Some(Entry::File(
                        repo.find_blob(obj_id)?.content().to_vec(),
                    ))),
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

// ------------------------------------------------------------------ local profile repositories

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
        user(
            "the profile repository has no commit yet",
            "commit the profile first, or pass --allow-dirty",
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

// ------------------------------------------------------------------ GitOps workspace

/// A read-only view of the GitOps repository's files at the state a change builds on.
pub struct TreeView {
    snapshot: Option<Snapshot>,
}

impl TreeView {
    pub fn empty() -> Self {
        TreeView { snapshot: None }
    }

    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match &self.snapshot {
            Some(s) => s.read(path),
            None => Ok(None),
        }
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

    /// Every file below `dir` (repository-relative), keyed by full repository path.
    pub fn files_below(&self, dir: &str) -> Result<BTreeMap<String, Vec<u8>>> {
        let Some(s) = &self.snapshot else {
            return Ok(BTreeMap::new());
        };
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
}

/// What a command wants to write: repository-relative path to new content (None =
/// delete), and directories that must have no uncommitted change.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub files: BTreeMap<String, Option<Vec<u8>>>,
    pub guard: Vec<String>,
    /// Paths a stopped upgrade left in the work tree, committed now by
    /// `upgrade --continue`: their changes are pctl's own, not the user's.
    pub own: BTreeSet<String>,
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
    /// Unified diff of the change (always computed; printed for dry runs).
    pub diff: String,
    pub changed: usize,
}

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
        // Its remotes' hosts may receive token variables (docs/security.md); the user's own
        // configuration, which lists more, must be valid.
        crate::userconfig::load()?;
        credentials::trust_workspace(&ws);
        Ok(ws)
    }

    fn open_local(dir: &Path) -> Result<Workspace> {
        let repo = Repository::discover(dir)
            .with_context(|| format!("{} is not inside a Git repository", dir.display()))
            .hint("run `pctl init DIR` to create a GitOps repository, or pass --repo DIR")?;
        let root = repo
            .workdir()
            .ok_or_else(|| {
                user(
                    format!("{} is a bare repository", dir.display()),
                    "pass a work tree or a URL with --repo",
                )
            })?
            .to_path_buf();
        if journal::pending(&repo) {
            // A pctl process died while writing: finish or undo its change now, unless
            // another pctl holds the lock (it recovers before it writes).
            if let Ok(Some(_lock)) = try_lock_file(&repo.path().join("pctl.lock")) {
                recover(&repo, &root)?;
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
                let _lock = if mode == Mode::DryRun {
                    None
                } else {
                    let lock = lock_file(&repo.path().join("pctl.lock"))?;
                    recover(repo, root)?;
                    Some(lock)
                };
                let view = local_view(repo)?;
                let changes = build(&view)?;
                if mode != Mode::DryRun && changes.own.is_empty() {
                    refuse_if_pending(repo)?;
                }
                let changes = drop_noops(&view, changes)?;
                let diff = unified_diff(&view, &changes)?;
                let changed = changes.files.len();
                if mode == Mode::DryRun || changed == 0 {
                    return Ok(Outcome {
                        commit: None,
                        diff,
                        changed,
                    });
                }
                crate::check::guard::guard(&view, &changes)?;
                check_clean(repo, &changes)?;
                let commit = apply_local(repo, root, &changes, message, mode)?;
                Ok(Outcome {
                    commit,
                    diff,
                    changed,
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
                for _attempt in 0..5 {
                    let (branch, head) = remote_sync(repo, config, url)?;
                    let view = view_of(repo, head)?;
                    let changes = drop_noops(&view, build(&view)?)?;
                    let diff = unified_diff(&view, &changes)?;
                    let changed = changes.files.len();
                    if mode != Mode::Commit || changed == 0 {
                        if mode == Mode::NoCommit {
                            bail!(user(
                                "--no-commit needs a local GitOps repository",
                                "clone it and pass --repo DIR"
                            ));
                        }
                        return Ok(Outcome {
                            commit: None,
                            diff,
                            changed,
                        });
                    }
                    crate::check::guard::guard(&view, &changes)?;
                    let parent = if head.is_zero() { None } else { Some(head) };
                    let tree = build_tree(repo, parent, &changes)?;
                    let commit = make_commit(repo, tree, parent, message)?;
                    fault("after-write")?;
                    match push(repo, config, url, &branch, commit) {
                        Ok(()) => {
                            return Ok(Outcome {
                                commit: Some(commit),
                                diff,
                                changed,
                            });
                        }
                        Err(PushError::Moved(e)) => {
                            printer().info(&format!(
                                "{url} moved while pctl worked ({e}); fetching and retrying"
                            ));
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
}

// ------------------------------------------------------------------ stopped merges

/// Where a stopped (conflicted) upgrade or sync keeps its state, inside `.git`.
const PENDING_FILE: &str = "pctl-merge.yaml";

fn refuse_if_pending(repo: &Repository) -> Result<()> {
    if repo.path().join(PENDING_FILE).exists() {
        bail!(user(
            format!(
                "an upgrade with conflicts is in progress in {}",
                repo.workdir().unwrap_or(repo.path()).display()
            ),
            "resolve the conflicts and run `pctl upgrade --continue`, or `pctl upgrade --abort`",
        ));
    }
    Ok(())
}

impl Workspace {
    /// The state of a stopped upgrade, if one is in progress (local repositories only).
    pub fn pending(&self) -> Result<Option<Vec<u8>>> {
        match self {
            Workspace::Local { repo, .. } => {
                let path = repo.path().join(PENDING_FILE);
                match std::fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
                }
            }
            Workspace::Remote { .. } => Ok(None),
        }
    }

    /// Stop a merge with conflicts: write `changes` into the work tree only (the index
    /// and HEAD stay as they are) and save `state(created directories)` as the pending
    /// merge. All or nothing: on error the work tree is put back.
    pub fn stop_with_conflicts(
        &self,
        changes: &Changes,
        state: impl FnOnce(&[String]) -> Result<Vec<u8>>,
    ) -> Result<()> {
        let Workspace::Local { repo, root } = self else {
            bail!(Bug("stop_with_conflicts on a remote workspace".into()));
        };
        let _lock = lock_file(&repo.path().join("pctl.lock"))?;
        recover(repo, root)?;
        refuse_if_pending(repo)?;
        check_clean(repo, changes)?;
        let paths: Vec<&str> = changes.files.keys().map(String::as_str).collect();
        let finish = journal::Finish::Stop {
            pending: PENDING_FILE.to_string(),
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
            let path = repo.path().join(PENDING_FILE);
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

    /// End a stopped merge: put `paths` back as HEAD has them (content and mode; a
    /// path HEAD lacks is removed), remove the directories the merge created, and
    /// forget the pending state.
    pub fn abort_pending(&self, paths: &[String], created_dirs: &[String]) -> Result<()> {
        let Workspace::Local { repo, root } = self else {
            bail!(Bug("abort_pending on a remote workspace".into()));
        };
        let _lock = lock_file(&repo.path().join("pctl.lock"))?;
        recover(repo, root)?;
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

    /// Forget a stopped merge's state (after `--continue` committed it).
    pub fn forget_pending(&self) -> Result<()> {
        if let Workspace::Local { repo, .. } = self {
            let path = repo.path().join(PENDING_FILE);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        Ok(())
    }

    /// The contents of `paths` in the work tree (None = absent), for `--continue`.
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

/// A test hook: `PCTL_FAULT=<point>` makes pctl fail at that point, to prove that a
/// failure after files were written leaves the repository as it was.
pub fn fault(point: &str) -> Result<()> {
    if std::env::var("PCTL_FAULT").is_ok_and(|v| v == point) {
        return Err(anyhow::Error::new(Bug(format!(
            "fault injected at {point} (PCTL_FAULT)"
        ))));
    }
    Ok(())
}

/// `PCTL_FAULT=slow-write`: pause after each file written into a work tree, so that
/// the tests can kill pctl in the middle of a write.
fn slow_write() {
    if std::env::var("PCTL_FAULT").is_ok_and(|v| v == "slow-write") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Finish or undo the change of a pctl process that died while writing to this work
/// tree (see `git/journal.rs`); the caller holds the repository lock.
fn recover(repo: &Repository, root: &Path) -> Result<()> {
    if let Some(msg) = journal::recover(repo, root)? {
        printer().warn(&msg);
    }
    Ok(())
}

/// An exclusive lock on a file, held until dropped.
pub struct FileLock(#[allow(dead_code)] std::fs::File);

pub fn lock_file(path: &Path) -> Result<FileLock> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open lock {}", path.display()))?;
    f.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(FileLock(f))
}

/// [`lock_file`] without waiting: None when another process holds the lock.
pub fn try_lock_file(path: &Path) -> Result<Option<FileLock>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open lock {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(Some(FileLock(f))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow!(e).context(format!("cannot lock {}", path.display())))
        }
    }
}

fn local_view(repo: &Repository) -> Result<TreeView> {
    match head_commit(repo) {
        Some(c) => view_of(repo, c),
        None => Ok(TreeView::empty()),
    }
}

fn view_of(repo: &Repository, commit: Oid) -> Result<TreeView> {
    if commit.is_zero() {
        return Ok(TreeView::empty());
    }
    let tree = repo.find_commit(commit)?.tree()?.id();
    // A second handle: Snapshot owns its repository.
    let handle = Repository::open(repo.path())?;
    Ok(TreeView {
        snapshot: Some(Snapshot::Tree {
            repo: Rc::new(handle),
            tree,
        }),
    })
}

fn drop_noops(view: &TreeView, mut changes: Changes) -> Result<Changes> {
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
        // As git does: no line diff of binary files; nor of huge ones (bounded memory).
        let special = [old.as_deref(), new.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|b| {
                if b.iter().take(8000).any(|&c| c == 0) {
                    Some("Binary files")
                } else if b.len() > DIFF_MAX_BYTES {
                    Some("Large files")
                } else {
                    None
                }
            });
        if let Some(kind) = special {
            let side = |b: &Option<Vec<u8>>, pre: &str| {
                if b.is_some() {
                    format!("{pre}/{path}")
                } else {
                    "/dev/null".to_string()
                }
            };
            out.push_str(&format!(
                "diff --git a/{path} b/{path}\n{kind} {} and {} differ\n",
                side(&old, "a"),
                side(new, "b")
            ));
            continue;
        }
        let old_s = old
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let new_s = new
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let (a, b) = (
            if old.is_some() {
                format!("a/{path}")
            } else {
                "/dev/null".into()
            },
            if new.is_some() {
                format!("b/{path}")
            } else {
                "/dev/null".into()
            },
        );
        out.push_str(&format!("diff --git a/{path} b/{path}\n"));
        let diff = similar::TextDiff::from_lines(old_s.as_ref(), new_s.as_ref());
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&a, &b)
                .to_string(),
        );
    }
    Ok(out)
}

fn check_clean(repo: &Repository, changes: &Changes) -> Result<()> {
    let mut dirty = BTreeSet::new();
    let mut prefixes: BTreeSet<&str> = changes.guard.iter().map(String::as_str).collect();
    prefixes.extend(changes.files.keys().map(String::as_str));
    // One status per prefix not already below another one (a guarded installation
    // directory covers every file written into it): a status is a walk.
    let mut outermost: Vec<&str> = Vec::new();
    for p in prefixes {
        let covered = outermost.iter().any(|q| {
            q.is_empty() || p == *q || p.strip_prefix(*q).is_some_and(|r| r.starts_with('/'))
        });
        if !covered {
            outermost.push(p);
        }
    }
    for p in outermost {
        for d in dirty_paths(repo, p)? {
            if !changes.own.contains(&d) {
                dirty.insert(d);
            }
        }
    }
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

/// Store the content of every file a change writes; its blob by path.
fn write_blobs<'c>(repo: &Repository, changes: &'c Changes) -> Result<BTreeMap<&'c str, Oid>> {
    let mut out = BTreeMap::new();
    for (path, content) in &changes.files {
        if let Some(bytes) = content {
            let oid = repo
                .blob(bytes)
                .map_err(|e| journal::storage_error(path, e))?;
            out.insert(path.as_str(), oid);
        }
    }
    Ok(out)
}

/// Stage a file just written with the blob already stored for it: `add_path` would
/// read and hash the file again.
fn stage(index: &mut git2::Index, root: &Path, path: &str, oid: Oid) -> Result<()> {
    let meta = std::fs::symlink_metadata(root.join(path))?;
    #[cfg(unix)]
    let entry = {
        use std::os::unix::fs::MetadataExt;
        git2::IndexEntry {
            ctime: git2::IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32),
            mtime: git2::IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32),
            dev: meta.dev() as u32,
            ino: meta.ino() as u32,
            mode: u32::from(git2::FileMode::Blob),
            uid: meta.uid(),
            gid: meta.gid(),
            file_size: meta.size() as u32,
            id: oid,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        }
    };
    #[cfg(not(unix))]
    let entry = {
        let _ = (meta, oid);
        return Ok(index.add_path(Path::new(path))?);
    };
    index.add(&entry)?;
    Ok(())
}

fn build_tree(repo: &Repository, parent: Option<Oid>, changes: &Changes) -> Result<Oid> {
    let blobs = write_blobs(repo, changes)?;
    build_tree_of(repo, parent, changes, &blobs)
}

fn build_tree_of(
    repo: &Repository,
    parent: Option<Oid>,
    changes: &Changes,
    blobs: &BTreeMap<&str, Oid>,
) -> Result<Oid> {
    let base = match parent {
        Some(p) => repo.find_commit(p)?.tree()?,
        None => {
            let empty = repo.treebuilder(None)?.write()?;
            repo.find_tree(empty)?
        }
    };
    let mut ub = git2::build::TreeUpdateBuilder::new();
    for (path, content) in &changes.files {
        match content {
            Some(_) => {
                let blob = blobs
                    .get(path.as_str())
                    .copied()
                    .ok_or_else(|| Bug(format!("no blob for {path}")))?;
                ub.upsert(path.as_str(), blob, git2::FileMode::Blob);
            }
            None => {
                ub.remove(path.as_str());
            }
        }
    }
    ub.create_updated(repo, &base)
        .map_err(|e| journal::storage_error("the new tree", e))
}

fn signature(repo: &Repository, who: &str) -> git2::Signature<'static> {
    let env = |k: &str| {
        std::env::var(format!("GIT_{who}_{k}"))
            .ok()
            .filter(|s| !s.is_empty())
    };
    let from_cfg = repo.signature().ok();
    let name = env("NAME")
        .or_else(|| {
            from_cfg
                .as_ref()
                .and_then(|s| s.name().ok().map(str::to_string))
        })
        .unwrap_or_else(|| "pctl".into());
    let email = env("EMAIL")
        .or_else(|| {
            from_cfg
                .as_ref()
                .and_then(|s| s.email().ok().map(str::to_string))
        })
        .unwrap_or_else(|| "pctl@localhost".into());
    if let Some(date) = env("DATE").and_then(|d| parse_git_date(&d))
        && let Ok(s) = git2::Signature::new(&name, &email, &date)
    {
        return s;
    }
    git2::Signature::now(&name, &email)
        .or_else(|_| git2::Signature::now("pctl", "pctl@localhost"))
        .unwrap_or_else(|_| unreachable_signature())
}

fn unreachable_signature() -> git2::Signature<'static> {
    // Signature::new only fails on names with '<' or '>' and the literal is fine.
    git2::Signature::new("pctl", "pctl@localhost", &git2::Time::new(0, 0))
        .unwrap_or_else(|_| std::process::abort())
}

/// `@<seconds> [+hhmm]` or `<seconds> [+hhmm]` (Git's internal date format).
fn parse_git_date(s: &str) -> Option<git2::Time> {
    let s = s.trim().trim_start_matches('@');
    let mut it = s.split_whitespace();
    let secs: i64 = it.next()?.parse().ok()?;
    let tz = it.next().unwrap_or("+0000");
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let digits = tz.trim_start_matches(['+', '-']);
    let (h, m) = (
        digits.get(0..2)?.parse::<i32>().ok()?,
        digits.get(2..4)?.parse::<i32>().ok()?,
    );
    Some(git2::Time::new(secs, sign * (h * 60 + m)))
}

fn make_commit(repo: &Repository, tree: Oid, parent: Option<Oid>, message: &str) -> Result<Oid> {
    let tree = repo.find_tree(tree)?;
    let author = signature(repo, "AUTHOR");
    let committer = signature(repo, "COMMITTER");
    let parents: Vec<git2::Commit> = match parent {
        Some(p) => vec![repo.find_commit(p)?],
        None => vec![],
    };
    let refs: Vec<&git2::Commit> = parents.iter().collect();
    Ok(repo.commit(None, &author, &committer, message, &tree, &refs)?)
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
        let mut index = repo.index().context("cannot read the index")?;
        for (path, content) in &changes.files {
            match content {
                Some(bytes) => {
                    writer.write(path, bytes)?;
                    let oid = blobs
                        .get(path.as_str())
                        .copied()
                        .ok_or_else(|| Bug(format!("no blob for {path}")))?;
                    stage(&mut index, root, path, oid)
                        .with_context(|| format!("cannot stage {path}"))?;
                }
                None => {
                    writer.remove(path)?;
                    let _ = index.remove_path(Path::new(path));
                }
            }
            slow_write();
        }
        index.write().context("cannot write the index")?;
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

/// Fetch the remote GitOps repository into the cached bare clone; returns its default
/// branch and head (zero for an empty remote).
fn remote_sync(repo: &Repository, config: &git2::Config, url: &str) -> Result<(String, Oid)> {
    let fetch_url = rewrite_url(config, url, false);
    let mut remote = repo
        .remote_anonymous(&fetch_url)
        .with_context(|| format!("invalid Git URL {url}"))?;
    let mut fo = git2::FetchOptions::new();
    fo.remote_callbacks(callbacks(config, &fetch_url, None));
    fo.download_tags(git2::AutotagOption::None);
    remote
        .fetch(&["+refs/heads/*:refs/heads/*"], Some(&mut fo), None)
        .map_err(|e| {
            let action = format!("cannot fetch the GitOps repository {}", redact_url(url));
            credentials::transport_error(&e, &action, &fetch_url)
        })?;
    let branch = remote
        .default_branch()
        .ok()
        .and_then(|b| {
            b.as_str()
                .ok()
                .map(|s| s.trim_start_matches("refs/heads/").to_string())
        })
        .unwrap_or_else(|| "main".to_string());
    let head = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.peel_to_commit().ok())
        .map(|c| c.id())
        .unwrap_or(Oid::ZERO_SHA1);
    Ok((branch, head))
}

enum PushError {
    Moved(String),
    Other(anyhow::Error),
}

fn push(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
    branch: &str,
    commit: Oid,
) -> std::result::Result<(), PushError> {
    let refname = format!("refs/heads/{branch}");
    push_commit(repo, config, url, commit, &refname, false)?;
    let _ = repo.reference(&refname, commit, true, "pctl push");
    Ok(())
}

/// Push `commit` to the full ref name `dst` of `url` (through a temporary ref in
/// `refs/pctl/push/`, deleted afterwards), forced when `force`. A ref update the server
/// refuses (a hook, branch protection) is an error quoting what it said.
fn push_commit(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
    commit: Oid,
    dst: &str,
    force: bool,
) -> std::result::Result<(), PushError> {
    let tmp = format!("refs/pctl/push/{}", dst.trim_start_matches("refs/heads/"));
    repo.reference(&tmp, commit, true, "pctl push")
        .map_err(|e| PushError::Other(e.into()))?;
    let push_url = rewrite_url(config, url, true);
    let mut remote = repo
        .remote_anonymous(&push_url)
        .map_err(|e| PushError::Other(e.into()))?;
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let said: RefCell<String> = RefCell::new(String::new());
    let mut cb = callbacks(config, &push_url, None);
    cb.push_update_reference(|r, status| {
        if let Some(msg) = status {
            *rejected.borrow_mut() = Some(format!("{r}: {msg}"));
        }
        Ok(())
    });
    cb.sideband_progress(|data| {
        said.borrow_mut().push_str(&String::from_utf8_lossy(data));
        true
    });
    let mut po = git2::PushOptions::new();
    po.remote_callbacks(cb);
    let spec = format!("{}{tmp}:{dst}", if force { "+" } else { "" });
    let res = remote.push(&[spec.as_str()], Some(&mut po));
    drop(po);
    let _ = repo.find_reference(&tmp).and_then(|mut r| r.delete());
    // What the server printed (hook output), without progress lines.
    let said: Vec<String> = said
        .into_inner()
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(" (the server said: {})", said.join(" / "))
    };
    match res {
        Err(e) => {
            let msg = e.message().to_string();
            if !force
                && (msg.contains("non-fast")
                    || msg.contains("fastforward")
                    || msg.contains("fetch first"))
            {
                Err(PushError::Moved(msg))
            } else {
                let action = format!("cannot push to {}{said}", redact_url(url));
                Err(PushError::Other(credentials::transport_error(
                    &e, &action, &push_url,
                )))
            }
        }
        Ok(()) => match rejected.into_inner() {
            // "failed to update ref": the server's compare-and-swap of the branch lost a
            // race with another writer after it advertised the old head.
            Some(msg)
                if !force
                    && (msg.contains("non-fast")
                        || msg.contains("fetch first")
                        || msg.contains("stale")
                        || msg.contains("failed to update ref")
                        || msg.contains("cannot lock ref")) =>
            {
                Err(PushError::Moved(msg))
            }
            Some(msg) => Err(PushError::Other(user(
                format!("{} rejected the push: {msg}{said}", redact_url(url)),
                "check the branch protection, the server's hooks and your permissions",
            ))),
            None => Ok(()),
        },
    }
}

// ------------------------------------------------------------------ pull-request branches
//
// Added for `--create-pr` (issue 5). The change is built on the tip of the remote's
// base branch, committed and force-pushed to a branch of its own. A local
// repository's HEAD, branches, index and work tree are never touched: the fetch writes
// no ref (not even FETCH_HEAD) and the commit exists only as objects and on the
// remote.

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
                let diff = similar::TextDiff::from_lines(&a, &b);
                let (mut plus, mut minus) = (0, 0);
                for c in diff.iter_all_changes() {
                    match c.tag() {
                        similar::ChangeTag::Insert => plus += 1,
                        similar::ChangeTag::Delete => minus += 1,
                        similar::ChangeTag::Equal => {}
                    }
                }
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

/// A URL for messages: any password or token in it (`https://user:TOKEN@host/...`)
/// replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_string(),
    }
}

/// Fetch the base branch (`base`, else the remote's default branch) of `url` into
/// `repo` without writing any ref; returns its name and tip.
fn fetch_base(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
    base: Option<&str>,
) -> Result<(String, Oid)> {
    let fetch_url = rewrite_url(config, url, false);
    let mut remote = repo
        .remote_anonymous(&fetch_url)
        .with_context(|| format!("invalid Git URL {}", redact_url(url)))?;
    let url = redact_url(url);
    // List the remote's refs first: a missing branch is then a clear error.
    let heads: Vec<(String, Oid)>;
    let default: Option<String>;
    {
        let conn = remote
            .connect_auth(
                git2::Direction::Fetch,
                Some(callbacks(config, &fetch_url, None)),
                None,
            )
            .map_err(|e| {
                credentials::transport_error(
                    &e,
                    &format!("cannot reach the remote {url}"),
                    &fetch_url,
                )
            })?;
        heads = conn
            .list()
            .with_context(|| format!("cannot list the branches of {url}"))?
            .iter()
            .map(|h| (h.name().to_string(), h.oid()))
            .collect();
        default = conn
            .default_branch()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_string));
    }
    let branch = match base {
        Some(b) => b.trim_start_matches("refs/heads/").to_string(),
        None => default
            .map(|d| d.trim_start_matches("refs/heads/").to_string())
            .ok_or_else(|| {
                user(
                    format!("{url} has no default branch (is it empty?)"),
                    "push the GitOps repository's main branch first, or name the base with --pr-base BRANCH",
                )
            })?,
    };
    let want = format!("refs/heads/{branch}");
    let Some(&(_, tip)) = heads.iter().find(|(n, _)| *n == want) else {
        let names: Vec<&str> = heads
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("refs/heads/"))
            .collect();
        bail!(user(
            format!("{url} has no branch {branch:?} to open the pull request against"),
            if names.is_empty() {
                "push a base branch first".to_string()
            } else {
                format!("--pr-base BRANCH; its branches: {}", names.join(", "))
            },
        ));
    };
    if repo.find_commit(tip).is_err() {
        let mut fo = git2::FetchOptions::new();
        fo.remote_callbacks(callbacks(config, &fetch_url, None));
        fo.download_tags(git2::AutotagOption::None);
        fo.update_fetchhead(false);
        remote
            .fetch(&[want.as_str()], Some(&mut fo), None)
            .map_err(|e| {
                let action = format!("cannot fetch {branch} from {url}");
                credentials::transport_error(&e, &action, &fetch_url)
            })?;
        repo.find_commit(tip).with_context(|| {
            format!("fetching {branch} from {url} did not bring its commit {tip}")
        })?;
    }
    Ok((branch, tip))
}

impl Workspace {
    /// The URL of the remote `name` of a local GitOps repository (its push URL when it
    /// has one), or the URL of a remote workspace (`--repo URL`), whatever `name`.
    pub fn remote_url(&self, name: &str) -> Result<String> {
        match self {
            Workspace::Remote { url, .. } => Ok(url.clone()),
            Workspace::Local { repo, root } => {
                let remote = repo.find_remote(name).map_err(|_| {
                    let names: Vec<String> = repo
                        .remotes()
                        .map(|r| r.iter().flatten().flatten().map(str::to_string).collect())
                        .unwrap_or_default();
                    user(
                        format!("{} has no remote named {name:?}", root.display()),
                        if names.is_empty() {
                            format!("add one: git remote add {name} URL")
                        } else {
                            format!("--remote NAME; its remotes: {}", names.join(", "))
                        },
                    )
                })?;
                let url = remote
                    .pushurl()
                    .ok()
                    .flatten()
                    .or(remote.url().ok())
                    .ok_or_else(|| {
                        user(
                            format!("the remote {name:?} of {} has no URL", root.display()),
                            format!("set one: git remote set-url {name} URL"),
                        )
                    })?;
                Ok(url.to_string())
            }
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
                        user(
                            format!(
                                "{} has no branch {name:?} to open the pull request against",
                                redact_url(&url)
                            ),
                            "push it first, or name another base with --pr-base BRANCH",
                        )
                    })?;
                (name, tip)
            }
        };
        if base_branch == branch {
            bail!(user(
                format!("the pull request branch {branch} is its own base"),
                "choose another --pr-base",
            ));
        }
        let view = view_of(repo, base_commit)?;
        let changes = drop_noops(&view, build(&view)?)?;
        crate::check::guard::guard(&view, &changes)?;
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
            });
        }
        let tree = build_tree(repo, Some(base_commit), &changes)?;
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
        Ok(BranchOutcome {
            commit: Some(commit),
            base_branch,
            base_commit,
            diff,
            changed,
            stats,
        })
    }
}

// ------------------------------------------------------------------ init

/// Open or create a repository at `dir` (created with branch `main`).
pub fn init_or_open(dir: &Path) -> Result<(Repository, bool)> {
    if let Ok(repo) = Repository::open(dir) {
        return Ok((repo, false));
    }
    if dir.exists()
        && let Ok(outer) = Repository::discover(dir)
        && let Some(root) = outer.workdir()
    {
        bail!(user(
            format!(
                "{} is inside the Git repository {} but is not its root",
                dir.display(),
                root.display()
            ),
            format!(
                "a GitOps repository is a whole repository: run `pctl init {}`, or choose a directory outside it",
                root.display()
            ),
        ));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = Repository::init_opts(dir, &opts)
        .with_context(|| format!("cannot create a Git repository in {}", dir.display()))?;
    Ok((repo, true))
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

impl TreeView {
    /// Repository paths of the files named `name` that are not below a directory
    /// holding one already (installations do not nest), in path order. Reads only the
    /// directories outside those: the cost does not grow with the files inside them.
    pub fn find_outermost(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.outermost(name)?.into_iter().map(|(p, _)| p).collect())
    }

    fn outermost(&self, name: &str) -> Result<Vec<(String, Oid)>> {
        fn walk(
            repo: &Repository,
            tree: &git2::Tree,
            prefix: &str,
            name: &str,
            out: &mut Vec<(String, Oid)>,
        ) -> Result<()> {
            if let Some(e) = tree.get_name(name)
                && e.kind() == Some(git2::ObjectType::Blob)
            {
                out.push((format!("{prefix}{name}"), e.id()));
                return Ok(());
            }
            for e in tree.iter() {
                if e.kind() == Some(git2::ObjectType::Tree) {
                    let sub = repo.find_tree(e.id())?;
                    let dir = String::from_utf8_lossy(e.name_bytes());
                    walk(repo, &sub, &format!("{prefix}{dir}/"), name, out)?;
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        if let Some(Snapshot::Tree { repo, tree }) = &self.snapshot {
            let tree = repo.find_tree(*tree)?;
            walk(repo, &tree, "", name, &mut out)?;
        }
        out.sort();
        Ok(out)
    }

    /// [`TreeView::find_outermost`] with each file's content, read by its blob id
    /// (no path lookup from the root for each).
    pub fn read_outermost(&self, name: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let Some(Snapshot::Tree { repo, .. }) = &self.snapshot else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (path, oid) in self.outermost(name)? {
            out.push((path, repo.find_blob(oid)?.content().to_vec()));
        }
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

// ------------------------------------------------------------------ catalog scanning
//
// Added for the catalog (issue 4): listing tag refs without peeling them, and reading
// one tag (its commit, message, date and one file) only when the index has not seen it.

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

impl Upstream {
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

// ------------------------------------------------------------------ export and import
//
// Added for `pctl export` / `pctl import` (issue 6): the annotated message of a version
// tag (a bundle keeps it as the version's changelog), and a new profile repository made
// of one commit of files already on disk plus annotated version tags.

impl Upstream {
    /// The annotated message of a tag, if it is an annotated tag.
    pub fn tag_message(&self, name: &str) -> Option<String> {
        self.tag(name).and_then(|t| t.message)
    }
}

/// Make `dir` (holding `files`, written by the caller) a new Git repository: branch
/// `main` with one commit of exactly those files, and an annotated tag per
/// `(name, message)`. Identities and dates follow `GIT_AUTHOR_*`/`GIT_COMMITTER_*`,
/// else the user's configuration. Returns the commit.
pub fn create_with_tags(
    dir: &Path,
    files: &[String],
    message: &str,
    tags: &[(String, String)],
) -> Result<Oid> {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = Repository::init_opts(dir, &opts)
        .with_context(|| format!("cannot create a Git repository in {}", dir.display()))?;
    let mut index = repo.index()?;
    for f in files {
        // add_path does not consult .gitignore: every file of the bundle is committed.
        index
            .add_path(Path::new(f))
            .with_context(|| format!("cannot add {f} to the new repository"))?;
    }
    index.write()?;
    let tree = index.write_tree()?;
    let commit = make_commit(&repo, tree, None, message)?;
    repo.reference("refs/heads/main", commit, true, "pctl import")?;
    let tagger = signature(&repo, "COMMITTER");
    let target = repo.find_object(commit, Some(git2::ObjectType::Commit))?;
    for (name, msg) in tags {
        if !git2::Reference::is_valid_name(&format!("refs/tags/{name}")) {
            bail!(user(
                format!("{name:?} is not a valid tag name"),
                "the bundle's manifest is damaged",
            ));
        }
        repo.tag(name, &target, &tagger, msg, false)
            .with_context(|| format!("cannot create tag {name}"))?;
    }
    Ok(commit)
}

// ------------------------------------------------------------------ authoring (lint, diff, publish)
//
// Added for issue 6: `pctl diff ./DIR` reads the local repository in place, and
// `pctl publish` reads the tags of a repository and of its remote, creates an
// annotated version tag and pushes it.

impl Upstreams {
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

/// The URL of remote `name` (its push URL when `push`).
pub fn remote_url(repo: &Repository, name: &str, push: bool) -> Result<String> {
    let remote = repo.find_remote(name).map_err(|_| {
        let names: Vec<String> = repo
            .remotes()
            .map(|r| r.iter().flatten().flatten().map(str::to_string).collect())
            .unwrap_or_default();
        user(
            format!("the repository has no remote named {name:?}"),
            if names.is_empty() {
                "add one with `git remote add origin URL`".to_string()
            } else {
                format!("remotes: {} (--remote NAME)", names.join(", "))
            },
        )
    })?;
    let url = if push {
        remote.pushurl().ok().flatten().or(remote.url().ok())
    } else {
        remote.url().ok()
    };
    url.map(str::to_string).ok_or_else(|| {
        user(
            format!("remote {name:?} has no URL"),
            "set it with `git remote set-url`",
        )
    })
}

/// The tags of remote `name`, with their commits and annotated messages. They are
/// fetched into a private namespace of the local repository and removed again, so
/// the user's tags are left alone.
pub fn remote_tags(repo: &Repository, name: &str) -> Result<Vec<TagInfo>> {
    let url = remote_url(repo, name, false)?;
    let config = user_config()?;
    let fetch_url = rewrite_url(&config, &url, false);
    // The remote of the user's own repository: trusted like a GitOps remote.
    credentials::trust_gitops_url(&url);
    credentials::trust_gitops_url(&fetch_url);
    let ns = format!("refs/pctl/remote-tags/{}", std::process::id());
    let mut remote = repo
        .remote_anonymous(&fetch_url)
        .with_context(|| format!("invalid Git URL {url}"))?;
    let mut fo = git2::FetchOptions::new();
    fo.remote_callbacks(callbacks(&config, &fetch_url, None));
    fo.download_tags(git2::AutotagOption::None);
    fo.update_fetchhead(false);
    let fetched = remote.fetch(
        &[format!("+refs/tags/*:{ns}/*").as_str()],
        Some(&mut fo),
        None,
    );
    let mut out = Vec::new();
    let mut names = Vec::new();
    if let Ok(refs) = repo.references_glob(&format!("{ns}/*")) {
        for r in refs.flatten() {
            let Ok(full) = r.name().map(str::to_string) else {
                continue;
            };
            names.push(full.clone());
            let message = r
                .peel_to_tag()
                .ok()
                .and_then(|t| t.message().ok().flatten().map(str::to_string));
            if let Ok(c) = r.peel_to_commit() {
                out.push(TagInfo {
                    name: full[ns.len() + 1..].to_string(),
                    commit: c.id(),
                    message,
                });
            }
        }
    }
    for n in names {
        if let Ok(mut r) = repo.find_reference(&n) {
            let _ = r.delete();
        }
    }
    fetched.map_err(|e| {
        let action = format!(
            "cannot read the tags of remote {name} ({})",
            redact_url(&url)
        );
        credentials::transport_error(&e, &action, &fetch_url)
    })?;
    Ok(out)
}

/// Write an annotated tag object named `name` for the commit `target`, tagged by the
/// committer identity (`GIT_COMMITTER_*`, else `user.name`/`user.email`), without a
/// reference yet.
pub fn tag_object(repo: &Repository, name: &str, target: Oid, message: &str) -> Result<Oid> {
    let obj = repo.find_object(target, Some(git2::ObjectType::Commit))?;
    let tagger = signature(repo, "COMMITTER");
    repo.tag_annotation_create(name, &obj, &tagger, message)
        .with_context(|| format!("cannot create the tag {name}"))
}

/// Point `refs/tags/NAME` at a tag object; refused when the tag exists.
pub fn create_tag_ref(repo: &Repository, name: &str, tag: Oid) -> Result<()> {
    repo.reference(&format!("refs/tags/{name}"), tag, false, "pctl publish")
        .map_err(|e| {
            if e.code() == git2::ErrorCode::Exists {
                user(
                    format!("tag {name} already exists"),
                    "publish another version",
                )
            } else {
                anyhow!(e).context(format!("cannot create the tag {name}"))
            }
        })?;
    Ok(())
}

/// Push a tag object as `refs/tags/NAME` to remote `remote` (never forced). A
/// rejection by the server (the tag exists there, a hook refused it) is an error
/// that quotes the server.
pub fn push_tag(repo: &Repository, remote: &str, name: &str, tag: Oid) -> Result<()> {
    let url = remote_url(repo, remote, true)?;
    let config = user_config()?;
    let push_url = rewrite_url(&config, &url, true);
    // The remote of the user's own repository: trusted like a GitOps remote.
    credentials::trust_gitops_url(&url);
    credentials::trust_gitops_url(&push_url);
    let tmp = format!("refs/pctl/publish/{}", std::process::id());
    repo.reference(&tmp, tag, true, "pctl publish")?;
    let result = (|| -> Result<()> {
        let mut r = repo
            .remote_anonymous(&push_url)
            .with_context(|| format!("invalid Git URL {url}"))?;
        let rejected: RefCell<Option<String>> = RefCell::new(None);
        let mut cb = callbacks(&config, &push_url, None);
        cb.push_update_reference(|r, status| {
            if let Some(msg) = status {
                *rejected.borrow_mut() = Some(format!("{r}: {msg}"));
            }
            Ok(())
        });
        let mut po = git2::PushOptions::new();
        po.remote_callbacks(cb);
        let res = r.push(&[format!("{tmp}:refs/tags/{name}").as_str()], Some(&mut po));
        drop(po);
        match res {
            Err(e) => {
                let action = format!(
                    "cannot push the tag {name} to {remote} ({}); nothing was tagged",
                    redact_url(&url)
                );
                Err(credentials::transport_error(&e, &action, &push_url))
            }
            Ok(()) => match rejected.into_inner() {
                Some(msg) => Err(user(
                    format!("{remote} ({url}) rejected the tag {name}: {msg}"),
                    "the server refused it (the tag exists there, or a hook or protection rule forbids it); nothing was tagged",
                )),
                None => Ok(()),
            },
        }
    })();
    if let Ok(mut r) = repo.find_reference(&tmp) {
        let _ = r.delete();
    }
    result
}
