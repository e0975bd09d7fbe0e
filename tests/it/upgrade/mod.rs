//! `pctl upgrade` and `pctl sync` (docs/guide.md): three-way merges of an installation's
//! files, driven through the real binary against real Git repositories built from
//! `fixtures/repos/upgrade` (the `webstack` profile, see its README.md):
//!
//! - 1.0.0 → 1.1.0: image 6.7.1, chart `defaultValues` `size: 2Gi`, new artifact
//!   `route`, artifact `ingress` removed;
//! - 1.2.0: memory limit 128Mi → 256Mi (the field the tests also edit);
//! - 2.0.0: a major (only with `--to`/`--latest`); 2.1.0-rc.1: channel `rc`.
//!
//! Every test installs `webstack` as `web` into a fresh GitOps repository, commits
//! some edits by hand (the user's), runs `pctl upgrade`/`pctl sync` and checks the
//! work tree, the commits and the record.

use crate::common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Output;

mod more;
mod unedited;

const NAME: &str = "web";
const DEPLOYMENT: &str = "artifacts/app/deployment.yaml";
const INGRESS: &str = "artifacts/ingress/ingress.yaml";
const CHART_RELEASE: &str = "artifacts/cache/helm-release.yaml";

fn upstream() -> &'static TempRepo {
    shared_repo("upgrade")
}

/// `file:///…//webstack@REF`
fn webstack(repo: &TempRepo, reference: &str) -> String {
    repo.source("webstack", Some(reference))
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// A fresh GitOps repository with `webstack@reference` installed as `web`.
fn installed(repo: &TempRepo, reference: &str, extra: &[&str]) -> (Env, PathBuf) {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let out = env.install(&gitops, &webstack(repo, reference), NAME, extra);
    assert_success(&out);
    (env, gitops)
}

/// `pctl upgrade ARGS --repo GITOPS`
fn upgrade(env: &Env, gitops: &Path, args: &[&str]) -> Output {
    let mut a: Vec<String> = vec!["upgrade".into()];
    a.extend(args.iter().map(|s| s.to_string()));
    a.extend(["--repo".into(), arg(gitops)]);
    env.pctl(&a)
}

/// `pctl sync ARGS --repo GITOPS`
fn sync(env: &Env, gitops: &Path, args: &[&str]) -> Output {
    let mut a: Vec<String> = vec!["sync".into()];
    a.extend(args.iter().map(|s| s.to_string()));
    a.extend(["--repo".into(), arg(gitops)]);
    env.pctl(&a)
}

/// A file of installation `name`.
fn file_of(gitops: &Path, name: &str, rel: &str) -> PathBuf {
    install_dir(gitops, name).join(rel)
}

fn read(gitops: &Path, rel: &str) -> String {
    let p = file_of(gitops, NAME, rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Replaces the one occurrence of `from` in a file of `web` (the user's edit).
#[track_caller]
fn edit(gitops: &Path, rel: &str, from: &str, to: &str) {
    edit_path(&file_of(gitops, NAME, rel), from, to);
}

#[track_caller]
fn edit_path(p: &Path, from: &str, to: &str) {
    let text =
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
    assert_eq!(
        text.matches(from).count(),
        1,
        "{} should hold {from:?} exactly once:\n{text}",
        p.display()
    );
    std::fs::write(p, text.replacen(from, to, 1)).unwrap();
}

fn append(p: &Path, text: &str) {
    let mut s = std::fs::read_to_string(p).unwrap();
    s.push_str(text);
    std::fs::write(p, s).unwrap();
}

/// `git add -A && git commit` in the GitOps repository: the user's edits.
fn commit_all(env: &Env, gitops: &Path, msg: &str) {
    env.git(gitops, &["add", "-A"]);
    env.git(gitops, &["commit", "-q", "-m", msg]);
}

/// The edit the conflict tests make: the memory limit that 1.2.0 also changes.
fn edit_memory_limit(gitops: &Path) {
    edit(
        gitops,
        DEPLOYMENT,
        "            limits:\n              memory: 128Mi\n",
        "            limits:\n              memory: 512Mi\n",
    );
}

/// The edit to the artifact 1.1.0 removes.
fn edit_ingress(gitops: &Path) {
    edit(
        gitops,
        INGRESS,
        "  ingressClassName: nginx\n",
        "  ingressClassName: nginx-internal\n",
    );
}

fn record(gitops: &Path, name: &str) -> Value {
    yaml_file(&file_of(gitops, name, "profile-installation.yaml"))
}

/// The `webstack` Deployment of installation `name` (its file may hold more
/// documents).
fn deployment_of(gitops: &Path, name: &str) -> Value {
    yaml_docs(&file_of(gitops, name, DEPLOYMENT))
        .into_iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("deployment.yaml holds no Deployment")
}

fn deployment(gitops: &Path) -> Value {
    deployment_of(gitops, NAME)
}

fn container(deploy: &Value) -> &Value {
    &deploy["spec"]["template"]["spec"]["containers"][0]
}

fn env_var(deploy: &Value, var: &str) -> Value {
    container(deploy)["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == var)
        .unwrap_or_else(|| panic!("no env {var} in {deploy}"))["value"]
        .clone()
}

/// `spec.values` of the cache HelmRelease.
fn chart_values(gitops: &Path) -> Value {
    let hr = yaml_file(&file_of(gitops, NAME, CHART_RELEASE));
    assert_eq!(hr["kind"], "HelmRelease");
    hr["spec"]["values"].clone()
}

/// Exactly one commit since `before`, with this subject, and a clean work tree.
#[track_caller]
fn assert_one_commit(gitops: &Path, before: &str, subject: &str) {
    assert_eq!(
        git(gitops, &["rev-parse", "HEAD~1"]),
        before,
        "expected exactly one new commit; log:\n{}",
        git(gitops, &["log", "--oneline", "-5"])
    );
    assert_eq!(head_subject(gitops), subject);
    assert!(
        is_clean(gitops),
        "work tree not clean after the commit: {}",
        git(gitops, &["status", "--porcelain"])
    );
}

/// Exit 3, no commit, and every path listed on stderr.
#[track_caller]
fn assert_conflict(out: &Output, gitops: &Path, before: &str, paths: &[&str]) {
    assert_exit(out, 3);
    assert_eq!(head(gitops), before, "a conflicted upgrade must not commit");
    for p in paths {
        assert!(
            stderr(out).contains(p),
            "stderr does not list the conflicted path {p}\n{}",
            describe(out)
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours,
    Theirs,
}

/// The conflict blocks of a file: (ours' lines, theirs' lines). A diff3-style base
/// section (`|||||||`) is skipped.
fn conflict_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let (mut ours, mut theirs) = (String::new(), String::new());
    let mut state = 0; // 0 outside, 1 ours, 2 base, 3 theirs
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        match state {
            0 if bare == "<<<<<<< ours" => state = 1,
            1 if bare.starts_with("|||||||") => state = 2,
            1 | 2 if bare == "=======" => state = 3,
            3 if bare == ">>>>>>> theirs" => {
                blocks.push((std::mem::take(&mut ours), std::mem::take(&mut theirs)));
                state = 0;
            }
            1 => ours.push_str(line),
            3 => theirs.push_str(line),
            _ => {}
        }
    }
    assert_eq!(state, 0, "an unterminated conflict block:\n{text}");
    blocks
}

/// The file with every conflict block replaced by one side.
fn resolve(text: &str, side: Side) -> String {
    let mut out = String::new();
    let mut state = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        match state {
            0 if bare == "<<<<<<< ours" => state = 1,
            1 if bare.starts_with("|||||||") => state = 2,
            1 | 2 if bare == "=======" => state = 3,
            3 if bare == ">>>>>>> theirs" => state = 0,
            0 => out.push_str(line),
            1 if side == Side::Ours => out.push_str(line),
            3 if side == Side::Theirs => out.push_str(line),
            _ => {}
        }
    }
    out
}

fn has_markers(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("<<<<<<<") || l.starts_with(">>>>>>>"))
}

/// No file of the installation holds a conflict marker.
#[track_caller]
fn assert_no_markers(gitops: &Path, name: &str) {
    for (rel, data) in tree_files(&install_dir(gitops, name)) {
        assert!(
            !has_markers(&String::from_utf8_lossy(&data)),
            "{rel} still holds conflict markers"
        );
    }
}

/// The record's file hashes are those of the files on disk, and it lists every
/// file of the installation but itself (and the `extra` files the user added).
#[track_caller]
fn assert_lock_matches_files(gitops: &Path, name: &str, extra: &[&str]) {
    let dir = install_dir(gitops, name);
    let rec = record(gitops, name);
    let locked = rec["spec"]["files"]
        .as_object()
        .expect("the record has no spec.files");
    let on_disk = tree_files(&dir);
    for (rel, hash) in locked {
        let data = on_disk
            .get(rel)
            .unwrap_or_else(|| panic!("the record locks {rel}, which does not exist"));
        assert_eq!(
            hash.as_str().unwrap(),
            sha256_hex(data),
            "the record's hash of {rel} is not the file's"
        );
    }
    for rel in on_disk.keys() {
        if rel != "profile-installation.yaml" && !extra.contains(&rel.as_str()) {
            assert!(
                locked.contains_key(rel),
                "{rel} is on disk but not in the record"
            );
        }
    }
}

/// Deletes the tags of every version after 1.0.0 from a private copy of the
/// repository (so that an install with a constraint resolves to 1.0.0), and
/// returns them for [`restore_tags`] ("publishing" them later).
fn hide_later_versions(repo: &TempRepo) -> Vec<(String, String)> {
    let mut saved = Vec::new();
    for t in repo.tags() {
        if t != "webstack/v1.0.0" {
            let obj = repo.git(&["rev-parse", &format!("refs/tags/{t}")]);
            repo.git(&["tag", "-d", &t]);
            saved.push((t, obj));
        }
    }
    assert!(!saved.is_empty());
    saved
}

fn restore_tags(repo: &TempRepo, saved: &[(String, String)]) {
    for (t, obj) in saved {
        repo.git(&["update-ref", &format!("refs/tags/{t}"), obj]);
    }
}

// ---------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------

#[test]
fn fixture_has_the_documented_versions_with_changelogs() {
    let repo = upstream();
    let mut tags = repo.tags();
    tags.sort();
    assert_eq!(
        tags,
        [
            "webstack/v1.0.0",
            "webstack/v1.1.0",
            "webstack/v1.2.0",
            "webstack/v2.0.0",
            "webstack/v2.1.0-rc.1"
        ]
    );
    for t in &tags {
        assert_eq!(
            repo.git(&["cat-file", "-t", &format!("refs/tags/{t}")]),
            "tag",
            "{t} must be an annotated tag"
        );
        let version = t.trim_start_matches("webstack/v");
        let msg = repo.git(&["tag", "-l", "--format=%(contents)", t]);
        assert!(
            msg.starts_with(&format!("webstack {version}\n\n")) && msg.lines().count() > 2,
            "{t}: the tag message must be a changelog:\n{msg}"
        );
    }
    let at = |rev: &str, path: &str| repo.git(&["show", &format!("{rev}:webstack/{path}")]);
    // 1.1.0: image changed, replicas and memory not; chart values; route in, ingress out.
    let d0 = at("webstack/v1.0.0", "app/deployment.yaml");
    let d1 = at("webstack/v1.1.0", "app/deployment.yaml");
    assert!(d0.contains("podinfo:6.7.0") && d1.contains("podinfo:6.7.1"));
    assert_eq!(
        d0.replace("6.7.0", "6.7.1"),
        d1,
        "1.1.0 changes only the image tag of the Deployment"
    );
    let p1 = at("webstack/v1.1.0", "profile.yaml");
    assert!(p1.contains("size: 2Gi") && p1.contains("name: route") && !p1.contains("ingress"));
    assert!(!git_ok(
        repo.path(),
        &["cat-file", "-e", "webstack/v1.1.0:webstack/ingress"]
    ));
    // 1.2.0: only the memory limit.
    let d2 = at("webstack/v1.2.0", "app/deployment.yaml");
    assert_eq!(d1.replace("memory: 128Mi", "memory: 256Mi"), d2);
}

// ---------------------------------------------------------------------------
// Merge results
// ---------------------------------------------------------------------------

/// A user edit to a field upstream did not change (replicas; an added chart value)
/// survives, and upstream's changes (image, `defaultValues`) land: one commit.
#[test]
fn a_user_edit_to_a_field_upstream_did_not_change_is_kept() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit(&gitops, DEPLOYMENT, "  replicas: 2\n", "  replicas: 5\n");
    edit(
        &gitops,
        CHART_RELEASE,
        "        size: 1Gi\n",
        "        size: 1Gi\n      resources:\n        limits:\n          memory: 512Mi\n",
    );
    commit_all(
        &env,
        &gitops,
        "web: five replicas, a memory limit for Redis",
    );
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.1.0");
    for f in files_in_commit(&gitops, "HEAD") {
        assert!(
            f.starts_with(&format!("{INSTALL_PATH}/{NAME}/")),
            "the upgrade commit touched {f}"
        );
    }
    let d = deployment(&gitops);
    assert_eq!(d["spec"]["replicas"], 5, "the user's replicas were lost");
    assert_eq!(
        container(&d)["image"],
        "ghcr.io/stefanprodan/podinfo:6.7.1",
        "upstream's image change was not taken"
    );
    assert_eq!(container(&d)["resources"]["limits"]["memory"], "128Mi");
    let v = chart_values(&gitops);
    assert_eq!(v["master"]["persistence"]["size"], "2Gi");
    assert_eq!(v["master"]["resources"]["limits"]["memory"], "512Mi");
    assert_no_markers(&gitops, NAME);
    // The lock holds what pctl generated: the kept edits are still drift, and
    // every other file matches it.
    let st = env.pctl(["status", NAME, "--repo", &arg(&gitops), "-o", "json"]);
    assert_success(&st);
    let st: Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(
        st["drift"]["modified"],
        json!([DEPLOYMENT, CHART_RELEASE]),
        "{st}"
    );
    assert_eq!(st["drift"]["added"], json!([]), "{st}");
    assert_eq!(st["drift"]["removed"], json!([]), "{st}");
    check_installation(&gitops, NAME);
    flux_dry_run(&gitops);
}

/// A field changed here and upstream differently is a conflict: no commit, exit 3,
/// the path on stderr, Git-style markers around exactly the two values, and the
/// rest of the merge (other fields and files) already in the work tree.
#[test]
fn a_field_changed_on_both_sides_is_a_conflict_with_markers() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit_memory_limit(&gitops);
    commit_all(&env, &gitops, "web: more memory");
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.2.0"]);
    assert_conflict(&out, &gitops, &before, &[DEPLOYMENT]);
    let text = read(&gitops, DEPLOYMENT);
    let blocks = conflict_blocks(&text);
    assert_eq!(blocks.len(), 1, "one conflict block expected:\n{text}");
    let (ours, theirs) = &blocks[0];
    assert!(
        ours.contains("512Mi") && !ours.contains("256Mi"),
        "ours: {ours:?}"
    );
    assert!(
        theirs.contains("256Mi") && !theirs.contains("512Mi"),
        "theirs: {theirs:?}"
    );
    assert!(
        !ours.contains("image") && !theirs.contains("image"),
        "the image is no conflict:\n{text}"
    );
    // Either side of the block gives a valid Deployment with upstream's image.
    for side in [Side::Ours, Side::Theirs] {
        let docs = yaml_docs_str(&resolve(&text, side));
        assert_eq!(docs.len(), 1);
        assert_eq!(
            container(&docs[0])["image"],
            "ghcr.io/stefanprodan/podinfo:6.7.1"
        );
        let want = if side == Side::Ours { "512Mi" } else { "256Mi" };
        assert_eq!(container(&docs[0])["resources"]["limits"]["memory"], want);
    }
    // Files without conflicts are merged in the work tree already.
    assert_eq!(
        chart_values(&gitops)["master"]["persistence"]["size"],
        "2Gi"
    );
    assert!(file_of(&gitops, NAME, "artifacts/route/httproute.yaml").is_file());
    assert!(!file_of(&gitops, NAME, INGRESS).exists());
    assert!(
        !has_markers(&read(&gitops, CHART_RELEASE)),
        "markers outside the conflicted file"
    );
}

/// A document appended to a generated file and a whole new file (listed in the
/// artifact's kustomization) are the user's: the upgrade keeps both.
#[test]
fn documents_and_files_the_user_added_are_kept() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    let pdb = "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web-web\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: web-web\n";
    append(&file_of(&gitops, NAME, DEPLOYMENT), pdb);
    let netpol = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web-web\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: web-web\n  ingress:\n    - ports:\n        - port: 9898\n";
    std::fs::write(
        file_of(&gitops, NAME, "artifacts/app/networkpolicy.yaml"),
        netpol,
    )
    .unwrap();
    append(
        &file_of(&gitops, NAME, "artifacts/app/kustomization.yaml"),
        "- networkpolicy.yaml\n",
    );
    commit_all(&env, &gitops, "web: a PDB and a NetworkPolicy");
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.1.0");
    let docs = yaml_docs(&file_of(&gitops, NAME, DEPLOYMENT));
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Deployment", "PodDisruptionBudget"]);
    assert_eq!(
        container(&docs[0])["image"],
        "ghcr.io/stefanprodan/podinfo:6.7.1"
    );
    assert_eq!(docs[1]["spec"]["minAvailable"], 1);
    assert_eq!(
        std::fs::read_to_string(file_of(&gitops, NAME, "artifacts/app/networkpolicy.yaml"))
            .unwrap(),
        netpol,
        "the user's file must be kept byte for byte"
    );
    assert_eq!(
        kustomization_resources(&file_of(&gitops, NAME, "artifacts/app/kustomization.yaml")),
        ["deployment.yaml", "service.yaml", "networkpolicy.yaml"]
    );
    check_installation(&gitops, NAME);
    // Flux reaches the added objects.
    let report = flux_dry_run(&gitops);
    let built = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(file_of(&gitops, NAME, "artifacts/app"))
        .output()
        .unwrap();
    let built = String::from_utf8_lossy(&built.stdout);
    assert!(
        built.contains("kind: NetworkPolicy") && built.contains("kind: PodDisruptionBudget"),
        "{built}\n{report}"
    );
}

/// A new artifact of the target version lands in `artifacts/<id>/` with its
/// wrapper and is listed in the installation's kustomization; an artifact the
/// target version no longer has is deleted and unlisted.
#[test]
fn a_new_artifact_is_written_and_listed_and_a_removed_one_is_deleted() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    assert_eq!(artifact_ids(&gitops, NAME), ["app", "cache", "ingress"]);
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.1.0");
    assert_eq!(artifact_ids(&gitops, NAME), ["app", "cache", "route"]);
    let dir = install_dir(&gitops, NAME);
    for f in [
        "kustomize-flux.yaml",
        "kustomization.yaml",
        "httproute.yaml",
    ] {
        assert!(
            dir.join("artifacts/route").join(f).is_file(),
            "artifacts/route/{f} is missing"
        );
    }
    let listed = kustomization_resources(&dir.join("kustomization.yaml"));
    assert!(
        listed.contains(&"artifacts/route/kustomize-flux.yaml".to_string()),
        "{listed:?}"
    );
    assert!(
        !listed.iter().any(|r| r.contains("ingress")),
        "the removed artifact is still listed: {listed:?}"
    );
    let w = &wrappers(&gitops, NAME)["route"];
    assert_eq!(name_of(w), "web-route");
    assert_eq!(depends_on(w), ["web-app"]);
    let route = yaml_file(&dir.join("artifacts/route/httproute.yaml"));
    assert_eq!(route["kind"], "HTTPRoute");
    assert_eq!(route["spec"]["hostnames"], json!(["webstack.example.com"]));
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "public");
    // The removed artifact is gone from the work tree and from the commit.
    assert!(!dir.join("artifacts/ingress").exists());
    let tree = git(
        &gitops,
        &["ls-tree", "-r", "--name-only", "HEAD", "--", INSTALL_PATH],
    );
    assert!(!tree.contains("artifacts/ingress"), "{tree}");
    check_installation(&gitops, NAME);
    flux_dry_run(&gitops);
}

/// An artifact upstream removed but the user edited is a whole-file conflict: the
/// edited file stays (no markers: there is nothing to mark), exit 3; deleting it
/// accepts the removal and `--continue` commits.
#[test]
fn an_artifact_removed_upstream_but_edited_here_is_a_conflict() {
    let (env, gitops) = installed(upstream(), "1.0.0", &[]);
    edit_ingress(&gitops);
    commit_all(&env, &gitops, "web: internal ingress class");
    let edited = read(&gitops, INGRESS);
    let before = head(&gitops);

    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0"]);
    assert_conflict(&out, &gitops, &before, &[INGRESS]);
    assert_eq!(
        read(&gitops, INGRESS),
        edited,
        "the edited file must stay as the user left it"
    );
    assert!(file_of(&gitops, NAME, "artifacts/route/httproute.yaml").is_file());

    std::fs::remove_file(file_of(&gitops, NAME, INGRESS)).unwrap();
    let out = upgrade(&env, &gitops, &["--continue"]);
    assert_success(&out);
    assert_one_commit(&gitops, &before, "pctl: upgrade web 1.0.0 -> 1.1.0");
    assert!(
        !install_dir(&gitops, NAME)
            .join("artifacts/ingress")
            .exists()
    );
    assert_eq!(artifact_ids(&gitops, NAME), ["app", "cache", "route"]);
    check_installation(&gitops, NAME);
    flux_dry_run(&gitops);
}

/// After an upgrade the record and lock name the new version, its tag and commit,
/// the values of the new version's parameters, and the hash of every file.
#[test]
fn record_and_lock_show_the_new_version_commit_and_file_hashes() {
    let repo = upstream();
    let (env, gitops) = installed(repo, "1.0.0", &[]);
    assert_lock_matches_files(&gitops, NAME, &[]);
    let out = upgrade(&env, &gitops, &[NAME, "--to", "1.1.0"]);
    assert_success(&out);

    let rec = record(&gitops, NAME);
    let src = &rec["spec"]["source"];
    assert_eq!(src["version"], "1.1.0");
    assert_eq!(src["requested"], "1.1.0");
    assert_eq!(src["reference"], "webstack/v1.1.0");
    assert_eq!(src["commit"], repo.rev("webstack/v1.1.0"));
    assert_eq!(src["path"], "webstack");
    assert_eq!(src["url"], repo.url());
    assert_eq!(rec["spec"]["profile"], "webstack");
    // 1.1.0 declares a new parameter; its value is recorded.
    assert_eq!(rec["spec"]["values"]["gateway"]["value"], "public");
    assert_eq!(rec["spec"]["values"]["replicas"]["value"], 2);
    let locked: Vec<&String> = rec["spec"]["files"].as_object().unwrap().keys().collect();
    assert!(locked.iter().any(|f| f.starts_with("artifacts/route/")));
    assert!(!locked.iter().any(|f| f.starts_with("artifacts/ingress/")));
    assert_lock_matches_files(&gitops, NAME, &[]);

    let list = env.list_json(&gitops);
    assert_eq!(list_entry(&list, NAME)["version"], "1.1.0");
    let st = env.pctl(["status", NAME, "--repo", &arg(&gitops), "-o", "json"]);
    assert_success(&st);
    let st: Value = serde_json::from_slice(&st.stdout).unwrap();
    for k in ["added", "removed", "modified"] {
        assert_eq!(
            st["drift"][k],
            json!([]),
            "no drift right after an upgrade: {st}"
        );
    }
}

// ---------------------------------------------------------------------------
// Strategies, --continue, --abort
// ---------------------------------------------------------------------------

/// Commits the three kinds of edit: replicas (no conflict), the memory limit (a
/// field conflict with 1.2.0) and the removed ingress (a whole-file conflict).
fn edit_everything(env: &Env, gitops: &Path) {
    edit(gitops, DEPLOYMENT, "  replicas: 2\n", "  replicas: 5\n");
    edit_memory_limit(gitops);
    edit_ingress(gitops);
    commit_all(env, gitops, "web: tuned by hand");
}
