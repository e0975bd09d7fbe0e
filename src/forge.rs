//! Forges for `--create-pr`: which one hosts the GitOps repository (GitHub, GitLab or
//! Gitea/Forgejo, from the remote URL, `.pctl/config.yaml` `forge:` and the
//! `PCTL_FORGE`/`PCTL_FORGE_API_URL` variables), its API token, and the REST calls that
//! find, open and update a pull request. Nothing here prints; the token never leaves
//! the `Authorization`/`PRIVATE-TOKEN` header, and goes only over HTTPS (plain HTTP only
//! to a loopback address) to an API host the user chose: derived from the GitOps
//! remote, set in their own environment (`PCTL_FORGE_API_URL`), or, when a committed
//! `.pctl/config.yaml` names it, the remote's host or a host of the user's
//! `credentials.hosts` (docs/security.md, "Credentials are scoped").
use crate::error::user;
use crate::yaml::{Map, Value};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use std::time::Duration;

/// The forge software behind a remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GitHub,
    GitLab,
    /// Gitea and Forgejo (same API).
    Gitea,
}

impl Kind {
    /// Parse `github`, `gitlab`, `gitea` or `forgejo` (any case).
    pub fn parse(s: &str) -> Option<Kind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "github" => Some(Kind::GitHub),
            "gitlab" => Some(Kind::GitLab),
            "gitea" | "forgejo" => Some(Kind::Gitea),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::GitHub => "GitHub",
            Kind::GitLab => "GitLab",
            Kind::Gitea => "Gitea",
        }
    }

    /// The environment variable holding the API token.
    pub fn token_var(self) -> &'static str {
        match self {
            Kind::GitHub => "GITHUB_TOKEN",
            Kind::GitLab => "GITLAB_TOKEN",
            Kind::Gitea => "GITEA_TOKEN",
        }
    }

    /// What the forge calls it.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::GitLab => "merge request",
            _ => "pull request",
        }
    }

    /// The permission the token needs, for hints.
    fn scope_hint(self) -> &'static str {
        match self {
            Kind::GitHub => {
                "GITHUB_TOKEN needs write access to the repository's pull requests and contents (fine-grained token: \"Pull requests\" and \"Contents\" read and write; classic token: the repo scope)"
            }
            Kind::GitLab => {
                "GITLAB_TOKEN needs the api scope and at least the Developer role in the project"
            }
            Kind::Gitea => {
                "GITEA_TOKEN needs the write:repository scope and write access to the repository"
            }
        }
    }
}

/// Where a remote's path comes from, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    /// `https`, `http`, `ssh`, `git`, `file`; `ssh` for `git@host:path`, `file` for a path.
    pub scheme: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The repository path without leading `/` or trailing `.git`.
    pub path: String,
}

/// Split a Git remote URL: `https://host/org/repo.git`, `ssh://git@host:22/org/repo`,
/// `git@host:org/repo.git`, `git://host/org/repo`, `file:///srv/org/repo.git` or a path.
pub fn parse_remote_url(url: &str) -> Result<RemoteUrl> {
    let bad = || {
        user(
            format!(
                "cannot read the remote URL {:?}",
                crate::git::redact_url(url)
            ),
            "give the remote a URL such as https://host/org/repo.git or git@host:org/repo.git",
        )
    };
    let (scheme, host, port, path) = if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            ("file".to_string(), None, None, rest.to_string())
        } else {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (host, port) = split_port(hostport).ok_or_else(bad)?;
            (scheme, Some(host), port, path.to_string())
        }
    } else if let Some((before, path)) = url.split_once(':')
        && !before.contains('/')
        && !before.is_empty()
    {
        // scp-like: [user@]host:path
        let host = before.rsplit_once('@').map_or(before, |(_, h)| h);
        (
            "ssh".to_string(),
            Some(host.to_string()),
            None,
            path.to_string(),
        )
    } else {
        ("file".to_string(), None, None, url.to_string())
    };
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    if path.is_empty() || host.as_deref().is_some_and(str::is_empty) {
        return Err(bad());
    }
    Ok(RemoteUrl {
        scheme,
        host: host.map(|h| h.to_ascii_lowercase()),
        port,
        path: path.to_string(),
    })
}

fn split_port(hostport: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        // [::1]:port
        let (h, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) if !p.is_empty() => Some(p.parse().ok()?),
            _ => None,
        };
        return Some((format!("[{h}]"), port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() => Some((h.to_string(), Some(p.parse().ok()?))),
        Some((h, _)) => Some((h.to_string(), None)),
        None => Some((hostport.to_string(), None)),
    }
}

/// The repository on the forge: `owner/name` (GitHub, Gitea) or the project path
/// (GitLab).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug {
    pub owner: String,
    pub name: String,
    /// The whole path (`group/subgroup/project`), GitLab's project id.
    pub path: String,
}

/// The forge of a remote, before its token is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    /// API base URL without a trailing `/`.
    pub api: String,
    pub slug: Slug,
    /// The remote URL it was derived from (any password in it hidden).
    pub remote: String,
}

/// Where the forge settings come from: the environment (`PCTL_FORGE`,
/// `PCTL_FORGE_API_URL`), then `.pctl/config.yaml` `forge: {type, apiURL}`, then the
/// remote URL's host.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub env_kind: Option<String>,
    pub env_api: Option<String>,
    pub config: Option<Map>,
}

impl Settings {
    /// The settings of this process and GitOps repository.
    pub fn from_env(config: Option<&Map>) -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Settings {
            env_kind: var("PCTL_FORGE"),
            env_api: var("PCTL_FORGE_API_URL"),
            config: config.cloned(),
        }
    }

    fn config_str(&self, key: &str) -> Result<Option<String>> {
        let Some(map) = &self.config else {
            return Ok(None);
        };
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(other) => Err(user(
                format!(
                    "{}: forge.{key} must be a string, not {other}",
                    crate::gitops::CONFIG_PATH
                ),
                "for example forge: {type: gitlab, apiURL: https://gitlab.example.com/api/v4}",
            )),
        }
    }
}

/// Which forge serves `remote_url`, its API URL and the repository slug.
pub fn detect(remote_url: &str, settings: &Settings) -> Result<Target> {
    let remote = parse_remote_url(remote_url)?;
    let remote_url = &crate::git::redact_url(remote_url);
    let cfg = crate::gitops::CONFIG_PATH;
    let kind = if let Some(k) = &settings.env_kind {
        Kind::parse(k).ok_or_else(|| {
            user(
                format!("PCTL_FORGE={k:?} is not a forge pctl knows"),
                "set PCTL_FORGE to github, gitlab, gitea or forgejo",
            )
        })?
    } else if let Some(k) = settings.config_str("type")? {
        Kind::parse(&k).ok_or_else(|| {
            user(
                format!("{cfg}: forge.type {k:?} is not a forge pctl knows"),
                "use github, gitlab, gitea or forgejo",
            )
        })?
    } else {
        match remote.host.as_deref().and_then(kind_of_host) {
            Some(k) => k,
            None => bail!(user(
                format!(
                    "cannot tell which forge hosts {remote_url} (GitHub, GitLab or Gitea/Forgejo)"
                ),
                format!(
                    "set PCTL_FORGE=github|gitlab|gitea (and PCTL_FORGE_API_URL), or forge.type and forge.apiURL in {cfg}"
                ),
            )),
        }
    };
    let api = if let Some(a) = &settings.env_api {
        check_api_url(a, "PCTL_FORGE_API_URL", kind)?
    } else if let Some(a) = settings.config_str("apiURL")? {
        let what = format!("{cfg}: forge.apiURL");
        let api = check_api_url(&a, &what, kind)?;
        check_committed_api_host(&api, &remote, &what, kind)?;
        api
    } else {
        let api = default_api(kind, &remote).ok_or_else(|| {
            user(
                format!(
                    "cannot derive the {} API URL from the remote {remote_url}",
                    kind.name()
                ),
                format!("set PCTL_FORGE_API_URL, or forge.apiURL in {cfg}"),
            )
        })?;
        check_api_url(
            &api,
            &format!(
                "the {} API derived from the remote {remote_url},",
                kind.name()
            ),
            kind,
        )?
    };
    let segments: Vec<&str> = remote.path.split('/').filter(|s| !s.is_empty()).collect();
    let slug = match (kind, segments.as_slice()) {
        (Kind::GitLab, [_, ..]) => Slug {
            owner: segments[..segments.len() - 1].join("/"),
            name: segments[segments.len() - 1].to_string(),
            path: segments.join("/"),
        },
        (_, [.., owner, name]) => Slug {
            owner: owner.to_string(),
            name: name.to_string(),
            path: format!("{owner}/{name}"),
        },
        _ => bail!(user(
            format!(
                "cannot tell the {} repository (OWNER/NAME) from the remote URL {remote_url}",
                kind.name()
            ),
            "the remote URL must end in OWNER/NAME(.git)",
        )),
    };
    Ok(Target {
        kind,
        api,
        slug,
        remote: remote_url.clone(),
    })
}

fn kind_of_host(host: &str) -> Option<Kind> {
    let host = host.trim_start_matches("www.");
    if host == "github.com" || host.ends_with(".github.com") {
        Some(Kind::GitHub)
    } else if host == "gitlab.com" || host.ends_with(".gitlab.com") {
        Some(Kind::GitLab)
    } else if ["gitea", "codeberg", "forgejo"]
        .iter()
        .any(|w| host.contains(w))
    {
        Some(Kind::Gitea)
    } else if host.contains("gitlab") {
        Some(Kind::GitLab)
    } else if host.contains("github") {
        Some(Kind::GitHub)
    } else {
        None
    }
}

/// The API of the forge at the remote's host: the same host (and port, for an
/// http(s) remote) with the forge's API path; api.github.com for github.com.
fn default_api(kind: Kind, remote: &RemoteUrl) -> Option<String> {
    let host = remote.host.as_deref()?;
    if kind == Kind::GitHub && (host == "github.com" || host.ends_with(".github.com")) {
        return Some("https://api.github.com".into());
    }
    if kind == Kind::GitLab && (host == "gitlab.com" || host.ends_with(".gitlab.com")) {
        return Some("https://gitlab.com/api/v4".into());
    }
    let web = matches!(remote.scheme.as_str(), "http" | "https");
    let scheme = if remote.scheme == "http" {
        "http"
    } else {
        "https"
    };
    let port = match remote.port {
        Some(p) if web => format!(":{p}"),
        _ => String::new(),
    };
    let host = host.strip_prefix("ssh.").unwrap_or(host);
    let path = match kind {
        Kind::GitHub => "/api/v3",
        Kind::GitLab => "/api/v4",
        Kind::Gitea => "/api/v1",
    };
    Some(format!("{scheme}://{host}{port}{path}"))
}

/// An API URL the token may be sent to: `https://`, or `http://` to a loopback
/// address only.
fn check_api_url(url: &str, what: &str, kind: Kind) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    let ep = crate::git::credentials::endpoint(u);
    let scheme_ok = u.starts_with("https://") || u.starts_with("http://");
    let Some(ep) = ep.filter(|_| scheme_ok && u.len() > "https://".len()) else {
        bail!(user(
            format!("{what} {url:?} is not an http(s) URL"),
            "for example https://api.github.com, https://gitlab.example.com/api/v4 or https://gitea.example.com/api/v1",
        ));
    };
    if ep.scheme == "http" && !crate::git::credentials::is_loopback(&ep.host) {
        bail!(user(
            format!(
                "{what} {url:?} is plain http:// to {}: pctl sends {} only over HTTPS (plain HTTP only to 127.0.0.1, ::1 or localhost)",
                ep.shown(),
                kind.token_var()
            ),
            "use the https:// URL of the forge's API (PCTL_FORGE_API_URL or forge.apiURL)",
        ));
    }
    Ok(u.to_string())
}

/// A committed `.pctl/config.yaml` may point the API at the GitOps remote's host, or
/// at a host the user listed in their own `credentials.hosts`: a file from the
/// repository cannot send the token to a new host on its own.
fn check_committed_api_host(api: &str, remote: &RemoteUrl, what: &str, kind: Kind) -> Result<()> {
    let Some(ep) = crate::git::credentials::endpoint(api) else {
        return Ok(());
    };
    if remote.host.as_deref() == Some(ep.host.as_str())
        || crate::git::credentials::trusted_host(&ep.host, ep.port)?
    {
        return Ok(());
    }
    let file = crate::userconfig::shown_path();
    bail!(user(
        format!(
            "{what} {api:?} would send {} to {}, which is not the host of the GitOps remote ({}); a committed file cannot choose a new host for your token",
            kind.token_var(),
            ep.shown(),
            remote.host.as_deref().unwrap_or("a local path")
        ),
        format!(
            "if you trust {}, add it to credentials.hosts in {file}, or set PCTL_FORGE_API_URL in your environment",
            ep.host
        ),
    ))
}

impl Target {
    /// Read the token (`GITHUB_TOKEN`, `GITLAB_TOKEN` or `GITEA_TOKEN`); an error naming
    /// the variable when it is missing.
    pub fn connect(self) -> Result<Forge> {
        let var = self.kind.token_var();
        // The branch is pushed before the API is called: a plain-http remote would
        // carry the token variables in clear (the transport refuses them, but say so
        // before anything is pushed).
        if let Some(ep) = crate::git::credentials::endpoint(&self.remote)
            && ep.scheme == "http"
            && !crate::git::credentials::is_loopback(&ep.host)
        {
            bail!(user(
                format!(
                    "the GitOps remote {} is plain http:// to {}: pctl sends {var} and the other token variables only over HTTPS (plain HTTP only to 127.0.0.1, ::1 or localhost)",
                    self.remote,
                    ep.shown()
                ),
                "give the remote an https:// or SSH URL (git remote set-url NAME URL, or --repo https://…); nothing was pushed",
            ));
        }
        let token = std::env::var(var)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                user(
                    format!(
                        "{var} is not set: pctl needs a {} token to open a {} for {}",
                        self.kind.name(),
                        self.kind.noun(),
                        self.remote
                    ),
                    format!("export {var}=<token>; {}", self.kind.scope_hint()),
                )
            })?;
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("pctl/", env!("CARGO_PKG_VERSION")))
            .timeout_global(Some(Duration::from_secs(60)))
            .tls_config(tls)
            .build();
        Ok(Forge {
            target: self,
            token,
            agent: ureq::Agent::new_with_config(config),
        })
    }
}

/// A pull (merge) request that exists after [`Forge::ensure_pull_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrOutcome {
    /// The web page of the pull request.
    pub url: String,
    /// Its number (GitHub, Gitea) or IID (GitLab).
    pub number: u64,
    /// True when it was opened now, false when an open one was updated.
    pub created: bool,
}

/// A forge with a token, ready for API calls.
pub struct Forge {
    pub target: Target,
    token: String,
    agent: ureq::Agent,
}

enum Method {
    Get,
    Post,
    Patch,
    Put,
}

impl Method {
    fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }
}

/// Percent-encode one path segment (everything but RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Forge {
    pub fn kind(&self) -> Kind {
        self.target.kind
    }

    /// Find the open pull request from `head` into `base` and set its title and
    /// body, or open one.
    pub fn ensure_pull_request(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PrOutcome> {
        match self.target.kind {
            Kind::GitHub => self.github(head, base, title, body),
            Kind::GitLab => self.gitlab(head, base, title, body),
            Kind::Gitea => self.gitea(head, base, title, body),
        }
    }

    fn repo_url(&self) -> String {
        format!(
            "{}/repos/{}/{}",
            self.target.api,
            encode_segment(&self.target.slug.owner),
            encode_segment(&self.target.slug.name)
        )
    }

    fn github(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PrOutcome> {
        let pulls = format!("{}/pulls", self.repo_url());
        let owner = &self.target.slug.owner;
        let found = self.call(
            Method::Get,
            &pulls,
            &[
                ("head", format!("{owner}:{head}")),
                ("base", base.to_string()),
                ("state", "open".to_string()),
                ("per_page", "100".to_string()),
            ],
            None,
        )?;
        let open = first_open(&found, &pulls, |pr| {
            pr.pointer("/head/ref").and_then(Value::as_str) == Some(head)
                && pr.pointer("/base/ref").and_then(Value::as_str) == Some(base)
                && pr.get("state").and_then(Value::as_str) == Some("open")
        })?;
        let payload = json!({"title": title, "body": body});
        match open {
            Some(pr) => {
                let number = number_of(&pr, "number", &pulls)?;
                let url = format!("{pulls}/{number}");
                let pr = self.call(Method::Patch, &url, &[], Some(&payload))?;
                self.outcome(&pr, "html_url", "number", &url, false)
            }
            None => {
                let create = json!({"title": title, "head": head, "base": base, "body": body});
                let pr = self.call(Method::Post, &pulls, &[], Some(&create))?;
                self.outcome(&pr, "html_url", "number", &pulls, true)
            }
        }
    }

    fn gitlab(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PrOutcome> {
        let mrs = format!(
            "{}/projects/{}/merge_requests",
            self.target.api,
            encode_segment(&self.target.slug.path)
        );
        let found = self.call(
            Method::Get,
            &mrs,
            &[
                ("source_branch", head.to_string()),
                ("target_branch", base.to_string()),
                ("state", "opened".to_string()),
                ("per_page", "100".to_string()),
            ],
            None,
        )?;
        let open = first_open(&found, &mrs, |mr| {
            mr.get("source_branch").and_then(Value::as_str) == Some(head)
                && mr.get("target_branch").and_then(Value::as_str) == Some(base)
                && mr.get("state").and_then(Value::as_str) == Some("opened")
        })?;
        match open {
            Some(mr) => {
                let iid = number_of(&mr, "iid", &mrs)?;
                let url = format!("{mrs}/{iid}");
                let payload = json!({"title": title, "description": body});
                let mr = self.call(Method::Put, &url, &[], Some(&payload))?;
                self.outcome(&mr, "web_url", "iid", &url, false)
            }
            None => {
                let create = json!({
                    "source_branch": head,
                    "target_branch": base,
                    "title": title,
                    "description": body,
                });
                let mr = self.call(Method::Post, &mrs, &[], Some(&create))?;
                self.outcome(&mr, "web_url", "iid", &mrs, true)
            }
        }
    }

    fn gitea(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PrOutcome> {
        let pulls = format!("{}/pulls", self.repo_url());
        const LIMIT: usize = 50;
        let mut open = None;
        for page in 1..=40 {
            let found = self.call(
                Method::Get,
                &pulls,
                &[
                    ("state", "open".to_string()),
                    ("page", page.to_string()),
                    ("limit", LIMIT.to_string()),
                ],
                None,
            )?;
            open = first_open(&found, &pulls, |pr| {
                pr.pointer("/head/ref").and_then(Value::as_str) == Some(head)
                    && pr.pointer("/base/ref").and_then(Value::as_str) == Some(base)
                    && pr.get("state").and_then(Value::as_str) == Some("open")
            })?;
            let n = found.as_array().map_or(0, Vec::len);
            if open.is_some() || n < LIMIT {
                break;
            }
        }
        match open {
            Some(pr) => {
                let index = number_of(&pr, "number", &pulls)?;
                let url = format!("{pulls}/{index}");
                let payload = json!({"title": title, "body": body});
                let pr = self.call(Method::Patch, &url, &[], Some(&payload))?;
                self.outcome(&pr, "html_url", "number", &url, false)
            }
            None => {
                let create = json!({"head": head, "base": base, "title": title, "body": body});
                let pr = self.call(Method::Post, &pulls, &[], Some(&create))?;
                self.outcome(&pr, "html_url", "number", &pulls, true)
            }
        }
    }

    fn outcome(
        &self,
        v: &Value,
        url_key: &str,
        number_key: &str,
        from: &str,
        created: bool,
    ) -> Result<PrOutcome> {
        let url = v
            .get(url_key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                anyhow!(
                    "{} answered {from} without the {url_key} of the {}",
                    self.kind().name(),
                    self.kind().noun()
                )
            })?;
        Ok(PrOutcome {
            url: url.to_string(),
            number: number_of(v, number_key, from)?,
            created,
        })
    }

    /// One API call: the forge's headers, JSON in and out; an answer other than 2xx
    /// is an error quoting the forge's message and naming the URL.
    fn call(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let name = self.kind().name();
        let auth: (&str, String) = match self.kind() {
            Kind::GitHub => ("Authorization", format!("Bearer {}", self.token)),
            Kind::GitLab => ("PRIVATE-TOKEN", self.token.clone()),
            Kind::Gitea => ("Authorization", format!("token {}", self.token)),
        };
        macro_rules! prepare {
            ($req:expr) => {{
                let mut r = $req.header(auth.0, &auth.1);
                r = match self.kind() {
                    Kind::GitHub => r
                        .header("Accept", "application/vnd.github+json")
                        .header("X-GitHub-Api-Version", "2022-11-28"),
                    _ => r.header("Accept", "application/json"),
                };
                for (k, v) in query {
                    r = r.query(k, v);
                }
                r
            }};
        }
        let empty = json!({});
        let b = body.unwrap_or(&empty);
        let sent = match method {
            Method::Get => prepare!(self.agent.get(url)).call(),
            Method::Post => prepare!(self.agent.post(url)).send_json(b),
            Method::Patch => prepare!(self.agent.patch(url)).send_json(b),
            Method::Put => prepare!(self.agent.put(url)).send_json(b),
        };
        let shown = format!("{} {url}", method.as_str());
        let mut resp = sent
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("cannot reach the {name} API: {shown}"))
            .map_err(|e| {
                crate::error::with_hint(
                    e,
                    "check PCTL_FORGE_API_URL (or forge.apiURL in .pctl/config.yaml) and your network",
                )
            })?;
        let status = resp.status();
        let text = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("cannot read the {name} answer to {shown}"))?;
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        if !status.is_success() {
            let code = status.as_u16();
            let reason = status.canonical_reason().unwrap_or("");
            let message = parsed
                .as_ref()
                .map(error_message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| text.trim().chars().take(300).collect());
            let msg = if message.is_empty() {
                format!("{name} answered {code} {reason} to {shown}")
            } else {
                format!("{name} answered {code} {reason} to {shown}: {message}")
            };
            bail!(user(msg, self.status_hint(code)));
        }
        parsed.ok_or_else(|| {
            anyhow!(
                "{name} answered {shown} with something that is not JSON: {}",
                text.chars().take(200).collect::<String>()
            )
        })
    }

    fn status_hint(&self, code: u16) -> String {
        let kind = self.kind();
        let var = kind.token_var();
        match code {
            401 => format!(
                "{var} was refused: check that it is valid and not expired; {}",
                kind.scope_hint()
            ),
            403 => format!("the token may not do this: {}", kind.scope_hint()),
            404 => format!(
                "check that {} exists at {} (from the remote {}) and that {var} can see it; for a self-hosted forge set PCTL_FORGE_API_URL or forge.apiURL",
                self.target.slug.path, self.target.api, self.target.remote
            ),
            409 | 422 => format!(
                "{} refused the {}; the branch was pushed, so you can also open it by hand",
                kind.name(),
                kind.noun()
            ),
            _ => format!(
                "{} could not handle the request; try again later",
                kind.name()
            ),
        }
    }
}

/// The forge's error text: `message` (a string, a list, or GitLab's object of lists),
/// GitHub's `errors[].message`, or `error` / `error_description`.
pub fn error_message(v: &Value) -> String {
    fn flatten(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
            Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
            Value::Object(m) => {
                for (k, x) in m {
                    let mut inner = Vec::new();
                    flatten(x, &mut inner);
                    out.extend(inner.into_iter().map(|s| format!("{k} {s}")));
                }
            }
            _ => {}
        }
    }
    let mut parts = Vec::new();
    if let Some(m) = v.get("message") {
        flatten(m, &mut parts);
    }
    if let Some(Value::Array(errors)) = v.get("errors") {
        for e in errors {
            match e {
                Value::String(s) => parts.push(s.clone()),
                Value::Object(o) => {
                    if let Some(m) = o.get("message").and_then(Value::as_str) {
                        parts.push(m.to_string());
                    } else {
                        let field = o.get("field").and_then(Value::as_str).unwrap_or("");
                        let code = o.get("code").and_then(Value::as_str).unwrap_or("");
                        if !field.is_empty() || !code.is_empty() {
                            parts.push(format!("{field} {code}").trim().to_string());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for key in ["error", "error_description"] {
        if let Some(Value::String(s)) = v.get(key) {
            parts.push(s.clone());
        }
    }
    parts.dedup();
    parts.join(": ")
}

fn first_open(found: &Value, url: &str, wanted: impl Fn(&Value) -> bool) -> Result<Option<Value>> {
    let list = found
        .as_array()
        .ok_or_else(|| anyhow!("the answer to GET {url} is not a JSON list"))?;
    Ok(list.iter().find(|v| wanted(v)).cloned())
}

fn number_of(v: &Value, key: &str, from: &str) -> Result<u64> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("the answer of {from} has no numeric {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(kind: Option<&str>, api: Option<&str>, cfg: Option<Value>) -> Settings {
        Settings {
            env_kind: kind.map(str::to_string),
            env_api: api.map(str::to_string),
            config: cfg.and_then(|v| v.as_object().cloned()),
        }
    }

    #[test]
    fn remote_urls_of_every_form() {
        let cases = [
            (
                "https://github.com/org/repo.git",
                "https",
                Some("github.com"),
                None,
                "org/repo",
            ),
            (
                "https://user:pw@gitlab.com/g/sub/p",
                "https",
                Some("gitlab.com"),
                None,
                "g/sub/p",
            ),
            (
                "ssh://git@host.example:2222/org/repo.git/",
                "ssh",
                Some("host.example"),
                Some(2222),
                "org/repo",
            ),
            (
                "git@codeberg.org:org/repo.git",
                "ssh",
                Some("codeberg.org"),
                None,
                "org/repo",
            ),
            (
                "git://127.0.0.1:9418/org/gitops.git",
                "git",
                Some("127.0.0.1"),
                Some(9418),
                "org/gitops",
            ),
            (
                "file:///srv/git/org/gitops.git",
                "file",
                None,
                None,
                "srv/git/org/gitops",
            ),
            (
                "/srv/git/org/gitops",
                "file",
                None,
                None,
                "srv/git/org/gitops",
            ),
        ];
        for (url, scheme, host, port, path) in cases {
            let r = parse_remote_url(url).unwrap();
            assert_eq!(r.scheme, scheme, "{url}");
            assert_eq!(r.host.as_deref(), host, "{url}");
            assert_eq!(r.port, port, "{url}");
            assert_eq!(r.path, path, "{url}");
        }
        assert!(parse_remote_url("https://github.com/").is_err());
    }

    #[test]
    fn detection_from_the_host() {
        let t = detect("git@github.com:org/repo.git", &Settings::default()).unwrap();
        assert_eq!(
            (t.kind, t.api.as_str()),
            (Kind::GitHub, "https://api.github.com")
        );
        assert_eq!(
            (t.slug.owner.as_str(), t.slug.name.as_str()),
            ("org", "repo")
        );
        let t = detect("https://gitlab.com/g/sub/proj.git", &Settings::default()).unwrap();
        assert_eq!(
            (t.kind, t.api.as_str()),
            (Kind::GitLab, "https://gitlab.com/api/v4")
        );
        assert_eq!(t.slug.path, "g/sub/proj");
        let t = detect("https://codeberg.org/org/repo", &Settings::default()).unwrap();
        assert_eq!(
            (t.kind, t.api.as_str()),
            (Kind::Gitea, "https://codeberg.org/api/v1")
        );
        let t = detect(
            "https://gitea.local:3000/org/repo.git",
            &Settings::default(),
        )
        .unwrap();
        assert_eq!(t.api, "https://gitea.local:3000/api/v1");
        let t = detect(
            "http://127.0.0.1:3000/org/repo.git",
            &settings(Some("gitea"), None, None),
        );
        assert_eq!(t.unwrap().api, "http://127.0.0.1:3000/api/v1");
        let err = detect("http://gitea.local:3000/org/repo.git", &Settings::default()).unwrap_err();
        let (msg, _, hints) = crate::error::describe(&err);
        assert!(
            msg.contains("plain http:// to gitea.local:3000") && msg.contains("GITEA_TOKEN"),
            "{msg}"
        );
        assert!(hints[0].contains("https://"), "{hints:?}");
        let t = detect("ssh://git@forgejo.example:2222/o/r", &Settings::default()).unwrap();
        assert_eq!(t.api, "https://forgejo.example/api/v1");
        let err = detect("git://127.0.0.1/org/repo", &Settings::default()).unwrap_err();
        let (_, _, hints) = crate::error::describe(&err);
        assert!(
            hints[0].contains("PCTL_FORGE") && hints[0].contains("forge.type"),
            "{hints:?}"
        );
    }

    #[test]
    fn environment_beats_config_beats_url() {
        let cfg = serde_json::json!({"type": "gitea", "apiURL": "https://cfg.example/api/v1/"});
        let t = detect(
            "https://cfg.example/o/r",
            &settings(None, None, Some(cfg.clone())),
        )
        .unwrap();
        assert_eq!(
            (t.kind, t.api.as_str()),
            (Kind::Gitea, "https://cfg.example/api/v1")
        );
        // a committed apiURL on another host than the remote's
        let err = detect(
            "https://github.com/o/r",
            &settings(None, None, Some(cfg.clone())),
        )
        .unwrap_err();
        let (msg, _, hints) = crate::error::describe(&err);
        assert!(
            msg.contains("cfg.example")
                && msg.contains("GITEA_TOKEN")
                && msg.contains("github.com"),
            "{msg}"
        );
        assert!(hints[0].contains("credentials.hosts"), "{hints:?}");
        let err = detect(
            "https://github.com/o/r",
            &settings(Some("gitea"), Some("http://api.example/api/v1"), None),
        );
        assert!(err.unwrap_err().to_string().contains("plain http://"));
        let t = detect(
            "https://github.com/o/r",
            &settings(Some("gitlab"), Some("http://127.0.0.1:1/api/v4"), Some(cfg)),
        )
        .unwrap();
        assert_eq!(
            (t.kind, t.api.as_str()),
            (Kind::GitLab, "http://127.0.0.1:1/api/v4")
        );
        assert_eq!(t.slug.path, "o/r");
        let err = detect(
            "https://github.com/o/r",
            &settings(Some("bitbucket"), None, None),
        );
        assert!(err.unwrap_err().to_string().contains("PCTL_FORGE"));
        let bad = serde_json::json!({"type": 3});
        let err = detect("https://github.com/o/r", &settings(None, None, Some(bad)));
        assert!(err.unwrap_err().to_string().contains("forge.type"));
        let err = detect("file:///srv/o/r", &settings(Some("github"), None, None)).unwrap_err();
        assert!(crate::error::describe(&err).2[0].contains("PCTL_FORGE_API_URL"));
        let err = detect(
            "git://h.example/repo",
            &settings(Some("github"), Some("https://x.example"), None),
        );
        assert!(err.unwrap_err().to_string().contains("OWNER/NAME"));
    }

    #[test]
    fn error_messages_of_each_forge() {
        let gh = serde_json::json!({"message": "Validation Failed", "errors": [
            {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for o:b."}
        ]});
        assert_eq!(
            error_message(&gh),
            "Validation Failed: A pull request already exists for o:b."
        );
        let gl = serde_json::json!({"message": ["Another open merge request already exists for this source branch: !1"]});
        assert!(error_message(&gl).starts_with("Another open merge request"));
        let gl = serde_json::json!({"message": {"title": ["is too long"]}});
        assert_eq!(error_message(&gl), "title is too long");
        let gl = serde_json::json!({"error": "title is missing"});
        assert_eq!(error_message(&gl), "title is missing");
    }

    #[test]
    fn passwords_in_remote_urls_are_hidden() {
        assert_eq!(
            crate::git::redact_url("https://x-access-token:s3cret@github.com/o/r.git"),
            "https://x-access-token:***@github.com/o/r.git"
        );
        assert_eq!(
            crate::git::redact_url("https://bob@host/o/r"),
            "https://bob@host/o/r"
        );
        assert_eq!(crate::git::redact_url("git@host:o/r"), "git@host:o/r");
        let t = detect(
            "https://u:s3cret@gitea.example/o/r.git",
            &Settings::default(),
        )
        .unwrap();
        assert!(!t.remote.contains("s3cret"), "{}", t.remote);
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("group/sub/proj"), "group%2Fsub%2Fproj");
        assert_eq!(encode_segment("a.b_c-d~e"), "a.b_c-d~e");
    }
}
