//! The GitOps repository's `.sops.yaml` creation rules read as data: which age
//! recipients a file is encrypted for. Pure (no key material, no randomness, no
//! clock), so rendering can name a Secret's recipients; `sops.rs` encrypts for them.
use std::collections::HashSet;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};

use crate::yaml::{self, Map, Value};

/// The name used in errors about the creation rules.
const SOPS_YAML: &str = ".sops.yaml";

/// The age recipients from the GitOps repository's `.sops.yaml` (creation_rules; the
/// first rule whose `path_regex` matches `path`, or with no path_regex; `age:` is a
/// comma-separated string or a list). Ok(None) when there is no rule with age
/// recipients. Errors name `.sops.yaml` and the problem.
///
/// `path` is the file's path relative to the repository root (where `.sops.yaml` is),
/// with `/` separators; like `sops`, the regex is searched for anywhere in it (anchor it
/// with `^…$` to match the whole path). A rule with `key_groups` takes its recipients
/// from its one key group (and its `merge` entries); several key groups (Shamir
/// splitting) are an error. Only X25519 recipients (`age1…`) are accepted; a rule's
/// other keys (PGP, KMS, …) are not used by pctl. Duplicates are dropped, order kept.
pub fn age_recipients(sops_yaml: &str, path: &str) -> Result<Option<Vec<String>>> {
    if sops_yaml.trim().is_empty() {
        return Ok(None);
    }
    let config: Value = yaml::from_str(SOPS_YAML, sops_yaml)?;
    let rules = match &config {
        Value::Null => return Ok(None),
        Value::Object(map) => match map.get("creation_rules") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(rules)) => rules,
            Some(_) => bail!("{SOPS_YAML}: `creation_rules` must be a list of rules"),
        },
        _ => bail!("{SOPS_YAML}: the file must be a mapping with `creation_rules`"),
    };
    for (i, rule) in rules.iter().enumerate() {
        let Value::Object(rule) = rule else {
            bail!("{SOPS_YAML}: creation_rules[{i}] must be a mapping");
        };
        if !rule_matches(rule, path).with_context(|| format!("{SOPS_YAML}: creation_rules[{i}]"))? {
            continue;
        }
        // The first matching rule decides, as in sops.
        let found =
            rule_recipients(rule).with_context(|| format!("{SOPS_YAML}: creation_rules[{i}]"))?;
        return Ok((!found.is_empty()).then_some(found));
    }
    Ok(None)
}

fn rule_matches(rule: &Map, path: &str) -> Result<bool> {
    let pattern = match rule.get("path_regex") {
        None | Some(Value::Null) => return Ok(true),
        Some(Value::String(p)) => p,
        Some(_) => bail!("`path_regex` must be a string"),
    };
    if pattern.is_empty() {
        return Ok(true);
    }
    let re = regex::Regex::new(pattern)
        .map_err(|e| anyhow!("`path_regex` {pattern:?} is not a valid regular expression: {e}"))?;
    Ok(re.is_match(path))
}

fn rule_recipients(rule: &Map) -> Result<Vec<String>> {
    let mut out = Vec::new();
    match rule.get("key_groups") {
        Some(Value::Array(groups)) if !groups.is_empty() => {
            // sops ignores the rule's top-level keys when it has key groups.
            if groups.len() > 1 {
                bail!(
                    "has {} `key_groups`; pctl encrypts for one group of age recipients and does not split the data key (Shamir)",
                    groups.len()
                );
            }
            group_recipients(&groups[0], "key_groups[0]", &mut out)?;
        }
        None | Some(Value::Null) | Some(Value::Array(_)) => {
            if let Some(age) = rule.get("age") {
                key_list(age, "age", &mut out)?;
            }
        }
        Some(_) => bail!("`key_groups` must be a list"),
    }
    let mut seen = HashSet::new();
    out.retain(|r| seen.insert(r.clone()));
    Ok(out)
}

fn group_recipients(group: &Value, at: &str, out: &mut Vec<String>) -> Result<()> {
    let Value::Object(group) = group else {
        bail!("`{at}` must be a mapping");
    };
    match group.get("merge") {
        None | Some(Value::Null) => {}
        Some(Value::Array(merged)) => {
            for (j, g) in merged.iter().enumerate() {
                group_recipients(g, &format!("{at}.merge[{j}]"), out)?;
            }
        }
        Some(_) => bail!("`{at}.merge` must be a list"),
    }
    if let Some(age) = group.get("age") {
        key_list(age, &format!("{at}.age"), out)?;
    }
    Ok(())
}

/// `age:` as sops reads it: a comma-separated string, or a list of strings (each of
/// which may again hold several comma-separated recipients).
fn key_list(value: &Value, at: &str, out: &mut Vec<String>) -> Result<()> {
    let items: Vec<&str> = match value {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| anyhow!("`{at}` must list strings (age public keys)"))
            })
            .collect::<Result<_>>()?,
        _ => bail!("`{at}` must be a comma-separated string or a list of age public keys"),
    };
    for item in items {
        for r in item.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            parse_recipient(r).with_context(|| format!("`{at}`"))?;
            out.push(r.to_string());
        }
    }
    Ok(())
}

pub(crate) fn parse_recipient(r: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(r).map_err(|e| {
        anyhow!(
            "{r:?} is not an age X25519 public key (age1…): {e}; pctl encrypts only for those (no SSH or plugin recipients)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    const R2: &str = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg";

    fn recipients(config: &str, path: &str) -> Option<Vec<String>> {
        age_recipients(config, path).unwrap()
    }

    #[test]
    fn sops_yaml_age_forms() {
        let csv = format!("creation_rules:\n  - age: \"{R1}, {R2},\"\n");
        assert_eq!(
            recipients(&csv, "a/b.yaml"),
            Some(vec![R1.to_string(), R2.to_string()])
        );
        let list = format!(
            "creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    age:\n      - {R2}\n      - {R1}\n      - {R2}\n"
        );
        assert_eq!(
            recipients(&list, "x.yaml"),
            Some(vec![R2.to_string(), R1.to_string()])
        );
        let groups = format!(
            "creation_rules:\n  - key_groups:\n      - age: [{R1}]\n        merge:\n          - age: [{R2}]\n"
        );
        assert_eq!(
            recipients(&groups, "x.yaml"),
            Some(vec![R2.to_string(), R1.to_string()])
        );
    }

    #[test]
    fn sops_yaml_first_matching_rule_decides() {
        let config = format!(
            "creation_rules:\n  - path_regex: ^clusters/prod/.*\\.yaml$\n    age: {R1}\n  - path_regex: \\.txt$\n    pgp: ABCDEF\n  - age: {R2}\n"
        );
        assert_eq!(
            recipients(&config, "clusters/prod/s.yaml"),
            Some(vec![R1.to_string()])
        );
        assert_eq!(
            recipients(&config, "clusters/dev/s.yaml"),
            Some(vec![R2.to_string()])
        );
        // A matching rule without age recipients: none, even though a later rule has some.
        assert_eq!(recipients(&config, "notes.txt"), None);
        // The regex is searched for, not anchored.
        let unanchored = format!("creation_rules:\n  - path_regex: prod\n    age: {R1}\n");
        assert_eq!(
            recipients(&unanchored, "clusters/prod/s.yaml"),
            Some(vec![R1.to_string()])
        );
        assert_eq!(recipients(&unanchored, "clusters/dev/s.yaml"), None);
    }

    #[test]
    fn sops_yaml_without_age_rules() {
        assert_eq!(recipients("", "a.yaml"), None);
        assert_eq!(recipients("# nothing\n", "a.yaml"), None);
        assert_eq!(recipients("stores: {yaml: {indent: 2}}\n", "a.yaml"), None);
        assert_eq!(recipients("creation_rules: []\n", "a.yaml"), None);
        assert_eq!(
            recipients("creation_rules:\n  - pgp: ABC\n", "a.yaml"),
            None
        );
        assert_eq!(
            recipients("creation_rules:\n  - age: \"\"\n", "a.yaml"),
            None
        );
    }

    #[test]
    fn sops_yaml_errors_name_the_file_and_problem() {
        let err = |config: &str| format!("{:#}", age_recipients(config, "a.yaml").unwrap_err());
        for (config, problem) in [
            ("creation_rules: [\n", ".sops.yaml: "),
            ("- a\n", "must be a mapping with `creation_rules`"),
            ("creation_rules: {age: x}\n", "must be a list"),
            (
                "creation_rules:\n  - 3\n",
                "creation_rules[0] must be a mapping",
            ),
            (
                "creation_rules:\n  - path_regex: \"(\"\n    age: x\n",
                "not a valid regular expression",
            ),
            (
                "creation_rules:\n  - age: age1nope\n",
                "\"age1nope\" is not an age X25519 public key",
            ),
            ("creation_rules:\n  - age: [3]\n", "must list strings"),
            (
                "creation_rules:\n  - key_groups: [{age: [a]}, {age: [b]}]\n",
                "Shamir",
            ),
        ] {
            let msg = err(config);
            assert!(msg.starts_with(".sops.yaml"), "{msg}");
            assert!(msg.contains(problem), "{config}: {msg}");
        }
        let msg = err("creation_rules:\n  - age: x\n  - age: ssh-ed25519 AAAA\n");
        assert!(msg.contains("creation_rules[0]"), "{msg}");
    }
}
