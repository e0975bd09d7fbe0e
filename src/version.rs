//! Profile versions (docs/profile-reference.md#versions-tags-and-channels): version
//! constraints, version tags (`SUBDIR/vX.Y.Z`, `vX.Y.Z`), release channels, and picking
//! the version a constraint selects among a repository's tags.

use std::fmt;

use semver::{Comparator, Op, Version, VersionReq};

/// A version constraint from the command line or a nested profile's `version:`.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// The highest version in the allowed channels.
    Latest,
    /// Exactly this version (build metadata ignored when matching).
    Exact(Version),
    /// A semver requirement: `^1.2`, `~1.2`, `>=1.0, <2`, `1.x`, ...
    Req(VersionReq),
}

impl Constraint {
    /// Whether `v` satisfies the constraint.
    ///
    /// A pre-release version is tested by its release part against a `Req`
    /// (`1.3.0-beta.1` is tested as `1.3.0` against `^1.2`), as well as by the
    /// semver rules themselves (so `^1.3.0-beta.1` also matches `1.3.0-beta.2`).
    /// An `Exact` constraint matches only the very version it names, pre-release
    /// included; build metadata is ignored.
    pub fn matches(&self, v: &Version) -> bool {
        match self {
            Constraint::Latest => true,
            Constraint::Exact(e) => {
                e.major == v.major && e.minor == v.minor && e.patch == v.patch && e.pre == v.pre
            }
            Constraint::Req(r) => {
                if r.matches(v) {
                    return true;
                }
                if v.pre.is_empty() {
                    return false;
                }
                r.matches(&Version::new(v.major, v.minor, v.patch))
            }
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constraint::Latest => f.write_str("latest"),
            Constraint::Exact(v) => write!(f, "{v}"),
            Constraint::Req(r) => write!(f, "{r}"),
        }
    }
}

/// Strip a `v` that prefixes a version number ("v1.2" -> "1.2").
fn strip_v(s: &str) -> &str {
    match s.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => s,
    }
}

/// Parse: "latest" (also "*"), "1.2.3" or "v1.2.3" (EXACT, not caret), "=1.2.3"
/// (exact too), "^1.2", "~1.2", ">=1.0, <2", "1.x", "1.2.x", "1.*". A bare partial
/// version such as "1.2" is a caret requirement (`^1.2`), as in Cargo.
/// Err(String) with a message when not a constraint.
pub fn parse_constraint(s: &str) -> Result<Constraint, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty version constraint".to_string());
    }
    if t.eq_ignore_ascii_case("latest") || t == "*" {
        return Ok(Constraint::Latest);
    }
    let bare = strip_v(t);
    if let Ok(v) = Version::parse(bare) {
        return Ok(Constraint::Exact(v));
    }
    match VersionReq::parse(bare) {
        Ok(req) => {
            if let [
                Comparator {
                    op: Op::Exact,
                    major,
                    minor: Some(minor),
                    patch: Some(patch),
                    pre,
                },
            ] = req.comparators.as_slice()
            {
                return Ok(Constraint::Exact(Version {
                    major: *major,
                    minor: *minor,
                    patch: *patch,
                    pre: pre.clone(),
                    build: semver::BuildMetadata::EMPTY,
                }));
            }
            if req.comparators.is_empty() {
                return Ok(Constraint::Latest);
            }
            Ok(Constraint::Req(req))
        }
        Err(e) => Err(format!(
            "`{t}` is not a version constraint ({e}); use e.g. `1.2.3`, `^1.2`, `~1.2`, `>=1.0, <2`, `1.x` or `latest`"
        )),
    }
}

/// True when `s` looks like a commit id (7 to 40 hex digits, at least one of
/// them a letter, or 40 decimal digits); such a ref is never taken for a version.
fn looks_like_commit(s: &str) -> bool {
    (7..=40).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_hexdigit())
        && (s.chars().any(|c| c.is_ascii_alphabetic()) || s.len() == 40)
}

/// True when `s` can only be meant as a version constraint (starts with a digit,
/// 'v'+digit, ^ ~ > < = or is "latest"/"*" or contains ".x").
///
/// Refinements: a string that looks like a commit id (7+ hex digits with a
/// letter, e.g. `1a2b3c4`) is not a constraint, and ".x" counts only as a whole
/// version component (`1.x`, `1.x.0`), so a branch such as `fix.xml` is not one.
pub fn looks_like_constraint(s: &str) -> bool {
    let s = s.trim();
    if s.eq_ignore_ascii_case("latest") || s == "*" {
        return true;
    }
    if looks_like_commit(s) {
        return false;
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_digit() || "^~><=".contains(c) => return true,
        Some('v' | 'V') if chars.next().is_some_and(|c| c.is_ascii_digit()) => return true,
        _ => {}
    }
    s.match_indices(".x")
        .chain(s.match_indices(".X"))
        .any(|(i, _)| matches!(s[i + 2..].chars().next(), None | Some('.' | ',' | ' ')))
}

/// Normalise a profile subdirectory: no leading "./", no leading/trailing '/'.
fn normalize_subdir(subdir: &str) -> &str {
    let mut d = subdir.trim_matches('/');
    while let Some(rest) = d.strip_prefix("./") {
        d = rest.trim_start_matches('/');
    }
    if d == "." { "" } else { d }
}

/// If `tag` names a version of the profile in `subdir` ("" = repository root),
/// return the version.
/// subdir "nginx": accepts "nginx/v1.2.3" and "nginx/1.2.3" (also pre-releases
/// "nginx/v1.3.0-beta.1"); root "": accepts "v1.2.3" and "1.2.3". Nested subdirs
/// ("a/b") work too: "a/b/v1.0.0". A `refs/tags/` prefix is ignored.
pub fn parse_tag(tag: &str, subdir: &str) -> Option<Version> {
    let tag = tag.strip_prefix("refs/tags/").unwrap_or(tag);
    let subdir = normalize_subdir(subdir);
    let rest = if subdir.is_empty() {
        tag
    } else {
        tag.strip_prefix(subdir)?.strip_prefix('/')?
    };
    if rest.contains('/') {
        return None;
    }
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Version::parse(rest).ok()
}

/// The value of the last `Channel:` trailer of `message`, if any.
///
/// Trailers are read from the last paragraph (paragraphs are separated by blank
/// lines) after dropping a trailing signature block (`-----BEGIN PGP SIGNATURE-----`
/// and the like, which Git appends to signed tag messages). The paragraph counts
/// as a trailer block when every line is a `Key: value` trailer (key made of
/// letters, digits and '-') or a continuation line starting with whitespace. A
/// message made only of trailers is accepted too.
fn channel_trailer(message: &str) -> Option<String> {
    let body = match message.find("-----BEGIN ") {
        Some(i) if message[i..].contains("SIGNATURE-----") => &message[..i],
        _ => message,
    };
    let lines: Vec<&str> = body.lines().map(str::trim_end).collect();
    let end = lines.iter().rposition(|l| !l.is_empty())?;
    let start = lines[..end]
        .iter()
        .rposition(|l| l.is_empty())
        .map_or(0, |i| i + 1);
    let mut channel = None;
    for line in &lines[start..=end] {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let (key, value) = line.split_once(':')?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return None;
        }
        if key.eq_ignore_ascii_case("channel") {
            let value = value.trim().to_lowercase();
            if !value.is_empty() {
                channel = Some(value);
            }
        }
    }
    channel
}

/// The channel: the value of a `Channel:` trailer in the annotated tag message
/// (last paragraph, git trailer syntax, case-insensitive key, trimmed,
/// lowercased), else derived from the first pre-release identifier, else
/// "stable".
///
/// From the pre-release: the first dot-separated identifier, lowercased, with
/// trailing digits and then trailing '-'/'_' stripped: "1.3.0-beta.1" -> "beta",
/// "2.0.0-rc1" -> "rc", "2.0.0-rc-2" -> "rc", "1.0.0-alpha" -> "alpha". An
/// identifier made only of digits ("1.0.0-1") gives "prerelease".
pub fn channel_of(version: &Version, tag_message: Option<&str>) -> String {
    if let Some(channel) = tag_message.and_then(channel_trailer) {
        return channel;
    }
    if version.pre.is_empty() {
        return "stable".to_string();
    }
    let first = version.pre.as_str().split('.').next().unwrap_or_default();
    let name = first
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches(['-', '_'])
        .to_lowercase();
    if name.is_empty() {
        "prerelease".to_string()
    } else {
        name
    }
}

/// One version tag of a profile.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub tag: String,
    pub version: Version,
    pub channel: String,
}

/// Whether the tag's version component carries a "v" ("nginx/v1.0.0").
fn has_v(tag: &str) -> bool {
    tag.rsplit('/')
        .next()
        .is_some_and(|last| last.starts_with('v'))
}

/// The highest candidate the constraint allows, among channel "stable" plus
/// `channel` when given (e.g. Some("beta") allows stable and beta; the channel
/// name is compared case-insensitively). Pre-release versions are matched by
/// comparing their release part (1.3.0-beta.1 is tested as 1.3.0 against "^1.2"),
/// except an Exact constraint that names the pre-release itself. When several tags
/// carry the same version (e.g. "nginx/v1.0.0" and "nginx/1.0.0"), prefer the one
/// with "v" (then the lexically smallest tag, for determinism).
///
/// An `Exact` constraint names one version on purpose, so it is selected whatever
/// its channel: `@1.3.0-beta.1` works without `--channel beta`.
pub fn select<'a>(
    candidates: &'a [Candidate],
    c: &Constraint,
    channel: Option<&str>,
) -> Option<&'a Candidate> {
    let channel_ok = |cand: &Candidate| {
        matches!(c, Constraint::Exact(_))
            || cand.channel.eq_ignore_ascii_case("stable")
            || channel.is_some_and(|ch| cand.channel.eq_ignore_ascii_case(ch.trim()))
    };
    candidates
        .iter()
        .filter(|cand| channel_ok(cand) && c.matches(&cand.version))
        .max_by(|a, b| {
            a.version
                .cmp_precedence(&b.version)
                .then_with(|| has_v(&a.tag).cmp(&has_v(&b.tag)))
                .then_with(|| b.tag.cmp(&a.tag))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn cand(tag: &str, channel: &str) -> Candidate {
        let version = parse_tag(tag, "nginx").unwrap();
        Candidate {
            tag: tag.to_string(),
            version,
            channel: channel.to_string(),
        }
    }

    #[test]
    fn parse_latest_and_exact() {
        assert_eq!(parse_constraint("latest"), Ok(Constraint::Latest));
        assert_eq!(parse_constraint(" LATEST "), Ok(Constraint::Latest));
        assert_eq!(parse_constraint("*"), Ok(Constraint::Latest));
        assert_eq!(parse_constraint("1.2.3"), Ok(Constraint::Exact(v("1.2.3"))));
        assert_eq!(
            parse_constraint("v1.2.3"),
            Ok(Constraint::Exact(v("1.2.3")))
        );
        assert_eq!(
            parse_constraint("=1.2.3"),
            Ok(Constraint::Exact(v("1.2.3")))
        );
        assert_eq!(
            parse_constraint("1.3.0-beta.1"),
            Ok(Constraint::Exact(v("1.3.0-beta.1")))
        );
    }

    #[test]
    fn exact_is_not_caret() {
        let c = parse_constraint("1.2.3").unwrap();
        assert!(c.matches(&v("1.2.3")));
        assert!(!c.matches(&v("1.2.4")));
        assert!(!c.matches(&v("1.3.0")));
        assert!(c.matches(&v("1.2.3+build.5")));
    }

    #[test]
    fn parse_requirements() {
        for (text, yes, no) in [
            ("^1.2", "1.9.0", "2.0.0"),
            ("~1.2", "1.2.9", "1.3.0"),
            (">=1.0, <2", "1.5.0", "2.0.0"),
            ("1.x", "1.7.3", "2.0.0"),
            ("1.2.x", "1.2.8", "1.3.0"),
            ("1.*", "1.0.0", "0.9.0"),
            ("v1.2", "1.4.0", "1.1.0"),
        ] {
            let c = parse_constraint(text).unwrap();
            assert!(matches!(c, Constraint::Req(_)), "{text}");
            assert!(c.matches(&v(yes)), "{text} should match {yes}");
            assert!(!c.matches(&v(no)), "{text} should not match {no}");
        }
    }

    #[test]
    fn parse_errors() {
        for bad in ["", "  ", "main", "feature/x", "1.2.3.4", "^", ">=1.0 <<2"] {
            let err = parse_constraint(bad).unwrap_err();
            assert!(!err.is_empty());
        }
        assert!(parse_constraint("main").unwrap_err().contains("`main`"));
    }

    #[test]
    fn display_round_trips() {
        for (input, shown) in [
            ("latest", "latest"),
            ("*", "latest"),
            ("1.2.3", "1.2.3"),
            ("v1.2.3", "1.2.3"),
            ("^1.2", "^1.2"),
            ("~1.2", "~1.2"),
            (">=1.0, <2", ">=1.0, <2"),
            ("1.x", "1.*"),
        ] {
            let c = parse_constraint(input).unwrap();
            assert_eq!(c.to_string(), shown);
            assert_eq!(parse_constraint(&c.to_string()).unwrap(), c);
        }
    }

    #[test]
    fn constraint_detection() {
        for yes in [
            "1.2.3",
            "v1.2.3",
            "^1.2",
            "~1",
            ">=1.0, <2",
            "<2",
            "=1.0.0",
            "latest",
            "*",
            "1.x",
            "x.1.x",
            "1234567",
        ] {
            assert!(looks_like_constraint(yes), "{yes}");
        }
        for no in [
            "main",
            "release",
            "feature/x",
            "nginx/v1.2.3",
            "vnext",
            "fix.xml",
            "1a2b3c4",
            "0123456789abcdef0123456789abcdef01234567",
            "",
        ] {
            assert!(!looks_like_constraint(no), "{no}");
        }
    }

    #[test]
    fn tags_in_subdirectories() {
        assert_eq!(parse_tag("nginx/v1.2.3", "nginx"), Some(v("1.2.3")));
        assert_eq!(parse_tag("nginx/1.2.3", "nginx"), Some(v("1.2.3")));
        assert_eq!(
            parse_tag("nginx/v1.3.0-beta.1", "nginx"),
            Some(v("1.3.0-beta.1"))
        );
        assert_eq!(parse_tag("nginx/v1.2.3", "./nginx/"), Some(v("1.2.3")));
        assert_eq!(
            parse_tag("refs/tags/nginx/v1.2.3", "nginx"),
            Some(v("1.2.3"))
        );
        assert_eq!(parse_tag("a/b/v1.0.0", "a/b"), Some(v("1.0.0")));
        assert_eq!(parse_tag("nginx-extra/v1.2.3", "nginx"), None);
        assert_eq!(parse_tag("nginxv1.2.3", "nginx"), None);
        assert_eq!(parse_tag("nginx/sub/v1.2.3", "nginx"), None);
        assert_eq!(parse_tag("a/b/v1.0.0", "a"), None);
        assert_eq!(parse_tag("other/v1.2.3", "nginx"), None);
        assert_eq!(parse_tag("v1.2.3", "nginx"), None);
        assert_eq!(parse_tag("nginx/v1.2", "nginx"), None);
        assert_eq!(parse_tag("nginx/vv1.2.3", "nginx"), None);
    }

    #[test]
    fn tags_at_the_root() {
        assert_eq!(parse_tag("v1.2.3", ""), Some(v("1.2.3")));
        assert_eq!(parse_tag("1.2.3", ""), Some(v("1.2.3")));
        assert_eq!(parse_tag("v2.0.0-rc.1", "."), Some(v("2.0.0-rc.1")));
        assert_eq!(parse_tag("nginx/v1.2.3", ""), None);
        assert_eq!(parse_tag("release-1.2.3", ""), None);
        assert_eq!(parse_tag("+1.2.3", ""), None);
    }

    #[test]
    fn channels_from_prerelease() {
        assert_eq!(channel_of(&v("1.2.3"), None), "stable");
        assert_eq!(channel_of(&v("1.3.0-beta.1"), None), "beta");
        assert_eq!(channel_of(&v("2.0.0-rc1"), None), "rc");
        assert_eq!(channel_of(&v("2.0.0-RC-2"), None), "rc");
        assert_eq!(channel_of(&v("2.0.0-alpha"), None), "alpha");
        assert_eq!(channel_of(&v("2.0.0-1"), None), "prerelease");
        // A message without trailers changes nothing.
        assert_eq!(
            channel_of(&v("1.3.0-beta.1"), Some("Release 1.3.0\n\nFixes things.")),
            "beta"
        );
    }

    #[test]
    fn channels_from_trailer() {
        let msg = "Release 1.4.0\n\nAdds dashboards.\n\nChannel: Edge \nSigned-off-by: A <a@b>\n";
        assert_eq!(channel_of(&v("1.4.0"), Some(msg)), "edge");
        assert_eq!(
            channel_of(&v("1.4.0-beta.1"), Some("x\n\nchannel: stable")),
            "stable"
        );
        assert_eq!(channel_of(&v("1.4.0"), Some("CHANNEL: beta")), "beta");
        // Only the last paragraph holds trailers.
        let earlier = "Channel: beta\n\nJust notes here.";
        assert_eq!(channel_of(&v("1.4.0"), Some(earlier)), "stable");
        // A last paragraph with prose is not a trailer block.
        let prose = "Title\n\nThis release: better\nChannel: beta";
        assert_eq!(channel_of(&v("1.4.0"), Some(prose)), "stable");
        // A signature after the trailers is ignored.
        let signed = "Title\n\nChannel: beta\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(channel_of(&v("1.4.0"), Some(signed)), "beta");
        // An empty value falls back.
        assert_eq!(channel_of(&v("1.4.0"), Some("x\n\nChannel:  ")), "stable");
    }

    fn candidates() -> Vec<Candidate> {
        vec![
            cand("nginx/1.0.0", "stable"),
            cand("nginx/v1.0.0", "stable"),
            cand("nginx/v1.2.0", "stable"),
            cand("nginx/v1.2.5", "stable"),
            cand("nginx/v1.3.0-beta.1", "beta"),
            cand("nginx/v1.3.0-beta.2", "beta"),
            cand("nginx/v1.4.0", "edge"),
            cand("nginx/v2.0.0-rc.1", "rc"),
        ]
    }

    #[test]
    fn select_stable_by_default() {
        let cs = candidates();
        let pick = |c: &str, ch: Option<&str>| {
            select(&cs, &parse_constraint(c).unwrap(), ch).map(|c| c.tag.as_str())
        };
        assert_eq!(pick("latest", None), Some("nginx/v1.2.5"));
        assert_eq!(pick("^1.2", None), Some("nginx/v1.2.5"));
        assert_eq!(pick("~1.0", None), Some("nginx/v1.0.0"));
        assert_eq!(pick(">=3", None), None);
    }

    #[test]
    fn select_with_channel() {
        let cs = candidates();
        let pick = |c: &str, ch: Option<&str>| {
            select(&cs, &parse_constraint(c).unwrap(), ch).map(|c| c.tag.as_str())
        };
        assert_eq!(pick("^1.2", Some("beta")), Some("nginx/v1.3.0-beta.2"));
        assert_eq!(pick("latest", Some("BETA")), Some("nginx/v1.3.0-beta.2"));
        assert_eq!(pick("latest", Some("edge")), Some("nginx/v1.4.0"));
        assert_eq!(pick("1.x", Some("rc")), Some("nginx/v1.2.5"));
        assert_eq!(pick("latest", Some("rc")), Some("nginx/v2.0.0-rc.1"));
        assert_eq!(pick("~1.2", Some("beta")), Some("nginx/v1.2.5"));
    }

    #[test]
    fn select_exact() {
        let cs = candidates();
        let pick = |c: &str, ch: Option<&str>| {
            select(&cs, &parse_constraint(c).unwrap(), ch).map(|c| c.tag.as_str())
        };
        assert_eq!(pick("1.3.0-beta.1", None), Some("nginx/v1.3.0-beta.1"));
        assert_eq!(
            pick("1.3.0-beta.1", Some("beta")),
            Some("nginx/v1.3.0-beta.1")
        );
        assert_eq!(pick("1.3.0", Some("beta")), None);
        assert_eq!(pick("1.2.0", None), Some("nginx/v1.2.0"));
    }

    #[test]
    fn select_prefers_v_tag() {
        let cs = candidates();
        let exact = parse_constraint("1.0.0").unwrap();
        assert_eq!(select(&cs, &exact, None).unwrap().tag, "nginx/v1.0.0");
        let reversed: Vec<Candidate> = cs.iter().rev().cloned().collect();
        assert_eq!(select(&reversed, &exact, None).unwrap().tag, "nginx/v1.0.0");
        let only_plain = vec![cand("nginx/1.0.0", "stable")];
        assert_eq!(
            select(&only_plain, &exact, None).unwrap().tag,
            "nginx/1.0.0"
        );
    }

    #[test]
    fn prerelease_matched_by_release_part() {
        let c = parse_constraint("^1.2").unwrap();
        assert!(c.matches(&v("1.3.0-beta.1")));
        let below = parse_constraint("<1.3").unwrap();
        assert!(!below.matches(&v("1.3.0-beta.1")));
        let pre = parse_constraint("^1.3.0-beta.1").unwrap();
        assert!(pre.matches(&v("1.3.0-beta.2")));
        assert!(
            !parse_constraint("1.3.0")
                .unwrap()
                .matches(&v("1.3.0-beta.1"))
        );
    }
}
