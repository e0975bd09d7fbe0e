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
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- sandbox and runs

struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// The largest peak RSS (KiB) of every pctl run so far.
    peak_kib: std::cell::Cell<u64>,
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
        Sandbox {
            _dir: dir,
            root,
            peak_kib: std::cell::Cell::new(0),
        }
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
        self.peak_kib.set(self.peak_kib.get().max(r.rss_kib));
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
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// Instructions in millions (`1.23 M`).
fn mega(n: u64) -> String {
    if n >= 10_000_000 {
        format!("{:.0} M", n as f64 / 1e6)
    } else {
        format!("{:.2} M", n as f64 / 1e6)
    }
}

/// One line of the results table.
struct Row {
    what: String,
    wall: String,
    cpu: String,
    instructions: String,
    rss: String,
    goal: String,
    /// None: no goal (information), or the goal's measure was not taken.
    met: Option<bool>,
}

/// The results table, printed at the end: one line per measurement, the goal, and
/// whether it was met.
struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// A measured case; `goal`/`met` as the caller judged it ("" / None: information).
    fn case(&mut self, what: &str, s: &Sample, instr: Option<u64>, goal: &str, met: Option<bool>) {
        println!(
            "  {what}: median {} (min {}, max {}), CPU {}, {}peak RSS {:.1} MiB",
            ms(s.median()),
            ms(s.min()),
            ms(s.max()),
            ms(s.median_cpu()),
            instr
                .map(|i| format!("{} instructions, ", mega(i)))
                .unwrap_or_default(),
            s.peak_mib()
        );
        self.rows.push(Row {
            what: what.to_string(),
            wall: format!(
                "{} ({}–{}), {} runs",
                ms(s.median()),
                ms(s.min()),
                ms(s.max()),
                s.times.len()
            ),
            cpu: ms(s.median_cpu()),
            instructions: instr.map(mega).unwrap_or_default(),
            rss: format!("{:.1} MiB", s.peak_mib()),
            goal: goal.to_string(),
            met,
        });
    }

    /// A ratio of two measurements: of wall medians and, when counted, of instructions.
    fn ratio(&mut self, what: &str, wall: f64, instr: Option<f64>, goal: &str, met: Option<bool>) {
        println!(
            "  {what}: {wall:.2}× wall{}",
            instr
                .map(|i| format!(", {i:.2}× instructions"))
                .unwrap_or_default()
        );
        self.rows.push(Row {
            what: what.to_string(),
            wall: format!("{wall:.2}×"),
            cpu: String::new(),
            instructions: instr.map(|i| format!("{i:.2}×")).unwrap_or_default(),
            rss: String::new(),
            goal: goal.to_string(),
            met,
        });
    }

    fn print(&self) {
        let heads = [
            "row",
            "wall: median (min–max)",
            "CPU (median)",
            "instructions (callgrind)",
            "peak RSS",
            "goal",
            "",
        ];
        let cells: Vec<[String; 7]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.what.clone(),
                    r.wall.clone(),
                    r.cpu.clone(),
                    r.instructions.clone(),
                    r.rss.clone(),
                    r.goal.clone(),
                    match (r.goal.is_empty(), r.met) {
                        (true, _) => "(info)".into(),
                        (false, Some(true)) => "met".into(),
                        (false, Some(false)) => "MISSED".into(),
                        (false, None) => "not measured".into(),
                    },
                ]
            })
            .collect();
        let mut widths = heads.map(|h| h.chars().count());
        for r in &cells {
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
        for r in &cells {
            println!("{}", line(r));
        }
        println!();
        let with_goal = self.rows.iter().filter(|r| !r.goal.is_empty());
        let (met, missed, unmeasured) = with_goal.fold((0, 0, 0), |(a, b, c), r| match r.met {
            Some(true) => (a + 1, b, c),
            Some(false) => (a, b + 1, c),
            None => (a, b, c + 1),
        });
        println!("goals: {met} met, {missed} missed, {unmeasured} not measured");
    }
}

// ---------------------------------------------------------------- callgrind

/// Whether instruction counts are taken: valgrind is installed and
/// PCTL_BENCH_CALLGRIND is not 0.
fn callgrind_enabled() -> bool {
    if std::env::var("PCTL_BENCH_CALLGRIND").is_ok_and(|v| v == "0") {
        return false;
    }
    Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Sandbox {
    /// Instructions of one run of `program args` in `dir` under callgrind, summed over
    /// every process it starts; asserts the run succeeds.
    fn instructions(&self, program: &str, dir: &Path, args: &[&str]) -> u64 {
        let out = self.root.join("out/callgrind.%p");
        let mut all = vec![
            "--tool=callgrind".to_string(),
            "--trace-children=yes".to_string(),
            format!("--callgrind-out-file={}", out.display()),
            program.to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let r = self.run("valgrind", dir, &refs);
        assert!(r.ok, "valgrind {program} {args:?} failed:\n{}", r.stderr);
        for e in std::fs::read_dir(self.root.join("out"))
            .expect("out")
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with("callgrind.") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        // "==PID== Collected : N", once per process.
        r.stderr
            .lines()
            .filter_map(|l| l.split_once("Collected : ").map(|(_, n)| n.trim()))
            .filter_map(|n| n.parse::<u64>().ok())
            .sum()
    }
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
    /// Runs of `--version`, `git --version` and `list` on an empty repository.
    startup_runs: usize,
}

/// The installation record's file name (pctl's `record::FILE`).
const RECORD: &str = "profile-installation.yaml";

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
    if files > have {
        sb.git(repo, &["add", "-A"]);
        sb.git(repo, &["commit", "-qm", "filler manifests"]);
    }
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
    pctl_instr: Option<u64>,
    git_instr: Option<u64>,
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
    let (mut pctl_instr, mut git_instr) = (None, None);
    if count {
        pctl_instr = Some(sb.instructions(env!("CARGO_BIN_EXE_pctl"), &sb.root, &install));
        put_back(&written);
        let args = add_args(&paths);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let add = sb.instructions("git", repo, &args);
        git_instr = Some(add + sb.instructions("git", repo, &commit));
        reset(sb, repo, &base);
    }
    InstallCase {
        pctl,
        git,
        pctl_instr,
        git_instr,
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
