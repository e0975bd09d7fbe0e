//! Credentials are scoped (docs/security.md, issue 11): token variables go only over HTTPS
//! (plain HTTP only to loopback) and only to the GitOps repository's remote host, the
//! forge API host, or hosts the user lists in `credentials.hosts` of their own
//! `~/.config/pctl/config.yaml`. Attacks are played against a local HTTP server that
//! answers 401 to everything and logs every `Authorization` header; a canary token
//! in the environment must reach no file, Git object, output or logged header.
//!
//! "Another host" on loopback: the GitOps remote and the trusted servers are named
//! `127.0.0.1`, the attacker `localhost` (both loopback, so plain HTTP is allowed,
//! but different host names). A host that is not loopback by name but reaches this
//! machine is `0.0.0.0` (Linux connects it to the local host).

use crate::common::forge::{Forge, ForgeServer};
use crate::common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A token distinctive enough that finding it anywhere is a leak.
const CANARY: &str = "pctl-CANARY-5e0c2b7a91d4f836";

// --- the attacker's server ---------------------------------------------------

/// One request the attacker's server saw.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    authorization: Option<String>,
}

/// An HTTP server on 127.0.0.1 that answers every request with 401 and
/// `WWW-Authenticate: Basic`, logging the request line and `Authorization` header.
struct Attacker {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Attacker {
    fn start() -> Attacker {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let s = s.clone();
                thread::spawn(move || serve_401(stream, &s));
            }
        });
        Attacker { port, seen, stop }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Every `Authorization` header received, decoded when it is Basic.
    fn authorizations(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter_map(|s| s.authorization)
            .map(|a| match a.strip_prefix("Basic ").and_then(base64_decode) {
                Some(d) => format!("{a} ({})", String::from_utf8_lossy(&d)),
                None => a,
            })
            .collect()
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_401(stream: TcpStream, seen: &Mutex<Vec<Seen>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            continue;
        }
        let mut authorization = None;
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("authorization") {
                    authorization = Some(v.trim().to_string());
                }
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        let _ = std::io::Read::read_exact(&mut reader, &mut body);
        seen.lock().unwrap().push(Seen {
            line,
            authorization,
        });
        let _ = writer.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"steal\"\r\nContent-Length: 0\r\n\r\n",
        );
        let _ = writer.flush();
    }
}

// --- helpers -------------------------------------------------------------------

/// Sets the canary as every token variable pctl knows.
fn set_canary(env: &Env) {
    for var in [
        "PCTL_GIT_TOKEN",
        "GITHUB_TOKEN",
        "GITLAB_TOKEN",
        "GITEA_TOKEN",
    ] {
        env.set_var(var, CANARY);
    }
}

/// Writes the user's own `~/.config/pctl/config.yaml` (here under the sandbox's
/// XDG_CONFIG_HOME).
fn user_config(env: &Env, text: &str) -> PathBuf {
    let dir = env.config.join("pctl");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

/// A profile repository (a local Git repository) whose profile `evil` nests a
/// profile from `url`.
fn evil_profile(env: &Env, url: &str) -> String {
    let repo = env.path("evil-profiles");
    std::fs::create_dir_all(repo.join("evil")).unwrap();
    std::fs::write(
        repo.join("evil/profile.yaml"),
        format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: evil\nspec:\n  description: Looks useful\n  artifacts:\n    - name: helper\n      profile:\n        source:\n          url: {url}\n          branch: main\n          path: helper\n"
        ),
    )
    .unwrap();
    git(
        &env.root,
        &["init", "-q", "-b", "main", repo.to_str().unwrap()],
    );
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "evil"]);
    source_url(&file_url(&repo), "evil", None)
}

/// Every regular file below `root`.
fn all_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// The canary is in no output, no file below `root` and no Git object of any
/// repository below it (packed objects are read with `git cat-file`).
#[track_caller]
fn assert_canary_nowhere(out: &Output, root: &Path) {
    let needle = CANARY.as_bytes();
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(&out.stdout) && !contains(&out.stderr),
        "the token appears in pctl's output\n{}",
        describe(out)
    );
    for f in all_files(root) {
        let data = std::fs::read(&f).unwrap();
        assert!(!contains(&data), "the token is written in {}", f.display());
    }
    let mut repos = 0;
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
            !contains(&out.stdout),
            "the token is in a Git object of {}",
            dir.display()
        );
        repos += 1;
    }
    assert!(repos >= 1, "no Git repository below {}", root.display());
}

/// The attacker was asked (the attack was really played) and got no token.
#[track_caller]
fn assert_asked_and_got_nothing(attacker: &Attacker) {
    let seen = attacker.seen();
    assert!(
        !seen.is_empty(),
        "the attacker's server was never reached: the test proves nothing"
    );
    let auths = attacker.authorizations();
    assert!(
        auths.is_empty(),
        "the attacker received credentials: {auths:?} (requests: {:?})",
        seen.iter().map(|s| s.line.as_str()).collect::<Vec<_>>()
    );
}

/// A GitOps repository whose `origin` is `url` (nothing is fetched from it unless a
/// command pushes).
fn gitops_with_origin(env: &Env, url: &str) -> PathBuf {
    let gitops = env.init_gitops("gitops");
    git(&gitops, &["remote", "add", "origin", url]);
    gitops
}

// --- a host only a profile names -----------------------------------------------

#[test]
fn a_nested_profile_on_a_host_only_the_profile_names_gets_no_token() {
    let env = Env::new();
    let attacker = Attacker::start();
    set_canary(&env);
    let gitops = gitops_with_origin(&env, "https://127.0.0.1/org/gitops.git");
    let steal = format!("http://localhost:{}/steal.git", attacker.port);
    let src = evil_profile(&env, &steal);
    let before = snapshot(&gitops);

    let out = env.install(&gitops, &src, "evil", &[]);
    assert_error(&out, 1);
    let host = format!("localhost:{}", attacker.port);
    assert_stderr_mentions(
        &out,
        &[
            &format!("{host} asks for credentials"),
            "pctl sends PCTL_GIT_TOKEN and the other token variables only to",
            "127.0.0.1",
            "credentials.hosts",
            "config.yaml",
        ],
    );
    assert!(
        !stderr(&out).contains("class="),
        "libgit2's text reaches the user\n{}",
        describe(&out)
    );
    assert_asked_and_got_nothing(&attacker);
    assert_unchanged(&before, &snapshot(&gitops));
    assert_canary_nowhere(&out, &env.root);

    // The test can fail: once the user lists the host, the token is sent to it.
    user_config(&env, "credentials:\n  hosts:\n    - localhost\n");
    let out = env.install(&gitops, &src, "evil", &[]);
    assert_error(&out, 1);
    let auths = attacker.authorizations();
    assert!(
        auths
            .iter()
            .any(|a| a.contains(&format!("x-access-token:{CANARY}"))),
        "a listed host did not receive the token: {auths:?}\n{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops));
}

#[test]
fn a_catalog_entry_committed_in_the_gitops_repository_gets_no_token() {
    let env = Env::new();
    let attacker = Attacker::start();
    set_canary(&env);
    let gitops = gitops_with_origin(&env, "https://127.0.0.1/org/gitops.git");
    std::fs::write(
        gitops.join(".pctl/catalogs.yaml"),
        format!(
            "apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: team\n    profiles:\n      - name: web\n        url: http://localhost:{}/steal.git\n        path: web\n        versions: [1.0.0]\n",
            attacker.port
        ),
    )
    .unwrap();
    git(&gitops, &["add", ".pctl/catalogs.yaml"]);
    git(&gitops, &["commit", "-qm", "team catalog"]);
    let before = snapshot(&gitops);

    let out = env.install(&gitops, "team/web@1.0.0", "web", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            &format!("localhost:{} asks for credentials", attacker.port),
            "credentials.hosts",
        ],
    );
    assert_asked_and_got_nothing(&attacker);
    assert_unchanged(&before, &snapshot(&gitops));
    assert_canary_nowhere(&out, &env.root);
}

// --- plain HTTP ----------------------------------------------------------------

#[test]
fn a_gitops_remote_on_plain_http_gets_no_token_and_no_pull_request() {
    let env = Env::new();
    let attacker = Attacker::start();
    set_canary(&env);
    // 0.0.0.0 reaches this machine but is not loopback by name: as a remote host
    // on the network would, it gets nothing over plain HTTP.
    let remote = format!("http://0.0.0.0:{}/org/gitops.git", attacker.port);
    let gitops = gitops_with_origin(&env, &remote);
    env.set_var("PCTL_FORGE", "gitea");
    let src = shared_repo("platform").source("nginx", None);
    let before = snapshot(&gitops);

    // The API derived from the remote is plain http:// too.
    let out = env.install(&gitops, &src, "ingress", &["--create-pr"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            &format!("plain http:// to 0.0.0.0:{}", attacker.port),
            "GITEA_TOKEN",
            "only over HTTPS",
            "https://",
        ],
    );
    assert_unchanged(&before, &snapshot(&gitops));

    // With a loopback forge API the remote itself is refused before the push.
    let forge = ForgeServer::start(Forge::Gitea, "org/gitops", CANARY, None);
    env.set_var("PCTL_FORGE_API_URL", &forge.api_url());
    let out = env.install(&gitops, &src, "ingress", &["--create-pr"]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            &format!("the GitOps remote {remote} is plain http://"),
            "nothing was pushed",
        ],
    );
    assert!(
        attacker.seen().is_empty(),
        "something was sent to the plain-http remote: {:?}",
        attacker.seen()
    );
    assert!(forge.requests().is_empty(), "the forge API was called");
    assert_unchanged(&before, &snapshot(&gitops));

    // `--repo http://…` (a remote GitOps repository): its fetch is asked for
    // credentials and gets none over plain HTTP.
    let out = env.pctl(["install", &src, "--name", "ingress", "--repo", &remote]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            &format!(
                "0.0.0.0:{} asks for credentials over plain http://",
                attacker.port
            ),
            "only over HTTPS",
            "hint: use the https:// URL",
        ],
    );
    assert_asked_and_got_nothing(&attacker);
    assert_unchanged(&before, &snapshot(&gitops));
    assert_canary_nowhere(&out, &env.root);
}

// --- the forge API ---------------------------------------------------------------

/// A served bare GitOps repository on `git daemon` (127.0.0.1), a local clone whose
/// origin is it, and a Gitea API for `org/gitops` that wants the canary.
struct ForgeWorld {
    env: Env,
    bare: PathBuf,
    local: PathBuf,
    forge: ForgeServer,
    _daemon: Server,
}

fn forge_world() -> ForgeWorld {
    let env = Env::new();
    let seed = env.init_gitops("seed");
    let root = env.path("served");
    let bare = bare_copy(&seed, &root.join("org"), "gitops");
    let daemon = git_daemon(&root);
    let local = env.path("gitops");
    git(
        &env.root,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            local.to_str().unwrap(),
        ],
    );
    git(
        &local,
        &["remote", "set-url", "origin", &daemon.url("org/gitops.git")],
    );
    let forge = ForgeServer::start(Forge::Gitea, "org/gitops", CANARY, Some(&bare));
    env.set_var("GITEA_TOKEN", CANARY);
    ForgeWorld {
        env,
        bare,
        local,
        forge,
        _daemon: daemon,
    }
}

fn refs_of(bare: &Path) -> String {
    git(
        bare,
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "for-each-ref",
            "--format=%(refname) %(objectname)",
        ],
    )
}

#[test]
fn a_committed_forge_api_url_cannot_send_the_token_to_a_new_host() {
    let w = forge_world();
    // The committed file names the forge's API as `localhost`: another host than the
    // remote's 127.0.0.1.
    let api = w.forge.api_url().replace("127.0.0.1", "localhost");
    assert!(api.contains("localhost"), "{api}");
    let cfg = w.local.join(".pctl/config.yaml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!("forge:\n  type: gitea\n  apiURL: {api}\n"));
    std::fs::write(&cfg, text).unwrap();
    git(&w.local, &["commit", "-qam", "forge settings"]);
    git(&w.local, &["push", "-q", "origin", "main"]);
    let refs = refs_of(&w.bare);
    let before = snapshot(&w.local);
    let src = shared_repo("platform").source("nginx", None);
    let local = w.local.display().to_string();
    let args = [
        "install",
        &src,
        "--name",
        "ingress",
        "--repo",
        &local,
        "--create-pr",
    ];

    let out = w.env.pctl(args);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            ".pctl/config.yaml: forge.apiURL",
            "GITEA_TOKEN",
            "localhost",
            "not the host of the GitOps remote (127.0.0.1)",
            "hint: if you trust localhost, add it to credentials.hosts",
        ],
    );
    assert!(
        w.forge.requests().is_empty(),
        "the forge API was called: {:?}",
        w.forge.requests().len()
    );
    assert_eq!(refs_of(&w.bare), refs, "something was pushed");
    assert_unchanged(&before, &snapshot(&w.local));
    assert_canary_nowhere(&out, &w.env.root);

    // Listed in the user's own configuration, the host is trusted: the pull request
    // is opened with the token.
    user_config(&w.env, "credentials:\n  hosts:\n    - localhost\n");
    let out = w.env.pctl(args);
    assert_success(&out);
    assert_eq!(w.forge.prs().len(), 1, "{}", describe(&out));
    let last = w.forge.requests().pop().unwrap();
    assert_eq!(
        last.header("authorization"),
        Some(format!("token {CANARY}").as_str())
    );
}

#[test]
fn a_forge_api_on_plain_http_is_refused_unless_loopback() {
    let w = forge_world();
    w.env.set_var("PCTL_FORGE", "gitea");
    w.env
        .set_var("PCTL_FORGE_API_URL", "http://gitea.example.com/api/v1");
    let refs = refs_of(&w.bare);
    let before = snapshot(&w.local);
    let src = shared_repo("platform").source("nginx", None);
    let local = w.local.display().to_string();
    let out = w.env.pctl([
        "install",
        &src,
        "--name",
        "ingress",
        "--repo",
        &local,
        "--create-pr",
    ]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "PCTL_FORGE_API_URL",
            "plain http:// to gitea.example.com",
            "GITEA_TOKEN",
            "hint: use the https:// URL",
        ],
    );
    assert_eq!(refs_of(&w.bare), refs, "something was pushed");
    assert_unchanged(&before, &snapshot(&w.local));
    assert_canary_nowhere(&out, &w.env.root);
}

// --- where tokens do go ------------------------------------------------------------

#[test]
fn the_token_is_sent_to_the_gitops_remote_host_and_profiles_on_it() {
    let env = Env::new();
    let root = env.path("served");
    bare_copy(shared_repo("platform").path(), &root, "platform");
    let seed = env.init_gitops("seed");
    bare_copy(&seed, &root.join("org"), "gitops");
    let server = http_backend_with(
        &root,
        HttpOptions {
            basic_auth: Some(BasicAuth {
                user: None,
                password: CANARY.into(),
            }),
            throttle: None,
        },
    );
    env.set_var("GITHUB_TOKEN", CANARY);
    let remote = server.url("org/gitops.git");
    let src = source_url(&server.url("platform.git"), "nginx", None);
    // No credentials.hosts: the profile's host is the GitOps remote's host.
    let out = env.pctl(["install", &src, "--name", "ingress", "--repo", &remote]);
    assert_success(&out);
    let users = server.auth_users();
    assert!(
        !users.is_empty() && users.iter().all(|u| u == "x-access-token"),
        "{users:?}"
    );
    let bare = root.join("org/gitops.git");
    let subject = git(
        &bare,
        &[
            "--git-dir",
            bare.to_str().unwrap(),
            "log",
            "-1",
            "--format=%s",
        ],
    );
    assert!(subject.contains("as ingress"), "{subject}");
}

#[test]
fn a_host_listed_in_credentials_hosts_gets_the_token() {
    let env = Env::new();
    let root = env.path("served");
    bare_copy(shared_repo("platform").path(), &root, "platform");
    let server = http_backend_with(
        &root,
        HttpOptions {
            basic_auth: Some(BasicAuth {
                user: None,
                password: CANARY.into(),
            }),
            throttle: None,
        },
    );
    env.set_var("PCTL_GIT_TOKEN", CANARY);
    let gitops = env.init_gitops("gitops");
    let src = source_url(&server.url("platform.git"), "nginx", None);
    // Without the listing the host (named only by the source) gets nothing …
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &src, "ingress", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            &format!("127.0.0.1:{} asks for credentials", server.port),
            "credentials.hosts",
        ],
    );
    assert!(server.auth_users().is_empty());
    assert_unchanged(&before, &snapshot(&gitops));
    // … a listing with another port does not cover it …
    user_config(&env, "credentials:\n  hosts:\n    - 127.0.0.1:1\n");
    let out = env.install(&gitops, &src, "ingress", &[]);
    assert_error(&out, 1);
    assert!(server.auth_users().is_empty());
    // … and an entry with its own port does.
    user_config(
        &env,
        &format!("credentials:\n  hosts:\n    - 127.0.0.1:{}\n", server.port),
    );
    let out = env.install(&gitops, &src, "ingress", &[]);
    assert_success(&out);
    assert!(!server.auth_users().is_empty());
    assert_canary_nowhere(&out, &env.root);
}

// --- the user's configuration ------------------------------------------------------

#[test]
fn a_bad_credentials_hosts_entry_names_the_file_field_and_reason() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let src = shared_repo("platform").source("nginx", None);
    for (text, reason) in [
        (
            "credentials:\n  hosts:\n    - https://github.com\n",
            "credentials.hosts[0] \"https://github.com\" is a URL",
        ),
        (
            "credentials:\n  hosts:\n    - github.com\n    - '*.corp.example'\n",
            "credentials.hosts[1] \"*.corp.example\" has a wildcard",
        ),
        (
            "credentials:\n  hosts:\n    - git.corp.example:70000\n",
            "is not 1 to 65535",
        ),
        ("credentials:\n  host: [github.com]\n", "host"),
    ] {
        let file = user_config(&env, text);
        let out = env.install(&gitops, &src, "ingress", &[]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[file.to_str().unwrap(), reason]);
        assert_stderr_mentions(&out, &["hint:", "credentials:"]);
        assert_unchanged(&before, &snapshot(&gitops));
    }
}

// --- transport errors in words ---------------------------------------------------------

#[test]
fn transport_errors_are_sentences_about_the_url_without_libgit2_text() {
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    let before = snapshot(&gitops);
    let missing = env.path("no-such-repo");
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for (src, words) in [
        (
            source_url(&file_url(&missing), "nginx", None),
            "there is no Git repository at",
        ),
        (
            format!("ssh://git@127.0.0.1:{port}/org/profiles.git//nginx"),
            "127.0.0.1",
        ),
        (
            format!("http://127.0.0.1:{port}/org/profiles.git//nginx"),
            "cannot connect to 127.0.0.1",
        ),
    ] {
        let out = env.install(&gitops, &src, "x", &[]);
        assert_error(&out, 1);
        let err = stderr(&out);
        assert!(
            !err.contains("class=") && !err.contains("code="),
            "libgit2's text reaches the user\n{}",
            describe(&out)
        );
        assert_stderr_mentions(&out, &[words, "hint:"]);
        assert_unchanged(&before, &snapshot(&gitops));
    }
}
