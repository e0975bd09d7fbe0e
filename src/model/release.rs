//! The HelmRelease settings of a chart artifact (`chart.release`,
//! docs/profile-reference.md#chartrelease): which fields of a Flux HelmRelease v2
//! spec a profile may set, their validation against the embedded Flux schema, and the
//! effective Helm release name as helm-controller computes it. Pure.
use crate::yaml::{Map, Value};
use anyhow::Result;
use sha2::{Digest, Sha256};

/// The served HelmRelease schema the fields are checked against.
pub const SCHEMA: &str = "helm.toolkit.fluxcd.io/v2/HelmRelease";

/// The HelmRelease `spec` fields a profile may set under `chart.release`, in the order
/// pctl writes them.
pub const FIELDS: &[&str] = &[
    "releaseName",
    "targetNamespace",
    "storageNamespace",
    "interval",
    "timeout",
    "maxHistory",
    "install",
    "upgrade",
    "rollback",
    "test",
    "uninstall",
    "driftDetection",
    "postRenderers",
];

/// HelmRelease `spec` fields a profile cannot set, and why (the hint).
pub const NOT_SETTABLE: &[(&str, &str)] = &[
    (
        "chart",
        "pctl writes the chart from the artifact's `url`, `name` and `version` (or `path`)",
    ),
    (
        "chartRef",
        "pctl writes the chart from the artifact's `url`, `name` and `version` (or `path`)",
    ),
    (
        "values",
        "chart values go in the artifact's `defaultValues`",
    ),
    (
        "valuesFrom",
        "chart values go in `defaultValues`; values users give (secrets too) come from parameters",
    ),
    ("dependsOn", "use the artifact's own `dependsOn`"),
    (
        "serviceAccountName",
        "a profile does not choose the identity helm-controller acts as; the cluster's Flux configuration does",
    ),
    (
        "kubeConfig",
        "a profile cannot send a release to another cluster",
    ),
    (
        "suspend",
        "suspend a release in the cluster (`flux suspend hr`), not in a profile",
    ),
    (
        "persistentClient",
        "helm-controller's default is what pctl writes",
    ),
    (
        "commonMetadata",
        "add labels and annotations through the chart's values",
    ),
    ("healthCheckExprs", "not carried by pctl profiles yet"),
    ("postRenderStrategy", "not carried by pctl profiles yet"),
    ("waitStrategy", "not carried by pctl profiles yet"),
];

/// The hint for a field of `chart.release` that is refused.
pub const HINT: &str = "chart.release takes these HelmRelease spec fields: releaseName, targetNamespace, storageNamespace, interval, timeout, maxHistory, install, upgrade, rollback, test, uninstall, driftDetection, postRenderers (docs/profile-reference.md)";

/// Longest Helm release name (Helm's own limit).
pub const MAX_RELEASE_NAME: usize = 53;

/// The `chart.release` settings of one chart artifact (empty: pctl's defaults).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Release {
    /// The fields as written (strings may hold Tera templates), in [`FIELDS`] order.
    pub fields: Map,
}

impl Release {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// A string field (`releaseName`, `targetNamespace`, …), if set.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

/// Whether a string is a Tera template (rendered at install).
pub fn is_templated(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// One problem of a `chart.release` block: where below it (`install.strategy.name`),
/// what, and a hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub hint: String,
}

/// Every problem of a `chart.release` value: unknown fields, fields a profile cannot
/// set, values the Flux HelmRelease v2 schema refuses, and names Helm refuses. Strings
/// holding templates are checked once rendered ([`check_rendered`]).
pub fn problems(v: &Value) -> Vec<Problem> {
    let Some(map) = v.as_object() else {
        return vec![Problem {
            path: String::new(),
            message: "is not a mapping of HelmRelease fields".into(),
            hint: HINT.into(),
        }];
    };
    let mut out = Vec::new();
    for (k, val) in map {
        if !FIELDS.contains(&k.as_str()) {
            let (message, hint) = match NOT_SETTABLE.iter().find(|(f, _)| f == k) {
                Some((_, why)) => (
                    format!("`{k}` is a HelmRelease field that a profile cannot set"),
                    why.to_string(),
                ),
                None => (
                    format!("unknown field `{k}`"),
                    crate::model::field_hint(k, FIELDS),
                ),
            };
            out.push(Problem {
                path: k.clone(),
                message,
                hint,
            });
            continue;
        }
        for violation in
            crate::check::schema::validate_field(SCHEMA, &["spec", k], val).unwrap_or_default()
        {
            if templated_at(val, &violation.path) {
                continue;
            }
            let at = violation.at();
            out.push(Problem {
                path: if at == "(root)" {
                    k.clone()
                } else if at.starts_with('[') {
                    format!("{k}{at}")
                } else {
                    format!("{k}.{at}")
                },
                message: violation.message,
                hint: format!(
                    "the value must fit the `spec.{k}` field of a Flux HelmRelease (helm.toolkit.fluxcd.io/v2)"
                ),
            });
        }
        if let Some(s) = val.as_str().filter(|s| !is_templated(s)) {
            let why = match k.as_str() {
                "releaseName" => release_name_problem(s),
                "targetNamespace" | "storageNamespace" => (!crate::names::is_dns1123_label(s))
                    .then(|| format!("{s:?} is not a namespace name (a DNS-1123 label)")),
                _ => None,
            };
            if let Some(message) = why {
                out.push(Problem {
                    path: k.clone(),
                    message,
                    hint: "use lower-case letters, digits and '-' (at most 53 characters for a release name, 63 for a namespace)".into(),
                });
            }
        }
    }
    out
}

/// Why Helm refuses a release name, if it does.
pub fn release_name_problem(s: &str) -> Option<String> {
    if s.len() > MAX_RELEASE_NAME {
        return Some(format!(
            "release name {s:?} is {} characters long, over Helm's limit of {MAX_RELEASE_NAME}",
            s.len()
        ));
    }
    let ok = !s.is_empty() && s.split('.').all(crate::names::is_dns1123_label);
    (!ok).then(|| format!("{s:?} is not a Helm release name"))
}

/// Whether the value at `path` (property names and `[i]`) below `v` is a template.
fn templated_at(v: &Value, path: &[String]) -> bool {
    let mut cur = v;
    for p in path {
        let next = match p.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
            Some(i) => i.parse::<usize>().ok().and_then(|i| cur.get(i)),
            None => cur.get(p.as_str()),
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    cur.as_str().is_some_and(is_templated)
}

/// Read `chart.release` of one artifact: the first problem is an error naming the file,
/// the artifact and the field.
pub fn parse(origin: &str, artifact: &str, v: Value) -> Result<Release> {
    if let Some(p) = problems(&v).into_iter().next() {
        return Err(error(origin, artifact, &p));
    }
    let map = v.as_object().cloned().unwrap_or_default();
    let mut fields = Map::new();
    for f in FIELDS {
        if let Some(x) = map.get(*f) {
            fields.insert(f.to_string(), x.clone());
        }
    }
    Ok(Release { fields })
}

/// The same rules for the fields once their templates are rendered (at install).
pub fn check_rendered(origin: &str, artifact: &str, fields: &Map) -> Result<()> {
    let v = Value::Object(fields.clone());
    match problems(&v).into_iter().next() {
        Some(p) => Err(error(origin, artifact, &p)),
        None => Ok(()),
    }
}

fn error(origin: &str, artifact: &str, p: &Problem) -> anyhow::Error {
    let at = if p.path.is_empty() {
        "chart.release".to_string()
    } else {
        format!("chart.release.{}", p.path)
    };
    crate::error::user(
        format!("{origin}: artifact {artifact:?}: {at}: {}", p.message),
        p.hint.clone(),
    )
}

/// The Helm release name helm-controller uses for a HelmRelease named `name`:
/// `releaseName` when set, else `<targetNamespace>-<name>` (or `<name>` with no
/// target namespace), shortened as helm-controller shortens names over 53 characters
/// (the first 40 characters, '-', 12 hex digits of the SHA-256 of the whole name).
pub fn effective_name(name: &str, release_name: Option<&str>, target: Option<&str>) -> String {
    let full = match (
        release_name.filter(|r| !r.is_empty()),
        target.filter(|t| !t.is_empty()),
    ) {
        (Some(r), _) => r.to_string(),
        (None, Some(t)) => format!("{t}-{name}"),
        (None, None) => name.to_string(),
    };
    shorten(&full)
}

/// helm-controller's `ShortenName`.
pub fn shorten(name: &str) -> String {
    if name.len() <= MAX_RELEASE_NAME {
        return name.to_string();
    }
    let sum = crate::record::hex(&Sha256::digest(name.as_bytes()));
    let keep = MAX_RELEASE_NAME - 13;
    let cut = (0..=keep)
        .rev()
        .find(|i| name.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}-{}", &name[..cut], &sum[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn effective_names_follow_helm_controller() {
        assert_eq!(effective_name("podinfo", None, None), "podinfo");
        assert_eq!(
            effective_name("podinfo", None, Some("apps")),
            "apps-podinfo"
        );
        assert_eq!(effective_name("podinfo", Some("web"), Some("apps")), "web");
        let long = "a".repeat(60);
        let short = effective_name(&long, None, None);
        assert_eq!(short.len(), 53);
        assert!(short.starts_with(&"a".repeat(40)));
        assert_eq!(&short[40..41], "-");
    }

    #[test]
    fn fields_are_checked_against_the_flux_schema() {
        let ok = json!({
            "releaseName": "podinfo",
            "install": {"strategy": {"name": "RetryOnFailure"}, "remediation": {"retries": 3}},
            "interval": "30m",
            "driftDetection": {"mode": "enabled"},
        });
        assert_eq!(problems(&ok), vec![]);
        let bad = json!({"install": {"strategy": {"name": "Retry"}}});
        let p = problems(&bad);
        assert_eq!(p[0].path, "install.strategy.name");
        assert!(p[0].message.contains("RetryOnFailure"), "{p:?}");
        let typo = json!({"instal": {}});
        assert!(problems(&typo)[0].hint.contains("did you mean `install`?"));
        let refused = json!({"serviceAccountName": "admin"});
        assert!(problems(&refused)[0].message.contains("cannot set"));
        let name = json!({"releaseName": "Bad_Name"});
        assert!(
            problems(&name)[0]
                .message
                .contains("not a Helm release name")
        );
        let interval = json!({"interval": "often"});
        assert_eq!(problems(&interval)[0].path, "interval");
        // A template is checked once rendered.
        let templated =
            json!({"releaseName": "{{ install.name }}-web", "interval": "{{ params.i }}"});
        assert_eq!(problems(&templated), vec![]);
    }
}
