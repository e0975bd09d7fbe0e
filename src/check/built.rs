//! What building one path contributes to a walk of `pctl check` (its objects with
//! what each says on its own: identity, schema problems, the path a Flux
//! Kustomization asks for; and the build's own problems), and the [`Memo`] that
//! keeps it per tree: the walks of a fleet's sync paths over one tree (the commit
//! guard, `pctl check --all-clusters`) build the paths they share once.
use super::build::{Builder, Doc, Failure};
use super::tree::{Files, Ignore};
use super::{FLUX_KS, NOT_BUILT, Severity, schema};
use crate::yaml::Value;
use std::cell::RefCell;
use std::collections::HashMap;
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
    line: std::cell::OnceCell<usize>,
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
}

/// (directory, targetNamespace, kustomize available).
type BuildKey = (String, Option<String>, bool);

/// (file, line, the how-manieth document read at that line in one build,
/// targetNamespace).
type EntryKey = (String, usize, usize, Option<String>);

impl Memo {
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
        let b = Rc::new(build(files, ignore, "", kustomize, dir, target, Some(self)));
        self.builds.borrow_mut().insert(key, b.clone());
        b
    }
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

/// The entry of `doc`, read after `target` (its build's targetNamespace) was applied.
fn entry(doc: Doc, target: Option<&str>) -> Rc<Entry> {
    let v = &doc.value;
    let s = |p: &[&str]| at(v, p).and_then(Value::as_str).unwrap_or("").to_string();
    let (api, kind, name) = (s(&["apiVersion"]), s(&["kind"]), s(&["metadata", "name"]));
    let ns = at(v, &["metadata", "namespace"])
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let schema = schema::validate_read(v, doc.origin.as_ref(), target)
        .into_iter()
        .flatten()
        .map(|x| {
            (
                doc.line_of(&x.path),
                format!("{kind} {name}: {}: {}", x.at(), x.message),
            )
        })
        .collect();
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
