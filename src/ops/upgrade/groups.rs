//! `pctl upgrade --create-pr --group-by cluster|profile|installation`
//! (docs/fleets.md#upgrades-as-pull-requests): one pull request per group on a branch
//! whose name does not hold the version, kept up to date by later runs. A run with
//! nothing new writes nothing (no commit, no push, no API write); a newer version
//! rebuilds the branch on the base and updates the open pull request; a pull request
//! closed or merged for the same targets (read from the marker in its body) is not
//! opened again.
use super::*;
use crate::forge::{self, KnownPr};
use crate::ops::pr::{PrOptions, PrRequest};
use crate::printer::Format;

/// How `--group-by` gathers the upgrades into pull requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One per profile, across clusters: `pctl/upgrade/profile-<profile>`.
    Profile,
    /// One per cluster: `pctl/upgrade/cluster-<cluster>`.
    Cluster,
    /// One per installation of a cluster: `pctl/upgrade/<cluster>.<name>`.
    Installation,
}

/// What a run did to a group's pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Opened,
    Updated,
    /// The open pull request already holds these targets: nothing written.
    Unchanged,
    /// A closed or merged pull request held these targets: not opened again.
    SkippedClosed,
    Failed,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Opened => "opened",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::SkippedClosed => "skipped-closed",
            Action::Failed => "failed",
        }
    }
}

/// One installation of a group.
#[derive(Debug, Clone, Serialize)]
pub struct Upgraded {
    cluster: String,
    name: String,
    from: String,
    to: String,
}

/// One group in the summary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupReport {
    group: String,
    branch: String,
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<u64>,
    installations: Vec<Upgraded>,
    /// Files the pull request holds with conflict markers.
    conflicts: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    group_by: &'a str,
    groups: &'a [GroupReport],
    /// Pull requests opened or updated.
    changed: usize,
}

/// The group key and branch of a plan.
fn group_of(by: GroupBy, p: &Planned) -> (String, String) {
    let key = match by {
        GroupBy::Profile => format!("profile-{}", p.profile),
        GroupBy::Cluster => format!("cluster-{}", p.cluster_name),
        GroupBy::Installation => format!("{}.{}", p.cluster_name, p.name),
    };
    let branch = crate::ops::pr::branch_name("x", &key, "").replacen("pctl/x-", "pctl/upgrade/", 1);
    (key, branch)
}

/// The machine-readable line in the body: the targets, sorted.
pub fn marker(targets: &[Upgraded]) -> String {
    let mut list: Vec<String> = targets
        .iter()
        .map(|u| format!("{}/{}={}", u.cluster, u.name, u.to))
        .collect();
    list.sort();
    format!("<!-- pctl-upgrade: {} -->", list.join(","))
}

/// The marker a body holds, if any: only its last line counts, where pctl writes it.
/// The body also carries upstream changelogs, and a changelog that holds a marker of
/// its own must not make pctl skip (or take for up to date) a newer version.
pub fn marker_in(body: &str) -> Option<&str> {
    let last = body.trim_end().lines().last()?.trim();
    (last.starts_with("<!-- pctl-upgrade: ") && last.ends_with("-->")).then_some(last)
}

/// Open or update one pull request per group; prints the summary on stdout. True
/// when a pull request was opened or updated.
pub(super) fn open_all(
    ws: &Workspace,
    pr: &PrOptions,
    by: GroupBy,
    plans: Vec<Planned>,
    (offline, out): (bool, &Printer),
    format: Format,
) -> Result<bool> {
    let mut groups: BTreeMap<(String, String), Vec<Planned>> = BTreeMap::new();
    for p in plans {
        groups.entry(group_of(by, &p)).or_default().push(p);
    }
    let mut reports = Vec::new();
    let mut first_error = None;
    if !groups.is_empty() {
        // The forge and its token are checked before anything is pushed.
        let remote_url = ws.remote_url(&pr.remote)?;
        let config = crate::gitops::load(&ws.view()?, &ws.describe())?;
        let target = forge::detect(
            &remote_url,
            &forge::Settings::from_env(config.forge.as_ref()),
        )?;
        let forge = target.connect()?;
        for ((key, branch), plans) in groups {
            let installations: Vec<Upgraded> = plans
                .iter()
                .map(|p| Upgraded {
                    cluster: p.cluster_name.clone(),
                    name: p.name.clone(),
                    from: p.from.clone(),
                    to: p.to.clone(),
                })
                .collect();
            let mut report = GroupReport {
                group: key.clone(),
                branch: branch.clone(),
                action: Action::Failed,
                url: None,
                number: None,
                conflicts: plans.iter().flat_map(|p| p.conflicted()).count(),
                installations,
                error: None,
            };
            match one_group(
                ws,
                pr,
                &forge,
                &key,
                &branch,
                &plans,
                (offline, out),
                &mut report,
            ) {
                Ok(()) => {}
                Err(e) => {
                    let (top, _, _) = crate::error::describe(&e);
                    out.warn(&format!("{branch}: {top}"));
                    report.action = Action::Failed;
                    report.error = Some(top);
                    first_error.get_or_insert(e);
                }
            }
            reports.push(report);
        }
    }
    let changed = reports
        .iter()
        .filter(|r| matches!(r.action, Action::Opened | Action::Updated))
        .count();
    let summary = Summary {
        group_by: match by {
            GroupBy::Profile => "profile",
            GroupBy::Cluster => "cluster",
            GroupBy::Installation => "installation",
        },
        groups: &reports,
        changed,
    };
    let p = out;
    match format {
        // JSON or YAML: the one output-format switch (Printer::structured).
        _ if p.structured(format, &summary)? => {}
        Format::Table if !reports.is_empty() => {
            let rows: Vec<Vec<String>> = reports
                .iter()
                .map(|r| {
                    vec![
                        r.group.clone(),
                        r.branch.clone(),
                        r.action.as_str().to_string(),
                        r.url.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            p.data(&crate::printer::format_table(
                &["GROUP", "BRANCH", "ACTION", "PULL REQUEST"],
                &rows,
            ));
        }
        _ => {}
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    p.info(&format!(
        "{} group(s): {changed} pull request(s) opened or updated",
        reports.len()
    ));
    let conflicted: usize = reports.iter().map(|r| r.conflicts).sum();
    if conflicted > 0 {
        return Err(crate::error::conflict(
            format!(
                "{conflicted} file(s) in the pull requests hold conflicts, marked <<<<<<< ours / >>>>>>> theirs"
            ),
            "resolve them on the pull requests' branches before merging, or run again with --strategy ours|theirs",
        ));
    }
    Ok(changed > 0)
}

#[allow(clippy::too_many_arguments)]
fn one_group(
    ws: &Workspace,
    pr: &PrOptions,
    forge: &forge::Forge,
    key: &str,
    branch: &str,
    plans: &[Planned],
    (offline, out): (bool, &Printer),
    report: &mut GroupReport,
) -> Result<()> {
    let mark = marker(&report.installations);
    let known: Vec<KnownPr> = forge.pull_requests_from(branch)?;
    let open = known.iter().find(|k| k.open);
    if open.is_none()
        && let Some(closed) = known
            .iter()
            .find(|k| !k.open && marker_in(&k.body) == Some(mark.as_str()))
    {
        out.info(&format!(
            "{branch}: {} {} was closed or merged with these versions; not opened again (a newer version opens a new one)",
            forge.kind().noun(),
            closed.url
        ));
        report.action = Action::SkippedClosed;
        report.url = Some(closed.url.clone());
        report.number = Some(closed.number);
        return Ok(());
    }
    let mut changes = Changes::default();
    for p in plans {
        changes
            .files
            .extend(p.files.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    changes.guard = plans.iter().map(|p| p.dir.clone()).collect();
    let title = match plans {
        [one] => format!("pctl: upgrade {}", one.describe()),
        _ => {
            let what = key.replacen('-', " ", 1);
            format!("pctl: upgrade {} installations ({what})", plans.len())
        }
    };
    let mut message = format!("{title}\n\n");
    for p in plans {
        message.push_str(&format!("- {}\n", p.describe()));
    }
    let outcome =
        ws.apply_on_branch_unless_same(&pr.remote, pr.base.as_deref(), branch, &message, |view| {
            same_on_base(view, plans)?;
            Ok(changes.clone())
        })?;
    crate::ops::print_notices(out, &outcome.notices);
    if outcome.commit.is_none() {
        out.info(&format!(
            "{branch}: {} already holds these versions; nothing to open",
            outcome.base_branch
        ));
        report.action = Action::Unchanged;
        return Ok(());
    }
    if let Some(o) = open
        && !outcome.pushed
        && marker_in(&o.body) == Some(mark.as_str())
    {
        out.info(&format!(
            "{branch}: {} {} already holds these versions; left as it is",
            forge.kind().noun(),
            o.url
        ));
        report.action = Action::Unchanged;
        report.url = Some(o.url.clone());
        report.number = Some(o.number);
        return Ok(());
    }
    if outcome.pushed {
        out.info(&format!(
            "pushed {branch} ({} file(s)) on top of {}",
            outcome.changed, outcome.base_branch
        ));
    }
    let changelog: Vec<String> = plans
        .iter()
        .flat_map(|p| p.changelog.iter())
        .map(|(tag, text)| format!("### {tag}\n\n{text}"))
        .collect();
    let conflicted: Vec<&FileMerge> = plans.iter().flat_map(|p| p.conflicted()).collect();
    list_conflicts(&conflicted, out);
    let req = PrRequest {
        summary: None,
        verb: "upgrade".into(),
        name: key.to_string(),
        version: plans
            .iter()
            .map(Planned::describe)
            .collect::<Vec<_>>()
            .join(", "),
        title: title.clone(),
        changelog: (!changelog.is_empty()).then(|| changelog.join("\n\n")),
        conflicts: conflicted
            .iter()
            .flat_map(|m| m.conflicts.iter().map(|c| format!("{}: {c}", m.path)))
            .collect(),
        in_cluster: crate::ops::incluster::markdown(&in_cluster(ws, plans, offline)?),
    };
    let body = format!(
        "{}\n{mark}\n",
        crate::ops::pr::body(&req, &outcome).replace(
            "running the same command again updates this branch and pull request.",
            "a scheduled `pctl upgrade --all --create-pr --group-by` updates this branch and pull request when a newer version comes; closing it skips these versions."
        )
    );
    let made = forge.ensure_pull_request(branch, &outcome.base_branch, &title, &body)?;
    let sign = if forge.kind() == forge::Kind::GitLab {
        '!'
    } else {
        '#'
    };
    out.success(&format!(
        "{} {} {sign}{} ({branch} into {}): {}",
        if made.created { "opened" } else { "updated" },
        forge.kind().noun(),
        made.number,
        outcome.base_branch,
        made.url
    ));
    report.action = if made.created {
        Action::Opened
    } else {
        Action::Updated
    };
    report.url = Some(made.url);
    report.number = Some(made.number);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_sorted_and_found_again() {
        let up = |c: &str, n: &str, to: &str| Upgraded {
            cluster: c.into(),
            name: n.into(),
            from: "1.0.0".into(),
            to: to.into(),
        };
        let m = marker(&[
            up("staging", "web", "1.1.0"),
            up("production", "web", "1.1.0"),
        ]);
        assert_eq!(
            m,
            "<!-- pctl-upgrade: production/web=1.1.0,staging/web=1.1.0 -->"
        );
        let body = format!("text\n\n---\nfooter\n{m}\n");
        assert_eq!(marker_in(&body), Some(m.as_str()));
        assert_eq!(marker_in("no marker"), None);
        // A marker inside the body (an upstream changelog) is not pctl's.
        let forged = format!(
            "## Changelog\n\n{}\n\nmore\n",
            marker(&[up("production", "web", "9.9.9")])
        );
        assert_eq!(marker_in(&forged), None);
        assert_eq!(marker_in(&format!("{forged}{m}\n")), Some(m.as_str()));
        assert_ne!(
            marker(&[up("staging", "web", "1.2.0")]),
            marker(&[up("staging", "web", "1.1.0")])
        );
    }

    #[test]
    fn branches_hold_the_group_not_the_version() {
        assert_eq!(
            crate::ops::pr::branch_name("x", "cluster-staging", "").replacen(
                "pctl/x-",
                "pctl/upgrade/",
                1
            ),
            "pctl/upgrade/cluster-staging"
        );
        assert_eq!(
            crate::ops::pr::branch_name("x", "staging.web", "").replacen(
                "pctl/x-",
                "pctl/upgrade/",
                1
            ),
            "pctl/upgrade/staging.web"
        );
    }
}
