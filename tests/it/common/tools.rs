//! Small helpers every topic shares: unique canary strings, base64, free ports,
//! age identities, and the rule for tests that need an optional tool.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A string that appears nowhere else (a secret or token whose leaks tests look for).
pub fn canary(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("Canary{tag}{nanos:x}x{:x}", std::process::id())
}

/// Standard base64 with padding.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard base64 (with or without padding) decoded; `None` when the text is not
/// base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    engine.decode(text.trim()).ok()
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Whether a test that needs an optional tool may run. Without it the test prints
/// `SKIPPED: …` and returns, except under `CI=true`, where it fails: CI installs
/// every tool (`.ci/run`), so a skip there would hide a test that never ran.
pub fn tool_or_skip(present: bool, what: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true and {what} (.ci/run installs it)");
    }
    eprintln!("SKIPPED: {what}");
    false
}

/// Whether a command runs and exits 0.
pub fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the independent SOPS tools are here: the `age` CLI and python3 with PyYAML
/// and `cryptography` (skipped, or failed under CI, when not).
pub fn sops_tools() -> bool {
    let age = runs("age", &["--version"]) && runs("age-keygen", &["--version"]);
    let py = runs(
        "python3",
        &[
            "-c",
            "import yaml; from cryptography.hazmat.primitives.ciphers.aead import AESGCM",
        ],
    );
    tool_or_skip(
        age && py,
        &format!(
            "the independent SOPS check needs the age CLI ({age}) and python3 with PyYAML and cryptography ({py})"
        ),
    )
}

/// A fresh age identity made by `age-keygen`: (identity file, recipient).
pub fn age_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&file)
        .output()
        .expect("run age-keygen");
    assert!(
        out.status.success(),
        "age-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("age-keygen")
        .arg("-y")
        .arg(&file)
        .output()
        .expect("run age-keygen -y");
    assert!(
        out.status.success(),
        "age-keygen -y: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recipient = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");
    (file, recipient)
}

/// The independent SOPS decryptor (`sops_decrypt.py`, written from the SOPS format).
const SOPS_DECRYPT_PY: &str = include_str!("sops_decrypt.py");

/// Runs the independent SOPS decryptor on `file` with the age `identity`; with
/// `recipient`, the data key must come from that recipient's (single) entry.
pub fn sops_decrypt_output(
    file: &Path,
    identity: &Path,
    recipient: Option<&str>,
) -> std::process::Output {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(SOPS_DECRYPT_PY).arg(file).arg(identity);
    if let Some(r) = recipient {
        cmd.arg(r);
    }
    cmd.stdin(Stdio::null()).output().expect("run python3")
}

/// Every document of `file`: (was it SOPS-encrypted, its plaintext). Panics with the
/// decryptor's message when decryption or the MAC check fails.
pub fn sops_decrypt(file: &Path, identity: &Path) -> Vec<(bool, serde_json::Value)> {
    let out = sops_decrypt_output(file, identity, None);
    assert!(
        out.status.success(),
        "cannot decrypt {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("the decryptor prints JSON");
    docs.into_iter()
        .map(|d| (d["sops"] == true, d["doc"].clone()))
        .collect()
}

/// Whether the PyPI package helm-python-sdk (the Helm SDK behind the `helm template`
/// shim in `fixtures/checks/helm-shim`) imports (skipped, or failed under CI, when not).
pub fn helm_sdk() -> bool {
    tool_or_skip(
        runs("python3", &["-c", "import helm_python, yaml"]),
        "helm-python-sdk is not installed: python3 -m pip install helm-python-sdk",
    )
}

/// PATH with the `helm template` shim first; the plain PATH is the second value.
pub fn path_with_helm_shim() -> (String, String) {
    let shim = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/checks/helm-shim");
    let path = std::env::var("PATH").unwrap_or_default();
    (format!("{}:{path}", shim.display()), path)
}
