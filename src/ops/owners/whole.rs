//! The ownership scan of a whole tree remembered by the tree's Git id
//! (docs/architecture.md#the-ownership-scan-of-a-whole-tree): kept when a scan walks a
//! tree, and made by an install for the tree it commits, from the scan of the tree it
//! started from and its own claims, when nothing but its own directory can change
//! what the walk finds there. The next scan of that tree reads it instead of walking.
use super::{Start, Tree};
use crate::git::{Changes, TreeMemo, TreeView, parsecache};
use crate::gitops::Config;
use crate::ownership::{Claim, Owned, Owner};
use crate::yaml::Value;
use std::collections::BTreeMap;

/// The kind of memo, and the first byte of its payload: another value is another
/// format.
const KIND: &str = "owners-tree";
const VERSION: u8 = 1;

/// The inputs of a scan besides the tree: the format and the settings it reads.
fn parts(config: &Config) -> Vec<Vec<u8>> {
    vec![
        vec![VERSION],
        config.sync_path.as_bytes().to_vec(),
        config.git_repository.name.as_bytes().to_vec(),
        config.git_repository.namespace.as_bytes().to_vec(),
    ]
}

/// The scan of tree `root` (hex) as a former scan or install kept it.
pub(super) fn recall(root: &str, config: &Config) -> Option<Tree> {
    let bytes = parsecache::memo_get(&TreeMemo::key(KIND, root, &parts(config)))?;
    decode(&bytes, config, root)
}

/// Keep the scan `tree` of tree `root` (hex).
pub(super) fn keep(root: &str, config: &Config, tree: &Tree) {
    TreeMemo {
        kind: KIND,
        parts: parts(config),
        payload: encode(tree),
    }
    .keep(root);
}

/// Whether `path` is `dir` or below it.
fn within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
}

/// The scan of the tree that `changes` (an install's whole change) commits on the tree
/// `tree` scanned in `view`: `tree` with the claims `mine` of the installation in
/// `install_dir` (below `parent`) added, and the starts `rendered_starts` of the walk
/// of its rendering from `install_dir` (`claims_noting`). None, and the next scan
/// walks, unless the walk of the new tree can only differ there:
///
/// - the change writes only below `install_dir` and `parent`'s `kustomization.yaml`;
/// - no walk start of the old tree lies in `install_dir`, and exactly one is above
///   it, applying no `targetNamespace` and defaulting to the GitRepository's
///   namespace (as `claims_noting`'s walk does);
/// - every directory from that start down to `parent` has a `kustomization.yaml` with
///   only `apiVersion`, `kind` and `resources`, which lists the next directory down
///   (so nothing on the way renames, moves or patches what it builds);
/// - every start of the rendering's walk is in `install_dir`.
///
/// Debug builds compare the memo with a walk whenever a scan uses it.
#[allow(clippy::too_many_arguments)]
pub fn after_install(
    view: &TreeView,
    config: &Config,
    tree: &Tree,
    changes: &Changes,
    parent: &str,
    install_dir: &str,
    mine: &[Owned],
    rendered_starts: &[Start],
) -> Option<TreeMemo> {
    // The scan must be of the tree the change is made on.
    if tree.root.is_none() || view.tree_id() != tree.root {
        return None;
    }
    let parent_k = crate::gitops::join(parent, "kustomization.yaml");
    let ok_paths = changes.files.iter().all(|(path, content)| {
        content.is_some() && (path == &parent_k || within(path, install_dir))
    });
    if !ok_paths || !within(install_dir, parent) || install_dir == parent {
        return None;
    }
    if tree.starts.iter().any(|s| within(&s.dir, install_dir)) {
        return None;
    }
    let mut above = tree.starts.iter().filter(|s| within(install_dir, &s.dir));
    let (Some(start), None) = (above.next(), above.next()) else {
        return None;
    };
    if start.target_namespace.is_some()
        || start.default_namespace != config.git_repository.namespace
        || !within(parent, &start.dir)
    {
        return None;
    }
    // From the start down to the installation, nothing that changes what is built.
    let below = install_dir
        .strip_prefix(start.dir.as_str())
        .unwrap_or(install_dir)
        .trim_start_matches('/');
    let mut dir = start.dir.clone();
    for next in below.split('/') {
        if !passes_through(view, changes, &dir, next, dir == parent)? {
            return None;
        }
        dir = crate::gitops::join(&dir, next);
    }
    match rendered_starts.split_first() {
        Some((first, rest))
            if first.dir == install_dir && rest.iter().all(|s| within(&s.dir, install_dir)) => {}
        _ => return None,
    }
    // The old tree's memo (or the scan, written out), then the installation's claims
    // and starts as a section of their own. The directory ids it holds stay true in
    // the new tree unless one is the installation's or above it.
    let moved = |d: &str| within(d, install_dir) || within(install_dir, d);
    let mut payload = match &tree.kept {
        Some(kept) if !tree.dirs.iter().any(|(d, _)| moved(d)) => kept.to_vec(),
        _ => {
            let mut out = vec![VERSION];
            let dirs: Vec<(String, [u8; 20])> = tree
                .dirs
                .iter()
                .filter(|(d, _)| !moved(d))
                .cloned()
                .collect();
            let index: Vec<(&Claim, &[Owner])> =
                tree.index.iter().map(|(c, o)| (c, o.as_slice())).collect();
            section(&mut out, &tree.starts, &dirs, &index);
            out
        }
    };
    let mut mine_by_claim: BTreeMap<&Claim, Vec<Owner>> = BTreeMap::new();
    for m in mine {
        mine_by_claim
            .entry(&m.claim)
            .or_default()
            .push(m.owner.clone());
    }
    let index: Vec<(&Claim, &[Owner])> = mine_by_claim
        .iter_mut()
        .map(|(c, o)| {
            o.sort();
            (*c, o.as_slice())
        })
        .collect();
    section(&mut payload, &rendered_starts[1..], &[], &index);
    Some(TreeMemo {
        kind: KIND,
        parts: parts(config),
        payload,
    })
}

/// Whether directory `dir` builds its subdirectory `next` as it is, before and after
/// `changes` (None: a read failed). Without a kustomization file it does (Flux's
/// generated kustomization: every YAML file below, a subdirectory with a kustomization
/// built as one), unchanged by the change. With `kustomization.yaml`, when it is
/// [`plain`] and lists `next`; the installation's `parent` may gain `next` in the
/// change and nothing else. Another kustomization file name: no.
fn passes_through(
    view: &TreeView,
    changes: &Changes,
    dir: &str,
    next: &str,
    parent: bool,
) -> Option<bool> {
    use crate::gitops::join;
    for other in ["kustomization.yml", "Kustomization"] {
        let p = join(dir, other);
        if changes.files.contains_key(&p) || view.read(&p).ok()?.is_some() {
            return Some(false);
        }
    }
    let k = join(dir, "kustomization.yaml");
    let before = view.read_string(&k).ok()?;
    let after = match changes.files.get(&k) {
        Some(Some(bytes)) => Some(String::from_utf8(bytes.clone()).ok()?),
        Some(None) => return Some(false),
        None => before.clone(),
    };
    Some(match (before, after) {
        (None, None) => !parent,
        (Some(before), Some(after)) => match (plain(&k, &before), plain(&k, &after)) {
            (Some(old), Some(new)) => {
                let listed = |list: &[String]| list.iter().any(|r| r == next);
                let mut added = new.clone();
                if let Some(at) = added.iter().position(|r| r == next)
                    && !listed(&old)
                    && parent
                {
                    added.remove(at);
                }
                listed(&new) && added == old
            }
            _ => false,
        },
        _ => false,
    })
}

/// The resources of the kustomization `text` (file `origin`), each without `./` and
/// a trailing `/`, when it has only `apiVersion`, `kind` and `resources`, every
/// resource a path.
fn plain(origin: &str, text: &str) -> Option<Vec<String>> {
    let doc = crate::check::build::one_document_shared(origin, text).ok()?;
    let Value::Object(map) = &*doc else {
        return None;
    };
    if map
        .keys()
        .any(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "resources"))
    {
        return None;
    }
    match map.get("resources") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(resources)) => resources
            .iter()
            .map(|r| {
                r.as_str()
                    .map(|r| r.trim_start_matches("./").trim_end_matches('/').to_string())
            })
            .collect(),
        Some(_) => None,
    }
}

// ---------------------------------------------------------------- encoding

fn put_str(out: &mut Vec<u8>, s: &str) {
    parsecache::put_bytes(out, s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// A payload: the format's version, then one or more sections, each some walk starts
/// (with the tree ids of those in `dirs`) and some claims with their owners. A scan
/// written out is one section; an install's memo of the tree it commits adds one.
fn encode(tree: &Tree) -> Vec<u8> {
    let mut out = vec![VERSION];
    let index: Vec<(&Claim, &[Owner])> =
        tree.index.iter().map(|(c, o)| (c, o.as_slice())).collect();
    section(&mut out, &tree.starts, &tree.dirs, &index);
    out
}

fn section(
    out: &mut Vec<u8>,
    starts: &[Start],
    dirs: &[(String, [u8; 20])],
    index: &[(&Claim, &[Owner])],
) {
    let ids: BTreeMap<&str, &[u8; 20]> = dirs.iter().map(|(d, id)| (d.as_str(), id)).collect();
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

fn decode(bytes: &[u8], config: &Config, root: &str) -> Option<Tree> {
    let mut r = parsecache::Reader::new(bytes);
    if r.byte()? != VERSION {
        return None;
    }
    let s = |r: &mut parsecache::Reader| r.str().map(str::to_string);
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
        root: Some(root.to_string()),
        dirs,
        kept: Some(bytes.into()),
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
        let back = decode(&bytes, &config(), &"ab".repeat(20)).expect("decodes");
        assert_eq!(back, t);
        assert_eq!(back.dirs, t.dirs);
        assert_eq!(back.kept.as_deref(), Some(bytes.as_slice()));
        // Every cut is refused, as is another version.
        for n in 0..bytes.len() {
            assert_eq!(decode(&bytes[..n], &config(), "x"), None, "cut at {n}");
        }
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert_eq!(decode(&other, &config(), "x"), None);
        let mut longer = bytes;
        longer.push(0);
        assert_eq!(decode(&longer, &config(), "x"), None);
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
        let back = decode(&bytes, &config(), "x").expect("decodes");
        let mut want = t.clone();
        want.root = Some("x".into());
        want.starts.insert(0, early);
        want.index.insert(cm, o2.to_vec());
        // Sorted among the owners found before: installation None, then a, then b.
        want.index.get_mut(&ns).unwrap().push(o1[0].clone());
        assert_eq!(back, want);
        assert_eq!(back.index[&ns][2].file, "p/b/ns.yaml");
    }

    #[test]
    fn only_a_kustomization_of_resources_is_plain() {
        let k = "k";
        let list = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a\n- ./b/\n";
        assert_eq!(plain(k, list), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(plain(k, "resources: []\n"), Some(vec![]));
        assert_eq!(plain(k, "kind: Kustomization\n"), Some(vec![]));
        for extra in [
            "namespace: other\n",
            "namePrefix: x-\n",
            "patches: []\n",
            "components: [c]\n",
            "commonLabels: {a: b}\n",
        ] {
            assert_eq!(
                plain(k, &format!("{list}{extra}")),
                None,
                "{extra} changes what the directory builds"
            );
        }
        assert_eq!(plain(k, "resources: [a, {b: c}]\n"), None);
        assert_eq!(plain(k, "resources: a\n"), None);
        assert_eq!(plain(k, "- a\n"), None);
        assert_eq!(plain(k, "resources: [a\n"), None);
    }
}
