//! Signals (pure): inferences drawn from the facts of a release, each with a
//! stable code, a one-line summary built only from trusted text (counts,
//! codes), and the evidence it rests on. The codes are documented in
//! docs/SIGNALS.md, and a test keeps the two lists equal. Signals never say
//! a release is good or bad; they point a reader at evidence worth a look.

use serde::Serialize;

/// Files added at or above this size raise `large-file-added`.
pub const LARGE_FILE: u64 = 1024 * 1024;

/// Every signal code this module can emit, with its one-line meaning.
pub const CODES: &[(&str, &str)] = &[
    (
        "build-script-added",
        "the release has a build script and the previous one did not",
    ),
    ("build-script-changed", "the build script's content changed"),
    ("proc-macro-added", "the crate became a proc-macro crate"),
    ("new-build-dependency", "a build-dependency was added"),
    ("binary-file-added", "a binary file was added"),
    ("large-file-added", "a file of 1 MiB or more was added"),
    ("archive-anomaly", "the .crate departs from a clean archive"),
    (
        "file-not-in-upstream",
        "a file of the release is not in the upstream commit it was compared with",
    ),
    (
        "file-differs-from-upstream",
        "a file of the release differs from the upstream commit it was compared with",
    ),
    (
        "binary-not-in-upstream",
        "a binary file of the release is not in the upstream commit",
    ),
    (
        "vcs-commit-missing",
        "the commit .cargo_vcs_info.json claims is not in the repository",
    ),
    (
        "vcs-commit-unreachable",
        "the claimed commit is on no branch or tag of the repository",
    ),
    (
        "tag-disagrees-with-vcs",
        "the version tag points at another commit than the claimed one",
    ),
    ("dirty-publish", "cargo packaged the release from a dirty working tree"),
    (
        "trusted-publishing-commit-mismatch",
        "the commit the registry attests differs from the claimed commit or the tag's",
    ),
    (
        "repository-changed",
        "the declared repository differs from the previous release's",
    ),
    (
        "manifest-normalisation-mismatch",
        "the normalised Cargo.toml is not what cargo would derive from Cargo.toml.orig",
    ),
    (
        "index-manifest-mismatch",
        "the index entry's dependencies, features or links disagree with the Cargo.toml in the .crate",
    ),
];

/// A piece of evidence: what kind of fact, and its value (untrusted text,
/// escaped when rendered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The kind of fact (`file`, `dependency`, `anomaly`, `manifest`).
    pub fact: &'static str,
    /// The value, e.g. a path.
    pub value: String,
}

/// An inference with the facts it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// Stable code.
    pub code: &'static str,
    /// Always `inference`.
    pub kind: &'static str,
    /// Why it matters, trusted text only.
    pub summary: String,
    /// The facts.
    pub evidence: Vec<Evidence>,
}

/// The facts signals are drawn from, extracted from the comparison and the
/// manifests by the report builder.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Whether there is a previous release to compare with.
    pub has_previous: bool,
    /// Build script path in the previous release, if any.
    pub build_script_old: Option<String>,
    /// Build script path in this release, if any.
    pub build_script_new: Option<String>,
    /// Whether the build script's blob differs from the previous release's.
    pub build_script_content_changed: bool,
    /// Previous release was a proc-macro crate.
    pub proc_macro_old: bool,
    /// This release is a proc-macro crate.
    pub proc_macro_new: bool,
    /// Build-dependencies added (names).
    pub build_deps_added: Vec<String>,
    /// Added files that are binary: (path, size).
    pub binary_files_added: Vec<(String, u64)>,
    /// Added files (any kind): (path, size).
    pub files_added: Vec<(String, u64)>,
    /// Archive anomalies: (code, detail).
    pub anomalies: Vec<(String, String)>,
}

/// An inference with its evidence (the one way signals are built).
pub fn signal(code: &'static str, summary: String, evidence: Vec<Evidence>) -> Signal {
    Signal {
        code,
        kind: "inference",
        summary,
        evidence,
    }
}

fn file(value: &str) -> Evidence {
    Evidence {
        fact: "file",
        value: value.to_owned(),
    }
}

/// Draw the signals, in the order of [`CODES`].
pub fn signals(f: &Facts) -> Vec<Signal> {
    let mut out = Vec::new();
    if let Some(new) = &f.build_script_new {
        if f.build_script_old.is_none() {
            let why = if f.has_previous {
                "a build script runs on every machine that builds this crate; the previous release had none"
            } else {
                "a build script runs on every machine that builds this crate"
            };
            out.push(signal("build-script-added", why.to_owned(), vec![file(new)]));
        } else if f.build_script_content_changed {
            out.push(signal(
                "build-script-changed",
                "the build script runs at build time; its content changed since the previous release".to_owned(),
                vec![file(new)],
            ));
        }
    }
    if f.proc_macro_new && !f.proc_macro_old {
        out.push(signal(
            "proc-macro-added",
            "a proc-macro runs inside the compiler of every dependent build".to_owned(),
            vec![Evidence {
                fact: "manifest",
                value: "lib.proc-macro = true".to_owned(),
            }],
        ));
    }
    if !f.build_deps_added.is_empty() {
        out.push(signal(
            "new-build-dependency",
            format!(
                "{} build-dependenc{} added: build-time code from another crate",
                f.build_deps_added.len(),
                if f.build_deps_added.len() == 1 { "y" } else { "ies" }
            ),
            f.build_deps_added
                .iter()
                .map(|d| Evidence {
                    fact: "dependency",
                    value: d.clone(),
                })
                .collect(),
        ));
    }
    if !f.binary_files_added.is_empty() {
        out.push(signal(
            "binary-file-added",
            format!(
                "{} binary file{} added: content a reviewer cannot read in a diff",
                f.binary_files_added.len(),
                if f.binary_files_added.len() == 1 { "" } else { "s" }
            ),
            f.binary_files_added.iter().map(|(p, _)| file(p)).collect(),
        ));
    }
    let large: Vec<&(String, u64)> = f.files_added.iter().filter(|(_, s)| *s >= LARGE_FILE).collect();
    if !large.is_empty() {
        out.push(signal(
            "large-file-added",
            format!(
                "{} file{} of 1 MiB or more added: large files can hide a payload",
                large.len(),
                if large.len() == 1 { "" } else { "s" }
            ),
            large.iter().map(|(p, _)| file(p)).collect(),
        ));
    }
    if !f.anomalies.is_empty() {
        let mut codes: Vec<&str> = f.anomalies.iter().map(|(c, _)| c.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        out.push(signal(
            "archive-anomaly",
            format!(
                "the .crate departs from a clean archive ({}): what cargo unpacks may differ from what other tools show",
                codes.len()
            ),
            f.anomalies
                .iter()
                .map(|(c, d)| Evidence {
                    fact: "anomaly",
                    value: format!("{c} {d}"),
                })
                .collect(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let mut seen = std::collections::BTreeSet::new();
        let doc = include_str!("../docs/SIGNALS.md");
        for (code, _) in CODES {
            assert!(seen.insert(*code), "duplicate code {code}");
            assert!(
                doc.contains(&format!("`{code}`")),
                "{code} is not documented in docs/SIGNALS.md"
            );
        }
    }

    #[test]
    fn build_script_added_then_changed() {
        let added = signals(&Facts {
            has_previous: true,
            build_script_new: Some("build.rs".into()),
            ..Facts::default()
        });
        assert_eq!(
            added.iter().map(|s| s.code).collect::<Vec<_>>(),
            vec!["build-script-added"]
        );
        let changed = signals(&Facts {
            has_previous: true,
            build_script_old: Some("build.rs".into()),
            build_script_new: Some("build.rs".into()),
            build_script_content_changed: true,
            ..Facts::default()
        });
        assert_eq!(changed[0].code, "build-script-changed");
        let same = signals(&Facts {
            has_previous: true,
            build_script_old: Some("build.rs".into()),
            build_script_new: Some("build.rs".into()),
            ..Facts::default()
        });
        assert!(same.is_empty());
    }

    #[test]
    fn files_dependencies_and_anomalies() {
        let s = signals(&Facts {
            proc_macro_new: true,
            build_deps_added: vec!["cc".into()],
            binary_files_added: vec![("blob.bin".into(), 10)],
            files_added: vec![("big.txt".into(), LARGE_FILE), ("small".into(), 1)],
            anomalies: vec![("duplicate-path".into(), "x".into())],
            ..Facts::default()
        });
        let codes: Vec<&str> = s.iter().map(|s| s.code).collect();
        assert_eq!(
            codes,
            vec![
                "proc-macro-added",
                "new-build-dependency",
                "binary-file-added",
                "large-file-added",
                "archive-anomaly"
            ]
        );
        assert_eq!(s[3].evidence, vec![file("big.txt")]);
        assert!(s.iter().all(|s| s.kind == "inference"));
    }
}
