//! What changed between two releases, file by file: the "Changes since the
//! previous release" facts of a report.
//!
//! Owns: the list of changed files (always complete), rename detection, git's
//! binary rule, line counts, line-ending and whitespace facts, and the unified
//! diffs, bounded in time (a Myers deadline per file) and in size (bytes per
//! file and per release, with explicit counts of what was left out).
//!
//! Must not: do I/O or import `store`, `net` or `registry`. File contents come
//! through the [`Blobs`] trait, which the store implements; content is loaded
//! only for files whose blob id changed and whose size is within
//! [`Limits::max_file_bytes_for_diff`].
//!
//! Diff text keeps every byte of the files' lines (`\r`, trailing blanks,
//! control characters): nothing is normalised or ignored here, so a CRLF flip
//! shows every line as changed. Escaping for display is the report layer's job.
//!
//! Paths are shown as strings: a path that is valid UTF-8 (every path the
//! store writes is, since it escapes the others) is kept as it is; any invalid
//! byte is written as `\xNN`. Files are ordered by the raw bytes of their
//! path — the new path, or the old one for a removed file.

mod diff;
mod rename;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

pub use diff::is_binary;
use diff::{LineDiff, Rendered};

/// One file of a release as stored: path bytes ('/'-separated, as in the git
/// tree), executable bit, blob id (hex), size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: Vec<u8>,
    pub executable: bool,
    pub id: String,
    pub size: u64,
}

/// Loads file contents by blob id (the store implements it). `None` when the
/// blob cannot be read; the file is then listed with its diff omitted.
pub trait Blobs {
    fn blob(&self, id: &str) -> Option<Vec<u8>>;
}

/// Bounds on the work and the text of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Diff text kept for one file; past it the diff is [`DiffText::Truncated`].
    pub max_diff_bytes_per_file: usize,
    /// Diff text kept for the whole comparison; once spent, later files (in
    /// path order) get [`OmitReason::TotalBudgetExhausted`].
    pub max_total_diff_bytes: usize,
    /// Files larger than this are never loaded: sizes and ids only.
    pub max_file_bytes_for_diff: u64,
    /// Time given to the Myers diff of one file.
    pub deadline_per_file: Duration,
    /// Lowest similarity (shared bytes over the larger size, `0.0..=1.0`) for
    /// an added and a removed file to be paired as a rename.
    pub rename_min_similarity: f32,
    /// Content-similarity renames are looked for only when there are at most
    /// this many removed and at most this many added candidate files.
    pub max_rename_candidates: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_diff_bytes_per_file: 64 * 1024,
            max_total_diff_bytes: 1024 * 1024,
            max_file_bytes_for_diff: 8 * 1024 * 1024,
            deadline_per_file: Duration::from_secs(2),
            rename_min_similarity: 0.5,
            max_rename_candidates: 200,
        }
    }
}

/// All changes between two releases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Every changed file, ordered by path; never cut.
    pub files: Vec<FileChange>,
    pub totals: Totals,
    /// Added and removed text files that were not examined for
    /// content-similarity renames because there were more than
    /// [`Limits::max_rename_candidates`] on a side (0 when all were).
    /// Exact renames (same blob id) are always found.
    pub rename_candidates_skipped: usize,
}

/// Counts over [`Comparison::files`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub files_added: usize,
    pub files_removed: usize,
    pub files_modified: usize,
    pub files_renamed: usize,
    pub files_mode_changed: usize,
    /// Sum of the known [`FileChange::lines_added`].
    pub lines_added: u64,
    /// Sum of the known [`FileChange::lines_removed`].
    pub lines_removed: u64,
    /// Changed files whose line counts are unknown (binary, too large,
    /// unreadable, or the diff deadline passed): the line totals leave them out.
    pub files_without_line_counts: usize,
    /// Bytes of diff text kept in the comparison.
    pub diff_bytes_shown: u64,
    /// Bytes of computed diff text left out (truncated diffs and diffs dropped
    /// for the total budget). Diffs never computed (binary, too large,
    /// deadline) are not in this count; see `files_with_omitted_diff`.
    pub diff_bytes_omitted: u64,
    /// Files whose diff is [`DiffText::Omitted`].
    pub files_with_omitted_diff: usize,
    /// Files whose diff is [`DiffText::Truncated`].
    pub files_with_truncated_diff: usize,
}

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Added,
    Removed,
    /// Same path, different content (the executable bit may change too).
    Modified,
    /// Paired with a removed file by identical id or similar content; the
    /// content and the executable bit may change too.
    Renamed,
    /// Same path and content, only the executable bit changed.
    ModeChanged,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Modified => "modified",
            Status::Renamed => "renamed",
            Status::ModeChanged => "mode-changed",
        })
    }
}

/// One changed file. `old_*` fields are `None` for an added file, `new_*`
/// fields for a removed one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileChange {
    pub status: Status,
    /// Path in the previous release (see the module doc for the form).
    pub old_path: Option<String>,
    /// Path in this release.
    pub new_path: Option<String>,
    pub old_id: Option<String>,
    pub new_id: Option<String>,
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
    pub old_executable: Option<bool>,
    pub new_executable: Option<bool>,
    /// Either side's content was loaded and is binary by git's rule (a NUL in
    /// the first 8000 bytes) or is not UTF-8. `false` also when the content
    /// was not loaded (unchanged content, too large, unreadable): the diff's
    /// [`OmitReason`] says which.
    pub binary: bool,
    /// Lines added; `Some(0)` for a pure rename or mode change; `None` when
    /// not known (binary, too large, unreadable, deadline passed).
    pub lines_added: Option<u64>,
    /// Lines removed, known under the same conditions as `lines_added`.
    pub lines_removed: Option<u64>,
    /// Lines in the old text (a last line without `\n` counts), when loaded.
    pub old_lines: Option<u64>,
    /// Lines in the new text, when loaded.
    pub new_lines: Option<u64>,
    /// Similarity of a rename in `0.0..=1.0`, three decimals; `1.0` for an
    /// identical blob.
    pub similarity: Option<f32>,
    /// Set when both texts have line breaks and their style differs.
    pub line_endings: Option<LineEndingChange>,
    /// Both sides are text, they differ, and they are equal once every ASCII
    /// whitespace byte (space, tab, `\r`, `\n`, VT, FF) is removed. The diff
    /// still shows the change in full.
    pub whitespace_only: bool,
    pub diff: DiffText,
}

impl FileChange {
    /// The path the file is listed under: the new one, else the old one.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }
}

/// The line-break style of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineEndings {
    /// No line break at all.
    None,
    /// Only `\n`.
    Lf,
    /// Only `\r\n`.
    Crlf,
    /// Only lone `\r` (not followed by `\n`).
    Cr,
    /// More than one of `\n`, `\r\n` and lone `\r`.
    Mixed,
}

impl LineEndings {
    /// Classifies the line breaks of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let (mut lf, mut crlf, mut cr) = (false, false, false);
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' if i > 0 && bytes[i - 1] == b'\r' => crlf = true,
                b'\n' => lf = true,
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => cr = true,
                _ => {}
            }
        }
        match (lf, crlf, cr) {
            (false, false, false) => LineEndings::None,
            (true, false, false) => LineEndings::Lf,
            (false, true, false) => LineEndings::Crlf,
            (false, false, true) => LineEndings::Cr,
            _ => LineEndings::Mixed,
        }
    }
}

impl fmt::Display for LineEndings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineEndings::None => "none",
            LineEndings::Lf => "LF",
            LineEndings::Crlf => "CRLF",
            LineEndings::Cr => "CR",
            LineEndings::Mixed => "mixed",
        })
    }
}

/// A change of line-break style, e.g. LF → CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineEndingChange {
    pub old: LineEndings,
    pub new: LineEndings,
}

/// The diff of one file, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "data", rename_all = "kebab-case")]
pub enum DiffText {
    /// The whole unified diff: `---`/`+++` headers, `@@` hunks with 3 lines of
    /// context, `\ No newline at end of file` markers. Raw file bytes.
    Full(String),
    /// The headers and the diff's first whole lines within the byte budget.
    /// `shown_lines` and `omitted_lines` count body lines (context, `-`,
    /// `+`), not headers; a cut hunk keeps its full-length `@@` header.
    Truncated {
        text: String,
        shown_lines: usize,
        omitted_lines: usize,
        omitted_bytes: u64,
    },
    /// No diff text; the reason says why.
    Omitted { reason: OmitReason },
    /// The content did not change (pure rename, mode change, equal texts).
    None,
}

/// Why a diff is not shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum OmitReason {
    /// A side is binary: compare the ids and sizes instead.
    Binary,
    /// A side is bigger than `limit` bytes and was not loaded.
    TooLarge { limit: u64 },
    /// The Myers diff did not finish within `deadline_ms`.
    DeadlineExceeded { deadline_ms: u64 },
    /// The comparison's diff budget was spent on files earlier in path order;
    /// the diff was computed and had this many body lines and bytes.
    TotalBudgetExhausted { diff_lines: usize, diff_bytes: u64 },
    /// The content of a side could not be loaded.
    Unavailable,
}

impl fmt::Display for OmitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OmitReason::Binary => f.write_str("binary file"),
            OmitReason::TooLarge { limit } => {
                write!(f, "file larger than {limit} bytes, not loaded")
            }
            OmitReason::DeadlineExceeded { deadline_ms } => {
                write!(f, "diff not finished within {deadline_ms} ms")
            }
            OmitReason::TotalBudgetExhausted { diff_lines, diff_bytes } => write!(
                f,
                "diff budget of this report spent; {diff_lines} diff lines ({diff_bytes} bytes) left out"
            ),
            OmitReason::Unavailable => f.write_str("content unavailable"),
        }
    }
}

/// A unified diff of two texts named `old_name` and `new_name` in the
/// `---`/`+++` headers (used as given, quoted as git quotes names), e.g. for
/// `Cargo.toml.orig`. Bounded like one file of [`compare`]:
/// `max_file_bytes_for_diff`, `deadline_per_file` and
/// `max_diff_bytes_per_file` apply. Equal inputs give [`DiffText::None`].
pub fn unified_diff(old: &[u8], new: &[u8], old_name: &str, new_name: &str, limits: &Limits) -> DiffText {
    if old == new {
        return DiffText::None;
    }
    let limit = limits.max_file_bytes_for_diff;
    if old.len() as u64 > limit || new.len() as u64 > limit {
        return DiffText::Omitted {
            reason: OmitReason::TooLarge { limit },
        };
    }
    let (Some(old), Some(new)) = (as_text(old), as_text(new)) else {
        return DiffText::Omitted {
            reason: OmitReason::Binary,
        };
    };
    let diff = LineDiff::compute(old, new, limits.deadline_per_file);
    if diff.deadline_hit {
        return DiffText::Omitted {
            reason: deadline_reason(limits),
        };
    }
    let rendered = diff::render(&diff, old_name, new_name, limits.max_diff_bytes_per_file);
    shown(rendered)
}

fn as_text(bytes: &[u8]) -> Option<&str> {
    if is_binary(bytes) {
        None
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

fn deadline_reason(limits: &Limits) -> OmitReason {
    OmitReason::DeadlineExceeded {
        deadline_ms: u64::try_from(limits.deadline_per_file.as_millis()).unwrap_or(u64::MAX),
    }
}

fn shown(rendered: Rendered) -> DiffText {
    if rendered.complete {
        DiffText::Full(rendered.text)
    } else {
        DiffText::Truncated {
            shown_lines: rendered.shown_lines,
            omitted_lines: rendered.omitted_lines(),
            omitted_bytes: rendered.omitted_bytes(),
            text: rendered.text,
        }
    }
}

/// Writes path bytes as a string: UTF-8 as it is, other bytes as `\xNN`.
pub fn display_path(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// A change found by path and rename matching, before its content is looked at.
struct Pending<'a> {
    status: Status,
    old: Option<&'a FileEntry>,
    new: Option<&'a FileEntry>,
    similarity: Option<f32>,
}

impl Pending<'_> {
    fn sort_key(&self) -> (&[u8], Status) {
        let path = self.new.or(self.old).map(|e| e.path.as_slice()).unwrap_or_default();
        (path, self.status)
    }
}

/// One side's content, as far as it was loaded.
enum Side {
    Absent,
    Text(String),
    Binary,
    TooLarge,
    Unavailable,
}

impl Side {
    fn text(&self) -> Option<&str> {
        match self {
            Side::Text(text) => Some(text),
            _ => None,
        }
    }
}

fn load(entry: Option<&FileEntry>, blobs: &dyn Blobs, limits: &Limits) -> Side {
    let Some(entry) = entry else {
        return Side::Absent;
    };
    if entry.size > limits.max_file_bytes_for_diff {
        return Side::TooLarge;
    }
    let Some(bytes) = blobs.blob(&entry.id) else {
        return Side::Unavailable;
    };
    // The stored size is a claim; the bytes decide.
    if bytes.len() as u64 > limits.max_file_bytes_for_diff {
        return Side::TooLarge;
    }
    if bytes[..bytes.len().min(8000)].contains(&0) {
        return Side::Binary;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Side::Text(text),
        Err(_) => Side::Binary,
    }
}

/// Compares two releases' files. Every changed file is listed; content is
/// loaded only for changed blobs within the size limit; the diff text stays
/// within the limits, with counts of what was left out.
pub fn compare(old: &[FileEntry], new: &[FileEntry], blobs: &dyn Blobs, limits: &Limits) -> Comparison {
    let old_by_path: BTreeMap<&[u8], &FileEntry> = old.iter().map(|e| (e.path.as_slice(), e)).collect();
    let new_by_path: BTreeMap<&[u8], &FileEntry> = new.iter().map(|e| (e.path.as_slice(), e)).collect();

    let mut pending: Vec<Pending<'_>> = Vec::new();
    let mut removed: Vec<&FileEntry> = Vec::new();
    let mut added: Vec<&FileEntry> = Vec::new();
    for (path, &o) in &old_by_path {
        match new_by_path.get(path) {
            None => removed.push(o),
            Some(&n) if n.id == o.id && n.executable == o.executable => {}
            Some(&n) => pending.push(Pending {
                status: if n.id == o.id {
                    Status::ModeChanged
                } else {
                    Status::Modified
                },
                old: Some(o),
                new: Some(n),
                similarity: None,
            }),
        }
    }
    added.extend(
        new_by_path
            .iter()
            .filter(|(path, _)| !old_by_path.contains_key(*path))
            .map(|(_, &n)| n),
    );

    // Exact renames: identical ids; content never loaded.
    let mut removed_used = vec![false; removed.len()];
    let mut added_used = vec![false; added.len()];
    for (o, n) in rename::exact(&removed, &added) {
        removed_used[o] = true;
        added_used[n] = true;
        pending.push(Pending {
            status: Status::Renamed,
            old: Some(removed[o]),
            new: Some(added[n]),
            similarity: Some(1.0),
        });
    }

    // Similar renames among the remaining non-empty files that may be loaded.
    let candidate = |e: &FileEntry| e.size > 0 && e.size <= limits.max_file_bytes_for_diff;
    let old_candidates: Vec<usize> = (0..removed.len())
        .filter(|&i| !removed_used[i] && candidate(removed[i]))
        .collect();
    let new_candidates: Vec<usize> = (0..added.len())
        .filter(|&i| !added_used[i] && candidate(added[i]))
        .collect();
    let mut rename_candidates_skipped = 0;
    if !old_candidates.is_empty() && !new_candidates.is_empty() {
        if old_candidates.len() > limits.max_rename_candidates || new_candidates.len() > limits.max_rename_candidates {
            rename_candidates_skipped = old_candidates.len() + new_candidates.len();
        } else {
            let signatures = |indices: &[usize], entries: &[&FileEntry]| {
                indices
                    .iter()
                    .filter_map(|&i| match load(Some(entries[i]), blobs, limits) {
                        Side::Text(text) => Some((i, text.len() as u64, rename::Signature::of(&text))),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            };
            let old_sigs = signatures(&old_candidates, &removed);
            let new_sigs = signatures(&new_candidates, &added);
            let min = f64::from(limits.rename_min_similarity);
            for (o, n, score) in rename::similar(&old_sigs, &new_sigs, min) {
                removed_used[o] = true;
                added_used[n] = true;
                pending.push(Pending {
                    status: Status::Renamed,
                    old: Some(removed[o]),
                    new: Some(added[n]),
                    // Three decimals keep the JSON stable and readable.
                    similarity: Some(((score * 1000.0).round() / 1000.0) as f32),
                });
            }
        }
    }
    for (i, &o) in removed.iter().enumerate() {
        if !removed_used[i] {
            pending.push(Pending {
                status: Status::Removed,
                old: Some(o),
                new: None,
                similarity: None,
            });
        }
    }
    for (i, &n) in added.iter().enumerate() {
        if !added_used[i] {
            pending.push(Pending {
                status: Status::Added,
                old: None,
                new: Some(n),
                similarity: None,
            });
        }
    }
    pending.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let mut totals = Totals::default();
    let mut budget_left = limits.max_total_diff_bytes;
    let mut files = Vec::with_capacity(pending.len());
    for p in pending {
        let change = examine(&p, blobs, limits, &mut budget_left);
        match change.status {
            Status::Added => totals.files_added += 1,
            Status::Removed => totals.files_removed += 1,
            Status::Modified => totals.files_modified += 1,
            Status::Renamed => totals.files_renamed += 1,
            Status::ModeChanged => totals.files_mode_changed += 1,
        }
        match (change.lines_added, change.lines_removed) {
            (Some(a), Some(r)) => {
                totals.lines_added += a;
                totals.lines_removed += r;
            }
            _ => totals.files_without_line_counts += 1,
        }
        match &change.diff {
            DiffText::Full(text) => totals.diff_bytes_shown += text.len() as u64,
            DiffText::Truncated {
                text, omitted_bytes, ..
            } => {
                totals.files_with_truncated_diff += 1;
                totals.diff_bytes_shown += text.len() as u64;
                totals.diff_bytes_omitted += omitted_bytes;
            }
            DiffText::Omitted { reason } => {
                totals.files_with_omitted_diff += 1;
                if let OmitReason::TotalBudgetExhausted { diff_bytes, .. } = reason {
                    totals.diff_bytes_omitted += diff_bytes;
                }
            }
            DiffText::None => {}
        }
        files.push(change);
    }
    Comparison {
        files,
        totals,
        rename_candidates_skipped,
    }
}

/// Loads what is needed of one change and fills in its facts and diff.
fn examine(p: &Pending<'_>, blobs: &dyn Blobs, limits: &Limits, budget_left: &mut usize) -> FileChange {
    let mut change = FileChange {
        status: p.status,
        old_path: p.old.map(|e| display_path(&e.path)),
        new_path: p.new.map(|e| display_path(&e.path)),
        old_id: p.old.map(|e| e.id.clone()),
        new_id: p.new.map(|e| e.id.clone()),
        old_size: p.old.map(|e| e.size),
        new_size: p.new.map(|e| e.size),
        old_executable: p.old.map(|e| e.executable),
        new_executable: p.new.map(|e| e.executable),
        binary: false,
        lines_added: None,
        lines_removed: None,
        old_lines: None,
        new_lines: None,
        similarity: p.similarity,
        line_endings: None,
        whitespace_only: false,
        diff: DiffText::None,
    };
    let same_content = matches!((p.old, p.new), (Some(o), Some(n)) if o.id == n.id);
    if same_content {
        change.lines_added = Some(0);
        change.lines_removed = Some(0);
        return change;
    }

    let old = load(p.old, blobs, limits);
    let new = load(p.new, blobs, limits);
    let omitted = |reason| DiffText::Omitted { reason };
    let sides = [&old, &new];
    if sides.iter().any(|s| matches!(s, Side::Binary)) {
        change.binary = true;
        change.diff = omitted(OmitReason::Binary);
        return change;
    }
    if sides.iter().any(|s| matches!(s, Side::TooLarge)) {
        change.diff = omitted(OmitReason::TooLarge {
            limit: limits.max_file_bytes_for_diff,
        });
        return change;
    }
    if sides.iter().any(|s| matches!(s, Side::Unavailable)) {
        change.diff = omitted(OmitReason::Unavailable);
        return change;
    }
    let (old_text, new_text) = (old.text(), new.text());
    let old_str = old_text.unwrap_or_default();
    let new_str = new_text.unwrap_or_default();
    change.old_lines = old_text.map(line_count);
    change.new_lines = new_text.map(line_count);
    if let (Some(o), Some(n)) = (old_text, new_text) {
        let (before, after) = (LineEndings::of(o.as_bytes()), LineEndings::of(n.as_bytes()));
        if before != after && before != LineEndings::None && after != LineEndings::None {
            change.line_endings = Some(LineEndingChange {
                old: before,
                new: after,
            });
        }
        change.whitespace_only = o != n && without_whitespace(o).eq(without_whitespace(n));
    }

    let diff = LineDiff::compute(old_str, new_str, limits.deadline_per_file);
    if diff.deadline_hit {
        change.diff = omitted(deadline_reason(limits));
        return change;
    }
    let (added, removed) = diff.counts();
    change.lines_added = Some(added);
    change.lines_removed = Some(removed);
    if !diff.has_changes() {
        // Different ids, same bytes: only possible if the ids lie.
        return change;
    }
    let old_name = p
        .old
        .map(|e| format!("a/{}", display_path(&e.path)))
        .unwrap_or_else(|| "/dev/null".to_owned());
    let new_name = p
        .new
        .map(|e| format!("b/{}", display_path(&e.path)))
        .unwrap_or_else(|| "/dev/null".to_owned());
    let budget = limits.max_diff_bytes_per_file.min(*budget_left);
    let rendered = diff::render(&diff, &old_name, &new_name, budget);
    // Headers alone are not worth the rest of the total budget.
    if !rendered.complete && rendered.shown_lines == 0 && budget < limits.max_diff_bytes_per_file {
        change.diff = omitted(OmitReason::TotalBudgetExhausted {
            diff_lines: rendered.total_lines,
            diff_bytes: rendered.total_bytes,
        });
        return change;
    }
    *budget_left = budget_left.saturating_sub(rendered.text.len());
    change.diff = shown(rendered);
    change
}

/// Lines as git counts them: a last line without `\n` counts.
fn line_count(text: &str) -> u64 {
    let newlines = text.bytes().filter(|&b| b == b'\n').count() as u64;
    newlines + u64::from(!text.is_empty() && !text.ends_with('\n'))
}

fn without_whitespace(text: &str) -> impl Iterator<Item = u8> + '_ {
    text.bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c))
}

#[cfg(test)]
mod tests;
