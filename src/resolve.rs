//! Resolution: from a SOURCE to a tree of profile definitions with every file they
//! use, following nested profiles at any depth across repositories, choosing versions
//! from tags, and refusing cycles, escapes and missing files with the chain of profiles
//! that led there.
use crate::error::{HintExt, user};
use crate::git::{Snapshot, Upstream, Upstreams};
use crate::model::{self, ArtifactKind, Chart, NestedSource, ProfileDefinition};
use crate::record::SourceRecord;
use crate::source::SourceSpec;
use crate::version::{self, Candidate};
use anyhow::{Context, Result, anyhow, bail};
use git2::Oid;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

mod remembered;

pub use crate::model::resolved::{Resolved, ResolvedArtifact, ResolvedKind};

/// Options that change how sources are read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub allow_dirty: bool,
    pub channel: Option<String>,
    /// The GitOps repository (`--repo`) whose `.pctl/catalogs.yaml` resolves
    /// `CATALOG/PROFILE` sources; None = the repository of the current directory.
    pub catalog_repo: Option<String>,
    /// Commits to use instead of resolving references, by (URL, profile directory):
    /// re-rendering an installed version exactly as recorded (upgrade's base).
    pub pins: BTreeMap<(String, String), String>,
    /// `pctl lint`: collect the errors of the root profile's artifacts in
    /// [`Resolver::skipped`] (artifact name, error) and leave those artifacts out
    /// instead of failing.
    pub lenient: bool,
    /// `pctl lint`: the root profile's definition as lint read it (without the
    /// parts it reported as errors), used instead of parsing its profile.yaml, so
    /// that paths, nested profiles and templates are checked despite those errors.
    pub root_definition: Option<ProfileDefinition>,
    /// `pctl lint`: read a local profile directory from the work tree even when it
    /// has no uncommitted change (needs `allow_dirty`).
    pub worktree: bool,
}

/// Where a profile's files come from.
#[derive(Clone)]
struct Place {
    snapshot: Snapshot,
    /// The repository for same-repository nested references with their own ref.
    upstream: Option<Rc<Upstream>>,
    /// Directory of the profile inside the repository.
    dir: String,
    record: SourceRecord,
}

pub struct Resolver<'a> {
    upstreams: &'a Upstreams,
    opts: Options,
    /// What the resolution found worth saying (legacy fields, converted schemas),
    /// once each; the caller prints them.
    pub warnings: Vec<String>,
    /// With [`Options::lenient`]: the root's artifacts left out, with their errors.
    pub skipped: Vec<(String, anyhow::Error)>,
    /// Where every profile of the tree was read from, by [`visit_key`]: `pctl export`
    /// reads the same files again to vendor them.
    pub visited: BTreeMap<(String, String, String), Visited>,
}

/// The files a resolved profile came from.
#[derive(Clone)]
pub struct Visited {
    pub snapshot: Snapshot,
    /// Its repository (for tags), when it is one.
    pub upstream: Option<Rc<Upstream>>,
}

/// The key of a resolved profile in [`Resolver::visited`]: URL, directory, commit.
pub fn visit_key(source: &SourceRecord) -> (String, String, String) {
    (
        source.url.clone(),
        source.path.clone(),
        source
            .commit
            .clone()
            .unwrap_or_else(|| "worktree".to_string()),
    )
}

/// One step of the chain of profiles, for messages and cycle detection.
#[derive(Clone)]
struct Step {
    key: (String, String, String),
    label: String,
}

impl<'a> Resolver<'a> {
    pub fn new(upstreams: &'a Upstreams, opts: Options) -> Self {
        Resolver {
            upstreams,
            opts,
            warnings: Vec::new(),
            skipped: Vec::new(),
            visited: BTreeMap::new(),
        }
    }

    /// Resolve a SOURCE and everything it nests.
    pub fn resolve(&mut self, spec: &SourceSpec) -> Result<Resolved> {
        let place = match spec {
            SourceSpec::Local { path } => self.local_place(path)?,
            SourceSpec::Git {
                url,
                subdir,
                reference,
            } => {
                let up = self.upstreams.open(url)?;
                let wanted = match reference {
                    Some(r) => Wanted::Any(r.clone()),
                    None => Wanted::Default,
                };
                let dir = crate::gitops::norm_dir(subdir)?;
                self.git_place(up, &dir, wanted)?
            }
            SourceSpec::Catalog {
                catalog,
                profile,
                constraint,
            } => {
                let catalogs = crate::catalog::Catalogs::load(
                    crate::catalog::RepoScope::from_flag(self.opts.catalog_repo.as_deref()),
                )?;
                let found = crate::catalog::locate(&catalogs, catalog, profile, self.upstreams)?;
                self.warnings.extend(found.warnings.iter().cloned());
                let up = self.upstreams.open(&found.url)?;
                let wanted = match constraint {
                    Some(c) if version::looks_like_constraint(c) => Wanted::Constraint(c.clone()),
                    Some(r) => Wanted::Any(r.clone()),
                    None => Wanted::Default,
                };
                let mut place = self.git_place(up, &found.path, wanted)?;
                place.record.catalog = Some(format!("{catalog}/{profile}"));
                place
            }
        };
        self.resolve_place(place, &mut Vec::new())
    }

    fn local_place(&mut self, path: &str) -> Result<Place> {
        let p = Path::new(path);
        let abs = std::fs::canonicalize(p)
            .with_context(|| format!("profile directory {path} does not exist"))
            .hint("give the directory that holds profile.yaml")?;
        if !abs.is_dir() {
            bail!(user(
                format!("{path} is not a directory"),
                "give the directory that holds profile.yaml"
            ));
        }
        match crate::git::discover(&abs) {
            Some((root, repo)) => {
                let root = std::fs::canonicalize(&root).unwrap_or(root);
                let rel = abs
                    .strip_prefix(&root)
                    .map_err(|_| {
                        anyhow!(
                            "{} is outside its repository {}",
                            abs.display(),
                            root.display()
                        )
                    })?
                    .to_string_lossy()
                    .replace('\\', "/");
                let url = crate::git::recorded_url(&repo, &root);
                let dirty = crate::git::dirty_paths(&repo, &rel)?;
                let head = crate::git::head_commit(&repo);
                let local_up = Rc::new(Upstream {
                    url: url.clone(),
                    repo: Rc::new(git2::Repository::open(repo.path())?),
                });
                if !dirty.is_empty()
                    || head.is_none()
                    || (self.opts.worktree && self.opts.allow_dirty)
                {
                    if !self.opts.allow_dirty {
                        let what = if head.is_none() {
                            "has no commit".to_string()
                        } else {
                            format!("has uncommitted changes ({})", dirty.join(", "))
                        };
                        bail!(user(
                            format!("profile directory {path} {what}"),
                            "commit them so the installation records a real commit, or pass --allow-dirty",
                        ));
                    }
                    return Ok(Place {
                        snapshot: Snapshot::Dir { root },
                        upstream: Some(local_up),
                        dir: rel.clone(),
                        record: SourceRecord {
                            url,
                            path: rel,
                            commit: head.map(|c| c.to_string()),
                            dirty: true,
                            ..Default::default()
                        },
                    });
                }
                let commit = head.ok_or_else(|| anyhow!("no HEAD"))?;
                let version = version_at(&local_up, &rel, commit)?;
                let (_, snapshot) = crate::git::head_snapshot(repo)?;
                Ok(Place {
                    snapshot,
                    upstream: Some(local_up),
                    dir: rel.clone(),
                    record: SourceRecord {
                        url,
                        path: rel,
                        version: version.as_ref().map(|c| c.version.to_string()),
                        reference: version.map(|c| c.tag),
                        commit: Some(commit.to_string()),
                        ..Default::default()
                    },
                })
            }
            None => {
                if !self.opts.allow_dirty {
                    bail!(user(
                        format!("profile directory {path} is not inside a Git repository"),
                        "commit it to a Git repository so the installation records where it came from, or pass --allow-dirty",
                    ));
                }
                Ok(Place {
                    snapshot: Snapshot::Dir { root: abs.clone() },
                    upstream: None,
                    dir: String::new(),
                    record: SourceRecord {
                        url: format!("file://{}", abs.display()),
                        dirty: true,
                        ..Default::default()
                    },
                })
            }
        }
    }

    fn git_place(&mut self, up: Rc<Upstream>, dir: &str, wanted: Wanted) -> Result<Place> {
        let requested = wanted.requested();
        let pinned = self
            .opts
            .pins
            .get(&(up.url.clone(), dir.to_string()))
            .cloned();
        let sel = match pinned {
            Some(hex) => {
                let commit = up.commit(&hex).ok_or_else(|| {
                    user(
                        format!("{}: the recorded commit {hex} is gone", up.url),
                        "the upstream history was rewritten; reinstall the profile",
                    )
                })?;
                let at = version_at(&up, dir, commit)?;
                Selection {
                    commit,
                    version: at.as_ref().map(|c| c.version.to_string()),
                    reference: at.map(|c| c.tag).or_else(|| requested.clone()),
                }
            }
            None => {
                if let Wanted::Any(r) = &wanted
                    && r.starts_with("refs/")
                    && !r.starts_with("refs/tags/")
                    && !r.starts_with("refs/heads/")
                {
                    self.upstreams.fetch_reference(&up, r)?;
                }
                select(&up, dir, &wanted, self.opts.channel.as_deref())?
            }
        };
        let snapshot = up.snapshot(sel.commit)?;
        Ok(Place {
            snapshot,
            upstream: Some(up.clone()),
            dir: dir.to_string(),
            record: SourceRecord {
                url: up.url.clone(),
                path: dir.to_string(),
                requested,
                version: sel.version,
                reference: sel.reference,
                commit: Some(sel.commit.to_string()),
                dirty: false,
                channel: self.opts.channel.clone(),
                ..Default::default()
            },
        })
    }

    fn resolve_place(&mut self, place: Place, chain: &mut Vec<Step>) -> Result<Resolved> {
        let at = place
            .record
            .commit
            .clone()
            .unwrap_or_else(|| "worktree".to_string());
        let file = crate::gitops::join(&place.dir, "profile.yaml");
        let origin = format!(
            "{}//{}@{}",
            place.record.url,
            file,
            place
                .record
                .reference
                .clone()
                .unwrap_or_else(|| at.chars().take(12).collect())
        );
        let step = Step {
            key: (place.record.url.clone(), place.dir.clone(), at.clone()),
            label: format!(
                "{} ({})",
                if place.dir.is_empty() {
                    "<root>"
                } else {
                    &place.dir
                },
                origin.trim_end_matches("/profile.yaml")
            ),
        };
        if let Some(i) = chain.iter().position(|s| s.key == step.key) {
            let mut names: Vec<String> = chain[i..].iter().map(|s| s.label.clone()).collect();
            names.push(step.label.clone());
            bail!(user(
                format!("nesting cycle: {}", names.join(" -> ")),
                "a profile may not include itself, directly or through other profiles",
            ));
        }
        if chain.len() >= 32 {
            bail!(user(
                "profiles are nested more than 32 levels deep",
                "check for a cycle through changing versions"
            ));
        }
        self.visited.insert(
            visit_key(&place.record),
            Visited {
                snapshot: place.snapshot.clone(),
                upstream: place.upstream.clone(),
            },
        );
        chain.push(step);
        let result = self.resolve_definition(&place, &file, &origin, chain);
        let result = result.map_err(|e| {
            if chain.len() > 1 {
                let labels: Vec<String> = chain.iter().map(|s| s.label.clone()).collect();
                let msg = e.to_string();
                e.context(format!("profile chain: {}", labels.join(" -> ")))
                    .context(msg)
            } else {
                e
            }
        });
        chain.pop();
        result
    }

    fn resolve_definition(
        &mut self,
        place: &Place,
        file: &str,
        origin: &str,
        chain: &mut Vec<Step>,
    ) -> Result<Resolved> {
        let bytes = match place.snapshot.read(file)? {
            Some(b) => b,
            None => {
                let what = if place.snapshot.is_dir(&place.dir)? {
                    "has no profile.yaml"
                } else {
                    "does not exist"
                };
                bail!(user(
                    format!(
                        "{}: {} {what}",
                        origin,
                        if place.dir.is_empty() {
                            "the repository root"
                        } else {
                            &place.dir
                        }
                    ),
                    "point at the directory that holds profile.yaml (URL//DIR)",
                ));
            }
        };
        let text = String::from_utf8(bytes).map_err(|_| anyhow!("{origin}: not UTF-8 text"))?;
        let dir_name = place.dir.rsplit('/').next().filter(|s| !s.is_empty());
        let given = match chain.len() {
            1 => self.opts.root_definition.take(),
            _ => None,
        };
        let (def, warnings) = match given {
            Some(def) => (def, Vec::new()),
            None => parse_definition(origin, &text, dir_name)?,
        };
        // One warning per source: a profile nested twice at the same version says
        // it once.
        for w in warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        let mut artifacts = Vec::new();
        for a in &def.artifacts {
            let kind = match self.resolve_artifact(place, origin, a, chain) {
                Ok(k) => k,
                // Lint: an artifact of the profile being linted that cannot be
                // resolved is reported and left out; the others are still checked.
                Err(e) if self.opts.lenient && chain.len() == 1 => {
                    self.skipped.push((a.name.clone(), e));
                    continue;
                }
                Err(e) => return Err(e),
            };
            artifacts.push(ResolvedArtifact {
                name: a.name.clone(),
                depends_on: a.depends_on.clone(),
                template: a.template,
                kind,
            });
        }
        Ok(Resolved {
            def,
            source: place.record.clone(),
            artifacts,
        })
    }

    /// The files or nested profile of one artifact.
    fn resolve_artifact(
        &mut self,
        place: &Place,
        origin: &str,
        a: &model::Artifact,
        chain: &mut Vec<Step>,
    ) -> Result<ResolvedKind> {
        let kind = match &a.kind {
            ArtifactKind::Chart {
                chart: Chart::Remote { url, name, version },
                default_values,
                release,
            } => ResolvedKind::RemoteChart {
                url: url.clone(),
                name: name.clone(),
                version: version.clone(),
                default_values: default_values.clone(),
                release: release.clone(),
            },
            ArtifactKind::Chart {
                chart: Chart::Local { path },
                default_values,
                release,
            } => {
                let dir = self.artifact_dir(place, origin, &a.name, path)?;
                let files = place.snapshot.files_below(&dir).map_err(|e| {
                    crate::error::restate(format!("{origin}: artifact {:?}: {e}", a.name), &e)
                })?;
                let Some(chart_yaml) = files.get("Chart.yaml") else {
                    bail!(user(
                        format!(
                            "{origin}: artifact {:?}: chart path {path:?} has no Chart.yaml",
                            a.name
                        ),
                        "a local chart is a Helm chart directory",
                    ));
                };
                let name = chart_name(chart_yaml).unwrap_or_else(|| a.name.clone());
                ResolvedKind::LocalChart {
                    name,
                    files,
                    default_values: default_values.clone(),
                    release: release.clone(),
                }
            }
            ArtifactKind::Kustomize { path } => {
                let resolved = place.snapshot.resolve(&place.dir, path).map_err(|e| {
                    user(
                        format!("{origin}: artifact {:?}: path {e}", a.name),
                        "keep paths inside the profile's repository",
                    )
                })?;
                let files = match place.snapshot.entry(&resolved)? {
                    Some(crate::git::Entry::Dir(_)) => {
                        place.snapshot.files_below(&resolved).map_err(|e| {
                            crate::error::restate(
                                format!("{origin}: artifact {:?}: {e}", a.name),
                                &e,
                            )
                        })?
                    }
                    Some(crate::git::Entry::File(b)) => {
                        let name = resolved
                            .rsplit('/')
                            .next()
                            .unwrap_or("resource.yaml")
                            .to_string();
                        BTreeMap::from([(name, b)])
                    }
                    _ => bail!(user(
                        format!(
                            "{origin}: artifact {:?}: path {path:?} does not exist",
                            a.name
                        ),
                        "paths are relative to the profile directory",
                    )),
                };
                if files.contains_key(crate::render::WRAPPER_FILE) {
                    bail!(user(
                        format!(
                            "{origin}: artifact {:?}: {path}/{} is a name pctl reserves",
                            a.name,
                            crate::render::WRAPPER_FILE
                        ),
                        "rename the file",
                    ));
                }
                ResolvedKind::Kustomize { files }
            }
            ArtifactKind::Profile { source, with } => {
                let child_place = self.nested_place(place, source).map_err(|e| {
                    let msg = format!("{origin}: artifact {:?}: {e}", a.name);
                    e.context(msg)
                })?;
                let child = self.resolve_place(child_place, chain)?;
                ResolvedKind::Profile {
                    profile: Box::new(child),
                    with: with.clone(),
                }
            }
        };
        Ok(kind)
    }

    fn artifact_dir(
        &self,
        place: &Place,
        origin: &str,
        artifact: &str,
        path: &str,
    ) -> Result<String> {
        let resolved = place.snapshot.resolve(&place.dir, path).map_err(|e| {
            user(
                format!("{origin}: artifact {artifact:?}: path {e}"),
                "keep paths inside the profile's repository",
            )
        })?;
        if !place.snapshot.is_dir(&resolved)? {
            bail!(user(
                format!("{origin}: artifact {artifact:?}: path {path:?} is not a directory"),
                "paths are relative to the profile directory",
            ));
        }
        Ok(resolved)
    }

    fn nested_place(&mut self, parent: &Place, source: &NestedSource) -> Result<Place> {
        let wanted = if let Some(t) = &source.tag {
            Wanted::Tag(t.clone())
        } else if let Some(b) = &source.branch {
            Wanted::Branch(b.clone())
        } else if let Some(v) = &source.version {
            Wanted::Constraint(v.clone())
        } else {
            Wanted::Default
        };
        let dir = crate::gitops::norm_dir(&source.path)?;
        match &source.url {
            Some(url) => {
                if crate::source::is_local_url(url)
                    && !crate::source::is_local_url(&parent.record.url)
                {
                    bail!(user(
                        format!(
                            "the profile {} from {} names a nested profile at {}, a path on this machine: a profile from a remote repository may not read this machine's files",
                            crate::source::escaped(if parent.dir.is_empty() {
                                "(root)"
                            } else {
                                &parent.dir
                            }),
                            crate::git::redact_url(&parent.record.url),
                            crate::source::escaped(url),
                        ),
                        "nested profiles of a remote profile come from https://, ssh:// or git:// URLs; to use a local mirror, map the URL with url.<base>.insteadOf in your Git configuration",
                    ));
                }
                let up = self.upstreams.open(url)?;
                self.git_place(up, &dir, wanted)
            }
            None => {
                if matches!(wanted, Wanted::Default) {
                    // The same repository at the same state as the parent.
                    let mut record = parent.record.clone();
                    record.path = dir.clone();
                    record.requested = None;
                    if let (Some(up), Some(c)) = (&parent.upstream, &parent.record.commit)
                        && !parent.record.dirty
                    {
                        let oid = Oid::from_str(c)?;
                        let v = version_at(up, &dir, oid)?;
                        record.version = v.as_ref().map(|c| c.version.to_string());
                        record.reference = v.map(|c| c.tag);
                    } else {
                        record.version = None;
                        record.reference = None;
                    }
                    return Ok(Place {
                        snapshot: parent.snapshot.clone(),
                        upstream: parent.upstream.clone(),
                        dir,
                        record,
                    });
                }
                let up = parent.upstream.clone().ok_or_else(|| {
                    user(
                        "a nested profile with a tag, branch or version needs its parent in a Git repository",
                        "commit the parent profile to a Git repository",
                    )
                })?;
                self.git_place(up, &dir, wanted)
            }
        }
    }
}

fn chart_name(chart_yaml: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(chart_yaml).ok()?;
    let v: crate::yaml::Value = crate::yaml::from_str("Chart.yaml", text).ok()?;
    v.get("name")?.as_str().map(str::to_string)
}

/// What a reference asks for.
#[derive(Debug, Clone)]
enum Wanted {
    Default,
    Tag(String),
    Branch(String),
    Constraint(String),
    /// From the command line: a tag, branch, constraint or commit.
    Any(String),
}

impl Wanted {
    fn requested(&self) -> Option<String> {
        match self {
            Wanted::Default => None,
            Wanted::Tag(s) | Wanted::Branch(s) | Wanted::Constraint(s) | Wanted::Any(s) => {
                Some(s.clone())
            }
        }
    }
}

struct Selection {
    commit: Oid,
    version: Option<String>,
    reference: Option<String>,
}

/// Version candidates of the profile in `dir`.
pub fn candidates(up: &Upstream, dir: &str) -> Result<Vec<(Candidate, Oid)>> {
    let mut out = Vec::new();
    for t in up.tags()? {
        if let Some(v) = version::parse_tag(&t.name, dir) {
            let channel = version::channel_of(&v, t.message.as_deref());
            out.push((
                Candidate {
                    tag: t.name.clone(),
                    version: v,
                    channel,
                },
                t.commit,
            ));
        }
    }
    out.sort_by(|a, b| {
        a.0.version
            .cmp(&b.0.version)
            .then_with(|| a.0.tag.cmp(&b.0.tag))
    });
    Ok(out)
}

/// The version tag of `dir` at `commit`, if one points there (highest wins).
fn version_at(up: &Upstream, dir: &str, commit: Oid) -> Result<Option<Candidate>> {
    Ok(candidates(up, dir)?
        .into_iter()
        .filter(|(_, c)| *c == commit)
        .map(|(c, _)| c)
        .next_back())
}

fn select(up: &Upstream, dir: &str, wanted: &Wanted, channel: Option<&str>) -> Result<Selection> {
    let cands = candidates(up, dir)?;
    let pick = |c: &version::Constraint| -> Option<Selection> {
        let list: Vec<Candidate> = cands.iter().map(|(c, _)| c.clone()).collect();
        let chosen = version::select(&list, c, channel)?;
        let commit = cands.iter().find(|(c, _)| c.tag == chosen.tag)?.1;
        Some(Selection {
            commit,
            version: Some(chosen.version.to_string()),
            reference: Some(chosen.tag.clone()),
        })
    };
    let from_tag = |name: &str| -> Option<Selection> {
        let t = up.tag(name)?;
        Some(Selection {
            commit: t.commit,
            version: version::parse_tag(name, dir).map(|v| v.to_string()),
            reference: Some(name.to_string()),
        })
    };
    let from_branch = |name: &str| -> Option<Selection> {
        Some(Selection {
            commit: up.branch(name)?,
            version: None,
            reference: Some(name.to_string()),
        })
    };
    let versions_hint = || {
        let list: Vec<String> = cands
            .iter()
            .rev()
            .take(10)
            .map(|(c, _)| c.tag.clone())
            .collect();
        if list.is_empty() {
            format!(
                "{} has no version tags for {}; name a branch or commit",
                up.url,
                if dir.is_empty() {
                    "the root profile"
                } else {
                    dir
                }
            )
        } else {
            format!("available versions: {}", list.join(", "))
        }
    };
    let found = match wanted {
        Wanted::Default => {
            if let Some(s) = pick(&version::Constraint::Latest) {
                Some(s)
            } else {
                let (branch, commit) = up.default_branch()?;
                Some(Selection {
                    commit,
                    version: None,
                    reference: Some(branch),
                })
            }
        }
        Wanted::Tag(t) => from_tag(t),
        Wanted::Branch(b) => from_branch(b),
        Wanted::Constraint(c) => {
            let parsed = version::parse_constraint(c).map_err(|e| {
                user(
                    format!("invalid version constraint {c:?}: {e}"),
                    "use 1.2.3, ^1.2, ~1.2, >=1.0, <2, 1.x or latest",
                )
            })?;
            pick(&parsed)
        }
        Wanted::Any(r) if r.starts_with("refs/tags/") => from_tag(&r["refs/tags/".len()..]),
        Wanted::Any(r) if r.starts_with("refs/heads/") => from_branch(&r["refs/heads/".len()..]),
        Wanted::Any(r) if r.starts_with("refs/") => up.reference(r).map(|commit| Selection {
            commit,
            version: version_at(up, dir, commit)
                .ok()
                .flatten()
                .map(|c| c.version.to_string()),
            reference: Some(r.clone()),
        }),
        Wanted::Any(r) => from_tag(r)
            .or_else(|| from_branch(r))
            .or_else(|| {
                if version::looks_like_constraint(r) {
                    version::parse_constraint(r).ok().and_then(|c| pick(&c))
                } else {
                    None
                }
            })
            .or_else(|| {
                up.commit(r).map(|commit| Selection {
                    commit,
                    version: version_at(up, dir, commit)
                        .ok()
                        .flatten()
                        .map(|c| c.version.to_string()),
                    reference: None,
                })
            }),
    };
    found.ok_or_else(|| {
        let r = wanted.requested().unwrap_or_default();
        user(
            format!("{}: nothing matches {r:?} for {} (no such tag, branch, commit or matching stable version)", up.url, if dir.is_empty() { "the root profile" } else { dir }),
            versions_hint(),
        )
    })
}

type ParsedDefinition = (model::ProfileDefinition, model::Warnings);
/// (origin, text, directory name) of a definition.
type DefinitionKey = (String, String, Option<String>);

thread_local! {
    /// Definitions already parsed in this process, by (origin, text, directory name):
    /// `upgrade --all` resolves the same version of a profile for every installation
    /// of it. Only definitions that parse are kept.
    static DEFINITIONS: std::cell::RefCell<foldhash::HashMap<DefinitionKey, ParsedDefinition>> =
        Default::default();
}

/// [`model::parse`], once per process for each definition text (and read from the
/// parse cache's memo when an earlier process kept it: [`remembered`]).
fn parse_definition(origin: &str, text: &str, dir_name: Option<&str>) -> Result<ParsedDefinition> {
    let key = (
        origin.to_string(),
        text.to_string(),
        dir_name.map(str::to_string),
    );
    if let Some(hit) = DEFINITIONS.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(hit);
    }
    let parsed = remembered::parse(origin, text, dir_name)?;
    DEFINITIONS.with(|c| c.borrow_mut().insert(key, parsed.clone()));
    Ok(parsed)
}
