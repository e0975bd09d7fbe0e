//! `pctl render SOURCE -o DIR`: the installation's files written into a directory —
//! exactly the tree install commits under <installPath>/<NAME>/ — never outside it,
//! and never over a directory pctl did not render.

use crate::common::*;
use std::path::Path;

fn render_to(env: &Env, source: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "render".to_string(),
        source.to_string(),
        "-o".into(),
        dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    env.pctl(&args)
}

#[test]
fn render_o_writes_exactly_what_install_commits() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let src = repo.source("webapp", Some("webapp/v1.1.0"));
    let out_dir = env.path("out/webapp");
    let out = render_to(&env, &src, &out_dir, &["--set", "domain=example.com"]);
    assert_success(&out);
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    assert_stderr_mentions(
        &out,
        &["installation webapp", "clusters/default/profiles/webapp"],
    );
    let rendered = tree_files(&out_dir);
    assert!(rendered.contains_key("profile-installation.yaml"));
    assert!(rendered.contains_key("artifacts/frontend/helm-release.yaml"));
    assert!(rendered.contains_key("artifacts/cache-valkey/kustomize-flux.yaml"));
    // The same tree as an installation of the same version with the same values.
    let gitops = env.init_gitops("gitops");
    assert_success(&env.install(&gitops, &src, "webapp", &["--set", "domain=example.com"]));
    let installed = tree_files(&install_dir(&gitops, "webapp"));
    assert_eq!(rendered, installed);
    flux_dry_run(&gitops);
    // Nothing but DIR was created beside it (no temporary directories left).
    let beside: Vec<String> = std::fs::read_dir(env.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, vec!["webapp".to_string()]);
}

#[test]
fn an_earlier_output_is_replaced_and_files_it_no_longer_has_go() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let out_dir = env.path("out");
    let v11 = repo.source("webapp", Some("webapp/v1.1.0"));
    let v10 = repo.source("webapp", Some("webapp/v1.0.0"));
    assert_success(&render_to(
        &env,
        &v11,
        &out_dir,
        &["--set", "domain=example.com"],
    ));
    assert!(out_dir.join("artifacts/pdb/pdb.yaml").is_file());
    // Rendering again (another version) replaces it: 1.0.0 has no pdb artifact.
    assert_success(&render_to(
        &env,
        &v10,
        &out_dir,
        &["--set", "domain=example.com"],
    ));
    assert!(!out_dir.join("artifacts/pdb").exists());
    assert!(
        out_dir
            .join("artifacts/frontend/helm-release.yaml")
            .is_file()
    );
    // An empty directory is fine too.
    let empty = env.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_success(&render_to(
        &env,
        &v10,
        &empty,
        &["--set", "domain=example.com"],
    ));
}

#[test]
fn a_directory_pctl_did_not_render_or_an_edited_output_is_refused() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let src = repo.source("webapp", Some("webapp/v1.1.0"));
    let set = ["--set", "domain=example.com"];

    // Someone else's files.
    let theirs = env.path("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine\n").unwrap();
    let before = walk(&theirs);
    let out = render_to(&env, &src, &theirs, &set);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["is not empty", "not the output of pctl render -o"]);
    assert_eq!(walk(&theirs), before);

    // An earlier output with an edit and an extra file.
    let out_dir = env.path("out");
    assert_success(&render_to(&env, &src, &out_dir, &set));
    let hr = out_dir.join("artifacts/frontend/helm-release.yaml");
    std::fs::write(&hr, "edited: true\n").unwrap();
    std::fs::write(out_dir.join("artifacts/extra.yaml"), "x: 1\n").unwrap();
    let before = walk(&out_dir);
    let out = render_to(&env, &src, &out_dir, &set);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "artifacts/frontend/helm-release.yaml was edited",
            "artifacts/extra.yaml is not a rendered file",
        ],
    );
    assert_eq!(walk(&out_dir), before);

    // A file, and a symbolic link.
    let file = env.path("file");
    std::fs::write(&file, "x\n").unwrap();
    let out = render_to(&env, &src, &file, &set);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["is not a directory"]);
    let target = env.path("target");
    std::fs::create_dir_all(&target).unwrap();
    let link = env.path("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = render_to(&env, &src, &link, &set);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["symbolic link"]);
    assert!(walk(&target).is_empty());

    // A rendering error writes nothing.
    let none = env.path("none");
    let out = render_to(&env, &src, &none, &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["domain"]);
    assert!(!none.exists());
    let leftovers: Vec<String> = std::fs::read_dir(&env.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".pctl-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // -o and --explain do not go together.
    let out = env.pctl(["render", &src, "--explain", "-o", "x"]);
    assert_exit(&out, 1);
}

#[test]
fn render_without_o_still_prints_manifests() {
    let repo = shared_repo("authoring");
    let env = Env::new();
    let out = env.pctl([
        "render",
        &repo.source("webapp", None),
        "--set",
        "domain=example.com",
    ]);
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("# Source: artifacts/frontend/helm-release.yaml"),
        "{text}"
    );
    assert!(walk(&env.work).is_empty());
}
