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
        let prefix = format!("{}/", c.dir);
        let strip = |m: BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
            m.into_iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|r| (r.to_string(), v)))
                .collect()
        };
        let now = view.files_below(c.dir)?;
        let mut after = now.clone();
        for (path, content) in c.files {
            match content {
                Some(bytes) => after.insert(path.clone(), bytes.clone()),
                None => after.remove(path),
            };
        }
        sides.push((c.dir.to_string(), strip(now), strip(after)));
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
