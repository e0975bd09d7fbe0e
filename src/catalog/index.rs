//! The index of one catalog source: every profile version found in its Git
//! repository's tags (or listed by hand), kept as JSON in the user cache directory.
//! Updates are incremental (a tag is read again only when it names another object),
//! locked, and written through a temporary file and a rename, so concurrent pctl
//! processes always leave a whole index behind.
use super::{ManualVersion, Source};
use crate::error::HintExt;
use crate::git::{Upstream, Upstreams};
use crate::model::{ArtifactKind, Chart, ProfileDefinition};
use crate::version;
use crate::yaml::Value;
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// Version of the index file layout; another number means "rebuild".
pub const FORMAT: u32 = 1;

/// The index of one source.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub format: u32,
    /// The repository scanned (for a hand-written source: "").
    pub url: String,
    /// When it was last scanned (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Where the data came from, when it was not scanned by pctl (shipped indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
    /// Every version tag read, with the object (tag or commit) it named when read.
    #[serde(default)]
    pub read: BTreeMap<String, String>,
    /// Version tags that could not be indexed, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    #[serde(default)]
    pub profiles: Vec<ProfileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Skipped {
    pub tag: String,
    pub reason: String,
}

/// A profile of a source, with every version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProfileEntry {
    /// The name in the catalog: the profile's directory (its last component), or
    /// `metadata.name` for a profile at the repository root.
    pub name: String,
    /// The repository, when it is not the source's (hand-written entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Directory of the profile in the repository ("" = root).
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub maintainer: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<String>,
    /// Oldest first.
    #[serde(default)]
    pub versions: Vec<VersionEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VersionEntry {
    pub version: String,
    pub tag: String,
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The tagger's date (the commit's for a lightweight tag), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The annotated tag's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
    /// What `profile.yaml` declared at this version (absent when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Definition>,
}

/// The part of a profile definition that `search` and `show` need.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub maintainer: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParamEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presets: Vec<String>,
    #[serde(default)]
    pub artifacts: Vec<ArtifactEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ParamEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactEntry {
    pub name: String,
    /// chart, local chart, kustomize or profile.
    pub kind: String,
    /// Where its content comes from, in words (`nginx 9.3.0 from https://…`).
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl Definition {
    pub fn from_model(def: &ProfileDefinition) -> Definition {
        Definition {
            name: def.name.clone(),
            description: def.description.clone(),
            maintainer: def.maintainer.clone(),
            keywords: def.keywords.clone(),
            prerequisites: def.prerequisites.clone(),
            parameters: def
                .parameters
                .iter()
                .map(|p| ParamEntry {
                    name: p.name.clone(),
                    kind: p.kind.as_str().to_string(),
                    required: p.required,
                    default: p.default.clone(),
                    allowed: p.allowed.clone(),
                    description: p.description.clone(),
                })
                .collect(),
            presets: def.presets.keys().cloned().collect(),
            artifacts: def
                .artifacts
                .iter()
                .map(|a| ArtifactEntry {
                    name: a.name.clone(),
                    kind: a.kind.label().to_string(),
                    source: artifact_source(&a.kind),
                    depends_on: a.depends_on.clone(),
                })
                .collect(),
        }
    }
}

fn artifact_source(kind: &ArtifactKind) -> String {
    match kind {
        ArtifactKind::Chart {
            chart: Chart::Remote { url, name, version },
            ..
        } => format!("{name} {version} from {url}"),
        ArtifactKind::Chart {
            chart: Chart::Local { path },
            ..
        } => path.clone(),
        ArtifactKind::Kustomize { path } => path.clone(),
        ArtifactKind::Profile { source, .. } => {
            let mut s = source
                .url
                .clone()
                .unwrap_or_else(|| "(same repository)".to_string());
            if !source.path.is_empty() {
                s.push_str("//");
                s.push_str(&source.path);
            }
            if let Some(r) = source
                .tag
                .as_ref()
                .or(source.branch.as_ref())
                .or(source.version.as_ref())
            {
                s.push('@');
                s.push_str(r);
            }
            s
        }
    }
}

impl ProfileEntry {
    /// Versions as candidates for `version::select`.
    pub fn candidates(&self) -> Vec<version::Candidate> {
        self.versions
            .iter()
            .filter_map(|v| {
                Some(version::Candidate {
                    tag: v.tag.clone(),
                    version: semver::Version::parse(&v.version).ok()?,
                    channel: v.channel.clone(),
                })
            })
            .collect()
    }

    /// The newest version in channel stable (plus `channel`).
    pub fn newest(&self, channel: Option<&str>) -> Option<&VersionEntry> {
        self.select(&version::Constraint::Latest, channel)
    }

    /// The version a constraint selects.
    pub fn select(&self, c: &version::Constraint, channel: Option<&str>) -> Option<&VersionEntry> {
        let cands = self.candidates();
        let chosen = version::select(&cands, c, channel)?;
        self.versions.iter().find(|v| v.tag == chosen.tag)
    }
}

/// Parse an index file; `origin` names it in messages.
pub fn parse(origin: &str, text: &str) -> Result<Index> {
    let idx: Index = serde_json::from_str(text)
        .map_err(|e| anyhow!("{origin}: not a pctl catalog index ({e})"))?;
    if idx.format != FORMAT {
        bail!(
            "{origin}: index format {} (this pctl reads format {FORMAT})",
            idx.format
        );
    }
    Ok(idx)
}

/// `$XDG_CACHE_HOME/pctl/catalog/<repository>-<hash>.json` for a source URL.
pub fn cache_path(url: &str) -> Result<PathBuf> {
    let hash = crate::record::sha256(url.as_bytes());
    let readable: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit('/')
        .next()
        .unwrap_or("catalog")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    Ok(crate::git::cache_dir()?
        .join("catalog")
        .join(format!("{readable}-{}.json", &hash[..12])))
}

/// The index shipped with pctl for `url`, if any.
pub fn shipped(url: &str) -> Option<Index> {
    super::SHIPPED_INDEXES
        .iter()
        .find(|(u, _)| *u == url)
        .and_then(|(u, text)| parse(&format!("shipped index of {u}"), text).ok())
}

/// When to scan a source before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Never: answer from what is cached or shipped.
    Never,
    /// Only when it has no usable index (none cached or shipped, or a corrupt one).
    IfMissing,
    /// Always (`catalog update`).
    Always,
}

/// Where an index came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexKind {
    /// Scanned by pctl, in the user cache.
    Cached,
    /// Shipped with pctl (never scanned on this machine).
    Shipped,
    /// Listed by hand in the source definition.
    Manual,
    /// Nothing known yet.
    Missing,
}

/// A source's index as answered.
#[derive(Debug, Clone)]
pub struct SourceIndex {
    pub index: Index,
    pub kind: IndexKind,
    /// Scanned during this command.
    pub fresh: bool,
    /// The update that made it fresh.
    pub report: Option<UpdateReport>,
    /// Why the cached index could not be used (corrupt), when it was not rebuilt.
    pub problem: Option<String>,
    /// What the caller should tell the user (a scan that failed, a corrupt index
    /// rebuilt, tags skipped).
    pub warnings: Vec<String>,
}

impl SourceIndex {
    pub fn profile(&self, name: &str) -> Option<&ProfileEntry> {
        self.index.profiles.iter().find(|p| p.name == name)
    }
}

/// The index of `source`, scanning according to `refresh`. An unreachable source
/// keeps its last index (with a warning); a corrupt index is rebuilt (with a warning).
pub fn for_source(source: &Source, upstreams: &Upstreams, refresh: Refresh) -> Result<SourceIndex> {
    let Some(url) = source.url() else {
        return Ok(SourceIndex {
            index: manual(source),
            kind: IndexKind::Manual,
            fresh: false,
            report: None,
            problem: None,
            warnings: Vec::new(),
        });
    };
    let cached = load_cached(url)?;
    let problem = match &cached {
        Cached::Corrupt(why) => Some(why.clone()),
        _ => None,
    };
    let must_scan = match refresh {
        Refresh::Always => true,
        Refresh::Never => false,
        Refresh::IfMissing => match &cached {
            Cached::Ok(_) => false,
            Cached::Corrupt(_) => true,
            Cached::Missing => shipped(url).is_none(),
        },
    };
    let mut warnings = Vec::new();
    if must_scan {
        match update(source.name(), url, upstreams) {
            Ok((index, report)) => {
                return Ok(SourceIndex {
                    index,
                    kind: IndexKind::Cached,
                    fresh: true,
                    warnings: report.warnings.clone(),
                    report: Some(report),
                    problem: None,
                });
            }
            Err(e) => {
                let kept = match (&cached, shipped(url)) {
                    (Cached::Ok(i), _) => format!(
                        "keeping its index from {}",
                        i.updated.as_deref().unwrap_or("an earlier scan")
                    ),
                    (_, Some(_)) => "keeping the index shipped with pctl".to_string(),
                    _ => "it has no index yet".to_string(),
                };
                warnings.push(format!(
                    "catalog {:?}: cannot scan {url}: {}; {kept}",
                    source.name(),
                    one_line(&e)
                ));
            }
        }
    }
    Ok(match cached {
        Cached::Ok(index) => SourceIndex {
            index,
            kind: IndexKind::Cached,
            fresh: false,
            report: None,
            problem: None,
            warnings,
        },
        _ => match shipped(url) {
            Some(index) => SourceIndex {
                index,
                kind: IndexKind::Shipped,
                fresh: false,
                report: None,
                problem: problem.clone(),
                warnings,
            },
            None => SourceIndex {
                index: Index {
                    format: FORMAT,
                    url: url.to_string(),
                    ..Default::default()
                },
                kind: IndexKind::Missing,
                fresh: false,
                report: None,
                problem: problem.clone(),
                warnings,
            },
        },
    })
}

/// An error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    let (top, causes, _) = crate::error::describe(e);
    std::iter::once(top)
        .chain(causes)
        .collect::<Vec<_>>()
        .join(": ")
}

enum Cached {
    Ok(Index),
    Corrupt(String),
    Missing,
}

fn load_cached(url: &str) -> Result<Cached> {
    let path = cache_path(url)?;
    let text = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Cached::Missing),
        Err(e) => return Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
    };
    let text = String::from_utf8_lossy(&text);
    match parse(&path.display().to_string(), &text) {
        Ok(i) if i.url == url => Ok(Cached::Ok(i)),
        Ok(i) => Ok(Cached::Corrupt(format!(
            "{}: it indexes {} instead",
            path.display(),
            i.url
        ))),
        Err(e) => Ok(Cached::Corrupt(e.to_string())),
    }
}

/// What one update did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReport {
    pub catalog: String,
    pub url: String,
    /// Version tags read in this update (new or moved).
    pub tags_read: usize,
    /// Version tags already in the index and unchanged.
    pub tags_unchanged: usize,
    /// Tags gone from the repository and dropped from the index.
    pub tags_removed: usize,
    /// Tags read in this update that could not be indexed.
    pub skipped: Vec<Skipped>,
    pub profiles: usize,
    pub versions: usize,
    /// The previous index file was corrupt and was rebuilt.
    pub rebuilt: bool,
    /// What the caller should tell the user (a corrupt index rebuilt, tags skipped).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Scan `url` (fetching it) and update its cached index: only version tags that are
/// new, or name another object than when they were read, are read. Holds a lock for
/// the whole update and replaces the file atomically.
pub fn update(catalog: &str, url: &str, upstreams: &Upstreams) -> Result<(Index, UpdateReport)> {
    let path = cache_path(url)?;
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _lock = crate::git::lock_file(&path.with_extension("lock"))?;
    let up = upstreams.open(url)?;
    let mut warnings = Vec::new();
    let (old, rebuilt) = match load_cached(url)? {
        Cached::Ok(i) => (i, false),
        Cached::Missing => (Index::default(), false),
        Cached::Corrupt(why) => {
            warnings.push(format!(
                "catalog {catalog:?}: the index {} is corrupt ({why}); rebuilding it",
                path.display()
            ));
            (Index::default(), true)
        }
    };
    let (index, mut report) = scan(&up, old)?;
    report.catalog = catalog.to_string();
    report.rebuilt = rebuilt;
    for s in &report.skipped {
        warnings.push(format!(
            "catalog {catalog:?}: skipped tag {}: {}",
            s.tag, s.reason
        ));
    }
    report.warnings = warnings;
    // Sized for the old file and a little more: growing the buffer by doubling would
    // hold twice the index's text for a moment (the peak of an update's memory).
    let old_len = std::fs::metadata(&path).map_or(0, |m| m.len() as usize);
    let mut text = Vec::with_capacity(old_len + old_len / 16 + 4096);
    serde_json::to_writer(&mut text, &index).context("cannot serialize the catalog index")?;
    let text = String::from_utf8(text).context("cannot serialize the catalog index")?;
    super::write_atomic(&path, text.as_bytes())
        .hint("check that the cache directory ($XDG_CACHE_HOME/pctl) is writable")?;
    // Still under the lock: the summary `search` reads (best effort; rebuilt if absent).
    super::summary::write(&path, url, &text, None);
    Ok((index, report))
}

/// Split a version tag into the profile directory and the version.
pub fn split_tag(tag: &str) -> Option<(String, semver::Version)> {
    let dir = match tag.rsplit_once('/') {
        Some((d, _)) => d,
        None => "",
    };
    version::parse_tag(tag, dir).map(|v| (dir.to_string(), v))
}

/// Build the new index from the repository's tags and the old index, whose entries
/// move into the new one (one copy of the catalog in memory, not two).
pub fn scan(up: &Upstream, old: Index) -> Result<(Index, UpdateReport)> {
    let refs = up.tag_refs()?;
    let Index {
        read: old_read,
        skipped: old_skipped,
        profiles: old_profiles,
        ..
    } = old;
    // What the old index knew, by tag: the directory and the entry.
    let mut known: HashMap<String, (String, VersionEntry)> = HashMap::new();
    for p in old_profiles {
        for v in p.versions {
            known.insert(v.tag.clone(), (p.path.clone(), v));
        }
    }
    let mut old_skipped: HashMap<String, Skipped> = old_skipped
        .into_iter()
        .map(|s| (s.tag.clone(), s))
        .collect();

    let mut read = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut new_skipped = Vec::new();
    let mut by_dir: BTreeMap<String, Vec<VersionEntry>> = BTreeMap::new();
    let (mut tags_read, mut unchanged) = (0usize, 0usize);
    let mut current = BTreeSet::new();
    for r in &refs {
        let Some((dir, v)) = split_tag(&r.name) else {
            continue;
        };
        current.insert(r.name.as_str());
        let target = r.target.to_string();
        if old_read.get(&r.name) == Some(&target) {
            if let Some((d, entry)) = known.remove(r.name.as_str()) {
                by_dir.entry(d).or_default().push(entry);
                read.insert(r.name.clone(), target);
                unchanged += 1;
                continue;
            }
            if let Some(s) = old_skipped.remove(r.name.as_str()) {
                skipped.push(s);
                read.insert(r.name.clone(), target);
                unchanged += 1;
                continue;
            }
        }
        tags_read += 1;
        read.insert(r.name.clone(), target);
        match read_version(up, &r.name, &dir, &v) {
            Ok(entry) => by_dir.entry(dir).or_default().push(entry),
            Err(reason) => {
                let s = Skipped {
                    tag: r.name.clone(),
                    reason,
                };
                skipped.push(s.clone());
                new_skipped.push(s);
            }
        }
    }
    drop(known);
    let tags_removed = old_read
        .keys()
        .filter(|t| !current.contains(t.as_str()))
        .count();
    let profiles = group(by_dir);
    let versions = profiles.iter().map(|p| p.versions.len()).sum();
    let index = Index {
        format: FORMAT,
        url: up.url.clone(),
        updated: Some(rfc3339(now())),
        provenance: None,
        read,
        skipped,
        profiles,
    };
    let report = UpdateReport {
        catalog: String::new(),
        url: up.url.clone(),
        tags_read,
        tags_unchanged: unchanged,
        tags_removed,
        skipped: new_skipped,
        profiles: index.profiles.len(),
        versions,
        rebuilt: false,
        warnings: Vec::new(),
    };
    Ok((index, report))
}

/// Read one version tag: its commit, message, date and `profile.yaml`. Err is the
/// reason it cannot be indexed.
fn read_version(
    up: &Upstream,
    tag: &str,
    dir: &str,
    v: &semver::Version,
) -> std::result::Result<VersionEntry, String> {
    let detail = up.tag_detail(tag).map_err(|e| one_line(&e))?;
    let file = crate::gitops::join(dir, "profile.yaml");
    let bytes = up
        .file_at(detail.commit, &file)
        .map_err(|e| one_line(&e))?
        .ok_or_else(|| format!("{file} does not exist at {tag}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{file} is not UTF-8 text"))?;
    let origin = format!("{}//{file}@{tag}", up.url);
    let dir_name = dir.rsplit('/').next().filter(|s| !s.is_empty());
    let (def, _warnings) =
        crate::model::parse(&origin, &text, dir_name).map_err(|e| one_line(&e))?;
    Ok(VersionEntry {
        version: v.to_string(),
        tag: tag.to_string(),
        channel: version::channel_of(v, detail.message.as_deref()),
        commit: Some(detail.commit.to_string()),
        date: Some(rfc3339(detail.time)),
        changelog: detail.message.map(|m| m.trim_end().to_string()),
        definition: Some(Definition::from_model(&def)),
    })
}

/// Versions grouped by directory into profiles, named and described by their newest
/// version.
fn group(by_dir: BTreeMap<String, Vec<VersionEntry>>) -> Vec<ProfileEntry> {
    let mut out: Vec<ProfileEntry> = Vec::new();
    let mut names = BTreeSet::new();
    for (dir, mut versions) in by_dir {
        versions.sort_by(|a, b| {
            let pa = semver::Version::parse(&a.version).ok();
            let pb = semver::Version::parse(&b.version).ok();
            match (pa, pb) {
                (Some(x), Some(y)) => x.cmp_precedence(&y),
                _ => std::cmp::Ordering::Equal,
            }
            .then_with(|| a.tag.cmp(&b.tag))
        });
        let mut entry = ProfileEntry {
            path: dir.clone(),
            versions,
            ..Default::default()
        };
        describe_from_newest(&mut entry);
        let mut name = match dir.rsplit('/').next() {
            Some(last) if !last.is_empty() => last.to_string(),
            _ => entry
                .versions
                .iter()
                .rev()
                .find_map(|v| v.definition.as_ref().map(|d| d.name.clone()))
                .unwrap_or_else(|| "root".to_string()),
        };
        if !names.insert(name.clone()) {
            name = dir.replace('/', "-");
            names.insert(name.clone());
        }
        entry.name = name;
        out.push(entry);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Take the profile's description, maintainer and keywords from its newest stable
/// version that has a definition (else the newest one).
pub fn describe_from_newest(entry: &mut ProfileEntry) {
    let stable = entry
        .versions
        .iter()
        .rev()
        .filter(|v| v.channel == "stable")
        .find_map(|v| v.definition.as_ref());
    let any = entry
        .versions
        .iter()
        .rev()
        .find_map(|v| v.definition.as_ref());
    if let Some(d) = stable.or(any) {
        entry.description = d.description.clone();
        entry.maintainer = d.maintainer.clone();
        entry.keywords = d.keywords.clone();
        entry.prerequisites = d.prerequisites.clone();
    }
}

/// The index of a hand-written source.
fn manual(source: &Source) -> Index {
    let profiles = source
        .def
        .profiles
        .iter()
        .map(|p| {
            let mut versions: Vec<VersionEntry> = p
                .versions
                .iter()
                .map(|mv| {
                    let (text, tag, channel, date, changelog) = match mv {
                        ManualVersion::Plain(t) => (t.clone(), None, None, None, None),
                        ManualVersion::Full {
                            version,
                            tag,
                            channel,
                            date,
                            changelog,
                        } => (
                            version.clone(),
                            tag.clone(),
                            channel.clone(),
                            date.clone(),
                            changelog.clone(),
                        ),
                    };
                    let bare = text.trim_start_matches('v').to_string();
                    let parsed = semver::Version::parse(&bare).ok();
                    let tag = tag.unwrap_or_else(|| {
                        if p.path.is_empty() {
                            format!("v{bare}")
                        } else {
                            format!("{}/v{bare}", p.path)
                        }
                    });
                    let channel = channel.map(|c| c.to_lowercase()).unwrap_or_else(|| {
                        parsed
                            .as_ref()
                            .map(|v| version::channel_of(v, changelog.as_deref()))
                            .unwrap_or_else(|| "stable".into())
                    });
                    VersionEntry {
                        version: bare,
                        tag,
                        channel,
                        date,
                        changelog,
                        ..Default::default()
                    }
                })
                .collect();
            versions.sort_by(|a, b| {
                match (
                    semver::Version::parse(&a.version),
                    semver::Version::parse(&b.version),
                ) {
                    (Ok(x), Ok(y)) => x.cmp_precedence(&y),
                    _ => a.version.cmp(&b.version),
                }
            });
            ProfileEntry {
                name: p.name.clone(),
                url: Some(p.url.clone()),
                path: p.path.clone(),
                description: p.description.clone(),
                maintainer: p.maintainer.clone(),
                keywords: p.keywords.clone(),
                prerequisites: Vec::new(),
                versions,
            }
        })
        .collect();
    Index {
        format: FORMAT,
        url: String::new(),
        provenance: Some(format!("listed by hand in {}", source.file)),
        profiles,
        ..Default::default()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_780), "2026-01-01T00:03:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn version_tags_split_into_directory_and_version() {
        let (d, v) = split_tag("nginx/v1.2.0").unwrap();
        assert_eq!((d.as_str(), v.to_string().as_str()), ("nginx", "1.2.0"));
        let (d, v) = split_tag("podinfo/6.0.0").unwrap();
        assert_eq!((d.as_str(), v.to_string().as_str()), ("podinfo", "6.0.0"));
        let (d, _) = split_tag("v1.0.0").unwrap();
        assert_eq!(d, "");
        let (d, _) = split_tag("team/web/v2.0.0-rc.1").unwrap();
        assert_eq!(d, "team/web");
        assert!(split_tag("release-1").is_none());
        assert!(split_tag("nginx/latest").is_none());
    }

    #[test]
    fn newest_is_stable_unless_a_channel_is_given() {
        let e = ProfileEntry {
            name: "nginx".into(),
            versions: vec![
                VersionEntry {
                    version: "1.0.0".into(),
                    tag: "nginx/v1.0.0".into(),
                    channel: "stable".into(),
                    ..Default::default()
                },
                VersionEntry {
                    version: "1.3.0".into(),
                    tag: "nginx/v1.3.0".into(),
                    channel: "beta".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(e.newest(None).unwrap().version, "1.0.0");
        assert_eq!(e.newest(Some("beta")).unwrap().version, "1.3.0");
    }
}
