//! `pctl cluster add|list|remove`: the clusters of a fleet in `.pctl/config.yaml`
//! (docs/fleets.md), and the installations of chosen clusters for the other commands.
use crate::error::user;
use crate::git::{Changes, Mode, TreeView};
use crate::gitops::clusters::{self, Cluster, ClusterPaths, DEFAULT};
use crate::gitops::{self, Config, Overlay};
use crate::ops::Context;
use crate::printer::{Format, Printer};
use crate::record::Installation;
use anyhow::{Result, bail};
use serde::Serialize;

pub struct AddOptions {
    pub name: String,
    pub sync_path: Option<String>,
    pub install_path: Option<String>,
    pub mode: Mode,
}

/// The installations of the chosen clusters: (cluster, directory, record). In a
/// repository without `clusters:` every installation is in `default`.
pub fn installations_in(
    view: &TreeView,
    config: &Config,
    chosen: &[Cluster],
    p: &Printer,
) -> Result<Vec<(String, String, Installation)>> {
    let mut out = Vec::new();
    for (dir, inst) in crate::ops::installations(view, p)? {
        let Some(c) = clusters::cluster_of(view, config, &dir)? else {
            p.warn(&format!(
                "installation {} at {dir} is in no cluster: no cluster's installPath or syncPath holds it",
                inst.metadata.name
            ));
            continue;
        };
        if chosen.iter().any(|x| x.name == c) {
            out.push((c, dir, inst));
        }
    }
    Ok(out)
}

/// For a command that reads: the config (the default one when the repository has
/// none), the chosen clusters, and their installations as (cluster, directory, record).
/// `cluster` is None when one cluster is chosen (no CLUSTER column).
pub type Found = Vec<(Option<String>, String, Installation)>;

pub fn chosen(
    view: &TreeView,
    repo: &str,
    sel: &clusters::Selection,
    p: &Printer,
) -> Result<(Config, Found)> {
    let config = if view.exists(gitops::CONFIG_PATH)? {
        gitops::load(view, repo)?
    } else {
        Config::default()
    };
    let chosen = clusters::select(&config, sel, repo)?;
    let several = chosen.len() > 1;
    let found = installations_in(view, &config, &chosen, p)?
        .into_iter()
        .map(|(c, dir, i)| (several.then_some(c), dir, i))
        .collect();
    Ok((config, found))
}

/// The one cluster a command that writes works on.
pub struct OneCluster {
    /// The config as the cluster sees it (its syncPath and installPath).
    pub config: Config,
    /// The cluster whose values level applies (None without `clusters:`).
    pub values_level: Option<String>,
    /// The cluster's installations as (directory, record).
    pub installations: Vec<(String, Installation)>,
}

/// Read the config and pick the one cluster a command that writes works on.
pub fn one_cluster(
    view: &TreeView,
    repo: &str,
    sel: &clusters::Selection,
    verb: &str,
    p: &Printer,
) -> Result<OneCluster> {
    let (config, cluster) = clusters::load_one(view, repo, sel, verb)?;
    let installations = installations_in(view, &config, std::slice::from_ref(&cluster), p)?
        .into_iter()
        .map(|(_, dir, i)| (dir, i))
        .collect();
    Ok(OneCluster {
        values_level: values_level(&config, &cluster),
        config,
        installations,
    })
}

/// The cluster whose values level (`.pctl/values/clusters/NAME.yaml`) applies: only in
/// a fleet (a repository without `clusters:` has none).
pub fn values_level(config: &Config, cluster: &Cluster) -> Option<String> {
    config.is_fleet().then(|| cluster.name.clone())
}

/// `--cluster NAME` of `render` and `show`: the cluster whose values level applies,
/// checked against the GitOps repository in `view` (None in a repository without
/// `clusters:`, whose one cluster has no values level).
pub fn values_cluster(view: Option<&TreeView>, wanted: Option<&str>) -> Result<Option<String>> {
    let Some(name) = wanted else {
        return Ok(None);
    };
    let Some(view) = view else {
        bail!(user(
            "--cluster needs a GitOps repository",
            "run inside one or pass --repo DIR",
        ));
    };
    let repo = "the GitOps repository";
    let config = gitops::load(view, repo)?;
    let sel = clusters::Selection {
        names: vec![name.to_string()],
        all: false,
    };
    let chosen = clusters::select(&config, &sel, repo)?;
    Ok(chosen.first().and_then(|c| values_level(&config, c)))
}

/// The directory of the installation named `name` in `cluster`, if any (in the whole
/// repository when it has no `clusters:`).
pub fn installation_named(
    view: &TreeView,
    config: &Config,
    cluster: &Cluster,
    name: &str,
    p: &Printer,
) -> Result<Option<String>> {
    Ok(
        installations_named(view, config, std::slice::from_ref(cluster), name, p)?
            .remove(&cluster.name),
    )
}

/// [`installation_named`] for several clusters at once, by cluster name: one walk for
/// the records' names (memoised by tree, [`crate::ops::record_files`]), and only the
/// records named `name` are placed in a cluster. An install
/// into fifty clusters of a repository of a thousand installations asks this once,
/// not once per cluster over every record.
pub fn installations_named(
    view: &TreeView,
    config: &Config,
    chosen: &[Cluster],
    name: &str,
    p: &Printer,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    if !config.is_fleet() {
        if let Some(dir) = crate::ops::installation_named(view, name)? {
            for c in chosen {
                out.insert(c.name.clone(), dir.clone());
            }
        }
        return Ok(out);
    }
    for found in crate::ops::record_files(view)? {
        // Weaveworks pctl's records are not in any cluster's list (see `installations`).
        if crate::ops::legacy_record(&found) || crate::ops::record_name(view, &found)? != name {
            continue;
        }
        let dir = crate::ops::record_dir(&found.path);
        let Some(c) = clusters::cluster_of(view, config, &dir)? else {
            p.warn(&format!(
                "installation {name} at {dir} is in no cluster: no cluster's installPath or syncPath holds it"
            ));
            continue;
        };
        if chosen.iter().any(|x| x.name == c) {
            out.entry(c).or_insert(dir);
        }
    }
    Ok(out)
}

pub fn add(ctx: &Context, opts: AddOptions) -> Result<()> {
    let p = ctx.printer();
    clusters::check_name("cluster add", &opts.name)?;
    let sync_path = match &opts.sync_path {
        Some(p) => gitops::repo_dir("--sync-path", p)?,
        None => format!("clusters/{}", opts.name),
    };
    let install_path = match &opts.install_path {
        Some(p) => gitops::repo_dir("--install-path", p)?,
        None => gitops::join(&sync_path, "profiles"),
    };
    if sync_path.is_empty() || install_path.is_empty() {
        bail!(user(
            "--sync-path and --install-path must name directories below the repository root",
            "for example clusters/NAME",
        ));
    }
    let ws = ctx.workspace()?;
    let message = format!("pctl: cluster add {}", opts.name);
    let build = |view: &TreeView| -> Result<Changes> {
        let mut config = gitops::load(view, &ws.describe())?;
        if config.cluster_list().iter().any(|c| c.name == opts.name) {
            bail!(user(
                format!(
                    "{} already has a cluster named {}",
                    ws.describe(),
                    opts.name
                ),
                if config.is_fleet() {
                    "`pctl cluster list` shows them; choose another name"
                } else {
                    "a repository without clusters: is one cluster, default: choose another name"
                },
            ));
        }
        if !config.is_fleet() {
            // The one cluster so far becomes `default`, with its paths.
            let paths = ClusterPaths {
                sync_path: std::mem::take(&mut config.sync_path),
                install_path: std::mem::take(&mut config.install_path),
            };
            config.clusters.insert(DEFAULT.into(), paths);
        }
        config.clusters.insert(
            opts.name.clone(),
            ClusterPaths {
                sync_path: sync_path.clone(),
                install_path: install_path.clone(),
            },
        );
        gitops::check_config(&mut config)?;
        let mut o = Overlay::new(view);
        o.write(
            gitops::CONFIG_PATH,
            gitops::config_text(&config)?.into_bytes(),
        );
        let cluster = Cluster {
            name: opts.name.clone(),
            sync_path: sync_path.clone(),
            install_path: install_path.clone(),
        };
        gitops::prepare_cluster(&mut o, &config.for_cluster(&cluster))?;
        Ok(o.changes)
    };
    let outcome = ws.apply(&message, opts.mode, build)?;
    crate::ops::report(
        p,
        &outcome,
        opts.mode,
        &format!("cluster add {}", opts.name),
    );
    if opts.mode != Mode::DryRun {
        p.info(&format!(
            "cluster {}: sync path {sync_path}, installations in {install_path}",
            opts.name
        ));
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(flatten)]
    cluster: Cluster,
    installations: usize,
}

pub fn list(ctx: &Context, format: Format) -> Result<()> {
    let p = ctx.printer();
    let view = ctx.view()?;
    let config = ctx.config()?;
    let all = config.cluster_list();
    let found = installations_in(view, config, &all, p)?;
    let rows: Vec<Row> = all
        .into_iter()
        .map(|c| Row {
            installations: found.iter().filter(|(n, _, _)| *n == c.name).count(),
            cluster: c,
        })
        .collect();
    if !p.structured(format, &rows)? {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.cluster.name.clone(),
                    r.cluster.sync_path.clone(),
                    r.cluster.install_path.clone(),
                    r.installations.to_string(),
                ]
            })
            .collect();
        p.table(
            &["NAME", "SYNC PATH", "INSTALL PATH", "INSTALLATIONS"],
            &table,
        );
    }
    Ok(())
}

pub fn remove(ctx: &Context, name: &str, mode: Mode) -> Result<()> {
    let p = ctx.printer();
    let ws = ctx.workspace()?;
    let message = format!("pctl: cluster remove {name}");
    let build = |view: &TreeView| -> Result<Changes> {
        let mut config = gitops::load(view, &ws.describe())?;
        let list = config.cluster_list();
        let Some(cluster) = list.iter().find(|c| c.name == name) else {
            let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
            bail!(user(
                format!(
                    "{} has no cluster named {}",
                    ws.describe(),
                    crate::source::escaped(name)
                ),
                format!("clusters: {}", names.join(", ")),
            ));
        };
        let held = installations_in(view, &config, std::slice::from_ref(cluster), p)?;
        if !held.is_empty() {
            let names: Vec<&str> = held
                .iter()
                .map(|(_, _, i)| i.metadata.name.as_str())
                .collect();
            bail!(user(
                format!(
                    "cluster {name} still has {} installation{}: {}",
                    held.len(),
                    if held.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
                format!(
                    "uninstall them first: pctl uninstall {} --cluster {name}",
                    names[0]
                ),
            ));
        }
        if list.len() == 1 {
            bail!(user(
                format!(
                    "{name} is the only cluster of {}: a GitOps repository has at least one",
                    ws.describe()
                ),
                "add the cluster that replaces it first (`pctl cluster add NAME`)",
            ));
        }
        config.clusters.remove(name);
        gitops::check_config(&mut config)?;
        let mut o = Overlay::new(view);
        o.write(
            gitops::CONFIG_PATH,
            gitops::config_text(&config)?.into_bytes(),
        );
        Ok(o.changes)
    };
    let outcome = ws.apply(&message, mode, build)?;
    crate::ops::report(p, &outcome, mode, &format!("cluster remove {name}"));
    if mode != Mode::DryRun && outcome.changed > 0 {
        p.info(&format!(
            "the files of cluster {name} stay in place; `git rm -r` its sync path when the cluster is gone"
        ));
    }
    Ok(())
}
