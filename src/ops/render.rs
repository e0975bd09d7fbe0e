//! `pctl render`: resolve and render a profile without a GitOps repository; print the
//! manifests, or write the installation's files into a directory (`-o DIR`).
use crate::error::{HintExt, user};
use crate::gitops::GitRepositoryRef;
use crate::ops::prepare;
use crate::{render, resolve, source};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;

pub struct RenderOptions {
    pub source: String,
    pub name: Option<String>,
    pub namespace: String,
    pub install_path: String,
    pub allow_dirty: bool,
    pub explain: bool,
    /// `-o DIR`: write the installation's files there instead of printing manifests.
    pub output: Option<std::path::PathBuf>,
    pub values: crate::ops::ValueOptions,
}

/// `--repo` (optional here) and `--offline` come from the context.
pub fn run(ctx: &crate::ops::Context, opts: RenderOptions) -> Result<()> {
    let p = ctx.printer();
    let spec = source::parse(&opts.source)?;
    // The GitOps repository, when there is one, supplies value profiles and global.yaml.
    let view = ctx.optional_view()?;
    let values = crate::ops::ValueOptions {
        cluster: crate::ops::cluster::values_cluster(view, opts.values.cluster.as_deref())?,
        ..opts.values.clone()
    };
    let inputs = crate::ops::gather_values(&values, view)?;
    let resolved = prepare::resolve(
        ctx,
        &spec,
        resolve::Options {
            allow_dirty: opts.allow_dirty,
            // `pctl render CATALOG/PROFILE --repo X` reads X's catalogs, as install does.
            catalog_repo: ctx.shared.repo.clone(),
            ..Default::default()
        },
    )?;
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| resolved.def.name.clone());
    let mut inputs = inputs;
    // Rendering an existing installation again: the values it recorded apply (level 3).
    if let (Some(view), Some(wanted)) = (view, &opts.name) {
        let existing = crate::ops::installations(view, p)?;
        if let Some((dir, inst)) = existing.iter().find(|(_, i)| &i.metadata.name == wanted) {
            let keys = render::parameter_keys(&resolved);
            inputs.recorded = crate::ops::upgrade::recorded_givens(inst, dir, &keys, false)
                .into_iter()
                .filter(|g| !crate::values::is_kept_secret(&g.value))
                .collect();
            p.info(&format!(
                "using the values recorded for installation {wanted} in {dir}/{}",
                crate::record::FILE
            ));
        }
    }
    let install_dir = crate::gitops::join(
        &crate::gitops::repo_dir("--install-path", &opts.install_path)?,
        &name,
    );
    let git_repository = GitRepositoryRef {
        name: "flux-system".into(),
        namespace: "flux-system".into(),
    };
    let render_opts = render::Options {
        name: name.clone(),
        namespace: opts.namespace.clone(),
        install_dir: install_dir.clone(),
        git_repository: git_repository.clone(),
        inputs: inputs.clone(),
        sops_yaml: match view {
            Some(v) => v.read_string(".sops.yaml")?,
            None => None,
        },
        secret_refs: opts.values.secret_refs()?,
        namespaces: Default::default(),
        flux_objects: None,
    };
    if opts.explain {
        let rows = render::explain(&resolved, &render_opts)?;
        p.table(&["PARAMETER", "TYPE", "VALUE", "SOURCE"], &rows);
        return Ok(());
    }
    let rendered = prepare::render_checked(&resolved, &render_opts)?;
    if let Some(dir) = &opts.output {
        write_tree(dir, &rendered.files)?;
        p.success(&format!(
            "wrote {} file(s) of installation {name} into {} (they belong in {install_dir}/ of a GitOps repository)",
            rendered.files.len(),
            dir.display()
        ));
    } else {
        p.data(&render::manifests(&rendered));
    }
    for note in &rendered.notes {
        p.info(&format!("next: {note}"));
    }
    Ok(())
}

/// Write `files` (paths relative to the installation directory) as the whole content
/// of `dir`. `dir` may be missing (it is created, with its parents), empty, or the
/// unchanged output of an earlier `render -o` (it has `profile-installation.yaml` and
/// only the files that record lists, as rendered): then it is replaced. Anything else
/// is refused. Files are written into a new sibling directory that is renamed into
/// place, so nothing is ever written outside `dir` and a failure leaves it as it was.
pub fn write_tree(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for rel in files.keys() {
        let safe = !rel.is_empty()
            && !rel.starts_with('/')
            && !rel.contains('\\')
            && rel
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..");
        if !safe {
            return Err(anyhow::Error::new(crate::error::Bug(format!(
                "rendered file path {rel:?} is not a plain relative path"
            ))));
        }
    }
    let shown = dir.display().to_string();
    let existing = match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => bail!(user(
            format!("-o {shown} is a symbolic link"),
            "give the real directory, or a new one"
        )),
        Ok(m) if !m.is_dir() => bail!(user(
            format!("-o {shown} exists and is not a directory"),
            "give a new or empty directory"
        )),
        Ok(_) => {
            check_replaceable(dir, &shown)?;
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => bail!(user(
            format!("-o {shown}: {e}"),
            "give a directory you can write to"
        )),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            user(
                format!("-o {shown} names no directory"),
                "give a directory such as ./out",
            )
        })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))
        .hint("give a directory you can write to")?;
    let stage = fresh_sibling(&parent, &name, "new")?;
    let written = (|| -> Result<()> {
        for (rel, bytes) in files {
            let path = stage.join(rel);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("cannot create {}", d.display()))?;
            }
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&stage);
        return Err(e);
    }
    if existing {
        let old = fresh_sibling(&parent, &name, "old")?;
        std::fs::remove_dir(&old).ok();
        if let Err(e) = std::fs::rename(dir, &old) {
            let _ = std::fs::remove_dir_all(&stage);
            bail!(user(
                format!("cannot replace {shown}: {e}"),
                "check its permissions"
            ));
        }
        if let Err(e) = std::fs::rename(&stage, dir) {
            let _ = std::fs::rename(&old, dir);
            let _ = std::fs::remove_dir_all(&stage);
            bail!(user(
                format!("cannot replace {shown}: {e}"),
                "check its permissions"
            ));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(e) = std::fs::rename(&stage, dir) {
        let _ = std::fs::remove_dir_all(&stage);
        bail!(user(
            format!("cannot create {shown}: {e}"),
            "give a directory you can write to"
        ));
    }
    Ok(())
}

/// A new empty directory `.<name>.pctl-<what>-<pid>-<n>` beside `dir`.
fn fresh_sibling(parent: &Path, name: &str, what: &str) -> Result<std::path::PathBuf> {
    for n in 0..1000 {
        let p = parent.join(format!(".{name}.pctl-{what}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(anyhow::anyhow!(e))
                    .with_context(|| format!("cannot create a directory in {}", parent.display()))
                    .hint("give a directory whose parent you can write to");
            }
        }
    }
    bail!(
        "cannot create a temporary directory in {}",
        parent.display()
    )
}

/// An existing `-o` directory may be replaced when it is empty or holds exactly an
/// earlier rendering, unchanged.
fn check_replaceable(dir: &Path, shown: &str) -> Result<()> {
    let mut found: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut odd: Vec<String> = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.with_context(|| format!("cannot read {shown}"))?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let ft = entry.file_type();
        if ft.is_symlink() {
            odd.push(format!("{rel} is a symbolic link"));
        } else if ft.is_file() {
            found.insert(
                rel,
                std::fs::read(entry.path())
                    .with_context(|| format!("cannot read {}", entry.path().display()))?,
            );
        }
    }
    if found.is_empty() && odd.is_empty() {
        return Ok(());
    }
    let record = found
        .get(crate::record::FILE)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| crate::record::Installation::from_yaml(crate::record::FILE, t).ok())
        .filter(|r| r.kind == crate::record::KIND);
    let Some(record) = record else {
        bail!(user(
            format!("-o {shown} is not empty and is not the output of pctl render -o"),
            "give a new or empty directory; pctl replaces only a directory it rendered before",
        ));
    };
    for (rel, bytes) in &found {
        if rel == crate::record::FILE {
            continue;
        }
        match record.spec.files.get(rel) {
            None => odd.push(format!("{rel} is not a rendered file")),
            Some(h) if *h != crate::record::sha256(bytes) => odd.push(format!("{rel} was edited")),
            _ => {}
        }
    }
    if !odd.is_empty() {
        odd.truncate(5);
        bail!(user(
            format!(
                "-o {shown} holds an earlier rendering with changes pctl would lose: {}",
                odd.join(", ")
            ),
            "move those files away or give another directory",
        ));
    }
    Ok(())
}
