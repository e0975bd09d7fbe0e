//! `pctl capture` (docs/guide.md): a directory of a real GitOps repository becomes a
//! profile that, installed elsewhere, applies the same objects; Secret values become
//! secret parameters and never reach the profile; bad input is refused with nothing
//! written.

use crate::common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A key pair made with `age-keygen` for these tests only; it protects nothing.
const AGE_RECIPIENT: &str = "age1vm40eudx5hll86463mz9hqhsem9vavp5ufp5tthesquzjezvp5ns0e7dxv";
const AGE_IDENTITY: &str =
    "AGE-SECRET-KEY-1TJGD94QKLZJTVWD4JU5PVMR3GLG40RFNRUUMA97MT5E9V4YDRUESLW6W4V";

fn arg(p: &Path) -> String {
    p.display().to_string()
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const HELM: &str = "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m
  url: https://stefanprodan.github.io/podinfo
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: 6.5.4
      sourceRef:
        kind: HelmRepository
        name: podinfo
  values:
    replicaCount: 2
    ingress:
      enabled: true
      hosts:
        - host: shop.example.com
    ui:
      message: 'Hello {{ .Release.Name }}'
";

const APP: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.4.2
          envFrom:
            - secretRef: {name: web-creds}
            - configMapRef: {name: web-config}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 8080
";

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  PUBLIC_URL: https://shop.example.com/
  WORKER_IMAGE: ghcr.io/example/worker:1.4.2
  TEMPLATE: 'Dear {{ name }}'
";

/// The secret file holds both forms: stringData and base64 data.
fn secret_yaml(password: &str, token: &str) -> String {
    format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: web-creds
type: Opaque
stringData:
  password: {password}
data:
  token: {}
",
        b64(token.as_bytes())
    )
}

const KUSTOMIZATION: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - helm.yaml
  - app.yaml
  - config.yaml
  - secret.yaml
";

/// The release also reads the password through `valuesFrom`.
fn helm_with_values_from() -> String {
    HELM.replace(
        "  values:\n",
        "  valuesFrom:\n    - kind: Secret\n      name: web-creds\n      valuesKey: password\n      targetPath: auth.password\n  values:\n",
    )
}

/// A GitOps repository with `apps/web` committed.
fn gitops_with_app(env: &Env, password: &str, token: &str) -> PathBuf {
    let g = env.init_gitops("gitops");
    let dir = g.join("apps/web");
    write(&dir, "helm.yaml", &helm_with_values_from());
    write(&dir, "app.yaml", APP);
    write(&dir, "config.yaml", CONFIG);
    write(&dir, "secret.yaml", &secret_yaml(password, token));
    write(&dir, "kustomization.yaml", KUSTOMIZATION);
    env.git(&g, &["add", "apps"]);
    env.git(&g, &["commit", "-q", "-m", "web app"]);
    g
}

/// `kubectl kustomize DIR`, as JSON values.
fn kustomize(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .args(["kustomize"])
        .arg(dir)
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_docs_str(&String::from_utf8_lossy(&out.stdout))
}

/// The decrypted SOPS document below `dir` that is the Secret `built` (same name).
fn sops_file_doc(dir: &Path, built: &Value, identity: &Path) -> Value {
    let name = built.pointer("/metadata/name").and_then(Value::as_str);
    for (rel, bytes) in tree_files(dir) {
        if !rel.ends_with(".yaml") || !bytes.windows(5).any(|w| w == b"sops:") {
            continue;
        }
        for (sops, doc) in sops_decrypt(&dir.join(&rel), identity) {
            if sops && doc.pointer("/metadata/name").and_then(Value::as_str) == name {
                return doc;
            }
        }
    }
    panic!(
        "no SOPS file below {} holds the Secret {name:?}",
        dir.display()
    )
}

/// Secrets compared by their decoded values: `data` decoded into `stringData`.
fn secret_content(doc: &Value) -> Value {
    let mut d = doc.clone();
    let mut string_data = d["stringData"].as_object().cloned().unwrap_or_default();
    if let Some(data) = d["data"].as_object() {
        for (k, v) in data {
            let bytes = base64_decode(v.as_str().unwrap()).unwrap();
            string_data.insert(k.clone(), json!(String::from_utf8(bytes).unwrap()));
        }
    }
    let o = d.as_object_mut().unwrap();
    o.remove("data");
    o.remove("sops");
    o.insert("stringData".into(), Value::Object(string_data));
    d
}

/// The objects of a directory tree as Flux applies them, normalised for comparison:
/// Flux Kustomizations dropped; HelmReleases as (chart, version, repository URL,
/// values); HelmRepositories left out (their URL is in the release); Secrets decrypted
/// and decoded; everything else as is. Keyed by kind/name (releases by chart).
fn normalised(docs: Vec<Value>, repos: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for d in docs {
        let kind = d["kind"].as_str().unwrap_or("").to_string();
        match kind.as_str() {
            "Kustomization" | "HelmRepository" => {}
            "HelmRelease" => {
                let spec = &d["spec"]["chart"]["spec"];
                let chart = spec["chart"].as_str().unwrap().to_string();
                let repo = repos
                    .get(spec["sourceRef"]["name"].as_str().unwrap())
                    .cloned()
                    .unwrap_or_default();
                // pctl takes secrets out of the values into valuesFrom and may leave an
                // empty mapping where one was: the same values once Helm merges them.
                let mut values = d["spec"]["values"].clone();
                prune_empty(&mut values);
                out.insert(
                    format!("HelmRelease/{chart}"),
                    json!({"chart": chart, "version": spec["version"], "url": repo, "values": values}),
                );
            }
            "Secret" => {
                out.insert(format!("Secret/{}", name_of(&d)), secret_content(&d));
            }
            _ => {
                out.insert(format!("{kind}/{}", name_of(&d)), d);
            }
        }
    }
    out
}

/// Remove mappings left empty (Helm merges them into the chart's values as no-ops).
fn prune_empty(v: &mut Value) {
    if let Value::Object(m) = v {
        for x in m.values_mut() {
            prune_empty(x);
        }
        m.retain(|_, x| !x.as_object().is_some_and(|o| o.is_empty()));
    }
}

fn helm_repositories(docs: &[Value]) -> BTreeMap<String, String> {
    docs.iter()
        .filter(|d| d["kind"] == "HelmRepository")
        .map(|d| (name_of(d), d["spec"]["url"].as_str().unwrap().to_string()))
        .collect()
}

/// No file below `dir` holds any form of the secrets.
#[track_caller]
fn assert_absent(dir: &Path, outputs: &[&Output], secrets: &[&str]) {
    let forms: Vec<String> = secrets
        .iter()
        .flat_map(|s| [s.to_string(), b64(s.as_bytes())])
        .collect();
    for (path, bytes) in tree_files(dir) {
        for f in &forms {
            assert!(
                !bytes.windows(f.len()).any(|w| w == f.as_bytes()),
                "the captured profile holds a secret ({f}) in {path}"
            );
        }
    }
    for out in outputs {
        for f in &forms {
            assert!(
                !stdout(out).contains(f.as_str()) && !stderr(out).contains(f.as_str()),
                "pctl printed a secret\n{}",
                describe(out)
            );
        }
    }
}

/// Commit a profile directory into a new profile repository, tagged `<dir>/v1.0.0`.
fn profile_repo(env: &Env, profile: &Path, dir: &str) -> PathBuf {
    let repo = env.root.join("profiles");
    std::fs::create_dir_all(&repo).unwrap();
    env.git(&repo, &["init", "-q", "-b", "main"]);
    copy_tree(profile, &repo.join(dir));
    env.git(&repo, &["add", "."]);
    env.git(&repo, &["commit", "-q", "-m", "captured"]);
    env.git(
        &repo,
        &["tag", "-a", "-m", "captured", &format!("{dir}/v1.0.0")],
    );
    repo
}

#[test]
fn a_captured_directory_installs_elsewhere_as_the_same_objects_and_keeps_no_secret() {
    let env = Env::new();
    let password = canary("Pw");
    let token = canary("Tok");
    let gitops = gitops_with_app(&env, &password, &token);
    let profile = env.root.join("captured/web");
    let out = env.pctl([
        "capture",
        "apps/web",
        "--name",
        "web",
        "-o",
        &arg(&profile),
        "--repo",
        &arg(&gitops),
    ]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("web_creds_password") && stdout(&out).contains("podinfo"),
        "{}",
        describe(&out)
    );
    assert_absent(&profile, &[&out], &[&password, &token]);
    let def = yaml_file(&profile.join("profile.yaml"));
    let params: Vec<(String, String)> = def["spec"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (name_of_param(p), p["type"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        params,
        [
            ("web_creds_password".to_string(), "secret".to_string()),
            ("web_creds_token".to_string(), "secret".to_string())
        ],
        "without --parameterise only secrets are parameters"
    );
    let secret_file = std::fs::read_to_string(profile.join("manifests/secret.yaml")).unwrap();
    assert!(
        secret_file.contains("{{ params.web_creds_password }}"),
        "{secret_file}"
    );
    // Copied files stay byte for byte.
    assert_eq!(
        std::fs::read_to_string(profile.join("manifests/app.yaml")).unwrap(),
        APP
    );
    assert!(!profile.join("manifests/helm.yaml").exists());

    // Install it elsewhere, the secrets given with --set-file.
    let repo = profile_repo(&env, &profile, "web");
    let target = env.init_gitops("target");
    write(
        &target,
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {AGE_RECIPIENT}\n"
        ),
    );
    env.git(&target, &["add", ".sops.yaml"]);
    env.git(&target, &["commit", "-q", "-m", "sops"]);
    write(&env.root, "pw.txt", &format!("{password}\n"));
    write(&env.root, "token.txt", &token);
    let out = env.install(
        &target,
        &source_url(&file_url(&repo), "web", Some("1.0.0")),
        "shop",
        &[
            "--set-file",
            &format!("web_creds_password={}", arg(&env.root.join("pw.txt"))),
            "--set-file",
            &format!("web_creds_token={}", arg(&env.root.join("token.txt"))),
        ],
    );
    assert_success(&out);
    flux_dry_run(&target);

    // The applied objects are the same, apart from pctl's wrappers.
    let original = kustomize(&gitops.join("apps/web"));
    let mut installed = Vec::new();
    for id in artifact_ids(&target, "shop") {
        installed.extend(kustomize(
            &install_dir(&target, "shop").join("artifacts").join(&id),
        ));
    }
    let have_tools = sops_tools();
    let identity = env.root.join("age.txt");
    std::fs::write(&identity, format!("{AGE_IDENTITY}\n")).unwrap();
    let installed: Vec<Value> = installed
        .into_iter()
        .map(|d| {
            if d["kind"] == "Secret" && d.get("sops").is_some() && have_tools {
                // Decrypt the file pctl wrote, not kustomize's output: the kustomize CLI
                // sorts a document's keys when it prints it, which changes the order the
                // SOPS MAC covers; kustomize-controller decrypts the built object in
                // memory, in the file's order.
                let mut doc = sops_file_doc(&install_dir(&target, "shop"), &d, &identity);
                if let Some(ns) = d.pointer("/metadata/namespace") {
                    doc["metadata"]["namespace"] = ns.clone();
                }
                doc
            } else {
                d
            }
        })
        .collect();
    // The release's valuesFrom Secret is now pctl's own, encrypted, at the same path.
    let release = installed
        .iter()
        .find(|d| d["kind"] == "HelmRelease")
        .unwrap();
    assert_eq!(
        release["spec"]["valuesFrom"],
        json!([{"kind": "Secret", "name": "shop-podinfo-secrets", "valuesKey": "web_creds_password", "targetPath": "auth.password"}])
    );
    let (chart_secret, installed): (Vec<Value>, Vec<Value>) = installed
        .into_iter()
        .partition(|d| d["kind"] == "Secret" && name_of(d) == "shop-podinfo-secrets");
    assert_eq!(chart_secret.len(), 1);
    if have_tools {
        assert_eq!(
            chart_secret[0]["stringData"]["web_creds_password"],
            json!(password)
        );
    }
    let mut a = normalised(original.clone(), &helm_repositories(&original));
    let mut b = normalised(installed.clone(), &helm_repositories(&installed));
    if !have_tools {
        for m in [&mut a, &mut b] {
            m.remove("Secret/web-creds");
        }
    }
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "object sets differ"
    );
    for (k, v) in &a {
        assert_eq!(v, &b[k], "{k} differs after capture and install");
    }
    if have_tools {
        assert_eq!(
            a["Secret/web-creds"]["stringData"]["password"],
            json!(password)
        );
    }
}

fn name_of_param(p: &Value) -> String {
    p["name"].as_str().unwrap().to_string()
}

#[test]
fn parameterise_turns_repeated_literals_into_parameters_that_render_back() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let dir = gitops.join("apps/web");
    write(&dir, "app.yaml", APP);
    write(&dir, "config.yaml", CONFIG);
    write(&dir, "helm.yaml", HELM);
    write(
        &dir,
        "kustomization.yaml",
        "resources: [app.yaml, config.yaml, helm.yaml]\n",
    );
    env.git(&gitops, &["add", "."]);
    env.git(&gitops, &["commit", "-q", "-m", "app"]);
    let profile = env.root.join("web");
    let out = env.pctl_in(
        &gitops,
        [
            "capture",
            "apps/web",
            "--name",
            "web",
            "-o",
            &arg(&profile),
            "--parameterise",
        ],
    );
    assert_success(&out);
    let def = yaml_file(&profile.join("profile.yaml"));
    let params: BTreeMap<String, Value> = def["spec"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (name_of_param(p), p.clone()))
        .collect();
    assert_eq!(
        params["domain"]["default"], "shop.example.com",
        "{params:?}"
    );
    assert_eq!(params["replicas"]["type"], "integer");
    assert_eq!(params["replicas"]["default"], 2);
    assert_eq!(params["image_tag"]["default"], "1.4.2");
    let app = std::fs::read_to_string(profile.join("manifests/app.yaml")).unwrap();
    assert!(app.contains("{{ params.replicas }}"), "{app}");
    let values = def["spec"]["artifacts"][0]["chart"]["defaultValues"]
        .as_str()
        .unwrap();
    assert!(values.contains("{{ params.domain }}"), "{values}");
    assert!(values.contains("{{ params.replicas }}"), "{values}");

    // Rendered with the defaults, the profile gives the original objects back.
    let repo = profile_repo(&env, &profile, "web");
    let out = env.pctl([
        "render",
        &source_url(&file_url(&repo), "web", Some("1.0.0")),
        "--name",
        "web",
    ]);
    assert_success(&out);
    let rendered = yaml_docs_str(&stdout(&out));
    let original = kustomize(&dir);
    let a = normalised(original.clone(), &helm_repositories(&original));
    let b = normalised(rendered.clone(), &helm_repositories(&rendered));
    assert_eq!(a, b);
    // Other values replace the literal everywhere it was.
    let out = env.pctl([
        "render",
        &source_url(&file_url(&repo), "web", Some("1.0.0")),
        "--set",
        "domain=shop.example.org",
        "--set",
        "image_tag=2.0.0",
    ]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        !text.contains("shop.example.com") && !text.contains("1.4.2"),
        "{text}"
    );
    assert!(text.contains("ghcr.io/example/worker:2.0.0"), "{text}");
}

#[test]
fn pctl_wrappers_and_records_are_not_captured() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let platform = shared_repo("platform");
    assert_success(&env.install(
        &gitops,
        &platform.source("nginx", Some("nginx/v1.0.0")),
        "edge",
        &[],
    ));
    let profile = env.root.join("again");
    let out = env.pctl_in(
        &gitops,
        [
            "capture",
            &format!("{INSTALL_PATH}/edge"),
            "--name",
            "edge",
            "-o",
            &arg(&profile),
        ],
    );
    assert_success(&out);
    let files = tree_files(&profile);
    for f in files.keys() {
        assert!(
            !f.ends_with("kustomize-flux.yaml") && !f.ends_with("profile-installation.yaml"),
            "{f} was captured"
        );
    }
    let def = yaml_file(&profile.join("profile.yaml"));
    let kinds: Vec<String> = def["spec"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            if a.get("chart").is_some() {
                format!("chart {}", a["chart"]["name"].as_str().unwrap_or(""))
            } else {
                "kustomize".to_string()
            }
        })
        .collect();
    assert_eq!(kinds, ["chart ingress-nginx", "kustomize"], "{def:#?}");
    // The installation's kustomization now lists the artifact directories the wrappers
    // pointed at, and kubectl builds it.
    let docs = kustomize(&profile.join("manifests"));
    assert!(!docs.is_empty());
    assert!(
        docs.iter()
            .all(|d| d["kind"] != "Kustomization" && d["kind"] != "HelmRelease")
    );
}

/// A failing capture: exit 1, an error, and PROFILE_DIR as it was.
#[track_caller]
fn assert_refused(out: &Output, profile: &Path, needle: &str) {
    assert_error(out, 1);
    assert_stderr_mentions(out, &[needle, "hint:"]);
    assert!(
        !profile.exists() || std::fs::read_dir(profile).unwrap().next().is_none(),
        "{} was written",
        profile.display()
    );
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let env = Env::new();
    let gitops = gitops_with_app(&env, "pw", "tok");
    let profile = env.root.join("out");
    let g = arg(&gitops);
    let p = arg(&profile);

    let out = env.pctl([
        "capture",
        "apps/nope",
        "--name",
        "web",
        "-o",
        &p,
        "--repo",
        &g,
    ]);
    assert_refused(&out, &profile, "does not exist");

    let plain = env.root.join("plain");
    write(
        &plain,
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    let out = env.pctl(["capture", &arg(&plain), "--name", "web", "-o", &p]);
    assert_refused(&out, &profile, "not inside a Git repository");

    write(&gitops, "docs/readme.md", "# notes\n");
    write(&gitops, "docs/values.yaml", "a: 1\n");
    env.git(&gitops, &["add", "docs"]);
    env.git(&gitops, &["commit", "-q", "-m", "docs"]);
    let out = env.pctl(["capture", "docs", "--name", "web", "-o", &p, "--repo", &g]);
    assert_refused(&out, &profile, "no Kubernetes manifests");

    let out = env.pctl([
        "capture", "apps/web", "--name", "Web_App", "-o", &p, "--repo", &g,
    ]);
    assert_refused(&out, &profile, "DNS-1123");

    write(
        &gitops,
        "apps/web/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n",
    );
    let out = env.pctl([
        "capture", "apps/web", "--name", "web", "-o", &p, "--repo", &g,
    ]);
    assert_refused(&out, &profile, "uncommitted");
    std::fs::remove_file(gitops.join("apps/web/extra.yaml")).unwrap();

    write(&gitops, "apps/broken/x.yaml", "a: [1,\nb: c\n");
    env.git(&gitops, &["add", "apps/broken"]);
    env.git(&gitops, &["commit", "-q", "-m", "broken"]);
    let out = env.pctl([
        "capture",
        "apps/broken",
        "--name",
        "web",
        "-o",
        &p,
        "--repo",
        &g,
    ]);
    assert_refused(&out, &profile, "apps/broken/x.yaml");

    write(&profile, "keep.txt", "mine\n");
    let out = env.pctl([
        "capture", "apps/web", "--name", "web", "-o", &p, "--repo", &g,
    ]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not empty", "hint:"]);
    assert_eq!(
        tree_files(&profile).keys().collect::<Vec<_>>(),
        ["keep.txt"],
        "a non-empty PROFILE_DIR was changed"
    );
    // An empty one is fine.
    let empty = env.root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_success(&env.pctl([
        "capture",
        "apps/web",
        "--name",
        "web",
        "-o",
        &arg(&empty),
        "--repo",
        &g,
    ]));
    assert!(empty.join("profile.yaml").is_file());
}

#[test]
fn a_chart_the_gitops_repository_serves_itself_is_captured_as_a_local_chart() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let platform = shared_repo("platform");
    assert_success(&env.install(
        &gitops,
        &platform.source("podinfo", Some("podinfo/6.0.0")),
        "demo",
        &[],
    ));
    let profile = env.root.join("demo");
    let out = env.pctl_in(
        &gitops,
        [
            "capture",
            &format!("{INSTALL_PATH}/demo"),
            "--name",
            "demo",
            "-o",
            &arg(&profile),
        ],
    );
    assert_success(&out);
    let def = yaml_file(&profile.join("profile.yaml"));
    let chart = &def["spec"]["artifacts"][0]["chart"];
    let path = chart["path"].as_str().expect("a local chart").to_string();
    // Copied byte for byte, the vendored binary subchart included.
    let src = repo_files_at(platform.path(), "podinfo/6.0.0", "podinfo/chart");
    assert!(src.keys().any(|k| k.ends_with(".tgz")));
    let copied = tree_files(&profile.join(&path));
    assert_eq!(copied, src);
    let values = chart["defaultValues"].as_str().unwrap();
    assert!(values.contains("message: Deployed by pctl"), "{values}");
    // The chart is not copied a second time as raw YAML, and nothing else is left.
    assert_eq!(
        def["spec"]["artifacts"].as_array().unwrap().len(),
        1,
        "{def:#?}"
    );
    assert!(!profile.join("manifests").exists());
}
