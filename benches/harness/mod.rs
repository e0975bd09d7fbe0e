//! What the benchmarks share: a sandbox with its own HOME, caches and Git identity,
//! runs measured for wall time, CPU and peak RSS (wait4), instruction counts under
//! callgrind, samples with their medians, the results table with goals, and the
//! generated profiles (`app`, and `big` with 50 artifacts in 4 nested levels).
#![allow(dead_code)]
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- sandbox and runs

pub struct Sandbox {
    pub _dir: tempfile::TempDir,
    pub root: PathBuf,
    /// The largest peak RSS (KiB) of every pctl run so far.
    pub peak_kib: std::cell::Cell<u64>,
}

/// One run of a program: wall time, peak RSS (KiB), exit status and output.
pub struct Run {
    pub took: Duration,
    /// User + system CPU time (what the run cost, whatever else the machine did).
    pub cpu: Duration,
    pub rss_kib: u64,
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    pub fn new() -> Sandbox {
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

    pub fn env(&self, cmd: &mut Command) {
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
    pub fn run(&self, program: &str, dir: &Path, args: &[&str]) -> Run {
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

    pub fn pctl(&self, dir: &Path, args: &[&str]) -> Run {
        let r = self.run(env!("CARGO_BIN_EXE_pctl"), dir, args);
        assert!(r.ok, "pctl {args:?} failed:\n{}", r.stderr);
        self.peak_kib.set(self.peak_kib.get().max(r.rss_kib));
        r
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let r = self.run("git", dir, args);
        assert!(
            r.ok,
            "git {args:?} in {} failed:\n{}",
            dir.display(),
            r.stderr
        );
        r.stdout.trim().to_string()
    }

    pub fn git_stdin(&self, dir: &Path, args: &[&str], input: &[u8]) {
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
pub fn wait_rusage(pid: u32) -> (i32, u64, Duration) {
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

pub fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("cannot create a directory");
    }
    std::fs::write(path, text).expect("cannot write a file");
}

// ---------------------------------------------------------------- statistics

/// Wall times and peak RSS of the runs of one case.
pub struct Sample {
    pub times: Vec<Duration>,
    pub cpu: Vec<Duration>,
    pub rss_kib: Vec<u64>,
}

impl Sample {
    pub fn new() -> Self {
        Sample {
            times: Vec::new(),
            cpu: Vec::new(),
            rss_kib: Vec::new(),
        }
    }
    pub fn add(&mut self, r: &Run) {
        self.times.push(r.took);
        self.cpu.push(r.cpu);
        self.rss_kib.push(r.rss_kib);
    }
    pub fn add_sum(&mut self, runs: &[&Run]) {
        self.times.push(runs.iter().map(|r| r.took).sum());
        self.cpu.push(runs.iter().map(|r| r.cpu).sum());
        self.rss_kib
            .push(runs.iter().map(|r| r.rss_kib).max().unwrap_or(0));
    }
    pub fn median(&self) -> Duration {
        let mut v = self.times.clone();
        v.sort();
        v[v.len() / 2]
    }
    pub fn median_cpu(&self) -> Duration {
        let mut v = self.cpu.clone();
        v.sort();
        v[v.len() / 2]
    }
    pub fn min(&self) -> Duration {
        self.times.iter().copied().min().unwrap_or_default()
    }
    pub fn max(&self) -> Duration {
        self.times.iter().copied().max().unwrap_or_default()
    }
    pub fn peak_mib(&self) -> f64 {
        self.rss_kib.iter().copied().max().unwrap_or(0) as f64 / 1024.0
    }
}

pub fn ms(d: Duration) -> String {
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
pub fn mega(n: u64) -> String {
    if n >= 10_000_000 {
        format!("{:.0} M", n as f64 / 1e6)
    } else {
        format!("{:.2} M", n as f64 / 1e6)
    }
}

/// One line of the results table.
pub struct Row {
    pub what: String,
    pub wall: String,
    pub cpu: String,
    pub instructions: String,
    pub rss: String,
    pub goal: String,
    /// None: no goal (information), or the goal's measure was not taken.
    pub met: Option<bool>,
}

/// The results table, printed at the end: one line per measurement, the goal, and
/// whether it was met.
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    /// A measured case; `goal`/`met` as the caller judged it ("" / None: information).
    pub fn case(
        &mut self,
        what: &str,
        s: &Sample,
        instr: Option<u64>,
        goal: &str,
        met: Option<bool>,
    ) {
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

    /// A case counted once with callgrind only (information, no goal).
    pub fn count_only(&mut self, what: &str, instr: u64) {
        println!("  {what}: {} instructions (one callgrind run)", mega(instr));
        self.rows.push(Row {
            what: what.to_string(),
            wall: String::new(),
            cpu: String::new(),
            instructions: mega(instr),
            rss: String::new(),
            goal: String::new(),
            met: None,
        });
    }

    /// A ratio of two instruction counts only (no wall times taken).
    pub fn count_ratio(&mut self, what: &str, instr: f64) {
        println!("  {what}: {instr:.2}× instructions");
        self.rows.push(Row {
            what: what.to_string(),
            wall: String::new(),
            cpu: String::new(),
            instructions: format!("{instr:.2}×"),
            rss: String::new(),
            goal: String::new(),
            met: None,
        });
    }

    /// A ratio of two measurements: of wall medians and, when counted, of instructions.
    pub fn ratio(
        &mut self,
        what: &str,
        wall: f64,
        instr: Option<f64>,
        goal: &str,
        met: Option<bool>,
    ) {
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

    pub fn print(&self) {
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
pub fn callgrind_enabled() -> bool {
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
    pub fn instructions(&self, program: &str, dir: &Path, args: &[&str]) -> u64 {
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

/// The installation record's file name (pctl's `record::FILE`).
pub const RECORD: &str = "profile-installation.yaml";

pub const APP_PROFILE: &str = "apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: app
spec:
  description: One ConfigMap
  artifacts:
    - name: config
      kustomize: {path: manifests}
";

pub fn app_manifest(version: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\ndata:\n  version: \"{version}\"\n  greeting: hello\n"
    )
}

/// `big`: 4 levels (big, big/l1, big/l1/l2, big/l1/l2/l3) of 12, 12, 12 and 14 raw
/// YAML artifacts (a Deployment and a Service each): 50 artifacts, 100 files.
pub fn write_big(dir: &Path) {
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

pub fn profiles_repo(sb: &Sandbox) -> PathBuf {
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
