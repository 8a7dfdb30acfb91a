//! `cargofox verify`: re-check what the audit repository says against the
//! registry, needing no store. For every release it records (or a selection),
//! download the `.crate` again and check that its sha256 equals the report's,
//! that this equals the registry index checksum today, and that cargo's view
//! of it gives the recorded tree id. Mismatches are findings (exit 1); a
//! release that can no longer be downloaded is a note. With `--offline` and a
//! store, the stored archives are checked instead of downloads.
//!
//! Resumable: progress is kept in `<audit>/.git/cargofox-verify.json` (never
//! committed) and a rerun with the same selection continues where a killed
//! one stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::{self, Limits};
use crate::output::Output;
use crate::registry::Registry;
use crate::registry::index::{IndexLine, parse_file};
use crate::store::{self, Store, refs};
use crate::types::{CrateName, Sha256, VersionStr};

use super::Outcome;

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The audit repository.
    pub audit: PathBuf,
    /// Only these crates (all when empty).
    pub crates: Vec<CrateName>,
    /// Only releases published at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// A sample of this many releases.
    pub sample: Option<usize>,
    /// Seed of the sample (so a sample can be repeated).
    pub seed: u64,
}

/// The facts `verify` reads from a report.
#[derive(Debug, Clone, Deserialize)]
struct Recorded {
    #[serde(rename = "crate")]
    krate: String,
    version: String,
    published: Option<String>,
    facts: RecordedFacts,
}

#[derive(Debug, Clone, Deserialize)]
struct RecordedFacts {
    sha256: String,
    tree: String,
}

/// One release's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Verdict {
    Ok,
    Gone(String),
    Mismatch(Vec<String>),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    selection: String,
    done: BTreeMap<String, Verdict>,
}

/// Every report JSON under `crates/`, sorted.
fn report_files(audit: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![audit.join("crates")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") && p.file_name().is_some_and(|n| n != "owners.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A deterministic pseudo-random order (splitmix64 of the seed and index).
fn sample_key(seed: u64, i: usize) -> u64 {
    let mut z = seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Where the bytes of a release come from.
pub enum Source<'a> {
    /// Download from the registry (and check its index).
    Registry(&'a Registry),
    /// The stored archives (offline).
    Store(&'a Store),
}

/// Run the verification.
pub fn run(opts: &VerifyOptions, source: &Source<'_>, out: &mut Output) -> anyhow::Result<Outcome> {
    let files = report_files(&opts.audit);
    let mut selected: Vec<(PathBuf, Recorded)> = Vec::new();
    for f in files {
        let Some(rec) = std::fs::read(&f)
            .ok()
            .and_then(|b| serde_json::from_slice::<Recorded>(&b).ok())
        else {
            continue;
        };
        if !opts.crates.is_empty() && !opts.crates.iter().any(|c| c.as_str() == rec.krate) {
            continue;
        }
        if let Some(since) = opts.since {
            let t = rec
                .published
                .as_deref()
                .and_then(crate::registry::index::parse_rfc3339_utc);
            if t.is_none_or(|t| t < since) {
                continue;
            }
        }
        selected.push((f, rec));
    }
    if let Some(n) = opts.sample {
        let mut keyed: Vec<(u64, (PathBuf, Recorded))> = selected
            .into_iter()
            .enumerate()
            .map(|(i, x)| (sample_key(opts.seed, i), x))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        keyed.truncate(n);
        selected = keyed.into_iter().map(|(_, x)| x).collect();
        selected.sort_by(|a, b| a.0.cmp(&b.0));
    }

    let selection = format!(
        "{:?}|{:?}|{:?}|{}|{}",
        opts.crates,
        opts.since,
        opts.sample,
        opts.seed,
        selected.len()
    );
    let state_path = opts.audit.join(".git").join("cargofox-verify.json");
    let mut progress: Progress = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|p: &Progress| p.selection == selection)
        .unwrap_or_default();
    progress.selection = selection;
    if !progress.done.is_empty() {
        out.line(&format!(
            "verify: resuming, {} releases already checked",
            progress.done.len()
        ));
    }

    let mut index_cache: BTreeMap<String, Option<BTreeMap<String, Sha256>>> = BTreeMap::new();
    let (mut ok, mut gone, mut bad) = (0usize, 0usize, 0usize);
    for (n, (path, rec)) in selected.iter().enumerate() {
        let key = path.strip_prefix(&opts.audit).unwrap_or(path).display().to_string();
        let verdict = match progress.done.get(&key) {
            Some(v) => v.clone(),
            None => {
                let v = verify_one(rec, source, &mut index_cache);
                progress.done.insert(key.clone(), v.clone());
                if n % 20 == 19 {
                    save(&state_path, &progress);
                }
                v
            }
        };
        let shown = format!(
            "{} {}",
            crate::archive::escape::printable_raw(rec.krate.as_bytes()),
            crate::archive::escape::printable_raw(rec.version.as_bytes())
        );
        match verdict {
            Verdict::Ok => {
                ok += 1;
                out.line(&format!("OK       {shown}"));
            }
            Verdict::Gone(why) => {
                gone += 1;
                out.line(&format!("GONE     {shown}: {why}"));
            }
            Verdict::Mismatch(whats) => {
                bad += 1;
                for w in whats {
                    out.line(&format!("MISMATCH {shown}: {w}"));
                }
            }
        }
    }
    let _ = std::fs::remove_file(&state_path);
    out.line(&format!(
        "verify: {} releases checked, {ok} ok, {bad} mismatched, {gone} no longer downloadable",
        selected.len()
    ));
    Ok(if bad > 0 { Outcome::Findings } else { Outcome::Clean })
}

fn save(path: &Path, progress: &Progress) {
    // Progress is an optimisation: a failure to save only costs a rerun.
    if let Ok(json) = serde_json::to_vec(progress) {
        let tmp = path.with_extension("json.part");
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }
}

fn verify_one(
    rec: &Recorded,
    source: &Source<'_>,
    index_cache: &mut BTreeMap<String, Option<BTreeMap<String, Sha256>>>,
) -> Verdict {
    let (Ok(name), Ok(version), Ok(recorded_sha)) = (
        CrateName::new(&rec.krate),
        VersionStr::new(&rec.version),
        Sha256::from_hex(&rec.facts.sha256),
    ) else {
        return Verdict::Mismatch(vec!["the report's crate, version or sha256 is malformed".to_owned()]);
    };
    let mut problems = Vec::new();
    let bytes = match source {
        Source::Registry(registry) => {
            let index = index_cache.entry(rec.krate.clone()).or_insert_with(|| {
                registry.index_file(&name).ok().map(|b| {
                    parse_file(&b, &name)
                        .into_iter()
                        .filter_map(|l| match l {
                            IndexLine::Entry(e) => Some((e.vers.to_string(), e.cksum)),
                            IndexLine::Skipped { .. } => None,
                        })
                        .collect()
                })
            });
            match index.as_ref().and_then(|m| m.get(version.as_str())) {
                None => return Verdict::Gone("not in the registry index any more".to_owned()),
                Some(cksum) if *cksum != recorded_sha => {
                    problems.push(format!(
                        "the index checksum is now {cksum}, the report recorded {recorded_sha}"
                    ));
                }
                Some(_) => {}
            }
            match registry.download(&name, &version, &recorded_sha) {
                Ok(b) => b,
                Err(e) if matches!(e.http_status(), Some(403 | 404 | 410)) => {
                    return Verdict::Gone(format!("download refused ({e})"));
                }
                Err(e) => return Verdict::Gone(format!("download failed ({e})")),
            }
        }
        Source::Store(store) => {
            let r = refs::archive(&name, &version);
            match store.resolve(&r).ok().flatten().and_then(|id| store.blob(id).ok()) {
                Some(b) => b,
                None => return Verdict::Gone("the store has no archive for it".to_owned()),
            }
        }
    };
    let actual = Sha256::of(&bytes);
    if actual != recorded_sha {
        problems.push(format!(
            "sha256 of the .crate is {actual}, the report recorded {recorded_sha}"
        ));
    }
    let view = archive::read_crate(&bytes, &name, &version, &Limits::default());
    match store::prepare(&view.files, &view.extras, &bytes, &mut |_| false) {
        Ok(p) if p.tree.to_hex() != rec.facts.tree => {
            problems.push(format!(
                "cargo's view gives tree {}, the report recorded {}",
                p.tree, rec.facts.tree
            ));
        }
        Ok(_) => {}
        Err(e) => problems.push(format!("computing the tree: {e}")),
    }
    if problems.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Mismatch(problems)
    }
}
