//! Transports and credentials (docs/guide.md, issue 2), against real servers:
//! token variables and Git credential helpers over smart HTTP with Basic
//! authentication, the SSH agent and key files against a real `sshd`, and fetch
//! progress and colour on a terminal (a pseudo-terminal made by `script`).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod more;

/// A token distinctive enough that finding it anywhere is a leak.
const TOKEN: &str = "pctl-TOKEN-7c1e9a44f0b2d38e5a61";

fn serve(env: &Env, repos: &[&str]) -> PathBuf {
    let root = env.path("served");
    for r in repos {
        bare_copy(shared_repo(r).path(), &root, r);
    }
    root
}

/// A smart-HTTP server for `platform` that wants `password` (and `user`, if
/// given) in HTTP Basic authentication on every request.
fn auth_server(env: &Env, user: Option<&str>, password: &str) -> Server {
    http_backend_with(
        &serve(env, &["platform"]),
        HttpOptions {
            basic_auth: Some(BasicAuth {
                user: user.map(str::to_string),
                password: password.to_string(),
            }),
            throttle: None,
        },
    )
}

/// The user lists `host` under `credentials.hosts` of their own pctl configuration:
/// the test server is named only by the profile source (the GitOps repository has no
/// remote), and such a host gets no token variable otherwise (docs/security.md).
fn trust_host(env: &Env, host: &str) {
    let dir = env.config.join("pctl");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        format!("credentials:\n  hosts:\n    - {host}\n"),
    )
    .unwrap();
}

/// The profile every test installs: monitoring (0.2.0, with nginx nested from
/// the same repository).
fn monitoring(base: &str) -> String {
    source_url(base, "monitoring", None)
}

#[track_caller]
fn assert_installed_monitoring(gitops: &Path, out: &Output) {
    assert_success(out);
    assert_eq!(
        head_subject(gitops),
        "pctl: install monitoring 0.2.0 as mon",
        "{}",
        describe(out)
    );
    check_installation(gitops, "mon");
}

/// The server really asked for credentials (a 401) and then served the pack.
#[track_caller]
fn assert_authenticated_fetch(server: &Server) {
    let reqs = server.requests();
    assert!(
        reqs.iter().any(|r| r.ends_with("-> 401 Unauthorized")),
        "the server never asked for credentials: {reqs:?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.contains("/git-upload-pack ") && r.ends_with("200 OK")),
        "no pack was served: {reqs:?}"
    );
}

/// Every regular file below `root`, `.git` directories included.
fn all_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// `secret` appears neither in the output nor in any file below `roots` nor in
/// any Git object (packed objects are compressed, so each repository's objects
/// are read with `git cat-file --batch-all-objects --batch`).
#[track_caller]
fn assert_secret_nowhere(secret: &str, out: &Output, roots: &[&Path]) {
    let needle = secret.as_bytes();
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(&out.stdout) && !contains(&out.stderr),
        "the secret appears in pctl's output\n{}",
        describe(out)
    );
    let mut repos = 0;
    for root in roots {
        for f in all_files(root) {
            let data = std::fs::read(&f).unwrap();
            assert!(!contains(&data), "the secret is written in {}", f.display());
        }
        for dir in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_dir())
            .map(|e| e.into_path())
            .filter(|d| d.join("HEAD").is_file() && d.join("objects").is_dir())
        {
            let out = git_cmd(&dir)
                .arg("--git-dir")
                .arg(&dir)
                .args(["cat-file", "--batch-all-objects", "--batch"])
                .output()
                .unwrap();
            assert!(out.status.success(), "git cat-file in {}", dir.display());
            assert!(
                !out.stdout.is_empty(),
                "{} has no objects to check",
                dir.display()
            );
            assert!(
                !contains(&out.stdout),
                "the secret is in a Git object of {}",
                dir.display()
            );
            repos += 1;
        }
    }
    assert!(repos >= 2, "expected the GitOps repository and a mirror");
}

/// The line of stderr starting with `prefix`.
fn line_starting<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

// --- token variables ---------------------------------------------------------

#[test]
fn pctl_git_token_authenticates_a_smart_http_fetch_and_is_written_nowhere() {
    let env = Env::new();
    let server = auth_server(&env, None, TOKEN);
    let gitops = env.init_gitops("gitops");
    env.set_var("PCTL_GIT_TOKEN", TOKEN);
    trust_host(&env, "127.0.0.1");
    let out = env.install(
        &gitops,
        &monitoring(&server.url("platform.git")),
        "mon",
        &[],
    );
    assert_installed_monitoring(&gitops, &out);
    assert_authenticated_fetch(&server);
    let users = server.auth_users();
    assert!(
        !users.is_empty() && users.iter().all(|u| u == "x-access-token"),
        "PCTL_GIT_TOKEN is sent as the password of x-access-token: {users:?}"
    );
    // The record keeps the URL as given (no credentials in it).
    let list = env.list_json(&gitops);
    assert_eq!(
        list_entry(&list, "mon")["source"],
        format!("{}//monitoring", server.url("platform.git"))
    );
    assert_secret_nowhere(TOKEN, &out, &[&env.root]);
    flux_dry_run(&gitops);
}

#[test]
fn github_gitlab_and_gitea_token_variables_authenticate_with_their_usernames() {
    let env0 = Env::new();
    let server = auth_server(&env0, None, TOKEN);
    for (var, user) in [
        ("GITHUB_TOKEN", "x-access-token"),
        ("GITLAB_TOKEN", "oauth2"),
        ("GITEA_TOKEN", "x-access-token"),
    ] {
        let env = Env::new(); // a fresh cache: the fetch happens again
        let gitops = env.init_gitops("gitops");
        env.set_var(var, TOKEN);
        trust_host(&env, "127.0.0.1");
        let seen = server.auth_users().len();
        let out = env.install(
            &gitops,
            &monitoring(&server.url("platform.git")),
            "mon",
            &[],
        );
        assert_installed_monitoring(&gitops, &out);
        let users = server.auth_users()[seen..].to_vec();
        assert!(
            !users.is_empty() && users.iter().all(|u| u == user),
            "{var}: expected username {user}, the server saw {users:?}"
        );
        assert_secret_nowhere(TOKEN, &out, &[&env.root]);
    }
}

#[test]
fn without_credentials_an_authenticated_fetch_fails_naming_the_url_with_a_hint() {
    let env = Env::new();
    let server = auth_server(&env, None, TOKEN);
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let url = server.url("platform.git");
    let out = env.install(&gitops, &monitoring(&url), "mon", &[]);
    assert_error(&out, 1);
    let err = stderr(&out);
    let line = line_starting(&err, "error: ").unwrap();
    assert!(
        line.contains(&url),
        "the error line does not name {url}\n{}",
        describe(&out)
    );
    assert!(
        line_starting(&err, "hint: ").is_some(),
        "no hint\n{}",
        describe(&out)
    );
    assert_stderr_mentions_any(
        &out,
        &["PCTL_GIT_TOKEN", "credential helper", "credentials"],
    );
    assert_unchanged(&before, &snapshot(&gitops));

    // A wrong token fails the same way, and is not echoed.
    let wrong = "pctl-WRONG-0d5f3b9e8c7a";
    env.set_var("PCTL_GIT_TOKEN", wrong);
    trust_host(&env, "127.0.0.1");
    let started = Instant::now();
    let out = env.install(&gitops, &monitoring(&url), "mon", &[]);
    assert_error(&out, 1);
    assert!(
        line_starting(&stderr(&out), "error: ").is_some_and(|l| l.contains(&url)),
        "{}",
        describe(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "pctl kept retrying a rejected token"
    );
    assert!(
        !stdout(&out).contains(wrong) && !stderr(&out).contains(wrong),
        "the token is echoed\n{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

// --- credential helpers ------------------------------------------------------

/// A credential helper script that records what Git asks (`get` input) in
/// `<sandbox>/helper.log` and answers `username`/`password`.
fn write_helper(env: &Env, user: &str, password: &str) -> PathBuf {
    let script = env.path("credential-helper.sh");
    let log = env.path("helper.log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             # git credential helper: answers `get`, ignores `store` and `erase`\n\
             test \"$1\" = get || {{ cat >/dev/null; exit 0; }}\n\
             {{ echo \"--- $1\"; cat; }} >>'{log}'\n\
             echo username={user}\n\
             echo password={password}\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_credential_helper_supplies_username_and_password_when_no_token_is_set() {
    let env = Env::new();
    // Like a server checking a password: the username must be the helper's.
    let server = auth_server(&env, Some("alice"), "helper-secret-61b0");
    let helper = write_helper(&env, "alice", "helper-secret-61b0");
    env.append_gitconfig(&format!("[credential]\n\thelper = {}\n", helper.display()));
    let gitops = env.init_gitops("gitops");
    let out = env.install(
        &gitops,
        &monitoring(&server.url("platform.git")),
        "mon",
        &[],
    );
    let asked = std::fs::read_to_string(env.path("helper.log")).unwrap_or_default();
    assert!(
        asked.contains("protocol=http"),
        "the helper was not asked for http credentials; it saw:\n{asked}\n{}",
        describe(&out)
    );
    assert!(
        out.status.success(),
        "install through the credential helper failed; the helper was asked:\n{asked}\nthe server saw users {:?} and logged:\n{}\n{}",
        server.auth_users(),
        server.log_text(),
        describe(&out)
    );
    assert_installed_monitoring(&gitops, &out);
    assert_authenticated_fetch(&server);
    assert!(
        server.auth_users().iter().all(|u| u == "alice"),
        "{:?}",
        server.auth_users()
    );
    // the password lives in the helper only
    std::fs::remove_file(&helper).unwrap();
    assert_secret_nowhere("helper-secret-61b0", &out, &[&env.root]);
    flux_dry_run(&gitops);
}

#[test]
fn git_credential_store_finds_the_entry_for_the_server() {
    let env = Env::new();
    let server = auth_server(&env, Some("alice"), "store-secret-93ad");
    // `git credential-store` matches on protocol, host and (when asked with
    // one) username; a decoy for another host comes first.
    let store = env.path("git-credentials");
    std::fs::write(
        &store,
        format!(
            "http://mallory:not-this-one@example.com\nhttp://alice:store-secret-93ad@localhost:{}\n",
            server.port
        ),
    )
    .unwrap();
    env.append_gitconfig(&format!(
        "[credential]\n\thelper = store --file={}\n",
        store.display()
    ));
    let gitops = env.init_gitops("gitops");
    let base = format!("http://localhost:{}/platform.git", server.port);
    // the git CLI itself authenticates with this configuration
    let probe = env
        .git_command(&env.work)
        .args(["ls-remote", &base])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "git ls-remote with the credential store failed: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let out = env.install(&gitops, &monitoring(&base), "mon", &[]);
    assert!(
        out.status.success(),
        "install through `git credential-store` failed; the server saw users {:?} and logged:\n{}\n{}",
        server.auth_users(),
        server.log_text(),
        describe(&out)
    );
    assert_installed_monitoring(&gitops, &out);
    assert!(
        server.auth_users().iter().all(|u| u == "alice"),
        "{:?}",
        server.auth_users()
    );
}

#[test]
fn a_token_variable_takes_precedence_over_the_credential_helper() {
    let env = Env::new();
    let server = auth_server(&env, None, TOKEN);
    let helper = write_helper(&env, "alice", "helper-password-not-the-token");
    env.append_gitconfig(&format!("[credential]\n\thelper = {}\n", helper.display()));
    env.set_var("PCTL_GIT_TOKEN", TOKEN);
    trust_host(&env, "127.0.0.1");
    let gitops = env.init_gitops("gitops");
    let out = env.install(
        &gitops,
        &monitoring(&server.url("platform.git")),
        "mon",
        &[],
    );
    assert_installed_monitoring(&gitops, &out);
    assert!(
        server.auth_users().iter().all(|u| u == "x-access-token"),
        "{:?}",
        server.auth_users()
    );
    assert!(
        !env.path("helper.log").exists(),
        "the helper was asked although PCTL_GIT_TOKEN is set"
    );
}

// --- SSH -------------------------------------------------------------------

const SSHD: &str = "/usr/sbin/sshd";

/// Whether to run the SSH tests: `sshd` is installed (see [`tool_or_skip`]).
fn sshd_available(test: &str) -> bool {
    tool_or_skip(
        Path::new(SSHD).is_file(),
        &format!("{SSHD} is missing (install openssh-server): {test}"),
    )
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keygen(path: &Path, comment: &str) {
    keygen_type(path, "ed25519", comment);
}

fn keygen_type(path: &Path, kind: &str, comment: &str) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", comment, "-f"])
        .arg(path));
}

/// A real `sshd` on 127.0.0.1 (foreground, own config, host key and
/// authorized key), logging in the current user by public key only.
struct Sshd {
    child: Child,
    port: u16,
    user: String,
    /// `ssh-ed25519 AAAA…` of the host key.
    host_key: String,
    /// The private key sshd authorizes.
    client_key: PathBuf,
    authorized: PathBuf,
    log: PathBuf,
}

impl Sshd {
    fn start(dir: &Path) -> Sshd {
        std::fs::create_dir_all(dir).unwrap();
        let host = dir.join("host_ed25519");
        let client = dir.join("client_ed25519");
        keygen(&host, "pctl-test-host");
        keygen(&client, "pctl-test-client");
        let authorized = dir.join("authorized_keys");
        std::fs::copy(client.with_extension("pub"), &authorized).unwrap();
        let host_pub = std::fs::read_to_string(host.with_extension("pub")).unwrap();
        let host_key = host_pub
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let user = run(Command::new("id").arg("-un")).trim().to_string();
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let log = dir.join("sshd.log");
        for _ in 0..10 {
            let port = free_port();
            let config = dir.join("sshd_config");
            std::fs::write(
                &config,
                format!(
                    "Port {port}\n\
                     ListenAddress 127.0.0.1\n\
                     HostKey {host}\n\
                     PidFile none\n\
                     AuthorizedKeysFile {authorized}\n\
                     StrictModes no\n\
                     PermitRootLogin yes\n\
                     PubkeyAuthentication yes\n\
                     PasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\n\
                     UsePAM no\n\
                     PrintMotd no\n\
                     LogLevel VERBOSE\n",
                    host = host.display(),
                    authorized = authorized.display()
                ),
            )
            .unwrap();
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("cannot start sshd");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken? try another one
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Sshd {
                        child,
                        port,
                        user,
                        host_key,
                        client_key: client,
                        authorized: authorized.clone(),
                        log,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        panic!(
            "sshd did not start; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// `ssh://USER@127.0.0.1:PORT/abs/path`
    fn url(&self, repo: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            repo.display()
        )
    }

    /// The `known_hosts` line for this server.
    fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_key)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Adds a public key to the authorized keys (sshd reads them at each login).
    fn authorize(&self, public_key: &Path) {
        let mut keys = std::fs::read_to_string(&self.authorized).unwrap();
        keys.push_str(&std::fs::read_to_string(public_key).unwrap());
        std::fs::write(&self.authorized, keys).unwrap();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ssh-agent -D -a SOCK` holding one key; stopped on drop.
struct Agent {
    child: Child,
    sock: PathBuf,
}

impl Agent {
    fn start(sock: &Path, key: &Path) -> Agent {
        let child = Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(sock)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start ssh-agent");
        let agent = Agent {
            child,
            sock: sock.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "ssh-agent did not start");
            thread::sleep(Duration::from_millis(20));
        }
        run(Command::new("ssh-add")
            .arg("-q")
            .arg(key)
            .env("SSH_AUTH_SOCK", sock));
        let listed = run(Command::new("ssh-add").arg("-l").env("SSH_AUTH_SOCK", sock));
        assert!(listed.contains("pctl-test-client"), "{listed}");
        agent
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sandbox that knows the server's host key, a GitOps repository and the
/// SOURCE `ssh://…/platform.git//nginx@nginx/v1.0.0`.
fn ssh_setup(env: &Env, sshd: &Sshd, known: bool) -> (PathBuf, String) {
    let ssh_dir = env.home.join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    if known {
        std::fs::write(ssh_dir.join("known_hosts"), sshd.known_hosts_line()).unwrap();
    }
    let repo = bare_copy(
        shared_repo("platform").path(),
        &env.path("served"),
        "platform",
    );
    let gitops = env.init_gitops("gitops");
    let src = source_url(&sshd.url(&repo), "nginx", Some("nginx/v1.0.0"));
    (gitops, src)
}

#[track_caller]
fn assert_installed_nginx(env: &Env, gitops: &Path, sshd: &Sshd, src: &str, out: &Output) {
    assert!(
        out.status.success(),
        "install over SSH failed\n{}\n--- sshd log ---\n{}",
        describe(out),
        sshd.log_text()
    );
    assert_eq!(head_subject(gitops), "pctl: install nginx 1.0.0 as web");
    let list = env.list_json(gitops);
    assert_eq!(
        list_entry(&list, "web")["source"],
        src.trim_end_matches("@nginx/v1.0.0")
    );
    assert!(
        sshd.log_text().contains("Accepted publickey for"),
        "sshd did not log a public-key login:\n{}",
        sshd.log_text()
    );
    check_installation(gitops, "web");
}
