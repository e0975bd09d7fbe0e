//! Unit tests of the three-way merge.
use super::*;

mod more;

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
