//! More transport tests: see the module above for the servers and helpers.
use super::*;

#[test]
fn ssh_agent_authenticates_an_ssh_fetch() {
    if !sshd_available("ssh_agent_authenticates_an_ssh_fetch") {
        return;
    }
    let env = Env::new();
    let sshd = Sshd::start(&env.path("sshd"));
    let (gitops, src) = ssh_setup(&env, &sshd, true);
    let agent = Agent::start(&env.path("agent.sock"), &sshd.client_key);
    // no key in ~/.ssh: only the agent can authenticate
    assert!(!env.home.join(".ssh/id_ed25519").exists());
    env.set_var("SSH_AUTH_SOCK", &agent.sock.display().to_string());
    let out = env.install(&gitops, &src, "web", &[]);
    assert_installed_nginx(&env, &gitops, &sshd, &src, &out);
    flux_dry_run(&gitops);

    // Without the agent (and without a key file) the same fetch fails cleanly.
    let env2 = Env::new();
    let (gitops2, src2) = ssh_setup(&env2, &sshd, true);
    let before = snapshot(&gitops2);
    let out = env2.install(&gitops2, &src2, "web", &[]);
    assert_error(&out, 1);
    assert!(
        line_starting(&stderr(&out), "error: ").is_some_and(|l| l.contains("127.0.0.1")),
        "{}",
        describe(&out)
    );
    assert!(
        line_starting(&stderr(&out), "hint: ").is_some(),
        "{}",
        describe(&out)
    );
    assert_unchanged(&before, &snapshot(&gitops2));
}

#[test]
fn ssh_key_file_in_home_authenticates_without_an_agent() {
    if !sshd_available("ssh_key_file_in_home_authenticates_without_an_agent") {
        return;
    }
    let env = Env::new();
    let sshd = Sshd::start(&env.path("sshd"));
    let (gitops, src) = ssh_setup(&env, &sshd, true);
    let key = env.home.join(".ssh/id_ed25519");
    std::fs::copy(&sshd.client_key, &key).unwrap();
    std::fs::copy(
        sshd.client_key.with_extension("pub"),
        key.with_extension("pub"),
    )
    .unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = env.install(&gitops, &src, "web", &[]);
    assert_installed_nginx(&env, &gitops, &sshd, &src, &out);
}

#[test]
fn ssh_key_file_without_its_public_half_authenticates() {
    // Users often keep only the private key; the public key is derived from it.
    if !sshd_available("ssh_key_file_without_its_public_half_authenticates") {
        return;
    }
    let env = Env::new();
    let sshd = Sshd::start(&env.path("sshd"));
    let (gitops, src) = ssh_setup(&env, &sshd, true);
    let key = env.home.join(".ssh/id_ed25519");
    std::fs::copy(&sshd.client_key, &key).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = env.install(&gitops, &src, "web", &[]);
    assert_installed_nginx(&env, &gitops, &sshd, &src, &out);
}

#[test]
fn each_default_key_file_is_tried_until_the_server_accepts_one() {
    // ~/.ssh/id_ed25519 is a key the server does not know (an old key, or one
    // for another forge); ~/.ssh/id_ecdsa is the authorized one. ssh tries both.
    if !sshd_available("each_default_key_file_is_tried_until_the_server_accepts_one") {
        return;
    }
    let env = Env::new();
    let sshd = Sshd::start(&env.path("sshd"));
    let (gitops, src) = ssh_setup(&env, &sshd, true);
    let ssh_dir = env.home.join(".ssh");
    keygen_type(&ssh_dir.join("id_ed25519"), "ed25519", "not-authorized");
    keygen_type(&ssh_dir.join("id_ecdsa"), "ecdsa", "pctl-test-ecdsa");
    sshd.authorize(&ssh_dir.join("id_ecdsa.pub"));
    let out = env.install(&gitops, &src, "web", &[]);
    assert_installed_nginx(&env, &gitops, &sshd, &src, &out);
}

#[test]
fn an_unknown_ssh_host_key_is_refused() {
    if !sshd_available("an_unknown_ssh_host_key_is_refused") {
        return;
    }
    let env = Env::new();
    let sshd = Sshd::start(&env.path("sshd"));
    // the key would be accepted, but the host is not in ~/.ssh/known_hosts
    let (gitops, src) = ssh_setup(&env, &sshd, false);
    let agent = Agent::start(&env.path("agent.sock"), &sshd.client_key);
    env.set_var("SSH_AUTH_SOCK", &agent.sock.display().to_string());
    let before = snapshot(&gitops);
    let out = env.install(&gitops, &src, "web", &[]);
    assert_error(&out, 1);
    assert_stderr_mentions_any(&out, &["hostkey", "host key", "known_hosts"]);
    assert_unchanged(&before, &snapshot(&gitops));
    assert!(
        !sshd.log_text().contains("Accepted publickey"),
        "pctl logged in to a host it does not know:\n{}",
        sshd.log_text()
    );
}

// --- progress and colour on a terminal -----------------------------------------

/// A `platform` server whose pack data trickles in: 1 KiB every 60 ms (the pack
/// is about 20 KiB, so a fetch takes more than a second).
fn slow_server(env: &Env) -> Server {
    http_backend_with(
        &serve(env, &["platform"]),
        HttpOptions {
            basic_auth: None,
            throttle: Some(Throttle {
                chunk: 1024,
                delay: Duration::from_millis(60),
            }),
        },
    )
}

/// `ESC [ params m` (a colour or style) directly before some occurrence of
/// `word`.
fn coloured(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = &text[..i];
        before.ends_with('m')
            && before.rfind("\x1b[").is_some_and(|e| {
                before[e + 2..before.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ';')
            })
    })
}

/// Any `ESC [ params m` sequence at all.
fn has_sgr(text: &str) -> bool {
    text.match_indices("\x1b[").any(|(i, _)| {
        let rest = &text[i + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(rest.len());
        rest[end..].starts_with('m')
    })
}

#[test]
fn a_slow_fetch_shows_progress_on_a_terminal() {
    let env = Env::new();
    let server = slow_server(&env);
    let gitops = env.init_gitops("gitops");
    env.set_var("TERM", "xterm-256color");
    let args = [
        "install".to_string(),
        monitoring(&server.url("platform.git")),
        "--name".into(),
        "mon".into(),
        "--repo".into(),
        gitops.display().to_string(),
    ];
    let started = Instant::now();
    let out = env.pctl_tty(&args);
    let took = started.elapsed();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "pctl under a terminal failed:\n{text}"
    );
    assert!(
        took >= Duration::from_secs(1),
        "the throttled fetch took only {took:?}"
    );
    assert_eq!(
        head_subject(&gitops),
        "pctl: install monitoring 0.2.0 as mon"
    );
    assert!(
        text.contains("fetching platform.git"),
        "no progress on the terminal during a {took:?} fetch:\n{text:?}"
    );
}

#[test]
fn no_progress_and_no_escape_codes_without_a_terminal() {
    let env = Env::new();
    let server = slow_server(&env);
    let gitops = env.init_gitops("gitops");
    // not a terminal, and colour not disabled by NO_COLOR either
    env.unset_var("NO_COLOR");
    env.set_var("TERM", "xterm-256color");
    let out = env.install(
        &gitops,
        &monitoring(&server.url("platform.git")),
        "mon",
        &[],
    );
    assert_installed_monitoring(&gitops, &out);
    let err = stderr(&out);
    assert!(
        !err.contains("fetching") && !err.contains("objects"),
        "progress shown although stderr is not a terminal:\n{err}"
    );
    assert!(!err.contains('\x1b'), "escape codes in stderr:\n{err:?}");
    assert!(!stdout(&out).contains('\x1b'));

    // warnings and errors stay plain too
    let legacy = shared_repo("platform").source("legacy-nginx", None);
    let out = env.install(&gitops, &legacy, "legacy", &[]);
    assert_success(&out);
    assert!(stderr(&out).contains("warning:"), "{}", describe(&out));
    let out = env.install(&gitops, &legacy, "legacy", &[]);
    assert_error(&out, 1);
    assert!(
        !stderr(&out).contains('\x1b'),
        "escape codes without a terminal:\n{:?}",
        stderr(&out)
    );
}

#[test]
fn warnings_and_errors_are_coloured_on_a_terminal_unless_no_color_is_set() {
    let platform = shared_repo("platform");
    let legacy = platform.source("legacy-nginx", None);
    for no_color in [false, true] {
        let env = Env::new();
        let gitops = env.init_gitops("gitops");
        env.set_var("TERM", "xterm-256color");
        if no_color {
            env.set_var("NO_COLOR", "1");
        } else {
            env.unset_var("NO_COLOR");
        }
        let repo = gitops.display().to_string();
        // a legacy profile installs with a warning
        let ok = env.pctl_tty(["install", &legacy, "--name", "legacy", "--repo", &repo]);
        let ok_text = stdout(&ok);
        assert!(ok.status.success(), "{ok_text}");
        assert!(ok_text.contains("warning:"), "no warning:\n{ok_text:?}");
        // the same name again is an error (exit 1) with a hint
        let bad = env.pctl_tty(["install", &legacy, "--name", "legacy", "--repo", &repo]);
        let bad_text = stdout(&bad);
        assert_eq!(bad.status.code(), Some(1), "{bad_text:?}");
        assert!(bad_text.contains("error:"), "no error:\n{bad_text:?}");
        if no_color {
            for (text, word) in [(&ok_text, "warning:"), (&bad_text, "error:")] {
                assert!(
                    !coloured(text, word) && !has_sgr(text),
                    "colour with NO_COLOR=1:\n{text:?}"
                );
            }
        } else {
            assert!(
                coloured(&ok_text, "warning:"),
                "`warning:` is not coloured on a terminal:\n{ok_text:?}"
            );
            assert!(
                coloured(&bad_text, "error:"),
                "`error:` is not coloured on a terminal:\n{bad_text:?}"
            );
        }
    }
}
