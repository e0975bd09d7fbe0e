//! Fixture repositories replayed from fixtures/repos/<name>/history.yaml with pinned dates.
use super::*;

// ---------------------------------------------------------------------------
// Fixture repositories
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct History {
    commits: Vec<HistoryCommit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryCommit {
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
pub(super) struct HistoryTag {
    name: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistorySymlink {
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

pub(super) fn build_cached(name: &str) -> TempRepo {
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

pub(super) fn fixture_env(cmd: &mut Command, minute: usize) {
    let date = fixture_date(minute);
    cmd.env("GIT_AUTHOR_NAME", FIXTURE_NAME)
        .env("GIT_AUTHOR_EMAIL", FIXTURE_EMAIL)
        .env("GIT_COMMITTER_NAME", FIXTURE_NAME)
        .env("GIT_COMMITTER_EMAIL", FIXTURE_EMAIL)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date);
}

/// `2026-01-01T00:00:00Z` plus `minute` minutes.
pub(super) fn fixture_date(minute: usize) -> String {
    assert!(FIXTURE_EPOCH.starts_with("2026-01-01T00:00"));
    let (h, m) = (minute / 60, minute % 60);
    assert!(h < 24, "too many fixture commits");
    format!("2026-01-01T{h:02}:{m:02}:00Z")
}

pub(super) fn fixture_git(repo: &Path, minute: usize, args: &[&str]) -> String {
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

/// A one-artifact profile `app` whose artifact is the raw YAML in `manifests/` (the
/// cache and memo tests write their own manifests beside it).
pub const RAW_APP_PROFILE: &str = "apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: app
spec:
  description: raw YAML
  artifacts:
    - name: config
      kustomize: {path: manifests}
";
