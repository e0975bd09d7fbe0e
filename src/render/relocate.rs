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

/// Replace the one line ending `: ./<from>\n` of `files[path]` by `: ./<to>\n`;
/// false when the file does not name it exactly once.
fn repoint(files: &mut BTreeMap<String, Vec<u8>>, path: &str, from: &str, to: &str) -> bool {
    let Some(bytes) = files.get_mut(path) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let old = format!(": ./{from}\n");
    let mut found = text.match_indices(&old);
    let (Some((at, _)), None) = (found.next(), found.next()) else {
        return false;
    };
    let mut out = Vec::with_capacity(bytes.len() + to.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(format!(": ./{to}\n").as_bytes());
    out.extend_from_slice(&bytes[at + old.len()..]);
    *bytes = out;
    true
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
        let mut changed = Vec::new();
        for leaf in &self.leaves {
            let wrapper = format!("artifacts/{}/{WRAPPER_FILE}", leaf.id);
            let dir = format!("artifacts/{}", leaf.id);
            if !repoint(
                &mut files,
                &wrapper,
                &format!("{from}/{dir}"),
                &format!("{to}/{dir}"),
            ) {
                return None;
            }
            changed.push(wrapper);
            if leaf.kind == "local chart" {
                let release = format!("{dir}/helm-release.yaml");
                if !repoint(
                    &mut files,
                    &release,
                    &format!("{from}/{dir}/chart"),
                    &format!("{to}/{dir}/chart"),
                ) {
                    return None;
                }
                changed.push(release);
            }
        }
        files.remove(record::FILE);
        let mut record = self.record.clone();
        record.spec.path = to.to_string();
        for path in changed {
            record.spec.files.remove(&path);
        }
        Some(Rendered {
            files,
            record,
            leaves: self.leaves.clone(),
            notes: self.notes.clone(),
            sealed: self.sealed.clone(),
            relocatable: true,
        })
    }
}
