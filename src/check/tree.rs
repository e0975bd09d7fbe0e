//! The files `pctl check` reads: a directory on disk, a Git tree with the changes a
//! command is about to commit laid over it, or an artifact laid out in memory; and
//! `.sourceignore` (what source-controller leaves out of the artifact).
use crate::git::{Changes, Entry, TreeView};
use anyhow::{Context, Result};
use foldhash::{HashMap, HashMapExt as _};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One entry: a file's bytes or a directory's names.
#[derive(Clone)]
pub enum Node {
    File(Rc<Vec<u8>>),
    Dir(Rc<Vec<String>>),
}

/// The fewest of `paths` that cover them all: sorted, without a path that lies below
/// another one (what changes below a directory changes what was read of it).
fn covering(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v.dedup();
    let mut kept: foldhash::HashSet<String> = foldhash::HashSet::default();
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    // Sorted, so a directory comes before everything below it.
    for p in v {
        let covered =
            kept.contains("") || p.match_indices('/').any(|(i, _)| kept.contains(&p[..i]));
        if !covered {
            kept.insert(p.clone());
            out.push(p);
        }
    }
    out
}

/// Where the files come from.
enum Backing<'a> {
    Disk(PathBuf),
    Git {
        view: &'a TreeView,
        changes: Option<&'a Changes>,
    },
    Memory(BTreeMap<String, Vec<u8>>),
}

/// A read-only file tree addressed by normalized relative paths ("" is the root).
pub struct Files<'a> {
    backing: Backing<'a>,
    cache: RefCell<HashMap<String, Option<Node>>>,
    /// The tree written to disk for an external tool (kustomize, helm), made once.
    disk: RefCell<Option<tempfile::TempDir>>,
    /// For a Git tree with changes: every directory holding a changed path (at any
    /// depth), with the names directly in it that the changes write. Made once, so
    /// that reading a directory does not go through every change.
    changed_dirs: RefCell<Option<HashMap<String, BTreeSet<String>>>>,
    /// While a build is logged ([`Files::log_reads`]): every path it asked about,
    /// found or not.
    reads: RefCell<Option<Vec<String>>>,
}

impl<'a> Files<'a> {
    pub fn disk(root: &Path) -> Self {
        Self::with(Backing::Disk(root.to_path_buf()))
    }

    /// The tree of `view` with `changes` applied (None = as it is).
    pub fn git(view: &'a TreeView, changes: Option<&'a Changes>) -> Self {
        Self::with(Backing::Git { view, changes })
    }

    pub fn memory(files: BTreeMap<String, Vec<u8>>) -> Self {
        Self::with(Backing::Memory(files))
    }

    fn with(backing: Backing<'a>) -> Self {
        Files {
            backing,
            cache: RefCell::new(HashMap::new()),
            disk: RefCell::new(None),
            changed_dirs: RefCell::new(None),
            reads: RefCell::new(None),
        }
    }

    /// Log every path asked about from now on, until [`Files::logged_reads`].
    pub fn log_reads(&self) {
        *self.reads.borrow_mut() = Some(Vec::new());
    }

    /// The paths asked about since [`Files::log_reads`], fewest that cover them
    /// ([`covering`]). Stops logging.
    pub fn logged_reads(&self) -> Vec<String> {
        covering(self.reads.borrow_mut().take().unwrap_or_default())
    }

    /// Where the log is now (None when not logging), for [`Files::reads_since`].
    pub fn reads_mark(&self) -> Option<usize> {
        self.reads.borrow().as_ref().map(Vec::len)
    }

    /// The paths asked about since `mark` ([`covering`]); logging goes on.
    pub fn reads_since(&self, mark: usize) -> Vec<String> {
        let log = self.reads.borrow();
        covering(
            log.as_ref()
                .and_then(|l| l.get(mark..))
                .unwrap_or_default()
                .to_vec(),
        )
    }

    /// Log `paths` as asked about (what a reused part of a build read).
    pub fn note_reads(&self, paths: &[String]) {
        if let Some(log) = self.reads.borrow_mut().as_mut() {
            log.extend_from_slice(paths);
        }
    }

    /// Log `rel` as asked about, while a build is logged.
    fn note_read(&self, rel: &str) {
        if let Some(log) = self.reads.borrow_mut().as_mut() {
            log.push(rel.to_string());
        }
    }

    pub fn node(&self, rel: &str) -> Result<Option<Node>> {
        self.note_read(rel);
        if let Some(n) = self.cache.borrow().get(rel) {
            return Ok(n.clone());
        }
        let n = self.load(rel)?;
        self.cache.borrow_mut().insert(rel.to_string(), n.clone());
        Ok(n)
    }

    pub fn read(&self, rel: &str) -> Result<Option<Rc<Vec<u8>>>> {
        Ok(match self.node(rel)? {
            Some(Node::File(b)) => Some(b),
            _ => None,
        })
    }

    /// Whether `rel` is a directory. In a Git tree, a directory no change lies in is
    /// found from the listing above it, without reading its own.
    pub fn is_dir(&self, rel: &str) -> bool {
        if !self.cache.borrow().contains_key(rel)
            && let Backing::Git { view, changes } = &self.backing
        {
            let untouched = changes.is_none_or(|ch| {
                !ch.files.contains_key(rel)
                    && !self
                        .changed_dirs(ch)
                        .as_ref()
                        .is_some_and(|d| d.contains_key(rel))
            });
            if untouched && let Some(is) = view.dir_exists(rel) {
                self.note_read(rel);
                return is;
            }
        }
        matches!(self.node(rel), Ok(Some(Node::Dir(_))))
    }

    pub fn is_file(&self, rel: &str) -> bool {
        matches!(self.node(rel), Ok(Some(Node::File(_))))
    }

    /// The sorted names in a directory (empty when it is not one).
    pub fn list(&self, rel: &str) -> Vec<String> {
        match self.node(rel) {
            Ok(Some(Node::Dir(names))) => {
                let mut v = names.as_ref().clone();
                v.sort();
                v
            }
            _ => Vec::new(),
        }
    }

    /// Every file below `dir` (full relative paths), sorted.
    pub fn files_below(&self, dir: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![(dir.to_string(), 0usize)];
        while let Some((d, depth)) = stack.pop() {
            if depth > 64 {
                continue;
            }
            for name in self.list(&d) {
                let p = join(&d, &name);
                match self.node(&p) {
                    Ok(Some(Node::Dir(_))) if name != ".git" => stack.push((p, depth + 1)),
                    Ok(Some(Node::File(_))) => out.push(p),
                    _ => {}
                }
            }
        }
        out.sort();
        out
    }

    /// A directory on disk holding this tree, for external tools.
    pub fn on_disk(&self) -> Result<PathBuf> {
        if let Backing::Disk(root) = &self.backing {
            return Ok(root.clone());
        }
        if let Some(t) = self.disk.borrow().as_ref() {
            return Ok(t.path().to_path_buf());
        }
        let tmp = tempfile::Builder::new()
            .prefix("pctl-check-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        for rel in self.files_below("") {
            if let Some(bytes) = self.read(&rel)? {
                let p = tmp.path().join(&rel);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(&p, bytes.as_slice())
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
        }
        let path = tmp.path().to_path_buf();
        *self.disk.borrow_mut() = Some(tmp);
        Ok(path)
    }

    fn load(&self, rel: &str) -> Result<Option<Node>> {
        match &self.backing {
            Backing::Disk(root) => {
                let p = if rel.is_empty() {
                    root.clone()
                } else {
                    root.join(rel)
                };
                let Ok(meta) = std::fs::metadata(&p) else {
                    return Ok(None);
                };
                if meta.is_dir() {
                    let mut names = Vec::new();
                    for e in std::fs::read_dir(&p)
                        .with_context(|| format!("cannot list {}", p.display()))?
                    {
                        let name = e?.file_name().to_string_lossy().into_owned();
                        if name != ".git" {
                            names.push(name);
                        }
                    }
                    Ok(Some(Node::Dir(Rc::new(names))))
                } else {
                    let b = std::fs::read(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    Ok(Some(Node::File(Rc::new(b))))
                }
            }
            Backing::Memory(files) => {
                if let Some(b) = files.get(rel) {
                    return Ok(Some(Node::File(Rc::new(b.clone()))));
                }
                let names = children(files.keys().map(String::as_str), rel);
                Ok((!names.is_empty() || rel.is_empty()).then(|| Node::Dir(Rc::new(names))))
            }
            Backing::Git { view, changes } => {
                if let Some(ch) = changes
                    && let Some(v) = ch.files.get(rel)
                {
                    return Ok(v.as_ref().map(|b| Node::File(Rc::new(b.clone()))));
                }
                let base = match view.entry(rel)? {
                    Some(Entry::File(b)) => return Ok(Some(Node::File(Rc::new(b)))),
                    Some(Entry::Dir(names)) => Some(names),
                    _ => None,
                };
                let Some(ch) = changes else {
                    return Ok(base.map(|n| Node::Dir(Rc::new(n))));
                };
                // A directory: its names, plus what the changes add, minus what they
                // delete (a directory left empty is gone, as in Git).
                let changed = self.changed_dirs(ch);
                let mut names: BTreeSet<String> = changed
                    .as_ref()
                    .and_then(|d| d.get(rel))
                    .cloned()
                    .unwrap_or_default();
                for n in base.unwrap_or_default() {
                    let p = join(rel, &n);
                    let alive = match ch.files.get(&p) {
                        Some(None) => false,
                        Some(Some(_)) => true,
                        None => {
                            !changed.as_ref().is_some_and(|d| d.contains_key(&p))
                                || self.has_any_file(&p)?
                        }
                    };
                    if alive {
                        names.insert(n);
                    }
                }
                if names.is_empty() && !rel.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Node::Dir(Rc::new(names.into_iter().collect()))))
            }
        }
    }

    /// [`Files::changed_dirs`] of `changes`, made on first use.
    fn changed_dirs(
        &self,
        changes: &Changes,
    ) -> std::cell::Ref<'_, Option<HashMap<String, BTreeSet<String>>>> {
        if self.changed_dirs.borrow().is_none() {
            let mut dirs: HashMap<String, BTreeSet<String>> = HashMap::new();
            for (path, v) in &changes.files {
                let mut rest = path.as_str();
                while let Some((dir, name)) = rest.rsplit_once('/') {
                    let names = dirs.entry(dir.to_string()).or_default();
                    // A name the changes write (a file, or a directory above one);
                    // a deletion only marks the directories above it as changed.
                    if v.is_some() && !name.is_empty() && !dir.is_empty() {
                        names.insert(name.to_string());
                    }
                    rest = dir;
                }
                let names = dirs.entry(String::new()).or_default();
                if v.is_some()
                    && let Some(first) = path.split('/').next()
                    && !first.is_empty()
                {
                    names.insert(first.to_string());
                }
            }
            *self.changed_dirs.borrow_mut() = Some(dirs);
        }
        self.changed_dirs.borrow()
    }

    fn has_any_file(&self, dir: &str) -> Result<bool> {
        Ok(matches!(self.node(dir)?, Some(Node::Dir(n)) if !n.is_empty()))
    }
}

/// The names directly below `dir` among `paths`.
fn children<'p>(paths: impl Iterator<Item = &'p str>, dir: &str) -> Vec<String> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut out = BTreeSet::new();
    for p in paths {
        if let Some(rest) = p.strip_prefix(&prefix)
            && let Some(first) = rest.split('/').next()
            && !first.is_empty()
        {
            out.insert(first.to_string());
        }
    }
    out.into_iter().collect()
}

/// Whether `path` is `dir` or lies below it ("" is the root, above everything).
pub fn within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
}

pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Normalize `rel` against the directory `base`: None when it leaves the root.
pub fn resolve(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|s| !s.is_empty()).collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            x => parts.push(x),
        }
    }
    Some(parts.join("/"))
}

/// `.sourceignore` rules (gitignore syntax), plus `.git/`, which source-controller
/// always leaves out.
pub struct Ignore {
    rules: Vec<Rule>,
}

struct Rule {
    negated: bool,
    dir_only: bool,
    anchored: bool,
    re: regex::Regex,
}

impl Ignore {
    pub fn parse(text: &str) -> Self {
        let mut rules = Vec::new();
        for line in std::iter::once(".git/").chain(text.lines()) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negated, line) = match line.strip_prefix('!') {
                Some(l) => (true, l),
                None => (false, line),
            };
            let dir_only = line.ends_with('/');
            let pat = line.trim_end_matches('/');
            let anchored = pat.starts_with('/') || pat.contains('/');
            let pat = pat.trim_start_matches('/');
            if let Ok(re) = regex::Regex::new(&glob_regex(pat)) {
                rules.push(Rule {
                    negated,
                    dir_only,
                    anchored,
                    re,
                });
            }
        }
        Ignore { rules }
    }

    fn matches(&self, rel: &str, is_dir: bool) -> bool {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let mut hit = false;
        for r in &self.rules {
            if r.dir_only && !is_dir {
                continue;
            }
            if r.re.is_match(if r.anchored { rel } else { base }) {
                hit = !r.negated;
            }
        }
        hit
    }

    /// Whether the repository path `rel` is left out of the artifact.
    pub fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        let parts: Vec<&str> = rel.split('/').collect();
        for i in 1..parts.len() {
            if self.matches(&parts[..i].join("/"), true) {
                return true;
            }
        }
        self.matches(rel, is_dir)
    }
}

/// A gitignore or copy-rule glob as an anchored regex: `*` and `?` stay inside one
/// path segment, `**` crosses segments.
pub fn glob_regex(pat: &str) -> String {
    let mut out = String::from("^");
    let b: Vec<char> = pat.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '*' && b.get(i + 1) == Some(&'*') {
            if b.get(i + 2) == Some(&'/') {
                out.push_str("(?:.*/)?");
                i += 3;
            } else {
                out.push_str(".*");
                i += 2;
            }
        } else if b[i] == '*' {
            out.push_str("[^/]*");
            i += 1;
        } else if b[i] == '?' {
            out.push_str("[^/]");
            i += 1;
        } else {
            out.push_str(&regex::escape(&b[i].to_string()));
            i += 1;
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sourceignore_follows_gitignore_rules() {
        let ig = Ignore::parse("# comment\n.pctl/\n*.md\n/docs\n!keep.md\nsub/*.txt\n");
        assert!(ig.ignored(".pctl/config.yaml", false));
        assert!(ig.ignored("a/b/README.md", false));
        assert!(!ig.ignored("a/keep.md", false));
        assert!(ig.ignored("docs/x.yaml", false));
        assert!(!ig.ignored("a/docs", true));
        assert!(ig.ignored("sub/a.txt", false));
        assert!(!ig.ignored("sub/x/a.txt", false));
        assert!(ig.ignored(".git/config", false));
        assert!(!ig.ignored("clusters/default/a.yaml", false));
    }

    #[test]
    fn memory_trees_list_directories() {
        let mut m = BTreeMap::new();
        m.insert("a/b/c.yaml".to_string(), b"x".to_vec());
        m.insert("a/d.yaml".to_string(), b"y".to_vec());
        let f = Files::memory(m);
        assert_eq!(f.list("a"), vec!["b".to_string(), "d.yaml".to_string()]);
        assert!(f.is_dir("a/b"));
        assert!(f.is_file("a/b/c.yaml"));
        assert_eq!(f.files_below(""), vec!["a/b/c.yaml", "a/d.yaml"]);
        assert_eq!(resolve("a/b", "../c/./d"), Some("a/c/d".into()));
        assert_eq!(resolve("a", "../../x"), None);
    }
}
