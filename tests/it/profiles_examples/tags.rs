//! One test per upstream tag of `weaveworks/profiles-examples`: each profile of the
//! tag installs, and what lands is what the profile says.

use super::*;
use crate::common::*;

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
pub(super) fn three_levels(reference: &str) {
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
pub(super) fn nested_nginx_shapes(reference: &str, nested_twice: bool) {
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
