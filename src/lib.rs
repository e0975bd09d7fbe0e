//! pctl: a GitOps package manager for Kubernetes profiles (the library behind the `pctl` binary).
pub mod check;
pub mod cli;
pub mod error;
pub mod git;
pub mod gitops;
pub mod model;
pub mod names;
pub mod ops;
pub mod printer;
pub mod record;
pub mod render;
pub mod resolve;
pub mod source;
pub mod template;
pub mod version;
pub mod yaml;
