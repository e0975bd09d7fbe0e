//! Every pull (merge) request pctl opened from one branch, open, closed or merged:
//! what a scheduled upgrade reads to update the open one, or to leave alone a change
//! someone already closed (docs/fleets.md#upgrades-as-pull-requests). A fork's
//! request from a branch of the same name is not pctl's and is left out.
use super::Kind;
use super::api::{Forge, encode_segment};
use super::pulls::head_in_base_repo;
use anyhow::Result;
use serde_json::Value;
use std::cell::RefCell;

/// A pull request from pctl's branch, in any state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPr {
    pub number: u64,
    pub url: String,
    /// Open (else closed or merged).
    pub open: bool,
    /// Its description as the forge holds it now.
    pub body: String,
}

impl Forge {
    /// The pull requests from the repository's own branch `head` (into any base), in
    /// any state, newest first.
    pub fn pull_requests_from(&self, head: &str) -> Result<Vec<KnownPr>> {
        let found = RefCell::new(Vec::new());
        let keep =
            |v: &Value, (url_key, number_key, body_key, open_state): (&str, &str, &str, &str)| {
                let text = |k: &str| {
                    v.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                if let Some(number) = v.get(number_key).and_then(Value::as_u64) {
                    found.borrow_mut().push(KnownPr {
                        number,
                        url: text(url_key),
                        open: text("state") == open_state,
                        body: text(body_key),
                    });
                }
            };
        match self.target.kind {
            Kind::GitHub => {
                let owner = &self.target.slug.owner;
                self.find_in_pages(
                    &format!("{}/pulls", self.repo_url()),
                    &[
                        ("head", format!("{owner}:{head}")),
                        ("state", "all".to_string()),
                        ("per_page", "100".to_string()),
                    ],
                    |pr| {
                        if pr.pointer("/head/ref").and_then(Value::as_str) == Some(head)
                            && head_in_base_repo(pr)
                        {
                            keep(pr, ("html_url", "number", "body", "open"));
                        }
                        false
                    },
                )?;
            }
            Kind::GitLab => {
                let mrs = format!(
                    "{}/projects/{}/merge_requests",
                    self.target.api,
                    encode_segment(&self.target.slug.path)
                );
                self.find_in_pages(
                    &mrs,
                    &[
                        ("source_branch", head.to_string()),
                        ("state", "all".to_string()),
                        ("per_page", "100".to_string()),
                    ],
                    |mr| {
                        let project = |k: &str| mr.get(k).and_then(Value::as_u64);
                        if mr.get("source_branch").and_then(Value::as_str) == Some(head)
                            && project("source_project_id").is_some()
                            && project("source_project_id") == project("target_project_id")
                        {
                            keep(mr, ("web_url", "iid", "description", "opened"));
                        }
                        false
                    },
                )?;
            }
            Kind::Gitea => {
                self.find_in_pages(
                    &format!("{}/pulls", self.repo_url()),
                    &[("state", "all".to_string()), ("limit", "50".to_string())],
                    |pr| {
                        if pr.pointer("/head/ref").and_then(Value::as_str) == Some(head)
                            && head_in_base_repo(pr)
                        {
                            keep(pr, ("html_url", "number", "body", "open"));
                        }
                        false
                    },
                )?;
            }
        }
        Ok(found.into_inner())
    }
}
