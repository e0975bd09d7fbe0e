//! `pctl::sops` checked by an implementation that is not ours: the data key is
//! decrypted by the `age` CLI (Debian's `age`, the Go reference implementation that
//! `sops` itself links), the values and the MAC by a Python script below written from
//! the SOPS format (getsops/sops `aes/cipher.go`, `sops.go`, `stores/stores.go`), with
//! PyYAML and `cryptography`'s AES-GCM.
//!
//! Needs `age`, `age-keygen` and `python3` with PyYAML and cryptography:
//! `apt-get install -y age` (PyYAML and cryptography are on the project's machines;
//! else `pip install pyyaml cryptography`). Without them the test prints
//! `SKIPPED: <tool> not installed` and passes, except under `CI=true`, where it fails.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{age_keygen, b64, base64_decode, canary, sops_decrypt_output, sops_tools};
use serde_json::Value;
use tempfile::TempDir;

const SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: app-credentials
  namespace: apps
  labels:
    app.kubernetes.io/name: app
  annotations:
    note: \"two\\nlines\"
type: Opaque
stringData:
  password: CANARY
  empty: \"\"
  \"yes\": \"on\"
  \"8080\": port-named-key
  port: 5432
  ratio: 0.25
  enabled: true
data:
  token: CANARY_B64
";

fn verify(encrypted: &Path, identity: &Path, recipient: &str) -> Output {
    sops_decrypt_output(encrypted, identity, Some(recipient))
}

fn decrypted(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "independent decryption failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = serde_json::from_slice(&out.stdout).expect("verifier prints JSON");
    assert_eq!(docs.len(), 1, "one document: {docs:?}");
    assert_eq!(docs[0]["sops"], true, "the document is SOPS-encrypted");
    docs[0]["doc"].clone()
}

fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "decryption should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create file");
    f.write_all(text.as_bytes()).expect("write file");
    path
}

/// A value found nowhere else: the process id and the time.
#[test]
fn secrets_decrypt_with_the_age_cli_and_an_independent_sops_reader() {
    if !sops_tools() {
        return;
    }
    let dir = TempDir::new().expect("temp dir");
    let (id_a, rec_a) = age_keygen(dir.path(), "a.txt");
    let (id_b, rec_b) = age_keygen(dir.path(), "b.txt");
    let (id_other, rec_other) = age_keygen(dir.path(), "other.txt");

    let canary = canary("sops");
    let canary_b64 = b64(format!("{canary}-token").as_bytes());
    let plain_text = SECRET
        .replace("CANARY_B64", &canary_b64)
        .replace("CANARY", &canary);
    let plain: Value = pctl::yaml::from_str("plain", &plain_text).expect("plain Secret parses");

    let sops_yaml = format!(
        "creation_rules:\n  - path_regex: ^clusters/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: >-\n      {rec_a},\n      {rec_b}\n"
    );
    let recipients =
        pctl::sops::age_recipients(&sops_yaml, "clusters/default/profiles/app/secret.yaml")
            .expect(".sops.yaml parses")
            .expect("a rule with age recipients");
    assert_eq!(recipients, [rec_a.clone(), rec_b.clone()]);

    let encrypted = pctl::sops::encrypt_secret(&plain_text, &recipients).expect("encrypts");
    assert!(
        !encrypted.contains(&canary),
        "the canary leaked:\n{encrypted}"
    );
    assert!(
        !encrypted.contains(&canary_b64),
        "the data value leaked:\n{encrypted}"
    );
    let file = write(dir.path(), "secret.yaml", &encrypted);

    // Every recipient decrypts it, to exactly the input, MAC checked.
    for (identity, recipient) in [(&id_a, &rec_a), (&id_b, &rec_b)] {
        let back = decrypted(&verify(&file, identity, recipient));
        assert_eq!(back["stringData"]["password"], canary.as_str());
        assert_eq!(back["data"]["token"], canary_b64.as_str());
        assert_eq!(back, plain, "decrypted document differs from the input");
    }

    // Someone else's identity does not.
    let msg = failure(&verify(&file, &id_other, &rec_other));
    assert!(msg.contains("no single sops.age entry"), "{msg}");
    let msg = failure(&verify(&file, &id_other, &rec_a));
    assert!(msg.starts_with("age:"), "{msg}");

    // Tampering with one encrypted value breaks its authentication.
    let doc: Value = pctl::yaml::from_str("encrypted", &encrypted).expect("output parses");
    let value = doc["stringData"]["password"]
        .as_str()
        .expect("encrypted string");
    let data = value
        .strip_prefix("ENC[AES256_GCM,data:")
        .and_then(|rest| rest.split(',').next())
        .expect("ENC value");
    let mut bytes = base64_decode(data).expect("base64");
    bytes[0] ^= 1;
    let tampered = encrypted.replace(value, &value.replacen(data, &b64(&bytes), 1));
    assert_ne!(tampered, encrypted);
    let msg = failure(&verify(
        &write(dir.path(), "t1.yaml", &tampered),
        &id_a,
        &rec_a,
    ));
    assert!(
        msg.contains("authentication failed at stringData:password:"),
        "{msg}"
    );

    // Moving an encrypted value to another key breaks it too (the path is the AAD).
    let other = doc["stringData"]["8080"]
        .as_str()
        .expect("encrypted string");
    let moved = encrypted.replace(other, value);
    let msg = failure(&verify(
        &write(dir.path(), "t2.yaml", &moved),
        &id_a,
        &rec_a,
    ));
    assert!(
        msg.contains("authentication failed at stringData:8080:"),
        "{msg}"
    );

    // Changing a value in the clear breaks the MAC.
    let renamed = encrypted.replacen("name: app-credentials", "name: app-credential5", 1);
    assert_ne!(renamed, encrypted);
    let msg = failure(&verify(
        &write(dir.path(), "t3.yaml", &renamed),
        &id_a,
        &rec_a,
    ));
    assert!(msg.contains("MAC mismatch"), "{msg}");
}
