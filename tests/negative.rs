//! Inputs pctl must refuse: exit 1, `error: ...` on stderr naming the file and
//! the problem, nothing on stdout, and the GitOps repository exactly as it was.
mod common;

use common::*;

/// Installs `fixtures/repos/bad/<dir>` (on main) into a fresh GitOps
/// repository and checks the refusal. `needles` must all appear in stderr
/// (case-insensitive); `any_of`, when not empty, must have one hit.
fn refused(dir: &str, needles: &[&str], any_of: &[&str]) {
    let bad = shared_repo("bad");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let src = bad.source(dir, None);
    let out = env.install(&gitops, &src, "x", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, needles);
    if !any_of.is_empty() {
        assert_stderr_mentions_any(&out, any_of);
    }
    assert_unchanged(&before, &snapshot(&gitops));
    // render reads the same definition and refuses it the same way
    let out = env.pctl(["render", &src, "--name", "x"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, needles);
    // and the cache did not turn the error into something else on a second run
    let out = env.install(&gitops, &src, "x", &[]);
    assert_error(&out, 1);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn nesting_cycle_of_a_profile_with_itself_is_refused_with_the_chain() {
    refused("cycle-self", &["cycle", "cycle-self"], &[]);
}

#[test]
fn nesting_cycle_of_two_profiles_is_refused_with_the_chain() {
    refused("cycle-a", &["cycle", "cycle-a", "cycle-b"], &[]);
}

#[test]
fn nesting_cycle_of_three_profiles_is_refused_with_the_chain() {
    refused("cycle-x", &["cycle", "cycle-x", "cycle-y", "cycle-z"], &[]);
}

#[test]
fn chart_with_both_url_and_path_is_refused() {
    refused(
        "chart-url-and-path",
        &["chart-url-and-path/profile.yaml", "url", "path"],
        &[],
    );
}

#[test]
fn depends_on_a_missing_artifact_is_refused() {
    refused(
        "missing-dependency",
        &["missing-dependency/profile.yaml", "database"],
        &[],
    );
}

#[test]
fn path_escaping_the_repository_with_dotdot_is_refused() {
    refused(
        "path-escape-dotdot",
        &["path-escape-dotdot/profile.yaml", "../../.."],
        &["outside", "escape", "leaves"],
    );
}

#[test]
fn path_escaping_the_repository_through_a_symlinked_directory_is_refused() {
    refused(
        "path-escape-symlink",
        &["manifests"],
        &["symlink", "outside", "escape", "leaves"],
    );
}

#[test]
fn symlinked_file_pointing_outside_the_repository_is_refused() {
    refused(
        "path-escape-symlink-file",
        &["passwd.yaml"],
        &["symlink", "outside", "escape", "leaves"],
    );
}

#[test]
fn malformed_yaml_is_refused_naming_the_file() {
    refused(
        "malformed-yaml",
        &["malformed-yaml/profile.yaml"],
        &["line", "yaml", "parse"],
    );
}

#[test]
fn unknown_artifact_kind_is_refused() {
    refused(
        "unknown-artifact-kind",
        &["unknown-artifact-kind/profile.yaml", "helmChart"],
        &[],
    );
}

#[test]
fn unknown_field_is_refused_with_a_did_you_mean_hint() {
    refused(
        "unknown-field",
        &[
            "unknown-field/profile.yaml",
            "chrat",
            "did you mean",
            "chart",
        ],
        &[],
    );
}

#[test]
fn duplicate_artifact_names_are_refused() {
    refused(
        "duplicate-names",
        &["duplicate-names/profile.yaml", "duplicate", "nginx"],
        &[],
    );
}

#[test]
fn nested_profile_that_does_not_exist_is_refused() {
    refused("nested-missing-path", &["does-not-exist"], &[]);
}

#[test]
fn errors_inside_a_nested_profile_name_the_nested_file() {
    refused(
        "nested-invalid",
        &["unknown-field/profile.yaml", "chrat"],
        &[],
    );
}

// --- bad sources, names and repositories -------------------------------------

fn refused_install(source: &str, name: &str, needles: &[&str]) {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let out = env.install(&gitops, source, name, &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, needles);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn unknown_tag_is_refused() {
    refused_install(
        &shared_repo("platform").source("nginx", Some("nginx/v9.9.9")),
        "x",
        &["nginx/v9.9.9"],
    );
}

#[test]
fn constraint_matching_no_version_is_refused_and_names_the_available_ones() {
    refused_install(
        &shared_repo("platform").source("nginx", Some("^9")),
        "x",
        &["^9", "1.1.0"],
    );
}

#[test]
fn missing_profile_directory_is_refused() {
    refused_install(
        &shared_repo("platform").source("no-such-profile", None),
        "x",
        &["no-such-profile"],
    );
}

#[test]
fn missing_upstream_repository_is_refused() {
    let env = Env::new();
    let missing = format!("file://{}", env.path("nowhere").display());
    refused_install(&source_url(&missing, "nginx", None), "x", &["nowhere"]);
}

#[test]
fn invalid_installation_name_is_refused() {
    refused_install(
        &shared_repo("platform").source("nginx", None),
        "Bad_Name",
        &["Bad_Name"],
    );
}

#[test]
fn an_existing_installation_name_is_refused() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "web", &[]));
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &platform.source("podinfo", None), "web", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["web"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn install_into_a_repository_without_pctl_init_is_refused_with_a_hint() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let repo = env.path("plain");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "plain\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "plain"]);
    let before = snapshot(&repo);
    let out = env.install(&repo, &platform.source("nginx", None), "x", &[]);
    assert_error(&out, 1);
    assert!(
        stderr(&out)
            .lines()
            .any(|l| l.starts_with("hint: ") && l.contains("pctl init")),
        "{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&repo));
}

#[test]
fn install_outside_any_git_repository_without_repo_is_refused() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let out = env.pctl(["install", &platform.source("nginx", None), "--name", "x"]);
    assert_error(&out, 1);
    assert!(walk(&env.work).is_empty());
}

#[test]
fn usage_errors_exit_1_not_2() {
    let env = Env::new();
    // exit 2 is reserved for internal errors; a bad command line is the user's
    let out = env.pctl(["install"]);
    assert_exit(&out, 1);
    let out = env.pctl(["no-such-command"]);
    assert_exit(&out, 1);
    let out = env.pctl(["list", "-o", "xml"]);
    assert_exit(&out, 1);
}

#[test]
fn uninstall_of_an_unknown_installation_is_refused() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let out = env.pctl([
        "uninstall",
        "ghost",
        "--repo",
        &gitops.display().to_string(),
    ]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["ghost"]);
    assert_unchanged(&before, &snapshot(&gitops));
}
