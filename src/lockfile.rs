//! Cargo.lock parsing (pure): the packages of a lockfile, versions 1 to 4,
//! with their source and checksum. Bytes in, data out; no I/O and no
//! judgement (whether a name or version is acceptable is the caller's
//! business: everything here is untrusted text, kept as it was written).
//!
//! The four versions differ in where the checksums are and how the version
//! is told:
//!
//! - v1 has no `version` key; checksums sit in `[metadata]` as
//!   `"checksum <name> <version> (<source>)" = "<sha256>"` (`"<none>"` for a
//!   package without one). The oldest files also have a `[root]` package.
//! - v2 has no `version` key and an inline `checksum` in each `[[package]]`.
//!   Without a `version` key, a lockfile is v2 when any package has an inline
//!   checksum and v1 otherwise (cargo's rule: it assumes the older format
//!   until it sees otherwise).
//! - v3 and v4 say `version = 3` or `version = 4`; v4 percent-encodes git
//!   source URLs. Both keep checksums inline.
//!
//! Other keys (`dependencies`, `replace`, `[patch]`) are ignored: they say
//! how packages depend on each other, not what was downloaded.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The crates.io index as a git registry source.
pub const CRATES_IO_GIT: &str = "registry+https://github.com/rust-lang/crates.io-index";
/// The crates.io index as a sparse registry source.
pub const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

/// A parsed lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    /// The format version, 1 to 4.
    pub version: u32,
    /// Every package, in file order (`[root]` first when there is one).
    pub packages: Vec<Package>,
}

/// One `[[package]]` entry (or the v1 `[root]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The name, as written (untrusted).
    pub name: String,
    /// The version, as written (untrusted).
    pub version: String,
    /// Where cargo gets it.
    pub source: Source,
    /// The sha256 cargo checks the download against, as written (untrusted:
    /// not necessarily hex). `None` when the lockfile has none.
    pub checksum: Option<String>,
    /// The line of the lockfile the entry starts on (1-based).
    pub line: usize,
}

/// Where a package comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// crates.io, through its git index or its sparse index.
    CratesIo,
    /// Another registry: the URL after `registry+`, or the whole
    /// `sparse+...` URL (cargo keeps the prefix as part of a sparse URL).
    Registry(String),
    /// A git repository: the URL after `git+` (query and `#commit` kept).
    Git(String),
    /// A local path (no `source` key, or `path+...`).
    Path,
    /// A source kind cargo has and cargofox does not know, as written.
    Other(String),
}

impl Source {
    /// Classify a `source` value.
    pub fn parse(s: &str) -> Source {
        if s == CRATES_IO_GIT || s == CRATES_IO_SPARSE || s == CRATES_IO_SPARSE.trim_end_matches('/') {
            Source::CratesIo
        } else if let Some(url) = s.strip_prefix("registry+") {
            Source::Registry(url.to_owned())
        } else if s.starts_with("sparse+") {
            Source::Registry(s.to_owned())
        } else if let Some(url) = s.strip_prefix("git+") {
            Source::Git(url.to_owned())
        } else if s.starts_with("path+") {
            Source::Path
        } else {
            Source::Other(s.to_owned())
        }
    }

    /// A short name of the kind: `crates-io`, `registry`, `git`, `path`,
    /// `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::CratesIo => "crates-io",
            Source::Registry(_) => "registry",
            Source::Git(_) => "git",
            Source::Path => "path",
            Source::Other(_) => "other",
        }
    }

    /// The URL or text that goes with the kind, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Source::CratesIo | Source::Path => None,
            Source::Registry(s) | Source::Git(s) | Source::Other(s) => Some(s),
        }
    }
}

/// Why a lockfile could not be read. Messages quote the input only through
/// [`sanitize`], so they can be printed to a terminal.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LockfileError {
    /// The bytes are not UTF-8 (TOML is).
    #[error("line {line}: the lockfile is not UTF-8")]
    NotUtf8 {
        /// Where the first bad byte is.
        line: usize,
    },
    /// Not TOML, or not of a lockfile's shape.
    #[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Toml {
        /// Where, when the parser knows.
        line: Option<usize>,
        /// The parser's message (sanitised).
        message: String,
    },
    /// A `version` this program does not know.
    #[error("line {line}: lockfile version {version} is not supported (cargofox reads versions 1 to 4)")]
    UnsupportedVersion {
        /// The value found.
        version: i64,
        /// Where.
        line: usize,
    },
    /// A `[metadata]` checksum entry whose key does not have cargo's shape.
    #[error("line {line}: [metadata] key {key} is not \"checksum <name> <version> (<source>)\"")]
    BadChecksumKey {
        /// The key (sanitised and quoted).
        key: String,
        /// Where.
        line: usize,
    },
    /// A `[metadata]` checksum entry whose value is not a string.
    #[error("line {line}: [metadata] checksum value is not a string")]
    BadChecksumValue {
        /// Where.
        line: usize,
    },
}

#[derive(Deserialize)]
struct RawLockfile {
    version: Option<Spanned<i64>>,
    #[serde(default)]
    package: Vec<Spanned<RawPackage>>,
    root: Option<Spanned<RawPackage>>,
    #[serde(default)]
    metadata: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

/// Parse a lockfile.
pub fn parse(bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LockfileError::NotUtf8 {
        line: line_of(bytes, e.valid_up_to()),
    })?;
    let raw: RawLockfile = toml::from_str(text).map_err(|e| LockfileError::Toml {
        line: e.span().map(|s| line_of(bytes, s.start)),
        message: sanitize(e.message()),
    })?;

    // v1 checksums, keyed by (name, version, source) as cargo writes them.
    let mut v1_sums: BTreeMap<(String, String, String), Option<String>> = BTreeMap::new();
    for (key, value) in &raw.metadata {
        let Some(rest) = key.get_ref().strip_prefix("checksum ") else {
            continue; // other metadata is not ours to judge
        };
        let line = line_of(bytes, key.span().start);
        let parsed = parse_checksum_key(rest).ok_or_else(|| LockfileError::BadChecksumKey {
            key: format!("\"{}\"", sanitize(key.get_ref())),
            line,
        })?;
        let toml::Value::String(sum) = value.get_ref() else {
            return Err(LockfileError::BadChecksumValue {
                line: line_of(bytes, value.span().start),
            });
        };
        let sum = (sum != "<none>").then(|| sum.clone());
        v1_sums.insert(parsed, sum);
    }

    let version = match &raw.version {
        Some(v) => match u32::try_from(*v.get_ref()) {
            Ok(n @ 1..=4) => n,
            _ => {
                return Err(LockfileError::UnsupportedVersion {
                    version: *v.get_ref(),
                    line: line_of(bytes, v.span().start),
                });
            }
        },
        None if raw.package.iter().any(|p| p.get_ref().checksum.is_some()) => 2,
        None => 1,
    };

    let mut packages = Vec::with_capacity(raw.package.len() + 1);
    for spanned in raw.root.into_iter().chain(raw.package) {
        let line = line_of(bytes, spanned.span().start);
        let p = spanned.into_inner();
        let mut checksum = p.checksum;
        if version == 1
            && checksum.is_none()
            && let Some(src) = &p.source
        {
            checksum = v1_sums
                .get(&(p.name.clone(), p.version.clone(), src.clone()))
                .cloned()
                .flatten();
        }
        packages.push(Package {
            source: p.source.as_deref().map_or(Source::Path, Source::parse),
            name: p.name,
            version: p.version,
            checksum,
            line,
        });
    }
    Ok(Lockfile { version, packages })
}

/// `<name> <version> (<source>)` -> its parts.
fn parse_checksum_key(rest: &str) -> Option<(String, String, String)> {
    let (name, rest) = rest.split_once(' ')?;
    let (version, rest) = rest.split_once(' ')?;
    let source = rest.strip_prefix('(')?.strip_suffix(')')?;
    if name.is_empty() || version.is_empty() || source.is_empty() {
        return None;
    }
    Some((name.to_owned(), version.to_owned(), source.to_owned()))
}

/// The 1-based line of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    let end = offset.min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Untrusted text made safe for a terminal and kept short: invisible and
/// bidirectional controls shown as `<U+XXXX>`, newlines and tabs as `\n` and
/// `\t`, and at most 200 characters.
pub fn sanitize(s: &str) -> String {
    const MAX: usize = 200;
    let (shown, _) = crate::report::escape::visible(s);
    let shown = shown.replace('\n', "\\n").replace('\t', "\\t");
    let count = shown.chars().count();
    if count <= MAX {
        shown
    } else {
        let cut: String = shown.chars().take(MAX).collect();
        format!("{cut}... ({} more characters)", count - MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM_A: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const SUM_B: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn pkg(name: &str, version: &str, source: Source, checksum: Option<&str>, line: usize) -> Package {
        Package {
            name: name.to_owned(),
            version: version.to_owned(),
            source,
            checksum: checksum.map(str::to_owned),
            line,
        }
    }

    #[test]
    fn v1_checksums_come_from_metadata() {
        let lock = format!(
            r#"[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "gitdep"
version = "0.3.0"
source = "git+https://example.com/gitdep#0123456789abcdef"

[metadata]
"checksum serde 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)" = "{SUM_A}"
"checksum gitdep 0.3.0 (git+https://example.com/gitdep#0123456789abcdef)" = "<none>"
"#
        );
        let parsed = parse(lock.as_bytes()).unwrap();
        assert_eq!(parsed.version, 1);
        assert_eq!(
            parsed.packages,
            vec![
                pkg("app", "0.1.0", Source::Path, None, 1),
                pkg("serde", "1.0.0", Source::CratesIo, Some(SUM_A), 8),
                pkg(
                    "gitdep",
                    "0.3.0",
                    Source::Git("https://example.com/gitdep#0123456789abcdef".to_owned()),
                    None,
                    13
                ),
            ]
        );
    }

    #[test]
    fn v1_root_table_is_a_package() {
        let lock = "[root]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n";
        let parsed = parse(lock.as_bytes()).unwrap();
        assert_eq!(parsed.version, 1);
        assert_eq!(parsed.packages[0], pkg("app", "0.1.0", Source::Path, None, 1));
        assert_eq!(parsed.packages[1].name, "a");
    }

    #[test]
    fn v2_has_inline_checksums_and_no_version() {
        let lock = format!(
            "[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"{CRATES_IO_GIT}\"\nchecksum = \"{SUM_A}\"\n"
        );
        let parsed = parse(lock.as_bytes()).unwrap();
        assert_eq!(parsed.version, 2);
        assert_eq!(
            parsed.packages,
            vec![pkg("serde", "1.0.0", Source::CratesIo, Some(SUM_A), 1)]
        );
    }

    #[test]
    fn v3_and_v4_say_their_version() {
        for v in [3, 4] {
            let lock = format!(
                "# This file is automatically @generated by Cargo.\nversion = {v}\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"{CRATES_IO_SPARSE}\"\nchecksum = \"{SUM_B}\"\n"
            );
            let parsed = parse(lock.as_bytes()).unwrap();
            assert_eq!(parsed.version, v);
            assert_eq!(
                parsed.packages,
                vec![pkg("serde", "1.0.0", Source::CratesIo, Some(SUM_B), 4)]
            );
        }
    }

    #[test]
    fn sources_are_classified() {
        assert_eq!(Source::parse(CRATES_IO_GIT), Source::CratesIo);
        assert_eq!(Source::parse(CRATES_IO_SPARSE), Source::CratesIo);
        assert_eq!(Source::parse("sparse+https://index.crates.io"), Source::CratesIo);
        assert_eq!(
            Source::parse("registry+https://my.example/index"),
            Source::Registry("https://my.example/index".to_owned())
        );
        assert_eq!(
            Source::parse("sparse+https://my.example/index/"),
            Source::Registry("sparse+https://my.example/index/".to_owned())
        );
        assert_eq!(
            Source::parse("git+https://example.com/x?branch=main#abc"),
            Source::Git("https://example.com/x?branch=main#abc".to_owned())
        );
        assert_eq!(Source::parse("path+file:///src/x"), Source::Path);
        assert_eq!(
            Source::parse("directory+file:///vendor"),
            Source::Other("directory+file:///vendor".to_owned())
        );
        // Near misses are other registries, not crates.io.
        assert_ne!(
            Source::parse("registry+https://github.com/rust-lang/crates.io-index.git"),
            Source::CratesIo
        );
        assert_ne!(Source::parse("sparse+http://index.crates.io/"), Source::CratesIo);
    }

    #[test]
    fn unsupported_versions_are_errors_with_their_line() {
        let err = parse(b"# header\nversion = 5\n").unwrap_err();
        assert_eq!(err, LockfileError::UnsupportedVersion { version: 5, line: 2 });
        assert!(err.to_string().starts_with("line 2: lockfile version 5"), "{err}");
        assert!(matches!(
            parse(b"version = -1\n"),
            Err(LockfileError::UnsupportedVersion { version: -1, line: 1 })
        ));
    }

    #[test]
    fn syntax_and_shape_errors_carry_a_line() {
        let err = parse(b"version = 3\n\n[[package]]\nname = \"a\"\nversion = \n").unwrap_err();
        assert!(matches!(err, LockfileError::Toml { line: Some(5), .. }), "{err:?}");
        let err = parse(b"version = 3\n\n[[package]]\nname = \"a\"\n").unwrap_err();
        assert!(matches!(err, LockfileError::Toml { line: Some(_), .. }), "{err:?}");
        assert!(err.to_string().contains("version"), "{err}");
        let err = parse(b"version = 3\n[[package]]\nname = 7\nversion = \"1\"\n").unwrap_err();
        assert!(matches!(err, LockfileError::Toml { line: Some(3), .. }), "{err:?}");
    }

    #[test]
    fn non_utf8_is_an_error_with_a_line() {
        assert_eq!(
            parse(b"version = 3\n# \xff\n").unwrap_err(),
            LockfileError::NotUtf8 { line: 2 }
        );
    }

    #[test]
    fn bad_metadata_checksum_keys_are_errors() {
        let err = parse(b"[metadata]\n\"checksum nonsense\" = \"x\"\n").unwrap_err();
        assert!(matches!(err, LockfileError::BadChecksumKey { line: 2, .. }), "{err:?}");
        let err = parse(b"[metadata]\n\"checksum a 1.0.0 (registry+x)\" = 1\n").unwrap_err();
        assert_eq!(err, LockfileError::BadChecksumValue { line: 2 });
        // Other metadata is ignored.
        assert!(parse(b"[metadata]\nsomething = 1\n").is_ok());
    }

    #[test]
    fn hostile_text_is_kept_as_data_and_sanitised_in_errors() {
        let lock = "version = 3\n[[package]]\nname = \"a\\u001b[31m\\nb\"\nversion = \"1.0.0\"\n";
        let parsed = parse(lock.as_bytes()).unwrap();
        assert_eq!(parsed.packages[0].name, "a\u{1b}[31m\nb");
        let err = parse(b"[metadata]\n\"checksum \\u001b\\u202e\" = \"x\"\n").unwrap_err();
        let shown = err.to_string();
        assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}'), "{shown:?}");
        assert!(shown.contains("<U+001B>") && shown.contains("<U+202E>"), "{shown}");
        assert_eq!(sanitize("a\nb\tc"), "a\\nb\\tc");
        assert!(sanitize(&"x".repeat(500)).ends_with("(300 more characters)"));
    }

    #[test]
    fn empty_lockfile_has_no_packages() {
        assert_eq!(
            parse(b"").unwrap(),
            Lockfile {
                version: 1,
                packages: vec![]
            }
        );
    }
}
