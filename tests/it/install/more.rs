//! More install tests: see the module above for the fixtures and helpers.
use super::*;

#[test]
fn same_named_artifacts_of_two_nested_profiles_never_collide() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("fullstack", Some("fullstack/v1.1.0")),
        "shop",
        "fullstack",
        "1.1.0",
        &[],
    );
    assert_eq!(
        artifact_ids(&i.gitops, "shop"),
        ["backend-app", "frontend-app"]
    );
    let w = wrappers(&i.gitops, "shop");
    assert_eq!(name_of(&w["backend-app"]), "shop-backend-app");
    assert_eq!(name_of(&w["frontend-app"]), "shop-frontend-app");
    assert_eq!(
        depends_on(&w["frontend-app"]),
        vec!["shop-backend-app".to_string()]
    );
    // frontend is pinned to web/v1.0.0 (two replicas) although web 1.1.0 exists;
    // backend follows api ^1.0 (api 1.1.0, image 2.4.0)
    assert_copied_byte_for_byte(
        &repo_files_at(platform.path(), "web/v1.0.0", "web/manifests"),
        &install_dir(&i.gitops, "shop").join("artifacts/frontend-app"),
    );
    assert_copied_byte_for_byte(
        &repo_files_at(platform.path(), "api/v1.1.0", "api/app"),
        &install_dir(&i.gitops, "shop").join("artifacts/backend-app"),
    );
}

#[test]
fn three_deep_nesting_across_two_repositories_follows_insteadof_and_version_constraints() {
    let platform = shared_repo("platform");
    let addons = shared_repo("addons");
    let i = install_fresh(
        &platform.source("edge-stack", Some("edge-stack/v1.1.0")),
        "edge",
        "edge-stack",
        "1.1.0",
        &[],
    );
    assert_eq!(
        artifact_ids(&i.gitops, "edge"),
        [
            "gateway-dns-domains",
            "gateway-dns-external-dns",
            "gateway-traefik",
            "oauth2-proxy",
            "policies"
        ]
    );
    let w = wrappers(&i.gitops, "edge");
    let deps = |id: &str| depends_on(&w[id]);
    assert!(deps("gateway-dns-external-dns").contains(&"edge-gateway-dns-domains".to_string()));
    assert!(deps("gateway-dns-external-dns").contains(&"edge-gateway-traefik".to_string()));
    assert!(deps("gateway-dns-domains").contains(&"edge-gateway-traefik".to_string()));
    for d in [
        "edge-gateway-dns-domains",
        "edge-gateway-dns-external-dns",
        "edge-gateway-traefik",
        "edge-policies",
    ] {
        assert!(
            deps("oauth2-proxy").contains(&d.to_string()),
            "oauth2-proxy: {:?}",
            deps("oauth2-proxy")
        );
    }
    let hrs = install_objects(&i.gitops, "edge", "HelmRelease");
    let version_of = |id: &str| {
        hrs.iter()
            .find(|(f, _)| f.starts_with(&format!("artifacts/{id}/")))
            .unwrap_or_else(|| panic!("no HelmRelease for {id}"))
            .1["spec"]["chart"]["spec"]["version"]
            .clone()
    };
    // gateway "~0.1" -> 0.1.1 (traefik 29.0.1), not 0.2.0 (traefik 30.0.0)
    assert_eq!(version_of("gateway-traefik"), "29.0.1");
    // gateway 0.1.1 nests external-dns/v0.15.0 from addons (chart 1.15.0)
    assert_eq!(version_of("gateway-dns-external-dns"), "1.15.0");
    assert_eq!(version_of("oauth2-proxy"), "7.8.0");
    let record =
        std::fs::read_to_string(install_dir(&i.gitops, "edge").join("profile-installation.yaml"))
            .unwrap();
    assert!(
        record.contains(&addons.rev("external-dns/v0.15.0")),
        "the record lacks the addons commit:\n{record}"
    );
}

#[test]
fn long_installation_names_give_distinct_object_names_of_at_most_63_characters() {
    let platform = shared_repo("platform");
    let name = "a-rather-long-installation-name-for-the-edge-stack";
    let i = install_fresh(
        &platform.source("edge-stack", None),
        name,
        "edge-stack",
        "1.1.0",
        &[],
    );
    let w = wrappers(&i.gitops, name);
    let names: std::collections::BTreeSet<String> = w.values().map(name_of).collect();
    assert_eq!(names.len(), w.len(), "wrapper names collide: {names:?}");
    for n in &names {
        assert!(is_dns1123_label(n), "{n:?}");
    }
    // short enough ones keep the plain form
    assert!(names.contains(&format!("{name}-policies")));
}

#[test]
fn legacy_profile_installs_with_a_warning() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("legacy-nginx", None),
        "legacy",
        "legacy-nginx",
        "0.0.2",
        &[],
    );
    let err = stderr(&i.out).to_lowercase();
    assert!(
        err.contains("warning"),
        "no warning for a legacy profile\n{}",
        describe(&i.out)
    );
    assert!(
        err.contains("profiles.fluxcd.io") || err.contains("legacy"),
        "{}",
        describe(&i.out)
    );
    assert_eq!(
        artifact_ids(&i.gitops, "legacy"),
        ["nginx-deployment", "nginx-server"]
    );
    assert_eq!(
        tree_files(&install_dir(&i.gitops, "legacy").join("artifacts/nginx-server/chart")),
        repo_files_at(
            shared_repo("platform").path(),
            "legacy-nginx/v0.0.2",
            "legacy-nginx/nginx/chart"
        )
    );
}

#[test]
fn legacy_spec_name_equal_to_metadata_name_is_ignored_with_a_warning() {
    let platform = shared_repo("platform");
    let i = install_fresh(&platform.source("web", None), "web", "web", "1.1.0", &[]);
    let err = stderr(&i.out).to_lowercase();
    assert!(
        err.contains("warning") && err.contains("spec.name"),
        "{}",
        describe(&i.out)
    );
}

// --- determinism -----------------------------------------------------------

#[test]
fn the_same_install_in_two_repositories_gives_byte_identical_trees() {
    let platform = shared_repo("platform");
    let addons = shared_repo("addons");
    let mut trees = Vec::new();
    // two sandboxes: different caches and paths must not leak into the output
    for _ in 0..2 {
        let env = Env::new();
        env.map_addons(addons);
        let gitops = env.init_gitops("gitops");
        for (sub, name) in [
            ("monitoring", "mon"),
            ("edge-stack", "edge"),
            ("podinfo", "demo"),
        ] {
            assert_success(&env.install(&gitops, &platform.source(sub, None), name, &[]));
        }
        trees.push((env, gitops));
    }
    let diff = tree_diff(&trees[0].1, &trees[1].1);
    assert!(
        diff.is_empty(),
        "two identical installs differ:\n{}",
        diff.join("\n")
    );
    assert_eq!(
        git(&trees[0].1, &["rev-parse", "HEAD^{tree}"]),
        git(&trees[1].1, &["rev-parse", "HEAD^{tree}"])
    );
    flux_dry_run(&trees[0].1);
}

#[test]
fn reinstalling_after_uninstall_writes_the_same_files() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "demo", &[]));
    let first = tree_files(&install_dir(&gitops, "demo"));
    assert_success(&env.pctl(["uninstall", "demo", "--repo", &gitops.display().to_string()]));
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "demo", &[]));
    assert_eq!(tree_files(&install_dir(&gitops, "demo")), first);
}

#[test]
fn render_prints_the_manifests_deterministically_without_writing_anything() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let src = platform.source("monitoring", Some("monitoring/v0.2.0"));
    let a = env.pctl(["render", &src, "--name", "mon"]);
    assert_success(&a);
    let b = env.pctl(["render", &src, "--name", "mon"]);
    assert_success(&b);
    assert_eq!(stdout(&a), stdout(&b), "render is not deterministic");
    let docs = yaml_docs_str(&stdout(&a));
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    for k in [
        "Kustomization",
        "HelmRelease",
        "HelmRepository",
        "ConfigMap",
    ] {
        assert!(kinds.contains(&k), "render output lacks a {k}: {kinds:?}");
    }
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "Kustomization" && name_of(d) == "mon-ingress-controller")
    );
    assert!(
        walk(&env.work).is_empty(),
        "render wrote files into the current directory"
    );
}

#[test]
fn render_uses_the_given_namespace() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let out = env.pctl([
        "render",
        &platform.source("nginx", None),
        "--name",
        "ingress",
        "--namespace",
        "ingress-system",
    ]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("ingress-system"),
        "{}",
        describe(&out)
    );
}

// --- flags -----------------------------------------------------------------

#[test]
fn dry_run_prints_a_unified_diff_and_changes_nothing() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let src = platform.source("nginx", Some("nginx/v1.1.0"));
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &src, "ingress", &["--dry-run"]);
    assert_success(&out);
    assert_unchanged(&before, &snapshot(&gitops));
    let diff = stdout(&out);
    assert!(
        diff.contains("+++ ") && diff.contains("--- ") && diff.contains("@@"),
        "not a unified diff:\n{diff}"
    );
    assert!(
        diff.contains(&format!(
            "{INSTALL_PATH}/ingress/artifacts/controller/kustomize-flux.yaml"
        )),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("{INSTALL_PATH}/kustomization.yaml")),
        "{diff}"
    );
    // what the diff adds is what a real install writes
    assert_success(&env.install(&gitops, &src, "ingress", &[]));
    let written = std::fs::read_to_string(
        install_dir(&gitops, "ingress").join("artifacts/controller/kustomize-flux.yaml"),
    )
    .unwrap();
    for line in written.lines() {
        assert!(
            diff.contains(&format!("+{line}")),
            "dry-run diff lacks the line {line:?}"
        );
    }
}

#[test]
fn no_commit_writes_the_files_but_does_not_commit() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let before = head(&gitops);
    let out = env.install(
        &gitops,
        &platform.source("nginx", None),
        "ingress",
        &["--no-commit"],
    );
    assert_success(&out);
    assert_eq!(head(&gitops), before, "--no-commit made a commit");
    assert!(!is_clean(&gitops), "--no-commit wrote nothing");
    check_installation(&gitops, "ingress");
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-q", "-m", "by hand"]);
    flux_dry_run(&gitops);
}

#[test]
fn message_flag_sets_the_commit_message() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let out = env.install(
        &gitops,
        &platform.source("nginx", None),
        "ingress",
        &["-m", "Ingress for the payments team"],
    );
    assert_success(&out);
    assert_eq!(head_subject(&gitops), "Ingress for the payments team");
    assert_eq!(commit_count(&gitops), 2);
}

/// Whether every artifact of an installation ends up in namespace `ns`: the
/// wrapper's targetNamespace, the HelmRelease's targetNamespace/namespace, or
/// the objects' own namespace.
fn assert_targets_namespace(gitops: &Path, name: &str, ns: &str) {
    let dir = install_dir(gitops, name);
    for (id, w) in wrappers(gitops, name) {
        if w["spec"]["targetNamespace"] == ns {
            continue;
        }
        let art = dir.join("artifacts").join(&id);
        let hrs = objects_of_kind(&art, "HelmRelease");
        let ok = if !hrs.is_empty() {
            hrs.iter().all(|(_, h)| {
                h["spec"]["targetNamespace"] == ns || h["metadata"]["namespace"] == ns
            })
        } else {
            yaml_objects(&art)
                .iter()
                .filter(|(f, d)| {
                    !f.ends_with("kustomization.yaml")
                        && !f.ends_with("kustomize-flux.yaml")
                        && d["kind"] != "Namespace"
                })
                .all(|(_, d)| d["metadata"]["namespace"] == ns)
        };
        assert!(ok, "artifact {id} of {name} does not target namespace {ns}");
    }
}

#[test]
fn namespace_flag_targets_the_namespace_and_defaults_to_default() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(
        &gitops,
        &platform.source("nginx", None),
        "ingress",
        &["--namespace", "ingress-system"],
    ));
    assert_success(&env.install(&gitops, &platform.source("podinfo", None), "demo", &[]));
    let list = env.list_json(&gitops);
    assert_eq!(list_entry(&list, "ingress")["namespace"], "ingress-system");
    assert_eq!(list_entry(&list, "demo")["namespace"], "default");
    assert_targets_namespace(&gitops, "ingress", "ingress-system");
    assert_targets_namespace(&gitops, "demo", "default");
    flux_dry_run(&gitops);
}

#[test]
fn path_flag_installs_elsewhere_and_flux_still_reaches_it() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let out = env.install(
        &gitops,
        &platform.source("nginx", None),
        "ingress",
        &["--path", "clusters/default/apps"],
    );
    assert_success(&out);
    let dir = gitops.join("clusters/default/apps/ingress");
    assert!(dir.join("profile-installation.yaml").is_file());
    let w = yaml_file(&dir.join("artifacts/controller/kustomize-flux.yaml"));
    assert_eq!(
        w["spec"]["path"],
        "./clusters/default/apps/ingress/artifacts/controller"
    );
    let report = flux_dry_run(&gitops);
    assert!(
        flux_summary(&report).1 >= 2,
        "the installation under --path is not reached by Flux:\n{report}"
    );
    let list = env.list_json(&gitops);
    assert!(
        list_entry(&list, "ingress")["path"]
            .as_str()
            .unwrap_or("")
            .contains("clusters/default/apps"),
        "{list:?}"
    );
}

#[test]
fn install_from_a_subdirectory_of_the_gitops_repository_defaults_repo_to_it() {
    let platform = shared_repo("platform");
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let cwd = gitops.join("clusters/default");
    let out = env.pctl_in(
        &cwd,
        [
            "install",
            &platform.source("nginx", None),
            "--name",
            "ingress",
        ],
    );
    assert_success(&out);
    // paths stay relative to the repository root, whatever the cwd
    check_installation(&gitops, "ingress");
    assert!(!cwd.join(INSTALL_PATH).exists());
    flux_dry_run(&gitops);
}

#[test]
fn installation_record_holds_source_versions_commits_and_file_hashes() {
    let platform = shared_repo("platform");
    let addons = shared_repo("addons");
    let i = install_fresh(
        &platform.source("edge-stack", Some("^1.0")),
        "edge",
        "edge-stack",
        "1.1.0",
        &[],
    );
    let dir = install_dir(&i.gitops, "edge");
    let record = std::fs::read_to_string(dir.join("profile-installation.yaml")).unwrap();
    yaml_docs_str(&record);
    for needle in [
        platform.url(),
        "edge-stack".to_string(),
        "^1.0".to_string(),
        "1.1.0".to_string(),
        platform.rev("edge-stack/v1.1.0"),
        addons.rev("external-dns/v0.15.0"),
        "0.1.1".to_string(),  // gateway, resolved from ~0.1
        "0.15.0".to_string(), // external-dns
        "29.0.1".to_string(), // traefik chart
        "7.8.0".to_string(),  // oauth2-proxy chart
    ] {
        assert!(
            record.contains(&needle),
            "profile-installation.yaml lacks {needle:?}:\n{record}"
        );
    }
    for (rel, data) in tree_files(&dir) {
        if rel == "profile-installation.yaml" {
            continue;
        }
        assert!(
            record.contains(&sha256_hex(&data)),
            "profile-installation.yaml lacks the SHA-256 of {rel}"
        );
    }
}
