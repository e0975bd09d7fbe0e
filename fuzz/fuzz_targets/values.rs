//! Fuzz target: values files and `--set`/`--set-string` expressions, matched and
//! coerced against the typed parameters of the `webapp` fixture profile.
//!
//! Input: a values file, then optionally a line `%%` followed by one flag per line
//! (`NAME=VALUE` for `--set`, `string:NAME=VALUE` for `--set-string`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pctl::model::ProfileDefinition;
use pctl::ops::{FlagKind, ValueFlag, ValueOptions, gather_values};
use pctl::values::{Level, Scope, parse_values_file, resolve, resolve_allow_missing};
use std::sync::OnceLock;

const WEBAPP: &str = include_str!("../../fixtures/repos/params/c1/webapp/profile.yaml");

fn webapp() -> &'static ProfileDefinition {
    static DEF: OnceLock<ProfileDefinition> = OnceLock::new();
    DEF.get_or_init(|| match pctl::model::parse("webapp/profile.yaml", WEBAPP, Some("webapp")) {
        Ok((def, _)) => def,
        Err(e) => panic!("the webapp fixture does not parse: {e:#}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, flags) = match text.split_once("\n%%\n") {
        Some((f, s)) => (f, s),
        None => (text, ""),
    };
    let flags = flags
        .lines()
        .take(64)
        .map(|l| match l.strip_prefix("string:") {
            Some(rest) => ValueFlag {
                kind: FlagKind::SetString,
                text: rest.to_string(),
            },
            None => ValueFlag {
                kind: FlagKind::Set,
                text: l.to_string(),
            },
        })
        .collect();
    let opts = ValueOptions {
        flags,
        ..Default::default()
    };
    let Ok(mut inputs) = gather_values(&opts, None) else {
        return;
    };
    if let Ok(given) = parse_values_file("fuzz-values.yaml", file, Level::File, 0) {
        inputs.files = given;
    }
    let def = webapp();
    let scope = Scope {
        def,
        path: "",
        binding: None,
    };
    let _ = resolve(&scope, &inputs);
    let _ = resolve_allow_missing(&scope, &inputs);
});
