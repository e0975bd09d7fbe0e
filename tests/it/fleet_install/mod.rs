//! One install, several clusters, one commit, one copy
//! (docs/fleets.md#one-install-several-clusters-one-copy): `pctl install … --cluster
//! a,b` / `--all-clusters` writes every cluster's installation in one commit, stores
//! what is identical in every cluster once under `bases/`, and status, list, sync,
//! upgrade, uninstall and check read it through the record's `bases`.
use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

mod more;

const DIRS: [(&str, &str); 3] = [
    ("dev", "clusters/dev/profiles/shop"),
    ("production", "clusters/production/profiles/shop"),
    ("staging", "clusters/staging/profiles/shop"),
];
const BASE: &str = "bases/shop/1.0.0";

fn repo_arg(gitops: &Path) -> String {
    gitops.display().to_string()
}

/// `pctl ARGS... --repo GITOPS`.
fn run(env: &Env, gitops: &Path, args: &[&str]) -> std::process::Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.push("--repo".into());
    all.push(repo_arg(gitops));
    env.pctl(&all)
}

fn shop(version: &str) -> String {
    shared_repo("fleet").source("shop", Some(&format!("shop/v{version}")))
}

/// A fleet of dev, staging and production where production runs 3 replicas and
/// staging greets differently (cluster values levels).
fn fleet(env: &Env) -> PathBuf {
    let gitops = env.root.join("fleet");
    let out = env.pctl([
        "init",
        &repo_arg(&gitops),
        "--cluster",
        "dev,staging,production",
    ]);
    assert_success(&out);
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/production.yaml",
        "replicas: 3\n",
    );
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/staging.yaml",
        "greeting: hi there\n",
    );
    gitops
}

fn install_all(env: &Env, gitops: &Path) {
    let out = env.install(
        gitops,
        &shop("1.0.0"),
        "shop",
        &["--all-clusters", "--namespace", "shop"],
    );
    assert_success(&out);
}

/// Every file of the work tree (not .git), relative.
fn all_files(gitops: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(gitops)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(gitops)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

/// The paths the last commit changed.
fn last_changed(gitops: &Path) -> Vec<String> {
    git(gitops, &["diff", "--name-only", "HEAD~1", "HEAD"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// `pctl status shop --cluster C -o json`.
fn status(env: &Env, gitops: &Path, cluster: &str) -> Value {
    let out = run(
        env,
        gitops,
        &[
            "status",
            "shop",
            "--cluster",
            cluster,
            "-o",
            "json",
            "--offline",
        ],
    );
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_clean(env: &Env, gitops: &Path, cluster: &str) {
    let s = status(env, gitops, cluster);
    for k in ["modified", "added", "removed"] {
        assert_eq!(s["drift"][k], Value::Array(vec![]), "{cluster} {k}: {s}");
    }
}

fn kustomize_builds(dir: &Path) {
    if !tool_or_skip(runs("kubectl", &["version", "--client"]), "kubectl") {
        return;
    }
    let built = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&built.stderr)
    );
}

fn check_every_cluster(gitops: &Path) {
    let out = run_check(gitops, &["--all-clusters"]);
    assert_success(&out);
    for (c, _) in DIRS {
        pctl_check_with(gitops, &["--path", &format!("clusters/{c}")]);
    }
}

#[test]
fn one_install_into_three_clusters_is_one_commit_and_one_copy() {
    let env = Env::new();
    let gitops = fleet(&env);
    let commits = commit_count(&gitops);
    install_all(&env, &gitops);
    assert_eq!(commit_count(&gitops), commits + 1);
    assert_eq!(
        head_subject(&gitops),
        "pctl: install shop 1.0.0 as shop in dev, production, staging"
    );
    let files = all_files(&gitops);
    // The chart, the plain YAML and the Namespace are stored once.
    for name in ["Chart.yaml", "deployment.yaml", "catalog.yaml"] {
        let found: Vec<&String> = files.iter().filter(|f| f.ends_with(name)).collect();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(found[0].starts_with(BASE), "{found:?}");
    }
    for f in [
        "front/chart/Chart.yaml",
        "front/chart/templates/service.yaml",
        "static/catalog.yaml",
        "static/kustomization.yaml",
        "namespace/kustomization.yaml",
    ] {
        assert!(files.contains(&format!("{BASE}/{f}")), "{f}: {files:#?}");
    }
    // The templated settings differ in staging: every cluster keeps its own.
    let greetings: Vec<&String> = files
        .iter()
        .filter(|f| f.ends_with("greeting.yaml"))
        .collect();
    assert_eq!(greetings.len(), 3, "{greetings:?}");
    for (c, dir) in DIRS {
        let rec = yaml_file(&gitops.join(dir).join("profile-installation.yaml"));
        let bases = &rec["spec"]["bases"];
        assert_eq!(
            bases["front"],
            serde_json::json!({"path": format!("{BASE}/front"), "holds": "chart"}),
            "{c}"
        );
        assert_eq!(
            bases["static"],
            serde_json::json!({"path": format!("{BASE}/static"), "holds": "artifact", "wrapper": true}),
            "{c}"
        );
        assert_eq!(bases["namespace"]["wrapper"], true, "{c}: {bases}");
        assert!(bases.get("settings").is_none(), "{c}: {bases}");
        // The wrapper of an artifact shared whole is the same in every cluster: stored
        // once beside the base, and the cluster's kustomization names its directory;
        // the HelmRelease takes its chart from the base, with this cluster's values.
        for gone in [
            "artifacts/static/kustomize-flux.yaml",
            "artifacts/static/catalog.yaml",
            "artifacts/namespace",
        ] {
            assert!(!gitops.join(dir).join(gone).exists(), "{c}: {gone}");
        }
        let k = yaml_file(&gitops.join(dir).join("kustomization.yaml"));
        assert_eq!(
            k["resources"],
            serde_json::json!([
                format!("../../../../{BASE}/namespace.flux"),
                "artifacts/front/kustomize-flux.yaml",
                format!("../../../../{BASE}/static.flux"),
                "artifacts/settings/kustomize-flux.yaml",
            ]),
            "{c}"
        );
        assert!(
            gitops
                .join(dir)
                .join("artifacts/front/kustomize-flux.yaml")
                .exists()
        );
        // Every installation directory builds, the shared wrappers included.
        kustomize_builds(&gitops.join(dir));
        let hr = yaml_file(&gitops.join(dir).join("artifacts/front/helm-release.yaml"));
        assert_eq!(
            hr["spec"]["chart"]["spec"]["chart"],
            format!("./{BASE}/front/chart")
        );
        let replicas = if c == "production" { 3 } else { 1 };
        assert_eq!(hr["spec"]["values"]["replicaCount"], replicas, "{c}");
        let greeting =
            std::fs::read_to_string(gitops.join(dir).join("artifacts/settings/greeting.yaml"))
                .unwrap();
        let want = if c == "staging" { "hi there" } else { "hello" };
        assert!(greeting.contains(want), "{c}: {greeting}");
        kustomize_builds(&gitops.join(dir).join("artifacts/settings"));
        assert_clean(&env, &gitops, c);
    }
    kustomize_builds(&gitops.join(BASE).join("static"));
    let wrapper = yaml_file(&gitops.join(BASE).join("static.flux/kustomize-flux.yaml"));
    assert_eq!(wrapper["spec"]["path"], format!("./{BASE}/static"));
    assert_eq!(
        files
            .iter()
            .filter(|f| f.ends_with("kustomize-flux.yaml"))
            .count(),
        2 + 2 * 3,
        "{files:#?}"
    );
    check_every_cluster(&gitops);
    // `list` of each cluster: clean (the fleet view of several is in clusters.rs).
    for (c, dir) in DIRS {
        let out = run(&env, &gitops, &["list", "--cluster", c, "-o", "json"]);
        assert_success(&out);
        let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["path"], *dir, "{list:?}");
        for k in ["modified", "added", "removed"] {
            assert_eq!(list[0]["drift"][k], Value::Array(vec![]), "{list:?}");
        }
    }
    // An edit to a base file is drift in every cluster that uses it.
    let catalog = gitops.join(BASE).join("static/catalog.yaml");
    let text = std::fs::read_to_string(&catalog).unwrap();
    std::fs::write(&catalog, text.replace("EUR", "USD")).unwrap();
    for (c, _) in DIRS {
        let s = status(&env, &gitops, c);
        assert_eq!(
            s["drift"]["modified"],
            serde_json::json!(["artifacts/static/catalog.yaml"]),
            "{c}: {s}"
        );
    }
    std::fs::write(&catalog, text).unwrap();
}

#[test]
fn a_dry_run_into_two_clusters_prints_the_one_commit_and_writes_nothing() {
    let env = Env::new();
    let gitops = fleet(&env);
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--cluster", "staging,production", "--dry-run"],
    );
    assert_success(&out);
    let diff = stdout(&out);
    for path in [
        "bases/shop/1.0.0/front/chart/Chart.yaml",
        "bases/shop/1.0.0/static/catalog.yaml",
        "clusters/staging/profiles/shop/artifacts/front/helm-release.yaml",
        "bases/shop/1.0.0/static.flux/kustomize-flux.yaml",
        "clusters/production/profiles/shop/kustomization.yaml",
    ] {
        assert!(diff.contains(&format!("+++ b/{path}")), "{path}:\n{diff}");
    }
    assert!(!diff.contains("clusters/dev/"), "{diff}");
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn a_clash_in_one_cluster_writes_nothing_in_any() {
    let env = Env::new();
    let gitops = fleet(&env);
    // production already has the shop's ConfigMaps, under another installation.
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "old-shop",
        &["--cluster", "production", "--namespace", "shop"],
    );
    assert_success(&out);
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--all-clusters", "--namespace", "shop"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "in cluster production",
            "install of shop",
            "already have an owner",
            "ConfigMap shop/shop-catalog",
            "old-shop",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    assert!(!gitops.join("bases").exists());
    // --path names one directory: refused with several clusters.
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--cluster", "dev,staging", "--path", "apps"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["--path names one directory", "2 clusters"]);
    assert_unchanged(&before, &snapshot(&gitops));
    // Two clusters with one installPath cannot both hold an installation of one name.
    let config = std::fs::read_to_string(gitops.join(".pctl/config.yaml")).unwrap();
    let shared = config
        .replace("installPath: clusters/dev/profiles", "installPath: apps")
        .replace(
            "installPath: clusters/staging/profiles",
            "installPath: apps",
        );
    assert_ne!(shared, config);
    env.commit_file(&gitops, ".pctl/config.yaml", &shared);
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &shop("1.0.0"),
        "shop",
        &["--cluster", "dev,staging"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "clusters dev and staging would both hold the installation in apps/shop",
            "hint: give each cluster an installPath of its own",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn editing_one_clusters_values_and_syncing_changes_only_that_cluster() {
    let env = Env::new();
    let gitops = fleet(&env);
    install_all(&env, &gitops);
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/production.yaml",
        "replicas: 5\n",
    );
    let out = run(&env, &gitops, &["sync", "--cluster", "production"]);
    assert_success(&out);
    let changed = last_changed(&gitops);
    assert!(!changed.is_empty());
    for p in &changed {
        assert!(
            p.starts_with("clusters/production/profiles/shop/"),
            "{changed:?}"
        );
    }
    let hr = yaml_file(
        &gitops.join("clusters/production/profiles/shop/artifacts/front/helm-release.yaml"),
    );
    assert_eq!(hr["spec"]["values"]["replicaCount"], 5);
    assert_eq!(
        hr["spec"]["chart"]["spec"]["chart"],
        format!("./{BASE}/front/chart")
    );
    for (c, _) in DIRS {
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
    // Nothing changed for dev: its sync changes nothing, bases included.
    let commits = commit_count(&gitops);
    let out = run(&env, &gitops, &["sync", "--cluster", "dev"]);
    assert_success(&out);
    assert_eq!(commit_count(&gitops), commits, "{}", describe(&out));
    // An edit by hand to a base is kept by a sync (drift in every cluster using it) ...
    let catalog = format!("{BASE}/static/catalog.yaml");
    let text = std::fs::read_to_string(gitops.join(&catalog)).unwrap();
    env.commit_file(&gitops, &catalog, &text.replace("EUR", "USD"));
    let commits = commit_count(&gitops);
    let out = run(&env, &gitops, &["sync", "--cluster", "dev"]);
    assert_success(&out);
    assert_eq!(commit_count(&gitops), commits, "{}", describe(&out));
    // ... and by an upgrade, which gives dev its own copy with the edit merged in.
    let out = run(
        &env,
        &gitops,
        &["upgrade", "shop", "--cluster", "dev", "--to", "1.1.0"],
    );
    assert_success(&out);
    let mine =
        std::fs::read_to_string(gitops.join(DIRS[0].1).join("artifacts/static/catalog.yaml"))
            .unwrap();
    assert!(
        mine.contains("USD") && mine.contains("items: \"20\""),
        "{mine}"
    );
    let s = status(&env, &gitops, "dev");
    assert_eq!(
        s["drift"]["modified"],
        serde_json::json!(["artifacts/static/catalog.yaml"])
    );
    let s = status(&env, &gitops, "staging");
    assert_eq!(
        s["drift"]["modified"],
        serde_json::json!(["artifacts/static/catalog.yaml"])
    );
}

#[test]
fn upgrading_one_cluster_gives_it_its_own_copy_and_the_last_one_frees_what_changed() {
    let env = Env::new();
    let gitops = fleet(&env);
    install_all(&env, &gitops);
    let out = run(
        &env,
        &gitops,
        &["upgrade", "shop", "--cluster", "staging", "--to", "1.1.0"],
    );
    assert_success(&out);
    let changed = last_changed(&gitops);
    for p in &changed {
        assert!(p.starts_with("clusters/staging/"), "{changed:?}");
    }
    let staging = gitops.join("clusters/staging/profiles/shop");
    let chart = std::fs::read_to_string(staging.join("artifacts/front/chart/Chart.yaml")).unwrap();
    assert!(chart.contains("version: 0.4.0"), "{chart}");
    let rec = yaml_file(&staging.join("profile-installation.yaml"));
    // What did not change (the Namespace) stays shared.
    let kept: Vec<&String> = rec["spec"]["bases"].as_object().unwrap().keys().collect();
    assert_eq!(kept, ["namespace"], "{rec}");
    assert!(gitops.join(BASE).join("front/chart/Chart.yaml").is_file());
    for (c, _) in DIRS {
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
    for c in ["dev", "production"] {
        let out = run(
            &env,
            &gitops,
            &["upgrade", "shop", "--cluster", c, "--to", "1.1.0"],
        );
        assert_success(&out);
    }
    // The chart and the catalog changed: every cluster has its own now, and the old
    // base is gone; the Namespace did not, and is still shared by all three.
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
        ],
        "{}",
        git(&gitops, &["log", "--stat", "-3"])
    );
    for (c, dir) in DIRS {
        let rec = yaml_file(&gitops.join(dir).join("profile-installation.yaml"));
        let bases: Vec<&String> = rec["spec"]["bases"].as_object().unwrap().keys().collect();
        assert_eq!(bases, ["namespace"], "{c}");
    }
    for (c, _) in DIRS {
        assert_clean(&env, &gitops, c);
    }
    check_every_cluster(&gitops);
}
