//! Operations: one module per command that does real work, each taking an options
//! struct built by its command file in `cli/`.
pub mod init;
pub mod install;
pub mod list;
pub mod render;
pub mod uninstall;

use crate::git::TreeView;
use crate::record::{self, Installation};
use anyhow::Result;

/// Every installation recorded in a view of the GitOps repository.
pub fn installations(view: &TreeView) -> Result<Vec<(String, Installation)>> {
    let mut out = Vec::new();
    for path in view.find_named(record::FILE)? {
        let Some(text) = view.read_string(&path)? else {
            continue;
        };
        let inst = Installation::from_yaml(&path, &text)?;
        let dir = path
            .trim_end_matches(record::FILE)
            .trim_end_matches('/')
            .to_string();
        out.push((dir, inst));
    }
    Ok(out)
}

/// Print the outcome of a write: the diff for a dry run, else a summary.
pub fn report(outcome: &crate::git::Outcome, mode: crate::git::Mode, what: &str) {
    let p = crate::printer::printer();
    match mode {
        crate::git::Mode::DryRun => {
            p.data(&outcome.diff);
            p.info(&format!(
                "dry run: {what} would change {} file(s); nothing was written",
                outcome.changed
            ));
        }
        _ if outcome.changed == 0 => p.info(&format!("{what}: nothing to change")),
        crate::git::Mode::NoCommit => p.success(&format!(
            "{what}: wrote {} file(s), staged, not committed",
            outcome.changed
        )),
        crate::git::Mode::Commit => {
            let c = outcome
                .commit
                .map(|c| c.to_string()[..12].to_string())
                .unwrap_or_default();
            p.success(&format!(
                "{what}: committed {c} ({} file(s))",
                outcome.changed
            ));
        }
    }
}
