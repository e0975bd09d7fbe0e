//! Catalog benchmarks (not timed tests): `pctl search` over a generated index of
//! 10,000 profile versions, and an incremental `pctl catalog update` of a repository
//! with 1,000 version tags after one new tag. Each prints its median wall time over
//! several runs of the real binary and the number of tags read.
//!
//! `cargo bench --bench catalog` runs the full sizes; run without `--bench` (as
//! `cargo test --benches` does) it runs small sizes once, as a smoke test.
use pctl::catalog::index::{
    self, ArtifactEntry, Definition, Index, ParamEntry, ProfileEntry, VersionEntry,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("pctl-bench-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        for d in ["home", "cache", "config"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        // index::cache_path reads the cache directory from the environment.
        // SAFETY: single-threaded, before any other thread exists.
        unsafe { std::env::set_var("XDG_CACHE_HOME", root.join("cache")) };
        Sandbox { _dir: dir, root }
    }

    fn pctl(&self, args: &[&str]) -> (Duration, std::process::Output) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pctl"));
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if k.starts_with("GIT_") || k.starts_with("PCTL_") || k.starts_with("XDG_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("HOME", self.root.join("home"))
            .env("XDG_CACHE_HOME", self.root.join("cache"))
            .env("XDG_CONFIG_HOME", self.root.join("config"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .current_dir(&self.root)
            .args(args)
            .stdin(Stdio::null());
        let start = Instant::now();
        let out = cmd.output().expect("cannot run pctl");
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "pctl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (took, out)
    }
}

fn git(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("cannot run git");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn write_catalog(sb: &Sandbox, name: &str, url: &str) {
    let dir = sb.root.join("config/pctl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("catalogs.yaml"),
        format!("apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: {name}\n    url: {url}\n"),
    )
    .unwrap();
}

/// An index of `profiles` × `per` versions, each with a small definition.
fn generated_index(url: &str, profiles: usize, per: usize) -> Index {
    let words = [
        "ingress", "metrics", "logging", "storage", "security", "cache", "queue", "mesh",
    ];
    let mut out = Vec::new();
    for p in 0..profiles {
        let name = format!("{}-{p:04}", words[p % words.len()]);
        let def = Definition {
            name: name.clone(),
            description: format!("Profile {p} for {} workloads", words[(p / 3) % words.len()]),
            maintainer: "Bench <bench@example.com>".into(),
            keywords: vec![
                words[p % words.len()].into(),
                words[(p + 1) % words.len()].into(),
            ],
            parameters: vec![
                ParamEntry {
                    name: "replicas".into(),
                    kind: "integer".into(),
                    default: Some(serde_json::json!(2)),
                    ..Default::default()
                },
                ParamEntry {
                    name: "domain".into(),
                    kind: "string".into(),
                    required: true,
                    ..Default::default()
                },
            ],
            artifacts: vec![ArtifactEntry {
                name: "chart".into(),
                kind: "chart".into(),
                source: format!("{name} 1.0.0 from https://charts.example.com"),
                depends_on: vec![],
            }],
            ..Default::default()
        };
        let versions = (0..per)
            .map(|v| VersionEntry {
                version: format!("1.{v}.0"),
                tag: format!("{name}/v1.{v}.0"),
                channel: if v % 5 == 4 {
                    "beta".into()
                } else {
                    "stable".into()
                },
                commit: Some(format!("{:040x}", p * per + v)),
                date: Some("2026-01-01T00:00:00Z".into()),
                changelog: Some(format!("{name} 1.{v}.0\n\nChanges of version {v}.")),
                definition: Some(def.clone()),
            })
            .collect();
        let mut entry = ProfileEntry {
            name: name.clone(),
            path: name,
            versions,
            ..Default::default()
        };
        index::describe_from_newest(&mut entry);
        out.push(entry);
    }
    Index {
        format: index::FORMAT,
        url: url.into(),
        updated: Some("2026-01-01T00:00:00Z".into()),
        read: out
            .iter()
            .flat_map(|p| {
                p.versions
                    .iter()
                    .map(|v| (v.tag.clone(), v.commit.clone().unwrap()))
            })
            .collect(),
        profiles: out,
        ..Default::default()
    }
}

fn bench_search(versions: usize, runs: usize) {
    let sb = Sandbox::new();
    let url = "https://bench.example.com/profiles";
    write_catalog(&sb, "bench", url);
    let per = 10;
    let idx = generated_index(url, versions / per, per);
    let path = index::cache_path(url).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = serde_json::to_string(&idx).unwrap();
    std::fs::write(&path, &text).unwrap();
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut times = Vec::new();
    let mut hits = 0;
    for _ in 0..runs {
        let (t, out) = sb.pctl(&["search", "-o", "json", "ingress"]);
        hits = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len();
        times.push(t);
    }
    let unchanged = std::fs::metadata(&path).unwrap().modified().unwrap() == before;
    let (m, lo, hi) = median(times);
    println!(
        "search: {versions} versions ({} profiles, index {:.1} MB); {runs} runs; median {} (min {}, max {}); {hits} hits; tags read: 0 (index {})",
        versions / per,
        text.len() as f64 / 1e6,
        ms(m),
        ms(lo),
        ms(hi),
        if unchanged { "untouched" } else { "REWRITTEN" }
    );
}

fn bench_update(tags: usize, runs: usize) {
    let sb = Sandbox::new();
    let repo = sb.root.join("profiles");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], None);
    let dirs = 100.min(tags);
    for d in 0..dirs {
        let dir = repo.join(format!("p{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("profile.yaml"),
            format!(
                "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p{d:03}\nspec:\n  description: Bench profile {d}\n  keywords: [bench]\n  parameters:\n    - {{name: replicas, type: integer, default: 2}}\n  artifacts:\n    - name: app\n      chart: {{url: https://charts.example.com, name: app, version: 1.0.0}}\n"
            ),
        )
        .unwrap();
    }
    git(&repo, &["add", "-A"], None);
    git(&repo, &["commit", "-qm", "profiles"], None);
    let head = git(&repo, &["rev-parse", "HEAD"], None);
    // Annotated tags through fast-import: one process for all of them.
    let mut stream = String::new();
    for i in 0..tags {
        let msg = format!("release {i}\n");
        stream.push_str(&format!(
            "tag p{:03}/v1.{}.0\nfrom {head}\ntagger Bench <bench@example.com> 1767225600 +0000\ndata {}\n{msg}\n",
            i % dirs,
            i / dirs,
            msg.len()
        ));
    }
    git(&repo, &["fast-import", "--quiet"], Some(&stream));
    let url = format!("file://{}", repo.display());
    let (first, out) = sb.pctl(&["catalog", "add", "bench", &url]);
    println!(
        "catalog add (first scan): {tags} tags; {}; {}",
        ms(first),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let mut times = Vec::new();
    let mut read = Vec::new();
    for r in 0..runs {
        git(
            &repo,
            &[
                "tag",
                "-a",
                &format!("p{:03}/v9.{r}.0", r % dirs),
                "-m",
                "one more",
                "HEAD",
            ],
            None,
        );
        let (t, out) = sb.pctl(&["catalog", "update", "bench", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        read.push(v[0]["tagsRead"].as_u64().unwrap());
        times.push(t);
    }
    let (m, lo, hi) = median(times);
    assert!(
        read.iter().all(|n| *n == 1),
        "each update reads exactly one tag: {read:?}"
    );
    println!(
        "catalog update: repository with {tags}+ tags, one new tag per run; {runs} runs; median {} (min {}, max {}); tags read per run: {:?}",
        ms(m),
        ms(lo),
        ms(hi),
        read
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if full {
        bench_search(10_000, 15);
        bench_update(1_000, 11);
    } else {
        bench_search(100, 1);
        bench_update(20, 1);
    }
}
