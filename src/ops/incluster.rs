//! What an upgrade or sync changes in the cluster, for `--dry-run` and pull requests:
//! the HelmReleases of each installation as it is now and as the merge leaves it,
//! rendered by `helm template` and compared object by object ([`crate::chartdiff`]).
use crate::chartdiff::{self, HelmCli, ReleaseDiff};
use crate::git::TreeView;
use anyhow::Result;
use std::collections::BTreeMap;

/// One installation: its directory and the merge's changes (repository paths; None
/// deletes).
pub struct Change<'a> {
    pub dir: &'a str,
    pub files: &'a BTreeMap<String, Option<Vec<u8>>>,
}

/// The difference in the cluster, or None when nothing has a HelmRelease. Without
/// helm on PATH: `Err` with the sentence to show instead.
pub fn diff(
    view: &TreeView,
    changes: &[Change],
    offline: bool,
) -> Result<Option<Result<Vec<ReleaseDiff>, String>>> {
    let mut sides = Vec::new();
    for c in changes {
        // An installation sharing files with other clusters reads them from its bases
        // (docs/fleets.md#one-install-several-clusters-one-copy), before and after.
        let record_path = crate::gitops::join(c.dir, crate::record::FILE);
        let bases_of = |bytes: Option<&[u8]>| {
            bytes
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|t| crate::record::Installation::from_yaml(&record_path, t).ok())
                .map(|i| i.spec.bases)
                .unwrap_or_default()
        };
        let before = bases_of(view.read(&record_path)?.as_deref());
        let after_bases = match c.files.get(&record_path) {
            Some(Some(bytes)) => bases_of(Some(bytes)),
            _ => before.clone(),
        };
        let mut now = view.files_below(c.dir)?;
        for b in crate::gitops::bases::base_dirs(&before)
            .chain(crate::gitops::bases::base_dirs(&after_bases))
        {
            now.extend(view.files_below(&b)?);
        }
        let mut after = now.clone();
        for (path, content) in c.files {
            match content {
                Some(bytes) => after.insert(path.clone(), bytes.clone()),
                None => after.remove(path),
            };
        }
        sides.push((
            c.dir.to_string(),
            crate::gitops::bases::gather(c.dir, &before, &now),
            crate::gitops::bases::gather(c.dir, &after_bases, &after),
        ));
    }
    if !sides
        .iter()
        .any(|(dir, a, b)| chartdiff::has_releases(dir, a, b))
    {
        return Ok(None);
    }
    let Some(helm) = HelmCli::on_path(offline) else {
        return Ok(Some(Err(chartdiff::NOT_RENDERED.into())));
    };
    let mut out = Vec::new();
    for (dir, now, after) in &sides {
        out.extend(chartdiff::compare_renderings(&helm, dir, now, after));
    }
    Ok(Some(Ok(out)))
}

/// The "In the cluster" section of a pull request body.
pub fn markdown(found: &Option<Result<Vec<ReleaseDiff>, String>>) -> Option<String> {
    match found {
        None => None,
        Some(Err(why)) => Some(format!("{why}.\n")),
        Some(Ok(diffs)) => Some(chartdiff::markdown(diffs)),
    }
}
