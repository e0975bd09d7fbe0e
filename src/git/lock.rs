//! Exclusive file locks: one process at a time writes a work tree, fetches a mirror
//! or uses a cached clone.
use anyhow::{Context, Result, anyhow};
use std::path::Path;

/// An exclusive lock on a file, held until dropped.
pub struct FileLock(#[allow(dead_code)] std::fs::File);

pub fn lock_file(path: &Path) -> Result<FileLock> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open lock {}", path.display()))?;
    f.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(FileLock(f))
}

/// [`lock_file`] without waiting: None when another process holds the lock.
pub fn try_lock_file(path: &Path) -> Result<Option<FileLock>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open lock {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(Some(FileLock(f))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow!(e).context(format!("cannot lock {}", path.display())))
        }
    }
}
