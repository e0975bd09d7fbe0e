//! Whether a chain of directories passes what lies below it through as it is, the way
//! Flux and kustomize build it: the precondition shared by the ownership scan's and
//! the commit guard's shortcuts for a write that adds or changes one installation
//! (docs/architecture.md#the-ownership-scan-of-a-whole-tree, docs/check.md).
use crate::git::{Changes, TreeView};
use crate::gitops::join;
use crate::yaml::Value;

/// Whether directory `dir` builds its subdirectory `next` as it is, before and after
/// `changes` (None: a read failed). Without a kustomization file it does (Flux's
/// generated kustomization: every YAML file below, a subdirectory with a kustomization
/// built as one), unchanged by the change. With `kustomization.yaml`, when it is
/// [`plain`] before and after; and it lists `next` before and after, except the
/// installation's parent (`listed`: whether `next` is there before and after), which
/// lists it exactly when it is there and otherwise does not change. Another
/// kustomization file name: no.
pub fn passes_through(
    view: &TreeView,
    changes: &Changes,
    dir: &str,
    next: &str,
    listed: Option<(bool, bool)>,
) -> Option<bool> {
    for other in ["kustomization.yml", "Kustomization"] {
        let p = join(dir, other);
        if changes.files.contains_key(&p) || view.read(&p).ok()?.is_some() {
            return Some(false);
        }
    }
    let k = join(dir, "kustomization.yaml");
    let before = view.read_string(&k).ok()?;
    let after = match changes.files.get(&k) {
        Some(Some(bytes)) => Some(String::from_utf8(bytes.clone()).ok()?),
        Some(None) => return Some(false),
        None => before.clone(),
    };
    Some(match (before, after) {
        (None, None) => listed.is_none(),
        (Some(before), Some(after)) => match (plain(&k, &before), plain(&k, &after)) {
            (Some(mut old), Some(mut new)) => {
                let (was, is) = listed.unwrap_or((true, true));
                let lists = |list: &[String]| list.iter().any(|r| r == next);
                let fits = lists(&old) == was && lists(&new) == is;
                old.retain(|r| r != next);
                new.retain(|r| r != next);
                fits && old == new
            }
            _ => false,
        },
        _ => false,
    })
}

/// The resources of the kustomization `text` (file `origin`), each without `./` and
/// a trailing `/`, when it has only `apiVersion`, `kind` and `resources`, every
/// resource a path.
///
/// A file as pctl writes it is read as text (an install path's lists every
/// installation); debug builds parse it too and compare.
pub fn plain(origin: &str, text: &str) -> Option<Vec<String>> {
    if let Some(names) = crate::gitops::listed_names(text) {
        let names: Vec<String> = names.into_iter().map(str::to_string).collect();
        if cfg!(debug_assertions) {
            assert_eq!(
                parsed(origin, text).as_ref(),
                Some(&names),
                "pctl bug: {origin} read as text differs from its parse"
            );
        }
        return Some(names);
    }
    parsed(origin, text)
}

/// [`plain`] by parsing the YAML.
fn parsed(origin: &str, text: &str) -> Option<Vec<String>> {
    let doc = super::build::one_document_shared(origin, text).ok()?;
    let Value::Object(map) = &*doc else {
        return None;
    };
    if map
        .keys()
        .any(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "resources"))
    {
        return None;
    }
    match map.get("resources") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(resources)) => resources
            .iter()
            .map(|r| {
                r.as_str()
                    .map(|r| r.trim_start_matches("./").trim_end_matches('/').to_string())
            })
            .collect(),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_kustomization_of_resources_is_plain() {
        let k = "k";
        let list = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a\n- ./b/\n";
        assert_eq!(plain(k, list), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(plain(k, "resources: []\n"), Some(vec![]));
        assert_eq!(plain(k, "kind: Kustomization\n"), Some(vec![]));
        for extra in [
            "namespace: other\n",
            "namePrefix: x-\n",
            "patches: []\n",
            "components: [c]\n",
            "commonLabels: {a: b}\n",
        ] {
            assert_eq!(
                plain(k, &format!("{list}{extra}")),
                None,
                "{extra} changes what the directory builds"
            );
        }
        // As pctl writes it: read as text (debug builds parse it too and compare), and
        // anything after the list is still read as YAML.
        let pctl = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a\n- b-1\n";
        assert_eq!(
            plain(k, pctl),
            Some(vec!["a".to_string(), "b-1".to_string()])
        );
        for extra in ["namePrefix: x-\n", "- ./c\n", "# note\n"] {
            assert_eq!(
                plain(k, &format!("{pctl}{extra}")),
                parsed(k, &format!("{pctl}{extra}")),
                "{extra}"
            );
        }
        assert_eq!(plain(k, &format!("{pctl}namePrefix: x-\n")), None);
        assert_eq!(plain(k, "resources: [a, {b: c}]\n"), None);
        assert_eq!(plain(k, "resources: a\n"), None);
        assert_eq!(plain(k, "- a\n"), None);
        assert_eq!(plain(k, "resources: [a\n"), None);
    }
}
