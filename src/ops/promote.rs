//! `pctl promote NAME --from A --to B` (docs/fleets.md#promotion): bring cluster B's
//! installation to the version cluster A's runs, with A's own values, through the
//! upgrade merge (B's edits kept, conflicts stop with exit 3), in one commit or pull
//! request that says what changes.
//!
//! What travels from A: the recorded commits (the profile's and every nested
//! profile's), the requested constraint and channel, the values given on the command
//! line or in values files (recorded as `flag`, `values-file`, `recorded`), the preset
//! and the value profiles' names. What stays B's: its namespace and namespace choice,
//! its secrets and secret references, and the levels read afresh as upgrade reads
//! them: B's cluster values (`.pctl/values/clusters/B.yaml`), the value profiles'
//! and `global.yaml`'s contents, and defaults. A's values from `cluster:A` never travel.
use crate::error::user;
use crate::git::Mode;
use crate::gitops::clusters::Selection;
use crate::merge::Strategy;
use crate::ops::Context;
use crate::record::Installation;
use anyhow::{Result, bail};

pub struct PromoteOptions {
    pub name: String,
    /// The cluster whose installation is the model (`--from`).
    pub from: String,
    /// The cluster whose installation changes (`--to`).
    pub to: String,
    pub strategy: Strategy,
    pub mode: Mode,
    pub message: Option<String>,
    pub pr: Option<crate::ops::pr::PrOptions>,
}

/// A value that differs between the two records: name, before, after (None: unset),
/// and where the new value comes from (empty for a secret, shown as `(secret)`, never
/// its value).
#[derive(Debug, PartialEq)]
pub struct ValueChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub source: String,
}

/// `--repo` and `--offline` come from the context.
pub fn run(ctx: &Context, opts: PromoteOptions) -> Result<()> {
    let p = ctx.printer();
    let ws = ctx.workspace()?;
    if opts.mode != Mode::DryRun && ws.pending()?.is_some() {
        bail!(user(
            "an upgrade or promotion with conflicts is in progress",
            "resolve the conflicts and run `pctl promote --continue`, or `pctl promote --abort`",
        ));
    }
    let view = ws.view()?;
    let repo = ws.describe();
    let config = crate::gitops::load(&view, &repo)?;
    let list = config.cluster_list();
    let names = list
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for (flag, name) in [("--from", &opts.from), ("--to", &opts.to)] {
        if !list.iter().any(|c| &c.name == name) {
            bail!(user(
                format!(
                    "{flag} {}: {repo} has no cluster of that name",
                    crate::source::escaped(name)
                ),
                if config.is_fleet() {
                    format!("clusters: {names}")
                } else if crate::names::is_dns1123_label(name) {
                    format!(
                        "this repository has one cluster, default; `pctl cluster add {name}` adds another, then install {} there",
                        opts.name
                    )
                } else {
                    "this repository has one cluster, default (cluster names are DNS-1123 labels)"
                        .to_string()
                },
            ));
        }
    }
    if opts.from == opts.to {
        bail!(user(
            format!(
                "--from and --to both name cluster {}: a promotion goes from one cluster to another",
                opts.from
            ),
            format!("clusters: {names}"),
        ));
    }
    let one = |c: &str| {
        let sel = Selection {
            names: vec![c.to_string()],
            all: false,
        };
        crate::ops::cluster::one_cluster(&view, &repo, &sel, "promote", p)
    };
    let name = &opts.name;
    let source = one(&opts.from)?;
    let Some((_, model)) = source
        .installations
        .iter()
        .find(|(_, i)| &i.metadata.name == name)
    else {
        let there: Vec<&str> = source
            .installations
            .iter()
            .map(|(_, i)| i.metadata.name.as_str())
            .collect();
        bail!(user(
            format!(
                "no installation named {name:?} in cluster {}: there is nothing to promote from",
                opts.from
            ),
            if there.is_empty() {
                format!("cluster {} has no installations", opts.from)
            } else {
                format!("installed in {}: {}", opts.from, there.join(", "))
            },
        ));
    };
    let target = one(&opts.to)?;
    let Some((dir, inst)) = target
        .installations
        .iter()
        .find(|(_, i)| &i.metadata.name == name)
    else {
        bail!(user(
            format!(
                "{name:?} is not installed in cluster {}: promote changes an installation that exists in both clusters",
                opts.to
            ),
            format!(
                "install it there first: pctl install {} --name {name} --cluster {}",
                model.spec.source.display(),
                opts.to
            ),
        ));
    };
    refuse_other_profile(name, (&opts.from, model), (&opts.to, inst))?;

    let given = given(inst, model);
    let promotion = crate::ops::upgrade::plan_promotion(
        &view,
        target.config,
        target.values_level,
        &opts.to,
        dir,
        inst,
        &given,
        opts.strategy,
        ctx,
    )?;
    let (before, after) = promotion.versions();
    if promotion.changed() == 0 {
        p.info(&format!(
            "{name} in {} is already at {}'s version {after} and values; nothing to promote",
            opts.to, opts.from
        ));
        return Ok(());
    }
    let changes = match promotion.new_record()? {
        Some(new) => value_changes(inst, &new),
        None => Vec::new(),
    };
    for c in &changes {
        p.info(&format!("value {}", plain(c)));
    }
    let title = format!(
        "pctl: promote {name} {after} from {} to {}",
        opts.from, opts.to
    );
    let message = opts.message.clone().unwrap_or_else(|| {
        let mut m = format!("{title}\n\n{}: {before} -> {after}\n", opts.to);
        if !changes.is_empty() {
            m.push_str("\nValues:\n");
            for c in &changes {
                m.push_str(&format!("- {}\n", plain(c)));
            }
        }
        for (tag, text) in promotion.changelog() {
            m.push_str(&format!("\n{tag}:\n{text}\n"));
        }
        m
    });
    if let Some(pr) = &opts.pr {
        let summary = summary(
            name,
            (&opts.from, &opts.to),
            (before, after),
            model,
            &changes,
        );
        return promotion.pull_request(ctx, pr, &message, summary);
    }
    promotion.write(ctx, &message, opts.mode)
}

/// Promotion moves one profile between versions, never one profile in place of another.
fn refuse_other_profile(
    name: &str,
    (from, model): (&str, &Installation),
    (to, inst): (&str, &Installation),
) -> Result<()> {
    let what = |i: &Installation| format!("{} from {}", i.spec.profile, i.spec.source.display());
    if what(model) != what(inst) {
        bail!(user(
            format!(
                "{name} installs {} in cluster {from} but {} in cluster {to}: promote brings one profile to another version, not one profile in place of another",
                what(model),
                what(inst)
            ),
            format!(
                "to replace it, uninstall {name} in {to} and install {} there with --cluster {to}",
                model.spec.source.display()
            ),
        ));
    }
    let src = &model.spec.source;
    if src.dirty || src.commit.is_none() {
        bail!(user(
            format!(
                "{name} in cluster {from} was installed from a directory with uncommitted changes: there is no commit to promote"
            ),
            format!("reinstall it in {from} from a commit, then promote it"),
        ));
    }
    Ok(())
}

/// What theirs is rendered from: `inst` (B's secrets, namespace and the rest) with
/// `model`'s (A's) source, nested profiles, values, preset and value profiles. Only
/// the values the user gave are read from it (see the module comment).
fn given(inst: &Installation, model: &Installation) -> Installation {
    let mut g = inst.clone();
    g.spec.source = model.spec.source.clone();
    g.spec.nested = model.spec.nested.clone();
    g.spec.values = model.spec.values.clone();
    g.spec.preset = model.spec.preset.clone();
    g.spec.values_profiles = model.spec.values_profiles.clone();
    g
}

/// The values that differ between two records of one installation (secrets by name).
pub fn value_changes(old: &Installation, new: &Installation) -> Vec<ValueChange> {
    let show = |v: &crate::yaml::Value| {
        let s = serde_json::to_string(v).unwrap_or_default();
        if s.chars().count() > 80 {
            format!("{}…", s.chars().take(79).collect::<String>())
        } else {
            s
        }
    };
    let mut keys: Vec<&String> = old.spec.values.keys().collect();
    keys.extend(new.spec.values.keys());
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let (a, b) = (old.spec.values.get(k), new.spec.values.get(k));
        if a.map(|v| &v.value) == b.map(|v| &v.value) {
            continue;
        }
        out.push(ValueChange {
            name: k.clone(),
            before: a.map(|v| show(&v.value)),
            after: b.map(|v| show(&v.value)),
            source: b.map(|v| v.source.clone()).unwrap_or_default(),
        });
    }
    let secret = |i: &Installation, k: &str| i.spec.secrets.iter().any(|s| s == k);
    let mut secrets: Vec<&String> = old.spec.secrets.iter().collect();
    secrets.extend(new.spec.secrets.iter());
    secrets.sort();
    secrets.dedup();
    for k in secrets {
        if secret(old, k) != secret(new, k) {
            out.push(ValueChange {
                name: k.clone(),
                before: secret(old, k).then(|| "(secret)".to_string()),
                after: secret(new, k).then(|| "(secret)".to_string()),
                source: String::new(),
            });
        }
    }
    out
}

/// `name: before -> after (source)`.
fn plain(c: &ValueChange) -> String {
    let or_unset = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
    let from = if c.source.is_empty() {
        String::new()
    } else {
        format!(" ({})", c.source)
    };
    format!(
        "{}: {} -> {}{from}",
        c.name,
        or_unset(&c.before),
        or_unset(&c.after)
    )
}

/// The pull request's Promotion and Values sections.
fn summary(
    name: &str,
    (from, to): (&str, &str),
    (before, after): (&str, &str),
    model: &Installation,
    changes: &[ValueChange],
) -> String {
    let commit: String = model
        .spec
        .source
        .commit
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(12)
        .collect();
    let mut out = format!(
        "## Promotion\n\n**{name}** in cluster **{to}**: {before} → {after}, the version cluster **{from}** runs (commit `{commit}`).\n\n\
         From {from} come the version and the values given at install or upgrade (`--set`, `-f`), the preset and the value profiles; \
         {to} keeps its namespace, its secrets and its cluster values (`.pctl/values/clusters/{to}.yaml`).\n\n## Values\n\n"
    );
    if changes.is_empty() {
        out.push_str("No value changes.\n");
        return out;
    }
    let cell = |v: &Option<String>| match v {
        Some(v) => format!("`{}`", v.replace('|', "\\|").replace('`', "'")),
        None => "(unset)".into(),
    };
    out.push_str("| value | before | after | from |\n| --- | --- | --- | --- |\n");
    for c in changes {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.name,
            cell(&c.before),
            cell(&c.after),
            if c.source.is_empty() {
                "—"
            } else {
                &c.source
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(values: &str, secrets: &str) -> Installation {
        let text = format!(
            "apiVersion: pctl.dev/v1alpha1\nkind: ProfileInstallation\nmetadata: {{name: web}}\nspec:\n  namespace: default\n  path: p/web\n  profile: web\n  source: {{url: 'file:///r'}}\n  values: {values}\n  secrets: {secrets}\n  files: {{}}\n  generatedBy: pctl\n"
        );
        Installation::from_yaml("t", &text).unwrap()
    }

    #[test]
    fn value_changes_list_values_and_secrets_by_name_only() {
        let old = record(
            "{replicas: {value: 4, source: flag}, domain: {value: a.example, source: default}}",
            "[token]",
        );
        let new = record(
            "{replicas: {value: 3, source: flag}, domain: {value: a.example, source: cluster:production}, gateway: {value: public, source: default}}",
            "[password]",
        );
        let got: Vec<String> = value_changes(&old, &new).iter().map(plain).collect();
        assert_eq!(
            got,
            [
                "gateway: (unset) -> \"public\" (default)",
                "replicas: 4 -> 3 (flag)",
                "password: (unset) -> (secret)",
                "token: (secret) -> (unset)",
            ]
        );
        let md = summary(
            "web",
            ("staging", "production"),
            ("1.0.0", "1.1.0"),
            &new,
            &value_changes(&old, &new),
        );
        assert!(md.contains("| `replicas` | `4` | `3` | flag |"), "{md}");
        assert!(
            md.contains("| `password` | (unset) | `(secret)` | — |"),
            "{md}"
        );
        assert!(value_changes(&old, &old).is_empty());
    }
}
