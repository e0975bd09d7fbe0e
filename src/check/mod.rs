//! `pctl check` (SPEC §10): walks a GitOps repository as Flux will apply it, from the
//! sync path, with no cluster, and reports what would fail; the same engine guards
//! every commit pctl makes (`guard`). Also the pre-commit check of one rendering
//! (`rendering`).
pub mod build;
mod built;
pub mod chain;
mod graph;
pub mod guard;
mod helm;
mod kept;
mod reached;
mod rendering;
pub mod schema;
#[cfg(test)]
mod schemagen;
pub mod tree;

pub use built::Memo;
pub(crate) use reached::Reached;
pub use rendering::{check, flux_objects};

use crate::yaml::Value;
use build::Doc;
use foldhash::{HashMap, HashMapExt as _};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use tree::{Files, Ignore};

pub const CONFIG: &str = ".pctl/config.yaml";
pub const FLUX_KS: &str = "kustomize.toolkit.fluxcd.io/";
pub const FLUX_HELM: &str = "helm.toolkit.fluxcd.io/";

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The root sync path [default: `syncPath` of `.pctl/config.yaml`, else `clusters/default`].
    pub path: Option<String>,
    /// The GitOps GitRepository (namespace, name) [default: from `.pctl/config.yaml`,
    /// else flux-system/flux-system].
    pub source: Option<(String, String)>,
    /// Render local charts with `helm template`.
    pub helm: bool,
    /// Never run kustomize (the commit guard stays fast and offline).
    pub no_kustomize: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One finding: `FILE:LINE: severity: message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub severity: Severity,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file,
            self.line,
            self.severity.word(),
            self.message
        )
    }
}

/// Counts, as the independent oracle counts them.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub paths: usize,
    pub objects: usize,
    pub kustomizations: usize,
    pub helm_releases: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered: Option<usize>,
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub sync_path: String,
    pub source: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The summary line: `N paths built, M objects (K Kustomization, H HelmRelease), P problems`.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let rendered = s
            .rendered
            .map(|r| format!(", {r} objects rendered from charts"))
            .unwrap_or_default();
        let mut extra = Vec::new();
        if s.warnings > 0 {
            extra.push(format!("{} warning{}", s.warnings, plural(s.warnings)));
        }
        if s.notes > 0 {
            extra.push(format!("{} note{}", s.notes, plural(s.notes)));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(", "))
        };
        format!(
            "{} paths built, {} objects ({} Kustomization, {} HelmRelease){rendered}, {} problems{extra}",
            s.paths, s.objects, s.kustomizations, s.helm_releases, s.errors
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An object met on the walk, keyed (kind, namespace, name) as Flux applies it.
pub struct Object {
    pub doc: Rc<Doc>,
    pub api: String,
    pub kind: String,
    pub ns: String,
    pub name: String,
    /// It was rendered from a chart (`--helm`), not read from Git.
    pub rendered: bool,
}

pub type Key = (String, String, String);

/// The walk's state.
pub struct Walk<'a> {
    pub files: &'a Files<'a>,
    /// `.sourceignore`'s rules, parsed once per tree ([`Memo::ignore`]).
    pub ignore: Rc<Ignore>,
    pub src_ns: String,
    pub src_name: String,
    pub objects: Vec<Object>,
    pub index: HashMap<Key, usize>,
    pub findings: Vec<Finding>,
    kustomize: Option<(std::path::PathBuf, &'static str)>,
    /// Objects a walk of the rest of the tree met (the guard's shortcut walks only
    /// what a change adds).
    known: Option<&'a Reached>,
}

impl Walk<'_> {
    pub fn push(&mut self, file: &str, line: usize, severity: Severity, message: String) {
        self.findings.push(Finding {
            file: file.to_string(),
            line: line.max(1),
            severity,
            message,
        });
    }

    pub fn get(&self, k: &Key) -> Option<&Object> {
        self.index.get(k).map(|&i| &self.objects[i])
    }

    /// Whether an object with key `k` was met, on this walk or in [`Walk::known`].
    pub fn has(&self, k: &Key) -> bool {
        self.index.contains_key(k) || self.known.is_some_and(|r| r.has(&k.0, &k.1, &k.2))
    }

    /// Add one object; false when it is a duplicate (reported).
    pub fn add(&mut self, doc: Doc, default_ns: &str, rendered: bool) -> bool {
        let s = |p: &str| {
            doc.value
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (api, kind, name) = (s("/apiVersion"), s("/kind"), s("/metadata/name"));
        let ns = match doc
            .value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => default_ns.to_string(),
        };
        self.add_read(Rc::new(doc), api, kind, ns, name, rendered)
    }

    /// [`Walk::add`] of an object already read.
    fn add_read(
        &mut self,
        doc: Rc<Doc>,
        api: String,
        kind: String,
        ns: String,
        name: String,
        rendered: bool,
    ) -> bool {
        // One hash of the key, whether it is new or a duplicate.
        let at = self.objects.len();
        match self.index.entry((kind.clone(), ns.clone(), name.clone())) {
            std::collections::hash_map::Entry::Occupied(o) => {
                let other = &self.objects[*o.get()];
                let msg = format!(
                    "duplicate {kind} {ns}/{name}: also defined at {}:{}",
                    other.doc.file, other.doc.line
                );
                let (f, l) = (doc.file.clone(), doc.line);
                self.push(&f, l, Severity::Error, msg);
                return false;
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(at);
            }
        }
        self.objects.push(Object {
            doc,
            api,
            kind,
            ns,
            name,
            rendered,
        });
        true
    }
}

pub(crate) const NOT_BUILT: &str = "not built: needs kustomize (this kustomization uses more than `resources`; put kubectl or kustomize on PATH)";

/// Where a path to build comes from.
#[derive(Clone)]
struct Item {
    path: String,
    ns: String,
    /// The Flux Kustomization that asks for it, None for the root.
    who: Option<Rc<built::Entry>>,
    target: Option<String>,
    /// None: the repository; Some(i): the i-th laid-out artifact.
    artifact: Option<usize>,
}

impl Item {
    /// The sync path, as kustomize-controller's root Kustomization builds it.
    fn root(sync_path: &str) -> Self {
        Item {
            path: sync_path.to_string(),
            ns: "flux-system".into(),
            who: None,
            target: None,
            artifact: None,
        }
    }
}

/// The sync paths of a fleet's clusters (`clusters:` of `.pctl/config.yaml`), each as
/// an `Options::path`; `[None]` (the config's own syncPath) without clusters or when
/// the config cannot be read.
pub fn sync_paths(files: &Files) -> Vec<Option<String>> {
    let config = files
        .read(CONFIG)
        .ok()
        .flatten()
        .and_then(|b| {
            crate::yaml::from_str::<crate::gitops::Config>(CONFIG, &String::from_utf8_lossy(&b))
                .ok()
        })
        .filter(|c| c.is_fleet());
    match config {
        Some(c) => c
            .cluster_list()
            .into_iter()
            .map(|c| Some(c.sync_path))
            .collect(),
        None => vec![None],
    }
}

/// Check the tree in `files` (repository-relative paths).
pub fn run(files: &Files, opts: &Options) -> Report {
    run_with(files, opts, &Memo::default())
}

/// [`run`], with the builds of `memo` (made over the same `files`) reused: checking
/// one tree from several sync paths builds each path they share once.
pub fn run_with(files: &Files, opts: &Options, memo: &Memo) -> Report {
    run_reaching(files, opts, memo, false).0
}

/// The sync path and the GitOps GitRepository (namespace, name) that `files` is
/// checked from, with `opts` over `.pctl/config.yaml`; and the problems reading it.
fn settings(files: &Files, opts: &Options) -> (Vec<Finding>, String, (String, String)) {
    let mut cfg_findings = Vec::new();
    let mut sync_path = "clusters/default".to_string();
    let mut source = ("flux-system".to_string(), "flux-system".to_string());
    if let Ok(Some(bytes)) = files.read(CONFIG) {
        // Through the parse cache: a fleet's config lists every cluster, and the guard
        // checks the tree from each of them.
        match build::one_document(CONFIG, &String::from_utf8_lossy(&bytes)) {
            Ok(c) => {
                if let Some(p) = c.get("syncPath").and_then(Value::as_str) {
                    sync_path = p.to_string();
                }
                if let (Some(n), ns) = (
                    c.pointer("/gitRepository/name").and_then(Value::as_str),
                    c.pointer("/gitRepository/namespace")
                        .and_then(Value::as_str),
                ) {
                    source = (ns.unwrap_or("flux-system").to_string(), n.to_string());
                }
            }
            Err(e) => cfg_findings.push(Finding {
                file: CONFIG.into(),
                line: 1,
                severity: Severity::Error,
                message: format!("cannot read it: {e}"),
            }),
        }
    }
    if let Some(p) = &opts.path {
        sync_path = p.clone();
    }
    if let Some(s) = &opts.source {
        source = s.clone();
    }
    (cfg_findings, sync_path, source)
}

/// [`run_with`], and with `reaching`, what the walk reached when it found no error
/// ([`Reached`], kept for the guard's shortcut; None when the walk met an artifact or
/// a name the record cannot hold).
pub(crate) fn run_reaching(
    files: &Files,
    opts: &Options,
    memo: &Memo,
    reaching: bool,
) -> (Report, Option<Reached>) {
    let (cfg_findings, sync_path, source) = settings(files, opts);
    let ignore = memo.ignore(files);
    let mut w = Walk {
        files,
        ignore,
        src_ns: source.0.clone(),
        src_name: source.1.clone(),
        objects: Vec::new(),
        index: HashMap::new(),
        findings: cfg_findings,
        kustomize: if opts.no_kustomize {
            None
        } else {
            build::kustomize_tool()
        },
        known: None,
    };
    let walked = walk(&mut w, Item::root(&sync_path), memo, true);
    graph::check(&mut w);
    let rendered = if opts.helm {
        Some(helm::render(&mut w))
    } else {
        None
    };
    graph::cycles(&mut w);
    graph::namespaces(&mut w);
    graph::sourceignore(&mut w, &sync_path);

    let count = |k: &str| w.objects.iter().filter(|o| o.kind == k).count();
    let sev = |s: Severity| w.findings.iter().filter(|f| f.severity == s).count();
    let summary = Summary {
        paths: walked.paths,
        objects: w.objects.len(),
        kustomizations: count("Kustomization"),
        helm_releases: count("HelmRelease"),
        rendered,
        errors: sev(Severity::Error),
        warnings: sev(Severity::Warning),
        notes: sev(Severity::Note),
    };
    let reached = (reaching && summary.errors == 0 && !walked.artifacts)
        .then(|| {
            Reached::new(
                &sync_path,
                &source,
                &walked.items,
                w.objects.iter().map(|o| (&*o.kind, &*o.ns, &*o.name)),
            )
        })
        .flatten();
    let findings = std::mem::take(&mut w.findings);
    let report = Report {
        sync_path,
        source: format!("{}/{}", source.0, source.1),
        findings,
        summary,
    };
    (report, reached)
}

/// What a walk built.
struct Walked {
    /// The number of paths built.
    pub paths: usize,
    /// Every directory built from the repository, as (directory, namespace,
    /// targetNamespace), the start included only when it counts.
    pub items: Vec<(String, String, Option<String>)>,
    /// It met a Kustomization whose source is an artifact.
    pub artifacts: bool,
}

/// Walk from `start` (the sync path, [`Item::root`]): build every path, follow every
/// Flux Kustomization whose source is the GitOps repository or an artifact generated
/// from it. A start that does not `count` is built but not remembered as built (the
/// guard's shortcut walks an installation's directory, which the whole walk builds as
/// part of the directory above it: a Kustomization pointing at it builds it again).
fn walk(w: &mut Walk, start: Item, memo: &Memo, count: bool) -> Walked {
    let mut artifacts: Vec<(String, Files<'static>)> = Vec::new();
    let mut laid_out: BTreeMap<(String, String), Option<usize>> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(start);
    let mut first = !count;
    let mut items = Vec::new();
    let mut met_artifact = false;
    // Kustomizations whose source is an ExternalArtifact: (artifact ns, name, item).
    let mut pending: Vec<(String, String, Item)> = Vec::new();
    let mut built: BTreeSet<(Option<usize>, String)> = BTreeSet::new();
    // Artifacts have no .sourceignore (made once per tree: rules compile regexes).
    let empty = memo.no_ignore();
    loop {
        let Some(item) = queue.pop_front() else {
            if pending.is_empty() {
                break;
            }
            for (ans, aname, item) in std::mem::take(&mut pending) {
                let idx = match laid_out.get(&(ans.clone(), aname.clone())) {
                    Some(i) => *i,
                    None => {
                        let who = item.who.as_ref().map(|e| e.who());
                        let i = graph::lay_out(w, &ans, &aname, who.as_ref()).map(|f| {
                            artifacts.push((aname.clone(), f));
                            artifacts.len() - 1
                        });
                        laid_out.insert((ans.clone(), aname.clone()), i);
                        i
                    }
                };
                if let Some(i) = idx {
                    queue.push_back(Item {
                        artifact: Some(i),
                        ..item
                    });
                }
            }
            continue;
        };
        let (files, label, place): (&Files, String, String) = match item.artifact {
            None => (w.files, String::new(), "the repository".into()),
            Some(i) => (
                &artifacts[i].1,
                format!("@{}/", artifacts[i].0),
                format!("artifact {}", artifacts[i].0),
            ),
        };
        // Where a problem with the path is reported (the line is found only then).
        let at = |w: &Walk| match &item.who {
            Some(e) => {
                let (f, l, n) = e.who();
                (f, l, format!("Kustomization {n}: "))
            }
            None => (
                if w.files.is_file(CONFIG) {
                    CONFIG.to_string()
                } else {
                    item.path.clone()
                },
                1,
                "sync path: ".to_string(),
            ),
        };
        let Some(dir) = tree::resolve("", &item.path) else {
            let (who_file, who_line, who) = at(w);
            w.push(
                &who_file,
                who_line,
                Severity::Error,
                format!("{who}path {:?} leaves {place}", item.path),
            );
            continue;
        };
        let ignored = item.artifact.is_none() && !dir.is_empty() && w.ignore.ignored(&dir, true);
        if !files.is_dir(&dir) || ignored {
            let why = if ignored {
                "is left out by .sourceignore"
            } else {
                "does not exist"
            };
            let (who_file, who_line, who) = at(w);
            w.push(
                &who_file,
                who_line,
                Severity::Error,
                format!("{who}path {:?} {why} in {place}", item.path),
            );
            continue;
        }
        let counted = !std::mem::take(&mut first);
        if counted && !built.insert((item.artifact, dir.clone())) {
            continue;
        }
        if counted && item.artifact.is_none() {
            items.push((dir.clone(), item.ns.clone(), item.target.clone()));
        }
        let out = match item.artifact {
            None => memo.repository(files, &w.ignore, &w.kustomize, &dir, item.target.as_deref()),
            Some(_) => Rc::new(built::build(
                files,
                &empty,
                &label,
                &w.kustomize,
                &dir,
                item.target.as_deref(),
                None,
            )),
        };
        for file in &out.skipped {
            w.push(file, 1, Severity::Warning, NOT_BUILT.into());
        }
        let entries = match &out.outcome {
            Ok((problems, entries)) => {
                for (f, l, sev, m) in problems {
                    w.push(f, *l, *sev, m.clone());
                }
                entries
            }
            Err((f, l, sev, m)) => {
                w.push(f, *l, *sev, m.clone());
                continue;
            }
        };
        for e in entries {
            let ns = e.ns.clone().unwrap_or_else(|| item.ns.clone());
            let added = w.add_read(
                e.doc.clone(),
                e.api.clone(),
                e.kind.clone(),
                ns.clone(),
                e.name.clone(),
                false,
            );
            if !added {
                continue;
            }
            for (line, m) in &e.schema {
                w.push(&e.doc.file, *line, Severity::Error, m.clone());
            }
            let Some(k) = &e.flux else {
                continue;
            };
            let sns = k.source_ns.clone().unwrap_or_else(|| ns.clone());
            let next = Item {
                path: k.path.clone(),
                ns: k.target.clone().unwrap_or(ns),
                who: Some(e.clone()),
                target: k.target.clone(),
                artifact: None,
            };
            if k.source_kind == "GitRepository" && k.source_name == w.src_name && sns == w.src_ns {
                queue.push_back(next);
            } else if k.source_kind == "ExternalArtifact" {
                met_artifact = true;
                pending.push((sns, k.source_name.clone(), next));
            }
        }
    }
    Walked {
        paths: built.len() + usize::from(!count),
        items,
        artifacts: met_artifact,
    }
}
