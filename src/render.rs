//! Rendering (docs/layout.md): a resolved profile tree becomes the files of one
//! installation directory: a wrapper Flux Kustomization per artifact, HelmReleases and
//! their sources, copied charts and YAML, the installation's kustomization.yaml and its
//! record. Pure: same inputs, byte-identical output.
use crate::gitops::GitRepositoryRef;
use crate::model::ParamType;
use crate::names;
use crate::record::{self, ChartRecord, Installation, NestedRecord, ValueRecord};
use crate::resolve::{Resolved, ResolvedArtifact, ResolvedKind};
use crate::yaml::{self, Map, Value};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

mod helmrelease;

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
}

/// Marks where a secret appeared in rendered text (followed by the parameter key in
/// hex and SECRET_END); safe in any YAML scalar; never written anywhere.
const SECRET_MARK: &str = "PCTL-SECRET-";
const SECRET_END: &str = "-END";

fn marker(key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{SECRET_MARK}{hex}{SECRET_END}")
}

/// The parameter key of the marker at the start of `s`, and the rest of `s`.
fn parse_marker(s: &str) -> Option<(String, &str)> {
    let after = s.strip_prefix(SECRET_MARK)?;
    let end = after.find(SECRET_END)?;
    let hex = &after[..end];
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    Some((
        String::from_utf8(bytes?).ok()?,
        &after[end + SECRET_END.len()..],
    ))
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

#[derive(Debug, Clone)]
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

/// Render an installation.
pub fn render(root: &Resolved, opts: &Options) -> Result<Rendered> {
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
        wrappers: Vec::new(),
        created_namespaces: BTreeSet::new(),
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
        crate::gitops::kustomization(&resources)?,
    );
    let file_hashes = r
        .files
        .iter()
        .map(|(k, v)| (k.clone(), record::sha256(v)))
        .collect();
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
            files: file_hashes,
            generated_by: format!("pctl {}", env!("CARGO_PKG_VERSION")),
        },
    };
    r.files
        .insert(record::FILE.into(), installation.to_yaml()?.into_bytes());
    Ok(Rendered {
        files: r.files,
        record: installation,
        leaves: r.leaves,
        notes: r.notes,
        sealed: r.sealed,
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

/// Values for the required parameters of the tree that have no default, as the
/// lowest level but defaults (`global`, detail [`crate::values::PLACEHOLDER`]), so that
/// `pctl lint` and `pctl diff` can render a profile nobody gave values for. A value
/// given at any level, or a parent's `with` binding, still wins. Parameters for which
/// no placeholder fits (a pattern none matches) get none.
pub fn placeholder_values(root: &Resolved) -> Vec<crate::values::Given> {
    fn walk(p: &Resolved, path: &str, out: &mut Vec<crate::values::Given>) {
        for x in &p.def.parameters {
            if !x.required || x.default.is_some() {
                continue;
            }
            let Some(v) = crate::values::placeholder(x) else {
                continue;
            };
            let key = if path.is_empty() {
                format!("{}.{}", p.def.name, x.name)
            } else {
                format!("{path}.{}", x.name)
            };
            out.push(crate::values::Given {
                key,
                value: crate::values::Raw::Typed(v),
                origin: crate::values::Origin::new(
                    crate::values::Level::Global,
                    crate::values::PLACEHOLDER,
                ),
                secret_ok: true,
                group: usize::MAX,
            });
        }
        for a in &p.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                walk(profile, &join_path(path, &a.name), out);
            }
        }
    }
    let mut out = Vec::new();
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

struct Renderer<'o> {
    opts: &'o Options,
    files: BTreeMap<String, Vec<u8>>,
    leaves: Vec<Leaf>,
    nested: Vec<NestedRecord>,
    charts: Vec<ChartRecord>,
    /// artifact id -> where it came from, to report collisions.
    ids: BTreeMap<String, String>,
    values: BTreeMap<String, ValueRecord>,
    secrets: Vec<String>,
    /// Secret parameter key -> its value (None: only a --secret-ref).
    secret_values: BTreeMap<String, Option<String>>,
    notes: Vec<String>,
    sealed: BTreeMap<String, Sealed>,
    /// Wrapper files, written last (the namespace artifact adds a dependency to each).
    wrappers: Vec<(String, Value)>,
    /// Namespace objects the artifacts create.
    created_namespaces: BTreeSet<String>,
}

/// Chart values with secrets taken out.
struct ChartValues {
    values: Map,
    values_from: Vec<Value>,
    /// stringData of the SOPS-encrypted Secret the chart reads, when one is needed.
    secret_data: Map,
}

/// The most characters of an artifact id (a directory name under `artifacts/`):
/// ids of profiles nested deep with long names are cut with a hash, like object
/// names, instead of failing at write time on the file system's 255-byte limit.
const MAX_ID: usize = 200;

fn join_id(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        crate::names::fit(name, MAX_ID)
    } else {
        crate::names::fit(&format!("{prefix}-{name}"), MAX_ID)
    }
}

/// Object names of every leaf an artifact produces.
fn leaf_objects(install: &str, a: &ResolvedArtifact, prefix: &str) -> Vec<String> {
    let id = join_id(prefix, &a.name);
    match &a.kind {
        ResolvedKind::Profile { profile, .. } => profile
            .artifacts
            .iter()
            .flat_map(|c| leaf_objects(install, c, &id))
            .collect(),
        _ => vec![names::object_name(install, &id)],
    }
}

impl Renderer<'_> {
    fn context(&self, p: &Resolved, params: &Map) -> Value {
        context(p, params, self.opts)
    }

    /// Resolve one profile's parameters and remember them for the record.
    fn params(&mut self, p: &Resolved, path: &str, binding: Option<&Map>) -> Result<Map> {
        let scope = crate::values::Scope {
            def: &p.def,
            path,
            binding,
        };
        let pv = crate::values::resolve(&scope, &self.opts.inputs)?;
        for param in &p.def.parameters {
            let key = join_path(path, &param.name);
            if param.kind == ParamType::Secret {
                let v = pv.values.get(&param.name).map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                });
                if v.is_some() || self.opts.secret_refs.contains_key(&key) {
                    self.secret_values.insert(key.clone(), v);
                    self.secrets.push(key);
                }
            } else if let (Some(v), Some(o)) =
                (pv.values.get(&param.name), pv.origins.get(&param.name))
            {
                self.values.insert(
                    key,
                    ValueRecord {
                        value: v.clone(),
                        source: o.record_label(),
                    },
                );
            }
        }
        Ok(pv.values)
    }

    fn profile(
        &mut self,
        p: &Resolved,
        prefix: &str,
        path: &str,
        inherited: &BTreeSet<String>,
        params: &Map,
    ) -> Result<()> {
        let ctx = self.context(p, params);
        // Files and chart values see a marker instead of each secret.
        let mut masked = params.clone();
        for param in p
            .def
            .parameters
            .iter()
            .filter(|x| x.kind == ParamType::Secret)
        {
            let key = join_path(path, &param.name);
            if self.secret_values.contains_key(&key) {
                masked.insert(param.name.clone(), Value::String(marker(&key)));
            }
        }
        let file_ctx = self.context(p, &masked);
        for a in &p.artifacts {
            let id = join_id(prefix, &a.name);
            let mut deps = inherited.clone();
            for d in &a.depends_on {
                if let Some(target) = p.artifacts.iter().find(|x| &x.name == d) {
                    deps.extend(leaf_objects(&self.opts.name, target, prefix));
                }
            }
            if let ResolvedKind::Profile { profile, with } = &a.kind {
                let origin = format!("{} artifact {:?} `with`", p.def.name, a.name);
                let bound = render_value(&origin, &Value::Object(with.clone()), &ctx)?;
                let child_path = join_path(path, &a.name);
                let empty = Map::new();
                let child_params = self.params(
                    profile,
                    &child_path,
                    Some(bound.as_object().unwrap_or(&empty)),
                )?;
                self.nested.push(NestedRecord {
                    artifact: id.clone(),
                    profile: profile.def.name.clone(),
                    source: profile.source.clone(),
                });
                self.profile(profile, &id, &child_path, &deps, &child_params)?;
                continue;
            }
            let where_from = format!("artifact {:?} of profile {:?}", a.name, p.def.name);
            if let Some(other) = self.ids.insert(id.clone(), where_from.clone()) {
                bail!(crate::error::user(
                    format!("artifact id {id:?} is produced twice: by {other} and by {where_from}"),
                    "rename one of the artifacts",
                ));
            }
            let object = names::object_name(&self.opts.name, &id);
            let mut deps: Vec<String> = deps.into_iter().filter(|d| d != &object).collect();
            deps.sort();
            self.leaf(p, a, &id, &object, &deps, &file_ctx)?;
        }
        Ok(())
    }

    fn leaf(
        &mut self,
        p: &Resolved,
        a: &ResolvedArtifact,
        id: &str,
        object: &str,
        deps: &[String],
        ctx: &Value,
    ) -> Result<()> {
        let dir = format!("artifacts/{id}");
        let repo_dir = format!("{}/{dir}", self.opts.install_dir);
        let flux_ns = self.opts.git_repository.namespace.clone();
        let mut resources: Vec<String> = Vec::new();
        let mut target_namespace = None;
        let mut transformer = false;
        let mut written: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut decrypt = false;
        let kind: &'static str;
        match &a.kind {
            ResolvedKind::RemoteChart {
                url,
                name,
                version,
                default_values,
                release,
            } => {
                kind = if url.starts_with("oci://") {
                    "oci chart"
                } else {
                    "chart"
                };
                let mut spec = json!({"interval": INTERVAL, "url": url});
                if url.starts_with("oci://") {
                    spec["type"] = json!("oci");
                }
                let repo = json!({
                    "apiVersion": "source.toolkit.fluxcd.io/v1",
                    "kind": "HelmRepository",
                    "metadata": {"name": object, "namespace": flux_ns},
                    "spec": spec,
                });
                self.put(&format!("{dir}/helm-repository.yaml"), &repo)?;
                let values = self.values(p, a, id, object, default_values.as_deref(), ctx)?;
                decrypt |= self.chart_secret(&dir, object, &values.secret_data, &mut resources)?;
                let hr = self.helm_release(p, a, id, object, release, json!({
                    "chart": name,
                    "version": version,
                    "sourceRef": {"kind": "HelmRepository", "name": object, "namespace": flux_ns},
                    "interval": INTERVAL,
                }), values, ctx)?;
                self.put(&format!("{dir}/helm-release.yaml"), &hr)?;
                resources.extend([
                    "helm-repository.yaml".to_string(),
                    "helm-release.yaml".to_string(),
                ]);
                self.charts.push(ChartRecord {
                    artifact: id.to_string(),
                    url: Some(url.clone()),
                    name: name.clone(),
                    version: version.clone(),
                });
            }
            ResolvedKind::LocalChart {
                name,
                files,
                default_values,
                release,
            } => {
                kind = "local chart";
                for (rel, bytes) in files {
                    self.files
                        .insert(format!("{dir}/chart/{rel}"), bytes.clone());
                }
                let values = self.values(p, a, id, object, default_values.as_deref(), ctx)?;
                decrypt |= self.chart_secret(&dir, object, &values.secret_data, &mut resources)?;
                let hr = self.helm_release(
                    p,
                    a,
                    id,
                    object,
                    release,
                    json!({
                        "chart": format!("./{repo_dir}/chart"),
                        "sourceRef": {
                            "kind": "GitRepository",
                            "name": self.opts.git_repository.name,
                            "namespace": self.opts.git_repository.namespace,
                        },
                        "interval": INTERVAL,
                        "reconcileStrategy": "Revision",
                    }),
                    values,
                    ctx,
                )?;
                self.put(&format!("{dir}/helm-release.yaml"), &hr)?;
                resources.push("helm-release.yaml".into());
                let version = files
                    .get("Chart.yaml")
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .and_then(|t| yaml::from_str::<Value>("Chart.yaml", t).ok())
                    .and_then(|v| {
                        v.get("version").map(|x| {
                            x.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string())
                        })
                    })
                    .unwrap_or_default();
                self.charts.push(ChartRecord {
                    artifact: id.to_string(),
                    url: None,
                    name: name.clone(),
                    version,
                });
            }
            ResolvedKind::Kustomize { files } => {
                kind = "kustomize";
                let has_kustomization =
                    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
                        .iter()
                        .any(|k| files.contains_key(*k));
                for (rel, bytes) in files {
                    let out = if a.template && is_yaml(rel) {
                        let text = String::from_utf8(bytes.clone())
                            .with_context(|| format!("{dir}/{rel}: not UTF-8 text"))?;
                        let origin = format!("{} ({} artifact {:?})", rel, p.def.name, a.name);
                        let out = crate::template::render_yaml(&origin, &text, ctx)?;
                        if out.contains(SECRET_MARK) {
                            decrypt = true;
                            let (sealed, plain) = self.protect_secrets(
                                &format!("{rel} of profile {:?} artifact {:?}", p.def.name, a.name),
                                &format!("{}/{dir}/{rel}", self.opts.install_dir),
                                &out,
                            )?;
                            self.sealed
                                .insert(format!("{dir}/{rel}"), Sealed::of(&plain));
                            sealed.into_bytes()
                        } else {
                            out.into_bytes()
                        }
                    } else {
                        bytes.clone()
                    };
                    written.insert(rel.clone(), out.clone());
                    self.files.insert(format!("{dir}/{rel}"), out);
                    if !has_kustomization && is_yaml(rel) {
                        resources.push(rel.clone());
                    }
                }
                if !has_kustomization && resources.is_empty() {
                    bail!(crate::error::user(
                        format!(
                            "artifact {:?} of profile {:?} has no YAML files",
                            a.name, p.def.name
                        ),
                        "a kustomize artifact is a directory of Kubernetes YAML or a kustomization",
                    ));
                }
                if has_kustomization {
                    resources.clear();
                }
                target_namespace = self.place(p, a, &dir, &written, &mut transformer)?;
            }
            ResolvedKind::Profile { .. } => unreachable!("nested profiles are flattened"),
        }
        if !resources.is_empty() {
            let mut k = crate::gitops::kustomization(&resources)?;
            if transformer {
                k.extend(crate::namespaces::transformer(&self.opts.namespace).into_bytes());
            }
            self.files.insert(format!("{dir}/kustomization.yaml"), k);
        }
        let mut spec = json!({
            "interval": INTERVAL,
            "path": format!("./{repo_dir}"),
            "prune": true,
            "sourceRef": {
                "kind": "GitRepository",
                "name": self.opts.git_repository.name,
                "namespace": self.opts.git_repository.namespace,
            },
            "wait": true,
            "timeout": "5m0s",
        });
        if let Some(ns) = target_namespace {
            spec["targetNamespace"] = json!(ns);
        }
        if decrypt {
            spec["decryption"] =
                json!({"provider": "sops", "secretRef": {"name": SOPS_KEY_SECRET}});
        }
        if !deps.is_empty() {
            spec["dependsOn"] = Value::Array(deps.iter().map(|d| json!({"name": d})).collect());
        }
        let wrapper = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {
                "name": object,
                "namespace": flux_ns,
                "labels": {
                    "app.kubernetes.io/managed-by": "pctl",
                    "pctl.dev/installation": self.opts.name,
                    "pctl.dev/profile": p.def.name,
                    "pctl.dev/artifact": names::fit(&names::sanitize(id), 63),
                },
            },
            "spec": spec,
        });
        self.wrappers
            .push((format!("{dir}/{WRAPPER_FILE}"), wrapper));
        self.leaves.push(Leaf {
            id: id.to_string(),
            object: object.to_string(),
            depends_on: deps.to_vec(),
            kind,
        });
        Ok(())
    }

    /// Where a Kustomize artifact's objects go (docs/layout.md#namespaces): the wrapper's
    /// `targetNamespace` when that keeps what the YAML means (no Namespace object but
    /// the install namespace, no explicit namespace but it), else an unset-only
    /// namespace transformer in the artifact's kustomization (`transformer`: in the
    /// generated one). Records the Namespace objects the artifact creates.
    fn place(
        &mut self,
        p: &Resolved,
        a: &ResolvedArtifact,
        dir: &str,
        written: &BTreeMap<String, Vec<u8>>,
        transformer: &mut bool,
    ) -> Result<Option<String>> {
        use crate::namespaces as ns;
        let install_ns = self.opts.namespace.clone();
        if !self.opts.namespaces.keep_explicit {
            return Ok(Some(install_ns));
        }
        let kpath = ns::kustomization_of(written, "");
        let objs = ns::build(written, "");
        for o in objs.iter().filter(|o| o.kind == "Namespace") {
            self.created_namespaces.insert(o.name.clone());
        }
        if ns::target_namespace_keeps_meaning(&objs, &install_ns) {
            return Ok(Some(install_ns));
        }
        let Some(kpath) = kpath else {
            *transformer = true;
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&written[&kpath]).into_owned();
        let label = format!("{kpath} of profile {:?} artifact {:?}", p.def.name, a.name);
        let k: Value = yaml::from_str(&label, &text)?;
        if k.get("namespace").and_then(Value::as_str).is_some() {
            return Ok(None);
        }
        let Some(new) = ns::add_transformer(&label, &text, &install_ns) else {
            bail!(crate::error::user(
                format!(
                    "{label}: cannot add pctl's namespace transformer: it is not a mapping with a list of transformers"
                ),
                "fix the kustomization in the profile",
            ));
        };
        self.files
            .insert(format!("{dir}/{kpath}"), new.into_bytes());
        Ok(None)
    }

    /// The artifact that creates the install namespace, which every other artifact
    /// depends on: added unless the policy or `--create-namespace=false` says no, the
    /// namespace is built in, or the repository or the profile already creates it.
    /// Returns whether it was added.
    fn namespace_artifact(&mut self, profile: &str) -> Result<bool> {
        let policy = &self.opts.namespaces;
        let ns = self.opts.namespace.clone();
        if !policy.keep_explicit
            || !policy.create
            || policy.created_elsewhere
            || crate::namespaces::is_built_in(&ns)
            || self.created_namespaces.contains(&ns)
        {
            return Ok(false);
        }
        let objects: BTreeSet<String> = self.leaves.iter().map(|l| l.object.clone()).collect();
        let id = crate::namespaces::namespace_id(&|id| {
            self.ids.contains_key(id) || objects.contains(&names::object_name(&self.opts.name, id))
        });
        let object = names::object_name(&self.opts.name, &id);
        let dir = format!("artifacts/{id}");
        let mut resources = Vec::new();
        for (rel, bytes) in crate::namespaces::namespace_files(&ns) {
            self.files.insert(format!("{dir}/{rel}"), bytes);
            resources.push(rel);
        }
        self.files.insert(
            format!("{dir}/kustomization.yaml"),
            crate::gitops::kustomization(&resources)?,
        );
        for (leaf, (_, wrapper)) in self.leaves.iter_mut().zip(self.wrappers.iter_mut()) {
            leaf.depends_on.push(object.clone());
            leaf.depends_on.sort();
            wrapper["spec"]["dependsOn"] =
                Value::Array(leaf.depends_on.iter().map(|d| json!({"name": d})).collect());
        }
        let repo_dir = format!("{}/{dir}", self.opts.install_dir);
        let wrapper = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {
                "name": object,
                "namespace": self.opts.git_repository.namespace,
                "labels": {
                    "app.kubernetes.io/managed-by": "pctl",
                    "pctl.dev/installation": self.opts.name,
                    "pctl.dev/profile": profile,
                    "pctl.dev/artifact": names::fit(&names::sanitize(&id), 63),
                },
            },
            "spec": {
                "interval": INTERVAL,
                "path": format!("./{repo_dir}"),
                "prune": true,
                "sourceRef": {
                    "kind": "GitRepository",
                    "name": self.opts.git_repository.name,
                    "namespace": self.opts.git_repository.namespace,
                },
                "wait": true,
                "timeout": "5m0s",
            },
        });
        self.wrappers
            .insert(0, (format!("{dir}/{WRAPPER_FILE}"), wrapper));
        self.leaves.insert(
            0,
            Leaf {
                id,
                object,
                depends_on: Vec::new(),
                kind: "namespace",
            },
        );
        Ok(true)
    }

    fn values(
        &mut self,
        p: &Resolved,
        a: &ResolvedArtifact,
        id: &str,
        object: &str,
        default_values: Option<&str>,
        ctx: &Value,
    ) -> Result<ChartValues> {
        let mut out = ChartValues {
            values: Map::new(),
            values_from: Vec::new(),
            secret_data: Map::new(),
        };
        let Some(text) = default_values else {
            return Ok(out);
        };
        let origin = format!(
            "profile {:?} artifact {:?} defaultValues",
            p.def.name, a.name
        );
        let rendered = crate::template::render_yaml(&origin, text, ctx)?;
        let v: Value = if rendered.trim().is_empty() {
            Value::Null
        } else {
            // Parse errors quote the text: never with a secret in it.
            // As Helm reads the same text in a chart's values.yaml (`0755` is 493).
            yaml::helm_values(&origin, &rendered).map_err(|e| {
                if rendered.contains(SECRET_MARK) {
                    crate::error::user(
                        format!("{origin}: not valid YAML once rendered"),
                        "check the YAML around the secret parameter",
                    )
                } else {
                    e
                }
            })?
        };
        let mut values = match v {
            Value::Null => Map::new(),
            Value::Object(m) => m,
            _ => bail!(crate::error::user(
                format!("{origin}: is not a YAML mapping"),
                "defaultValues holds chart values: a mapping"
            )),
        };
        let mut found = Vec::new();
        take_secrets(&mut values, "", &origin, &mut found)?;
        for (key, target_path) in found {
            if let Some((secret, secret_key)) = self.opts.secret_refs.get(&key) {
                out.values_from.push(json!({"kind": "Secret", "name": secret, "valuesKey": secret_key, "targetPath": target_path}));
                let note = format!(
                    "create the Secret the chart of artifact {id} reads: kubectl create secret generic {secret} --namespace {} --from-file={secret_key}=<file holding {key}>",
                    self.opts.git_repository.namespace
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
                continue;
            }
            let Some(Some(value)) = self.secret_values.get(&key) else {
                bail!(crate::error::user(
                    format!("{origin}: secret parameter {key} has no value"),
                    format!(
                        "pass it with --set-file {key}=PATH or --set-env {key}=VAR, or --secret-ref {key}=SECRET/KEY"
                    ),
                ));
            };
            let data_key = key.replace('.', "_");
            out.secret_data
                .insert(data_key.clone(), Value::String(value.clone()));
            out.values_from.push(json!({"kind": "Secret", "name": format!("{}-secrets", names::fit(object, 55)), "valuesKey": data_key, "targetPath": target_path}));
        }
        out.values = values;
        Ok(out)
    }

    /// Write the SOPS-encrypted Secret a chart reads its secret values from. Returns
    /// whether the wrapper must decrypt.
    fn chart_secret(
        &mut self,
        dir: &str,
        object: &str,
        data: &Map,
        resources: &mut Vec<String>,
    ) -> Result<bool> {
        if data.is_empty() {
            return Ok(false);
        }
        let path = format!("{}/{dir}/secret-values.yaml", self.opts.install_dir);
        let recipients = self.recipients(&path, &format!("chart values of {object}"))?;
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": format!("{}-secrets", names::fit(object, 55)), "namespace": self.opts.git_repository.namespace},
            "type": "Opaque",
            "stringData": data,
        });
        let plain = yaml::to_string(&doc)?;
        let encrypted = crate::sops::encrypt_secret(&plain, &recipients)?;
        self.sealed
            .insert(format!("{dir}/secret-values.yaml"), Sealed::of(&plain));
        self.files
            .insert(format!("{dir}/secret-values.yaml"), encrypted.into_bytes());
        resources.push("secret-values.yaml".into());
        Ok(true)
    }

    /// The age recipients for a file, or an error naming what needed them.
    fn recipients(&self, path: &str, what: &str) -> Result<Vec<String>> {
        let found = match &self.opts.sops_yaml {
            Some(text) => crate::sops::age_recipients(text, path)?,
            None => None,
        };
        found.filter(|r| !r.is_empty()).ok_or_else(|| {
            crate::error::user(
                format!("{what} use a secret, but the GitOps repository has no .sops.yaml rule with age recipients for {path}"),
                "add a .sops.yaml with `creation_rules: [{age: age1…}]` so pctl can encrypt it, or pass --secret-ref PARAM=SECRET/KEY and create the Secret yourself",
            )
        })
    }

    /// A templated YAML file that uses secrets: they may appear only in the `data` or
    /// `stringData` of a Kubernetes Secret, which is then SOPS-encrypted. Returns the
    /// file and its plaintext.
    fn protect_secrets(&self, label: &str, path: &str, text: &str) -> Result<(String, String)> {
        let refuse = |why: &str| {
            crate::error::user(
                format!("{label}: a secret parameter is used {why}"),
                "secrets may appear only in the data or stringData of a Kubernetes Secret (which pctl encrypts with SOPS); pass other values as plain parameters",
            )
        };
        let docs = yaml::documents(label, text)
            .map_err(|_| refuse("in a file that is not valid YAML once rendered"))?;
        let mut out = Vec::new();
        let mut plain = Vec::new();
        for mut doc in docs {
            if !doc.to_string().contains(SECRET_MARK) {
                out.push(yaml::to_string(&doc)?);
                plain.push(yaml::to_string(&doc)?);
                continue;
            }
            if doc.get("kind").and_then(Value::as_str) != Some("Secret")
                || doc.get("apiVersion").and_then(Value::as_str) != Some("v1")
            {
                return Err(refuse("outside a Kubernetes Secret"));
            }
            for (field, b64) in [("stringData", false), ("data", true)] {
                if let Some(Value::Object(m)) = doc.get_mut(field) {
                    for v in m.values_mut() {
                        let Some(s) = v.as_str() else { continue };
                        if !s.contains(SECRET_MARK) {
                            continue;
                        }
                        let plain = self.unmask(s).ok_or_else(|| refuse("without a value"))?;
                        *v = Value::String(if b64 {
                            base64_encode(plain.as_bytes())
                        } else {
                            plain
                        });
                    }
                }
            }
            if doc.to_string().contains(SECRET_MARK) {
                return Err(refuse("in a Secret outside its data and stringData"));
            }
            move_data_to_string_data(&mut doc);
            let recipients = self.recipients(path, label)?;
            let text = yaml::to_string(&doc)?;
            out.push(crate::sops::encrypt_secret(&text, &recipients)?);
            plain.push(text);
        }
        Ok((out.join("---\n"), plain.join("---\n")))
    }

    /// Replace every secret marker in `s` with its value (None when one has none).
    fn unmask(&self, s: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(SECRET_MARK) {
            out.push_str(&rest[..i]);
            let (key, after) = parse_marker(&rest[i..])?;
            out.push_str(self.secret_values.get(&key)?.as_deref()?);
            rest = after;
        }
        out.push_str(rest);
        Some(out)
    }

    /// The HelmRelease of a chart artifact: its spec from [`helmrelease::spec`] (pctl's
    /// defaults under the artifact's `chart.release`), then its values.
    #[allow(clippy::too_many_arguments)]
    fn helm_release(
        &self,
        p: &Resolved,
        a: &ResolvedArtifact,
        id: &str,
        object: &str,
        release: &crate::model::Release,
        chart_spec: Value,
        values: ChartValues,
        ctx: &Value,
    ) -> Result<Value> {
        let defaults = helmrelease::Defaults {
            release_name: names::release_name(&self.opts.name, id),
            namespace: &self.opts.namespace,
            create_namespace: !self.opts.namespaces.keep_explicit || self.opts.namespaces.create,
            interval: INTERVAL,
        };
        let origin = format!("profile {:?}", p.def.name);
        let mut spec = helmrelease::spec(&origin, &a.name, release, defaults, chart_spec, ctx)?;
        if !values.values_from.is_empty() {
            spec.insert("valuesFrom".into(), Value::Array(values.values_from));
        }
        if !values.values.is_empty() {
            spec.insert("values".into(), Value::Object(values.values));
        }
        Ok(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": object, "namespace": self.opts.git_repository.namespace},
            "spec": spec,
        }))
    }

    fn put(&mut self, path: &str, doc: &Value) -> Result<()> {
        self.files
            .insert(path.to_string(), yaml::to_string(doc)?.into_bytes());
        Ok(())
    }
}

/// The Secret in the Flux namespace holding the cluster's age key (Flux's convention).
pub const SOPS_KEY_SECRET: &str = "sops-age";

/// Take secret markers out of chart values: each becomes (parameter key, targetPath).
/// A secret must be a whole value (not part of a longer string) and not in a list.
fn take_secrets(
    m: &mut Map,
    at: &str,
    origin: &str,
    found: &mut Vec<(String, String)>,
) -> Result<()> {
    let keys: Vec<String> = m.keys().cloned().collect();
    for k in keys {
        let path = if at.is_empty() {
            strvals_key(&k)
        } else {
            format!("{at}.{}", strvals_key(&k))
        };
        let Some(v) = m.get_mut(&k) else { continue };
        match v {
            Value::String(s) if s.contains(SECRET_MARK) => {
                let whole = parse_marker(s).filter(|(_, rest)| rest.is_empty());
                let Some(key) = whole.map(|(k, _)| k) else {
                    bail!(crate::error::user(
                        format!("{origin}: a secret parameter is part of a longer value at {path}"),
                        "use the secret as a whole value (`key: {{ params.token }}`) so it can be passed through valuesFrom",
                    ));
                };
                found.push((key, path));
                m.remove(&k);
            }
            Value::Object(inner) => take_secrets(inner, &path, origin, found)?,
            Value::Array(items)
                if Value::Array(items.clone())
                    .to_string()
                    .contains(SECRET_MARK) =>
            {
                bail!(crate::error::user(
                    format!("{origin}: a secret parameter is used inside the list at {path}"),
                    "Helm's valuesFrom targetPath cannot address list items reliably: move the secret to a mapping key",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A key in Helm's strvals syntax (valuesFrom `targetPath`): `.`, `[`, `]`, `,`,
/// `=` and `\` are escaped with a backslash, so `grafana.ini` stays one key.
fn strvals_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    for c in k.chars() {
        if matches!(c, '.' | '[' | ']' | ',' | '=' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Before encryption, `data` entries that are UTF-8 move to `stringData` (decoded):
/// an encrypted `data` value is not base64, and validators of Secrets reject it.
fn move_data_to_string_data(doc: &mut Value) {
    use base64::Engine;
    let Some(Value::Object(data)) = doc.get("data").cloned() else {
        return;
    };
    let mut keep = Map::new();
    let mut moved = Map::new();
    for (k, v) in data {
        let decoded = v
            .as_str()
            .and_then(|s| {
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        match decoded {
            Some(text) => {
                moved.insert(k, Value::String(text));
            }
            None => {
                keep.insert(k, v);
            }
        }
    }
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    if keep.is_empty() {
        obj.remove("data");
    } else {
        obj.insert("data".into(), Value::Object(keep));
    }
    if !moved.is_empty() {
        let sd = obj
            .entry("stringData")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(sd) = sd.as_object_mut() {
            for (k, v) in moved {
                sd.entry(k).or_insert(v);
            }
        }
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
