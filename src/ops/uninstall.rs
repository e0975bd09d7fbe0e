//! `pctl uninstall`: remove an installation's directory and its entry, in one commit.
use crate::error::user;
use crate::git::{Changes, Mode, TreeView, Workspace};
use crate::gitops::{self, Overlay};
use anyhow::{Result, bail};

pub struct UninstallOptions {
    pub name: String,
    pub repo: Option<String>,
    /// `--cluster` / `--all-clusters` (docs/fleets.md).
    pub clusters: crate::gitops::clusters::Selection,
    pub mode: Mode,
    pub message: Option<String>,
    /// `--create-pr`: commit on a branch of its own and open a pull request.
    pub pr: Option<crate::ops::pr::PrOptions>,
}

pub fn run(opts: UninstallOptions) -> Result<()> {
    let ws = Workspace::open(opts.repo.as_deref())?;
    let message = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("pctl: uninstall {}", opts.name));
    let build = |view: &TreeView| -> Result<Changes> {
        let all =
            crate::ops::cluster::one_cluster(view, &ws.describe(), &opts.clusters, "uninstall")?
                .installations;
        let Some((dir, _)) = all.iter().find(|(_, i)| i.metadata.name == opts.name) else {
            let names: Vec<&str> = all.iter().map(|(_, i)| i.metadata.name.as_str()).collect();
            bail!(user(
                format!("no installation named {:?} in {}", opts.name, ws.describe()),
                if names.is_empty() {
                    "`pctl list` shows installations; there are none".to_string()
                } else {
                    format!("installed: {}", names.join(", "))
                },
            ));
        };
        let mut o = Overlay::new(view);
        for path in view.files_below(dir)?.into_keys() {
            o.delete(&path);
        }
        let (parent, entry) = dir.rsplit_once('/').unwrap_or(("", dir.as_str()));
        gitops::unlist_entry(&mut o, parent, entry)?;
        o.changes.guard.push(dir.clone());
        Ok(o.changes)
    };
    if let Some(pr) = &opts.pr {
        // The version being removed names the branch: read it from the repository.
        let view = ws.view()?;
        let one =
            crate::ops::cluster::one_cluster(&view, &ws.describe(), &opts.clusters, "uninstall")?;
        let version = one
            .installations
            .iter()
            .find(|(_, i)| i.metadata.name == opts.name)
            .map(|(_, i)| i.version_label())
            .unwrap_or_default();
        let req = crate::ops::pr::PrRequest {
            verb: "uninstall".into(),
            name: crate::ops::pr::scoped_name(one.values_level.as_deref(), &opts.name),
            version,
            title: message.clone(),
            changelog: None,
            conflicts: Vec::new(),
            in_cluster: None,
            summary: None,
        };
        crate::ops::pr::open(&ws, pr, &req, build)?;
        return Ok(());
    }
    let outcome = ws.apply(&message, opts.mode, build)?;
    crate::ops::report(&outcome, opts.mode, &format!("uninstall {}", opts.name));
    Ok(())
}
