//! The Git index (`.git/index`) read and written by pctl itself, for versions 2 and 3:
//! entries kept as the file's bytes, found by binary search, the entries a change
//! writes spliced in, the cache tree (`TREE`) invalidated along the changed paths
//! (copied as bytes elsewhere), racily clean entries smudged as git does, and the
//! result written through `index.lock` with its SHA-1 trailer (zeros under git's
//! `index.skipHash`). A split index (`index/split.rs`) is read with
//! its shared index and written whole. Anything else (version 4, a sparse index, an
//! unknown required extension, no index) is read as `None`: the callers then use
//! libgit2, which reads and writes every entry.
use anyhow::{Context, Result, anyhow};
use sha1::{Digest, Sha1};
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

const HEADER: usize = 12;
const HASH: usize = 20;
/// Bytes of an entry before its extended flags (version 3) or its path.
const FIXED: usize = 62;
/// Flags of an entry: assume-valid, extended (version 3), stage, name length.
const ASSUME_VALID: u16 = 0x8000;
const EXTENDED: u16 = 0x4000;
const NAME_MASK: u16 = 0x0fff;
/// Deeper cache trees are not read (git's paths are at most 4,096 bytes).
const MAX_TREE_DEPTH: usize = 2048;

/// An index file as read: its bytes, where each entry starts, its cache tree.
pub(super) struct Index {
    bytes: Vec<u8>,
    version: u32,
    entries: Vec<usize>,
    /// Where the entries end (the extensions or the trailer start).
    entries_end: usize,
    tree: Option<CacheTree>,
    /// The whole `REUC` extension (resolve-undo), kept as it is.
    reuc: Option<Range<usize>>,
    /// The file's modification time when read (seconds, nanoseconds): entries
    /// modified in the same second or later are racily clean.
    mtime: (u32, u32),
}

/// One entry's stat data, as the index stores it (each field cut to 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stat {
    pub ctime: (u32, u32),
    pub mtime: (u32, u32),
    pub dev: u32,
    pub ino: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u32,
}

impl Stat {
    /// The stat data of a file as the index records it.
    #[cfg(unix)]
    pub fn of(meta: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        Stat {
            ctime: (meta.ctime() as u32, meta.ctime_nsec() as u32),
            mtime: (meta.mtime() as u32, meta.mtime_nsec() as u32),
            dev: meta.dev() as u32,
            ino: meta.ino() as u32,
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.size() as u32,
        }
    }
}

/// The cache tree (`TREE`): the extension's bytes (a range of the index file) with the
/// header of every node in git's order (a directory, then its subdirectories), so that
/// a directory's tree id is found and the extension is written again without building
/// a tree of nodes: a large repository has thousands of directories, and a change
/// touches few of them.
#[derive(Debug, Clone, PartialEq)]
struct CacheTree {
    data: Range<usize>,
    nodes: Vec<TreeNode>,
}

/// One node of the cache tree: a directory's tree id while it is valid (`count` ≥ 0
/// entries below it), read from the index file's bytes.
#[derive(Debug, Clone, PartialEq)]
struct TreeNode {
    /// Where its name, and its whole subtree, lie in the file.
    name: Range<usize>,
    bytes: Range<usize>,
    count: i64,
    /// Where its tree id lies, while valid.
    oid: Option<usize>,
    subtrees: usize,
    /// The node after its subtree (its next sibling, when it has one).
    next: usize,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// What identifies one version of the index file, as libgit2 tells whether to read it
/// again: its path, size, and device, inode and modification time (to the
/// nanosecond). Not its change time: the journal's hard link to it changes that.
type Stamp = (PathBuf, u64, Option<(u32, u32, (u32, u32))>);

thread_local! {
    /// The index this process read last (the check before a write reads it, the
    /// write reads it again under `index.lock`), while the file is unchanged.
    static LAST: std::cell::RefCell<Option<(Stamp, Rc<Index>)>> =
        const { std::cell::RefCell::new(None) };
}

fn stamp(path: &Path, meta: &std::fs::Metadata) -> Stamp {
    #[cfg(unix)]
    let stat = {
        let s = Stat::of(meta);
        Some((s.dev, s.ino, s.mtime))
    };
    #[cfg(not(unix))]
    let stat = None;
    (path.to_path_buf(), meta.len(), stat)
}

/// The index of the repository at `git_dir`, or None when there is none or it is one
/// pctl does not read itself.
pub(super) fn read(git_dir: &Path) -> Result<Option<Rc<Index>>> {
    let path = git_dir.join("index");
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
    };
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let stamp = stamp(&path, &meta);
    let known = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(s, _)| stamp.2.is_some() && *s == stamp)
            .map(|(_, i)| i.clone())
    });
    if let Some(index) = known {
        return Ok(Some(index));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    std::io::Read::read_to_end(&mut file, &mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mtime = stamp.2.map_or((u32::MAX, u32::MAX), |s| s.2);
    // A split index (which a plain reading refuses: its `link` extension is required)
    // is read whole, its shared index merged in, and written whole.
    let index = match parse_or_return(bytes, mtime) {
        Ok(index) => Some(index),
        Err(bytes) => split::unsplit(git_dir, &bytes).and_then(|whole| parse(whole, mtime)),
    }
    .map(Rc::new);
    LAST.with(|l| *l.borrow_mut() = index.clone().map(|i| (stamp, i)));
    Ok(index)
}

/// Forget the index read last (it was just replaced).
fn forget_last() {
    LAST.with(|l| *l.borrow_mut() = None);
}

/// Parse an index file; None for a version, an extension or a layout pctl leaves to
/// libgit2 (which also reports a damaged file).
fn parse(bytes: Vec<u8>, mtime: (u32, u32)) -> Option<Index> {
    parse_or_return(bytes, mtime).ok()
}

/// [`parse`], giving the bytes back when it cannot read them (a split index, among
/// others, which the caller then reads whole).
fn parse_or_return(bytes: Vec<u8>, mtime: (u32, u32)) -> Result<Index, Vec<u8>> {
    let layout = (|| {
        if bytes.len() < HEADER + HASH || &bytes[..4] != b"DIRC" {
            return None;
        }
        let version = be32(&bytes, 4);
        if version != 2 && version != 3 {
            return None;
        }
        let (entries, off) = walk_entries(&bytes, version, bytes.len() - HASH, true)?;
        Some((version, entries, off))
    })();
    let Some((version, entries, off)) = layout else {
        return Err(bytes);
    };
    let mut index = Index {
        bytes,
        version,
        entries,
        entries_end: off,
        tree: None,
        reuc: None,
        mtime,
    };
    match extensions(&mut index) {
        Some(()) => Ok(index),
        None => Err(index.bytes),
    }
}

/// Read the extensions after the entries of `index`: the cache tree and the
/// resolve-undo data kept, optional ones dropped; None for a required one.
fn extensions(index: &mut Index) -> Option<()> {
    let end = index.bytes.len() - HASH;
    let mut off = index.entries_end;
    while off < end {
        if off + 8 > end {
            return None;
        }
        let size = be32(&index.bytes, off + 4) as usize;
        let data = off + 8..(off + 8).checked_add(size).filter(|&e| e <= end)?;
        match &index.bytes[off..off + 4] {
            b"TREE" => index.tree = Some(parse_tree(&index.bytes, data.clone())?),
            b"REUC" => index.reuc = Some(off..data.end),
            // Optional extensions (untracked cache, fsmonitor, offset tables) are
            // dropped, as libgit2 drops them: git rebuilds what it wants.
            sig if sig[0].is_ascii_uppercase() => {}
            // `link` (split index), `sdir` (sparse index) and unknown ones are required.
            _ => return None,
        }
        off = data.end;
    }
    Some(())
}

/// Where each entry of an index file of `version` starts, and where they end; None
/// when they run past `end` (the trailer), or, when `ordered`, are not in git's order
/// (by path, then stage), which binary searches need (a split index's own entries are
/// not: those replacing a shared entry come first, without their names).
fn walk_entries(
    bytes: &[u8],
    version: u32,
    end: usize,
    ordered: bool,
) -> Option<(Vec<usize>, usize)> {
    let count = be32(bytes, 8) as usize;
    let mut entries = Vec::with_capacity(count.min(end / FIXED));
    let mut off = HEADER;
    let mut prev: Option<(&[u8], u16)> = None;
    for _ in 0..count {
        if off + FIXED > end {
            return None;
        }
        let flags = be16(bytes, off + 60);
        let extended = flags & EXTENDED != 0;
        if extended && version < 3 {
            return None;
        }
        let name = off + FIXED + if extended { 2 } else { 0 };
        let len = (flags & NAME_MASK) as usize;
        let name_end = if len < NAME_MASK as usize {
            name + len
        } else {
            name + len + bytes.get(name + len..end)?.iter().position(|&b| b == 0)?
        };
        let next = off + ((name_end - off + 8) & !7);
        if next > end || bytes[name_end] != 0 {
            return None;
        }
        // Binary searches need git's order: by path, then stage.
        let stage = (flags >> 12) & 3;
        if let Some((path, st)) = prev.as_ref().filter(|_| ordered) {
            let here = &bytes[name..name_end];
            if *path > here || (*path == here && *st >= stage) {
                return None;
            }
        }
        prev = Some((&bytes[name..name_end], stage));
        entries.push(off);
        off = next;
    }
    Some((entries, off))
}

/// The `TREE` extension at `data` in `bytes`; None when it is damaged.
fn parse_tree(bytes: &[u8], data: Range<usize>) -> Option<CacheTree> {
    let mut nodes = Vec::new();
    let mut at = data.start;
    parse_node(&bytes[..data.end], &mut at, 0, &mut nodes)?;
    (at == data.end && nodes[0].name.is_empty()).then_some(CacheTree { data, nodes })
}

/// Read the node at `at` and its subtree into `nodes`.
fn parse_node(bytes: &[u8], at: &mut usize, depth: usize, nodes: &mut Vec<TreeNode>) -> Option<()> {
    if depth > MAX_TREE_DEPTH {
        return None;
    }
    let start = *at;
    let nul = start + memchr::memchr(0, bytes.get(start..)?)?;
    let nl = nul + 1 + memchr::memchr(b'\n', bytes.get(nul + 1..)?)?;
    let line = std::str::from_utf8(&bytes[nul + 1..nl]).ok()?;
    let (count, subtrees) = line.split_once(' ')?;
    let count: i64 = count.parse().ok()?;
    let subtrees: usize = subtrees.parse().ok()?;
    *at = nl + 1;
    let oid = if count >= 0 {
        bytes.get(*at..*at + HASH)?;
        *at += HASH;
        Some(*at - HASH)
    } else {
        None
    };
    let me = nodes.len();
    nodes.push(TreeNode {
        name: start..nul,
        bytes: start..start,
        count,
        oid,
        subtrees,
        next: me + 1,
    });
    for _ in 0..subtrees {
        parse_node(bytes, at, depth + 1, nodes)?;
    }
    nodes[me].bytes.end = *at;
    nodes[me].next = nodes.len();
    Some(())
}

impl CacheTree {
    /// The subdirectories of node `i`, in order.
    fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let mut c = i + 1;
        (0..self.nodes[i].subtrees).map(move |_| {
            let at = c;
            c = self.nodes[at].next;
            at
        })
    }

    /// Write the extension's data again with `paths` (sorted) changed, as git does:
    /// every node on the way to a changed path is invalid, and a directory with a
    /// changed path's own name is no longer cached; everything else is copied as it was.
    fn write_changed<'p>(
        &self,
        bytes: &[u8],
        paths: impl Iterator<Item = &'p [u8]>,
        out: &mut Vec<u8>,
    ) {
        let paths: Vec<&[u8]> = paths.collect();
        debug_assert!(paths.is_sorted());
        self.write_node(bytes, 0, &paths, out);
    }

    /// Node `i` with `paths` (sorted, relative to it) changed. Each subdirectory finds
    /// its own paths by binary search: a directory can hold thousands of subdirectories
    /// and a change thousands of paths.
    fn write_node(&self, bytes: &[u8], i: usize, paths: &[&[u8]], out: &mut Vec<u8>) {
        let node = &self.nodes[i];
        if paths.is_empty() {
            out.extend_from_slice(&bytes[node.bytes.clone()]);
            return;
        }
        let name = |c: usize| &bytes[self.nodes[c].name.clone()];
        // The paths below `name/`, which sort together.
        let below = |name: &[u8]| {
            let mut prefix = name.to_vec();
            prefix.push(b'/');
            let lo = paths.partition_point(|p| *p < prefix.as_slice());
            lo..lo + paths[lo..].partition_point(|p| p.starts_with(&prefix))
        };
        let kept: Vec<usize> = self
            .children(i)
            .filter(|&c| paths.binary_search(&name(c)).is_err())
            .collect();
        out.extend_from_slice(&bytes[node.name.clone()]);
        out.push(0);
        out.extend_from_slice(format!("-1 {}\n", kept.len()).as_bytes());
        for c in kept {
            let n = name(c);
            let rel: Vec<&[u8]> = paths[below(n)].iter().map(|p| &p[n.len() + 1..]).collect();
            self.write_node(bytes, c, &rel, out);
        }
    }
}

impl Index {
    fn name_start(&self, off: usize) -> usize {
        off + FIXED
            + if be16(&self.bytes, off + 60) & EXTENDED != 0 {
                2
            } else {
                0
            }
    }

    fn path_at(&self, off: usize) -> &[u8] {
        let start = self.name_start(off);
        let len = (be16(&self.bytes, off + 60) & NAME_MASK) as usize;
        if len < NAME_MASK as usize {
            &self.bytes[start..start + len]
        } else {
            let rest = &self.bytes[start..];
            &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
        }
    }

    fn stage_at(&self, off: usize) -> u16 {
        (be16(&self.bytes, off + 60) >> 12) & 3
    }

    /// How many entries the index has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The path of entry `i`.
    pub fn path(&self, i: usize) -> &[u8] {
        self.path_at(self.entries[i])
    }

    /// The merge stage of entry `i` (0 unless it is a conflict).
    pub fn stage(&self, i: usize) -> u16 {
        self.stage_at(self.entries[i])
    }

    /// Whether entry `i` has flags that change how its work tree file is compared
    /// (assume-valid; skip-worktree or intent-to-add in version 3).
    pub fn special(&self, i: usize) -> bool {
        be16(&self.bytes, self.entries[i] + 60) & (ASSUME_VALID | EXTENDED) != 0
    }

    /// The file mode of entry `i` (`0o100644`, `0o100755`, `0o120000`, `0o160000`).
    pub fn mode(&self, i: usize) -> u32 {
        be32(&self.bytes, self.entries[i] + 24)
    }

    /// The object id of entry `i`.
    pub fn oid(&self, i: usize) -> &[u8] {
        let off = self.entries[i] + 40;
        &self.bytes[off..off + HASH]
    }

    /// The stat data of entry `i`.
    pub fn stat(&self, i: usize) -> Stat {
        let (b, o) = (&self.bytes, self.entries[i]);
        Stat {
            ctime: (be32(b, o), be32(b, o + 4)),
            mtime: (be32(b, o + 8), be32(b, o + 12)),
            dev: be32(b, o + 16),
            ino: be32(b, o + 20),
            uid: be32(b, o + 28),
            gid: be32(b, o + 32),
            size: be32(b, o + 36),
        }
    }

    /// Whether entry `i` is racily clean: its file was modified in the second the
    /// index was written or later, so equal stat data does not prove equal content.
    /// (Whole seconds, as git without nanosecond stat data compares: the wider test.)
    pub fn racy(&self, i: usize) -> bool {
        be32(&self.bytes, self.entries[i] + 8) >= self.mtime.0
    }

    /// The first entry whose path is not below `key` in git's order.
    fn lower_bound(&self, key: &[u8]) -> usize {
        self.entries.partition_point(|&o| self.path_at(o) < key)
    }

    /// The entries whose path is `path` (one per stage).
    pub fn at(&self, path: &str) -> Range<usize> {
        let lo = self.lower_bound(path.as_bytes());
        let mut hi = lo;
        while hi < self.len() && self.path(hi) == path.as_bytes() {
            hi += 1;
        }
        lo..hi
    }

    /// The entries below the directory `dir` (paths starting with `dir/`).
    pub fn below(&self, dir: &str) -> Range<usize> {
        let mut key = dir.as_bytes().to_vec();
        key.push(b'/');
        let lo = self.lower_bound(&key);
        // '0' is the byte after '/': the first path past every `dir/…`.
        *key.last_mut().unwrap_or(&mut 0) = b'0';
        lo..self.lower_bound(&key).max(lo)
    }

    /// The tree id the cache tree holds for the directory `dir`, while valid and
    /// covering `entries` entries.
    pub fn cached_tree(&self, dir: &str, entries: usize) -> Option<&[u8]> {
        let tree = self.tree.as_ref()?;
        let mut i = 0;
        for part in dir.split('/') {
            i = tree
                .children(i)
                .find(|&c| &self.bytes[tree.nodes[c].name.clone()] == part.as_bytes())?;
        }
        let node = &tree.nodes[i];
        let oid = node.oid?;
        (node.count >= 0 && node.count as usize == entries).then(|| &self.bytes[oid..oid + HASH])
    }
}

/// Whether `content` is the blob `oid` names (git2's blob hashing; only racily clean or
/// restated entries are hashed).
pub(super) fn is_blob(content: &[u8], oid: &[u8]) -> bool {
    git2::Oid::hash_object(git2::ObjectType::Blob, content).is_ok_and(|id| id.as_bytes() == oid)
}

/// Whether the file of entry `i` holds other content than its blob, for a racily
/// clean entry (the file as is: a symbolic link's target, a regular file's bytes).
fn content_differs(index: &Index, i: usize, full: &Path, meta: &std::fs::Metadata) -> bool {
    let content = if meta.file_type().is_symlink() {
        match std::fs::read_link(full) {
            Ok(t) => t.into_os_string().into_encoded_bytes(),
            Err(_) => return true,
        }
    } else {
        match std::fs::read(full) {
            Ok(b) => b,
            Err(_) => return true,
        }
    };
    !is_blob(&content, index.oid(i))
}

/// `index.lock`, created exclusively as git does; removed on drop unless renamed
/// into place.
struct LockFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl LockFile {
    fn create(git_dir: &Path) -> Result<LockFile> {
        let path = git_dir.join("index.lock");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => Ok(LockFile {
                path,
                file: Some(file),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(crate::error::user(
                format!(
                    "cannot write the index: {} exists (another Git process is running, or one was killed)",
                    path.display()
                ),
                "wait for the other Git command to finish, or remove the file if none is running",
            )),
            Err(e) => Err(anyhow!(e).context(format!("cannot create {}", path.display()))),
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// An index update in progress: `index.lock` is held from [`Staging::start`] until
/// [`Staging::commit`] renames it into place (or it is dropped and removed).
pub(super) struct Staging {
    lock: LockFile,
    git_dir: PathBuf,
    index: Rc<Index>,
    /// Path → new entry bytes (None: the entry is removed).
    updates: BTreeMap<String, Option<Vec<u8>>>,
    /// Write zeros for the trailer, not the SHA-1 of the file (git's `index.skipHash`).
    skip_hash: bool,
}

/// Whether the index of `repo` is written without its trailing SHA-1, as git writes
/// it (since 2.40): `index.skipHash`, which `feature.manyFiles` turns on when it is not
/// set itself. Every Git since 2.13, and libgit2, read such an index.
pub(super) fn skips_hash(repo: &git2::Repository) -> bool {
    let Ok(config) = repo.config() else {
        return false;
    };
    config
        .get_bool("index.skipHash")
        .or_else(|_| config.get_bool("feature.manyFiles"))
        .unwrap_or(false)
}

impl Staging {
    /// Lock and read the index to write `paths`, or None (nothing locked) when the
    /// index or the paths are beyond what pctl writes itself: no index, a format
    /// [`read`] leaves to libgit2, a conflict at a path, or a file that would
    /// replace a directory or sit below a file.
    /// With `skip_hash` ([`skips_hash`]) the trailer is written as zeros.
    pub fn start(
        git_dir: &Path,
        paths: &BTreeMap<String, Option<Vec<u8>>>,
        skip_hash: bool,
    ) -> Result<Option<Self>> {
        if cfg!(not(unix)) {
            return Ok(None);
        }
        let lock = LockFile::create(git_dir)?;
        let Some(index) = read(git_dir)? else {
            return Ok(None);
        };
        let mut parents = std::collections::BTreeSet::new();
        for (path, content) in paths {
            if path.is_empty() || index.at(path).any(|i| index.stage(i) != 0) {
                return Ok(None);
            }
            if content.is_some() {
                if !index.below(path).is_empty() {
                    return Ok(None);
                }
                let mut parent = Path::new(path).parent();
                while let Some(p) = parent.and_then(Path::to_str).filter(|p| !p.is_empty()) {
                    if !parents.insert(p) {
                        break;
                    }
                    parent = Path::new(p).parent();
                }
            }
        }
        // No file where a written file needs a directory (unless it goes too).
        for p in parents {
            if !matches!(paths.get(p), Some(None)) && !index.at(p).is_empty() {
                return Ok(None);
            }
        }
        Ok(Some(Staging {
            lock,
            git_dir: git_dir.to_path_buf(),
            index,
            updates: BTreeMap::new(),
            skip_hash,
        }))
    }

    /// Stage `path` (just written in the work tree at `full`) as the regular file
    /// with blob `oid`, with the file's stat data.
    pub fn stage(&mut self, full: &Path, path: &str, oid: &[u8]) -> Result<()> {
        let meta = std::fs::symlink_metadata(full)
            .with_context(|| format!("cannot read {}", full.display()))?;
        #[cfg(unix)]
        let stat = Stat::of(&meta);
        #[cfg(not(unix))]
        let stat = {
            let _ = meta;
            return Err(anyhow!("no index entry without unix stat data"));
        };
        let name = path.as_bytes();
        let mut e = Vec::with_capacity(FIXED + name.len() + 8);
        for v in [
            stat.ctime.0,
            stat.ctime.1,
            stat.mtime.0,
            stat.mtime.1,
            stat.dev,
            stat.ino,
            0o100644,
            stat.uid,
            stat.gid,
            stat.size,
        ] {
            e.extend_from_slice(&v.to_be_bytes());
        }
        e.extend_from_slice(oid);
        e.extend_from_slice(&(name.len().min(NAME_MASK as usize) as u16).to_be_bytes());
        e.extend_from_slice(name);
        let padded = (FIXED + name.len() + 8) & !7;
        e.resize(padded, 0);
        self.updates.insert(path.to_string(), Some(e));
        Ok(())
    }

    /// Drop the entry of `path`.
    pub fn remove(&mut self, path: &str) {
        self.updates.insert(path.to_string(), None);
    }

    /// Write the index with the updates (other entries as they were, racily clean
    /// ones whose file changed smudged) into `index.lock` and rename it into place.
    pub fn commit(mut self, root: &Path) -> Result<()> {
        let index = &self.index;
        let mut out = Vec::with_capacity(index.bytes.len() + 4096);
        out.extend_from_slice(b"DIRC");
        out.extend_from_slice(&index.version.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        let mut count: u32 = 0;
        let mut ups = self.updates.iter().peekable();
        // Untouched entries are copied in runs, from `run` to the next change.
        let mut run: Option<usize> = None;
        let bytes = &index.bytes;
        let flush = |out: &mut Vec<u8>, run: &mut Option<usize>, to: usize| {
            if let Some(from) = run.take() {
                out.extend_from_slice(&bytes[from..to]);
            }
        };
        let add = |out: &mut Vec<u8>, count: &mut u32, e: &Option<Vec<u8>>| {
            if let Some(e) = e {
                out.extend_from_slice(e);
                *count += 1;
            }
        };
        let n = index.len();
        let mut i = 0;
        while i < n {
            let off = index.entries[i];
            let path = index.path(i);
            // Updates sorting before this entry are new paths.
            while let Some((_, e)) = ups.next_if(|(p, _)| p.as_bytes() < path) {
                flush(&mut out, &mut run, off);
                add(&mut out, &mut count, e);
            }
            if let Some((_, e)) = ups.next_if(|(p, _)| p.as_bytes() == path) {
                flush(&mut out, &mut run, off);
                add(&mut out, &mut count, e);
                i += 1;
                while i < n && index.path(i) == path {
                    i += 1;
                }
                continue;
            }
            count += 1;
            if index.racy(i) && smudge(index, i, root) {
                flush(&mut out, &mut run, off);
                let at = out.len();
                let next = index
                    .entries
                    .get(i + 1)
                    .copied()
                    .unwrap_or(index.entries_end);
                out.extend_from_slice(&bytes[off..next]);
                out[at + 36..at + 40].copy_from_slice(&[0; 4]);
            } else if run.is_none() {
                run = Some(off);
            }
            i += 1;
        }
        flush(&mut out, &mut run, index.entries_end);
        for (_, e) in ups {
            add(&mut out, &mut count, e);
        }
        out[8..12].copy_from_slice(&count.to_be_bytes());
        if let Some(tree) = &index.tree {
            let mut data = Vec::new();
            tree.write_changed(bytes, self.updates.keys().map(|p| p.as_bytes()), &mut data);
            out.extend_from_slice(b"TREE");
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(&data);
        }
        if let Some(r) = &index.reuc {
            out.extend_from_slice(&bytes[r.clone()]);
        }
        let sum: [u8; HASH] = if self.skip_hash {
            [0; HASH]
        } else {
            Sha1::digest(&out).into()
        };
        out.extend_from_slice(&sum);
        let target = self.git_dir.join("index");
        let lock_path = self.lock.path.clone();
        let written = self
            .lock
            .file
            .as_mut()
            .ok_or_else(|| anyhow!("index.lock already closed"))
            .and_then(|f| Ok(f.write_all(&out)?))
            .with_context(|| format!("cannot write {}", lock_path.display()))
            .map_err(super::journal::full_hint);
        written?;
        // Closed before the rename; from here on the lock is the index.
        self.lock.file = None;
        forget_last();
        std::fs::rename(&lock_path, &target).map_err(|e| {
            let _ = std::fs::remove_file(&lock_path);
            anyhow!(e).context(format!("cannot write {}", target.display()))
        })
    }
}

/// Whether a racily clean entry must be smudged before the index is written anew
/// (git's `ce_smudge_racily_clean_entry`): its stat data still matches the file, so
/// only its content tells, and that content is no longer the entry's blob. Once the
/// index is newer than the file, equal stat data would pass for equal content; with
/// the size set to 0, git compares the content instead.
fn smudge(index: &Index, i: usize, root: &Path) -> bool {
    if index.mode(i) == 0o160000 {
        return false;
    }
    let Ok(path) = std::str::from_utf8(index.path(i)) else {
        return false;
    };
    let full = root.join(path);
    let Ok(meta) = std::fs::symlink_metadata(&full) else {
        return false;
    };
    let st = index.stat(i);
    // A size or a second that differs already shows the change (git's minimal
    // `core.checkStat` compares no less).
    #[cfg(unix)]
    let same = {
        let now = Stat::of(&meta);
        now.size == st.size && now.mtime.0 == st.mtime.0
    };
    #[cfg(not(unix))]
    let same = true;
    same && content_differs(index, i, &full, &meta)
}

mod split;
#[cfg(test)]
mod tests;
