//! YAML readers for what pctl wrote, and snapshots for the all-or-nothing checks.
use super::*;

// ---------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------

/// YAML 1.2 reading (`y`, `on`, `yes` stay strings, as in Kubernetes).
pub(super) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true }
}

/// Every non-empty YAML document of a string.
pub fn yaml_docs_str(text: &str) -> Vec<Value> {
    try_yaml_docs(text).unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"))
}

/// Like [`yaml_docs_str`], but returns the parse error.
pub fn try_yaml_docs(text: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    try_yaml_docs(&text).unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display()))
}

/// A file holding exactly one YAML document.
pub fn yaml_file(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(
        docs.len(),
        1,
        "{} should hold one YAML document",
        path.display()
    );
    docs.remove(0)
}

/// Every YAML document of every `*.yaml`/`*.yml` file below `dir`, skipping
/// Helm chart directories (their templates are not YAML).
pub fn yaml_objects(dir: &Path) -> Vec<(String, Value)> {
    let files = walk(dir);
    let chart_dirs: Vec<String> = files
        .keys()
        .filter(|k| k.ends_with("/Chart.yaml") || *k == "Chart.yaml")
        .map(|k| k.trim_end_matches("Chart.yaml").to_string())
        .collect();
    let patches = kustomize_patch_files(dir, &files);
    let mut out = Vec::new();
    for (rel, e) in &files {
        if !(rel.ends_with(".yaml") || rel.ends_with(".yml"))
            || chart_dirs.iter().any(|c| rel.starts_with(c.as_str()))
            || patches.contains(rel)
        {
            continue;
        }
        if let Entry::File { .. } = e {
            for d in yaml_docs(&dir.join(rel)) {
                out.push((rel.clone(), d));
            }
        }
    }
    out
}

/// Files that a kustomization.yaml below `dir` uses as patches (they are not
/// objects of their own), as paths relative to `dir`.
pub(super) fn kustomize_patch_files(
    dir: &Path,
    files: &BTreeMap<String, Entry>,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for rel in files
        .keys()
        .filter(|k| *k == "kustomization.yaml" || k.ends_with("/kustomization.yaml"))
    {
        let base = rel.trim_end_matches("kustomization.yaml");
        let Ok(text) = std::fs::read_to_string(dir.join(rel)) else {
            continue;
        };
        let Ok(docs) = try_yaml_docs(&text) else {
            continue;
        };
        let Some(k) = docs.first() else { continue };
        let mut refs: Vec<String> = Vec::new();
        for key in ["patches", "patchesJson6902"] {
            for p in k[key].as_array().into_iter().flatten() {
                if let Some(path) = p["path"].as_str() {
                    refs.push(path.to_string());
                }
            }
        }
        for p in k["patchesStrategicMerge"].as_array().into_iter().flatten() {
            if let Some(path) = p.as_str().filter(|s| !s.contains('\n')) {
                refs.push(path.to_string());
            }
        }
        for r in refs {
            out.insert(format!("{base}{}", normalize_rel(&r)));
        }
    }
    out
}

/// The objects of a given kind (any apiVersion) below `dir`.
pub fn objects_of_kind(dir: &Path, kind: &str) -> Vec<(String, Value)> {
    yaml_objects(dir)
        .into_iter()
        .filter(|(_, d)| d["kind"] == kind)
        .collect()
}

/// `doc.metadata.name` as a string ("" when absent).
pub fn name_of(doc: &Value) -> String {
    doc["metadata"]["name"].as_str().unwrap_or("").to_string()
}

// ---------------------------------------------------------------------------
// Snapshots: the all-or-nothing checks
// ---------------------------------------------------------------------------

/// What a failed pctl command must leave exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub head: Option<String>,
    pub head_ref: Option<String>,
    pub refs: String,
    pub index: Option<Vec<u8>>,
    pub status: Vec<u8>,
    /// relative path -> "f <sha256>", "x <sha256>", "l <target>" or "d"
    pub files: BTreeMap<String, String>,
}

pub fn snapshot(repo: &Path) -> State {
    // Read the index before running git status (which must not write it:
    // GIT_OPTIONAL_LOCKS=0 in git_cmd).
    let index_path = git(repo, &["rev-parse", "--git-path", "index"]);
    let index_path = repo.join(index_path);
    let index = std::fs::read(&index_path).ok();
    let head = git_cmd(repo)
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let head_ref = git_cmd(repo)
        .args(["symbolic-ref", "-q", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let refs = git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    let status = git_cmd(repo)
        .args([
            "status",
            "--porcelain=v1",
            "--ignored",
            "-z",
            "--untracked-files=all",
        ])
        .output()
        .unwrap()
        .stdout;
    let files = walk(repo)
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                Entry::File { data, exec } => {
                    format!("{} {}", if exec { "x" } else { "f" }, sha256_hex(&data))
                }
                Entry::Symlink(t) => format!("l {t}"),
                Entry::Dir => "d".to_string(),
            };
            (k, s)
        })
        .collect();
    State {
        head,
        head_ref,
        refs,
        index,
        status,
        files,
    }
}

/// Human-readable differences between two snapshots (empty when equal).
pub fn state_diff(before: &State, after: &State) -> Vec<String> {
    let mut d = Vec::new();
    if before.head != after.head {
        d.push(format!("HEAD moved: {:?} -> {:?}", before.head, after.head));
    }
    if before.head_ref != after.head_ref {
        d.push(format!(
            "HEAD ref changed: {:?} -> {:?}",
            before.head_ref, after.head_ref
        ));
    }
    if before.refs != after.refs {
        d.push(format!(
            "refs changed:\n{}\n->\n{}",
            before.refs, after.refs
        ));
    }
    if before.index != after.index {
        d.push("the index file changed".into());
    }
    if before.status != after.status {
        d.push(format!(
            "git status changed: {:?} -> {:?}",
            String::from_utf8_lossy(&before.status).replace('\0', "; "),
            String::from_utf8_lossy(&after.status).replace('\0', "; ")
        ));
    }
    for (k, v) in &before.files {
        match after.files.get(k) {
            None => d.push(format!("removed: {k}")),
            Some(w) if w != v => d.push(format!("changed: {k}")),
            _ => {}
        }
    }
    for k in after.files.keys() {
        if !before.files.contains_key(k) {
            d.push(format!("added: {k}"));
        }
    }
    d
}

#[track_caller]
pub fn assert_unchanged(before: &State, after: &State) {
    let d = state_diff(before, after);
    assert!(
        d.is_empty(),
        "the repository changed:\n  {}",
        d.join("\n  ")
    );
}
