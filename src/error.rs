//! Error kinds that decide the exit code (docs/commands.md) and hints attached to
//! errors.
//!
//! Errors travel as `anyhow::Error`. A [`Hint`] layer added with [`HintExt::hint`] is
//! printed as `hint: …` instead of as a cause; a [`Bug`] anywhere in the chain makes
//! the exit code 2 and a [`Conflict`] makes it 3; everything else is a user or input
//! error (exit 1).
use std::fmt;

/// An error message with a suggestion printed after it as `hint: …`; its causes are
/// those of the error it wraps, if any.
#[derive(Debug)]
pub struct Hint {
    msg: String,
    pub hint: String,
    inner: Option<anyhow::Error>,
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Hint {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.as_ref().and_then(|e| e.source())
    }
}

/// An internal error: pctl produced something it should not have (exit 2).
#[derive(Debug)]
pub struct Bug(pub String);

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "internal error: {}", self.0)
    }
}
impl std::error::Error for Bug {}

/// A merge stopped on conflicts (exit 3).
#[derive(Debug)]
pub struct Conflict(pub String);

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Conflict {}

/// Attach a hint to an error or a result.
pub trait HintExt<T> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E> HintExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| with_hint(e.into(), hint))
    }
}

/// `err` with a hint layered on top. The message stays the same.
/// An error that already carries a hint keeps its own, more specific one.
pub fn with_hint(err: anyhow::Error, hint: impl Into<String>) -> anyhow::Error {
    if err.downcast_ref::<Hint>().is_some() {
        return err;
    }
    anyhow::Error::new(Hint {
        msg: err.to_string(),
        hint: hint.into(),
        inner: Some(err),
    })
}

/// A user error with a message and a hint.
pub fn user(msg: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint {
        msg: msg.into(),
        hint: hint.into(),
        inner: None,
    })
}

/// `err` restated as `msg` (which already tells what `err` said), keeping its hint.
pub fn restate(msg: String, err: &anyhow::Error) -> anyhow::Error {
    match err.chain().find_map(|e| e.downcast_ref::<Hint>()) {
        Some(h) => user(msg, h.hint.clone()),
        None => anyhow::anyhow!(msg),
    }
}

/// A merge that stopped on conflicts (exit 3), with a hint.
pub fn conflict(msg: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    let msg = msg.into();
    anyhow::Error::new(Hint {
        msg: msg.clone(),
        hint: hint.into(),
        inner: Some(anyhow::Error::new(Conflict(msg))),
    })
}

/// Whether an error of type `T` is in the chain, looking inside hint layers too.
fn has<T: std::error::Error + Send + Sync + 'static>(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.is::<T>()
            || e.downcast_ref::<Hint>()
                .and_then(|h| h.inner.as_ref())
                .is_some_and(has::<T>)
    })
}

/// The exit code for an error chain: 2 for a bug, 3 for a conflict, else 1.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if has::<Bug>(err) {
        2
    } else if has::<Conflict>(err) {
        3
    } else {
        1
    }
}

/// Message lines for an error: the top message, then causes (deduplicated, hints left
/// out), then the hints.
pub fn describe(err: &anyhow::Error) -> (String, Vec<String>, Vec<String>) {
    let mut causes: Vec<String> = Vec::new();
    let mut hints = Vec::new();
    let top = words(err.root_cause()).filter(|_| err.chain().count() == 1);
    let top = top.unwrap_or_else(|| err.to_string());
    for e in err.chain() {
        if let Some(h) = e.downcast_ref::<Hint>()
            && !hints.contains(&h.hint)
        {
            hints.push(h.hint.clone());
        }
        let s = words(e).unwrap_or_else(|| e.to_string());
        if s != top && !causes.contains(&s) {
            causes.push(s);
        }
    }
    (top, causes, hints)
}

/// A libgit2 error as its message alone: its `; class=Os (2); code=NotFound (-3)`
/// suffix is for programmers.
fn words(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    e.downcast_ref::<git2::Error>()
        .map(|g| g.message().trim_end_matches(['.', ' ']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn libgit2_codes_are_left_out() {
        let Err(e) = git2::Repository::open("/nonexistent/pctl") else {
            panic!("opened a repository that does not exist")
        };
        assert!(e.to_string().contains("class="), "{e}");
        let err = anyhow::Error::new(e).context("cannot open /nonexistent/pctl");
        let (top, causes, _) = describe(&err);
        assert_eq!(top, "cannot open /nonexistent/pctl");
        assert!(
            !causes[0].contains("class=") && !causes[0].contains("code="),
            "{causes:?}"
        );
        assert!(causes[0].contains("/nonexistent/pctl"), "{causes:?}");
    }

    #[test]
    fn hint_is_separated_from_causes() {
        let r: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
        let err = r
            .context("cannot write x.yaml")
            .hint("free some space")
            .unwrap_err();
        let (top, causes, hints) = describe(&err);
        assert_eq!(top, "cannot write x.yaml");
        assert_eq!(causes, vec!["disk full".to_string()]);
        assert_eq!(hints, vec!["free some space".to_string()]);
        assert_eq!(exit_code(&err), 1);
    }

    #[test]
    fn the_specific_hint_wins() {
        let inner: anyhow::Result<()> = Err(user("x is inside y", "run pctl init y"));
        let err = inner.hint("pass a directory you can write to").unwrap_err();
        let (_, _, hints) = describe(&err);
        assert_eq!(hints, vec!["run pctl init y".to_string()]);
    }

    #[test]
    fn exit_codes_follow_markers() {
        let bug = anyhow::Error::new(Bug("graph".into())).context("checking");
        assert_eq!(exit_code(&bug), 2);
        let c = anyhow::Error::new(Conflict("2 files".into()));
        assert_eq!(exit_code(&c), 3);
        let u = user("bad", "fix it");
        assert_eq!(exit_code(&u), 1);
        let hinted = conflict("3 files", "resolve them");
        assert_eq!(exit_code(&hinted), 3);
        assert_eq!(exit_code(&with_hint(bug, "try again")), 2);
        let (top, causes, hints) = describe(&u);
        assert_eq!((top.as_str(), causes.len()), ("bad", 0));
        assert_eq!(hints, vec!["fix it".to_string()]);
    }
}
