//! Unit tests of `model`.
use super::*;

const FULL: &str = r#"
apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: observability
  labels: {anything: goes}
spec:
  description: Prometheus and dashboards
  maintainer: Platform Team <platform@example.com>
  prerequisites: ["kubernetes 1.28"]
  keywords: [monitoring]
  parameters:
    - name: replicas
      type: integer
      default: 2
      minimum: 1
  presets:
    ha: {replicas: 3}
  artifacts:
    - name: prometheus
      chart:
        url: https://prometheus-community.github.io/helm-charts
        name: kube-prometheus-stack
        version: "58.x"
        defaultValues: |
          replicas: 1
    - name: dashboards
      kustomize: {path: dashboards}
      template: true
      dependsOn: [{name: prometheus}]
    - name: local-chart
      chart: {path: charts/exporter}
    - name: ingress
      profile:
        source:
          url: https://github.com/org/profiles
          tag: ingress/v1.2.0
        with: {domain: x}
"#;

#[test]
fn reads_full_definition() {
    let (d, w) = parse("p.yaml", FULL, Some("observability")).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(d.name, "observability");
    assert_eq!(d.artifacts.len(), 4);
    assert_eq!(d.artifacts[1].depends_on, vec!["prometheus"]);
    assert!(d.artifacts[1].template);
    match &d.artifacts[3].kind {
        ArtifactKind::Profile { source, .. } => assert_eq!(source.path, "ingress"),
        k => panic!("{k:?}"),
    }
    assert_eq!(d.parameters[0].kind, ParamType::Integer);
}

#[test]
fn unknown_field_suggests() {
    let text = FULL.replace(
        "chart: {path: charts/exporter}",
        "chrat: {path: charts/exporter}",
    );
    let err = parse("p.yaml", &text, None).unwrap_err();
    let (top, _, hints) = crate::error::describe(&err);
    assert!(top.contains("unknown field `chrat`"), "{top}");
    assert!(top.contains("line"), "{top}");
    assert!(hints[0].starts_with("did you mean `chart`?"), "{hints:?}");
}

#[test]
fn chart_with_path_and_url_is_an_error() {
    let text = FULL.replace(
        "chart: {path: charts/exporter}",
        "chart: {path: c, url: https://x, name: n, version: '1'}",
    );
    let err = parse("p.yaml", &text, None).unwrap_err();
    assert!(err.to_string().contains("both `path` and `url`"), "{err}");
}

#[test]
fn missing_dependency_and_duplicates() {
    let text = FULL.replace(
        "dependsOn: [{name: prometheus}]",
        "dependsOn: [{name: grafana}]",
    );
    let err = parse("p.yaml", &text, None).unwrap_err();
    assert!(err.to_string().contains("\"grafana\""), "{err}");
    let text = FULL.replace("name: local-chart", "name: dashboards");
    let err = parse("p.yaml", &text, None).unwrap_err();
    assert!(err.to_string().contains("used twice"), "{err}");
}

#[test]
fn legacy_profile_converts_with_warning() {
    let text = r#"
apiVersion: profiles.fluxcd.io/v1alpha1
kind: Profile
metadata:
  name: nginx
spec:
  description: Profile for deploying nginx
  artifacts:
    - name: nginx-server
      kind: HelmChart
      path: nginx/chart
    - name: nginx-deployment
      kind: Kustomize
      path: nginx/deployment
"#;
    let (d, w) = parse("p.yaml", text, Some("nginx")).unwrap();
    assert_eq!(w.len(), 1);
    // The same schema under the group of profiles-examples' fix_api_version
    // branch reads the same, and its warning names the group it has.
    let other = text.replace(
        "profiles.fluxcd.io/v1alpha1",
        "packages.weave.works/v1alpha1",
    );
    let (d2, w2) = parse("p.yaml", &other, Some("nginx")).unwrap();
    assert_eq!(d2, d);
    assert!(
        w2[0].contains("packages.weave.works/v1alpha1 Profile is the legacy schema"),
        "{w2:?}"
    );
    assert_eq!(
        d.artifacts[0].kind,
        ArtifactKind::Chart {
            chart: Chart::Local {
                path: "nginx/chart".into()
            },
            default_values: None,
            release: Release::default(),
        }
    );
    assert_eq!(
        d.artifacts[1].kind,
        ArtifactKind::Kustomize {
            path: "nginx/deployment".into()
        }
    );
}

#[test]
fn spec_name_equal_is_a_warning_and_different_an_error() {
    let text = FULL.replace(
        "  description: Prometheus",
        "  name: observability\n  description: Prometheus",
    );
    let (_, w) = parse("p.yaml", &text, None).unwrap();
    assert_eq!(w.len(), 1);
    let text = FULL.replace(
        "  description: Prometheus",
        "  name: other\n  description: Prometheus",
    );
    assert!(parse("p.yaml", &text, None).is_err());
}

#[test]
fn branch_without_path_and_tag_prefix() {
    let text = FULL.replace("tag: ingress/v1.2.0", "branch: main");
    assert!(
        parse("p.yaml", &text, None)
            .unwrap_err()
            .to_string()
            .contains("needs `path`")
    );
}

#[test]
fn dependency_cycle_is_reported() {
    let text = FULL.replace(
        "    - name: prometheus\n",
        "    - name: prometheus\n      dependsOn: [{name: dashboards}]\n",
    );
    let err = parse("p.yaml", &text, None).unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
}

#[test]
fn every_name_problem_is_found_and_parse_stops_at_the_first() {
    use super::validate::name_problems;
    let artifacts = vec![
        ("web", vec!["db", "nope"]),
        ("db", vec!["web"]),
        ("Bad_Name", vec![]),
        ("web", vec!["web"]),
    ];
    let found: Vec<(String, String, Option<String>)> = name_problems(&artifacts, &["a", "b", "a"])
        .into_iter()
        .map(|p| (p.path, p.message, p.first))
        .collect();
    let expected = [
        (
            "artifacts[2].name",
            "artifact name \"Bad_Name\" is not a DNS-1123 label",
            None,
        ),
        (
            "artifacts[3].name",
            "artifact name \"web\" is used twice",
            Some("artifacts[0].name"),
        ),
        (
            "artifacts[0].dependsOn[1]",
            "artifact \"web\" depends on \"nope\", which is not an artifact of this profile",
            None,
        ),
        (
            "artifacts[3].dependsOn[0]",
            "artifact \"web\" depends on itself",
            None,
        ),
        (
            "artifacts[1].dependsOn",
            "dependsOn cycle: db -> web -> db",
            None,
        ),
        (
            "parameters[2].name",
            "parameter \"a\" is declared twice",
            Some("parameters[0].name"),
        ),
    ];
    let expected: Vec<(String, String, Option<String>)> = expected
        .iter()
        .map(|(p, m, f)| (p.to_string(), m.to_string(), f.map(str::to_string)))
        .collect();
    assert_eq!(found, expected);
}
