//! The catalog (docs/guide.md): the embedded catalog answering with no network, catalogs
//! scanned from real Git servers, incremental updates, broken tags, unreachable
//! sources, corrupt and concurrently written indexes, and installing CATALOG/PROFILE.

use crate::common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The version tags of the `platform` fixture, by profile.
const PLATFORM_VERSIONS: &[(&str, &[&str])] = &[
    ("api", &["1.0.0", "1.1.0"]),
    ("cert-manager", &["1.14.0", "1.15.0"]),
    ("edge-stack", &["1.0.0", "1.1.0"]),
    ("fullstack", &["1.0.0", "1.1.0"]),
    ("gateway", &["0.1.0", "0.1.1", "0.2.0"]),
    ("legacy-nginx", &["0.0.1", "0.0.2"]),
    ("monitoring", &["0.1.0", "0.2.0"]),
    ("nginx", &["1.0.0", "1.1.0", "1.2.0-rc.1", "1.3.0"]),
    ("podinfo", &["6.0.0", "6.1.0"]),
    ("web", &["1.0.0", "1.1.0"]),
];

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", describe(out)))
}

/// Makes every fetch from github.com fail at once, so a test proves it needs no
/// network.
fn no_github(env: &Env) {
    env.insteadof("file:///nonexistent/github/", "https://github.com/");
}

/// `pctl catalog update [NAME] -o json`, parsed; asserts success.
fn update(env: &Env, name: Option<&str>) -> (Vec<Value>, String) {
    let mut args = vec!["catalog", "update", "-o", "json"];
    if let Some(n) = name {
        args.insert(2, n);
    }
    let out = env.pctl(&args);
    assert_success(&out);
    let v = json(&out);
    (v.as_array().unwrap().clone(), stderr(&out))
}

fn tags_read(rows: &[Value], catalog: &str) -> u64 {
    let row = rows
        .iter()
        .find(|r| r["catalog"] == catalog)
        .unwrap_or_else(|| panic!("no {catalog} in {rows:?}"));
    assert_eq!(row["status"], "ok", "{row}");
    row["tagsRead"].as_u64().unwrap()
}

/// The index file of the only user catalog in the sandbox's cache.
fn index_files(env: &Env) -> Vec<PathBuf> {
    let dir = env.cache.join("pctl").join("catalog");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == "json"));
    out.sort();
    out
}

fn add_tag(repo: &Path, name: &str, message: &str, rev: &str) {
    git(repo, &["tag", "-a", name, "-m", message, rev]);
}

/// `search -o json QUERY`: (catalog/profile, version) pairs in order.
fn search(env: &Env, args: &[&str]) -> Vec<(String, Option<String>)> {
    let mut all = vec!["search", "-o", "json"];
    all.extend_from_slice(args);
    let out = env.pctl(&all);
    assert_success(&out);
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{}/{}",
                    r["catalog"].as_str().unwrap(),
                    r["profile"].as_str().unwrap()
                ),
                r["version"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn a_fresh_machine_with_no_network_finds_the_public_examples() {
    let env = Env::new();
    no_github(&env);
    let out = env.pctl(["search", "nginx"]);
    assert_success(&out);
    let text = stdout(&out);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["CATALOG/PROFILE", "VERSION", "DESCRIPTION"],
        "{text}"
    );
    assert!(text.contains("weaveworks/weaveworks-nginx"), "{text}");
    assert!(text.contains("weaveworks/bitnami-nginx"), "{text}");
    assert_stderr_mentions(&out, &["shipped with pctl"]);

    let found = search(&env, &["nginx"]);
    assert!(found.contains(&("weaveworks/weaveworks-nginx".into(), Some("0.1.1".into()))));
    assert!(found.contains(&("weaveworks/bitnami-nginx".into(), Some("0.0.2".into()))));

    let out = env.pctl(["show", "weaveworks/weaveworks-nginx"]);
    assert_success(&out);
    let text = stdout(&out);
    for needle in [
        "weaveworks/weaveworks-nginx",
        "0.1.1",
        "0.1.0",
        "2021-09-30",
        "Profile for deploying nginx",
        "weaveworks",
        "nginx-chart",
        "kubernetes 1.19",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let out = env.pctl(["show", "weaveworks/bitnami-nginx", "-o", "json"]);
    assert_success(&out);
    let v = json(&out);
    let versions: Vec<&str> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["0.0.2", "0.0.1"]);
    assert_eq!(v["version"], "0.0.2");
    // The embedded index is a real scan of every version tag: no invented
    // weaveworks-nginx 0.0.1, and the nested-nginx profiles are there.
    let out = env.pctl(["show", "weaveworks/weaveworks-nginx", "-o", "json"]);
    let v = json(&out);
    let versions: Vec<&str> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["0.1.1", "0.1.0"]);
    let names: Vec<String> = search(&env, &["nested"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for n in [
        "weaveworks/nested-nginx",
        "weaveworks/nested-nginx-1",
        "weaveworks/nested-nginx-2",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }

    // The list says where the index came from.
    let out = env.pctl(["catalog", "list", "-o", "json"]);
    assert_success(&out);
    let rows = json(&out);
    let ww = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "weaveworks")
        .unwrap()
        .clone();
    assert_eq!(ww["origin"], "embedded");
    assert_eq!(ww["index"], "shipped");
    assert!(
        ww["provenance"]
            .as_str()
            .unwrap()
            .contains("stored snapshot")
    );

    // Refreshing it without network keeps the shipped index and says so.
    let out = env.pctl(["catalog", "update", "weaveworks"]);
    assert_success(&out);
    assert_stderr_mentions(&out, &["warning:", "cannot scan", "shipped with pctl"]);
    assert_eq!(search(&env, &["bitnami"]).len(), 1);
}

/// A bare copy of the private `platform` repository served by `git daemon`.
struct Served {
    _env_dir: tempfile::TempDir,
    bare: PathBuf,
    server: Server,
}

fn serve_platform() -> Served {
    let platform = shared_repo("platform");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("srv");
    let bare = bare_copy(platform.path(), &root, "platform");
    let server = git_daemon(&root);
    Served {
        _env_dir: dir,
        bare,
        server,
    }
}

#[test]
fn a_catalog_served_by_git_daemon_lists_every_profile_and_version_and_updates_incrementally() {
    let served = serve_platform();
    let env = Env::new();
    no_github(&env);
    let url = served.server.url("platform.git");
    let out = env.pctl(["catalog", "add", "plat", &url]);
    assert_success(&out);
    assert_stderr_mentions(&out, &["added catalog plat", "read 23 tags"]);

    // Every profile, with its newest stable version.
    let found = search(&env, &["plat/"]);
    let names: BTreeSet<&str> = found
        .iter()
        .map(|(n, _)| n.strip_prefix("plat/").unwrap())
        .collect();
    let expected: BTreeSet<&str> = PLATFORM_VERSIONS.iter().map(|(p, _)| *p).collect();
    assert_eq!(names, expected);
    let nginx = found.iter().find(|(n, _)| n == "plat/nginx").unwrap();
    assert_eq!(nginx.1.as_deref(), Some("1.1.0"), "newest stable");
    let beta = search(&env, &["--channel", "beta", "plat/nginx"]);
    assert_eq!(beta[0].1.as_deref(), Some("1.3.0"));

    // Every version, with channel, date and changelog.
    for (profile, versions) in PLATFORM_VERSIONS {
        let out = env.pctl(["show", &format!("plat/{profile}"), "-o", "json"]);
        assert_success(&out);
        let v = json(&out);
        let mut got: Vec<String> = v["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap().to_string())
            .collect();
        got.reverse();
        assert_eq!(got, *versions, "{profile}");
    }
    let out = env.pctl(["show", "plat/nginx"]);
    assert_success(&out);
    let text = stdout(&out);
    for needle in [
        "1.3.0    beta",
        "1.2.0-rc.1  rc",
        "2026-01-01",
        "Try ingress-nginx 4.11.1 before it goes stable.",
        "ingress-nginx 4.10.1",
        "Parameters:",
        "Artifacts:",
    ] {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words(&text).contains(&words(needle)),
            "{needle} missing:\n{text}"
        );
    }
    let out = env.pctl(["show", "plat/nginx@1.0.0", "-o", "json"]);
    assert_success(&out);
    assert_eq!(json(&out)["tag"], "nginx/v1.0.0");

    // Nothing new: nothing read.
    let (rows, _) = update(&env, Some("plat"));
    assert_eq!(tags_read(&rows, "plat"), 0);

    // One new tag: exactly one tag read.
    add_tag(
        &served.bare,
        "nginx/v1.4.0",
        "nginx 1.4.0\n\nTrack ingress-nginx 4.12.",
        "main",
    );
    let (rows, err) = update(&env, Some("plat"));
    assert_eq!(tags_read(&rows, "plat"), 1, "{rows:?}");
    assert!(
        err.contains("catalog plat: read 1 tag (23 unchanged"),
        "{err}"
    );
    let found = search(&env, &["plat/nginx"]);
    assert_eq!(found[0], ("plat/nginx".into(), Some("1.4.0".into())));

    // A moved tag is read again; a deleted one leaves the index.
    git(&served.bare, &["tag", "-d", "web/v1.1.0"]);
    add_tag(&served.bare, "web/v1.1.0", "web 1.1.0, re-tagged", "main");
    git(&served.bare, &["tag", "-d", "api/v1.1.0"]);
    let (rows, _) = update(&env, None);
    assert_eq!(tags_read(&rows, "plat"), 1);
    let row = rows.iter().find(|r| r["catalog"] == "plat").unwrap();
    assert_eq!(row["tagsRemoved"], 1);
    let found = search(&env, &["plat/api"]);
    assert_eq!(found[0].1.as_deref(), Some("1.0.0"));
}

#[test]
fn catalogs_are_added_listed_and_removed_in_the_user_file() {
    let platform = shared_repo("platform");
    let env = Env::new();
    no_github(&env);
    let out = env.pctl(["catalog", "add", "plat", &platform.url()]);
    assert_success(&out);
    let file = env.config.join("pctl").join("catalogs.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("name: plat") && text.contains(&platform.url()),
        "{text}"
    );

    let again = env.pctl(["catalog", "add", "plat", &platform.url()]);
    assert_error(&again, 1);
    assert_stderr_mentions(&again, &["already exists", "hint:"]);

    let out = env.pctl(["catalog", "list"]);
    assert_success(&out);
    let text = stdout(&out);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "ORIGIN", "URL", "PROFILES", "VERSIONS", "INDEX"]
    );
    assert!(
        text.lines().any(|l| l.starts_with("plat ")
            && l.contains("user")
            && l.contains(" 10 ")
            && l.contains(" 23 ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("weaveworks ") && l.contains("embedded")),
        "{text}"
    );
    let yaml = env.pctl(["catalog", "list", "-o", "yaml"]);
    assert_success(&yaml);
    assert_eq!(
        yaml_docs_str(&stdout(&yaml))[0],
        json(&env.pctl(["catalog", "list", "-o", "json"]))
    );

    let bad = env.pctl(["catalog", "remove", "weaveworks"]);
    assert_error(&bad, 1);
    assert_stderr_mentions(&bad, &["built into pctl"]);
    let bad = env.pctl(["catalog", "remove", "nope"]);
    assert_error(&bad, 1);

    assert_success(&env.pctl(["catalog", "remove", "plat"]));
    let found = search(&env, &["plat/"]);
    assert!(found.is_empty(), "{found:?}");
    let out = env.pctl(["install", "plat/nginx", "--name", "x"]);
    assert_exit(&out, 1);

    let bad = env.pctl(["catalog", "add", "Bad_Name", &platform.url()]);
    assert_error(&bad, 1);
    let unreachable = env.pctl(["catalog", "add", "gone", "file:///nonexistent/repo"]);
    assert_error(&unreachable, 1);
    assert_stderr_mentions(&unreachable, &["cannot scan", "--no-scan"]);
    assert!(!std::fs::read_to_string(&file).unwrap().contains("gone"));
}

#[test]
fn a_broken_tag_is_skipped_with_a_warning_and_the_rest_is_indexed() {
    let repo = build_repo("platform");
    // A commit whose nginx/profile.yaml does not parse, tagged as a version.
    repo.git(&["checkout", "-q", "-b", "broken", "main"]);
    std::fs::write(
        repo.path().join("nginx/profile.yaml"),
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {name: nginx}\nspec:\n  artifacts: [\n",
    )
    .unwrap();
    repo.git(&["commit", "-qam", "break nginx"]);
    add_tag(
        repo.path(),
        "nginx/v9.0.0",
        "nginx 9.0.0 (broken)",
        "broken",
    );
    // A version tag of a directory without profile.yaml.
    add_tag(repo.path(), "nothing-here/v1.0.0", "no profile", "main");
    repo.git(&["checkout", "-q", "main"]);

    let env = Env::new();
    no_github(&env);
    let out = env.pctl(["catalog", "add", "plat", &repo.url()]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &[
            "warning:",
            "skipped tag nginx/v9.0.0",
            "skipped tag nothing-here/v1.0.0",
        ],
    );
    let found = search(&env, &["plat/nginx"]);
    assert_eq!(found[0], ("plat/nginx".into(), Some("1.1.0".into())));
    assert_eq!(search(&env, &["plat/"]).len(), 10);

    // Read once: the next update reads nothing and does not warn again.
    let (rows, err) = update(&env, Some("plat"));
    assert_eq!(tags_read(&rows, "plat"), 0);
    assert!(!err.contains("warning"), "{err}");
    let out = env.pctl(["catalog", "list", "-o", "json"]);
    let rows = json(&out);
    let plat = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "plat")
        .unwrap();
    let skipped: Vec<&str> = plat["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tag"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["nginx/v9.0.0", "nothing-here/v1.0.0"]);
}

#[test]
fn an_unreachable_source_keeps_its_last_index_and_says_so() {
    let served = serve_platform();
    let env = Env::new();
    no_github(&env);
    let url = served.server.url("platform.git");
    assert_success(&env.pctl(["catalog", "add", "plat", &url]));
    drop(served);

    let out = env.pctl(["catalog", "update", "plat"]);
    assert_success(&out);
    assert_stderr_mentions(
        &out,
        &["warning:", "cannot scan", &url, "keeping its index from"],
    );
    let (rows, _) = update(&env, None);
    let plat = rows.iter().find(|r| r["catalog"] == "plat").unwrap();
    assert_eq!(plat["status"], "unreachable");
    // Search, show and list still answer from the kept index.
    assert_eq!(search(&env, &["plat/"]).len(), 10);
    assert_success(&env.pctl(["show", "plat/podinfo"]));
    let out = env.pctl(["catalog", "list"]);
    assert_success(&out);
    assert!(stdout(&out).contains("plat"));

    // A profile the kept index does not list: pctl scans the source once more, and
    // when that fails the error says so, rather than only that the profile is missing.
    let gitops = env.init_gitops("gitops");
    let bad = env.install(&gitops, "plat/newcomer", "x", &[]);
    assert_error(&bad, 1);
    assert_stderr_mentions(
        &bad,
        &[
            "no profile named \"newcomer\"",
            "cannot scan",
            &url,
            "may list it",
        ],
    );
    assert_eq!(commit_count(&gitops), 1, "nothing committed after init");
}

#[test]
fn a_corrupt_index_is_rebuilt_with_a_warning() {
    let platform = shared_repo("platform");
    let env = Env::new();
    no_github(&env);
    assert_success(&env.pctl(["catalog", "add", "plat", &platform.url()]));
    let files = index_files(&env);
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::write(&files[0], b"{\"format\": 1, \"profiles\": [tr").unwrap();

    // `search` rebuilds it.
    let out = env.pctl(["search", "-o", "json", "plat/"]);
    assert_success(&out);
    assert_stderr_mentions(&out, &["warning:", "corrupt", "rebuilding"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 10);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_ok());

    // So does `catalog update`, reading every tag again.
    std::fs::write(&files[0], b"\x00\x01 not json").unwrap();
    let out = env.pctl(["catalog", "list"]);
    assert_success(&out);
    assert!(stdout(&out).contains("corrupt"), "{}", stdout(&out));
    let (rows, err) = update(&env, Some("plat"));
    assert!(err.contains("corrupt"), "{err}");
    assert_eq!(tags_read(&rows, "plat"), 23);
    let (rows, _) = update(&env, Some("plat"));
    assert_eq!(tags_read(&rows, "plat"), 0);
}

#[test]
fn concurrent_updates_leave_a_valid_index() {
    let repo = build_repo("platform");
    let env = Env::new();
    no_github(&env);
    assert_success(&env.pctl(["catalog", "add", "plat", &repo.url()]));
    for i in 0..5 {
        add_tag(repo.path(), &format!("web/v2.0.{i}"), "web", "main");
    }
    let children: Vec<_> = (0..4)
        .map(|_| env.spawn(["catalog", "update", "plat", "-o", "json"]))
        .collect();
    let mut total = 0;
    for c in children {
        let out = wait_output(c);
        assert_success(&out);
        let rows = json(&out);
        total += tags_read(rows.as_array().unwrap(), "plat");
    }
    assert_eq!(total, 5, "each new tag is read by exactly one process");
    let files = index_files(&env);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let v: Value = serde_json::from_str(&text).expect("a whole index");
    assert_eq!(v["read"].as_object().unwrap().len(), 28);
    let found = search(&env, &["plat/web"]);
    assert_eq!(found[0].1.as_deref(), Some("2.0.4"));
    let (rows, _) = update(&env, Some("plat"));
    assert_eq!(tags_read(&rows, "plat"), 0);
}

#[test]
fn search_ranks_name_then_keywords_then_description() {
    let platform = shared_repo("platform");
    let env = Env::new();
    no_github(&env);
    assert_success(&env.pctl(["catalog", "add", "plat", &platform.url()]));
    // "nginx" is the name of plat/nginx, part of legacy-nginx's name, and nested or
    // described by others.
    let found = search(&env, &["nginx"]);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "plat/nginx", "{names:?}");
    // Name matches first, then keyword and description matches.
    let by_name = names
        .iter()
        .take_while(|n| n.rsplit('/').next().unwrap().contains("nginx"))
        .count();
    assert!(by_name >= 3, "{names:?}");
    assert!(
        names[by_name..]
            .iter()
            .all(|n| !n.rsplit('/').next().unwrap().contains("nginx")),
        "{names:?}"
    );
    assert!(
        names.len() > by_name,
        "profiles that mention nginx elsewhere: {names:?}"
    );
    let yaml = env.pctl(["search", "-o", "yaml", "nginx"]);
    assert_success(&yaml);
    assert_eq!(
        yaml_docs_str(&stdout(&yaml))[0],
        json(&env.pctl(["search", "-o", "json", "nginx"]))
    );
    let none = env.pctl(["search", "no-such-thing-at-all"]);
    assert_success(&none);
    assert!(stdout(&none).is_empty());
    assert_stderr_mentions(&none, &["no profile matches"]);
}

#[test]
fn install_from_a_catalog_records_the_constraint_and_the_resolution() {
    let platform = shared_repo("platform");
    let env = Env::new();
    no_github(&env);
    let gitops = env.init_gitops("gitops");
    assert_success(&env.pctl(["catalog", "add", "plat", &platform.url()]));

    let out = env.install(&gitops, "plat/nginx@^1.0", "web", &[]);
    assert_success(&out);
    let record = yaml_file(&install_dir(&gitops, "web").join("profile-installation.yaml"));
    let src = &record["spec"]["source"];
    assert_eq!(src["catalog"], "plat/nginx");
    assert_eq!(src["requested"], "^1.0");
    assert_eq!(src["version"], "1.1.0", "stable only");
    assert_eq!(src["reference"], "nginx/v1.1.0");
    assert_eq!(src["url"], platform.url());
    assert_eq!(src["path"], "nginx");
    flux_dry_run(&gitops);

    let out = env.install(
        &gitops,
        "plat/nginx@^1.0",
        "web-beta",
        // the same profile twice needs another namespace (docs/layout.md#ownership)
        &["--channel", "beta", "--namespace", "beta"],
    );
    assert_success(&out);
    let record = yaml_file(&install_dir(&gitops, "web-beta").join("profile-installation.yaml"));
    assert_eq!(record["spec"]["source"]["version"], "1.3.0");
    assert_eq!(record["spec"]["source"]["channel"], "beta");

    let out = env.install(&gitops, "plat/podinfo", "demo", &[]);
    assert_success(&out);
    let record = yaml_file(&install_dir(&gitops, "demo").join("profile-installation.yaml"));
    assert_eq!(record["spec"]["source"]["version"], "6.1.0");

    let bad = env.install(&gitops, "plat/ngnix", "x", &[]);
    assert_error(&bad, 1);
    assert_stderr_mentions(
        &bad,
        &["no profile named \"ngnix\"", "did you mean", "nginx"],
    );
    let bad = env.install(&gitops, "nope/nginx", "x", &[]);
    assert_error(&bad, 1);
    assert_stderr_mentions(&bad, &["no catalog named \"nope\"", "plat"]);
    let bad = env.install(&gitops, "plat/nginx@^7", "x", &[]);
    assert_error(&bad, 1);
    assert_stderr_mentions(&bad, &["available versions"]);
}

#[test]
fn the_gitops_repository_shares_catalogs_including_profiles_listed_by_hand() {
    let platform = shared_repo("platform");
    let env = Env::new();
    no_github(&env);
    let gitops = env.init_gitops("gitops");
    std::fs::write(
        gitops.join(".pctl/catalogs.yaml"),
        format!(
            "apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: team\n    profiles:\n      - name: storefront\n        url: {}\n        path: web\n        description: The team's web front end\n        keywords: [frontend]\n        versions: [1.0.0, 1.1.0]\n",
            platform.url()
        ),
    )
    .unwrap();
    git(&gitops, &["add", ".pctl/catalogs.yaml"]);
    git(&gitops, &["commit", "-qm", "team catalog"]);

    let repo = gitops.display().to_string();
    let out = env.pctl(["search", "--repo", &repo, "-o", "json", "frontend"]);
    assert_success(&out);
    let rows = json(&out);
    assert_eq!(rows[0]["catalog"], "team");
    assert_eq!(rows[0]["profile"], "storefront");
    assert_eq!(rows[0]["version"], "1.1.0");
    // From inside the repository, --repo is not needed.
    let out = env.pctl_in(&gitops, ["catalog", "list", "-o", "json"]);
    assert_success(&out);
    assert!(
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "team" && r["origin"] == "repo")
    );

    // render, from outside the repository, reads the catalogs of --repo as install does.
    let out = env.pctl(["render", "team/storefront@1.0.0", "--repo", &repo]);
    assert_success(&out);
    assert!(stdout(&out).contains("kind: "), "{}", describe(&out));

    let out = env.install(&gitops, "team/storefront@1.0.0", "shop", &[]);
    assert_success(&out);
    let record = yaml_file(&install_dir(&gitops, "shop").join("profile-installation.yaml"));
    assert_eq!(record["spec"]["source"]["version"], "1.0.0");
    assert_eq!(record["spec"]["source"]["catalog"], "team/storefront");
    assert_eq!(record["spec"]["profile"], "web");
    let bad = env.pctl_in(&gitops, ["catalog", "remove", "team"]);
    assert_error(&bad, 1);
    assert_stderr_mentions(
        &bad,
        &["defined by the GitOps repository", ".pctl/catalogs.yaml"],
    );
}

#[test]
fn show_accepts_every_source_install_accepts() {
    let platform = shared_repo("platform");
    let env = Env::new();
    no_github(&env);
    let out = env.pctl(["show", &platform.source("nginx", None), "-o", "json"]);
    assert_success(&out);
    let v = json(&out);
    assert_eq!(v["version"], "1.1.0");
    assert_eq!(v["versions"].as_array().unwrap().len(), 4);
    assert_eq!(v["versions"][0]["channel"], "beta");
    assert!(
        v["versions"][0]["changelog"]
            .as_str()
            .unwrap()
            .contains("Channel: beta")
    );
    let out = env.pctl([
        "show",
        &platform.source("nginx", Some("^1.0")),
        "--channel",
        "beta",
        "-o",
        "json",
    ]);
    assert_success(&out);
    assert_eq!(json(&out)["version"], "1.3.0");
    let out = env.pctl([
        "show",
        &platform.source("podinfo", Some("feature/podinfo-pdb")),
    ]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("feature/podinfo-pdb"),
        "{}",
        stdout(&out)
    );

    let dir = fixtures_dir().join("quickstart/podinfo");
    let out = env.pctl(["show", &dir.display().to_string(), "-o", "json"]);
    assert_success(&out);
    let v = json(&out);
    assert!(!v["definition"]["artifacts"].as_array().unwrap().is_empty());
}

#[test]
fn every_new_command_has_help() {
    let env = Env::new();
    for args in [
        vec!["search", "--help"],
        vec!["show", "--help"],
        vec!["outdated", "--help"],
        vec!["status", "--help"],
        vec!["catalog", "--help"],
        vec!["catalog", "add", "--help"],
        vec!["catalog", "remove", "--help"],
        vec!["catalog", "list", "--help"],
        vec!["catalog", "update", "--help"],
    ] {
        let out = env.pctl(&args);
        assert_success(&out);
        assert!(stdout(&out).contains("Usage:"), "{args:?}");
    }
    let out = env.pctl(["install", "--help"]);
    assert!(stdout(&out).contains("--channel"));
}
