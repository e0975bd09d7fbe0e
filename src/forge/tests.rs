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
