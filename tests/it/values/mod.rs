//! Typed parameters and layered values (docs/guide.md#values-and-secrets) and templates (docs/profile-reference.md), through the
//! real binary, against the `params` fixture repository (fixtures/README.md).
//!
//! One test per precedence level shows it beating the level below it, checked in the
//! installed HelmRelease values and in the record's `source`. Then coercion, every
//! kind of bad value (exit 1, repository unchanged), missing required parameters,
//! `--explain`, and what the templates see.

use crate::common::*;
use serde_json::json;
use std::path::{Path, PathBuf};

mod more;
use more::explain_rows;

fn params() -> &'static TempRepo {
    shared_repo("params")
}

fn webapp() -> String {
    params().source("webapp", Some("1.0.0"))
}

/// The two parameters of `webapp` that have no default.
const REQUIRED: [&str; 4] = [
    "--set",
    "domain=shop.example.com",
    "--set",
    "region=eu-west-1",
];

/// A file in the sandbox (outside the GitOps repository), e.g. a `-f` values file.
fn write(env: &Env, name: &str, text: &str) -> PathBuf {
    let p = env.path(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

#[track_caller]
fn install_ok(env: &Env, gitops: &Path, source: &str, name: &str, extra: &[&str]) {
    let out = env.install(gitops, source, name, extra);
    assert_success(&out);
    check_installation(gitops, name);
}

fn record(gitops: &Path, name: &str) -> Value {
    yaml_file(&install_dir(gitops, name).join("profile-installation.yaml"))
}

/// `spec.values.<key>` of the record must be `{value, source}`.
#[track_caller]
fn assert_recorded(gitops: &Path, name: &str, key: &str, value: Value, source: &str) {
    let rec = record(gitops, name);
    let entry = &rec["spec"]["values"][key];
    assert_eq!(
        entry["value"], value,
        "record of {name}: value of {key} in {}",
        rec["spec"]["values"]
    );
    assert_eq!(
        entry["source"], source,
        "record of {name}: source of {key} in {}",
        rec["spec"]["values"]
    );
}

/// `spec.values` of the HelmRelease of artifact `id`.
fn release_values(gitops: &Path, name: &str, id: &str) -> Value {
    let hr = yaml_file(
        &install_dir(gitops, name)
            .join("artifacts")
            .join(id)
            .join("helm-release.yaml"),
    );
    assert_eq!(hr["kind"], "HelmRelease");
    hr["spec"]["values"].clone()
}

/// `data` of the rendered `<name>-settings` ConfigMap of `webapp`.
fn settings(gitops: &Path, name: &str) -> Value {
    let docs = yaml_docs(&install_dir(gitops, name).join("artifacts/settings/settings.yaml"));
    docs.into_iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("settings.yaml has no ConfigMap")["data"]
        .clone()
}

// ---------------------------------------------------------------------------
// Precedence: one test per level
// ---------------------------------------------------------------------------

/// Level 1 beats level 2: `--set` beats `-f`.
#[test]
fn set_flag_beats_values_file() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let vals = write(
        &env,
        "vals.yaml",
        "domain: shop.example.com\nregion: eu-west-1\nreplicas: 4\nmessage: from the file\n",
    );
    install_ok(
        &env,
        &g,
        &webapp(),
        "web",
        &["-f", &arg(&vals), "--set", "replicas=7"],
    );
    assert_recorded(&g, "web", "replicas", json!(7), "flag");
    assert_recorded(&g, "web", "message", json!("from the file"), "values-file");
    assert_recorded(
        &g,
        "web",
        "domain",
        json!("shop.example.com"),
        "values-file",
    );
    let v = release_values(&g, "web", "frontend");
    assert_eq!(v["replicaCount"], json!(7));
    assert_eq!(v["ui"]["message"], json!("from the file"));
    assert_eq!(settings(&g, "web")["REPLICAS"], json!("7"));
    flux_dry_run(&g);
}

/// Within level 1 a later flag beats an earlier one, whatever its kind
/// (`--set`, `--set-string`, `--set-file`, `--set-env`).
#[test]
fn later_flag_beats_earlier_flag_of_any_kind() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let file = write(&env, "message.txt", "from a file\n");
    env.set_var("PCTL_TEST_MESSAGE", "from the environment");
    let mut args: Vec<String> = REQUIRED.iter().map(|s| s.to_string()).collect();
    args.extend(
        [
            "--set",
            "message=one",
            "--set-env",
            "message=PCTL_TEST_MESSAGE",
            "--set-file",
            &format!("message={}", arg(&file)),
            "--set-string",
            "message=last one",
        ]
        .map(String::from),
    );
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "message", json!("last one"), "flag");

    // The same kinds in another order: the file is last and wins, without its
    // trailing newline.
    let mut args: Vec<String> = REQUIRED.iter().map(|s| s.to_string()).collect();
    args.extend(
        [
            "--set-string",
            "message=first",
            "--set-env",
            "message=PCTL_TEST_MESSAGE",
            "--set-file",
            &format!("message={}", arg(&file)),
        ]
        .map(String::from),
    );
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    install_ok(&env, &g, &webapp(), "web2", &a);
    assert_recorded(&g, "web2", "message", json!("from a file"), "flag");
    assert_eq!(
        release_values(&g, "web2", "frontend")["ui"]["message"],
        json!("from a file")
    );
}

/// Level 2 beats level 4 (level 3, recorded values, only exists on re-render: see
/// `recorded_values_beat_preset_on_rerender`): `-f` beats `--preset`.
#[test]
fn values_file_beats_preset() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let vals = arg(&write(&env, "vals.yaml", "replicas: 5\n"));
    let mut a = REQUIRED.to_vec();
    a.extend(["--preset", "ha", "-f", &vals]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "replicas", json!(5), "values-file");
    assert_recorded(&g, "web", "tier", json!("large"), "preset:ha");
    assert_recorded(&g, "web", "cpu_limit", json!(1.5), "preset:ha");
    let v = release_values(&g, "web", "frontend");
    assert_eq!(v["replicaCount"], json!(5));
    assert_eq!(v["resources"]["limits"]["cpu"], json!(1.5));
    assert_eq!(
        v["ui"]["color"],
        json!("#34577c"),
        "tier large from the preset"
    );
    // The parent's `with` sees the parent's final values: tier large → 1Gi.
    assert_recorded(&g, "web", "sessions.memory", json!("1Gi"), "binding");
    assert_eq!(
        release_values(&g, "web", "sessions-valkey")["primary"]["resources"]["limits"]["memory"],
        json!("1Gi")
    );
}

/// Within level 2 a later file beats an earlier one; keys the later file does not
/// set still come from the earlier one.
#[test]
fn later_values_file_beats_earlier_one() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let a = write(&env, "a.yaml", "replicas: 3\nmessage: from a\n");
    let b = write(&env, "b.yaml", "replicas: 4\n");
    let mut args = REQUIRED.to_vec();
    let (a, b) = (arg(&a), arg(&b));
    args.extend(["-f", &a, "-f", &b]);
    install_ok(&env, &g, &webapp(), "web", &args);
    assert_recorded(&g, "web", "replicas", json!(4), "values-file");
    assert_recorded(&g, "web", "message", json!("from a"), "values-file");
    assert_eq!(
        release_values(&g, "web", "frontend")["replicaCount"],
        json!(4)
    );
}

/// Level 3 beats level 4: values recorded in the installation beat `--preset` when
/// the installation is rendered again (`pctl render --repo DIR --name NAME`; upgrade
/// and sync are covered in tests/it/upgrade/).
#[test]
fn recorded_values_beat_preset_on_rerender() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let mut a = REQUIRED.to_vec();
    a.extend(["--set", "replicas=5"]);
    install_ok(&env, &g, &webapp(), "web", &a);
    let out = env.pctl([
        "render",
        &webapp(),
        "--repo",
        &arg(&g),
        "--name",
        "web",
        "--preset",
        "ha",
        "--explain",
    ]);
    assert_success(&out);
    let rows = explain_rows(&stdout(&out));
    let replicas = rows.iter().find(|r| r[0] == "replicas").unwrap();
    assert_eq!(replicas[2], "5", "{rows:?}");
    assert!(replicas[3].contains("record"), "{rows:?}");
}

/// Level 4 beats level 5 for the root profile: `--preset` beats `--values-profile`.
#[test]
fn preset_beats_values_profile() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(
        &g,
        ".pctl/values/team.yaml",
        "replicas: 5\nmessage: team greeting\n",
    );
    let mut a = REQUIRED.to_vec();
    a.extend(["--preset", "ha", "--values-profile", "team"]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "replicas", json!(3), "preset:ha");
    assert_recorded(
        &g,
        "web",
        "message",
        json!("team greeting"),
        "values-profile:team",
    );
    // The preset is the root profile's: the bare key reaches the nested profile.
    assert_recorded(
        &g,
        "web",
        "sessions.replicas",
        json!(5),
        "values-profile:team",
    );
    let rec = record(&g, "web");
    assert_eq!(rec["spec"]["valuesProfiles"], json!(["team"]));
    let v = release_values(&g, "web", "frontend");
    assert_eq!(v["replicaCount"], json!(3));
    assert_eq!(v["ui"]["message"], json!("team greeting"));
}

/// The parent's `with` binding (between levels 4 and 5) beats value profiles for a
/// nested profile's parameters; a parameter the binding does not set still comes
/// from the value profile (a bare key applies to every profile that declares it).
#[test]
fn with_binding_beats_values_profile() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(
        &g,
        ".pctl/values/team.yaml",
        "host: team-cache.example.com\nmemory: 2Gi\npersistence: true\n",
    );
    let mut a = REQUIRED.to_vec();
    a.extend(["--values-profile", "team"]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(
        &g,
        "web",
        "sessions.host",
        json!("sessions.shop.example.com"),
        "binding",
    );
    assert_recorded(&g, "web", "sessions.memory", json!("256Mi"), "binding");
    assert_recorded(
        &g,
        "web",
        "sessions.persistence",
        json!(true),
        "values-profile:team",
    );
    let v = release_values(&g, "web", "sessions-valkey");
    assert_eq!(
        v["commonAnnotations"]["app.example.com/host"],
        json!("sessions.shop.example.com")
    );
    assert_eq!(
        v["primary"]["resources"]["limits"]["memory"],
        json!("256Mi")
    );
    assert_eq!(v["primary"]["persistence"]["enabled"], json!(true));
    flux_dry_run(&g);
}

/// Flags and files beat the binding too, addressed as `ARTIFACT.NAME`, as
/// `PROFILE.NAME`, or as a mapping under the artifact's name.
#[test]
fn nested_keys_from_flags_and_files_beat_with_binding() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let vals = write(
        &env,
        "vals.yaml",
        "cache.memory: 512Mi\nsessions:\n  persistence: true\n",
    );
    let vals = arg(&vals);
    let mut a = REQUIRED.to_vec();
    a.extend(["--set", "sessions.host=cache.internal", "-f", &vals]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "sessions.host", json!("cache.internal"), "flag");
    assert_recorded(&g, "web", "sessions.memory", json!("512Mi"), "values-file");
    assert_recorded(
        &g,
        "web",
        "sessions.persistence",
        json!(true),
        "values-file",
    );
    let v = release_values(&g, "web", "sessions-valkey");
    assert_eq!(
        v["commonAnnotations"]["app.example.com/host"],
        json!("cache.internal")
    );
    assert_eq!(
        v["primary"]["resources"]["limits"]["memory"],
        json!("512Mi")
    );
}

/// Within level 5 the value profile named first wins.
#[test]
fn first_named_values_profile_wins() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(
        &g,
        ".pctl/values/team.yaml",
        "replicas: 5\nmessage: team greeting\n",
    );
    env.commit_file(&g, ".pctl/values/prod.yaml", "replicas: 4\n");
    let mut a = REQUIRED.to_vec();
    a.extend(["--values-profile", "prod", "--values-profile", "team"]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "replicas", json!(4), "values-profile:prod");
    assert_recorded(
        &g,
        "web",
        "message",
        json!("team greeting"),
        "values-profile:team",
    );
    assert_eq!(
        record(&g, "web")["spec"]["valuesProfiles"],
        json!(["prod", "team"])
    );
    assert_eq!(
        release_values(&g, "web", "frontend")["replicaCount"],
        json!(4)
    );
}

/// Level 5 beats level 6: a value profile beats `.pctl/values/global.yaml`.
#[test]
fn values_profile_beats_global() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(&g, ".pctl/values/global.yaml", "replicas: 4\ndebug: true\n");
    env.commit_file(&g, ".pctl/values/team.yaml", "replicas: 5\n");
    let mut a = REQUIRED.to_vec();
    a.extend(["--values-profile", "team"]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "replicas", json!(5), "values-profile:team");
    assert_recorded(
        &g,
        "web",
        "sessions.replicas",
        json!(5),
        "values-profile:team",
    );
    assert_recorded(&g, "web", "debug", json!(true), "global");
    let v = release_values(&g, "web", "frontend");
    assert_eq!(v["replicaCount"], json!(5));
    assert_eq!(v["debug"], json!(true));
    assert_eq!(v["logLevel"], json!("debug"));
}

/// Level 6 beats level 7: `.pctl/values/global.yaml` applies to every installation
/// without being named, and beats the defaults (of nested profiles too).
#[test]
fn global_values_beat_defaults() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(
        &g,
        ".pctl/values/global.yaml",
        "# every cluster of this repository\nreplicas: 4\npersistence: true\n",
    );
    install_ok(&env, &g, &webapp(), "web", &REQUIRED);
    assert_recorded(&g, "web", "replicas", json!(4), "global");
    assert_recorded(&g, "web", "sessions.persistence", json!(true), "global");
    assert_recorded(&g, "web", "tier", json!("small"), "default");
    // A bare key applies to every profile that declares the parameter.
    assert_recorded(&g, "web", "sessions.replicas", json!(4), "global");
    assert_recorded(&g, "web", "sessions.memory", json!("256Mi"), "binding");
    assert_recorded(&g, "web", "cpu_limit", json!(0.5), "default");
    assert_eq!(
        release_values(&g, "web", "frontend")["replicaCount"],
        json!(4)
    );
    assert_eq!(
        release_values(&g, "web", "sessions-valkey")["primary"]["persistence"]["enabled"],
        json!(true)
    );
}

/// In one values file (or value profile) `profile.param` beats a bare `param`,
/// whatever their order; the bare key still applies to the other profiles that
/// declare the parameter.
#[test]
fn profile_param_key_beats_bare_param_key_in_one_file() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    env.commit_file(
        &g,
        ".pctl/values/team.yaml",
        "webapp:\n  tier: large\ntier: medium\n",
    );
    let vals = write(&env, "vals.yaml", "webapp.replicas: 6\nreplicas: 4\n");
    let vals = arg(&vals);
    let mut a = REQUIRED.to_vec();
    a.extend(["-f", &vals, "--values-profile", "team"]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "replicas", json!(6), "values-file");
    assert_recorded(&g, "web", "sessions.replicas", json!(4), "values-file");
    assert_recorded(&g, "web", "tier", json!("large"), "values-profile:team");
    assert_eq!(
        release_values(&g, "web", "frontend")["replicaCount"],
        json!(6)
    );
    let cache = release_values(&g, "web", "sessions-valkey");
    assert_eq!(cache["replica"]["replicaCount"], json!(4));
    assert_eq!(cache["architecture"], json!("replication"));
}

/// A bare `--set NAME` names the root profile only, even when a nested profile
/// declares the same parameter; `--set ARTIFACT.NAME` reaches the nested one.
#[test]
fn bare_set_names_the_root_profile_only() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    let mut a = REQUIRED.to_vec();
    a.extend(["--set", "replicas=5"]);
    install_ok(&env, &g, &webapp(), "web", &a);
    assert_recorded(&g, "web", "replicas", json!(5), "flag");
    assert_recorded(&g, "web", "sessions.replicas", json!(1), "default");

    let mut a = REQUIRED.to_vec();
    a.extend(["--set", "sessions.replicas=3"]);
    install_ok(&env, &g, &webapp(), "web2", &a);
    assert_recorded(&g, "web2", "replicas", json!(2), "default");
    assert_recorded(&g, "web2", "sessions.replicas", json!(3), "flag");
    assert_eq!(
        release_values(&g, "web2", "sessions-valkey")["replica"]["replicaCount"],
        json!(3)
    );
}

/// `with` values are rendered with Tera, so they are text like command-line values:
/// binding an integer or boolean parameter of the nested profile to a parent's
/// parameter (`replicas: "{{ params.cache_replicas }}"`) must coerce the text to the
/// declared type, not fail with "expected an integer, got string".
#[test]
fn with_binding_of_typed_parameters_is_coerced() {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    install_ok(
        &env,
        &g,
        &params().source("storefront", Some("1.0.0")),
        "shop",
        &[
            "--set",
            "shop_domain=shop.example.com",
            "--set",
            "cache_replicas=3",
            "--set",
            "durable=false",
        ],
    );
    assert_recorded(&g, "shop", "cache.replicas", json!(3), "binding");
    assert_recorded(&g, "shop", "cache.persistence", json!(false), "binding");
    assert_recorded(
        &g,
        "shop",
        "cache.host",
        json!("cache.shop.example.com"),
        "binding",
    );
    let v = release_values(&g, "shop", "cache-valkey");
    assert_eq!(v["replica"]["replicaCount"], json!(3));
    assert_eq!(v["architecture"], json!("replication"));
    assert_eq!(v["primary"]["persistence"]["enabled"], json!(false));
    flux_dry_run(&g);
}

// ---------------------------------------------------------------------------
// Coercion and bad values
// ---------------------------------------------------------------------------
