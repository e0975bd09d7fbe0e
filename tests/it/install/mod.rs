//! `pctl install` of every positive fixture profile, the layout it writes
//! (docs/layout.md), and the install flags (--dry-run, --no-commit, -m,
//! --namespace, --path).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

mod more;

/// What a successful install must leave behind, whatever the profile.
struct Installed {
    _env: Env,
    gitops: PathBuf,
    out: Output,
}

/// Installs `source` as `name` into a fresh GitOps repository (with the addons
/// URL mapped), then checks: exit 0, exactly one new commit
/// "pctl: install <profile> <version> as <name>" touching only the install
/// path, a clean work tree, the layout of docs/layout.md, `pctl list`, and flux-dry-run.
fn install_fresh(
    source: &str,
    name: &str,
    profile: &str,
    version: &str,
    extra: &[&str],
) -> Installed {
    let env = Env::new();
    env.map_addons(shared_repo("addons"));
    let gitops = env.init_gitops("gitops");
    let before = head(&gitops);
    let out = env.install(&gitops, source, name, extra);
    assert_success(&out);
    assert!(
        stderr(&out).lines().all(|l| !l.starts_with("error")),
        "{}",
        describe(&out)
    );
    assert_eq!(
        git(&gitops, &["rev-parse", "HEAD~1"]),
        before,
        "install must make exactly one commit"
    );
    assert_eq!(
        head_subject(&gitops),
        format!("pctl: install {profile} {version} as {name}")
    );
    assert!(
        is_clean(&gitops),
        "work tree not clean after install: {}",
        git(&gitops, &["status", "--porcelain"])
    );
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(
            f.starts_with(&format!("{INSTALL_PATH}/")),
            "the install commit touched {f}"
        );
    }
    check_installation(&gitops, name);
    let list = env.list_json(&gitops);
    let entry = list_entry(&list, name);
    assert_eq!(entry["profile"], profile);
    assert_eq!(entry["version"], version);
    let report = flux_dry_run(&gitops);
    let (_, objects) = flux_summary(&report);
    let wrappers = artifact_ids(&gitops, name).len();
    assert!(
        objects > wrappers,
        "flux-dry-run did not reach the installation's objects:\n{report}"
    );
    Installed {
        _env: env,
        gitops,
        out,
    }
}

macro_rules! installs_cleanly {
    ($test:ident, $repo:literal, $subdir:literal, $reference:expr, $name:literal, $profile:literal, $version:literal) => {
        #[test]
        fn $test() {
            let repo = shared_repo($repo);
            install_fresh(
                &repo.source($subdir, $reference),
                $name,
                $profile,
                $version,
                &[],
            );
        }
    };
}

// Every positive fixture profile, newest stable version and first version.
installs_cleanly!(
    installs_nginx_latest_stable,
    "platform",
    "nginx",
    None,
    "ingress",
    "nginx",
    "1.1.0"
);
installs_cleanly!(
    installs_nginx_1_0_0,
    "platform",
    "nginx",
    Some("nginx/v1.0.0"),
    "ingress",
    "nginx",
    "1.0.0"
);
installs_cleanly!(
    installs_podinfo_latest_local_chart,
    "platform",
    "podinfo",
    None,
    "demo",
    "podinfo",
    "6.1.0"
);
installs_cleanly!(
    installs_podinfo_6_0_0_tag_without_v,
    "platform",
    "podinfo",
    Some("6.0.0"),
    "demo",
    "podinfo",
    "6.0.0"
);
installs_cleanly!(
    installs_cert_manager_oci_chart,
    "platform",
    "cert-manager",
    None,
    "certs",
    "cert-manager",
    "1.15.0"
);
installs_cleanly!(
    installs_cert_manager_1_14_0,
    "platform",
    "cert-manager",
    Some("cert-manager/v1.14.0"),
    "certs",
    "cert-manager",
    "1.14.0"
);
installs_cleanly!(installs_web, "platform", "web", None, "web", "web", "1.1.0");
installs_cleanly!(
    installs_api_kustomize_with_generator,
    "platform",
    "api",
    None,
    "api",
    "api",
    "1.1.0"
);
installs_cleanly!(
    installs_fullstack_latest,
    "platform",
    "fullstack",
    None,
    "shop",
    "fullstack",
    "1.1.0"
);
installs_cleanly!(
    installs_fullstack_1_0_0_nested_branch,
    "platform",
    "fullstack",
    Some("fullstack/v1.0.0"),
    "shop",
    "fullstack",
    "1.0.0"
);
installs_cleanly!(
    installs_monitoring_latest,
    "platform",
    "monitoring",
    None,
    "mon",
    "monitoring",
    "0.2.0"
);
installs_cleanly!(
    installs_monitoring_0_1_0,
    "platform",
    "monitoring",
    Some("monitoring/v0.1.0"),
    "mon",
    "monitoring",
    "0.1.0"
);
installs_cleanly!(
    installs_gateway_latest_cross_repo,
    "platform",
    "gateway",
    None,
    "gw",
    "gateway",
    "0.2.0"
);
installs_cleanly!(
    installs_edge_stack_latest_three_deep,
    "platform",
    "edge-stack",
    None,
    "edge",
    "edge-stack",
    "1.1.0"
);
installs_cleanly!(
    installs_edge_stack_1_0_0,
    "platform",
    "edge-stack",
    Some("edge-stack/v1.0.0"),
    "edge",
    "edge-stack",
    "1.0.0"
);
installs_cleanly!(
    installs_legacy_nginx,
    "platform",
    "legacy-nginx",
    None,
    "legacy",
    "legacy-nginx",
    "0.0.2"
);
installs_cleanly!(
    installs_addons_external_dns,
    "addons",
    "external-dns",
    None,
    "dns",
    "external-dns",
    "0.15.0"
);
installs_cleanly!(
    installs_addons_sealed_secrets,
    "addons",
    "sealed-secrets",
    Some("^2.15"),
    "sealed",
    "sealed-secrets",
    "2.16.0"
);
installs_cleanly!(
    installs_root_profile_of_standalone_repo,
    "standalone",
    "",
    None,
    "cache",
    "redis",
    "1.1.0"
);

// --- what each artifact kind becomes -------------------------------------

/// The values a HelmRelease passes to its chart: `spec.values`, else the
/// ConfigMaps it names in `valuesFrom` (found in `dir`).
fn helm_values(dir: &Path, hr: &Value) -> Value {
    if hr["spec"]["values"].is_object() {
        return hr["spec"]["values"].clone();
    }
    for vf in hr["spec"]["valuesFrom"].as_array().into_iter().flatten() {
        if vf["kind"] == "ConfigMap" {
            let key = vf["valuesKey"].as_str().unwrap_or("values.yaml");
            for (_, cm) in objects_of_kind(dir, "ConfigMap") {
                if cm["metadata"]["name"] == vf["name"] {
                    return yaml_docs_str(cm["data"][key].as_str().unwrap()).remove(0);
                }
            }
        }
    }
    Value::Null
}

fn single(mut v: Vec<(String, Value)>, what: &str) -> (String, Value) {
    assert_eq!(
        v.len(),
        1,
        "expected one {what}, found {:?}",
        v.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    v.remove(0)
}

#[test]
fn remote_chart_becomes_a_helmrepository_and_a_helmrelease_with_the_default_values() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("nginx", Some("nginx/v1.1.0")),
        "ingress",
        "nginx",
        "1.1.0",
        &[],
    );
    let dir = install_dir(&i.gitops, "ingress");
    let (file, hr) = single(
        install_objects(&i.gitops, "ingress", "HelmRelease"),
        "HelmRelease",
    );
    assert!(file.starts_with("artifacts/controller/"), "{file}");
    assert_eq!(hr["apiVersion"], "helm.toolkit.fluxcd.io/v2");
    let chart = &hr["spec"]["chart"]["spec"];
    assert_eq!(chart["chart"], "ingress-nginx");
    assert_eq!(chart["version"], "4.10.1");
    assert_eq!(chart["sourceRef"]["kind"], "HelmRepository");
    let (_, repo) = single(
        install_objects(&i.gitops, "ingress", "HelmRepository")
            .into_iter()
            .filter(|(_, r)| r["metadata"]["name"] == chart["sourceRef"]["name"])
            .collect(),
        "HelmRepository named by the HelmRelease",
    );
    assert_eq!(repo["apiVersion"], "source.toolkit.fluxcd.io/v1");
    assert_eq!(
        repo["spec"]["url"],
        "https://kubernetes.github.io/ingress-nginx"
    );
    assert!(
        repo["spec"]["type"].is_null() || repo["spec"]["type"] == "default",
        "{repo}"
    );
    let values = helm_values(&dir, &hr);
    assert_eq!(
        values["controller"]["replicaCount"], 3,
        "defaultValues not passed: {values}"
    );
    assert_eq!(
        values["controller"]["addHeaders"]["configMapName"],
        "ingress-custom-headers"
    );
    // dependsOn: the chart waits for the raw YAML
    let w = wrappers(&i.gitops, "ingress");
    assert_eq!(
        depends_on(&w["controller"]),
        vec!["ingress-config".to_string()]
    );
    assert!(depends_on(&w["config"]).is_empty());
}

#[test]
fn oci_chart_uses_a_helmrepository_of_type_oci() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("cert-manager", None),
        "certs",
        "cert-manager",
        "1.15.0",
        &[],
    );
    let (_, hr) = single(
        install_objects(&i.gitops, "certs", "HelmRelease"),
        "HelmRelease",
    );
    assert_eq!(hr["spec"]["chart"]["spec"]["chart"], "cert-manager");
    assert_eq!(hr["spec"]["chart"]["spec"]["version"], "1.15.1");
    let (_, repo) = single(
        install_objects(&i.gitops, "certs", "HelmRepository"),
        "HelmRepository",
    );
    assert_eq!(repo["apiVersion"], "source.toolkit.fluxcd.io/v1");
    assert_eq!(repo["spec"]["type"], "oci");
    assert_eq!(repo["spec"]["url"], "oci://quay.io/jetstack/charts");
    assert_eq!(
        hr["spec"]["chart"]["spec"]["sourceRef"]["name"],
        repo["metadata"]["name"]
    );
    let values = helm_values(&install_dir(&i.gitops, "certs"), &hr);
    assert_eq!(values["crds"]["enabled"], true);
}

#[test]
fn local_chart_is_copied_byte_for_byte_and_sourced_from_the_gitops_repository() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("podinfo", Some("podinfo/v6.1.0")),
        "demo",
        "podinfo",
        "6.1.0",
        &[],
    );
    let chart_dir = install_dir(&i.gitops, "demo").join("artifacts/podinfo/chart");
    let src = repo_files_at(platform.path(), "podinfo/v6.1.0", "podinfo/chart");
    // exactly the chart: same files, same bytes (the vendored .tgz included;
    // Helm templates are never touched by Tera)
    assert_eq!(
        tree_files(&chart_dir),
        src,
        "artifacts/podinfo/chart differs from the profile's chart"
    );
    assert!(
        String::from_utf8_lossy(&src["templates/deployment.yaml"])
            .contains("{{ .Values.replicaCount }}")
    );

    let (_, hr) = single(
        install_objects(&i.gitops, "demo", "HelmRelease"),
        "HelmRelease",
    );
    let chart = &hr["spec"]["chart"]["spec"];
    assert_eq!(chart["sourceRef"]["kind"], "GitRepository");
    assert_eq!(chart["sourceRef"]["name"], "flux-system");
    assert_eq!(chart["sourceRef"]["namespace"], "flux-system");
    assert_eq!(
        normalize_rel(chart["chart"].as_str().unwrap()),
        format!("{INSTALL_PATH}/demo/artifacts/podinfo/chart")
    );
    let values = helm_values(&install_dir(&i.gitops, "demo"), &hr);
    assert_eq!(values["replicaCount"], 2, "{values}");
    assert_eq!(values["autoscaling"]["enabled"], true, "{values}");
}

#[test]
fn raw_yaml_directory_is_copied_byte_for_byte_with_a_generated_kustomization() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("nginx", Some("nginx/v1.1.0")),
        "ingress",
        "nginx",
        "1.1.0",
        &[],
    );
    let dir = install_dir(&i.gitops, "ingress").join("artifacts/config");
    assert_copied_byte_for_byte(
        &repo_files_at(platform.path(), "nginx/v1.1.0", "nginx/config"),
        &dir,
    );
    let built = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let docs = yaml_docs_str(&String::from_utf8_lossy(&built.stdout));
    let names: Vec<String> = docs
        .iter()
        .map(|d| format!("{}/{}", d["kind"].as_str().unwrap(), name_of(d)))
        .collect();
    for want in [
        "ConfigMap/ingress-custom-headers",
        "Deployment/default-backend",
        "Service/default-backend",
        "PodDisruptionBudget/default-backend",
    ] {
        assert!(
            names.contains(&want.to_string()),
            "artifacts/config does not apply {want}: {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n.starts_with("Kustomization/")),
        "the wrapper must not apply itself: {names:?}"
    );
}

#[test]
fn kustomize_directory_keeps_its_own_kustomization_and_patches() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("cert-manager", Some("cert-manager/v1.15.0")),
        "certs",
        "cert-manager",
        "1.15.0",
        &[],
    );
    let dir = install_dir(&i.gitops, "certs").join("artifacts/issuers");
    assert_copied_byte_for_byte(
        &repo_files_at(
            platform.path(),
            "cert-manager/v1.15.0",
            "cert-manager/issuers",
        ),
        &dir,
    );
    let w = wrappers(&i.gitops, "certs");
    assert_eq!(
        depends_on(&w["issuers"]),
        vec!["certs-cert-manager".to_string()]
    );
    // the patched issuer is what Flux will apply
    let built = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(String::from_utf8_lossy(&built.stdout).contains("email: platform@example.com"));
}

#[test]
fn nested_profile_artifacts_get_prefixed_ids_and_depends_on_a_nested_profile_means_all_of_it() {
    let platform = shared_repo("platform");
    let i = install_fresh(
        &platform.source("monitoring", Some("monitoring/v0.2.0")),
        "mon",
        "monitoring",
        "0.2.0",
        &[],
    );
    assert_eq!(
        artifact_ids(&i.gitops, "mon"),
        [
            "dashboards",
            "ingress-config",
            "ingress-controller",
            "prometheus"
        ]
    );
    let w = wrappers(&i.gitops, "mon");
    let deps = |id: &str| depends_on(&w[id]);
    // inside the nested profile, its own dependsOn still holds
    assert!(
        deps("ingress-controller").contains(&"mon-ingress-config".to_string()),
        "{:?}",
        deps("ingress-controller")
    );
    // a chart that depends on a nested profile waits for every artifact of it
    for d in ["mon-ingress-config", "mon-ingress-controller"] {
        assert!(
            deps("prometheus").contains(&d.to_string()),
            "prometheus: {:?}",
            deps("prometheus")
        );
        assert!(
            deps("dashboards").contains(&d.to_string()),
            "dashboards: {:?}",
            deps("dashboards")
        );
    }
    // raw YAML depends on the chart
    assert!(deps("dashboards").contains(&"mon-prometheus".to_string()));
    // the nested profile is nginx 1.1.0 (ingress-nginx chart 4.10.1)
    let hrs = install_objects(&i.gitops, "mon", "HelmRelease");
    let nginx = hrs
        .iter()
        .find(|(f, _)| f.starts_with("artifacts/ingress-controller/"))
        .expect("ingress-controller HelmRelease");
    assert_eq!(nginx.1["spec"]["chart"]["spec"]["version"], "4.10.1");
}
