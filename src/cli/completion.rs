//! `pctl completion SHELL`: the shell completion script, generated from the command
//! definitions (clap_complete), on stdout.
use clap::CommandFactory;

/// Print a shell completion script for pctl.
///
/// bash: `source <(pctl completion bash)` (or save it under
/// /etc/bash_completion.d/pctl); zsh: `pctl completion zsh > "${fpath[1]}/_pctl"`;
/// fish: `pctl completion fish > ~/.config/fish/completions/pctl.fish`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(a: Args, p: &crate::printer::Printer) -> anyhow::Result<()> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "pctl", &mut out);
    p.data(&String::from_utf8_lossy(&out));
    Ok(())
}
