//! Three-way merge of an installation's files, the pure core of `pctl upgrade` and
//! `pctl sync` (docs/guide.md#upgrades): base = the files pctl generated for the
//! installed version (re-rendered), ours = the files now in the GitOps repository (with
//! the user's edits), theirs = the target version rendered. No Git and no I/O here.
//!
//! # File level
//!
//! Byte comparisons decide first: a file the user did not touch (ours == base) takes
//! upstream's version, deletion and new files included; a file upstream did not
//! change (theirs == base) keeps ours; the same content on both sides is kept. A file
//! changed on both sides (or added on both with different content) is merged by
//! content, with an empty base for additions. Two cases cannot be merged by content
//! and are whole-file conflicts without markers (the conflict text says so):
//! removed upstream but edited here (ours is kept; deleting it accepts the removal),
//! and removed here but changed upstream (upstream's version is written, as Git does
//! for a modify/delete conflict; deleting it again keeps it removed). For YAML files
//! an "edit" is a change of the parsed documents: reformatting or comments alone do
//! not stop a removal. Binary files (a NUL byte in the first 8000 bytes) changed on
//! both sides are whole-file conflicts too (ours kept).
//!
//! # YAML files
//!
//! `.yaml`/`.yml` files (except those under a `templates/` directory, which are Helm
//! Go templates) are merged by structure when all three sides parse:
//!
//! - Documents are matched by (apiVersion, kind, metadata.namespace, metadata.name)
//!   (and occurrence, for duplicates); documents without that identity (Helm values
//!   files, Kustomize `kustomization.yaml`) are matched by position among themselves.
//! - Mappings merge key by key, recursively: a field changed on one side only takes
//!   that side's value, the same change on both sides is clean, different changes (or
//!   a change on one side and a removal on the other) are conflicts.
//! - Lists whose items are all mappings with a unique string `name` (containers,
//!   env, ports, volumes …) are matched by name, recursively. Other lists are merged
//!   as sequences of whole items with diff3 (each item one line): changes to
//!   different items merge, anything else makes the whole list one conflict. Strings
//!   changed on both sides are merged line by line (embedded config files).
//! - A SOPS-encrypted document (a top-level `sops` mapping) is atomic: its values
//!   cannot be merged without breaking the MAC.
//! - Conflicts are described as `Deployment default/web: spec.replicas changed to 3
//!   here and to 5 upstream` (`Kind name` without a namespace, `document N` for
//!   documents without identity in a multi-document file, list items by name as
//!   `containers[app]`); values are never shown for `Secret` documents.
//! - Order follows ours (documents, keys, named items); what upstream added goes
//!   right after its predecessor in upstream's order.
//!
//! Output keeps comments and formatting whenever it can: if the plain line merge
//! (diff3) of the file parses to exactly the documents of the structural merge, its
//! text is used; else ours' or theirs' text when the result equals one of them; only
//! otherwise the documents are written with [`crate::yaml::to_string`], joined with
//! `---\n`, after ours' leading comment header.
//!
//! Structural conflicts under [`Strategy::Merge`] leave Git-style markers the user
//! resolves by hand: if the line merge has conflicts and taking its ours (theirs)
//! side gives exactly the structural result resolved to ours (theirs), the line
//! merge's markers are used (formatting kept). Otherwise both resolutions are
//! written out as YAML and the lines where they differ become the marker blocks —
//! so every block holds exactly the conflicting values, both sides of each block are
//! valid YAML, and the structural descriptions are reported.
//!
//! # Other files
//!
//! Non-YAML files, and YAML files that do not parse on some side, are merged line by
//! line with diff3 (the `diffy` crate) and conflicts are marked
//! `<<<<<<< ours` / `=======` / `>>>>>>> theirs`.
//!
//! # Strategies
//!
//! [`Strategy::Ours`] and [`Strategy::Theirs`] resolve every conflict (structural,
//! line or whole-file) with that side and write no markers; what they resolved is
//! listed in [`FileMerge::resolved`] and `conflicts` stays empty. Output is
//! deterministic.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use diffy::{ConflictStyle, IncompleteHunkStyle, MergeOptions};
use similar::{DiffTag, TextDiff};

use crate::yaml::{self, Map, Value};

/// The first line of a conflict block, ours' lines follow.
pub const OURS_MARKER: &str = "<<<<<<< ours";
/// Separates ours' lines from theirs' in a conflict block.
pub const SEPARATOR: &str = "=======";
/// The last line of a conflict block.
pub const THEIRS_MARKER: &str = ">>>>>>> theirs";

/// How conflicts are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Report conflicts and leave markers in the files.
    #[default]
    Merge,
    /// Take ours' side of every conflict.
    Ours,
    /// Take theirs' (upstream's) side of every conflict.
    Theirs,
}

/// The merge of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMerge {
    /// Path relative to the installation directory.
    pub path: String,
    /// The merged content; `None` = the file is deleted.
    pub result: Option<Vec<u8>>,
    /// Unresolved conflicts (only with [`Strategy::Merge`]), one description each.
    pub conflicts: Vec<String>,
    /// Conflicts resolved by [`Strategy::Ours`] or [`Strategy::Theirs`].
    pub resolved: Vec<String>,
}

impl FileMerge {
    /// True when nothing is left for the user to resolve.
    pub fn is_clean(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// Whether `text` still holds a conflict block's first or last marker line as this
/// module writes them (for `pctl upgrade --continue`).
pub fn has_conflict_markers(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line == OURS_MARKER.as_bytes() || line == THEIRS_MARKER.as_bytes()
    })
}

/// Merge one file. Each side None = file absent on that side.
pub fn merge_file(
    path: &str,
    base: Option<&[u8]>,
    ours: Option<&[u8]>,
    theirs: Option<&[u8]>,
    strategy: Strategy,
) -> FileMerge {
    let clean = |result: Option<&[u8]>| FileMerge {
        path: path.to_string(),
        result: result.map(<[u8]>::to_vec),
        conflicts: Vec::new(),
        resolved: Vec::new(),
    };
    if ours == theirs || theirs == base {
        return clean(ours);
    }
    if ours == base {
        return clean(theirs);
    }
    let yaml = is_structured_yaml(path);
    let same = |a: &[u8], b: &[u8]| yaml && same_documents(path, a, b);
    match (base, ours, theirs) {
        (Some(b), Some(o), None) => {
            if same(b, o) {
                return clean(None);
            }
            whole_file_conflict(
                path,
                strategy,
                Some(o),
                None,
                Some(o),
                "removed upstream but changed here: this version is kept, without conflict \
                 markers; delete the file to accept the removal",
            )
        }
        (Some(b), None, Some(t)) => {
            if same(b, t) {
                return clean(None);
            }
            whole_file_conflict(
                path,
                strategy,
                None,
                Some(t),
                Some(t),
                "removed here but changed upstream: upstream's version is written, without \
                 conflict markers; delete the file again to keep it removed",
            )
        }
        (_, Some(o), Some(t)) => {
            let b = base.unwrap_or_default();
            if [b, o, t].iter().any(|side| is_binary(side)) {
                return whole_file_conflict(
                    path,
                    strategy,
                    Some(o),
                    Some(t),
                    Some(o),
                    "binary file changed both here and upstream: this version is kept, \
                     without conflict markers; replace it with upstream's to take that",
                );
            }
            if yaml && let Some(merged) = merge_yaml(path, b, o, t, strategy) {
                return merged;
            }
            merge_lines(path, b, o, t, strategy)
        }
        // Every other combination has two equal sides, handled above.
        _ => clean(ours),
    }
}

/// Merge a whole tree (paths relative to the installation dir), in path order: one
/// entry for every path present on any side.
pub fn merge_tree(
    base: &BTreeMap<String, Vec<u8>>,
    ours: &BTreeMap<String, Vec<u8>>,
    theirs: &BTreeMap<String, Vec<u8>>,
    strategy: Strategy,
) -> Vec<FileMerge> {
    let paths: BTreeSet<&String> = base
        .keys()
        .chain(ours.keys())
        .chain(theirs.keys())
        .collect();
    paths
        .into_iter()
        .map(|path| {
            merge_file(
                path,
                base.get(path).map(Vec::as_slice),
                ours.get(path).map(Vec::as_slice),
                theirs.get(path).map(Vec::as_slice),
                strategy,
            )
        })
        .collect()
}

/// A conflict that cannot be merged by content: `keep` is written under
/// [`Strategy::Merge`], with `what` as the conflict.
fn whole_file_conflict(
    path: &str,
    strategy: Strategy,
    ours: Option<&[u8]>,
    theirs: Option<&[u8]>,
    keep: Option<&[u8]>,
    what: &str,
) -> FileMerge {
    let (result, conflicts, resolved) = match strategy {
        Strategy::Merge => (keep, vec![what.to_string()], Vec::new()),
        Strategy::Ours => (ours, Vec::new(), vec![what.to_string()]),
        Strategy::Theirs => (theirs, Vec::new(), vec![what.to_string()]),
    };
    FileMerge {
        path: path.to_string(),
        result: result.map(<[u8]>::to_vec),
        conflicts,
        resolved,
    }
}

fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|&b| b == 0)
}

/// YAML by extension, except Helm chart templates (Go templates, not YAML data).
fn is_structured_yaml(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    (lower.ends_with(".yaml") || lower.ends_with(".yml"))
        && !path.split('/').any(|part| part == "templates")
}

mod lines;
mod structure;
use lines::*;
use structure::*;

#[cfg(test)]
mod tests;
