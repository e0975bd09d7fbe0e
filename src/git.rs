//! All Git access, one file per kind of thing under `src/git/` (each says what it
//! owns); this file only declares them and re-exports what the rest of pctl uses as
//! `crate::git::X`.
//!
//! - `config`: the user's Git configuration, `insteadOf`, TLS, transport callbacks
//! - `credentials`: which hosts may receive token variables; transport errors
//! - `upstream`: upstream profile repositories as bare mirrors, their tags
//! - `snapshot`: files at one state (commit or directory), path safety, tree views
//! - `outermost`: the outermost files of a name (installation records), memoised by tree
//! - `local`: local repositories (discovery, HEAD, status, init)
//! - `change`: what a command writes, its outcome, its diff against a view
//! - `workspace`: the GitOps repository and its all-or-nothing transactions
//! - `index`, `status`: the Git index read and written for a change's paths only;
//!   the uncommitted-changes check under them
//! - `commit`: blobs, trees, commits and annotated tags
//! - `remote`: fetches and pushes of branches and tags
//! - `advice`: what git reports by type for the command layer to word
//! - `lock`, `journal`: file locks; the journal that survives a killed write
//! - `fault`: test hooks, compiled only with the `fault-injection` feature
//! - `parsecache`: parsed YAML by content, kept in `.git/pctl/` between processes
mod advice;
mod change;
mod commit;
mod config;
pub mod credentials;
mod fault;
mod index;
mod journal;
mod local;
mod lock;
mod outermost;
pub mod parsecache;
mod remote;
mod snapshot;
mod status;
mod upstream;
mod workspace;

pub use advice::{Advised, NeedsWorkTree, NotCached, Remedy, StoppedChange};
pub use change::{
    BranchOutcome, Changes, FileChange, FileStat, Mode, Notice, Outcome, TreeMemo, diff_stats,
    take_notices, unified_diff,
};
pub use commit::{create_tag_ref, create_with_tags, tag_object};
pub use config::{cache_dir, redact_url, rewrite_url, start_libgit2, user_config};
pub use local::{
    dirty_paths, discover, file_at_head, head_commit, head_snapshot, init_or_open, local_revision,
    recorded_url,
};
pub use lock::{FileLock, lock_file, try_lock_file};
pub use outermost::{Outermost, Summary};
pub use remote::{push_tag, remote_tags, remote_url};
pub use snapshot::{Entry, Kind, Listed, Listing, Snapshot, TreeView};
pub use upstream::{ProgressBars, TagDetail, TagInfo, TagRef, Upstream, Upstreams, local_upstream};
pub use workspace::{STOPPED_STATE_FILE, Workspace, workspace_of};
