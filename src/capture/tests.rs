//! Unit tests of the capture core.
use super::charts::strvals_path;
use super::parameterise::is_domain;
use super::*;

const CANARY: &str = "CanaryCaptureUnit0042";

fn no_dir(_: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
    Ok(None)
}

fn input<'a>(files: &[(&str, &str)], parameterise: bool) -> Input<'a> {
    Input {
        files: files
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect(),
        dir: "apps/web".into(),
        name: "web".into(),
        parameterise,
        git_repository: GitRepositoryRef {
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        },
        read_dir: &no_dir,
    }
}

fn text(c: &Captured, path: &str) -> String {
    String::from_utf8(
        c.files
            .get(path)
            .unwrap_or_else(|| panic!("no {path}: {:?}", c.files.keys()))
            .clone(),
    )
    .unwrap()
}

const RELEASE: &str = "apiVersion: source.toolkit.fluxcd.io/v1
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
    ui:
      message: '{{ not tera }}'
";

const DEPLOYMENT: &str = "# the web front end
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.4.2
";

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: web-creds
stringData:
  password: CanaryCaptureUnit0042
data:
  token: Q2FuYXJ5Q2FwdHVyZVVuaXQwMDQy
";

fn ctx(params: serde_json::Value) -> Value {
    json!({"params": params, "profile": {"name": "web", "version": "1"}, "install": {"name": "web", "namespace": "default", "path": "x"}})
}

#[test]
fn charts_manifests_and_secrets() {
    let c = capture(&input(
        &[
            ("release.yaml", RELEASE),
            ("deployment.yaml", DEPLOYMENT),
            ("secret.yaml", SECRET),
            (
                "kustomization.yaml",
                "resources:\n  - release.yaml\n  - deployment.yaml\n  - secret.yaml\n",
            ),
        ],
        false,
    ))
    .unwrap();
    for (path, bytes) in &c.files {
        let t = String::from_utf8_lossy(bytes);
        assert!(!t.contains(CANARY), "{path} holds the secret:\n{t}");
        assert!(!t.contains("Q2FuYXJ5Q2FwdHVyZVVuaXQwMDQy"), "{path}");
    }
    let profile = text(&c, "profile.yaml");
    let (def, _) = crate::model::parse("p", &profile, Some("web")).unwrap();
    assert_eq!(def.artifacts.len(), 2, "{profile}");
    match &def.artifacts[0].kind {
        crate::model::ArtifactKind::Chart {
            chart: crate::model::Chart::Remote { url, name, version },
            default_values: Some(v),
            ..
        } => {
            assert_eq!(url, "https://stefanprodan.github.io/podinfo");
            assert_eq!((name.as_str(), version.as_str()), ("podinfo", "6.5.4"));
            // Rendering the defaultValues gives the release's values back.
            let out = crate::template::render("v", v, &ctx(json!({}))).unwrap();
            let back: Value = yaml::from_str("v", &out).unwrap();
            assert_eq!(
                back,
                json!({"replicaCount": 2, "ui": {"message": "{{ not tera }}"}})
            );
        }
        k => panic!("{k:?}"),
    }
    assert!(def.artifacts[1].template, "{profile}");
    let secrets: Vec<&str> = def
        .parameters
        .iter()
        .filter(|p| p.kind == crate::model::ParamType::Secret)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(secrets, vec!["web_creds_password", "web_creds_token"]);
    // The release and its source left the manifests; the kustomization follows.
    assert!(!c.files.contains_key("manifests/release.yaml"));
    let k = text(&c, "manifests/kustomization.yaml");
    assert!(
        !k.contains("release.yaml") && k.contains("secret.yaml"),
        "{k}"
    );
    // An untouched file is copied byte for byte (templating gives it back).
    assert_eq!(text(&c, "manifests/deployment.yaml"), DEPLOYMENT);
    let s = text(&c, "manifests/secret.yaml");
    assert!(
        s.contains("password: \"{{ params.web_creds_password }}\""),
        "{s}"
    );
    assert!(s.contains("token: \"{{ params.web_creds_token }}\""), "{s}");
}

#[test]
fn parameterise_offers_repeated_literals_and_renders_back() {
    let ingress = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
    - host: shop.example.com
  tls:
    - hosts: [shop.example.com]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: urls
data:
  public: https://shop.example.com/api
  other: one.example.org
";
    let worker = DEPLOYMENT
        .replace("name: web\n", "name: worker\n")
        .replace("web:1.4.2", "worker:1.4.2");
    let files = [
        ("deployment.yaml", DEPLOYMENT),
        ("worker.yaml", worker.as_str()),
        ("ingress.yaml", ingress),
    ];
    let plain = capture(&input(&files, false)).unwrap();
    assert!(plain.parameters.is_empty());
    assert!(!text(&plain, "profile.yaml").contains("template"));

    let c = capture(&input(&files, true)).unwrap();
    let names: Vec<(&str, &str, &str)> = c
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.kind.as_str(), p.default.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("domain", "string", "shop.example.com"),
            ("replicas", "integer", "2"),
            ("image_tag", "string", "1.4.2"),
        ]
    );
    let (def, _) = crate::model::parse("p", &text(&c, "profile.yaml"), Some("web")).unwrap();
    let defaults: Map = def
        .parameters
        .iter()
        .map(|p| (p.name.clone(), p.default.clone().unwrap()))
        .collect();
    for (rel, original) in files {
        let t = text(&c, &format!("manifests/{rel}"));
        assert!(t.contains("{{ params."), "{rel}: {t}");
        let out = crate::template::render(rel, &t, &ctx(Value::Object(defaults.clone()))).unwrap();
        assert_eq!(
            yaml::documents(rel, &out).unwrap(),
            yaml::documents(rel, original).unwrap(),
            "{rel}:\n{out}"
        );
    }
    // The typed value keeps its type; strings stay strings (quoted).
    let d = text(&c, "manifests/deployment.yaml");
    assert!(d.contains("replicas: {{ params.replicas }}\n"), "{d}");
    assert!(
        d.contains("image: ghcr.io/example/web:{{ params.image_tag }}\n"),
        "{d}"
    );
}

#[test]
fn values_from_secrets_become_secret_parameters_at_their_target_path() {
    let release = RELEASE.replace(
        "  values:\n",
        "  valuesFrom:\n    - kind: Secret\n      name: web-creds\n      valuesKey: password\n      targetPath: auth.admin\\.password\n  values:\n",
    );
    let c = capture(&input(
        &[("release.yaml", &release), ("secret.yaml", SECRET)],
        false,
    ))
    .unwrap();
    let profile = text(&c, "profile.yaml");
    assert!(!profile.contains(CANARY), "{profile}");
    let (def, _) = crate::model::parse("p", &profile, Some("web")).unwrap();
    let crate::model::ArtifactKind::Chart {
        default_values: Some(v),
        ..
    } = &def.artifacts[0].kind
    else {
        panic!("{profile}")
    };
    assert!(
        v.contains("admin.password: \"{{ params.web_creds_password }}\""),
        "{v}"
    );
    // The Secret itself stays, templated with the same parameter.
    assert_eq!(
        def.parameters
            .iter()
            .filter(|p| p.name == "web_creds_password")
            .count(),
        1
    );
}

#[test]
fn pctl_wrappers_and_records_are_not_captured_and_their_targets_are_linked() {
    let wrapper = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: shop-cfg
  namespace: flux-system
  labels:
    app.kubernetes.io/managed-by: pctl
spec:
  path: ./apps/web/shop/artifacts/cfg
";
    let record = "apiVersion: pctl.dev/v1alpha1\nkind: ProfileInstallation\nmetadata:\n  name: shop\nspec: {}\n";
    let c = capture(&input(
        &[
            ("shop/profile-installation.yaml", record),
            (
                "shop/kustomization.yaml",
                "resources:\n- artifacts/cfg/kustomize-flux.yaml\n",
            ),
            ("shop/artifacts/cfg/kustomize-flux.yaml", wrapper),
            (
                "shop/artifacts/cfg/kustomization.yaml",
                "resources:\n- cm.yaml\n",
            ),
            (
                "shop/artifacts/cfg/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n",
            ),
        ],
        false,
    ))
    .unwrap();
    let keys: Vec<&String> = c.files.keys().collect();
    assert!(
        !keys.iter().any(|k| k.ends_with("kustomize-flux.yaml") || k.ends_with("profile-installation.yaml")),
        "{keys:?}"
    );
    let k = text(&c, "manifests/shop/kustomization.yaml");
    let v: Value = yaml::from_str("k", &k).unwrap();
    assert_eq!(v["resources"], json!(["artifacts/cfg"]), "{k}");
    let root = text(&c, "manifests/kustomization.yaml");
    assert!(root.contains("- shop\n"), "{root}");
}

#[test]
fn oci_repository_and_local_charts() {
    let oci = "apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata:
  name: podinfo
spec:
  url: oci://ghcr.io/stefanprodan/charts/podinfo
  ref:
    semver: '>=6.0.0'
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: from-oci
spec:
  chartRef:
    kind: OCIRepository
    name: podinfo
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: local
  namespace: flux-system
spec:
  targetNamespace: apps
  chart:
    spec:
      chart: ./charts/exporter
      sourceRef:
        kind: GitRepository
        name: flux-system
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: elsewhere
spec:
  chart:
    spec:
      chart: ./chart
      sourceRef:
        kind: GitRepository
        name: upstream
";
    let read = |p: &str| -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        Ok((p == "charts/exporter").then(|| {
            BTreeMap::from([
                (
                    "Chart.yaml".to_string(),
                    b"name: exporter\nversion: 1.0.0\n".to_vec(),
                ),
                (
                    "templates/x.yaml".to_string(),
                    b"{{ .Values.x }}\n".to_vec(),
                ),
            ])
        }))
    };
    let mut i = input(&[("charts.yaml", oci)], false);
    i.read_dir = &read;
    let c = capture(&i).unwrap();
    let (def, _) = crate::model::parse("p", &text(&c, "profile.yaml"), Some("web")).unwrap();
    let kinds: Vec<String> = def
        .artifacts
        .iter()
        .map(|a| format!("{}:{:?}", a.name, a.kind))
        .collect();
    assert!(
        kinds[0].contains(
            "url: \"oci://ghcr.io/stefanprodan/charts\", name: \"podinfo\", version: \">=6.0.0\""
        ),
        "{kinds:?}"
    );
    assert!(
        kinds[1].contains("Local { path: \"charts/local\" }"),
        "{kinds:?}"
    );
    assert_eq!(
        text(&c, "charts/local/templates/x.yaml"),
        "{{ .Values.x }}\n"
    );
    // A chart from another Git repository stays raw YAML, with a note.
    assert_eq!(def.artifacts[2].name, "manifests");
    let m = text(&c, "manifests/charts.yaml");
    assert!(
        m.contains("name: elsewhere") && !m.contains("name: from-oci"),
        "{m}"
    );
    assert!(
        c.notes.iter().any(|n| n.contains("GitRepository upstream")),
        "{:?}",
        c.notes
    );
    // The local chart's release keeps its namespaces: its target, and its own
    // namespace as the storage namespace.
    assert!(
        kinds[1].contains("\"targetNamespace\": String(\"apps\")")
            && kinds[1].contains("\"storageNamespace\": String(\"flux-system\")")
            && kinds[1].contains("\"releaseName\": String(\"apps-local\")"),
        "{kinds:?}"
    );
}

#[test]
fn sops_secrets_and_secret_generators_keep_no_value() {
    let sops = "apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  url: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]
sops:
  age: []
  mac: x
";
    let c = capture(&input(
        &[
            ("db.yaml", sops),
            ("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"),
            ("creds.env", "USER=admin\nPASSWORD=CanaryCaptureUnit0042\n"),
            (
                "kustomization.yaml",
                "resources: [db.yaml, cm.yaml]\nsecretGenerator:\n  - name: creds\n    envs: [creds.env]\n    literals: [extra=CanaryCaptureUnit0042]\n",
            ),
        ],
        false,
    ))
    .unwrap();
    for (path, bytes) in &c.files {
        let t = String::from_utf8_lossy(bytes);
        assert!(!t.contains(CANARY) && !t.contains("ENC["), "{path}:\n{t}");
    }
    assert!(!c.files.contains_key("manifests/creds.env"));
    let names: Vec<&str> = c.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["db_url", "creds_extra", "creds_user", "creds_password"]
    );
    let k: Value = yaml::from_str("k", &text(&c, "manifests/kustomization.yaml")).unwrap();
    assert_eq!(
        k["resources"],
        json!(["db.yaml", "cm.yaml", "creds-secret.yaml"])
    );
    assert!(k.get("secretGenerator").is_none());
}

#[test]
fn directories_without_manifests_are_refused() {
    let err = capture(&input(
        &[("notes.md", "# hi\n"), ("values.yaml", "a: 1\n")],
        false,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("no Kubernetes manifests"), "{err}");
    let c = capture(&input(
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
            ),
            ("kustomization.yaml", "resources: [cm.yaml, ../../base]\n"),
        ],
        false,
    ))
    .unwrap();
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("\"../../base\" is outside")),
        "{:?}",
        c.notes
    );
    let err = capture(&input(&[("bad.yaml", "a: [1,\n")], false)).unwrap_err();
    assert!(err.to_string().contains("apps/web/bad.yaml"), "{err}");
}

#[test]
fn tera_escaping_round_trips() {
    for t in [
        "{{ x }}",
        "{% if %}",
        "{# c #}",
        "a {{{ b }}} {",
        "}} {{",
        "plain",
    ] {
        let e = escape_tera(t);
        assert_eq!(
            crate::template::render("t", &e, &ctx(json!({}))).unwrap(),
            t
        );
    }
}

#[test]
fn raw_documents_split_at_markers() {
    let parts = split_raw("a: 1\n---\nb: 2\n--- # c\nc: 3\n...\n");
    assert_eq!(parts, vec!["a: 1\n", "b: 2\n", "# c\nc: 3\n", ""]);
    assert_eq!(relative("a/b", "a/c/d"), "../c/d");
    assert_eq!(
        strvals_path("a.b\\.c"),
        Some(vec!["a".into(), "b.c".into()])
    );
    assert!(is_domain("shop.example.com") && !is_domain("values.yaml") && !is_domain("1.4.2"));
}
