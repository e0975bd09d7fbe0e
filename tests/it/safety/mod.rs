//! The write guarantees of docs/layout.md: all or nothing, never touch
//! uncommitted work, one commit, and no lost commit between two processes.

use crate::common::*;

#[test]
fn an_uncommitted_file_in_the_installation_directory_is_refused() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let dir = install_dir(&gitops, "ingress");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "work in progress\n").unwrap();
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &platform.source("nginx", None), "ingress", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["ingress"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn an_uncommitted_edit_to_the_installation_list_is_refused() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let list = gitops.join(INSTALL_PATH).join("kustomization.yaml");
    let mut text = std::fs::read_to_string(&list).unwrap();
    text.push_str("# TODO: add monitoring\n");
    std::fs::write(&list, text).unwrap();
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &platform.source("nginx", None), "ingress", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["kustomization.yaml"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn uncommitted_work_elsewhere_survives_an_install_and_stays_out_of_its_commit() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // a tracked file with an unstaged edit, a staged new file and an untracked file
    std::fs::write(gitops.join("README.md"), "# fleet\n").unwrap();
    git(&gitops, &["add", "README.md"]);
    git(&gitops, &["commit", "-q", "-m", "readme"]);
    std::fs::write(gitops.join("README.md"), "# fleet\n\nedited, not staged\n").unwrap();
    std::fs::write(gitops.join("staged.txt"), "staged, not committed\n").unwrap();
    git(&gitops, &["add", "staged.txt"]);
    std::fs::write(gitops.join("scratch.txt"), "untracked\n").unwrap();

    let out = env.install(&gitops, &platform.source("nginx", None), "ingress", &[]);
    assert_success(&out);
    assert_eq!(
        head_subject(&gitops),
        "pctl: install nginx 1.1.0 as ingress"
    );
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(
            f.starts_with(&format!("{INSTALL_PATH}/")),
            "the install commit took {f}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(gitops.join("README.md")).unwrap(),
        "# fleet\n\nedited, not staged\n"
    );
    assert_eq!(
        git(&gitops, &["diff", "--cached", "--name-only"]),
        "staged.txt",
        "the user's staged change must stay staged"
    );
    assert_eq!(git(&gitops, &["diff", "--name-only"]), "README.md");
    assert!(gitops.join("scratch.txt").is_file());
    let status = git(&gitops, &["status", "--porcelain"]);
    assert!(
        !status.contains(INSTALL_PATH),
        "pctl left its own files uncommitted: {status}"
    );
}

#[test]
fn a_failure_after_writing_files_restores_head_index_and_work_tree_on_install() {
    let platform = shared_repo("platform");
    let env = Env::new();
    env.map_addons(shared_repo("addons"));
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "demo", &[]));
    // some unrelated uncommitted work must come through untouched as well
    std::fs::write(gitops.join("scratch.txt"), "untracked\n").unwrap();
    let before = snapshot(&gitops);
    env.set_var("PCTL_FAULT", "after-write");
    for extra in [&[][..], &["--no-commit"][..]] {
        let out = env.install(&gitops, &platform.source("edge-stack", None), "edge", extra);
        assert_error(&out, 2);
        assert_unchanged(&before, &snapshot(&gitops));
    }
}

#[test]
fn a_failure_after_writing_files_restores_head_index_and_work_tree_on_uninstall() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("monitoring", None), "mon", &[]));
    let before = snapshot(&gitops);
    env.set_var("PCTL_FAULT", "after-write");
    let out = env.pctl(["uninstall", "mon", "--repo", &gitops.display().to_string()]);
    assert_error(&out, 2);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn a_failure_after_writing_files_restores_an_existing_repository_on_init() {
    let env = Env::new();
    let repo = env.path("existing");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "# fleet\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "initial"]);
    let before = snapshot(&repo);
    env.set_var("PCTL_FAULT", "after-write");
    let out = env.pctl(["init", &repo.display().to_string()]);
    assert_error(&out, 2);
    assert_unchanged(&before, &snapshot(&repo));
}

#[test]
fn concurrent_installs_on_one_repository_lose_no_commit() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = gitops.display().to_string();
    let jobs = [
        ("nginx", "one"),
        ("podinfo", "two"),
        ("cert-manager", "three"),
    ];
    let children: Vec<_> = jobs
        .iter()
        .map(|(sub, name)| {
            env.spawn([
                "install",
                &platform.source(sub, None),
                "--name",
                name,
                "--repo",
                &repo,
            ])
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(wait_output).collect();
    let mut ok: Vec<String> = Vec::new();
    for ((_, name), out) in jobs.iter().zip(&outs) {
        match out.status.code() {
            Some(0) => ok.push(name.to_string()),
            Some(1) => assert_error(out, 1),
            _ => panic!("{name}: unexpected exit\n{}", describe(out)),
        }
    }
    assert!(
        !ok.is_empty(),
        "every concurrent install failed:\n{}",
        outs.iter().map(describe).collect::<Vec<_>>().join("\n")
    );
    let log = subjects(&gitops, "HEAD");
    assert_eq!(log.len(), 1 + ok.len(), "{log:?}");
    for n in &ok {
        assert!(
            log.iter().any(|s| s.ends_with(&format!(" as {n}"))),
            "{n}'s commit was lost: {log:?}"
        );
    }
    assert!(
        is_clean(&gitops),
        "{}",
        git(&gitops, &["status", "--porcelain"])
    );
    let mut listed = installed_names(&gitops);
    listed.sort();
    ok.sort();
    assert_eq!(listed, ok);
    for n in &ok {
        check_installation(&gitops, n);
    }
    git(&gitops, &["fsck", "--no-progress"]);
    flux_dry_run(&gitops);
}

#[test]
fn concurrent_install_and_uninstall_on_one_repository_lose_no_commit() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = gitops.display().to_string();
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "old", &[]));
    let a = env.spawn([
        "install",
        &platform.source("podinfo", None),
        "--name",
        "new",
        "--repo",
        &repo,
    ]);
    let b = env.spawn(["uninstall", "old", "--repo", &repo]);
    let (a, b) = (wait_output(a), wait_output(b));
    for out in [&a, &b] {
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "{}",
            describe(out)
        );
    }
    let log = subjects(&gitops, "HEAD");
    let mut expected = vec!["old".to_string()];
    if a.status.success() {
        assert!(
            log.contains(&"pctl: install podinfo 6.1.0 as new".to_string()),
            "{log:?}"
        );
        expected.push("new".into());
    }
    if b.status.success() {
        assert!(log.contains(&"pctl: uninstall old".to_string()), "{log:?}");
        expected.retain(|n| n != "old");
    }
    expected.sort();
    let mut listed = installed_names(&gitops);
    listed.sort();
    assert_eq!(listed, expected);
    assert!(is_clean(&gitops));
    flux_dry_run(&gitops);
}

#[test]
fn a_failure_before_the_push_leaves_the_remote_untouched_and_the_next_run_works() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let seed = env.init_gitops("seed");
    let root = env.path("served");
    let bare = bare_copy(&seed, &root, "gitops");
    let server = git_daemon(&root);
    let url = server.url("gitops.git");
    let refs = git(
        &bare,
        &["for-each-ref", "--format=%(refname) %(objectname)"],
    );
    env.set_var("PCTL_FAULT", "after-write");
    let out = env.pctl([
        "install",
        &platform.source("nginx", None),
        "--name",
        "ingress",
        "--repo",
        &url,
    ]);
    assert_error(&out, 2);
    assert_eq!(
        git(
            &bare,
            &["for-each-ref", "--format=%(refname) %(objectname)"]
        ),
        refs
    );

    // the cached clone was not left half-done: a normal run succeeds
    env.remove_var("PCTL_FAULT");
    let out = env.pctl([
        "install",
        &platform.source("nginx", None),
        "--name",
        "ingress",
        "--repo",
        &url,
    ]);
    assert_success(&out);
    assert_eq!(
        subjects(&bare, "main"),
        ["pctl: install nginx 1.1.0 as ingress", "pctl: init"]
    );
}

// ---------------------------------------------------------------------------
// Faults (issue 7): kill -9 at random points, a push race, a full disk or a
// file-size limit, an upstream that disconnects mid-fetch.
// ---------------------------------------------------------------------------

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod index;
mod more;

/// A small deterministic random number generator (xorshift64*): the kill points
/// are the same on every run of the test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A profile repository of our own: `app` with `files` manifests, tagged
/// `app/v1.0.0`; [`bump`] releases `app/v1.1.0`.
fn app_repo(env: &Env, files: usize) -> PathBuf {
    let repo = env.path("upstream");
    let dir = repo.join("app");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(
        dir.join("profile.yaml"),
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: app\nspec:\n  description: many ConfigMaps\n  artifacts:\n    - name: config\n      kustomize: {path: manifests}\n    - name: more\n      kustomize: {path: more}\n      dependsOn: [{name: config}]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("more")).unwrap();
    for i in 0..files {
        for sub in ["manifests", "more"] {
            std::fs::write(
                dir.join(format!("{sub}/cm-{i:02}.yaml")),
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {sub}-{i}\ndata:\n  version: \"1.0.0\"\n"
                ),
            )
            .unwrap();
        }
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "app 1.0.0"]);
    git(&repo, &["tag", "-a", "app/v1.0.0", "-m", "app 1.0.0"]);
    repo
}

fn bump(repo: &Path) {
    for e in std::fs::read_dir(repo.join("app/manifests")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace("1.0.0", "1.1.0")).unwrap();
    }
    git(repo, &["commit", "-q", "-a", "-m", "app 1.1.0"]);
    git(repo, &["tag", "-a", "app/v1.1.0", "-m", "app 1.1.0"]);
}

/// Every file of the work tree (outside .git) whose name pctl uses while writing.
fn leftovers(root: &Path) -> Vec<String> {
    walk(root)
        .into_keys()
        .filter(|k| k.ends_with(".pctl-tmp"))
        .collect()
}

/// Runs `args` many times, each killed with SIGKILL after a random delay, and
/// checks after each kill that the repository is whole (`git fsck`), that HEAD is
/// the old commit or a new one made by `subject`, that the next pctl command puts
/// the work tree and index back in line with HEAD (a kill in the middle of the write
/// is undone, the stale lock blocks nothing), and that nothing pctl writes is left
/// behind. Returns (runs that ended before, after, killed in the middle of a write).
fn kill_at_random_points(
    env: &Env,
    gitops: &Path,
    args: &[&str],
    subject: &str,
    runs: usize,
    seed: u64,
) -> (usize, usize, usize) {
    let old = head(gitops);
    let g = gitops.display().to_string();
    // How long an uninterrupted run takes (with the slow-write pause per file).
    let start = Instant::now();
    assert_success(&env.pctl(args));
    let whole = start.elapsed();
    assert!(head_subject(gitops).starts_with(subject));
    git(gitops, &["reset", "-q", "--hard", &old]);
    git(gitops, &["clean", "-q", "-f", "-d"]);

    let mut rng = Rng(seed);
    let (mut before, mut after, mut middle) = (0, 0, 0);
    for run in 0..runs {
        let delay = Duration::from_micros(rng.below(whole.as_micros() as u64 * 11 / 10));
        let mut cmd = env.command(args);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().expect("cannot start pctl");
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let context = format!("run {run}, killed after {delay:?} of {whole:?}");

        let fsck = git_cmd(gitops)
            .args(["fsck", "--no-progress", "--no-dangling"])
            .output()
            .unwrap();
        assert!(
            fsck.status.success() && !String::from_utf8_lossy(&fsck.stdout).contains("error"),
            "{context}: git fsck failed:\n{}{}",
            String::from_utf8_lossy(&fsck.stdout),
            String::from_utf8_lossy(&fsck.stderr)
        );
        let now = head(gitops);
        let finished = now != old;
        if finished {
            assert_eq!(
                git(gitops, &["rev-parse", "HEAD^"]),
                old,
                "{context}: HEAD moved elsewhere"
            );
            assert!(
                head_subject(gitops).starts_with(subject),
                "{context}: {}",
                head_subject(gitops)
            );
        }
        if gitops.join(".git/pctl-journal").exists() {
            middle += 1;
        }
        // The next pctl command finishes or undoes what the killed one left.
        let list = env.pctl(["list", "--repo", &g]);
        assert_success(&list);
        assert_eq!(head(gitops), now, "{context}: recovery moved HEAD");
        let status = git(
            gitops,
            &["status", "--porcelain=v1", "--untracked-files=all"],
        );
        assert!(
            status.is_empty(),
            "{context}: the work tree or index does not match HEAD ({}):\n{status}\n{}",
            if finished { "after" } else { "before" },
            stderr(&list)
        );
        assert!(!gitops.join(".git/pctl-journal").exists(), "{context}");
        for stray in ["pctl-journal.index", "pctl-journal.pctl-tmp"] {
            assert!(
                !gitops.join(".git").join(stray).exists(),
                "{context}: .git/{stray} survived recovery"
            );
        }
        assert_eq!(leftovers(gitops), Vec::<String>::new(), "{context}");
        if finished {
            after += 1;
            git(gitops, &["reset", "-q", "--hard", &old]);
            git(gitops, &["clean", "-q", "-f", "-d"]);
        } else {
            before += 1;
        }
    }
    // A stale .git/pctl.lock (left by every kill) blocks nothing: a whole run works.
    assert!(gitops.join(".git/pctl.lock").exists());
    assert_success(&env.pctl(args));
    assert!(head_subject(gitops).starts_with(subject));
    assert!(is_clean(gitops));
    git(gitops, &["fsck", "--no-progress"]);
    eprintln!("{runs} kills: {before} before, {after} after, {middle} in the middle of the write");
    (before, after, middle)
}

#[test]
fn kill_9_at_random_points_of_an_install_leaves_the_repository_before_or_after() {
    let env = Env::new();
    let upstream = app_repo(&env, 12);
    let gitops = env.init_gitops("gitops");
    let src = format!("{}//app@^1.0", file_url(&upstream));
    let g = gitops.display().to_string();
    // Some installations already there, and unrelated uncommitted work that must
    // come through every kill untouched.
    assert_success(&env.install(&gitops, &src, "first", &["--namespace", "first"]));
    std::fs::write(gitops.join("notes.txt"), "mine\n").unwrap();
    git(&gitops, &["add", "notes.txt"]);
    git(&gitops, &["commit", "-q", "-m", "notes"]);
    env.set_var("PCTL_FAULT", "slow-write");
    let (_, _, middle) = kill_at_random_points(
        &env,
        &gitops,
        &[
            "install",
            &src,
            "--name",
            "victim",
            "--namespace",
            "victim",
            "--repo",
            &g,
        ],
        "pctl: install app 1.0.0 as victim",
        40,
        0x5eed_0001,
    );
    assert!(middle > 0, "no kill landed in the middle of a write");
    check_installation(&gitops, "victim");
    flux_dry_run(&gitops);
}

#[test]
fn kill_9_at_random_points_of_an_upgrade_all_leaves_the_repository_before_or_after() {
    let env = Env::new();
    let upstream = app_repo(&env, 8);
    let gitops = env.init_gitops("gitops");
    let src = format!("{}//app@^1.0", file_url(&upstream));
    for n in ["one", "two", "three"] {
        assert_success(&env.install(&gitops, &src, n, &["--namespace", n]));
    }
    bump(&upstream);
    let g = gitops.display().to_string();
    env.set_var("PCTL_FAULT", "slow-write");
    let (_, _, middle) = kill_at_random_points(
        &env,
        &gitops,
        &["upgrade", "--all", "--repo", &g],
        "pctl: upgrade 3 installations",
        30,
        0x5eed_0002,
    );
    assert!(middle > 0, "no kill landed in the middle of a write");
    let listed = env.list_json(&gitops);
    for n in ["one", "two", "three"] {
        assert_eq!(list_entry(&listed, n)["version"], "1.1.0");
    }
    flux_dry_run(&gitops);
}
