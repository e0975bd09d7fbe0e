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

/// `author_reading` as it was before one parse served its three readings: each reading
/// of the whole document, then the parts looked up in them.
fn author_reading_by_three_reads(origin: &str, text: &str, spec: &mut RawSpec) -> Result<()> {
    let author = yaml::author_values(origin, text)?;
    let helm = yaml::helm_values(origin, text)?;
    let texts = yaml::scalar::read(origin, text, yaml::scalar::Reading::Text)?.0;
    let at = |v: &Value, path: &[&str]| -> Option<Value> {
        let mut cur = v;
        for p in path {
            cur = match cur {
                Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
                _ => cur.get(*p)?,
            };
        }
        Some(cur.clone())
    };
    let mut objects = BTreeSet::new();
    for (i, p) in spec.parameters.iter_mut().enumerate() {
        let i = i.to_string();
        let object = p.kind.as_deref() == Some("object");
        if object {
            objects.insert(p.name.clone());
        }
        let tree = if object { &helm } else { &author };
        if p.default.is_some() {
            p.default = at(tree, &["spec", "parameters", &i, "default"]);
        }
        if let Some(Value::Array(items)) = at(&texts, &["spec", "parameters", &i, "enum"]) {
            p.allowed = items;
        }
    }
    for (name, set) in spec.presets.iter_mut() {
        for (k, v) in set.iter_mut() {
            let tree = if objects.contains(k) { &helm } else { &author };
            if let Some(x) = at(tree, &["spec", "presets", name, k]) {
                *v = x;
            }
        }
    }
    for (i, a) in spec.artifacts.iter_mut().enumerate() {
        if let Some(p) = a.profile.as_mut()
            && let Some(Value::Object(with)) = at(
                &author,
                &["spec", "artifacts", &i.to_string(), "profile", "with"],
            )
        {
            p.with = with;
        }
    }
    Ok(())
}

#[test]
fn one_parse_reads_as_three_whole_readings() {
    let head = "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\n";
    let deep = format!(
        "metadata:\n  name: p\n  labels: {}x{}\n",
        "[".repeat(70),
        "]".repeat(70)
    );
    let bodies = [
        // Every reading in use: defaults, enums, objects, presets, `with`.
        "metadata: {name: p}\nspec:\n  parameters:\n    - {name: mode, default: 0755}\n    - {name: flag, type: boolean, default: y}\n    - {name: pick, type: enum, enum: [1.10, y, ~, 'q', 2], default: 1.10}\n    - {name: obj, type: object, default: {a: 0755, b: [on, '0755'], 0644: x}}\n  presets:\n    p1: {mode: 1:30, obj: {c: 0x1F}, flag: no}\n    '0755': {mode: '0755'}\n  artifacts:\n    - name: n\n      profile:\n        source: {path: sub}\n        with: {a: 0755, b: yes, c: '1:30'}\n",
        // Anchors and aliases, tags, block and multi-line plain scalars.
        "metadata: {name: p}\nspec:\n  parameters:\n    - {name: a, default: &v 0755}\n    - {name: b, default: *v}\n    - {name: c, default: !!str 0755}\n    - name: d\n      default: |\n        0755\n    - name: e\n      default: one\n        two\n    - {name: o, type: object, default: &o {x: y}}\n  presets:\n    p: {o: *o, a: *v}\n  artifacts:\n    - {name: k, kustomize: {path: k}}\n",
        // Nothing to read but the whole document still read by Helm's rules.
        "metadata: {name: p}\nspec:\n  description: .inf\n  artifacts:\n    - {name: k, kustomize: {path: k}}\n",
        "metadata:\n  name: p\n  labels:\n    ~: x\nspec:\n  artifacts:\n    - {name: k, kustomize: {path: k}}\n",
        "metadata:\n  name: p\n  labels:\n    99999999999999999999: x\nspec: {}\n",
        "metadata:\n  name: p\n  labels:\n    ? [a, b]\n    : c\nspec: {}\n",
        "metadata: {name: p}\nspec:\n  parameters:\n    - {name: o, type: object, default: {a: .nan}}\n",
        "metadata: {name: p}\nspec:\n  parameters:\n    - {name: s, default: .inf}\n",
        "metadata: {name: p}\nspec:\n  presets:\n    p: {o: .inf}\n",
        "metadata: {name: p}\nspec:\n  artifacts:\n    - name: n\n      profile:\n        source: {path: sub}\n        with: {a: -.inf, 1e3: b}\n",
        // Keys read differently by each reading; duplicate keys.
        "metadata: {name: p}\nspec:\n  presets:\n    yes: {a: 1}\n    on: {a: 2}\n  parameters:\n    - {name: a}\n",
        "metadata: {name: p}\nspec:\n  presets:\n    p: {a: 1, a: 2}\n  parameters:\n    - {name: a}\n",
        deep.as_str(),
    ];
    let show = |r: Result<ProfileDefinition>| match r {
        Ok(d) => format!("{d:?}"),
        Err(e) => format!(
            "error: {e:#} / {:?}",
            e.downcast_ref::<crate::error::Hint>().map(|h| &h.hint)
        ),
    };
    let mut errors = 0;
    for body in bodies {
        let text = format!("{head}{body}");
        let Ok(raw) = serde_saphyr::from_str::<RawDefinition>(&text) else {
            continue;
        };
        let mut spec = raw.spec;
        let now = author_reading("p.yaml", &text, &mut spec)
            .and_then(|()| convert("p.yaml", "p".into(), spec));
        let raw: RawDefinition = serde_saphyr::from_str(&text).unwrap();
        let mut spec = raw.spec;
        let before = author_reading_by_three_reads("p.yaml", &text, &mut spec)
            .and_then(|()| convert("p.yaml", "p".into(), spec));
        errors += usize::from(before.is_err());
        assert_eq!(show(now), show(before), "{text}");
    }
    assert_eq!(errors, 2, "the error cases that reach the readings");
}

/// The errors of the readings keep their lines (a number no reading can take is
/// refused first by the header's read).
#[test]
fn reading_errors_name_their_line() {
    let text = "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p\nspec:\n  description: .inf\n  artifacts:\n    - {name: k, kustomize: {path: k}}\n";
    let err = parse("p.yaml", text, None).unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "p.yaml: line 6 column 16: non-finite float `.inf` rejected by the configured policy"
    );
    let text = "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p\n  labels:\n    ~: x\nspec:\n  artifacts:\n    - {name: k, kustomize: {path: k}}\n";
    let err = parse("p.yaml", text, None).unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "p.yaml: line 6 column 5: Helm cannot read the key \"~\" (it is null or a number above the 64-bit range)"
    );
}
