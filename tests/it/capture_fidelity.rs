//! Capture fidelity (docs/commands.md, `pctl capture`; docs/profile-reference.md,
//! `chart.release`): a stack laid out like fluxcd/flux2-kustomize-helm-example
//! (infrastructure controllers in two namespaces from OCI sources, podinfo from a Helm
//! repository) is captured, linted, published and installed elsewhere, and the
//! installed HelmReleases equal the originals field by field where helm-controller
//! looks: the effective release name, the storage and target namespaces, chart and
//! version, values, install/upgrade settings, interval and timeout, so that Flux takes
//! over the existing releases instead of installing second ones.
//!
//! Different by design (pctl writes these objects itself): the HelmRelease's own name
//! (`<installation>-<artifact>`) and namespace (the Flux namespace), its chart source
//! (a HelmRepository, of type oci for OCI charts, in the Flux namespace, instead of the
//! original OCIRepository or HelmRepository in the release namespace: `sourceRef` and
//! `chartRef` differ, the chart URL and version are the same), and
//! `install.createNamespace: true` added (the namespace exists either way).
use crate::common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FIXTURE: &str = "flux2-kustomize-helm-example";

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// The fixture as a committed GitOps repository.
fn example_repo(env: &Env) -> PathBuf {
    let dest = env.path("example");
    std::fs::create_dir_all(&dest).unwrap();
    copy_tree(&fixtures_dir().join("checks").join(FIXTURE), &dest);
    env.git(&dest, &["init", "-q", "-b", "main"]);
    env.git(&dest, &["add", "."]);
    env.git(&dest, &["commit", "-q", "-m", "example"]);
    dest
}

/// The namespace a kustomization.yaml in `dir` gives every object, if any.
fn kustomize_namespace(dir: &Path) -> Option<String> {
    let k = dir.join("kustomization.yaml");
    k.exists()
        .then(|| yaml_file(&k)["namespace"].as_str().map(str::to_string))
        .flatten()
}

/// helm-controller's release name: releaseName, else `[targetNamespace-]name`,
/// shortened past 53 characters (not needed by these names).
fn helm_controller_release_name(hr: &Value) -> String {
    let spec = &hr["spec"];
    match (
        spec["releaseName"].as_str(),
        spec["targetNamespace"].as_str(),
    ) {
        (Some(r), _) => r.to_string(),
        (None, Some(t)) => format!("{t}-{}", name_of(hr)),
        (None, None) => name_of(hr),
    }
}

/// A HelmRelease as helm-controller sees it, with its chart resolved through its
/// source among `docs`: what must be the same after capture and install.
fn as_helm_controller_sees_it(hr: &Value, own_ns: &str, docs: &[Value]) -> Value {
    let spec = &hr["spec"];
    let source = |kind: &str, name: &str| -> Value {
        docs.iter()
            .find(|d| d["kind"] == kind && name_of(d) == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let (url, chart, version) = if spec["chartRef"].is_object() {
        let repo = source("OCIRepository", spec["chartRef"]["name"].as_str().unwrap());
        let url = repo["spec"]["url"].as_str().unwrap().to_string();
        let version = repo["spec"]["ref"]["semver"]
            .as_str()
            .or(repo["spec"]["ref"]["tag"].as_str())
            .unwrap()
            .to_string();
        (url, String::new(), version)
    } else {
        let cs = &spec["chart"]["spec"];
        let repo = source("HelmRepository", cs["sourceRef"]["name"].as_str().unwrap());
        let chart = cs["chart"].as_str().unwrap().to_string();
        let version = cs["version"].as_str().unwrap_or("*").to_string();
        let base = repo["spec"]["url"].as_str().unwrap().trim_end_matches('/');
        // An OCI Helm repository names the chart below its URL, like an OCIRepository.
        if repo["spec"]["type"] == "oci" {
            (format!("{base}/{chart}"), String::new(), version)
        } else {
            (base.to_string(), chart, version)
        }
    };
    let mut install = spec["install"].clone();
    if let Some(m) = install.as_object_mut() {
        // Added by pctl (different by design, see the top of this file).
        m.remove("createNamespace");
        if m.is_empty() {
            install = Value::Null;
        }
    }
    json!({
        "releaseName": helm_controller_release_name(hr),
        "storageNamespace": spec["storageNamespace"].as_str().unwrap_or(own_ns),
        "targetNamespace": spec["targetNamespace"].as_str().unwrap_or(own_ns),
        "url": url,
        "chart": chart,
        "version": version,
        "values": spec["values"],
        "install": install,
        "upgrade": spec["upgrade"],
        "rollback": spec["rollback"],
        "test": spec["test"],
        "uninstall": spec["uninstall"],
        "driftDetection": spec["driftDetection"],
        "postRenderers": spec["postRenderers"],
        "maxHistory": spec["maxHistory"],
        "interval": spec["interval"],
        "timeout": spec["timeout"],
    })
}

/// The HelmReleases of the original directories, keyed by effective release name
/// and storage namespace.
fn originals(repo: &Path, dirs: &[&str]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for dir in dirs {
        let d = repo.join(dir);
        let ns_override = kustomize_namespace(&d);
        let docs: Vec<Value> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "yaml")
                    && p.file_name().unwrap() != "kustomization.yaml"
            })
            .flat_map(|p| yaml_docs(&p))
            .collect();
        for hr in docs.iter().filter(|d| d["kind"] == "HelmRelease") {
            let own_ns = ns_override
                .clone()
                .or(hr["metadata"]["namespace"].as_str().map(str::to_string))
                .unwrap();
            let seen = as_helm_controller_sees_it(hr, &own_ns, &docs);
            out.insert(key(&seen), seen);
        }
    }
    out
}

/// The HelmReleases pctl installed into `gitops`, keyed the same way.
fn installed(gitops: &Path, names: &[&str]) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for name in names {
        for id in artifact_ids(gitops, name) {
            let dir = install_dir(gitops, name).join("artifacts").join(&id);
            let file = dir.join("helm-release.yaml");
            if !file.exists() {
                continue;
            }
            let mut docs = yaml_docs(&file);
            let hr = docs[0].clone();
            docs.extend(yaml_docs(&dir.join("helm-repository.yaml")));
            let own_ns = hr["metadata"]["namespace"].as_str().unwrap().to_string();
            let seen = as_helm_controller_sees_it(&hr, &own_ns, &docs);
            out.insert(key(&seen), seen);
        }
    }
    out
}

fn key(seen: &Value) -> String {
    format!(
        "{}/{}",
        seen["storageNamespace"].as_str().unwrap(),
        seen["releaseName"].as_str().unwrap()
    )
}

/// Capture `dir` of `repo` as profile `name` into `profiles/<name>` and commit it.
fn capture(env: &Env, repo: &Path, profiles: &Path, dir: &str, name: &str) -> String {
    let out = env.pctl([
        "capture",
        dir,
        "--name",
        name,
        "-o",
        &arg(&profiles.join(name)),
        "--repo",
        &arg(repo),
    ]);
    assert_success(&out);
    env.git(profiles, &["add", "."]);
    env.git(
        profiles,
        &["commit", "-q", "-m", &format!("capture {name}")],
    );
    stderr(&out)
}

fn profiles_repo(env: &Env) -> PathBuf {
    let p = env.path("profiles");
    std::fs::create_dir_all(&p).unwrap();
    env.git(&p, &["init", "-q", "-b", "main"]);
    p
}

#[test]
fn a_captured_stack_installs_as_the_same_helm_releases() {
    let env = Env::new();
    let example = example_repo(&env);
    let profiles = profiles_repo(&env);
    let notes = capture(
        &env,
        &example,
        &profiles,
        "infrastructure/controllers",
        "controllers",
    );
    // What a profile does not carry is reported field by field, with its file.
    for field in [
        "OCIRepository cert-manager (infrastructure/controllers/cert-manager.yaml): spec.layerSelector not captured",
        "OCIRepository gateway-helm (infrastructure/controllers/envoy-gateway.yaml): spec.interval not captured",
    ] {
        assert!(notes.contains(field), "{field}\n{notes}");
    }
    assert!(!notes.contains("spec.install"), "{notes}");
    capture(&env, &example, &profiles, "apps/base/podinfo", "podinfo");

    // lint → publish (which lints again) → install.
    for name in ["controllers", "podinfo"] {
        let out = env.pctl_in(&profiles, ["lint", name]);
        assert_success(&out);
        assert!(stderr(&out).contains("0 error(s)"), "{}", describe(&out));
        let out = env.pctl_in(&profiles, ["publish", name, "--version", "1.0.0"]);
        assert_success(&out);
    }
    let target = env.init_gitops("target");
    for (profile, name) in [("controllers", "infra"), ("podinfo", "apps")] {
        let out = env.install(
            &target,
            &source_url(&file_url(&profiles), profile, Some("1.0.0")),
            name,
            &["--namespace", "platform"],
        );
        assert_success(&out);
    }
    flux_dry_run(&target);

    let before = originals(
        &example,
        &["infrastructure/controllers", "apps/base/podinfo"],
    );
    let after = installed(&target, &["infra", "apps"]);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        [
            "cert-manager/cert-manager",
            "envoy-gateway-system/envoy-gateway",
            "podinfo/podinfo"
        ],
        "the releases helm-controller knows, by storage namespace and name"
    );
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same Helm releases in the same storage namespaces"
    );
    for (k, want) in &before {
        let have = &after[k];
        for (field, v) in want.as_object().unwrap() {
            assert_eq!(&have[field], v, "release {k}: field {field} differs");
        }
    }
    // The settings that matter were really there to compare.
    assert_eq!(
        before["cert-manager/cert-manager"]["install"],
        json!({"strategy": {"name": "RetryOnFailure"}})
    );
    assert_eq!(before["podinfo/podinfo"]["interval"], json!("30m"));
}

/// The same chart in two namespaces, each release named podinfo (one installed into
/// another namespace than the one storing it): two releases before, two distinct
/// releases after (and a second installation of the same
/// profile is refused, because it would take the same releases).
#[test]
fn the_same_chart_in_two_namespaces_stays_two_releases() {
    let env = Env::new();
    let example = env.path("teams");
    let mut text = String::new();
    // team-a's release has a post-renderer whose patch holds Tera's syntax (it must
    // come back as written); team-b's is installed into another namespace than the
    // one storing it.
    let post_renderer = "  maxHistory: 3\n  postRenderers:\n    - kustomize:\n        patches:\n          - target: {kind: Deployment}\n            patch: |\n              - op: add\n                path: /metadata/annotations/note\n                value: '{{ not tera }}'\n";
    for (team, target) in [
        ("team-a", post_renderer),
        ("team-b", "  targetNamespace: team-b-web\n"),
    ] {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {team}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: {team}\nspec:\n  interval: 1h\n  url: https://stefanprodan.github.io/podinfo\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: {team}\nspec:\n{target}  interval: 10m\n  timeout: 2m\n  chart:\n    spec:\n      chart: podinfo\n      version: 6.5.4\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n  values:\n    ui:\n      message: {team}\n"
        ));
    }
    std::fs::create_dir_all(example.join("apps/teams")).unwrap();
    std::fs::write(example.join("apps/teams/podinfo.yaml"), &text).unwrap();
    env.git(&example, &["init", "-q", "-b", "main"]);
    env.git(&example, &["add", "."]);
    env.git(&example, &["commit", "-q", "-m", "teams"]);
    let profiles = profiles_repo(&env);
    capture(&env, &example, &profiles, "apps/teams", "teams");
    let out = env.pctl_in(&profiles, ["publish", "teams", "--version", "1.0.0"]);
    assert_success(&out);
    let target = env.init_gitops("target");
    let source = source_url(&file_url(&profiles), "teams", Some("1.0.0"));
    assert_success(&env.install(&target, &source, "teams", &[]));
    flux_dry_run(&target);
    let before = originals(&example, &["apps/teams"]);
    let after = installed(&target, &["teams"]);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        ["team-a/podinfo", "team-b/team-b-web-podinfo"]
    );
    // The release of team-b is stored in team-b, installed into team-b-web.
    assert_eq!(
        after["team-b/team-b-web-podinfo"]["targetNamespace"],
        json!("team-b-web")
    );
    assert_eq!(before, after);
    assert!(
        after["team-a/podinfo"]["postRenderers"][0]["kustomize"]["patches"][0]["patch"]
            .as_str()
            .unwrap()
            .contains("value: '{{ not tera }}'"),
        "{after:#?}"
    );
    assert_eq!(
        after["team-b/team-b-web-podinfo"]["values"]["ui"]["message"],
        json!("team-b")
    );

    // The releases have an owner now: a second installation is refused, both named.
    let state = snapshot(&target);
    let out = env.install(&target, &source, "teams-again", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "Helm release podinfo (stored in namespace team-a)",
            "installation teams",
        ],
    );
    assert_unchanged(&state, &snapshot(&target));

    // Installed next to the HelmReleases it was captured from, the profile would take
    // their releases: refused, naming the file that owns them.
    let synced = env.init_gitops("synced");
    std::fs::write(synced.join("clusters/default/teams.yaml"), &text).unwrap();
    env.git(&synced, &["add", "."]);
    env.git(&synced, &["commit", "-q", "-m", "teams by hand"]);
    let state = snapshot(&synced);
    let out = env.install(&synced, &source, "teams", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "Helm release team-b-web-podinfo (stored in namespace team-b)",
            "clusters/default/teams.yaml",
        ],
    );
    assert_unchanged(&state, &snapshot(&synced));
}

/// A typo or a field a profile cannot set in `chart.release` is refused by lint and by
/// install, naming the field and why, and nothing is written.
#[test]
fn a_bad_release_setting_is_refused_with_its_reason() {
    let env = Env::new();
    let profiles = profiles_repo(&env);
    let cases = [
        (
            "instal:\n            createNamespace: false",
            "chart.release.instal: unknown field `instal`",
            "did you mean `install`?",
            13,
        ),
        (
            "upgrade:\n            strategy: {name: Retry}",
            "chart.release.upgrade.strategy.name: \"Retry\" is not one of",
            "spec.upgrade",
            14,
        ),
        (
            "serviceAccountName: cluster-admin",
            "`serviceAccountName` is a HelmRelease field that a profile cannot set",
            "identity helm-controller acts as",
            13,
        ),
        (
            "releaseName: Not_A_Release",
            "\"Not_A_Release\" is not a Helm release name",
            "lower-case letters",
            13,
        ),
    ];
    let target = env.init_gitops("target");
    for (i, (field, reason, hint, line)) in cases.iter().enumerate() {
        let name = format!("bad{i}");
        let dir = profiles.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("profile.yaml"),
            format!(
                "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: {name}\nspec:\n  artifacts:\n    - name: web\n      chart:\n        url: https://stefanprodan.github.io/podinfo\n        name: podinfo\n        version: 6.5.4\n        release:\n          {field}\n"
            ),
        )
        .unwrap();
        env.git(&profiles, &["add", "."]);
        env.git(&profiles, &["commit", "-q", "-m", &name]);
        let out = env.pctl_in(&profiles, ["lint", &name]);
        assert_exit(&out, 1);
        // Lint names the field, why, and its line.
        let at = format!("{name}/profile.yaml:{line}: error: artifact \"web\": ");
        assert!(
            stdout(&out)
                .lines()
                .any(|l| l.starts_with(&at) && l.contains(reason)),
            "lint {name}: {at}…{reason}\n{}",
            describe(&out)
        );
        let state = snapshot(&target);
        let out = env.install(
            &target,
            &source_url(&file_url(&profiles), &name, None),
            &name,
            &[],
        );
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[reason, hint]);
        assert_unchanged(&state, &snapshot(&target));
    }
}
