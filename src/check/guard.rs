//! The commit guard (docs/check.md): every commit pctl makes is checked with `pctl check`
//! on the tree it is about to commit, and refused only for problems that the commit
//! introduces (exit 1 when they lie in the profile's own files, exit 2 when in files
//! pctl generates); a repository already broken elsewhere can still be worked on.
use super::tree::Files;
use super::{Finding, Memo, Options, Reached, Severity, run_reaching, run_with};
use crate::error::Bug;
use crate::git::{Changes, TreeView};
use anyhow::Result;
use std::collections::BTreeSet;

/// A finding without its line (lines move when files change).
fn sig(f: &Finding) -> (String, String) {
    (f.file.clone(), f.message.clone())
}

/// What the guard found, and the builds it made, to keep for the next guard once the
/// change is committed ([`Guarded::keep`]).
pub struct Guarded {
    /// A repository already broken before the change (for the caller to show).
    pub warnings: Vec<String>,
    pending: Option<super::kept::Pending>,
    /// What the walk of the tree committed reached, when it found no problem.
    reached: Option<Reached>,
}

impl Guarded {
    /// Keep the builds, and what the walk reached, for the next guard: `tree` is the
    /// raw id of the tree committed, which must be the view with the changes laid over
    /// it.
    pub fn keep(self, tree: &[u8]) {
        if let Some(p) = self.pending {
            p.keep(tree);
        }
        if let Some(r) = self.reached {
            r.keep(tree);
        }
    }
}

mod shortcut;

/// Check `view` with `changes` applied against `view` alone, from every cluster's
/// sync path (docs/fleets.md). Kustomize is never run here (fast and offline); paths
/// that need it are skipped alike before and after. The builds kept for a tree in
/// the view's recent history are reused where nothing they read changed since
/// (docs/check.md#what-the-guard-keeps).
///
/// A change that only adds an installation below a plain chain of kustomizations, on a
/// tree the guard found clean, takes the shortcut: only its directory is walked
/// ([`shortcut::shortcut`]).
pub fn guard(view: &TreeView, changes: &Changes) -> Result<Guarded> {
    if changes.files.is_empty() {
        return Ok(Guarded {
            warnings: Vec::new(),
            pending: None,
            reached: None,
        });
    }
    if let Some(reached) = shortcut::shortcut(view, changes) {
        if cfg!(debug_assertions) {
            // The whole guard accepts the change, with no warning, and reaches the same.
            // (What it reads is not kept alive by it: the release build reads none.)
            let whole = crate::git::parsecache::unmarked(|| guard_whole(view, changes))
                .unwrap_or_else(|e| {
                panic!("pctl bug: the guard's shortcut accepted a change the whole guard refuses: {e:#}")
            });
            assert!(
                whole.warnings.is_empty() && whole.reached.as_ref() == Some(&reached),
                "pctl bug: the guard's shortcut differs from the whole guard: {:?}\n{:#?}\nagainst\n{:#?}",
                whole.warnings,
                reached,
                whole.reached
            );
        }
        super::kept::keep_alive(view);
        return Ok(Guarded {
            warnings: Vec::new(),
            pending: None,
            reached: Some(reached),
        });
    }
    guard_whole(view, changes)
}

/// [`guard`] by walking the whole tree from every sync path.
fn guard_whole(view: &TreeView, changes: &Changes) -> Result<Guarded> {
    let mut warnings = Vec::new();
    let kept = super::kept::load(view);
    let reuse = |c: Option<&Changes>| kept.clone().and_then(|k| super::kept::Reuse::new(k, c));
    let record = crate::git::parsecache::attached();
    // One reading of each tree for every cluster's walk, and each path built once for
    // all of them: a fleet's clusters share their bases, and an install into all of
    // them changes every sync path.
    let after = (
        Files::git(view, Some(changes)),
        Memo::keeping(reuse(Some(changes)), record),
    );
    let before = std::cell::OnceCell::new();
    let paths = super::sync_paths(&after.0);
    // What the walk reached is kept for one cluster's tree (the shortcut's case).
    let reaching = record && paths.len() == 1;
    let mut reached = None;
    for path in paths {
        let before =
            || before.get_or_init(|| (Files::git(view, None), Memo::keeping(reuse(None), false)));
        let (warning, r) = guard_from(changes, &after, before, path, reaching)?;
        warnings.extend(warning);
        reached = r;
    }
    let pending =
        record.then(|| super::kept::Pending::new(&after.1.made(), &after.1.nested_made()));
    // The walks' builds are left to the process's exit: a write guards once (a push
    // to a remote that moved, at most five times), and freeing every kept build of a
    // large repository cost 14 M instructions (docs/benchmarks.md).
    crate::let_go((after, before));
    Ok(Guarded {
        warnings,
        pending,
        reached,
    })
}

/// [`guard`] from one sync path (None: the config's, else clusters/default), with the
/// trees after and before the change read through `after` and `before` (each with
/// the builds made so far); with `reaching`, what the walk after the change reached
/// when it found no problem.
fn guard_from<'a>(
    changes: &Changes,
    after: &(Files, Memo),
    before: impl FnOnce() -> &'a (Files<'a>, Memo),
    path: Option<String>,
    reaching: bool,
) -> Result<(Option<String>, Option<Reached>)> {
    let after_reuses = after.1.reuses();
    let opts = Options {
        no_kustomize: true,
        path,
        ..Options::default()
    };
    let fresh = || run_with(&after.0, &opts, &Memo::default());
    let (after, reached) = run_reaching(&after.0, &opts, &after.1, reaching);
    if cfg!(debug_assertions) && after_reuses {
        // What was reused must change nothing the walk finds (kept.rs).
        let fresh = fresh();
        assert!(
            fresh.findings == after.findings
                && format!("{:?}", fresh.summary) == format!("{:?}", after.summary),
            "pctl bug: the guard's walk from {} with kept builds differs from building everything:\n{:#?}\nagainst\n{:#?}",
            after.sync_path,
            after.findings,
            fresh.findings
        );
    }
    if after.summary.errors == 0 {
        return Ok((None, reached));
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
        return Ok((
            Some(format!(
                "the GitOps repository was already broken before this change ({} problem{} Flux would fail on, none of them new{first}); run `pctl check`",
                before.summary.errors,
                if before.summary.errors == 1 { "" } else { "s" },
            )),
            None,
        ));
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

#[cfg(test)]
mod tests {
    //! The guard over real trees: problems the change brings through a relation with
    //! a part of the tree it leaves alone are still found, and old problems are not
    //! held against it (the walks share builds between sync paths: see `built.rs`).
    use super::*;
    use std::path::Path;

    pub(super) fn ks(name: &str, path: &str, extra: &str) -> String {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n{extra}"
        )
    }

    pub(super) fn cm(name: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  a: b\n"
        )
    }

    const CLUSTERS: &str = "gitRepository:\n  name: flux-system\n  namespace: flux-system\nclusters:\n  c1:\n    syncPath: clusters/c1\n    installPath: clusters/c1/profiles\n  c2:\n    syncPath: clusters/c2\n    installPath: clusters/c2/profiles\n";

    /// A committed repository holding `files` (with pctl's config and .sourceignore).
    pub(super) fn repo(
        dir: &Path,
        config: &str,
        files: &[(&str, String)],
    ) -> crate::git::Workspace {
        let mut all = vec![
            (".pctl/config.yaml", config.to_string()),
            (".sourceignore", ".pctl/\n".to_string()),
        ];
        all.extend(files.iter().cloned());
        for (rel, text) in all {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let git = |args: &[&str]| git_in(dir, args);
        git(&["init", "-q", "-b", "main"]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "base"]);
        crate::git::Workspace::open(Some(&dir.display().to_string())).unwrap()
    }

    pub(super) fn guarded(
        ws: &crate::git::Workspace,
        change: &[(&str, Option<String>)],
    ) -> Result<Vec<String>> {
        let mut c = Changes::default();
        for (p, v) in change {
            c.files
                .insert(p.to_string(), v.as_ref().map(|s| s.as_bytes().to_vec()));
        }
        guard(&ws.view().unwrap(), &c).map(|g| g.warnings)
    }

    pub(super) fn refused(r: Result<Vec<String>>, wanted: &[&str]) -> String {
        let msg = format!("{:#}", r.expect_err("the change is refused"));
        for w in wanted {
            assert!(msg.contains(w), "{w:?} not in:\n{msg}");
        }
        msg
    }

    const CONFIG: &str = "syncPath: clusters/default\n";

    #[test]
    fn a_new_object_duplicating_one_elsewhere_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = repo(
            tmp.path(),
            CONFIG,
            &[
                ("clusters/default/a.yaml", ks("a", "./apps/a", "")),
                ("apps/a/cm.yaml", cm("cm-x")),
            ],
        );
        assert!(
            guarded(&ws, &[("apps/a/other.yaml", Some(cm("cm-y")))])
                .unwrap()
                .is_empty()
        );
        refused(
            guarded(
                &ws,
                &[
                    ("apps/b/cm.yaml", Some(cm("cm-x"))),
                    ("clusters/default/b.yaml", Some(ks("b", "./apps/b", ""))),
                ],
            ),
            &[
                "1 new problem",
                "duplicate ConfigMap default/cm-x: also defined at apps/a/cm.yaml:1",
            ],
        );
    }

    #[test]
    fn a_dependency_closing_a_cycle_or_losing_its_target_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let deps = |on: &str| format!("  dependsOn:\n    - name: {on}\n");
        let ws = repo(
            tmp.path(),
            CONFIG,
            &[
                ("clusters/default/a.yaml", ks("a", "./apps/a", &deps("b"))),
                ("clusters/default/b.yaml", ks("b", "./apps/b", "")),
                ("apps/a/cm.yaml", cm("cm-x")),
                ("apps/b/cm.yaml", cm("cm-y")),
            ],
        );
        refused(
            guarded(
                &ws,
                &[(
                    "clusters/default/b.yaml",
                    Some(ks("b", "./apps/b", &deps("a"))),
                )],
            ),
            &["dependsOn cycle: flux-system/a -> flux-system/b -> flux-system/a"],
        );
        refused(
            guarded(&ws, &[("clusters/default/b.yaml", None)]),
            &[
                "clusters/default/a.yaml",
                "Kustomization a: dependsOn flux-system/b is not a Kustomization that any synced path defines",
            ],
        );
        // A directory whose only file goes is gone, as in Git.
        refused(
            guarded(&ws, &[("apps/b/cm.yaml", None)]),
            &["Kustomization b: path \"./apps/b\" does not exist in the repository"],
        );
        assert!(
            guarded(
                &ws,
                &[
                    ("apps/b/cm.yaml", None),
                    ("apps/b/sub/cm.yaml", Some(cm("cm-y")))
                ]
            )
            .unwrap()
            .is_empty()
        );
        // Removing what depends, not what is depended on, is fine.
        assert!(
            guarded(&ws, &[("clusters/default/a.yaml", None)])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_old_problem_is_not_held_against_the_change() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = repo(
            tmp.path(),
            CONFIG,
            &[
                ("clusters/default/a.yaml", ks("a", "./apps/a", "")),
                ("clusters/default/legacy.yaml", ks("legacy", "./gone", "")),
                ("apps/a/cm.yaml", cm("cm-x")),
            ],
        );
        let warned = guarded(&ws, &[("apps/a/other.yaml", Some(cm("cm-y")))]).unwrap();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("already broken before this change (1 problem Flux would fail on, none of them new: clusters/default/legacy.yaml:"), "{warned:?}");
        let msg = refused(
            guarded(&ws, &[("apps/a/other.yaml", Some(cm("cm-x")))]),
            &[
                "(1 new problem)",
                "apps/a/other.yaml:1: error: duplicate ConfigMap default/cm-x",
                "already broken before this change (1 problem, not counted against it)",
                "Kustomization legacy: path \"./gone\" does not exist",
            ],
        );
        assert!(!msg.contains("2 new"), "{msg}");
    }

    #[test]
    fn in_a_fleet_a_change_that_breaks_one_cluster_is_refused_from_that_cluster() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = repo(
            tmp.path(),
            CLUSTERS,
            &[
                (
                    "clusters/c1/common.yaml",
                    ks("common", "./bases/common", ""),
                ),
                (
                    "clusters/c2/common.yaml",
                    ks("common", "./bases/common", ""),
                ),
                ("bases/common/cm.yaml", cm("cm-x")),
            ],
        );
        // The same object in a path only c2 reaches: c1 is fine, c2 has it twice.
        let msg = refused(
            guarded(
                &ws,
                &[
                    (
                        "clusters/c2/extra.yaml",
                        Some(ks("extra", "./apps/extra", "")),
                    ),
                    ("apps/extra/cm.yaml", Some(cm("cm-x"))),
                ],
            ),
            &[
                "as Flux applies it from clusters/c2 (1 new problem)",
                "duplicate ConfigMap default/cm-x: also defined at bases/common/cm.yaml:1",
            ],
        );
        assert!(!msg.contains("clusters/c1"), "{msg}");
        // A path both reach, changed for both: each cluster's walk sees it.
        assert!(
            guarded(&ws, &[("bases/common/more.yaml", Some(cm("cm-y")))])
                .unwrap()
                .is_empty()
        );
        refused(
            guarded(
                &ws,
                &[(
                    "bases/common/more.yaml",
                    Some(format!("{}---\n{}", cm("cm-y"), cm("cm-y"))),
                )],
            ),
            &["from clusters/c1", "duplicate ConfigMap default/cm-y"],
        );
        // c2 applies the base into another namespace: its objects are its own there.
        let ws2_dir = tempfile::tempdir().unwrap();
        let ws2 = repo(
            ws2_dir.path(),
            CLUSTERS,
            &[
                (
                    "clusters/c1/common.yaml",
                    ks("common", "./bases/common", ""),
                ),
                (
                    "clusters/c2/common.yaml",
                    ks("common", "./bases/common", "  targetNamespace: other\n"),
                ),
                (
                    "bases/common/cm.yaml",
                    cm("cm-x").replace("  namespace: default\n", ""),
                ),
            ],
        );
        refused(
            guarded(
                &ws2,
                &[(
                    "clusters/c2/dup.yaml",
                    Some(cm("cm-x").replace("default", "other")),
                )],
            ),
            &["from clusters/c2", "duplicate ConfigMap other/cm-x"],
        );
        assert!(
            guarded(
                &ws2,
                &[(
                    "clusters/c1/dup.yaml",
                    Some(cm("cm-x").replace("default", "other"))
                )]
            )
            .unwrap()
            .is_empty()
        );
    }

    pub(super) fn git_in(dir: &Path, args: &[&str]) {
        crate::testutil::git(dir, args);
    }

    #[test]
    fn kept_builds_are_reused_and_commits_made_outside_pctl_are_seen() {
        use crate::git::Mode;
        let tmp = tempfile::tempdir().unwrap();
        let ws = repo(
            tmp.path(),
            CONFIG,
            &[
                ("clusters/default/a.yaml", ks("a", "./apps/a", "")),
                ("clusters/default/b.yaml", ks("b", "./apps/b", "")),
                ("apps/a/cm.yaml", cm("cm-x")),
                ("apps/b/cm.yaml", cm("cm-y")),
            ],
        );
        crate::git::parsecache::attach_for_tests(&tmp.path().join(".git"), (7, 9));
        let change = |files: &[(&str, String)]| {
            let mut c = Changes::default();
            for (p, t) in files {
                c.files.insert(p.to_string(), Some(t.as_bytes().to_vec()));
            }
            c
        };
        // A commit pctl makes keeps the guard's builds for its tree.
        ws.apply("first", Mode::Commit, |_| {
            Ok(change(&[("apps/a/more.yaml", cm("cm-z"))]))
        })
        .unwrap();
        crate::git::parsecache::save();
        assert_eq!(crate::git::parsecache::recent().len(), 1);
        // Plain Git changes apps/b: its kept build no longer holds.
        std::fs::write(tmp.path().join("apps/b/cm.yaml"), cm("cm-w")).unwrap();
        git_in(tmp.path(), &["commit", "-qam", "outside pctl"]);
        let reused = super::super::kept::reused();
        refused(
            guarded(
                &ws,
                &[
                    ("apps/c/cm.yaml", Some(cm("cm-w"))),
                    ("clusters/default/c.yaml", Some(ks("c", "./apps/c", ""))),
                ],
            ),
            &["duplicate ConfigMap default/cm-w: also defined at apps/b/cm.yaml:1"],
        );
        assert!(
            super::super::kept::reused() > reused,
            "apps/a was built for the kept tree, and taken from it"
        );
        // Back before pctl's commit (not in HEAD's history any more): the kept tree is
        // still found, and what differs from it is built again.
        git_in(tmp.path(), &["reset", "-q", "--hard", "HEAD~2"]);
        let reused = super::super::kept::reused();
        refused(
            guarded(
                &ws,
                &[
                    ("apps/d/cm.yaml", Some(cm("cm-y"))),
                    ("clusters/default/d.yaml", Some(ks("d", "./apps/d", ""))),
                ],
            ),
            &["duplicate ConfigMap default/cm-y: also defined at apps/b/cm.yaml:1"],
        );
        assert!(
            guarded(
                &ws,
                &[
                    ("apps/d/cm.yaml", Some(cm("cm-z"))),
                    ("clusters/default/d.yaml", Some(ks("d", "./apps/d", "")))
                ]
            )
            .unwrap()
            .is_empty(),
            "cm-z went with the reset: no duplicate"
        );
        assert!(super::super::kept::reused() > reused);
        // A damaged list of kept trees is ignored.
        let list = tmp.path().join(".git/pctl/kept-trees");
        assert_eq!(crate::git::parsecache::recent().len(), 1);
        std::fs::write(&list, b"junk").unwrap();
        assert!(crate::git::parsecache::recent().is_empty());
        // Nor is one that is a link, even to a list of ids.
        #[cfg(unix)]
        {
            let ids = tmp.path().join("ids");
            std::fs::write(&ids, [7u8; 20]).unwrap();
            std::fs::remove_file(&list).unwrap();
            std::os::unix::fs::symlink(&ids, &list).unwrap();
            assert!(crate::git::parsecache::recent().is_empty());
        }
    }
}
