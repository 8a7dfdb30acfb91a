//! The network cases of BAD-INPUTS.md that ingest owns (items 1, 10, 24-27),
//! through the `cargofox` binary against the harness's HTTP server on
//! 127.0.0.1: checksum mismatches are quarantined and retried, transient
//! failures are retried with backoff (`Retry-After` honoured), partial bodies
//! are never stored, conditional index requests, both `dl` styles, and the
//! User-Agent. Timing is checked from the server's request log, never by
//! sleeping.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    Cargofox, DlStyle, Fault, IndexEntry, Output, ServeOptions, Server, TestRegistry, crate_file, git, serve,
    serve_with, sha256_hex, temp_dir,
};

fn store(data: &Path) -> PathBuf {
    data.join("store.git")
}

fn sync(data: &Path, server: &Server, crates: &[&str]) -> Output {
    Cargofox::new().data(data).registry(&server.url()).sync(crates).run()
}

fn sync_args(data: &Path, server: &Server, args: &[&str]) -> Output {
    Cargofox::new()
        .data(data)
        .registry(&server.url())
        .arg("sync")
        .args(args)
        .run()
}

fn ref_exists(data: &Path, name: &str) -> bool {
    !git(&store(data), &["for-each-ref", "--format=%(refname)", name])
        .trim()
        .is_empty()
}

fn rev(data: &Path, what: &str) -> String {
    git(&store(data), &["rev-parse", what]).trim().to_owned()
}

fn trailer(data: &Path, name: &str, vers: &str, key: &str) -> Vec<String> {
    let msg = git(
        &store(data),
        &["show", "-s", "--format=%B", &format!("refs/crates/{name}/{vers}")],
    );
    let prefix = format!("{key}: ");
    msg.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

/// The failure record under `refs/failures/<name>/<vers>`.
fn failure(data: &Path, name: &str, vers: &str) -> Value {
    let blob = git(
        &store(data),
        &["cat-file", "blob", &format!("refs/failures/{name}/{vers}")],
    );
    serde_json::from_str(&blob).unwrap_or_else(|e| panic!("failure record is not JSON ({e}): {blob}"))
}

fn fsck(data: &Path) {
    git(&store(data), &["fsck", "--strict", "--no-progress", "--no-dangling"]);
}

fn simple(name: &str, vers: &str) -> Vec<u8> {
    let toml = format!("[package]\nname = \"{name}\"\nversion = \"{vers}\"\n");
    let body = format!("// {name} {vers}\n{}", "pub fn f() {}\n".repeat(40));
    crate_file(
        name,
        vers,
        &[("Cargo.toml", toml.as_bytes()), ("src/lib.rs", body.as_bytes())],
    )
}

fn add(reg: &mut TestRegistry, name: &str, vers: &str) -> Vec<u8> {
    let bytes = simple(name, vers);
    let mut e = IndexEntry::new(name, vers, bytes.clone());
    e.pubtime = Some("2024-01-01T00:00:00Z".into());
    reg.add_entry(e);
    bytes
}

fn statuses(server: &Server, path: &str) -> Vec<Option<u16>> {
    server.requests_to(path).iter().map(|r| r.status).collect()
}

// ---------------------------------------------------------------------------
// 10. sha256 differs from the index

#[test]
fn a_checksum_mismatch_is_quarantined_retried_and_stored_once_fixed() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "ck", "1.0.0");
    let bad = add(&mut reg, "ck", "1.1.0");
    add(&mut reg, "ck", "1.2.0"); // descends from 1.1.0
    add(&mut reg, "ck", "1.0.1"); // descends from 1.0.0
    add(&mut reg, "other", "0.1.0");
    let bogus = "ab".repeat(32);
    reg.update("ck", "1.1.0", |e| e.cksum = Some(bogus.clone()));
    let real = sha256_hex(&bad);
    let server = serve(&reg);
    let data = temp_dir();
    let d = data.path();

    let out = sync(d, &server, &["ck", "other"]);
    out.assert_code(1)
        .assert_stdout_contains(&format!(
            "FAILED ck@1.1.0 [checksum-mismatch]: sha256 of the download is {real}, the index says {bogus}; not stored"
        ))
        .assert_stdout_contains("FAILED ck@1.2.0 [parent-missing]")
        .assert_stdout_contains("ck: 2 added, 0 already stored, 1 failed, 1 deferred")
        .assert_stdout_contains("other: 1 added");
    assert!(!ref_exists(d, "refs/crates/ck/1.1.0"), "never stored as that version");
    assert!(!ref_exists(d, "refs/archives/ck/1.1.0"));
    assert!(!ref_exists(d, "refs/crates/ck/1.2.0"));
    for v in ["1.0.0", "1.0.1"] {
        assert!(ref_exists(d, &format!("refs/crates/ck/{v}")), "{v}");
    }
    assert!(ref_exists(d, "refs/crates/other/0.1.0"));
    let rec = failure(d, "ck", "1.1.0");
    assert_eq!(rec["kind"], "checksum-mismatch");
    assert_eq!(rec["expected_sha256"], bogus.as_str());
    assert_eq!(rec["actual_sha256"], real.as_str());
    assert_eq!(rec["http_status"], Value::Null);
    assert_eq!(rec["attempts"], 1);
    let first_seen = rec["first_seen"].clone();
    let child = failure(d, "ck", "1.2.0");
    assert_eq!(child["kind"], "parent-missing");
    fsck(d);

    // The next run downloads it again.
    server.clear_requests();
    let out = sync(d, &server, &["ck"]);
    out.assert_code(1)
        .assert_stdout_contains("FAILED ck@1.1.0 [checksum-mismatch]")
        .assert_stdout_contains("ck: 0 added, 2 already stored, 1 failed, 1 deferred");
    assert_eq!(statuses(&server, &server.dl_path("ck", "1.1.0")), [Some(200)]);
    let rec = failure(d, "ck", "1.1.0");
    assert_eq!(rec["attempts"], 2);
    assert_eq!(rec["first_seen"], first_seen);
    assert!(rec["last_seen"].as_i64() >= first_seen.as_i64());
    assert!(!ref_exists(d, "refs/crates/ck/1.1.0"));

    // The index line is corrected: stored, with its child; failures cleared.
    reg.update("ck", "1.1.0", |e| e.cksum = None);
    let out = sync(d, &server, &["ck"]);
    out.assert_success()
        .assert_stdout_contains("ck: 2 added, 2 already stored, 0 failed");
    assert_eq!(trailer(d, "ck", "1.1.0", "Crate-Sha256"), [real]);
    assert_eq!(
        git(&store(d), &["log", "-1", "--format=%P", "refs/crates/ck/1.2.0"]).trim(),
        rev(d, "refs/crates/ck/1.1.0")
    );
    assert!(!ref_exists(d, "refs/failures/ck/1.1.0"));
    assert!(!ref_exists(d, "refs/failures/ck/1.2.0"));
    assert!(!ref_exists(d, "refs/failures/"));
    fsck(d);
}

// ---------------------------------------------------------------------------
// 1. Truncated gzip from the server

#[test]
fn a_truncated_crate_is_stored_as_corrupt_and_never_refetched() {
    let good = simple("trunc", "1.0.0");
    let truncated = good[..good.len() / 2].to_vec();
    let mut reg = TestRegistry::new();
    reg.add("trunc", "1.0.0", truncated.clone());
    let server = serve(&reg);
    let data = temp_dir();
    let d = data.path();
    sync(d, &server, &["trunc"])
        .assert_success()
        .assert_stdout_contains("trunc: 1 added");
    assert_eq!(trailer(d, "trunc", "1.0.0", "Cargofox-Status"), ["corrupt"]);
    assert_eq!(trailer(d, "trunc", "1.0.0", "Cargofox-Error").len(), 1);
    assert_eq!(trailer(d, "trunc", "1.0.0", "Crate-Sha256"), [sha256_hex(&truncated)]);
    assert_eq!(
        crate::harness::git_bytes(&store(d), &["cat-file", "blob", "refs/archives/trunc/1.0.0"]),
        truncated
    );
    server.clear_requests();
    sync(d, &server, &["trunc"])
        .assert_success()
        .assert_stdout_contains("trunc: 0 added, 1 already stored, 0 failed");
    assert!(server.downloads().is_empty(), "{:?}", server.downloads());
}

// ---------------------------------------------------------------------------
// 27. 403 for one version

#[test]
fn a_403_fails_that_version_defers_its_children_and_spares_the_rest() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "forb", "1.0.0");
    add(&mut reg, "forb", "1.1.0");
    add(&mut reg, "forb", "1.2.0");
    add(&mut reg, "fine", "0.1.0");
    let server = serve(&reg);
    let dl = server.dl_path("forb", "1.1.0");
    server.fault(&dl, Fault::status(403));
    let data = temp_dir();
    let d = data.path();
    let out = sync(d, &server, &["forb", "fine"]);
    out.assert_code(1)
        .assert_stdout_contains("FAILED forb@1.1.0 [download]:")
        .assert_stdout_contains("HTTP 403")
        .assert_stdout_contains("FAILED forb@1.2.0 [parent-missing]:")
        .assert_stdout_contains("forb: 1 added, 0 already stored, 1 failed, 1 deferred")
        .assert_stdout_contains("fine: 1 added, 0 already stored, 0 failed");
    // A 403 is an answer, not a transient failure: asked once.
    assert_eq!(statuses(&server, &dl), [Some(403)]);
    let rec = failure(d, "forb", "1.1.0");
    assert_eq!(rec["kind"], "download");
    assert_eq!(rec["http_status"], 403);
    assert_eq!(rec["actual_sha256"], Value::Null);
    assert_eq!(rec["expected_sha256"], sha256_hex(&simple("forb", "1.1.0")).as_str());
    let child = failure(d, "forb", "1.2.0");
    assert_eq!(child["kind"], "parent-missing");
    assert_eq!(child["http_status"], Value::Null);
    assert!(ref_exists(d, "refs/crates/forb/1.0.0"));
    assert!(!ref_exists(d, "refs/crates/forb/1.1.0"));
    assert!(!ref_exists(d, "refs/crates/forb/1.2.0"));
    assert!(ref_exists(d, "refs/crates/fine/0.1.0"));

    // The fault is gone: the next run stores both, in order.
    sync(d, &server, &["forb"])
        .assert_success()
        .assert_stdout_contains("forb: 2 added, 1 already stored, 0 failed");
    assert_eq!(
        git(&store(d), &["log", "-1", "--format=%P", "refs/crates/forb/1.2.0"]).trim(),
        rev(d, "refs/crates/forb/1.1.0")
    );
    assert!(!ref_exists(d, "refs/failures/"));
    fsck(d);
}

// ---------------------------------------------------------------------------
// 25. Transient server errors

#[test]
fn a_500_is_retried_then_stored() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "flaky", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("flaky", "1.0.0");
    server.fault(&dl, Fault::status(500));
    let data = temp_dir();
    sync(data.path(), &server, &["flaky"])
        .assert_success()
        .assert_stdout_contains("flaky: 1 added");
    assert_eq!(statuses(&server, &dl), [Some(500), Some(200)]);
    assert!(ref_exists(data.path(), "refs/crates/flaky/1.0.0"));
    assert!(!ref_exists(data.path(), "refs/failures/"));
}

#[test]
fn retries_back_off_exponentially_with_jitter() {
    // Backoff base 500 ms, doubled per retry, times a jitter in [0.5, 1).
    let mut reg = TestRegistry::new();
    add(&mut reg, "backoff", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("backoff", "1.0.0");
    server.fault_times(&dl, Fault::status(503), 2);
    let data = temp_dir();
    sync(data.path(), &server, &["backoff"]).assert_success();
    let reqs = server.requests_to(&dl);
    let got: Vec<Option<u16>> = reqs.iter().map(|r| r.status).collect();
    assert_eq!(got, [Some(503), Some(503), Some(200)]);
    let first = reqs[1].at - reqs[0].at;
    let second = reqs[2].at - reqs[1].at;
    assert!(
        first >= Duration::from_millis(250) && first < Duration::from_millis(900),
        "first wait {first:?}"
    );
    assert!(
        second >= Duration::from_millis(500) && second < Duration::from_millis(1500),
        "second wait {second:?}"
    );
}

#[test]
fn retries_run_out_into_a_recorded_failure() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "down", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("down", "1.0.0");
    server.fault_times(&dl, Fault::status(503), 2);
    let data = temp_dir();
    sync_args(data.path(), &server, &["--retries", "1", "down"])
        .assert_code(1)
        .assert_stdout_contains("FAILED down@1.0.0 [download]:")
        .assert_stdout_contains("HTTP 503 after 2 attempts");
    assert_eq!(statuses(&server, &dl), [Some(503), Some(503)]);
    let rec = failure(data.path(), "down", "1.0.0");
    assert_eq!(rec["kind"], "download");
    assert_eq!(rec["http_status"], 503);
    assert!(!ref_exists(data.path(), "refs/crates/down/1.0.0"));
}

// ---------------------------------------------------------------------------
// 24. 429 with Retry-After

#[test]
fn retry_after_is_honoured() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "limited", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("limited", "1.0.0");
    server.fault(&dl, Fault::status(429).header("Retry-After", "1"));
    let data = temp_dir();
    sync(data.path(), &server, &["limited"])
        .assert_success()
        .assert_stdout_contains("limited: 1 added");
    let reqs = server.requests_to(&dl);
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(429), Some(200)]
    );
    let waited = reqs[1].at - reqs[0].at;
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
    assert!(waited < Duration::from_secs(3), "retried after {waited:?}");
}

#[test]
fn a_retry_after_past_the_cap_fails_now_instead_of_waiting() {
    // The client waits at most 300 s once; a longer Retry-After is a failure
    // for this run (recorded, retried by the next one), not a stall.
    let mut reg = TestRegistry::new();
    add(&mut reg, "later", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("later", "1.0.0");
    server.fault(&dl, Fault::status(429).header("Retry-After", "86400"));
    let data = temp_dir();
    let out = sync(data.path(), &server, &["later"]);
    out.assert_code(1)
        .assert_stdout_contains("FAILED later@1.0.0 [download]:")
        .assert_stdout_contains("HTTP 429");
    assert!(out.elapsed < Duration::from_secs(10), "{out}");
    assert_eq!(statuses(&server, &dl), [Some(429)]);
    let rec = failure(data.path(), "later", "1.0.0");
    assert_eq!(rec["http_status"], 429);
    // The next run asks again and stores it.
    sync(data.path(), &server, &["later"])
        .assert_success()
        .assert_stdout_contains("later: 1 added");
    assert!(!ref_exists(data.path(), "refs/failures/"));
}

// ---------------------------------------------------------------------------
// 26. Bodies cut short: retried, never stored

#[test]
fn a_reset_mid_body_or_a_short_body_is_retried_and_never_stored() {
    let mut reg = TestRegistry::new();
    let reset = add(&mut reg, "cut", "1.0.0");
    let short = add(&mut reg, "cut", "1.1.0");
    let server = serve(&reg);
    let dl_reset = server.dl_path("cut", "1.0.0");
    let dl_short = server.dl_path("cut", "1.1.0");
    server.fault(&dl_reset, Fault::ResetMidBody);
    server.fault(&dl_short, Fault::WrongContentLength);
    // The index file too.
    server.fault(&server.index_path("cut"), Fault::ResetMidBody);
    let data = temp_dir();
    let d = data.path();
    let out = sync(d, &server, &["cut"]);
    out.assert_success()
        .assert_stdout_contains("cut: 2 added, 0 already stored, 0 failed");
    assert!(!out.stdout.contains("FAILED"), "{out}");
    assert_eq!(server.requests_to(&dl_reset).len(), 2);
    assert_eq!(server.requests_to(&dl_short).len(), 2);
    assert_eq!(server.requests_to(&server.index_path("cut")).len(), 2);
    for (vers, bytes) in [("1.0.0", &reset), ("1.1.0", &short)] {
        assert_eq!(trailer(d, "cut", vers, "Crate-Sha256"), [sha256_hex(bytes)]);
        assert_eq!(trailer(d, "cut", vers, "Cargofox-Status"), ["ok"]);
        assert_eq!(
            &crate::harness::git_bytes(&store(d), &["cat-file", "blob", &format!("refs/archives/cut/{vers}")]),
            bytes
        );
    }
    fsck(d);
}

#[test]
fn a_cut_body_that_never_recovers_is_a_failure_not_a_partial_version() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "gone", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("gone", "1.0.0");
    server.fault_times(&dl, Fault::WrongContentLength, 2);
    let data = temp_dir();
    sync_args(data.path(), &server, &["--retries", "1", "gone"])
        .assert_code(1)
        .assert_stdout_contains("FAILED gone@1.0.0 [download]:");
    assert_eq!(server.requests_to(&dl).len(), 2);
    assert!(!ref_exists(data.path(), "refs/crates/gone/1.0.0"));
    assert!(!ref_exists(data.path(), "refs/archives/gone/1.0.0"));
    let rec = failure(data.path(), "gone", "1.0.0");
    assert_eq!(rec["kind"], "download");
    assert_eq!(rec["actual_sha256"], Value::Null);
}

// ---------------------------------------------------------------------------
// Conditional index requests

fn second_run_index_request(options: ServeOptions) -> (crate::harness::Request, Output) {
    let mut reg = TestRegistry::new();
    add(&mut reg, "cond", "1.0.0");
    let server = serve_with(&reg, options);
    let data = temp_dir();
    sync(data.path(), &server, &["cond"]).assert_success();
    assert_eq!(server.downloads().len(), 1);
    server.clear_requests();
    let out = sync(data.path(), &server, &["cond"]);
    out.assert_success()
        .assert_stdout_contains("cond: 0 added, 1 already stored, 0 failed");
    assert!(server.downloads().is_empty(), "{:?}", server.downloads());
    let reqs = server.requests_to(&server.index_path("cond"));
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    (reqs[0].clone(), out)
}

#[test]
fn with_an_etag_the_second_run_asks_if_none_match_and_gets_304() {
    let (req, _) = second_run_index_request(ServeOptions::default());
    assert!(
        req.header("if-none-match").is_some_and(|v| v.starts_with('"')),
        "{req:?}"
    );
    assert_eq!(req.status, Some(304));
}

#[test]
fn without_an_etag_the_second_run_asks_if_modified_since() {
    let (req, _) = second_run_index_request(ServeOptions {
        etag: false,
        ..ServeOptions::default()
    });
    assert_eq!(req.header("if-none-match"), None, "{req:?}");
    assert!(req.header("if-modified-since").is_some(), "{req:?}");
    assert_eq!(req.status, Some(304));
}

#[test]
fn without_validators_the_second_run_fetches_the_index_again() {
    let (req, _) = second_run_index_request(ServeOptions {
        etag: false,
        last_modified: false,
        ..ServeOptions::default()
    });
    assert_eq!(req.header("if-none-match"), None, "{req:?}");
    assert_eq!(req.header("if-modified-since"), None, "{req:?}");
    assert_eq!(req.status, Some(200));
}

#[test]
fn a_changed_index_is_fetched_in_full_despite_the_cached_etag() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "grow", "1.0.0");
    let server = serve(&reg);
    let data = temp_dir();
    sync(data.path(), &server, &["grow"]).assert_success();
    add(&mut reg, "grow", "1.1.0");
    server.clear_requests();
    sync(data.path(), &server, &["grow"])
        .assert_success()
        .assert_stdout_contains("grow: 1 added, 1 already stored");
    assert_eq!(statuses(&server, &server.index_path("grow")), [Some(200)]);
    let downloads: Vec<String> = server.downloads().iter().map(|r| r.path.clone()).collect();
    assert_eq!(downloads, [server.dl_path("grow", "1.1.0")]);
}

// ---------------------------------------------------------------------------
// The `dl` template without markers

#[test]
fn a_dl_without_markers_gets_crate_version_download_appended() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "nomark", "1.0.0");
    add(&mut reg, "nomark", "1.1.0+build.7");
    let server = serve_with(
        &reg,
        ServeOptions {
            dl: DlStyle::NoMarkers,
            ..ServeOptions::default()
        },
    );
    let data = temp_dir();
    sync(data.path(), &server, &["nomark"])
        .assert_success()
        .assert_stdout_contains("nomark: 2 added");
    let mut downloads: Vec<String> = server.downloads().iter().map(|r| r.path.clone()).collect();
    downloads.sort();
    assert_eq!(
        downloads,
        ["/crates/nomark/1.0.0/download", "/crates/nomark/1.1.0+build.7/download"]
    );
    assert!(ref_exists(data.path(), "refs/crates/nomark/1.1.0+build.7"));
}

// ---------------------------------------------------------------------------
// User-Agent

#[test]
fn every_request_names_cargofox_and_the_contact() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "ua", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("ua", "1.0.0");
    server.fault(&dl, Fault::status(500));
    let data = temp_dir();
    Cargofox::new()
        .data(data.path())
        .registry(&server.url())
        .env("CARGOFOX_CONTACT", "ops@example.test")
        .sync(&["ua"])
        .run()
        .assert_success();
    let expected = format!("cargofox/{} (+ops@example.test)", env!("CARGO_PKG_VERSION"));
    let reqs = server.requests();
    // config.json, the index file, the download and its retry.
    assert_eq!(reqs.len(), 4, "{reqs:?}");
    for r in &reqs {
        assert_eq!(
            r.header("user-agent"),
            Some(expected.as_str()),
            "{} {}",
            r.method,
            r.path
        );
    }

    // The default contact, given on the command line.
    server.clear_requests();
    let other = temp_dir();
    Cargofox::new()
        .data(other.path())
        .registry(&server.url())
        .args(["--contact", "https://example.test/cargofox", "sync", "ua"])
        .run()
        .assert_success();
    let expected = format!(
        "cargofox/{} (+https://example.test/cargofox)",
        env!("CARGO_PKG_VERSION")
    );
    let reqs = server.requests();
    assert!(!reqs.is_empty());
    for r in &reqs {
        assert_eq!(r.header("user-agent"), Some(expected.as_str()), "{}", r.path);
    }
}

// ---------------------------------------------------------------------------
// 26. A server that never answers

#[test]
fn a_hanging_server_does_not_hang_the_run() {
    let mut reg = TestRegistry::new();
    add(&mut reg, "hang", "1.0.0");
    add(&mut reg, "nohang", "1.0.0");
    let server = serve(&reg);
    let dl = server.dl_path("hang", "1.0.0");
    server.fault(&dl, Fault::Hang);
    let data = temp_dir();
    let out = Cargofox::new()
        .data(data.path())
        .registry(&server.url())
        .args(["sync", "--retries", "0", "--timeout", "2", "hang", "nohang"])
        .timeout(Duration::from_secs(60))
        .run();
    out.assert_code(1)
        .assert_stdout_contains("FAILED hang@1.0.0 [download]:")
        .assert_stdout_contains("nohang: 1 added");
    assert!(out.elapsed < Duration::from_secs(20), "{out}");
    assert_eq!(server.requests_to(&dl).len(), 1);
    assert!(!ref_exists(data.path(), "refs/crates/hang/1.0.0"));
    assert_eq!(failure(data.path(), "hang", "1.0.0")["kind"], "download");
}
