//! `pctl uninstall`: remove an installation's directory and its entry, in one commit.
use crate::error::user;
use crate::git::{Mode, Workspace};
use crate::gitops::{self, Overlay};
use anyhow::{Result, bail};

pub struct UninstallOptions {
    pub name: String,
    pub repo: Option<String>,
    pub mode: Mode,
    pub message: Option<String>,
}

pub fn run(opts: UninstallOptions) -> Result<()> {
    let ws = Workspace::open(opts.repo.as_deref())?;
    let message = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("pctl: uninstall {}", opts.name));
    let outcome = ws.apply(&message, opts.mode, |view| {
        gitops::load(view, &ws.describe())?;
        let all = crate::ops::installations(view)?;
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
    })?;
    crate::ops::report(&outcome, opts.mode, &format!("uninstall {}", opts.name));
    Ok(())
}
