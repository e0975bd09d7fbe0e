//! Ownership (docs/layout.md#ownership): the objects (kind, namespace, name) and Helm
//! releases (release name, storage namespace) that an installation and the rest of a
//! GitOps repository produce, found by walking the repository the way Flux does from
//! its sync path, and the conflicts between two sets of them. [`conflicts`] and
//! [`duplicates`] are pure over claims; [`walk`] is pure over a map of files.
//! See docs/layout.md `## Ownership`.
use crate::gitops::GitRepositoryRef;
use crate::namespaces::{self, Obj};
use crate::yaml::{At, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// Something only one owner may produce.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Claim {
    /// A Kubernetes object; `namespace` is empty for cluster-scoped kinds.
    Object {
        kind: String,
        namespace: String,
        name: String,
    },
    /// A Helm release as helm-controller stores it.
    Release {
        name: String,
        storage_namespace: String,
    },
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::Object {
                kind,
                namespace,
                name,
            } if namespace.is_empty() => write!(f, "{kind} {name}"),
            Claim::Object {
                kind,
                namespace,
                name,
            } => write!(f, "{kind} {namespace}/{name}"),
            Claim::Release {
                name,
                storage_namespace,
            } => write!(
                f,
                "Helm release {name} (stored in namespace {storage_namespace})"
            ),
        }
    }
}

/// Who produces a claim: an installation (by name) or a file of the repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    pub installation: Option<String>,
    /// Repository-relative path of the file the object is defined in.
    pub file: String,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.installation {
            Some(i) => write!(f, "installation {i} ({})", self.file),
            None => write!(f, "{}", self.file),
        }
    }
}

/// A claim and its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub claim: Claim,
    pub owner: Owner,
}

/// The same claim from two owners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub claim: Claim,
    pub mine: Owner,
    pub theirs: Owner,
}

/// Every claim of `mine` that one of `others` already makes (one conflict per claim).
pub fn conflicts(mine: &[Owned], others: &[Owned]) -> Vec<Conflict> {
    let mut by_claim: BTreeMap<&Claim, &Owner> = BTreeMap::new();
    for o in others {
        by_claim.entry(&o.claim).or_insert(&o.owner);
    }
    let mut seen = BTreeSet::new();
    mine.iter()
        .filter_map(|m| {
            let theirs = by_claim.get(&m.claim)?;
            seen.insert(&m.claim).then(|| Conflict {
                claim: m.claim.clone(),
                mine: m.owner.clone(),
                theirs: (*theirs).clone(),
            })
        })
        .collect()
}

/// Every claim made twice within one set (for a check of a whole repository): the
/// first owner as `theirs`, each later one as `mine`.
pub fn duplicates(all: &[Owned]) -> Vec<Conflict> {
    let mut first: BTreeMap<&Claim, &Owner> = BTreeMap::new();
    let mut out = Vec::new();
    for o in all {
        match first.get(&o.claim) {
            Some(t) => out.push(Conflict {
                claim: o.claim.clone(),
                mine: o.owner.clone(),
                theirs: (*t).clone(),
            }),
            None => {
                first.insert(&o.claim, &o.owner);
            }
        }
    }
    out
}

/// The claims of objects whose namespace is final (as [`walk`] returns them).
/// `installations` maps installation directories to names, to name the owners.
pub fn claims(objs: &[Obj], installations: &BTreeMap<String, String>) -> Vec<Owned> {
    let mut out = Vec::new();
    for o in objs {
        let owner = Owner {
            installation: installation_of(&o.file, installations),
            file: o.file.clone(),
        };
        let namespace = if namespaces::is_cluster_scoped(&o.kind) {
            String::new()
        } else {
            o.namespace.clone().unwrap_or_default()
        };
        if o.kind == "HelmRelease" && o.api_version.starts_with("helm.toolkit.fluxcd.io/") {
            let spec = o.doc.get("spec");
            let field = |f: &str| {
                spec.and_then(|s| s.get(f))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            // helm-controller's effective name (shortened past 53 characters).
            let name = crate::model::release::effective_name(
                &o.name,
                field("releaseName"),
                field("targetNamespace"),
            );
            let storage_namespace = field("storageNamespace")
                .map(str::to_string)
                .unwrap_or_else(|| namespace.clone());
            out.push(Owned {
                claim: Claim::Release {
                    name,
                    storage_namespace,
                },
                owner: owner.clone(),
            });
        }
        out.push(Owned {
            claim: Claim::Object {
                kind: o.kind.clone(),
                namespace,
                name: o.name.clone(),
            },
            owner,
        });
    }
    out
}

/// The installation (by name) whose directory holds `file`, of `installations` (by
/// directory).
pub fn installation_of(file: &str, installations: &BTreeMap<String, String>) -> Option<String> {
    // The directories holding `file` are its ancestors, looked up one by one (a scan
    // of every installation for every object grew with their product); the shortest
    // comes first, as it does in the map's order.
    file.match_indices('/')
        .find_map(|(i, _)| installations.get(&file[..i]))
        .cloned()
}

/// Where a walk starts: a directory Flux applies, the namespace its objects without
/// one get, and the applying Kustomization's `targetNamespace`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Start {
    pub dir: String,
    pub default_namespace: String,
    pub target_namespace: Option<String>,
}

/// Every object Flux applies from `starts`, following the Flux Kustomizations whose
/// source is `git_repo` (the GitOps repository itself), with `targetNamespace`
/// applied as kustomize-controller applies it (every namespaced object moved, every
/// Namespace renamed) and objects without a namespace in their Kustomization's
/// namespace. Pure over `files` (repository-relative paths; a reader that remembers
/// reads only what it does not know).
pub fn walk<F: namespaces::Files + ?Sized>(
    files: &F,
    starts: Vec<Start>,
    git_repo: &GitRepositoryRef,
) -> Vec<Obj> {
    walk_noting(files, starts, git_repo, &mut Vec::new())
}

/// [`walk`], noting in `walked` every start it walked (its directory normalized, in
/// the order walked; a directory reached again is walked once, as the first start
/// that reached it says).
pub fn walk_noting<F: namespaces::Files + ?Sized>(
    files: &F,
    starts: Vec<Start>,
    git_repo: &GitRepositoryRef,
    walked: &mut Vec<Start>,
) -> Vec<Obj> {
    let mut queue: VecDeque<Start> = starts.into();
    let mut visited = BTreeSet::new();
    let mut out = Vec::new();
    while let Some(s) = queue.pop_front() {
        let dir = flux_path(&s.dir);
        if !visited.insert(dir.clone()) {
            continue;
        }
        walked.push(Start {
            dir: dir.clone(),
            ..s.clone()
        });
        let mut objs = namespaces::build(files, &dir);
        if let Some(t) = &s.target_namespace {
            namespaces::set_namespace(&mut objs, t, false);
        }
        for mut o in objs {
            if o.namespace.is_none() && !namespaces::is_cluster_scoped(&o.kind) {
                o.namespace = Some(s.default_namespace.clone());
            }
            if o.kind == "Kustomization"
                && o.api_version.starts_with("kustomize.toolkit.fluxcd.io/")
            {
                let own_ns = o.namespace.clone().unwrap_or_default();
                let spec = o.doc.get("spec");
                let str_at = |p: &str| {
                    spec.and_then(|x| x.at(p))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                let same_source = str_at("/sourceRef/kind").as_deref() == Some("GitRepository")
                    && str_at("/sourceRef/name").as_deref() == Some(git_repo.name.as_str())
                    && str_at("/sourceRef/namespace").unwrap_or_else(|| own_ns.clone())
                        == git_repo.namespace;
                if same_source {
                    let target = str_at("/targetNamespace");
                    queue.push_back(Start {
                        dir: str_at("/path").unwrap_or_default(),
                        default_namespace: target.clone().unwrap_or(own_ns),
                        target_namespace: target,
                    });
                }
            }
            out.push(o);
        }
    }
    out
}

/// The directory a Flux Kustomization's `path` names, as kustomize-controller resolves
/// it inside the repository (a secure join): `.` and empty parts dropped, `..` going
/// up, and never above the root.
pub fn flux_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The message of a refused install or upgrade: each conflict with both owners.
pub fn describe(conflicts: &[Conflict]) -> String {
    const SHOWN: usize = 10;
    let mut lines: Vec<String> = conflicts
        .iter()
        .take(SHOWN)
        .map(|c| {
            format!(
                "  {}: produced by {} and already by {}",
                c.claim, c.mine, c.theirs
            )
        })
        .collect();
    if conflicts.len() > SHOWN {
        lines.push(format!("  … and {} more", conflicts.len() - SHOWN));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(kind: &str, ns: &str, name: &str, file: &str) -> Owned {
        Owned {
            claim: Claim::Object {
                kind: kind.into(),
                namespace: ns.into(),
                name: name.into(),
            },
            owner: Owner {
                installation: None,
                file: file.into(),
            },
        }
    }

    #[test]
    fn a_path_is_resolved_as_kustomize_controller_joins_it() {
        for (path, dir) in [
            ("./clusters/default", "clusters/default"),
            ("clusters/default/", "clusters/default"),
            ("/clusters//default/.", "clusters/default"),
            ("./clusters/default/profiles/one/../../../../apps", "apps"),
            ("../../apps", "apps"),
            (".", ""),
            ("", ""),
        ] {
            assert_eq!(flux_path(path), dir, "{path}");
        }
    }

    #[test]
    fn an_installation_holds_the_files_below_its_directory() {
        let dirs: BTreeMap<String, String> = [
            ("clusters/default/profiles/a", "a"),
            ("clusters/default/profiles/ab", "ab"),
            ("clusters/default/profiles/a/nested", "nested"),
            ("/abs", "abs"),
        ]
        .into_iter()
        .map(|(d, n)| (d.to_string(), n.to_string()))
        .collect();
        // As a scan of every directory in the map's order answers.
        let scan = |file: &str| {
            dirs.iter()
                .find(|(dir, _)| file.starts_with(&format!("{dir}/")))
                .map(|(_, name)| name.clone())
        };
        for file in [
            "clusters/default/profiles/a/kustomization.yaml",
            "clusters/default/profiles/ab/artifacts/x/cm.yaml",
            "clusters/default/profiles/a/nested/cm.yaml",
            "clusters/default/profiles/abc/cm.yaml",
            "clusters/default/profiles/a",
            "clusters/default/kustomization.yaml",
            "/abs/cm.yaml",
            "abs/cm.yaml",
            "",
        ] {
            assert_eq!(installation_of(file, &dirs), scan(file), "{file}");
        }
        assert_eq!(
            installation_of("clusters/default/profiles/a/nested/cm.yaml", &dirs).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn conflicts_are_claims_made_by_both_sides() {
        let mine = vec![
            owned("ConfigMap", "a", "x", "m1"),
            owned("ConfigMap", "b", "x", "m2"),
        ];
        let others = vec![
            owned("ConfigMap", "a", "x", "o1"),
            owned("Secret", "a", "x", "o2"),
        ];
        let c = conflicts(&mine, &others);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].theirs.file, "o1");
        assert_eq!(c[0].mine.file, "m1");
        assert_eq!(duplicates(&[mine[0].clone(), others[0].clone()]).len(), 1);
    }

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn the_walk_follows_kustomizations_and_applies_target_namespace() {
        let git = GitRepositoryRef {
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        };
        let f = files(&[
            (
                "c/ks.yaml",
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k, namespace: flux-system}\nspec: {path: ./apps, targetNamespace: t, sourceRef: {kind: GitRepository, name: flux-system}}\n",
            ),
            (
                "apps/a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: elsewhere}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: r}\nspec: {targetNamespace: w}\n",
            ),
        ]);
        let objs = walk(
            &f,
            vec![Start {
                dir: "c".into(),
                default_namespace: "flux-system".into(),
                target_namespace: None,
            }],
            &git,
        );
        let c = claims(
            &objs,
            &BTreeMap::from([("apps".to_string(), "i".to_string())]),
        );
        let shown: Vec<String> = c
            .iter()
            .map(|o| format!("{} by {}", o.claim, o.owner))
            .collect();
        assert_eq!(
            shown,
            vec![
                "Kustomization flux-system/k by c/ks.yaml",
                "ConfigMap t/a by installation i (apps/a.yaml)",
                "Helm release w-r (stored in namespace t) by installation i (apps/a.yaml)",
                "HelmRelease t/r by installation i (apps/a.yaml)",
            ]
        );
    }
}
