//! The HelmRelease spec of a chart artifact (docs/layout.md,
//! docs/profile-reference.md#chartrelease): pctl's defaults (release
//! `<NAME>-<artifact-id>`, target and storage namespace `--namespace`, `createNamespace`)
//! with the artifact's `chart.release` settings over them, their templates rendered and
//! checked again. Pure.
use crate::model::{Release, release};
use crate::yaml::{Map, Value};
use anyhow::{Result, bail};
use serde_json::json;

/// What pctl writes when the profile does not say.
pub struct Defaults<'a> {
    pub release_name: String,
    /// The install namespace (`--namespace`).
    pub namespace: &'a str,
    pub create_namespace: bool,
    pub interval: &'a str,
}

/// The HelmRelease `spec` (without values) for one chart artifact. `origin` and
/// `artifact` name the profile and the artifact in messages.
pub fn spec(
    origin: &str,
    artifact: &str,
    settings: &Release,
    defaults: Defaults,
    chart_spec: Value,
    ctx: &Value,
) -> Result<Map> {
    let mut given = Map::new();
    for (k, v) in &settings.fields {
        let rendered = super::render_value(
            &format!("{origin} artifact {artifact:?} chart.release.{k}"),
            v,
            ctx,
        )?;
        if value_holds(&rendered, super::SECRET_MARK) {
            bail!(crate::error::user(
                format!(
                    "{origin}: artifact {artifact:?}: chart.release.{k} uses a secret parameter"
                ),
                "HelmRelease settings are written in clear text; use secret parameters only in `defaultValues`",
            ));
        }
        given.insert(k.clone(), rendered);
    }
    release::check_rendered(origin, artifact, &given)?;
    let text = |k: &str| given.get(k).and_then(Value::as_str).map(str::to_string);
    let target = text("targetNamespace").unwrap_or_else(|| defaults.namespace.to_string());
    let storage = text("storageNamespace").unwrap_or_else(|| target.clone());
    let mut install = Map::new();
    install.insert("createNamespace".into(), json!(defaults.create_namespace));
    if let Some(Value::Object(m)) = given.get("install") {
        for (k, v) in m {
            install.insert(k.clone(), v.clone());
        }
    }
    let mut spec = Map::new();
    spec.insert(
        "interval".into(),
        given
            .get("interval")
            .cloned()
            .unwrap_or_else(|| json!(defaults.interval)),
    );
    spec.insert(
        "releaseName".into(),
        json!(text("releaseName").unwrap_or(defaults.release_name)),
    );
    spec.insert("targetNamespace".into(), json!(target));
    spec.insert("storageNamespace".into(), json!(storage));
    for k in ["timeout", "maxHistory"] {
        if let Some(v) = given.get(k) {
            spec.insert(k.into(), v.clone());
        }
    }
    spec.insert("install".into(), Value::Object(install));
    for k in [
        "upgrade",
        "rollback",
        "test",
        "uninstall",
        "driftDetection",
        "postRenderers",
    ] {
        if let Some(v) = given.get(k) {
            spec.insert(k.into(), v.clone());
        }
    }
    spec.insert("chart".into(), json!({ "spec": chart_spec }));
    Ok(spec)
}

fn value_holds(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.contains(needle),
        Value::Array(a) => a.iter().any(|x| value_holds(x, needle)),
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.contains(needle) || value_holds(x, needle)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults<'static> {
        Defaults {
            release_name: "shop-web".into(),
            namespace: "apps",
            create_namespace: true,
            interval: "10m0s",
        }
    }

    fn ctx() -> Value {
        json!({"params": {"secret": "PCTL-SECRET-61-END"}, "install": {"name": "shop", "namespace": "apps"}})
    }

    #[test]
    fn no_settings_give_pctls_defaults() {
        let s = spec(
            "p",
            "web",
            &Release::default(),
            defaults(),
            json!({"chart": "c"}),
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            Value::Object(s),
            json!({
                "interval": "10m0s",
                "releaseName": "shop-web",
                "targetNamespace": "apps",
                "storageNamespace": "apps",
                "install": {"createNamespace": true},
                "chart": {"spec": {"chart": "c"}},
            })
        );
    }

    #[test]
    fn settings_win_and_templates_render() {
        let r = release::parse(
            "p",
            "web",
            json!({
                "releaseName": "{{ install.name }}-podinfo",
                "targetNamespace": "podinfo",
                "install": {"createNamespace": false, "strategy": {"name": "RetryOnFailure"}},
                "interval": "30m",
                "timeout": "5m",
            }),
        )
        .unwrap();
        let s = spec("p", "web", &r, defaults(), json!({}), &ctx()).unwrap();
        assert_eq!(s["releaseName"], json!("shop-podinfo"));
        assert_eq!(s["targetNamespace"], json!("podinfo"));
        assert_eq!(
            s["storageNamespace"],
            json!("podinfo"),
            "storage follows the target"
        );
        assert_eq!(
            s["install"],
            json!({"createNamespace": false, "strategy": {"name": "RetryOnFailure"}})
        );
        assert_eq!(s["interval"], json!("30m"));
        assert_eq!(s["timeout"], json!("5m"));
    }

    #[test]
    fn rendered_values_are_checked_and_secrets_refused() {
        let r = release::parse("p", "web", json!({"releaseName": "{{ install.name }}_x"})).unwrap();
        let e = spec("p", "web", &r, defaults(), json!({}), &ctx()).unwrap_err();
        assert!(e.to_string().contains("chart.release.releaseName"), "{e}");
        let r = release::parse("p", "web", json!({"releaseName": "{{ params.secret }}"})).unwrap();
        let e = spec("p", "web", &r, defaults(), json!({}), &ctx()).unwrap_err();
        assert!(e.to_string().contains("secret parameter"), "{e}");
    }
}
