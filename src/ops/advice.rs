//! The words for what Git reports by type (`git/advice.rs`): the pctl command or flag
//! that is the way out. `cli::main` passes every command's error through [`word`]
//! once, so that the Git module names no command or flag.
use crate::error::{user, with_hint};
use crate::git::{Advised, NeedsWorkTree, NotCached, Remedy, StoppedChange};

/// `err` as the user reads it: a typed Git error worded, any other error unchanged.
pub fn word(err: anyhow::Error) -> anyhow::Error {
    if let Some(stopped) = find::<StoppedChange>(&err) {
        let msg = format!(
            "an upgrade with conflicts is in progress in {}",
            stopped.root.display()
        );
        let fallback = stopped.to_string();
        return restate(
            err,
            &fallback,
            msg,
            "resolve the conflicts and run `pctl upgrade --continue`, or `pctl upgrade --abort`",
        );
    }
    if let Some(e) = find::<NeedsWorkTree>(&err) {
        let fallback = e.to_string();
        return restate(
            err,
            &fallback,
            "--no-commit needs a local GitOps repository".into(),
            "clone it and pass --repo DIR",
        );
    }
    if let Some(e) = find::<NotCached>(&err) {
        let msg = format!(
            "{} is not in the cache ({}) and --offline forbids fetching it",
            e.url,
            e.dir.display()
        );
        let fallback = e.to_string();
        return restate(
            err,
            &fallback,
            msg,
            "run the same command once without --offline",
        );
    }
    match find::<Advised>(&err).map(|a| hint(&a.remedy)) {
        Some(h) => with_hint(err, h),
        None => err,
    }
}

/// `msg` with `hint` where the typed error is the whole of `err` (its message is
/// `fallback`); else `err` as it is (its context says more), with the hint.
fn restate(err: anyhow::Error, fallback: &str, msg: String, hint: &str) -> anyhow::Error {
    if err.to_string() == fallback {
        user(msg, hint)
    } else {
        with_hint(err, hint)
    }
}

fn find<T: std::error::Error + Send + Sync + 'static>(err: &anyhow::Error) -> Option<&T> {
    err.chain().find_map(|e| e.downcast_ref::<T>())
}

/// The hint for a remedy.
fn hint(remedy: &Remedy) -> String {
    match remedy {
        Remedy::CreateOrNameRepository => {
            "run `pctl init DIR` to create a GitOps repository, or pass --repo DIR".into()
        }
        Remedy::NameWorkTreeOrUrl => "pass a work tree or a URL with --repo".into(),
        Remedy::UseRepositoryRoot { root } => format!(
            "a GitOps repository is a whole repository: run `pctl init {}`, or choose a directory outside it",
            root.display()
        ),
        Remedy::CommitOrReadFromDisk => "commit the profile first, or pass --allow-dirty".into(),
        Remedy::PushOrNameBase => {
            "push the GitOps repository's main branch first, or name the base with --pr-base BRANCH"
                .into()
        }
        Remedy::NameBase { branches } if branches.is_empty() => "push a base branch first".into(),
        Remedy::NameBase { branches } => {
            format!("--pr-base BRANCH; its branches: {}", branches.join(", "))
        }
        Remedy::PushOrNameAnotherBase => {
            "push it first, or name another base with --pr-base BRANCH".into()
        }
        Remedy::NameAnotherBase => "choose another --pr-base".into(),
        Remedy::NameRemote { remote, remotes } if remotes.is_empty() => {
            format!("add one: git remote add {remote} URL")
        }
        Remedy::NameRemote { remotes, .. } => {
            format!("--remote NAME; its remotes: {}", remotes.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remedy_becomes_the_hint_and_the_message_stays() {
        let advised = anyhow::Error::new(Advised {
            remedy: Remedy::NameBase {
                branches: vec!["main".into(), "dev".into()],
            },
            error: anyhow::anyhow!("X has no branch \"prod\""),
        });
        let (msg, causes, hints) = crate::error::describe(&word(advised));
        assert_eq!(msg, "X has no branch \"prod\"");
        assert!(causes.is_empty(), "{causes:?}");
        assert_eq!(hints, ["--pr-base BRANCH; its branches: main, dev"]);
    }

    #[test]
    fn a_stopped_change_is_worded_as_the_upgrade_it_is() {
        let err = anyhow::Error::new(StoppedChange {
            root: "/w/gitops".into(),
        });
        let (msg, _, hints) = crate::error::describe(&word(err));
        assert_eq!(msg, "an upgrade with conflicts is in progress in /w/gitops");
        assert_eq!(
            hints,
            ["resolve the conflicts and run `pctl upgrade --continue`, or `pctl upgrade --abort`"]
        );
        let other = word(anyhow::anyhow!("something else"));
        assert_eq!(other.to_string(), "something else");
    }
}
