//! Where profiles come from (docs/guide.md): version resolution, git:// and
//! smart-HTTP upstreams, insteadOf rewrites, the cache and --offline, local
//! directories, and remote GitOps repositories (--repo URL, push, retry).

use crate::common::*;
use std::path::{Path, PathBuf};

mod more;

/// Installs `source` as `name` and returns the resolved version that
/// `pctl list` reports (also checked against the commit subject).
fn resolved(env: &Env, gitops: &Path, source: &str, name: &str) -> String {
    // each in its own namespace: the same profile twice in one namespace is a
    // real conflict that flux-dry-run reports
    let out = env.install(gitops, source, name, &["--namespace", name]);
    assert_success(&out);
    let list = env.list_json(gitops);
    let version = list_entry(&list, name)["version"]
        .as_str()
        .expect("version is a string")
        .to_string();
    let subject = head_subject(gitops);
    assert!(
        subject.ends_with(&format!(" {version} as {name}")),
        "subject {subject:?} vs version {version:?}"
    );
    version
}

/// A version for a branch install: the branch name or a short commit.
#[track_caller]
fn assert_branch_or_short_commit(version: &str, branch: &str, full: &str) {
    assert!(
        version == branch || (version.len() >= 7 && full.starts_with(version)),
        "{version:?} is neither branch {branch:?} nor a short form of commit {full}"
    );
}

#[track_caller]
fn assert_short_commit(version: &str, full: &str) {
    assert!(
        version.len() >= 7 && full.starts_with(version),
        "{version:?} is not a short form of commit {full}"
    );
}

// --- version resolution ------------------------------------------------------

#[test]
fn no_ref_resolves_to_the_newest_stable_version_skipping_prereleases_beta_channel_and_untagged_main()
 {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // nginx has 1.0.0, 1.1.0, 1.2.0-rc.1, 1.3.0 (Channel: beta) and untagged work on main
    assert_eq!(
        resolved(&env, &gitops, &platform.source("nginx", None), "a"),
        "1.1.0"
    );
    assert_eq!(head_subject(&gitops), "pctl: install nginx 1.1.0 as a");
    assert_eq!(
        resolved(
            &env,
            &gitops,
            &platform.source("nginx", Some("latest")),
            "b"
        ),
        "1.1.0"
    );
    flux_dry_run(&gitops);
}

#[test]
fn semver_constraints_select_the_newest_matching_stable_version() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let cases = [
        ("1.0.0", "1.0.0"),
        ("^1.0", "1.1.0"),
        ("~1.0", "1.0.0"),
        ("~1.1", "1.1.0"),
        (">=1.0", "1.1.0"),
        ("<2", "1.1.0"),
        (">=1.0, <1.1", "1.0.0"),
        ("1.x", "1.1.0"),
    ];
    for (i, (constraint, want)) in cases.iter().enumerate() {
        let got = resolved(
            &env,
            &gitops,
            &platform.source("nginx", Some(constraint)),
            &format!("c{i}"),
        );
        assert_eq!(&got, want, "constraint {constraint:?}");
    }
}

#[test]
fn tags_branches_and_commits_are_accepted_as_refs() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_eq!(
        resolved(
            &env,
            &gitops,
            &platform.source("nginx", Some("nginx/v1.0.0")),
            "tag"
        ),
        "1.0.0"
    );
    // an explicit pre-release tag is taken as asked
    assert_eq!(
        resolved(
            &env,
            &gitops,
            &platform.source("nginx", Some("nginx/v1.2.0-rc.1")),
            "rc"
        ),
        "1.2.0-rc.1"
    );
    // a branch: no version, the short commit stands in
    let v = resolved(
        &env,
        &gitops,
        &platform.source("nginx", Some("main")),
        "main",
    );
    assert_branch_or_short_commit(&v, "main", &platform.rev("main"));
    // a branch whose name contains a slash
    let v = resolved(
        &env,
        &gitops,
        &platform.source("podinfo", Some("feature/podinfo-pdb")),
        "branch",
    );
    assert_branch_or_short_commit(
        &v,
        "feature/podinfo-pdb",
        &platform.rev("feature/podinfo-pdb"),
    );
    let chart = install_dir(&gitops, "branch").join("artifacts/podinfo/chart/templates/pdb.yaml");
    assert!(chart.is_file(), "the branch's chart was not installed");
    // a full commit and an abbreviated one
    let main = platform.rev("main");
    let v = resolved(
        &env,
        &gitops,
        &platform.source("nginx", Some(&main)),
        "commit",
    );
    assert_short_commit(&v, &main);
    let v = resolved(
        &env,
        &gitops,
        &platform.source("nginx", Some(&main[..10])),
        "short",
    );
    assert_short_commit(&v, &main);
    // main's untagged nginx tracks chart 4.12.0
    let (_, hr) = install_objects(&gitops, "main", "HelmRelease").remove(0);
    assert_eq!(hr["spec"]["chart"]["spec"]["version"], "4.12.0");
    flux_dry_run(&gitops);
}

#[test]
fn version_tags_with_and_without_v_prefix_are_both_versions() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // podinfo/6.0.0 (no v) and podinfo/v6.1.0
    assert_eq!(
        resolved(&env, &gitops, &platform.source("podinfo", None), "a"),
        "6.1.0"
    );
    assert_eq!(
        resolved(
            &env,
            &gitops,
            &platform.source("podinfo", Some("6.0.0")),
            "b"
        ),
        "6.0.0"
    );
    assert_eq!(
        resolved(
            &env,
            &gitops,
            &platform.source("podinfo", Some("<6.1")),
            "c"
        ),
        "6.0.0"
    );
    assert_eq!(
        resolved(
            &env,
            &gitops,
            &platform.source("podinfo", Some("podinfo/6.0.0")),
            "d"
        ),
        "6.0.0"
    );
    let chart = yaml_file(&install_dir(&gitops, "b").join("artifacts/podinfo/chart/Chart.yaml"));
    assert_eq!(chart["version"], "6.0.0");
}

#[test]
fn a_profile_at_the_repository_root_is_versioned_by_plain_vxyz_tags() {
    let standalone = shared_repo("standalone");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_eq!(
        resolved(&env, &gitops, &standalone.source("", None), "a"),
        "1.1.0"
    );
    assert_eq!(
        resolved(&env, &gitops, &standalone.source("", Some("v1.0.0")), "b"),
        "1.0.0"
    );
    assert_eq!(
        resolved(&env, &gitops, &standalone.source("", Some("^1")), "c"),
        "1.1.0"
    );
    assert_eq!(head_subject(&gitops), "pctl: install redis 1.1.0 as c");
    flux_dry_run(&gitops);
}

// --- remote upstreams ------------------------------------------------------

fn serve(env: &Env, repos: &[&str]) -> PathBuf {
    let root = env.path("served");
    for r in repos {
        bare_copy(shared_repo(r).path(), &root, r);
    }
    root
}

#[test]
fn installs_from_a_git_daemon_upstream() {
    let env = Env::new();
    let server = git_daemon(&serve(&env, &["platform"]));
    let gitops = env.init_gitops("gitops");
    let base = server.url("platform.git");
    let src = source_url(&base, "nginx", Some("nginx/v1.0.0"));
    assert_eq!(resolved(&env, &gitops, &src, "ingress"), "1.0.0");
    let list = env.list_json(&gitops);
    assert!(
        list_entry(&list, "ingress")["source"]
            .as_str()
            .unwrap()
            .contains(&base),
        "{list:?}"
    );
    check_installation(&gitops, "ingress");
    flux_dry_run(&gitops);
}

#[test]
fn installs_from_a_smart_http_upstream() {
    let env = Env::new();
    let server = http_backend(&serve(&env, &["platform"]));
    let gitops = env.init_gitops("gitops");
    let src = source_url(&server.url("platform.git"), "monitoring", None);
    let out = env.install(&gitops, &src, "mon", &[]);
    assert_success(&out);
    assert_eq!(
        head_subject(&gitops),
        "pctl: install monitoring 0.2.0 as mon"
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.contains("git-upload-pack")),
        "{:?}",
        server.requests()
    );
    check_installation(&gitops, "mon");
    flux_dry_run(&gitops);
}

#[test]
fn nested_cross_repository_profile_is_fetched_through_an_insteadof_rewrite_to_http() {
    let env = Env::new();
    let server = http_backend(&serve(&env, &["platform", "addons"]));
    // https://git.example.com/addons.git -> http://127.0.0.1:PORT/addons.git
    env.insteadof(&server.url("addons.git"), ADDONS_URL);
    let gitops = env.init_gitops("gitops");
    let src = source_url(&server.url("platform.git"), "edge-stack", None);
    let out = env.install(&gitops, &src, "edge", &[]);
    assert_success(&out);
    assert!(
        server.requests().iter().any(|r| r.contains("/addons.git/")),
        "addons was not fetched through the rewrite: {:?}",
        server.requests()
    );
    check_installation(&gitops, "edge");
    flux_dry_run(&gitops);
}

#[test]
fn insteadof_rewrites_apply_to_the_top_level_source_too() {
    let env = Env::new();
    let platform = shared_repo("platform");
    env.insteadof(&platform.url(), "https://git.example.com/platform.git");
    env.map_addons(shared_repo("addons"));
    let gitops = env.init_gitops("gitops");
    let src = source_url(
        "https://git.example.com/platform.git",
        "gateway",
        Some("gateway/v0.1.0"),
    );
    assert_eq!(resolved(&env, &gitops, &src, "gw"), "0.1.0");
    // the record keeps the URL as written, so other machines apply their own rewrites
    let list = env.list_json(&gitops);
    assert!(
        list_entry(&list, "gw")["source"]
            .as_str()
            .unwrap()
            .contains("git.example.com/platform.git"),
        "{list:?}"
    );
    flux_dry_run(&gitops);
}

#[test]
fn without_an_insteadof_mapping_the_unreachable_nested_repository_is_a_clean_error() {
    let env = Env::new();
    let platform = shared_repo("platform");
    // no mapping for https://git.example.com/addons.git; make sure nothing leaves the machine
    env.insteadof("http://127.0.0.1:9/", "https://git.example.com/");
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &platform.source("gateway", None), "gw", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["git.example.com/addons.git"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

// --- cache and --offline ---------------------------------------------------

#[test]
fn upstream_mirrors_are_cached_under_xdg_cache_home() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("nginx", None), "ingress", &[]));
    let cache = env.cache.join("pctl");
    assert!(
        cache.is_dir() && !walk(&cache).is_empty(),
        "nothing cached under {}",
        cache.display()
    );
    // HOME holds only what the test put there
    let home: Vec<String> = walk(&env.home).into_keys().collect();
    assert!(
        home.iter()
            .all(|p| p == ".gitconfig" || p.starts_with(".cache") || p.starts_with(".config")),
        "{home:?}"
    );
}

#[test]
fn offline_install_after_an_online_one_works_even_when_the_upstream_is_gone() {
    let env = Env::new();
    env.map_addons(shared_repo("addons"));
    let upstream = build_repo("platform");
    let a = env.init_gitops("a");
    for (sub, name) in [("nginx", "ingress"), ("edge-stack", "edge")] {
        assert_success(&env.install(&a, &upstream.source(sub, None), name, &[]));
    }
    let src_nginx = upstream.source("nginx", None);
    let src_edge = upstream.source("edge-stack", None);
    drop(upstream); // the upstream repository no longer exists
    let b = env.init_gitops("b");
    assert_success(&env.install(&b, &src_nginx, "ingress", &["--offline"]));
    assert_success(&env.install(&b, &src_edge, "edge", &["--offline"]));
    let diff = tree_diff(&a, &b);
    assert!(
        diff.is_empty(),
        "offline output differs from online output:\n{}",
        diff.join("\n")
    );
    flux_dry_run(&b);
}

#[test]
fn offline_with_an_empty_cache_fails_with_a_hint_and_changes_nothing() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &platform.source("nginx", None),
        "ingress",
        &["--offline"],
    );
    assert_error(&out, 1);
    assert!(
        stderr(&out).lines().any(|l| l.starts_with("hint: ")),
        "no hint\n{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // render too
    let out = env.pctl(["render", &platform.source("nginx", None), "--offline"]);
    assert_error(&out, 1);
}

#[test]
fn offline_never_fetches_and_online_picks_up_new_upstream_tags() {
    let env = Env::new();
    let upstream = build_repo("platform");
    let gitops = env.init_gitops("gitops");
    assert_eq!(
        resolved(&env, &gitops, &upstream.source("nginx", None), "a"),
        "1.1.0"
    );

    // upstream releases nginx 1.4.0
    let p = upstream.path().join("nginx/profile.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("4.12.0", "4.12.1");
    std::fs::write(&p, text).unwrap();
    upstream.git(&["commit", "-q", "-am", "nginx 1.4.0"]);
    upstream.git(&["tag", "-a", "nginx/v1.4.0", "-m", "nginx 1.4.0"]);

    // offline: the cache does not know 1.4.0
    assert_eq!(
        {
            let out = env.install(
                &gitops,
                &upstream.source("nginx", None),
                "b",
                &["--offline"],
            );
            assert_success(&out);
            list_entry(&env.list_json(&gitops), "b")["version"].clone()
        },
        "1.1.0"
    );
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &upstream.source("nginx", Some("nginx/v1.4.0")),
        "c",
        &["--offline"],
    );
    assert_error(&out, 1);
    assert_unchanged(&before, &snapshot(&gitops));
    // online: fetched
    assert_eq!(
        resolved(&env, &gitops, &upstream.source("nginx", None), "d"),
        "1.4.0"
    );
}

// --- local directories -----------------------------------------------------

/// A Git checkout holding `fixtures/quickstart/` (like a clone of pctl),
/// committed.
fn quickstart_checkout(env: &Env) -> PathBuf {
    let checkout = env.path("checkout");
    copy_tree(
        &fixtures_dir().join("quickstart"),
        &checkout.join("fixtures/quickstart"),
    );
    std::fs::write(checkout.join("README.md"), "# a checkout\n").unwrap();
    git(&checkout, &["init", "-q", "-b", "main"]);
    git(&checkout, &["add", "-A"]);
    git(&checkout, &["commit", "-q", "-m", "quickstart"]);
    checkout
}
