//! The forge's REST client: one JSON call with the forge's token header and content
//! headers; redirects followed here (not by the HTTP library) and only within the API's
//! own scheme, host and port, with the same method, body and token; rate limits waited
//! out when the forge asks for a short pause and reported with when to retry
//! otherwise; answers other than 2xx turned into sentences naming the URL.
use super::{Kind, Target};
use crate::error::user;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Redirects followed for one call (GitHub's renamed repository is one).
const MAX_HOPS: usize = 5;
/// The longest `Retry-After` pctl waits out by itself, and how often.
const MAX_WAIT: Duration = Duration::from_secs(10);
const MAX_RETRIES: usize = 2;

/// A forge with a token, ready for API calls.
pub struct Forge {
    pub target: Target,
    token: String,
    agent: ureq::Agent,
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
            // Redirects are followed in `Forge::exchange`: ureq would drop the
            // Authorization header (and a POST's body) on every hop, and send
            // GitLab's PRIVATE-TOKEN to any host.
            .max_redirects(0)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
    Patch,
    Put,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
        }
    }
}

/// A forge's answer, after redirects.
pub(super) struct Reply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub text: String,
    /// The URL that answered (after redirects).
    pub url: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.text).ok()
    }

    /// The `rel="next"` target of the `Link` header.
    pub fn link_next(&self) -> Option<String> {
        link_rel(self.header("link")?, "next")
    }

    /// `X-Total-Count` (Gitea) or `X-Total` (GitLab).
    pub fn total_count(&self) -> Option<usize> {
        self.header("x-total-count")
            .or_else(|| self.header("x-total"))
            .and_then(|v| v.trim().parse().ok())
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

/// `url?k=v&…` with the values percent-encoded.
pub(super) fn with_query(url: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode_segment(k), encode_segment(v)))
        .collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", q.join("&"))
}

/// The target of `rel` in a `Link` header: `<url>; rel="next", <url>; rel="last"`.
pub(super) fn link_rel(header: &str, rel: &str) -> Option<String> {
    for chunk in header.split('<').skip(1) {
        let (url, params) = chunk.split_once('>')?;
        let params = params.split('<').next().unwrap_or("");
        let names = params
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .flat_map(|v| {
                v.trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            });
        if names.into_iter().any(|n| n.eq_ignore_ascii_case(rel)) {
            return Some(url.trim().to_string());
        }
    }
    None
}

/// `scheme://host:port` of an http(s) URL, with the scheme's default port filled in.
pub(super) fn origin(url: &str) -> Option<(String, String, u16)> {
    let ep = crate::git::credentials::endpoint(url)?;
    matches!(ep.scheme.as_str(), "http" | "https").then_some((ep.scheme, ep.host, ep.port))
}

/// `location` (absolute, scheme-relative, absolute-path or relative) against `base`.
pub(super) fn resolve(base: &str, location: &str) -> String {
    let location = location.trim();
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        location.to_string()
    } else if let Some(r) = location.strip_prefix("//") {
        format!("{scheme}://{r}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.split(['?', '#']).next().unwrap_or(base);
        match path.rfind('/') {
            // a `/` after `scheme://`: the base has a path
            Some(i) if i > scheme.len() + 2 => format!("{}{location}", &path[..=i]),
            _ => format!("{scheme}://{authority}/{location}"),
        }
    }
}

/// Seconds from now of a `Retry-After` value: a number of seconds or an HTTP date.
pub(super) fn parse_retry_after(v: &str, now: u64) -> Option<u64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    http_date(v).map(|t| t.saturating_sub(now))
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(v: &str) -> Option<u64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = months.iter().position(|x| x.eq_ignore_ascii_case(month))? as i64 + 1;
    let d: i64 = day.parse().ok()?;
    let y: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, mi, s] = hms.as_slice() else {
        return None;
    };
    // days from 1970-01-01 (Howard Hinnant's days_from_civil)
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + s).ok()
}

/// "in 42 seconds", "in about 7 minutes", "in about 2 hours".
pub(super) fn wait_text(secs: u64) -> String {
    match secs {
        0..=90 => format!("in {secs} second{}", if secs == 1 { "" } else { "s" }),
        91..=5399 => format!("in about {} minutes", secs.div_ceil(60)),
        _ => format!("in about {} hours", secs.div_ceil(3600)),
    }
}

/// A rate-limit answer: 429, or 403 with `Retry-After`, `x-ratelimit-remaining: 0` or
/// a message about a rate limit (GitHub's secondary limits). The wait is what the
/// forge asks for, else until the limit resets, else a minute (GitHub's advice).
pub(super) fn rate_limit_wait(reply: &Reply, now: u64) -> Option<u64> {
    if !matches!(reply.status, 403 | 429) {
        return None;
    }
    let retry_after = reply
        .header("retry-after")
        .and_then(|v| parse_retry_after(v, now));
    let exhausted = ["x-ratelimit-remaining", "ratelimit-remaining"]
        .iter()
        .any(|h| reply.header(h).is_some_and(|v| v.trim() == "0"));
    let says = reply.text.to_ascii_lowercase().contains("rate limit");
    if reply.status == 403 && retry_after.is_none() && !exhausted && !says {
        return None;
    }
    let reset = ["x-ratelimit-reset", "ratelimit-reset"]
        .iter()
        .find_map(|h| reply.header(h))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|t| {
            if t > 1_000_000_000 {
                t.saturating_sub(now)
            } else {
                t
            }
        });
    Some(
        retry_after
            .or(if exhausted { reset } else { None })
            .unwrap_or(60),
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Forge {
    pub fn kind(&self) -> Kind {
        self.target.kind
    }

    /// One request as sent, without redirects or retries.
    fn once(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Reply> {
        let auth: (&str, String) = match self.kind() {
            Kind::GitHub => ("Authorization", format!("Bearer {}", self.token)),
            Kind::GitLab => ("PRIVATE-TOKEN", self.token.clone()),
            Kind::Gitea => ("Authorization", format!("token {}", self.token)),
        };
        macro_rules! prepare {
            ($req:expr) => {{
                let r = $req.header(auth.0, &auth.1);
                match self.kind() {
                    Kind::GitHub => r
                        .header("Accept", "application/vnd.github+json")
                        .header("X-GitHub-Api-Version", "2022-11-28"),
                    _ => r.header("Accept", "application/json"),
                }
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
        let name = self.kind().name();
        let mut resp = sent
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("cannot reach the {name} API: {shown}"))
            .map_err(|e| {
                crate::error::with_hint(
                    e,
                    "check PCTL_FORGE_API_URL (or forge.apiURL in .pctl/config.yaml) and your network",
                )
            })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let text = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("cannot read the {name} answer to {shown}"))?;
        Ok(Reply {
            status,
            headers,
            text,
            url: url.to_string(),
        })
    }

    /// A request with its redirects followed (same scheme, host and port only: the
    /// token is never sent elsewhere) and short rate limits waited out; any final
    /// status is returned, a long rate limit is an error saying when to retry.
    pub(super) fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply> {
        let name = self.kind().name();
        let var = self.kind().token_var();
        let first = url.to_string();
        let mut url = first.clone();
        let (mut hops, mut retries) = (0, 0);
        loop {
            let reply = self.once(method, &url, body)?;
            if matches!(reply.status, 301 | 302 | 303 | 307 | 308) {
                let shown = format!("{} {}", method.as_str(), crate::git::redact_url(&url));
                let Some(location) = reply.header("location").filter(|l| !l.trim().is_empty())
                else {
                    bail!(user(
                        format!(
                            "{name} answered {} to {shown} without a Location",
                            reply.status
                        ),
                        format!("{name} could not handle the request; try again later"),
                    ));
                };
                let next = resolve(&url, location);
                let to = crate::git::redact_url(&next);
                let here = origin(&url);
                if here.is_none() || origin(&next) != here {
                    let (s, h, p) = here.unwrap_or_default();
                    let default = if s == "http" { 80 } else { 443 };
                    let p = if p == default {
                        String::new()
                    } else {
                        format!(":{p}")
                    };
                    bail!(user(
                        format!(
                            "{name} redirected {shown} to {to}, which is not the API's own {s}://{h}{p}: pctl did not send {var} there and stopped"
                        ),
                        "if the repository or the forge moved, point the remote (git remote set-url) or PCTL_FORGE_API_URL / forge.apiURL at its new address",
                    ));
                }
                hops += 1;
                if hops > MAX_HOPS {
                    bail!(user(
                        format!(
                            "{name} redirected {} {} more than {MAX_HOPS} times (last to {to})",
                            method.as_str(),
                            crate::git::redact_url(&first)
                        ),
                        "check PCTL_FORGE_API_URL (or forge.apiURL in .pctl/config.yaml)",
                    ));
                }
                url = next;
                continue;
            }
            if let Some(wait) = rate_limit_wait(&reply, now_secs()) {
                if wait <= MAX_WAIT.as_secs() && retries < MAX_RETRIES {
                    retries += 1;
                    std::thread::sleep(Duration::from_secs(wait.max(1)));
                    continue;
                }
                let shown = format!("{} {}", method.as_str(), crate::git::redact_url(&url));
                let message = self.message_of(&reply);
                let why = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                };
                bail!(user(
                    format!(
                        "{name} is rate-limiting {var}: it answered {} to {shown}{why}",
                        reply.status
                    ),
                    format!(
                        "retry {} (the forge's limit for this token); the branch is pushed, and running the same command again then opens or updates the {}",
                        wait_text(wait),
                        self.kind().noun()
                    ),
                ));
            }
            return Ok(reply);
        }
    }

    /// The forge's error text of an answer, or the start of its body.
    fn message_of(&self, reply: &Reply) -> String {
        reply
            .json()
            .as_ref()
            .map(error_message)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| reply.text.trim().chars().take(300).collect())
    }

    /// The error for an answer other than 2xx: the forge's message, the URL, a hint.
    pub(super) fn failure(&self, method: Method, reply: &Reply) -> anyhow::Error {
        let name = self.kind().name();
        let shown = format!("{} {}", method.as_str(), crate::git::redact_url(&reply.url));
        let code = reply.status;
        let reason = ureq::http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let message = self.message_of(reply);
        let msg = if message.is_empty() {
            format!("{name} answered {code} {reason} to {shown}")
        } else {
            format!("{name} answered {code} {reason} to {shown}: {message}")
        };
        user(msg, self.status_hint(code))
    }

    /// One API call: the forge's headers, JSON in and out; an answer other than 2xx
    /// is an error quoting the forge's message and naming the URL.
    pub(super) fn call(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        Ok(self.call_reply(method, &with_query(url, query), body)?.0)
    }

    /// [`Forge::call`] on a whole URL, with the answer's headers.
    pub(super) fn call_reply(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(Value, Reply)> {
        let reply = self.exchange(method, url, body)?;
        if !(200..300).contains(&reply.status) {
            return Err(self.failure(method, &reply));
        }
        let parsed = reply.json().ok_or_else(|| {
            anyhow!(
                "{} answered {} {} with something that is not JSON: {}",
                self.kind().name(),
                method.as_str(),
                crate::git::redact_url(&reply.url),
                reply.text.chars().take(200).collect::<String>()
            )
        })?;
        Ok((parsed, reply))
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
