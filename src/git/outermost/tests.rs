//! The memoised walk for outermost files: the same answer as reading every tree,
//! a file added by hand below a tree the memo has seen is found, and a memo that is
//! forged, foreign or of another format is not believed.
use super::*;
use crate::git::snapshot::view_of;
use std::collections::BTreeMap;
use std::path::Path;

const NAME: &str = "record.yaml";
const KIND: &str = "test-summary/1";
const SECRET: (u64, u64) = (3, 5);

/// The summary the tests keep: the content's first line.
fn first_line(bytes: &[u8]) -> Vec<u8> {
    bytes
        .split(|b| *b == b'\n')
        .next()
        .unwrap_or_default()
        .to_vec()
}

/// A commit of `files` (path → content) as the only commit on HEAD.
fn commit(repo: &Repository, files: &BTreeMap<&str, &str>) -> Oid {
    fn tree(repo: &Repository, files: &BTreeMap<String, &str>) -> Oid {
        let mut b = repo.treebuilder(None).unwrap();
        let mut dirs: BTreeMap<String, BTreeMap<String, &str>> = BTreeMap::new();
        for (path, content) in files {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    dirs.entry(dir.to_string())
                        .or_default()
                        .insert(rest.to_string(), content);
                }
                None => {
                    let blob = repo.blob(content.as_bytes()).unwrap();
                    b.insert(path, blob, 0o100644).unwrap();
                }
            }
        }
        for (dir, below) in dirs {
            b.insert(&dir, tree(repo, &below), 0o040000).unwrap();
        }
        b.write().unwrap()
    }
    let files: BTreeMap<String, &str> = files.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let tree = repo.find_tree(tree(repo, &files)).unwrap();
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    repo.commit(None, &sig, &sig, "t", &tree, &[]).unwrap()
}

fn tree_of(repo: &Repository, commit: Oid) -> Oid {
    repo.find_commit(commit).unwrap().tree_id()
}

/// (path, summary) of every outermost record, by a walk on a thread of its own (the
/// parse cache is per thread) with the cache in `cache` under `secret`; the cache is
/// saved afterwards.
fn walk(repo: &Path, commit: Oid, cache: &Path, secret: (u64, u64)) -> Vec<(String, String)> {
    let (repo, cache) = (repo.to_path_buf(), cache.to_path_buf());
    std::thread::spawn(move || {
        parsecache::attach_for_tests(&cache, secret);
        let repo = Repository::open(&repo).unwrap();
        let view = view_of(&repo, commit).unwrap();
        let found = view.outermost(NAME, KIND, &first_line).unwrap();
        for f in &found {
            assert_eq!(
                first_line(&view.content_of(f).unwrap()),
                f.summary,
                "{}",
                f.path
            );
        }
        parsecache::save();
        found
            .into_iter()
            .map(|f| (f.path, String::from_utf8(f.summary).unwrap()))
            .collect()
    })
    .join()
    .unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn sample() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("apps/a/x.yaml", "x"),
        ("apps/b/c/y.yaml", "y"),
        ("p/one/record.yaml", "one\nmore"),
        ("p/one/inner/record.yaml", "nested: not outermost"),
        ("p/two/record.yaml", "two"),
        ("p/two-b/record.yaml", "two-b"),
        ("p/two.x/record.yaml", "dotted"),
        ("q/record.yaml", "q"),
    ])
}

#[test]
fn the_memo_gives_the_walks_answer_and_follows_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("repo"), tmp.path().join("cache"));
    let repo = Repository::init(&dir).unwrap();
    let mut files = sample();
    let c1 = commit(&repo, &files);
    let want = pairs(&[
        ("p/one/record.yaml", "one"),
        ("p/two-b/record.yaml", "two-b"),
        ("p/two.x/record.yaml", "dotted"),
        ("p/two/record.yaml", "two"),
        ("q/record.yaml", "q"),
    ]);
    // Cold, then from the memo the first walk saved.
    assert_eq!(walk(&dir, c1, &cache, SECRET), want);
    assert!(cache.join(parsecache::FILE).exists());
    assert_eq!(walk(&dir, c1, &cache, SECRET), want);
    // Records added by hand in directories the memo has seen (one of them inside a
    // directory that had none), one removed: found as they are now.
    files.insert("apps/b/c/record.yaml", "by hand");
    files.insert("apps/b/c/deeper/record.yaml", "held by apps/b/c");
    files.remove("p/two/record.yaml");
    files.insert("p/two/other.yaml", "no longer an installation");
    let c2 = commit(&repo, &files);
    let want2 = pairs(&[
        ("apps/b/c/record.yaml", "by hand"),
        ("p/one/record.yaml", "one"),
        ("p/two-b/record.yaml", "two-b"),
        ("p/two.x/record.yaml", "dotted"),
        ("q/record.yaml", "q"),
    ]);
    assert_eq!(walk(&dir, c2, &cache, SECRET), want2);
    assert_eq!(walk(&dir, c2, &cache, SECRET), want2);
    // The old tree still gives its own answer.
    assert_eq!(walk(&dir, c1, &cache, SECRET), want);
    // A record at the root holds everything.
    files.insert("record.yaml", "root");
    let c3 = commit(&repo, &files);
    assert_eq!(
        walk(&dir, c3, &cache, SECRET),
        pairs(&[("record.yaml", "root")])
    );
    // Every record below one directory (the root's memo names that directory), then
    // one more added by hand beside it.
    for f in [
        "record.yaml",
        "q/record.yaml",
        "apps/b/c/record.yaml",
        "apps/b/c/deeper/record.yaml",
    ] {
        files.remove(f);
    }
    let c4 = commit(&repo, &files);
    let want4 = pairs(&[
        ("p/one/record.yaml", "one"),
        ("p/two-b/record.yaml", "two-b"),
        ("p/two.x/record.yaml", "dotted"),
    ]);
    assert_eq!(walk(&dir, c4, &cache, SECRET), want4);
    assert_eq!(walk(&dir, c4, &cache, SECRET), want4);
    files.insert("apps/a/record.yaml", "beside");
    let c5 = commit(&repo, &files);
    let mut want5 = pairs(&[("apps/a/record.yaml", "beside")]);
    want5.extend(want4);
    assert_eq!(walk(&dir, c5, &cache, SECRET), want5);
    assert_eq!(walk(&dir, c5, &cache, SECRET), want5);
}

/// A cache whose only entry says the tree of `commit` holds one record named as
/// `payload` says, written under `secret`.
fn forge(cache: &Path, repo: &Path, commit: Oid, payload: Vec<u8>, secret: (u64, u64)) {
    let (cache, repo) = (cache.to_path_buf(), repo.to_path_buf());
    std::thread::spawn(move || {
        let _ = std::fs::remove_file(cache.join(parsecache::FILE));
        parsecache::attach_for_tests(&cache, secret);
        let repo = Repository::open(&repo).unwrap();
        let key = parsecache::memo_key(
            MEMO_KIND,
            &[
                tree_of(&repo, commit).as_bytes(),
                NAME.as_bytes(),
                KIND.as_bytes(),
            ],
        );
        parsecache::memo_put(&key, &payload);
        parsecache::save();
    })
    .join()
    .unwrap();
}

#[test]
fn a_forged_foreign_or_other_format_memo_is_not_believed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("repo"), tmp.path().join("cache"));
    let repo = Repository::init(&dir).unwrap();
    let c = commit(&repo, &sample());
    let truth = walk(&dir, c, &tmp.path().join("fresh"), SECRET);
    assert_eq!(truth.len(), 5);
    let any_blob = repo.blob(b"lie").unwrap();
    let lie = encode(
        &[Outermost {
            path: format!("made/up/{NAME}"),
            summary: b"lie".to_vec(),
            blob: any_blob,
        }],
        0,
        NAME.len(),
    );
    // Under the user's own secret the memo is believed: the walk does read it...
    forge(&cache, &dir, c, lie.clone(), SECRET);
    assert_eq!(
        walk(&dir, c, &cache, SECRET),
        pairs(&[("made/up/record.yaml", "lie")])
    );
    // (A memo may send the walk to the one subtree holding every file.)
    let q = repo
        .find_tree(tree_of(&repo, c))
        .unwrap()
        .get_name("q")
        .unwrap()
        .id();
    forge(&cache, &dir, c, encode_child("q", q), SECRET);
    assert_eq!(
        walk(&dir, c, &cache, SECRET),
        pairs(&[("q/record.yaml", "q")])
    );
    // ...but not when another user's secret tagged it (a copied .git, a forged file).
    forge(&cache, &dir, c, lie.clone(), (3, 6));
    assert_eq!(walk(&dir, c, &cache, SECRET), truth);
    // Nor another format's payload, nor a malformed one, each then walked again.
    let mut other_version = lie.clone();
    other_version[0] = VERSION + 1;
    let mut trailing = lie.clone();
    trailing.push(0);
    let mut bad_dir = lie.clone();
    let at = bad_dir.windows(3).position(|w| w == b"up/").unwrap();
    bad_dir[at + 2] = b'x'; // a directory that does not end in '/'
    for payload in [
        other_version,
        trailing,
        bad_dir,
        lie[..lie.len() - 1].to_vec(),
        vec![VERSION, FILES, 0xff, 0xff, 0xff, 0xff, 0x7f],
        vec![VERSION, 7],
        Vec::new(),
        // A memo that sends the walk back to the same tree.
        encode_child("p", tree_of(&repo, c)),
    ] {
        forge(&cache, &dir, c, payload, SECRET);
        assert_eq!(walk(&dir, c, &cache, SECRET), truth);
    }
}

#[test]
fn payloads_round_trip_and_every_truncation_is_refused() {
    let blob = Oid::from_bytes(&[7; 20]).unwrap();
    let found: Vec<Outermost> = ["a/b/", "a/b/c/", "a/bü/", "d/", ""]
        .iter()
        .enumerate()
        .map(|(i, d)| Outermost {
            path: format!("x/{d}{NAME}"),
            summary: vec![i as u8; i],
            blob,
        })
        .collect();
    let payload = encode(&found, 2, NAME.len());
    let Some(Memo::Files(back)) = decode(&payload, "y/", NAME) else {
        panic!("not read back");
    };
    let paths: Vec<&str> = back.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "y/a/b/record.yaml",
            "y/a/b/c/record.yaml",
            "y/a/bü/record.yaml",
            "y/d/record.yaml",
            "y/record.yaml"
        ]
    );
    assert!(back.iter().zip(&found).all(|(a, b)| a.summary == b.summary));
    let child = encode_child("dir", blob);
    assert!(
        matches!(decode(&child, "", NAME), Some(Memo::Child(d, id)) if d == "dir" && id == blob)
    );
    for p in [&payload, &child] {
        for cut in 0..p.len() {
            assert!(decode(&p[..cut], "", NAME).is_none(), "cut at {cut}");
        }
    }
    for bad in ["", "a/b"] {
        assert!(
            decode(&encode_child(bad, blob), "", NAME).is_none(),
            "{bad:?}"
        );
    }
}
