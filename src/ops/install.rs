//! `pctl install`: resolve a profile, render it and commit it into the GitOps
//! repository as one installation.
use crate::error::user;
use crate::git::{Changes, Mode, TreeView, Upstreams, Workspace};
use crate::gitops::{self, Overlay};
use crate::printer::printer;
use crate::resolve::{self, Resolver};
use crate::{check, render, source};
use anyhow::{Result, bail};

pub struct InstallOptions {
    pub source: String,
    pub name: String,
    pub namespace: String,
    /// `--create-namespace` (docs/layout.md#namespaces).
    pub create_namespace: bool,
    pub path: Option<String>,
    pub repo: Option<String>,
    /// `--cluster` / `--all-clusters` (docs/fleets.md).
    pub clusters: crate::gitops::clusters::Selection,
    pub mode: Mode,
    pub message: Option<String>,
    pub offline: bool,
    pub allow_dirty: bool,
    /// Channel allowed besides stable when resolving a constraint (`--channel`).
    pub channel: Option<String>,
    pub values: crate::ops::ValueOptions,
    /// `--create-pr`: commit on a branch of its own and open a pull request.
    pub pr: Option<crate::ops::pr::PrOptions>,
}

pub fn run(opts: InstallOptions) -> Result<()> {
    let spec = source::parse(&opts.source)?;
    if !crate::names::is_dns1123_label(&opts.name) {
        bail!(user(
            format!("--name {:?} is not a DNS-1123 label", opts.name),
            "use lower-case letters, digits and '-', at most 63 characters",
        ));
    }
    let ws = Workspace::open(opts.repo.as_deref())?;
    let view = ws.view()?;
    let (config, cluster) =
        gitops::clusters::load_one(&view, &ws.describe(), &opts.clusters, "install")?;
    let parent = gitops::install_parent(&view, &config, opts.path.as_deref(), &opts.name)?;
    let install_dir = gitops::join(&parent, &opts.name);

    let values = crate::ops::ValueOptions {
        cluster: crate::ops::cluster::values_level(&config, &cluster),
        ..opts.values.clone()
    };
    let inputs = crate::ops::gather_values(&values, Some(&view))?;
    let upstreams = Upstreams::new(opts.offline)?;
    let mut resolver = Resolver::new(
        &upstreams,
        resolve::Options {
            allow_dirty: opts.allow_dirty,
            channel: opts.channel.clone(),
        },
    );
    resolver.catalog_repo = opts.repo.clone();
    let resolved = resolver.resolve(&spec)?;
    for w in &resolver.warnings {
        printer().warn(w);
    }
    // The repository as Flux applies it: who already owns what, and whether
    // something already creates the namespace.
    let tree = crate::ops::owners::scan(&view, &config)?;
    let scanned = view.tree_id();
    let rendered = render::render(
        &resolved,
        &render::Options {
            name: opts.name.clone(),
            namespace: opts.namespace.clone(),
            install_dir: install_dir.clone(),
            git_repository: config.git_repository.clone(),
            inputs,
            sops_yaml: view.read_string(".sops.yaml")?,
            secret_refs: opts.values.secret_refs()?,
            namespaces: crate::namespaces::Policy {
                keep_explicit: true,
                create: opts.create_namespace,
                created_elsewhere: tree.creates_namespace(&opts.namespace, None),
            },
            flux_objects: None,
        },
    )?;
    check::check(&rendered, &install_dir, &config.git_repository.name)?;
    crate::ops::owners::refuse_conflicts(&tree, &rendered, &install_dir, &opts.name, "install")?;

    let version = rendered.record.version_label();
    let message = opts.message.clone().unwrap_or_else(|| {
        format!(
            "pctl: install {} {} as {}",
            resolved.def.name, version, opts.name
        )
    });
    let build = |view: &TreeView| -> Result<Changes> {
        // Re-read under the lock: another pctl may have committed meanwhile.
        let (config, _) =
            gitops::clusters::load_one(view, &ws.describe(), &opts.clusters, "install")?;
        if view.exists(&install_dir)? {
            bail!(user(
                format!(
                    "installation {:?} already exists at {install_dir}",
                    opts.name
                ),
                "choose another --name, or `pctl uninstall` it first",
            ));
        }
        if let Some(dir) =
            crate::ops::cluster::installation_named(view, &config, &cluster, &opts.name)?
        {
            bail!(user(
                format!(
                    "an installation named {:?} already exists at {dir}",
                    opts.name
                ),
                if config.is_fleet() {
                    "installation names are unique in a cluster: choose another --name"
                } else {
                    "installation names are unique in a GitOps repository: choose another --name"
                },
            ));
        }
        // Another pctl may have committed between the ownership check above and the
        // lock: check again against what is there now.
        if view.tree_id().is_none() || view.tree_id() != scanned {
            let tree = crate::ops::owners::scan(view, &config)?;
            crate::ops::owners::refuse_conflicts(
                &tree,
                &rendered,
                &install_dir,
                &opts.name,
                "install",
            )?;
        }
        let mut o = Overlay::new(view);
        for (rel, bytes) in &rendered.files {
            o.write(&gitops::join(&install_dir, rel), bytes.clone());
        }
        gitops::link_installation(&mut o, &config, &parent, &opts.name)?;
        o.changes.guard.push(install_dir.clone());
        Ok(o.changes)
    };
    if let Some(pr) = &opts.pr {
        let req = crate::ops::pr::PrRequest {
            verb: "install".into(),
            name: crate::ops::pr::scoped_name(
                config.is_fleet().then_some(cluster.name.as_str()),
                &opts.name,
            ),
            version: version.clone(),
            title: message.clone(),
            changelog: changelog(&spec, &upstreams, &resolved.source),
            conflicts: Vec::new(),
            in_cluster: None,
            summary: None,
        };
        crate::ops::pr::open(&ws, pr, &req, build)?;
        for note in &rendered.notes {
            printer().info(&format!("next: {note}"));
        }
        return Ok(());
    }
    let outcome = ws.apply(&message, opts.mode, build)?;
    let what = format!("install {} {} as {}", resolved.def.name, version, opts.name);
    crate::ops::report(&outcome, opts.mode, &what);
    if opts.mode != Mode::DryRun {
        printer().info(&format!(
            "{} artifact(s) in {install_dir}",
            rendered.leaves.len()
        ));
    }
    for note in &rendered.notes {
        printer().info(&format!("next: {note}"));
    }
    Ok(())
}

/// The annotated tag message of the installed version, when it was installed from a
/// version tag: the pull request's changelog.
fn changelog(
    spec: &source::SourceSpec,
    upstreams: &Upstreams,
    rec: &crate::record::SourceRecord,
) -> Option<String> {
    rec.version.as_ref()?;
    let tag = rec.reference.as_deref()?;
    let message = match spec {
        source::SourceSpec::Local { path } => {
            let (_, repo) = crate::git::discover(std::path::Path::new(path))?;
            crate::git::Upstream {
                url: rec.url.clone(),
                repo: std::rc::Rc::new(repo),
            }
            .tag(tag)?
            .message
        }
        // Opened (and fetched) by the resolver already: no second fetch.
        _ => upstreams.open(&rec.url).ok()?.tag(tag)?.message,
    }?;
    Some(message.trim().to_string()).filter(|m| !m.is_empty())
}
