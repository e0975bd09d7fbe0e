//! Fuzz target: SOURCE arguments (`pctl::source::parse`) and the normalisation the
//! resolver applies to a Git source's `//SUBDIR`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pctl::source::{SourceSpec, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(SourceSpec::Git { subdir, .. }) = parse(text)
        && let Ok(dir) = pctl::gitops::norm_dir(&subdir)
    {
        // A subdirectory that was accepted never climbs out of the repository.
        assert!(!dir.split('/').any(|p| p == ".."), "{text:?} -> {dir:?}");
        assert!(!dir.starts_with('/'), "{text:?} -> {dir:?}");
    }
});
