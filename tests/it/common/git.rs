//! Process environment hygiene: the git CLI, with a scrubbed environment.
use super::*;

// ---------------------------------------------------------------------------
// Process environment hygiene
// ---------------------------------------------------------------------------

/// Variables a child must never inherit from whoever runs the tests.
pub(super) const SCRUBBED: &[&str] = &[
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

pub(super) fn run_git(mut cmd: Command, dir: &Path, args: &[&str]) -> String {
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
