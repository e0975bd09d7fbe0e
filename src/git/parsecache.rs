//! The parse cache in `.git/pctl/parsed-v1` (docs/architecture.md#the-parse-cache):
//! the YAML documents of every text the repository check, the ownership scan and the
//! commit guard parsed, keyed by the SHA-256 of the text, so that a later pctl process
//! parses only the files that changed since. Never trusted beyond what it can prove:
//! a file of another pctl version or format, a malformed or truncated file, an entry
//! whose tag, text length or document count does not match, is ignored (and
//! rewritten at the next save); a lookup that fails is a miss, never an error. Each
//! entry carries a SipHash-2-4 tag keyed by a secret of the user's
//! (`<cache dir>/pctl/parse-cache.key`, made once, never in the repository): an
//! entry written by anyone else (a `.git` copied from another machine or user, a
//! hostile or corrupted file) fails the tag and is parsed again.
use crate::yaml::Value;
use foldhash::HashMapExt as _;
use foldhash::{HashMap, HashSet};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The file inside the Git directory.
pub const FILE: &str = "pctl/parsed-v1";
/// The trees whose builds the commit guard kept most recently, newest first (20 bytes
/// each): where to look when none of HEAD's recent commits has any, after a `git
/// reset` or a switch of branches. Only ever a hint: each id is a key to look up.
const RECENT: &str = "pctl/kept-trees";
const RECENT_MAX: usize = 4;
const MAGIC: &[u8] = b"PCTLPARSE\0";
const FORMAT: u32 = 1;
/// A cache file larger than this is not read (and rewritten smaller).
const MAX_FILE: u64 = 256 << 20;
/// Entries kept beyond those used by the process that saves: at most this many plus
/// three times the used ones in all, the newest of the others first.
const SPARE: usize = 5_000;
/// ... and the entries no longer used take at most this many bytes (the newest kept):
/// every command reads the entries' heads and copies them on save, and memos of large
/// directories are large.
const SPARE_BYTES: usize = 4 << 20;
/// ... and none of them larger than this: the commit guard's builds of a whole tree
/// (1.26 MB in the scale bench's L) and the memos of the largest directories (1 MB)
/// are kept only while used, else each install left one behind until the budget was
/// full of them (a 10.3 MB file, read whole, and 88 MiB peak RSS for `upgrade --all`
/// of 500). The ownership scan of a whole tree (200 KB there) too: each write keeps
/// one for its tree, and the old ones crowded out the small memos of the
/// installations' directories that a walk after a commit pctl did not make reads
/// (docs/architecture.md#the-ownership-scan-of-a-whole-tree).
const SPARE_LARGEST: usize = 64 << 10;
/// Unused entries this small (the memos of one directory that a write keeps for a
/// later walk, most parsed kustomizations) count only against the number of entries,
/// not the bytes: the larger ones of each write (the installation records below its
/// install path, its parsed files) crowded them out.
const SPARE_SMALL: usize = 1 << 10;

pub type Key = [u8; 32];

/// One entry's place in the loaded file.
struct Slot {
    text_len: u64,
    chunks: u32,
    /// The whole entry (header and payload) in `bytes`.
    start: usize,
    end: usize,
}

#[derive(Default)]
struct Store {
    path: PathBuf,
    secret: (u64, u64),
    /// The cache file, open (None when missing or refused), and its length. Entries
    /// are read from it when looked up, never the whole file: held whole, it was the
    /// largest block of a large command's memory.
    file: Option<std::fs::File>,
    len: u64,
    slots: HashMap<Key, Slot>,
    /// The entries' keys in the file's order, with where each starts (a key the file
    /// holds twice is listed twice; the later entry is the one in `slots`), so that
    /// [`save`] keeps the file's order without sorting the entries.
    order: Vec<(Key, usize)>,
    used: HashSet<Key>,
    /// Entries parsed in this process, encoded.
    added: Vec<(Key, Vec<u8>)>,
    added_keys: HashSet<Key>,
    /// A tree noted by [`note_recent`], written by [`save`].
    recent: Option<[u8; 20]>,
    /// The file was written by [`save`] and is read again when next needed.
    stale: bool,
    /// How many entries a memo this process read stands for ([`stands_for`]).
    stands_for: usize,
}

thread_local! {
    static STORE: RefCell<Option<Store>> = const { RefCell::new(None) };
    /// The Git directory [`attach`] named, loaded on first use (a command that parses
    /// nothing reads neither the cache nor the key).
    static WANTED: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// The key of a text.
pub fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

/// Use the cache of the repository whose Git directory is `git_dir` for this process
/// (read when first needed; the same directory again keeps what was loaded).
pub fn attach(git_dir: &Path) {
    WANTED.with(|w| *w.borrow_mut() = Some(git_dir.to_path_buf()));
}

/// Load the cache [`attach`] asked for, if not yet loaded.
fn load_wanted() {
    if let Some(dir) = WANTED.with(|w| w.borrow_mut().take()) {
        match crate::git::cache_dir().ok().and_then(|d| secret(&d)) {
            Some(secret) => attach_with(&dir, secret),
            None => STORE.with(|s| *s.borrow_mut() = None),
        }
    }
    STORE.with(|s| {
        if let Some(st) = s.borrow_mut().as_mut().filter(|st| st.stale) {
            *st = loaded(std::mem::take(&mut st.path), st.secret);
        }
    });
}

/// Whether this process has a cache to read and write (a repository was attached and
/// the user's secret is readable): without one, keys need not be computed.
pub fn attached() -> bool {
    load_wanted();
    STORE.with(|s| s.borrow().is_some())
}

/// [`attach`] with a given secret, loaded at once (for tests of the cache's readers
/// elsewhere in the crate: the store is per thread).
#[cfg(test)]
pub(crate) fn attach_for_tests(git_dir: &Path, secret: (u64, u64)) {
    WANTED.with(|w| *w.borrow_mut() = None);
    attach_with(git_dir, secret);
}

fn attach_with(git_dir: &Path, secret: (u64, u64)) {
    let path = git_dir.join(FILE);
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        if s.as_ref().is_some_and(|st| st.path == path) {
            return;
        }
        *s = Some(loaded(path, secret));
    });
}

/// The cache file at `path` as it is now (no entries when missing or refused).
fn loaded(path: PathBuf, secret: (u64, u64)) -> Store {
    let opened =
        open_file(&path).and_then(|(file, len)| Some((index_file(&file, len)?, file, len)));
    let ((slots, order), file, len) = match opened {
        Some((indexed, file, len)) => (indexed, Some(file), len),
        None => ((HashMap::new(), Vec::new()), None, 0),
    };
    Store {
        path,
        secret,
        file,
        len,
        slots,
        order,
        ..Store::default()
    }
}

/// The user's secret for the tags of every entry: 16 random bytes in `dir`, made on
/// first use (None when it can be neither read nor made: no cache then).
fn secret(dir: &Path) -> Option<(u64, u64)> {
    let file = dir.join("parse-cache.key");
    let read = |f: &Path| -> Option<(u64, u64)> {
        let meta = std::fs::symlink_metadata(f).ok()?;
        if !meta.is_file() || meta.len() != 16 {
            return None;
        }
        let b = std::fs::read(f).ok()?;
        Some((
            u64::from_le_bytes(b.get(..8)?.try_into().ok()?),
            u64::from_le_bytes(b.get(8..16)?.try_into().ok()?),
        ))
    };
    if let Some(k) = read(&file) {
        return Some(k);
    }
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).ok()?;
    std::fs::create_dir_all(dir).ok()?;
    let tmp = dir.join(format!(".parse-cache.key.{}", std::process::id()));
    let made = (|| {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&key)?;
        f.sync_data()?;
        // Never replaces a key another process made meanwhile: both then use that one.
        std::fs::hard_link(&tmp, &file)
    })();
    let _ = std::fs::remove_file(&tmp);
    if made.is_err() && !file.exists() {
        return None;
    }
    read(&file)
}

/// The file at `path` open for reading, with its length, when it is a plain file (not
/// a link: opened without following one) of at most [`MAX_FILE`] bytes.
fn open_file(path: &Path) -> Option<(std::fs::File, u64)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).ok()?;
    let meta = file.metadata().ok()?;
    (meta.is_file() && meta.len() <= MAX_FILE).then_some((file, meta.len()))
}

/// `buf.len()` bytes of `file` from `offset`.
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt as _;
        file.read_exact_at(buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read as _, Seek as _};
        let mut f = file;
        f.seek(std::io::SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// The whole entry of `slot` (head and payload), read from the file.
fn read_entry(st: &Store, slot: &Slot) -> Option<Vec<u8>> {
    let mut entry = vec![0u8; slot.end - slot.start];
    read_at(st.file.as_ref()?, &mut entry, slot.start as u64).ok()?;
    Some(entry)
}

/// The header every cache file starts with.
fn header() -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut h = MAGIC.to_vec();
    h.extend_from_slice(&FORMAT.to_le_bytes());
    h.push(version.len() as u8);
    h.extend_from_slice(version);
    h
}

const ENTRY_HEAD: usize = 32 + 8 + 4 + 4 + 8;

/// The entries of the cache file `file` (`len` bytes) by key, and their keys in the
/// file's order, from their heads (read in order, the payloads skipped); None when its
/// header is not this pctl's or anything in it is malformed (the whole file is then
/// ignored).
#[allow(clippy::type_complexity)]
fn index_file(file: &std::fs::File, len: u64) -> Option<(HashMap<Key, Slot>, Vec<(Key, usize)>)> {
    use std::io::Read as _;
    let mut r = std::io::BufReader::with_capacity(1 << 16, file);
    let head = header();
    let mut got = vec![0u8; head.len()];
    r.read_exact(&mut got).ok()?;
    if got != head {
        return None;
    }
    let mut at = head.len() as u64;
    let mut slots = HashMap::new();
    let mut order = Vec::new();
    while at < len {
        let mut h = [0u8; ENTRY_HEAD];
        r.read_exact(&mut h).ok()?;
        let key: Key = h[..32].try_into().ok()?;
        let text_len = u64::from_le_bytes(h[32..40].try_into().ok()?);
        let chunks = u32::from_le_bytes(h[40..44].try_into().ok()?);
        let payload = u32::from_le_bytes(h[44..48].try_into().ok()?);
        let end = at + ENTRY_HEAD as u64 + u64::from(payload);
        if end > len {
            return None;
        }
        r.seek_relative(i64::from(payload)).ok()?;
        order.push((key, usize::try_from(at).ok()?));
        slots.insert(
            key,
            Slot {
                text_len,
                chunks,
                start: usize::try_from(at).ok()?,
                end: usize::try_from(end).ok()?,
            },
        );
        at = end;
    }
    Some((slots, order))
}

/// The tag of an entry: SipHash-2-4 under the user's secret over everything the entry
/// says (its key, text length, chunk count and payload).
fn tag(secret: (u64, u64), head: &[u8], payload: &[u8]) -> u64 {
    use std::hash::Hasher as _;
    #[allow(deprecated)] // SipHash-2-4 with chosen keys: what a keyed tag needs.
    let mut h = std::hash::SipHasher::new_with_keys(secret.0, secret.1);
    h.write(head);
    h.write(payload);
    h.finish()
}

/// The documents of each chunk of the text with key `key` (`text_len` bytes, split
/// into `chunks` non-empty chunks), when the cache holds them and they check out.
pub fn lookup(key: &Key, text_len: usize, chunks: usize) -> Option<Vec<Vec<Value>>> {
    load_wanted();
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        let st = s.as_mut()?;
        let slot = st.slots.get(key)?;
        if slot.chunks == MEMO || slot.text_len != text_len as u64 || slot.chunks as usize != chunks
        {
            return None;
        }
        let entry = read_entry(st, slot)?;
        let sum = u64::from_le_bytes(entry[48..56].try_into().ok()?);
        let payload = &entry[ENTRY_HEAD..];
        if tag(st.secret, &entry[..48], payload) != sum {
            return None;
        }
        let docs = decode_chunks(payload, chunks)?;
        st.used.insert(*key);
        Some(docs)
    })
}

/// Remember the documents of a text parsed in this process (saved by [`save`]).
pub fn remember(key: &Key, text_len: usize, docs: &[Vec<&Value>]) {
    add(key, text_len as u64, docs.len() as u32, || {
        let mut payload = Vec::new();
        for chunk in docs {
            put_len(&mut payload, chunk.len());
            for v in chunk {
                encode(&mut payload, v);
            }
        }
        payload
    });
}

/// Add the entry `key` (its text length, chunk count, and the payload `make` gives,
/// made only when the key is new) under this user's tag, for [`save`]; a key already
/// held is only marked used.
fn add(key: &Key, text_len: u64, chunks: u32, make: impl FnOnce() -> Vec<u8>) {
    load_wanted();
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(st) = s.as_mut() else {
            return;
        };
        if st.slots.contains_key(key) || !st.added_keys.insert(*key) {
            st.used.insert(*key);
            return;
        }
        let payload = make();
        let Ok(len) = u32::try_from(payload.len()) else {
            return;
        };
        let mut entry = Vec::with_capacity(ENTRY_HEAD + payload.len());
        entry.extend_from_slice(key);
        entry.extend_from_slice(&text_len.to_le_bytes());
        entry.extend_from_slice(&chunks.to_le_bytes());
        entry.extend_from_slice(&len.to_le_bytes());
        let sum = tag(st.secret, &entry, &payload);
        entry.extend_from_slice(&sum.to_le_bytes());
        entry.extend_from_slice(&payload);
        st.added.push((*key, entry));
    });
}

/// The chunk count that marks a memo entry (a text never has this many chunks).
const MEMO: u32 = u32::MAX;

/// The key of a memoised answer: SHA-256 of `kind` and every length-prefixed part
/// (the Git tree id and each input the answer depends on go in `parts`). The lengths
/// are varints ([`put_len`]): a directory's memo key is then two SHA-256 blocks, not
/// three (thousands of keys per write in a large repository).
pub fn memo_key(kind: &str, parts: &[&[u8]]) -> Key {
    let mut material =
        Vec::with_capacity(16 + kind.len() + parts.iter().map(|p| p.len() + 3).sum::<usize>());
    material.extend_from_slice(b"pctl-memo\0");
    put_bytes(&mut material, kind.as_bytes());
    for p in parts {
        put_bytes(&mut material, p);
    }
    Sha256::digest(&material).into()
}

/// A memoised answer kept with the parse cache (docs/architecture.md#memos): the
/// payload [`memo_put`] stored under `key`, when the entry's tag checks out (None on a
/// miss, a failed tag, another pctl version's file). Read from the file each time.
pub fn memo_get(key: &Key) -> Option<Vec<u8>> {
    load_wanted();
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        let st = s.as_mut()?;
        if st.added_keys.contains(key) {
            let (_, entry) = st.added.iter().rev().find(|(k, _)| k == key)?;
            return entry.get(ENTRY_HEAD..).map(<[u8]>::to_vec);
        }
        let slot = st.slots.get(key)?;
        if slot.chunks != MEMO || slot.text_len != 0 {
            return None;
        }
        let mut entry = read_entry(st, slot)?;
        let sum = u64::from_le_bytes(entry[48..56].try_into().ok()?);
        if tag(st.secret, &entry[..48], &entry[ENTRY_HEAD..]) != sum {
            return None;
        }
        st.used.insert(*key);
        entry.drain(..ENTRY_HEAD);
        Some(entry)
    })
}

/// Whether the cache holds an entry under `key` (not checked: a cheap test before
/// work that only pays when [`memo_get`] then finds it; marks nothing used).
pub fn memo_has(key: &Key) -> bool {
    load_wanted();
    STORE.with(|s| {
        s.borrow().as_ref().is_some_and(|st| {
            st.added_keys.contains(key)
                || st
                    .slots
                    .get(key)
                    .is_some_and(|slot| slot.chunks == MEMO && slot.text_len == 0)
        })
    })
}

/// Run `f` without letting what it reads count as used (for the next [`save`]): a
/// debug build's comparison must not keep alive what the release build would not.
pub fn unmarked<R>(f: impl FnOnce() -> R) -> R {
    load_wanted();
    let used = STORE.with(|s| s.borrow().as_ref().map(|st| st.used.clone()));
    let out = f();
    if let Some(used) = used {
        STORE.with(|s| {
            if let Some(st) = s.borrow_mut().as_mut() {
                st.used = used;
            }
        });
    }
    out
}

/// Keep the entry under `key`, when the cache holds one, as if it were read (the next
/// [`save`] keeps it like every entry used), without reading it; whether it is held.
pub fn memo_touch(key: &Key) -> bool {
    load_wanted();
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(st) = s.as_mut() else {
            return false;
        };
        let held = st
            .slots
            .get(key)
            .is_some_and(|slot| slot.chunks == MEMO && slot.text_len == 0);
        if held {
            st.used.insert(*key);
        }
        held || st.added_keys.contains(key)
    })
}

/// Keep `payload` as the answer under `key` (written by the next [`save`]; a key
/// already held keeps its first answer: the key names every input of the answer).
pub fn memo_put(key: &Key, payload: &[u8]) {
    add(key, 0, MEMO, || payload.to_vec());
}

/// The trees noted by [`note_recent`] in earlier processes, newest first (empty without
/// a cache, or when the file is not a list of ids).
pub fn recent() -> Vec<[u8; 20]> {
    load_wanted();
    let Some(path) = STORE.with(|s| s.borrow().as_ref().map(|st| recent_path(&st.path))) else {
        return Vec::new();
    };
    // A plain file of at most RECENT_MAX ids, checked before it is read (not a link,
    // not a device: it lies in a directory a repository's owner controls).
    let small = std::fs::symlink_metadata(&path)
        .is_ok_and(|m| m.is_file() && m.len() <= (20 * RECENT_MAX) as u64);
    let bytes = if small {
        std::fs::read(&path).unwrap_or_default()
    } else {
        Vec::new()
    };
    if bytes.len() % 20 != 0 || bytes.len() > 20 * RECENT_MAX {
        return Vec::new();
    }
    bytes
        .chunks_exact(20)
        .filter_map(|c| <[u8; 20]>::try_from(c).ok())
        .collect()
}

/// Note `tree` as the newest of [`recent`] (written by the next [`save`]).
pub fn note_recent(tree: [u8; 20]) {
    load_wanted();
    STORE.with(|s| {
        if let Some(st) = s.borrow_mut().as_mut() {
            st.recent = Some(tree);
        }
    });
}

/// Note that an answer this process read from one memo stands for `n` entries it would
/// otherwise have used (the ownership scan of a whole tree for the memos of each
/// directory its walk reads): the count of older entries a save keeps grows with it,
/// as it grows with the entries used, so that those memos are there for the walk
/// after a commit pctl did not make.
pub fn stands_for(n: usize) {
    load_wanted();
    STORE.with(|s| {
        if let Some(st) = s.borrow_mut().as_mut() {
            st.stands_for = st.stands_for.max(n);
        }
    });
}

/// The file of [`recent`], beside the cache file `cache`.
fn recent_path(cache: &Path) -> PathBuf {
    let name = RECENT.rsplit('/').next().unwrap_or(RECENT);
    cache.with_file_name(name)
}

/// Write the cache back when this process parsed something new, or when the entries
/// it did not use outgrow their budget: the entries it used or added, and the older
/// ones unless there are many more of those, they take more than 4 MiB, or one alone
/// takes more than 1 MiB (atomic: a temporary file renamed over the old one; two
/// processes saving at once leave one of their files, each valid). Failing to write is not an error: the cache is only
/// an optimisation.
pub fn save() {
    load_wanted();
    if let Some((tree, path)) = STORE.with(|s| {
        let mut s = s.borrow_mut();
        let st = s.as_mut()?;
        Some((st.recent.take()?, recent_path(&st.path)))
    }) {
        let mut ids = vec![tree];
        ids.extend(recent().into_iter().filter(|t| *t != tree));
        ids.truncate(RECENT_MAX);
        let _ = write_atomic(&path, &ids.concat());
    }
    STORE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(st) = s.as_mut() else {
            return;
        };
        // Nothing new: written again only when the unused entries outgrow their budget.
        if st.added.is_empty() && st.len <= SPARE_BYTES as u64 {
            return;
        }
        // The newest unused entries (later in the file) first, memos before parsed
        // texts, as many as the count
        // and byte budgets hold: the memos a write keeps for a later walk are not
        // read until a commit pctl did not make, and dropping every unused entry
        // at once when they outnumbered the budget dropped them all.
        let used = st.used.len().max(st.stands_for);
        let room = (3 * used + SPARE).saturating_sub(st.used.len() + st.added.len());
        // The entries in the file's order, each once (no sorting: a large repository's
        // cache holds thousands).
        let listed: Vec<(&Key, &Slot)> = st
            .order
            .iter()
            .filter_map(|(k, start)| st.slots.get_key_value(k).filter(|(_, s)| s.start == *start))
            .collect();
        // Memos before parsed texts (a memo of a directory spares the parses of all
        // its files), each newest first.
        let mut keep = vec![false; listed.len()];
        let (mut spare, mut unused) = (0usize, 0usize);
        for memos in [true, false] {
            for (i, (k, slot)) in listed.iter().enumerate().rev() {
                if (slot.chunks == MEMO) != memos {
                    continue;
                }
                keep[i] = st.used.contains(*k) || {
                    let n = slot.end - slot.start;
                    n <= SPARE_LARGEST && unused < room && {
                        // Small entries count against the number only.
                        let fits = n <= SPARE_SMALL || {
                            spare += n;
                            spare <= SPARE_BYTES
                        };
                        unused += usize::from(fits);
                        fits
                    }
                };
            }
        }
        let slots: Vec<(&Key, &Slot)> = listed
            .into_iter()
            .zip(keep)
            .filter_map(|(entry, kept)| kept.then_some(entry))
            .collect();
        if st.added.is_empty() && slots.len() == st.slots.len() {
            return;
        }
        // Written straight from the entries held, never gathered into one buffer
        // first: with the file read, the entries added and a copy of both, saving
        // was the peak of a large `upgrade --all`.
        let written = write_atomic_with(&st.path, |f| {
            f.write_all(&header())?;
            // The entries kept, copied from the old file run by run.
            let mut runs: Vec<(usize, usize)> = Vec::new();
            for (_, slot) in &slots {
                match runs.last_mut() {
                    Some(run) if run.1 == slot.start => run.1 = slot.end,
                    _ => runs.push((slot.start, slot.end)),
                }
            }
            let mut buf = vec![0u8; 1 << 16];
            for (mut at, end) in runs {
                let old = st.file.as_ref().ok_or(std::io::ErrorKind::NotFound)?;
                while at < end {
                    let n = (end - at).min(buf.len());
                    read_at(old, &mut buf[..n], at as u64)?;
                    f.write_all(&buf[..n])?;
                    at += n;
                }
            }
            for (_, entry) in &st.added {
                f.write_all(entry)?;
            }
            Ok(())
        });
        if written.is_ok() {
            // What is on disk now is this process's: a later lookup reads it again
            // (the bytes held until now are let go: a command usually ends here).
            *st = Store {
                path: std::mem::take(&mut st.path),
                secret: st.secret,
                stale: true,
                ..Store::default()
            };
        }
    });
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Write a temporary file beside `path` with `write`, then rename it over `path`.
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().ok_or(std::io::ErrorKind::NotFound)?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp)?);
        write(&mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

mod encoding;
pub use encoding::{
    Reader, decode_values, encode_values, put_bytes, put_len, put_opt, put_str, put_value,
};
use encoding::{decode_chunks, encode};

#[cfg(test)]
mod tests;
