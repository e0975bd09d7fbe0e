//! `pctl list`.

use crate::common::*;

const COLUMNS: [&str; 8] = [
    "NAME",
    "NAMESPACE",
    "PROFILE",
    "VERSION",
    "SOURCE",
    "PATH",
    "UPDATE",
    "DRIFT",
];

fn fleet() -> (Env, std::path::PathBuf) {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let out = env.install(
        &gitops,
        &platform.source("nginx", Some("nginx/v1.0.0")),
        "ingress",
        &["--namespace", "ingress-system"],
    );
    assert_success(&out);
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "demo", &[]));
    (env, gitops)
}

#[test]
fn list_json_reports_every_installation_with_its_fields() {
    let platform = shared_repo("platform");
    let (env, gitops) = fleet();
    let list = env.list_json(&gitops);
    assert_eq!(list.len(), 2, "{list:?}");
    // sorted by name
    assert_eq!(
        list.iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["demo", "ingress"]
    );
    for e in &list {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "drift",
                "name",
                "namespace",
                "path",
                "profile",
                "source",
                "update",
                "version"
            ],
            "{e}"
        );
        assert!(
            e["source"].as_str().unwrap().contains(&platform.url()),
            "{e}"
        );
        assert!(!e["path"].as_str().unwrap().is_empty(), "{e}");
    }
    let ingress = list_entry(&list, "ingress");
    assert_eq!(ingress["namespace"], "ingress-system");
    assert_eq!(ingress["profile"], "nginx");
    assert_eq!(ingress["version"], "1.0.0");
    let demo = list_entry(&list, "demo");
    assert_eq!(demo["namespace"], "default");
    assert_eq!(demo["profile"], "podinfo");
    assert_eq!(demo["version"], "6.1.0");
}

#[test]
fn list_table_is_the_default_with_the_documented_columns() {
    let (env, gitops) = fleet();
    let out = env.pctl(["list", "--repo", &gitops.display().to_string()]);
    assert_success(&out);
    let text = stdout(&out);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(header, COLUMNS, "{text}");
    let rows: Vec<Vec<&str>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[0][..4], ["demo", "default", "podinfo", "6.1.0"]);
    assert_eq!(
        rows[1][..4],
        ["ingress", "ingress-system", "nginx", "1.0.0"]
    );
    assert!(
        !text.contains('\u{1b}'),
        "colour codes with NO_COLOR and no terminal"
    );
    let explicit = env.pctl([
        "list",
        "--repo",
        &gitops.display().to_string(),
        "-o",
        "table",
    ]);
    assert_eq!(stdout(&explicit), text);
}

#[test]
fn list_yaml_holds_the_same_data_as_json() {
    let (env, gitops) = fleet();
    let out = env.pctl([
        "list",
        "--repo",
        &gitops.display().to_string(),
        "-o",
        "yaml",
    ]);
    assert_success(&out);
    let docs = yaml_docs_str(&stdout(&out));
    assert_eq!(docs.len(), 1, "{}", stdout(&out));
    assert_eq!(docs[0], Value::Array(env.list_json(&gitops)));
}

#[test]
fn list_of_a_repository_without_installations_is_empty() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert!(env.list_json(&gitops).is_empty());
    let out = env.pctl([
        "list",
        "--repo",
        &gitops.display().to_string(),
        "-o",
        "json",
    ]);
    assert_eq!(stdout(&out).trim(), "[]");
}

#[test]
fn list_defaults_to_the_repository_of_the_current_directory() {
    let (env, gitops) = fleet();
    let out = env.pctl_in(&gitops.join(SYNC_PATH), ["list", "-o", "json"]);
    assert_success(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
}

#[test]
fn list_outside_a_repository_is_a_user_error() {
    let env = Env::new();
    let out = env.pctl(["list"]);
    assert_error(&out, 1);
}

/// An installation from a directory outside Git (`--allow-dirty`) has no upstream
/// versions: `list` shows no update and no "not in the cache" note, however often
/// it runs, and the failed look-up leaves no empty mirror in the cache that a later
/// offline command would take for a repository without versions.
#[test]
fn a_dirty_installation_is_not_an_unknown_upstream_and_poisons_no_cache() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let plain = env.root.join("plain-profile");
    copy_tree(
        &std::path::Path::new(CRATE_DIR).join("fixtures/quickstart/podinfo"),
        &plain,
    );
    let out = env.pctl([
        "install",
        &plain.display().to_string(),
        "--name",
        "scratch",
        "--allow-dirty",
        "--repo",
        &gitops.display().to_string(),
    ]);
    assert_success(&out);
    for _ in 0..2 {
        let out = env.pctl(["list", "--repo", &gitops.display().to_string()]);
        assert_success(&out);
        let text = stdout(&out);
        let row = text.lines().find(|l| l.starts_with("scratch ")).unwrap();
        assert!(row.split_whitespace().any(|c| c == "dirty"), "{row}");
        assert!(!row.split_whitespace().any(|c| c == "?"), "{row}");
        assert!(
            !stderr(&out).contains("not in the cache"),
            "{}",
            stderr(&out)
        );
    }
    // A fetch that fails (the directory is no repository) keeps no mirror either.
    let url = format!("file://{}", plain.display());
    let out = env.pctl(["render", &url]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["cannot fetch", "plain-profile"]);
    let mirrors = env.cache.join("pctl/mirrors");
    let left: Vec<String> = std::fs::read_dir(&mirrors)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("plain-profile"))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "mirrors left for a directory outside Git: {left:?}"
    );
}

/// The README's quick start: a profile installed from a directory of a clone records
/// the clone's `origin`, here a plain local path without version tags. `list` reads
/// such an upstream as it reads a `file://` one (no network either way) and shows no
/// update, instead of `?` and a note to run `pctl outdated`.
#[test]
fn an_upstream_that_is_a_local_path_is_read_without_a_fetch_note() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let upstream = env.root.join("upstream");
    copy_tree(
        &std::path::Path::new(CRATE_DIR).join("fixtures/quickstart/podinfo"),
        &upstream.join("podinfo"),
    );
    env.git(&upstream, &["init", "-q", "-b", "main"]);
    env.git(&upstream, &["add", "-A"]);
    env.git(&upstream, &["commit", "-qm", "podinfo"]);
    let clone = env.root.join("clone");
    env.git(
        &env.root,
        &[
            "clone",
            "-q",
            &upstream.display().to_string(),
            &clone.display().to_string(),
        ],
    );
    let out = env.pctl([
        "install",
        &clone.join("podinfo").display().to_string(),
        "--name",
        "podinfo",
        "--repo",
        &gitops.display().to_string(),
    ]);
    assert_success(&out);
    let listed = env.list_json(&gitops);
    assert_eq!(
        listed[0]["source"].as_str(),
        Some(format!("{}//podinfo", upstream.display()).as_str()),
        "{listed:?}"
    );
    let out = env.pctl(["list", "--repo", &gitops.display().to_string()]);
    assert_success(&out);
    let text = stdout(&out);
    let row = text.lines().find(|l| l.starts_with("podinfo ")).unwrap();
    assert!(!row.split_whitespace().any(|c| c == "?"), "{row}");
    assert!(
        !stderr(&out).contains("not in the cache"),
        "{}",
        stderr(&out)
    );
}
