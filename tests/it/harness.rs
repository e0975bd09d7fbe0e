//! Self-tests of the test harness and the fixtures. These do not need pctl and
//! must always pass.

use crate::common::*;
use std::path::Path;

const FIXTURE_REPOS: &[&str] = &["platform", "addons", "standalone", "bad"];

#[test]
fn fixture_builds_are_deterministic() {
    for name in FIXTURE_REPOS {
        let a = build_repo(name);
        let b = build_repo(name);
        assert_eq!(
            a.head(),
            b.head(),
            "{name}: two builds gave different HEADs"
        );
        assert_eq!(a.refs(), b.refs(), "{name}: two builds gave different refs");
        // The cached shared copy is the same repository too.
        assert_eq!(
            shared_repo(name).refs(),
            a.refs(),
            "{name}: shared copy differs from a fresh build"
        );
        assert!(
            is_clean(a.path()),
            "{name}: the built work tree is not clean"
        );
        assert_eq!(a.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
    }
}

#[test]
fn fixture_commits_have_pinned_identity_and_dates() {
    let repo = shared_repo("platform");
    let log = repo.git(&["log", "--all", "--format=%an <%ae> %aI|%cn <%ce> %cI"]);
    for line in log.lines() {
        assert!(
            line.starts_with("Fixture Author <fixtures@example.com> 2026-01-01T"),
            "{line}"
        );
        assert!(
            line.contains("|Fixture Author <fixtures@example.com> 2026-01-01T"),
            "{line}"
        );
    }
    let tagger = repo.git(&[
        "for-each-ref",
        "refs/tags",
        "--format=%(taggername) %(taggeremail)",
    ]);
    for line in tagger.lines() {
        assert_eq!(line, "Fixture Author <fixtures@example.com>");
    }
}

#[test]
fn platform_fixture_has_the_documented_versions() {
    let repo = shared_repo("platform");
    let tags = repo.tags();
    for t in [
        "nginx/v1.0.0",
        "nginx/v1.1.0",
        "nginx/v1.2.0-rc.1",
        "nginx/v1.3.0",
        "podinfo/6.0.0",
        "podinfo/v6.1.0",
        "cert-manager/v1.14.0",
        "cert-manager/v1.15.0",
        "legacy-nginx/v0.0.1",
        "legacy-nginx/v0.0.2",
        "web/v1.0.0",
        "web/v1.1.0",
        "api/v1.0.0",
        "api/v1.1.0",
        "fullstack/v1.0.0",
        "fullstack/v1.1.0",
        "monitoring/v0.1.0",
        "monitoring/v0.2.0",
        "gateway/v0.1.0",
        "gateway/v0.1.1",
        "gateway/v0.2.0",
        "edge-stack/v1.0.0",
        "edge-stack/v1.1.0",
    ] {
        assert!(tags.iter().any(|x| x == t), "missing tag {t} in {tags:?}");
        assert_eq!(
            repo.git(&["cat-file", "-t", t]),
            "tag",
            "{t} must be an annotated tag"
        );
    }
    // Changelog and channel trailer live in the annotated tag message.
    let msg = repo.git(&["tag", "-l", "--format=%(contents)", "nginx/v1.3.0"]);
    assert!(msg.contains("Channel: beta"), "{msg}");
    let msg = repo.git(&["tag", "-l", "--format=%(contents)", "nginx/v1.1.0"]);
    assert!(msg.contains("ingress-nginx 4.10.1"), "{msg}");
    // main moved past the last nginx tag (an untagged development commit).
    assert_ne!(repo.rev("main"), repo.rev("nginx/v1.3.0"));
    let main_nginx = repo.git(&["show", "main:nginx/profile.yaml"]);
    assert!(main_nginx.contains("4.12.0"));
    // a branch with a slash in its name, ahead of main
    let branch = repo.rev("feature/podinfo-pdb");
    assert_eq!(
        repo.git(&["rev-parse", "feature/podinfo-pdb~1"]),
        repo.rev("main")
    );
    assert!(git_ok(
        repo.path(),
        &[
            "cat-file",
            "-e",
            &format!("{branch}:podinfo/chart/templates/pdb.yaml")
        ]
    ));

    let standalone = shared_repo("standalone");
    assert_eq!(standalone.tags(), vec!["v1.0.0", "v1.1.0", "v2.0.0-rc.1"]);
    let addons = shared_repo("addons");
    for t in [
        "external-dns/v0.14.0",
        "external-dns/v0.15.0",
        "sealed-secrets/v2.15.0",
        "sealed-secrets/v2.16.0",
    ] {
        assert!(addons.tags().iter().any(|x| x == t), "missing {t}");
    }
}

#[test]
fn bad_fixture_symlinks_are_real_symlinks_in_git() {
    let repo = shared_repo("bad");
    for p in [
        "path-escape-symlink/manifests",
        "path-escape-symlink-file/manifests/passwd.yaml",
    ] {
        let ls = repo.git(&["ls-files", "-s", p]);
        assert!(
            ls.starts_with("120000 "),
            "{p} is not committed as a symlink: {ls}"
        );
        assert!(repo.path().join(p).is_symlink());
    }
}

#[test]
fn vendored_chart_archives_are_real_gzipped_tarballs() {
    for tgz in [
        fixtures_dir().join("repos/platform/c1/podinfo/chart/charts/redis-lite-0.1.0.tgz"),
        fixtures_dir().join("quickstart/podinfo/chart/charts/redis-lite-0.1.0.tgz"),
    ] {
        let out = std::process::Command::new("tar")
            .arg("tzf")
            .arg(&tgz)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", tgz.display());
        let list = String::from_utf8_lossy(&out.stdout);
        assert!(list.contains("redis-lite/Chart.yaml"), "{list}");
        assert!(
            list.contains("redis-lite/templates/deployment.yaml"),
            "{list}"
        );
    }
}

/// The fixture profiles reference only paths, tags and branches that exist,
/// at every version: what fails in the pctl tests is then pctl, not a typo in
/// a fixture.
#[test]
fn fixture_profiles_reference_existing_paths_and_versions() {
    let platform = shared_repo("platform");
    let addons = shared_repo("addons");
    let standalone = shared_repo("standalone");
    let mut checked = 0;
    for repo in [platform, addons, standalone] {
        let mut revs: Vec<String> = repo.tags();
        revs.push("main".into());
        if repo.name == "platform" {
            revs.push("feature/podinfo-pdb".into());
        }
        for rev in revs {
            let dirs: Vec<String> = match rev.split_once('/') {
                Some((dir, _)) if !rev.starts_with("feature/") => vec![dir.to_string()],
                _ => {
                    let files = repo.git(&["ls-tree", "-r", "--name-only", &rev]);
                    files
                        .lines()
                        .filter(|f| f.ends_with("profile.yaml"))
                        .map(|f| {
                            f.trim_end_matches("profile.yaml")
                                .trim_end_matches('/')
                                .to_string()
                        })
                        .collect()
                }
            };
            for dir in dirs {
                let prefix = if dir.is_empty() {
                    String::new()
                } else {
                    format!("{dir}/")
                };
                let text = repo.git(&["show", &format!("{rev}:{prefix}profile.yaml")]);
                let doc = yaml_docs_str(&text).remove(0);
                let legacy = doc["apiVersion"] == "profiles.fluxcd.io/v1alpha1";
                if !legacy {
                    assert_eq!(doc["apiVersion"], "weave.works/v1alpha1", "{rev}:{prefix}");
                    assert_eq!(doc["kind"], "ProfileDefinition");
                }
                let name = doc["metadata"]["name"].as_str().unwrap();
                if !dir.is_empty() {
                    assert_eq!(name, dir, "{rev}: metadata.name should equal the directory");
                }
                let artifacts = doc["spec"]["artifacts"].as_array().unwrap();
                let names: Vec<&str> = artifacts
                    .iter()
                    .map(|a| a["name"].as_str().unwrap())
                    .collect();
                for a in artifacts {
                    let path = a["chart"]["path"]
                        .as_str()
                        .or(a["kustomize"]["path"].as_str())
                        .or(a["path"].as_str());
                    if let Some(p) = path {
                        let obj = format!("{rev}:{prefix}{p}");
                        assert!(
                            git_ok(repo.path(), &["cat-file", "-e", &obj]),
                            "{obj} does not exist"
                        );
                        if a.get("chart").is_some() || a["kind"] == "HelmChart" {
                            assert!(git_ok(
                                repo.path(),
                                &["cat-file", "-e", &format!("{obj}/Chart.yaml")]
                            ));
                        }
                    }
                    if let Some(src) = a["profile"]["source"].as_object() {
                        let target = match src.get("url").and_then(|u| u.as_str()) {
                            None => platform,
                            Some(ADDONS_URL) => addons,
                            Some(u) => panic!("unexpected nested url {u}"),
                        };
                        if let Some(tag) = src.get("tag").and_then(|t| t.as_str()) {
                            assert!(
                                target.tags().iter().any(|t| t == tag),
                                "{rev}:{prefix}: nested tag {tag} missing"
                            );
                        } else if let Some(branch) = src.get("branch").and_then(|t| t.as_str()) {
                            let p = src["path"].as_str().expect("branch needs path");
                            assert!(git_ok(
                                target.path(),
                                &["cat-file", "-e", &format!("{branch}:{p}/profile.yaml")]
                            ));
                        } else {
                            let p = src["path"].as_str().expect("version needs path");
                            assert!(src.get("version").is_some());
                            assert!(
                                target
                                    .tags()
                                    .iter()
                                    .any(|t| t.starts_with(&format!("{p}/")))
                            );
                        }
                    }
                    for d in a["dependsOn"].as_array().into_iter().flatten() {
                        assert!(
                            names.contains(&d["name"].as_str().unwrap()),
                            "{rev}:{prefix}: dependsOn {d}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} profile versions checked");
}

/// Raw YAML and Kustomize directories of the positive fixtures build with
/// kustomize and hold valid Kubernetes objects.
#[test]
fn fixture_manifest_directories_build_with_kustomize() {
    let platform = shared_repo("platform");
    let mut dirs = vec![
        platform.path().join("cert-manager/issuers"),
        platform.path().join("api/app"),
    ];
    for raw in [
        "nginx/config",
        "web/manifests",
        "monitoring/dashboards",
        "edge-stack/policies",
        "legacy-nginx/nginx/deployment",
    ] {
        dirs.push(platform.path().join(raw));
    }
    dirs.push(shared_repo("addons").path().join("external-dns/config"));
    dirs.push(fixtures_dir().join("quickstart/podinfo/manifests"));
    for d in dirs {
        if d.join("kustomization.yaml").is_file() {
            let out = std::process::Command::new("kubectl")
                .arg("kustomize")
                .arg(&d)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                d.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            let objs = yaml_objects(&d);
            assert!(!objs.is_empty(), "{}", d.display());
            for (f, o) in objs {
                assert!(
                    o["apiVersion"].is_string() && o["kind"].is_string(),
                    "{}/{f}",
                    d.display()
                );
                assert!(
                    is_dns1123_label(&name_of(&o)),
                    "{}/{f}: {}",
                    d.display(),
                    name_of(&o)
                );
            }
        }
    }
}

#[test]
fn yaml_helpers_parse_multi_document_files() {
    let docs = yaml_docs_str("# c\n---\na: 1\n---\n---\nb: [x, y]\nc: null\n");
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["a"], 1);
    assert_eq!(docs[1]["b"][1], "y");
    let objs = yaml_objects(&fixtures_dir().join("quickstart/podinfo"));
    // profile.yaml + 2 manifests; the chart directory is skipped
    assert_eq!(
        objs.len(),
        3,
        "{:?}",
        objs.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
}

#[test]
fn snapshot_is_stable_and_detects_every_kind_of_change() {
    let env = Env::new();
    let repo = env.path("r");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("a.yaml"), "a: 1\n").unwrap();
    std::fs::write(repo.join(".gitignore"), "ignored.txt\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    let s0 = snapshot(&repo);
    assert_unchanged(&s0, &snapshot(&repo));
    assert_unchanged(&s0, &snapshot(&repo));

    std::fs::write(repo.join("a.yaml"), "a: 2\n").unwrap();
    let s1 = snapshot(&repo);
    assert!(
        state_diff(&s0, &s1)
            .iter()
            .any(|d| d.contains("changed: a.yaml")),
        "{:?}",
        state_diff(&s0, &s1)
    );
    git(&repo, &["add", "a.yaml"]);
    let s2 = snapshot(&repo);
    assert!(
        state_diff(&s1, &s2).iter().any(|d| d.contains("index")),
        "{:?}",
        state_diff(&s1, &s2)
    );
    git(&repo, &["commit", "-q", "-m", "two"]);
    let s3 = snapshot(&repo);
    assert!(
        state_diff(&s2, &s3)
            .iter()
            .any(|d| d.contains("HEAD moved"))
    );
    std::fs::create_dir(repo.join("empty")).unwrap();
    assert!(
        state_diff(&s3, &snapshot(&repo))
            .iter()
            .any(|d| d.contains("added: empty"))
    );
    std::fs::remove_dir(repo.join("empty")).unwrap();
    std::fs::write(repo.join("ignored.txt"), "x").unwrap();
    let s4 = snapshot(&repo);
    assert!(
        !state_diff(&s3, &s4).is_empty(),
        "an ignored file must count as a change"
    );
    std::fs::remove_file(repo.join("ignored.txt")).unwrap();
    git(&repo, &["branch", "other"]);
    assert!(
        state_diff(&s3, &snapshot(&repo))
            .iter()
            .any(|d| d.contains("refs changed"))
    );
}

#[test]
fn env_isolates_home_and_applies_insteadof_rewrites() {
    let env = Env::new();
    let addons = shared_repo("addons");
    env.map_addons(addons);
    assert_eq!(
        env.git(&env.work, &["config", "--global", "--get", "user.name"]),
        "Pctl Test"
    );
    // libgit2 reads $HOME/.gitconfig; the git CLI reads GIT_CONFIG_GLOBAL: both are the same file.
    assert_eq!(env.gitconfig, env.home.join(".gitconfig"));
    let refs = env.git(&env.work, &["ls-remote", ADDONS_URL]);
    assert!(refs.contains("refs/tags/external-dns/v0.14.0"), "{refs}");
    // pctl runs with the sandbox's directories
    let cmd = env.command(["--version"]);
    let envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| {
            Some((
                k.to_string_lossy().into_owned(),
                v?.to_string_lossy().into_owned(),
            ))
        })
        .collect();
    let get = |k: &str| envs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("HOME"), Some(env.home.display().to_string()));
    assert_eq!(get("XDG_CACHE_HOME"), Some(env.cache.display().to_string()));
    assert_eq!(
        get("XDG_CONFIG_HOME"),
        Some(env.config.display().to_string())
    );
    assert_eq!(
        get("GIT_CONFIG_GLOBAL"),
        Some(env.gitconfig.display().to_string())
    );
    assert_eq!(get("GIT_CONFIG_NOSYSTEM").as_deref(), Some("1"));
    assert_eq!(get("NO_COLOR").as_deref(), Some("1"));
}

fn push_a_commit(env: &Env, url: &str, extra_config: &[&str]) -> String {
    let clone = env.path("clone");
    let _ = std::fs::remove_dir_all(&clone);
    env.git(
        &env.root,
        &["clone", "-q", url, &clone.display().to_string()],
    );
    std::fs::write(
        clone.join("pushed.txt"),
        "pushed through the server\n".repeat(200),
    )
    .unwrap();
    // a binary blob big enough to make the push body span several chunks
    let blob: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(clone.join("blob.bin"), blob).unwrap();
    env.git(&clone, &["add", "-A"]);
    env.git(&clone, &["commit", "-q", "-m", "pushed"]);
    let mut args: Vec<&str> = Vec::new();
    for c in extra_config {
        args.push("-c");
        args.push(c);
    }
    args.extend(["push", "-q", "origin", "HEAD:main"]);
    env.git(&clone, &args);
    env.git(&clone, &["rev-parse", "HEAD"])
}

#[test]
fn git_daemon_serves_fixture_repositories_and_accepts_pushes() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let root = env.path("served");
    let bare = bare_copy(platform.path(), &root, "platform");
    let server = git_daemon(&root);
    let url = server.url("platform.git");
    assert!(url.starts_with("git://127.0.0.1:"));
    let refs = env.git(&env.work, &["ls-remote", &url]);
    let tag_line = refs
        .lines()
        .find(|l| l.ends_with("refs/tags/nginx/v1.0.0^{}"))
        .unwrap_or_else(|| panic!("{refs}"));
    assert!(tag_line.starts_with(&platform.rev("nginx/v1.0.0")));
    assert!(refs.contains("refs/heads/feature/podinfo-pdb"), "{refs}");

    let pushed = push_a_commit(&env, &url, &[]);
    assert_eq!(
        git(&bare, &["rev-parse", "main"]),
        pushed,
        "log:\n{}",
        server.log_text()
    );
}

#[test]
fn http_backend_serves_fixture_repositories_and_accepts_pushes() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let root = env.path("served");
    let bare = bare_copy(platform.path(), &root, "platform");
    let server = http_backend(&root);
    let url = server.url("platform.git");
    let refs = env.git(&env.work, &["ls-remote", &url]);
    assert!(
        refs.contains("refs/tags/podinfo/6.0.0"),
        "{refs}\n{:?}\n{}",
        server.requests(),
        server.log_text()
    );
    // protocol v0 as well as v2
    let refs0 = env.git(&env.work, &["-c", "protocol.version=0", "ls-remote", &url]);
    assert!(refs0.contains("refs/tags/podinfo/6.0.0"), "{refs0}");

    // a small postBuffer forces a chunked request body
    let pushed = push_a_commit(&env, &url, &["http.postBuffer=4096"]);
    assert_eq!(
        git(&bare, &["rev-parse", "main"]),
        pushed,
        "requests: {:?}\nlog:\n{}",
        server.requests(),
        server.log_text()
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("POST") && r.contains("git-receive-pack"))
    );
}

#[test]
fn pctl_check_accepts_a_minimal_tree_and_rejects_a_broken_one() {
    let env = Env::new();
    let repo = env.path("gitops");
    std::fs::create_dir_all(repo.join("clusters/default/apps")).unwrap();
    std::fs::write(
        repo.join("clusters/default/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - apps\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("clusters/default/apps/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    )
    .unwrap();
    let out = pctl_check(&repo);
    assert!(out.contains("0 problems"), "{out}");

    std::fs::write(
        repo.join("clusters/default/apps/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [ks.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("clusters/default/apps/ks.yaml"),
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x, namespace: flux-system}\n\
         spec: {interval: 10m, path: ./nowhere, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n",
    )
    .unwrap();
    let bad = run_check(&repo, &[]);
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("clusters/default/apps/ks.yaml:4: error: Kustomization x: path \"./nowhere\" does not exist in the repository"),
        "{stdout}"
    );
}

#[test]
fn pctl_binary_is_built() {
    assert!(Path::new(&pctl_bin()).is_file());
}
