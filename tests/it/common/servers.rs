//! Git servers on 127.0.0.1: git daemon and a smart-HTTP server running git http-backend.
use super::*;

// ---------------------------------------------------------------------------
// Git servers
// ---------------------------------------------------------------------------

/// A bare mirror of `src` at `root/<name>.git`, ready to be served. Returns
/// its path.
pub fn bare_copy(src: &Path, root: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(root).unwrap();
    let dest = root.join(format!("{name}.git"));
    git(
        root,
        &[
            "clone",
            "-q",
            "--mirror",
            &src.display().to_string(),
            &dest.display().to_string(),
        ],
    );
    // Serve it as a plain bare repository: no remote to fetch from.
    git(&dest, &["remote", "remove", "origin"]);
    dest
}

pub(super) enum ServerKind {
    Daemon(Child),
    Http(Arc<AtomicBool>),
}

/// A Git server on 127.0.0.1, stopped on drop.
pub struct Server {
    pub port: u16,
    scheme: &'static str,
    kind: ServerKind,
    pub log: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    /// Usernames of the HTTP Basic credentials the server accepted (http only).
    auth_users: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `git://127.0.0.1:PORT/<repo>` or `http://127.0.0.1:PORT/<repo>`.
    pub fn url(&self, repo: &str) -> String {
        format!("{}://127.0.0.1:{}/{}", self.scheme, self.port, repo)
    }

    /// Requests seen so far (http only): `METHOD target -> status`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Usernames of the HTTP Basic credentials accepted so far (http with
    /// [`HttpOptions::basic_auth`] only), one per authenticated request.
    pub fn auth_users(&self) -> Vec<String> {
        self.auth_users.lock().unwrap().clone()
    }

    /// What the server logged (stderr of git daemon / http-backend).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.kind {
            ServerKind::Daemon(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            ServerKind::Http(stop) => {
                stop.store(true, Ordering::SeqCst);
                // Wake the accept loop.
                let _ = TcpStream::connect(("127.0.0.1", self.port));
            }
        }
    }
}

/// `git daemon --export-all --base-path=ROOT --enable=receive-pack` on a free
/// port of 127.0.0.1. Repositories are addressed as `git://127.0.0.1:PORT/<dir>`
/// relative to `root`.
pub fn git_daemon(root: &Path) -> Server {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = root.with_file_name(format!(
        "git-daemon-{}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    for _attempt in 0..10 {
        let port = free_port();
        let logf = std::fs::File::create(&log).unwrap();
        // Run git-daemon itself, not through the `git` wrapper: killing the wrapper
        // on drop would leave the daemon running (and listening) as an orphan.
        let daemon = Path::new(&git(root, &["--exec-path"])).join("git-daemon");
        let mut cmd = if daemon.is_file() {
            Command::new(&daemon)
        } else {
            let mut c = Command::new("git");
            c.arg("daemon");
            c
        };
        scrub_env(&mut cmd);
        cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", "/nonexistent")
            .args([
                "--export-all",
                "--reuseaddr",
                "--informative-errors",
                "--listen=127.0.0.1",
                "--enable=receive-pack",
            ])
            .arg(format!("--base-path={}", root.display()))
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf);
        let mut child = cmd.spawn().expect("cannot start git daemon");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // died (port taken?): try another port
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server {
                    port,
                    scheme: "git",
                    kind: ServerKind::Daemon(child),
                    log,
                    requests: Default::default(),
                    auth_users: Default::default(),
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
        "git daemon did not start; log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// A smart-HTTP Git server: a small HTTP/1.1 server (std only, a thread per
/// connection) running `git http-backend` as a CGI program with
/// GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL and http.receivepack enabled.
/// Repositories are `http://127.0.0.1:PORT/<dir>` relative to `root`.
pub fn http_backend(root: &Path) -> Server {
    http_backend_with(root, HttpOptions::default())
}

/// HTTP Basic authentication required by [`http_backend_with`].
#[derive(Debug, Clone, Default)]
pub struct BasicAuth {
    /// The username the server insists on; `None` accepts any username (as
    /// GitHub, GitLab and Gitea do for tokens).
    pub user: Option<String>,
    pub password: String,
}

/// Slows responses down: the body is written `chunk` bytes at a time with
/// `delay` before each chunk.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub chunk: usize,
    pub delay: Duration,
}

/// Options of the smart-HTTP test server.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Every request must carry these credentials, else `401` with
    /// `WWW-Authenticate: Basic realm="git"`.
    pub basic_auth: Option<BasicAuth>,
    /// Throttles the `git-upload-pack` responses (the pack data), so that a
    /// fetch takes a while.
    pub throttle: Option<Throttle>,
}

/// [`http_backend`] with authentication and/or throttling.
pub fn http_backend_with(root: &Path, opts: HttpOptions) -> Server {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = root.with_file_name(format!(
        "http-backend-{}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::write(&log, b"").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let requests: Arc<Mutex<Vec<String>>> = Default::default();
    let auth_users: Arc<Mutex<Vec<String>>> = Default::default();
    {
        let (stop, root, log, requests, users) = (
            stop.clone(),
            root.to_path_buf(),
            log.clone(),
            requests.clone(),
            auth_users.clone(),
        );
        let opts = Arc::new(opts);
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (root, log, requests, users, opts) = (
                    root.clone(),
                    log.clone(),
                    requests.clone(),
                    users.clone(),
                    opts.clone(),
                );
                thread::spawn(move || {
                    let extra = HttpExtra {
                        opts: &opts,
                        users: &users,
                    };
                    if let Err(e) = serve_http_connection(stream, &root, &log, &requests, &extra) {
                        append_log(&log, &format!("connection error: {e}\n"));
                    }
                });
            }
        });
    }
    Server {
        port,
        scheme: "http",
        kind: ServerKind::Http(stop),
        log,
        requests,
        auth_users,
    }
}

/// Options and records of [`http_backend_with`] for one connection.
pub(super) struct HttpExtra<'a> {
    opts: &'a HttpOptions,
    users: &'a Mutex<Vec<String>>,
}

/// `Ok(username)` when an `Authorization: Basic` value matches `auth`.
pub(super) fn check_basic_auth(value: Option<&str>, auth: &BasicAuth) -> Result<String, String> {
    let Some(value) = value else {
        return Err("no Authorization header".into());
    };
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Err("not Basic authorization".into());
    };
    let decoded = base64_decode(encoded).ok_or("invalid base64")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "credentials are not UTF-8")?;
    let (user, password) = decoded.split_once(':').ok_or("no ':' in credentials")?;
    if password != auth.password {
        return Err(format!("wrong password for {user:?}"));
    }
    if auth.user.as_deref().is_some_and(|u| u != user) {
        return Err(format!("wrong username {user:?}"));
    }
    Ok(user.to_string())
}

pub(super) fn append_log(log: &Path, text: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

pub(super) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn read_chunked<R: BufRead>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let size_hex = line.trim().split(';').next().unwrap_or("").to_string();
        let size = usize::from_str_radix(&size_hex, 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad chunk size {line:?}"),
            )
        })?;
        if size == 0 {
            // trailers until an empty line
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
    }
}

/// Serves requests on one connection (keep-alive) until the client closes it.
pub(super) fn serve_http_connection(
    stream: TcpStream,
    root: &Path,
    log: &Path,
    requests: &Mutex<Vec<String>>,
    extra: &HttpExtra,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let request_line = request_line.trim_end().to_string();
        if request_line.is_empty() {
            continue;
        }
        let mut parts = request_line.splitn(3, ' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let version = parts.next().unwrap_or("HTTP/1.0").to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
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
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if header("Expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            writer.flush()?;
        }
        let body = if header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            read_chunked(&mut reader)?
        } else if let Some(len) = header("Content-Length").and_then(|v| v.parse::<usize>().ok()) {
            let mut b = vec![0; len];
            reader.read_exact(&mut b)?;
            b
        } else {
            Vec::new()
        };
        let keep_alive = version == "HTTP/1.1"
            && !header("Connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));

        if let Some(auth) = &extra.opts.basic_auth {
            match check_basic_auth(header("Authorization").as_deref(), auth) {
                Ok(user) => extra.users.lock().unwrap().push(user),
                Err(why) => {
                    append_log(log, &format!("{method} {target}: 401 ({why})\n"));
                    requests
                        .lock()
                        .unwrap()
                        .push(format!("{method} {target} -> 401 Unauthorized"));
                    let body = b"authentication required\n";
                    let msg = format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n",
                        body.len(),
                        if keep_alive {
                            "Connection: keep-alive\r\n"
                        } else {
                            "Connection: close\r\n"
                        }
                    );
                    writer.write_all(msg.as_bytes())?;
                    writer.write_all(body)?;
                    writer.flush()?;
                    if !keep_alive {
                        return Ok(());
                    }
                    continue;
                }
            }
        }

        let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        let mut cmd = Command::new("git");
        scrub_env(&mut cmd);
        cmd.arg("http-backend")
            .env("HOME", "/nonexistent")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.receivepack")
            .env("GIT_CONFIG_VALUE_0", "true")
            .env("GIT_PROJECT_ROOT", root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("SERVER_PROTOCOL", &version)
            .env("SERVER_SOFTWARE", "pctl-test-cgi")
            .env("SERVER_NAME", "127.0.0.1")
            .env("REMOTE_ADDR", "127.0.0.1")
            .env("REQUEST_METHOD", &method)
            .env("REQUEST_URI", &target)
            .env("SCRIPT_NAME", "")
            .env("PATH_INFO", percent_decode(path))
            .env("QUERY_STRING", query)
            .env("CONTENT_LENGTH", body.len().to_string());
        if let Some(ct) = header("Content-Type") {
            cmd.env("CONTENT_TYPE", ct);
        }
        for (k, v) in &headers {
            let key = format!("HTTP_{}", k.to_ascii_uppercase().replace('-', "_"));
            if key != "HTTP_CONTENT_LENGTH"
                && key != "HTTP_CONTENT_TYPE"
                && key != "HTTP_TRANSFER_ENCODING"
            {
                cmd.env(key, v);
            }
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().unwrap();
        let feeder = thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let out = child.wait_with_output()?;
        let _ = feeder.join();
        append_log(log, &String::from_utf8_lossy(&out.stderr));

        // Split the CGI response into headers and body.
        let raw = out.stdout;
        let (head_end, sep_len) = match (find(&raw, b"\r\n\r\n"), find(&raw, b"\n\n")) {
            (Some(a), Some(b)) if b < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => (raw.len(), 0),
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
        let resp_body = &raw[(head_end + sep_len).min(raw.len())..];
        let mut status = "200 OK".to_string();
        let mut resp = Vec::new();
        for line in head.lines() {
            let line = line.trim_end_matches('\r');
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("Status") {
                    status = v.trim().to_string();
                } else if !k.eq_ignore_ascii_case("Content-Length") {
                    resp.push(format!("{}: {}", k.trim(), v.trim()));
                }
            }
        }
        if !out.status.success() && head.is_empty() {
            status = "500 Internal Server Error".into();
        }
        requests
            .lock()
            .unwrap()
            .push(format!("{method} {target} -> {status}"));
        let mut msg = format!("HTTP/1.1 {status}\r\n");
        for h in resp {
            msg.push_str(&h);
            msg.push_str("\r\n");
        }
        msg.push_str(&format!("Content-Length: {}\r\n", resp_body.len()));
        msg.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        writer.write_all(msg.as_bytes())?;
        match extra.opts.throttle {
            Some(t) if path.ends_with("/git-upload-pack") => {
                writer.flush()?;
                for chunk in resp_body.chunks(t.chunk.max(1)) {
                    thread::sleep(t.delay);
                    writer.write_all(chunk)?;
                    writer.flush()?;
                }
            }
            _ => writer.write_all(resp_body)?,
        }
        writer.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
