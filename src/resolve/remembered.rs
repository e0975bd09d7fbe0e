//! Parsed profile definitions remembered across processes (docs/architecture.md#memos,
//! kind `profile-definition`): what [`model::parse`] returned for one text, as a memo
//! of the parse cache of the GitOps repository in use (install, upgrade), so that a
//! later process reads the definition back instead of parsing `profile.yaml` again.
//! The key names every input of the answer (the text, its origin, its directory's
//! name, this format); only definitions that parse are kept, and an entry that does
//! not decode exactly is a miss.
use crate::git::parsecache::{self, Reader, put_bytes, put_len, put_value};
use crate::model::{
    self, Artifact, ArtifactKind, Chart, NestedSource, ParamType, Parameter, ProfileDefinition,
    Release, Warnings,
};
use crate::yaml::{Map, Value};
use anyhow::Result;

/// The payload's format: bump it whenever [`model::parse`] may answer differently for
/// the same text, or the encoding below changes.
const FORMAT: u8 = 1;
const KIND: &str = "profile-definition";

/// [`model::parse`], read from the memo when an earlier process of this user kept
/// its answer for the same text, origin and directory name (and kept when not).
pub(super) fn parse(
    origin: &str,
    text: &str,
    dir_name: Option<&str>,
) -> Result<(ProfileDefinition, Warnings)> {
    if !parsecache::attached() {
        return model::parse(origin, text, dir_name);
    }
    let dir = match dir_name {
        Some(d) => [&[1u8][..], d.as_bytes()].concat(),
        None => vec![0],
    };
    let key = parsecache::memo_key(
        KIND,
        &[
            &[FORMAT],
            env!("CARGO_PKG_VERSION").as_bytes(),
            origin.as_bytes(),
            &dir,
            text.as_bytes(),
        ],
    );
    if let Some(hit) = parsecache::memo_get(&key).and_then(|p| decode(&p)) {
        // The tests check every answer read back against a parse.
        #[cfg(debug_assertions)]
        assert_eq!(
            model::parse(origin, text, dir_name)
                .ok()
                .map(|parsed| format!("{parsed:?}")),
            Some(format!("{hit:?}")),
            "remembered definition of {origin}"
        );
        return Ok(hit);
    }
    let parsed = model::parse(origin, text, dir_name)?;
    let payload = encode(&parsed.0, &parsed.1);
    #[cfg(debug_assertions)]
    assert_eq!(
        decode(&payload).map(|d| format!("{d:?}")),
        Some(format!("{parsed:?}")),
        "encoded definition of {origin}"
    );
    parsecache::memo_put(&key, &payload);
    Ok(parsed)
}

// ------------------------------------------------------------------ encoding

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn put_strs(out: &mut Vec<u8>, v: &[String]) {
    put_len(out, v.len());
    for s in v {
        put_str(out, s);
    }
}

fn put_opt_f64(out: &mut Vec<u8>, x: Option<f64>) {
    match x {
        None => out.push(0),
        Some(x) => {
            out.push(1);
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
}

fn put_map(out: &mut Vec<u8>, m: &Map) {
    put_len(out, m.len());
    for (k, v) in m {
        put_str(out, k);
        put_value(out, v);
    }
}

fn encode(def: &ProfileDefinition, warnings: &[String]) -> Vec<u8> {
    // Every field named, so that a field added to the model is a compile error here.
    let ProfileDefinition {
        name,
        description,
        maintainer,
        prerequisites,
        keywords,
        parameters,
        presets,
        artifacts,
    } = def;
    let mut out = vec![FORMAT];
    put_str(&mut out, name);
    put_str(&mut out, description);
    put_str(&mut out, maintainer);
    put_strs(&mut out, prerequisites);
    put_strs(&mut out, keywords);
    put_len(&mut out, parameters.len());
    for p in parameters {
        put_parameter(&mut out, p);
    }
    put_len(&mut out, presets.len());
    for (k, m) in presets {
        put_str(&mut out, k);
        put_map(&mut out, m);
    }
    put_len(&mut out, artifacts.len());
    for a in artifacts {
        put_artifact(&mut out, a);
    }
    put_strs(&mut out, warnings);
    out
}

fn type_byte(t: ParamType) -> u8 {
    match t {
        ParamType::String => 0,
        ParamType::Integer => 1,
        ParamType::Number => 2,
        ParamType::Boolean => 3,
        ParamType::Enum => 4,
        ParamType::Secret => 5,
        ParamType::Object => 6,
    }
}

fn byte_type(b: u8) -> Option<ParamType> {
    Some(match b {
        0 => ParamType::String,
        1 => ParamType::Integer,
        2 => ParamType::Number,
        3 => ParamType::Boolean,
        4 => ParamType::Enum,
        5 => ParamType::Secret,
        6 => ParamType::Object,
        _ => return None,
    })
}

fn put_parameter(out: &mut Vec<u8>, p: &Parameter) {
    let Parameter {
        name,
        kind,
        required,
        default,
        allowed,
        pattern,
        minimum,
        maximum,
        description,
        multiline,
    } = p;
    put_str(out, name);
    out.push(type_byte(*kind));
    out.push(u8::from(*required));
    match default {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_value(out, v);
        }
    }
    put_len(out, allowed.len());
    for v in allowed {
        put_value(out, v);
    }
    put_opt_str(out, pattern);
    put_opt_f64(out, *minimum);
    put_opt_f64(out, *maximum);
    put_str(out, description);
    out.push(u8::from(*multiline));
}

fn put_artifact(out: &mut Vec<u8>, a: &Artifact) {
    let Artifact {
        name,
        kind,
        depends_on,
        template,
    } = a;
    put_str(out, name);
    match kind {
        ArtifactKind::Chart {
            chart,
            default_values,
            release: Release { fields },
        } => {
            match chart {
                Chart::Local { path } => {
                    out.push(0);
                    put_str(out, path);
                }
                Chart::Remote { url, name, version } => {
                    out.push(1);
                    put_str(out, url);
                    put_str(out, name);
                    put_str(out, version);
                }
            }
            put_opt_str(out, default_values);
            put_map(out, fields);
        }
        ArtifactKind::Kustomize { path } => {
            out.push(2);
            put_str(out, path);
        }
        ArtifactKind::Profile {
            source:
                NestedSource {
                    url,
                    tag,
                    branch,
                    version,
                    path,
                },
            with,
        } => {
            out.push(3);
            put_opt_str(out, url);
            put_opt_str(out, tag);
            put_opt_str(out, branch);
            put_opt_str(out, version);
            put_str(out, path);
            put_map(out, with);
        }
    }
    put_strs(out, depends_on);
    out.push(u8::from(*template));
}

// ------------------------------------------------------------------ decoding

fn string(r: &mut Reader) -> Option<String> {
    r.str().map(str::to_string)
}

fn flag(r: &mut Reader) -> Option<bool> {
    match r.byte()? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

fn opt_string(r: &mut Reader) -> Option<Option<String>> {
    Some(match flag(r)? {
        false => None,
        true => Some(string(r)?),
    })
}

fn strings(r: &mut Reader) -> Option<Vec<String>> {
    let n = r.items(1)?;
    (0..n).map(|_| string(r)).collect()
}

fn opt_f64(r: &mut Reader) -> Option<Option<f64>> {
    Some(match flag(r)? {
        false => None,
        true => Some(f64::from_le_bytes(r.take(8)?.try_into().ok()?)),
    })
}

fn map(r: &mut Reader) -> Option<Map> {
    let n = r.items(2)?;
    let mut m = Map::new();
    for _ in 0..n {
        let k = string(r)?;
        let v = r.one_value()?;
        if m.insert(k, v).is_some() {
            return None;
        }
    }
    Some(m)
}

fn decode(bytes: &[u8]) -> Option<(ProfileDefinition, Warnings)> {
    let mut r = Reader::new(bytes);
    if r.byte()? != FORMAT {
        return None;
    }
    let name = string(&mut r)?;
    let description = string(&mut r)?;
    let maintainer = string(&mut r)?;
    let prerequisites = strings(&mut r)?;
    let keywords = strings(&mut r)?;
    let n = r.items(1)?;
    let parameters = (0..n)
        .map(|_| parameter(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let n = r.items(2)?;
    let mut presets = std::collections::BTreeMap::new();
    for _ in 0..n {
        let k = string(&mut r)?;
        let m = map(&mut r)?;
        if presets.insert(k, m).is_some() {
            return None;
        }
    }
    let n = r.items(1)?;
    let artifacts = (0..n)
        .map(|_| artifact(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let warnings = strings(&mut r)?;
    r.end()?;
    Some((
        ProfileDefinition {
            name,
            description,
            maintainer,
            prerequisites,
            keywords,
            parameters,
            presets,
            artifacts,
        },
        warnings,
    ))
}

fn parameter(r: &mut Reader) -> Option<Parameter> {
    let name = string(r)?;
    let kind = byte_type(r.byte()?)?;
    let required = flag(r)?;
    let default = match flag(r)? {
        false => None,
        true => Some(r.one_value()?),
    };
    let n = r.items(1)?;
    let allowed = (0..n)
        .map(|_| r.one_value())
        .collect::<Option<Vec<Value>>>()?;
    Some(Parameter {
        name,
        kind,
        required,
        default,
        allowed,
        pattern: opt_string(r)?,
        minimum: opt_f64(r)?,
        maximum: opt_f64(r)?,
        description: string(r)?,
        multiline: flag(r)?,
    })
}

fn artifact(r: &mut Reader) -> Option<Artifact> {
    let name = string(r)?;
    let kind = match r.byte()? {
        tag @ (0 | 1) => {
            let chart = match tag {
                0 => Chart::Local { path: string(r)? },
                _ => Chart::Remote {
                    url: string(r)?,
                    name: string(r)?,
                    version: string(r)?,
                },
            };
            ArtifactKind::Chart {
                chart,
                default_values: opt_string(r)?,
                release: Release { fields: map(r)? },
            }
        }
        2 => ArtifactKind::Kustomize { path: string(r)? },
        3 => ArtifactKind::Profile {
            source: NestedSource {
                url: opt_string(r)?,
                tag: opt_string(r)?,
                branch: opt_string(r)?,
                version: opt_string(r)?,
                path: string(r)?,
            },
            with: map(r)?,
        },
        _ => return None,
    };
    Some(Artifact {
        name,
        kind,
        depends_on: strings(r)?,
        template: flag(r)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_reads_back() {
        let text = r#"apiVersion: weave.works/v1alpha1
kind: ProfileDefinition
metadata:
  name: demo
spec:
  description: all the fields
  maintainer: someone
  prerequisites: [flux]
  keywords: [a, b]
  parameters:
    - name: replicas
      type: integer
      default: 2
      minimum: 1
      maximum: 9.5
    - name: mode
      type: enum
      enum: [fast, 1.10]
      required: true
      description: how
    - name: pat
      pattern: "^x+$"
      multiline: true
    - name: values
      type: object
      default: {a: 0755, b: [y, "z"]}
  presets:
    small: {replicas: 1, values: {c: 1}}
  artifacts:
    - name: local
      chart:
        path: charts/local
        defaultValues: "x: 1"
        release: {releaseName: demo, timeout: 5m}
    - name: remote
      chart: {url: "https://charts.example.com", name: nginx, version: 1.2.3}
      dependsOn: [{name: local}]
      template: true
    - name: k
      kustomize: {path: k}
    - name: nested
      profile:
        source: {url: "https://example.com/p", tag: sub/v1.0.0}
        with: {replicas: 3, flag: on}
"#;
        let (def, warnings) = model::parse("o", text, Some("other")).unwrap();
        assert!(!warnings.is_empty());
        let payload = encode(&def, &warnings);
        assert_eq!(decode(&payload), Some((def, warnings)));
        // Anything else is a miss: another format, a truncated or longer payload.
        let mut other = payload.clone();
        other[0] = FORMAT + 1;
        assert_eq!(decode(&other), None);
        for n in 0..payload.len() {
            assert_eq!(decode(&payload[..n]), None, "{n}");
        }
        let mut longer = payload.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
    }
}
