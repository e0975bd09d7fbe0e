//! Rendering (docs/layout.md): a resolved profile tree becomes the files of one
//! installation directory: a wrapper Flux Kustomization per artifact, HelmReleases and
//! their sources, copied charts and YAML, the installation's kustomization.yaml and its
//! record. Pure: same inputs, byte-identical output. Secrets stay plaintext in the
//! [`Unsealed`] it returns; `crate::sops::seal` encrypts them into a [`Rendered`].
use crate::flux::GitRepositoryRef;
use crate::model::ParamType;
use crate::model::resolved::{Resolved, ResolvedArtifact, ResolvedKind};
use crate::names;
use crate::record::{self, ChartRecord, Installation, NestedRecord, ValueRecord};
use crate::yaml::{self, Map, Value};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

mod confine;
mod placeholders;
pub use placeholders::placeholder_values;
mod helmrelease;
mod relocate;
pub use relocate::{record_like, repointed};
mod renderer;
mod secrets;
mod unsealed;
pub use unsealed::{Part, Plaintext, ToSeal, Unsealed};

use renderer::Renderer;
pub use secrets::SOPS_KEY_SECRET;
use secrets::{SECRET_MARK, marker};

pub const WRAPPER_FILE: &str = "kustomize-flux.yaml";
pub const INTERVAL: &str = "10m0s";

#[derive(Debug, Clone)]
pub struct Options {
    /// Installation name (NAME).
    pub name: String,
    /// Namespace for the workloads.
    pub namespace: String,
    /// Repository-relative directory of the installation.
    pub install_dir: String,
    pub git_repository: GitRepositoryRef,
    /// Values from every level (command line, files, presets, value profiles …).
    pub inputs: crate::values::Inputs,
    /// The GitOps repository's `.sops.yaml`, when it has one.
    pub sops_yaml: Option<String>,
    /// `--secret-ref PARAM=SECRET/KEY`: secrets the user creates in the cluster.
    pub secret_refs: BTreeMap<String, (String, String)>,
    /// Where objects without a namespace go and whether the namespace is created.
    pub namespaces: crate::namespaces::Policy,
    /// Another layout of the Flux objects (`pctl migrate`; recorded): None = pctl's.
    pub flux_objects: Option<record::FluxObjects>,
}

impl Options {
    /// Whether `self` and `other` render the same files but for the installation
    /// directory: every input equal (the values of every level, the cluster's
    /// included, with where each came from).
    pub fn same_but_dir(&self, other: &Options) -> bool {
        self.name == other.name
            && self.namespace == other.namespace
            && self.git_repository == other.git_repository
            && self.inputs == other.inputs
            && self.sops_yaml == other.sops_yaml
            && self.secret_refs == other.secret_refs
            && self.namespaces == other.namespaces
            && self.flux_objects == other.flux_objects
    }

    /// The namespace of the wrappers, HelmReleases, sources and chart Secrets.
    pub fn flux_namespace(&self) -> &str {
        match &self.flux_objects {
            Some(f) => &f.namespace,
            None => &self.git_repository.namespace,
        }
    }

    /// The name of the Flux objects of artifact `id`.
    pub fn object_name(&self, id: &str) -> String {
        self.flux_objects
            .as_ref()
            .and_then(|f| f.names.get(id).cloned())
            .unwrap_or_else(|| names::object_name(&self.name, id))
    }
}

/// One artifact that produces objects (nested profiles are flattened into these).
#[derive(Debug, Clone)]
pub struct Leaf {
    pub id: String,
    pub object: String,
    pub depends_on: Vec<String>,
    pub kind: &'static str,
}

impl Rendered {
    /// Whether `path` (relative to the installation) lies inside a local chart that
    /// was copied in (`artifacts/<id>/chart/...` of a local-chart artifact): Helm's
    /// templates, not manifests. An artifact that is merely named `chart`, or a
    /// kustomize directory with a `chart/` subdirectory, is not one.
    pub fn is_chart_file(&self, path: &str) -> bool {
        self.leaves.iter().any(|l| {
            l.kind == "local chart"
                && path
                    .strip_prefix("artifacts/")
                    .and_then(|p| p.strip_prefix(l.id.as_str()))
                    .is_some_and(|p| p.starts_with("/chart/"))
        })
    }
}

/// One installation's rendering: its files, its record and what the user must do.
/// `Default` is an empty one: a fleet install holds it for a cluster whose rendering
/// it makes later (`Rendered::relocated_applied`).
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Files relative to the installation directory, the record included.
    pub files: BTreeMap<String, Vec<u8>>,
    pub record: Installation,
    pub leaves: Vec<Leaf>,
    /// Things the user must do (for example `kubectl create secret` for --secret-ref).
    pub notes: Vec<String>,
    /// Files holding SOPS-encrypted documents, by path relative to the installation:
    /// what their plaintext was. Encryption is randomized, so upgrade and sync compare
    /// these instead of the bytes.
    pub sealed: BTreeMap<String, Sealed>,
    /// Whether [`Rendered::relocated`] may move it to another installation directory.
    pub relocatable: bool,
}

/// The plaintext behind an encrypted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// SHA-256 of the plaintext of every document, before encryption.
    pub plain_sha256: String,
    /// The secrets kept from the installation ([`crate::values::KEPT_SECRET`]) that
    /// stand in the plaintext: then the encrypted bytes must not be used.
    pub kept: BTreeSet<String>,
}

impl Sealed {
    fn of(plain: &str) -> Sealed {
        Sealed {
            plain_sha256: record::sha256(plain.as_bytes()),
            kept: crate::values::kept_secrets_in(plain),
        }
    }
}

/// Render an installation. Its Secrets are not encrypted yet: seal the result
/// (`crate::sops::seal`) to have files to write.
pub fn render(root: &Resolved, opts: &Options) -> Result<Unsealed> {
    let (out, read_path) = crate::template::watch_install_path(|| render_tree(root, opts));
    let mut out = out?;
    // Movable to another directory (`Rendered::relocated`) when nothing but the
    // wrappers' and local charts' paths depends on it (no profile object reads the
    // GitOps repository at a path of its own).
    out.relocatable = out.relocatable
        && !read_path
        && out.to_seal.is_empty()
        && out.sealed.is_empty()
        && opts.flux_objects.is_none();
    Ok(out)
}

fn render_tree(root: &Resolved, opts: &Options) -> Result<Unsealed> {
    if !names::is_dns1123_label(&opts.name) {
        bail!(crate::error::user(
            format!("installation name {:?} is not a DNS-1123 label", opts.name),
            "use lower-case letters, digits and '-', starting and ending with a letter or digit",
        ));
    }
    if !names::is_dns1123_label(&opts.namespace) {
        bail!(crate::error::user(
            format!(
                "namespace {:?} is not a valid Kubernetes namespace",
                opts.namespace
            ),
            "use lower-case letters, digits and '-'",
        ));
    }
    let mut r = Renderer {
        opts,
        files: BTreeMap::new(),
        leaves: Vec::new(),
        nested: Vec::new(),
        charts: Vec::new(),
        ids: BTreeMap::new(),
        values: BTreeMap::new(),
        secrets: Vec::new(),
        secret_values: BTreeMap::new(),
        notes: Vec::new(),
        sealed: BTreeMap::new(),
        to_seal: Vec::new(),
        wrappers: Vec::new(),
        created_namespaces: BTreeSet::new(),
        reads_repository: false,
    };
    let mut declared = Vec::new();
    declared_tree(root, "", &mut declared);
    crate::values::check_unknown(&opts.inputs, &declared)?;
    for key in opts.secret_refs.keys() {
        if !declared
            .iter()
            .any(|d| d.params.iter().any(|p| join_path(&d.path, p) == *key))
        {
            bail!(crate::error::user(
                format!(
                    "--secret-ref {key}: no profile in this installation declares a parameter {key:?}"
                ),
                "name a secret parameter (ARTIFACT.NAME for a nested profile)",
            ));
        }
    }
    let params = r.params(root, "", None)?;
    r.profile(root, "", "", &BTreeSet::new(), &params)?;
    let created = r.namespace_artifact(&root.def.name)?;
    for (path, wrapper) in std::mem::take(&mut r.wrappers) {
        r.put(&path, &wrapper)?;
    }

    let resources: Vec<String> = r
        .leaves
        .iter()
        .map(|l| format!("artifacts/{}/{WRAPPER_FILE}", l.id))
        .collect();
    r.files.insert(
        "kustomization.yaml".into(),
        crate::flux::kustomization(&resources)?,
    );
    let installation = Installation {
        api_version: record::API_VERSION.into(),
        kind: record::KIND.into(),
        metadata: record::Metadata {
            name: opts.name.clone(),
        },
        spec: record::Spec {
            namespace: opts.namespace.clone(),
            namespaces: opts
                .namespaces
                .keep_explicit
                .then_some(record::NamespaceRecord {
                    create: opts.namespaces.create,
                    created,
                }),
            flux_objects: opts.flux_objects.clone(),
            path: opts.install_dir.clone(),
            profile: root.def.name.clone(),
            source: root.source.clone(),
            nested: r.nested,
            charts: r.charts,
            values: r.values,
            secrets: r.secrets,
            secret_refs: opts
                .secret_refs
                .iter()
                .map(|(k, (secret, key))| (k.clone(), format!("{secret}/{key}")))
                .collect(),
            preset: opts.inputs.preset.clone(),
            values_profiles: opts.inputs.values_profile_names.clone(),
            // The hashes of the files, ciphertext included: `Unsealed::finish`.
            files: BTreeMap::new(),
            bases: BTreeMap::new(),
            generated_by: format!("pctl {}", env!("CARGO_PKG_VERSION")),
        },
    };
    Ok(Unsealed {
        files: r.files,
        record: installation,
        leaves: r.leaves,
        notes: r.notes,
        sealed: r.sealed,
        to_seal: r.to_seal,
        // Set by `render` from the rest of what ties it to its directory.
        relocatable: !r.reads_repository,
    })
}

/// Every parameter of the tree with its type, final value (secrets masked) and source,
/// without rendering any file (`render --explain`, `show`).
pub fn explain(root: &Resolved, opts: &Options) -> Result<Vec<Vec<String>>> {
    let mut declared = Vec::new();
    declared_tree(root, "", &mut declared);
    crate::values::check_unknown(&opts.inputs, &declared)?;
    let mut rows = Vec::new();
    explain_walk(root, "", None, opts, &mut rows)?;
    Ok(rows)
}

fn explain_walk(
    p: &Resolved,
    path: &str,
    binding: Option<&Map>,
    opts: &Options,
    rows: &mut Vec<Vec<String>>,
) -> Result<()> {
    let scope = crate::values::Scope {
        def: &p.def,
        path,
        binding,
    };
    let pv = crate::values::resolve_allow_missing(&scope, &opts.inputs)?;
    rows.extend(crate::values::explain(&p.def, path, &pv));
    let ctx = context(p, &pv.values, opts);
    for a in &p.artifacts {
        if let ResolvedKind::Profile { profile, with } = &a.kind {
            let origin = format!("{} artifact {:?} `with`", p.def.name, a.name);
            let bound = render_value(&origin, &Value::Object(with.clone()), &ctx)?;
            let empty = Map::new();
            explain_walk(
                profile,
                &join_path(path, &a.name),
                Some(bound.as_object().unwrap_or(&empty)),
                opts,
                rows,
            )?;
        }
    }
    Ok(())
}

/// The Tera context of a profile: `params`, `profile`, `install`.
fn context(p: &Resolved, params: &Map, opts: &Options) -> Value {
    json!({
        "params": params,
        "profile": {"name": p.def.name, "version": p.source.label()},
        "install": {
            "name": opts.name,
            "namespace": opts.namespace,
            "path": opts.install_dir,
        },
    })
}

/// Every profile of the tree with its artifact path and parameters.
fn declared_tree(p: &Resolved, path: &str, out: &mut Vec<crate::values::Declared>) {
    out.push(crate::values::Declared {
        profile: p.def.name.clone(),
        path: path.to_string(),
        params: p.def.parameters.iter().map(|x| x.name.clone()).collect(),
    });
    for a in &p.artifacts {
        if let ResolvedKind::Profile { profile, .. } = &a.kind {
            declared_tree(profile, &join_path(path, &a.name), out);
        }
    }
}

/// Every parameter of the tree as addressed on the command line (`param`,
/// `artifact.param`), with whether it is a secret.
pub fn parameter_keys(root: &Resolved) -> BTreeMap<String, bool> {
    fn walk(p: &Resolved, path: &str, out: &mut BTreeMap<String, bool>) {
        for x in &p.def.parameters {
            out.insert(join_path(path, &x.name), x.kind == ParamType::Secret);
        }
        for a in &p.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                walk(profile, &join_path(path, &a.name), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

/// Command-line address of a nested profile: artifact names joined with '.'.
fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// Render every string inside a value with Tera.
fn render_value(origin: &str, v: &Value, ctx: &Value) -> Result<Value> {
    Ok(match v {
        Value::String(s) => Value::String(crate::template::render(origin, s, ctx)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_value(origin, x, ctx))
                .collect::<Result<_>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), render_value(origin, x, ctx)?)))
                .collect::<Result<Map>>()?,
        ),
        other => other.clone(),
    })
}

/// The manifests of a rendering as one multi-document YAML stream (for `pctl render`):
/// every YAML file except chart internals, the record and kustomization files.
pub fn manifests(r: &Rendered) -> String {
    let mut out = String::new();
    for (path, bytes) in &r.files {
        if !is_yaml(path)
            || r.is_chart_file(path)
            || path == record::FILE
            || path.ends_with("kustomization.yaml")
        {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        out.push_str(&format!("---\n# Source: {path}\n"));
        out.push_str(text.trim_start_matches("---\n"));
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests;
