//! A fleet's life in one test (issue 16, "Done means"; docs/fleets.md): one install
//! into three clusters is one commit; one cluster's values are edited and synced;
//! staging is upgraded and promoted to production, where a local edit survives;
//! then the scheduled job's own command line (taken from
//! `examples/ci/github-actions/pctl-upgrades.yml`) runs twice against `git daemon`
//! and the forge contract server: one pull request per cluster, then none new.
//! `pctl check --all-clusters` is clean after every step.
use crate::common::forge::{Forge, ForgeServer};
use crate::common::*;
use serde_json::Value;
use std::path::Path;

const CLUSTERS: [&str; 3] = ["dev", "staging", "production"];

fn dir(cluster: &str) -> String {
    format!("clusters/{cluster}/profiles/web")
}

/// The `upgrade` fixture repository with only `webstack` 1.0.0 visible; the tags
/// of the later versions are kept aside for [`publish`].
fn upstream() -> (TempRepo, Vec<(String, String)>) {
    let repo = build_repo("upgrade");
    let mut hidden = Vec::new();
    for v in ["1.1.0", "1.2.0", "2.0.0", "2.1.0-rc.1"] {
        let tag = format!("webstack/v{v}");
        hidden.push((
            tag.clone(),
            repo.git(&["rev-parse", &format!("refs/tags/{tag}")]),
        ));
        repo.git(&["tag", "-d", &tag]);
    }
    (repo, hidden)
}

/// Publishes webstack `version` (its tag comes back).
fn publish(repo: &TempRepo, hidden: &[(String, String)], version: &str) {
    let tag = format!("webstack/v{version}");
    let (_, id) = hidden.iter().find(|(t, _)| *t == tag).unwrap();
    repo.git(&["update-ref", &format!("refs/tags/{tag}"), id]);
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

#[track_caller]
fn check_all(env: &Env, gitops: &Path) {
    let out = env.pctl(["check", "--all-clusters", "--repo", &arg(gitops)]);
    assert_success(&out);
}

fn record(gitops: &Path, cluster: &str) -> Value {
    yaml_file(&gitops.join(dir(cluster)).join("profile-installation.yaml"))
}

fn version(gitops: &Path, cluster: &str) -> String {
    record(gitops, cluster)["spec"]["source"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The rendered Deployment of `cluster`'s installation, wherever the record says its
/// bytes live (its own directory or a shared base).
fn deployment_text(gitops: &Path, cluster: &str) -> String {
    let own = gitops
        .join(dir(cluster))
        .join("artifacts/app/deployment.yaml");
    if own.is_file() {
        return std::fs::read_to_string(own).unwrap();
    }
    let rec = yaml_file(&gitops.join(dir(cluster)).join("profile-installation.yaml"));
    let path = rec["spec"]["bases"]["app"]["path"].as_str().unwrap();
    std::fs::read_to_string(gitops.join(path).join("deployment.yaml")).unwrap()
}

/// The `pctl` arguments of the GitHub Actions example's scheduled step.
fn scheduled_job() -> Vec<String> {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions/pctl-upgrades.yml");
    let text = std::fs::read_to_string(file).unwrap();
    let line = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("run: pctl "))
        .expect("the example runs pctl");
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn a_fleet_is_installed_tuned_promoted_and_kept_up_to_date_by_the_scheduled_job() {
    let env = Env::new();
    let (up, hidden) = upstream();
    let gitops = env.root.join("fleet");
    let g = arg(&gitops);
    assert_success(&env.pctl(["init", &g, "--cluster", &CLUSTERS.join(",")]));

    // One install into three clusters: one commit, one copy of what is identical.
    let commits = commit_count(&gitops);
    let out = env.install(
        &gitops,
        &up.source("webstack", Some("^1.0")),
        "web",
        &["--all-clusters"],
    );
    assert_success(&out);
    assert_eq!(commit_count(&gitops), commits + 1, "one commit");
    for c in CLUSTERS {
        assert_eq!(version(&gitops, c), "1.0.0", "{c}");
    }
    let copies = |name: &str| {
        git(&gitops, &["ls-files"])
            .lines()
            .filter(|l| l.ends_with(name))
            .count()
    };
    assert_eq!(copies("/service.yaml"), 1, "the Service is stored once");
    check_all(&env, &gitops);

    // Production's own values: only production changes.
    env.commit_file(
        &gitops,
        ".pctl/values/clusters/production.yaml",
        "webstack.log_level: error\n",
    );
    let before: Vec<String> = CLUSTERS
        .iter()
        .map(|c| deployment_text(&gitops, c))
        .collect();
    let out = env.pctl(["sync", "--cluster", "production", "--repo", &g]);
    assert_success(&out);
    for (i, c) in CLUSTERS.iter().enumerate() {
        let now = deployment_text(&gitops, c);
        if *c == "production" {
            assert_ne!(now, before[i], "production's log level");
        } else {
            assert_eq!(now, before[i], "{c} is untouched");
        }
    }
    check_all(&env, &gitops);

    // 1.1.0 comes out and staging tries it; production gets a local edit; promotion
    // brings production to staging's version and keeps the edit.
    publish(&up, &hidden, "1.1.0");
    let out = env.pctl(["upgrade", "web", "--cluster", "staging", "--repo", &g]);
    assert_success(&out);
    assert_eq!(version(&gitops, "staging"), "1.1.0");
    let prod = deployment_text(&gitops, "production");
    let from = "          image: ";
    assert!(prod.contains(from), "{prod}");
    let edited = prod.replacen(
        "      containers:\n",
        "      terminationGracePeriodSeconds: 45\n      containers:\n",
        1,
    );
    assert_ne!(edited, prod, "{prod}");
    let own = gitops
        .join(dir("production"))
        .join("artifacts/app/deployment.yaml");
    assert!(
        own.is_file(),
        "production holds its own copy after its values changed"
    );
    std::fs::write(&own, &edited).unwrap();
    env.git(
        &gitops,
        &["commit", "-q", "-am", "production: longer grace period"],
    );
    let out = env.pctl([
        "promote",
        "web",
        "--from",
        "staging",
        "--to",
        "production",
        "--repo",
        &g,
    ]);
    assert_success(&out);
    assert_eq!(version(&gitops, "production"), "1.1.0");
    let prod = deployment_text(&gitops, "production");
    assert!(
        prod.contains("terminationGracePeriodSeconds: 45"),
        "the local edit survives:\n{prod}"
    );
    assert_eq!(version(&gitops, "dev"), "1.0.0", "dev is untouched");
    check_all(&env, &gitops);

    // 1.2.0 comes out; the scheduled job runs twice from a clone served by git daemon.
    publish(&up, &hidden, "1.2.0");
    let root = env.path("served");
    let bare = bare_copy(&gitops, &root.join("org"), "gitops");
    let server = git_daemon(&root);
    let local = env.path("clone");
    git(&env.root, &["clone", "-q", &arg(&bare), &arg(&local)]);
    git(
        &local,
        &["remote", "set-url", "origin", &server.url("org/gitops.git")],
    );
    let token = canary("ScheduledJobToken");
    let forge = ForgeServer::start(Forge::GitHub, "org/gitops", &token, Some(&bare));
    env.set_var("PCTL_FORGE", Forge::GitHub.env_name());
    env.set_var("PCTL_FORGE_API_URL", &forge.api_url());
    env.set_var(Forge::GitHub.token_var(), &token);
    let job = scheduled_job();
    assert_eq!(
        job.join(" "),
        "upgrade --all --all-clusters --create-pr --group-by cluster --yes -o json"
    );
    let first = env.pctl_in(&local, &job);
    assert_success(&first);
    let summary: Value = serde_json::from_slice(&first.stdout).unwrap();
    let mut opened: Vec<String> = summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            format!(
                "{} {}",
                g["group"].as_str().unwrap(),
                g["action"].as_str().unwrap()
            )
        })
        .collect();
    opened.sort();
    // ^1.0 allows 1.2.0: every cluster is behind it, one pull request each.
    assert_eq!(
        opened,
        [
            "cluster-dev opened",
            "cluster-production opened",
            "cluster-staging opened"
        ],
        "{summary}"
    );
    assert_eq!(forge.prs().len(), 3);
    let refs = git(
        &bare,
        &["for-each-ref", "--format=%(refname) %(objectname)"],
    );
    let out = env.pctl_in(&local, &job);
    assert_success(&out);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["changed"], 0, "{summary}");
    assert_eq!(forge.prs().len(), 3, "no new pull request");
    assert_eq!(
        git(
            &bare,
            &["for-each-ref", "--format=%(refname) %(objectname)"]
        ),
        refs,
        "nothing pushed"
    );
    for text in [stdout(&first), stderr(&first), stdout(&out), stderr(&out)] {
        assert!(!text.contains(&token), "the token is in pctl's output");
    }
}
