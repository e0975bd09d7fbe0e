//! `Case`: one pctl command as a test states it, in the style of `just`'s test
//! harness: the world it runs in, the command, and everything expected of it, checked
//! together by [`Case::run`].
//!
//! ```ignore
//! Case::new()
//!     .gitops()
//!     .install(&source, "web")
//!     .expect_exit(1)
//!     .stderr_is("error: …\nhint: …\n")
//!     .writes_nothing()
//!     .run();
//! ```
//!
//! `stderr_is`/`stdout_is` compare the whole text exactly, after the sandbox's paths
//! are replaced by `[ROOT]` and the fixture repositories' by `[FIXTURES]`, so a key
//! message cannot change by accident; `stderr_has` checks one exact piece of it.
use super::{Env, State, assert_unchanged, describe, snapshot, stderr, stdout};
use std::path::PathBuf;
use std::process::Output;

pub struct Case {
    pub env: Env,
    gitops: Option<PathBuf>,
    args: Vec<String>,
    exit: i32,
    stderr_exact: Option<String>,
    stdout_exact: Option<String>,
    stderr_pieces: Vec<String>,
    unchanged: bool,
}

/// What a case left behind, for checks of its own.
pub struct Ran {
    pub env: Env,
    pub gitops: Option<PathBuf>,
    pub output: Output,
}

impl Ran {
    /// The next command in the same sandbox and GitOps repository.
    pub fn next(self) -> Case {
        Case {
            env: self.env,
            gitops: self.gitops,
            ..Case::bare()
        }
    }
}

impl Default for Case {
    fn default() -> Self {
        Self::new()
    }
}

impl Case {
    /// A fresh sandbox; the command is expected to succeed unless told otherwise.
    pub fn new() -> Case {
        Case::bare()
    }

    fn bare() -> Case {
        Case {
            env: Env::new(),
            gitops: None,
            args: Vec::new(),
            exit: 0,
            stderr_exact: None,
            stdout_exact: None,
            stderr_pieces: Vec::new(),
            unchanged: false,
        }
    }

    /// A GitOps repository made by `pctl init` (`gitops` in the sandbox); the
    /// command gets `--repo` pointing at it.
    pub fn gitops(mut self) -> Case {
        self.gitops = Some(self.env.init_gitops("gitops"));
        self
    }

    /// `pctl install SOURCE --name NAME` (plus `--repo` with [`Case::gitops`]).
    pub fn install(self, source: &str, name: &str) -> Case {
        self.args(&["install", source, "--name", name])
    }

    /// Any pctl command line (`--repo` is added when there is a GitOps repository).
    pub fn args(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn expect_exit(mut self, code: i32) -> Case {
        self.exit = code;
        self
    }

    /// The whole of stderr, exactly (paths normalised, see the module comment).
    pub fn stderr_is(mut self, text: &str) -> Case {
        self.stderr_exact = Some(text.to_string());
        self
    }

    /// The whole of stdout, exactly (paths normalised).
    pub fn stdout_is(mut self, text: &str) -> Case {
        self.stdout_exact = Some(text.to_string());
        self
    }

    /// One exact, case-sensitive piece of stderr (paths normalised).
    pub fn stderr_has(mut self, piece: &str) -> Case {
        self.stderr_pieces.push(piece.to_string());
        self
    }

    /// The GitOps repository is the same afterwards: HEAD, refs, index, status, files.
    pub fn writes_nothing(mut self) -> Case {
        self.unchanged = true;
        self
    }

    pub fn run(self) -> Ran {
        let mut args = self.args.clone();
        if let Some(g) = &self.gitops
            && !args.iter().any(|a| a == "--repo")
        {
            args.push("--repo".into());
            args.push(g.display().to_string());
        }
        let before: Option<State> = self
            .gitops
            .as_ref()
            .filter(|_| self.unchanged)
            .map(|g| snapshot(g));
        let output = self.env.pctl(&args);
        let shown = || format!("pctl {}\n{}", args.join(" "), describe(&output));
        assert_eq!(
            output.status.code(),
            Some(self.exit),
            "exit code of {}",
            shown()
        );
        let err = self.normalise(&stderr(&output));
        let out = self.normalise(&stdout(&output));
        if let Some(want) = &self.stderr_exact {
            assert_eq!(&err, want, "stderr of {}", shown());
        }
        if let Some(want) = &self.stdout_exact {
            assert_eq!(&out, want, "stdout of {}", shown());
        }
        for piece in &self.stderr_pieces {
            assert!(
                err.contains(piece.as_str()),
                "stderr lacks {piece:?}: {}",
                shown()
            );
        }
        if let (Some(before), Some(g)) = (&before, &self.gitops) {
            assert_unchanged(before, &snapshot(g));
        }
        Ran {
            env: self.env,
            gitops: self.gitops,
            output,
        }
    }

    fn normalise(&self, text: &str) -> String {
        let root = self.env.root.display().to_string();
        let fixtures = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture-repos");
        let text = text
            .replace(&fixtures.display().to_string(), "[FIXTURES]")
            .replace(&root, "[ROOT]");
        // a fixture repository's directory carries a hash of its content
        let hashed = regex::Regex::new(r"\[FIXTURES\]/([a-z0-9-]+?)-[0-9a-f]{16}").expect("regex");
        hashed.replace_all(&text, "[FIXTURES]/$1").into_owned()
    }
}
