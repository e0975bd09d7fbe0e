//! Forges for `--create-pr`: which one hosts the GitOps repository (GitHub, GitLab or
//! Gitea/Forgejo, from the remote URL, `.pctl/config.yaml` `forge:` and the
//! `PCTL_FORGE`/`PCTL_FORGE_API_URL` variables), its API URL and the repository's path
//! on it. The HTTP client is [`api`], the find/open/update logic of each forge
//! [`pulls`]. Nothing here prints; the token goes only over HTTPS (plain HTTP only to
//! a loopback address) to an API host the user chose: derived from the GitOps remote,
//! set in their own environment (`PCTL_FORGE_API_URL`), or, when a committed
//! `.pctl/config.yaml` names it, the remote's host or a host of the user's
//! `credentials.hosts` (docs/security.md, "Credentials are scoped").
mod api;
mod history;
mod pulls;
#[cfg(test)]
mod tests;

pub use api::{Forge, encode_segment, error_message};
pub use history::KnownPr;
pub use pulls::PrOutcome;

use crate::error::user;
use crate::yaml::{Map, Value};
use anyhow::{Result, bail};

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
    pub(crate) fn scope_hint(self) -> &'static str {
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
    let mut segments: Vec<&str> = remote.path.split('/').filter(|s| !s.is_empty()).collect();
    // A forge served under a sub-path (https://host/gitlab/group/project with its API
    // at https://host/gitlab/api/v4): the repository's path starts after the prefix.
    let prefix = web_prefix(&api, &remote);
    if !prefix.is_empty() && segments.len() > prefix.len() && segments.starts_with(&prefix) {
        segments.drain(..prefix.len());
    }
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

/// The path segments before the forge's API path (`/api/v4`, `/api/v1`, `/api/v3`) of
/// an API on the host (and port) of an http(s) remote: `["gitlab"]` for
/// `https://host/gitlab/api/v4`. Empty for anything else (SSH remotes of such a forge
/// carry no prefix).
fn web_prefix<'a>(api: &'a str, remote: &RemoteUrl) -> Vec<&'a str> {
    let (Some(ep), Some(host)) = (crate::git::credentials::endpoint(api), &remote.host) else {
        return Vec::new();
    };
    let remote_port = remote
        .port
        .unwrap_or(if remote.scheme == "http" { 80 } else { 443 });
    if !matches!(remote.scheme.as_str(), "http" | "https")
        || ep.host != *host
        || ep.port != remote_port
    {
        return Vec::new();
    }
    let path = api
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, p)| p);
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [prefix @ .., "api", v] if matches!(*v, "v1" | "v3" | "v4") => prefix.to_vec(),
        _ => Vec::new(),
    }
}

/// GitHub Enterprise Cloud with data residency: `SUB.ghe.com`, API at
/// `api.SUB.ghe.com`.
fn is_ghe_com(host: &str) -> bool {
    host.strip_suffix(".ghe.com")
        .is_some_and(|sub| !sub.is_empty() && !sub.contains('.'))
}

fn kind_of_host(host: &str) -> Option<Kind> {
    let host = host.trim_start_matches("www.");
    if host == "github.com" || host.ends_with(".github.com") || is_ghe_com(host) {
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
    if kind == Kind::GitHub && is_ghe_com(host) {
        return Some(format!("https://api.{host}"));
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
