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

// ---------------------------------------------------------------------------------
// Line merge
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Theirs,
}

#[derive(Debug)]
enum Segment {
    Text(Vec<u8>),
    Conflict { ours: Vec<u8>, theirs: Vec<u8> },
}

/// A line merge as clean text and conflicting regions.
#[derive(Debug)]
struct Lines {
    segments: Vec<Segment>,
    /// Whether ours' and theirs' inputs end with a newline (or are empty).
    ours_eol: bool,
    theirs_eol: bool,
}

impl Lines {
    /// diff3 of three texts.
    fn merge(base: &[u8], ours: &[u8], theirs: &[u8]) -> Lines {
        // Markers longer than any marker-like run in the inputs cannot be confused
        // with their content; they are rewritten to the standard length on output.
        let len = marker_length(&[base, ours, theirs]);
        let mut options = MergeOptions::new();
        options
            .set_conflict_style(ConflictStyle::Merge)
            .set_conflict_marker_length(len)
            .set_incomplete_hunk_style(IncompleteHunkStyle::Git);
        let merged = match options.merge_bytes(base, ours, theirs) {
            Ok(text) | Err(text) => text,
        };
        let open = [vec![b'<'; len], b" ours\n".to_vec()].concat();
        let separator = [vec![b'='; len], b"\n".to_vec()].concat();
        let close = [vec![b'>'; len], b" theirs\n".to_vec()].concat();
        let mut segments = Vec::new();
        let (mut text, mut o, mut t) = (Vec::new(), Vec::new(), Vec::new());
        let mut state = 0;
        for line in merged.split_inclusive(|&b| b == b'\n') {
            match state {
                0 if line == open.as_slice() => {
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    state = 1;
                }
                0 => text.extend_from_slice(line),
                1 if line == separator.as_slice() => state = 2,
                1 => o.extend_from_slice(line),
                _ if line == close.as_slice() => {
                    segments.push(Segment::Conflict {
                        ours: std::mem::take(&mut o),
                        theirs: std::mem::take(&mut t),
                    });
                    state = 0;
                }
                _ => t.extend_from_slice(line),
            }
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        Lines {
            segments,
            ours_eol: ours.is_empty() || ours.ends_with(b"\n"),
            theirs_eol: theirs.is_empty() || theirs.ends_with(b"\n"),
        }
    }

    /// Two texts side by side: equal lines are kept, runs of differing lines are
    /// conflicts.
    fn compare(ours: &str, theirs: &str) -> Lines {
        let diff = TextDiff::from_lines(ours, theirs);
        let (old, new) = (diff.old_slices(), diff.new_slices());
        let mut segments: Vec<Segment> = Vec::new();
        for op in diff.ops() {
            let o: Vec<u8> = old[op.old_range()].concat().into_bytes();
            let t: Vec<u8> = new[op.new_range()].concat().into_bytes();
            match (op.tag(), segments.last_mut()) {
                (DiffTag::Equal, _) => segments.push(Segment::Text(o)),
                (_, Some(Segment::Conflict { ours, theirs })) => {
                    ours.extend(o);
                    theirs.extend(t);
                }
                _ => segments.push(Segment::Conflict { ours: o, theirs: t }),
            }
        }
        Lines {
            segments,
            ours_eol: ours.is_empty() || ours.ends_with('\n'),
            theirs_eol: theirs.is_empty() || theirs.ends_with('\n'),
        }
    }

    fn conflicts(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Conflict { .. }))
            .count()
    }

    /// The text with every conflict taken from `side`.
    fn resolve(&self, side: Side) -> Vec<u8> {
        let mut out = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.extend_from_slice(text),
                Segment::Conflict { ours, theirs } => {
                    out.extend_from_slice(if side == Side::Ours { ours } else { theirs })
                }
            }
        }
        // A conflict at the end of a file without a final newline had one added
        // before the next marker.
        let eol = if side == Side::Ours {
            self.ours_eol
        } else {
            self.theirs_eol
        };
        if !eol && matches!(self.segments.last(), Some(Segment::Conflict { .. })) {
            if out.ends_with(b"\r\n") {
                out.truncate(out.len() - 2);
            } else if out.ends_with(b"\n") {
                out.pop();
            }
        }
        out
    }

    /// The text with conflict blocks, and the 1-based line of each block's first
    /// marker.
    fn with_markers(&self) -> (Vec<u8>, Vec<usize>) {
        let mut out: Vec<u8> = Vec::new();
        let mut lines = Vec::new();
        let end_line = |out: &mut Vec<u8>| {
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.push(b'\n');
            }
        };
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.extend_from_slice(text),
                Segment::Conflict { ours, theirs } => {
                    end_line(&mut out);
                    lines.push(out.iter().filter(|&&b| b == b'\n').count() + 1);
                    for part in [
                        OURS_MARKER.as_bytes(),
                        ours,
                        SEPARATOR.as_bytes(),
                        theirs,
                        THEIRS_MARKER.as_bytes(),
                    ] {
                        out.extend_from_slice(part);
                        end_line(&mut out);
                    }
                }
            }
        }
        (out, lines)
    }
}

/// One more than the longest run of a marker character starting a line, at least 7.
fn marker_length(inputs: &[&[u8]]) -> usize {
    let mut longest = 6;
    for input in inputs {
        for line in input.split(|&b| b == b'\n') {
            if let Some(&first) = line.first()
                && matches!(first, b'<' | b'=' | b'>' | b'|')
            {
                longest = longest.max(line.iter().take_while(|&&b| b == first).count());
            }
        }
    }
    longest + 1
}

fn merge_lines(
    path: &str,
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    strategy: Strategy,
) -> FileMerge {
    let lines = Lines::merge(base, ours, theirs);
    let mut merge = FileMerge {
        path: path.to_string(),
        result: None,
        conflicts: Vec::new(),
        resolved: Vec::new(),
    };
    let (marked, at) = lines.with_markers();
    let described = at.iter().map(|line| {
        format!("lines changed both here and upstream (conflict block at line {line})")
    });
    match strategy {
        Strategy::Merge => {
            merge.conflicts = described.collect();
            merge.result = Some(marked);
        }
        Strategy::Ours | Strategy::Theirs => {
            merge.resolved = described.collect();
            let side = if strategy == Strategy::Ours {
                Side::Ours
            } else {
                Side::Theirs
            };
            merge.result = Some(lines.resolve(side));
        }
    }
    merge
}

// ---------------------------------------------------------------------------------
// YAML merge
// ---------------------------------------------------------------------------------

fn parse_documents(path: &str, bytes: &[u8]) -> Option<Vec<Value>> {
    let text = std::str::from_utf8(bytes).ok()?;
    yaml::documents(path, text).ok()
}

fn same_documents(path: &str, a: &[u8], b: &[u8]) -> bool {
    match (parse_documents(path, a), parse_documents(path, b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Structural merge; None when a side does not parse (or cannot be written back).
fn merge_yaml(
    path: &str,
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    strategy: Strategy,
) -> Option<FileMerge> {
    let base_docs = parse_documents(path, base)?;
    let ours_docs = parse_documents(path, ours)?;
    let theirs_docs = parse_documents(path, theirs)?;
    let (merged_ours, conflicts) =
        merge_documents(&base_docs, &ours_docs, &theirs_docs, Side::Ours);
    let (merged_theirs, _) = merge_documents(&base_docs, &ours_docs, &theirs_docs, Side::Theirs);
    let lines = Lines::merge(base, ours, theirs);
    let header = comment_header(std::str::from_utf8(ours).ok()?);
    let faithful =
        |bytes: &[u8], docs: &[Value]| parse_documents(path, bytes).is_some_and(|d| d == docs);
    // The best text for `docs`: the line merge's, ours', theirs', else written anew.
    let text_of = |docs: &[Value], side: Side| -> Option<Vec<u8>> {
        let resolved = lines.resolve(side);
        if faithful(&resolved, docs) {
            Some(resolved)
        } else if docs == ours_docs.as_slice() {
            Some(ours.to_vec())
        } else if docs == theirs_docs.as_slice() {
            Some(theirs.to_vec())
        } else {
            write_documents(docs, header).map(String::into_bytes)
        }
    };
    let mut merge = FileMerge {
        path: path.to_string(),
        result: None,
        conflicts: Vec::new(),
        resolved: Vec::new(),
    };
    if conflicts.is_empty() {
        merge.result = Some(text_of(&merged_ours, Side::Ours)?);
        return Some(merge);
    }
    match strategy {
        Strategy::Ours => {
            merge.result = Some(text_of(&merged_ours, Side::Ours)?);
            merge.resolved = conflicts;
        }
        Strategy::Theirs => {
            merge.result = Some(text_of(&merged_theirs, Side::Theirs)?);
            merge.resolved = conflicts;
        }
        Strategy::Merge => {
            let marked = if lines.conflicts() > 0
                && faithful(&lines.resolve(Side::Ours), &merged_ours)
                && faithful(&lines.resolve(Side::Theirs), &merged_theirs)
            {
                lines.with_markers().0
            } else {
                let o = write_documents(&merged_ours, header)?;
                let t = write_documents(&merged_theirs, header)?;
                Lines::compare(&o, &t).with_markers().0
            };
            merge.result = Some(marked);
            merge.conflicts = conflicts;
        }
    }
    Some(merge)
}

/// The comment lines (and blank lines between them) that open `text`.
fn comment_header(text: &str) -> &str {
    let mut end = 0;
    let mut seen_comment = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            seen_comment = true;
        } else if !trimmed.is_empty() || !line.ends_with('\n') {
            break;
        }
        end += line.len();
    }
    if seen_comment { &text[..end] } else { "" }
}

fn write_documents(docs: &[Value], header: &str) -> Option<String> {
    let mut out = header.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = yaml::to_string(doc).ok()?;
        out.push_str(text.strip_prefix("---\n").unwrap_or(&text));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}

/// A document's identity: (apiVersion, kind, namespace, name), None without one;
/// the occurrence tells duplicates apart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DocKey {
    id: Option<[String; 4]>,
    occurrence: usize,
}

fn identity(doc: &Value) -> Option<[String; 4]> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let metadata = doc.get("metadata");
    Some([
        text(doc.get("apiVersion"))?,
        text(doc.get("kind"))?,
        text(metadata.and_then(|m| m.get("namespace"))).unwrap_or_default(),
        text(metadata.and_then(|m| m.get("name")))?,
    ])
}

fn keyed(docs: &[Value]) -> Vec<(DocKey, &Value)> {
    let mut seen: HashMap<Option<[String; 4]>, usize> = HashMap::new();
    docs.iter()
        .map(|doc| {
            let id = identity(doc);
            let count = seen.entry(id.clone()).or_default();
            let key = DocKey {
                id,
                occurrence: *count,
            };
            *count += 1;
            (key, doc)
        })
        .collect()
}

fn merge_documents(
    base: &[Value],
    ours: &[Value],
    theirs: &[Value],
    side: Side,
) -> (Vec<Value>, Vec<String>) {
    let (b, o, t) = (keyed(base), keyed(ours), keyed(theirs));
    let single = base.len() <= 1 && ours.len() <= 1 && theirs.len() <= 1;
    let mut merger = Merger {
        side,
        conflicts: Vec::new(),
        label: String::new(),
        secret: false,
    };
    let mut out = Vec::new();
    for key in merge_order(&keys(&o), &keys(&t)) {
        let (bd, od, td) = (lookup(&b, &key), lookup(&o, &key), lookup(&t, &key));
        merger.label = match &key.id {
            Some([_, kind, namespace, name]) if namespace.is_empty() => format!("{kind} {name}"),
            Some([_, kind, namespace, name]) => format!("{kind} {namespace}/{name}"),
            None if single => String::new(),
            None => format!("document {}", key.occurrence + 1),
        };
        merger.secret = [od, td]
            .iter()
            .flatten()
            .any(|d| d.get("kind").and_then(Value::as_str) == Some("Secret"));
        if let Some(doc) = merger.optional(&mut Vec::new(), bd, od, td) {
            out.push(doc);
        }
    }
    (out, merger.conflicts)
}

/// The value paired with `key`.
fn lookup<'a, K: PartialEq>(list: &[(K, &'a Value)], key: &K) -> Option<&'a Value> {
    list.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// The keys of a keyed list, in order.
fn keys<K: Clone>(list: &[(K, &Value)]) -> Vec<K> {
    list.iter().map(|(k, _)| k.clone()).collect()
}

/// `ours` in its order, with each item only in `theirs` inserted after its nearest
/// predecessor in `theirs` (at the start when it has none).
fn merge_order<K: Clone + PartialEq>(ours: &[K], theirs: &[K]) -> Vec<K> {
    let mut out = ours.to_vec();
    for (i, item) in theirs.iter().enumerate() {
        if out.contains(item) {
            continue;
        }
        let at = theirs[..i]
            .iter()
            .rev()
            .find_map(|before| out.iter().position(|o| o == before))
            .map_or(0, |p| p + 1);
        out.insert(at, item.clone());
    }
    out
}

/// Recursive merge of values; conflicts are recorded and resolved to `side`.
struct Merger {
    side: Side,
    conflicts: Vec<String>,
    /// The document being merged, as conflicts name it.
    label: String,
    /// Whether values must not appear in conflict descriptions.
    secret: bool,
}

impl Merger {
    fn subject(&self, path: &[String]) -> String {
        let path = path.concat();
        let path = path.strip_prefix('.').unwrap_or(&path);
        match (self.label.is_empty(), path.is_empty()) {
            (true, true) => "the document".to_string(),
            (true, false) => path.to_string(),
            (false, true) => self.label.clone(),
            (false, false) => format!("{}: {path}", self.label),
        }
    }

    /// The value as shown in conflicts (compact JSON, cut at 80 characters); None
    /// in secrets.
    fn show(&self, value: &Value) -> Option<String> {
        if self.secret {
            return None;
        }
        let shown = serde_json::to_string(value).unwrap_or_default();
        if shown.chars().count() > 80 {
            return Some(shown.chars().take(79).collect::<String>() + "…");
        }
        Some(shown)
    }

    /// ` to VALUE`, or nothing in secrets.
    fn to(&self, value: &Value) -> String {
        self.show(value)
            .map(|v| format!(" to {v}"))
            .unwrap_or_default()
    }

    fn conflict<T>(&mut self, description: String, ours: T, theirs: T) -> T {
        self.conflicts.push(description);
        match self.side {
            Side::Ours => ours,
            Side::Theirs => theirs,
        }
    }

    /// Merge a value that may be absent on any side; None = absent in the result.
    fn optional(
        &mut self,
        path: &mut Vec<String>,
        base: Option<&Value>,
        ours: Option<&Value>,
        theirs: Option<&Value>,
    ) -> Option<Value> {
        if ours == theirs || theirs == base {
            return ours.cloned();
        }
        if ours == base {
            return theirs.cloned();
        }
        match (ours, theirs) {
            (Some(o), Some(t)) => Some(self.value(path, base, o, t)),
            (Some(o), None) => {
                let what = if path.is_empty() {
                    format!("{}: removed upstream but changed here", self.subject(path))
                } else {
                    format!(
                        "{} changed{} here and removed upstream",
                        self.subject(path),
                        self.to(o)
                    )
                };
                self.conflict(what, Some(o.clone()), None)
            }
            (None, Some(t)) => {
                let what = if path.is_empty() {
                    format!("{}: removed here but changed upstream", self.subject(path))
                } else {
                    format!(
                        "{} removed here and changed{} upstream",
                        self.subject(path),
                        self.to(t)
                    )
                };
                self.conflict(what, None, Some(t.clone()))
            }
            (None, None) => None,
        }
    }

    /// Merge a value present on both sides with different content, neither equal
    /// to the base.
    fn value(
        &mut self,
        path: &mut Vec<String>,
        base: Option<&Value>,
        ours: &Value,
        theirs: &Value,
    ) -> Value {
        let sops = path.is_empty()
            && [ours, theirs]
                .iter()
                .any(|d| d.get("sops").is_some_and(Value::is_object));
        match (base, ours, theirs) {
            _ if sops => {
                let what = format!(
                    "{}: SOPS-encrypted document changed both here and upstream (encrypted values cannot be merged)",
                    self.subject(path)
                );
                self.conflict(what, ours.clone(), theirs.clone())
            }
            (_, Value::Object(o), Value::Object(t)) => {
                let b = base.and_then(Value::as_object);
                let mut out = Map::new();
                let (ok, tk): (Vec<&String>, Vec<&String>) =
                    (o.keys().collect(), t.keys().collect());
                for key in merge_order(&ok, &tk) {
                    path.push(key_segment(key));
                    let merged =
                        self.optional(path, b.and_then(|b| b.get(key)), o.get(key), t.get(key));
                    path.pop();
                    if let Some(value) = merged {
                        out.insert(key.clone(), value);
                    }
                }
                Value::Object(out)
            }
            (_, Value::Array(o), Value::Array(t))
                if named(o).is_some()
                    && named(t).is_some()
                    && base
                        .and_then(Value::as_array)
                        .is_none_or(|b| named(b).is_some()) =>
            {
                let b = base
                    .and_then(Value::as_array)
                    .map(|b| named(b).unwrap_or_default())
                    .unwrap_or_default();
                let (o, t) = (named(o).unwrap_or_default(), named(t).unwrap_or_default());
                let mut out = Vec::new();
                for name in merge_order(&keys(&o), &keys(&t)) {
                    path.push(format!("[{name}]"));
                    let merged = self.optional(
                        path,
                        lookup(&b, &name),
                        lookup(&o, &name),
                        lookup(&t, &name),
                    );
                    path.pop();
                    out.extend(merged);
                }
                Value::Array(out)
            }
            (_, Value::Array(o), Value::Array(t)) => {
                let b = base
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                match merge_items(b, o, t) {
                    Some(items) => Value::Array(items),
                    None => self.atomic(path, base, ours, theirs),
                }
            }
            (Some(Value::String(b)), Value::String(o), Value::String(t))
                if [b, o, t].iter().any(|s| s.contains('\n')) =>
            {
                match diffy::merge(b, o, t) {
                    Ok(merged) => Value::String(merged),
                    Err(_) => self.atomic(path, base, ours, theirs),
                }
            }
            _ => self.atomic(path, base, ours, theirs),
        }
    }

    fn atomic(
        &mut self,
        path: &[String],
        base: Option<&Value>,
        ours: &Value,
        theirs: &Value,
    ) -> Value {
        let subject = self.subject(path);
        let what = match (base, self.show(ours), self.show(theirs)) {
            (Some(_), _, _) => format!(
                "{subject} changed{} here and{} upstream",
                self.to(ours),
                self.to(theirs)
            ),
            (None, Some(o), Some(t)) => format!("{subject} added as {o} here and as {t} upstream"),
            (None, _, _) => format!("{subject} added here and upstream with different values"),
        };
        self.conflict(what, ours.clone(), theirs.clone())
    }
}

/// `.key`, or `["key"]` when the key is not a plain word.
fn key_segment(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        format!(".{key}")
    } else {
        format!("[{}]", serde_json::to_string(key).unwrap_or_default())
    }
}

/// The items by name when every item is a mapping with a unique string `name`.
fn named(list: &[Value]) -> Option<Vec<(&str, &Value)>> {
    let mut out: Vec<(&str, &Value)> = Vec::new();
    for item in list {
        let name = item.as_object()?.get("name")?.as_str()?;
        if out.iter().any(|(n, _)| *n == name) {
            return None;
        }
        out.push((name, item));
    }
    Some(out)
}

/// diff3 of lists, each item one line; None on conflict.
fn merge_items(base: &[Value], ours: &[Value], theirs: &[Value]) -> Option<Vec<Value>> {
    let lines = |list: &[Value]| -> Option<String> {
        let mut out = String::new();
        for item in list {
            out.push_str(&serde_json::to_string(item).ok()?);
            out.push('\n');
        }
        Some(out)
    };
    let merged = diffy::merge(&lines(base)?, &lines(ours)?, &lines(theirs)?).ok()?;
    merged
        .lines()
        .map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[cfg(test)]
mod tests;
