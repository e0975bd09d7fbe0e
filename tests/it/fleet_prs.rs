//! Scheduled upgrades as pull requests (docs/fleets.md#upgrades-as-pull-requests):
//! the pctl command line of each scheduled job in `examples/ci/`, taken from the
//! example file itself, run against a fleet GitOps repository served by `git daemon`
//! and the forge contract server (tests/it/common/forge.rs). One pull request per
//! group; a second run writes nothing; a new upstream version updates the same pull
//! requests; a closed one is not opened again for the same versions, and a newer
//! version opens a new one. The token never shows anywhere.
use crate::common::forge::{Forge, ForgeServer, Pr};
use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The examples' directory.
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci")
}

/// The one line starting with `pctl ` among the `run:` of the steps of a GitHub
/// Actions workflow or the `script:` of the jobs of a GitLab CI file.
fn pctl_line(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    let mut lines = Vec::new();
    let mut take = |v: &Value| {
        let all: Vec<&str> = match v {
            Value::String(s) => s.lines().collect(),
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        lines.extend(
            all.into_iter()
                .map(str::trim)
                .filter(|l| l.starts_with("pctl "))
                .map(str::to_string),
        );
    };
    for job in doc
        .get("jobs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for step in job.1["steps"].as_array().into_iter().flatten() {
            take(&step["run"]);
        }
    }
    for (_, job) in doc.as_object().unwrap() {
        take(&job["script"]);
    }
    assert_eq!(lines.len(), 1, "{}: {lines:?}", file.display());
    lines[0]
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

struct World {
    env: Env,
    upstream: TempRepo,
    /// The tag object of nginx/v1.1.0, hidden until [`World::publish`].
    hidden: String,
    bare: PathBuf,
    local: PathBuf,
    forge: ForgeServer,
    token: String,
    _git: Server,
}

/// A fleet (staging, production) with nginx 1.0.0 as `web` in both and as `edge` in
/// production, each asking for ^1.0, while the upstream shows 1.0.0 only (1.3.0 is
/// beta); pushed to
/// `git daemon`, cloned, with a forge of `kind` for `org/gitops`.
fn world(kind: Forge) -> World {
    let env = Env::new();
    let upstream = build_repo("platform");
    let hidden = upstream.git(&["rev-parse", "refs/tags/nginx/v1.1.0"]);
    upstream.git(&["tag", "-d", "nginx/v1.1.0"]);
    let seed = env.path("seed");
    let out = env.pctl([
        "init",
        seed.to_str().unwrap(),
        "--cluster",
        "staging,production",
    ]);
    assert_success(&out);
    let src = upstream.source("nginx", Some("^1.0"));
    for (name, cluster, ns) in [
        ("web", "staging", "web"),
        ("web", "production", "web"),
        ("edge", "production", "edge"),
    ] {
        let out = env.install(
            &seed,
            &src,
            name,
            &["--cluster", cluster, "--namespace", ns],
        );
        assert_success(&out);
    }
    let root = env.path("served");
    let bare = bare_copy(&seed, &root.join("org"), "gitops");
    let server = git_daemon(&root);
    let local = env.path("gitops");
    git(
        &env.root,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            local.to_str().unwrap(),
        ],
    );
    git(
        &local,
        &["remote", "set-url", "origin", &server.url("org/gitops.git")],
    );
    let token = canary("ForgeToken");
    let forge = ForgeServer::start(kind, "org/gitops", &token, Some(&bare));
    env.set_var("PCTL_FORGE", kind.env_name());
    env.set_var("PCTL_FORGE_API_URL", &forge.api_url());
    env.set_var(kind.token_var(), &token);
    World {
        env,
        upstream,
        hidden,
        bare,
        local,
        forge,
        token,
        _git: server,
    }
}

impl World {
    /// Publishes nginx 1.1.0 again.
    fn publish(&self) {
        self.upstream
            .git(&["update-ref", "refs/tags/nginx/v1.1.0", &self.hidden]);
    }

    /// A new stable version upstream (the commit of 1.1.0 under another tag).
    fn release(&self, version: &str) {
        self.upstream.git(&[
            "tag",
            "-a",
            &format!("nginx/v{version}"),
            "-m",
            &format!("nginx {version}"),
            "nginx/v1.1.0^{commit}",
        ]);
    }

    /// Runs the example's command line in the clone, as the CI job does.
    fn run(&self, args: &[String]) -> Output {
        let out = self.env.pctl_in(&self.local, args);
        assert!(
            !stdout(&out).contains(&self.token) && !stderr(&out).contains(&self.token),
            "the token appears in pctl's output\n{}",
            describe(&out)
        );
        out
    }

    /// The summary printed by `-o json`: (group, branch, action) sorted.
    fn summary(&self, out: &Output) -> (Value, Vec<(String, String, String)>) {
        assert_success(out);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: not JSON\n{}", describe(out)));
        let mut rows: Vec<(String, String, String)> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["group"].as_str().unwrap().to_string(),
                    g["branch"].as_str().unwrap().to_string(),
                    g["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        rows.sort();
        (v, rows)
    }

    fn remote_refs(&self) -> String {
        git(
            &self.bare,
            &[
                "--git-dir",
                self.bare.to_str().unwrap(),
                "for-each-ref",
                "--format=%(refname) %(objectname)",
            ],
        )
    }

    /// The token is in no file under the sandbox and in no Git object of the clone or
    /// the served repository.
    fn assert_token_nowhere(&self) {
        for (path, _) in walk(&self.env.root) {
            let full = self.env.root.join(&path);
            if let Ok(bytes) = std::fs::read(&full) {
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(&self.token),
                    "the token is in {}",
                    full.display()
                );
            }
        }
        for repo in [&self.bare, &self.local.join(".git")] {
            let mut cmd = std::process::Command::new("git");
            cmd.args(["--git-dir", repo.to_str().unwrap()]).args([
                "cat-file",
                "--batch-all-objects",
                "--batch",
            ]);
            let out = cmd.output().unwrap();
            assert!(out.status.success());
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(&self.token),
                "the token is in a Git object of {}",
                repo.display()
            );
        }
    }
}

fn open(prs: &[Pr]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = prs
        .iter()
        .filter(|p| p.open)
        .map(|p| (p.head.clone(), p.number))
        .collect();
    v.sort();
    v
}

fn rows(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// Only reads since request `from`: no API write.
#[track_caller]
fn assert_only_reads(w: &World, from: usize) {
    let writes: Vec<String> = w.forge.requests()[from..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| r.line())
        .collect();
    assert!(writes.is_empty(), "API writes: {writes:?}");
}

#[test]
fn github_actions_example_opens_one_pull_request_per_cluster_and_keeps_them() {
    let args = pctl_line(&examples().join("github-actions/pctl-upgrades.yml"));
    assert_eq!(
        args.join(" "),
        "upgrade --all --all-clusters --create-pr --group-by cluster --yes -o json"
    );
    let w = world(Forge::GitHub);
    w.publish();
    let main_before = git(&w.local, &["rev-parse", "HEAD"]);

    // First run: one pull request per cluster.
    let out = w.run(&args);
    let (v, got) = w.summary(&out);
    assert_eq!(
        got,
        rows(&[
            (
                "cluster-production",
                "pctl/upgrade/cluster-production",
                "opened"
            ),
            ("cluster-staging", "pctl/upgrade/cluster-staging", "opened"),
        ]),
        "{v}"
    );
    assert_eq!(v["changed"], 2);
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 2, "{prs:?}");
    let first = open(&prs);
    let production = prs
        .iter()
        .find(|p| p.head == "pctl/upgrade/cluster-production")
        .unwrap();
    assert!(
        production
            .body
            .contains("<!-- pctl-upgrade: production/edge=1.1.0,production/web=1.1.0 -->"),
        "{}",
        production.body
    );
    assert_eq!(
        production.title,
        "pctl: upgrade 2 installations (cluster production)"
    );
    // The local repository is left as it was.
    assert_eq!(git(&w.local, &["rev-parse", "HEAD"]), main_before);
    assert!(
        w.remote_refs()
            .contains("refs/heads/pctl/upgrade/cluster-staging ")
    );

    // Second run, nothing new: no push, no API write, no new pull request.
    let refs = w.remote_refs();
    let seen = w.forge.requests().len();
    let out = w.run(&args);
    let (v, got) = w.summary(&out);
    assert_eq!(
        got,
        rows(&[
            (
                "cluster-production",
                "pctl/upgrade/cluster-production",
                "unchanged"
            ),
            (
                "cluster-staging",
                "pctl/upgrade/cluster-staging",
                "unchanged"
            ),
        ]),
        "{v}"
    );
    assert_eq!(v["changed"], 0);
    assert_eq!(w.remote_refs(), refs);
    assert_only_reads(&w, seen);
    assert_eq!(w.forge.prs(), prs);

    // A newer version upstream: the same pull requests are updated, the branches
    // rebuilt on main.
    w.release("1.1.1");
    let out = w.run(&args);
    let (v, got) = w.summary(&out);
    assert_eq!(
        got,
        rows(&[
            (
                "cluster-production",
                "pctl/upgrade/cluster-production",
                "updated"
            ),
            ("cluster-staging", "pctl/upgrade/cluster-staging", "updated"),
        ]),
        "{v}"
    );
    let prs = w.forge.prs();
    assert_eq!(open(&prs), first, "no other pull request was opened");
    assert!(prs.iter().all(|p| p.updates == 1), "{prs:?}");
    let staging = prs
        .iter()
        .find(|p| p.head == "pctl/upgrade/cluster-staging")
        .unwrap();
    assert!(
        staging
            .body
            .contains("<!-- pctl-upgrade: staging/web=1.1.1 -->"),
        "{}",
        staging.body
    );
    assert_eq!(staging.title, "pctl: upgrade staging.web 1.0.0 -> 1.1.1");
    let tip = git(
        &w.bare,
        &["rev-parse", "refs/heads/pctl/upgrade/cluster-staging"],
    );
    assert_eq!(
        git(&w.bare, &["rev-parse", &format!("{tip}~1")]),
        git(&w.bare, &["rev-parse", "refs/heads/main"]),
        "the branch is one commit on main"
    );

    // Closed for these versions: not opened again; with --detailed-exitcode, exit 0
    // as nothing was written.
    w.forge.close_pr(staging.number);
    let refs = w.remote_refs();
    let seen = w.forge.requests().len();
    let mut detailed = args.clone();
    detailed.push("--detailed-exitcode".into());
    let out = w.run(&detailed);
    let (v, got) = w.summary(&out);
    assert_eq!(
        got,
        rows(&[
            (
                "cluster-production",
                "pctl/upgrade/cluster-production",
                "unchanged"
            ),
            (
                "cluster-staging",
                "pctl/upgrade/cluster-staging",
                "skipped-closed"
            ),
        ]),
        "{v}"
    );
    assert_stderr_mentions(
        &out,
        &["was closed or merged with these versions; not opened again"],
    );
    assert_eq!(w.remote_refs(), refs);
    assert_only_reads(&w, seen);
    assert_eq!(w.forge.prs().len(), 2);

    // A version newer than the closed one opens a new pull request (exit 4 with
    // --detailed-exitcode: something was written).
    w.release("1.1.2");
    let out = w.run(&detailed);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions: Vec<&str> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["updated", "opened"], "{v}");
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 3, "{prs:?}");
    assert_eq!(open(&prs).len(), 2);
    w.assert_token_nowhere();
}

#[test]
fn gitlab_ci_example_opens_one_merge_request_per_installation() {
    let args = pctl_line(&examples().join("gitlab-ci/pctl-upgrades.gitlab-ci.yml"));
    assert_eq!(
        args.join(" "),
        "upgrade --all --all-clusters --create-pr --group-by installation --yes -o json"
    );
    let w = world(Forge::GitLab);
    w.publish();
    let out = w.run(&args);
    let (v, got) = w.summary(&out);
    assert_eq!(
        got,
        rows(&[
            ("production.edge", "pctl/upgrade/production.edge", "opened"),
            ("production.web", "pctl/upgrade/production.web", "opened"),
            ("staging.web", "pctl/upgrade/staging.web", "opened"),
        ]),
        "{v}"
    );
    let first = open(&w.forge.prs());
    assert_eq!(first.len(), 3);

    let refs = w.remote_refs();
    let seen = w.forge.requests().len();
    let out = w.run(&args);
    let (_, got) = w.summary(&out);
    assert!(got.iter().all(|(_, _, a)| a == "unchanged"), "{got:?}");
    assert_eq!(w.remote_refs(), refs);
    assert_only_reads(&w, seen);

    w.release("1.1.1");
    let out = w.run(&args);
    let (_, got) = w.summary(&out);
    assert!(got.iter().all(|(_, _, a)| a == "updated"), "{got:?}");
    assert_eq!(open(&w.forge.prs()), first);

    let edge = first
        .iter()
        .find(|(h, _)| h == "pctl/upgrade/production.edge")
        .unwrap()
        .1;
    // Merged (GitLab's state `merged`, not `closed`), and the clone not pulled
    // since: not opened again either.
    w.forge.merge_pr(edge);
    let seen = w.forge.requests().len();
    let out = w.run(&args);
    let (_, got) = w.summary(&out);
    assert_eq!(
        got,
        rows(&[
            (
                "production.edge",
                "pctl/upgrade/production.edge",
                "skipped-closed"
            ),
            ("production.web", "pctl/upgrade/production.web", "unchanged"),
            ("staging.web", "pctl/upgrade/staging.web", "unchanged"),
        ])
    );
    assert_only_reads(&w, seen);
    assert_eq!(w.forge.prs().len(), 3);
    w.assert_token_nowhere();
}

#[test]
fn group_by_profile_gathers_every_cluster_and_nothing_to_do_is_exit_0() {
    let w = world(Forge::Gitea);
    let args: Vec<String> = "upgrade --all --all-clusters --create-pr --group-by profile --yes -o json --detailed-exitcode"
        .split(' ')
        .map(str::to_string)
        .collect();
    // Nothing outdated: no group, no API call, exit 0.
    let out = w.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["groups"], serde_json::json!([]));
    assert!(w.forge.requests().is_empty());

    w.publish();
    // Without the token: refused before anything is pushed.
    w.env.remove_var("GITEA_TOKEN");
    let refs = w.remote_refs();
    let out = w.run(&args);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["GITEA_TOKEN"]);
    assert_eq!(w.remote_refs(), refs);
    assert!(w.forge.requests().is_empty());
    w.env.set_var("GITEA_TOKEN", &w.token);

    let out = w.run(&args);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let (_, got) = w.summary(&{
        let mut o = out.clone();
        o.status = std::process::ExitStatus::default();
        o
    });
    assert_eq!(
        got,
        rows(&[("profile-nginx", "pctl/upgrade/profile-nginx", "opened")])
    );
    let prs = w.forge.prs();
    assert_eq!(prs.len(), 1);
    assert!(
        prs[0].body.contains(
            "<!-- pctl-upgrade: production/edge=1.1.0,production/web=1.1.0,staging/web=1.1.0 -->"
        ),
        "{}",
        prs[0].body
    );
    // --group-by needs --create-pr.
    let out = w.run(&[
        "upgrade".into(),
        "--all".into(),
        "--group-by".into(),
        "cluster".into(),
    ]);
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["--create-pr"]);
}
