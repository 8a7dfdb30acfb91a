//! `cargofox diff NAME A B`: the unified diff between two stored versions,
//! from the store alone (offline), like `cargo vet diff`. Crate text is
//! printed with control, invisible and bidirectional characters shown as
//! `<U+XXXX>`, so a diff can never drive the terminal.

use anyhow::Context as _;

use crate::compare::{self, DiffText, FileEntry};
use crate::output::Output;
use crate::report::escape::visible;
use crate::store::{Store, refs};
use crate::types::{CrateName, VersionStr};

use super::Outcome;

fn files(store: &Store, name: &CrateName, v: &VersionStr) -> anyhow::Result<Vec<FileEntry>> {
    let r = refs::version(name, v);
    let commit = store
        .resolve(&r)?
        .with_context(|| format!("{name} {v} is not in the store (run `cargofox sync {name}` first)"))?;
    let info = store.commit_info(commit)?;
    Ok(super::file_entries(&store.tree_files(info.tree)?))
}

/// Print the diff from `a` to `b`.
pub fn run(
    store: &Store,
    name: &CrateName,
    a: &VersionStr,
    b: &VersionStr,
    out: &mut Output,
) -> anyhow::Result<Outcome> {
    let old = files(store, name, a)?;
    let new = files(store, name, b)?;
    let limits = compare::Limits {
        max_diff_bytes_per_file: usize::MAX / 4,
        max_total_diff_bytes: usize::MAX / 4,
        ..compare::Limits::default()
    };
    let cmp = compare::compare(&old, &new, &super::StoreBlobs(store), &limits);
    for f in &cmp.files {
        let old_path = f.old_path.as_deref().unwrap_or("/dev/null");
        let new_path = f.new_path.as_deref().unwrap_or("/dev/null");
        out.line(&visible(&format!("diff --cargofox a/{old_path} b/{new_path} ({})", f.status)).0);
        match &f.diff {
            DiffText::Full(text) | DiffText::Truncated { text, .. } => {
                for line in text.lines() {
                    out.line(&visible(line).0);
                }
            }
            DiffText::Omitted { reason } => out.line(&format!("(diff left out: {reason})")),
            DiffText::None => {}
        }
    }
    Ok(Outcome::Clean)
}
