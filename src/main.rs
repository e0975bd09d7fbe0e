//! The `pctl` binary: everything is in the library crate (`pctl::cli::main`).
fn main() {
    // Past the file-size limit (`ulimit -f`) a write must fail with EFBIG, so that
    // pctl puts back what it wrote and reports it, instead of being killed halfway by
    // SIGXFSZ.
    #[cfg(unix)]
    // SAFETY: changes the disposition of one signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    pctl::git::start_libgit2();
    std::process::exit(pctl::cli::main());
}
