//! `pctl import`: unpack a bundle written by `pctl export` (refusing unsafe archives)
//! into a new profile repository: one commit holding every file, and the version tags
//! of the exported profile and of each vendored nested profile.
use crate::bundle::{self, Manifest};
use crate::error::user;
use crate::printer::printer;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

pub struct ImportOptions {
    pub file: PathBuf,
    /// The repository to create: must not exist or be an empty directory.
    pub dir: PathBuf,
}

pub fn run(opts: ImportOptions) -> Result<()> {
    let origin = opts.file.display().to_string();
    let bytes = std::fs::read(&opts.file).map_err(|e| {
        user(
            format!("cannot read {origin}: {e}"),
            "give a bundle written by `pctl export SOURCE -o FILE.tar.gz`",
        )
    })?;
    check_dir(&opts.dir)?;
    let (top, files) = bundle::unpack(&origin, &bytes)?;
    let manifest_path = format!("{origin}:{top}/{}", bundle::MANIFEST);
    let text = String::from_utf8(files[bundle::MANIFEST].clone()).map_err(|_| {
        user(
            format!("{manifest_path} is not UTF-8"),
            "the bundle is damaged",
        )
    })?;
    let manifest = Manifest::from_yaml(&manifest_path, &text)?;
    if manifest.profiles.first().map(|p| &p.path) != Some(&manifest.root) {
        bail!(user(
            format!(
                "{manifest_path}: the exported profile {:?} is not listed first",
                manifest.root
            ),
            "the bundle's manifest is damaged: export it again",
        ));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for p in &manifest.profiles {
        let file = crate::gitops::join(&p.path, "profile.yaml");
        let Some(def) = files.get(&file) else {
            bail!(user(
                format!("{origin}: {file}, listed in its manifest, is missing"),
                "the bundle is damaged: export it again",
            ));
        };
        let def = String::from_utf8(def.clone()).map_err(|_| {
            user(
                format!("{origin}: {file} is not UTF-8"),
                "the bundle is damaged",
            )
        })?;
        let dir_name = p.path.rsplit('/').next().filter(|s| !s.is_empty());
        crate::model::parse(&format!("{origin}:{file}"), &def, dir_name)?;
        if let (Some(tag), Some(version)) = (&p.tag, &p.version) {
            if tag != &bundle::version_tag(&p.path, version) {
                bail!(user(
                    format!(
                        "{manifest_path}: tag {tag:?} does not match {} version {version}",
                        p.path
                    ),
                    "the bundle's manifest is damaged: export it again",
                ));
            }
            let message = p.changelog.clone().unwrap_or_else(|| {
                format!(
                    "{} {version}\n\nImported by pctl from {} ({}).\n",
                    p.name,
                    p.source.url,
                    p.source.commit.as_deref().unwrap_or("uncommitted")
                )
            });
            if !tags.iter().any(|(t, _)| t == tag) {
                tags.push((tag.clone(), message));
            }
        }
    }
    let root = &manifest.profiles[0];
    let label = match &root.version {
        Some(v) => format!("{} {v}", manifest.name),
        None => manifest.name.clone(),
    };

    // Build the repository beside DIR, then move it into place.
    let parent = match opts.dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".pctl-import-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    for (rel, b) in &files {
        let path = tmp.path().join(rel);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        std::fs::write(&path, b).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let list: Vec<String> = files.keys().cloned().collect();
    let commit = crate::git::create_with_tags(
        tmp.path(),
        &list,
        &format!("pctl: import {label}\n\nFrom {}.\n", root.source.url),
        &tags,
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot write in {}", parent.display()))?;
    }
    if opts.dir.exists() {
        std::fs::remove_dir(&opts.dir)
            .with_context(|| format!("cannot replace {}", opts.dir.display()))?;
    }
    let staged = tmp.keep();
    std::fs::rename(&staged, &opts.dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        anyhow::anyhow!(e).context(format!("cannot create {}", opts.dir.display()))
    })?;

    let p = printer();
    let rows: Vec<Vec<String>> = manifest
        .profiles
        .iter()
        .map(|x| {
            vec![
                x.name.clone(),
                x.path.clone(),
                x.tag.clone().unwrap_or_else(|| "-".into()),
                x.source.url.clone(),
            ]
        })
        .collect();
    p.table(&["PROFILE", "PATH", "TAG", "FROM"], &rows);
    p.success(&format!(
        "imported {label} into {} (commit {}, {} tag(s))",
        opts.dir.display(),
        &commit.to_string()[..12],
        tags.len()
    ));
    let abs = std::fs::canonicalize(&opts.dir).unwrap_or(opts.dir.clone());
    p.info(&format!(
        "next: pctl install file://{}{}{} --name NAME",
        abs.display(),
        if root.path.is_empty() {
            String::new()
        } else {
            format!("//{}", root.path)
        },
        root.version
            .as_deref()
            .map(|v| format!("@{v}"))
            .unwrap_or_default()
    ));
    Ok(())
}

/// DIR must not exist, or be an empty directory.
fn check_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        bail!(user(
            format!("{} exists and is not a directory", dir.display()),
            "name a new directory for the imported repository",
        ));
    }
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(user(
            format!("{} is not empty", dir.display()),
            "import creates a new repository: name a new or empty directory",
        ));
    }
    Ok(())
}
