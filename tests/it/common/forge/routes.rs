//! The contract server's answers: each forge's endpoints (list, get by base/head,
//! create, edit), its paging headers, rate-limit answers and redirects for a renamed
//! repository, each as the forge documents and does.
use super::*;

type Answer = (u16, Value);

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The forge's answer to a request over its rate limit: status, content type, body.
pub(super) fn rate_limited(
    kind: Forge,
    st: &mut State,
    retry_after: Option<u64>,
) -> (u16, &'static str, String) {
    let reset = now_secs() + retry_after.unwrap_or(3600);
    let mut h = |k: &str, v: String| st.reply_headers.push((k.to_string(), v));
    if let Some(s) = retry_after {
        h("Retry-After", s.to_string());
    }
    match kind {
        Forge::GitHub => {
            h("x-ratelimit-limit", "5000".into());
            h("x-ratelimit-reset", reset.to_string());
            h("x-ratelimit-resource", "core".into());
            let body = if retry_after.is_some() {
                h("x-ratelimit-remaining", "4990".into());
                json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222.", "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", "status": "403"})
            } else {
                h("x-ratelimit-remaining", "0".into());
                json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", "status": "403"})
            };
            (403, "application/json; charset=utf-8", body.to_string())
        }
        Forge::GitLab => {
            h("RateLimit-Limit", "600".into());
            h("RateLimit-Observed", "601".into());
            h("RateLimit-Remaining", "0".into());
            h("RateLimit-Reset", reset.to_string());
            (429, "text/plain", "Retry later\n".to_string())
        }
        Forge::Gitea => (
            429,
            "text/plain; charset=utf-8",
            "Too Many Requests\n".to_string(),
        ),
    }
}

/// The page `page` (from 1) of `items` at `per` a page, with the forge's paging
/// headers (`Link` as absolute URLs to this server, Gitea's `X-Total-Count`, GitLab's
/// `X-Total`, `X-Page`, `X-Per-Page`, `X-Next-Page`).
fn paginate(
    ctx: &Ctx,
    st: &mut State,
    req: &Request,
    items: Vec<Value>,
    page: usize,
    per: usize,
) -> Value {
    let total = items.len();
    let last = total.div_ceil(per).max(1);
    let root = st
        .root_url
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", ctx.port));
    let link_to = |p: usize| {
        let mut q: Vec<String> = req
            .raw_query
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
            .map(str::to_string)
            .collect();
        q.push(format!("page={p}"));
        format!("{root}{}?{}", req.path, q.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", link_to(1)));
        links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
    }
    if !links.is_empty() {
        st.reply_headers.push(("Link".into(), links.join(", ")));
    }
    match ctx.kind {
        Forge::Gitea => st
            .reply_headers
            .push(("X-Total-Count".into(), total.to_string())),
        Forge::GitLab => {
            let next = if page < last {
                (page + 1).to_string()
            } else {
                String::new()
            };
            for (k, v) in [
                ("X-Total", total.to_string()),
                ("X-Page", page.to_string()),
                ("X-Per-Page", per.to_string()),
                ("X-Next-Page", next),
            ] {
                st.reply_headers.push((k.into(), v));
            }
        }
        Forge::GitHub => {}
    }
    Value::Array(items.into_iter().skip((page - 1) * per).take(per).collect())
}

/// `page` and the page size from the query (`per_page` or Gitea's `limit`), with the
/// forge's default and cap; Err with the forge's answer to a bad value.
fn page_params(ctx: &Ctx, st: &State, req: &Request) -> Result<(usize, usize), Answer> {
    let (name, default) = match ctx.kind {
        Forge::GitHub => ("per_page", 30),
        Forge::GitLab => ("per_page", 20),
        Forge::Gitea => ("limit", 30),
    };
    let bad = |what: &str| {
        let swagger = format!("http://127.0.0.1:{}/api/swagger", ctx.port);
        (
            422,
            json!({"message": format!("{what} must be a positive integer"), "url": swagger}),
        )
    };
    let page = match req.param("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        _ => return Err(bad("page")),
    };
    let per = match req.param(name).map(str::parse::<usize>) {
        None => default,
        Some(Ok(l)) if l >= 1 => l,
        _ => return Err(bad(name)),
    };
    Ok((page, per.min(st.page_cap)))
}

pub(super) fn handle(ctx: &Ctx, st: &mut State, req: &Request) -> Answer {
    if let Some(refused) = check_auth(ctx, req) {
        return refused;
    }
    let Some(rest) = req.path.strip_prefix(ctx.kind.api_prefix()) else {
        return not_found(ctx.kind);
    };
    if let Some(old) = st.old_name.clone()
        && let Some(tail) = rest.strip_prefix(&format!("/repos/{old}"))
        && (tail.is_empty() || tail.starts_with('/'))
    {
        return renamed(ctx, st, req, tail);
    }
    let body = if matches!(req.method.as_str(), "POST" | "PATCH" | "PUT") {
        let ct = req.header("content-type").unwrap_or("");
        if !ct.starts_with("application/json") {
            return match ctx.kind {
                Forge::GitHub => (
                    415,
                    json!({"message": format!("Unsupported Media Type: Content-Type {ct:?} is not application/json")}),
                ),
                Forge::GitLab => (415, json!({"error": "415 Unsupported Media Type"})),
                Forge::Gitea => (
                    422,
                    json!({"message": "Content-Type must be application/json"}),
                ),
            };
        }
        match serde_json::from_str::<Value>(&req.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => {
                return (400, json!({"message": "Problems parsing JSON"}));
            }
        }
    } else {
        None
    };
    match ctx.kind {
        Forge::GitHub => github(ctx, st, req, rest, body),
        Forge::GitLab => gitlab(ctx, st, req, rest, body),
        Forge::Gitea => gitea(ctx, st, req, rest, body),
    }
}

/// The answer to a request for the repository's former name: GitHub 301 (GET) or 307
/// to `/repositories/{id}…` (absolute), Gitea 307 to the new path (relative).
fn renamed(ctx: &Ctx, st: &mut State, req: &Request, tail: &str) -> Answer {
    let q = if req.raw_query.is_empty() {
        String::new()
    } else {
        format!("?{}", req.raw_query)
    };
    let prefix = ctx.kind.api_prefix();
    match ctx.kind {
        Forge::GitHub => {
            let to = format!(
                "http://127.0.0.1:{}{prefix}/repositories/{REPO_ID}{tail}{q}",
                ctx.port
            );
            st.reply_headers.push(("Location".into(), to.clone()));
            let status = if req.method == "GET" { 301 } else { 307 };
            (
                status,
                json!({"message": "Moved Permanently", "url": to, "documentation_url": "https://docs.github.com/v3/#http-redirects"}),
            )
        }
        Forge::Gitea => {
            let to = format!("{prefix}/repos/{}{tail}{q}", ctx.repo);
            st.reply_headers.push(("Location".into(), to));
            (307, json!({}))
        }
        // GitLab finds a renamed project under its old path without a redirect.
        Forge::GitLab => not_found(Forge::GitLab),
    }
}

fn not_found(kind: Forge) -> Answer {
    match kind {
        Forge::GitHub => (
            404,
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
        ),
        Forge::GitLab => (404, json!({"error": "404 Not Found"})),
        Forge::Gitea => (
            404,
            json!({"message": "The target couldn't be found.", "errors": []}),
        ),
    }
}

fn check_auth(ctx: &Ctx, req: &Request) -> Option<Answer> {
    match ctx.kind {
        Forge::GitHub => {
            if req.header("user-agent").is_none_or(str::is_empty) {
                return Some((
                    403,
                    json!({"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header."}),
                ));
            }
            match req.header("authorization") {
                None => return Some((401, json!({"message": "Requires authentication", "documentation_url": "https://docs.github.com/rest", "status": "401"}))),
                Some(a) if a != format!("Bearer {}", ctx.token) => {
                    return Some((401, json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})));
                }
                _ => {}
            }
            if req.header("x-github-api-version") != Some("2022-11-28") {
                return Some((
                    400,
                    json!({"message": format!("Unsupported 'X-GitHub-Api-Version' header: {:?}; this contract requires 2022-11-28", req.header("x-github-api-version"))}),
                ));
            }
            if req.header("accept") != Some("application/vnd.github+json") {
                return Some((
                    415,
                    json!({"message": format!("Unsupported 'Accept' header: {:?}; use application/vnd.github+json", req.header("accept"))}),
                ));
            }
            None
        }
        Forge::GitLab => (req.header("private-token") != Some(ctx.token.as_str()))
            .then(|| (401, json!({"message": "401 Unauthorized"}))),
        Forge::Gitea => (req.header("authorization") != Some(format!("token {}", ctx.token).as_str()))
            .then(|| (401, json!({"message": "token is required or invalid", "url": "http://127.0.0.1/api/swagger"}))),
    }
}

fn branch_sha(ctx: &Ctx, branch: &str) -> Option<String> {
    let dir = ctx.git_dir.as_ref()?;
    let out = git_cmd(dir)
        .arg("--git-dir")
        .arg(dir)
        .args([
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}^{{commit}}"),
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn branch_exists(ctx: &Ctx, branch: &str) -> bool {
    ctx.git_dir.is_none() || branch_sha(ctx, branch).is_some()
}

/// A field that must be a string when present: Err(field) when it is another type.
fn string_field(
    body: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<String>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(key.to_string()),
    }
}

fn repo_json(full_name: &str, id: u64) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or(("", full_name));
    json!({"id": id, "name": name, "full_name": full_name, "owner": {"login": owner}})
}

fn pr_json(ctx: &Ctx, p: &Pr) -> Value {
    let head_repo = p.fork.clone().unwrap_or_else(|| ctx.repo.clone());
    let head_id = p.fork.as_deref().map_or(REPO_ID, fork_id);
    let owner = ctx.repo.split('/').next().unwrap_or("");
    let head_owner = head_repo.split('/').next().unwrap_or("");
    let sha = if p.fork.is_some() {
        String::new()
    } else {
        branch_sha(ctx, &p.head).unwrap_or_default()
    };
    match ctx.kind {
        Forge::GitLab => json!({
            "id": 5000 + p.number,
            "iid": p.number,
            "project_id": PROJECT_ID,
            "source_project_id": p.fork.as_deref().map_or(PROJECT_ID, fork_id),
            "target_project_id": PROJECT_ID,
            "title": p.title,
            "description": p.body,
            "state": match (p.open, p.merged) {
                (true, _) => "opened",
                (false, true) => "merged",
                (false, false) => "closed",
            },
            "source_branch": p.head,
            "target_branch": p.base,
            "sha": sha,
            "web_url": web_url(ctx, p.number),
        }),
        _ => json!({
            "id": 1000 + p.number,
            "number": p.number,
            "state": if p.open { "open" } else { "closed" },
            // GitHub: `merged_at`; Gitea: `merged` (both keep state "closed")
            "merged": p.merged,
            "merged_at": if p.merged { Value::String("2026-01-02T03:04:05Z".into()) } else { Value::Null },
            "title": p.title,
            "body": p.body,
            "html_url": web_url(ctx, p.number),
            "url": format!("http://127.0.0.1:{}{}/repos/{}/pulls/{}", ctx.port, ctx.kind.api_prefix(), ctx.repo, p.number),
            "head": {"ref": p.head, "label": format!("{head_owner}:{}", p.head), "sha": sha, "repo_id": head_id, "repo": repo_json(&head_repo, head_id)},
            "base": {"ref": p.base, "label": format!("{owner}:{}", p.base), "repo_id": REPO_ID, "repo": repo_json(&ctx.repo, REPO_ID)},
        }),
    }
}

fn github(
    ctx: &Ctx,
    st: &mut State,
    req: &Request,
    rest: &str,
    body: Option<serde_json::Map<String, Value>>,
) -> Answer {
    let owner = ctx.repo.split('/').next().unwrap_or("");
    let Some(tail) = rest
        .strip_prefix(&format!("/repos/{}/pulls", ctx.repo))
        .or_else(|| rest.strip_prefix(&format!("/repositories/{REPO_ID}/pulls")))
    else {
        return not_found(Forge::GitHub);
    };
    let invalid = |msg: String| {
        (
            422,
            json!({"message": format!("Invalid request.\n\n{msg}"), "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422"}),
        )
    };
    match (req.method.as_str(), tail) {
        ("GET", "") => {
            let state = req.param("state").unwrap_or("open");
            let (page, per) = match page_params(ctx, st, req) {
                Ok(p) => p,
                Err(a) => return a,
            };
            // `head=OWNER:BRANCH`: the head repository's owner and branch
            let head = match req.param("head") {
                None => None,
                Some(h) => match h.split_once(':') {
                    Some((o, b)) => Some((o.to_string(), b.to_string())),
                    None => {
                        return (
                            422,
                            json!({"message": "Validation Failed", "errors": [{"resource": "Search", "field": "head", "code": "invalid"}], "status": "422"}),
                        );
                    }
                },
            };
            let list: Vec<Value> = st
                .prs
                .iter()
                .rev()
                .filter(|p| match state {
                    "open" => p.open,
                    "closed" => !p.open,
                    _ => true,
                })
                .filter(|p| {
                    head.as_ref().is_none_or(|(o, b)| {
                        let repo = p.fork.as_deref().unwrap_or(&ctx.repo);
                        *b == p.head && repo.split('/').next() == Some(o.as_str())
                    })
                })
                .filter(|p| req.param("base").is_none_or(|b| b == p.base))
                .map(|p| pr_json(ctx, p))
                .collect();
            (200, paginate(ctx, st, req, list, page, per))
        }
        ("POST", "") => {
            let body = body.unwrap_or_default();
            let mut fields = Vec::new();
            for key in ["title", "head", "base", "body"] {
                match string_field(&body, key) {
                    Err(k) => {
                        return invalid(format!(
                            "For 'properties/{k}', {} is not a string.",
                            body[&k]
                        ));
                    }
                    Ok(v) => fields.push(v),
                }
            }
            let (Some(head), Some(base)) = (fields[1].clone(), fields[2].clone()) else {
                return invalid("\"head\" and \"base\" weren't supplied.".into());
            };
            let Some(title) = fields[0].clone().filter(|t| !t.is_empty()) else {
                return invalid("\"title\" wasn't supplied.".into());
            };
            let head = head
                .strip_prefix(&format!("{owner}:"))
                .unwrap_or(&head)
                .to_string();
            for (field, b) in [("head", &head), ("base", &base)] {
                if !branch_exists(ctx, b) {
                    return (
                        422,
                        json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "field": field, "code": "invalid"}], "status": "422"}),
                    );
                }
            }
            if st
                .prs
                .iter()
                .any(|p| p.open && p.fork.is_none() && p.head == head && p.base == base)
            {
                return (
                    422,
                    json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {owner}:{head}.")}], "status": "422"}),
                );
            }
            let pr = Pr {
                number: next_number(st),
                head,
                base,
                title,
                body: fields[3].clone().unwrap_or_default(),
                open: true,
                merged: false,
                updates: 0,
                fork: None,
            };
            st.prs.push(pr.clone());
            (201, pr_json(ctx, &pr))
        }
        ("PATCH", n) => {
            let Some(number) = n.strip_prefix('/').and_then(|n| n.parse::<u64>().ok()) else {
                return not_found(Forge::GitHub);
            };
            let body = body.unwrap_or_default();
            let (title, text) = match (string_field(&body, "title"), string_field(&body, "body")) {
                (Ok(t), Ok(b)) => (t, b),
                (Err(k), _) | (_, Err(k)) => {
                    return invalid(format!(
                        "For 'properties/{k}', {} is not a string.",
                        body[&k]
                    ));
                }
            };
            let Some(pr) = st.prs.iter_mut().find(|p| p.number == number) else {
                return not_found(Forge::GitHub);
            };
            if let Some(t) = title {
                pr.title = t;
            }
            if let Some(b) = text {
                pr.body = b;
            }
            pr.updates += 1;
            let pr = pr.clone();
            (200, pr_json(ctx, &pr))
        }
        _ => not_found(Forge::GitHub),
    }
}

fn gitlab(
    ctx: &Ctx,
    st: &mut State,
    req: &Request,
    rest: &str,
    body: Option<serde_json::Map<String, Value>>,
) -> Answer {
    // /projects/:id/merge_requests[/:iid] with :id the URL-encoded project path.
    let Some(after) = rest.strip_prefix("/projects/") else {
        return not_found(Forge::GitLab);
    };
    let Some((id, tail)) = after.split_once("/merge_requests") else {
        return not_found(Forge::GitLab);
    };
    if id.contains('/') {
        return not_found(Forge::GitLab);
    }
    if percent_decode(id) != ctx.repo {
        return (404, json!({"message": "404 Project Not Found"}));
    }
    match (req.method.as_str(), tail) {
        ("GET", "") => {
            let state = req.param("state").unwrap_or("all");
            let (page, per) = match page_params(ctx, st, req) {
                Ok(p) => p,
                Err(a) => return a,
            };
            let list: Vec<Value> = st
                .prs
                .iter()
                .rev()
                .filter(|p| match state {
                    "opened" => p.open,
                    "closed" => !p.open && !p.merged,
                    "merged" => p.merged,
                    _ => true,
                })
                .filter(|p| req.param("source_branch").is_none_or(|b| b == p.head))
                .filter(|p| req.param("target_branch").is_none_or(|b| b == p.base))
                .map(|p| pr_json(ctx, p))
                .collect();
            (200, paginate(ctx, st, req, list, page, per))
        }
        ("POST", "") => {
            let body = body.unwrap_or_default();
            let mut missing = Vec::new();
            let mut vals = Vec::new();
            for key in ["source_branch", "target_branch", "title", "description"] {
                match string_field(&body, key) {
                    Err(k) => return (400, json!({"error": format!("{k} is invalid")})),
                    Ok(None) if key != "description" => missing.push(format!("{key} is missing")),
                    Ok(v) => vals.push(v.unwrap_or_default()),
                }
            }
            if !missing.is_empty() {
                return (400, json!({"error": missing.join(", ")}));
            }
            let (head, base, title, text) = (
                vals[0].clone(),
                vals[1].clone(),
                vals[2].clone(),
                vals[3].clone(),
            );
            if !branch_exists(ctx, &head) {
                return (
                    422,
                    json!({"message": [format!("Source branch \"{head}\" does not exist")]}),
                );
            }
            if !branch_exists(ctx, &base) {
                return (
                    422,
                    json!({"message": [format!("Target branch \"{base}\" does not exist")]}),
                );
            }
            // GitLab's rule: one open merge request per source project, source branch
            // and target branch
            if let Some(p) = st
                .prs
                .iter()
                .find(|p| p.open && p.fork.is_none() && p.head == head && p.base == base)
            {
                return (
                    409,
                    json!({"message": [format!("Another open merge request already exists for this source branch: !{}", p.number)]}),
                );
            }
            let pr = Pr {
                number: next_number(st),
                head,
                base,
                title,
                body: text,
                open: true,
                merged: false,
                updates: 0,
                fork: None,
            };
            st.prs.push(pr.clone());
            (201, pr_json(ctx, &pr))
        }
        ("PUT", n) => {
            let Some(iid) = n.strip_prefix('/').and_then(|n| n.parse::<u64>().ok()) else {
                return not_found(Forge::GitLab);
            };
            let body = body.unwrap_or_default();
            let (title, text) = match (
                string_field(&body, "title"),
                string_field(&body, "description"),
            ) {
                (Ok(t), Ok(d)) => (t, d),
                (Err(k), _) | (_, Err(k)) => {
                    return (400, json!({"error": format!("{k} is invalid")}));
                }
            };
            if title.is_none() && text.is_none() {
                return (
                    400,
                    json!({"error": "assignee_id, assignee_ids, ..., title, description, ... are missing, at least one parameter must be provided"}),
                );
            }
            let Some(pr) = st.prs.iter_mut().find(|p| p.number == iid) else {
                return (404, json!({"message": "404 Not found"}));
            };
            if let Some(t) = title {
                pr.title = t;
            }
            if let Some(d) = text {
                pr.body = d;
            }
            pr.updates += 1;
            let pr = pr.clone();
            (200, pr_json(ctx, &pr))
        }
        _ => not_found(Forge::GitLab),
    }
}

fn gitea(
    ctx: &Ctx,
    st: &mut State,
    req: &Request,
    rest: &str,
    body: Option<serde_json::Map<String, Value>>,
) -> Answer {
    let Some(tail) = rest.strip_prefix(&format!("/repos/{}/pulls", ctx.repo)) else {
        return not_found(Forge::Gitea);
    };
    let swagger = format!("http://127.0.0.1:{}/api/swagger", ctx.port);
    match (req.method.as_str(), tail) {
        ("GET", "") => {
            let state = req.param("state").unwrap_or("open");
            let (page, per) = match page_params(ctx, st, req) {
                Ok(p) => p,
                Err(a) => return a,
            };
            let list: Vec<Value> = st
                .prs
                .iter()
                .rev()
                .filter(|p| match state {
                    "open" => p.open,
                    "closed" => !p.open,
                    _ => true,
                })
                .map(|p| pr_json(ctx, p))
                .collect();
            (200, paginate(ctx, st, req, list, page, per))
        }
        // Gitea ≥ 1.22: GET /pulls/{base}/{head}, head `BRANCH` (of this repository)
        // or `OWNER:BRANCH` / `OWNER/NAME:BRANCH` (of a fork); the first match in any
        // state
        ("GET", t) if st.by_base_head && t[1.min(t.len())..].contains('/') => {
            let (base, head) = t[1..].split_once('/').unwrap_or(("", ""));
            let (base, head) = (percent_decode(base), percent_decode(head));
            let (fork, head) = match head.split_once(':') {
                Some((o, b)) => {
                    let repo = if o.contains('/') {
                        o.to_string()
                    } else {
                        format!("{o}/{}", ctx.repo.split('/').nth(1).unwrap_or(""))
                    };
                    (Some(repo).filter(|r| *r != ctx.repo), b.to_string())
                }
                None => (None, head),
            };
            match st
                .prs
                .iter()
                .find(|p| p.fork == fork && p.head == head && p.base == base)
            {
                Some(p) => (200, pr_json(ctx, p)),
                None => not_found(Forge::Gitea),
            }
        }
        ("POST", "") => {
            let body = body.unwrap_or_default();
            let mut vals = Vec::new();
            for key in ["head", "base", "title", "body"] {
                match string_field(&body, key) {
                    Err(k) => {
                        return (
                            422,
                            json!({"message": format!("[{k}]: must be a string"), "url": swagger}),
                        );
                    }
                    Ok(v) => vals.push(v),
                }
            }
            let Some(title) = vals[2].clone().filter(|t| !t.is_empty()) else {
                return (422, json!({"message": "[Title]: Required", "url": swagger}));
            };
            let (Some(head), Some(base)) = (vals[0].clone(), vals[1].clone()) else {
                return (
                    422,
                    json!({"message": "[Head]: Required; [Base]: Required", "url": swagger}),
                );
            };
            if !branch_exists(ctx, &head) || !branch_exists(ctx, &base) {
                return (
                    404,
                    json!({"message": "The target couldn't be found.", "errors": [], "url": swagger}),
                );
            }
            if let Some(p) = st
                .prs
                .iter()
                .find(|p| p.open && p.fork.is_none() && p.head == head && p.base == base)
            {
                return (
                    409,
                    json!({"message": format!("pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: 1, base_repo_id: 1, head_branch: {head}, base_branch: {base}]", 1000 + p.number, p.number), "url": swagger}),
                );
            }
            let pr = Pr {
                number: next_number(st),
                head,
                base,
                title,
                body: vals[3].clone().unwrap_or_default(),
                open: true,
                merged: false,
                updates: 0,
                fork: None,
            };
            st.prs.push(pr.clone());
            (201, pr_json(ctx, &pr))
        }
        ("PATCH", n) => {
            let Some(index) = n.strip_prefix('/').and_then(|n| n.parse::<u64>().ok()) else {
                return not_found(Forge::Gitea);
            };
            let body = body.unwrap_or_default();
            let (title, text) = match (string_field(&body, "title"), string_field(&body, "body")) {
                (Ok(t), Ok(b)) => (t, b),
                (Err(k), _) | (_, Err(k)) => {
                    return (
                        422,
                        json!({"message": format!("[{k}]: must be a string"), "url": swagger}),
                    );
                }
            };
            let Some(pr) = st.prs.iter_mut().find(|p| p.number == index) else {
                return not_found(Forge::Gitea);
            };
            if let Some(t) = title {
                pr.title = t;
            }
            if let Some(b) = text {
                pr.body = b;
            }
            pr.updates += 1;
            let pr = pr.clone();
            // Gitea answers an edit with 201 Created.
            (201, pr_json(ctx, &pr))
        }
        _ => not_found(Forge::Gitea),
    }
}
