//! `pctl publish DIR --version X.Y.Z`: lint, then an annotated tag on HEAD that
//! install finds; refusals change nothing; `--push` goes to a real `git daemon`.

use crate::common::*;
use std::path::Path;

fn publish(env: &Env, repo: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["publish"];
    all.extend(args);
    env.pctl_in(repo, &all)
}

/// The message of an annotated tag, and its type (`tag` for annotated).
fn tag_message(repo: &Path, tag: &str) -> (String, String) {
    (
        git(repo, &["tag", "-l", "--format=%(contents)", tag]),
        git(repo, &["cat-file", "-t", tag]),
    )
}

#[test]
fn publish_tags_head_and_install_picks_the_new_version() {
    let repo = build_repo("authoring");
    let env = Env::new();
    let head = repo.head();
    let out = publish(
        &env,
        repo.path(),
        &[
            "webapp",
            "--version",
            "1.2.0",
            "--changelog",
            "webapp 1.2.0\n\n- faster",
        ],
    );
    assert_success(&out);
    assert_eq!(stdout(&out).trim(), "webapp/v1.2.0");
    assert_stderr_mentions(
        &out,
        &["published webapp 1.2.0 (channel stable): tag webapp/v1.2.0"],
    );
    assert_eq!(repo.rev("webapp/v1.2.0"), head);
    let (msg, kind) = tag_message(repo.path(), "webapp/v1.2.0");
    assert_eq!(kind, "tag");
    assert_eq!(msg.trim_end(), "webapp 1.2.0\n\n- faster");
    // The new version is what a constraint now picks.
    let gitops = env.init_gitops("gitops");
    let src = repo.source("webapp", Some("^1"));
    assert_success(&env.install(&gitops, &src, "web", &["--set", "domain=example.com"]));
    let list = env.list_json(&gitops);
    assert_eq!(list_entry(&list, "web")["version"], "1.2.0");
    flux_dry_run(&gitops);
    // ...and show lists it with its changelog.
    let out = env.pctl(["show", &repo.source("webapp", None)]);
    assert_success(&out);
    assert!(stdout(&out).contains("- faster"), "{}", describe(&out));
}

#[test]
fn the_same_version_twice_or_an_older_one_is_refused_and_nothing_changes() {
    let repo = build_repo("authoring");
    let env = Env::new();
    assert_success(&publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0"],
    ));
    let before = snapshot(repo.path());
    let cases: &[(&str, &[&str])] = &[
        ("1.2.0", &["tag webapp/v1.2.0 already exists"]),
        ("1.1.0", &["tag webapp/v1.1.0 already exists"]),
        (
            "v1.1.5",
            &[
                "1.1.5 is not newer than 1.2.0",
                "channel stable",
                "webapp/v1.2.0",
            ],
        ),
        ("1.2.0-rc.1", &[]),
    ];
    for (v, needles) in cases {
        let out = publish(&env, repo.path(), &["webapp", "--version", v]);
        if needles.is_empty() {
            // A pre-release of another channel (rc) is not compared with stable.
            assert_success(&out);
            continue;
        }
        assert_error(&out, 1);
        assert_stderr_mentions(&out, needles);
        assert_unchanged(&before, &snapshot(repo.path()));
    }
    // Within the rc channel, versions must grow too.
    let before = snapshot(repo.path());
    let out = publish(&env, repo.path(), &["webapp", "--version", "1.1.9-rc.2"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["not newer than 1.2.0-rc.1, the newest version on channel rc"],
    );
    assert_unchanged(&before, &snapshot(repo.path()));
}

#[test]
fn channels_come_from_the_flag_or_the_pre_release() {
    let repo = build_repo("authoring");
    let env = Env::new();
    let out = publish(
        &env,
        repo.path(),
        &[
            "webapp",
            "--version",
            "1.3.0",
            "--channel",
            "Beta",
            "--changelog",
            "Try the new front end",
        ],
    );
    assert_success(&out);
    assert_stderr_mentions(&out, &["(channel beta)"]);
    let (msg, _) = tag_message(repo.path(), "webapp/v1.3.0");
    assert_eq!(msg.trim_end(), "Try the new front end\n\nChannel: beta");
    // Stable installs still get 1.1.0; --channel beta gets 1.3.0.
    let gitops = env.init_gitops("gitops");
    let src = repo.source("webapp", Some("^1"));
    assert_success(&env.install(&gitops, &src, "stable", &["--set", "domain=a.example.com"]));
    assert_success(&env.install(
        &gitops,
        &src,
        "beta",
        // the same profile twice needs another namespace (docs/layout.md#ownership)
        &[
            "--set",
            "domain=b.example.com",
            "--channel",
            "beta",
            "--namespace",
            "beta",
        ],
    ));
    let list = env.list_json(&gitops);
    assert_eq!(list_entry(&list, "stable")["version"], "1.1.0");
    assert_eq!(list_entry(&list, "beta")["version"], "1.3.0");
    // On the beta channel 1.2.0 is older than 1.3.0; on stable it is fine.
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0", "--channel", "beta"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["not newer than 1.3.0, the newest version on channel beta"],
    );
    assert_success(&publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0"],
    ));
    // A pre-release without --channel: its channel is its first identifier, no trailer.
    let out = publish(&env, repo.path(), &["webapp", "--version", "2.0.0-rc.1"]);
    assert_success(&out);
    assert_stderr_mentions(&out, &["(channel rc)"]);
    let (msg, _) = tag_message(repo.path(), "webapp/v2.0.0-rc.1");
    assert_eq!(msg.trim_end(), "webapp 2.0.0-rc.1");
}

#[test]
fn the_changelog_can_come_from_a_file() {
    let repo = build_repo("authoring");
    let env = Env::new();
    let file = env.path("CHANGES.md");
    std::fs::write(&file, "cache 1.2.0\n\n- Valkey 2.2\n").unwrap();
    let out = publish(
        &env,
        repo.path(),
        &[
            "cache",
            "--version",
            "1.2.0",
            "-F",
            &file.display().to_string(),
        ],
    );
    assert_success(&out);
    assert_eq!(
        tag_message(repo.path(), "cache/v1.2.0").0.trim_end(),
        "cache 1.2.0\n\n- Valkey 2.2"
    );
    let out = publish(
        &env,
        repo.path(),
        &["cache", "--version", "1.3.0", "-F", "/nonexistent/changes"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["/nonexistent/changes"]);
    let out = publish(
        &env,
        repo.path(),
        &["cache", "--version", "1.3.0", "-F", "x", "--changelog", "y"],
    );
    assert_exit(&out, 1);
}

#[test]
fn a_profile_at_the_repository_root_gets_vx_y_z() {
    let env = Env::new();
    let root = env.path("root-profile");
    copy_tree(&fixtures_dir().join("repos/authoring/c1/cache"), &root);
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "cache at the root"]);
    let out = publish(&env, &root, &[".", "--version", "0.1.0"]);
    assert_success(&out);
    assert_eq!(stdout(&out).trim(), "v0.1.0");
    assert_eq!(git(&root, &["tag", "-l"]), "v0.1.0");
    let out = publish(&env, &root, &[".", "--version", "0.0.9"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not newer than 0.1.0"]);
}

#[test]
fn unpublishable_directories_are_refused_and_nothing_changes() {
    let repo = build_repo("authoring");
    let env = Env::new();
    let before = snapshot(repo.path());

    // Not a version.
    let out = publish(&env, repo.path(), &["webapp", "--version", "1.2"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["\"1.2\" is not a semantic version"]);
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0", "--channel", "not ok"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not a channel name"]);
    // No such directory, or not a profile.
    let out = publish(&env, repo.path(), &["nothing", "--version", "1.2.0"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["nothing", "does not exist"]);
    assert_unchanged(&before, &snapshot(repo.path()));

    // Uncommitted changes in DIR.
    let p = repo.path().join("webapp/profile.yaml");
    let original = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, original.replace("default: 3", "default: 4")).unwrap();
    let dirty = snapshot(repo.path());
    let out = publish(&env, repo.path(), &["webapp", "--version", "1.2.0"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["uncommitted changes", "webapp/profile.yaml"]);
    assert_unchanged(&dirty, &snapshot(repo.path()));
    std::fs::write(&p, &original).unwrap();

    // A profile that is not committed yet.
    copy_tree(&repo.path().join("cache"), &repo.path().join("fresh"));
    let out = publish(&env, repo.path(), &["fresh", "--version", "0.1.0"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["fresh/profile.yaml is not committed"]);
    std::fs::remove_dir_all(repo.path().join("fresh")).unwrap();

    // Lint errors stop it, and are shown.
    std::fs::write(
        &p,
        original.replacen(
            "    - name: frontend\n",
            "    - name: frontend\n      chrat: {}\n",
            1,
        ),
    )
    .unwrap();
    repo.git(&["commit", "-qam", "a typo"]);
    let committed = snapshot(repo.path());
    let out = publish(&env, repo.path(), &["webapp", "--version", "1.2.0"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "webapp/profile.yaml:31: error: unknown field `chrat`",
            "lint found 1 error(s)",
            "nothing was published",
        ],
    );
    assert_unchanged(&committed, &snapshot(repo.path()));

    // Outside Git.
    let loose = env.work.join("loose");
    copy_tree(&repo.path().join("cache"), &loose);
    let out = env.pctl(["publish", "loose", "--version", "1.0.0"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not inside a Git repository"]);
    // --remote needs --push.
    let out = publish(
        &env,
        repo.path(),
        &["cache", "--version", "9.0.0", "--remote", "x"],
    );
    assert_exit(&out, 1);
}

#[test]
fn dry_run_checks_everything_and_tags_nothing() {
    let repo = build_repo("authoring");
    let env = Env::new();
    let before = snapshot(repo.path());
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0", "--dry-run"],
    );
    assert_success(&out);
    assert_eq!(stdout(&out).trim(), "webapp/v1.2.0");
    assert_stderr_mentions(&out, &["dry run: would tag", "nothing was written"]);
    assert_unchanged(&before, &snapshot(repo.path()));
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.0.1", "--dry-run"],
    );
    assert_error(&out, 1);
}

// --- --push against git daemon on 127.0.0.1 -------------------------------------

/// A clone of the authoring fixture whose origin is a bare copy served by git daemon.
fn served() -> (TempRepo, tempfile::TempDir, Server, std::path::PathBuf) {
    let repo = build_repo("authoring");
    let root = tempfile::Builder::new()
        .prefix("pctl-daemon-")
        .tempdir()
        .unwrap();
    let bare = bare_copy(repo.path(), root.path(), "authoring");
    let server = git_daemon(root.path());
    repo.git(&["remote", "add", "origin", &server.url("authoring.git")]);
    (repo, root, server, bare)
}

#[test]
fn push_sends_the_tag_to_the_remote() {
    let (repo, _root, server, bare) = served();
    let env = Env::new();
    let out = publish(
        &env,
        repo.path(),
        &[
            "webapp",
            "--version",
            "1.2.0",
            "--push",
            "--changelog",
            "pushed",
        ],
    );
    assert_success(&out);
    assert_stderr_mentions(&out, &["pushed webapp/v1.2.0 to origin"]);
    // On the server, annotated, pointing at the same commit; and locally.
    assert_eq!(
        git(&bare, &["rev-parse", "webapp/v1.2.0^{commit}"]),
        repo.head()
    );
    assert_eq!(git(&bare, &["cat-file", "-t", "webapp/v1.2.0"]), "tag");
    assert_eq!(repo.rev("webapp/v1.2.0"), repo.head());
    // Install from the server picks it.
    let gitops = env.init_gitops("gitops");
    let src = source_url(&server.url("authoring.git"), "webapp", Some("^1"));
    assert_success(&env.install(&gitops, &src, "web", &["--set", "domain=example.com"]));
    assert_eq!(
        list_entry(&env.list_json(&gitops), "web")["version"],
        "1.2.0"
    );
}

#[test]
fn a_version_that_exists_only_on_the_remote_is_refused_before_pushing() {
    let (repo, _root, _server, bare) = served();
    let env = Env::new();
    // Someone else published 1.2.0 from another clone.
    git(
        &bare,
        &["tag", "-a", "webapp/v1.2.0", "-m", "theirs", "main"],
    );
    let before = snapshot(repo.path());
    let remote_before = git(&bare, &["for-each-ref"]);
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0", "--push"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["tag webapp/v1.2.0 already exists on origin"]);
    // 1.1.5 is below the remote's 1.2.0.
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.1.5", "--push"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not newer than 1.2.0"]);
    assert_unchanged(&before, &snapshot(repo.path()));
    assert_eq!(git(&bare, &["for-each-ref"]), remote_before);
}

#[test]
fn a_server_side_rejection_is_reported_and_nothing_is_tagged() {
    let (repo, _root, _server, bare) = served();
    let env = Env::new();
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'tags need a review' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let before = snapshot(repo.path());
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0", "--push"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "origin",
            "rejected the tag webapp/v1.2.0",
            "hook",
            "nothing was tagged",
        ],
    );
    assert_unchanged(&before, &snapshot(repo.path()));
    assert!(!git_ok(
        &bare,
        &["rev-parse", "-q", "--verify", "refs/tags/webapp/v1.2.0"]
    ));
}

#[test]
fn an_unreachable_or_unknown_remote_is_an_error_and_nothing_is_tagged() {
    let (repo, _root, server, _bare) = served();
    let env = Env::new();
    let before = snapshot(repo.path());
    let out = publish(
        &env,
        repo.path(),
        &[
            "webapp",
            "--version",
            "1.2.0",
            "--push",
            "--remote",
            "upstream",
        ],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["no remote named \"upstream\"", "origin"]);
    assert_unchanged(&before, &snapshot(repo.path()));
    // A server that is gone: nothing listens on its port any more.
    drop(server);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    repo.git(&[
        "remote",
        "set-url",
        "origin",
        &format!("git://127.0.0.1:{closed}/authoring.git"),
    ]);
    let before = snapshot(repo.path());
    let out = publish(
        &env,
        repo.path(),
        &["webapp", "--version", "1.2.0", "--push"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["cannot read the tags of remote origin"]);
    assert_unchanged(&before, &snapshot(repo.path()));
}
