//! `pctl check`: walk a GitOps repository as Flux will apply it and report every
//! problem (SPEC §10).
use crate::check::{self, tree::Files};
use crate::error::user;
use crate::printer::Format;
use anyhow::{Result, bail};
use std::path::PathBuf;

/// `--repo` and `--cluster`/`--all-clusters` come from the context.
pub struct CheckOptions {
    pub path: Option<String>,
    /// `NAMESPACE/NAME` of the GitOps GitRepository.
    pub source: Option<String>,
    pub helm: bool,
    pub format: Format,
}

pub fn run(ctx: &crate::ops::Context, opts: CheckOptions) -> Result<()> {
    let source = match &opts.source {
        None => None,
        Some(s) => match s.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Some((ns.to_string(), name.to_string()))
            }
            _ => bail!(user(
                format!("--source {s:?} is not NAMESPACE/NAME"),
                "name the Flux GitRepository that syncs the repository, e.g. flux-system/flux-system",
            )),
        },
    };
    let is_url = ctx
        .repo()
        .is_some_and(|r| r.contains("://") || r.contains('@'));
    let files = if is_url {
        Files::git(ctx.view()?, None)
    } else {
        let root = match ctx.repo() {
            Some(dir) => {
                let p = PathBuf::from(dir);
                if !p.is_dir() {
                    bail!(user(
                        format!("--repo {dir}: no such directory"),
                        "pass the GitOps repository's directory or URL",
                    ));
                }
                p
            }
            None => crate::git::discover(std::path::Path::new("."))
                .map(|(root, _)| root)
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        // The texts and schema verdicts an earlier pctl write kept in the repository's
        // parse cache are read (with its trust rules); a check never writes the cache.
        if let Some((top, repo)) = crate::git::discover(&root)
            && top.canonicalize().ok() == root.canonicalize().ok()
        {
            crate::git::parsecache::attach(repo.path());
        }
        Files::disk(&root)
    };
    // (cluster shown, sync path): the clusters chosen, or the one --path / the config names.
    let targets: Vec<(Option<String>, Option<String>)> = match &opts.path {
        Some(p) => vec![(None, Some(p.clone()))],
        None => {
            let config = files
                .read(crate::gitops::CONFIG_PATH)
                .ok()
                .flatten()
                .and_then(|b| {
                    crate::yaml::from_str::<crate::gitops::Config>(
                        crate::gitops::CONFIG_PATH,
                        &String::from_utf8_lossy(&b),
                    )
                    .ok()
                })
                .unwrap_or_default();
            let desc = ctx.repo().unwrap_or("the repository");
            let chosen = crate::gitops::clusters::select(&config, ctx.clusters(), desc)?;
            if config.is_fleet() {
                let several = chosen.len() > 1;
                chosen
                    .into_iter()
                    .map(|c| (several.then_some(c.name), Some(c.sync_path)))
                    .collect()
            } else {
                vec![(None, None)]
            }
        }
    };
    let mut reports = Vec::new();
    // The clusters' walks share the paths they have in common (a fleet's bases).
    let memo = check::Memo::default();
    for (cluster, path) in targets {
        let copts = check::Options {
            path,
            source: source.clone(),
            helm: opts.helm,
            no_kustomize: false,
        };
        reports.push((cluster, check::run_with(&files, &copts, &memo)));
    }
    let several = reports.iter().any(|(c, _)| c.is_some());
    let p = ctx.printer();
    let structured = if several {
        p.structured(opts.format, &clustered(&reports))?
    } else {
        p.structured(opts.format, &reports[0].1)?
    };
    if !structured {
        let mut out = String::new();
        for (cluster, report) in &reports {
            for f in &report.findings {
                out.push_str(&f.to_string());
                out.push('\n');
            }
            if let Some(c) = cluster {
                out.push_str(&format!("cluster {c} ({}): ", report.sync_path));
            }
            out.push_str(&report.summary_line());
            out.push('\n');
        }
        p.data(&out);
    }
    let failed: Vec<&(Option<String>, check::Report)> = reports
        .iter()
        .filter(|(_, r)| r.summary.errors > 0)
        .collect();
    if !failed.is_empty() {
        let errors: usize = failed.iter().map(|(_, r)| r.summary.errors).sum();
        let from: Vec<String> = failed
            .iter()
            .map(|(c, r)| match c {
                Some(c) => format!("{} (cluster {c})", r.sync_path),
                None => r.sync_path.clone(),
            })
            .collect();
        bail!(user(
            format!(
                "check failed: {errors} problem{} Flux would fail on, from {}",
                if errors == 1 { "" } else { "s" },
                from.join(", ")
            ),
            "fix the errors listed above and run pctl check again",
        ));
    }
    Ok(())
}

/// One cluster's report, for `-o json|yaml` with several clusters.
#[derive(serde::Serialize)]
struct Clustered<'a> {
    cluster: &'a str,
    #[serde(flatten)]
    report: &'a check::Report,
}

fn clustered(reports: &[(Option<String>, check::Report)]) -> Vec<Clustered<'_>> {
    reports
        .iter()
        .map(|(c, r)| Clustered {
            cluster: c.as_deref().unwrap_or_default(),
            report: r,
        })
        .collect()
}
