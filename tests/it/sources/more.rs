//! More source tests: see the module above for the fixtures and helpers.
use super::*;

#[test]
fn quickstart_profile_installs_from_a_committed_local_directory() {
    let env = Env::new();
    let checkout = quickstart_checkout(&env);
    let gitops = env.init_gitops("gitops");
    let out = env.pctl_in(
        &checkout,
        [
            "install",
            "./fixtures/quickstart/podinfo",
            "--name",
            "podinfo",
            "--repo",
            &gitops.display().to_string(),
        ],
    );
    assert_success(&out);
    let commit = head(&checkout);
    let list = env.list_json(&gitops);
    let entry = list_entry(&list, "podinfo");
    assert_short_commit(entry["version"].as_str().unwrap(), &commit);
    let record =
        std::fs::read_to_string(install_dir(&gitops, "podinfo").join("profile-installation.yaml"))
            .unwrap();
    assert!(
        record.contains(&commit),
        "the record must name the checkout's commit:\n{record}"
    );
    assert_eq!(
        artifact_ids(&gitops, "podinfo"),
        ["backend", "frontend", "settings"]
    );
    assert_eq!(
        tree_files(&install_dir(&gitops, "podinfo").join("artifacts/frontend/chart")),
        tree_files(&fixtures_dir().join("quickstart/podinfo/chart"))
    );
    check_installation(&gitops, "podinfo");
    assert!(is_clean(&checkout), "pctl changed the source checkout");
    flux_dry_run(&gitops);
}

#[test]
fn quickstart_installs_from_the_pctl_checkout_itself() {
    // What the README's quick start does. --allow-dirty because a developer's
    // checkout may hold uncommitted fixture edits.
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let out = env.pctl_in(
        std::path::Path::new(CRATE_DIR),
        [
            "install",
            "./fixtures/quickstart/podinfo",
            "--name",
            "podinfo",
            "--repo",
            &gitops.display().to_string(),
            "--allow-dirty",
        ],
    );
    assert_success(&out);
    check_installation(&gitops, "podinfo");
    flux_dry_run(&gitops);
}

#[test]
fn local_directory_with_uncommitted_changes_is_refused_unless_allow_dirty() {
    let env = Env::new();
    let checkout = quickstart_checkout(&env);
    let gitops = env.init_gitops("gitops");
    let values = checkout.join("fixtures/quickstart/podinfo/chart/values.yaml");
    let mut text = std::fs::read_to_string(&values).unwrap();
    text.push_str("# local experiment\n");
    std::fs::write(&values, &text).unwrap();
    let before = snapshot(&gitops);
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "install",
            "./fixtures/quickstart/podinfo",
            "--name",
            "podinfo",
            "--repo",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(gitops.display().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let out = env.pctl_in(&checkout, args(&[]));
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["--allow-dirty"]);
    assert_unchanged(&before, &snapshot(&gitops));

    // an untracked file counts as well
    git(&checkout, &["checkout", "-q", "--", "."]);
    std::fs::write(
        checkout.join("fixtures/quickstart/podinfo/manifests/extra.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    )
    .unwrap();
    let out = env.pctl_in(&checkout, args(&[]));
    assert_error(&out, 1);
    assert_unchanged(&before, &snapshot(&gitops));

    let out = env.pctl_in(&checkout, args(&["--allow-dirty"]));
    assert_success(&out);
    // the dirty file is what gets installed
    assert!(
        tree_files(&install_dir(&gitops, "podinfo"))
            .keys()
            .any(|k| k.ends_with("extra.yaml"))
    );
    flux_dry_run(&gitops);
}

#[test]
fn local_directory_outside_any_git_repository_needs_allow_dirty() {
    let env = Env::new();
    let plain = env.path("plain");
    copy_tree(
        &fixtures_dir().join("quickstart/podinfo"),
        &plain.join("podinfo"),
    );
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let abs = plain.join("podinfo").display().to_string();
    let out = env.install(&gitops, &abs, "podinfo", &[]);
    assert_error(&out, 1);
    assert!(
        stderr(&out).lines().any(|l| l.starts_with("hint: ")),
        "{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
    let out = env.install(&gitops, &abs, "podinfo", &["--allow-dirty"]);
    assert_success(&out);
    check_installation(&gitops, "podinfo");
    flux_dry_run(&gitops);
}

// --- remote GitOps repositories ----------------------------------------------

/// A GitOps repository made by `pctl init`, published as a bare repository in
/// `root` (`gitops.git`). Returns the bare path.
fn remote_gitops(env: &Env, root: &Path) -> PathBuf {
    let local = env.init_gitops("gitops-seed");
    bare_copy(&local, root, "gitops")
}

/// A fresh work tree of the remote GitOps repository.
fn clone_of(env: &Env, url: &str, name: &str) -> PathBuf {
    let dest = env.path(name);
    env.git(
        &env.root,
        &["clone", "-q", url, &dest.display().to_string()],
    );
    dest
}

#[test]
fn install_into_a_remote_gitops_repository_over_git_daemon_pushes_the_commit() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let root = env.path("served");
    let bare = remote_gitops(&env, &root);
    let server = git_daemon(&root);
    let url = server.url("gitops.git");
    let before = git(&bare, &["rev-parse", "main"]);
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
        git(&bare, &["log", "-1", "--format=%s", "main"]),
        "pctl: install nginx 1.1.0 as ingress",
        "{}",
        server.log_text()
    );
    assert_eq!(git(&bare, &["rev-parse", "main~1"]), before);
    let tree = clone_of(&env, &url, "check");
    check_installation(&tree, "ingress");
    flux_dry_run(&tree);
    // list and uninstall work against the URL as well
    let list = env.pctl(["list", "--repo", &url, "-o", "json"]);
    assert_success(&list);
    assert!(stdout(&list).contains("ingress"));
    assert_success(&env.pctl(["uninstall", "ingress", "--repo", &url]));
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s", "main"]),
        "pctl: uninstall ingress"
    );
}

#[test]
fn install_into_a_remote_gitops_repository_over_smart_http_pushes_the_commit() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let root = env.path("served");
    let bare = remote_gitops(&env, &root);
    let server = http_backend(&root);
    let url = server.url("gitops.git");
    let out = env.pctl([
        "install",
        &platform.source("podinfo", None),
        "--name",
        "demo",
        "--repo",
        &url,
    ]);
    assert_success(&out);
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s", "main"]),
        "pctl: install podinfo 6.1.0 as demo",
        "requests: {:?}\n{}",
        server.requests(),
        server.log_text()
    );
    let tree = clone_of(&env, &url, "check");
    check_installation(&tree, "demo");
    flux_dry_run(&tree);
}

#[test]
fn install_into_a_remote_that_moved_since_the_last_run_rebases_and_pushes() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let root = env.path("served");
    let bare = remote_gitops(&env, &root);
    let server = git_daemon(&root);
    let url = server.url("gitops.git");
    assert_success(&env.pctl([
        "install",
        &platform.source("nginx", None),
        "--name",
        "ingress",
        "--repo",
        &url,
    ]));

    // someone else pushes in between
    let other = clone_of(&env, &url, "colleague");
    std::fs::write(other.join("NOTES.md"), "maintenance window on Friday\n").unwrap();
    env.git(&other, &["add", "-A"]);
    env.git(&other, &["commit", "-q", "-m", "Add notes"]);
    env.git(&other, &["push", "-q", "origin", "HEAD:main"]);

    assert_success(&env.pctl([
        "install",
        &platform.source("podinfo", None),
        "--name",
        "demo",
        "--repo",
        &url,
    ]));
    assert_eq!(
        subjects(&bare, "main"),
        [
            "pctl: install podinfo 6.1.0 as demo",
            "Add notes",
            "pctl: install nginx 1.1.0 as ingress",
            "pctl: init"
        ]
    );
    let tree = clone_of(&env, &url, "check");
    assert!(tree.join("NOTES.md").is_file());
    let mut names = installed_names(&tree);
    names.sort();
    assert_eq!(names, ["demo", "ingress"]);
    flux_dry_run(&tree);
}

#[test]
fn concurrent_installs_into_one_remote_lose_no_commit() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let root = env.path("served");
    let bare = remote_gitops(&env, &root);
    let server = git_daemon(&root);
    let url = server.url("gitops.git");
    let names = ["one", "two", "three"];
    let children: Vec<_> = names
        .iter()
        .map(|n| {
            env.spawn([
                "install",
                &platform.source("nginx", None),
                "--name",
                n,
                "--namespace",
                n,
                "--repo",
                &url,
            ])
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(wait_output).collect();
    let mut ok = Vec::new();
    for (n, out) in names.iter().zip(&outs) {
        match out.status.code() {
            Some(0) => ok.push(n.to_string()),
            Some(1) => assert_error(out, 1),
            _ => panic!("{n}: unexpected exit\n{}", describe(out)),
        }
    }
    assert!(!ok.is_empty(), "every concurrent install failed");
    let log = subjects(&bare, "main");
    for n in &ok {
        assert!(
            log.contains(&format!("pctl: install nginx 1.1.0 as {n}")),
            "{n}'s commit was lost: {log:?}\n{}\nserver log:\n{}",
            outs.iter().map(describe).collect::<Vec<_>>().join("\n"),
            server.log_text()
        );
    }
    assert_eq!(log.len(), 1 + ok.len(), "{log:?}");
    let tree = clone_of(&env, &url, "check");
    let mut listed = installed_names(&tree);
    listed.sort();
    ok.sort();
    assert_eq!(listed, ok);
    flux_dry_run(&tree);
}

#[test]
fn insteadof_from_a_git_config_global_file_other_than_home_gitconfig_is_honoured() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let other = env.path("other.gitconfig");
    std::fs::write(
        &other,
        format!(
            "[url \"{}\"]\n\tinsteadOf = https://git.example.com/platform.git\n",
            platform.url()
        ),
    )
    .unwrap();
    env.set_var("GIT_CONFIG_GLOBAL", &other.display().to_string());
    let gitops = env.init_gitops("gitops");
    let src = source_url("https://git.example.com/platform.git", "nginx", None);
    assert_eq!(resolved(&env, &gitops, &src, "ingress"), "1.1.0");
}

#[test]
fn insteadof_from_xdg_config_home_git_config_is_honoured() {
    let env = Env::new();
    let platform = shared_repo("platform");
    std::fs::create_dir_all(env.config.join("git")).unwrap();
    std::fs::write(
        env.config.join("git/config"),
        format!(
            "[url \"{}\"]\n\tinsteadOf = https://git.example.com/platform.git\n",
            platform.url()
        ),
    )
    .unwrap();
    // Git reads $XDG_CONFIG_HOME/git/config only when GIT_CONFIG_GLOBAL is unset
    env.unset_var("GIT_CONFIG_GLOBAL");
    let gitops = env.init_gitops("gitops");
    let src = source_url("https://git.example.com/platform.git", "podinfo", None);
    assert_eq!(resolved(&env, &gitops, &src, "demo"), "6.1.0");
}

/// Full reference names work as REF: `refs/tags/X` and `refs/heads/X` mean the tag
/// and the branch, and a reference the mirror does not follow (a forge's
/// `refs/pull/N/head`) is fetched on demand. An unknown one is "nothing matches".
#[test]
fn full_reference_names_select_tags_branches_and_pull_request_heads() {
    let platform = build_repo("platform");
    let v100 = platform.rev("nginx/v1.0.0");
    platform.git(&["update-ref", "refs/pull/7/head", &v100]);
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_eq!(
        resolved(
            &env,
            &gitops,
            &platform.source("nginx", Some("refs/tags/nginx/v1.1.0")),
            "a"
        ),
        "1.1.0"
    );
    let out = env.install(
        &gitops,
        &platform.source("nginx", Some("refs/heads/main")),
        "b",
        &["--namespace", "b"],
    );
    assert_success(&out);
    assert_eq!(
        record_of(&gitops, "b")["spec"]["source"]["commit"],
        platform.rev("main")
    );
    let out = env.install(
        &gitops,
        &platform.source("nginx", Some("refs/pull/7/head")),
        "c",
        &["--namespace", "c"],
    );
    assert_success(&out);
    let rec = record_of(&gitops, "c");
    assert_eq!(rec["spec"]["source"]["commit"], v100.as_str());
    assert_eq!(rec["spec"]["source"]["version"], "1.0.0");
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &platform.source("nginx", Some("refs/pull/8/head")),
        "d",
        &["--namespace", "d"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["nothing matches \"refs/pull/8/head\""]);
    assert_unchanged(&before, &snapshot(&gitops));
    flux_dry_run(&gitops);
}

fn record_of(gitops: &Path, name: &str) -> Value {
    yaml_file(
        &gitops
            .join(INSTALL_PATH)
            .join(name)
            .join("profile-installation.yaml"),
    )
}
