//! More fleet-install tests: see the module above for the fleet and helpers.
use super::*;

#[test]
fn uninstall_from_one_cluster_keeps_the_base_for_the_others() {
    let env = Env::new();
    let gitops = fleet(&env);
    install_all(&env, &gitops);
    let out = run(
        &env,
        &gitops,
        &["uninstall", "shop", "--cluster", "staging"],
    );
    assert_success(&out);
    assert_eq!(head_subject(&gitops), "pctl: uninstall shop");
    assert!(!gitops.join(DIRS[2].1).exists());
    assert!(gitops.join(BASE).join("static/catalog.yaml").is_file());
    for c in ["dev", "production"] {
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
    // The last two in one commit: the base goes with them.
    let out = run(
        &env,
        &gitops,
        &["uninstall", "shop", "--cluster", "dev,production"],
    );
    assert_success(&out);
    assert_eq!(
        head_subject(&gitops),
        "pctl: uninstall shop from dev, production"
    );
    assert!(!gitops.join("bases").exists(), "{:#?}", all_files(&gitops));
    assert!(!gitops.join(DIRS[0].1).exists());
    check_every_cluster(&gitops);
    // Nothing left to uninstall in staging: refused, naming the cluster.
    let before = snapshot(&gitops);
    let out = run(&env, &gitops, &["uninstall", "shop", "--all-clusters"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["no installation named \"shop\" in cluster dev"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn bases_go_where_the_config_says_and_never_where_a_cluster_applies_them() {
    let env = Env::new();
    let gitops = fleet(&env);
    let config = std::fs::read_to_string(gitops.join(".pctl/config.yaml")).unwrap();
    // Inside a cluster's sync path, its Flux would apply the shared files on their own.
    env.commit_file(
        &gitops,
        ".pctl/config.yaml",
        &format!("{config}basesPath: clusters/staging/shared\n"),
    );
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &shop("1.0.0"), "shop", &["--all-clusters"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            ".pctl/config.yaml:15: basesPath clusters/staging/shared overlaps cluster staging's syncPath clusters/staging",
            "Flux would apply the shared files on their own",
            "hint: set basesPath in .pctl/config.yaml to a directory outside every cluster's paths",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    for (bad, why) in [
        (".pctl/shared", "is inside .pctl/, pctl's own directory"),
        (".", "is the repository root"),
    ] {
        env.commit_file(
            &gitops,
            ".pctl/config.yaml",
            &format!("{config}basesPath: {bad}\n"),
        );
        let before = snapshot(&gitops);
        let out = env.install(&gitops, &shop("1.0.0"), "shop", &["--all-clusters"]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["basesPath", why]);
        assert_unchanged(&before, &snapshot(&gitops));
    }
    // Ignored by .sourceignore: Flux would not see them.
    env.commit_file(
        &gitops,
        ".pctl/config.yaml",
        &format!("{config}basesPath: shared/fleet\n"),
    );
    let ignore = std::fs::read_to_string(gitops.join(".sourceignore")).unwrap();
    env.commit_file(&gitops, ".sourceignore", &format!("{ignore}shared/\n"));
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &shop("1.0.0"), "shop", &["--all-clusters"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "basesPath shared/fleet is ignored by .sourceignore (pattern \"shared/\")",
            "Flux would not see the files the clusters share",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    env.commit_file(&gitops, ".sourceignore", &ignore);
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--cluster", "dev,staging"],
    );
    assert_success(&out);
    assert!(
        gitops
            .join("shared/fleet/shop/1.0.0/front/chart/Chart.yaml")
            .is_file()
    );
    assert!(!gitops.join("bases").exists());
    assert_clean(&env, &gitops, "dev");
    check_every_cluster(&gitops);
}

#[test]
fn a_second_fleet_install_of_the_same_version_gets_its_own_base() {
    let env = Env::new();
    let gitops = fleet(&env);
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--cluster", "dev,staging"],
    );
    assert_success(&out);
    let out = run(&env, &gitops, &["uninstall", "shop", "--cluster", "dev"]);
    assert_success(&out);
    assert!(gitops.join(BASE).is_dir(), "staging still uses it");
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--cluster", "dev,production"],
    );
    assert_success(&out);
    let rec = yaml_file(&gitops.join(DIRS[0].1).join("profile-installation.yaml"));
    assert_eq!(
        rec["spec"]["bases"]["front"]["path"],
        "bases/shop/1.0.0-2/front"
    );
    let rec = yaml_file(&gitops.join(DIRS[2].1).join("profile-installation.yaml"));
    assert_eq!(
        rec["spec"]["bases"]["front"]["path"],
        "bases/shop/1.0.0/front"
    );
    for (c, _) in DIRS {
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
    // Uninstalling everywhere in one commit removes both.
    let out = run(&env, &gitops, &["uninstall", "shop", "--all-clusters"]);
    assert_success(&out);
    assert_eq!(
        head_subject(&gitops),
        "pctl: uninstall shop from dev, production, staging"
    );
    assert!(!gitops.join("bases").exists(), "{:#?}", all_files(&gitops));
}

/// Several clusters in one pull request: one branch named after them all.
#[test]
fn a_pull_request_into_several_clusters_is_one_branch() {
    use crate::common::forge::Forge;
    use crate::pr::{Transport, world};
    let w = world(Forge::GitHub, Transport::Daemon);
    let local = w.local.display().to_string();
    for c in ["staging", "production"] {
        assert_success(&w.pctl(&["cluster", "add", c, "--repo", &local]));
    }
    git(&w.local, &["push", "-q", "origin", "main"]);
    let before = head(&w.local);
    let out = w.pctl(&[
        "install",
        &shop("1.0.0"),
        "--name",
        "shop",
        "--cluster",
        "staging,production",
        "--repo",
        &local,
        "--create-pr",
    ]);
    assert_success(&out);
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 1, "{prs:?}");
    assert_eq!(prs[0].head, "pctl/install-staging.production.shop-1.0.0");
    assert_eq!(
        prs[0].title,
        "pctl: install shop 1.0.0 as shop in staging, production"
    );
    // The work tree's branch is left alone.
    assert_eq!(head(&w.local), before);
}

/// The in-cluster diff (helm template) of a chart stored in a base: read from there.
#[test]
fn a_sync_dry_run_renders_the_shared_chart() {
    if !helm_sdk() {
        return;
    }
    let env = Env::new();
    let gitops = fleet(&env);
    install_all(&env, &gitops);
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/production.yaml",
        "replicas: 5\n",
    );
    let (with_shim, _) = path_with_helm_shim();
    env.set_var("PATH", &with_shim);
    let before = snapshot(&gitops);
    let out = run(
        &env,
        &gitops,
        &["sync", "--cluster", "production", "--dry-run"],
    );
    assert_success(&out);
    let text = stdout(&out);
    let at = text
        .find("# What changes in the cluster (helm template, per HelmRelease):\n")
        .unwrap_or_else(|| panic!("no cluster section:\n{}", describe(&out)));
    let cluster = &text[at..];
    assert!(
        cluster.contains("Deployment")
            && cluster.contains("-  replicas: 3")
            && cluster.contains("+  replicas: 5"),
        "{cluster}"
    );
    assert!(!cluster.contains(": added"), "{cluster}");
    assert_unchanged(&before, &snapshot(&gitops));
}

/// SOPS-encrypted secrets are never byte-identical (a fresh data key each time): they
/// stay in each cluster, with the HelmRelease that reads them.
#[test]
fn encrypted_secrets_stay_in_each_cluster() {
    let env = Env::new();
    let gitops = env.root.join("fleet");
    let out = env.pctl([
        "init",
        &repo_arg(&gitops),
        "--cluster",
        "staging,production",
    ]);
    assert_success(&out);
    env.commit_file(&gitops,
        ".sops.yaml",
        "creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: age1vm40eudx5hll86463mz9hqhsem9vavp5ufp5tthesquzjezvp5ns0e7dxv\n",
    );
    let src = shared_repo("params").source("secure-app", Some("1.0.0"));
    env.set_var("PCTL_TEST_ADMIN", "correct-horse-battery");
    env.set_var("PCTL_TEST_DB", "staple-staple-staple");
    let out = env.install(
        &gitops,
        &src,
        "grafana",
        &[
            "--cluster",
            "staging,production",
            "--namespace",
            "grafana",
            "--set-env",
            "admin_password=PCTL_TEST_ADMIN",
            "--set-env",
            "db_password=PCTL_TEST_DB",
        ],
    );
    assert_success(&out);
    let files = all_files(&gitops);
    let secrets: Vec<&String> = files
        .iter()
        .filter(|f| f.ends_with("secret-values.yaml"))
        .collect();
    assert_eq!(
        secrets,
        [
            "clusters/production/profiles/grafana/artifacts/grafana/secret-values.yaml",
            "clusters/staging/profiles/grafana/artifacts/grafana/secret-values.yaml",
        ],
        "{files:#?}"
    );
    for f in &files {
        let text = std::fs::read_to_string(gitops.join(f)).unwrap_or_default();
        assert!(!text.contains("correct-horse"), "{f}");
    }
    for dir in ["clusters/staging", "clusters/production"] {
        let rec = yaml_file(
            &gitops
                .join(dir)
                .join("profiles/grafana/profile-installation.yaml"),
        );
        assert!(rec["spec"]["bases"].get("grafana").is_none(), "{rec}");
        pctl_check_with(&gitops, &["--path", dir]);
    }
    for c in ["staging", "production"] {
        let out = run(
            &env,
            &gitops,
            &[
                "status",
                "grafana",
                "--cluster",
                c,
                "-o",
                "json",
                "--offline",
            ],
        );
        assert_success(&out);
        let s: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["drift"]["modified"], Value::Array(vec![]), "{s}");
    }
}

/// An uncommitted edit in a base the uninstall would delete: refused, nothing written.
#[test]
fn uninstall_refuses_a_base_with_uncommitted_edits() {
    let env = Env::new();
    let gitops = fleet(&env);
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--cluster", "dev,staging"],
    );
    assert_success(&out);
    let catalog = gitops.join(BASE).join("static/catalog.yaml");
    std::fs::write(&catalog, "edited\n").unwrap();
    let before = snapshot(&gitops);
    let out = run(
        &env,
        &gitops,
        &["uninstall", "shop", "--cluster", "dev,staging"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["bases/shop/1.0.0", "uncommitted"]);
    assert_unchanged(&before, &snapshot(&gitops));
}
#[test]
fn upgrade_all_clusters_frees_the_old_base_in_one_commit() {
    let env = Env::new();
    let gitops = fleet(&env);
    install_all(&env, &gitops);
    let commits = commit_count(&gitops);
    let out = run(
        &env,
        &gitops,
        &["upgrade", "shop", "--all-clusters", "--to", "1.1.0"],
    );
    assert_success(&out);
    // The namespace artifact's wrapper is shared (`namespace.flux/` points at the base):
    // it was not removed, so nothing warns that Flux no longer applies it.
    assert!(
        !stderr(&out).contains("keeps files of an artifact"),
        "a shared wrapper's directory was taken for a removed artifact:\n{}",
        stderr(&out)
    );
    assert_eq!(commit_count(&gitops), commits + 1);
    let left: Vec<String> = all_files(&gitops)
        .into_iter()
        .filter(|f| f.starts_with("bases/"))
        .collect();
    assert_eq!(
        left,
        [
            format!("{BASE}/namespace.flux/kustomization.yaml"),
            format!("{BASE}/namespace.flux/kustomize-flux.yaml"),
            format!("{BASE}/namespace/kustomization.yaml"),
            format!("{BASE}/namespace/namespace.yaml")
        ]
    );
    for (c, _) in DIRS {
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
}

/// `pctl sync --all-clusters` after two clusters' values files changed: one commit
/// that touches those two clusters only, each with its own values.
#[test]
fn sync_of_every_cluster_is_one_commit_touching_only_the_clusters_whose_values_changed() {
    let env = Env::new();
    let gitops = fleet(&env);
    install_all(&env, &gitops);
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/production.yaml",
        "replicas: 5\n",
    );
    env.commit_file(&gitops, ".pctl/values/clusters/dev.yaml", "replicas: 1\n");
    let commits = commit_count(&gitops);
    let out = run(&env, &gitops, &["sync", "--all-clusters"]);
    assert_success(&out);
    assert_eq!(commit_count(&gitops), commits + 1, "{}", describe(&out));
    let subject = head_subject(&gitops);
    assert!(
        subject.contains("dev.shop")
            && subject.contains("production.shop")
            && !subject.contains("staging"),
        "{subject}"
    );
    let changed = last_changed(&gitops);
    assert!(
        changed
            .iter()
            .all(|p| p.starts_with("clusters/production/profiles/shop/")
                || p.starts_with("clusters/dev/profiles/shop/")),
        "{changed:?}"
    );
    for (cluster, replicas) in [("production", 5), ("dev", 1)] {
        let hr = yaml_file(&gitops.join(format!(
            "clusters/{cluster}/profiles/shop/artifacts/front/helm-release.yaml"
        )));
        assert_eq!(hr["spec"]["values"]["replicaCount"], replicas, "{cluster}");
    }
    for (c, _) in DIRS {
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
    // Nothing new: no commit.
    let out = run(&env, &gitops, &["sync", "--all-clusters"]);
    assert_success(&out);
    assert_eq!(commit_count(&gitops), commits + 1, "{}", describe(&out));
}

/// Clusters whose inputs are equal (dev and qa: no values of their own) get one
/// rendering moved to each directory (debug builds, as these tests run, render it
/// again there and compare the bytes); production and staging, whose cluster values
/// differ, are rendered with their own values.
#[test]
fn clusters_with_equal_inputs_share_a_rendering_and_the_others_keep_their_values() {
    let env = Env::new();
    let gitops = fleet(&env);
    assert_success(&run(&env, &gitops, &["cluster", "add", "qa"]));
    install_all(&env, &gitops);
    let dir = |c: &str| gitops.join(format!("clusters/{c}/profiles/shop"));
    let files = |c: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        let root = dir(c);
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(&root).unwrap().display().to_string();
                    out.push((rel, std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    };
    // qa's files are dev's with its own directory (the record's hashes of the files
    // naming it aside).
    let without_record = |c: &str, to: &str| -> Vec<(String, String)> {
        files(c)
            .into_iter()
            .filter(|(p, _)| p != "profile-installation.yaml")
            .map(|(p, t)| (p, t.replace(&format!("clusters/{c}/"), to)))
            .collect()
    };
    assert_eq!(
        without_record("qa", "clusters/qa/"),
        without_record("dev", "clusters/qa/")
    );
    for c in ["dev", "qa", "production", "staging"] {
        let rec = yaml_file(&dir(c).join("profile-installation.yaml"));
        assert_eq!(rec["spec"]["path"], format!("clusters/{c}/profiles/shop"));
        let hr = yaml_file(&dir(c).join("artifacts/front/helm-release.yaml"));
        let replicas = if c == "production" { 3 } else { 1 };
        assert_eq!(hr["spec"]["values"]["replicaCount"], replicas, "{c}");
        let greeting =
            std::fs::read_to_string(dir(c).join("artifacts/settings/greeting.yaml")).unwrap();
        let want = if c == "staging" { "hi there" } else { "hello" };
        assert!(greeting.contains(want), "{c}: {greeting}");
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
}

#[test]
fn clusters_with_the_same_inputs_at_other_depths_get_the_same_files_as_rendering_there() {
    // Five clusters with equal inputs: the first is rendered, the others moved from it.
    // b (deeper than a) is moved before the bases are planned; c and e (as deep as a)
    // from a's finished rendering; d (deeper still) as b was. Debug builds (these
    // tests) render every moved cluster again and fail the install (exit 2) on any
    // difference in bytes.
    let env = Env::new();
    let gitops = env.root.join("depths");
    let out = env.pctl(["init", &repo_arg(&gitops), "--cluster", "a"]);
    assert_success(&out);
    let syncs = [
        ("a", "clusters/a"),
        ("b", "envs/eu/b"),
        ("c", "clusters/c"),
        ("d", "envs/x/y/d"),
        ("e", "clusters/e"),
    ];
    for (name, sync) in &syncs[1..] {
        let out = run(
            &env,
            &gitops,
            &["cluster", "add", name, "--sync-path", sync],
        );
        assert_success(&out);
    }
    install_all(&env, &gitops);
    assert_eq!(
        head_subject(&gitops),
        "pctl: install shop 1.0.0 as shop in a, b, c, d, e"
    );
    for (name, sync) in syncs {
        let dir = format!("{sync}/profiles/shop");
        let record =
            std::fs::read_to_string(gitops.join(&dir).join("profile-installation.yaml")).unwrap();
        assert!(
            record.contains(&format!("\n  path: {dir}\n")),
            "{name}: {record}"
        );
        // Every recorded hash is the file's: no drift right after the install.
        assert_clean(&env, &gitops, name);
        pctl_check_with(&gitops, &["--path", sync]);
        kustomize_builds(&gitops.join(&dir));
    }
    let out = run_check(&gitops, &["--all-clusters"]);
    assert_success(&out);
}
