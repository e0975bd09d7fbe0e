//! Command-line definitions (clap) and dispatch: each command file turns its
//! arguments into an options struct and calls one operation.
mod init;
mod install;
mod list;
mod render;
mod uninstall;

use clap::{Parser, Subcommand};

const ABOUT: &str = "GitOps package manager for Kubernetes: installs versioned, parameterised profiles \
into the Git repository that Flux syncs to your clusters.";

const AFTER: &str = "\
Exit codes: 0 success, 1 user or input error, 2 internal error, 3 merge conflict.
Data goes to stdout; progress, warnings and errors go to stderr.
Upstream repositories are cached under $XDG_CACHE_HOME/pctl.";

#[derive(Parser)]
#[command(name = "pctl", version, about = ABOUT, after_help = AFTER, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Init(init::Args),
    Install(install::Args),
    Render(render::Args),
    List(list::Args),
    Uninstall(uninstall::Args),
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
    pub fn mode(&self) -> crate::git::Mode {
        if self.dry_run {
            crate::git::Mode::DryRun
        } else if self.no_commit {
            crate::git::Mode::NoCommit
        } else {
            crate::git::Mode::Commit
        }
    }
}

/// Parse the command line, run the command, print any error; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Init(a) => init::run(a),
        Command::Install(a) => install::run(a),
        Command::Render(a) => render::run(a),
        Command::List(a) => list::run(a),
        Command::Uninstall(a) => uninstall::run(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            crate::printer::printer().error(&e);
            crate::error::exit_code(&e)
        }
    }
}
