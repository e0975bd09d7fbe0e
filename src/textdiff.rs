//! Line diffs of file contents in `git diff` style, shared by the diff of a change
//! against the GitOps repository (`git/change.rs`) and the diff of two renderings
//! (`compare.rs`). Pure.
use similar::{ChangeTag, TextDiff};

/// The first line of one file's diff.
pub fn header(path: &str) -> String {
    format!("diff --git a/{path} b/{path}\n")
}

/// `KIND a/PATH and b/PATH differ` (`Binary files`, `Large files`), with `/dev/null`
/// for a side where the file does not exist.
pub fn differ(kind: &str, path: &str, old: bool, new: bool) -> String {
    format!(
        "{kind} {} and {} differ\n",
        side(old, "a", path),
        side(new, "b", path)
    )
}

/// The unified diff (3 lines of context, `---`/`+++` headers naming `a/PATH` and
/// `b/PATH`, or `/dev/null` for an absent side) of two texts; None is an absent file.
pub fn unified(path: &str, old: Option<&str>, new: Option<&str>) -> String {
    TextDiff::from_lines(old.unwrap_or(""), new.unwrap_or(""))
        .unified_diff()
        .context_radius(3)
        .header(
            &side(old.is_some(), "a", path),
            &side(new.is_some(), "b", path),
        )
        .to_string()
}

/// Lines added and removed from `old` to `new` (as `git diff --numstat`).
pub fn line_counts(old: &str, new: &str) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    for c in TextDiff::from_lines(old, new).iter_all_changes() {
        match c.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

/// Whether Git takes these bytes for a binary file: a NUL in the first 8000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|&c| c == 0)
}

fn side(exists: bool, prefix: &str, path: &str) -> String {
    if exists {
        format!("{prefix}/{path}")
    } else {
        "/dev/null".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_diffed_against_dev_null() {
        let d = unified("x.yaml", None, Some("a: 1\n"));
        assert_eq!(d, "--- /dev/null\n+++ b/x.yaml\n@@ -0,0 +1 @@\n+a: 1\n");
        let d = unified("x.yaml", Some("a: 1\n"), None);
        assert_eq!(d, "--- a/x.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-a: 1\n");
    }

    #[test]
    fn counts_and_binary_lines() {
        assert_eq!(line_counts("a\nb\nc\n", "a\nB\nc\nd\n"), (2, 1));
        assert_eq!(
            differ("Binary files", "p", true, false),
            "Binary files a/p and /dev/null differ\n"
        );
        assert!(is_binary(b"ab\0c"));
        assert!(!is_binary("é\n".as_bytes()));
    }
}
