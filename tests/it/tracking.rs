//! Update tracking (docs/guide.md): `pctl outdated`, `pctl status NAME` and the UPDATE and
//! DRIFT columns of `pctl list`.

use crate::common::*;
use std::path::{Path, PathBuf};

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", describe(out)))
}

fn row<'a>(rows: &'a Value, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {rows}"))
}

/// A private `platform` repository, a GitOps repository, and three nginx
/// installations: `pinned` (~1.0 → 1.0.0), `caret` (^1.0 → 1.1.0) from a catalog,
/// and `direct` (a Git URL at 1.1.0, no constraint), each in a namespace of its own
/// (one namespace cannot hold the same objects twice, docs/layout.md#ownership).
fn fleet() -> (Env, TempRepo, PathBuf) {
    let repo = build_repo("platform");
    let env = Env::new();
    env.insteadof("file:///nonexistent/github/", "https://github.com/");
    let gitops = env.init_gitops("gitops");
    assert_success(&env.pctl(["catalog", "add", "plat", &repo.url()]));
    assert_success(&env.install(
        &gitops,
        "plat/nginx@~1.0",
        "pinned",
        &["--namespace", "pinned"],
    ));
    assert_success(&env.install(
        &gitops,
        "plat/nginx@^1.0",
        "caret",
        &["--namespace", "caret"],
    ));
    assert_success(&env.install(
        &gitops,
        &repo.source("nginx", None),
        "direct",
        &["--namespace", "direct"],
    ));
    assert_success(&env.install(&gitops, "plat/podinfo", "demo", &[]));
    (env, repo, gitops)
}

fn publish(repo: &Path, tag: &str) {
    git(
        repo,
        &[
            "tag",
            "-a",
            tag,
            "-m",
            &format!("{tag}\n\nA new release."),
            "main",
        ],
    );
}

#[test]
fn outdated_shows_an_installation_behind_a_newly_published_version() {
    let (env, repo, gitops) = fleet();
    let g = gitops.display().to_string();
    let out = env.pctl(["outdated", "--repo", &g, "-o", "json"]);
    assert_success(&out);
    let v = json(&out);
    for name in ["pinned", "caret", "direct", "demo"] {
        let r = row(&v["installations"], name);
        assert_ne!(r["state"], "update-available", "{r}");
    }
    assert_eq!(
        row(&v["installations"], "pinned")["state"],
        "newer-outside-constraint"
    );

    publish(repo.path(), "nginx/v1.1.1");
    let out = env.pctl(["outdated", "--repo", &g, "-o", "json"]);
    assert_success(&out);
    let v = json(&out);
    let caret = row(&v["installations"], "caret");
    assert_eq!(caret["current"], "1.1.0");
    assert_eq!(caret["constraint"], "^1.0");
    assert_eq!(caret["wanted"], "1.1.1");
    assert_eq!(caret["latest"], "1.1.1");
    assert_eq!(caret["state"], "update-available");
    assert_eq!(caret["source"], "plat/nginx");
    let direct = row(&v["installations"], "direct");
    assert_eq!(direct["constraint"], "latest");
    assert_eq!(direct["wanted"], "1.1.1");
    assert_eq!(direct["state"], "update-available");
    let pinned = row(&v["installations"], "pinned");
    assert_eq!(pinned["current"], "1.0.0");
    assert_eq!(pinned["wanted"], "1.0.0");
    assert_eq!(pinned["latest"], "1.1.1");
    assert_eq!(pinned["state"], "newer-outside-constraint");
    let demo = row(&v["installations"], "demo");
    assert_eq!(demo["state"], "up-to-date");
    let summary = v["summary"].as_array().unwrap();
    let nginx = summary.iter().find(|s| s["profile"] == "nginx").unwrap();
    assert_eq!(
        (nginx["installations"].as_u64(), nginx["behind"].as_u64()),
        (Some(3), Some(2))
    );
    let podinfo = summary.iter().find(|s| s["profile"] == "podinfo").unwrap();
    assert_eq!(podinfo["behind"], 0);

    // The table: every installation, then the summary per profile.
    let out = env.pctl(["outdated", "--repo", &g]);
    assert_success(&out);
    let text = stdout(&out);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "PROFILE",
            "CURRENT",
            "WANTED",
            "LATEST",
            "CONSTRAINT",
            "STATUS"
        ]
    );
    assert!(
        text.lines().any(|l| l.starts_with("caret ")
            && l.contains("1.1.1")
            && l.contains("update available")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["nginx", "3", "2"]),
        "{text}"
    );
    assert_stderr_mentions(&out, &["2 of 4 installation(s) behind"]);
    let yaml = env.pctl(["outdated", "--repo", &g, "-o", "yaml"]);
    assert_eq!(
        yaml_docs_str(&stdout(&yaml))[0],
        json(&env.pctl(["outdated", "--repo", &g, "-o", "json"]))
    );

    // A beta is not an update for stable installations...
    publish(repo.path(), "nginx/v1.2.0-beta.1");
    let v = json(&env.pctl(["outdated", "--repo", &g, "-o", "json"]));
    assert_eq!(row(&v["installations"], "caret")["wanted"], "1.1.1");
    // ... but is for one installed with --channel beta.
    assert_success(&env.install(&gitops, "plat/nginx@^1.0", "edge", &["--channel", "beta"]));
    publish(repo.path(), "nginx/v1.4.0-beta.2");
    let v = json(&env.pctl(["outdated", "--repo", &g, "-o", "json"]));
    let edge = row(&v["installations"], "edge");
    assert_eq!(edge["current"], "1.3.0");
    assert_eq!(edge["wanted"], "1.4.0-beta.2");
    assert_eq!(edge["state"], "update-available");

    // --offline uses the cached mirrors; an unreachable upstream is a warning.
    assert_success(&env.pctl(["outdated", "--repo", &g, "--offline"]));
}

#[test]
fn status_names_the_file_edited_by_hand_and_the_update() {
    let (env, repo, gitops) = fleet();
    let g = gitops.display().to_string();
    let dir = install_dir(&gitops, "caret");
    let out = env.pctl(["status", "caret", "--repo", &g, "-o", "json"]);
    assert_success(&out);
    let v = json(&out);
    assert_eq!(v["drift"]["modified"].as_array().unwrap().len(), 0);
    assert_eq!(v["update"]["state"], "up-to-date");

    // Edit one generated file, remove another, add a third; publish a new version.
    let record = yaml_file(&dir.join("profile-installation.yaml"));
    let files: Vec<String> = record["spec"]["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let edited = files
        .iter()
        .find(|f| {
            f.ends_with("helm-release.yaml") || f.ends_with(".yaml") && f.contains("artifacts/")
        })
        .unwrap()
        .clone();
    let removed = files
        .iter()
        .find(|f| **f != edited && f.starts_with("artifacts/"))
        .unwrap()
        .clone();
    let mut text = std::fs::read_to_string(dir.join(&edited)).unwrap();
    text.push_str("# tuned by hand\n");
    std::fs::write(dir.join(&edited), text).unwrap();
    std::fs::remove_file(dir.join(&removed)).unwrap();
    std::fs::write(dir.join("notes.txt"), "hand-made\n").unwrap();
    publish(repo.path(), "nginx/v1.1.1");

    let out = env.pctl(["status", "caret", "--repo", &g]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("edited   {INSTALL_PATH}/caret/{edited}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("removed  {INSTALL_PATH}/caret/{removed}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("added    {INSTALL_PATH}/caret/notes.txt")),
        "{text}"
    );
    assert!(text.contains("1.1.1 available"), "{text}");

    let v = json(&env.pctl(["status", "caret", "--repo", &g, "-o", "json"]));
    assert_eq!(v["drift"]["modified"], serde_json::json!([edited]));
    assert_eq!(v["drift"]["removed"], serde_json::json!([removed]));
    assert_eq!(v["drift"]["added"], serde_json::json!(["notes.txt"]));
    assert_eq!(v["update"]["wanted"], "1.1.1");

    // A committed edit is drift too; other installations have none.
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-qm", "tune by hand"]);
    let v = json(&env.pctl(["status", "caret", "--repo", &g, "-o", "json"]));
    assert_eq!(v["drift"]["modified"], serde_json::json!([edited]));
    let v = json(&env.pctl(["status", "pinned", "--repo", &g, "-o", "json"]));
    assert_eq!(v["drift"]["modified"].as_array().unwrap().len(), 0);

    let bad = env.pctl(["status", "nope", "--repo", &g]);
    assert_error(&bad, 1);
    assert_stderr_mentions(&bad, &["no installation named", "caret"]);
}

#[test]
fn list_has_update_and_drift_columns() {
    let (env, repo, gitops) = fleet();
    let g = gitops.display().to_string();
    publish(repo.path(), "nginx/v1.1.1");
    // outdated fetches; list then reads the cached mirrors.
    assert_success(&env.pctl(["outdated", "--repo", &g]));
    let dir = install_dir(&gitops, "pinned");
    let record = yaml_file(&dir.join("profile-installation.yaml"));
    let first = record["spec"]["files"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with("artifacts/"))
        .unwrap()
        .clone();
    std::fs::write(dir.join(&first), "edited: true\n").unwrap();

    let out = env.pctl(["list", "--repo", &g]);
    assert_success(&out);
    let text = stdout(&out);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "NAMESPACE",
            "PROFILE",
            "VERSION",
            "SOURCE",
            "PATH",
            "UPDATE",
            "DRIFT"
        ]
    );
    let cols = |name: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(cols("caret")[6..], ["1.1.1", "-"]);
    assert_eq!(cols("pinned")[6..], ["-", "1", "edited"]);
    assert_eq!(cols("demo")[6..], ["-", "-"]);

    let list = env.list_json(&gitops);
    let caret = list_entry(&list, "caret");
    assert_eq!(caret["update"], "1.1.1");
    assert_eq!(list_entry(&list, "demo")["update"], Value::Null);
    assert_eq!(
        list_entry(&list, "pinned")["drift"]["modified"],
        serde_json::json!([first])
    );
}
