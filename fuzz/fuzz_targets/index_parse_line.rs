//! `cargofox::registry::index::parse_line` on arbitrary bytes (the registry
//! and whoever publishes control index lines). Checked on every input: no
//! panic; a usable entry names the expected crate; its version maps to a ref
//! name git accepts and to a report file name that is safe on any file
//! system, both reversibly (so two versions never share a ref or a report);
//! `parse_file` agrees with `parse_line`.

#![no_main]

use cargofox::registry::index::{IndexLine, parse_file, parse_line};
use cargofox::report::paths::version_stem;
use cargofox::store::refs;
use cargofox::types::CrateName;
use libfuzzer_sys::fuzz_target;

fn unhex(s: &[u8]) -> u8 {
    u8::from_str_radix(std::str::from_utf8(s).expect("ascii"), 16).expect("hex")
}

/// Reverse `VersionStr::ref_component`.
fn decode_ref(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(unhex(&b[i + 1..i + 3]));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Reverse `version_stem`.
fn decode_stem(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                out.push(unhex(&b[i + 1..i + 3]));
                i += 3;
            }
            b'_' => {
                let next = b[i + 1];
                out.push(if next == b'_' { b'_' } else { next.to_ascii_uppercase() });
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let expected = CrateName::new("Serde").expect("valid name");
    let line = parse_line(data, &expected);
    match &line {
        IndexLine::Entry(e) => {
            assert!(e.name.as_str().eq_ignore_ascii_case("serde"), "{:?}", e.name);
            assert!(e.v <= 2, "v{}", e.v);
            let component = e.vers.ref_component();
            let r = refs::version(&e.name, &e.vers);
            gix_validate::reference::name(r.as_str().into()).unwrap_or_else(|err| panic!("{r:?}: {err}"));
            assert_eq!(decode_ref(&component), e.vers.as_str().as_bytes(), "{component}");

            let stem = version_stem(&e.vers);
            assert!(!stem.starts_with('.'), "{stem}");
            assert!(
                stem.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._+-%ABCDEF".contains(&b)),
                "{stem}"
            );
            assert_eq!(decode_stem(&stem), e.vers.as_str().as_bytes(), "{stem}");
            assert_eq!(e.pubtime.is_some(), e.pubtime_text.is_some());
        }
        IndexLine::Skipped { reason, .. } => assert!(!reason.is_empty()),
    }
    // Bytes without a line break are a file of one line (or of none, when
    // blank), its `\r` ending dropped.
    if !data.contains(&b'\n') {
        let stripped = data.strip_suffix(b"\r").unwrap_or(data);
        let want = if stripped.iter().all(u8::is_ascii_whitespace) {
            vec![]
        } else {
            vec![parse_line(stripped, &expected)]
        };
        assert_eq!(parse_file(data, &expected), want);
    }
});
