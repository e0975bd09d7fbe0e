//! What building one path contributes to a walk of `pctl check` (its objects with
//! what each says on its own: identity, schema problems, the path a Flux
//! Kustomization asks for; and the build's own problems), and the [`Memo`] that
//! keeps it per tree: the walks of a fleet's sync paths over one tree (the commit
//! guard, `pctl check --all-clusters`) build the paths they share once.
use super::build::{Builder, Doc, Failure};
use super::kept::{self, Reuse};
use super::tree::{Files, Ignore};
use super::{FLUX_KS, NOT_BUILT, Severity, schema};
use crate::yaml::Value;
use foldhash::{HashMap, HashMapExt as _};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

/// One object of a build, after `targetNamespace`, with what the walk needs of it.
pub struct Entry {
    pub doc: Rc<Doc>,
    pub api: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` when set and not empty.
    pub ns: Option<String>,
    /// Schema problems: (line, message), reported when the object is not a duplicate.
    pub schema: Vec<(usize, String)>,
    /// A Flux Kustomization's reference to the path it applies.
    pub flux: Option<FluxPath>,
}

/// What a Flux Kustomization asks the walk to build.
pub struct FluxPath {
    pub path: String,
    /// The line of `spec.path`, found when a problem with the path is reported.
    pub(super) line: std::cell::OnceCell<usize>,
    pub target: Option<String>,
    pub source_kind: String,
    pub source_name: String,
    /// `spec.sourceRef.namespace` when set and not empty.
    pub source_ns: Option<String>,
}

/// A finding as the walk pushes it: (file, line, severity, message).
pub type Found = (String, usize, Severity, String);

/// The outcome of building one path with one `targetNamespace`.
pub struct Built {
    /// Nested kustomizations left out because they need kustomize (warned).
    pub skipped: Vec<String>,
    /// The objects with the problems `targetNamespace` causes, or the one finding
    /// that stops the build.
    pub outcome: Result<(Vec<Found>, Vec<Rc<Entry>>), Found>,
}

/// Builds of the repository's paths over one tree, by (directory, targetNamespace,
/// kustomize available): a build reads only the tree (and its `.sourceignore`), so
/// one [`Files`] gives one answer. Never shared between trees.
#[derive(Default)]
pub struct Memo {
    builds: RefCell<HashMap<BuildKey, Rc<Built>>>,
    /// The objects read, by where they were read: a file of one tree always gives the
    /// same documents, so (file, line, which of the documents read there, the
    /// targetNamespace applied) names one object; a fleet's clusters read their bases'
    /// files in each cluster's build.
    entries: RefCell<HashMap<EntryKey, Rc<Entry>>>,
    /// The tree's `.sourceignore`, and no rules (for artifacts): each parsed once.
    ignore: std::cell::OnceCell<Rc<Ignore>>,
    no_ignore: std::cell::OnceCell<Rc<Ignore>>,
    /// Builds of an earlier tree that still hold for this one (the commit guard's,
    /// [`super::kept`]).
    reuse: Option<Reuse>,
    /// The repository's builds without kustomize, made or reused here, with the paths
    /// each read: kept for the next guard when `Some`.
    made: Option<RefCell<Vec<(kept::Key, kept::Reads, kept::Made)>>>,
    /// Likewise the nested kustomizations of those builds, by directory.
    nested_made: RefCell<Vec<(String, kept::Reads, kept::Made)>>,
    /// Nested kustomizations built here, with the paths each read: a fleet's clusters
    /// reach the same bases.
    nested_here: RefCell<HashMap<String, NestedHere>>,
    /// Nested kustomizations met so far ([`Memo::parts`]).
    parts: std::cell::Cell<usize>,
}

/// A nested kustomization built in this process: the paths it read, its documents.
type NestedHere = (kept::Reads, Rc<[Doc]>);

/// (directory, targetNamespace, kustomize available).
type BuildKey = (String, Option<String>, bool);

/// (file, line, the how-manieth document read at that line in one build,
/// targetNamespace).
type EntryKey = (String, usize, usize, Option<String>);

impl Memo {
    /// A memo that reuses what `reuse` holds and, with `record`, notes every build for
    /// [`Memo::made`].
    pub fn keeping(reuse: Option<Reuse>, record: bool) -> Self {
        Memo {
            reuse,
            made: record.then(Default::default),
            ..Memo::default()
        }
    }

    /// Whether builds kept for an earlier tree may be reused here.
    pub fn reuses(&self) -> bool {
        self.reuse.is_some()
    }

    /// Whether builds are reused or noted here.
    fn keeps(&self) -> bool {
        self.reuse.is_some() || self.made.is_some()
    }

    /// The documents of the nested kustomization in `dir`, kept for an earlier tree,
    /// when nothing it read changed and it reads no kustomization of `stack` (a loop).
    pub fn nested(&self, dir: &str, stack: &[String]) -> Option<(kept::Reads, Vec<Doc>)> {
        if stack.iter().any(|s| s == dir) {
            return None;
        }
        let here = self.nested_here.borrow().get(dir).cloned();
        if let Some((reads, docs)) = here {
            return (!kept::loops(&reads, stack)).then(|| (reads, docs.to_vec()));
        }
        let (reads, docs, made) = self.reuse.as_ref()?.nested(dir, stack)?;
        if self.made.is_some() {
            self.nested_made
                .borrow_mut()
                .push((dir.to_string(), reads.clone(), made));
        }
        Some((reads, docs))
    }

    /// Note the nested kustomization in `dir`, built here from `reads`: its documents'
    /// schema problems are found once (their entries take them from there), it is reused
    /// for the rest of this tree's walks, and kept.
    pub fn nested_built(&self, dir: &str, reads: Vec<String>, docs: &mut [Doc]) {
        for d in docs.iter_mut() {
            if d.kept_schema.is_none() {
                let s = |p: &[&str]| at(&d.value, p).and_then(Value::as_str).unwrap_or("");
                let found = schema_problems(d, s(&["kind"]), s(&["metadata", "name"]), None);
                d.kept_schema = Some(found.into());
            }
        }
        let reads: kept::Reads = reads.into();
        let shared: Rc<[Doc]> = docs.to_vec().into();
        self.nested_here
            .borrow_mut()
            .insert(dir.to_string(), (reads.clone(), shared.clone()));
        if self.made.is_some() {
            self.nested_made
                .borrow_mut()
                .push((dir.to_string(), reads, kept::Made::Docs(shared)));
        }
    }

    /// Count one nested kustomization met in a build, for [`Memo::parts`].
    pub fn note_part(&self) {
        self.parts.set(self.parts.get() + 1);
    }

    /// How many nested kustomizations builds met so far: a build during which it grew
    /// is made of them.
    pub fn parts(&self) -> usize {
        self.parts.get()
    }

    /// The nested kustomizations noted.
    pub fn nested_made(&self) -> Vec<(String, kept::Reads, kept::Made)> {
        self.nested_made.borrow().clone()
    }

    /// The builds noted (see [`Memo::keeping`]).
    pub fn made(&self) -> Vec<(kept::Key, kept::Reads, kept::Made)> {
        self.made
            .as_ref()
            .map(|m| m.borrow().clone())
            .unwrap_or_default()
    }

    /// The `.sourceignore` of the tree `files` (every memo is of one tree).
    pub fn ignore(&self, files: &Files) -> Rc<Ignore> {
        self.ignore
            .get_or_init(|| {
                let text = files
                    .read(".sourceignore")
                    .ok()
                    .flatten()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                Rc::new(Ignore::parse(&text))
            })
            .clone()
    }

    /// No `.sourceignore` (an artifact's tree).
    pub fn no_ignore(&self) -> Rc<Ignore> {
        self.no_ignore
            .get_or_init(|| Rc::new(Ignore::parse("")))
            .clone()
    }

    /// The build of `dir` in the repository tree `files`, made once per memo.
    pub fn repository(
        &self,
        files: &Files,
        ignore: &Ignore,
        kustomize: &Option<(PathBuf, &'static str)>,
        dir: &str,
        target: Option<&str>,
    ) -> Rc<Built> {
        let key = (
            dir.to_string(),
            target.map(str::to_string),
            kustomize.is_some(),
        );
        if let Some(b) = self.builds.borrow().get(&key) {
            return b.clone();
        }
        let plain = kustomize.is_none();
        let reused = match &self.reuse {
            Some(r) if plain => r.get(dir, target),
            _ => None,
        };
        let (made, b) = match reused {
            Some((reads, b, made)) => {
                if cfg!(debug_assertions) {
                    self.compare(files, ignore, dir, target, &reads, &b);
                }
                (Some((reads, made)), b)
            }
            None => {
                let log = plain && self.made.is_some();
                if log {
                    files.log_reads();
                }
                let parts = self.parts();
                let b = Rc::new(build(files, ignore, "", kustomize, dir, target, Some(self)));
                // A build made of nested kustomizations is not kept itself: its parts
                // are, and it reads every one of them (the sync path's build reads every
                // installation's wrappers, and any install changes it).
                let whole = self.parts() == parts;
                let made = log.then(|| files.logged_reads()).filter(|_| whole);
                (made.map(|r| (r.into(), kept::Made::Built(b.clone()))), b)
            }
        };
        if let (Some(list), Some((reads, made))) = (&self.made, made) {
            list.borrow_mut()
                .push(((dir.to_string(), target.map(str::to_string)), reads, made));
        }
        self.builds.borrow_mut().insert(key, b.clone());
        b
    }
}

impl Memo {
    /// Debug builds: a kept build must be what building the path again gives, and
    /// read the same paths (else the guard would miss or invent a problem).
    fn compare(
        &self,
        files: &Files,
        ignore: &Ignore,
        dir: &str,
        target: Option<&str>,
        reads: &[String],
        kept: &Built,
    ) {
        files.log_reads();
        let fresh = build(files, ignore, "", &None, dir, target, Some(self));
        let fresh_reads = files.logged_reads();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        kept::encode_built(&mut a, kept);
        kept::encode_built(&mut b, &fresh);
        assert!(
            a == b && reads == fresh_reads.as_slice(),
            "pctl bug: the kept build of {dir:?} (targetNamespace {target:?}) differs from building it again (reads {reads:?} against {fresh_reads:?})"
        );
    }
}

/// Debug builds: a kept nested kustomization must be what building it again gives.
pub fn compare_nested(dir: &str, kept: &[Doc], fresh: Result<Vec<Doc>, super::build::Failure>) {
    let fresh = fresh.ok();
    let same = fresh
        .as_ref()
        .is_some_and(|f| kept::encode_docs(f) == kept::encode_docs(kept));
    assert!(
        same,
        "pctl bug: the kept nested kustomization {dir:?} differs from building it again"
    );
}

/// Build `dir` of `files` (file names shown with `label` before them), apply
/// `target`, and read what each object says on its own.
pub fn build(
    files: &Files,
    ignore: &Ignore,
    label: &str,
    kustomize: &Option<(PathBuf, &'static str)>,
    dir: &str,
    target: Option<&str>,
    memo: Option<&Memo>,
) -> Built {
    let builder = Builder {
        files,
        nested: memo
            .filter(|m| label.is_empty() && target.is_none() && kustomize.is_none() && m.keeps()),
        ignore,
        label: label.to_string(),
        kustomize: kustomize.clone(),
        skipped: Default::default(),
    };
    let result = builder.build(dir);
    let skipped = builder.skipped.take();
    let outcome = match result {
        Ok(mut docs) => {
            let problems = match target {
                Some(t) => super::build::target_namespace(&mut docs, t)
                    .into_iter()
                    .map(|(f, l, m)| (f, l, Severity::Error, m))
                    .collect(),
                None => Vec::new(),
            };
            let entries = match memo {
                // Only documents read from a file of the repository (with their text):
                // what kustomize prints has no line of its own.
                Some(m) => {
                    let mut seen: HashMap<(String, usize), usize> = HashMap::new();
                    docs.into_iter()
                        .map(|d| {
                            if d.text.is_none() {
                                return entry(d, target);
                            }
                            let n = seen.entry((d.file.clone(), d.line)).or_default();
                            let key = (d.file.clone(), d.line, *n, target.map(str::to_string));
                            *n += 1;
                            if let Some(e) = m.entries.borrow().get(&key) {
                                return e.clone();
                            }
                            let e = entry(d, target);
                            m.entries.borrow_mut().insert(key, e.clone());
                            e
                        })
                        .collect()
                }
                None => docs.into_iter().map(|d| entry(d, target)).collect(),
            };
            Ok((problems, entries))
        }
        Err(Failure::Broken(file, line, msg)) => Err((
            file,
            line,
            Severity::Error,
            format!(
                "building {label}{} fails: {msg}",
                if dir.is_empty() { "." } else { dir }
            ),
        )),
        Err(Failure::NeedsKustomize(file)) => Err((file, 1, Severity::Warning, NOT_BUILT.into())),
    };
    Built { skipped, outcome }
}

impl Entry {
    /// (file, line of `spec.path`, name) of a Flux Kustomization, for a problem with
    /// the path it applies.
    pub fn who(&self) -> (String, usize, String) {
        let line = self.flux.as_ref().map_or(self.doc.line, |k| {
            *k.line
                .get_or_init(|| self.doc.line_of(&["spec".into(), "path".into()]))
        });
        (self.doc.file.clone(), line, self.name.clone())
    }
}

/// `v.pointer("/a/b")` for plain keys, without parsing a pointer (serde_json's
/// unescapes each part into a new string: 2.7 K instructions a lookup).
fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// What the schemas say of `doc` (of kind `kind`, named `name`) after `target`: (line,
/// message) of each problem.
pub(super) fn schema_problems(
    doc: &Doc,
    kind: &str,
    name: &str,
    target: Option<&str>,
) -> Vec<(usize, String)> {
    schema::validate_read(&doc.value, doc.origin.as_ref(), target)
        .into_iter()
        .flatten()
        .map(|x| {
            (
                doc.line_of(&x.path),
                format!("{kind} {name}: {}: {}", x.at(), x.message),
            )
        })
        .collect()
}

/// The entry of `doc`, read after `target` (its build's targetNamespace) was applied.
fn entry(doc: Doc, target: Option<&str>) -> Rc<Entry> {
    let v = &doc.value;
    let s = |p: &[&str]| at(v, p).and_then(Value::as_str).unwrap_or("").to_string();
    let (api, kind, name) = (s(&["apiVersion"]), s(&["kind"]), s(&["metadata", "name"]));
    let ns = at(v, &["metadata", "namespace"])
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let schema = match (&doc.kept_schema, target) {
        (Some(kept), None) => kept.to_vec(),
        _ => schema_problems(&doc, &kind, &name, target),
    };
    let flux = (api.starts_with(FLUX_KS) && kind == "Kustomization").then(|| {
        let sref = |k: &str| {
            at(v, &["spec", "sourceRef", k])
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        FluxPath {
            path: at(v, &["spec", "path"])
                .and_then(Value::as_str)
                .unwrap_or(".")
                .to_string(),
            line: Default::default(),
            target: at(v, &["spec", "targetNamespace"])
                .and_then(Value::as_str)
                .map(str::to_string),
            source_kind: sref("kind"),
            source_name: sref("name"),
            source_ns: Some(sref("namespace")).filter(|n| !n.is_empty()),
        }
    });
    Rc::new(Entry {
        api,
        kind,
        name,
        ns,
        schema,
        flux,
        doc: Rc::new(doc),
    })
}
