//! Operations: one module per command that does real work, each taking the command's
//! [`Context`] (GitOps repository, upstreams, printer) and an options struct built by
//! its command file in `cli/`.
pub mod advice;
pub mod capture;
pub mod catalog;
pub mod check;
pub mod cluster;
pub mod context;
pub mod diff;
pub mod export;
pub mod fleet_view;
pub mod import;
pub mod incluster;
pub mod init;
pub mod install;
pub mod lint;
pub mod list;
pub mod migrate;
pub mod outdated;
pub mod owners;
pub mod pr;
pub mod prepare;
pub mod promote;
pub mod publish;
pub mod render;
pub mod search;
pub mod show;
pub mod status;
#[cfg(test)]
mod tests;
pub mod uninstall;
pub mod upgrade;

/// How a writing command writes (commit, `--no-commit`, `--dry-run`): the command
/// line chooses it, Git carries it out.
pub use crate::git::Mode;
pub use context::{Context, Shared};

use crate::git::TreeView;

/// What every command that may touch Git needs first, called by `main` before any
/// other thread exists: libgit2's start (`git::start_libgit2`, which says what
/// `tls_on_first_use` means), so that the binary reaches Git only through here.
pub fn start_libgit2(tls_on_first_use: bool) {
    crate::git::start_libgit2(tls_on_first_use);
}
use crate::printer::Printer;
use crate::record::{self, Installation};
use anyhow::Result;

/// Every installation recorded in a view of the GitOps repository (installations do
/// not nest: the directories inside one are not searched). Records written by
/// Weaveworks pctl are skipped, with one note per run naming them
/// ([`legacy_installations`] reads them).
pub fn installations(view: &TreeView, p: &Printer) -> Result<Vec<(String, Installation)>> {
    let (out, legacy) = records(view)?;
    if !legacy.is_empty() {
        note_legacy(&legacy, p);
    }
    Ok(out)
}

/// The Weaveworks pctl installations of a view (`pctl list`, `pctl migrate`).
pub fn legacy_installations(view: &TreeView) -> Result<Vec<(String, crate::legacy::Legacy)>> {
    Ok(records(view)?.1)
}

type Records = (
    Vec<(String, Installation)>,
    Vec<(String, crate::legacy::Legacy)>,
);

thread_local! {
    /// [`records`] of a commit's tree, read once per process: `list` asks for the
    /// Weaveworks pctl installations and then for pctl's own.
    static RECORDS: std::cell::RefCell<Option<(String, Records)>> = const { std::cell::RefCell::new(None) };
}

/// pctl's records and Weaveworks pctl's, each with its directory.
pub fn records(view: &TreeView) -> Result<Records> {
    let Some(tree) = view.tree_id() else {
        return read_records(view);
    };
    if let Some(r) = RECORDS.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(t, _)| *t == tree)
            .map(|(_, r)| r.clone())
    }) {
        return Ok(r);
    }
    let r = read_records(view)?;
    RECORDS.with(|c| *c.borrow_mut() = Some((tree, r.clone())));
    Ok(r)
}

/// `f` over pctl's records of `view` without copying them: for code that looks at
/// every record once per installation (an upgrade of a whole fleet), where a copy of
/// a thousand records each time costs more than the work.
pub fn with_installations<R>(
    view: &TreeView,
    f: impl FnOnce(&[(String, Installation)]) -> R,
) -> Result<R> {
    let Some(tree) = view.tree_id() else {
        return Ok(f(&read_records(view)?.0));
    };
    let cached = RECORDS.with(|c| c.borrow().as_ref().is_some_and(|(t, _)| *t == tree));
    if !cached {
        let r = read_records(view)?;
        RECORDS.with(|c| *c.borrow_mut() = Some((tree, r)));
    }
    RECORDS.with(|c| {
        let c = c.borrow();
        let (_, (records, _)) = c.as_ref().expect("cached above");
        Ok(f(records))
    })
}

fn read_records(view: &TreeView) -> Result<Records> {
    let mut out = Vec::new();
    let mut legacy = Vec::new();
    for found in record_files(view)? {
        let path = &found.path;
        let text = String::from_utf8(view.content_of(&found)?)
            .map_err(|_| anyhow::anyhow!("{path} is not UTF-8 text"))?;
        let dir = record_dir(path);
        if legacy_record(&found) {
            legacy.push((dir, crate::legacy::parse(path, &text)?));
            continue;
        }
        out.push((dir, Installation::from_yaml(path, &text)?));
    }
    Ok((out, legacy))
}

/// The record files of a view, each with what [`record_summary`] keeps of it: one
/// walk that reads only the trees it has not seen before (docs/architecture.md#finding-installation-records).
pub fn record_files(view: &TreeView) -> Result<Vec<crate::git::Outermost>> {
    view.outermost(record::FILE, RECORD_SUMMARY, &record_summary)
}

/// Names [`record_summary`] (and its version: change it with the function).
const RECORD_SUMMARY: &str = "installation-name/1";
/// The first byte of a record's summary; a name follows the first two.
const PCTL: u8 = 0;
const LEGACY: u8 = 1;
const LEGACY_UNREADABLE: u8 = 2;
const UNREADABLE: u8 = 3;

/// What the record walk keeps of each record, from its text alone (it is memoised
/// with the trees the record is in): who wrote it and its name, or that the name
/// cannot be read (the record is then read again for its error, where one is due).
fn record_summary(bytes: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![UNREADABLE];
    };
    let (code, name) = if crate::legacy::is_legacy(text) {
        match crate::legacy::parse(record::FILE, text) {
            Ok(l) => (LEGACY, Some(l.name)),
            Err(_) => (LEGACY_UNREADABLE, None),
        }
    } else {
        let name = record::quick_name(text).or_else(|| {
            Installation::from_yaml(record::FILE, text)
                .ok()
                .map(|i| i.metadata.name)
        });
        (if name.is_some() { PCTL } else { UNREADABLE }, name)
    };
    let mut out = vec![code];
    out.extend_from_slice(name.unwrap_or_default().as_bytes());
    out
}

/// Whether Weaveworks pctl wrote a record [`record_files`] found.
pub fn legacy_record(found: &crate::git::Outermost) -> bool {
    matches!(found.summary.first(), Some(&(LEGACY | LEGACY_UNREADABLE)))
}

/// The name of a record [`record_files`] found, or the error reading it gives.
pub fn record_name(view: &TreeView, found: &crate::git::Outermost) -> Result<String> {
    if let Some((&(PCTL | LEGACY), name)) = found.summary.split_first()
        && let Ok(name) = std::str::from_utf8(name)
    {
        return Ok(name.to_string());
    }
    // The record's own error, from its text (the same text fails the same way).
    let path = &found.path;
    let text = String::from_utf8(view.content_of(found)?)
        .map_err(|_| anyhow::anyhow!("{path} is not UTF-8 text"))?;
    if crate::legacy::is_legacy(&text) {
        return Ok(crate::legacy::parse(path, &text)?.name);
    }
    Ok(match record::quick_name(&text) {
        Some(n) => n,
        None => Installation::from_yaml(path, &text)?.metadata.name,
    })
}

/// The installation directory of a record file's path.
pub fn record_dir(path: &str) -> String {
    path.trim_end_matches(record::FILE)
        .trim_end_matches('/')
        .to_string()
}

/// The hint for a NAME that no pctl installation has, when a Weaveworks pctl
/// installation has it.
pub fn legacy_hint(view: &TreeView, name: &str) -> Option<String> {
    let (dir, _) = legacy_installations(view)
        .ok()?
        .into_iter()
        .find(|(_, l)| l.name == name)?;
    Some(format!(
        "{name} (at {dir}) was installed by Weaveworks pctl: `pctl migrate {name}` makes it a pctl installation"
    ))
}

/// Say once per run that Weaveworks pctl installations were left out.
static LEGACY_NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The command shows Weaveworks pctl installations itself (`pctl list`): no note.
pub fn legacy_listed() {
    LEGACY_NOTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn note_legacy(legacy: &[(String, crate::legacy::Legacy)], p: &Printer) {
    if LEGACY_NOTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let names: Vec<&str> = legacy.iter().map(|(_, l)| l.name.as_str()).collect();
    p.info(&format!(
        "note: skipped {} Weaveworks pctl installation(s) ({}); `pctl migrate NAME` converts one",
        names.len(),
        names.join(", ")
    ));
}

/// The directory of the installation named `name`, if any (a Weaveworks pctl
/// installation included: names stay unique). The names come from the record walk's
/// memo ([`record_files`]): `install` checks this on every run, in repositories of
/// hundreds of installations, reading only the trees changed since a walk before.
pub fn installation_named(view: &TreeView, name: &str) -> Result<Option<String>> {
    for found in record_files(view)? {
        if record_name(view, &found)? == name {
            return Ok(Some(record_dir(&found.path)));
        }
    }
    Ok(None)
}

/// Print what a core returned for the user to know (Git's notices of a write), after
/// the notices Git kept from work that returns none ([`print_kept_notices`]).
pub fn print_notices(p: &Printer, notices: &[crate::git::Notice]) {
    print_kept_notices(p);
    for n in notices {
        match n {
            crate::git::Notice::Warning(m) => p.warn(m),
            crate::git::Notice::Note(m) => p.info(m),
        }
    }
}

/// Print the notices Git kept from work that returns no outcome (a repository opened
/// after an interrupted run, a stopped merge kept or aborted, a CA bundle that cannot
/// be loaded). The ops context calls it after opening the repository, and the command
/// line once more when the command ends.
pub fn print_kept_notices(p: &Printer) {
    for n in crate::git::take_notices() {
        match n {
            crate::git::Notice::Warning(m) => p.warn(&m),
            crate::git::Notice::Note(m) => p.info(&m),
        }
    }
}

/// Print the outcome of a write: its notices, then the diff for a dry run, else a
/// summary.
pub fn report(p: &Printer, outcome: &crate::git::Outcome, mode: crate::git::Mode, what: &str) {
    print_notices(p, &outcome.notices);
    match mode {
        crate::git::Mode::DryRun => {
            p.data(&outcome.diff);
            p.info(&format!(
                "dry run: {what} would change {} file(s); nothing was written",
                outcome.changed
            ));
        }
        _ if outcome.changed == 0 => p.info(&format!("{what}: nothing to change")),
        crate::git::Mode::NoCommit => p.success(&format!(
            "{what}: wrote {} file(s), staged, not committed",
            outcome.changed
        )),
        crate::git::Mode::Commit => {
            let c = outcome
                .commit
                .map(|c| c.to_string()[..12].to_string())
                .unwrap_or_default();
            p.success(&format!(
                "{what}: committed {c} ({} file(s))",
                outcome.changed
            ));
        }
    }
}

/// Which `--set` flag a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    Set,
    SetString,
    SetFile,
    SetEnv,
}

impl FlagKind {
    fn flag(&self) -> &'static str {
        match self {
            FlagKind::Set => "--set",
            FlagKind::SetString => "--set-string",
            FlagKind::SetFile => "--set-file",
            FlagKind::SetEnv => "--set-env",
        }
    }
}

/// One `--set`-family flag as written.
#[derive(Debug, Clone)]
pub struct ValueFlag {
    pub kind: FlagKind,
    pub text: String,
}

/// Values given on the command line and in the GitOps repository.
#[derive(Debug, Clone, Default)]
pub struct ValueOptions {
    pub flags: Vec<ValueFlag>,
    pub files: Vec<std::path::PathBuf>,
    pub preset: Option<String>,
    pub values_profiles: Vec<String>,
    /// `PARAM=SECRET/KEY` as written.
    pub secret_refs: Vec<String>,
    /// The fleet cluster whose values level (`.pctl/values/clusters/NAME.yaml`) applies.
    pub cluster: Option<String>,
}

impl ValueOptions {
    /// `--secret-ref` parsed: parameter key -> (Secret name, key in it).
    pub fn secret_refs(&self) -> Result<std::collections::BTreeMap<String, (String, String)>> {
        let mut out = std::collections::BTreeMap::new();
        for r in &self.secret_refs {
            let parsed = r
                .split_once('=')
                .and_then(|(p, rest)| rest.split_once('/').map(|(s, k)| (p, s, k)))
                .filter(|(p, s, k)| {
                    !p.is_empty() && crate::names::is_dns1123_label(s) && !k.is_empty()
                });
            let Some((param, secret, key)) = parsed else {
                anyhow::bail!(crate::error::user(
                    format!("--secret-ref {r:?} is not PARAM=SECRET/KEY"),
                    "for example --secret-ref token=grafana-admin/password (SECRET must be a DNS-1123 name)",
                ));
            };
            out.insert(param.to_string(), (secret.to_string(), key.to_string()));
        }
        Ok(out)
    }
}

/// Read every value source into `values::Inputs`: files and environment variables are
/// read here; value profiles and `global.yaml` come from the GitOps repository view.
pub fn gather_values(
    opts: &ValueOptions,
    view: Option<&TreeView>,
) -> Result<crate::values::Inputs> {
    use crate::error::user;
    use crate::values::{Given, Level, Origin, Raw, parse_values_file};
    let mut inputs = crate::values::Inputs {
        preset: opts.preset.clone(),
        values_profile_names: opts.values_profiles.clone(),
        ..Default::default()
    };
    for (i, f) in opts.flags.iter().enumerate() {
        let Some((key, rest)) = f.text.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            anyhow::bail!(user(
                format!(
                    "{} {:?} is not NAME=VALUE",
                    f.kind.flag(),
                    if f.kind == FlagKind::Set || f.kind == FlagKind::SetString {
                        "<value hidden>"
                    } else {
                        f.text.as_str()
                    }
                ),
                format!(
                    "write {} NAME={}",
                    f.kind.flag(),
                    if f.kind == FlagKind::SetEnv {
                        "VAR"
                    } else if f.kind == FlagKind::SetFile {
                        "PATH"
                    } else {
                        "VALUE"
                    }
                ),
            ));
        };
        let (value, secret_ok) = match f.kind {
            FlagKind::Set => (Raw::Text(rest.to_string()), false),
            FlagKind::SetString => (Raw::String(rest.to_string()), false),
            FlagKind::SetFile => {
                let text = std::fs::read_to_string(rest).map_err(|e| {
                    user(
                        format!("--set-file {key}={rest}: cannot read {rest}: {e}"),
                        "give a readable UTF-8 file",
                    )
                })?;
                let text = text
                    .strip_suffix('\n')
                    .map(|t| t.strip_suffix('\r').unwrap_or(t))
                    .unwrap_or(&text)
                    .to_string();
                (Raw::Text(text), true)
            }
            FlagKind::SetEnv => {
                let v = std::env::var(rest).map_err(|_| {
                    user(
                        format!(
                            "--set-env {key}={rest}: the environment variable {rest} is not set"
                        ),
                        format!("export {rest} before running pctl"),
                    )
                })?;
                (Raw::Text(v), true)
            }
        };
        inputs.flags.push(Given {
            key: key.to_string(),
            value,
            origin: Origin::new(Level::Flag, format!("{} {key}", f.kind.flag())),
            secret_ok,
            group: i,
        });
    }
    for (i, path) in opts.files.iter().enumerate() {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            user(
                format!("-f {label}: cannot read it: {e}"),
                "give a readable YAML values file",
            )
        })?;
        inputs
            .files
            .extend(parse_values_file(&label, &text, Level::File, i)?);
    }
    inputs.secret_refs = opts.secret_refs()?.into_keys().collect();
    let needs_repo = !opts.values_profiles.is_empty();
    match view {
        Some(view) => {
            for (i, name) in opts.values_profiles.iter().enumerate() {
                let path = format!(".pctl/values/{name}.yaml");
                let Some(text) = view.read_string(&path)? else {
                    let known: Vec<String> = view
                        .files_below(".pctl/values")?
                        .keys()
                        .filter_map(|k| {
                            k.strip_prefix(".pctl/values/")?
                                .strip_suffix(".yaml")
                                .map(str::to_string)
                        })
                        .filter(|k| k != "global" && !k.contains('/'))
                        .collect();
                    anyhow::bail!(user(
                        format!(
                            "--values-profile {name}: {path} does not exist in the GitOps repository"
                        ),
                        if known.is_empty() {
                            "create it and commit it".to_string()
                        } else {
                            format!("value profiles: {}", known.join(", "))
                        },
                    ));
                };
                let label = format!("values profile {name} ({path})");
                inputs.values_profiles.extend(parse_values_file(
                    &label,
                    &text,
                    Level::ValuesProfile,
                    i,
                )?);
            }
            if let Some(cluster) = &opts.cluster {
                let path = format!(".pctl/values/clusters/{cluster}.yaml");
                if let Some(text) = view.read_string(&path)? {
                    let label = format!("cluster {cluster} ({path})");
                    inputs.cluster = parse_values_file(&label, &text, Level::Cluster, 0)?;
                }
            }
            if let Some(text) = view.read_string(".pctl/values/global.yaml")? {
                inputs.global =
                    parse_values_file(".pctl/values/global.yaml", &text, Level::Global, 0)?;
            }
        }
        None if needs_repo => anyhow::bail!(user(
            "--values-profile needs a GitOps repository",
            "run inside one or pass --repo DIR",
        )),
        None => {}
    }
    Ok(inputs)
}
