//! HTTPS after the start-up change (docs/benchmarks.md#start-up): OpenSSL and libgit2's
//! TLS context are set up at the first TLS connection instead of at every start. A
//! catalog served over `https://` (a local smart-HTTP server behind TLS, with a
//! self-signed certificate) is still fetched when `SSL_CERT_FILE` names that
//! certificate, and refused, naming the URL and the reason, when it does not; a pull
//! request is still opened through a forge API behind TLS (native-tls, the other
//! user of OpenSSL).
use crate::common::forge::Forge;
use crate::common::*;
use crate::pr::{TOKEN, Transport, world};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `git http-backend` behind Python's TLS server: prints its port, then serves
/// `https://127.0.0.1:PORT/<dir>` for the repositories under ROOT.
const SERVER: &str = r#"
import http.server, ssl, subprocess, os, sys
root, cert, key = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def run(self):
        path, _, query = self.path.partition('?')
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL='1',
                   PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get('Content-Type') or '',
                   CONTENT_LENGTH=str(len(body)),
                   GIT_PROTOCOL=self.headers.get('Git-Protocol') or '')
        if self.headers.get('Content-Encoding'):
            env['HTTP_CONTENT_ENCODING'] = self.headers['Content-Encoding']
        out = subprocess.run(['git', 'http-backend'], input=body, env=env,
                             capture_output=True).stdout
        head, _, data = out.partition(b'\r\n\r\n')
        status, headers = 200, []
        for line in head.split(b'\r\n'):
            k, _, v = line.decode().partition(':')
            if k.lower() == 'status':
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = run
    do_POST = run
    def log_message(self, *args):
        pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

/// A TLS front for a plain TCP server on 127.0.0.1: prints its port, then forwards
/// each connection, decrypted, to the port given.
const PROXY: &str = r#"
import socket, ssl, sys, threading
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
def handle(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError):
        c.close()
        return
    u = socket.create_connection(('127.0.0.1', port))
    threading.Thread(target=pipe, args=(t, u), daemon=True).start()
    pipe(u, t)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
"#;

/// The server process, killed when dropped.
struct Https {
    child: Child,
    port: u16,
}

impl Drop for Https {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `openssl` (to make the certificate) and python3 with its `ssl` module are
/// here (skipped, or failed under CI, when not).
fn tools() -> bool {
    let present = runs("openssl", &["version"]) && runs("python3", &["-c", "import ssl"]);
    tool_or_skip(
        present,
        "the HTTPS test needs the openssl CLI and python3 with its ssl module",
    )
}

/// A self-signed certificate for 127.0.0.1: (certificate, key).
fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl req");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// Runs the Python `code` with ARGS, cert and key; returns it once it printed its port.
fn python_server(env: &Env, name: &str, code: &str, arg: &str, cert: &Path, key: &Path) -> Https {
    let script = env.root.join(name);
    std::fs::write(&script, code).unwrap();
    let mut cmd = env.tool_command("python3", &env.root);
    let mut child = cmd
        .arg(&script)
        .arg(arg)
        .arg(cert)
        .arg(key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the HTTPS server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the HTTPS server's port");
    Https { child, port }
}

fn serve(env: &Env, root: &Path, cert: &Path, key: &Path) -> Https {
    let root = root.display().to_string();
    python_server(env, "https-server.py", SERVER, &root, cert, key)
}

#[test]
fn a_catalog_over_https_is_fetched_with_the_trusted_certificate_and_refused_without() {
    if !tools() {
        return;
    }
    let env = Env::new();
    // A bare repository with one version tag of one profile.
    let served = env.root.join("served");
    let work = env.root.join("catalog-work");
    std::fs::create_dir_all(work.join("web")).unwrap();
    std::fs::write(
        work.join("web/profile.yaml"),
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: web\nspec:\n  description: A web server\n  artifacts:\n    - name: app\n      chart: {url: https://charts.example.com, name: app, version: 1.0.0}\n",
    )
    .unwrap();
    env.git(&env.root, &["init", "-q", "-b", "main", "catalog-work"]);
    env.git(&work, &["add", "-A"]);
    env.git(&work, &["commit", "-qm", "web"]);
    env.git(&work, &["tag", "-a", "web/v1.0.0", "-m", "first"]);
    std::fs::create_dir_all(&served).unwrap();
    env.git(
        &env.root,
        &["clone", "-q", "--bare", "catalog-work", "served/cat.git"],
    );
    let (cert, key) = self_signed(&env.root);
    let server = serve(&env, &served, &cert, &key);
    let url = format!("https://127.0.0.1:{}/cat.git", server.port);
    let catalogs = env.config.join("pctl/catalogs.yaml");

    // Not trusted: a certificate nobody signed is refused, and nothing is written.
    let untrusted = env.root.join("other.pem");
    std::fs::write(&untrusted, "").unwrap();
    env.set_var("SSL_CERT_FILE", &untrusted.display().to_string());
    env.set_var(
        "SSL_CERT_DIR",
        &env.root.join("no-certs").display().to_string(),
    );
    let out = env.pctl(["catalog", "add", "t", &url]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("the SSL certificate is invalid"), "{err}");
    assert!(!catalogs.exists(), "{err}");

    // Trusted: the scan reads the tag over TLS.
    env.remove_var("SSL_CERT_FILE");
    env.set_var("SSL_CERT_FILE", &cert.display().to_string());
    let out = env.pctl(["catalog", "add", "t", &url]);
    assert_success(&out);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("read 1 tag"), "{text}");
    let out = env.pctl(["search", "web"]);
    assert_success(&out);
    assert!(stdout(&out).contains("t/web"), "{}", stdout(&out));
}

#[test]
fn a_pull_request_is_opened_through_a_forge_api_behind_tls() {
    if !tools() {
        return;
    }
    let w = world(Forge::GitHub, Transport::Daemon);
    let (cert, key) = self_signed(&w.env.root);
    let api = w.forge.api_url();
    let rest = api
        .strip_prefix("http://127.0.0.1:")
        .expect("the forge's API URL");
    let (port, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let front = python_server(&w.env, "tls-front.py", PROXY, port, &cert, &key);
    let https_api = format!("https://127.0.0.1:{}{prefix}", front.port);
    w.env.remove_var("PCTL_FORGE_API_URL");
    w.env.set_var("PCTL_FORGE_API_URL", &https_api);

    // Not trusted: the forge's certificate is refused, and no pull request is opened
    // (the branch is pushed first, as for any forge error).
    let untrusted = w.env.root.join("other.pem");
    std::fs::write(&untrusted, "").unwrap();
    w.env
        .set_var("SSL_CERT_FILE", &untrusted.display().to_string());
    w.env.set_var(
        "SSL_CERT_DIR",
        &w.env.root.join("no-certs").display().to_string(),
    );
    let out = w.install_pr(&[]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&https_api), "{err}");
    assert!(err.contains("certificate verify failed"), "{err}");
    assert!(!stderr(&out).contains(TOKEN));
    assert!(w.forge.prs().is_empty());

    // Trusted: the pull request is opened over TLS.
    w.env.remove_var("SSL_CERT_FILE");
    w.env.set_var("SSL_CERT_FILE", &cert.display().to_string());
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert_eq!(w.forge.prs().len(), 1, "{}", stderr(&out));
}
