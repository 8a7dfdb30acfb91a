//! Explaining every file of a release against an upstream tree: one reason
//! code per file, the count of upstream files that were not packaged, and a
//! verdict made only of those facts. Pure: takes the two listings and a way
//! to read blobs. Comparing is comparing blob ids first (both sides live in
//! one object database); contents are read only for files whose ids differ.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::compare::{Blobs, DiffText, FileEntry, Limits, unified_diff};

/// What kind of entry an upstream path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpKind {
    /// A regular file.
    File,
    /// An executable file.
    Executable,
    /// A symbolic link (the blob holds the target).
    Symlink,
    /// A submodule (a commit id; never followed).
    Submodule,
}

/// One entry of an upstream tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpEntry {
    /// Kind.
    pub kind: UpKind,
    /// Blob (or commit) id, hex.
    pub id: String,
}

/// An upstream commit's files by full path (`/`-separated, as in git).
pub type UpTree = BTreeMap<Vec<u8>, UpEntry>;

/// The reason a file is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Same blob id at the same path.
    Identical,
    /// Upstream is a symlink whose target has the same blob id.
    IdenticalViaSymlink,
    /// A `readme`/`license-file` outside the package directory that cargo
    /// copied in; same blob id.
    Relocated,
    /// Equal once CRLF is read as LF.
    LineEndingsOnly,
    /// Written by `cargo package` (`Cargo.toml` normalised, `Cargo.lock`,
    /// `.cargo_vcs_info.json`).
    GeneratedByCargo,
    /// Upstream has the path with other content.
    Differs,
    /// Upstream has nothing at this path.
    NotInUpstream,
}

impl Reason {
    /// The code used in reports.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Identical => "identical",
            Reason::IdenticalViaSymlink => "identical-via-symlink",
            Reason::Relocated => "relocated",
            Reason::LineEndingsOnly => "line-endings-only",
            Reason::GeneratedByCargo => "generated-by-cargo",
            Reason::Differs => "differs",
            Reason::NotInUpstream => "not-in-upstream",
        }
    }
}

/// The verdict: a summary of the reasons, no judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every file is identical (directly or through a symlink) or written by
    /// cargo.
    Exact,
    /// Only explained differences: relocated files, line endings.
    Equivalent,
    /// At least one file differs from upstream or is not in it.
    Mismatch,
    /// Nothing to compare with.
    NoBasis,
}

impl Verdict {
    /// The code used in reports.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Exact => "exact",
            Verdict::Equivalent => "equivalent",
            Verdict::Mismatch => "mismatch",
            Verdict::NoBasis => "no-basis",
        }
    }
}

/// One packaged file, explained.
#[derive(Debug, Clone, Serialize)]
pub struct FileReason {
    /// Path in the `.crate` (untrusted).
    pub path: String,
    /// Reason code.
    pub reason: Reason,
    /// The upstream path it was compared with, when not the same path under
    /// the package directory (a symlink target, a relocated file).
    pub upstream_path: Option<String>,
    /// For `not-in-upstream`: another path in the upstream commit holding
    /// the same blob, if any.
    pub same_blob_elsewhere: Option<String>,
    /// Whether the content is binary (`differs`/`not-in-upstream`).
    pub binary: bool,
    /// For `differs`: upstream → crate.
    pub diff: Option<DiffText>,
}

/// Every file explained.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The verdict.
    pub verdict: Verdict,
    /// Files by path.
    pub files: Vec<FileReason>,
    /// How many files carry each reason.
    pub counts: BTreeMap<&'static str, usize>,
    /// Upstream files under the package directory that are not in the
    /// `.crate` (counted, not listed: excluded by `include`/`exclude`,
    /// tests, CI files...).
    pub upstream_files_not_packaged: usize,
}

/// What is needed besides the two trees.
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    /// The package's directory in the repository (`""` = root).
    pub dir: &'a str,
    /// `readme` and `license-file` as `Cargo.toml.orig` declares them
    /// (relative to the package directory; may point outside it).
    pub declared: Vec<String>,
    /// Whether the `.crate` has a `Cargo.toml.orig` (then `Cargo.toml` was
    /// written by cargo).
    pub has_orig: bool,
}

const MAX_SYMLINK_HOPS: usize = 8;

/// Join `dir` and a relative path, resolving `.`/`..`; `None` when it
/// leaves the repository.
pub fn join(dir: &str, rel: &str) -> Option<String> {
    let mut out: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    if rel.starts_with('/') {
        return None;
    }
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out.join("/"))
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Follow symlinks from `path` to a regular file: its path and entry.
fn resolve<'t>(tree: &'t UpTree, path: &str, blobs: &dyn Blobs) -> Option<(String, &'t UpEntry)> {
    let mut path = path.to_owned();
    for _ in 0..=MAX_SYMLINK_HOPS {
        let Some(entry) = tree.get(path.as_bytes()) else {
            // A symlinked directory on the way: replace the longest prefix
            // that is a symlink by its target.
            let mut cut = None;
            for (i, _) in path.match_indices('/') {
                if tree
                    .get(&path.as_bytes()[..i])
                    .is_some_and(|e| e.kind == UpKind::Symlink)
                {
                    cut = Some(i);
                }
            }
            let i = cut?;
            let link = tree.get(&path.as_bytes()[..i])?;
            let target = blobs.blob(&link.id)?;
            let target = std::str::from_utf8(&target).ok()?;
            let dir = join(parent_dir(&path[..i]), target)?;
            path = join(&dir, &path[i + 1..])?;
            continue;
        };
        match entry.kind {
            UpKind::File | UpKind::Executable => return Some((path, entry)),
            UpKind::Submodule => return None,
            UpKind::Symlink => {
                let target = blobs.blob(&entry.id)?;
                let target = std::str::from_utf8(&target).ok()?;
                path = join(parent_dir(&path), target)?;
            }
        }
    }
    None
}

fn crlf_to_lf(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Explain every file of `krate` against `tree`.
pub fn explain(
    krate: &[FileEntry],
    tree: &UpTree,
    inputs: &Inputs<'_>,
    blobs: &dyn Blobs,
    limits: &Limits,
) -> Explanation {
    let prefix = if inputs.dir.is_empty() {
        String::new()
    } else {
        format!("{}/", inputs.dir)
    };
    // Declared files cargo copies in from elsewhere: crate path → upstream path.
    let mut relocations: HashMap<String, String> = HashMap::new();
    for d in &inputs.declared {
        if let Some(up) = join(inputs.dir, d) {
            let name = up.rsplit('/').next().unwrap_or(&up).to_owned();
            if !up.starts_with(&prefix) || d.contains("..") {
                relocations.insert(name, up);
            }
        }
    }
    let mut by_id: Option<HashMap<&str, &[u8]>> = None;
    let mut budget = limits.clone();
    let mut files = Vec::with_capacity(krate.len());
    for f in krate {
        let path = String::from_utf8_lossy(&f.path).into_owned();
        let up_path = format!("{prefix}{path}");
        let generated = match path.as_str() {
            ".cargo_vcs_info.json" => true,
            "Cargo.toml" => inputs.has_orig,
            "Cargo.lock" => tree.get(up_path.as_bytes()).is_none_or(|e| e.id != f.id),
            _ => false,
        };
        let mut fr = FileReason {
            path: path.clone(),
            reason: Reason::GeneratedByCargo,
            upstream_path: None,
            same_blob_elsewhere: None,
            binary: false,
            diff: None,
        };
        if generated {
            files.push(fr);
            continue;
        }
        let compare_with = if path == "Cargo.toml.orig" {
            format!("{prefix}Cargo.toml")
        } else {
            up_path.clone()
        };
        let direct = tree.get(compare_with.as_bytes());
        let via_link = resolve(tree, &compare_with, blobs).map(|(p, e)| (p, e, true, false));
        let found = match direct {
            Some(e) if matches!(e.kind, UpKind::File | UpKind::Executable) => {
                Some((compare_with.clone(), e, false, false))
            }
            _ => via_link.or_else(|| {
                relocations
                    .get(&path)
                    .and_then(|up| resolve(tree, up, blobs).map(|(p, e)| (p, e, false, true)))
            }),
        };
        match found {
            Some((p, e, via_link, relocated)) => {
                if p != compare_with || relocated {
                    fr.upstream_path = Some(p.clone());
                }
                if e.id == f.id {
                    fr.reason = if relocated {
                        Reason::Relocated
                    } else if via_link {
                        Reason::IdenticalViaSymlink
                    } else {
                        Reason::Identical
                    };
                } else {
                    let ours = blobs.blob(&f.id).unwrap_or_default();
                    let theirs = blobs.blob(&e.id).unwrap_or_default();
                    if crlf_to_lf(&ours) == crlf_to_lf(&theirs) {
                        fr.reason = Reason::LineEndingsOnly;
                    } else {
                        fr.reason = Reason::Differs;
                        fr.binary = crate::compare::is_binary(&ours) || crate::compare::is_binary(&theirs);
                        if !fr.binary {
                            let d = unified_diff(
                                &theirs,
                                &ours,
                                &format!("upstream/{p}"),
                                &format!("crate/{path}"),
                                &budget,
                            );
                            if let DiffText::Full(t) = &d {
                                budget.max_total_diff_bytes = budget.max_total_diff_bytes.saturating_sub(t.len());
                            }
                            if budget.max_total_diff_bytes == 0 {
                                budget.max_file_bytes_for_diff = 0;
                            }
                            fr.diff = Some(d);
                        }
                    }
                }
            }
            None => {
                fr.reason = Reason::NotInUpstream;
                let index = by_id.get_or_insert_with(|| {
                    let mut m = HashMap::new();
                    for (p, e) in tree.iter().rev() {
                        m.insert(e.id.as_str(), p.as_slice());
                    }
                    m
                });
                fr.same_blob_elsewhere = index
                    .get(f.id.as_str())
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                fr.binary = blobs.blob(&f.id).is_some_and(|b| crate::compare::is_binary(&b));
            }
        }
        files.push(fr);
    }
    let packaged: std::collections::HashSet<String> = files.iter().map(|f| format!("{prefix}{}", f.path)).collect();
    let upstream_files_not_packaged = tree
        .iter()
        .filter(|(p, e)| e.kind != UpKind::Submodule && p.starts_with(prefix.as_bytes()))
        .filter(|(p, _)| {
            let p = String::from_utf8_lossy(p);
            !packaged.contains(p.as_ref())
        })
        .count();
    let mut counts = BTreeMap::new();
    for f in &files {
        *counts.entry(f.reason.code()).or_insert(0) += 1;
    }
    let verdict = if files
        .iter()
        .any(|f| matches!(f.reason, Reason::Differs | Reason::NotInUpstream))
    {
        Verdict::Mismatch
    } else if files
        .iter()
        .any(|f| matches!(f.reason, Reason::Relocated | Reason::LineEndingsOnly))
    {
        Verdict::Equivalent
    } else {
        Verdict::Exact
    };
    Explanation {
        verdict,
        files,
        counts,
        upstream_files_not_packaged,
    }
}

/// How much of a release a tree explains by blob id alone: the share of
/// the release's files (those cargo does not write) found with the same id
/// at the same path under `dir`. Used to find the nearest commit when there
/// is no claim and no tag.
pub fn similarity(krate: &[FileEntry], tree: &UpTree, dir: &str) -> f64 {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut total = 0usize;
    let mut same = 0usize;
    for f in krate {
        let path = String::from_utf8_lossy(&f.path);
        if matches!(path.as_ref(), ".cargo_vcs_info.json" | "Cargo.toml" | "Cargo.lock") {
            continue;
        }
        total += 1;
        let up = if path == "Cargo.toml.orig" {
            format!("{prefix}Cargo.toml")
        } else {
            format!("{prefix}{path}")
        };
        if tree.get(up.as_bytes()).is_some_and(|e| e.id == f.id) {
            same += 1;
        }
    }
    if total == 0 { 0.0 } else { same as f64 / total as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Mem(HashMap<String, Vec<u8>>);
    impl Mem {
        fn put(&mut self, content: &[u8]) -> String {
            let id = format!("{:040x}", self.0.len() + 1);
            let id = self
                .0
                .iter()
                .find(|(_, v)| v.as_slice() == content)
                .map(|(k, _)| k.clone())
                .unwrap_or(id);
            self.0.insert(id.clone(), content.to_vec());
            id
        }
    }
    impl Blobs for Mem {
        fn blob(&self, id: &str) -> Option<Vec<u8>> {
            self.0.get(id).cloned()
        }
    }

    fn file(m: &mut Mem, path: &str, content: &[u8]) -> FileEntry {
        FileEntry {
            path: path.as_bytes().to_vec(),
            executable: false,
            id: m.put(content),
            size: content.len() as u64,
        }
    }

    fn up(tree: &mut UpTree, m: &mut Mem, path: &str, kind: UpKind, content: &[u8]) {
        tree.insert(
            path.as_bytes().to_vec(),
            UpEntry {
                kind,
                id: m.put(content),
            },
        );
    }

    fn reason_of(e: &Explanation, path: &str) -> &'static str {
        e.files
            .iter()
            .find(|f| f.path == path)
            .map_or("absent", |f| f.reason.code())
    }

    #[test]
    fn workspace_member_with_symlinked_license_and_relocated_readme() {
        let mut m = Mem::default();
        let mut t = UpTree::new();
        up(&mut t, &mut m, "LICENSE", UpKind::File, b"MIT\n");
        up(&mut t, &mut m, "README.md", UpKind::File, b"# ws\n");
        up(&mut t, &mut m, "Cargo.toml", UpKind::File, b"[workspace]\n");
        up(
            &mut t,
            &mut m,
            "crates/foo/Cargo.toml",
            UpKind::File,
            b"[package]\nname='foo'\n",
        );
        up(
            &mut t,
            &mut m,
            "crates/foo/src/lib.rs",
            UpKind::File,
            b"pub fn f() {}\n",
        );
        up(&mut t, &mut m, "crates/foo/src/win.rs", UpKind::File, b"a\nb\n");
        up(&mut t, &mut m, "crates/foo/LICENSE", UpKind::Symlink, b"../../LICENSE");
        up(
            &mut t,
            &mut m,
            "crates/foo/tests/t.rs",
            UpKind::File,
            b"#[test] fn t() {}\n",
        );
        let krate = vec![
            file(&mut m, ".cargo_vcs_info.json", b"{}"),
            file(&mut m, "Cargo.toml", b"# generated\n"),
            file(&mut m, "Cargo.toml.orig", b"[package]\nname='foo'\n"),
            file(&mut m, "LICENSE", b"MIT\n"),
            file(&mut m, "README.md", b"# ws\n"),
            file(&mut m, "src/lib.rs", b"pub fn f() {}\n"),
            file(&mut m, "src/win.rs", b"a\r\nb\r\n"),
        ];
        let inputs = Inputs {
            dir: "crates/foo",
            declared: vec!["../../README.md".to_owned()],
            has_orig: true,
        };
        let e = explain(&krate, &t, &inputs, &m, &Limits::default());
        assert_eq!(reason_of(&e, ".cargo_vcs_info.json"), "generated-by-cargo");
        assert_eq!(reason_of(&e, "Cargo.toml"), "generated-by-cargo");
        assert_eq!(reason_of(&e, "Cargo.toml.orig"), "identical");
        assert_eq!(reason_of(&e, "LICENSE"), "identical-via-symlink");
        assert_eq!(reason_of(&e, "README.md"), "relocated");
        assert_eq!(reason_of(&e, "src/lib.rs"), "identical");
        assert_eq!(reason_of(&e, "src/win.rs"), "line-endings-only");
        assert_eq!(e.upstream_files_not_packaged, 1, "tests/t.rs");
        assert_eq!(e.verdict, Verdict::Equivalent);
        let lic = e.files.iter().find(|f| f.path == "LICENSE").expect("license");
        assert_eq!(lic.upstream_path.as_deref(), Some("LICENSE"));
    }

    #[test]
    fn phantom_modified_and_binary_files() {
        let mut m = Mem::default();
        let mut t = UpTree::new();
        up(&mut t, &mut m, "Cargo.toml", UpKind::File, b"[package]\n");
        up(&mut t, &mut m, "src/lib.rs", UpKind::File, b"fn a() {}\n");
        up(&mut t, &mut m, "vendor/blob.txt", UpKind::File, b"moved\n");
        let krate = vec![
            file(&mut m, "Cargo.toml.orig", b"[package]\n"),
            file(&mut m, "Cargo.toml", b"# gen\n"),
            file(&mut m, "src/lib.rs", b"fn a() { evil() }\n"),
            file(&mut m, "src/phantom.rs", b"fn evil() {}\n"),
            file(&mut m, "data/payload.bin", b"\x7fELF\0\0\x01"),
            file(&mut m, "blob.txt", b"moved\n"),
        ];
        let inputs = Inputs {
            dir: "",
            declared: vec![],
            has_orig: true,
        };
        let e = explain(&krate, &t, &inputs, &m, &Limits::default());
        assert_eq!(reason_of(&e, "src/lib.rs"), "differs");
        assert_eq!(reason_of(&e, "src/phantom.rs"), "not-in-upstream");
        assert_eq!(reason_of(&e, "data/payload.bin"), "not-in-upstream");
        assert_eq!(reason_of(&e, "blob.txt"), "not-in-upstream");
        let moved = e.files.iter().find(|f| f.path == "blob.txt").expect("moved");
        assert_eq!(moved.same_blob_elsewhere.as_deref(), Some("vendor/blob.txt"));
        assert!(
            e.files
                .iter()
                .find(|f| f.path == "data/payload.bin")
                .is_some_and(|f| f.binary)
        );
        let lib = e.files.iter().find(|f| f.path == "src/lib.rs").expect("lib");
        match &lib.diff {
            Some(DiffText::Full(d)) => assert!(d.contains("+fn a() { evil() }"), "{d}"),
            other => panic!("expected a diff, got {other:?}"),
        }
        assert_eq!(e.verdict, Verdict::Mismatch);
        assert_eq!(e.counts.get("not-in-upstream"), Some(&3));
    }

    #[test]
    fn exact_and_hostile_symlinks() {
        let mut m = Mem::default();
        let mut t = UpTree::new();
        up(&mut t, &mut m, "Cargo.toml", UpKind::File, b"[package]\n");
        up(&mut t, &mut m, "src/lib.rs", UpKind::File, b"x\n");
        up(&mut t, &mut m, "loop", UpKind::Symlink, b"loop");
        up(&mut t, &mut m, "escape", UpKind::Symlink, b"../../../etc/passwd");
        let krate = vec![
            file(&mut m, "Cargo.toml", b"[package]\n"),
            file(&mut m, "src/lib.rs", b"x\n"),
        ];
        let inputs = Inputs::default();
        let e = explain(&krate, &t, &inputs, &m, &Limits::default());
        assert_eq!(e.verdict, Verdict::Exact);
        assert_eq!(
            reason_of(&e, "Cargo.toml"),
            "identical",
            "no .orig: compared like any file"
        );
        assert_eq!(e.upstream_files_not_packaged, 2);
        // Symlinks that loop or leave the repository resolve to nothing.
        let k2 = vec![file(&mut m, "loop", b"x\n"), file(&mut m, "escape", b"x\n")];
        let e2 = explain(&k2, &t, &inputs, &m, &Limits::default());
        assert_eq!(reason_of(&e2, "loop"), "not-in-upstream");
        assert_eq!(reason_of(&e2, "escape"), "not-in-upstream");
    }

    #[test]
    fn a_symlinked_directory_is_followed() {
        let mut m = Mem::default();
        let mut t = UpTree::new();
        up(&mut t, &mut m, "real/src/internals/ast.rs", UpKind::File, b"ast\n");
        up(
            &mut t,
            &mut m,
            "pre/derive/src/internals",
            UpKind::Symlink,
            b"../../../real/src/internals",
        );
        let k = vec![file(&mut m, "src/internals/ast.rs", b"ast\n")];
        let inputs = Inputs {
            dir: "pre/derive",
            ..Inputs::default()
        };
        let e = explain(&k, &t, &inputs, &m, &Limits::default());
        assert_eq!(reason_of(&e, "src/internals/ast.rs"), "identical-via-symlink");
        assert_eq!(e.files[0].upstream_path.as_deref(), Some("real/src/internals/ast.rs"));
    }

    #[test]
    fn similarity_counts_ids() {
        let mut m = Mem::default();
        let mut t = UpTree::new();
        up(&mut t, &mut m, "a.rs", UpKind::File, b"a");
        up(&mut t, &mut m, "b.rs", UpKind::File, b"b");
        let k = vec![
            file(&mut m, "a.rs", b"a"),
            file(&mut m, "b.rs", b"B"),
            file(&mut m, "Cargo.toml", b"x"),
        ];
        assert!((similarity(&k, &t, "") - 0.5).abs() < 1e-9);
        assert_eq!(join("a/b", "../../c"), Some("c".to_owned()));
        assert_eq!(join("a", "../../c"), None);
    }
}
