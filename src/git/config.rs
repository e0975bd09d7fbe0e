//! The user's Git configuration and how pctl reaches a remote with it: the files Git
//! reads, `insteadOf` rewrites, the CA bundle loaded on first HTTPS use, the
//! credential and progress callbacks of a fetch or push, the cache directory, and
//! URLs shown without their secrets.
use super::credentials;
use crate::error::user;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The user's Git configuration: system (unless `GIT_CONFIG_NOSYSTEM`), global
/// (`GIT_CONFIG_GLOBAL`, else `~/.gitconfig` and `$XDG_CONFIG_HOME/git/config`).
pub fn user_config() -> Result<git2::Config> {
    let mut cfg = git2::Config::new().context("cannot create a Git configuration")?;
    let nosystem =
        std::env::var_os("GIT_CONFIG_NOSYSTEM").is_some_and(|v| !v.is_empty() && v != "0");
    if !nosystem && let Ok(p) = git2::Config::find_system() {
        let _ = cfg.add_file(&p, git2::ConfigLevel::System, false);
    }
    match std::env::var_os("GIT_CONFIG_GLOBAL") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_file() {
                cfg.add_file(&p, git2::ConfigLevel::Global, false)
                    .with_context(|| format!("cannot read Git configuration {}", p.display()))?;
            }
        }
        _ => {
            if let Ok(p) = git2::Config::find_xdg() {
                let _ = cfg.add_file(&p, git2::ConfigLevel::XDG, false);
            }
            if let Ok(p) = git2::Config::find_global() {
                let _ = cfg.add_file(&p, git2::ConfigLevel::Global, false);
            }
        }
    }
    Ok(cfg)
}

/// The CA bundle OpenSSL would have read at libgit2's start, loaded when an
/// `https://` URL is first used (see [`start_libgit2`]).
static TLS_BUNDLE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
static TLS_LOADED: std::sync::Once = std::sync::Once::new();

/// Start libgit2 without having OpenSSL parse the system's whole CA bundle, which
/// libgit2 does eagerly and which costs more than half the instructions of a local
/// install; the bundle is loaded when an `https://` URL is first used. Call first
/// thing in `main`, before any other thread exists.
///
/// `tls_on_first_use`: the binary is linked so that libgit2 creates its TLS context
/// (and reads the CA bundle with it) at the first TLS connection, not at its start
/// (`src/tls_on_first_use.rs`); then there is nothing to leave out here.
pub fn start_libgit2(tls_on_first_use: bool) {
    #[cfg(not(all(unix, not(target_os = "macos"), not(target_os = "ios"))))]
    let _ = tls_on_first_use;
    #[cfg(all(unix, not(target_os = "macos"), not(target_os = "ios")))]
    if !tls_on_first_use {
        let previous = std::env::var_os("SSL_CERT_FILE");
        let bundle = previous
            .as_ref()
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .or_else(|| openssl_probe::probe().cert_file);
        if bundle.is_some() {
            // SAFETY: called before any other thread exists (see above).
            unsafe { std::env::set_var("SSL_CERT_FILE", "/dev/null") };
        }
        // Any call initialises libgit2 and OpenSSL, which reads SSL_CERT_FILE now.
        let _ = git2::Config::new();
        // SAFETY: as above; children (credential helpers) see the user's setting.
        unsafe {
            match previous {
                Some(v) => std::env::set_var("SSL_CERT_FILE", v),
                None => std::env::remove_var("SSL_CERT_FILE"),
            }
        }
        let _ = TLS_BUNDLE.set(bundle);
    }
    // Trees up to 1 MiB stay in libgit2's object cache (the default, 4 KiB, leaves
    // out the directory listing hundreds of installations, which every path lookup
    // under it then inflates again); objects read are not re-hashed on every read,
    // as the git CLI does not (`git fsck` checks them).
    // SAFETY: sets a libgit2 global option before any other thread exists.
    let _ = unsafe { git2::opts::set_cache_object_limit(git2::ObjectType::Tree, 1 << 20) };
    git2::opts::strict_hash_verification(false);
}

/// Load the CA bundle [`start_libgit2`] left out, before the first HTTPS connection.
fn load_tls_certificates(url: &str) {
    if !url.starts_with("https://") {
        return;
    }
    TLS_LOADED.call_once(|| {
        if let Some(Some(file)) = TLS_BUNDLE.get() {
            // SAFETY: sets a libgit2 global option; pctl's Git work is single-threaded.
            if let Err(e) = unsafe { git2::opts::set_ssl_cert_file(file.as_path()) } {
                super::change::keep(super::Notice::Warning(format!(
                    "cannot load the CA certificates {}: {}",
                    file.display(),
                    e.message()
                )));
            }
        }
    });
}

/// Apply `url.<base>.insteadOf` (or `pushInsteadOf` when `push`) rewrites: the longest
/// matching prefix wins, as in Git.
pub fn rewrite_url(cfg: &git2::Config, url: &str, push: bool) -> String {
    let mut best: Option<(usize, String)> = None;
    let key = if push { "pushinsteadof" } else { "insteadof" };
    if let Ok(mut entries) = cfg.entries(Some(r"^url\..*\.(push)?insteadof$")) {
        while let Some(Ok(e)) = entries.next() {
            let (Ok(name), Ok(prefix)) = (e.name(), e.value()) else {
                continue;
            };
            let lname = name.to_ascii_lowercase();
            if !lname.ends_with(&format!(".{key}")) {
                continue;
            }
            let base = &name["url.".len()..name.len() - key.len() - 1];
            if url.starts_with(prefix) && best.as_ref().is_none_or(|(l, _)| prefix.len() > *l) {
                best = Some((prefix.len(), format!("{base}{}", &url[prefix.len()..])));
            }
        }
    }
    match best {
        Some((_, u)) => u,
        None if push => rewrite_url(cfg, url, false),
        None => url.to_string(),
    }
}

/// Callbacks for a fetch or push: credentials from the SSH agent and keys, token
/// variables (only where [`credentials::check`] allows them) and credential helpers;
/// progress on a terminal.
pub(super) fn callbacks<'a>(
    cfg: &'a git2::Config,
    url: &'a str,
    pb: Option<&'a indicatif::ProgressBar>,
) -> git2::RemoteCallbacks<'a> {
    load_tls_certificates(url);
    credentials::clear_refusal();
    let mut cb = git2::RemoteCallbacks::new();
    let mut attempts = 0u32;
    let mut ssh_tries = 0usize;
    cb.credentials(move |u, url_user, allowed| {
        attempts += 1;
        if attempts > 6 {
            return Err(git2::Error::from_str("authentication failed"));
        }
        let username = url_user.unwrap_or("git");
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            // The agent (all its keys), then each default key file in turn, as ssh does.
            ssh_tries += 1;
            if ssh_tries == 1 {
                return git2::Cred::ssh_key_from_agent(username);
            }
            let home = dirs::home_dir().unwrap_or_default();
            let key = ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|k| home.join(".ssh").join(k))
                .filter(|p| p.is_file())
                .nth(ssh_tries - 2);
            return match key {
                Some(p) => git2::Cred::ssh_key(username, None, &p, None),
                None => Err(git2::Error::from_str(
                    "no SSH key was accepted (tried the SSH agent and ~/.ssh/id_ed25519, id_ecdsa, id_rsa)",
                )),
            };
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            // `u` is the URL Git is connected to (after insteadOf and redirects): a
            // token goes there only over HTTPS and to a host the user trusts.
            if let Some((var, token)) = credentials::token_from_env()
                && attempts <= 2
            {
                match credentials::check(u, var) {
                    Ok(()) => {
                        let user = if var == "GITLAB_TOKEN" {
                            "oauth2"
                        } else {
                            "x-access-token"
                        };
                        return git2::Cred::userpass_plaintext(user, &token);
                    }
                    Err(refusal) => credentials::refuse(refusal),
                }
            }
            // Only a username from the URL: the helper answers with the username
            // it stored (a made-up "git" would hide every stored credential).
            return git2::Cred::credential_helper(cfg, u, url_user.filter(|s| !s.is_empty()));
        }
        if allowed.contains(git2::CredentialType::USERNAME) {
            return git2::Cred::username(username);
        }
        git2::Cred::default()
    });
    cb.certificate_check(|_, _| Ok(git2::CertificateCheckStatus::CertificatePassthrough));
    if let Some(pb) = pb {
        cb.transfer_progress(move |p| {
            pb.set_length(p.total_objects() as u64);
            pb.set_position(p.received_objects() as u64);
            true
        });
    }
    cb
}

pub(super) fn short_url(url: &str) -> String {
    url.rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(url)
        .to_string()
}

/// A directory name for a URL in the cache: readable part plus a hash.
pub(super) fn cache_key(url: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(url.as_bytes());
    let hex: String = h.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let readable: String = short_url(url)
        .trim_end_matches(".git")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("{readable}-{hex}")
}

/// The pctl cache directory: `$XDG_CACHE_HOME/pctl` (or the platform equivalent).
pub fn cache_dir() -> Result<PathBuf> {
    let base = dirs::cache_dir()
        .ok_or_else(|| user("cannot find the user cache directory", "set XDG_CACHE_HOME"))?;
    Ok(base.join("pctl"))
}

/// A URL for messages: any password or token in it (`https://user:TOKEN@host/...`)
/// replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_insteadof_wins_and_push_falls_back_to_fetch() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("gitconfig");
        std::fs::write(
            &file,
            "[url \"https://mirror/\"]\n\tinsteadOf = gh:\n\
             [url \"https://mirror/org/\"]\n\tinsteadOf = gh:org/\n\
             [url \"ssh://push/\"]\n\tpushInsteadOf = gh:push/\n",
        )
        .unwrap();
        let cfg = git2::Config::open(&file).unwrap();
        assert_eq!(
            rewrite_url(&cfg, "gh:org/x.git", false),
            "https://mirror/org/x.git"
        );
        assert_eq!(rewrite_url(&cfg, "gh:y.git", false), "https://mirror/y.git");
        assert_eq!(rewrite_url(&cfg, "gh:push/z.git", true), "ssh://push/z.git");
        assert_eq!(rewrite_url(&cfg, "gh:y.git", true), "https://mirror/y.git");
        assert_eq!(
            rewrite_url(&cfg, "https://other/a", false),
            "https://other/a"
        );
    }

    #[test]
    fn secrets_in_urls_are_hidden() {
        assert_eq!(
            redact_url("https://u:TOKEN@host/r.git"),
            "https://u:***@host/r.git"
        );
        assert_eq!(redact_url("https://u@host/r.git"), "https://u@host/r.git");
        assert_eq!(redact_url("git@host:r.git"), "git@host:r.git");
        assert!(cache_key("https://host/org/my repo.git").starts_with("my-repo-"));
    }
}
