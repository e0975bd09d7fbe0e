//! Inputs pctl must refuse: exit 1, `error: ...` on stderr naming the file and
//! the problem, nothing on stdout, and the GitOps repository exactly as it was.

use crate::common::*;

/// Installs `fixtures/repos/bad/<dir>` (on main) into a fresh GitOps
/// repository and checks the refusal: exit 1, stderr names `file` (the profile
/// definition at fault) and states every `reason` (exact, case-sensitive text),
/// and the GitOps repository is unchanged. A reason may not be part of the source
/// URL, so that it cannot pass merely because the message names the file.
fn refused(dir: &str, file: &str, reasons: &[&str]) {
    let bad = shared_repo("bad");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let src = bad.source(dir, None);
    for reason in reasons {
        assert!(
            !src.contains(reason) && !file.contains(reason),
            "the reason {reason:?} is part of the input's name, so it proves nothing"
        );
    }
    let out = env.install(&gitops, &src, "x", &[]);
    assert_error(&out, 1);
    assert_reasons(&out, file, reasons);
    assert_unchanged(&before, &snapshot(&gitops));
    // render reads the same definition and refuses it the same way
    let out = env.pctl(["render", &src, "--name", "x"]);
    assert_error(&out, 1);
    assert_reasons(&out, file, reasons);
    // and the cache did not turn the error into something else on a second run
    let out = env.install(&gitops, &src, "x", &[]);
    assert_error(&out, 1);
    assert_reasons(&out, file, reasons);
    assert_unchanged(&before, &snapshot(&gitops));
}

fn assert_reasons(out: &std::process::Output, file: &str, reasons: &[&str]) {
    let err = stderr(out);
    assert!(
        err.contains(file),
        "stderr does not name {file}:\n{}",
        describe(out)
    );
    for reason in reasons {
        assert!(
            err.contains(reason),
            "stderr does not say {reason:?}:\n{}",
            describe(out)
        );
    }
}

/// The chain of a nesting-cycle error's first line: the profile names in order.
fn cycle_chain(out: &std::process::Output) -> Vec<String> {
    let err = stderr(out);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("error: nesting cycle: "))
        .unwrap_or_else(|| panic!("no nesting-cycle error:\n{}", describe(out)));
    line.split(" -> ")
        .map(|p| p.split(" (").next().unwrap_or_default().to_string())
        .collect()
}

fn refused_cycle(dir: &str, chain: &[&str]) {
    refused(
        dir,
        &format!("{dir}/profile.yaml"),
        &["a profile may not include itself"],
    );
    let bad = shared_repo("bad");
    let env = Env::new();
    let out = env.pctl(["render", &bad.source(dir, None), "--name", "x"]);
    assert_error(&out, 1);
    assert_eq!(cycle_chain(&out), chain, "{}", describe(&out));
}

#[test]
fn nesting_cycle_of_a_profile_with_itself_is_refused_with_the_chain() {
    refused_cycle("cycle-self", &["cycle-self", "cycle-self"]);
}

#[test]
fn nesting_cycle_of_two_profiles_is_refused_with_the_chain() {
    refused_cycle("cycle-a", &["cycle-a", "cycle-b", "cycle-a"]);
}

#[test]
fn nesting_cycle_of_three_profiles_is_refused_with_the_chain() {
    refused_cycle("cycle-x", &["cycle-x", "cycle-y", "cycle-z", "cycle-x"]);
}

#[test]
fn chart_with_both_url_and_path_is_refused() {
    refused(
        "chart-url-and-path",
        "chart-url-and-path/profile.yaml",
        &["artifact \"nginx\": chart has both `path` and `url`"],
    );
}

#[test]
fn depends_on_a_missing_artifact_is_refused() {
    refused(
        "missing-dependency",
        "missing-dependency/profile.yaml",
        &[
            "artifact \"nginx\" depends on \"database\", which is not an artifact of this profile",
            "hint: dependsOn names an artifact of the same profile: settings, nginx",
        ],
    );
}

#[test]
fn path_escaping_the_repository_with_dotdot_is_refused() {
    refused(
        "path-escape-dotdot",
        "path-escape-dotdot/profile.yaml",
        &["artifact \"host-files\": path \"../../..\" leaves the repository"],
    );
}

#[test]
fn path_escaping_the_repository_through_a_symlinked_directory_is_refused() {
    refused(
        "path-escape-symlink",
        "path-escape-symlink/profile.yaml",
        &["symlink path-escape-symlink/manifests points outside the repository"],
    );
}

#[test]
fn symlinked_file_pointing_outside_the_repository_is_refused() {
    refused(
        "path-escape-symlink-file",
        "path-escape-symlink-file/profile.yaml",
        &["points outside the repository (to /etc/passwd)"],
    );
}

#[test]
fn malformed_yaml_is_refused_naming_the_file() {
    refused(
        "malformed-yaml",
        "malformed-yaml/profile.yaml",
        &["line 8 column 12: "],
    );
}

#[test]
fn unknown_artifact_kind_is_refused() {
    refused(
        "unknown-artifact-kind",
        "unknown-artifact-kind/profile.yaml",
        &["line 10 column 7: unknown field `helmChart`"],
    );
}

#[test]
fn unknown_field_is_refused_with_a_did_you_mean_hint() {
    refused(
        "unknown-field",
        "unknown-field/profile.yaml",
        &[
            "line 10 column 7: unknown field `chrat`",
            "hint: did you mean `chart`?",
        ],
    );
}

#[test]
fn duplicate_artifact_names_are_refused() {
    refused(
        "duplicate-names",
        "duplicate-names/profile.yaml",
        &["artifact name \"nginx\" is used twice"],
    );
}

#[test]
fn nested_profile_that_does_not_exist_is_refused() {
    refused(
        "nested-missing-path",
        "does-not-exist/profile.yaml",
        &[" does not exist\n", "profile chain: nested-missing-path ("],
    );
}

#[test]
fn errors_inside_a_nested_profile_name_the_nested_file() {
    refused(
        "nested-invalid",
        "unknown-field/profile.yaml",
        &["unknown field `chrat`", "profile chain: nested-invalid ("],
    );
}

// --- bad sources, names and repositories -------------------------------------

/// Key refusals are checked word for word (`Case::stderr_is`): exit 1, the whole
/// message and hint, and nothing written.
fn refused_install(source: &str, name: &str, stderr: &str) {
    Case::new()
        .gitops()
        .install(source, name)
        .expect_exit(1)
        .stderr_is(stderr)
        .stdout_is("")
        .writes_nothing()
        .run();
}

#[test]
fn unknown_tag_is_refused() {
    refused_install(
        &shared_repo("platform").source("nginx", Some("nginx/v9.9.9")),
        "x",
        "error: file://[FIXTURES]/platform: nothing matches \"nginx/v9.9.9\" for nginx (no such tag, branch, commit or matching stable version)
hint: available versions: nginx/v1.3.0, nginx/v1.2.0-rc.1, nginx/v1.1.0, nginx/v1.0.0
",
    );
}

#[test]
fn constraint_matching_no_version_is_refused_and_names_the_available_ones() {
    refused_install(
        &shared_repo("platform").source("nginx", Some("^9")),
        "x",
        "error: file://[FIXTURES]/platform: nothing matches \"^9\" for nginx (no such tag, branch, commit or matching stable version)
hint: available versions: nginx/v1.3.0, nginx/v1.2.0-rc.1, nginx/v1.1.0, nginx/v1.0.0
",
    );
}

#[test]
fn missing_profile_directory_is_refused() {
    refused_install(
        &shared_repo("platform").source("no-such-profile", None),
        "x",
        "error: file://[FIXTURES]/platform//no-such-profile/profile.yaml@main: no-such-profile does not exist
hint: point at the directory that holds profile.yaml (URL//DIR)
",
    );
}

#[test]
fn missing_upstream_repository_is_refused() {
    let case = Case::new().gitops();
    let missing = format!("file://{}", case.env.path("nowhere").display());
    let ran = case
        .install(&source_url(&missing, "nginx", None), "x")
        .expect_exit(1)
        .stderr_has("error: cannot fetch file://[ROOT]/nowhere: there is no Git repository at file://[ROOT]/nowhere")
        .stderr_has("hint: check the path; a local repository is given as a directory or a file:// URL")
        .writes_nothing()
        .run();
    assert!(ran.output.stdout.is_empty());
    assert!(!ran.env.path("nowhere").exists(), "nothing was created");
}

#[test]
fn invalid_installation_name_is_refused() {
    refused_install(
        &shared_repo("platform").source("nginx", None),
        "Bad_Name",
        "error: --name \"Bad_Name\" is not a DNS-1123 label
hint: use lower-case letters, digits and '-', at most 63 characters
",
    );
}

#[test]
fn an_existing_installation_name_is_refused() {
    let platform = shared_repo("platform");
    Case::new()
        .gitops()
        .install(&platform.source("nginx", None), "web")
        .run()
        .next()
        .install(&platform.source("podinfo", None), "web")
        .expect_exit(1)
        .stderr_is(
            "error: an installation named \"web\" already exists at clusters/default/profiles/web
hint: choose another --name, or change the one there with `pctl upgrade web` or `pctl uninstall web`
",
        )
        .stdout_is("")
        .writes_nothing()
        .run();
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
    assert_reasons(
        &out,
        ". is not inside a Git repository",
        &["hint: run `pctl init DIR` to create a GitOps repository, or pass --repo DIR"],
    );
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
    assert_reasons(
        &out,
        "\"ghost\"",
        &[
            "no installation named",
            "hint: `pctl list` shows installations",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}
