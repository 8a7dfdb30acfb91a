//! The I/O side of the ecosystem statistics and of everything else that
//! walks the audit repository's `crates/` tree: listing crate directories
//! (without following links), and regenerating `STATS.md` and `stats.json`
//! from every release report, one file at a time. What is counted lives in
//! [`crate::report::stats`].
//!
//! Cost: one `read` and one JSON scan per report; memory holds one report
//! and the counts. docs/PERFORMANCE.md has the measured rate.

use std::path::Path;

use anyhow::Context as _;

use crate::audit::Audit;
use crate::report::render::Renderer;
use crate::report::stats::Stats;

/// One directory under `crates/` that holds files (a crate directory when
/// the repository is well formed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateDir {
    /// Relative to the repository root, `/`-separated: `crates/se/rd/serde`.
    pub rel: String,
    /// The regular files in it, sorted by name.
    pub files: Vec<String>,
    /// Entries that are neither regular files nor directories (links,
    /// devices), directories nested too deep, and names that are not UTF-8.
    pub odd: Vec<String>,
}

/// Deepest directory level under `crates/`: `ab/cd/<name>` is 3.
const MAX_DEPTH: usize = 3;

/// Visit every directory under `<root>/crates` that holds files or odd
/// entries, in sorted order. Links are never followed.
pub fn walk_crate_dirs(root: &Path, visit: &mut dyn FnMut(CrateDir) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let top = root.join("crates");
    match std::fs::symlink_metadata(&top) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", top.display())),
        Ok(m) if !m.is_dir() => anyhow::bail!("{} is not a directory", top.display()),
        Ok(_) => {}
    }
    walk(&top, "crates", 0, visit)
}

fn walk(
    dir: &Path,
    rel: &str,
    depth: usize,
    visit: &mut dyn FnMut(CrateDir) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    let mut here = CrateDir {
        rel: rel.to_owned(),
        files: Vec::new(),
        odd: Vec::new(),
    };
    let mut subdirs = Vec::new();
    for e in entries {
        let ty = e
            .file_type()
            .with_context(|| format!("reading {}", e.path().display()))?;
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            here.odd
                .push(crate::archive::escape::printable_raw(e.file_name().as_encoded_bytes()));
            continue;
        };
        if ty.is_file() {
            here.files.push(name);
        } else if ty.is_dir() && depth < MAX_DEPTH {
            subdirs.push((e.path(), name));
        } else {
            here.odd.push(name);
        }
    }
    if !here.files.is_empty() || !here.odd.is_empty() {
        visit(here)?;
    }
    for (path, name) in subdirs {
        walk(&path, &format!("{rel}/{name}"), depth + 1, visit)?;
    }
    Ok(())
}

/// Whether a file of a crate directory is a release report.
pub fn is_release_json(file: &str) -> bool {
    file.ends_with(".json") && file != "owners.json"
}

/// Count every release report of the repository at `root`.
pub fn count(root: &Path) -> anyhow::Result<Stats> {
    let mut stats = Stats::default();
    walk_crate_dirs(root, &mut |dir| {
        let mut any = false;
        for f in dir.files.iter().filter(|f| is_release_json(f)) {
            let path = root.join(&dir.rel).join(f);
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            any |= stats.add_report(&bytes);
        }
        if any {
            stats.add_crate();
        }
        Ok(())
    })?;
    Ok(stats)
}

/// Regenerate `STATS.md` and `stats.json` from the reports (each written
/// only when its bytes change; the JSON last, as with the other indexes).
pub fn regenerate(audit: &Audit, renderer: &Renderer) -> anyhow::Result<Stats> {
    let stats = count(audit.dir())?;
    let page = renderer.render("stats.md.j2", stats.context())?;
    audit.write("STATS.md", page.as_bytes())?;
    audit.write("stats.json", &stats.to_json()?)?;
    Ok(stats)
}
