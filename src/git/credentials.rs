//! Where token variables may go (docs/security.md, "Credentials are scoped"), and transport
//! errors (fetch, push, credentials) as sentences about the URL or host instead of
//! libgit2's text.
//!
//! `PCTL_GIT_TOKEN`, `GITHUB_TOKEN`, `GITLAB_TOKEN` and `GITEA_TOKEN` are offered to a
//! server that asks for a password only when the URL Git connects to (after
//! `url.<base>.insteadOf`, after a redirect) is `https://` (or `http://` to a loopback
//! address: `127.0.0.0/8`, `::1`, `localhost`) and its host is one of: a host of the
//! GitOps repository's remotes (registered when the workspace is opened), the host of
//! `PCTL_FORGE_API_URL` (the user's own environment), or a host listed in the user's
//! `credentials.hosts` ([`crate::userconfig`]). A host that only a profile, a catalog
//! or a committed file names is never among them. Git credential helpers and the SSH
//! agent are not affected: Git scopes them itself.
use super::{Workspace, rewrite_url, user_config};
use crate::error::user;
use std::cell::RefCell;
use std::sync::Mutex;

/// The token variables, in the order they are tried.
pub const TOKEN_VARS: [&str; 4] = [
    "PCTL_GIT_TOKEN",
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "GITEA_TOKEN",
];

/// Hosts of the GitOps repository's remotes seen in this process.
static GITOPS_HOSTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

thread_local! {
    /// Why the last credentials request got no token, for the error of the fetch or
    /// push that then fails.
    static REFUSED: RefCell<Option<Refusal>> = const { RefCell::new(None) };
}

/// A URL's parts as the scope sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Lower case: `https`, `http`, `ssh`, …
    pub scheme: String,
    /// Lower case; IPv6 addresses in brackets.
    pub host: String,
    /// The explicit port, else the scheme's default (443, 80, 22, 9418).
    pub port: u16,
}

impl Endpoint {
    /// `host` or `host:port` when the port is not the scheme's default.
    pub fn shown(&self) -> String {
        if Some(self.port) == default_port(&self.scheme) {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        "ssh" => Some(22),
        "git" => Some(9418),
        _ => None,
    }
}

/// The scheme, host and port of `scheme://[user@]host[:port]/…` or the scp-like
/// `[user@]host:path`; None for a local path or `file://`.
pub fn endpoint(url: &str) -> Option<Endpoint> {
    let (scheme, authority) = match url.split_once("://") {
        Some((s, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            (s.to_ascii_lowercase(), &rest[..end])
        }
        None => {
            let (before, _) = url.split_once(':')?;
            if before.contains('/') || before.is_empty() {
                return None;
            }
            ("ssh".to_string(), before)
        }
    };
    if scheme == "file" {
        return None;
    }
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) if url.contains("://") => (h.to_string(), Some(p)),
            _ => (hostport.to_string(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => p.parse().ok()?,
        None => default_port(&scheme)?,
    };
    Some(Endpoint {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// `localhost`, an address of 127.0.0.0/8, or `[::1]`: the names plain HTTP may carry a
/// token to. A name is judged as written (never resolved), so `0.0.0.0` or a host
/// name that happens to resolve to 127.0.0.1 is not loopback.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    if h == "localhost" {
        return true;
    }
    if let Ok(v4) = h.parse::<std::net::Ipv4Addr>() {
        return v4.is_loopback();
    }
    h.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<std::net::Ipv6Addr>().ok())
        .is_some_and(|v6| v6.is_loopback())
}

/// Trust the host of `url` (a remote of the GitOps repository, in any scheme) with the
/// token variables for the rest of this process.
pub fn trust_gitops_url(url: &str) {
    let Some(ep) = endpoint(url) else {
        return;
    };
    if let Ok(mut hosts) = GITOPS_HOSTS.lock()
        && !hosts.contains(&ep.host)
    {
        hosts.push(ep.host);
    }
}

/// Trust the hosts of the GitOps repository's remotes: `--repo URL`, or every remote
/// (URL and push URL, as written and after the user's `insteadOf` rewrites) of a
/// local repository, whose `.git/config` is the user's own.
pub(crate) fn trust_workspace(ws: &Workspace) {
    let mut urls = Vec::new();
    let local_config;
    let cfg = match ws {
        Workspace::Remote { url, config, .. } => {
            urls.push(url.clone());
            Some(config)
        }
        Workspace::Local { repo, .. } => {
            if let Ok(names) = repo.remotes() {
                for name in names.iter().flatten().flatten() {
                    if let Ok(r) = repo.find_remote(name) {
                        urls.extend(r.url().ok().map(str::to_string));
                        urls.extend(r.pushurl().ok().flatten().map(str::to_string));
                    }
                }
            }
            local_config = user_config().ok();
            local_config.as_ref()
        }
    };
    for u in &urls {
        trust_gitops_url(u);
        if let Some(cfg) = cfg {
            trust_gitops_url(&rewrite_url(cfg, u, false));
            trust_gitops_url(&rewrite_url(cfg, u, true));
        }
    }
}

/// Why a server that asked for a password got no token variable.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The URL is plain `http://` to a host that is not loopback.
    PlainHttp { host: String, var: &'static str },
    /// The host is not one pctl sends tokens to.
    NotAllowed {
        host: String,
        var: &'static str,
        allowed: String,
    },
    /// The user's configuration could not be read: (message, hint).
    Config(String, String),
}

impl Refusal {
    /// The error of `action` (`cannot fetch URL`) that failed because of this.
    pub fn error(&self, action: &str) -> anyhow::Error {
        let file = crate::userconfig::shown_path();
        match self {
            Refusal::PlainHttp { host, var } => user(
                format!(
                    "{action}: {host} asks for credentials over plain http://; pctl sends {var} and the other token variables only over HTTPS (plain HTTP only to 127.0.0.1, ::1 or localhost)"
                ),
                "use the https:// URL of the repository, or an SSH URL; a plain-http server should not ask for a password",
            ),
            Refusal::NotAllowed { host, var, allowed } => user(
                format!(
                    "{action}: {host} asks for credentials; pctl sends {var} and the other token variables only to {allowed}"
                ),
                format!(
                    "if you trust {host}, add it to credentials.hosts in {file}; a Git credential helper or the SSH agent also work for it"
                ),
            ),
            Refusal::Config(msg, hint) => user(msg.clone(), hint.clone()),
        }
    }
}

/// The first token variable that is set and not empty, with its value.
pub fn token_from_env() -> Option<(&'static str, String)> {
    TOKEN_VARS.iter().find_map(|var| {
        std::env::var(var)
            .ok()
            .filter(|t| !t.is_empty())
            .map(|t| (*var, t))
    })
}

/// Whether a token variable may be sent to `url` (the URL Git is connected to);
/// `var` names the variable in the refusal.
pub fn check(url: &str, var: &'static str) -> Result<(), Refusal> {
    let Some(ep) = endpoint(url) else {
        return Err(Refusal::NotAllowed {
            host: crate::git::redact_url(url),
            var,
            allowed: allowed_description(),
        });
    };
    if ep.scheme != "https" && !(ep.scheme == "http" && is_loopback(&ep.host)) {
        return Err(Refusal::PlainHttp {
            host: ep.shown(),
            var,
        });
    }
    let config = crate::userconfig::load().map_err(|e| {
        let (msg, _, hints) = crate::error::describe(&e);
        Refusal::Config(msg, hints.into_iter().next().unwrap_or_default())
    })?;
    if host_allowed(&ep, config) {
        Ok(())
    } else {
        Err(Refusal::NotAllowed {
            host: ep.shown(),
            var,
            allowed: allowed_description(),
        })
    }
}

fn host_allowed(ep: &Endpoint, config: &crate::userconfig::UserConfig) -> bool {
    if GITOPS_HOSTS
        .lock()
        .is_ok_and(|hosts| hosts.contains(&ep.host))
    {
        return true;
    }
    if env_api_host().is_some_and(|h| h == ep.host) {
        return true;
    }
    config
        .credential_hosts
        .iter()
        .any(|p| p.matches(&ep.host, ep.port))
}

/// The host of `PCTL_FORGE_API_URL`, which the user set in their own environment.
fn env_api_host() -> Option<String> {
    std::env::var("PCTL_FORGE_API_URL")
        .ok()
        .and_then(|u| endpoint(u.trim()))
        .map(|e| e.host)
}

/// Whether `host` (lower case) is listed in the user's `credentials.hosts` for `port`,
/// or is a host of the GitOps repository's remotes.
pub fn trusted_host(host: &str, port: u16) -> anyhow::Result<bool> {
    let config = crate::userconfig::load()?;
    let ep = Endpoint {
        scheme: "https".into(),
        host: host.to_string(),
        port,
    };
    Ok(host_allowed(&ep, config))
}

/// Where tokens go in this process, for messages.
fn allowed_description() -> String {
    let mut parts = Vec::new();
    let gitops = GITOPS_HOSTS
        .lock()
        .map(|h| h.join(", "))
        .unwrap_or_default();
    parts.push(if gitops.is_empty() {
        "the GitOps repository's remote (none here)".to_string()
    } else {
        format!("the GitOps repository's remote ({gitops})")
    });
    if let Some(h) = env_api_host() {
        parts.push(format!("the forge API of PCTL_FORGE_API_URL ({h})"));
    }
    let listed = crate::userconfig::load()
        .map(|c| {
            c.credential_hosts
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    parts.push(if listed.is_empty() {
        "hosts listed in credentials.hosts (none)".to_string()
    } else {
        format!("hosts listed in credentials.hosts ({listed})")
    });
    format!("{}, over HTTPS", parts.join(", "))
}

/// Record why a credentials request got no token (see [`take_refusal`]).
pub fn refuse(r: Refusal) {
    REFUSED.with(|c| *c.borrow_mut() = Some(r));
}

/// Forget an earlier refusal: a new transfer starts.
pub fn clear_refusal() {
    REFUSED.with(|c| *c.borrow_mut() = None);
}

/// The refusal recorded by the last transfer's credentials callback, if any.
pub fn take_refusal() -> Option<Refusal> {
    REFUSED.with(|c| c.borrow_mut().take())
}

/// The error of a failed fetch, push or connection: `action` says what failed and
/// names the URL (`cannot fetch https://…`), `url` is the URL Git connected to. A
/// refused token is said as such; otherwise libgit2's message becomes a sentence
/// about the host or path with a hint, without its `class=…; code=…` text.
pub fn transport_error(e: &git2::Error, action: &str, url: &str) -> anyhow::Error {
    if let Some(r) = take_refusal() {
        return r.error(action);
    }
    let msg = e.message().trim().trim_end_matches('.');
    let ep = endpoint(url);
    let host = ep
        .as_ref()
        .map_or_else(|| crate::git::redact_url(url), Endpoint::shown);
    let lower = msg.to_ascii_lowercase();
    let (sentence, hint): (String, String) = if lower.contains("hostkey")
        || lower.contains("host key")
        || lower.contains("known_hosts")
    {
        (
            format!("the SSH host key of {host} is not known or does not match ({msg})"),
            "the SSH host is not in ~/.ssh/known_hosts: check its fingerprint, then add it (ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts)".into(),
        )
    } else if e.code() == git2::ErrorCode::Auth
        || lower.contains("authentication")
        || lower.contains("credential")
        || lower.contains("no ssh key")
    {
        (
            format!("{host} did not accept the credentials pctl could offer ({msg})"),
            "check the token variable (PCTL_GIT_TOKEN, GITHUB_TOKEN, …), your Git credential helper, or the SSH agent and keys for this host".into(),
        )
    } else if ep.is_none()
        && (e.code() == git2::ErrorCode::NotFound || e.class() == git2::ErrorClass::Os)
    {
        (
            format!("there is no Git repository at {host} ({msg})"),
            "check the path; a local repository is given as a directory or a file:// URL".into(),
        )
    } else if e.class() == git2::ErrorClass::Ssh {
        (
            format!("the SSH connection to {host} failed ({msg})"),
            "check the host and port, that it runs an SSH server, and your SSH agent or keys (~/.ssh/id_ed25519, id_ecdsa, id_rsa)".into(),
        )
    } else if e.class() == git2::ErrorClass::Net || e.class() == git2::ErrorClass::Os {
        (
            format!("cannot connect to {host} ({msg})"),
            "check the URL and your network; --offline uses the cache only".into(),
        )
    } else if e.class() == git2::ErrorClass::Http {
        (
            format!("{host} answered with an error ({msg})"),
            "check the URL: the repository may not exist or need credentials".into(),
        )
    } else {
        (
            msg.to_string(),
            "check the URL and your network or credentials (SSH agent, credential helper, PCTL_GIT_TOKEN); --offline uses the cache only".into(),
        )
    };
    user(format!("{action}: {sentence}"), hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_every_form() {
        let e = endpoint("https://x-access-token:t@GitHub.com/o/r.git").unwrap();
        assert_eq!(
            (e.scheme.as_str(), e.host.as_str(), e.port),
            ("https", "github.com", 443)
        );
        let e = endpoint("http://127.0.0.1:8080/o/r").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.shown()),
            ("127.0.0.1", 8080, "127.0.0.1:8080".into())
        );
        let e = endpoint("git@github.com:o/r.git").unwrap();
        assert_eq!(
            (e.scheme.as_str(), e.host.as_str(), e.port),
            ("ssh", "github.com", 22)
        );
        let e = endpoint("http://[::1]:3000/x").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("[::1]", 3000));
        assert!(endpoint("file:///srv/repo.git").is_none());
        assert!(endpoint("/srv/repo.git").is_none());
        assert!(endpoint("./repo").is_none());
    }

    #[test]
    fn loopback_is_judged_by_the_name_as_written() {
        for h in ["localhost", "127.0.0.1", "127.8.9.10", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "0.0.0.0",
            "localhost.example.com",
            "10.0.0.1",
            "[::]",
            "example.com",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback() {
        let r = check("http://example.com/o/r.git", "GITHUB_TOKEN").unwrap_err();
        assert!(matches!(r, Refusal::PlainHttp { ref host, .. } if host == "example.com"));
        let r = check("http://0.0.0.0:8080/o/r.git", "GITHUB_TOKEN").unwrap_err();
        assert!(matches!(r, Refusal::PlainHttp { ref host, .. } if host == "0.0.0.0:8080"));
        let r = check("https://unlisted.example/o/r.git", "GITHUB_TOKEN").unwrap_err();
        let err = r.error("cannot fetch https://unlisted.example/o/r.git");
        let (msg, _, hints) = crate::error::describe(&err);
        assert!(
            msg.contains("unlisted.example asks for credentials"),
            "{msg}"
        );
        assert!(hints[0].contains("credentials.hosts"), "{hints:?}");
        trust_gitops_url("git@trusted.example:org/gitops.git");
        assert!(check("https://trusted.example/o/r.git", "GITHUB_TOKEN").is_ok());
        assert!(check("https://trusted.example:8443/o/r.git", "GITHUB_TOKEN").is_ok());
        assert!(check("http://trusted.example/o/r.git", "GITHUB_TOKEN").is_err());
    }

    #[test]
    fn libgit2_text_becomes_a_sentence() {
        let e = git2::Error::new(
            git2::ErrorCode::NotFound,
            git2::ErrorClass::Os,
            "failed to resolve path '/nope': No such file or directory",
        );
        let err = transport_error(&e, "cannot fetch /nope", "/nope");
        let (msg, causes, hints) = crate::error::describe(&err);
        assert!(msg.contains("there is no Git repository at /nope"), "{msg}");
        assert!(!format!("{msg}{causes:?}").contains("class="), "{msg}");
        assert!(hints[0].contains("check the path"));
        let e = git2::Error::new(
            git2::ErrorCode::GenericError,
            git2::ErrorClass::Ssh,
            "failed to connect: Connection refused",
        );
        let err = transport_error(&e, "cannot fetch ssh://git@h:2/r", "ssh://git@h:2/r");
        let (msg, _, _) = crate::error::describe(&err);
        assert!(msg.contains("the SSH connection to h:2 failed"), "{msg}");
    }
}
