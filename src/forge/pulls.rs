//! Finding, opening and updating pctl's pull (merge) request on each forge. Only a
//! request whose head is a branch of the repository itself counts as pctl's: a fork's
//! open request from a branch of the same name (`head.repo` on GitHub and Gitea,
//! `source_project_id` on GitLab) is left alone. Lists are read to their last page
//! (`Link: rel="next"`, `X-Total-Count`), whatever page size the server caps them at.
use super::Kind;
use super::api::{Forge, Method, encode_segment, origin, with_query};
use anyhow::{Result, anyhow};
use serde_json::{Value, json};

/// Pages read at most when looking for the open pull request.
const MAX_PAGES: usize = 100;

/// A pull (merge) request that exists after [`Forge::ensure_pull_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrOutcome {
    /// The web page of the pull request.
    pub url: String,
    /// Its number (GitHub, Gitea) or IID (GitLab).
    pub number: u64,
    /// True when it was opened now, false when an open one was updated.
    pub created: bool,
}

/// A GitHub or Gitea pull request whose head branch lives in the base repository (not
/// in a fork): the same repository id, else the same full name.
pub(super) fn head_in_base_repo(pr: &Value) -> bool {
    let (Some(head), Some(base)) = (pr.pointer("/head/repo"), pr.pointer("/base/repo")) else {
        // Gitea's `head.repo_id` without the repository objects
        return match (
            pr.pointer("/head/repo_id").and_then(Value::as_u64),
            pr.pointer("/base/repo_id").and_then(Value::as_u64),
        ) {
            (Some(h), Some(b)) => h == b,
            _ => false,
        };
    };
    if head.is_null() {
        // the fork was deleted
        return false;
    }
    match (
        head.get("id").and_then(Value::as_u64),
        base.get("id").and_then(Value::as_u64),
    ) {
        (Some(h), Some(b)) => h == b,
        _ => match (
            head.get("full_name").and_then(Value::as_str),
            base.get("full_name").and_then(Value::as_str),
        ) {
            (Some(h), Some(b)) => h.eq_ignore_ascii_case(b),
            _ => false,
        },
    }
}

/// An open GitHub or Gitea pull request from `head` of the repository into `base`.
fn is_ours(pr: &Value, head: &str, base: &str) -> bool {
    pr.pointer("/head/ref").and_then(Value::as_str) == Some(head)
        && pr.pointer("/base/ref").and_then(Value::as_str) == Some(base)
        && pr.get("state").and_then(Value::as_str) == Some("open")
        && head_in_base_repo(pr)
}

/// An open GitLab merge request from `head` of the project into `base`.
fn is_our_mr(mr: &Value, head: &str, base: &str) -> bool {
    let project = |k: &str| mr.get(k).and_then(Value::as_u64);
    mr.get("source_branch").and_then(Value::as_str) == Some(head)
        && mr.get("target_branch").and_then(Value::as_str) == Some(base)
        && mr.get("state").and_then(Value::as_str) == Some("opened")
        && project("source_project_id").is_some()
        && project("source_project_id") == project("target_project_id")
}

impl Forge {
    /// Find the open pull request from `head` into `base` and set its title and
    /// body, or open one.
    pub fn ensure_pull_request(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PrOutcome> {
        match self.target.kind {
            Kind::GitHub => self.github(head, base, title, body),
            Kind::GitLab => self.gitlab(head, base, title, body),
            Kind::Gitea => self.gitea(head, base, title, body),
        }
    }

    pub(super) fn repo_url(&self) -> String {
        format!(
            "{}/repos/{}/{}",
            self.target.api,
            encode_segment(&self.target.slug.owner),
            encode_segment(&self.target.slug.name)
        )
    }

    /// The first item of a listing, read page by page, that `wanted` accepts. The
    /// next page is the `Link` header's `rel="next"` (on the API's own host; another
    /// host, as a Gitea whose ROOT_URL differs from the API URL gives, is not sent
    /// the token: the page number is counted here instead), else the next page number
    /// while `X-Total-Count` says there are more.
    pub(super) fn find_in_pages(
        &self,
        url: &str,
        query: &[(&str, String)],
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>> {
        let page_url = |page: usize| {
            let mut q = query.to_vec();
            q.push(("page", page.to_string()));
            with_query(url, &q)
        };
        let mut next = Some(page_url(1));
        let (mut page, mut seen) = (1, 0);
        while let Some(u) = next.take() {
            let (found, reply) = self.call_reply(Method::Get, &u, None)?;
            let list = found.as_array().ok_or_else(|| {
                anyhow!(
                    "the answer of {} to GET {} is not a JSON list",
                    self.kind().name(),
                    crate::git::redact_url(&u)
                )
            })?;
            if let Some(hit) = list.iter().find(|v| wanted(v)) {
                return Ok(Some(hit.clone()));
            }
            seen += list.len();
            if list.is_empty() || page >= MAX_PAGES {
                break;
            }
            page += 1;
            next = match (reply.header("link"), reply.link_next()) {
                (_, Some(n)) if origin(&n).is_some() && origin(&n) == origin(&reply.url) => Some(n),
                (_, Some(_)) => Some(page_url(page)),
                (Some(_), None) => None,
                (None, None) => reply
                    .total_count()
                    .filter(|total| seen < *total)
                    .map(|_| page_url(page)),
            };
        }
        Ok(None)
    }

    fn github(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PrOutcome> {
        let pulls = format!("{}/pulls", self.repo_url());
        let owner = &self.target.slug.owner;
        let open = self.find_in_pages(
            &pulls,
            &[
                ("head", format!("{owner}:{head}")),
                ("base", base.to_string()),
                ("state", "open".to_string()),
                ("per_page", "100".to_string()),
            ],
            |pr| is_ours(pr, head, base),
        )?;
        let payload = json!({"title": title, "body": body});
        match open {
            Some(pr) => {
                let number = number_of(&pr, "number", &pulls)?;
                let url = format!("{pulls}/{number}");
                let pr = self.call(Method::Patch, &url, &[], Some(&payload))?;
                self.outcome(&pr, "html_url", "number", &url, false)
            }
            None => {
                let create = json!({"title": title, "head": head, "base": base, "body": body});
                let pr = self.call(Method::Post, &pulls, &[], Some(&create))?;
                self.outcome(&pr, "html_url", "number", &pulls, true)
            }
        }
    }

    fn gitlab(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PrOutcome> {
        let mrs = format!(
            "{}/projects/{}/merge_requests",
            self.target.api,
            encode_segment(&self.target.slug.path)
        );
        let open = self.find_in_pages(
            &mrs,
            &[
                ("source_branch", head.to_string()),
                ("target_branch", base.to_string()),
                ("state", "opened".to_string()),
                ("per_page", "100".to_string()),
            ],
            |mr| is_our_mr(mr, head, base),
        )?;
        match open {
            Some(mr) => {
                let iid = number_of(&mr, "iid", &mrs)?;
                let url = format!("{mrs}/{iid}");
                let payload = json!({"title": title, "description": body});
                let mr = self.call(Method::Put, &url, &[], Some(&payload))?;
                self.outcome(&mr, "web_url", "iid", &url, false)
            }
            None => {
                let create = json!({
                    "source_branch": head,
                    "target_branch": base,
                    "title": title,
                    "description": body,
                });
                let mr = self.call(Method::Post, &mrs, &[], Some(&create))?;
                self.outcome(&mr, "web_url", "iid", &mrs, true)
            }
        }
    }

    /// Gitea ≥ 1.22 answers `GET /repos/{o}/{r}/pulls/{base}/{head}` with the pull
    /// request from `head` of the repository into `base` (in any state); older ones,
    /// and a base branch with a `/` (one path segment only), use the list of open ones.
    fn gitea_by_base_head(&self, pulls: &str, head: &str, base: &str) -> Result<Option<Value>> {
        if base.contains('/') {
            return Ok(None);
        }
        let head_path: Vec<String> = head.split('/').map(encode_segment).collect();
        let url = format!("{pulls}/{}/{}", encode_segment(base), head_path.join("/"));
        let reply = self.exchange(Method::Get, &url, None)?;
        match reply.status {
            200..=299 => Ok(reply.json().filter(|pr| is_ours(pr, head, base))),
            // no such pull request, or a Gitea without the endpoint
            400 | 404 | 405 | 422 => Ok(None),
            _ => Err(self.failure(Method::Get, &reply)),
        }
    }

    fn gitea(&self, head: &str, base: &str, title: &str, body: &str) -> Result<PrOutcome> {
        let pulls = format!("{}/pulls", self.repo_url());
        let open = match self.gitea_by_base_head(&pulls, head, base)? {
            Some(pr) => Some(pr),
            None => self.find_in_pages(
                &pulls,
                &[("state", "open".to_string()), ("limit", "50".to_string())],
                |pr| is_ours(pr, head, base),
            )?,
        };
        match open {
            Some(pr) => {
                let index = number_of(&pr, "number", &pulls)?;
                let url = format!("{pulls}/{index}");
                let payload = json!({"title": title, "body": body});
                let pr = self.call(Method::Patch, &url, &[], Some(&payload))?;
                self.outcome(&pr, "html_url", "number", &url, false)
            }
            None => {
                let create = json!({"head": head, "base": base, "title": title, "body": body});
                let pr = self.call(Method::Post, &pulls, &[], Some(&create))?;
                self.outcome(&pr, "html_url", "number", &pulls, true)
            }
        }
    }

    fn outcome(
        &self,
        v: &Value,
        url_key: &str,
        number_key: &str,
        from: &str,
        created: bool,
    ) -> Result<PrOutcome> {
        let url = v
            .get(url_key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                anyhow!(
                    "{} answered {from} without the {url_key} of the {}",
                    self.kind().name(),
                    self.kind().noun()
                )
            })?;
        Ok(PrOutcome {
            url: url.to_string(),
            number: number_of(v, number_key, from)?,
            created,
        })
    }
}

fn number_of(v: &Value, key: &str, from: &str) -> Result<u64> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("the answer of {from} has no numeric {key}"))
}
