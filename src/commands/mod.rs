//! One module per subcommand. Commands receive typed options, the opened
//! registry/store and an [`crate::output::Output`]; they return a result the
//! binary maps to an exit status.

pub mod check;
pub mod diff;
pub mod merge;
pub mod owners_stage;
pub mod publish;
pub mod reports;
pub mod stats;
pub mod sync;
pub mod verify;

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything worked (exit 0).
    Clean,
    /// The command completed but has findings or failures to report (exit 1).
    Findings,
}

/// File contents from the store, for the pure comparison code.
pub(crate) struct StoreBlobs<'a>(pub(crate) &'a crate::store::Store);

impl crate::compare::Blobs for StoreBlobs<'_> {
    fn blob(&self, id: &str) -> Option<Vec<u8>> {
        let oid = gix::ObjectId::from_hex(id.as_bytes()).ok()?;
        self.0.blob(oid).ok()
    }
}

/// The files of a stored tree as the comparison code sees them.
pub(crate) fn file_entries(files: &[crate::store::TreeFile]) -> Vec<crate::compare::FileEntry> {
    files
        .iter()
        .map(|f| crate::compare::FileEntry {
            path: f.path.clone(),
            executable: f.executable,
            id: f.id.to_hex().to_string(),
            size: f.size,
        })
        .collect()
}
