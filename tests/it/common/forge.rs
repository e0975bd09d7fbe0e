//! A forge API on 127.0.0.1 for the pull-request tests: GitHub, GitLab or Gitea, each
//! held to its documented REST contract.
//!
//! The server (std only, a thread per connection) checks what the forge checks — the
//! method and path, the authentication header and token (`Authorization: Bearer` for
//! GitHub, `PRIVATE-TOKEN` for GitLab, `Authorization: token` for Gitea), GitHub's
//! `Accept`, `X-GitHub-Api-Version` and `User-Agent`, the JSON body's fields and
//! types, that the head branch exists in the served bare repository — and answers a
//! violation with the status and JSON the forge would send. It keeps the pull requests
//! it opened (so a second run finds and updates the open one), records every request,
//! and can be told to fail the next request of a method.
//!
//! What it models of the real forges, so that a green test means the forge agrees:
//! - **Duplicates**: one open pull request per head repository + head branch + base
//!   branch. GitLab answers a second 409 `Another open merge request already exists
//!   for this source branch: !N` (its rule is source project + source branch + target
//!   branch: the same branch into another target is allowed), GitHub 422 `A pull
//!   request already exists for OWNER:BRANCH.`, Gitea 409 `pull request already
//!   exists for these targets`.
//! - **Closed and merged** ([`ForgeServer::close_pr`], [`ForgeServer::merge_pr`]):
//!   `state=all` lists them too; a merged one is GitLab's state `merged` (not in
//!   `state=closed`), GitHub's `closed` with `merged_at`, Gitea's `closed` with
//!   `merged: true`.
//! - **Forks** ([`ForgeServer::seed_fork_pr`]): a fork's request into the repository
//!   appears in its lists with `head.repo` (GitHub, Gitea) or `source_project_id`
//!   (GitLab) naming the fork; GitHub's `head=OWNER:BRANCH` filter matches the head
//!   repository's owner, so a fork owned by the same account shows up.
//! - **Pages**: lists are newest first, cut to a page size (GitHub `per_page`, 30 by
//!   default, at most 100; GitLab `per_page`, 20, at most 100; Gitea `limit`, 30,
//!   capped at `MAX_RESPONSE_ITEMS`, 50 by default, [`ForgeServer::set_page_cap`]),
//!   with a `Link` header (`rel="next"`, `"last"`, … as absolute URLs) when there is
//!   more than one page, and Gitea's `X-Total-Count` / GitLab's `X-Total`. The
//!   links' base is the server, or Gitea's `ROOT_URL` ([`ForgeServer::set_root_url`]).
//! - **Gitea ≥ 1.22**'s `GET /repos/{o}/{r}/pulls/{base}/{head}`: the first pull
//!   request (any state, the oldest) from the repository's own `head` into `base`,
//!   404 when none; [`ForgeServer::gitea_before_1_22`] removes the endpoint.
//! - **Renamed repositories** ([`ForgeServer::renamed_from`]): GitHub answers the old
//!   path with 301 (GET) or 307 (other methods) to `/repositories/{id}/…`; Gitea
//!   with 307 to the new path (a relative `Location`). Both keep the query.
//! - **A moved forge** ([`ForgeServer::moved_to`]): every request is redirected (301
//!   GET, 308 others) to the same path on another base URL, as a load balancer does.
//! - **Rate limits** ([`ForgeServer::rate_limit_next`]): GitHub's secondary limit (403
//!   with `Retry-After` and a "secondary rate limit" message) or primary limit (403,
//!   `x-ratelimit-remaining: 0`, `x-ratelimit-reset`), GitLab's 429 `Retry later`
//!   (text) with `Retry-After` and `RateLimit-*`, a 429 with `Retry-After` before
//!   Gitea (its reverse proxy).
mod routes;

use super::{git_cmd, percent_decode, read_chunked};
use routes::{handle, rate_limited};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Which forge the server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    GitHub,
    GitLab,
    Gitea,
}

impl Forge {
    /// The value of `PCTL_FORGE`.
    pub fn env_name(self) -> &'static str {
        match self {
            Forge::GitHub => "github",
            Forge::GitLab => "gitlab",
            Forge::Gitea => "gitea",
        }
    }

    /// The variable pctl reads the token from.
    pub fn token_var(self) -> &'static str {
        match self {
            Forge::GitHub => "GITHUB_TOKEN",
            Forge::GitLab => "GITLAB_TOKEN",
            Forge::Gitea => "GITEA_TOKEN",
        }
    }

    /// The API path below the server root (GitHub Enterprise's `/api/v3`).
    pub fn api_prefix(self) -> &'static str {
        match self {
            Forge::GitHub => "/api/v3",
            Forge::GitLab => "/api/v4",
            Forge::Gitea => "/api/v1",
        }
    }
}

/// A pull (merge) request held by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pr {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub open: bool,
    /// Merged (closed by merging): GitLab's state `merged`, GitHub's `merged_at`,
    /// Gitea's `merged`.
    pub merged: bool,
    /// How many times it was edited after creation.
    pub updates: usize,
    /// The fork (`owner/name`) its head branch lives in; `None` for the repository
    /// itself.
    pub fork: Option<String>,
}

/// One request as received, with the status it was answered with.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path as sent (percent-encoding kept), without the query.
    pub path: String,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// The query as sent (without `?`).
    pub raw_query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// `METHOD path -> status`, for assertion messages.
    pub fn line(&self) -> String {
        format!("{} {} -> {}", self.method, self.path, self.status)
    }
}

struct Failure {
    method: String,
    status: u16,
    body: Value,
}

struct State {
    prs: Vec<Pr>,
    requests: Vec<Request>,
    failures: Vec<Failure>,
    /// The largest page a list answers (Gitea's `MAX_RESPONSE_ITEMS`).
    page_cap: usize,
    /// Gitea ≥ 1.22: `GET /pulls/{base}/{head}`.
    by_base_head: bool,
    /// The repository's former `owner/name`.
    old_name: Option<String>,
    /// Every request is redirected to this base URL.
    moved_to: Option<String>,
    /// The base of the `Link` URLs (Gitea's `ROOT_URL`); this server by default.
    root_url: Option<String>,
    /// The next requests are rate-limited: `Some(seconds)` with `Retry-After`,
    /// `None` as an exhausted quota (GitHub's primary limit).
    limits: Vec<Option<u64>>,
    /// Headers of the answer being built (pages' `Link`, a redirect's `Location`).
    reply_headers: Vec<(String, String)>,
}

impl State {
    fn new(kind: Forge) -> State {
        State {
            prs: Vec::new(),
            requests: Vec::new(),
            failures: Vec::new(),
            page_cap: if kind == Forge::Gitea { 50 } else { 100 },
            by_base_head: true,
            old_name: None,
            moved_to: None,
            root_url: None,
            limits: Vec::new(),
            reply_headers: Vec::new(),
        }
    }
}

/// GitHub's and Gitea's id of the served repository (GitLab's project id is 42).
const REPO_ID: u64 = 4242;
const PROJECT_ID: u64 = 42;

/// A fork's repository (project) id.
fn fork_id(fork: &str) -> u64 {
    9000 + fork.bytes().map(u64::from).sum::<u64>() % 997
}

struct Ctx {
    kind: Forge,
    port: u16,
    token: String,
    /// `owner/name` (the GitLab project path).
    repo: String,
    git_dir: Option<PathBuf>,
}

/// The forge API server; stopped on drop.
pub struct ForgeServer {
    pub kind: Forge,
    pub port: u16,
    ctx: Arc<Ctx>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl ForgeServer {
    /// A server for the repository `owner/name` that accepts only `token`. With
    /// `git_dir` (the served bare repository), a pull request's head and base must be
    /// branches there.
    pub fn start(kind: Forge, repo: &str, token: &str, git_dir: Option<&Path>) -> ForgeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let ctx = Arc::new(Ctx {
            kind,
            port,
            token: token.to_string(),
            repo: repo.to_string(),
            git_dir: git_dir.map(Path::to_path_buf),
        });
        let state = Arc::new(Mutex::new(State::new(kind)));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (ctx, state, stop) = (ctx.clone(), state.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let (ctx, state) = (ctx.clone(), state.clone());
                    thread::spawn(move || {
                        let _ = serve(stream, &ctx, &state);
                    });
                }
            });
        }
        ForgeServer {
            kind,
            port,
            ctx,
            state,
            stop,
        }
    }

    /// What `PCTL_FORGE_API_URL` must be.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.kind.api_prefix())
    }

    /// The web page of pull request `number`, as the forge's JSON gives it.
    pub fn web_url(&self, number: u64) -> String {
        web_url(&self.ctx, number)
    }

    pub fn prs(&self) -> Vec<Pr> {
        self.state.lock().unwrap().prs.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// `METHOD path -> status` for every request so far.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests().iter().map(Request::line).collect()
    }

    /// The next request with `method` is answered `status` with `body`, whatever it is.
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        self.state.lock().unwrap().failures.push(Failure {
            method: method.to_string(),
            status,
            body,
        });
    }

    /// Opens a pull request as if someone had (for "another one is already open").
    pub fn seed_pr(&self, head: &str, base: &str, title: &str) -> u64 {
        self.seed(None, head, base, title)
    }

    /// Opens a pull request from the branch `head` of the fork `fork` (`owner/name`).
    pub fn seed_fork_pr(&self, fork: &str, head: &str, base: &str, title: &str) -> u64 {
        self.seed(Some(fork), head, base, title)
    }

    fn seed(&self, fork: Option<&str>, head: &str, base: &str, title: &str) -> u64 {
        let mut st = self.state.lock().unwrap();
        let number = next_number(&st);
        st.prs.push(Pr {
            number,
            head: head.into(),
            base: base.into(),
            title: title.into(),
            body: String::new(),
            open: true,
            merged: false,
            updates: 0,
            fork: fork.map(str::to_string),
        });
        number
    }

    /// Closes pull request `number`.
    pub fn close_pr(&self, number: u64) {
        let mut st = self.state.lock().unwrap();
        if let Some(p) = st.prs.iter_mut().find(|p| p.number == number) {
            p.open = false;
        }
    }

    /// Merges pull request `number` (it is closed, and says it was merged).
    pub fn merge_pr(&self, number: u64) {
        let mut st = self.state.lock().unwrap();
        if let Some(p) = st.prs.iter_mut().find(|p| p.number == number) {
            p.open = false;
            p.merged = true;
        }
    }

    /// Lists answer at most `n` items a page (Gitea's `MAX_RESPONSE_ITEMS`).
    pub fn set_page_cap(&self, n: usize) {
        self.state.lock().unwrap().page_cap = n.max(1);
    }

    /// A Gitea older than 1.22: no `GET /pulls/{base}/{head}`.
    pub fn gitea_before_1_22(&self) {
        self.state.lock().unwrap().by_base_head = false;
    }

    /// The repository was called `old` (`owner/name`) before: requests for it are
    /// redirected as the forge does.
    pub fn renamed_from(&self, old: &str) {
        self.state.lock().unwrap().old_name = Some(old.to_string());
    }

    /// `Link` headers point at `base` (`http://host:port`): a Gitea whose `ROOT_URL`
    /// is not the address the API is called at.
    pub fn set_root_url(&self, base: &str) {
        self.state.lock().unwrap().root_url = Some(base.trim_end_matches('/').to_string());
    }

    /// Every request is redirected to the same path under `base` (`http://host:port`).
    pub fn moved_to(&self, base: &str) {
        self.state.lock().unwrap().moved_to = Some(base.trim_end_matches('/').to_string());
    }

    /// The next request is answered with the forge's rate-limit answer:
    /// `Some(seconds)` with `Retry-After`, `None` as an exhausted hourly quota.
    pub fn rate_limit_next(&self, retry_after: Option<u64>) {
        self.state.lock().unwrap().limits.push(retry_after);
    }
}

impl Drop for ForgeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn next_number(st: &State) -> u64 {
    // Issues and pull requests share numbers on GitHub and Gitea: start past 1.
    st.prs.iter().map(|p| p.number).max().unwrap_or(6) + 1
}

fn web_url(ctx: &Ctx, number: u64) -> String {
    let base = format!("http://127.0.0.1:{}/{}", ctx.port, ctx.repo);
    match ctx.kind {
        Forge::GitHub => format!("{base}/pull/{number}"),
        Forge::GitLab => format!("{base}/-/merge_requests/{number}"),
        Forge::Gitea => format!("{base}/pulls/{number}"),
    }
}

fn serve(stream: TcpStream, ctx: &Ctx, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Ok(());
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(&mut reader)?
    } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        let mut b = vec![0; n];
        reader.read_exact(&mut b)?;
        b
    } else {
        Vec::new()
    };
    let (path, raw_query) = target.split_once('?').unwrap_or((&target, ""));
    let query: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect();
    let mut req = Request {
        method,
        path: path.to_string(),
        query,
        raw_query: raw_query.to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        status: 0,
    };
    const JSON: &str = "application/json; charset=utf-8";
    let (status, content_type, text, extra) = {
        let mut st = state.lock().unwrap();
        st.reply_headers.clear();
        let injected = st
            .failures
            .iter()
            .position(|f| f.method == req.method)
            .map(|i| st.failures.remove(i));
        let (status, ct, text) = if let Some(f) = injected {
            (f.status, JSON, f.body.to_string())
        } else if let Some(base) = st.moved_to.clone() {
            // a load balancer in front of a forge that moved: no body to speak of
            let status = if req.method == "GET" { 301 } else { 308 };
            let q = if req.raw_query.is_empty() {
                String::new()
            } else {
                format!("?{}", req.raw_query)
            };
            st.reply_headers
                .push(("Location".into(), format!("{base}{}{q}", req.path)));
            (status, "text/html", "<html>Moved</html>".to_string())
        } else if !st.limits.is_empty() {
            let limit = st.limits.remove(0);
            rate_limited(ctx.kind, &mut st, limit)
        } else {
            let (s, v) = handle(ctx, &mut st, &req);
            (s, JSON, v.to_string())
        };
        (status, ct, text, std::mem::take(&mut st.reply_headers))
    };
    req.status = status;
    state.lock().unwrap().requests.push(req);
    let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        429 => "Too Many Requests",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        _ => "Error",
    };
    write!(
        writer,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    writer.flush()
}
