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
    let mut staging = Staging::start(repo.path(), &changes).unwrap().unwrap();
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
    assert_eq!(tree.count, -1);
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
            Staging::start(repo.path(), &updates(change))
                .unwrap()
                .is_none(),
            "{change:?}"
        );
        assert!(!repo.path().join("index.lock").exists());
    }
    // A file whose directory goes in the same change.
    assert!(
        Staging::start(repo.path(), &updates(&[("b/c", true), ("b", false)]))
            .unwrap()
            .is_some()
    );
    // No index: libgit2 writes the first one.
    std::fs::remove_file(repo.path().join("index")).unwrap();
    assert!(
        Staging::start(repo.path(), &updates(&[("c", true)]))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_held_index_lock_is_an_error_that_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo_with(tmp.path(), &[("a", "a")]);
    std::fs::write(repo.path().join("index.lock"), "").unwrap();
    let err = Staging::start(repo.path(), &updates(&[("b", true)]))
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

    let mut staging = Staging::start(repo.path(), &updates(&[("new", true)]))
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

#[test]
fn the_cache_tree_drops_a_directory_replaced_by_a_file() {
    let data = {
        let mut root = TreeNode {
            name: vec![],
            count: 3,
            oid: Some([1; HASH]),
            children: vec![
                TreeNode {
                    name: b"d".to_vec(),
                    count: 1,
                    oid: Some([2; HASH]),
                    children: vec![],
                },
                TreeNode {
                    name: b"e".to_vec(),
                    count: 2,
                    oid: Some([3; HASH]),
                    children: vec![TreeNode {
                        name: b"f".to_vec(),
                        count: 1,
                        oid: Some([4; HASH]),
                        children: vec![],
                    }],
                },
            ],
        };
        let mut out = Vec::new();
        root.write(&mut out);
        assert_eq!(parse_tree(&out).as_ref(), Some(&root));
        root.invalidate(b"d");
        root.invalidate(b"e/g");
        root
    };
    assert_eq!(data.count, -1);
    assert_eq!(data.children.len(), 1);
    assert_eq!(data.children[0].count, -1);
    assert_eq!(data.children[0].children[0].count, 1);
    let mut out = Vec::new();
    data.write(&mut out);
    assert_eq!(parse_tree(&out), Some(data));
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
