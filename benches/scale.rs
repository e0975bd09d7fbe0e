//! Scale benchmarks (issue 7), not timed tests: generates its inputs, runs the
//! release binary several times per case, and prints each median next to its target.
//!
//! Inputs, all generated in a temporary sandbox:
//! - a profiles repository with `app` (one raw-YAML artifact; versions 1.0.0 and,
//!   after the installations are made, 1.1.0) and `big` (50 artifacts in 4 levels
//!   of nested profiles, 100 manifest files);
//! - GitOps repository S: 1,000 files (100 installations of `app` plus filler
//!   manifests) and L: 20,000 files (500 installations plus filler manifests);
//! - a catalog repository of 1,000 profiles × 10 version tags.
//!
//! Cases: warm-cache install of `big` into S and L, against `git add` + `git commit`
//! of the very files pctl wrote and against `kpt pkg get` of the same package from
//! the same local repository; `list`, `outdated` and `upgrade --all` over the 500
//! installations of L, and `check` of L; the catalog's first scan, `search`, `show` and an
//! incremental `catalog update`. Peak RSS is measured for every run (wait4).
//!
//! `cargo bench --bench scale` runs the full sizes; without `--bench` (as
//! `cargo test --benches` runs it) it runs small sizes once, as a smoke test.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- sandbox and runs

struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

/// One run of a program: wall time, peak RSS (KiB), exit status and output.
struct Run {
    took: Duration,
    /// User + system CPU time (what the run cost, whatever else the machine did).
    cpu: Duration,
    rss_kib: u64,
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("pctl-bench-scale-")
            .tempdir()
            .expect("cannot create the sandbox");
        let root = dir.path().to_path_buf();
        for d in ["home", "cache", "config", "out"] {
            std::fs::create_dir_all(root.join(d)).expect("cannot create the sandbox");
        }
        Sandbox { _dir: dir, root }
    }

    fn env(&self, cmd: &mut Command) {
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
            .env("GIT_AUTHOR_NAME", "Bench")
            .env("GIT_AUTHOR_EMAIL", "bench@example.com")
            .env("GIT_COMMITTER_NAME", "Bench")
            .env("GIT_COMMITTER_EMAIL", "bench@example.com")
            .env("NO_COLOR", "1")
            .env("KPT_NO_UPDATE_CHECK", "1")
            // No automatic `git gc`: after the baseline's commits it runs detached and
            // prunes object directories while the next pctl run writes into them.
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "gc.auto")
            .env("GIT_CONFIG_VALUE_0", "0");
    }

    /// Run `program args` in `dir`, measuring wall time and peak RSS.
    // The child is reaped with wait4 (for its rusage), which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    fn run(&self, program: &str, dir: &Path, args: &[&str]) -> Run {
        let out = self.root.join("out/stdout");
        let err = self.root.join("out/stderr");
        let mut cmd = Command::new(program);
        self.env(&mut cmd);
        cmd.current_dir(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("cannot create a file"))
            .stderr(std::fs::File::create(&err).expect("cannot create a file"));
        let start = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let (status, rss_kib, cpu) = wait_rusage(child.id());
        let took = start.elapsed();
        Run {
            took,
            cpu,
            rss_kib,
            ok: status == 0,
            stdout: std::fs::read_to_string(&out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        }
    }

    fn pctl(&self, dir: &Path, args: &[&str]) -> Run {
        let r = self.run(env!("CARGO_BIN_EXE_pctl"), dir, args);
        assert!(r.ok, "pctl {args:?} failed:\n{}", r.stderr);
        r
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let r = self.run("git", dir, args);
        assert!(
            r.ok,
            "git {args:?} in {} failed:\n{}",
            dir.display(),
            r.stderr
        );
        r.stdout.trim().to_string()
    }

    fn git_stdin(&self, dir: &Path, args: &[&str], input: &[u8]) {
        use std::io::Write;
        let mut cmd = Command::new("git");
        self.env(&mut cmd);
        let mut child = cmd
            .current_dir(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cannot run git");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("cannot feed git");
        assert!(child.wait().expect("git").success(), "git {args:?} failed");
    }
}

/// Wait for `pid` and return its exit code, peak resident set size in KiB and CPU
/// time.
fn wait_rusage(pid: u32) -> (i32, u64, Duration) {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for a child this process spawned and has not waited for.
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(r, pid as libc::pid_t, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    (
        code,
        usage.ru_maxrss.max(0) as u64,
        tv(usage.ru_utime) + tv(usage.ru_stime),
    )
}

fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("cannot create a directory");
    }
    std::fs::write(path, text).expect("cannot write a file");
}

// ---------------------------------------------------------------- statistics

/// Wall times and peak RSS of the runs of one case.
struct Sample {
    times: Vec<Duration>,
    cpu: Vec<Duration>,
    rss_kib: Vec<u64>,
}

impl Sample {
    fn new() -> Self {
        Sample {
            times: Vec::new(),
            cpu: Vec::new(),
            rss_kib: Vec::new(),
        }
    }
    fn add(&mut self, r: &Run) {
        self.times.push(r.took);
        self.cpu.push(r.cpu);
        self.rss_kib.push(r.rss_kib);
    }
    fn add_sum(&mut self, runs: &[&Run]) {
        self.times.push(runs.iter().map(|r| r.took).sum());
        self.cpu.push(runs.iter().map(|r| r.cpu).sum());
        self.rss_kib
            .push(runs.iter().map(|r| r.rss_kib).max().unwrap_or(0));
    }
    fn median(&self) -> Duration {
        let mut v = self.times.clone();
        v.sort();
        v[v.len() / 2]
    }
    fn median_cpu(&self) -> Duration {
        let mut v = self.cpu.clone();
        v.sort();
        v[v.len() / 2]
    }
    fn min(&self) -> Duration {
        self.times.iter().copied().min().unwrap_or_default()
    }
    fn max(&self) -> Duration {
        self.times.iter().copied().max().unwrap_or_default()
    }
    fn peak_mib(&self) -> f64 {
        self.rss_kib.iter().copied().max().unwrap_or(0) as f64 / 1024.0
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// The results table, printed at the end.
struct Report {
    rows: Vec<[String; 7]>,
    misses: usize,
}

impl Report {
    fn case(&mut self, name: &str, s: &Sample, target: Option<Duration>) {
        let met_time = target.is_none_or(|t| s.median() < t);
        let met_rss = s.peak_mib() < 100.0;
        if !met_time || !met_rss {
            self.misses += 1;
        }
        let target_text = match target {
            Some(t) => format!("< {}; RSS < 100 MiB", ms(t)),
            None => "RSS < 100 MiB".to_string(),
        };
        self.rows.push([
            name.to_string(),
            format!("{} runs", s.times.len()),
            format!("{} ({}–{})", ms(s.median()), ms(s.min()), ms(s.max())),
            ms(s.median_cpu()),
            format!("{:.1} MiB", s.peak_mib()),
            target_text,
            verdict(met_time && met_rss),
        ]);
        println!(
            "  {name}: median {} (min {}, max {}), CPU {}, peak RSS {:.1} MiB",
            ms(s.median()),
            ms(s.min()),
            ms(s.max()),
            ms(s.median_cpu()),
            s.peak_mib()
        );
    }

    fn ratio(&mut self, name: &str, value: f64, limit: Option<f64>, note: &str) {
        let met = limit.is_none_or(|l| value <= l);
        if !met {
            self.misses += 1;
        }
        self.rows.push([
            name.to_string(),
            String::new(),
            format!("{value:.2}×"),
            String::new(),
            String::new(),
            match limit {
                Some(l) => format!("≤ {l:.2}×"),
                None => note.to_string(),
            },
            if limit.is_some() {
                verdict(met)
            } else {
                "(info)".into()
            },
        ]);
        println!("  {name}: {value:.2}×");
    }

    fn print(&self) {
        let heads = [
            "case",
            "runs",
            "wall: median (min–max)",
            "CPU (median)",
            "peak RSS",
            "target",
            "",
        ];
        let mut widths = heads.map(|h| h.chars().count());
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i] - c.chars().count();
                let _ = write!(s, " {c}{} |", " ".repeat(pad));
            }
            s
        };
        println!();
        println!("{}", line(&heads.map(String::from)));
        println!(
            "|{}",
            widths
                .iter()
                .map(|w| format!("{}|", "-".repeat(w + 2)))
                .collect::<String>()
        );
        for r in &self.rows {
            println!("{}", line(r));
        }
        println!();
        if self.misses == 0 {
            println!("every target met");
        } else {
            println!("{} target(s) missed", self.misses);
        }
    }
}

fn verdict(met: bool) -> String {
    if met { "met".into() } else { "MISSED".into() }
}

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
}

const APP_PROFILE: &str = "apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: app
spec:
  description: One ConfigMap
  artifacts:
    - name: config
      kustomize: {path: manifests}
";

fn app_manifest(version: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\ndata:\n  version: \"{version}\"\n  greeting: hello\n"
    )
}

/// `big`: 4 levels (big, big/l1, big/l1/l2, big/l1/l2/l3) of 12, 12, 12 and 14 raw
/// YAML artifacts (a Deployment and a Service each): 50 artifacts, 100 files.
fn write_big(dir: &Path) {
    let levels = [("big", 12), ("l1", 12), ("l2", 12), ("l3", 14)];
    let mut path = dir.to_path_buf();
    for (i, (name, n)) in levels.iter().enumerate() {
        if i > 0 {
            path = path.join(name);
        }
        let mut text = format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: {name}\nspec:\n  description: Level {i} of the 50-artifact benchmark profile\n  artifacts:\n"
        );
        for a in 0..*n {
            let _ = write!(
                text,
                "    - name: {name}-c{a:02}\n      kustomize: {{path: components/c{a:02}}}\n"
            );
            if a > 0 {
                let _ = writeln!(text, "      dependsOn: [{{name: {name}-c{:02}}}]", a - 1);
            }
            let comp = path.join(format!("components/c{a:02}"));
            let app = format!("{name}-c{a:02}");
            write(
                &comp.join("deployment.yaml"),
                &format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  labels: {{app: {app}}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {app}}}\n  template:\n    metadata:\n      labels: {{app: {app}}}\n    spec:\n      containers:\n        - name: main\n          image: registry.example.com/{app}:1.0.0\n          ports: [{{containerPort: 8080}}]\n          resources:\n            limits: {{cpu: 250m, memory: 128Mi}}\n"
                ),
            );
            write(
                &comp.join("service.yaml"),
                &format!(
                    "apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  selector: {{app: {app}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"
                ),
            );
        }
        if let Some((child, _)) = levels.get(i + 1) {
            let rel = levels[1..=i + 1]
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join("/");
            let _ = write!(
                text,
                "    - name: {child}\n      profile:\n        source: {{path: big/{rel}}}\n      dependsOn: [{{name: {name}-c00}}]\n"
            );
        }
        write(&path.join("profile.yaml"), &text);
    }
}

fn profiles_repo(sb: &Sandbox) -> PathBuf {
    let repo = sb.root.join("profiles");
    write(&repo.join("app/profile.yaml"), APP_PROFILE);
    write(
        &repo.join("app/manifests/configmap.yaml"),
        &app_manifest("1.0.0"),
    );
    write_big(&repo.join("big"));
    sb.git(&repo, &["init", "-q", "-b", "main"]);
    sb.git(&repo, &["add", "-A"]);
    sb.git(&repo, &["commit", "-qm", "app 1.0.0 and big 1.0.0"]);
    sb.git(&repo, &["tag", "-a", "app/v1.0.0", "-m", "app 1.0.0"]);
    sb.git(&repo, &["tag", "-a", "big/v1.0.0", "-m", "big 1.0.0"]);
    repo
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
    sb.git(repo, &["add", "-A"]);
    sb.git(repo, &["commit", "-qm", "filler manifests"]);
}

fn gitops(sb: &Sandbox, name: &str, app: &str, installs: usize, files: usize) -> PathBuf {
    let repo = sb.root.join(name);
    let r = repo.display().to_string();
    sb.pctl(&sb.root, &["init", &r]);
    let start = Instant::now();
    for i in 0..installs {
        // A namespace each: one namespace cannot hold the same objects twice (docs/security.md#trust-model).
        let n = format!("i{i:03}");
        sb.pctl(
            &sb.root,
            &[
                "install",
                app,
                "--name",
                &n,
                "--namespace",
                &n,
                "--repo",
                &r,
            ],
        );
    }
    let took = start.elapsed();
    fill(sb, &repo, files);
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
}

/// Install `big` (warm cache) `runs` times into `repo`, put back after each run; and
/// `git add` + `git commit` of the same files.
fn install_case(sb: &Sandbox, repo: &Path, big: &str, runs: usize) -> InstallCase {
    let r = repo.display().to_string();
    let base = sb.git(repo, &["rev-parse", "HEAD"]);
    let mut pctl = Sample::new();
    let mut git = Sample::new();
    let mut written: Vec<(String, Vec<u8>)> = Vec::new();
    // pctl and git take turns, so that a change in the machine's load hits both.
    for i in 0..runs {
        let run = sb.pctl(&sb.root, &["install", big, "--name", "big", "--repo", &r]);
        pctl.add(&run);
        if i == 0 {
            for f in sb
                .git(repo, &["diff", "--name-only", &base, "HEAD"])
                .lines()
            {
                let bytes = std::fs::read(repo.join(f)).expect("cannot read a written file");
                written.push((f.to_string(), bytes));
            }
        }
        reset(sb, repo, &base);
        for (f, bytes) in &written {
            let p = repo.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, bytes).expect("write");
        }
        let mut add_args: Vec<&str> = vec!["add", "--"];
        add_args.extend(written.iter().map(|(f, _)| f.as_str()));
        let add = sb.run("git", repo, &add_args);
        let commit = sb.run("git", repo, &["commit", "-q", "-m", "install big by hand"]);
        assert!(
            add.ok && commit.ok,
            "git add/commit failed: {}",
            commit.stderr
        );
        git.add_sum(&[&add, &commit]);
        reset(sb, repo, &base);
    }
    println!("  ({} files written by each install)", written.len());
    InstallCase { pctl, git }
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

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full {
        Sizes {
            small_installs: 100,
            small_files: 1_000,
            large_installs: 500,
            large_files: 20_000,
            catalog_profiles: 1_000,
            catalog_tags: 10,
            runs: 7,
            upgrade_runs: 3,
        }
    } else {
        Sizes {
            small_installs: 3,
            small_files: 50,
            large_installs: 5,
            large_files: 200,
            catalog_profiles: 10,
            catalog_tags: 2,
            runs: 1,
            upgrade_runs: 1,
        }
    };
    let started = Instant::now();
    let sb = Sandbox::new();
    let mut report = Report {
        rows: Vec::new(),
        misses: 0,
    };
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
    let s = install_case(&sb, &small, &big, sizes.runs);
    let l = install_case(&sb, &large, &big, sizes.runs);
    report.case(
        &format!("install big, S ({} files)", sizes.small_files),
        &s.pctl,
        None,
    );
    report.case("git add + commit of the same files, S", &s.git, None);
    report.case(
        &format!("install big, L ({} files)", sizes.large_files),
        &l.pctl,
        None,
    );
    report.case("git add + commit of the same files, L", &l.git, None);
    let ratio = |a: &Sample, b: &Sample| a.median().as_secs_f64() / b.median().as_secs_f64();
    report.ratio(
        "install / plain git, S",
        ratio(&s.pctl, &s.git),
        Some(1.5),
        "",
    );
    report.ratio(
        "install / plain git, L",
        ratio(&l.pctl, &l.git),
        Some(1.5),
        "",
    );
    report.ratio(
        "install L / install S",
        ratio(&l.pctl, &s.pctl),
        Some(1.2),
        "",
    );
    if let Some(k) = kpt_case(&sb, &profiles, sizes.runs) {
        report.case("kpt pkg get of big (local repository)", &k, None);
        report.ratio(
            "install S / kpt pkg get",
            ratio(&s.pctl, &k),
            None,
            "no target (kpt fetches, pctl also renders and commits)",
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
    report.case("list", &list, Some(Duration::from_millis(300)));
    report.case("outdated", &outdated, Some(Duration::from_millis(300)));
    report.case(
        "check (the whole repository)",
        &check,
        Some(Duration::from_secs(2)),
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
    report.case("upgrade --all", &upgrade, Some(Duration::from_secs(10)));

    println!(
        "catalog of {} profiles × {} tags:",
        sizes.catalog_profiles, sizes.catalog_tags
    );
    let cat = catalog_repo(&sb, sizes.catalog_profiles, sizes.catalog_tags);
    let cat_url = format!("file://{}", cat.display());
    let mut scan = Sample::new();
    scan.add(&sb.pctl(&sb.root, &["catalog", "add", "bench", &cat_url]));
    report.case("catalog add (first scan of every tag)", &scan, None);
    let mut search = Sample::new();
    let mut show = Sample::new();
    let mut update = Sample::new();
    for i in 0..sizes.runs {
        search.add(&sb.pctl(&sb.root, &["search", "ingress"]));
        show.add(&sb.pctl(&sb.root, &["show", "bench/p0004"]));
        sb.git(
            &cat,
            &["tag", "-a", &format!("p0001/v9.{i}.0"), "-m", "one more"],
        );
        update.add(&sb.pctl(&sb.root, &["catalog", "update", "bench"]));
    }
    report.case("search", &search, None);
    report.case("show", &show, None);
    report.case("catalog update (1 new tag)", &update, None);

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
