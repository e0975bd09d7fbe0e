//! Start-up (docs/benchmarks.md#start-up): `pctl --version`, `-V`, `--help`, `-h` and
//! `help` skip libgit2's start (and OpenSSL's with it; the scale benchmark's start-up
//! rows measure it) and still answer as before; anything else is parsed as before.
//! On x86-64 Linux, OpenSSL's libraries are loaded by the first connection that needs
//! them, not at start (`build.rs`, `src/tls_on_first_use/lazy_openssl.c`).
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

/// The shared libraries the dynamic loader loaded for one run, from glibc's
/// `LD_DEBUG=libs` report (written to its own file, not to pctl's stderr).
fn libraries_loaded(
    env: &Env,
    cwd: &std::path::Path,
    args: &[&str],
) -> (std::process::Output, String) {
    let report = env.root.join("ld-debug");
    let _ = std::fs::remove_dir_all(&report);
    std::fs::create_dir_all(&report).unwrap();
    env.set_var("LD_DEBUG", "libs");
    env.set_var(
        "LD_DEBUG_OUTPUT",
        &report.join("libs").display().to_string(),
    );
    let out = env.pctl_in(cwd, args);
    env.remove_var("LD_DEBUG");
    env.remove_var("LD_DEBUG_OUTPUT");
    let mut text = String::new();
    for entry in std::fs::read_dir(&report).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let loaded = text
        .lines()
        .filter(|l| l.contains("calling init:"))
        .collect::<Vec<_>>()
        .join("\n");
    (out, loaded)
}

/// Whether this build loads OpenSSL at its first use (x86-64 Linux with the system's
/// shared OpenSSL); elsewhere it is loaded at start, as before, and the test has
/// nothing to check. On x86-64 Linux a build without it is a skip (a failure under
/// CI): build.rs printed why.
fn openssl_on_first_use() -> bool {
    if !cfg!(all(
        target_os = "linux",
        target_arch = "x86_64",
        target_env = "gnu"
    )) {
        return false;
    }
    tool_or_skip(
        cfg!(pctl_lazy_openssl),
        "this build loads OpenSSL at every start (see the warning build.rs printed)",
    )
}

#[test]
fn openssl_is_loaded_by_the_first_connection_not_at_start() {
    if !openssl_on_first_use() {
        return;
    }
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    for args in [
        &["--version"][..],
        &["list"],
        &["search", "nginx"],
        &["install", "--help"],
    ] {
        let (out, loaded) = libraries_loaded(&env, &gitops, args);
        assert_success(&out);
        assert!(
            loaded.contains("libc.so"),
            "{args:?}: no loader report: {loaded}"
        );
        assert!(
            !loaded.contains("libssl") && !loaded.contains("libcrypto"),
            "{args:?} loaded OpenSSL at start: {loaded}\n\
             (an OpenSSL function missing from src/tls_on_first_use/openssl-functions.txt \
             makes the linker keep libssl; `nm -D --undefined-only` on the binary lists it)"
        );
    }
    // An HTTPS URL loads it (here the connection is then refused: nothing listens).
    let (out, loaded) = libraries_loaded(
        &env,
        &gitops,
        &["catalog", "add", "t", "https://127.0.0.1:9/cat.git"],
    );
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("https://127.0.0.1:9/cat.git"),
        "{}",
        stderr(&out)
    );
    assert!(loaded.contains("libssl"), "{loaded}");
}

#[test]
fn an_openssl_library_that_does_not_load_is_an_error_with_a_hint() {
    if !openssl_on_first_use() {
        return;
    }
    let env = Env::new();
    let gitops = env.init_gitops("gitops");
    env.set_var("PCTL_FAULT", "openssl-missing");
    // Commands that make no connection never notice.
    let out = env.pctl_in(&gitops, ["list"]);
    assert_success(&out);
    // A connection does: a sentence about the library, what the loader said, a hint.
    let out = env.pctl_in(
        &gitops,
        ["catalog", "add", "t", "https://127.0.0.1:9/cat.git"],
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("error: pctl needs the system's OpenSSL library (libssl.so."),
        "{err}"
    );
    assert!(err.contains("libssl-pctl-fault-injected.so"), "{err}");
    assert!(
        err.contains("hint: install the OpenSSL runtime library"),
        "{err}"
    );
    assert!(!env.config.join("pctl/catalogs.yaml").exists(), "{err}");
}
