//! The ownership scan's state (docs/architecture.md#the-ownership-scans-state): one
//! memo per scanned Git tree holding what the scan read there (what each directory
//! built to, the paths it probed, the installation records), so that the next scan,
//! on that tree or on a later commit, reads Git only where a path changed since.
use super::RecordInfo;
use super::subtrees::{Writer, read_record, read_unit, reader};
use crate::git::{Kind, TreeView, parsecache};
use crate::gitops::Config;
use crate::namespaces::Unit;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::rc::Rc;

/// The kind of this memo (its key's first part): another format is another kind.
const KIND: &str = "owners-state";
/// The payload's kind byte (after the scan's format version).
const STATE_PAYLOAD: u8 = b's';
/// How many first-parent ancestors of the view's commit are asked for a state.
const RECENT: usize = 8;
/// More changed paths than this since the state's tree: the scan starts over.
const MAX_CHANGED: usize = 4096;

/// What one scan read of a tree: the units it recalled or kept by directory, the
/// kind of each path it probed (None: nothing there), the records below the
/// directories it read (`loaded`). Made during a scan; a former scan's is [`Kept`].
#[derive(Debug, Default, PartialEq)]
pub(super) struct State {
    /// Each unit, with where a former state holds it already encoded (copied as it is).
    pub units: BTreeMap<String, (Rc<Unit>, Option<Range<usize>>)>,
    pub kinds: BTreeMap<String, Option<Kind>>,
    pub records: BTreeMap<String, Rc<RecordInfo>>,
    pub loaded: Vec<String>,
}

/// The trees a diff was between (the former, the view's).
type TreePair = ([u8; 20], [u8; 20]);

/// A former scan's [`State`] as read back: each list in the order of its keys.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Kept {
    /// The payload read, and where in it each unit is.
    payload: Vec<u8>,
    /// Each directory, and where the payload holds its unit (decoded when asked for).
    units: Vec<(String, Range<usize>)>,
    kinds: Vec<(String, Option<Kind>)>,
    pub records: Vec<(String, Rc<RecordInfo>)>,
    pub loaded: Vec<String>,
}

fn find_in<'a, T>(list: &'a [(String, T)], key: &str) -> Option<&'a T> {
    let i = list.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
    Some(&list[i].1)
}

impl Kept {
    /// What directory `dir` built to, and where the payload holds it (None too when
    /// it does not decode: the directory is then built).
    pub fn unit(&self, dir: &str) -> Option<(Rc<Unit>, Range<usize>)> {
        let at = find_in(&self.units, dir)?.clone();
        let bytes = self.payload.get(at.clone())?;
        if let Some(u) = DECODED.with(|d| d.borrow().get(bytes).cloned()) {
            return Some((u, at));
        }
        let mut r = parsecache::Reader::new(bytes);
        let unit = Rc::new(read_unit(&mut r)?);
        r.end()?;
        DECODED.with(|d| d.borrow_mut().insert(bytes.to_vec(), unit.clone()));
        Some((unit, at))
    }

    /// What was at `path` (Some(None): nothing), when the scan asked.
    pub fn kind(&self, path: &str) -> Option<Option<Kind>> {
        find_in(&self.kinds, path).copied()
    }
}

/// The file paths that differ between a state's tree and the view's, and the
/// directories above them.
#[derive(Debug, Default)]
pub(super) struct Changed {
    paths: BTreeSet<String>,
    dirs: BTreeSet<String>,
}

impl Changed {
    pub fn new(paths: impl IntoIterator<Item = String>) -> Self {
        let paths: BTreeSet<String> = paths.into_iter().collect();
        let mut dirs = BTreeSet::new();
        for p in &paths {
            dirs.insert(String::new());
            for (i, _) in p.match_indices('/') {
                dirs.insert(p[..i].to_string());
            }
        }
        Changed { paths, dirs }
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.paths.contains(path)
    }

    /// The changed paths strictly below `dir` ("" the root).
    pub fn below<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.paths
            .range(prefix.clone()..)
            .take_while(move |p| p.starts_with(&prefix))
    }

    /// Whether a changed path is `path`, lies above it or below it: an answer about
    /// `path` (what is there, what a directory there builds to) may differ.
    pub fn touches(&self, path: &str) -> bool {
        if self.paths.is_empty() {
            return false;
        }
        self.paths.contains(path)
            || self.dirs.contains(path)
            || path
                .match_indices('/')
                .any(|(i, _)| self.paths.contains(&path[..i]))
    }
}

/// A former scan's state found for a view: for its own tree (`changed` empty and
/// `exact`), or for an ancestor's with the paths changed since.
pub(super) struct Prior {
    pub state: Kept,
    pub changed: Rc<Changed>,
    pub exact: bool,
    /// How many commits back the state's tree is.
    pub back: usize,
}

/// The key of the state of the scan of `tree` with `config`'s sync path and
/// GitRepository (every input of the scan besides the tree).
fn key(tree: &[u8; 20], config: &Config) -> parsecache::Key {
    let g = &config.git_repository;
    parsecache::memo_key(
        KIND,
        &[
            &[STATE_PAYLOAD, super::subtrees::VERSION],
            tree,
            config.sync_path.as_bytes(),
            g.name.as_bytes(),
            g.namespace.as_bytes(),
        ],
    )
}

thread_local! {
    /// Units decoded from states in this process, by their encoding: a fleet install's
    /// scans of each cluster read the same bases from each cluster's state.
    static DECODED: RefCell<HashMap<Vec<u8>, Rc<Unit>>> = Default::default();
    /// The paths changed between two trees, computed once per process (a fleet
    /// install's scans of each cluster ask for the same).
    static DIFFS: RefCell<HashMap<TreePair, Option<Rc<Changed>>>> = Default::default();
}

/// The state of the view's tree or of its nearest first-parent ancestor's that has
/// one, with the paths changed since; None when there is none, or too much changed.
pub(super) fn find(view: &TreeView, config: &Config) -> Option<Prior> {
    let trees = view.recent_trees(RECENT);
    let own = *trees.first()?;
    for (back, t) in trees.iter().enumerate() {
        let Some(state) = parsecache::memo_get(&key(t, config)).and_then(decode) else {
            continue;
        };
        let changed = if back == 0 {
            Rc::default()
        } else {
            let diff = DIFFS.with(|d| d.borrow().get(&(*t, own)).cloned());
            let diff = diff.unwrap_or_else(|| {
                let found = view
                    .paths_changed_since(t, MAX_CHANGED)
                    .map(|p| Rc::new(Changed::new(p)));
                DIFFS.with(|d| d.borrow_mut().insert((*t, own), found.clone()));
                found
            });
            diff?
        };
        return Some(Prior {
            state,
            changed,
            exact: back == 0,
            back,
        });
    }
    None
}

/// The view's own tree, when it is a commit's.
pub(super) fn own_tree(view: &TreeView) -> Option<[u8; 20]> {
    view.recent_trees(0).first().copied()
}

/// Keep `state` as the state of the scan of `tree` with `config`.
/// `prior`: the former state the scan started from (its units are copied as they
/// are encoded there).
pub(super) fn save(tree: &[u8; 20], config: &Config, state: &State, prior: Option<&Kept>) {
    let payload = encode(state, prior.map(|p| p.payload.as_slice()));
    parsecache::memo_put(&key(tree, config), &payload);
}

fn kind_byte(k: Option<Kind>) -> u8 {
    match k {
        None => 0,
        Some(Kind::File) => 1,
        Some(Kind::Dir) => 2,
        Some(Kind::Link) => 3,
        Some(Kind::Submodule) => 4,
        Some(Kind::BadName) => 5,
    }
}

fn byte_kind(b: u8) -> Option<Option<Kind>> {
    Some(match b {
        0 => None,
        1 => Some(Kind::File),
        2 => Some(Kind::Dir),
        3 => Some(Kind::Link),
        4 => Some(Kind::Submodule),
        5 => Some(Kind::BadName),
        _ => return None,
    })
}

/// `prior`: the payload of the former state that `s`'s copied units point into.
pub(super) fn encode(s: &State, prior: Option<&[u8]>) -> Vec<u8> {
    let mut w = Writer::new(STATE_PAYLOAD);
    w.count(s.units.len());
    for (dir, (u, at)) in &s.units {
        w.str(dir);
        match (prior, at) {
            (Some(p), Some(at)) if at.end <= p.len() => w.bytes(&p[at.clone()]),
            _ => {
                let mut one = Writer(Vec::new());
                one.unit(u);
                w.bytes(&one.0);
            }
        }
    }
    // A path deeper below a directory whose unit is kept is asked for only when
    // that directory is built again, after a change below it: not worth keeping (a
    // directory's own `kustomization.yaml` is asked for by its parent's build).
    let kinds: Vec<_> = s
        .kinds
        .iter()
        .filter(|(path, _)| {
            let above: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
            !above[..above.len().saturating_sub(1)]
                .iter()
                .any(|&i| s.units.contains_key(&path[..i]))
        })
        .collect();
    w.count(kinds.len());
    for (path, k) in kinds {
        w.str(path);
        w.0.push(kind_byte(*k));
    }
    w.count(s.records.len());
    for (path, info) in &s.records {
        w.record(path, info);
    }
    w.count(s.loaded.len());
    for l in &s.loaded {
        w.str(l);
    }
    w.0
}

/// Each `(key, value)` that `item` reads, `n` times, keys in increasing order.
fn sorted<T>(
    r: &mut parsecache::Reader,
    min: usize,
    mut item: impl FnMut(&mut parsecache::Reader) -> Option<(String, T)>,
) -> Option<Vec<(String, T)>> {
    let n = r.items(min)?;
    let mut out: Vec<(String, T)> = Vec::with_capacity(n);
    for _ in 0..n {
        let (k, v) = item(r)?;
        if out.last().is_some_and(|(last, _)| *last >= k) {
            return None;
        }
        out.push((k, v));
    }
    Some(out)
}

pub(super) fn decode(payload: Vec<u8>) -> Option<Kept> {
    let mut r = reader(&payload, STATE_PAYLOAD)?;
    let units = sorted(&mut r, 3, |r| {
        let dir = r.str()?.to_string();
        let unit = r.bytes()?.len();
        Some((dir, r.position() - unit..r.position()))
    })?;
    let kinds = sorted(&mut r, 2, |r| {
        Some((r.str()?.to_string(), byte_kind(r.byte()?)?))
    })?;
    let records = sorted(&mut r, 3, read_record)?;
    let loaded = (0..r.items(1)?)
        .map(|_| r.str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    r.end()?;
    Some(Kept {
        payload,
        units,
        kinds,
        records,
        loaded,
    })
}

/// Test hook (`PCTL_FAULT=trace-owners-state`, with the `fault-injection` feature):
/// say on stderr how the scan of `sync` answered.
#[cfg(feature = "fault-injection")]
pub(super) fn trace(sync: &str, how: &str) {
    if std::env::var("PCTL_FAULT").is_ok_and(|v| v == "trace-owners-state") {
        // Not user output (only test builds have it): straight to stderr, not through
        // the printer, which the scan has no access to.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "pctl test hook: ownership scan of {sync}: {how}"
        );
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(super) fn trace(_sync: &str, _how: &str) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namespaces::Obj;

    #[test]
    fn a_changed_path_touches_itself_its_directories_and_what_is_above_it() {
        let c = Changed::new(["a/b/c.yaml".to_string(), "x".to_string()]);
        for p in ["a/b/c.yaml", "a/b", "a", "", "x", "x/y/z"] {
            assert!(c.touches(p), "{p}");
        }
        for p in ["a/bc", "a/b/d.yaml", "b", "a/b/c.yaml.d", "xx"] {
            assert!(!c.touches(p), "{p}");
        }
        assert!(!Changed::default().touches(""));
        assert_eq!(c.below("a").collect::<Vec<_>>(), ["a/b/c.yaml"]);
        assert_eq!(c.below("").count(), 2);
        assert_eq!(c.below("a/b/c.yaml").count(), 0);
    }

    #[test]
    fn a_state_round_trips_and_another_format_is_not_read() {
        let mut s = State::default();
        let one = Rc::new(Unit {
            objs: vec![Obj {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: "n".into(),
                namespace: Some("a".into()),
                file: "c/p/one/cm.yaml".into(),
                doc: Rc::new(crate::yaml::Value::Null),
            }],
            built: vec!["c/p/one/sub".into()],
        });
        s.units.insert("c/p/one".into(), (one.clone(), None));
        s.kinds
            .insert("c/p/one/kustomization.yaml".into(), Some(Kind::File));
        s.kinds.insert("c/p/two/kustomization.yaml".into(), None);
        s.kinds
            .insert("c/p/one/sub/kustomization.yaml".into(), Some(Kind::File));
        s.records.insert(
            "c/p/one/profile-installation.yaml".into(),
            Rc::new(RecordInfo {
                name: "one".into(),
                bases: None,
            }),
        );
        s.loaded.push("c".into());
        let bytes = encode(&s, None);
        let back = decode(bytes.clone()).unwrap();
        let (unit, at) = back.unit("c/p/one").unwrap();
        assert_eq!(unit, one);
        // Written again from the former payload: the same bytes.
        let mut again = State::default();
        again
            .units
            .insert("c/p/one".into(), (one.clone(), Some(at.clone())));
        again.kinds = s.kinds.clone();
        again.records = s.records.clone();
        again.loaded = s.loaded.clone();
        assert_eq!(encode(&again, Some(&back.payload)), bytes);
        assert_eq!(back.unit("c/p"), None);
        assert_eq!(back.kind("c/p/two/kustomization.yaml"), Some(None));
        assert_eq!(
            back.kind("c/p/one/kustomization.yaml"),
            Some(Some(Kind::File)),
            "its parent's build asks"
        );
        assert_eq!(
            back.kind("c/p/one/sub/kustomization.yaml"),
            None,
            "below a unit"
        );
        assert_eq!(back.kind("c/p/three"), None);
        assert_eq!(
            back.records,
            [s.records
                .first_key_value()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap()]
        );
        assert_eq!(back.loaded, s.loaded);
        assert!(
            decode(bytes[..bytes.len() - 1].to_vec()).is_none(),
            "truncated"
        );
        let mut other = bytes.clone();
        other[1] = b'u';
        assert!(decode(other.clone()).is_none(), "a unit's payload");
        other[1] = STATE_PAYLOAD;
        other[0] ^= 1;
        assert!(decode(other).is_none(), "another version");
    }
}
