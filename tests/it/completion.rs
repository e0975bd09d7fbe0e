//! `pctl completion SHELL` (docs/commands.md): a script the shell accepts that completes every
//! command; an unknown shell is an error (exit 1) naming the choices.

use crate::common::*;

#[test]
fn bash_completion_completes_commands_and_flags() {
    let env = Env::new();
    let out = env.pctl(["completion", "bash"]);
    assert_success(&out);
    let script = env.path("pctl.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let complete = |words: &str, cword: usize| {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; _pctl pctl \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &probe])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        stdout(&out)
    };
    let commands = complete("pctl ''", 1);
    for c in [
        "init",
        "install",
        "upgrade",
        "sync",
        "lint",
        "publish",
        "capture",
        "export",
        "import",
        "completion",
    ] {
        assert!(
            commands.split_whitespace().any(|w| w == c),
            "{c} missing from {commands}"
        );
    }
    assert_eq!(complete("pctl up", 1).trim(), "upgrade");
    let flags = complete("pctl upgrade --", 2);
    for f in ["--continue", "--abort", "--strategy", "--create-pr"] {
        assert!(
            flags.split_whitespace().any(|w| w == f),
            "{f} missing from {flags}"
        );
    }
}

#[test]
fn every_supported_shell_gets_a_script_and_an_unknown_one_is_refused() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = env.pctl(["completion", shell]);
        assert_success(&out);
        assert!(
            stdout(&out).contains("upgrade"),
            "{shell}: {}",
            describe(&out)
        );
    }
    let out = env.pctl(["completion", "tcsh"]);
    assert_exit(&out, 1);
    assert!(stdout(&out).is_empty());
    assert_stderr_mentions(&out, &["tcsh", "bash", "zsh", "fish"]);
}
