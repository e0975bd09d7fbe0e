//! The commit guard (docs/check.md): every commit pctl makes is checked with `pctl check`
//! on the tree it is about to commit, and refused only for problems that the commit
//! introduces (exit 1 when they lie in the profile's own files, exit 2 when in files
//! pctl generates); a repository already broken elsewhere can still be worked on.
use super::tree::Files;
use super::{Finding, Memo, Options, Severity, run_with};
use crate::error::Bug;
use crate::git::{Changes, TreeView};
use anyhow::Result;
use std::collections::BTreeSet;

/// A finding without its line (lines move when files change).
fn sig(f: &Finding) -> (String, String) {
    (f.file.clone(), f.message.clone())
}

/// Check `view` with `changes` applied against `view` alone, from every cluster's
/// sync path (docs/fleets.md). Kustomize is never run here (fast and offline); paths
/// that need it are skipped alike before and after. Returns the warnings for the
/// caller to show (a repository already broken before the change).
pub fn guard(view: &TreeView, changes: &Changes) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    if changes.files.is_empty() {
        return Ok(warnings);
    }
    // One reading of each tree for every cluster's walk, and each path built once for
    // all of them: a fleet's clusters share their bases, and an install into all of
    // them changes every sync path.
    let after = (Files::git(view, Some(changes)), Memo::default());
    let before = std::cell::OnceCell::new();
    for path in super::sync_paths(&after.0) {
        let before = || before.get_or_init(|| (Files::git(view, None), Memo::default()));
        warnings.extend(guard_from(changes, &after, before, path)?);
    }
    Ok(warnings)
}

/// [`guard`] from one sync path (None: the config's, else clusters/default), with the
/// trees after and before the change read through `after` and `before` (each with
/// the builds made so far).
fn guard_from<'a>(
    changes: &Changes,
    after: &(Files, Memo),
    before: impl FnOnce() -> &'a (Files<'a>, Memo),
    path: Option<String>,
) -> Result<Option<String>> {
    let opts = Options {
        no_kustomize: true,
        path,
        ..Options::default()
    };
    let after = run_with(&after.0, &opts, &after.1);
    if after.summary.errors == 0 {
        return Ok(None);
    }
    let (files, memo) = before();
    let before = run_with(files, &opts, memo);
    let old: BTreeSet<(String, String)> = before.errors().map(sig).collect();
    // With paths left unbuilt (they need kustomize, which the guard never runs), an
    // object they define looks missing: references are then not held against the change.
    // Likewise when the change carries conflict markers on purpose (a pull request
    // that shows an upgrade's conflicts): those files are the user's to resolve.
    let conflicted: BTreeSet<&str> = changes
        .files
        .iter()
        .filter(|(_, v)| {
            v.as_ref().is_some_and(|b| {
                b.starts_with(b"<<<<<<< ") || b.windows(9).any(|w| w == b"\n<<<<<<< ")
            })
        })
        .map(|(k, _)| k.as_str())
        .collect();
    let partial =
        !conflicted.is_empty() || after.findings.iter().any(|f| f.message == super::NOT_BUILT);
    let new: Vec<&Finding> = after
        .errors()
        .filter(|f| !old.contains(&sig(f)))
        .filter(|f| !conflicted.contains(f.file.as_str()))
        .filter(|f| !(partial && f.message.contains("synced path")))
        .collect();
    if new.is_empty() {
        let first = before
            .errors()
            .next()
            .map(|f| format!(": {f}"))
            .unwrap_or_default();
        return Ok(Some(format!(
            "the GitOps repository was already broken before this change ({} problem{} Flux would fail on, none of them new{first}); run `pctl check`",
            before.summary.errors,
            if before.summary.errors == 1 { "" } else { "s" },
        )));
    }
    let mut msg = format!(
        "the change would break the GitOps repository as Flux applies it from {} ({} new problem{}); nothing was written:",
        after.sync_path,
        new.len(),
        if new.len() == 1 { "" } else { "s" }
    );
    for f in new.iter().take(10) {
        msg.push_str(&format!("\n  {f}"));
    }
    if new.len() > 10 {
        msg.push_str(&format!("\n  … and {} more", new.len() - 10));
    }
    let already: Vec<&Finding> = before
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    if !already.is_empty() {
        msg.push_str(&format!(
            "\nalready broken before this change ({} problem{}, not counted against it):",
            already.len(),
            if already.len() == 1 { "" } else { "s" }
        ));
        for f in already.iter().take(5) {
            msg.push_str(&format!("\n  {f}"));
        }
    }
    // A problem in a file the profile brought (copied or rendered from upstream, not
    // one pctl generates) is the profile's: the user's input, exit 1. Only problems
    // confined to pctl's own files are a bug in pctl (exit 2).
    let upstream: Vec<&&Finding> = new
        .iter()
        .filter(|f| changes.files.contains_key(&f.file) && !generated(&f.file))
        .collect();
    if let Some(first) = upstream.first() {
        return Err(crate::error::user(
            msg.replacen(
                "the change would break",
                "the profile's files would break",
                1,
            ),
            format!(
                "{} comes from the profile as its author wrote it: fix it there (or ask its maintainer to), then install again; `pctl check` shows the whole report",
                first.file
            ),
        ));
    }
    msg.push_str("\nrun `pctl check` to see the whole report; please report this if pctl wrote the broken files");
    Err(anyhow::Error::new(Bug(msg)))
}

/// Files pctl writes itself into an installation (everything else under
/// `artifacts/` was copied or rendered from the profile).
fn generated(path: &str) -> bool {
    const OWN: &[&str] = &[
        crate::render::WRAPPER_FILE,
        "kustomization.yaml",
        "helm-release.yaml",
        "helm-repository.yaml",
        "secret-values.yaml",
        "namespace.yaml",
        crate::record::FILE,
    ];
    let name = path.rsplit('/').next().unwrap_or(path);
    !path.contains("/artifacts/") || OWN.contains(&name)
}
