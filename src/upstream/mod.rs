//! Upstream provenance: is what was published what is in the repository?
//!
//! Owns: finding the basis of a release (the commit `.cargo_vcs_info.json`
//! claims, a version tag, or — as an inference only — the nearest commit),
//! fetching each upstream repository at most once per run (through the
//! store, which alone uses gix), explaining every file of the release
//! against the basis, and the provenance signals. Submodules: `url` (URL
//! policy and normalisation), `claim` (the publisher's claims, tag names),
//! `explain` (per-file reasons and the verdict, pure).
//!
//! Results are derived only from what the store holds, so a rerun with no
//! upstream change gives byte-identical reports, and `--offline` reuses what
//! earlier runs fetched. docs/PROVENANCE.md describes the rules.

pub mod claim;
pub mod explain;
pub mod url;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::ObjectId;
use serde::Serialize;

use crate::compare::{Blobs, FileEntry, Limits};
use crate::output::shell_quote;
use crate::signals::{Evidence, Signal, signal};
use crate::store::Store;
use crate::store::upstream::{EntryKind, FetchSpec};

use claim::VcsClaim;
use explain::{Explanation, Inputs, Reason, UpEntry, UpKind, UpTree, Verdict};
use url::RepoUrl;

/// How the upstream stage runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Compare with upstream at all.
    pub enabled: bool,
    /// Use only what the store holds; fetch nothing.
    pub offline: bool,
    /// Time limit per repository fetch.
    pub timeout: Duration,
    /// Size limit per repository fetch.
    pub max_bytes: u64,
    /// Shallow fetches of this depth (`--upstream-depth`); `None`: whole
    /// history.
    pub depth: Option<std::num::NonZeroU32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enabled: true,
            offline: false,
            timeout: Duration::from_secs(300),
            max_bytes: 2 << 30,
            depth: None,
        }
    }
}

/// The most commits walked to decide reachability in one repository.
const MAX_WALK: usize = 2_000_000;
/// The most candidate commits scored when looking for the nearest commit.
const MAX_NEAREST_CANDIDATES: usize = 64;
/// The window before publication searched for the nearest commit.
const NEAREST_WINDOW_BEFORE: i64 = 14 * 86_400;
/// The window after publication (clock skew, tagging after publishing).
const NEAREST_WINDOW_AFTER: i64 = 86_400;
/// The least share of files with equal ids for a nearest commit to be named.
const NEAREST_MIN_SCORE: f64 = 0.5;
/// The most `Cargo.toml` files read to infer a package's directory.
const MAX_MANIFESTS_READ: usize = 500;

/// What this run did with one repository.
#[derive(Debug, Clone, Default)]
struct RepoState {
    /// Whether a fetch was attempted in this run.
    fetched: bool,
    /// The URL used (after `insteadOf`).
    effective_url: String,
    /// Why it could not be fetched.
    error: Option<String>,
    /// Claimed commits the remote would not serve.
    refused: BTreeMap<ObjectId, String>,
}

/// Ref name (after `refs/upstream/<key>/<kind>/`) → commit.
type PeeledRefs = BTreeMap<String, ObjectId>;

/// Reachability from branches and tags, computed once per repository.
struct Reach {
    from_branches_and_tags: HashSet<ObjectId>,
    capped: bool,
    /// History stops at shallow boundaries.
    shallow: bool,
}

/// The upstream stage of one run: a memo of fetches and walks.
pub struct Upstream<'a> {
    store: &'a Store,
    opts: Options,
    repos: Mutex<HashMap<String, RepoState>>,
    reach: Mutex<HashMap<String, Arc<Reach>>>,
    /// Package names of `Cargo.toml` blobs.
    dirs: Mutex<HashMap<ObjectId, Option<String>>>,
    /// Refs under `refs/upstream/<key>/<kind>/`, peeled, until the next
    /// fetch of that repository.
    refs: Mutex<HashMap<(String, &'static str), Arc<PeeledRefs>>>,
    /// Time spent fetching and comparing, and releases compared.
    stats: Mutex<Stats>,
}

/// What the stage cost in one run (logged at the end of a sync).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Repository fetches (including the extra ones for claimed commits).
    pub fetches: usize,
    /// Wall time spent fetching.
    pub fetch_time: Duration,
    /// Releases given a provenance section.
    pub releases: usize,
    /// Wall time spent on them (refs, reachability, trees, explanation).
    pub compare_time: Duration,
}

/// Everything about one release the stage needs.
pub struct Release<'a> {
    /// Crate name.
    pub name: &'a str,
    /// Version.
    pub version: &'a str,
    /// Publication time (index `pubtime`), if known.
    pub pubtime: Option<i64>,
    /// The release's files.
    pub files: &'a [FileEntry],
    /// `repository` from the normalised manifest, else from the original.
    pub repository: Option<String>,
    /// The previous release's repository URL as declared, if any.
    pub previous_repository: Option<Option<String>>,
    /// `.cargo_vcs_info.json`, when present.
    pub vcs_info: Option<Vec<u8>>,
    /// `Cargo.toml.orig`, when present.
    pub orig_manifest: Option<Vec<u8>>,
    /// The store ref of the release (for check commands).
    pub store_ref: String,
}

/// The repository a release declares.
#[derive(Debug, Clone, Serialize)]
pub struct RepositoryFacts {
    /// As declared (untrusted).
    pub declared: Option<String>,
    /// Normalised, when accepted.
    pub canonical: Option<String>,
    /// Why it is not fetched, when refused.
    pub refused: Option<String>,
    /// The URL fetched from after the local git configuration's
    /// `insteadOf` rules, when that differs and a fetch ran in this run.
    pub fetched_from: Option<String>,
    /// `fetched`, `offline` (the store's copy was used), `unreachable`,
    /// `refused`, `none` (no repository declared).
    pub status: String,
    /// Why the repository could not be fetched.
    pub error: Option<String>,
    /// The previous release's declared repository, when it differs.
    pub changed_from: Option<String>,
    /// Whether the store holds the whole history of the branches and tags
    /// (`false` after a shallow fetch, `--upstream-depth`); absent when
    /// nothing was fetched.
    pub history_complete: Option<bool>,
}

/// What became of the claimed commit.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimFacts {
    /// The parsed claim.
    #[serde(flatten)]
    pub claim: VcsClaim,
    /// `reachable` (from a branch or tag), `unreachable` (in the
    /// repository but only from other refs), `missing` (the remote did not
    /// serve it), `unknown` (not fetched).
    pub commit_status: Option<String>,
    /// A branch or tag whose tip it is, or the other ref that brings it.
    pub via: Option<String>,
    /// What the remote said when asked for it by id.
    pub remote_answer: Option<String>,
}

/// A matched tag.
#[derive(Debug, Clone, Serialize)]
pub struct TagFacts {
    /// Tag name (untrusted).
    pub name: String,
    /// The commit it points at.
    pub commit: String,
    /// Whether it is the claimed commit (absent without a claim).
    pub agrees_with_vcs_info: Option<bool>,
}

/// What the release was compared with.
#[derive(Debug, Clone, Serialize)]
pub struct BasisFacts {
    /// The commit.
    pub commit: String,
    /// `vcs-info` or `tag`.
    pub source: String,
    /// The package's directory in the repository (`""` = root).
    pub dir: String,
    /// `path_in_vcs`, `inferred` (the directory whose `Cargo.toml` names
    /// this package) or `root`.
    pub dir_source: String,
}

/// An inference: the commit whose tree explains the most files by id.
#[derive(Debug, Clone, Serialize)]
pub struct NearestCommit {
    /// Always `inference`.
    pub kind: &'static str,
    /// The commit.
    pub commit: String,
    /// Share of the release's files found with the same id (0..1, three
    /// decimals).
    pub score: f64,
    /// Commits scored.
    pub candidates: usize,
}

/// A check command with what it shows.
#[derive(Debug, Clone, Serialize)]
pub struct CheckCommand {
    /// What it checks.
    pub what: String,
    /// The command.
    pub command: String,
}

/// The provenance section of a release report.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceSection {
    /// `exact`, `equivalent`, `mismatch` or `no-basis`.
    pub verdict: &'static str,
    /// Why there is no basis, when there is none (trusted text: the
    /// details, which may quote untrusted text, are in `repository`).
    pub no_basis_reason: Option<String>,
    /// The repository.
    pub repository: RepositoryFacts,
    /// `.cargo_vcs_info.json`, when the release has one.
    pub vcs_info: Option<ClaimFacts>,
    /// The version tag found, if any.
    pub tag: Option<TagFacts>,
    /// Tag names looked for.
    pub tags_tried: usize,
    /// The basis compared with.
    pub basis: Option<BasisFacts>,
    /// Without a basis: the nearest commit, as an inference.
    pub nearest: Option<NearestCommit>,
    /// Every file explained against the basis (absent without one).
    pub comparison: Option<Explanation>,
    /// With trusted publishing: the commit the registry attests the CI run
    /// built, the claimed commit and the tag's commit, compared.
    pub commit_claims: Option<crate::owners::CommitCheck>,
    /// Commands that re-check these facts.
    pub checks: Vec<CheckCommand>,
}

/// Compare the trusted-publishing commit (attested by the registry) with the
/// claimed commit and the tag's, record it in the section, and raise
/// `trusted-publishing-commit-mismatch` when two of them differ.
pub fn check_trusted_commit(section: &mut ProvenanceSection, trusted_sha: Option<&str>) -> Option<Signal> {
    let trusted = trusted_sha?;
    let vcs = section.vcs_info.as_ref().and_then(|v| v.claim.sha1.as_deref());
    let tag = section.tag.as_ref().map(|t| t.commit.as_str());
    let check = crate::owners::compare_commits(Some(trusted), vcs, tag);
    let disagree = check.agree == Some(false);
    let evidence = check
        .claims
        .iter()
        .map(|(k, v)| Evidence {
            fact: k,
            value: v.clone(),
        })
        .collect();
    section.commit_claims = Some(check);
    disagree.then(|| {
        signal(
            "trusted-publishing-commit-mismatch",
            "the commit the registry attests the CI run built differs from the commit .cargo_vcs_info.json claims or the version tag names".to_owned(),
            evidence,
        )
    })
}

fn orig_package_str(orig: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(orig).ok()?;
    let table: toml::Table = toml::from_str(text).ok()?;
    let package = table.get("package").or_else(|| table.get("project"))?;
    package.get(key)?.as_str().map(str::to_owned)
}

/// The repository URL from a release's manifests: the normalised one, else
/// the original's.
pub fn declared_repository(normalised: Option<&str>, orig: Option<&[u8]>) -> Option<String> {
    normalised
        .map(str::to_owned)
        .or_else(|| orig.and_then(|o| orig_package_str(o, "repository")))
}

impl<'a> Upstream<'a> {
    /// The stage for one run.
    pub fn new(store: &'a Store, opts: Options) -> Self {
        Upstream {
            store,
            opts,
            repos: Mutex::default(),
            reach: Mutex::default(),
            dirs: Mutex::default(),
            refs: Mutex::default(),
            stats: Mutex::default(),
        }
    }

    /// What the stage cost so far.
    pub fn stats(&self) -> Stats {
        *self.stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether this run fetches (the stage is on and not `--offline`).
    pub fn fetches(&self) -> bool {
        self.opts.enabled && !self.opts.offline
    }

    /// Whether the stage runs at all.
    pub fn enabled(&self) -> bool {
        self.opts.enabled
    }

    /// Fetch (once per run) the repositories of releases about to be
    /// reported, with the commits they claim. `wants` pairs a declared
    /// repository with a claimed commit.
    pub fn prepare(&self, wants: &[(String, Option<String>)]) {
        if !self.opts.enabled || self.opts.offline {
            return;
        }
        let mut by_repo: BTreeMap<RepoUrl, Vec<ObjectId>> = BTreeMap::new();
        for (declared, sha) in wants {
            let Ok(u) = url::normalise(declared) else { continue };
            let ids = by_repo.entry(u).or_default();
            if let Some(id) = sha.as_deref().and_then(|s| ObjectId::from_hex(s.as_bytes()).ok())
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        for (u, want) in by_repo {
            let done = self.lock_repos().get(&u.key).cloned();
            let want: Vec<ObjectId> = match &done {
                // Already fetched this run: only commits not yet asked for.
                Some(st) if st.error.is_some() => continue,
                Some(st) => want
                    .into_iter()
                    .filter(|w| !self.store.has_object(*w) && !st.refused.contains_key(w))
                    .collect(),
                None => want,
            };
            if done.is_some() && want.is_empty() {
                continue;
            }
            let spec = FetchSpec {
                url: u.canonical.clone(),
                key: u.key.clone(),
                want,
                timeout: self.opts.timeout,
                max_bytes: self.opts.max_bytes,
                depth: self.opts.depth,
            };
            tracing::info!(url = %u.canonical, "fetching upstream");
            let started = std::time::Instant::now();
            let f = self.store.fetch_upstream(&spec);
            {
                let mut st = self.stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                st.fetches += 1;
                st.fetch_time += started.elapsed();
            }
            if let Some(e) = &f.error {
                tracing::warn!(url = %u.canonical, error = %e, "upstream unreachable");
            }
            let mut repos = self.lock_repos();
            let st = repos.entry(u.key.clone()).or_default();
            st.fetched = true;
            st.effective_url = f.effective_url;
            if st.error.is_none() {
                st.error = f.error;
            }
            st.refused.extend(f.refused);
            self.reach
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&u.key);
        }
    }

    fn lock_repos(&self) -> std::sync::MutexGuard<'_, HashMap<String, RepoState>> {
        self.repos.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The peeled refs of one kind (`heads`, `tags`, `other`), memoised.
    fn refs(&self, key: &str, kind: &'static str) -> Arc<PeeledRefs> {
        let memo_key = (key.to_owned(), kind);
        if let Some(r) = self
            .refs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&memo_key)
        {
            return Arc::clone(r);
        }
        let r = Arc::new(self.store.upstream_refs(key, kind).unwrap_or_default());
        self.refs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(memo_key, Arc::clone(&r));
        r
    }

    fn reach(&self, key: &str) -> Arc<Reach> {
        let mut memo = self.reach.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(r) = memo.get(key) {
            return Arc::clone(r);
        }
        let mut tips: Vec<ObjectId> = Vec::new();
        for kind in ["heads", "tags"] {
            tips.extend(self.refs(key, kind).values().copied());
        }
        let (set, capped, shallow) = self.store.reachable(tips, MAX_WALK);
        let r = Arc::new(Reach {
            from_branches_and_tags: set,
            capped,
            shallow,
        });
        memo.insert(key.to_owned(), Arc::clone(&r));
        r
    }

    fn tree_of(&self, commit: ObjectId) -> Option<UpTree> {
        let (_, tree) = self.store.commit_time_tree(commit)?;
        let entries = self.store.upstream_tree(tree).ok()?;
        Some(
            entries
                .into_iter()
                .map(|(p, (k, id))| {
                    let kind = match k {
                        EntryKind::File => UpKind::File,
                        EntryKind::Executable => UpKind::Executable,
                        EntryKind::Symlink => UpKind::Symlink,
                        EntryKind::Submodule => UpKind::Submodule,
                    };
                    (
                        p,
                        UpEntry {
                            kind,
                            id: id.to_hex().to_string(),
                        },
                    )
                })
                .collect(),
        )
    }

    /// The directory whose `Cargo.toml` is this release's original
    /// manifest (same blob); else, among the directories whose `Cargo.toml`
    /// names this package, the one explaining most files by id (then the
    /// shortest path). Package names are read once per `Cargo.toml` blob.
    fn infer_dir(&self, tree: &UpTree, name: &str, files: &[FileEntry], orig_id: Option<&str>) -> Option<String> {
        let manifests: Vec<(&Vec<u8>, &UpEntry)> = tree
            .iter()
            .filter(|(p, e)| e.kind == UpKind::File && (p.as_slice() == b"Cargo.toml" || p.ends_with(b"/Cargo.toml")))
            .collect();
        let dir_of = |p: &[u8]| {
            let p = String::from_utf8_lossy(p);
            p.strip_suffix("Cargo.toml")
                .map(|d| d.trim_end_matches('/').to_owned())
                .unwrap_or_default()
        };
        if let Some(o) = orig_id
            && let Some((p, _)) = manifests.iter().find(|(_, e)| e.id == o)
        {
            return Some(dir_of(p));
        }
        let mut candidates = Vec::new();
        for (p, e) in manifests.iter().take(MAX_MANIFESTS_READ) {
            let Ok(id) = ObjectId::from_hex(e.id.as_bytes()) else {
                continue;
            };
            let cached = self
                .dirs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&id)
                .cloned();
            let package = match cached {
                Some(n) => n,
                None => {
                    let n = self.store.blob(id).ok().and_then(|b| orig_package_str(&b, "name"));
                    self.dirs
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(id, n.clone());
                    n
                }
            };
            if package.as_deref() == Some(name) {
                let d = dir_of(p);
                let score = explain::similarity(files, tree, &d);
                candidates.push((score, d));
            }
        }
        candidates
            .into_iter()
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.len().cmp(&a.1.len())).then(b.1.cmp(&a.1)))
            .map(|(_, d)| d)
    }

    /// The provenance section and signals of one release.
    pub fn provenance(&self, r: &Release<'_>, blobs: &dyn Blobs, limits: &Limits) -> (ProvenanceSection, Vec<Signal>) {
        let started = std::time::Instant::now();
        let out = self.provenance_inner(r, blobs, limits);
        let mut st = self.stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        st.releases += 1;
        st.compare_time += started.elapsed();
        out
    }

    fn provenance_inner(
        &self,
        r: &Release<'_>,
        blobs: &dyn Blobs,
        limits: &Limits,
    ) -> (ProvenanceSection, Vec<Signal>) {
        let mut sigs = Vec::new();
        let mut checks = Vec::new();
        let canonical = r.repository.as_deref().map(url::normalise);
        let mut repo = RepositoryFacts {
            declared: r.repository.clone(),
            canonical: None,
            refused: None,
            fetched_from: None,
            status: "none".to_owned(),
            error: None,
            changed_from: None,
            history_complete: None,
        };
        if let Some(Some(prev)) = &r.previous_repository {
            let prev_canon = url::normalise(prev)
                .map(|u| u.canonical)
                .unwrap_or_else(|_| prev.clone());
            let now_canon = match &canonical {
                Some(Ok(u)) => Some(u.canonical.clone()),
                Some(Err(_)) => r.repository.clone(),
                None => None,
            };
            if now_canon.as_deref() != Some(prev_canon.as_str()) {
                repo.changed_from = Some(prev.clone());
                sigs.push(signal(
                    "repository-changed",
                    "the repository URL differs from the previous release's; reviews of the old repository do not cover the new one".to_owned(),
                    vec![
                        Evidence { fact: "previous-repository", value: prev.clone() },
                        Evidence {
                            fact: "repository",
                            value: r.repository.clone().unwrap_or_else(|| "(none)".to_owned()),
                        },
                    ],
                ));
            }
        }
        let claim = r.vcs_info.as_deref().map(claim::parse_vcs_info);
        if let Some(c) = &claim
            && c.dirty
        {
            sigs.push(signal(
                "dirty-publish",
                "cargo recorded uncommitted changes in the working tree when this release was packaged; no commit holds exactly these files".to_owned(),
                vec![Evidence { fact: "vcs-info", value: "git.dirty = true".to_owned() }],
            ));
        }
        let mut claim_facts = claim.clone().map(|c| ClaimFacts {
            claim: c,
            commit_status: None,
            via: None,
            remote_answer: None,
        });
        let mut section = ProvenanceSection {
            verdict: Verdict::NoBasis.code(),
            no_basis_reason: None,
            repository: repo.clone(),
            vcs_info: None,
            tag: None,
            tags_tried: 0,
            basis: None,
            nearest: None,
            comparison: None,
            commit_claims: None,
            checks: Vec::new(),
        };
        let u = match canonical {
            None => {
                section.no_basis_reason = Some("the manifest names no repository".to_owned());
                section.vcs_info = claim_facts;
                return (section, sigs);
            }
            Some(Err(e)) => {
                repo.status = "refused".to_owned();
                repo.refused = Some(e.to_string());
                section.repository = repo;
                section.no_basis_reason = Some("the repository URL is not one cargofox fetches".to_owned());
                section.vcs_info = claim_facts;
                return (section, sigs);
            }
            Some(Ok(u)) => u,
        };
        repo.canonical = Some(u.canonical.clone());
        let state = self.lock_repos().get(&u.key).cloned();
        match &state {
            Some(st) if st.fetched => {
                repo.status = if st.error.is_some() { "unreachable" } else { "fetched" }.to_owned();
                repo.error = st.error.clone();
                if st.effective_url != u.canonical {
                    repo.fetched_from = Some(st.effective_url.clone());
                }
            }
            _ => repo.status = "offline".to_owned(),
        }
        let have_refs = !self.refs(&u.key, "heads").is_empty() || !self.refs(&u.key, "tags").is_empty();
        let clone_dir = "upstream.git";
        checks.push(CheckCommand {
            what: "fetch the repository yourself (bare, no checkout)".to_owned(),
            command: format!("git clone --bare {} {clone_dir}", shell_quote(&u.canonical)),
        });

        // The claimed commit.
        let reach = have_refs.then(|| self.reach(&u.key));
        repo.history_complete = reach.as_ref().map(|r| !r.shallow);
        let mut claimed_commit = None;
        if let Some(cf) = claim_facts.as_mut()
            && let Some(sha) = cf.claim.sha1.clone()
            && let Ok(id) = ObjectId::from_hex(sha.as_bytes())
        {
            let present = self.store.peel_to_commit(id).is_some();
            let refused = state.as_ref().and_then(|s| s.refused.get(&id).cloned());
            let status = if present {
                claimed_commit = Some(id);
                let reachable = reach.as_ref().is_some_and(|r| r.from_branches_and_tags.contains(&id));
                if reachable {
                    cf.via = self.tip_naming(&u.key, id);
                    "reachable"
                } else if reach.as_ref().is_some_and(|r| r.capped || r.shallow) {
                    cf.via = Some("history not complete in the store (shallow fetch or walk limit)".to_owned());
                    "unknown"
                } else {
                    let other = self.refs(&u.key, "other");
                    cf.via = other.iter().find(|(_, c)| **c == id).map(|(n, _)| format!("refs/{n}"));
                    if cf.via.is_none() {
                        cf.via = Some("fetched by id".to_owned());
                    }
                    "unreachable"
                }
            } else if refused.is_some() || (state.as_ref().is_some_and(|s| s.fetched && s.error.is_none())) {
                cf.remote_answer = refused;
                "missing"
            } else {
                "unknown"
            };
            cf.commit_status = Some(status.to_owned());
            checks.push(CheckCommand {
                what: "the claimed commit exists, and which branches and tags contain it".to_owned(),
                command: format!(
                    "git -C {clone_dir} cat-file -t {sha}\ngit -C {clone_dir} branch --contains {sha}; git -C {clone_dir} tag --contains {sha}"
                ),
            });
            match status {
                "missing" => sigs.push(signal(
                    "vcs-commit-missing",
                    "the commit .cargo_vcs_info.json names is not in the repository: nothing anyone can review matches the claim".to_owned(),
                    vec![Evidence { fact: "vcs-commit", value: sha.clone() }],
                )),
                "unreachable" => sigs.push(signal(
                    "vcs-commit-unreachable",
                    "the claimed commit is on no branch or tag, so it was not part of the history maintainers review".to_owned(),
                    vec![
                        Evidence { fact: "vcs-commit", value: sha.clone() },
                        Evidence { fact: "only-from", value: cf.via.clone().unwrap_or_default() },
                    ],
                )),
                _ => {}
            }
        }

        // Tags.
        let tags = self.refs(&u.key, "tags");
        let candidates = claim::tag_candidates(r.name, r.version);
        section.tags_tried = candidates.len();
        let tag = candidates.iter().find_map(|t| tags.get(t).map(|c| (t.clone(), *c)));
        if let Some((t, c)) = &tag {
            let agrees = claim_facts
                .as_ref()
                .and_then(|cf| cf.claim.sha1.clone())
                .map(|s| c.to_hex() == s);
            if agrees == Some(false) {
                sigs.push(signal(
                    "tag-disagrees-with-vcs",
                    "the version tag points at a different commit than .cargo_vcs_info.json claims; the release was not built from the tagged source".to_owned(),
                    vec![
                        Evidence { fact: "tag", value: t.clone() },
                        Evidence { fact: "tag-commit", value: c.to_hex().to_string() },
                        Evidence {
                            fact: "vcs-commit",
                            value: claim_facts.as_ref().and_then(|cf| cf.claim.sha1.clone()).unwrap_or_default(),
                        },
                    ],
                ));
            }
            section.tag = Some(TagFacts {
                name: t.clone(),
                commit: c.to_hex().to_string(),
                agrees_with_vcs_info: agrees,
            });
            checks.push(CheckCommand {
                what: "the tag's commit".to_owned(),
                command: format!(
                    "git -C {clone_dir} rev-parse {}",
                    shell_quote(&format!("refs/tags/{t}^{{commit}}"))
                ),
            });
        }

        // The basis.
        let basis = claimed_commit
            .map(|c| (c, "vcs-info"))
            .or_else(|| tag.as_ref().map(|(_, c)| (*c, "tag")));
        let orig_id = r
            .files
            .iter()
            .find(|f| f.path == b"Cargo.toml.orig")
            .map(|f| f.id.as_str());
        match basis {
            Some((commit, source)) => {
                if let Some(tree) = self.tree_of(commit) {
                    let (dir, dir_source) = match claim.as_ref().and_then(|c| c.safe_path.clone()) {
                        Some(p) => (p, "path_in_vcs"),
                        None => match self.infer_dir(&tree, r.name, r.files, orig_id) {
                            Some(d) => (d, "inferred"),
                            None => (String::new(), "root"),
                        },
                    };
                    let declared: Vec<String> = ["readme", "license-file"]
                        .iter()
                        .filter_map(|k| r.orig_manifest.as_deref().and_then(|o| orig_package_str(o, k)))
                        .collect();
                    let inputs = Inputs {
                        dir: &dir,
                        declared,
                        has_orig: orig_id.is_some(),
                    };
                    let ex = explain::explain(r.files, &tree, &inputs, blobs, limits);
                    section.verdict = ex.verdict.code();
                    file_signals(&ex, &mut sigs);
                    let hex = commit.to_hex().to_string();
                    let spec = if dir.is_empty() {
                        format!("{hex}^{{tree}}")
                    } else {
                        format!("{hex}:{dir}")
                    };
                    checks.push(CheckCommand {
                        what: "the differences between the basis and the release, from the store (which holds both)"
                            .to_owned(),
                        command: format!(
                            "git --git-dir cargofox-data/store.git diff --stat {} {}",
                            shell_quote(&spec),
                            shell_quote(&r.store_ref)
                        ),
                    });
                    section.basis = Some(BasisFacts {
                        commit: hex,
                        source: source.to_owned(),
                        dir,
                        dir_source: dir_source.to_owned(),
                    });
                    section.comparison = Some(ex);
                } else {
                    section.no_basis_reason = Some("the basis commit's tree is not in the store".to_owned());
                }
            }
            None => {
                section.no_basis_reason = Some(match (&claim_facts, repo.status.as_str(), have_refs) {
                    // The reason (which may quote the URL) is in
                    // `repository.error`; this text stays trusted.
                    (_, "unreachable", false) => "upstream unreachable".to_owned(),
                    (_, "offline", false) => "the repository has not been fetched (offline)".to_owned(),
                    (Some(cf), _, _) if cf.claim.sha1.is_some() => {
                        "the claimed commit is not in the repository and no version tag was found".to_owned()
                    }
                    _ => "no .cargo_vcs_info.json commit and no version tag".to_owned(),
                });
                if have_refs && let Some(p) = r.pubtime {
                    section.nearest = self.nearest(r, p, orig_id, reach.as_deref());
                }
            }
        }
        section.repository = repo;
        section.vcs_info = claim_facts;
        section.checks = checks;
        (section, sigs)
    }

    /// A branch or tag whose tip is `id`.
    fn tip_naming(&self, key: &str, id: ObjectId) -> Option<String> {
        for kind in ["tags", "heads"] {
            if let Some((n, _)) = self.refs(key, kind).iter().find(|(_, c)| **c == id) {
                return Some(format!("refs/{kind}/{n}"));
            }
        }
        None
    }

    fn nearest(
        &self,
        r: &Release<'_>,
        pubtime: i64,
        orig_id: Option<&str>,
        reach: Option<&Reach>,
    ) -> Option<NearestCommit> {
        let reach = reach?;
        let mut candidates: Vec<(i64, ObjectId, ObjectId)> = reach
            .from_branches_and_tags
            .iter()
            .filter_map(|c| self.store.commit_time_tree(*c).map(|(t, tree)| (t, *c, tree)))
            .filter(|(t, _, _)| *t >= pubtime - NEAREST_WINDOW_BEFORE && *t <= pubtime + NEAREST_WINDOW_AFTER)
            .collect();
        // Latest first; ties by id, so the choice is deterministic.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        candidates.truncate(MAX_NEAREST_CANDIDATES);
        let mut best: Option<(f64, ObjectId)> = None;
        for (_, c, _) in &candidates {
            let Some(tree) = self.tree_of(*c) else { continue };
            let dir = self.infer_dir(&tree, r.name, r.files, orig_id).unwrap_or_default();
            let s = explain::similarity(r.files, &tree, &dir);
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, *c));
            }
        }
        let (score, commit) = best.filter(|(s, _)| *s >= NEAREST_MIN_SCORE)?;
        Some(NearestCommit {
            kind: "inference",
            commit: commit.to_hex().to_string(),
            score: (score * 1000.0).round() / 1000.0,
            candidates: candidates.len(),
        })
    }
}

fn file_signals(ex: &Explanation, sigs: &mut Vec<Signal>) {
    let ev = |f: &explain::FileReason| Evidence {
        fact: "file",
        value: f.path.clone(),
    };
    let binaries: Vec<Evidence> = ex
        .files
        .iter()
        .filter(|f| f.reason == Reason::NotInUpstream && f.binary)
        .map(ev)
        .collect();
    let phantoms: Vec<Evidence> = ex
        .files
        .iter()
        .filter(|f| f.reason == Reason::NotInUpstream && !f.binary)
        .map(ev)
        .collect();
    let differs: Vec<Evidence> = ex
        .files
        .iter()
        .filter(|f| f.reason == Reason::Differs)
        .map(ev)
        .collect();
    if !binaries.is_empty() {
        sigs.push(signal(
            "binary-not-in-upstream",
            format!(
                "{} binary file(s) in the release are in no upstream commit compared; a binary cannot be reviewed as source",
                binaries.len()
            ),
            binaries,
        ));
    }
    if !phantoms.is_empty() {
        sigs.push(signal(
            "file-not-in-upstream",
            format!(
                "{} file(s) in the release are not in the upstream commit; code only in the tarball is code nobody reviewed in the repository",
                phantoms.len()
            ),
            phantoms,
        ));
    }
    if !differs.is_empty() {
        sigs.push(signal(
            "file-differs-from-upstream",
            format!(
                "{} file(s) differ from the upstream commit they claim to come from",
                differs.len()
            ),
            differs,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(sha1: Option<&str>, tag: Option<&str>) -> ProvenanceSection {
        ProvenanceSection {
            verdict: "exact",
            no_basis_reason: None,
            repository: RepositoryFacts {
                declared: None,
                canonical: None,
                refused: None,
                fetched_from: None,
                status: "fetched".to_owned(),
                error: None,
                changed_from: None,
                history_complete: None,
            },
            vcs_info: sha1.map(|s| ClaimFacts {
                claim: VcsClaim {
                    sha1: Some(s.to_owned()),
                    ..VcsClaim::default()
                },
                commit_status: Some("reachable".to_owned()),
                via: None,
                remote_answer: None,
            }),
            tag: tag.map(|t| TagFacts {
                name: "v1.0.0".to_owned(),
                commit: t.to_owned(),
                agrees_with_vcs_info: None,
            }),
            tags_tried: 1,
            basis: None,
            nearest: None,
            comparison: None,
            commit_claims: None,
            checks: Vec::new(),
        }
    }

    #[test]
    fn trusted_publishing_commit_is_compared_with_the_claim_and_the_tag() {
        let a = "0123456789abcdef0123456789abcdef01234567";
        let b = "89abcdef0123456789abcdef0123456789abcdef";
        let mut s = section(Some(a), Some(a));
        assert_eq!(check_trusted_commit(&mut s, Some(a)), None);
        assert_eq!(s.commit_claims.as_ref().and_then(|c| c.agree), Some(true));
        let mut s = section(Some(a), Some(a));
        let sig = check_trusted_commit(&mut s, Some(b)).expect("a signal");
        assert_eq!(sig.code, "trusted-publishing-commit-mismatch");
        assert_eq!(sig.evidence.len(), 3);
        let mut s = section(None, None);
        assert_eq!(check_trusted_commit(&mut s, Some(b)), None);
        assert_eq!(s.commit_claims.as_ref().and_then(|c| c.agree), None);
        let mut s = section(Some(a), None);
        assert_eq!(check_trusted_commit(&mut s, None), None);
        assert!(s.commit_claims.is_none(), "nothing recorded without trusted publishing");
    }
}
