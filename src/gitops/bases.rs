//! Fleet bases (docs/fleets.md#one-install-several-clusters-one-copy): when one install
//! writes an installation into several clusters, what is byte-identical in every
//! cluster (an artifact's files, a copied local chart) is stored once, in a base
//! directory, and each cluster's wrapper or HelmRelease points at it. Pure: folds the
//! clusters' renderings into the files of one commit, and maps a recorded path of an
//! installation (`artifacts/<id>/…`) to the repository path where its bytes are
//! ([`physical`]) and back ([`logical`]). A wrapper that is the same in every cluster
//! too (an artifact shared whole, every cluster with the same Flux source) is stored
//! once as well, in `<base>.flux/` ([`wrapper_dir`]); its recorded path stays
//! `artifacts/<id>/kustomize-flux.yaml`, and the `kustomization.yaml` naming it is
//! recorded as `artifacts/<id>.flux/kustomization.yaml` (artifact ids are DNS-1123
//! labels, so no artifact has that directory).
use crate::error::Bug;
use crate::record::{self, BaseRecord, Holds, Installation};
use crate::render::{Rendered, WRAPPER_FILE};
use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// Where bases go when `.pctl/config.yaml` has no `basesPath`.
pub const DEFAULT_PATH: &str = "bases";

/// What a shared wrapper's directory is called: the base's path with this suffix.
pub const FLUX_SUFFIX: &str = ".flux";

/// The directory holding the wrapper of the artifact in base `b`, when it is shared too
/// (`b.wrapper`): `<b.path>.flux`, with `kustomization.yaml` naming `kustomize-flux.yaml`.
pub fn wrapper_dir(b: &BaseRecord) -> String {
    format!("{}{FLUX_SUFFIX}", b.path)
}

/// The artifact id and the rest of a recorded path `artifacts/<id>/<rest>`.
fn split(rel: &str) -> Option<(&str, &str)> {
    rel.strip_prefix("artifacts/")?.split_once('/')
}

/// Whether `rest` (a path inside `artifacts/<id>/`) is stored in a base holding `holds`.
fn in_base(holds: Holds, rest: &str) -> bool {
    match holds {
        Holds::Artifact => rest != WRAPPER_FILE,
        Holds::Chart => rest.starts_with("chart/"),
    }
}

/// The repository path of the recorded path `rel` (relative to the installation in
/// `dir`): in the artifact's base when one holds it, else below `dir`. Every reader of
/// an installation's files goes through this.
pub fn physical(dir: &str, bases: &BTreeMap<String, BaseRecord>, rel: &str) -> String {
    if let Some((id, rest)) = split(rel) {
        if let Some(b) = bases.get(id) {
            if b.wrapper && rest == WRAPPER_FILE {
                return flux_join(b, rest);
            }
            if in_base(b.holds, rest) {
                return super::join(&b.path, rest);
            }
        }
        if let Some(b) = id.strip_suffix(FLUX_SUFFIX).and_then(|id| bases.get(id))
            && b.wrapper
        {
            return flux_join(b, rest);
        }
    }
    super::join(dir, rel)
}

/// `<wrapper_dir(b)>/<rest>` in one allocation.
fn flux_join(b: &BaseRecord, rest: &str) -> String {
    let mut out = String::with_capacity(b.path.len() + FLUX_SUFFIX.len() + 1 + rest.len());
    out.push_str(&b.path);
    out.push_str(FLUX_SUFFIX);
    out.push('/');
    out.push_str(rest);
    out
}

/// The recorded path (relative to the installation in `dir`) of the repository path
/// `path` (a file or a directory): the inverse of [`physical`]. None: neither below
/// `dir` nor in one of its bases.
pub fn logical(dir: &str, bases: &BTreeMap<String, BaseRecord>, path: &str) -> Option<String> {
    // Without allocating for the bases that do not hold `path`: the ownership scan of
    // every cluster asks this of every object it reads.
    for (id, b) in bases.iter().filter(|(_, b)| b.wrapper) {
        let Some(rest) = path
            .strip_prefix(b.path.as_str())
            .and_then(|r| r.strip_prefix(FLUX_SUFFIX))
        else {
            continue;
        };
        match rest {
            "" => return Some(format!("artifacts/{id}{FLUX_SUFFIX}")),
            _ => match rest.strip_prefix('/') {
                None => {}
                Some(WRAPPER_FILE) => return Some(format!("artifacts/{id}/{WRAPPER_FILE}")),
                Some(rest) => return Some(format!("artifacts/{id}{FLUX_SUFFIX}/{rest}")),
            },
        }
    }
    for (id, b) in bases {
        let Some(rest) = path.strip_prefix(b.path.as_str()) else {
            continue;
        };
        let rest = match rest {
            "" => "",
            _ => match rest.strip_prefix('/') {
                Some(r) => r,
                None => continue,
            },
        };
        if rest.is_empty() {
            return Some(format!("artifacts/{id}"));
        }
        if in_base(b.holds, rest) || (b.holds == Holds::Chart && rest == "chart") {
            return Some(format!("artifacts/{id}/{rest}"));
        }
    }
    if path == dir {
        return Some(String::new());
    }
    path.strip_prefix(dir)
        .and_then(|r| r.strip_prefix('/'))
        .map(str::to_string)
}

/// The files of artifact `id` that a base holding `holds` would store, by `rest`.
fn unit<'a>(r: &'a Rendered, id: &str, holds: Holds) -> BTreeMap<&'a str, &'a [u8]> {
    let prefix = format!("artifacts/{id}/");
    r.files
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|rest| (rest, v.as_slice())))
        .filter(|(rest, _)| in_base(holds, rest))
        .collect()
}

/// The same in every rendering (and not empty).
fn same(renders: &[&Rendered], id: &str, holds: Holds) -> bool {
    let first = unit(renders[0], id, holds);
    !first.is_empty() && renders[1..].iter().all(|r| unit(r, id, holds) == first)
}

/// Which artifacts the renderings of one installation in several clusters can share,
/// with the base directory of each: `<root>/<id>` (`root` is the installation's
/// version directory below the bases path). An artifact whose files (all but its
/// wrapper) are byte-identical in every cluster is shared whole; a local chart whose
/// copied chart is identical is shared as a chart, and whole when its HelmRelease is
/// identical too once it points at the shared chart.
pub fn plan(renders: &[&Rendered], root: &str) -> Result<BTreeMap<String, BaseRecord>> {
    let mut out = BTreeMap::new();
    if renders.len() < 2 {
        return Ok(out);
    }
    for leaf in &renders[0].leaves {
        let everywhere = renders[1..].iter().all(|r| {
            r.leaves
                .iter()
                .any(|l| l.id == leaf.id && l.kind == leaf.kind)
        });
        if !everywhere {
            continue;
        }
        let path = super::join(root, &leaf.id);
        if leaf.kind == "local chart" {
            if !same(renders, &leaf.id, Holds::Chart) {
                continue;
            }
            // Point every HelmRelease at the shared chart, then compare the rest
            // (only this artifact's files are copied).
            let pointed: Vec<BTreeMap<String, Vec<u8>>> = renders
                .iter()
                .map(|r| pointed_unit(r, &leaf.id, &path))
                .collect::<Result<_>>()?;
            let holds = if pointed[1..].iter().all(|p| *p == pointed[0]) {
                Holds::Artifact
            } else {
                Holds::Chart
            };
            let wrapper = holds == Holds::Artifact && same_wrapper(renders, &leaf.id, &path)?;
            out.insert(
                leaf.id.clone(),
                BaseRecord {
                    path,
                    holds,
                    wrapper,
                },
            );
        } else if same(renders, &leaf.id, Holds::Artifact) {
            let wrapper = same_wrapper(renders, &leaf.id, &path)?;
            out.insert(
                leaf.id.clone(),
                BaseRecord {
                    path,
                    holds: Holds::Artifact,
                    wrapper,
                },
            );
        }
    }
    Ok(out)
}

/// The wrapper of artifact `id` of `r` pointed at the base in `base`.
fn pointed_wrapper(r: &Rendered, id: &str, base: &str) -> Result<Vec<u8>> {
    let path = format!("artifacts/{id}/{WRAPPER_FILE}");
    let mut one: BTreeMap<String, Vec<u8>> = r
        .files
        .get(&path)
        .map(|b| (path.clone(), b.clone()))
        .into_iter()
        .collect();
    let from = format!("{}/artifacts/{id}", r.record.spec.path);
    repoint(&mut one, &path, &from, base)?;
    Ok(one.remove(&path).unwrap_or_default())
}

/// Whether every rendering's wrapper of artifact `id`, once pointed at the base in
/// `base`, is byte for byte the same: then it too is stored once.
fn same_wrapper(renders: &[&Rendered], id: &str, base: &str) -> Result<bool> {
    let first = pointed_wrapper(renders[0], id, base)?;
    for r in &renders[1..] {
        if pointed_wrapper(r, id, base)? != first {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `../` once for every directory of `dir`: from `dir` back to the repository root.
fn up(dir: &str) -> String {
    "../".repeat(dir.split('/').filter(|p| !p.is_empty()).count())
}

/// The files of the local-chart artifact `id` of `r` but its wrapper, by `rest`, with
/// its HelmRelease pointed at the chart in `base`.
fn pointed_unit(r: &Rendered, id: &str, base: &str) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files: BTreeMap<String, Vec<u8>> = unit(r, id, Holds::Artifact)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    let from = format!("{}/artifacts/{id}/chart", r.record.spec.path);
    repoint(
        &mut files,
        "helm-release.yaml",
        &from,
        &format!("{base}/chart"),
    )?;
    Ok(files)
}

/// Replace the one occurrence of `: ./<from>\n` in `files[path]` by `: ./<to>\n`.
fn repoint(files: &mut BTreeMap<String, Vec<u8>>, path: &str, from: &str, to: &str) -> Result<()> {
    let Some(bytes) = files.get_mut(path) else {
        bail!(Bug(format!("fleet bases: {path} is not in the rendering")));
    };
    let Some(new) = crate::render::repointed(bytes, from, to) else {
        bail!(Bug(format!(
            "fleet bases: {path} does not name ./{from} exactly once"
        )));
    };
    *bytes = new;
    Ok(())
}

/// Point a rendering at its bases: the wrapper of an artifact shared whole at the base
/// directory, the HelmRelease of a shared local chart at the base's chart; record the
/// bases and the new hashes in the record. Applied to a rendering of the recorded
/// bases, it gives back the files as they were written (upgrade's merge base).
///
/// A rendering without its record file (`Rendered::relocated_unrecorded`) gets it
/// here, with the hashes of the files its record lacks.
pub fn apply(r: &mut Rendered, bases: &BTreeMap<String, BaseRecord>) -> Result<()> {
    apply_like(r, bases, None)
}

/// [`apply`] to a rendering moved from `like` (`Rendered::relocated_unrecorded`),
/// which has its bases already: when the two records differ only in their `path`, the
/// record's text is `like`'s with that line changed (a fleet install's clusters would
/// each serialize theirs again).
pub fn apply_like(
    r: &mut Rendered,
    bases: &BTreeMap<String, BaseRecord>,
    like: Option<&Rendered>,
) -> Result<()> {
    if bases.is_empty() && r.record.spec.bases.is_empty() && r.files.contains_key(record::FILE) {
        return Ok(());
    }
    let dir = r.record.spec.path.clone();
    // The files changed here: only these are hashed again (a fleet install applies
    // its bases to the rendering of every cluster; the rest were hashed by `render`).
    let mut touched = std::collections::BTreeSet::new();
    // The installation's kustomization names each shared wrapper's directory: its
    // lines rewritten in one pass.
    let shared: BTreeMap<String, &BaseRecord> = bases
        .iter()
        .filter(|(_, b)| b.wrapper)
        .map(|(id, b)| (["- artifacts/", id, "/", WRAPPER_FILE].concat(), b))
        .collect();
    if !shared.is_empty() {
        let Some(k) = r.files.get("kustomization.yaml") else {
            bail!(Bug(
                "fleet bases: no kustomization.yaml in the rendering".into()
            ));
        };
        let text = String::from_utf8_lossy(k);
        let up = up(&dir);
        let mut named: BTreeMap<&str, usize> = BTreeMap::new();
        let mut new = String::with_capacity(text.len() * 2);
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let b = line
                .strip_suffix('\n')
                .filter(|_| i > 0)
                .and_then(|l| shared.get_key_value(l));
            match b {
                Some((l, b)) => {
                    *named.entry(l.as_str()).or_default() += 1;
                    new.push_str("- ");
                    new.push_str(&up);
                    new.push_str(&wrapper_dir(b));
                    new.push('\n');
                }
                None => new.push_str(line),
            }
        }
        if let Some(id) = bases
            .iter()
            .filter(|(_, b)| b.wrapper)
            .map(|(id, _)| id)
            .find(|id| {
                named.get(["- artifacts/", id, "/", WRAPPER_FILE].concat().as_str()) != Some(&1)
            })
        {
            bail!(Bug(format!(
                "fleet bases: kustomization.yaml does not name the wrapper of {id} exactly once"
            )));
        }
        r.files
            .insert("kustomization.yaml".into(), new.into_bytes());
        touched.insert("kustomization.yaml".to_string());
    }
    let flux_kustomization = super::kustomization(&[WRAPPER_FILE.to_string()])?;
    for (id, b) in bases {
        let from = [dir.as_str(), "/artifacts/", id].concat();
        if b.holds == Holds::Artifact {
            let wrapper = ["artifacts/", id, "/", WRAPPER_FILE].concat();
            repoint(&mut r.files, &wrapper, &from, &b.path)?;
            touched.insert(wrapper);
        }
        if b.wrapper {
            let flux = ["artifacts/", id, FLUX_SUFFIX, "/kustomization.yaml"].concat();
            r.files.insert(flux.clone(), flux_kustomization.clone());
            touched.insert(flux);
        }
        let release = ["artifacts/", id, "/helm-release.yaml"].concat();
        let local = r
            .leaves
            .iter()
            .any(|l| l.id == *id && l.kind == "local chart");
        if local {
            repoint(
                &mut r.files,
                &release,
                &[from.as_str(), "/chart"].concat(),
                &[b.path.as_str(), "/chart"].concat(),
            )?;
            touched.insert(release);
        }
    }
    r.files.remove(record::FILE);
    r.record.spec.bases = bases.clone();
    let mut hashes = std::mem::take(&mut r.record.spec.files);
    hashes.retain(|k, _| r.files.contains_key(k));
    for (k, v) in &r.files {
        if touched.contains(k) || !hashes.contains_key(k) {
            hashes.insert(k.clone(), record::sha256(v));
        }
    }
    r.record.spec.files = hashes;
    let text = match like.and_then(|l| crate::render::record_like(r, l)) {
        Some(text) => text,
        None => r.record.to_yaml()?,
    };
    r.files.insert(record::FILE.into(), text.into_bytes());
    Ok(())
}

/// Which of an installation's recorded `bases` a new rendering `r` (without bases) can
/// keep using: those whose files, with `r` pointed at them, are byte for byte what the
/// base holds `now` (repository path -> bytes of the files below every base) or what
/// was rendered into it `before` (the installed rendering, pointed at its bases: then
/// the three-way merge keeps the base's files, edits by hand included). A base no
/// longer matching (an upgrade, values of this cluster only) is dropped, and the
/// rendering gets its own copy; a local chart shared whole may still share its chart.
pub fn keep(
    r: &Rendered,
    bases: &BTreeMap<String, BaseRecord>,
    now: &BTreeMap<String, Vec<u8>>,
    before: &Rendered,
) -> Result<BTreeMap<String, BaseRecord>> {
    let mut kept = BTreeMap::new();
    for (id, b) in bases {
        if !r.leaves.iter().any(|l| l.id == *id) {
            continue;
        }
        let local = r
            .leaves
            .iter()
            .any(|l| l.id == *id && l.kind == "local chart");
        let mut tries = vec![b.holds];
        if local && b.holds == Holds::Artifact {
            tries.push(Holds::Chart);
        }
        for holds in tries {
            let want: BTreeMap<String, Vec<u8>> = match holds {
                Holds::Artifact if local => pointed_unit(r, id, &b.path)?,
                _ => unit(r, id, holds)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_vec()))
                    .collect(),
            };
            let prefix = format!("{}/", b.path);
            let there: BTreeMap<String, Vec<u8>> = now
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|rest| (rest, v)))
                .filter(|(rest, _)| in_base(holds, rest))
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let was: BTreeMap<String, Vec<u8>> = unit(before, id, holds)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_vec()))
                .collect();
            if !want.is_empty() && (want == there || want == was) {
                // The shared wrapper too, while this rendering's is what it holds or
                // what was installed there.
                let wrapper = b.wrapper && holds == Holds::Artifact && {
                    let mine = pointed_wrapper(r, id, &b.path)?;
                    let rel = format!("artifacts/{id}/{WRAPPER_FILE}");
                    now.get(&super::join(&wrapper_dir(b), WRAPPER_FILE)) == Some(&mine)
                        || before.files.get(&rel) == Some(&mine)
                };
                kept.insert(
                    id.clone(),
                    BaseRecord {
                        path: b.path.clone(),
                        holds,
                        wrapper,
                    },
                );
                break;
            }
        }
    }
    Ok(kept)
}

/// The files of the installation in `dir` by recorded path, from repository files
/// (`repo`: path -> bytes, covering its directory and its `bases`), each HelmRelease of
/// a shared chart pointed back at `artifacts/<id>/chart`: the installation as one
/// directory, for what reads it so (the in-cluster diff of `helm template`).
pub fn gather(
    dir: &str,
    bases: &BTreeMap<String, BaseRecord>,
    repo: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = repo
        .iter()
        .filter_map(|(p, b)| Some((logical(dir, bases, p)?, b.clone())))
        .filter(|(rel, _)| !rel.is_empty())
        .collect();
    for (id, b) in bases {
        let release = format!("artifacts/{id}/helm-release.yaml");
        if let Some(bytes) = out.get_mut(&release) {
            let text = String::from_utf8_lossy(bytes).replacen(
                &format!(": ./{}/chart\n", b.path),
                &format!(": ./{dir}/artifacts/{id}/chart\n"),
                1,
            );
            *bytes = text.into_bytes();
        }
    }
    out
}

/// The files of several installations as the repository stores them: each file at
/// its [`physical`] path, a shared file once. A shared path given two different
/// contents is a bug.
pub fn fold(renders: &[Rendered]) -> Result<BTreeMap<String, Vec<u8>>> {
    Ok(fold_refs(renders)?
        .into_iter()
        .map(|(k, v)| (k, v.to_vec()))
        .collect())
}

/// [`fold`] without copying the files: the bytes stay the renderings' (an install's
/// largest files are copied once, into the change, not once more per step).
pub fn fold_refs<'a>(
    renders: impl IntoIterator<Item = &'a Rendered>,
) -> Result<BTreeMap<String, &'a [u8]>> {
    let mut out: BTreeMap<String, &'a [u8]> = BTreeMap::new();
    for r in renders {
        let dir = &r.record.spec.path;
        for (rel, bytes) in &r.files {
            let path = physical(dir, &r.record.spec.bases, rel);
            match out.get(&path) {
                Some(b) if *b != bytes.as_slice() => bail!(Bug(format!(
                    "fleet bases: {path} would hold two different contents"
                ))),
                _ => {
                    out.insert(path, bytes.as_slice());
                }
            }
        }
    }
    Ok(out)
}

/// The directory of an installation's bases: `<bases>/<name>/<version>`, with `-2`,
/// `-3`, … when `taken` says that one is in use.
pub fn version_dir(
    bases_path: &str,
    name: &str,
    version: &str,
    taken: &dyn Fn(&str) -> Result<bool>,
) -> Result<String> {
    let clean: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches(|c| c == '.' || c == '-');
    let clean = if clean.is_empty() {
        "unversioned"
    } else {
        clean
    };
    let first = super::join(&super::join(bases_path, name), clean);
    let mut dir = first.clone();
    let mut n = 2;
    while taken(&dir)? {
        dir = format!("{first}-{n}");
        n += 1;
    }
    Ok(dir)
}

/// The base directories `inst` uses, shared wrappers' directories included.
pub fn dirs(inst: &Installation) -> impl Iterator<Item = String> + '_ {
    base_dirs(&inst.spec.bases)
}

/// The directories of `bases`: each base's, and its wrapper's when that is shared too.
pub fn base_dirs(bases: &BTreeMap<String, BaseRecord>) -> impl Iterator<Item = String> + '_ {
    bases
        .values()
        .flat_map(|b| std::iter::once(b.path.clone()).chain(b.wrapper.then(|| wrapper_dir(b))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases() -> BTreeMap<String, BaseRecord> {
        BTreeMap::from([
            (
                "app".to_string(),
                BaseRecord {
                    path: "bases/web/1.0.0/app".into(),
                    holds: Holds::Chart,
                    wrapper: false,
                },
            ),
            (
                "raw".to_string(),
                BaseRecord {
                    path: "bases/web/1.0.0/raw".into(),
                    holds: Holds::Artifact,
                    wrapper: false,
                },
            ),
        ])
    }

    #[test]
    fn recorded_paths_map_to_their_bases_and_back() {
        let b = bases();
        let dir = "clusters/a/profiles/web";
        for (rel, want) in [
            (
                "artifacts/app/chart/Chart.yaml",
                "bases/web/1.0.0/app/chart/Chart.yaml",
            ),
            (
                "artifacts/app/helm-release.yaml",
                "clusters/a/profiles/web/artifacts/app/helm-release.yaml",
            ),
            ("artifacts/raw/cm.yaml", "bases/web/1.0.0/raw/cm.yaml"),
            (
                "artifacts/raw/kustomize-flux.yaml",
                "clusters/a/profiles/web/artifacts/raw/kustomize-flux.yaml",
            ),
            (
                "artifacts/rawer/cm.yaml",
                "clusters/a/profiles/web/artifacts/rawer/cm.yaml",
            ),
            (
                "kustomization.yaml",
                "clusters/a/profiles/web/kustomization.yaml",
            ),
        ] {
            assert_eq!(physical(dir, &b, rel), want, "{rel}");
            assert_eq!(logical(dir, &b, want).as_deref(), Some(rel), "{want}");
        }
        assert_eq!(
            logical(dir, &b, "bases/web/1.0.0/raw").as_deref(),
            Some("artifacts/raw")
        );
        assert_eq!(
            logical(dir, &b, "bases/web/1.0.0/app/chart").as_deref(),
            Some("artifacts/app/chart")
        );
        assert_eq!(logical(dir, &b, "bases/web/1.0.0/rawer/x"), None);
        assert_eq!(logical(dir, &b, "clusters/b/profiles/web/x"), None);
        assert_eq!(physical(dir, &BTreeMap::new(), "a/b"), format!("{dir}/a/b"));
    }

    /// A rendering of installation `shop` in `clusters/<c>/shop` with a local chart
    /// `front` (values `replicas`) and plain YAML `static`.
    fn rendering(c: &str, replicas: u32, catalog: &str) -> Rendered {
        let dir = format!("clusters/{c}/shop");
        let text = format!(
            "apiVersion: pctl.dev/v1alpha1\nkind: ProfileInstallation\nmetadata: {{name: shop}}\nspec:\n  namespace: shop\n  path: {dir}\n  profile: shop\n  source: {{url: 'file:///r'}}\n  files: {{}}\n  generatedBy: pctl\n"
        );
        let record = Installation::from_yaml("t", &text).unwrap();
        let mut files = BTreeMap::new();
        for (k, v) in [
            (
                "artifacts/front/chart/Chart.yaml".to_string(),
                "name: shop\n".to_string(),
            ),
            (
                "artifacts/front/helm-release.yaml".into(),
                format!("spec:\n  chart: ./{dir}/artifacts/front/chart\n  replicas: {replicas}\n"),
            ),
            (
                "artifacts/front/kustomize-flux.yaml".into(),
                format!("spec:\n  path: ./{dir}/artifacts/front\n"),
            ),
            ("artifacts/static/catalog.yaml".into(), catalog.to_string()),
            (
                "artifacts/static/kustomize-flux.yaml".into(),
                format!("spec:\n  path: ./{dir}/artifacts/static\n"),
            ),
        ] {
            files.insert(k, v.into_bytes());
        }
        files.insert(
            "kustomization.yaml".into(),
            crate::gitops::kustomization(&[
                "artifacts/front/kustomize-flux.yaml".to_string(),
                "artifacts/static/kustomize-flux.yaml".to_string(),
            ])
            .unwrap(),
        );
        let leaf = |id: &str, kind: &'static str| crate::render::Leaf {
            id: id.into(),
            object: format!("shop-{id}"),
            depends_on: vec![],
            kind,
        };
        Rendered {
            files,
            record,
            leaves: vec![leaf("front", "local chart"), leaf("static", "kustomize")],
            notes: vec![],
            sealed: BTreeMap::new(),
            relocatable: false,
        }
    }

    #[test]
    fn what_is_the_same_everywhere_is_stored_once() {
        let root = "bases/shop/1.0.0";
        // Same values everywhere: both artifacts whole.
        let mut same = vec![rendering("a", 1, "x"), rendering("b", 1, "x")];
        let shared = plan(&same.iter().collect::<Vec<_>>(), root).unwrap();
        assert_eq!(shared["front"].holds, Holds::Artifact);
        assert_eq!(shared["static"].holds, Holds::Artifact);
        for r in &mut same {
            apply(r, &shared).unwrap();
        }
        let files = fold(&same).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&files["bases/shop/1.0.0/front/helm-release.yaml"]),
            "spec:\n  chart: ./bases/shop/1.0.0/front/chart\n  replicas: 1\n"
        );
        // The wrappers too are the same everywhere: stored once, beside their bases,
        // and each cluster's kustomization.yaml names their directories.
        assert!(shared["static"].wrapper && shared["front"].wrapper);
        assert_eq!(
            String::from_utf8_lossy(&files["bases/shop/1.0.0/static.flux/kustomize-flux.yaml"]),
            "spec:\n  path: ./bases/shop/1.0.0/static\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&files["bases/shop/1.0.0/static.flux/kustomization.yaml"]),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- kustomize-flux.yaml\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&files["clusters/b/shop/kustomization.yaml"]),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../../bases/shop/1.0.0/front.flux\n- ../../../bases/shop/1.0.0/static.flux\n"
        );
        assert!(
            !files.keys().any(|k| k.contains("/artifacts/")),
            "{:#?}",
            files.keys()
        );
        assert!(files.contains_key("clusters/a/shop/profile-installation.yaml"));
        // Bases: the chart, the release, the catalog and two wrapper directories;
        // per cluster: the record and the kustomization.
        assert_eq!(files.len(), 3 + 2 * 2 + 2 * 2, "{:#?}", files.keys());
        for (rel, path) in [
            (
                "artifacts/static/kustomize-flux.yaml",
                "bases/shop/1.0.0/static.flux/kustomize-flux.yaml",
            ),
            (
                "artifacts/static.flux/kustomization.yaml",
                "bases/shop/1.0.0/static.flux/kustomization.yaml",
            ),
        ] {
            assert_eq!(physical("clusters/b/shop", &shared, rel), path);
            assert_eq!(
                logical("clusters/b/shop", &shared, path).as_deref(),
                Some(rel)
            );
        }
        assert_eq!(
            logical("clusters/b/shop", &shared, "bases/shop/1.0.0/static.flux").as_deref(),
            Some("artifacts/static.flux")
        );
        // The record hashes what is written and says where.
        let rec = &same[1].record.spec;
        assert_eq!(rec.bases, shared);
        assert_eq!(
            rec.files["artifacts/static/kustomize-flux.yaml"],
            record::sha256(b"spec:\n  path: ./bases/shop/1.0.0/static\n")
        );

        // Other values in b: the chart is shared, the HelmRelease is not; a different
        // catalog stays in each cluster.
        let mut differ = vec![rendering("a", 1, "x"), rendering("b", 3, "y")];
        let shared2 = plan(&differ.iter().collect::<Vec<_>>(), root).unwrap();
        assert_eq!(shared2["front"].holds, Holds::Chart);
        assert!(!shared2.contains_key("static"));
        assert!(!shared2["front"].wrapper);
        for r in &mut differ {
            apply(r, &shared2).unwrap();
        }
        let files = fold(&differ).unwrap();
        assert!(files.contains_key("bases/shop/1.0.0/front/chart/Chart.yaml"));
        assert!(files.contains_key("clusters/b/shop/artifacts/front/helm-release.yaml"));
        assert!(files.contains_key("clusters/b/shop/artifacts/static/catalog.yaml"));
        assert!(
            String::from_utf8_lossy(&files["clusters/b/shop/artifacts/front/helm-release.yaml"])
                .contains("chart: ./bases/shop/1.0.0/front/chart\n")
        );
        // One cluster: nothing is shared.
        assert!(plan_one_is_empty());
    }

    #[test]
    fn gathered_files_read_as_one_directory() {
        let mut two = vec![rendering("a", 1, "x"), rendering("b", 2, "x")];
        let bases = plan(&two.iter().collect::<Vec<_>>(), "bases/shop/1.0.0").unwrap();
        for r in &mut two {
            apply(r, &bases).unwrap();
        }
        let repo = fold(&two).unwrap();
        let got = gather("clusters/b/shop", &bases, &repo);
        let plain = rendering("b", 2, "x");
        for rel in [
            "artifacts/front/chart/Chart.yaml",
            "artifacts/front/helm-release.yaml",
            "artifacts/static/catalog.yaml",
        ] {
            assert_eq!(got.get(rel), plain.files.get(rel), "{rel}");
        }
        assert!(!got.keys().any(|k| k.starts_with("clusters/")), "{got:?}");
    }

    fn plan_one_is_empty() -> bool {
        plan(&[&rendering("a", 1, "x")], "b").unwrap().is_empty()
    }

    #[test]
    fn a_new_rendering_keeps_the_bases_it_matches() {
        let root = "bases/shop/1.0.0";
        let mut two = vec![rendering("a", 1, "x"), rendering("b", 1, "x")];
        let bases = plan(&two.iter().collect::<Vec<_>>(), root).unwrap();
        for r in &mut two {
            apply(r, &bases).unwrap();
        }
        let now: BTreeMap<String, Vec<u8>> = fold(&two)
            .unwrap()
            .into_iter()
            .filter(|(k, _)| k.starts_with("bases/"))
            .collect();
        let before = two[0].clone();
        let unrelated = rendering("c", 9, "q");
        // Unchanged: every base kept.
        assert_eq!(
            keep(&rendering("a", 1, "x"), &bases, &now, &unrelated).unwrap(),
            bases
        );
        // New values for a: the chart is still shared, the release and catalog too
        // unless they changed.
        let kept = keep(&rendering("a", 2, "x"), &bases, &now, &before).unwrap();
        assert_eq!(kept["front"].holds, Holds::Chart);
        assert_eq!(kept["static"].holds, Holds::Artifact);
        let kept = keep(&rendering("a", 1, "z"), &bases, &now, &before).unwrap();
        assert!(!kept.contains_key("static"), "{kept:?}");
        // A base file edited by hand: kept while this cluster's rendering of it is what
        // it was (the merge keeps the edit there), its own copy once it changes.
        let mut edited = now.clone();
        edited.insert(
            "bases/shop/1.0.0/static/catalog.yaml".into(),
            b"edited".to_vec(),
        );
        let kept = keep(&rendering("a", 1, "x"), &bases, &edited, &before).unwrap();
        assert!(kept.contains_key("static"), "{kept:?}");
        let kept = keep(&rendering("a", 1, "x"), &bases, &edited, &unrelated).unwrap();
        assert!(!kept.contains_key("static"), "{kept:?}");
    }

    #[test]
    fn version_directories_are_unique_and_clean() {
        let none = |_: &str| Ok(false);
        assert_eq!(
            version_dir("bases", "web", "1.2.0", &none).unwrap(),
            "bases/web/1.2.0"
        );
        assert_eq!(
            version_dir("bases", "web", "main@abc/def", &none).unwrap(),
            "bases/web/main-abc-def"
        );
        let taken = |d: &str| Ok(d == "bases/web/1.2.0" || d == "bases/web/1.2.0-2");
        assert_eq!(
            version_dir("bases", "web", "1.2.0", &taken).unwrap(),
            "bases/web/1.2.0-3"
        );
    }

    #[test]
    fn repoint_replaces_exactly_one_path() {
        let mut files = BTreeMap::from([(
            "w.yaml".to_string(),
            b"spec:\n  path: ./c/a/artifacts/x\n  prune: true\n".to_vec(),
        )]);
        repoint(&mut files, "w.yaml", "c/a/artifacts/x", "bases/n/1/x").unwrap();
        assert_eq!(
            files["w.yaml"],
            b"spec:\n  path: ./bases/n/1/x\n  prune: true\n".to_vec()
        );
        assert!(repoint(&mut files, "w.yaml", "c/a/artifacts/x", "y").is_err());
        assert!(repoint(&mut files, "missing", "a", "b").is_err());
    }
}
