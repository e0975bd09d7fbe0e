//! Every YAML file pctl writes means the same in a YAML 1.1 reader (PyYAML, as
//! Kubernetes tooling reads YAML) as in YAML 1.2 readers (serde-saphyr with default
//! settings, as pctl reads it, and with strict booleans, as the harness does), even
//! when string parameters hold `yes`, `on`, `NO`, `0755`, `1.10`, `null`, `~` or "".

use crate::common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// Strings a YAML 1.1 reader takes for booleans, octal or float numbers, or null.
const TRICKY: [&str; 8] = ["yes", "on", "NO", "0755", "1.10", "null", "~", ""];

/// Reads each file named on the command line with PyYAML (`safe_load_all`, YAML 1.1)
/// and prints {path: [documents]} as JSON, tagging what JSON cannot tell apart: keys
/// that are not strings, timestamps, binary, non-finite floats.
const PYYAML_DUMP: &str = r#"
import datetime, json, math, sys
import yaml

def norm(v):
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else '!key:%s:%r' % (type(k).__name__, k)): norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, (datetime.date, datetime.datetime)):
        return {'!timestamp': v.isoformat()}
    if isinstance(v, bytes):
        return {'!binary': repr(v)}
    if isinstance(v, float) and not math.isfinite(v):
        return {'!float': repr(v)}
    return v

out = {}
for path in sys.argv[1:]:
    with open(path, encoding='utf-8') as fh:
        out[path] = [norm(d) for d in yaml.safe_load_all(fh) if d is not None]
print(json.dumps(out))
"#;

fn pyyaml(env: &Env, files: &[String]) -> BTreeMap<String, Vec<Value>> {
    let script = env.path("pyyaml-dump.py");
    std::fs::write(&script, PYYAML_DUMP).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .args(files)
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "PyYAML cannot read pctl's files:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// serde-saphyr with its default settings.
fn saphyr_default(text: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Every YAML file below `root` that pctl wrote: everything but `.git` and the
/// files of local charts (copied byte for byte; Helm templates are not YAML).
fn written_yaml(root: &Path) -> Vec<String> {
    tree_files(root)
        .into_keys()
        .filter(|k| (k.ends_with(".yaml") || k.ends_with(".yml")) && !k.contains("/chart/"))
        .map(|k| root.join(k).display().to_string())
        .collect()
}

fn record_message(gitops: &Path, name: &str) -> Value {
    yaml_file(&install_dir(gitops, name).join("profile-installation.yaml"))["spec"]["values"]
        ["message"]["value"]
        .clone()
}

/// YAML 1.1 booleans, and `~` (null).
#[test]
fn yaml11_boolean_lookalikes_keep_their_type_in_every_file_pctl_writes() {
    lookalikes_keep_their_type(&[TRICKY[0], TRICKY[1], TRICKY[2], TRICKY[6]]);
}

/// YAML 1.1 octal and float numbers, `null`, and the empty string.
#[test]
fn yaml11_number_null_and_empty_lookalikes_keep_their_type_in_every_file_pctl_writes() {
    lookalikes_keep_their_type(&[TRICKY[3], TRICKY[4], TRICKY[5], TRICKY[7]]);
}

/// Installs `webapp` once per value, the value going in as `message` (through
/// `--set-string`, `--set` or a values file in turn) and as a key and a value of
/// the object parameter `labels`; then reads back every YAML file pctl wrote.
fn lookalikes_keep_their_type(tricky: &[&str]) {
    let env = Env::new();
    let g = env.init_gitops("gitops");
    // SOPS files are YAML pctl writes too.
    std::fs::write(
        g.join(".sops.yaml"),
        "creation_rules:\n  - age: age1vm40eudx5hll86463mz9hqhsem9vavp5ufp5tthesquzjezvp5ns0e7dxv\n",
    )
    .unwrap();
    env.git(&g, &["add", ".sops.yaml"]);
    env.git(&g, &["commit", "-q", "-m", "sops"]);
    let source = shared_repo("params").source("webapp", Some("1.0.0"));
    let mut renders = Vec::new();
    for (i, v) in tricky.iter().enumerate() {
        let name = format!("y{i}");
        let mut args: Vec<String> = [
            "--set",
            "domain=shop.example.com",
            "--set",
            "region=eu-west-1",
        ]
        .map(String::from)
        .to_vec();
        // Through each way in: --set-string, --set (coerced to string), a values file.
        let vals = env.path(&format!("vals-{i}.yaml"));
        std::fs::write(
            &vals,
            format!(
                "labels:\n  tricky: '{v}'\n  '{v}': key\n{}",
                if i % 3 == 2 {
                    format!("message: '{v}'\n")
                } else {
                    String::new()
                }
            ),
        )
        .unwrap();
        args.extend(["-f".to_string(), vals.display().to_string()]);
        match i % 3 {
            0 => args.extend(["--set-string".to_string(), format!("message={v}")]),
            1 => args.extend(["--set".to_string(), format!("message={v}")]),
            _ => {}
        }
        if i == 0 {
            env.set_var("PCTL_TEST_SESSION_KEY", "yes");
            args.extend(["--set-env", "session_key=PCTL_TEST_SESSION_KEY"].map(String::from));
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.install(&g, &source, &name, &a);
        assert_success(&out);
        check_installation(&g, &name);
        if i == 1 {
            // `pctl render` output is YAML too.
            let mut r: Vec<&str> = vec!["render", &source, "--name", "rendered"];
            r.extend(a.iter().copied());
            let out = env.pctl(&r);
            assert_success(&out);
            let p = env.path("render.yaml");
            std::fs::write(&p, &out.stdout).unwrap();
            renders.push(p.display().to_string());
        }
    }

    let mut files = written_yaml(&g);
    files.extend(renders);
    assert!(files.len() > tricky.len() * 10, "{files:?}");
    let py = pyyaml(&env, &files);
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let v11 = &py[f];
        match saphyr_default(&text) {
            Ok(d) if &d == v11 => {}
            Ok(d) => problems.push(format!(
                "{f}: PyYAML and serde-saphyr (default) differ\n  PyYAML: {}\n  saphyr: {}",
                serde_json::to_string(v11).unwrap(),
                serde_json::to_string(&d).unwrap()
            )),
            Err(e) => problems.push(format!("{f}: serde-saphyr: {e}")),
        }
        match try_yaml_docs(&text) {
            Ok(d) if &d == v11 => {}
            Ok(d) => problems.push(format!(
                "{f}: PyYAML and serde-saphyr (strict booleans) differ\n  PyYAML: {}\n  strict: {}",
                serde_json::to_string(v11).unwrap(),
                serde_json::to_string(&d).unwrap()
            )),
            Err(e) => problems.push(format!("{f}: serde-saphyr strict: {e}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // And the value is the string given, everywhere it went (PyYAML's reading).
    for (i, v) in tricky.iter().enumerate() {
        let name = format!("y{i}");
        let dir = install_dir(&g, &name);
        let read = |rel: &str| py[&dir.join(rel).display().to_string()].clone();
        let hr = &read("artifacts/frontend/helm-release.yaml")[0];
        assert_eq!(
            hr["spec"]["values"]["ui"]["message"],
            json!(v),
            "{name}: frontend"
        );
        assert_eq!(
            hr["spec"]["values"]["podLabels"],
            json!({"tricky": v, *v: "key"}),
            "{name}: object parameter"
        );
        let extras = &read("artifacts/extras/helm-release.yaml")[0];
        assert_eq!(
            extras["spec"]["values"]["extraData"]["message"],
            json!(v),
            "{name}: extras"
        );
        let settings = &read("artifacts/settings/settings.yaml")[0];
        assert_eq!(settings["data"]["MESSAGE"], json!(v), "{name}: settings");
        let rec = &read("profile-installation.yaml")[0];
        assert_eq!(
            rec["spec"]["values"]["message"]["value"],
            json!(v),
            "{name}: record"
        );
        assert_eq!(
            record_message(&g, &name),
            json!(v),
            "{name}: record (YAML 1.2)"
        );
    }
    flux_dry_run(&g);
}

/// Plain scalars that YAML readers type differently, in `defaultValues`.
const HELM_SCALARS: &[&str] = &[
    "0644",
    "-0755",
    "0o644",
    "0x1F",
    "0b101",
    "1_000",
    "1:30",
    "12:30:00",
    "y",
    "n",
    "yes",
    "Off",
    "tRUE",
    "~",
    "08",
    "1e3",
    "-.5",
    "+.5",
    "1.",
    "1.10",
    "1.0e+400",
    "2024-01-01",
    "9223372036854775808",
    "18446744073709551616",
    "_1",
    "3e",
    "=",
    "<<x",
];

/// The HelmRelease pctl writes reads the same in PyYAML (YAML 1.1) and in YAML 1.2
/// readers, and that reading is Helm's reading of the text in `defaultValues`:
/// octal-meant integers are written as decimal integers, ambiguous strings quoted.
#[test]
fn written_helm_release_values_read_the_same_in_yaml11_and_yaml12_and_as_helm_reads_them() {
    let env = Env::new();
    let repo = env.path("profiles");
    let dir = repo.join("dump");
    std::fs::create_dir_all(dir.join("charts/dump/templates")).unwrap();
    std::fs::write(
        dir.join("charts/dump/Chart.yaml"),
        "apiVersion: v2\nname: dump\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("charts/dump/values.yaml"), "").unwrap();
    std::fs::write(
        dir.join("charts/dump/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dump\ndata:\n  v: {{ toJson .Values | quote }}\n",
    )
    .unwrap();
    let mut values = String::new();
    for (i, s) in HELM_SCALARS.iter().enumerate() {
        values.push_str(&format!("k{i}: {s}\n"));
    }
    values.push_str("0755: octal-key\nyes: bool-key\nlist: [0600, on, 1:30]\n");
    let block: String = values.lines().map(|l| format!("          {l}\n")).collect();
    std::fs::write(
        dir.join("profile.yaml"),
        format!("apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: dump\nspec:\n  artifacts:\n    - name: values\n      chart:\n        path: charts/dump\n        defaultValues: |\n{block}"),
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "profile"]);
    let g = env.init_gitops("gitops");
    let out = env.install(&g, dir.to_str().unwrap(), "t", &[]);
    assert_success(&out);
    let hr = install_dir(&g, "t").join("artifacts/values/helm-release.yaml");
    let f = hr.display().to_string();
    let text = std::fs::read_to_string(&hr).unwrap();
    let py = pyyaml(&env, std::slice::from_ref(&f));
    let v11 = &py[&f];
    assert_eq!(&saphyr_default(&text).unwrap(), v11, "{text}");
    assert_eq!(&try_yaml_docs(&text).unwrap(), v11, "{text}");
    let helm = pctl::yaml::helm_values("values", &values).unwrap();
    assert_eq!(v11[0]["spec"]["values"], helm, "{text}");
    assert_eq!(helm["k0"], json!(420));
    assert_eq!(helm["493"], json!("octal-key"));
    assert_eq!(helm["list"], json!([384, true, "1:30"]));
    assert!(text.contains("k0: 420\n"), "{text}");
}
