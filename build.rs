//! Build script: on Linux, links the `pctl` binary so that OpenSSL and libgit2's TLS
//! context are set up at the first TLS or SSH connection instead of at every start
//! (`src/tls_on_first_use.rs` has the wrappers and says why; docs/benchmarks.md#start-up
//! has the figures); and, on x86-64 Linux, links OpenSSL's shared libraries so that
//! they are loaded at the first call of one of their functions instead of by the
//! dynamic loader at every start (`src/tls_on_first_use/lazy_openssl.c` says how; the
//! stubs are generated here from `src/tls_on_first_use/openssl-functions.txt`).

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
    // libgit2 hashes every configuration file it reads with OpenSSL's SHA-256 (to
    // notice a change): served by the sha2 crate instead, so that opening a
    // repository needs no OpenSSL at all.
    "SHA256_Init",
    "SHA256_Update",
    "SHA256_Final",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(pctl_tls_on_first_use)");
    println!("cargo::rustc-check-cfg=cfg(pctl_lazy_openssl)");
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
        lazy_openssl();
    }
}

/// OpenSSL's libraries loaded at their first use: stubs for the functions pctl's
/// dependencies call, in an archive linked whole ahead of `-lssl -lcrypto`. Left out
/// (OpenSSL loaded at start, as before) wherever the stubs could be wrong: another
/// architecture or C library, a static or vendored OpenSSL, LibreSSL, BoringSSL or
/// AWS-LC, or a libssl that the build cannot open by the name the stubs would use.
fn lazy_openssl() {
    println!("cargo::rerun-if-changed=src/tls_on_first_use/lazy_openssl.c");
    println!("cargo::rerun-if-changed=src/tls_on_first_use/openssl-functions.txt");
    let target = std::env::var("TARGET").unwrap_or_default();
    for var in [
        "OPENSSL_STATIC".to_string(),
        format!("{}_OPENSSL_STATIC", target.to_uppercase().replace('-', "_")),
        "PCTL_OPENSSL_AT_START".to_string(),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let soname = match lazy_openssl_soname(&target) {
        Ok(soname) => soname,
        Err(why) => {
            // Not an error: the binary loads OpenSSL at start, as before.
            if target == "x86_64-unknown-linux-gnu" {
                println!("cargo::warning=OpenSSL is loaded at every start of pctl: {why}");
            }
            return;
        }
    };
    let names: Vec<&str> = OPENSSL_FUNCTIONS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let stubs = out.join("lazy_openssl_stubs.S");
    std::fs::write(&stubs, stubs_source(&names)).expect("OUT_DIR is writable");
    let mut build = cc::Build::new();
    build
        .file(&stubs)
        .file("src/tls_on_first_use/lazy_openssl.c")
        .define("PCTL_LIBSSL", format!("\"{soname}\"").as_str())
        .cargo_metadata(false);
    if std::env::var_os("CARGO_FEATURE_FAULT_INJECTION").is_some() {
        build.define("PCTL_FAULT_INJECTION", None);
    }
    build.compile("pctl_lazy_openssl");
    println!("cargo::rustc-link-search=native={}", out.display());
    println!("cargo::rustc-link-lib=static:+whole-archive=pctl_lazy_openssl");
    println!("cargo::rustc-link-lib=dl");
    println!("cargo::rustc-cfg=pctl_lazy_openssl");
}

const OPENSSL_FUNCTIONS: &str = include_str!("src/tls_on_first_use/openssl-functions.txt");

/// The soname of the libssl that openssl-sys links, or why the stubs are left out.
fn lazy_openssl_soname(target: &str) -> Result<String, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if target != "x86_64-unknown-linux-gnu" {
        return Err(format!(
            "the stubs are written for x86-64 glibc, not {target}"
        ));
    }
    if env("CARGO_FEATURE_STATIC_OPENSSL").is_some() {
        return Err("the static-openssl feature links OpenSSL in".into());
    }
    if env("PCTL_OPENSSL_AT_START").is_some() {
        return Err("PCTL_OPENSSL_AT_START is set".into());
    }
    let static_var = format!("{}_OPENSSL_STATIC", target.to_uppercase().replace('-', "_"));
    if env("OPENSSL_STATIC").is_some() || env(&static_var).is_some() {
        return Err("OPENSSL_STATIC asks for a static OpenSSL".into());
    }
    for other in ["VENDORED", "LIBRESSL_VERSION_NUMBER", "BORINGSSL", "AWSLC"] {
        if env(&format!("DEP_OPENSSL_{other}")).is_some() {
            return Err(format!("openssl-sys reports {other}"));
        }
    }
    let version = env("DEP_OPENSSL_VERSION_NUMBER")
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .ok_or("openssl-sys reported no OpenSSL version")?;
    let (major, minor) = (version >> 28, (version >> 20) & 0xff);
    let soname = match (major, minor) {
        (1, 1) => "libssl.so.1.1".to_string(),
        (3.., _) => format!("libssl.so.{major}"),
        _ => return Err(format!("OpenSSL {major}.{minor} is not one the stubs know")),
    };
    // The build runs where it targets (the target is this host's), so the library
    // the binary will open must open here.
    let host = std::env::var("HOST").unwrap_or_default();
    if host != target {
        return Err(format!("cross-compiling from {host}"));
    }
    let c_name = std::ffi::CString::new(soname.clone()).map_err(|e| e.to_string())?;
    // SAFETY: dlopen with a NUL-terminated name; the handle is only tested.
    let handle = unsafe { libc::dlopen(c_name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("{soname} does not open on this machine"));
    }
    Ok(soname)
}

/// x86-64 assembly: per function a stub that jumps through its slot, a slot that at
/// first holds a routine passing the function's index to `pctl_openssl_resolve`, and
/// the names. The routine keeps every argument register (and `%al`, the count of
/// vector registers a variadic call passes) across the lookup.
fn stubs_source(names: &[&str]) -> String {
    use std::fmt::Write;
    let mut s = String::from(
        "# Generated by pctl's build.rs from src/tls_on_first_use/openssl-functions.txt.\n\
         \t.section .note.GNU-stack,\"\",@progbits\n\t.text\n",
    );
    for (i, name) in names.iter().enumerate() {
        let _ = write!(
            s,
            "\t.globl {name}\n\t.hidden {name}\n\t.type {name},@function\n{name}:\n\
             \tjmp *(pctl_openssl_slots+{off})(%rip)\n\t.size {name},.-{name}\n\
             .Lpctl_first_{i}:\n\tmovl ${i}, %r11d\n\tjmp .Lpctl_resolve\n",
            off = 8 * i
        );
    }
    s.push_str(
        ".Lpctl_resolve:\n\tpushq %rbp\n\tmovq %rsp, %rbp\n\
         \tpushq %rdi\n\tpushq %rsi\n\tpushq %rdx\n\tpushq %rcx\n\tpushq %r8\n\
         \tpushq %r9\n\tpushq %rax\n\tsubq $136, %rsp\n",
    );
    for x in 0..8 {
        let _ = writeln!(s, "\tmovdqu %xmm{x}, {}(%rsp)", 16 * x);
    }
    s.push_str("\tmovl %r11d, %edi\n\tcall pctl_openssl_resolve\n\tmovq %rax, %r11\n");
    for x in 0..8 {
        let _ = writeln!(s, "\tmovdqu {}(%rsp), %xmm{x}", 16 * x);
    }
    s.push_str(
        "\taddq $136, %rsp\n\tpopq %rax\n\tpopq %r9\n\tpopq %r8\n\tpopq %rcx\n\
         \tpopq %rdx\n\tpopq %rsi\n\tpopq %rdi\n\tpopq %rbp\n\tjmp *%r11\n\
         \t.data\n\t.balign 8\n\t.globl pctl_openssl_slots\n\t.hidden pctl_openssl_slots\n\
         pctl_openssl_slots:\n",
    );
    for i in 0..names.len() {
        let _ = writeln!(s, "\t.quad .Lpctl_first_{i}");
    }
    s.push_str(
        "\t.section .data.rel.ro,\"aw\"\n\t.balign 8\n\t.globl pctl_openssl_names\n\
         \t.hidden pctl_openssl_names\npctl_openssl_names:\n",
    );
    for i in 0..names.len() {
        let _ = writeln!(s, "\t.quad .Lpctl_name_{i}");
    }
    s.push_str("\t.section .rodata.str1.1,\"aMS\",@progbits,1\n");
    for (i, name) in names.iter().enumerate() {
        let _ = writeln!(s, ".Lpctl_name_{i}:\n\t.asciz \"{name}\"");
    }
    s
}
