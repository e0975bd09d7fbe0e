//! `pctl status NAME`: the files of one installation added, removed or edited by hand
//! since pctl wrote them, and whether an update exists.
use crate::error::user;
use crate::git::{Upstreams, Workspace};
use crate::printer::{Format, printer};
use crate::tracking::{self, Drift, UpdateInfo, UpdateState};
use crate::yaml;
use anyhow::{Result, bail};
use serde::Serialize;

pub struct StatusOptions {
    pub name: String,
    pub repo: Option<String>,
    pub offline: bool,
    pub format: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    name: String,
    profile: String,
    version: String,
    source: String,
    path: String,
    update: UpdateInfo,
    drift: Drift,
}

pub fn run(opts: StatusOptions) -> Result<()> {
    let ws = Workspace::open(opts.repo.as_deref())?;
    let view = ws.view()?;
    let all = crate::ops::installations(&view)?;
    let Some((dir, inst)) = all.iter().find(|(_, i)| i.metadata.name == opts.name) else {
        let names: Vec<&str> = all.iter().map(|(_, i)| i.metadata.name.as_str()).collect();
        bail!(user(
            format!("no installation named {:?} in {}", opts.name, ws.describe()),
            crate::ops::legacy_hint(&view, &opts.name).unwrap_or_else(|| if names.is_empty() {
                "`pctl list` shows installations; there are none".to_string()
            } else {
                format!("installed: {}", names.join(", "))
            }),
        ));
    };
    let files = tracking::current_files(&ws, &view, dir)?;
    let drift = tracking::drift(inst, &files);
    let upstreams = Upstreams::new(opts.offline)?;
    let update = tracking::update_info(&upstreams, &inst.spec.source);
    let status = Status {
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
    };
    let p = printer();
    match opts.format {
        Format::Json => p.data(&serde_json::to_string_pretty(&status)?),
        Format::Yaml => p.data(&yaml::to_string(&status)?),
        Format::Table => p.data(&text(&status)),
    }
    if let Some(e) = &status.update.error {
        p.warn(&format!("cannot check for updates: {e}"));
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
    let mut out = crate::printer::format_table(
        &["Installation:", &s.name],
        &[
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
        ],
    );
    for (what, list) in [
        ("edited", &s.drift.modified),
        ("added", &s.drift.added),
        ("removed", &s.drift.removed),
    ] {
        for f in list {
            out.push_str(&format!("  {what:<8} {}/{f}\n", s.path));
        }
    }
    out
}
