//! The renderer's walk: one profile tree becomes artifact directories, wrappers,
//! HelmReleases and sources (the state `render` threads through it).
use super::secrets::take_secrets;
use super::*;

pub(super) struct Renderer<'o> {
    pub(super) opts: &'o Options,
    pub(super) files: BTreeMap<String, Vec<u8>>,
    pub(super) leaves: Vec<Leaf>,
    pub(super) nested: Vec<NestedRecord>,
    pub(super) charts: Vec<ChartRecord>,
    /// artifact id -> where it came from, to report collisions.
    pub(super) ids: BTreeMap<String, String>,
    pub(super) values: BTreeMap<String, ValueRecord>,
    pub(super) secrets: Vec<String>,
    /// Secret parameter key -> its value (None: only a --secret-ref).
    pub(super) secret_values: BTreeMap<String, Option<String>>,
    pub(super) notes: Vec<String>,
    pub(super) sealed: BTreeMap<String, Sealed>,
    /// Files holding Secrets, encrypted after rendering (`crate::sops::seal`).
    pub(super) to_seal: Vec<ToSeal>,
    /// Wrapper files, written last (the namespace artifact adds a dependency to each).
    pub(super) wrappers: Vec<(String, Value)>,
    /// Namespace objects the artifacts create.
    pub(super) created_namespaces: BTreeSet<String>,
    /// Whether a profile's Flux object reads the GitOps repository (inside the
    /// installation: `confine::repository_reads`), which ties the rendering to its
    /// directory.
    pub(super) reads_repository: bool,
}

/// Chart values with secrets taken out.
pub(super) struct ChartValues {
    pub(super) values: Map,
    pub(super) values_from: Vec<Value>,
    /// stringData of the SOPS-encrypted Secret the chart reads, when one is needed.
    pub(super) secret_data: Map,
}

/// The most characters of an artifact id (a directory name under `artifacts/`):
/// ids of profiles nested deep with long names are cut with a hash, like object
/// names, instead of failing at write time on the file system's 255-byte limit.
pub(super) const MAX_ID: usize = 200;

pub(super) fn join_id(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        crate::names::fit(name, MAX_ID)
    } else {
        crate::names::fit(&format!("{prefix}-{name}"), MAX_ID)
    }
}

/// Object names of every leaf an artifact produces.
pub(super) fn leaf_objects(opts: &Options, a: &ResolvedArtifact, prefix: &str) -> Vec<String> {
    let id = join_id(prefix, &a.name);
    match &a.kind {
        ResolvedKind::Profile { profile, .. } => profile
            .artifacts
            .iter()
            .flat_map(|c| leaf_objects(opts, c, &id))
            .collect(),
        _ => vec![opts.object_name(&id)],
    }
}

impl Renderer<'_> {
    pub(super) fn context(&self, p: &Resolved, params: &Map) -> Value {
        context(p, params, self.opts)
    }

    /// Resolve one profile's parameters and remember them for the record.
    pub(super) fn params(
        &mut self,
        p: &Resolved,
        path: &str,
        binding: Option<&Map>,
    ) -> Result<Map> {
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

    pub(super) fn profile(
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
                    deps.extend(leaf_objects(self.opts, target, prefix));
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
            let object = self.opts.object_name(&id);
            let mut deps: Vec<String> = deps.into_iter().filter(|d| d != &object).collect();
            deps.sort();
            self.leaf(p, a, &id, &object, &deps, &file_ctx)?;
        }
        Ok(())
    }

    pub(super) fn leaf(
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
        let flux_ns = self.opts.flux_namespace().to_string();
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
                super::confine::chart_dependencies(
                    &format!("profile {:?} artifact {:?}", p.def.name, a.name),
                    files,
                )?;
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
                    let mut sealed = false;
                    let out = if a.template && is_yaml(rel) {
                        let text = String::from_utf8(bytes.clone())
                            .with_context(|| format!("{dir}/{rel}: not UTF-8 text"))?;
                        let origin = format!("{} ({} artifact {:?})", rel, p.def.name, a.name);
                        let out = crate::template::render_yaml(&origin, &text, ctx)?;
                        if out.contains(SECRET_MARK) {
                            decrypt = true;
                            sealed = true;
                            let (parts, plain) = self.protect_secrets(
                                &format!("{rel} of profile {:?} artifact {:?}", p.def.name, a.name),
                                &format!("{}/{dir}/{rel}", self.opts.install_dir),
                                &out,
                            )?;
                            let path = format!("{dir}/{rel}");
                            self.sealed.insert(path.clone(), Sealed::of(&plain));
                            self.to_seal.push(ToSeal { path, parts });
                        }
                        // A file to seal is not among the files: the checks below read
                        // its objects' kinds and names from the rendering with the
                        // secret markers, which holds no secret.
                        out.into_bytes()
                    } else {
                        bytes.clone()
                    };
                    if !sealed {
                        self.files.insert(format!("{dir}/{rel}"), out.clone());
                    }
                    written.insert(rel.clone(), out);
                    if !has_kustomization && is_yaml(rel) {
                        resources.push(rel.clone());
                    }
                }
                let origin = format!("profile {:?} artifact {:?}", p.def.name, a.name);
                super::confine::kustomizations(&origin, &written)?;
                self.reads_repository |= super::confine::repository_reads(
                    &origin,
                    &written,
                    &self.opts.install_dir,
                    &self.opts.git_repository,
                )?;
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
            let mut k = crate::flux::kustomization(&resources)?;
            if transformer {
                k.extend(crate::namespaces::transformer(&self.opts.namespace).into_bytes());
            }
            self.files.insert(format!("{dir}/kustomization.yaml"), k);
        }
        let mut spec = self.wrapper_spec(&repo_dir);
        if let Some(ns) = target_namespace {
            spec["targetNamespace"] = json!(ns);
        }
        if decrypt {
            spec["decryption"] =
                json!({"provider": "sops", "secretRef": {"name": SOPS_KEY_SECRET}});
            if flux_ns != self.opts.git_repository.namespace {
                let note = format!(
                    "the Kustomization {flux_ns}/{object} decrypts with the Secret {SOPS_KEY_SECRET} of its own namespace: copy it there from {}",
                    self.opts.git_repository.namespace
                );
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
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
    pub(super) fn place(
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
    pub(super) fn namespace_artifact(&mut self, profile: &str) -> Result<bool> {
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
            self.ids.contains_key(id) || objects.contains(&self.opts.object_name(id))
        });
        let object = self.opts.object_name(&id);
        // Its wrapper stays in the GitRepository's namespace (a Kustomization cannot
        // wait in the namespace it creates); wrappers elsewhere name that namespace.
        let git_ns = self.opts.git_repository.namespace.clone();
        let dep = |d: &String| {
            if *d == object && self.opts.flux_namespace() != git_ns {
                json!({"name": d, "namespace": git_ns})
            } else {
                json!({"name": d})
            }
        };
        let dir = format!("artifacts/{id}");
        let mut resources = Vec::new();
        for (rel, bytes) in crate::namespaces::namespace_files(&ns) {
            self.files.insert(format!("{dir}/{rel}"), bytes);
            resources.push(rel);
        }
        self.files.insert(
            format!("{dir}/kustomization.yaml"),
            crate::flux::kustomization(&resources)?,
        );
        for (leaf, (_, wrapper)) in self.leaves.iter_mut().zip(self.wrappers.iter_mut()) {
            leaf.depends_on.push(object.clone());
            leaf.depends_on.sort();
            wrapper["spec"]["dependsOn"] = Value::Array(leaf.depends_on.iter().map(dep).collect());
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
            "spec": self.wrapper_spec(&repo_dir),
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

    pub(super) fn values(
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
                    self.opts.flux_namespace()
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
}

impl Renderer<'_> {
    /// The HelmRelease of a chart artifact: its spec from [`helmrelease::spec`] (pctl's
    /// defaults under the artifact's `chart.release`), then its values.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn helm_release(
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
            "metadata": {"name": object, "namespace": self.opts.flux_namespace()},
            "spec": spec,
        }))
    }

    /// The spec every wrapper Kustomization starts from: Flux applies `repo_dir` of
    /// the GitOps repository's own source, prunes, and waits for what it applied.
    pub(super) fn wrapper_spec(&self, repo_dir: &str) -> Value {
        json!({
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
        })
    }

    pub(super) fn put(&mut self, path: &str, doc: &Value) -> Result<()> {
        self.files
            .insert(path.to_string(), yaml::to_string(doc)?.into_bytes());
        Ok(())
    }
}
