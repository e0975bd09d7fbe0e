//! Hostile inputs (issue 7): each one is run through the real binary with a time
//! limit (a hang guard, not a speed target) and its peak memory measured, and must
//! end in a clear error or a correct result, never a crash, a hang or a runaway.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Peak RSS allowed to a pctl run on a small hostile input.
const SMALL_RSS_MIB: u64 = 200;

/// Runs `cmd`, killing it after `limit`; returns its output and peak RSS in MiB.
fn run_bounded(cmd: Command, limit: Duration) -> (Output, u64) {
    let (out, kib) = run_measured(cmd, limit);
    (out, kib / 1024)
}

/// `pctl ARGS` with a 120 s hang guard, asserting the peak RSS stays under `mib`.
#[track_caller]
fn pctl_bounded(env: &Env, args: &[&str], mib: u64) -> Output {
    let (out, rss) = run_bounded(env.command(args), Duration::from_secs(120));
    eprintln!("pctl {}: peak RSS {rss} MiB", args.join(" "));
    assert!(
        out.status.code().is_some(),
        "pctl was killed by a signal (crash or stack overflow)\n{}",
        describe(&out)
    );
    assert!(
        rss < mib,
        "pctl used {rss} MiB (limit {mib} MiB)\n{}",
        describe(&out)
    );
    out
}

/// A Git repository at `<sandbox>/<name>` with `files` (path, bytes) committed, and
/// the annotated `tags`.
fn repo_with(env: &Env, name: &str, files: &[(&str, &[u8])], tags: &[&str]) -> PathBuf {
    let repo = env.path(name);
    for (path, bytes) in files {
        let p = repo.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "profiles"]);
    for t in tags {
        git(&repo, &["tag", "-a", t, "-m", t]);
    }
    repo
}

const HEADER: &str = "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\n";

fn profile_yaml(name: &str, spec_extra: &str) -> String {
    format!(
        "{HEADER}metadata:\n  name: {name}\nspec:\n  description: hostile\n{spec_extra}  artifacts:\n    - name: config\n      kustomize: {{path: manifests}}\n"
    )
}

const CM: &[u8] = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

/// The classic billion laughs: ten levels of ten aliases each (10^9 strings).
fn alias_bomb(indent: &str) -> String {
    let mut s = format!("{indent}a0: &a0 \"lol\"\n");
    for i in 1..10 {
        let refs: Vec<String> = (0..10).map(|_| format!("*a{}", i - 1)).collect();
        s.push_str(&format!("{indent}a{i}: &a{i} [{}]\n", refs.join(", ")));
    }
    s
}

#[test]
fn an_alias_bomb_in_profile_yaml_is_refused_quickly_in_bounded_memory() {
    let env = Env::new();
    let text = format!(
        "{HEADER}metadata:\n  name: bomb\nspec:\n  presets:\n    laughs:\n{}  artifacts:\n    - name: config\n      kustomize: {{path: manifests}}\n",
        alias_bomb("      ")
    );
    let repo = repo_with(
        &env,
        "profiles",
        &[
            ("bomb/profile.yaml", text.as_bytes()),
            ("bomb/manifests/cm.yaml", CM),
        ],
        &[],
    );
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let src = repo.join("bomb").display().to_string();
    let out = pctl_bounded(
        &env,
        &[
            "install",
            &src,
            "--name",
            "bomb",
            "--repo",
            &gitops.display().to_string(),
        ],
        SMALL_RSS_MIB,
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["profile.yaml"]);
    assert_stderr_mentions_any(&out, &["alias", "budget", "limit"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn an_alias_bomb_in_a_values_file_is_refused_quickly_in_bounded_memory() {
    let env = Env::new();
    let repo = repo_with(
        &env,
        "profiles",
        &[
            (
                "app/profile.yaml",
                profile_yaml("app", "  parameters:\n    - {name: labels, type: object}\n")
                    .as_bytes(),
            ),
            ("app/manifests/cm.yaml", CM),
        ],
        &[],
    );
    let values = env.path("bomb.yaml");
    std::fs::write(&values, format!("{}labels: *a9\n", alias_bomb(""))).unwrap();
    let src = repo.join("app").display().to_string();
    let out = pctl_bounded(
        &env,
        &["render", &src, "-f", &values.display().to_string()],
        SMALL_RSS_MIB,
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["bomb.yaml"]);
}

fn deep(n: usize) -> String {
    format!("{}{}", "[".repeat(n), "]".repeat(n))
}

/// Block sequences nested `n` deep on one line (`- - - … x`): indentation-based
/// nesting would need a file of n²/2 bytes.
fn deep_block(n: usize) -> String {
    format!("  keywords:\n    {}x\n", "- ".repeat(n))
}

#[test]
fn yaml_nested_10000_deep_is_a_clear_error_not_a_stack_overflow() {
    let env = Env::new();
    let flow = format!(
        "{HEADER}metadata:\n  name: deep\nspec:\n  presets:\n    x: {}\n  artifacts:\n    - name: config\n      kustomize: {{path: manifests}}\n",
        deep(10_000)
    );
    let block = format!(
        "{HEADER}metadata:\n  name: deep2\nspec:\n{}",
        deep_block(10_000)
    );
    let repo = repo_with(
        &env,
        "profiles",
        &[
            ("deep/profile.yaml", flow.as_bytes()),
            ("deep/manifests/cm.yaml", CM),
            ("deep2/profile.yaml", block.as_bytes()),
            ("deep2/manifests/cm.yaml", CM),
            (
                "app/profile.yaml",
                profile_yaml("app", "  parameters:\n    - {name: labels, type: object}\n")
                    .as_bytes(),
            ),
            ("app/manifests/cm.yaml", CM),
        ],
        &[],
    );
    for dir in ["deep", "deep2"] {
        let src = repo.join(dir).display().to_string();
        let out = pctl_bounded(&env, &["render", &src], SMALL_RSS_MIB);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["profile.yaml"]);
        assert_stderr_mentions_any(&out, &["depth", "deep", "nest"]);
    }
    // In a values file, and as a --set object value (JSON).
    let values = env.path("deep.yaml");
    std::fs::write(&values, format!("labels: {}\n", deep(10_000))).unwrap();
    let app = repo.join("app").display().to_string();
    let out = pctl_bounded(
        &env,
        &["render", &app, "-f", &values.display().to_string()],
        SMALL_RSS_MIB,
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["deep.yaml"]);
    let set = format!(
        "labels={}",
        "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000)
    );
    let out = pctl_bounded(&env, &["render", &app, "--set", &set], SMALL_RSS_MIB);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["labels"]);
}

#[test]
fn a_100_mb_file_in_a_profile_is_copied_byte_for_byte_in_bounded_memory() {
    let env = Env::new();
    // 100 MiB of binary data (NUL bytes included), compressible so that the test
    // repositories stay small on disk.
    let mut big = Vec::with_capacity(100 << 20);
    let mut x: u32 = 1;
    while big.len() < 100 << 20 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let line = format!("{:08x}\0", x >> 16 & 0xff);
        big.extend_from_slice(line.as_bytes());
    }
    big.truncate(100 << 20);
    let repo = repo_with(
        &env,
        "profiles",
        &[
            ("app/profile.yaml", profile_yaml("app", "").as_bytes()),
            ("app/manifests/cm.yaml", CM),
            ("app/manifests/blob.bin", &big),
        ],
        &[],
    );
    let gitops = env.init_gitops("gitops");
    let src = repo.join("app").display().to_string();
    let out = pctl_bounded(
        &env,
        &[
            "install",
            &src,
            "--name",
            "big",
            "--repo",
            &gitops.display().to_string(),
        ],
        // Bounded: a small multiple of the file's size (337 MiB measured: the file
        // as read from Git, as rendered and as staged).
        500,
    );
    assert_success(&out);
    let dir = install_dir(&gitops, "big");
    let copied = walk(&dir)
        .into_iter()
        .find(|(k, _)| k.ends_with("blob.bin"))
        .map(|(k, _)| dir.join(k))
        .expect("blob.bin was not copied");
    let written = std::fs::read(&copied).unwrap();
    assert!(
        written == big,
        "the 100 MB file was not copied byte for byte"
    );
    assert!(is_clean(&gitops));
    let rel = copied.strip_prefix(&gitops).unwrap().display().to_string();
    let committed = git_cmd(&gitops)
        .args(["cat-file", "blob", &format!("HEAD:{rel}")])
        .output()
        .unwrap()
        .stdout;
    assert!(committed == big, "the committed blob differs");
}

#[test]
fn non_utf8_contents_are_copied_byte_for_byte_and_non_utf8_names_are_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let binary: &[u8] = b"\xff\xfe\x00\x01 not UTF-8 \xc3\x28\n";
    let repo = repo_with(
        &env,
        "profiles",
        &[
            ("app/profile.yaml", profile_yaml("app", "").as_bytes()),
            ("app/manifests/cm.yaml", CM),
            ("app/manifests/data.bin", binary),
            ("app/manifests/latin1.txt", b"caf\xe9\n"),
        ],
        &[],
    );
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let src = repo.join("app").display().to_string();
    let out = pctl_bounded(
        &env,
        &["install", &src, "--name", "bytes", "--repo", &g],
        SMALL_RSS_MIB,
    );
    assert_success(&out);
    let dir = install_dir(&gitops, "bytes");
    let files = walk(&dir);
    let find = |suffix: &str| {
        let k = files
            .keys()
            .find(|k| k.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} was not copied"));
        std::fs::read(dir.join(k)).unwrap()
    };
    assert_eq!(find("data.bin"), binary);
    assert_eq!(find("latin1.txt"), b"caf\xe9\n");

    // A file whose name is not UTF-8: a clear error naming its directory.
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.yaml");
    std::fs::write(repo.join("app/manifests").join(odd), CM).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "odd name"]);
    let before = snapshot(&gitops);
    let out = pctl_bounded(
        &env,
        &["install", &src, "--name", "odd", "--repo", &g],
        SMALL_RSS_MIB,
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["app/manifests/caf", "not valid UTF-8", "hint:"]);
    assert_unchanged(&before, &snapshot(&gitops));
    // The same from an uncommitted directory (--allow-dirty reads the disk).
    let out = pctl_bounded(&env, &["render", &src, "--allow-dirty"], SMALL_RSS_MIB);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["not valid UTF-8"]);
}

fn symlink(target: &str, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[test]
fn symlink_loops_in_a_profile_are_clear_errors() {
    let env = Env::new();
    let repo = env.path("profiles");
    for (name, artifact_path) in [
        ("self", "manifests/loop"),
        ("pair", "manifests/a"),
        ("up", "manifests"),
    ] {
        let dir = repo.join(name);
        std::fs::create_dir_all(dir.join("manifests")).unwrap();
        std::fs::write(dir.join("manifests/cm.yaml"), CM).unwrap();
        std::fs::write(
            dir.join("profile.yaml"),
            format!(
                "{HEADER}metadata:\n  name: {name}\nspec:\n  artifacts:\n    - name: config\n      kustomize: {{path: {artifact_path}}}\n"
            ),
        )
        .unwrap();
    }
    symlink("loop", &repo.join("self/manifests/loop"));
    symlink("b", &repo.join("pair/manifests/a"));
    symlink("a", &repo.join("pair/manifests/b"));
    symlink("..", &repo.join("up/manifests/sub/parent"));
    std::fs::write(repo.join("up/manifests/sub/cm2.yaml"), CM).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "loops"]);
    for (name, needle) in [
        ("self", "symbolic links"),
        ("pair", "symbolic links"),
        ("up", "loops back"),
    ] {
        let src = repo.join(name).display().to_string();
        for extra in [&[][..], &["--allow-dirty"][..]] {
            let mut args = vec!["render", src.as_str()];
            args.extend(extra);
            let out = pctl_bounded(&env, &args, SMALL_RSS_MIB);
            assert_error(&out, 1);
            assert_stderr_mentions(&out, &[needle]);
        }
    }
}

#[test]
fn a_nesting_chain_of_1000_profiles_stops_at_32_levels_with_a_clear_error() {
    let env = Env::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..1000 {
        let name = format!("p{i:04}");
        let next = if i < 999 {
            format!(
                "    - name: next\n      profile:\n        source: {{path: p{:04}}}\n",
                i + 1
            )
        } else {
            String::new()
        };
        files.push((
            format!("{name}/profile.yaml"),
            format!(
                "{HEADER}metadata:\n  name: {name}\nspec:\n  artifacts:\n    - name: config\n      kustomize: {{path: manifests}}\n{next}"
            )
            .into_bytes(),
        ));
        files.push((format!("{name}/manifests/cm.yaml"), CM.to_vec()));
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let repo = repo_with(&env, "profiles", &refs, &[]);
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let src = repo.join("p0000").display().to_string();
    let out = pctl_bounded(
        &env,
        &[
            "install",
            &src,
            "--name",
            "chain",
            "--repo",
            &gitops.display().to_string(),
        ],
        SMALL_RSS_MIB,
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["nested more than 32 levels", "hint:"]);
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn tag_names_that_try_shell_or_path_injection_stay_inert() {
    let env = Env::new();
    let marker = env.path("home/pwned");
    let evil = [
        "app/v1.0.1$(touch${IFS}pwned)",
        "app/v1.0.2;touch${IFS}pwned",
        "app/v1.0.3`touch${IFS}pwned`",
        "app/v1.0.4|touch${IFS}pwned",
    ];
    let repo = repo_with(
        &env,
        "profiles",
        &[
            ("app/profile.yaml", profile_yaml("app", "").as_bytes()),
            ("app/manifests/cm.yaml", CM),
        ],
        &["app/v1.0.0"],
    );
    for t in evil {
        git(&repo, &["tag", "-a", t, "-m", t]);
    }
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let url = file_url(&repo);
    // Tags that are not versions are ignored by constraints...
    let out = pctl_bounded(
        &env,
        &[
            "install",
            &source_url(&url, "app", Some("^1.0")),
            "--name",
            "app",
            "--repo",
            &g,
        ],
        SMALL_RSS_MIB,
    );
    assert_success(&out);
    assert_eq!(
        list_entry(&env.list_json(&gitops), "app")["version"],
        "1.0.0"
    );
    // ...and one named exactly is just a reference, recorded as text.
    let out = pctl_bounded(
        &env,
        &[
            "install",
            &source_url(&url, "app", Some(evil[0])),
            "--name",
            "evil",
            // the same profile twice needs another namespace (docs/layout.md#ownership)
            "--namespace",
            "evil",
            "--repo",
            &g,
        ],
        SMALL_RSS_MIB,
    );
    assert_success(&out);
    let record =
        std::fs::read_to_string(install_dir(&gitops, "evil").join("profile-installation.yaml"))
            .unwrap();
    assert!(record.contains("touch${IFS}pwned"), "{record}");
    for args in [
        vec!["outdated", "--repo", &g],
        vec!["list", "--repo", &g],
        vec!["upgrade", "--all", "--repo", &g],
    ] {
        let out = pctl_bounded(&env, &args, SMALL_RSS_MIB);
        assert!(out.status.code() == Some(0), "{}", describe(&out));
    }
    // References that Git itself refuses: a clear error naming them.
    for bad in ["v1.0.0;rm -rf ~", "../../x", "app/../../etc/passwd"] {
        let before = snapshot(&gitops);
        let out = pctl_bounded(
            &env,
            &[
                "install",
                &source_url(&url, "app", Some(bad)),
                "--name",
                "bad",
                "--repo",
                &g,
            ],
            SMALL_RSS_MIB,
        );
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[bad]);
        assert_unchanged(&before, &snapshot(&gitops));
    }
    assert!(!marker.exists() && !env.work.join("pwned").exists() && !gitops.join("pwned").exists());
    assert!(env.home.exists(), "HOME was removed");
}

#[test]
fn a_source_with_dot_dot_in_its_subdirectory_is_refused() {
    let env = Env::new();
    let repo = repo_with(
        &env,
        "profiles",
        &[
            ("app/profile.yaml", profile_yaml("app", "").as_bytes()),
            ("app/manifests/cm.yaml", CM),
        ],
        &["app/v1.0.0"],
    );
    let gitops = env.init_gitops("gitops");
    let g = gitops.display().to_string();
    let url = file_url(&repo);
    let before = snapshot(&gitops);
    for sub in ["../app", "app/../../etc", "app/..", "x/../app"] {
        let src = source_url(&url, sub, Some("app/v1.0.0"));
        let out = pctl_bounded(
            &env,
            &["install", &src, "--name", "dots", "--repo", &g],
            SMALL_RSS_MIB,
        );
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &["subdirectory", sub, "hint:"]);
        assert_unchanged(&before, &snapshot(&gitops));
    }
    let shown = pctl_bounded(
        &env,
        &["show", &source_url(&url, "app/../app", None)],
        SMALL_RSS_MIB,
    );
    assert_error(&shown, 1);
}

/// A profile's description, maintainer and changelog are the upstream author's text:
/// an escape sequence in them must not reach the terminal (clear the screen, set the
/// clipboard through OSC 52, hide text), and a line break must not forge a row of
/// `search`'s table.
#[test]
fn upstream_text_cannot_drive_the_terminal_or_forge_a_row() {
    let env = Env::new();
    env.insteadof("file:///nonexistent/github/", "https://github.com/");
    let profile = "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p\nspec:\n  description: \"tidy\\e[2J\\e]52;c;ZXZpbA==\\a\\nweaveworks/fake  9.9.9  trusted\\u202e\"\n  maintainer: \"Mallory \\e[8mhidden\"\n  keywords: [\"kw\\e[31m\"]\n  artifacts:\n    - name: config\n      kustomize: {path: manifests}\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n";
    let repo = env.path("evil");
    std::fs::create_dir_all(repo.join("p/manifests")).unwrap();
    std::fs::write(repo.join("p/profile.yaml"), profile).unwrap();
    std::fs::write(repo.join("p/manifests/cm.yaml"), cm).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "p"]);
    git(
        &repo,
        &[
            "tag",
            "-a",
            "p/v1.0.0",
            "-m",
            "p 1.0.0\n\nclean\x1b[2J\x1b]0;owned\x07 notes\r",
        ],
    );
    assert_success(&env.pctl(["catalog", "add", "evil", &file_url(&repo)]));
    for args in [
        vec!["search", "tidy"],
        vec!["show", "evil/p"],
        vec!["catalog", "list"],
    ] {
        let out = env.pctl(&args);
        assert_success(&out);
        let text = stdout(&out);
        for bad in ['\x1b', '\x07', '\r', '\u{202e}'] {
            assert!(
                !text.contains(bad),
                "pctl {args:?} printed {bad:?} from upstream:\n{text:?}"
            );
        }
        if args[0] == "search" {
            assert_eq!(text.lines().count(), 2, "a row was forged:\n{text}");
            assert!(text.contains("tidy\\u{1b}[2J"), "{text}");
        }
        if args[0] == "show" {
            assert!(text.contains("Mallory \\u{1b}[8mhidden"), "{text}");
            assert!(text.contains("clean\\u{1b}[2J"), "{text}");
        }
    }
}
