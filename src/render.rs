//! Rendering (SPEC §5): a resolved profile tree becomes the files of one installation
//! directory: a wrapper Flux Kustomization per artifact, HelmReleases and their
//! sources, copied charts and YAML, the installation's kustomization.yaml and its
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
}

/// One artifact that produces objects (nested profiles are flattened into these).
#[derive(Debug, Clone)]
pub struct Leaf {
    pub id: String,
    pub object: String,
    pub depends_on: Vec<String>,
    pub kind: &'static str,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    /// Files relative to the installation directory, the record included.
    pub files: BTreeMap<String, Vec<u8>>,
    pub record: Installation,
    pub leaves: Vec<Leaf>,
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
    };
    let params = params_of(root, &Map::new(), "")?;
    let values: BTreeMap<String, ValueRecord> = root
        .def
        .parameters
        .iter()
        .filter(|p| p.kind != ParamType::Secret)
        .filter_map(|p| {
            params.get(&p.name).map(|v| {
                (
                    p.name.clone(),
                    ValueRecord {
                        value: v.clone(),
                        source: "default".into(),
                    },
                )
            })
        })
        .collect();
    let secrets = root
        .def
        .parameters
        .iter()
        .filter(|p| p.kind == ParamType::Secret)
        .map(|p| p.name.clone())
        .collect();
    r.profile(root, "", &BTreeSet::new(), &params)?;

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
            path: opts.install_dir.clone(),
            profile: root.def.name.clone(),
            source: root.source.clone(),
            nested: r.nested,
            charts: r.charts,
            values,
            secrets,
            values_profiles: Vec::new(),
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
    })
}

/// Parameter values for a profile: defaults overlaid with the parent's bindings.
/// (Layered values from the command line and files arrive with issue 3.)
fn params_of(p: &Resolved, with: &Map, at: &str) -> Result<Map> {
    let mut out = Map::new();
    for param in &p.def.parameters {
        if let Some(d) = &param.default {
            out.insert(param.name.clone(), d.clone());
        }
    }
    for (k, v) in with {
        if !p.def.parameters.iter().any(|x| &x.name == k) {
            bail!(crate::error::user(
                format!(
                    "{}: `with` binds {k:?}, which profile {:?} does not declare",
                    if at.is_empty() { "profile" } else { at },
                    p.def.name
                ),
                format!(
                    "declared parameters: {}",
                    p.def
                        .parameters
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        out.insert(k.clone(), v.clone());
    }
    let missing: Vec<&str> = p
        .def
        .parameters
        .iter()
        .filter(|x| x.required && !out.contains_key(&x.name))
        .map(|x| x.name.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(crate::error::user(
            format!(
                "profile {:?} needs a value for required parameter(s): {}",
                p.def.name,
                missing.join(", ")
            ),
            "give them a default in profile.yaml or bind them with `with` in the parent",
        ));
    }
    Ok(out)
}

struct Renderer<'o> {
    opts: &'o Options,
    files: BTreeMap<String, Vec<u8>>,
    leaves: Vec<Leaf>,
    nested: Vec<NestedRecord>,
    charts: Vec<ChartRecord>,
    /// artifact id -> where it came from, to report collisions.
    ids: BTreeMap<String, String>,
}

fn join_id(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}-{name}")
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
        json!({
            "params": params,
            "profile": {"name": p.def.name, "version": p.source.label()},
            "install": {
                "name": self.opts.name,
                "namespace": self.opts.namespace,
                "path": self.opts.install_dir,
            },
        })
    }

    fn profile(
        &mut self,
        p: &Resolved,
        prefix: &str,
        inherited: &BTreeSet<String>,
        params: &Map,
    ) -> Result<()> {
        let ctx = self.context(p, params);
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
                let child_params =
                    params_of(profile, bound.as_object().unwrap_or(&Map::new()), &id)?;
                self.nested.push(NestedRecord {
                    artifact: id.clone(),
                    profile: profile.def.name.clone(),
                    source: profile.source.clone(),
                });
                self.profile(profile, &id, &deps, &child_params)?;
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
            self.leaf(p, a, &id, &object, &deps, &ctx)?;
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
        let kind: &'static str;
        match &a.kind {
            ResolvedKind::RemoteChart {
                url,
                name,
                version,
                default_values,
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
                let values = self.values(p, a, default_values.as_deref(), ctx)?;
                let hr = self.helm_release(id, object, json!({
                    "chart": name,
                    "version": version,
                    "sourceRef": {"kind": "HelmRepository", "name": object, "namespace": flux_ns},
                    "interval": INTERVAL,
                }), values);
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
            } => {
                kind = "local chart";
                for (rel, bytes) in files {
                    self.files
                        .insert(format!("{dir}/chart/{rel}"), bytes.clone());
                }
                let values = self.values(p, a, default_values.as_deref(), ctx)?;
                let hr = self.helm_release(
                    id,
                    object,
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
                );
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
                target_namespace = Some(self.opts.namespace.clone());
                let has_kustomization =
                    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
                        .iter()
                        .any(|k| files.contains_key(*k));
                for (rel, bytes) in files {
                    let out = if a.template && is_yaml(rel) {
                        let text = String::from_utf8(bytes.clone())
                            .with_context(|| format!("{dir}/{rel}: not UTF-8 text"))?;
                        let origin = format!("{} ({} artifact {:?})", rel, p.def.name, a.name);
                        crate::template::render(&origin, &text, ctx)?.into_bytes()
                    } else {
                        bytes.clone()
                    };
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
            }
            ResolvedKind::Profile { .. } => unreachable!("nested profiles are flattened"),
        }
        if !resources.is_empty() {
            self.files.insert(
                format!("{dir}/kustomization.yaml"),
                crate::gitops::kustomization(&resources)?,
            );
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
        self.put(&format!("{dir}/{WRAPPER_FILE}"), &wrapper)?;
        self.leaves.push(Leaf {
            id: id.to_string(),
            object: object.to_string(),
            depends_on: deps.to_vec(),
            kind,
        });
        Ok(())
    }

    fn values(
        &self,
        p: &Resolved,
        a: &ResolvedArtifact,
        default_values: Option<&str>,
        ctx: &Value,
    ) -> Result<Map> {
        let Some(text) = default_values else {
            return Ok(Map::new());
        };
        let origin = format!(
            "profile {:?} artifact {:?} defaultValues",
            p.def.name, a.name
        );
        let rendered = crate::template::render(&origin, text, ctx)?;
        let v: Value = if rendered.trim().is_empty() {
            Value::Null
        } else {
            yaml::from_str(&origin, &rendered)?
        };
        match v {
            Value::Null => Ok(Map::new()),
            Value::Object(m) => Ok(m),
            _ => bail!(crate::error::user(
                format!("{origin}: is not a YAML mapping"),
                "defaultValues holds chart values: a mapping"
            )),
        }
    }

    fn helm_release(&self, id: &str, object: &str, chart_spec: Value, values: Map) -> Value {
        let mut spec = json!({
            "interval": INTERVAL,
            "releaseName": names::release_name(&self.opts.name, id),
            "targetNamespace": self.opts.namespace,
            "storageNamespace": self.opts.namespace,
            "install": {"createNamespace": true},
            "chart": {"spec": chart_spec},
        });
        if !values.is_empty() {
            spec["values"] = Value::Object(values);
        }
        json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": object, "namespace": self.opts.git_repository.namespace},
            "spec": spec,
        })
    }

    fn put(&mut self, path: &str, doc: &Value) -> Result<()> {
        self.files
            .insert(path.to_string(), yaml::to_string(doc)?.into_bytes());
        Ok(())
    }
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
            || path.contains("/chart/")
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
mod tests {
    use super::*;
    use crate::model;
    use crate::record::SourceRecord;
    use crate::resolve::ResolvedArtifact;

    fn def(name: &str, text_artifacts: &str) -> model::ProfileDefinition {
        let text = format!(
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: {name}\nspec:\n  artifacts:\n{text_artifacts}"
        );
        model::parse("t", &text, None).unwrap().0
    }

    fn art(name: &str, deps: &[&str], kind: ResolvedKind) -> ResolvedArtifact {
        ResolvedArtifact {
            name: name.into(),
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
            template: false,
            kind,
        }
    }

    fn raw() -> ResolvedKind {
        ResolvedKind::Kustomize {
            files: BTreeMap::from([(
                "cm.yaml".to_string(),
                b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n".to_vec(),
            )]),
        }
    }

    fn tree() -> Resolved {
        let child = Resolved {
            def: def(
                "child",
                "    - name: app\n      kustomize: {path: a}\n    - name: db\n      kustomize: {path: b}\n",
            ),
            source: SourceRecord::default(),
            artifacts: vec![art("app", &[], raw()), art("db", &["app"], raw())],
        };
        Resolved {
            def: def(
                "parent",
                "    - name: chart\n      chart: {url: 'oci://r.example/charts', name: c, version: '1.x'}\n    - name: app\n      kustomize: {path: a}\n    - name: nested\n      profile: {source: {path: child}}\n      dependsOn: [{name: chart}]\n    - name: last\n      kustomize: {path: a}\n      dependsOn: [{name: nested}]\n",
            ),
            source: SourceRecord {
                url: "file:///x".into(),
                version: Some("1.0.0".into()),
                ..Default::default()
            },
            artifacts: vec![
                art(
                    "chart",
                    &[],
                    ResolvedKind::RemoteChart {
                        url: "oci://r.example/charts".into(),
                        name: "c".into(),
                        version: "1.x".into(),
                        default_values: Some("a: {{ install.namespace }}\n".into()),
                    },
                ),
                art("app", &[], raw()),
                art(
                    "nested",
                    &["chart"],
                    ResolvedKind::Profile {
                        profile: Box::new(child),
                        with: Map::new(),
                    },
                ),
                art("last", &["nested"], raw()),
            ],
        }
    }

    fn opts() -> Options {
        Options {
            name: "inst".into(),
            namespace: "apps".into(),
            install_dir: "clusters/default/profiles/inst".into(),
            git_repository: GitRepositoryRef {
                name: "flux-system".into(),
                namespace: "flux-system".into(),
            },
        }
    }

    #[test]
    fn nested_artifacts_are_flattened_with_dependencies() {
        let r = render(&tree(), &opts()).unwrap();
        let ids: Vec<&str> = r.leaves.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, vec!["chart", "app", "nested-app", "nested-db", "last"]);
        let by_id = |id: &str| {
            r.leaves
                .iter()
                .find(|l| l.id == id)
                .unwrap()
                .depends_on
                .clone()
        };
        // The parent's dependsOn reaches every nested artifact; the child's own deps stay.
        assert_eq!(by_id("nested-app"), vec!["inst-chart"]);
        assert_eq!(by_id("nested-db"), vec!["inst-chart", "inst-nested-app"]);
        // dependsOn on a nested profile means all of its artifacts.
        let last = r
            .files
            .get("artifacts/last/kustomize-flux.yaml")
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap();
        assert!(
            last.contains("- name: inst-nested-app\n") && last.contains("- name: inst-nested-db\n"),
            "{last}"
        );
        assert!(
            last.contains("path: ./clusters/default/profiles/inst/artifacts/last\n"),
            "{last}"
        );
        crate::check::check(&r, "clusters/default/profiles/inst", "flux-system").unwrap();
    }

    #[test]
    fn oci_chart_and_templated_values() {
        let r = render(&tree(), &opts()).unwrap();
        let repo =
            String::from_utf8_lossy(&r.files["artifacts/chart/helm-repository.yaml"]).into_owned();
        assert!(repo.contains("type: oci"), "{repo}");
        let hr =
            String::from_utf8_lossy(&r.files["artifacts/chart/helm-release.yaml"]).into_owned();
        assert!(hr.contains("values:\n    a: apps\n"), "{hr}");
        assert!(hr.contains("apiVersion: helm.toolkit.fluxcd.io/v2"), "{hr}");
    }

    #[test]
    fn output_is_deterministic_and_hashed_in_the_record() {
        let a = render(&tree(), &opts()).unwrap();
        let b = render(&tree(), &opts()).unwrap();
        assert_eq!(a.files, b.files);
        for (path, bytes) in &a.files {
            if path != record::FILE {
                assert_eq!(a.record.spec.files[path], record::sha256(bytes), "{path}");
            }
        }
        assert_eq!(a.record.spec.files.len(), a.files.len() - 1);
    }

    #[test]
    fn colliding_ids_are_an_error() {
        let mut t = tree();
        t.artifacts[1].name = "nested-app".into();
        let err = render(&t, &opts()).unwrap_err();
        assert!(err.to_string().contains("produced twice"), "{err}");
    }

    #[test]
    fn long_names_fit_63() {
        let mut o = opts();
        o.name = "a".repeat(60);
        let r = render(&tree(), &o).unwrap();
        for l in &r.leaves {
            assert!(
                l.object.len() <= 63 && crate::names::is_dns1123_label(&l.object),
                "{}",
                l.object
            );
        }
        crate::check::check(&r, &o.install_dir, "flux-system").unwrap();
    }
}
