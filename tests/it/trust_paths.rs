//! Issue 11 items 4–6 (docs/layout.md, docs/security.md#trust-model): where pctl writes and what it reads from
//! upstream are checked before anything is fetched or written. Every bad input ends
//! in exit 1, an `error:` that says why (naming the file, field or flag), and a GitOps
//! repository exactly as it was.

use crate::common::*;
use std::path::{Path, PathBuf};

/// A source that cannot be fetched: an error about it means the check under test
/// did not come first.
const UNFETCHABLE: &str = "file:///nonexistent/pctl-trust-paths//p";

const MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n";

/// A profile repository holding `p/profile.yaml` = `definition` and a manifest, tagged
/// `p/v1.0.0`. Returns the repository.
fn profile_repo(env: &Env, name: &str, definition: &str) -> PathBuf {
    let repo = env.path(name);
    let dir = repo.join("p");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("profile.yaml"), definition).unwrap();
    std::fs::write(dir.join("manifests/cm.yaml"), MANIFEST).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "p 1.0.0"]);
    git(&repo, &["tag", "-a", "p/v1.0.0", "-m", "p 1.0.0"]);
    repo
}

fn definition(artifacts: &str) -> String {
    format!(
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p\nspec:\n  artifacts:\n{artifacts}"
    )
}

/// Commit what changed in `repo` as version 1.1.0 of `p` (`what`: the message);
/// returns its SOURCE.
fn tag_1_1_0(repo: &Path, what: &str) -> String {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", what]);
    git(repo, &["tag", "-a", "p/v1.1.0", "-m", "p 1.1.0"]);
    format!("{}//p@1.1.0", file_url(repo))
}

const GOOD: &str = "    - name: config\n      kustomize: {path: manifests}\n";

/// `pctl ARGS` fails with exit 1, says every needle, and leaves `gitops` as it was.
#[track_caller]
fn refused(env: &Env, gitops: &Path, args: &[&str], needles: &[&str]) -> String {
    let before = snapshot(gitops);
    let out = env.pctl(args);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, needles);
    assert_unchanged(&before, &snapshot(gitops));
    stderr(&out)
}

#[test]
fn bad_install_paths_are_refused_before_anything_is_fetched() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let repo = profile_repo(&env, "upstream", &definition(GOOD));
    let src = format!("{}//p@1.0.0", file_url(&repo));
    assert_success(&env.install(&gitops, &src, "first", &[]));
    std::fs::write(gitops.join(".sourceignore"), ".pctl/\nscratch/\n*.tmp\n").unwrap();
    git(&gitops, &["commit", "-q", "-am", "ignore scratch"]);
    let g = gitops.display().to_string();
    for (path, name, reason) in [
        (".pctl", "x", "inside .pctl/, pctl's own directory"),
        ("./.pctl/sub", "x", "inside .pctl/"),
        (".git", "x", "inside .git"),
        ("apps/.git/x", "x", "inside .git"),
        ("/abs", "x", "\"/abs\" is an absolute path"),
        ("/etc", "x", "is an absolute path"),
        ("../outside", "x", "leaves the repository"),
        ("~/x", "x", "home directory"),
        (
            "clusters/default/profiles/first/artifacts",
            "x",
            "inside the installation at clusters/default/profiles/first",
        ),
        (
            "clusters/default/profiles/first",
            "x",
            "inside the installation at clusters/default/profiles/first",
        ),
        (
            "clusters/default",
            "profiles",
            "would hold the installation at clusters/default/profiles/first",
        ),
        (
            "scratch/apps",
            "x",
            "ignored by .sourceignore (pattern \"scratch/\")",
        ),
        ("apps/x.tmp", "x", "pattern \"*.tmp\""),
    ] {
        let err = refused(
            &env,
            &gitops,
            &[
                "install",
                UNFETCHABLE,
                "--name",
                name,
                "--path",
                path,
                "--repo",
                &g,
            ],
            &["--path", reason, "hint:"],
        );
        assert!(
            !err.contains("nonexistent"),
            "{path}: fetched first:\n{err}"
        );
    }
    // The sync path itself ignored by .sourceignore: Flux would apply nothing.
    std::fs::write(gitops.join(".sourceignore"), ".pctl/\nclusters/\n").unwrap();
    git(&gitops, &["commit", "-q", "-am", "ignore every cluster"]);
    refused(
        &env,
        &gitops,
        &["install", UNFETCHABLE, "--name", "x", "--repo", &g],
        &["syncPath clusters/default is ignored by .sourceignore (pattern \"clusters/\")"],
    );
    std::fs::write(gitops.join(".sourceignore"), ".pctl/\nscratch/\n*.tmp\n").unwrap();
    git(&gitops, &["commit", "-q", "-am", "ignore scratch again"]);
    // A long directory name is refused as such, not by the file system.
    let long = "d".repeat(300);
    refused(
        &env,
        &gitops,
        &[
            "install",
            UNFETCHABLE,
            "--name",
            "x",
            "--path",
            &long,
            "--repo",
            &g,
        ],
        &["300 bytes long, over the limit of 255"],
    );
    // render places its output by the same rule.
    let out = env.pctl(["render", &src, "--name", "x", "--install-path", "/etc"]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["--install-path \"/etc\" is an absolute path"]);
    // And a good --path still works.
    assert_success(&env.install(
        &gitops,
        &src,
        "second",
        &["--path", "./apps/team-a/", "--namespace", "team-a"],
    ));
    assert!(
        gitops
            .join("apps/team-a/second/profile-installation.yaml")
            .is_file()
    );
}

#[test]
fn bad_gitops_configs_are_refused_naming_the_file_and_field() {
    let env = Env::new();
    let good = std::fs::read_to_string(env.init_gitops("probe").join(".pctl/config.yaml")).unwrap();
    assert!(good.contains("namespace: flux-system"), "{good}");
    for (i, (edit, needles)) in [
        (
            good.replace("namespace: flux-system", "namespace: Bad_NS!"),
            vec![
                ".pctl/config.yaml:",
                "gitRepository.namespace \"Bad_NS!\" is not a DNS-1123 label",
            ],
        ),
        (
            good.replace("  name: flux-system", "  name: \"a b\""),
            vec![
                ".pctl/config.yaml:",
                "gitRepository.name \"a b\" is not a DNS-1123 name",
            ],
        ),
        (
            good.replace(
                "installPath: clusters/default/profiles",
                "installPath: /etc",
            ),
            vec![
                ".pctl/config.yaml:",
                "installPath \"/etc\" is an absolute path",
            ],
        ),
        (
            good.replace(
                "installPath: clusters/default/profiles",
                "installPath: .pctl/x",
            ),
            vec!["installPath", "inside .pctl/"],
        ),
        (
            good.replace("syncPath: clusters/default", "syncPath: ../up"),
            vec!["syncPath", "leaves the repository"],
        ),
        (
            good.replace("installPath:", "instalPath:"),
            vec![
                ".pctl/config.yaml:",
                "unknown field `instalPath`",
                "did you mean `installPath`?",
            ],
        ),
        (
            format!("{good}forge: {{type: gitlab, apiUrl: https://x}}\n"),
            vec!["unknown field `forge.apiUrl`", "did you mean `apiURL`?"],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let gitops = env.init_gitops(&format!("gitops-{i}"));
        std::fs::write(gitops.join(".pctl/config.yaml"), &edit).unwrap();
        git(&gitops, &["commit", "-q", "-am", "edit config"]);
        let g = gitops.display().to_string();
        let err = refused(
            &env,
            &gitops,
            &["install", UNFETCHABLE, "--name", "x", "--repo", &g],
            &needles,
        );
        assert!(!err.contains("nonexistent"), "fetched first:\n{err}");
        // The line is the field's line.
        if let Some(l) = edit.lines().position(|l| {
            ["Bad_NS!", "/etc", "instalPath", "a b"]
                .iter()
                .any(|w| l.contains(w))
        }) {
            let at = format!(".pctl/config.yaml:{}:", l + 1);
            assert!(err.contains(&at), "not at {at}:\n{err}");
        }
    }
    // pctl init refuses the same paths from its flags, and creates nothing.
    for (flag, value, reason) in [
        ("--install-path", "/etc", "is an absolute path"),
        ("--sync-path", ".git/x", "inside .git"),
        ("--install-path", ".pctl", "inside .pctl/"),
    ] {
        let dir = env.path(&format!("init-{}", value.replace('/', "_")));
        let out = env.pctl([
            "init".as_ref(),
            dir.as_os_str(),
            flag.as_ref(),
            value.as_ref(),
        ]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[flag, reason]);
        assert!(
            !dir.join(".pctl").exists(),
            "{flag} {value}: init wrote a config"
        );
    }
}

#[test]
fn chart_sources_lint_refuses_are_refused_by_install_render_and_upgrade() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    for (i, (chart, reason)) in [
        (
            "{url: 'file:///etc', name: passwd, version: 1.0.0}",
            "chart url \"file:///etc\" uses the file:// scheme",
        ),
        (
            "{url: 'ftp://charts.example.com', name: c, version: 1.0.0}",
            "uses the ftp:// scheme",
        ),
        (
            "{url: https://charts.example.com, name: c, version: '$(rm -rf ~)'}",
            "chart version \"$(rm -rf ~)\" is neither a version nor a semver range",
        ),
        (
            "{url: https://charts.example.com, name: c, version: latest}",
            "neither a version nor a semver range",
        ),
        (
            "{url: https://charts.example.com, name: '--post-renderer=/bin/sh', version: 1.0.0}",
            "chart name \"--post-renderer=/bin/sh\" is not a Helm chart name",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let def = definition(&format!("    - name: chart\n      chart: {chart}\n"));
        let repo = profile_repo(&env, &format!("up-{i}"), &def);
        let src = format!("{}//p@1.0.0", file_url(&repo));
        refused(
            &env,
            &gitops,
            &["install", &src, "--name", "x", "--repo", &g],
            &[reason, "hint:"],
        );
        let out = env.pctl(["render", &src, "--name", "x"]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[reason]);
        // lint says the same, from the same rule.
        let out = env.pctl(["lint".as_ref(), repo.join("p").as_os_str()]);
        assert_exit(&out, 1);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains(reason), "lint:\n{text}");
    }
    // upgrade reads the new version through the same rules.
    let repo = profile_repo(&env, "up-ok", &definition(GOOD));
    let src = format!("{}//p@^1.0", file_url(&repo));
    assert_success(&env.install(&gitops, &src, "app", &[]));
    let bad = definition(
        "    - name: chart\n      chart: {url: 'file:///etc', name: passwd, version: 1.0.0}\n",
    );
    std::fs::write(repo.join("p/profile.yaml"), bad).unwrap();
    git(&repo, &["commit", "-q", "-am", "p 1.1.0"]);
    git(&repo, &["tag", "-a", "p/v1.1.0", "-m", "p 1.1.0"]);
    refused(
        &env,
        &gitops,
        &["upgrade", "app", "--repo", &g],
        &["uses the file:// scheme"],
    );
    // http:// is accepted, with a warning.
    let def = definition(
        "    - name: chart\n      chart: {url: 'http://museum.charts.svc:8080', name: c, version: 1.x}\n",
    );
    let repo = profile_repo(&env, "up-http", &def);
    let out = env.install(
        &gitops,
        &format!("{}//p@1.0.0", file_url(&repo)),
        "plain",
        &[],
    );
    assert_success(&out);
    assert_stderr_mentions(&out, &["warning", "plain http://", "unencrypted"]);
}

#[test]
fn long_artifact_names_and_paths_are_refused_when_profile_yaml_is_read() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let long = "a".repeat(300);
    for (i, (artifacts, reason)) in [
        (
            format!("    - name: {long}\n      kustomize: {{path: manifests}}\n"),
            "is 300 characters long, over the limit of 63",
        ),
        (
            format!("    - name: config\n      kustomize: {{path: manifests/{long}}}\n"),
            "kustomize.path: the name",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let repo = profile_repo(&env, &format!("up-{i}"), &definition(&artifacts));
        let err = refused(
            &env,
            &gitops,
            &[
                "install",
                &format!("{}//p@1.0.0", file_url(&repo)),
                "--name",
                "x",
                "--repo",
                &g,
            ],
            &[reason, "profile.yaml"],
        );
        assert!(!err.contains("disk space"), "{err}");
    }
}

#[test]
fn yaml_errors_speak_of_the_users_file_not_of_the_library() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    for (i, (text, reason)) in [
        (
            definition(GOOD).replace("  name: p\n", "  name: p\n  name: q\n"),
            "line 5 column 3: the key `name` appears twice in the same mapping",
        ),
        (
            format!("{}---\nkind: Other\n", definition(GOOD)),
            "more than one YAML document",
        ),
        (
            definition("    - name: ~\n      kustomize: {path: manifests}\n"),
            "line 7 column 13: a value is missing (null or `~`) where text is expected",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let repo = profile_repo(&env, &format!("up-{i}"), &text);
        let err = refused(
            &env,
            &gitops,
            &[
                "install",
                &format!("{}//p@1.0.0", file_url(&repo)),
                "--name",
                "x",
                "--repo",
                &g,
            ],
            &[reason, "profile.yaml"],
        );
        for advice in [
            "Option<",
            "DuplicateKeyPolicy",
            "from_str_multiple",
            "Options",
        ] {
            assert!(!err.contains(advice), "library advice {advice:?}:\n{err}");
        }
    }
}

#[test]
fn sources_are_printed_escaped_and_an_empty_ref_is_refused() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let repo = profile_repo(&env, "upstream", &definition(GOOD));
    for src in [
        format!("{}//p@", file_url(&repo)),
        "weaveworks/nginx@".to_string(),
    ] {
        refused(
            &env,
            &gitops,
            &["install", &src, "--name", "x", "--repo", &g],
            &["empty `@` reference"],
        );
    }
    let hostile = "org/x\n\u{1b}[2Kerror: fake\r y";
    let err = refused(
        &env,
        &gitops,
        &["install", hostile, "--name", "x", "--repo", &g],
        &["control character", "\\n\\u{1b}[2Kerror: fake\\r y"],
    );
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    assert!(
        !err.lines().any(|l| l.starts_with("error: fake")),
        "a SOURCE forged a line:\n{err}"
    );
}

#[test]
fn libgit2_codes_do_not_reach_the_user() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let err = refused(
        &env,
        &gitops,
        &["install", UNFETCHABLE, "--name", "x", "--repo", &g],
        &["/nonexistent/pctl-trust-paths", "no such file or directory"],
    );
    assert!(!err.contains("class=") && !err.contains("code="), "{err}");
}

// ------------------------------------------------------------------ import streams

/// Runs `pctl ARGS` and returns its output and peak resident set size in bytes
/// (measured by GNU time: see `run_measured`).
fn pctl_with_peak_rss(env: &Env, args: &[&str]) -> (std::process::Output, u64) {
    let (out, kib) = run_measured(env.command(args), std::time::Duration::from_secs(300));
    (out, kib * 1024)
}

/// A ustar header for `path` claiming `size` bytes.
fn header(path: &str, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size);
    h.set_path(path).unwrap();
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// One gzip member of `bytes`.
fn member(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const MAX_RSS: u64 = 100 << 20;

#[test]
fn huge_import_entries_are_refused_from_their_header_in_bounded_memory() {
    let env = Env::new();
    // A header claiming 2 GiB and a truncated body.
    let mut tar = header("b/big.bin", 2 << 30);
    tar.extend_from_slice(&[0u8; 4096]);
    let file = env.path("claims-2gib.tar.gz");
    std::fs::write(&file, member(&tar)).unwrap();
    let dir = env.path("imported");
    let before = walk(&env.root);
    let (out, rss) = pctl_with_peak_rss(
        &env,
        &[
            "import",
            &file.display().to_string(),
            &dir.display().to_string(),
        ],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["entry \"b/big.bin\" is 2 GiB, over the limit of 256 MiB per file"],
    );
    assert!(!stderr(&out).contains("unexpected EOF"), "{}", stderr(&out));
    assert!(rss < MAX_RSS, "peak RSS {} MiB", rss >> 20);
    assert!(!dir.exists());
    let after = walk(&env.root);
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(new.is_empty(), "import wrote {new:?}");
}

#[test]
fn a_large_zero_filled_import_is_streamed_in_bounded_memory() {
    // 200 MiB of zeros, under the per-file limit, generated lazily: one gzip member of
    // 1 MiB of zeros repeated (a gzip file may hold many members). Without the
    // manifest the import is refused, after the stream went through.
    let env = Env::new();
    let mib = 200u64;
    let file = env.path("zeros.tar.gz");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        f.write_all(&member(&header("b/zeros.bin", mib << 20)))
            .unwrap();
        let zeros = member(&vec![0u8; 1 << 20]);
        for _ in 0..mib {
            f.write_all(&zeros).unwrap();
        }
        f.write_all(&member(&[0u8; 1024])).unwrap();
    }
    assert!(std::fs::metadata(&file).unwrap().len() < 2 << 20);
    let dir = env.path("imported");
    let before = walk(&env.root);
    let (out, rss) = pctl_with_peak_rss(
        &env,
        &[
            "import",
            &file.display().to_string(),
            &dir.display().to_string(),
        ],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["b/pctl-export.yaml is missing"]);
    assert!(rss < MAX_RSS, "peak RSS {} MiB", rss >> 20);
    assert!(!dir.exists());
    let after = walk(&env.root);
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(new.is_empty(), "import wrote {new:?}");
}

/// A profile served by a Git server names a nested profile by a path on the
/// installing user's machine (`file://…`, an absolute path): pctl must not read
/// that repository into the GitOps commit. A profile from a local repository may
/// still nest local ones (tested throughout the suite with file:// sources).
#[test]
fn a_remote_profile_cannot_nest_a_repository_on_this_machine() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    // The "private" repository on the user's machine that the attacker guesses.
    let private = profile_repo(&env, "private", &definition(GOOD));
    let root = env.path("srv");
    std::fs::create_dir_all(&root).unwrap();
    for (i, nested_url) in [file_url(&private), private.display().to_string()]
        .into_iter()
        .enumerate()
    {
        let name = format!("evil{i}");
        let evil = profile_repo(
            &env,
            &name,
            &definition(&format!(
                "    - name: loot\n      profile:\n        source: {{url: '{nested_url}', tag: p/v1.0.0, path: p}}\n"
            )),
        );
        git(
            &root,
            &[
                "clone",
                "-q",
                "--bare",
                &evil.display().to_string(),
                &format!("{name}.git"),
            ],
        );
    }
    let server = git_daemon(&root);
    for (i, shown) in [file_url(&private), private.display().to_string()]
        .into_iter()
        .enumerate()
    {
        let src = format!("{}//p@1.0.0", server.url(&format!("evil{i}.git")));
        let g = gitops.display().to_string();
        let err = refused(
            &env,
            &gitops,
            &["install", &src, "--name", "x", "--repo", &g],
            &[
                &format!("names a nested profile at \"{shown}\", a path on this machine"),
                "may not read this machine's files",
                "hint: nested profiles of a remote profile come from https://, ssh:// or git:// URLs",
            ],
        );
        assert!(!err.contains("ConfigMap"), "{err}");
    }
    // The same nesting from the local repository itself is the user's own choice.
    let local_parent = profile_repo(
        &env,
        "mine",
        &definition(&format!(
            "    - name: loot\n      profile:\n        source: {{url: '{}', tag: p/v1.0.0, path: p}}\n",
            file_url(&private)
        )),
    );
    let src = format!("{}//p@1.0.0", file_url(&local_parent));
    assert_success(&env.install(&gitops, &src, "mine", &[]));
}

/// A profile's own Flux Kustomization (or HelmRelease) whose source is the GitOps
/// repository's GitRepository is built by Flux from that repository: `path:
/// ./team-b/secrets` would apply another team's objects with the profile's settings,
/// as a kustomization's `../../team-b` would. pctl refuses any such path outside the
/// installation's directory when it renders (install, render and lint), and nothing
/// is written; a path inside it is the profile's own and installs.
#[test]
fn a_profile_flux_object_cannot_read_the_gitops_repository_outside_its_installation() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let source = "sourceRef: {kind: GitRepository, name: flux-system}";
    for (i, (file, reason)) in [
        (
            format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: steal, namespace: flux-system}}\nspec:\n  interval: 10m\n  prune: false\n  targetNamespace: loot\n  path: ./team-b/secrets\n  {source}\n"),
            "artifact \"config\": steal.yaml: Kustomization \"steal\" reads `path` \"./team-b/secrets\" from the GitOps repository (GitRepository flux-system/flux-system): team-b/secrets, outside the installation's directory clusters/default/profiles/x0",
        ),
        (
            format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: all, namespace: flux-system}}\nspec:\n  interval: 10m\n  prune: false\n  path: ./\n  {source}\n"),
            "Kustomization \"all\" reads `path` \"./\" from the GitOps repository (GitRepository flux-system/flux-system): the repository's root",
        ),
        (
            format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: h, namespace: flux-system}}\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ./team-b/chart\n      {source}\n"),
            "HelmRelease \"h\" reads `chart` \"./team-b/chart\" from the GitOps repository",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let repo = profile_repo(&env, &format!("up{i}"), &definition(GOOD));
        std::fs::write(repo.join("p/manifests/steal.yaml"), &file).unwrap();
        let src = tag_1_1_0(&repo, "flux object");
        refused(
            &env,
            &gitops,
            &["install", &src, "--name", &format!("x{i}"), "--repo", &g],
            &[
                reason,
                "hint: a profile's Flux objects may read only the installation's own files from the GitOps repository",
            ],
        );
        let out = env.pctl(["render", &src]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["from the GitOps repository (GitRepository flux-system/flux-system)"]);
        let out = env.pctl(["lint", &repo.join("p").display().to_string()]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(
            stdout(&out).contains("from the GitOps repository (GitRepository flux-system/flux-system)"),
            "{}",
            describe(&out)
        );
    }
    // A patch in the profile's kustomization could rewrite a Flux object's source in
    // kustomize's build, which pctl does not follow: refused while both are there.
    let repo = profile_repo(&env, "patching", &definition(GOOD));
    let m = repo.join("p/manifests");
    std::fs::write(
        m.join("flux.yaml"),
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: harmless, namespace: flux-system}\nspec:\n  interval: 10m\n  prune: false\n  path: ./deploy\n  sourceRef: {kind: GitRepository, name: own-source}\n",
    )
    .unwrap();
    std::fs::write(
        m.join("kustomization.yaml"),
        "resources: [cm.yaml, flux.yaml]\npatches:\n- target: {kind: Kustomization, name: harmless}\n  patch: |\n    - {op: replace, path: /spec/sourceRef/name, value: flux-system}\n    - {op: replace, path: /spec/path, value: ./team-b/secrets}\n",
    )
    .unwrap();
    let src = tag_1_1_0(&repo, "patched flux object");
    refused(
        &env,
        &gitops,
        &["install", &src, "--name", "patching", "--repo", &g],
        &[
            "artifact \"config\": flux.yaml: Kustomization \"harmless\" is a Flux object that reads a source, and kustomization.yaml: `patches` may rewrite objects",
            "hint: set what the Flux object needs in the object itself",
        ],
    );
    // The profile's own directory, found through `install.path`: installed, and the
    // tree passes the check Flux's walk makes.
    let repo = profile_repo(
        &env,
        "own",
        &definition(
            "    - name: config\n      kustomize: {path: manifests}\n      template: true\n",
        ),
    );
    let m = repo.join("p/manifests");
    std::fs::write(
        m.join("kustomization.yaml"),
        "resources: [cm.yaml, inner.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        m.join("inner.yaml"),
        format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: inner\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n  path: ./{{{{ install.path }}}}/artifacts/config/inner\n  {source}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(m.join("inner")).unwrap();
    std::fs::write(
        m.join("inner/kustomization.yaml"),
        "resources: [cm2.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        m.join("inner/cm2.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inner-settings}\ndata: {a: b}\n",
    )
    .unwrap();
    let src = tag_1_1_0(&repo, "own flux object");
    assert_success(&env.install(&gitops, &src, "own", &[]));
    let inner = std::fs::read_to_string(
        gitops.join("clusters/default/profiles/own/artifacts/config/inner.yaml"),
    )
    .unwrap();
    assert!(
        inner.contains("path: ./clusters/default/profiles/own/artifacts/config/inner"),
        "{inner}"
    );
    let out = env.pctl(["check", "--repo", &g]);
    assert_success(&out);
}

/// A profile's own kustomization.yaml is applied by Flux from inside the GitOps
/// repository: `resources: [../../../../team-b/secrets]` would pull another team's
/// Secrets into this installation's build (and move them into its namespace), and a
/// remote base would be fetched at apply time, unpinned. pctl refuses both when it
/// renders, so install, render and lint all say why, and nothing is written.
#[test]
fn a_profile_kustomization_cannot_reach_out_of_its_artifact() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    std::fs::create_dir_all(gitops.join("team-b/secrets")).unwrap();
    std::fs::write(
        gitops.join("team-b/secrets/kustomization.yaml"),
        "resources: [s.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        gitops.join("team-b/secrets/s.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: team-b}\nstringData: {pw: x}\n",
    )
    .unwrap();
    git(&gitops, &["add", "-A"]);
    git(&gitops, &["commit", "-q", "-m", "team b"]);
    let g = gitops.display().to_string();
    for (i, (kustomization, reason)) in [
        (
            "resources: [cm.yaml, ../../../../../../team-b/secrets]\n",
            "artifact \"config\": kustomization.yaml: `resources` entry \"../../../../../../team-b/secrets\" leaves the artifact's directory",
        ),
        (
            "resources: [cm.yaml, 'https://github.com/evil/x//base?ref=main']\n",
            "is a remote base, which Flux would fetch from the network when it applies",
        ),
        (
            "resources: [cm.yaml]\nsecretGenerator:\n- name: k\n  files: [id=../../../../../../.ssh/id_rsa]\n",
            "`secretGenerator.files` entry \"../../../../../../.ssh/id_rsa\" leaves the artifact's directory",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let repo = profile_repo(&env, &format!("up{i}"), &definition(GOOD));
        std::fs::write(repo.join("p/manifests/kustomization.yaml"), kustomization).unwrap();
        let src = tag_1_1_0(&repo, "k");
        refused(
            &env,
            &gitops,
            &["install", &src, "--name", &format!("x{i}"), "--repo", &g],
            &[reason, "hint: a profile's kustomization may name only files and directories inside its artifact"],
        );
        let out = env.pctl(["render", &src]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[reason]);
        // Lint lists its findings on stdout, each at the artifact's line.
        let out = env.pctl(["lint", &repo.join("p").display().to_string()]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(stdout(&out).contains(reason), "{}", describe(&out));
    }
}
