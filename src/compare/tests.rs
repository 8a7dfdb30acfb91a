//! Tests of [`super::compare`] and [`super::unified_diff`] on in-memory blobs.

use super::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Blobs in memory, keyed by a fake id; records every load.
#[derive(Default)]
struct Mem {
    blobs: BTreeMap<String, Vec<u8>>,
    loads: RefCell<Vec<String>>,
}

impl Blobs for Mem {
    fn blob(&self, id: &str) -> Option<Vec<u8>> {
        self.loads.borrow_mut().push(id.to_owned());
        self.blobs.get(id).cloned()
    }
}

impl Mem {
    /// Stores `content` and returns the entry for `path`.
    fn file(&mut self, path: &str, content: &[u8]) -> FileEntry {
        let id = format!("{:016x}-{}", fnv(content), content.len());
        self.blobs.insert(id.clone(), content.to_vec());
        FileEntry {
            path: path.as_bytes().to_vec(),
            executable: false,
            id,
            size: content.len() as u64,
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn exec(mut e: FileEntry) -> FileEntry {
    e.executable = true;
    e
}

fn only(c: &Comparison) -> &FileChange {
    assert_eq!(c.files.len(), 1, "{:#?}", c.files);
    &c.files[0]
}

fn full_text(d: &DiffText) -> &str {
    match d {
        DiffText::Full(text) => text,
        other => panic!("expected a full diff, got {other:?}"),
    }
}

#[test]
fn unchanged_is_empty_and_never_loaded() {
    let mut m = Mem::default();
    let a = m.file("src/lib.rs", b"fn main() {}\n");
    let same = std::slice::from_ref(&a);
    let c = compare(same, same, &m, &Limits::default());
    assert!(c.files.is_empty());
    assert_eq!(c.totals, Totals::default());
    assert!(m.loads.borrow().is_empty());
}

#[test]
fn added_removed_modified() {
    let mut m = Mem::default();
    let old = vec![m.file("a.rs", b"one\ntwo\nthree\n"), m.file("gone.rs", b"bye\n")];
    let new = vec![m.file("a.rs", b"one\n2\nthree\n"), m.file("new.rs", b"hello\nworld\n")];
    let c = compare(&old, &new, &m, &Limits::default());
    let paths: Vec<_> = c.files.iter().map(|f| (f.path(), f.status)).collect();
    assert_eq!(
        paths,
        vec![
            ("a.rs", Status::Modified),
            ("gone.rs", Status::Removed),
            ("new.rs", Status::Added)
        ]
    );
    let a = &c.files[0];
    assert_eq!((a.lines_added, a.lines_removed), (Some(1), Some(1)));
    assert_eq!(
        full_text(&a.diff),
        "--- a/a.rs\n+++ b/a.rs\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
    );
    let gone = &c.files[1];
    assert_eq!(gone.new_path, None);
    assert_eq!(gone.old_path.as_deref(), Some("gone.rs"));
    assert_eq!(
        full_text(&gone.diff),
        "--- a/gone.rs\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    );
    let added = &c.files[2];
    assert_eq!((added.lines_added, added.lines_removed), (Some(2), Some(0)));
    assert_eq!(added.new_lines, Some(2));
    assert_eq!(added.old_lines, None);
    assert!(full_text(&added.diff).starts_with("--- /dev/null\n+++ b/new.rs\n@@ -0,0 +1,2 @@\n"));
    let t = &c.totals;
    assert_eq!((t.files_added, t.files_removed, t.files_modified), (1, 1, 1));
    assert_eq!((t.lines_added, t.lines_removed), (3, 2));
    assert_eq!(t.diff_bytes_omitted, 0);
    assert_eq!(t.files_with_omitted_diff, 0);
}

#[test]
fn exact_rename_not_loaded() {
    let mut m = Mem::default();
    let old = vec![m.file("src/old.rs", b"same\n")];
    let new = vec![exec(m.file("src/new.rs", b"same\n"))];
    let c = compare(&old, &new, &m, &Limits::default());
    let f = only(&c);
    assert_eq!(f.status, Status::Renamed);
    assert_eq!(f.old_path.as_deref(), Some("src/old.rs"));
    assert_eq!(f.new_path.as_deref(), Some("src/new.rs"));
    assert_eq!(f.similarity, Some(1.0));
    assert_eq!((f.old_executable, f.new_executable), (Some(false), Some(true)));
    assert_eq!(f.diff, DiffText::None);
    assert_eq!((f.lines_added, f.lines_removed), (Some(0), Some(0)));
    assert!(m.loads.borrow().is_empty());
    assert_eq!(c.totals.files_renamed, 1);
}

#[test]
fn similar_rename_with_diff() {
    let mut m = Mem::default();
    let body: String = (0..20).map(|i| format!("line number {i}\n")).collect();
    let changed = body.replace("line number 7\n", "line seven\n");
    let old = vec![m.file("a/x.rs", body.as_bytes()), m.file("z.rs", b"other\n")];
    let new = vec![m.file("b/y.rs", changed.as_bytes()), m.file("q.rs", b"totally new\n")];
    let c = compare(&old, &new, &m, &Limits::default());
    let renamed: Vec<_> = c.files.iter().filter(|f| f.status == Status::Renamed).collect();
    assert_eq!(renamed.len(), 1, "{:#?}", c.files);
    let r = renamed[0];
    assert_eq!(r.old_path.as_deref(), Some("a/x.rs"));
    assert_eq!(r.new_path.as_deref(), Some("b/y.rs"));
    let s = r.similarity.unwrap_or_default();
    assert!(s > 0.9 && s < 1.0, "{s}");
    assert_eq!((r.lines_added, r.lines_removed), (Some(1), Some(1)));
    assert!(full_text(&r.diff).starts_with("--- a/a/x.rs\n+++ b/b/y.rs\n"));
    assert_eq!(c.totals.files_added, 1);
    assert_eq!(c.totals.files_removed, 1);
    // Ordered by path: b/y.rs, q.rs, z.rs.
    let order: Vec<_> = c.files.iter().map(|f| f.path()).collect();
    assert_eq!(order, vec!["b/y.rs", "q.rs", "z.rs"]);
}

#[test]
fn rename_candidates_limited() {
    let mut m = Mem::default();
    let old = vec![m.file("a", b"x\ny\nz\n"), m.file("b", b"1\n2\n")];
    let new = vec![m.file("c", b"x\ny\nZ\n"), m.file("d", b"1\n2\n3\n")];
    let limits = Limits {
        max_rename_candidates: 1,
        ..Limits::default()
    };
    let c = compare(&old, &new, &m, &limits);
    assert_eq!(c.rename_candidates_skipped, 4);
    assert!(c.files.iter().all(|f| f.status != Status::Renamed));
    assert_eq!(c.files.len(), 4);
}

#[test]
fn mode_change() {
    let mut m = Mem::default();
    let a = m.file("build.sh", b"#!/bin/sh\n");
    let c = compare(std::slice::from_ref(&a), &[exec(a.clone())], &m, &Limits::default());
    let f = only(&c);
    assert_eq!(f.status, Status::ModeChanged);
    assert_eq!(f.diff, DiffText::None);
    assert_eq!(c.totals.files_mode_changed, 1);
    assert!(m.loads.borrow().is_empty());
}

#[test]
fn binary_by_nul_and_by_invalid_utf8() {
    let mut m = Mem::default();
    let old = vec![m.file("data.bin", b"abc\0def"), m.file("latin1.txt", b"caf\n")];
    let new = vec![m.file("data.bin", b"abc\0xyz"), m.file("latin1.txt", b"caf\xe9\n")];
    let c = compare(&old, &new, &m, &Limits::default());
    assert_eq!(c.files.len(), 2);
    for f in &c.files {
        assert!(f.binary, "{f:?}");
        assert_eq!(f.lines_added, None);
        assert_eq!(
            f.diff,
            DiffText::Omitted {
                reason: OmitReason::Binary
            }
        );
        assert!(f.old_id.is_some() && f.new_id.is_some());
        assert!(f.old_size.is_some() && f.new_size.is_some());
    }
    assert_eq!(c.totals.files_with_omitted_diff, 2);
    assert_eq!(c.totals.files_without_line_counts, 2);
}

#[test]
fn crlf_flip_changes_every_line() {
    let mut m = Mem::default();
    let old = vec![m.file("a.txt", b"one\ntwo\nthree\n")];
    let new = vec![m.file("a.txt", b"one\r\ntwo\r\nthree\r\n")];
    let c = compare(&old, &new, &m, &Limits::default());
    let f = only(&c);
    assert_eq!(
        f.line_endings,
        Some(LineEndingChange {
            old: LineEndings::Lf,
            new: LineEndings::Crlf
        })
    );
    assert!(f.whitespace_only);
    assert_eq!((f.lines_added, f.lines_removed), (Some(3), Some(3)));
    assert_eq!(
        full_text(&f.diff),
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n-one\n-two\n-three\n+one\r\n+two\r\n+three\r\n"
    );
}

#[test]
fn trailing_whitespace_is_a_change() {
    let mut m = Mem::default();
    let old = vec![m.file("a.rs", b"let x = 1;\nlet y = 2;\n")];
    let new = vec![m.file("a.rs", b"let x = 1; \t\nlet y = 2;\n")];
    let c = compare(&old, &new, &m, &Limits::default());
    let f = only(&c);
    assert!(f.whitespace_only);
    assert_eq!(f.line_endings, None);
    assert_eq!((f.lines_added, f.lines_removed), (Some(1), Some(1)));
    assert!(full_text(&f.diff).contains("\n-let x = 1;\n+let x = 1; \t\n"));
}

#[test]
fn lone_cr_is_kept_in_its_line() {
    let mut m = Mem::default();
    let old = vec![m.file("a.rs", b"safe();\nnext();\n")];
    let new = vec![m.file("a.rs", b"safe();\rhidden();\nnext();\n")];
    let c = compare(&old, &new, &m, &Limits::default());
    let f = only(&c);
    assert_eq!(
        f.line_endings,
        Some(LineEndingChange {
            old: LineEndings::Lf,
            new: LineEndings::Mixed
        })
    );
    assert!(!f.whitespace_only);
    assert_eq!((f.lines_added, f.lines_removed), (Some(1), Some(1)));
    assert_eq!(f.new_lines, Some(2));
    assert!(full_text(&f.diff).contains("\n-safe();\n+safe();\rhidden();\n next();\n"));
}

#[test]
fn no_newline_at_end() {
    let d = unified_diff(b"a\nb", b"a\nc", "x", "y", &Limits::default());
    assert_eq!(
        full_text(&d),
        "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
    );
    assert_eq!(
        unified_diff(b"same", b"same", "x", "y", &Limits::default()),
        DiffText::None
    );
    assert_eq!(
        unified_diff(b"\0", b"x", "x", "y", &Limits::default()),
        DiffText::Omitted {
            reason: OmitReason::Binary
        }
    );
}

#[test]
fn too_large_is_never_loaded() {
    let mut m = Mem::default();
    let old = vec![m.file("big.txt", b"small\n")];
    let mut big = m.file("big.txt", b"claims to be big\n");
    big.size = 50 * 1024 * 1024;
    let c = compare(&old, &[big], &m, &Limits::default());
    let f = only(&c);
    assert_eq!(
        f.diff,
        DiffText::Omitted {
            reason: OmitReason::TooLarge { limit: 8 * 1024 * 1024 }
        }
    );
    assert_eq!(f.new_size, Some(50 * 1024 * 1024));
    assert_eq!(f.lines_added, None);
}

#[test]
fn ten_megabyte_line_is_bounded() {
    let mut m = Mem::default();
    let mut line = vec![b'a'; 10 * 1024 * 1024];
    let old = vec![m.file("one.min.js", &line)];
    line[5 * 1024 * 1024] = b'b';
    let new = vec![m.file("one.min.js", &line)];
    let start = Instant::now();
    // Default limits: over the 8 MiB load limit.
    let c = compare(&old, &new, &m, &Limits::default());
    assert!(matches!(
        only(&c).diff,
        DiffText::Omitted {
            reason: OmitReason::TooLarge { .. }
        }
    ));
    // Loaded: one line replaced, the text cut at the per-file budget.
    let limits = Limits {
        max_file_bytes_for_diff: 64 * 1024 * 1024,
        deadline_per_file: Duration::from_millis(200),
        ..Limits::default()
    };
    let c = compare(&old, &new, &m, &limits);
    let f = only(&c);
    assert_eq!((f.lines_added, f.lines_removed), (Some(1), Some(1)));
    match &f.diff {
        DiffText::Truncated {
            text,
            shown_lines,
            omitted_lines,
            omitted_bytes,
        } => {
            assert_eq!(*shown_lines, 0);
            assert_eq!(*omitted_lines, 2);
            assert!(*omitted_bytes > 20 * 1024 * 1024);
            assert!(text.len() <= limits.max_diff_bytes_per_file);
        }
        other => panic!("expected truncated, got {other:?}"),
    }
    assert!(c.totals.diff_bytes_omitted > 20 * 1024 * 1024);
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
}

#[test]
fn many_lines_with_tight_deadline_finish() {
    let mut m = Mem::default();
    let old: String = (0..200_000).map(|i| format!("{i}\n")).collect();
    let new: String = (0..200_000).map(|i| format!("{}\n", i * 7 % 200_003)).collect();
    let old = vec![m.file("big.rs", old.as_bytes())];
    let new = vec![m.file("big.rs", new.as_bytes())];
    let limits = Limits {
        deadline_per_file: Duration::from_millis(1),
        ..Limits::default()
    };
    let start = Instant::now();
    let c = compare(&old, &new, &m, &limits);
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    let f = only(&c);
    assert_eq!((f.old_lines, f.new_lines), (Some(200_000), Some(200_000)));
    match &f.diff {
        DiffText::Omitted {
            reason: OmitReason::DeadlineExceeded { deadline_ms },
        } => assert_eq!(*deadline_ms, 1),
        DiffText::Truncated { omitted_lines, .. } => assert!(*omitted_lines > 0),
        other => panic!("expected a bounded diff, got {other:?}"),
    }
}

#[test]
fn total_budget_keeps_the_file_list_complete() {
    let mut m = Mem::default();
    let mut old = Vec::new();
    let mut new = Vec::new();
    for i in 0..50 {
        let path = format!("f{i:02}.rs");
        old.push(m.file(&path, format!("old {i}\n").repeat(50).as_bytes()));
        new.push(m.file(&path, format!("new {i}\n").repeat(50).as_bytes()));
    }
    let limits = Limits {
        max_total_diff_bytes: 2000,
        ..Limits::default()
    };
    let c = compare(&old, &new, &m, &limits);
    assert_eq!(c.files.len(), 50);
    assert_eq!(c.totals.files_modified, 50);
    assert_eq!(c.totals.lines_added, 2500);
    assert_eq!(c.totals.lines_removed, 2500);
    assert!(c.totals.diff_bytes_shown <= 2000);
    assert!(matches!(c.files[0].diff, DiffText::Full(_)));
    assert!(matches!(c.files[2].diff, DiffText::Truncated { .. }));
    let last = &c.files[49];
    match &last.diff {
        DiffText::Omitted {
            reason: OmitReason::TotalBudgetExhausted { diff_lines, diff_bytes },
        } => {
            assert_eq!(*diff_lines, 100);
            assert!(*diff_bytes > 0);
        }
        other => panic!("expected budget exhausted, got {other:?}"),
    }
    assert_eq!(
        c.totals.files_with_omitted_diff + c.totals.files_with_truncated_diff + 2,
        50
    );
    assert_eq!(c.totals.files_with_truncated_diff, 1);
    assert!(c.totals.diff_bytes_omitted > 0);
    assert_eq!(last.lines_added, Some(50));
}

#[test]
fn non_utf8_path_is_escaped() {
    assert_eq!(display_path(b"src/\xffx.rs"), "src/\\xFFx.rs");
    assert_eq!(display_path("é".as_bytes()), "é");
}

#[test]
fn serializes_with_stable_tags() {
    let mut m = Mem::default();
    let old = vec![m.file("a", b"\0")];
    let new = vec![m.file("a", b"\0\0")];
    let c = compare(&old, &new, &m, &Limits::default());
    let json = serde_json::to_value(&c).unwrap_or_default();
    assert_eq!(json["files"][0]["status"], "modified");
    assert_eq!(json["files"][0]["diff"]["kind"], "omitted");
    assert_eq!(json["files"][0]["diff"]["data"]["reason"]["code"], "binary");
    let full = serde_json::to_value(DiffText::Full("x".into())).unwrap_or_default();
    assert_eq!(full, serde_json::json!({"kind": "full", "data": "x"}));
    let none = serde_json::to_value(DiffText::None).unwrap_or_default();
    assert_eq!(none, serde_json::json!({"kind": "none"}));
}
