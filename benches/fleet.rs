//! Fleet benchmarks (issue 16 item 8), not timed tests: a GitOps repository of 50
//! clusters × 20 installations, made by pctl itself, and what a platform team does
//! to it (docs/benchmarks.md#fleet-cargo-bench---bench-fleet).
//!
//! Cases, each with its goal:
//! - `outdated --all-clusters` over the 1,000 installations: < 1 s;
//! - `upgrade --all --all-clusters --dry-run` of the 1,000 (a new upstream version
//!   for every one): < 30 s;
//! - installing the 50-artifact profile `big` into all 50 clusters against
//!   installing it into one: < 3× (wall, and instructions when counted);
//! - the repository's growth from that install, against 50 separate installs of the
//!   same profile (one per cluster, each with its own copy): information, with the
//!   ratio of Git objects' bytes.
//!
//! `cargo bench --bench fleet` runs the full sizes; without `--bench` it runs 5
//! clusters × 2 installations once, as a smoke test. `PCTL_BENCH_CLUSTERS` and
//! `PCTL_BENCH_FLEET_INSTALLS` change the sizes, `PCTL_BENCH_RUNS=N` the runs per
//! case, `PCTL_BENCH_CALLGRIND=0` skips instruction counts, `PCTL_BENCH_KEEP=1`
//! keeps the inputs.
mod harness;

use harness::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Sizes {
    clusters: usize,
    installs: usize,
    runs: usize,
}

fn sizes() -> Sizes {
    let full = std::env::args().any(|a| a == "--bench");
    let var = |name: &str, full_size: usize, smoke: usize| -> usize {
        match std::env::var(name) {
            Ok(v) => v
                .parse()
                .ok()
                .filter(|n: &usize| *n > 0)
                .unwrap_or_else(|| panic!("{name}={v:?}: give a positive whole number")),
            Err(_) if full => full_size,
            Err(_) => smoke,
        }
    };
    Sizes {
        clusters: var("PCTL_BENCH_CLUSTERS", 50, 5),
        installs: var("PCTL_BENCH_FLEET_INSTALLS", 20, 2),
        runs: var("PCTL_BENCH_RUNS", 3, 1),
    }
}

fn cluster_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i:02}")).collect()
}

/// Bytes of the repository's Git objects (`git count-objects -v`, loose and packed).
fn git_bytes(sb: &Sandbox, repo: &Path) -> u64 {
    sb.git(repo, &["gc", "-q"]);
    let out = sb.git(repo, &["count-objects", "-v"]);
    out.lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| *k == "size" || *k == "size-pack")
        .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

/// A fleet of `clusters` clusters with `installs` installations of `app` in every
/// cluster (each one install into all clusters), packed.
fn fleet(sb: &Sandbox, name: &str, clusters: &[String], installs: usize, app: &str) -> PathBuf {
    let repo = sb.root.join(name);
    let r = repo.display().to_string();
    sb.pctl(&sb.root, &["init", &r, "--cluster", &clusters.join(",")]);
    let start = Instant::now();
    for i in 0..installs {
        let n = format!("i{i:02}");
        sb.pctl(
            &sb.root,
            &[
                "install",
                app,
                "--name",
                &n,
                "--namespace",
                &n,
                "--all-clusters",
                "--repo",
                &r,
            ],
        );
    }
    sb.git(&repo, &["gc", "-q"]);
    println!(
        "  fleet {name}: {} clusters × {installs} installations (made by {installs} fleet installs in {:.1} s), {} files",
        clusters.len(),
        start.elapsed().as_secs_f64(),
        sb.git(&repo, &["ls-files"]).lines().count()
    );
    repo
}

/// The arguments as `&str`s.
fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

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
        "sizes: {} clusters × {} installations, {} runs per case; instruction counts: {}",
        sizes.clusters,
        sizes.installs,
        sizes.runs,
        if count { "callgrind" } else { "off" }
    );
    let profiles = profiles_repo(&sb);
    let url = format!("file://{}", profiles.display());
    let app = format!("{url}//app@^1.0");
    let big = format!("{url}//big@1.0.0");
    let clusters = cluster_names(sizes.clusters);

    // 1. The fleet, then a newer `app` upstream for every installation.
    let repo = fleet(&sb, "fleet", &clusters, sizes.installs, &app);
    write(
        &profiles.join("app/manifests/configmap.yaml"),
        &app_manifest("1.1.0"),
    );
    sb.git(&profiles, &["commit", "-qam", "app 1.1.0"]);
    sb.git(&profiles, &["tag", "-a", "app/v1.1.0", "-m", "app 1.1.0"]);
    let r = repo.display().to_string();
    // One run fetches the new tag into the cache; the measured runs are warm.
    sb.pctl(&repo, &["outdated", "--all-clusters", "--repo", &r]);
    let mut s = Sample::new();
    for _ in 0..sizes.runs {
        let run = sb.pctl(&repo, &["outdated", "--all-clusters", "--repo", &r]);
        assert!(run.stdout.contains("1.1.0"), "{}", run.stdout);
        s.add(&run);
    }
    let (goal, met) = under(&s, Duration::from_secs(1));
    report.case(
        &format!(
            "outdated --all-clusters ({} installations)",
            sizes.clusters * sizes.installs
        ),
        &s,
        None,
        &goal,
        met,
    );
    let mut s = Sample::new();
    for _ in 0..sizes.runs {
        let run = sb.pctl(
            &repo,
            &[
                "upgrade",
                "--all",
                "--all-clusters",
                "--dry-run",
                "--repo",
                &r,
            ],
        );
        s.add(&run);
    }
    let (goal, met) = under(&s, Duration::from_secs(30));
    report.case(
        &format!(
            "upgrade --all --all-clusters --dry-run ({} installations)",
            sizes.clusters * sizes.installs
        ),
        &s,
        None,
        &goal,
        met,
    );

    // 2. `big` into every cluster against into one cluster, on the fleet above.
    let head = sb.git(&repo, &["rev-parse", "HEAD"]);
    let reset = |to: &str| {
        sb.git(&repo, &["reset", "-q", "--hard", to]);
        sb.git(&repo, &["clean", "-qfd"]);
    };
    let install = |target: &[&str]| {
        let mut args = vec!["install", &big, "--name", "big", "--namespace", "big"];
        args.extend_from_slice(target);
        args.extend_from_slice(&["--repo", &r]);
        args.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let one_args = install(&["--cluster", &clusters[0]]);
    let all_args = install(&["--all-clusters"]);
    // Warm the cache.
    sb.pctl(&repo, &refs(&one_args));
    reset(&head);
    let (mut one, mut all) = (Sample::new(), Sample::new());
    for _ in 0..sizes.runs {
        one.add(&sb.pctl(&repo, &refs(&one_args)));
        reset(&head);
        all.add(&sb.pctl(&repo, &refs(&all_args)));
        reset(&head);
    }
    let pctl = env!("CARGO_BIN_EXE_pctl");
    let (one_i, all_i) = if count {
        let a = sb.instructions(pctl, &repo, &refs(&one_args));
        reset(&head);
        let b = sb.instructions(pctl, &repo, &refs(&all_args));
        reset(&head);
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    report.case(
        "install big (50 artifacts) into 1 cluster",
        &one,
        one_i,
        "",
        None,
    );
    report.case(
        &format!("install big into all {} clusters", sizes.clusters),
        &all,
        all_i,
        "",
        None,
    );
    let wall = all.median().as_secs_f64() / one.median().as_secs_f64();
    let instr = one_i.zip(all_i).map(|(a, b)| b as f64 / a as f64);
    let met = instr.map_or(wall < 3.0, |i| i < 3.0);
    report.ratio(
        &format!("install into {} clusters vs into 1", sizes.clusters),
        wall,
        instr,
        "< 3× (instructions, else wall)",
        Some(met),
    );

    // 3. Repository growth: the fleet install against one install per cluster, in
    // files and bytes of the checkout (what Flux downloads and applies from) and in
    // packed Git objects (Git stores identical blobs once either way).
    let tree = |rev: &str| -> (usize, u64) {
        let out = sb.git(&repo, &["ls-tree", "-r", "-l", rev]);
        let sizes: Vec<u64> = out
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3)?.parse().ok())
            .collect();
        (sizes.len(), sizes.iter().sum())
    };
    let (files0, bytes0) = tree("HEAD");
    let pack0 = git_bytes(&sb, &repo);
    sb.pctl(&repo, &refs(&all_args));
    let (files1, bytes1) = tree("HEAD");
    let pack1 = git_bytes(&sb, &repo);
    reset(&head);
    let start = Instant::now();
    for c in &clusters {
        sb.pctl(&repo, &refs(&install(&["--cluster", c])));
    }
    let separate_took = start.elapsed();
    let (files2, bytes2) = tree("HEAD");
    let pack2 = git_bytes(&sb, &repo);
    let (shared_files, separate_files) = (files1 - files0, files2 - files0);
    let (shared_kib, separate_kib) = ((bytes1 - bytes0) / 1024, (bytes2 - bytes0) / 1024);
    println!(
        "  growth: one fleet install +{shared_files} files, +{shared_kib} KiB checkout, +{} KiB packed; {} separate installs (took {:.1} s) +{separate_files} files, +{separate_kib} KiB checkout, +{} KiB packed",
        pack1.saturating_sub(pack0) / 1024,
        sizes.clusters,
        separate_took.as_secs_f64(),
        pack2.saturating_sub(pack0) / 1024
    );
    report.rows.push(Row {
        what: format!(
            "repository growth: 1 fleet install vs {} installs",
            sizes.clusters
        ),
        wall: format!("{shared_files} vs {separate_files} files"),
        cpu: String::new(),
        instructions: format!("{shared_kib} vs {separate_kib} KiB checkout"),
        rss: String::new(),
        goal: "fewer (one copy)".into(),
        met: Some(shared_files < separate_files && shared_kib < separate_kib),
    });
    report.print();
    println!(
        "benchmark inputs and runs took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if std::env::var("PCTL_BENCH_KEEP").is_ok_and(|v| v == "1") {
        println!("inputs kept in {}", sb.root.display());
        std::mem::forget(sb);
    }
}
