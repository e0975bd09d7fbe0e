//! `upgrade --all` over installations of which one has a local edit: an installation
//! whose files are byte for byte what was installed (none edited, or an edit
//! committed and reverted) takes the target's files exactly as a fresh install of the
//! target writes them, while the edited one is still merged three ways (its edit kept,
//! or a conflict with markers).
use super::*;
use std::collections::BTreeMap;

/// Installs `webstack@^1.0` as `a`, `b` and `c` while only 1.0.0 is published, then
/// publishes the later versions (the newest 1.x is 1.2.0).
fn three_behind() -> (TempRepo, Env, PathBuf) {
    let repo = build_repo("upgrade");
    let saved = hide_later_versions(&repo);
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    for name in ["a", "b", "c"] {
        assert_success(&env.install(&gitops, &webstack(&repo, "^1.0"), name, &[]));
    }
    restore_tags(&repo, &saved);
    (repo, env, gitops)
}

/// `c` edited and the edit reverted in a later commit: its files are the installed
/// bytes again, with edits in the history.
fn edit_and_revert_c(env: &Env, gitops: &Path) {
    let p = file_of(gitops, "c", DEPLOYMENT);
    let original = std::fs::read(&p).unwrap();
    edit_path(&p, "  replicas: 2\n", "  replicas: 7\n");
    commit_all(env, gitops, "c: seven replicas");
    std::fs::write(&p, original).unwrap();
    commit_all(env, gitops, "c: back to two replicas");
}

/// The files (all but the record) a fresh install of `webstack@^1.0` (now 1.2.0) as
/// `name` writes into an empty GitOps repository.
fn fresh(repo: &TempRepo, name: &str) -> BTreeMap<String, Vec<u8>> {
    let env = Env::new();
    let gitops = env.init_gitops("fresh");
    assert_success(&env.install(&gitops, &webstack(repo, "^1.0"), name, &[]));
    files_but_record(&gitops, name)
}

fn files_but_record(gitops: &Path, name: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = repo_files_at(gitops, "HEAD", &format!("{INSTALL_PATH}/{name}"));
    assert!(files.remove("profile-installation.yaml").is_some());
    files
}

/// The work tree's files of installation `name` (all but the record).
fn worktree_but_record(gitops: &Path, name: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = install_dir(gitops, name);
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&dir).unwrap().to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(out.remove("profile-installation.yaml").is_some());
    out
}

fn drift(env: &Env, gitops: &Path, name: &str) -> Value {
    let st = env.pctl(["status", name, "--repo", &arg(gitops), "-o", "json"]);
    assert_success(&st);
    let st: Value = serde_json::from_slice(&st.stdout).unwrap();
    st["drift"].clone()
}

/// One installation edited among unedited ones (and one edited and reverted): the
/// edit survives the merge with upstream's changes, the others are the target as a
/// fresh install writes it, and their records say so.
#[test]
fn upgrade_all_merges_the_edited_installation_and_takes_theirs_for_the_others() {
    let (repo, env, gitops) = three_behind();
    edit_path(
        &file_of(&gitops, "b", DEPLOYMENT),
        "  replicas: 2\n",
        "  replicas: 5\n",
    );
    commit_all(&env, &gitops, "b: five replicas");
    edit_and_revert_c(&env, &gitops);
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &["--all"]);
    assert_success(&out);
    assert!(is_clean(&gitops));
    assert_eq!(
        git(
            &gitops,
            &["rev-list", "--count", &format!("{before}..HEAD")]
        ),
        "1"
    );
    for name in ["a", "b", "c"] {
        assert_eq!(
            record(&gitops, name)["spec"]["source"]["version"],
            "1.2.0",
            "{name}"
        );
    }
    for name in ["a", "c"] {
        assert_eq!(
            files_but_record(&gitops, name),
            fresh(&repo, name),
            "{name} was not edited: it must be the target as installed afresh"
        );
        let d = drift(&env, &gitops, name);
        assert_eq!(d["modified"], json!([]), "{name}: {d}");
        assert_eq!(d["added"], json!([]), "{name}: {d}");
        assert_eq!(d["removed"], json!([]), "{name}: {d}");
    }
    let b = deployment_of(&gitops, "b");
    assert_eq!(b["spec"]["replicas"], 5, "b's edit was lost");
    assert_eq!(container(&b)["resources"]["limits"]["memory"], "256Mi");
    assert_eq!(
        container(&b)["image"],
        container(&deployment_of(&gitops, "a"))["image"],
        "b did not take upstream's image"
    );
    assert_eq!(drift(&env, &gitops, "b")["modified"], json!([DEPLOYMENT]));
    for name in ["a", "b", "c"] {
        assert_no_markers(&gitops, name);
        check_installation(&gitops, name);
    }
    flux_dry_run(&gitops);
}

/// The edited installation's edit conflicts with upstream's change: `--all` stops
/// (exit 3) with markers in that file only, and the unedited installations' files in
/// the work tree are the target as a fresh install writes it.
#[test]
fn upgrade_all_stops_on_the_edited_installations_conflict_only() {
    let (repo, env, gitops) = three_behind();
    edit_path(
        &file_of(&gitops, "b", DEPLOYMENT),
        "            limits:\n              memory: 128Mi\n",
        "            limits:\n              memory: 512Mi\n",
    );
    commit_all(&env, &gitops, "b: more memory");
    edit_and_revert_c(&env, &gitops);
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &["--all"]);
    assert_exit(&out, 3);
    assert_eq!(head(&gitops), before, "nothing may be committed");
    let b = file_of(&gitops, "b", DEPLOYMENT);
    assert_stderr_mentions(&out, &[&format!("{INSTALL_PATH}/b/{DEPLOYMENT}")]);
    let text = std::fs::read_to_string(&b).unwrap();
    let blocks = conflict_blocks(&text);
    assert_eq!(blocks.len(), 1, "one conflict block expected:\n{text}");
    let (ours, theirs) = &blocks[0];
    assert!(ours.contains("512Mi") && !ours.contains("256Mi"), "{text}");
    assert!(
        theirs.contains("256Mi") && !theirs.contains("512Mi"),
        "{text}"
    );
    for name in ["a", "c"] {
        assert_no_markers(&gitops, name);
        assert_eq!(
            worktree_but_record(&gitops, name),
            fresh(&repo, name),
            "{name} was not edited: its merge is the target as installed afresh"
        );
    }
    let out = upgrade(&env, &gitops, &["--abort"]);
    assert_success(&out);
    assert_eq!(head(&gitops), before);
    assert!(is_clean(&gitops));
}
