//! Kubernetes object names (docs/layout.md#names): DNS-1123 label checks, sanitising,
//! and deterministic shortening with a hash suffix for object and Helm release names.

use sha2::{Digest, Sha256};

/// Longest Kubernetes object name `pctl` emits (a DNS-1123 label).
pub const MAX_OBJECT_NAME: usize = 63;
/// Longest Helm release name (Helm appends suffixes to the release name itself).
pub const MAX_RELEASE_NAME: usize = 53;

/// Hex digits of SHA-256 appended when a name is cut.
const HASH_LEN: usize = 8;

/// RFC 1123 label: 1-63 chars, [a-z0-9-], starts and ends alphanumeric.
pub fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= MAX_OBJECT_NAME
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
}

/// Lower-case, map every char outside [a-z0-9-] to '-', collapse nothing else,
/// trim '-' at both ends; "" stays "".
pub fn sanitize(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_matches('-').to_string()
}

/// The first `n` lower-case hex digits of SHA-256(`s`).
fn short_hash(s: &str, n: usize) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut hex = crate::record::hex(&digest);
    hex.truncate(n.min(hex.len()));
    hex
}

/// `s` if it has at most `max` chars, else its first (max - 9) chars with trailing
/// '-' trimmed + "-" + the first 8 hex chars of SHA-256(s). Deterministic. The
/// result of a sanitized input is a valid label when max <= 63.
///
/// Degenerate limits: when `max` leaves no room for a prefix (max <= 9) the result
/// is the hash alone, cut to `max` chars.
pub fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(HASH_LEN + 1);
    let prefix: String = s.chars().take(keep).collect();
    let prefix = prefix.trim_end_matches('-');
    if prefix.is_empty() {
        return short_hash(s, HASH_LEN.min(max));
    }
    format!("{prefix}-{}", short_hash(s, HASH_LEN))
}

/// Object name for an artifact: fit(sanitize(install + "-" + artifact_id), 63).
pub fn object_name(install: &str, artifact_id: &str) -> String {
    fit(
        &sanitize(&format!("{install}-{artifact_id}")),
        MAX_OBJECT_NAME,
    )
}

/// Helm release names are limited to 53 chars: fit(sanitize(..), 53).
pub fn release_name(install: &str, artifact_id: &str) -> String {
    fit(
        &sanitize(&format!("{install}-{artifact_id}")),
        MAX_RELEASE_NAME,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_label_rules() {
        assert!(is_dns1123_label("a"));
        assert!(is_dns1123_label("obs-prometheus-1"));
        assert!(is_dns1123_label("0abc"));
        assert!(is_dns1123_label(&"a".repeat(63)));
        assert!(!is_dns1123_label(""));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(!is_dns1123_label("-abc"));
        assert!(!is_dns1123_label("abc-"));
        assert!(!is_dns1123_label("Abc"));
        assert!(!is_dns1123_label("a_b"));
        assert!(!is_dns1123_label("a.b"));
        assert!(!is_dns1123_label("ä"));
    }

    #[test]
    fn sanitize_maps_and_trims() {
        assert_eq!(sanitize("Obs/Ingress_Nginx"), "obs-ingress-nginx");
        assert_eq!(sanitize("a__b"), "a--b");
        assert_eq!(sanitize("--x.y--"), "x-y");
        assert_eq!(sanitize("Ünïcode"), "n-code");
        assert_eq!(sanitize(""), "");
        assert_eq!(sanitize("///"), "");
    }

    #[test]
    fn fit_keeps_short_names() {
        assert_eq!(fit("short", 63), "short");
        let exact = "a".repeat(63);
        assert_eq!(fit(&exact, 63), exact);
    }

    #[test]
    fn fit_cuts_long_names_to_exactly_max_with_hash() {
        let long = "a".repeat(100);
        let out = fit(&long, 63);
        assert_eq!(out.len(), 63);
        assert!(out.starts_with(&"a".repeat(54)));
        let suffix = &out[55..];
        assert_eq!(suffix.len(), 8);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(&out[54..55], "-");
        assert_eq!(suffix, &short_hash(&long, 8));
        assert!(is_dns1123_label(&out));
        // Deterministic.
        assert_eq!(fit(&long, 63), out);
    }

    #[test]
    fn fit_trims_dash_at_the_cut() {
        // Char 54 (index 53) is a dash: the prefix loses it, no "--" before the hash.
        let s = format!("{}-{}", "a".repeat(53), "b".repeat(40));
        let out = fit(&s, 63);
        assert_eq!(out, format!("{}-{}", "a".repeat(53), short_hash(&s, 8)));
        assert!(is_dns1123_label(&out));
    }

    #[test]
    fn fit_degenerate_limits() {
        assert_eq!(fit("abcdefghijkl", 9).len(), 8);
        assert_eq!(fit("abcdefghijkl", 4).len(), 4);
        assert_eq!(fit("abcdefghijkl", 0), "");
    }

    #[test]
    fn long_names_differing_at_the_end_do_not_collide() {
        let base = "observability-ingress-controller-nginx-default-backend-extra";
        let a = object_name("production-cluster", &format!("{base}/one"));
        let b = object_name("production-cluster", &format!("{base}/two"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 63);
        assert_eq!(b.len(), 63);
        assert!(is_dns1123_label(&a));
        assert!(is_dns1123_label(&b));
    }

    #[test]
    fn object_and_release_names() {
        assert_eq!(object_name("obs", "prometheus"), "obs-prometheus");
        assert_eq!(object_name("Obs", "ingress/nginx"), "obs-ingress-nginx");
        assert_eq!(release_name("obs", "prometheus"), "obs-prometheus");
        let long = "x".repeat(60);
        let rel = release_name("obs", &long);
        assert_eq!(rel.len(), 53);
        assert!(is_dns1123_label(&rel));
        let obj = object_name("obs", &long);
        assert_eq!(obj.len(), 63);
        assert_ne!(rel, obj);
    }

    #[test]
    fn sanitized_inputs_always_fit_to_valid_labels() {
        for input in [
            "A",
            "_a_",
            "x/y/z",
            &"Nested/Profile_Name.".repeat(10),
            &format!("{}-{}", "q".repeat(54), "r".repeat(30)),
        ] {
            for max in [10, 20, 53, 63] {
                let out = fit(&sanitize(input), max);
                assert!(out.chars().count() <= max, "{out} longer than {max}");
                assert!(is_dns1123_label(&out), "{out:?} from {input:?} (max {max})");
            }
        }
    }
}
