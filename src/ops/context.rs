//! The ops context: what every operation shares, built once per command from the
//! shared options (`--repo`, `--offline`, the cluster selection) and the printer —
//! the GitOps workspace, its view and config, the upstream mirrors — each opened on
//! first use, so that a command pays only for what it uses.
use crate::git::{TreeView, Upstreams, Workspace};
use crate::gitops::Config;
use crate::gitops::clusters::Selection;
use crate::printer::Printer;
use anyhow::Result;
use std::cell::OnceCell;

/// The shared options of a command, as its flags gave them.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    /// `--repo DIR|URL` [default: the repository of the current directory].
    pub repo: Option<String>,
    /// `--offline`: cached upstream mirrors only.
    pub offline: bool,
    /// `--cluster` / `--all-clusters` (docs/fleets.md).
    pub clusters: Selection,
}

/// One command's context. Each part is opened on first use and kept for the rest of
/// the command: the GitOps workspace and its view (a remote one is fetched once),
/// the upstream mirrors (fetched at most once each), the printer.
pub struct Context<'p> {
    pub shared: Shared,
    printer: &'p Printer,
    workspace: OnceCell<Workspace>,
    view: OnceCell<TreeView>,
    config: OnceCell<Config>,
    /// The view of the repository of the current directory when it has
    /// `.pctl/config.yaml` (render, diff and show without `--repo`).
    nearby: OnceCell<Option<TreeView>>,
    cached: OnceCell<Upstreams>,
    fetching: OnceCell<Upstreams>,
}

/// `cell`'s value, made by `make` the first time.
fn once<T>(cell: &OnceCell<T>, make: impl FnOnce() -> Result<T>) -> Result<&T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = make()?;
    Ok(cell.get_or_init(|| v))
}

impl<'p> Context<'p> {
    pub fn new(printer: &'p Printer, shared: Shared) -> Self {
        Context {
            shared,
            printer,
            workspace: OnceCell::new(),
            view: OnceCell::new(),
            config: OnceCell::new(),
            nearby: OnceCell::new(),
            cached: OnceCell::new(),
            fetching: OnceCell::new(),
        }
    }

    /// Where the operation's output goes.
    /// The progress bars of the upstreams' fetches, as the printer shows them.
    fn bars(&self) -> crate::git::ProgressBars {
        let shown = self.printer.shows_progress();
        Box::new(move |msg| crate::printer::Printer::progress_bar(shown, msg))
    }

    pub fn printer(&self) -> &'p Printer {
        self.printer
    }

    /// `--repo`, as given.
    pub fn repo(&self) -> Option<&str> {
        self.shared.repo.as_deref()
    }

    /// `--offline`.
    pub fn offline(&self) -> bool {
        self.shared.offline
    }

    /// `--cluster` / `--all-clusters`.
    pub fn clusters(&self) -> &Selection {
        &self.shared.clusters
    }

    /// The GitOps repository (`--repo`, else the one containing the current
    /// directory), opened once.
    pub fn workspace(&self) -> Result<&Workspace> {
        once(&self.workspace, || {
            let ws = Workspace::open(self.repo());
            // An interrupted run's change, finished or undone on opening.
            crate::ops::print_kept_notices(self.printer);
            ws
        })
    }

    /// The workspace's view at the start of the command (a remote one fetched once).
    /// A write builds on the tree as it is then, inside `Workspace::apply`.
    pub fn view(&self) -> Result<&TreeView> {
        once(&self.view, || self.workspace()?.view())
    }

    /// The view's `.pctl/config.yaml`, checked (its clusters included); an error
    /// when the repository has none. A write re-reads it under the lock.
    pub fn config(&self) -> Result<&Config> {
        once(&self.config, || {
            crate::gitops::load(self.view()?, &self.workspace()?.describe())
        })
    }

    /// For commands that need no GitOps repository but use one when there is one
    /// (render, diff, show): with `--repo`, its view (an error if it cannot be
    /// opened); without, the repository of the current directory when it has
    /// `.pctl/config.yaml`, else none.
    pub fn optional_view(&self) -> Result<Option<&TreeView>> {
        if self.repo().is_some() {
            return self.view().map(Some);
        }
        Ok(once(&self.nearby, || {
            Ok(Workspace::open(None)
                .ok()
                .and_then(|ws| ws.view().ok())
                .filter(|v| v.exists(crate::gitops::CONFIG_PATH).unwrap_or(false)))
        })?
        .as_ref())
    }

    /// The upstream mirrors as `--offline` asks: cached only, or fetched when needed.
    pub fn upstreams(&self) -> Result<&Upstreams> {
        if self.offline() {
            return self.cached_upstreams();
        }
        self.fetching_upstreams()
    }

    /// The upstream mirrors, cached ones only, whatever `--offline` says (`list`
    /// never waits on the network).
    pub fn cached_upstreams(&self) -> Result<&Upstreams> {
        once(&self.cached, || {
            Ok(Upstreams::new(true)?.with_progress(self.bars()))
        })
    }

    /// The upstream mirrors, fetched when needed, whatever `--offline` says (`search`,
    /// `catalog`, a local `file://` upstream for `list`).
    pub fn fetching_upstreams(&self) -> Result<&Upstreams> {
        once(&self.fetching, || {
            Ok(Upstreams::new(false)?.with_progress(self.bars()))
        })
    }

    /// Whether the command opened any upstream mirrors (tests of what a command
    /// costs).
    #[cfg(test)]
    pub fn opened_upstreams(&self) -> bool {
        self.cached.get().is_some() || self.fetching.get().is_some()
    }
}
