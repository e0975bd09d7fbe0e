//! `pctl status NAME`: the files of one installation added, removed or edited by hand
//! since pctl wrote them, and whether an update exists.
use crate::error::user;
use crate::ops::Context;
use crate::printer::{Format, Printer};
use crate::tracking::{self, Drift, UpdateInfo, UpdateState};
use anyhow::{Result, bail};
use serde::Serialize;

pub struct StatusOptions {
    pub name: String,
    pub format: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    /// With several clusters chosen (docs/fleets.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<String>,
    name: String,
    profile: String,
    version: String,
    source: String,
    path: String,
    update: UpdateInfo,
    drift: Drift,
}

/// `--repo`, `--offline` and `--cluster`/`--all-clusters` come from the context.
pub fn run(ctx: &Context, opts: StatusOptions) -> Result<()> {
    let p = ctx.printer();
    let ws = ctx.workspace()?;
    let view = ctx.view()?;
    let (config, found) = crate::ops::cluster::chosen(view, &ws.describe(), ctx.clusters(), p)?;
    let columns = crate::ops::fleet_view::columns(&config, ctx.clusters(), &ws.describe())?;
    let several = columns.len() > 1;
    let matching: Vec<_> = found
        .iter()
        .filter(|(_, _, i)| i.metadata.name == opts.name)
        .collect();
    if matching.is_empty() {
        let names: Vec<&str> = found
            .iter()
            .map(|(_, _, i)| i.metadata.name.as_str())
            .collect();
        bail!(user(
            format!("no installation named {:?} in {}", opts.name, ws.describe()),
            crate::ops::legacy_hint(view, &opts.name).unwrap_or_else(|| if names.is_empty() {
                "`pctl list` shows installations; there are none".to_string()
            } else {
                format!("installed: {}", names.join(", "))
            }),
        ));
    }
    let upstreams = ctx.upstreams()?;
    let mut statuses = Vec::new();
    for (cluster, dir, inst) in matching {
        let files = tracking::installation_files(ws, view, dir, inst)?;
        let drift = tracking::drift(inst, &files);
        let update = tracking::update_info(upstreams, &inst.spec.source);
        statuses.push(Status {
            cluster: cluster.clone(),
            name: inst.metadata.name.clone(),
            profile: inst.spec.profile.clone(),
            version: inst.version_label(),
            source: inst
                .spec
                .source
                .catalog
                .clone()
                .unwrap_or_else(|| inst.spec.source.display()),
            path: dir.clone(),
            update,
            drift,
        });
    }
    if several {
        matrix(p, columns, &statuses, opts.format)?;
    } else if !p.structured(opts.format, &statuses[0])? {
        p.data(&statuses.iter().map(text).collect::<Vec<_>>().join("\n"));
    }
    for status in &statuses {
        if let Some(e) = &status.update.error {
            p.warn(&format!("cannot check for updates: {e}"));
        }
    }
    Ok(())
}

/// Several clusters: the fleet view (docs/fleets.md#the-fleet-view) of one name, and
/// the files changed by hand in each cluster.
fn matrix(p: &Printer, columns: Vec<String>, statuses: &[Status], format: Format) -> Result<()> {
    use crate::ops::fleet_view::{Cell, LEGEND, Matrix};
    let entries = statuses
        .iter()
        .map(|s| {
            let cell = Cell::new(
                s.version.clone(),
                &s.update,
                s.drift.clone(),
                s.profile.clone(),
                s.path.clone(),
            );
            (s.cluster.clone().unwrap_or_default(), s.name.clone(), cell)
        })
        .collect();
    let m = Matrix::build(columns, entries);
    if !p.structured(format, &m)? {
        let mut out = m.table();
        for s in statuses {
            drift_lines(&mut out, s);
        }
        p.data(&out);
        p.info(LEGEND);
    }
    Ok(())
}

fn text(s: &Status) -> String {
    let u = &s.update;
    let update = match u.state {
        UpdateState::UpdateAvailable => format!(
            "{} available (allowed by {}){}",
            u.wanted.as_deref().unwrap_or("?"),
            u.constraint,
            match &u.latest {
                Some(l) if Some(l) != u.wanted.as_ref() => format!("; newest {l}"),
                _ => String::new(),
            }
        ),
        UpdateState::NewerOutsideConstraint => format!(
            "up to date within {}; newest is {}",
            u.constraint,
            u.latest.as_deref().unwrap_or("?")
        ),
        UpdateState::UpToDate => format!("up to date ({})", u.current),
        UpdateState::NotVersioned => format!(
            "not versioned (installed from {}){}",
            u.current,
            match &u.latest {
                Some(l) => format!("; newest version {l}"),
                None => String::new(),
            }
        ),
        UpdateState::Unknown => "unknown (upstream not readable)".into(),
    };
    let cluster = s.cluster.iter().map(|c| vec!["Cluster:".into(), c.clone()]);
    let rows: Vec<Vec<String>> = cluster
        .chain([
            vec!["Profile:".into(), format!("{} {}", s.profile, s.version)],
            vec!["Source:".into(), s.source.clone()],
            vec!["Path:".into(), s.path.clone()],
            vec!["Update:".into(), update],
            vec![
                "Drift:".into(),
                if s.drift.is_empty() {
                    "none: every file is as pctl wrote it".into()
                } else {
                    format!(
                        "{} file(s) changed since pctl wrote them ({})",
                        s.drift.count(),
                        s.drift.summary()
                    )
                },
            ],
        ])
        .collect();
    let mut out = crate::printer::format_table(&["Installation:", &s.name], &rows);
    drift_lines(&mut out, s);
    out
}

/// One line per file changed by hand since pctl wrote it: `  edited   PATH`.
fn drift_lines(out: &mut String, s: &Status) {
    for (what, list) in [
        ("edited", &s.drift.modified),
        ("added", &s.drift.added),
        ("removed", &s.drift.removed),
    ] {
        for f in list {
            out.push_str(&format!("  {what:<8} {}/{f}\n", s.path));
        }
    }
}
