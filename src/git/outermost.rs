//! The outermost files of one name in a view's Git tree (installation records:
//! installations do not nest), found by a walk that reads only the trees it has not
//! seen before: what lies below each tree is memoised by the tree's id in the parse
//! cache's file (docs/architecture.md#finding-installation-records).
use super::parsecache::{self, Reader, put_bytes, put_len};
use super::snapshot::{TreeView, blob_content};
use anyhow::{Result, anyhow};
use git2::{ObjectType, Oid, Repository};

/// One file [`TreeView::outermost`] found: its repository path, the caller's summary
/// of its content, and its blob (for [`TreeView::content_of`]).
#[derive(Debug, Clone)]
pub struct Outermost {
    pub path: String,
    pub summary: Vec<u8>,
    blob: Oid,
}

/// What a caller keeps of each file found: computed from its content alone, since it
/// is memoised with every tree the file is found in.
pub type Summary<'a> = &'a dyn Fn(&[u8]) -> Vec<u8>;

/// The memo kind; the payload starts with its own format's version.
const MEMO_KIND: &str = "outermost";
const VERSION: u8 = 1;

impl TreeView {
    /// Every file named `name` that is not below a directory holding one already, in
    /// path order, with `summary` of its content. `kind` names the summary function
    /// (and its version: a changed function needs a new kind). Below every tree whose
    /// id was walked before (by this process, or by a pctl process of this version
    /// that saved the parse cache), the memo answers without reading the tree: the
    /// cost follows the trees changed since, not the size of the repository.
    pub fn outermost(&self, name: &str, kind: &str, summary: Summary) -> Result<Vec<Outermost>> {
        let Some((repo, tree)) = self.git_tree() else {
            return Ok(Vec::new());
        };
        let walk = Walk {
            repo,
            name,
            kind,
            summary,
        };
        let mut out = Vec::new();
        walk.tree(tree, "", 0, &mut out)?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The content of a file [`TreeView::outermost`] found in this view.
    pub fn content_of(&self, found: &Outermost) -> Result<Vec<u8>> {
        let (repo, _) = self
            .git_tree()
            .ok_or_else(|| anyhow!("{}: not in a Git tree", found.path))?;
        blob_content(repo, found.blob)
    }
}

struct Walk<'a> {
    repo: &'a Repository,
    name: &'a str,
    kind: &'a str,
    summary: Summary<'a>,
}

/// How many memo references ([`Memo::Child`]) one walk follows in a row before it
/// reads the tree instead (a real chain is as long as the tree is deep).
const MAX_HOPS: usize = 1024;

impl Walk<'_> {
    /// The files below tree `id` (at `prefix`, "" or ending in '/') into `out`: from
    /// its memo, else by reading the tree, each subtree asked the same way. `hops`
    /// counts the memo references followed to get here.
    fn tree(&self, id: Oid, prefix: &str, hops: usize, out: &mut Vec<Outermost>) -> Result<()> {
        let key = parsecache::memo_key(
            MEMO_KIND,
            &[id.as_bytes(), self.name.as_bytes(), self.kind.as_bytes()],
        );
        match parsecache::memo_get(&key).and_then(|p| decode(&p, prefix, self.name)) {
            Some(Memo::Files(found)) => {
                out.extend(found);
                return Ok(());
            }
            Some(Memo::Child(dir, child)) if hops < MAX_HOPS && child != id => {
                return self.tree(child, &format!("{prefix}{dir}/"), hops + 1, out);
            }
            _ => {}
        }
        let start = out.len();
        let tree = self.repo.find_tree(id)?;
        // The subtrees that held files, while there is at most one.
        let mut holding: Vec<(String, Oid)> = Vec::new();
        if let Some(e) = tree.get_name(self.name)
            && e.kind() == Some(ObjectType::Blob)
        {
            let content = blob_content(self.repo, e.id())?;
            out.push(Outermost {
                path: format!("{prefix}{}", self.name),
                summary: (self.summary)(&content),
                blob: e.id(),
            });
        } else {
            for e in tree.iter() {
                if e.kind() == Some(ObjectType::Tree) {
                    let dir = String::from_utf8_lossy(e.name_bytes()).into_owned();
                    let before = out.len();
                    self.tree(e.id(), &format!("{prefix}{dir}/"), hops, out)?;
                    if out.len() > before && holding.len() < 2 {
                        holding.push((dir, e.id()));
                    }
                }
            }
        }
        // All the files in one subtree: that subtree's memo answers (a directory on
        // the way to many installations then costs a few bytes, not a copy of the
        // list, each time it changes).
        let payload = match holding.as_slice() {
            [(dir, child)] if !dir.is_empty() && !dir.contains('/') => encode_child(dir, *child),
            _ => encode(&out[start..], prefix.len(), self.name.len()),
        };
        parsecache::memo_put(&key, &payload);
        Ok(())
    }
}

/// What a memo says lies below a tree.
enum Memo {
    /// These files.
    Files(Vec<Outermost>),
    /// Whatever lies below this subtree (its name and id): no file is elsewhere.
    Child(String, Oid),
}

// ------------------------------------------------------------------ the payload
//
// VERSION, then FILES and the count, then for each file in walk order: its directory
// relative to the tree ("" or ending in '/') as the length it shares with the previous
// one's and the bytes after that, its blob id (20 bytes), and its summary (length and
// bytes); or CHILD, the subtree's name (length and bytes) and its tree id (20 bytes).
// Lengths are LEB128.

const FILES: u8 = 0;
const CHILD: u8 = 1;

fn encode(found: &[Outermost], prefix: usize, name: usize) -> Vec<u8> {
    let mut out = vec![VERSION, FILES];
    put_len(&mut out, found.len());
    let mut prev: &[u8] = &[];
    for f in found {
        let path = f.path.as_bytes();
        let dir = path.get(prefix..path.len() - name).unwrap_or_default();
        let shared = prev.iter().zip(dir).take_while(|(a, b)| a == b).count();
        put_len(&mut out, shared);
        put_len(&mut out, dir.len() - shared);
        out.extend_from_slice(&dir[shared..]);
        out.extend_from_slice(f.blob.as_bytes());
        put_bytes(&mut out, &f.summary);
        prev = dir;
    }
    out
}

fn encode_child(dir: &str, child: Oid) -> Vec<u8> {
    let mut out = vec![VERSION, CHILD];
    put_bytes(&mut out, dir.as_bytes());
    out.extend_from_slice(child.as_bytes());
    out
}

/// What a memo payload says of the tree at `prefix`; None when the payload is not
/// exactly what [`encode`] or [`encode_child`] writes in this version.
fn decode(payload: &[u8], prefix: &str, name: &str) -> Option<Memo> {
    let mut r = Reader::new(payload);
    if r.byte()? != VERSION {
        return None;
    }
    let memo = match r.byte()? {
        FILES => Memo::Files(files(&mut r, prefix, name)?),
        CHILD => {
            let dir = r.str()?;
            if dir.is_empty() || dir.contains('/') {
                return None;
            }
            Memo::Child(dir.to_string(), Oid::from_bytes(r.take(20)?).ok()?)
        }
        _ => return None,
    };
    r.end()?;
    Some(memo)
}

fn files(r: &mut Reader, prefix: &str, name: &str) -> Option<Vec<Outermost>> {
    let count = r.count()?;
    let mut out = Vec::with_capacity(count);
    let mut dir: Vec<u8> = Vec::new();
    for _ in 0..count {
        let shared = r.count()?;
        if shared > dir.len() {
            return None;
        }
        dir.truncate(shared);
        let n = r.count()?;
        dir.extend_from_slice(r.take(n)?);
        if !(dir.is_empty() || dir.ends_with(b"/")) {
            return None;
        }
        let blob = Oid::from_bytes(r.take(20)?).ok()?;
        let summary = r.bytes()?.to_vec();
        let text = std::str::from_utf8(&dir).ok()?;
        out.push(Outermost {
            path: format!("{prefix}{text}{name}"),
            summary,
            blob,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests;
