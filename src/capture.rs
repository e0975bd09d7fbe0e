//! Capture (docs/commands.md, `pctl capture`): turns a directory of manifests from a
//! GitOps repository into a profile. HelmReleases with their sources become chart
//! artifacts, the other YAML a kustomize artifact, every Secret value a `secret`
//! parameter (never copied), and with `parameterise` repeated literals (domains,
//! replica counts, image tags) parameters. Pure: the caller reads the directory and
//! writes the profile.
use crate::gitops::GitRepositoryRef;
use crate::yaml::{self, Map, Value};
use anyhow::{Result, bail};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

mod charts;
mod docs;
mod manifests;
mod parameterise;
mod params;
mod secrets;
use docs::*;
use manifests::*;
use params::*;
use secrets::*;

/// The artifact holding the YAML that is not a chart.
const MANIFESTS: &str = "manifests";
const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// Stands for a value that becomes a parameter until the text is written: plain
/// letters and digits, so YAML writers never quote it.
const TOKEN: &str = "PctlCaptureParam";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Files by relative path.
pub type Files = BTreeMap<String, Vec<u8>>;
/// Reads the files below a repository directory (None: no such directory).
pub type ReadDir<'a> = dyn Fn(&str) -> Result<Option<Files>> + 'a;

/// What to capture.
pub struct Input<'a> {
    /// Every file below DIR, by path relative to DIR.
    pub files: BTreeMap<String, Vec<u8>>,
    /// DIR, relative to the GitOps repository root ("" = the root).
    pub dir: String,
    /// The profile's name (metadata.name).
    pub name: String,
    pub parameterise: bool,
    /// The Flux GitRepository that syncs the GitOps repository: charts it serves are
    /// local charts of the GitOps repository.
    pub git_repository: GitRepositoryRef,
    /// Files below a directory of the GitOps repository (repository-relative), keyed
    /// relative to it; None when there is no such directory.
    pub read_dir: &'a ReadDir<'a>,
}

/// A captured profile.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Files relative to the profile directory, profile.yaml included.
    pub files: BTreeMap<String, Vec<u8>>,
    pub artifacts: Vec<ArtifactSummary>,
    pub parameters: Vec<ParamSummary>,
    /// What was not captured, or needs the user's attention.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactSummary {
    pub name: String,
    pub kind: String,
    pub detail: String,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamSummary {
    pub name: String,
    pub kind: String,
    /// The default as YAML text; empty for secrets.
    pub default: String,
    pub from: String,
}

// ---------------------------------------------------------------- the capture

struct Capture<'a> {
    input: &'a Input<'a>,
    /// YAML files that hold Kubernetes objects or kustomizations, by path below DIR.
    yaml: BTreeMap<String, YamlFile>,
    /// Other files kept as they are.
    other: BTreeMap<String, Vec<u8>>,
    params: Params,
    notes: Vec<String>,
    artifacts: Vec<(Value, ArtifactSummary)>,
    /// Files of the profile besides profile.yaml.
    out: BTreeMap<String, Vec<u8>>,
    /// Chart values with tokens, by artifact index.
    values: BTreeMap<usize, Value>,
    /// Files dropped whole (repo-relative paths below DIR) and pctl wrappers: file ->
    /// directory (below DIR) it pointed at.
    wrappers: BTreeMap<String, Option<String>>,
}

/// Capture a directory.
pub fn capture(input: &Input) -> Result<Captured> {
    if !crate::names::is_dns1123_label(&input.name) {
        bail!(crate::error::user(
            format!("--name {:?} is not a DNS-1123 label", input.name),
            "use lower-case letters, digits and '-', at most 63 characters",
        ));
    }
    if input
        .files
        .values()
        .any(|b| b.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()))
    {
        bail!(crate::error::user(
            format!("a file below {} contains {TOKEN:?}", shown(&input.dir)),
            "pctl uses that word internally while capturing; rename it",
        ));
    }
    let mut c = Capture {
        input,
        yaml: BTreeMap::new(),
        other: BTreeMap::new(),
        params: Params::default(),
        notes: Vec::new(),
        artifacts: Vec::new(),
        out: BTreeMap::new(),
        values: BTreeMap::new(),
        wrappers: BTreeMap::new(),
    };
    c.read()?;
    c.drop_generated();
    c.charts()?;
    c.secrets()?;
    c.secret_generators()?;
    if input.parameterise {
        c.parameterise();
    }
    c.manifests()?;
    c.finish()
}

fn shown(dir: &str) -> String {
    if dir.is_empty() {
        "the repository root".into()
    } else {
        dir.to_string()
    }
}

impl Capture<'_> {
    fn origin(&self, rel: &str) -> String {
        join(&self.input.dir, rel)
    }

    /// Sort the files: skip hidden ones and chart directories, parse YAML.
    fn read(&mut self) -> Result<()> {
        let chart_dirs: BTreeSet<String> = self
            .input
            .files
            .keys()
            .filter(|p| base_name(p) == "Chart.yaml")
            .map(|p| parent_dir(p).to_string())
            .collect();
        let in_chart = |p: &str| {
            chart_dirs
                .iter()
                .any(|d| d.is_empty() || p.starts_with(&format!("{d}/")))
        };
        for (rel, bytes) in &self.input.files {
            if rel.split('/').any(|part| part.starts_with('.')) || in_chart(rel) {
                continue;
            }
            if is_yaml(rel) || base_name(rel) == "Kustomization" {
                let origin = self.origin(rel);
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    crate::error::user(
                        format!("cannot capture {origin}: not UTF-8 text"),
                        "YAML files are UTF-8",
                    )
                })?;
                let file = parse_yaml(&origin, text)?;
                self.yaml.insert(rel.clone(), file);
            } else {
                self.other.insert(rel.clone(), bytes.clone());
            }
        }
        let objects = self
            .yaml
            .iter()
            .filter(|(p, _)| !is_kustomization_file(p))
            .flat_map(|(_, f)| &f.docs)
            .filter(|d| is_object(&d.value))
            .count();
        if objects == 0 {
            bail!(crate::error::user(
                format!(
                    "{} holds no Kubernetes manifests (no YAML document with apiVersion and kind)",
                    shown(&self.input.dir)
                ),
                "capture a directory of a GitOps repository that Flux applies",
            ));
        }
        Ok(())
    }

    /// Drop what pctl generated itself: installation records and wrapper
    /// Kustomizations (remembering the directory each wrapper pointed at).
    fn drop_generated(&mut self) {
        let dir = self.input.dir.clone();
        for (rel, file) in self.yaml.iter_mut() {
            for d in file.docs.iter_mut() {
                let (api, kind) = kind_of(&d.value);
                let record = kind == crate::record::KIND && group(api) == "pctl.dev";
                let wrapper = kind == "Kustomization"
                    && group(api) == "kustomize.toolkit.fluxcd.io"
                    && s(
                        &d.value,
                        &["metadata", "labels", "app.kubernetes.io/managed-by"],
                    ) == Some("pctl");
                if record || wrapper {
                    d.dropped = true;
                }
                if wrapper {
                    let target = s(&d.value, &["spec", "path"])
                        .and_then(|p| lexical("", p))
                        .and_then(|p| {
                            if dir.is_empty() {
                                Some(p)
                            } else {
                                p.strip_prefix(&format!("{dir}/")).map(str::to_string)
                            }
                        });
                    self.wrappers.insert(rel.clone(), target);
                }
            }
        }
    }

    /// Every document that is still captured as raw YAML, with its file.
    fn live(&self) -> impl Iterator<Item = (&String, usize, &Doc)> {
        self.yaml.iter().flat_map(|(rel, f)| {
            f.docs
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.dropped)
                .map(move |(i, d)| (rel, i, d))
        })
    }

    /// Find an object by kind and name (and namespace when both sides name one).
    fn find(&self, kinds: &[&str], name: &str, ns: Option<&str>) -> Option<(String, usize)> {
        let mut found = None;
        for (rel, i, d) in self.live() {
            let (_, kind) = kind_of(&d.value);
            if !kinds.contains(&kind) || s(&d.value, &["metadata", "name"]) != Some(name) {
                continue;
            }
            let their_ns = s(&d.value, &["metadata", "namespace"]);
            if let (Some(a), Some(b)) = (ns, their_ns)
                && a != b
            {
                continue;
            }
            found = Some((rel.clone(), i));
            if their_ns.is_some() && ns.is_some() {
                break;
            }
        }
        found
    }

    fn doc(&self, at: &(String, usize)) -> &Doc {
        &self.yaml[&at.0].docs[at.1]
    }

    fn doc_mut(&mut self, at: &(String, usize)) -> Option<&mut Doc> {
        self.yaml.get_mut(&at.0).and_then(|f| f.docs.get_mut(at.1))
    }

    fn artifact_name(&self, base: &str) -> String {
        let base = crate::names::fit(&crate::names::sanitize(base), 40);
        let base = if base.is_empty() {
            "chart".to_string()
        } else {
            base
        };
        let taken = |n: &str| n == MANIFESTS || self.artifacts.iter().any(|(_, a)| a.name == n);
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !taken(n))
            .unwrap_or(base)
    }
}

impl Capture<'_> {
    // ------------------------------------------------------------ profile.yaml

    fn finish(mut self) -> Result<Captured> {
        if self.artifacts.is_empty() {
            bail!(crate::error::user(
                format!(
                    "nothing to capture in {}: every object there is generated by pctl or could not be read",
                    shown(&self.input.dir)
                ),
                "capture the directory that holds the manifests themselves",
            ));
        }
        // Chart values: written as defaultValues, always rendered with Tera.
        let mut blocks: Vec<String> = Vec::new();
        for (idx, v) in std::mem::take(&mut self.values) {
            let text = yaml::to_string(&v)?;
            let text = self.params.substitute(&escape_tera(&text));
            if let Some(Value::Object(chart)) = self
                .artifacts
                .get_mut(idx)
                .and_then(|a| a.0.get_mut("chart"))
            {
                chart.insert(
                    "defaultValues".into(),
                    Value::String(format!("{TOKEN}Block{}X", blocks.len())),
                );
            }
            blocks.push(text);
        }
        let mut params = Vec::new();
        let mut summary = Vec::new();
        for p in &self.params.list {
            let mut m = Map::new();
            m.insert("name".into(), json!(p.name));
            m.insert("type".into(), json!(p.kind));
            if p.kind == "secret" {
                m.insert("required".into(), json!(true));
            }
            if let Some(d) = &p.default {
                m.insert("default".into(), d.clone());
            }
            if let Some(pat) = p.pattern {
                m.insert("pattern".into(), json!(pat));
            }
            if let Some(min) = p.minimum {
                m.insert("minimum".into(), json!(min));
            }
            m.insert("description".into(), json!(p.description));
            params.push(Value::Object(m));
            summary.push(ParamSummary {
                name: p.name.clone(),
                kind: p.kind.to_string(),
                default: match &p.default {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                },
                from: p.description.clone(),
            });
        }
        let mut spec = Map::new();
        spec.insert(
            "description".into(),
            json!(format!("Captured from {}", shown(&self.input.dir))),
        );
        if !params.is_empty() {
            spec.insert("parameters".into(), Value::Array(params));
        }
        spec.insert(
            "artifacts".into(),
            Value::Array(self.artifacts.iter().map(|a| a.0.clone()).collect()),
        );
        let def = json!({
            "apiVersion": crate::model::API_VERSION,
            "kind": crate::model::KIND,
            "metadata": {"name": self.input.name},
            "spec": spec,
        });
        let mut text = format!(
            "# Captured by pctl from {}.\n{}",
            shown(&self.input.dir),
            yaml::to_string(&def)?
        );
        for (i, block) in blocks.iter().enumerate() {
            text = insert_block(&text, &format!("{TOKEN}Block{i}X"), block);
        }
        if let Err(e) = crate::model::parse("captured profile.yaml", &text, Some(&self.input.name))
        {
            bail!(crate::error::Bug(format!(
                "the captured profile.yaml does not parse: {e}"
            )));
        }
        self.out.insert("profile.yaml".into(), text.into_bytes());
        Ok(Captured {
            files: self.out,
            artifacts: self.artifacts.into_iter().map(|a| a.1).collect(),
            parameters: summary,
            notes: self.notes,
        })
    }
}

mod helmrelease;
#[cfg(test)]
mod tests;
