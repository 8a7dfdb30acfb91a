//! Upstream repositories in the store: fetching them with gix under
//! `refs/upstream/<key>/` (never checked out, never with submodules), and
//! reading what was fetched (refs peeled to commits, trees with their
//! symlinks, reachability). Policy on which URLs may be fetched lives in
//! `crate::upstream::url`; this module applies the user's git configuration
//! (`url.<base>.insteadOf`) and the run's limits.
//!
//! Ref layout under `refs/upstream/<key>/`: `heads/*` and `tags/*` mirror the
//! remote's branches and tags (refs are never pruned: a tag once seen stays
//! as evidence); `other/<ref>` holds a non-branch ref (a pull-request head)
//! fetched because it points at a claimed commit; `claimed/<id>` holds a
//! claimed commit fetched by id.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::{Store, StoreError};

/// What to fetch and within which limits.
#[derive(Debug, Clone)]
pub struct FetchSpec {
    /// The canonical URL (already checked by the URL policy).
    pub url: String,
    /// The ref key (`refs/upstream/<key>/`).
    pub key: String,
    /// Commits claimed by releases; fetched by id when no branch or tag
    /// brings them.
    pub want: Vec<ObjectId>,
    /// Wall-clock limit for the whole fetch.
    pub timeout: Duration,
    /// Limit on the bytes of packs received.
    pub max_bytes: u64,
    /// Fetch only this many commits of history per branch and tag (and one
    /// for a claimed commit fetched by id); `None`: the whole history.
    pub depth: Option<std::num::NonZeroU32>,
}

/// What a fetch did.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The URL actually used, after the user's `insteadOf` rules.
    pub effective_url: String,
    /// Why the repository could not be fetched, if so.
    pub error: Option<String>,
    /// Bytes of packs received.
    pub received_bytes: u64,
    /// Claimed commits that were fetched through a non-branch ref or by id.
    pub extra: Vec<(ObjectId, String)>,
    /// Claimed commits the remote did not serve, with its answer.
    pub refused: Vec<(ObjectId, String)>,
    /// Whether the store's history is shallow after the fetch (checked on
    /// disk: git's `shallow` file lists boundary commits), and how many
    /// boundary commits it lists.
    pub shallow_boundaries: usize,
}

/// Kind of an entry in an upstream tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file.
    File,
    /// Executable file.
    Executable,
    /// Symbolic link.
    Symlink,
    /// Submodule (a commit id, never followed).
    Submodule,
}

/// What is recorded when a remote will not serve a claimed commit.
const NOT_SERVED: &str = "not served when asked for it by id";

/// The most extra fetches (by ref or by id) made for claimed commits of one
/// repository in one run.
const MAX_EXTRA_FETCHES: usize = 16;

/// Schemes an (already rewritten) URL may use. `file` only arrives here
/// through the user's own `insteadOf` rules: crate URLs with it are refused
/// before.
const ALLOWED_SCHEMES: &[&str] = &["https", "http", "git", "file"];

impl Store {
    /// Fetch branches and tags of an upstream repository, and the claimed
    /// commits they do not bring. Never fails: trouble is in
    /// [`Fetched::error`]. Runs in its own thread and is abandoned (and told
    /// to stop) at the time limit.
    pub fn fetch_upstream(&self, spec: &FetchSpec) -> Fetched {
        let pack_dir = self.git_dir.join("objects").join("pack");
        let packs = std::fs::read_dir(&pack_dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".idx"))
                    .count()
            })
            .unwrap_or(0);
        if packs >= super::MAX_PACKS_FOR_FETCH {
            return Fetched {
                effective_url: spec.url.clone(),
                error: Some(format!(
                    "not fetched: the store holds {packs} packs (run `git repack --geometric=2 -d` on it)"
                )),
                ..Fetched::default()
            };
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let repo = self.repo.clone();
        let interrupt = Arc::new(AtomicBool::new(false));
        let watchdog = Watchdog::start(&pack_dir, spec.max_bytes, spec.timeout, Arc::clone(&interrupt));
        let spec2 = spec.clone();
        let flag = Arc::clone(&interrupt);
        let spawned = std::thread::Builder::new()
            .name("upstream-fetch".to_owned())
            .spawn(move || {
                let _ = tx.send(fetch_all(&repo, &spec2, &flag));
            });
        let mut out = match spawned {
            Err(e) => Fetched {
                error: Some(format!("could not start the fetch: {e}")),
                ..Fetched::default()
            },
            Ok(_) => match rx.recv_timeout(spec.timeout + Duration::from_secs(5)) {
                Ok(f) => f,
                Err(_) => {
                    interrupt.store(true, Ordering::Relaxed);
                    Fetched {
                        effective_url: spec.url.clone(),
                        error: Some(format!("timed out after {} s", spec.timeout.as_secs())),
                        ..Fetched::default()
                    }
                }
            },
        };
        let (bytes, why) = watchdog.stop();
        out.received_bytes = bytes;
        out.shallow_boundaries = self.shallow_boundaries();
        if let Some(why) = why {
            out.error = Some(why);
        }
        out
    }

    /// Refs under `refs/upstream/<key>/<kind>/`, peeled to commits (tags
    /// that name no commit are left out).
    pub fn upstream_refs(&self, key: &str, kind: &str) -> Result<BTreeMap<String, ObjectId>, StoreError> {
        let raw = self.refs_under(&format!("refs/upstream/{key}/{kind}/"))?;
        let mut out = BTreeMap::new();
        for (name, id) in raw {
            if let Some(c) = self.peel_to_commit(id) {
                out.insert(name, c);
            }
        }
        Ok(out)
    }

    /// Follow tag objects to a commit.
    pub fn peel_to_commit(&self, id: ObjectId) -> Option<ObjectId> {
        let repo = self.local();
        let mut id = id;
        for _ in 0..16 {
            let obj = repo.find_object(id).ok()?;
            match obj.kind {
                gix::object::Kind::Commit => return Some(id),
                gix::object::Kind::Tag => id = obj.into_tag().target_id().ok()?.detach(),
                _ => return None,
            }
        }
        None
    }

    /// The number of boundary commits in git's `shallow` file (0: the
    /// store's history is complete).
    pub fn shallow_boundaries(&self) -> usize {
        std::fs::read_to_string(self.git_dir.join("shallow"))
            .map(|s| s.lines().filter(|l| l.len() == 40).count())
            .unwrap_or(0)
    }

    /// Whether the store holds an object.
    pub fn has_object(&self, id: ObjectId) -> bool {
        self.local().has_object(id)
    }

    /// Commit time (seconds) and tree of a commit, when present.
    pub fn commit_time_tree(&self, id: ObjectId) -> Option<(i64, ObjectId)> {
        let repo = self.local();
        let c = repo.find_commit(id).ok()?;
        let time = c.time().ok()?.seconds;
        Some((time, c.tree_id().ok()?.detach()))
    }

    /// Every commit reachable from `tips` that the store holds, at most
    /// `cap` of them. The flags: whether the cap was hit, and whether the
    /// history is incomplete (a commit or parent is missing: a shallow
    /// boundary).
    pub fn reachable(&self, tips: impl IntoIterator<Item = ObjectId>, cap: usize) -> (HashSet<ObjectId>, bool, bool) {
        let repo = self.local();
        let shallow: HashSet<ObjectId> = std::fs::read_to_string(self.git_dir.join("shallow"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| ObjectId::from_hex(l.trim().as_bytes()).ok())
            .collect();
        let mut seen = HashSet::new();
        let mut incomplete = false;
        let mut stack: Vec<ObjectId> = tips.into_iter().collect();
        while let Some(id) = stack.pop() {
            if seen.len() >= cap {
                return (seen, true, incomplete);
            }
            if !seen.insert(id) {
                continue;
            }
            if shallow.contains(&id) {
                // git's shallow file: this commit's parents were not fetched.
                incomplete = true;
                continue;
            }
            match repo.find_commit(id) {
                Ok(c) => stack.extend(c.parent_ids().map(|p| p.detach()).filter(|p| !seen.contains(p))),
                Err(_) => incomplete = true,
            }
        }
        (seen, false, incomplete)
    }

    /// Every entry of a commit's tree, recursively, by full path.
    pub fn upstream_tree(&self, tree: ObjectId) -> Result<BTreeMap<Vec<u8>, (EntryKind, ObjectId)>, StoreError> {
        let repo = self.local();
        let mut out = BTreeMap::new();
        super::walk_tree(&repo, tree, |path, mode, id| {
            let kind = if mode.is_link() {
                EntryKind::Symlink
            } else if mode.is_commit() {
                EntryKind::Submodule
            } else if mode.is_executable() {
                EntryKind::Executable
            } else {
                EntryKind::File
            };
            out.insert(path, (kind, id));
            Ok(())
        })?;
        Ok(out)
    }
}

/// Polls the pack directory for the size of packs being received, and
/// raises the interrupt past the size or time limit.
struct Watchdog {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<(u64, Option<String>)>>,
}

impl Watchdog {
    fn start(pack_dir: &Path, max_bytes: u64, timeout: Duration, interrupt: Arc<AtomicBool>) -> Self {
        let before: HashSet<std::ffi::OsString> = std::fs::read_dir(pack_dir)
            .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let dir = pack_dir.to_owned();
        let started = Instant::now();
        let handle = std::thread::Builder::new()
            .name("upstream-watchdog".to_owned())
            .spawn(move || {
                let mut max_seen = 0u64;
                loop {
                    let now: u64 = std::fs::read_dir(&dir)
                        .map(|rd| {
                            rd.flatten()
                                .filter(|e| !before.contains(&e.file_name()))
                                .filter_map(|e| e.metadata().ok())
                                .map(|m| m.len())
                                .sum()
                        })
                        .unwrap_or(0);
                    max_seen = max_seen.max(now);
                    if max_seen > max_bytes {
                        interrupt.store(true, Ordering::Relaxed);
                        return (max_seen, Some(format!("larger than the limit of {max_bytes} bytes")));
                    }
                    if started.elapsed() > timeout {
                        interrupt.store(true, Ordering::Relaxed);
                        return (max_seen, Some(format!("timed out after {} s", timeout.as_secs())));
                    }
                    if stop2.load(Ordering::Relaxed) {
                        return (max_seen, None);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
            .ok();
        Watchdog { stop, handle }
    }

    fn stop(mut self) -> (u64, Option<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or((0, None))
    }
}

fn err(e: impl std::fmt::Display) -> String {
    // gix's errors carry their causes as a chain of messages on several
    // lines; keep the messages, one line, bounded.
    let full = format!("{e:#}");
    let mut parts: Vec<&str> = Vec::new();
    for line in full.lines() {
        let line = line.trim().trim_start_matches("Caused by:").trim();
        let line = line
            .strip_prefix("Message { message: \"")
            .and_then(|l| l.strip_suffix("\" }"))
            .unwrap_or(line);
        let line = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':').trim();
        if !line.is_empty() && !parts.contains(&line) {
            parts.push(line);
        }
    }
    let mut out = parts.join(": ");
    crate::output::truncate_with(&mut out, 400, "…");
    out
}

/// A thread-local repository configured for fetching untrusted remotes.
fn fetch_repo(repo: &gix::ThreadSafeRepository) -> Result<gix::Repository, String> {
    let mut repo = repo.to_thread_local();
    {
        let mut cfg = repo.config_snapshot_mut();
        for (k, v) in [
            ("protocol.allow", "never"),
            ("protocol.https.allow", "always"),
            ("protocol.http.allow", "always"),
            ("protocol.git.allow", "always"),
            ("protocol.file.allow", "always"),
            ("fetch.recurseSubmodules", "false"),
            ("http.followRedirects", "initial"),
            ("gitoxide.http.connectTimeout", "20000"),
            ("http.lowSpeedLimit", "1000"),
            ("http.lowSpeedTime", "60"),
        ] {
            cfg.set_raw_value(k, v).map_err(err)?;
        }
        cfg.commit().map_err(err)?;
    }
    Ok(repo)
}

fn no_credentials(
    _action: gix::credentials::helper::Action,
) -> Result<Option<gix::credentials::protocol::Outcome>, gix::Error> {
    // Public repositories only: never ask a helper or a terminal.
    Ok(None)
}

/// One connection: fetch `specs`; returns the refs the remote advertised.
fn fetch_once(
    repo: &gix::Repository,
    url: &str,
    specs: &[String],
    list_all: bool,
    depth: Option<std::num::NonZeroU32>,
    interrupt: &AtomicBool,
) -> Result<(String, Vec<(String, ObjectId)>), String> {
    use gix::remote::Direction;
    let remote = repo.remote_at(url).map_err(err)?;
    let effective = remote
        .url(Direction::Fetch)
        .map(|u| u.to_bstring().to_string())
        .unwrap_or_else(|| url.to_owned());
    let scheme = remote
        .url(Direction::Fetch)
        .map(|u| u.scheme.as_str().to_owned())
        .unwrap_or_default();
    if !ALLOWED_SCHEMES.contains(&scheme.as_str()) {
        return Err(format!(
            "the configured URL uses a scheme cargofox does not fetch: {scheme}"
        ));
    }
    let remote = remote
        .with_refspecs(specs.iter().map(String::as_str), Direction::Fetch)
        .map_err(err)?
        .with_fetch_tags(gix::remote::fetch::Tags::None);
    let conn = remote
        .connect(Direction::Fetch)
        .map_err(err)?
        .with_credentials(no_credentials);
    let opts = gix::remote::ref_map::Options {
        prefix_from_spec_as_filter_on_remote: !list_all,
        ..Default::default()
    };
    let mut prepared = conn
        .prepare_fetch(gix::progress::Discard, opts)
        .map_err(err)?
        .with_write_packed_refs_only(false);
    if let Some(d) = depth {
        prepared = prepared.with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(d));
    }
    let outcome = prepared.receive(gix::progress::Discard, interrupt).map_err(err)?;
    let advertised = outcome
        .ref_map
        .remote_refs
        .iter()
        .filter_map(|r| {
            let (name, target, peeled) = r.unpack();
            let id = peeled.or(target)?.to_owned();
            Some((name.to_str_lossy().into_owned(), id))
        })
        .collect();
    Ok((effective, advertised))
}

fn fetch_all(repo: &gix::ThreadSafeRepository, spec: &FetchSpec, interrupt: &AtomicBool) -> Fetched {
    let mut out = Fetched {
        effective_url: spec.url.clone(),
        ..Fetched::default()
    };
    let repo = match fetch_repo(repo) {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let key = &spec.key;
    let main = [
        format!("+refs/heads/*:refs/upstream/{key}/heads/*"),
        format!("+refs/tags/*:refs/upstream/{key}/tags/*"),
    ];
    let advertised = match fetch_once(&repo, &spec.url, &main, true, spec.depth, interrupt) {
        Ok((effective, adv)) => {
            out.effective_url = effective;
            adv
        }
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let mut extra = 0usize;
    for want in &spec.want {
        if repo.has_object(want) {
            continue;
        }
        if extra >= MAX_EXTRA_FETCHES || interrupt.load(Ordering::Relaxed) {
            out.refused
                .push((*want, "not attempted: limit of extra fetches reached".to_owned()));
            continue;
        }
        extra += 1;
        // A non-branch ref (a pull-request head) naming it, else by id.
        let via_ref = advertised
            .iter()
            .find(|(name, id)| id == want && !name.starts_with("refs/heads/") && !name.starts_with("refs/tags/"))
            .map(|(name, _)| name.clone());
        let (refspec, how) = match &via_ref {
            Some(name) => {
                let rest = name.strip_prefix("refs/").unwrap_or(name);
                (format!("+{name}:refs/upstream/{key}/other/{rest}"), name.clone())
            }
            None => (format!("{want}:refs/upstream/{key}/claimed/{want}"), "by id".to_owned()),
        };
        let depth = spec.depth.map(|_| std::num::NonZeroU32::MIN);
        match fetch_once(&repo, &spec.url, &[refspec], false, depth, interrupt) {
            Ok(_) if repo.has_object(want) => out.extra.push((*want, how)),
            // The remote's own words vary from attempt to attempt (a reset
            // pipe, or "not our ref"): they go to the log, and the fact kept
            // is the same every time, so that a recheck that finds nothing
            // new changes nothing.
            Ok(_) => out.refused.push((*want, NOT_SERVED.to_owned())),
            Err(e) => {
                tracing::info!(url = %spec.url, commit = %want, error = %e, "claimed commit not served");
                out.refused.push((*want, NOT_SERVED.to_owned()));
            }
        }
    }
    out
}
