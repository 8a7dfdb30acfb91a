//! The registry's history changing under an archive (BAD-INPUTS.md 34): the
//! index squashed (every file rewritten: same releases, other formatting and
//! line order), a crate deleted after it was archived, a version yanked and
//! then unyanked. Each is served by the harness's HTTP server from a
//! generated registry. What must hold: nothing stored is lost, labels say
//! what the index says now, each change is an event in the audit history,
//! nothing else changes (no new versions, byte-identical reports), and the
//! published history is never rewritten — every earlier audit commit stays
//! an ancestor of the new one.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{Cargofox, IndexEntry, Server, TestRegistry, crate_file, git, serve, temp_dir};

const NOW: &str = "2026-05-06T07:08:09Z";

fn release(name: &str, i: usize) -> Vec<u8> {
    let vers = format!("1.{i}.0");
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"{vers}\"\nedition = \"2021\"\n");
    let lib = format!("pub fn release() -> usize {{ {i} }}\n");
    crate_file(
        name,
        &vers,
        &[("Cargo.toml", manifest.as_bytes()), ("src/lib.rs", lib.as_bytes())],
    )
}

/// Two crates of four releases each.
fn registry() -> TestRegistry {
    let mut reg = TestRegistry::new();
    for name in ["histo", "other"] {
        for i in 0..4 {
            let mut e = IndexEntry::new(name, &format!("1.{i}.0"), release(name, i));
            e.pubtime = Some(format!("2025-03-{:02}T10:00:00Z", i + 1));
            reg.add_entry(e);
        }
    }
    reg
}

fn sync(data: &Path, server: &Server, crates: &[&str]) -> crate::harness::Output {
    Cargofox::new()
        .data(data)
        .registry(&server.url())
        .args(["--current-time", NOW])
        .sync(crates)
        .run()
}

/// Every file of the audit working copy except `.git/`.
fn audit_files(data: &Path) -> BTreeMap<String, Vec<u8>> {
    let list = git(&data.join("audit"), &["ls-files", "-z"]);
    list.split('\0')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let bytes = std::fs::read(data.join("audit").join(p)).expect("read audit file");
            (p.to_owned(), bytes)
        })
        .collect()
}

fn head(data: &Path) -> String {
    git(&data.join("audit"), &["rev-parse", "HEAD"]).trim().to_owned()
}

fn store_refs(data: &Path) -> String {
    git(&data.join("store.git"), &["for-each-ref"])
}

/// Every earlier audit commit is still an ancestor of HEAD.
fn assert_history_kept(data: &Path, earlier: &[String]) {
    for c in earlier {
        let out = std::process::Command::new("git")
            .args(["merge-base", "--is-ancestor", c, "HEAD"])
            .current_dir(data.join("audit"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .expect("git merge-base");
        assert!(out.success(), "audit commit {c} is no longer in the history");
    }
}

fn read(data: &Path, rel: &str) -> String {
    std::fs::read_to_string(data.join("audit").join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A squashed index: every index file rewritten, with the same releases but
/// keys in another order, other spacing, an unknown field, and the lines in
/// another order. No new version, no event, no audit commit, not a byte of
/// any report changed.
#[test]
fn a_squashed_index_changes_nothing() {
    let reg = registry();
    let server = serve(&reg);
    let data = temp_dir();
    let data = data.path();
    sync(data, &server, &["histo", "other"]).assert_success();
    let (files, refs, commit) = (audit_files(data), store_refs(data), head(data));

    for name in ["histo", "other"] {
        let mut lines: Vec<String> = reg
            .lines(name)
            .iter()
            .map(|l| {
                let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(l).expect("index line");
                // Keys reversed, spaced out, one unknown field.
                let mut out: Vec<String> = v
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{} : {}", serde_json::json!(k), v))
                    .collect();
                out.push("\"squashed\": true".to_owned());
                format!("{{ {} }}", out.join(" , "))
            })
            .collect();
        lines.reverse();
        std::fs::write(reg.index_file(name), lines.join("\n") + "\n").expect("rewrite the index file");
    }
    server.clear_requests();
    let out = sync(data, &server, &["histo", "other"]);
    out.assert_success()
        .assert_stdout_contains("0 versions added, 8 already stored");
    assert!(server.downloads().is_empty(), "{:?}", server.downloads());
    assert!(!out.stdout.contains("audit: committed"), "{out}");
    assert_eq!(store_refs(data), refs, "the store changed");
    assert_eq!(head(data), commit, "an audit commit was made");
    let now = audit_files(data);
    let differ: Vec<&String> = files.keys().filter(|k| now.get(*k) != files.get(*k)).collect();
    assert!(
        differ.is_empty() && now.len() == files.len(),
        "reports changed: {differ:?}"
    );

    // A report rendered again after the squash (here: a yank) still
    // compares with the release the store's commit names as its parent,
    // whatever the new line order says.
    let line = |yanked: bool| {
        let mut v: serde_json::Value = serde_json::from_str(&reg.lines("histo")[2]).expect("line");
        v["yanked"] = serde_json::json!(yanked);
        v.to_string()
    };
    let mut lines: Vec<String> = reg.lines("histo");
    lines[2] = line(true);
    lines.reverse();
    std::fs::write(reg.index_file("histo"), lines.join("\n") + "\n").expect("rewrite");
    sync(data, &server, &["histo"])
        .assert_success()
        .assert_stdout_contains("audit: committed");
    let json: serde_json::Value =
        serde_json::from_str(&read(data, "crates/hi/st/histo/1.2.0.json")).expect("report JSON");
    assert_eq!(json["yanked"], true);
    assert_eq!(json["facts"]["previous"]["version"], "1.1.0", "{json:#}");
    let now = audit_files(data);
    let differ: Vec<&String> = files.keys().filter(|k| now.get(*k) != files.get(*k)).collect();
    assert_eq!(
        differ,
        [
            "STATS.md",
            "crates/hi/st/histo/1.2.0.json",
            "crates/hi/st/histo/1.2.0.md",
            "crates/hi/st/histo/README.md",
            "stats.json"
        ],
        "the yanked release, its crate page and the statistics (which count yanks)"
    );
}

/// A crate deleted from the registry (its index file answers 404) after it
/// was archived: its releases stay in the store and in the audit
/// repository, its page and the README say it is no longer in the index,
/// the run says so and succeeds; the other crate is untouched. When the
/// index file comes back, the label goes.
#[test]
fn a_deleted_crate_is_labelled_and_nothing_is_deleted() {
    let mut reg = registry();
    let server = serve(&reg);
    let data = temp_dir();
    let data = data.path();
    sync(data, &server, &["histo", "other"]).assert_success();
    let mut commits = vec![head(data)];
    let (files, refs) = (audit_files(data), store_refs(data));
    let saved = reg.lines("histo");

    reg.remove_crate("histo");
    let out = sync(data, &server, &["histo", "other"]);
    out.assert_success()
        .assert_stdout_contains("REMOVED histo: no longer in the registry's index")
        .assert_stdout_contains("audit: committed");
    assert_eq!(store_refs(data), refs, "the store changed");
    assert_history_kept(data, &commits);
    commits.push(head(data));
    let now = audit_files(data);
    for (path, bytes) in &files {
        let kept = now.get(path).is_some_and(|b| b == bytes);
        let relabelled = ["crates/hi/st/histo/README.md", "README.md", "crates.json"].contains(&path.as_str());
        assert!(kept || relabelled, "{path} changed or went");
    }
    assert_eq!(now.len(), files.len(), "files added or removed");
    let page = read(data, "crates/hi/st/histo/README.md");
    assert!(page.contains("no longer in the registry's index"), "{page}");
    for i in 0..4 {
        assert!(
            page.contains(&format!("[`1.{i}.0`](1.{i}.0.md)")),
            "1.{i}.0 not listed:\n{page}"
        );
    }
    assert!(
        read(data, "README.md").contains("no longer in the index"),
        "{}",
        read(data, "README.md")
    );
    let message = git(&data.join("audit"), &["log", "-1", "--format=%B"]);
    assert!(message.contains("Removed from the index: histo"), "{message}");

    // A second run: still labelled, nothing new.
    let again = sync(data, &server, &["histo", "other"]);
    again.assert_success();
    assert!(!again.stdout.contains("audit: committed"), "{again}");

    // The crate comes back: the label goes, the pages are as before.
    std::fs::create_dir_all(reg.index_file("histo").parent().expect("parent")).expect("dir");
    std::fs::write(reg.index_file("histo"), saved.join("\n") + "\n").expect("restore the index file");
    sync(data, &server, &["histo", "other"]).assert_success();
    assert_history_kept(data, &commits);
    assert_eq!(audit_files(data), files, "the pages did not come back as they were");
}

/// Yanked, then unyanked: each time the release report and the crate page
/// are re-rendered with the new label, the audit commit names the event,
/// the other reports keep every byte, and earlier commits stay ancestors.
#[test]
fn a_yank_then_an_unyank_relabel_the_release_each_time() {
    let mut reg = registry();
    let server = serve(&reg);
    let data = temp_dir();
    let data = data.path();
    sync(data, &server, &["histo"]).assert_success();
    let mut commits = vec![head(data)];
    let files = audit_files(data);
    let report = "crates/hi/st/histo/1.2.0.json";
    let yanked = |data: &Path| -> bool {
        let json: serde_json::Value = serde_json::from_str(&read(data, report)).expect("report JSON");
        json["yanked"].as_bool().expect("yanked is a bool")
    };
    assert!(!yanked(data));

    for (step, now_yanked) in [(1, true), (2, false)] {
        reg.yank("histo", "1.2.0", now_yanked);
        let out = sync(data, &server, &["histo"]);
        out.assert_success()
            .assert_stdout_contains("0 versions added")
            .assert_stdout_contains("audit: committed");
        assert_eq!(yanked(data), now_yanked, "step {step}");
        let md = read(data, "crates/hi/st/histo/1.2.0.md");
        let page = read(data, "crates/hi/st/histo/README.md");
        let row = page
            .lines()
            .find(|l| l.starts_with("| [`1.2.0`]"))
            .unwrap_or_else(|| panic!("no row for 1.2.0:\n{page}"));
        assert_eq!(md.contains("| yanked | **yanked** |"), now_yanked, "step {step}:\n{md}");
        assert_eq!(row.contains("| yanked |"), now_yanked, "step {step}: {row}");
        let message = git(&data.join("audit"), &["log", "-1", "--format=%B"]);
        let event = if now_yanked {
            "Yanked: histo 1.2.0"
        } else {
            "Unyanked: histo 1.2.0"
        };
        assert!(message.contains(event), "step {step}: {message}");
        assert_history_kept(data, &commits);
        commits.push(head(data));
        let now = audit_files(data);
        for (path, bytes) in &files {
            let touched = path.ends_with("/1.2.0.md")
                || path.ends_with("/1.2.0.json")
                || path.ends_with("histo/README.md")
                || path == "STATS.md"
                || path == "stats.json";
            assert!(touched || now.get(path) == Some(bytes), "step {step}: {path} changed");
        }
    }
    // Unyanked again: the reports are back to their first bytes.
    assert_eq!(audit_files(data), files);
    let log = git(&data.join("audit"), &["log", "--format=%s"]);
    assert_eq!(log.lines().count(), 3, "{log}");
}
