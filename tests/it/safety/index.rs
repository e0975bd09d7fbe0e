//! The Git index after pctl's writes (src/git/index.rs, src/git/status.rs): git reads
//! it, it matches the commit, the uncommitted-changes check sees only the paths pctl
//! writes, the user's staged work elsewhere survives, and index formats pctl leaves
//! to libgit2 still commit right.
use super::*;

/// What git thinks of the repository after a pctl write: it reads the index, the
/// index holds HEAD's tree (nothing staged), and the object database is sound.
fn assert_git_agrees(gitops: &Path) {
    assert!(
        git(gitops, &["diff", "--cached", "--name-only"]).is_empty(),
        "pctl left staged changes"
    );
    assert_eq!(
        git(gitops, &["write-tree"]),
        git(gitops, &["rev-parse", "HEAD^{tree}"]),
        "the index is not HEAD's tree"
    );
    git(gitops, &["fsck", "--no-dangling"]);
}

#[test]
fn after_an_install_git_reads_the_index_and_it_holds_the_commit() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // A cache tree for every directory, so that pctl's invalidation is exercised.
    git(&gitops, &["read-tree", "HEAD"]);
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "one", &[]));
    assert!(is_clean(&gitops));
    assert_git_agrees(&gitops);
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "two", &[]));
    assert!(is_clean(&gitops));
    assert_git_agrees(&gitops);
    let g = gitops.display().to_string();
    assert_success(&env.pctl(["uninstall", "one", "--repo", &g]));
    assert!(is_clean(&gitops));
    assert_git_agrees(&gitops);
    // --no-commit stages exactly what it wrote.
    let out = env.install(
        &gitops,
        &platform.source("nginx", None),
        "three",
        &["--no-commit"],
    );
    assert_success(&out);
    let staged = git(&gitops, &["diff", "--cached", "--name-only"]);
    assert!(!staged.is_empty());
    assert!(
        git(&gitops, &["diff", "--name-only"]).is_empty(),
        "what --no-commit wrote differs from what it staged"
    );
    assert!(
        git(
            &gitops,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        )
        .lines()
        .all(|l| l.starts_with("A ") || l.starts_with("M ")),
        "--no-commit left unstaged files"
    );
}

#[test]
fn a_dirty_file_under_the_install_path_refuses_the_install_and_one_elsewhere_does_not() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "web", &[]));
    // An edit of a tracked file inside an installation that is written again.
    let dir = install_dir(&gitops, "web");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .expect("a file in the installation");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}# local edit\n")).unwrap();
    let before = snapshot(&gitops);
    let g = gitops.display().to_string();
    let out = env.pctl(["uninstall", "web", "--repo", &g]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["uncommitted", "web"]);
    assert_unchanged(&before, &snapshot(&gitops));

    // A dirty file elsewhere does not stop an install, and stays as it was.
    std::fs::write(gitops.join("README.md"), "# notes, not committed\n").unwrap();
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "api", &[]));
    assert_eq!(
        git(
            &gitops,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        ),
        format!(" M {}\n?? README.md", rel(&gitops, &file))
    );
    // The edit reverted to the committed bytes (other stat data): the content
    // decides, and the installation can be removed.
    std::fs::write(&file, &text).unwrap();
    assert_success(&env.pctl(["uninstall", "web", "--repo", &g]));
    assert_eq!(
        git(
            &gitops,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        ),
        "?? README.md"
    );
    assert_git_agrees(&gitops);
}

fn rel(root: &Path, file: &Path) -> String {
    file.strip_prefix(root).unwrap().display().to_string()
}

#[test]
fn an_untracked_file_under_the_install_path_refuses_unless_ignored() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let dir = install_dir(&gitops, "web");
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("tmp/scratch.log"), "ignored\n").unwrap();
    std::fs::write(gitops.join(".gitignore"), "*.log\n").unwrap();
    git(&gitops, &["add", ".gitignore"]);
    git(&gitops, &["commit", "-q", "-m", "ignore logs"]);
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "web", &[]));
    assert!(dir.join("tmp/scratch.log").is_file());
    assert_git_agrees(&gitops);

    let dir = install_dir(&gitops, "api");
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("tmp/notes.txt"), "mine\n").unwrap();
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &platform.source("podinfo", None), "api", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["uncommitted", "notes.txt"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn a_staged_file_elsewhere_keeps_its_index_entry_after_the_commit() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    std::fs::write(gitops.join("staged.txt"), "staged, not committed\n").unwrap();
    git(&gitops, &["add", "staged.txt"]);
    let staged_entry = git(&gitops, &["ls-files", "-s", "staged.txt"]);
    std::fs::write(gitops.join("README.md"), "# edited before staging\n").unwrap();
    git(&gitops, &["add", "README.md"]);
    std::fs::write(gitops.join("README.md"), "# edited after staging\n").unwrap();
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "web", &[]));
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(f.starts_with(INSTALL_PATH), "the install commit took {f}");
    }
    assert_eq!(
        git(&gitops, &["ls-files", "-s", "staged.txt"]),
        staged_entry
    );
    assert_eq!(
        git(
            &gitops,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        ),
        "AM README.md\nA  staged.txt"
    );
    assert_eq!(
        git(&gitops, &["show", ":README.md"]),
        "# edited before staging"
    );
    git(&gitops, &["fsck", "--no-dangling"]);
}

#[test]
fn a_version_4_index_is_left_to_libgit2_and_the_install_commits_right() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    git(&gitops, &["update-index", "--index-version", "4"]);
    let dir = install_dir(&gitops, "web");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "work in progress\n").unwrap();
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &platform.source("nginx", None), "web", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["uncommitted", "notes.txt"]);
    assert_unchanged(&before, &snapshot(&gitops));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "web", &[]));
    assert!(is_clean(&gitops));
    assert_git_agrees(&gitops);
    assert_eq!(git(&gitops, &["update-index", "--show-index-version"]), "4");
}

/// libgit2 cannot read a split index at all; pctl reads it with its shared index
/// and writes it whole, keeping the user's staged replacements, deletions and
/// additions (which live in the split file) as they were.
#[test]
fn a_split_index_is_read_whole_and_the_install_commits_right() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "web", &[]));
    git(&gitops, &["update-index", "--split-index"]);
    let tracked: Vec<String> = git(&gitops, &["ls-files"])
        .lines()
        .map(str::to_string)
        .collect();
    let (edited, dropped) = (&tracked[0], &tracked[tracked.len() - 1]);
    let text = std::fs::read_to_string(gitops.join(edited)).unwrap();
    std::fs::write(gitops.join(edited), format!("{text}# staged edit\n")).unwrap();
    git(&gitops, &["add", edited]);
    git(&gitops, &["rm", "-q", "--cached", dropped]);
    std::fs::write(gitops.join("added.txt"), "staged\n").unwrap();
    git(&gitops, &["add", "added.txt"]);
    let link = std::fs::read(gitops.join(".git/index")).unwrap();
    assert!(link.windows(4).any(|w| w == b"link"), "not a split index");
    let entries = git(&gitops, &["ls-files", "-s"]);
    let staged = git(&gitops, &["diff", "--cached", "--name-only"]);

    // Dirty under the install path: refused, nothing changed.
    let dir = install_dir(&gitops, "api");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "work in progress\n").unwrap();
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &platform.source("podinfo", None), "api", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["uncommitted", "notes.txt"]);
    assert_unchanged(&before, &snapshot(&gitops));
    std::fs::remove_dir_all(&dir).unwrap();

    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "api", &[]));
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(f.starts_with(INSTALL_PATH), "the install commit took {f}");
    }
    let list = format!("{INSTALL_PATH}/kustomization.yaml");
    let api = format!("{INSTALL_PATH}/api/");
    let outside = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains(&api) && !l.ends_with(&list))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        outside(&git(&gitops, &["ls-files", "-s"])),
        outside(&entries)
    );
    assert_eq!(git(&gitops, &["diff", "--cached", "--name-only"]), staged);
    assert!(git(&gitops, &["diff", "--name-only"]).is_empty());
    git(&gitops, &["fsck", "--no-dangling"]);
}

/// git's racy-clean rule end to end: a file changed in the second its entry and the
/// index were written, with the same size and modification time, must still show as
/// modified after pctl writes the index anew (which makes the index newer than the
/// file): pctl smudges that entry as git would. `core.trustctime=false`, so that the
/// change time (which a write always moves) does not give it away.
#[test]
fn a_racily_clean_file_changed_elsewhere_still_shows_as_modified_after_a_write() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "web", &[]));
    git(&gitops, &["config", "core.trustctime", "false"]);
    let file = std::fs::read_dir(install_dir(&gitops, "web"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .expect("a file in the installation");
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let text = std::fs::read(&file).unwrap();
    let mut changed = text.clone();
    let last = changed.len() - 2;
    changed[last] = if changed[last] == b'x' { b'y' } else { b'x' };
    std::fs::write(&file, &changed).unwrap();
    let set = |p: &Path| {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_modified(mtime).unwrap();
    };
    set(&file);
    set(&gitops.join(".git/index"));
    let rel = rel(&gitops, &file);
    assert_eq!(
        git(
            &gitops,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        ),
        format!(" M {rel}"),
        "git sees the racy change before pctl writes"
    );
    // The next index is written in a later second: only the smudged entry (size 0)
    // tells git to compare the content.
    std::thread::sleep(Duration::from_millis(1100));
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "api", &[]));
    assert_eq!(
        git(
            &gitops,
            &["status", "--porcelain=v1", "--untracked-files=all"]
        ),
        format!(" M {rel}"),
        "the change was hidden by pctl's index write"
    );
}
