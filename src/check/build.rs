//! Building one path as kustomize-controller does: a `kustomization.yaml` that only
//! lists `resources` is evaluated here; one that needs more goes to `kubectl
//! kustomize` or `kustomize build`; a directory without one is generated (every YAML
//! file below it, stopping at subdirectories with their own kustomization). Also
//! `targetNamespace`, applied as kustomize's namespace transformer does.
use super::tree::{Files, Ignore, join, resolve};
use crate::yaml::Value;
use std::path::PathBuf;

pub const KUSTOMIZATION_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One object with where it was read: the file (as shown) and the line its document
/// starts on.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Shared with the parse cache; written through `Rc::make_mut` (copied only then).
    pub value: std::rc::Rc<Value>,
    pub file: String,
    pub line: usize,
    /// The text of its document, to find a field's line.
    pub text: Option<std::rc::Rc<str>>,
    /// Which document it is, as read: the parse-cache key of the text it was read from
    /// and its index among that text's documents ([`parsed`]); None for a `List`'s item
    /// and when the process has no parse cache.
    /// Names the value (before any targetNamespace) for answers remembered across
    /// processes (`schema::validate_read`).
    pub origin: Option<(crate::git::parsecache::Key, u32)>,
    /// Its schema problems (line, message) without a targetNamespace, when it comes
    /// from a build kept for an earlier tree (`kept.rs`): its value then keeps only
    /// what the walk reads.
    pub kept_schema: Option<std::rc::Rc<[(usize, String)]>>,
}

impl Doc {
    /// The line of the field at `path` (keys and `[i]` indexes), best effort.
    pub fn line_of(&self, path: &[String]) -> usize {
        let Some(text) = &self.text else {
            return self.line;
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut at = 0usize;
        let mut found = 0usize;
        for key in path.iter().filter(|k| !k.starts_with('[')) {
            let pat = format!("{key}:");
            match lines.iter().enumerate().skip(at).find(|(_, l)| {
                let t = l.trim_start().trim_start_matches("- ");
                t.starts_with(&pat)
                    || t.starts_with(&format!("\"{key}\":"))
                    || l.contains(&format!("{{{pat}"))
                    || l.contains(&format!(" {pat}"))
            }) {
                Some((i, _)) => {
                    at = i + 1;
                    found = i;
                }
                None => break,
            }
        }
        self.line + found
    }
}

/// Why a path cannot be built.
pub enum Failure {
    /// The build fails (kustomize-controller would fail it): file, line, reason.
    Broken(String, usize, String),
    /// A build needs kustomize and none is on PATH.
    NeedsKustomize(String),
}

/// The external kustomize: `kubectl kustomize` or `kustomize build`, if on PATH.
pub fn kustomize_tool() -> Option<(PathBuf, &'static str)> {
    let find = |name: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    find("kubectl")
        .map(|p| (p, "kustomize"))
        .or_else(|| find("kustomize").map(|p| (p, "build")))
}

/// The documents of one YAML text as [`parse_chunks`] parses them: (value, line the
/// document starts on, the document's text). The values are shared: every reader of
/// the same text gets the same value, not a copy of it.
pub type Parsed = Vec<(std::rc::Rc<Value>, usize, std::rc::Rc<str>)>;

/// A text's documents with the text's parse-cache key (None when the process has no
/// parse cache: the key is then not computed).
type Keyed = (Option<crate::git::parsecache::Key>, std::rc::Rc<Parsed>);

thread_local! {
    /// Texts already parsed in this process, by content: the ownership scan, the
    /// commit guard's check of the tree after a change (and of the tree before it,
    /// when the change has problems) read the same unchanged files, and each is
    /// parsed once. Only texts that parse are kept (an error names its file).
    static PARSED: std::cell::RefCell<std::collections::HashMap<Box<str>, Keyed, TextHash>> =
        Default::default();
}

/// A cheap hash for the texts of [`PARSED`] (the map compares the whole text on a
/// hit, so a collision costs a comparison, never a wrong answer): a multiply-rotate
/// over 8 bytes at a time, where the default SipHash took 13 M instructions of an
/// install.
#[derive(Default, Clone, Copy)]
struct TextHash;

struct TextHasher(u64);

impl std::hash::BuildHasher for TextHash {
    type Hasher = TextHasher;
    fn build_hasher(&self) -> TextHasher {
        TextHasher(0)
    }
}

impl std::hash::Hasher for TextHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or_default());
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(K);
        }
    }
}

/// The documents of `text` ([`chunks`], [`parse_chunks`]), parsed once per process, and across processes through
/// the parse cache of the repository the process works on
/// ([`crate::git::parsecache`]): a text parsed by an earlier pctl is decoded, not
/// parsed again.
pub fn parsed(file: &str, text: &str) -> Result<std::rc::Rc<Parsed>, (usize, String)> {
    parsed_keyed(file, text).map(|(_, p)| p)
}

/// [`parsed`], with the text's parse-cache key.
fn parsed_keyed(file: &str, text: &str) -> Result<Keyed, (usize, String)> {
    if let Some(p) = PARSED.with(|c| c.borrow().get(text).cloned()) {
        return Ok(p);
    }
    let chunks = chunks(text);
    let key = crate::git::parsecache::attached().then(|| crate::git::parsecache::key(text));
    let cached = key
        .as_ref()
        .and_then(|key| crate::git::parsecache::lookup(key, text.len(), chunks.len()));
    let p = match cached {
        Some(docs) => {
            let mut out = Vec::new();
            for ((line, chunk), values) in chunks.into_iter().zip(docs) {
                let shared: std::rc::Rc<str> = std::rc::Rc::from(chunk.as_str());
                for v in values {
                    out.push((std::rc::Rc::new(v), line, shared.clone()));
                }
            }
            out
        }
        None => {
            let (out, per_chunk) = parse_chunks(file, chunks)?;
            let refs: Vec<Vec<&Value>> = per_chunk
                .iter()
                .map(|r| out[r.clone()].iter().map(|(v, _, _)| &**v).collect())
                .collect();
            if let Some(key) = &key {
                crate::git::parsecache::remember(key, text.len(), &refs);
            }
            out
        }
    };
    let p = std::rc::Rc::new(p);
    PARSED.with(|c| c.borrow_mut().insert(text.into(), (key, p.clone())));
    Ok((key, p))
}

/// [`crate::yaml::documents`] through the cache of [`parsed`]: the values of every
/// document, shared with the cache; a text the document splitter refuses is read as
/// one stream, as there.
pub fn documents(origin: &str, text: &str) -> anyhow::Result<Vec<std::rc::Rc<Value>>> {
    match parsed(origin, text) {
        Ok(p) => Ok(p.iter().map(|(v, _, _)| v.clone()).collect()),
        Err(_) => Ok(crate::yaml::documents(origin, text)?
            .into_iter()
            .map(std::rc::Rc::new)
            .collect()),
    }
}

/// `crate::yaml::from_str::<Value>` of a text through the cache of [`parsed`] when it
/// is one document without separators (a kustomization.yaml): the same value, and
/// the parser's own error, read again, when it does not parse.
pub fn one_document(origin: &str, text: &str) -> anyhow::Result<Value> {
    one_document_shared(origin, text).map(std::rc::Rc::unwrap_or_clone)
}

/// [`one_document`], the value shared with the cache (no copy).
pub fn one_document_shared(origin: &str, text: &str) -> anyhow::Result<std::rc::Rc<Value>> {
    let plain = !text
        .lines()
        .any(|l| l.starts_with("---") || l.starts_with("..."));
    if plain
        && let Ok(p) = parsed(origin, text)
        && let [(v, _, _)] = p.as_slice()
    {
        return Ok(v.clone());
    }
    crate::yaml::from_str(origin, text).map(std::rc::Rc::new)
}

/// Split a YAML stream into documents with the line each starts on, parsing each
/// (once per process: see [`parsed`]).
pub fn parse_docs(file: &str, text: &str) -> Result<Vec<Doc>, (usize, String)> {
    let (key, parsed) = parsed_keyed(file, text)?;
    Ok(parsed
        .iter()
        .enumerate()
        .map(|(i, (value, line, text))| Doc {
            value: std::rc::Rc::clone(value),
            file: file.to_string(),
            line: *line,
            text: Some(text.clone()),
            origin: key.zip(u32::try_from(i).ok()),
            kept_schema: None,
        })
        .collect())
}

/// The non-empty documents' texts of a YAML stream, each with the line it starts on.
fn chunks(text: &str) -> Vec<(usize, String)> {
    let mut chunks: Vec<(usize, String)> = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") || line.starts_with("---\t") {
            let rest = line[3..].trim_start();
            chunks.push((i + 1, format!("{rest}\n")));
        } else if line == "..." {
            chunks.push((i + 2, String::new()));
        } else {
            let c = &mut chunks.last_mut().expect("one chunk").1;
            c.push_str(line);
            c.push('\n');
        }
    }
    chunks.retain(|(_, c)| !c.trim().is_empty());
    chunks
}

/// Parse each chunk of [`chunks`]: the documents, and which of them each chunk holds.
#[allow(clippy::type_complexity)]
fn parse_chunks(
    file: &str,
    chunks: Vec<(usize, String)>,
) -> Result<(Parsed, Vec<std::ops::Range<usize>>), (usize, String)> {
    let mut out = Vec::new();
    let mut ranges = Vec::new();
    for (line, chunk) in chunks {
        let docs = crate::yaml::documents(file, &chunk).map_err(|e| {
            let msg = e.to_string();
            let msg = msg
                .strip_prefix(&format!("{file}: "))
                .unwrap_or(&msg)
                .to_string();
            // `line N column M: ...` counts from the chunk's start.
            let at = msg
                .strip_prefix("line ")
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<usize>().ok())
                .map_or(line, |n| line + n.saturating_sub(1));
            (at, msg)
        })?;
        let shared: std::rc::Rc<str> = std::rc::Rc::from(chunk.as_str());
        let start = out.len();
        for d in docs {
            out.push((std::rc::Rc::new(d), line, shared.clone()));
        }
        ranges.push(start..out.len());
    }
    Ok((out, ranges))
}

fn is_object(v: &Value) -> bool {
    v.get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
        && v.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
}

/// Builds paths of one tree (the repository, or an artifact).
pub struct Builder<'a> {
    pub files: &'a Files<'a>,
    /// Nested kustomizations kept for an earlier tree, and those built here to keep
    /// (the commit guard's, `kept.rs`): only for a build of the repository with no
    /// targetNamespace.
    pub nested: Option<&'a super::built::Memo>,
    pub ignore: &'a Ignore,
    /// Prefix of the file names shown (`@artifact/` inside artifacts).
    pub label: String,
    /// The external kustomize, if any.
    pub kustomize: Option<(PathBuf, &'static str)>,
    /// Kustomizations left out because they need kustomize and none is on PATH.
    pub skipped: std::cell::RefCell<Vec<String>>,
}

impl<'a> Builder<'a> {
    fn shown(&self, rel: &str) -> String {
        format!("{}{}", self.label, rel)
    }

    pub fn kustomization_file(&self, dir: &str) -> Option<String> {
        KUSTOMIZATION_NAMES
            .iter()
            .map(|n| join(dir, n))
            .find(|p| self.files.is_file(p))
    }

    /// What kustomize-controller applies for `dir`.
    pub fn build(&self, dir: &str) -> Result<Vec<Doc>, Failure> {
        match self.kustomization_file(dir) {
            Some(k) => self.kustomize(dir, &k, &mut Vec::new()),
            None => self.generated(dir),
        }
    }

    /// A nested kustomization that needs kustomize is left out (and remembered).
    fn or_skip(&self, r: Result<Vec<Doc>, Failure>) -> Result<Vec<Doc>, Failure> {
        match r {
            Err(Failure::NeedsKustomize(f)) => {
                self.skipped.borrow_mut().push(f);
                Ok(Vec::new())
            }
            other => other,
        }
    }

    fn generated(&self, dir: &str) -> Result<Vec<Doc>, Failure> {
        let mut docs = Vec::new();
        let mut stack = vec![dir.to_string()];
        while let Some(d) = stack.pop() {
            let mut subdirs = Vec::new();
            for name in self.files.list(&d) {
                let p = join(&d, &name);
                if self.files.is_dir(&p) {
                    if !self.ignore.ignored(&p, true) {
                        subdirs.push(p);
                    }
                } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
                    && !self.ignore.ignored(&p, false)
                {
                    docs.extend(self.read_objects(&p, true)?);
                }
            }
            for s in subdirs.into_iter().rev() {
                match self.kustomization_file(&s) {
                    Some(k) => {
                        // Built where met, after this directory's own files.
                        docs.extend(self.or_skip(self.kustomize(&s, &k, &mut Vec::new()))?);
                    }
                    None => stack.push(s),
                }
            }
        }
        Ok(docs)
    }

    /// The objects of one YAML file; every document must be a Kubernetes object.
    fn read_objects(&self, rel: &str, generated: bool) -> Result<Vec<Doc>, Failure> {
        let shown = self.shown(rel);
        let bytes = self
            .files
            .read(rel)
            .ok()
            .flatten()
            .ok_or_else(|| Failure::Broken(shown.clone(), 1, "cannot read the file".into()))?;
        let text = String::from_utf8_lossy(&bytes);
        let docs = parse_docs(&shown, &text).map_err(|(line, msg)| {
            Failure::Broken(shown.clone(), line, format!("not valid YAML: {msg}"))
        })?;
        let mut out = Vec::new();
        for d in docs {
            if d.value.get("kind").and_then(Value::as_str) == Some("List")
                && let Some(items) = d.value.get("items").and_then(Value::as_array)
            {
                for it in items {
                    out.push(Doc {
                        value: std::rc::Rc::new(it.clone()),
                        origin: None,
                        ..d.clone()
                    });
                }
                continue;
            }
            if !is_object(&d.value) {
                let why = if generated {
                    "is not a Kubernetes object (no apiVersion/kind), and kustomize-controller fails the whole generated build on it; list it in .sourceignore or move it off the synced path"
                } else {
                    "is not a Kubernetes object (no apiVersion/kind); kustomize fails on it"
                };
                return Err(Failure::Broken(
                    shown,
                    d.line,
                    format!("this YAML document {why}"),
                ));
            }
            out.push(d);
        }
        Ok(out)
    }

    /// A kustomization: evaluated here when it only lists local `resources`. A nested
    /// one is taken from the builds kept for an earlier tree when nothing it read
    /// changed since (and it cannot loop back to a kustomization of `stack`).
    fn kustomize(
        &self,
        dir: &str,
        kfile: &str,
        stack: &mut Vec<String>,
    ) -> Result<Vec<Doc>, Failure> {
        let Some(memo) = self.nested.filter(|_| !stack.is_empty()) else {
            return self.kustomize_here(dir, kfile, stack);
        };
        memo.note_part();
        if let Some((reads, docs)) = memo.nested(dir, stack) {
            return Ok(self.reused(dir, kfile, stack, &reads, docs));
        }
        let (mark, skipped) = (self.files.reads_mark(), self.skipped.borrow().len());
        let parts = memo.parts();
        let mut out = self.kustomize_here(dir, kfile, stack)?;
        // Kept only when whole (nothing inside it was left out for kustomize), when what
        // it read is known, and when not made of nested kustomizations itself: those are
        // kept, and put together again cheaply (a fleet's installations all reach the
        // same bases).
        if let Some(mark) = mark
            && self.skipped.borrow().len() == skipped
            && memo.parts() == parts
        {
            memo.nested_built(dir, self.files.reads_since(mark), &mut out);
        }
        Ok(out)
    }

    /// The kept nested kustomization of `dir` (`kustomize` would reuse it), found
    /// before looking for its kustomization file, which reads the directory's tree: when
    /// its build read `dir/kustomization.yaml` (the first name looked for) and nothing
    /// it read changed, that file is still there, and is the one found.
    fn kept_nested(&self, dir: &str, stack: &mut Vec<String>) -> Option<Vec<Doc>> {
        let memo = self.nested.filter(|_| !stack.is_empty())?;
        let (reads, docs) = memo.nested(dir, stack)?;
        let kfile = join(dir, KUSTOMIZATION_NAMES[0]);
        if !reads.contains(&kfile) {
            return None;
        }
        memo.note_part();
        if cfg!(debug_assertions) {
            assert_eq!(
                self.kustomization_file(dir).as_deref(),
                Some(kfile.as_str()),
                "pctl bug: the kept nested kustomization of {dir} read a kustomization file that is not the one found"
            );
        }
        Some(self.reused(dir, &kfile, stack, &reads, docs))
    }

    /// A nested kustomization's kept documents, reused: what it read is read here too
    /// (debug builds build it again and compare).
    fn reused(
        &self,
        dir: &str,
        kfile: &str,
        stack: &mut Vec<String>,
        reads: &[String],
        docs: Vec<Doc>,
    ) -> Vec<Doc> {
        if cfg!(debug_assertions) {
            let fresh = self.kustomize_here(dir, kfile, stack);
            super::built::compare_nested(dir, &docs, fresh);
        }
        self.files.note_reads(reads);
        docs
    }

    fn kustomize_here(
        &self,
        dir: &str,
        kfile: &str,
        stack: &mut Vec<String>,
    ) -> Result<Vec<Doc>, Failure> {
        let shown = self.shown(kfile);
        if stack.contains(&dir.to_string()) {
            return Err(Failure::Broken(
                shown,
                1,
                format!("resources loop back to {}", self.shown(dir)),
            ));
        }
        let bytes = self.files.read(kfile).ok().flatten().unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        // Shared with the parse cache: read, never copied.
        let empty = crate::yaml::Map::new();
        let k = match one_document_shared(&shown, &text) {
            Ok(v) if v.is_object() || v.is_null() => v,
            Ok(_) => {
                return Err(Failure::Broken(
                    shown,
                    1,
                    "a kustomization must be a mapping".into(),
                ));
            }
            Err(e) => {
                let msg = e.to_string();
                return Err(Failure::Broken(
                    shown.clone(),
                    1,
                    msg.strip_prefix(&format!("{shown}: "))
                        .unwrap_or(&msg)
                        .to_string(),
                ));
            }
        };
        let map = k.as_object().unwrap_or(&empty);
        let simple = map.keys().all(|key| {
            matches!(
                key.as_str(),
                "apiVersion" | "kind" | "resources" | "metadata"
            )
        });
        let resources: Option<Vec<String>> = match map.get("resources") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(|r| r.as_str().map(str::to_string)).collect(),
            Some(_) => None,
        };
        let remote =
            |r: &str| r.contains("://") || r.starts_with("github.com/") || r.contains("?ref=");
        match resources {
            Some(res) if simple && !res.iter().any(|r| remote(r)) => {
                stack.push(dir.to_string());
                let mut out: Vec<Doc> = Vec::new();
                let line_of = |r: &str| {
                    text.lines()
                        .position(|l| l.contains(r))
                        .map_or(1, |i| i + 1)
                };
                for r in &res {
                    let Some(p) = resolve(dir, r) else {
                        return Err(Failure::Broken(
                            shown,
                            line_of(r),
                            format!("resource {r:?} leaves the repository"),
                        ));
                    };
                    if self.files.is_dir(&p) {
                        if let Some(docs) = self.kept_nested(&p, stack) {
                            out.extend(docs);
                            continue;
                        }
                        let Some(sub) = self.kustomization_file(&p) else {
                            return Err(Failure::Broken(
                                shown,
                                line_of(r),
                                format!(
                                    "resource {r:?} is a directory without a kustomization.yaml (kustomize needs one)"
                                ),
                            ));
                        };
                        out.extend(self.or_skip(self.kustomize(&p, &sub, stack))?);
                    } else if self.files.is_file(&p) {
                        if !(dir.is_empty() || p.starts_with(&format!("{dir}/"))) {
                            return Err(Failure::Broken(
                                shown,
                                line_of(r),
                                format!(
                                    "resource file {r:?} is outside the kustomization's directory (kustomize refuses files above it)"
                                ),
                            ));
                        }
                        out.extend(self.read_objects(&p, false)?);
                    } else {
                        return Err(Failure::Broken(
                            shown,
                            line_of(r),
                            format!("resource {r:?} does not exist"),
                        ));
                    }
                }
                stack.pop();
                // kustomize refuses two resources with one id.
                let mut seen = std::collections::HashSet::with_capacity(out.len());
                for d in &out {
                    let md = d.value.get("metadata");
                    let key = (
                        d.value
                            .get("apiVersion")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .split('/')
                            .next(),
                        d.value.get("kind").and_then(Value::as_str),
                        md.and_then(|m| m.get("namespace")).and_then(Value::as_str),
                        md.and_then(|m| m.get("name")).and_then(Value::as_str),
                    );
                    if !seen.insert(key) {
                        return Err(Failure::Broken(
                            d.file.clone(),
                            d.line,
                            format!(
                                "{} {} is listed twice in the kustomization of {} (kustomize refuses an id it already has)",
                                key.1.unwrap_or_default(),
                                key.3.unwrap_or_default(),
                                self.shown(dir)
                            ),
                        ));
                    }
                }
                Ok(out)
            }
            _ => self.external(dir, kfile),
        }
    }

    /// A kustomization that needs kustomize itself.
    fn external(&self, dir: &str, kfile: &str) -> Result<Vec<Doc>, Failure> {
        let shown = self.shown(kfile);
        let Some((tool, sub)) = &self.kustomize else {
            return Err(Failure::NeedsKustomize(shown));
        };
        let root = self
            .files
            .on_disk()
            .map_err(|e| Failure::Broken(shown.clone(), 1, e.to_string()))?;
        let out = std::process::Command::new(tool)
            .arg(sub)
            .arg(root.join(dir))
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                Failure::Broken(
                    shown.clone(),
                    1,
                    format!("cannot run {}: {e}", tool.display()),
                )
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .trim()
                .lines()
                .last()
                .unwrap_or("kustomize failed")
                .to_string();
            let last = last.replace(&format!("{}/", root.display()), "");
            // kubectl prints `E1203 ... run.go:72] "command failed" err="REASON"`.
            let last = match last.split_once(" err=\"") {
                Some((_, r)) => r.trim_end_matches('"').replace("\\\"", "\""),
                None => last,
            };
            return Err(Failure::Broken(
                shown,
                1,
                format!("kustomize build failed: {last}"),
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let docs = parse_docs(&shown, &text).map_err(|(_, msg)| {
            Failure::Broken(
                shown.clone(),
                1,
                format!("kustomize printed YAML pctl cannot read: {msg}"),
            )
        })?;
        Ok(docs
            .into_iter()
            .map(|d| Doc {
                line: 1,
                text: None,
                ..d
            })
            .collect())
    }
}

/// Kinds kustomize knows to be cluster-scoped (its namespace transformer leaves them).
pub use crate::namespaces::KUSTOMIZE_CLUSTER_SCOPED as CLUSTER_SCOPED;

/// What `targetNamespace` does to a build: every namespaced object moved to
/// `target`, Namespace objects renamed to it. Returns the problems it causes: a
/// renamed Namespace, an explicit namespace overridden.
pub fn target_namespace(docs: &mut [Doc], target: &str) -> Vec<(String, usize, String)> {
    let mut problems = Vec::new();
    for d in docs.iter_mut() {
        let kind = d
            .value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = d
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(md) = d.value.get("metadata").and_then(Value::as_object) else {
            continue;
        };
        // The value is shared with the parse cache: it is copied (`make_mut`) only
        // when the target namespace changes something in it.
        let set = |d: &mut Doc, key: &str| {
            if let Some(md) = std::rc::Rc::make_mut(&mut d.value)
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
            {
                md.insert(key.into(), Value::String(target.into()));
            }
        };
        if kind == "Namespace" {
            if name != target {
                problems.push((
                    d.file.clone(),
                    d.line,
                    format!("Namespace {name} is renamed to {target} by the targetNamespace of the Flux Kustomization that applies it"),
                ));
                set(d, "name");
            }
        } else if !CLUSTER_SCOPED.contains(&kind.as_str()) {
            let ns = md.get("namespace").and_then(Value::as_str);
            if let Some(ns) = ns
                && ns != target
            {
                problems.push((
                    d.file.clone(),
                    d.line,
                    format!("{kind}/{name}: explicit namespace {ns} is overridden by targetNamespace {target}"),
                ));
            }
            if ns != Some(target) {
                set(d, "namespace");
            }
        }
    }
    problems
}
