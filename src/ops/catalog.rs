//! `pctl catalog add|remove|list|update`: the user's catalog sources and the indexes
//! of every source.
use crate::catalog::index::{self, IndexKind, Refresh, UpdateReport};
use crate::catalog::{self, Catalogs, Origin, RepoScope, SourceDef};
use crate::error::user;
use crate::ops::Context;
use crate::printer::Format;
use crate::source::{self, SourceSpec};
use anyhow::{Result, bail};
use serde::Serialize;

pub struct AddOptions {
    pub name: String,
    pub url: String,
    pub description: Option<String>,
    /// Add without scanning (the index is built by the next `catalog update`).
    pub no_scan: bool,
}

/// The URL to record for a catalog: a Git URL as given, a local directory as file://.
fn catalog_url(given: &str) -> Result<String> {
    match source::parse(given) {
        Ok(SourceSpec::Git {
            url,
            subdir,
            reference,
        }) => {
            if !subdir.is_empty() || reference.is_some() {
                bail!(user(
                    format!("catalog URL {given:?} names a subdirectory or a reference"),
                    "a catalog scans a whole repository: give just its URL",
                ));
            }
            Ok(url)
        }
        Ok(SourceSpec::Local { path }) => {
            let abs = std::fs::canonicalize(&path).map_err(|e| {
                user(
                    format!("catalog directory {path}: {e}"),
                    "give a Git URL or the directory of a Git repository",
                )
            })?;
            Ok(format!("file://{}", abs.display()))
        }
        _ => bail!(user(
            format!("{given:?} is not a Git repository URL"),
            "use https://, ssh://, git://, file:// or git@host:org/repo",
        )),
    }
}

pub fn add(ctx: &Context, opts: AddOptions) -> Result<()> {
    let url = catalog_url(&opts.url)?;
    let def = SourceDef {
        name: opts.name.clone(),
        url: Some(url.clone()),
        description: opts.description.clone(),
        profiles: Vec::new(),
    };
    catalog::check_def("pctl catalog add", &def)?;
    let existing = Catalogs::load(RepoScope::Cwd)?;
    let user_path = catalog::user_file()?;
    if let Some(s) = existing
        .sources
        .iter()
        .chain(existing.shadowed.iter())
        .find(|s| s.name() == opts.name && s.origin == Origin::User)
    {
        bail!(user(
            format!(
                "catalog {:?} already exists in {} ({})",
                opts.name,
                user_path.display(),
                s.url().unwrap_or("profiles listed by hand")
            ),
            format!(
                "choose another name, or `pctl catalog remove {}` first",
                opts.name
            ),
        ));
    }
    let p = ctx.printer();
    let mut report = None;
    if !opts.no_scan {
        let upstreams = ctx.fetching_upstreams()?;
        let (_, r) = index::update(&opts.name, &url, upstreams).map_err(|e| {
            user(
                format!("cannot scan {url}: {}", index::one_line(&e)),
                "check the URL and your network or credentials; --no-scan adds it without scanning",
            )
        })?;
        r.warnings.iter().for_each(|w| p.warn(w));
        report = Some(r);
    }
    let path = catalog::edit_user_file(|f| {
        f.catalogs.retain(|c| c.name != def.name);
        f.catalogs.push(def.clone());
        Ok(())
    })?;
    if let Some(s) = existing.sources.iter().find(|s| s.name() == opts.name) {
        match s.origin {
            Origin::Embedded => p.warn(&format!(
                "catalog {:?} now hides the one built into pctl",
                opts.name
            )),
            Origin::Repo => p.warn(&format!(
                "the GitOps repository's {} also defines {:?}; its definition wins there",
                catalog::REPO_FILE,
                opts.name
            )),
            Origin::User => {}
        }
    }
    match report {
        Some(r) => p.success(&format!(
            "added catalog {} ({url}) to {}: {}",
            opts.name,
            path.display(),
            summary(&r)
        )),
        None => p.success(&format!(
            "added catalog {} ({url}) to {}; not scanned yet: run `pctl catalog update {}`",
            opts.name,
            path.display(),
            opts.name
        )),
    }
    Ok(())
}

/// `read 1 tag (12 unchanged, 0 removed, 0 skipped): 3 profiles, 14 versions`
fn summary(r: &UpdateReport) -> String {
    format!(
        "read {} tag{} ({} unchanged, {} removed, {} skipped): {} profile{}, {} version{}",
        r.tags_read,
        if r.tags_read == 1 { "" } else { "s" },
        r.tags_unchanged,
        r.tags_removed,
        r.skipped.len(),
        r.profiles,
        if r.profiles == 1 { "" } else { "s" },
        r.versions,
        if r.versions == 1 { "" } else { "s" },
    )
}

pub fn remove(ctx: &Context, name: &str) -> Result<()> {
    let path = catalog::user_file()?;
    let catalogs = Catalogs::load(RepoScope::Cwd)?;
    let in_user_file = catalogs
        .sources
        .iter()
        .chain(catalogs.shadowed.iter())
        .any(|s| s.name() == name && s.origin == Origin::User);
    if in_user_file {
        catalog::edit_user_file(|f| {
            f.catalogs.retain(|c| c.name != name);
            Ok(())
        })?;
    } else {
        let other = catalogs
            .sources
            .iter()
            .chain(catalogs.shadowed.iter())
            .find(|s| s.name() == name && s.origin != Origin::User);
        bail!(match other.map(|s| s.origin) {
            Some(Origin::Embedded) => user(
                format!("catalog {name:?} is built into pctl and cannot be removed"),
                "search within another catalog with `pctl search CATALOG/`",
            ),
            Some(Origin::Repo) => user(
                format!(
                    "catalog {name:?} is defined by the GitOps repository ({})",
                    catalog::REPO_FILE
                ),
                format!(
                    "remove it from {} and commit, so the whole team sees the change",
                    catalog::REPO_FILE
                ),
            ),
            _ => user(
                format!("no catalog named {name:?} in {}", path.display()),
                "`pctl catalog list` shows the configured catalogs",
            ),
        });
    }
    ctx.printer()
        .success(&format!("removed catalog {name} from {}", path.display()));
    Ok(())
}

pub struct ListOptions {
    pub format: Format,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListRow {
    name: String,
    origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    profiles: usize,
    versions: usize,
    index: IndexKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    /// Where a shipped or hand-written index came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<String>,
    skipped: Vec<index::Skipped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    /// Hidden by a definition of the same name from a stronger origin.
    shadowed: bool,
    file: String,
}

/// `--repo` comes from the context.
pub fn list(ctx: &Context, opts: ListOptions) -> Result<()> {
    let catalogs = Catalogs::load(RepoScope::from_flag(ctx.repo()))?;
    let upstreams = ctx.cached_upstreams()?;
    let mut rows = Vec::new();
    for (s, shadowed) in catalogs
        .sources
        .iter()
        .map(|s| (s, false))
        .chain(catalogs.shadowed.iter().map(|s| (s, true)))
    {
        let idx = index::for_source(s, upstreams, Refresh::Never)?;
        rows.push(ListRow {
            name: s.name().to_string(),
            origin: s.origin,
            url: s.url().map(str::to_string),
            description: s.def.description.clone(),
            profiles: idx.index.profiles.len(),
            versions: idx.index.profiles.iter().map(|p| p.versions.len()).sum(),
            index: idx.kind,
            updated: idx.index.updated.clone(),
            provenance: idx.index.provenance.clone(),
            skipped: idx.index.skipped.clone(),
            problem: idx.problem.clone(),
            shadowed,
            file: s.file.clone(),
        });
    }
    let p = ctx.printer();
    if !p.structured(opts.format, &rows)? {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let index = match (&r.problem, r.index) {
                    (Some(_), _) => "corrupt".to_string(),
                    (None, IndexKind::Cached) => format!(
                        "scanned {}",
                        r.updated
                            .as_deref()
                            .map(|d| &d[..d.len().min(10)])
                            .unwrap_or("")
                    ),
                    (None, IndexKind::Shipped) => "shipped with pctl".into(),
                    (None, IndexKind::Manual) => "by hand".into(),
                    (None, IndexKind::Missing) => "not scanned".into(),
                };
                vec![
                    r.name.clone(),
                    if r.shadowed {
                        format!("{} (hidden)", r.origin.as_str())
                    } else {
                        r.origin.as_str().to_string()
                    },
                    r.url.clone().unwrap_or_else(|| "-".into()),
                    r.profiles.to_string(),
                    r.versions.to_string(),
                    index,
                ]
            })
            .collect();
        p.table(
            &["NAME", "ORIGIN", "URL", "PROFILES", "VERSIONS", "INDEX"],
            &table,
        );
        for r in &rows {
            if let Some(why) = &r.problem {
                p.warn(&format!(
                    "catalog {:?}: {why}; `pctl catalog update {}` rebuilds it",
                    r.name, r.name
                ));
            }
            if !r.skipped.is_empty() {
                p.info(&format!(
                    "catalog {:?}: {} tag(s) skipped: {}",
                    r.name,
                    r.skipped.len(),
                    r.skipped
                        .iter()
                        .map(|s| s.tag.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(())
}

pub struct UpdateOptions {
    pub name: Option<String>,
    /// `-o`: the summary as data too (none: the stderr lines only).
    pub format: Option<Format>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRow {
    catalog: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// ok, unreachable, or manual (nothing to scan).
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    report: Option<UpdateReport>,
}

/// `--repo` comes from the context.
pub fn update(ctx: &Context, opts: UpdateOptions) -> Result<()> {
    let catalogs = Catalogs::load(RepoScope::from_flag(ctx.repo()))?;
    let selected: Vec<&catalog::Source> = match &opts.name {
        Some(n) => vec![catalogs.get(n)?],
        None => catalogs.sources.iter().collect(),
    };
    let upstreams = ctx.fetching_upstreams()?;
    let p = ctx.printer();
    let mut rows = Vec::new();
    for s in selected {
        let Some(url) = s.url() else {
            p.info(&format!(
                "catalog {}: profiles listed by hand in {}; nothing to scan",
                s.name(),
                s.file
            ));
            rows.push(UpdateRow {
                catalog: s.name().to_string(),
                url: None,
                status: "manual",
                error: None,
                report: None,
            });
            continue;
        };
        match index::update(s.name(), url, upstreams) {
            Ok((_, r)) => {
                r.warnings.iter().for_each(|w| p.warn(w));
                p.info(&format!("catalog {}: {}", s.name(), summary(&r)));
                rows.push(UpdateRow {
                    catalog: s.name().to_string(),
                    url: Some(url.to_string()),
                    status: "ok",
                    error: None,
                    report: Some(r),
                });
            }
            Err(e) => {
                // Keep whatever index there is, and say so.
                let kept = index::for_source(s, upstreams, Refresh::Never)?;
                let what = match kept.kind {
                    IndexKind::Cached => format!(
                        "keeping its index from {}",
                        kept.index.updated.as_deref().unwrap_or("an earlier scan")
                    ),
                    IndexKind::Shipped => "keeping the index shipped with pctl".into(),
                    _ => "it has no index yet".into(),
                };
                let msg = index::one_line(&e);
                p.warn(&format!(
                    "catalog {}: cannot scan {url}: {msg}; {what}",
                    s.name()
                ));
                rows.push(UpdateRow {
                    catalog: s.name().to_string(),
                    url: Some(url.to_string()),
                    status: "unreachable",
                    error: Some(msg),
                    report: None,
                });
            }
        }
    }
    match opts.format {
        Some(format) if p.structured(format, &rows)? => {}
        Some(_) => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let n = |f: fn(&UpdateReport) -> usize| {
                        r.report
                            .as_ref()
                            .map(|x| f(x).to_string())
                            .unwrap_or_else(|| "-".into())
                    };
                    vec![
                        r.catalog.clone(),
                        r.status.to_string(),
                        n(|x| x.tags_read),
                        n(|x| x.tags_unchanged),
                        n(|x| x.skipped.len()),
                        n(|x| x.profiles),
                        n(|x| x.versions),
                    ]
                })
                .collect();
            p.table(
                &[
                    "CATALOG",
                    "STATUS",
                    "READ",
                    "UNCHANGED",
                    "SKIPPED",
                    "PROFILES",
                    "VERSIONS",
                ],
                &table,
            );
        }
        None => {}
    }
    Ok(())
}
