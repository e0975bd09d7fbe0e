//! Fuzz target: the three-way merge of one file (`pctl::merge::merge_file`), YAML by
//! structure or text by lines, with the three sides and the strategy fuzzed.
//!
//! Input: a header line `PATH STRATEGY` (strategy `merge`, `ours` or `theirs`), then
//! base, ours and theirs separated by lines `----8<----`; a side that is exactly
//! `<absent>` is a missing file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pctl::merge::{Strategy, merge_file};

fn split<'a>(hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = hay;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    let mut words = header.split_whitespace();
    let path = words.next().unwrap_or("file.yaml").to_string();
    let strategy = match words.next() {
        Some("ours") => Strategy::Ours,
        Some("theirs") => Strategy::Theirs,
        _ => Strategy::Merge,
    };
    let parts = split(body, b"\n----8<----\n");
    let side = |i: usize| -> Option<&[u8]> {
        let p = parts.get(i).copied().unwrap_or_default();
        if p == b"<absent>" { None } else { Some(p) }
    };
    let (base, ours, theirs) = (side(0), side(1), side(2));
    let m = merge_file(&path, base, ours, theirs, strategy);
    if strategy != Strategy::Merge {
        assert!(m.conflicts.is_empty(), "{strategy:?} left conflicts");
    }
    if m.conflicts.is_empty()
        && let Some(r) = &m.result
        && ![base, ours, theirs]
            .iter()
            .flatten()
            .any(|s| pctl::merge::has_conflict_markers(s))
    {
        // A clean merge of marker-free sides writes no conflict markers.
        assert!(
            !pctl::merge::has_conflict_markers(r),
            "clean merge with conflict markers"
        );
    }
    // The same inputs merge to the same result (deterministic output).
    assert_eq!(m, merge_file(&path, base, ours, theirs, strategy));
});
