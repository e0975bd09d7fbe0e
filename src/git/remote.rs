//! Fetching from and pushing to remotes other than upstream mirrors: the remote
//! GitOps repository's branches, a base branch fetched without writing a ref, a
//! commit pushed (refused pushes quoted, a moved branch told apart), a local
//! repository's remotes (their URLs, their tags, a tag pushed).
use super::advice::{Remedy, advised};
use super::config::{callbacks, redact_url, rewrite_url, user_config};
use super::credentials;
use super::upstream::TagInfo;
use crate::error::user;
use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository};
use std::cell::RefCell;
use std::path::Path;

/// Fetch the remote GitOps repository into the cached bare clone; returns its default
/// branch and head (zero for an empty remote).
pub(super) fn remote_sync(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
) -> Result<(String, Oid)> {
    let fetch_url = rewrite_url(config, url, false);
    let mut remote = repo
        .remote_anonymous(&fetch_url)
        .with_context(|| format!("invalid Git URL {url}"))?;
    let mut fo = git2::FetchOptions::new();
    fo.remote_callbacks(callbacks(config, &fetch_url, None));
    fo.download_tags(git2::AutotagOption::None);
    remote
        .fetch(&["+refs/heads/*:refs/heads/*"], Some(&mut fo), None)
        .map_err(|e| {
            let action = format!("cannot fetch the GitOps repository {}", redact_url(url));
            credentials::transport_error(&e, &action, &fetch_url)
        })?;
    let branch = remote
        .default_branch()
        .ok()
        .and_then(|b| {
            b.as_str()
                .ok()
                .map(|s| s.trim_start_matches("refs/heads/").to_string())
        })
        .unwrap_or_else(|| "main".to_string());
    let head = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.peel_to_commit().ok())
        .map(|c| c.id())
        .unwrap_or(Oid::ZERO_SHA1);
    Ok((branch, head))
}

pub(super) enum PushError {
    Moved(String),
    Other(anyhow::Error),
}

pub(super) fn push(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
    branch: &str,
    commit: Oid,
) -> std::result::Result<(), PushError> {
    let refname = format!("refs/heads/{branch}");
    push_commit(repo, config, url, commit, &refname, false)?;
    let _ = repo.reference(&refname, commit, true, "pctl push");
    Ok(())
}

/// Push `commit` to the full ref name `dst` of `url` (through a temporary ref in
/// `refs/pctl/push/`, deleted afterwards), forced when `force`. A ref update the server
/// refuses (a hook, branch protection) is an error quoting what it said.
pub(super) fn push_commit(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
    commit: Oid,
    dst: &str,
    force: bool,
) -> std::result::Result<(), PushError> {
    let tmp = format!("refs/pctl/push/{}", dst.trim_start_matches("refs/heads/"));
    repo.reference(&tmp, commit, true, "pctl push")
        .map_err(|e| PushError::Other(e.into()))?;
    let push_url = rewrite_url(config, url, true);
    let mut remote = repo
        .remote_anonymous(&push_url)
        .map_err(|e| PushError::Other(e.into()))?;
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let said: RefCell<String> = RefCell::new(String::new());
    let mut cb = callbacks(config, &push_url, None);
    cb.push_update_reference(|r, status| {
        if let Some(msg) = status {
            *rejected.borrow_mut() = Some(format!("{r}: {msg}"));
        }
        Ok(())
    });
    cb.sideband_progress(|data| {
        said.borrow_mut().push_str(&String::from_utf8_lossy(data));
        true
    });
    let mut po = git2::PushOptions::new();
    po.remote_callbacks(cb);
    let spec = format!("{}{tmp}:{dst}", if force { "+" } else { "" });
    let res = remote.push(&[spec.as_str()], Some(&mut po));
    drop(po);
    let _ = repo.find_reference(&tmp).and_then(|mut r| r.delete());
    // What the server printed (hook output), without progress lines.
    let said: Vec<String> = said
        .into_inner()
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(" (the server said: {})", said.join(" / "))
    };
    match res {
        Err(e) => {
            let msg = e.message().to_string();
            if !force
                && (msg.contains("non-fast")
                    || msg.contains("fastforward")
                    || msg.contains("fetch first"))
            {
                Err(PushError::Moved(msg))
            } else {
                let action = format!("cannot push to {}{said}", redact_url(url));
                Err(PushError::Other(credentials::transport_error(
                    &e, &action, &push_url,
                )))
            }
        }
        Ok(()) => match rejected.into_inner() {
            // "failed to update ref": the server's compare-and-swap of the branch lost a
            // race with another writer after it advertised the old head.
            Some(msg)
                if !force
                    && (msg.contains("non-fast")
                        || msg.contains("fetch first")
                        || msg.contains("stale")
                        || msg.contains("failed to update ref")
                        || msg.contains("cannot lock ref")) =>
            {
                Err(PushError::Moved(msg))
            }
            Some(msg) => Err(PushError::Other(user(
                format!("{} rejected the push: {msg}{said}", redact_url(url)),
                "check the branch protection, the server's hooks and your permissions",
            ))),
            None => Ok(()),
        },
    }
}

/// Fetch the base branch (`base`, else the remote's default branch) of `url` into
/// `repo` without writing any ref; returns its name and tip.
pub(super) fn fetch_base(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
    base: Option<&str>,
) -> Result<(String, Oid)> {
    let fetch_url = rewrite_url(config, url, false);
    let mut remote = repo
        .remote_anonymous(&fetch_url)
        .with_context(|| format!("invalid Git URL {}", redact_url(url)))?;
    let url = redact_url(url);
    // List the remote's refs first: a missing branch is then a clear error.
    let heads: Vec<(String, Oid)>;
    let default: Option<String>;
    {
        let conn = remote
            .connect_auth(
                git2::Direction::Fetch,
                Some(callbacks(config, &fetch_url, None)),
                None,
            )
            .map_err(|e| {
                credentials::transport_error(
                    &e,
                    &format!("cannot reach the remote {url}"),
                    &fetch_url,
                )
            })?;
        heads = conn
            .list()
            .with_context(|| format!("cannot list the branches of {url}"))?
            .iter()
            .map(|h| (h.name().to_string(), h.oid()))
            .collect();
        default = conn
            .default_branch()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_string));
    }
    let branch = match base {
        Some(b) => b.trim_start_matches("refs/heads/").to_string(),
        None => default
            .map(|d| d.trim_start_matches("refs/heads/").to_string())
            .ok_or_else(|| {
                advised(
                    anyhow!("{url} has no default branch (is it empty?)"),
                    Remedy::PushOrNameBase,
                )
            })?,
    };
    let want = format!("refs/heads/{branch}");
    let Some(&(_, tip)) = heads.iter().find(|(n, _)| *n == want) else {
        let branches: Vec<String> = heads
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("refs/heads/"))
            .map(str::to_string)
            .collect();
        bail!(advised(
            anyhow!("{url} has no branch {branch:?} to open the pull request against"),
            Remedy::NameBase { branches },
        ));
    };
    if repo.find_commit(tip).is_err() {
        fetch_ref(
            &mut remote,
            config,
            &fetch_url,
            &want,
            &format!("cannot fetch {branch} from {url}"),
        )?;
        repo.find_commit(tip).with_context(|| {
            format!("fetching {branch} from {url} did not bring its commit {tip}")
        })?;
    }
    Ok((branch, tip))
}

/// The tip of `branch` on the remote `url`, its commit fetched into `repo` without
/// writing any ref; None when the remote has no such branch.
pub(super) fn fetch_branch_tip(
    repo: &Repository,
    config: &git2::Config,
    url: &str,
    branch: &str,
) -> Result<Option<Oid>> {
    let fetch_url = rewrite_url(config, url, false);
    let mut remote = repo
        .remote_anonymous(&fetch_url)
        .with_context(|| format!("invalid Git URL {}", redact_url(url)))?;
    let shown = redact_url(url);
    let want = format!("refs/heads/{branch}");
    let tip = {
        let conn = remote
            .connect_auth(
                git2::Direction::Fetch,
                Some(callbacks(config, &fetch_url, None)),
                None,
            )
            .map_err(|e| {
                credentials::transport_error(
                    &e,
                    &format!("cannot reach the remote {shown}"),
                    &fetch_url,
                )
            })?;
        conn.list()
            .with_context(|| format!("cannot list the branches of {shown}"))?
            .iter()
            .find(|h| h.name() == want)
            .map(|h| h.oid())
    };
    let Some(tip) = tip else { return Ok(None) };
    if repo.find_commit(tip).is_err() {
        fetch_ref(
            &mut remote,
            config,
            &fetch_url,
            &want,
            &format!("cannot fetch {branch} from {shown}"),
        )?;
    }
    Ok(repo.find_commit(tip).is_ok().then_some(tip))
}

/// Fetch one ref's commit into the repository without writing a ref, tags or
/// FETCH_HEAD; `action` words a transport error.
fn fetch_ref(
    remote: &mut git2::Remote,
    config: &git2::Config,
    fetch_url: &str,
    want: &str,
    action: &str,
) -> Result<()> {
    let mut fo = git2::FetchOptions::new();
    fo.remote_callbacks(callbacks(config, fetch_url, None));
    fo.download_tags(git2::AutotagOption::None);
    fo.update_fetchhead(false);
    remote
        .fetch(&[want], Some(&mut fo), None)
        .map_err(|e| credentials::transport_error(&e, action, fetch_url))?;
    Ok(())
}

/// The URL of remote `name` (its push URL when `push`).
pub fn remote_url(repo: &Repository, name: &str, push: bool) -> Result<String> {
    remote_url_of(repo, name, push, None)
}

/// [`remote_url`], naming the repository in messages by its work tree `root` (else
/// "the repository").
pub(super) fn remote_url_of(
    repo: &Repository,
    name: &str,
    push: bool,
    root: Option<&Path>,
) -> Result<String> {
    let remote = repo.find_remote(name).map_err(|_| {
        let remotes: Vec<String> = repo
            .remotes()
            .map(|r| r.iter().flatten().flatten().map(str::to_string).collect())
            .unwrap_or_default();
        let error = match root {
            Some(root) => anyhow!("{} has no remote named {name:?}", root.display()),
            None => anyhow!("the repository has no remote named {name:?}"),
        };
        let remote = name.to_string();
        advised(error, Remedy::NameRemote { remote, remotes })
    })?;
    // The URL as configured, before `url.<base>.insteadOf` rewriting: the forge is
    // told from it (an insteadOf that points github.com at a mirror still means
    // GitHub), and the fetch and push paths rewrite it themselves.
    let configured = |key: &str| {
        repo.config()
            .ok()
            .and_then(|c| c.get_string(&format!("remote.{name}.{key}")).ok())
            .filter(|u| !u.is_empty())
    };
    let url = if push {
        configured("pushurl")
            .or_else(|| configured("url"))
            .or_else(|| remote.pushurl().ok().flatten().map(str::to_string))
            .or_else(|| remote.url().ok().map(str::to_string))
    } else {
        configured("url").or_else(|| remote.url().ok().map(str::to_string))
    };
    url.ok_or_else(|| {
        user(
            match root {
                Some(root) => format!("the remote {name:?} of {} has no URL", root.display()),
                None => format!("remote {name:?} has no URL"),
            },
            format!("set one: git remote set-url {name} URL"),
        )
    })
}

/// The tags of remote `name`, with their commits and annotated messages. They are
/// fetched into a private namespace of the local repository and removed again, so
/// the user's tags are left alone.
pub fn remote_tags(repo: &Repository, name: &str) -> Result<Vec<TagInfo>> {
    let url = remote_url(repo, name, false)?;
    let config = user_config()?;
    let fetch_url = rewrite_url(&config, &url, false);
    // The remote of the user's own repository: trusted like a GitOps remote.
    credentials::trust_gitops_url(&url);
    credentials::trust_gitops_url(&fetch_url);
    let ns = format!("refs/pctl/remote-tags/{}", std::process::id());
    let mut remote = repo
        .remote_anonymous(&fetch_url)
        .with_context(|| format!("invalid Git URL {url}"))?;
    let mut fo = git2::FetchOptions::new();
    fo.remote_callbacks(callbacks(&config, &fetch_url, None));
    fo.download_tags(git2::AutotagOption::None);
    fo.update_fetchhead(false);
    let fetched = remote.fetch(
        &[format!("+refs/tags/*:{ns}/*").as_str()],
        Some(&mut fo),
        None,
    );
    let mut out = Vec::new();
    let mut names = Vec::new();
    if let Ok(refs) = repo.references_glob(&format!("{ns}/*")) {
        for r in refs.flatten() {
            let Ok(full) = r.name().map(str::to_string) else {
                continue;
            };
            names.push(full.clone());
            let message = r
                .peel_to_tag()
                .ok()
                .and_then(|t| t.message().ok().flatten().map(str::to_string));
            if let Ok(c) = r.peel_to_commit() {
                out.push(TagInfo {
                    name: full[ns.len() + 1..].to_string(),
                    commit: c.id(),
                    message,
                });
            }
        }
    }
    for n in names {
        if let Ok(mut r) = repo.find_reference(&n) {
            let _ = r.delete();
        }
    }
    fetched.map_err(|e| {
        let action = format!(
            "cannot read the tags of remote {name} ({})",
            redact_url(&url)
        );
        credentials::transport_error(&e, &action, &fetch_url)
    })?;
    Ok(out)
}

/// Push a tag object as `refs/tags/NAME` to remote `remote` (never forced). A
/// rejection by the server (the tag exists there, a hook refused it) is an error
/// that quotes the server.
pub fn push_tag(repo: &Repository, remote: &str, name: &str, tag: Oid) -> Result<()> {
    let url = remote_url(repo, remote, true)?;
    let config = user_config()?;
    let push_url = rewrite_url(&config, &url, true);
    // The remote of the user's own repository: trusted like a GitOps remote.
    credentials::trust_gitops_url(&url);
    credentials::trust_gitops_url(&push_url);
    let tmp = format!("refs/pctl/publish/{}", std::process::id());
    repo.reference(&tmp, tag, true, "pctl publish")?;
    let result = (|| -> Result<()> {
        let mut r = repo
            .remote_anonymous(&push_url)
            .with_context(|| format!("invalid Git URL {url}"))?;
        let rejected: RefCell<Option<String>> = RefCell::new(None);
        let mut cb = callbacks(&config, &push_url, None);
        cb.push_update_reference(|r, status| {
            if let Some(msg) = status {
                *rejected.borrow_mut() = Some(format!("{r}: {msg}"));
            }
            Ok(())
        });
        let mut po = git2::PushOptions::new();
        po.remote_callbacks(cb);
        let res = r.push(&[format!("{tmp}:refs/tags/{name}").as_str()], Some(&mut po));
        drop(po);
        match res {
            Err(e) => {
                let action = format!(
                    "cannot push the tag {name} to {remote} ({}); nothing was tagged",
                    redact_url(&url)
                );
                Err(credentials::transport_error(&e, &action, &push_url))
            }
            Ok(()) => match rejected.into_inner() {
                Some(msg) => Err(user(
                    format!("{remote} ({url}) rejected the tag {name}: {msg}"),
                    "the server refused it (the tag exists there, or a hook or protection rule forbids it); nothing was tagged",
                )),
                None => Ok(()),
            },
        }
    })();
    if let Ok(mut r) = repo.find_reference(&tmp) {
        let _ = r.delete();
    }
    result
}
