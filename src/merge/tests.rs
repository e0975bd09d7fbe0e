//! Unit tests of the three-way merge.
use super::*;

fn run(
    path: &str,
    base: Option<&str>,
    ours: Option<&str>,
    theirs: Option<&str>,
    strategy: Strategy,
) -> FileMerge {
    merge_file(
        path,
        base.map(str::as_bytes),
        ours.map(str::as_bytes),
        theirs.map(str::as_bytes),
        strategy,
    )
}

fn merge(path: &str, base: &str, ours: &str, theirs: &str) -> FileMerge {
    run(path, Some(base), Some(ours), Some(theirs), Strategy::Merge)
}

fn text(merge: &FileMerge) -> String {
    String::from_utf8(merge.result.clone().expect("a file")).expect("UTF-8")
}

/// The file with every conflict block replaced by one side.
fn pick(text: &str, side: Side) -> String {
    let mut out = String::new();
    let mut state = 0;
    for line in text.split_inclusive('\n') {
        match line.trim_end_matches('\n') {
            OURS_MARKER => state = 1,
            SEPARATOR if state == 1 => state = 2,
            THEIRS_MARKER => state = 0,
            _ if state == 0
                || (state == 1 && side == Side::Ours)
                || (state == 2 && side == Side::Theirs) =>
            {
                out.push_str(line)
            }
            _ => {}
        }
    }
    out
}

fn docs(text: &str) -> Vec<Value> {
    yaml::documents("t", text).expect("valid YAML")
}

fn at<'a>(doc: &'a Value, pointer: &str) -> &'a Value {
    doc.pointer(pointer).unwrap_or(&Value::Null)
}

const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: app
        image: web:1.0
        env:
        - name: MODE
          value: prod
      - name: sidecar
        image: proxy:2.0
";

// ---------------------------------------------------------------- file level

#[test]
fn untouched_file_takes_upstream() {
    let m = run(
        "a.txt",
        Some("one\n"),
        Some("one\n"),
        Some("two\n"),
        Strategy::Merge,
    );
    assert_eq!(text(&m), "two\n");
    assert!(m.is_clean());
}

#[test]
fn untouched_file_removed_upstream_is_deleted() {
    let m = run(
        "a.yaml",
        Some("a: 1\n"),
        Some("a: 1\n"),
        None,
        Strategy::Merge,
    );
    assert_eq!(m.result, None);
    assert!(m.is_clean());
}

#[test]
fn file_new_upstream_is_added() {
    let m = run(
        "artifacts/new/kustomization.yaml",
        None,
        None,
        Some("resources: []\n"),
        Strategy::Merge,
    );
    assert_eq!(text(&m), "resources: []\n");
    assert_eq!(m.path, "artifacts/new/kustomization.yaml");
    assert!(m.is_clean());
}

#[test]
fn file_unchanged_upstream_keeps_ours() {
    let m = run(
        "a.yaml",
        Some("a: 1\n"),
        Some("# mine\na: 2\n"),
        Some("a: 1\n"),
        Strategy::Merge,
    );
    assert_eq!(text(&m), "# mine\na: 2\n");
    assert!(m.is_clean());
}

#[test]
fn file_added_by_user_is_kept() {
    let m = run("mine.yaml", None, Some("a: 1\n"), None, Strategy::Merge);
    assert_eq!(text(&m), "a: 1\n");
    assert!(m.is_clean());
}

#[test]
fn file_removed_on_both_sides_stays_removed() {
    let m = run("a.yaml", Some("a: 1\n"), None, None, Strategy::Merge);
    assert_eq!(m.result, None);
    assert!(m.is_clean());
}

#[test]
fn file_added_on_both_sides_alike_is_clean() {
    let m = run("a.txt", None, Some("x\n"), Some("x\n"), Strategy::Merge);
    assert_eq!(text(&m), "x\n");
    assert!(m.is_clean());
}

#[test]
fn yaml_added_on_both_sides_merges_with_empty_base() {
    let m = run(
        "v.yaml",
        None,
        Some("a: 1\nb: 2\n"),
        Some("a: 1\nc: 3\n"),
        Strategy::Merge,
    );
    assert!(m.is_clean(), "{:?}", m.conflicts);
    assert_eq!(docs(&text(&m)), docs("a: 1\nb: 2\nc: 3\n"));

    let m = run(
        "v.yaml",
        None,
        Some("a: 1\n"),
        Some("a: 2\n"),
        Strategy::Merge,
    );
    assert_eq!(m.conflicts, ["a added as 1 here and as 2 upstream"]);
    assert!(has_conflict_markers(&m.result.clone().unwrap_or_default()));
}

#[test]
fn text_added_on_both_sides_differently_conflicts() {
    let m = run(
        "NOTES.txt",
        None,
        Some("mine\n"),
        Some("theirs\n"),
        Strategy::Merge,
    );
    assert_eq!(
        text(&m),
        "<<<<<<< ours\nmine\n=======\ntheirs\n>>>>>>> theirs\n"
    );
    assert_eq!(m.conflicts.len(), 1);
}

#[test]
fn removed_upstream_but_edited_here_conflicts_and_keeps_ours() {
    let (b, o) = ("a: 1\n", "a: 2\n");
    let m = run("gone.yaml", Some(b), Some(o), None, Strategy::Merge);
    assert_eq!(text(&m), o);
    assert_eq!(m.conflicts.len(), 1);
    assert!(
        m.conflicts[0].contains("removed upstream but changed here"),
        "{:?}",
        m.conflicts
    );
    assert!(m.conflicts[0].contains("without conflict markers"));

    let m = run("gone.yaml", Some(b), Some(o), None, Strategy::Ours);
    assert_eq!(
        (text(&m).as_str(), m.is_clean(), m.resolved.len()),
        (o, true, 1)
    );
    let m = run("gone.yaml", Some(b), Some(o), None, Strategy::Theirs);
    assert_eq!(
        (m.result, m.conflicts.len(), m.resolved.len()),
        (None, 0, 1)
    );
}

#[test]
fn removed_upstream_with_only_comments_changed_here_is_deleted() {
    let m = run(
        "gone.yaml",
        Some("a: 1\n"),
        Some("# note\na:   1\n"),
        None,
        Strategy::Merge,
    );
    assert_eq!(m.result, None);
    assert!(m.is_clean());
}

#[test]
fn removed_upstream_text_edited_here_conflicts() {
    let m = run("README.md", Some("a\n"), Some("b\n"), None, Strategy::Merge);
    assert_eq!(text(&m), "b\n");
    assert_eq!(m.conflicts.len(), 1);
}

#[test]
fn removed_here_and_unchanged_upstream_stays_removed() {
    let m = run(
        "a.yaml",
        Some("a: 1\n"),
        None,
        Some("a: 1\n"),
        Strategy::Merge,
    );
    assert_eq!(m.result, None);
    assert!(m.is_clean());
}

#[test]
fn removed_here_but_changed_upstream_conflicts() {
    let (b, t) = ("a: 1\n", "a: 2\n");
    let m = run("a.yaml", Some(b), None, Some(t), Strategy::Merge);
    assert_eq!(text(&m), t);
    assert_eq!(m.conflicts.len(), 1);
    assert!(
        m.conflicts[0].starts_with("removed here but changed upstream"),
        "{:?}",
        m.conflicts
    );

    let m = run("a.yaml", Some(b), None, Some(t), Strategy::Ours);
    assert_eq!(
        (m.result, m.conflicts.len(), m.resolved.len()),
        (None, 0, 1)
    );
    let m = run("a.yaml", Some(b), None, Some(t), Strategy::Theirs);
    assert_eq!(text(&m), t);
    assert!(m.is_clean());
}

#[test]
fn binary_changed_on_both_sides_is_a_whole_file_conflict() {
    let (b, o, t): (&[u8], &[u8], &[u8]) = (b"\0a", b"\0b", b"\0c");
    let m = merge_file("chart.tgz", Some(b), Some(o), Some(t), Strategy::Merge);
    assert_eq!((m.result.as_deref(), m.conflicts.len()), (Some(o), 1));
    let m = merge_file("chart.tgz", Some(b), Some(o), Some(t), Strategy::Theirs);
    assert_eq!((m.result.as_deref(), m.conflicts.len()), (Some(t), 0));
}

#[test]
fn comments_survive_when_a_file_is_taken_whole() {
    let base = "# generated\nx: 0\na: 1\n";
    let ours = "# generated\nx: 0\n# my note\na: 1 # inline\n";
    let theirs = "# generated v2\nx: 0\na: 1\n";
    // ours differs from base only in comments: a content merge whose line merge is
    // faithful, so both sides' comments stay.
    let m = merge("c.yaml", base, ours, theirs);
    assert_eq!(text(&m), "# generated v2\nx: 0\n# my note\na: 1 # inline\n");
    // Untouched upstream: ours' bytes, comments and all.
    let m = merge("c.yaml", base, ours, base);
    assert_eq!(text(&m), ours);
    // Untouched here: theirs' bytes.
    let m = merge("c.yaml", base, base, theirs);
    assert_eq!(text(&m), theirs);
    // Adjacent comment edits conflict as lines but not as data: ours' text is kept.
    let m = merge("c.yaml", base, "# generated\n# mine\nx: 0\na: 1\n", theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    assert_eq!(text(&m), "# generated\n# mine\nx: 0\na: 1\n");
}

#[test]
fn reformatted_merge_keeps_the_comment_header() {
    // Lines cannot merge (ours reindented), data can: written anew after ours' header.
    let base = "# Managed by pctl\n\nspec:\n  a: 1\n  b: 2\n";
    let ours = "# Managed by pctl\n\nspec:\n    a: 10\n    b: 2\n";
    let theirs = "# Managed by pctl\n\nspec:\n  a: 1\n  b: 20\n";
    let m = merge("r.yaml", base, ours, theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    assert_eq!(text(&m), "# Managed by pctl\n\nspec:\n  a: 10\n  b: 20\n");
}

// ---------------------------------------------------------------- YAML structure

#[test]
fn user_edit_survives_upstream_change_to_another_field() {
    let ours = DEPLOY.replace("replicas: 1", "replicas: 3");
    let theirs = DEPLOY.replace("proxy:2.0", "proxy:2.1");
    let m = merge("deploy.yaml", DEPLOY, &ours, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    assert_eq!(at(&d[0], "/spec/replicas"), 3);
    assert_eq!(
        at(&d[0], "/spec/template/spec/containers/1/image"),
        "proxy:2.1"
    );
}

#[test]
fn both_change_a_field_differently_conflicts_with_markers() {
    let ours = DEPLOY.replace("replicas: 1", "replicas: 3");
    let theirs = DEPLOY
        .replace("replicas: 1", "replicas: 5")
        .replace("web:1.0", "web:1.1");
    let m = merge("deploy.yaml", DEPLOY, &ours, &theirs);
    assert_eq!(
        m.conflicts,
        ["Deployment default/web: spec.replicas changed to 3 here and to 5 upstream"]
    );
    let out = text(&m);
    assert!(
        out.contains("<<<<<<< ours\n  replicas: 3\n=======\n  replicas: 5\n>>>>>>> theirs\n"),
        "{out}"
    );
    assert!(has_conflict_markers(out.as_bytes()));
    let o = docs(&pick(&out, Side::Ours));
    let t = docs(&pick(&out, Side::Theirs));
    assert_eq!(
        (at(&o[0], "/spec/replicas"), at(&t[0], "/spec/replicas")),
        (&Value::from(3), &Value::from(5))
    );
    // upstream's other change is in both resolutions
    for d in [&o, &t] {
        assert_eq!(
            at(&d[0], "/spec/template/spec/containers/0/image"),
            "web:1.1"
        );
    }
}

#[test]
fn same_change_on_both_sides_is_clean() {
    let ours = DEPLOY.replace("web:1.0", "web:2.0");
    let theirs = DEPLOY
        .replace("web:1.0", "web:2.0")
        .replace("replicas: 1", "replicas: 2");
    let m = merge("deploy.yaml", DEPLOY, &ours, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    assert_eq!(
        at(&d[0], "/spec/template/spec/containers/0/image"),
        "web:2.0"
    );
    assert_eq!(at(&d[0], "/spec/replicas"), 2);
}

#[test]
fn containers_are_matched_by_name() {
    // The user adds an env var to `app` and moves it after the sidecar; upstream
    // bumps its image: both kept, in ours' order.
    let ours = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: sidecar
        image: proxy:2.0
      - name: app
        image: web:1.0
        env:
        - name: MODE
          value: prod
        - name: DEBUG
          value: \"1\"
";
    let theirs = DEPLOY
        .replace("web:1.0", "web:1.1")
        .replace("value: prod", "value: production");
    let m = merge("deploy.yaml", DEPLOY, ours, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    let app = at(&d[0], "/spec/template/spec/containers/1");
    assert_eq!(at(app, "/name"), "app");
    assert_eq!(at(app, "/image"), "web:1.1");
    assert_eq!(at(app, "/env/0/value"), "production");
    assert_eq!(at(app, "/env/1/name"), "DEBUG");
    assert_eq!(
        at(&d[0], "/spec/template/spec/containers/0/name"),
        "sidecar"
    );
}

#[test]
fn named_item_conflict_names_the_item() {
    let ours = DEPLOY.replace("web:1.0", "web:mine");
    let theirs = DEPLOY.replace("web:1.0", "web:1.1");
    let m = merge("deploy.yaml", DEPLOY, &ours, &theirs);
    assert_eq!(
        m.conflicts,
        [
            "Deployment default/web: spec.template.spec.containers[app].image changed to \"web:mine\" here and to \"web:1.1\" upstream"
        ]
    );
}

#[test]
fn upstream_container_added_and_user_container_kept() {
    let ours = DEPLOY.replace(
        "      - name: sidecar\n",
        "      - name: mine\n        image: tool:1\n      - name: sidecar\n",
    );
    let theirs = format!("{DEPLOY}      - name: metrics\n        image: exporter:1\n");
    let m = merge("deploy.yaml", DEPLOY, &ours, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    let names: Vec<&Value> = (0..4)
        .map(|i| at(&d[0], &format!("/spec/template/spec/containers/{i}/name")))
        .collect();
    assert_eq!(names, ["app", "mine", "sidecar", "metrics"]);
}

const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  ports:\n  - name: http\n    port: 80\n";

#[test]
fn document_added_by_user_is_kept() {
    let base = format!("{DEPLOY}---\n{SVC}");
    let mine = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n";
    let ours = format!("{base}---\n{mine}");
    let theirs = format!("{}---\n{SVC}", DEPLOY.replace("replicas: 1", "replicas: 2"));
    let m = merge("all.yaml", &base, &ours, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    assert_eq!(d.len(), 3);
    assert_eq!(at(&d[0], "/spec/replicas"), 2);
    assert_eq!(at(&d[2], "/metadata/name"), "extra");
}

#[test]
fn document_added_upstream_is_added_after_its_predecessor() {
    let base = format!("{DEPLOY}---\n{SVC}");
    let ours = format!("{}---\n{SVC}", DEPLOY.replace("replicas: 1", "replicas: 4"));
    let account =
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: default\n";
    let theirs = format!("{DEPLOY}---\n{account}---\n{SVC}");
    let m = merge("all.yaml", &base, &ours, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    let kinds: Vec<&Value> = d.iter().map(|d| at(d, "/kind")).collect();
    assert_eq!(kinds, ["Deployment", "ServiceAccount", "Service"]);
    assert_eq!(at(&d[0], "/spec/replicas"), 4);
}

#[test]
fn document_removed_upstream_is_removed() {
    let base = format!("{DEPLOY}---\n{SVC}");
    let ours = format!("{}---\n{SVC}", DEPLOY.replace("replicas: 1", "replicas: 4"));
    let m = merge("all.yaml", &base, &ours, DEPLOY);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    assert_eq!(d.len(), 1);
    assert_eq!(at(&d[0], "/spec/replicas"), 4);
}

#[test]
fn document_removed_upstream_but_edited_here_conflicts() {
    let base = format!("{DEPLOY}---\n{SVC}");
    let ours = format!("{DEPLOY}---\n{}", SVC.replace("port: 80", "port: 8080"));
    let theirs = DEPLOY.replace("replicas: 1", "replicas: 2");
    let m = merge("all.yaml", &base, &ours, &theirs);
    assert_eq!(
        m.conflicts,
        ["Service default/web: removed upstream but changed here"]
    );
    let out = text(&m);
    assert!(has_conflict_markers(out.as_bytes()), "{out}");
    let o = docs(&pick(&out, Side::Ours));
    let t = docs(&pick(&out, Side::Theirs));
    assert_eq!((o.len(), t.len()), (2, 1));
    assert_eq!(at(&o[1], "/spec/ports/0/port"), 8080);
    assert_eq!(at(&t[0], "/spec/replicas"), 2);

    let m = run(
        "all.yaml",
        Some(&base),
        Some(&ours),
        Some(&theirs),
        Strategy::Theirs,
    );
    assert_eq!(docs(&text(&m)).len(), 1);
    let m = run(
        "all.yaml",
        Some(&base),
        Some(&ours),
        Some(&theirs),
        Strategy::Ours,
    );
    assert_eq!(docs(&text(&m)).len(), 2);
    assert_eq!(m.resolved.len(), 1);
}

#[test]
fn document_removed_here_stays_removed_unless_changed_upstream() {
    let base = format!("{DEPLOY}---\n{SVC}");
    let theirs = format!("{}---\n{SVC}", DEPLOY.replace("replicas: 1", "replicas: 2"));
    let m = merge("all.yaml", &base, DEPLOY, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    assert_eq!(docs(&text(&m)).len(), 1);

    let theirs = format!("{DEPLOY}---\n{}", SVC.replace("port: 80", "port: 81"));
    let m = merge("all.yaml", &base, DEPLOY, &theirs);
    assert_eq!(
        m.conflicts,
        ["Service default/web: removed here but changed upstream"]
    );
}

#[test]
fn secret_documents_merge_without_showing_values() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: default\ntype: Opaque\nstringData:\n  user: admin\n  password: hunter2\n";
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  level: info\n";
    let base = format!("{config}---\n{secret}");
    // clean: the user changes the ConfigMap, upstream the Secret's user
    let ours = format!("{}---\n{secret}", config.replace("info", "debug"));
    let theirs = format!("{config}---\n{}", secret.replace("admin", "root"));
    let m = merge("secrets.yaml", &base, &ours, &theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    assert_eq!(at(&d[0], "/data/level"), "debug");
    assert_eq!(at(&d[1], "/stringData/user"), "root");
    assert_eq!(at(&d[1], "/stringData/password"), "hunter2");

    // conflict: both change the password; the description shows no value
    let ours = format!("{config}---\n{}", secret.replace("hunter2", "s3cret-mine"));
    let theirs = format!("{config}---\n{}", secret.replace("hunter2", "s3cret-new"));
    let m = merge("secrets.yaml", &base, &ours, &theirs);
    assert_eq!(
        m.conflicts,
        ["Secret default/creds: stringData.password changed here and upstream"]
    );
    assert!(text(&m).contains("s3cret-mine") && text(&m).contains("s3cret-new"));
}

#[test]
fn sops_documents_are_atomic() {
    let doc = |data: &str, mac: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: {data}\n  b: ENC[x]\nsops:\n  mac: {mac}\n"
        )
    };
    let m = merge(
        "s.yaml",
        &doc("ENC[1]", "m1"),
        &doc("ENC[2]", "m2"),
        &doc("ENC[1]", "m3"),
    );
    assert_eq!(
        m.conflicts,
        [
            "Secret s: SOPS-encrypted document changed both here and upstream (encrypted values cannot be merged)"
        ]
    );
    let m = run(
        "s.yaml",
        Some(&doc("ENC[1]", "m1")),
        Some(&doc("ENC[2]", "m2")),
        Some(&doc("ENC[1]", "m3")),
        Strategy::Theirs,
    );
    assert_eq!(text(&m), doc("ENC[1]", "m3"));
}

#[test]
fn values_files_merge_by_key() {
    let base = "image:\n  repository: nginx\n  tag: \"1.0\"\nreplicaCount: 1\n";
    let ours = "image:\n  repository: registry.local/nginx\n  tag: \"1.0\"\nreplicaCount: 1\nextra: true\n";
    let theirs =
        "image:\n  repository: nginx\n  tag: \"1.1\"\nreplicaCount: 1\nservice:\n  port: 80\n";
    let m = merge("values.yaml", base, ours, theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    assert_eq!(
        d,
        docs(
            "image:\n  repository: registry.local/nginx\n  tag: \"1.1\"\nreplicaCount: 1\nextra: true\nservice:\n  port: 80\n"
        )
    );

    let m = merge("values.yaml", base, &base.replace("1.0", "1.5"), theirs);
    assert_eq!(
        m.conflicts,
        ["image.tag changed to \"1.5\" here and to \"1.1\" upstream"]
    );
}

#[test]
fn key_order_follows_ours_and_new_keys_follow_their_predecessor() {
    let base = "a: 1\nb: 2\nc: 3\n";
    let ours = "c: 3\nb: 2\na: 1\nmine: 0\n";
    let theirs = "a: 1\nb: 2\nnew: 9\nc: 4\n";
    let m = merge("o.yaml", base, ours, theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    let d = docs(&text(&m));
    let keys: Vec<&String> = d[0]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["c", "b", "new", "a", "mine"]);
    assert_eq!(at(&d[0], "/c"), 4);
}

#[test]
fn plain_lists_merge_item_by_item_or_conflict_whole() {
    let base = "args: [--a, --b, --c, --d]\n";
    let ours = "args: [--a1, --b, --c, --d]\n";
    let theirs = "args: [--a, --b, --c, --d4]\n";
    let m = merge("l.yaml", base, ours, theirs);
    assert!(m.is_clean(), "{:?}", m.conflicts);
    assert_eq!(docs(&text(&m)), docs("args: [--a1, --b, --c, --d4]\n"));

    let m = merge(
        "l.yaml",
        base,
        "args: [--x, --b, --c, --d]\n",
        "args: [--y, --b, --c, --d]\n",
    );
    assert_eq!(
        m.conflicts,
        [
            "args changed to [\"--x\",\"--b\",\"--c\",\"--d\"] here and to [\"--y\",\"--b\",\"--c\",\"--d\"] upstream"
        ]
    );
}

#[test]
fn embedded_files_in_strings_merge_by_line() {
    let body = |a: &str, e: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\ndata:\n  app.ini: |\n    a = {a}\n    b = 2\n    c = 3\n    d = 4\n    e = {e}\n"
        )
    };
    let m = merge(
        "cm.yaml",
        &body("1", "5"),
        &body("10", "5"),
        &body("1", "50"),
    );
    assert!(m.is_clean(), "{:?}", m.conflicts);
    assert_eq!(docs(&text(&m)), docs(&body("10", "50")));
    let m = merge(
        "cm.yaml",
        &body("1", "5"),
        &body("10", "5"),
        &body("11", "5"),
    );
    assert_eq!(m.conflicts.len(), 1);
    assert!(
        m.conflicts[0].starts_with("ConfigMap conf: data[\"app.ini\"] changed to"),
        "{:?}",
        m.conflicts
    );
}

#[test]
fn structural_conflict_is_written_with_markers_when_lines_do_not_match() {
    // ours reorders keys (the line merge cannot follow), both change replicas.
    let base = "apiVersion: v1\nkind: X\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  image: a\n  port: 80\n";
    let ours = "kind: X\napiVersion: v1\nmetadata:\n  name: web\nspec:\n  port: 80\n  image: a\n  replicas: 3\n";
    let theirs = "apiVersion: v1\nkind: X\nmetadata:\n  name: web\nspec:\n  replicas: 5\n  image: b\n  port: 80\n";
    let m = merge("x.yaml", base, ours, theirs);
    assert_eq!(
        m.conflicts,
        ["X web: spec.replicas changed to 3 here and to 5 upstream"]
    );
    let out = text(&m);
    assert_eq!(out.matches(OURS_MARKER).count(), 1, "{out}");
    let o = docs(&pick(&out, Side::Ours));
    let t = docs(&pick(&out, Side::Theirs));
    assert_eq!(
        o,
        docs(
            "kind: X\napiVersion: v1\nmetadata:\n  name: web\nspec:\n  port: 80\n  image: b\n  replicas: 3\n"
        )
    );
    assert_eq!(at(&t[0], "/spec/replicas"), 5);
    assert_eq!(at(&t[0], "/spec/image"), "b");
}

#[test]
fn strategies_resolve_yaml_conflicts_without_markers() {
    let ours = DEPLOY.replace("replicas: 1", "replicas: 3");
    let theirs = DEPLOY
        .replace("replicas: 1", "replicas: 5")
        .replace("proxy:2.0", "proxy:3");
    for (strategy, replicas) in [(Strategy::Ours, 3), (Strategy::Theirs, 5)] {
        let m = run("d.yaml", Some(DEPLOY), Some(&ours), Some(&theirs), strategy);
        assert!(m.is_clean());
        assert_eq!(m.resolved.len(), 1);
        let out = text(&m);
        assert!(!has_conflict_markers(out.as_bytes()), "{out}");
        let d = docs(&out);
        assert_eq!(at(&d[0], "/spec/replicas"), replicas);
        assert_eq!(
            at(&d[0], "/spec/template/spec/containers/1/image"),
            "proxy:3"
        );
    }
}

#[test]
fn unparsable_yaml_falls_back_to_lines() {
    let base = "a: 1\nb: [\nc: 3\n";
    let m = merge(
        "broken.yaml",
        base,
        "a: 2\nb: [\nc: 3\n",
        "a: 1\nb: [\nc: 4\n",
    );
    assert_eq!(text(&m), "a: 2\nb: [\nc: 4\n");
    assert!(m.is_clean());
}

#[test]
fn chart_templates_merge_as_text() {
    let base = "metadata:\n  name: x\n  labels:\n    a: b\nspec:\n  replicas: 1\n";
    let ours = "metadata:\n  name: x\n  labels:\n    a: c\nspec:\n  replicas: 1\n";
    let theirs =
        "metadata:\n  name: x\n  labels:\n    a: b\nspec:\n  replicas: 2   # kept as written\n";
    let m = merge(
        "artifacts/app/chart/templates/deploy.yaml",
        base,
        ours,
        theirs,
    );
    assert_eq!(
        text(&m),
        "metadata:\n  name: x\n  labels:\n    a: c\nspec:\n  replicas: 2   # kept as written\n"
    );
}

// ---------------------------------------------------------------- text files

const TEXT: &str = "one\ntwo\nthree\nfour\nfive\nsix\n";

#[test]
fn text_diff3_clean() {
    let m = merge(
        "NOTES.txt",
        TEXT,
        &TEXT.replace("two", "2"),
        &TEXT.replace("five", "5"),
    );
    assert!(m.is_clean());
    assert_eq!(text(&m), "one\n2\nthree\nfour\n5\nsix\n");
}

#[test]
fn text_diff3_conflict_has_markers() {
    let m = merge(
        "NOTES.txt",
        TEXT,
        &TEXT.replace("three", "3"),
        &TEXT.replace("three", "III"),
    );
    assert_eq!(
        text(&m),
        "one\ntwo\n<<<<<<< ours\n3\n=======\nIII\n>>>>>>> theirs\nfour\nfive\nsix\n"
    );
    assert_eq!(
        m.conflicts,
        ["lines changed both here and upstream (conflict block at line 3)"]
    );
}

#[test]
fn text_strategies_take_one_side() {
    let (o, t) = (
        TEXT.replace("three", "3"),
        TEXT.replace("three", "III").replace("six", "6"),
    );
    let m = run("a.txt", Some(TEXT), Some(&o), Some(&t), Strategy::Ours);
    assert_eq!(
        (text(&m).as_str(), m.is_clean(), m.resolved.len()),
        ("one\ntwo\n3\nfour\nfive\n6\n", true, 1)
    );
    let m = run("a.txt", Some(TEXT), Some(&o), Some(&t), Strategy::Theirs);
    assert_eq!(text(&m), "one\ntwo\nIII\nfour\nfive\n6\n");
}

#[test]
fn marker_like_content_is_not_mistaken_for_a_conflict() {
    let base = "Title\n=======\nbody\n";
    let m = run(
        "a.rst",
        Some(base),
        Some("Title\n=======\nmine\n"),
        Some("Title\n=======\ntheirs\n"),
        Strategy::Ours,
    );
    assert_eq!(text(&m), "Title\n=======\nmine\n");
    let m = run(
        "a.rst",
        Some(base),
        Some("Title\n=======\nmine\n"),
        Some("Title\n=======\ntheirs\n"),
        Strategy::Merge,
    );
    assert_eq!(
        text(&m),
        "Title\n=======\n<<<<<<< ours\nmine\n=======\ntheirs\n>>>>>>> theirs\n"
    );
}

#[test]
fn missing_final_newline_is_kept_by_strategies() {
    let m = run(
        "a.txt",
        Some("a\nb"),
        Some("a\nmine"),
        Some("a\ntheirs"),
        Strategy::Ours,
    );
    assert_eq!(text(&m), "a\nmine");
    let m = run(
        "a.txt",
        Some("a\nb"),
        Some("a\nmine"),
        Some("a\ntheirs\n"),
        Strategy::Theirs,
    );
    assert_eq!(text(&m), "a\ntheirs\n");
    let m = run(
        "a.txt",
        Some("a\nb"),
        Some("a\nmine"),
        Some("a\ntheirs"),
        Strategy::Merge,
    );
    assert_eq!(
        text(&m),
        "a\n<<<<<<< ours\nmine\n=======\ntheirs\n>>>>>>> theirs\n"
    );
}

// ---------------------------------------------------------------- trees

#[test]
fn tree_merge_covers_every_path_in_order() {
    let tree = |files: &[(&str, &str)]| -> BTreeMap<String, Vec<u8>> {
        files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    };
    let base = tree(&[
        ("a/kustomization.yaml", "resources: [x.yaml]\n"),
        ("old.yaml", "a: 1\n"),
        ("x.yaml", "a: 1\n"),
    ]);
    let ours = tree(&[
        ("a/kustomization.yaml", "resources: [x.yaml]\n"),
        ("old.yaml", "a: 1\n"),
        ("x.yaml", "a: 2\n"),
        ("z-mine.txt", "m\n"),
    ]);
    let theirs = tree(&[
        ("a/kustomization.yaml", "resources: [x.yaml, y.yaml]\n"),
        ("b/new.yaml", "n: 1\n"),
        ("x.yaml", "a: 1\nb: 1\n"),
    ]);
    let merged = merge_tree(&base, &ours, &theirs, Strategy::Merge);
    let summary: Vec<(&str, Option<&str>, usize)> = merged
        .iter()
        .map(|m| {
            (
                m.path.as_str(),
                m.result
                    .as_deref()
                    .and_then(|r| std::str::from_utf8(r).ok()),
                m.conflicts.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "a/kustomization.yaml",
                Some("resources: [x.yaml, y.yaml]\n"),
                0
            ),
            ("b/new.yaml", Some("n: 1\n"), 0),
            ("old.yaml", None, 0),
            ("x.yaml", Some("a: 2\nb: 1\n"), 0),
            ("z-mine.txt", Some("m\n"), 0),
        ]
    );
    assert_eq!(
        merge_tree(&base, &ours, &theirs, Strategy::Merge),
        merged,
        "deterministic"
    );
}

#[test]
fn conflict_markers_are_detected() {
    assert!(has_conflict_markers(
        b"a\n<<<<<<< ours\nb\n=======\nc\n>>>>>>> theirs\n"
    ));
    assert!(!has_conflict_markers(b"Title\n=======\n"));
}
