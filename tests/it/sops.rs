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
use std::process::{Command, Output};

use crate::common::{age_keygen, b64, base64_decode, canary, sops_tools};
use serde_json::Value;
use tempfile::TempDir;

/// Decrypts a SOPS YAML file the way `sops --decrypt` does, data key from `age -d`.
/// argv: encrypted file, age identity file, recipient. Prints the decrypted document as
/// JSON; exits non-zero with a message when anything fails, the MAC check included.
const VERIFY_PY: &str = r#"
import base64, hashlib, json, re, subprocess, sys, tempfile
from decimal import Decimal
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

path, identity, recipient = sys.argv[1:4]

class Loader(yaml.SafeLoader):
    pass
# Go's yaml.v3 (sops) reads unquoted timestamps into interface{} as strings.
Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

with open(path) as f:
    doc = yaml.load(f, Loader=Loader)
meta = doc.pop("sops", None)
if not isinstance(meta, dict):
    fail("sops metadata not found")
for field in ("lastmodified", "mac", "version", "encrypted_regex"):
    if not isinstance(meta.get(field), str):
        fail("sops." + field + " is not a string")
for rule in ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex"):
    if rule in meta:
        fail("more than one encryption rule: " + rule)
if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["lastmodified"]):
    fail("lastmodified does not round-trip through Go's time.RFC3339: " + meta["lastmodified"])

entries = [k for k in meta.get("age") or [] if k.get("recipient") == recipient]
if len(entries) != 1:
    fail("no single sops.age entry for " + recipient)
with tempfile.NamedTemporaryFile("w", suffix=".age") as enc:
    enc.write(entries[0]["enc"])
    enc.flush()
    run = subprocess.run(["age", "--decrypt", "--identity", identity, enc.name], capture_output=True)
if run.returncode != 0:
    fail("age: " + run.stderr.decode())
key = run.stdout
if len(key) != 32:
    fail("data key is %d bytes" % len(key))
aes = AESGCM(key)

ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$")

def decrypt(value, aad):
    if value == "":
        return ""
    if not isinstance(value, str):
        fail("%s is not encrypted: %r" % (aad, value))
    m = ENC.match(value)
    if not m:
        fail("%s is not encrypted: %r" % (aad, value))
    data, iv, tag = (base64.b64decode(g, validate=True) for g in m.group(1, 2, 3))
    try:
        plain = aes.decrypt(iv, data + tag, aad.encode()).decode()
    except Exception as e:
        fail("AES-GCM authentication failed at %s: %r" % (aad, e))
    kind = m.group(4)
    if kind == "str":
        return plain
    if kind == "int":
        return int(plain)
    if kind == "float":
        return float(plain)
    if kind == "bool":
        return {"True": True, "False": False}[plain]
    fail("unknown type " + kind)

def to_bytes(v):
    if isinstance(v, bool):
        return b"True" if v else b"False"
    if isinstance(v, int):
        return str(v).encode()
    if isinstance(v, float):
        # Go's strconv.FormatFloat(v, 'f', -1, 64)
        s = format(Decimal(repr(v)), "f")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        return s.encode()
    return v.encode()

encrypted_regex = re.compile(meta["encrypted_regex"])
digest = hashlib.sha512()

def walk(node, path, encrypted):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if not isinstance(k, str):
                fail("non-string key %r" % (k,))
            out[k] = walk(v, path + [k], encrypted or bool(encrypted_regex.search(k)))
        return out
    if isinstance(node, list):
        return [walk(v, path, encrypted) for v in node]
    if node is None:
        return None
    if encrypted:
        node = decrypt(node, ":".join(path) + ":")
    digest.update(to_bytes(node))
    return node

plain = walk(doc, [], False)
mac = decrypt(meta["mac"], meta["lastmodified"])
if mac != digest.hexdigest().upper():
    fail("MAC mismatch. File has %s, computed %s" % (mac, digest.hexdigest().upper()))
json.dump(plain, sys.stdout)
"#;

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
    Command::new("python3")
        .arg("-c")
        .arg(VERIFY_PY)
        .arg(encrypted)
        .arg(identity)
        .arg(recipient)
        .output()
        .expect("run python3")
}

fn decrypted(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "independent decryption failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("verifier prints JSON")
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
