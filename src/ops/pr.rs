//! `--create-pr` for the writing commands (install, uninstall, upgrade, sync): detect
//! the forge and check its token, commit the change on `pctl/<verb>-<NAME>-<version>`
//! on top of the remote's base branch, force-push it, and open or update the pull
//! request with a Markdown body (changelog, diff summary, conflicts).
use crate::error::user;
use crate::forge::{self, PrOutcome};
use crate::git::{BranchOutcome, Changes, FileChange, TreeView, Workspace};
use crate::printer::Printer;
use anyhow::bail;

/// Where the branch goes and what the pull request targets.
#[derive(Debug, Clone)]
pub struct PrOptions {
    /// The remote of a local GitOps repository (`--remote`, default `origin`); ignored
    /// for `--repo URL`, which pushes to that URL.
    pub remote: String,
    /// The branch the pull request targets (`--pr-base`); default: the remote's
    /// default branch.
    pub base: Option<String>,
}

impl Default for PrOptions {
    fn default() -> Self {
        PrOptions {
            remote: "origin".into(),
            base: None,
        }
    }
}

/// What the pull request is about.
#[derive(Debug, Clone, Default)]
pub struct PrRequest {
    /// `install`, `uninstall`, `upgrade`, `sync`: the branch is
    /// `pctl/<verb>-<name>-<version>`.
    pub verb: String,
    /// The installation name.
    pub name: String,
    /// The version the change brings (or removes).
    pub version: String,
    /// Title of the pull request, also the commit message.
    pub title: String,
    /// Changelog text (annotated tag messages) for the body's Changelog section.
    pub changelog: Option<String>,
    /// Paths left with conflicts, listed in the body's Conflicts section.
    pub conflicts: Vec<String>,
    /// What changes in the cluster (markdown from `ops::incluster`), when known.
    pub in_cluster: Option<String>,
    /// Markdown sections put before the changelog (promote: versions and values).
    pub summary: Option<String>,
}

/// The name a pull request gives an installation: `CLUSTER.NAME` in a fleet (one
/// installation name may be in several clusters, each with its own branch; neither
/// holds a dot, so the pair is unambiguous), else NAME.
pub fn scoped_name(cluster: Option<&str>, name: &str) -> String {
    match cluster {
        Some(c) => format!("{c}.{name}"),
        None => name.to_string(),
    }
}

/// Rows of the file table in the body; the rest are counted.
const MAX_ROWS: usize = 100;

/// The branch for a request: `pctl/<verb>-<name>-<version>` with every character
/// that has no place in a branch name replaced by `-`.
pub fn branch_name(verb: &str, name: &str, version: &str) -> String {
    let raw = format!("{verb}-{name}-{version}");
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("..") {
        s = s.replace("..", ".");
    }
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let mut s = s.trim_matches(['.', '-']).to_string();
    while let Some(t) = s.strip_suffix(".lock") {
        s = t.trim_end_matches(['.', '-']).to_string();
    }
    if s.is_empty() {
        s = "change".into();
    }
    format!("pctl/{s}")
}

/// Commit the change `build` makes (from a view of the base branch) on the request's
/// branch, push it and open or update its pull request. The forge and its token are
/// checked before anything is pushed. Prints the pull request's URL on stdout.
pub fn open(
    ws: &Workspace,
    opts: &PrOptions,
    req: &PrRequest,
    build: impl FnMut(&TreeView) -> anyhow::Result<Changes>,
    p: &Printer,
) -> anyhow::Result<PrOutcome> {
    let remote_url = ws.remote_url(&opts.remote)?;
    let config = crate::gitops::load(&ws.view()?, &ws.describe())?;
    let target = forge::detect(
        &remote_url,
        &forge::Settings::from_env(config.forge.as_ref()),
    )?;
    let forge = target.connect()?;
    let kind = forge.kind();
    let branch = branch_name(&req.verb, &req.name, &req.version);
    let shown = crate::git::redact_url(&remote_url);

    let outcome = ws.apply_on_branch(
        &opts.remote,
        opts.base.as_deref(),
        &branch,
        &req.title,
        build,
    )?;
    crate::ops::print_notices(p, &outcome.notices);
    let Some(commit) = outcome.commit else {
        bail!(user(
            format!(
                "{} {}: nothing to change on {} of {shown}; no {} was opened",
                req.verb,
                req.name,
                outcome.base_branch,
                kind.noun()
            ),
            format!(
                "{} already has it; choose another --pr-base to compare with",
                outcome.base_branch
            ),
        ));
    };
    p.info(&format!(
        "pushed {branch} ({}, {} file(s)) on top of {} to {shown}",
        &commit.to_string()[..12],
        outcome.changed,
        outcome.base_branch
    ));
    let body = body(req, &outcome);
    let pr = forge.ensure_pull_request(&branch, &outcome.base_branch, &req.title, &body)?;
    p.data(&pr.url);
    let sign = if kind == forge::Kind::GitLab {
        '!'
    } else {
        '#'
    };
    p.success(&format!(
        "{} {} {sign}{} ({branch} into {}): {}",
        if pr.created { "created" } else { "updated" },
        kind.noun(),
        pr.number,
        outcome.base_branch,
        pr.url
    ));
    Ok(pr)
}

/// The pull request's Markdown body.
pub fn body(req: &PrRequest, outcome: &BranchOutcome) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "`pctl {}` of **{}** ({}).\n\n",
        req.verb,
        req.name,
        if req.version.is_empty() {
            "no version"
        } else {
            &req.version
        }
    ));
    if let Some(text) = req.summary.as_deref().filter(|t| !t.trim().is_empty()) {
        out.push_str(text.trim_end());
        out.push_str("\n\n");
    }
    if let Some(log) = req
        .changelog
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        out.push_str("## Changelog\n\n");
        out.push_str(log);
        out.push_str("\n\n");
    }
    out.push_str("## Changes\n\n");
    let count = |k: FileChange| outcome.stats.iter().filter(|s| s.change == k).count();
    let plus: usize = outcome.stats.iter().map(|s| s.added).sum();
    let minus: usize = outcome.stats.iter().map(|s| s.removed).sum();
    out.push_str(&format!(
        "{} file(s) on `{}` ({}): {} added, {} changed, {} removed; +{plus} −{minus} lines.\n\n",
        outcome.stats.len(),
        outcome.base_branch,
        &outcome.base_commit.to_string()[..12],
        count(FileChange::Added),
        count(FileChange::Modified),
        count(FileChange::Removed),
    ));
    out.push_str("| file | change | + | − |\n| --- | --- | ---: | ---: |\n");
    for s in outcome.stats.iter().take(MAX_ROWS) {
        let what = match s.change {
            FileChange::Added => "added",
            FileChange::Modified => "changed",
            FileChange::Removed => "removed",
        };
        let (a, r) = if s.binary {
            ("binary".to_string(), "binary".to_string())
        } else {
            (s.added.to_string(), s.removed.to_string())
        };
        out.push_str(&format!(
            "| `{}` | {what} | {a} | {r} |\n",
            s.path.replace('|', "\\|")
        ));
    }
    if outcome.stats.len() > MAX_ROWS {
        out.push_str(&format!(
            "\n… and {} more file(s).\n",
            outcome.stats.len() - MAX_ROWS
        ));
    }
    out.push('\n');
    if let Some(text) = &req.in_cluster {
        out.push_str("## In the cluster\n\nThe objects each HelmRelease's chart renders (`helm template`), before and after this change:\n\n");
        out.push_str(text);
        out.push('\n');
    }
    if !req.conflicts.is_empty() {
        out.push_str("## Conflicts\n\nThese files hold conflict markers; resolve them on this branch before merging:\n\n");
        for c in &req.conflicts {
            out.push_str(&format!("- `{c}`\n"));
        }
        out.push('\n');
    }
    out.push_str("---\nOpened by pctl; running the same command again updates this branch and pull request.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::FileStat;

    #[test]
    fn branch_names_are_valid_refs() {
        assert_eq!(
            branch_name("install", "ingress", "1.1.0"),
            "pctl/install-ingress-1.1.0"
        );
        assert_eq!(
            branch_name("upgrade", "web", "feature/x y~1^2:..lock"),
            "pctl/upgrade-web-feature-x-y-1-2"
        );
        assert_eq!(branch_name("sync", "a", ".lock"), "pctl/sync-a");
        assert_eq!(
            branch_name("upgrade", &scoped_name(Some("staging"), "web"), "1.2.0"),
            "pctl/upgrade-staging.web-1.2.0"
        );
        assert_eq!(scoped_name(None, "web"), "web");
        for b in [
            branch_name("install", "x", "1.0.0+build.1"),
            branch_name("install", "x", "@{-1}"),
            branch_name("install", "x", "../../etc"),
        ] {
            assert!(
                git2::Reference::is_valid_name(&format!("refs/heads/{b}")),
                "{b}"
            );
        }
    }

    #[test]
    fn body_has_changelog_summary_and_conflicts() {
        let outcome = BranchOutcome {
            commit: None,
            base_branch: "main".into(),
            base_commit: git2::Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap(),
            diff: String::new(),
            pushed: true,
            notices: Vec::new(),
            changed: 2,
            stats: vec![
                FileStat {
                    path: "a/new.yaml".into(),
                    change: FileChange::Added,
                    added: 10,
                    removed: 0,
                    binary: false,
                },
                FileStat {
                    path: "a/kustomization.yaml".into(),
                    change: FileChange::Modified,
                    added: 1,
                    removed: 2,
                    binary: false,
                },
            ],
        };
        let req = PrRequest {
            verb: "upgrade".into(),
            name: "web".into(),
            version: "1.1.0".into(),
            title: "t".into(),
            changelog: Some("web 1.1.0\n\nThree replicas.\n".into()),
            conflicts: vec!["a/values.yaml".into()],
            in_cluster: None,
            summary: Some("## Promotion\n\nfrom staging\n".into()),
        };
        let b = body(&req, &outcome);
        assert!(
            b.contains("(1.1.0).\n\n## Promotion\n\nfrom staging\n\n## Changelog"),
            "{b}"
        );
        assert!(
            b.contains("## Changelog\n\nweb 1.1.0\n\nThree replicas.\n"),
            "{b}"
        );
        assert!(
            b.contains(
                "2 file(s) on `main` (0123456789ab): 1 added, 1 changed, 0 removed; +11 −2 lines."
            ),
            "{b}"
        );
        assert!(b.contains("| `a/new.yaml` | added | 10 | 0 |"), "{b}");
        assert!(
            b.contains("## Conflicts") && b.contains("- `a/values.yaml`"),
            "{b}"
        );
        let plain = body(
            &PrRequest {
                changelog: None,
                conflicts: vec![],
                summary: None,
                ..req
            },
            &outcome,
        );
        assert!(
            !plain.contains("## Changelog")
                && !plain.contains("## Conflicts")
                && !plain.contains("## Promotion")
        );
    }
}
