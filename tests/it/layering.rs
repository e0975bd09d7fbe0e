//! The dependency rules of docs/architecture.md#rules-the-layout-follows, read from
//! the imports of `src/`: the pure cores use nothing that does Git, resolution,
//! catalogs, encryption, the forge, the GitOps repository's I/O, the commands or the
//! terminal; Git uses no command, catalog or printer; the command line reaches Git only
//! through the operations; and a Secret's plaintext is read only by `sops.rs`.
//! A failure names the file, the line and the path that breaks a rule.
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The pure cores: these files, and every file below the directory of the same name.
const CORES: &[&str] = &[
    "model",
    "values",
    "render",
    "merge",
    "template",
    "version",
    "names",
    "record",
    "source",
    "flux",
    "sops_rules",
];

/// What the cores may not use: modules of pctl (first segment after `crate::`) and
/// crates or std modules that do I/O.
const CORE_FORBIDS: &[&str] = &[
    "crate::git",
    "crate::resolve",
    "crate::catalog",
    "crate::sops",
    "crate::forge",
    "crate::gitops",
    "crate::ops",
    "crate::cli",
    "crate::printer",
    "crate::userconfig",
    "git2::",
    "ureq::",
    "std::fs",
    "std::process",
    "std::net",
];

/// What Git (`git.rs`, `git/`) may not use.
const GIT_FORBIDS: &[&str] = &[
    "crate::ops",
    "crate::cli",
    "crate::catalog",
    "crate::printer",
];

/// What the command line (`cli/`, `main.rs`) may not use.
const CLI_FORBIDS: &[&str] = &["crate::git", "pctl::git", "git2::"];

/// Other modules whose output the operations print: they return their warnings.
const QUIET: &[&str] = &["catalog/index.rs", "check/guard.rs"];

/// Known exceptions, each with its reason: (file, forbidden path).
const ALLOWED: &[(&str, &str)] = &[];

/// Every `.rs` file below `dir` (or the file `dir.rs`), relative to `src/`.
fn files(rel: &str) -> Vec<String> {
    let mut out = Vec::new();
    let file = src().join(format!("{rel}.rs"));
    if !rel.is_empty() && file.is_file() {
        out.push(format!("{rel}.rs"));
    }
    let exact = src().join(rel);
    if exact.is_file() {
        out.push(rel.to_string());
    }
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.expect("readable directory entry");
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let below = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if path.is_dir() {
                walk(&path, &below, out);
            } else if name.ends_with(".rs") {
                out.push(below);
            }
        }
    }
    if exact.is_dir() {
        walk(&exact, rel, &mut out);
    }
    assert!(!out.is_empty(), "src/{rel}: no such module");
    out.sort();
    out
}

/// The code of a line: without its `//` comment (doc comments included) and its
/// string literals, so that prose naming a path is not an import.
fn code(line: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            break;
        }
        out.push(c);
    }
    out
}

/// Every path a line uses, with the brace groups of `use` expanded one level
/// (`crate::{git, yaml::Map}` uses `crate::git` and `crate::yaml`).
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = &code[i..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        if start_ok && word.contains("::") {
            if let Some(prefix) = word.strip_suffix("::")
                && rest[word.len()..].starts_with('{')
            {
                let group: String = rest[word.len() + 1..]
                    .chars()
                    .take_while(|c| *c != '}')
                    .collect();
                for item in group.split(',') {
                    let item = item.trim();
                    if !item.is_empty() {
                        out.push(format!("{prefix}::{item}"));
                    }
                }
                i += word.len() + 1 + group.len();
            } else {
                out.push(word.clone());
                i += word.len();
            }
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// Whether `path` is `forbidden` or below it (`crate::git` forbids `crate::git` and
/// `crate::git::X`, not `crate::gitops`).
fn breaks(path: &str, forbidden: &str) -> bool {
    if forbidden.ends_with("::") {
        return path.starts_with(forbidden);
    }
    path == forbidden || path.starts_with(&format!("{forbidden}::"))
}

/// The lines of `files` that use a forbidden path, as `src/FILE:LINE uses PATH`.
fn violations(files: &[String], forbids: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for rel in files {
        let text = fs::read_to_string(src().join(rel)).expect("readable source file");
        for (n, line) in text.lines().enumerate() {
            for path in paths(&code(line)) {
                for f in forbids {
                    let allowed = ALLOWED.iter().any(|(file, p)| file == rel && p == f);
                    if breaks(&path, f) && !allowed {
                        out.push(format!(
                            "src/{rel}:{} uses {path} ({f} is not allowed here)",
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    out
}

fn assert_none(rule: &str, found: Vec<String>) {
    assert!(found.is_empty(), "{rule}:\n{}", found.join("\n"));
}

#[test]
fn pure_cores_use_no_git_resolver_catalog_sops_forge_gitops_ops_or_io() {
    let files: Vec<String> = CORES.iter().flat_map(|c| files(c)).collect();
    assert_none(
        "a pure core (model, values, render, merge, template, version, names, record, source, flux, sops_rules) uses a module that does I/O",
        violations(&files, CORE_FORBIDS),
    );
}

#[test]
fn git_uses_no_operation_command_catalog_or_printer() {
    assert_none(
        "Git uses a command, catalog or printer",
        violations(&files("git"), GIT_FORBIDS),
    );
}

#[test]
fn the_command_line_reaches_git_only_through_the_operations() {
    let mut files = files("cli");
    files.extend(self::files("main.rs"));
    assert_none("the command line uses Git", violations(&files, CLI_FORBIDS));
}

#[test]
fn cores_that_the_operations_call_return_their_warnings() {
    let files: Vec<String> = QUIET.iter().flat_map(|c| files(c)).collect();
    assert_none(
        "a core prints instead of returning its warnings",
        violations(&files, &["crate::printer"]),
    );
}

#[test]
fn only_sops_reads_a_secret_plaintext_and_seals_a_rendering() {
    let mut found = Vec::new();
    for rel in files("") {
        // render/tests.rs finishes renderings that hold no secret.
        if ["sops.rs", "render/unsealed.rs", "render/tests.rs"].contains(&rel.as_str()) {
            continue;
        }
        let text = fs::read_to_string(src().join(&rel)).expect("readable source file");
        for (n, line) in text.lines().enumerate() {
            let code = code(line);
            if code.contains(".expose()") {
                found.push(format!("src/{rel}:{} reads a Plaintext", n + 1));
            }
            if code.contains(".with_ciphertext(") {
                found.push(format!(
                    "src/{rel}:{} finishes an Unsealed rendering",
                    n + 1
                ));
            }
        }
    }
    assert_none(
        "only sops.rs may read a Secret's plaintext (Plaintext::expose) and turn an Unsealed rendering into a Rendered (Unsealed::with_ciphertext)",
        found,
    );
}

/// Every exception still names a use that exists: one no longer needed is removed.
#[test]
fn every_allowed_exception_is_still_needed() {
    for (file, forbidden) in ALLOWED {
        let text = fs::read_to_string(src().join(file)).expect("readable source file");
        let used = text
            .lines()
            .any(|l| paths(&code(l)).iter().any(|p| breaks(p, forbidden)));
        assert!(
            used,
            "src/{file} no longer uses {forbidden}: remove it from ALLOWED"
        );
    }
}

/// Terminal output goes through the printer: no `print!`/`eprint!` outside it.
#[test]
fn only_the_printer_writes_to_the_terminal() {
    let mut found = Vec::new();
    for rel in files("") {
        if rel == "printer.rs" {
            continue;
        }
        let text = fs::read_to_string(src().join(&rel)).expect("readable source file");
        for (n, line) in text.lines().enumerate() {
            let code = code(line);
            if ["print!(", "println!(", "eprint!(", "eprintln!("]
                .iter()
                .any(|m| code.contains(m))
            {
                found.push(format!("src/{rel}:{} prints without the printer", n + 1));
            }
        }
    }
    assert_none("terminal output bypasses src/printer.rs", found);
}

/// The checker itself: a rule that could never fail would prove nothing.
#[test]
fn the_checker_finds_imports_in_every_form() {
    let found = |line: &str| paths(&code(line));
    assert_eq!(
        found("use crate::git::Workspace;"),
        ["crate::git::Workspace"]
    );
    assert_eq!(
        found("use crate::{git, yaml::Map};"),
        ["crate::git", "crate::yaml::Map"]
    );
    assert_eq!(
        found("    let x = crate::sops::seal(u)?; // crate::ops"),
        ["crate::sops::seal"]
    );
    assert!(found("/// see [`crate::gitops::bases::physical`]").is_empty());
    assert!(found("let s = \"crate::git::X\";").is_empty());
    assert!(breaks("crate::git::Mode", "crate::git"));
    assert!(breaks("crate::git", "crate::git"));
    assert!(!breaks("crate::gitops::join", "crate::git"));
    assert!(!breaks("crate::sops_rules::age_recipients", "crate::sops"));
    assert!(breaks("git2::Oid", "git2::"));
    assert!(!breaks("mygit2::Oid", "git2::"));
}
