//! The user's own pctl configuration, `$XDG_CONFIG_HOME/pctl/config.yaml` (on Linux
//! `~/.config/pctl/config.yaml`): today the hosts the user trusts with token
//! variables (`credentials.hosts`, docs/security.md, "Credentials are scoped"). Read once per
//! process and validated with the file, field, line and column in every error. Unlike
//! a GitOps repository's committed `.pctl/config.yaml`, this file is the user's, so
//! what it lists is trusted.
use crate::error::user;
use anyhow::{Result, bail};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The user's configuration file: `$XDG_CONFIG_HOME/pctl/config.yaml`.
pub fn path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("pctl").join("config.yaml"))
}

/// How the file is named in messages: `~/.config/pctl/config.yaml` when it is under
/// the home directory, else its full path.
pub fn shown_path() -> String {
    let Some(p) = path() else {
        return "~/.config/pctl/config.yaml".into();
    };
    if let Some(home) = dirs::home_dir()
        && let Ok(rel) = p.strip_prefix(&home)
    {
        return format!("~/{}", rel.display());
    }
    p.display().to_string()
}

/// One entry of `credentials.hosts`: a host name or IP address, with an optional
/// port that then must match too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower case; an IPv6 address keeps its brackets (`[::1]`).
    pub host: String,
    pub port: Option<u16>,
}

impl HostPattern {
    /// Whether this entry covers `host` (lower case, brackets for IPv6) on `port`
    /// (the URL's port, or its scheme's default).
    pub fn matches(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// The user's configuration as pctl uses it.
#[derive(Debug, Clone, Default)]
pub struct UserConfig {
    /// `credentials.hosts`: hosts that may receive token variables besides the
    /// GitOps repository's remote and the forge API.
    pub credential_hosts: Vec<HostPattern>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    credentials: Option<CredentialsSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsSection {
    #[serde(default)]
    hosts: Option<Vec<serde_saphyr::Spanned<String>>>,
}

const EXAMPLE: &str =
    "for example:\ncredentials:\n  hosts:\n    - github.com\n    - git.example.com:8443";

/// The user's configuration, read once per process (an absent file is an empty
/// configuration).
pub fn load() -> Result<&'static UserConfig> {
    static LOADED: OnceLock<std::result::Result<UserConfig, (String, String)>> = OnceLock::new();
    let loaded = LOADED.get_or_init(|| {
        read().map_err(|e| {
            let (msg, _, hints) = crate::error::describe(&e);
            (msg, hints.into_iter().next().unwrap_or_default())
        })
    });
    match loaded {
        Ok(c) => Ok(c),
        Err((msg, hint)) => Err(user(msg.clone(), hint.clone())),
    }
}

fn read() -> Result<UserConfig> {
    let Some(file) = path() else {
        return Ok(UserConfig::default());
    };
    let text = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UserConfig::default()),
        Err(e) => bail!(user(
            format!("cannot read {}: {}", file.display(), e.kind()),
            "make the file readable, or remove it",
        )),
    };
    let text = String::from_utf8(text).map_err(|_| {
        user(
            format!("{} is not UTF-8 text", file.display()),
            "write the file as UTF-8 YAML",
        )
    })?;
    parse(&file.display().to_string(), &text)
}

/// Parse and validate the file's text; `origin` names it in messages.
pub fn parse(origin: &str, text: &str) -> Result<UserConfig> {
    if text.trim().is_empty() {
        return Ok(UserConfig::default());
    }
    let file: File = crate::yaml::from_str(origin, text).map_err(|e| {
        crate::error::with_hint(
            e,
            format!("the file knows the key credentials.hosts (a list of host names); {EXAMPLE}"),
        )
    })?;
    let mut out = UserConfig::default();
    let hosts = file.credentials.and_then(|c| c.hosts).unwrap_or_default();
    for (i, entry) in hosts.iter().enumerate() {
        let at = format!(
            "{origin}:{}:{}: credentials.hosts[{i}]",
            entry.referenced.line(),
            entry.referenced.column()
        );
        let pattern = parse_host(&entry.value).map_err(|why| {
            user(
                format!("{at} {:?} {why}", entry.value),
                format!("list bare host names, optionally with a port; {EXAMPLE}"),
            )
        })?;
        if !out.credential_hosts.contains(&pattern) {
            out.credential_hosts.push(pattern);
        }
    }
    Ok(out)
}

/// `host`, `host:port`, an IPv4 address or `[IPv6]` with an optional port; the reason
/// when it is none of these.
pub fn parse_host(raw: &str) -> std::result::Result<HostPattern, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("is empty".into());
    }
    if s.contains("://") {
        return Err("is a URL, not a host name (leave out the scheme and the path)".into());
    }
    if s.contains('/') {
        return Err("has a path: list the host only".into());
    }
    if s.contains('@') {
        return Err("has a user name: list the host only".into());
    }
    if s.contains('*') {
        return Err("has a wildcard: list every host by its name".into());
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| "has '[' without ']'".to_string())?;
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!(
                "has {h:?} in brackets, which is not an IPv6 address"
            ));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("has {after:?} after the address"))?,
            ),
        };
        (format!("[{}]", h.to_ascii_lowercase()), port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (s.to_ascii_lowercase(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("has the port {p:?}, which is not 1 to 65535")),
        },
    };
    if !host.starts_with('[') && !is_host_name(&host) {
        return Err(
            "is not a host name (letters, digits, '-' and '.', labels of at most 63 characters)"
                .into(),
        );
    }
    Ok(HostPattern { host, port })
}

fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_and_without_ports() {
        let c = parse(
            "c.yaml",
            "credentials:\n  hosts:\n    - GitHub.com\n    - git.example.com:8443\n    - 10.0.0.7\n    - '[::1]:3000'\n    - github.com\n",
        )
        .unwrap();
        let shown: Vec<String> = c.credential_hosts.iter().map(|h| h.to_string()).collect();
        assert_eq!(
            shown,
            [
                "github.com",
                "git.example.com:8443",
                "10.0.0.7",
                "[::1]:3000"
            ]
        );
        assert!(c.credential_hosts[0].matches("github.com", 443));
        assert!(c.credential_hosts[1].matches("git.example.com", 8443));
        assert!(!c.credential_hosts[1].matches("git.example.com", 443));
        assert!(parse("c.yaml", "").unwrap().credential_hosts.is_empty());
        assert!(
            parse("c.yaml", "credentials: {}\n")
                .unwrap()
                .credential_hosts
                .is_empty()
        );
    }

    #[test]
    fn bad_entries_name_the_file_field_line_and_reason() {
        for (entry, why) in [
            ("https://github.com", "is a URL"),
            ("github.com/org", "has a path"),
            ("bob@github.com", "has a user name"),
            ("'*.example.com'", "wildcard"),
            ("git.example.com:0", "not 1 to 65535"),
            ("git.example.com:99999", "not 1 to 65535"),
            ("git_example.com", "is not a host name"),
            ("'[zz]'", "not an IPv6 address"),
        ] {
            let text = format!("credentials:\n  hosts:\n    - ok.example\n    - {entry}\n");
            let err = parse("/h/.config/pctl/config.yaml", &text).unwrap_err();
            let (msg, _, hints) = crate::error::describe(&err);
            assert!(
                msg.starts_with("/h/.config/pctl/config.yaml:4:7: credentials.hosts[1]")
                    && msg.contains(why),
                "{entry}: {msg}"
            );
            assert!(hints[0].contains("credentials:"), "{hints:?}");
        }
        let err = parse("c.yaml", "credential:\n  hosts: [a]\n").unwrap_err();
        let (msg, _, hints) = crate::error::describe(&err);
        assert!(
            msg.contains("c.yaml") && msg.contains("credential"),
            "{msg}"
        );
        assert!(hints[0].contains("credentials.hosts"), "{hints:?}");
        let err = parse("c.yaml", "credentials:\n  hosts: github.com\n").unwrap_err();
        assert!(err.to_string().contains("c.yaml"), "{err}");
    }
}
