//! The one integration-test binary: each module is one topic and drives the real
//! `pctl` binary against real Git repositories built from `fixtures/` (see
//! `common`, the shared harness).

mod common;

mod capture;
mod capture_fidelity;
mod catalog;
mod check;
mod clusters;
mod completion;
mod diff;
mod docs_links;
mod export;
mod fleet_install;
mod fleet_journey;
mod fleet_prs;
mod harness;
mod helm_values;
mod hostile;
mod incluster;
mod init;
mod install;
mod kpt;
mod layering;
mod legacy;
mod lint;
mod list;
mod migrate;
mod namespaces;
mod negative;
mod ownership;
mod ownership_memo;
mod parse_cache;
mod pr;
mod pr_forges;
mod profiles_examples;
mod promote;
mod publish;
mod records_memo;
mod render;
mod safety;
mod search_summary;
mod secrets;
mod sops;
mod sources;
mod startup;
mod tls;
mod tracking;
mod transport;
mod trust_credentials;
mod trust_paths;
mod trust_templates;
mod uninstall;
mod upgrade;
mod values;
mod yaml11;
