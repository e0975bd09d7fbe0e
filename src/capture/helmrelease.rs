//! What capture keeps of a HelmRelease besides its chart and values
//! (docs/commands.md, `pctl capture`): the settings a profile carries in
//! `chart.release`, with the release name and namespaces made explicit as
//! helm-controller computed them, so that the installed profile takes over the same
//! Helm release; and a note for every field, of the release and of its source, that is
//! still dropped.
use super::{Capture, escape_tera, kind_of, parent_dir, s};
use crate::model::release;
use crate::yaml::{Map, Value};

/// HelmRelease spec fields capture reads elsewhere (chart, values, dependsOn).
const READ_ELSEWHERE: &[&str] = &["chart", "chartRef", "values", "valuesFrom", "dependsOn"];
/// `spec.chart.spec` fields capture reads.
const CHART_SPEC_READ: &[&str] = &["chart", "version", "sourceRef"];

impl Capture<'_> {
    /// The `chart.release` of a captured HelmRelease at `file` (below DIR), and a note
    /// per field left out.
    pub(super) fn release_settings(&mut self, hr: &Value, label: &str, file: &str) -> Map {
        let name = s(hr, &["metadata", "name"]).unwrap_or("");
        let spec = hr
            .get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let text = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .filter(|x| !x.is_empty())
        };
        // The namespace the HelmRelease object lives in: a kustomization's `namespace`
        // overrides the one it names.
        let own_ns = self
            .kustomize_namespace(file)
            .or_else(|| s(hr, &["metadata", "namespace"]).map(str::to_string));
        let target = text("targetNamespace")
            .map(str::to_string)
            .or(own_ns.clone());
        let mut out = Map::new();
        out.insert(
            "releaseName".into(),
            Value::String(release::effective_name(
                name,
                text("releaseName"),
                text("targetNamespace"),
            )),
        );
        match (&target, &own_ns) {
            (Some(t), _) => {
                out.insert("targetNamespace".into(), Value::String(t.clone()));
            }
            (None, None) => self.note(format!(
                "{label}: names no namespace, so its release namespace comes from the Flux Kustomization that applies it; captured without targetNamespace (the release goes to `pctl install --namespace`)"
            )),
            _ => {}
        }
        if let Some(storage) = text("storageNamespace").map(str::to_string).or(own_ns) {
            out.insert("storageNamespace".into(), Value::String(storage));
        }
        for f in release::FIELDS {
            if matches!(*f, "releaseName" | "targetNamespace" | "storageNamespace") {
                continue;
            }
            if let Some(v) = spec.get(*f) {
                out.insert(f.to_string(), escaped(v));
            }
        }
        // A value the schema refuses is left out (Flux would refuse it too).
        for p in release::problems(&Value::Object(out.clone())) {
            let top = p.path.split(['.', '[']).next().unwrap_or("").to_string();
            if out.remove(&top).is_some() {
                self.note(format!(
                    "{label}: spec.{} not captured: {}",
                    p.path, p.message
                ));
            }
        }
        for k in spec.keys() {
            if release::FIELDS.contains(&k.as_str()) || READ_ELSEWHERE.contains(&k.as_str()) {
                continue;
            }
            let why = release::NOT_SETTABLE
                .iter()
                .find(|(f, _)| f == k)
                .map(|(_, why)| *why)
                .unwrap_or("a profile has no field for it");
            self.note(format!("{label}: spec.{k} not captured: {why}"));
        }
        if let Some(cs) = spec
            .get("chart")
            .and_then(|c| c.get("spec"))
            .and_then(Value::as_object)
        {
            for k in cs.keys().filter(|k| !CHART_SPEC_READ.contains(&k.as_str())) {
                self.note(format!(
                    "{label}: spec.chart.spec.{k} not captured: pctl writes the chart's HelmChart settings itself"
                ));
            }
        }
        if spec.get("chart").and_then(|c| c.get("metadata")).is_some() {
            self.note(format!(
                "{label}: spec.chart.metadata not captured: pctl writes the chart's HelmChart settings itself"
            ));
        }
        for k in ["labels", "annotations"] {
            if hr.get("metadata").and_then(|m| m.get(k)).is_some() {
                self.note(format!(
                    "{label}: metadata.{k} not captured: pctl writes the HelmRelease object itself"
                ));
            }
        }
        out
    }

    /// A note per field of a chart's source (HelmRepository or OCIRepository) that the
    /// chart artifact does not carry.
    pub(super) fn source_notes(&mut self, src: &Value, file: &str) {
        let (_, kind) = kind_of(src);
        let kept: &[&str] = match kind {
            "HelmRepository" => &["url", "type"],
            "OCIRepository" => &["url", "ref"],
            _ => return,
        };
        let name = s(src, &["metadata", "name"]).unwrap_or("");
        let label = format!("{kind} {name} ({})", self.origin(file));
        let Some(spec) = src.get("spec").and_then(Value::as_object) else {
            return;
        };
        for k in spec.keys().filter(|k| !kept.contains(&k.as_str())) {
            let why = match k.as_str() {
                "interval" => "pctl writes its own source, checked every 10m0s",
                "layerSelector" => {
                    "pctl writes a HelmRepository of type oci, which takes the chart layer"
                }
                "secretRef" | "certSecretRef" | "provider" | "passCredentials" => {
                    "a chart url carries no credentials; create the source's credentials in the cluster and point pctl's HelmRepository at them by hand"
                }
                _ => "a chart artifact has no field for it",
            };
            self.note(format!("{label}: spec.{k} not captured: {why}"));
        }
        if let Some(r) = spec.get("ref").and_then(Value::as_object) {
            for k in r
                .keys()
                .filter(|k| !matches!(k.as_str(), "tag" | "semver" | "digest"))
            {
                self.note(format!(
                    "{label}: spec.ref.{k} not captured: a chart artifact takes a version (tag or semver range)"
                ));
            }
        }
    }

    /// The `namespace` a kustomization in the directory of `file`, or above it inside
    /// DIR, gives every object it builds: the outermost one wins, as kustomize applies
    /// the namespace of an including kustomization after the included one's.
    fn kustomize_namespace(&self, file: &str) -> Option<String> {
        let mut dir = parent_dir(file).to_string();
        let mut found = None;
        loop {
            for k in super::KUSTOMIZATION_NAMES {
                let path = super::join(&dir, k);
                if let Some(ns) = self
                    .yaml
                    .get(&path)
                    .and_then(|f| f.docs.first())
                    .and_then(|d| s(&d.value, &["namespace"]))
                {
                    found = Some(ns.to_string());
                }
            }
            if dir.is_empty() {
                return found;
            }
            dir = parent_dir(&dir).to_string();
        }
    }
}

/// A value with Tera's syntax escaped in every string, so that rendering the profile
/// gives it back.
fn escaped(v: &Value) -> Value {
    match v {
        Value::String(x) => Value::String(escape_tera(x)),
        Value::Array(a) => Value::Array(a.iter().map(escaped).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), escaped(x))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Input, capture};
    use crate::gitops::GitRepositoryRef;
    use crate::model::{ArtifactKind, parse};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn run(files: &[(&str, &str)]) -> (crate::model::ProfileDefinition, Vec<String>) {
        let none = |_: &str| -> anyhow::Result<Option<BTreeMap<String, Vec<u8>>>> { Ok(None) };
        let c = capture(&Input {
            files: files
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
                .collect(),
            dir: "apps/web".into(),
            name: "web".into(),
            parameterise: false,
            git_repository: GitRepositoryRef {
                name: "flux-system".into(),
                namespace: "flux-system".into(),
            },
            read_dir: &none,
        })
        .unwrap();
        let text = String::from_utf8(c.files["profile.yaml"].clone()).unwrap();
        (parse("p", &text, Some("web")).unwrap().0, c.notes)
    }

    fn release_of(def: &crate::model::ProfileDefinition, i: usize) -> serde_json::Value {
        match &def.artifacts[i].kind {
            ArtifactKind::Chart { release, .. } => {
                serde_json::Value::Object(release.fields.clone())
            }
            k => panic!("{k:?}"),
        }
    }

    const SOURCE: &str = "apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: apps}
spec:
  interval: 1h
  url: https://stefanprodan.github.io/podinfo
  secretRef: {name: creds}
";

    #[test]
    fn settings_are_carried_with_the_effective_name_and_namespaces() {
        let hr = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
  labels: {team: web}
spec:
  interval: 5m
  timeout: 3m
  targetNamespace: web
  serviceAccountName: deployer
  chart:
    spec:
      chart: podinfo
      version: 6.5.4
      valuesFiles: [values-prod.yaml]
      sourceRef: {kind: HelmRepository, name: podinfo}
  install: {remediation: {retries: 3}}
  upgrade: {cleanupOnFail: true}
  test: {enable: true}
  dependsOn: [{name: database}]
  postRenderers:
    - kustomize:
        patches:
          - patch: '{{ not tera }}'
";
        let (def, notes) = run(&[("source.yaml", SOURCE), ("release.yaml", hr)]);
        assert_eq!(
            release_of(&def, 0),
            json!({
                "releaseName": "web-podinfo",
                "targetNamespace": "web",
                "storageNamespace": "apps",
                "interval": "5m",
                "timeout": "3m",
                "install": {"remediation": {"retries": 3}},
                "upgrade": {"cleanupOnFail": true},
                "test": {"enable": true},
                "postRenderers": [{"kustomize": {"patches": [{"patch": "{{ \"{{\" }} not tera }}"}]}}],
            })
        );
        let file = "HelmRelease podinfo (apps/web/release.yaml)";
        for field in [
            "spec.serviceAccountName not captured",
            "spec.chart.spec.valuesFiles not captured",
            "metadata.labels not captured",
            "spec.dependsOn database not captured",
        ] {
            assert!(
                notes
                    .iter()
                    .any(|n| n.starts_with(file) && n.contains(field)),
                "{field}: {notes:?}"
            );
        }
        for field in ["spec.secretRef not captured", "spec.interval not captured"] {
            assert!(
                notes.iter().any(|n| n
                    .starts_with("HelmRepository podinfo (apps/web/source.yaml)")
                    && n.contains(field)),
                "{field}: {notes:?}"
            );
        }
        // Fields that are carried are not reported.
        assert!(
            !notes
                .iter()
                .any(|n| n.contains("spec.install") || n.contains("spec.timeout"))
        );
    }

    #[test]
    fn a_kustomization_namespace_is_where_the_release_lives() {
        let hr = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: ignored}
spec:
  releaseName: podinfo
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: podinfo}
";
        let source = SOURCE.replace("namespace: apps", "namespace: ignored");
        let k = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: podinfo
resources: [source.yaml, release.yaml]
";
        let (def, _) = run(&[
            ("kustomization.yaml", k),
            ("source.yaml", &source),
            ("release.yaml", hr),
        ]);
        let r = release_of(&def, 0);
        assert_eq!(r["releaseName"], json!("podinfo"));
        assert_eq!(r["targetNamespace"], json!("podinfo"));
        assert_eq!(r["storageNamespace"], json!("podinfo"));
    }

    #[test]
    fn the_outermost_kustomization_namespace_wins() {
        let hr = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo}
spec:
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: podinfo}
";
        let source = SOURCE
            .replace("  namespace: apps\n", "")
            .replace(", namespace: apps", "");
        let outer = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: outer
resources: [sub]
";
        let inner = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: inner
resources: [source.yaml, release.yaml]
";
        let (def, _) = run(&[
            ("kustomization.yaml", outer),
            ("sub/kustomization.yaml", inner),
            ("sub/source.yaml", &source),
            ("sub/release.yaml", hr),
        ]);
        let r = release_of(&def, 0);
        assert_eq!(r["targetNamespace"], json!("outer"));
        assert_eq!(r["storageNamespace"], json!("outer"));
        assert_eq!(r["releaseName"], json!("podinfo"));
    }

    #[test]
    fn a_release_with_no_namespace_is_reported() {
        let hr = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo}
spec:
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: podinfo}
";
        let source = SOURCE
            .replace("  namespace: apps\n", "")
            .replace(", namespace: apps", "");
        let (def, notes) = run(&[("source.yaml", &source), ("release.yaml", hr)]);
        assert_eq!(release_of(&def, 0), json!({"releaseName": "podinfo"}));
        assert!(
            notes.iter().any(|n| n.contains("names no namespace")),
            "{notes:?}"
        );
    }
}
