//! The ownership scan's reads of the GitOps repository directory by directory, with
//! memos by Git tree id (docs/architecture.md#the-ownership-scans-memos): what a
//! directory builds to ([`Unit`]) and which installation records lie below it are
//! remembered in the parse cache's file, so that a scan reads only the directories
//! whose trees changed since a scan that kept them. A memo is never trusted beyond
//! what its key proves (the directory's path and tree id, this format's version);
//! anything else, or a directory that needs the careful walk (a symbolic link, a name
//! that is not UTF-8, nesting too deep), makes the scan fall back to reading every
//! file, as it did before.
use super::RecordInfo;
use crate::git::{Kind, TreeView, parsecache};
use crate::namespaces::{Files, Obj, Unit};
use crate::yaml::{Map, Value};
use foldhash::HashMap;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The first byte of every payload written here: another value is another format.
const VERSION: u8 = 4;
/// A directory building to more objects than this is not remembered (the directories
/// near the top change with every install; those below them are remembered).
const MAX_OBJS: usize = 256;
/// Nor is one whose memo would be larger than this.
const MAX_PAYLOAD: usize = 64 << 10;
/// How deep below a directory read the scan goes (`plain_files_below`'s limit): deeper
/// needs the careful walk.
const MAX_DEPTH: usize = 64;

type Key = parsecache::Key;

/// A directory at one state: its tree id and its path.
type Here = (Vec<u8>, String);

thread_local! {
    /// Memos decoded or made in this process (the scans of a fleet install share
    /// them), by directory and tree id: no key to hash for a second look.
    static UNITS: RefCell<HashMap<Here, Rc<Unit>>> = Default::default();
    static RECORDS: RefCell<HashMap<Here, Rc<Records>>> = Default::default();
}

/// The installation records below a directory, how deep its directories nest, and
/// their tree ids.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Records {
    /// Each record file's path and what it says.
    pub found: Vec<(String, Rc<RecordInfo>)>,
    /// 0: no subdirectory; else one more than the deepest subdirectory's.
    height: usize,
    /// Every directory below (path relative to this one) with its tree id, when there
    /// are at most `MAX_OBJS` (else none): told to the view when the memo is used, so
    /// that the scan and the commit guard find an installation's directories without
    /// reading its trees.
    dirs: Vec<(String, [u8; 20])>,
}

/// The files of the directories the scan has read (`loaded`), read from the view
/// only when a build asks for them. `odd` is set when something needs the careful
/// walk: the scan then falls back to reading every file.
pub(super) struct TreeFiles<'v> {
    view: &'v TreeView,
    loaded: Vec<String>,
    odd: Cell<bool>,
}

/// Whether `path` is `dir` or below it.
pub(super) use crate::check::tree::within;

fn join(dir: &str, name: &str) -> String {
    crate::gitops::join(dir, name)
}

impl<'v> TreeFiles<'v> {
    pub fn new(view: &'v TreeView) -> Self {
        TreeFiles {
            view,
            loaded: Vec::new(),
            odd: Cell::new(false),
        }
    }

    /// Whether something needed the careful walk (the answers are then not used).
    pub fn odd(&self) -> bool {
        self.odd.get()
    }

    /// Read `dir` (a normalized directory path) too; its records.
    pub fn load(&mut self, dir: &str) -> Option<Rc<Records>> {
        self.loaded.push(dir.to_string());
        let found = records_below(self.view, dir, 0);
        match &found {
            Some(r) if r.height <= MAX_DEPTH => {}
            _ => self.odd.set(true),
        }
        found
    }

    fn visible_file(&self, path: &str) -> bool {
        self.loaded.iter().any(|l| {
            l.is_empty()
                || path
                    .strip_prefix(l.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    }

    fn visible_dir(&self, dir: &str) -> bool {
        self.loaded.iter().any(|l| within(dir, l))
    }

    /// Whether a directory read is `dir` or below it.
    fn holds_loaded(&self, dir: &str) -> bool {
        self.loaded.iter().any(|l| within(l, dir))
    }

    fn kind(&self, path: &str) -> Option<Kind> {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        match self.view.listing(parent) {
            Ok(l) => l.and_then(|l| l.kind(name)),
            Err(_) => {
                self.odd.set(true);
                None
            }
        }
    }
}

/// Directory `dir` at the view's state, when it is a directory.
fn here(view: &TreeView, dir: &str) -> Option<Here> {
    Some((view.dir_key(dir).ok()??, dir.to_string()))
}

/// The key of a memo of `kind` about a directory: its path and tree id, and this
/// format's version.
fn memo_key(kind: &str, (id, dir): &Here) -> Key {
    parsecache::memo_key(kind, &[&[VERSION], dir.as_bytes(), id.as_slice()])
}

impl Files for TreeFiles<'_> {
    fn is_file(&self, path: &str) -> bool {
        if !self.visible_file(path) {
            return false;
        }
        match self.kind(path) {
            Some(Kind::File) => true,
            Some(Kind::Link | Kind::BadName) => {
                self.odd.set(true);
                false
            }
            _ => false,
        }
    }

    fn content(&self, path: &str) -> Option<Cow<'_, [u8]>> {
        if !self.is_file(path) {
            return None;
        }
        match self.view.read(path) {
            Ok(b) => b.map(Cow::Owned),
            Err(_) => {
                self.odd.set(true);
                None
            }
        }
    }

    fn children(&self, dir: &str) -> Vec<(String, bool)> {
        let all = self.visible_dir(dir);
        if !all && !self.holds_loaded(dir) {
            return Vec::new();
        }
        let listing = match self.view.listing(dir) {
            Ok(Some(l)) => l,
            Ok(None) => return Vec::new(),
            Err(_) => {
                self.odd.set(true);
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for e in &listing.entries {
            match e.kind {
                Kind::File if all => out.push((e.name.clone(), false)),
                Kind::Dir if all || self.holds_loaded(&join(dir, &e.name)) => {
                    out.push((e.name.clone(), true))
                }
                Kind::Link | Kind::BadName if all || self.holds_loaded(&join(dir, &e.name)) => {
                    self.odd.set(true)
                }
                _ => {}
            }
        }
        out
    }

    fn remembers(&self) -> bool {
        true
    }

    fn recall(&self, dir: &str) -> Option<Rc<Unit>> {
        if self.odd() || !self.visible_dir(dir) {
            return None;
        }
        let here = here(self.view, dir)?;
        if let Some(u) = UNITS.with(|c| c.borrow().get(&here).cloned()) {
            return Some(u);
        }
        let unit = Rc::new(decode_unit(&parsecache::memo_get(&memo_key(
            "owners-unit",
            &here,
        ))?)?);
        UNITS.with(|c| c.borrow_mut().insert(here, unit.clone()));
        Some(unit)
    }

    fn keep(&self, dir: &str, unit: Unit) {
        if self.odd() || unit.objs.len() > MAX_OBJS || !self.visible_dir(dir) {
            return;
        }
        let Some(here) = here(self.view, dir) else {
            return;
        };
        let payload = encode_unit(&unit);
        if payload.len() <= MAX_PAYLOAD {
            parsecache::memo_put(&memo_key("owners-unit", &here), &payload);
            UNITS.with(|c| c.borrow_mut().insert(here, Rc::new(unit)));
        }
    }
}

/// The records below directory `dir` (`depth` levels below the directory read), read
/// directory by directory and remembered by tree id. None when something there needs
/// the careful walk.
fn records_below(view: &TreeView, dir: &str, depth: usize) -> Option<Rc<Records>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let Some(here) = here(view, dir) else {
        // Not a directory (or not there): nothing below it.
        return Some(Rc::default());
    };
    if let Some(r) = RECORDS.with(|c| c.borrow().get(&here).cloned()) {
        view.know_dirs(dir, &r.dirs);
        return Some(r);
    }
    let key = memo_key("owners-records", &here);
    if let Some(r) = parsecache::memo_get(&key).and_then(|p| decode_records(&p)) {
        view.know_dirs(dir, &r.dirs);
        let r = Rc::new(r);
        RECORDS.with(|c| c.borrow_mut().insert(here, r.clone()));
        return Some(r);
    }
    let listing = view.listing(dir).ok()??;
    let mut out = Records::default();
    for e in &listing.entries {
        let path = join(dir, &e.name);
        match e.kind {
            Kind::Dir => {
                let below = records_below(view, &path, depth + 1)?;
                out.height = out.height.max(below.height + 1);
                out.found.extend(below.found.iter().cloned());
                if let Some(id) = listing.id(&e.name) {
                    out.dirs.push((e.name.clone(), id));
                    out.dirs.extend(
                        below
                            .dirs
                            .iter()
                            .map(|(rel, id)| (format!("{}/{rel}", e.name), *id)),
                    );
                }
            }
            Kind::File if e.name == crate::record::FILE && !dir.is_empty() => {
                let bytes = view.read(&path).ok()??;
                out.found
                    .push((path.clone(), Rc::new(RecordInfo::of(&path, &bytes))));
            }
            Kind::Link | Kind::BadName => return None,
            _ => {}
        }
    }
    if out.dirs.len() > MAX_OBJS {
        out.dirs = Vec::new();
    }
    if out.found.len() <= MAX_OBJS {
        let payload = encode_records(&out);
        if payload.len() <= MAX_PAYLOAD {
            parsecache::memo_put(&key, &payload);
        }
    }
    let out = Rc::new(out);
    RECORDS.with(|c| c.borrow_mut().insert(here, out.clone()));
    Some(out)
}

/// The memos a walk of the committed tree would keep for the directories of the one
/// installation a write adds or replaces: what each of `dirs` (the starts of the
/// installation's walk) builds to from `files` (its files by repository path), for
/// the write to keep under each directory's tree id once it commits
/// (docs/architecture.md#the-ownership-scan-of-a-whole-tree). A later walk then finds
/// them as if it had walked that tree.
pub(super) fn unit_memos(
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    dirs: &[String],
) -> Vec<crate::git::TreeMemo> {
    struct Recording<'f> {
        files: &'f std::collections::BTreeMap<String, Vec<u8>>,
        kept: RefCell<Vec<(String, Unit)>>,
    }
    impl Files for Recording<'_> {
        fn is_file(&self, path: &str) -> bool {
            self.files.is_file(path)
        }
        fn content(&self, path: &str) -> Option<Cow<'_, [u8]>> {
            self.files.content(path)
        }
        fn children(&self, dir: &str) -> Vec<(String, bool)> {
            self.files.children(dir)
        }
        fn remembers(&self) -> bool {
            true
        }
        fn keep(&self, dir: &str, unit: Unit) {
            self.kept.borrow_mut().push((dir.to_string(), unit));
        }
    }
    let rec = Recording {
        files,
        kept: RefCell::new(Vec::new()),
    };
    for d in dirs {
        crate::namespaces::build(&rec, d);
    }
    let mut out: Vec<crate::git::TreeMemo> = dirs
        .first()
        .and_then(|d| records_memo(files, d))
        .into_iter()
        .collect();
    out.extend(
        rec.kept
            .into_inner()
            .into_iter()
            .filter(|(_, u)| u.objs.len() <= MAX_OBJS)
            .filter_map(|(dir, unit)| {
                let payload = encode_unit(&unit);
                (payload.len() <= MAX_PAYLOAD).then(|| crate::git::TreeMemo {
                    kind: "owners-unit",
                    parts: vec![vec![VERSION], dir.as_bytes().to_vec()],
                    dir,
                    payload,
                    ids_of: Vec::new(),
                })
            }),
    );
    out
}

/// The records memo of directory `dir` whose files (by repository path, those below
/// `dir` at least) are `files`: the records below it and how deep its directories
/// nest (its subdirectories' tree ids are not known before the commit: none).
fn records_memo(
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    dir: &str,
) -> Option<crate::git::TreeMemo> {
    let prefix = format!("{dir}/");
    let mut out = Records::default();
    for (path, bytes) in files.range(prefix.clone()..) {
        let Some(rel) = path.strip_prefix(&prefix) else {
            break;
        };
        let depth = rel.matches('/').count();
        out.height = out.height.max(depth);
        if rel.rsplit('/').next() == Some(crate::record::FILE) {
            out.found
                .push((path.clone(), Rc::new(RecordInfo::of(path, bytes))));
        }
    }
    let payload = encode_records(&out);
    (out.found.len() <= MAX_OBJS && payload.len() <= MAX_PAYLOAD).then(|| crate::git::TreeMemo {
        kind: "owners-records",
        dir: dir.to_string(),
        parts: vec![vec![VERSION], dir.as_bytes().to_vec()],
        payload,
        ids_of: Vec::new(),
    })
}

/// The parts of a document the scan reads (`ownership::walk`: a Flux Kustomization's
/// path, source and target namespace; `ownership::claims`: a HelmRelease's release
/// name, target and storage namespaces): a remembered object keeps only those.
fn reduced(doc: &Value) -> Value {
    let Some(spec) = doc.get("spec").and_then(Value::as_object) else {
        return Value::Null;
    };
    let mut kept = Map::new();
    for f in [
        "path",
        "sourceRef",
        "targetNamespace",
        "releaseName",
        "storageNamespace",
    ] {
        if let Some(v) = spec.get(f) {
            kept.insert(f.to_string(), v.clone());
        }
    }
    if kept.is_empty() {
        return Value::Null;
    }
    let mut m = Map::new();
    m.insert("spec".to_string(), Value::Object(kept));
    Value::Object(m)
}

/// A payload being written: this format's version and kind, then fields in the
/// parse cache's payload encoding (`parsecache::put_len`, `put_bytes`, `put_value`).
struct Writer(Vec<u8>);

impl Writer {
    /// `kind` tells a unit's payload from a records one.
    fn new(kind: u8) -> Self {
        Writer(vec![VERSION, kind])
    }

    fn count(&mut self, n: usize) {
        parsecache::put_len(&mut self.0, n);
    }

    fn str(&mut self, s: &str) {
        parsecache::put_bytes(&mut self.0, s.as_bytes());
    }

    fn value(&mut self, v: &Value) {
        parsecache::put_value(&mut self.0, v);
    }
}

/// The payload [`Writer`] wrote, after its version and kind (None: not this format).
fn reader(bytes: &[u8], kind: u8) -> Option<parsecache::Reader<'_>> {
    let mut r = parsecache::Reader::new(bytes);
    (r.byte()? == VERSION && r.byte()? == kind).then_some(r)
}

const UNIT_PAYLOAD: u8 = b'u';
const RECORDS_PAYLOAD: u8 = b'r';

fn encode_unit(u: &Unit) -> Vec<u8> {
    let mut w = Writer::new(UNIT_PAYLOAD);
    w.count(u.objs.len());
    for o in &u.objs {
        w.str(&o.api_version);
        w.str(&o.kind);
        w.str(&o.name);
        match &o.namespace {
            None => w.0.push(0),
            Some(ns) => {
                w.0.push(1);
                w.str(ns);
            }
        }
        w.str(&o.file);
        w.value(&reduced(&o.doc));
    }
    w.count(u.built.len());
    for d in &u.built {
        w.str(d);
    }
    w.0
}

fn decode_unit(bytes: &[u8]) -> Option<Unit> {
    let mut r = reader(bytes, UNIT_PAYLOAD)?;
    let n = r.items(6)?;
    let mut objs = Vec::with_capacity(n);
    for _ in 0..n {
        let api_version = r.str()?.to_string();
        let kind = r.str()?.to_string();
        let name = r.str()?.to_string();
        let namespace = match r.byte()? {
            0 => None,
            1 => Some(r.str()?.to_string()),
            _ => return None,
        };
        objs.push(Obj {
            api_version,
            kind,
            name,
            namespace,
            file: r.str()?.to_string(),
            doc: Rc::new(r.one_value()?),
        });
    }
    let n = r.items(1)?;
    let built = (0..n)
        .map(|_| r.str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    r.end()?;
    Some(Unit { objs, built })
}

fn encode_records(rs: &Records) -> Vec<u8> {
    let mut w = Writer::new(RECORDS_PAYLOAD);
    w.count(rs.height);
    w.count(rs.found.len());
    for (path, info) in &rs.found {
        w.str(path);
        w.str(&info.name);
        let bases = info
            .bases
            .as_ref()
            .and_then(|b| serde_json::to_value(b).ok())
            .unwrap_or(Value::Null);
        w.value(&bases);
    }
    w.count(rs.dirs.len());
    for (rel, id) in &rs.dirs {
        w.str(rel);
        parsecache::put_bytes(&mut w.0, id);
    }
    w.0
}

fn decode_records(bytes: &[u8]) -> Option<Records> {
    let mut r = reader(bytes, RECORDS_PAYLOAD)?;
    let height = r.count()?;
    let n = r.items(3)?;
    let mut found = Vec::with_capacity(n);
    for _ in 0..n {
        let path = r.str()?.to_string();
        let name = r.str()?.to_string();
        let bases = match r.one_value()? {
            Value::Null => None,
            b => Some(serde_json::from_value::<BTreeMap<_, _>>(b).ok()?),
        };
        found.push((path, Rc::new(RecordInfo { name, bases })));
    }
    // A path's length, an id's length and its 20 bytes at least.
    let n = r.items(22)?;
    let mut dirs = Vec::with_capacity(n);
    for _ in 0..n {
        let rel = r.str()?.to_string();
        let id: [u8; 20] = r.bytes()?.try_into().ok()?;
        dirs.push((rel, id));
    }
    r.end()?;
    Some(Records {
        found,
        height,
        dirs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, ns: Option<&str>, doc: Value) -> Obj {
        Obj {
            api_version: "v1".into(),
            kind: kind.into(),
            name: "n".into(),
            namespace: ns.map(str::to_string),
            file: "c/p/a.yaml".into(),
            doc: Rc::new(doc),
        }
    }

    #[test]
    fn a_unit_round_trips_with_the_parts_of_its_documents_the_scan_reads() {
        let doc: Value = crate::yaml::from_str(
            "t",
            "spec: {path: ./x, sourceRef: {kind: GitRepository, name: g}, interval: 1m, targetNamespace: t}\nmetadata: {name: n}\n",
        )
        .unwrap();
        let u = Unit {
            objs: vec![
                obj("Kustomization", Some("flux-system"), doc),
                obj("ConfigMap", None, Value::Null),
            ],
            built: vec!["c/p/sub".into()],
        };
        let back = decode_unit(&encode_unit(&u)).unwrap();
        assert_eq!(back.built, u.built);
        assert_eq!(back.objs[1], u.objs[1]);
        let want: Value = crate::yaml::from_str(
            "t",
            "spec: {path: ./x, sourceRef: {kind: GitRepository, name: g}, targetNamespace: t}\n",
        )
        .unwrap();
        assert_eq!(*back.objs[0].doc, want);
        assert_eq!(back.objs[0].namespace.as_deref(), Some("flux-system"));
    }

    #[test]
    fn another_format_or_a_malformed_payload_is_not_read() {
        let u = Unit {
            objs: vec![obj("ConfigMap", Some("a"), Value::Null)],
            built: Vec::new(),
        };
        let mut p = encode_unit(&u);
        assert!(decode_unit(&p).is_some());
        assert!(decode_unit(&p[..p.len() - 1]).is_none(), "truncated");
        let mut longer = p.clone();
        longer.push(0);
        assert!(decode_unit(&longer).is_none(), "trailing bytes");
        p[0] = VERSION + 1;
        assert!(decode_unit(&p).is_none(), "another version's payload");
        assert!(decode_unit(&[]).is_none());
        assert!(decode_unit(&[VERSION, 1, 2, 3]).is_none());
        // A records payload is not a unit, nor the other way round.
        let r = Records {
            found: vec![(
                "c/p/profile-installation.yaml".into(),
                Rc::new(RecordInfo {
                    name: "p".into(),
                    bases: None,
                }),
            )],
            height: 2,
            dirs: vec![("p".into(), [7; 20]), ("p/artifacts".into(), [9; 20])],
        };
        let rp = encode_records(&r);
        assert_eq!(decode_records(&rp), Some(r));
        assert!(decode_unit(&rp).is_none());
        assert!(decode_records(&encode_unit(&u)).is_none());
    }
}
