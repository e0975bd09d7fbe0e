//! File trees: walking, copying and comparing directories; hashes.
use super::*;

// ---------------------------------------------------------------------------
// File trees
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File { data: Vec<u8>, exec: bool },
    Symlink(String),
    Dir,
}

/// Every entry below `root` (not following symlinks), keyed by the
/// `/`-separated relative path, skipping a top-level `.git`.
pub fn walk(root: &Path) -> BTreeMap<String, Entry> {
    fn rec(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        let mut entries: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.map(|e| e.unwrap()).collect(),
            Err(_) => return,
        };
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == ".git" {
                continue;
            }
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, Entry::Symlink(t.to_string_lossy().into_owned()));
            } else if md.is_dir() {
                out.insert(rel, Entry::Dir);
                rec(root, &p, out);
            } else {
                let data = std::fs::read(&p).unwrap();
                out.insert(
                    rel,
                    Entry::File {
                        data,
                        exec: md.permissions().mode() & 0o111 != 0,
                    },
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    rec(root, root, &mut out);
    out
}

/// The files (only regular files) below `root`, skipping `.git`.
pub fn tree_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(root)
        .into_iter()
        .filter_map(|(k, v)| match v {
            Entry::File { data, .. } => Some((k, data)),
            _ => None,
        })
        .collect()
}

/// Copies `src` over `dest` (files overwrite, directories merge), keeping the
/// executable bit; symlinks are copied as symlinks. Skips a top-level `.git`.
pub fn copy_tree(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for (rel, entry) in walk(src) {
        let p = dest.join(&rel);
        match entry {
            Entry::Dir => std::fs::create_dir_all(&p).unwrap(),
            Entry::File { data, exec } => {
                if p.is_symlink() {
                    std::fs::remove_file(&p).unwrap();
                }
                std::fs::write(&p, data).unwrap();
                let mode = if exec { 0o755 } else { 0o644 };
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            Entry::Symlink(t) => {
                let _ = std::fs::remove_file(&p);
                std::os::unix::fs::symlink(t, &p).unwrap();
            }
        }
    }
}

/// Paths where two trees differ (added, removed or changed), for messages.
pub fn tree_diff(a: &Path, b: &Path) -> Vec<String> {
    let (wa, wb) = (walk(a), walk(b));
    let mut out = Vec::new();
    for (k, v) in &wa {
        match wb.get(k) {
            None => out.push(format!("only in {}: {k}", a.display())),
            Some(w) if w != v => out.push(format!("differs: {k}")),
            _ => {}
        }
    }
    for k in wb.keys() {
        if !wa.contains_key(k) {
            out.push(format!("only in {}: {k}", b.display()));
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
