//! Every profile of every upstream ref in one GitOps repository, the 0.1.0 → 0.1.1
//! upgrade, and `pctl lint` of every profile of every ref.

use super::*;
use crate::common::*;

// ---------------------------------------------------------------------------
// Everything together
// ---------------------------------------------------------------------------

/// Every profile of every upstream tag and branch (except the deliberately
/// invalid one) installed into one GitOps repository with distinct names and
/// namespaces: `pctl check` reports 0 problems.
#[test]
fn every_ref_installs_together_and_checks_clean() {
    let s = setup();
    let mut names = Vec::new();
    for (reference, _, dirs) in REFS {
        for dir in *dirs {
            if (*reference, *dir) == INVALID {
                continue;
            }
            let (name, _) = s.install(reference, dir);
            names.push(name);
        }
    }
    assert_eq!(names.len(), 36);
    let list = s.env.list_json(&s.gitops);
    assert_eq!(list.len(), names.len());
    let mut listed: Vec<String> = list
        .iter()
        .map(|e| e["name"].as_str().unwrap_or("").to_string())
        .collect();
    listed.sort();
    names.sort();
    assert_eq!(listed, names);
    let report = pctl_check(&s.gitops);
    assert!(
        report.contains(" 0 problems"),
        "pctl check must report 0 problems:\n{report}"
    );
}

/// The upstream release weaveworks-nginx 0.1.0 → 0.1.1 (three replicas, nested
/// bitnami-nginx 0.0.1 → 0.0.2 with its defaultValues, a new redis chart that
/// `dependsOn` the nested profile) as `pctl upgrade --to`, keeping the user's edit.
#[test]
fn weaveworks_nginx_upgrades_from_v0_1_0_to_v0_1_1_keeping_an_edit() {
    let s = setup();
    let (ww, _) = s.install("weaveworks-nginx/v0.1.0", "weaveworks-nginx");
    let deployment = s.artifact(&ww, "nginx-deployment").join("deployment.yaml");
    let text = std::fs::read_to_string(&deployment).unwrap();
    let edited = text.replacen(
        "    app.kubernetes.io/name: nginx\n",
        "    app.kubernetes.io/name: nginx\n    team: web\n",
        1,
    );
    assert_ne!(edited, text, "the edit must apply:\n{text}");
    std::fs::write(&deployment, edited).unwrap();
    s.env
        .git(&s.gitops, &["commit", "-qam", "label the nginx Deployment"]);

    let out = s.env.pctl([
        "upgrade",
        &ww,
        "--to",
        "weaveworks-nginx/v0.1.1",
        "--repo",
        &s.gitops.display().to_string(),
    ]);
    assert_success(&out);
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "dependon-chart",
            "nested-profile-nginx-server",
            "nginx-chart",
            "nginx-deployment"
        ])
    );
    let doc = yaml_file(&deployment);
    assert_eq!(doc["spec"]["replicas"], 3, "{doc:?}");
    assert_eq!(doc["metadata"]["labels"]["team"], "web", "the edit is kept");
    let hr = s.helm_release(&ww, "nested-profile-nginx-server");
    assert_eq!(hr["spec"]["values"], yaml("replicaCount: 3"));
    assert_eq!(
        s.depends_on(&ww, "dependon-chart"),
        strings(&[
            &format!("{ww}-nested-profile-nginx-server"),
            &format!("{ww}-nginx-chart"),
            &format!("{ww}-nginx-deployment"),
        ])
    );
    let record = yaml_file(&install_dir(&s.gitops, &ww).join("profile-installation.yaml"));
    assert_eq!(
        record["spec"]["source"]["reference"],
        "weaveworks-nginx/v0.1.1"
    );
    assert_eq!(
        record["spec"]["nested"][0]["source"]["reference"],
        "bitnami-nginx/v0.0.2"
    );
    assert!(is_clean(&s.gitops), "the upgrade is committed");
    pctl_check(&s.gitops);
}

/// `pctl lint` of every profile directory of every upstream ref, in a checkout of
/// that ref: no error, except the invalid artifact, reported for its reason.
#[test]
fn every_profile_of_every_ref_lints() {
    let s = setup();
    let clone = s.env.work.join("profiles-examples");
    s.env.git(
        &s.env.work,
        &["clone", "-q", &s.repo.url(), &clone.display().to_string()],
    );
    let tags = s.repo.tags();
    for (reference, _, dirs) in REFS {
        let rev = if tags.iter().any(|t| t == reference) {
            reference.to_string()
        } else {
            format!("origin/{reference}")
        };
        s.env.git(&clone, &["checkout", "-q", "--detach", &rev]);
        for dir in *dirs {
            let out = s.env.pctl_in(&clone, ["lint", dir]);
            let text = format!("{}{}", stdout(&out), stderr(&out));
            if (*reference, *dir) == INVALID {
                assert_exit(&out, 1);
                assert!(
                    text.contains(&format!("{dir}/profile.yaml:"))
                        && text.contains("artifact \"invalid-artifact\": path and chart both set"),
                    "{reference} {dir}: {}",
                    describe(&out)
                );
            } else {
                assert_success(&out);
                assert!(
                    text.contains("0 error(s)"),
                    "{reference} {dir}: {}",
                    describe(&out)
                );
            }
        }
    }
}

/// `pctl lint` places the legacy `path and chart both set` error at the artifact
/// (lines 9-15 of invalid-artifact's weaveworks-nginx/profile.yaml), as it places the
/// current schema's "chart has both `path` and `url`" at the `chart:` line.
#[test]
fn the_invalid_legacy_artifact_is_reported_at_its_line() {
    let s = setup();
    let clone = s.env.work.join("profiles-examples");
    s.env.git(
        &s.env.work,
        &["clone", "-q", &s.repo.url(), &clone.display().to_string()],
    );
    s.env.git(
        &clone,
        &["checkout", "-q", "--detach", "origin/invalid-artifact"],
    );
    let out = s.env.pctl_in(&clone, ["lint", "weaveworks-nginx"]);
    assert_exit(&out, 1);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let line = text
        .lines()
        .find(|l| l.contains("path and chart both set"))
        .unwrap_or_else(|| panic!("{}", describe(&out)));
    let at: usize = line
        .strip_prefix("weaveworks-nginx/profile.yaml:")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no FILE:LINE in {line:?}"));
    assert!((9..=15).contains(&at), "{line}");
}
