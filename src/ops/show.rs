//! `pctl show SOURCE`: a profile's description, maintainer, versions (with channel,
//! date and changelog), parameters and artifacts — from a catalog's index for
//! `CATALOG/PROFILE[@VERSION]`, or read from Git for any other SOURCE.
use crate::catalog::index::{Definition, IndexKind, ProfileEntry, VersionEntry};
use crate::catalog::{self, Catalogs, RepoScope};
use crate::error::user;
use crate::git::{Upstream, Upstreams};
use crate::ops::Context as Ctx;
use crate::printer::{Format, Printer, format_table};
use crate::source::{self, SourceSpec};
use crate::version;
use anyhow::{Context, Result, anyhow, bail};
use git2::Oid;
use serde::Serialize;

pub struct ShowOptions {
    pub source: String,
    pub channel: Option<String>,
    pub allow_dirty: bool,
    pub format: Format,
    /// Values to explain the final parameter values with (as for install).
    pub values: crate::ops::ValueOptions,
}

/// One parameter's final value and where it came from.
#[derive(Serialize)]
struct ValueRow {
    parameter: String,
    #[serde(rename = "type")]
    kind: String,
    value: String,
    source: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown {
    #[serde(skip_serializing_if = "Option::is_none")]
    catalog: Option<String>,
    profile: String,
    url: String,
    path: String,
    /// The version shown (null: a branch, a commit or a directory).
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    description: String,
    maintainer: String,
    prerequisites: Vec<String>,
    keywords: Vec<String>,
    /// Newest first.
    versions: Vec<VersionEntry>,
    /// Null when the definition of this version is not known (see `note`).
    definition: Option<Definition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// Every parameter of the tree with its final value (secrets redacted) and level;
    /// null when the profile could not be resolved (see `valuesNote`).
    values: Option<Vec<ValueRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values_note: Option<String>,
}

/// `--repo` (optional here) and `--offline` come from the context.
pub fn run(ctx: &Ctx, opts: ShowOptions) -> Result<()> {
    let p = ctx.printer();
    let spec = source::parse(&opts.source)?;
    let upstreams = ctx.upstreams()?;
    let channel = opts.channel.as_deref();
    let shown = match &spec {
        SourceSpec::Catalog {
            catalog,
            profile,
            constraint,
        } => from_catalog(
            ctx,
            &opts,
            upstreams,
            catalog,
            profile,
            constraint.as_deref(),
        )?,
        SourceSpec::Git {
            url,
            subdir,
            reference,
        } => {
            let up = upstreams.open(url)?;
            let dir = crate::gitops::norm_dir(subdir)?;
            from_git(p, &up, &dir, reference.as_deref(), channel)?
        }
        SourceSpec::Local { path } => from_dir(p, path, opts.allow_dirty)?,
    };
    let mut shown = shown;
    match explain_values(ctx, &opts, &spec, upstreams) {
        Ok(Ok(rows)) => shown.values = Some(rows),
        Ok(Err(why)) => shown.values_note = Some(why),
        Err(e) => return Err(e),
    }
    print(p, &shown, opts.format)
}

/// Final values as `install` would compute them: the value flags given, the GitOps
/// repository's value profiles and global.yaml, presets, bindings and defaults.
/// The outer error is a bad value (an error of the command); the inner one says why
/// the profile could not be resolved (shown as a note).
fn explain_values(
    ctx: &Ctx,
    opts: &ShowOptions,
    spec: &SourceSpec,
    upstreams: &Upstreams,
) -> Result<std::result::Result<Vec<ValueRow>, String>> {
    // A --repo that cannot be opened only leaves its values out here.
    let view = match ctx.repo() {
        Some(_) => ctx.view().ok(),
        None => ctx.optional_view()?,
    };
    let values = crate::ops::ValueOptions {
        cluster: crate::ops::cluster::values_cluster(view, opts.values.cluster.as_deref())?,
        ..opts.values.clone()
    };
    let inputs = crate::ops::gather_values(&values, view)?;
    // Resolution only (explain needs no rendering); its warnings were said above.
    let mut resolver = crate::ops::prepare::Resolve::with(
        upstreams,
        crate::resolve::Options {
            allow_dirty: true,
            channel: opts.channel.clone(),
            catalog_repo: ctx.shared.repo.clone(),
            ..Default::default()
        },
    );
    let resolved = match resolver.tree(spec) {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("final values not computed: {e}"))),
    };
    let name = resolved.def.name.clone();
    let rows = crate::render::explain(
        &resolved,
        &crate::render::Options {
            install_dir: format!("clusters/default/profiles/{name}"),
            name,
            namespace: "default".into(),
            git_repository: crate::gitops::Config::default().git_repository,
            inputs,
            sops_yaml: None,
            secret_refs: opts.values.secret_refs()?,
            namespaces: Default::default(),
            flux_objects: None,
        },
    )?;
    Ok(Ok(rows
        .into_iter()
        .map(|r| {
            let mut it = r.into_iter();
            ValueRow {
                parameter: it.next().unwrap_or_default(),
                kind: it.next().unwrap_or_default(),
                value: it.next().unwrap_or_default(),
                source: it.next().unwrap_or_default(),
            }
        })
        .collect()))
}

fn from_catalog(
    ctx: &Ctx,
    opts: &ShowOptions,
    upstreams: &Upstreams,
    catalog: &str,
    profile: &str,
    constraint: Option<&str>,
) -> Result<Shown> {
    let catalogs = Catalogs::load(RepoScope::from_flag(ctx.repo()))?;
    let found = catalog::locate(&catalogs, catalog, profile, upstreams)?;
    found.warnings.iter().for_each(|w| ctx.printer().warn(w));
    let source = catalogs.get(catalog)?;
    let kind = crate::catalog::summary::kind(source, upstreams)?;
    let entry = &found.entry;
    let chosen = pick(entry, constraint, opts.channel.as_deref())?;
    let mut note = None;
    let definition = chosen.and_then(|v| v.definition.clone());
    if chosen.is_some() && definition.is_none() {
        note = Some(match kind {
            IndexKind::Shipped => format!(
                "the index shipped with pctl does not know this version's profile.yaml; `pctl catalog update {catalog}` reads it, or `pctl show {}//{}@{}` reads it from Git",
                found.url,
                found.path,
                chosen.map(|v| v.tag.as_str()).unwrap_or_default()
            ),
            _ => format!(
                "profiles listed by hand carry no definition; `pctl show {}//{}` reads it from Git",
                found.url, found.path
            ),
        });
    }
    if chosen.is_none() {
        note = Some(format!(
            "no {} version; pass --channel to include another channel",
            match opts.channel.as_deref() {
                Some(c) => format!("stable or {c}"),
                None => "stable".into(),
            }
        ));
    }
    Ok(Shown {
        catalog: Some(catalog.to_string()),
        profile: format!("{catalog}/{profile}"),
        url: found.url.clone(),
        path: found.path.clone(),
        version: chosen.map(|v| v.version.clone()),
        tag: chosen.map(|v| v.tag.clone()),
        reference: None,
        channel: chosen.map(|v| v.channel.clone()),
        description: definition
            .as_ref()
            .map(|d| d.description.clone())
            .unwrap_or_else(|| entry.description.clone()),
        maintainer: definition
            .as_ref()
            .map(|d| d.maintainer.clone())
            .unwrap_or_else(|| entry.maintainer.clone()),
        prerequisites: definition
            .as_ref()
            .map(|d| d.prerequisites.clone())
            .unwrap_or_else(|| entry.prerequisites.clone()),
        keywords: definition
            .as_ref()
            .map(|d| d.keywords.clone())
            .unwrap_or_else(|| entry.keywords.clone()),
        versions: entry.versions.iter().rev().cloned().collect(),
        definition,
        note,
        values: None,
        values_note: None,
    })
}

/// The version `@VERSION` (a constraint or an exact version) or the newest one selects.
fn pick<'a>(
    entry: &'a ProfileEntry,
    constraint: Option<&str>,
    channel: Option<&str>,
) -> Result<Option<&'a VersionEntry>> {
    let Some(c) = constraint else {
        return Ok(entry.newest(channel));
    };
    if let Some(v) = entry.versions.iter().find(|v| v.tag == c) {
        return Ok(Some(v));
    }
    let parsed = version::parse_constraint(c).map_err(|e| {
        user(
            format!("invalid version {c:?}: {e}"),
            "use 1.2.3, ^1.2, ~1.2, >=1.0, <2, 1.x or latest",
        )
    })?;
    match entry.select(&parsed, channel) {
        Some(v) => Ok(Some(v)),
        None => bail!(user(
            format!(
                "{}: no {} version matches {c:?}",
                entry.name,
                match channel {
                    Some(ch) => format!("stable or {ch}"),
                    None => "stable".into(),
                }
            ),
            format!(
                "versions: {}",
                entry
                    .versions
                    .iter()
                    .rev()
                    .map(|v| format!("{} ({})", v.version, v.channel))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Every version of the profile in `dir`, newest first, with date and changelog.
fn versions_of(up: &Upstream, dir: &str) -> Result<Vec<(VersionEntry, Oid)>> {
    let mut out = Vec::new();
    for (c, commit) in crate::resolve::candidates(up, dir)?.into_iter().rev() {
        let detail = up.tag_detail(&c.tag)?;
        out.push((
            VersionEntry {
                version: c.version.to_string(),
                tag: c.tag.clone(),
                channel: c.channel.clone(),
                commit: Some(commit.to_string()),
                date: Some(crate::catalog::index::rfc3339(detail.time)),
                changelog: detail.message.map(|m| m.trim_end().to_string()),
                definition: None,
            },
            commit,
        ));
    }
    Ok(out)
}

fn definition_at(
    p: &Printer,
    up: &Upstream,
    dir: &str,
    commit: Oid,
    what: &str,
) -> Result<Definition> {
    let file = crate::gitops::join(dir, "profile.yaml");
    let bytes = up.file_at(commit, &file)?.ok_or_else(|| {
        user(
            format!("{}: {file} does not exist at {what}", up.url),
            "point at the directory that holds profile.yaml (URL//DIR)",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{}//{file}: not UTF-8", up.url))?;
    let origin = format!("{}//{file}@{what}", up.url);
    let dir_name = dir.rsplit('/').next().filter(|s| !s.is_empty());
    let (def, warnings) = crate::model::parse(&origin, &text, dir_name)?;
    for w in warnings {
        p.warn(&w);
    }
    Ok(Definition::from_model(&def))
}

fn from_git(
    p: &Printer,
    up: &Upstream,
    dir: &str,
    reference: Option<&str>,
    channel: Option<&str>,
) -> Result<Shown> {
    let versions = versions_of(up, dir)?;
    let entry = ProfileEntry {
        name: dir.rsplit('/').next().unwrap_or_default().to_string(),
        path: dir.to_string(),
        versions: versions.iter().rev().map(|(v, _)| v.clone()).collect(),
        ..Default::default()
    };
    // The version (tag) or other reference (branch, commit) to show.
    let (chosen, commit, label): (Option<VersionEntry>, Oid, String) = match reference {
        None => match entry.newest(channel) {
            Some(v) => {
                let c = commit_of(&versions, &v.tag)?;
                (Some(v.clone()), c, v.tag.clone())
            }
            None => {
                let (b, c) = up.default_branch()?;
                (None, c, b)
            }
        },
        Some(r) => {
            if let Some((v, c)) = versions.iter().find(|(v, _)| v.tag == r) {
                (Some(v.clone()), *c, r.to_string())
            } else if let Some(c) = up.branch(r) {
                (None, c, r.to_string())
            } else if version::looks_like_constraint(r) {
                let v = pick(&entry, Some(r), channel)?
                    .ok_or_else(|| anyhow!("no version matches {r:?}"))?;
                let c = commit_of(&versions, &v.tag)?;
                (Some(v.clone()), c, v.tag.clone())
            } else if let Some(c) = up.tag(r).map(|t| t.commit).or_else(|| up.commit(r)) {
                (None, c, r.to_string())
            } else {
                bail!(user(
                    format!("{}: no tag, branch, commit or version {r:?}", up.url),
                    "`pctl show URL//DIR` lists the versions",
                ));
            }
        }
    };
    let def = definition_at(p, up, dir, commit, &label)?;
    Ok(Shown {
        catalog: None,
        profile: def.name.clone(),
        url: up.url.clone(),
        path: dir.to_string(),
        version: chosen.as_ref().map(|v| v.version.clone()),
        tag: chosen.as_ref().map(|v| v.tag.clone()),
        reference: if chosen.is_none() { Some(label) } else { None },
        channel: chosen.as_ref().map(|v| v.channel.clone()),
        description: def.description.clone(),
        maintainer: def.maintainer.clone(),
        prerequisites: def.prerequisites.clone(),
        keywords: def.keywords.clone(),
        versions: versions.into_iter().map(|(v, _)| v).collect(),
        definition: Some(def),
        note: None,
        values: None,
        values_note: None,
    })
}

fn commit_of(versions: &[(VersionEntry, Oid)], tag: &str) -> Result<Oid> {
    versions
        .iter()
        .find(|(v, _)| v.tag == tag)
        .map(|(_, c)| *c)
        .ok_or_else(|| anyhow!("tag {tag} vanished"))
}

fn from_dir(p: &Printer, path: &str, allow_dirty: bool) -> Result<Shown> {
    let abs = std::fs::canonicalize(path)
        .with_context(|| format!("profile directory {path} does not exist"))
        .map_err(|e| {
            user(
                format!("{e:#}"),
                "give the directory that holds profile.yaml",
            )
        })?;
    let file = abs.join("profile.yaml");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        user(
            format!("cannot read {}: {e}", file.display()),
            "give the directory that holds profile.yaml",
        )
    })?;
    let dir_name = abs.file_name().map(|n| n.to_string_lossy().into_owned());
    let (def, warnings) =
        crate::model::parse(&file.display().to_string(), &text, dir_name.as_deref())?;
    for w in warnings {
        p.warn(&w);
    }
    let def = Definition::from_model(&def);
    let mut shown = Shown {
        catalog: None,
        profile: def.name.clone(),
        url: format!("file://{}", abs.display()),
        path: String::new(),
        version: None,
        tag: None,
        reference: Some("work tree".into()),
        channel: None,
        description: def.description.clone(),
        maintainer: def.maintainer.clone(),
        prerequisites: def.prerequisites.clone(),
        keywords: def.keywords.clone(),
        versions: Vec::new(),
        definition: Some(def),
        note: None,
        values: None,
        values_note: None,
    };
    if let Some((root, repo)) = crate::git::discover(&abs) {
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        let rel = abs
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let url = crate::git::recorded_url(&repo, &root);
        let dirty = crate::git::dirty_paths(&repo, &rel)?;
        let up = crate::git::local_upstream(&root, &url)?;
        let versions = versions_of(&up, &rel)?;
        shown.url = url;
        shown.path = rel;
        let head = crate::git::head_commit(&repo);
        if let Some((v, _)) = versions.iter().find(|(_, c)| Some(*c) == head)
            && dirty.is_empty()
        {
            shown.version = Some(v.version.clone());
            shown.tag = Some(v.tag.clone());
            shown.channel = Some(v.channel.clone());
            shown.reference = None;
        }
        if !dirty.is_empty() && !allow_dirty {
            shown.note = Some(format!(
                "the work tree has uncommitted changes ({}); shown as it is",
                dirty.join(", ")
            ));
        }
        shown.versions = versions.into_iter().map(|(v, _)| v).collect();
    }
    Ok(shown)
}

fn date(d: &Option<String>) -> String {
    d.as_deref()
        .map(|d| d.chars().take(10).collect())
        .unwrap_or_else(|| "-".into())
}

fn print(p: &Printer, s: &Shown, format: Format) -> Result<()> {
    if !p.structured(format, s)? {
        p.data(&crate::printer::printable(&render_text(s), true));
    }
    if let Some(n) = &s.note {
        p.info(&format!("note: {n}"));
    }
    if let Some(n) = &s.values_note {
        p.info(&format!("note: {n}"));
    }
    Ok(())
}

fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

fn render_text(s: &Shown) -> String {
    let mut out = String::new();
    let version = match (&s.version, &s.reference) {
        (Some(v), _) => format!(
            "{v} ({}, {})",
            s.channel.as_deref().unwrap_or("stable"),
            s.tag.as_deref().unwrap_or("")
        ),
        (None, Some(r)) => format!("- ({r})"),
        (None, None) => "-".into(),
    };
    let source = if s.path.is_empty() {
        s.url.clone()
    } else {
        format!("{}//{}", s.url, s.path)
    };
    let rows: Vec<Vec<String>> = vec![
        vec!["Version:".into(), version],
        vec!["Description:".into(), or_dash(&s.description)],
        vec!["Maintainer:".into(), or_dash(&s.maintainer)],
        vec!["Source:".into(), source],
        vec![
            "Prerequisites:".into(),
            or_dash(&s.prerequisites.join(", ")),
        ],
        vec!["Keywords:".into(), or_dash(&s.keywords.join(", "))],
    ];
    out.push_str(&format_table(&["Profile:", &s.profile], &rows));

    out.push_str("\nVersions:\n");
    if s.versions.is_empty() {
        out.push_str("  (no version tags)\n");
    } else {
        let rows: Vec<Vec<String>> = s
            .versions
            .iter()
            .map(|v| {
                vec![
                    v.version.clone(),
                    v.channel.clone(),
                    date(&v.date),
                    v.tag.clone(),
                ]
            })
            .collect();
        out.push_str(&indent(&format_table(
            &["VERSION", "CHANNEL", "DATE", "TAG"],
            &rows,
        )));
    }

    out.push_str("\nParameters:\n");
    match &s.definition {
        None => out.push_str("  (unknown for this version)\n"),
        Some(d) if d.parameters.is_empty() => out.push_str("  (none)\n"),
        Some(d) => {
            let rows: Vec<Vec<String>> = d
                .parameters
                .iter()
                .map(|p| {
                    let default = match (&p.default, p.kind.as_str()) {
                        (_, "secret") => "(secret)".to_string(),
                        (Some(v), _) => match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                        (None, _) => "-".into(),
                    };
                    let kind = if p.allowed.is_empty() {
                        p.kind.clone()
                    } else {
                        format!(
                            "{}({})",
                            p.kind,
                            p.allowed
                                .iter()
                                .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                                .collect::<Vec<_>>()
                                .join("|")
                        )
                    };
                    vec![
                        p.name.clone(),
                        kind,
                        default,
                        if p.required { "yes" } else { "no" }.into(),
                        or_dash(&p.description),
                    ]
                })
                .collect();
            out.push_str(&indent(&format_table(
                &["NAME", "TYPE", "DEFAULT", "REQUIRED", "DESCRIPTION"],
                &rows,
            )));
            if !d.presets.is_empty() {
                out.push_str(&format!("  Presets: {}\n", d.presets.join(", ")));
            }
        }
    }

    if let Some(values) = &s.values
        && !values.is_empty()
    {
        out.push_str("\nValues (final, with the level each came from):\n");
        let rows: Vec<Vec<String>> = values
            .iter()
            .map(|v| {
                vec![
                    v.parameter.clone(),
                    v.kind.clone(),
                    v.value.clone(),
                    v.source.clone(),
                ]
            })
            .collect();
        out.push_str(&indent(&format_table(
            &["PARAMETER", "TYPE", "VALUE", "SOURCE"],
            &rows,
        )));
    }

    out.push_str("\nArtifacts:\n");
    match &s.definition {
        None => out.push_str("  (unknown for this version)\n"),
        Some(d) if d.artifacts.is_empty() => out.push_str("  (none)\n"),
        Some(d) => {
            let rows: Vec<Vec<String>> = d
                .artifacts
                .iter()
                .map(|a| {
                    vec![
                        a.name.clone(),
                        a.kind.replace(' ', "-"),
                        a.source.clone(),
                        or_dash(&a.depends_on.join(",")),
                    ]
                })
                .collect();
            out.push_str(&indent(&format_table(
                &["NAME", "KIND", "SOURCE", "DEPENDS ON"],
                &rows,
            )));
        }
    }

    out.push_str("\nChangelog:\n");
    let mut any = false;
    for v in &s.versions {
        let Some(text) = v.changelog.as_deref().filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        any = true;
        out.push_str(&format!(
            "  {} ({}, {})\n",
            v.version,
            v.channel,
            date(&v.date)
        ));
        for line in text.lines() {
            if line.trim().is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    if !any {
        out.push_str("  (no annotated tag messages)\n");
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
