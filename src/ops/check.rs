//! `pctl check`: walk a GitOps repository as Flux will apply it and report every
//! problem (SPEC §10).
use crate::check::{self, tree::Files};
use crate::error::user;
use crate::git::Workspace;
use crate::printer::{Format, printer};
use anyhow::{Result, bail};
use std::path::PathBuf;

pub struct CheckOptions {
    pub repo: Option<String>,
    pub path: Option<String>,
    /// `NAMESPACE/NAME` of the GitOps GitRepository.
    pub source: Option<String>,
    pub helm: bool,
    pub format: Format,
}

pub fn run(opts: CheckOptions) -> Result<()> {
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
    let copts = check::Options {
        path: opts.path.clone(),
        source,
        helm: opts.helm,
        no_kustomize: false,
    };
    let is_url = opts
        .repo
        .as_deref()
        .is_some_and(|r| r.contains("://") || r.contains('@'));
    let report = if is_url {
        let ws = Workspace::open(opts.repo.as_deref())?;
        let view = ws.view()?;
        check::run(&Files::git(&view, None), &copts)
    } else {
        let root = match &opts.repo {
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
        check::run(&Files::disk(&root), &copts)
    };
    let p = printer();
    match opts.format {
        Format::Table => {
            let mut out = String::new();
            for f in &report.findings {
                out.push_str(&f.to_string());
                out.push('\n');
            }
            out.push_str(&report.summary_line());
            p.data(&out);
        }
        Format::Json => p.data(&serde_json::to_string_pretty(&report)?),
        Format::Yaml => p.data(&crate::yaml::to_string(&report)?),
    }
    if report.summary.errors > 0 {
        bail!(user(
            format!(
                "check failed: {} problem{} Flux would fail on, from {}",
                report.summary.errors,
                if report.summary.errors == 1 { "" } else { "s" },
                report.sync_path
            ),
            "fix the errors listed above and run pctl check again",
        ));
    }
    Ok(())
}
