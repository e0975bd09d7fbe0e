//! The ownership check of `install` and `upgrade` (docs/layout.md#ownership): reads the
//! GitOps repository once, walks it from the sync path as Flux does
//! ([`crate::ownership::walk`]), and refuses a rendering that produces an object or a
//! Helm release that another installation or the rest of the tree already produces.
use crate::error::user;
use crate::git::TreeView;
use crate::gitops::{self, Config, GitRepositoryRef};
use crate::namespaces::Obj;
use crate::ownership::{self, Start};
use crate::record;
use crate::render::Rendered;
use crate::yaml::At;
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// What the GitOps repository applies, as found before a change.
#[derive(Debug, Clone)]
pub struct Tree {
    git_repository: GitRepositoryRef,
    /// Every claim of the tree with its owners (sorted), made once: `upgrade --all`
    /// asks it once per installation.
    index: BTreeMap<ownership::Claim, Vec<ownership::Owner>>,
    /// Where the walk started and every Flux Kustomization it followed, sorted: what
    /// tells whether a change can update the scan without walking again
    /// ([`whole::after_install`]).
    starts: Vec<Start>,
    /// The id of the tree scanned (hex), when the view is a commit's.
    root: Option<String>,
    /// The tree ids of the starts below an installation's directory (each is the
    /// same in a tree the install of another installation commits): told to the view
    /// when the scan is read whole, so that the commit guard finds those directories
    /// without reading their trees (`TreeView::know_dirs`).
    dirs: Vec<(String, [u8; 20])>,
    /// The memo the scan was read from, when it was: an install's memo of the tree it
    /// commits is this one with its own claims after it.
    kept: Option<Rc<[u8]>>,
    /// The directories outside the sync path the scan read, with their tree ids (None:
    /// not a directory): a scan kept for the same sync path tree holds for a tree
    /// where these are the same.
    loaded: Vec<(String, Option<[u8; 20]>)>,
    /// How many sections the memo it was read from has (one per write since a walk).
    sections: usize,
}

/// Two scans are the same when they find the same claims from the same starts (the
/// directory ids they know and where they were read from aside).
impl PartialEq for Tree {
    fn eq(&self, other: &Tree) -> bool {
        self.git_repository == other.git_repository
            && self.index == other.index
            && self.starts == other.starts
            && self.root == other.root
    }
}

mod derive;
mod subtrees;
mod whole;
pub use derive::{after_change, after_install};

/// What an installation record says that the scan needs.
#[derive(Debug, Clone, PartialEq)]
struct RecordInfo {
    /// The installation's name (its directory's when the record has none).
    name: String,
    /// Its bases (docs/fleets.md#one-install-several-clusters-one-copy), when it has some.
    bases: Option<BTreeMap<String, record::BaseRecord>>,
}

impl RecordInfo {
    /// The record in the file `path` (`<dir>/profile-installation.yaml`).
    fn of(path: &str, bytes: &[u8]) -> RecordInfo {
        let dir = path
            .strip_suffix(record::FILE)
            .map_or(path, |d| d.trim_end_matches('/'));
        let text = std::str::from_utf8(bytes).ok();
        let name = text
            .and_then(record::quick_name)
            .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or(dir).to_string());
        let bases = text.filter(|t| t.contains("\n  bases:\n")).and_then(|t| {
            record::quick_bases(path, t).or_else(|| {
                record::Installation::from_yaml(path, t)
                    .ok()
                    .map(|i| i.spec.bases)
            })
        });
        RecordInfo { name, bases }
    }
}

/// How a scan reads the repository: every file of each directory read
/// ([`WholeFiles`]), or only what the walk asks for, remembered by tree id
/// ([`subtrees::TreeFiles`]).
trait Source {
    /// Read directory `dir` too.
    fn load(&mut self, dir: &str) -> Result<()>;
    /// The installation records read so far, by file path.
    fn records(&self) -> &BTreeMap<String, Rc<RecordInfo>>;
    /// What was read, for a walk.
    fn files(&self) -> &dyn crate::namespaces::Files;
    /// [`ownership::walk_noting`] over what was read.
    fn walk(
        &self,
        starts: Vec<Start>,
        git_repository: &GitRepositoryRef,
        walked: &mut Vec<Start>,
    ) -> Vec<Obj> {
        ownership::walk_noting(self.files(), starts, git_repository, walked)
    }
}

/// Every file of each directory read, in memory (the scan as it was first written:
/// the reference the memoised scan is checked against, and its fallback).
struct WholeFiles<'v> {
    view: &'v TreeView,
    files: BTreeMap<String, Vec<u8>>,
    records: BTreeMap<String, Rc<RecordInfo>>,
}

impl Source for WholeFiles<'_> {
    fn load(&mut self, dir: &str) -> Result<()> {
        let suffix = format!("/{}", record::FILE);
        for (path, bytes) in self.view.files_below(dir)? {
            if path.ends_with(&suffix) && !self.records.contains_key(&path) {
                let info = RecordInfo::of(&path, &bytes);
                self.records.insert(path.clone(), Rc::new(info));
            }
            self.files.insert(path, bytes);
        }
        Ok(())
    }

    fn records(&self) -> &BTreeMap<String, Rc<RecordInfo>> {
        &self.records
    }

    fn files(&self) -> &dyn crate::namespaces::Files {
        &self.files
    }
}

/// [`subtrees::TreeFiles`] and the records below the directories it read.
struct Remembered<'v> {
    files: subtrees::TreeFiles<'v>,
    records: BTreeMap<String, Rc<RecordInfo>>,
}

impl Source for Remembered<'_> {
    fn load(&mut self, dir: &str) -> Result<()> {
        let Some(found) = self.files.load(dir) else {
            bail!("{dir} needs the careful walk");
        };
        for (path, info) in &found.found {
            self.records
                .entry(path.clone())
                .or_insert_with(|| info.clone());
        }
        Ok(())
    }

    fn records(&self) -> &BTreeMap<String, Rc<RecordInfo>> {
        &self.records
    }

    fn files(&self) -> &dyn crate::namespaces::Files {
        &self.files
    }
}

/// Walk the repository in `view` from `config`'s sync path. A scan of the same
/// tree remembered whole (by a scan, or made by the write that committed it:
/// [`after_install`], [`after_change`]) is used as it is; else the walk reads only the directories
/// whose Git trees a former scan did not remember
/// (docs/architecture.md#the-ownership-scans-memos), every file when something there
/// needs the careful walk, and the result is remembered for the tree. Debug builds
/// also read every file and compare.
pub fn scan(view: &TreeView, config: &Config) -> Result<Tree> {
    if let Some(tree) = recalled(view, config)? {
        return Ok(tree);
    }
    let tree = walked_scan(view, config)?;
    whole::keep(view, config, &tree);
    Ok(tree)
}

/// The scan of the tree in `view` when one is kept whole (never walked: None
/// otherwise). Debug builds walk too and compare.
pub fn recalled(view: &TreeView, config: &Config) -> Result<Option<Tree>> {
    let Some(tree) = whole::recall(view, config) else {
        return Ok(None);
    };
    #[cfg(debug_assertions)]
    {
        let walked = walked_scan(view, config)?;
        assert!(
            tree == walked,
            "the remembered scan of tree {:?} ({}) differs from walking it:\n{tree:#?}\n--- walked:\n{walked:#?}",
            view.tree_id(),
            config.sync_path
        );
    }
    view.know_dirs("", &tree.dirs);
    // A walk would have read two memos per start, about: keep room for them.
    crate::git::parsecache::stands_for(2 * tree.starts.len());
    Ok(Some(tree))
}

/// [`scan`] by walking.
fn walked_scan(view: &TreeView, config: &Config) -> Result<Tree> {
    let whole = || {
        let mut src = WholeFiles {
            view,
            files: BTreeMap::new(),
            records: BTreeMap::new(),
        };
        scan_with(&mut src, config, view)
    };
    let mut src = Remembered {
        files: subtrees::TreeFiles::new(view),
        records: BTreeMap::new(),
    };
    let tree = match scan_with(&mut src, config, view) {
        Ok(t) if !src.files.odd() => t,
        _ => return whole(),
    };
    #[cfg(debug_assertions)]
    {
        let old = whole()?;
        assert!(
            tree == old,
            "the remembered ownership scan of {} differs from reading every file:\n{tree:#?}\n--- every file:\n{old:#?}",
            config.sync_path,
        );
    }
    Ok(tree)
}

fn scan_with(src: &mut impl Source, config: &Config, view: &TreeView) -> Result<Tree> {
    // Read what Flux reaches: the sync path, then the paths its Kustomizations name
    // outside it (the rest of the repository, often large, is never read).
    let sync = gitops::norm_dir(&config.sync_path)?;
    let mut loaded = vec![sync.clone()];
    src.load(&sync)?;
    // Wrappers stored once for several clusters, named by an installation's
    // kustomization.yaml (docs/fleets.md#one-install-several-clusters-one-copy).
    let mut examined = BTreeSet::new();
    for p in shared_wrapper_dirs(src.records(), &mut examined) {
        if !is_loaded(&loaded, &p) {
            src.load(&p)?;
            loaded.push(p);
        }
    }
    let start = || {
        vec![Start {
            dir: config.sync_path.clone(),
            default_namespace: config.git_repository.namespace.clone(),
            target_namespace: None,
        }]
    };
    let mut walked = Vec::new();
    let mut objs = src.walk(start(), &config.git_repository, &mut walked);
    for _ in 0..8 {
        let mut wanted: Vec<String> = objs
            .iter()
            .filter(|o| {
                o.kind == "Kustomization"
                    && o.api_version.starts_with("kustomize.toolkit.fluxcd.io/")
            })
            .filter_map(|o| o.doc.at("/spec/path").and_then(|p| p.as_str()))
            .map(ownership::flux_path)
            .collect();
        wanted.extend(shared_wrapper_dirs(src.records(), &mut examined));
        wanted.retain(|p| !is_loaded(&loaded, p));
        if wanted.is_empty() {
            break;
        }
        for p in wanted {
            if is_loaded(&loaded, &p) {
                continue;
            }
            src.load(&p)?;
            loaded.push(p);
        }
        walked.clear();
        objs = src.walk(start(), &config.git_repository, &mut walked);
    }
    let mut installations = BTreeMap::new();
    let mut shared = Vec::new();
    for (path, info) in src.records() {
        let Some(dir) = path.strip_suffix(&format!("/{}", record::FILE)) else {
            continue;
        };
        installations.insert(dir.to_string(), info.name.clone());
        if let Some(bases) = &info.bases {
            shared.push((dir.to_string(), bases.clone()));
        }
    }
    // The files of a fleet base belong to the installation of this cluster that uses it.
    relocate(&mut objs, &shared);
    let mut index: BTreeMap<ownership::Claim, Vec<ownership::Owner>> = BTreeMap::new();
    for c in ownership::claims(&objs, &installations) {
        index.entry(c.claim).or_default().push(c.owner);
    }
    for owners in index.values_mut() {
        owners.sort();
    }
    walked.sort();
    let mut dirs = Vec::new();
    for s in &walked {
        if ownership::installation_of(&s.dir, &installations).is_some()
            && let Some(id) = view.dir_key(&s.dir)?
            && let Ok(id) = <[u8; 20]>::try_from(id.as_slice())
        {
            dirs.push((s.dir.clone(), id));
        }
    }
    Ok(Tree {
        git_repository: config.git_repository.clone(),
        index,
        starts: walked,
        root: view.tree_id(),
        dirs,
        kept: None,
        loaded: loaded
            .iter()
            .filter(|d| **d != sync)
            .map(|d| {
                let id = view.dir_key(d).ok().flatten();
                let id = id.and_then(|id| <[u8; 20]>::try_from(id.as_slice()).ok());
                (d.clone(), id)
            })
            .collect(),
        sections: 0,
    })
}

/// Whether `p` is below a directory already read.
fn is_loaded(loaded: &[String], p: &str) -> bool {
    loaded.iter().any(|l| {
        l.is_empty()
            || p.strip_prefix(l.as_str())
                .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    })
}

/// The directories of shared wrappers and artifact bases that the records (not yet
/// `examined`) use.
fn shared_wrapper_dirs(
    records: &BTreeMap<String, Rc<RecordInfo>>,
    examined: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (path, info) in records {
        if !examined.insert(path.clone()) {
            continue;
        }
        // The artifacts' own bases too, which their wrappers name: read with the
        // rest, they spare a second walk of the whole tree for each cluster.
        for b in info.bases.iter().flat_map(|b| b.values()) {
            if b.wrapper {
                out.push(gitops::bases::wrapper_dir(b));
            }
            if b.holds == record::Holds::Artifact {
                out.push(b.path.clone());
            }
        }
    }
    out
}

/// Objects read from a fleet base
/// (docs/fleets.md#one-install-several-clusters-one-copy) as if they were in the
/// directory of the installation (`dir`, its `bases`) that uses it.
fn relocate(objs: &mut [Obj], shared: &[(String, BTreeMap<String, record::BaseRecord>)]) {
    if shared.iter().all(|(_, b)| b.is_empty()) {
        return;
    }
    for o in objs.iter_mut() {
        for (dir, bases) in shared {
            if o.file
                .strip_prefix(dir.as_str())
                .is_some_and(|r| r.starts_with('/'))
            {
                break;
            }
            if let Some(rel) = gitops::bases::logical(dir, bases, &o.file) {
                o.file = gitops::join(dir, &rel);
                break;
            }
        }
    }
}

fn inside(file: &str, dir: Option<&str>) -> bool {
    dir.is_some_and(|d| file.starts_with(&format!("{d}/")))
}

impl Tree {
    /// Whether something outside `except` (an installation directory) creates
    /// Namespace `ns`.
    pub fn creates_namespace(&self, ns: &str, except: Option<&str>) -> bool {
        let claim = ownership::Claim::Object {
            kind: "Namespace".into(),
            namespace: String::new(),
            name: ns.into(),
        };
        self.index
            .get(&claim)
            .is_some_and(|owners| owners.iter().any(|o| !inside(&o.file, except)))
    }

    /// The claims among `mine` that something outside `except` (an installation
    /// directory) already makes, each with its first owner there.
    fn owned_elsewhere(
        &self,
        mine: &[ownership::Owned],
        except: Option<&str>,
    ) -> Vec<ownership::Owned> {
        mine.iter()
            .filter_map(|m| {
                let owner = self
                    .index
                    .get(&m.claim)?
                    .iter()
                    .find(|o| !inside(&o.file, except))?;
                Some(ownership::Owned {
                    claim: m.claim.clone(),
                    owner: owner.clone(),
                })
            })
            .collect()
    }
}

/// The claims of a rendering of installation `name` in `install_dir`.
pub fn claims_of(
    rendered: &Rendered,
    install_dir: &str,
    name: &str,
    git_repository: &GitRepositoryRef,
) -> Vec<ownership::Owned> {
    claims_noting(rendered, install_dir, name, git_repository, &mut Vec::new())
}

/// [`claims_of`], noting in `walked` where the walk of the rendering started and the
/// wrappers it followed ([`ownership::walk_noting`]).
pub fn claims_noting(
    rendered: &Rendered,
    install_dir: &str,
    name: &str,
    git_repository: &GitRepositoryRef,
    walked: &mut Vec<Start>,
) -> Vec<ownership::Owned> {
    let files: BTreeMap<String, Vec<u8>> = rendered
        .files
        .iter()
        .map(|(k, v)| {
            let bases = &rendered.record.spec.bases;
            (gitops::bases::physical(install_dir, bases, k), v.clone())
        })
        .collect();
    let mut objs = walk_installation(&files, install_dir, git_repository, walked);
    relocate(
        &mut objs,
        &[(install_dir.to_string(), rendered.record.spec.bases.clone())],
    );
    claims_named(&objs, install_dir, name)
}

/// The claims of `objs`, every one owned by installation `name` in `install_dir`.
fn claims_named(objs: &[Obj], install_dir: &str, name: &str) -> Vec<ownership::Owned> {
    ownership::claims(
        objs,
        &BTreeMap::from([(install_dir.to_string(), name.to_string())]),
    )
}

/// The claims of the installation `name` whose files (by repository path) are
/// `files`, walked from its directory `install_dir` as a rendering is
/// ([`claims_noting`]; an installation without fleet bases).
fn claims_in(
    files: &BTreeMap<String, Vec<u8>>,
    install_dir: &str,
    name: &str,
    git_repository: &GitRepositoryRef,
    walked: &mut Vec<Start>,
) -> Vec<ownership::Owned> {
    let objs = walk_installation(files, install_dir, git_repository, walked);
    claims_named(&objs, install_dir, name)
}

/// The objects Flux applies from an installation's files, from its directory.
fn walk_installation(
    files: &BTreeMap<String, Vec<u8>>,
    install_dir: &str,
    git_repository: &GitRepositoryRef,
    walked: &mut Vec<Start>,
) -> Vec<Obj> {
    ownership::walk_noting(
        files,
        vec![Start {
            dir: install_dir.to_string(),
            default_namespace: git_repository.namespace.clone(),
            target_namespace: None,
        }],
        git_repository,
        walked,
    )
}

/// The claims of a rendering moved from the installation directory `from` to `to`
/// (`Rendered::relocated`), from the claims `of` the one in `from`: the same objects,
/// each owned by the same file in `to`. None when a claim's file is not below `from`.
pub fn moved_claims(
    of: &[ownership::Owned],
    from: &str,
    to: &str,
) -> Option<Vec<ownership::Owned>> {
    of.iter()
        .map(|o| {
            let rest = o.owner.file.strip_prefix(from)?.strip_prefix('/')?;
            Some(ownership::Owned {
                claim: o.claim.clone(),
                owner: ownership::Owner {
                    installation: o.owner.installation.clone(),
                    file: [to, "/", rest].concat(),
                },
            })
        })
        .collect()
}

/// Refuse (exit 1) a rendering that claims what the rest of the repository owns.
/// `verb` is `install` or `upgrade`.
pub fn refuse_conflicts(
    tree: &Tree,
    rendered: &Rendered,
    install_dir: &str,
    name: &str,
    verb: &str,
) -> Result<()> {
    let mine = claims_of(rendered, install_dir, name, &tree.git_repository);
    refuse_claims(tree, &mine, rendered, install_dir, name, verb)
}

/// [`refuse_conflicts`] with the rendering's claims already made ([`claims_of`] with
/// the tree's GitRepository): `upgrade` keeps them for its own check between the
/// installations it upgrades.
pub fn refuse_claims(
    tree: &Tree,
    mine: &[ownership::Owned],
    rendered: &Rendered,
    install_dir: &str,
    name: &str,
    verb: &str,
) -> Result<()> {
    let found = ownership::conflicts(mine, &tree.owned_elsewhere(mine, Some(install_dir)));
    if found.is_empty() {
        return Ok(());
    }
    let ns = &rendered.record.spec.namespace;
    let fixed = found
        .iter()
        .any(|c| matches!(&c.claim, ownership::Claim::Object { namespace, .. } if namespace != ns));
    let hint = if fixed {
        "some of them are cluster-scoped or name their own namespace, so another --namespace does not move them: only one installation can hold them; uninstall the other owner first, or install the profile once"
    } else if verb == "install" {
        "install it into another --namespace or with another --name (objects without a namespace of their own go to --namespace), or uninstall the other owner first"
    } else {
        "the new version produces what another owner already does: uninstall or change the other owner first, or upgrade to another version"
    };
    bail!(user(
        format!(
            "{verb} of {name}: {} object(s) or Helm release(s) already have an owner in the GitOps repository (two owners would fight over them, and uninstalling one would delete what the other needs):\n{}",
            found.len(),
            ownership::describe(&found)
        ),
        hint,
    ))
}
