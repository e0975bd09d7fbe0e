//! Tests of the parse cache and its memos: encoding, tags, trust and growth.
use super::encoding::*;
use super::*;
use serde_json::json;

fn sample() -> Vec<Vec<Value>> {
    vec![
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
            "data": {"n": 1, "neg": -2, "f": 1.5, "big": u64::MAX, "t": true, "z": null,
            "list": ["x", {"y": []}], "ü": "ß"}}),
        ],
        vec![json!("text"), json!([1, 2])],
    ]
}

fn refs(docs: &[Vec<Value>]) -> Vec<Vec<&Value>> {
    docs.iter().map(|c| c.iter().collect()).collect()
}

#[test]
fn values_round_trip_with_key_order() {
    let docs = sample();
    let mut payload = Vec::new();
    for c in &docs {
        put_len(&mut payload, c.len());
        for v in c {
            encode(&mut payload, v);
        }
    }
    let back = decode_chunks(&payload, 2).unwrap();
    assert_eq!(back, docs);
    let keys: Vec<&String> = back[0][0]["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["n", "neg", "f", "big", "t", "z", "list", "ü"]);
    // Every truncation is refused, never a panic or a shorter value.
    for cut in 0..payload.len() {
        assert!(decode_chunks(&payload[..cut], 2).is_none(), "cut at {cut}");
    }
    assert!(decode_chunks(&payload, 3).is_none());
}

#[test]
fn hostile_payloads_are_refused() {
    // A count larger than the bytes left, an unknown tag, nesting too deep, a
    // duplicate key, a non-finite float, invalid UTF-8.
    assert!(decode_chunks(&[1, ARRAY, 0xff, 0xff, 0xff, 0x7f], 1).is_none());
    assert!(decode_chunks(&[1, 99], 1).is_none());
    let mut deep = vec![1];
    deep.extend(std::iter::repeat_n([ARRAY, 1], 200).flatten());
    deep.push(NULL);
    assert!(decode_chunks(&deep, 1).is_none());
    let dup = [1, OBJECT, 2, 1, b'a', NULL, 1, b'a', NULL];
    assert!(decode_chunks(&dup, 1).is_none());
    let mut nan = vec![1, FLOAT];
    nan.extend_from_slice(&f64::NAN.to_le_bytes());
    assert!(decode_chunks(&nan, 1).is_none());
    assert!(decode_chunks(&[1, STRING, 1, 0xff], 1).is_none());
}

const SECRET: (u64, u64) = (7, 11);

/// Runs on a thread of its own: the store is per thread.
fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap()
}

#[test]
fn saved_entries_are_found_by_the_next_process_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().to_path_buf();
    let docs = sample();
    let k = key("some text");
    let (g, d) = (git.clone(), docs.clone());
    on_thread(move || {
        attach_with(&g, SECRET);
        assert!(lookup(&k, 9, 2).is_none());
        remember(&k, 9, &refs(&d));
        save();
    });
    let (g, d) = (git.clone(), docs.clone());
    on_thread(move || {
        attach_with(&g, SECRET);
        assert_eq!(lookup(&k, 9, 2), Some(d));
        // Another length or chunk count: not this text.
        assert!(lookup(&k, 10, 2).is_none());
        assert!(lookup(&k, 9, 1).is_none());
    });
    // One flipped bit in the payload: the tag refuses the entry.
    let file = git.join(FILE);
    let good = std::fs::read(&file).unwrap();
    let mut bytes = good.clone();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let g = git.clone();
    on_thread(move || {
        attach_with(&g, SECRET);
        assert!(lookup(&k, 9, 2).is_none());
    });
    // Written under another user's secret (a copied .git, a forged file): refused.
    std::fs::write(&file, &good).unwrap();
    let g = git.clone();
    on_thread(move || {
        attach_with(&g, (7, 12));
        assert!(lookup(&k, 9, 2).is_none());
    });
    // Another version's header, a truncated file, garbage: nothing is read.
    for bad in [
        b"PCTLPARSE\0\x01\0\0\0\x050.0.0".to_vec(),
        bytes[..bytes.len() - 1].to_vec(),
        b"garbage".to_vec(),
    ] {
        std::fs::write(&file, &bad).unwrap();
        let g = git.clone();
        assert_eq!(
            on_thread(move || open_file(&g.join(FILE))
                .and_then(|(f, len)| index_file(&f, len))
                .map(|(s, _)| s.len())),
            None
        );
    }
}

#[test]
fn memos_are_kept_checked_and_never_taken_for_parsed_texts() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().to_path_buf();
    let k = memo_key("test", &[b"tree id", b"context"]);
    // The parts are length-prefixed: moving a byte between parts is another key.
    assert_ne!(k, memo_key("test", &[b"tree i", b"dcontext"]));
    assert_ne!(k, memo_key("other", &[b"tree id", b"context"]));
    // Between the kind and the parts too, and with lengths past one varint byte.
    assert_ne!(memo_key("te", &[b"st"]), memo_key("tes", &[b"t"]));
    assert_ne!(memo_key("test", &[b""]), memo_key("test", &[]));
    let long = vec![b'x'; 300];
    assert_ne!(
        memo_key("test", &[&long, b"y"]),
        memo_key("test", &[&long[..299], b"xy"])
    );
    let docs = sample();
    let values: Vec<&Value> = docs[0].iter().chain(&docs[1]).collect();
    let payload = encode_values(&values);
    assert_eq!(
        decode_values(&payload).unwrap(),
        [&docs[0][..], &docs[1][..]].concat()
    );
    let g = git.clone();
    let p = payload.clone();
    on_thread(move || {
        attach_with(&g, SECRET);
        assert!(memo_get(&k).is_none());
        memo_put(&k, &p);
        // Seen by this process before it is saved; the first answer stays.
        memo_put(&k, b"another");
        assert_eq!(memo_get(&k), Some(p));
        save();
    });
    let (g, p) = (git.clone(), payload.clone());
    on_thread(move || {
        attach_with(&g, SECRET);
        assert_eq!(memo_get(&k), Some(p));
        // A memo is no parsed text, whatever length and chunk count are asked.
        assert!(lookup(&k, 0, MEMO as usize).is_none());
        assert!(lookup(&k, 0, 1).is_none());
    });
    // A flipped payload bit, or another user's secret: not believed.
    let file = git.join(FILE);
    let good = std::fs::read(&file).unwrap();
    let mut bytes = good.clone();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let g = git.clone();
    assert!(
        on_thread(move || {
            attach_with(&g, SECRET);
            memo_get(&k)
        })
        .is_none()
    );
    std::fs::write(&file, &good).unwrap();
    let g = git.clone();
    assert!(
        on_thread(move || {
            attach_with(&g, (7, 12));
            memo_get(&k)
        })
        .is_none()
    );
    // A parsed text's entry under the same key is not a memo.
    let t = key("a text");
    let (g, d) = (git.clone(), docs.clone());
    on_thread(move || {
        attach_with(&g, SECRET);
        remember(&t, 6, &refs(&d));
        save();
    });
    let g = git.clone();
    assert!(
        on_thread(move || {
            attach_with(&g, SECRET);
            memo_get(&t)
        })
        .is_none()
    );
}

#[test]
fn the_secret_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let a = secret(dir.path()).unwrap();
    assert_eq!(secret(dir.path()), Some(a));
    let meta = std::fs::metadata(dir.path().join("parse-cache.key")).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // A key file of the wrong size is not used, nor replaced.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("parse-cache.key"), b"short").unwrap();
    assert_eq!(secret(other.path()), None);
}

#[test]
fn a_save_keeps_old_entries_unless_they_far_outnumber_the_used_ones() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().to_path_buf();
    let doc = vec![vec![json!({"a": 1})]];
    let g = git.clone();
    let d = doc.clone();
    on_thread(move || {
        attach_with(&g, SECRET);
        for i in 0..10 {
            remember(&key(&format!("t{i}")), 2, &refs(&d));
        }
        save();
    });
    let g = git.clone();
    let d = doc.clone();
    let kept = on_thread(move || {
        attach_with(&g, SECRET);
        remember(&key("new"), 3, &refs(&d));
        save();
        // Read again from the file written.
        load_wanted();
        STORE.with(|s| s.borrow().as_ref().unwrap().slots.len())
    });
    assert_eq!(kept, 11);
}

#[test]
fn unused_entries_beyond_the_byte_budget_are_dropped_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().to_path_buf();
    // Entries just under the largest an unused one may be: as many fit in the byte
    // budget as `fit`, and two more are made.
    let size = SPARE_LARGEST - 1024;
    let fit = SPARE_BYTES / (size + ENTRY_HEAD);
    let n = fit + 2;
    let big = vec![7u8; size];
    let mut keys: Vec<Key> = (0..n)
        .map(|i| memo_key("big", &[&i.to_le_bytes()]))
        .collect();
    // The newest of all, but larger than any unused entry may be.
    keys.push(memo_key("largest", &[]));
    let (g, k, b) = (git.clone(), keys.clone(), big.clone());
    on_thread(move || {
        attach_with(&g, SECRET);
        for key in &k[..n] {
            memo_put(key, &b);
        }
        memo_put(&k[n], &vec![8u8; SPARE_LARGEST + 1]);
        save();
    });
    let (g, k) = (git.clone(), keys.clone());
    let (held, len) = on_thread(move || {
        attach_with(&g, SECRET);
        memo_put(&memo_key("small", &[]), b"x");
        save();
        let held: Vec<bool> = k.iter().map(|key| memo_get(key).is_some()).collect();
        (held, std::fs::metadata(g.join(FILE)).unwrap().len())
    });
    // The `fit` newest unused entries are kept, the two oldest are dropped, and so is
    // the unused one over SPARE_LARGEST.
    let mut want = vec![false, false];
    want.extend(std::iter::repeat_n(true, fit));
    want.push(false);
    assert_eq!(held, want);
    assert!(len < (SPARE_BYTES as u64), "{len}");
}

#[test]
fn a_touched_entry_is_kept_as_if_read_and_a_missing_one_is_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().to_path_buf();
    let (touched, left, absent) = (
        memo_key("touched", &[]),
        memo_key("left", &[]),
        memo_key("absent", &[]),
    );
    let g = git.clone();
    on_thread(move || {
        attach_with(&g, SECRET);
        memo_put(&touched, &vec![1u8; SPARE_LARGEST + 1]);
        memo_put(&left, &vec![2u8; SPARE_LARGEST + 1]);
        save();
    });
    let g = git.clone();
    let answers = on_thread(move || {
        attach_with(&g, SECRET);
        let answers = (memo_touch(&touched), memo_touch(&absent));
        memo_put(&memo_key("new", &[]), b"x");
        save();
        answers
    });
    assert_eq!(answers, (true, false));
    let g = git.clone();
    let held = on_thread(move || {
        attach_with(&g, SECRET);
        (
            memo_get(&touched).map(|p| p.len()),
            memo_has(&left),
            memo_has(&absent),
        )
    });
    // Both are over the size an unused entry may keep: the touched one stays, with
    // its payload whole.
    assert_eq!(held, (Some(SPARE_LARGEST + 1), false, false));
}

#[test]
fn an_entry_only_asked_about_is_not_kept_alive_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().to_path_buf();
    let (looked, used) = (memo_key("looked", &[]), memo_key("used", &[]));
    let g = git.clone();
    on_thread(move || {
        attach_with(&g, SECRET);
        memo_put(&looked, &vec![1u8; SPARE_LARGEST + 1]);
        memo_put(&used, &vec![2u8; SPARE_LARGEST + 1]);
        save();
    });
    let g = git.clone();
    let asked = on_thread(move || {
        attach_with(&g, SECRET);
        let asked = (memo_has(&looked), memo_has(&used));
        assert!(memo_get(&used).is_some());
        memo_put(&memo_key("new", &[]), b"x");
        save();
        asked
    });
    assert_eq!(asked, (true, true));
    let g = git.clone();
    let held = on_thread(move || {
        attach_with(&g, SECRET);
        (memo_has(&looked), memo_get(&used).map(|p| p.len()))
    });
    // Both are over the size an unused entry may keep: the one read stays.
    assert_eq!(held, (false, Some(SPARE_LARGEST + 1)));
}

#[test]
fn beyond_the_count_budget_the_newest_unused_entries_stay_memos_first_and_a_memo_read_whole_makes_room()
 {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().to_path_buf();
    let doc = vec![vec![json!({"a": 1})]];
    // More small unused entries than the count budget holds: memos first (oldest),
    // then parsed texts.
    let (texts, memos) = (SPARE / 2, SPARE);
    let (g, d) = (git.clone(), doc.clone());
    on_thread(move || {
        attach_with(&g, SECRET);
        for i in 0..memos {
            memo_put(&memo_key("dir", &[&i.to_le_bytes()]), b"small");
        }
        for i in 0..texts {
            remember(&key(&format!("t{i}")), 2, &refs(&d));
        }
        save();
    });
    let count = |g: &std::path::Path, stands: usize| {
        let g = g.to_path_buf();
        on_thread(move || {
            attach_with(&g, SECRET);
            stands_for(stands);
            memo_put(&memo_key("new", &[&stands.to_le_bytes()]), b"x");
            save();
            let memo = |i: usize| memo_get(&memo_key("dir", &[&i.to_le_bytes()])).is_some();
            let text = |i: usize| lookup(&key(&format!("t{i}")), 2, 1).is_some();
            (
                (0..memos).filter(|i| memo(*i)).count(),
                (0..texts).filter(|i| text(*i)).count(),
                memo(0),
                memo(memos - 1),
            )
        })
    };
    // Room for SPARE entries: memos before the newer parsed texts, the newest first
    // (not all at once dropped, as before: every one of them).
    let (kept_memos, kept_texts, oldest, newest) = count(&git, 0);
    assert_eq!((kept_memos, kept_texts), (SPARE - 1, 0));
    assert!(!oldest && newest);
    // A memo read whole that stands for many entries makes room for the rest.
    let dir2 = tempfile::tempdir().unwrap();
    let git2 = dir2.path().to_path_buf();
    let (g, d) = (git2.clone(), doc.clone());
    on_thread(move || {
        attach_with(&g, SECRET);
        for i in 0..texts {
            remember(&key(&format!("t{i}")), 2, &refs(&d));
        }
        for i in 0..memos {
            memo_put(&memo_key("dir", &[&i.to_le_bytes()]), b"small");
        }
        save();
    });
    let (kept_memos, kept_texts, oldest, _) = count(&git2, SPARE);
    assert_eq!((kept_memos, kept_texts), (memos, texts));
    assert!(oldest);
}
