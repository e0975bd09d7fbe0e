//! Every tag and branch of the public `weaveworks/profiles-examples` repository, as
//! reshaped in `fixtures/repos/profiles-examples` (issue 13, "Done means"): one test
//! per upstream ref installs each profile of that ref with
//! `pctl install https://github.com/weaveworks/profiles-examples//DIR@REF` (the URL is
//! mapped to the fixture with `url.insteadOf`) and asserts what lands, or, for
//! `invalid-artifact`, the refusal and its reason; then every one of them installs
//! into one GitOps repository and `pctl check` finds no problem.

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

fn source(dir: &str, reference: &str) -> String {
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
            &source(dir, reference),
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

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

#[test]
fn tag_bitnami_nginx_v0_0_1() {
    let s = setup();
    let r = "bitnami-nginx/v0.0.1";
    let (bn, out) = s.install(r, "bitnami-nginx");
    assert_eq!(s.ids(&bn), strings(&["nginx-server"]));
    s.assert_local_chart(&bn, "nginx-server", r, "bitnami-nginx/nginx/chart", null());
    assert_warnings(&out, &[("bitnami-nginx", r, SPEC_NAME)]);

    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "dokuwiki",
            "nested-profile-nginx-server",
            "nginx-deployment"
        ])
    );
    s.assert_local_chart(
        &ww,
        "nested-profile-nginx-server",
        "bitnami-nginx/v0.0.1",
        "bitnami-nginx/nginx/chart",
        null(),
    );
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 2);
    s.assert_remote_chart(&ww, "dokuwiki", "dokuwiki", "11.1.6", null());
    assert_warnings(
        &out,
        &[
            ("weaveworks-nginx", r, SPEC_NAME),
            ("bitnami-nginx", "bitnami-nginx/v0.0.1", SPEC_NAME),
        ],
    );
    pctl_check(&s.gitops);
}

#[test]
fn tag_bitnami_nginx_v0_0_2() {
    let s = setup();
    let r = "bitnami-nginx/v0.0.2";
    let (bn, out) = s.install(r, "bitnami-nginx");
    assert_eq!(s.ids(&bn), strings(&["nginx-server"]));
    s.assert_local_chart(
        &bn,
        "nginx-server",
        r,
        "bitnami-nginx/nginx/chart",
        yaml("replicaCount: 3"),
    );
    assert_warnings(&out, &[("bitnami-nginx", r, SPEC_NAME)]);

    // weaveworks-nginx at this commit still nests bitnami-nginx/v0.0.1: the nested
    // profile is read at its own tag (no defaultValues), not at the parent's commit.
    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "dokuwiki",
            "nested-profile-nginx-server",
            "nginx-deployment"
        ])
    );
    s.assert_local_chart(
        &ww,
        "nested-profile-nginx-server",
        "bitnami-nginx/v0.0.1",
        "bitnami-nginx/nginx/chart",
        null(),
    );
    assert_warnings(
        &out,
        &[
            ("weaveworks-nginx", r, SPEC_NAME),
            ("bitnami-nginx", "bitnami-nginx/v0.0.1", SPEC_NAME),
        ],
    );
    pctl_check(&s.gitops);
}

/// The legacy three-level chain weaveworks-nginx → nested-nginx-1 → nested-nginx-2,
/// nested by `profile: {url, version: TAG}`, at `reference` (a tag or the branch).
fn three_levels(reference: &str) {
    let s = setup();
    let (n2, out) = s.install(reference, "nested-nginx-2");
    assert_eq!(s.ids(&n2), strings(&["nginx-server"]));
    s.assert_local_chart(
        &n2,
        "nginx-server",
        reference,
        "nested-nginx-2/nginx/chart",
        null(),
    );
    assert_warnings(&out, &[("nested-nginx-2", reference, FLUXCD)]);

    let (n1, out) = s.install(reference, "nested-nginx-1");
    assert_eq!(
        s.ids(&n1),
        strings(&["nested-nginx-2-nginx-server", "nginx-server"])
    );
    s.assert_local_chart(
        &n1,
        "nginx-server",
        reference,
        "nested-nginx-1/nginx/chart",
        null(),
    );
    s.assert_local_chart(
        &n1,
        "nested-nginx-2-nginx-server",
        "nested-nginx-2/v0.0.1",
        "nested-nginx-2/nginx/chart",
        null(),
    );
    assert_warnings(
        &out,
        &[
            ("nested-nginx-1", reference, FLUXCD),
            ("nested-nginx-2", "nested-nginx-2/v0.0.1", FLUXCD),
        ],
    );

    let (ww, out) = s.install(reference, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "nested-nginx-1-nested-nginx-2-nginx-server",
            "nested-nginx-1-nginx-server"
        ])
    );
    s.assert_local_chart(
        &ww,
        "nested-nginx-1-nested-nginx-2-nginx-server",
        "nested-nginx-2/v0.0.1",
        "nested-nginx-2/nginx/chart",
        null(),
    );
    assert_warnings(
        &out,
        &[
            ("weaveworks-nginx", reference, FLUXCD),
            ("nested-nginx-1", "nested-nginx-1/v0.0.1", FLUXCD),
            ("nested-nginx-2", "nested-nginx-2/v0.0.1", FLUXCD),
        ],
    );
    let record = yaml_file(&install_dir(&s.gitops, &ww).join("profile-installation.yaml"));
    let nested: Vec<&str> = record["spec"]["nested"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n["source"]["reference"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        nested,
        ["nested-nginx-1/v0.0.1", "nested-nginx-2/v0.0.1"],
        "{record:?}"
    );
    pctl_check(&s.gitops);
}

#[test]
fn tag_nested_nginx_1_v0_0_1() {
    three_levels("nested-nginx-1/v0.0.1");
}

#[test]
fn tag_nested_nginx_2_v0_0_1() {
    three_levels("nested-nginx-2/v0.0.1");
}

/// weaveworks-nginx with nested-nginx (which nests bitnami-nginx, twice at the tag
/// or once on the branch), a Kustomize directory, two remote charts and `dependsOn`.
fn nested_nginx_shapes(reference: &str, nested_twice: bool) {
    let s = setup();
    let (bn, out) = s.install(reference, "bitnami-nginx");
    s.assert_local_chart(
        &bn,
        "nginx-server",
        reference,
        "bitnami-nginx/nginx/chart",
        yaml("replicaCount: 3"),
    );
    assert_warnings(&out, &[]);

    let mut nested = vec!["nested-profile2-nginx-server", "nginx-server"];
    if nested_twice {
        nested.push("nested-profile3-nginx-server");
    }
    let (nn, out) = s.install(reference, "nested-nginx");
    assert_eq!(s.ids(&nn), strings(&nested));
    s.assert_local_chart(
        &nn,
        "nginx-server",
        reference,
        "nested-nginx/mynginx/chart",
        yaml("replicaCount: 19"),
    );
    for id in nested.iter().filter(|i| i.starts_with("nested-profile")) {
        s.assert_local_chart(
            &nn,
            id,
            "bitnami-nginx/v0.0.1",
            "bitnami-nginx/nginx/chart",
            null(),
        );
    }
    // bitnami-nginx/v0.0.1 carries the legacy spec.name: one warning, even when
    // it is nested twice.
    assert_warnings(
        &out,
        &[("bitnami-nginx", "bitnami-nginx/v0.0.1", SPEC_NAME)],
    );

    // weaveworks-nginx nests the nested-nginx TAG (two nested bitnami-nginx) on
    // the branch too.
    let (ww, out) = s.install(reference, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "dependon-chart",
            "nested-nginx-nested-profile2-nginx-server",
            "nested-nginx-nested-profile3-nginx-server",
            "nested-nginx-nginx-server",
            "nginx-chart",
            "nginx-deployment",
        ])
    );
    s.assert_local_chart(
        &ww,
        "nested-nginx-nginx-server",
        "nested-nginx/v0.0.1",
        "nested-nginx/mynginx/chart",
        yaml("replicaCount: 19"),
    );
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 3);
    s.assert_remote_chart(
        &ww,
        "nginx-chart",
        "nginx",
        "9.3.0",
        yaml("service:\n  type: ClusterIP\n"),
    );
    s.assert_remote_chart(
        &ww,
        "dependon-chart",
        "redis",
        "14.6.1",
        yaml("master:\n  persistence:\n    enabled: false\nreplica:\n  replicaCount: 0\n"),
    );
    assert_eq!(
        s.depends_on(&ww, "dependon-chart"),
        strings(&[
            &format!("{ww}-nginx-chart"),
            &format!("{ww}-nginx-deployment")
        ])
    );
    assert_warnings(
        &out,
        &[("bitnami-nginx", "bitnami-nginx/v0.0.1", SPEC_NAME)],
    );
    pctl_check(&s.gitops);
}

#[test]
fn tag_nested_nginx_v0_0_1() {
    nested_nginx_shapes("nested-nginx/v0.0.1", true);
}

#[test]
fn tag_weaveworks_nginx_v0_1_0() {
    let s = setup();
    let r = "weaveworks-nginx/v0.1.0";
    let (bn, out) = s.install(r, "bitnami-nginx");
    s.assert_local_chart(
        &bn,
        "nginx-server",
        r,
        "bitnami-nginx/nginx/chart",
        yaml("replicaCount: 3"),
    );
    assert_warnings(&out, &[("bitnami-nginx", r, SPEC_NAME)]);

    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "nested-profile-nginx-server",
            "nginx-chart",
            "nginx-deployment"
        ])
    );
    s.assert_remote_chart(
        &ww,
        "nginx-chart",
        "nginx",
        "9.3.0",
        yaml("service:\n  type: ClusterIP\n"),
    );
    s.assert_local_chart(
        &ww,
        "nested-profile-nginx-server",
        "bitnami-nginx/v0.0.1",
        "bitnami-nginx/nginx/chart",
        null(),
    );
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 2);
    assert_warnings(
        &out,
        &[
            ("weaveworks-nginx", r, SPEC_NAME),
            ("bitnami-nginx", "bitnami-nginx/v0.0.1", SPEC_NAME),
        ],
    );
    pctl_check(&s.gitops);
}

#[test]
fn tag_weaveworks_nginx_v0_1_1() {
    let s = setup();
    let r = "weaveworks-nginx/v0.1.1";
    let (bn, out) = s.install(r, "bitnami-nginx");
    s.assert_local_chart(
        &bn,
        "nginx-server",
        r,
        "bitnami-nginx/nginx/chart",
        yaml("replicaCount: 3"),
    );
    assert_warnings(&out, &[]);

    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "dependon-chart",
            "nested-profile-nginx-server",
            "nginx-chart",
            "nginx-deployment"
        ])
    );
    // The nested bitnami-nginx/v0.0.2 brings its defaultValues.
    s.assert_local_chart(
        &ww,
        "nested-profile-nginx-server",
        "bitnami-nginx/v0.0.2",
        "bitnami-nginx/nginx/chart",
        yaml("replicaCount: 3"),
    );
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 3);
    // `dependsOn: [{name: nested-profile}]` waits for the nested profile's artifacts.
    assert_eq!(
        s.depends_on(&ww, "dependon-chart"),
        strings(&[
            &format!("{ww}-nested-profile-nginx-server"),
            &format!("{ww}-nginx-chart"),
            &format!("{ww}-nginx-deployment"),
        ])
    );
    assert_warnings(
        &out,
        &[("bitnami-nginx", "bitnami-nginx/v0.0.2", SPEC_NAME)],
    );
    // Without a ref, the newest tag of weaveworks-nginx is this one.
    let out = s.env.install(
        &s.gitops,
        &format!("{UPSTREAM}//weaveworks-nginx"),
        "newest",
        &["--namespace", "ns-newest"],
    );
    assert_success(&out);
    let record = yaml_file(&install_dir(&s.gitops, "newest").join("profile-installation.yaml"));
    assert_eq!(record["spec"]["source"]["reference"], r);
    pctl_check(&s.gitops);
}

// ---------------------------------------------------------------------------
// Branches
// ---------------------------------------------------------------------------

/// bitnami-nginx as a legacy `kind: HelmChart` with `path` at `reference`.
fn legacy_bitnami(s: &Setup, reference: &str, what: &str) {
    let (bn, out) = s.install(reference, "bitnami-nginx");
    assert_eq!(s.ids(&bn), strings(&["nginx-server"]));
    s.assert_local_chart(
        &bn,
        "nginx-server",
        reference,
        "bitnami-nginx/nginx/chart",
        null(),
    );
    assert_warnings(&out, &[("bitnami-nginx", reference, what)]);
}

#[test]
fn branch_branch_and_url() {
    let s = setup();
    let r = "branch-and-url";
    legacy_bitnami(&s, r, FLUXCD);
    let (br, out) = s.install(r, "branch-nginx");
    assert_eq!(s.ids(&br), strings(&["nginx-deployment"]));
    s.assert_deployment(&br, "nginx-deployment", "nginx-deployment", 2);
    assert_warnings(&out, &[("branch-nginx", r, FLUXCD)]);
    pctl_check(&s.gitops);
}

#[test]
fn branch_dependson() {
    let s = setup();
    let r = "dependson";
    let (bn, out) = s.install(r, "bitnami-nginx");
    s.assert_local_chart(
        &bn,
        "nginx-server",
        r,
        "bitnami-nginx/nginx/chart",
        yaml("replicaCount: 3"),
    );
    assert_warnings(&out, &[]);

    let (dn, out) = s.install(r, "dependson-nginx");
    assert_eq!(s.ids(&dn), strings(&["dependon", "nginx-chart"]));
    s.assert_remote_chart(
        &dn,
        "dependon",
        "redis",
        "14.6.1",
        yaml("master:\n  persistence:\n    enabled: false\nreplica:\n  replicaCount: 0\n"),
    );
    s.assert_remote_chart(
        &dn,
        "nginx-chart",
        "nginx",
        "9.3.0",
        yaml("service:\n  type: ClusterIP\n"),
    );
    assert_eq!(s.depends_on(&dn, "nginx-chart"), [format!("{dn}-dependon")]);
    assert_eq!(s.depends_on(&dn, "dependon"), Vec::<String>::new());
    assert_warnings(&out, &[]);

    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "nested-profile-nginx-server",
            "nginx-chart",
            "nginx-deployment"
        ])
    );
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 2);
    assert_warnings(
        &out,
        &[("bitnami-nginx", "bitnami-nginx/v0.0.1", SPEC_NAME)],
    );
    pctl_check(&s.gitops);
}

#[test]
fn branch_double_nested() {
    nested_nginx_shapes("double_nested", false);
}

#[test]
fn branch_fix_api_version() {
    let s = setup();
    let r = "fix_api_version";
    legacy_bitnami(&s, r, PACKAGES);
    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&[
            "dokuwiki",
            "nested-profile-nginx-server",
            "nginx-deployment"
        ])
    );
    s.assert_remote_chart(&ww, "dokuwiki", "dokuwiki", "11.1.6", null());
    s.assert_local_chart(
        &ww,
        "nested-profile-nginx-server",
        "bitnami-nginx/v0.0.1",
        "bitnami-nginx/nginx/chart",
        null(),
    );
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 2);
    assert_warnings(
        &out,
        &[
            ("weaveworks-nginx", r, PACKAGES),
            ("bitnami-nginx", "bitnami-nginx/v0.0.1", SPEC_NAME),
        ],
    );
    pctl_check(&s.gitops);
}

#[test]
fn branch_invalid_artifact() {
    let s = setup();
    let r = "invalid-artifact";
    legacy_bitnami(&s, r, FLUXCD);
    // The broken artifact is refused for its real reason, and nothing is written.
    let before = snapshot(&s.gitops);
    let out = s.env.install(
        &s.gitops,
        &source(INVALID.1, r),
        "inv-ww",
        &["--namespace", "ns-inv-ww"],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(
        &out,
        &[
            &format!("{UPSTREAM}//weaveworks-nginx/profile.yaml@{r}"),
            "artifact \"invalid-artifact\": path and chart both set",
        ],
    );
    assert!(!stderr(&out).contains("expected"), "{}", describe(&out));
    assert_unchanged(&before, &snapshot(&s.gitops));
    pctl_check(&s.gitops);
}

#[test]
fn branch_local_clone_test() {
    let s = setup();
    let r = "local_clone_test";
    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(s.ids(&ww), strings(&["nginx-deployment"]));
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 2);
    assert_warnings(&out, &[("weaveworks-nginx", r, SPEC_NAME)]);
    pctl_check(&s.gitops);
}

#[test]
fn branch_multi_level_nested_profiles() {
    three_levels("multi_level_nested_profiles");
}

#[test]
fn branch_multiple_local_artifacts() {
    let s = setup();
    let r = "multiple_local_artifacts";
    legacy_bitnami(&s, r, FLUXCD);
    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(
        s.ids(&ww),
        strings(&["nginx-deployment", "nginx-deployment-2"])
    );
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 2);
    s.assert_deployment(&ww, "nginx-deployment-2", "nginx-deployment-2", 2);
    assert_warnings(&out, &[("weaveworks-nginx", r, FLUXCD)]);
    pctl_check(&s.gitops);
}

#[test]
fn branch_update_available() {
    let s = setup();
    let r = "update-available";
    legacy_bitnami(&s, r, FLUXCD);
    let (ww, out) = s.install(r, "weaveworks-nginx");
    assert_eq!(s.ids(&ww), strings(&["nginx-deployment"]));
    s.assert_deployment(&ww, "nginx-deployment", "nginx-deployment", 2);
    assert_warnings(&out, &[("weaveworks-nginx", r, FLUXCD)]);
    pctl_check(&s.gitops);
}

/// Upstream's main holds only a README now: installing a profile from it is
/// refused because the directory is not there, and nothing is written.
#[test]
fn main_holds_no_profile() {
    let s = setup();
    let before = snapshot(&s.gitops);
    let out = s.env.install(
        &s.gitops,
        &source("weaveworks-nginx", "main"),
        "from-main",
        &[],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["weaveworks-nginx does not exist"]);
    assert_unchanged(&before, &snapshot(&s.gitops));
}

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
