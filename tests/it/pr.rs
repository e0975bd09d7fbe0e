//! `--create-pr` (docs/guide.md): the real binary commits on a branch of its own,
//! pushes it to a real Git server on 127.0.0.1 (`git daemon`, or smart HTTP with the
//! token as password) and opens or updates the pull request on a forge API server
//! that enforces GitHub's, GitLab's or Gitea's REST contract (tests/it/common/forge.rs).

use crate::common::forge::{Forge, ForgeServer};
use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A token distinctive enough that finding it anywhere is a leak.
pub(crate) const TOKEN: &str = "pctl-FORGE-TOKEN-3b9d0c7e51a2f468";
pub(crate) const BRANCH: &str = "pctl/install-ingress-1.1.0";
pub(crate) const TITLE: &str = "pctl: install nginx 1.1.0 as ingress";

#[derive(Clone, Copy)]
pub(crate) enum Transport {
    Daemon,
    /// Smart HTTP that wants the token as the Basic password.
    Http,
}

/// A served bare GitOps repository (`org/gitops`), a local clone of it whose `origin`
/// is the server's URL, and a forge API for `org/gitops`; the pctl environment has
/// PCTL_FORGE, PCTL_FORGE_API_URL and the forge's token variable set.
pub(crate) struct World {
    pub(crate) env: Env,
    pub(crate) bare: PathBuf,
    pub(crate) local: PathBuf,
    url: String,
    pub(crate) forge: ForgeServer,
    _git: Server,
}

pub(crate) fn world(kind: Forge, transport: Transport) -> World {
    let env = Env::new();
    let seed = env.init_gitops("seed");
    let root = env.path("served");
    let bare = bare_copy(&seed, &root.join("org"), "gitops");
    let (git_server, url) = match transport {
        Transport::Daemon => {
            let s = git_daemon(&root);
            let u = s.url("org/gitops.git");
            (s, u)
        }
        Transport::Http => {
            let s = http_backend_with(
                &root,
                HttpOptions {
                    basic_auth: Some(BasicAuth {
                        user: None,
                        password: TOKEN.into(),
                    }),
                    throttle: None,
                },
            );
            let u = s.url("org/gitops.git");
            (s, u)
        }
    };
    let local = env.path("gitops");
    git(
        &env.root,
        &[
            "clone",
            "-q",
            &bare.display().to_string(),
            &local.display().to_string(),
        ],
    );
    git(&local, &["remote", "set-url", "origin", &url]);
    let forge = ForgeServer::start(kind, "org/gitops", TOKEN, Some(&bare));
    env.set_var("PCTL_FORGE", kind.env_name());
    env.set_var("PCTL_FORGE_API_URL", &forge.api_url());
    env.set_var(kind.token_var(), TOKEN);
    World {
        env,
        bare,
        local,
        url,
        forge,
        _git: git_server,
    }
}

impl World {
    pub(crate) fn pctl(&self, args: &[&str]) -> Output {
        let out = self.env.pctl(args);
        assert_no_token(&out);
        out
    }

    /// `pctl install platform//nginx --name ingress --repo LOCAL --create-pr EXTRA`
    pub(crate) fn install_pr(&self, extra: &[&str]) -> Output {
        let src = shared_repo("platform").source("nginx", None);
        let local = self.local.display().to_string();
        let mut args = vec![
            "install",
            &src,
            "--name",
            "ingress",
            "--repo",
            &local,
            "--create-pr",
        ];
        args.extend_from_slice(extra);
        self.pctl(&args)
    }

    /// `refname objectname` of every ref of the served repository.
    pub(crate) fn remote_refs(&self) -> String {
        bare_git(
            &self.bare,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        )
    }

    fn rev(&self, rev: &str) -> String {
        bare_git(&self.bare, &["rev-parse", &format!("{rev}^{{commit}}")])
    }

    /// A commit on the served main branch made by someone else.
    fn advance_main(&self, file: &str) {
        let other = self.env.path(&format!("other-{file}"));
        git(
            &self.env.root,
            &[
                "clone",
                "-q",
                &self.bare.display().to_string(),
                &other.display().to_string(),
            ],
        );
        std::fs::write(other.join(file), "moved on\n").unwrap();
        git(&other, &["add", file]);
        git(&other, &["commit", "-q", "-m", &format!("add {file}")]);
        git(&other, &["push", "-q", "origin", "main"]);
    }
}

fn bare_git(bare: &Path, args: &[&str]) -> String {
    let mut full = vec!["--git-dir", bare.to_str().unwrap()];
    full.extend_from_slice(args);
    git(bare, &full)
}

#[track_caller]
fn assert_no_token(out: &Output) {
    assert!(
        !stdout(out).contains(TOKEN) && !stderr(out).contains(TOKEN),
        "the token appears in pctl's output\n{}",
        describe(out)
    );
}

/// The branch holds exactly one commit on top of `base` (a commit id), with `subject`.
#[track_caller]
fn assert_one_commit_on(w: &World, branch: &str, base: &str, subject: &str) {
    let tip = w.rev(&format!("refs/heads/{branch}"));
    assert_eq!(
        w.rev(&format!("{tip}~1")),
        base,
        "{branch} is not built on {base}"
    );
    assert_eq!(
        bare_git(&w.bare, &["log", "-1", "--format=%s", &tip]),
        subject
    );
}

/// Files changed by the tip of `branch`, from the served repository.
fn files_of(w: &World, branch: &str) -> Vec<String> {
    bare_git(
        &w.bare,
        &[
            "diff-tree",
            "--no-commit-id",
            "--name-only",
            "-r",
            &format!("refs/heads/{branch}"),
        ],
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Checks common to every forge after a first `install --create-pr`.
#[track_caller]
fn assert_first_pr(w: &World, out: &Output, before: &State, main_before: &str) {
    assert_success(out);
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 1, "{prs:?}");
    let pr = &prs[0];
    assert_eq!(
        stdout(out).trim(),
        w.forge.web_url(pr.number),
        "{}",
        describe(out)
    );
    assert!(stderr(out).contains("created"), "{}", describe(out));
    assert_eq!((pr.head.as_str(), pr.base.as_str()), (BRANCH, "main"));
    assert_eq!(pr.title, TITLE);
    // the changelog is the tag message of nginx/v1.1.0
    assert!(pr.body.contains("## Changelog"), "{}", pr.body);
    assert!(pr.body.contains("- ingress-nginx 4.10.1"), "{}", pr.body);
    assert!(
        pr.body
            .contains("PodDisruptionBudget for the default backend")
    );
    // the diff summary lists the files with their line counts
    assert!(pr.body.contains("## Changes"), "{}", pr.body);
    let record = format!("`{INSTALL_PATH}/ingress/profile-installation.yaml` | added |");
    assert!(pr.body.contains(&record), "{}", pr.body);
    let list = format!("`{INSTALL_PATH}/kustomization.yaml` | changed | 2 | 1 |");
    assert!(pr.body.contains(&list), "{}", pr.body);
    assert!(!pr.body.contains("## Conflicts"));
    // one commit on the remote's main, with the installation in it
    assert_one_commit_on(w, BRANCH, main_before, TITLE);
    let files = files_of(w, BRANCH);
    assert!(
        files
            .iter()
            .all(|f| f.starts_with(&format!("{INSTALL_PATH}/"))),
        "{files:?}"
    );
    assert!(files.contains(&format!("{INSTALL_PATH}/ingress/profile-installation.yaml")));
    // main on the remote did not move, and the local repository is exactly as it was
    assert_eq!(w.rev("refs/heads/main"), main_before);
    assert_unchanged(before, &snapshot(&w.local));
}

// --- GitHub ------------------------------------------------------------------

#[test]
fn github_install_opens_a_pull_request_and_a_second_run_updates_it() {
    let w = world(Forge::GitHub, Transport::Daemon);
    let before = snapshot(&w.local);
    let main = w.rev("refs/heads/main");
    let out = w.install_pr(&[]);
    assert_first_pr(&w, &out, &before, &main);
    assert!(
        stderr(&out).contains("created pull request #"),
        "{}",
        describe(&out)
    );

    // the contract: a lookup by head (owner:branch), then the creation
    let reqs = w.forge.requests();
    assert_eq!(reqs.len(), 2, "{:?}", w.forge.request_lines());
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("GET", "/api/v3/repos/org/gitops/pulls")
    );
    assert_eq!(
        reqs[0].param("head"),
        Some(format!("org:{BRANCH}").as_str())
    );
    assert_eq!(reqs[0].param("base"), Some("main"));
    assert_eq!(reqs[0].param("state"), Some("open"));
    assert_eq!((reqs[1].method.as_str(), reqs[1].status), ("POST", 201));
    let sent = reqs[1].json();
    assert_eq!(sent["head"], BRANCH);
    assert_eq!(sent["base"], "main");
    assert_eq!(sent["title"], TITLE);
    assert!(sent["body"].is_string());
    for r in &reqs {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert!(
            r.header("user-agent")
                .is_some_and(|u| u.starts_with("pctl/"))
        );
    }

    // the branch holds a valid installation
    let checkout = w.env.path("checkout");
    git(
        &w.env.root,
        &[
            "clone",
            "-q",
            "-b",
            BRANCH,
            w.bare.to_str().unwrap(),
            checkout.to_str().unwrap(),
        ],
    );
    check_installation(&checkout, "ingress");
    flux_dry_run(&checkout);

    // main moves on; the same command again rebuilds on it, force-updates the branch
    // and edits the same pull request
    w.advance_main("NOTES.md");
    let main2 = w.rev("refs/heads/main");
    let first_tip = w.rev(&format!("refs/heads/{BRANCH}"));
    let before = snapshot(&w.local);
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("updated pull request #"),
        "{}",
        describe(&out)
    );
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 1, "a second pull request was opened: {prs:?}");
    assert_eq!(prs[0].updates, 1);
    assert_eq!(stdout(&out).trim(), w.forge.web_url(prs[0].number));
    assert_one_commit_on(&w, BRANCH, &main2, TITLE);
    assert_ne!(w.rev(&format!("refs/heads/{BRANCH}")), first_tip);
    let lines = w.forge.request_lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(
        lines[3],
        format!(
            "PATCH /api/v3/repos/org/gitops/pulls/{} -> 200",
            prs[0].number
        )
    );
    assert_unchanged(&before, &snapshot(&w.local));
}

#[test]
fn a_missing_token_is_named_and_nothing_is_pushed() {
    for kind in [Forge::GitHub, Forge::GitLab, Forge::Gitea] {
        let w = world(kind, Transport::Daemon);
        w.env.remove_var(kind.token_var());
        let refs = w.remote_refs();
        let before = snapshot(&w.local);
        let out = w.install_pr(&[]);
        assert_error(&out, 1);
        assert_stderr_mentions(&out, &[kind.token_var(), "is not set"]);
        assert_eq!(w.remote_refs(), refs, "something was pushed");
        assert!(
            w.forge.requests().is_empty(),
            "{:?}",
            w.forge.request_lines()
        );
        assert!(stdout(&out).is_empty());
        assert_unchanged(&before, &snapshot(&w.local));
    }
}

#[test]
fn a_wrong_token_is_refused_by_the_forge_with_its_message() {
    let w = world(Forge::GitHub, Transport::Daemon);
    w.env.set_var("GITHUB_TOKEN", "not-the-token");
    let out = w.install_pr(&[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "401",
            "Bad credentials",
            &format!("GET {}/repos/org/gitops/pulls", w.forge.api_url()),
            "GITHUB_TOKEN",
        ],
    );
    assert!(w.forge.prs().is_empty());
}

#[test]
fn forge_errors_quote_the_forge_and_name_the_url() {
    let w = world(Forge::GitHub, Transport::Daemon);
    // someone else's pull request from the same branch is open, but the lookup
    // does not show it (as when the token cannot see it): GitHub refuses a second one
    w.forge.fail_next(
        "POST",
        422,
        serde_json::json!({"message": "Validation Failed", "errors": [
            {"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for org:{BRANCH}.")}
        ], "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422"}),
    );
    let out = w.install_pr(&[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "422",
            &format!("A pull request already exists for org:{BRANCH}."),
            &format!("POST {}/repos/org/gitops/pulls", w.forge.api_url()),
            "hint:",
        ],
    );
    assert!(stdout(&out).is_empty());

    // a token without the scope
    w.forge.fail_next(
        "GET",
        403,
        serde_json::json!({"message": "Resource not accessible by personal access token", "status": "403"}),
    );
    let out = w.install_pr(&[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "403",
            "Resource not accessible by personal access token",
            "hint:",
            "GITHUB_TOKEN needs",
        ],
    );
    assert!(w.forge.prs().is_empty());
}

#[test]
fn a_push_the_server_rejects_surfaces_the_rejection_and_opens_nothing() {
    let w = world(Forge::GitHub, Transport::Daemon);
    let hook = w.bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'protected: pctl branches need a review first' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let refs = w.remote_refs();
    let before = snapshot(&w.local);
    let out = w.install_pr(&[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "rejected",
            "pre-receive hook declined",
            "protected: pctl branches need a review first",
        ],
    );
    assert_eq!(w.remote_refs(), refs);
    assert!(
        w.forge.requests().is_empty(),
        "{:?}",
        w.forge.request_lines()
    );
    assert_unchanged(&before, &snapshot(&w.local));
}

#[test]
fn create_pr_conflicts_with_dry_run_and_no_commit() {
    let w = world(Forge::GitHub, Transport::Daemon);
    for flag in ["--dry-run", "--no-commit"] {
        let out = w.install_pr(&[flag]);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            describe(&out)
        );
    }
    let out = w.pctl(&["uninstall", "x", "--pr-base", "main"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--create-pr"), "{}", describe(&out));
    assert!(w.forge.requests().is_empty());
}

// --- GitLab ------------------------------------------------------------------

#[test]
fn gitlab_merge_request_over_smart_http_with_the_token() {
    let w = world(Forge::GitLab, Transport::Http);
    let before = snapshot(&w.local);
    let main = w.rev("refs/heads/main");
    let out = w.install_pr(&[]);
    assert_first_pr(&w, &out, &before, &main);
    assert!(
        stderr(&out).contains("created merge request !"),
        "{}",
        describe(&out)
    );
    let reqs = w.forge.requests();
    let lines = w.forge.request_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    // the project id is the URL-encoded path
    assert_eq!(reqs[0].path, "/api/v4/projects/org%2Fgitops/merge_requests");
    assert_eq!(reqs[0].param("source_branch"), Some(BRANCH));
    assert_eq!(reqs[0].param("target_branch"), Some("main"));
    assert_eq!(reqs[0].param("state"), Some("opened"));
    let sent = reqs[1].json();
    assert_eq!(
        (
            sent["source_branch"].as_str(),
            sent["target_branch"].as_str(),
            sent["title"].as_str()
        ),
        (Some(BRANCH), Some("main"), Some(TITLE))
    );
    assert!(
        sent["description"]
            .as_str()
            .is_some_and(|d| d.contains("## Changes"))
    );
    for r in &reqs {
        assert_eq!(r.header("private-token"), Some(TOKEN));
        assert!(r.header("authorization").is_none());
    }

    // again: the same merge request is edited (PUT)
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("updated merge request !"),
        "{}",
        describe(&out)
    );
    assert_eq!(w.forge.prs().len(), 1);
    let lines = w.forge.request_lines();
    assert!(
        lines[3].starts_with("PUT /api/v4/projects/org%2Fgitops/merge_requests/"),
        "{lines:?}"
    );
}

#[test]
fn gitlab_conflict_answer_is_quoted() {
    let w = world(Forge::GitLab, Transport::Daemon);
    // GitLab's duplicate rule is source project + source branch + target branch: an
    // open merge request from the branch into another target does not stand in the way
    w.forge
        .seed_pr(BRANCH, "release", "someone else's, into release");
    assert_success(&w.install_pr(&[]));
    assert_eq!(w.forge.prs().len(), 2, "{:?}", w.forge.prs());
    // pctl's own is open, but the lookup does not show it (as when the token cannot
    // see it): GitLab refuses a second one with 409, quoted
    w.forge.fail_next("GET", 200, serde_json::json!([]));
    let n = w.forge.prs()[1].number;
    let out = w.install_pr(&[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            "409",
            &format!("Another open merge request already exists for this source branch: !{n}"),
            "hint:",
        ],
    );
    assert_eq!(w.forge.prs().len(), 2);
}

// --- Gitea -------------------------------------------------------------------

#[test]
fn gitea_install_and_uninstall_open_pull_requests() {
    let w = world(Forge::Gitea, Transport::Daemon);
    let before = snapshot(&w.local);
    let main = w.rev("refs/heads/main");
    let out = w.install_pr(&[]);
    assert_first_pr(&w, &out, &before, &main);
    let reqs = w.forge.requests();
    // Gitea >= 1.22's get-by-base/head endpoint (404: none yet), then the list
    assert_eq!(
        reqs[0].line(),
        format!("GET /api/v1/repos/org/gitops/pulls/main/{BRANCH} -> 404")
    );
    assert_eq!(reqs[1].path, "/api/v1/repos/org/gitops/pulls");
    assert_eq!(reqs[1].param("state"), Some("open"));
    for r in &reqs {
        assert_eq!(
            r.header("authorization"),
            Some(format!("token {TOKEN}").as_str())
        );
    }
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("updated pull request #"),
        "{}",
        describe(&out)
    );
    assert_eq!(w.forge.prs().len(), 1);
    let lines = w.forge.request_lines();
    assert!(lines[3].ends_with("-> 200"), "{lines:?}");
    assert!(lines[4].starts_with("PATCH /api/v1/repos/org/gitops/pulls/"));

    // install for real and push, then uninstall through a pull request
    let local = w.local.display().to_string();
    let src = shared_repo("platform").source("nginx", None);
    assert_success(&w.pctl(&["install", &src, "--name", "ingress", "--repo", &local]));
    git(&w.local, &["push", "-q", "origin", "main"]);
    let main = w.rev("refs/heads/main");
    let before = snapshot(&w.local);
    let out = w.pctl(&["uninstall", "ingress", "--repo", &local, "--create-pr"]);
    assert_success(&out);
    let branch = "pctl/uninstall-ingress-1.1.0";
    assert_one_commit_on(&w, branch, &main, "pctl: uninstall ingress");
    let prs = w.forge.prs();
    let pr = prs
        .iter()
        .find(|p| p.head == branch)
        .expect("no uninstall PR");
    assert_eq!(stdout(&out).trim(), w.forge.web_url(pr.number));
    assert!(
        pr.body.contains(&format!(
            "`{INSTALL_PATH}/ingress/profile-installation.yaml` | removed |"
        )),
        "{}",
        pr.body
    );
    assert!(!pr.body.contains("## Changelog"));
    assert!(
        files_of(&w, branch)
            .iter()
            .all(|f| f.starts_with(&format!("{INSTALL_PATH}/")))
    );
    assert_unchanged(&before, &snapshot(&w.local));
    assert!(install_dir(&w.local, "ingress").exists());
}

#[test]
fn gitea_with_a_remote_repo_url_and_a_pr_base() {
    let w = world(Forge::Gitea, Transport::Daemon);
    // a release branch to target
    bare_git(&w.bare, &["branch", "release", "main"]);
    w.advance_main("NOTES.md");
    let release = w.rev("refs/heads/release");
    let src = shared_repo("platform").source("nginx", None);
    let out = w.pctl(&[
        "install",
        &src,
        "--name",
        "ingress",
        "--repo",
        &w.url,
        "--create-pr",
        "--pr-base",
        "release",
    ]);
    assert_success(&out);
    assert_one_commit_on(&w, BRANCH, &release, TITLE);
    let prs = w.forge.prs();
    assert_eq!((prs.len(), prs[0].base.as_str()), (1, "release"));
    // the remote's main was not touched
    assert_eq!(
        bare_git(&w.bare, &["log", "-1", "--format=%s", "main"]),
        "add NOTES.md"
    );
}

// --- detection -----------------------------------------------------------------

#[test]
fn the_forge_comes_from_the_config_and_an_unknown_one_is_an_error_naming_the_settings() {
    let w = world(Forge::Gitea, Transport::Daemon);
    w.env.remove_var("PCTL_FORGE");
    w.env.remove_var("PCTL_FORGE_API_URL");
    // 127.0.0.1 says nothing about the forge
    let refs = w.remote_refs();
    let out = w.install_pr(&[]);
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &["cannot tell which forge", "PCTL_FORGE", "forge.type"],
    );
    assert_eq!(w.remote_refs(), refs);

    // forge settings committed in .pctl/config.yaml
    let cfg = w.local.join(".pctl/config.yaml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "forge:\n  type: gitea\n  apiURL: {}\n",
        w.forge.api_url()
    ));
    std::fs::write(&cfg, text).unwrap();
    git(&w.local, &["commit", "-q", "-am", "forge settings"]);
    git(&w.local, &["push", "-q", "origin", "main"]);
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert_eq!(w.forge.prs().len(), 1);

    // the environment beats the configuration: pctl now speaks GitLab (and this
    // Gitea refuses it)
    w.env.set_var("PCTL_FORGE", "gitlab");
    w.env.set_var("GITLAB_TOKEN", TOKEN);
    let out = w.install_pr(&[]);
    assert_error(&out, 1);
    let last = w.forge.requests().pop().unwrap();
    assert_eq!(last.path, "/api/v1/projects/org%2Fgitops/merge_requests");
    assert_eq!(last.header("private-token"), Some(TOKEN));
    assert_stderr_mentions(&out, &["GitLab answered 401"]);
}

/// `upgrade --create-pr`: the merge (an edit kept, upstream's changes taken) goes on
/// `pctl/upgrade-NAME-VERSION` with the changelog between the versions in the body;
/// the local repository is untouched; a second run updates the same pull request; a
/// conflicting edit is committed with its markers, listed under Conflicts, exit 3.
#[test]
fn github_upgrade_and_sync_open_pull_requests_with_changelog_and_conflicts() {
    let w = world(Forge::GitHub, Transport::Daemon);
    let local = w.local.display().to_string();
    let src = shared_repo("platform").source("nginx", Some("~1.0"));
    assert_success(&w.pctl(&["install", &src, "--name", "ingress", "--repo", &local]));
    // An edit upstream does not touch (metrics off) and one it changes (replicas 2 -> 3).
    let release = install_dir(&w.local, "ingress").join("artifacts/controller/helm-release.yaml");
    let text = std::fs::read_to_string(&release).unwrap();
    std::fs::write(&release, text.replace("enabled: true", "enabled: false")).unwrap();
    git(&w.local, &["commit", "-qam", "metrics off"]);
    git(&w.local, &["push", "-q", "origin", "main"]);
    let main = w.rev("refs/heads/main");
    let before = snapshot(&w.local);

    let out = w.pctl(&[
        "upgrade",
        "ingress",
        "--to",
        "^1.0",
        "--repo",
        &local,
        "--create-pr",
    ]);
    assert_success(&out);
    let branch = "pctl/upgrade-ingress-1.1.0";
    assert_one_commit_on(&w, branch, &main, "pctl: upgrade ingress 1.0.0 -> 1.1.0");
    assert_unchanged(&before, &snapshot(&w.local));
    let prs = w.forge.prs();
    let pr = prs
        .iter()
        .find(|p| p.head == branch)
        .expect("no upgrade PR");
    assert_eq!(pr.base, "main");
    assert!(pr.body.contains("## Changelog"), "{}", pr.body);
    assert!(pr.body.contains("three controller replicas"), "{}", pr.body);
    assert!(!pr.body.contains("Conflicts"), "{}", pr.body);
    let merged = bare_git(
        &w.bare,
        &[
            "show",
            &format!("{branch}:{INSTALL_PATH}/ingress/artifacts/controller/helm-release.yaml"),
        ],
    );
    assert!(merged.contains("replicaCount: 3"), "{merged}");
    assert!(merged.contains("enabled: false"), "{merged}");
    assert!(merged.contains("version: \"4.10.1\""), "{merged}");

    // Again: the same branch and pull request.
    let out = w.pctl(&[
        "upgrade",
        "ingress",
        "--to",
        "^1.0",
        "--repo",
        &local,
        "--create-pr",
    ]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("updated pull request #"),
        "{}",
        describe(&out)
    );
    assert_eq!(w.forge.prs().len(), 1);

    // A conflicting edit: replicas changed here too.
    std::fs::write(
        &release,
        std::fs::read_to_string(&release)
            .unwrap()
            .replace("replicaCount: 2", "replicaCount: 5"),
    )
    .unwrap();
    git(&w.local, &["commit", "-qam", "five replicas"]);
    git(&w.local, &["push", "-q", "origin", "main"]);
    let out = w.pctl(&[
        "upgrade",
        "ingress",
        "--to",
        "^1.0",
        "--repo",
        &local,
        "--create-pr",
    ]);
    assert_exit(&out, 3);
    assert_stderr_mentions(&out, &["CONFLICT", "helm-release.yaml", "replicaCount"]);
    let pr = w
        .forge
        .prs()
        .into_iter()
        .find(|p| p.head == branch)
        .unwrap();
    assert!(pr.body.contains("Conflicts"), "{}", pr.body);
    assert!(
        pr.body.contains("spec.values.controller.replicaCount"),
        "{}",
        pr.body
    );
    let marked = bare_git(
        &w.bare,
        &[
            "show",
            &format!("{branch}:{INSTALL_PATH}/ingress/artifacts/controller/helm-release.yaml"),
        ],
    );
    assert!(marked.contains("<<<<<<< ours"), "{marked}");
    assert!(is_clean(&w.local));

    // sync with nothing to re-render opens nothing.
    let out = w.pctl(&["sync", "--repo", &local, "--create-pr"]);
    assert_success(&out);
    assert_stderr_mentions(&out, &["nothing to sync"]);
    assert_eq!(w.forge.prs().len(), 1);
}
