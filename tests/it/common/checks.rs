//! pctl check (and the independent checker) over a GitOps tree, and keeping trees for CI.
use super::*;

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
