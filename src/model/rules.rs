//! Rules on single fields of a profile definition (docs/profile-reference.md, docs/security.md#trust-model), in ONE place for
//! `pctl lint` and for every command that reads a profile (install, upgrade, render,
//! diff, export): chart URLs and versions, artifact name lengths, path lengths.
use super::release::Problem;
use super::{Artifact, ArtifactKind, Chart, ProfileDefinition, Warnings};
use anyhow::{Result, bail};

/// Longest path component a file system takes.
pub const MAX_COMPONENT: usize = 255;
/// Longest path inside a profile that pctl reads.
pub const MAX_PATH: usize = 1024;

/// Whether a chart URL is refused (with why and a hint) or accepted with a warning.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlVerdict {
    Ok,
    /// Accepted, with this warning.
    Warn(String),
    /// Refused: what is wrong, and a hint.
    Refuse(String, &'static str),
}

/// The chart URL rule: `https://` and `oci://` are accepted, `http://` with a warning
/// (Flux fetches it unencrypted, as an in-cluster chart museum may need), every other
/// scheme (`file://` above all) is refused, as are URLs with no host or with spaces or
/// control characters.
pub fn chart_url(url: &str) -> UrlVerdict {
    let hint = "use a Helm repository (https://) or an OCI registry (oci://); a chart inside the profile takes `path` instead";
    let shown = crate::source::escaped(url);
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return UrlVerdict::Refuse(
            format!("chart url {shown} holds a space or a control character"),
            hint,
        );
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return UrlVerdict::Refuse(
            format!(
                "chart url {shown} is not a Helm repository (https://) or OCI registry (oci://)"
            ),
            hint,
        );
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    match scheme.to_ascii_lowercase().as_str() {
        "https" | "oci" | "http" if host.is_empty() => {
            UrlVerdict::Refuse(format!("chart url {shown} names no host"), hint)
        }
        "https" | "oci" => UrlVerdict::Ok,
        "http" => UrlVerdict::Warn(format!(
            "chart url {shown} is plain http://: Flux fetches the chart unencrypted; use https:// unless it is an in-cluster chart repository"
        )),
        other => UrlVerdict::Refuse(
            format!(
                "chart url {shown} uses the {other}:// scheme; only https://, oci:// (and http://) are chart sources"
            ),
            hint,
        ),
    }
}

/// Whether Helm (Masterminds semver) can read `v` as a version or range.
pub fn chart_version(v: &str) -> bool {
    let t = v.trim();
    if t.is_empty() || t.len() > 256 {
        return false;
    }
    let bare = t.strip_prefix('v').unwrap_or(t);
    if semver::Version::parse(bare).is_ok() || semver::VersionReq::parse(bare).is_ok() {
        return true;
    }
    // Masterminds accepts `||`, hyphen ranges and space-separated comparators.
    t.split("||").all(|alt| {
        let alt = alt.trim();
        let parts: Vec<&str> = if let Some((a, b)) = alt.split_once(" - ") {
            vec![a, b]
        } else {
            alt.split([' ', ',']).filter(|s| !s.is_empty()).collect()
        };
        !parts.is_empty()
            && parts.iter().all(|p| {
                let p = p.trim_start_matches(['>', '<', '=', '~', '^', '!']);
                let p = p.strip_prefix('v').unwrap_or(p);
                semver::VersionReq::parse(p).is_ok()
            })
    })
}

/// The hint for a chart version that is refused.
pub const CHART_VERSION_HINT: &str =
    "use an exact version (4.10.1) or a range (4.x, ^4.10, >=4.0.0 <5.0.0)";

/// Why a path inside a profile is too long, if it is.
pub fn path_length(path: &str) -> Option<String> {
    if let Some(p) = path.split('/').find(|p| p.len() > MAX_COMPONENT) {
        return Some(format!(
            "the name {:?}… is {} bytes long, over the limit of {MAX_COMPONENT}",
            p.chars().take(20).collect::<String>(),
            p.len()
        ));
    }
    (path.len() > MAX_PATH).then(|| {
        format!(
            "it is {} bytes long, over the limit of {MAX_PATH}",
            path.len()
        )
    })
}

/// Whether `name` can be a chart's name in a Helm repository: a letter or digit,
/// then letters, digits, `.`, `_` and `-`, at most 250 characters. Nothing that
/// starts with `-` (which a command line would read as a flag), no `/`, space or
/// control character. Empty is allowed: an OCI URL may name the chart itself.
pub fn chart_name(name: &str) -> bool {
    name.is_empty()
        || (name.len() <= 250
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
}

/// Check the field rules of every artifact: refused fields are errors naming the
/// file, the artifact and the field.
pub fn check(origin: &str, def: &ProfileDefinition) -> Result<()> {
    for a in &def.artifacts {
        if let Some(p) = artifact_problems(a).into_iter().next() {
            bail!(crate::error::user(
                format!("{origin}: {}", p.message),
                p.hint
            ));
        }
    }
    Ok(())
}

/// Every field rule one artifact breaks: the field below the artifact (`name`,
/// `chart.url`), the message (naming the artifact) and a hint.
pub fn artifact_problems(a: &Artifact) -> Vec<Problem> {
    let mut out = Vec::new();
    let name = &a.name;
    let mut push = |path: &str, message: String, hint: &str| {
        out.push(Problem {
            path: path.to_string(),
            message,
            hint: hint.to_string(),
        })
    };
    if a.name.len() > crate::names::MAX_OBJECT_NAME {
        push(
            "name",
            format!(
                "artifact name {:?}… is {} characters long, over the limit of {}",
                a.name.chars().take(20).collect::<String>(),
                a.name.len(),
                crate::names::MAX_OBJECT_NAME
            ),
            "artifact names are DNS-1123 labels: at most 63 lower-case letters, digits and '-'",
        );
    }
    let path = match &a.kind {
        ArtifactKind::Chart {
            chart:
                Chart::Remote {
                    url,
                    version,
                    name: chart_name_field,
                },
            ..
        } => {
            if !chart_name(chart_name_field) {
                push(
                    "chart.name",
                    format!(
                        "artifact {name:?}: chart name {} is not a Helm chart name",
                        crate::source::escaped(chart_name_field)
                    ),
                    "a chart name starts with a letter or digit and holds only letters, digits, '.', '_' and '-' (for example kube-prometheus-stack)",
                );
            }
            if let UrlVerdict::Refuse(why, hint) = chart_url(url) {
                push("chart.url", format!("artifact {name:?}: {why}"), hint);
            }
            if !chart_version(version) {
                push(
                    "chart.version",
                    format!(
                        "artifact {name:?}: chart version {} is neither a version nor a semver range",
                        crate::source::escaped(version)
                    ),
                    CHART_VERSION_HINT,
                );
            }
            None
        }
        ArtifactKind::Chart {
            chart: Chart::Local { path },
            ..
        } => Some(("chart.path", path)),
        ArtifactKind::Kustomize { path } => Some(("kustomize.path", path)),
        ArtifactKind::Profile { source, .. } => Some(("profile.source.path", &source.path)),
    };
    if let Some((field, path)) = path
        && let Some(why) = path_length(path)
    {
        push(
            field,
            format!("artifact {name:?}: {field}: {why}"),
            "use shorter directory names",
        );
    }
    out
}

/// Warnings for fields that are accepted but weaken what the user gets.
pub fn warnings(origin: &str, def: &ProfileDefinition) -> Warnings {
    let mut out = Warnings::new();
    for a in &def.artifacts {
        if let ArtifactKind::Chart {
            chart: Chart::Remote { url, .. },
            ..
        } = &a.kind
            && let UrlVerdict::Warn(w) = chart_url(url)
        {
            out.push(format!("{origin}: artifact {:?}: {w}", a.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_urls() {
        assert_eq!(chart_url("https://charts.example.com"), UrlVerdict::Ok);
        assert_eq!(chart_url("oci://ghcr.io/org/charts"), UrlVerdict::Ok);
        assert!(matches!(
            chart_url("http://museum.svc:8080"),
            UrlVerdict::Warn(_)
        ));
        for bad in [
            "file:///etc",
            "ftp://x/y",
            "charts.example.com",
            "https://",
            "https://a b",
            "https://x\n",
        ] {
            assert!(matches!(chart_url(bad), UrlVerdict::Refuse(..)), "{bad}");
        }
    }

    #[test]
    fn chart_names() {
        for ok in [
            "nginx",
            "kube-prometheus-stack",
            "cert_manager",
            "Chart.v2",
            "",
        ] {
            assert!(chart_name(ok), "{ok}");
        }
        for bad in [
            "--post-renderer=/bin/sh",
            "-x",
            "a/b",
            "a b",
            "a\nb",
            ".hidden",
        ] {
            assert!(!chart_name(bad), "{bad}");
        }
    }

    #[test]
    fn chart_versions() {
        for ok in [
            "1.2.3",
            "58.x",
            "^1.2",
            ">=1.0.0 <2.0.0",
            "~1.2 || ^2",
            "1.2 - 1.4",
            "v4.10.1",
            "*",
        ] {
            assert!(chart_version(ok), "{ok}");
        }
        for bad in [
            "latest",
            "",
            "stable",
            "1.2.3.4.5",
            "$(rm -rf ~)",
            "1.0; rm -rf /",
        ] {
            assert!(!chart_version(bad), "{bad}");
        }
    }
}
