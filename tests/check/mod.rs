//! `cargofox check`: a project's Cargo.lock against an audit repository
//! built by a real `cargofox sync`. Runs through the library
//! (`commands::check::run`) with the output captured, for lockfiles of every
//! version, git and path dependencies, checksum mismatches, unaudited crates,
//! `--since` across several releases, `--deny` and the JSON document.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cargofox::commands::Outcome;
use cargofox::commands::check::{CheckOptions, run};
use cargofox::output::Output;

use crate::harness::{Cargofox, IndexEntry, TestRegistry, crate_file, sha256_hex, temp_dir};

const NOW: &str = "2026-01-02T03:04:05Z";
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";
const SPARSE: &str = "sparse+https://index.crates.io/";

/// A shared buffer the output writes into.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An audit repository holding `demo` 0.1.0 to 0.4.0 (0.2.0 yanked, 0.3.0
/// adds a build script, 0.4.0 changes it) and `other` 1.0.0, with the
/// registry kept for the checksums.
struct Fixture {
    reg: TestRegistry,
    data: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let mut reg = TestRegistry::new();
        let manifest = |v: &str, build: bool| {
            format!(
                "[package]\nname = \"demo\"\nversion = \"{v}\"\nedition = \"2021\"\n{}",
                if build { "build = \"build.rs\"\n" } else { "" }
            )
        };
        let releases: [(&str, &str, Option<&str>); 4] = [
            ("0.1.0", "2024-01-01T00:00:00Z", None),
            ("0.2.0", "2024-02-01T00:00:00Z", None),
            ("0.3.0", "2024-03-01T00:00:00Z", Some("fn main() {}\n")),
            (
                "0.4.0",
                "2024-04-01T00:00:00Z",
                Some("fn main() { println!(\"cargo:rerun-if-changed=build.rs\"); }\n"),
            ),
        ];
        for (v, t, build) in releases {
            let toml = manifest(v, build.is_some());
            let lib = format!("pub const VERSION: &str = \"{v}\";\n");
            let mut files: Vec<(&str, &[u8])> = vec![("Cargo.toml", toml.as_bytes()), ("src/lib.rs", lib.as_bytes())];
            if let Some(b) = build {
                files.push(("build.rs", b.as_bytes()));
            }
            let mut e = IndexEntry::new("demo", v, crate_file("demo", v, &files));
            e.pubtime = Some(t.to_owned());
            reg.add_entry(e);
        }
        reg.yank("demo", "0.2.0", true);
        let toml = "[package]\nname = \"other\"\nversion = \"1.0.0\"\nedition = \"2021\"\n";
        let mut e = IndexEntry::new(
            "other",
            "1.0.0",
            crate_file(
                "other",
                "1.0.0",
                &[("Cargo.toml", toml.as_bytes()), ("src/lib.rs", b"pub fn f() {}\n")],
            ),
        );
        e.pubtime = Some("2024-01-15T00:00:00Z".to_owned());
        reg.add_entry(e);

        let data = temp_dir();
        Cargofox::new()
            .data(data.path())
            .registry(&reg.file_url())
            .args(["--current-time", NOW])
            .sync(&["demo", "other"])
            .run()
            .assert_success();
        Fixture { reg, data }
    }

    fn audit(&self) -> PathBuf {
        self.data.path().join("audit")
    }

    /// The real sha256 of a `.crate`, as a lockfile has it.
    fn sum(&self, name: &str, v: &str) -> String {
        let path = self.reg.crate_path(name, v);
        sha256_hex(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    fn opts(&self, lockfile: &str) -> CheckOptions {
        CheckOptions {
            lockfile: lockfile.as_bytes().to_vec(),
            lockfile_name: "Cargo.lock".to_owned(),
            since: None,
            audit: self.audit(),
            deny: Vec::new(),
            json: false,
        }
    }
}

/// Run `check`; the outcome and what it printed.
fn check(opts: &CheckOptions) -> (Outcome, String) {
    let buf = Buf::default();
    let mut out = Output::to_writer(Box::new(buf.clone()));
    let outcome = run(opts, &mut out).unwrap_or_else(|e| panic!("check failed: {e:#}"));
    let text = String::from_utf8(buf.0.lock().expect("buffer lock").clone()).expect("UTF-8 output");
    (outcome, text)
}

fn check_err(opts: &CheckOptions) -> String {
    let mut out = Output::to_writer(Box::new(Buf::default()));
    match run(opts, &mut out) {
        Ok(o) => panic!("expected an error, got {o:?}"),
        Err(e) => format!("{e:#}"),
    }
}

/// A v3/v4 `[[package]]` entry.
fn entry(name: &str, v: &str, source: Option<&str>, checksum: Option<&str>) -> String {
    let mut s = format!("\n[[package]]\nname = \"{name}\"\nversion = \"{v}\"\n");
    if let Some(src) = source {
        s.push_str(&format!("source = \"{src}\"\n"));
    }
    if let Some(sum) = checksum {
        s.push_str(&format!("checksum = \"{sum}\"\n"));
    }
    s
}

fn v3(entries: &[String]) -> String {
    format!(
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n{}",
        entries.concat()
    )
}

/// The lines of `demo` 0.4.0 and `other` 1.0.0, whatever the lockfile version.
fn assert_demo_and_other(text: &str) {
    assert!(
        text.contains("demo 0.4.0  audited  checksum ok  signals: build-script-changed\n"),
        "{text}"
    );
    assert!(
        text.contains("other 1.0.0  audited  checksum ok  no signals\n"),
        "{text}"
    );
    assert!(text.contains("app 0.1.0  not covered (path)\n"), "{text}");
}

#[test]
fn lockfiles_of_every_version_give_the_same_answers() {
    let fx = Fixture::new();
    let (demo, other) = (fx.sum("demo", "0.4.0"), fx.sum("other", "1.0.0"));

    let v1 = format!(
        r#"[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "demo 0.4.0 (registry+https://github.com/rust-lang/crates.io-index)",
 "other 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "demo"
version = "0.4.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "other"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum demo 0.4.0 (registry+https://github.com/rust-lang/crates.io-index)" = "{demo}"
"checksum other 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)" = "{other}"
"#
    );
    let v2 = format!(
        r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "demo",
 "other",
]

[[package]]
name = "demo"
version = "0.4.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "{demo}"

[[package]]
name = "other"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "{other}"
"#
    );
    let v3 = v3(&[
        entry("app", "0.1.0", None, None),
        entry("demo", "0.4.0", Some(CRATES_IO), Some(&demo)),
        entry("other", "1.0.0", Some(CRATES_IO), Some(&other)),
    ]);
    // v4, with the sparse spelling of crates.io.
    let v4 = format!(
        "version = 4\n{}{}{}",
        entry("app", "0.1.0", None, None),
        entry("demo", "0.4.0", Some(SPARSE), Some(&demo)),
        entry("other", "1.0.0", Some(SPARSE), Some(&other)),
    );

    let mut outputs = Vec::new();
    for (n, lock) in [(1, v1), (2, v2), (3, v3), (4, v4)] {
        let (outcome, text) = check(&fx.opts(&lock));
        assert_eq!(outcome, Outcome::Clean, "v{n}\n{text}");
        assert_demo_and_other(&text);
        assert!(
            text.contains(&format!(
                "summary: Cargo.lock (lockfile v{n}): 3 packages: 2 audited, 0 not audited, 1 not covered, 0 invalid; checksum mismatches: 0\n"
            )),
            "v{n}\n{text}"
        );
        outputs.push(text.replace(&format!("(lockfile v{n})"), "(lockfile vN)"));
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]), "{outputs:#?}");
    assert_eq!(
        outputs[0],
        "app 0.1.0  not covered (path)\n\
         demo 0.4.0  audited  checksum ok  signals: build-script-changed\n\
         other 1.0.0  audited  checksum ok  no signals\n\
         summary: Cargo.lock (lockfile vN): 3 packages: 2 audited, 0 not audited, 1 not covered, 0 invalid; checksum mismatches: 0\n\
         provenance and owner changes: not yet recorded in the reports\n"
    );
}

#[test]
fn git_path_and_other_registry_packages_are_not_covered() {
    let fx = Fixture::new();
    let lock = v3(&[
        entry("app", "0.1.0", None, None),
        entry(
            "demo",
            "0.4.0",
            Some("git+https://example.com/demo?branch=main#0123456789abcdef0123456789abcdef01234567"),
            None,
        ),
        entry(
            "other",
            "1.0.0",
            Some("registry+https://my-registry.example/index"),
            Some(&fx.sum("other", "1.0.0")),
        ),
        entry("vendored", "2.0.0", Some("path+file:///src/vendored"), None),
    ]);
    let (outcome, text) = check(&fx.opts(&lock));
    assert_eq!(outcome, Outcome::Clean, "{text}");
    assert!(
        text.contains(
            "demo 0.4.0  not covered (git https://example.com/demo?branch=main#0123456789abcdef0123456789abcdef01234567)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("other 1.0.0  not covered (registry https://my-registry.example/index)\n"),
        "{text}"
    );
    assert!(text.contains("vendored 2.0.0  not covered (path)\n"), "{text}");
    assert!(
        text.contains("4 packages: 0 audited, 0 not audited, 4 not covered"),
        "{text}"
    );

    // Only --deny not-covered makes them fail.
    let mut opts = fx.opts(&lock);
    opts.deny = vec!["not-covered".to_owned()];
    let (outcome, text) = check(&opts);
    assert_eq!(outcome, Outcome::Findings, "{text}");
    assert!(
        text.contains("vendored 2.0.0  not covered (path)  DENIED: not-covered\n"),
        "{text}"
    );
}

#[test]
fn a_checksum_mismatch_is_a_finding_even_without_deny() {
    let fx = Fixture::new();
    let wrong = "ab".repeat(32);
    let lock = v3(&[
        entry("demo", "0.4.0", Some(CRATES_IO), Some(&wrong)),
        entry("other", "1.0.0", Some(CRATES_IO), None),
    ]);
    let (outcome, text) = check(&fx.opts(&lock));
    assert_eq!(outcome, Outcome::Findings, "{text}");
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "MISMATCH demo 0.4.0: Cargo.lock has checksum {wrong}, the audited .crate has sha256 {} \
             (crates/de/mo/demo/0.4.0.json): the registry or a mirror served something other than what was audited",
            fx.sum("demo", "0.4.0")
        ),
        "the mismatch comes first\n{text}"
    );
    assert!(
        text.contains("demo 0.4.0  audited  checksum MISMATCH  signals: build-script-changed\n"),
        "{text}"
    );
    assert!(
        text.contains("other 1.0.0  audited  no checksum in lockfile  no signals\n"),
        "{text}"
    );
    assert!(text.contains("; checksum mismatches: 1"), "{text}");

    // Not hex at all is a mismatch too, and is shown sanitised.
    let lock = v3(&[entry("demo", "0.4.0", Some(CRATES_IO), Some("\\u001b[2Jnot-hex"))]);
    let (outcome, text) = check(&fx.opts(&lock));
    assert_eq!(outcome, Outcome::Findings, "{text}");
    assert!(
        text.starts_with("MISMATCH demo 0.4.0: Cargo.lock has checksum <U+001B>[2Jnot-hex,"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text:?}");
}

#[test]
fn an_unaudited_crate_is_listed_and_fails_only_when_denied() {
    let fx = Fixture::new();
    let lock = v3(&[
        entry("ghost", "1.0.0", Some(CRATES_IO), Some(&"cd".repeat(32))),
        // A release of an audited crate that the audit repository lacks.
        entry("other", "1.0.1", Some(CRATES_IO), Some(&"ef".repeat(32))),
    ]);
    let (outcome, text) = check(&fx.opts(&lock));
    assert_eq!(outcome, Outcome::Clean, "{text}");
    assert!(text.contains("ghost 1.0.0  not audited\n"), "{text}");
    assert!(text.contains("other 1.0.1  not audited\n"), "{text}");
    assert!(text.contains("2 packages: 0 audited, 2 not audited"), "{text}");

    let mut opts = fx.opts(&lock);
    opts.deny = vec!["not-audited".to_owned()];
    let (outcome, text) = check(&opts);
    assert_eq!(outcome, Outcome::Findings, "{text}");
    assert!(
        text.contains("ghost 1.0.0  not audited  DENIED: not-audited\n"),
        "{text}"
    );
    assert!(text.contains("; denied: 2 (--deny not-audited)\n"), "{text}");
}

/// `demo` 0.1.0 and a crate that goes away, then `demo` 0.4.0 and a new one.
fn since_lockfiles(fx: &Fixture) -> (String, String) {
    let old = v3(&[
        entry("app", "0.1.0", None, None),
        entry("demo", "0.1.0", Some(CRATES_IO), Some(&fx.sum("demo", "0.1.0"))),
        entry("gone", "0.5.0", Some(CRATES_IO), Some(&"12".repeat(32))),
        entry("other", "1.0.0", Some(CRATES_IO), Some(&fx.sum("other", "1.0.0"))),
    ]);
    let new = v3(&[
        entry("app", "0.1.0", None, None),
        entry("demo", "0.4.0", Some(CRATES_IO), Some(&fx.sum("demo", "0.4.0"))),
        entry("ghost", "1.0.0", Some(CRATES_IO), Some(&"cd".repeat(32))),
        entry("other", "1.0.0", Some(CRATES_IO), Some(&fx.sum("other", "1.0.0"))),
    ]);
    (old, new)
}

#[test]
fn since_lists_every_release_in_between() {
    let fx = Fixture::new();
    let (old, new) = since_lockfiles(&fx);
    let mut opts = fx.opts(&new);
    opts.since = Some(old.into_bytes());
    let (outcome, text) = check(&opts);
    assert_eq!(outcome, Outcome::Clean, "{text}");
    assert_eq!(
        text,
        "demo 0.1.0 -> 0.4.0  audited  checksum ok  signals: build-script-changed\n\
         \x20   0.2.0  no signals  yanked\n\
         \x20   0.3.0  signals: build-script-added\n\
         \x20   0.4.0  signals: build-script-changed\n\
         ghost 1.0.0 (added)  not audited\n\
         gone 0.5.0  removed\n\
         changes since the --since lockfile (lockfile v3): 1 added, 1 upgraded, 0 downgraded, 0 changed in place, 1 removed\n\
         summary: Cargo.lock (lockfile v3): 4 packages, 2 listed: 1 audited, 1 not audited, 0 not covered, 0 invalid; checksum mismatches: 0\n\
         provenance and owner changes: not yet recorded in the reports\n"
    );

    // A downgrade lists only the release it lands on.
    let mut opts = fx.opts(&v3(&[entry(
        "demo",
        "0.2.0",
        Some(CRATES_IO),
        Some(&fx.sum("demo", "0.2.0")),
    )]));
    opts.since = Some(v3(&[entry("demo", "0.4.0", Some(CRATES_IO), Some(&fx.sum("demo", "0.4.0")))]).into_bytes());
    let (_, text) = check(&opts);
    assert!(
        text.starts_with("demo 0.4.0 -> 0.2.0 (downgrade)  audited  checksum ok  no signals  yanked\nchanges"),
        "{text}"
    );
}

#[test]
fn since_names_releases_in_between_that_are_not_audited() {
    let fx = Fixture::new();
    // 0.2.0 is known (0.3.0's report names it as its previous release) but
    // its report is gone.
    for ext in ["json", "md"] {
        std::fs::remove_file(fx.audit().join(format!("crates/de/mo/demo/0.2.0.{ext}"))).expect("remove a report");
    }
    let (old, new) = since_lockfiles(&fx);
    let mut opts = fx.opts(&new);
    opts.since = Some(old.into_bytes());
    let (outcome, text) = check(&opts);
    assert_eq!(outcome, Outcome::Clean, "{text}");
    assert!(
        text.contains(
            "demo 0.1.0 -> 0.4.0  audited  checksum ok  signals: build-script-changed\n\
             \x20   0.3.0  signals: build-script-added\n\
             \x20   0.4.0  signals: build-script-changed\n\
             \x20   not audited: 0.2.0\n"
        ),
        "{text}"
    );
    opts.deny = vec!["not-audited".to_owned()];
    let (outcome, text) = check(&opts);
    assert_eq!(outcome, Outcome::Findings, "{text}");
    assert!(
        text.contains("-> 0.4.0  audited  checksum ok  signals: build-script-changed  DENIED: not-audited\n"),
        "{text}"
    );
}

#[test]
fn deny_turns_chosen_signals_into_exit_status() {
    let fx = Fixture::new();
    let at = |v: &str| v3(&[entry("demo", v, Some(CRATES_IO), Some(&fx.sum("demo", v)))]);
    let deny = |lock: String, since: Option<String>, codes: &str| {
        let mut opts = fx.opts(&lock);
        opts.since = since.map(String::into_bytes);
        opts.deny = vec![codes.to_owned()];
        check(&opts)
    };

    // The whole lockfile: only the locked release's own signals count.
    let (outcome, text) = deny(at("0.3.0"), None, "build-script-added");
    assert_eq!(outcome, Outcome::Findings, "{text}");
    assert!(
        text.contains("demo 0.3.0  audited  checksum ok  signals: build-script-added  DENIED: build-script-added\n"),
        "{text}"
    );
    assert!(text.contains("; denied: 1 (--deny build-script-added)\n"), "{text}");
    let (outcome, text) = deny(at("0.4.0"), None, "build-script-added");
    assert_eq!(outcome, Outcome::Clean, "{text}");
    let (outcome, _) = deny(at("0.4.0"), None, "archive-anomaly,build-script-changed");
    assert_eq!(outcome, Outcome::Findings);
    let (outcome, text) = deny(at("0.2.0"), None, "yanked");
    assert_eq!(outcome, Outcome::Findings, "{text}");

    // --since: any release in between counts.
    let (outcome, text) = deny(at("0.4.0"), Some(at("0.1.0")), "build-script-added");
    assert_eq!(outcome, Outcome::Findings, "{text}");
    assert!(text.contains("DENIED: build-script-added"), "{text}");
    let (outcome, text) = deny(at("0.4.0"), Some(at("0.3.0")), "build-script-added");
    assert_eq!(outcome, Outcome::Clean, "{text}");
    // Nothing changed: nothing listed, nothing denied.
    let (outcome, text) = deny(at("0.3.0"), Some(at("0.3.0")), "build-script-added");
    assert_eq!(outcome, Outcome::Clean, "{text}");
    assert!(
        text.contains("0 added, 0 upgraded, 0 downgraded, 0 changed in place, 0 removed"),
        "{text}"
    );

    // An unknown code is an error (exit 2), not a silent pass.
    let mut opts = fx.opts(&at("0.4.0"));
    opts.deny = vec!["build-script-add".to_owned()];
    assert!(check_err(&opts).contains("unknown code \"build-script-add\""));
}

#[test]
fn invalid_names_and_versions_are_reported_escaped_and_never_used_as_paths() {
    let fx = Fixture::new();
    // A report where a traversal would land, to prove it is never read.
    let lock = v3(&[
        entry("../../audit/crates/de/mo/demo", "0.4.0", Some(CRATES_IO), None),
        entry("evil\\u001b[31m\\u202e", "1.0.0", Some(CRATES_IO), None),
        entry("demo", "0.4.0/../0.3.0", Some(CRATES_IO), None),
        entry("demo", "not.semver", Some(CRATES_IO), None),
    ]);
    let (outcome, text) = check(&fx.opts(&lock));
    assert_eq!(outcome, Outcome::Findings, "invalid entries are findings\n{text}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    assert!(!text.contains('\u{202e}'), "{text:?}");
    assert!(
        text.contains("invalid package \"evil<U+001B>[31m<U+202E>\" \"1.0.0\" (line 10): invalid crate name"),
        "{text}"
    );
    assert!(
        text.contains("invalid package \"../../audit/crates/de/mo/demo\" \"0.4.0\" (line 5): invalid crate name"),
        "{text}"
    );
    assert!(
        text.contains("invalid package \"demo\" \"0.4.0/../0.3.0\" (line 15): invalid version: not semver"),
        "{text}"
    );
    assert!(
        text.contains("invalid package \"demo\" \"not.semver\" (line 20): invalid version: not semver"),
        "{text}"
    );
    assert!(
        text.contains("4 packages: 0 audited, 0 not audited, 0 not covered, 4 invalid"),
        "{text}"
    );
}

#[test]
fn unreadable_inputs_are_errors() {
    let fx = Fixture::new();
    let err = check_err(&fx.opts("version = 3\n\n[[package]]\nname = \"a\"\nversion = \n"));
    assert!(err.starts_with("reading Cargo.lock: line 5: "), "{err}");
    let err = check_err(&fx.opts("version = 9\n"));
    assert_eq!(
        err,
        "reading Cargo.lock: line 1: lockfile version 9 is not supported (cargofox reads versions 1 to 4)"
    );
    let mut opts = fx.opts("version = 3\n");
    opts.since = Some(b"[[package]]\nname = 1\n".to_vec());
    assert!(check_err(&opts).starts_with("reading the --since lockfile: line 2"));
    let mut opts = fx.opts("version = 3\n");
    opts.audit = fx.data.path().join("nowhere");
    assert!(check_err(&opts).contains("no audit repository at"));

    // A tampered audit repository: a report that is a link, a report for
    // another version.
    let dir = fx.audit().join("crates/de/mo/demo");
    std::fs::remove_file(dir.join("0.1.0.json")).expect("remove");
    std::os::unix::fs::symlink("/etc/hostname", dir.join("0.1.0.json")).expect("symlink");
    std::fs::copy(dir.join("0.3.0.json"), dir.join("0.2.0.json")).expect("copy");
    let lock = |v: &str| v3(&[entry("demo", v, Some(CRATES_IO), None)]);
    assert!(check_err(&fx.opts(&lock("0.1.0"))).contains("is not a regular file"));
    assert!(
        check_err(&fx.opts(&lock("0.2.0")))
            .contains("is for version 0.3.0, not 0.2.0: the audit repository is inconsistent")
    );
}

fn json_of(opts: &CheckOptions) -> (Outcome, String) {
    let mut opts = opts.clone();
    opts.json = true;
    let (outcome, text) = check(&opts);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON: {e}\n{text}"));
    assert_eq!(value["schema_version"], 1);
    (outcome, text)
}

#[test]
fn json_and_human_output_snapshots() {
    let fx = Fixture::new();
    let (old, _) = since_lockfiles(&fx);
    let new = v3(&[
        entry("app", "0.1.0", None, None),
        entry("demo", "0.4.0", Some(CRATES_IO), Some(&fx.sum("demo", "0.4.0"))),
        entry("ghost", "1.0.0", Some(CRATES_IO), Some(&"cd".repeat(32))),
        entry(
            "gitdep",
            "0.3.0",
            Some("git+https://example.com/gitdep#0123456789abcdef"),
            None,
        ),
        entry("other", "1.0.0", Some(CRATES_IO), Some(&"ab".repeat(32))),
    ]);
    let mut opts = fx.opts(&new);
    opts.deny = vec!["build-script-added".to_owned()];

    let (outcome, whole) = json_of(&opts);
    assert_eq!(outcome, Outcome::Findings);
    insta::assert_snapshot!("check-whole.json", whole);

    opts.since = Some(old.into_bytes());
    let (outcome, since) = json_of(&opts);
    assert_eq!(outcome, Outcome::Findings);
    insta::assert_snapshot!("check-since.json", since);

    // The same, as people read it (docs/CHECK.md shows it).
    let (outcome, human) = check(&opts);
    assert_eq!(outcome, Outcome::Findings);
    insta::assert_snapshot!("check-since.txt", human);
}
