//! Upstream profiles are untrusted (issue 11, docs/security.md#trust-model): templates are a sandbox
//! (no environment, clock or randomness; a canary token in the environment reaches
//! no file, Git object or output), and a value cannot change the structure of the
//! YAML it is printed into. Every refusal is exit 1 with the reason and nothing
//! written.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const CANARY: &str = "canary-7e1f-ghp-SECRET";

const HEADER: &str = "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\n";

/// A Git repository at `<env>/<name>` holding `files`, committed.
fn repo_with(env: &Env, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let repo = env.path(name);
    for (path, text) in files {
        let p = repo.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "profiles"]);
    repo
}

/// A profile `evil` with parameters `s` (string) and `m` (multiline string), a
/// `template: true` kustomize artifact `config` (manifests/cm.yaml = `cm`) and, when
/// `values` is given, a remote chart `app` with those `defaultValues` lines.
fn profile(cm: &str, values: Option<&str>) -> Vec<(&'static str, String)> {
    let mut yaml = format!(
        "{HEADER}metadata:\n  name: evil\nspec:\n  description: hostile\n  parameters:\n    - name: s\n      type: string\n      default: hello\n    - name: m\n      type: string\n      multiline: true\n      default: hi\n  artifacts:\n    - name: config\n      kustomize: {{path: manifests}}\n      template: true\n"
    );
    if let Some(v) = values {
        yaml.push_str("    - name: app\n      chart:\n        url: https://charts.example.com\n        name: app\n        version: 1.0.0\n        defaultValues: |\n");
        for l in v.lines() {
            yaml.push_str(&format!("          {l}\n"));
        }
    }
    vec![
        ("evil/profile.yaml", yaml),
        ("evil/manifests/cm.yaml", cm.to_string()),
    ]
}

fn setup(env: &Env, cm: &str, values: Option<&str>) -> (String, PathBuf) {
    let files = profile(cm, values);
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let repo = repo_with(env, "profiles", &files);
    let gitops = env.init_gitops("gitops");
    (repo.join("evil").display().to_string(), gitops)
}

const CM_HEAD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n";

/// Every Git object of `repo`, contents included.
fn all_objects(env: &Env, repo: &Path) -> Vec<u8> {
    env.git_command(repo)
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .unwrap()
        .stdout
}

/// The canary is in no output, no file under the sandbox (but the profile source,
/// which does not hold it either), and no Git object of `gitops`.
#[track_caller]
fn assert_no_canary(env: &Env, gitops: &Path, outs: &[&Output]) {
    for o in outs {
        assert!(
            !stdout(o).contains(CANARY) && !stderr(o).contains(CANARY),
            "the canary reached the output\n{}",
            describe(o)
        );
    }
    for (rel, entry) in walk(&env.root) {
        if let Entry::File { data, .. } = entry {
            assert!(
                !String::from_utf8_lossy(&data).contains(CANARY),
                "the canary reached {rel}"
            );
        }
    }
    assert!(
        !String::from_utf8_lossy(&all_objects(env, gitops)).contains(CANARY),
        "the canary reached a Git object"
    );
}

/// Install, `render -o` and lint all refuse the profile, naming `needles`; nothing
/// is written. Returns the three outputs.
#[track_caller]
fn refused_everywhere(env: &Env, src: &str, gitops: &Path, needles: &[&str]) -> Vec<Output> {
    let before = snapshot(gitops);
    let install = env.install(gitops, src, "evil", &[]);
    assert_error(&install, 1);
    assert_stderr_mentions(&install, needles);
    assert_unchanged(&before, &snapshot(gitops));
    let out_dir = env.path("rendered");
    let render = env.pctl(["render", src, "-o", &out_dir.display().to_string()]);
    assert_error(&render, 1);
    assert_stderr_mentions(&render, needles);
    assert!(!out_dir.exists(), "render -o wrote {}", out_dir.display());
    let lint = env.pctl(["lint", src]);
    assert_exit(&lint, 1);
    let text = stdout(&lint).to_lowercase();
    for n in needles {
        assert!(
            text.contains(&n.to_lowercase()),
            "lint does not name {n:?}\n{}",
            describe(&lint)
        );
    }
    vec![install, render, lint]
}

#[test]
fn impure_functions_in_a_templated_file_are_refused_with_file_line_and_name() {
    for (call, reason) in [
        ("get_env(name=\"GITHUB_TOKEN\")", "environment"),
        ("now()", "clock"),
        ("get_random(end=100)", "random"),
        ("read_file(path=\"/etc/passwd\")", "not a function"),
    ] {
        let env = Env::new();
        env.set_var("GITHUB_TOKEN", CANARY);
        let name = &call[..call.find('(').unwrap()];
        // Line 7, in a branch never taken: refused all the same.
        let cm = format!(
            "{CM_HEAD}  a: \"1\"\n  token: \"{{% if false %}}{{{{ {call} }}}}{{% endif %}}\"\n"
        );
        let (src, gitops) = setup(&env, &cm, None);
        let outs = refused_everywhere(&env, &src, &gitops, &[name, reason, "cm.yaml", "line 7"]);
        let lint = stdout(&outs[2]);
        assert!(
            lint.contains("manifests/cm.yaml:7: error: ") && lint.contains(name),
            "lint does not point at cm.yaml:7\n{lint}"
        );
        let refs: Vec<&Output> = outs.iter().collect();
        assert_no_canary(&env, &gitops, &refs);
    }
}

#[test]
fn get_env_in_default_values_is_refused_and_the_token_goes_nowhere() {
    let env = Env::new();
    env.set_var("GITHUB_TOKEN", CANARY);
    let cm = format!("{CM_HEAD}  a: \"1\"\n");
    // defaultValues line 2 = profile.yaml line 26.
    let (src, gitops) = setup(
        &env,
        &cm,
        Some("replicas: 1\ntoken: {{ get_env(name='GITHUB_TOKEN', default='none') }}\n"),
    );
    let outs = refused_everywhere(
        &env,
        &src,
        &gitops,
        &["get_env", "environment", "defaultValues", "line 2"],
    );
    assert!(
        stdout(&outs[2]).contains("profile.yaml:26: error: "),
        "lint does not point at the line of defaultValues\n{}",
        describe(&outs[2])
    );
    let refs: Vec<&Output> = outs.iter().collect();
    assert_no_canary(&env, &gitops, &refs);
}

#[test]
fn include_of_another_file_is_refused() {
    let env = Env::new();
    let cm = format!("{CM_HEAD}  a: \"{{% include \"/etc/passwd\" %}}\"\n");
    let (src, gitops) = setup(&env, &cm, None);
    refused_everywhere(&env, &src, &gitops, &["include", "cm.yaml", "line 6"]);
}

/// A template cannot make pctl exhaust memory: `range` makes at most 10,000 items
/// (tera's own would allocate gigabytes for `range(end=1000000000)`), and a
/// rendering stops at 16 MiB however its loops nest. Each is refused in bounded
/// memory, with nothing written.
#[test]
fn templates_cannot_exhaust_memory() {
    let env = Env::new();
    let cm = format!("{CM_HEAD}  a: \"{{{{ range(end=1000000000) | length }}}}\"\n");
    let (src, gitops) = setup(&env, &cm, None);
    refused_everywhere(&env, &src, &gitops, &["range()", "over the limit of 10000"]);
    let (out, kib) = run_measured(
        env.command(["render", &src]),
        std::time::Duration::from_secs(120),
    );
    assert_error(&out, 1);
    assert!(kib < 100 * 1024, "render used {} MiB", kib / 1024);

    let env = Env::new();
    let cm = format!(
        "{CM_HEAD}  a: \"{{% for i in range(end=10000) %}}{{% for j in range(end=10000) %}}xxxxxxxx{{% endfor %}}{{% endfor %}}\"\n"
    );
    let (src, gitops) = setup(&env, &cm, None);
    let before = snapshot(&gitops);
    let (out, kib) = run_measured(
        env.command([
            "install",
            &src,
            "--name",
            "evil",
            "--repo",
            &gitops.display().to_string(),
        ]),
        std::time::Duration::from_secs(300),
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["past 16 MiB"]);
    assert!(kib < 200 * 1024, "install used {} MiB", kib / 1024);
    assert_unchanged(&before, &snapshot(&gitops));
}

/// `install --set-string` of each hostile value is refused with `reason`, nothing
/// written.
#[track_caller]
fn refused_value(env: &Env, src: &str, gitops: &Path, set: &str, reason: &[&str]) {
    let before = snapshot(gitops);
    let out = env.install(gitops, src, "evil", &["--set-string", set]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, reason);
    assert_unchanged(&before, &snapshot(gitops));
}

const CRB: &str = "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pwn\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: attacker}]";

#[test]
fn values_cannot_add_documents_keys_or_items() {
    let env = Env::new();
    let cm = format!("{CM_HEAD}  quoted: \"{{{{ params.s }}}}\"\n  plain: {{{{ params.m }}}}\n");
    let (src, gitops) = setup(
        &env,
        &cm,
        Some("replicas: 1\nnote: \"{{ params.s }}\"\nother: {{ params.m }}\n"),
    );
    // A newline in a string parameter: refused with its parameter and source.
    refused_value(
        &env,
        &src,
        &gitops,
        &format!("s=x\"\n{CRB}"),
        &[
            "parameter s",
            "--set-string",
            "line break",
            "multiline: true",
        ],
    );
    // The same through a multiline parameter: the structure check refuses it.
    refused_value(
        &env,
        &src,
        &gitops,
        &format!("m=x\n{CRB}"),
        &["params.m", "documents"],
    );
    // Closing the quote and opening keys of a flow mapping.
    refused_value(
        &env,
        &src,
        &gitops,
        "s=x\", \"hostNetwork\": true, \"y\": \"",
        &["params.s", "not valid YAML"],
    );
    // Flow collections, comments, anchors, aliases and tags in a plain scalar.
    for (v, why) in [
        ("{a: b}", "mapping"),
        ("[x]", "list"),
        ("x #comment", "does not read as itself"),
        ("&anchor x", "does not read as itself"),
        ("*alias", "params.m"),
        ("!!binary eA==", "does not read as itself"),
    ] {
        refused_value(&env, &src, &gitops, &format!("m={v}"), &["params.m", why]);
    }
    // Control characters, even for a multiline parameter.
    refused_value(
        &env,
        &src,
        &gitops,
        "m=a\u{1b}[2Jb",
        &["parameter m", "control character"],
    );
    refused_value(
        &env,
        &src,
        &gitops,
        "s=a\u{2028}b",
        &["parameter s", "line break"],
    );
}

#[test]
fn default_values_cannot_gain_host_network_through_a_value() {
    let env = Env::new();
    let cm = format!("{CM_HEAD}  a: \"1\"\n");
    let (src, gitops) = setup(
        &env,
        &cm,
        Some("replicas: 1\npodAnnotations:\n  note: {{ params.m }}\n"),
    );
    for v in [
        "x\nhostNetwork: true",
        "x\n  other: y",
        "{hostNetwork: true}",
    ] {
        refused_value(
            &env,
            &src,
            &gitops,
            &format!("m={v}"),
            &["params.m", "defaultValues"],
        );
    }
    refused_value(
        &env,
        &src,
        &gitops,
        "m=x\nhostNetwork: true",
        &["adds the key \"hostNetwork\""],
    );
}

/// The ConfigMap the install wrote for `evil`.
fn written_cm(gitops: &Path) -> Value {
    let text = std::fs::read_to_string(
        gitops.join("clusters/default/profiles/evil/artifacts/config/cm.yaml"),
    )
    .unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

#[test]
fn hostile_text_in_a_quoted_scalar_lands_as_one_string() {
    for v in [
        "{a: b}",
        "[x]",
        "# not a comment",
        "&anchor",
        "*alias",
        "!!tag x",
        "a: b",
        "- x",
    ] {
        let env = Env::new();
        let cm = format!(
            "{CM_HEAD}  quoted: \"{{{{ params.s }}}}\"\n  single: 'x {{{{ params.s }}}}'\n"
        );
        let (src, gitops) = setup(&env, &cm, None);
        let out = env.install(&gitops, &src, "evil", &["--set-string", &format!("s={v}")]);
        assert_success(&out);
        let doc = written_cm(&gitops);
        let data = doc["data"].as_object().unwrap();
        assert_eq!(data.len(), 2, "{v}: {doc}");
        assert_eq!(data["quoted"], Value::String(v.into()), "{v}");
        assert_eq!(data["single"], Value::String(format!("x {v}")), "{v}");
    }
}

#[test]
fn ordinary_values_keep_working() {
    let env = Env::new();
    let cm = format!(
        "{CM_HEAD}  host: grafana.{{{{ params.s }}}}\n  n: \"{{{{ params.s }}}}-x\"\n  script: |\n    {{{{ params.m | indent(width=4) }}}}\n"
    );
    // json_encode prints structure the template itself makes (chart values may be
    // lists; a ConfigMap's data may not, which pctl's commit check refuses).
    let (src, gitops) = setup(
        &env,
        &cm,
        Some(
            "replicas: {{ params.s }}\nlabels: {\"a\": \"{{ params.s }}\"}\ntags: {{ [1, 2] | json_encode }}\n",
        ),
    );
    let out = env.install(
        &gitops,
        &src,
        "evil",
        &[
            "--set-string",
            "s=3",
            "--set-string",
            "m=line 1\nkey: not a key\n- nor an item",
        ],
    );
    assert_success(&out);
    let doc = written_cm(&gitops);
    assert_eq!(doc["data"]["host"], "grafana.3");
    assert_eq!(doc["data"]["n"], "3-x");
    assert_eq!(
        doc["data"]["script"],
        "line 1\nkey: not a key\n- nor an item\n"
    );
    let hr = std::fs::read_to_string(
        gitops.join("clusters/default/profiles/evil/artifacts/app/helm-release.yaml"),
    )
    .unwrap();
    let hr: Value = serde_saphyr::from_str(&hr).unwrap();
    assert_eq!(hr["spec"]["values"]["replicas"], 3);
    assert_eq!(hr["spec"]["values"]["labels"]["a"], "3");
    assert_eq!(hr["spec"]["values"]["tags"], serde_json::json!([1, 2]));
    // lint knows `multiline`.
    let lint = env.pctl(["lint", &src]);
    assert!(!stdout(&lint).contains("multiline"), "{}", describe(&lint));
}

#[test]
fn newlines_from_values_files_and_defaults_name_their_source() {
    let env = Env::new();
    let cm = format!("{CM_HEAD}  quoted: \"{{{{ params.s }}}}\"\n");
    let (src, gitops) = setup(&env, &cm, None);
    let file = env.path("values.yaml");
    std::fs::write(&file, "s: \"x\\nhostNetwork: true\"\n").unwrap();
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &src, "evil", &["-f", &file.display().to_string()]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["parameter s", "values.yaml", "line break"]);
    assert_unchanged(&before, &snapshot(&gitops));

    // A default with a newline, in the profile itself.
    let env = Env::new();
    let files = profile(&cm, None);
    let files: Vec<(&str, String)> = files
        .into_iter()
        .map(|(p, t)| (p, t.replace("default: hello", "default: \"a\\nb: c\"")))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let repo = repo_with(&env, "profiles", &files);
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let src = repo.join("evil").display().to_string();
    let out = env.install(&gitops, &src, "evil", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["parameter s", "default", "line break"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn lint_knows_multiline_and_warns_where_it_means_nothing() {
    let env = Env::new();
    let cm = format!("{CM_HEAD}  a: \"{{{{ params.s }}}}\"\n");
    let files = profile(&cm, None);
    let files: Vec<(&str, String)> = files
        .into_iter()
        .map(|(p, t)| {
            (
                p,
                t.replace(
                    "    - name: m\n      type: string\n",
                    "    - name: count\n      type: integer\n      multiline: true\n      default: 1\n    - name: m\n      type: string\n",
                ),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let repo = repo_with(&env, "profiles", &files);
    let src = repo.join("evil").display().to_string();
    let lint = env.pctl(["lint", &src]);
    let text = stdout(&lint);
    // `multiline: true` of the integer `count` is on line 13; that of the string m is fine.
    assert!(
        text.contains("profile.yaml:13: warning: ") && text.contains("`multiline` applies only"),
        "{}",
        describe(&lint)
    );
    let findings = text
        .lines()
        .filter(|l| {
            l.contains(": error: ") || (l.contains(": warning: ") && l.contains("multiline"))
        })
        .count();
    assert_eq!(findings, 1, "{}", describe(&lint));
}
