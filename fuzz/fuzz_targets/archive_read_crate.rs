//! `cargofox::archive::read_crate` on arbitrary bytes (a `.crate` is
//! attacker-controlled), then what `sync` does with the view: build the git
//! trees and the commit message. Checked on every input:
//!
//! - no panic, and memory bounded by the limits (libFuzzer's RSS limit);
//! - the status and the view agree: only an `ok` view has files, whose sizes
//!   add up to `unpacked_size`, within the unpacked limit and the entry limit;
//! - every stored path (view and extras) is unique and made of components
//!   git accepts with its NTFS and HFS+ protections (so the store and a push
//!   stay fsck-clean), and the store can build trees from them;
//! - anomaly details and escaped paths are printable ASCII, the status
//!   reason is one line without invisible characters (it quotes the tar
//!   crate's error, which may quote a few header bytes: see
//!   docs/SECURITY.md), so the commit message keeps one trailer per line and
//!   reads back exactly.

#![no_main]

use cargofox::archive::{Limits, Status, read_crate};
use cargofox::message::{VersionFacts, commit_message, parse_commit_message};
use cargofox::types::{CrateName, Sha256, VersionStr};
use libfuzzer_sys::fuzz_target;

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// One line, nothing hidden: what a trailer value needs.
fn one_visible_line(s: &str) -> bool {
    !s.chars().any(char::is_control) && !cargofox::report::escape::visible(s).1 && !s.contains(['\u{2028}', '\u{2029}'])
}

fn check_paths(files: &[cargofox::archive::File], what: &str) {
    let opts = gix_validate::path::component::Options {
        protect_windows: false,
        protect_hfs: true,
        protect_ntfs: true,
    };
    for pair in files.windows(2) {
        assert!(pair[0].path < pair[1].path, "{what}: not sorted and unique: {:?}", pair);
    }
    for f in files {
        assert!(!f.path.is_empty(), "{what}: an empty path");
        for c in f.path.split(|&b| b == b'/') {
            assert!(
                !c.is_empty() && c != b"." && c != b"..",
                "{what}: component {c:?} in {:?}",
                f.path
            );
            assert!(!c.contains(&0), "{what}: NUL in {:?}", f.path);
            gix_validate::path::component(c.into(), None, opts)
                .unwrap_or_else(|e| panic!("{what}: git refuses {c:?} in {:?}: {e}", f.path));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let name = CrateName::new("f").expect("valid name");
    let vers = VersionStr::new("1.0.0").expect("valid version");
    // Small limits keep each run fast; the logic is the same at any size.
    let limits = Limits {
        base_unpacked: 4 << 20,
        ratio: 20,
        max_entries: 2000,
        max_path: 4096,
    };
    let view = read_crate(data, &name, &vers, &limits);
    let status = view.status();

    let sum: u64 = view.files.iter().map(|f| f.data.len() as u64).sum();
    assert_eq!(view.unpacked_size, sum);
    match &status {
        Status::Ok => {
            assert!(sum <= limits.max_unpacked(data.len()), "{sum} bytes unpacked");
            assert!(view.files.len() <= limits.max_entries);
        }
        Status::Empty => assert!(data.is_empty() && view.files.is_empty()),
        Status::Corrupt(_) | Status::OverLimit(_) => assert!(view.files.is_empty()),
        Status::Unavailable(_) => panic!("the reader never says unavailable"),
    }
    check_paths(&view.files, "view");
    check_paths(&view.extras, "extras");

    let prepared = cargofox::store::prepare(&view.files, &view.extras, data, &mut |_| true)
        .unwrap_or_else(|e| panic!("the store cannot hold the view: {e}"));
    assert_eq!(prepared.extras_tree.is_some(), !view.extras.is_empty());

    for a in &view.anomalies {
        assert!(printable(&a.detail), "anomaly {} detail {:?}", a.code, a.detail);
    }
    for e in &view.escaped {
        assert!(printable(e), "escaped path {e:?}");
    }
    if let Some(r) = status.reason() {
        assert!(one_visible_line(r) && r.len() <= 256, "status reason {r:?}");
    }
    let facts = VersionFacts {
        name,
        version: vers,
        sha256: Sha256::of(data),
        crate_size: data.len() as u64,
        status: status.clone(),
        unpacked_size: view.unpacked_size,
        file_count: view.files.len(),
        extras: prepared.extras_tree.map(|t| t.to_string()),
        anomalies: view.anomalies.clone(),
        escaped: view.escaped.clone(),
    };
    let back = parse_commit_message(&commit_message(&facts));
    assert_eq!(back.status, status.as_str());
    assert_eq!(back.error.as_deref(), status.reason());
    assert_eq!(back.escaped, view.escaped);
    let anomalies: Vec<(&str, &str)> = back
        .anomalies
        .iter()
        .map(|a| (a.code.as_str(), a.detail.as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = view.anomalies.iter().map(|a| (a.code, a.detail.as_str())).collect();
    assert_eq!(anomalies, expected);
});
