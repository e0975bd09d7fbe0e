//! `pctl upgrade` next to `kpt pkg update --strategy resource-merge` on the same three
//! trees: base (webstack 1.0.0 as pctl renders it), a user's edits, and an upstream
//! change (webstack 1.2.0 rendered the same way). pctl must report no conflict where
//! kpt did not face one (kpt reports none, but silently decides the ones it meets)
//! and must keep every user edit kpt keeps. The test prints both results (run it
//! with `--nocapture` to see the table).
//!
//! The kpt side: the installation directory pctl wrote for 1.0.0 is committed as
//! the package `web` (with a Kptfile) in an upstream Git repository and tagged `v1`;
//! the 1.2.0 rendering of the same installation is committed on top and tagged `v2`.
//! `kpt pkg get file://…/upstream.git/web@v1` fetches it into a local repository,
//! the edits are made there and committed, and `kpt pkg update web@v2` merges.
//! Everything is local (`file://`) and runs under the test sandbox's HOME and Git
//! configuration.

use crate::common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

const NAME: &str = "web";
const DEPLOYMENT: &str = "artifacts/app/deployment.yaml";
const NETPOL: &str = "artifacts/app/networkpolicy.yaml";
const APP_KUSTOMIZATION: &str = "artifacts/app/kustomization.yaml";
const RELEASE: &str = "artifacts/cache/helm-release.yaml";
const INGRESS: &str = "artifacts/ingress/ingress.yaml";

const KPTFILE: &str = "apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: web
  annotations:
    config.kubernetes.io/local-config: \"true\"
info:
  description: webstack installed as web, rendered by pctl
";

const PDB: &str = "---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web-web
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: web-web
";

const NETWORK_POLICY: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-web
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: web-web
  ingress:
    - ports:
        - port: 9898
";

/// Fails the test with a clear message when kpt is not installed.
fn require_kpt() -> String {
    match Command::new("kpt").arg("version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => panic!(
            "`kpt version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "kpt is not installed or not on PATH ({e}): this test compares pctl upgrade with \
             `kpt pkg update` and needs the kpt CLI (https://kpt.dev/installation/)"
        ),
    }
}

/// Runs kpt in the sandbox, in `dir`; panics unless it succeeds.
fn kpt(env: &Env, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = env.tool_command("kpt", dir);
    cmd.args(args);
    let out = run_with_timeout(cmd, std::time::Duration::from_secs(120));
    assert!(
        out.status.success(),
        "kpt {} failed\n{}",
        args.join(" "),
        describe(&out)
    );
    out
}

fn commit_all(env: &Env, dir: &Path, msg: &str) {
    env.git(dir, &["add", "-A"]);
    env.git(dir, &["commit", "-q", "-m", msg]);
}

/// Replaces the directory's content (but `keep`) with a copy of `src`.
fn replace_tree(src: &Path, dest: &Path, keep: &[&str]) {
    for e in std::fs::read_dir(dest).unwrap() {
        let e = e.unwrap();
        if keep.contains(&e.file_name().to_string_lossy().as_ref()) {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            std::fs::remove_dir_all(e.path()).unwrap();
        } else {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    copy_tree(src, dest);
}

#[track_caller]
fn replace_once(p: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(
        text.matches(from).count(),
        1,
        "{} should hold {from:?} once:\n{text}",
        p.display()
    );
    std::fs::write(p, text.replacen(from, to, 1)).unwrap();
}

fn append(p: &Path, text: &str) {
    let mut s = std::fs::read_to_string(p).unwrap();
    s.push_str(text);
    std::fs::write(p, s).unwrap();
}

/// The file's text with every conflict block resolved to ours (the user's side),
/// and whether it had blocks.
fn ours_side(text: &str) -> (String, bool) {
    let mut out = String::new();
    let mut state = 0; // 0 outside, 1 ours, 2 base, 3 theirs
    let mut had = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        match state {
            0 if bare == "<<<<<<< ours" => {
                state = 1;
                had = true;
            }
            1 if bare.starts_with("|||||||") => state = 2,
            1 | 2 if bare == "=======" => state = 3,
            3 if bare == ">>>>>>> theirs" => state = 0,
            0 | 1 => out.push_str(line),
            _ => {}
        }
    }
    (out, had)
}

/// The YAML documents of `dir/rel` (conflict blocks resolved to ours), or None
/// when the file does not exist.
fn docs(dir: &Path, rel: &str) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(dir.join(rel)).ok()?;
    Some(yaml_docs_str(&ours_side(&text).0))
}

fn doc_of_kind(dir: &Path, rel: &str, kind: &str) -> Option<Value> {
    docs(dir, rel)?.into_iter().find(|d| d["kind"] == kind)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// One thing to look at in a package tree: a user's edit or an upstream change.
struct Probe {
    what: &'static str,
    /// The file it lives in, relative to the package / installation directory.
    file: &'static str,
    get: fn(&Path) -> Option<String>,
}

fn replicas(dir: &Path) -> Option<String> {
    scalar(&doc_of_kind(dir, DEPLOYMENT, "Deployment")?["spec"]["replicas"])
}

fn podinfo(dir: &Path) -> Option<Value> {
    Some(
        doc_of_kind(dir, DEPLOYMENT, "Deployment")?["spec"]["template"]["spec"]["containers"][0]
            .clone(),
    )
}

fn memory_limit(dir: &Path) -> Option<String> {
    scalar(&podinfo(dir)?["resources"]["limits"]["memory"])
}

/// The podinfo image's tag.
fn image(dir: &Path) -> Option<String> {
    let image = scalar(&podinfo(dir)?["image"])?;
    Some(image.rsplit(':').next().unwrap_or(&image).to_string())
}

fn pdb(dir: &Path) -> Option<String> {
    let d = doc_of_kind(dir, DEPLOYMENT, "PodDisruptionBudget")?;
    Some(format!("minAvailable {}", d["spec"]["minAvailable"]))
}

fn network_policy(dir: &Path) -> Option<String> {
    let d = doc_of_kind(dir, NETPOL, "NetworkPolicy")?;
    let listed = docs(dir, APP_KUSTOMIZATION)?[0]["resources"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x == "networkpolicy.yaml"));
    Some(format!("{} (listed: {listed})", name_of(&d)))
}

fn redis_memory(dir: &Path) -> Option<String> {
    scalar(
        &doc_of_kind(dir, RELEASE, "HelmRelease")?["spec"]["values"]["master"]["resources"]["limits"]
            ["memory"],
    )
}

fn redis_volume(dir: &Path) -> Option<String> {
    scalar(
        &doc_of_kind(dir, RELEASE, "HelmRelease")?["spec"]["values"]["master"]["persistence"]["size"],
    )
}

fn ingress_class(dir: &Path) -> Option<String> {
    scalar(&doc_of_kind(dir, INGRESS, "Ingress")?["spec"]["ingressClassName"])
}

fn route(dir: &Path) -> Option<String> {
    let r = doc_of_kind(dir, "artifacts/route/httproute.yaml", "HTTPRoute")?;
    let listed = docs(dir, "kustomization.yaml")?[0]["resources"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x == "artifacts/route/kustomize-flux.yaml"));
    Some(format!("{} (listed: {listed})", name_of(&r)))
}

fn ingress_wrapper(dir: &Path) -> Option<String> {
    doc_of_kind(
        dir,
        "artifacts/ingress/kustomize-flux.yaml",
        "Kustomization",
    )
    .map(|d| name_of(&d))
}

/// A user's edit: what to look at, and how to make it in a package tree.
type Edit = (Probe, fn(&Path));

/// The user's edits, made the same way in both trees.
fn user_edits() -> Vec<Edit> {
    vec![
        (
            Probe {
                what: "replicas 2 -> 5",
                file: DEPLOYMENT,
                get: replicas,
            },
            |d| replace_once(&d.join(DEPLOYMENT), "  replicas: 2\n", "  replicas: 5\n"),
        ),
        (
            Probe {
                what: "memory limit 128Mi -> 512Mi",
                file: DEPLOYMENT,
                get: memory_limit,
            },
            |d| {
                replace_once(
                    &d.join(DEPLOYMENT),
                    "              memory: 128Mi\n",
                    "              memory: 512Mi\n",
                )
            },
        ),
        (
            Probe {
                what: "PodDisruptionBudget appended",
                file: DEPLOYMENT,
                get: pdb,
            },
            |d| append(&d.join(DEPLOYMENT), PDB),
        ),
        (
            Probe {
                what: "NetworkPolicy file added",
                file: NETPOL,
                get: network_policy,
            },
            |d| {
                std::fs::write(d.join(NETPOL), NETWORK_POLICY).unwrap();
                append(&d.join(APP_KUSTOMIZATION), "- networkpolicy.yaml\n");
            },
        ),
        (
            Probe {
                what: "Redis memory limit set",
                file: RELEASE,
                get: redis_memory,
            },
            |d| {
                replace_once(
                    &d.join(RELEASE),
                    "        size: 1Gi\n",
                    "        size: 1Gi\n      resources:\n        limits:\n          memory: 512Mi\n",
                )
            },
        ),
        (
            Probe {
                what: "ingress class nginx -> nginx-internal",
                file: INGRESS,
                get: ingress_class,
            },
            |d| {
                replace_once(
                    &d.join(INGRESS),
                    "  ingressClassName: nginx\n",
                    "  ingressClassName: nginx-internal\n",
                )
            },
        ),
    ]
}

/// Upstream's changes between 1.0.0 and 1.2.0 that no user edit touches.
fn upstream_changes() -> Vec<Probe> {
    vec![
        Probe {
            what: "image 6.7.0 -> 6.7.1",
            file: DEPLOYMENT,
            get: image,
        },
        Probe {
            what: "Redis volume 1Gi -> 2Gi",
            file: RELEASE,
            get: redis_volume,
        },
        Probe {
            what: "new artifact route",
            file: "artifacts/route/httproute.yaml",
            get: route,
        },
        Probe {
            what: "ingress wrapper removed",
            file: "artifacts/ingress/kustomize-flux.yaml",
            get: ingress_wrapper,
        },
    ]
}

fn show(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(absent)".into())
}

#[test]
fn pctl_keeps_every_edit_kpt_keeps_and_reports_no_more_conflicts() {
    let (pctl_reported, kpt_reported) = compare(user_edits(), "all six edits");
    // Two edits meet upstream changes: kpt decides both silently (losing one), pctl
    // reports both (and keeps both edits).
    assert_eq!((pctl_reported, kpt_reported), (2, 0));
}

/// The user's edits that no upstream change touches: neither tool reports a
/// conflict, both keep every edit and apply every upstream change.
#[test]
fn with_edits_upstream_does_not_touch_neither_reports_a_conflict() {
    let edits: Vec<Edit> = user_edits()
        .into_iter()
        .filter(|(p, _)| !p.what.starts_with("memory") && !p.what.starts_with("ingress"))
        .collect();
    assert_eq!(edits.len(), 4);
    let (pctl_reported, kpt_reported) = compare(edits, "the four edits upstream does not touch");
    assert_eq!(kpt_reported, 0);
    assert!(
        pctl_reported <= kpt_reported,
        "pctl reported {pctl_reported}"
    );
}

/// Run both tools on the same trees with `edits`, print the table, and check that
/// pctl keeps every edit and applies every upstream change kpt does, and reports
/// conflicts only where kpt had to decide one. Returns the conflicts each reported.
fn compare(edits: Vec<Edit>, label: &str) -> (usize, usize) {
    let kpt_version = require_kpt();
    let repo = shared_repo("upgrade");
    let env = Env::new();
    env.set_var(
        "KPT_CACHE_DIR",
        &env.path("kpt-cache").display().to_string(),
    );
    let trees = env.path("trees");

    // pctl: webstack 1.0.0 installed as web.
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &repo.source("webstack", Some("1.0.0")), NAME, &[]));
    let installed = install_dir(&gitops, NAME);
    copy_tree(&installed, &trees.join("base"));
    // The same installation rendered at 1.2.0 (upstream's side of the merge).
    let scratch = env.init_gitops("scratch");
    assert_success(&env.install(&scratch, &repo.source("webstack", Some("1.2.0")), NAME, &[]));
    let theirs = install_dir(&scratch, NAME);

    // kpt's upstream: the package `web` at v1 (base) and v2 (1.2.0).
    let upstream = env.path("upstream");
    std::fs::create_dir_all(upstream.join(NAME)).unwrap();
    env.git(&upstream, &["init", "-q", "-b", "main"]);
    copy_tree(&installed, &upstream.join(NAME));
    std::fs::write(upstream.join(NAME).join("Kptfile"), KPTFILE).unwrap();
    commit_all(&env, &upstream, "web: webstack 1.0.0");
    env.git(&upstream, &["tag", "v1"]);
    replace_tree(&theirs, &upstream.join(NAME), &["Kptfile"]);
    commit_all(&env, &upstream, "web: webstack 1.2.0");
    env.git(&upstream, &["tag", "v2"]);

    // kpt's local repository: kpt pkg get @v1.
    let local = env.path("kpt-local");
    std::fs::create_dir_all(&local).unwrap();
    env.git(&local, &["init", "-q", "-b", "main"]);
    env.git(&local, &["commit", "-q", "--allow-empty", "-m", "init"]);
    let pkg_url = format!("file://{}.git/{NAME}@v1", upstream.display());
    kpt(&env, &local, &["pkg", "get", &pkg_url, NAME]);
    commit_all(&env, &local, "kpt pkg get web@v1");
    let kpt_pkg = local.join(NAME);

    // The same edits on both sides, committed.
    for (_, apply) in &edits {
        apply(&installed);
        apply(&kpt_pkg);
    }
    commit_all(&env, &gitops, "web: tuned by hand");
    commit_all(&env, &local, "web: tuned by hand");
    copy_tree(&installed, &trees.join("ours"));

    // kpt pkg update --strategy resource-merge
    let kpt_out = kpt(
        &env,
        &local,
        &[
            "pkg",
            "update",
            &format!("{NAME}@v2"),
            "--strategy",
            "resource-merge",
        ],
    );
    let kpt_text = format!("{}{}", stdout(&kpt_out), stderr(&kpt_out));
    let kpt_reported = kpt_text
        .lines()
        .filter(|l| l.to_lowercase().contains("conflict"))
        .count();
    let kpt_kptfile = yaml_file(&kpt_pkg.join("Kptfile"));
    assert_eq!(
        kpt_kptfile["upstreamLock"]["git"]["ref"], "v2",
        "kpt did not update the package:\n{kpt_text}"
    );

    // pctl upgrade (merge strategy: conflicts stop it, exit 3)
    let out = env.pctl([
        "upgrade",
        NAME,
        "--to",
        "1.2.0",
        "--repo",
        &gitops.display().to_string(),
    ]);
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(3),
        "pctl upgrade failed\n{}",
        describe(&out)
    );
    let prefix = format!("{INSTALL_PATH}/{NAME}/");
    let pctl_conflicts: BTreeSet<String> = stderr(&out)
        .lines()
        .filter_map(|l| l.split_once("CONFLICT ").map(|(_, rest)| rest))
        .map(|rest| {
            let path = rest.split(": ").next().unwrap_or(rest);
            path.strip_prefix(&prefix).unwrap_or(path).to_string()
        })
        .collect();
    assert_eq!(
        code == Some(3),
        !pctl_conflicts.is_empty(),
        "exit code and listed conflicts disagree\n{}",
        describe(&out)
    );

    // Compare.
    let (base, ours) = (trees.join("base"), trees.join("ours"));
    let mut rows = Vec::new();
    let mut kpt_decided = BTreeSet::new();
    let mut failures = Vec::new();
    for (p, _) in &edits {
        let (b, o, t) = ((p.get)(&base), (p.get)(&ours), (p.get)(&theirs));
        assert_ne!(b, o, "{}: the edit did not change anything", p.what);
        let k = (p.get)(&kpt_pkg);
        let r = (p.get)(&installed);
        let both_changed = t != b && o != t;
        let in_conflict = both_changed && pctl_conflicts.contains(p.file);
        let kpt_kept = k == o;
        let pctl_kept = r == o;
        if both_changed {
            kpt_decided.insert(p.file.to_string());
        }
        if kpt_kept && !pctl_kept {
            failures.push(format!(
                "kpt keeps the edit `{}` ({}) but pctl does not (pctl: {})",
                p.what,
                show(&o),
                show(&r)
            ));
        }
        let upstream = if t == b {
            "unchanged".to_string()
        } else {
            format!("-> {}", show(&t))
        };
        let kpt_cell = match (kpt_kept, both_changed) {
            (true, true) => "kept (upstream's change dropped, silently)".to_string(),
            (true, false) => "kept".to_string(),
            (false, true) if k == t => format!("LOST: took upstream's {}", show(&k)),
            (false, _) => format!("LOST: {}", show(&k)),
        };
        let pctl_cell = match (pctl_kept, in_conflict) {
            (true, true) => "kept, CONFLICT reported".to_string(),
            (true, false) => "kept".to_string(),
            (false, true) => format!("CONFLICT, now {}", show(&r)),
            (false, false) => format!("LOST: {}", show(&r)),
        };
        rows.push([p.what.to_string(), upstream, kpt_cell, pctl_cell]);
    }
    for p in upstream_changes() {
        let (b, t) = ((p.get)(&base), (p.get)(&theirs));
        assert_ne!(b, t, "{}: upstream does not change it", p.what);
        let k = (p.get)(&kpt_pkg);
        let r = (p.get)(&installed);
        let cell = |v: &Option<String>| {
            if *v == t {
                "applied".to_string()
            } else {
                format!("NOT applied: {}", show(v))
            }
        };
        if k == t && r != t {
            failures.push(format!(
                "kpt applies upstream's `{}` but pctl does not (pctl: {})",
                p.what,
                show(&r)
            ));
        }
        rows.push([
            format!("upstream: {}", p.what),
            format!("{} -> {}", show(&b), show(&t)),
            cell(&k),
            cell(&r),
        ]);
    }
    rows.push([
        "conflicts reported".into(),
        String::new(),
        kpt_reported.to_string(),
        pctl_conflicts.len().to_string(),
    ]);
    rows.push([
        "conflicts decided silently".into(),
        String::new(),
        kpt_decided.len().to_string(),
        "0".into(),
    ]);
    rows.push([
        "conflicts met (reported + silent)".into(),
        String::new(),
        (kpt_reported + kpt_decided.len()).to_string(),
        pctl_conflicts.len().to_string(),
    ]);

    let mut table = format!(
        "\npctl upgrade vs {kpt_version} pkg update --strategy resource-merge \
         (webstack 1.0.0 -> 1.2.0, the same edits: {label})\n"
    );
    let head = [
        "edit / change".to_string(),
        "upstream".into(),
        "kpt".into(),
        "pctl".into(),
    ];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain(std::iter::once(&head))
                .map(|r| r[i].len())
                .max()
                .unwrap()
        })
        .collect();
    for r in std::iter::once(&head).chain(rows.iter()) {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        table.push_str(line.join("  ").trim_end());
        table.push('\n');
    }
    table.push_str(&format!(
        "pctl conflicts: {:?}\nkpt output:\n{}\n",
        pctl_conflicts,
        kpt_text.trim_end()
    ));
    eprintln!("{table}");

    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
    // No more conflicts than kpt: kpt reports none but had to decide every file
    // where both sides changed the same thing; pctl may report only those.
    for c in &pctl_conflicts {
        assert!(
            kpt_decided.contains(c),
            "pctl reports a conflict in {c}, where kpt faced none\n{table}"
        );
    }
    assert!(
        pctl_conflicts.len() <= kpt_reported + kpt_decided.len(),
        "{table}"
    );
    // And it does report them instead of deciding silently.
    assert_eq!(
        pctl_conflicts, kpt_decided,
        "pctl must report every conflict kpt decided silently\n{table}"
    );
    (pctl_conflicts.len(), kpt_reported)
}
