//! `cargofox verify` and `verify.sh` against a registry the tests generate:
//! a clean audit repository verifies; tampered hashes and tree ids, a registry
//! that now serves other bytes, and a deleted crate are each reported; the
//! shell script agrees with the binary; `--offline` checks stored archives.

use std::path::Path;

use crate::harness::{Cargofox, IndexEntry, TestRegistry, crate_file_with_modes, serve, temp_dir};

const NOW: &str = "2026-01-02T03:04:05Z";

fn registry() -> TestRegistry {
    let mut reg = TestRegistry::new();
    for (name, v, t) in [
        ("alpha", "1.0.0", "2024-01-01T00:00:00Z"),
        ("alpha", "1.1.0", "2024-03-01T00:00:00Z"),
        ("beta", "0.1.0", "2024-02-01T00:00:00Z"),
    ] {
        let files: Vec<(&str, u32, &[u8])> = vec![
            ("Cargo.toml", 0o644, b"[package]\nname = \"x\"\n"),
            ("src/lib.rs", 0o644, v.as_bytes()),
            ("run.sh", 0o755, b"#!/bin/sh\n"),
        ];
        let mut e = IndexEntry::new(name, v, crate_file_with_modes(name, v, &files));
        e.pubtime = Some(t.to_owned());
        reg.add_entry(e);
    }
    reg
}

fn synced(reg: &TestRegistry) -> tempfile::TempDir {
    let data = temp_dir();
    Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .args(["--current-time", NOW])
        .sync(&["alpha", "beta"])
        .run()
        .assert_success();
    data
}

fn verify(data: &Path, registry: &str, extra: &[&str]) -> crate::harness::Output {
    Cargofox::new()
        .data(data)
        .registry(registry)
        .arg("verify")
        .args(extra)
        .run()
}

fn edit_json(data: &Path, rel: &str, from: &str, to: &str) {
    let p = data.join("audit").join(rel);
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(s.contains(from), "{rel} lacks {from}");
    std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
}

fn field(data: &Path, rel: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("audit").join(rel)).unwrap()).unwrap();
    v["facts"][key].as_str().unwrap().to_owned()
}

#[test]
fn a_clean_audit_repository_verifies() {
    let reg = registry();
    let data = synced(&reg);
    verify(data.path(), &reg.file_url(), &[])
        .assert_success()
        .assert_stdout_contains("OK       alpha 1.1.0")
        .assert_stdout_contains("verify: 3 releases checked, 3 ok, 0 mismatched, 0 no longer downloadable");
    // Over HTTP too, and selections.
    let server = serve(&reg);
    verify(data.path(), &server.url(), &["--crate", "beta"])
        .assert_success()
        .assert_stdout_contains("verify: 1 releases checked, 1 ok");
    verify(data.path(), &server.url(), &["--since", "2024-02-15"])
        .assert_success()
        .assert_stdout_contains("verify: 1 releases checked, 1 ok");
    let a = verify(data.path(), &server.url(), &["--sample", "2", "--seed", "7"]);
    let b = verify(data.path(), &server.url(), &["--sample", "2", "--seed", "7"]);
    a.assert_success().assert_stdout_contains("verify: 2 releases checked");
    assert_eq!(a.stdout, b.stdout, "a seeded sample repeats");
}

#[test]
fn tampered_reports_and_a_changed_registry_are_findings() {
    let reg = registry();
    let data = synced(&reg);
    let d = data.path();
    // A tampered hash in one report, a tampered tree id in another.
    let sha = field(d, "crates/al/ph/alpha/1.0.0.json", "sha256");
    edit_json(d, "crates/al/ph/alpha/1.0.0.json", &sha, &"0".repeat(64));
    let tree = field(d, "crates/be/ta/beta/0.1.0.json", "tree");
    edit_json(d, "crates/be/ta/beta/0.1.0.json", &tree, &"1".repeat(40));
    let out = verify(d, &reg.file_url(), &[]);
    out.assert_code(1)
        .assert_stdout_contains("MISMATCH alpha 1.0.0: the index checksum is now")
        .assert_stdout_contains("MISMATCH alpha 1.0.0: sha256 of the .crate is")
        .assert_stdout_contains(&format!("MISMATCH beta 0.1.0: cargo's view gives tree {tree}"))
        .assert_stdout_contains("OK       alpha 1.1.0")
        .assert_stdout_contains("3 releases checked, 1 ok, 2 mismatched");
}

#[test]
fn a_registry_serving_other_bytes_and_a_deleted_crate() {
    let mut reg = registry();
    let data = synced(&reg);
    let d = data.path();
    // The registry now serves different bytes for alpha 1.1.0 (index and file).
    let other = crate_file_with_modes("alpha", "1.1.0", &[("src/lib.rs", 0o644, b"// swapped\n")]);
    reg.update("alpha", "1.1.0", |e| e.crate_bytes = Some(other.clone()));
    // And beta is deleted.
    reg.remove_crate("beta");
    verify(d, &reg.file_url(), &[])
        .assert_code(1)
        .assert_stdout_contains("MISMATCH alpha 1.1.0: the index checksum is now")
        .assert_stdout_contains("MISMATCH alpha 1.1.0: sha256 of the .crate is")
        .assert_stdout_contains("GONE     beta 0.1.0: not in the registry index any more")
        .assert_stdout_contains("3 releases checked, 1 ok, 1 mismatched, 1 no longer downloadable");
    // Offline, the stored archives still verify.
    verify(d, &reg.file_url(), &["--offline"])
        .assert_success()
        .assert_stdout_contains("3 releases checked, 3 ok");
}

#[test]
fn a_killed_verify_resumes() {
    let reg = registry();
    let data = synced(&reg);
    let d = data.path();
    // A progress file as a killed run leaves it: alpha 1.0.0 already checked.
    let out = verify(d, &reg.file_url(), &["--sample", "3", "--seed", "1"]);
    out.assert_success();
    let selection = format!(
        "{:?}|{:?}|{:?}|{}|{}",
        Vec::<String>::new(),
        None::<i64>,
        Some(3usize),
        1,
        3
    );
    let state = serde_json::json!({"selection": selection, "done": {"crates/al/ph/alpha/1.0.0.json": "Ok"}});
    std::fs::write(d.join("audit/.git/cargofox-verify.json"), state.to_string()).unwrap();
    verify(d, &reg.file_url(), &["--sample", "3", "--seed", "1"])
        .assert_success()
        .assert_stdout_contains("verify: resuming, 1 releases already checked")
        .assert_stdout_contains("3 releases checked, 3 ok");
    assert!(
        !d.join("audit/.git/cargofox-verify.json").exists(),
        "state removed when done"
    );
}

#[test]
fn verify_sh_agrees_with_cargofox_verify() {
    let mut reg = registry();
    let data = synced(&reg);
    let d = data.path();
    let dl = format!(
        "file://{}/crates/{{crate}}/{{crate}}-{{version}}.crate",
        reg.root().display()
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new("sh")
            .arg("./verify.sh")
            .args(args)
            .current_dir(d.join("audit"))
            .env("CARGOFOX_DL", &dl)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", d)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, stdout) = run(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("OK       alpha 1.0.0") && stdout.contains("verified 3, mismatched 0"),
        "{stdout}"
    );
    // The script computes the tree too: tamper with a tree id.
    let tree = field(d, "crates/be/ta/beta/0.1.0.json", "tree");
    edit_json(d, "crates/be/ta/beta/0.1.0.json", &tree, &"1".repeat(40));
    let (code, stdout) = run(&["beta"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("MISMATCH beta 0.1.0: tree"), "{stdout}");
    // And the registry serving other bytes.
    let other = crate_file_with_modes("alpha", "1.1.0", &[("src/lib.rs", 0o644, b"// swapped\n")]);
    reg.update("alpha", "1.1.0", |e| e.crate_bytes = Some(other.clone()));
    let (code, stdout) = run(&["alpha"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("MISMATCH alpha 1.1.0: sha256"), "{stdout}");
    // cargofox verify says the same.
    verify(d, &reg.file_url(), &["--crate", "alpha"])
        .assert_code(1)
        .assert_stdout_contains("MISMATCH alpha 1.1.0");
}
