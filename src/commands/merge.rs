//! `cargofox merge SHARD...`: bring the audit repositories written by shards
//! (`sync --shard I/N`, each with its own data directory) into one audit
//! repository (`--audit`). Owns checking the shards' layout, refusing
//! conflicts, copying each crate directory, and handing over to the shared
//! index regeneration ([`super::reports::update_index`]: README,
//! `crates.json`, statistics) and the one audit commit.
//!
//! A shard is data, never code: its working copy is read with plain file
//! reads (no `git` runs in it, so none of its configuration or hooks can
//! act), links are refused rather than followed, and only
//! `crates/<ix>/<name>/<file>` paths that cargofox itself would write are
//! accepted. Shards cover disjoint crates; the same crate directory in two
//! shards is accepted only when both hold exactly the same files.
//!
//! Merging is deterministic (crate directories in sorted order, files
//! written only when their bytes change) and idempotent: merging the same
//! shards again changes nothing and makes no commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Outcome;
use super::reports::{CrateSummary, update_index};
use super::stats::{CrateDir, walk_crate_dirs};
use crate::archive::escape::printable_raw;
use crate::audit::Audit;
use crate::output::{Clock, Output};
use crate::report::paths::crate_dir;
use crate::report::render::Renderer;
use crate::types::CrateName;

/// A file larger than this in a shard is refused (reports are far smaller).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Options of a merge.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// The shards' audit repositories (working copies).
    pub shards: Vec<PathBuf>,
    /// The clock (README date, commit time).
    pub clock: Clock,
}

/// One shard, checked.
struct Shard {
    root: PathBuf,
    /// Crate directory (`crates/<ix>/<name>`) -> its files.
    dirs: BTreeMap<String, Vec<String>>,
    /// Its `crates.json`.
    summaries: BTreeMap<String, CrateSummary>,
}

/// A file name cargofox writes into a crate directory: a version stem or
/// `README`/`owners` with `.md` or `.json` (report pages add `.files-N`,
/// `.diffs-N`). Never hidden, never a path.
fn file_name_ok(name: &str) -> bool {
    name.len() <= 255
        && !name.starts_with('.')
        && (name.ends_with(".md") || name.ends_with(".json"))
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_' | b'%'))
}

/// Check one directory of a shard: it must be exactly where cargofox puts
/// the crate it is named after, and hold only report files.
fn check_dir(root: &Path, dir: &CrateDir) -> anyhow::Result<()> {
    let shown = || format!("{}/{}", root.display(), printable_raw(dir.rel.as_bytes()));
    if let Some(odd) = dir.odd.first() {
        anyhow::bail!(
            "{}: unexpected entry {} (only regular report files are merged; links are never followed)",
            shown(),
            printable_raw(odd.as_bytes())
        );
    }
    let last = dir.rel.rsplit('/').next().unwrap_or_default();
    let name = CrateName::new(last).map_err(|_| anyhow::anyhow!("{}: not a crate directory", shown()))?;
    if crate_dir(&name) != dir.rel {
        anyhow::bail!(
            "{}: not where cargofox puts the crate (expected {})",
            shown(),
            crate_dir(&name)
        );
    }
    if let Some(bad) = dir.files.iter().find(|f| !file_name_ok(f)) {
        anyhow::bail!(
            "{}: unexpected file {} (not a file cargofox writes)",
            shown(),
            printable_raw(bad.as_bytes())
        );
    }
    Ok(())
}

fn read_capped(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{}: not a regular file", path.display());
    }
    if meta.len() > MAX_FILE_BYTES {
        anyhow::bail!("{}: {} bytes, more than any report", path.display(), meta.len());
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn open_shard(root: &Path) -> anyhow::Result<Shard> {
    if !root.join(".git").exists() {
        anyhow::bail!("{}: not an audit repository (no .git)", root.display());
    }
    let mut dirs = BTreeMap::new();
    walk_crate_dirs(root, &mut |dir| {
        check_dir(root, &dir)?;
        dirs.insert(dir.rel, dir.files);
        Ok(())
    })?;
    let summaries: BTreeMap<String, CrateSummary> = match std::fs::symlink_metadata(root.join("crates.json")) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        _ => {
            let bytes = read_capped(&root.join("crates.json"))?;
            serde_json::from_slice(&bytes).with_context(|| format!("{}/crates.json", root.display()))?
        }
    };
    for (name, s) in &summaries {
        let valid = CrateName::new(name).map_err(|_| {
            anyhow::anyhow!(
                "{}/crates.json: {} is not a crate name",
                root.display(),
                printable_raw(name.as_bytes())
            )
        })?;
        let dir = crate_dir(&valid);
        if s.link != format!("{dir}/README.md") || !dirs.get(&dir).is_some_and(|f| f.iter().any(|f| f == "README.md")) {
            anyhow::bail!(
                "{}/crates.json: the entry of {name} does not match a crate page {dir}/README.md in the shard",
                root.display()
            );
        }
    }
    Ok(Shard {
        root: root.to_owned(),
        dirs,
        summaries,
    })
}

/// Whether two shards hold the same files with the same bytes in `rel`.
fn same_dir(a: &Shard, b: &Shard, rel: &str) -> anyhow::Result<Option<String>> {
    let (fa, fb) = (&a.dirs[rel], &b.dirs[rel]);
    if fa != fb {
        let only = fa
            .iter()
            .find(|f| !fb.contains(f))
            .or_else(|| fb.iter().find(|f| !fa.contains(f)));
        return Ok(Some(format!("{rel}/{}", only.map(String::as_str).unwrap_or("?"))));
    }
    for f in fa {
        let p = format!("{rel}/{f}");
        if read_capped(&a.root.join(&p))? != read_capped(&b.root.join(&p))? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Merge the shards into `audit`, regenerate the indexes and commit.
pub fn run(opts: &MergeOptions, audit: &Audit, renderer: &Renderer, out: &mut Output) -> anyhow::Result<Outcome> {
    if opts.shards.is_empty() {
        anyhow::bail!("merge: no shard given");
    }
    let target = audit
        .dir()
        .canonicalize()
        .with_context(|| format!("opening {}", audit.dir().display()))?;
    let mut shards = Vec::new();
    for root in &opts.shards {
        let canonical = root
            .canonicalize()
            .with_context(|| format!("opening the shard {}", root.display()))?;
        if canonical == target {
            anyhow::bail!("{}: is the audit repository being merged into", root.display());
        }
        if shards.iter().any(|s: &Shard| s.root == canonical) {
            anyhow::bail!("{}: given twice", root.display());
        }
        let shard = open_shard(&canonical)?;
        out.line(&format!(
            "merge: {}: {} crate directories",
            root.display(),
            shard.dirs.len()
        ));
        shards.push(shard);
    }

    // Which shard holds each crate directory; refuse any conflict before
    // writing anything.
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for (i, shard) in shards.iter().enumerate() {
        for rel in shard.dirs.keys() {
            match owner.get(rel.as_str()) {
                None => {
                    owner.insert(rel, i);
                }
                Some(&j) => {
                    if let Some(path) = same_dir(&shards[j], shard, rel)? {
                        conflicts.push(format!(
                            "{path}: differs between {} and {}",
                            shards[j].root.display(),
                            shard.root.display()
                        ));
                    }
                }
            }
        }
    }
    let mut touched: BTreeMap<String, CrateSummary> = BTreeMap::new();
    for shard in &shards {
        for (name, s) in &shard.summaries {
            match touched.get(name) {
                Some(prev) if prev != s => {
                    conflicts.push(format!("crates.json: the entry of {name} differs between shards"));
                }
                _ => {
                    touched.insert(name.clone(), s.clone());
                }
            }
        }
    }
    if !conflicts.is_empty() {
        let shown: Vec<&str> = conflicts.iter().take(20).map(String::as_str).collect();
        anyhow::bail!(
            "merge refused: {} conflicts (the same crate path with different content in two shards; shards must cover disjoint crates):\n  {}{}",
            conflicts.len(),
            shown.join("\n  "),
            if conflicts.len() > shown.len() { "\n  ..." } else { "" }
        );
    }

    // Copy: each crate directory of a shard becomes exactly that directory.
    let (mut written, mut removed) = (0usize, 0usize);
    let mut changed_crates = Vec::new();
    for (rel, &i) in &owner {
        let shard = &shards[i];
        let files = &shard.dirs[*rel];
        let mut changed = false;
        for f in files {
            let p = format!("{rel}/{f}");
            let bytes = read_capped(&shard.root.join(&p))?;
            if audit.write(&p, &bytes)? {
                written += 1;
                changed = true;
            }
        }
        let here = audit.dir().join(rel);
        if let Ok(rd) = std::fs::read_dir(&here) {
            let mut stale: Vec<PathBuf> = rd
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| !e.file_name().to_str().is_some_and(|n| files.iter().any(|f| f == n)))
                .map(|e| e.path())
                .collect();
            stale.sort();
            for p in stale {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
                removed += 1;
                changed = true;
            }
        }
        if changed && let Some(name) = rel.rsplit('/').next() {
            // Checked by `check_dir`; a sync into this repository must now
            // look at these reports again.
            super::reports::forget_fresh(audit, &CrateName::new(name)?)?;
            changed_crates.push(name.to_owned());
        }
    }
    update_index(audit, renderer, opts.clock, &touched, written + removed > 0)?;
    let mut message = format!(
        "cargofox merge: {} shards, {} crates changed, {} files written, {} removed\n\n",
        shards.len(),
        changed_crates.len(),
        written,
        removed
    );
    // Names were checked against the crate-name grammar by `check_dir`.
    let shown: Vec<&str> = changed_crates.iter().take(50).map(String::as_str).collect();
    message.push_str(&format!("Crates: {}", shown.join(", ")));
    if changed_crates.len() > shown.len() {
        message.push_str(&format!(" and {} more", changed_crates.len() - shown.len()));
    }
    message.push('\n');
    if let Some(id) = audit.commit(&message, opts.clock.now())? {
        out.line(&format!("audit: committed {id} in {}", audit.dir().display()));
    }
    out.line(&format!(
        "merge: {} shards, {} crate directories, {} crates changed, {} files written, {} removed",
        shards.len(),
        owner.len(),
        changed_crates.len(),
        written,
        removed
    ));
    Ok(Outcome::Clean)
}
