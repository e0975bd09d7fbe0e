//! Unit tests of forge detection, error texts and the client's header parsing.
use super::api::encode_segment;
use super::*;

fn settings(kind: Option<&str>, api: Option<&str>, cfg: Option<Value>) -> Settings {
    Settings {
        env_kind: kind.map(str::to_string),
        env_api: api.map(str::to_string),
        config: cfg.and_then(|v| v.as_object().cloned()),
    }
}

#[test]
fn remote_urls_of_every_form() {
    let cases = [
        (
            "https://github.com/org/repo.git",
            "https",
            Some("github.com"),
            None,
            "org/repo",
        ),
        (
            "https://user:pw@gitlab.com/g/sub/p",
            "https",
            Some("gitlab.com"),
            None,
            "g/sub/p",
        ),
        (
            "ssh://git@host.example:2222/org/repo.git/",
            "ssh",
            Some("host.example"),
            Some(2222),
            "org/repo",
        ),
        (
            "git@codeberg.org:org/repo.git",
            "ssh",
            Some("codeberg.org"),
            None,
            "org/repo",
        ),
        (
            "git://127.0.0.1:9418/org/gitops.git",
            "git",
            Some("127.0.0.1"),
            Some(9418),
            "org/gitops",
        ),
        (
            "file:///srv/git/org/gitops.git",
            "file",
            None,
            None,
            "srv/git/org/gitops",
        ),
        (
            "/srv/git/org/gitops",
            "file",
            None,
            None,
            "srv/git/org/gitops",
        ),
    ];
    for (url, scheme, host, port, path) in cases {
        let r = parse_remote_url(url).unwrap();
        assert_eq!(r.scheme, scheme, "{url}");
        assert_eq!(r.host.as_deref(), host, "{url}");
        assert_eq!(r.port, port, "{url}");
        assert_eq!(r.path, path, "{url}");
    }
    assert!(parse_remote_url("https://github.com/").is_err());
}

#[test]
fn detection_from_the_host() {
    let t = detect("git@github.com:org/repo.git", &Settings::default()).unwrap();
    assert_eq!(
        (t.kind, t.api.as_str()),
        (Kind::GitHub, "https://api.github.com")
    );
    assert_eq!(
        (t.slug.owner.as_str(), t.slug.name.as_str()),
        ("org", "repo")
    );
    let t = detect("https://gitlab.com/g/sub/proj.git", &Settings::default()).unwrap();
    assert_eq!(
        (t.kind, t.api.as_str()),
        (Kind::GitLab, "https://gitlab.com/api/v4")
    );
    assert_eq!(t.slug.path, "g/sub/proj");
    let t = detect("https://codeberg.org/org/repo", &Settings::default()).unwrap();
    assert_eq!(
        (t.kind, t.api.as_str()),
        (Kind::Gitea, "https://codeberg.org/api/v1")
    );
    let t = detect(
        "https://gitea.local:3000/org/repo.git",
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(t.api, "https://gitea.local:3000/api/v1");
    let t = detect(
        "http://127.0.0.1:3000/org/repo.git",
        &settings(Some("gitea"), None, None),
    );
    assert_eq!(t.unwrap().api, "http://127.0.0.1:3000/api/v1");
    let err = detect("http://gitea.local:3000/org/repo.git", &Settings::default()).unwrap_err();
    let (msg, _, hints) = crate::error::describe(&err);
    assert!(
        msg.contains("plain http:// to gitea.local:3000") && msg.contains("GITEA_TOKEN"),
        "{msg}"
    );
    assert!(hints[0].contains("https://"), "{hints:?}");
    let t = detect("ssh://git@forgejo.example:2222/o/r", &Settings::default()).unwrap();
    assert_eq!(t.api, "https://forgejo.example/api/v1");
    let err = detect("git://127.0.0.1/org/repo", &Settings::default()).unwrap_err();
    let (_, _, hints) = crate::error::describe(&err);
    assert!(
        hints[0].contains("PCTL_FORGE") && hints[0].contains("forge.type"),
        "{hints:?}"
    );
}

#[test]
fn environment_beats_config_beats_url() {
    let cfg = serde_json::json!({"type": "gitea", "apiURL": "https://cfg.example/api/v1/"});
    let t = detect(
        "https://cfg.example/o/r",
        &settings(None, None, Some(cfg.clone())),
    )
    .unwrap();
    assert_eq!(
        (t.kind, t.api.as_str()),
        (Kind::Gitea, "https://cfg.example/api/v1")
    );
    // a committed apiURL on another host than the remote's
    let err = detect(
        "https://github.com/o/r",
        &settings(None, None, Some(cfg.clone())),
    )
    .unwrap_err();
    let (msg, _, hints) = crate::error::describe(&err);
    assert!(
        msg.contains("cfg.example") && msg.contains("GITEA_TOKEN") && msg.contains("github.com"),
        "{msg}"
    );
    assert!(hints[0].contains("credentials.hosts"), "{hints:?}");
    let err = detect(
        "https://github.com/o/r",
        &settings(Some("gitea"), Some("http://api.example/api/v1"), None),
    );
    assert!(err.unwrap_err().to_string().contains("plain http://"));
    let t = detect(
        "https://github.com/o/r",
        &settings(Some("gitlab"), Some("http://127.0.0.1:1/api/v4"), Some(cfg)),
    )
    .unwrap();
    assert_eq!(
        (t.kind, t.api.as_str()),
        (Kind::GitLab, "http://127.0.0.1:1/api/v4")
    );
    assert_eq!(t.slug.path, "o/r");
    let err = detect(
        "https://github.com/o/r",
        &settings(Some("bitbucket"), None, None),
    );
    assert!(err.unwrap_err().to_string().contains("PCTL_FORGE"));
    let bad = serde_json::json!({"type": 3});
    let err = detect("https://github.com/o/r", &settings(None, None, Some(bad)));
    assert!(err.unwrap_err().to_string().contains("forge.type"));
    let err = detect("file:///srv/o/r", &settings(Some("github"), None, None)).unwrap_err();
    assert!(crate::error::describe(&err).2[0].contains("PCTL_FORGE_API_URL"));
    let err = detect(
        "git://h.example/repo",
        &settings(Some("github"), Some("https://x.example"), None),
    );
    assert!(err.unwrap_err().to_string().contains("OWNER/NAME"));
}

#[test]
fn error_messages_of_each_forge() {
    let gh = serde_json::json!({"message": "Validation Failed", "errors": [
        {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for o:b."}
    ]});
    assert_eq!(
        error_message(&gh),
        "Validation Failed: A pull request already exists for o:b."
    );
    let gl = serde_json::json!({"message": ["Another open merge request already exists for this source branch: !1"]});
    assert!(error_message(&gl).starts_with("Another open merge request"));
    let gl = serde_json::json!({"message": {"title": ["is too long"]}});
    assert_eq!(error_message(&gl), "title is too long");
    let gl = serde_json::json!({"error": "title is missing"});
    assert_eq!(error_message(&gl), "title is missing");
}

#[test]
fn passwords_in_remote_urls_are_hidden() {
    assert_eq!(
        crate::git::redact_url("https://x-access-token:s3cret@github.com/o/r.git"),
        "https://x-access-token:***@github.com/o/r.git"
    );
    assert_eq!(
        crate::git::redact_url("https://bob@host/o/r"),
        "https://bob@host/o/r"
    );
    assert_eq!(crate::git::redact_url("git@host:o/r"), "git@host:o/r");
    let t = detect(
        "https://u:s3cret@gitea.example/o/r.git",
        &Settings::default(),
    )
    .unwrap();
    assert!(!t.remote.contains("s3cret"), "{}", t.remote);
}

#[test]
fn segments_are_percent_encoded() {
    assert_eq!(encode_segment("group/sub/proj"), "group%2Fsub%2Fproj");
    assert_eq!(encode_segment("a.b_c-d~e"), "a.b_c-d~e");
}

#[test]
fn github_enterprise_cloud_with_data_residency() {
    for remote in [
        "https://octocorp.ghe.com/org/repo.git",
        "git@octocorp.ghe.com:org/repo.git",
    ] {
        let t = detect(remote, &Settings::default()).unwrap();
        assert_eq!(
            (t.kind, t.api.as_str(), t.slug.path.as_str()),
            (Kind::GitHub, "https://api.octocorp.ghe.com", "org/repo"),
            "{remote}"
        );
    }
    // only one label below ghe.com
    let err = detect("https://a.b.ghe.com/org/repo", &Settings::default());
    assert!(err.is_err());
}

#[test]
fn gitlab_under_a_sub_path() {
    let api = Some("https://host.example/gitlab/api/v4");
    let t = detect(
        "https://host.example/gitlab/group/sub/project.git",
        &settings(Some("gitlab"), api, None),
    )
    .unwrap();
    assert_eq!(t.slug.path, "group/sub/project");
    assert_eq!(t.api, "https://host.example/gitlab/api/v4");
    // committed in .pctl/config.yaml, on the remote's host
    let cfg = serde_json::json!({"type": "gitlab", "apiURL": "https://host.example/gitlab/api/v4"});
    let t = detect(
        "https://host.example/gitlab/group/project",
        &settings(None, None, Some(cfg)),
    )
    .unwrap();
    assert_eq!(
        (t.slug.owner.as_str(), t.slug.name.as_str()),
        ("group", "project")
    );
    // SSH remotes of such a GitLab carry no prefix: a group named like it is kept
    let t = detect(
        "git@host.example:gitlab/project.git",
        &settings(Some("gitlab"), api, None),
    )
    .unwrap();
    assert_eq!(t.slug.path, "gitlab/project");
    // an API on another host says nothing about the remote's path
    let t = detect(
        "https://other.example/gitlab/group/project",
        &settings(Some("gitlab"), api, None),
    )
    .unwrap();
    assert_eq!(t.slug.path, "gitlab/group/project");
    // Gitea under a sub-path, with its port
    let t = detect(
        "http://127.0.0.1:3000/gitea/org/repo.git",
        &settings(
            Some("gitea"),
            Some("http://127.0.0.1:3000/gitea/api/v1"),
            None,
        ),
    )
    .unwrap();
    assert_eq!(t.slug.path, "org/repo");
}

#[test]
fn link_headers_locations_and_retry_after() {
    use super::api::{link_rel, parse_retry_after, resolve, wait_text};
    let link = r#"<https://api.example/x?page=2&limit=20>; rel="next", <https://api.example/x?page=5>; rel="last""#;
    assert_eq!(
        link_rel(link, "next").as_deref(),
        Some("https://api.example/x?page=2&limit=20")
    );
    assert_eq!(
        link_rel(link, "last").as_deref(),
        Some("https://api.example/x?page=5")
    );
    assert_eq!(
        link_rel(r#"<https://a/x?page=1>; rel="prev first""#, "next"),
        None
    );
    assert_eq!(
        link_rel(r#"<https://a/x?page=1>; rel="prev first""#, "first").as_deref(),
        Some("https://a/x?page=1")
    );

    let base = "https://api.github.com/repos/o/r/pulls?head=o%3Ab";
    assert_eq!(
        resolve(
            base,
            "https://api.github.com/repositories/1/pulls?head=o%3Ab"
        ),
        "https://api.github.com/repositories/1/pulls?head=o%3Ab"
    );
    assert_eq!(
        resolve(
            "http://127.0.0.1:3000/api/v1/repos/o/r/pulls",
            "/api/v1/repos/o/n/pulls?x=1"
        ),
        "http://127.0.0.1:3000/api/v1/repos/o/n/pulls?x=1"
    );
    assert_eq!(resolve(base, "//evil.example/x"), "https://evil.example/x");
    assert_eq!(resolve(base, "7"), "https://api.github.com/repos/o/r/7");
    assert_eq!(resolve("https://h.example", "x"), "https://h.example/x");

    assert_eq!(parse_retry_after("30", 0), Some(30));
    // 1994-11-06T08:49:37Z
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_767),
        Some(10)
    );
    assert_eq!(parse_retry_after("soon", 0), None);
    assert_eq!(wait_text(1), "in 1 second");
    assert_eq!(wait_text(3600), "in about 60 minutes");
    assert_eq!(wait_text(7200), "in about 2 hours");
}

#[test]
fn rate_limits_are_told_from_missing_permissions() {
    use super::api::{Reply, rate_limit_wait};
    let reply = |status: u16, headers: &[(&str, &str)], text: &str| Reply {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        text: text.to_string(),
        url: "https://api.github.com/x".into(),
    };
    let now = 1_000_000_000;
    assert_eq!(rate_limit_wait(&reply(429, &[], ""), now), Some(60));
    assert_eq!(
        rate_limit_wait(&reply(429, &[("retry-after", "5")], ""), now),
        Some(5)
    );
    assert_eq!(
        rate_limit_wait(
            &reply(
                403,
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1000000300")
                ],
                "{}"
            ),
            now
        ),
        Some(300)
    );
    let secondary = r#"{"message": "You have exceeded a secondary rate limit."}"#;
    assert_eq!(rate_limit_wait(&reply(403, &[], secondary), now), Some(60));
    // a plain 403 is about permissions
    let denied = r#"{"message": "Resource not accessible by personal access token"}"#;
    assert_eq!(
        rate_limit_wait(
            &reply(403, &[("x-ratelimit-remaining", "4999")], denied),
            now
        ),
        None
    );
    assert_eq!(
        rate_limit_wait(&reply(404, &[("retry-after", "5")], ""), now),
        None
    );
}

#[test]
fn only_a_head_in_the_base_repository_is_pctls() {
    use super::pulls::head_in_base_repo;
    let pr = |head: Value, base: Value| serde_json::json!({"head": {"repo": head}, "base": {"repo": base}});
    let repo = |id: u64, name: &str| serde_json::json!({"id": id, "full_name": name});
    assert!(head_in_base_repo(&pr(repo(1, "o/r"), repo(1, "o/r"))));
    // a renamed repository keeps its id
    assert!(head_in_base_repo(&pr(repo(1, "o/old"), repo(1, "o/new"))));
    assert!(!head_in_base_repo(&pr(repo(2, "o/r-fork"), repo(1, "o/r"))));
    // a deleted fork
    assert!(!head_in_base_repo(&pr(Value::Null, repo(1, "o/r"))));
    let named = |n: &str| serde_json::json!({"full_name": n});
    assert!(head_in_base_repo(&pr(named("O/R"), named("o/r"))));
    assert!(!head_in_base_repo(&pr(named("x/r"), named("o/r"))));
    // Gitea's repo ids without the objects
    let ids = serde_json::json!({"head": {"repo_id": 3}, "base": {"repo_id": 3}});
    assert!(head_in_base_repo(&ids));
}
