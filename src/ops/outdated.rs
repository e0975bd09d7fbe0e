//! `pctl outdated`: every installation with its current version, the newest version
//! its constraint allows and the newest overall, and how many installations of each
//! profile are behind.
use crate::ops::Context;
use crate::printer::{Format, Printer};
use crate::tracking::{self, UpdateInfo, UpdateState};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;

/// `--repo`, `--offline` and `--cluster`/`--all-clusters` come from the context.
pub struct OutdatedOptions {
    pub format: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    /// With several clusters chosen (docs/fleets.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<String>,
    name: String,
    profile: String,
    path: String,
    source: String,
    #[serde(flatten)]
    info: UpdateInfo,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    profile: String,
    installations: usize,
    behind: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    installations: Vec<Row>,
    summary: Vec<Summary>,
}

pub fn run(ctx: &Context, opts: OutdatedOptions) -> Result<()> {
    let ws = ctx.workspace()?;
    let view = ctx.view()?;
    let upstreams = ctx.upstreams()?;
    let p = ctx.printer();
    let mut rows: Vec<Row> = Vec::new();
    let (config, found) = crate::ops::cluster::chosen(view, &ws.describe(), ctx.clusters(), p)?;
    let columns = crate::ops::fleet_view::columns(&config, ctx.clusters(), &ws.describe())?;
    let several = columns.len() > 1;
    let mut cells = Vec::new();
    for (cluster, dir, inst) in found {
        let info = tracking::update_info(upstreams, &inst.spec.source);
        if let Some(e) = &info.error {
            p.warn(&format!(
                "{}: cannot read {}: {e}",
                inst.metadata.name, inst.spec.source.url
            ));
        }
        if several {
            let files = tracking::current_files(ws, view, &dir)?;
            cells.push((
                cluster.clone().unwrap_or_default(),
                inst.metadata.name.clone(),
                crate::ops::fleet_view::Cell::new(
                    info.current.clone(),
                    &info,
                    tracking::drift(&inst, &files),
                    inst.spec.profile.clone(),
                    dir.clone(),
                ),
            ));
        }
        rows.push(Row {
            cluster,
            name: inst.metadata.name.clone(),
            profile: inst.spec.profile.clone(),
            path: dir,
            source: inst
                .spec
                .source
                .catalog
                .clone()
                .unwrap_or_else(|| inst.spec.source.display()),
            info,
        });
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let mut by_profile: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &rows {
        let e = by_profile.entry(r.profile.clone()).or_default();
        e.0 += 1;
        if r.info.behind() {
            e.1 += 1;
        }
    }
    let report = Report {
        summary: by_profile
            .into_iter()
            .map(|(profile, (installations, behind))| Summary {
                profile,
                installations,
                behind,
            })
            .collect(),
        installations: rows,
    };
    if several {
        return matrix(
            p,
            crate::ops::fleet_view::Matrix::build(columns, cells),
            &report,
            opts.format,
        );
    }
    if !p.structured(opts.format, &report)? {
        if report.installations.is_empty() {
            p.info("no installations");
            return Ok(());
        }
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let table: Vec<Vec<String>> = report
            .installations
            .iter()
            .map(|r| {
                r.cluster
                    .iter()
                    .cloned()
                    .chain([
                        r.name.clone(),
                        r.profile.clone(),
                        r.info.current.clone(),
                        dash(&r.info.wanted),
                        dash(&r.info.latest),
                        r.info.constraint.clone(),
                        r.info.state.as_str().to_string(),
                    ])
                    .collect()
            })
            .collect();
        let headers = [
            "CLUSTER",
            "NAME",
            "PROFILE",
            "CURRENT",
            "WANTED",
            "LATEST",
            "CONSTRAINT",
            "STATUS",
        ];
        let mut out = crate::printer::format_table(&headers[usize::from(!several)..], &table);
        out.push('\n');
        out.push_str(&summary_table(&report));
        p.data(&out);
        p.info(&behind_line(&report));
    }
    Ok(())
}

fn summary_table(report: &Report) -> String {
    let summary: Vec<Vec<String>> = report
        .summary
        .iter()
        .map(|s| {
            vec![
                s.profile.clone(),
                s.installations.to_string(),
                s.behind.to_string(),
            ]
        })
        .collect();
    crate::printer::format_table(&["PROFILE", "INSTALLATIONS", "BEHIND"], &summary)
}

fn behind_line(report: &Report) -> String {
    let behind: usize = report.summary.iter().map(|s| s.behind).sum();
    let unknown = report
        .installations
        .iter()
        .filter(|r| r.info.state == UpdateState::Unknown)
        .count();
    format!(
        "{behind} of {} installation(s) behind the newest version their constraint allows{}",
        report.installations.len(),
        if unknown > 0 {
            format!("; {unknown} could not be checked")
        } else {
            String::new()
        }
    )
}

/// Several clusters: the fleet view (docs/fleets.md#the-fleet-view) and the summary
/// per profile.
fn matrix(
    p: &Printer,
    m: crate::ops::fleet_view::Matrix,
    report: &Report,
    format: Format,
) -> Result<()> {
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        matrix: &'a crate::ops::fleet_view::Matrix,
        summary: &'a [Summary],
    }
    let out = Out {
        matrix: &m,
        summary: &report.summary,
    };
    if !p.structured(format, &out)? {
        if m.installations.is_empty() {
            p.info("no installations");
            return Ok(());
        }
        p.data(&format!("{}\n{}", m.table(), summary_table(report)));
        p.info(crate::ops::fleet_view::LEGEND);
        p.info(&behind_line(report));
    }
    Ok(())
}
