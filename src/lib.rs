//! pctl: a GitOps package manager for Kubernetes profiles (the library behind the `pctl` binary).
pub mod bundle;
pub mod capture;
pub mod catalog;
pub mod chartdiff;
pub mod check;
pub mod cli;
pub mod compare;
pub mod error;
pub mod flux;
pub mod forge;
pub mod git;
pub mod gitops;
pub mod legacy;
pub mod lint;
pub mod merge;
pub mod model;
pub mod names;
pub mod namespaces;
pub mod ops;
pub mod ownership;
pub mod printer;
pub mod record;
pub mod render;
pub mod resolve;
pub mod sops;
pub mod sops_rules;
pub mod source;
pub mod template;
#[cfg(test)]
pub mod testutil;
pub mod textdiff;
pub mod tracking;
pub mod userconfig;
pub mod values;
pub mod version;
pub mod yaml;

/// Let go of a command's large working data without freeing it: the process ends right
/// after the command (`main` ends with `_exit`), and freeing the 50 renderings of a
/// 50-cluster install cost 29 M instructions (docs/benchmarks.md). Only for what an
/// operation holds at its very end, never inside a loop (in tests, which run
/// operations in one process, the memory stays until the test process ends).
pub fn let_go<T>(x: T) {
    std::mem::forget(x);
}
