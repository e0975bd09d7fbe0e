//! OpenSSL and libgit2's TLS context set up at the first TLS or SSH connection, not at
//! every start (Linux builds of the `pctl` binary; see `build.rs`).
//!
//! git2, as its `https` feature builds it, starts OpenSSL (`openssl_sys::init`: about
//! 2.4 M instructions) and then libgit2, whose `git_libgit2_init` creates the TLS
//! context it keeps for every HTTPS connection (`git_openssl_stream_global_init`:
//! about 8.5 M instructions, OpenSSL 3 fetching every cipher and digest), whatever the
//! command: two thirds of `pctl list` in an empty repository. The linker sends the
//! callers of those functions (and of the first uses of OpenSSL) to the wrappers below
//! (`-Wl,--wrap=NAME`: a call of `NAME` reaches `__wrap_NAME`, and `__real_NAME` is the
//! original), which defer both to the first call that needs them:
//!
//! - `OPENSSL_init_ssl` records the options it is started with and returns success,
//!   until OpenSSL is needed; then one call with the recorded options (so that
//!   OpenSSL registers no exit handler, as `openssl_sys::init` asks) runs before
//!   anything else uses it.
//! - `git_openssl_stream_global_init` does nothing at libgit2's start; libgit2's
//!   functions that use its TLS context (a TLS stream, the CA locations, an added
//!   certificate, a reset) first run the original once.
//! - OpenSSL is needed by a TLS context (`SSL_CTX_new`: libgit2's, or native-tls's
//!   for the forge APIs) and by an SSH session (`libssh2_session_init_ex`; libssh2 is
//!   started without its own crypto set-up, relying on `openssl_sys::init`).
//!
//! - libgit2's SHA-256 (it hashes every configuration file it reads, to notice a
//!   change) is the sha2 crate's, behind OpenSSL's three functions, so that opening a
//!   repository does not need OpenSSL: where `build.rs` links OpenSSL to be loaded at
//!   its first call, `pctl list` never loads it.
//!
//! What is set up, and in which order, is what libgit2 and OpenSSL did at start; only
//! the time differs. The CA bundle is read with the context (OpenSSL's default
//! locations, or `SSL_CERT_FILE`/`SSL_CERT_DIR` as git2 sets them at libgit2's start).
//! The list of names is in `build.rs`.
use std::ffi::{c_char, c_int, c_void};
use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

unsafe extern "C" {
    fn __real_OPENSSL_init_ssl(opts: u64, settings: *const c_void) -> c_int;
    fn __real_SSL_CTX_new(method: *const c_void) -> *mut c_void;
    fn __real_libssh2_session_init_ex(
        alloc: *const c_void,
        free: *const c_void,
        realloc: *const c_void,
        abstract_: *mut c_void,
    ) -> *mut c_void;
    fn __real_git_openssl_stream_global_init() -> c_int;
    fn __real_git_openssl_stream_new(
        out: *mut *mut c_void,
        host: *const c_char,
        port: *const c_char,
    ) -> c_int;
    fn __real_git_openssl_stream_wrap(
        out: *mut *mut c_void,
        inner: *mut c_void,
        host: *const c_char,
    ) -> c_int;
    fn __real_git_openssl__set_cert_location(file: *const c_char, path: *const c_char) -> c_int;
    fn __real_git_openssl__add_x509_cert(cert: *mut c_void) -> c_int;
    fn __real_git_openssl__reset_context() -> c_int;
}

/// The options of the `OPENSSL_init_ssl` calls made before OpenSSL was needed.
static OPENSSL_OPTIONS: AtomicU64 = AtomicU64::new(0);
static OPENSSL: Once = Once::new();
static LIBGIT2_TLS: Once = Once::new();
/// What libgit2's TLS set-up returned (0, or -1 with libgit2's error set).
static LIBGIT2_TLS_RESULT: AtomicI32 = AtomicI32::new(0);

/// Start OpenSSL as the deferred calls asked, once.
fn openssl() {
    OPENSSL.call_once(|| {
        // SAFETY: OpenSSL's documented start; null settings are the defaults.
        unsafe {
            __real_OPENSSL_init_ssl(OPENSSL_OPTIONS.load(Ordering::SeqCst), std::ptr::null());
        }
    });
}

/// Create libgit2's TLS context, once, after OpenSSL's start.
fn libgit2_tls() -> c_int {
    openssl();
    LIBGIT2_TLS.call_once(|| {
        // SAFETY: libgit2 is started (its other calls below come after
        // `git_libgit2_init`), and this runs once.
        let rc = unsafe { __real_git_openssl_stream_global_init() };
        LIBGIT2_TLS_RESULT.store(rc, Ordering::SeqCst);
    });
    LIBGIT2_TLS_RESULT.load(Ordering::SeqCst)
}

/// # Safety
/// As `OPENSSL_init_ssl`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_OPENSSL_init_ssl(opts: u64, settings: *const c_void) -> c_int {
    if !OPENSSL.is_completed() && settings.is_null() {
        OPENSSL_OPTIONS.fetch_or(opts, Ordering::SeqCst);
        return 1;
    }
    openssl();
    // SAFETY: as the caller's.
    unsafe { __real_OPENSSL_init_ssl(opts, settings) }
}

/// # Safety
/// As `SSL_CTX_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_SSL_CTX_new(method: *const c_void) -> *mut c_void {
    openssl();
    // SAFETY: as the caller's.
    unsafe { __real_SSL_CTX_new(method) }
}

/// # Safety
/// As `libssh2_session_init_ex`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_libssh2_session_init_ex(
    alloc: *const c_void,
    free: *const c_void,
    realloc: *const c_void,
    abstract_: *mut c_void,
) -> *mut c_void {
    openssl();
    // SAFETY: as the caller's.
    unsafe { __real_libssh2_session_init_ex(alloc, free, realloc, abstract_) }
}

/// libgit2's start: the TLS context is created at its first use instead.
#[unsafe(no_mangle)]
pub extern "C" fn __wrap_git_openssl_stream_global_init() -> c_int {
    0
}

/// # Safety
/// As libgit2's `git_openssl_stream_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_git_openssl_stream_new(
    out: *mut *mut c_void,
    host: *const c_char,
    port: *const c_char,
) -> c_int {
    match libgit2_tls() {
        // SAFETY: as the caller's.
        0 => unsafe { __real_git_openssl_stream_new(out, host, port) },
        rc => rc,
    }
}

/// # Safety
/// As libgit2's `git_openssl_stream_wrap`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_git_openssl_stream_wrap(
    out: *mut *mut c_void,
    inner: *mut c_void,
    host: *const c_char,
) -> c_int {
    match libgit2_tls() {
        // SAFETY: as the caller's.
        0 => unsafe { __real_git_openssl_stream_wrap(out, inner, host) },
        rc => rc,
    }
}

/// # Safety
/// As libgit2's `git_openssl__set_cert_location`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_git_openssl__set_cert_location(
    file: *const c_char,
    path: *const c_char,
) -> c_int {
    match libgit2_tls() {
        // SAFETY: as the caller's.
        0 => unsafe { __real_git_openssl__set_cert_location(file, path) },
        rc => rc,
    }
}

/// # Safety
/// As libgit2's `git_openssl__add_x509_cert`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_git_openssl__add_x509_cert(cert: *mut c_void) -> c_int {
    match libgit2_tls() {
        // SAFETY: as the caller's.
        0 => unsafe { __real_git_openssl__add_x509_cert(cert) },
        rc => rc,
    }
}

/// # Safety
/// As libgit2's `git_openssl__reset_context`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_git_openssl__reset_context() -> c_int {
    match libgit2_tls() {
        // SAFETY: as the caller's.
        0 => unsafe { __real_git_openssl__reset_context() },
        rc => rc,
    }
}

/// OpenSSL's `SHA256_CTX` as libgit2 declares it: 112 bytes, 4-byte aligned, opaque to
/// libgit2, which only passes it back. It holds the sha2 crate's hasher, copied in and
/// out whole, since the context's alignment is less than the hasher's.
const SHA256_CTX_SIZE: usize = 112;
const _: () = assert!(std::mem::size_of::<sha2::Sha256>() <= SHA256_CTX_SIZE);

/// # Safety
/// As OpenSSL's `SHA256_Init`: `ctx` points to a `SHA256_CTX`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_SHA256_Init(ctx: *mut c_void) -> c_int {
    use sha2::Digest;
    // SAFETY: the context has room for the hasher (asserted above); unaligned write.
    unsafe {
        ctx.cast::<sha2::Sha256>()
            .write_unaligned(sha2::Sha256::new())
    };
    1
}

/// # Safety
/// As OpenSSL's `SHA256_Update`: `ctx` was started by `SHA256_Init`, and `data` has
/// `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_SHA256_Update(
    ctx: *mut c_void,
    data: *const c_void,
    len: usize,
) -> c_int {
    use sha2::Digest;
    let ctx = ctx.cast::<sha2::Sha256>();
    // SAFETY: `SHA256_Init` wrote a hasher there; the bytes are the caller's.
    unsafe {
        let mut hasher = ctx.read_unaligned();
        if len > 0 {
            hasher.update(std::slice::from_raw_parts(data.cast::<u8>(), len));
        }
        ctx.write_unaligned(hasher);
    }
    1
}

/// # Safety
/// As OpenSSL's `SHA256_Final`: `md` has room for 32 bytes, and `ctx` was started by
/// `SHA256_Init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_SHA256_Final(md: *mut u8, ctx: *mut c_void) -> c_int {
    use sha2::Digest;
    // SAFETY: as the caller's; the hasher is moved out and finished.
    unsafe {
        let digest = ctx.cast::<sha2::Sha256>().read_unaligned().finalize();
        std::ptr::copy_nonoverlapping(digest.as_ptr(), md, digest.len());
    }
    1
}
