//! `pctl import`: unpack a bundle written by `pctl export` (refusing unsafe archives)
//! into a new profile repository: one commit holding every file, and the version tags
//! of the exported profile and of each vendored nested profile.
use crate::bundle::{self, Manifest};
use crate::error::user;
use crate::printer::Printer;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Largest manifest or `profile.yaml` read from a bundle.
const MAX_TEXT: u64 = 16 << 20;

pub struct ImportOptions {
    pub file: PathBuf,
    /// The repository to create: must not exist or be an empty directory.
    pub dir: PathBuf,
}

pub fn run(ctx: &crate::ops::Context, opts: ImportOptions) -> Result<()> {
    let origin = opts.file.display().to_string();
    let file = std::fs::File::open(&opts.file).map_err(|e| {
        user(
            format!("cannot read {origin}: {e}"),
            "give a bundle written by `pctl export SOURCE -o FILE.tar.gz`",
        )
    })?;
    check_dir(&opts.dir)?;

    // Unpack beside DIR (streamed: no file is held in memory), then move it into
    // place. The temporary directory goes away on any error.
    let parent = match opts.dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The outermost directory this creates: removed again on any error.
    let mut created = None;
    let mut d = parent.as_path();
    while !d.as_os_str().is_empty() && !d.exists() {
        created = Some(d.to_path_buf());
        d = d.parent().unwrap_or(Path::new(""));
    }
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let result = unpack_and_commit(ctx.printer(), &opts, &origin, file, &parent);
    if result.is_err()
        && let Some(c) = created
    {
        let _ = std::fs::remove_dir_all(c);
    }
    result
}

/// Unpack the bundle into a temporary directory in `parent`, check it, commit it and
/// move it to DIR.
fn unpack_and_commit(
    p: &Printer,
    opts: &ImportOptions,
    origin: &str,
    file: std::fs::File,
    parent: &Path,
) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(".pctl-import-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let root_dir = tmp.path().to_path_buf();
    let (top, files) = bundle::unpack_stream(
        origin,
        file,
        bundle::Limits::IMPORT,
        &mut |rel: &str, body: &mut dyn std::io::Read| -> Result<()> {
            let path = root_dir.join(rel);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("cannot create {}", d.display()))?;
            }
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            std::io::copy(body, &mut out)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(())
        },
    )?;
    let read_text = |rel: &str, shown: &str| -> Result<String> {
        let mut bytes = Vec::new();
        let f = std::fs::File::open(root_dir.join(rel))
            .with_context(|| format!("cannot read {shown}"))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_TEXT + 1), &mut bytes)
            .with_context(|| format!("cannot read {shown}"))?;
        if bytes.len() as u64 > MAX_TEXT {
            bail!(user(
                format!(
                    "{shown} is larger than {}, over the limit for a definition",
                    bundle::human(MAX_TEXT)
                ),
                "the bundle is damaged or unsafe",
            ));
        }
        String::from_utf8(bytes)
            .map_err(|_| user(format!("{shown} is not UTF-8"), "the bundle is damaged"))
    };
    let manifest_path = format!("{origin}:{top}/{}", bundle::MANIFEST);
    let text = read_text(bundle::MANIFEST, &manifest_path)?;
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
        if !files.contains(&file) {
            bail!(user(
                format!("{origin}: {file}, listed in its manifest, is missing"),
                "the bundle is damaged: export it again",
            ));
        }
        let def = read_text(&file, &format!("{origin}: {file}"))?;
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

    let list: Vec<String> = files.iter().cloned().collect();
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
