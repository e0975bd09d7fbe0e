//! The seal step: SOPS encryption of Kubernetes Secrets for age recipients (the SOPS
//! YAML file format, AES-256-GCM values, the MAC), with the randomness and the clock
//! passed in; the recipients come from `.sops.yaml` through `sops_rules.rs`.
//!
//! What is written is what the `sops` tool (v3.8+) itself writes for
//! `sops --encrypt --encrypted-regex '^(data|stringData)$' --age <recipients>`, so
//! Flux's kustomize-controller (`decryption: {provider: sops}`) decrypts it with the
//! cluster's age identity:
//!
//! - One random 32-byte data key per file. For every recipient, the `sops.age` list
//!   holds `{recipient, enc}`, `enc` being the data key encrypted with age to that one
//!   recipient, ASCII-armored.
//! - Every leaf whose tree path has a key matching `encrypted_regex` (`data` or
//!   `stringData`) becomes `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`: AES-256-GCM with
//!   a random 32-byte IV and, as additional authenticated data, the keys of the path
//!   from the document root joined and ended with `:` (`stringData:password:`; list
//!   indices are not part of it). Empty strings stay empty, as `sops` leaves them.
//! - The MAC is the upper-case hex SHA-512 of every leaf value of the document (the
//!   encrypted and the clear ones, in document order; `null`s skipped; booleans as
//!   `True`/`False`), encrypted like a value with `lastmodified` (RFC 3339, UTC, whole
//!   seconds) as additional data.
//!
//! kustomize-controller decrypts a Secret that has a `sops.mac` after the kustomize
//! build, through the JSON store (same paths, same AAD) and, by default, without the
//! MAC check (kustomize may have changed clear fields such as the namespace); `sops
//! --decrypt` checks the MAC, and it matches.
//!
//! Encrypted files are the one exception to pctl's byte-identical output: the data
//! key, the IVs and `lastmodified` are new on every call. Nothing is derived from the
//! plaintext. Rendering is pure and leaves its Secrets unencrypted in memory
//! ([`crate::render::Unsealed`]); [`seal`] is the separate step every command runs
//! after it, with the randomness and the clock passed in ([`Entropy`]: [`System`]
//! in pctl, fixed ones in tests).
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha512};

use crate::render::{Part, Rendered, Unsealed};
use crate::sops_rules::parse_recipient;
use crate::yaml::{self, Map, Value};

pub use crate::sops_rules::age_recipients;

/// The value of `sops.encrypted_regex`: only values under `data` and `stringData`.
pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";
/// The SOPS version recorded in `sops.version`: the file format of sops 3.8.
const SOPS_VERSION: &str = "3.8.1";
/// SOPS's AES-GCM IV length in bytes (not GCM's usual 12).
const IV_LEN: usize = 32;

/// AES-256-GCM with SOPS's 32-byte nonces and the usual 16-byte tag.
type Cipher = AesGcm<Aes256, U32>;

/// A `.sops.yaml` naming a freshly generated age recipient whose identity is thrown
/// away at once: `pctl lint` and `pctl diff` render profiles that use secrets with
/// it, without a GitOps repository. Nothing it encrypts can ever be decrypted.
pub fn throwaway_sops_yaml() -> String {
    let id = age::x25519::Identity::generate();
    format!("creation_rules:\n  - age: {}\n", id.to_public())
}

/// Where encryption takes its randomness and its time from: [`System`] in pctl, a
/// fixed one in tests so that everything but the age stanzas is reproducible.
pub trait Entropy {
    /// Fill `buf` with random bytes (the data key, the IVs).
    fn fill(&mut self, buf: &mut [u8]) -> Result<()>;
    /// Seconds since the Unix epoch (`sops.lastmodified`).
    fn now(&mut self) -> Result<i64>;
}

/// The operating system's random numbers and the system clock.
pub struct System;

impl Entropy for System {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| anyhow!("cannot get random bytes: {e}"))
    }

    fn now(&mut self) -> Result<i64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the system clock is before 1970")?;
        i64::try_from(now.as_secs()).context("the system clock is out of range")
    }
}

/// Seal a rendering: encrypt every Secret it holds for the recipients render named,
/// and finish its record (which hashes the encrypted bytes). The only way from
/// [`Unsealed`] to a [`Rendered`] whose files can be written.
pub fn seal(unsealed: Unsealed, entropy: &mut dyn Entropy) -> Result<Rendered> {
    seal_keeping(unsealed, &BTreeMap::new(), entropy)
}

/// [`seal`], taking the encrypted bytes of the files in `keep` (by path relative to
/// the installation) as they are instead of encrypting them again: an upgrade keeps
/// the repository's ciphertext of a Secret whose plaintext did not change.
pub fn seal_keeping(
    unsealed: Unsealed,
    keep: &BTreeMap<String, Vec<u8>>,
    entropy: &mut dyn Entropy,
) -> Result<Rendered> {
    let mut sealed = BTreeMap::new();
    for file in unsealed.to_seal() {
        if let Some(bytes) = keep.get(&file.path) {
            sealed.insert(file.path.clone(), bytes.clone());
            continue;
        }
        let parts = file
            .parts
            .iter()
            .map(|part| match part {
                Part::Clear(text) => Ok(text.clone()),
                Part::Secret {
                    plaintext,
                    recipients,
                } => encrypt_secret_with(plaintext.expose(), recipients, entropy),
            })
            .collect::<Result<Vec<_>>>()?;
        sealed.insert(file.path.clone(), parts.join("---\n").into_bytes());
    }
    unsealed.with_ciphertext(sealed)
}

/// Encrypt a Kubernetes Secret manifest (YAML text of one document with `stringData`
/// and/or `data`) into the SOPS YAML format, encrypting only the values under `data`
/// and `stringData` (SOPS `encrypted_regex: ^(data|stringData)$`), for the given age
/// recipients (age1...). Output must be decryptable by the real `sops` (v3.8+) with
/// the matching age identity, including the MAC check.
///
/// The key order of the input is kept; the `sops` metadata block comes last.
pub fn encrypt_secret(plain_yaml: &str, recipients: &[String]) -> Result<String> {
    encrypt_secret_with(plain_yaml, recipients, &mut System)
}

/// [`encrypt_secret`] with the randomness and the clock given. The age stanzas (the
/// data key wrapped for each recipient) take theirs from the age crate, which uses
/// the operating system's.
pub fn encrypt_secret_with(
    plain_yaml: &str,
    recipients: &[String],
    entropy: &mut dyn Entropy,
) -> Result<String> {
    let lastmodified = rfc3339_utc(entropy.now()?);
    if recipients.is_empty() {
        bail!("cannot SOPS-encrypt a Secret without age recipients");
    }
    let parsed: Vec<age::x25519::Recipient> = recipients
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<_>>()?;

    let mut docs = yaml::documents("Secret manifest", plain_yaml)?;
    if docs.len() != 1 {
        bail!(
            "the Secret manifest must be exactly one YAML document, found {}",
            docs.len()
        );
    }
    let Some(Value::Object(mut doc)) = docs.pop() else {
        bail!("the Secret manifest must be a YAML mapping");
    };
    if doc.get("kind").and_then(Value::as_str) != Some("Secret") {
        bail!("only Kubernetes Secrets (kind: Secret) are SOPS-encrypted");
    }
    if doc.contains_key("sops") {
        bail!("the Secret manifest already has a `sops` key (is it encrypted already?)");
    }

    let mut key = [0u8; 32];
    entropy.fill(&mut key)?;
    let cipher = Cipher::new_from_slice(&key).map_err(|_| anyhow!("invalid AES-256 key length"))?;

    let mut hasher = Sha512::new();
    let mut path = Vec::new();
    for (k, v) in doc.iter_mut() {
        path.push(k.clone());
        encrypt_tree(
            &cipher,
            &mut hasher,
            v,
            &mut path,
            is_encrypted_key(k),
            entropy,
        )?;
        path.pop();
    }
    let mac = hex_upper(&hasher.finalize());
    let mac = encrypt_value(&cipher, mac.as_bytes(), "str", &lastmodified, entropy)?;

    let mut age_keys = Vec::new();
    for (text, recipient) in recipients.iter().zip(&parsed) {
        let enc = age::encrypt_and_armor(recipient, &key)
            .map_err(|e| anyhow!("cannot encrypt the SOPS data key for {text}: {e}"))?;
        let mut entry = Map::new();
        entry.insert("recipient".into(), Value::String(text.clone()));
        entry.insert("enc".into(), Value::String(enc));
        age_keys.push(Value::Object(entry));
    }
    let mut meta = Map::new();
    meta.insert("age".into(), Value::Array(age_keys));
    meta.insert("lastmodified".into(), Value::String(lastmodified));
    meta.insert("mac".into(), Value::String(mac));
    meta.insert(
        "encrypted_regex".into(),
        Value::String(ENCRYPTED_REGEX.into()),
    );
    meta.insert("version".into(), Value::String(SOPS_VERSION.into()));
    doc.insert("sops".into(), Value::Object(meta));
    yaml::to_string(&Value::Object(doc))
}

/// Whether a key matches [`ENCRYPTED_REGEX`]; sops encrypts a leaf when any key on its
/// path does.
fn is_encrypted_key(key: &str) -> bool {
    key == "data" || key == "stringData"
}

fn encrypt_tree(
    cipher: &Cipher,
    hasher: &mut Sha512,
    value: &mut Value,
    path: &mut Vec<String>,
    encrypt: bool,
    entropy: &mut dyn Entropy,
) -> Result<()> {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                path.push(k.clone());
                let below = encrypt || is_encrypted_key(k);
                encrypt_tree(cipher, hasher, v, path, below, entropy)?;
                path.pop();
            }
        }
        Value::Array(items) => {
            for v in items {
                encrypt_tree(cipher, hasher, v, path, encrypt, entropy)?;
            }
        }
        leaf => {
            let Some((bytes, kind)) = leaf_bytes(leaf, path)? else {
                return Ok(()); // null: neither hashed nor encrypted, as in sops
            };
            hasher.update(&bytes);
            if encrypt && !bytes.is_empty() {
                let aad = format!("{}:", path.join(":"));
                *leaf = Value::String(encrypt_value(cipher, &bytes, kind, &aad, entropy)?);
            }
        }
    }
    Ok(())
}

/// A leaf's bytes as sops hashes and encrypts them, and its SOPS type name.
fn leaf_bytes(value: &Value, path: &[String]) -> Result<Option<(Vec<u8>, &'static str)>> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::String(s) => (s.as_bytes().to_vec(), "str"),
        Value::Bool(b) => ((if *b { "True" } else { "False" }).into(), "bool"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                (i.to_string().into_bytes(), "int")
            } else if n.is_u64() {
                bail!(
                    "the number at `{}` is too large for SOPS (quote it)",
                    path.join(".")
                );
            } else {
                let f = n
                    .as_f64()
                    .ok_or_else(|| anyhow!("unsupported number at `{}`", path.join(".")))?;
                // Rust's `{}` for f64 is Go's strconv.FormatFloat(f, 'f', -1, 64):
                // the shortest round-trip digits, never an exponent.
                (format!("{f}").into_bytes(), "float")
            }
        }
        Value::Array(_) | Value::Object(_) => bail!("not a leaf"),
    }))
}

fn encrypt_value(
    cipher: &Cipher,
    plaintext: &[u8],
    kind: &str,
    aad: &str,
    entropy: &mut dyn Entropy,
) -> Result<String> {
    let mut iv = [0u8; IV_LEN];
    entropy.fill(&mut iv)?;
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_in_place_detached(Nonce::<U32>::from_slice(&iv), aad.as_bytes(), &mut buf)
        .map_err(|_| anyhow!("AES-GCM encryption failed"))?;
    Ok(format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        B64.encode(&buf),
        B64.encode(iv),
        B64.encode(tag.as_slice())
    ))
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

/// `secs` since the Unix epoch as Go's `time.RFC3339` prints a UTC time:
/// `2006-01-02T15:04:05Z`.
fn rfc3339_utc(secs: i64) -> String {
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        sod / 3_600,
        sod % 3_600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInPlace;
    use regex::Regex;

    /// Our own decryption, mirroring sops: data key from age, every ENC value with its
    /// path as AAD, then the MAC over all leaf values in order.
    fn decrypt(text: &str, identity: &age::x25519::Identity) -> Result<Value> {
        let Value::Object(mut doc) = yaml::from_str::<Value>("encrypted", text)? else {
            bail!("not a mapping");
        };
        let Some(Value::Object(meta)) = doc.remove("sops") else {
            bail!("no sops metadata");
        };
        let recipient = identity.to_public().to_string();
        let enc = meta["age"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["recipient"] == recipient.as_str()))
            .and_then(|k| k["enc"].as_str())
            .ok_or_else(|| anyhow!("no age key for our recipient"))?;
        let key = age::decrypt(identity, enc.as_bytes())?;
        let cipher = Cipher::new_from_slice(&key).map_err(|_| anyhow!("bad key"))?;
        let mut hasher = Sha512::new();
        let mut path = Vec::new();
        for (k, v) in doc.iter_mut() {
            path.push(k.clone());
            decrypt_tree(&cipher, &mut hasher, v, &mut path, is_encrypted_key(k))?;
            path.pop();
        }
        let lastmodified = meta["lastmodified"].as_str().unwrap_or_default();
        let mac = decrypt_value(
            &cipher,
            meta["mac"].as_str().unwrap_or_default(),
            lastmodified,
        )?;
        if mac != Value::String(hex_upper(&hasher.finalize())) {
            bail!("MAC mismatch");
        }
        Ok(Value::Object(doc))
    }

    fn decrypt_tree(
        cipher: &Cipher,
        hasher: &mut Sha512,
        value: &mut Value,
        path: &mut Vec<String>,
        encrypted: bool,
    ) -> Result<()> {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    path.push(k.clone());
                    decrypt_tree(cipher, hasher, v, path, encrypted || is_encrypted_key(k))?;
                    path.pop();
                }
            }
            Value::Array(items) => {
                for v in items {
                    decrypt_tree(cipher, hasher, v, path, encrypted)?;
                }
            }
            leaf => {
                if encrypted && let Value::String(s) = &*leaf {
                    *leaf = decrypt_value(cipher, s, &format!("{}:", path.join(":")))?;
                }
                if let Some((bytes, _)) = leaf_bytes(leaf, path)? {
                    hasher.update(&bytes);
                }
            }
        }
        Ok(())
    }

    fn decrypt_value(cipher: &Cipher, text: &str, aad: &str) -> Result<Value> {
        if text.is_empty() {
            return Ok(Value::String(String::new()));
        }
        let re = Regex::new(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$")?;
        let c = re
            .captures(text)
            .ok_or_else(|| anyhow!("not an ENC value: {text}"))?;
        let mut data = B64.decode(&c[1])?;
        let iv: [u8; IV_LEN] = B64
            .decode(&c[2])?
            .try_into()
            .map_err(|_| anyhow!("iv length"))?;
        let tag: [u8; 16] = B64
            .decode(&c[3])?
            .try_into()
            .map_err(|_| anyhow!("tag length"))?;
        cipher
            .decrypt_in_place_detached(
                Nonce::<U32>::from_slice(&iv),
                aad.as_bytes(),
                &mut data,
                aes_gcm::Tag::from_slice(&tag),
            )
            .map_err(|_| anyhow!("AES-GCM authentication failed for {aad}"))?;
        let s = String::from_utf8(data)?;
        Ok(match &c[4] {
            "str" => Value::String(s),
            "int" => Value::from(s.parse::<i64>()?),
            "float" => Value::from(s.parse::<f64>()?),
            "bool" => Value::Bool(s == "True"),
            other => bail!("unknown type {other}"),
        })
    }

    const SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
  labels:
    app: db
type: Opaque
stringData:
  password: s3cr3t-canary
  empty: \"\"
  yes: \"yes\"
  \"123\": number-key
  port: 5432
  ratio: 1.5
  enabled: true
  nothing: null
data:
  token: dG9rZW4=
";

    fn identity() -> (age::x25519::Identity, String) {
        let id = age::x25519::Identity::generate();
        let r = id.to_public().to_string();
        (id, r)
    }

    #[test]
    fn round_trip_with_mac() {
        let (id, r) = identity();
        let out = encrypt_secret(SECRET, std::slice::from_ref(&r)).unwrap();
        assert!(!out.contains("s3cr3t-canary"), "{out}");
        assert!(!out.contains("dG9rZW4="), "{out}");
        let back = decrypt(&out, &id).unwrap();
        let plain: Value = yaml::from_str("plain", SECRET).unwrap();
        assert_eq!(back, plain, "{out}");
        // Key order is the input's, with `sops` last.
        let keys: Vec<&str> = out.lines().filter(|l| !l.starts_with([' ', '-'])).collect();
        assert_eq!(
            keys.iter()
                .map(|l| l.split(':').next().unwrap_or(""))
                .collect::<Vec<_>>(),
            [
                "apiVersion",
                "kind",
                "metadata",
                "type",
                "stringData",
                "data",
                "sops"
            ],
            "{out}"
        );
    }

    #[test]
    fn only_data_and_string_data_are_encrypted() {
        let (_, r) = identity();
        let out = encrypt_secret(SECRET, &[r]).unwrap();
        let doc: Value = yaml::from_str("out", &out).unwrap();
        assert_eq!(doc["metadata"]["name"], "db");
        assert_eq!(doc["metadata"]["labels"]["app"], "db");
        assert_eq!(doc["type"], "Opaque");
        assert_eq!(doc["stringData"]["empty"], "");
        assert_eq!(doc["stringData"]["nothing"], Value::Null);
        let pw = doc["stringData"]["password"].as_str().unwrap();
        assert!(
            pw.starts_with("ENC[AES256_GCM,data:") && pw.ends_with(",type:str]"),
            "{pw}"
        );
        assert!(
            doc["stringData"]["port"]
                .as_str()
                .unwrap()
                .ends_with(",type:int]")
        );
        assert!(
            doc["stringData"]["ratio"]
                .as_str()
                .unwrap()
                .ends_with(",type:float]")
        );
        assert!(
            doc["stringData"]["enabled"]
                .as_str()
                .unwrap()
                .ends_with(",type:bool]")
        );
        let sops = &doc["sops"];
        assert_eq!(sops["encrypted_regex"], ENCRYPTED_REGEX);
        assert_eq!(sops["version"], SOPS_VERSION);
        let enc = sops["age"][0]["enc"].as_str().unwrap();
        assert!(
            enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "{enc}"
        );
        assert!(
            Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                .unwrap()
                .is_match(sops["lastmodified"].as_str().unwrap())
        );
    }

    #[test]
    fn every_recipient_can_decrypt_and_others_cannot() {
        let (a, ra) = identity();
        let (b, rb) = identity();
        let (c, _) = identity();
        let out = encrypt_secret(SECRET, &[ra, rb]).unwrap();
        assert!(decrypt(&out, &a).is_ok());
        assert!(decrypt(&out, &b).is_ok());
        assert!(decrypt(&out, &c).is_err());
    }

    #[test]
    fn tampering_is_detected() {
        let (id, r) = identity();
        let out = encrypt_secret(SECRET, &[r]).unwrap();
        // A clear value changed: the MAC no longer matches.
        let changed = out.replace("name: db", "name: dc");
        assert_ne!(changed, out);
        assert!(
            decrypt(&changed, &id)
                .unwrap_err()
                .to_string()
                .contains("MAC mismatch")
        );
        // Two encrypted values swapped: the AAD (their paths) no longer matches.
        let doc: Value = yaml::from_str("out", &out).unwrap();
        let pw = doc["stringData"]["password"].as_str().unwrap();
        let token = doc["data"]["token"].as_str().unwrap();
        // The placeholder cannot occur in the output (base64 and YAML never hold NUL);
        // a printable one could appear by chance inside random ciphertext.
        let hole = "\u{0}swap\u{0}";
        assert!(!out.contains(hole));
        let swapped = out
            .replace(pw, hole)
            .replace(token, pw)
            .replace(hole, token);
        assert!(
            decrypt(&swapped, &id)
                .unwrap_err()
                .to_string()
                .contains("authentication failed")
        );
    }

    #[test]
    fn output_is_fresh_every_time() {
        let (_, r) = identity();
        let a = encrypt_secret(SECRET, std::slice::from_ref(&r)).unwrap();
        let b = encrypt_secret(SECRET, &[r]).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn bad_inputs() {
        let (_, r) = identity();
        let rs = std::slice::from_ref(&r);
        let err = |text: &str, rs: &[String]| encrypt_secret(text, rs).unwrap_err().to_string();
        assert!(err(SECRET, &[]).contains("without age recipients"));
        assert!(err(SECRET, &["ssh-ed25519 AAAA".into()]).contains("not an age X25519 public key"));
        assert!(err("kind: ConfigMap\ndata: {a: b}\n", rs).contains("kind: Secret"));
        assert!(err("kind: Secret\n---\nkind: Secret\n", rs).contains("exactly one"));
        assert!(err("- a\n", rs).contains("mapping"));
        assert!(err("kind: Secret\nsops: {}\n", rs).contains("already"));
        assert!(err("kind: Secret\ndata: {a: 18446744073709551615}\n", rs).contains("too large"));
    }

    /// Counting bytes and a fixed time: with them, everything but the age stanzas
    /// is the same on every call.
    struct Fixed {
        next: u8,
        secs: i64,
    }

    impl Fixed {
        fn new() -> Fixed {
            Fixed {
                next: 0,
                secs: 1_709_251_199,
            }
        }
    }

    impl Entropy for Fixed {
        fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
            for b in buf {
                *b = self.next;
                self.next = self.next.wrapping_add(1);
            }
            Ok(())
        }

        fn now(&mut self) -> Result<i64> {
            Ok(self.secs)
        }
    }

    /// An encrypted document without its age stanzas (age takes its own randomness).
    fn without_stanzas(text: &str) -> Value {
        let mut doc: Value = yaml::from_str("out", text).unwrap();
        doc["sops"]["age"] = Value::Null;
        doc
    }

    #[test]
    fn injected_randomness_and_clock_make_the_ciphertext_deterministic() {
        let (id, r) = identity();
        let a = encrypt_secret_with(SECRET, std::slice::from_ref(&r), &mut Fixed::new()).unwrap();
        let b = encrypt_secret_with(SECRET, std::slice::from_ref(&r), &mut Fixed::new()).unwrap();
        assert_eq!(without_stanzas(&a), without_stanzas(&b));
        let doc: Value = yaml::from_str("out", &a).unwrap();
        // The clock gives lastmodified; the data key takes bytes 0..32, then each
        // encrypted value its IV in document order (stringData.password first).
        assert_eq!(doc["sops"]["lastmodified"], "2024-02-29T23:59:59Z");
        let iv = B64.encode((32u8..64).collect::<Vec<u8>>());
        let pw = doc["stringData"]["password"].as_str().unwrap();
        assert!(pw.contains(&format!(",iv:{iv},")), "{pw}");
        let token = doc["data"]["token"].as_str().unwrap();
        assert!(!token.contains(&format!(",iv:{iv},")), "{token}");
        // Still a real encryption: it decrypts, and another clock changes the MAC.
        let plain: Value = yaml::from_str("plain", SECRET).unwrap();
        assert_eq!(decrypt(&a, &id).unwrap(), plain);
        let later = encrypt_secret_with(SECRET, &[r], &mut Fixed { next: 0, secs: 0 }).unwrap();
        let later: Value = yaml::from_str("out", &later).unwrap();
        assert_eq!(later["sops"]["lastmodified"], "1970-01-01T00:00:00Z");
        assert_ne!(later["sops"]["mac"], doc["sops"]["mac"]);
        assert_eq!(
            later["stringData"]["password"],
            doc["stringData"]["password"]
        );
    }

    /// A rendering with a secret: its plaintext is only in what is to seal (never in
    /// the files, never in a debug print), and sealing it with fixed randomness and
    /// clock gives the same files twice, but for the age stanzas.
    const SECRET_PATH: &str = "artifacts/cfg/s.yaml";

    /// A profile whose one artifact templates a Secret with a secret parameter and a
    /// ConfigMap, in one file.
    fn secret_tree() -> crate::model::resolved::Resolved {
        use crate::model::resolved::{Resolved, ResolvedArtifact, ResolvedKind};
        let def = crate::model::parse(
            "t",
            "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: p\nspec:\n  parameters:\n    - name: token\n      type: secret\n  artifacts:\n    - name: cfg\n      kustomize: {path: cfg}\n      template: true\n",
            None,
        )
        .unwrap()
        .0;
        let secret = b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: \"{{ params.token }}\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
        Resolved {
            def,
            source: Default::default(),
            artifacts: vec![ResolvedArtifact {
                name: "cfg".into(),
                depends_on: Vec::new(),
                template: true,
                kind: ResolvedKind::Kustomize {
                    files: [("s.yaml".to_string(), secret.to_vec())].into(),
                },
            }],
        }
    }

    /// Render options giving the secret `s3cr3t-canary`, encrypted for `recipient`.
    fn secret_opts(recipient: &str) -> crate::render::Options {
        use crate::values::{Given, Inputs, Level, Origin, Raw};
        crate::render::Options {
            name: "inst".into(),
            namespace: "apps".into(),
            install_dir: "clusters/default/profiles/inst".into(),
            git_repository: crate::flux::GitRepositoryRef {
                name: "flux-system".into(),
                namespace: "flux-system".into(),
            },
            inputs: Inputs {
                flags: vec![Given {
                    key: "token".into(),
                    value: Raw::Text("s3cr3t-canary".into()),
                    origin: Origin {
                        level: Level::Flag,
                        detail: "--set-env".into(),
                        recorded_as: None,
                    },
                    secret_ok: true,
                    group: 0,
                }],
                ..Default::default()
            },
            sops_yaml: Some(format!("creation_rules:\n  - age: {recipient}\n")),
            secret_refs: Default::default(),
            namespaces: Default::default(),
            flux_objects: None,
        }
    }

    #[test]
    fn render_then_seal_keeps_the_plaintext_in_memory_only() {
        let (id, r) = identity();
        let (tree, opts) = (secret_tree(), secret_opts(&r));
        let path = SECRET_PATH;
        let seal_once = || {
            let unsealed = crate::render::render(&tree, &opts).unwrap();
            assert!(!format!("{unsealed:?}").contains("s3cr3t-canary"));
            let to_seal = unsealed.to_seal();
            assert_eq!(to_seal.len(), 1);
            assert_eq!(to_seal[0].path, path);
            assert!(matches!(
                &to_seal[0].parts[..],
                [Part::Secret { recipients, .. }, Part::Clear(_)] if *recipients == [r.clone()]
            ));
            seal(unsealed, &mut Fixed::new()).unwrap()
        };
        let (a, b) = (seal_once(), seal_once());
        for f in a.files.values() {
            assert!(!String::from_utf8_lossy(f).contains("s3cr3t-canary"));
        }
        let text = |r: &Rendered| String::from_utf8(r.files[path].clone()).unwrap();
        let docs = |t: &str| -> Vec<String> { t.split("\n---\n").map(str::to_string).collect() };
        let (da, db) = (docs(&text(&a)), docs(&text(&b)));
        assert_eq!(da.len(), 2);
        assert_eq!(without_stanzas(&da[0]), without_stanzas(&db[0]));
        assert_eq!(
            da[1],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
        );
        assert_eq!(
            decrypt(&da[0], &id).unwrap()["stringData"]["token"],
            "s3cr3t-canary"
        );
        // Every other file is byte-identical, and the record hashes the ciphertext.
        for (p, bytes) in &a.files {
            if p != path && p != crate::record::FILE {
                assert_eq!(Some(bytes), b.files.get(p), "{p}");
            }
        }
        assert_eq!(
            a.record.spec.files[path],
            crate::record::sha256(&a.files[path])
        );
        assert!(a.files.contains_key(crate::record::FILE));
    }

    /// `seal_keeping` takes the given bytes for a file instead of encrypting it, and a
    /// rendering cannot be finished without every file it seals.
    #[test]
    fn kept_ciphertext_is_used_as_it_is_and_every_file_must_be_sealed() {
        let (_, r) = identity();
        let unsealed = || crate::render::render(&secret_tree(), &secret_opts(&r)).unwrap();
        let kept = BTreeMap::from([(SECRET_PATH.to_string(), b"kept bytes\n".to_vec())]);
        let sealed = seal_keeping(unsealed(), &kept, &mut Fixed::new()).unwrap();
        assert_eq!(sealed.files[SECRET_PATH], b"kept bytes\n");
        assert_eq!(
            sealed.record.spec.files[SECRET_PATH],
            crate::record::sha256(b"kept bytes\n")
        );
        let err = unsealed().with_ciphertext(BTreeMap::new()).unwrap_err();
        assert!(err.downcast_ref::<crate::error::Bug>().is_some(), "{err:#}");
        assert!(format!("{err:#}").contains("was not sealed"), "{err:#}");
        let extra = BTreeMap::from([
            (SECRET_PATH.to_string(), Vec::new()),
            ("other.yaml".to_string(), Vec::new()),
        ]);
        let err = unsealed().with_ciphertext(extra).unwrap_err();
        assert!(format!("{err:#}").contains("other.yaml"), "{err:#}");
    }

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_utc(4_102_444_800), "2100-01-01T00:00:00Z");
    }
}
