//! The builds of a tree the commit guard checked, kept across processes for the next
//! guard (docs/check.md#what-the-guard-keeps): with them the next change rebuilds only
//! the paths whose build read something changed since, so the guard costs what the
//! change touches, not what the repository holds.
use super::Severity;
use super::build::Doc;
use super::built::{Built, Entry, FluxPath, Found};
use crate::git::parsecache::{self, Reader, put_bytes, put_len, put_opt, put_str, put_value};
use crate::git::{Changes, TreeView};
use crate::yaml::Value;
use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};
use std::rc::Rc;

/// The memo kind, and the payload's format (a new format is a new key: old entries
/// are then never read).
const KIND: &str = "guard-builds";
const FORMAT: &[u8] = b"2";
/// How many commits back from the view the guard looks for kept builds (commits made
/// outside pctl since its last one).
const DEPTH: usize = 8;
/// More paths changed since the kept tree than this: build everything again.
const LIMIT: usize = 4000;

thread_local! {
    /// How many kept builds and nested kustomizations this thread reused (for tests).
    static REUSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many kept builds and nested kustomizations this thread has reused.
#[cfg(test)]
pub fn reused() -> usize {
    REUSED.with(std::cell::Cell::get)
}

/// The paths one build read (as [`super::tree::Files::logged_reads`] gives them).
pub type Reads = Rc<[String]>;
/// (directory, targetNamespace) of a build of the repository without kustomize.
pub type Key = (String, Option<String>);

/// The builds kept for one tree, and the paths that differ between it and the view.
/// A build is decoded only when it is reused (most of the payload, the wrappers of
/// every installation, is in the sync path's build, which any install changes).
pub struct Kept {
    /// The payload, as read from the parse cache.
    payload: Vec<u8>,
    /// Where each build's encoding lies in the payload, with the paths it read.
    builds: HashMap<Key, (Reads, std::ops::Range<usize>)>,
    /// Likewise each nested kustomization, by directory.
    nested: HashMap<String, (Reads, std::ops::Range<usize>)>,
    since: Vec<String>,
}

/// A build made for the tree the guard checks, to keep: built here, or reused from an
/// earlier tree (then copied as it was encoded).
#[derive(Clone)]
pub enum Made {
    Built(Rc<Built>),
    /// A nested kustomization's documents (encoded when the payload is made).
    Docs(Rc<[Doc]>),
    Kept(Rc<Kept>, std::ops::Range<usize>),
}

impl Made {
    fn encoded(&self, out: &mut Vec<u8>) {
        let mut b = Vec::new();
        let bytes: &[u8] = match self {
            Made::Built(built) => {
                encode_built(&mut b, built);
                &b
            }
            Made::Docs(docs) => {
                b = encode_docs(docs);
                &b
            }
            Made::Kept(k, range) => k.bytes(range).unwrap_or_default(),
        };
        put_bytes(out, bytes);
    }
}

/// The kept builds of the nearest tree, if any: the view's own tree, else one of the
/// trees this machine's pctl kept most recently (newest first, those in the view's
/// first-parent history before the others: after a `git reset` or a switch of
/// branches the history holds none of them), else the view's older first-parent
/// ancestors. None when nothing was kept, the payload is not this format, or too
/// much changed since.
///
/// Only kept trees are compared with the view (a comparison walks up to [`LIMIT`]
/// changed paths), only the entry reused is marked used (an entry merely looked at
/// is not kept alive in the cache's file by it), and once an ancestor is too far
/// from the view its older ancestors are not tried (history only adds to the
/// changes, as a rule).
pub fn load(view: &TreeView) -> Option<Rc<Kept>> {
    if !parsecache::attached() {
        return None;
    }
    let history = view.recent_trees(DEPTH);
    for (tree, ancestor) in candidates(&history, &parsecache::recent()) {
        let key = key(&tree);
        if !parsecache::memo_has(&key) {
            continue;
        }
        let Some(since) = view.paths_changed_since(&tree, LIMIT) else {
            if ancestor {
                break;
            }
            continue;
        };
        let Some(payload) = parsecache::memo_get(&key) else {
            continue;
        };
        let Some((builds, nested)) = index(&payload) else {
            continue;
        };
        return Some(Rc::new(Kept {
            payload,
            builds,
            nested,
            since,
        }));
    }
    None
}

/// Keep alive the builds [`load`] would look at first, for a commit the guard does not
/// walk (the shortcut, docs/check.md#the-guards-shortcut), without reading them:
/// they are kept in the cache file as if used, and their tree stays among the recent
/// ones, so that the guard after a commit pctl did not make still finds them (unread,
/// the cache's budget drops a large entry). Which tree holds them is looked up, not
/// checked against the view (that is [`load`]'s work, then).
pub fn keep_alive(view: &TreeView) {
    if !parsecache::attached() {
        return;
    }
    let history = view.recent_trees(DEPTH);
    for (tree, _) in candidates(&history, &parsecache::recent()) {
        if parsecache::memo_touch(&key(&tree)) {
            parsecache::note_recent(tree);
            return;
        }
    }
}

/// Whether the cache holds builds kept for `tree` (tests).
#[cfg(test)]
pub(crate) fn held_for(tree: &[u8; 20]) -> bool {
    parsecache::memo_has(&key(tree))
}

/// The trees to look for kept builds in, in order, each with whether it is one of
/// the older ancestors (tried last): the view's own tree (`history[0]`), the recent
/// trees in the history, the other recent trees, then the rest of the history.
fn candidates(history: &[[u8; 20]], recent: &[[u8; 20]]) -> Vec<([u8; 20], bool)> {
    let mut out: Vec<([u8; 20], bool)> = Vec::new();
    let mut push = |t: &[u8; 20], ancestor: bool| {
        if !out.iter().any(|(o, _)| o == t) {
            out.push((*t, ancestor));
        }
    };
    if let Some(own) = history.first() {
        push(own, false);
    }
    for t in history.iter().filter(|t| recent.contains(t)) {
        push(t, false);
    }
    for t in recent {
        push(t, false);
    }
    for t in history {
        push(t, true);
    }
    out
}

fn key(tree: &[u8; 20]) -> parsecache::Key {
    parsecache::memo_key(KIND, &[FORMAT, tree])
}

/// The builds of `kept` that hold for the view with `changes` laid over it.
pub struct Reuse {
    kept: Rc<Kept>,
    /// Every path changed, since the kept tree or by the change, sorted.
    changed: Vec<String>,
    /// Nested kustomizations found to hold, decoded once: a fleet's clusters all
    /// reach their shared bases' wrappers.
    decoded: std::cell::RefCell<HashMap<String, Option<Rc<[Doc]>>>>,
}

impl Kept {
    /// The bytes at `range` of the payload.
    fn bytes(&self, range: &std::ops::Range<usize>) -> Option<&[u8]> {
        self.payload.get(range.clone())
    }
}

impl Reuse {
    /// None when the change touches what every build reads (`.sourceignore`).
    pub fn new(kept: Rc<Kept>, changes: Option<&Changes>) -> Option<Self> {
        let mut changed: Vec<String> = kept.since.clone();
        if let Some(c) = changes {
            changed.extend(c.files.keys().cloned());
        }
        if changed.iter().any(|p| p == ".sourceignore") {
            return None;
        }
        changed.sort_unstable();
        changed.dedup();
        Some(Reuse {
            kept,
            changed,
            decoded: Default::default(),
        })
    }

    /// The kept build of `dir` with `target`, when nothing it read was changed: not a
    /// path it read, nothing below one, nothing above one.
    pub fn get(&self, dir: &str, target: Option<&str>) -> Option<(Reads, Rc<Built>, Made)> {
        let (reads, range) = self
            .kept
            .builds
            .get(&(dir.to_string(), target.map(str::to_string)))?;
        if self.touches(reads) {
            return None;
        }
        let built = decode_built(&mut Reader::new(self.kept.bytes(range)?))?;
        REUSED.with(|n| n.set(n.get() + 1));
        Some((
            reads.clone(),
            Rc::new(built),
            Made::Kept(self.kept.clone(), range.clone()),
        ))
    }

    /// The kept documents of the nested kustomization in `dir`, when nothing it read
    /// changed and it read no kustomization file of a directory in `stack` (building it
    /// again would then find a loop).
    pub fn nested(&self, dir: &str, stack: &[String]) -> Option<(Reads, Vec<Doc>, Made)> {
        let (reads, range) = self.kept.nested.get(dir)?;
        let known = self.decoded.borrow().get(dir).cloned();
        let docs = match known {
            Some(d) => d?,
            None => {
                let d: Option<Rc<[Doc]>> = (!self.touches(reads))
                    .then(|| decode_docs(&mut Reader::new(self.kept.bytes(range)?)))
                    .flatten()
                    .map(Into::into);
                self.decoded.borrow_mut().insert(dir.to_string(), d.clone());
                d?
            }
        };
        if loops(reads, stack) {
            return None;
        }
        REUSED.with(|n| n.set(n.get() + 1));
        Some((
            reads.clone(),
            docs.to_vec(),
            Made::Kept(self.kept.clone(), range.clone()),
        ))
    }

    /// Whether a change lies at, below or above a path of `reads` (binary searches
    /// over the sorted changes: no hashing).
    fn touches(&self, reads: &[String]) -> bool {
        let c = &self.changed;
        let has = |p: &str| c.binary_search_by(|x| x.as_str().cmp(p)).is_ok();
        reads.iter().any(|r| {
            if r.is_empty() {
                return !c.is_empty();
            }
            // At r, or above it (a file where r's directory was).
            if has(r) || r.match_indices('/').any(|(i, _)| has(&r[..i])) {
                return true;
            }
            // Below r: the first change not before "r/" starts with it.
            let i = c.partition_point(|x| before_dir(x, r));
            c.get(i).is_some_and(|x| {
                x.len() > r.len() && x.starts_with(r.as_str()) && x.as_bytes()[r.len()] == b'/'
            })
        })
    }
}

/// Whether `x` sorts before `r` followed by `/` (without making that string).
fn before_dir(x: &str, r: &str) -> bool {
    let (x, r) = (x.as_bytes(), r.as_bytes());
    let n = x.len().min(r.len());
    match x[..n].cmp(&r[..n]) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => x.len() <= r.len() || x[r.len()] < b'/',
    }
}

/// Whether a nested kustomization that read `reads` read a kustomization file of a
/// directory in `stack`: building it there would find a loop.
pub fn loops(reads: &[String], stack: &[String]) -> bool {
    // A read at `r` covers `s/<kustomization file>` when `r` is that file, or `s`, or a
    // directory above `s` (the root "" is above everything). Compared without joining
    // the paths: this runs for every reused nested kustomization of every walk.
    stack.iter().any(|s| {
        reads.iter().any(|r| {
            let (dir, name) = r.rsplit_once('/').unwrap_or(("", r.as_str()));
            r.is_empty()
                || (!s.is_empty() && (s == r || is_below(s, r)))
                || (dir == s && super::build::KUSTOMIZATION_NAMES.contains(&name))
        })
    })
}

/// Whether `path` lies strictly below directory `dir` (neither empty).
fn is_below(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// The payload kept for a tree: every build made for it (what the walks asked for,
/// newly built or reused), to be stored by [`Pending::keep`] once the tree is committed.
pub struct Pending(Vec<u8>);

impl Pending {
    pub fn new(builds: &[(Key, Reads, Made)], nested: &[(String, Reads, Made)]) -> Self {
        let mut out = Vec::new();
        put_len(&mut out, builds.len());
        for ((dir, target), reads, made) in builds {
            put_str(&mut out, dir);
            put_opt(&mut out, target.as_deref());
            put_reads(&mut out, reads);
            made.encoded(&mut out);
        }
        // A directory reached twice is kept once.
        let mut seen = HashSet::new();
        let nested: Vec<_> = nested.iter().filter(|(d, _, _)| seen.insert(d)).collect();
        put_len(&mut out, nested.len());
        for (dir, reads, made) in nested {
            put_str(&mut out, dir);
            put_reads(&mut out, reads);
            made.encoded(&mut out);
        }
        // Held until the commit is made: no spare capacity from doubling.
        out.shrink_to_fit();
        Pending(out)
    }

    /// Keep the builds for the tree `tree` (its raw id): the tree the change committed.
    pub fn keep(self, tree: &[u8]) {
        if let Ok(t) = <[u8; 20]>::try_from(tree) {
            parsecache::memo_put(&key(&t), &self.0);
            parsecache::note_recent(t);
        }
    }
}

fn put_reads(out: &mut Vec<u8>, reads: &[String]) {
    put_len(out, reads.len());
    for r in reads {
        put_str(out, r);
    }
}

fn reads(r: &mut Reader) -> Option<Reads> {
    let n = r.items(1)?;
    Some(
        (0..n)
            .map(|_| r.str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?
            .into(),
    )
}

fn put_found(out: &mut Vec<u8>, (file, line, sev, msg): &Found) {
    put_str(out, file);
    put_len(out, *line);
    out.push(match sev {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Note => 2,
    });
    put_str(out, msg);
}

/// What the walks need of an object kept whole: the objects of the Flux groups the
/// check knows (their values are read for dependsOn, sources, valuesFrom and
/// artifacts, their text for a field's line). Of any other object only its identity,
/// file, line and schema problems.
fn whole(api: &str) -> bool {
    super::schema::flux_group(api).is_some()
}

/// One build, in the payload's encoding (also compared in debug builds).
pub fn encode_built(out: &mut Vec<u8>, b: &Built) {
    put_len(out, b.skipped.len());
    for s in &b.skipped {
        put_str(out, s);
    }
    match &b.outcome {
        Err(f) => {
            out.push(0);
            put_found(out, f);
        }
        Ok((problems, entries)) => {
            out.push(1);
            put_len(out, problems.len());
            for p in problems {
                put_found(out, p);
            }
            put_len(out, entries.len());
            for e in entries {
                encode_entry(out, e);
            }
        }
    }
}

fn encode_entry(out: &mut Vec<u8>, e: &Entry) {
    put_str(out, &e.api);
    put_str(out, &e.kind);
    put_str(out, &e.name);
    put_opt(out, e.ns.as_deref());
    put_len(out, e.schema.len());
    for (line, msg) in &e.schema {
        put_len(out, *line);
        put_str(out, msg);
    }
    match &e.flux {
        None => out.push(0),
        Some(k) => {
            out.push(1);
            put_str(out, &k.path);
            put_opt(out, k.target.as_deref());
            put_str(out, &k.source_kind);
            put_str(out, &k.source_name);
            put_opt(out, k.source_ns.as_deref());
        }
    }
    put_str(out, &e.doc.file);
    put_len(out, e.doc.line);
    match (&e.doc.text, whole(&e.api)) {
        (Some(text), true) => {
            out.push(1);
            put_value(out, &pruned(&e.doc.value));
            put_str(out, text);
        }
        (None, true) => {
            out.push(2);
            put_value(out, &pruned(&e.doc.value));
        }
        _ => out.push(0),
    }
}

/// Where each build's and each nested kustomization's encoding lies in `bytes`,
/// with the paths it read.
#[allow(clippy::type_complexity)]
fn index(
    bytes: &[u8],
) -> Option<(
    HashMap<Key, (Reads, std::ops::Range<usize>)>,
    HashMap<String, (Reads, std::ops::Range<usize>)>,
)> {
    let mut r = Reader::new(bytes);
    let range = |r: &mut Reader| -> Option<std::ops::Range<usize>> {
        let len = r.count()?;
        let start = bytes.len() - r.left();
        r.take(len)?;
        Some(start..start + len)
    };
    let n = r.items(4)?;
    let mut builds = HashMap::with_capacity(n);
    for _ in 0..n {
        let dir = r.str()?.to_string();
        let target = opt(&mut r)?;
        let reads = reads(&mut r)?;
        builds.insert((dir, target), (reads, range(&mut r)?));
    }
    let n = r.items(3)?;
    let mut nested = HashMap::with_capacity(n);
    for _ in 0..n {
        let dir = r.str()?.to_string();
        let reads = reads(&mut r)?;
        nested.insert(dir, (reads, range(&mut r)?));
    }
    r.end()?;
    Some((builds, nested))
}

/// The documents of a nested kustomization, as the next guard needs them: a Flux
/// object whole (with its text, for a field's line), any other object only its
/// apiVersion, kind, name and namespace; each with its schema problems without a
/// targetNamespace (a nested kustomization is reused only in a build with none).
pub fn encode_docs(docs: &[Doc]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, docs.len());
    for d in docs {
        let v = &d.value;
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
        let md = |k: &str| {
            v.get("metadata")
                .and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        let schema = match &d.kept_schema {
            Some(s) => s.to_vec(),
            None => super::built::schema_problems(d, s("kind"), md("name"), None),
        };
        put_str(&mut out, &d.file);
        put_len(&mut out, d.line);
        put_len(&mut out, schema.len());
        for (line, msg) in &schema {
            put_len(&mut out, *line);
            put_str(&mut out, msg);
        }
        if whole(s("apiVersion")) {
            out.push(1);
            put_value(&mut out, &pruned(v));
            put_opt(&mut out, d.text.as_deref());
        } else {
            out.push(0);
            put_value(&mut out, &skeleton(v));
        }
    }
    out
}

/// The fields of a Flux object's `spec` that the walk reads (`walk` and `graph.rs`, and
/// [`super::built`]'s entry): a kept Flux object keeps only these and its
/// [`skeleton`]. Debug builds compare every walk that reused kept builds with one that
/// built everything (guard.rs), so a field read elsewhere and missing here fails the
/// tests.
const SPEC_READ: &[&str] = &[
    "path",
    "targetNamespace",
    "sourceRef",
    "dependsOn",
    "chart",
    "valuesFrom",
    "chartRef",
    "artifacts",
    "sources",
];

/// [`skeleton`] and the fields of `spec` in [`SPEC_READ`].
fn pruned(v: &Value) -> Value {
    let mut out = skeleton(v);
    if let (Value::Object(o), Some(spec)) = (&mut out, v.get("spec")) {
        let kept = match spec {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| SPEC_READ.contains(&k.as_str()))
                    .map(|(k, x)| (k.clone(), x.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        o.insert("spec".to_string(), kept);
    }
    out
}

/// apiVersion, kind, metadata.name and metadata.namespace of `v`, as they are.
fn skeleton(v: &Value) -> Value {
    let mut out = crate::yaml::Map::new();
    for k in ["apiVersion", "kind"] {
        if let Some(x) = v.get(k) {
            out.insert(k.to_string(), x.clone());
        }
    }
    if let Some(m) = v.get("metadata") {
        let mut md = crate::yaml::Map::new();
        for k in ["name", "namespace"] {
            if let Some(x) = m.get(k) {
                md.insert(k.to_string(), x.clone());
            }
        }
        // Not a mapping: kept as it is (what reads it finds no name either way).
        out.insert(
            "metadata".to_string(),
            if m.is_object() {
                Value::Object(md)
            } else {
                m.clone()
            },
        );
    }
    Value::Object(out)
}

fn decode_docs(r: &mut Reader) -> Option<Vec<Doc>> {
    let n = r.items(4)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let file = r.str()?.to_string();
        let line = r.count()?;
        let m = r.items(2)?;
        let schema: Rc<[(usize, String)]> = (0..m)
            .map(|_| Some((r.count()?, r.str()?.to_string())))
            .collect::<Option<Vec<_>>>()?
            .into();
        let (value, text) = match r.byte()? {
            1 => (r.one_value()?, opt(r)?.map(Rc::from)),
            0 => (r.one_value()?, None),
            _ => return None,
        };
        out.push(Doc {
            value: Rc::new(value),
            file,
            line,
            text,
            origin: None,
            kept_schema: Some(schema),
        });
    }
    r.end()?;
    Some(out)
}

fn opt(r: &mut Reader) -> Option<Option<String>> {
    match r.byte()? {
        0 => Some(None),
        1 => Some(Some(r.str()?.to_string())),
        _ => None,
    }
}

fn found(r: &mut Reader) -> Option<Found> {
    let file = r.str()?.to_string();
    let line = r.count()?;
    let sev = match r.byte()? {
        0 => Severity::Error,
        1 => Severity::Warning,
        2 => Severity::Note,
        _ => return None,
    };
    Some((file, line, sev, r.str()?.to_string()))
}

fn decode_built(r: &mut Reader) -> Option<Built> {
    let n = r.items(1)?;
    let skipped = (0..n)
        .map(|_| r.str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    let outcome = match r.byte()? {
        0 => Err(found(r)?),
        1 => {
            let n = r.items(4)?;
            let problems = (0..n).map(|_| found(r)).collect::<Option<Vec<_>>>()?;
            let n = r.items(8)?;
            let entries = (0..n)
                .map(|_| decode_entry(r).map(Rc::new))
                .collect::<Option<Vec<_>>>()?;
            Ok((problems, entries))
        }
        _ => return None,
    };
    Some(Built { skipped, outcome })
}

fn decode_entry(r: &mut Reader) -> Option<Entry> {
    let api = r.str()?.to_string();
    let kind = r.str()?.to_string();
    let name = r.str()?.to_string();
    let ns = opt(r)?;
    let n = r.items(2)?;
    let schema = (0..n)
        .map(|_| Some((r.count()?, r.str()?.to_string())))
        .collect::<Option<Vec<_>>>()?;
    let flux = match r.byte()? {
        0 => None,
        1 => Some(FluxPath {
            path: r.str()?.to_string(),
            line: Default::default(),
            target: opt(r)?,
            source_kind: r.str()?.to_string(),
            source_name: r.str()?.to_string(),
            source_ns: opt(r)?,
        }),
        _ => return None,
    };
    let file = r.str()?.to_string();
    let line = r.count()?;
    let (value, text) = match r.byte()? {
        0 => (Value::Null, None),
        1 => (r.one_value()?, Some(Rc::from(r.str()?))),
        2 => (r.one_value()?, None),
        _ => return None,
    };
    Some(Entry {
        doc: Rc::new(Doc {
            value: Rc::new(value),
            file,
            line,
            text,
            origin: None,
            kept_schema: None,
        }),
        api,
        kind,
        name,
        ns,
        schema,
        flux,
    })
}

#[cfg(test)]
mod tests {
    //! What invalidates a kept build, and the payload read back as it was written.
    use super::*;

    fn reuse(changed: &[&str]) -> Reuse {
        let kept = Rc::new(Kept {
            payload: Vec::new(),
            builds: HashMap::new(),
            nested: HashMap::new(),
            since: changed.iter().map(|s| s.to_string()).collect(),
        });
        Reuse::new(kept, None).expect("no .sourceignore")
    }

    #[test]
    fn loops_answers_as_joining_each_kustomization_file_would() {
        // The definition: some read is the kustomization file of a stacked directory, or
        // a directory at or above that file.
        let joined = |reads: &[String], stack: &[String]| {
            stack.iter().any(|s| {
                crate::check::build::KUSTOMIZATION_NAMES.iter().any(|n| {
                    let k = crate::check::tree::join(s, n);
                    reads.iter().any(|r| {
                        r.is_empty()
                            || *r == k
                            || (k.len() > r.len()
                                && k.starts_with(r.as_str())
                                && k.as_bytes()[r.len()] == b'/')
                    })
                })
            })
        };
        let paths = [
            "",
            "a",
            "ab",
            "a/b",
            "a/bc",
            "a/b/c",
            "kustomization.yaml",
            "Kustomization",
            "a/kustomization.yaml",
            "a/kustomization.yml",
            "a/Kustomization",
            "ab/kustomization.yaml",
            "a/b/kustomization.yaml",
            "a/b/other.yaml",
            "a/kustomization.yaml/x",
        ];
        let mut checked = 0;
        for r1 in paths {
            for r2 in paths {
                for s in paths {
                    let reads = vec![r1.to_string(), r2.to_string()];
                    let stack = vec![s.to_string()];
                    assert_eq!(
                        loops(&reads, &stack),
                        joined(&reads, &stack),
                        "reads {reads:?}, stack {stack:?}"
                    );
                    checked += usize::from(joined(&reads, &stack));
                }
            }
        }
        // Both answers occur.
        assert!(checked > 0 && checked < paths.len().pow(3));
    }

    #[test]
    fn kept_trees_are_tried_own_tree_first_then_recent_ones_then_older_ancestors() {
        let t = |b: u8| [b; 20];
        // History: the view's tree 1, then ancestors 2, 3, 4; recent: 9, 3, 8.
        let order = candidates(&[t(1), t(2), t(3), t(4)], &[t(9), t(3), t(8)]);
        let got: Vec<(u8, bool)> = order.iter().map(|(x, a)| (x[0], *a)).collect();
        assert_eq!(
            got,
            [
                (1, false),
                (3, false),
                (9, false),
                (8, false),
                (2, true),
                (4, true)
            ]
        );
        assert!(candidates(&[], &[]).is_empty());
        assert_eq!(candidates(&[], &[t(5)]), [(t(5), false)]);
    }

    #[test]
    fn a_change_at_below_or_above_a_read_path_touches_it() {
        let r = reuse(&["a/b/c.yaml", "x", "m-n/k.yaml"]);
        let t = |p: &str| r.touches(&[p.to_string()]);
        assert!(t("a"), "below a directory read");
        assert!(t("a/b"));
        assert!(t("a/b/c.yaml"), "the path read");
        assert!(t("a/b/c.yaml/z"), "a file where a directory was read");
        assert!(t("x/y.yaml"), "a file where a directory was read");
        assert!(t(""), "the root covers everything");
        assert!(!t("a-b"), "a sibling that sorts between");
        assert!(!t("a/bc"));
        assert!(!t("m"), "m-n sorts before m/, but is not below m");
        assert!(!t("ab/c.yaml"));
        assert!(!reuse(&[]).touches(&[String::new()]), "nothing changed");
        assert!(before_dir("a", "a") && before_dir("a-b", "a") && before_dir("a.", "a"));
        assert!(!before_dir("a/", "a") && !before_dir("a/b", "a") && !before_dir("a0", "a"));
        assert!(before_dir("", "a") && !before_dir("b", "a"));
        let kept = Rc::new(Kept {
            payload: Vec::new(),
            builds: HashMap::new(),
            nested: HashMap::new(),
            since: vec![".sourceignore".into()],
        });
        assert!(
            Reuse::new(kept, None).is_none(),
            ".sourceignore changes every build"
        );
    }

    #[test]
    fn a_payload_reads_back_as_written_and_a_damaged_one_is_refused() {
        let doc = |text: &str, file: &str| {
            let v: Value = crate::yaml::from_str(file, text).unwrap();
            Doc {
                value: Rc::new(v),
                file: file.into(),
                line: 3,
                text: Some(Rc::from(text)),
                origin: None,
                kept_schema: None,
            }
        };
        let flux = doc(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: a\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./x\n  prune: true\n  dependsOn:\n    - name: b\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
            "k.yaml",
        );
        let cm = doc(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  big: value\n",
            "c.yaml",
        );
        let bytes = encode_docs(&[flux, cm]);
        let back = decode_docs(&mut Reader::new(&bytes)).unwrap();
        assert_eq!(encode_docs(&back), bytes, "the same encoding again");
        // A Flux object keeps what the walk reads, and its text; another only its identity.
        let v = &back[0].value;
        assert_eq!(v.pointer("/spec/path").and_then(Value::as_str), Some("./x"));
        assert!(v.pointer("/spec/dependsOn/0/name").is_some());
        assert!(v.pointer("/spec/interval").is_none());
        assert!(back[0].text.is_some());
        assert_eq!(
            back[1]
                .value
                .pointer("/metadata/name")
                .and_then(Value::as_str),
            Some("c")
        );
        assert!(back[1].value.get("data").is_none());
        assert!(back[1].text.is_none());
        assert_eq!(back[1].line, 3);
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode_docs(&mut Reader::new(&bytes[..cut])).is_none(),
                "cut at {cut}"
            );
        }
        assert!(index(b"\xff\xff").is_none());
    }
}
