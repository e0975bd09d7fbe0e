//! Test hooks (`PCTL_FAULT`): a failure or a pause injected at a named point.
use anyhow::Result;

/// A test hook: `PCTL_FAULT=<point>` makes pctl fail at that point, to prove that a
/// failure after files were written leaves the repository as it was.
pub(super) fn fault(point: &str) -> Result<()> {
    if std::env::var("PCTL_FAULT").is_ok_and(|v| v == point) {
        return Err(anyhow::Error::new(crate::error::Bug(format!(
            "fault injected at {point} (PCTL_FAULT)"
        ))));
    }
    Ok(())
}

/// `PCTL_FAULT=slow-write`: pause after each file written into a work tree, so that
/// the tests can kill pctl in the middle of a write.
pub(super) fn slow_write() {
    if std::env::var("PCTL_FAULT").is_ok_and(|v| v == "slow-write") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
