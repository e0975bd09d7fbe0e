//! The part of `pctl promote` (src/ops/promote.rs) that is upgrade's machinery: plan
//! one installation's merge toward another installation's version and values, and
//! write it as an upgrade is written (commit, dry run, conflicts, pull request).
use super::*;

/// One installation's merge toward another's version and values, ready to write.
pub struct Promotion {
    planned: Planned,
}

/// Plan the merge of `inst` (in directory `dir` of the cluster `config` and `cluster`
/// describe) toward `given`: theirs is rendered at `given`'s recorded commits (nested
/// profiles included) with `given`'s value flags and files, preset and value profiles,
/// and `inst`'s own secrets, namespace and cluster values level.
#[allow(clippy::too_many_arguments)]
pub fn plan_promotion(
    view: &TreeView,
    config: Config,
    cluster: Option<String>,
    cluster_name: &str,
    dir: &str,
    inst: &Installation,
    given: &Installation,
    strategy: Strategy,
    octx: &OpsContext,
) -> Result<Promotion> {
    let flags = ValueOptions::default();
    let upstreams = octx.upstreams()?;
    let shared = super::shared::Shared::default();
    let ctx = Ctx {
        view,
        tree: crate::ops::owners::scan(view, &config)?,
        config,
        cluster_name: cluster_name.to_string(),
        cluster,
        upstreams,
        flags: &flags,
        strategy,
        create_namespace: None,
        printer: octx.printer(),
        shared: &shared,
    };
    let src = &given.spec.source;
    let target = Target {
        reference: src.commit.clone(),
        requested: src.requested.clone(),
        pinned: true,
        channel: src.channel.clone(),
        given: Some(given.clone()),
    };
    Ok(Promotion {
        planned: plan(&ctx, dir, inst, &target)?,
    })
}

impl Promotion {
    /// The version label before and after.
    pub fn versions(&self) -> (&str, &str) {
        (&self.planned.from, &self.planned.to)
    }

    /// How many files (the record included) the merge changes.
    pub fn changed(&self) -> usize {
        self.planned.changed
    }

    /// Annotated tag messages between the two versions, oldest first.
    pub fn changelog(&self) -> &[(String, String)] {
        &self.planned.changelog
    }

    /// The record the merge writes.
    pub fn new_record(&self) -> Result<Option<Installation>> {
        let path = gitops::join(&self.planned.dir, record::FILE);
        match self.planned.files.get(&path) {
            Some(Some(bytes)) => Ok(Some(Installation::from_yaml(
                &path,
                &String::from_utf8_lossy(bytes),
            )?)),
            _ => Ok(None),
        }
    }

    /// Commit (or dry-run, or stop on conflicts) as `pctl upgrade` does; a stopped
    /// merge is finished by `pctl upgrade --continue` or `--abort`.
    pub fn write(&self, octx: &OpsContext, message: &str, mode: Mode) -> Result<()> {
        finish(
            (octx.workspace()?, octx.printer()),
            "promote",
            message,
            (mode, octx.offline()),
            (None, None),
            std::slice::from_ref(&self.planned),
        )
    }

    /// `--create-pr`: the merge on a branch of its own with `summary` (Markdown)
    /// before the changelog in the body; conflicts are committed with their markers
    /// and listed (exit 3), as upgrade's pull requests do.
    pub fn pull_request(
        &self,
        octx: &OpsContext,
        pr: &crate::ops::pr::PrOptions,
        message: &str,
        summary: String,
    ) -> Result<()> {
        let (ws, out, offline) = (octx.workspace()?, octx.printer(), octx.offline());
        let p = &self.planned;
        let plans = std::slice::from_ref(p);
        let in_cluster = crate::ops::incluster::markdown(&in_cluster(ws, plans, offline)?);
        let changes = Changes {
            files: p.files.clone(),
            guard: vec![p.dir.clone()],
            ..Default::default()
        };
        let conflicted: Vec<&FileMerge> = p.conflicted().collect();
        let mut conflicts = Vec::new();
        for m in &conflicted {
            for c in &m.conflicts {
                conflicts.push(format!("{}: {c}", m.path));
            }
        }
        list_conflicts(&conflicted, out);
        let changelog: Vec<String> = p
            .changelog
            .iter()
            .map(|(tag, text)| format!("### {tag}\n\n{text}"))
            .collect();
        let req = crate::ops::pr::PrRequest {
            verb: "promote".into(),
            name: crate::ops::pr::scoped_name(p.cluster.as_deref(), &p.name),
            version: p.to.clone(),
            title: message.lines().next().unwrap_or(message).to_string(),
            changelog: (!changelog.is_empty()).then(|| changelog.join("\n\n")),
            conflicts,
            in_cluster,
            summary: Some(summary),
        };
        crate::ops::pr::open(
            ws,
            pr,
            &req,
            |view| {
                same_on_base(view, [p])?;
                Ok(changes.clone())
            },
            out,
        )?;
        if !conflicted.is_empty() {
            return Err(pr_conflicts(conflicted.len()));
        }
        Ok(())
    }
}
