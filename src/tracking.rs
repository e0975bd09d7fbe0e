//! Update tracking (docs/guide.md#upgrades): whether an installation is behind the
//! versions its upstream repository publishes (current, newest its constraint allows,
//! newest overall), and which of its files were added, removed or edited by hand since
//! pctl wrote them (against the SHA-256 hashes in its record).
use crate::git::{TreeView, Upstreams, Workspace};
use crate::record::{self, Installation, SourceRecord};
use crate::version::{self, Constraint};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// Where an installation stands against its upstream's versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateState {
    /// The newest version the constraint allows is installed, and nothing newer exists.
    UpToDate,
    /// A newer version within the constraint exists.
    UpdateAvailable,
    /// Up to date within the constraint; a newer version exists outside it.
    NewerOutsideConstraint,
    /// Installed from a branch, a commit or a directory: no version to compare.
    NotVersioned,
    /// The upstream could not be read.
    Unknown,
}

impl UpdateState {
    pub fn as_str(&self) -> &'static str {
        match self {
            UpdateState::UpToDate => "up to date",
            UpdateState::UpdateAvailable => "update available",
            UpdateState::NewerOutsideConstraint => "newer outside constraint",
            UpdateState::NotVersioned => "not versioned",
            UpdateState::Unknown => "unknown",
        }
    }
}

/// The versions that matter for one installed profile.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInfo {
    /// The installed version (or the branch/short commit when not versioned).
    pub current: String,
    /// What was asked for at install (`latest` when nothing was).
    pub constraint: String,
    /// The newest version the constraint allows.
    pub wanted: Option<String>,
    /// The newest version in the installation's channels, whatever the constraint.
    pub latest: Option<String>,
    pub state: UpdateState,
    /// Why the upstream could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl UpdateInfo {
    /// Behind the newest version its constraint allows.
    pub fn behind(&self) -> bool {
        self.state == UpdateState::UpdateAvailable
    }
}

/// Compare an installed source with the version tags of its repository (fetched once
/// per command through `upstreams`, or the cache with `--offline`).
pub fn update_info(upstreams: &Upstreams, rec: &SourceRecord) -> UpdateInfo {
    let mut info = UpdateInfo {
        current: rec.label(),
        constraint: rec.requested.clone().unwrap_or_else(|| "latest".into()),
        wanted: None,
        latest: None,
        state: UpdateState::Unknown,
        error: None,
    };
    let up = match upstreams.open(&rec.url) {
        Ok(u) => u,
        Err(e) => {
            info.error = Some(crate::catalog::index::one_line(&e));
            return info;
        }
    };
    let cands: Vec<version::Candidate> = match crate::resolve::candidates(&up, &rec.path) {
        Ok(c) => c.into_iter().map(|(c, _)| c).collect(),
        Err(e) => {
            info.error = Some(crate::catalog::index::one_line(&e));
            return info;
        }
    };
    let channel = rec.channel.as_deref();
    info.latest =
        version::select(&cands, &Constraint::Latest, channel).map(|c| c.version.to_string());
    let current = rec
        .version
        .as_deref()
        .and_then(|v| semver::Version::parse(v).ok());
    let Some(current) = current.filter(|_| !rec.dirty) else {
        info.state = UpdateState::NotVersioned;
        return info;
    };
    let constraint = match rec.requested.as_deref() {
        None => Some(Constraint::Latest),
        Some(r) if version::parse_tag(r, &rec.path).is_some() => {
            info.constraint = format!("{r} (pinned tag)");
            Some(Constraint::Exact(current.clone()))
        }
        Some(r) if version::looks_like_constraint(r) => version::parse_constraint(r).ok(),
        Some(_) => None,
    };
    let Some(constraint) = constraint else {
        info.state = UpdateState::NotVersioned;
        return info;
    };
    let wanted = version::select(&cands, &constraint, channel).map(|c| c.version.clone());
    info.wanted = wanted.as_ref().map(|v| v.to_string());
    let newer = |v: &Option<semver::Version>| {
        v.as_ref()
            .is_some_and(|v| v.cmp_precedence(&current) == std::cmp::Ordering::Greater)
    };
    let latest = info
        .latest
        .as_deref()
        .and_then(|v| semver::Version::parse(v).ok());
    info.state = if newer(&wanted) {
        UpdateState::UpdateAvailable
    } else if newer(&latest) {
        UpdateState::NewerOutsideConstraint
    } else {
        UpdateState::UpToDate
    };
    info
}

/// Files of an installation that differ from what pctl wrote.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Drift {
    /// Present now, not written by pctl.
    pub added: Vec<String>,
    /// Written by pctl, gone now.
    pub removed: Vec<String>,
    /// Written by pctl, with other content now.
    pub modified: Vec<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.modified.is_empty()
    }

    pub fn count(&self) -> usize {
        self.added.len() + self.removed.len() + self.modified.len()
    }

    /// `2 edited, 1 added` or `none`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.modified.len(), "edited"),
            (self.added.len(), "added"),
            (self.removed.len(), "removed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The files of the installation in `dir` now, by path relative to it: from the work
/// tree of a local repository (so uncommitted edits count), else from the view.
pub fn current_files(
    ws: &Workspace,
    view: &TreeView,
    dir: &str,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    match ws.root() {
        Some(root) => {
            let base = root.join(dir);
            if !base.is_dir() {
                return Ok(out);
            }
            for entry in walkdir::WalkDir::new(&base).sort_by_file_name() {
                let entry = entry.with_context(|| format!("cannot list {}", base.display()))?;
                if entry.file_type().is_dir() {
                    continue;
                }
                let rel = entry
                    .path()
                    .strip_prefix(&base)
                    .with_context(|| {
                        format!("{} is outside {}", entry.path().display(), base.display())
                    })?
                    .to_string_lossy()
                    .replace('\\', "/");
                let bytes = std::fs::read(entry.path())
                    .with_context(|| format!("cannot read {}", entry.path().display()))?;
                out.insert(rel, bytes);
            }
        }
        None => {
            let prefix = format!("{dir}/");
            for (path, bytes) in view.files_below(dir)? {
                let rel = path.strip_prefix(&prefix).unwrap_or(&path).to_string();
                out.insert(rel, bytes);
            }
        }
    }
    Ok(out)
}

/// The files of installation `inst` in `dir` now, by recorded path (relative to the
/// installation): [`current_files`] of its directory and of the fleet bases it uses
/// (docs/fleets.md#one-install-several-clusters-one-copy), mapped by
/// [`crate::gitops::bases::logical`].
pub fn installation_files(
    ws: &Workspace,
    view: &TreeView,
    dir: &str,
    inst: &Installation,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = current_files(ws, view, dir)?;
    let bases = &inst.spec.bases;
    for base in crate::gitops::bases::dirs(inst) {
        for (rel, bytes) in current_files(ws, view, &base)? {
            let path = crate::gitops::join(&base, &rel);
            if let Some(l) = crate::gitops::bases::logical(dir, bases, &path) {
                out.insert(l, bytes);
            }
        }
    }
    Ok(out)
}

/// Compare the files now with the hashes recorded at install.
pub fn drift(inst: &Installation, now: &BTreeMap<String, Vec<u8>>) -> Drift {
    let mut d = Drift::default();
    for (path, hash) in &inst.spec.files {
        match now.get(path) {
            None => d.removed.push(path.clone()),
            Some(bytes) if &record::sha256(bytes) != hash => d.modified.push(path.clone()),
            Some(_) => {}
        }
    }
    for path in now.keys() {
        if path != record::FILE && !inst.spec.files.contains_key(path) {
            d.added.push(path.clone());
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_finds_added_removed_and_edited_files() {
        let text = format!(
            "apiVersion: pctl.dev/v1alpha1\nkind: ProfileInstallation\nmetadata: {{name: x}}\nspec:\n  namespace: default\n  path: p/x\n  profile: x\n  source: {{url: 'file:///r'}}\n  files:\n    a.yaml: {}\n    b.yaml: {}\n  generatedBy: pctl\n",
            record::sha256(b"a"),
            record::sha256(b"b")
        );
        let inst = Installation::from_yaml("t", &text).unwrap();
        let now = BTreeMap::from([
            ("a.yaml".to_string(), b"A".to_vec()),
            ("c.yaml".to_string(), b"c".to_vec()),
            (record::FILE.to_string(), b"record".to_vec()),
        ]);
        let d = drift(&inst, &now);
        assert_eq!(d.modified, ["a.yaml"]);
        assert_eq!(d.removed, ["b.yaml"]);
        assert_eq!(d.added, ["c.yaml"]);
        assert_eq!(d.summary(), "1 edited, 1 added, 1 removed");
    }
}
