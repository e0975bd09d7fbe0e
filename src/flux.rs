//! Pure pieces of the Flux objects pctl writes, shared by rendering and the GitOps
//! repository's files: the GitRepository they sync from, and a new `kustomization.yaml`.
use crate::yaml::{self, Map, Value};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// The Flux GitRepository that syncs the GitOps repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitRepositoryRef {
    pub name: String,
    pub namespace: String,
}

/// A new `kustomization.yaml` listing `resources`.
pub fn kustomization(resources: &[String]) -> Result<Vec<u8>> {
    let mut m = Map::new();
    m.insert(
        "apiVersion".into(),
        Value::String("kustomize.config.k8s.io/v1beta1".into()),
    );
    m.insert("kind".into(), Value::String("Kustomization".into()));
    m.insert(
        "resources".into(),
        Value::Array(resources.iter().cloned().map(Value::String).collect()),
    );
    Ok(yaml::to_string(&Value::Object(m))?.into_bytes())
}
