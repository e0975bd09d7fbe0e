//! GitOps repository inspection, peak memory of one command, small upstream profile repositories.
use super::*;

// ---------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------

/// DNS-1123 subdomain name check, with the 63-character limit pctl promises
/// for object names.
pub fn is_dns1123_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The profile directories of a fixture overlay (directories holding a
/// `profile.yaml`), for the fixture self-checks.
pub fn profile_dirs(root: &Path) -> Vec<String> {
    walk(root)
        .into_keys()
        .filter(|k| k.ends_with("/profile.yaml") || k == "profile.yaml")
        .map(|k| {
            k.trim_end_matches("profile.yaml")
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// GitOps repository inspection
// ---------------------------------------------------------------------------

/// `<gitops>/<installPath>/<name>` for the default installPath.
pub fn install_dir(gitops: &Path, name: &str) -> PathBuf {
    gitops.join(INSTALL_PATH).join(name)
}

/// The `resources` of a kustomization.yaml, without a leading `./` and
/// trailing `/`.
pub fn kustomization_resources(path: &Path) -> Vec<String> {
    let doc = yaml_file(path);
    assert_eq!(
        doc["apiVersion"],
        "kustomize.config.k8s.io/v1beta1",
        "{}",
        path.display()
    );
    assert_eq!(doc["kind"], "Kustomization", "{}", path.display());
    doc["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| normalize_rel(r.as_str().expect("resource must be a string")))
                .collect()
        })
        .unwrap_or_default()
}

/// `./a/b/` -> `a/b`
pub fn normalize_rel(p: &str) -> String {
    let mut p = p.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.trim_end_matches('/').to_string()
}

/// Names listed in `<installPath>/kustomization.yaml` (the installations).
pub fn installed_names(gitops: &Path) -> Vec<String> {
    kustomization_resources(&gitops.join(INSTALL_PATH).join("kustomization.yaml"))
}

/// Directory names under `<install dir>/artifacts/`, sorted.
pub fn artifact_ids(gitops: &Path, name: &str) -> Vec<String> {
    let dir = install_dir(gitops, name).join("artifacts");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

/// The wrapper Flux Kustomization of every artifact, by artifact id.
pub fn wrappers(gitops: &Path, name: &str) -> BTreeMap<String, Value> {
    artifact_ids(gitops, name)
        .into_iter()
        .map(|id| {
            let f = install_dir(gitops, name)
                .join("artifacts")
                .join(&id)
                .join("kustomize-flux.yaml");
            (id, yaml_file(&f))
        })
        .collect()
}

/// The wrapper object name pctl promises for `<NAME>-<id>`.
pub fn expected_object_name(name: &str, id: &str) -> Option<String> {
    let n = format!("{name}-{id}");
    (n.len() <= 63).then_some(n)
}

/// `dependsOn` names of a Flux object.
pub fn depends_on(doc: &Value) -> Vec<String> {
    doc["spec"]["dependsOn"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the layout docs/layout.md promises for installation `name` in a
/// GitOps repository made by `pctl init` with the default paths.
#[track_caller]
pub fn check_installation(gitops: &Path, name: &str) {
    let dir = install_dir(gitops, name);
    for f in ["profile-installation.yaml", "kustomization.yaml"] {
        assert!(
            dir.join(f).is_file(),
            "{} is missing",
            dir.join(f).display()
        );
    }
    assert!(
        installed_names(gitops).contains(&name.to_string()),
        "{INSTALL_PATH}/kustomization.yaml does not list {name}"
    );
    let ids = artifact_ids(gitops, name);
    assert!(!ids.is_empty(), "no artifacts written for {name}");

    // <NAME>/kustomization.yaml lists exactly the wrappers
    let mut listed = kustomization_resources(&dir.join("kustomization.yaml"));
    listed.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| format!("artifacts/{id}/kustomize-flux.yaml"))
        .collect();
    expected.sort();
    assert_eq!(
        listed, expected,
        "{name}/kustomization.yaml must list exactly the wrapper Kustomizations"
    );

    let wrappers = wrappers(gitops, name);
    let wrapper_names: Vec<String> = wrappers.values().map(name_of).collect();
    for (id, w) in &wrappers {
        let at = format!("{name}/artifacts/{id}/kustomize-flux.yaml");
        assert!(
            dir.join("artifacts")
                .join(id)
                .join("kustomization.yaml")
                .is_file(),
            "{name}/artifacts/{id}/kustomization.yaml is missing"
        );
        assert_eq!(w["apiVersion"], "kustomize.toolkit.fluxcd.io/v1", "{at}");
        assert_eq!(w["kind"], "Kustomization", "{at}");
        assert_eq!(
            w["metadata"]["namespace"], "flux-system",
            "{at}: wrappers live in the GitRepository's namespace"
        );
        let wname = name_of(w);
        match expected_object_name(name, id) {
            Some(n) => assert_eq!(wname, n, "{at}: wrapper name"),
            None => assert!(
                is_dns1123_label(&wname),
                "{at}: {wname:?} is not a DNS-1123 label of at most 63 characters"
            ),
        }
        assert_eq!(
            w["spec"]["path"].as_str().unwrap_or(""),
            format!("./{INSTALL_PATH}/{name}/artifacts/{id}"),
            "{at}: spec.path must be relative to the repository root"
        );
        assert_eq!(w["spec"]["sourceRef"]["kind"], "GitRepository", "{at}");
        assert_eq!(w["spec"]["sourceRef"]["name"], "flux-system", "{at}");
        for d in depends_on(w) {
            assert!(
                wrapper_names.contains(&d),
                "{at}: dependsOn {d} is not a wrapper of this installation"
            );
        }
    }

    // Every object: a valid, unique name.
    let mut seen = std::collections::BTreeSet::new();
    for (file, doc) in yaml_objects(&dir) {
        if file == "profile-installation.yaml"
            || file.ends_with("kustomization.yaml")
            || !doc["kind"].is_string()
        {
            continue;
        }
        let n = name_of(&doc);
        assert!(
            n.len() <= 63 && !n.is_empty(),
            "{name}/{file}: object name {n:?} is empty or longer than 63 characters"
        );
        let key = (
            doc["kind"].as_str().unwrap_or("").to_string(),
            doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            n.clone(),
        );
        assert!(
            seen.insert(key.clone()),
            "{name}/{file}: duplicate object {key:?}"
        );
    }
}

/// The files of `dir` in `repo` at `rev`, keyed by their path relative to `dir`.
pub fn repo_files_at(repo: &Path, rev: &str, dir: &str) -> BTreeMap<String, Vec<u8>> {
    let list = git(repo, &["ls-tree", "-r", "--name-only", rev, "--", dir]);
    let mut out = BTreeMap::new();
    for path in list.lines() {
        let data = git_cmd(repo)
            .args(["cat-file", "blob", &format!("{rev}:{path}")])
            .output()
            .unwrap()
            .stdout;
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .trim_start_matches('/')
            .to_string();
        out.insert(rel, data);
    }
    assert!(!out.is_empty(), "{rev}:{dir} has no files");
    out
}

/// Every source file appears below `dest` (at the same relative path, possibly
/// under a subdirectory) with identical bytes.
#[track_caller]
pub fn assert_copied_byte_for_byte(src: &BTreeMap<String, Vec<u8>>, dest: &Path) {
    let dest_files = tree_files(dest);
    for (rel, data) in src {
        let found = dest_files
            .iter()
            .filter(|(k, _)| *k == rel || k.ends_with(&format!("/{rel}")))
            .collect::<Vec<_>>();
        assert!(
            !found.is_empty(),
            "{rel} was not copied into {}",
            dest.display()
        );
        assert!(
            found.iter().any(|(_, d)| *d == data),
            "{rel} in {} is not byte-for-byte the source file",
            dest.display()
        );
    }
}

/// `(paths built, objects)` from flux-dry-run's summary line.
pub fn flux_summary(output: &str) -> (usize, usize) {
    for line in output.lines() {
        if let Some((paths, rest)) = line.split_once(" paths built, ") {
            let objects = rest.split_whitespace().next().unwrap_or("0");
            return (
                paths.trim().parse().unwrap_or(0),
                objects.parse().unwrap_or(0),
            );
        }
    }
    panic!("no summary line in pctl check output:\n{output}")
}

/// The Flux objects of one kind below an installation (skipping charts).
pub fn install_objects(gitops: &Path, name: &str, kind: &str) -> Vec<(String, Value)> {
    objects_of_kind(&install_dir(gitops, name), kind)
}

/// The entry of `pctl list -o json` output for installation `name`.
pub fn list_entry<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no installation {name} in {list:?}"))
}

// ---------------------------------------------------------------------------
// Peak memory of one command
// ---------------------------------------------------------------------------

/// Runs `cmd` under GNU time (`/usr/bin/time -f %M`), killing it after `limit`;
/// returns its output and its own peak resident set size in KiB.
///
/// Not `wait4` on the child: Rust starts children with vfork, and Linux carries the
/// parent's peak RSS into the child's `ru_maxrss` at exec, so a test binary that
/// holds 200 MiB (another test's buffers) made every child look that large. GNU time
/// forks the command from its own small process and reports only that.
pub fn run_measured(cmd: Command, limit: Duration) -> (Output, u64) {
    const TIME: &str = "/usr/bin/time";
    assert!(
        Path::new(TIME).is_file(),
        "{TIME} is missing: install GNU time (apt-get install time)"
    );
    let report = tempfile::NamedTempFile::new().expect("temp file for GNU time");
    let mut timed = Command::new(TIME);
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    timed.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = timed
        .spawn()
        .expect("cannot start the command under GNU time");
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting for the command") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&t_err.join().unwrap_or_default())
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    // GNU time writes "Command exited with non-zero status N" before the figure.
    let kib = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("GNU time reported no peak RSS: {text:?}"));
    let out = Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    };
    (out, kib)
}

// ---------------------------------------------------------------------------
// Small upstream profile repositories
// ---------------------------------------------------------------------------

/// A repository at `<sandbox>/upstream-NAME` holding profile NAME in directory NAME,
/// one commit and annotated tag `NAME/vVERSION` per entry of `versions` (the
/// directory's files replaced each time).
pub fn profile_repo(env: &Env, name: &str, versions: &[(&str, &[(&str, &str)])]) -> PathBuf {
    let repo = env.path(&format!("upstream-{name}"));
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    for (version, files) in versions {
        let dir = repo.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in *files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", &format!("{name} {version}")]);
        git(
            &repo,
            &["tag", "-a", &format!("{name}/v{version}"), "-m", version],
        );
    }
    repo
}

/// `file:///REPO//NAME@VERSION`
pub fn source(repo: &Path, name: &str, version: &str) -> String {
    format!("{}//{name}@{version}", file_url(repo))
}
