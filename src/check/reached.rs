//! What the walk of a tree found clean reached (docs/check.md#the-guards-shortcut): the
//! directories it built from the repository and the key of every object it met,
//! kept in the parse cache under the tree's id for the commit guard's shortcut.
use crate::git::parsecache::{self, Reader, put_bytes, put_str};
use std::cmp::Ordering;

/// The parse cache's memo kind, and the payload's format (its key's first part: a
/// memo written by another format is never read).
const KIND: &str = "guard-reached";
const FORMAT: &[u8] = b"1";

/// A record's fields are separated by NUL and records end with a newline, so no field
/// may hold a control character (Kubernetes names cannot; a tree whose names do keeps
/// no record): then records sort as their fields do, one after the other.
const SEP: u8 = 0;
const END: u8 = b'\n';

/// What a walk from the sync path reached, for a tree with no error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub sync_path: String,
    /// The GitOps GitRepository (namespace, name).
    pub source: (String, String),
    /// `directory NUL namespace NUL targetNamespace NL` for every directory built from
    /// the repository, sorted (an empty targetNamespace: none).
    items: Vec<u8>,
    /// `kind NUL namespace NUL name NL` for every object, sorted, each once.
    keys: Vec<u8>,
    /// Where each record of `keys` starts.
    key_at: Vec<u32>,
}

/// One directory a walk built: (directory, namespace, targetNamespace).
pub type Item<'a> = (&'a str, &'a str, Option<&'a str>);

fn clean(s: &str) -> bool {
    !s.bytes().any(|b| b < b' ')
}

/// The records of `fields`, sorted and each once; None when a field cannot be held.
fn records<'a>(fields: impl Iterator<Item = [&'a str; 3]>) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for f in fields {
        if !f.iter().all(|s| clean(s)) {
            return None;
        }
        let mut r = Vec::with_capacity(f.iter().map(|s| s.len() + 1).sum());
        r.extend_from_slice(f[0].as_bytes());
        r.push(SEP);
        r.extend_from_slice(f[1].as_bytes());
        r.push(SEP);
        r.extend_from_slice(f[2].as_bytes());
        r.push(END);
        out.push(r);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// `old` (sorted records) with `new` (sorted records) merged in, in order, each once.
fn merged(old: &[u8], new: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(old.len() + new.iter().map(Vec::len).sum::<usize>());
    let mut new = new.iter().peekable();
    for r in old.split_inclusive(|b| *b == END) {
        while let Some(n) = new.next_if(|n| n.as_slice() < r) {
            out.extend_from_slice(n);
        }
        new.next_if(|n| n.as_slice() == r);
        out.extend_from_slice(r);
    }
    for n in new {
        out.extend_from_slice(n);
    }
    out
}

fn starts(blob: &[u8]) -> Option<Vec<u32>> {
    let mut at = Vec::new();
    let mut from = 0usize;
    while from < blob.len() {
        at.push(u32::try_from(from).ok()?);
        from += memchr::memchr(END, &blob[from..])? + 1;
    }
    Some(at)
}

/// The records of a walk's directories; None when one cannot be held, or has an empty
/// targetNamespace (which reads back as none).
fn item_records(items: &[(String, String, Option<String>)]) -> Option<Vec<Vec<u8>>> {
    if items.iter().any(|(_, _, t)| t.as_deref() == Some("")) {
        return None;
    }
    records(
        items
            .iter()
            .map(|(d, ns, t)| [d.as_str(), ns.as_str(), t.as_deref().unwrap_or("")]),
    )
}

/// The records of a walk's objects' keys; None when one cannot be held.
fn key_records<'a>(
    keys: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> Option<Vec<Vec<u8>>> {
    records(keys.map(|(k, ns, n)| [k, ns, n]))
}

impl Reached {
    /// The record of a walk: its directories and its objects' keys. None when a name
    /// cannot be held ([`SEP`]) or a targetNamespace is empty.
    pub fn new<'a>(
        sync_path: &str,
        source: &(String, String),
        items: &[(String, String, Option<String>)],
        keys: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Option<Self> {
        let items = item_records(items)?.concat();
        let keys = key_records(keys)?.concat();
        let key_at = starts(&keys)?;
        Some(Reached {
            sync_path: sync_path.to_string(),
            source: source.clone(),
            items,
            keys,
            key_at,
        })
    }

    /// This record with the directories and objects a walk of what a change adds met,
    /// merged in. None when a name cannot be held.
    pub fn with<'a>(
        &self,
        items: &[(String, String, Option<String>)],
        keys: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Option<Self> {
        let keys = merged(&self.keys, &key_records(keys)?);
        let key_at = starts(&keys)?;
        Some(Reached {
            sync_path: self.sync_path.clone(),
            source: self.source.clone(),
            items: merged(&self.items, &item_records(items)?),
            keys,
            key_at,
        })
    }

    /// Every directory the walk built, in order.
    pub fn items(&self) -> impl Iterator<Item = Item<'_>> {
        self.items.split_inclusive(|b| *b == END).filter_map(|r| {
            let r = std::str::from_utf8(r.strip_suffix(&[END])?).ok()?;
            let mut f = r.splitn(3, '\0');
            let (d, ns, t) = (f.next()?, f.next()?, f.next()?);
            Some((d, ns, (!t.is_empty()).then_some(t)))
        })
    }

    /// Whether the walk met an object (kind, namespace, name).
    pub fn has(&self, kind: &str, ns: &str, name: &str) -> bool {
        let want = [kind.as_bytes(), ns.as_bytes(), name.as_bytes()];
        self.key_at
            .binary_search_by(|&at| {
                let r = &self.keys[at as usize..];
                let r = &r[..memchr::memchr(END, r).unwrap_or(r.len())];
                // The record's fields against the wanted ones, as the sorted bytes
                // compare (a field ends at NUL, which sorts before every other byte).
                let mut fields = r.splitn(3, |b| *b == SEP);
                for w in want {
                    match fields.next().unwrap_or_default().cmp(w) {
                        Ordering::Equal => {}
                        other => return other,
                    }
                }
                Ordering::Equal
            })
            .is_ok()
    }

    fn key(tree: &str) -> parsecache::Key {
        parsecache::memo_key(KIND, &[FORMAT, tree.as_bytes()])
    }

    /// The record kept for the tree with hex id `tree`.
    pub fn load(tree: &str) -> Option<Self> {
        let payload = parsecache::memo_get(&Self::key(tree))?;
        let mut r = Reader::new(&payload);
        let sync_path = r.str()?.to_string();
        let source = (r.str()?.to_string(), r.str()?.to_string());
        let items = r.bytes()?.to_vec();
        let keys = r.bytes()?.to_vec();
        r.end()?;
        if items.last().is_some_and(|b| *b != END) {
            return None;
        }
        let key_at = starts(&keys)?;
        Some(Reached {
            sync_path,
            source,
            items,
            keys,
            key_at,
        })
    }

    /// Keep the record for the tree with raw id `tree` (the tree a change committed).
    pub fn keep(&self, tree: &[u8]) {
        use std::fmt::Write as _;
        let hex = tree.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let mut out = Vec::with_capacity(self.items.len() + self.keys.len() + 64);
        put_str(&mut out, &self.sync_path);
        put_str(&mut out, &self.source.0);
        put_str(&mut out, &self.source.1);
        put_bytes(&mut out, &self.items);
        put_bytes(&mut out, &self.keys);
        parsecache::memo_put(&Self::key(&hex), &out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(d: &str, ns: &str, t: Option<&str>) -> (String, String, Option<String>) {
        (d.into(), ns.into(), t.map(str::to_string))
    }

    #[test]
    fn keys_are_found_exactly_and_records_merge_in_order() {
        let src = ("flux-system".to_string(), "flux-system".to_string());
        let r = Reached::new(
            "clusters/default",
            &src,
            &[item("clusters/default", "flux-system", None)],
            [
                ("Kustomization", "flux-system", "b"),
                ("ConfigMap", "a", "x"),
                ("Kustomization", "flux-system", "a"),
                ("ConfigMap", "a", "x"),
            ]
            .into_iter(),
        )
        .unwrap();
        assert!(r.has("ConfigMap", "a", "x"));
        assert!(r.has("Kustomization", "flux-system", "a"));
        assert!(r.has("Kustomization", "flux-system", "b"));
        // A key that is a prefix of another, or another's fields run together, is not it.
        assert!(!r.has("ConfigMap", "a", ""));
        assert!(!r.has("ConfigMap", "", "ax"));
        assert!(!r.has("ConfigMa", "pa", "x"));
        assert!(!r.has("Kustomization", "flux-system", "c"));
        let more = r
            .with(
                &[
                    item("p/a/artifacts/x", "flux-system", Some("apps")),
                    item("a", "b", None),
                ],
                [("ConfigMap", "a", "w"), ("Secret", "z", "z")].into_iter(),
            )
            .unwrap();
        for k in [
            ("ConfigMap", "a", "w"),
            ("ConfigMap", "a", "x"),
            ("Secret", "z", "z"),
        ] {
            assert!(more.has(k.0, k.1, k.2), "{k:?}");
        }
        assert_eq!(
            more.items().collect::<Vec<_>>(),
            vec![
                ("a", "b", None),
                ("clusters/default", "flux-system", None),
                ("p/a/artifacts/x", "flux-system", Some("apps")),
            ]
        );
        // Merging equals making the record of everything at once.
        let all = Reached::new(
            "clusters/default",
            &src,
            &[
                item("clusters/default", "flux-system", None),
                item("p/a/artifacts/x", "flux-system", Some("apps")),
                item("a", "b", None),
            ],
            [
                ("Kustomization", "flux-system", "b"),
                ("ConfigMap", "a", "x"),
                ("Kustomization", "flux-system", "a"),
                ("ConfigMap", "a", "w"),
                ("Secret", "z", "z"),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(more, all);
    }

    #[test]
    fn a_name_the_record_cannot_hold_keeps_no_record() {
        let src = ("flux-system".to_string(), "flux-system".to_string());
        for bad in ["a\nb", "a\0b", "a\tb"] {
            assert!(Reached::new("s", &src, &[], [("ConfigMap", "ns", bad)].into_iter()).is_none());
            assert!(
                Reached::new("s", &src, &[item(bad, "ns", None)], std::iter::empty()).is_none()
            );
        }
        assert!(
            Reached::new("s", &src, &[item("d", "ns", Some(""))], std::iter::empty()).is_none()
        );
    }

    #[test]
    fn a_kept_record_reads_back_for_its_tree_only() {
        let dir = tempfile::tempdir().unwrap();
        crate::git::parsecache::attach_for_tests(dir.path(), (1, 2));
        let src = ("flux-system".to_string(), "gitops".to_string());
        let r = Reached::new(
            "clusters/prod",
            &src,
            &[item("clusters/prod", "flux-system", None)],
            [("ConfigMap", "a", "x")].into_iter(),
        )
        .unwrap();
        let tree = [0xabu8; 20];
        r.keep(&tree);
        assert_eq!(Reached::load(&"ab".repeat(20)), Some(r));
        assert_eq!(Reached::load(&"ac".repeat(20)), None);
    }
}
