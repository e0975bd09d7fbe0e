//! The sandbox (`Env`) and the pctl runner, timeouts and a pseudo-terminal; output assertions.
use super::*;

// ---------------------------------------------------------------------------
// The sandbox and the pctl runner
// ---------------------------------------------------------------------------

/// One test's private world: HOME, XDG directories, a global Git configuration
/// file (HOME/.gitconfig, also named by GIT_CONFIG_GLOBAL, so the git CLI and
/// libgit2 both read it), and a work directory used as the default cwd.
pub struct Env {
    _dir: TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub cache: PathBuf,
    pub config: PathBuf,
    pub gitconfig: PathBuf,
    pub work: PathBuf,
    vars: RefCell<Vec<(String, String)>>,
    unset: RefCell<Vec<String>>,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("pctl-test-")
            .tempdir()
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (home, cache, config, work) = (
            root.join("home"),
            root.join("cache"),
            root.join("config"),
            root.join("work"),
        );
        for d in [&home, &cache, &config, &work] {
            std::fs::create_dir_all(d).unwrap();
        }
        let gitconfig = home.join(".gitconfig");
        std::fs::write(
            &gitconfig,
            "[user]\n\tname = Pctl Test\n\temail = pctl-test@example.com\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
        Env {
            _dir: dir,
            root,
            home,
            cache,
            config,
            gitconfig,
            work,
            vars: RefCell::new(Vec::new()),
            unset: RefCell::new(Vec::new()),
        }
    }

    /// A path inside the sandbox root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Sets an extra environment variable for every later pctl run.
    pub fn set_var(&self, key: &str, value: &str) {
        self.vars.borrow_mut().push((key.into(), value.into()));
    }

    /// Removes an extra variable set with [`Env::set_var`].
    pub fn remove_var(&self, key: &str) {
        self.vars.borrow_mut().retain(|(k, _)| k != key);
    }

    /// Runs later commands without `key` in their environment at all (even
    /// one the sandbox sets, such as GIT_CONFIG_GLOBAL).
    pub fn unset_var(&self, key: &str) {
        self.remove_var(key);
        self.unset.borrow_mut().push(key.to_string());
    }

    /// Appends raw text to the global Git configuration.
    pub fn append_gitconfig(&self, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.gitconfig)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// `[url "<base>"] insteadOf = <prefix>`: Git rewrites URLs starting with
    /// `prefix` to start with `base`.
    pub fn insteadof(&self, base: &str, prefix: &str) {
        self.append_gitconfig(&format!("[url \"{base}\"]\n\tinsteadOf = {prefix}\n"));
    }

    /// Maps the placeholder [`ADDONS_URL`] to a local `addons` repository.
    pub fn map_addons(&self, addons: &TempRepo) {
        self.insteadof(&addons.url(), ADDONS_URL);
    }

    fn apply(&self, cmd: &mut Command) {
        scrub_env(cmd);
        cmd.env("HOME", &self.home)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("XDG_CONFIG_HOME", &self.config)
            .env("XDG_DATA_HOME", self.root.join("data"))
            .env("XDG_STATE_HOME", self.root.join("state"))
            .env("GIT_CONFIG_GLOBAL", &self.gitconfig)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("TERM", "dumb");
        for (k, v) in self.vars.borrow().iter() {
            cmd.env(k, v);
        }
        for k in self.unset.borrow().iter() {
            cmd.env_remove(k);
        }
    }

    /// A `pctl` command with this sandbox's environment, cwd = `self.work`.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(pctl_bin());
        self.apply(&mut cmd);
        cmd.current_dir(&self.work).args(args).stdin(Stdio::null());
        cmd
    }

    /// Runs `pctl ARGS` from `self.work` and returns its output (never panics
    /// on a non-zero exit; check with [`assert_success`] & co).
    pub fn pctl<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_with_timeout(self.command(args), Duration::from_secs(120))
    }

    /// Runs `pctl ARGS` from `cwd`.
    pub fn pctl_in<I, S>(&self, cwd: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        cmd.current_dir(cwd);
        run_with_timeout(cmd, Duration::from_secs(120))
    }

    /// Starts `pctl ARGS` without waiting (stdout and stderr piped).
    pub fn spawn<I, S>(&self, args: I) -> Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().expect("cannot start pctl")
    }

    /// The git CLI under this sandbox's HOME and Git configuration (so
    /// `insteadOf` rewrites apply), with a fixed identity.
    pub fn git_command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new("git");
        self.apply(&mut cmd);
        cmd.current_dir(dir).stdin(Stdio::null());
        cmd
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        run_git(self.git_command(dir), dir, args)
    }

    /// Writes `text` to `rel` in the repository `repo` and commits that file alone,
    /// as a user editing it by hand would.
    pub fn commit_file(&self, repo: &Path, rel: &str, text: &str) {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().expect("a file has a parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        self.git(repo, &["add", "-A", "--", rel]);
        self.git(
            repo,
            &["commit", "-q", "-m", &format!("edit {rel} by hand")],
        );
    }

    /// Any other program (`kpt`, `kubectl`, …) under this sandbox's HOME, XDG
    /// directories and Git configuration, run in `dir`.
    pub fn tool_command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        self.apply(&mut cmd);
        cmd.current_dir(dir).stdin(Stdio::null());
        cmd
    }

    /// `pctl init <root>/<name>`: a fresh GitOps repository with the default
    /// layout. Panics unless it succeeds.
    pub fn init_gitops(&self, name: &str) -> PathBuf {
        let path = self.root.join(name);
        let out = self.pctl(["init".as_ref(), path.as_os_str()]);
        assert_success(&out);
        path
    }

    /// `pctl install SOURCE --name NAME --repo GITOPS EXTRA...`
    pub fn install(&self, gitops: &Path, source: &str, name: &str, extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec![
            "install".into(),
            source.into(),
            "--name".into(),
            name.into(),
        ];
        args.push("--repo".into());
        args.push(gitops.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        self.pctl(&args)
    }

    /// `pctl list --repo GITOPS -o json`, parsed.
    pub fn list_json(&self, gitops: &Path) -> Vec<Value> {
        let out = self.pctl([
            "list",
            "--repo",
            &gitops.display().to_string(),
            "-o",
            "json",
        ]);
        assert_success(&out);
        match serde_json::from_slice::<Value>(&out.stdout) {
            Ok(Value::Array(a)) => a,
            other => panic!(
                "pctl list -o json did not print a JSON array: {other:?}\n{}",
                describe(&out)
            ),
        }
    }
}

/// Runs a command, killing it if it takes longer than `limit`.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let so = t_out.join().unwrap();
            let se = t_err.join().unwrap();
            panic!(
                "{cmd:?} did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&so),
                String::from_utf8_lossy(&se)
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// `s` quoted for a POSIX shell.
pub fn shell_quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"))
}

/// Runs `cmd` (program, arguments, environment changes and cwd) under a
/// pseudo-terminal with `script -qec CMD /dev/null` (util-linux), so that its
/// stdin, stdout and stderr are a terminal. Everything it wrote comes back in
/// `stdout` (stdout and stderr interleaved, lines ending in `\r\n`); `stderr`
/// holds what `script` itself said; the status is the command's.
pub fn run_in_pty(cmd: &Command, limit: Duration) -> Output {
    let mut line = shell_quote(cmd.get_program());
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let mut pty = Command::new("script");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => pty.env(k, v),
            None => pty.env_remove(k),
        };
    }
    // script runs the command with $SHELL -c.
    pty.env("SHELL", "/bin/sh");
    if let Some(dir) = cmd.get_current_dir() {
        pty.current_dir(dir);
    }
    pty.args(["-qec", &line, "/dev/null"]).stdin(Stdio::null());
    run_with_timeout(pty, limit)
}

impl Env {
    /// Runs `pctl ARGS` from `self.work` under a pseudo-terminal (see
    /// [`run_in_pty`]): stderr is a terminal, as for a user at a shell.
    pub fn pctl_tty<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_in_pty(&self.command(args), Duration::from_secs(120))
    }
}

/// Waits for a spawned process and collects its output.
pub fn wait_output(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

// ---------------------------------------------------------------------------
// Output assertions
// ---------------------------------------------------------------------------

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn describe(out: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        stdout(out),
        stderr(out)
    )
}

#[track_caller]
pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "pctl failed\n{}", describe(out));
}

#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "unexpected exit code\n{}",
        describe(out)
    );
}

/// Exit `code`, an `error: ` line on stderr, and nothing on stdout (data goes
/// to stdout only, and a failed command has none).
#[track_caller]
pub fn assert_error(out: &Output, code: i32) {
    assert_exit(out, code);
    let err = stderr(out);
    assert!(
        err.lines().any(|l| l.starts_with("error: ")),
        "stderr has no `error: ` line\n{}",
        describe(out)
    );
    assert!(
        out.stdout.is_empty(),
        "a failing command printed on stdout\n{}",
        describe(out)
    );
}

/// stderr contains every needle (case-insensitive).
#[track_caller]
pub fn assert_stderr_mentions(out: &Output, needles: &[&str]) {
    let err = stderr(out).to_lowercase();
    for n in needles {
        assert!(
            err.contains(&n.to_lowercase()),
            "stderr does not mention {n:?}\n{}",
            describe(out)
        );
    }
}

/// stderr contains at least one of the alternatives (case-insensitive).
#[track_caller]
pub fn assert_stderr_mentions_any(out: &Output, alternatives: &[&str]) {
    let err = stderr(out).to_lowercase();
    assert!(
        alternatives.iter().any(|n| err.contains(&n.to_lowercase())),
        "stderr mentions none of {alternatives:?}\n{}",
        describe(out)
    );
}
