//! What a GitOps repository path and `.pctl/config.yaml` may hold (docs/layout.md, docs/security.md#trust-model),
//! checked before anything is fetched: paths are relative, inside the repository, not
//! in `.git/` or pctl's own `.pctl/`, not ignored by `.sourceignore`, and not inside or
//! around another installation; the config has only known keys and DNS-1123 names.
use super::{CONFIG_PATH, Config, SOURCEIGNORE};
use crate::error::user;
use crate::git::TreeView;
use crate::yaml::Value;
use anyhow::{Result, bail};

/// Longest path component (file systems refuse longer names).
pub const MAX_COMPONENT: usize = 255;
/// Longest repository path pctl writes to.
pub const MAX_PATH: usize = 1024;

/// Keys of `.pctl/config.yaml`, by the mapping they appear in.
const TOP_KEYS: [&str; 6] = [
    "gitRepository",
    "syncPath",
    "installPath",
    "forge",
    "clusters",
    "basesPath",
];
const GIT_REPOSITORY_KEYS: [&str; 2] = ["name", "namespace"];
const FORGE_KEYS: [&str; 2] = ["type", "apiURL"];

/// A repository-relative directory given by the user (`what` names the flag or field):
/// normalized, or refused when it is absolute, leaves the repository, holds control
/// characters or names a place pctl must not write to.
pub fn repo_dir(what: &str, raw: &str) -> Result<String> {
    let hint = "give a directory relative to the GitOps repository root, for example clusters/default/profiles";
    if raw.starts_with('/') || raw.starts_with('\\') || raw.get(1..2) == Some(":") {
        bail!(user(format!("{what} {raw:?} is an absolute path"), hint));
    }
    if raw.starts_with('~') {
        bail!(user(
            format!("{what} {raw:?} looks like a home directory, not a repository path"),
            hint
        ));
    }
    if raw.chars().any(|c| c.is_control() || c == '\\') {
        bail!(user(
            format!(
                "{what} {} holds a control character or a backslash",
                crate::source::escaped(raw)
            ),
            hint
        ));
    }
    let dir = super::norm_dir(raw)
        .map_err(|_| user(format!("{what} {raw:?} leaves the repository (`..`)"), hint))?;
    reserved(what, &dir)?;
    Ok(dir)
}

/// Refuse `.git/`, `.pctl/` and over-long paths.
fn reserved(what: &str, dir: &str) -> Result<()> {
    let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| p.eq_ignore_ascii_case(".git")) {
        bail!(user(
            format!("{what} {dir:?} is inside .git, Git's own directory"),
            "give a directory of the work tree, for example clusters/default/profiles",
        ));
    }
    if parts
        .first()
        .is_some_and(|p| p.eq_ignore_ascii_case(".pctl"))
    {
        bail!(user(
            format!(
                "{what} {dir:?} is inside .pctl/, pctl's own directory, which Flux does not read"
            ),
            "give a directory that Flux syncs, for example clusters/default/profiles",
        ));
    }
    if let Some(p) = parts.iter().find(|p| p.len() > MAX_COMPONENT) {
        bail!(user(
            format!(
                "{what}: the directory name {:?}… is {} bytes long, over the limit of {MAX_COMPONENT}",
                p.chars().take(20).collect::<String>(),
                p.len()
            ),
            "use shorter directory names",
        ));
    }
    if dir.len() > MAX_PATH {
        bail!(user(
            format!(
                "{what} is {} bytes long, over the limit of {MAX_PATH}",
                dir.len()
            ),
            "use a shorter path",
        ));
    }
    Ok(())
}

/// Check the text of `.pctl/config.yaml` before it is read: known keys (with "did you
/// mean"), each field naming the file and its line.
pub fn check_config_keys(text: &str, raw: &Value) -> Result<()> {
    // Lines are needed only for an error: the text is read for them then, not at every start.
    let pos = LazyPositions::new(text);
    let Some(top) = raw.as_object() else {
        bail!(user(
            format!("{CONFIG_PATH}: not a mapping"),
            "run `pctl init` to write one, or fix it by hand",
        ));
    };
    let check = |path: &str, map: &crate::yaml::Map, allowed: &[&str]| -> Result<()> {
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                let field = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                bail!(user(
                    format!(
                        "{CONFIG_PATH}:{}: unknown field `{field}`",
                        pos.line(&field)
                    ),
                    crate::model::field_hint(k, allowed),
                ));
            }
        }
        Ok(())
    };
    check("", top, &TOP_KEYS)?;
    super::clusters::check_keys(top, &|f: &str| pos.line(f))?;
    for (key, allowed) in [
        ("gitRepository", &GIT_REPOSITORY_KEYS[..]),
        ("forge", &FORGE_KEYS[..]),
    ] {
        match top.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => check(key, m, allowed)?,
            Some(_) => bail!(user(
                format!("{CONFIG_PATH}:{}: {key} is not a mapping", pos.line(key)),
                format!("write it as a mapping of {}", allowed.join(", ")),
            )),
        }
    }
    Ok(())
}

/// Check the values of a read config: DNS-1123 names and repository paths. `text`
/// (when the config comes from a file) gives the lines.
pub fn check_config(c: &mut Config, text: Option<&str>) -> Result<()> {
    let pos = LazyPositions::new(text.unwrap_or(""));
    let at = |field: &str| match text {
        Some(_) => format!("{CONFIG_PATH}:{}: {field}", pos.line(field)),
        None => field.to_string(),
    };
    let ns = &c.git_repository.namespace;
    if !crate::names::is_dns1123_label(ns) {
        bail!(user(
            format!(
                "{} {} is not a DNS-1123 label",
                at("gitRepository.namespace"),
                crate::source::escaped(ns)
            ),
            "a namespace has lower-case letters, digits and '-', at most 63 characters (flux-system by default)",
        ));
    }
    let name = &c.git_repository.name;
    if !is_dns1123_subdomain(name) {
        bail!(user(
            format!(
                "{} {} is not a DNS-1123 name",
                at("gitRepository.name"),
                crate::source::escaped(name)
            ),
            "the Flux GitRepository's name has lower-case letters, digits, '-' and '.', at most 253 characters (flux-system by default)",
        ));
    }
    if c.clusters.is_empty() {
        c.sync_path = with_line(&at, "syncPath", |what| repo_dir(what, &c.sync_path))?;
        c.install_path = with_line(&at, "installPath", |what| repo_dir(what, &c.install_path))?;
    }
    super::clusters::check_paths(c, &at)
}

/// Run a check that names `field` with its bare name, and only when it fails once more
/// with its file and line (`at`), so that a valid config's text is not read for lines.
pub fn with_line<T>(
    at: &dyn Fn(&str) -> String,
    field: &str,
    check: impl Fn(&str) -> Result<T>,
) -> Result<T> {
    check(field).or_else(|_| check(&at(field)))
}

/// The lines of a config's fields, read from its text at the first question.
struct LazyPositions<'t> {
    text: &'t str,
    positions: std::cell::OnceCell<crate::lint::Positions>,
}

impl<'t> LazyPositions<'t> {
    fn new(text: &'t str) -> Self {
        LazyPositions {
            text,
            positions: std::cell::OnceCell::new(),
        }
    }

    fn line(&self, field: &str) -> usize {
        self.positions
            .get_or_init(|| crate::lint::Positions::parse(self.text))
            .line(field)
    }
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(crate::names::is_dns1123_label)
}

/// The sync path is where Flux starts: when `.sourceignore` excludes it, Flux
/// applies nothing pctl installs.
pub fn check_sync_path(view: &TreeView, config: &super::Config) -> Result<()> {
    let Some(text) = view.read_string(SOURCEIGNORE)? else {
        return Ok(());
    };
    let probe = super::join(&config.sync_path, super::KUSTOMIZATION);
    if let Some(pattern) = ignored(&text, &probe) {
        bail!(user(
            format!(
                ".pctl/config.yaml: syncPath {} is ignored by {SOURCEIGNORE} (pattern {pattern:?}): Flux would apply nothing from it",
                config.sync_path
            ),
            format!("change {SOURCEIGNORE}, or syncPath in .pctl/config.yaml"),
        ));
    }
    Ok(())
}

/// Check where a new installation goes (`parent/name`) against the repository: not
/// ignored by `.sourceignore` and not inside or around another installation.
pub fn check_install_dir(view: &TreeView, what: &str, parent: &str, name: &str) -> Result<()> {
    let dir = super::join(parent, name);
    reserved(what, &dir)?;
    if let Some(text) = view.read_string(SOURCEIGNORE)? {
        let probe = super::join(&dir, super::KUSTOMIZATION);
        if let Some(pattern) = ignored(&text, &probe) {
            bail!(user(
                format!(
                    "{what}: {dir} is ignored by {SOURCEIGNORE} (pattern {pattern:?}): Flux would never apply it"
                ),
                format!("choose another directory, or change {SOURCEIGNORE}"),
            ));
        }
    }
    // Only the records on the path to `dir` and below it can hold it or be held by it.
    for file in view.find_named_around(crate::record::FILE, &dir)? {
        let other = file
            .trim_end_matches(crate::record::FILE)
            .trim_end_matches('/');
        if dir == other {
            bail!(user(
                format!("an installation named {name:?} already exists at {dir}"),
                format!(
                    "choose another --name, or change the one there with `pctl upgrade {name}` or `pctl uninstall {name}`"
                ),
            ));
        }
        let inside = dir.starts_with(&format!("{other}/")) || other.is_empty();
        if inside {
            bail!(user(
                format!("{what}: {dir} is inside the installation at {other}"),
                "install next to other installations, not into one (for example in the installPath of .pctl/config.yaml)",
            ));
        }
        if other.starts_with(&format!("{dir}/")) {
            bail!(user(
                format!("{what}: {dir} would hold the installation at {other}"),
                "choose a directory that holds no installation",
            ));
        }
    }
    Ok(())
}

/// The `.sourceignore` pattern (gitignore syntax, last match wins) that excludes
/// `path` or one of its parent directories, if any.
pub fn ignored(sourceignore: &str, path: &str) -> Option<String> {
    let rules = compiled(sourceignore);
    let parts: Vec<&str> = path.split('/').collect();
    // A directory that is excluded excludes everything below it (as in Git).
    for end in 1..=parts.len() {
        let prefix = parts[..end].join("/");
        let is_dir = end < parts.len();
        let mut hit: Option<&str> = None;
        for (neg, dir_only, re, text) in rules.iter() {
            if (*dir_only && !is_dir) || !re.is_match(&prefix) {
                continue;
            }
            hit = if *neg { None } else { Some(text) };
        }
        if let Some(h) = hit {
            return Some(h.to_string());
        }
    }
    None
}

/// One `.sourceignore` rule: (negated, directories only, the pattern, its line).
type Rule = (bool, bool, regex::Regex, String);

/// The rules of `sourceignore`, compiled once per text in a process (a fleet install
/// asks about every cluster's directories).
fn compiled(sourceignore: &str) -> std::rc::Rc<Vec<Rule>> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(String, std::rc::Rc<Vec<Rule>>)>> =
            const { std::cell::RefCell::new(None) };
    }
    if let Some(r) = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(t, _)| t == sourceignore)
            .map(|(_, r)| r.clone())
    }) {
        return r;
    }
    let rules: Vec<Rule> = sourceignore
        .lines()
        .filter_map(|l| {
            let l = l.trim_end();
            if l.is_empty() || l.starts_with('#') {
                return None;
            }
            let (neg, p) = match l.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, l.strip_prefix('\\').unwrap_or(l)),
            };
            let dir_only = p.ends_with('/');
            let p = p.trim_end_matches('/');
            let anchored = p.contains('/');
            let p = p.trim_start_matches('/');
            let body = glob_regex(p);
            let re = if anchored {
                format!("^{body}$")
            } else {
                format!("^(.*/)?{body}$")
            };
            regex::Regex::new(&re)
                .ok()
                .map(|r| (neg, dir_only, r, l.to_string()))
        })
        .collect();
    let rules = std::rc::Rc::new(rules);
    LAST.with(|l| *l.borrow_mut() = Some((sourceignore.to_string(), rules.clone())));
    rules
}

/// A gitignore glob as a regular expression (without anchors).
fn glob_regex(glob: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    out.push_str("(.*/)?");
                    i += 3;
                } else {
                    out.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                let close = chars[i + 1..].iter().position(|c| *c == ']');
                match close {
                    Some(n) => {
                        let inner: String = chars[i + 1..i + 1 + n].iter().collect();
                        let inner = inner.replacen('!', "^", 1).replace('\\', "\\\\");
                        out.push('[');
                        out.push_str(&inner);
                        out.push(']');
                        i += n + 2;
                        continue;
                    }
                    None => out.push_str("\\["),
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_directories() {
        assert_eq!(repo_dir("--path", "./a//b/").unwrap(), "a/b");
        for (bad, why) in [
            ("/abs", "absolute"),
            ("/etc", "absolute"),
            ("C:/x", "absolute"),
            ("../x", "leaves the repository"),
            ("a/../../x", "leaves the repository"),
            (".git/hooks", "inside .git"),
            ("a/.GIT", "inside .git"),
            (".pctl", "inside .pctl/"),
            ("./.pctl/x", "inside .pctl/"),
            ("a\nb", "control character"),
            ("~/x", "home directory"),
        ] {
            let err = repo_dir("--path", bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let long = "x".repeat(300);
        assert!(
            repo_dir("--path", &long)
                .unwrap_err()
                .to_string()
                .contains("over the limit of 255")
        );
    }

    #[test]
    fn sourceignore_patterns() {
        let text = "# comment\n.pctl/\n/secret\nbuild/**\n*.tmp\nlogs/\n!logs/keep\n";
        assert_eq!(
            ignored(text, ".pctl/x/kustomization.yaml").as_deref(),
            Some(".pctl/")
        );
        assert_eq!(ignored(text, "secret/a").as_deref(), Some("/secret"));
        assert_eq!(ignored(text, "a/secret/b"), None);
        assert_eq!(ignored(text, "build/a/b").as_deref(), Some("build/**"));
        assert_eq!(ignored(text, "a/x.tmp/k").as_deref(), Some("*.tmp"));
        assert_eq!(ignored(text, "clusters/default/profiles/x/k.yaml"), None);
        assert_eq!(
            ignored("*.yaml\n", "a/kustomization.yaml").as_deref(),
            Some("*.yaml")
        );
        assert_eq!(
            ignored("clusters/**/web\n", "clusters/a/b/web/k.yaml").as_deref(),
            Some("clusters/**/web")
        );
        assert_eq!(
            ignored("profiles\n", "clusters/profiles/web/k").as_deref(),
            Some("profiles")
        );
    }

    #[test]
    fn config_keys_and_names() {
        let text =
            "gitRepository:\n  name: flux-system\n  namespce: x\nsyncPath: a\ninstallPath: a/b\n";
        let raw: Value = crate::yaml::from_str("c", text).unwrap();
        let err = check_config_keys(text, &raw).unwrap_err();
        let (top, _, hints) = crate::error::describe(&err);
        assert_eq!(
            top,
            ".pctl/config.yaml:3: unknown field `gitRepository.namespce`"
        );
        assert!(
            hints[0].starts_with("did you mean `namespace`?"),
            "{hints:?}"
        );
        let text = "gitRepository: {name: flux-system, namespace: Bad_NS!}\nsyncPath: a\ninstallPath: /etc\n";
        let mut c: Config = crate::yaml::from_str("c", text).unwrap();
        let err = check_config(&mut c, Some(text)).unwrap_err().to_string();
        assert!(
            err.contains(
                ".pctl/config.yaml:1: gitRepository.namespace \"Bad_NS!\" is not a DNS-1123 label"
            ),
            "{err}"
        );
        c.git_repository.namespace = "ok".into();
        let err = check_config(&mut c, Some(text)).unwrap_err().to_string();
        assert!(
            err.contains(".pctl/config.yaml:3: installPath \"/etc\" is an absolute path"),
            "{err}"
        );
    }
}
