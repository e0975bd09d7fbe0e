//! Every tag and branch of the public `weaveworks/profiles-examples` repository, as
//! reshaped in `fixtures/repos/profiles-examples` (issue 13, "Done means"): one test
//! per upstream ref installs each profile of that ref with
//! `pctl install https://github.com/weaveworks/profiles-examples//DIR@REF` (the URL is
//! mapped to the fixture with `url.insteadOf`) and asserts what lands, or, for
//! `invalid-artifact`, the refusal and its reason; then every one of them installs
//! into one GitOps repository and `pctl check` finds no problem. This module is the
//! harness and the fixture's self-check; `tags`, `branches` and `together` hold the
//! tests.

mod branches;
mod tags;
mod together;

use crate::common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

/// The URL the profiles and their nested references name.
const UPSTREAM: &str = "https://github.com/weaveworks/profiles-examples";

/// Every upstream tag and branch that holds profiles, with its short code (for
/// installation names) and the profile directories at that ref.
const REFS: &[(&str, &str, &[&str])] = &[
    (
        "bitnami-nginx/v0.0.1",
        "bn1",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
    (
        "bitnami-nginx/v0.0.2",
        "bn2",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
    (
        "nested-nginx-1/v0.0.1",
        "nn1",
        &["nested-nginx-1", "nested-nginx-2", "weaveworks-nginx"],
    ),
    (
        "nested-nginx-2/v0.0.1",
        "nn2",
        &["nested-nginx-1", "nested-nginx-2", "weaveworks-nginx"],
    ),
    (
        "nested-nginx/v0.0.1",
        "nn",
        &["bitnami-nginx", "nested-nginx", "weaveworks-nginx"],
    ),
    (
        "weaveworks-nginx/v0.1.0",
        "ww10",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
    (
        "weaveworks-nginx/v0.1.1",
        "ww11",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
    ("branch-and-url", "bau", &["bitnami-nginx", "branch-nginx"]),
    (
        "dependson",
        "dep",
        &["bitnami-nginx", "dependson-nginx", "weaveworks-nginx"],
    ),
    (
        "double_nested",
        "dbl",
        &["bitnami-nginx", "nested-nginx", "weaveworks-nginx"],
    ),
    (
        "fix_api_version",
        "fix",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
    (
        "invalid-artifact",
        "inv",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
    ("local_clone_test", "lct", &["weaveworks-nginx"]),
    (
        "multi_level_nested_profiles",
        "mln",
        &["nested-nginx-1", "nested-nginx-2", "weaveworks-nginx"],
    ),
    (
        "multiple_local_artifacts",
        "mla",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
    (
        "update-available",
        "upd",
        &["bitnami-nginx", "weaveworks-nginx"],
    ),
];

/// The one profile upstream that must be refused.
const INVALID: (&str, &str) = ("invalid-artifact", "weaveworks-nginx");

/// The warning each legacy shape gets, once per source file.
const FLUXCD: &str = "profiles.fluxcd.io/v1alpha1 Profile is the legacy schema";
const PACKAGES: &str = "packages.weave.works/v1alpha1 Profile is the legacy schema";
const SPEC_NAME: &str = "spec.name is a legacy field";

struct Setup {
    env: Env,
    repo: &'static TempRepo,
    gitops: PathBuf,
}

fn setup() -> Setup {
    let env = Env::new();
    let repo = shared_repo("profiles-examples");
    env.insteadof(&repo.url(), UPSTREAM);
    let gitops = env.init_gitops("gitops");
    Setup { env, repo, gitops }
}

fn dir_code(dir: &str) -> &'static str {
    match dir {
        "bitnami-nginx" => "bn",
        "weaveworks-nginx" => "ww",
        "nested-nginx" => "nn",
        "nested-nginx-1" => "nn1",
        "nested-nginx-2" => "nn2",
        "branch-nginx" => "br",
        "dependson-nginx" => "dn",
        other => panic!("no code for profile directory {other}"),
    }
}

fn ref_code(reference: &str) -> &'static str {
    REFS.iter()
        .find(|(r, _, _)| *r == reference)
        .unwrap_or_else(|| panic!("{reference} is not an upstream ref"))
        .1
}

/// The installation name of profile `dir` at `reference`: distinct for every pair.
fn name_for(reference: &str, dir: &str) -> String {
    format!("{}-{}", ref_code(reference), dir_code(dir))
}

fn upstream_source(dir: &str, reference: &str) -> String {
    format!("{UPSTREAM}//{dir}@{reference}")
}

impl Setup {
    /// `pctl install UPSTREAM//DIR@REF --name <code> --namespace ns-<code>`,
    /// asserted to succeed. Returns the installation name and the output.
    fn install(&self, reference: &str, dir: &str) -> (String, Output) {
        let name = name_for(reference, dir);
        let ns = format!("ns-{name}");
        let out = self.env.install(
            &self.gitops,
            &upstream_source(dir, reference),
            &name,
            &["--namespace", &ns],
        );
        assert_success(&out);
        check_installation(&self.gitops, &name);
        let record = yaml_file(&install_dir(&self.gitops, &name).join("profile-installation.yaml"));
        assert_eq!(record["spec"]["namespace"], ns.as_str());
        assert_eq!(record["spec"]["source"]["url"], UPSTREAM);
        assert_eq!(record["spec"]["source"]["path"], dir);
        assert_eq!(record["spec"]["source"]["reference"], reference);
        assert_eq!(
            record["spec"]["source"]["commit"],
            self.repo.rev(reference).as_str(),
            "{name}: the record pins the commit of {reference}"
        );
        (name, out)
    }

    /// The artifact ids of an installation, without the `namespace` artifact pctl
    /// adds for `--namespace` (not part of the profile's shape).
    fn ids(&self, name: &str) -> Vec<String> {
        artifact_ids(&self.gitops, name)
            .into_iter()
            .filter(|id| id != "namespace")
            .collect()
    }

    fn artifact(&self, name: &str, id: &str) -> PathBuf {
        install_dir(&self.gitops, name).join("artifacts").join(id)
    }

    fn helm_release(&self, name: &str, id: &str) -> Value {
        let hr = yaml_file(&self.artifact(name, id).join("helm-release.yaml"));
        assert_eq!(hr["kind"], "HelmRelease", "{name}/{id}");
        assert_eq!(hr["spec"]["targetNamespace"], format!("ns-{name}").as_str());
        hr
    }

    /// A local chart: the HelmRelease points at the chart copied into the
    /// artifact, byte for byte the chart at `reference:chart_dir` (vendored
    /// subchart included), with `values` as given (`Value::Null`: none).
    fn assert_local_chart(
        &self,
        name: &str,
        id: &str,
        reference: &str,
        chart_dir: &str,
        values: Value,
    ) {
        let hr = self.helm_release(name, id);
        let spec = &hr["spec"]["chart"]["spec"];
        assert_eq!(
            spec["chart"],
            format!("./{INSTALL_PATH}/{name}/artifacts/{id}/chart").as_str(),
            "{name}/{id}"
        );
        assert_eq!(spec["sourceRef"]["kind"], "GitRepository", "{name}/{id}");
        assert_eq!(
            hr["spec"]["values"], values,
            "{name}/{id}: values of the local chart"
        );
        let chart = self.artifact(name, id).join("chart");
        let src = repo_files_at(self.repo.path(), reference, chart_dir);
        assert!(src.contains_key("charts/common-1.4.1.tgz"), "{src:?}");
        assert_copied_byte_for_byte(&src, &chart);
        assert_eq!(
            tree_files(&chart).len(),
            src.len(),
            "{name}/{id}: the chart directory holds exactly the profile's chart"
        );
    }

    /// A remote chart: HelmRelease chart/version/values and a HelmRepository for
    /// the Bitnami URL (pctl never fetches it).
    fn assert_remote_chart(&self, name: &str, id: &str, chart: &str, version: &str, values: Value) {
        let hr = self.helm_release(name, id);
        let spec = &hr["spec"]["chart"]["spec"];
        assert_eq!(spec["chart"], chart, "{name}/{id}");
        assert_eq!(spec["version"], version, "{name}/{id}");
        assert_eq!(spec["sourceRef"]["kind"], "HelmRepository", "{name}/{id}");
        assert_eq!(hr["spec"]["values"], values, "{name}/{id}");
        let repo = yaml_objects(&self.artifact(name, id))
            .into_iter()
            .map(|(_, d)| d)
            .find(|d| d["kind"] == "HelmRepository")
            .unwrap_or_else(|| panic!("{name}/{id}: no HelmRepository"));
        assert_eq!(repo["spec"]["url"], "https://charts.bitnami.com/bitnami");
        assert_eq!(
            name_of(&repo),
            spec["sourceRef"]["name"].as_str().unwrap_or("")
        );
    }

    /// A raw YAML (legacy `Kustomize`) artifact: the Deployment, with its replicas,
    /// and no namespace of its own (it lands in `--namespace` through the wrapper).
    fn assert_deployment(&self, name: &str, id: &str, deployment: &str, replicas: i64) {
        let docs: Vec<Value> = yaml_objects(&self.artifact(name, id))
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| d["kind"] == "Deployment")
            .collect();
        assert_eq!(docs.len(), 1, "{name}/{id}: {docs:?}");
        assert_eq!(name_of(&docs[0]), deployment, "{name}/{id}");
        assert_eq!(docs[0]["spec"]["replicas"], replicas, "{name}/{id}");
    }

    /// The wrapper names artifact `id` of installation `name` waits for, without
    /// the namespace wrapper.
    fn depends_on(&self, name: &str, id: &str) -> Vec<String> {
        let w = wrappers(&self.gitops, name);
        let mut d: Vec<String> = depends_on(&w[id])
            .into_iter()
            .filter(|n| *n != format!("{name}-namespace"))
            .collect();
        d.sort();
        d
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

/// The warnings of a run are exactly `expected`: one line for each
/// `(profile directory, ref, legacy shape)`, i.e. one warning per source even when
/// it is nested twice.
#[track_caller]
fn assert_warnings(out: &Output, expected: &[(&str, &str, &str)]) {
    let text = stderr(out);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(
        lines.len(),
        expected.len(),
        "expected {expected:?}\n{}",
        describe(out)
    );
    for (dir, reference, what) in expected {
        let at = format!("{UPSTREAM}//{dir}/profile.yaml@{reference}:");
        let n = lines
            .iter()
            .filter(|l| l.contains(&at) && l.contains(what))
            .count();
        assert_eq!(n, 1, "{at} {what}: {lines:#?}");
    }
}

fn null() -> Value {
    Value::Null
}
// ---------------------------------------------------------------------------
// The fixture itself
// ---------------------------------------------------------------------------

/// The fixture has exactly the upstream tags and branches (plus main), each
/// holding the profile directories listed in [`REFS`], and builds the same twice.
#[test]
fn fixture_has_every_upstream_ref_and_its_profiles() {
    let repo = shared_repo("profiles-examples");
    let mut tags = repo.tags();
    tags.sort();
    assert_eq!(
        tags,
        strings(&[
            "bitnami-nginx/v0.0.1",
            "bitnami-nginx/v0.0.2",
            "nested-nginx-1/v0.0.1",
            "nested-nginx-2/v0.0.1",
            "nested-nginx/v0.0.1",
            "weaveworks-nginx/v0.1.0",
            "weaveworks-nginx/v0.1.1",
        ])
    );
    let branches: Vec<String> = repo
        .git(&["for-each-ref", "refs/heads", "--format=%(refname:short)"])
        .lines()
        .map(str::to_string)
        .collect();
    let mut expected: Vec<&str> = REFS
        .iter()
        .map(|(r, _, _)| *r)
        .filter(|r| !r.contains('/'))
        .collect();
    expected.push("main");
    assert_eq!(branches, strings(&expected));
    for (reference, _, dirs) in REFS {
        let files = repo.git(&["ls-tree", "-r", "--name-only", reference]);
        let mut found: Vec<&str> = files
            .lines()
            .filter_map(|f| f.strip_suffix("/profile.yaml"))
            .collect();
        found.sort();
        assert_eq!(found, dirs.to_vec(), "{reference}");
    }
    // Upstream tags both nested-nginx-1 and nested-nginx-2 on one commit, the tip
    // of multi_level_nested_profiles.
    assert_eq!(
        repo.rev("nested-nginx-1/v0.0.1"),
        repo.rev("nested-nginx-2/v0.0.1")
    );
    assert_eq!(
        repo.rev("nested-nginx-1/v0.0.1"),
        repo.rev("multi_level_nested_profiles")
    );
    assert!(
        !repo
            .git(&["ls-tree", "-r", "--name-only", "main"])
            .contains("profile.yaml"),
        "main holds no profile"
    );
    let again = build_repo("profiles-examples");
    assert_eq!(again.refs(), repo.refs(), "two builds differ");

    let out =
        std::process::Command::new("tar")
            .arg("tzf")
            .arg(fixtures_dir().join(
                "repos/profiles-examples/m01/bitnami-nginx/nginx/chart/charts/common-1.4.1.tgz",
            ))
            .output()
            .unwrap();
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("common/Chart.yaml"), "{list}");
    assert!(list.contains("common/templates/_names.tpl"), "{list}");
}
