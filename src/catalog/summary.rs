//! The compact summary of a catalog index that `search` reads
//! (docs/benchmarks.md#search-the-catalog-summary): per profile its name, keywords,
//! description, number of versions and newest version per channel, and where its entry
//! lies in the index file, so that `show` parses that entry only. It is written next to
//! the cached index when a catalog is scanned, and rebuilt from the index when it is
//! missing or stale: it records the index file's length, modification time and inode,
//! and is used only while they match, so an index replaced by another pctl (or by hand)
//! is never answered from an old summary. The index shipped in the binary (a few KiB)
//! is summarised at first use, reading its profiles without their definitions.
use super::index::{self, Index, IndexKind, ProfileEntry, Refresh};
use super::{SHIPPED_INDEXES, Source};
use crate::git::Upstreams;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Version of the summary file layout; another number means "rebuild".
pub const FORMAT: u32 = 1;

/// The summary of one index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Summary {
    pub format: u32,
    pub url: String,
    /// The index file summarised (None: summarised in memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
    pub profiles: Vec<ProfileSummary>,
}

/// What identifies one version of the index file.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    pub secs: i64,
    pub nanos: u32,
    pub ino: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        let (secs, nanos) = match meta.modified() {
            Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
                Err(e) => (
                    -(e.duration().as_secs() as i64),
                    e.duration().subsec_nanos(),
                ),
            },
            Err(_) => (0, 0),
        };
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let ino = 0;
        Stamp {
            len: meta.len(),
            secs,
            nanos,
            ino,
        }
    }
}

/// One profile of the summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ProfileSummary {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// How many versions the index lists.
    pub versions: usize,
    /// The newest version of each channel (channels compared ignoring ASCII case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub newest: Vec<Newest>,
    /// Byte range of the profile's entry in the index file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<(usize, usize)>,
}

/// The newest version of one channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Newest {
    pub version: String,
    pub tag: String,
    pub channel: String,
    /// Version and channel of the index entry with this tag, when they differ from the
    /// above (only possible when a hand-written list repeats a tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<(String, String)>,
}

impl Newest {
    /// Version and channel to show.
    pub fn shown(&self) -> (&str, &str) {
        match &self.shown {
            Some((v, c)) => (v, c),
            None => (&self.version, &self.channel),
        }
    }
}

/// The order `version::select` ranks candidates in (greatest = chosen).
fn rank(a: &(semver::Version, &Newest), b: &(semver::Version, &Newest)) -> std::cmp::Ordering {
    a.0.cmp_precedence(&b.0)
        .then_with(|| has_v(&a.1.tag).cmp(&has_v(&b.1.tag)))
        .then_with(|| b.1.tag.cmp(&a.1.tag))
}

fn has_v(tag: &str) -> bool {
    tag.rsplit('/')
        .next()
        .is_some_and(|last| last.starts_with('v'))
}

impl ProfileSummary {
    /// The newest version in channel stable (plus `channel`): what
    /// [`ProfileEntry::newest`] answers for the full entry.
    pub fn newest(&self, channel: Option<&str>) -> Option<&Newest> {
        self.newest
            .iter()
            .filter(|n| {
                n.channel.eq_ignore_ascii_case("stable")
                    || channel.is_some_and(|ch| n.channel.eq_ignore_ascii_case(ch.trim()))
            })
            .filter_map(|n| Some((semver::Version::parse(&n.version).ok()?, n)))
            .max_by(rank)
            .map(|(_, n)| n)
    }

    /// The summary of a full entry.
    pub fn of(p: &ProfileEntry) -> ProfileSummary {
        ProfileSummary {
            name: p.name.clone(),
            url: p.url.clone(),
            path: p.path.clone(),
            description: p.description.clone(),
            keywords: p.keywords.clone(),
            versions: p.versions.len(),
            newest: newest_per_channel(
                p.versions
                    .iter()
                    .map(|v| (v.version.as_str(), v.tag.as_str(), v.channel.as_str())),
            ),
            span: None,
        }
    }

    fn of_lite(p: LiteProfile, span: Option<(usize, usize)>) -> ProfileSummary {
        ProfileSummary {
            newest: newest_per_channel(
                p.versions
                    .iter()
                    .map(|v| (v.version.as_str(), v.tag.as_str(), v.channel.as_str())),
            ),
            versions: p.versions.len(),
            name: p.name,
            url: p.url,
            path: p.path,
            description: p.description,
            keywords: p.keywords,
            span,
        }
    }
}

/// The newest version of each channel among `(version, tag, channel)`, chosen as
/// `version::select` chooses, and shown as `ProfileEntry::select` shows it (the first
/// entry with the chosen tag).
fn newest_per_channel<'a>(
    versions: impl Iterator<Item = (&'a str, &'a str, &'a str)> + Clone,
) -> Vec<Newest> {
    // Channel (lower-cased) -> the best candidate so far.
    let mut best: Vec<(String, semver::Version, &'a str, &'a str, &'a str)> = Vec::new();
    for (v, tag, channel) in versions.clone() {
        let Ok(parsed) = semver::Version::parse(v) else {
            continue;
        };
        let key = channel.to_ascii_lowercase();
        match best.iter_mut().find(|(k, ..)| *k == key) {
            // `max_by` keeps the last of equal elements: replace unless smaller.
            Some(slot) => {
                let ord = parsed
                    .cmp_precedence(&slot.1)
                    .then_with(|| has_v(tag).cmp(&has_v(slot.3)))
                    .then_with(|| slot.3.cmp(tag));
                if ord != std::cmp::Ordering::Less {
                    *slot = (key, parsed, v, tag, channel);
                }
            }
            None => best.push((key, parsed, v, tag, channel)),
        }
    }
    best.into_iter()
        .map(|(_, _, version, tag, channel)| {
            let shown = versions
                .clone()
                .find(|(_, t, _)| *t == tag)
                .map(|(v, _, c)| (v.to_string(), c.to_string()))
                .filter(|(v, c)| v != version || c != channel);
            Newest {
                version: version.to_string(),
                tag: tag.to_string(),
                channel: channel.to_string(),
                shown,
            }
        })
        .collect()
}

impl Summary {
    /// The summary of an index held in memory.
    pub fn of(index: &Index) -> Summary {
        Summary {
            format: FORMAT,
            url: index.url.clone(),
            stamp: None,
            profiles: index.profiles.iter().map(ProfileSummary::of).collect(),
        }
    }
}

/// An index's profiles without their versions' definitions.
#[derive(Deserialize)]
struct LiteIndex {
    #[serde(default)]
    profiles: Vec<LiteProfile>,
}

#[derive(Deserialize)]
struct LiteProfile {
    name: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    path: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    versions: Vec<LiteVersion>,
}

#[derive(Deserialize)]
struct LiteVersion {
    version: String,
    tag: String,
    channel: String,
}

/// The profiles of an index text, each as raw JSON.
#[derive(Deserialize)]
struct RawIndex<'a> {
    #[serde(borrow, default)]
    profiles: Vec<&'a RawValue>,
}

/// Summarise an index file's text (already checked to be a valid index of `url`),
/// with the byte range of each profile's entry.
pub fn of_text(url: &str, text: &str, stamp: Option<Stamp>) -> Result<Summary> {
    let raw: RawIndex = serde_json::from_str(text)?;
    let base = text.as_ptr() as usize;
    let mut profiles = Vec::with_capacity(raw.profiles.len());
    for r in raw.profiles {
        let slice = r.get();
        let start = slice.as_ptr() as usize - base;
        let lite: LiteProfile = serde_json::from_str(slice)?;
        profiles.push(ProfileSummary::of_lite(lite, Some((start, slice.len()))));
    }
    Ok(Summary {
        format: FORMAT,
        url: url.to_string(),
        stamp,
        profiles,
    })
}

/// The summary of the index shipped with pctl for `url`, if any.
pub fn shipped(url: &str) -> Option<Summary> {
    let (u, text) = SHIPPED_INDEXES.iter().find(|(u, _)| *u == url)?;
    let lite: LiteIndex = serde_json::from_str(text).ok()?;
    Some(Summary {
        format: FORMAT,
        url: u.to_string(),
        stamp: None,
        profiles: lite
            .profiles
            .into_iter()
            .map(|p| ProfileSummary::of_lite(p, None))
            .collect(),
    })
}

/// Where the summary of the cached index at `index_path` is kept (`NAME-HASH.summary`
/// next to `NAME-HASH.json`).
pub fn path_for(index_path: &Path) -> PathBuf {
    index_path.with_extension("summary")
}

/// The summary of the cached index of `url`, when one was written for the index file
/// as it is now.
fn cached(url: &str) -> Option<(PathBuf, Summary)> {
    let index_path = index::cache_path(url).ok()?;
    let stamp = Stamp::of(&std::fs::metadata(&index_path).ok()?);
    let text = std::fs::read(path_for(&index_path)).ok()?;
    let s: Summary = serde_json::from_slice(&text).ok()?;
    (s.format == FORMAT && s.url == url && s.stamp == Some(stamp)).then_some((index_path, s))
}

/// Write the summary of the index file at `index_path` (whose text is `text`) when the
/// file still is what `before` describes. Best effort: a summary that cannot be written
/// is rebuilt by the next reader.
pub fn write(index_path: &Path, url: &str, text: &str, before: Option<Stamp>) -> Option<Summary> {
    let now = Stamp::of(&std::fs::metadata(index_path).ok()?);
    if before.is_some_and(|b| b != now) {
        return None;
    }
    let summary = of_text(url, text, Some(now)).ok()?;
    let json = serde_json::to_string(&summary).ok()?;
    let _ = super::write_atomic(&path_for(index_path), json.as_bytes());
    Some(summary)
}

/// Rebuild the summary from the cached index file of `url`, when that file is a valid
/// index of `url` (None otherwise: the caller takes the full path, which reports it).
fn rebuild(url: &str) -> Option<Summary> {
    let index_path = index::cache_path(url).ok()?;
    let before = Stamp::of(&std::fs::metadata(&index_path).ok()?);
    let bytes = std::fs::read(&index_path).ok()?;
    // Not UTF-8: the full path reads it (lossily) and reports it.
    let text = String::from_utf8(bytes).ok()?;
    let idx = index::parse(&index_path.display().to_string(), &text).ok()?;
    if idx.url != url {
        return None;
    }
    match write(&index_path, url, &text, Some(before)) {
        Some(s) => Some(s),
        // Changed while read: answer from what was read.
        None => Some(Summary::of(&idx)),
    }
}

/// A source's summary as `search` answers it, and where its index came from: the same
/// profiles, and the same index kind, as `index::for_source(.., IfMissing)` gives.
pub struct SourceSummary {
    pub summary: Summary,
    pub kind: IndexKind,
    /// What the caller should tell the user (a scan that failed, tags skipped).
    pub warnings: Vec<String>,
}

/// The summary of `source`'s index, scanning it when it has no usable index (as
/// `index::for_source` with `Refresh::IfMissing`).
pub fn for_source(source: &Source, upstreams: &Upstreams) -> Result<SourceSummary> {
    if let Some(url) = source.url() {
        if let Some((_, summary)) = cached(url) {
            return Ok(SourceSummary {
                summary,
                kind: IndexKind::Cached,
                warnings: Vec::new(),
            });
        }
        let index_path = index::cache_path(url)?;
        match std::fs::symlink_metadata(&index_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(summary) = shipped(url) {
                    return Ok(SourceSummary {
                        summary,
                        kind: IndexKind::Shipped,
                        warnings: Vec::new(),
                    });
                }
            }
            _ => {
                if let Some(summary) = rebuild(url) {
                    return Ok(SourceSummary {
                        summary,
                        kind: IndexKind::Cached,
                        warnings: Vec::new(),
                    });
                }
            }
        }
    }
    let idx = index::for_source(source, upstreams, Refresh::IfMissing)?;
    Ok(SourceSummary {
        summary: Summary::of(&idx.index),
        kind: idx.kind,
        warnings: idx.warnings,
    })
}

/// The kind of `source`'s index without reading it when its summary is current.
pub fn kind(source: &Source, upstreams: &Upstreams) -> Result<IndexKind> {
    if let Some(url) = source.url()
        && cached(url).is_some()
    {
        return Ok(IndexKind::Cached);
    }
    Ok(index::for_source(source, upstreams, Refresh::Never)?.kind)
}

/// The entry of profile `name` in `source`'s cached index, reading only that entry,
/// when the summary is current and lists it (None: take the full path).
pub fn cached_entry(source: &Source, name: &str) -> Option<ProfileEntry> {
    let url = source.url()?;
    let (index_path, summary) = cached(url)?;
    let (start, len) = summary.profiles.iter().find(|p| p.name == name)?.span?;
    let mut file = std::fs::File::open(&index_path).ok()?;
    // The file read is the one the summary describes (checked on the open file).
    if Some(Stamp::of(&file.metadata().ok()?)) != summary.stamp {
        return None;
    }
    file.seek(SeekFrom::Start(start as u64)).ok()?;
    let mut buf = vec![0; len];
    file.read_exact(&mut buf).ok()?;
    let entry: ProfileEntry = serde_json::from_slice(&buf).ok()?;
    (entry.name == name).then_some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::index::VersionEntry;

    fn v(version: &str, tag: &str, channel: &str) -> VersionEntry {
        VersionEntry {
            version: version.into(),
            tag: tag.into(),
            channel: channel.into(),
            ..Default::default()
        }
    }

    #[test]
    fn newest_per_channel_answers_as_the_full_entry() {
        let e = ProfileEntry {
            name: "nginx".into(),
            versions: vec![
                v("1.0.0", "nginx/1.0.0", "stable"),
                v("1.0.0", "nginx/v1.0.0", "stable"),
                v("1.1.0", "nginx/v1.1.0", "Stable"),
                v("1.3.0-beta.1", "nginx/v1.3.0-beta.1", "beta"),
                v("1.2.0-rc.1", "nginx/v1.2.0-rc.1", "rc"),
                v("not-semver", "nginx/x", "stable"),
            ],
            ..Default::default()
        };
        let s = ProfileSummary::of(&e);
        for ch in [
            None,
            Some("beta"),
            Some("rc"),
            Some(" BETA "),
            Some("alpha"),
        ] {
            let old = e.newest(ch).map(|v| (v.version.clone(), v.channel.clone()));
            let new = s
                .newest(ch)
                .map(|n| (n.shown().0.to_string(), n.shown().1.to_string()));
            assert_eq!(old, new, "channel {ch:?}");
        }
    }

    #[test]
    fn spans_point_at_each_entry() {
        let idx = Index {
            format: index::FORMAT,
            url: "https://x".into(),
            profiles: vec![
                ProfileEntry {
                    name: "a".into(),
                    versions: vec![v("1.0.0", "a/v1.0.0", "stable")],
                    ..Default::default()
                },
                ProfileEntry {
                    name: "b".into(),
                    description: "B \"quoted\" ü".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let text = serde_json::to_string(&idx).unwrap();
        let s = of_text("https://x", &text, None).unwrap();
        for (p, full) in s.profiles.iter().zip(&idx.profiles) {
            let (start, len) = p.span.unwrap();
            let entry: ProfileEntry = serde_json::from_str(&text[start..start + len]).unwrap();
            assert_eq!(&entry, full);
        }
        assert_eq!(
            Summary {
                stamp: None,
                profiles: s
                    .profiles
                    .iter()
                    .map(|p| ProfileSummary {
                        span: None,
                        ..p.clone()
                    })
                    .collect(),
                ..s.clone()
            },
            Summary::of(&idx)
        );
    }
}
