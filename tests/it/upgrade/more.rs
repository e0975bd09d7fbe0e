//! More upgrade tests: see the module above for the fixtures and helpers.
use super::*;

#[test]
fn strategy_ours_resolves_every_conflict_with_the_local_side() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit_everything(&env, &gitops);
    let edited_ingress = read(&gitops, INGRESS);
    let before = head(&gitops);

    let out = upgrade(
        &env,
        &gitops,
        &[NAME, "--to", "1.2.0", "--strategy", "ours"],
    );
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.2.0");
    assert_no_markers(&gitops, NAME);
    let d = deployment(&gitops);
    assert_eq!(container(&d)["resources"]["limits"]["memory"], "512Mi");
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(
        container(&d)["image"],
        "ghcr.io/stefanprodan/podinfo:6.7.1",
        "changes without conflict still come from upstream"
    );
    assert_eq!(read(&gitops, INGRESS), edited_ingress);
    assert_stderr_mentions(&out, &["artifacts/ingress/", "Flux no longer applies them"]);
    assert_eq!(record(&gitops, NAME)["spec"]["source"]["version"], "1.2.0");
    assert!(file_of(&gitops, NAME, "artifacts/route/httproute.yaml").is_file());
    flux_dry_run(&gitops);
}

#[test]
fn strategy_theirs_resolves_every_conflict_with_upstream() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit_everything(&env, &gitops);
    let before = head(&gitops);

    let out = upgrade(
        &env,
        &gitops,
        &[NAME, "--to", "1.2.0", "--strategy", "theirs"],
    );
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.2.0");
    assert_no_markers(&gitops, NAME);
    let d = deployment(&gitops);
    assert_eq!(container(&d)["resources"]["limits"]["memory"], "256Mi");
    assert_eq!(
        d["spec"]["replicas"], 5,
        "an edit without conflict is kept whatever the strategy"
    );
    assert!(
        !install_dir(&gitops, NAME)
            .join("artifacts/ingress")
            .exists()
    );
    check_installation(&gitops, NAME);
    flux_dry_run(&gitops);
}

/// `--continue` refuses (exit 3, the paths again) while markers remain, then
/// commits the user's resolution as the upgrade.
#[test]
fn continue_refuses_while_markers_remain_then_commits() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit_memory_limit(&gitops);
    commit_all(&env, &gitops, "web: more memory");
    let before = head(&gitops);
    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.2.0"]);
    assert_conflict(&out, &gitops, &before, &[DEPLOYMENT]);

    let out = upgrade(&env, &gitops, &["--continue"]);
    assert_conflict(&out, &gitops, &before, &[DEPLOYMENT]);
    assert!(has_markers(&read(&gitops, DEPLOYMENT)));

    // The user settles on a third value.
    let resolved = resolve(&read(&gitops, DEPLOYMENT), Side::Ours).replace("512Mi", "384Mi");
    std::fs::write(file_of(&gitops, NAME, DEPLOYMENT), &resolved).unwrap();
    let out = upgrade(&env, &gitops, &["--continue"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.2.0");
    assert_eq!(read(&gitops, DEPLOYMENT), resolved);
    let d = deployment(&gitops);
    assert_eq!(container(&d)["resources"]["limits"]["memory"], "384Mi");
    assert_eq!(container(&d)["image"], "ghcr.io/stefanprodan/podinfo:6.7.1");
    let rec = record(&gitops, NAME);
    assert_eq!(rec["spec"]["source"]["version"], "1.2.0");
    assert_eq!(
        rec["spec"]["source"]["commit"],
        upstream().rev("webstack/v1.2.0")
    );
    check_installation(&gitops, NAME);
    flux_dry_run(&gitops);

    // Nothing is in progress any more.
    let out = upgrade(&env, &gitops, &["--continue"]);
    assert_error(&out, 1);
    let out = upgrade(&env, &gitops, &["--abort"]);
    assert_error(&out, 1);
}

/// `--abort` puts HEAD, the index and the work tree back byte for byte, including
/// files pctl never touched (an untracked note outside the installation).
#[test]
fn abort_restores_the_repository_byte_for_byte() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit_everything(&env, &gitops);
    std::fs::create_dir_all(gitops.join("notes")).unwrap();
    std::fs::write(gitops.join("notes/todo.txt"), "upgrade web\n").unwrap();
    let before = snapshot(&gitops);

    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.2.0"]);
    assert_conflict(
        &out,
        &gitops,
        before.head.as_deref().unwrap(),
        &[DEPLOYMENT, INGRESS],
    );
    assert!(
        !state_diff(&before, &snapshot(&gitops)).is_empty(),
        "the conflicted upgrade left the work tree as it was"
    );

    // `--strategy` cannot apply to a merge that already stopped: refused, not ignored.
    let out = upgrade(&env, &gitops, &["--continue", "--strategy", "theirs"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["--strategy", "cannot be used with"]);
    // Naming another installation is refused; naming this one works.
    let out = upgrade(&env, &gitops, &["other", "--abort"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not of \"other\": it was merging web"]);
    let out = upgrade(&env, &gitops, &[NAME, "--abort"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&gitops));

    // Nothing is pending: a new upgrade runs.
    let out = upgrade(
        &env,
        &gitops,
        &[NAME, "--to", "1.2.0", "--strategy", "ours"],
    );
    assert_success(&out);
    assert_eq!(record(&gitops, NAME)["spec"]["source"]["version"], "1.2.0");
}

/// While a conflicted upgrade waits for `--continue`/`--abort`, other writing
/// commands refuse and change nothing.
#[test]
fn write_commands_refuse_while_a_conflicted_upgrade_is_pending() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit_memory_limit(&gitops);
    commit_all(&env, &gitops, "web: more memory");
    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.2.0"]);
    assert_exit(&out, 3);
    let pending = snapshot(&gitops);

    let g = arg(&gitops);
    let src = webstack(upstream(), "1.0.0");
    let attempts: Vec<Vec<&str>> = vec![
        vec!["install", &src, "--name", "other", "--repo", &g],
        vec!["uninstall", NAME, "--repo", &g],
        vec!["upgrade", NAME, "--to", "1.1.0", "--repo", &g],
        vec!["upgrade", "--all", "--repo", &g],
        vec!["sync", "--repo", &g],
    ];
    for a in attempts {
        let out = env.pctl(&a);
        assert_error(&out, 1);
        assert_stderr_mentions_any(&out, &["upgrade --continue", "--abort", "in progress"]);
        assert_unchanged(&pending, &snapshot(&gitops));
    }

    assert_success(&upgrade(&env, &gitops, &["--abort"]));
    assert_success(&env.install(&gitops, &src, "other", &[]));
}

// ---------------------------------------------------------------------------
// --dry-run, targets, --all
// ---------------------------------------------------------------------------

#[test]
fn dry_run_prints_a_unified_diff_and_writes_nothing() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    let before = snapshot(&gitops);
    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0", "--dry-run"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&gitops));
    let diff = stdout(&out);
    let has = |prefix: &str, needle: &str| {
        diff.lines()
            .any(|l| l.starts_with(prefix) && l.contains(needle))
    };
    assert!(has("@@", ""), "no hunk header:\n{diff}");
    assert!(
        has("-", "image: ghcr.io/stefanprodan/podinfo:6.7.0")
            && has("+", "image: ghcr.io/stefanprodan/podinfo:6.7.1"),
        "the image change is not in the diff:\n{diff}"
    );
    assert!(
        has("+", "size: 2Gi"),
        "the chart values change is not in the diff:\n{diff}"
    );
    assert!(
        has("+++ ", "artifacts/route/httproute.yaml"),
        "the new artifact is not in the diff:\n{diff}"
    );
    assert!(
        has("--- ", "artifacts/ingress/ingress.yaml"),
        "the removed artifact is not in the diff:\n{diff}"
    );

    // A dry run that would stop on a conflict says so (exit 3) and writes nothing.
    edit_memory_limit(&gitops);
    commit_all(&env, &gitops, "web: more memory");
    let before = snapshot(&gitops);
    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.2.0", "--dry-run"]);
    assert_exit(&out, 3);
    assert_stderr_mentions(&out, &[DEPLOYMENT]);
    assert_unchanged(&before, &snapshot(&gitops));
}

/// Without `--to`, the target is the newest version the recorded constraint allows
/// (not the major beyond it); once there, there is nothing to do.
#[test]
fn without_to_the_recorded_constraint_picks_the_target() {
    let repo = build_repo("upgrade");
    let saved = hide_later_versions(&repo);
    let (env, gitops) = installed(&repo, "^1.0", &[]);
    assert_eq!(record(&gitops, NAME)["spec"]["source"]["version"], "1.0.0");
    restore_tags(&repo, &saved);
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &[NAME]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.2.0");
    let src = &record(&gitops, NAME)["spec"]["source"];
    assert_eq!(src["version"], "1.2.0");
    assert_eq!(src["requested"], "^1.0", "the constraint is kept");
    flux_dry_run(&gitops);

    let state = snapshot(&gitops);
    let out = upgrade(&env, &gitops, &[NAME]);
    assert_success(&out);
    assert_unchanged(&state, &snapshot(&gitops));
}

/// Up to date (newest version of its constraint, or pinned to an exact version):
/// exit 0, no commit, nothing written.
#[test]
fn nothing_to_upgrade_is_success_without_a_commit() {
    let (env, gitops) = installed(upstream(), "^1.0", &[]);
    assert_success(&env.install(&gitops, &webstack(upstream(), "1.0.0"), "pinned", &[]));
    assert_eq!(record(&gitops, NAME)["spec"]["source"]["version"], "1.2.0");
    let before = snapshot(&gitops);
    for args in [vec![NAME], vec!["pinned"], vec!["--all"]] {
        let out = upgrade(&env, &gitops, &args);
        assert_success(&out);
        assert_unchanged(&before, &snapshot(&gitops));
    }
}

/// `--to C` takes the newest version C allows, across a major, and records C.
#[test]
fn to_records_the_new_constraint_and_crosses_a_major() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    let before = head(&gitops);
    let out = upgrade(&env, &gitops, &[NAME, "--to", "^2.0"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 2.0.0");
    let rec = record(&gitops, NAME);
    assert_eq!(rec["spec"]["source"]["version"], "2.0.0");
    assert_eq!(rec["spec"]["source"]["requested"], "^2.0");
    assert_eq!(
        container(&deployment(&gitops))["image"],
        "ghcr.io/stefanprodan/podinfo:6.8.0"
    );
    let hr = yaml_file(&file_of(&gitops, NAME, CHART_RELEASE));
    assert_eq!(hr["spec"]["chart"]["spec"]["version"], "20.x");
    check_installation(&gitops, NAME);
    flux_dry_run(&gitops);

    // ^2.0 allows no newer stable version (2.1.0-rc.1 is a pre-release).
    let state = snapshot(&gitops);
    assert_success(&upgrade(&env, &gitops, &[NAME]));
    assert_unchanged(&state, &snapshot(&gitops));
}

/// `--latest` ignores the constraint and takes the newest stable version;
/// `--channel rc` lets it take the release candidate.
#[test]
fn latest_takes_the_newest_version_of_the_channel() {
    let (env, gitops) = installed(upstream(), "^1.0", &[]);
    let before = head(&gitops);
    let out = upgrade(&env, &gitops, &[NAME, "--latest"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.2.0 -> 2.0.0");
    assert_eq!(record(&gitops, NAME)["spec"]["source"]["version"], "2.0.0");

    let before = head(&gitops);
    let out = upgrade(&env, &gitops, &[NAME, "--latest", "--channel", "rc"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 2.0.0 -> 2.1.0-rc.1");
    assert_eq!(
        container(&deployment(&gitops))["image"],
        "ghcr.io/stefanprodan/podinfo:6.9.0"
    );
    flux_dry_run(&gitops);
}

/// `--all` upgrades every installation behind its constraint's newest version, and
/// leaves the others alone; a second `--all` has nothing to do.
#[test]
fn upgrade_all_upgrades_every_installation_behind_its_constraint() {
    let repo = build_repo("upgrade");
    let saved = hide_later_versions(&repo);
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    for (name, c) in [("a", "^1.0"), ("b", "1.x"), ("c", "~1.0")] {
        assert_success(&env.install(&gitops, &webstack(&repo, c), name, &[]));
    }
    restore_tags(&repo, &saved);
    let before = head(&gitops);
    let c_files = repo_files_at(&gitops, "HEAD", &format!("{INSTALL_PATH}/c"));

    let out = upgrade(&env, &gitops, &["--all"]);
    assert_success(&out);
    assert!(is_clean(&gitops));
    for (name, version) in [("a", "1.2.0"), ("b", "1.2.0"), ("c", "1.0.0")] {
        assert_eq!(
            record(&gitops, name)["spec"]["source"]["version"],
            version,
            "{name}"
        );
    }
    assert_eq!(
        repo_files_at(&gitops, "HEAD", &format!("{INSTALL_PATH}/c")),
        c_files,
        "c is up to date within ~1.0 and must not change"
    );
    let log = git(&gitops, &["log", "--format=%B", &format!("{before}..HEAD")]);
    assert!(log.contains("a 1.0.0 -> 1.2.0"), "{log}");
    assert!(log.contains("b 1.0.0 -> 1.2.0"), "{log}");
    assert!(!log.contains("upgrade c"), "{log}");
    for name in ["a", "b"] {
        assert_eq!(
            container(&deployment_of(&gitops, name))["resources"]["limits"]["memory"],
            "256Mi"
        );
        check_installation(&gitops, name);
    }
    flux_dry_run(&gitops);

    let state = snapshot(&gitops);
    assert_success(&upgrade(&env, &gitops, &["--all"]));
    assert_unchanged(&state, &snapshot(&gitops));
}

/// `-m` sets the commit message; `--no-commit` writes and stages the merge without
/// committing; `--offline` upgrades from the mirror the install cached.
#[test]
fn message_no_commit_and_offline() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    let before = head(&gitops);
    let out = upgrade(
        &env,
        &gitops,
        &[NAME, "--to", "1.1.0", "--offline", "--no-commit"],
    );
    assert_success(&out);
    assert_eq!(head(&gitops), before, "--no-commit must not commit");
    assert!(
        git(&gitops, &["diff", "--name-only"]).is_empty(),
        "--no-commit must stage everything it wrote"
    );
    let staged = git(&gitops, &["diff", "--cached", "--name-only"]);
    assert!(
        staged.contains("artifacts/route/httproute.yaml") && staged.contains(INGRESS),
        "{staged}"
    );
    assert_eq!(record(&gitops, NAME)["spec"]["source"]["version"], "1.1.0");
    // Back to the committed state; then -m.
    env.git(&gitops, &["reset", "-q", "--hard", "HEAD"]);
    env.git(&gitops, &["clean", "-q", "-fd"]);
    let out = upgrade(
        &env,
        &gitops,
        &[
            NAME,
            "--to",
            "1.1.0",
            "--offline",
            "-m",
            "web: webstack 1.1.0",
        ],
    );
    assert_success(&out);
    assert_one_commit(&gitops, &before, "web: webstack 1.1.0");
    assert_eq!(record(&gitops, NAME)["spec"]["source"]["version"], "1.1.0");
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// A value flag on upgrade beats the value recorded at install.
#[test]
fn a_value_flag_on_upgrade_beats_the_recorded_value() {
    let (env, gitops) = installed(upstream(), "1.0.0", &["--set", "replicas=3"]);
    assert_eq!(deployment(&gitops)["spec"]["replicas"], 3);
    let out = upgrade(
        &env,
        &gitops,
        &[NAME, "--to", "1.1.0", "--set", "replicas=4"],
    );
    assert_success(&out);
    assert_eq!(deployment(&gitops)["spec"]["replicas"], 4);
    let v = &record(&gitops, NAME)["spec"]["values"]["replicas"];
    assert_eq!(v["value"], 4);
    assert_eq!(v["source"], "flag");
}

/// Values given at install are used again on upgrade without repeating the flags.
#[test]
fn recorded_values_are_reused_without_repeating_the_flags() {
    let (env, gitops) = installed(
        upstream(),
        "1.0.0",
        &[
            "--set",
            "replicas=3",
            "--set",
            "message=Hello from the shop",
        ],
    );
    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0"]);
    assert_success(&out);
    let d = deployment(&gitops);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(env_var(&d, "PODINFO_UI_MESSAGE"), "Hello from the shop");
    assert_eq!(container(&d)["image"], "ghcr.io/stefanprodan/podinfo:6.7.1");
    let values = &record(&gitops, NAME)["spec"]["values"];
    assert_eq!(values["replicas"]["value"], 3);
    assert_eq!(values["message"]["value"], "Hello from the shop");
    assert_ne!(values["replicas"]["source"], "default");
}

/// Level 3 beats level 4 on upgrade: a value given at install beats a `--preset`
/// given to the upgrade, and the preset sets what was not given (ha = {replicas: 3,
/// log_level: warn}).
#[test]
fn recorded_values_beat_a_preset_given_on_upgrade() {
    let (env, gitops) = installed(upstream(), "1.0.0", &["--set", "replicas=5"]);
    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0", "--preset", "ha"]);
    assert_success(&out);
    let d = deployment(&gitops);
    assert_eq!(d["spec"]["replicas"], 5);
    assert!(
        container(&d)["command"]
            .as_array()
            .unwrap()
            .contains(&json!("--level=warn")),
        "{d}"
    );
    let values = &record(&gitops, NAME)["spec"]["values"];
    assert_eq!(values["replicas"]["value"], 5, "{values}");
    assert_ne!(values["replicas"]["source"], "preset:ha", "{values}");
    assert_eq!(values["log_level"]["value"], "warn", "{values}");
    assert_eq!(values["log_level"]["source"], "preset:ha", "{values}");
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[test]
fn an_unknown_installation_is_an_error_and_writes_nothing() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    let before = snapshot(&gitops);
    let out = upgrade(&env, &gitops, &["nope", "--to", "1.1.0"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["nope"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

// ---------------------------------------------------------------------------
// pctl sync
// ---------------------------------------------------------------------------

/// Editing `.pctl/values/global.yaml` re-renders every installation on `sync`
/// (same version, user edits kept) in one commit; a second sync does nothing.
#[test]
fn sync_rerenders_after_global_values_change() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    env.commit_file(
        &gitops,
        ".pctl/values/global.yaml",
        "message: Hello from global\n",
    );
    assert_success(&env.install(&gitops, &webstack(upstream(), "1.0.0"), NAME, &[]));
    let state = snapshot(&gitops);
    assert_success(&sync(&env, &gitops, &[]));
    assert_unchanged(&state, &snapshot(&gitops));

    edit(&gitops, DEPLOYMENT, "  replicas: 2\n", "  replicas: 5\n");
    commit_all(&env, &gitops, "web: five replicas");
    env.commit_file(
        &gitops,
        ".pctl/values/global.yaml",
        "message: Hello again\nlog_level: debug\n",
    );

    // --dry-run shows the change and writes nothing.
    let state = snapshot(&gitops);
    let out = sync(&env, &gitops, &["--dry-run"]);
    assert_success(&out);
    assert_unchanged(&state, &snapshot(&gitops));
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with('+') && l.contains("Hello again")),
        "{}",
        describe(&out)
    );

    let before = head(&gitops);
    let out = sync(&env, &gitops, &[]);
    assert_success(&out);
    assert_eq!(git(&gitops, &["rev-parse", "HEAD~1"]), before);
    assert!(
        head_subject(&gitops).starts_with("pctl: sync"),
        "{}",
        head_subject(&gitops)
    );
    assert!(is_clean(&gitops));
    let d = deployment(&gitops);
    assert_eq!(env_var(&d, "PODINFO_UI_MESSAGE"), "Hello again");
    assert!(
        container(&d)["command"]
            .as_array()
            .unwrap()
            .contains(&json!("--level=debug")),
        "{d}"
    );
    assert_eq!(d["spec"]["replicas"], 5, "the user's edit was lost");
    assert_eq!(
        container(&d)["image"],
        "ghcr.io/stefanprodan/podinfo:6.7.0",
        "sync must not change the version"
    );
    let rec = record(&gitops, NAME);
    assert_eq!(rec["spec"]["source"]["version"], "1.0.0");
    assert_eq!(rec["spec"]["values"]["message"]["value"], "Hello again");
    assert_eq!(rec["spec"]["values"]["message"]["source"], "global");
    flux_dry_run(&gitops);

    let state = snapshot(&gitops);
    assert_success(&sync(&env, &gitops, &[]));
    assert_unchanged(&state, &snapshot(&gitops));
}

/// A value change that meets a user edit of the same field stops `sync` like an
/// upgrade (exit 3, markers, no commit); `pctl upgrade --continue` finishes it.
#[test]
fn sync_stops_on_a_conflict_and_continue_finishes_it() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &webstack(upstream(), "1.0.0"), NAME, &[]));
    edit(&gitops, DEPLOYMENT, "  replicas: 2\n", "  replicas: 5\n");
    commit_all(&env, &gitops, "web: five replicas");
    env.commit_file(&gitops, ".pctl/values/global.yaml", "replicas: 3\n");
    let before = head(&gitops);

    let out = sync(&env, &gitops, &[]);
    assert_conflict(&out, &gitops, &before, &[DEPLOYMENT]);
    let blocks = conflict_blocks(&read(&gitops, DEPLOYMENT));
    assert_eq!(blocks.len(), 1);
    assert!(blocks[0].0.contains("replicas: 5") && blocks[0].1.contains("replicas: 3"));

    let resolved = resolve(&read(&gitops, DEPLOYMENT), Side::Theirs);
    std::fs::write(file_of(&gitops, NAME, DEPLOYMENT), resolved).unwrap();
    let out = upgrade(&env, &gitops, &["--continue"]);
    assert_success(&out);
    assert_eq!(git(&gitops, &["rev-parse", "HEAD~1"]), before);
    assert!(head_subject(&gitops).starts_with("pctl: sync"));
    assert!(is_clean(&gitops));
    assert_eq!(deployment(&gitops)["spec"]["replicas"], 3);
    let v = &record(&gitops, NAME)["spec"]["values"]["replicas"];
    assert_eq!(v["value"], 3);
    assert_eq!(v["source"], "global");
    flux_dry_run(&gitops);
}

/// Editing a value profile re-renders only the installations that use it.
#[test]
fn sync_rerenders_only_installations_using_an_edited_value_profile() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    env.commit_file(&gitops, ".pctl/values/team.yaml", "replicas: 3\n");
    let src = webstack(upstream(), "1.0.0");
    assert_success(&env.install(&gitops, &src, NAME, &["--values-profile", "team"]));
    assert_success(&env.install(&gitops, &src, "other", &[]));
    assert_eq!(deployment(&gitops)["spec"]["replicas"], 3);

    env.commit_file(&gitops, ".pctl/values/team.yaml", "replicas: 4\n");
    let before = head(&gitops);
    let other_files = repo_files_at(&gitops, "HEAD", &format!("{INSTALL_PATH}/other"));
    let out = sync(&env, &gitops, &[]);
    assert_success(&out);
    assert_eq!(git(&gitops, &["rev-parse", "HEAD~1"]), before);
    assert!(head_subject(&gitops).starts_with("pctl: sync"));
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(
            f.starts_with(&format!("{INSTALL_PATH}/{NAME}/")),
            "sync touched {f}"
        );
    }
    assert_eq!(deployment(&gitops)["spec"]["replicas"], 4);
    assert_eq!(deployment_of(&gitops, "other")["spec"]["replicas"], 2);
    assert_eq!(
        repo_files_at(&gitops, "HEAD", &format!("{INSTALL_PATH}/other")),
        other_files
    );
    let v = &record(&gitops, NAME)["spec"]["values"]["replicas"];
    assert_eq!(v["value"], 4);
    assert_eq!(v["source"], "values-profile:team");
    flux_dry_run(&gitops);
}
