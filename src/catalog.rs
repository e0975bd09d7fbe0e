//! Catalog sources (docs/guide.md#catalogs): the catalog embedded in the binary
//! (`catalog/`), the user's `catalogs.yaml` and the GitOps repository's
//! `.pctl/catalogs.yaml`, merged by name; finding `CATALOG/PROFILE`; and the index of
//! every source (`index`), searched by `search`.
pub mod index;
pub mod search;
pub mod summary;

use crate::error::{Bug, HintExt, user};
use crate::git::Workspace;
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const API_VERSION: &str = "pctl.dev/v1alpha1";
pub const KIND: &str = "CatalogSources";
/// The team's catalog sources, committed in the GitOps repository.
pub const REPO_FILE: &str = ".pctl/catalogs.yaml";

/// The sources compiled into the binary (`catalog/catalogs.yaml`).
const EMBEDDED_SOURCES: &str = include_str!("../catalog/catalogs.yaml");

/// Indexes shipped with the binary, by source URL, so that `search` and `show`
/// answer on a machine that never reached the network.
pub const SHIPPED_INDEXES: &[(&str, &str)] = &[(
    "https://github.com/weaveworks/profiles-examples",
    include_str!("../catalog/weaveworks.index.json"),
)];

/// Where a catalog source is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Compiled into pctl (`catalog/` of the pctl sources).
    Embedded,
    /// `$XDG_CONFIG_HOME/pctl/catalogs.yaml`.
    User,
    /// `.pctl/catalogs.yaml` of the GitOps repository.
    Repo,
}

impl Origin {
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Embedded => "embedded",
            Origin::User => "user",
            Origin::Repo => "repo",
        }
    }
}

/// A `catalogs.yaml` file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourcesFile {
    #[serde(default = "api_version")]
    pub api_version: String,
    #[serde(default = "kind")]
    pub kind: String,
    #[serde(default)]
    pub catalogs: Vec<SourceDef>,
}

fn api_version() -> String {
    API_VERSION.to_string()
}

fn kind() -> String {
    KIND.to_string()
}

/// One catalog source: a Git repository to scan (`url`), or profiles listed by hand
/// (`profiles`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<ManualProfile>,
}

/// A profile listed by hand in a catalog source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManualProfile {
    pub name: String,
    /// The Git repository holding the profile.
    pub url: String,
    /// Its directory in that repository ("" = the root).
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub maintainer: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Known versions: `1.2.0` or `{version, tag, channel, date, changelog}`.
    #[serde(default)]
    pub versions: Vec<ManualVersion>,
}

/// A version of a hand-listed profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ManualVersion {
    Plain(String),
    Full {
        version: String,
        #[serde(default)]
        tag: Option<String>,
        #[serde(default)]
        channel: Option<String>,
        #[serde(default)]
        date: Option<String>,
        #[serde(default)]
        changelog: Option<String>,
    },
}

/// A source with where it was defined.
#[derive(Debug, Clone)]
pub struct Source {
    pub def: SourceDef,
    pub origin: Origin,
    /// The file that defines it, for messages.
    pub file: String,
}

impl Source {
    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// The URL scanned for this source, if it is a scanned one.
    pub fn url(&self) -> Option<&str> {
        self.def.url.as_deref()
    }
}

/// Which GitOps repository to read `.pctl/catalogs.yaml` from.
#[derive(Debug, Clone, Copy)]
pub enum RepoScope<'a> {
    /// None: only the embedded and user sources.
    None,
    /// The repository containing the current directory, if any (silently none).
    Cwd,
    /// `--repo`: a directory or URL; it must open.
    Given(&'a str),
}

impl<'a> RepoScope<'a> {
    pub fn from_flag(repo: Option<&'a str>) -> Self {
        match repo {
            Some(r) => RepoScope::Given(r),
            None => RepoScope::Cwd,
        }
    }
}

/// Every configured catalog source, merged by name: the GitOps repository's
/// definition wins over the user's, which wins over the embedded one.
#[derive(Debug, Clone, Default)]
pub struct Catalogs {
    pub sources: Vec<Source>,
    /// Definitions hidden by one of the same name from a stronger origin.
    pub shadowed: Vec<Source>,
}

/// `$XDG_CONFIG_HOME/pctl/catalogs.yaml` (or the platform's config directory).
pub fn user_file() -> Result<PathBuf> {
    let base = dirs::config_dir().ok_or_else(|| {
        user(
            "cannot find the user configuration directory",
            "set XDG_CONFIG_HOME",
        )
    })?;
    Ok(base.join("pctl").join("catalogs.yaml"))
}

/// Parse a `catalogs.yaml` text; `origin` names the file in messages.
pub fn parse_file(origin: &str, text: &str) -> Result<SourcesFile> {
    if text.trim().is_empty() {
        return Ok(SourcesFile {
            api_version: api_version(),
            kind: kind(),
            catalogs: Vec::new(),
        });
    }
    let file: SourcesFile = crate::yaml::from_str(origin, text).hint(format!(
        "a catalogs file holds `apiVersion: {API_VERSION}`, `kind: {KIND}` and `catalogs:` entries with `name` and either `url` or `profiles`"
    ))?;
    if file.api_version != API_VERSION || file.kind != KIND {
        bail!(user(
            format!(
                "{origin}: apiVersion {:?}, kind {:?} is not a catalogs file",
                file.api_version, file.kind
            ),
            format!("use `apiVersion: {API_VERSION}` and `kind: {KIND}`"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in &file.catalogs {
        check_def(origin, s)?;
        if !seen.insert(s.name.clone()) {
            bail!(user(
                format!("{origin}: catalog {:?} is defined twice", s.name),
                "give each catalog a unique name",
            ));
        }
    }
    Ok(file)
}

/// Check one source definition on its own.
pub fn check_def(origin: &str, s: &SourceDef) -> Result<()> {
    if !crate::names::is_dns1123_label(&s.name) {
        bail!(user(
            format!(
                "{origin}: catalog name {:?} is not a DNS-1123 label",
                s.name
            ),
            "use lower-case letters, digits and '-' (it is the CATALOG in CATALOG/PROFILE)",
        ));
    }
    match (&s.url, s.profiles.is_empty()) {
        (Some(_), false) => bail!(user(
            format!(
                "{origin}: catalog {:?} has both `url` and `profiles`",
                s.name
            ),
            "a source is either a Git repository to scan (url) or a list of profiles (profiles)",
        )),
        (None, true) => bail!(user(
            format!(
                "{origin}: catalog {:?} has neither `url` nor `profiles`",
                s.name
            ),
            "give the Git repository to scan as `url`, or list profiles by hand under `profiles`",
        )),
        _ => {}
    }
    for p in &s.profiles {
        if !crate::names::is_dns1123_label(&p.name) {
            bail!(user(
                format!(
                    "{origin}: catalog {:?}: profile name {:?} is not a DNS-1123 label",
                    s.name, p.name
                ),
                "use lower-case letters, digits and '-'",
            ));
        }
        for v in &p.versions {
            let text = match v {
                ManualVersion::Plain(t) => t,
                ManualVersion::Full { version, .. } => version,
            };
            if semver::Version::parse(text.trim_start_matches('v')).is_err() {
                bail!(user(
                    format!(
                        "{origin}: catalog {:?}: profile {:?}: version {text:?} is not a semantic version",
                        s.name, p.name
                    ),
                    "write versions as X.Y.Z (for example 1.2.0 or 1.3.0-beta.1)",
                ));
            }
        }
    }
    Ok(())
}

impl Catalogs {
    /// Load and merge the embedded, user and GitOps repository sources.
    pub fn load(scope: RepoScope) -> Result<Catalogs> {
        let mut layers: Vec<(Origin, String, SourcesFile)> = Vec::new();
        let embedded =
            parse_file("catalog/catalogs.yaml (embedded)", EMBEDDED_SOURCES).map_err(|e| {
                anyhow::Error::new(Bug(format!("the embedded catalog is invalid: {e}")))
            })?;
        layers.push((Origin::Embedded, "catalog/catalogs.yaml".into(), embedded));
        let user_path = user_file()?;
        if let Some(text) = read_optional(&user_path)? {
            let origin = user_path.display().to_string();
            layers.push((Origin::User, origin.clone(), parse_file(&origin, &text)?));
        }
        if let Some((desc, text)) = repo_file(scope)? {
            let origin = format!("{desc}: {REPO_FILE}");
            layers.push((Origin::Repo, origin.clone(), parse_file(&origin, &text)?));
        }
        let mut out = Catalogs::default();
        for (origin, file, sf) in layers {
            for def in sf.catalogs {
                let src = Source {
                    def,
                    origin,
                    file: file.clone(),
                };
                if let Some(i) = out.sources.iter().position(|s| s.name() == src.name()) {
                    let old = std::mem::replace(&mut out.sources[i], src);
                    out.shadowed.push(old);
                } else {
                    out.sources.push(src);
                }
            }
        }
        out.sources.sort_by(|a, b| a.def.name.cmp(&b.def.name));
        Ok(out)
    }

    /// The source named `name`, or an error listing the configured ones.
    pub fn get(&self, name: &str) -> Result<&Source> {
        if let Some(s) = self.sources.iter().find(|s| s.name() == name) {
            return Ok(s);
        }
        let names: Vec<&str> = self.sources.iter().map(|s| s.name()).collect();
        let close = names
            .iter()
            .filter(|n| strsim::levenshtein(n, name) <= 2)
            .map(|n| format!("did you mean {n:?}? "))
            .next()
            .unwrap_or_default();
        Err(user(
            format!("no catalog named {name:?} is configured"),
            format!(
                "{close}configured catalogs: {}; add one with `pctl catalog add NAME URL`",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ))
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
    }
}

/// The GitOps repository's `.pctl/catalogs.yaml` at HEAD, with a description of the
/// repository; None when there is no repository in scope or no such file.
fn repo_file(scope: RepoScope) -> Result<Option<(String, String)>> {
    let ws = match scope {
        RepoScope::None => return Ok(None),
        RepoScope::Cwd => match Workspace::open(None) {
            Ok(ws) => ws,
            Err(_) => return Ok(None),
        },
        RepoScope::Given(r) => Workspace::open(Some(r))?,
    };
    let view = match (scope, ws.view()) {
        (_, Ok(v)) => v,
        (RepoScope::Cwd, Err(_)) => return Ok(None),
        (_, Err(e)) => return Err(e),
    };
    Ok(view
        .read_string(REPO_FILE)?
        .map(|text| (ws.describe(), text)))
}

/// Change the user's catalogs file under a lock, writing it atomically.
pub fn edit_user_file(change: impl FnOnce(&mut SourcesFile) -> Result<()>) -> Result<PathBuf> {
    let path = user_file()?;
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _lock = crate::git::lock_file(&dir.join("catalogs.yaml.lock"))?;
    let origin = path.display().to_string();
    let mut file = match read_optional(&path)? {
        Some(text) => parse_file(&origin, &text)?,
        None => parse_file(&origin, "")?,
    };
    change(&mut file)?;
    let mut text =
        String::from("# pctl catalog sources (pctl catalog add/remove edit this file).\n");
    text.push_str(&crate::yaml::to_string(&file)?);
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Write `bytes` to `path` through a temporary file in the same directory and a
/// rename, so readers see the old or the new content, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", path.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".pctl-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow!(e.error).context(format!("cannot write {}", path.display())))?;
    Ok(())
}

/// A `CATALOG/PROFILE` found in its catalog: the repository and directory to install
/// from, and the catalog's index entry.
#[derive(Debug, Clone)]
pub struct Located {
    pub catalog: String,
    pub url: String,
    pub path: String,
    pub entry: index::ProfileEntry,
    /// What the caller should tell the user (a scan of the source that failed).
    pub warnings: Vec<String>,
}

/// Find `catalog/profile`: in the index of its source (scanning the source first when
/// it has no index yet, and once more when the profile is not in the index).
pub fn locate(
    catalogs: &Catalogs,
    catalog: &str,
    profile: &str,
    upstreams: &crate::git::Upstreams,
) -> Result<Located> {
    let source = catalogs.get(catalog)?;
    if let Some(entry) = summary::cached_entry(source, profile) {
        return located(catalog, source, entry);
    }
    let mut idx = index::for_source(source, upstreams, index::Refresh::IfMissing)?;
    let mut warnings = std::mem::take(&mut idx.warnings);
    if idx.profile(profile).is_none() && source.url().is_some() && !idx.fresh {
        idx = index::for_source(source, upstreams, index::Refresh::Always)?;
        warnings.append(&mut idx.warnings);
    }
    let Some(entry) = idx.profile(profile) else {
        let names: Vec<&str> = idx.index.profiles.iter().map(|p| p.name.as_str()).collect();
        let close: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| strsim::levenshtein(n, profile) <= 3 || n.contains(profile))
            .collect();
        // A failed scan is why the profile may be missing: say so with the error, which
        // is all the user sees (warnings are printed only on success).
        if let Some(scan) = warnings.first() {
            let scan = scan
                .strip_prefix(&format!("catalog {catalog:?}: "))
                .unwrap_or(scan);
            bail!(user(
                format!(
                    "catalog {catalog:?} has no profile named {profile:?}, and its source could not be scanned again: {scan}"
                ),
                format!(
                    "a fresh scan may list it: check the network and the source's URL (`pctl catalog list`), then run `pctl catalog update {catalog}`{}",
                    if close.is_empty() {
                        String::new()
                    } else {
                        format!("; or did you mean {}?", close.join(", "))
                    }
                ),
            ));
        }
        bail!(user(
            format!("catalog {catalog:?} has no profile named {profile:?}"),
            if !close.is_empty() {
                format!("did you mean {}?", close.join(", "))
            } else if names.is_empty() {
                format!(
                    "catalog {catalog:?} lists no profiles yet; `pctl catalog update {catalog}` scans it"
                )
            } else {
                format!(
                    "`pctl search` lists profiles; {catalog:?} has {}",
                    names.join(", ")
                )
            },
        ));
    };
    let mut found = located(catalog, source, entry.clone())?;
    found.warnings = warnings;
    Ok(found)
}

fn located(catalog: &str, source: &Source, entry: index::ProfileEntry) -> Result<Located> {
    let url = entry
        .url
        .clone()
        .or_else(|| source.url().map(str::to_string))
        .ok_or_else(|| anyhow!("catalog {catalog:?}: profile {:?} has no URL", entry.name))?;
    Ok(Located {
        catalog: catalog.to_string(),
        url,
        path: entry.path.clone(),
        entry,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sources_and_shipped_indexes_are_valid() {
        let f = parse_file("embedded", EMBEDDED_SOURCES).unwrap();
        assert!(
            f.catalogs.iter().any(
                |c| c.url.as_deref() == Some("https://github.com/weaveworks/profiles-examples")
            )
        );
        for (url, text) in SHIPPED_INDEXES {
            let idx = index::parse(url, text).unwrap();
            assert_eq!(&idx.url, url);
            assert!(!idx.profiles.is_empty());
            assert!(
                idx.provenance.is_some(),
                "a shipped index says where it came from"
            );
        }
    }

    #[test]
    fn a_source_is_a_repository_or_a_list() {
        let both = "apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: a\n    url: https://x\n    profiles: [{name: p, url: https://y}]\n";
        assert!(parse_file("f", both).is_err());
        let neither =
            "apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: a\n";
        assert!(parse_file("f", neither).is_err());
        let list = "apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: team\n    profiles:\n      - name: web\n        url: https://git.example.com/web\n        versions: [1.0.0, {version: 1.1.0-beta.1, channel: beta}]\n";
        let f = parse_file("f", list).unwrap();
        assert_eq!(f.catalogs[0].profiles[0].versions.len(), 2);
        let bad_name = "apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: Team\n    url: https://x\n";
        assert!(parse_file("f", bad_name).is_err());
        let unknown = "apiVersion: pctl.dev/v1alpha1\nkind: CatalogSources\ncatalogs:\n  - name: a\n    uri: https://x\n";
        let e = parse_file("f", unknown).unwrap_err();
        assert!(format!("{e:#}").contains("uri"), "{e:#}");
    }
}
