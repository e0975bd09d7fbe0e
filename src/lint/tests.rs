//! Unit tests of `lint`.
use super::*;
use std::collections::BTreeSet;

const GOOD: &str = r#"apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: web
spec:
  description: A web app
  parameters:
    - name: replicas
      type: integer
      default: 2
      minimum: 1
    - name: domain
      type: string
      required: true
  presets:
    ha: {replicas: 3}
  artifacts:
    - name: app
      kustomize:
        path: manifests
      template: true
    - name: chart
      chart:
        url: https://charts.example.com
        name: web
        version: "1.x"
        defaultValues: |
          replicas: {{ params.replicas }}
      dependsOn:
        - name: app
"#;

fn check(text: &str) -> Checked {
    check_definition("web/profile.yaml", text, Some("web"))
}

fn lines(c: &Checked) -> Vec<(usize, Severity, String)> {
    c.findings
        .iter()
        .map(|f| (f.line, f.severity, f.message.clone()))
        .collect()
}

#[test]
fn a_good_definition_has_no_findings() {
    let c = check(GOOD);
    assert!(c.findings.is_empty(), "{:?}", c.findings);
    assert_eq!(c.def.unwrap().artifacts.len(), 2);
}

#[test]
fn positions_of_keys_and_items() {
    let p = Positions::parse(GOOD);
    assert_eq!(p.line("spec.artifacts[1].chart.url"), 24);
    assert_eq!(p.line("spec.artifacts[1]"), 22);
    assert_eq!(p.line("spec.presets.ha.replicas"), 16);
    assert_eq!(p.line("spec.artifacts[1].chart.nothing"), 23);
    assert_eq!(p.line("no.such"), 1);
    assert_eq!(p.block_line("spec.artifacts[1].chart.defaultValues", 1), 28);
}

#[test]
fn every_unknown_field_is_reported_with_its_line() {
    let text = GOOD
        .replace("      kustomize:\n", "      kustomise:\n")
        .replace("        name: web\n", "        nmae: web\n")
        .replace("      minimum: 1\n", "      minimum: 1\n      defualt: 3\n");
    let c = check(&text);
    let l = lines(&c);
    assert!(
        l.contains(&(
            20,
            Severity::Error,
            "unknown field `kustomise` in artifact \"app\"".into()
        )),
        "{l:?}"
    );
    assert!(
        l.contains(&(
            26,
            Severity::Error,
            "unknown field `nmae` in chart of artifact \"chart\"".into()
        )),
        "{l:?}"
    );
    assert!(
        l.contains(&(
            12,
            Severity::Error,
            "unknown field `defualt` in parameter \"replicas\"".into()
        )),
        "{l:?}"
    );
    let hint = c
        .findings
        .iter()
        .find(|f| f.message.contains("kustomise"))
        .unwrap();
    assert!(
        hint.hint
            .as_deref()
            .unwrap()
            .starts_with("did you mean `kustomize`?"),
        "{hint:?}"
    );
    // The rest is still checked, on the definition without the errors.
    assert!(c.partial && c.def.is_some());
}

#[test]
fn semantic_problems_are_all_reported() {
    let text = GOOD
        .replace("      default: 2\n", "      default: 0\n")
        .replace(
            "    ha: {replicas: 3}",
            "    ha: {replicas: three, size: large}",
        )
        .replace("        - name: app\n", "        - name: ap\n")
        .replace("    - name: chart\n", "    - name: app\n");
    let c = check(&text);
    let l = lines(&c);
    let has = |line: usize, needle: &str| {
        l.iter()
            .any(|(n, s, m)| *n == line && *s == Severity::Error && m.contains(needle))
    };
    assert!(has(10, "default 0 is below the minimum 1"), "{l:?}");
    assert!(
        has(
            16,
            "preset \"ha\" sets parameter \"replicas\": expected an integer"
        ),
        "{l:?}"
    );
    assert!(
        has(16, "preset \"ha\" sets \"size\", which is not a parameter"),
        "{l:?}"
    );
    assert!(
        has(22, "artifact name \"app\" is used twice (first at line 18)"),
        "{l:?}"
    );
    assert!(
        has(30, "depends on \"ap\", which is not an artifact"),
        "{l:?}"
    );
}

#[test]
fn model_rules_and_cycles_and_yaml_errors() {
    let text = GOOD.replace(
        "        url: https://charts.example.com\n",
        "        url: https://charts.example.com\n        path: chart\n",
    );
    let c = check(&text);
    assert!(
        lines(&c)
            .iter()
            .any(|(n, _, m)| *n == 23 && m.contains("both `path` and `url`")),
        "{:?}",
        c.findings
    );
    let text = GOOD.replace(
        "      template: true\n",
        "      template: true\n      dependsOn: [{name: chart}]\n",
    );
    let c = check(&text);
    assert!(
        lines(&c)
            .iter()
            .any(|(n, _, m)| *n == 22 && m == "dependsOn cycle: app -> chart -> app"),
        "{:?}",
        c.findings
    );
    let c = check("apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nspec: [a,\n");
    assert_eq!(c.findings.len(), 1);
    assert!(
        c.findings[0].message.starts_with("invalid YAML"),
        "{:?}",
        c.findings
    );
}

#[test]
fn parameter_checks() {
    let p = |yaml: &str| {
        let text = format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {{name: web}}\nspec:\n  parameters:\n    - {yaml}\n  artifacts: []\n"
        );
        check(&text)
            .findings
            .into_iter()
            .filter(|f| !f.message.contains("no artifacts"))
            .map(|f| (f.severity, f.message))
            .collect::<Vec<_>>()
    };
    assert!(
        p("{name: a, type: enum}")[0]
            .1
            .contains("enum without `enum` values")
    );
    assert!(
        p("{name: a, type: strin}")[0]
            .1
            .contains("unknown type \"strin\"")
    );
    assert!(
        p("{name: a, pattern: '['}")[0]
            .1
            .contains("not a valid regular expression")
    );
    assert!(
        p("{name: a, type: integer, minimum: 5, maximum: 1}")[0]
            .1
            .contains("minimum 5 is above maximum 1")
    );
    let e = p("{name: a, type: enum, enum: [small, large], default: z}");
    assert!(e[0].1.contains("expected one of small, large"), "{e:?}");
    let w = p("{name: a, type: secret, default: hunter2}");
    assert_eq!(w[0].0, Severity::Warning, "{w:?}");
    assert!(p("{name: my.param}")[0].1.contains("contains '.'"));
}

/// Lint's fields are the model's: at every mapping, the fields the probed schema
/// ([`model::schema`]) lists are exactly those serde's own "unknown field" error
/// allows, and lint's walk reports the same unknown field.
#[test]
fn lints_fields_are_the_models() {
    use crate::model::schema::{self, Fields, Shape};
    fn fields_at<'a>(s: &'a Shape, path: &str) -> &'a Fields {
        let mut cur = s;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let (name, item) = match part.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (part, false),
            };
            let Shape::Struct(f) = cur else {
                panic!("{path}: not a mapping")
            };
            cur = &f.get(name).unwrap().shape;
            if item {
                let Shape::List(x) = cur else {
                    panic!("{path}: not a list")
                };
                cur = x;
            }
        }
        match cur {
            Shape::Struct(f) => f,
            _ => panic!("{path}: not a mapping"),
        }
    }
    let base = |spec: &str| {
        format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata: {{name: web}}\nspec:\n{spec}"
        )
    };
    let cases: Vec<(&str, String)> = vec![
        ("", format!("{}zzz: 1\n", base("  artifacts: []\n"))),
        ("spec", base("  zzz: 1\n")),
        (
            "spec.parameters[]",
            base("  parameters: [{name: a, zzz: 1}]\n"),
        ),
        (
            "spec.artifacts[]",
            base("  artifacts: [{name: a, kustomize: {path: x}, zzz: 1}]\n"),
        ),
        (
            "spec.artifacts[].chart",
            base("  artifacts: [{name: a, chart: {path: x, zzz: 1}}]\n"),
        ),
        (
            "spec.artifacts[].kustomize",
            base("  artifacts: [{name: a, kustomize: {path: x, zzz: 1}}]\n"),
        ),
        (
            "spec.artifacts[].profile",
            base("  artifacts: [{name: a, profile: {source: {path: x}, zzz: 1}}]\n"),
        ),
        (
            "spec.artifacts[].profile.source",
            base("  artifacts: [{name: a, profile: {source: {path: x, zzz: 1}}}]\n"),
        ),
        (
            "spec.artifacts[].dependsOn[]",
            base(
                "  artifacts: [{name: a, kustomize: {path: x}, dependsOn: [{name: a, zzz: 1}]}]\n",
            ),
        ),
    ];
    let mut compared = BTreeSet::new();
    for (path, text) in cases {
        let err = model::parse("t", &text, None).unwrap_err();
        let (_, _, hints) = crate::error::describe(&err);
        let allowed: BTreeSet<String> = hints[0]
            .split("Allowed: ")
            .nth(1)
            .unwrap()
            .split(", ")
            .map(str::to_string)
            .collect();
        let fields = fields_at(schema::definition(), path);
        assert!(!fields.open, "{path}");
        let ours: BTreeSet<String> = fields.names().iter().map(|f| f.to_string()).collect();
        assert_eq!(ours, allowed, "fields of {path:?}");
        compared.insert(path.to_string());
        // And the walk finds the same unknown field.
        let c = check_definition("t", &text, None);
        assert!(
            c.findings.iter().any(|f| f.message.contains("`zzz`")),
            "{path}"
        );
    }
    // Every closed mapping of the schema was compared (metadata is open).
    fn closed(s: &Shape, at: &str, out: &mut BTreeSet<String>) {
        match s {
            Shape::List(x) => closed(x, &format!("{at}[]"), out),
            Shape::Struct(f) if !f.open => {
                out.insert(at.to_string());
                for x in &f.fields {
                    let here = if at.is_empty() {
                        x.name.to_string()
                    } else {
                        format!("{at}.{}", x.name)
                    };
                    closed(&x.shape, &here, out);
                }
            }
            _ => {}
        }
    }
    let mut all = BTreeSet::new();
    closed(schema::definition(), "", &mut all);
    assert_eq!(all, compared);
}

#[test]
fn messages_point_at_artifacts_and_template_lines() {
    assert_eq!(
        artifact_in_message("x: artifact \"app\": path"),
        Some("app".into())
    );
    assert_eq!(
        template_line("cannot render template a: Variable `x` not found (line 3)"),
        Some(3)
    );
}
