//! Beyond one machine (docs/DEPLOY.md): shards synced into their own data
//! directories and merged with `cargofox merge` give, file for file, the
//! audit repository of one unsharded run, indexes and statistics included;
//! merging is idempotent and refuses conflicts and links; `STATS.md` and
//! `stats.json` equal a hand count of a generated registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::harness::{Cargofox, IndexEntry, TestRegistry, crate_file, git, temp_dir};

const NOW: &str = "2026-03-04T05:06:07Z";
const CRATES: usize = 10;

fn vcs(i: usize, v: &str) -> String {
    format!(
        "{{\"git\":{{\"sha1\":\"{i:02}{}\"}},\"path_in_vcs\":\"\"}}\n",
        v.replace('.', "")
    )
}

/// Ten crates, three or four releases each, built so that every count of the
/// statistics is known by construction (see `stats_equal_a_hand_count`):
/// - 1.0.0 (2020) has `.cargo_vcs_info.json` (a first release: unknown);
/// - 1.1.0 (2021) changes it (known: with);
/// - 1.2.0 (2022) drops it for even crates (known: without) and changes it
///   and adds `build.rs` for odd ones (with; `build-script-added`);
/// - 1.3.0 (no `pubtime`, yanked) for every third crate: same files as
///   1.2.0 apart from the manifest (vcs info not listed: unknown).
fn registry() -> TestRegistry {
    let mut reg = TestRegistry::new();
    for i in 0..CRATES {
        let name = format!("crate{i}");
        let mut release = |v: &str, pubtime: Option<&str>, yanked: bool, vcs_of: Option<&str>, build: bool| {
            let toml = format!("[package]\nname = \"{name}\"\nversion = \"{v}\"\n");
            let lib = format!("pub fn f() -> u32 {{ {i} }}\n");
            let vcs_text = vcs_of.map(|w| vcs(i, w));
            let mut files: Vec<(&str, &[u8])> = vec![("Cargo.toml", toml.as_bytes()), ("src/lib.rs", lib.as_bytes())];
            if let Some(t) = &vcs_text {
                files.push((".cargo_vcs_info.json", t.as_bytes()));
            }
            if build {
                files.push(("build.rs", b"fn main() {}\n"));
            }
            let mut e = IndexEntry::new(&name, v, crate_file(&name, v, &files));
            e.pubtime = pubtime.map(str::to_owned);
            e.yanked = yanked;
            reg.add_entry(e);
        };
        let odd = i % 2 == 1;
        release("1.0.0", Some("2020-05-01T00:00:00Z"), false, Some("1.0.0"), false);
        release("1.1.0", Some("2021-05-01T00:00:00Z"), false, Some("1.1.0"), false);
        release(
            "1.2.0",
            Some("2022-05-01T00:00:00Z"),
            false,
            odd.then_some("1.2.0"),
            odd,
        );
        if i % 3 == 0 {
            release("1.3.0", None, true, odd.then_some("1.2.0"), odd);
        }
    }
    reg
}

fn names_file(dir: &Path) -> PathBuf {
    let list = dir.join("crates.txt");
    let names: Vec<String> = (0..CRATES).map(|i| format!("crate{i}")).collect();
    std::fs::write(&list, names.join("\n")).unwrap();
    list
}

fn sync(data: &Path, reg: &TestRegistry, list: &Path, extra: &[&str]) -> crate::harness::Output {
    let mut args = vec!["sync", "--list", list.to_str().unwrap()];
    args.extend_from_slice(extra);
    Cargofox::new()
        .data(data)
        .registry(&reg.file_url())
        .args(["--current-time", NOW])
        .args(args)
        .run()
}

fn merge(data: &Path, shards: &[&Path]) -> crate::harness::Output {
    Cargofox::new()
        .data(data)
        .args(["--current-time", NOW, "merge"])
        .args(shards)
        .run()
}

/// Every file of a working copy (not `.git`), relative path -> bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            if path == root.join(".git") {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn head(audit: &Path) -> String {
    git(audit, &["rev-parse", "HEAD"]).trim().to_owned()
}

#[test]
fn two_shards_merged_equal_one_unsharded_run_byte_for_byte() {
    let reg = registry();
    let scratch = temp_dir();
    let list = names_file(scratch.path());
    let (whole, a, b, merged) = (temp_dir(), temp_dir(), temp_dir(), temp_dir());
    sync(whole.path(), &reg, &list, &[]).assert_success();
    sync(a.path(), &reg, &list, &["--shard", "0/2"]).assert_success();
    sync(b.path(), &reg, &list, &["--shard", "1/2"]).assert_success();
    let (sa, sb) = (a.path().join("audit"), b.path().join("audit"));
    let count = |d: &Path| tree(d).keys().filter(|k| k.starts_with("crates/")).count();
    assert!(count(&sa) > 0 && count(&sb) > 0, "both shards have crates");

    let out = merge(merged.path(), &[&sa, &sb]);
    out.assert_success().assert_stdout_contains("audit: committed");
    let (one, m) = (whole.path().join("audit"), merged.path().join("audit"));
    let (t_one, t_m) = (tree(&one), tree(&m));
    let keys = |t: &BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&t_m), keys(&t_one), "the same files");
    for (path, bytes) in &t_one {
        assert!(t_m[path] == *bytes, "{path} differs between the merge and one run");
    }
    for shared in ["README.md", "crates.json", "STATS.md", "stats.json"] {
        assert!(t_one.contains_key(shared), "{shared} is written");
    }
    // The committed trees are identical too (modes included).
    assert_eq!(
        git(&m, &["rev-parse", "HEAD^{tree}"]),
        git(&one, &["rev-parse", "HEAD^{tree}"])
    );
    let message = git(&m, &["log", "-1", "--format=%B"]);
    assert!(message.starts_with("cargofox merge: 2 shards"), "{message}");

    // Idempotent: merging again changes nothing and commits nothing, in
    // either order.
    let before = head(&m);
    let again = merge(merged.path(), &[&sb, &sa]);
    again.assert_success();
    assert!(!again.stdout.contains("audit: committed"), "{again}");
    assert_eq!(head(&m), before);
    assert!(git(&m, &["status", "--porcelain"]).trim().is_empty());

    // A new release in one shard flows through; the other crates stay.
    let mut reg = reg;
    let name = (0..CRATES)
        .map(|i| format!("crate{i}"))
        .find(|n| sa.join(format!("crates/cr/at/{n}/README.md")).exists())
        .unwrap();
    let mut e = IndexEntry::new(
        &name,
        "2.0.0",
        crate_file(&name, "2.0.0", &[("Cargo.toml", b"[package]\n"), ("src/lib.rs", b"\n")]),
    );
    e.pubtime = Some("2023-01-01T00:00:00Z".to_owned());
    reg.add_entry(e);
    sync(a.path(), &reg, &list, &["--shard", "0/2"]).assert_success();
    sync(whole.path(), &reg, &list, &[]).assert_success();
    merge(merged.path(), &[&sa, &sb])
        .assert_success()
        .assert_stdout_contains("audit: committed");
    assert_eq!(tree(&m), tree(&one), "after an increment too");
}

#[test]
fn merge_refuses_conflicts_and_links_and_writes_nothing() {
    let reg = registry();
    let scratch = temp_dir();
    let list = names_file(scratch.path());
    let (a, b, merged) = (temp_dir(), temp_dir(), temp_dir());
    sync(a.path(), &reg, &list, &["--shard", "0/2"]).assert_success();
    sync(b.path(), &reg, &list, &["--shard", "1/2"]).assert_success();
    let (sa, sb) = (a.path().join("audit"), b.path().join("audit"));

    // The same crate in both shards with different bytes: a conflict.
    let crate_a = std::fs::read_dir(sa.join("crates/cr/at"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let dir_name = crate_a.file_name();
    let copy = sb.join("crates/cr/at").join(&dir_name);
    std::fs::create_dir_all(&copy).unwrap();
    for f in std::fs::read_dir(crate_a.path()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
    }
    // Identical copies are not a conflict...
    merge(merged.path(), &[&sa, &sb]).assert_success();
    let head_before = head(&merged.path().join("audit"));
    // ...different bytes are.
    let page = copy.join("1.1.0.md");
    let mut text = std::fs::read(&page).unwrap();
    text.extend_from_slice(b"\nedited\n");
    std::fs::write(&page, text).unwrap();
    let out = merge(merged.path(), &[&sa, &sb]);
    out.assert_code(2)
        .assert_stderr_contains("merge refused: 1 conflicts")
        .assert_stderr_contains(&format!("{}/1.1.0.md", dir_name.to_string_lossy()));
    assert_eq!(head(&merged.path().join("audit")), head_before, "nothing committed");
    std::fs::remove_dir_all(&copy).unwrap();

    // A link is refused, never followed.
    let secret = scratch.path().join("secret.md");
    std::fs::write(&secret, "not a report\n").unwrap();
    let some_crate = std::fs::read_dir(sb.join("crates/cr/at"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::os::unix::fs::symlink(&secret, some_crate.join("9.9.9.md")).unwrap();
    merge(merged.path(), &[&sa, &sb])
        .assert_code(2)
        .assert_stderr_contains("links are never followed");
    std::fs::remove_file(some_crate.join("9.9.9.md")).unwrap();

    // A file cargofox never writes, or a crate in the wrong place, is refused.
    std::fs::write(some_crate.join("run.sh"), "#!/bin/sh\n").unwrap();
    merge(merged.path(), &[&sa, &sb])
        .assert_code(2)
        .assert_stderr_contains("not a file cargofox writes");
    std::fs::remove_file(some_crate.join("run.sh")).unwrap();
    std::fs::create_dir_all(sb.join("crates/zz/zz/serde")).unwrap();
    std::fs::write(sb.join("crates/zz/zz/serde/README.md"), "x\n").unwrap();
    merge(merged.path(), &[&sa, &sb])
        .assert_code(2)
        .assert_stderr_contains("not where cargofox puts the crate");
    assert_eq!(head(&merged.path().join("audit")), head_before, "nothing committed");
    assert!(!merged.path().join("audit/crates/zz").exists());
}

#[test]
fn stats_equal_a_hand_count() {
    let reg = registry();
    let scratch = temp_dir();
    let list = names_file(scratch.path());
    let data = temp_dir();
    // Without upstream: the vcs-info answers fall back on the file lists.
    sync(data.path(), &reg, &list, &["--no-upstream"]).assert_success();
    let audit = data.path().join("audit");
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(audit.join("stats.json")).unwrap()).unwrap();

    // By construction (see `registry`).
    let every_third = (0..CRATES).filter(|i| i % 3 == 0).count() as u64;
    let odd = (0..CRATES).filter(|i| i % 2 == 1).count() as u64;
    let even = CRATES as u64 - odd;
    let n = CRATES as u64;
    let releases = 3 * n + every_third;
    let t = &stats["total"];
    assert_eq!(stats["crates"], n);
    assert_eq!(stats["unreadable"], 0);
    assert_eq!(t["releases"], releases);
    assert_eq!(t["yanked"], every_third);
    // With: every 1.1.0, the odd 1.2.0; without: the even 1.2.0; unknown:
    // first releases and the 1.3.0s (the file did not change).
    assert_eq!(t["vcs_info"]["yes"], n + odd);
    assert_eq!(t["vcs_info"]["no"], even);
    assert_eq!(t["vcs_info"]["unknown"], n + every_third);
    assert_eq!(t["vcs_info_from_changes"], n + odd + even);
    // No report has a provenance section yet.
    assert_eq!(t["tag"]["unknown"], releases);
    assert_eq!(t["verdict"]["not-checked"], releases);
    assert_eq!(t["verdict"]["exact"], 0);
    assert_eq!(t["signals"]["build-script-added"], odd);
    let y = &stats["by_year"];
    assert_eq!(y["2020"]["releases"], n);
    assert_eq!(y["2020"]["vcs_info"]["unknown"], n);
    assert_eq!(y["2021"]["vcs_info"]["yes"], n);
    assert_eq!(y["2022"]["releases"], n);
    assert_eq!(y["2022"]["vcs_info"]["no"], even);
    assert_eq!(y["2022"]["signals"]["build-script-added"], odd);
    assert_eq!(y["unknown"]["releases"], every_third);
    assert_eq!(y["unknown"]["yanked"], every_third);

    let page = std::fs::read_to_string(audit.join("STATS.md")).unwrap();
    insta::assert_snapshot!("STATS.md", page);

    // A second run with nothing new rewrites nothing.
    let before = head(&audit);
    sync(data.path(), &reg, &list, &["--no-upstream"]).assert_success();
    assert_eq!(head(&audit), before);

    // With upstream (the default), every report has a provenance section:
    // `.cargo_vcs_info.json` is known for every release, and with no
    // repository declared, no release has a basis or a tag.
    let data = temp_dir();
    sync(data.path(), &reg, &list, &[]).assert_success();
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.path().join("audit/stats.json")).unwrap()).unwrap();
    let t = &stats["total"];
    let odd_third = (0..CRATES).filter(|i| i % 3 == 0 && i % 2 == 1).count() as u64;
    assert_eq!(t["releases"], releases);
    assert_eq!(t["vcs_info"]["yes"], 2 * n + odd + odd_third);
    assert_eq!(t["vcs_info"]["no"], even + (every_third - odd_third));
    assert_eq!(t["vcs_info"]["unknown"], 0);
    assert_eq!(t["vcs_info_from_changes"], 0);
    assert_eq!(t["tag"]["no"], releases);
    assert_eq!(t["verdict"]["no-basis"], releases);
    assert_eq!(t["verdict"]["not-checked"], 0);
}

#[test]
fn a_daily_run_looks_only_at_crates_that_changed() {
    let mut reg = registry();
    let scratch = temp_dir();
    let list = names_file(scratch.path());
    let data = temp_dir();
    sync(data.path(), &reg, &list, &[]).assert_success();
    let audit = data.path().join("audit");
    let page = |n: &str| audit.join(format!("crates/cr/at/{n}/README.md"));
    let tamper = |n: &str| {
        let mut text = std::fs::read(page(n)).unwrap();
        text.extend_from_slice(b"\ntampered\n");
        std::fs::write(page(n), text).unwrap();
    };
    let tampered = |n: &str| std::fs::read_to_string(page(n)).unwrap().contains("tampered");
    // Hand edits stand for "this page was not rendered again".
    for n in ["crate1", "crate2", "crate4"] {
        tamper(n);
    }
    let mut e = IndexEntry::new(
        "crate2",
        "2.0.0",
        crate_file(
            "crate2",
            "2.0.0",
            &[("Cargo.toml", b"[package]\n"), ("src/lib.rs", b"\n")],
        ),
    );
    e.pubtime = Some("2023-01-01T00:00:00Z".to_owned());
    reg.add_entry(e);
    reg.yank("crate4", "1.0.0", true);
    sync(data.path(), &reg, &list, &[]).assert_success();
    assert!(tampered("crate1"), "an unchanged crate is not rendered again");
    assert!(!tampered("crate2"), "a crate with a new release is");
    assert!(!tampered("crate4"), "a crate with a yank change is");
    let yanked = std::fs::read_to_string(audit.join("crates/cr/at/crate4/1.0.0.json")).unwrap();
    assert!(yanked.contains("\"yanked\": true"), "{yanked}");
    let index = std::fs::read_to_string(audit.join("crates.json")).unwrap();
    assert!(index.contains("\"latest\": \"2.0.0\""), "{index}");
    assert_eq!(
        std::fs::read_to_string(audit.join("stats.json"))
            .unwrap()
            .matches("\"2023\"")
            .count(),
        1,
        "the statistics count the new release"
    );
    // Without the markers (a fresh clone of the audit repository), every
    // report is checked again and every page rendered.
    std::fs::remove_dir_all(audit.join(".git/cargofox-fresh")).unwrap();
    sync(data.path(), &reg, &list, &[]).assert_success();
    assert!(!tampered("crate1"));
    assert!(git(&audit, &["status", "--porcelain"]).trim().is_empty());
}
