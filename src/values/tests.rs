//! Unit tests of `values`.
use super::*;

fn def() -> ProfileDefinition {
    let text = r#"
apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata: {name: obs}
spec:
  parameters:
    - {name: domain, type: string, required: true, pattern: '^[a-z0-9.-]+$'}
    - {name: replicas, type: integer, default: 2, minimum: 1, maximum: 9}
    - {name: size, type: enum, enum: [small, large], default: small}
    - {name: ratio, type: number}
    - {name: debug, type: boolean, default: false}
    - {name: token, type: secret}
    - {name: labels, type: object}
  presets:
    ha: {replicas: 3, size: large}
  artifacts: []
"#;
    crate::model::parse("t", text, None).unwrap().0
}

#[test]
fn a_huge_or_deeply_nested_value_is_refused_without_echoing_it_whole() {
    let d = def();
    let labels = d.parameters.iter().find(|p| p.name == "labels").unwrap();
    let deep = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let err = coerce(labels, &Raw::Text(deep.clone())).unwrap_err();
    assert!(err.len() < 300, "{} bytes of error", err.len());
    assert!(
        err.contains(&format!("({} bytes)", deep.len() + 2 * 10_000 + 2)) || err.contains("bytes)"),
        "{err}"
    );
}

fn flag(key: &str, v: &str, i: usize) -> Given {
    Given {
        key: key.into(),
        value: Raw::Text(v.into()),
        origin: Origin::new(Level::Flag, format!("--set {key}")),
        secret_ok: false,
        group: i,
    }
}

fn file(label: &str, text: &str, level: Level, group: usize) -> Vec<Given> {
    parse_values_file(label, text, level, group).unwrap()
}

fn base() -> Inputs {
    Inputs {
        flags: vec![flag("domain", "example.com", 0)],
        ..Default::default()
    }
}

fn scope(d: &ProfileDefinition) -> Scope<'_> {
    Scope {
        def: d,
        path: "",
        binding: None,
    }
}

fn value_and_level(inputs: &Inputs, key: &str) -> (Value, Level) {
    let d = def();
    let pv = resolve(&scope(&d), inputs).unwrap();
    (pv.values[key].clone(), pv.origins[key].level)
}

#[test]
fn every_level_beats_the_one_below() {
    let mut i = base();
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(2), Level::Default)
    );
    i.global = file("global.yaml", "replicas: 4\n", Level::Global, 0);
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(4), Level::Global)
    );
    i.cluster = file(
        "cluster staging (.pctl/values/clusters/staging.yaml)",
        "replicas: 7\n",
        Level::Cluster,
        0,
    );
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(7), Level::Cluster)
    );
    let d = def();
    let pv = resolve(&scope(&d), &i).unwrap();
    assert_eq!(pv.origins["replicas"].record_label(), "cluster:staging");
    i.values_profiles = file("team.yaml", "replicas: 5\n", Level::ValuesProfile, 0);
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(5), Level::ValuesProfile)
    );
    i.preset = Some("ha".into());
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(3), Level::Preset)
    );
    i.recorded = file("record", "replicas: 6\n", Level::Recorded, 0);
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(6), Level::Recorded)
    );
    i.files = file("values.yaml", "replicas: 7\n", Level::File, 0);
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(7), Level::File)
    );
    i.flags.push(flag("replicas", "8", 1));
    assert_eq!(
        value_and_level(&i, "replicas"),
        (Value::from(8), Level::Flag)
    );
}

#[test]
fn later_flags_and_files_win_earlier_value_profiles_win() {
    let mut i = base();
    i.flags.push(flag("replicas", "3", 1));
    i.flags.push(flag("replicas", "4", 2));
    assert_eq!(value_and_level(&i, "replicas").0, Value::from(4));
    let mut i = base();
    i.files = file("a.yaml", "replicas: 3\n", Level::File, 0);
    i.files
        .extend(file("b.yaml", "replicas: 4\n", Level::File, 1));
    assert_eq!(value_and_level(&i, "replicas").0, Value::from(4));
    let mut i = base();
    i.values_profiles = file("a.yaml", "replicas: 3\n", Level::ValuesProfile, 0);
    i.values_profiles
        .extend(file("b.yaml", "replicas: 4\n", Level::ValuesProfile, 1));
    assert_eq!(value_and_level(&i, "replicas").0, Value::from(3));
}

#[test]
fn profile_param_beats_bare_param_in_one_file() {
    let mut i = base();
    i.global = file(
        "global.yaml",
        "obs.replicas: 5\nreplicas: 4\n",
        Level::Global,
        0,
    );
    assert_eq!(value_and_level(&i, "replicas").0, Value::from(5));
    i.global = file(
        "global.yaml",
        "replicas: 4\nobs: {replicas: 6}\n",
        Level::Global,
        0,
    );
    assert_eq!(value_and_level(&i, "replicas").0, Value::from(6));
}

#[test]
fn coercion_and_constraints() {
    let mut i = base();
    i.flags.extend([
        flag("ratio", "1.10", 1),
        flag("debug", "yes", 2),
        flag("size", "large", 3),
        flag("labels", "{a: b}", 4),
    ]);
    let d = def();
    let pv = resolve(&scope(&d), &i).unwrap();
    assert_eq!(pv.values["ratio"], serde_json::json!(1.1));
    assert_eq!(pv.values["debug"], Value::Bool(true));
    assert_eq!(pv.values["size"], Value::from("large"));
    assert_eq!(pv.values["labels"], serde_json::json!({"a": "b"}));
}

#[test]
fn all_problems_are_reported_with_their_source() {
    let i = Inputs {
        flags: vec![flag("replicas", "ten", 0), flag("size", "huge", 1)],
        files: file("vals.yaml", "# c\nratio: fast\n", Level::File, 0),
        ..Default::default()
    };
    let d = def();
    let err = resolve(&scope(&d), &i).unwrap_err().to_string();
    assert!(
        err.contains("parameter replicas from --set replicas: expected an integer"),
        "{err}"
    );
    assert!(
        err.contains("parameter size from --set size: expected one of small, large"),
        "{err}"
    );
    assert!(
        err.contains("parameter ratio from vals.yaml line 2: expected a number"),
        "{err}"
    );
    assert!(err.contains("required parameter(s): domain"), "{err}");
    let mut i = base();
    i.flags.push(flag("replicas", "0", 1));
    let err = resolve(&scope(&d), &i).unwrap_err().to_string();
    assert!(err.contains("below the minimum 1"), "{err}");
    let i = Inputs {
        flags: vec![flag("domain", "Bad Domain", 0)],
        ..Default::default()
    };
    let err = resolve(&scope(&d), &i).unwrap_err().to_string();
    assert!(err.contains("does not match the pattern"), "{err}");
}

#[test]
fn secrets_refuse_set_and_are_never_shown() {
    let mut i = base();
    i.flags.push(flag("token", "s3cr3t-canary", 1));
    let d = def();
    let err = resolve(&scope(&d), &i).unwrap_err();
    let (top, _, hints) = crate::error::describe(&err);
    assert!(
        top.contains("token is a secret") && !top.contains("s3cr3t"),
        "{top}"
    );
    assert!(hints[0].contains("--set-file"), "{hints:?}");
    let mut i = base();
    i.files = file("s.yaml", "token: s3cr3t-canary\n", Level::File, 0);
    let pv = resolve(&scope(&d), &i).unwrap();
    assert!(pv.secrets.contains("token"));
    let rows = explain(&d, "", &pv);
    let row = rows.iter().find(|r| r[0] == "token").unwrap();
    assert_eq!(row[2], MASK);
    // A bad secret is reported without its value.
    let mut i = base();
    i.files = file("s.yaml", "token: 42\n", Level::File, 0);
    let err = resolve(&scope(&d), &i).unwrap_err().to_string();
    assert!(err.contains("token") && !err.contains("42"), "{err}");
}

#[test]
fn yaml_typed_values_keep_their_type() {
    let mut i = Inputs {
        files: file("v.yaml", "domain: 'yes'\n", Level::File, 0),
        ..Default::default()
    };
    assert_eq!(value_and_level(&i, "domain").0, Value::from("yes"));
    i.files = file("v.yaml", "domain: 1.10\n", Level::File, 0);
    let d = def();
    let err = resolve(&scope(&d), &i).unwrap_err().to_string();
    assert!(err.contains("quote it"), "{err}");
}

#[test]
fn nested_scopes_use_artifact_path_and_binding() {
    let d = def();
    let binding: Map =
        serde_json::from_value(serde_json::json!({"domain": "bound.example", "replicas": 4}))
            .unwrap();
    let s = Scope {
        def: &d,
        path: "ingress",
        binding: Some(&binding),
    };
    // A bare --set names the root only, so it does not reach the nested profile.
    let i = Inputs {
        flags: vec![flag("replicas", "7", 0), flag("ingress.size", "large", 1)],
        values_profiles: file("team.yaml", "replicas: 9\n", Level::ValuesProfile, 0),
        ..Default::default()
    };
    let pv = resolve(&s, &i).unwrap();
    assert_eq!(pv.values["replicas"], Value::from(4));
    assert_eq!(pv.origins["replicas"].level, Level::Binding);
    assert_eq!(pv.values["size"], Value::from("large"));
    assert_eq!(pv.values["domain"], Value::from("bound.example"));
}

#[test]
fn placeholders_fit_type_and_constraints() {
    let d = def();
    let by = |n: &str| d.parameters.iter().find(|p| p.name == n).unwrap();
    assert_eq!(placeholder(by("domain")), Some(Value::from("placeholder")));
    assert_eq!(placeholder(by("replicas")), Some(Value::from(1)));
    assert_eq!(placeholder(by("size")), Some(Value::from("small")));
    assert_eq!(placeholder(by("debug")), Some(Value::Bool(false)));
    assert_eq!(placeholder(by("labels")), Some(serde_json::json!({})));
    let mut p = by("domain").clone();
    p.pattern = Some(r"^\S{12,}$".into());
    assert_eq!(placeholder(&p), Some(Value::from("placeholder-0123456789")));
    p.pattern = Some("^zz[0-9]$".into());
    assert_eq!(placeholder(&p), None);
    let mut p = by("replicas").clone();
    p.minimum = Some(3.5);
    assert_eq!(placeholder(&p), Some(Value::from(4)));
}

#[test]
fn placeholders_satisfy_the_parameters_they_are_bound_to() {
    let d = def();
    let by = |n: &str| d.parameters.iter().find(|p| p.name == n).unwrap();
    let mut parent = by("domain").clone();
    parent.pattern = None;
    let parent = &parent;
    let mut email = parent.clone();
    email.pattern = Some("^[^@ ]+@[^@ ]+$".into());
    assert_eq!(
        placeholder_for(parent, &[&email]),
        Some(Value::from("user@example.com"))
    );
    // An enum downstream: one of its values, as text.
    assert_eq!(
        placeholder_for(parent, &[by("size")]),
        Some(Value::from("small"))
    );
    // An integer downstream with a higher minimum: the first bound in both ranges.
    let mut many = by("replicas").clone();
    many.minimum = Some(7.0);
    let fits = placeholder_for(by("replicas"), &[&many]).and_then(|v| v.as_i64());
    assert!(fits.is_some_and(|n| (7..=9).contains(&n)), "{fits:?}");
    // Nothing fits both.
    let mut never = email.clone();
    never.pattern = Some("^zz[0-9]$".into());
    assert_eq!(placeholder_for(parent, &[&email, &never]), None);
}

#[test]
fn unknown_keys_are_errors() {
    let d = def();
    let tree = vec![Declared {
        profile: d.name.clone(),
        path: String::new(),
        params: d.parameters.iter().map(|p| p.name.clone()).collect(),
    }];
    let mut i = base();
    i.flags.push(flag("replica", "3", 1));
    let err = check_unknown(&i, &tree).unwrap_err().to_string();
    assert!(
        err.contains("unknown parameter \"replica\" from --set replica"),
        "{err}"
    );
    let mut i = base();
    i.files = file(
        "v.yaml",
        "obs.replicas: 3\nobs: {size: large}\n",
        Level::File,
        0,
    );
    check_unknown(&i, &tree).unwrap();
}
