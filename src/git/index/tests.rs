//! Unit tests of the index reader and writer (`git/index.rs`).
use super::*;
use git2::Repository;

/// A repository whose index (written by libgit2, with a cache tree) holds `files`.
fn repo_with(dir: &Path, files: &[(&str, &str)]) -> Repository {
    let repo = Repository::init(dir).unwrap();
    let mut index = repo.index().unwrap();
    for (path, text) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write_tree().unwrap();
    index.write().unwrap();
    repo
}

fn paths(index: &Index) -> Vec<String> {
    (0..index.len())
        .map(|i| String::from_utf8(index.path(i).to_vec()).unwrap())
        .collect()
}

fn updates(list: &[(&str, bool)]) -> BTreeMap<String, Option<Vec<u8>>> {
    list.iter()
        .map(|(p, write)| (p.to_string(), write.then(Vec::new)))
        .collect()
}

#[test]
fn entries_are_found_by_path_and_the_cache_tree_by_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(
        tmp.path(),
        &[
            ("a/x", "x"),
            ("a/y", "y"),
            ("a-b", "ab"),
            ("b", "b"),
            ("c/d/e", "e"),
        ],
    );
    let index = read(repo.path()).unwrap().expect("a version 2 index");
    assert_eq!(paths(&index), ["a-b", "a/x", "a/y", "b", "c/d/e"]);
    assert_eq!(index.at("b"), 3..4);
    assert!(index.at("a").is_empty());
    assert_eq!(index.below("a"), 1..3);
    assert_eq!(index.below("c/d"), 4..5);
    assert!(index.below("d").is_empty());
    let tree = repo.head().ok();
    assert!(tree.is_none());
    let a = repo
        .find_tree(repo.index().unwrap().write_tree().unwrap())
        .unwrap()
        .get_path(Path::new("a"))
        .unwrap()
        .id();
    assert_eq!(index.cached_tree("a", 2), Some(a.as_bytes()));
    assert_eq!(index.cached_tree("a", 3), None);
    assert_eq!(
        index.oid(3),
        git2::Oid::hash_object(git2::ObjectType::Blob, b"b")
            .unwrap()
            .as_bytes()
    );
    assert_eq!(blob_id(b"b"), index.oid(3));
}

#[test]
fn a_change_is_spliced_in_and_libgit2_reads_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(
        tmp.path(),
        &[
            ("a/x", "x"),
            ("a/y", "y"),
            ("b", "b"),
            ("c/d/e", "e"),
            ("z", "z"),
        ],
    );
    let changes = updates(&[("a/w", true), ("a/y", true), ("b", false), ("new/f", true)]);
    let mut staging = Staging::start(repo.path(), &changes, false)
        .unwrap()
        .unwrap();
    assert!(repo.path().join("index.lock").exists());
    for (path, text) in [("a/w", "w"), ("a/y", "y2"), ("new/f", "f")] {
        let full = tmp.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        staging
            .stage(&full, path, &blob_id(text.as_bytes()))
            .unwrap();
    }
    staging.remove("b");
    staging.commit(tmp.path()).unwrap();
    assert!(!repo.path().join("index.lock").exists());

    // libgit2 checks the trailer and reads every entry.
    let lg = git2::Index::open(&repo.path().join("index")).unwrap();
    let got: Vec<(String, String)> = lg
        .iter()
        .map(|e| (String::from_utf8(e.path).unwrap(), e.id.to_string()))
        .collect();
    let want: Vec<(String, String)> = [
        ("a/w", "w"),
        ("a/x", "x"),
        ("a/y", "y2"),
        ("c/d/e", "e"),
        ("new/f", "f"),
        ("z", "z"),
    ]
    .iter()
    .map(|(p, t)| {
        (
            p.to_string(),
            git2::Oid::hash_object(git2::ObjectType::Blob, t.as_bytes())
                .unwrap()
                .to_string(),
        )
    })
    .collect();
    assert_eq!(got, want);
    // The cache tree: invalid along the changed paths, kept elsewhere.
    let index = read(repo.path()).unwrap().unwrap();
    assert_eq!(index.cached_tree("a", 3), None);
    assert!(index.cached_tree("c", 1).is_some());
    assert!(index.cached_tree("c/d", 1).is_some());
    let tree = index.tree.as_ref().unwrap();
    assert_eq!(tree.nodes[0].count, -1);
    // The stat data is the file's: libgit2 sees no change in the work tree.
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true);
    let repo = Repository::open(tmp.path()).unwrap();
    let dirty: Vec<String> = repo
        .statuses(Some(&mut opts))
        .unwrap()
        .iter()
        .filter(|s| {
            s.status().intersects(
                git2::Status::WT_NEW
                    | git2::Status::WT_MODIFIED
                    | git2::Status::WT_DELETED
                    | git2::Status::WT_TYPECHANGE,
            )
        })
        .map(|s| s.path().unwrap().to_string())
        .collect();
    assert_eq!(
        dirty,
        ["b"],
        "only b, removed from the index and still on disk"
    );
}

#[test]
fn formats_and_paths_pctl_does_not_write_itself_are_left_to_libgit2() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(tmp.path(), &[("a/x", "x"), ("b", "b")]);
    let bytes = std::fs::read(repo.path().join("index")).unwrap();
    assert!(parse(bytes.clone(), (0, 0)).is_some());
    let mut v4 = bytes.clone();
    v4[7] = 4;
    assert!(parse(v4, (0, 0)).is_none());
    // An extension before the trailer: optional ones are read past, required ones not.
    let with = |sig: &[u8; 4]| {
        let mut b = bytes[..bytes.len() - HASH].to_vec();
        b.extend_from_slice(sig);
        b.extend_from_slice(&3u32.to_be_bytes());
        b.extend_from_slice(b"abc");
        b.extend_from_slice(&[0; HASH]);
        parse(b, (0, 0))
    };
    assert!(with(b"UNTR").is_some());
    assert!(with(b"link").is_none());
    assert!(with(b"sdir").is_none());
    assert!(parse(bytes[..bytes.len() - 1].to_vec(), (0, 0)).is_none());
    // A conflict at a written path, a file over a directory or below a file.
    for change in [
        &[("b/c", true)][..],
        &[("a", true)],
        &[("b/c", true), ("b", true)],
    ] {
        assert!(
            Staging::start(repo.path(), &updates(change), false)
                .unwrap()
                .is_none(),
            "{change:?}"
        );
        assert!(!repo.path().join("index.lock").exists());
    }
    // A file whose directory goes in the same change.
    assert!(
        Staging::start(repo.path(), &updates(&[("b/c", true), ("b", false)]), false)
            .unwrap()
            .is_some()
    );
    // No index: libgit2 writes the first one.
    std::fs::remove_file(repo.path().join("index")).unwrap();
    assert!(
        Staging::start(repo.path(), &updates(&[("c", true)]), false)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_held_index_lock_is_an_error_that_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(tmp.path(), &[("a", "a")]);
    std::fs::write(repo.path().join("index.lock"), "").unwrap();
    let err = Staging::start(repo.path(), &updates(&[("b", true)]), false)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("index.lock"), "{err:#}");
    assert!(
        repo.path().join("index.lock").exists(),
        "another process's lock is kept"
    );
}

/// git's racy-clean rule: an entry whose file was modified in the second the index
/// was written may hold other content with the same stat data; when the index is
/// written again (later), such an entry whose content changed gets size 0.
#[test]
fn a_racily_clean_entry_whose_file_changed_is_smudged_and_an_unchanged_one_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(
        tmp.path(),
        &[("same", "1234"), ("changed", "abcd"), ("old", "old")],
    );
    let index = read(repo.path()).unwrap().unwrap();
    let (changed_mtime, old) = (index.stat(0).mtime, index.stat(1));
    // Same size, same modification time, other bytes.
    let full = tmp.path().join("changed");
    std::fs::write(&full, "wxyz").unwrap();
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::new(changed_mtime.0 as u64, changed_mtime.1);
    std::fs::File::options()
        .write(true)
        .open(&full)
        .unwrap()
        .set_modified(at)
        .unwrap();
    // The index written in the same second as the files: all three are racy.
    let first = (0..3).map(|i| index.stat(i).mtime.0).min().unwrap();
    let idx = repo.path().join("index");
    let then = std::time::UNIX_EPOCH + std::time::Duration::from_secs(first as u64);
    std::fs::File::options()
        .write(true)
        .open(&idx)
        .unwrap()
        .set_modified(then)
        .unwrap();
    let index = read(repo.path()).unwrap().unwrap();
    assert!((0..3).all(|i| index.racy(i)));
    assert_eq!(old.size, 3);

    let mut staging = Staging::start(repo.path(), &updates(&[("new", true)]), false)
        .unwrap()
        .unwrap();
    std::fs::write(tmp.path().join("new"), "n").unwrap();
    staging
        .stage(&tmp.path().join("new"), "new", &blob_id(b"n"))
        .unwrap();
    staging.commit(tmp.path()).unwrap();
    let index = read(repo.path()).unwrap().unwrap();
    assert_eq!(paths(&index), ["changed", "new", "old", "same"]);
    assert_eq!(index.stat(0).size, 0, "the changed file's entry is smudged");
    assert_eq!(index.stat(2).size, 3);
    assert_eq!(index.stat(3).size, 4);
    // libgit2 then compares the content and finds the change.
    let repo = Repository::open(tmp.path()).unwrap();
    let st = repo.status_file(Path::new("changed")).unwrap();
    assert!(st.contains(git2::Status::WT_MODIFIED), "{st:?}");
}

/// The cache tree as git's `cache-tree.c` treats it: a tree of nodes, each path
/// invalidated along its way. The reference for the writer, which copies bytes.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    name: Vec<u8>,
    count: i64,
    oid: Option<[u8; HASH]>,
    children: Vec<Model>,
}

impl Model {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.name);
        out.push(0);
        out.extend_from_slice(format!("{} {}\n", self.count, self.children.len()).as_bytes());
        if let (true, Some(oid)) = (self.count >= 0, &self.oid) {
            out.extend_from_slice(oid);
        }
        for c in &self.children {
            c.write(out);
        }
    }

    fn invalidate(&mut self, path: &[u8]) {
        self.count = -1;
        self.oid = None;
        match path.iter().position(|&b| b == b'/') {
            None => self.children.retain(|c| c.name != path),
            Some(slash) => {
                let (first, rest) = (&path[..slash], &path[slash + 1..]);
                if let Some(c) = self.children.iter_mut().find(|c| c.name == first) {
                    c.invalidate(rest);
                }
            }
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

/// The writer's output for `model` with `paths` changed.
fn written(model: &Model, paths: &[&str]) -> Vec<u8> {
    let bytes = model.bytes();
    let tree = parse_tree(&bytes, 0..bytes.len()).expect("a cache tree");
    let mut out = Vec::new();
    tree.write_changed(&bytes, paths.iter().map(|p| p.as_bytes()), &mut out);
    out
}

fn node(name: &str, count: i64, oid: u8, children: Vec<Model>) -> Model {
    Model {
        name: name.as_bytes().to_vec(),
        count,
        oid: (count >= 0).then_some([oid; HASH]),
        children,
    }
}

#[test]
fn the_cache_tree_drops_a_directory_replaced_by_a_file() {
    let root = node(
        "",
        3,
        1,
        vec![
            node("d", 1, 2, vec![]),
            node("e", 2, 3, vec![node("f", 1, 4, vec![])]),
        ],
    );
    // Nothing changed: the bytes as they were.
    assert_eq!(written(&root, &[]), root.bytes());
    let mut want = root.clone();
    want.invalidate(b"d");
    want.invalidate(b"e/g");
    assert_eq!(want.count, -1);
    assert_eq!(want.children.len(), 1);
    assert_eq!(want.children[0].count, -1);
    assert_eq!(want.children[0].children[0].count, 1);
    assert_eq!(written(&root, &["d", "e/g"]), want.bytes());
}

#[test]
fn the_cache_tree_is_written_as_git_invalidates_it_over_many_trees_and_changes() {
    // A small generator with a fixed seed: every shape of tree up to depth 3, and
    // paths that hit, miss, replace and run past its directories.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    fn grow(depth: u32, next: &mut dyn FnMut(u64) -> u64, name: String) -> Model {
        let mut names: Vec<String> = ["a", "b", "c", "a-b"]
            .iter()
            .filter(|_| depth > 0 && next(2) == 0)
            .map(|n| n.to_string())
            .collect();
        names.sort();
        let children: Vec<Model> = names
            .into_iter()
            .map(|n| grow(depth - 1, next, n))
            .collect();
        let count = if next(5) == 0 { -1 } else { 1 + next(9) as i64 };
        node(&name, count, next(250) as u8, children)
    }
    let parts = ["a", "b", "c", "a-b", "x"];
    let mut compared = 0;
    for _ in 0..400 {
        let root = grow(3, &mut next, String::new());
        let n = next(4);
        let paths: Vec<String> = (0..n)
            .map(|_| {
                let len = 1 + next(4) as usize;
                (0..len)
                    .map(|_| parts[next(5) as usize])
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        let mut refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        // The writer is given the change's paths in order, each once.
        refs.sort_unstable();
        refs.dedup();
        let mut want = root.clone();
        for p in &refs {
            want.invalidate(p.as_bytes());
        }
        assert_eq!(
            written(&root, &refs),
            want.bytes(),
            "{root:?} with {refs:?}"
        );
        let bytes = root.bytes();
        assert!(parse_tree(&bytes, 0..bytes.len()).is_some());
        compared += 1;
    }
    assert_eq!(compared, 400);
}

#[test]
fn ewah_bitmaps_are_read_as_git_writes_them() {
    // 200 bits: a run of 1 word of ones, then 2 literal words; the last 8 bits unused.
    let words: [u64; 3] = [1 | (1 << 1) | (2 << 33), 0b1010, 1 << 63];
    let mut data = 200u32.to_be_bytes().to_vec();
    data.extend_from_slice(&3u32.to_be_bytes());
    for w in words {
        data.extend_from_slice(&w.to_be_bytes());
    }
    data.extend_from_slice(&0u32.to_be_bytes());
    data.extend_from_slice(b"rest");
    let (bits, used) = split::ewah_bits(&data).unwrap();
    let mut want: Vec<usize> = (0..64).collect();
    want.extend([65, 67, 191]);
    assert_eq!(bits, want);
    assert_eq!(used, data.len() - 4);
    assert!(split::ewah_bits(&data[..20]).is_none());
}

/// A blob's id as git names it, as the index stores it.
fn blob_id(content: &[u8]) -> [u8; HASH] {
    let id = git2::Oid::hash_object(git2::ObjectType::Blob, content).expect("hash");
    id.as_bytes().try_into().expect("20 bytes")
}

#[test]
fn the_trailer_follows_git_s_index_skip_hash_and_many_files_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(tmp.path(), &[("a/x", "x"), ("b", "b")]);
    let set = |key: &str, value: Option<bool>| {
        let mut config = repo.config().unwrap();
        match value {
            Some(v) => config.set_bool(key, v).unwrap(),
            None => {
                let _ = config.remove(key);
            }
        }
    };
    assert!(!skips_hash(&repo), "git's default");
    set("feature.manyFiles", Some(true));
    assert!(skips_hash(&repo), "feature.manyFiles turns it on");
    set("index.skipHash", Some(false));
    assert!(!skips_hash(&repo), "index.skipHash set itself wins");
    set("feature.manyFiles", None);
    set("index.skipHash", Some(true));
    assert!(skips_hash(&repo));
    for (skip, file) in [(false, "c"), (true, "d")] {
        let mut staging = Staging::start(repo.path(), &updates(&[(file, true)]), skip)
            .unwrap()
            .unwrap();
        let full = tmp.path().join(file);
        std::fs::write(&full, file).unwrap();
        staging
            .stage(&full, file, &blob_id(file.as_bytes()))
            .unwrap();
        staging.commit(tmp.path()).unwrap();
        let bytes = std::fs::read(repo.path().join("index")).unwrap();
        let (body, trailer) = bytes.split_at(bytes.len() - HASH);
        let sum: [u8; HASH] = Sha1::digest(body).into();
        let want = if skip { [0; HASH] } else { sum };
        assert_eq!(trailer, want, "skip {skip}");
        // libgit2 and git read it, with every entry and a clean work tree.
        let lg = git2::Index::open(&repo.path().join("index")).unwrap();
        assert_eq!(lg.len(), if skip { 4 } else { 3 });
        let out = std::process::Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .current_dir(tmp.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let staged = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(staged.contains(&format!("A  {file}")), "{staged}");
    }
}

#[test]
fn entries_out_of_git_s_order_are_left_to_libgit2() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(tmp.path(), &[("a", "1"), ("b", "2")]);
    let bytes = std::fs::read(repo.path().join("index")).unwrap();
    assert!(parse(bytes.clone(), (0, 0)).is_some());
    // Each entry is 64 bytes (62 fixed, a one-byte name, padding).
    let (first, second) = (HEADER..HEADER + 64, HEADER + 64..HEADER + 128);
    let mut swapped = bytes.clone();
    swapped[first.clone()].copy_from_slice(&bytes[second.clone()]);
    swapped[second.clone()].copy_from_slice(&bytes[first.clone()]);
    assert!(parse(swapped, (0, 0)).is_none(), "b before a");
    let mut twice = bytes.clone();
    twice[second].copy_from_slice(&bytes[first]);
    assert!(parse(twice, (0, 0)).is_none(), "a at the same stage twice");
}
