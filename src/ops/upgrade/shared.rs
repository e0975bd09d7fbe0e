//! What the installations of one upgrade or sync share instead of computing it once
//! each (docs/benchmarks.md#upgrade---all-work-shared-between-installations): the
//! resolution of a source at a version (every installation of `app` 1.0.0 resolves the
//! same tree, and so does every target 1.1.0), the changelog between two versions,
//! whether an installed version is behind (each asks for every tag of the upstream),
//! which installations use which fleet bases, and which cluster holds each
//! installation; one for every cluster of a command.
//! Within one command the upstream mirrors are fetched once, so the same question
//! gets the same answer; errors are not kept (the next installation asks again and
//! gets the same error, as before).
use super::release::BaseUsers;
use crate::git::{TreeView, Upstreams};
use crate::gitops::Config;
use crate::gitops::clusters::{self, Cluster};
use crate::ops::prepare::Resolve;
use crate::printer::Printer;
use crate::record::Installation;
use crate::record::SourceRecord;
use crate::resolve::{self, Resolved};
use crate::source::SourceSpec;
use anyhow::Result;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// A resolution and the warnings the resolver gave while making it (printed again
/// for every installation that uses it, as when each resolved its own).
pub(super) struct Resolution {
    pub tree: Resolved,
    pub warnings: Vec<String>,
}

/// URL, subdirectory, reference, channel and pinned commits: everything of a
/// [`SourceSpec::Git`] and [`resolve::Options`] that upgrade sets.
type ResolveKey = (
    String,
    String,
    Option<String>,
    Option<String>,
    BTreeMap<(String, String), String>,
);

/// URL, profile directory, from and to versions.
type ChangelogKey = (String, String, String, String);

/// URL, profile directory, channel, version, requested reference and whether it was
/// installed from uncommitted files: what [`crate::tracking::update_info`] reads of a
/// source record to say whether it is behind.
type BehindKey = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
);

#[derive(Default)]
pub(super) struct Shared {
    resolved: RefCell<BTreeMap<ResolveKey, Rc<Resolution>>>,
    changelogs: RefCell<BTreeMap<ChangelogKey, Vec<(String, String)>>>,
    behind: RefCell<BTreeMap<BehindKey, (bool, Option<String>)>>,
    /// Which installations use which fleet bases, in the repository planned on.
    base_users: RefCell<Option<Rc<BaseUsers>>>,
    /// The installations of the repository planned on not handed out yet, with their
    /// cluster (None: no cluster holds it), and the clusters already asked for.
    placed: RefCell<Option<Placed>>,
    served: RefCell<BTreeSet<String>>,
}

/// (cluster, directory, record) of every installation, in the order of
/// [`crate::ops::installations`].
type Placed = Vec<(Option<String>, String, Installation)>;

impl Shared {
    /// The installations of `cluster`, as [`crate::ops::cluster::installations_in`]
    /// finds them (`config` names every cluster), with its warning about each
    /// installation in no cluster; the records are read and placed in their clusters
    /// once per command, not once per cluster, and handed out (not copied) to the
    /// cluster that holds them.
    pub fn installations_in(
        &self,
        view: &TreeView,
        config: &Config,
        cluster: &Cluster,
        p: &Printer,
    ) -> Result<Vec<(String, Installation)>> {
        if !self.served.borrow_mut().insert(cluster.name.clone()) {
            // Asked again (its installations were handed out): read them again.
            let again = crate::ops::cluster::installations_in(
                view,
                config,
                std::slice::from_ref(cluster),
                p,
            )?;
            return Ok(again.into_iter().map(|(_, dir, i)| (dir, i)).collect());
        }
        if self.placed.borrow().is_none() {
            let mut placed = Vec::new();
            for (dir, inst) in crate::ops::installations(view, p)? {
                placed.push((clusters::cluster_of(view, config, &dir)?, dir, inst));
            }
            *self.placed.borrow_mut() = Some(placed);
        }
        let mut slot = self.placed.borrow_mut();
        let placed = slot.get_or_insert_with(Vec::new);
        let all = std::mem::take(placed);
        let (mut out, mut rest) = (Vec::with_capacity(all.len()), Vec::new());
        for (c, dir, inst) in all {
            match c {
                None => {
                    p.warn(&format!(
                        "installation {} at {dir} is in no cluster: no cluster's installPath or syncPath holds it",
                        inst.metadata.name
                    ));
                    rest.push((None, dir, inst));
                }
                Some(c) if c == cluster.name => out.push((dir, inst)),
                Some(c) => rest.push((Some(c), dir, inst)),
            }
        }
        *placed = rest;
        Ok(out)
    }

    /// [`BaseUsers`] of `view` (every cluster's installations plan on the same view),
    /// made once per command.
    pub fn base_users(&self, view: &TreeView) -> Result<Rc<BaseUsers>> {
        if let Some(u) = self.base_users.borrow().as_ref() {
            return Ok(u.clone());
        }
        let u = Rc::new(BaseUsers::of(view)?);
        *self.base_users.borrow_mut() = Some(u.clone());
        Ok(u)
    }

    /// Resolve `url//subdir@reference` with `channel` and `pins`, once per command.
    pub fn resolve(
        &self,
        upstreams: &Upstreams,
        (url, subdir, reference): (&str, &str, Option<String>),
        channel: Option<String>,
        pins: BTreeMap<(String, String), String>,
    ) -> Result<Rc<Resolution>> {
        let key = (
            url.to_string(),
            subdir.to_string(),
            reference.clone(),
            channel.clone(),
            pins.clone(),
        );
        if let Some(r) = self.resolved.borrow().get(&key) {
            return Ok(r.clone());
        }
        let mut r = Resolve::with(
            upstreams,
            resolve::Options {
                channel,
                pins,
                ..Default::default()
            },
        );
        let tree = r.tree(&SourceSpec::Git {
            url: url.to_string(),
            subdir: subdir.to_string(),
            reference,
        })?;
        let done = Rc::new(Resolution {
            tree,
            warnings: r.finish().warnings,
        });
        self.resolved.borrow_mut().insert(key, done.clone());
        Ok(done)
    }

    /// The changelog between two versions of one profile, computed by `make` once per
    /// command.
    pub fn changelog(
        &self,
        key: ChangelogKey,
        make: impl FnOnce() -> Result<Vec<(String, String)>>,
    ) -> Result<Vec<(String, String)>> {
        if let Some(c) = self.changelogs.borrow().get(&key) {
            return Ok(c.clone());
        }
        let c = make()?;
        self.changelogs.borrow_mut().insert(key, c.clone());
        Ok(c)
    }

    /// Whether the installed source `rec` is behind the newest version its constraint
    /// allows, and why its upstream could not be read (if so), once per distinct
    /// source and version.
    pub fn behind(&self, upstreams: &Upstreams, rec: &SourceRecord) -> (bool, Option<String>) {
        let key = (
            rec.url.clone(),
            rec.path.clone(),
            rec.channel.clone(),
            rec.version.clone(),
            rec.requested.clone(),
            rec.dirty,
        );
        if let Some(b) = self.behind.borrow().get(&key) {
            return b.clone();
        }
        let info = crate::tracking::update_info(upstreams, rec);
        let b = (info.behind(), info.error);
        self.behind.borrow_mut().insert(key, b.clone());
        b
    }
}
