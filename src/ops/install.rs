//! `pctl install`: resolve a profile, render it and commit it into the GitOps
//! repository as one installation.
use crate::error::user;
use crate::git::{Changes, Mode, TreeView, Upstreams};
use crate::gitops::{self, Overlay};
use crate::ops::{Context, prepare};
use crate::{render, resolve, source};
use anyhow::{Result, bail};

pub struct InstallOptions {
    pub source: String,
    pub name: String,
    pub namespace: String,
    /// `--create-namespace` (docs/layout.md#namespaces).
    pub create_namespace: bool,
    pub path: Option<String>,
    pub mode: Mode,
    pub message: Option<String>,
    pub allow_dirty: bool,
    /// Channel allowed besides stable when resolving a constraint (`--channel`).
    pub channel: Option<String>,
    pub values: crate::ops::ValueOptions,
    /// `--create-pr`: commit on a branch of its own and open a pull request.
    pub pr: Option<crate::ops::pr::PrOptions>,
}

/// Where an installation goes in one cluster: the cluster, the config as it sees it,
/// the parent directory, the installation directory, and the values.
type Place = (
    gitops::clusters::Cluster,
    gitops::Config,
    String,
    String,
    crate::values::Inputs,
);

/// One cluster of an install: where the installation goes and its rendering.
struct Target {
    cluster: gitops::clusters::Cluster,
    config: gitops::Config,
    parent: String,
    install_dir: String,
    tree: crate::ops::owners::Tree,
    rendered: render::Rendered,
    /// The target whose rendering this one's was moved from (same inputs).
    moved_from: Option<usize>,
    /// Debug builds: a moved rendering rendered again, to compare.
    fresh: Option<render::Rendered>,
    /// Its rendering is empty until it is moved from its leader's finished one.
    later: bool,
}

/// `--repo`, `--offline` and `--cluster`/`--all-clusters` come from the context.
pub fn run(ctx: &Context, opts: InstallOptions) -> Result<()> {
    let p = ctx.printer();
    let spec = source::parse(&opts.source)?;
    if !crate::names::is_dns1123_label(&opts.name) {
        bail!(user(
            format!("--name {:?} is not a DNS-1123 label", opts.name),
            "use lower-case letters, digits and '-', at most 63 characters",
        ));
    }
    let ws = ctx.workspace()?;
    let view = ctx.view()?;
    let fleet = ctx.config()?;
    let chosen = gitops::clusters::select(fleet, ctx.clusters(), &ws.describe())?;
    if chosen.len() > 1 && opts.path.is_some() {
        bail!(user(
            format!(
                "--path names one directory, but the installation goes to {} clusters",
                chosen.len()
            ),
            "leave out --path (each cluster's installPath is used), or install into one --cluster",
        ));
    }
    // Where it goes in each cluster and with which values, checked before anything
    // is fetched.
    let mut places: Vec<Place> = Vec::new();
    for cluster in chosen {
        let config = fleet.for_cluster(&cluster);
        let parent = gitops::install_parent(view, &config, opts.path.as_deref(), &opts.name)?;
        let install_dir = gitops::join(&parent, &opts.name);
        if let Some((other, ..)) = places.iter().find(|p| p.3 == install_dir) {
            bail!(user(
                format!(
                    "clusters {} and {} would both hold the installation in {install_dir}",
                    other.name, cluster.name
                ),
                "give each cluster an installPath of its own in .pctl/config.yaml",
            ));
        }
        let values = crate::ops::ValueOptions {
            cluster: crate::ops::cluster::values_level(&config, &cluster),
            ..opts.values.clone()
        };
        let inputs = crate::ops::gather_values(&values, Some(view))?;
        places.push((cluster, config, parent, install_dir, inputs));
    }
    let resolved = prepare::resolve(
        ctx,
        &spec,
        resolve::Options {
            allow_dirty: opts.allow_dirty,
            channel: opts.channel.clone(),
            catalog_repo: ctx.shared.repo.clone(),
            ..Default::default()
        },
    )?;
    let scanned = view.tree_id();
    let mut targets: Vec<Target> = Vec::new();
    // The clusters rendered so far whose renderings others may reuse: their options
    // and their index in `targets`.
    let mut rendered_for: Vec<(render::Options, usize)> = Vec::new();
    let sops_yaml = view.read_string(".sops.yaml")?;
    for (cluster, config, parent, install_dir, inputs) in places {
        // The repository as Flux applies it: who already owns what, and whether
        // something already creates the namespace.
        let tree = crate::ops::owners::scan(view, &config)?;
        let ropts = render::Options {
            name: opts.name.clone(),
            namespace: opts.namespace.clone(),
            install_dir: install_dir.clone(),
            git_repository: config.git_repository.clone(),
            inputs,
            sops_yaml: sops_yaml.clone(),
            secret_refs: opts.values.secret_refs()?,
            namespaces: crate::namespaces::Policy {
                keep_explicit: true,
                create: opts.create_namespace,
                created_elsewhere: tree.creates_namespace(&opts.namespace, None),
            },
            flux_objects: None,
        };
        // A cluster with the same inputs as one rendered already (values of every
        // level, the cluster's included; namespace policy) gets that rendering moved
        // to its own directory, when it can be (docs/fleets.md).
        let same = rendered_for
            .iter()
            .find(|(o, _)| o.same_but_dir(&ropts))
            .map(|(_, i)| *i);
        // Its record is written by `bases::apply` below (there are several clusters).
        // After the first cluster moved from a rendering, the others are moved from its
        // finished rendering once it has been pointed at the bases (`relocated_applied`
        // below): until then they hold an empty one.
        let later = same.is_some_and(|i| {
            targets.iter().any(|t| t.moved_from == Some(i))
                && targets[i].rendered.relocates_applied_to(&install_dir)
        });
        let moved = match same {
            Some(_) if later => Some(render::Rendered::default()),
            Some(i) => targets[i].rendered.relocated_unrecorded(&install_dir),
            None => None,
        };
        let moved_from = moved.as_ref().and(same);
        let mut fresh = None;
        let rendered = match moved {
            Some(r) => {
                if cfg!(debug_assertions) {
                    fresh = Some(prepare::render(&resolved, &ropts)?);
                }
                r
            }
            None => {
                let r = prepare::render(&resolved, &ropts)?;
                if same.is_none() && r.relocatable {
                    rendered_for.push((ropts, targets.len()));
                }
                r
            }
        };
        targets.push(Target {
            cluster,
            config,
            parent,
            install_dir,
            tree,
            rendered,
            moved_from,
            fresh,
            later,
        });
    }
    // Several clusters: what is the same in every one is stored once (docs/fleets.md).
    let version = targets[0].rendered.record.version_label();
    let bases_root = if targets.len() > 1 {
        let root = gitops::bases::version_dir(fleet.bases_path(), &opts.name, &version, &|d| {
            view.exists(d)
        })?;
        // A rendering moved from another differs from it only where it names its own
        // directory, and so from every other one moved from the same: comparing one of
        // them tells what all of them share (debug builds compare them all).
        let leads: Vec<&render::Rendered> = targets
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                t.moved_from.is_none() || targets[..*i].iter().all(|o| o.moved_from != t.moved_from)
            })
            .map(|(_, t)| &t.rendered)
            .collect();
        let plan = gitops::bases::plan(&leads, &root)?;
        if cfg!(debug_assertions) {
            // (An empty rendering's cluster is compared through its rendering made again.)
            let all: Vec<&render::Rendered> = targets
                .iter()
                .map(|t| match (&t.fresh, t.later) {
                    (Some(fresh), true) => fresh,
                    _ => &t.rendered,
                })
                .collect();
            if gitops::bases::plan(&all, &root)? != plan {
                bail!(crate::error::Bug(format!(
                    "the fleet bases planned from {} of {} renderings differ from those of all",
                    leads.len(),
                    all.len()
                )));
            }
        }
        if !plan.is_empty()
            && let Some(text) = view.read_string(gitops::SOURCEIGNORE)?
            && let Some(pattern) =
                gitops::ignored(&text, &gitops::join(&root, gitops::KUSTOMIZATION))
        {
            bail!(user(
                format!(
                    "basesPath {} is ignored by {} (pattern {pattern:?}): Flux would not see the files the clusters share",
                    fleet.bases_path(),
                    gitops::SOURCEIGNORE
                ),
                format!(
                    "change {}, or basesPath in .pctl/config.yaml",
                    gitops::SOURCEIGNORE
                ),
            ));
        }
        for i in 0..targets.len() {
            let (done, rest) = targets.split_at_mut(i);
            let t = &mut rest[0];
            // A moved rendering is its leader's finished one, moved (debug builds also
            // point the one moved before at the bases themselves and compare); else its
            // record is its leader's with its own path.
            let like = t.moved_from.map(|j| &done[j].rendered);
            let moved = match like {
                Some(l) => l.relocated_applied(&t.install_dir)?,
                None => None,
            };
            match moved {
                Some(moved) if t.later => t.rendered = moved,
                Some(moved) => {
                    if cfg!(debug_assertions) {
                        gitops::bases::apply_like(&mut t.rendered, &plan, like)?;
                        same_as_rendered(&moved, &t.rendered)?;
                        if moved.record != t.rendered.record {
                            bail!(crate::error::Bug(format!(
                                "the record of the rendering moved to {} differs from pointing it at the bases",
                                t.install_dir
                            )));
                        }
                    }
                    t.rendered = moved;
                }
                // Left empty only when its leader's finished rendering can be moved.
                None if t.later => bail!(crate::error::Bug(format!(
                    "the rendering of {} was left to be moved from its leader's, which cannot be moved there",
                    t.install_dir
                ))),
                None => gitops::bases::apply_like(&mut t.rendered, &plan, like)?,
            }
            if let Some(mut fresh) = t.fresh.take() {
                gitops::bases::apply(&mut fresh, &plan)?;
                same_as_rendered(&t.rendered, &fresh)?;
            }
        }
        Some(root)
    } else {
        None
    };
    let several = targets.len() > 1;
    let mut claims: Vec<Vec<crate::ownership::Owned>> = Vec::new();
    // Where the walk of the one rendering started and the wrappers it followed (for
    // the scan of the tree the install commits: `owners::after_install`).
    let mut walked = Vec::new();
    for t in &targets {
        let from = t.moved_from.map(|i| (&targets[i], &claims[i]));
        // A moved rendering checks as the one it was moved from did (debug builds
        // check it again), and claims the same objects from its own directory.
        if from.is_none() || cfg!(debug_assertions) {
            prepare::check(&t.rendered, &t.install_dir, &t.config.git_repository.name)?;
        }
        let fresh = |walked: &mut Vec<crate::ownership::Start>| {
            crate::ops::owners::claims_noting(
                &t.rendered,
                &t.install_dir,
                &opts.name,
                &t.config.git_repository,
                walked,
            )
        };
        let mine = match from
            .and_then(|(f, c)| crate::ops::owners::moved_claims(c, &f.install_dir, &t.install_dir))
        {
            Some(m) => {
                if cfg!(debug_assertions) && m != fresh(&mut Vec::new()) {
                    bail!(crate::error::Bug(format!(
                        "the claims of the rendering moved to {} differ from its own",
                        t.install_dir
                    )));
                }
                m
            }
            None if several => fresh(&mut Vec::new()),
            None => fresh(&mut walked),
        };
        crate::ops::owners::refuse_claims(
            &t.tree,
            &mine,
            &t.rendered,
            &t.install_dir,
            &opts.name,
            "install",
        )
        .map_err(|e| in_cluster(e, several, &t.cluster))?;
        claims.push(mine);
    }
    let files = gitops::bases::fold_refs(targets.iter().map(|t| &t.rendered))?;

    let names: Vec<&str> = targets.iter().map(|t| t.cluster.name.as_str()).collect();
    let profile = &resolved.def.name;
    let what = if several {
        format!(
            "install {profile} {version} as {} in {}",
            opts.name,
            names.join(", ")
        )
    } else {
        format!("install {profile} {version} as {}", opts.name)
    };
    let message = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("pctl: {what}"));
    let build = |view: &TreeView| -> Result<Changes> {
        // Re-read under the lock: another pctl may have committed meanwhile.
        let fleet = gitops::load(view, &ws.describe())?;
        let chosen: Vec<gitops::clusters::Cluster> =
            targets.iter().map(|t| t.cluster.clone()).collect();
        // One read of the records for every cluster (docs/benchmarks.md#fleet).
        let mut named =
            crate::ops::cluster::installations_named(view, &fleet, &chosen, &opts.name, p)?;
        let mut o = Overlay::new(view);
        for t in &targets {
            let config = fleet.for_cluster(&t.cluster);
            if view.exists(&t.install_dir)? {
                bail!(user(
                    format!(
                        "installation {:?} already exists at {}",
                        opts.name, t.install_dir
                    ),
                    "choose another --name, or `pctl uninstall` it first",
                ));
            }
            if let Some(dir) = named.remove(&t.cluster.name) {
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
            // Another pctl may have committed between the ownership check above and
            // the lock: check again against what is there now.
            if view.tree_id().is_none() || view.tree_id() != scanned {
                let tree = crate::ops::owners::scan(view, &config)?;
                crate::ops::owners::refuse_conflicts(
                    &tree,
                    &t.rendered,
                    &t.install_dir,
                    &opts.name,
                    "install",
                )
                .map_err(|e| in_cluster(e, several, &t.cluster))?;
            }
            gitops::link_installation(&mut o, &config, &t.parent, &opts.name)?;
            o.changes.guard.push(t.install_dir.clone());
        }
        if let Some(root) = &bases_root {
            if view.exists(root)? {
                bail!(user(
                    format!("{root} was created by another change while this install ran"),
                    "run the install again",
                ));
            }
            o.changes.guard.push(root.clone());
        }
        for (path, bytes) in &files {
            o.write(path, bytes.to_vec());
        }
        // One installation without bases: the ownership scan of the tree committed,
        // for the next command (docs/architecture.md#the-ownership-scan-of-a-whole-tree).
        if let ([t], [mine]) = (targets.as_slice(), claims.as_slice())
            && t.rendered.record.spec.bases.is_empty()
        {
            let memos = crate::ops::owners::after_install(
                view,
                &t.config,
                &t.tree,
                &o.changes,
                &t.install_dir,
                mine,
                &walked,
            );
            o.changes.memos.extend(memos);
        }
        Ok(o.changes)
    };
    let notes = &targets[0].rendered.notes;
    if let Some(pr) = &opts.pr {
        let scope = if several {
            Some(names.join("."))
        } else {
            fleet.is_fleet().then(|| names[0].to_string())
        };
        let req = crate::ops::pr::PrRequest {
            verb: "install".into(),
            name: crate::ops::pr::scoped_name(scope.as_deref(), &opts.name),
            version: version.clone(),
            title: message.clone(),
            changelog: changelog(&spec, ctx.upstreams()?, &resolved.source),
            conflicts: Vec::new(),
            in_cluster: None,
            summary: None,
        };
        crate::ops::pr::open(ws, pr, &req, build, p)?;
        for note in notes {
            p.info(&format!("next: {note}"));
        }
        return Ok(());
    }
    let outcome = ws.apply(&message, opts.mode, build)?;
    crate::ops::report(p, &outcome, opts.mode, &what);
    if opts.mode != Mode::DryRun {
        for t in &targets {
            p.info(&format!(
                "{} artifact(s) in {}",
                t.rendered.leaves.len(),
                t.install_dir
            ));
        }
        if let Some(root) = &bases_root {
            let shared = targets[0].rendered.record.spec.bases.len();
            if shared > 0 {
                p.info(&format!(
                    "{shared} artifact(s) stored once for {} clusters in {root}",
                    targets.len()
                ));
            }
        }
    }
    for note in notes {
        p.info(&format!("next: {note}"));
    }
    crate::let_go(targets);
    Ok(())
}

/// Debug builds (the tests) render every moved rendering again too: the bytes must be
/// the same.
fn same_as_rendered(moved: &render::Rendered, fresh: &render::Rendered) -> Result<()> {
    if moved.files != fresh.files || moved.leaves.len() != fresh.leaves.len() {
        let differ: Vec<&String> = moved
            .files
            .keys()
            .chain(fresh.files.keys())
            .filter(|k| moved.files.get(*k) != fresh.files.get(*k))
            .collect();
        bail!(crate::error::Bug(format!(
            "a rendering moved to {} differs from rendering it there: {differ:?}",
            fresh.record.spec.path
        )));
    }
    Ok(())
}

/// With several clusters, say which one an error is about.
fn in_cluster(e: anyhow::Error, several: bool, c: &gitops::clusters::Cluster) -> anyhow::Error {
    if several {
        e.context(format!("in cluster {}", c.name))
    } else {
        e
    }
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
