//! One rendering moved to another installation directory: what `render` gives there
//! with the same inputs, without rendering again (a fleet install renders once for
//! the clusters whose inputs are equal, docs/fleets.md).
use super::*;

/// Whether YAML writes `./<dir>/…` as it is (a plain scalar): the only characters
/// pctl's installation directories normally have.
fn plain(dir: &str) -> bool {
    !dir.is_empty()
        && dir
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
}

/// `bytes` with its one occurrence of `: ./<from>\n` replaced by `: ./<to>\n`; None when
/// it occurs zero or several times. Bytes, not text: the marker is ASCII, so what
/// surrounds it is kept as it is (a fleet install repoints thousands of wrappers).
pub fn repointed(bytes: &[u8], from: &str, to: &str) -> Option<Vec<u8>> {
    let mut old = Vec::with_capacity(from.len() + 4);
    old.extend_from_slice(b": ./");
    old.extend_from_slice(from.as_bytes());
    old.push(b'\n');
    // Every occurrence ends a line: the ends of lines are tried, not every byte (a
    // wrapper is a few hundred bytes; building a substring searcher cost more than
    // the search).
    let mut found = memchr::memchr_iter(b'\n', bytes)
        .filter(|&end| end + 1 >= old.len() && bytes[end + 1 - old.len()..=end] == old[..])
        .map(|end| end + 1 - old.len());
    let (Some(at), None) = (found.next(), found.next()) else {
        return None;
    };
    let mut out = Vec::with_capacity(bytes.len() + to.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(b": ./");
    out.extend_from_slice(to.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&bytes[at + old.len()..]);
    Some(out)
}

/// Replace the one line ending `: ./<from>\n` of `files[path]` by `: ./<to>\n`;
/// false when the file does not name it exactly once.
fn repoint(files: &mut BTreeMap<String, Vec<u8>>, path: &str, from: &str, to: &str) -> bool {
    let Some(bytes) = files.get_mut(path) else {
        return false;
    };
    match repointed(bytes, from, to) {
        Some(new) => {
            *bytes = new;
            true
        }
        None => false,
    }
}

impl Rendered {
    /// This rendering (of the installation directory `record.spec.path`) as `render`
    /// with the same inputs gives it for the directory `to`. Only the wrappers' paths,
    /// the local charts' paths and the record's `path` depend on the directory when
    /// [`Rendered::relocatable`] (no Secret to seal: their recipients depend on the
    /// path; no template that may read `install.path`); None when that cannot be
    /// known, and the caller renders again.
    pub fn relocated(&self, to: &str) -> Result<Option<Rendered>> {
        let Some(mut r) = self.relocated_unrecorded(to) else {
            return Ok(None);
        };
        for (path, bytes) in &r.files {
            if !r.record.spec.files.contains_key(path) {
                r.record
                    .spec
                    .files
                    .insert(path.clone(), record::sha256(bytes));
            }
        }
        r.files
            .insert(record::FILE.into(), r.record.to_yaml()?.into_bytes());
        Ok(Some(r))
    }

    /// [`Rendered::relocated`] without the record file, and without the hashes of the
    /// files it changed in the record: for `crate::gitops::bases::apply`, which hashes
    /// the files it lacks and writes the record (a fleet install's clusters would
    /// otherwise each write and hash theirs twice).
    pub fn relocated_unrecorded(&self, to: &str) -> Option<Rendered> {
        let from = self.record.spec.path.as_str();
        if !self.relocatable || !plain(from) || !plain(to) {
            return None;
        }
        let mut files = self.files.clone();
        let changed = self.repoint_leaves(&mut files, from, to, |_| (true, true))?;
        files.remove(record::FILE);
        let mut record = self.record.clone();
        record.spec.path = to.to_string();
        for path in changed {
            record.spec.files.remove(&path);
        }
        Some(self.moved(files, record))
    }

    /// Repoint in `files` what names the installation directory `from` to `to`: each
    /// leaf's wrapper, and a local chart's HelmRelease, as far as `which(leaf)` (wrapper,
    /// HelmRelease) asks. The paths changed; None when one does not name `from` exactly
    /// once.
    fn repoint_leaves(
        &self,
        files: &mut BTreeMap<String, Vec<u8>>,
        from: &str,
        to: &str,
        which: impl Fn(&Leaf) -> (bool, bool),
    ) -> Option<Vec<String>> {
        let mut changed = Vec::new();
        for leaf in &self.leaves {
            let (wrapper, release) = which(leaf);
            let dir = ["artifacts/", &leaf.id].concat();
            let mut moved = Vec::new();
            if wrapper {
                moved.push(([dir.as_str(), "/", WRAPPER_FILE].concat(), ""));
            }
            if release && leaf.kind == "local chart" {
                moved.push(([dir.as_str(), "/helm-release.yaml"].concat(), "/chart"));
            }
            for (path, below) in moved {
                if !repoint(
                    files,
                    &path,
                    &[from, "/", &dir, below].concat(),
                    &[to, "/", &dir, below].concat(),
                ) {
                    return None;
                }
                changed.push(path);
            }
        }
        Some(changed)
    }

    /// This rendering's leaves, notes and sealed files with `files` and `record`: a
    /// rendering moved elsewhere.
    fn moved(&self, files: BTreeMap<String, Vec<u8>>, record: Installation) -> Rendered {
        Rendered {
            files,
            record,
            leaves: self.leaves.clone(),
            notes: self.notes.clone(),
            sealed: self.sealed.clone(),
            relocatable: true,
        }
    }

    /// Whether [`Rendered::relocated_applied`] may move this rendering (once pointed at
    /// its bases) to `to`: then it does, unless a wrapper or local chart's HelmRelease
    /// does not name its directory exactly once, which [`Rendered::relocated_unrecorded`]
    /// finds as well.
    pub fn relocates_applied_to(&self, to: &str) -> bool {
        let from = self.record.spec.path.as_str();
        let depth = |d: &str| d.split('/').filter(|p| !p.is_empty()).count();
        self.relocatable && plain(from) && plain(to) && depth(from) == depth(to)
    }

    /// A rendering already pointed at its fleet bases (`crate::gitops::bases::apply`)
    /// as [`Rendered::relocated_unrecorded`] to `to` and then pointed at the same bases
    /// gives it: what the clusters of a fleet install with the same inputs get, from the
    /// first one's finished rendering, without repointing every wrapper twice. A
    /// wrapper or HelmRelease pointed at a base names no installation directory and is
    /// kept; the others are repointed and hashed again, and the record names `to`. None
    /// when that cannot be known (as for `relocated_unrecorded`, or the two directories
    /// are not as deep: the kustomization names the shared wrappers through `../`).
    pub fn relocated_applied(&self, to: &str) -> Result<Option<Rendered>> {
        if !self.relocates_applied_to(to) || !self.files.contains_key(record::FILE) {
            return Ok(None);
        }
        let from = self.record.spec.path.as_str();
        let bases = &self.record.spec.bases;
        let mut files = self.files.clone();
        // What is pointed at a base names no installation directory.
        let changed = self.repoint_leaves(&mut files, from, to, |leaf| {
            let base = bases.get(&leaf.id);
            (
                !base.is_some_and(|b| b.holds == record::Holds::Artifact),
                base.is_none(),
            )
        });
        let Some(changed) = changed else {
            return Ok(None);
        };
        let mut record = self.record.clone();
        record.spec.path = to.to_string();
        for path in changed {
            let hash = record::sha256(&files[&path]);
            record.spec.files.insert(path, hash);
        }
        let mut r = self.moved(files, record);
        let text = match record_like(&mut r, self) {
            Some(text) => text,
            None => r.record.to_yaml()?,
        };
        r.files.insert(record::FILE.into(), text.into_bytes());
        Ok(Some(r))
    }
}

/// The record text of `r` from `like`'s, when the records differ only in their path
/// and both paths are written plain.
pub fn record_like(r: &mut Rendered, like: &Rendered) -> Option<String> {
    let (from, to) = (&like.record.spec.path, r.record.spec.path.clone());
    if !plain(from) || !plain(&to) {
        return None;
    }
    let text = std::str::from_utf8(like.files.get(record::FILE)?).ok()?;
    r.record.spec.path = from.clone();
    let same = r.record == like.record;
    r.record.spec.path = to.clone();
    if !same {
        return None;
    }
    let old = format!("\n  path: {from}\n");
    let mut found = text.match_indices(&old);
    let (Some((at, _)), None) = (found.next(), found.next()) else {
        return None;
    };
    Some(format!(
        "{}\n  path: {to}\n{}",
        &text[..at],
        &text[at + old.len()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::repointed;

    #[test]
    fn a_path_is_repointed_only_where_it_occurs_exactly_once() {
        let wrapper = b"spec:\n  path: ./clusters/a/profiles/x/artifacts/web\n  prune: true\n";
        assert_eq!(
            repointed(
                wrapper,
                "clusters/a/profiles/x/artifacts/web",
                "bases/x/1.0.0/web"
            )
            .as_deref(),
            Some(&b"spec:\n  path: ./bases/x/1.0.0/web\n  prune: true\n"[..])
        );
        // Missing, or only a prefix of a longer path: no line ends with it.
        assert_eq!(repointed(wrapper, "clusters/b", "z"), None);
        assert_eq!(
            repointed(wrapper, "clusters/a/profiles/x/artifacts", "z"),
            None
        );
        // At the very start, and where the path is the tail of a longer one.
        assert_eq!(
            repointed(b": ./p\nx: ./ap\n", "p", "q").as_deref(),
            Some(&b": ./q\nx: ./ap\n"[..])
        );
        assert_eq!(repointed(b"x: ./a/p\n", "p", "q"), None);
        assert_eq!(repointed(b"x: ./p", "p", "q"), None);
        // Twice: which one is meant cannot be told.
        let twice = b"a: ./p\nb: ./p\n";
        assert_eq!(repointed(twice, "p", "q"), None);
        // Bytes around the marker are kept as they are, valid UTF-8 or not.
        let odd = b"\xff\xfe: ./p\n\xc3";
        assert_eq!(
            repointed(odd, "p", "q").as_deref(),
            Some(&b"\xff\xfe: ./q\n\xc3"[..])
        );
    }
}
