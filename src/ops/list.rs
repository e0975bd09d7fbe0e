//! `pctl list`: the installations recorded in a GitOps repository.
use crate::git::Workspace;
use crate::printer::{Format, printer};
use crate::yaml;
use anyhow::Result;
use serde::Serialize;

pub struct ListOptions {
    pub repo: Option<String>,
    pub format: Format,
}

#[derive(Serialize)]
struct Row {
    name: String,
    namespace: String,
    profile: String,
    version: String,
    source: String,
    path: String,
}

pub fn run(opts: ListOptions) -> Result<()> {
    let ws = Workspace::open(opts.repo.as_deref())?;
    let view = ws.view()?;
    let rows: Vec<Row> = crate::ops::installations(&view)?
        .into_iter()
        .map(|(dir, i)| Row {
            version: i.version_label(),
            source: i.spec.source.display(),
            name: i.metadata.name,
            namespace: i.spec.namespace,
            profile: i.spec.profile,
            path: dir,
        })
        .collect();
    let p = printer();
    match opts.format {
        Format::Json => p.data(&serde_json::to_string_pretty(&rows)?),
        Format::Yaml => p.data(&yaml::to_string(&rows)?),
        Format::Table => {
            let table: Vec<Vec<String>> = rows
                .into_iter()
                .map(|r| vec![r.name, r.namespace, r.profile, r.version, r.source, r.path])
                .collect();
            if table.is_empty() {
                p.info("no installations");
            } else {
                p.table(
                    &["NAME", "NAMESPACE", "PROFILE", "VERSION", "SOURCE", "PATH"],
                    &table,
                );
            }
        }
    }
    Ok(())
}
