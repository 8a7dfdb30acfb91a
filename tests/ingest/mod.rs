//! End-to-end ingest tests: `cargofox sync` against generated registries
//! (file:// and a real HTTP server on 127.0.0.1), checked with the system git:
//! tree ids equal git's own, commit ids reproducible, the parent rule, the
//! commit metadata, idempotence and incremental runs.

use std::path::Path;

use crate::harness::{
    Cargofox, IndexEntry, TestRegistry, crate_file, crate_file_with_modes, git, git_write_tree_of, serve, temp_dir,
};

fn store(data: &Path) -> std::path::PathBuf {
    data.join("store.git")
}

/// `git rev-parse` in the store.
fn rev(data: &Path, what: &str) -> String {
    git(&store(data), &["rev-parse", what]).trim().to_owned()
}

/// All refs with their ids, sorted.
fn all_refs(data: &Path) -> String {
    git(&store(data), &["for-each-ref", "--format=%(objectname) %(refname)"])
}

fn fsck(data: &Path) {
    git(&store(data), &["fsck", "--strict", "--no-progress"]);
}

fn sync(data: &Path, registry: &str, crates: &[&str]) -> crate::harness::Output {
    Cargofox::new().data(data).registry(registry).sync(crates).run()
}

fn simple(name: &str, vers: &str, body: &str) -> Vec<u8> {
    let toml = format!("[package]\nname = \"{name}\"\nversion = \"{vers}\"\n");
    crate_file(
        name,
        vers,
        &[("Cargo.toml", toml.as_bytes()), ("src/lib.rs", body.as_bytes())],
    )
}

fn entry(name: &str, vers: &str, bytes: Vec<u8>, pubtime: &str) -> IndexEntry {
    let mut e = IndexEntry::new(name, vers, bytes);
    e.pubtime = Some(pubtime.to_owned());
    e
}

#[test]
fn tree_ids_equal_what_git_computes() {
    let files: Vec<(&str, u32, &[u8])> = vec![
        ("Cargo.toml", 0o644, b"[package]\nname = \"trees\"\n"),
        ("src/lib.rs", 0o644, b"pub fn f() {}\n"),
        ("src/deep/nested/mod.rs", 0o644, b"// nested\n"),
        ("src/deep/a.rs", 0o664, b"// group-writable, not executable\n"),
        ("scripts/run.sh", 0o755, b"#!/bin/sh\necho hi\n"),
        ("scripts/other-exec", 0o744, b"owner exec only\n"),
        ("LICENSE", 0o701, b"world exec bit only\n"),
        ("a-b/x", 0o644, b"sorts around a.b and a/\n"),
        ("a.b", 0o644, b"dot\n"),
        ("a/c", 0o644, b"slash\n"),
        ("empty", 0o644, b""),
    ];
    let mut reg = TestRegistry::new();
    reg.add("trees", "0.1.0", crate_file_with_modes("trees", "0.1.0", &files));
    let data = temp_dir();
    sync(data.path(), &reg.file_url(), &["trees"]).assert_success();

    let expected: Vec<(&str, &[u8], bool)> = files.iter().map(|(p, m, d)| (*p, *d, m & 0o111 != 0)).collect();
    assert_eq!(
        rev(data.path(), "refs/crates/trees/0.1.0^{tree}"),
        git_write_tree_of(&expected)
    );
    let ls = git(&store(data.path()), &["ls-tree", "-r", "refs/crates/trees/0.1.0"]);
    assert!(ls.contains("100755 blob") && ls.contains("scripts/run.sh"), "{ls}");
    assert!(
        ls.lines()
            .any(|l| l.starts_with("100644") && l.ends_with("src/deep/a.rs")),
        "{ls}"
    );
    // The archive is kept byte for byte.
    let archive = crate::harness::git_bytes(&store(data.path()), &["cat-file", "blob", "refs/archives/trees/0.1.0"]);
    assert_eq!(archive, std::fs::read(reg.crate_path("trees", "0.1.0")).unwrap());
    fsck(data.path());
}

fn history() -> TestRegistry {
    let mut reg = TestRegistry::new();
    for (v, t) in [
        ("0.1.0", "2020-01-01T00:00:00Z"),
        ("1.0.0-alpha.1", "2020-02-01T00:00:00Z"),
        ("1.0.0", "2020-03-01T00:00:00Z"),
        ("2.0.0", "2020-04-01T00:00:00Z"),
        ("1.0.1", "2020-05-01T00:00:00Z"),
        ("1.0.1+build.2", "2020-05-02T00:00:00Z"),
        ("1.0.1+build.1", "2020-05-03T00:00:00Z"),
        ("0.0.9", "2020-06-01T00:00:00Z"),
    ] {
        reg.add_entry(entry("hist", v, simple("hist", v, &format!("// {v}\n")), t));
    }
    reg
}

#[test]
fn parent_rule_out_of_order_prereleases_and_build_metadata() {
    let reg = history();
    let data = temp_dir();
    sync(data.path(), &reg.file_url(), &["hist"]).assert_success();
    let d = data.path();
    let parent = |v: &str| {
        let out = git(
            &store(d),
            &["log", "-1", "--format=%P", &format!("refs/crates/hist/{v}")],
        );
        out.trim().to_owned()
    };
    let id = |v: &str| rev(d, &format!("refs/crates/hist/{v}"));
    assert_eq!(parent("0.1.0"), "", "the first version has no parent");
    assert_eq!(parent("1.0.0-alpha.1"), id("0.1.0"));
    assert_eq!(parent("1.0.0"), id("1.0.0-alpha.1"));
    assert_eq!(parent("2.0.0"), id("1.0.0"));
    // A backport descends from the highest lower version, not from 2.0.0.
    assert_eq!(parent("1.0.1"), id("1.0.0"));
    // Build metadata: semver's total order puts 1.0.1 < +build.1 < +build.2.
    assert_eq!(parent("1.0.1+build.2"), id("1.0.1"));
    assert_eq!(parent("1.0.1+build.1"), id("1.0.1"));
    // No lower version was published before 0.0.9: the previous line.
    assert_eq!(parent("0.0.9"), id("1.0.1+build.1"));
    // Both build-metadata twins are archived under distinct refs.
    assert_ne!(id("1.0.1+build.1"), id("1.0.1+build.2"));
}

#[test]
fn commit_metadata_follows_the_contract() {
    let reg = history();
    let data = temp_dir();
    sync(data.path(), &reg.file_url(), &["hist"]).assert_success();
    let s = store(data.path());
    let show = git(
        &s,
        &[
            "show",
            "-s",
            "--format=%an <%ae>|%at %ai|%cn <%ce>|%ct",
            "refs/crates/hist/2.0.0",
        ],
    );
    assert_eq!(
        show.trim(),
        "cargofox <cargofox@invalid>|1585699200 2020-04-01 00:00:00 +0000|cargofox <cargofox@invalid>|1585699200"
    );
    let msg = git(&s, &["show", "-s", "--format=%B", "refs/crates/hist/2.0.0"]);
    let sha = crate::harness::sha256_hex(&std::fs::read(reg.crate_path("hist", "2.0.0")).unwrap());
    assert!(
        msg.starts_with("hist 2.0.0\n\nCrate-Name: hist\nCrate-Version: 2.0.0\n"),
        "{msg}"
    );
    assert!(msg.contains(&format!("Crate-Sha256: {sha}\n")), "{msg}");
    assert!(
        msg.contains("Cargofox-Status: ok\n") && msg.contains("File-Count: 2\n"),
        "{msg}"
    );
    // git itself parses the trailers.
    let trailers = git(
        &s,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Crate-Sha256,valueonly)",
            "refs/crates/hist/2.0.0",
        ],
    );
    assert_eq!(trailers.trim(), sha);
}

#[test]
fn no_pubtime_means_time_zero() {
    let mut reg = TestRegistry::new();
    reg.add("old", "0.1.0", simple("old", "0.1.0", "// old\n"));
    let data = temp_dir();
    sync(data.path(), &reg.file_url(), &["old"]).assert_success();
    let t = git(
        &store(data.path()),
        &["show", "-s", "--format=%at %ct", "refs/crates/old/0.1.0"],
    );
    assert_eq!(t.trim(), "0 0");
}

#[test]
fn independent_runs_and_transports_give_identical_commit_ids() {
    let reg = history();
    let server = serve(&reg);
    let (a, b, c) = (temp_dir(), temp_dir(), temp_dir());
    sync(a.path(), &reg.file_url(), &["hist"]).assert_success();
    sync(b.path(), &reg.file_url(), &["hist"]).assert_success();
    sync(c.path(), &server.url(), &["hist"]).assert_success();
    let refs = all_refs(a.path());
    assert!(refs.lines().count() >= 16, "{refs}");
    assert_eq!(refs, all_refs(b.path()));
    assert_eq!(
        refs,
        all_refs(c.path()),
        "HTTP and file:// registries give the same ids"
    );
}

#[test]
fn second_run_downloads_nothing_and_writes_nothing() {
    let reg = history();
    let server = serve(&reg);
    let data = temp_dir();
    let first = sync(data.path(), &server.url(), &["hist"]);
    first
        .assert_success()
        .assert_stdout_contains("hist: 8 added, 0 already stored, 0 failed");
    assert_eq!(server.downloads().len(), 8);
    let refs = all_refs(data.path());
    let objects = git(&store(data.path()), &["count-objects", "-v"]);
    let packs: Vec<_> = std::fs::read_dir(store(data.path()).join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    server.clear_requests();

    let second = sync(data.path(), &server.url(), &["hist"]);
    second
        .assert_success()
        .assert_stdout_contains("hist: 0 added, 8 already stored, 0 failed");
    assert!(
        server.downloads().is_empty(),
        "no crate downloaded: {:?}",
        server.downloads()
    );
    // The index was asked for conditionally.
    let index_reqs = server.requests_to(&server.index_path("hist"));
    assert_eq!(index_reqs.len(), 1);
    assert!(index_reqs[0].header("if-none-match").is_some(), "{:?}", index_reqs[0]);
    assert_eq!(index_reqs[0].status, Some(304));
    assert_eq!(all_refs(data.path()), refs);
    assert_eq!(git(&store(data.path()), &["count-objects", "-v"]), objects);
    let mut packs2: Vec<_> = std::fs::read_dir(store(data.path()).join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut packs = packs;
    packs.sort();
    packs2.sort();
    assert_eq!(packs, packs2, "no new pack, no stray temporary");
}

#[test]
fn a_new_version_is_added_with_the_right_parent() {
    let mut reg = history();
    let server = serve(&reg);
    let data = temp_dir();
    sync(data.path(), &server.url(), &["hist"]).assert_success();
    let before = all_refs(data.path());
    reg.add_entry(entry(
        "hist",
        "1.0.2",
        simple("hist", "1.0.2", "// 1.0.2\n"),
        "2020-07-01T00:00:00Z",
    ));
    server.clear_requests();
    sync(data.path(), &server.url(), &["hist"])
        .assert_success()
        .assert_stdout_contains("hist: 1 added, 8 already stored");
    let downloads: Vec<String> = server.downloads().iter().map(|r| r.path.clone()).collect();
    assert_eq!(downloads, vec![server.dl_path("hist", "1.0.2")]);
    let d = data.path();
    assert_eq!(
        git(&store(d), &["log", "-1", "--format=%P", "refs/crates/hist/1.0.2"]).trim(),
        rev(d, "refs/crates/hist/1.0.1+build.2")
    );
    // Every ref of the first run is untouched.
    let after = all_refs(d);
    for line in before.lines() {
        assert!(after.contains(line), "{line} changed");
    }
    // The same history synced from scratch gives the same ids.
    let fresh = temp_dir();
    sync(fresh.path(), &reg.file_url(), &["hist"]).assert_success();
    assert_eq!(all_refs(fresh.path()), after);
}

#[test]
fn one_version_brings_its_missing_ancestors_only() {
    let reg = history();
    let data = temp_dir();
    sync(data.path(), &reg.file_url(), &["hist@1.0.1"])
        .assert_success()
        .assert_stdout_contains("hist: 4 added");
    let refs = all_refs(data.path());
    for v in ["0.1.0", "1.0.0-alpha.1", "1.0.0", "1.0.1"] {
        assert!(refs.contains(&format!("refs/crates/hist/{v}\n")), "{v} missing: {refs}");
    }
    assert!(!refs.contains("refs/crates/hist/2.0.0"), "{refs}");
    // The ids equal a full sync's.
    let full = temp_dir();
    sync(full.path(), &reg.file_url(), &["hist"]).assert_success();
    assert_eq!(
        rev(data.path(), "refs/crates/hist/1.0.1"),
        rev(full.path(), "refs/crates/hist/1.0.1")
    );
    // An unknown version is an error for that crate, not a crash.
    sync(data.path(), &reg.file_url(), &["hist@9.9.9"])
        .assert_code(1)
        .assert_stdout_contains("version 9.9.9 of hist is not in the index");
}

#[test]
fn a_reregistered_version_keeps_both_commits() {
    let mut reg = TestRegistry::new();
    reg.add_entry(entry(
        "gone",
        "1.0.0",
        simple("gone", "1.0.0", "// first owner\n"),
        "2020-01-01T00:00:00Z",
    ));
    let data = temp_dir();
    sync(data.path(), &reg.file_url(), &["gone"]).assert_success();
    let first = rev(data.path(), "refs/crates/gone/1.0.0");
    // The name is deleted and registered again by someone else, same version.
    let new_bytes = simple("gone", "1.0.0", "// someone else\n");
    let new_sha = crate::harness::sha256_hex(&new_bytes);
    reg.update("gone", "1.0.0", |e| {
        e.crate_bytes = Some(new_bytes.clone());
        e.pubtime = Some("2024-01-01T00:00:00Z".into());
    });
    sync(data.path(), &reg.file_url(), &["gone"])
        .assert_success()
        .assert_stdout_contains("REREGISTERED gone@1.0.0");
    assert_eq!(
        rev(data.path(), "refs/crates/gone/1.0.0"),
        first,
        "the first commit is kept"
    );
    let second = rev(data.path(), &format!("refs/reregistered/gone/1.0.0/{new_sha}/crate"));
    assert_ne!(second, first);
    rev(data.path(), &format!("refs/reregistered/gone/1.0.0/{new_sha}/archive"));
    // A rerun does not store it a third time.
    sync(data.path(), &reg.file_url(), &["gone"])
        .assert_success()
        .assert_stdout_contains("gone: 0 added, 1 already stored");
    fsck(data.path());
}

#[test]
fn unusable_index_lines_are_skipped_with_a_note() {
    let mut reg = TestRegistry::new();
    reg.add_entry(entry(
        "odd",
        "0.1.0",
        simple("odd", "0.1.0", "//\n"),
        "2020-01-01T00:00:00Z",
    ));
    let mut future = entry("odd", "0.2.0", simple("odd", "0.2.0", "//\n"), "2020-02-01T00:00:00Z");
    future.v = Some(3);
    reg.add_entry(future);
    reg.add_raw_line("odd", "{this is not json");
    let mut tolerant = entry("odd", "0.3.0", simple("odd", "0.3.0", "//\n"), "2020-03-01T00:00:00Z");
    tolerant
        .extra
        .push(("some_future_field".into(), serde_json::json!({"x": [1, 2]})));
    reg.add_entry(tolerant);
    let data = temp_dir();
    let out = sync(data.path(), &reg.file_url(), &["odd"]);
    out.assert_success()
        .assert_stdout_contains("SKIPPED odd@0.2.0: index format v3")
        .assert_stdout_contains("odd: 2 added, 0 already stored, 0 failed (2 versions in the index, 2 lines skipped)");
    assert_eq!(
        git(
            &store(data.path()),
            &["log", "-1", "--format=%P", "refs/crates/odd/0.3.0"]
        )
        .trim(),
        rev(data.path(), "refs/crates/odd/0.1.0")
    );
}

#[test]
fn unknown_crates_fail_alone() {
    let reg = history();
    let data = temp_dir();
    sync(data.path(), &reg.file_url(), &["nosuchcrate", "hist"])
        .assert_code(1)
        .assert_stdout_contains("nosuchcrate: error: crate nosuchcrate is not in the registry index")
        .assert_stdout_contains("hist: 8 added");
}

#[test]
fn a_second_sync_on_the_same_data_directory_is_refused() {
    let reg = history();
    let data = temp_dir();
    std::fs::create_dir_all(data.path()).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data.path().join("lock"))
        .unwrap();
    lock.try_lock().unwrap();
    sync(data.path(), &reg.file_url(), &["hist"])
        .assert_code(2)
        .assert_stderr_contains("another cargofox is using");
    drop(lock);
    sync(data.path(), &reg.file_url(), &["hist"]).assert_success();
}

#[test]
fn many_versions_flush_in_several_packs_and_stay_consistent() {
    let mut reg = TestRegistry::new();
    for i in 0..30 {
        let v = format!("0.{i}.0");
        let body = format!("// {i}\n{}", "x".repeat(50_000 + i));
        reg.add_entry(entry("many", &v, simple("many", &v, &body), "2021-01-01T00:00:00Z"));
    }
    let data = temp_dir();
    Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .args(["sync", "--flush-mib", "0", "-j", "3", "many"])
        .run()
        .assert_success();
    let packs = std::fs::read_dir(store(data.path()).join("objects/pack"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".pack"))
        .count();
    assert!(packs > 1, "expected several packs, got {packs}");
    fsck(data.path());
    let one = temp_dir();
    sync(one.path(), &reg.file_url(), &["many"]).assert_success();
    assert_eq!(
        all_refs(one.path()),
        all_refs(data.path()),
        "batching does not change ids"
    );
}

#[test]
fn a_version_refused_for_long_enough_is_recorded_as_unavailable() {
    let reg = history();
    let server = crate::harness::serve(&reg);
    let refused = server.dl_path("hist", "1.0.0");
    let data = temp_dir();
    let run = |now: &str| {
        server.fault(&refused, crate::harness::Fault::status(403));
        Cargofox::new()
            .data(data.path())
            .registry(&server.url())
            .args(["--current-time", now])
            .sync(&["hist"])
            .run()
    };
    // Day 0: a failure, children deferred; nothing is marked gone.
    run("2026-01-01T00:00:00Z")
        .assert_code(1)
        .assert_stdout_contains("FAILED hist@1.0.0 [download]");
    // Day 3: still refused, still only a failure.
    run("2026-01-04T00:00:00Z")
        .assert_code(1)
        .assert_stdout_contains("FAILED hist@1.0.0 [download]");
    // Day 8: recorded as unavailable (its children wait one more run).
    run("2026-01-09T00:00:00Z")
        .assert_code(1)
        .assert_stdout_contains("UNAVAILABLE hist@1.0.0")
        .assert_stdout_contains("1 recorded as unavailable");
    // Day 9: the children are stored on top of it.
    run("2026-01-10T00:00:00Z").assert_success();
    let d = data.path();
    let msg = git(&store(d), &["show", "-s", "--format=%B", "refs/crates/hist/1.0.0"]);
    assert!(
        msg.contains("Cargofox-Status: unavailable\n") && msg.contains("HTTP 403"),
        "{msg}"
    );
    assert_eq!(
        rev(d, "refs/crates/hist/1.0.0^{tree}"),
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    );
    assert_eq!(
        git(&store(d), &["log", "-1", "--format=%P", "refs/crates/hist/2.0.0"]).trim(),
        rev(d, "refs/crates/hist/1.0.0")
    );
    assert!(!all_refs(d).contains("refs/failures/"), "{}", all_refs(d));
    fsck(d);
    let report = std::fs::read_to_string(d.join("audit/crates/hi/st/hist/1.0.0.md")).unwrap();
    assert!(report.contains("never downloaded"), "{report}");
}

#[test]
fn a_registry_refusing_everything_trips_the_circuit_breaker() {
    let mut reg = TestRegistry::new();
    for i in 0..40 {
        let v = format!("0.{i}.0");
        reg.add_entry(entry("many", &v, simple("many", &v, "//\n"), "2021-01-01T00:00:00Z"));
    }
    let server = crate::harness::serve(&reg);
    for i in 0..40 {
        server.fault_times(
            &server.dl_path("many", &format!("0.{i}.0")),
            crate::harness::Fault::status(403),
            10,
        );
    }
    let data = temp_dir();
    let run = |now: &str| {
        Cargofox::new()
            .data(data.path())
            .registry(&server.url())
            .args(["--current-time", now, "sync", "-j", "2", "many"])
            .run()
    };
    let first = run("2026-01-01T00:00:00Z");
    first.assert_code(1).assert_stdout_contains("CIRCUIT BREAKER");
    let attempted = server.downloads().len();
    assert!(
        (20..40).contains(&attempted),
        "stopped after the threshold: {attempted} downloads"
    );
    // Even long after, a run where everything fails marks nothing unavailable.
    run("2026-03-01T00:00:00Z")
        .assert_code(1)
        .assert_stdout_contains("CIRCUIT BREAKER");
    assert!(
        !all_refs(data.path()).contains("refs/crates/"),
        "{}",
        all_refs(data.path())
    );
}

#[test]
fn a_spent_time_budget_leaves_work_for_the_next_run() {
    let reg = history();
    let server = crate::harness::serve(&reg);
    // The second version trickles; with a 1 s budget the run stops starting
    // new versions while it downloads.
    server.fault(
        &server.dl_path("hist", "1.0.0-alpha.1"),
        crate::harness::Fault::Trickle(std::time::Duration::from_millis(8)),
    );
    let data = temp_dir();
    let out = Cargofox::new()
        .data(data.path())
        .registry(&server.url())
        .args(["sync", "-j", "1", "--max-duration", "1", "hist"])
        .run();
    out.assert_code(1).assert_stdout_contains("TIME BUDGET SPENT");
    assert!(out.elapsed < std::time::Duration::from_secs(30), "{out}");
    let stored = all_refs(data.path())
        .lines()
        .filter(|l| l.contains("refs/crates/"))
        .count();
    assert!(stored < 8, "some versions left: {stored}");
    assert!(
        !all_refs(data.path()).contains("refs/failures/"),
        "left work is not a failure"
    );
    // The audit commit of the partial run says what is left.
    let message = crate::harness::git(&data.path().join("audit"), &["log", "-1", "--format=%B"]);
    assert!(message.contains("Left for the next run:"), "{message}");
    assert!(
        message.contains("versions not started (time budget spent)"),
        "{message}"
    );
    // Nothing left out is lost: the next run finishes, with the same ids as
    // an uninterrupted run.
    sync(data.path(), &server.url(), &["hist"]).assert_success();
    let fresh = temp_dir();
    sync(fresh.path(), &reg.file_url(), &["hist"]).assert_success();
    let crates_only = |d: &Path| {
        all_refs(d)
            .lines()
            .filter(|l| !l.contains("refs/failures/"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(crates_only(data.path()), crates_only(fresh.path()));
    // A zero budget does nothing at all.
    let none = temp_dir();
    Cargofox::new()
        .data(none.path())
        .registry(&reg.file_url())
        .args(["sync", "--max-duration", "0", "hist"])
        .run()
        .assert_code(1)
        .assert_stdout_contains("TIME BUDGET SPENT: 0 versions and 1 crates left");
}

#[test]
fn offline_runs_use_the_cache_and_never_the_network() {
    let mut reg = history();
    let server = serve(&reg);
    let data = temp_dir();
    sync(data.path(), &server.url(), &["hist"]).assert_success();
    server.clear_requests();
    let offline = |d: &Path| {
        Cargofox::new()
            .data(d)
            .registry(&server.url())
            .args(["--offline", "sync", "hist"])
            .run()
    };
    // A version published since is not seen offline: the cached index is used.
    reg.add_entry(entry(
        "hist",
        "3.0.0",
        simple("hist", "3.0.0", "//\n"),
        "2021-01-01T00:00:00Z",
    ));
    offline(data.path())
        .assert_success()
        .assert_stdout_contains("hist: 0 added, 8 already stored");
    assert!(
        server.requests().is_empty(),
        "offline means no request at all: {:?}",
        server.requests()
    );
    // Without a cache, offline is a clear error for the crate.
    let empty = temp_dir();
    offline(empty.path()).assert_code(2).assert_stderr_contains("offline");
}

#[test]
fn shards_split_a_list_and_together_equal_one_run() {
    let mut reg = TestRegistry::new();
    let names: Vec<String> = (0..12).map(|i| format!("crate{i}")).collect();
    for n in &names {
        reg.add_entry(entry(n, "1.0.0", simple(n, "1.0.0", "//\n"), "2022-01-01T00:00:00Z"));
    }
    let list_dir = temp_dir();
    let list = list_dir.path().join("crates.txt");
    std::fs::write(&list, format!("# every crate\n{}\nnot a crate!\n", names.join("\n"))).unwrap();
    let run = |d: &Path, extra: &[&str]| {
        let mut args = vec!["sync", "--list", list.to_str().unwrap()];
        args.extend_from_slice(extra);
        Cargofox::new().data(d).registry(&reg.file_url()).args(args).run()
    };
    let whole = temp_dir();
    run(whole.path(), &[])
        .assert_success()
        .assert_stdout_contains("SKIPPED list entry not%20a%20crate!");
    let (a, b) = (temp_dir(), temp_dir());
    run(a.path(), &["--shard", "0/2"]).assert_success();
    run(b.path(), &["--shard", "1/2"]).assert_success();
    let crates = |d: &Path| -> Vec<String> {
        all_refs(d)
            .lines()
            .filter(|l| l.contains("refs/crates/"))
            .map(str::to_owned)
            .collect()
    };
    let (ra, rb) = (crates(a.path()), crates(b.path()));
    assert!(!ra.is_empty() && !rb.is_empty(), "both shards have work");
    assert!(ra.iter().all(|l| !rb.contains(l)), "disjoint");
    let mut union: Vec<String> = ra.into_iter().chain(rb).collect();
    union.sort();
    let mut one = crates(whole.path());
    one.sort();
    assert_eq!(union, one, "together they equal one run");
}
