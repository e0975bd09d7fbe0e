//! `--create-pr` against what real forges do beyond the happy path (issue 16 item 7):
//! Gitea's page cap and its get-by-base/head endpoint, forks' pull requests from a
//! branch of the same name, redirects (a renamed repository, a forge that moved to
//! another host) and rate limits. The contract server (tests/it/common/forge.rs)
//! models each as the forge does; the token must reach only the forge's own host and
//! appear in no output (`World::pctl` checks the output).

use crate::common::forge::{Forge, ForgeServer};
use crate::common::*;
use crate::pr::{BRANCH, TITLE, TOKEN, Transport, world};

/// The request lines as `METHOD path?query -> status` (the query decides pages).
fn lines_with_query(forge: &ForgeServer) -> Vec<String> {
    forge
        .requests()
        .iter()
        .map(|r| {
            if r.raw_query.is_empty() {
                r.line()
            } else {
                format!("{} {}?{} -> {}", r.method, r.path, r.raw_query, r.status)
            }
        })
        .collect()
}

// --- Gitea's pages --------------------------------------------------------------

/// MAX_RESPONSE_ITEMS = 20 on a Gitea without the get-by-base/head endpoint: pctl's
/// pull request is on the third page of open ones (newest first), found through the
/// `Link` header and updated, not opened again (which Gitea refuses with 409).
#[test]
fn gitea_finds_its_pull_request_beyond_the_first_page() {
    let w = world(Forge::Gitea, Transport::Daemon);
    w.forge.gitea_before_1_22();
    w.forge.set_page_cap(20);
    assert_success(&w.install_pr(&[]));
    let ours = w.forge.prs()[0].number;
    for i in 0..45 {
        w.forge
            .seed_pr(&format!("feature-{i}"), "main", &format!("feature {i}"));
    }
    let before = w.forge.requests().len();
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("updated pull request #{ours}")),
        "{}",
        describe(&out)
    );
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 46, "a second pull request was opened");
    assert_eq!(prs[0].updates, 1);
    let lines = lines_with_query(&w.forge)[before..].to_vec();
    let gets: Vec<&String> = lines.iter().filter(|l| l.starts_with("GET")).collect();
    assert!(
        gets.len() >= 3 && gets.iter().any(|l| l.contains("page=3")),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("PATCH /api/v1/repos/org/gitops/pulls/{ours}")),
        "{lines:?}"
    );
}

/// A Gitea whose ROOT_URL is another host than its API's address gives `Link` URLs on
/// that host: pctl does not call them (the token would go along) and asks the API's
/// own host for the next page number instead.
#[test]
fn gitea_pages_on_another_root_url_are_asked_of_the_api_host() {
    let w = world(Forge::Gitea, Transport::Daemon);
    let elsewhere = ForgeServer::start(Forge::Gitea, "org/gitops", TOKEN, Some(&w.bare));
    w.forge.gitea_before_1_22();
    w.forge.set_page_cap(10);
    w.forge
        .set_root_url(&format!("http://localhost:{}", elsewhere.port));
    assert_success(&w.install_pr(&[]));
    let ours = w.forge.prs()[0].number;
    for i in 0..25 {
        w.forge.seed_pr(&format!("feature-{i}"), "main", "another");
    }
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("updated pull request #{ours}")),
        "{}",
        describe(&out)
    );
    assert!(
        lines_with_query(&w.forge)
            .iter()
            .any(|l| l.contains("page=3")),
        "{:?}",
        lines_with_query(&w.forge)
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the ROOT_URL host was called: {:?}",
        elsewhere.request_lines()
    );
}

/// Gitea ≥ 1.22: one `GET /pulls/{base}/{head}` finds the open pull request; when it
/// answers an older, closed one for the same branches, the list (all its pages) is
/// read instead.
#[test]
fn gitea_asks_by_base_and_head_and_falls_back_to_the_list() {
    let w = world(Forge::Gitea, Transport::Daemon);
    assert_success(&w.install_pr(&[]));
    let first = w.forge.prs()[0].number;
    let before = w.forge.requests().len();
    let out = w.install_pr(&[]);
    assert_success(&out);
    let lines = w.forge.request_lines()[before..].to_vec();
    assert_eq!(
        lines,
        [
            format!("GET /api/v1/repos/org/gitops/pulls/main/{BRANCH} -> 200"),
            format!("PATCH /api/v1/repos/org/gitops/pulls/{first} -> 201"),
        ],
    );

    // the first one is closed; a new one is opened, and the endpoint keeps answering
    // the closed one (the oldest)
    w.forge.close_pr(first);
    w.forge.set_page_cap(20);
    assert_success(&w.install_pr(&[]));
    let second = w.forge.prs().last().unwrap().number;
    assert_ne!(second, first);
    for i in 0..30 {
        w.forge.seed_pr(&format!("feature-{i}"), "main", "another");
    }
    let before = w.forge.requests().len();
    let out = w.install_pr(&[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains(&format!("updated pull request #{second}")),
        "{}",
        describe(&out)
    );
    let lines = lines_with_query(&w.forge)[before..].to_vec();
    assert!(lines[0].contains("/pulls/main/pctl/"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("page=2")), "{lines:?}");
    let prs = w.forge.prs();
    assert_eq!(prs.iter().filter(|p| p.head == BRANCH).count(), 2);
    assert_eq!(prs.iter().find(|p| p.number == first).unwrap().updates, 1);
}

// --- forks ------------------------------------------------------------------------

/// A fork's open pull request from a branch of the same name into the same base is
/// someone else's: pctl opens its own and leaves the fork's alone, then updates its
/// own on the next run.
#[test]
fn a_forks_pull_request_from_the_same_branch_is_left_alone() {
    for (kind, fork) in [
        // GitHub's head=OWNER:BRANCH filter shows a fork owned by the same account
        (Forge::GitHub, "org/gitops-fork"),
        (Forge::GitLab, "someone/gitops"),
        (Forge::Gitea, "someone/gitops"),
    ] {
        let w = world(kind, Transport::Daemon);
        let theirs = w
            .forge
            .seed_fork_pr(fork, BRANCH, "main", "the fork's work");
        for run in 0..2 {
            let out = w.install_pr(&[]);
            assert_success(&out);
            let prs = w.forge.prs();
            assert_eq!(prs.len(), 2, "{kind:?} run {run}: {prs:?}");
            let fork_pr = prs.iter().find(|p| p.number == theirs).unwrap();
            assert_eq!(
                (fork_pr.title.as_str(), fork_pr.updates),
                ("the fork's work", 0),
                "{kind:?}: pctl overwrote the fork's pull request"
            );
            let ours = prs.iter().find(|p| p.fork.is_none()).unwrap();
            assert_eq!((ours.title.as_str(), ours.updates), (TITLE, run));
            assert_eq!(stdout(&out).trim(), w.forge.web_url(ours.number));
        }
    }
}

// --- redirects ----------------------------------------------------------------------

/// GitHub answers a renamed repository's old path with 301 (GET) and 307 (POST,
/// PATCH) to `/repositories/{id}/…`; Gitea with 307 to the new path. pctl follows
/// them on the same host with the same method, body and token.
#[test]
fn a_renamed_repository_is_followed_with_the_token_on_the_same_host() {
    for (kind, moved) in [(Forge::GitHub, 301), (Forge::Gitea, 307)] {
        let mut w = world(kind, Transport::Daemon);
        w.forge = ForgeServer::start(kind, "org/gitops-renamed", TOKEN, Some(&w.bare));
        w.forge.renamed_from("org/gitops");
        w.env.set_var("PCTL_FORGE_API_URL", &w.forge.api_url());
        for run in 0..2 {
            let out = w.install_pr(&[]);
            assert_success(&out);
            let prs = w.forge.prs();
            assert_eq!(prs.len(), 1, "{kind:?} run {run}: {prs:?}");
            assert_eq!(prs[0].updates, run);
        }
        let reqs = w.forge.requests();
        let lines = w.forge.request_lines();
        assert!(
            lines[0].starts_with("GET ") && lines[0].ends_with(&format!("-> {moved}")),
            "{lines:?}"
        );
        let post = reqs.iter().position(|r| r.method == "POST").unwrap();
        assert_eq!(reqs[post].status, 307, "{lines:?}");
        assert_eq!(reqs[post + 1].method, "POST", "{lines:?}");
        assert_eq!(reqs[post + 1].status, 201, "{lines:?}");
        assert_eq!(reqs[post + 1].json()["title"], TITLE);
        assert!(lines.last().unwrap().starts_with("PATCH "), "{lines:?}");
        let auth = match kind {
            Forge::GitHub => format!("Bearer {TOKEN}"),
            _ => format!("token {TOKEN}"),
        };
        for r in &reqs {
            assert_eq!(
                r.header("authorization"),
                Some(auth.as_str()),
                "{}",
                r.line()
            );
        }
    }
}

/// A redirect to another host (the forge moved; a load balancer says so) is not
/// followed: GitLab's PRIVATE-TOKEN would go with it. The other host sees nothing.
#[test]
fn a_redirect_to_another_host_is_refused_and_the_token_not_sent_there() {
    for kind in [Forge::GitLab, Forge::GitHub] {
        let w = world(kind, Transport::Daemon);
        let elsewhere = ForgeServer::start(kind, "org/gitops", TOKEN, Some(&w.bare));
        // `localhost` is another host name than the API's 127.0.0.1
        w.forge
            .moved_to(&format!("http://localhost:{}", elsewhere.port));
        let out = w.install_pr(&[]);
        assert_error(&out, 1);
        assert_stderr_mentions(
            &out,
            &[
                "redirected GET",
                &format!("localhost:{}", elsewhere.port),
                &format!("did not send {}", kind.token_var()),
                "hint:",
            ],
        );
        assert!(
            elsewhere.requests().is_empty(),
            "{kind:?}: the other host was called: {:?}",
            elsewhere.request_lines()
        );
        assert_eq!(w.forge.requests().len(), 1, "{:?}", w.forge.request_lines());
        assert!(w.forge.prs().is_empty());
    }
}

// --- rate limits --------------------------------------------------------------------

/// A short `Retry-After` (GitHub's secondary limit, GitLab's 429) is waited out and
/// the request repeated.
#[test]
fn a_short_rate_limit_is_waited_out() {
    for (kind, limited) in [(Forge::GitHub, 403), (Forge::GitLab, 429)] {
        let w = world(kind, Transport::Daemon);
        w.forge.rate_limit_next(Some(1));
        let out = w.install_pr(&[]);
        assert_success(&out);
        let lines = w.forge.request_lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].ends_with(&format!("-> {limited}")), "{lines:?}");
        assert!(lines[1].starts_with("GET ") && lines[1].ends_with("-> 200"));
        assert_eq!(w.forge.prs().len(), 1);
    }
}

/// A long one (an exhausted hourly quota, a `Retry-After` of an hour, or a short one
/// that keeps coming) fails at once with when to retry, not with a hint about the
/// token's permissions.
#[test]
fn a_long_rate_limit_says_when_to_retry() {
    let cases: [(Forge, Vec<Option<u64>>, &str); 3] = [
        (Forge::GitHub, vec![None], "API rate limit exceeded"),
        (Forge::GitLab, vec![Some(3600)], "Retry later"),
        (Forge::Gitea, vec![Some(1); 3], "Too Many Requests"),
    ];
    for (kind, limits, quoted) in cases {
        let w = world(kind, Transport::Daemon);
        for l in &limits {
            w.forge.rate_limit_next(*l);
        }
        let out = w.install_pr(&[]);
        assert_error(&out, 1);
        let wait = if limits[0] == Some(1) {
            "retry in 1 second"
        } else {
            "retry in about 60 minutes"
        };
        assert_stderr_mentions(
            &out,
            &[
                &format!("is rate-limiting {}", kind.token_var()),
                quoted,
                wait,
                "running the same command again",
            ],
        );
        assert!(
            !stderr(&out).contains("may not do this"),
            "{}",
            describe(&out)
        );
        assert_eq!(w.forge.requests().len(), limits.len());
        assert!(w.forge.prs().is_empty());
    }
}
