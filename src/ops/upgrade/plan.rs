//! Planning one installation's upgrade or sync: render base and theirs with the
//! recorded values, merge them with the files in the repository, and collect what the
//! commit will need (changelog, claims, the files it started from).
use super::*;
/// Re-render one installation and merge it with the repository's files.
pub(super) fn plan(ctx: &Ctx, dir: &str, inst: &Installation, target: &Target) -> Result<Planned> {
    let name = inst.metadata.name.clone();
    let src = &inst.spec.source;
    if src.dirty || src.commit.is_none() {
        bail!(user(
            format!(
                "{name} was installed from a directory with uncommitted changes: the installed files cannot be rendered again to merge with"
            ),
            "reinstall it from a commit (pctl uninstall, then pctl install)",
        ));
    }
    let spec_of = |reference: Option<String>| (src.url.as_str(), src.path.as_str(), reference);

    // base: exactly what was installed (resolved once for every installation of the
    // same source at the same commits).
    let base_resolution = ctx.shared.resolve(
        ctx.upstreams,
        spec_of(src.requested.clone()),
        src.channel.clone(),
        pins_of(inst),
    )?;
    // Files shared with other clusters
    // (docs/fleets.md#one-install-several-clusters-one-copy): as they were written.
    let shared = crate::ops::uninstall::base_files(ctx.view, inst)?;
    // ours: the installation's files now, by recorded path.
    let ours_all = ctx.view.files_below(dir)?;
    let prefix = format!("{dir}/");
    let mut ours: BTreeMap<String, Vec<u8>> = ours_all
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v.clone())))
        .collect();
    for (k, v) in &shared {
        if let Some(l) = gitops::bases::logical(dir, &inst.spec.bases, k) {
            ours.insert(l, v.clone());
        }
    }
    ours.remove(record::FILE);
    let base = render_base(ctx, dir, inst, &base_resolution.tree)?;
    let base = match as_installed(&base, inst, &ours) {
        // The files are base byte for byte: base is not sealed, hashed and recorded
        // (docs/benchmarks.md#upgrade---all-an-unedited-installation-is-its-own-base).
        true => installed(ctx, dir, &base, &ours)?,
        false => {
            // The installed Secrets are the repository's ciphertext.
            let mut base = seal_checked(ctx, dir, inst, base, &|_, _| true)?;
            gitops::bases::apply(&mut base, &inst.spec.bases)?;
            base
        }
    };

    // theirs: the target with the values the user gave (promote: the other
    // installation's).
    let given = target.given.as_ref().unwrap_or(inst);
    let theirs_resolution = ctx.shared.resolve(
        ctx.upstreams,
        spec_of(target.reference.clone()),
        target.channel.clone(),
        if target.pinned {
            pins_of(given)
        } else {
            Default::default()
        },
    )?;
    for w in &theirs_resolution.warnings {
        ctx.printer.warn(w);
    }
    let mut theirs_tree = theirs_resolution.tree.clone();
    theirs_tree.source.requested = target.requested.clone();
    theirs_tree.source.catalog = src.catalog.clone();
    theirs_tree.source.channel = target.channel.clone();
    let keys = render::parameter_keys(&theirs_tree);
    let mut flags = ctx.flags.clone();
    flags.cluster = ctx.cluster.clone();
    if flags.preset.is_none() {
        flags.preset = given
            .spec
            .preset
            .clone()
            .or_else(|| preset_from_labels(given));
    }
    if flags.values_profiles.is_empty() {
        flags.values_profiles = given.spec.values_profiles.clone();
    }
    let mut refs: Vec<String> = inst
        .spec
        .secret_refs
        .iter()
        .filter(|(k, _)| keys.get(*k) == Some(&true))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    refs.extend(flags.secret_refs.iter().cloned());
    flags.secret_refs = refs;
    let secret_refs = flags.secret_refs()?;
    let mut inputs = crate::ops::gather_values(&flags, Some(ctx.view))?;
    inputs.recorded = recorded_givens(given, dir, &keys, false);
    inputs
        .recorded
        .retain(|g| !(is_kept_secret(&g.value) && secret_refs.contains_key(&g.key)));
    for (k, v) in &given.spec.values {
        if !keys.contains_key(k) && user_given(&v.source) {
            ctx.printer.warn(&format!(
                "{name}: the value of {k} (from {}) is dropped: {} {} no longer declares it",
                v.source,
                theirs_tree.def.name,
                theirs_tree.source.label()
            ));
        }
    }
    let policy = crate::namespaces::Policy {
        keep_explicit: true,
        create: ctx
            .create_namespace
            .unwrap_or_else(|| inst.spec.namespaces.as_ref().is_none_or(|r| r.create)),
        created_elsewhere: ctx.tree.creates_namespace(&inst.spec.namespace, Some(dir)),
    };
    let theirs = render_with(ctx, dir, inst, &theirs_tree, inputs, &secret_refs, policy)?;
    // A Secret whose plaintext is the installed one keeps its ciphertext.
    let unchanged = |path: &str, now: &render::Sealed| {
        base.sealed.get(path).map(|b| &b.plain_sha256) == Some(&now.plain_sha256)
    };
    let mut theirs = seal_checked(ctx, dir, inst, theirs, &unchanged)?;
    let kept = gitops::bases::keep(&theirs, &inst.spec.bases, &shared, &base)?;
    gitops::bases::apply(&mut theirs, &kept)?;
    let claims = crate::ops::owners::claims_of(&theirs, dir, &name, &ctx.config.git_repository);
    crate::ops::owners::refuse_claims(&ctx.tree, &claims, &theirs, dir, &name, "upgrade")?;
    if inst.spec.namespaces.is_none() {
        warn_namespace_change(ctx.printer, &name, &inst.spec.namespace, &base, &theirs);
    }

    let (base_files, theirs_files) = without_record(&name, &base, &theirs, &ours)?;
    let merges = merge::merge_tree(&base_files, &ours, &theirs_files, ctx.strategy);

    warn_orphans(ctx.printer, &name, dir, &merges);
    let mut record = theirs.record.clone();
    let sums: BTreeMap<String, String> = theirs_files
        .iter()
        .map(|(k, v)| (k.clone(), record::sha256(v)))
        .collect();
    // Theirs' record file is this record's YAML (render and `bases::apply` write it
    // from the record they complete) when its hashes are these: not serialized again.
    let written = match theirs.files.get(record::FILE) {
        Some(bytes) if record.spec.files == sums => Some(bytes.clone()),
        _ => None,
    };
    record.spec.files = sums;
    let record_bytes = match written {
        Some(bytes) => bytes,
        None => record.to_yaml()?.into_bytes(),
    };

    let mut files = BTreeMap::new();
    let mut changed = 0;
    let mut repo_merges = Vec::new();
    for m in merges {
        // Where the file is now and where it goes (a fleet base or the directory).
        let was = gitops::bases::physical(dir, &inst.spec.bases, &m.path);
        let path = gitops::bases::physical(dir, &record.spec.bases, &m.path);
        let same = m.result.as_deref() == ours.get(&m.path).map(Vec::as_slice);
        if m.result.is_some() && (!same || was != path) {
            changed += 1;
            files.insert(path.clone(), m.result.clone());
        } else if !same {
            // Deleted: a base other clusters use keeps it (released below when unused).
            changed += 1;
            if was.starts_with(&prefix) {
                files.insert(was, None);
            }
        }
        repo_merges.push(FileMerge { path, ..m });
    }
    let record_path = gitops::join(dir, record::FILE);
    let old_record = ctx.view.read(&record_path)?;
    let known = release::Known::of(
        inst,
        old_record.as_deref().unwrap_or_default(),
        &record,
        &record_bytes,
    );
    if old_record.as_deref() != Some(record_bytes.as_slice()) {
        changed += 1;
        files.insert(record_path.clone(), Some(record_bytes));
    }
    // A fleet base this installation leaves, when no other uses it (docs/fleets.md).
    let known = BTreeMap::from([(record_path, known)]);
    release::release(
        ctx.view,
        &|| ctx.shared.base_users(ctx.view),
        &mut files,
        &known,
    )?;
    let from = inst.version_label();
    let to = record.version_label();
    let changelog = if from != to {
        changelog(ctx, inst, &record)?
    } else {
        Vec::new()
    };
    Ok(Planned {
        name,
        dir: dir.to_string(),
        from,
        to,
        files,
        merges: repo_merges,
        changelog,
        changed,
        ours: super::Ours::of(ctx.view, dir, ours_all)?,
        planned_on: ctx.view.tree_id(),
        known,
        claims,
        cluster: ctx.cluster.clone(),
        label: inst.metadata.name.clone(),
        profile: inst.spec.profile.clone(),
        cluster_name: ctx.cluster_name.clone(),
    })
}

/// Base: the recorded version rendered with every recorded value (not sealed yet).
fn render_base(
    ctx: &Ctx,
    dir: &str,
    inst: &Installation,
    tree: &Resolved,
) -> Result<render::Unsealed> {
    let keys = render::parameter_keys(tree);
    let inputs = crate::values::Inputs {
        recorded: recorded_givens(inst, dir, &keys, true),
        secret_refs: inst.spec.secret_refs.keys().cloned().collect(),
        ..Default::default()
    };
    render_with(
        ctx,
        dir,
        inst,
        tree,
        inputs,
        &recorded_refs(inst)?,
        crate::namespaces::Policy::of_record(inst.spec.namespaces.as_ref()),
    )
}

/// Whether the rendered `base` is, byte for byte, the installation's files `ours` (by
/// recorded path, without the record): nothing to seal (encryption is randomized:
/// sealed base files are the repository's ciphertext, decided by [`seal_checked`]),
/// no fleet bases to point it at, and the same files with the same bytes. Then the
/// merge base is `ours` itself: every file takes theirs, as when base was complete.
pub(super) fn as_installed(
    base: &render::Unsealed,
    inst: &Installation,
    ours: &BTreeMap<String, Vec<u8>>,
) -> bool {
    inst.spec.bases.is_empty() && base.to_seal().is_empty() && base.files() == ours
}

/// The merge base of an installation whose files are its rendered base
/// ([`as_installed`]): those files, without sealing base, hashing its files and
/// writing its record (what [`seal_checked`] does, for a record nobody reads). The
/// rendering check runs on it as on every base.
fn installed(
    ctx: &Ctx,
    dir: &str,
    base: &render::Unsealed,
    ours: &BTreeMap<String, Vec<u8>>,
) -> Result<Rendered> {
    let rendered = Rendered {
        files: ours.clone(),
        record: base.record().clone(),
        leaves: base.leaves().to_vec(),
        notes: Vec::new(),
        sealed: base.sealed().clone(),
        // A merge base is never moved to another directory.
        relocatable: false,
    };
    crate::check::check(&rendered, dir, &ctx.config.git_repository.name)?;
    Ok(rendered)
}

pub(super) fn render_with(
    ctx: &Ctx,
    dir: &str,
    inst: &Installation,
    tree: &Resolved,
    inputs: crate::values::Inputs,
    secret_refs: &BTreeMap<String, (String, String)>,
    namespaces: crate::namespaces::Policy,
) -> Result<render::Unsealed> {
    render::render(
        tree,
        &render::Options {
            name: inst.metadata.name.clone(),
            namespace: inst.spec.namespace.clone(),
            install_dir: dir.to_string(),
            git_repository: ctx.config.git_repository.clone(),
            inputs,
            sops_yaml: ctx.view.read_string(".sops.yaml")?,
            secret_refs: secret_refs.clone(),
            namespaces,
            flux_objects: inst.spec.flux_objects.clone(),
        },
    )
}

/// Seal a rendering of the installation in `dir` and check it. A file to seal for
/// which `unchanged` holds keeps the repository's bytes, when it has the file:
/// encryption is randomized, and kept secrets cannot be encrypted again.
pub(super) fn seal_checked(
    ctx: &Ctx,
    dir: &str,
    inst: &Installation,
    unsealed: render::Unsealed,
    unchanged: &dyn Fn(&str, &render::Sealed) -> bool,
) -> Result<Rendered> {
    let mut keep = BTreeMap::new();
    for (path, sealed) in unsealed.sealed() {
        if !unchanged(path, sealed) {
            continue;
        }
        let physical = gitops::bases::physical(dir, &inst.spec.bases, path);
        if let Some(bytes) = ctx.view.read(&physical)? {
            keep.insert(path.clone(), bytes);
        }
    }
    let rendered = crate::sops::seal_keeping(unsealed, &keep, &mut crate::sops::System)?;
    crate::check::check(&rendered, dir, &ctx.config.git_repository.name)?;
    Ok(rendered)
}

/// An installation recorded before pctl kept explicit namespaces is upgraded to the
/// rules of docs/security.md#trust-model: say which artifacts now place objects differently (a Namespace
/// object no longer renamed, an explicit namespace no longer overridden) and whether
/// the namespace is now created.
pub(super) fn warn_namespace_change(
    p: &Printer,
    name: &str,
    ns: &str,
    base: &Rendered,
    theirs: &Rendered,
) {
    let has_target = |r: &Rendered, path: &str| {
        r.files
            .get(path)
            .is_some_and(|b| String::from_utf8_lossy(b).contains("\n  targetNamespace:"))
    };
    let mut moved = Vec::new();
    for l in theirs.leaves.iter().filter(|l| l.kind == "kustomize") {
        let wrapper = format!("artifacts/{}/{}", l.id, render::WRAPPER_FILE);
        if !has_target(base, &wrapper) || has_target(theirs, &wrapper) {
            continue;
        }
        let prefix = format!("artifacts/{}/", l.id);
        let files: BTreeMap<String, Vec<u8>> = theirs
            .files
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v.clone())))
            .collect();
        for o in crate::namespaces::build(&files, "") {
            if o.kind == "Namespace" && o.name != ns {
                moved.push(format!("Namespace {} (was renamed to {ns})", o.name));
            } else if let Some(n) = o.namespace.as_deref().filter(|n| *n != ns) {
                moved.push(format!("{} {n}/{} (was moved into {ns})", o.kind, o.name));
            }
        }
    }
    if !moved.is_empty() {
        p.warn(&format!(
            "{name} was installed before pctl kept explicit namespaces; from now on these objects keep the namespace their YAML names: {}; check the diff before you commit",
            moved.join(", ")
        ));
    }
    if theirs.leaves.iter().any(|l| l.kind == "namespace") {
        p.info(&format!(
            "{name}: namespace {ns} is now created by the installation (a Namespace that uninstalling leaves in place); pass --create-namespace=false if something else creates it"
        ));
    }
}

/// Base's and theirs' files without the record. Their encrypted files are the
/// repository's bytes where the plaintext did not change (`seal_checked`); one that
/// changes and holds secrets kept from the installation cannot be encrypted again.
#[allow(clippy::type_complexity)]
pub(super) fn without_record(
    name: &str,
    base: &Rendered,
    theirs: &Rendered,
    ours: &BTreeMap<String, Vec<u8>>,
) -> Result<(BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>)> {
    let mut b = base.files.clone();
    let mut t = theirs.files.clone();
    b.remove(record::FILE);
    t.remove(record::FILE);
    for (path, sealed) in &theirs.sealed {
        if !sealed.kept.is_empty() && t.get(path) != ours.get(path) {
            bail!(user(
                format!(
                    "{name}: the encrypted file {path} changes in this version and holds secrets kept from the installation, which pctl cannot decrypt"
                ),
                format!(
                    "pass {} again with --set-file NAME=PATH or --set-env NAME=VAR",
                    sealed
                        .kept
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
        }
    }
    Ok((b, t))
}

/// Files kept in an artifact directory whose wrapper is gone (an artifact removed
/// upstream whose files were edited here, kept by a conflict or `--strategy ours`):
/// Flux no longer applies them, so say so.
pub(super) fn warn_orphans(p: &Printer, name: &str, dir: &str, merges: &[FileMerge]) {
    let kept: std::collections::BTreeSet<&str> = merges
        .iter()
        .filter(|m| m.result.is_some())
        .map(|m| m.path.as_str())
        .collect();
    let mut warned = std::collections::BTreeSet::new();
    for path in &kept {
        let Some(id) = path
            .strip_prefix("artifacts/")
            .and_then(|rest| rest.split_once('/'))
            .map(|(id, _)| id)
        else {
            continue;
        };
        // What makes Flux apply the directory: the wrapper, or for the directory of a
        // wrapper stored in a fleet base (`<id>.flux/`), its kustomization naming it.
        let wrapper = if id.ends_with(crate::gitops::bases::FLUX_SUFFIX) {
            format!("artifacts/{id}/kustomization.yaml")
        } else {
            format!("artifacts/{id}/{}", render::WRAPPER_FILE)
        };
        if !kept.contains(wrapper.as_str()) && warned.insert(id) {
            p.warn(&format!(
                "{name}: {dir}/artifacts/{id}/ keeps files of an artifact the new version removed; Flux no longer applies them (delete the directory, or move what you need elsewhere)"
            ));
        }
    }
}

/// The commits of the installed profile and of every nested profile.
pub(super) fn pins_of(inst: &Installation) -> BTreeMap<(String, String), String> {
    let mut pins = BTreeMap::new();
    let mut add = |s: &record::SourceRecord| {
        if let Some(c) = &s.commit {
            pins.insert((s.url.clone(), s.path.clone()), c.clone());
        }
    };
    add(&inst.spec.source);
    for n in &inst.spec.nested {
        add(&n.source);
    }
    pins
}

/// Labels of values the user gave (as opposed to presets, value profiles, global
/// values, bindings and defaults, which are read afresh).
pub(super) fn user_given(label: &str) -> bool {
    matches!(label, "flag" | "values-file" | "recorded")
}

/// Recorded values as level-3 inputs: all of them for base (`all`), else those the
/// user gave; plus a stand-in for every recorded secret. Only keys of `keys`.
pub fn recorded_givens(
    inst: &Installation,
    dir: &str,
    keys: &BTreeMap<String, bool>,
    all: bool,
) -> Vec<Given> {
    let detail = format!("recorded in {dir}/{}", record::FILE);
    let mut out: Vec<Given> = inst
        .spec
        .values
        .iter()
        .filter(|(k, v)| keys.get(*k) == Some(&false) && (all || user_given(&v.source)))
        .map(|(k, v)| Given {
            key: k.clone(),
            value: Raw::Typed(v.value.clone()),
            origin: Origin::recorded(detail.clone(), &v.source),
            secret_ok: false,
            group: 0,
        })
        .collect();
    for k in &inst.spec.secrets {
        if keys.get(k) == Some(&true) && !inst.spec.secret_refs.contains_key(k) {
            out.push(Given {
                key: k.clone(),
                value: Raw::String(kept_secret(k)),
                origin: Origin::recorded(detail.clone(), "recorded"),
                secret_ok: true,
                group: 0,
            });
        }
    }
    out
}

pub(super) fn recorded_refs(inst: &Installation) -> Result<BTreeMap<String, (String, String)>> {
    ValueOptions {
        secret_refs: inst
            .spec
            .secret_refs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        ..Default::default()
    }
    .secret_refs()
}

/// The preset of a record written before presets were recorded by name.
pub(super) fn preset_from_labels(inst: &Installation) -> Option<String> {
    inst.spec
        .values
        .values()
        .find_map(|v| v.source.strip_prefix("preset:").map(str::to_string))
}

/// Changelog entries (tag name, message) after the installed version up to the
/// target, oldest first.
pub(super) fn changelog(
    ctx: &Ctx,
    old: &Installation,
    new: &Installation,
) -> Result<Vec<(String, String)>> {
    let src = &new.spec.source;
    let parse = |v: &Option<String>| v.as_deref().and_then(|v| semver::Version::parse(v).ok());
    let (Some(from), Some(to)) = (parse(&old.spec.source.version), parse(&src.version)) else {
        return Ok(Vec::new());
    };
    let key = (
        src.url.clone(),
        src.path.clone(),
        from.to_string(),
        to.to_string(),
    );
    ctx.shared
        .changelog(key, || changelog_between(ctx, src, from, to))
}

/// [`changelog`] of `src`'s profile between two versions, read from its tags.
fn changelog_between(
    ctx: &Ctx,
    src: &record::SourceRecord,
    from: semver::Version,
    to: semver::Version,
) -> Result<Vec<(String, String)>> {
    let up = ctx.upstreams.open(&src.url)?;
    let messages: BTreeMap<String, String> = up
        .tags()?
        .into_iter()
        .filter_map(|t| t.message.map(|m| (t.name, m)))
        .collect();
    let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
    Ok(resolve::candidates(&up, &src.path)?
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| c.version > lo && c.version <= hi)
        .filter_map(|c| {
            messages
                .get(&c.tag)
                .map(|m| (c.tag.clone(), m.trim().to_string()))
        })
        .collect())
}
