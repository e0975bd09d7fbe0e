//! The ownership scan of a whole tree remembered by the Git ids of what it read
//! (docs/architecture.md#the-ownership-scan-of-a-whole-tree): its key (the sync
//! path's tree id) and payload (the other directories it read, with their ids, then
//! the claims and starts), kept when a scan walks or by a write for the tree it
//! commits ([`super::derive`]), and read by the next scan instead of walking.
use super::{Start, Tree};
use crate::git::{TreeMemo, TreeView, parsecache};
use crate::gitops::Config;
use crate::ownership::{Claim, Owner};
use std::collections::BTreeMap;

/// The kind of memo, and the first byte of its payload: another value is another
/// format.
pub(super) const KIND: &str = "owners-tree";
const VERSION: u8 = 2;
/// The tags of a payload's blocks: some starts and claims ([`section`]), or the
/// tree ids of some directories (the ids a write asks the commit for:
/// `TreeMemo::ids_of`).
const SECTION: u8 = b's';
pub(super) const IDS: u8 = b'i';

/// The inputs of a scan besides the tree: the format and the settings it reads.
pub(super) fn parts(config: &Config) -> Vec<Vec<u8>> {
    vec![
        vec![VERSION],
        config.sync_path.as_bytes().to_vec(),
        config.git_repository.name.as_bytes().to_vec(),
        config.git_repository.namespace.as_bytes().to_vec(),
    ]
}

/// The directory whose tree id keys the memo: the sync path.
pub(super) fn keyed_by(config: &Config) -> Option<String> {
    crate::gitops::norm_dir(&config.sync_path).ok()
}

/// The scan of the tree in `view`, when a former scan or write kept one with the same
/// sync path tree and the same trees at the other directories it read.
pub(super) fn recall(view: &TreeView, config: &Config) -> Option<Tree> {
    let id = view.dir_key(&keyed_by(config)?).ok()??;
    let bytes = parsecache::memo_get(&TreeMemo::key(KIND, &parts(config), &id))?;
    let tree = decode(&bytes, config, view.tree_id()?)?;
    for (dir, id) in &tree.loaded {
        if view.dir_key(dir).ok()?.as_deref() != id.as_ref().map(|i| &i[..]) {
            return None;
        }
    }
    Some(tree)
}

/// Keep the scan `tree` of the tree in `view`.
pub(super) fn keep(view: &TreeView, config: &Config, tree: &Tree) {
    let Some(id) = keyed_by(config).and_then(|d| view.dir_key(&d).ok().flatten()) else {
        return;
    };
    parsecache::memo_put(&TreeMemo::key(KIND, &parts(config), &id), &encode(tree));
}

// ---------------------------------------------------------------- encoding

use parsecache::{put_opt, put_str};

/// A payload: the format's version, then one or more sections, each some walk starts
/// (with the tree ids of those in `dirs`) and some claims with their owners. A scan
/// written out is one section; an install's memo of the tree it commits adds one.
pub(super) fn encode(tree: &Tree) -> Vec<u8> {
    let mut out = vec![VERSION];
    parsecache::put_len(&mut out, tree.loaded.len());
    for (dir, id) in &tree.loaded {
        put_str(&mut out, dir);
        match id {
            None => out.push(0),
            Some(id) => {
                out.push(1);
                out.extend_from_slice(id);
            }
        }
    }
    let index: Vec<(&Claim, &[Owner])> =
        tree.index.iter().map(|(c, o)| (c, o.as_slice())).collect();
    section(&mut out, &tree.starts, &tree.dirs, &index);
    out
}

pub(super) fn section(
    out: &mut Vec<u8>,
    starts: &[Start],
    dirs: &[(String, [u8; 20])],
    index: &[(&Claim, &[Owner])],
) {
    let ids: BTreeMap<&str, &[u8; 20]> = dirs.iter().map(|(d, id)| (d.as_str(), id)).collect();
    out.push(SECTION);
    parsecache::put_len(out, starts.len());
    for s in starts {
        put_str(out, &s.dir);
        put_str(out, &s.default_namespace);
        put_opt(out, s.target_namespace.as_deref());
        match ids.get(s.dir.as_str()) {
            None => out.push(0),
            Some(id) => {
                out.push(1);
                out.extend_from_slice(&id[..]);
            }
        }
    }
    parsecache::put_len(out, index.len());
    for (claim, owners) in index {
        match claim {
            Claim::Object {
                kind,
                namespace,
                name,
            } => {
                out.push(b'o');
                put_str(out, kind);
                put_str(out, namespace);
                put_str(out, name);
            }
            Claim::Release {
                name,
                storage_namespace,
            } => {
                out.push(b'r');
                put_str(out, name);
                put_str(out, storage_namespace);
            }
        }
        parsecache::put_len(out, owners.len());
        for o in *owners {
            put_opt(out, o.installation.as_deref());
            put_str(out, &o.file);
        }
    }
}

fn decode(bytes: &[u8], config: &Config, root: String) -> Option<Tree> {
    let mut r = parsecache::Reader::new(bytes);
    if r.byte()? != VERSION {
        return None;
    }
    let s = |r: &mut parsecache::Reader| r.str().map(str::to_string);
    let n = r.items(2)?;
    let mut loaded = Vec::with_capacity(n);
    for _ in 0..n {
        let dir = s(&mut r)?;
        let id = match r.byte()? {
            0 => None,
            1 => Some(r.take(20)?.try_into().ok()?),
            _ => return None,
        };
        loaded.push((dir, id));
    }
    let opt = |r: &mut parsecache::Reader| match r.byte()? {
        0 => Some(None),
        1 => Some(Some(r.str()?.to_string())),
        _ => None,
    };
    let mut starts = Vec::new();
    let mut dirs = Vec::new();
    let mut entries: Vec<(Claim, Vec<Owner>)> = Vec::new();
    let mut sections = 0;
    while r.left() > 0 {
        match r.byte()? {
            SECTION => {}
            IDS => {
                let n = r.items(2)?;
                for _ in 0..n {
                    let dir = s(&mut r)?;
                    match r.byte()? {
                        0 => {}
                        1 => dirs.push((dir, r.take(20)?.try_into().ok()?)),
                        _ => return None,
                    }
                }
                continue;
            }
            _ => return None,
        }
        sections += 1;
        let n = r.items(4)?;
        starts.reserve(n);
        for _ in 0..n {
            let start = Start {
                dir: s(&mut r)?,
                default_namespace: s(&mut r)?,
                target_namespace: opt(&mut r)?,
            };
            match r.byte()? {
                0 => {}
                1 => dirs.push((start.dir.clone(), r.take(20)?.try_into().ok()?)),
                _ => return None,
            }
            starts.push(start);
        }
        let n = r.items(4)?;
        entries.reserve(n);
        for _ in 0..n {
            let claim = match r.byte()? {
                b'o' => Claim::Object {
                    kind: s(&mut r)?,
                    namespace: s(&mut r)?,
                    name: s(&mut r)?,
                },
                b'r' => Claim::Release {
                    name: s(&mut r)?,
                    storage_namespace: s(&mut r)?,
                },
                _ => return None,
            };
            let k = r.items(2)?;
            let mut owners = Vec::with_capacity(k);
            for _ in 0..k {
                owners.push(Owner {
                    installation: opt(&mut r)?,
                    file: s(&mut r)?,
                });
            }
            entries.push((claim, owners));
        }
    }
    if sections == 0 {
        return None;
    }
    // Sections merged: a claim's owners from every section, sorted.
    if sections > 1 {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        starts.sort();
    }
    let mut merged: Vec<(Claim, Vec<Owner>)> = Vec::with_capacity(entries.len());
    for (claim, owners) in entries {
        match merged.last_mut() {
            Some((last, theirs)) if *last == claim => {
                theirs.extend(owners);
                theirs.sort();
            }
            _ => merged.push((claim, owners)),
        }
    }
    Some(Tree {
        git_repository: config.git_repository.clone(),
        index: merged.into_iter().collect(),
        starts,
        root: Some(root),
        dirs,
        loaded,
        kept: Some(bytes.into()),
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        let owner = |i: Option<&str>, f: &str| Owner {
            installation: i.map(str::to_string),
            file: f.into(),
        };
        Tree {
            git_repository: crate::flux::GitRepositoryRef {
                name: "flux-system".into(),
                namespace: "flux-system".into(),
            },
            index: BTreeMap::from([
                (
                    Claim::Object {
                        kind: "Namespace".into(),
                        namespace: String::new(),
                        name: "a".into(),
                    },
                    vec![owner(None, "x/ns.yaml"), owner(Some("a"), "p/a/ns.yaml")],
                ),
                (
                    Claim::Release {
                        name: "a-web".into(),
                        storage_namespace: "a".into(),
                    },
                    vec![owner(Some("a"), "p/a/artifacts/web/helm-release.yaml")],
                ),
            ]),
            starts: vec![
                Start {
                    dir: "clusters/default".into(),
                    default_namespace: "flux-system".into(),
                    target_namespace: None,
                },
                Start {
                    dir: "p/a/artifacts/web".into(),
                    default_namespace: "a".into(),
                    target_namespace: Some("a".into()),
                },
            ],
            root: Some("ab".repeat(20)),
            dirs: vec![("p/a/artifacts/web".into(), [7; 20])],
            kept: None,
            loaded: vec![("bases/x".into(), Some([9; 20])), ("gone".into(), None)],
            sections: 1,
        }
    }

    fn config() -> Config {
        crate::yaml::from_str(
            "test",
            "gitRepository: {name: flux-system, namespace: flux-system}\nsyncPath: clusters/default\n",
        )
        .expect("config")
    }

    #[test]
    fn a_scan_reads_back_as_it_was_written_and_nothing_else_decodes() {
        let t = tree();
        let bytes = encode(&t);
        let back = decode(&bytes, &config(), "ab".repeat(20)).expect("decodes");
        assert_eq!(back, t);
        assert_eq!(back.dirs, t.dirs);
        assert_eq!(back.loaded, t.loaded);
        assert_eq!(back.kept.as_deref(), Some(bytes.as_slice()));
        // Every cut is refused, as is another version.
        for n in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..n], &config(), "x".into()),
                None,
                "cut at {n}"
            );
        }
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert_eq!(decode(&other, &config(), "x".into()), None);
        let mut longer = bytes;
        longer.push(0);
        assert_eq!(decode(&longer, &config(), "x".into()), None);
    }

    #[test]
    fn a_second_section_adds_its_starts_and_owners_in_order() {
        let t = tree();
        let mut bytes = encode(&t);
        let ns = Claim::Object {
            kind: "Namespace".into(),
            namespace: String::new(),
            name: "a".into(),
        };
        let cm = Claim::Object {
            kind: "ConfigMap".into(),
            namespace: "b".into(),
            name: "c".into(),
        };
        let owner = |f: &str| Owner {
            installation: Some("b".into()),
            file: f.into(),
        };
        let early = Start {
            dir: "a/first".into(),
            default_namespace: "flux-system".into(),
            target_namespace: None,
        };
        let (o1, o2) = ([owner("p/b/ns.yaml")], [owner("p/b/cm.yaml")]);
        section(
            &mut bytes,
            std::slice::from_ref(&early),
            &[],
            &[(&ns, &o1[..]), (&cm, &o2[..])],
        );
        // The ids a write asks its commit for, appended as the workspace does.
        bytes.push(IDS);
        parsecache::put_len(&mut bytes, 2);
        parsecache::put_bytes(&mut bytes, b"p/b/artifacts/x");
        bytes.push(1);
        bytes.extend_from_slice(&[3; 20]);
        parsecache::put_bytes(&mut bytes, b"p/b/artifacts/gone");
        bytes.push(0);
        let back = decode(&bytes, &config(), "x".into()).expect("decodes");
        assert_eq!(back.sections, 2);
        assert_eq!(
            back.dirs,
            vec![
                ("p/a/artifacts/web".to_string(), [7; 20]),
                ("p/b/artifacts/x".to_string(), [3; 20])
            ]
        );
        let mut want = t.clone();
        want.root = Some("x".into());
        want.starts.insert(0, early);
        want.index.insert(cm, o2.to_vec());
        // Sorted among the owners found before: installation None, then a, then b.
        want.index.get_mut(&ns).unwrap().push(o1[0].clone());
        assert_eq!(back, want);
        assert_eq!(back.index[&ns][2].file, "p/b/ns.yaml");
    }
}
