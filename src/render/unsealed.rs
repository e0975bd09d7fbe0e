//! What `render` returns before encryption: the rendering with its Secrets still in
//! plaintext, held in memory only, and the one way to a writable [`Rendered`]
//! (`crate::sops::seal` encrypts them, then [`Unsealed::with_ciphertext`] completes
//! the record).
use super::*;

/// A rendering whose Secrets are not encrypted yet. It has no files to write: the
/// files that hold Secrets are only in [`Unsealed::to_seal`], and the record (which
/// hashes their encrypted bytes) is completed by [`Unsealed::with_ciphertext`]. Only
/// `crate::sops::seal` turns it into a [`Rendered`].
#[derive(Debug)]
pub struct Unsealed {
    /// Every file but the ones to seal and the record.
    pub(super) files: BTreeMap<String, Vec<u8>>,
    /// The record without `spec.files`.
    pub(super) record: Installation,
    pub(super) leaves: Vec<Leaf>,
    pub(super) notes: Vec<String>,
    pub(super) sealed: BTreeMap<String, Sealed>,
    pub(super) to_seal: Vec<ToSeal>,
    /// See [`Rendered::relocatable`].
    pub(super) relocatable: bool,
}

/// One file to encrypt, by path relative to the installation: its YAML documents in
/// order, joined with `---` once the Secrets among them are encrypted.
#[derive(Debug)]
pub struct ToSeal {
    pub path: String,
    pub parts: Vec<Part>,
}

/// One document of a file to seal.
#[derive(Debug)]
pub enum Part {
    /// A document without secrets, written as it is.
    Clear(String),
    /// A Kubernetes Secret to SOPS-encrypt for `recipients` (age public keys, from the
    /// GitOps repository's `.sops.yaml`).
    Secret {
        plaintext: Plaintext,
        recipients: Vec<String>,
    },
}

/// A Secret manifest in plaintext. It cannot be printed (its `Debug` is redacted and
/// it has no `Display`), serialized or cloned; [`Plaintext::expose`] is for
/// `crate::sops` alone (tests/it/layering.rs checks that no other module calls it,
/// nor [`Unsealed::with_ciphertext`]).
pub struct Plaintext(String);

impl Plaintext {
    pub(super) fn new(text: String) -> Plaintext {
        Plaintext(text)
    }

    /// The manifest's text, to encrypt it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plaintext(<redacted>)")
    }
}

impl Unsealed {
    /// The files to encrypt.
    pub fn to_seal(&self) -> &[ToSeal] {
        &self.to_seal
    }

    /// What the plaintext of every file to seal was (its hash, the kept secrets in it).
    pub fn sealed(&self) -> &BTreeMap<String, Sealed> {
        &self.sealed
    }

    /// Every file but the ones to seal and the record.
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.files
    }

    /// The record without `spec.files`.
    pub fn record(&self) -> &Installation {
        &self.record
    }

    /// The artifacts rendered.
    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    /// The rendering with `encrypted` (the bytes of every file of
    /// [`Unsealed::to_seal`], by path) in place, and its record completed.
    pub fn with_ciphertext(self, mut encrypted: BTreeMap<String, Vec<u8>>) -> Result<Rendered> {
        let mut files = self.files;
        for file in &self.to_seal {
            let Some(bytes) = encrypted.remove(&file.path) else {
                bail!(crate::error::Bug(format!(
                    "the rendering's file {} was not sealed",
                    file.path
                )));
            };
            files.insert(file.path.clone(), bytes);
        }
        if let Some(path) = encrypted.keys().next() {
            bail!(crate::error::Bug(format!(
                "sealed bytes for {path}, which the rendering does not seal"
            )));
        }
        let mut record = self.record;
        record.spec.files = files
            .iter()
            .map(|(k, v)| (k.clone(), record::sha256(v)))
            .collect();
        files.insert(record::FILE.into(), record.to_yaml()?.into_bytes());
        Ok(Rendered {
            files,
            record,
            leaves: self.leaves,
            notes: self.notes,
            sealed: self.sealed,
            relocatable: self.relocatable,
        })
    }
}
