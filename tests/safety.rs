//! The write guarantees of SPEC section 5: all or nothing, never touch
//! uncommitted work, one commit, and no lost commit between two processes.
mod common;

use common::*;

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
