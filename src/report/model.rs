//! The report model: the facts, changes and signals of one release, as data.
//! Serialised as `<version>.json` (stable key order: struct field order, maps
//! are `BTreeMap`) and rendered to `<version>.md` by the templates. Schema
//! documented in docs/REPORTS.md; bump [`SCHEMA_VERSION`] on any change.

use serde::{Deserialize, Serialize};

use crate::analyse::manifest::ManifestDelta;
use crate::compare::{Comparison, DiffText};
use crate::message::StoredFacts;
use crate::signals::Signal;

/// Version of the JSON schema.
pub const SCHEMA_VERSION: u32 = 2;

/// One release.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Crate name.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Version as the index spells it.
    pub version: String,
    /// The index `pubtime`, if any.
    pub published: Option<String>,
    /// Yanked in the index when the report was written.
    pub yanked: bool,
    /// When the report was written (UTC, from the run's clock).
    pub analysed_at: String,
    /// The cargofox version that wrote it.
    pub cargofox_version: String,
    /// Checkable facts.
    pub facts: Facts,
    /// Inferences.
    pub signals: Vec<Signal>,
    /// What changed since the previous release (absent for the first).
    pub changes: Option<Comparison>,
    /// Manifest changes.
    pub manifest: ManifestSection,
    /// Owners and publisher, when an owners source is configured.
    pub owners: Option<OwnersSection>,
    /// What the code can execute and what looks hidden, and what changed.
    pub code: CodeSection,
    /// Comparison with the upstream repository (absent with `--no-upstream`).
    pub provenance: Option<crate::upstream::ProvenanceSection>,
}

/// Code facts of the release and their change since the previous one.
#[derive(Debug, Clone, Serialize)]
pub struct CodeSection {
    /// Facts of this release.
    pub facts: crate::analyse::code::CodeFacts,
    /// What is new since the previous release.
    pub delta: crate::analyse::code::CodeDelta,
}

/// Who could publish and who did publish the release.
#[derive(Debug, Clone, Serialize)]
pub struct OwnersSection {
    /// The publisher (a login, or a trusted publisher's provider and
    /// repository), when the registry recorded it.
    pub published_by: Option<String>,
    /// `trusted-publishing`, `token` or `unknown`.
    pub publish_method: String,
    /// The registry-attested trusted-publishing data.
    pub trusted_publishing: Option<crate::owners::TrustPub>,
    /// The owners last observed (logins, users then teams).
    pub owners: Vec<String>,
    /// When they were last observed.
    pub owners_observed_at: Option<String>,
    /// Owner changes that may lie between the previous release and this one.
    pub changes_since_previous: Vec<crate::owners::history::OwnerEvent>,
}

/// Checkable facts about the release.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// sha256 of the `.crate` (verified against the index at download).
    pub sha256: String,
    /// The index checksum equalled it.
    pub index_checksum_matched: bool,
    /// Size of the `.crate`.
    pub crate_size: u64,
    /// Tree id of cargo's view in the store.
    pub tree: String,
    /// Version commit id in the store.
    pub commit: String,
    /// Files in the tree.
    pub file_count: u64,
    /// Sum of file sizes.
    pub unpacked_size: u64,
    /// `ok`, `empty`, `corrupt`, `over-limit`.
    pub status: String,
    /// Reason for a non-ok status.
    pub status_reason: Option<String>,
    /// Archive anomalies found at ingest.
    pub anomalies: Vec<crate::message::StoredAnomaly>,
    /// Paths stored escaped.
    pub escaped_paths: Vec<String>,
    /// Extras tree id (entries kept outside cargo's view).
    pub extras_tree: Option<String>,
    /// The previous release compared with.
    pub previous: Option<Previous>,
    /// Commands that check these facts.
    pub checks: Vec<Check>,
}

/// The release compared with, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    /// Its version.
    pub version: String,
    /// Its commit in the store.
    pub commit: String,
    /// Why this one (the parent rule).
    pub reason: String,
}

/// A command that checks a fact.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What it checks.
    pub what: String,
    /// The command (shell).
    pub command: String,
}

/// Manifest changes.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestSection {
    /// Why the manifest could not be read, if it could not.
    pub error: Option<String>,
    /// Parsed changes (against nothing for a first release).
    pub delta: Option<ManifestDelta>,
    /// Text diff of `Cargo.toml.orig`.
    pub orig_diff: Option<DiffText>,
    /// Whether the normalised `Cargo.toml` agrees with `Cargo.toml.orig`
    /// and with the index entry (absent when the manifest is unreadable).
    pub consistency: Option<crate::analyse::consistency::Consistency>,
    /// The same findings, one row each, for the Markdown.
    pub consistency_rows: Vec<ConsistencyRow>,
}

/// One consistency finding as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConsistencyRow {
    /// The signal code of the check.
    pub check: &'static str,
    /// What disagrees (untrusted: a dependency or feature name).
    pub subject: String,
    /// Which part of it.
    pub aspect: String,
    /// The reference side's name and value.
    pub expected_side: &'static str,
    /// Its value (untrusted), absent when missing.
    pub expected: Option<String>,
    /// The other side's name.
    pub found_side: &'static str,
    /// Its value (untrusted), absent when missing.
    pub found: Option<String>,
}

/// What the crate page and `check` need from a report, read back from its
/// JSON (only these keys are relied on).
#[derive(Debug, Clone, Deserialize)]
pub struct ReportSummary {
    /// Schema version.
    pub schema_version: u32,
    /// Version.
    pub version: String,
    /// Publication time.
    pub published: Option<String>,
    /// Yanked.
    pub yanked: bool,
    /// Facts (the commit is what ties a report to the store).
    pub facts: SummaryFacts,
    /// Signals.
    #[serde(default)]
    pub signals: Vec<SummarySignal>,
    /// Changes.
    #[serde(default)]
    pub changes: Option<serde_json::Value>,
    /// Its provenance section, as far as freshness needs it (absent when
    /// written with `--no-upstream`).
    #[serde(default)]
    pub provenance: Option<ProvenanceSummary>,
}

/// What decides whether a provenance section may still change.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProvenanceSummary {
    /// `repository.status`.
    #[serde(default)]
    pub repository: Option<StatusOnly>,
    /// `vcs_info.commit_status`.
    #[serde(default)]
    pub vcs_info: Option<CommitStatusOnly>,
}

/// `{status}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatusOnly {
    /// The status.
    #[serde(default)]
    pub status: String,
}

/// `{commit_status}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommitStatusOnly {
    /// The status.
    #[serde(default)]
    pub commit_status: Option<String>,
}

impl ProvenanceSummary {
    /// Whether the section rests on something a later fetch may settle: the
    /// repository could not be reached, or the claimed commit was missing or
    /// unknown (pushed after publishing, a shallow history, a host down).
    pub fn provisional(&self) -> bool {
        self.repository.as_ref().is_some_and(|r| r.status == "unreachable")
            || self
                .vcs_info
                .as_ref()
                .and_then(|v| v.commit_status.as_deref())
                .is_some_and(|s| s == "missing" || s == "unknown")
    }
}

/// Facts read back.
#[derive(Debug, Clone, Deserialize)]
pub struct SummaryFacts {
    /// Commit id.
    pub commit: String,
    /// sha256.
    pub sha256: String,
}

/// A signal read back.
#[derive(Debug, Clone, Deserialize)]
pub struct SummarySignal {
    /// Its code.
    pub code: String,
}

/// Facts from the store commit, for building a report.
pub type CommitFacts = StoredFacts;
