//! Unit tests of `render`.
use super::renderer::{MAX_ID, join_id};
use super::*;
use crate::model;
use crate::model::resolved::ResolvedArtifact;
use crate::record::SourceRecord;

/// Render and finish: these trees hold no secret, so there is nothing to seal.
fn render(root: &Resolved, opts: &Options) -> Result<Rendered> {
    let unsealed = super::render(root, opts)?;
    assert!(unsealed.to_seal().is_empty());
    unsealed.with_ciphertext(BTreeMap::new())
}

fn def(name: &str, text_artifacts: &str) -> model::ProfileDefinition {
    let text = format!(
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: {name}\nspec:\n  artifacts:\n{text_artifacts}"
    );
    model::parse("t", &text, None).unwrap().0
}

fn art(name: &str, deps: &[&str], kind: ResolvedKind) -> ResolvedArtifact {
    ResolvedArtifact {
        name: name.into(),
        depends_on: deps.iter().map(|s| s.to_string()).collect(),
        template: false,
        kind,
    }
}

fn raw() -> ResolvedKind {
    ResolvedKind::Kustomize {
        files: BTreeMap::from([(
            "cm.yaml".to_string(),
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n".to_vec(),
        )]),
    }
}

fn tree() -> Resolved {
    let child = Resolved {
        def: def(
            "child",
            "    - name: app\n      kustomize: {path: a}\n    - name: db\n      kustomize: {path: b}\n",
        ),
        source: SourceRecord::default(),
        artifacts: vec![art("app", &[], raw()), art("db", &["app"], raw())],
    };
    Resolved {
        def: def(
            "parent",
            "    - name: chart\n      chart: {url: 'oci://r.example/charts', name: c, version: '1.x'}\n    - name: app\n      kustomize: {path: a}\n    - name: nested\n      profile: {source: {path: child}}\n      dependsOn: [{name: chart}]\n    - name: last\n      kustomize: {path: a}\n      dependsOn: [{name: nested}]\n",
        ),
        source: SourceRecord {
            url: "file:///x".into(),
            version: Some("1.0.0".into()),
            ..Default::default()
        },
        artifacts: vec![
            art(
                "chart",
                &[],
                ResolvedKind::RemoteChart {
                    url: "oci://r.example/charts".into(),
                    name: "c".into(),
                    version: "1.x".into(),
                    default_values: Some("a: {{ install.namespace }}\n".into()),
                    release: Default::default(),
                },
            ),
            art("app", &[], raw()),
            art(
                "nested",
                &["chart"],
                ResolvedKind::Profile {
                    profile: Box::new(child),
                    with: Map::new(),
                },
            ),
            art("last", &["nested"], raw()),
        ],
    }
}

fn opts() -> Options {
    Options {
        name: "inst".into(),
        namespace: "apps".into(),
        install_dir: "clusters/default/profiles/inst".into(),
        git_repository: GitRepositoryRef {
            name: "flux-system".into(),
            namespace: "flux-system".into(),
        },
        inputs: crate::values::Inputs::default(),
        sops_yaml: None,
        secret_refs: BTreeMap::new(),
        namespaces: crate::namespaces::Policy {
            create: false,
            ..Default::default()
        },
        flux_objects: None,
    }
}

#[test]
fn the_namespace_artifact_comes_first_and_every_other_waits_for_it() {
    let mut o = opts();
    o.namespaces.create = true;
    let r = render(&tree(), &o).unwrap();
    assert_eq!(r.leaves[0].id, "namespace");
    assert!(
        r.leaves[1..]
            .iter()
            .all(|l| l.depends_on.contains(&"inst-namespace".to_string()))
    );
    let ns = String::from_utf8_lossy(&r.files["artifacts/namespace/namespace.yaml"]).into_owned();
    assert!(
        ns.contains("name: apps\n") && ns.contains("prune: disabled"),
        "{ns}"
    );
    assert_eq!(
        r.record.spec.namespaces.as_ref().map(|n| n.created),
        Some(true)
    );
    crate::check::check(&r, &o.install_dir, "flux-system").unwrap();
    // built in, or created elsewhere: no artifact
    o.namespace = "default".into();
    assert!(
        render(&tree(), &o)
            .unwrap()
            .leaves
            .iter()
            .all(|l| l.kind != "namespace")
    );
    o.namespace = "apps".into();
    o.namespaces.created_elsewhere = true;
    let r = render(&tree(), &o).unwrap();
    assert!(r.leaves.iter().all(|l| l.kind != "namespace"));
    assert_eq!(
        r.record.spec.namespaces.as_ref().map(|n| n.created),
        Some(false)
    );
}

#[test]
fn legacy_policy_renders_target_namespace_and_no_record_field() {
    let mut o = opts();
    o.namespaces = crate::namespaces::Policy::of_record(None);
    let r = render(&tree(), &o).unwrap();
    let w = String::from_utf8_lossy(&r.files["artifacts/app/kustomize-flux.yaml"]).into_owned();
    assert!(w.contains("targetNamespace: apps"), "{w}");
    assert!(r.record.spec.namespaces.is_none());
}

#[test]
fn nested_artifacts_are_flattened_with_dependencies() {
    let r = render(&tree(), &opts()).unwrap();
    let ids: Vec<&str> = r.leaves.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, vec!["chart", "app", "nested-app", "nested-db", "last"]);
    let by_id = |id: &str| {
        r.leaves
            .iter()
            .find(|l| l.id == id)
            .unwrap()
            .depends_on
            .clone()
    };
    // The parent's dependsOn reaches every nested artifact; the child's own deps stay.
    assert_eq!(by_id("nested-app"), vec!["inst-chart"]);
    assert_eq!(by_id("nested-db"), vec!["inst-chart", "inst-nested-app"]);
    // dependsOn on a nested profile means all of its artifacts.
    let last = r
        .files
        .get("artifacts/last/kustomize-flux.yaml")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap();
    assert!(
        last.contains("- name: inst-nested-app\n") && last.contains("- name: inst-nested-db\n"),
        "{last}"
    );
    assert!(
        last.contains("path: ./clusters/default/profiles/inst/artifacts/last\n"),
        "{last}"
    );
    crate::check::check(&r, "clusters/default/profiles/inst", "flux-system").unwrap();
}

#[test]
fn oci_chart_and_templated_values() {
    let r = render(&tree(), &opts()).unwrap();
    let repo =
        String::from_utf8_lossy(&r.files["artifacts/chart/helm-repository.yaml"]).into_owned();
    assert!(repo.contains("type: oci"), "{repo}");
    let hr = String::from_utf8_lossy(&r.files["artifacts/chart/helm-release.yaml"]).into_owned();
    assert!(hr.contains("values:\n    a: apps\n"), "{hr}");
    assert!(hr.contains("apiVersion: helm.toolkit.fluxcd.io/v2"), "{hr}");
}

#[test]
fn deep_ids_fit_a_directory_name() {
    let name = "n".repeat(63);
    let mut id = String::new();
    for _ in 0..32 {
        id = join_id(&id, &name);
        assert!(id.len() <= MAX_ID, "{}", id.len());
    }
    assert_eq!(join_id("a", "b"), "a-b");
    assert_ne!(join_id(&id, "x"), join_id(&id, "y"));
}

#[test]
fn an_artifact_named_chart_is_printed_by_render() {
    // `pctl render` once skipped every path containing "/chart/", which dropped
    // all of an artifact whose id is `chart`.
    let r = render(&tree(), &opts()).unwrap();
    let out = manifests(&r);
    assert!(
        out.contains("# Source: artifacts/chart/helm-release.yaml\n"),
        "{out}"
    );
    assert!(
        out.contains("# Source: artifacts/chart/kustomize-flux.yaml\n"),
        "{out}"
    );
    assert!(!r.is_chart_file("artifacts/chart/helm-release.yaml"));
}

#[test]
fn output_is_deterministic_and_hashed_in_the_record() {
    let a = render(&tree(), &opts()).unwrap();
    let b = render(&tree(), &opts()).unwrap();
    assert_eq!(a.files, b.files);
    for (path, bytes) in &a.files {
        if path != record::FILE {
            assert_eq!(a.record.spec.files[path], record::sha256(bytes), "{path}");
        }
    }
    assert_eq!(a.record.spec.files.len(), a.files.len() - 1);
}

#[test]
fn colliding_ids_are_an_error() {
    let mut t = tree();
    t.artifacts[1].name = "nested-app".into();
    let err = render(&t, &opts()).unwrap_err();
    assert!(err.to_string().contains("produced twice"), "{err}");
}

#[test]
fn long_names_fit_63() {
    let mut o = opts();
    o.name = "a".repeat(60);
    let r = render(&tree(), &o).unwrap();
    for l in &r.leaves {
        assert!(
            l.object.len() <= 63 && crate::names::is_dns1123_label(&l.object),
            "{}",
            l.object
        );
    }
    crate::check::check(&r, &o.install_dir, "flux-system").unwrap();
}

#[test]
fn a_kept_layout_puts_every_flux_object_in_its_namespace_under_its_names() {
    let plain = render(&tree(), &opts()).unwrap();
    assert!(!String::from_utf8_lossy(&plain.files[record::FILE]).contains("fluxObjects"));
    let mut o = opts();
    o.namespaces.create = true;
    o.flux_objects = Some(record::FluxObjects {
        namespace: "apps".into(),
        names: BTreeMap::from([("nested-app".to_string(), "inst-old-app".to_string())]),
    });
    let r = render(&tree(), &o).unwrap();
    crate::check::check(&r, &o.install_dir, "flux-system").unwrap();
    let doc =
        |p: &str| -> Value { yaml::from_str(p, &String::from_utf8_lossy(&r.files[p])).unwrap() };
    let w = doc("artifacts/nested-app/kustomize-flux.yaml");
    assert_eq!(w["metadata"]["name"], "inst-old-app");
    assert_eq!(w["metadata"]["namespace"], "apps");
    // Dependencies name the kept names; the namespace artifact's wrapper, which has
    // no old counterpart, stays in the GitRepository's namespace and is named with it.
    let w = doc("artifacts/nested-db/kustomize-flux.yaml");
    assert_eq!(w["metadata"]["name"], "inst-nested-db");
    assert_eq!(
        w["spec"]["dependsOn"],
        json!([{"name": "inst-chart"}, {"name": "inst-namespace", "namespace": "flux-system"}, {"name": "inst-old-app"}])
    );
    let ns = doc("artifacts/namespace/kustomize-flux.yaml");
    assert_eq!(ns["metadata"]["namespace"], "flux-system");
    let hr = doc("artifacts/chart/helm-release.yaml");
    assert_eq!(hr["metadata"]["namespace"], "apps");
    assert_eq!(
        hr["spec"]["chart"]["spec"]["sourceRef"]["namespace"],
        "apps"
    );
    assert_eq!(
        doc("artifacts/chart/helm-repository.yaml")["metadata"]["namespace"],
        "apps"
    );
    assert_eq!(
        doc("artifacts/app/kustomize-flux.yaml")["spec"]["sourceRef"]["namespace"],
        "flux-system"
    );
    // Recorded, so that upgrade and sync render the same layout.
    let text = String::from_utf8_lossy(&r.files[record::FILE]).into_owned();
    let back = Installation::from_yaml("record", &text).unwrap();
    assert_eq!(back.spec.flux_objects, o.flux_objects, "{text}");
}

/// `tree()` with a local chart whose values name the installation.
fn tree_with_local_chart(values: &str) -> Resolved {
    let mut t = tree();
    t.artifacts.push(art(
        "local",
        &[],
        ResolvedKind::LocalChart {
            name: "local".into(),
            files: BTreeMap::from([(
                "Chart.yaml".to_string(),
                b"apiVersion: v2\nname: local\nversion: 0.1.0\n".to_vec(),
            )]),
            default_values: Some(values.into()),
            release: Default::default(),
        },
    ));
    t
}

#[test]
fn a_rendering_moved_to_another_directory_is_the_rendering_there() {
    let t = tree_with_local_chart("who: {{ install.name }}-{{ install.namespace }}\n");
    let here = render(&t, &opts()).unwrap();
    assert!(here.relocatable);
    for to in ["clusters/b/profiles/inst", "apps/inst", "x"] {
        let moved = here.relocated(to).unwrap().expect("movable");
        let there = render(
            &t,
            &Options {
                install_dir: to.into(),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(moved.files, there.files, "{to}");
        assert_eq!(moved.record.spec.path, to);
        assert_eq!(moved.leaves.len(), there.leaves.len());
    }
}

#[test]
fn a_rendering_whose_templates_may_read_its_path_is_not_moved() {
    let here = render(&tree_with_local_chart("p: {{ install.path }}\n"), &opts()).unwrap();
    assert!(!here.relocatable);
    for values in [
        "p: {{ install.path }}\n",
        "p: {{ install['path'] }}\n",
        "{% set i = install %}p: {{ i.name }}\n",
        "p: {{ __tera_context }}\n",
    ] {
        let here = render(&tree_with_local_chart(values), &opts());
        if let Ok(here) = here {
            assert!(!here.relocatable, "{values}");
            assert!(here.relocated("elsewhere").unwrap().is_none(), "{values}");
        }
    }
    // A directory YAML would quote is not moved either.
    let here = render(&tree(), &opts()).unwrap();
    assert!(here.relocated("a dir/with: colon").unwrap().is_none());
}

#[test]
fn options_differing_in_the_cluster_values_render_apart() {
    let a = opts();
    let mut b = Options {
        install_dir: "elsewhere".into(),
        ..opts()
    };
    assert!(a.same_but_dir(&b));
    b.inputs.cluster.push(crate::values::Given {
        key: "replicas".into(),
        value: crate::values::Raw::Text("3".into()),
        origin: crate::values::Origin::new(crate::values::Level::Cluster, "cluster b"),
        secret_ok: false,
        group: 0,
    });
    assert!(!a.same_but_dir(&b));
}
