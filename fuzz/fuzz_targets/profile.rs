//! Fuzz target: `profile.yaml` parsing (`pctl::model::parse`), both schemas, with
//! every check the reader makes (names, artifacts, paths, dependencies, cycles).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((def, _warnings)) = pctl::model::parse("fuzz/profile.yaml", text, Some("fuzz")) {
        // A definition that was accepted passes its own validation again.
        assert!(pctl::model::validate("fuzz/profile.yaml", &def).is_ok());
    }
});
