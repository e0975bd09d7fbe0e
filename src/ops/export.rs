//! `pctl export`: resolve one profile version with everything it nests, vendor every
//! profile into one directory tree (nested `source` references rewritten to point
//! inside it), and write it as a deterministic `.tar.gz` with its manifest.
use crate::bundle::{self, BundledProfile, Manifest, NewSource};
use crate::error::user;
use crate::git::Entry;
use crate::model::{ArtifactKind, Chart};
use crate::resolve::{self, Resolved, ResolvedKind, Visited};
use crate::source;
use anyhow::{Context, Result, anyhow, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub struct ExportOptions {
    pub source: String,
    /// FILE.tar.gz to write (replaced when it exists).
    pub output: PathBuf,
    pub allow_dirty: bool,
    pub channel: Option<String>,
}

/// `--offline` comes from the context.
pub fn run(ctx: &crate::ops::Context, opts: ExportOptions) -> Result<()> {
    let out = ctx.printer();
    let spec = source::parse(&opts.source)?;
    if opts.output.is_dir() {
        bail!(user(
            format!("-o {} is a directory", opts.output.display()),
            "name the file to write, for example -o profile.tar.gz",
        ));
    }
    let mut resolver = crate::ops::prepare::Resolve::new(
        ctx,
        resolve::Options {
            allow_dirty: opts.allow_dirty,
            channel: opts.channel.clone(),
            ..Default::default()
        },
    )?;
    let root = resolver.tree(&spec)?;
    let found = resolver.finish();
    for w in &found.warnings {
        out.warn(w);
    }
    let (files, manifest) = vendor(&root, &found.visited)?;
    let top = match &manifest.profiles[0].version {
        Some(v) => format!("{}-{v}", manifest.name),
        None => manifest.name.clone(),
    };
    let bytes = bundle::pack(&top, &files)?;
    write_atomic(&opts.output, &bytes)?;

    let rows: Vec<Vec<String>> = manifest
        .profiles
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.path.clone(),
                p.version.clone().unwrap_or_else(|| "-".into()),
                format!(
                    "{}{}",
                    p.source.url,
                    if p.source.path.is_empty() {
                        String::new()
                    } else {
                        format!("//{}", p.source.path)
                    }
                ),
                p.source
                    .commit
                    .as_deref()
                    .map(|c| c.chars().take(12).collect())
                    .unwrap_or_else(|| "dirty".into()),
            ]
        })
        .collect();
    out.table(&["PROFILE", "PATH", "VERSION", "SOURCE", "COMMIT"], &rows);
    if manifest.profiles[0].version.is_none() {
        out.warn(&format!(
            "{} is not a version (no version tag at its commit): the imported copy has no version tag for it",
            manifest.name
        ));
    }
    out.success(&format!(
        "exported {} ({} profile(s), {} file(s)) to {}",
        top,
        manifest.profiles.len(),
        files.len(),
        opts.output.display()
    ));
    Ok(())
}

/// One profile of the tree, placed in the bundle.
struct Placed<'r> {
    node: &'r Resolved,
    artifact: String,
    dir: String,
    prefix: String,
}

/// Every file of the bundle (the manifest included) and the manifest.
fn vendor(
    root: &Resolved,
    visited: &BTreeMap<(String, String, String), Visited>,
) -> Result<(BTreeMap<String, Vec<u8>>, Manifest)> {
    // Each (repository, commit) gets a prefix: the root's keeps its own layout.
    let mut prefixes: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut placed: Vec<Placed> = Vec::new();
    fn walk<'r>(
        node: &'r Resolved,
        artifact: String,
        prefixes: &mut BTreeMap<(String, String), String>,
        taken: &mut BTreeSet<String>,
        out: &mut Vec<Placed<'r>>,
    ) {
        let at = resolve::visit_key(&node.source);
        let key = (at.0.clone(), at.2.clone());
        let prefix = match prefixes.get(&key) {
            Some(p) => p.clone(),
            None => {
                let p = if out.is_empty() {
                    String::new()
                } else {
                    bundle::vendor_dir(&key.0, &key.1, taken)
                };
                taken.insert(p.clone());
                prefixes.insert(key, p.clone());
                p
            }
        };
        let dir = crate::gitops::join(&prefix, &node.source.path);
        out.push(Placed {
            node,
            artifact: artifact.clone(),
            dir,
            prefix,
        });
        for a in &node.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                let path = if artifact.is_empty() {
                    a.name.clone()
                } else {
                    format!("{artifact}.{}", a.name)
                };
                walk(profile, path, prefixes, taken, out);
            }
        }
    }
    walk(root, String::new(), &mut prefixes, &mut taken, &mut placed);

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let put = |path: String, bytes: Vec<u8>, files: &mut BTreeMap<String, Vec<u8>>| match files
        .get(&path)
    {
        Some(old) if old != &bytes => Err(user(
            format!("two profiles of the tree need different files at {path} in the bundle"),
            "this tree cannot be vendored into one repository; export its profiles one by one",
        )),
        _ => {
            files.insert(path, bytes);
            Ok(())
        }
    };
    let mut profiles: Vec<BundledProfile> = Vec::new();
    let tag_of = |p: &Placed| {
        p.node
            .source
            .version
            .as_deref()
            .map(|v| bundle::version_tag(&p.dir, v))
    };
    for p in &placed {
        if let Some(existing) = profiles.iter_mut().find(|b| b.path == p.dir) {
            existing.artifacts.push(p.artifact.clone());
            continue;
        }
        let key = resolve::visit_key(&p.node.source);
        let v = visited.get(&key).ok_or_else(|| {
            anyhow!(crate::error::Bug(format!(
                "export: the files of {} were not kept while resolving",
                p.node.def.name
            )))
        })?;
        let src_dir = p.node.source.path.clone();
        let origin = format!(
            "{}//{}",
            p.node.source.url,
            crate::gitops::join(&src_dir, "profile.yaml")
        );
        let text = v
            .snapshot
            .read(&crate::gitops::join(&src_dir, "profile.yaml"))?
            .ok_or_else(|| anyhow!("{origin} disappeared"))?;
        let text = String::from_utf8(text).map_err(|_| anyhow!("{origin}: not UTF-8"))?;
        // Nested profiles now come from this repository.
        let mut rewrites = BTreeMap::new();
        for a in &p.node.artifacts {
            if let ResolvedKind::Profile { profile, .. } = &a.kind {
                let child = placed
                    .iter()
                    .find(|c| std::ptr::eq(c.node, profile.as_ref()))
                    .ok_or_else(|| anyhow!("export: nested profile {} not placed", a.name))?;
                rewrites.insert(
                    a.name.clone(),
                    NewSource {
                        path: child.dir.clone(),
                        tag: tag_of(child),
                    },
                );
            }
        }
        let text = bundle::rewrite_nested(&origin, &text, &rewrites)?;
        put(
            crate::gitops::join(&p.dir, "profile.yaml"),
            text.into_bytes(),
            &mut files,
        )?;
        // The profile's own files (README, …), then every file its artifacts use.
        if let Some(Entry::Dir(names)) = v.snapshot.entry(&src_dir)? {
            for n in names {
                let rel = crate::gitops::join(&src_dir, &n);
                if n == "profile.yaml" {
                    continue;
                }
                if let Some(Entry::File(b)) = v.snapshot.entry(&rel)? {
                    put(crate::gitops::join(&p.prefix, &rel), b, &mut files)?;
                }
            }
        }
        for a in &p.node.def.artifacts {
            let path = match &a.kind {
                ArtifactKind::Chart {
                    chart: Chart::Local { path },
                    ..
                } => path,
                ArtifactKind::Kustomize { path } => path,
                _ => continue,
            };
            let real = v.snapshot.resolve(&src_dir, path).map_err(|e| {
                user(
                    format!("{origin}: artifact {:?}: path {e}", a.name),
                    "keep paths inside the profile's repository",
                )
            })?;
            let lexical = lexical(&src_dir, path).unwrap_or_else(|| real.clone());
            match v.snapshot.entry(&real)? {
                Some(Entry::Dir(_)) => {
                    for (rel, b) in v.snapshot.files_below(&real)? {
                        put(
                            crate::gitops::join(&p.prefix, &crate::gitops::join(&lexical, &rel)),
                            b,
                            &mut files,
                        )?;
                    }
                }
                Some(Entry::File(b)) => {
                    put(crate::gitops::join(&p.prefix, &lexical), b, &mut files)?;
                }
                _ => bail!(user(
                    format!(
                        "{origin}: artifact {:?}: path {path:?} does not exist",
                        a.name
                    ),
                    "paths are relative to the profile directory",
                )),
            }
        }
        let changelog = match (&v.upstream, &p.node.source.reference) {
            (Some(up), Some(r)) if p.node.source.version.is_some() => up.tag_message(r),
            _ => None,
        };
        profiles.push(BundledProfile {
            path: p.dir.clone(),
            name: p.node.def.name.clone(),
            artifacts: vec![p.artifact.clone()],
            version: p.node.source.version.clone(),
            tag: tag_of(p),
            changelog,
            source: p.node.source.clone(),
        });
    }
    if files.contains_key(bundle::MANIFEST) {
        bail!(user(
            format!(
                "the profile's repository has a file named {} at its root",
                bundle::MANIFEST
            ),
            "pctl export writes its manifest there: rename that file",
        ));
    }
    let manifest = Manifest {
        api_version: bundle::API_VERSION.into(),
        kind: bundle::KIND.into(),
        name: root.def.name.clone(),
        root: placed[0].dir.clone(),
        profiles,
        generated_by: format!("pctl {}", env!("CARGO_PKG_VERSION")),
    };
    files.insert(bundle::MANIFEST.into(), manifest.to_yaml()?.into_bytes());
    Ok((files, manifest))
}

/// `base/rel` normalised without following links; None when it leaves the top.
fn lexical(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            x => parts.push(x),
        }
    }
    Some(parts.join("/"))
}

/// Write `bytes` to a temporary file beside `path`, then rename it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        bail!(user(
            format!(
                "-o {}: directory {} does not exist",
                path.display(),
                parent.display()
            ),
            "create it first, or write the bundle elsewhere",
        ));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".pctl-export-")
        .tempfile_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tmp.persist(path)
        .map_err(|e| anyhow!(e.error).context(format!("cannot write {}", path.display())))?;
    Ok(())
}
