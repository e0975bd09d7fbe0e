//! More merge tests: see the module above for the helpers.
use super::*;

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
