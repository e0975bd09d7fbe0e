//! What a change does in the cluster, not only in Git (`pctl diff`): the HelmReleases of
//! two renderings of an installation, each chart rendered by `helm template` (from
//! PATH) with the values helm-controller would give it, compared object by object.
//!
//! The core ([`releases`], [`compare`], [`text`]) is pure; [`HelmCli`] is the one
//! place that runs `helm`. Values held in Secrets (SOPS-encrypted, or created by the
//! user) cannot be read here: a release is rendered without them and says so, and
//! the contents of a rendered Secret are never shown, only that it changed.
use crate::namespaces::objects_of_file;
use crate::yaml::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where a release's chart comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// A chart directory among the installation's own files (relative to it).
    Local(String),
    /// A chart of a Helm repository (`https://…`, with `name`) or an OCI reference
    /// (`oci://…/name`, `name` empty).
    Remote {
        url: String,
        name: String,
        version: String,
    },
}

/// One HelmRelease as helm-controller would install it.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// `HelmRelease NAMESPACE/NAME`.
    pub id: String,
    /// The Helm release name (`spec.releaseName`, else `[targetNamespace-]name`).
    pub release_name: String,
    /// The namespace the chart's objects go to.
    pub namespace: String,
    pub chart: Chart,
    /// `valuesFrom` ConfigMaps merged in order, then `spec.values`.
    pub values: Value,
    /// `valuesFrom` entries that cannot be read here (Secrets, absent ConfigMaps).
    pub unread: Vec<String>,
}

pub use crate::yaml::merge_values;

/// Set `v` at a `targetPath` (`a.b\.c` is ["a", "b.c"]), as helm-controller does.
pub fn set_target_path(values: &mut Value, dotted: &str, v: Value) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = dotted.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                cur.push('.');
                chars.next();
            }
            '.' => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    crate::yaml::set_path(values, &parts, v);
}

/// The HelmReleases among an installation's `files` (relative to `install_dir`, the
/// installation's repository path), with their charts and values.
pub fn releases(files: &BTreeMap<String, Vec<u8>>, install_dir: &str) -> Vec<Release> {
    let mut objs = Vec::new();
    for (path, bytes) in files {
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            objs.extend(objects_of_file(path, bytes));
        }
    }
    let str_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let repos: BTreeMap<(Option<String>, String), (String, bool)> = objs
        .iter()
        .filter(|o| o.kind == "HelmRepository")
        .filter_map(|o| {
            let url = str_at(&o.doc, "/spec/url")?;
            let oci = str_at(&o.doc, "/spec/type").as_deref() == Some("oci");
            Some(((o.namespace.clone(), o.name.clone()), (url, oci)))
        })
        .collect();
    let config_maps: BTreeMap<(Option<String>, String), &Value> = objs
        .iter()
        .filter(|o| o.kind == "ConfigMap")
        .map(|o| ((o.namespace.clone(), o.name.clone()), &*o.doc))
        .collect();
    let prefix = format!("{}/", install_dir.trim_matches('/'));
    let mut out = Vec::new();
    for o in objs
        .iter()
        .filter(|o| o.kind == "HelmRelease" && o.api_version.starts_with("helm.toolkit.fluxcd.io/"))
    {
        let v = &o.doc;
        let target = str_at(v, "/spec/targetNamespace");
        let own_ns = o.namespace.clone();
        let release_name = str_at(v, "/spec/releaseName").unwrap_or_else(|| match &target {
            Some(t) => format!("{t}-{}", o.name),
            None => o.name.clone(),
        });
        let namespace = target
            .clone()
            .or_else(|| own_ns.clone())
            .unwrap_or_else(|| "default".into());
        let chart_name = str_at(v, "/spec/chart/spec/chart").unwrap_or_default();
        let chart = match str_at(v, "/spec/chart/spec/sourceRef/kind").as_deref() {
            Some("GitRepository") => {
                let dir = chart_name.trim_start_matches("./").trim_end_matches('/');
                match dir.strip_prefix(&prefix) {
                    Some(rel) => Chart::Local(rel.to_string()),
                    None => continue, // a chart elsewhere in the repository: not ours
                }
            }
            Some("HelmRepository") => {
                let name = str_at(v, "/spec/chart/spec/sourceRef/name").unwrap_or_default();
                let ns = str_at(v, "/spec/chart/spec/sourceRef/namespace").or(own_ns.clone());
                let Some((url, oci)) = repos.get(&(ns, name)) else {
                    continue;
                };
                let version = str_at(v, "/spec/chart/spec/version").unwrap_or_default();
                if *oci {
                    Chart::Remote {
                        url: format!("{}/{chart_name}", url.trim_end_matches('/')),
                        name: String::new(),
                        version,
                    }
                } else {
                    Chart::Remote {
                        url: url.clone(),
                        name: chart_name,
                        version,
                    }
                }
            }
            _ => continue,
        };
        let mut values = Value::Object(Map::new());
        let mut unread = Vec::new();
        for r in v
            .pointer("/spec/valuesFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = str_at(r, "/kind").unwrap_or_default();
            let name = str_at(r, "/name").unwrap_or_default();
            let key = str_at(r, "/valuesKey").unwrap_or_else(|| "values.yaml".into());
            let raw = (kind == "ConfigMap")
                .then(|| config_maps.get(&(own_ns.clone(), name.clone())))
                .flatten()
                .and_then(|cm| cm.get("data").and_then(|d| d.get(&key)))
                .and_then(Value::as_str);
            let Some(raw) = raw else {
                unread.push(format!("{kind} {name}"));
                continue;
            };
            match str_at(r, "/targetPath").filter(|t| !t.is_empty()) {
                Some(tp) => set_target_path(&mut values, &tp, Value::String(raw.into())),
                None => {
                    if let Ok(parsed) = crate::yaml::from_str::<Value>("values", raw) {
                        merge_values(&mut values, &parsed);
                    }
                }
            }
        }
        if let Some(inline) = v.pointer("/spec/values") {
            merge_values(&mut values, inline);
        }
        out.push(Release {
            id: format!(
                "HelmRelease {}{}",
                own_ns.map(|n| format!("{n}/")).unwrap_or_default(),
                o.name
            ),
            release_name,
            namespace,
            chart,
            values,
            unread,
        });
    }
    out
}

/// What happened to one rendered object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One object's difference: `Kind namespace/name`, and a unified diff of its YAML
/// (empty for Secrets, whose contents are never shown).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDiff {
    pub object: String,
    pub change: Change,
    pub diff: String,
    pub added: usize,
    pub removed: usize,
}

/// One release's difference, or why it was not rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseDiff {
    pub id: String,
    pub objects: Vec<ObjectDiff>,
    /// Why a side was not rendered, or what it was rendered without.
    pub notes: Vec<String>,
}

/// The objects a chart rendered: `Kind namespace/name` -> YAML text.
pub type Objects = BTreeMap<String, (String, String)>;

/// Split `helm template` output into objects (`Kind ns/name` -> (kind, YAML)).
pub fn objects(rendered: &str, default_ns: &str) -> Objects {
    let mut out = BTreeMap::new();
    for o in objects_of_file("rendered.yaml", rendered.as_bytes()) {
        let ns = if crate::namespaces::is_cluster_scoped(&o.kind) {
            String::new()
        } else {
            format!("{}/", o.namespace.as_deref().unwrap_or(default_ns))
        };
        let text = crate::yaml::to_string(&*o.doc).unwrap_or_default();
        out.insert(format!("{} {ns}{}", o.kind, o.name), (o.kind, text));
    }
    out
}

/// Compare the objects of each release before and after. `render` gives a release's
/// objects, or why it could not be rendered; a release only on one side is compared
/// with nothing.
pub fn compare(
    before: &[Release],
    after: &[Release],
    mut render: impl FnMut(&Release) -> Result<Objects, String>,
) -> Vec<ReleaseDiff> {
    let ids: BTreeSet<&str> = before.iter().chain(after).map(|r| r.id.as_str()).collect();
    let mut out = Vec::new();
    for id in ids {
        let old = before.iter().find(|r| r.id == id);
        let new = after.iter().find(|r| r.id == id);
        let mut notes = Vec::new();
        let mut side = |r: Option<&Release>, label: &str| -> Option<Objects> {
            let Some(r) = r else {
                return Some(Objects::new());
            };
            if !r.unread.is_empty() {
                notes.push(format!(
                    "{label}: rendered without the values of {} (not readable here)",
                    r.unread.join(", ")
                ));
            }
            match render(r) {
                Ok(objs) => Some(objs),
                Err(why) => {
                    notes.push(format!("{label}: not rendered: {why}"));
                    None
                }
            }
        };
        let (Some(a), Some(b)) = (side(old, "before"), side(new, "after")) else {
            out.push(ReleaseDiff {
                id: id.to_string(),
                objects: Vec::new(),
                notes,
            });
            continue;
        };
        let mut objects = Vec::new();
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            let (change, old_text, new_text, kind) = match (a.get(k), b.get(k)) {
                (None, Some((kind, t))) => (Change::Added, "", t.as_str(), kind),
                (Some((kind, t)), None) => (Change::Removed, t.as_str(), "", kind),
                (Some((kind, x)), Some((_, y))) if x != y => {
                    (Change::Changed, x.as_str(), y.as_str(), kind)
                }
                _ => continue,
            };
            let diff = similar::TextDiff::from_lines(old_text, new_text);
            let (mut added, mut removed) = (0, 0);
            for c in diff.iter_all_changes() {
                match c.tag() {
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
            let shown = if kind == "Secret" {
                String::new()
            } else {
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{k}"), &format!("b/{k}"))
                    .to_string()
            };
            objects.push(ObjectDiff {
                object: k.clone(),
                change,
                diff: shown,
                added,
                removed,
            });
        }
        out.push(ReleaseDiff {
            id: id.to_string(),
            objects,
            notes,
        });
    }
    out
}

fn change_word(d: &ObjectDiff) -> String {
    let what = match d.change {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Changed => "changed",
    };
    if d.diff.is_empty() && d.object.starts_with("Secret ") {
        format!("{what} (contents not shown)")
    } else {
        format!("{what} (+{} -{})", d.added, d.removed)
    }
}

/// The cluster-side difference for a terminal: per release, each object that
/// changes and its diff.
pub fn text(diffs: &[ReleaseDiff]) -> String {
    let mut out = String::new();
    for r in diffs {
        let n = r.objects.len();
        out.push_str(&format!("# {}: {n} object(s) change\n", r.id));
        for note in &r.notes {
            out.push_str(&format!("#   note: {note}\n"));
        }
        for d in &r.objects {
            out.push_str(&format!("#   {}: {}\n", d.object, change_word(d)));
            out.push_str(&d.diff);
        }
    }
    out
}

/// The same for a pull request body: one folded `<details>` block per object.
pub fn markdown(diffs: &[ReleaseDiff]) -> String {
    let mut out = String::new();
    for r in diffs {
        out.push_str(&format!(
            "**{}**: {} object(s) change\n\n",
            r.id,
            r.objects.len()
        ));
        for note in &r.notes {
            out.push_str(&format!("- note: {note}\n"));
        }
        for d in &r.objects {
            out.push_str(&format!(
                "<details><summary>{}: {}</summary>\n\n",
                d.object,
                change_word(d)
            ));
            if !d.diff.is_empty() {
                let fence = if d.diff.contains("```") {
                    "````"
                } else {
                    "```"
                };
                out.push_str(&format!("{fence}diff\n{}{fence}\n", d.diff));
            }
            out.push_str("\n</details>\n");
        }
        out.push('\n');
    }
    out
}

/// The heading of the cluster-side difference in a terminal.
pub const HEADING: &str = "# What changes in the cluster (helm template, per HelmRelease):\n";
/// What is said instead when there is no helm.
pub const NOT_RENDERED: &str = "the charts' objects were not rendered (no helm on PATH)";

/// Whether either rendering of the installation in `dir` has a HelmRelease.
pub fn has_releases(
    dir: &str,
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> bool {
    !releases(before, dir).is_empty() || !releases(after, dir).is_empty()
}

/// The cluster-side difference of two renderings of the installation in `dir`
/// (files relative to it), each release rendered from its own side's files.
pub fn compare_renderings(
    helm: &HelmCli,
    dir: &str,
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> Vec<ReleaseDiff> {
    let old = releases(before, dir);
    let new = releases(after, dir);
    compare(&old, &new, |r| {
        let files = if new.iter().any(|a| std::ptr::eq(a, r)) {
            after
        } else {
            before
        };
        helm.render(r, files)
    })
}

/// The `helm` binary on PATH, if there is one.
pub fn helm_binary() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join("helm"))
        .find(|p| p.is_file())
}

/// One `helm template` run. Release names, chart names, URLs, versions and
/// namespaces come from profiles and from the repository, so none may be read as a
/// flag: values are bound with `--flag=value` and the positional arguments follow
/// `--`.
pub struct Template<'a> {
    pub release: &'a str,
    pub chart: &'a std::ffi::OsStr,
    pub namespace: &'a str,
    pub values: &'a Path,
    pub repo: Option<&'a str>,
    pub version: Option<&'a str>,
}

/// The `helm template` command for `t`, without the token variables in its
/// environment (helm needs none of them, and a chart it fetches is untrusted).
pub fn template_command(helm: &Path, t: &Template) -> std::process::Command {
    let mut cmd = std::process::Command::new(helm);
    cmd.arg("template")
        .arg(format!("--namespace={}", t.namespace))
        .arg("--skip-tests");
    let mut values = std::ffi::OsString::from("--values=");
    values.push(t.values);
    cmd.arg(values);
    if let Some(repo) = t.repo {
        cmd.arg(format!("--repo={repo}"));
    }
    if let Some(version) = t.version {
        cmd.arg(format!("--version={version}"));
    }
    cmd.arg("--").arg(t.release).arg(t.chart);
    for var in crate::git::credentials::TOKEN_VARS {
        cmd.env_remove(var);
    }
    cmd.stdin(std::process::Stdio::null());
    cmd
}

/// `helm` on PATH, which renders charts for [`compare`].
pub struct HelmCli {
    pub binary: PathBuf,
    /// Never reach the network (`--offline`): remote charts are not rendered.
    pub offline: bool,
}

impl HelmCli {
    /// The `helm` on PATH, if there is one.
    pub fn on_path(offline: bool) -> Option<HelmCli> {
        helm_binary().map(|binary| HelmCli { binary, offline })
    }

    /// Render `release` with `helm template`; a local chart's files come from `files`
    /// (relative to the installation), written to a temporary directory first.
    pub fn render(
        &self,
        release: &Release,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Objects, String> {
        let tmp = tempfile::Builder::new()
            .prefix("pctl-chartdiff-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let values = tmp.path().join("values.yaml");
        let text = crate::yaml::to_string(&release.values).map_err(|e| e.to_string())?;
        std::fs::write(&values, text).map_err(|e| format!("cannot write values: {e}"))?;
        let (chart, repo, version) = match &release.chart {
            Chart::Local(dir) => {
                let root = tmp.path().join("chart");
                write_below(files, dir, &root)?;
                (root.into_os_string(), None, None)
            }
            Chart::Remote { url, name, version } => {
                if self.offline {
                    return Err(format!(
                        "the chart {url} {name} needs the network (--offline)"
                    ));
                }
                let (chart, repo) = if name.is_empty() {
                    (url.into(), None)
                } else {
                    (name.into(), Some(url.as_str()))
                };
                (
                    chart,
                    repo,
                    Some(version.as_str()).filter(|v| !v.is_empty()),
                )
            }
        };
        let mut cmd = template_command(
            &self.binary,
            &Template {
                release: &release.release_name,
                chart: &chart,
                namespace: &release.namespace,
                values: &values,
                repo,
                version,
            },
        );
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let msg: String = err.split_whitespace().collect::<Vec<_>>().join(" ");
            return Err(format!(
                "helm template failed: {}",
                msg.chars().take(300).collect::<String>()
            ));
        }
        Ok(objects(
            &String::from_utf8_lossy(&out.stdout),
            &release.namespace,
        ))
    }
}

/// Write the files below `dir` (of `files`) into `to`, keeping their relative paths;
/// a path that would leave `to` is refused.
fn write_below(files: &BTreeMap<String, Vec<u8>>, dir: &str, to: &Path) -> Result<(), String> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    for (path, bytes) in files.range(prefix.clone()..) {
        let Some(rel) = path.strip_prefix(&prefix) else {
            break;
        };
        if rel
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(format!("the chart file {path} has an unsafe path"));
        }
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot write the chart: {e}"))?;
        }
        std::fs::write(&target, bytes).map_err(|e| format!("cannot write the chart: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_from_a_profile_reaches_helm_as_a_flag_or_sees_a_token() {
        let values = Path::new("/tmp/v.yaml");
        let cmd = template_command(
            Path::new("helm"),
            &Template {
                release: "--post-renderer=/bin/sh",
                chart: std::ffi::OsStr::new("--kubeconfig=/etc/passwd"),
                namespace: "ns --dry-run=server",
                values,
                repo: Some("https://charts.example --insecure-skip-tls-verify"),
                version: Some("-1.0.0"),
            },
        );
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "template",
                "--namespace=ns --dry-run=server",
                "--skip-tests",
                "--values=/tmp/v.yaml",
                "--repo=https://charts.example --insecure-skip-tls-verify",
                "--version=-1.0.0",
                "--",
                "--post-renderer=/bin/sh",
                "--kubeconfig=/etc/passwd",
            ]
        );
        let removed: Vec<String> = cmd
            .get_envs()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        for var in crate::git::credentials::TOKEN_VARS {
            assert!(removed.iter().any(|r| r == var), "{var} reaches helm");
        }
    }

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    const RELEASE: &str = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web-app
  namespace: flux-system
spec:
  targetNamespace: apps
  chart:
    spec:
      chart: ./clusters/default/profiles/web/artifacts/app/chart
      sourceRef: {kind: GitRepository, name: flux-system}
  valuesFrom:
    - {kind: ConfigMap, name: web-app-values}
    - {kind: Secret, name: web-app-secrets, targetPath: auth.password}
    - {kind: ConfigMap, name: web-app-values, valuesKey: port, targetPath: service.port}
  values:
    replicas: 2
";
    const VALUES: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: web-app-values
  namespace: flux-system
data:
  values.yaml: |
    replicas: 1
    image: {tag: '1.0'}
  port: '8080'
";
    const REMOTE: &str = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web-cache, namespace: flux-system}
spec:
  releaseName: cache
  chart:
    spec:
      chart: redis
      version: 1.x
      sourceRef: {kind: HelmRepository, name: web-cache}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: web-cache, namespace: flux-system}
spec: {type: oci, url: 'oci://registry.example.com/charts'}
";

    #[test]
    fn releases_carry_chart_names_namespaces_and_values_as_helm_controller_merges_them() {
        let f = files(&[
            ("artifacts/app/helm-release.yaml", RELEASE),
            ("artifacts/app/values.yaml", VALUES),
            ("artifacts/cache/helm-release.yaml", REMOTE),
        ]);
        let r = releases(&f, "clusters/default/profiles/web");
        assert_eq!(r.len(), 2);
        let app = &r[0];
        assert_eq!(app.id, "HelmRelease flux-system/web-app");
        assert_eq!(app.release_name, "apps-web-app");
        assert_eq!(app.namespace, "apps");
        assert_eq!(app.chart, Chart::Local("artifacts/app/chart".into()));
        assert_eq!(
            app.values,
            serde_json::json!({"replicas": 2, "image": {"tag": "1.0"}, "service": {"port": "8080"}})
        );
        assert_eq!(app.unread, vec!["Secret web-app-secrets".to_string()]);
        let cache = &r[1];
        assert_eq!(cache.release_name, "cache");
        assert_eq!(cache.namespace, "flux-system");
        assert_eq!(
            cache.chart,
            Chart::Remote {
                url: "oci://registry.example.com/charts/redis".into(),
                name: String::new(),
                version: "1.x".into()
            }
        );
    }

    #[test]
    fn objects_are_compared_one_by_one_and_secrets_stay_hidden() {
        let before = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: old-secret-value}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: gone}\n";
        let after = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: new-secret-value}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n";
        let rel = |v: i64| Release {
            id: "HelmRelease flux-system/web".into(),
            release_name: "web".into(),
            namespace: "apps".into(),
            chart: Chart::Local("chart".into()),
            values: serde_json::json!({"v": v}),
            unread: Vec::new(),
        };
        let diffs = compare(&[rel(1)], &[rel(2)], |r| {
            Ok(objects(
                if r.values["v"] == 1 { before } else { after },
                "apps",
            ))
        });
        assert_eq!(diffs.len(), 1);
        let got: Vec<(&str, Change)> = diffs[0]
            .objects
            .iter()
            .map(|d| (d.object.as_str(), d.change))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ClusterRole reader", Change::Added),
                ("Deployment apps/web", Change::Changed),
                ("Secret apps/creds", Change::Changed),
                ("Service apps/gone", Change::Removed),
            ]
        );
        let shown = text(&diffs) + &markdown(&diffs);
        assert!(
            shown.contains("-  replicas: 1\n+  replicas: 3\n"),
            "{shown}"
        );
        assert!(shown.contains("Secret apps/creds: changed (contents not shown)"));
        assert!(!shown.contains("secret-value"), "{shown}");
        assert!(shown.contains("<details><summary>Deployment apps/web: changed (+1 -1)</summary>"));
    }

    #[test]
    fn a_release_that_cannot_be_rendered_says_why() {
        let rel = Release {
            id: "HelmRelease flux-system/x".into(),
            release_name: "x".into(),
            namespace: "apps".into(),
            chart: Chart::Local("chart".into()),
            values: Value::Null,
            unread: vec!["Secret x-secrets".into()],
        };
        let diffs = compare(
            std::slice::from_ref(&rel),
            std::slice::from_ref(&rel),
            |_| Err("no chart".into()),
        );
        assert_eq!(
            diffs[0].notes,
            vec![
                "before: rendered without the values of Secret x-secrets (not readable here)",
                "before: not rendered: no chart",
                "after: rendered without the values of Secret x-secrets (not readable here)",
                "after: not rendered: no chart",
            ]
        );
    }

    #[test]
    fn chart_files_cannot_leave_the_temporary_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let f = files(&[("chart/../../escape.yaml", "x")]);
        assert!(write_below(&f, "chart", tmp.path()).is_err());
    }
}
