//! `cargofox sync`: for each crate, read its index file, work out which
//! versions are missing from the store and their parents, then download,
//! verify, unpack and store them.
//!
//! Downloads and unpacking run on worker threads (a bounded number in
//! flight); one writer thread takes their results in index order, writes the
//! commits (a commit needs its parent's id) and flushes packs and refs in
//! batches. A version that fails is recorded under `refs/failures/` and the
//! run goes on; the next run retries it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use anyhow::Context as _;
use gix::ObjectId;

use crate::archive::{self, Limits};
use crate::message::{VersionFacts, commit_message};
use crate::output::{Clock, Output};
use crate::plan;
use crate::registry::index::{IndexEntry, IndexLine, parse_file};
use crate::registry::{Registry, RegistryError};
use crate::store::{self, FailureRecord, PackedObject, Prepared, Store, refs};
use crate::types::{CrateName, Sha256};

use super::Outcome;

/// What to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateSpec {
    /// The crate.
    pub name: CrateName,
    /// One version (with its missing ancestors), or all.
    pub version: Option<String>,
}

impl std::str::FromStr for CrateSpec {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, version) = match s.split_once('@') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (s, None),
        };
        Ok(CrateSpec {
            name: CrateName::new(name)?,
            version,
        })
    }
}

/// Options for a sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Crates to sync.
    pub crates: Vec<CrateSpec>,
    /// Worker threads (downloads in flight).
    pub jobs: usize,
    /// Archive limits.
    pub limits: Limits,
    /// Flush a pack once it holds this many bytes.
    pub flush_bytes: u64,
    /// The clock.
    pub clock: Clock,
    /// A version whose download the registry refuses (403/404/410) for this
    /// many days is recorded as unavailable instead of being retried forever.
    pub tombstone_days: u32,
    /// Stop starting new work after this instant (`--max-duration`); what is
    /// left is reported and done by the next run.
    pub deadline: Option<std::time::Instant>,
}

impl SyncOptions {
    fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| std::time::Instant::now() >= d)
    }
}

/// Stops a run whose downloads nearly all fail (the registry or the network
/// is down, or refuses us): nothing is recorded for the versions not tried,
/// and nothing is marked unavailable in such a run.
#[derive(Default)]
struct Breaker {
    attempts: AtomicUsize,
    failures: AtomicUsize,
    tripped: AtomicBool,
}

impl Breaker {
    /// At least this many attempts before the breaker may trip.
    const MIN_ATTEMPTS: usize = 20;

    fn record(&self, failed: bool) {
        let attempts = self.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let failures = self.failures.fetch_add(usize::from(failed), Ordering::Relaxed) + usize::from(failed);
        if attempts >= Self::MIN_ATTEMPTS && failures * 10 >= attempts * 9 {
            self.tripped.store(true, Ordering::Relaxed);
        }
    }

    fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }
}

/// Totals of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Crates processed.
    pub crates: usize,
    /// Versions written.
    pub added: usize,
    /// Versions already in the store.
    pub already: usize,
    /// Versions that failed (recorded for retry).
    pub failed: usize,
    /// Versions deferred because their parent is not stored.
    pub deferred: usize,
    /// Index lines that could not be used.
    pub skipped_lines: usize,
    /// Versions not attempted because the circuit breaker tripped.
    pub not_attempted: usize,
    /// Versions recorded as unavailable (refused for too long).
    pub tombstoned: usize,
    /// Versions left for the next run (time budget spent).
    pub left: usize,
    /// Crates not reached (time budget spent).
    pub crates_not_reached: usize,
    /// Crates whose index could not be read.
    pub crate_errors: usize,
    /// Reports (re)written.
    pub reports: usize,
    /// Crates whose reports exist, with their summaries.
    pub touched: BTreeMap<String, super::reports::CrateSummary>,
    /// Crates with at least one report (re)written in this run.
    pub changed_crates: BTreeSet<String>,
    /// Events for the audit commit message: yanks, unyanks, crates gone
    /// from the index.
    pub events: Vec<String>,
    /// Crates no longer in the registry's index (their releases are kept).
    pub removed: usize,
}

/// What the report stage of a sync needs besides the store and registry.
pub struct ReportStage<'a> {
    /// The audit repository.
    pub audit: &'a crate::audit::Audit,
    /// Templates.
    pub renderer: &'a crate::report::render::Renderer,
    /// Diff limits.
    pub limits: crate::compare::Limits,
    /// Owner sources.
    pub owners: &'a super::owners_stage::OwnersStage,
    /// Code facts by blob id, shared by every report of the run.
    pub code_cache: std::sync::Mutex<crate::analyse::code::Cache>,
    /// Upstream repositories (fetched at most once per run).
    pub upstream: &'a crate::upstream::Upstream<'a>,
}

impl ReportStage<'_> {
    fn context<'b>(&'b self, store: &'b Store, registry: &'b Registry, clock: Clock) -> super::reports::Context<'b> {
        super::reports::Context {
            store,
            audit: self.audit,
            renderer: self.renderer,
            clock,
            registry: registry.config(),
            limits: self.limits.clone(),
            code_cache: &self.code_cache,
            upstream: self.upstream,
        }
    }
}

/// The audit commit message: counts and crate names (validated against the
/// crate-name grammar), never crate text.
fn commit_message_for_run(t: &Totals) -> String {
    let mut m = format!(
        "cargofox sync: {} versions added, {} reports written\n\n",
        t.added, t.reports
    );
    let names: Vec<&str> = t.changed_crates.iter().map(String::as_str).collect();
    let shown: Vec<&str> = names.iter().take(50).copied().collect();
    m.push_str(&format!("Crates: {}", shown.join(", ")));
    if names.len() > shown.len() {
        m.push_str(&format!(" and {} more", names.len() - shown.len()));
    }
    m.push('\n');
    let left = [
        (t.crates_not_reached, "crates not reached (time budget spent)"),
        (t.left, "versions not started (time budget spent)"),
        (t.not_attempted, "versions not attempted (circuit breaker)"),
        (t.failed, "versions failed (recorded under refs/failures/, retried)"),
        (t.deferred, "versions deferred (their parent is not stored yet)"),
    ];
    if left.iter().any(|(n, _)| *n > 0) {
        m.push_str("\nLeft for the next run:\n");
        for (n, what) in left.iter().filter(|(n, _)| *n > 0) {
            m.push_str(&format!("- {n} {what}\n"));
        }
    }
    if !t.events.is_empty() {
        m.push('\n');
        for e in t.events.iter().take(MAX_EVENTS) {
            m.push_str(e);
            m.push('\n');
        }
        if t.events.len() > MAX_EVENTS {
            m.push_str(&format!("and {} more events\n", t.events.len() - MAX_EVENTS));
        }
    }
    m
}

/// Events listed in one audit commit message.
const MAX_EVENTS: usize = 200;

enum ParentRef {
    None,
    Stored(ObjectId),
    Job(usize),
}

struct Job {
    crate_ix: usize,
    entry: IndexEntry,
    parent: ParentRef,
    parent_version: Option<String>,
    reregistered_from: Option<Sha256>,
    prior_failure: Option<FailureRecord>,
    /// The stored archive of a version whose commit is missing (dropped by
    /// [`check_store`]): rebuilt from it instead of downloading.
    stored_archive: Option<ObjectId>,
}

struct Stored {
    facts: VersionFacts,
    prepared: Prepared,
    /// Read from the store's archive, not downloaded.
    rebuilt: bool,
}

struct Failure {
    kind: &'static str,
    message: String,
    actual: Option<Sha256>,
    http_status: Option<u16>,
}

#[derive(Default)]
struct CrateTally {
    name: String,
    in_index: usize,
    added: usize,
    already: usize,
    failed: usize,
    deferred: usize,
    skipped_lines: usize,
    not_attempted: usize,
    tombstoned: usize,
    left: usize,
    /// The crate's index file is gone, but versions of it are stored.
    removed: bool,
    /// Versions rebuilt from their stored archive (after store damage).
    rebuilt: usize,
    error: Option<String>,
    /// Usable index lines, kept until the chunk's reports are written.
    entries: Vec<IndexEntry>,
    name_typed: Option<CrateName>,
}

/// Check the store before a sync writes to it, and repair what a power cut
/// or a full disk damaged (BAD-INPUTS 31, [`Store::check_and_repair`]):
/// each finding is printed; the versions it drops are stored again by the
/// sync, from their stored `.crate` when it is intact.
pub fn check_store(store: &mut Store, out: &mut Output) -> anyhow::Result<()> {
    let repair = store
        .check_and_repair()
        .with_context(|| format!("checking the store {}", store.git_dir().display()))?;
    for line in &repair.findings {
        out.line(line);
    }
    if !repair.is_clean() {
        out.line(&format!(
            "store: {} problems found, {} files moved to {}, {} refs dropped; the versions concerned are stored again by this run",
            repair.findings.len(),
            repair.quarantined.len(),
            store.git_dir().join(store::repair::QUARANTINE).display(),
            repair.dropped_refs.len()
        ));
    }
    Ok(())
}

/// Run a sync.
pub fn run(
    opts: &SyncOptions,
    registry: &Registry,
    store: &Store,
    reports: &ReportStage<'_>,
    out: &mut Output,
) -> anyhow::Result<(Outcome, Totals)> {
    let mut tallies: Vec<CrateTally> = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    let mut totals = Totals::default();
    let mut seen = BTreeSet::new();
    let bar = out.progress(0, "versions");
    let specs: Vec<&CrateSpec> = opts
        .crates
        .iter()
        .filter(|spec| seen.insert((spec.name.clone(), spec.version.clone())))
        .collect();
    for (k, spec) in specs.iter().enumerate() {
        if opts.out_of_time() {
            totals.crates_not_reached += 1;
        } else {
            let mut tally = CrateTally {
                name: spec.name.to_string(),
                name_typed: Some(spec.name.clone()),
                ..CrateTally::default()
            };
            if let Err(e) = plan_crate(spec, tallies.len(), registry, store, &mut tally, &mut jobs, out) {
                tally.error = Some(format!("{e:#}"));
            }
            tallies.push(tally);
        }
        // Work in chunks so that memory does not grow with the number of
        // crates: a chunk's refs are durable before the next is planned.
        let last = k + 1 == specs.len();
        if !tallies.is_empty() && (last || jobs.len() >= CHUNK_VERSIONS) {
            run_chunk(
                opts,
                registry,
                store,
                reports,
                &mut jobs,
                &mut tallies,
                &mut totals,
                out,
                &bar,
            )?;
        }
    }
    bar.finish_and_clear();
    let changed = totals.reports > 0;
    super::reports::update_index(reports.audit, reports.renderer, opts.clock, &totals.touched, changed)?;
    let message = commit_message_for_run(&totals);
    if let Some(id) = reports.audit.commit(&message, opts.clock.now())? {
        out.line(&format!("audit: committed {id} in {}", reports.audit.dir().display()));
    }
    out.line(&format!(
        "sync: {} crates, {} versions added, {} already stored, {} failed, {} deferred, {} index lines skipped, {} crate errors",
        totals.crates, totals.added, totals.already, totals.failed, totals.deferred, totals.skipped_lines, totals.crate_errors
    ));
    if totals.left + totals.crates_not_reached > 0 {
        out.line(&format!(
            "TIME BUDGET SPENT: {} versions and {} crates left for the next run",
            totals.left, totals.crates_not_reached
        ));
    }
    if totals.not_attempted > 0 {
        out.line(&format!(
            "CIRCUIT BREAKER: nearly every download failed, so {} versions were not attempted and nothing was marked unavailable; the next run retries them",
            totals.not_attempted
        ));
    }
    let unfinished = totals.left + totals.crates_not_reached;
    let outcome = if totals.failed + totals.deferred + totals.crate_errors + totals.not_attempted + unfinished > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    Ok((outcome, totals))
}

/// Versions planned before a chunk is processed.
const CHUNK_VERSIONS: usize = 2000;

#[allow(clippy::too_many_arguments)]
fn run_chunk(
    opts: &SyncOptions,
    registry: &Registry,
    store: &Store,
    reports: &ReportStage<'_>,
    jobs: &mut Vec<Job>,
    tallies: &mut Vec<CrateTally>,
    totals: &mut Totals,
    out: &mut Output,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    bar.inc_length(jobs.len() as u64);
    pipeline(opts, registry, store, jobs, tallies, out, bar)?;
    let ctx = reports.context(store, registry, opts.clock);
    for t in tallies.iter() {
        if let Some(name) = &t.name_typed
            && t.removed
        {
            let (changed, summary) = super::reports::mark_removed(&ctx, name)
                .with_context(|| format!("labelling {name} as no longer in the index"))?;
            if changed {
                totals.events.push(format!("Removed from the index: {name}"));
                totals.changed_crates.insert(name.to_string());
            }
            if let Some(s) = summary {
                totals.touched.insert(name.to_string(), s);
            }
        } else if let Some(name) = &t.name_typed
            && t.error.is_none()
        {
            let (owners, owners_changed) =
                super::owners_stage::update(reports.owners, reports.audit, name, t.added > 0, opts.clock)
                    .with_context(|| format!("recording the owners of {name}"))?;
            let (written, summary) =
                super::reports::update_crate(&ctx, name, &t.entries, owners.as_ref(), owners_changed)
                    .with_context(|| format!("writing the reports of {name}"))?;
            totals.reports += written.reports;
            totals.events.extend(written.events);
            if written.reports > 0 {
                totals.changed_crates.insert(name.to_string());
            }
            if let Some(s) = summary {
                totals.touched.insert(name.to_string(), s);
            }
        }
    }
    for t in tallies.iter() {
        totals.crates += 1;
        totals.added += t.added;
        totals.already += t.already;
        totals.failed += t.failed;
        totals.deferred += t.deferred;
        totals.skipped_lines += t.skipped_lines;
        totals.not_attempted += t.not_attempted;
        totals.tombstoned += t.tombstoned;
        totals.left += t.left;
        let line = if let Some(e) = &t.error {
            totals.crate_errors += 1;
            format!("{}: error: {e}", t.name)
        } else if t.removed {
            totals.removed += 1;
            format!(
                "REMOVED {}: no longer in the registry's index (its index file is gone); its stored versions and reports are kept",
                t.name
            )
        } else {
            let mut line = format!(
                "{}: {} added, {} already stored, {} failed",
                t.name, t.added, t.already, t.failed
            );
            if t.deferred > 0 {
                line.push_str(&format!(", {} deferred", t.deferred));
            }
            if t.rebuilt > 0 {
                line.push_str(&format!(", {} rebuilt from the stored .crate", t.rebuilt));
            }
            if t.tombstoned > 0 {
                line.push_str(&format!(", {} recorded as unavailable", t.tombstoned));
            }
            if t.not_attempted > 0 {
                line.push_str(&format!(", {} not attempted", t.not_attempted));
            }
            if t.left > 0 {
                line.push_str(&format!(", {} left for the next run", t.left));
            }
            line.push_str(&format!(" ({} versions in the index", t.in_index));
            if t.skipped_lines > 0 {
                line.push_str(&format!(", {} lines skipped", t.skipped_lines));
            }
            line.push(')');
            line
        };
        bar.suspend(|| out.line(&line));
    }
    jobs.clear();
    tallies.clear();
    Ok(())
}

fn plan_crate(
    spec: &CrateSpec,
    crate_ix: usize,
    registry: &Registry,
    store: &Store,
    tally: &mut CrateTally,
    jobs: &mut Vec<Job>,
    out: &mut Output,
) -> anyhow::Result<()> {
    let bytes = match registry.index_file(&spec.name) {
        Ok(bytes) => bytes,
        // Deleted from the registry after it was archived: keep everything,
        // label it (BAD-INPUTS 34). A name never stored stays an error.
        Err(RegistryError::NotFound(_)) if !store.stored_versions(&spec.name)?.is_empty() => {
            tally.removed = true;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let lines = parse_file(&bytes, &spec.name);
    let mut entries: Vec<IndexEntry> = Vec::new();
    for line in lines {
        match line {
            IndexLine::Entry(e) => entries.push(*e),
            IndexLine::Skipped { vers, reason } => {
                tally.skipped_lines += 1;
                tracing::warn!(krate = %spec.name, version = ?vers, %reason, "index line skipped");
                out.line(&format!(
                    "SKIPPED {}@{}: {reason}",
                    spec.name,
                    crate::archive::escape::printable_raw(vers.as_deref().unwrap_or("?").as_bytes())
                ));
            }
        }
    }
    tally.in_index = entries.len();
    tally.entries = entries.clone();
    let versions: Vec<&crate::types::VersionStr> = entries.iter().map(|e| &e.vers).collect();
    let parents = plan::parents(&versions);

    // Which lines to process: all, or one version and its ancestors.
    let mut selected = vec![spec.version.is_none(); entries.len()];
    if let Some(v) = &spec.version {
        let pos = entries
            .iter()
            .rposition(|e| e.vers.as_str() == v)
            .with_context(|| format!("version {v} of {} is not in the index", spec.name))?;
        let mut cur = Some(pos);
        while let Some(i) = cur {
            selected[i] = true;
            cur = parents[i];
        }
    }

    // The registry's spelling of the name (`sync Serde` finds `serde`): refs,
    // reports and owners all use it, so a crate is stored once.
    let canonical = entries.first().map_or_else(|| spec.name.clone(), |e| e.name.clone());
    tally.name = canonical.to_string();
    tally.name_typed = Some(canonical.clone());
    let stored = store.stored_versions(&canonical)?;
    let failures = store.failures(&canonical)?;
    let archives = store.refs_under(&format!("refs/archives/{canonical}/"))?;
    let mut job_of_line: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if !selected[i] {
            continue;
        }
        let comp = entry.vers.ref_component();
        let mut reregistered_from = None;
        if let Some(&commit) = stored.get(&comp) {
            let sha = store.commit_sha256(commit)?;
            if sha == Some(entry.cksum) {
                tally.already += 1;
                continue;
            }
            let rereg = refs::reregistered(&canonical, &entry.vers, &entry.cksum, "crate");
            if store.resolve(&rereg)?.is_some() {
                tally.already += 1;
                continue;
            }
            reregistered_from = sha;
        }
        let parent = match parents[i] {
            None => ParentRef::None,
            Some(j) => match stored.get(&entries[j].vers.ref_component()) {
                Some(&id) => ParentRef::Stored(id),
                None => match job_of_line.get(&j) {
                    Some(&job) => ParentRef::Job(job),
                    // Unreachable by construction (ancestors are selected),
                    // but never write a commit with a guessed parent.
                    None => anyhow::bail!("internal: parent of {} {} not planned", spec.name, entry.vers),
                },
            },
        };
        job_of_line.insert(i, jobs.len());
        jobs.push(Job {
            crate_ix,
            entry: entry.clone(),
            parent,
            parent_version: parents[i].map(|j| entries[j].vers.to_string()),
            stored_archive: if reregistered_from.is_none() {
                archives.get(&comp).copied()
            } else {
                None
            },
            reregistered_from,
            prior_failure: failures.get(&comp).cloned(),
        });
    }
    Ok(())
}

/// Download (or read from the store, see [`Job::stored_archive`]), verify
/// and unpack one version into prepared objects.
fn work(
    job: &Job,
    registry: &Registry,
    store: &Store,
    claimer: &mut store::Claimer,
    limits: &Limits,
) -> Result<Stored, Failure> {
    let e = &job.entry;
    let stored = job
        .stored_archive
        .and_then(|id| store.blob(id).ok())
        .filter(|bytes| Sha256::of(bytes) == e.cksum);
    let rebuilt = stored.is_some();
    let bytes = match stored {
        Some(bytes) => bytes,
        None => registry.download(&e.name, &e.vers, &e.cksum).map_err(|err| Failure {
            kind: "download",
            http_status: err.http_status(),
            message: format!("{err}"),
            actual: None,
        })?,
    };
    let actual = Sha256::of(&bytes);
    if actual != e.cksum {
        return Err(Failure {
            kind: "checksum-mismatch",
            message: format!(
                "sha256 of the download is {actual}, the index says {}; not stored",
                e.cksum
            ),
            actual: Some(actual),
            http_status: None,
        });
    }
    let view = archive::read_crate(&bytes, &e.name, &e.vers, limits);
    let prepared =
        store::prepare(&view.files, &view.extras, &bytes, &mut |id| claimer.needed(id)).map_err(|err| Failure {
            kind: "store",
            message: err.to_string(),
            actual: Some(actual),
            http_status: None,
        })?;
    let facts = VersionFacts {
        name: e.name.clone(),
        version: e.vers.clone(),
        sha256: actual,
        crate_size: bytes.len() as u64,
        status: view.status(),
        unpacked_size: view.unpacked_size,
        file_count: view.files.len(),
        extras: prepared.extras_tree.map(|t| t.to_hex().to_string()),
        anomalies: view.anomalies,
        escaped: view.escaped,
    };
    Ok(Stored {
        facts,
        prepared,
        rebuilt,
    })
}

struct Window {
    written: Mutex<usize>,
    cond: Condvar,
    size: usize,
}

impl Window {
    fn wait_for(&self, i: usize, abort: &AtomicBool) {
        let mut w = match self.written.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        while i >= *w + self.size && !abort.load(Ordering::Relaxed) {
            w = match self.cond.wait(w) {
                Ok(w) => w,
                Err(p) => p.into_inner(),
            };
        }
    }

    fn advance(&self, to: usize) {
        if let Ok(mut w) = self.written.lock() {
            *w = to;
        }
        self.cond.notify_all();
    }
}

#[allow(clippy::too_many_arguments)]
fn pipeline(
    opts: &SyncOptions,
    registry: &Registry,
    store: &Store,
    jobs: &[Job],
    tallies: &mut [CrateTally],
    out: &mut Output,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let workers = opts.jobs.max(1).min(jobs.len());
    let window = Window {
        written: Mutex::new(0),
        cond: Condvar::new(),
        size: workers * 4,
    };
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let breaker = Breaker::default();
    let (tx, rx) = mpsc::sync_channel::<(usize, Result<Stored, Failure>)>(window.size);

    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, abort, window, breaker) = (&next, &abort, &window, &breaker);
            s.spawn(move || {
                let mut claimer = store.claimer();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs.len() || abort.load(Ordering::Relaxed) {
                        break;
                    }
                    window.wait_for(i, abort);
                    if abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = if opts.out_of_time() {
                        Err(Failure {
                            kind: OUT_OF_TIME,
                            message: "the run's time budget is spent".to_owned(),
                            actual: None,
                            http_status: None,
                        })
                    } else if breaker.tripped() {
                        Err(Failure {
                            kind: NOT_ATTEMPTED,
                            message: "circuit breaker tripped".to_owned(),
                            actual: None,
                            http_status: None,
                        })
                    } else {
                        let r = work(&jobs[i], registry, store, &mut claimer, &opts.limits);
                        breaker.record(matches!(&r, Err(f) if f.kind == "download"));
                        r
                    };
                    if tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let result = write_all(opts, store, jobs, tallies, out, bar, &rx, &window, &breaker);
        if result.is_err() {
            abort.store(true, Ordering::Relaxed);
            window.cond.notify_all();
            // Let workers finish their current item and exit.
            while rx.recv().is_ok() {}
        }
        result
    })
}

#[allow(clippy::too_many_arguments)]
fn write_all(
    opts: &SyncOptions,
    store: &Store,
    jobs: &[Job],
    tallies: &mut [CrateTally],
    out: &mut Output,
    bar: &indicatif::ProgressBar,
    rx: &mpsc::Receiver<(usize, Result<Stored, Failure>)>,
    window: &Window,
    breaker: &Breaker,
) -> anyhow::Result<()> {
    let mut commits: Vec<Option<ObjectId>> = vec![None; jobs.len()];
    let mut buffer: BTreeMap<usize, Result<Stored, Failure>> = BTreeMap::new();
    let mut expect = 0usize;
    let mut batch = store.batch()?;
    let mut candidates: Vec<(usize, Failure)> = Vec::new();
    let now = opts.clock.now();
    while expect < jobs.len() {
        let Ok((i, r)) = rx.recv() else {
            anyhow::bail!("internal: workers stopped before every version was processed");
        };
        buffer.insert(i, r);
        while let Some(r) = buffer.remove(&expect) {
            let job = &jobs[expect];
            let tally = &mut tallies[job.crate_ix];
            let e = &job.entry;
            let failure = match r {
                Err(f) => Some(f),
                Ok(stored) => {
                    // Objects are written even when the commit must wait:
                    // they are claimed, and a later run reuses them.
                    batch.add_objects(&stored.prepared.objects)?;
                    let parent = match job.parent {
                        ParentRef::None => Ok(None),
                        ParentRef::Stored(id) => Ok(Some(id)),
                        ParentRef::Job(j) => commits[j].map(Some).ok_or(()),
                    };
                    match parent {
                        Err(()) => Some(Failure {
                            kind: "parent-missing",
                            message: format!(
                                "parent version {} is not stored yet (its attempt failed); deferred",
                                job.parent_version.as_deref().unwrap_or("?")
                            ),
                            actual: Some(stored.facts.sha256),
                            http_status: None,
                        }),
                        Ok(parent) => {
                            let commit = write_version(&mut batch, job, &stored, parent)?;
                            commits[expect] = Some(commit);
                            tally.added += 1;
                            if stored.rebuilt {
                                tally.rebuilt += 1;
                            }
                            if let Some(old) = job.reregistered_from {
                                out.line(&format!(
                                    "REREGISTERED {}@{}: the index checksum is now {}, the stored release had {}; both kept",
                                    e.name,
                                    e.vers,
                                    e.cksum,
                                    old
                                ));
                            }
                            None
                        }
                    }
                }
            };
            let failure = match failure {
                Some(f) if f.kind == NOT_ATTEMPTED => {
                    tally.not_attempted += 1;
                    None
                }
                Some(f) if f.kind == OUT_OF_TIME => {
                    tally.left += 1;
                    None
                }
                // Decided at the end of the chunk, when the run's health is known.
                Some(f) if tombstone_due(opts, job, &f, now) => {
                    candidates.push((expect, f));
                    None
                }
                other => other,
            };
            if let Some(f) = failure {
                record_failure(&mut batch, job, f, now, tally, out, bar)?;
            }
            bar.inc(1);
            expect += 1;
            window.advance(expect);
            if batch.bytes() >= opts.flush_bytes {
                batch.commit()?;
                batch = store.batch()?;
            }
        }
    }
    // Refusals that lasted long enough become tombstones, unless this run
    // looks broken (the breaker tripped, or most downloads failed).
    let attempts = breaker.attempts.load(Ordering::Relaxed);
    let failures = breaker.failures.load(Ordering::Relaxed);
    let healthy = !breaker.tripped() && failures * 2 < attempts;
    for (i, f) in candidates {
        let job = &jobs[i];
        let e = &job.entry;
        let tally = &mut tallies[job.crate_ix];
        match parent_of(job, &commits) {
            Some(parent) if healthy => {
                let (days, status) = (opts.tombstone_days, f.http_status.unwrap_or(0));
                commits[i] = Some(write_tombstone(&mut batch, job, &f, days, Some(parent))?);
                tally.tombstoned += 1;
                bar.suspend(|| {
                    out.line(&format!(
                        "UNAVAILABLE {}@{}: the registry has refused the download (HTTP {status}) for {days} days or more; recorded as unavailable",
                        e.name, e.vers
                    ))
                });
            }
            _ => record_failure(&mut batch, job, f, now, tally, out, bar)?,
        }
    }
    batch.commit()?;
    Ok(())
}

/// Record a failed attempt (merging with the previous record) and say so.
fn record_failure(
    batch: &mut store::Batch<'_>,
    job: &Job,
    f: Failure,
    now: i64,
    tally: &mut CrateTally,
    out: &mut Output,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let e = &job.entry;
    if f.kind == "parent-missing" {
        tally.deferred += 1;
    } else {
        tally.failed += 1;
    }
    bar.suspend(|| out.line(&format!("FAILED {}@{} [{}]: {}", e.name, e.vers, f.kind, f.message)));
    let prior = job.prior_failure.as_ref();
    let rec = FailureRecord {
        kind: f.kind.to_owned(),
        message: f.message,
        expected_sha256: e.cksum.to_hex(),
        actual_sha256: f.actual.map(|a| a.to_hex()),
        http_status: f.http_status,
        first_seen: prior.map_or(now, |p| p.first_seen),
        last_seen: now,
        attempts: prior.map_or(1, |p| p.attempts + 1),
    };
    batch.record_failure(&e.name, &e.vers, &rec)?;
    Ok(())
}

/// The kind of the placeholder result for versions skipped by the breaker.
const NOT_ATTEMPTED: &str = "not-attempted";
/// The kind of the placeholder result for versions left for the next run.
const OUT_OF_TIME: &str = "out-of-time";

/// Whether a download refusal has lasted long enough to record the version
/// as unavailable.
fn tombstone_due(opts: &SyncOptions, job: &Job, f: &Failure, now: i64) -> bool {
    f.kind == "download"
        && matches!(f.http_status, Some(403 | 404 | 410))
        && job
            .prior_failure
            .as_ref()
            .is_some_and(|p| p.kind == "download" && now - p.first_seen >= i64::from(opts.tombstone_days) * 86_400)
}

/// The parent commit of a job, if it is known now.
fn parent_of(job: &Job, commits: &[Option<ObjectId>]) -> Option<Option<ObjectId>> {
    match job.parent {
        ParentRef::None => Some(None),
        ParentRef::Stored(id) => Some(Some(id)),
        ParentRef::Job(j) => commits[j].map(Some),
    }
}

/// Record a version the registry keeps refusing: an empty tree, status
/// `unavailable`, the index checksum; no archive.
fn write_tombstone(
    batch: &mut store::Batch<'_>,
    job: &Job,
    f: &Failure,
    days: u32,
    parent: Option<Option<ObjectId>>,
) -> anyhow::Result<ObjectId> {
    let e = &job.entry;
    let empty = store::prepare(&[], &[], &[], &mut |_| true)?;
    for o in empty.objects.iter().filter(|o| o.id == empty.tree) {
        batch.add_object(o)?;
    }
    let facts = VersionFacts {
        name: e.name.clone(),
        version: e.vers.clone(),
        sha256: e.cksum,
        crate_size: 0,
        status: archive::Status::Unavailable(format!(
            "the registry answered HTTP {} to every download for {days} days or more",
            f.http_status.unwrap_or(0)
        )),
        unpacked_size: 0,
        file_count: 0,
        extras: None,
        anomalies: Vec::new(),
        escaped: Vec::new(),
    };
    let parent = parent.flatten();
    let commit = store::commit_object(empty.tree, parent, e.pubtime.unwrap_or(0), &commit_message(&facts))?;
    batch.add_object(&commit)?;
    batch.set_ref(&refs::version(&e.name, &e.vers), commit.id)?;
    if job.prior_failure.is_some() {
        batch.delete_ref(&refs::failure(&e.name, &e.vers))?;
    }
    Ok(commit.id)
}

fn write_version(
    batch: &mut store::Batch<'_>,
    job: &Job,
    stored: &Stored,
    parent: Option<ObjectId>,
) -> anyhow::Result<ObjectId> {
    let e = &job.entry;
    let message = commit_message(&stored.facts);
    let commit: PackedObject = store::commit_object(stored.prepared.tree, parent, e.pubtime.unwrap_or(0), &message)?;
    batch.add_object(&commit)?;
    let (version_ref, archive_ref, extras_ref) = if job.reregistered_from.is_some() {
        (
            refs::reregistered(&e.name, &e.vers, &e.cksum, "crate"),
            refs::reregistered(&e.name, &e.vers, &e.cksum, "archive"),
            refs::reregistered(&e.name, &e.vers, &e.cksum, "extras"),
        )
    } else {
        (
            refs::version(&e.name, &e.vers),
            refs::archive(&e.name, &e.vers),
            refs::extras(&e.name, &e.vers),
        )
    };
    batch.set_ref(&version_ref, commit.id)?;
    batch.set_ref(&archive_ref, stored.prepared.archive_blob)?;
    if let Some(x) = stored.prepared.extras_tree {
        batch.set_ref(&extras_ref, x)?;
    }
    if job.prior_failure.is_some() {
        batch.delete_ref(&refs::failure(&e.name, &e.vers))?;
    }
    batch.note_version();
    Ok(commit.id)
}
