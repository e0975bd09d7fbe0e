//! SOPS encryption of Kubernetes Secrets for age recipients (the SOPS YAML file format,
//! AES-256-GCM values, the MAC) and the `.sops.yaml` creation rules that name them.
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
//! plaintext; all randomness comes from the operating system.
use std::collections::HashSet;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha512};

use crate::yaml::{self, Map, Value};

/// The value of `sops.encrypted_regex`: only values under `data` and `stringData`.
pub const ENCRYPTED_REGEX: &str = "^(data|stringData)$";
/// The SOPS version recorded in `sops.version`: the file format of sops 3.8.
const SOPS_VERSION: &str = "3.8.1";
/// SOPS's AES-GCM IV length in bytes (not GCM's usual 12).
const IV_LEN: usize = 32;
/// The name used in errors about the creation rules.
const SOPS_YAML: &str = ".sops.yaml";

/// AES-256-GCM with SOPS's 32-byte nonces and the usual 16-byte tag.
type Cipher = AesGcm<Aes256, U32>;

/// The age recipients from the GitOps repository's `.sops.yaml` (creation_rules; the
/// first rule whose `path_regex` matches `path`, or with no path_regex; `age:` is a
/// comma-separated string or a list). Ok(None) when there is no rule with age
/// recipients. Errors name `.sops.yaml` and the problem.
///
/// `path` is the file's path relative to the repository root (where `.sops.yaml` is),
/// with `/` separators; like `sops`, the regex is searched for anywhere in it (anchor it
/// with `^…$` to match the whole path). A rule with `key_groups` takes its recipients
/// from its one key group (and its `merge` entries); several key groups (Shamir
/// splitting) are an error. Only X25519 recipients (`age1…`) are accepted; a rule's
/// other keys (PGP, KMS, …) are not used by pctl. Duplicates are dropped, order kept.
pub fn age_recipients(sops_yaml: &str, path: &str) -> Result<Option<Vec<String>>> {
    if sops_yaml.trim().is_empty() {
        return Ok(None);
    }
    let config: Value = yaml::from_str(SOPS_YAML, sops_yaml)?;
    let rules = match &config {
        Value::Null => return Ok(None),
        Value::Object(map) => match map.get("creation_rules") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(rules)) => rules,
            Some(_) => bail!("{SOPS_YAML}: `creation_rules` must be a list of rules"),
        },
        _ => bail!("{SOPS_YAML}: the file must be a mapping with `creation_rules`"),
    };
    for (i, rule) in rules.iter().enumerate() {
        let Value::Object(rule) = rule else {
            bail!("{SOPS_YAML}: creation_rules[{i}] must be a mapping");
        };
        if !rule_matches(rule, path).with_context(|| format!("{SOPS_YAML}: creation_rules[{i}]"))? {
            continue;
        }
        // The first matching rule decides, as in sops.
        let found =
            rule_recipients(rule).with_context(|| format!("{SOPS_YAML}: creation_rules[{i}]"))?;
        return Ok((!found.is_empty()).then_some(found));
    }
    Ok(None)
}

fn rule_matches(rule: &Map, path: &str) -> Result<bool> {
    let pattern = match rule.get("path_regex") {
        None | Some(Value::Null) => return Ok(true),
        Some(Value::String(p)) => p,
        Some(_) => bail!("`path_regex` must be a string"),
    };
    if pattern.is_empty() {
        return Ok(true);
    }
    let re = regex::Regex::new(pattern)
        .map_err(|e| anyhow!("`path_regex` {pattern:?} is not a valid regular expression: {e}"))?;
    Ok(re.is_match(path))
}

fn rule_recipients(rule: &Map) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match rule.get("key_groups") {
        Some(Value::Array(groups)) if !groups.is_empty() => {
            // sops ignores the rule's top-level keys when it has key groups.
            if groups.len() > 1 {
                bail!(
                    "has {} `key_groups`; pctl encrypts for one group of age recipients and does not split the data key (Shamir)",
                    groups.len()
                );
            }
            group_recipients(&groups[0], "key_groups[0]", &mut out)?;
        }
        None | Some(Value::Null) | Some(Value::Array(_)) => {
            if let Some(age) = rule.get("age") {
                key_list(age, "age", &mut out)?;
            }
        }
        Some(_) => bail!("`key_groups` must be a list"),
    }
    let mut seen = HashSet::new();
    out.retain(|r| seen.insert(r.clone()));
    Ok(out)
}

fn group_recipients(group: &Value, at: &str, out: &mut Vec<String>) -> Result<()> {
    let Value::Object(group) = group else {
        bail!("`{at}` must be a mapping");
    };
    match group.get("merge") {
        None | Some(Value::Null) => {}
        Some(Value::Array(merged)) => {
            for (j, g) in merged.iter().enumerate() {
                group_recipients(g, &format!("{at}.merge[{j}]"), out)?;
            }
        }
        Some(_) => bail!("`{at}.merge` must be a list"),
    }
    if let Some(age) = group.get("age") {
        key_list(age, &format!("{at}.age"), out)?;
    }
    Ok(())
}

/// `age:` as sops reads it: a comma-separated string, or a list of strings (each of
/// which may again hold several comma-separated recipients).
fn key_list(value: &Value, at: &str, out: &mut Vec<String>) -> Result<()> {
    let items: Vec<&str> = match value {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| anyhow!("`{at}` must list strings (age public keys)"))
            })
            .collect::<Result<_>>()?,
        _ => bail!("`{at}` must be a comma-separated string or a list of age public keys"),
    };
    for item in items {
        for r in item.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            parse_recipient(r).with_context(|| format!("`{at}`"))?;
            out.push(r.to_string());
        }
    }
    Ok(())
}

fn parse_recipient(r: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(r).map_err(|e| {
        anyhow!(
            "{r:?} is not an age X25519 public key (age1…): {e}; pctl encrypts only for those (no SSH or plugin recipients)"
        )
    })
}

/// A `.sops.yaml` naming a freshly generated age recipient whose identity is thrown
/// away at once: `pctl lint` and `pctl diff` render profiles that use secrets with
/// it, without a GitOps repository. Nothing it encrypts can ever be decrypted.
pub fn throwaway_sops_yaml() -> String {
    let id = age::x25519::Identity::generate();
    format!("creation_rules:\n  - age: {}\n", id.to_public())
}

/// Encrypt a Kubernetes Secret manifest (YAML text of one document with `stringData`
/// and/or `data`) into the SOPS YAML format, encrypting only the values under `data`
/// and `stringData` (SOPS `encrypted_regex: ^(data|stringData)$`), for the given age
/// recipients (age1...). Output must be decryptable by the real `sops` (v3.8+) with
/// the matching age identity, including the MAC check.
///
/// The key order of the input is kept; the `sops` metadata block comes last.
pub fn encrypt_secret(plain_yaml: &str, recipients: &[String]) -> Result<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    let secs = i64::try_from(now.as_secs()).context("the system clock is out of range")?;
    encrypt_secret_at(plain_yaml, recipients, &rfc3339_utc(secs))
}

fn encrypt_secret_at(
    plain_yaml: &str,
    recipients: &[String],
    lastmodified: &str,
) -> Result<String> {
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
    getrandom::fill(&mut key).map_err(|e| anyhow!("cannot get random bytes: {e}"))?;
    let cipher = Cipher::new_from_slice(&key).map_err(|_| anyhow!("invalid AES-256 key length"))?;

    let mut hasher = Sha512::new();
    let mut path = Vec::new();
    for (k, v) in doc.iter_mut() {
        path.push(k.clone());
        encrypt_tree(&cipher, &mut hasher, v, &mut path, is_encrypted_key(k))?;
        path.pop();
    }
    let mac = hex_upper(&hasher.finalize());
    let mac = encrypt_value(&cipher, mac.as_bytes(), "str", lastmodified)?;

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
    meta.insert("lastmodified".into(), Value::String(lastmodified.into()));
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
) -> Result<()> {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                path.push(k.clone());
                encrypt_tree(cipher, hasher, v, path, encrypt || is_encrypted_key(k))?;
                path.pop();
            }
        }
        Value::Array(items) => {
            for v in items {
                encrypt_tree(cipher, hasher, v, path, encrypt)?;
            }
        }
        leaf => {
            let Some((bytes, kind)) = leaf_bytes(leaf, path)? else {
                return Ok(()); // null: neither hashed nor encrypted, as in sops
            };
            hasher.update(&bytes);
            if encrypt && !bytes.is_empty() {
                let aad = format!("{}:", path.join(":"));
                *leaf = Value::String(encrypt_value(cipher, &bytes, kind, &aad)?);
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

fn encrypt_value(cipher: &Cipher, plaintext: &[u8], kind: &str, aad: &str) -> Result<String> {
    let mut iv = [0u8; IV_LEN];
    getrandom::fill(&mut iv).map_err(|e| anyhow!("cannot get random bytes: {e}"))?;
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

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_utc(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    const R1: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    const R2: &str = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg";

    fn recipients(config: &str, path: &str) -> Option<Vec<String>> {
        age_recipients(config, path).unwrap()
    }

    #[test]
    fn sops_yaml_age_forms() {
        let csv = format!("creation_rules:\n  - age: \"{R1}, {R2},\"\n");
        assert_eq!(
            recipients(&csv, "a/b.yaml"),
            Some(vec![R1.to_string(), R2.to_string()])
        );
        let list = format!(
            "creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    age:\n      - {R2}\n      - {R1}\n      - {R2}\n"
        );
        assert_eq!(
            recipients(&list, "x.yaml"),
            Some(vec![R2.to_string(), R1.to_string()])
        );
        let groups = format!(
            "creation_rules:\n  - key_groups:\n      - age: [{R1}]\n        merge:\n          - age: [{R2}]\n"
        );
        assert_eq!(
            recipients(&groups, "x.yaml"),
            Some(vec![R2.to_string(), R1.to_string()])
        );
    }

    #[test]
    fn sops_yaml_first_matching_rule_decides() {
        let config = format!(
            "creation_rules:\n  - path_regex: ^clusters/prod/.*\\.yaml$\n    age: {R1}\n  - path_regex: \\.txt$\n    pgp: ABCDEF\n  - age: {R2}\n"
        );
        assert_eq!(
            recipients(&config, "clusters/prod/s.yaml"),
            Some(vec![R1.to_string()])
        );
        assert_eq!(
            recipients(&config, "clusters/dev/s.yaml"),
            Some(vec![R2.to_string()])
        );
        // A matching rule without age recipients: none, even though a later rule has some.
        assert_eq!(recipients(&config, "notes.txt"), None);
        // The regex is searched for, not anchored.
        let unanchored = format!("creation_rules:\n  - path_regex: prod\n    age: {R1}\n");
        assert_eq!(
            recipients(&unanchored, "clusters/prod/s.yaml"),
            Some(vec![R1.to_string()])
        );
        assert_eq!(recipients(&unanchored, "clusters/dev/s.yaml"), None);
    }

    #[test]
    fn sops_yaml_without_age_rules() {
        assert_eq!(recipients("", "a.yaml"), None);
        assert_eq!(recipients("# nothing\n", "a.yaml"), None);
        assert_eq!(recipients("stores: {yaml: {indent: 2}}\n", "a.yaml"), None);
        assert_eq!(recipients("creation_rules: []\n", "a.yaml"), None);
        assert_eq!(
            recipients("creation_rules:\n  - pgp: ABC\n", "a.yaml"),
            None
        );
        assert_eq!(
            recipients("creation_rules:\n  - age: \"\"\n", "a.yaml"),
            None
        );
    }

    #[test]
    fn sops_yaml_errors_name_the_file_and_problem() {
        let err = |config: &str| format!("{:#}", age_recipients(config, "a.yaml").unwrap_err());
        for (config, problem) in [
            ("creation_rules: [\n", ".sops.yaml: "),
            ("- a\n", "must be a mapping with `creation_rules`"),
            ("creation_rules: {age: x}\n", "must be a list"),
            (
                "creation_rules:\n  - 3\n",
                "creation_rules[0] must be a mapping",
            ),
            (
                "creation_rules:\n  - path_regex: \"(\"\n    age: x\n",
                "not a valid regular expression",
            ),
            (
                "creation_rules:\n  - age: age1nope\n",
                "\"age1nope\" is not an age X25519 public key",
            ),
            ("creation_rules:\n  - age: [3]\n", "must list strings"),
            (
                "creation_rules:\n  - key_groups: [{age: [a]}, {age: [b]}]\n",
                "Shamir",
            ),
        ] {
            let msg = err(config);
            assert!(msg.starts_with(".sops.yaml"), "{msg}");
            assert!(msg.contains(problem), "{config}: {msg}");
        }
        let msg = err("creation_rules:\n  - age: x\n  - age: ssh-ed25519 AAAA\n");
        assert!(msg.contains("creation_rules[0]"), "{msg}");
    }
}
