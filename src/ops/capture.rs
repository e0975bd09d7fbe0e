//! `pctl capture`: read a directory of manifests as committed in a GitOps repository,
//! turn it into a profile with the capture core, and write the profile directory (all
//! of it, or nothing).
use crate::capture::{self, Input};
use crate::error::user;
use crate::git::Workspace;
use crate::gitops;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct CaptureOptions {
    /// The directory to capture: a path (or, with a remote `--repo`, a path inside it).
    pub dir: String,
    pub name: String,
    /// PROFILE_DIR: created; must not exist or be empty.
    pub output: PathBuf,
    pub parameterise: bool,
    pub repo: Option<String>,
}

/// The context gives the printer: capture finds its repository from DIR and `--repo`.
pub fn run(ctx: &crate::ops::Context, opts: CaptureOptions) -> Result<()> {
    if !crate::names::is_dns1123_label(&opts.name) {
        bail!(user(
            format!("--name {:?} is not a DNS-1123 label", opts.name),
            "use lower-case letters, digits and '-', at most 63 characters",
        ));
    }
    check_output(&opts.output)?;
    let (ws, rel) = locate(&opts)?;
    let view = ws.view()?;
    let files: BTreeMap<String, Vec<u8>> = view
        .files_below(&rel)?
        .into_iter()
        .map(|(k, v)| (strip(&rel, &k), v))
        .collect();
    if files.is_empty() {
        bail!(user(
            format!(
                "{} has no committed files in the GitOps repository {}",
                shown(&rel),
                ws.describe()
            ),
            "capture reads what is committed (what Flux applies): commit the directory first",
        ));
    }
    let config = if view.exists(gitops::CONFIG_PATH)? {
        gitops::load(&view, &ws.describe())?
    } else {
        gitops::Config::default()
    };
    let read_dir =
        |p: &str| -> Result<Option<BTreeMap<String, Vec<u8>>>> {
            let found = view.files_below(p)?;
            Ok((!found.is_empty())
                .then(|| found.into_iter().map(|(k, v)| (strip(p, &k), v)).collect()))
        };
    let captured = capture::capture(&Input {
        files,
        dir: rel.clone(),
        name: opts.name.clone(),
        parameterise: opts.parameterise,
        git_repository: config.git_repository.clone(),
        read_dir: &read_dir,
    })?;
    write_profile(&opts.output, &captured.files)?;

    let p = ctx.printer();
    p.data(&format!(
        "profile {} captured from {} into {}\n\n",
        opts.name,
        shown(&rel),
        opts.output.display()
    ));
    let rows: Vec<Vec<String>> = captured
        .artifacts
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.kind.clone(),
                a.detail.clone(),
                a.from.clone(),
            ]
        })
        .collect();
    p.table(&["ARTIFACT", "KIND", "DETAIL", "FROM"], &rows);
    if !captured.parameters.is_empty() {
        p.data("\n");
        let rows: Vec<Vec<String>> = captured
            .parameters
            .iter()
            .map(|x| {
                vec![
                    x.name.clone(),
                    x.kind.clone(),
                    if x.kind == "secret" {
                        "-".into()
                    } else {
                        x.default.clone()
                    },
                    x.from.clone(),
                ]
            })
            .collect();
        p.table(&["PARAMETER", "TYPE", "DEFAULT", "FROM"], &rows);
    }
    for n in &captured.notes {
        p.warn(n);
    }
    let secrets: Vec<String> = captured
        .parameters
        .iter()
        .filter(|x| x.kind == "secret")
        .map(|x| format!("--set-file {}=PATH", x.name))
        .collect();
    p.info(&format!(
        "next: commit {} to a profile repository and `pctl install` it{}",
        opts.output.display(),
        if secrets.is_empty() {
            String::new()
        } else {
            format!(
                " with {} (the GitOps repository needs a .sops.yaml with age recipients)",
                secrets.join(" ")
            )
        }
    ));
    Ok(())
}

fn shown(rel: &str) -> String {
    if rel.is_empty() {
        "the repository root".into()
    } else {
        rel.to_string()
    }
}

fn strip(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_string()
    } else {
        path.strip_prefix(&format!("{dir}/"))
            .unwrap_or(path)
            .to_string()
    }
}

/// PROFILE_DIR must not exist, or be an empty directory.
fn check_output(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!(user(
            format!("-o {} exists and is not a directory", out.display()),
            "name a new directory for the profile",
        ));
    }
    let mut entries =
        std::fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
    if entries.next().is_some() {
        bail!(user(
            format!("-o {} is not empty", out.display()),
            "capture writes a new profile: name a new or empty directory",
        ));
    }
    Ok(())
}

/// The GitOps repository and DIR relative to its root.
fn locate(opts: &CaptureOptions) -> Result<(Workspace, String)> {
    let remote = opts
        .repo
        .as_deref()
        .is_some_and(|r| r.contains("://") || (r.contains('@') && r.contains(':')));
    if remote {
        let ws = Workspace::open(opts.repo.as_deref())?;
        return Ok((ws, gitops::norm_dir(&opts.dir)?));
    }
    let mut path = PathBuf::from(&opts.dir);
    if let Some(r) = &opts.repo
        && path.is_relative()
        && !path.exists()
    {
        path = Path::new(r).join(&opts.dir);
    }
    if !path.exists() {
        bail!(user(
            format!("directory {} does not exist", opts.dir),
            "give the directory of manifests to capture (relative to the current directory, or to --repo)",
        ));
    }
    if !path.is_dir() {
        bail!(user(
            format!("{} is not a directory", opts.dir),
            "give the directory of manifests to capture",
        ));
    }
    let at = opts
        .repo
        .clone()
        .unwrap_or_else(|| path.display().to_string());
    let ws = Workspace::open(Some(&at)).map_err(|_| {
        user(
            format!("{at} is not inside a Git repository"),
            "capture reads a directory of a GitOps repository (the Git repository Flux syncs); pass --repo DIR",
        )
    })?;
    let root = ws
        .root()
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow::anyhow!("a local GitOps repository has a work tree"))?;
    let abs =
        std::fs::canonicalize(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let rel = abs
        .strip_prefix(&root)
        .map_err(|_| {
            user(
                format!(
                    "{} is not inside the GitOps repository {}",
                    opts.dir,
                    root.display()
                ),
                "give a directory of that repository, or the right --repo",
            )
        })?
        .to_string_lossy()
        .replace('\\', "/");
    if let Workspace::Local { repo, .. } = &ws {
        let dirty = crate::git::dirty_paths(repo, &rel)?;
        if !dirty.is_empty() {
            bail!(user(
                format!(
                    "{} has uncommitted changes ({})",
                    shown(&rel),
                    dirty.join(", ")
                ),
                "capture reads what is committed, as Flux does: commit or stash them first",
            ));
        }
    }
    Ok((ws, rel))
}

/// Write every file into a new directory beside `out`, then move it into place.
fn write_profile(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".pctl-capture-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    for (rel, bytes) in files {
        let path = tmp.path().join(rel);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot write in {}", parent.display()))?;
    }
    if out.exists() {
        std::fs::remove_dir(out).with_context(|| format!("cannot replace {}", out.display()))?;
    }
    let staged = tmp.keep();
    std::fs::rename(&staged, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        anyhow::anyhow!(e).context(format!("cannot create {}", out.display()))
    })?;
    Ok(())
}
