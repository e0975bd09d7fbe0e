//! What an upgrade remembers of an installation's files tells a changed
//! directory from an unchanged one.
use super::Ours;
use crate::testutil::git;
use std::path::Path;

fn commit(dir: &Path, path: &str, text: &str) -> crate::git::TreeView {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", path]);
    crate::git::Workspace::open(Some(dir.to_str().unwrap()))
        .unwrap()
        .view()
        .unwrap()
}

#[test]
fn a_directory_is_the_same_while_its_tree_is() {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    let dir = "clusters/default/profiles/web";
    let planned = commit(tmp.path(), &format!("{dir}/cm.yaml"), "a: 1\n");
    let files = planned.files_below(dir).unwrap();
    let ours = Ours::of(&planned, dir, files.clone()).unwrap();
    assert!(
        matches!(ours, Ours::Tree(_)),
        "a commit's view: the tree id"
    );
    assert!(ours.same_in(&planned, dir).unwrap());
    // A change elsewhere leaves the installation as it was.
    let elsewhere = commit(tmp.path(), "other/x.yaml", "b: 2\n");
    assert!(ours.same_in(&elsewhere, dir).unwrap());
    // A change in it does not; nor does its removal.
    let edited = commit(tmp.path(), &format!("{dir}/cm.yaml"), "a: 2\n");
    assert!(!ours.same_in(&edited, dir).unwrap());
    assert!(
        !ours
            .same_in(&edited, "clusters/default/profiles/gone")
            .unwrap()
    );
    // The files themselves, compared file by file.
    let by_files = Ours::Files(files);
    assert!(by_files.same_in(&elsewhere, dir).unwrap());
    assert!(!by_files.same_in(&edited, dir).unwrap());
}
