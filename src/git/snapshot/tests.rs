//! Snapshots over real trees and directories: paths stay inside, links do not loop,
//! and the trees of a history compare as Git would.
use super::*;

#[cfg(unix)]
#[test]
fn paths_and_symlinks_stay_inside_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("p/files")).unwrap();
    std::fs::write(root.join("p/files/a.yaml"), "a: 1\n").unwrap();
    std::os::unix::fs::symlink("../p/files", root.join("p/inside")).unwrap();
    std::os::unix::fs::symlink("../../outside", root.join("p/out")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("p/abs")).unwrap();
    let s = Snapshot::Dir {
        root: root.to_path_buf(),
    };
    assert_eq!(s.resolve("p", "files/./a.yaml").unwrap(), "p/files/a.yaml");
    assert_eq!(s.resolve("p", "inside/a.yaml").unwrap(), "p/files/a.yaml");
    assert!(
        s.resolve("p", "/etc/passwd")
            .unwrap_err()
            .contains("absolute")
    );
    assert!(s.resolve("p", "../../x").unwrap_err().contains("leaves"));
    assert!(s.resolve("p", "out/x").unwrap_err().contains("outside"));
    assert!(
        s.resolve("p", "abs/passwd")
            .unwrap_err()
            .contains("outside")
    );
    let files = s.files_below("p/files").unwrap();
    assert_eq!(files.keys().collect::<Vec<_>>(), ["a.yaml"]);
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_an_error_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("p/d")).unwrap();
    std::os::unix::fs::symlink("..", tmp.path().join("p/d/up")).unwrap();
    let s = Snapshot::Dir {
        root: tmp.path().to_path_buf(),
    };
    let err = s.files_below("p").unwrap_err().to_string();
    assert!(err.contains("loops back"), "{err}");
}

/// A commit made with git2 alone: `files` written over the parent's tree.
fn commit(repo: &Repository, parent: Option<Oid>, files: &[(&str, Option<&str>)]) -> Oid {
    let mut index = git2::Index::new().unwrap();
    if let Some(p) = parent {
        index
            .read_tree(&repo.find_commit(p).unwrap().tree().unwrap())
            .unwrap();
    }
    for (path, text) in files {
        match text {
            Some(t) => {
                let id = repo.blob(t.as_bytes()).unwrap();
                let mut e = git2::IndexEntry {
                    ctime: git2::IndexTime::new(0, 0),
                    mtime: git2::IndexTime::new(0, 0),
                    dev: 0,
                    ino: 0,
                    mode: 0o100644,
                    uid: 0,
                    gid: 0,
                    file_size: 0,
                    id,
                    flags: 0,
                    flags_extended: 0,
                    path: path.as_bytes().to_vec(),
                };
                e.flags = path.len().min(0xfff) as u16;
                index.add(&e).unwrap();
            }
            None => index.remove_path(Path::new(path)).unwrap(),
        }
    }
    let tree = repo.find_tree(index.write_tree_to(repo).unwrap()).unwrap();
    let sig = git2::Signature::new("t", "t@example.com", &git2::Time::new(0, 0)).unwrap();
    let parents: Vec<git2::Commit> = parent
        .map(|p| repo.find_commit(p).unwrap())
        .into_iter()
        .collect();
    let refs: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(None, &sig, &sig, "c", &tree, &refs).unwrap()
}

#[test]
fn recent_trees_and_the_paths_changed_since_one_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repository::init_bare(tmp.path()).unwrap();
    let a = commit(
        &repo,
        None,
        &[("x/a.yaml", Some("a")), ("y/b.yaml", Some("b"))],
    );
    let b = commit(
        &repo,
        Some(a),
        &[("x/a.yaml", Some("a2")), ("z/c.yaml", Some("c"))],
    );
    let c = commit(&repo, Some(b), &[("y/b.yaml", None)]);
    let view = view_of(&repo, c).unwrap();
    let tree = |id: Oid| raw(repo.find_commit(id).unwrap().tree_id());
    assert_eq!(view.recent_trees(5), [tree(c), tree(b), tree(a)]);
    assert_eq!(view.recent_trees(1), [tree(c), tree(b)]);
    assert_eq!(
        view.paths_changed_since(&tree(c), 10).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        view.paths_changed_since(&tree(a), 10).unwrap(),
        ["x/a.yaml", "y/b.yaml", "z/c.yaml"]
    );
    assert_eq!(
        view.paths_changed_since(&tree(a), 2),
        None,
        "over the limit"
    );
    assert_eq!(
        view.paths_changed_since(&[7u8; 20], 10),
        None,
        "no such tree"
    );
    assert!(TreeView::empty().recent_trees(3).is_empty());
}
