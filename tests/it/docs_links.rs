//! The documentation stands alone: every relative link in `README.md` and `docs/`
//! names a file of the repository (and, with `#anchor`, a heading of it), no page
//! points outside the clone, and `docs/commands.md` has a section for every command
//! the binary has.
use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `README.md`, every Markdown file under `docs/`, and the READMEs that describe the
/// fixtures.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![
        root().join("README.md"),
        root().join("fixtures/README.md"),
        root().join("fixtures/lint/README.md"),
        root().join("fixtures/repos/upgrade/README.md"),
    ];
    let mut docs: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("readable docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "docs/ holds no Markdown page");
    pages.extend(docs);
    pages
}

/// The text outside fenced code blocks and inline code spans, line by line (line
/// numbers kept), so that `[x](y)` inside code is not taken for a link.
fn prose(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut kept = String::new();
        for (j, part) in line.split('`').enumerate() {
            if j % 2 == 0 {
                kept.push_str(part);
            }
        }
        out.push((i + 1, kept));
    }
    out
}

/// Every `[text](target)` of a page with its line.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (line, prose) in prose(text) {
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let inner = after[..end].trim();
            // `[x](<path with spaces>)` and `[x](path "title")`
            let target = match inner.strip_prefix('<') {
                Some(t) => t.split('>').next().unwrap_or(""),
                None => inner.split_whitespace().next().unwrap_or(""),
            };
            out.push((line, target.to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation other than
/// `-` and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown page, with `-1`, `-2` … for repeated headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(heading);
        let mut candidate = base.clone();
        let mut n = 0;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        seen.insert(candidate);
    }
    seen
}

/// `base/target` with `.` and `..` applied, or None when it leaves the repository.
fn inside_repo(base: &Path, target: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = base
        .strip_prefix(root())
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for c in Path::new(target).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

#[test]
fn every_relative_link_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = fs::read_to_string(&page).expect("readable page");
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        let dir = page.parent().expect("a page has a directory");
        for (line, target) in links(&text) {
            if target.is_empty() {
                problems.push(format!("{name}:{line}: empty link target"));
                continue;
            }
            if target.starts_with("https://") || target.starts_with("mailto:") {
                continue;
            }
            if target.starts_with("http://") {
                problems.push(format!("{name}:{line}: {target}: use https://"));
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                page.clone()
            } else {
                match inside_repo(dir, path) {
                    Some(rel) => root().join(rel),
                    None => {
                        problems.push(format!(
                            "{name}:{line}: {target} points outside the repository"
                        ));
                        continue;
                    }
                }
            };
            if !file.exists() {
                problems.push(format!("{name}:{line}: {target}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                if file.extension().is_none_or(|e| e != "md") {
                    continue;
                }
                let target_text = fs::read_to_string(&file).expect("readable link target");
                if !anchors(&target_text).contains(anchor) {
                    problems.push(format!(
                        "{name}:{line}: {target}: no heading with anchor #{anchor}"
                    ));
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} relative links found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_page_refers_outside_the_clone() {
    let mut problems = Vec::new();
    for page in pages() {
        let text = fs::read_to_string(&page).expect("readable page");
        let name = page
            .strip_prefix(root())
            .unwrap_or(&page)
            .display()
            .to_string();
        for (i, line) in text.lines().enumerate() {
            // Spelled in parts so that this file does not mention them either.
            let needles = [
                ["..", "shared"].join("/"),
                ["/work", "shared"].join("/"),
                ["SPEC", "§"].join(" "),
                ["SPEC", "section"].join(" "),
            ];
            for needle in &needles {
                if line.contains(needle.as_str()) {
                    problems.push(format!("{name}:{}: mentions {needle:?}", i + 1));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn commands_md_covers_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_pctl"))
        .arg("--help")
        .output()
        .expect("run pctl --help");
    assert!(out.status.success(), "pctl --help failed");
    let help = String::from_utf8_lossy(&out.stdout);
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .expect("pctl --help lists commands")
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() > 15, "too few commands parsed: {commands:?}");
    let reference = fs::read_to_string(root().join("docs/commands.md")).expect("commands.md");
    let missing: Vec<&str> = commands
        .iter()
        .filter(|c| !reference.contains(&format!("## `pctl {c}")))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "docs/commands.md has no `## `pctl COMMAND`` section for: {missing:?}"
    );
}

#[test]
fn the_link_parser_sees_links_and_skips_code() {
    let text = "see [a](x.md#b) and `[c](nope)`\n```\n[d](nope)\n```\n[e](<y z.md>)\n";
    let found: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(found, vec!["x.md#b".to_string(), "y z.md".to_string()]);
    assert_eq!(slug("`pctl lint DIR`"), "pctl-lint-dir");
    assert_eq!(
        slug("Scale: `cargo bench --bench scale`"),
        "scale-cargo-bench---bench-scale"
    );
    let a = anchors("# T\n## Same\n## Same\n```\n# not\n```\n");
    assert!(a.contains("same") && a.contains("same-1") && !a.contains("not"));
}
