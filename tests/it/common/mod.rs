//! Black-box test harness for `pctl`.
//!
//! Everything here drives real programs: the `pctl` binary, the `git` CLI,
//! `git daemon` and `git http-backend` (behind a tiny CGI server written below).
//! Every GitOps tree a test produces is checked with the project's own `pctl check`.
//! Nothing is mocked.
//!
//! - [`build_repo`] / [`shared_repo`]: fixture repositories replayed from
//!   `fixtures/repos/<name>/history.yaml` with pinned dates and identities, so
//!   the same fixtures always give the same commit hashes.
//! - [`Env`]: a sandbox per test (HOME, XDG dirs, Git configuration) and the
//!   `pctl` runner.
//! - [`git_daemon`] / [`http_backend`]: real Git servers on 127.0.0.1.
//! - [`snapshot`] / [`assert_unchanged`]: the all-or-nothing checks.
//! - [`pctl_check`]: walks a GitOps tree as Flux would with `pctl check` (and keeps
//!   it for CI, which runs an independent checker over it too, when
//!   `PCTL_KEEP_TREES` is set).
//! - [`forge::ForgeServer`]: a GitHub, GitLab or Gitea API on 127.0.0.1 that holds
//!   pctl to each forge's REST contract (pull-request tests).

mod case;
mod checks;
mod files;
mod fixtures;
pub mod forge;
mod git;
mod inspect;
mod sandbox;
mod servers;
mod tools;
mod yaml;
pub use case::Case;
pub use checks::*;
pub use files::*;
pub use fixtures::*;
pub use git::*;
pub use inspect::*;
pub use sandbox::*;
pub use servers::*;
pub use tools::*;
pub use yaml::*;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub use serde_json::Value;

/// The crate root (`/work/main` in development, the clone root in CI).
pub const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");
/// The URL under which `platform` profiles reference the `addons` repository.
pub const ADDONS_URL: &str = "https://git.example.com/addons.git";
/// Defaults written by `pctl init`.
pub const SYNC_PATH: &str = "clusters/default";
pub const INSTALL_PATH: &str = "clusters/default/profiles";

/// Bump when the way fixture repositories are built changes (invalidates the
/// on-disk cache of built fixtures under `target/tmp`).
const BUILDER_VERSION: &str = "fixture-builder-1";
const FIXTURE_EPOCH: &str = "2026-01-01T00:00:00Z";
const FIXTURE_NAME: &str = "Fixture Author";
const FIXTURE_EMAIL: &str = "fixtures@example.com";

pub fn fixtures_dir() -> PathBuf {
    Path::new(CRATE_DIR).join("fixtures")
}

pub fn pctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pctl"))
}
