//! Build script: on Linux, links the `pctl` binary so that OpenSSL and libgit2's TLS
//! context are set up at the first TLS or SSH connection instead of at every start
//! (`src/tls_on_first_use.rs` has the wrappers and says why; docs/benchmarks.md#start-up
//! has the figures). Nothing is generated; only linker arguments and one `cfg` are set.

/// The functions whose callers, in the static link of the binary, reach pctl's
/// wrappers (`__wrap_NAME`) instead; the wrapper calls the original (`__real_NAME`).
/// Keep in step with `src/tls_on_first_use.rs`.
const WRAPPED: &[&str] = &[
    // libgit2 (vendored by libgit2-sys, built with its OpenSSL stream): called once
    // from `git_libgit2_init`, it creates the TLS context whatever the command.
    "git_openssl_stream_global_init",
    // libgit2's entry points that use that context.
    "git_openssl_stream_new",
    "git_openssl_stream_wrap",
    "git_openssl__set_cert_location",
    "git_openssl__add_x509_cert",
    "git_openssl__reset_context",
    // OpenSSL's own start (`openssl_sys::init`, which git2 runs first).
    "OPENSSL_init_ssl",
    // The first use of OpenSSL by anything else: a TLS context (native-tls, for the
    // forge APIs) and an SSH session (libssh2, which relies on `openssl_sys::init`).
    "SSL_CTX_new",
    "libssh2_session_init_ex",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(pctl_tls_on_first_use)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // GNU ld, gold and lld all take `--wrap`; other platforms keep libgit2's eager start
    // (macOS and Windows do not use OpenSSL there anyway).
    if os == "linux" {
        for name in WRAPPED {
            println!("cargo::rustc-link-arg-bins=-Wl,--wrap={name}");
        }
        println!("cargo::rustc-cfg=pctl_tls_on_first_use");
        // Opt-in, for the start-up time only (docs/benchmarks.md#start-up): both give
        // something up, so neither is the default.
        // `static-openssl`: the system's libssl.a and libcrypto.a linked in, so that
        // libssl.so and libcrypto.so are not loaded (and bound) at every start; pctl
        // then no longer gets the system's OpenSSL security updates without a rebuild.
        if std::env::var_os("CARGO_FEATURE_STATIC_OPENSSL").is_some() {
            println!("cargo::rustc-link-lib=static:-bundle,+whole-archive=ssl");
            println!("cargo::rustc-link-lib=static:-bundle,+whole-archive=crypto");
        }
        // `no-pie`: a position-dependent binary, which the loader does not relocate
        // (22,000 relocations, 200 pages); its code is then always at the same address.
        if std::env::var_os("CARGO_FEATURE_NO_PIE").is_some() {
            println!("cargo::rustc-link-arg-bins=-no-pie");
        }
    }
}
