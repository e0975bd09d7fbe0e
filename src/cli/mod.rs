//! Command-line definitions (clap) and dispatch: each command file turns its
//! arguments into the ops context (shared flags, `args.rs`, and the printer made
//! here) and an options struct, and calls one operation.
pub mod args;
mod capture;
mod catalog;
mod check;
mod cluster;
mod completion;
mod diff;
mod export;
mod init;
mod install;
mod lint;
mod list;
mod migrate;
mod outdated;
mod promote;
mod publish;
mod render;
mod search;
mod show;
mod status;
mod uninstall;
mod upgrade;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

const ABOUT: &str = "GitOps package manager for Kubernetes: installs versioned, parameterised profiles \
into the Git repository that Flux syncs to your clusters.";

const AFTER: &str = "\
Exit codes: 0 success, 1 user or input error, 2 internal error, 3 merge conflict.
Data goes to stdout; progress, warnings and errors go to stderr.
Upstream repositories are cached under $XDG_CACHE_HOME/pctl.
Token variables (PCTL_GIT_TOKEN, GITHUB_TOKEN, GITLAB_TOKEN, GITEA_TOKEN) go only over
HTTPS (plain HTTP only to loopback) to the GitOps repository's remote host, the forge
API, and hosts listed in credentials.hosts of $XDG_CONFIG_HOME/pctl/config.yaml.";

#[derive(Parser)]
#[command(name = "pctl", version, about = ABOUT, after_help = AFTER, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Init(Lazy<init::Args>),
    Install(Lazy<install::Args>),
    Render(Lazy<render::Args>),
    List(Lazy<list::Args>),
    Uninstall(Lazy<uninstall::Args>),
    Upgrade(Lazy<upgrade::Args>),
    Sync(Lazy<upgrade::SyncArgs>),
    Promote(Lazy<promote::Args>),
    Status(Lazy<status::Args>),
    Outdated(Lazy<outdated::Args>),
    Search(Lazy<search::Args>),
    Show(Lazy<show::Args>),
    Catalog(Lazy<catalog::Args>),
    Capture(Lazy<capture::Args>),
    Export(Lazy<export::ExportArgs>),
    Import(Lazy<export::ImportArgs>),
    Lint(Lazy<lint::Args>),
    Diff(Lazy<diff::Args>),
    // `--version` is the version to publish here, not pctl's own.
    #[command(disable_version_flag = true)]
    Publish(Lazy<publish::Args>),
    Completion(Lazy<completion::Args>),
    Check(Lazy<check::Args>),
    Migrate(Lazy<migrate::Args>),
    Cluster(Lazy<cluster::Args>),
}

/// A command's arguments, defined only when clap reaches that command, while
/// [`LAZY_ARGS`] is set: clap builds all 23 commands' arguments (300 KB) otherwise, a
/// quarter of `pctl list` in an empty repository (docs/benchmarks.md#start-up).
pub struct Lazy<T>(pub T);

thread_local! {
    /// Set by [`command`] only while it builds the definition for a first argument
    /// that names a command: everything that lists the commands (`pctl --help`, an
    /// unknown command, `pctl completion`) needs them whole, and builds it unset.
    static LAZY_ARGS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `define` applied to `cmd` now, or when clap reaches it while [`LAZY_ARGS`] is set.
fn lazily(cmd: clap::Command, define: fn(clap::Command) -> clap::Command) -> clap::Command {
    if LAZY_ARGS.get() {
        cmd.defer(define)
    } else {
        define(cmd)
    }
}

impl<T: clap::Args> clap::Args for Lazy<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        lazily(cmd, T::augment_args)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        lazily(cmd, T::augment_args_for_update)
    }
}

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
}

/// The command line's definition: only the named command's arguments when the first
/// argument names one, every command's otherwise.
fn command(first: Option<&std::ffi::OsStr>) -> clap::Command {
    LAZY_ARGS.set(true);
    let lazy = Cli::command();
    LAZY_ARGS.set(false);
    match first {
        Some(f) if lazy.get_subcommands().any(|s| s.get_name() == f) => lazy,
        _ => Cli::command(),
    }
}

/// Flags shared by the commands that write to a GitOps repository.
#[derive(clap::Args, Debug, Clone)]
pub struct WriteFlags {
    /// Print a unified diff of what would change and write nothing.
    #[arg(long, conflicts_with = "no_commit")]
    pub dry_run: bool,
    /// Write and stage the files but do not commit.
    #[arg(long)]
    pub no_commit: bool,
}

impl WriteFlags {
    pub fn mode(&self) -> crate::ops::Mode {
        if self.dry_run {
            crate::ops::Mode::DryRun
        } else if self.no_commit {
            crate::ops::Mode::NoCommit
        } else {
            crate::ops::Mode::Commit
        }
    }
}

/// Pull-request flags shared by the commands that write to a GitOps repository
/// (docs/guide.md#pull-requests): commit on a branch of its own, push it and open a
/// pull request.
#[derive(clap::Args, Debug, Clone)]
pub struct PrFlags {
    /// Commit on the branch pctl/<verb>-<NAME>-<version> (built on the remote's base
    /// branch; the local branch, index and files are left alone), force-push it and
    /// open a pull request on GitHub, GitLab or Gitea/Forgejo, or update the one
    /// already open for that branch. The forge is PCTL_FORGE (API at
    /// PCTL_FORGE_API_URL), else forge.type/forge.apiURL of .pctl/config.yaml, else
    /// detected from the host of the remote URL as configured (before insteadOf
    /// rewriting). The token comes from GITHUB_TOKEN,
    /// GITLAB_TOKEN or GITEA_TOKEN and is checked before anything is pushed: the API
    /// and the remote must be https:// (http:// only on loopback), and an apiURL from
    /// the committed .pctl/config.yaml must be on the remote's host or listed in
    /// credentials.hosts of $XDG_CONFIG_HOME/pctl/config.yaml. Prints the pull
    /// request's URL.
    #[arg(long, conflicts_with_all = ["dry_run", "no_commit"])]
    pub create_pr: bool,
    /// Remote of the local GitOps repository to push the branch to (with --create-pr;
    /// --repo URL pushes to that URL).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "origin",
        requires = "create_pr"
    )]
    pub remote: String,
    /// Branch the pull request targets [default: the remote's default branch].
    #[arg(long, value_name = "BRANCH", requires = "create_pr")]
    pub pr_base: Option<String>,
}

impl PrFlags {
    /// The pull-request options when --create-pr is given.
    pub fn options(&self) -> Option<crate::ops::pr::PrOptions> {
        self.create_pr.then(|| crate::ops::pr::PrOptions {
            remote: self.remote.clone(),
            base: self.pr_base.clone(),
        })
    }
}

/// Parameter values from the command line (docs/guide.md#parameters-and-values), shared
/// by install and render.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ValueFlags {
    /// Set a parameter, coerced to its declared type: NAME=VALUE. A nested profile's
    /// parameter is ARTIFACT.NAME. Not for secrets. A later flag beats an earlier one.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Set a parameter to a string, never coerced: NAME=VALUE.
    #[arg(long = "set-string", value_name = "NAME=VALUE")]
    pub set_string: Vec<String>,
    /// Set a parameter (secrets too) to the contents of a file, without one trailing newline: NAME=PATH.
    #[arg(long = "set-file", value_name = "NAME=PATH")]
    pub set_file: Vec<String>,
    /// Set a parameter (secrets too) from an environment variable: NAME=VAR.
    #[arg(long = "set-env", value_name = "NAME=VAR")]
    pub set_env: Vec<String>,
    /// YAML values file: `param: value` or `profile.param: value`. A later file beats an earlier one.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<std::path::PathBuf>,
    /// Apply one of the profile's presets (below files and recorded values).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Apply .pctl/values/NAME.yaml of the GitOps repository; the first named wins.
    #[arg(long = "values-profile", value_name = "NAME")]
    pub values_profiles: Vec<String>,
    /// Read a secret parameter from a Secret you create in the cluster (in the Flux
    /// namespace) instead of writing it encrypted: PARAM=SECRET/KEY.
    #[arg(long = "secret-ref", value_name = "PARAM=SECRET/KEY")]
    pub secret_refs: Vec<String>,
}

impl ValueFlags {
    /// The values options for an operation, flags in command-line order.
    pub fn options(&self, m: &clap::ArgMatches) -> crate::ops::ValueOptions {
        crate::ops::ValueOptions {
            flags: self.ordered(m),
            files: self.values.clone(),
            preset: self.preset.clone(),
            values_profiles: self.values_profiles.clone(),
            secret_refs: self.secret_refs.clone(),
            cluster: None,
        }
    }

    /// The --set family in command-line order, for "a later flag beats an earlier one".
    pub fn ordered(&self, m: &clap::ArgMatches) -> Vec<crate::ops::ValueFlag> {
        use crate::ops::FlagKind;
        let mut out: Vec<(usize, crate::ops::ValueFlag)> = Vec::new();
        for (id, kind, vals) in [
            ("set", FlagKind::Set, &self.set),
            ("set_string", FlagKind::SetString, &self.set_string),
            ("set_file", FlagKind::SetFile, &self.set_file),
            ("set_env", FlagKind::SetEnv, &self.set_env),
        ] {
            let idx: Vec<usize> = m.indices_of(id).map(|i| i.collect()).unwrap_or_default();
            for (n, v) in vals.iter().enumerate() {
                let at = idx.get(n).copied().unwrap_or(usize::MAX - vals.len() + n);
                out.push((
                    at,
                    crate::ops::ValueFlag {
                        kind,
                        text: v.clone(),
                    },
                ));
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, f)| f).collect()
    }
}

/// Parse the command line, run the command, print any error; returns the exit code.
pub fn main() -> i32 {
    let parsed = command(std::env::args_os().nth(1).as_deref())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    // The one printer of the command: every op writes through it (ops::Context).
    let p = crate::printer::Printer::terminal();
    let p = &p;
    let result = match cli.command {
        Command::Init(Lazy(a)) => init::run(a, p),
        Command::Install(Lazy(a)) => install::run(a, &sub, p),
        Command::Render(Lazy(a)) => render::run(a, &sub, p),
        Command::List(Lazy(a)) => list::run(a, p),
        Command::Uninstall(Lazy(a)) => uninstall::run(a, p),
        Command::Upgrade(Lazy(a)) => match upgrade::run(a, &sub, p) {
            Ok(code) => {
                crate::ops::print_kept_notices(p);
                return code;
            }
            Err(e) => Err(e),
        },
        Command::Sync(Lazy(a)) => upgrade::sync(a, p),
        Command::Promote(Lazy(a)) => promote::run(a, p),
        Command::Status(Lazy(a)) => status::run(a, p),
        Command::Outdated(Lazy(a)) => outdated::run(a, p),
        Command::Search(Lazy(a)) => search::run(a, p),
        Command::Show(Lazy(a)) => show::run(a, &sub, p),
        Command::Catalog(Lazy(a)) => catalog::run(a, p),
        Command::Capture(Lazy(a)) => capture::run(a, p),
        Command::Export(Lazy(a)) => export::run_export(a, p),
        Command::Import(Lazy(a)) => export::run_import(a, p),
        Command::Lint(Lazy(a)) => lint::run(a, p),
        Command::Diff(Lazy(a)) => diff::run(a, &sub, p),
        Command::Publish(Lazy(a)) => publish::run(a, p),
        Command::Completion(Lazy(a)) => completion::run(a, p),
        Command::Migrate(Lazy(a)) => migrate::run(a, p),
        Command::Check(Lazy(a)) => check::run(a, p),
        Command::Cluster(Lazy(a)) => cluster::run(a, p),
    };
    // What Git kept for the user and no operation printed yet.
    crate::ops::print_kept_notices(p);
    match result {
        Ok(()) => 0,
        Err(e) => {
            // Git reports some errors by type; the ops say which command or flag helps.
            let e = crate::ops::advice::word(e);
            p.error(&e);
            crate::error::exit_code(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    /// How many arguments and subcommands `cmd` defines.
    fn defined(cmd: &clap::Command) -> usize {
        cmd.get_arguments().count() + cmd.get_subcommands().count()
    }

    #[test]
    fn the_definition_passes_clap_s_own_checks() {
        Cli::command().debug_assert();
    }

    /// Every command's help and errors are the same from the definition made for its
    /// name (its arguments deferred) as from the whole one.
    #[test]
    fn a_definition_made_for_one_command_answers_as_the_whole_one() {
        let whole = Cli::command();
        let names: Vec<String> = whole
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        assert_eq!(names.len(), 23, "{names:?}");
        for name in &names {
            let lazy = command(Some(OsStr::new(name)));
            // Nothing is defined before clap reaches a command.
            for sub in lazy.get_subcommands() {
                assert_eq!(defined(sub), 0, "{name}: {}", sub.get_name());
            }
            assert!(
                Cli::command()
                    .find_subcommand(name)
                    .is_some_and(|s| defined(s) > 0),
                "{name}"
            );
            for extra in ["--help", "-h", "--no-such-flag"] {
                let args = ["pctl", name.as_str(), extra];
                let from_lazy = command(Some(OsStr::new(name)))
                    .try_get_matches_from(args)
                    .map(|_| ())
                    .unwrap_err();
                let from_whole = Cli::command()
                    .try_get_matches_from(args)
                    .map(|_| ())
                    .unwrap_err();
                assert_eq!(from_lazy.kind(), from_whole.kind(), "{args:?}");
                assert_eq!(from_lazy.to_string(), from_whole.to_string(), "{args:?}");
            }
        }
        // Not a command's name: the whole definition, every command's arguments.
        for first in [None, Some("--help"), Some("lst"), Some("help")] {
            let cmd = command(first.map(OsStr::new));
            assert!(cmd.get_subcommands().all(|s| defined(s) > 0), "{first:?}");
        }
    }
}
