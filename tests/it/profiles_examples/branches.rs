//! One test per upstream branch of `weaveworks/profiles-examples` that holds profiles
//! (and main, which holds none): each profile installs, or is refused for its reason.

use super::tags::{nested_nginx_shapes, three_levels};
use super::*;
use crate::common::*;

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
        &upstream_source(INVALID.1, r),
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
        &upstream_source("weaveworks-nginx", "main"),
        "from-main",
        &[],
    );
    assert_error(&out, 1);
    assert_stderr_mentions(&out, &["weaveworks-nginx does not exist"]);
    assert_unchanged(&before, &snapshot(&s.gitops));
}
