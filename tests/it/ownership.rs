//! Ownership (docs/layout.md#ownership): install and upgrade refuse an object (kind, namespace, name)
//! or a Helm release (release name, storage namespace) that another installation or
//! the rest of the synced tree already produces: exit 1, both owners named, a hint,
//! nothing written.

use crate::common::*;
use std::path::PathBuf;

/// A profile repository: `versions` of profile `name`, each a list of files (relative
/// to the profile directory), committed and tagged `name/vVERSION` in order.
const PROFILE: &str = "apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: app
spec:
  description: raw YAML and a chart
  artifacts:
    - name: config
      kustomize: {path: manifests}
    - name: cache
      chart: {url: 'https://charts.example.com/stable', name: redis, version: '1.x'}
";

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  x: '1'
";

const SHARED: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: shared-settings
  namespace: shared
data:
  x: '1'
";

/// `app` 1.0.0 (a ConfigMap without a namespace and a chart) and 2.0.0 (also a
/// ConfigMap in the explicit namespace `shared`).
fn app_repo(env: &Env) -> PathBuf {
    profile_repo(
        env,
        "app",
        &[
            (
                "1.0.0",
                &[
                    ("profile.yaml", PROFILE),
                    ("manifests/settings.yaml", CONFIG),
                ],
            ),
            (
                "2.0.0",
                &[
                    ("profile.yaml", PROFILE),
                    ("manifests/settings.yaml", CONFIG),
                    ("manifests/shared.yaml", SHARED),
                ],
            ),
        ],
    )
}

#[test]
fn the_same_profile_twice_into_one_namespace_is_refused_naming_both_owners() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = app_repo(&env);
    let src = source(&repo, "app", "1.0.0");
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps"]));
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &src, "two", &["--namespace", "apps"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "already have an owner",
            "ConfigMap apps/settings",
            "installation two (clusters/default/profiles/two/artifacts/config/settings.yaml)",
            "installation one (clusters/default/profiles/one/artifacts/config/settings.yaml)",
            "hint: install it into another --namespace",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn the_same_profile_into_two_namespaces_installs() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = app_repo(&env);
    let src = source(&repo, "app", "1.0.0");
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps-one"]));
    assert_success(&env.install(&gitops, &src, "two", &["--namespace", "apps-two"]));
    flux_dry_run(&gitops);
}

#[test]
fn a_helm_release_name_clash_with_a_file_of_the_tree_is_refused() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    std::fs::create_dir_all(gitops.join("clusters/default/apps")).unwrap();
    std::fs::write(
        gitops.join("clusters/default/apps/cache.yaml"),
        "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cache
  namespace: flux-system
spec:
  releaseName: web-cache
  targetNamespace: apps
  storageNamespace: apps
  interval: 10m
  chart:
    spec:
      chart: redis
      sourceRef: {kind: HelmRepository, name: bitnami}
",
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-q", "-m", "a release by hand"]);
    let repo = app_repo(&env);
    let before = snapshot(&gitops);
    // chart artifact `cache` of installation `web` is release web-cache, stored in apps
    let out = env.install(
        &gitops,
        &source(&repo, "app", "1.0.0"),
        "web",
        &["--namespace", "apps"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "Helm release web-cache (stored in namespace apps)",
            "installation web (clusters/default/profiles/web/artifacts/cache/helm-release.yaml)",
            "already by clusters/default/apps/cache.yaml",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // in another namespace the release is another one
    assert_success(&env.install(
        &gitops,
        &source(&repo, "app", "1.0.0"),
        "web",
        &["--namespace", "web"],
    ));
}

#[test]
fn an_object_of_the_rest_of_the_tree_is_refused_naming_its_file() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    std::fs::write(
        gitops.join("clusters/default/settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: apps\n",
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-q", "-m", "by hand"]);
    let repo = app_repo(&env);
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &source(&repo, "app", "1.0.0"),
        "one",
        &["--namespace", "apps"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "ConfigMap apps/settings",
            "already by clusters/default/settings.yaml",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn an_upgrade_that_would_produce_what_another_installation_owns_is_refused() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = app_repo(&env);
    let src = source(&repo, "app", "^1.0");
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps-one"]));
    assert_success(&env.install(&gitops, &src, "two", &["--namespace", "apps-two"]));
    let g = gitops.display().to_string();
    // 2.0.0 adds ConfigMap shared/shared-settings: the first to upgrade owns it
    assert_success(&env.pctl(["upgrade", "one", "--to", "2.0.0", "--repo", &g]));
    let before = snapshot(&gitops);
    let out = env.pctl(["upgrade", "two", "--to", "2.0.0", "--repo", &g]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "upgrade of two",
            "ConfigMap shared/shared-settings",
            "installation two (clusters/default/profiles/two/artifacts/config/shared.yaml)",
            "installation one (clusters/default/profiles/one/artifacts/config/shared.yaml)",
            "hint:",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // upgrading one again (a re-render) is not a conflict with itself
    let out = env.pctl(["upgrade", "one", "--repo", &g]);
    assert_success(&out);
}

#[test]
fn uninstalling_one_of_two_installations_in_different_namespaces_leaves_the_other() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = app_repo(&env);
    let src = source(&repo, "app", "1.0.0");
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps-one"]));
    assert_success(&env.install(&gitops, &src, "two", &["--namespace", "apps-two"]));
    let two = tree_files(&install_dir(&gitops, "two"));
    let out = env.pctl(["uninstall", "one", "--repo", &gitops.display().to_string()]);
    assert_success(&out);
    assert!(!install_dir(&gitops, "one").exists());
    assert_eq!(tree_files(&install_dir(&gitops, "two")), two);
    // what Flux applies still holds every object of `two`, `one`'s are gone
    let report = flux_dry_run(&gitops);
    assert!(!report.contains("one-"), "{report}");
    // and `two` keeps its own namespace: one's Namespace object was its own
    let ns = yaml_file(&install_dir(&gitops, "two").join("artifacts/namespace/namespace.yaml"));
    assert_eq!(ns["metadata"]["name"], "apps-two");
    // the namespace freed by `one` can be installed into again
    assert_success(&env.install(&gitops, &src, "three", &["--namespace", "apps-one"]));
}

#[test]
fn a_namespace_object_of_the_profile_cannot_have_two_owners_whatever_the_namespace() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let manifests = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n";
    let repo = profile_repo(
        &env,
        "app",
        &[(
            "1.0.0",
            &[("profile.yaml", PROFILE), ("manifests/all.yaml", manifests)],
        )],
    );
    let src = source(&repo, "app", "1.0.0");
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps-one"]));
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &src, "two", &["--namespace", "apps-two"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "Namespace podinfo: produced by installation two",
            "already by installation one",
            "hint: some of them are cluster-scoped or name their own namespace",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn upgrading_two_installations_into_the_same_object_at_once_is_refused() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let v1: &[(&str, &str)] = &[
        ("profile.yaml", PROFILE),
        ("manifests/settings.yaml", CONFIG),
    ];
    let repo = profile_repo(&env, "app", &[("1.0.0", v1)]);
    let src = source(&repo, "app", "^1.0");
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps-one"]));
    assert_success(&env.install(&gitops, &src, "two", &["--namespace", "apps-two"]));
    // 1.1.0 adds ConfigMap shared/shared-settings to both
    let v2: &[(&str, &str)] = &[
        ("profile.yaml", PROFILE),
        ("manifests/settings.yaml", CONFIG),
        ("manifests/shared.yaml", SHARED),
    ];
    profile_repo(&env, "app", &[("1.1.0", v2)]);
    let g = gitops.display().to_string();
    let before = snapshot(&gitops);
    let out = env.pctl(["upgrade", "--all", "--repo", &g]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "upgrade of one and two: both would produce",
            "ConfigMap shared/shared-settings",
            "hint: upgrade them one at a time",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

/// A ConfigMap that the rest of the tree generates with a fixed name (a
/// `configMapGenerator` with `disableNameSuffixHash`, the way Flux users feed
/// `valuesFrom`) is owned like a file's: installing a profile that also produces it is
/// refused naming the kustomization that generates it.
#[test]
fn a_fixed_name_generated_configmap_of_the_tree_is_an_owner() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let dir = gitops.join("clusters/default/generated");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
configMapGenerator:
  - name: settings
    namespace: apps
    literals: [x=1]
    options: {disableNameSuffixHash: true}
",
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-q", "-m", "a generated ConfigMap"]);
    let repo = app_repo(&env);
    let src = source(&repo, "app", "1.0.0");
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &src, "one", &["--namespace", "apps"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "already have an owner",
            "ConfigMap apps/settings",
            "clusters/default/generated/kustomization.yaml",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
    // with kustomize's content hash the generated name is its own: no clash
    std::fs::write(
        dir.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
configMapGenerator:
  - name: settings
    namespace: apps
    literals: [x=1]
",
    )
    .unwrap();
    git(&gitops, &["commit", "-q", "-am", "hashed"]);
    assert_success(&env.install(&gitops, &src, "one", &["--namespace", "apps"]));
}

/// The ownership check holds under the write lock: an install that checked the
/// repository, then waited for the lock while another pctl committed the same objects,
/// is refused (exit 1, both owners named) and writes nothing.
#[test]
fn an_install_racing_another_is_checked_again_under_the_lock() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = app_repo(&env);
    let src = source(&repo, "app", "1.0.0");
    let g = gitops.display().to_string();
    let mark = env.path("paused");
    env.set_var("PCTL_FAULT", "pause-before-lock");
    env.set_var("PCTL_FAULT_MARK", &mark.display().to_string());
    let first = env.spawn([
        "install",
        &src,
        "--name",
        "one",
        "--namespace",
        "apps",
        "--repo",
        &g,
    ]);
    env.remove_var("PCTL_FAULT");
    env.remove_var("PCTL_FAULT_MARK");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !mark.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first install never paused"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The first install has checked ownership and waits before the lock: the second
    // commits the same objects meanwhile.
    assert_success(&env.install(&gitops, &src, "two", &["--namespace", "apps"]));
    let after_second = snapshot(&gitops);
    std::fs::remove_file(&mark).unwrap();
    let out = wait_output(first);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["already have an owner", "two"]);
    assert_unchanged(&after_second, &snapshot(&gitops));
    assert_eq!(installed_names(&gitops), vec!["two".to_string()]);
}

/// A Flux Kustomization of the tree may name its path with `..`: Flux applies the
/// directory it resolves to (kustomize-controller joins the path inside the
/// repository), so what is there has owners like everything else Flux applies. (A
/// profile's own Flux objects may not read outside their installation:
/// `trust_paths::a_profile_flux_object_cannot_read_the_gitops_repository_outside_its_installation`.)
#[test]
fn a_flux_kustomization_path_with_dot_dot_is_followed_where_flux_resolves_it() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // Outside the sync path, reached only through the tree's own Kustomization.
    env.commit_file(
        &gitops,
        "apps/shared/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: apps\n",
    );
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: shared\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/default/profiles/../../../apps/shared\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n";
    env.commit_file(&gitops, "clusters/default/shared.yaml", flux);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n";
    let other = profile_repo(
        &env,
        "other",
        &[(
            "1.0.0",
            &[
                (
                    "profile.yaml",
                    &RAW_APP_PROFILE.replace("name: app", "name: other"),
                ),
                ("manifests/cm.yaml", cm),
            ],
        )],
    );
    let before = snapshot(&gitops);
    let out = env.install(
        &gitops,
        &source(&other, "other", "1.0.0"),
        "other",
        &["--namespace", "apps"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "already have an owner",
            "ConfigMap apps/shared",
            "apps/shared/cm.yaml",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));
}
