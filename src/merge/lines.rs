//! The line merge (diff3) behind the three-way merge: conflict blocks with markers, and
//! the side-by-side resolution used for YAML conflicts (see the `merge` module).
use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Ours,
    Theirs,
}

#[derive(Debug)]
pub(super) enum Segment {
    Text(Vec<u8>),
    Conflict { ours: Vec<u8>, theirs: Vec<u8> },
}

/// A line merge as clean text and conflicting regions.
#[derive(Debug)]
pub(super) struct Lines {
    segments: Vec<Segment>,
    /// Whether ours' and theirs' inputs end with a newline (or are empty).
    ours_eol: bool,
    theirs_eol: bool,
}

impl Lines {
    /// diff3 of three texts.
    pub(super) fn merge(base: &[u8], ours: &[u8], theirs: &[u8]) -> Lines {
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
    pub(super) fn compare(ours: &str, theirs: &str) -> Lines {
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

    pub(super) fn conflicts(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Conflict { .. }))
            .count()
    }

    /// The text with every conflict taken from `side`.
    pub(super) fn resolve(&self, side: Side) -> Vec<u8> {
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
    pub(super) fn with_markers(&self) -> (Vec<u8>, Vec<usize>) {
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
pub(super) fn marker_length(inputs: &[&[u8]]) -> usize {
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

pub(super) fn merge_lines(
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
