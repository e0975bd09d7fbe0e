//! Test hooks (`PCTL_FAULT`), compiled only with the `fault-injection` feature (which
//! the test build enables, see docs/testing.md); without it they do nothing and the
//! binary does not read `PCTL_FAULT`.
use anyhow::Result;

/// A test hook: `PCTL_FAULT=<point>` makes pctl fail at that point, to prove that a
/// failure after files were written leaves the repository as it was.
#[cfg(feature = "fault-injection")]
pub(super) fn fault(point: &str) -> Result<()> {
    if std::env::var("PCTL_FAULT").is_ok_and(|v| v == point) {
        return Err(anyhow::Error::new(crate::error::Bug(format!(
            "fault injected at {point} (PCTL_FAULT)"
        ))));
    }
    Ok(())
}

/// Without the `fault-injection` feature: no fault.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(super) fn fault(_point: &str) -> Result<()> {
    Ok(())
}

/// `PCTL_FAULT=slow-write`: pause after each file written into a work tree, so that
/// the tests can kill pctl in the middle of a write.
#[cfg(feature = "fault-injection")]
pub(super) fn slow_write() {
    if std::env::var("PCTL_FAULT").is_ok_and(|v| v == "slow-write") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Without the `fault-injection` feature: no pause.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(super) fn slow_write() {}

/// `PCTL_FAULT=pause-before-lock`: just before taking a local repository's write lock,
/// create the file named by `PCTL_FAULT_MARK` and wait (at most 60 s) until the test
/// removes it, so that another pctl can commit in between, deterministically.
#[cfg(feature = "fault-injection")]
pub(super) fn pause_before_lock() {
    if !std::env::var("PCTL_FAULT").is_ok_and(|v| v == "pause-before-lock") {
        return;
    }
    let Some(mark) = std::env::var_os("PCTL_FAULT_MARK") else {
        return;
    };
    let mark = std::path::PathBuf::from(mark);
    if std::fs::write(&mark, b"paused\n").is_err() {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while mark.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Without the `fault-injection` feature: no pause.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(super) fn pause_before_lock() {}

// The test build has the hooks: the self dev-dependency in Cargo.toml turns the
// feature on whenever dev-dependencies are built. Without it the fault tests
// (the safety tests) would inject nothing.
#[cfg(all(test, not(feature = "fault-injection")))]
compile_error!(
    "the test build lacks the fault-injection feature: keep `pctl = { path = \".\", features = [\"fault-injection\"] }` in [dev-dependencies]"
);
