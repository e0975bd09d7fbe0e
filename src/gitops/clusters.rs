//! The clusters of a fleet (docs/fleets.md): `.pctl/config.yaml` `clusters:` maps a
//! cluster name to its sync and install paths (a repository without it is one cluster,
//! `default`, from the top-level `syncPath`/`installPath`); which clusters a command
//! works on (`--cluster`, `--all-clusters`); and which cluster an installation is in.
use super::rules::with_line;
use super::{Config, join, repo_dir};
use crate::error::user;
use crate::git::TreeView;
use crate::yaml::{Map, Value};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// The name of the one cluster of a repository without `clusters:`.
pub const DEFAULT: &str = "default";
const KEYS: [&str; 2] = ["syncPath", "installPath"];

/// One entry of `clusters:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPaths {
    pub sync_path: String,
    pub install_path: String,
}

/// A cluster with its name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub name: String,
    pub sync_path: String,
    pub install_path: String,
}

/// `--cluster NAME[,NAME…]` / `--all-clusters` as given (neither: the only cluster).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub names: Vec<String>,
    pub all: bool,
}

impl Config {
    /// Whether the config declares `clusters:`.
    pub fn is_fleet(&self) -> bool {
        !self.clusters.is_empty()
    }

    /// Every cluster, by name (one, `default`, without `clusters:`).
    pub fn cluster_list(&self) -> Vec<Cluster> {
        if !self.is_fleet() {
            return vec![Cluster {
                name: DEFAULT.into(),
                sync_path: self.sync_path.clone(),
                install_path: self.install_path.clone(),
            }];
        }
        self.clusters
            .iter()
            .map(|(name, p)| Cluster {
                name: name.clone(),
                sync_path: p.sync_path.clone(),
                install_path: p.install_path.clone(),
            })
            .collect()
    }

    /// Where files shared by several clusters go (`basesPath`, default `bases`).
    pub fn bases_path(&self) -> &str {
        self.bases_path
            .as_deref()
            .unwrap_or(super::bases::DEFAULT_PATH)
    }

    /// This config as one cluster sees it: that cluster's sync and install paths.
    pub fn for_cluster(&self, c: &Cluster) -> Config {
        Config {
            sync_path: c.sync_path.clone(),
            install_path: c.install_path.clone(),
            ..self.clone()
        }
    }
}

/// Check the `clusters:` mapping's keys (and that the top-level paths are given
/// exactly when it is absent); `line` gives a field's line.
pub fn check_keys(top: &Map, line: &dyn Fn(&str) -> usize) -> Result<()> {
    let cfg = super::CONFIG_PATH;
    let clusters = match top.get("clusters") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => bail!(user(
            format!("{cfg}:{}: clusters is not a mapping", line("clusters")),
            "write it as a mapping of cluster name to {syncPath, installPath}",
        )),
    };
    let Some(clusters) = clusters else {
        for key in KEYS {
            if !top.contains_key(key) {
                bail!(user(
                    format!("{cfg}: missing field `{key}`"),
                    "give syncPath and installPath (or clusters:, one entry per cluster); `pctl init` writes them",
                ));
            }
        }
        return Ok(());
    };
    if clusters.is_empty() {
        bail!(user(
            format!("{cfg}:{}: clusters is empty", line("clusters")),
            "list at least one cluster, or remove clusters: and give syncPath and installPath",
        ));
    }
    for key in KEYS {
        if top.contains_key(key) {
            bail!(user(
                format!(
                    "{cfg}:{}: {key} is set beside clusters: with clusters, each cluster has its own {key}",
                    line(key)
                ),
                format!("move it into the cluster it belongs to, under clusters.NAME.{key}"),
            ));
        }
    }
    for (name, v) in clusters {
        let field = format!("clusters.{name}");
        let Some(m) = v.as_object() else {
            bail!(user(
                format!("{cfg}:{}: {field} is not a mapping", line(&field)),
                "write it as a mapping of syncPath and installPath",
            ));
        };
        for k in m.keys() {
            if !KEYS.contains(&k.as_str()) {
                let f = format!("{field}.{k}");
                bail!(user(
                    format!("{cfg}:{}: unknown field `{f}`", line(&f)),
                    crate::model::field_hint(k, &KEYS),
                ));
            }
        }
        for key in KEYS {
            if !m.contains_key(key) {
                bail!(user(
                    format!("{cfg}:{}: {field} has no {key}", line(&field)),
                    "give each cluster a syncPath and an installPath",
                ));
            }
        }
    }
    Ok(())
}

/// Check the clusters' names and paths; `at` prefixes a field with the file and line.
pub fn check_paths(c: &mut Config, at: &dyn Fn(&str) -> String) -> Result<()> {
    let names: Vec<String> = c.clusters.keys().cloned().collect();
    for name in &names {
        with_line(at, &format!("clusters.{name}"), |what| {
            check_name(what, name)
        })?;
        let Some(p) = c.clusters.get_mut(name) else {
            continue;
        };
        for (key, v) in [
            ("syncPath", &mut p.sync_path),
            ("installPath", &mut p.install_path),
        ] {
            let field = format!("clusters.{name}.{key}");
            *v = with_line(at, &field, |what| repo_dir(what, v))?;
            if v.is_empty() {
                bail!(user(
                    format!("{} is the repository root", at(&field)),
                    "give each cluster a directory of its own, for example clusters/NAME",
                ));
            }
        }
    }
    if let Some(b) = c.bases_path.clone() {
        let b = with_line(at, "basesPath", |what| repo_dir(what, &b))?;
        if b.is_empty() {
            bail!(user(
                format!("{} is the repository root", at("basesPath")),
                "give the shared files a directory of their own, for example bases",
            ));
        }
        c.bases_path = Some(b);
    }
    let list = c.cluster_list();
    let bases = c.bases_path().to_string();
    // Only a fleet shares files (a repository with one cluster never reads basesPath
    // unless it sets it).
    let shares = c.is_fleet() || c.bases_path.is_some();
    for a in list.iter().filter(|_| shares) {
        for (key, p) in [("syncPath", &a.sync_path), ("installPath", &a.install_path)] {
            if within(&bases, p) || within(p, &bases) {
                bail!(user(
                    format!(
                        "{} {bases} overlaps cluster {}'s {key} {p}: Flux would apply the shared files on their own",
                        at("basesPath"),
                        a.name
                    ),
                    "set basesPath in .pctl/config.yaml to a directory outside every cluster's paths, for example bases",
                ));
            }
        }
    }
    for a in &list {
        for b in &list {
            if a.name == b.name {
                continue;
            }
            if within(&a.sync_path, &b.sync_path) {
                bail!(user(
                    format!(
                        "{} {} is {} cluster {}'s syncPath {}: Flux would apply one cluster's files in the other",
                        at(&format!("clusters.{}.syncPath", a.name)),
                        a.sync_path,
                        if a.sync_path == b.sync_path {
                            "the same as"
                        } else {
                            "inside"
                        },
                        b.name,
                        b.sync_path
                    ),
                    "give every cluster a sync path of its own, for example clusters/NAME",
                ));
            }
            if within(&a.install_path, &b.sync_path) {
                bail!(user(
                    format!(
                        "{} {} is inside cluster {}'s syncPath {}: that cluster would apply these installations too",
                        at(&format!("clusters.{}.installPath", a.name)),
                        a.install_path,
                        b.name,
                        b.sync_path
                    ),
                    format!(
                        "put {}'s installations below its own syncPath, for example {}/profiles",
                        a.name, a.sync_path
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A cluster name is a DNS-1123 label (it names directories and Flux objects).
pub fn check_name(what: &str, name: &str) -> Result<()> {
    if !crate::names::is_dns1123_label(name) {
        bail!(user(
            format!(
                "{what}: cluster name {} is not a DNS-1123 label",
                crate::source::escaped(name)
            ),
            "use lower-case letters, digits and '-', at most 63 characters, for example staging",
        ));
    }
    Ok(())
}

/// `dir` is `root` or below it.
fn within(dir: &str, root: &str) -> bool {
    root.is_empty() || dir == root || dir.starts_with(&format!("{root}/"))
}

fn names(list: &[Cluster]) -> String {
    list.iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The clusters a command works on: the named ones, every one, or the only one.
/// `repo` describes the repository for messages.
pub fn select(config: &Config, sel: &Selection, repo: &str) -> Result<Vec<Cluster>> {
    let list = config.cluster_list();
    if sel.all {
        return Ok(list);
    }
    if sel.names.is_empty() {
        if list.len() == 1 {
            return Ok(list);
        }
        bail!(user(
            format!(
                "{repo} has {} clusters ({}): say which one",
                list.len(),
                names(&list)
            ),
            format!(
                "pass --cluster NAME (one of {}) or --all-clusters",
                names(&list)
            ),
        ));
    }
    let mut out: Vec<Cluster> = Vec::new();
    for name in &sel.names {
        let Some(c) = list.iter().find(|c| &c.name == name) else {
            bail!(user(
                format!(
                    "--cluster {}: {repo} has no cluster of that name",
                    crate::source::escaped(name)
                ),
                if config.is_fleet() {
                    format!("clusters: {}", names(&list))
                } else if !crate::names::is_dns1123_label(name) {
                    "this repository has one cluster, default (cluster names are DNS-1123 labels)"
                        .to_string()
                } else {
                    format!(
                        "this repository has one cluster, default; `pctl cluster add {name}` adds another"
                    )
                },
            ));
        };
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(out)
}

/// The one cluster an argument names (`promote --from/--to`), and the config as it
/// sees it; several are refused.
pub fn select_one(
    config: &Config,
    sel: &Selection,
    repo: &str,
    verb: &str,
) -> Result<(Config, Cluster)> {
    let mut chosen = select(config, sel, repo)?;
    if chosen.len() > 1 {
        bail!(user(
            format!(
                "pctl {verb} takes one cluster here, not several ({})",
                names(&chosen)
            ),
            format!("name one cluster, for example {}", chosen[0].name),
        ));
    }
    let c = chosen.remove(0);
    Ok((config.for_cluster(&c), c))
}

/// For `upgrade`, whose every installation lives in one cluster: each chosen cluster
/// with the config as it sees it (several clusters are allowed; docs/fleets.md).
pub fn load_each(view: &TreeView, repo: &str, sel: &Selection) -> Result<Vec<(Config, Cluster)>> {
    let config = super::load(view, repo)?;
    Ok(select(&config, sel, repo)?
        .into_iter()
        .map(|c| (config.for_cluster(&c), c))
        .collect())
}

/// Read `.pctl/config.yaml` and pick the one cluster a writing command works on.
pub fn load_one(
    view: &TreeView,
    repo: &str,
    sel: &Selection,
    verb: &str,
) -> Result<(Config, Cluster)> {
    let config = super::load(view, repo)?;
    select_one(&config, sel, repo, verb)
}

/// The cluster the installation in `dir` belongs to: the one whose installPath (else
/// syncPath) holds it, the deepest first, else the one whose sync path holds the Flux
/// Kustomization pctl wrote for its parent directory. None: no cluster reaches it.
pub fn cluster_of(view: &TreeView, config: &Config, dir: &str) -> Result<Option<String>> {
    if !config.is_fleet() {
        return Ok(Some(DEFAULT.into()));
    }
    let list = config.cluster_list();
    let best = list
        .iter()
        .flat_map(|c| [(c, &c.install_path), (c, &c.sync_path)])
        .filter(|(_, root)| within(dir, root))
        .max_by_key(|(_, root)| root.len());
    if let Some((c, _)) = best {
        return Ok(Some(c.name.clone()));
    }
    let parent = dir.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    let bridge = super::bridge_file(parent);
    for c in &list {
        if view.exists(&join(&c.sync_path, &bridge))? {
            return Ok(Some(c.name.clone()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Config {
        let mut c = Config {
            sync_path: String::new(),
            install_path: String::new(),
            ..Config::default()
        };
        for n in ["staging", "production"] {
            c.clusters.insert(
                n.into(),
                ClusterPaths {
                    sync_path: format!("clusters/{n}"),
                    install_path: format!("clusters/{n}/profiles"),
                },
            );
        }
        c
    }

    #[test]
    fn without_clusters_there_is_one_cluster_named_default() {
        let c = Config::default();
        let list = c.cluster_list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "default");
        assert_eq!(list[0].sync_path, "clusters/default");
        let got = select(&c, &Selection::default(), "r").unwrap();
        assert_eq!(got, list);
        let err = select(
            &c,
            &Selection {
                names: vec!["staging".into()],
                all: false,
            },
            "r",
        )
        .unwrap_err();
        let (top, _, hints) = crate::error::describe(&err);
        assert_eq!(top, "--cluster \"staging\": r has no cluster of that name");
        assert!(hints[0].contains("pctl cluster add"), "{hints:?}");
    }

    #[test]
    fn several_clusters_need_a_choice() {
        let c = fleet();
        let err = select(&c, &Selection::default(), "r").unwrap_err();
        let (top, _, hints) = crate::error::describe(&err);
        assert_eq!(top, "r has 2 clusters (production, staging): say which one");
        assert!(hints[0].contains("--cluster NAME"), "{hints:?}");
        let all = Selection {
            names: vec![],
            all: true,
        };
        assert_eq!(select(&c, &all, "r").unwrap().len(), 2);
        let err = select_one(&c, &all, "r", "install").unwrap_err();
        assert!(
            err.to_string()
                .contains("takes one cluster here, not several"),
            "{err}"
        );
        let one = Selection {
            names: vec!["staging".into(), "staging".into()],
            all: false,
        };
        let (cfg, cl) = select_one(&c, &one, "r", "install").unwrap();
        assert_eq!(cl.name, "staging");
        assert_eq!(cfg.install_path, "clusters/staging/profiles");
    }

    #[test]
    fn cluster_paths_may_not_overlap() {
        let mut c = fleet();
        c.clusters.get_mut("staging").unwrap().sync_path = "clusters/production/x".into();
        let err = check_paths(&mut c, &|f: &str| f.to_string()).unwrap_err();
        assert!(
            err.to_string()
                .contains("inside cluster production's syncPath"),
            "{err}"
        );
        let mut c = fleet();
        c.clusters.get_mut("staging").unwrap().install_path = "clusters/production/p".into();
        let err = check_paths(&mut c, &|f: &str| f.to_string()).unwrap_err();
        assert!(
            err.to_string().contains("that cluster would apply"),
            "{err}"
        );
        let mut c = fleet();
        let p = c.clusters.remove("staging").unwrap();
        c.clusters.insert("Bad_Name".into(), p);
        let err = check_paths(&mut c, &|f: &str| f.to_string()).unwrap_err();
        assert!(err.to_string().contains("not a DNS-1123 label"), "{err}");
        check_paths(&mut fleet(), &|f: &str| f.to_string()).unwrap();
    }

    #[test]
    fn installations_belong_to_the_cluster_that_holds_them() {
        let c = fleet();
        let view = TreeView::empty();
        let of = |d: &str| cluster_of(&view, &c, d).unwrap();
        assert_eq!(
            of("clusters/staging/profiles/web").as_deref(),
            Some("staging")
        );
        assert_eq!(
            of("clusters/production/apps/web").as_deref(),
            Some("production")
        );
        assert_eq!(of("elsewhere/web"), None);
        assert_eq!(
            cluster_of(&view, &Config::default(), "elsewhere/web")
                .unwrap()
                .as_deref(),
            Some("default")
        );
    }
}
