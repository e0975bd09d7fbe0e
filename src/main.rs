//! The `pctl` binary: everything is in the library crate (`pctl::cli::main`), except
//! what the binary's start needs (the version answered without parsing the command
//! line, and OpenSSL started at its first use: `tls_on_first_use`).
#[cfg(pctl_tls_on_first_use)]
mod tls_on_first_use;

fn main() {
    // Past the file-size limit (`ulimit -f`) a write must fail with EFBIG, so that
    // pctl puts back what it wrote and reports it, instead of being killed halfway by
    // SIGXFSZ.
    #[cfg(unix)]
    // SAFETY: changes the disposition of one signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    // `pctl --version` and `-V` print what clap would print, without building the
    // whole command line's definition first.
    if version_only(std::env::args_os().skip(1)) {
        use std::io::Write;
        // As clap: a closed standard output is not an error for `--version`.
        let _ = writeln!(std::io::stdout(), "pctl {}", env!("CARGO_PKG_VERSION"));
        std::process::exit(0);
    }
    // A command that only prints its help never touches Git.
    if !prints_only(std::env::args_os().skip(1)) {
        pctl::ops::start_libgit2(cfg!(pctl_tls_on_first_use));
    }
    leave(pctl::cli::main());
}

/// End the process with `code` once the command is done: standard output and error
/// flushed, and on Unix without running the destructors of this thread's caches
/// (parsed texts, Git trees and blobs, the parse cache: 11.6 M instructions of an
/// install into the scale bench's L spent freeing memory the process gives back).
/// Nothing pctl writes waits for exit: files, commits and the cache are written and
/// closed before `cli::main` returns, and temporary directories are removed by then.
fn leave(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    #[cfg(unix)]
    // SAFETY: `_exit` ends the process at once; every buffer of ours is flushed above.
    unsafe {
        libc::_exit(code)
    }
    #[cfg(not(unix))]
    std::process::exit(code)
}

/// `pctl --version` or `pctl -V`: nothing else.
fn version_only(mut args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let first = args.next();
    args.next().is_none() && first.is_some_and(|a| matches!(a.to_str(), Some("--version" | "-V")))
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
