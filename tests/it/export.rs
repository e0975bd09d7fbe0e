//! `pctl export` / `pctl import` (docs/guide.md): a profile version with nested profiles
//! from another repository, bundled deterministically, imported into a new repository
//! and installed offline, renders byte for byte what the original does; unsafe or
//! broken bundles and unknown sources are refused with nothing written.

use crate::common::*;
use std::path::Path;
use std::process::Output;

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// `pctl export SOURCE -o FILE`, asserted to succeed.
fn export(env: &Env, source: &str, file: &Path) -> Output {
    let out = env.pctl(["export", source, "-o", &arg(file)]);
    assert_success(&out);
    out
}

/// The installation's files, the record parsed apart with its source fields removed.
fn installation(gitops: &Path, name: &str) -> (Vec<(String, Vec<u8>)>, Value) {
    let dir = install_dir(gitops, name);
    let mut files = Vec::new();
    let mut record = Value::Null;
    for (rel, bytes) in tree_files(&dir) {
        if rel == "profile-installation.yaml" {
            let mut r = yaml_file(&dir.join(&rel));
            let spec = r["spec"].as_object_mut().unwrap();
            spec.remove("source");
            for n in spec
                .get_mut("nested")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                n.as_object_mut().unwrap().remove("source");
            }
            record = r;
        } else {
            files.push((rel, bytes));
        }
    }
    (files, record)
}

#[test]
fn an_exported_and_imported_profile_installs_offline_exactly_as_the_original() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let addons = shared_repo("addons");
    env.map_addons(addons);
    let source = platform.source("edge-stack", Some("1.1.0"));

    // Exporting twice gives the same bytes.
    let a = env.root.join("edge-a.tar.gz");
    let b = env.root.join("edge-b.tar.gz");
    let out = export(&env, &source, &a);
    export(&env, &source, &b);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "two exports differ");
    let listed = stdout(&out);
    for p in ["edge-stack", "gateway", "external-dns"] {
        assert!(listed.contains(p), "{listed}");
    }

    // Import it, with pinned dates: the same bundle gives the same repository.
    env.set_var("GIT_AUTHOR_DATE", "1767225600 +0000");
    env.set_var("GIT_COMMITTER_DATE", "1767225600 +0000");
    let imported = env.root.join("imported");
    let out = env.pctl(["import", &arg(&a), &arg(&imported)]);
    assert_success(&out);
    let again = env.root.join("imported-again");
    assert_success(&env.pctl(["import", &arg(&b), &arg(&again)]));
    assert_eq!(head(&imported), head(&again));
    assert!(is_clean(&imported));
    assert_eq!(commit_count(&imported), 1);
    let mut tags = git(&imported, &["tag", "--list"])
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    tags.sort();
    assert_eq!(
        tags,
        [
            "edge-stack/v1.1.0",
            "gateway/v0.1.1",
            "vendor/addons/external-dns/v0.15.0"
        ]
    );
    // The tags keep the changelogs.
    let msg = git(
        &imported,
        &["tag", "-l", "--format=%(contents)", "gateway/v0.1.1"],
    );
    assert!(msg.contains("Traefik 29.0.1"), "{msg}");
    // Nested profiles now come from the same repository.
    let gateway = std::fs::read_to_string(imported.join("gateway/profile.yaml")).unwrap();
    assert!(
        !gateway.contains("git.example.com") && gateway.contains("vendor/addons/external-dns"),
        "{gateway}"
    );
    let manifest = yaml_file(&imported.join("pctl-export.yaml"));
    let urls: Vec<&str> = manifest["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"]["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&ADDONS_URL), "{urls:?}");
    assert_eq!(
        manifest["profiles"][2]["source"]["commit"],
        addons.rev("external-dns/v0.15.0")
    );

    // Install from the imported copy (offline) and from the original, same name and
    // values, into two GitOps repositories.
    let from_import = env.init_gitops("from-import");
    let out = env.pctl_in(
        &env.root,
        [
            "install",
            "./imported/edge-stack",
            "--name",
            "edge",
            "--repo",
            &arg(&from_import),
            "--offline",
        ],
    );
    assert_success(&out);
    let from_original = env.init_gitops("from-original");
    assert_success(&env.install(&from_original, &source, "edge", &[]));
    let (fa, ra) = installation(&from_import, "edge");
    let (fb, rb) = installation(&from_original, "edge");
    assert_eq!(
        fa.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        fb.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((p, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{p} differs between the imported and the original install"
        );
    }
    assert_eq!(ra, rb, "the records differ beyond their sources");
    let record = yaml_file(&install_dir(&from_import, "edge").join("profile-installation.yaml"));
    assert_eq!(record["spec"]["source"]["version"], "1.1.0");
    flux_dry_run(&from_import);

    // The URL form works too: DIR-url//path@version.
    let out = env.pctl([
        "render",
        &source_url(&file_url(&imported), "edge-stack", Some("1.1.0")),
        "--name",
        "edge",
    ]);
    assert_success(&out);
    let original = env.pctl(["render", &source, "--name", "edge"]);
    assert_success(&original);
    assert_eq!(stdout(&out), stdout(&original));
}

#[test]
fn a_profile_at_the_repository_root_exports_and_imports() {
    let env = Env::new();
    let standalone = shared_repo("standalone");
    let file = env.root.join("redis.tar.gz");
    export(&env, &standalone.source("", Some("1.1.0")), &file);
    let dir = env.root.join("redis");
    assert_success(&env.pctl(["import", &arg(&file), &arg(&dir)]));
    assert_eq!(git(&dir, &["tag", "--list"]), "v1.1.0");
    assert!(dir.join("profile.yaml").is_file());
    let out = env.pctl([
        "render",
        &source_url(&file_url(&dir), "", Some("1.1.0")),
        "--name",
        "r",
    ]);
    assert_success(&out);
    let original = env.pctl([
        "render",
        &standalone.source("", Some("1.1.0")),
        "--name",
        "r",
    ]);
    assert_eq!(stdout(&out), stdout(&original));
}

/// A .tar.gz with raw header names (so that unsafe ones get through the writer).
fn hand_made_tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut t = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        t.append(&h, *data).unwrap();
    }
    t.into_inner().unwrap().finish().unwrap()
}

/// A failing import: exit 1, an error with a hint, and DIR not created, nothing
/// written outside it.
#[track_caller]
fn assert_import_refused(env: &Env, bundle: &[u8], needle: &str) {
    let file = env.root.join("bad.tar.gz");
    std::fs::write(&file, bundle).unwrap();
    let before = walk(&env.root);
    let dir = env.root.join("victim/repo");
    let out = env.pctl(["import", &arg(&file), &arg(&dir)]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &[needle, "hint:"]);
    assert!(!dir.exists(), "{} was created", dir.display());
    let after = walk(&env.root);
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(new.is_empty(), "import wrote {new:?}");
}

#[test]
fn unsafe_and_broken_bundles_are_refused_and_nothing_is_written() {
    use tar::EntryType::{Regular, Symlink};
    let env = Env::new();
    let manifest = b"apiVersion: pctl.dev/v1alpha1\nkind: ProfileExport\nname: x\nroot: x\nprofiles: []\ngeneratedBy: test\n";
    let ok = ("b/pctl-export.yaml", Regular, "", &manifest[..]);
    assert_import_refused(
        &env,
        &hand_made_tar(&[ok, ("b/../../escaped.txt", Regular, "", b"pwned")]),
        "`..`",
    );
    assert_import_refused(
        &env,
        &hand_made_tar(&[ok, ("/tmp/pctl-absolute.txt", Regular, "", b"pwned")]),
        "absolute",
    );
    assert_import_refused(
        &env,
        &hand_made_tar(&[ok, ("b/link", Symlink, "../../../etc", b"")]),
        "link",
    );
    assert_import_refused(
        &env,
        &hand_made_tar(&[ok, ("other/x.yaml", Regular, "", b"a: 1\n")]),
        "outside the bundle",
    );
    assert_import_refused(
        &env,
        &hand_made_tar(&[
            ok,
            ("b/.git/hooks/post-checkout", Regular, "", b"#!/bin/sh\n"),
        ]),
        ".git",
    );
    assert_import_refused(&env, b"this is not a tarball", "not a");
    assert_import_refused(
        &env,
        &hand_made_tar(&[("b/profile.yaml", Regular, "", b"a: 1\n")]),
        "pctl-export.yaml is missing",
    );
    // A manifest naming a profile that is not there.
    let listed = b"apiVersion: pctl.dev/v1alpha1\nkind: ProfileExport\nname: x\nroot: x\nprofiles:\n  - path: x\n    name: x\n    artifacts: ['']\n    source: {url: 'file:///x', path: x}\ngeneratedBy: test\n";
    assert_import_refused(
        &env,
        &hand_made_tar(&[("b/pctl-export.yaml", Regular, "", &listed[..])]),
        "missing",
    );
    // A missing bundle file.
    let out = env.pctl([
        "import",
        &arg(&env.root.join("nope.tar.gz")),
        &arg(&env.root.join("r")),
    ]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["cannot read", "hint:"]);
    assert!(!env.root.join("r").exists());
}

#[test]
fn import_refuses_a_non_empty_directory_and_export_an_unknown_source() {
    let env = Env::new();
    let platform = shared_repo("platform");
    let file = env.root.join("nginx.tar.gz");
    export(&env, &platform.source("nginx", Some("1.0.0")), &file);
    let dir = env.root.join("taken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mine.txt"), "mine\n").unwrap();
    let out = env.pctl(["import", &arg(&file), &arg(&dir)]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not empty", "hint:"]);
    assert_eq!(tree_files(&dir).len(), 1);

    for source in [
        "./no-such-profile".to_string(),
        platform.source("no-such-dir", Some("main")),
        platform.source("nginx", Some("9.9.9")),
    ] {
        let out_file = env.root.join("unknown.tar.gz");
        let out = env.pctl(["export", &source, "-o", &arg(&out_file)]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["hint:"]);
        assert!(!out_file.exists(), "{source}: a bundle was written");
    }
    let out = env.pctl([
        "export",
        &platform.source("nginx", Some("1.0.0")),
        "-o",
        &arg(&env.root),
    ]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["is a directory"]);
}
