//! `pctl lint DIR`: every problem of a profile directory at once, each as
//! `FILE:LINE: severity: message`, exit 1 when one is an error. Driven over the
//! negative fixtures of `fixtures/repos/bad` (real Git repositories), the lint
//! fixtures of `fixtures/lint` (copied into the sandbox, outside Git) and every good
//! fixture profile (no false alarm).

use crate::common::*;
use std::path::Path;

/// Runs `pctl lint DIR` from `cwd`.
fn lint_in(env: &Env, cwd: &Path, dir: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["lint", dir];
    args.extend(extra);
    env.pctl_in(cwd, &args)
}

/// The finding lines (`FILE:LINE: severity: message`) of a table output.
fn findings(out: &std::process::Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| !l.starts_with("  hint: "))
        .map(str::to_string)
        .collect()
}

/// There is a finding at `file:line` of `severity` whose message contains every needle.
#[track_caller]
fn assert_finding(
    out: &std::process::Output,
    file: &str,
    line: usize,
    severity: &str,
    needles: &[&str],
) {
    let prefix = format!("{file}:{line}: {severity}: ");
    let found = findings(out).into_iter().any(|l| {
        l.starts_with(&prefix)
            && needles
                .iter()
                .all(|n| l.to_lowercase().contains(&n.to_lowercase()))
    });
    assert!(
        found,
        "no `{prefix}…` finding with {needles:?}\n{}",
        describe(out)
    );
}

/// Lint fails: exit 1, the findings on stdout, an `error: lint failed` line on stderr.
#[track_caller]
fn assert_lint_fails(out: &std::process::Output) {
    assert_exit(out, 1);
    assert!(
        stderr(out)
            .lines()
            .any(|l| l.starts_with("error: lint failed: ")),
        "{}",
        describe(out)
    );
}

// --- the negative fixtures of the install work --------------------------------

/// `pctl lint DIR` over `fixtures/repos/bad/<dir>`, run from the repository root so
/// that files read `<dir>/profile.yaml`.
fn lint_bad(dir: &str, line: usize, needles: &[&str]) {
    let bad = shared_repo("bad");
    let env = Env::new();
    let before = snapshot(bad.path());
    let out = lint_in(&env, bad.path(), dir, &[]);
    assert_lint_fails(&out);
    assert_finding(&out, &format!("{dir}/profile.yaml"), line, "error", needles);
    assert_unchanged(&before, &snapshot(bad.path()));
}

#[test]
fn bad_chart_with_url_and_path() {
    lint_bad(
        "chart-url-and-path",
        10,
        &["artifact \"nginx\"", "both `path` and `url`"],
    );
}

#[test]
fn bad_nesting_cycle_with_itself() {
    lint_bad(
        "cycle-self",
        11,
        &["artifact \"myself\"", "nesting cycle", "cycle-self", "->"],
    );
}

#[test]
fn bad_nesting_cycle_of_two() {
    lint_bad("cycle-a", 14, &["nesting cycle", "cycle-a", "cycle-b"]);
}

#[test]
fn bad_nesting_cycle_of_three() {
    lint_bad(
        "cycle-x",
        14,
        &["nesting cycle", "cycle-x", "cycle-y", "cycle-z"],
    );
}

#[test]
fn bad_duplicate_artifact_names() {
    lint_bad(
        "duplicate-names",
        14,
        &["artifact name \"nginx\" is used twice (first at line 9)"],
    );
}

#[test]
fn bad_malformed_yaml() {
    // serde-saphyr stops where the unclosed flow sequence of line 7 meets the `:` of
    // line 8; nothing else is checked then.
    lint_bad("malformed-yaml", 8, &["invalid YAML", "':'"]);
    let bad = shared_repo("bad");
    let out = lint_in(&Env::new(), bad.path(), "malformed-yaml", &[]);
    let errors: Vec<String> = findings(&out)
        .into_iter()
        .filter(|l| l.contains(": error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", describe(&out));
}

#[test]
fn bad_missing_dependency() {
    lint_bad(
        "missing-dependency",
        19,
        &[
            "artifact \"nginx\" depends on \"database\"",
            "not an artifact",
        ],
    );
}

#[test]
fn bad_nested_profile_with_an_error_names_the_nested_file() {
    lint_bad(
        "nested-invalid",
        11,
        &["artifact \"typo\"", "unknown-field/profile.yaml", "chrat"],
    );
}

#[test]
fn bad_nested_profile_that_does_not_exist() {
    lint_bad(
        "nested-missing-path",
        11,
        &["artifact \"storage\"", "does-not-exist"],
    );
}

#[test]
fn bad_path_escaping_with_dotdot() {
    lint_bad(
        "path-escape-dotdot",
        11,
        &[
            "artifact \"host-files\"",
            "../../..",
            "leaves the repository",
        ],
    );
}

#[test]
fn bad_path_escaping_through_a_symlinked_directory() {
    lint_bad(
        "path-escape-symlink",
        11,
        &[
            "artifact \"host-files\"",
            "manifests",
            "outside the repository",
        ],
    );
}

#[test]
fn bad_symlinked_file_pointing_outside() {
    lint_bad(
        "path-escape-symlink-file",
        11,
        &[
            "artifact \"config\"",
            "passwd.yaml",
            "outside the repository",
        ],
    );
}

#[test]
fn bad_unknown_artifact_kind() {
    lint_bad(
        "unknown-artifact-kind",
        10,
        &["unknown field `helmChart` in artifact \"nginx\""],
    );
}

#[test]
fn bad_unknown_field_with_did_you_mean() {
    let bad = shared_repo("bad");
    let env = Env::new();
    let out = lint_in(&env, bad.path(), "unknown-field", &[]);
    assert_lint_fails(&out);
    assert_finding(
        &out,
        "unknown-field/profile.yaml",
        10,
        "error",
        &["unknown field `chrat` in artifact \"nginx\""],
    );
    let text = stdout(&out);
    let at = text
        .find("unknown-field/profile.yaml:10: error: unknown field `chrat`")
        .unwrap();
    assert!(
        text[at..]
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("  hint: did you mean `chart`?"),
        "{text}"
    );
}

/// Every profile of the `bad` repository fails, each with at least one finding that
/// names its file and a line.
#[test]
fn every_bad_fixture_is_found() {
    let bad = shared_repo("bad");
    let env = Env::new();
    for dir in profile_dirs(bad.path()) {
        let out = lint_in(&env, bad.path(), &dir, &[]);
        assert_lint_fails(&out);
        let prefix = format!("{dir}/profile.yaml:");
        assert!(
            findings(&out)
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(": error: ")),
            "{dir}\n{}",
            describe(&out)
        );
    }
}

// --- the other refusals of tests/it/negative.rs -------------------------------------

#[test]
fn a_missing_directory_or_profile_yaml_is_an_error_not_a_finding() {
    let env = Env::new();
    let out = env.pctl(["lint", "no-such-dir"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["no-such-dir", "does not exist"]);
    std::fs::create_dir_all(env.work.join("empty")).unwrap();
    let out = env.pctl(["lint", "empty"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["empty/profile.yaml"]);
}

#[test]
fn nested_references_to_unknown_tags_and_versions_are_found() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let dir = env.work.join("refs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("profile.yaml"),
        format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: refs\nspec:\n  artifacts:\n    - name: old\n      profile:\n        source:\n          url: {url}\n          tag: nginx/v9.9.9\n    - name: future\n      profile:\n        source:\n          url: {url}\n          path: nginx\n          version: \"^9\"\n    - name: fine\n      profile:\n        source:\n          url: {url}\n          tag: nginx/v1.0.0\n",
            url = platform.url()
        ),
    )
    .unwrap();
    let out = env.pctl(["lint", "refs"]);
    assert_lint_fails(&out);
    assert_finding(
        &out,
        "refs/profile.yaml",
        9,
        "error",
        &["artifact \"old\"", "nginx/v9.9.9"],
    );
    assert_finding(
        &out,
        "refs/profile.yaml",
        14,
        "error",
        &["artifact \"future\"", "^9"],
    );
    // The good nested profile was still rendered and checked: nothing about it.
    assert!(!stdout(&out).contains("\"fine\""), "{}", describe(&out));
}

// --- fixtures/lint -----------------------------------------------------------------

/// Copies `fixtures/lint/<name>` into the sandbox's work directory.
fn lint_fixture(env: &Env, name: &str) {
    copy_tree(
        &fixtures_dir().join("lint").join(name),
        &env.work.join(name),
    );
}

#[test]
fn parameters_and_presets_are_all_checked() {
    let env = Env::new();
    lint_fixture(&env, "params");
    let out = env.pctl(["lint", "params"]);
    assert_lint_fails(&out);
    let f = "params/profile.yaml";
    assert_finding(
        &out,
        f,
        9,
        "error",
        &["parameter \"replicas\": default expected an integer"],
    );
    assert_finding(
        &out,
        f,
        11,
        "error",
        &["parameter \"size\" is an enum without `enum` values"],
    );
    assert_finding(
        &out,
        f,
        15,
        "error",
        &["parameter \"tier\": default expected one of gold, silver"],
    );
    assert_finding(
        &out,
        f,
        18,
        "error",
        &["pattern \"[a-z\" is not a valid regular expression"],
    );
    assert_finding(&out, f, 21, "error", &["minimum 5 is above maximum 1"]);
    assert_finding(
        &out,
        f,
        23,
        "error",
        &["parameter \"replicas\" is declared twice (first at line 7)"],
    );
    assert_finding(
        &out,
        f,
        26,
        "error",
        &["parameter \"mode\" has unknown type \"strng\""],
    );
    assert_finding(
        &out,
        f,
        28,
        "error",
        &["preset \"big\" sets \"sizes\", which is not a parameter"],
    );
    assert_finding(
        &out,
        f,
        29,
        "error",
        &["preset \"tiers\" sets parameter \"tier\": expected one of gold, silver"],
    );
    assert!(
        stdout(&out).contains("  hint: did you mean `size`?"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        findings(&out)
            .iter()
            .filter(|l| l.contains(": error: "))
            .count(),
        9,
        "{}",
        describe(&out)
    );
    // One finding per line, even for a multi-line regex error.
    for l in findings(&out) {
        assert!(l.starts_with("params/profile.yaml:"), "{l}");
    }
}

#[test]
fn templates_render_with_defaults_placeholders_and_each_preset() {
    let env = Env::new();
    lint_fixture(&env, "templates");
    let out = env.pctl(["lint", "templates"]);
    assert_lint_fails(&out);
    // An undefined variable in a templated file: that file and its line.
    assert_finding(
        &out,
        "templates/config/cm.yaml",
        7,
        "error",
        &["params.missing"],
    );
    // In defaultValues: the line inside profile.yaml (block starts at line 38).
    assert_finding(
        &out,
        "templates/profile.yaml",
        39,
        "error",
        &["artifact \"undefined-in-values\"", "params.nope"],
    );
    // Only the preset reaches this one: reported at the preset.
    assert_finding(
        &out,
        "templates/profile.yaml",
        15,
        "error",
        &["with preset \"large\"", "params.extra"],
    );
    // The required secret without a default got a placeholder, as info.
    assert_finding(
        &out,
        "templates/profile.yaml",
        11,
        "info",
        &["required parameter token has no default", "placeholder"],
    );
    assert_eq!(
        findings(&out)
            .iter()
            .filter(|l| l.contains(": error: "))
            .count(),
        3,
        "{}",
        describe(&out)
    );
}

#[test]
fn generated_flux_objects_are_checked_against_the_served_apis() {
    let env = Env::new();
    lint_fixture(&env, "flux");
    let out = env.pctl(["lint", "flux"]);
    assert_lint_fails(&out);
    assert_finding(
        &out,
        "flux/profile.yaml",
        7,
        "error",
        &[
            "HelmRelease helm.toolkit.fluxcd.io/v2beta1 is not served",
            "use helm.toolkit.fluxcd.io/v2",
        ],
    );
}

#[test]
fn unreachable_nested_repositories_and_bad_bindings_are_found() {
    let env = Env::new();
    lint_fixture(&env, "nested");
    let out = env.pctl(["lint", "nested"]);
    assert_lint_fails(&out);
    assert_finding(
        &out,
        "nested/profile.yaml",
        9,
        "error",
        &[
            "artifact \"unreachable\"",
            "cannot fetch",
            "nonexistent/pctl-lint",
        ],
    );
    assert_finding(
        &out,
        "nested/profile.yaml",
        17,
        "error",
        &[
            "`with` binds \"colour\"",
            "profile \"child\" does not declare",
        ],
    );
    assert!(
        stdout(&out).contains("  hint: did you mean `color`?"),
        "{}",
        describe(&out)
    );
}

#[test]
fn every_schema_problem_is_reported_at_once() {
    let env = Env::new();
    lint_fixture(&env, "schema");
    let out = env.pctl(["lint", "schema"]);
    assert_lint_fails(&out);
    let f = "schema/profile.yaml";
    assert_finding(&out, f, 6, "error", &["unknown field `descripton` in spec"]);
    assert_finding(&out, f, 7, "error", &["`keywords` of spec must be a list"]);
    assert_finding(
        &out,
        f,
        12,
        "error",
        &["unknown field `paht` in kustomize of artifact \"web\""],
    );
    assert_finding(
        &out,
        f,
        13,
        "error",
        &["`template` of artifact \"web\" must be true or false"],
    );
    assert_finding(
        &out,
        f,
        14,
        "error",
        &["unknown field `dependson` in artifact \"web\""],
    );
    assert_finding(&out, f, 18, "error", &["chart url \"charts.example.com\""]);
    assert_finding(&out, f, 20, "error", &["chart version \"latest\""]);
    let text = stdout(&out);
    assert!(
        text.contains("  hint: did you mean `description`?"),
        "{text}"
    );
    assert!(text.contains("  hint: did you mean `dependsOn`?"), "{text}");
}

#[test]
fn json_and_yaml_output_carry_every_finding() {
    let env = Env::new();
    lint_fixture(&env, "schema");
    let out = env.pctl(["lint", "schema", "-o", "json"]);
    assert_exit(&out, 1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["file"], "schema/profile.yaml");
    assert_eq!(v["errors"], 7);
    assert_eq!(v["warnings"], 0);
    // No `info` line first: the later checks ran despite the schema errors (and
    // found nothing more).
    let first = &v["findings"][0];
    assert_eq!(first["line"], 6);
    assert_eq!(first["severity"], "error");
    assert!(
        first["hint"]
            .as_str()
            .unwrap()
            .starts_with("did you mean `description`?")
    );
    let out = env.pctl(["lint", "schema", "-o", "yaml"]);
    assert_exit(&out, 1);
    let docs = yaml_docs_str(&stdout(&out));
    assert_eq!(docs[0]["findings"].as_array().unwrap().len(), 7);
}

// --- good profiles -------------------------------------------------------------------

#[test]
fn a_good_profile_passes_with_the_placeholder_as_info() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let out = lint_in(&env, repo.path(), "webapp", &[]);
    assert_success(&out);
    assert_eq!(
        findings(&out),
        vec![
            "webapp/profile.yaml:10: info: required parameter domain has no default: templates were rendered with the placeholder \"placeholder\"".to_string()
        ],
        "{}",
        describe(&out)
    );
    assert_stderr_mentions(&out, &["lint passed", "0 error(s), 0 warning(s)"]);
    let out = lint_in(&env, repo.path(), "webapp", &["-o", "json"]);
    assert_success(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["profile"].as_str(), v["errors"].as_u64()),
        (Some("webapp"), Some(0))
    );
}

#[test]
fn warnings_pass_unless_strict() {
    let env = Env::new();
    let dir = env.work.join("warn");
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(
        dir.join("profile.yaml"),
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: other\nspec:\n  parameters:\n    - name: unused\n      type: string\n      default: x\n  artifacts:\n    - name: config\n      kustomize:\n        path: config\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("config/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    )
    .unwrap();
    let out = env.pctl(["lint", "warn"]);
    assert_success(&out);
    assert_finding(
        &out,
        "warn/profile.yaml",
        4,
        "warning",
        &["differs from its directory \"warn\""],
    );
    assert_finding(
        &out,
        "warn/profile.yaml",
        7,
        "warning",
        &["parameter \"unused\" is not used by any template"],
    );
    let out = env.pctl(["lint", "warn", "--strict"]);
    assert_lint_fails(&out);
}

/// No false alarm: every profile of the fixture repositories that install accepts
/// lints without an error (leaky is the one that install refuses).
#[test]
fn every_good_fixture_profile_lints_without_errors() {
    let env = Env::new();
    env.map_addons(shared_repo("addons"));
    for name in ["platform", "addons", "params", "standalone", "authoring"] {
        let repo = shared_repo(name);
        let dirs = profile_dirs(repo.path())
            .into_iter()
            .map(|d| if d.is_empty() { ".".to_string() } else { d });
        for dir in dirs {
            let out = lint_in(&env, repo.path(), &dir, &[]);
            if name == "params" && dir == "leaky" {
                assert_lint_fails(&out);
                assert_finding(
                    &out,
                    "leaky/profile.yaml",
                    16,
                    "error",
                    &["a secret parameter is used outside a Kubernetes Secret"],
                );
                continue;
            }
            assert_success(&out);
            assert!(
                !stdout(&out).contains(": error: "),
                "{name}/{dir}\n{}",
                describe(&out)
            );
        }
    }
}

#[test]
fn the_legacy_schema_is_linted_with_a_warning() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let out = lint_in(&env, platform.path(), "legacy-nginx", &[]);
    assert_success(&out);
    assert_finding(
        &out,
        "legacy-nginx/profile.yaml",
        1,
        "warning",
        &["legacy schema"],
    );
}

#[test]
fn lint_writes_nothing() {
    let repo = build_repo("authoring");
    let env = Env::new();
    let before = snapshot(repo.path());
    let out = lint_in(&env, repo.path(), "webapp", &[]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(repo.path()));
    // Uncommitted work is linted as it is on disk.
    let p = repo.path().join("webapp/profile.yaml");
    let text = std::fs::read_to_string(&p).unwrap().replacen(
        "    - name: frontend\n",
        "    - name: frontend\n      chrat: {}\n",
        1,
    );
    std::fs::write(&p, text).unwrap();
    let out = lint_in(&env, repo.path(), "webapp", &[]);
    assert_lint_fails(&out);
    assert_finding(
        &out,
        "webapp/profile.yaml",
        31,
        "error",
        &["unknown field `chrat`"],
    );
}

/// A required parameter without a constraint, bound whole (`"{{ params.email }}"`) to
/// a nested profile's parameter with a pattern or an enum, gets a placeholder the
/// child accepts: every real value the child accepts would install, so lint (and
/// publish) pass. A literal binding the child refuses is still an error.
#[test]
fn placeholders_satisfy_the_constraints_they_flow_into() {
    let env = Env::new();
    lint_fixture(&env, "constraints");
    let out = env.pctl(["lint", "constraints"]);
    assert_success(&out);
    assert_eq!(
        findings(&out),
        vec![
            "constraints/profile.yaml:7: info: required parameter email has no default: templates were rendered with the placeholder \"user@example.com\"".to_string(),
            "constraints/profile.yaml:10: info: required parameter tier has no default: templates were rendered with the placeholder \"gold\"".to_string(),
        ],
        "{}",
        describe(&out)
    );
    let p = env.work.join("constraints/profile.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"{{ params.email }}\"", "not-an-email");
    std::fs::write(&p, text).unwrap();
    let out = env.pctl(["lint", "constraints"]);
    assert_lint_fails(&out);
    assert_finding(
        &out,
        "constraints/profile.yaml",
        13,
        "error",
        &["child.email", "\"not-an-email\" does not match the pattern"],
    );
}

/// A bad field does not hide the rest: a typo'd field, a path that does not exist and
/// template errors in a templated file and in `defaultValues` are all reported by
/// one run, each at its own line.
#[test]
fn a_schema_error_does_not_hide_paths_and_templates() {
    let env = Env::new();
    lint_fixture(&env, "all-at-once");
    let out = env.pctl(["lint", "all-at-once"]);
    assert_lint_fails(&out);
    let f = "all-at-once/profile.yaml";
    assert_finding(&out, f, 6, "error", &["unknown field `descripton` in spec"]);
    assert_finding(
        &out,
        f,
        18,
        "error",
        &["artifact \"missing\"", "path \"not-there\" does not exist"],
    );
    assert_finding(
        &out,
        "all-at-once/config/cm.yaml",
        7,
        "error",
        &["params.farewell"],
    );
    assert_finding(
        &out,
        f,
        24,
        "error",
        &["artifact \"web\" defaultValues", "params.colour"],
    );
    assert_eq!(
        findings(&out)
            .iter()
            .filter(|l| l.contains(": error: "))
            .count(),
        4,
        "{}",
        describe(&out)
    );
    assert!(
        !stdout(&out).contains("were not checked"),
        "{}",
        describe(&out)
    );
}

/// Publish lints first: the profile whose placeholders once failed the nested
/// pattern is published (tagged), as every real value the child accepts installs.
#[test]
fn publish_accepts_a_parameter_bound_to_a_constrained_nested_one() {
    let env = Env::new();
    let root = env.path("constraints-repo");
    copy_tree(&fixtures_dir().join("lint/constraints"), &root);
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "constraints"]);
    let out = env.pctl_in(&root, ["publish", ".", "--version", "0.1.0"]);
    assert_success(&out);
    assert_eq!(git(&root, &["tag", "-l"]), "v0.1.0");
}
