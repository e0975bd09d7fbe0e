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
    // libgit2's start initialises OpenSSL (about two thirds of a bare start); a command
    // that only prints its version or help never touches Git.
    if !prints_only(std::env::args_os().skip(1)) {
        pctl::git::start_libgit2();
    }
    std::process::exit(pctl::cli::main());
}

/// `pctl --version`, `pctl -V`, `pctl --help`, `pctl -h`, `pctl help`: nothing else.
fn prints_only(mut args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let first = args.next();
    args.next().is_none()
        && first.is_some_and(|a| {
            matches!(
                a.to_str(),
                Some("--version" | "-V" | "--help" | "-h" | "help")
            )
        })
}
