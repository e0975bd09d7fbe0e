//! More safety tests: see the module above for the fixtures and helpers.
use super::*;

#[test]
fn a_journal_left_by_a_killed_pctl_after_its_commit_is_finished_not_undone() {
    // The kill can land after the branch moved and before the journal is removed:
    // the change is complete and must be kept. Reproduce that state exactly by
    // saving the journal of a run that stops right after its write.
    let env = Env::new();
    let upstream = app_repo(&env, 2);
    let gitops = env.init_gitops("gitops");
    let src = format!("{}//app@^1.0", file_url(&upstream));
    let old = head(&gitops);
    env.set_var("PCTL_FAULT", "slow-write");
    let g = gitops.display().to_string();
    let mut child = env.spawn(["install", &src, "--name", "late", "--repo", &g]);
    // Copy the journal while the files are being written, then let it finish.
    let journal = gitops.join(".git/pctl-journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    let saved = loop {
        if let Ok(b) = std::fs::read(&journal) {
            break b;
        }
        assert!(Instant::now() < deadline, "no journal seen");
        std::thread::sleep(Duration::from_millis(1));
    };
    assert!(child.wait().unwrap().success());
    let new = head(&gitops);
    assert_ne!(new, old);
    std::fs::write(&journal, &saved).unwrap();
    let out = env.pctl(["list", "--repo", &g]);
    assert_success(&out);
    assert_stderr_mentions(&out, &["interrupted", "finished"]);
    assert_eq!(head(&gitops), new);
    assert!(is_clean(&gitops));
    assert!(!journal.exists());
    check_installation(&gitops, "late");
}

#[test]
fn strays_of_a_journal_killed_before_it_existed_or_after_it_was_removed_are_cleaned() {
    // The windows of issue 11 item 7, reproduced exactly: a kill after the index was
    // saved but before the journal was renamed into place (the saved index and the
    // half-written journal stay), or after the journal was removed but before the saved
    // index was (the saved index stays). Nothing was touched in the work tree in the
    // first window and the change is complete in the second: recovery drops the strays.
    let env = Env::new();
    let upstream = app_repo(&env, 2);
    let gitops = env.init_gitops("gitops");
    let src = format!("{}//app@^1.0", file_url(&upstream));
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "one"]));
    let g = gitops.display().to_string();
    let index = std::fs::read(gitops.join(".git/index")).unwrap();
    for strays in [
        &["pctl-journal.index", "pctl-journal.pctl-tmp"][..],
        &["pctl-journal.index"][..],
        &["pctl-journal.pctl-tmp"][..],
    ] {
        let old = head(&gitops);
        for s in strays {
            let bytes: &[u8] = if s.ends_with(".index") {
                &index
            } else {
                b"{\"pid\":1"
            };
            std::fs::write(gitops.join(".git").join(s), bytes).unwrap();
        }
        let out = env.pctl(["list", "--repo", &g]);
        assert_success(&out);
        assert_eq!(head(&gitops), old);
        assert!(is_clean(&gitops));
        for s in [
            "pctl-journal",
            "pctl-journal.index",
            "pctl-journal.pctl-tmp",
        ] {
            assert!(
                !gitops.join(".git").join(s).exists(),
                "{strays:?}: .git/{s} survived `pctl list`"
            );
        }
    }
    check_installation(&gitops, "one");
}

/// Runs pctl with a file-size limit (RLIMIT_FSIZE, as `ulimit -f`).
fn pctl_with_fsize_limit(env: &Env, args: &[&str], bytes: u64) -> std::process::Output {
    let mut cmd = env.command(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run_with_timeout(cmd, Duration::from_secs(120))
}

/// A profile whose raw YAML holds one 3 MB file (compressible: small in Git, big in
/// the work tree), between small ones.
fn big_file_repo(env: &Env) -> PathBuf {
    let repo = env.path("bigfile");
    let dir = repo.join("app");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(
        dir.join("profile.yaml"),
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: app\nspec:\n  artifacts:\n    - name: config\n      kustomize: {path: manifests}\n",
    )
    .unwrap();
    for name in ["a-first.yaml", "z-last.yaml"] {
        std::fs::write(
            dir.join("manifests").join(name),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n",
                &name[..1]
            ),
        )
        .unwrap();
    }
    let mut big = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n");
    let mut i = 0;
    while big.len() < 3 << 20 {
        big.push_str(&format!(
            "  key-{i:07}: \"the same value again and again\"\n"
        ));
        i += 1;
    }
    std::fs::write(dir.join("manifests/m-big.yaml"), big).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "big"]);
    git(&repo, &["tag", "-a", "app/v1.0.0", "-m", "app 1.0.0"]);
    repo
}

#[test]
fn a_file_size_limit_during_the_write_gives_a_clear_error_and_leaves_nothing_half_written() {
    let env = Env::new();
    let upstream = big_file_repo(&env);
    let gitops = env.init_gitops("gitops");
    let src = format!("{}//app@^1.0", file_url(&upstream));
    let g = gitops.display().to_string();
    // Fetch the upstream without a limit first: the limit then hits the write into
    // the GitOps work tree, after other files were already written.
    assert_success(&env.pctl(["render", &src]));
    let before = snapshot(&gitops);
    let args = ["install", &src, "--name", "web", "--repo", &g, "--offline"];
    let out = pctl_with_fsize_limit(&env, &args, 1 << 20);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["m-big.yaml", "file too large", "ulimit -f"]);
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
    assert_eq!(leftovers(&gitops), Vec::<String>::new());
    // Without the limit the same install works.
    assert_success(&env.pctl(args));
    check_installation(&gitops, "web");
}

/// A tmpfs mounted for one test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_during_the_write_gives_a_clear_error_and_leaves_nothing_half_written() {
    let env = Env::new();
    let upstream = big_file_repo(&env);
    // The GitOps repository on a 2 MB file system: the 3 MB file cannot be written.
    let fs = Tmpfs::mount(&env.path("small-disk"), "2m");
    if !tool_or_skip(
        fs.is_some(),
        "cannot mount a tmpfs here (needs root); the file-size limit test covers the write path",
    ) {
        return;
    }
    let gitops = env.path("small-disk/gitops");
    assert_success(&env.pctl(["init", &gitops.display().to_string()]));
    let src = format!("{}//app@^1.0", file_url(&upstream));
    let g = gitops.display().to_string();
    let before = snapshot(&gitops);
    let out = env.pctl(["install", &src, "--name", "web", "--repo", &g]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["m-big.yaml", "no space left", "disk space"]);
    assert_unchanged(&before, &snapshot(&gitops));
    assert_eq!(leftovers(&gitops), Vec::<String>::new());
    git(&gitops, &["fsck", "--no-progress"]);
}

#[test]
fn a_push_race_lost_to_another_writer_is_retried_and_loses_nothing() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let seed = env.init_gitops("seed");
    let root = env.path("served");
    let bare = bare_copy(&seed, &root, "gitops");
    // Another writer's commit lands on main while the first pctl push is being
    // received (between the server's ref advertisement and its ref update).
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        r#"#!/bin/sh
set -e
if [ -e "$GIT_DIR/raced" ]; then exit 0; fi
touch "$GIT_DIR/raced"
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
old=$(git rev-parse refs/heads/main)
blob=$(echo "written by a colleague" | git hash-object -w --stdin)
tree=$( (git ls-tree "$old"; printf '100644 blob %s\tCOLLEAGUE.md\n' "$blob") | git mktree)
new=$(echo "colleague: notes" | GIT_AUTHOR_NAME=C GIT_AUTHOR_EMAIL=c@example.com GIT_COMMITTER_NAME=C GIT_COMMITTER_EMAIL=c@example.com git commit-tree "$tree" -p "$old")
git update-ref refs/heads/main "$new" "$old"
"#,
    )
    .unwrap();
    std::fs::set_permissions(
        &hook,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
    let server = git_daemon(&root);
    let url = server.url("gitops.git");
    let out = env.pctl([
        "install",
        &platform.source("nginx", None),
        "--name",
        "ingress",
        "--repo",
        &url,
    ]);
    assert_success(&out);
    assert!(bare.join("raced").exists(), "the race was not staged");
    assert_stderr_mentions(&out, &["moved while pctl worked", "retrying"]);
    assert_eq!(
        subjects(&bare, "main"),
        [
            "pctl: install nginx 1.1.0 as ingress",
            "colleague: notes",
            "pctl: init"
        ],
        "{}",
        describe(&out)
    );
    git(&bare, &["fsck", "--no-progress"]);
}

/// A TCP proxy that closes every connection that carries a POST (a fetch's pack
/// request) after `limit` bytes of the server's answer.
struct CuttingProxy {
    port: u16,
    cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CuttingProxy {
    fn start(target: u16, limit: usize) -> CuttingProxy {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicUsize::new(0));
        let n2 = cuts.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let posted = Arc::new(AtomicBool::new(false));
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let p = posted.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = c_in.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if buf[..n].windows(5).any(|w| w == b"POST ") {
                            p.store(true, Ordering::SeqCst);
                        }
                        if s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s_out.shutdown(Shutdown::Write);
                });
                let cuts = n2.clone();
                std::thread::spawn(move || {
                    let (mut s_in, mut c_out) = (server, client);
                    let mut sent = 0usize;
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s_in.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if posted.load(Ordering::SeqCst) && sent + n > limit {
                            let _ = c_out.write_all(&buf[..limit.saturating_sub(sent)]);
                            cuts.fetch_add(1, Ordering::SeqCst);
                            let _ = c_out.shutdown(Shutdown::Both);
                            let _ = s_in.shutdown(Shutdown::Both);
                            return;
                        }
                        if c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n;
                    }
                    let _ = c_out.shutdown(Shutdown::Write);
                });
            }
        });
        CuttingProxy { port, cuts }
    }
}

#[test]
fn an_upstream_that_disconnects_mid_fetch_leaves_the_cache_usable() {
    use std::sync::atomic::Ordering;
    let env = Env::new();
    let platform = shared_repo("platform");
    let root = env.path("served");
    bare_copy(platform.path(), &root, "platform");
    let server = http_backend(&root);
    let proxy = CuttingProxy::start(server.port, 4096);
    // The profiles are known by one URL (one mirror in the cache); Git's insteadOf
    // sends it to the proxy, then to a slow server, then to a good one.
    let known = "http://git.example.com/platform.git";
    let base = std::fs::read_to_string(&env.gitconfig).unwrap();
    let route = |target: String| {
        std::fs::write(
            &env.gitconfig,
            format!("{base}[url \"{target}\"]\n\tinsteadOf = {known}\n"),
        )
        .unwrap();
    };
    route(format!("http://127.0.0.1:{}/platform.git", proxy.port));
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let src = source_url(known, "nginx", None);
    let out = env.install(&gitops, &src, "ingress", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["cannot fetch", known, "hint:"]);
    assert!(
        proxy.cuts.load(Ordering::SeqCst) > 0,
        "the proxy cut nothing"
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // A first fetch that fails keeps nothing: no mirror, and no staging directory
    // (a new mirror is fetched aside and moved into place only when whole).
    let cache_entries = || -> Vec<PathBuf> {
        std::fs::read_dir(env.cache.join("pctl/mirrors"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    let mirrors = |all: Vec<PathBuf>| -> Vec<PathBuf> {
        all.into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "git"))
            .collect()
    };
    assert!(cache_entries().is_empty(), "{:?}", cache_entries());

    // Killed in the middle of a slow fetch: the same.
    drop(proxy);
    let slow = http_backend_with(
        &root,
        HttpOptions {
            throttle: Some(Throttle {
                chunk: 512,
                delay: Duration::from_millis(20),
            }),
            ..Default::default()
        },
    );
    route(format!("http://127.0.0.1:{}/platform.git", slow.port));
    let mut child = env.command([
        "install",
        &src,
        "--name",
        "ingress",
        "--repo",
        &gitops.display().to_string(),
    ]);
    child.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = child.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let _ = child.kill();
    let _ = child.wait();
    assert_unchanged(&before, &snapshot(&gitops));
    // Killed mid-fetch: no half-fetched mirror in the cache's place for one.
    assert!(mirrors(cache_entries()).is_empty(), "{:?}", cache_entries());

    // The next fetch, through a server that answers, works from that cache.
    drop(slow);
    let direct = http_backend(&root);
    route(direct.url("platform.git"));
    let out = env.install(&gitops, &src, "ingress", &[]);
    assert_success(&out);
    check_installation(&gitops, "ingress");
    let mirrors = mirrors(cache_entries());
    assert_eq!(mirrors.len(), 1, "{mirrors:?}");
    git(&mirrors[0], &["fsck", "--no-progress"]);
}

#[test]
fn an_upgrade_stopped_on_conflicts_is_journaled_and_aborts_or_continues_cleanly() {
    let env = Env::new();
    let upstream = app_repo(&env, 2);
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let src = format!("{}//app@^1.0", file_url(&upstream));
    assert_success(&env.install(&gitops, &src, "one", &[]));
    // An edit to the very line upstream changes next.
    let file = walk(&install_dir(&gitops, "one"))
        .into_keys()
        .find(|k| k.ends_with("cm-00.yaml") && k.contains("config"))
        .map(|k| install_dir(&gitops, "one").join(k))
        .expect("cm-00.yaml was installed");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"1.0.0\"", "\"1.0.0-mine\"")).unwrap();
    git(&gitops, &["commit", "-q", "-a", "-m", "my edit"]);
    bump(&upstream);
    let before = snapshot(&gitops);

    let out = env.pctl(["upgrade", "one", "--repo", &g]);
    assert_exit(&out, 3);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("<<<<<<< ours")
    );
    assert!(gitops.join(".git/pctl-merge.yaml").exists());
    assert!(!gitops.join(".git/pctl-journal").exists());
    assert_eq!(leftovers(&gitops), Vec::<String>::new());
    assert_success(&env.pctl(["upgrade", "--abort", "--repo", &g]));
    assert_unchanged(&before, &snapshot(&gitops));

    assert_exit(&env.pctl(["upgrade", "one", "--repo", &g]), 3);
    let resolved = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| {
            !l.starts_with("<<<<<<<")
                && !l.starts_with("=======")
                && !l.starts_with(">>>>>>>")
                && !l.contains("1.0.0-mine")
        })
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    std::fs::write(&file, resolved).unwrap();
    assert_success(&env.pctl(["upgrade", "--continue", "--repo", &g]));
    assert!(head_subject(&gitops).starts_with("pctl: upgrade one"));
    assert!(
        is_clean(&gitops),
        "{}",
        git(&gitops, &["status", "--porcelain"])
    );
    assert!(!gitops.join(".git/pctl-journal").exists());
    git(&gitops, &["fsck", "--no-progress"]);
}
