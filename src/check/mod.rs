//! `pctl check` (SPEC §10): walks a GitOps repository as Flux will apply it, from the
//! sync path, with no cluster, and reports what would fail; the same engine guards
//! every commit pctl makes (`guard`). Also the pre-commit check of one rendering
//! (`rendering`).
pub mod build;
mod graph;
pub mod guard;
mod helm;
mod rendering;
pub mod schema;
#[cfg(test)]
mod schemagen;
pub mod tree;

pub use rendering::{check, flux_objects};

use crate::yaml::Value;
use build::{Builder, Doc, Failure};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    pub doc: Doc,
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
    pub ignore: Ignore,
    pub src_ns: String,
    pub src_name: String,
    pub objects: Vec<Object>,
    pub index: HashMap<Key, usize>,
    pub findings: Vec<Finding>,
    kustomize: Option<(std::path::PathBuf, &'static str)>,
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
        let key = (kind.clone(), ns.clone(), name.clone());
        if let Some(other) = self.get(&key) {
            let msg = format!(
                "duplicate {kind} {ns}/{name}: also defined at {}:{}",
                other.doc.file, other.doc.line
            );
            let (f, l) = (doc.file.clone(), doc.line);
            self.push(&f, l, Severity::Error, msg);
            return false;
        }
        self.index.insert(key, self.objects.len());
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
    /// The Flux Kustomization that asks for it: (file, line, name), None for the root.
    who: Option<(String, usize, String)>,
    target: Option<String>,
    /// None: the repository; Some(i): the i-th laid-out artifact.
    artifact: Option<usize>,
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
    let mut cfg_findings = Vec::new();
    let mut sync_path = "clusters/default".to_string();
    let mut source = ("flux-system".to_string(), "flux-system".to_string());
    if let Ok(Some(bytes)) = files.read(CONFIG) {
        match crate::yaml::from_str::<Value>(CONFIG, &String::from_utf8_lossy(&bytes)) {
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
    let ignore = Ignore::parse(
        &files
            .read(".sourceignore")
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
    );
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
    };
    let paths = walk(&mut w, &sync_path);
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
        paths,
        objects: w.objects.len(),
        kustomizations: count("Kustomization"),
        helm_releases: count("HelmRelease"),
        rendered,
        errors: sev(Severity::Error),
        warnings: sev(Severity::Warning),
        notes: sev(Severity::Note),
    };
    let findings = std::mem::take(&mut w.findings);
    Report {
        sync_path,
        source: format!("{}/{}", source.0, source.1),
        findings,
        summary,
    }
}

/// Walk from the sync path: build every path, follow every Flux Kustomization whose
/// source is the GitOps repository or an artifact generated from it. Returns the
/// number of paths built.
fn walk(w: &mut Walk, sync_path: &str) -> usize {
    let mut artifacts: Vec<(String, Files<'static>)> = Vec::new();
    let mut laid_out: BTreeMap<(String, String), Option<usize>> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(Item {
        path: sync_path.to_string(),
        ns: "flux-system".into(),
        who: None,
        target: None,
        artifact: None,
    });
    // Kustomizations whose source is an ExternalArtifact: (artifact ns, name, item).
    let mut pending: Vec<(String, String, Item)> = Vec::new();
    let mut built: BTreeSet<(Option<usize>, String)> = BTreeSet::new();
    // Artifacts have no .sourceignore (made once: rules compile regexes).
    let empty = Ignore::parse("");
    loop {
        let Some(item) = queue.pop_front() else {
            if pending.is_empty() {
                break;
            }
            for (ans, aname, item) in std::mem::take(&mut pending) {
                let idx = match laid_out.get(&(ans.clone(), aname.clone())) {
                    Some(i) => *i,
                    None => {
                        let i = graph::lay_out(w, &ans, &aname, item.who.as_ref()).map(|f| {
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
        let (who_file, who_line, who) = match &item.who {
            Some((f, l, n)) => (f.clone(), *l, format!("Kustomization {n}: ")),
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
            w.push(
                &who_file,
                who_line,
                Severity::Error,
                format!("{who}path {:?} {why} in {place}", item.path),
            );
            continue;
        }
        if !built.insert((item.artifact, dir.clone())) {
            continue;
        }
        let builder = Builder {
            files,
            ignore: if item.artifact.is_none() {
                &w.ignore
            } else {
                &empty
            },
            label,
            kustomize: w.kustomize.clone(),
            skipped: Default::default(),
        };
        let result = builder.build(&dir);
        for file in builder.skipped.take() {
            w.push(&file, 1, Severity::Warning, NOT_BUILT.into());
        }
        let mut docs = match result {
            Ok(d) => d,
            Err(Failure::Broken(file, line, msg)) => {
                w.push(
                    &file,
                    line,
                    Severity::Error,
                    format!(
                        "building {}{} fails: {msg}",
                        builder_label(&item, &artifacts),
                        if dir.is_empty() { "." } else { &dir }
                    ),
                );
                continue;
            }
            Err(Failure::NeedsKustomize(file)) => {
                w.push(&file, 1, Severity::Warning, NOT_BUILT.into());
                continue;
            }
        };
        if let Some(t) = &item.target {
            for (f, l, m) in build::target_namespace(&mut docs, t) {
                w.push(&f, l, Severity::Error, m);
            }
        }
        for doc in docs {
            let v = doc.value.clone();
            let file = doc.file.clone();
            // Only the document's text and first line, to find a field's line.
            let lines = build::Doc {
                value: Value::Null,
                file: String::new(),
                line: doc.line,
                text: doc.text.clone(),
            };
            if !w.add(doc, &item.ns, false) {
                continue;
            }
            if let Some(violations) = schema::validate(&v) {
                let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
                let name = v
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                for x in violations {
                    w.push(
                        &file,
                        lines.line_of(&x.path),
                        Severity::Error,
                        format!("{kind} {name}: {}: {}", x.at(), x.message),
                    );
                }
            }
            let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            if api.starts_with(FLUX_KS)
                && v.get("kind").and_then(Value::as_str) == Some("Kustomization")
            {
                let key_ns = v
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&item.ns)
                    .to_string();
                let name = v
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let sref = v.pointer("/spec/sourceRef").cloned().unwrap_or(Value::Null);
                let s = |k: &str| {
                    sref.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                let sns = if s("namespace").is_empty() {
                    key_ns.clone()
                } else {
                    s("namespace")
                };
                let target = v
                    .pointer("/spec/targetNamespace")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let next = Item {
                    path: v
                        .pointer("/spec/path")
                        .and_then(Value::as_str)
                        .unwrap_or(".")
                        .to_string(),
                    ns: target.clone().unwrap_or(key_ns),
                    who: Some((file, lines.line_of(&["spec".into(), "path".into()]), name)),
                    target,
                    artifact: None,
                };
                if s("kind") == "GitRepository" && s("name") == w.src_name && sns == w.src_ns {
                    queue.push_back(next);
                } else if s("kind") == "ExternalArtifact" {
                    pending.push((sns, s("name"), next));
                }
            }
        }
    }
    built.len()
}

fn builder_label(item: &Item, artifacts: &[(String, Files)]) -> String {
    match item.artifact {
        Some(i) => format!("@{}/", artifacts[i].0),
        None => String::new(),
    }
}
