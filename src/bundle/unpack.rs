//! Reading an export bundle as a stream: every tar header is checked (name, type,
//! size) before its body is read, and bodies go straight to the caller's sink, so an
//! archive of any size or shape is unpacked in bounded memory. Pure: the sink does the
//! writing.
//!
//! The tar stream is read here block by block (headers parsed with the `tar` crate's
//! `Header`), not with `tar::Archive`: that one reads GNU long names and PAX headers
//! into memory whatever size they claim.
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// What pctl unpacks at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of one file.
    pub entry: u64,
    /// Bytes of all files together.
    pub total: u64,
    /// Entries (files, directories and the headers that describe them).
    pub entries: usize,
}

impl Limits {
    /// The limits of `pctl import`.
    pub const IMPORT: Limits = Limits {
        entry: 256 << 20,
        total: 1 << 30,
        entries: 100_000,
    };
}

/// Longest GNU long name or link name, and largest PAX header, read.
const MAX_NAME: u64 = 4096;
const MAX_PAX: u64 = 64 << 10;
const BLOCK: usize = 512;

/// A size in words: `2.0 GiB`, `256 MiB`, `12 bytes`.
pub fn human(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {unit}", n / size)
            } else {
                format!("{:.1} {unit}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} bytes")
}

fn bad(origin: &str, what: String) -> anyhow::Error {
    crate::error::user(
        format!("{origin}: {what}"),
        "import only bundles written by `pctl export`; this one is damaged, unsafe or too large",
    )
}

/// Unpack a gzip-compressed bundle from `reader`, refusing anything unsafe: absolute
/// paths, `..`, links of any kind, devices, `.git` directories, entries outside the one
/// top directory, duplicates, and entries or totals over `limits`. Each file is handed
/// to `sink(path below the top directory, body)` as it is read. Returns the top
/// directory and the files.
pub fn unpack_stream(
    origin: &str,
    reader: impl Read,
    limits: Limits,
    sink: &mut dyn FnMut(&str, &mut dyn Read) -> Result<()>,
) -> Result<(String, BTreeSet<String>)> {
    let mut input = std::io::BufReader::new(reader);
    // An empty or non-gzip file: say so in words.
    match std::io::BufRead::fill_buf(&mut input) {
        Ok([]) => return Err(bad(origin, "the file is empty".into())),
        Ok(b) if !b.starts_with(&[0x1f]) => {
            return Err(bad(origin, "not a .tar.gz archive".into()));
        }
        Ok(_) => {}
        Err(e) => return Err(bad(origin, format!("cannot read it ({e})"))),
    }
    let mut gz = flate2::read::MultiGzDecoder::new(input);
    let mut first = [0u8; 1];
    let mut peeked = Vec::new();
    match gz.read(&mut first) {
        Ok(0) => return Err(bad(origin, "the archive is empty".into())),
        Ok(_) => peeked.push(first[0]),
        Err(_) => return Err(bad(origin, "not a .tar.gz archive".into())),
    }
    let mut stream = std::io::Cursor::new(peeked).chain(gz);
    let mut top: Option<String> = None;
    let mut files = BTreeSet::new();
    let mut total: u64 = 0;
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut pax: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut headers = 0usize;
    loop {
        let mut block = [0u8; BLOCK];
        match read_full(&mut stream, &mut block) {
            Ok(0) => break,
            Ok(n) if n < BLOCK => {
                return Err(bad(origin, "the archive ends inside a header".into()));
            }
            Ok(_) => {}
            Err(e) => return Err(bad(origin, format!("not a readable .tar.gz archive ({e})"))),
        }
        if block.iter().all(|b| *b == 0) {
            break;
        }
        headers += 1;
        if headers > limits.entries {
            return Err(bad(
                origin,
                format!("more than {} entries, over the limit", limits.entries),
            ));
        }
        let header = tar::Header::from_byte_slice(&block);
        if !checksum_ok(&block) {
            return Err(bad(
                origin,
                "not a tar archive (a header's checksum is wrong)".into(),
            ));
        }
        let mut size = header
            .entry_size()
            .map_err(|_| bad(origin, "a header has an unreadable size".into()))?;
        let kind = header.entry_type();
        // Headers that describe the next entry: read with a small cap.
        let meta_cap = match kind {
            tar::EntryType::GNULongName | tar::EntryType::GNULongLink => Some(MAX_NAME),
            tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => Some(MAX_PAX),
            _ => None,
        };
        if let Some(cap) = meta_cap {
            if size > cap {
                return Err(bad(
                    origin,
                    format!(
                        "a {} header claims {}, over the limit of {}",
                        if cap == MAX_NAME { "long-name" } else { "PAX" },
                        human(size),
                        human(cap)
                    ),
                ));
            }
            let mut data = vec![0u8; size as usize];
            if read_full(&mut stream, &mut data).map_err(|e| bad(origin, e.to_string()))?
                < data.len()
            {
                return Err(bad(origin, "the archive ends inside a header".into()));
            }
            skip(&mut stream, padding(size))
                .map_err(|_| bad(origin, "the archive ends inside a header".into()))?;
            match kind {
                tar::EntryType::GNULongName => long_name = Some(trim_nul(data)),
                tar::EntryType::GNULongLink => long_link = Some(trim_nul(data)),
                tar::EntryType::XHeader => pax = parse_pax(&data),
                _ => {}
            }
            continue;
        }
        let raw = long_name
            .take()
            .or_else(|| pax.remove("path"))
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let link = long_link
            .take()
            .or_else(|| pax.remove("linkpath"))
            .or_else(|| header.link_name_bytes().map(|b| b.into_owned()));
        if let Some(s) = pax.remove("size") {
            size = std::str::from_utf8(&s)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| bad(origin, "a PAX header has an unreadable size".into()))?;
        }
        pax.clear();
        let path =
            String::from_utf8(raw).map_err(|_| bad(origin, "an entry name is not UTF-8".into()))?;
        let parts =
            safe_parts(&path).map_err(|why| bad(origin, format!("entry {path:?} {why}")))?;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = link
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                return Err(bad(
                    origin,
                    format!(
                        "entry {path:?} is a link (to {target:?}); bundles hold regular files only"
                    ),
                ));
            }
            other => {
                return Err(bad(
                    origin,
                    format!(
                        "entry {path:?} has an unsupported type ({other:?}); bundles hold regular files only"
                    ),
                ));
            }
        }
        let is_dir = kind == tar::EntryType::Directory;
        if let Some(first) = parts.first() {
            match &top {
                None => top = Some(first.clone()),
                Some(t) if t != first => {
                    return Err(bad(
                        origin,
                        format!("entry {path:?} is outside the bundle directory {t:?}"),
                    ));
                }
                _ => {}
            }
        }
        if is_dir || parts.is_empty() {
            skip(&mut stream, size + padding(size))
                .map_err(|_| bad(origin, format!("the archive ends inside entry {path:?}")))?;
            continue;
        }
        if parts.len() < 2 {
            return Err(bad(
                origin,
                format!("entry {path:?} is outside the bundle directory"),
            ));
        }
        if size > limits.entry {
            return Err(bad(
                origin,
                format!(
                    "entry {path:?} is {}, over the limit of {} per file",
                    human(size),
                    human(limits.entry)
                ),
            ));
        }
        total += size;
        if total > limits.total {
            return Err(bad(
                origin,
                format!(
                    "its files add up to more than {}, over the limit (at entry {path:?})",
                    human(limits.total)
                ),
            ));
        }
        let rel = parts[1..].join("/");
        if !files.insert(rel.clone()) {
            return Err(bad(origin, format!("entry {path:?} appears twice")));
        }
        let mut body = Counted {
            inner: (&mut stream).take(size),
            n: 0,
        };
        sink(&rel, &mut body)?;
        // Whatever the sink left unread.
        std::io::copy(&mut body, &mut std::io::sink())
            .map_err(|e| bad(origin, format!("cannot read entry {path:?} ({e})")))?;
        if body.n < size {
            return Err(bad(
                origin,
                format!(
                    "the archive ends inside entry {path:?} ({} of {})",
                    human(body.n),
                    human(size)
                ),
            ));
        }
        skip(&mut stream, padding(size))
            .map_err(|_| bad(origin, format!("the archive ends inside entry {path:?}")))?;
    }
    let Some(top) = top else {
        return Err(bad(origin, "the archive is empty".into()));
    };
    if !files.contains(crate::bundle::MANIFEST) {
        return Err(bad(
            origin,
            format!("{top}/{} is missing", crate::bundle::MANIFEST),
        ));
    }
    Ok((top, files))
}

/// Unpack a bundle in memory (limits of `pctl import`): for bundles pctl has just
/// written and for tests.
pub fn unpack(origin: &str, bytes: &[u8]) -> Result<(String, BTreeMap<String, Vec<u8>>)> {
    let mut out = BTreeMap::new();
    let (top, _) = unpack_stream(origin, bytes, Limits::IMPORT, &mut |rel, body| {
        let mut data = Vec::new();
        body.read_to_end(&mut data)?;
        out.insert(rel.to_string(), data);
        Ok(())
    })?;
    Ok((top, out))
}

/// A reader that counts what passed through it.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// Read until `buf` is full or the stream ends; returns how much was read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn skip(r: &mut impl Read, n: u64) -> std::io::Result<()> {
    let copied = std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    if copied < n {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// The checksum of a header: the sum of its bytes with the checksum field as spaces.
fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let Ok(want) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as u32
            }
        })
        .sum();
    sum == want
}

/// PAX records: `LEN key=value\n`.
fn parse_pax(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|b| *b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp + 1 || len > rest.len() {
            break;
        }
        let record = &rest[sp + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|b| *b == b'=') {
            let key = String::from_utf8_lossy(&record[..eq]).into_owned();
            out.insert(key, record[eq + 1..].to_vec());
        }
        rest = &rest[len..];
    }
    out
}

/// The components of a relative archive path, or why it is refused.
fn safe_parts(path: &str) -> std::result::Result<Vec<String>, String> {
    if path.starts_with('/') || path.starts_with('\\') || path.get(1..2) == Some(":") {
        return Err("is an absolute path".into());
    }
    let mut out = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err("leaves the bundle (`..`)".into()),
            p if p.eq_ignore_ascii_case(".git") => {
                return Err("is inside a .git directory".into());
            }
            p if p.chars().any(|c| c.is_control()) => {
                return Err("has a control character in its name".into());
            }
            p if p.len() > 255 => {
                return Err("has a name longer than 255 bytes".into());
            }
            p => out.push(p.to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(tar: Vec<u8>) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar).unwrap();
        e.finish().unwrap()
    }

    /// A raw header (the writer's own checks would refuse the unsafe ones).
    fn header(path: &str, kind: tar::EntryType, size: u64, link: &str) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(size);
        let bytes = path.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        if !link.is_empty() {
            h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_cksum();
        h
    }

    fn tar_with(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, kind, link) in entries {
            let size = if *kind == tar::EntryType::Regular {
                3
            } else {
                0
            };
            out.extend_from_slice(header(path, *kind, size, link).as_bytes());
            if size > 0 {
                let mut block = [0u8; BLOCK];
                block[..3].copy_from_slice(b"abc");
                out.extend_from_slice(&block);
            }
        }
        out.extend_from_slice(&[0u8; 2 * BLOCK]);
        gz(out)
    }

    #[test]
    fn unsafe_archives_are_refused() {
        use tar::EntryType::{Regular, Symlink};
        let ok = [("b/pctl-export.yaml", Regular, "")];
        assert!(unpack("t", &tar_with(&ok)).is_ok());
        for (entries, why) in [
            (vec![("/etc/passwd", Regular, "")], "absolute"),
            (
                vec![("b/pctl-export.yaml", Regular, ""), ("b/../x", Regular, "")],
                "`..`",
            ),
            (
                vec![
                    ("b/pctl-export.yaml", Regular, ""),
                    ("b/l", Symlink, "../../etc"),
                ],
                "link",
            ),
            (
                vec![("b/pctl-export.yaml", Regular, ""), ("c/x", Regular, "")],
                "outside",
            ),
            (
                vec![
                    ("b/pctl-export.yaml", Regular, ""),
                    ("b/.git/config", Regular, ""),
                ],
                ".git",
            ),
            (vec![("b/x", Regular, "")], "missing"),
            (
                vec![
                    ("b/pctl-export.yaml", Regular, ""),
                    ("b/pctl-export.yaml", Regular, ""),
                ],
                "twice",
            ),
        ] {
            let err = unpack("t", &tar_with(&entries)).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
        assert!(unpack("t", b"not a tarball").is_err());
        assert!(unpack("t", b"").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn sizes_are_checked_from_headers_before_reading() {
        use tar::EntryType::Regular;
        // A header claiming 2 GiB with no body: refused for its size, not as a short read.
        let mut t = header("b/big", Regular, 2 << 30, "").as_bytes().to_vec();
        t.extend_from_slice(&[0u8; 100]);
        let err = unpack("t", &gz(t)).unwrap_err().to_string();
        assert!(
            err.contains("\"b/big\" is 2 GiB, over the limit of 256 MiB per file"),
            "{err}"
        );
        // A total over the limit, with small limits.
        let ok = tar_with(&[
            ("b/pctl-export.yaml", Regular, ""),
            ("b/a", Regular, ""),
            ("b/c", Regular, ""),
        ]);
        let small = Limits {
            entry: 3,
            total: 8,
            entries: 10,
        };
        let err = unpack_stream("t", ok.as_slice(), small, &mut |_, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("add up to more than 8 bytes"), "{err}");
        let few = Limits {
            entries: 2,
            ..Limits::IMPORT
        };
        let err = unpack_stream("t", ok.as_slice(), few, &mut |_, _| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 2 entries"), "{err}");
        // A truncated body says so.
        let mut t = header("b/pctl-export.yaml", Regular, 1000, "")
            .as_bytes()
            .to_vec();
        t.extend_from_slice(&[b'a'; 10]);
        let err = unpack("t", &gz(t)).unwrap_err().to_string();
        assert!(err.contains("ends inside entry"), "{err}");
        // A long-name header claiming more than a name can be.
        let t = header("././@LongLink", tar::EntryType::GNULongName, 1 << 30, "")
            .as_bytes()
            .to_vec();
        let err = unpack("t", &gz(t)).unwrap_err().to_string();
        assert!(err.contains("long-name header claims 1 GiB"), "{err}");
    }

    #[test]
    fn long_names_and_pax_paths_are_read() {
        let long = format!("b/{}/x.yaml", "d".repeat(150));
        let files = BTreeMap::from([
            (crate::bundle::MANIFEST.to_string(), b"m".to_vec()),
            (long[2..].to_string(), b"x".to_vec()),
        ]);
        // GNU long names, as `pack` writes them.
        let packed = crate::bundle::pack("b", &files).unwrap();
        assert_eq!(unpack("t", &packed).unwrap().1, files);
        // PAX paths.
        let mut b = tar::Builder::new(Vec::new());
        for (rel, data) in &files {
            let path = format!("b/{rel}");
            let record = format!("path={path}\n");
            let len = (1..6)
                .map(|d| record.len() + 1 + d)
                .find(|l| l.to_string().len() + 1 + record.len() == *l)
                .unwrap();
            let pax = format!("{len} {record}");
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::XHeader);
            h.set_size(pax.len() as u64);
            h.set_cksum();
            b.append(&h, pax.as_bytes()).unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(data.len() as u64);
            h.set_path("b/short").unwrap();
            h.set_cksum();
            b.append(&h, data.as_slice()).unwrap();
        }
        let t = b.into_inner().unwrap();
        assert_eq!(unpack("t", &gz(t)).unwrap().1, files);
    }

    #[test]
    fn sizes_in_words() {
        assert_eq!(human(2 << 30), "2 GiB");
        assert_eq!(human(256 << 20), "256 MiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(12), "12 bytes");
    }
}
