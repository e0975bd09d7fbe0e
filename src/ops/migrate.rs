//! `pctl migrate NAME`: turn one Weaveworks pctl installation into a pctl
//! installation in one commit, keeping its Helm releases (name, storage and target
//! namespace), its values (the ConfigMaps it read included) and the user's edits to
//! its files; every edit that cannot be carried is reported by file and field.
use crate::error::user;
use crate::git::{Changes, Mode, TreeView};
use crate::gitops::{self, Overlay};
use crate::legacy::{self, Legacy, OldKind, OldLeaf};
use crate::ops::{Context, prepare};
use crate::printer::Printer;
use crate::resolve;
use crate::yaml::{self, Value};
use crate::{render, source};
use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};

mod takeover;

pub struct MigrateOptions {
    pub name: String,
    pub mode: Mode,
    pub message: Option<String>,
    /// `--create-namespace` (docs/layout.md#namespaces).
    pub create_namespace: bool,
    /// Migrate even when a ConfigMap of values is not in the repository (its values
    /// are then left out, each reported).
    pub allow_missing_values: bool,
}

/// What the migration writes, and what it could not carry.
struct Plan {
    /// Files relative to the installation directory.
    files: BTreeMap<String, Vec<u8>>,
    /// Edits or files of the old installation that are not in the new one.
    dropped: Vec<String>,
    /// Old HelmReleases (`NAMESPACE/NAME`) and the release each one keeps.
    releases: Vec<(String, String)>,
}

/// `--repo` and `--offline` come from the context.
pub fn run(ctx: &Context, opts: MigrateOptions) -> Result<()> {
    let p = ctx.printer();
    let ws = ctx.workspace()?;
    let view = ws.view()?;
    let config = gitops::load(&view, &ws.describe())?;
    let (dir, old) = find(&view, &ws.describe(), &opts.name)?;
    if old.source.url.is_empty() {
        bail!(user(
            format!(
                "{dir}/{}: the Weaveworks pctl record has no spec.source.url: pctl cannot tell which profile it installed",
                crate::record::FILE
            ),
            "add spec.source (url, tag or branch, path) as `pctl add` wrote it, commit, and run the command again",
        ));
    }
    if let Some(g) = &old.git_repository {
        let ours = format!(
            "{}/{}",
            config.git_repository.namespace, config.git_repository.name
        );
        if *g != ours {
            p.warn(&format!(
                "{dir}: the Weaveworks pctl installation names the GitRepository {g}; .pctl/config.yaml names {ours}, which the migrated installation uses"
            ));
        }
    }
    let spec = source::SourceSpec::Git {
        url: old.source.url.clone(),
        subdir: old.source.path.clone(),
        reference: old.source.reference().map(str::to_string),
    };
    let resolved = prepare::resolve(
        ctx,
        &spec,
        resolve::Options {
            catalog_repo: ctx.shared.repo.clone(),
            ..Default::default()
        },
    )?;
    // In a fleet, the cluster the installation is in: its sync path is what Flux walks.
    let cluster_config = match crate::gitops::clusters::cluster_of(&view, &config, &dir)? {
        Some(name) if config.is_fleet() => config
            .cluster_list()
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| config.for_cluster(&c))
            .unwrap_or_else(|| config.clone()),
        _ => config.clone(),
    };
    let tree = crate::ops::owners::scan(&view, &cluster_config)?;
    let inputs = crate::ops::gather_values(&Default::default(), Some(&view))?;
    let current: BTreeMap<String, Vec<u8>> = view
        .files_below(&dir)?
        .into_iter()
        .filter_map(|(p, b)| Some((p.strip_prefix(&format!("{dir}/"))?.to_string(), b)))
        .collect();
    // The old Flux objects keep their namespace and names, so that Flux updates them
    // in place instead of pruning them (and uninstalling their releases).
    let flux_objects = takeover::old_layout(
        &old,
        &legacy::old_leaves(&resolved),
        &current,
        &config.git_repository,
    );
    let mut rendered = prepare::render_checked(
        &resolved,
        &render::Options {
            name: old.name.clone(),
            namespace: old.namespace.clone(),
            install_dir: dir.clone(),
            git_repository: config.git_repository.clone(),
            inputs,
            sops_yaml: view.read_string(".sops.yaml")?,
            secret_refs: BTreeMap::new(),
            namespaces: crate::namespaces::Policy {
                keep_explicit: true,
                create: opts.create_namespace,
                created_elsewhere: tree.creates_namespace(&old.namespace, Some(&dir)),
            },
            flux_objects,
        },
    )?;
    let mut plan = carry(&view, &old, &resolved, &rendered, &current, (&opts, p))?;
    // The record holds what the migration wrote: `pctl status` shows no drift after it.
    rendered.record.spec.files = plan
        .files
        .iter()
        .filter(|(k, _)| k.as_str() != crate::record::FILE)
        .map(|(k, v)| (k.clone(), crate::record::sha256(v)))
        .collect();
    plan.files.insert(
        crate::record::FILE.into(),
        rendered.record.to_yaml()?.into_bytes(),
    );
    let pruned = takeover::pruned(&dir, &current, &plan.files, &config.git_repository);
    // Every report starts with a path inside the installation: name it from the root.
    for d in &mut plan.dropped {
        *d = format!("{dir}/{d}");
    }
    rendered.files = plan.files.clone();
    crate::ops::owners::refuse_conflicts(&tree, &rendered, &dir, &old.name, "migrate")?;

    let version = rendered.record.version_label();
    let mut message = opts.message.clone().unwrap_or_else(|| {
        format!(
            "pctl: migrate {} from Weaveworks pctl ({} {version})",
            old.name, resolved.def.name
        )
    });
    if opts.message.is_none() && !plan.dropped.is_empty() {
        message.push_str("\n\nEdits not carried over:\n");
        for d in &plan.dropped {
            message.push_str(&format!("- {d}\n"));
        }
    }
    let harmful: Vec<&takeover::Pruned> = pruned.iter().filter(|x| x.harmful).collect();
    if opts.message.is_none() && !harmful.is_empty() {
        message.push_str(if plan.dropped.is_empty() {
            "\n\n"
        } else {
            "\n"
        });
        message.push_str("Flux prunes when it applies this commit:\n");
        for x in harmful {
            message.push_str(&format!("- {}: {}\n", x.what, x.why));
        }
    }
    let build = |view: &TreeView| -> Result<Changes> {
        // Re-read under the lock: another pctl may have committed meanwhile.
        gitops::load(view, &ws.describe())?;
        let (again, _) = find(view, &ws.describe(), &opts.name)?;
        if again != dir {
            bail!(user(
                format!("{} moved while pctl was migrating it", opts.name),
                "run the command again"
            ));
        }
        let mut o = Overlay::new(view);
        for path in view.files_below(&dir)?.into_keys() {
            o.delete(&path);
        }
        for (rel, bytes) in &plan.files {
            o.write(&gitops::join(&dir, rel), bytes.clone());
        }
        let (parent, entry) = dir.rsplit_once('/').unwrap_or(("", dir.as_str()));
        relist(&mut o, parent, entry)?;
        o.changes.guard.push(dir.clone());
        Ok(o.changes)
    };
    let outcome = ws.apply(&message, opts.mode, build)?;
    let what = format!(
        "migrate {} ({} {version}) from Weaveworks pctl",
        old.name, resolved.def.name
    );
    crate::ops::report(p, &outcome, opts.mode, &what);
    for (hr, release) in &plan.releases {
        p.info(&format!("kept: HelmRelease {hr} → release {release}"));
    }
    for d in &plan.dropped {
        p.warn(&format!("not carried over: {d}"));
    }
    if !plan.releases.is_empty() {
        p.info(&format!(
            "when Flux applies this commit, it updates the old Kustomizations, HelmReleases and HelmRepositories in place (each keeps its kind, namespace and name in {}), and helm-controller upgrades each release where it is instead of uninstalling it",
            rendered.record.spec.flux_objects.as_ref().map_or(config.git_repository.namespace.as_str(), |f| f.namespace.as_str())
        ));
    }
    for x in &pruned {
        if x.harmful {
            p.warn(&format!(
                "Flux will prune {} when it applies this commit: {}",
                x.what, x.why
            ));
        } else {
            p.info(&format!(
                "Flux will prune {} when it applies this commit, which is harmless: {}",
                x.what, x.why
            ));
        }
    }
    for note in &rendered.notes {
        p.info(&format!("next: {note}"));
    }
    Ok(())
}

/// The migrated directory is reached as the old one was: a parent directory without a
/// kustomization is walked by kustomize-controller (which now finds the new
/// directory's kustomization.yaml); a parent kustomization, which could only list
/// the old artifact directories one by one (the old directory had no kustomization),
/// lists the new directory instead.
fn relist(o: &mut Overlay, parent: &str, entry: &str) -> Result<()> {
    let Some(path) = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|k| gitops::join(parent, k))
        .find(|p| o.read(p).ok().flatten().is_some())
    else {
        return Ok(());
    };
    let text = o.read_string(&path)?.unwrap_or_default();
    let mut doc: Value = yaml::from_str(&path, &text)?;
    let Some(list) = doc.get_mut("resources").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    let inside = |s: &str| {
        gitops::norm_dir(s).is_ok_and(|n| n == entry || n.starts_with(&format!("{entry}/")))
    };
    let before = list.len();
    list.retain(|v| v.as_str().is_none_or(|s| !inside(s)));
    let had = before != list.len();
    if had {
        list.push(Value::String(entry.to_string()));
        o.write(&path, yaml::to_string(&doc)?.into_bytes());
    }
    Ok(())
}

/// The directory and record of the Weaveworks pctl installation `name`.
fn find(view: &TreeView, repo: &str, name: &str) -> Result<(String, Legacy)> {
    let (ours, old) = crate::ops::records(view)?;
    if let Some((dir, l)) = old.iter().find(|(_, l)| l.name == name) {
        return Ok((dir.clone(), l.clone()));
    }
    if let Some((dir, _)) = ours.iter().find(|(_, i)| i.metadata.name == name) {
        bail!(user(
            format!(
                "{name} (at {dir}) is already a pctl installation, not one of Weaveworks pctl: there is nothing to migrate"
            ),
            "`pctl list` marks Weaveworks pctl installations with WRITTEN-BY weaveworks",
        ));
    }
    let legacy: Vec<String> = old.into_iter().map(|(_, l)| l.name).collect();
    bail!(user(
        format!("no Weaveworks pctl installation named {name:?} in {repo}"),
        if legacy.is_empty() {
            "the repository holds no Weaveworks pctl installation (a weave.works/v1alpha1 ProfileInstallation record)".to_string()
        } else {
            format!("Weaveworks pctl installations: {}", legacy.join(", "))
        },
    ))
}

/// Carry the old installation over the new rendering: releases, values, edits.
fn carry(
    view: &TreeView,
    old: &Legacy,
    resolved: &crate::resolve::Resolved,
    rendered: &render::Rendered,
    current: &BTreeMap<String, Vec<u8>>,
    (opts, p): (&MigrateOptions, &Printer),
) -> Result<Plan> {
    let mut plan = Plan {
        files: rendered.files.clone(),
        dropped: Vec::new(),
        releases: Vec::new(),
    };
    let mut seen: BTreeSet<String> = BTreeSet::from([crate::record::FILE.to_string()]);
    let leaves = legacy::old_leaves(resolved);
    for leaf in &leaves {
        let wrapper_path = format!("{}/{}", leaf.dir, render::WRAPPER_FILE);
        let wrapper = object(current, &wrapper_path, "Kustomization");
        seen.insert(wrapper_path.clone());
        seen.insert(format!("{}/kustomization.yaml", leaf.dir));
        check_kustomization(
            current,
            &format!("{}/kustomization.yaml", leaf.dir),
            &["kustomize-flux.yaml"],
            &mut plan.dropped,
        );
        let ns = wrapper
            .as_ref()
            .and_then(|w| w.pointer("/spec/targetNamespace"))
            .and_then(Value::as_str)
            .unwrap_or(&old.namespace)
            .to_string();
        let new_wrapper = format!("artifacts/{}/{}", leaf.id, render::WRAPPER_FILE);
        match &wrapper {
            Some(w) => {
                check_wrapper(old, leaf, &wrapper_path, w, &mut plan.dropped);
                carry_object(p, "Kustomization", leaf, &wrapper_path, w, &new_wrapper, &mut plan)?;
            }
            None => plan.dropped.push(format!(
                "{wrapper_path} was deleted by hand: pctl writes {new_wrapper} (delete the artifact after migrating if you no longer want it)"
            )),
        }
        if leaf.is_chart() {
            let chart_dir = format!("{}/helm-chart", leaf.dir);
            let mut listed = vec!["HelmRelease.yaml"];
            for f in ["HelmRelease.yaml", "HelmRepository.yaml", "ConfigMap.yaml"] {
                seen.insert(format!("{chart_dir}/{f}"));
            }
            if current.contains_key(&format!("{chart_dir}/ConfigMap.yaml")) {
                listed.push("ConfigMap.yaml");
            }
            if matches!(leaf.kind, OldKind::LocalChart { .. }) {
                seen.insert(format!("{chart_dir}/kustomization.yaml"));
                check_kustomization(
                    current,
                    &format!("{chart_dir}/kustomization.yaml"),
                    &listed,
                    &mut plan.dropped,
                );
            }
            if let OldKind::RemoteChart { .. } = leaf.kind {
                let from = format!("{chart_dir}/HelmRepository.yaml");
                if let Some(repo) = object(current, &from, "HelmRepository") {
                    let to = format!("artifacts/{}/helm-repository.yaml", leaf.id);
                    carry_object(p, "HelmRepository", leaf, &from, &repo, &to, &mut plan)?;
                }
            }
            carry_release(view, leaf, &chart_dir, &ns, current, (opts, p), &mut plan)?;
        }
        if let (Some(from), Some(to)) = (leaf.copy_root(), leaf.new_root()) {
            carry_copies(p, leaf, &from, &to, current, &mut seen, &mut plan);
        }
    }
    for path in current.keys() {
        if !seen.contains(path) {
            plan.dropped.push(format!(
                "{path} was not written by Weaveworks pctl for this profile: it is not part of the migrated installation (it stays in Git history; move it out of the installation directory and commit it again to keep it)"
            ));
        }
    }
    Ok(plan)
}

/// The first document of `kind` in a file of the old installation.
fn object(current: &BTreeMap<String, Vec<u8>>, path: &str, kind: &str) -> Option<Value> {
    let text = std::str::from_utf8(current.get(path)?).ok()?;
    yaml::documents(path, text)
        .ok()?
        .into_iter()
        .find(|d| d.get("kind").and_then(Value::as_str) == Some(kind))
}

/// Report a generated kustomization.yaml whose `resources` the user changed.
fn check_kustomization(
    current: &BTreeMap<String, Vec<u8>>,
    path: &str,
    generated: &[&str],
    dropped: &mut Vec<String>,
) {
    let Some(bytes) = current.get(path) else {
        return;
    };
    let doc: Option<Value> = std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| yaml::from_str(path, t).ok());
    let resources: Vec<String> = doc
        .as_ref()
        .and_then(|d| d.get("resources"))
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let extra: Vec<&String> = resources
        .iter()
        .filter(|r| !generated.contains(&r.as_str()))
        .collect();
    let other_keys = doc.as_ref().and_then(Value::as_object).is_some_and(|m| {
        m.keys()
            .any(|k| !matches!(k.as_str(), "resources" | "apiVersion" | "kind"))
    });
    if !extra.is_empty() || other_keys {
        dropped.push(format!(
            "{path}: edited by hand (resources {resources:?}); pctl generates this file again"
        ));
    }
}

/// Report edits to the fields of a wrapper that say where things are (the new
/// layout decides them).
fn check_wrapper(old: &Legacy, leaf: &OldLeaf, path: &str, w: &Value, dropped: &mut Vec<String>) {
    let s = |p: &str| w.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let want_tail = match &leaf.kind {
        OldKind::Kustomize { .. } => leaf.copy_root().unwrap_or_default(),
        _ => format!("{}/helm-chart", leaf.dir),
    };
    let got = s("/spec/path")
        .trim_start_matches("./")
        .trim_end_matches('/');
    if !got.ends_with(&want_tail) {
        dropped.push(format!(
            "{path}: spec.path {got:?} (edited by hand) is replaced by the new layout's path"
        ));
    }
    if let Some(t) = w.pointer("/spec/targetNamespace").and_then(Value::as_str)
        && t != old.namespace
    {
        dropped.push(format!(
            "{path}: spec.targetNamespace {t:?} (edited by hand): objects without a namespace now go to {:?}",
            old.namespace
        ));
    }
    for d in w
        .pointer("/spec/dependsOn")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
        if !name.starts_with(&format!("{}-", old.name)) {
            dropped.push(format!(
                "{path}: spec.dependsOn {name:?} (added by hand) is not carried over: add it to the new wrapper after migrating"
            ));
        }
    }
}

/// Every leaf of a YAML value as (JSON pointer, value); lists are one leaf.
/// Empty mappings are no leaves (what is left of `metadata` once pctl's own fields
/// are taken out says nothing).
fn leaves(v: &Value, at: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if m.is_empty() && !at.is_empty() => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let key = k.replace('~', "~0").replace('/', "~1");
                leaves(x, &format!("{at}/{key}"), out);
            }
        }
        _ => {
            out.insert(at.to_string(), v.clone());
        }
    }
}

/// `theirs` with every edit of `ours` over `base` applied (the user's edits win:
/// what differs between base and theirs is pctl's layout, not a change upstream).
/// Returns the fields it set, as `pointer` strings.
fn apply_edits(base: &Value, ours: &Value, theirs: &mut Value) -> Vec<String> {
    let (mut b, mut o) = (BTreeMap::new(), BTreeMap::new());
    leaves(base, "", &mut b);
    leaves(ours, "", &mut o);
    let mut changed = Vec::new();
    let paths: BTreeSet<&String> = b.keys().chain(o.keys()).collect();
    for p in paths {
        match (b.get(p), o.get(p)) {
            (x, y) if x == y => {}
            (_, Some(y)) => {
                set(theirs, p, y.clone());
                changed.push(p.clone());
            }
            (Some(_), None) => {
                if theirs.pointer(p).is_some() {
                    remove_at(theirs, p);
                    changed.push(p.clone());
                }
            }
            (None, None) => {}
        }
    }
    changed
}

/// Remove the value at an escaped JSON pointer.
fn remove_at(doc: &mut Value, ptr: &str) {
    let Some((parent, key)) = ptr.rsplit_once('/') else {
        return;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    let target = if parent.is_empty() {
        Some(doc)
    } else {
        doc.pointer_mut(parent)
    };
    if let Some(m) = target.and_then(Value::as_object_mut) {
        m.remove(&key);
    }
}

/// Set a value at an escaped JSON pointer, creating mappings on the way.
fn set(doc: &mut Value, ptr: &str, value: Value) {
    let keys: Vec<String> = ptr
        .trim_start_matches('/')
        .split('/')
        .map(|k| k.replace("~1", "/").replace("~0", "~"))
        .collect();
    crate::yaml::set_path(doc, &keys, value);
}

/// Carry the user's edits of a generated object (`from`, old layout) into the new
/// file `to`. Values (HelmRelease `values`/`valuesFrom`) are carried by
/// [`carry_release`].
fn carry_object(
    p: &Printer,
    kind: &str,
    leaf: &OldLeaf,
    from: &str,
    ours: &Value,
    to: &str,
    plan: &mut Plan,
) -> Result<()> {
    let Some(theirs_bytes) = plan.files.get(to) else {
        return Ok(());
    };
    let theirs_text = String::from_utf8_lossy(theirs_bytes).to_string();
    let mut theirs: Value = yaml::from_str(to, &theirs_text)?;
    let mut base = legacy::generated_base(kind, leaf, ours);
    let mut ours = ours.clone();
    for doc in [&mut base, &mut ours] {
        for p in [
            "/apiVersion",
            "/metadata/name",
            "/metadata/namespace",
            "/metadata/creationTimestamp",
            "/status",
        ] {
            legacy::remove_pointer(doc, p);
        }
        if kind == "HelmRelease" {
            for p in ["/spec/values", "/spec/valuesFrom"] {
                legacy::remove_pointer(doc, p);
            }
        }
    }
    let changed = apply_edits(&base, &ours, &mut theirs);
    if !changed.is_empty() {
        p.info(&format!(
            "carried over: {from} → {to}: {}",
            changed.join(", ")
        ));
        plan.files
            .insert(to.to_string(), yaml::to_string(&theirs)?.into_bytes());
    }
    Ok(())
}

/// Keep a HelmRelease's release (name, storage and target namespace) and its values
/// (every ConfigMap it read, and its inline values) in the new HelmRelease.
fn carry_release(
    view: &TreeView,
    leaf: &OldLeaf,
    chart_dir: &str,
    ns: &str,
    current: &BTreeMap<String, Vec<u8>>,
    (opts, p): (&MigrateOptions, &Printer),
    plan: &mut Plan,
) -> Result<()> {
    let from = format!("{chart_dir}/HelmRelease.yaml");
    let to = format!("artifacts/{}/helm-release.yaml", leaf.id);
    let Some(hr) = object(current, &from, "HelmRelease") else {
        plan.dropped.push(format!(
            "{from} was deleted by hand: pctl writes {to}, which installs the chart as a new release"
        ));
        return Ok(());
    };
    carry_object(p, "HelmRelease", leaf, &from, &hr, &to, plan)?;
    let hr_ns = ns.to_string();
    let (release, storage, target) = legacy::release_of(&hr, &hr_ns);
    // Values as helm-controller merges them: valuesFrom in order, then spec.values.
    let mut values = Value::Object(Default::default());
    for vf in hr
        .pointer("/spec/valuesFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = vf
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("ConfigMap");
        let name = vf.get("name").and_then(Value::as_str).unwrap_or_default();
        let key = vf
            .get("valuesKey")
            .and_then(Value::as_str)
            .unwrap_or("values.yaml");
        let optional = vf.get("optional").and_then(Value::as_bool).unwrap_or(false);
        let what = format!("{kind} {hr_ns}/{name} (key {key})");
        if vf.get("targetPath").is_some() {
            plan.dropped.push(format!(
                "{from}: valuesFrom {what} with a targetPath is not carried over: set that value in the new HelmRelease by hand"
            ));
            continue;
        }
        let found = if kind == "ConfigMap" {
            find_config_map(view, current, name, &hr_ns)?
                .and_then(|cm| cm.get("data").and_then(|d| d.get(key)).cloned())
        } else {
            None
        };
        match found.as_ref().and_then(Value::as_str) {
            Some(text) => {
                let v = yaml::helm_values(&what, text)?;
                if !v.is_null() {
                    legacy::merge_values(&mut values, &v);
                }
            }
            None if optional => {}
            None if kind != "ConfigMap" => plan.dropped.push(format!(
                "{from}: valuesFrom {what} is not carried over (pctl does not read Secrets): the new HelmRelease lives in another namespace, so recreate the Secret there or set its values with a secret parameter"
            )),
            None if opts.allow_missing_values => plan.dropped.push(format!(
                "{from}: the values of {what} (not in the repository) are left out (--allow-missing-values)"
            )),
            None => bail!(user(
                format!(
                    "{from}: the HelmRelease {hr_ns}/{} takes values from {what}, which is not in the GitOps repository: the migrated release would lose them",
                    hr.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
                ),
                format!(
                    "commit the ConfigMap to the repository (for example from `kubectl get configmap -n {hr_ns} {name} -o yaml`, without its status and metadata other than name and namespace) and run the command again, or pass --allow-missing-values to migrate without them"
                ),
            )),
        }
    }
    if let Some(inline) = hr.pointer("/spec/values") {
        legacy::merge_values(&mut values, inline);
    }
    let Some(bytes) = plan.files.get(&to) else {
        return Ok(());
    };
    let mut doc: Value = yaml::from_str(&to, &String::from_utf8_lossy(bytes))?;
    set(
        &mut doc,
        "/spec/releaseName",
        Value::String(release.clone()),
    );
    set(
        &mut doc,
        "/spec/storageNamespace",
        Value::String(storage.clone()),
    );
    set(&mut doc, "/spec/targetNamespace", Value::String(target));
    match values.as_object() {
        Some(m) if !m.is_empty() => set(&mut doc, "/spec/values", values.clone()),
        _ => {
            legacy::remove_pointer(&mut doc, "/spec/values");
        }
    }
    plan.files.insert(to, yaml::to_string(&doc)?.into_bytes());
    let hr_name = hr
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    plan.releases
        .push((format!("{hr_ns}/{hr_name}"), format!("{storage}/{release}")));
    Ok(())
}

/// A ConfigMap named `name` in namespace `ns` (or without a namespace): in the old
/// installation first, then anywhere in the repository.
fn find_config_map(
    view: &TreeView,
    current: &BTreeMap<String, Vec<u8>>,
    name: &str,
    ns: &str,
) -> Result<Option<Value>> {
    let matches = |d: &Value| {
        d.get("kind").and_then(Value::as_str) == Some("ConfigMap")
            && d.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
            && d.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_none_or(|n| n == ns)
    };
    let search = |files: &BTreeMap<String, Vec<u8>>| {
        files.iter().find_map(|(path, bytes)| {
            if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
                return None;
            }
            let text = std::str::from_utf8(bytes).ok()?;
            if !text.contains(name) {
                return None;
            }
            yaml::documents(path, text)
                .ok()?
                .into_iter()
                .find(|d| matches(d))
        })
    };
    if let Some(cm) = search(current) {
        return Ok(Some(cm));
    }
    Ok(search(&view.files_below("")?))
}

/// Carry the user's edits of copied files (Kustomize directories and local charts)
/// with the upgrade's three-way merge: base = the profile's file, ours = the file
/// in the old installation, theirs = the file pctl writes now.
fn carry_copies(
    p: &Printer,
    leaf: &OldLeaf,
    from: &str,
    to: &str,
    current: &BTreeMap<String, Vec<u8>>,
    seen: &mut BTreeSet<String>,
    plan: &mut Plan,
) {
    let prefix = format!("{from}/");
    let mut present = BTreeSet::new();
    for (path, ours) in current.range(prefix.clone()..) {
        let Some(rel) = path.strip_prefix(&prefix) else {
            break;
        };
        seen.insert(path.clone());
        present.insert(rel.to_string());
        let new_path = format!("{to}/{rel}");
        let Some(base) = leaf.files.get(rel) else {
            if let Some(k) = added_file(leaf, to, rel, plan) {
                p.info(&format!(
                    "carried over: {path} (added by hand) → {new_path}"
                ));
                plan.files.insert(new_path, ours.clone());
                plan.files.insert(format!("{to}/kustomization.yaml"), k);
                continue;
            }
            plan.dropped.push(format!(
                "{path} was added by hand: it is not part of the migrated installation (copy it to {new_path} and list it in that directory's kustomization.yaml to keep it)"
            ));
            continue;
        };
        if base == ours {
            continue;
        }
        let theirs = plan.files.get(&new_path).cloned();
        let m = crate::merge::merge_file(
            &new_path,
            Some(base),
            Some(ours),
            theirs.as_deref(),
            crate::merge::Strategy::Merge,
        );
        match (m.is_clean(), m.result) {
            (true, Some(bytes)) => {
                p.info(&format!("carried over: {path} → {new_path}"));
                plan.files.insert(new_path, bytes);
            }
            _ => plan.dropped.push(format!(
                "{path}: the edits conflict with what pctl writes to {new_path} ({}): pctl's version is written",
                m.conflicts.join("; ")
            )),
        }
    }
    for rel in leaf.files.keys() {
        if !present.contains(rel) {
            plan.dropped.push(format!(
                "{from}/{rel} was deleted by hand: pctl writes {to}/{rel} again (delete it after migrating, and from its kustomization.yaml, if you still do not want it)"
            ));
        }
    }
}

/// The new kustomization.yaml of a Kustomize artifact with a YAML file the user
/// added to the old copy: kustomize-controller applied every YAML file of a
/// directory without a kustomization, so the file was applied and is kept. None when
/// the profile has its own kustomization (which did not list the file) or for other
/// files.
fn added_file(leaf: &OldLeaf, to: &str, rel: &str, plan: &Plan) -> Option<Vec<u8>> {
    let own = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
    if !matches!(leaf.kind, OldKind::Kustomize { .. })
        || own.iter().any(|k| leaf.files.contains_key(*k))
        || !(rel.ends_with(".yaml") || rel.ends_with(".yml"))
    {
        return None;
    }
    let path = format!("{to}/kustomization.yaml");
    let text = String::from_utf8(plan.files.get(&path)?.clone()).ok()?;
    let mut doc: Value = yaml::from_str(&path, &text).ok()?;
    let list = doc.get_mut("resources")?.as_array_mut()?;
    list.push(Value::String(rel.to_string()));
    yaml::to_string(&doc).ok().map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edits_over_the_old_output_are_set_on_the_new_object() {
        let base = json!({"kind": "HelmRelease", "spec": {"interval": "5m0s", "releaseName": "web", "chart": {"spec": {"version": "1.0.0"}}}});
        let ours = json!({"kind": "HelmRelease", "metadata": {"labels": {"team": "a"}}, "spec": {"interval": "1m", "releaseName": "web", "timeout": "10m", "chart": {"spec": {}}}});
        let mut theirs = json!({"kind": "HelmRelease", "metadata": {"name": "x-web"}, "spec": {"interval": "10m0s", "releaseName": "x-web", "install": {"createNamespace": true}, "chart": {"spec": {"version": "1.0.0", "chart": "web"}}}});
        let changed = apply_edits(&base, &ours, &mut theirs);
        assert_eq!(
            changed,
            [
                "/metadata/labels/team",
                "/spec/chart/spec/version",
                "/spec/interval",
                "/spec/timeout"
            ]
        );
        assert_eq!(
            theirs,
            json!({"kind": "HelmRelease", "metadata": {"name": "x-web", "labels": {"team": "a"}}, "spec": {"interval": "1m", "releaseName": "x-web", "install": {"createNamespace": true}, "chart": {"spec": {"chart": "web"}}, "timeout": "10m"}})
        );
        // Nothing edited: nothing set.
        let mut same = theirs.clone();
        assert!(apply_edits(&ours, &ours, &mut same).is_empty());
        assert_eq!(same, theirs);
    }

    #[test]
    fn keys_with_slashes_survive_the_pointers() {
        let base = json!({"metadata": {}});
        let ours = json!({"metadata": {"annotations": {"example.com/owner": "a~b"}}});
        let mut theirs = json!({"metadata": {"name": "n"}});
        apply_edits(&base, &ours, &mut theirs);
        assert_eq!(
            theirs["metadata"]["annotations"]["example.com/owner"],
            "a~b"
        );
    }
}
