//! Values mean what Helm would read (issue 13, item 6): scalar by scalar, the chart's
//! view of the values pctl writes into a HelmRelease equals Helm's view of the same
//! text in a chart's values.yaml. Helm's view comes from the real Helm engine
//! (PyPI `helm-python-sdk`, Helm v4 with no helm binary) rendering a tiny chart whose
//! template dumps `.Values`; pctl's written values are read back both with go-yaml
//! (Helm's own YAML reader) and PyYAML (YAML 1.1), and passed to the same chart.

use crate::common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `python3 helm-view.py CHART RAW_VALUES RENDER_OUTPUT` prints
/// {"raw": .Values from RAW_VALUES as the chart's values.yaml,
///  "rawf": .Values from RAW_VALUES given as user values (`helm install -f`),
///  "goyaml": .Values from the HelmRelease's values as go-yaml reads them,
///  "pyyaml": the same as PyYAML reads them}.
const HELM_VIEW: &str = r#"
import json, os, re, shutil, sys, tempfile
import yaml
import helm_python as helm

chart, raw_path, render_path = sys.argv[1:4]

def dump(chart_dir, values=None):
    c = helm.Chart.load(chart_dir)
    try:
        out = c.render(values, name="t", namespace="default")
    finally:
        c.close()
    for path, text in out.items():
        if path.endswith("dump.yaml"):
            return json.loads(yaml.safe_load(text)["data"]["values"])
    raise SystemExit("no dump.yaml in " + repr(list(out)))

tmp = tempfile.mkdtemp()
raw_chart = os.path.join(tmp, "raw")
shutil.copytree(chart, raw_chart)
shutil.copy(raw_path, os.path.join(raw_chart, "values.yaml"))
result = {"raw": dump(raw_chart)}
# The same text given as user values (`helm install -f`), as a HelmRelease's are.
result["rawf"] = dump(chart, helm.values_from_yaml(open(raw_path, encoding="utf-8").read()))
text = open(render_path, encoding="utf-8").read()
for doc in re.split(r"(?m)^---[ \t]*$", text):
    parsed = yaml.safe_load(doc)
    if isinstance(parsed, dict) and parsed.get("kind") == "HelmRelease":
        result["pyyaml"] = dump(chart, parsed["spec"].get("values", {}))
        go = helm.values_from_yaml(doc)
        result["goyaml"] = dump(chart, go["spec"].get("values", {}))
print(json.dumps(result))
"#;

const CHART_YAML: &str = "apiVersion: v2\nname: dump\nversion: 0.1.0\n";
const DUMP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n  values: {{ toJson .Values | quote }}\n";

/// Scalars whose typing differs between YAML readers or versions, or that go-yaml
/// types in its own way (Helm v4 read each as the comment in `scalar.rs` says).
const SCALARS: &[&str] = &[
    "0644",
    "0755",
    "-0755",
    "+0755",
    "0o644",
    "0x1F",
    "-0x1F",
    "0b101",
    "1_000",
    "1__0",
    "0x_1F",
    "1_0.5",
    "1:30",
    "12:30:00",
    "y",
    "Y",
    "n",
    "N",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "False",
    "tRUE",
    "yEs",
    "~",
    "null",
    "Null",
    "08",
    "09",
    "00",
    "-0",
    "1e3",
    "1E3",
    "1e+3",
    "0.1e1",
    "-.5",
    ".5",
    "+.5",
    "1.",
    "1.10",
    "1.0e+400",
    "2024-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "0777777777777777777777",
    "0o",
    "0x",
    "_1",
    "1_",
    "+",
    "3e",
    "=",
    "x",
];

/// Keys Helm turns into strings its own way.
const KEYS: &[&str] = &[
    "0755", "yes", "y", "1e3", "1.5", "1.0", "0x10", "1:30", "NO",
];

fn profile(dir: &Path, default_values: &str, extra_spec: &str) {
    let chart = dir.join("charts/dump");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), CHART_YAML).unwrap();
    std::fs::write(chart.join("values.yaml"), "").unwrap();
    std::fs::write(chart.join("templates/dump.yaml"), DUMP).unwrap();
    let indented: String = default_values
        .lines()
        .map(|l| format!("          {l}\n"))
        .collect();
    std::fs::write(
        dir.join("profile.yaml"),
        format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: dump\nspec:\n  description: dumps its chart values\n{extra_spec}  artifacts:\n    - name: values\n      chart:\n        path: charts/dump\n        defaultValues: |\n{indented}"
        ),
    )
    .unwrap();
    let repo = dir.parent().unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "profile"]);
}

const PARAMS: &str = "  parameters:\n    - {name: p_int, type: integer, default: 1}\n    - {name: p_num, type: number, default: 1}\n    - {name: p_bool, type: boolean, default: false}\n    - {name: p_enum, type: enum, enum: [x, y, '0755'], default: x}\n    - {name: p_str, type: string, default: s}\n    - {name: p_obj, type: object, default: {}}\n";

/// Renders `dir` with `args` and returns Helm's three views (see [`HELM_VIEW`]),
/// given the raw values text `raw` for the reference.
fn views(env: &Env, dir: &Path, raw: &str, args: &[&str]) -> Value {
    let mut a = vec!["render", dir.to_str().unwrap(), "--name", "t"];
    a.extend(args);
    let out = env.pctl(&a);
    assert_success(&out);
    let render = env.path("render.yaml");
    std::fs::write(&render, &out.stdout).unwrap();
    let raw_path = env.path("raw-values.yaml");
    std::fs::write(&raw_path, raw).unwrap();
    let script = env.path("helm-view.py");
    std::fs::write(&script, HELM_VIEW).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir.join("charts/dump"))
        .arg(&raw_path)
        .arg(&render)
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "helm-view.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The differences between Helm's view of the raw text and the chart's view of what
/// pctl wrote. The reference is the text given as user values, as a HelmRelease's
/// values are; it equals the chart-values.yaml view but for keys set to null, which
/// Helm drops from chart defaults and keeps (as null) in user values.
fn compare(v: &Value, what: &dyn Fn(&str) -> String) -> Vec<String> {
    let raw = v["rawf"].as_object().expect("raw view");
    let mut problems = Vec::new();
    let chart = v["raw"].as_object().expect("chart view");
    for (k, want) in raw {
        if chart.get(k) != Some(want) && !want.is_null() {
            problems.push(format!(
                "{}: Helm reads {want} as user values but {} in values.yaml",
                what(k),
                chart
                    .get(k)
                    .map_or("nothing".to_string(), |g| g.to_string())
            ));
        }
    }
    for view in ["goyaml", "pyyaml"] {
        let got = v[view].as_object().expect("view");
        for (k, want) in raw {
            if got.get(k) != Some(want) {
                problems.push(format!(
                    "{}: Helm reads {want}, the chart got {} through pctl ({view} reading of the HelmRelease)",
                    what(k),
                    got.get(k).map_or("nothing".to_string(), |g| g.to_string())
                ));
            }
        }
        for k in got.keys().filter(|k| !raw.contains_key(*k)) {
            problems.push(format!("{view}: extra key {k:?}"));
        }
    }
    problems
}

fn dir(env: &Env) -> PathBuf {
    let d = env.path("profiles/dump");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every scalar (and key) of `defaultValues` reaches the chart as Helm reads the same
/// text in a values.yaml.
#[test]
fn default_values_reach_the_chart_as_helm_reads_them() {
    if !helm_sdk() {
        return;
    }
    let env = Env::new();
    let d = dir(&env);
    let mut text = String::new();
    for (i, s) in SCALARS.iter().enumerate() {
        text.push_str(&format!("k{i}: {s}\n"));
    }
    text.push_str(&format!("list: [{}]\n", SCALARS[..20].join(", ")));
    for (i, k) in KEYS.iter().enumerate() {
        text.push_str(&format!("{k}: key{i}\n"));
    }
    text.push_str("nested:\n  mode: 0600\n  0644: octal-key\n  flags: {a: on, b: n}\n");
    profile(&d, &text, "");
    let v = views(&env, &d, &text, &[]);
    assert_eq!(v["raw"]["k1"], json!(493), "{v}");
    assert_eq!(v["rawf"]["k26"], json!(null), "{v}");
    let problems = compare(&v, &|k| {
        k.strip_prefix('k')
            .and_then(|i| i.parse::<usize>().ok())
            .map_or_else(|| format!("key {k:?}"), |i| format!("{:?}", SCALARS[i]))
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A parameter's value reaches the chart, through `{{ params.x }}` in
/// `defaultValues`, as Helm reads the text the user gave, from `--set`, a values
/// file or a preset alike.
#[test]
fn parameter_values_reach_the_chart_as_helm_reads_the_same_text() {
    if !helm_sdk() {
        return;
    }
    let env = Env::new();
    let d = dir(&env);
    let dv = "int: {{ params.p_int }}\nnum: {{ params.p_num }}\nbool: {{ params.p_bool }}\nenum: {{ params.p_enum }}\nstr: {{ params.p_str }}\nobj: {{ params.p_obj | json_encode() }}\n";
    let presets =
        "  presets:\n    octal: {p_int: 0755, p_num: 1_000, p_bool: y, p_enum: y, p_str: 0755}\n";
    profile(&d, dv, &format!("{PARAMS}{presets}"));
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        ("0755", "1e3", "y", "y", "0755"),
        ("0x1F", "1_000", "on", "x", "yes"),
        ("-0755", "0.5", "NO", "0755", "1:30"),
        ("1_000", "08", "false", "x", "08"),
    ];
    let mut problems = Vec::new();
    for (n, (i, num, b, e, s)) in cases.iter().enumerate() {
        let raw = format!(
            "int: {i}\nnum: {num}\nbool: {b}\nenum: {e}\nstr: {s}\nobj: {{mode: 0644, on: yes}}\n"
        );
        // Through a values file.
        let vals = env.path(&format!("vals-{n}.yaml"));
        std::fs::write(
            &vals,
            format!("p_int: {i}\np_num: {num}\np_bool: {b}\np_enum: {e}\np_str: '{s}'\np_obj: {{mode: 0644, on: yes}}\n"),
        )
        .unwrap();
        let v = views(&env, &d, &raw, &["-f", vals.to_str().unwrap()]);
        problems.extend(compare(&v, &|k| format!("values file, case {n}, {k}")));
        // Through --set (and --set-string for the string).
        let set: Vec<String> = vec![
            format!("p_int={i}"),
            format!("p_num={num}"),
            format!("p_bool={b}"),
            format!("p_enum={e}"),
            "p_obj={mode: 0644, on: yes}".to_string(),
        ];
        let mut args: Vec<&str> = Vec::new();
        for s in &set {
            args.extend(["--set", s.as_str()]);
        }
        let ss = format!("p_str={s}");
        args.extend(["--set-string", ss.as_str()]);
        let v = views(&env, &d, &raw, &args);
        problems.extend(compare(&v, &|k| format!("--set, case {n}, {k}")));
    }
    // Through a preset.
    let raw = "int: 0755\nnum: 1_000\nbool: y\nenum: y\nstr: 0755\nobj: {}\n";
    let v = views(&env, &d, raw, &["--preset", "octal"]);
    problems.extend(compare(&v, &|k| format!("preset, {k}")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `--set`, a values file, a preset and `global.yaml` accept the same spellings
/// and give the same typed value; a default in profile.yaml too.
#[test]
fn every_source_accepts_the_same_spellings() {
    let env = Env::new();
    let d = dir(&env);
    let presets = "  presets:\n    octal: {p_int: 0755, p_bool: y, p_enum: y}\n";
    let params = PARAMS
        .replace(
            "p_int, type: integer, default: 1",
            "p_int, type: integer, default: 0755",
        )
        .replace(
            "p_bool, type: boolean, default: false",
            "p_bool, type: boolean, default: y",
        );
    profile(
        &d,
        "int: {{ params.p_int }}\nbool: {{ params.p_bool }}\nenum: \"{{ params.p_enum }}\"\n",
        &format!("{params}{presets}"),
    );
    let vals = env.path("v.yaml");
    std::fs::write(&vals, "p_int: 0755\np_bool: y\np_enum: y\n").unwrap();
    let hr = |args: &[&str]| -> Value {
        let mut a = vec!["render", d.to_str().unwrap(), "--name", "t"];
        a.extend(args);
        let out = env.pctl(&a);
        assert_success(&out);
        let text = stdout(&out);
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        docs.into_iter()
            .find(|d| d["kind"] == "HelmRelease")
            .unwrap()["spec"]["values"]
            .clone()
    };
    let want = json!({"int": 493, "bool": true, "enum": "y"});
    assert_eq!(
        hr(&[
            "--set",
            "p_int=0755",
            "--set",
            "p_bool=y",
            "--set",
            "p_enum=y"
        ]),
        want
    );
    assert_eq!(hr(&["-f", vals.to_str().unwrap()]), want);
    assert_eq!(hr(&["--preset", "octal"]), want);
    assert_eq!(
        hr(&["--set", "p_enum=y"]),
        want,
        "defaults 0755 and y read as --set text"
    );
    // global.yaml, through an installation.
    let g = env.init_gitops("gitops");
    std::fs::create_dir_all(g.join(".pctl/values")).unwrap();
    std::fs::write(
        g.join(".pctl/values/global.yaml"),
        "p_int: 0x1F\np_bool: on\np_enum: y\n",
    )
    .unwrap();
    env.git(&g, &["add", "-A"]);
    env.git(&g, &["commit", "-q", "-m", "global values"]);
    let out = env.install(&g, d.to_str().unwrap(), "t", &[]);
    assert_success(&out);
    let v = yaml_file(&install_dir(&g, "t").join("artifacts/values/helm-release.yaml"));
    assert_eq!(
        v["spec"]["values"],
        json!({"int": 31, "bool": true, "enum": "y"})
    );
}

/// `enum: [x, y]` offers the string "y" (not `true`), and `pctl show` says so.
#[test]
fn enum_values_are_read_as_their_author_wrote_them() {
    let env = Env::new();
    let d = dir(&env);
    let params = format!(
        "{PARAMS}    - {{name: p_ver, type: enum, enum: [1.10, 1.20, 2], default: 1.10}}\n"
    );
    profile(
        &d,
        "enum: \"{{ params.p_enum }}\"\nver: \"{{ params.p_ver }}\"\n",
        &params,
    );
    let out = env.pctl(["show", d.to_str().unwrap()]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("enum(x|y|0755)"), "{text}");
    assert!(text.contains("enum(1.10|1.20|2)"), "{text}");
    assert!(!text.contains("true"), "{text}");
    let values = |args: &[&str]| -> Value {
        let mut a = vec!["render", d.to_str().unwrap(), "--name", "t"];
        a.extend(args);
        let out = env.pctl(&a);
        assert_success(&out);
        let docs: Vec<Value> = serde_saphyr::from_multiple(&stdout(&out)).unwrap();
        docs.into_iter()
            .find(|d| d["kind"] == "HelmRelease")
            .unwrap()["spec"]["values"]
            .clone()
    };
    assert_eq!(values(&[]), json!({"enum": "x", "ver": "1.10"}));
    let vals = env.path("v.yaml");
    std::fs::write(&vals, "p_enum: y\np_ver: 2\n").unwrap();
    assert_eq!(
        values(&["-f", vals.to_str().unwrap()]),
        json!({"enum": "y", "ver": "2"})
    );
    assert_eq!(
        values(&["--set", "p_enum=y", "--set", "p_ver=1.20"]),
        json!({"enum": "y", "ver": "1.20"})
    );
}

/// An integer beyond the 64-bit range, or a value Helm reads as a boolean for an
/// integer, is refused naming the parameter, the file and the reason; nothing is
/// written.
#[test]
fn values_outside_the_declared_type_are_refused_for_the_real_reason() {
    let env = Env::new();
    let d = dir(&env);
    profile(&d, "int: {{ params.p_int }}\n", PARAMS);
    let g = env.init_gitops("gitops");
    let before = snapshot(&g);
    for (text, reason) in [
        (
            "p_int: 9223372036854775808\n",
            "beyond the 64-bit integer range",
        ),
        ("p_int: y\n", "expected an integer, got boolean true"),
        ("p_bool: 1\n", "expected a boolean"),
        ("p_obj: {a: .inf}\n", "not a finite number"),
    ] {
        let vals = env.path("bad.yaml");
        std::fs::write(&vals, text).unwrap();
        let out = env.install(
            &g,
            d.to_str().unwrap(),
            "t",
            &["-f", vals.to_str().unwrap()],
        );
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["bad.yaml", reason]);
        assert_unchanged(&before, &snapshot(&g));
    }
}

/// Lint warns, with line and column and a hint to quote, about every plain scalar
/// of profile.yaml and of `defaultValues` that YAML 1.1 and 1.2 read differently.
#[test]
fn lint_warns_where_yaml_versions_disagree() {
    let env = Env::new();
    let d = dir(&env);
    profile(
        &d,
        "mode: 0755\nreplicas: {{ params.p_int }}\nok: '0644'\nflag: yes\n",
        PARAMS,
    );
    let out = env.pctl(["lint", d.to_str().unwrap()]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    // PARAMS: `enum: [x, y, '0755']` at line 11, y at column 44.
    assert!(
        text.contains(
            "profile.yaml:11: warning: column 44: the profile.yaml value y means different things"
        ),
        "{text}"
    );
    assert!(
        text.contains("profile.yaml:19: warning: column 17: the chart value 0755 means different things to YAML 1.1 and 1.2 readers: Helm reads the number 493, a YAML 1.2 reader the number 755"),
        "{text}"
    );
    assert!(
        text.contains("quote it ('0755') if you mean the text, or write 493"),
        "{text}"
    );
    assert!(
        text.contains("profile.yaml:22: warning: column 17: the chart value yes "),
        "{text}"
    );
    assert!(!text.contains("0644"), "{text}");
}
