//! What Git reports by type for the command layer to word, so that git knows no
//! command name or flag: a write refused while a change stopped on conflicts waits, a
//! change without commit on a remote, an upstream missing from the cache when
//! fetching is off, and errors whose way out is a pctl command or flag ([`Advised`],
//! with a [`Remedy`]). `ops/advice.rs` says them to the user; the types' own messages
//! are the fallback (where an error is shown without passing through it, e.g. in
//! `pctl status`'s table).
use std::path::PathBuf;

/// A write refused because a change stopped on conflicts
/// (`Workspace::stop_with_conflicts`) waits in the work tree `root` until it is
/// continued or aborted.
#[derive(Debug)]
pub struct StoppedChange {
    pub root: PathBuf,
}

impl std::fmt::Display for StoppedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a change stopped on conflicts is in progress in {}",
            self.root.display()
        )
    }
}

impl std::error::Error for StoppedChange {}

/// A change to be written but not committed (`Mode::NoCommit`) on a remote GitOps
/// repository: only a local work tree can hold it.
#[derive(Debug)]
pub struct NeedsWorkTree;

impl std::fmt::Display for NeedsWorkTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a change that is not committed needs a local GitOps repository")
    }
}

impl std::error::Error for NeedsWorkTree {}

/// An upstream repository that is not in the cache (`dir`), where fetching is off
/// (`Upstreams::new(offline: true)`).
#[derive(Debug)]
pub struct NotCached {
    pub url: String,
    pub dir: PathBuf,
}

impl std::fmt::Display for NotCached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not in the cache ({}) and fetching is turned off",
            self.url,
            self.dir.display()
        )
    }
}

impl std::error::Error for NotCached {}

/// The way out of an error, where it is a pctl command or flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// No Git repository around the directory: create a GitOps repository, or name one.
    CreateOrNameRepository,
    /// A bare repository where a work tree is needed: name a work tree or a URL.
    NameWorkTreeOrUrl,
    /// A directory inside a work tree where a whole repository is needed (`root` is the
    /// work tree's root).
    UseRepositoryRoot { root: PathBuf },
    /// A profile repository without a commit: commit it, or read its files from disk.
    CommitOrReadFromDisk,
    /// The remote has no default branch: push one, or name the base branch.
    PushOrNameBase,
    /// The base branch named is not on the remote (its branches listed).
    NameBase { branches: Vec<String> },
    /// The base branch named is not in the remote GitOps repository: push it, or
    /// name another.
    PushOrNameAnotherBase,
    /// The branch of the change is its base: name another base.
    NameAnotherBase,
    /// No remote by the name given (`remote`); the repository's remotes listed.
    NameRemote {
        remote: String,
        remotes: Vec<String>,
    },
}

/// An error whose way out the command words ([`Remedy`]); until then it reads as
/// `error` alone (its message, then its causes).
#[derive(Debug)]
pub struct Advised {
    pub remedy: Remedy,
    pub error: anyhow::Error,
}

impl std::fmt::Display for Advised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for Advised {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// `error` with the way out `remedy`.
pub(super) fn advised(error: impl Into<anyhow::Error>, remedy: Remedy) -> anyhow::Error {
    anyhow::Error::new(Advised {
        remedy,
        error: error.into(),
    })
}
