//! How Flux takes a migrated installation over (docs/commands.md#pctl-migrate-name):
//! the namespace and names of the old Flux objects, which the rendering keeps so that
//! kustomize-controller updates every one of them in place (pruning a wrapper or a
//! HelmRelease would uninstall its release), and the old objects Flux still prunes.
use super::object;
use crate::gitops::{self, GitRepositoryRef};
use crate::legacy::{Legacy, OldLeaf};
use crate::names;
use crate::ownership::{self, Start};
use crate::record::FluxObjects;
use crate::render;
use crate::yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The namespace and names Weaveworks pctl gave each artifact's Flux objects (its
/// wrapper Kustomization, HelmRelease and HelmRepository share one name), read from
/// the old files: `<NAME>-<artifact>` in the installation namespace, where pctl would
/// write `<NAME>-<artifact id>` (the nesting path included) in the GitRepository's.
/// None when that is pctl's own layout already.
pub(super) fn old_layout(
    old: &Legacy,
    leaves: &[OldLeaf],
    current: &BTreeMap<String, Vec<u8>>,
    git_repository: &GitRepositoryRef,
) -> Option<FluxObjects> {
    let mut namespace = None;
    let mut found = Vec::new();
    for leaf in leaves {
        let wrapper = object(
            current,
            &format!("{}/{}", leaf.dir, render::WRAPPER_FILE),
            "Kustomization",
        )
        .or_else(|| {
            object(
                current,
                &format!("{}/helm-chart/HelmRelease.yaml", leaf.dir),
                "HelmRelease",
            )
        });
        let meta = |k: &str| {
            wrapper
                .as_ref()
                .and_then(|w| w.pointer(&format!("/metadata/{k}")))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if namespace.is_none() {
            namespace = meta("namespace");
        }
        if let Some(name) = meta("name").filter(|n| names::is_dns1123_label(n)) {
            found.push((leaf.id.clone(), name));
        }
    }
    let namespace = namespace
        .filter(|n| names::is_dns1123_label(n))
        .unwrap_or_else(|| old.namespace.clone());
    // Keep an old name only where it is pctl's own name of no other artifact.
    let default = |id: &str| names::object_name(&old.name, id);
    let mut taken: BTreeSet<String> = leaves.iter().map(|l| default(&l.id)).collect();
    let mut names = BTreeMap::new();
    for (id, name) in found {
        if name == default(&id) || !taken.insert(name.clone()) {
            continue;
        }
        names.insert(id, name);
    }
    if namespace == git_repository.namespace && names.is_empty() {
        return None;
    }
    Some(FluxObjects { namespace, names })
}

/// One old object that is not in the migrated installation, so that Flux prunes it.
pub(super) struct Pruned {
    /// `KIND NAMESPACE/NAME`.
    pub what: String,
    /// Why that does no harm, or what it does.
    pub why: String,
    /// Whether pruning it can take something running down (a release, a workload).
    pub harmful: bool,
}

/// The objects Flux applies from the old installation that it no longer applies from
/// the new one (both walked as Flux walks them from the installation directory `dir`;
/// file maps relative to it), and what pruning each means.
pub(super) fn pruned(
    dir: &str,
    old_files: &BTreeMap<String, Vec<u8>>,
    new_files: &BTreeMap<String, Vec<u8>>,
    git_repository: &GitRepositoryRef,
) -> Vec<Pruned> {
    let objects = |files: &BTreeMap<String, Vec<u8>>| {
        let files: BTreeMap<String, Vec<u8>> = files
            .iter()
            .filter(|(k, _)| k.as_str() != crate::record::FILE)
            .map(|(k, v)| (gitops::join(dir, k), v.clone()))
            .collect();
        ownership::walk(
            &files,
            vec![Start {
                dir: dir.to_string(),
                default_namespace: git_repository.namespace.clone(),
                target_namespace: None,
            }],
            git_repository,
        )
    };
    let id = |o: &crate::namespaces::Obj| {
        (
            o.kind.clone(),
            o.namespace.clone().unwrap_or_default(),
            o.name.clone(),
        )
    };
    let new_objects = objects(new_files);
    let new: BTreeSet<_> = new_objects.iter().map(id).collect();
    // The ConfigMaps the new HelmReleases still read.
    let read: BTreeSet<(String, String)> = new_objects
        .iter()
        .filter(|o| o.kind == "HelmRelease")
        .flat_map(|o| {
            let ns = o.namespace.clone().unwrap_or_default();
            o.doc
                .pointer("/spec/valuesFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(move |v| Some((ns.clone(), v.get("name")?.as_str()?.to_string())))
        })
        .collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for o in objects(old_files) {
        let key = id(&o);
        if new.contains(&key) || !seen.insert(key.clone()) {
            continue;
        }
        let (kind, ns, name) = key;
        let what = if ns.is_empty() {
            format!("{kind} {name}")
        } else {
            format!("{kind} {ns}/{name}")
        };
        let (why, harmful) = match kind.as_str() {
            "ConfigMap" if !read.contains(&(ns.clone(), name.clone())) => (
                "no HelmRelease reads it any more (its values are in the HelmRelease's spec.values now); kustomize-controller prunes it after it has applied the updated HelmRelease, so the release never misses them".to_string(),
                false,
            ),
            "HelmRelease" => (
                "helm-controller uninstalls its release".to_string(),
                true,
            ),
            "Kustomization" => (
                "kustomize-controller deletes everything it applied (a HelmRelease among them uninstalls its release)".to_string(),
                true,
            ),
            "HelmRepository" | "GitRepository" | "OCIRepository" => (
                "no HelmRelease of the installation uses it any more".to_string(),
                false,
            ),
            _ => (
                "it is no longer part of the installation".to_string(),
                true,
            ),
        };
        out.push(Pruned { what, why, harmful });
    }
    out
}
