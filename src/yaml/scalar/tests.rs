//! Unit tests of `yaml::scalar`.
use super::*;
use serde_json::json;

/// Helm's reading of each text, as helm-python-sdk (Helm v4) printed it.
#[test]
fn helm_reads_as_go_yaml_v2() {
    for (text, want) in [
        ("0644", json!(420)),
        ("0755", json!(493)),
        ("-0755", json!(-493)),
        ("+0755", json!(493)),
        ("0o644", json!(420)),
        ("0x1F", json!(31)),
        ("-0x1F", json!(-31)),
        ("0b101", json!(5)),
        ("1_000", json!(1000)),
        ("1__0", json!(10)),
        ("1_", json!(1)),
        ("0x_1F", json!(31)),
        ("1_0.5", json!(10.5)),
        ("1:30", json!("1:30")),
        ("12:30:00", json!("12:30:00")),
        ("y", json!(true)),
        ("Y", json!(true)),
        ("n", json!(false)),
        ("NO", json!(false)),
        ("on", json!(true)),
        ("Off", json!(false)),
        ("tRUE", json!("tRUE")),
        ("yEs", json!("yEs")),
        ("~", json!(null)),
        ("Null", json!(null)),
        ("", json!(null)),
        ("08", json!(8.0)),
        ("09", json!(9.0)),
        ("00", json!(0)),
        ("-0", json!(0)),
        ("9223372036854775808", json!(9223372036854775808u64)),
        ("18446744073709551616", json!(18446744073709551616f64)),
        ("1e3", json!(1000.0)),
        ("-.5", json!(-0.5)),
        (".5", json!(0.5)),
        ("1.", json!(1.0)),
        ("1.0e+400", json!("1.0e+400")),
        ("2024-01-01", json!("2024-01-01")),
        ("0o", json!("0o")),
        ("0x", json!("0x")),
        ("_1", json!("_1")),
        ("+", json!("+")),
        ("3e", json!("3e")),
        ("0777777777777777777777", json!(i64::MAX)),
    ] {
        assert_eq!(to_value(text, helm(text)), Some(want), "{text}");
    }
    assert_eq!(to_value(".inf", helm(".inf")), None);
}

#[test]
fn helm_keys_as_sigs_yaml() {
    for (text, want) in [
        ("0755", Some("493")),
        ("yes", Some("true")),
        ("y", Some("true")),
        ("1.5", Some("1.5")),
        ("1e3", Some("1000")),
        ("1.0", Some("1")),
        ("0x10", Some("16")),
        ("~", None),
        ("9223372036854775808", None),
        ("18446744073709551616", Some("1.8446744e+19")),
        ("1e30", Some("1e+30")),
        ("123456789.123456789", Some("1.2345679e+08")),
        (".inf", Some(".inf")),
        ("1:30", Some("1:30")),
    ] {
        assert_eq!(helm_key(text).as_deref(), want, "{text}");
    }
}

#[test]
fn readers_disagree_on_yaml11_spellings() {
    for s in [
        "0755", "y", "yes", "on", "1:30", "1_000", "0b101", "08", "1e3", "0o644",
    ] {
        assert!(disagreement(s).is_some(), "{s}");
    }
    for s in [
        "x",
        "1",
        "1.5",
        "true",
        "null",
        "0x1F",
        "-3",
        "2024-01-01",
        "0",
    ] {
        assert_eq!(disagreement(s), None, "{s}");
    }
}

#[test]
fn documents_are_read_with_positions() {
    let text = "a: 0755\nb: '0755'\nc: &x y\nd: *x\ne: |\n  0755\nf: !!str 0755\n0644: [on, 1:30]\ng: \"yes\"\n";
    let (v, amb) = read("v.yaml", text, Reading::Helm).unwrap();
    assert_eq!(
        v,
        json!({"a": 493, "b": "0755", "c": true, "d": true, "e": "0755\n", "f": "0755", "420": [true, "1:30"], "g": "yes"})
    );
    let at: Vec<(usize, usize, &str)> = amb
        .iter()
        .map(|a| (a.line, a.column, a.text.as_str()))
        .collect();
    assert!(at.contains(&(1, 4, "0755")), "{at:?}");
    assert!(at.contains(&(3, 7, "y")), "{at:?}");
    assert!(at.contains(&(8, 1, "0644")), "{at:?}");
    assert!(at.contains(&(8, 8, "on")), "{at:?}");
    let (v, _) = read("p.yaml", text, Reading::Author).unwrap();
    assert_eq!(v["a"], json!("0755"));
    assert_eq!(v["c"], json!("y"));
    assert_eq!(v["0644"], json!(["on", "1:30"]));
    let (v, _) = read("p.yaml", "e: [1.10, 2, y, ~, 'q']\n", Reading::Text).unwrap();
    assert_eq!(v["e"], json!(["1.10", "2", "y", null, "q"]));
    let err = read("v.yaml", "a: .inf\n", Reading::Helm).unwrap_err();
    assert!(err.to_string().contains("v.yaml: line 1 column 4"), "{err}");
}

#[test]
fn parts_read_as_in_the_whole_document() {
    let text =
        "a: {0755: [on, 1.10, ~], b: &x y}\nc: [*x, '0755', {d: 1:30}]\n? [k]\n: v\ne: .inf\n";
    let doc = parse("p.yaml", text).unwrap();
    for reading in [Reading::Author, Reading::Text] {
        let whole = doc.value(reading).unwrap();
        assert_eq!(whole, read("p.yaml", text, reading).unwrap().0);
        for path in [
            &["a"][..],
            &["a", "0755"],
            &["a", "0755", "1"],
            &["a", "b"],
            &["c", "2", "d"],
            &["c", "9"],
            &["c", "x"],
            &["a", "0755", "1", "z"],
            &["- k"],
            &["missing"],
            &[],
        ] {
            let mut cur = Some(&whole);
            for p in path {
                cur = cur.and_then(|v| match v {
                    Value::Array(a) => a.get(p.parse::<usize>().ok()?),
                    _ => v.get(*p),
                });
            }
            assert_eq!(
                doc.value_at(reading, path).unwrap(),
                cur.cloned(),
                "{path:?}"
            );
        }
    }
    // Helm's reading of the whole document fails; of a part, only there.
    assert!(doc.value(Reading::Helm).is_err());
    assert_eq!(
        doc.value_at(Reading::Helm, &["a", "493"]).unwrap(),
        Some(serde_json::json!([true, 1.1, null]))
    );
    assert!(doc.value_at(Reading::Helm, &["e"]).is_err());
}
