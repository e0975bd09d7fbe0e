//! A split index (`git update-index --split-index`, `core.splitIndex`) read whole:
//! the `link` extension names a shared index (`sharedindex.<id>`) and says, with two
//! EWAH bitmaps, which of its entries this file deletes and which it replaces (the
//! replacing entries come first here, without names); the other entries here are
//! added. The result is one plain index, which pctl then writes as such: git reads it
//! and splits it again on its next write when `core.splitIndex` is set. libgit2
//! refuses split indexes ("unsupported mandatory extension").
use super::{EXTENDED, FIXED, HASH, HEADER, NAME_MASK, be16, be32, walk_entries};
use std::path::Path;

/// The whole index of the split index file `bytes`, as the bytes of one plain index
/// file (its trailer left zero: it is not written as read); None when `bytes` is no
/// split index or one pctl does not read.
pub(super) fn unsplit(git_dir: &Path, bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < HEADER + HASH || &bytes[..4] != b"DIRC" {
        return None;
    }
    let version = be32(bytes, 4);
    if version != 2 && version != 3 {
        return None;
    }
    let end = bytes.len() - HASH;
    let (own, own_end) = walk_entries(bytes, version, end, false)?;
    let mut off = own_end;
    let mut link = None;
    let mut kept = Vec::new();
    while off < end {
        if off + 8 > end {
            return None;
        }
        let size = be32(bytes, off + 4) as usize;
        let data = off + 8..(off + 8).checked_add(size).filter(|&e| e <= end)?;
        match &bytes[off..off + 4] {
            b"link" => link = Some(data.clone()),
            // Kept for the plain index (TREE, REUC; the optional ones it drops itself).
            sig if sig[0].is_ascii_uppercase() => kept.push(off..data.end),
            _ => return None,
        }
        off = data.end;
    }
    let link = &bytes[link?];
    let base_id = link.get(..HASH)?;
    let (deleted, replaced) = if link.len() > HASH {
        let (deleted, used) = ewah_bits(&link[HASH..])?;
        let (replaced, rest) = ewah_bits(&link[HASH + used..])?;
        if HASH + used + rest != link.len() {
            return None;
        }
        (deleted, replaced)
    } else {
        (Vec::new(), Vec::new())
    };
    // The shared index: a plain index file of its own.
    let base: Vec<u8> = if base_id.iter().all(|&b| b == 0) {
        let mut empty = b"DIRC".to_vec();
        empty.extend_from_slice(&2u32.to_be_bytes());
        empty.extend_from_slice(&[0; 4 + HASH]);
        empty
    } else {
        let hex = git2::Oid::from_bytes(base_id).ok()?;
        std::fs::read(git_dir.join(format!("sharedindex.{hex}"))).ok()?
    };
    if base.len() < HEADER + HASH || &base[..4] != b"DIRC" {
        return None;
    }
    let base_version = be32(&base, 4);
    if base_version != 2 && base_version != 3 {
        return None;
    }
    let (base_entries, base_end) = walk_entries(&base, base_version, base.len() - HASH, false)?;

    // Base entries by position: removed, replaced by one of this file's, or kept.
    let name_of = |b: &[u8], o: usize| -> (usize, usize) {
        let start = o
            + FIXED
            + if be16(b, o + 60) & EXTENDED != 0 {
                2
            } else {
                0
            };
        let len = b[start..].iter().position(|&c| c == 0).unwrap_or(0);
        (start, len)
    };
    let mut entries: Vec<Vec<u8>> = base_entries
        .iter()
        .enumerate()
        .map(|(i, &o)| {
            let next = base_entries.get(i + 1).copied().unwrap_or(base_end);
            base[o..next].to_vec()
        })
        .collect();
    let mut gone = vec![false; entries.len()];
    for (k, &pos) in replaced.iter().enumerate() {
        let (&src, &dst) = (own.get(k)?, base_entries.get(pos)?);
        if name_of(bytes, src).1 != 0 {
            return None;
        }
        let (dst_name, dst_len) = name_of(&base, dst);
        entries[pos] = entry_with_name(bytes, src, &base[dst_name..dst_name + dst_len]);
    }
    for &pos in &deleted {
        if pos >= gone.len() || replaced.contains(&pos) {
            return None;
        }
        gone[pos] = true;
    }
    let mut all: Vec<(Vec<u8>, u16, Vec<u8>)> = Vec::with_capacity(entries.len());
    for (e, gone) in entries.into_iter().zip(gone) {
        if !gone {
            let (start, len) = name_of(&e, 0);
            all.push((e[start..start + len].to_vec(), stage(&e), e));
        }
    }
    // The entries added here, in place (one with the same path and stage replaces).
    for (i, &o) in own.iter().enumerate().skip(replaced.len()) {
        let (start, len) = name_of(bytes, o);
        if len == 0 {
            return None;
        }
        let next = own.get(i + 1).copied().unwrap_or(own_end);
        let e = bytes[o..next].to_vec();
        let key = (bytes[start..start + len].to_vec(), stage(&e));
        match all.binary_search_by(|(p, s, _)| (p.as_slice(), *s).cmp(&(key.0.as_slice(), key.1))) {
            Ok(at) => all[at].2 = e,
            Err(at) => all.insert(at, (key.0, key.1, e)),
        }
    }
    if all
        .windows(2)
        .any(|w| (&w[0].0, w[0].1) >= (&w[1].0, w[1].1))
    {
        return None;
    }
    let extended = all.iter().any(|(_, _, e)| be16(e, 60) & EXTENDED != 0);
    let mut out = b"DIRC".to_vec();
    out.extend_from_slice(&(if extended { 3u32 } else { version }).to_be_bytes());
    out.extend_from_slice(&(all.len() as u32).to_be_bytes());
    for (_, _, e) in &all {
        out.extend_from_slice(e);
    }
    for r in kept {
        out.extend_from_slice(&bytes[r]);
    }
    out.extend_from_slice(&[0; HASH]);
    Some(out)
}

fn stage(entry: &[u8]) -> u16 {
    (be16(entry, 60) >> 12) & 3
}

/// The entry at `src` of `bytes` (stat data, mode, id, flags) under `name`.
fn entry_with_name(bytes: &[u8], src: usize, name: &[u8]) -> Vec<u8> {
    let extended = be16(bytes, src + 60) & EXTENDED != 0;
    let head = FIXED + if extended { 2 } else { 0 };
    let mut e = bytes[src..src + head].to_vec();
    let flags = (be16(bytes, src + 60) & !NAME_MASK) | name.len().min(NAME_MASK as usize) as u16;
    e[60..62].copy_from_slice(&flags.to_be_bytes());
    e.extend_from_slice(name);
    let padded = (head + name.len() + 8) & !7;
    e.resize(padded, 0);
    e
}

/// The positions of the set bits of a serialized EWAH bitmap (git's `ewah/`: bit
/// count, word count, the words, the last run-length word's position), and how many
/// bytes it takes.
pub(super) fn ewah_bits(data: &[u8]) -> Option<(Vec<usize>, usize)> {
    if data.len() < 8 {
        return None;
    }
    let bit_size = be32(data, 0) as usize;
    let words = be32(data, 4) as usize;
    let len = words.checked_mul(8)?.checked_add(12)?;
    if data.len() < len {
        return None;
    }
    let word = |k: usize| {
        let at = 8 + k * 8;
        u64::from_be_bytes(data[at..at + 8].try_into().unwrap_or([0; 8]))
    };
    let mut bits = Vec::new();
    let (mut pos, mut k) = (0usize, 0usize);
    while k < words {
        let rlw = word(k);
        let run = ((rlw >> 1) & 0xffff_ffff) as usize * 64;
        let literals = (rlw >> 33) as usize;
        if pos.checked_add(run)? > bit_size + 64 {
            return None;
        }
        if rlw & 1 == 1 {
            bits.extend(pos..pos + run);
        }
        pos += run;
        for l in 0..literals {
            if k + 1 + l >= words {
                return None;
            }
            let w = word(k + 1 + l);
            bits.extend((0..64).filter(|b| w >> b & 1 == 1).map(|b| pos + b));
            pos += 64;
        }
        k += 1 + literals;
    }
    bits.retain(|&b| b < bit_size);
    Some((bits, len))
}
