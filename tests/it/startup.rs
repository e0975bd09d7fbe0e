//! Start-up (docs/benchmarks.md#start-up): `pctl --version`, `-V`, `--help`, `-h` and
//! `help` skip libgit2's start (and OpenSSL's with it; the scale benchmark's start-up
//! rows measure it) and still answer as before; anything else is parsed as before.
use crate::common::*;

#[test]
fn version_and_help_answer_as_before() {
    let env = Env::new();
    for flag in ["--version", "-V"] {
        let out = env.pctl([flag]);
        assert_success(&out);
        assert_eq!(
            stdout(&out).trim(),
            format!("pctl {}", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
    }
    for flag in ["--help", "-h", "help"] {
        let out = env.pctl([flag]);
        assert_success(&out);
        let text = stdout(&out);
        assert!(text.contains("Usage: pctl"), "{flag}: {text}");
        assert!(text.contains("install"), "{flag}: {text}");
    }
    // Not a bare flag: libgit2 starts, and clap answers as before.
    let out = env.pctl(["install", "--help"]);
    assert_success(&out);
    assert!(stdout(&out).contains("Usage: pctl install"));
}
