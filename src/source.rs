//! SOURCE arguments (docs/guide.md#profiles-and-sources): a catalog entry, a Git URL
//! with `//SUBDIR` and `@REF`, or a local directory.
use anyhow::{Result, bail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// `CATALOG/PROFILE[@CONSTRAINT]`
    Catalog {
        catalog: String,
        profile: String,
        constraint: Option<String>,
    },
    /// `GIT_URL[//SUBDIR][@REF]`
    Git {
        url: String,
        subdir: String,
        reference: Option<String>,
    },
    /// A directory on disk.
    Local { path: String },
}

/// A user-given string quoted for a message, with control characters, newlines and
/// quotes escaped (`"a\nb"`), so that no input can forge lines of pctl's output or
/// drive the terminal.
pub fn escaped(s: &str) -> String {
    format!("{s:?}")
}

/// Parse a SOURCE argument.
pub fn parse(s: &str) -> Result<SourceSpec> {
    let s = s.trim();
    if s.is_empty() {
        bail!(crate::error::user(
            "empty SOURCE",
            "give a Git URL, a directory or CATALOG/PROFILE"
        ));
    }
    if s.chars().any(char::is_control) {
        bail!(crate::error::user(
            format!(
                "SOURCE {} holds a control character or a line break",
                escaped(s)
            ),
            "give a Git URL, a directory or CATALOG/PROFILE on one line",
        ));
    }
    if s.ends_with('@')
        && !s.starts_with("./")
        && !s.starts_with('/')
        && !std::path::Path::new(s).is_dir()
    {
        bail!(crate::error::user(
            format!("SOURCE {} has an empty `@` reference", escaped(s)),
            "write the version, tag or branch after `@` (URL@v1.2.0, CATALOG/PROFILE@^1.2), or leave `@` out for the latest version",
        ));
    }
    if s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with('/')
        || s == "."
        || s == ".."
        || s.starts_with("~/")
    {
        return Ok(SourceSpec::Local {
            path: s.to_string(),
        });
    }
    if let Some(idx) = s.find("://") {
        let scheme = &s[..idx];
        if !matches!(scheme, "https" | "http" | "ssh" | "git" | "file") {
            bail!(crate::error::user(
                format!("unsupported URL scheme {scheme:?} in SOURCE {}", escaped(s)),
                "use https://, http://, ssh://, git://, file:// or git@host:org/repo",
            ));
        }
        let after = idx + 3;
        // The authority ends at the first '/' after the scheme (file:// has none).
        let path_start = s[after..].find('/').map(|i| after + i).unwrap_or(s.len());
        let (url, subdir, reference) = split_path(&s[..path_start], &s[path_start..]);
        check_subdir(s, &subdir)?;
        return Ok(SourceSpec::Git {
            url,
            subdir,
            reference,
        });
    }
    if let Some((userhost, _)) = s.split_once(':')
        && userhost.contains('@')
        && !userhost.contains('/')
    {
        let colon = userhost.len() + 1;
        let (url, subdir, reference) = split_path(&s[..colon], &s[colon..]);
        check_subdir(s, &subdir)?;
        return Ok(SourceSpec::Git {
            url,
            subdir,
            reference,
        });
    }
    if std::path::Path::new(s).is_dir() {
        return Ok(SourceSpec::Local {
            path: s.to_string(),
        });
    }
    let (name, constraint) = match s.split_once('@') {
        Some((n, c)) => (n, Some(c.to_string())),
        None => (s, None),
    };
    match name.split_once('/') {
        Some((catalog, profile))
            if !catalog.is_empty() && !profile.is_empty() && !profile.contains('/') =>
        {
            Ok(SourceSpec::Catalog {
                catalog: catalog.to_string(),
                profile: profile.to_string(),
                constraint,
            })
        }
        _ => bail!(crate::error::user(
            format!("cannot understand SOURCE {}", escaped(s)),
            "give a Git URL (https://host/org/repo//DIR@REF), a directory (./DIR) or CATALOG/PROFILE",
        )),
    }
}

/// A `//SUBDIR` names the profile's directory from the repository root: `..` has no
/// place in it (it could only climb out of the repository or take a detour).
/// Whether a Git URL names this machine's file system (`file://`, a path, or
/// anything without a scheme that is not `user@host:path`) rather than a server.
/// A URL with a scheme pctl does not know counts as local: refusing it is the safe
/// side.
pub fn is_local_url(url: &str) -> bool {
    if let Some(i) = url.find("://") {
        let scheme = url[..i].to_ascii_lowercase();
        return !matches!(scheme.as_str(), "https" | "http" | "ssh" | "git");
    }
    match url.split_once(':') {
        Some((userhost, _)) => !userhost.contains('@') || userhost.contains('/'),
        None => true,
    }
}

fn check_subdir(source: &str, subdir: &str) -> Result<()> {
    if subdir.split('/').any(|part| part == ".." || part == ".") || subdir.contains('\\') {
        bail!(crate::error::user(
            format!(
                "SOURCE {}: the subdirectory {subdir:?} contains '.', '..' or '\\'",
                escaped(source)
            ),
            "write the profile's directory from the repository root, for example URL//profiles/nginx",
        ));
    }
    Ok(())
}

/// Split `prefix` + `path` into the repository URL, the `//SUBDIR` and the `@REF`.
fn split_path(prefix: &str, path: &str) -> (String, String, Option<String>) {
    let (path, reference) = match path.find('@') {
        Some(i) => (
            &path[..i],
            Some(path[i + 1..].to_string()).filter(|r| !r.is_empty()),
        ),
        None => (path, None),
    };
    // `//` after the first character separates the subdirectory (file:///x//sub).
    let search_from = if path.starts_with('/') { 1 } else { 0 };
    let (repo_path, subdir) = match path[search_from..].find("//") {
        Some(i) => (
            &path[..search_from + i],
            path[search_from + i + 2..].trim_matches('/').to_string(),
        ),
        None => (path, String::new()),
    };
    (format!("{prefix}{repo_path}"), subdir, reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(url: &str, subdir: &str, r: Option<&str>) -> SourceSpec {
        SourceSpec::Git {
            url: url.into(),
            subdir: subdir.into(),
            reference: r.map(str::to_string),
        }
    }

    #[test]
    fn local_urls_are_told_from_servers() {
        for local in [
            "file:///home/me/repo",
            "FILE:///x",
            "/home/me/repo",
            "../sibling",
            "repo",
            "host:path",
            "ext::sh -c evil",
            "fd::3",
        ] {
            assert!(is_local_url(local), "{local}");
        }
        for remote in [
            "https://github.com/org/repo",
            "http://127.0.0.1:8080/r",
            "ssh://git@host/r",
            "git://127.0.0.1/r",
            "git@github.com:org/repo",
        ] {
            assert!(!is_local_url(remote), "{remote}");
        }
    }

    #[test]
    fn urls_with_subdir_and_ref() {
        assert_eq!(
            parse("https://github.com/org/profiles//nginx@nginx/v1.0.0").unwrap(),
            git(
                "https://github.com/org/profiles",
                "nginx",
                Some("nginx/v1.0.0")
            )
        );
        assert_eq!(
            parse("file:///tmp/repo//a/b@^1.2").unwrap(),
            git("file:///tmp/repo", "a/b", Some("^1.2"))
        );
        assert_eq!(
            parse("file:///tmp/repo").unwrap(),
            git("file:///tmp/repo", "", None)
        );
        assert_eq!(
            parse("git://127.0.0.1:9418/platform@main").unwrap(),
            git("git://127.0.0.1:9418/platform", "", Some("main"))
        );
        assert_eq!(
            parse("ssh://git@host:22/org/repo.git//x@1.x").unwrap(),
            git("ssh://git@host:22/org/repo.git", "x", Some("1.x"))
        );
        assert_eq!(
            parse("git@github.com:org/repo//sub@v1").unwrap(),
            git("git@github.com:org/repo", "sub", Some("v1"))
        );
        assert_eq!(
            parse("git@github.com:org/repo.git").unwrap(),
            git("git@github.com:org/repo.git", "", None)
        );
    }

    #[test]
    fn local_and_catalog() {
        assert_eq!(
            parse("./profiles/nginx").unwrap(),
            SourceSpec::Local {
                path: "./profiles/nginx".into()
            }
        );
        assert_eq!(
            parse("/abs/x").unwrap(),
            SourceSpec::Local {
                path: "/abs/x".into()
            }
        );
        assert_eq!(
            parse("weaveworks/nginx@^1").unwrap(),
            SourceSpec::Catalog {
                catalog: "weaveworks".into(),
                profile: "nginx".into(),
                constraint: Some("^1".into())
            }
        );
        assert!(parse("ftp://x/y").is_err());
        for s in [
            "weaveworks/nginx@",
            "https://github.com/org/profiles//nginx@",
            "git@github.com:org/repo@",
        ] {
            let err = parse(s).unwrap_err().to_string();
            assert!(err.contains("empty `@` reference"), "{s}: {err}");
        }
        let err = parse("weaveworks/x\n\u{1b}[31mred")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\\n\\u{1b}[31mred"), "{err}");
        assert!(!err.contains('\u{1b}') && !err.contains('\n'), "{err}");
        assert!(parse("a/b/c").is_err());
    }

    #[test]
    fn dot_dot_in_a_subdirectory_is_refused() {
        for s in [
            "https://github.com/org/profiles//../etc@v1",
            "file:///tmp/repo//a/../../b",
            "file:///tmp/repo//a/..",
            "git@github.com:org/repo//./x@v1",
            "ssh://git@host/org/repo.git//x/..\\y",
        ] {
            let err = parse(s).unwrap_err().to_string();
            assert!(err.contains("subdirectory"), "{s}: {err}");
        }
        // `..` in the repository path itself is the server's business.
        assert!(parse("https://host/org/../repo//x").is_ok());
        assert!(parse("file:///tmp/a/../repo").is_ok());
    }
}
