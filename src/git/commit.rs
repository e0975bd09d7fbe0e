//! Git objects pctl writes: blobs, trees and commits of a change (identities and
//! dates from `GIT_AUTHOR_*`/`GIT_COMMITTER_*`, else the user's configuration),
//! index entries, a new repository of one commit, and annotated tags.
use super::change::Changes;
use super::journal;
use crate::error::{Bug, user};
use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};
use std::collections::BTreeMap;
use std::path::Path;

/// Store the content of every file a change writes; its blob by path. As `git add`
/// does, a blob the object database already holds is not written again (libgit2's
/// `git_odb_write` hashes it and only refreshes the stored object's time), and a
/// content that several paths share (a fleet install's identical files) is hashed once.
pub(super) fn write_blobs<'c>(
    repo: &Repository,
    changes: &'c Changes,
) -> Result<BTreeMap<&'c str, Oid>> {
    let odb = repo
        .odb()
        .map_err(|e| anyhow!(e).context("cannot open the repository's object database"))?;
    let mut out = BTreeMap::new();
    let mut stored: foldhash::HashMap<&[u8], Oid> = foldhash::HashMap::default();
    for (path, content) in &changes.files {
        if let Some(bytes) = content {
            let oid = match stored.get(bytes.as_slice()) {
                Some(&oid) => oid,
                None => {
                    let oid = odb
                        .write(git2::ObjectType::Blob, bytes)
                        .map_err(|e| journal::storage_error(path, e))?;
                    stored.insert(bytes.as_slice(), oid);
                    oid
                }
            };
            out.insert(path.as_str(), oid);
        }
    }
    Ok(out)
}

/// Stage a file just written with the blob already stored for it: `add_path` would
/// read and hash the file again.
pub(super) fn stage(index: &mut git2::Index, root: &Path, path: &str, oid: Oid) -> Result<()> {
    let meta = std::fs::symlink_metadata(root.join(path))?;
    #[cfg(unix)]
    let entry = {
        use std::os::unix::fs::MetadataExt;
        git2::IndexEntry {
            ctime: git2::IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32),
            mtime: git2::IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32),
            dev: meta.dev() as u32,
            ino: meta.ino() as u32,
            mode: u32::from(git2::FileMode::Blob),
            uid: meta.uid(),
            gid: meta.gid(),
            file_size: meta.size() as u32,
            id: oid,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        }
    };
    #[cfg(not(unix))]
    let entry = {
        let _ = (meta, oid);
        return Ok(index.add_path(Path::new(path))?);
    };
    index.add(&entry)?;
    Ok(())
}

pub(super) fn build_tree(repo: &Repository, parent: Option<Oid>, changes: &Changes) -> Result<Oid> {
    let blobs = write_blobs(repo, changes)?;
    build_tree_of(repo, parent, changes, &blobs)
}

pub(super) fn build_tree_of(
    repo: &Repository,
    parent: Option<Oid>,
    changes: &Changes,
    blobs: &BTreeMap<&str, Oid>,
) -> Result<Oid> {
    let base = match parent {
        Some(p) => repo.find_commit(p)?.tree()?,
        None => {
            let empty = repo.treebuilder(None)?.write()?;
            repo.find_tree(empty)?
        }
    };
    let mut ub = git2::build::TreeUpdateBuilder::new();
    for (path, content) in &changes.files {
        match content {
            Some(_) => {
                let blob = blobs
                    .get(path.as_str())
                    .copied()
                    .ok_or_else(|| Bug(format!("no blob for {path}")))?;
                ub.upsert(path.as_str(), blob, git2::FileMode::Blob);
            }
            None => {
                ub.remove(path.as_str());
            }
        }
    }
    ub.create_updated(repo, &base)
        .map_err(|e| journal::storage_error("the new tree", e))
}

pub(super) fn signature(repo: &Repository, who: &str) -> git2::Signature<'static> {
    let env = |k: &str| {
        std::env::var(format!("GIT_{who}_{k}"))
            .ok()
            .filter(|s| !s.is_empty())
    };
    let from_cfg = repo.signature().ok();
    let name = env("NAME")
        .or_else(|| {
            from_cfg
                .as_ref()
                .and_then(|s| s.name().ok().map(str::to_string))
        })
        .unwrap_or_else(|| "pctl".into());
    let email = env("EMAIL")
        .or_else(|| {
            from_cfg
                .as_ref()
                .and_then(|s| s.email().ok().map(str::to_string))
        })
        .unwrap_or_else(|| "pctl@localhost".into());
    if let Some(date) = env("DATE").and_then(|d| parse_git_date(&d))
        && let Ok(s) = git2::Signature::new(&name, &email, &date)
    {
        return s;
    }
    git2::Signature::now(&name, &email)
        .or_else(|_| git2::Signature::now("pctl", "pctl@localhost"))
        .unwrap_or_else(|_| unreachable_signature())
}

fn unreachable_signature() -> git2::Signature<'static> {
    // Signature::new only fails on names with '<' or '>' and the literal is fine.
    git2::Signature::new("pctl", "pctl@localhost", &git2::Time::new(0, 0))
        .unwrap_or_else(|_| std::process::abort())
}

/// `@<seconds> [+hhmm]` or `<seconds> [+hhmm]` (Git's internal date format).
fn parse_git_date(s: &str) -> Option<git2::Time> {
    let s = s.trim().trim_start_matches('@');
    let mut it = s.split_whitespace();
    let secs: i64 = it.next()?.parse().ok()?;
    let tz = it.next().unwrap_or("+0000");
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let digits = tz.trim_start_matches(['+', '-']);
    let (h, m) = (
        digits.get(0..2)?.parse::<i32>().ok()?,
        digits.get(2..4)?.parse::<i32>().ok()?,
    );
    Some(git2::Time::new(secs, sign * (h * 60 + m)))
}

pub(super) fn make_commit(
    repo: &Repository,
    tree: Oid,
    parent: Option<Oid>,
    message: &str,
) -> Result<Oid> {
    let tree = repo.find_tree(tree)?;
    let author = signature(repo, "AUTHOR");
    let committer = signature(repo, "COMMITTER");
    let parents: Vec<git2::Commit> = match parent {
        Some(p) => vec![repo.find_commit(p)?],
        None => vec![],
    };
    let refs: Vec<&git2::Commit> = parents.iter().collect();
    Ok(repo.commit(None, &author, &committer, message, &tree, &refs)?)
}

/// Make `dir` (holding `files`, written by the caller) a new Git repository: branch
/// `main` with one commit of exactly those files, and an annotated tag per
/// `(name, message)`. Identities and dates follow `GIT_AUTHOR_*`/`GIT_COMMITTER_*`,
/// else the user's configuration. Returns the commit.
pub fn create_with_tags(
    dir: &Path,
    files: &[String],
    message: &str,
    tags: &[(String, String)],
) -> Result<Oid> {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = Repository::init_opts(dir, &opts)
        .with_context(|| format!("cannot create a Git repository in {}", dir.display()))?;
    let mut index = repo.index()?;
    for f in files {
        // add_path does not consult .gitignore: every file of the bundle is committed.
        index
            .add_path(Path::new(f))
            .with_context(|| format!("cannot add {f} to the new repository"))?;
    }
    index.write()?;
    let tree = index.write_tree()?;
    let commit = make_commit(&repo, tree, None, message)?;
    repo.reference("refs/heads/main", commit, true, "pctl import")?;
    let tagger = signature(&repo, "COMMITTER");
    let target = repo.find_object(commit, Some(git2::ObjectType::Commit))?;
    for (name, msg) in tags {
        if !git2::Reference::is_valid_name(&format!("refs/tags/{name}")) {
            bail!(user(
                format!("{name:?} is not a valid tag name"),
                "the bundle's manifest is damaged",
            ));
        }
        repo.tag(name, &target, &tagger, msg, false)
            .with_context(|| format!("cannot create tag {name}"))?;
    }
    Ok(commit)
}

/// Write an annotated tag object named `name` for the commit `target`, tagged by the
/// committer identity (`GIT_COMMITTER_*`, else `user.name`/`user.email`), without a
/// reference yet.
pub fn tag_object(repo: &Repository, name: &str, target: Oid, message: &str) -> Result<Oid> {
    let obj = repo.find_object(target, Some(git2::ObjectType::Commit))?;
    let tagger = signature(repo, "COMMITTER");
    repo.tag_annotation_create(name, &obj, &tagger, message)
        .with_context(|| format!("cannot create the tag {name}"))
}

/// Point `refs/tags/NAME` at a tag object; refused when the tag exists.
pub fn create_tag_ref(repo: &Repository, name: &str, tag: Oid) -> Result<()> {
    repo.reference(&format!("refs/tags/{name}"), tag, false, "pctl publish")
        .map_err(|e| {
            if e.code() == git2::ErrorCode::Exists {
                user(
                    format!("tag {name} already exists"),
                    "publish another version",
                )
            } else {
                anyhow!(e).context(format!("cannot create the tag {name}"))
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Blobs stored as `git add` stores them.
    use super::*;

    #[test]
    fn blobs_get_git_s_ids_shared_content_is_one_object_and_a_stored_one_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        crate::testutil::git(dir.path(), &["init", "-q"]);
        let repo = Repository::open(dir.path()).unwrap();
        let mut changes = Changes::default();
        for (path, text) in [
            ("a.yaml", "same\n"),
            ("b/a.yaml", "same\n"),
            ("c.yaml", "other\n"),
        ] {
            changes
                .files
                .insert(path.to_string(), Some(text.as_bytes().to_vec()));
        }
        changes.files.insert("gone.yaml".to_string(), None);
        let blobs = write_blobs(&repo, &changes).unwrap();
        let hashed =
            |text: &str| Oid::hash_object(git2::ObjectType::Blob, text.as_bytes()).unwrap();
        assert_eq!(blobs.len(), 3, "{blobs:?}");
        assert_eq!(blobs["a.yaml"], hashed("same\n"));
        assert_eq!(blobs["b/a.yaml"], hashed("same\n"));
        assert_eq!(blobs["c.yaml"], hashed("other\n"));
        let stored = |oid: Oid| {
            let hex = oid.to_string();
            dir.path()
                .join(".git/objects")
                .join(&hex[..2])
                .join(&hex[2..])
        };
        let inode = |p: &Path| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(p).unwrap().ino()
        };
        let before = inode(&stored(blobs["c.yaml"]));
        assert_eq!(
            repo.find_blob(blobs["a.yaml"]).unwrap().content(),
            b"same\n"
        );
        // Written again: the stored object stays the same file (`git add` only
        // refreshes its time), and the ids are the same.
        assert_eq!(write_blobs(&repo, &changes).unwrap(), blobs);
        assert_eq!(inode(&stored(blobs["c.yaml"])), before);
    }
}
