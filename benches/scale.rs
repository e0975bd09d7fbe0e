//! Scale benchmarks (issues 7 and 15), not timed tests: generates its inputs, runs the
//! release binary several times per case, counts instructions with callgrind where a
//! ratio is judged, and prints a table of every row with its goal and met/missed
//! (docs/benchmarks.md#scale-cargo-bench---bench-scale).
//!
//! Inputs, all generated in a temporary sandbox:
//! - a profiles repository with `app` (one raw-YAML artifact; versions 1.0.0 and,
//!   after the installations are made, 1.1.0) and `big` (50 artifacts in 4 levels
//!   of nested profiles, 100 manifest files);
//! - GitOps repository S: 1,000 files (100 installations of `app` plus filler
//!   manifests) and L: 20,000 files (500 installations plus filler manifests);
//! - a catalog repository of 1,000 profiles × 10 version tags.
//!
//! Cases: warm-cache install of `big` into S and L, against the same files written
//! beforehand and committed with `git add -A -- <installPath> && git commit` (the two
//! commits' trees must be identical), and against `kpt pkg get` of the same package
//! from the same local repository; `list`, `outdated`, `upgrade --all` and `check`
//! over L; the catalog's first scan, `search` over its 10,000 versions and over the
//! embedded catalog alone, `show` and an incremental `catalog update`; `pctl
//! --version` and `pctl list` on an empty repository against `git --version`. Peak
//! RSS is measured for every run (wait4).
//!
//! `cargo bench --bench scale` runs the full sizes; without `--bench` (as
//! `cargo test --benches` runs it) it runs 1% sizes once, as a smoke test.
//! `PCTL_BENCH_SCALE=0.1` scales every size (installations, files, catalog
//! profiles), `PCTL_BENCH_RUNS=N` sets the runs per case, `PCTL_BENCH_CALLGRIND=0`
//! skips the instruction counts, `PCTL_BENCH_KEEP=1` keeps the inputs.

mod harness;

use harness::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- inputs

struct Sizes {
    small_installs: usize,
    small_files: usize,
    large_installs: usize,
    large_files: usize,
    catalog_profiles: usize,
    catalog_tags: usize,
    runs: usize,
    upgrade_runs: usize,
    /// Runs of `--version`, `git --version` and `list` on an empty repository.
    startup_runs: usize,
}

/// Filler manifests (not Flux-reachable) until the repository has `files` files.
fn fill(sb: &Sandbox, repo: &Path, files: usize) {
    let have = sb.git(repo, &["ls-files"]).lines().count();
    for i in 0..files.saturating_sub(have) {
        write(
            &repo.join(format!("apps/team-{:03}/svc-{:03}.yaml", i / 100, i % 100)),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: filler-{i}\n  namespace: team-{:03}\ndata:\n  index: \"{i}\"\n",
                i / 100
            ),
        );
    }
    if files > have {
        sb.git(repo, &["add", "-A"]);
        sb.git(repo, &["commit", "-qm", "filler manifests"]);
    }
}

fn gitops(sb: &Sandbox, name: &str, app: &str, installs: usize, files: usize) -> PathBuf {
    let repo = sb.root.join(name);
    let r = repo.display().to_string();
    sb.pctl(&sb.root, &["init", &r]);
    // A namespace each: one namespace cannot hold the same objects twice (docs/security.md#trust-model).
    let install = |n: &str| {
        let args = ["install", app, "--name", n, "--namespace", n, "--repo", &r];
        sb.pctl(&sb.root, &args);
    };
    let start = Instant::now();
    for i in 0..installs {
        install(&format!("i{i:03}"));
    }
    let took = start.elapsed();
    fill(sb, &repo, files);
    // The last commit is pctl's, as in a repository pctl keeps: the last installation
    // made again (its ownership scan is then the one that install kept for the tree it
    // committed, docs/architecture.md#the-ownership-scan-of-a-whole-tree; the case
    // after a commit pctl did not make is measured too).
    if installs > 0 {
        let n = format!("i{:03}", installs - 1);
        sb.pctl(&sb.root, &["uninstall", &n, "--repo", &r]);
        install(&n);
    }
    // Packed, as a repository that has lived a while is (automatic gc is off: see env).
    sb.git(&repo, &["gc", "-q"]);
    let n = sb.git(&repo, &["ls-files"]).lines().count();
    println!(
        "  GitOps repository {name}: {n} files, {installs} installations (made by pctl install in {:.1} s, {} each)",
        took.as_secs_f64(),
        ms(took / installs.max(1) as u32)
    );
    repo
}

fn reset(sb: &Sandbox, repo: &Path, to: &str) {
    sb.git(repo, &["reset", "-q", "--hard", to]);
    sb.git(repo, &["clean", "-qfd"]);
}

// ---------------------------------------------------------------- cases

struct InstallCase {
    pctl: Sample,
    git: Sample,
    pctl_instr: Option<u64>,
    git_instr: Option<u64>,
    /// pctl's instructions after a commit it did not make: a file outside the sync
    /// path added, and one inside it.
    foreign_instr: Option<(u64, u64)>,
    /// pctl's and the baseline's instructions with git's `index.skipHash` (which
    /// `feature.manyFiles` sets): the index written without its SHA-1 trailer.
    skip_hash_instr: Option<(u64, u64)>,
}

/// What `git add -A --` is given to stage what pctl wrote: the installation's
/// directory (where the record is), and any file written outside it.
fn install_paths(written: &[(String, Vec<u8>)]) -> Vec<String> {
    let dir = written
        .iter()
        .find_map(|(f, _)| {
            f.strip_suffix(RECORD)
                .map(|d| d.trim_end_matches('/').to_string())
        })
        .expect("the install wrote its record");
    let mut out = vec![dir.clone()];
    for (f, _) in written {
        if !f.starts_with(&format!("{dir}/")) {
            out.push(f.clone());
        }
    }
    out
}

/// Install `big` (warm cache) `runs` times into `repo`, put back after each run; and
/// the baseline: the same files written beforehand, then `git add -A -- <installPath>`
/// and `git commit`. The two commits' trees must be identical.
fn install_case(sb: &Sandbox, repo: &Path, big: &str, runs: usize, count: bool) -> InstallCase {
    let r = repo.display().to_string();
    let base = sb.git(repo, &["rev-parse", "HEAD"]);
    let install = ["install", big, "--name", "big", "--repo", r.as_str()];
    let mut pctl = Sample::new();
    let mut git = Sample::new();
    let mut written: Vec<(String, Vec<u8>)> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut pctl_tree = String::new();
    let put_back = |written: &[(String, Vec<u8>)]| {
        reset(sb, repo, &base);
        for (f, bytes) in written {
            let p = repo.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, bytes).expect("write");
        }
    };
    let add_args = |paths: &[String]| -> Vec<String> {
        ["add", "-A", "--"]
            .iter()
            .map(|s| s.to_string())
            .chain(paths.iter().cloned())
            .collect()
    };
    let commit = ["commit", "-q", "-m", "install big by hand"];
    // pctl and git take turns, so that a change in the machine's load hits both.
    for i in 0..runs {
        let run = sb.pctl(&sb.root, &install);
        pctl.add(&run);
        if i == 0 {
            for f in sb
                .git(repo, &["diff", "--name-only", &base, "HEAD"])
                .lines()
            {
                let bytes = std::fs::read(repo.join(f)).expect("cannot read a written file");
                written.push((f.to_string(), bytes));
            }
            paths = install_paths(&written);
            pctl_tree = sb.git(repo, &["rev-parse", "HEAD^{tree}"]);
        }
        put_back(&written);
        let args = add_args(&paths);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let add = sb.run("git", repo, &args);
        let done = sb.run("git", repo, &commit);
        assert!(
            add.ok && done.ok,
            "git add/commit failed: {}{}",
            add.stderr,
            done.stderr
        );
        git.add_sum(&[&add, &done]);
        if i == 0 {
            let tree = sb.git(repo, &["rev-parse", "HEAD^{tree}"]);
            assert_eq!(
                tree,
                pctl_tree,
                "the baseline's commit differs from pctl's:\n{}",
                sb.git(repo, &["diff", "--stat", &pctl_tree, &tree])
            );
        }
        reset(sb, repo, &base);
    }
    println!(
        "  ({} files written by each install; baseline: git add -A -- {}; the two commits' trees are identical)",
        written.len(),
        paths.join(" ")
    );
    let (mut pctl_instr, mut git_instr, mut foreign_instr, mut skip_hash_instr) =
        (None, None, None, None);
    if count {
        pctl_instr = Some(sb.instructions(env!("CARGO_BIN_EXE_pctl"), &sb.root, &install));
        put_back(&written);
        let args = add_args(&paths);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let add = sb.instructions("git", repo, &args);
        git_instr = Some(add + sb.instructions("git", repo, &commit));
        reset(sb, repo, &base);
        // With index.skipHash, for both (the index written once so first), in the same
        // state as the count above: before the commits by hand below, whose installs do
        // not read the guard's record of this tree (and a save drops a large entry
        // nobody read).
        sb.git(repo, &["config", "index.skipHash", "true"]);
        sb.git(repo, &["update-index", "--force-write-index"]);
        let skipping = sb.instructions(env!("CARGO_BIN_EXE_pctl"), &sb.root, &install);
        let tree = sb.git(repo, &["rev-parse", "HEAD^{tree}"]);
        assert_eq!(tree, pctl_tree, "pctl's commit with index.skipHash differs");
        put_back(&written);
        let add = sb.instructions("git", repo, &args);
        let git_skipping = add + sb.instructions("git", repo, &commit);
        reset(sb, repo, &base);
        sb.git(repo, &["config", "--unset", "index.skipHash"]);
        sb.git(repo, &["update-index", "--force-write-index"]);
        skip_hash_instr = Some((skipping, git_skipping));
        let by_hand = |path: &str, text: &str| {
            write(&repo.join(path), text);
            sb.git(repo, &["add", path]);
            sb.git(repo, &["commit", "-qm", "by hand"]);
            let n = sb.instructions(env!("CARGO_BIN_EXE_pctl"), &sb.root, &install);
            reset(sb, repo, &base);
            n
        };
        let outside = by_hand("notes/by-hand.txt", "a commit pctl did not make\n");
        let inside = by_hand(
            "clusters/default/by-hand.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: by-hand\n  namespace: i000\n",
        );
        foreign_instr = Some((outside, inside));
    }
    InstallCase {
        pctl,
        git,
        pctl_instr,
        git_instr,
        foreign_instr,
        skip_hash_instr,
    }
}

fn kpt_case(sb: &Sandbox, profiles: &Path, runs: usize) -> Option<Sample> {
    let probe = Command::new("kpt")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        println!("  kpt is not installed: the kpt comparison is skipped");
        return None;
    }
    let url = format!("file://{}.git/big@big/v1.0.0", profiles.display());
    let mut s = Sample::new();
    for i in 0..runs {
        let dest = format!("kpt-{i}");
        let r = sb.run("kpt", &sb.root, &["pkg", "get", &url, &dest]);
        assert!(r.ok, "kpt pkg get {url} failed:\n{}", r.stderr);
        s.add(&r);
    }
    Some(s)
}

fn catalog_repo(sb: &Sandbox, profiles: usize, tags: usize) -> PathBuf {
    let repo = sb.root.join("catalog-src");
    for p in 0..profiles {
        write(
            &repo.join(format!("p{p:04}/profile.yaml")),
            &format!(
                "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p{p:04}\nspec:\n  description: Benchmark profile {p} for {} workloads\n  keywords: [bench, k{}]\n  parameters:\n    - {{name: replicas, type: integer, default: 2}}\n  artifacts:\n    - name: app\n      chart: {{url: https://charts.example.com, name: app, version: 1.0.0}}\n",
                ["ingress", "metrics", "logging", "storage"][p % 4],
                p % 10
            ),
        );
    }
    sb.git(&repo, &["init", "-q", "-b", "main"]);
    sb.git(&repo, &["add", "-A"]);
    sb.git(&repo, &["commit", "-qm", "profiles"]);
    let head = sb.git(&repo, &["rev-parse", "HEAD"]);
    let mut stream = String::new();
    for p in 0..profiles {
        for t in 0..tags {
            let msg = format!("p{p:04} 1.{t}.0\n");
            let _ = write!(
                stream,
                "tag p{p:04}/v1.{t}.0\nfrom {head}\ntagger Bench <bench@example.com> 1767225600 +0000\ndata {}\n{msg}\n",
                msg.len()
            );
        }
    }
    sb.git_stdin(&repo, &["fast-import", "--quiet"], stream.as_bytes());
    repo
}

// ---------------------------------------------------------------- main

fn sizes() -> Sizes {
    let full = std::env::args().any(|a| a == "--bench");
    let scale: f64 = match std::env::var("PCTL_BENCH_SCALE") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|s: &f64| *s > 0.0)
            .unwrap_or_else(|| panic!("PCTL_BENCH_SCALE={v:?}: give a positive number, e.g. 0.1")),
        Err(_) if full => 1.0,
        Err(_) => 0.01,
    };
    let n = |x: usize| ((x as f64 * scale).round() as usize).max(1);
    let runs = std::env::var("PCTL_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 7 } else { 1 });
    Sizes {
        small_installs: n(100),
        small_files: n(1_000),
        large_installs: n(500),
        large_files: n(20_000),
        catalog_profiles: n(1_000),
        catalog_tags: 10,
        runs,
        upgrade_runs: runs.min(3),
        startup_runs: if full { 50 } else { runs.max(3) },
    }
}

/// The goal text and verdict of "median below `limit`".
fn under(s: &Sample, limit: Duration) -> (String, Option<bool>) {
    (format!("< {}", ms(limit)), Some(s.median() < limit))
}

fn main() {
    let sizes = sizes();
    let count = callgrind_enabled();
    let started = Instant::now();
    let sb = Sandbox::new();
    let mut report = Report { rows: Vec::new() };
    println!(
        "sizes: S {} files / {} installations, L {} files / {} installations, catalog {} profiles × {} tags, {} runs per case; instruction counts: {}",
        sizes.small_files,
        sizes.small_installs,
        sizes.large_files,
        sizes.large_installs,
        sizes.catalog_profiles,
        sizes.catalog_tags,
        sizes.runs,
        if count {
            "callgrind"
        } else {
            "off (no valgrind, or PCTL_BENCH_CALLGRIND=0)"
        }
    );
    println!("inputs:");
    let profiles = profiles_repo(&sb);
    let url = format!("file://{}", profiles.display());
    let app = format!("{url}//app@^1.0");
    let big = format!("{url}//big@big/v1.0.0");
    let small = gitops(
        &sb,
        "gitops-s",
        &app,
        sizes.small_installs,
        sizes.small_files,
    );
    let large = gitops(
        &sb,
        "gitops-l",
        &app,
        sizes.large_installs,
        sizes.large_files,
    );
    // Version 1.1.0 of app: every installation is now behind.
    write(
        &profiles.join("app/manifests/configmap.yaml"),
        &app_manifest("1.1.0"),
    );
    sb.git(&profiles, &["commit", "-qam", "app 1.1.0"]);
    sb.git(&profiles, &["tag", "-a", "app/v1.1.0", "-m", "app 1.1.0"]);

    println!("install of the 50-artifact profile (warm cache):");
    // Warm the cache (mirror fetched once), then measure.
    let warm = sb.root.join("gitops-warm");
    sb.pctl(&sb.root, &["init", &warm.display().to_string()]);
    sb.pctl(
        &sb.root,
        &[
            "install",
            &big,
            "--name",
            "big",
            "--repo",
            &warm.display().to_string(),
        ],
    );
    let s = install_case(&sb, &small, &big, sizes.runs, count);
    let l = install_case(&sb, &large, &big, sizes.runs, count);
    let (sn, ln) = (
        format!(
            "{} files, {} installations",
            sizes.small_files, sizes.small_installs
        ),
        format!(
            "{} files, {} installations",
            sizes.large_files, sizes.large_installs
        ),
    );
    report.case(
        &format!("install big into S ({sn})"),
        &s.pctl,
        s.pctl_instr,
        "",
        None,
    );
    report.case(
        "git add -A -- <installPath> && git commit, S",
        &s.git,
        s.git_instr,
        "",
        None,
    );
    report.case(
        &format!("install big into L ({ln})"),
        &l.pctl,
        l.pctl_instr,
        "",
        None,
    );
    report.case(
        "git add -A -- <installPath> && git commit, L",
        &l.git,
        l.git_instr,
        "",
        None,
    );
    for (size, case) in [("S", &s), ("L", &l)] {
        if let Some((outside, inside)) = case.foreign_instr {
            report.count_only(
                &format!("install big into {size} after a commit outside the sync path"),
                outside,
            );
            report.count_only(
                &format!("install big into {size} after a commit inside the sync path"),
                inside,
            );
        }
    }
    let ratio = |a: &Sample, b: &Sample| a.median().as_secs_f64() / b.median().as_secs_f64();
    let iratio = |a: Option<u64>, b: Option<u64>| Some(a? as f64 / b? as f64);
    // Goals judged on instructions when counted (they do not move with the machine's
    // load), else on wall time.
    let judge = |wall: f64, instr: Option<f64>, limit: f64| Some(instr.unwrap_or(wall) <= limit);
    let (w, i) = (ratio(&l.pctl, &l.git), iratio(l.pctl_instr, l.git_instr));
    report.ratio(
        "install vs git, L",
        w,
        i,
        "≤ 1.2× (instructions)",
        judge(w, i, 1.2),
    );
    let (w, i) = (ratio(&s.pctl, &s.git), iratio(s.pctl_instr, s.git_instr));
    report.ratio("install vs git, S", w, i, "", None);
    let (w, i) = (ratio(&l.pctl, &s.pctl), iratio(l.pctl_instr, s.pctl_instr));
    report.ratio(
        &format!(
            "install into L vs into S ({} vs {} files)",
            sizes.large_files, sizes.small_files
        ),
        w,
        i,
        "≤ 1.2× (instructions)",
        judge(w, i, 1.2),
    );
    // The same ratio for the baseline: what writing a Git index and commit of that
    // size costs git itself.
    let (w, i) = (ratio(&l.git, &s.git), iratio(l.git_instr, s.git_instr));
    report.ratio("git add && git commit, L vs S", w, i, "", None);
    // Both again with git's index.skipHash: what is left without the index's SHA-1
    // trailer, which grows with the repository for pctl and git alike.
    if let (Some((ps, gs)), Some((pl, gl))) = (s.skip_hash_instr, l.skip_hash_instr) {
        report.count_only("install big into S, index.skipHash", ps);
        report.count_only("install big into L, index.skipHash", pl);
        report.count_only("git add && git commit, L, index.skipHash", gl);
        report.count_ratio(
            "install into L vs into S, index.skipHash",
            pl as f64 / ps as f64,
        );
        report.count_ratio(
            "git add && git commit, L vs S, index.skipHash",
            gl as f64 / gs as f64,
        );
    }
    if let Some(k) = kpt_case(&sb, &profiles, sizes.runs) {
        report.case("kpt pkg get of big (local repository)", &k, None, "", None);
        let w = ratio(&s.pctl, &k);
        report.ratio(
            "install vs kpt pkg get",
            w,
            None,
            "< 1× (faster)",
            Some(w < 1.0),
        );
    } else {
        report.ratio(
            "install vs kpt pkg get",
            f64::NAN,
            None,
            "< 1× (faster)",
            None,
        );
    }

    println!(
        "commands over the {} installations of L:",
        sizes.large_installs
    );
    let lr = large.display().to_string();
    let mut list = Sample::new();
    let mut outdated = Sample::new();
    let mut check = Sample::new();
    // One untimed run of each first: `warm` means the page cache holds the repository.
    sb.pctl(&sb.root, &["check", "--repo", &lr]);
    for _ in 0..sizes.runs {
        list.add(&sb.pctl(&sb.root, &["list", "--repo", &lr]));
        let c = sb.pctl(&sb.root, &["check", "--repo", &lr]);
        assert!(c.stdout.contains(" 0 problems"), "pctl check: {}", c.stdout);
        check.add(&c);
        let o = sb.pctl(&sb.root, &["outdated", "--repo", &lr, "-o", "json"]);
        let v: serde_json::Value =
            serde_json::from_str(&o.stdout).expect("outdated -o json is JSON");
        let behind = v["installations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["state"] == "update-available")
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(behind, sizes.large_installs, "every installation is behind");
        outdated.add(&o);
    }
    let n = sizes.large_installs;
    let (g, m) = under(&list, Duration::from_millis(200));
    report.case(&format!("list, {n} installations"), &list, None, &g, m);
    let (g, m) = under(&outdated, Duration::from_millis(200));
    report.case(
        &format!("outdated, {n} installations"),
        &outdated,
        None,
        &g,
        m,
    );
    let base = sb.git(&large, &["rev-parse", "HEAD"]);
    let mut upgrade = Sample::new();
    for _ in 0..sizes.upgrade_runs {
        let u = sb.pctl(&sb.root, &["upgrade", "--all", "--repo", &lr]);
        upgrade.add(&u);
        let subject = sb.git(&large, &["log", "-1", "--format=%s"]);
        assert!(
            subject.starts_with(&format!(
                "pctl: upgrade {} installations",
                sizes.large_installs
            )) || sizes.large_installs == 1,
            "upgrade --all made {subject:?}"
        );
        reset(&sb, &large, &base);
    }
    let (g, m) = under(&upgrade, Duration::from_millis(1500));
    report.case(
        &format!("upgrade --all, {n} installations"),
        &upgrade,
        None,
        &g,
        m,
    );
    let (g, m) = under(&check, Duration::from_secs(2));
    report.case(&format!("check, L ({ln}), warm"), &check, None, &g, m);

    println!(
        "catalog of {} profiles × {} tags:",
        sizes.catalog_profiles, sizes.catalog_tags
    );
    let cat = catalog_repo(&sb, sizes.catalog_profiles, sizes.catalog_tags);
    let cat_url = format!("file://{}", cat.display());
    let mut scan = Sample::new();
    scan.add(&sb.pctl(&sb.root, &["catalog", "add", "bench", &cat_url]));
    report.case(
        "catalog add (first scan of every tag)",
        &scan,
        None,
        "",
        None,
    );
    let mut search = Sample::new();
    let mut show = Sample::new();
    let mut update = Sample::new();
    for _ in 0..sizes.runs.max(5) {
        search.add(&sb.pctl(&sb.root, &["search", "ingress"]));
    }
    for i in 0..sizes.runs {
        show.add(&sb.pctl(&sb.root, &["show", "bench/p0004"]));
        sb.git(
            &cat,
            &["tag", "-a", &format!("p0001/v9.{i}.0"), "-m", "one more"],
        );
        update.add(&sb.pctl(&sb.root, &["catalog", "update", "bench"]));
    }
    let versions = sizes.catalog_profiles * sizes.catalog_tags;
    let instr = count
        .then(|| sb.instructions(env!("CARGO_BIN_EXE_pctl"), &sb.root, &["search", "ingress"]));
    let (g, m) = under(&search, Duration::from_millis(20));
    report.case(
        &format!("search, {versions} versions"),
        &search,
        instr,
        &g,
        m,
    );
    report.case("show", &show, None, "", None);
    report.case("catalog update (1 new tag)", &update, None, "", None);
    // The embedded catalog only: a machine with no catalog of its own.
    let bare = Sandbox::new();
    let mut embedded = Sample::new();
    for _ in 0..sizes.runs.max(5) {
        let r = bare.pctl(&bare.root, &["search", "nginx"]);
        assert!(r.stdout.contains("weaveworks/"), "{}", r.stdout);
        embedded.add(&r);
    }
    let instr = count
        .then(|| bare.instructions(env!("CARGO_BIN_EXE_pctl"), &bare.root, &["search", "nginx"]));
    let (g, m) = under(&embedded, Duration::from_millis(5));
    report.case("search, embedded catalog", &embedded, instr, &g, m);

    println!("start-up ({} runs each):", sizes.startup_runs);
    let empty = sb.root.join("gitops-empty");
    sb.pctl(&sb.root, &["init", &empty.display().to_string()]);
    let (mut version, mut git_version, mut list_empty) =
        (Sample::new(), Sample::new(), Sample::new());
    for _ in 0..sizes.startup_runs {
        version.add(&sb.pctl(&sb.root, &["--version"]));
        let g = sb.run("git", &sb.root, &["--version"]);
        assert!(g.ok, "git --version failed");
        git_version.add(&g);
        list_empty.add(&sb.pctl(&empty, &["list"]));
    }
    let pctl_bin = env!("CARGO_BIN_EXE_pctl");
    let vi = count.then(|| sb.instructions(pctl_bin, &sb.root, &["--version"]));
    let gi = count.then(|| sb.instructions("git", &sb.root, &["--version"]));
    let li = count.then(|| sb.instructions(pctl_bin, &empty, &["list"]));
    report.case("pctl --version", &version, vi, "", None);
    report.case("git --version", &git_version, gi, "", None);
    report.case("pctl list, empty repository", &list_empty, li, "", None);
    let w = ratio(&version, &git_version);
    report.ratio(
        "--version vs git --version",
        w,
        iratio(vi, gi),
        "≤ 2× (wall)",
        Some(w <= 2.0),
    );
    let w = ratio(&list_empty, &git_version);
    report.ratio(
        "list (empty repository) vs git --version",
        w,
        iratio(li, gi),
        "≤ 2× (wall)",
        Some(w <= 2.0),
    );

    let peak = sb.peak_kib.get().max(bare.peak_kib.get()) as f64 / 1024.0;
    println!("  peak RSS of every pctl run: {peak:.1} MiB");
    report.rows.push(Row {
        what: "peak RSS, every pctl run above".into(),
        wall: String::new(),
        cpu: String::new(),
        instructions: String::new(),
        rss: format!("{peak:.1} MiB"),
        goal: "< 64 MiB".into(),
        met: Some(peak < 64.0),
    });

    report.print();
    println!(
        "benchmark inputs and runs took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if std::env::var_os("PCTL_BENCH_KEEP").is_some() {
        let kept = sb._dir.keep();
        println!("inputs kept in {} (PCTL_BENCH_KEEP)", kept.display());
    }
}
