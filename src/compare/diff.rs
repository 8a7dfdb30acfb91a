//! Line diffs of two texts and their unified rendering within a byte budget.
//!
//! Owns: git's binary rule, splitting text into lines the way git does (on
//! `\n` only, keeping every byte of the line, `\r` included), the Myers diff
//! with a deadline (`similar`), and the unified diff text with its
//! `\ No newline at end of file` markers and git-style quoted file names.
//! Whitespace is never normalised or ignored: a CRLF flip changes every line
//! and a lone `\r` stays inside its line. Escaping for display is the report
//! layer's job. Pure: no I/O.

use std::fmt::Write as _;
use std::time::Instant;

use similar::{Algorithm, DiffOp};

/// Lines of context around each change, as `git diff` and `diff -u`.
pub(crate) const CONTEXT_LINES: usize = 3;

/// How many leading bytes git looks at for a NUL (`FIRST_FEW_BYTES` in git's
/// `xdiff-interface.c`).
const BINARY_SNIFF_BYTES: usize = 8000;

/// Git's rule, extended with UTF-8: binary when a NUL occurs in the first
/// 8000 bytes, or when the content is not valid UTF-8 (a text diff of it could
/// not be shown faithfully).
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0) || std::str::from_utf8(bytes).is_err()
}

/// Splits text into lines on `\n` only, each line keeping its terminator.
///
/// `similar`'s own line tokenizer also splits on a lone `\r`; git does not,
/// and neither do we, so a lone `\r` is shown inside its line.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The line diff of two texts.
pub(crate) struct LineDiff<'a> {
    pub old: Vec<&'a str>,
    pub new: Vec<&'a str>,
    pub ops: Vec<DiffOp>,
    /// The deadline passed before the diff finished: `ops` is a valid but not
    /// minimal diff, so its line counts are not to be trusted.
    pub deadline_hit: bool,
}

impl<'a> LineDiff<'a> {
    /// Myers with a deadline, over lines split by [`split_lines`].
    pub fn compute(old: &'a str, new: &'a str, deadline: std::time::Duration) -> Self {
        let old = split_lines(old);
        let new = split_lines(new);
        let start = Instant::now();
        let deadline_at = start.checked_add(deadline);
        let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &old, &new, deadline_at);
        // `similar` does not say whether it gave up; a diff that ends after
        // the deadline may have been approximated, so it counts as hit.
        let deadline_hit = start.elapsed() > deadline;
        LineDiff {
            old,
            new,
            ops,
            deadline_hit,
        }
    }

    /// Lines added and removed.
    pub fn counts(&self) -> (u64, u64) {
        let mut added = 0u64;
        let mut removed = 0u64;
        for op in &self.ops {
            match *op {
                DiffOp::Equal { .. } => {}
                DiffOp::Delete { old_len, .. } => removed += old_len as u64,
                DiffOp::Insert { new_len, .. } => added += new_len as u64,
                DiffOp::Replace { old_len, new_len, .. } => {
                    removed += old_len as u64;
                    added += new_len as u64;
                }
            }
        }
        (added, removed)
    }

    /// Whether the two sides differ at all.
    pub fn has_changes(&self) -> bool {
        self.ops.iter().any(|op| !matches!(op, DiffOp::Equal { .. }))
    }
}

/// A unified diff rendered up to a byte budget.
#[derive(Debug)]
pub(crate) struct Rendered {
    /// Headers, then hunks, cut at the last whole line within the budget;
    /// never longer than the budget.
    pub text: String,
    /// Body lines (context, `-`, `+`) in `text`.
    pub shown_lines: usize,
    /// Body lines of the whole diff.
    pub total_lines: usize,
    /// Bytes of the whole diff text, as it would be without a budget.
    pub total_bytes: u64,
    /// Everything fitted.
    pub complete: bool,
}

impl Rendered {
    pub fn omitted_lines(&self) -> usize {
        self.total_lines - self.shown_lines
    }
    pub fn omitted_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.text.len() as u64)
    }
}

/// Accumulates diff text while it fits; afterwards only counts.
struct Sink {
    text: String,
    budget: usize,
    cut: bool,
    shown_lines: usize,
    total_lines: usize,
    total_bytes: u64,
    scratch: String,
}

impl Sink {
    /// A hunk header: counted in bytes, not in lines.
    fn header(&mut self, piece: &str) {
        self.push(piece, false);
    }

    fn line(&mut self, prefix: char, line: &str) {
        self.scratch.clear();
        self.scratch.push(prefix);
        self.scratch.push_str(line);
        if !line.ends_with('\n') {
            self.scratch.push_str("\n\\ No newline at end of file\n");
        }
        let piece = std::mem::take(&mut self.scratch);
        self.push(&piece, true);
        self.scratch = piece;
    }

    fn push(&mut self, piece: &str, is_line: bool) {
        self.total_bytes += piece.len() as u64;
        if is_line {
            self.total_lines += 1;
        }
        if !self.cut && self.text.len() + piece.len() <= self.budget {
            self.text.push_str(piece);
            if is_line {
                self.shown_lines += 1;
            }
        } else {
            self.cut = true;
        }
    }
}

/// Renders `diff` as a unified diff with `---`/`+++` headers naming
/// `old_name` and `new_name` (already prefixed, e.g. `a/src/lib.rs` or
/// `/dev/null`; quoted here as git quotes them). The text stops at the last
/// whole line within `budget` bytes (empty when not even the headers fit).
pub(crate) fn render(diff: &LineDiff<'_>, old_name: &str, new_name: &str, budget: usize) -> Rendered {
    let mut headers = String::new();
    headers.push_str("--- ");
    headers.push_str(&quote_name(old_name));
    headers.push_str("\n+++ ");
    headers.push_str(&quote_name(new_name));
    headers.push('\n');
    let mut sink = Sink {
        total_bytes: 0,
        text: String::new(),
        budget,
        cut: false,
        shown_lines: 0,
        total_lines: 0,
        scratch: String::new(),
    };
    sink.header(&headers);
    for group in similar::group_diff_ops(diff.ops.clone(), CONTEXT_LINES) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_start = first.old_range().start;
        let old_len = last.old_range().end - old_start;
        let new_start = first.new_range().start;
        let new_len = last.new_range().end - new_start;
        let mut hunk = String::new();
        // Infallible: writing to a String.
        let _ = writeln!(
            hunk,
            "@@ -{} +{} @@",
            hunk_range(old_start, old_len),
            hunk_range(new_start, new_len)
        );
        sink.header(&hunk);
        for op in &group {
            match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    for line in &diff.old[old_index..old_index + len] {
                        sink.line(' ', line);
                    }
                }
                DiffOp::Delete { old_index, old_len, .. } => {
                    for line in &diff.old[old_index..old_index + old_len] {
                        sink.line('-', line);
                    }
                }
                DiffOp::Insert { new_index, new_len, .. } => {
                    for line in &diff.new[new_index..new_index + new_len] {
                        sink.line('+', line);
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    for line in &diff.old[old_index..old_index + old_len] {
                        sink.line('-', line);
                    }
                    for line in &diff.new[new_index..new_index + new_len] {
                        sink.line('+', line);
                    }
                }
            }
        }
    }
    Rendered {
        complete: !sink.cut,
        text: sink.text,
        shown_lines: sink.shown_lines,
        total_lines: sink.total_lines,
        total_bytes: sink.total_bytes,
    }
}

/// `start,len` of a hunk header as GNU diff and git write it: 1-based, `,1`
/// left out, and an empty range named by the line before it.
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{}", start + 1, len),
    }
}

/// Quotes a file name as git does (`core.quotePath=false`): names holding a
/// control character, `"` or `\` are written in double quotes with C escapes,
/// so a name can never break the diff's line structure. Other names, non-ASCII
/// included, are written as they are.
pub(crate) fn quote_name(name: &str) -> String {
    let needs = name.chars().any(|c| c.is_control() || c == '"' || c == '\\');
    if !needs {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    // Infallible: writing to a String.
                    let _ = write!(out, "\\{b:03o}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn full(old: &str, new: &str) -> String {
        let d = LineDiff::compute(old, new, Duration::from_secs(10));
        render(&d, "a/f", "b/f", usize::MAX).text
    }

    #[test]
    fn binary_rule() {
        assert!(!is_binary(b"hello\n"));
        assert!(!is_binary(b""));
        assert!(is_binary(b"a\0b"));
        assert!(is_binary(b"\xff\xfe"));
        let mut late_nul = vec![b'a'; 9000];
        late_nul[8500] = 0;
        // NUL past 8000 bytes is valid UTF-8: text by git's rule.
        assert!(!is_binary(&late_nul));
    }

    #[test]
    fn split_keeps_cr() {
        assert_eq!(split_lines("a\rb\r\nc"), vec!["a\rb\r\n", "c"]);
        assert!(split_lines("").is_empty());
    }

    #[test]
    fn unified_format_matches_git() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            full(old, new),
            "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn no_newline_marker() {
        assert_eq!(
            full("a\nb", "a\nb\n"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
        );
    }

    #[test]
    fn empty_ranges() {
        assert_eq!(full("", "x\n"), "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n");
        assert_eq!(full("x\ny\n", ""), "--- a/f\n+++ b/f\n@@ -1,2 +0,0 @@\n-x\n-y\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_name("a/src/lib.rs"), "a/src/lib.rs");
        assert_eq!(quote_name("a/é"), "a/é");
        assert_eq!(quote_name("a/x\ny"), "\"a/x\\ny\"");
        assert_eq!(quote_name("a/\u{1b}"), "\"a/\\033\"");
        assert_eq!(quote_name("a/\"q\\"), "\"a/\\\"q\\\\\"");
    }

    #[test]
    fn budget_cuts_whole_lines() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let d = LineDiff::compute(&old, "", Duration::from_secs(10));
        let r = render(&d, "a/f", "/dev/null", 60);
        assert!(!r.complete);
        assert!(r.text.len() <= 60);
        assert!(r.text.ends_with('\n'));
        assert_eq!(r.total_lines, 100);
        assert_eq!(r.shown_lines + r.omitted_lines(), 100);
        let whole = render(&d, "a/f", "/dev/null", usize::MAX);
        assert_eq!(whole.total_bytes, whole.text.len() as u64);
        assert_eq!(r.total_bytes, whole.total_bytes);
        assert!(whole.text.starts_with(&r.text));
    }
}
