//! The GitOps repository's own files: `.pctl/config.yaml`, `.sourceignore`, and the
//! chain of `kustomization.yaml` files that makes every installation reachable by Flux
//! from the sync path.
use crate::error::user;
use crate::git::{Changes, TreeView};
use crate::yaml::{self, Map, Value};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::flux::{GitRepositoryRef, kustomization};

pub mod bases;
pub mod clusters;
mod rules;
pub use rules::{check_install_dir, ignored, repo_dir};

pub const CONFIG_PATH: &str = ".pctl/config.yaml";
pub const SOURCEIGNORE: &str = ".sourceignore";
pub const KUSTOMIZATION: &str = "kustomization.yaml";
const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// `.pctl/config.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub git_repository: GitRepositoryRef,
    /// The one cluster's sync path; empty in a fleet (`clusters:`), where each cluster
    /// has its own and [`clusters::select`] puts the chosen one here.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sync_path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub install_path: String,
    /// Pull-request settings (`type`, `apiURL`), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge: Option<Map>,
    /// The clusters of a fleet (docs/fleets.md), by name; empty: one cluster, `default`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<String, clusters::ClusterPaths>,
    /// Where files shared by several clusters go
    /// (docs/fleets.md#one-install-several-clusters-one-copy); None:
    /// [`bases::DEFAULT_PATH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bases_path: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            git_repository: GitRepositoryRef {
                name: "flux-system".into(),
                namespace: "flux-system".into(),
            },
            sync_path: "clusters/default".into(),
            install_path: "clusters/default/profiles".into(),
            forge: None,
            clusters: BTreeMap::new(),
            bases_path: None,
        }
    }
}

/// Normalize a repository-relative directory: no leading `./` or `/`, no trailing `/`.
pub fn norm_dir(p: &str) -> Result<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    bail!(user(
                        format!("path {p:?} leaves the repository"),
                        "give a path inside the GitOps repository"
                    ));
                }
            }
            x => parts.push(x),
        }
    }
    Ok(parts.join("/"))
}

/// Read `.pctl/config.yaml` from a view of the GitOps repository.
pub fn load(view: &TreeView, repo_desc: &str) -> Result<Config> {
    let Some(text) = view.read_string(CONFIG_PATH)? else {
        bail!(user(
            format!(
                "{repo_desc} is not a pctl GitOps repository: {CONFIG_PATH} is missing from HEAD"
            ),
            "run `pctl init` in it first (and commit, if you made it by hand)",
        ));
    };
    let raw: Value = yaml::from_str(CONFIG_PATH, &text)?;
    rules::check_config_keys(&text, &raw)?;
    let mut c: Config = yaml::from_str(CONFIG_PATH, &text)?;
    rules::check_config(&mut c, Some(&text))?;
    Ok(c)
}

/// Check a config that does not come from a file (`pctl init`'s flags).
pub fn check_config(c: &mut Config) -> Result<()> {
    rules::check_config(c, None)
}

/// The directory a new installation named `name` goes to: `--path` (checked) or the
/// config's installPath, refused when it is ignored by `.sourceignore` or inside or
/// around another installation. Returns the parent directory.
pub fn install_parent(
    view: &TreeView,
    config: &Config,
    path: Option<&str>,
    name: &str,
) -> Result<String> {
    let (what, parent) = match path {
        Some(p) => ("--path", repo_dir("--path", p)?),
        None => ("installPath", config.install_path.clone()),
    };
    rules::check_sync_path(view, config)?;
    rules::check_install_dir(view, what, &parent, name)?;
    Ok(parent)
}

/// The view of a repository plus the changes made so far in this command.
pub struct Overlay<'v> {
    pub view: &'v TreeView,
    pub changes: Changes,
}

impl<'v> Overlay<'v> {
    pub fn new(view: &'v TreeView) -> Self {
        Overlay {
            view,
            changes: Changes::default(),
        }
    }

    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.changes.files.get(path) {
            Some(c) => Ok(c.clone()),
            None => self.view.read(path),
        }
    }

    pub fn read_string(&self, path: &str) -> Result<Option<String>> {
        self.read(path)?
            .map(|b| String::from_utf8(b).with_context(|| format!("{path} is not UTF-8 text")))
            .transpose()
    }

    pub fn write(&mut self, path: &str, content: Vec<u8>) {
        self.changes.files.insert(path.to_string(), Some(content));
    }

    pub fn delete(&mut self, path: &str) {
        self.changes.files.insert(path.to_string(), None);
    }

    /// Whether a directory holds any file (committed or pending).
    fn has_files(&self, dir: &str) -> Result<bool> {
        let prefix = format!("{dir}/");
        if self
            .changes
            .files
            .iter()
            .any(|(k, v)| v.is_some() && (dir.is_empty() || k.starts_with(&prefix)))
        {
            return Ok(true);
        }
        let committed = self.view.files_below(dir)?;
        Ok(committed
            .keys()
            .any(|k| !matches!(self.changes.files.get(k), Some(None))))
    }

    fn kustomization_of(&self, dir: &str) -> Result<Option<String>> {
        for name in KUSTOMIZATION_NAMES {
            let p = join(dir, name);
            if self.read(&p)?.is_some() {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }
}

pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        return name.to_string();
    }
    // Not `format!`: a fleet install joins tens of thousands of paths.
    let mut out = String::with_capacity(dir.len() + 1 + name.len());
    out.push_str(dir);
    out.push('/');
    out.push_str(name);
    out
}

/// Make `dir/<kustomization>` list `entry` (creating the file if needed). Returns
/// whether it changed anything.
fn list_entry(o: &mut Overlay, dir: &str, entry: &str) -> Result<()> {
    match o.kustomization_of(dir)? {
        None => {
            let content = kustomization(&[entry.to_string()])?;
            o.write(&join(dir, KUSTOMIZATION), content);
        }
        Some(path) => {
            let text = o.read_string(&path)?.unwrap_or_default();
            if let Some(listed) = appended(&text, entry) {
                if cfg!(debug_assertions) {
                    let mut slow = Overlay::new(o.view);
                    slow.write(&path, text.clone().into_bytes());
                    listed_by_parsing(&mut slow, &path, &text, entry)?;
                    let want = slow.changes.files.get(&path).cloned().flatten();
                    let got = listed.as_ref().map(|t| t.as_bytes().to_vec());
                    assert_eq!(
                        got.unwrap_or_else(|| text.clone().into_bytes()),
                        want.unwrap_or_default(),
                        "pctl bug: listing {entry} in {path} without parsing it differs"
                    );
                }
                if let Some(new) = listed {
                    o.write(&path, new.into_bytes());
                }
                return Ok(());
            }
            listed_by_parsing(o, &path, &text, entry)?;
        }
    }
    Ok(())
}

/// A kustomization file as pctl writes it, up to its list of resources.
const LISTING: &str =
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n";

/// Whether the YAML writer writes `s` as it is in a list, and YAML 1.1 and 1.2 both
/// read it back as that string: lowercase letters, digits and dashes, from a letter,
/// and no word YAML 1.1 reads as a boolean or null.
fn plain_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !matches!(
            s,
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        )
}

/// `text`, a kustomization file as pctl writes it listing only plain names, with
/// `entry` (a plain name) added to its resources: Some(None) when it lists it already.
/// Found without parsing the YAML (an install path's kustomization lists every
/// installation); None for any other file, which is parsed. Debug builds parse it as
/// well and compare.
fn appended(text: &str, entry: &str) -> Option<Option<String>> {
    if !plain_name(entry) {
        return None;
    }
    let present = listed_names(text)?.contains(&entry);
    Some((!present).then(|| format!("{text}- {entry}\n")))
}

/// The resources of `text` when it is a kustomization file as pctl writes it, listing
/// only plain names (read without parsing the YAML, as YAML reads them); None for any
/// other file.
pub(crate) fn listed_names(text: &str) -> Option<Vec<&str>> {
    let body = text.strip_prefix(LISTING)?;
    if !body.ends_with('\n') {
        return None;
    }
    body.lines()
        .map(|line| line.strip_prefix("- ").filter(|n| plain_name(n)))
        .collect()
}

/// [`list_entry`] of a kustomization file `path` that exists, by parsing it.
fn listed_by_parsing(o: &mut Overlay, path: &str, text: &str, entry: &str) -> Result<()> {
    let mut doc: Value = yaml::from_str(path, text)?;
    let Some(m) = doc.as_object_mut() else {
        bail!(user(
            format!("{path} is not a mapping"),
            "fix the kustomization file"
        ));
    };
    let resources = m
        .entry("resources")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = resources.as_array_mut() else {
        bail!(user(
            format!("{path}: resources is not a list"),
            "fix the kustomization file"
        ));
    };
    let present = list.iter().any(|v| {
        v.as_str()
            .is_some_and(|s| norm_dir(s).ok().as_deref() == Some(entry))
    });
    if !present {
        list.push(Value::String(entry.to_string()));
        o.write(path, yaml::to_string(&doc)?.into_bytes());
    }
    Ok(())
}

/// Remove `entry` from `dir`'s kustomization resources, if listed.
pub fn unlist_entry(o: &mut Overlay, dir: &str, entry: &str) -> Result<()> {
    let Some(path) = o.kustomization_of(dir)? else {
        return Ok(());
    };
    let text = o.read_string(&path)?.unwrap_or_default();
    let mut doc: Value = yaml::from_str(&path, &text)?;
    if let Some(list) = doc.get_mut("resources").and_then(Value::as_array_mut) {
        let before = list.len();
        list.retain(|v| {
            v.as_str()
                .is_none_or(|s| norm_dir(s).ok().as_deref() != Some(entry))
        });
        if list.len() != before {
            o.write(&path, yaml::to_string(&doc)?.into_bytes());
        }
    }
    Ok(())
}

/// Make the directory `dir` (which holds, or will hold, a kustomization.yaml) reachable
/// by Flux from the sync path: each directory between them that has a kustomization
/// lists the next one; a directory outside the sync path gets a Flux Kustomization in
/// the sync path.
pub fn ensure_reachable(o: &mut Overlay, config: &Config, dir: &str) -> Result<()> {
    let sync = config.sync_path.as_str();
    // pctl never creates <syncPath>/kustomization.yaml: without one, kustomize-controller
    // applies every directory below the sync path, flux bootstrap's flux-system/ included.
    if dir == sync {
        return Ok(());
    }
    let rest = if sync.is_empty() {
        Some(dir)
    } else {
        dir.strip_prefix(&format!("{sync}/"))
    };
    match rest {
        Some(rest) => {
            let parts: Vec<&str> = rest.split('/').collect();
            let mut here = sync.to_string();
            for (i, part) in parts.iter().enumerate() {
                let child = join(&here, part);
                let here_has_k = o.kustomization_of(&here)?.is_some();
                if here_has_k || (here != sync && !o.has_files(&here)?) {
                    list_entry(o, &here, part)?;
                    if i + 1 < parts.len() && o.kustomization_of(&child)?.is_none() {
                        o.write(&join(&child, KUSTOMIZATION), kustomization(&[])?);
                    }
                }
                here = child;
            }
            Ok(())
        }
        None => {
            // Outside the sync path: a Flux Kustomization in the sync path points at it.
            let file = bridge_file(dir);
            let id = file.trim_end_matches(".yaml");
            let doc = flux_kustomization(id, config, dir);
            o.write(&join(sync, &file), yaml::to_string(&doc)?.into_bytes());
            if o.kustomization_of(sync)?.is_some() {
                list_entry(o, sync, &file)?;
            }
            Ok(())
        }
    }
}

/// The file in the sync path whose Flux Kustomization syncs `dir`, a directory
/// outside the sync path.
pub fn bridge_file(dir: &str) -> String {
    let id = crate::names::fit(&format!("pctl-{}", crate::names::sanitize(dir)), 63);
    format!("{id}.yaml")
}

/// A Flux Kustomization syncing `path` from the GitOps repository.
fn flux_kustomization(name: &str, config: &Config, path: &str) -> Value {
    serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": config.git_repository.namespace},
        "spec": {
            "interval": "10m0s",
            "path": format!("./{path}"),
            "prune": true,
            "sourceRef": {
                "kind": "GitRepository",
                "name": config.git_repository.name,
                "namespace": config.git_repository.namespace,
            },
        }
    })
}

/// Add the installation directory `parent/name` to `parent`'s kustomization and make
/// `parent` reachable from the sync path.
pub fn link_installation(o: &mut Overlay, config: &Config, parent: &str, name: &str) -> Result<()> {
    list_entry(o, parent, name)?;
    ensure_reachable(o, config, parent)
}

/// The changes `pctl init` makes: config, `.sourceignore`, sync and install paths.
pub fn init_changes(view: &TreeView, wanted: &Config) -> Result<(Config, Changes)> {
    let mut o = Overlay::new(view);
    let config = match view.read_string(CONFIG_PATH)? {
        Some(_) => load(view, "the repository")?,
        None => {
            let mut wanted = wanted.clone();
            check_config(&mut wanted)?;
            o.write(CONFIG_PATH, config_text(&wanted)?.into_bytes());
            wanted.clone()
        }
    };
    let ignore = o.read_string(SOURCEIGNORE)?.unwrap_or_default();
    if !ignore
        .lines()
        .any(|l| matches!(l.trim(), ".pctl/" | ".pctl" | "/.pctl/" | "/.pctl"))
    {
        let mut s = ignore;
        if !s.is_empty() && !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str("# pctl's own files are not Kubernetes objects\n.pctl/\n");
        o.write(SOURCEIGNORE, s.into_bytes());
    }
    for cluster in config.cluster_list() {
        prepare_cluster(&mut o, &config.for_cluster(&cluster))?;
    }
    Ok((config, o.changes))
}

/// The text of `.pctl/config.yaml` for `config`.
pub fn config_text(config: &Config) -> Result<String> {
    let mut body =
        String::from("# pctl settings for this GitOps repository (see `pctl init --help`).\n");
    body.push_str(&yaml::to_string(config)?);
    Ok(body)
}

/// Give a cluster's install path a kustomization.yaml reachable from its sync path
/// (`config` as the cluster sees it).
pub fn prepare_cluster(o: &mut Overlay, config: &Config) -> Result<()> {
    if o.kustomization_of(&config.install_path)?.is_none() {
        o.write(
            &join(&config.install_path, KUSTOMIZATION),
            kustomization(&[])?,
        );
    }
    ensure_reachable(o, config, &config.install_path)
}

/// Files keyed by repository path, for tests and callers that build trees by hand.
pub type Files = BTreeMap<String, Option<Vec<u8>>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn text(o: &Overlay, p: &str) -> String {
        o.read_string(p).unwrap().unwrap_or_default()
    }

    #[test]
    fn a_listing_pctl_wrote_is_added_to_as_text_and_exactly_as_parsing_would() {
        let listing = |names: &[&str]| {
            String::from_utf8(
                kustomization(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap(),
            )
            .unwrap()
        };
        let two = listing(&["a1", "b-2"]);
        assert_eq!(
            appended(&two, "c"),
            Some(Some(listing(&["a1", "b-2", "c"])))
        );
        assert_eq!(appended(&two, "b-2"), Some(None), "listed already");
        // What the writer would quote, or another shape of file, is parsed.
        for entry in ["yes", "on", "null", "1a", "A", "a.b", "a/b", "-a", ""] {
            assert_eq!(appended(&two, entry), None, "{entry:?}");
        }
        for other in [
            listing(&[]),
            listing(&["./a"]),
            listing(&["true"]),
            format!("{two}namePrefix: x-\n"),
            two.replace("- a1\n", "- a1 # mine\n"),
            two.replace("- a1\n", "-  a1\n"),
            two.trim_end().to_string(),
            format!("# top\n{two}"),
        ] {
            assert_eq!(appended(&other, "c"), None, "{other:?}");
        }
        // Through list_entry: the same file as parsing and writing it again gives.
        let view = TreeView::empty();
        let mut o = Overlay::new(&view);
        o.write("p/kustomization.yaml", two.clone().into_bytes());
        list_entry(&mut o, "p", "c").unwrap();
        assert_eq!(
            text(&o, "p/kustomization.yaml"),
            listing(&["a1", "b-2", "c"])
        );
        let mut parsed = Overlay::new(&view);
        listed_by_parsing(&mut parsed, "p/kustomization.yaml", &two, "c").unwrap();
        assert_eq!(
            text(&parsed, "p/kustomization.yaml"),
            listing(&["a1", "b-2", "c"])
        );
    }

    #[test]
    fn init_on_an_empty_repository() {
        let view = TreeView::empty();
        let (config, changes) = init_changes(&view, &Config::default()).unwrap();
        assert_eq!(config, Config::default());
        let keys: Vec<&str> = changes.files.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                ".pctl/config.yaml",
                ".sourceignore",
                "clusters/default/profiles/kustomization.yaml"
            ]
        );
        let ignore = String::from_utf8(changes.files[".sourceignore"].clone().unwrap()).unwrap();
        assert!(ignore.lines().any(|l| l == ".pctl/"));
    }

    #[test]
    fn a_sync_kustomization_lists_the_next_directory() {
        let view = TreeView::empty();
        let mut o = Overlay::new(&view);
        o.write(
            "clusters/prod/kustomization.yaml",
            kustomization(&["flux-system".into()]).unwrap(),
        );
        let config = Config {
            sync_path: "clusters/prod".into(),
            install_path: "clusters/prod/apps/profiles".into(),
            ..Config::default()
        };
        link_installation(&mut o, &config, "clusters/prod/apps/profiles", "web").unwrap();
        assert!(text(&o, "clusters/prod/kustomization.yaml").contains("- flux-system\n- apps\n"));
        assert!(text(&o, "clusters/prod/apps/kustomization.yaml").contains("- profiles\n"));
        assert!(text(&o, "clusters/prod/apps/profiles/kustomization.yaml").contains("- web\n"));
        // Idempotent: listing again adds nothing.
        let before = o.changes.files.clone();
        link_installation(&mut o, &config, "clusters/prod/apps/profiles", "web").unwrap();
        assert_eq!(before, o.changes.files);
        unlist_entry(&mut o, "clusters/prod/apps/profiles", "web").unwrap();
        assert!(!text(&o, "clusters/prod/apps/profiles/kustomization.yaml").contains("web"));
    }

    #[test]
    fn outside_the_sync_path_gets_a_flux_kustomization() {
        let view = TreeView::empty();
        let mut o = Overlay::new(&view);
        link_installation(&mut o, &Config::default(), "apps/team-a", "web").unwrap();
        let k = text(&o, "clusters/default/pctl-apps-team-a.yaml");
        assert!(
            k.contains("kind: Kustomization") && k.contains("path: ./apps/team-a\n"),
            "{k}"
        );
        // No sync kustomization is created (Flux generates one) ...
        assert_eq!(o.read("clusters/default/kustomization.yaml").unwrap(), None);
        // ... but an existing one lists the new file.
        let mut o = Overlay::new(&view);
        o.write(
            "clusters/default/kustomization.yaml",
            kustomization(&["flux-system".into()]).unwrap(),
        );
        link_installation(&mut o, &Config::default(), "apps/team-a", "web").unwrap();
        assert!(
            text(&o, "clusters/default/kustomization.yaml")
                .contains("- flux-system\n- pctl-apps-team-a.yaml\n")
        );
    }

    #[test]
    fn paths_are_normalized_and_kept_inside() {
        assert_eq!(norm_dir("./a//b/").unwrap(), "a/b");
        assert_eq!(norm_dir("a/../b").unwrap(), "b");
        assert!(norm_dir("../x").is_err());
    }
}
