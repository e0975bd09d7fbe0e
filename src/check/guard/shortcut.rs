//! The commit guard's shortcut (docs/check.md#the-guards-shortcut): a change that adds
//! one directory below a plain chain of kustomizations, on a tree the guard found
//! clean, is checked by walking only that directory, against what the whole walk of
//! the tree reached ([`Reached`]).
use crate::check::chain::passes_through;
use crate::check::tree::{Files, join, within};
use crate::check::{
    Item, Memo, Options, Reached, Severity, Walk, graph, settings, sync_paths, walk,
};
use crate::git::{Changes, TreeView, parsecache};
use foldhash::{HashMap, HashMapExt as _};

/// The directory a change adds and its parent, when the change writes files only in a
/// directory that does not exist yet (its `kustomization.yaml` among them, and no other
/// kustomization file) and changes its parent's `kustomization.yaml`, which exists.
fn added(view: &TreeView, changes: &Changes) -> Option<(String, String)> {
    // The parent's kustomization.yaml is the shortest one the change writes.
    let parent_k = changes
        .files
        .keys()
        .filter(|p| *p == "kustomization.yaml" || p.ends_with("/kustomization.yaml"))
        .min_by_key(|p| p.len())?;
    let parent = parent_k
        .strip_suffix("kustomization.yaml")?
        .trim_end_matches('/');
    let inner = |p: &str| -> Option<String> {
        let rest = if parent.is_empty() {
            p
        } else {
            p.strip_prefix(parent)?.strip_prefix('/')?
        };
        let (name, _) = rest.split_once('/')?;
        Some(join(parent, name))
    };
    let dir = changes
        .files
        .keys()
        .find(|p| *p != parent_k)
        .and_then(|p| inner(p))?;
    let fits = changes.files.iter().all(|(p, content)| {
        content.is_some() && (p == parent_k || inner(p).as_deref() == Some(dir.as_str()))
    });
    let own = |name: &str| changes.files.contains_key(&join(&dir, name));
    if !fits || !own("kustomization.yaml") || own("kustomization.yml") || own("Kustomization") {
        return None;
    }
    if view.exists(&dir).ok()? || !view.exists(parent_k).ok()? {
        return None;
    }
    Some((dir, parent.to_string()))
}

/// What the tree `changes` commits on `view` reaches, when the change adds no problem
/// that the whole guard would find. None when the shortcut does not hold, or when the
/// walk of what the change adds finds a problem (the whole guard then decides, and
/// says what it found):
///
/// - the view's tree has a record: the whole guard found it clean ([`Reached`]);
/// - one cluster, checked from the same sync path and GitRepository as then;
/// - the change only adds a directory and lists it in its parent's kustomization
///   ([`added`]);
/// - exactly one directory the old walk built lies above it, applying no
///   targetNamespace, none lies in it, and each directory from there down to the
///   parent passes it through as it is ([`passes_through`]);
/// - the walk from the new directory (in that directory's namespace) reaches only
///   directories below it, no artifact, no object the old walk met, and finds no
///   error, with every reference resolved against the old walk's objects too.
///
/// Then the whole walk finds no error either: the rest of the tree builds as before;
/// an old object cannot depend on a new one (its dependsOn resolved before, and the
/// new keys are new), so a cycle lies among the new objects; and the
/// `.sourceignore` and config are unchanged. Debug builds run the whole guard as well
/// and compare.
pub(super) fn shortcut(view: &TreeView, changes: &Changes) -> Option<Reached> {
    if !parsecache::attached() {
        return None;
    }
    let old = Reached::load(&view.tree_id()?)?;
    let (dir, parent) = added(view, changes)?;
    let after = Files::git(view, Some(changes));
    if sync_paths(&after) != [None] {
        return None;
    }
    let (problems, sync_path, source) = settings(&after, &Options::default());
    if !problems.is_empty() || sync_path != old.sync_path || source != old.source {
        return None;
    }
    // One pass over the old walk's directories: those above the new one, and none in it.
    let mut above = Vec::new();
    for item in old.items() {
        if within(item.0, &dir) {
            return None;
        }
        if within(&dir, item.0) {
            above.push(item);
        }
    }
    let [(start, ns, None)] = above[..] else {
        return None;
    };
    if !within(&parent, start) {
        return None;
    }
    let below = dir.strip_prefix(start)?.trim_start_matches('/');
    let mut at = start.to_string();
    for next in below.split('/') {
        let listed = (at == parent).then_some((false, true));
        if !passes_through(view, changes, &at, next, listed)? {
            return None;
        }
        at = join(&at, next);
    }
    let memo = Memo::default();
    let mut w = Walk {
        files: &after,
        ignore: memo.ignore(&after),
        src_ns: source.0.clone(),
        src_name: source.1.clone(),
        objects: Vec::new(),
        index: HashMap::new(),
        findings: Vec::new(),
        kustomize: None,
        known: Some(&old),
    };
    let start = Item {
        path: dir.clone(),
        ns: ns.to_string(),
        who: None,
        target: None,
        artifact: None,
    };
    let walked = walk(&mut w, start, &memo, false);
    let elsewhere = walked
        .items
        .iter()
        .any(|(d, ..)| *d == dir || !within(d, &dir));
    if walked.artifacts || elsewhere {
        return None;
    }
    if w.objects.iter().any(|o| old.has(&o.kind, &o.ns, &o.name)) {
        return None;
    }
    graph::check(&mut w);
    graph::cycles(&mut w);
    if w.findings.iter().any(|f| f.severity == Severity::Error) {
        return None;
    }
    old.with(
        &walked.items,
        w.objects.iter().map(|o| (&*o.kind, &*o.ns, &*o.name)),
    )
}

#[cfg(test)]
mod tests;
