//! `pctl list`: the installations recorded in a GitOps repository.
use crate::ops::Context;
use crate::printer::{Format, Printer};
use anyhow::Result;
use serde::Serialize;

/// `--repo` and `--cluster`/`--all-clusters` come from the context.
pub struct ListOptions {
    pub format: Format,
}

#[derive(Serialize)]
struct Row {
    /// With several clusters chosen (docs/fleets.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<String>,
    name: String,
    namespace: String,
    profile: String,
    version: String,
    source: String,
    path: String,
    /// The newest version the installation's constraint allows, when newer than the
    /// installed one (checked against the cached upstream mirrors; `pctl outdated`
    /// fetches them).
    update: Option<String>,
    /// Files added, removed or edited by hand since pctl wrote them.
    drift: crate::tracking::Drift,
    /// True for an installation written by Weaveworks pctl (`pctl migrate NAME`
    /// converts it); absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    legacy: bool,
    /// The newest version outside the constraint, for the fleet view.
    #[serde(skip)]
    latest: Option<String>,
}

pub fn run(ctx: &Context, opts: ListOptions) -> Result<()> {
    let p = ctx.printer();
    let ws = ctx.workspace()?;
    let view = ctx.view()?;
    let mut unknown = 0;
    let mut rows: Vec<Row> = Vec::new();
    // Weaveworks pctl installations are rows here, not a note.
    crate::ops::legacy_listed();
    let legacy = crate::ops::legacy_installations(view)?;
    let (config, found) = crate::ops::cluster::chosen(view, &ws.describe(), ctx.clusters(), p)?;
    let columns = crate::ops::fleet_view::columns(&config, ctx.clusters(), &ws.describe())?;
    let several = columns.len() > 1;
    for (cluster, dir, i) in found {
        // A dirty installation (a directory outside Git) has no upstream versions:
        // there is nothing to look up, and no reason to call it unknown.
        let dirty = i.spec.source.dirty;
        // Cached mirrors only: listing never waits on the network. A local upstream
        // (file://, or a path: a clone's `origin` often is one) that is not cached yet
        // is fetched, which costs no network.
        let mut info = crate::tracking::update_info(ctx.cached_upstreams()?, &i.spec.source);
        let url = &i.spec.source.url;
        let local = url.starts_with("file://") || std::path::Path::new(url).is_absolute();
        if info.error.is_some() && !dirty && local {
            info = crate::tracking::update_info(ctx.fetching_upstreams()?, &i.spec.source);
        }
        if dirty {
            info.error = None;
        }
        if info.error.is_some() {
            unknown += 1;
        }
        let files = crate::tracking::installation_files(ws, view, &dir, &i)?;
        rows.push(Row {
            cluster,
            version: i.version_label(),
            source: i.spec.source.display(),
            update: if info.behind() {
                info.wanted.clone()
            } else if info.error.is_some() {
                Some("?".into())
            } else {
                None
            },
            drift: crate::tracking::drift(&i, &files),
            latest: (info.state == crate::tracking::UpdateState::NewerOutsideConstraint)
                .then(|| info.latest.clone())
                .flatten(),
            name: i.metadata.name,
            namespace: i.spec.namespace,
            profile: i.spec.profile,
            path: dir,
            legacy: false,
        });
    }
    for (dir, l) in legacy {
        rows.push(Row {
            cluster: several.then(|| "-".to_string()),
            profile: l
                .catalog
                .as_deref()
                .and_then(|c| c.rsplit('/').next())
                .or_else(|| l.source.path.rsplit('/').next().filter(|p| !p.is_empty()))
                .unwrap_or(&l.name)
                .to_string(),
            version: l.source.label(),
            source: l.source.display(),
            update: None,
            drift: Default::default(),
            name: l.name,
            namespace: l.namespace,
            path: dir,
            legacy: true,
            latest: None,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    let legacy_count = rows.iter().filter(|r| r.legacy).count();
    if several {
        return matrix(p, columns, rows, opts.format, unknown);
    }
    if !p.structured(opts.format, &rows)? {
        let table: Vec<Vec<String>> = rows
            .into_iter()
            .map(|r| {
                let mut row: Vec<String> = r
                    .cluster
                    .into_iter()
                    .chain([
                        r.name,
                        r.namespace,
                        r.profile,
                        r.version,
                        r.source,
                        r.path,
                        r.update.unwrap_or_else(|| "-".into()),
                        if r.drift.is_empty() {
                            "-".into()
                        } else {
                            r.drift.summary().replace(", ", ",")
                        },
                    ])
                    .collect();
                if legacy_count > 0 {
                    row.push(if r.legacy { "weaveworks" } else { "pctl" }.into());
                }
                row
            })
            .collect();
        if table.is_empty() {
            p.info("no installations");
        } else {
            let mut headers = vec![
                "CLUSTER",
                "NAME",
                "NAMESPACE",
                "PROFILE",
                "VERSION",
                "SOURCE",
                "PATH",
                "UPDATE",
                "DRIFT",
            ];
            if legacy_count > 0 {
                headers.push("WRITTEN-BY");
            }
            p.table(&headers[usize::from(!several)..], &table);
            if legacy_count > 0 {
                p.info(&format!(
                    "WRITTEN-BY weaveworks: {legacy_count} installation(s) of the archived Weaveworks pctl; `pctl migrate NAME` converts one"
                ));
            }
            if unknown > 0 {
                p.info(&format!(
                    "UPDATE ?: {unknown} upstream(s) not in the cache; `pctl outdated` fetches them"
                ));
            }
        }
    }
    Ok(())
}

/// Several clusters: the fleet view (docs/fleets.md#the-fleet-view), with the
/// installations of the archived Weaveworks pctl (in no cluster) listed apart.
fn matrix(
    p: &Printer,
    columns: Vec<String>,
    rows: Vec<Row>,
    format: Format,
    unknown: usize,
) -> Result<()> {
    use crate::ops::fleet_view::{Cell, LEGEND, Matrix};
    let (legacy, rows): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| r.legacy);
    let entries = rows
        .into_iter()
        .map(|r| {
            let cell = Cell {
                version: r.version,
                state: match (r.update.as_deref(), &r.latest) {
                    (Some("?"), _) => crate::tracking::UpdateState::Unknown,
                    (Some(_), _) => crate::tracking::UpdateState::UpdateAvailable,
                    (None, Some(_)) => crate::tracking::UpdateState::NewerOutsideConstraint,
                    (None, None) => crate::tracking::UpdateState::UpToDate,
                }
                .as_str()
                .to_string(),
                update: r.update.filter(|u| u != "?"),
                latest: r.latest,
                drift: r.drift,
                profile: r.profile,
                path: r.path,
            };
            (r.cluster.unwrap_or_default(), r.name, cell)
        })
        .collect();
    let m = Matrix::build(columns, entries);
    let legacy_names: Vec<String> = legacy.iter().map(|r| r.name.clone()).collect();
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        matrix: &'a Matrix,
        /// Installations of the archived Weaveworks pctl (in no cluster).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        legacy: Vec<Row>,
    }
    if !p.structured(format, &Out { matrix: &m, legacy })? {
        if m.installations.is_empty() && legacy_names.is_empty() {
            p.info("no installations");
            return Ok(());
        }
        p.data(&m.table());
        p.info(LEGEND);
        if !legacy_names.is_empty() {
            p.info(&format!(
                "in no cluster: {} installation(s) of the archived Weaveworks pctl ({}); `pctl migrate NAME` converts one",
                legacy_names.len(),
                legacy_names.join(", ")
            ));
        }
        if unknown > 0 {
            p.info(&format!(
                "?: {unknown} upstream(s) not in the cache; `pctl outdated` fetches them"
            ));
        }
    }
    Ok(())
}
