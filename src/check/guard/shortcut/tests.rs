//! The shortcut over real trees: an installation added cleanly takes it and is recorded
//! as the whole walk would record it; every addition that brings a problem, or that
//! the shortcut's reasoning does not cover, goes to the whole guard, which says why.
use super::super::tests::{cm, git_in, guarded, ks, refused, repo};
use super::*;
use crate::check::run_reaching;
use crate::check::tree::Files as Tree;
use crate::git::Mode;
use std::collections::BTreeMap;

const CONFIG: &str = "syncPath: clusters/default\n";

/// The files a change writes (None: removed).
type Files = Vec<(String, Option<String>)>;
const PROFILES: &str = "clusters/default/profiles";

fn list(items: &[&str]) -> String {
    let mut s = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        .to_string();
    for i in items {
        s.push_str(&format!("- {i}\n"));
    }
    s
}

fn helm_release(values: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: default\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: web\n      version: 1.0.0\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  valuesFrom:\n    - kind: ConfigMap\n      name: {values}\n"
    )
}

const HELM_REPOSITORY: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: default\nspec:\n  interval: 1h\n  url: https://charts.example.com\n";

/// A repository of one installation `a` below a plain chain, a Kustomization outside
/// it holding a HelmRepository and a ConfigMap and one of nothing, with the record of
/// its tree kept by a commit pctl made.
fn base(dir: &std::path::Path) -> crate::git::Workspace {
    let ws = repo(
        dir,
        CONFIG,
        &[
            (
                "clusters/default/kustomization.yaml",
                list(&["shared.yaml", "profiles"]),
            ),
            (
                "clusters/default/shared.yaml",
                ks("shared", "./apps/shared", ""),
            ),
            ("apps/shared/cm.yaml", cm("values-a")),
            ("apps/shared/repo.yaml", HELM_REPOSITORY.to_string()),
            (
                "clusters/default/empty.yaml",
                ks("empty", "./apps/empty", ""),
            ),
            (
                "apps/empty/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
                    .into(),
            ),
            ("clusters/default/profiles/kustomization.yaml", list(&["a"])),
            (
                "clusters/default/profiles/a/kustomization.yaml",
                list(&["ks.yaml"]),
            ),
            (
                "clusters/default/profiles/a/ks.yaml",
                ks("a", "./clusters/default/profiles/a/artifacts/x", ""),
            ),
            (
                "clusters/default/profiles/a/artifacts/x/cm.yaml",
                cm("cm-a"),
            ),
        ],
    );
    crate::git::parsecache::attach_for_tests(&dir.join(".git"), (3, 5));
    commit_one(&ws, "apps/shared/more.yaml", cm("more"));
    ws
}

/// Commit `text` at `path` as pctl commits (the guard runs and keeps what it made).
fn commit_one(ws: &crate::git::Workspace, path: &str, text: String) {
    ws.apply("pctl's commit", Mode::Commit, |_| {
        let mut c = Changes::default();
        c.files
            .insert(path.to_string(), Some(text.clone().into_bytes()));
        Ok(c)
    })
    .unwrap();
}

/// Installation `b` added, with `over` laid over its files (None: the file is not
/// written).
fn adding_b(over: &[(&str, Option<String>)]) -> Files {
    let mut files: BTreeMap<String, Option<String>> = [
        (format!("{PROFILES}/kustomization.yaml"), list(&["a", "b"])),
        (
            format!("{PROFILES}/b/kustomization.yaml"),
            list(&["ks.yaml", "hr.yaml"]),
        ),
        (
            format!("{PROFILES}/b/ks.yaml"),
            ks(
                "b",
                "./clusters/default/profiles/b/artifacts/x",
                "  dependsOn:\n    - name: a\n    - name: shared\n",
            ),
        ),
        (format!("{PROFILES}/b/hr.yaml"), helm_release("values-a")),
        (format!("{PROFILES}/b/artifacts/x/cm.yaml"), cm("cm-b")),
    ]
    .into_iter()
    .map(|(k, v)| (k, Some(v)))
    .collect();
    for (p, v) in over {
        match v {
            Some(v) => files.insert(p.to_string(), Some(v.clone())),
            None => files.remove(*p),
        };
    }
    files.into_iter().collect()
}

fn changes(files: &Files) -> Changes {
    let mut c = Changes::default();
    for (p, v) in files {
        c.files
            .insert(p.clone(), v.as_ref().map(|s| s.as_bytes().to_vec()));
    }
    c
}

fn borrowed(files: &Files) -> Vec<(&str, Option<String>)> {
    files.iter().map(|(p, v)| (p.as_str(), v.clone())).collect()
}

#[test]
fn a_clean_installation_takes_the_shortcut_and_is_recorded_as_the_whole_walk_records_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = base(tmp.path());
    let view = ws.view().unwrap();
    let files = adding_b(&[]);
    let c = changes(&files);
    let got = shortcut(&view, &c).expect("the shortcut holds");
    // The HelmRelease's chart source and valuesFrom ConfigMap, and the Kustomization's
    // dependsOn, were found among the old walk's objects.
    let opts = Options {
        no_kustomize: true,
        ..Options::default()
    };
    let after = Tree::git(&view, Some(&c));
    let (report, whole) = run_reaching(&after, &opts, &Memo::default(), true);
    assert_eq!(report.summary.errors, 0, "{:#?}", report.findings);
    assert_eq!(Some(got.clone()), whole);
    assert!(got.has("HelmRelease", "default", "web"));
    assert!(got.has("ConfigMap", "default", "cm-b"));
    assert!(
        got.items()
            .any(|(d, ..)| d == "clusters/default/profiles/b/artifacts/x")
    );
    // Without a record for the tree (a commit made by hand since), no shortcut.
    std::fs::write(tmp.path().join("apps/shared/cm.yaml"), cm("values-b")).unwrap();
    git_in(tmp.path(), &["commit", "-qam", "by hand"]);
    assert!(shortcut(&ws.view().unwrap(), &c).is_none());
}

#[test]
fn an_installation_that_brings_a_problem_goes_to_the_whole_guard_which_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = base(tmp.path());
    let view = ws.view().unwrap();
    let ks_b = format!("{PROFILES}/b/ks.yaml");
    let b_list = format!("{PROFILES}/b/kustomization.yaml");
    let cycle = format!(
        "{}---\n{}",
        ks(
            "b",
            "./clusters/default/profiles/b/artifacts/x",
            "  dependsOn:\n    - name: b2\n"
        ),
        ks(
            "b2",
            "./clusters/default/profiles/b/artifacts/x",
            "  dependsOn:\n    - name: b\n"
        )
    );
    let cases: Vec<(Files, &str)> = vec![
        (
            adding_b(&[(
                &ks_b,
                Some(ks(
                    "b",
                    "./clusters/default/profiles/b/artifacts/x",
                    "  dependsOn:\n    - name: zzz\n",
                )),
            )]),
            "Kustomization b: dependsOn flux-system/zzz is not a Kustomization that any synced path defines",
        ),
        (
            adding_b(&[(
                &format!("{PROFILES}/b/artifacts/x/cm.yaml"),
                Some(cm("cm-a")),
            )]),
            "duplicate ConfigMap default/cm-a",
        ),
        (
            adding_b(&[(&ks_b, Some(cycle))]),
            "dependsOn cycle: flux-system/b -> flux-system/b2 -> flux-system/b",
        ),
        (
            adding_b(&[(&format!("{PROFILES}/b/hr.yaml"), Some(helm_release("gone")))]),
            "valuesFrom ConfigMap default/gone is not defined by any synced path",
        ),
        (
            // Pointed at itself, the directory is built twice.
            adding_b(&[(&ks_b, Some(ks("b", "./clusters/default/profiles/b", "")))]),
            "duplicate Kustomization flux-system/b",
        ),
        (
            adding_b(&[(&ks_b, Some(ks("b", "./nowhere", "")))]),
            "Kustomization b: path \"./nowhere\" does not exist in the repository",
        ),
    ];
    for (files, why) in cases {
        assert!(shortcut(&view, &changes(&files)).is_none(), "{why}");
        refused(
            guarded(&ws, &borrowed(&files)),
            &["nothing was written", why],
        );
    }
    // Still a clean installation once the problems are gone.
    assert!(shortcut(&view, &changes(&adding_b(&[]))).is_some());
    // Its own kustomization.yaml is what lists it; without one, no shortcut.
    assert!(shortcut(&view, &changes(&adding_b(&[(&b_list, None)]))).is_none());
}

#[test]
fn an_addition_the_shortcut_cannot_reason_about_goes_to_the_whole_guard() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = base(tmp.path());
    let view = ws.view().unwrap();
    let parent = format!("{PROFILES}/kustomization.yaml");
    // A parent that renames what it builds needs kustomize, which the guard never
    // runs: the whole guard leaves that path out.
    let renamed = adding_b(&[(
        &parent,
        Some(format!("{}namePrefix: x-\n", list(&["a", "b"]))),
    )]);
    assert!(shortcut(&view, &changes(&renamed)).is_none());
    let cases: Vec<(Files, &str)> = vec![
        (
            // It reaches a directory outside itself, which the old walk built already.
            adding_b(&[(
                &format!("{PROFILES}/b/ks.yaml"),
                Some(ks("b", "./apps/shared", "")),
            )]),
            "reaches outside",
        ),
        (
            // Nothing there to find twice: the whole walk does not build it again, so
            // the record must not hold it a second time, with another namespace.
            adding_b(&[(
                &format!("{PROFILES}/b/ks.yaml"),
                Some(ks("b", "./apps/empty", "  targetNamespace: other\n")),
            )]),
            "reaches a directory of nothing outside",
        ),
        (
            adding_b(&[("apps/shared/extra.yaml", Some(cm("extra")))]),
            "another file changes",
        ),
        (
            adding_b(&[(&parent, Some(list(&["a"])))]),
            "the parent does not list it",
        ),
        (
            adding_b(&[(&format!("{PROFILES}/a/more.yaml"), Some(cm("more-a")))]),
            "a second directory",
        ),
    ];
    for (files, why) in cases {
        assert!(shortcut(&view, &changes(&files)).is_none(), "{why}");
        // The whole guard decides: none of these is a problem.
        assert_eq!(
            guarded(&ws, &borrowed(&files)).unwrap(),
            Vec::<String>::new(),
            "{why}"
        );
    }
}

#[test]
fn the_builds_kept_before_a_shortcut_are_still_there_for_the_guard_after_a_commit_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    // A shared directory large enough that its kept build is over the size the parse
    // cache keeps for an entry nobody read.
    let ws = base(&root);
    // (A Flux object's build keeps its text.)
    let many: String = (0..300)
        .map(|i| format!("---\n{}", ks(&format!("filler-{i:03}"), "./apps/empty", "")))
        .collect();
    std::fs::write(root.join("apps/shared/many.yaml"), many).unwrap();
    git_in(&root, &["add", "-A"]);
    git_in(&root, &["commit", "-qm", "fillers by hand"]);
    // A write the whole guard checks keeps its builds; then an install takes the
    // shortcut, which reads none of them.
    commit_one(&ws, "apps/shared/more.yaml", cm("more-2"));
    crate::git::parsecache::save();
    let kept_tree: [u8; 20] = git2::Repository::open(&root)
        .unwrap()
        .head()
        .unwrap()
        .peel_to_tree()
        .unwrap()
        .id()
        .as_bytes()
        .try_into()
        .unwrap();
    // Each write in a process of its own, as pctl runs.
    let in_process = |f: Box<dyn FnOnce(crate::git::Workspace) -> usize + Send>| {
        let r = root.clone();
        std::thread::spawn(move || {
            crate::git::parsecache::attach_for_tests(&r.join(".git"), (3, 5));
            let ws = crate::git::Workspace::open(Some(&r.display().to_string())).unwrap();
            let n = f(ws);
            crate::git::parsecache::save();
            n
        })
        .join()
        .unwrap()
    };
    in_process(Box::new(|ws| {
        let c = changes(&adding_b(&[]));
        assert!(shortcut(&ws.view().unwrap(), &c).is_some());
        ws.apply("install b", Mode::Commit, |_| Ok(c.clone()))
            .unwrap();
        0
    }));
    // A commit pctl did not make, then the next write in a new process: the whole
    // guard, which finds the builds kept before the shortcut.
    std::fs::write(root.join("notes.txt"), "by hand\n").unwrap();
    git_in(&root, &["add", "notes.txt"]);
    git_in(&root, &["commit", "-qm", "notes by hand"]);
    let reused = in_process(Box::new(move |ws| {
        // Kept alive by the shortcut, which read none of them.
        assert!(
            crate::check::kept::held_for(&kept_tree),
            "the builds kept before the shortcut were dropped"
        );
        let before = crate::check::kept::reused();
        let mut c = Changes::default();
        c.files
            .insert("apps/other/cm.yaml".into(), Some(cm("other").into_bytes()));
        crate::check::guard::guard(&ws.view().unwrap(), &c).unwrap();
        crate::check::kept::reused() - before
    }));
    assert!(reused > 0, "no kept build was reused");
}
