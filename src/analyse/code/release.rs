//! Every file of a release to [`CodeFacts`]: the per-blob cache, the
//! parallel analysis of the files not in it, the role of each file (build
//! script, code, test, data) and the per-release aggregation.
//!
//! Owns: which files are loaded (all, up to [`MAX_LOAD_BYTES`]; those over
//! [`MAX_FILE_BYTES`] only for their magic number), the worker threads
//! (blobs are loaded on the caller's thread, since [`Blobs`] need not be
//! `Sync`, and handed to [`WORKERS`] parsing threads through a bounded
//! channel, so at most a few files are in memory at once), and the rules
//! that give a file its role.
//!
//! Cost: a file is analysed once per distinct content (blob id); a release
//! whose files are all in the cache costs a lookup per file plus the
//! aggregation, so the work across a history scales with the files that
//! change, not with versions times files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use serde::{Serialize, Serializer};

use super::file::{STACK_BYTES, analyse_content};
use super::payload::Magic;
use super::{FactKind, FileFacts, Finding, ParseStatus};
use crate::compare::{Blobs, FileEntry, display_path};

/// Files larger than this are not scanned as text (their magic number is
/// still read, up to [`MAX_LOAD_BYTES`]).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Files larger than this are not loaded at all.
pub const MAX_LOAD_BYTES: u64 = 64 * 1024 * 1024;
/// Parsing threads.
pub const WORKERS: usize = 2;
/// Findings of one kind listed in [`CodeFacts`] (counts stay complete).
pub const MAX_SHOWN: usize = 50;

/// What a file is for, as far as who runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The build script and the files it declares or includes: runs on
    /// every machine that builds the crate.
    Build,
    /// Library and binary code (for a proc-macro crate, this runs inside
    /// the compiler of every dependent).
    Code,
    /// Tests, benches, examples, fuzz targets, `#[cfg(test)]` modules and
    /// items: not built when the crate is a dependency.
    Test,
    /// Not Rust.
    Data,
}

/// A finding with its file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Located {
    pub path: String,
    pub line: u32,
    /// The file's role, or `test` for a finding in test code.
    pub role: Role,
    pub detail: String,
    pub snippet: String,
    /// Found by the token scanner rather than syn.
    pub token_level: bool,
}

impl Located {
    fn new(path: &str, role: Role, f: &Finding) -> Self {
        Located {
            path: path.to_owned(),
            line: f.line,
            role: if f.in_test { Role::Test } else { role },
            detail: f.detail.clone(),
            snippet: f.snippet.clone(),
            token_level: f.token_level,
        }
    }
}

/// One kind of finding across the release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindFacts {
    pub kind: FactKind,
    pub total: u64,
    /// By role (all four, in [`Role`] order).
    pub by_role: BTreeMap<Role, u64>,
    /// The first [`MAX_SHOWN`], by path and line.
    pub shown: Vec<Located>,
    /// Findings not in `shown` (`total - shown.len()`).
    pub omitted: u64,
}

/// A file recognised by its magic number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BinaryFile {
    pub path: String,
    /// Blob id.
    pub id: String,
    pub magic: Magic,
    pub size: u64,
    /// The executable bit in the archive.
    pub executable_bit: bool,
    /// `include!`/`include_bytes!`/`include_str!` sites that name it
    /// (`path:line`).
    pub included_by: Vec<String>,
}

/// A file with something to say about how it was read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NotedFile {
    pub path: String,
    pub note: String,
}

/// The build script and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildScriptFacts {
    /// As the caller named it.
    pub path: String,
    /// Whether that file is in the release.
    pub present: bool,
    /// Its files: the script, the modules it declares, the files it
    /// `include!`s.
    pub files: Vec<String>,
    pub process: u64,
    pub network: u64,
    pub fs_write: u64,
    pub env_read: u64,
    /// Distinct environment variables it reads by name.
    pub env_vars: Vec<String>,
}

/// One analysed file of a release (not serialised: the report shows the
/// aggregates; [`super::delta`] reads these).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub path: String,
    pub role: Role,
    pub facts: Arc<FileFacts>,
}

/// The code facts of one release.
#[derive(Debug, Clone, Serialize)]
pub struct CodeFacts {
    /// Files in the release.
    pub files: usize,
    /// `.rs` files.
    pub rust_files: usize,
    /// Parsed whole by syn.
    pub parsed: usize,
    /// Rejected by syn, parsed again piece by piece.
    pub recovered: usize,
    /// Read by the token scanner only.
    pub tokens_only: usize,
    pub proc_macro: bool,
    pub build_script: Option<BuildScriptFacts>,
    /// `unsafe` blocks, fns, impls and traits outside test code.
    pub unsafe_total: u64,
    /// Kinds with at least one finding, in kind order.
    pub kinds: Vec<KindFacts>,
    /// Files recognised by magic number, by path.
    pub binaries: Vec<BinaryFile>,
    /// Rust files syn did not parse whole, with why.
    pub unparsed: Vec<NotedFile>,
    /// Files not (fully) read: too large, unreadable.
    pub skipped: Vec<NotedFile>,
    #[serde(skip)]
    pub(crate) entries: Vec<Entry>,
}

impl CodeFacts {
    /// The facts of one kind, if any.
    pub fn kind(&self, kind: FactKind) -> Option<&KindFacts> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// Every finding with its file and role, by path and line (complete up
    /// to [`super::MAX_FINDINGS_PER_KIND`] per file and kind).
    pub fn all_findings(&self) -> impl Iterator<Item = (FactKind, Located)> + '_ {
        self.entries.iter().flat_map(|e| {
            e.facts
                .findings
                .iter()
                .map(move |f| (f.kind, Located::new(&e.path, e.role, f)))
        })
    }
}

type Key = (String, bool);

struct Slot {
    facts: Arc<FileFacts>,
    tick: u64,
    bytes: usize,
}

/// Facts by blob id (and whether the path was a `.rs` file), least recently
/// used evicted past a count or a size.
pub struct Cache {
    map: HashMap<Key, Slot>,
    order: BTreeMap<u64, Key>,
    tick: u64,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    hits: u64,
    misses: u64,
}

impl Default for Cache {
    /// 100,000 files or about 256 MiB of facts.
    fn default() -> Self {
        Cache::new(100_000, 256 * 1024 * 1024)
    }
}

impl Cache {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Cache {
            map: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            max_entries,
            max_bytes,
            hits: 0,
            misses: 0,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Lookups that found an entry, and lookups that did not.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    fn get(&mut self, key: &Key) -> Option<Arc<FileFacts>> {
        self.tick += 1;
        let tick = self.tick;
        match self.map.get_mut(key) {
            Some(slot) => {
                self.order.remove(&slot.tick);
                slot.tick = tick;
                self.order.insert(tick, key.clone());
                self.hits += 1;
                Some(slot.facts.clone())
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    fn insert(&mut self, key: Key, facts: Arc<FileFacts>) {
        self.tick += 1;
        let bytes = facts.approx_bytes() + key.0.len();
        if let Some(old) = self.map.remove(&key) {
            self.order.remove(&old.tick);
            self.bytes -= old.bytes;
        }
        self.order.insert(self.tick, key.clone());
        self.map.insert(
            key,
            Slot {
                facts,
                tick: self.tick,
                bytes,
            },
        );
        self.bytes += bytes;
        while self.map.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(slot) = self.map.remove(&oldest) {
                self.bytes -= slot.bytes;
            }
        }
    }
}

fn serialize_arc<S: Serializer>(v: &Arc<FileFacts>, s: S) -> Result<S::Ok, S::Error> {
    v.as_ref().serialize(s)
}

/// The facts of one file, with its path (for callers that want the
/// per-file view).
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    pub path: String,
    pub role: Role,
    #[serde(serialize_with = "serialize_arc")]
    pub facts: Arc<FileFacts>,
}

impl CodeFacts {
    /// Files with findings, a magic number or a parse note, by path.
    pub fn files_with_facts(&self) -> Vec<FileView> {
        self.entries
            .iter()
            .filter(|e| {
                !e.facts.findings.is_empty()
                    || e.facts.magic.is_some()
                    || !matches!(e.facts.parse, ParseStatus::Parsed { .. } | ParseStatus::NotRust)
            })
            .map(|e| FileView {
                path: e.path.clone(),
                role: e.role,
                facts: e.facts.clone(),
            })
            .collect()
    }
}

/// A file to analyse: where its content is and how to read it.
struct Job {
    id: String,
    rust: bool,
    /// Only the magic number (too large to scan).
    magic_only: bool,
}

/// Analyses the jobs in parallel; `None` for a blob that could not be read.
fn run_jobs(jobs: &[Job], blobs: &dyn Blobs) -> Vec<Option<FileFacts>> {
    let mut results: Vec<Option<FileFacts>> = (0..jobs.len()).map(|_| None).collect();
    if jobs.is_empty() {
        return results;
    }
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(WORKERS);
    let job_rx = Mutex::new(job_rx);
    let (res_tx, res_rx) = mpsc::channel::<(usize, FileFacts)>();
    std::thread::scope(|s| {
        let mut workers = 0;
        for n in 0..WORKERS.min(jobs.len()) {
            let rx = &job_rx;
            let tx = res_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("cargofox-code-{n}"))
                .stack_size(STACK_BYTES)
                .spawn_scoped(s, move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => break,
                        };
                        let Ok((idx, bytes)) = job else { break };
                        let facts = analyse_job(&jobs[idx], &bytes, true);
                        drop(bytes);
                        if tx.send((idx, facts)).is_err() {
                            break;
                        }
                    }
                });
            if spawned.is_ok() {
                workers += 1;
            }
        }
        drop(res_tx);
        for (idx, job) in jobs.iter().enumerate() {
            let Some(bytes) = blobs.blob(&job.id) else { continue };
            if workers == 0 {
                // No thread for the parser: the token scanner only.
                results[idx] = Some(analyse_job(job, &bytes, false));
                continue;
            }
            if job_tx.send((idx, bytes)).is_err() {
                break;
            }
            while let Ok((i, f)) = res_rx.try_recv() {
                results[i] = Some(f);
            }
        }
        drop(job_tx);
        for (i, f) in res_rx.iter() {
            results[i] = Some(f);
        }
    });
    results
}

fn analyse_job(job: &Job, bytes: &[u8], use_syn: bool) -> FileFacts {
    if job.magic_only {
        let head = &bytes[..bytes.len().min(4096)];
        let mut f = analyse_content(false, head, false);
        f.findings.clear();
        f.counts.clear();
        f.lines = 0;
        f.size = bytes.len() as u64;
        f.kind = if f.magic.is_some() || crate::compare::is_binary(head) {
            super::FileKind::Binary
        } else {
            super::FileKind::Text
        };
        return f;
    }
    analyse_content(job.rust, bytes, use_syn)
}

/// `a/b/../c` to `a/c`; `./x` to `x`.
fn normalise(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        normalise(rel)
    } else {
        normalise(&format!("{dir}/{rel}"))
    }
}

/// Directories where a file's `mod x;` declarations are looked for: its
/// own directory for `lib.rs`, `main.rs`, `mod.rs` and the build script, a
/// directory named after it for other modules, both for files that may be
/// either (crate roots at the top, in `src/bin/`, `tests/`, `examples/`,
/// `benches/`).
fn module_dirs(path: &str, build: Option<&str>) -> Vec<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let own = parent(path).to_owned();
    let named = path.strip_suffix(".rs").unwrap_or(path).to_owned();
    if build == Some(path) || matches!(name, "lib.rs" | "main.rs" | "mod.rs" | "build.rs") {
        vec![own]
    } else if matches!(parent(path), "" | "src/bin" | "tests" | "benches" | "examples") {
        vec![own, named]
    } else {
        vec![named]
    }
}

const TEST_DIRS: &[&str] = &[
    "tests/",
    "benches/",
    "examples/",
    "fuzz/",
    "test/",
    "bench/",
    "example/",
];

/// Roles of the Rust files: build script reach, then test reach, else code.
fn roles(
    entries: &[(String, Arc<FileFacts>)],
    build_script: Option<&str>,
    rust_paths: &BTreeSet<String>,
) -> (BTreeMap<String, Role>, Vec<String>) {
    let build_norm = build_script.map(normalise);
    let by_path: BTreeMap<&str, &FileFacts> = entries.iter().map(|(p, f)| (p.as_str(), f.as_ref())).collect();
    // Children of a file: declared modules (with whether under cfg(test)) and
    // included files.
    let children = |path: &str| -> Vec<(String, bool)> {
        let Some(f) = by_path.get(path) else { return Vec::new() };
        let mut out = Vec::new();
        for dir in module_dirs(path, build_norm.as_deref()) {
            for m in &f.mods {
                let mut base = dir.clone();
                for i in &m.inline {
                    base = join(&base, i);
                }
                match &m.path {
                    Some(p) if m.inline.is_empty() => out.push((join(parent(path), p), m.test)),
                    Some(p) => out.push((join(&base, p), m.test)),
                    None => {
                        out.push((join(&base, &format!("{}.rs", m.name)), m.test));
                        out.push((join(&base, &format!("{}/mod.rs", m.name)), m.test));
                    }
                }
            }
        }
        for inc in &f.includes {
            out.push((join(parent(path), inc), false));
        }
        out
    };
    let reach = |starts: Vec<String>| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = starts
            .into_iter()
            .filter(|p| by_path.contains_key(p.as_str()))
            .collect();
        while let Some(p) = stack.pop() {
            if !seen.insert(p.clone()) {
                continue;
            }
            for (c, _) in children(&p) {
                if by_path.contains_key(c.as_str()) && !seen.contains(&c) {
                    stack.push(c);
                }
            }
        }
        seen
    };
    let build: BTreeSet<String> = match build_script {
        Some(b) => reach(vec![normalise(b)]),
        None => BTreeSet::new(),
    };
    // Test reach: files under test directories, and everything declared
    // under `#[cfg(test)]` (with what those declare).
    let mut test_starts: Vec<String> = rust_paths
        .iter()
        .filter(|p| TEST_DIRS.iter().any(|d| p.starts_with(d)))
        .cloned()
        .collect();
    for p in rust_paths {
        for (c, test) in children(p) {
            if test && by_path.contains_key(c.as_str()) {
                test_starts.push(c);
            }
        }
    }
    let test = reach(test_starts);
    let mut out = BTreeMap::new();
    for (p, _) in entries {
        let role = if build.contains(p) {
            Role::Build
        } else if !rust_paths.contains(p) {
            Role::Data
        } else if test.contains(p) {
            Role::Test
        } else {
            Role::Code
        };
        out.insert(p.clone(), role);
    }
    (out, build.into_iter().collect())
}

/// The code facts of a release. `build_script` is the manifest's build
/// script path (or `build.rs` when the manifest does not say and the file
/// exists), `proc_macro` whether `lib.proc-macro` is set. Files not in
/// `cache` are loaded through `blobs` and analysed on [`WORKERS`] threads.
pub fn analyse_release(
    files: &[FileEntry],
    blobs: &dyn Blobs,
    build_script: Option<&str>,
    proc_macro: bool,
    cache: &mut Cache,
) -> CodeFacts {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut skipped = Vec::new();
    let mut facts_by_idx: Vec<Option<Arc<FileFacts>>> = vec![None; sorted.len()];
    let mut jobs: Vec<Job> = Vec::new();
    let mut job_keys: Vec<Key> = Vec::new();
    let mut waiting: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, f) in sorted.iter().enumerate() {
        let path = display_path(&f.path);
        let rust = path.ends_with(".rs");
        if f.size > MAX_LOAD_BYTES {
            skipped.push(NotedFile {
                path,
                note: format!("not read: {} bytes, over the {} byte limit", f.size, MAX_LOAD_BYTES),
            });
            continue;
        }
        let key = (f.id.clone(), rust && f.size <= MAX_FILE_BYTES);
        if let Some(hit) = cache.get(&key) {
            facts_by_idx[i] = Some(hit);
            continue;
        }
        let w = waiting.entry(key.clone()).or_default();
        if w.is_empty() {
            jobs.push(Job {
                id: f.id.clone(),
                rust: key.1,
                magic_only: f.size > MAX_FILE_BYTES,
            });
            job_keys.push(key);
        }
        w.push(i);
    }
    let results = run_jobs(&jobs, blobs);
    for (key, result) in job_keys.into_iter().zip(results) {
        let idxs = waiting.remove(&key).unwrap_or_default();
        match result {
            Some(f) => {
                let f = Arc::new(f);
                cache.insert(key, f.clone());
                for i in idxs {
                    facts_by_idx[i] = Some(f.clone());
                }
            }
            None => {
                for i in idxs {
                    skipped.push(NotedFile {
                        path: display_path(&sorted[i].path),
                        note: "not read: the blob could not be loaded".to_owned(),
                    });
                }
            }
        }
    }
    for (i, f) in sorted.iter().enumerate() {
        if f.size > MAX_FILE_BYTES && f.size <= MAX_LOAD_BYTES && facts_by_idx[i].is_some() {
            skipped.push(NotedFile {
                path: display_path(&f.path),
                note: format!(
                    "magic number only: {} bytes, over the {} byte scan limit",
                    f.size, MAX_FILE_BYTES
                ),
            });
        }
    }
    let analysed: Vec<(String, Arc<FileFacts>, &FileEntry)> = sorted
        .iter()
        .zip(facts_by_idx)
        .filter_map(|(f, facts)| facts.map(|x| (display_path(&f.path), x, *f)))
        .collect();
    let pairs: Vec<(String, Arc<FileFacts>)> = analysed.iter().map(|(p, f, _)| (p.clone(), f.clone())).collect();
    let rust_paths: BTreeSet<String> = sorted
        .iter()
        .map(|f| display_path(&f.path))
        .filter(|p| p.ends_with(".rs"))
        .collect();
    let (role_of, build_files) = roles(&pairs, build_script, &rust_paths);
    let entries: Vec<Entry> = analysed
        .iter()
        .map(|(p, f, _)| Entry {
            path: p.clone(),
            role: role_of.get(p).copied().unwrap_or(Role::Data),
            facts: f.clone(),
        })
        .collect();
    aggregate(
        entries,
        &analysed,
        sorted.len(),
        rust_paths.len(),
        build_script,
        build_files,
        proc_macro,
        skipped,
    )
}

#[allow(clippy::too_many_arguments)]
fn aggregate(
    entries: Vec<Entry>,
    analysed: &[(String, Arc<FileFacts>, &FileEntry)],
    files: usize,
    rust_files: usize,
    build_script: Option<&str>,
    build_files: Vec<String>,
    proc_macro: bool,
    mut skipped: Vec<NotedFile>,
) -> CodeFacts {
    let mut kinds: BTreeMap<FactKind, KindFacts> = BTreeMap::new();
    let (mut parsed, mut recovered, mut tokens_only) = (0, 0, 0);
    let mut unparsed = Vec::new();
    let mut includes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &entries {
        match &e.facts.parse {
            ParseStatus::Parsed { .. } => parsed += 1,
            ParseStatus::Recovered { error, line, .. } => {
                recovered += 1;
                unparsed.push(NotedFile {
                    path: e.path.clone(),
                    note: format!("syn rejected it at line {line} ({error}); parsed again piece by piece"),
                });
            }
            ParseStatus::TokensOnly { reason } => {
                tokens_only += 1;
                unparsed.push(NotedFile {
                    path: e.path.clone(),
                    note: format!("token scanned only: {reason}"),
                });
            }
            ParseStatus::NotRust => {}
        }
        for c in &e.facts.counts {
            let k = kinds.entry(c.kind).or_insert_with(|| KindFacts {
                kind: c.kind,
                total: 0,
                by_role: [Role::Build, Role::Code, Role::Test, Role::Data]
                    .into_iter()
                    .map(|r| (r, 0))
                    .collect(),
                shown: Vec::new(),
                omitted: 0,
            });
            k.total += u64::from(c.total);
            *k.by_role.entry(e.role).or_default() += u64::from(c.total - c.in_test);
            *k.by_role.entry(Role::Test).or_default() += u64::from(c.in_test);
        }
        for f in &e.facts.findings {
            if let Some(k) = kinds.get_mut(&f.kind)
                && k.shown.len() < MAX_SHOWN
            {
                k.shown.push(Located::new(&e.path, e.role, f));
            }
            if f.kind == FactKind::Include
                && let Some(lit) = f.detail.split('"').nth(1)
            {
                includes
                    .entry(join(parent(&e.path), lit))
                    .or_default()
                    .push(format!("{}:{}", e.path, f.line));
            }
        }
    }
    for k in kinds.values_mut() {
        k.omitted = k.total - k.shown.len() as u64;
    }
    let unsafe_total = kinds
        .values()
        .filter(|k| k.kind.is_unsafe())
        .map(|k| k.by_role[&Role::Build] + k.by_role[&Role::Code])
        .sum();
    let binaries = analysed
        .iter()
        .filter_map(|(p, f, e)| {
            f.magic.map(|magic| BinaryFile {
                path: p.clone(),
                id: e.id.clone(),
                magic,
                size: e.size,
                executable_bit: e.executable,
                included_by: includes.get(p).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let build = build_script.map(|b| {
        let path = normalise(b);
        let mut env_vars = BTreeSet::new();
        let count = |kind: FactKind| -> u64 {
            entries
                .iter()
                .filter(|e| e.role == Role::Build)
                .map(|e| {
                    let c = e.facts.count(kind);
                    u64::from(c.total - c.in_test)
                })
                .sum()
        };
        let (process, network, fs_write, env_read) = (
            count(FactKind::Process),
            count(FactKind::Network),
            count(FactKind::FsWrite),
            count(FactKind::EnvRead),
        );
        for e in entries.iter().filter(|e| e.role == Role::Build) {
            for f in e.facts.findings.iter().filter(|f| f.kind == FactKind::EnvRead) {
                if let Some(v) = f.detail.split('"').nth(1) {
                    env_vars.insert(v.to_owned());
                }
            }
        }
        BuildScriptFacts {
            present: build_files.contains(&path),
            path,
            files: build_files.clone(),
            process,
            network,
            fs_write,
            env_read,
            env_vars: env_vars.into_iter().collect(),
        }
    });
    skipped.sort();
    CodeFacts {
        files,
        rust_files,
        parsed,
        recovered,
        tokens_only,
        proc_macro,
        build_script: build,
        unsafe_total,
        kinds: kinds.into_values().collect(),
        binaries,
        unparsed,
        skipped,
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise() {
        assert_eq!(normalise("./a/b/../c.rs"), "a/c.rs");
        assert_eq!(join("src", "../data/x.bin"), "data/x.bin");
        assert_eq!(module_dirs("src/lib.rs", None), vec!["src"]);
        assert_eq!(module_dirs("src/net.rs", None), vec!["src/net"]);
        assert_eq!(module_dirs("src/net/mod.rs", None), vec!["src/net"]);
        assert_eq!(module_dirs("build/main.rs", Some("build/main.rs")), vec!["build"]);
        assert_eq!(module_dirs("tests/it.rs", None), vec!["tests", "tests/it"]);
    }

    #[test]
    fn cache_evicts_least_recently_used() {
        let f = Arc::new(super::super::file::analyse_content(false, b"x", false));
        let mut c = Cache::new(2, usize::MAX);
        c.insert(("a".into(), true), f.clone());
        c.insert(("b".into(), true), f.clone());
        assert!(c.get(&("a".into(), true)).is_some());
        c.insert(("c".into(), true), f.clone());
        assert!(c.get(&("b".into(), true)).is_none());
        assert!(c.get(&("a".into(), true)).is_some());
        assert_eq!(c.len(), 2);
        let mut small = Cache::new(10, 1);
        small.insert(("a".into(), true), f);
        assert!(small.is_empty());
    }
}
