//! `pctl publish DIR --version X.Y.Z`: lint a committed profile directory and tag
//! HEAD as a new version of it (`DIR/vX.Y.Z`, or `vX.Y.Z` at the repository root),
//! with the changelog as the annotated tag's message and a `Channel:` trailer; refuse
//! a version that exists or is not newer than the newest of its channel; optionally
//! push the tag. Nothing changes unless everything succeeds.
use crate::error::user;
use crate::git::TagInfo;
use crate::version;
use anyhow::{Result, bail};
use semver::Version;
use std::cmp::Ordering;
use std::path::PathBuf;

pub struct PublishOptions {
    pub dir: String,
    pub version: String,
    pub channel: Option<String>,
    pub changelog: Option<String>,
    /// `-F FILE`: the changelog from a file (`-` for stdin).
    pub changelog_file: Option<PathBuf>,
    pub push: bool,
    pub remote: String,
    pub dry_run: bool,
}

/// The tag name of `version` for the profile in `rel` ("" = repository root).
pub fn tag_name(rel: &str, version: &Version) -> String {
    if rel.is_empty() {
        format!("v{version}")
    } else {
        format!("{rel}/v{version}")
    }
}

/// The annotated tag message: the changelog (or `PROFILE VERSION`), then a
/// `Channel:` trailer when a channel was given.
pub fn message(
    changelog: Option<&str>,
    profile: &str,
    v: &Version,
    channel: Option<&str>,
) -> String {
    let text = changelog
        .map(str::trim_end)
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{profile} {v}"));
    match channel {
        Some(c) => format!("{text}\n\nChannel: {c}\n"),
        None => format!("{text}\n"),
    }
}

/// Why `v` on `channel` cannot be published among the existing tags, if it cannot.
pub fn refusal(
    tags: &[TagInfo],
    rel: &str,
    tag: &str,
    v: &Version,
    channel: &str,
) -> Option<(String, String)> {
    if let Some(t) = tags.iter().find(|t| t.name == tag) {
        return Some((
            format!("tag {} already exists", t.name),
            "versions are immutable: publish a new version".into(),
        ));
    }
    let versions: Vec<(Version, String, &TagInfo)> = tags
        .iter()
        .filter_map(|t| {
            let parsed = version::parse_tag(&t.name, rel)?;
            let ch = version::channel_of(&parsed, t.message.as_deref());
            Some((parsed, ch, t))
        })
        .collect();
    if let Some((_, _, t)) = versions
        .iter()
        .find(|(x, _, _)| x.cmp_precedence(v) == Ordering::Equal)
    {
        return Some((
            format!("version {v} already exists (tag {})", t.name),
            "versions are immutable: publish a new version".into(),
        ));
    }
    let newest = versions
        .iter()
        .filter(|(_, ch, _)| ch == channel)
        .max_by(|a, b| a.0.cmp_precedence(&b.0))?;
    if v.cmp_precedence(&newest.0) != Ordering::Greater {
        return Some((
            format!(
                "version {v} is not newer than {}, the newest version on channel {channel} (tag {})",
                newest.0, newest.2.name
            ),
            format!(
                "publish a version above {} on channel {channel}, or pick another channel with --channel",
                newest.0
            ),
        ));
    }
    None
}

/// A channel name as given: lower-case letters, digits, '-' and '.'.
fn channel_name(c: &str) -> Result<String> {
    let c = c.trim().to_lowercase();
    let ok = !c.is_empty()
        && c.chars()
            .all(|x| x.is_ascii_alphanumeric() || x == '-' || x == '.')
        && c.starts_with(|x: char| x.is_ascii_alphanumeric());
    if !ok {
        bail!(user(
            format!("--channel {c:?} is not a channel name"),
            "use letters, digits, '-' and '.', for example beta or rc"
        ));
    }
    Ok(c)
}

/// `--offline` (for lint's nested profiles) comes from the context.
pub fn run(ctx: &crate::ops::Context, opts: PublishOptions) -> Result<()> {
    let p = ctx.printer();
    let raw = opts.version.trim();
    let version = Version::parse(raw.strip_prefix('v').unwrap_or(raw)).map_err(|e| {
        user(
            format!("--version {raw:?} is not a semantic version ({e})"),
            "write X.Y.Z, for example --version 1.2.0 or --version 1.3.0-beta.1",
        )
    })?;
    let channel_flag = opts.channel.as_deref().map(channel_name).transpose()?;
    let changelog = match (&opts.changelog, &opts.changelog_file) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                user(
                    format!("cannot read the changelog from stdin: {e}"),
                    "pipe UTF-8 text",
                )
            })?;
            Some(s)
        }
        (None, Some(f)) => Some(std::fs::read_to_string(f).map_err(|e| {
            user(
                format!("-F {}: cannot read the changelog: {e}", f.display()),
                "give a readable UTF-8 file",
            )
        })?),
        (None, None) => None,
    };

    // The profile directory: committed, clean, in a Git repository.
    let dir = opts.dir.trim_end_matches('/');
    let dir = if dir.is_empty() { "/" } else { dir };
    let abs = std::fs::canonicalize(&opts.dir).map_err(|e| {
        user(
            format!("profile directory {dir} does not exist ({e})"),
            "give the directory that holds profile.yaml",
        )
    })?;
    let Some((root, repo)) = crate::git::discover(&abs) else {
        bail!(user(
            format!("{dir} is not inside a Git repository"),
            "a version is a Git tag: commit the profile to a repository, then publish",
        ));
    };
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let rel = abs
        .strip_prefix(&root)
        .map(|r| r.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let Some(head) = crate::git::head_commit(&repo) else {
        bail!(user(
            format!("the repository of {dir} has no commit"),
            "commit the profile, then publish",
        ));
    };
    if !crate::git::file_at_head(&repo, &crate::gitops::join(&rel, "profile.yaml"))? {
        bail!(user(
            format!(
                "{dir}/profile.yaml is not committed (HEAD has no {})",
                crate::gitops::join(&rel, "profile.yaml")
            ),
            "commit the profile, then publish",
        ));
    }
    let dirty = crate::git::dirty_paths(&repo, &rel)?;
    if !dirty.is_empty() {
        bail!(user(
            format!("{dir} has uncommitted changes: {}", dirty.join(", ")),
            "commit or stash them: the tag names HEAD, and HEAD must be what was linted",
        ));
    }
    if !rel.is_empty() {
        let elsewhere: Vec<String> = crate::git::dirty_paths(&repo, "")?
            .into_iter()
            .filter(|d| !d.starts_with(&format!("{rel}/")))
            .collect();
        if !elsewhere.is_empty() {
            p.warn(&format!(
                "uncommitted changes outside {dir} are not part of the tag: {}",
                elsewhere.join(", ")
            ));
        }
    }

    // Lint: errors stop it.
    let report = crate::ops::lint::lint(ctx, &opts.dir)?;
    let shown: Vec<crate::lint::Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity != crate::lint::Severity::Info)
        .cloned()
        .collect();
    if !shown.is_empty() {
        p.text(&crate::lint::format(&shown));
    }
    if report.errors > 0 {
        bail!(user(
            format!(
                "lint found {} error(s) in {}; nothing was published",
                report.errors, report.file
            ),
            format!("fix them (pctl lint {dir}) and publish again"),
        ));
    }
    let profile = report.profile.clone().unwrap_or_else(|| "profile".into());

    // The version against the tags here and, when pushing, on the remote.
    let message = message(
        changelog.as_deref(),
        &profile,
        &version,
        channel_flag.as_deref(),
    );
    let channel = version::channel_of(&version, Some(&message));
    let tag = tag_name(&rel, &version);
    let url = crate::git::recorded_url(&repo, &root);
    let mut tags = crate::git::local_upstream(&root, &url)?.tags()?;
    if opts.push {
        let remote_tags = crate::git::remote_tags(&repo, &opts.remote)?;
        if let Some(t) = remote_tags.iter().find(|t| t.name == tag) {
            bail!(user(
                format!("tag {} already exists on {}", t.name, opts.remote),
                "versions are immutable: publish a new version",
            ));
        }
        tags.extend(remote_tags);
    }
    if let Some((msg, hint)) = refusal(&tags, &rel, &tag, &version, &channel) {
        bail!(user(
            format!("cannot publish {profile} {version}: {msg}"),
            hint
        ));
    }
    let short: String = head.to_string().chars().take(12).collect();
    if opts.dry_run {
        p.data(&tag);
        p.info(&format!(
            "dry run: would tag {short} as {tag} ({profile} {version}, channel {channel}){}; nothing was written",
            if opts.push {
                format!(" and push it to {}", opts.remote)
            } else {
                String::new()
            }
        ));
        return Ok(());
    }
    let object = crate::git::tag_object(&repo, &tag, head, &message)?;
    if opts.push {
        crate::git::push_tag(&repo, &opts.remote, &tag, object)?;
    }
    crate::git::create_tag_ref(&repo, &tag, object)?;
    p.data(&tag);
    p.success(&format!(
        "published {profile} {version} (channel {channel}): tag {tag} on {short}"
    ));
    if opts.push {
        p.success(&format!("pushed {tag} to {}", opts.remote));
    } else {
        p.info(&format!(
            "push it with `git push {} {tag}` or publish with --push",
            opts.remote
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str, message: Option<&str>) -> TagInfo {
        TagInfo {
            name: name.into(),
            commit: git2::Oid::ZERO_SHA1,
            message: message.map(str::to_string),
        }
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn tag_names_and_messages() {
        assert_eq!(tag_name("nginx", &v("1.2.0")), "nginx/v1.2.0");
        assert_eq!(tag_name("", &v("1.2.0")), "v1.2.0");
        assert_eq!(message(None, "nginx", &v("1.2.0"), None), "nginx 1.2.0\n");
        let m = message(
            Some("New chart\n\n- more replicas\n"),
            "nginx",
            &v("1.3.0"),
            Some("beta"),
        );
        assert_eq!(m, "New chart\n\n- more replicas\n\nChannel: beta\n");
        assert_eq!(version::channel_of(&v("1.3.0"), Some(&m)), "beta");
    }

    #[test]
    fn refusals() {
        let tags = vec![
            tag("nginx/v1.0.0", Some("nginx 1.0.0")),
            tag("nginx/v1.1.0", Some("nginx 1.1.0")),
            tag("nginx/v1.3.0", Some("nginx 1.3.0\n\nChannel: beta")),
            tag("nginx/1.0.5", None),
            tag("other/v9.0.0", None),
        ];
        let r =
            |ver: &str, ch: &str| refusal(&tags, "nginx", &tag_name("nginx", &v(ver)), &v(ver), ch);
        assert!(
            r("1.1.0", "stable")
                .unwrap()
                .0
                .contains("tag nginx/v1.1.0 already exists")
        );
        assert!(
            r("1.0.5", "stable")
                .unwrap()
                .0
                .contains("version 1.0.5 already exists (tag nginx/1.0.5)")
        );
        let (msg, _) = r("1.0.9", "stable").unwrap();
        assert!(
            msg.contains(
                "not newer than 1.1.0, the newest version on channel stable (tag nginx/v1.1.0)"
            ),
            "{msg}"
        );
        assert!(r("1.2.0", "stable").is_none());
        assert!(
            r("1.2.0", "beta")
                .unwrap()
                .0
                .contains("not newer than 1.3.0")
        );
        assert!(r("1.3.1", "beta").is_none());
        assert!(r("1.0.1", "rc").is_none());
        assert!(r("2.0.0", "stable").is_none());
    }

    #[test]
    fn channel_names() {
        assert_eq!(channel_name("Beta").unwrap(), "beta");
        assert!(channel_name("no spaces").is_err());
        assert!(channel_name("").is_err());
    }
}
