//! `pctl search [QUERY]`: profiles of every catalog, ranked by name, keyword and
//! description matches.
use crate::catalog::index::IndexKind;
use crate::catalog::{Catalogs, RepoScope, search, summary};
use crate::printer::Format;
use anyhow::Result;
use serde::Serialize;

pub struct SearchOptions {
    pub query: String,
    pub channel: Option<String>,
    pub format: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    catalog: String,
    profile: String,
    /// Newest version in channel stable (plus --channel); null when there is none.
    version: Option<String>,
    channel: Option<String>,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    keywords: Vec<String>,
    url: String,
    path: String,
    versions: usize,
    #[serde(skip)]
    score: u32,
}

/// `--repo` (for its catalogs) comes from the context.
pub fn run(ctx: &crate::ops::Context, opts: SearchOptions) -> Result<()> {
    let catalogs = Catalogs::load(RepoScope::from_flag(ctx.repo()))?;
    let upstreams = ctx.fetching_upstreams()?;
    let terms = search::terms(&opts.query);
    let channel = opts.channel.as_deref();
    let p = ctx.printer();
    let mut rows = Vec::new();
    for s in &catalogs.sources {
        // The compact summary, not the whole index (docs/benchmarks.md#search-the-catalog-summary).
        let idx = summary::for_source(s, upstreams)?;
        idx.warnings.iter().for_each(|w| p.warn(w));
        match idx.kind {
            IndexKind::Shipped => p.info(&format!(
                "catalog {}: using the index shipped with pctl (never scanned on this machine); `pctl catalog update {}` refreshes it",
                s.name(),
                s.name()
            )),
            IndexKind::Missing => p.warn(&format!(
                "catalog {}: no index yet; `pctl catalog update {}` scans it",
                s.name(),
                s.name()
            )),
            _ => {}
        }
        for prof in &idx.summary.profiles {
            let Some(score) = search::score_fields(
                s.name(),
                &prof.name,
                &prof.keywords,
                &prof.description,
                &terms,
            ) else {
                continue;
            };
            let newest = prof.newest(channel).map(|n| n.shown());
            rows.push(Row {
                catalog: s.name().to_string(),
                profile: prof.name.clone(),
                version: newest.map(|(v, _)| v.to_string()),
                channel: newest.map(|(_, c)| c.to_string()),
                description: prof.description.clone(),
                keywords: prof.keywords.clone(),
                url: prof
                    .url
                    .clone()
                    .or_else(|| s.url().map(str::to_string))
                    .unwrap_or_default(),
                path: prof.path.clone(),
                versions: prof.versions,
                score,
            });
        }
    }
    rows.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.profile.cmp(&b.profile))
            .then_with(|| a.catalog.cmp(&b.catalog))
    });
    if !p.structured(opts.format, &rows)? {
        if rows.is_empty() {
            p.info(&if opts.query.trim().is_empty() {
                "no profiles in any catalog".to_string()
            } else {
                format!("no profile matches {:?}", opts.query.trim())
            });
            return Ok(());
        }
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    format!("{}/{}", r.catalog, r.profile),
                    r.version.clone().unwrap_or_else(|| "-".into()),
                    r.description.clone(),
                ]
            })
            .collect();
        p.table(&["CATALOG/PROFILE", "VERSION", "DESCRIPTION"], &table);
        if rows.iter().any(|r| r.version.is_none()) {
            p.info(&format!(
                "VERSION - : no {} version; `pctl show CATALOG/PROFILE` lists every version",
                match channel {
                    Some(c) => format!("stable or {c}"),
                    None => "stable".into(),
                }
            ));
        }
    }
    Ok(())
}
