//! The catalog summary `search` reads (src/catalog/summary.rs,
//! docs/benchmarks.md#search-the-catalog-summary): on a fixed set of queries and
//! channels it answers exactly what the full index answers; `search` and `show` read it
//! instead of the index once a catalog is scanned; and an index replaced after the
//! summary was written is never answered from the old summary.
use crate::common::*;
use pctl::catalog::index::{self, Definition, Index, ProfileEntry, VersionEntry};
use pctl::catalog::search;
use pctl::catalog::summary::{self, Summary};
use std::path::PathBuf;

const QUERIES: &[&str] = &[
    "",
    "nginx",
    "NGINX",
    "ingress",
    "metrics cache",
    "cache metrics",
    "plat/",
    "other/",
    "plat/nginx",
    "/ingress",
    "workloads",
    "profile 3",
    "ingress-0003",
    "plat",
    "no-such-thing",
];
const CHANNELS: &[Option<&str>] = &[
    None,
    Some("beta"),
    Some("rc"),
    Some(" BETA "),
    Some("alpha"),
];

/// A search result row: what `pctl search -o json` prints, plus the score.
type Row = (
    u32,
    String,
    Option<String>,
    Option<String>,
    String,
    Vec<String>,
    Option<String>,
    String,
    usize,
);

/// Rows as `search` computed them before the summary: from the whole index.
fn old_rows(catalog: &str, idx: &Index, query: &str, channel: Option<&str>) -> Vec<Row> {
    let terms = search::terms(query);
    let mut rows: Vec<Row> = idx
        .profiles
        .iter()
        .filter_map(|p| {
            let score = search::score(catalog, p, &terms)?;
            let newest = p.newest(channel);
            Some((
                score,
                p.name.clone(),
                newest.map(|v| v.version.clone()),
                newest.map(|v| v.channel.clone()),
                p.description.clone(),
                p.keywords.clone(),
                p.url.clone(),
                p.path.clone(),
                p.versions.len(),
            ))
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    rows
}

/// Rows from the summary.
fn new_rows(catalog: &str, s: &Summary, query: &str, channel: Option<&str>) -> Vec<Row> {
    let terms = search::terms(query);
    let mut rows: Vec<Row> = s
        .profiles
        .iter()
        .filter_map(|p| {
            let score =
                search::score_fields(catalog, &p.name, &p.keywords, &p.description, &terms)?;
            let newest = p.newest(channel).map(|n| n.shown());
            Some((
                score,
                p.name.clone(),
                newest.map(|(v, _)| v.to_string()),
                newest.map(|(_, c)| c.to_string()),
                p.description.clone(),
                p.keywords.clone(),
                p.url.clone(),
                p.path.clone(),
                p.versions,
            ))
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    rows
}

fn version(v: &str, tag: &str, channel: &str, with_definition: bool) -> VersionEntry {
    VersionEntry {
        version: v.into(),
        tag: tag.into(),
        channel: channel.into(),
        commit: Some("0".repeat(40)),
        date: Some("2026-01-01T00:00:00Z".into()),
        changelog: Some(format!("{tag}\n\nChanges \"quoted\", ünïcode.")),
        definition: with_definition.then(|| Definition {
            name: tag.into(),
            description: "a definition the summary leaves out".into(),
            keywords: vec!["inside-definition".into()],
            ..Default::default()
        }),
    }
}

/// An index with the awkward cases: every channel spelling, versions that are not
/// semantic versions, a tag listed twice, profiles with no versions or no stable one,
/// and hand-written URLs.
fn awkward_index() -> Index {
    let words = ["ingress", "metrics", "logging", "cache", "nginx"];
    let mut profiles = Vec::new();
    for p in 0..40usize {
        let name = format!("{}-{p:04}", words[p % words.len()]);
        let mut versions = Vec::new();
        for i in 0..(p % 7) {
            let (v, channel) = match i % 5 {
                0 => (format!("1.{i}.0"), "stable"),
                1 => (format!("1.{i}.0-beta.1"), "beta"),
                2 => (format!("2.{i}.0-rc.{p}"), "rc"),
                3 => (format!("1.{i}.1"), "Stable"),
                _ => (format!("3.{i}.0-alpha"), "BETA"),
            };
            let tag = if i % 2 == 0 {
                format!("{name}/v{v}")
            } else {
                format!("{name}/{v}")
            };
            versions.push(version(&v, &tag, channel, p % 3 != 0));
        }
        if p % 11 == 0 {
            versions.push(version(
                "not-a-version",
                &format!("{name}/x"),
                "stable",
                false,
            ));
        }
        if p % 13 == 1 {
            // The same version under both tag spellings, and a repeated tag.
            versions.push(version("5.0.0", &format!("{name}/5.0.0"), "stable", false));
            versions.push(version("5.0.0", &format!("{name}/v5.0.0"), "stable", false));
            versions.push(version("5.0.0", &format!("{name}/v5.0.0"), "beta", false));
        }
        profiles.push(ProfileEntry {
            name,
            url: (p % 4 == 0).then(|| format!("https://git.example.com/{p}")),
            path: format!("profiles/{p}"),
            description: format!("Profile {p} for {} workloads", words[(p / 3) % 5]),
            maintainer: "Someone".into(),
            keywords: if p % 5 == 0 {
                vec![]
            } else {
                vec![words[(p + 1) % 5].into(), "Mesh".into()]
            },
            prerequisites: vec![],
            versions,
        });
    }
    Index {
        format: index::FORMAT,
        url: "https://git.example.com/plat".into(),
        profiles,
        ..Default::default()
    }
}

#[test]
fn the_summary_answers_every_query_as_the_full_index() {
    let idx = awkward_index();
    let text = serde_json::to_string(&idx).unwrap();
    let from_text = summary::of_text(&idx.url, &text, None).unwrap();
    let from_index = Summary::of(&idx);
    for s in [&from_text, &from_index] {
        for q in QUERIES {
            for ch in CHANNELS {
                assert_eq!(
                    new_rows("plat", s, q, *ch),
                    old_rows("plat", &idx, q, *ch),
                    "query {q:?}, channel {ch:?}"
                );
            }
        }
    }
    // Each span holds exactly its profile's entry (what `show` parses).
    for (p, full) in from_text.profiles.iter().zip(&idx.profiles) {
        let (start, len) = p.span.unwrap();
        let entry: ProfileEntry = serde_json::from_str(&text[start..start + len]).unwrap();
        assert_eq!(&entry, full);
    }
}

#[test]
fn the_shipped_index_summary_answers_as_the_shipped_index() {
    for (url, text) in pctl::catalog::SHIPPED_INDEXES {
        let idx = index::parse(url, text).unwrap();
        let s = summary::shipped(url).unwrap();
        for q in QUERIES
            .iter()
            .chain(&["weaveworks/", "nested", "local chart"])
        {
            for ch in CHANNELS {
                assert_eq!(
                    new_rows("weaveworks", &s, q, *ch),
                    old_rows("weaveworks", &idx, q, *ch),
                    "query {q:?}, channel {ch:?}"
                );
            }
        }
    }
}

fn cache_files(env: &Env, ext: &str) -> Vec<PathBuf> {
    let dir = env.cache.join("pctl").join("catalog");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.extension().is_some_and(|e| e == ext));
    out.sort();
    out
}

fn search_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["search", "-o", "json"];
    all.extend_from_slice(args);
    let out = env.pctl(&all);
    assert_success(&out);
    assert!(
        !stderr(&out).contains("warning"),
        "no warning expected:\n{}",
        describe(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn search_and_show_read_the_summary_and_never_a_stale_one() {
    let platform = shared_repo("platform");
    let env = Env::new();
    env.insteadof("file:///nonexistent/github/", "https://github.com/");
    assert_success(&env.pctl(["catalog", "add", "plat", &platform.url()]));
    let (indexes, summaries) = (cache_files(&env, "json"), cache_files(&env, "summary"));
    assert_eq!(
        (indexes.len(), summaries.len()),
        (1, 1),
        "the scan writes both"
    );
    let queries: &[&[&str]] = &[
        &["plat/"],
        &["nginx"],
        &["--channel", "beta", "plat/nginx"],
        &["--channel", "rc", "nginx"],
        &["web"],
        &["no-such-thing"],
    ];
    let with_summary: Vec<Value> = queries.iter().map(|q| search_json(&env, q)).collect();

    // Without the summary (deleted): rebuilt from the index, the same answers.
    std::fs::remove_file(&summaries[0]).unwrap();
    let rebuilt: Vec<Value> = queries.iter().map(|q| search_json(&env, q)).collect();
    assert_eq!(rebuilt, with_summary);
    assert!(summaries[0].is_file(), "search writes the summary back");

    // The summary is what `search` reads: a definition broken in place (same length,
    // same modification time) outside the nginx entry goes unnoticed by `search`
    // and by `show plat/nginx`, which parses only that entry.
    let file = &indexes[0];
    let text = std::fs::read_to_string(file).unwrap();
    let idx: Index = serde_json::from_str(&text).unwrap();
    let nginx = text.find("\"name\":\"nginx\"").expect("the nginx entry");
    let web = text
        .find("\"name\":\"web\"")
        .expect("the web entry")
        .max(nginx + 1);
    let broken_at = text[web..].find("\"definition\":{").unwrap() + web;
    let mut bytes = text.clone().into_bytes();
    bytes[broken_at] = b'#';
    let mtime = std::fs::metadata(file).unwrap().modified().unwrap();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
        f.seek(SeekFrom::Start(broken_at as u64)).unwrap();
        f.write_all(b"#").unwrap();
        f.set_modified(mtime).unwrap();
    }
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());
    let unaware: Vec<Value> = queries.iter().map(|q| search_json(&env, q)).collect();
    assert_eq!(unaware, with_summary);
    let out = env.pctl(["show", "plat/nginx", "-o", "json"]);
    assert_success(&out);
    assert!(!stderr(&out).contains("corrupt"), "{}", describe(&out));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["versions"].as_array().unwrap().len(), 4);

    // An index replaced after the summary was written: the summary is not used.
    let mut changed = idx.clone();
    let p = changed
        .profiles
        .iter_mut()
        .find(|p| p.name == "web")
        .unwrap();
    p.description = "Replaced by another pctl".into();
    p.versions.truncate(1);
    std::fs::write(file, serde_json::to_string(&changed).unwrap()).unwrap();
    let after = search_json(&env, &["web"]);
    let row = after
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "web")
        .unwrap();
    assert_eq!(row["description"], "Replaced by another pctl");
    assert_eq!(row["versions"], 1);
    assert_eq!(row["version"], "1.0.0");
    let out = env.pctl(["show", "plat/web", "-o", "json"]);
    assert_success(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["versions"].as_array().unwrap().len(), 1);
}
