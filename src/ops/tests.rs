//! Operations run in-process with an injected printer (`Printer::capture`), on a
//! GitOps repository and a profile built in a temporary directory: cheaper than
//! spawning the binary, and their stdout and stderr are checked exactly.
use crate::git::Mode;
use crate::ops::{Context, Shared};
use crate::printer::{Format, Printer};
use std::path::Path;

/// A profile with one kustomize artifact holding a ConfigMap.
fn profile(dir: &Path) {
    std::fs::create_dir_all(dir.join("config")).expect("profile directory");
    std::fs::write(
        dir.join("profile.yaml"),
        "apiVersion: weave.works/v1alpha1\nkind: ProfileDefinition\nmetadata:\n  name: web\n\
         spec:\n  description: A web server's settings\n  artifacts:\n    - name: settings\n\
         \x20     kustomize:\n        path: config\n",
    )
    .expect("profile.yaml");
    std::fs::write(
        dir.join("config/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\ndata:\n  greeting: hello\n",
    )
    .expect("configmap");
}

/// A GitOps repository made by `pctl init`, with its output.
fn gitops_repo(dir: &Path) -> String {
    let (p, out) = Printer::capture();
    let ctx = Context::new(&p, Shared::default());
    crate::ops::init::run(
        &ctx,
        crate::ops::init::InitOptions {
            dir: dir.to_path_buf(),
            sync_path: "clusters/default".into(),
            install_path: None,
            git_repository: "flux-system/flux-system".into(),
            clusters: Vec::new(),
            mode: Mode::Commit,
        },
    )
    .expect("init");
    out.stderr()
}

fn with_repo<'p>(p: &'p Printer, repo: &Path) -> Context<'p> {
    Context::new(
        p,
        Shared {
            repo: Some(repo.display().to_string()),
            ..Default::default()
        },
    )
}

#[test]
fn list_of_an_empty_repository_says_so_on_stderr_only() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("gitops");
    gitops_repo(&repo);
    let (p, out) = Printer::capture();
    let ctx = with_repo(&p, &repo);
    crate::ops::list::run(
        &ctx,
        crate::ops::list::ListOptions {
            format: Format::Table,
        },
    )
    .expect("list");
    assert_eq!(out.stdout(), "");
    assert_eq!(out.stderr(), "no installations\n");
    // Nothing to look up: no upstream mirror was opened (start-up cost).
    assert!(!ctx.opened_upstreams());

    let (p, out) = Printer::capture();
    crate::ops::list::run(
        &with_repo(&p, &repo),
        crate::ops::list::ListOptions {
            format: Format::Json,
        },
    )
    .expect("list -o json");
    assert_eq!(out.stdout(), "[]\n");
    assert_eq!(out.stderr(), "");
}

#[test]
fn install_then_list_shows_the_installation() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("gitops");
    gitops_repo(&repo);
    let web = tmp.path().join("web");
    profile(&web);
    let (p, out) = Printer::capture();
    crate::ops::install::run(
        &with_repo(&p, &repo),
        crate::ops::install::InstallOptions {
            source: web.display().to_string(),
            name: "web".into(),
            namespace: "default".into(),
            create_namespace: false,
            path: None,
            mode: Mode::Commit,
            message: None,
            allow_dirty: true,
            channel: None,
            values: Default::default(),
            pr: None,
        },
    )
    .expect("install");
    assert_eq!(out.stdout(), "");
    let stderr = out.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("install web dirty as web: committed "),
        "{stderr}"
    );
    assert_eq!(lines[1], "1 artifact(s) in clusters/default/profiles/web");

    let (p, out) = Printer::capture();
    crate::ops::list::run(
        &with_repo(&p, &repo),
        crate::ops::list::ListOptions {
            format: Format::Table,
        },
    )
    .expect("list");
    let stdout = out.stdout();
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "NAME",
            "NAMESPACE",
            "PROFILE",
            "VERSION",
            "SOURCE",
            "PATH",
            "UPDATE",
            "DRIFT"
        ]
    );
    assert_eq!(rows.len(), 2, "{stdout}");
    assert_eq!(&rows[1][..3], ["web", "default", "web"]);
    assert_eq!(rows[1][5], "clusters/default/profiles/web");
    assert_eq!(out.stderr(), "");
}

#[test]
fn render_prints_the_manifests_on_stdout() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let web = tmp.path().join("web");
    profile(&web);
    // An empty GitOps repository: render uses it for values, and it has none.
    let repo = tmp.path().join("gitops");
    gitops_repo(&repo);
    let (p, out) = Printer::capture();
    crate::ops::render::run(
        &with_repo(&p, &repo),
        crate::ops::render::RenderOptions {
            source: web.display().to_string(),
            name: None,
            namespace: "default".into(),
            install_path: "clusters/default/profiles".into(),
            allow_dirty: true,
            explain: false,
            output: None,
            values: Default::default(),
        },
    )
    .expect("render");
    let stdout = out.stdout();
    assert!(stdout.contains("kind: ConfigMap"), "{stdout}");
    assert!(stdout.contains("greeting: hello"), "{stdout}");
    assert!(
        stdout.contains("kind: Kustomization") && stdout.contains("name: web-settings"),
        "{stdout}"
    );
    assert_eq!(out.stderr(), "");

    // A name that is not a DNS-1123 label: an error, and nothing on stdout.
    let (p, out) = Printer::capture();
    let err = crate::ops::render::run(
        &with_repo(&p, &repo),
        crate::ops::render::RenderOptions {
            source: web.display().to_string(),
            name: Some("Not A Name".into()),
            namespace: "default".into(),
            install_path: "clusters/default/profiles".into(),
            allow_dirty: true,
            explain: false,
            output: None,
            values: Default::default(),
        },
    )
    .expect_err("a bad name");
    assert!(err.to_string().contains("DNS-1123"), "{err:#}");
    assert_eq!(out.stdout(), "");
}

#[test]
fn lint_reports_findings_on_stdout_and_its_verdict_on_stderr() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let web = tmp.path().join("web");
    profile(&web);
    let lint = |dir: &Path, p: &Printer| {
        crate::ops::lint::run(
            &Context::new(p, Shared::default()),
            crate::ops::lint::LintOptions {
                dir: dir.display().to_string(),
                format: Format::Table,
                strict: false,
            },
        )
    };
    let (p, out) = Printer::capture();
    lint(&web, &p).expect("a clean profile passes");
    assert_eq!(out.stdout(), "");
    assert_eq!(
        out.stderr(),
        format!(
            "lint passed: {}/profile.yaml: 0 error(s), 0 warning(s)\n",
            web.display()
        )
    );

    // An artifact path that does not exist: the finding with its line, and a failure.
    std::fs::write(
        web.join("profile.yaml"),
        std::fs::read_to_string(web.join("profile.yaml"))
            .expect("profile.yaml")
            .replace("path: config", "path: nowhere"),
    )
    .expect("edit profile.yaml");
    let (p, out) = Printer::capture();
    let err = lint(&web, &p).expect_err("a missing path fails");
    let file = format!("{}/profile.yaml", web.display());
    assert_eq!(
        out.stdout(),
        format!(
            "{file}:10: error: artifact \"settings\": path \"nowhere\" does not exist\n  hint: paths are relative to the profile directory\n"
        )
    );
    assert_eq!(
        err.to_string(),
        format!("lint failed: {file}: 1 error(s), 0 warning(s)")
    );
    assert_eq!(out.stderr(), "");
}
