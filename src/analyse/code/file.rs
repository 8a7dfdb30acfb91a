//! One file's content to [`FileFacts`]: the order of the passes and the
//! guards around the parser.
//!
//! Owns: telling Rust, text and binary content apart; the lexer pass every
//! Rust file gets (trojan-source characters, look-alike identifiers, encoded
//! literals and byte arrays, `use` declarations, nesting figures); choosing
//! between syn and the token scanner; catching a panic in either.
//!
//! Must not: let a file crash or hang the run. syn only sees files whose
//! nesting is within [`MAX_NESTING_DEPTH`] and [`MAX_RUN`] (deeper trees
//! could overflow the stack while parsing, visiting or dropping), runs on a
//! thread with a [`STACK_BYTES`] stack, and clears proc-macro2's span table
//! after each file so memory does not grow with the files read.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::lexer::{Kind, Lexed, Tok, lex};
use super::patterns::UseMap;
use super::payload::{classify_byte_array, classify_literal, literal_value, magic};
use super::scan::{ScanCtx, scan};
use super::text::{Lines, bidi_name, confusable_identifier, invisible_name};
use super::{FactKind, FileFacts, FileKind, ParseStatus, Sink, finish_fns, syntax};

/// Files nesting delimiters deeper than this are token scanned only.
pub(crate) const MAX_NESTING_DEPTH: u32 = 128;
/// Files with a longer run of tokens between separators are token scanned
/// only (a long chain like `a + a + .. + a` nests as deep as it is long).
pub(crate) const MAX_RUN: u32 = 4096;
/// Stack of the threads that parse.
pub(crate) const STACK_BYTES: usize = 64 * 1024 * 1024;

/// The facts of one file's content. `path` only decides how it is read:
/// a `.rs` file with syn (or the token scanner), anything else for its
/// magic number and, when it is text, for hidden characters.
///
/// Runs on a thread of its own with a large stack; call it from anywhere.
pub fn analyse_file(path: &str, bytes: &[u8]) -> FileFacts {
    let rust = path.ends_with(".rs");
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("cargofox-code".to_owned())
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, || analyse_content(rust, bytes, true))
            .ok()
            .and_then(|h| h.join().ok())
    })
    .unwrap_or_else(|| analyse_content(rust, bytes, false))
}

/// The facts of a content; `use_syn` is false when the caller cannot give
/// the parser a large stack. Must run on a thread that owns no
/// proc-macro2 spans of its own (they are cleared). A panic anywhere in the
/// analysis gives facts that say the analysis failed, never a crash.
pub(crate) fn analyse_content(rust: bool, bytes: &[u8], use_syn: bool) -> FileFacts {
    catch_unwind(AssertUnwindSafe(|| read_content(rust, bytes, use_syn))).unwrap_or_else(|_| FileFacts {
        kind: if crate::compare::is_binary(bytes) {
            FileKind::Binary
        } else {
            FileKind::Text
        },
        parse: if rust {
            ParseStatus::TokensOnly {
                reason: "the analysis failed on this file (an internal error)".to_owned(),
            }
        } else {
            ParseStatus::NotRust
        },
        magic: catch_unwind(|| magic(bytes)).ok().flatten(),
        size: bytes.len() as u64,
        lines: 0,
        counts: Vec::new(),
        findings: Vec::new(),
        mods: Vec::new(),
        includes: Vec::new(),
    })
}

fn read_content(rust: bool, bytes: &[u8], use_syn: bool) -> FileFacts {
    let size = bytes.len() as u64;
    let found = magic(bytes);
    let binary = crate::compare::is_binary(bytes);
    if !rust || found.is_some() {
        let text = if binary { None } else { std::str::from_utf8(bytes).ok() };
        let mut facts = FileFacts {
            kind: if text.is_some() && found.is_none() {
                FileKind::Text
            } else {
                FileKind::Binary
            },
            parse: if rust {
                ParseStatus::TokensOnly {
                    reason: "binary content".to_owned(),
                }
            } else {
                ParseStatus::NotRust
            },
            magic: found,
            size,
            lines: 0,
            counts: Vec::new(),
            findings: Vec::new(),
            mods: Vec::new(),
            includes: Vec::new(),
        };
        if let Some(text) = text {
            let lines = Lines::new(text);
            let mut sink = Sink::new(text, &lines);
            hidden_characters(text, None, &mut sink);
            let (counts, findings, _, _) = sink.finish();
            facts.lines = lines.count();
            facts.counts = counts;
            facts.findings = findings;
        }
        return facts;
    }
    let lossy;
    let (src, kind, reason) = match std::str::from_utf8(bytes) {
        Ok(s) if !binary => (s, FileKind::Rust, None),
        _ => {
            lossy = String::from_utf8_lossy(bytes);
            (&*lossy, FileKind::Binary, Some("not UTF-8 text".to_owned()))
        }
    };
    let mut facts = analyse_rust(src, use_syn && reason.is_none(), reason);
    facts.kind = kind;
    facts.size = size;
    facts
}

/// Blanks what rustc skips but syn and the scanners should not read: a
/// byte-order mark, a shebang line, a frontmatter block. Byte offsets (and
/// so lines) are unchanged.
fn prepare(src: &str) -> String {
    let mut out = src.to_owned();
    let blank = |s: &mut String, from: usize, to: usize| {
        // Every byte but `\n` becomes a space.
        let replaced: String = s[from..to]
            .chars()
            .map(|c| {
                if c == '\n' {
                    "\n".to_owned()
                } else {
                    " ".repeat(c.len_utf8())
                }
            })
            .collect();
        s.replace_range(from..to, &replaced);
    };
    let mut at = 0;
    if out.starts_with('\u{FEFF}') {
        blank(&mut out, 0, 3);
        at = 3;
    }
    if out[at..].starts_with("#!") && !out[at + 2..].trim_start().starts_with('[') {
        let end = out[at..].find('\n').map_or(out.len(), |p| at + p);
        blank(&mut out, at, end);
        at = end;
    }
    // Frontmatter: a line of three or more dashes, up to the next such line.
    let rest = &out[at..];
    let lead = rest.len() - rest.trim_start_matches(['\n', '\r', ' ', '\t']).len();
    let start = at + lead;
    if out[start..].starts_with("---") {
        let dashes = out[start..].bytes().take_while(|&b| b == b'-').count();
        let fence = "-".repeat(dashes);
        let mut pos = out[start..].find('\n').map(|p| start + p + 1);
        while let Some(p) = pos {
            let line_end = out[p..].find('\n').map_or(out.len(), |q| p + q);
            if out[p..line_end].trim_end() == fence {
                blank(&mut out, start, line_end);
                break;
            }
            pos = (line_end < out.len()).then_some(line_end + 1);
        }
    }
    out
}

fn analyse_rust(src: &str, use_syn: bool, reason: Option<String>) -> FileFacts {
    let prepared = prepare(src);
    let lexed = lex(&prepared);
    let lines = Lines::new(src);
    let uses = UseMap::from_tokens(&lexed.toks, &prepared);
    let too_deep = lexed.max_depth > MAX_NESTING_DEPTH || lexed.max_run > MAX_RUN;

    let mut attempt = None;
    if use_syn && !too_deep {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut sink = Sink::new(src, &lines);
            let mut fns = Vec::new();
            let status = syntax::analyse(&prepared, &uses, &mut sink, &mut fns);
            status.map(|s| (s, sink, fns))
        }));
        proc_macro2::extra::invalidate_current_thread_spans();
        attempt = Some(match result {
            Ok(r) => r,
            Err(_) => Err("the parser failed on this file".to_owned()),
        });
    }
    let (status, mut sink, fns) = match attempt {
        Some(Ok(done)) => done,
        other => {
            let reason = match other {
                Some(Err(why)) => why,
                _ if too_deep => format!(
                    "nests too deeply for the parser (depth {}, longest run {} tokens)",
                    lexed.max_depth, lexed.max_run
                ),
                _ => reason.unwrap_or_else(|| "not parsed".to_owned()),
            };
            let mut sink = Sink::new(src, &lines);
            let mut fns = Vec::new();
            let mut cx = ScanCtx {
                src: &prepared,
                uses: &uses,
                sink: &mut sink,
                fns: &mut fns,
                outer_fn: None,
                in_test: false,
                whole_file: true,
            };
            scan(&lexed.toks, &mut cx);
            (ParseStatus::TokensOnly { reason }, sink, fns)
        }
    };
    let token_level = matches!(status, ParseStatus::TokensOnly { .. });
    sink.freeze_test_ranges();
    finish_fns(&fns, &mut sink, token_level);
    hidden_characters(src, Some(&lexed), &mut sink);
    identifiers(&prepared, &lexed, &mut sink);
    literals(&prepared, &lexed.toks, &mut sink);
    let (counts, findings, mods, includes) = sink.finish();
    FileFacts {
        kind: FileKind::Rust,
        parse: status,
        magic: None,
        size: src.len() as u64,
        lines: lines.count(),
        counts,
        findings,
        mods,
        includes,
    }
}

/// Where an offset sits in lexed Rust.
fn region(src: &str, lexed: &Lexed, offset: usize) -> &'static str {
    let o = offset as u32;
    let c = lexed.comments.partition_point(|&(s, _)| s <= o);
    if c > 0 && o < lexed.comments[c - 1].1 {
        return "comment";
    }
    let t = lexed.toks.partition_point(|t| t.start <= o);
    if t > 0 {
        let tok = lexed.toks[t - 1];
        if o < tok.end {
            match tok.kind {
                Kind::Str => return "string",
                Kind::Char => return "character literal",
                Kind::Ident | Kind::Lifetime => return "identifier",
                // The character itself, outside literals: look at its neighbours.
                _ => {}
            }
        }
    }
    let before = src[..offset].chars().next_back();
    let after = src[offset..].chars().nth(1);
    if before.is_some_and(super::lexer::is_ident_continue) || after.is_some_and(super::lexer::is_ident_continue) {
        "identifier"
    } else {
        "code"
    }
}

/// Bidirectional controls and invisible characters, anywhere (a BOM at the
/// very start excepted).
fn hidden_characters(src: &str, lexed: Option<&Lexed>, sink: &mut Sink<'_>) {
    // Only these lead bytes start the characters looked for.
    if !src
        .bytes()
        .any(|b| matches!(b, 0xC2 | 0xCD | 0xD8 | 0xE1 | 0xE2 | 0xE3 | 0xEF | 0xF3))
    {
        return;
    }
    for (i, c) in src.char_indices() {
        if c.is_ascii() || (i == 0 && c == '\u{FEFF}') {
            continue;
        }
        let (kind, name) = match (bidi_name(c), invisible_name(c)) {
            (Some(n), _) => (FactKind::BidiControl, n),
            (None, Some(n)) => (FactKind::InvisibleCharacter, n),
            _ => continue,
        };
        let place = lexed.map_or("text", |l| region(src, l, i));
        sink.push(kind, i, &format!("U+{:04X} {name} in {place}", c as u32), false, false);
    }
}

/// Identifiers that pass for others, once each.
fn identifiers(src: &str, lexed: &Lexed, sink: &mut Sink<'_>) {
    let mut seen = std::collections::BTreeSet::new();
    for t in &lexed.toks {
        if t.kind != Kind::Ident {
            continue;
        }
        let text = t.text(src);
        if text.is_ascii() || !seen.insert(text) {
            continue;
        }
        if let Some(d) = confusable_identifier(text) {
            sink.push(FactKind::ConfusableIdentifier, t.start as usize, &d, false, false);
        }
    }
}

/// The value of an integer literal token if it fits a byte.
fn byte_value(text: &str) -> Option<u8> {
    let t = text.replace('_', "");
    let (body, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(o) = t.strip_prefix("0o") {
        (o, 8)
    } else if let Some(b) = t.strip_prefix("0b") {
        (b, 2)
    } else {
        (t.as_str(), 10)
    };
    // A suffix (`u8`, `i32`, ...) starts with a letter no digit uses.
    let body = body.find(['u', 'i']).map_or(body, |p| &body[..p]);
    u8::from_str_radix(body, radix).ok()
}

/// Encoded string literals and arrays of byte values.
fn literals(src: &str, toks: &[Tok], sink: &mut Sink<'_>) {
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        match t.kind {
            Kind::Str if t.end - t.start >= 40 => {
                if let Some(v) = literal_value(t.text(src))
                    && let Some(d) = classify_literal(&v)
                {
                    sink.push(FactKind::EncodedPayload, t.start as usize, &d, false, false);
                }
            }
            Kind::Open('[') => {
                // `[n, n, n, ...]` of byte values.
                let mut bytes = Vec::new();
                let mut j = i + 1;
                while let Some(n) = toks.get(j) {
                    if n.kind != Kind::Num {
                        break;
                    }
                    let Some(b) = byte_value(n.text(src)) else { break };
                    bytes.push(b);
                    j += 1;
                    match toks.get(j).map(|t| t.kind) {
                        Some(Kind::Punct(',')) => j += 1,
                        _ => break,
                    }
                }
                if toks.get(j).map(|t| t.kind) == Some(Kind::Close(']'))
                    && bytes.len() >= 16
                    && let Some(d) = classify_byte_array(&bytes)
                {
                    sink.push(FactKind::EncodedPayload, t.start as usize, &d, false, false);
                }
                if bytes.len() > 1 {
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_keeps_offsets() {
        let src = "\u{FEFF}#!/usr/bin/env cargo\n---\n[dependencies]\nx = \"é\"\n---\nfn main() {}\n";
        let p = prepare(src);
        assert_eq!(p.len(), src.len());
        assert!(p.trim_start().starts_with("fn main"));
        assert_eq!(p.matches('\n').count(), src.matches('\n').count());
        let attr = "#![allow(x)]\nfn f() {}";
        assert_eq!(prepare(attr), attr);
    }

    #[test]
    fn byte_values() {
        assert_eq!(byte_value("0x7f"), Some(0x7f));
        assert_eq!(byte_value("0x7Fu8"), Some(0x7f));
        assert_eq!(byte_value("255"), Some(255));
        assert_eq!(byte_value("256"), None);
        assert_eq!(byte_value("1_0u8"), Some(10));
        assert_eq!(byte_value("0b101"), Some(5));
    }
}
