//! `cargofox check LOCKFILE`: what the audit repository says about each
//! package of a project's `Cargo.lock`, offline. For every crates.io package
//! it reads `crates/<ix>/<name>/<stem>.json` and reports whether the release
//! is audited, whether the lockfile's checksum equals the audited sha256 (a
//! mismatch is the headline finding: what the project downloads is not what
//! was audited), the yank status and the signals. Packages from other
//! sources are listed as not covered, crates.io packages without a report as
//! not audited: nothing is passed silently.
//!
//! `--since OLD.lock` lists only what changed and, for an upgrade from A to
//! B, every audited release in (A, B]. `--deny CODE,...` turns chosen codes
//! into findings (exit 1) for CI. The lockfile and the audit repository are
//! both untrusted: names and versions are validated before they become
//! paths, and text from either reaches the terminal only sanitised. The
//! output (human and JSON) is documented in docs/CHECK.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize as _, Serialize};

use crate::lockfile::{self, Lockfile, Package, Source, sanitize};
use crate::output::Output;
use crate::report::model::{ReportSummary, SCHEMA_VERSION};
use crate::report::paths::{crate_dir, version_stem};
use crate::signals;
use crate::types::{CrateName, Sha256, VersionStr};

use super::Outcome;

/// Version of the `--format json` document.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Codes `--deny` accepts besides the signal codes of [`signals::CODES`].
pub const STATUS_CODES: &[(&str, &str)] = &[
    (
        "not-audited",
        "a crates.io package (or, with --since, a release it brings in) has no report",
    ),
    ("not-covered", "a package comes from git, a path or another registry"),
    ("yanked", "the report says the release was yanked"),
];

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The lockfile's bytes.
    pub lockfile: Vec<u8>,
    /// Its name, for messages (e.g. the path given on the command line).
    pub lockfile_name: String,
    /// `--since`: the older lockfile's bytes.
    pub since: Option<Vec<u8>>,
    /// The audit repository (a working copy or any clone).
    pub audit: PathBuf,
    /// `--deny`: codes that make the run fail (each element may itself be a
    /// comma-separated list).
    pub deny: Vec<String>,
    /// `--format json`.
    pub json: bool,
}

/// Where a package stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Audited,
    NotAudited,
    NotCovered,
    Invalid,
}

impl Status {
    fn code(self) -> &'static str {
        match self {
            Status::Audited => "audited",
            Status::NotAudited => "not-audited",
            Status::NotCovered => "not-covered",
            Status::Invalid => "invalid",
        }
    }
}

/// The lockfile's checksum against the audited sha256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checksum {
    Match,
    Mismatch,
    NotInLockfile,
    NotCompared,
}

impl Checksum {
    fn code(self) -> &'static str {
        match self {
            Checksum::Match => "match",
            Checksum::Mismatch => "mismatch",
            Checksum::NotInLockfile => "no-checksum-in-lockfile",
            Checksum::NotCompared => "not-compared",
        }
    }
}

/// How a package differs from the `--since` lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Added,
    Upgraded(String),
    Downgraded(String),
    SourceChanged(String),
    ChecksumChanged(String),
}

impl Change {
    fn code(&self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Upgraded(_) => "upgraded",
            Change::Downgraded(_) => "downgraded",
            Change::SourceChanged(_) => "source-changed",
            Change::ChecksumChanged(_) => "checksum-changed",
        }
    }

    fn from(&self) -> Option<&str> {
        match self {
            Change::Added => None,
            Change::Upgraded(v) | Change::Downgraded(v) | Change::SourceChanged(v) | Change::ChecksumChanged(v) => {
                Some(v)
            }
        }
    }
}

/// What cargofox reads from one report.
#[derive(Debug, Clone)]
struct Loaded {
    /// Path inside the audit repository.
    rel: String,
    version: VersionStr,
    semver: Option<semver::Version>,
    yanked: bool,
    sha256: Sha256,
    signals: Vec<String>,
    /// `facts.previous.version`: a release known to exist.
    previous: Option<String>,
}

/// Reads reports from the audit repository, a crate directory at most once.
struct Reports<'a> {
    root: &'a Path,
    dirs: BTreeMap<String, Vec<Loaded>>,
}

impl<'a> Reports<'a> {
    fn new(root: &'a Path) -> Self {
        Reports {
            root,
            dirs: BTreeMap::new(),
        }
    }

    /// The report of one release, if there is one.
    fn one(&self, name: &CrateName, version: &VersionStr) -> anyhow::Result<Option<Loaded>> {
        let rel = format!("{}/{}.json", crate_dir(name), version_stem(version));
        let Some(bytes) = read_regular(&self.root.join(&rel))? else {
            return Ok(None);
        };
        let loaded = load(&rel, &bytes, name)?;
        if loaded.version != *version {
            bail!(
                "the report {rel} is for version {}, not {version}: the audit repository is inconsistent",
                loaded.version
            );
        }
        Ok(Some(loaded))
    }

    /// Every report of a crate (the `*.json` files of its directory).
    fn all(&mut self, name: &CrateName) -> anyhow::Result<&[Loaded]> {
        let dir = crate_dir(name);
        if !self.dirs.contains_key(&dir) {
            let loaded = self.scan(name, &dir)?;
            self.dirs.insert(dir.clone(), loaded);
        }
        Ok(self.dirs.get(&dir).map(Vec::as_slice).unwrap_or_default())
    }

    fn scan(&self, name: &CrateName, dir: &str) -> anyhow::Result<Vec<Loaded>> {
        let path = self.root.join(dir);
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", path.display()))?;
            let file_name = entry.file_name();
            // Only names cargofox writes: `<stem>.json`, ASCII.
            let Some(stem) = file_name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let rel = format!("{dir}/{stem}.json");
            let Some(bytes) = read_regular(&self.root.join(&rel))? else {
                continue;
            };
            let loaded = load(&rel, &bytes, name)?;
            if version_stem(&loaded.version) != stem {
                bail!(
                    "the report {} is for version {}: the audit repository is inconsistent",
                    sanitize(&rel),
                    loaded.version
                );
            }
            out.push(loaded);
        }
        Ok(out)
    }
}

/// A regular file's bytes; `None` when it does not exist. A symbolic link
/// or anything else in its place is an error: cargofox never writes one, so
/// the audit repository has been tampered with.
fn read_regular(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => std::fs::read(path)
            .map(Some)
            .with_context(|| format!("reading {}", path.display())),
        Ok(_) => bail!(
            "{} is not a regular file (cargofox writes only regular files into the audit repository)",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Parse a report's JSON, checking the keys `check` relies on.
fn load(rel: &str, bytes: &[u8], name: &CrateName) -> anyhow::Result<Loaded> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).with_context(|| format!("the report {} is not JSON", sanitize(rel)))?;
    let summary = ReportSummary::deserialize(&value)
        .with_context(|| format!("the report {} is not a cargofox report", sanitize(rel)))?;
    if summary.schema_version > SCHEMA_VERSION {
        bail!(
            "the report {} has schema version {}; this cargofox reads up to {SCHEMA_VERSION} (upgrade cargofox)",
            sanitize(rel),
            summary.schema_version
        );
    }
    let krate = value.get("crate").and_then(|v| v.as_str()).unwrap_or_default();
    if !krate.eq_ignore_ascii_case(name.as_str()) {
        bail!(
            "the report {} is for the crate \"{}\", not {name}: the audit repository is inconsistent",
            sanitize(rel),
            sanitize(krate)
        );
    }
    let version = VersionStr::new(&summary.version)
        .with_context(|| format!("the report {} has an invalid version", sanitize(rel)))?;
    let sha256 = Sha256::from_hex(&summary.facts.sha256)
        .with_context(|| format!("the report {} has an invalid sha256", sanitize(rel)))?;
    let previous = value
        .pointer("/facts/previous/version")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Ok(Loaded {
        rel: rel.to_owned(),
        semver: version.semver(),
        version,
        yanked: summary.yanked,
        sha256,
        signals: summary.signals.into_iter().map(|s| s.code).collect(),
        previous,
    })
}

/// A release brought in by a change (`--since`).
#[derive(Debug, Clone, Serialize)]
struct Release {
    version: String,
    report: String,
    yanked: bool,
    signals: Vec<String>,
}

/// One listed package, examined.
#[derive(Debug, Clone)]
struct Entry {
    pkg: Package,
    valid: Option<(CrateName, VersionStr, semver::Version)>,
    status: Status,
    problem: Option<String>,
    report: Option<Loaded>,
    checksum: Checksum,
    change: Option<Change>,
    /// `--since` only: the releases the change brings in.
    releases: Option<Vec<Release>>,
    /// `--since` only: releases among them known to exist without a report.
    not_audited: Option<Vec<String>>,
    denied: Vec<String>,
}

/// Validate a package's name and version (they become paths).
fn validate(pkg: &Package) -> Result<(CrateName, VersionStr, semver::Version), String> {
    let name = CrateName::new(&pkg.name).map_err(|_| {
        "invalid crate name: expected 1-64 ASCII letters, digits, '-' or '_', starting with a letter".to_owned()
    })?;
    let version = VersionStr::new(&pkg.version)
        .map_err(|_| "invalid version: expected printable ASCII without spaces".to_owned())?;
    let semver = version
        .semver()
        .ok_or_else(|| "invalid version: not semver (cargo requires it)".to_owned())?;
    Ok((name, version, semver))
}

fn examine(pkg: &Package, reports: &Reports<'_>) -> anyhow::Result<Entry> {
    let mut entry = Entry {
        pkg: pkg.clone(),
        valid: None,
        status: Status::Invalid,
        problem: None,
        report: None,
        checksum: Checksum::NotCompared,
        change: None,
        releases: None,
        not_audited: None,
        denied: Vec::new(),
    };
    let (name, version, semver) = match validate(pkg) {
        Ok(v) => v,
        Err(problem) => {
            entry.problem = Some(problem);
            return Ok(entry);
        }
    };
    if pkg.source != Source::CratesIo {
        entry.status = Status::NotCovered;
    } else if let Some(report) = reports.one(&name, &version)? {
        entry.status = Status::Audited;
        entry.checksum = match &pkg.checksum {
            None => Checksum::NotInLockfile,
            Some(sum) if Sha256::from_hex(sum).is_ok_and(|s| s == report.sha256) => Checksum::Match,
            Some(_) => Checksum::Mismatch,
        };
        entry.report = Some(report);
    } else {
        entry.status = Status::NotAudited;
    }
    entry.valid = Some((name, version, semver));
    Ok(entry)
}

/// Packages that are "the same line" across two lockfiles: same name, same
/// source (a git source without its `#commit`).
fn group_key(p: &Package) -> (String, Source) {
    let source = match &p.source {
        Source::Git(url) => Source::Git(url.split('#').next().unwrap_or_default().to_owned()),
        other => other.clone(),
    };
    (p.name.clone(), source)
}

fn identical(a: &Package, b: &Package) -> bool {
    a.name == b.name && a.version == b.version && a.source == b.source && a.checksum == b.checksum
}

/// cargo's compatibility range: `1.x.y` with `1.z.w`, `0.2.x` with `0.2.y`.
fn compat(v: &semver::Version) -> (u64, u64, u64) {
    match (v.major, v.minor) {
        (0, 0) => (0, 0, v.patch),
        (0, minor) => (0, minor, 0),
        (major, _) => (major, 0, 0),
    }
}

/// Pair the new packages of one group with the old ones they replace:
/// the same version (source or checksum changed), else the same
/// compatibility range, else the highest lower version, else the lowest
/// higher one; unpaired new packages are added. Returns the change of each
/// new package and the old packages left over (removed).
fn pair<'a>(new: &[&Package], old: &[&'a Package]) -> (Vec<Change>, Vec<&'a Package>) {
    let sv = |p: &Package| semver::Version::parse(&p.version).ok();
    let mut used = vec![false; old.len()];
    let mut changes = vec![Change::Added; new.len()];
    let take = |used: &mut Vec<bool>, j: usize| {
        used[j] = true;
        old[j].version.clone()
    };
    // Pass 1: same version string.
    for (i, n) in new.iter().enumerate() {
        if let Some(j) = (0..old.len()).find(|&j| !used[j] && old[j].version == n.version) {
            let from = take(&mut used, j);
            changes[i] = if old[j].source != n.source {
                Change::SourceChanged(from)
            } else {
                Change::ChecksumChanged(from)
            };
        }
    }
    let versioned = |p: &Package, j: usize| sv(p).map(|v| (v, j));
    let direction = |from: &semver::Version, to: &semver::Version, v: String| {
        if from < to {
            Change::Upgraded(v)
        } else {
            Change::Downgraded(v)
        }
    };
    // Pass 2: the same compatibility range (the highest old one).
    for (i, n) in new.iter().enumerate() {
        let (Change::Added, Some(nv)) = (&changes[i], sv(n)) else {
            continue;
        };
        let best = (0..old.len())
            .filter(|&j| !used[j])
            .filter_map(|j| versioned(old[j], j))
            .filter(|(ov, _)| compat(ov) == compat(&nv))
            .max();
        if let Some((ov, j)) = best {
            let from = take(&mut used, j);
            changes[i] = direction(&ov, &nv, from);
        }
    }
    // Pass 3: the highest lower version, else the lowest higher one.
    for (i, n) in new.iter().enumerate() {
        let (Change::Added, Some(nv)) = (&changes[i], sv(n)) else {
            continue;
        };
        let candidates: Vec<(semver::Version, usize)> = (0..old.len())
            .filter(|&j| !used[j])
            .filter_map(|j| versioned(old[j], j))
            .collect();
        let lower = candidates.iter().filter(|(ov, _)| *ov < nv).max().cloned();
        let higher = candidates.iter().filter(|(ov, _)| *ov > nv).min().cloned();
        if let Some((ov, j)) = lower.or(higher) {
            let from = take(&mut used, j);
            changes[i] = direction(&ov, &nv, from);
        }
    }
    let removed = old.iter().zip(&used).filter(|(_, u)| !**u).map(|(p, _)| *p).collect();
    (changes, removed)
}

/// Each new package's change against the old lockfile (`None`: unchanged),
/// and the old packages that are gone.
fn diff_lockfiles(new: &Lockfile, old: &Lockfile) -> (Vec<Option<Change>>, Vec<Package>) {
    let mut changes: Vec<Option<Change>> = vec![None; new.packages.len()];
    // Per line of packages: the new ones (by index) and the old ones that
    // are not identical to any new one.
    type Group<'a> = (Vec<usize>, Vec<&'a Package>);
    let mut groups: BTreeMap<(String, Source), Group<'_>> = BTreeMap::new();
    for (i, p) in new.packages.iter().enumerate() {
        if !old.packages.iter().any(|o| identical(o, p)) {
            groups.entry(group_key(p)).or_default().0.push(i);
        }
    }
    for o in &old.packages {
        if !new.packages.iter().any(|p| identical(o, p)) {
            groups.entry(group_key(o)).or_default().1.push(o);
        }
    }
    let mut removed = Vec::new();
    for (idx, olds) in groups.values() {
        let news: Vec<&Package> = idx.iter().map(|&i| &new.packages[i]).collect();
        let (group_changes, gone) = pair(&news, olds);
        for (&i, c) in idx.iter().zip(group_changes) {
            changes[i] = Some(c);
        }
        removed.extend(gone.into_iter().cloned());
    }
    (changes, removed)
}

/// `--since`: the releases a change brings in (every audited release in
/// (A, B] for an upgrade, B alone otherwise) and those known to exist in
/// that range without a report (B itself, or a release a report names as
/// its previous one).
fn releases_of(entry: &mut Entry, reports: &mut Reports<'_>) -> anyhow::Result<()> {
    let Some((name, version, to)) = entry.valid.clone() else {
        return Ok(());
    };
    if entry.status != Status::Audited && entry.status != Status::NotAudited {
        return Ok(());
    }
    let lower = match &entry.change {
        Some(Change::Upgraded(from)) => semver::Version::parse(from).ok(),
        _ => None,
    };
    let in_range = |v: &semver::Version| match &lower {
        Some(from) => from < v && *v <= to,
        None => *v == to,
    };
    let all = reports.all(&name)?;
    let mut releases: Vec<&Loaded> = all.iter().filter(|r| r.semver.as_ref().is_some_and(in_range)).collect();
    releases.sort_by(|a, b| a.semver.cmp(&b.semver).then_with(|| a.version.cmp(&b.version)));
    let have: BTreeSet<&str> = all.iter().map(|r| r.version.as_str()).collect();
    let mut missing: BTreeMap<semver::Version, String> = BTreeMap::new();
    if entry.status == Status::NotAudited {
        missing.insert(to.clone(), version.as_str().to_owned());
    }
    for prev in all.iter().filter_map(|r| r.previous.as_deref()) {
        if have.contains(prev) || VersionStr::new(prev).is_err() {
            continue;
        }
        if let Ok(v) = semver::Version::parse(prev)
            && in_range(&v)
        {
            missing.insert(v, prev.to_owned());
        }
    }
    entry.releases = Some(
        releases
            .into_iter()
            .map(|r| Release {
                version: r.version.as_str().to_owned(),
                report: r.rel.clone(),
                yanked: r.yanked,
                signals: r.signals.clone(),
            })
            .collect(),
    );
    entry.not_audited = Some(missing.into_values().collect());
    Ok(())
}

/// The `--deny` codes, validated, sorted and without duplicates.
fn deny_codes(deny: &[String]) -> anyhow::Result<Vec<String>> {
    let known: BTreeSet<&str> = signals::CODES
        .iter()
        .chain(STATUS_CODES)
        .map(|(code, _)| *code)
        .collect();
    let mut out = BTreeSet::new();
    for code in deny.iter().flat_map(|d| d.split(',')).map(str::trim) {
        if code.is_empty() {
            continue;
        }
        if !known.contains(code) {
            bail!(
                "--deny: unknown code \"{}\" (known: {})",
                sanitize(code),
                known.iter().copied().collect::<Vec<_>>().join(", ")
            );
        }
        out.insert(code.to_owned());
    }
    Ok(out.into_iter().collect())
}

/// Which denied codes an entry hits.
fn denied(entry: &Entry, deny: &[String]) -> Vec<String> {
    let mut hit = BTreeSet::new();
    let own = entry.report.iter().flat_map(|r| r.signals.iter());
    let brought = entry.releases.iter().flatten().flat_map(|r| r.signals.iter());
    for code in own.chain(brought) {
        if deny.contains(code) {
            hit.insert(code.clone());
        }
    }
    let flag = |code: &str, on: bool, hit: &mut BTreeSet<String>| {
        if on && deny.iter().any(|d| d == code) {
            hit.insert(code.to_owned());
        }
    };
    let gaps = entry.not_audited.as_ref().is_some_and(|m| !m.is_empty());
    flag("not-audited", entry.status == Status::NotAudited || gaps, &mut hit);
    flag("not-covered", entry.status == Status::NotCovered, &mut hit);
    flag("yanked", entry.report.as_ref().is_some_and(|r| r.yanked), &mut hit);
    hit.into_iter().collect()
}

/// Sort order: name, then version (semver where both parse), then source.
fn order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    let sv = |e: &Entry| e.valid.as_ref().map(|(_, _, v)| v.clone());
    a.pkg
        .name
        .cmp(&b.pkg.name)
        .then_with(|| match (sv(a), sv(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => std::cmp::Ordering::Equal,
        })
        .then_with(|| a.pkg.version.cmp(&b.pkg.version))
        .then_with(|| a.pkg.source.cmp(&b.pkg.source))
        .then_with(|| a.pkg.line.cmp(&b.pkg.line))
}

#[derive(Debug, Default, Clone, Serialize)]
struct Counts {
    packages: usize,
    listed: usize,
    audited: usize,
    not_audited: usize,
    not_covered: usize,
    invalid: usize,
    checksum_mismatches: usize,
    denied: usize,
}

#[derive(Debug, Default, Clone, Serialize)]
struct ChangeCounts {
    added: usize,
    upgraded: usize,
    downgraded: usize,
    changed_in_place: usize,
    removed: usize,
}

/// Check a lockfile against the audit repository.
pub fn run(opts: &CheckOptions, out: &mut Output) -> anyhow::Result<Outcome> {
    let deny = deny_codes(&opts.deny)?;
    if !opts.audit.is_dir() {
        bail!(
            "no audit repository at {} (clone one and pass --audit DIR, or build one with `cargofox sync`)",
            opts.audit.display()
        );
    }
    let lock = lockfile::parse(&opts.lockfile).with_context(|| format!("reading {}", sanitize(&opts.lockfile_name)))?;
    let old = match &opts.since {
        Some(bytes) => Some(lockfile::parse(bytes).context("reading the --since lockfile")?),
        None => None,
    };

    let mut reports = Reports::new(&opts.audit);
    let mut entries = Vec::with_capacity(lock.packages.len());
    for pkg in &lock.packages {
        entries.push(examine(pkg, &reports)?);
    }

    let mut removed = Vec::new();
    let mut change_counts = None;
    if let Some(old) = &old {
        let (changes, gone) = diff_lockfiles(&lock, old);
        for (entry, change) in entries.iter_mut().zip(changes) {
            entry.change = change;
        }
        // Only what changed, and any checksum mismatch (never hidden).
        entries.retain(|e| e.change.is_some() || e.checksum == Checksum::Mismatch);
        for entry in &mut entries {
            if entry.change.is_some() {
                releases_of(entry, &mut reports)?;
            }
        }
        let mut counts = ChangeCounts {
            removed: gone.len(),
            ..ChangeCounts::default()
        };
        for c in entries.iter().filter_map(|e| e.change.as_ref()) {
            match c {
                Change::Added => counts.added += 1,
                Change::Upgraded(_) => counts.upgraded += 1,
                Change::Downgraded(_) => counts.downgraded += 1,
                Change::SourceChanged(_) | Change::ChecksumChanged(_) => counts.changed_in_place += 1,
            }
        }
        change_counts = Some(counts);
        removed = gone;
        removed.sort_by(|a, b| (&a.name, &a.version, &a.source, a.line).cmp(&(&b.name, &b.version, &b.source, b.line)));
    }
    for entry in &mut entries {
        entry.denied = denied(entry, &deny);
    }
    entries.sort_by(order);

    let mut counts = Counts {
        packages: lock.packages.len(),
        listed: entries.len(),
        ..Counts::default()
    };
    for e in &entries {
        match e.status {
            Status::Audited => counts.audited += 1,
            Status::NotAudited => counts.not_audited += 1,
            Status::NotCovered => counts.not_covered += 1,
            Status::Invalid => counts.invalid += 1,
        }
        counts.checksum_mismatches += usize::from(e.checksum == Checksum::Mismatch);
        counts.denied += usize::from(!e.denied.is_empty());
    }
    let outcome = if counts.checksum_mismatches + counts.invalid + counts.denied > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    };

    let view = View {
        opts,
        lock: &lock,
        old: old.as_ref(),
        deny: &deny,
        entries: &entries,
        removed: &removed,
        counts: &counts,
        change_counts: change_counts.as_ref(),
        outcome,
    };
    if opts.json {
        view.json(out)?;
    } else {
        view.human(out);
    }
    Ok(outcome)
}

/// Everything the output needs.
struct View<'a> {
    opts: &'a CheckOptions,
    lock: &'a Lockfile,
    old: Option<&'a Lockfile>,
    deny: &'a [String],
    entries: &'a [Entry],
    removed: &'a [Package],
    counts: &'a Counts,
    change_counts: Option<&'a ChangeCounts>,
    outcome: Outcome,
}

/// Untrusted text in quotes, sanitised.
fn quoted(s: &str) -> String {
    format!("\"{}\"", sanitize(s))
}

/// A name or version as printed: as it is when valid, else quoted and
/// sanitised.
fn shown_name(s: &str) -> String {
    if CrateName::new(s).is_ok() {
        s.to_owned()
    } else {
        quoted(s)
    }
}

fn shown_version(s: &str) -> String {
    if VersionStr::new(s).is_ok() {
        s.to_owned()
    } else {
        quoted(s)
    }
}

fn signal_list(codes: &[String]) -> String {
    if codes.is_empty() {
        "no signals".to_owned()
    } else {
        format!(
            "signals: {}",
            codes.iter().map(|c| sanitize(c)).collect::<Vec<_>>().join(", ")
        )
    }
}

impl View<'_> {
    fn human(&self, out: &mut Output) {
        let lockfile_name = sanitize(&self.opts.lockfile_name);
        for e in self.entries.iter().filter(|e| e.checksum == Checksum::Mismatch) {
            if let Some(r) = &e.report {
                out.line(&format!(
                    "MISMATCH {} {}: {lockfile_name} has checksum {}, the audited .crate has sha256 {} ({}): \
                     the registry or a mirror served something other than what was audited",
                    e.pkg.name,
                    e.pkg.version,
                    sanitize(e.pkg.checksum.as_deref().unwrap_or_default()),
                    r.sha256,
                    r.rel
                ));
            }
        }
        for e in self.entries {
            out.line(&self.line(e));
            if matches!(e.change, Some(Change::Upgraded(_))) {
                for r in e.releases.iter().flatten() {
                    let yanked = if r.yanked { "  yanked" } else { "" };
                    out.line(&format!("    {}  {}{yanked}", r.version, signal_list(&r.signals)));
                }
            }
            if let Some(missing) = e.not_audited.as_ref().filter(|m| !m.is_empty())
                && matches!(e.change, Some(Change::Upgraded(_)))
            {
                out.line(&format!(
                    "    not audited: {}",
                    missing.iter().map(|v| shown_version(v)).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for p in self.removed {
            out.line(&format!(
                "{} {}  removed",
                shown_name(&p.name),
                shown_version(&p.version)
            ));
        }
        if let (Some(old), Some(c)) = (self.old, self.change_counts) {
            out.line(&format!(
                "changes since the --since lockfile (lockfile v{}): {} added, {} upgraded, {} downgraded, {} changed in place, {} removed",
                old.version, c.added, c.upgraded, c.downgraded, c.changed_in_place, c.removed
            ));
        }
        let c = self.counts;
        let listed = if self.old.is_some() {
            format!(", {} listed", c.listed)
        } else {
            String::new()
        };
        let denied = if self.deny.is_empty() {
            String::new()
        } else {
            format!("; denied: {} (--deny {})", c.denied, self.deny.join(","))
        };
        out.line(&format!(
            "summary: {lockfile_name} (lockfile v{}): {} packages{listed}: {} audited, {} not audited, {} not covered, {} invalid; checksum mismatches: {}{denied}",
            self.lock.version, c.packages, c.audited, c.not_audited, c.not_covered, c.invalid, c.checksum_mismatches
        ));
        out.line("provenance and owner changes: not yet recorded in the reports");
    }

    fn line(&self, e: &Entry) -> String {
        if e.status == Status::Invalid {
            return format!(
                "invalid package {} {} (line {}): {}",
                quoted(&e.pkg.name),
                quoted(&e.pkg.version),
                e.pkg.line,
                e.problem.as_deref().unwrap_or_default()
            );
        }
        let (name, version) = (&e.pkg.name, &e.pkg.version);
        let head = match &e.change {
            None => format!("{name} {version}"),
            Some(Change::Added) => format!("{name} {version} (added)"),
            Some(Change::Upgraded(from)) => format!("{name} {} -> {version}", shown_version(from)),
            Some(Change::Downgraded(from)) => format!("{name} {} -> {version} (downgrade)", shown_version(from)),
            Some(Change::SourceChanged(_)) => format!("{name} {version} (source changed)"),
            Some(Change::ChecksumChanged(_)) => format!("{name} {version} (checksum changed)"),
        };
        let mut s = match e.status {
            Status::Audited => {
                let sum = match e.checksum {
                    Checksum::Match => "checksum ok",
                    Checksum::Mismatch => "checksum MISMATCH",
                    Checksum::NotInLockfile => "no checksum in lockfile",
                    Checksum::NotCompared => "checksum not compared",
                };
                let signals = e.report.as_ref().map(|r| signal_list(&r.signals)).unwrap_or_default();
                let yanked = if e.report.as_ref().is_some_and(|r| r.yanked) {
                    "  yanked"
                } else {
                    ""
                };
                format!("{head}  audited  {sum}  {signals}{yanked}")
            }
            Status::NotAudited => format!("{head}  not audited"),
            Status::NotCovered => match e.pkg.source.detail() {
                Some(detail) => format!("{head}  not covered ({} {})", e.pkg.source.kind(), sanitize(detail)),
                None => format!("{head}  not covered ({})", e.pkg.source.kind()),
            },
            Status::Invalid => head,
        };
        if !e.denied.is_empty() {
            s.push_str(&format!("  DENIED: {}", e.denied.join(", ")));
        }
        s
    }

    fn json(&self, out: &mut Output) -> anyhow::Result<()> {
        let doc = JsonDoc {
            schema_version: JSON_SCHEMA_VERSION,
            lockfile: JsonLockfile {
                name: &self.opts.lockfile_name,
                version: self.lock.version,
            },
            since: self.old.map(|o| JsonSince { version: o.version }),
            deny: self.deny,
            outcome: match self.outcome {
                Outcome::Clean => "clean",
                Outcome::Findings => "findings",
            },
            counts: self.counts,
            changes: self.change_counts,
            packages: self.entries.iter().map(json_entry).collect(),
            removed: self.old.map(|_| self.removed.iter().map(json_package_ref).collect()),
        };
        out.line(&serde_json::to_string_pretty(&doc)?);
        Ok(())
    }
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    schema_version: u32,
    lockfile: JsonLockfile<'a>,
    since: Option<JsonSince>,
    deny: &'a [String],
    outcome: &'static str,
    counts: &'a Counts,
    changes: Option<&'a ChangeCounts>,
    packages: Vec<JsonEntry<'a>>,
    removed: Option<Vec<JsonPackageRef<'a>>>,
}

#[derive(Serialize)]
struct JsonLockfile<'a> {
    name: &'a str,
    version: u32,
}

#[derive(Serialize)]
struct JsonSince {
    version: u32,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    kind: &'static str,
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonChecksum<'a> {
    status: &'static str,
    lockfile: Option<&'a str>,
    audited: Option<String>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    kind: &'static str,
    from: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    name: &'a str,
    version: &'a str,
    source: JsonSource<'a>,
    line: usize,
    status: &'static str,
    problem: Option<&'a str>,
    report: Option<&'a str>,
    checksum: JsonChecksum<'a>,
    yanked: Option<bool>,
    signals: Option<&'a [String]>,
    provenance: Option<()>,
    owners: Option<()>,
    change: Option<JsonChange<'a>>,
    releases: Option<&'a [Release]>,
    not_audited: Option<&'a [String]>,
    denied: &'a [String],
}

#[derive(Serialize)]
struct JsonPackageRef<'a> {
    name: &'a str,
    version: &'a str,
    source: JsonSource<'a>,
    line: usize,
}

fn json_source(s: &Source) -> JsonSource<'_> {
    JsonSource {
        kind: s.kind(),
        detail: s.detail(),
    }
}

fn json_package_ref(p: &Package) -> JsonPackageRef<'_> {
    JsonPackageRef {
        name: &p.name,
        version: &p.version,
        source: json_source(&p.source),
        line: p.line,
    }
}

fn json_entry(e: &Entry) -> JsonEntry<'_> {
    JsonEntry {
        name: &e.pkg.name,
        version: &e.pkg.version,
        source: json_source(&e.pkg.source),
        line: e.pkg.line,
        status: e.status.code(),
        problem: e.problem.as_deref(),
        report: e.report.as_ref().map(|r| r.rel.as_str()),
        checksum: JsonChecksum {
            status: e.checksum.code(),
            lockfile: e.pkg.checksum.as_deref(),
            audited: e.report.as_ref().map(|r| r.sha256.to_hex()),
        },
        yanked: e.report.as_ref().map(|r| r.yanked),
        signals: e.report.as_ref().map(|r| r.signals.as_slice()),
        provenance: None,
        owners: None,
        change: e.change.as_ref().map(|c| JsonChange {
            kind: c.code(),
            from: c.from(),
        }),
        releases: e.releases.as_deref(),
        not_audited: e.not_audited.as_deref(),
        denied: &e.denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, version: &str, source: Source, checksum: Option<&str>) -> Package {
        Package {
            name: name.to_owned(),
            version: version.to_owned(),
            source,
            checksum: checksum.map(str::to_owned),
            line: 1,
        }
    }

    fn lock(packages: Vec<Package>) -> Lockfile {
        Lockfile { version: 3, packages }
    }

    #[test]
    fn lockfile_changes_are_paired_by_compatibility() {
        let c = Source::CratesIo;
        let old = lock(vec![
            p("a", "1.0.0", c.clone(), None),
            p("b", "0.1.0", c.clone(), None),
            p("b", "0.2.0", c.clone(), None),
            p("d", "2.0.0", c.clone(), None),
            p("e", "1.0.0", c.clone(), Some("x")),
            p("f", "1.0.0", Source::Git("https://x/f#1".into()), None),
            p("g", "1.0.0", c.clone(), None),
        ]);
        let new = lock(vec![
            p("a", "1.2.0", c.clone(), None),
            p("b", "0.1.5", c.clone(), None),
            p("b", "0.3.0", c.clone(), None),
            p("d", "1.5.0", c.clone(), None),
            p("e", "1.0.0", c.clone(), Some("y")),
            p("f", "1.0.0", Source::Git("https://x/f#2".into()), None),
            p("h", "0.1.0", c.clone(), None),
        ]);
        let (changes, removed) = diff_lockfiles(&new, &old);
        assert_eq!(
            changes,
            vec![
                Some(Change::Upgraded("1.0.0".into())),
                Some(Change::Upgraded("0.1.0".into())),
                Some(Change::Upgraded("0.2.0".into())),
                Some(Change::Downgraded("2.0.0".into())),
                Some(Change::ChecksumChanged("1.0.0".into())),
                Some(Change::SourceChanged("1.0.0".into())),
                Some(Change::Added),
            ]
        );
        assert_eq!(removed, vec![p("g", "1.0.0", c, None)]);
    }

    #[test]
    fn unchanged_packages_have_no_change() {
        let l = lock(vec![p("a", "1.0.0", Source::CratesIo, Some("x"))]);
        let (changes, removed) = diff_lockfiles(&l, &l);
        assert_eq!(changes, vec![None]);
        assert!(removed.is_empty());
    }

    #[test]
    fn deny_codes_are_checked() {
        assert_eq!(
            deny_codes(&[
                "yanked,build-script-added".into(),
                " not-audited ".into(),
                "yanked".into()
            ])
            .unwrap(),
            vec!["build-script-added", "not-audited", "yanked"]
        );
        let err = deny_codes(&["build-script-add".into()]).unwrap_err().to_string();
        assert!(err.contains("unknown code \"build-script-add\""), "{err}");
        // Every status code is distinct from every signal code.
        for (code, _) in STATUS_CODES {
            assert!(!signals::CODES.iter().any(|(c, _)| c == code), "{code}");
        }
    }
}
