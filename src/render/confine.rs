//! Kustomization files and local charts that come with a profile may name only files
//! inside their own artifact: no path that climbs out of it (into the rest of the
//! GitOps repository, another team's Secrets included), no absolute path, no remote
//! base that Flux would fetch at apply time, and no Helm chart inflation. Flux objects
//! that come with a profile and read the GitOps repository itself (through its own
//! GitRepository) may read only the installation's directory.
use crate::flux::GitRepositoryRef;
use crate::ownership::flux_path;
use crate::yaml::Value;
use anyhow::{Result, bail};
use std::collections::BTreeMap;

const NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields holding a list of paths (or, for some, inline YAML, which is skipped).
const PATH_LISTS: [&str; 9] = [
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "patchesStrategicMerge",
    "transformers",
    "generators",
    "validators",
];

/// Fields holding a list of mappings whose `path` is a file.
const PATH_ITEMS: [&str; 3] = ["patches", "patchesJson6902", "replacements"];

/// Check every kustomization among `files` (paths relative to the artifact's
/// directory, as written); `origin` names the artifact for the error.
pub fn kustomizations(origin: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for (rel, bytes) in files {
        let (dir, base) = match rel.rsplit_once('/') {
            Some((d, b)) => (d, b),
            None => ("", rel.as_str()),
        };
        if !NAMES.contains(&base) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        // A file pctl cannot read is reported by the build that reads it.
        let Ok(doc) = crate::yaml::from_str(rel, text) else {
            continue;
        };
        for (field, path) in references(&doc)? {
            if let Some(why) = problem(dir, &path) {
                bail!(crate::error::user(
                    format!("{origin}: {rel}: `{field}` entry {path:?} {why}"),
                    "a profile's kustomization may name only files and directories inside its artifact; vendor what it needs into the profile",
                ));
            }
        }
        for field in ["helmCharts", "helmChartInflationGenerator", "helmGlobals"] {
            if doc.get(field).is_some() {
                bail!(crate::error::user(
                    format!(
                        "{origin}: {rel}: `{field}` inflates a Helm chart, which Flux's kustomize-controller does not do"
                    ),
                    "make the chart a `chart:` artifact of the profile instead",
                ));
            }
        }
    }
    Ok(())
}

/// A local chart's `file://` dependencies (in `Chart.yaml` or the old
/// `requirements.yaml`, of the chart and of its subcharts) must stay inside the chart:
/// Flux's source-controller resolves them inside the GitOps repository.
pub fn chart_dependencies(origin: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    for (rel, bytes) in files {
        let (dir, base) = match rel.rsplit_once('/') {
            Some((d, b)) => (d, b),
            None => ("", rel.as_str()),
        };
        if base != "Chart.yaml" && base != "requirements.yaml" {
            continue;
        }
        let Some(doc): Option<Value> = std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| crate::yaml::from_str(rel, t).ok())
        else {
            continue;
        };
        for dep in doc
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(repo) = dep.get("repository").and_then(Value::as_str) else {
                continue;
            };
            let Some(path) = repo.strip_prefix("file://") else {
                continue;
            };
            if let Some(why) = problem(dir, path) {
                bail!(crate::error::user(
                    format!("{origin}: chart {rel}: dependency repository {repo:?} {why}"),
                    "a local chart's file:// dependencies must be inside the chart directory; vendor them under charts/",
                ));
            }
        }
    }
    Ok(())
}

/// Flux objects among `files` (an artifact's files, as written) that read the GitOps
/// repository through its own GitRepository (`repo`) — a Kustomization's `path` and
/// `components`, a HelmRelease's or HelmChart's chart and values files — may read
/// only inside `install_dir`, the installation's directory: a Kustomization naming
/// `./team-b/secrets`, or the repository's root, would make Flux apply another team's
/// objects (or another cluster's) with the profile's settings. Paths resolve as Flux
/// resolves them in the source, from its root, `..` stopping there. The objects are
/// read as the files hold them, so an artifact whose kustomizations may rewrite
/// objects (patches, replacements, transformers) may not also hold such Flux objects
/// (whatever their source): pctl cannot tell what the build makes of them. Returns
/// whether any object reads the repository (such a rendering depends on its
/// directory).
pub fn repository_reads(
    origin: &str,
    files: &BTreeMap<String, Vec<u8>>,
    install_dir: &str,
    repo: &GitRepositoryRef,
) -> Result<bool> {
    let mut reads = false;
    // The first Flux object that reads a source.
    let mut flux_object: Option<String> = None;
    for (rel, bytes) in files {
        // Any file: a kustomization may list a resource under any name.
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        // Only a file that names a Flux API group can hold such an object: as YAML
        // writes it, or spelled with escapes, which only a double-quoted scalar has
        // (folding a scalar over lines adds a space). The rest, nearly every file,
        // is not parsed a second time.
        if !text.contains("toolkit.fluxcd.io") && !text.contains('\\') {
            continue;
        }
        // A file pctl cannot read is reported by the build that reads it.
        let Ok(docs) = crate::yaml::documents(rel, text) else {
            continue;
        };
        for doc in &docs {
            let Some(reader) = Reader::of(doc) else {
                continue;
            };
            let name = doc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            flux_object.get_or_insert_with(|| format!("{rel}: {} {name:?}", reader.kind));
            if !reader.names(doc, repo) {
                continue;
            }
            reads = true;
            for (field, path, resolved) in reader.paths(doc) {
                if resolved != install_dir && !resolved.starts_with(&format!("{install_dir}/")) {
                    let shown = if resolved.is_empty() {
                        "the repository's root".to_string()
                    } else {
                        resolved
                    };
                    bail!(crate::error::user(
                        format!(
                            "{origin}: {rel}: {} {:?} reads `{field}` {path:?} from the GitOps repository (GitRepository {}/{}): {shown}, outside the installation's directory {install_dir}",
                            reader.kind, name, repo.namespace, repo.name,
                        ),
                        "a profile's Flux objects may read only the installation's own files from the GitOps repository; ship what they need in the profile, or give them a source of their own",
                    ));
                }
            }
        }
    }
    // The kustomizations are read again only beside a Flux object (rarely).
    if let Some(object) = flux_object
        && let Some(field) = rewriting(files)
    {
        bail!(crate::error::user(
            format!(
                "{origin}: {object} is a Flux object that reads a source, and {field} may rewrite objects when kustomize builds the artifact: pctl cannot tell what the build makes of its source and paths"
            ),
            "set what the Flux object needs in the object itself, or move it to an artifact without patches, replacements or transformers",
        ));
    }
    Ok(reads)
}

/// The first field of a kustomization among `files` that may rewrite objects of the
/// build ("FILE: `field`").
fn rewriting(files: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    files.iter().find_map(|(rel, bytes)| {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        if !NAMES.contains(&base) {
            return None;
        }
        let doc: Value = crate::yaml::from_str(rel, std::str::from_utf8(bytes).ok()?).ok()?;
        REWRITES
            .iter()
            .find(|f| doc.get(**f).is_some_and(|v| !v.is_null()))
            .map(|f| format!("{rel}: `{f}`"))
    })
}

/// The kustomization fields that may rewrite objects of the build.
const REWRITES: [&str; 5] = [
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "replacements",
    "transformers",
];

/// A Flux object that reads files from a source: which kind, and where its source
/// reference and paths are.
struct Reader {
    kind: &'static str,
    source: &'static str,
}

impl Reader {
    fn of(doc: &Value) -> Option<Reader> {
        let api = doc.get("apiVersion").and_then(Value::as_str)?;
        let kind = doc.get("kind").and_then(Value::as_str)?;
        let (group, _) = api.split_once('/')?;
        Some(match (group, kind) {
            ("kustomize.toolkit.fluxcd.io", "Kustomization") => Reader {
                kind: "Kustomization",
                source: "/spec/sourceRef",
            },
            ("helm.toolkit.fluxcd.io", "HelmRelease") => Reader {
                kind: "HelmRelease",
                source: "/spec/chart/spec/sourceRef",
            },
            ("source.toolkit.fluxcd.io", "HelmChart") => Reader {
                kind: "HelmChart",
                source: "/spec/sourceRef",
            },
            _ => return None,
        })
    }

    /// Whether the object's source is the GitOps repository's GitRepository: its
    /// name, and its namespace (the reference's, else the object's own, which an
    /// object without one gets from the installation; pctl's objects and the
    /// GitRepository share it, so a missing one counts as the same).
    fn names(&self, doc: &Value, repo: &GitRepositoryRef) -> bool {
        let Some(src) = doc.pointer(self.source) else {
            return false;
        };
        let s = |k: &str| src.get(k).and_then(Value::as_str);
        let namespace =
            s("namespace").or_else(|| doc.pointer("/metadata/namespace").and_then(Value::as_str));
        s("kind") == Some("GitRepository")
            && s("name") == Some(repo.name.as_str())
            && namespace.is_none_or(|ns| ns == repo.namespace)
    }

    /// (field, path as written, path resolved in the repository as Flux resolves it,
    /// `ownership::flux_path`) for every file or directory the object reads from its
    /// source.
    fn paths(&self, doc: &Value) -> Vec<(String, String, String)> {
        let text = |p: &str| doc.pointer(p).and_then(Value::as_str);
        let list = |p: &str| -> Vec<String> {
            doc.pointer(p)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        };
        let mut out = Vec::new();
        match self.kind {
            "Kustomization" => {
                // No path: the source's root, all of it.
                let path = text("/spec/path").unwrap_or("").to_string();
                let base = flux_path(&path);
                for c in list("/spec/components") {
                    let resolved = flux_path(&format!("{base}/{c}"));
                    out.push(("components".to_string(), c, resolved));
                }
                out.push(("path".to_string(), path, base));
            }
            _ => {
                let (chart, values) = if self.kind == "HelmRelease" {
                    ("/spec/chart/spec/chart", "/spec/chart/spec")
                } else {
                    ("/spec/chart", "/spec")
                };
                if let Some(c) = text(chart) {
                    out.push(("chart".to_string(), c.to_string(), flux_path(c)));
                }
                let mut files = list(&format!("{values}/valuesFiles"));
                files.extend(text(&format!("{values}/valuesFile")).map(str::to_string));
                for f in files {
                    let resolved = flux_path(&f);
                    out.push(("valuesFiles".to_string(), f, resolved));
                }
            }
        }
        out
    }
}

/// (field, path) for every file or directory the kustomization names.
fn references(doc: &Value) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    // Inline patches and generator configurations are YAML, not paths.
                    .filter(|s| !s.contains('\n'))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    for field in PATH_LISTS {
        for p in strings(doc.get(field)) {
            out.push((field.to_string(), p));
        }
    }
    for field in PATH_ITEMS {
        for item in doc
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = item.get("path").and_then(Value::as_str) {
                out.push((format!("{field}.path"), p.to_string()));
            }
        }
    }
    if let Some(p) = doc.pointer("/openapi/path").and_then(Value::as_str) {
        out.push(("openapi.path".into(), p.to_string()));
    }
    for field in ["configMapGenerator", "secretGenerator"] {
        for item in doc
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in strings(item.get("files")) {
                // `key=path` or `path`.
                let path = p.split_once('=').map(|(_, p)| p).unwrap_or(&p).to_string();
                out.push((format!("{field}.files"), path));
            }
            for p in strings(item.get("envs")) {
                out.push((format!("{field}.envs"), p));
            }
            if let Some(p) = item.get("env").and_then(Value::as_str) {
                out.push((format!("{field}.env"), p.to_string()));
            }
        }
    }
    Ok(out)
}

/// Why `path`, named by a kustomization in `dir`, is not allowed (None: it is).
fn problem(dir: &str, path: &str) -> Option<&'static str> {
    let p = path.trim();
    if p.contains("://")
        || p.starts_with("git@")
        || p.starts_with("github.com/")
        || p.contains("?ref=")
        || p.contains("//")
    {
        return Some("is a remote base, which Flux would fetch from the network when it applies");
    }
    if p.starts_with('/') || p.starts_with('~') || p.contains('\\') {
        return Some("is an absolute path");
    }
    let mut depth: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return Some("leaves the artifact's directory");
                }
            }
            other => depth.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    fn refused(k: &str) -> String {
        let f = files(&[("sub/kustomization.yaml", k)]);
        kustomizations("artifact \"a\"", &f)
            .expect_err(k)
            .to_string()
    }

    #[test]
    fn chart_file_dependencies_stay_in_the_chart() {
        let ok = files(&[(
            "Chart.yaml",
            "name: c\ndependencies:\n- name: sub\n  repository: file://charts/sub\n- name: r\n  repository: https://charts.example\n",
        )]);
        chart_dependencies("a", &ok).unwrap();
        let bad = files(&[(
            "charts/sub/Chart.yaml",
            "name: sub\ndependencies:\n- name: x\n  repository: file://../../../../team-b/chart\n",
        )]);
        let err = chart_dependencies("a", &bad).unwrap_err().to_string();
        assert!(
            err.contains("chart charts/sub/Chart.yaml: dependency repository \"file://../../../../team-b/chart\" leaves the artifact's directory"),
            "{err}"
        );
    }

    #[test]
    fn paths_inside_the_artifact_are_fine() {
        let f = files(&[
            (
                "kustomization.yaml",
                "resources: [cm.yaml, sub, ./x/../y.yaml]\ncomponents: [comp]\npatches:\n- path: p.yaml\nconfigMapGenerator:\n- name: c\n  files: [k=conf/a.txt, b.txt]\n  envs: [e.env]\npatchesStrategicMerge:\n- |\n  apiVersion: v1\n  kind: ConfigMap\n",
            ),
            ("sub/kustomization.yaml", "resources: [../cm2.yaml]\n"),
        ]);
        kustomizations("a", &f).unwrap();
    }

    #[test]
    fn paths_out_of_the_artifact_remote_bases_and_helm_are_refused() {
        for (k, why) in [
            (
                "resources: [../../team-b/secrets]\n",
                "`resources` entry \"../../team-b/secrets\" leaves the artifact's directory",
            ),
            ("resources: [/etc/x]\n", "is an absolute path"),
            (
                "resources: ['https://github.com/evil/x//base']\n",
                "is a remote base",
            ),
            (
                "resources: ['github.com/evil/x/base?ref=main']\n",
                "is a remote base",
            ),
            ("bases: [../../x]\n", "`bases` entry"),
            ("components: [../../c]\n", "`components` entry"),
            ("patches:\n- path: ../../p.yaml\n", "`patches.path` entry"),
            (
                "secretGenerator:\n- name: s\n  files: [key=../../../home/id_rsa]\n",
                "`secretGenerator.files` entry \"../../../home/id_rsa\"",
            ),
            (
                "configMapGenerator:\n- name: s\n  envs: [../../.env]\n",
                "`configMapGenerator.envs`",
            ),
            ("openapi:\n  path: ../../schema.json\n", "`openapi.path`"),
            (
                "helmCharts:\n- name: x\n",
                "`helmCharts` inflates a Helm chart",
            ),
        ] {
            let err = refused(k);
            assert!(err.contains(why), "{k}: {err}");
        }
    }

    fn repo() -> GitRepositoryRef {
        GitRepositoryRef {
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        }
    }

    const DIR: &str = "clusters/default/profiles/app";

    fn reads(yaml: &str) -> Result<bool> {
        repository_reads(
            "artifact \"a\"",
            &files(&[("flux.yaml", yaml)]),
            DIR,
            &repo(),
        )
    }

    fn kustomization(path: &str, source: &str) -> String {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: k, namespace: flux-system}}\nspec:\n  interval: 10m\n  prune: true\n  sourceRef: {source}\n{path}"
        )
    }

    const REPO: &str = "{kind: GitRepository, name: flux-system}";

    #[test]
    fn flux_objects_may_read_the_installation_s_own_files() {
        for y in [
            kustomization(&format!("  path: ./{DIR}/artifacts/a/sub\n"), REPO),
            kustomization(&format!("  path: /{DIR}\n"), REPO),
            kustomization(
                &format!("  path: {DIR}/x/../y\n  components: [../comp]\n"),
                REPO,
            ),
        ] {
            assert!(reads(&y).unwrap(), "{y}");
        }
        // A source of the profile's own, or another namespace's GitRepository, is
        // not the GitOps repository: any path.
        for source in [
            "{kind: GitRepository, name: podinfo}",
            "{kind: GitRepository, name: flux-system, namespace: apps}",
            "{kind: OCIRepository, name: flux-system}",
        ] {
            let y = kustomization("  path: ./team-b/secrets\n", source);
            assert!(!reads(&y).unwrap(), "{y}");
        }
        // Not a Flux object that reads a source.
        assert!(!reads("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").unwrap());
    }

    #[test]
    fn flux_objects_reading_the_repository_outside_the_installation_are_refused() {
        for (y, why) in [
            (
                kustomization("  path: ./team-b/secrets\n", REPO),
                "Kustomization \"k\" reads `path` \"./team-b/secrets\" from the GitOps repository (GitRepository flux-system/flux-system): team-b/secrets, outside the installation's directory clusters/default/profiles/app",
            ),
            (kustomization("", REPO), "`path` \"\" from the GitOps repository (GitRepository flux-system/flux-system): the repository's root"),
            (kustomization("  path: ./\n", REPO), "the repository's root"),
            (
                kustomization(&format!("  path: ./{DIR}/../../../../clusters/prod\n"), REPO),
                ": clusters/prod, outside",
            ),
            (
                kustomization(&format!("  path: ./{DIR}-evil\n"), REPO),
                "clusters/default/profiles/app-evil, outside",
            ),
            (
                kustomization(&format!("  path: ./{DIR}\n  components: [../../../x]\n"), REPO),
                "reads `components` \"../../../x\"",
            ),
            (
                kustomization(
                    "  path: ./team-b\n",
                    "{kind: GitRepository, name: flux-system, namespace: flux-system}",
                ),
                "reads `path` \"./team-b\"",
            ),
            (
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h}\nspec:\n  chart:\n    spec:\n      chart: ./team-b/chart\n      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n".to_string(),
                "HelmRelease \"h\" reads `chart` \"./team-b/chart\"",
            ),
            (
                format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: h}}\nspec:\n  chart:\n    spec:\n      chart: ./{DIR}/chart\n      sourceRef: {REPO}\n      valuesFiles: [./{DIR}/v.yaml, ./team-b/values.yaml]\n"),
                "reads `valuesFiles` \"./team-b/values.yaml\"",
            ),
            (
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: c}\nspec:\n  chart: ../../team-b/chart\n  sourceRef: {kind: GitRepository, name: flux-system}\n".to_string(),
                "HelmChart \"c\" reads `chart` \"../../team-b/chart\" from the GitOps repository (GitRepository flux-system/flux-system): team-b/chart",
            ),
        ] {
            let err = reads(&y).expect_err(&y).to_string();
            assert!(err.contains(why), "{y}\n{err}");
            assert!(err.starts_with("artifact \"a\": flux.yaml: "), "{err}");
        }
        // The API group spelled with escapes is the same group.
        let escaped = kustomization("  path: ./team-b\n", REPO).replace(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1",
            "apiVersion: \"kustomize.toolkit.fluxcd\\x2eio/v1\"",
        );
        assert!(!escaped.contains("toolkit.fluxcd.io"), "{escaped}");
        assert!(reads(&escaped).is_err(), "{escaped}");
        // A patch in the artifact's kustomization could rewrite any Flux object's
        // source or path: refused while one is there, whatever its source.
        let own = kustomization(
            "  path: ./anything\n",
            "{kind: GitRepository, name: podinfo}",
        );
        for (k, field) in [
            (
                "resources: [flux.yaml]\npatches:\n- path: p.yaml\n",
                "`patches`",
            ),
            (
                "resources: [flux.yaml]\nreplacements:\n- path: r.yaml\n",
                "`replacements`",
            ),
            (
                "resources: [flux.yaml]\ntransformers: [t.yaml]\n",
                "`transformers`",
            ),
        ] {
            for at in ["kustomization.yaml", "sub/kustomization.yaml"] {
                let f = files(&[("flux.yaml", &own), (at, k)]);
                let err = repository_reads("a", &f, DIR, &repo())
                    .expect_err(k)
                    .to_string();
                assert!(
                    err.contains(&format!("a: flux.yaml: Kustomization \"k\" is a Flux object that reads a source, and {at}: {field} may rewrite objects")),
                    "{err}"
                );
            }
        }
        let plain = files(&[
            ("flux.yaml", &own),
            (
                "kustomization.yaml",
                "resources: [flux.yaml]\nnamePrefix: x-\n",
            ),
        ]);
        assert!(!repository_reads("a", &plain, DIR, &repo()).unwrap());
        let no_flux = files(&[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            ),
            (
                "kustomization.yaml",
                "resources: [cm.yaml]\npatches:\n- path: p.yaml\n",
            ),
        ]);
        assert!(!repository_reads("a", &no_flux, DIR, &repo()).unwrap());
        // Any file name: kustomize reads a resource whatever it is called.
        let json = files(&[(
            "steal.json",
            "{\"apiVersion\": \"kustomize.toolkit.fluxcd.io/v1\", \"kind\": \"Kustomization\", \"metadata\": {\"name\": \"j\"}, \"spec\": {\"path\": \"./team-b\", \"sourceRef\": {\"kind\": \"GitRepository\", \"name\": \"flux-system\"}}}\n",
        )]);
        let err = repository_reads("a", &json, DIR, &repo())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a: steal.json: Kustomization \"j\" reads `path`"),
            "{err}"
        );
        // A second document is read too.
        let two = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n---\n{}",
            kustomization("  path: ./x\n", REPO)
        );
        assert!(reads(&two).is_err());
    }
}
