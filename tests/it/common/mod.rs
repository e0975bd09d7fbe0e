//! Black-box test harness for `pctl`.
//!
//! Everything here drives real programs: the `pctl` binary, the `git` CLI,
//! `git daemon` and `git http-backend` (behind a tiny CGI server written below).
//! Every GitOps tree a test produces is checked with the project's own `pctl check`.
//! Nothing is mocked.
//!
//! - [`build_repo`] / [`shared_repo`]: fixture repositories replayed from
//!   `fixtures/repos/<name>/history.yaml` with pinned dates and identities, so
//!   the same fixtures always give the same commit hashes.
//! - [`Env`]: a sandbox per test (HOME, XDG dirs, Git configuration) and the
//!   `pctl` runner.
//! - [`git_daemon`] / [`http_backend`]: real Git servers on 127.0.0.1.
//! - [`snapshot`] / [`assert_unchanged`]: the all-or-nothing checks.
//! - [`pctl_check`]: walks a GitOps tree as Flux would with `pctl check` (and keeps
//!   it for CI, which runs an independent checker over it too, when
//!   `PCTL_KEEP_TREES` is set).
//! - [`forge::ForgeServer`]: a GitHub, GitLab or Gitea API on 127.0.0.1 that holds
//!   pctl to each forge's REST contract (pull-request tests).

mod case;
pub mod forge;
mod tools;
pub use case::Case;
pub use tools::*;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub use serde_json::Value;

/// The crate root (`/work/main` in development, the clone root in CI).
pub const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");
/// The URL under which `platform` profiles reference the `addons` repository.
pub const ADDONS_URL: &str = "https://git.example.com/addons.git";
/// Defaults written by `pctl init`.
pub const SYNC_PATH: &str = "clusters/default";
pub const INSTALL_PATH: &str = "clusters/default/profiles";

/// Bump when the way fixture repositories are built changes (invalidates the
/// on-disk cache of built fixtures under `target/tmp`).
const BUILDER_VERSION: &str = "fixture-builder-1";
const FIXTURE_EPOCH: &str = "2026-01-01T00:00:00Z";
const FIXTURE_NAME: &str = "Fixture Author";
const FIXTURE_EMAIL: &str = "fixtures@example.com";

pub fn fixtures_dir() -> PathBuf {
    Path::new(CRATE_DIR).join("fixtures")
}

pub fn pctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pctl"))
}

// ---------------------------------------------------------------------------
// Process environment hygiene
// ---------------------------------------------------------------------------

/// Variables a child must never inherit from whoever runs the tests.
const SCRUBBED: &[&str] = &[
    "HOME",
    "EMAIL",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "GITEA_TOKEN",
    "SSH_AUTH_SOCK",
    "SSH_ASKPASS",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "all_proxy",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "FORCE_COLOR",
];

/// Removes every inherited variable that could change what Git or pctl does
/// (`GIT_*`, `PCTL_*`, `XDG_*`, tokens, proxies, HOME).
pub fn scrub_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("GIT_")
            || k.starts_with("PCTL_")
            || k.starts_with("XDG_")
            || SCRUBBED.contains(&k.as_str())
        {
            cmd.env_remove(&k);
        }
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("no_proxy", "*")
        .env("NO_PROXY", "*");
}

/// A `git` command isolated from every user and system configuration, with a
/// fixed identity. Used for the harness's own Git work.
pub fn git_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    scrub_env(&mut cmd);
    cmd.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_AUTHOR_NAME", "Harness")
        .env("GIT_AUTHOR_EMAIL", "harness@example.com")
        .env("GIT_COMMITTER_NAME", "Harness")
        .env("GIT_COMMITTER_EMAIL", "harness@example.com")
        .env("HOME", "/nonexistent")
        .stdin(Stdio::null());
    cmd
}

/// Runs `git ARGS` in `dir`, panics on failure, returns stdout without the
/// trailing newline.
pub fn git(dir: &Path, args: &[&str]) -> String {
    run_git(git_cmd(dir), dir, args)
}

fn run_git(mut cmd: Command, dir: &Path, args: &[&str]) -> String {
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    if !out.status.success() {
        panic!(
            "git {} (in {}) failed with {}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_string()
}

/// `git ARGS` in `dir`: did it succeed?
pub fn git_ok(dir: &Path, args: &[&str]) -> bool {
    git_cmd(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn head(repo: &Path) -> String {
    git(repo, &["rev-parse", "HEAD"])
}

pub fn head_subject(repo: &Path) -> String {
    git(repo, &["log", "-1", "--format=%s"])
}

pub fn commit_count(repo: &Path) -> usize {
    if !git_ok(repo, &["rev-parse", "--verify", "-q", "HEAD"]) {
        return 0;
    }
    git(repo, &["rev-list", "--count", "HEAD"]).parse().unwrap()
}

/// Subjects of the commits reachable from `rev`, newest first.
pub fn subjects(repo: &Path, rev: &str) -> Vec<String> {
    git(repo, &["log", "--format=%s", rev])
        .lines()
        .map(str::to_string)
        .collect()
}

/// `git status --porcelain` is empty (ignored files do not count).
pub fn is_clean(repo: &Path) -> bool {
    git(repo, &["status", "--porcelain=v1", "--untracked-files=all"]).is_empty()
}

/// Paths changed by commit `rev` (against its first parent).
pub fn files_in_commit(repo: &Path, rev: &str) -> Vec<String> {
    git(
        repo,
        &["show", "--format=", "--name-only", "--no-renames", rev],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

// ---------------------------------------------------------------------------
// Fixture repositories
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct History {
    commits: Vec<HistoryCommit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryCommit {
    #[serde(default)]
    overlay: Option<String>,
    message: String,
    #[serde(default)]
    delete: Vec<String>,
    #[serde(default)]
    tags: Vec<HistoryTag>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    symlinks: Vec<HistorySymlink>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryTag {
    name: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistorySymlink {
    path: String,
    target: String,
}

/// A Git repository on disk; deleted on drop unless it is a shared one.
pub struct TempRepo {
    _dir: Option<TempDir>,
    pub path: PathBuf,
    pub name: String,
}

impl TempRepo {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `file:///abs/path`
    pub fn url(&self) -> String {
        file_url(&self.path)
    }

    /// A pctl SOURCE: `file:///repo[//SUBDIR][@REF]`.
    pub fn source(&self, subdir: &str, reference: Option<&str>) -> String {
        source_url(&self.url(), subdir, reference)
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }

    pub fn head(&self) -> String {
        head(&self.path)
    }

    /// The commit a revision (tag, branch, ...) points to.
    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", &format!("{rev}^{{commit}}")])
    }

    pub fn tags(&self) -> Vec<String> {
        self.git(&["tag", "--list"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `refname objectname` for every ref, sorted.
    pub fn refs(&self) -> String {
        self.git(&["for-each-ref", "--format=%(refname) %(objectname)"])
    }
}

pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `BASE[//SUBDIR][@REF]`
pub fn source_url(base: &str, subdir: &str, reference: Option<&str>) -> String {
    let mut s = base.to_string();
    if !subdir.is_empty() {
        s.push_str("//");
        s.push_str(subdir);
    }
    if let Some(r) = reference {
        s.push('@');
        s.push_str(r);
    }
    s
}

/// Builds `fixtures/repos/<name>` into a fresh Git repository in its own temp
/// directory (deleted on drop). Use this when the test changes the repository.
pub fn build_repo(name: &str) -> TempRepo {
    let dir = tempfile::Builder::new()
        .prefix(&format!("pctl-fixture-{name}-"))
        .tempdir()
        .unwrap();
    let path = dir.path().join(name);
    build_fixture_into(name, &path);
    TempRepo {
        _dir: Some(dir),
        path,
        name: name.to_string(),
    }
}

/// A read-only fixture repository shared by every test of the process (and
/// cached across runs under `target/tmp/fixture-repos/<name>-<content hash>`).
/// Never change it: use [`build_repo`] for a private copy.
pub fn shared_repo(name: &str) -> &'static TempRepo {
    static SHARED: OnceLock<Mutex<HashMap<String, &'static TempRepo>>> = OnceLock::new();
    let map = SHARED.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(repo) = map.get(name) {
        return repo;
    }
    let repo: &'static TempRepo = Box::leak(Box::new(build_cached(name)));
    map.insert(name.to_string(), repo);
    repo
}

fn build_cached(name: &str) -> TempRepo {
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-repos");
    std::fs::create_dir_all(&parent).unwrap();
    let hash = fixture_hash(name);
    let path = parent.join(format!("{name}-{}", &hash[..16]));
    if path.join(".git").is_dir()
        && git(&path, &["status", "--porcelain", "--untracked-files=all"]).is_empty()
    {
        return TempRepo {
            _dir: None,
            path,
            name: name.to_string(),
        };
    }
    let _ = std::fs::remove_dir_all(&path);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".building-{name}-"))
        .tempdir_in(&parent)
        .unwrap();
    let built = tmp.path().join(name);
    build_fixture_into(name, &built);
    // An atomic rename publishes the finished repository; a concurrent builder
    // (another test process) that lost the race uses the winner's copy, which
    // is identical because builds are deterministic.
    if std::fs::rename(&built, &path).is_err() && !path.join(".git").is_dir() {
        panic!(
            "cannot publish the built fixture repository {}",
            path.display()
        );
    }
    TempRepo {
        _dir: None,
        path,
        name: name.to_string(),
    }
}

/// SHA-256 over the fixture directory (paths, modes, contents) and the
/// builder version.
pub fn fixture_hash(name: &str) -> String {
    let root = fixtures_dir().join("repos").join(name);
    let mut h = Sha256::new();
    h.update(BUILDER_VERSION.as_bytes());
    for (rel, entry) in walk(&root) {
        h.update(rel.as_bytes());
        h.update([0]);
        match entry {
            Entry::File { data, exec } => {
                h.update([if exec { b'x' } else { b'f' }]);
                h.update((data.len() as u64).to_le_bytes());
                h.update(&data);
            }
            Entry::Symlink(t) => {
                h.update(b"l");
                h.update(t.as_bytes());
            }
            Entry::Dir => h.update(b"d"),
        }
    }
    hex(&h.finalize())
}

fn fixture_env(cmd: &mut Command, minute: usize) {
    let date = fixture_date(minute);
    cmd.env("GIT_AUTHOR_NAME", FIXTURE_NAME)
        .env("GIT_AUTHOR_EMAIL", FIXTURE_EMAIL)
        .env("GIT_COMMITTER_NAME", FIXTURE_NAME)
        .env("GIT_COMMITTER_EMAIL", FIXTURE_EMAIL)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date);
}

/// `2026-01-01T00:00:00Z` plus `minute` minutes.
fn fixture_date(minute: usize) -> String {
    assert!(FIXTURE_EPOCH.starts_with("2026-01-01T00:00"));
    let (h, m) = (minute / 60, minute % 60);
    assert!(h < 24, "too many fixture commits");
    format!("2026-01-01T{h:02}:{m:02}:00Z")
}

fn fixture_git(repo: &Path, minute: usize, args: &[&str]) -> String {
    let mut cmd = git_cmd(repo);
    fixture_env(&mut cmd, minute);
    cmd.args([
        "-c",
        "core.autocrlf=false",
        "-c",
        "core.symlinks=true",
        "-c",
        "advice.detachedHead=false",
    ]);
    run_git(cmd, repo, args)
}

/// Replays `fixtures/repos/<name>/history.yaml` into a new repository at `dest`.
pub fn build_fixture_into(name: &str, dest: &Path) {
    let root = fixtures_dir().join("repos").join(name);
    let text = std::fs::read_to_string(root.join("history.yaml"))
        .unwrap_or_else(|e| panic!("cannot read {}/history.yaml: {e}", root.display()));
    let history: History = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}/history.yaml: {e}", root.display()));
    std::fs::create_dir_all(dest).unwrap();
    fixture_git(dest, 0, &["init", "-q", "-b", "main"]);
    let mut current = "main".to_string();
    for (i, c) in history.commits.iter().enumerate() {
        let branch = c.branch.clone().unwrap_or_else(|| "main".into());
        if branch != current {
            if git_ok(
                dest,
                &[
                    "rev-parse",
                    "--verify",
                    "-q",
                    &format!("refs/heads/{branch}"),
                ],
            ) {
                fixture_git(dest, i, &["checkout", "-q", &branch]);
            } else {
                fixture_git(dest, i, &["checkout", "-q", "-b", &branch]);
            }
            current = branch;
        }
        for d in &c.delete {
            let p = dest.join(d);
            if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap_or_else(|e| panic!("delete {d}: {e}"));
            }
        }
        if let Some(overlay) = &c.overlay {
            let src = root.join(overlay);
            assert!(src.is_dir(), "overlay {} does not exist", src.display());
            copy_tree(&src, dest);
        }
        for s in &c.symlinks {
            let p = dest.join(&s.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            if p.symlink_metadata().is_ok() {
                if p.is_dir() && !p.is_symlink() {
                    std::fs::remove_dir_all(&p).unwrap();
                } else {
                    std::fs::remove_file(&p).unwrap();
                }
            }
            std::os::unix::fs::symlink(&s.target, &p).unwrap();
        }
        fixture_git(dest, i, &["add", "-A"]);
        fixture_git(
            dest,
            i,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "--no-verify",
                "-m",
                &c.message,
            ],
        );
        for t in &c.tags {
            let msg = t.message.clone().unwrap_or_else(|| t.name.clone());
            fixture_git(dest, i, &["tag", "-a", &t.name, "-m", &msg]);
        }
    }
    if current != "main" {
        fixture_git(dest, history.commits.len(), &["checkout", "-q", "main"]);
    }
}

// ---------------------------------------------------------------------------
// File trees
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File { data: Vec<u8>, exec: bool },
    Symlink(String),
    Dir,
}

/// Every entry below `root` (not following symlinks), keyed by the
/// `/`-separated relative path, skipping a top-level `.git`.
pub fn walk(root: &Path) -> BTreeMap<String, Entry> {
    fn rec(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        let mut entries: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.map(|e| e.unwrap()).collect(),
            Err(_) => return,
        };
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == ".git" {
                continue;
            }
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, Entry::Symlink(t.to_string_lossy().into_owned()));
            } else if md.is_dir() {
                out.insert(rel, Entry::Dir);
                rec(root, &p, out);
            } else {
                let data = std::fs::read(&p).unwrap();
                out.insert(
                    rel,
                    Entry::File {
                        data,
                        exec: md.permissions().mode() & 0o111 != 0,
                    },
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    rec(root, root, &mut out);
    out
}

/// The files (only regular files) below `root`, skipping `.git`.
pub fn tree_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(root)
        .into_iter()
        .filter_map(|(k, v)| match v {
            Entry::File { data, .. } => Some((k, data)),
            _ => None,
        })
        .collect()
}

/// Copies `src` over `dest` (files overwrite, directories merge), keeping the
/// executable bit; symlinks are copied as symlinks. Skips a top-level `.git`.
pub fn copy_tree(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for (rel, entry) in walk(src) {
        let p = dest.join(&rel);
        match entry {
            Entry::Dir => std::fs::create_dir_all(&p).unwrap(),
            Entry::File { data, exec } => {
                if p.is_symlink() {
                    std::fs::remove_file(&p).unwrap();
                }
                std::fs::write(&p, data).unwrap();
                let mode = if exec { 0o755 } else { 0o644 };
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            Entry::Symlink(t) => {
                let _ = std::fs::remove_file(&p);
                std::os::unix::fs::symlink(t, &p).unwrap();
            }
        }
    }
}

/// Paths where two trees differ (added, removed or changed), for messages.
pub fn tree_diff(a: &Path, b: &Path) -> Vec<String> {
    let (wa, wb) = (walk(a), walk(b));
    let mut out = Vec::new();
    for (k, v) in &wa {
        match wb.get(k) {
            None => out.push(format!("only in {}: {k}", a.display())),
            Some(w) if w != v => out.push(format!("differs: {k}")),
            _ => {}
        }
    }
    for k in wb.keys() {
        if !wa.contains_key(k) {
            out.push(format!("only in {}: {k}", b.display()));
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------
// The sandbox and the pctl runner
// ---------------------------------------------------------------------------

/// One test's private world: HOME, XDG directories, a global Git configuration
/// file (HOME/.gitconfig, also named by GIT_CONFIG_GLOBAL, so the git CLI and
/// libgit2 both read it), and a work directory used as the default cwd.
pub struct Env {
    _dir: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub cache: PathBuf,
    pub config: PathBuf,
    pub gitconfig: PathBuf,
    pub work: PathBuf,
    vars: RefCell<Vec<(String, String)>>,
    unset: RefCell<Vec<String>>,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("pctl-test-")
            .tempdir()
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (home, cache, config, work) = (
            root.join("home"),
            root.join("cache"),
            root.join("config"),
            root.join("work"),
        );
        for d in [&home, &cache, &config, &work] {
            std::fs::create_dir_all(d).unwrap();
        }
        let gitconfig = home.join(".gitconfig");
        std::fs::write(
            &gitconfig,
            "[user]\n\tname = Pctl Test\n\temail = pctl-test@example.com\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
        Env {
            _dir: dir,
            root,
            home,
            cache,
            config,
            gitconfig,
            work,
            vars: RefCell::new(Vec::new()),
            unset: RefCell::new(Vec::new()),
        }
    }

    /// A path inside the sandbox root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Sets an extra environment variable for every later pctl run.
    pub fn set_var(&self, key: &str, value: &str) {
        self.vars.borrow_mut().push((key.into(), value.into()));
    }

    /// Removes an extra variable set with [`Env::set_var`].
    pub fn remove_var(&self, key: &str) {
        self.vars.borrow_mut().retain(|(k, _)| k != key);
    }

    /// Runs later commands without `key` in their environment at all (even
    /// one the sandbox sets, such as GIT_CONFIG_GLOBAL).
    pub fn unset_var(&self, key: &str) {
        self.remove_var(key);
        self.unset.borrow_mut().push(key.to_string());
    }

    /// Appends raw text to the global Git configuration.
    pub fn append_gitconfig(&self, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.gitconfig)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// `[url "<base>"] insteadOf = <prefix>`: Git rewrites URLs starting with
    /// `prefix` to start with `base`.
    pub fn insteadof(&self, base: &str, prefix: &str) {
        self.append_gitconfig(&format!("[url \"{base}\"]\n\tinsteadOf = {prefix}\n"));
    }

    /// Maps the placeholder [`ADDONS_URL`] to a local `addons` repository.
    pub fn map_addons(&self, addons: &TempRepo) {
        self.insteadof(&addons.url(), ADDONS_URL);
    }

    fn apply(&self, cmd: &mut Command) {
        scrub_env(cmd);
        cmd.env("HOME", &self.home)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("XDG_CONFIG_HOME", &self.config)
            .env("XDG_DATA_HOME", self.root.join("data"))
            .env("XDG_STATE_HOME", self.root.join("state"))
            .env("GIT_CONFIG_GLOBAL", &self.gitconfig)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("TERM", "dumb");
        for (k, v) in self.vars.borrow().iter() {
            cmd.env(k, v);
        }
        for k in self.unset.borrow().iter() {
            cmd.env_remove(k);
        }
    }

    /// A `pctl` command with this sandbox's environment, cwd = `self.work`.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(pctl_bin());
        self.apply(&mut cmd);
        cmd.current_dir(&self.work).args(args).stdin(Stdio::null());
        cmd
    }

    /// Runs `pctl ARGS` from `self.work` and returns its output (never panics
    /// on a non-zero exit; check with [`assert_success`] & co).
    pub fn pctl<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_with_timeout(self.command(args), Duration::from_secs(120))
    }

    /// Runs `pctl ARGS` from `cwd`.
    pub fn pctl_in<I, S>(&self, cwd: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        cmd.current_dir(cwd);
        run_with_timeout(cmd, Duration::from_secs(120))
    }

    /// Starts `pctl ARGS` without waiting (stdout and stderr piped).
    pub fn spawn<I, S>(&self, args: I) -> Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().expect("cannot start pctl")
    }

    /// The git CLI under this sandbox's HOME and Git configuration (so
    /// `insteadOf` rewrites apply), with a fixed identity.
    pub fn git_command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new("git");
        self.apply(&mut cmd);
        cmd.current_dir(dir).stdin(Stdio::null());
        cmd
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        run_git(self.git_command(dir), dir, args)
    }

    /// Any other program (`kpt`, `kubectl`, …) under this sandbox's HOME, XDG
    /// directories and Git configuration, run in `dir`.
    pub fn tool_command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        self.apply(&mut cmd);
        cmd.current_dir(dir).stdin(Stdio::null());
        cmd
    }

    /// `pctl init <root>/<name>`: a fresh GitOps repository with the default
    /// layout. Panics unless it succeeds.
    pub fn init_gitops(&self, name: &str) -> PathBuf {
        let path = self.root.join(name);
        let out = self.pctl(["init".as_ref(), path.as_os_str()]);
        assert_success(&out);
        path
    }

    /// `pctl install SOURCE --name NAME --repo GITOPS EXTRA...`
    pub fn install(&self, gitops: &Path, source: &str, name: &str, extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec![
            "install".into(),
            source.into(),
            "--name".into(),
            name.into(),
        ];
        args.push("--repo".into());
        args.push(gitops.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        self.pctl(&args)
    }

    /// `pctl list --repo GITOPS -o json`, parsed.
    pub fn list_json(&self, gitops: &Path) -> Vec<Value> {
        let out = self.pctl([
            "list",
            "--repo",
            &gitops.display().to_string(),
            "-o",
            "json",
        ]);
        assert_success(&out);
        match serde_json::from_slice::<Value>(&out.stdout) {
            Ok(Value::Array(a)) => a,
            other => panic!(
                "pctl list -o json did not print a JSON array: {other:?}\n{}",
                describe(&out)
            ),
        }
    }
}

/// Runs a command, killing it if it takes longer than `limit`.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let so = t_out.join().unwrap();
            let se = t_err.join().unwrap();
            panic!(
                "{cmd:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&so),
                String::from_utf8_lossy(&se)
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// `s` quoted for a POSIX shell.
pub fn shell_quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"))
}

/// Runs `cmd` (program, arguments, environment changes and cwd) under a
/// pseudo-terminal with `script -qec CMD /dev/null` (util-linux), so that its
/// stdin, stdout and stderr are a terminal. Everything it wrote comes back in
/// `stdout` (stdout and stderr interleaved, lines ending in `\r\n`); `stderr`
/// holds what `script` itself said; the status is the command's.
pub fn run_in_pty(cmd: &Command, limit: Duration) -> Output {
    let mut line = shell_quote(cmd.get_program());
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let mut pty = Command::new("script");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => pty.env(k, v),
            None => pty.env_remove(k),
        };
    }
    // script runs the command with $SHELL -c.
    pty.env("SHELL", "/bin/sh");
    if let Some(dir) = cmd.get_current_dir() {
        pty.current_dir(dir);
    }
    pty.args(["-qec", &line, "/dev/null"]).stdin(Stdio::null());
    run_with_timeout(pty, limit)
}

impl Env {
    /// Runs `pctl ARGS` from `self.work` under a pseudo-terminal (see
    /// [`run_in_pty`]): stderr is a terminal, as for a user at a shell.
    pub fn pctl_tty<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_in_pty(&self.command(args), Duration::from_secs(120))
    }
}

/// Waits for a spawned process and collects its output.
pub fn wait_output(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

// ---------------------------------------------------------------------------
// Output assertions
// ---------------------------------------------------------------------------

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        stdout(out),
        stderr(out)
    )
}

#[track_caller]
pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "pctl failed\n{}", describe(out));
}

#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "unexpected exit code\n{}",
        describe(out)
    );
}

/// Exit `code`, an `error: ` line on stderr, and nothing on stdout (data goes
/// to stdout only, and a failed command has none).
#[track_caller]
pub fn assert_error(out: &Output, code: i32) {
    assert_exit(out, code);
    let err = stderr(out);
    assert!(
        err.lines().any(|l| l.starts_with("error: ")),
        "stderr has no `error: ` line\n{}",
        describe(out)
    );
    assert!(
        out.stdout.is_empty(),
        "a failing command printed on stdout\n{}",
        describe(out)
    );
}

/// stderr contains every needle (case-insensitive).
#[track_caller]
pub fn assert_stderr_mentions(out: &Output, needles: &[&str]) {
    let err = stderr(out).to_lowercase();
    for n in needles {
        assert!(
            err.contains(&n.to_lowercase()),
            "stderr does not mention {n:?}\n{}",
            describe(out)
        );
    }
}

/// stderr contains at least one of the alternatives (case-insensitive).
#[track_caller]
pub fn assert_stderr_mentions_any(out: &Output, alternatives: &[&str]) {
    let err = stderr(out).to_lowercase();
    assert!(
        alternatives.iter().any(|n| err.contains(&n.to_lowercase())),
        "stderr mentions none of {alternatives:?}\n{}",
        describe(out)
    );
}

// ---------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------

/// YAML 1.2 reading (`y`, `on`, `yes` stay strings, as in Kubernetes).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true }
}

/// Every non-empty YAML document of a string.
pub fn yaml_docs_str(text: &str) -> Vec<Value> {
    try_yaml_docs(text).unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"))
}

/// Like [`yaml_docs_str`], but returns the parse error.
pub fn try_yaml_docs(text: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    try_yaml_docs(&text).unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display()))
}

/// A file holding exactly one YAML document.
pub fn yaml_file(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(
        docs.len(),
        1,
        "{} should hold one YAML document",
        path.display()
    );
    docs.remove(0)
}

/// Every YAML document of every `*.yaml`/`*.yml` file below `dir`, skipping
/// Helm chart directories (their templates are not YAML).
pub fn yaml_objects(dir: &Path) -> Vec<(String, Value)> {
    let files = walk(dir);
    let chart_dirs: Vec<String> = files
        .keys()
        .filter(|k| k.ends_with("/Chart.yaml") || *k == "Chart.yaml")
        .map(|k| k.trim_end_matches("Chart.yaml").to_string())
        .collect();
    let patches = kustomize_patch_files(dir, &files);
    let mut out = Vec::new();
    for (rel, e) in &files {
        if !(rel.ends_with(".yaml") || rel.ends_with(".yml"))
            || chart_dirs.iter().any(|c| rel.starts_with(c.as_str()))
            || patches.contains(rel)
        {
            continue;
        }
        if let Entry::File { .. } = e {
            for d in yaml_docs(&dir.join(rel)) {
                out.push((rel.clone(), d));
            }
        }
    }
    out
}

/// Files that a kustomization.yaml below `dir` uses as patches (they are not
/// objects of their own), as paths relative to `dir`.
fn kustomize_patch_files(
    dir: &Path,
    files: &BTreeMap<String, Entry>,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for rel in files
        .keys()
        .filter(|k| *k == "kustomization.yaml" || k.ends_with("/kustomization.yaml"))
    {
        let base = rel.trim_end_matches("kustomization.yaml");
        let Ok(text) = std::fs::read_to_string(dir.join(rel)) else {
            continue;
        };
        let Ok(docs) = try_yaml_docs(&text) else {
            continue;
        };
        let Some(k) = docs.first() else { continue };
        let mut refs: Vec<String> = Vec::new();
        for key in ["patches", "patchesJson6902"] {
            for p in k[key].as_array().into_iter().flatten() {
                if let Some(path) = p["path"].as_str() {
                    refs.push(path.to_string());
                }
            }
        }
        for p in k["patchesStrategicMerge"].as_array().into_iter().flatten() {
            if let Some(path) = p.as_str().filter(|s| !s.contains('\n')) {
                refs.push(path.to_string());
            }
        }
        for r in refs {
            out.insert(format!("{base}{}", normalize_rel(&r)));
        }
    }
    out
}

/// The objects of a given kind (any apiVersion) below `dir`.
pub fn objects_of_kind(dir: &Path, kind: &str) -> Vec<(String, Value)> {
    yaml_objects(dir)
        .into_iter()
        .filter(|(_, d)| d["kind"] == kind)
        .collect()
}

/// `doc.metadata.name` as a string ("" when absent).
pub fn name_of(doc: &Value) -> String {
    doc["metadata"]["name"].as_str().unwrap_or("").to_string()
}

// ---------------------------------------------------------------------------
// Snapshots: the all-or-nothing checks
// ---------------------------------------------------------------------------

/// What a failed pctl command must leave exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub head: Option<String>,
    pub head_ref: Option<String>,
    pub refs: String,
    pub index: Option<Vec<u8>>,
    pub status: Vec<u8>,
    /// relative path -> "f <sha256>", "x <sha256>", "l <target>" or "d"
    pub files: BTreeMap<String, String>,
}

pub fn snapshot(repo: &Path) -> State {
    // Read the index before running git status (which must not write it:
    // GIT_OPTIONAL_LOCKS=0 in git_cmd).
    let index_path = git(repo, &["rev-parse", "--git-path", "index"]);
    let index_path = repo.join(index_path);
    let index = std::fs::read(&index_path).ok();
    let head = git_cmd(repo)
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let head_ref = git_cmd(repo)
        .args(["symbolic-ref", "-q", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let refs = git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    let status = git_cmd(repo)
        .args([
            "status",
            "--porcelain=v1",
            "--ignored",
            "-z",
            "--untracked-files=all",
        ])
        .output()
        .unwrap()
        .stdout;
    let files = walk(repo)
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                Entry::File { data, exec } => {
                    format!("{} {}", if exec { "x" } else { "f" }, sha256_hex(&data))
                }
                Entry::Symlink(t) => format!("l {t}"),
                Entry::Dir => "d".to_string(),
            };
            (k, s)
        })
        .collect();
    State {
        head,
        head_ref,
        refs,
        index,
        status,
        files,
    }
}

/// Human-readable differences between two snapshots (empty when equal).
pub fn state_diff(before: &State, after: &State) -> Vec<String> {
    let mut d = Vec::new();
    if before.head != after.head {
        d.push(format!("HEAD moved: {:?} -> {:?}", before.head, after.head));
    }
    if before.head_ref != after.head_ref {
        d.push(format!(
            "HEAD ref changed: {:?} -> {:?}",
            before.head_ref, after.head_ref
        ));
    }
    if before.refs != after.refs {
        d.push(format!(
            "refs changed:\n{}\n->\n{}",
            before.refs, after.refs
        ));
    }
    if before.index != after.index {
        d.push("the index file changed".into());
    }
    if before.status != after.status {
        d.push(format!(
            "git status changed: {:?} -> {:?}",
            String::from_utf8_lossy(&before.status).replace('\0', "; "),
            String::from_utf8_lossy(&after.status).replace('\0', "; ")
        ));
    }
    for (k, v) in &before.files {
        match after.files.get(k) {
            None => d.push(format!("removed: {k}")),
            Some(w) if w != v => d.push(format!("changed: {k}")),
            _ => {}
        }
    }
    for k in after.files.keys() {
        if !before.files.contains_key(k) {
            d.push(format!("added: {k}"));
        }
    }
    d
}

#[track_caller]
pub fn assert_unchanged(before: &State, after: &State) {
    let d = state_diff(before, after);
    assert!(
        d.is_empty(),
        "the repository changed:\n  {}",
        d.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// pctl check and kept trees
// ---------------------------------------------------------------------------

/// Runs `pctl check --repo REPO` and asserts it reports no problem. Returns its
/// output (findings and the summary line). Keeps the tree for CI first (see
/// [`keep_tree`]).
#[track_caller]
pub fn pctl_check(repo: &Path) -> String {
    pctl_check_with(repo, &[])
}

/// [`pctl_check`] with more arguments (`--source NS/NAME`, `--path P`).
#[track_caller]
pub fn pctl_check_with(repo: &Path, args: &[&str]) -> String {
    if let Some(kept) = keep_tree(repo)
        && !args.is_empty()
    {
        // CI checks the kept tree again, with the same arguments (one a line).
        std::fs::write(kept.join(".pctl-check-args"), args.join("\n") + "\n").unwrap();
    }
    let out = run_check(repo, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "pctl check {} failed ({}):\n{text}",
        repo.display(),
        out.status
    );
    text
}

/// `pctl check --repo REPO ARGS...` as it ran (no assertion).
pub fn run_check(repo: &Path, args: &[&str]) -> Output {
    Command::new(pctl_bin())
        .arg("check")
        .arg("--repo")
        .arg(repo)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("cannot run pctl check")
}

/// The former name of [`pctl_check`].
#[track_caller]
pub fn flux_dry_run(repo: &Path) -> String {
    pctl_check(repo)
}

/// The former name of [`pctl_check_with`].
#[track_caller]
pub fn flux_dry_run_with(repo: &Path, args: &[&str]) -> String {
    pctl_check_with(repo, args)
}

/// When `PCTL_KEEP_TREES` names a directory, copies the GitOps tree (without
/// `.git`) to `$PCTL_KEEP_TREES/<test name>/` (`-2`, `-3`, ... when a test
/// keeps several).
pub fn keep_tree(repo: &Path) -> Option<PathBuf> {
    let name = thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_string)
        .unwrap_or_else(|| "tree".into());
    keep_tree_as(repo, &name)
}

/// Keeps the tree as `$PCTL_KEEP_TREES/<crate>__<name>`; returns where.
pub fn keep_tree_as(repo: &Path, name: &str) -> Option<PathBuf> {
    let dest_root = PathBuf::from(std::env::var_os("PCTL_KEEP_TREES")?);
    std::fs::create_dir_all(&dest_root).unwrap();
    let crate_name = Path::new(env!("CARGO_CRATE_NAME")).display().to_string();
    let base: String = format!("{crate_name}__{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    for n in 1.. {
        let dir = if n == 1 {
            dest_root.join(&base)
        } else {
            dest_root.join(format!("{base}-{n}"))
        };
        if std::fs::create_dir(&dir).is_ok() {
            copy_tree(repo, &dir);
            return Some(dir);
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Git servers
// ---------------------------------------------------------------------------

/// A bare mirror of `src` at `root/<name>.git`, ready to be served. Returns
/// its path.
pub fn bare_copy(src: &Path, root: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(root).unwrap();
    let dest = root.join(format!("{name}.git"));
    git(
        root,
        &[
            "clone",
            "-q",
            "--mirror",
            &src.display().to_string(),
            &dest.display().to_string(),
        ],
    );
    // Serve it as a plain bare repository: no remote to fetch from.
    git(&dest, &["remote", "remove", "origin"]);
    dest
}

enum ServerKind {
    Daemon(Child),
    Http(Arc<AtomicBool>),
}

/// A Git server on 127.0.0.1, stopped on drop.
pub struct Server {
    pub port: u16,
    scheme: &'static str,
    kind: ServerKind,
    pub log: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    /// Usernames of the HTTP Basic credentials the server accepted (http only).
    auth_users: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `git://127.0.0.1:PORT/<repo>` or `http://127.0.0.1:PORT/<repo>`.
    pub fn url(&self, repo: &str) -> String {
        format!("{}://127.0.0.1:{}/{}", self.scheme, self.port, repo)
    }

    /// Requests seen so far (http only): `METHOD target -> status`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Usernames of the HTTP Basic credentials accepted so far (http with
    /// [`HttpOptions::basic_auth`] only), one per authenticated request.
    pub fn auth_users(&self) -> Vec<String> {
        self.auth_users.lock().unwrap().clone()
    }

    /// What the server logged (stderr of git daemon / http-backend).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.kind {
            ServerKind::Daemon(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            ServerKind::Http(stop) => {
                stop.store(true, Ordering::SeqCst);
                // Wake the accept loop.
                let _ = TcpStream::connect(("127.0.0.1", self.port));
            }
        }
    }
}

/// `git daemon --export-all --base-path=ROOT --enable=receive-pack` on a free
/// port of 127.0.0.1. Repositories are addressed as `git://127.0.0.1:PORT/<dir>`
/// relative to `root`.
pub fn git_daemon(root: &Path) -> Server {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = root.with_file_name(format!(
        "git-daemon-{}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    for _attempt in 0..10 {
        let port = free_port();
        let logf = std::fs::File::create(&log).unwrap();
        // Run git-daemon itself, not through the `git` wrapper: killing the wrapper
        // on drop would leave the daemon running (and listening) as an orphan.
        let daemon = Path::new(&git(root, &["--exec-path"])).join("git-daemon");
        let mut cmd = if daemon.is_file() {
            Command::new(&daemon)
        } else {
            let mut c = Command::new("git");
            c.arg("daemon");
            c
        };
        scrub_env(&mut cmd);
        cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", "/nonexistent")
            .args([
                "--export-all",
                "--reuseaddr",
                "--informative-errors",
                "--listen=127.0.0.1",
                "--enable=receive-pack",
            ])
            .arg(format!("--base-path={}", root.display()))
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf);
        let mut child = cmd.spawn().expect("cannot start git daemon");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // died (port taken?): try another port
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server {
                    port,
                    scheme: "git",
                    kind: ServerKind::Daemon(child),
                    log,
                    requests: Default::default(),
                    auth_users: Default::default(),
                };
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    panic!(
        "git daemon did not start; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// A smart-HTTP Git server: a small HTTP/1.1 server (std only, a thread per
/// connection) running `git http-backend` as a CGI program with
/// GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL and http.receivepack enabled.
/// Repositories are `http://127.0.0.1:PORT/<dir>` relative to `root`.
pub fn http_backend(root: &Path) -> Server {
    http_backend_with(root, HttpOptions::default())
}

/// HTTP Basic authentication required by [`http_backend_with`].
#[derive(Debug, Clone, Default)]
pub struct BasicAuth {
    /// The username the server insists on; `None` accepts any username (as
    /// GitHub, GitLab and Gitea do for tokens).
    pub user: Option<String>,
    pub password: String,
}

/// Slows responses down: the body is written `chunk` bytes at a time with
/// `delay` before each chunk.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub chunk: usize,
    pub delay: Duration,
}

/// Options of the smart-HTTP test server.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Every request must carry these credentials, else `401` with
    /// `WWW-Authenticate: Basic realm="git"`.
    pub basic_auth: Option<BasicAuth>,
    /// Throttles the `git-upload-pack` responses (the pack data), so that a
    /// fetch takes a while.
    pub throttle: Option<Throttle>,
}

/// [`http_backend`] with authentication and/or throttling.
pub fn http_backend_with(root: &Path, opts: HttpOptions) -> Server {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = root.with_file_name(format!(
        "http-backend-{}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&log, b"").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let requests: Arc<Mutex<Vec<String>>> = Default::default();
    let auth_users: Arc<Mutex<Vec<String>>> = Default::default();
    {
        let (stop, root, log, requests, users) = (
            stop.clone(),
            root.to_path_buf(),
            log.clone(),
            requests.clone(),
            auth_users.clone(),
        );
        let opts = Arc::new(opts);
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (root, log, requests, users, opts) = (
                    root.clone(),
                    log.clone(),
                    requests.clone(),
                    users.clone(),
                    opts.clone(),
                );
                thread::spawn(move || {
                    let extra = HttpExtra {
                        opts: &opts,
                        users: &users,
                    };
                    if let Err(e) = serve_http_connection(stream, &root, &log, &requests, &extra) {
                        append_log(&log, &format!("connection error: {e}\n"));
                    }
                });
            }
        });
    }
    Server {
        port,
        scheme: "http",
        kind: ServerKind::Http(stop),
        log,
        requests,
        auth_users,
    }
}

/// Options and records of [`http_backend_with`] for one connection.
struct HttpExtra<'a> {
    opts: &'a HttpOptions,
    users: &'a Mutex<Vec<String>>,
}

/// `Ok(username)` when an `Authorization: Basic` value matches `auth`.
fn check_basic_auth(value: Option<&str>, auth: &BasicAuth) -> Result<String, String> {
    let Some(value) = value else {
        return Err("no Authorization header".into());
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Err("not Basic authorization".into());
    };
    let decoded = base64_decode(encoded).ok_or("invalid base64")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "credentials are not UTF-8")?;
    let (user, password) = decoded.split_once(':').ok_or("no ':' in credentials")?;
    if password != auth.password {
        return Err(format!("wrong password for {user:?}"));
    }
    if auth.user.as_deref().is_some_and(|u| u != user) {
        return Err(format!("wrong username {user:?}"));
    }
    Ok(user.to_string())
}

fn append_log(log: &Path, text: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_chunked<R: BufRead>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let size_hex = line.trim().split(';').next().unwrap_or("").to_string();
        let size = usize::from_str_radix(&size_hex, 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad chunk size {line:?}"),
            )
        })?;
        if size == 0 {
            // trailers until an empty line
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
    }
}

/// Serves requests on one connection (keep-alive) until the client closes it.
fn serve_http_connection(
    stream: TcpStream,
    root: &Path,
    log: &Path,
    requests: &Mutex<Vec<String>>,
    extra: &HttpExtra,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let request_line = request_line.trim_end().to_string();
        if request_line.is_empty() {
            continue;
        }
        let mut parts = request_line.splitn(3, ' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let version = parts.next().unwrap_or("HTTP/1.0").to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end_matches(['\r', '\n']);
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if header("Expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            writer.flush()?;
        }
        let body = if header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            read_chunked(&mut reader)?
        } else if let Some(len) = header("Content-Length").and_then(|v| v.parse::<usize>().ok()) {
            let mut b = vec![0; len];
            reader.read_exact(&mut b)?;
            b
        } else {
            Vec::new()
        };
        let keep_alive = version == "HTTP/1.1"
            && !header("Connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));

        if let Some(auth) = &extra.opts.basic_auth {
            match check_basic_auth(header("Authorization").as_deref(), auth) {
                Ok(user) => extra.users.lock().unwrap().push(user),
                Err(why) => {
                    append_log(log, &format!("{method} {target}: 401 ({why})\n"));
                    requests
                        .lock()
                        .unwrap()
                        .push(format!("{method} {target} -> 401 Unauthorized"));
                    let body = b"authentication required\n";
                    let msg = format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n",
                        body.len(),
                        if keep_alive {
                            "Connection: keep-alive\r\n"
                        } else {
                            "Connection: close\r\n"
                        }
                    );
                    writer.write_all(msg.as_bytes())?;
                    writer.write_all(body)?;
                    writer.flush()?;
                    if !keep_alive {
                        return Ok(());
                    }
                    continue;
                }
            }
        }

        let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        let mut cmd = Command::new("git");
        scrub_env(&mut cmd);
        cmd.arg("http-backend")
            .env("HOME", "/nonexistent")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.receivepack")
            .env("GIT_CONFIG_VALUE_0", "true")
            .env("GIT_PROJECT_ROOT", root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("SERVER_PROTOCOL", &version)
            .env("SERVER_SOFTWARE", "pctl-test-cgi")
            .env("SERVER_NAME", "127.0.0.1")
            .env("REMOTE_ADDR", "127.0.0.1")
            .env("REQUEST_METHOD", &method)
            .env("REQUEST_URI", &target)
            .env("SCRIPT_NAME", "")
            .env("PATH_INFO", percent_decode(path))
            .env("QUERY_STRING", query)
            .env("CONTENT_LENGTH", body.len().to_string());
        if let Some(ct) = header("Content-Type") {
            cmd.env("CONTENT_TYPE", ct);
        }
        for (k, v) in &headers {
            let key = format!("HTTP_{}", k.to_ascii_uppercase().replace('-', "_"));
            if key != "HTTP_CONTENT_LENGTH"
                && key != "HTTP_CONTENT_TYPE"
                && key != "HTTP_TRANSFER_ENCODING"
            {
                cmd.env(key, v);
            }
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        let feeder = thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let out = child.wait_with_output()?;
        let _ = feeder.join();
        append_log(log, &String::from_utf8_lossy(&out.stderr));

        // Split the CGI response into headers and body.
        let raw = out.stdout;
        let (head_end, sep_len) = match (find(&raw, b"\r\n\r\n"), find(&raw, b"\n\n")) {
            (Some(a), Some(b)) if b < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => (raw.len(), 0),
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
        let resp_body = &raw[(head_end + sep_len).min(raw.len())..];
        let mut status = "200 OK".to_string();
        let mut resp = Vec::new();
        for line in head.lines() {
            let line = line.trim_end_matches('\r');
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("Status") {
                    status = v.trim().to_string();
                } else if !k.eq_ignore_ascii_case("Content-Length") {
                    resp.push(format!("{}: {}", k.trim(), v.trim()));
                }
            }
        }
        if !out.status.success() && head.is_empty() {
            status = "500 Internal Server Error".into();
        }
        requests
            .lock()
            .unwrap()
            .push(format!("{method} {target} -> {status}"));
        let mut msg = format!("HTTP/1.1 {status}\r\n");
        for h in resp {
            msg.push_str(&h);
            msg.push_str("\r\n");
        }
        msg.push_str(&format!("Content-Length: {}\r\n", resp_body.len()));
        msg.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        writer.write_all(msg.as_bytes())?;
        match extra.opts.throttle {
            Some(t) if path.ends_with("/git-upload-pack") => {
                writer.flush()?;
                for chunk in resp_body.chunks(t.chunk.max(1)) {
                    thread::sleep(t.delay);
                    writer.write_all(chunk)?;
                    writer.flush()?;
                }
            }
            _ => writer.write_all(resp_body)?,
        }
        writer.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------

/// DNS-1123 subdomain name check, with the 63-character limit pctl promises
/// for object names.
pub fn is_dns1123_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The profile directories of a fixture overlay (directories holding a
/// `profile.yaml`), for the fixture self-checks.
pub fn profile_dirs(root: &Path) -> Vec<String> {
    walk(root)
        .into_keys()
        .filter(|k| k.ends_with("/profile.yaml") || k == "profile.yaml")
        .map(|k| {
            k.trim_end_matches("profile.yaml")
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// GitOps repository inspection
// ---------------------------------------------------------------------------

/// `<gitops>/<installPath>/<name>` for the default installPath.
pub fn install_dir(gitops: &Path, name: &str) -> PathBuf {
    gitops.join(INSTALL_PATH).join(name)
}

/// The `resources` of a kustomization.yaml, without a leading `./` and
/// trailing `/`.
pub fn kustomization_resources(path: &Path) -> Vec<String> {
    let doc = yaml_file(path);
    assert_eq!(
        doc["apiVersion"],
        "kustomize.config.k8s.io/v1beta1",
        "{}",
        path.display()
    );
    assert_eq!(doc["kind"], "Kustomization", "{}", path.display());
    doc["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| normalize_rel(r.as_str().expect("resource must be a string")))
                .collect()
        })
        .unwrap_or_default()
}

/// `./a/b/` -> `a/b`
pub fn normalize_rel(p: &str) -> String {
    let mut p = p.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.trim_end_matches('/').to_string()
}

/// Names listed in `<installPath>/kustomization.yaml` (the installations).
pub fn installed_names(gitops: &Path) -> Vec<String> {
    kustomization_resources(&gitops.join(INSTALL_PATH).join("kustomization.yaml"))
}

/// Directory names under `<install dir>/artifacts/`, sorted.
pub fn artifact_ids(gitops: &Path, name: &str) -> Vec<String> {
    let dir = install_dir(gitops, name).join("artifacts");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// The wrapper Flux Kustomization of every artifact, by artifact id.
pub fn wrappers(gitops: &Path, name: &str) -> BTreeMap<String, Value> {
    artifact_ids(gitops, name)
        .into_iter()
        .map(|id| {
            let f = install_dir(gitops, name)
                .join("artifacts")
                .join(&id)
                .join("kustomize-flux.yaml");
            (id, yaml_file(&f))
        })
        .collect()
}

/// The wrapper object name pctl promises for `<NAME>-<id>`.
pub fn expected_object_name(name: &str, id: &str) -> Option<String> {
    let n = format!("{name}-{id}");
    (n.len() <= 63).then_some(n)
}

/// `dependsOn` names of a Flux object.
pub fn depends_on(doc: &Value) -> Vec<String> {
    doc["spec"]["dependsOn"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the layout docs/layout.md promises for installation `name` in a
/// GitOps repository made by `pctl init` with the default paths.
#[track_caller]
pub fn check_installation(gitops: &Path, name: &str) {
    let dir = install_dir(gitops, name);
    for f in ["profile-installation.yaml", "kustomization.yaml"] {
        assert!(
            dir.join(f).is_file(),
            "{} is missing",
            dir.join(f).display()
        );
    }
    assert!(
        installed_names(gitops).contains(&name.to_string()),
        "{INSTALL_PATH}/kustomization.yaml does not list {name}"
    );
    let ids = artifact_ids(gitops, name);
    assert!(!ids.is_empty(), "no artifacts written for {name}");

    // <NAME>/kustomization.yaml lists exactly the wrappers
    let mut listed = kustomization_resources(&dir.join("kustomization.yaml"));
    listed.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| format!("artifacts/{id}/kustomize-flux.yaml"))
        .collect();
    expected.sort();
    assert_eq!(
        listed, expected,
        "{name}/kustomization.yaml must list exactly the wrapper Kustomizations"
    );

    let wrappers = wrappers(gitops, name);
    let wrapper_names: Vec<String> = wrappers.values().map(name_of).collect();
    for (id, w) in &wrappers {
        let at = format!("{name}/artifacts/{id}/kustomize-flux.yaml");
        assert!(
            dir.join("artifacts")
                .join(id)
                .join("kustomization.yaml")
                .is_file(),
            "{name}/artifacts/{id}/kustomization.yaml is missing"
        );
        assert_eq!(w["apiVersion"], "kustomize.toolkit.fluxcd.io/v1", "{at}");
        assert_eq!(w["kind"], "Kustomization", "{at}");
        assert_eq!(
            w["metadata"]["namespace"], "flux-system",
            "{at}: wrappers live in the GitRepository's namespace"
        );
        let wname = name_of(w);
        match expected_object_name(name, id) {
            Some(n) => assert_eq!(wname, n, "{at}: wrapper name"),
            None => assert!(
                is_dns1123_label(&wname),
                "{at}: {wname:?} is not a DNS-1123 label of at most 63 characters"
            ),
        }
        assert_eq!(
            w["spec"]["path"].as_str().unwrap_or(""),
            format!("./{INSTALL_PATH}/{name}/artifacts/{id}"),
            "{at}: spec.path must be relative to the repository root"
        );
        assert_eq!(w["spec"]["sourceRef"]["kind"], "GitRepository", "{at}");
        assert_eq!(w["spec"]["sourceRef"]["name"], "flux-system", "{at}");
        for d in depends_on(w) {
            assert!(
                wrapper_names.contains(&d),
                "{at}: dependsOn {d} is not a wrapper of this installation"
            );
        }
    }

    // Every object: a valid, unique name.
    let mut seen = std::collections::BTreeSet::new();
    for (file, doc) in yaml_objects(&dir) {
        if file == "profile-installation.yaml"
            || file.ends_with("kustomization.yaml")
            || !doc["kind"].is_string()
        {
            continue;
        }
        let n = name_of(&doc);
        assert!(
            n.len() <= 63 && !n.is_empty(),
            "{name}/{file}: object name {n:?} is empty or longer than 63 characters"
        );
        let key = (
            doc["kind"].as_str().unwrap_or("").to_string(),
            doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            n.clone(),
        );
        assert!(
            seen.insert(key.clone()),
            "{name}/{file}: duplicate object {key:?}"
        );
    }
}

/// The files of `dir` in `repo` at `rev`, keyed by their path relative to `dir`.
pub fn repo_files_at(repo: &Path, rev: &str, dir: &str) -> BTreeMap<String, Vec<u8>> {
    let list = git(repo, &["ls-tree", "-r", "--name-only", rev, "--", dir]);
    let mut out = BTreeMap::new();
    for path in list.lines() {
        let data = git_cmd(repo)
            .args(["cat-file", "blob", &format!("{rev}:{path}")])
            .output()
            .unwrap()
            .stdout;
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .trim_start_matches('/')
            .to_string();
        out.insert(rel, data);
    }
    assert!(!out.is_empty(), "{rev}:{dir} has no files");
    out
}

/// Every source file appears below `dest` (at the same relative path, possibly
/// under a subdirectory) with identical bytes.
#[track_caller]
pub fn assert_copied_byte_for_byte(src: &BTreeMap<String, Vec<u8>>, dest: &Path) {
    let dest_files = tree_files(dest);
    for (rel, data) in src {
        let found = dest_files
            .iter()
            .filter(|(k, _)| *k == rel || k.ends_with(&format!("/{rel}")))
            .collect::<Vec<_>>();
        assert!(
            !found.is_empty(),
            "{rel} was not copied into {}",
            dest.display()
        );
        assert!(
            found.iter().any(|(_, d)| *d == data),
            "{rel} in {} is not byte-for-byte the source file",
            dest.display()
        );
    }
}

/// `(paths built, objects)` from flux-dry-run's summary line.
pub fn flux_summary(output: &str) -> (usize, usize) {
    for line in output.lines() {
        if let Some((paths, rest)) = line.split_once(" paths built, ") {
            let objects = rest.split_whitespace().next().unwrap_or("0");
            return (
                paths.trim().parse().unwrap_or(0),
                objects.parse().unwrap_or(0),
            );
        }
    }
    panic!("no summary line in pctl check output:\n{output}")
}

/// The Flux objects of one kind below an installation (skipping charts).
pub fn install_objects(gitops: &Path, name: &str, kind: &str) -> Vec<(String, Value)> {
    objects_of_kind(&install_dir(gitops, name), kind)
}

/// The entry of `pctl list -o json` output for installation `name`.
pub fn list_entry<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no installation {name} in {list:?}"))
}

// ---------------------------------------------------------------------------
// Peak memory of one command
// ---------------------------------------------------------------------------

/// Runs `cmd` under GNU time (`/usr/bin/time -f %M`), killing it after `limit`;
/// returns its output and its own peak resident set size in KiB.
///
/// Not `wait4` on the child: Rust starts children with vfork, and Linux carries the
/// parent's peak RSS into the child's `ru_maxrss` at exec, so a test binary that
/// holds 200 MiB (another test's buffers) made every child look that large. GNU time
/// forks the command from its own small process and reports only that.
pub fn run_measured(cmd: Command, limit: Duration) -> (Output, u64) {
    const TIME: &str = "/usr/bin/time";
    assert!(
        Path::new(TIME).is_file(),
        "{TIME} is missing: install GNU time (apt-get install time)"
    );
    let report = tempfile::NamedTempFile::new().expect("temp file for GNU time");
    let mut timed = Command::new(TIME);
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    timed.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = timed
        .spawn()
        .expect("cannot start the command under GNU time");
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the command") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&t_err.join().unwrap_or_default())
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    // GNU time writes "Command exited with non-zero status N" before the figure.
    let kib = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("GNU time reported no peak RSS: {text:?}"));
    let out = Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    };
    (out, kib)
}

// ---------------------------------------------------------------------------
// Small upstream profile repositories
// ---------------------------------------------------------------------------

/// A repository at `<sandbox>/upstream-NAME` holding profile NAME in directory NAME,
/// one commit and annotated tag `NAME/vVERSION` per entry of `versions` (the
/// directory's files replaced each time).
pub fn profile_repo(env: &Env, name: &str, versions: &[(&str, &[(&str, &str)])]) -> PathBuf {
    let repo = env.path(&format!("upstream-{name}"));
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    for (version, files) in versions {
        let dir = repo.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in *files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", &format!("{name} {version}")]);
        git(
            &repo,
            &["tag", "-a", &format!("{name}/v{version}"), "-m", version],
        );
    }
    repo
}

/// `file:///REPO//NAME@VERSION`
pub fn source(repo: &Path, name: &str, version: &str) -> String {
    format!("{}//{name}@{version}", file_url(repo))
}
