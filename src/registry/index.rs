//! Pure parsing of sparse-index data: index file paths as cargo computes them,
//! `config.json`, the `dl` template, and index lines. No I/O here.
//!
//! Index lines are parsed as JSON (the crates.io mirror re-serialises them, so
//! their bytes are never compared) and tolerate unknown fields. A line that is
//! not usable becomes an [`IndexLine::Skipped`] with the reason, never an error
//! for the whole file.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::types::{CrateName, Sha256, VersionStr};

/// The highest index format version (`v`) this program understands.
pub const MAX_INDEX_FORMAT: u32 = 2;

/// The path of a crate's index file relative to the index root, as cargo
/// computes it: `1/a`, `2/ab`, `3/a/abc`, `se/rd/serde` (lowercased).
pub fn index_path(name: &CrateName) -> String {
    let n = name.as_str().to_ascii_lowercase();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

/// The registry's `config.json`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Download URL template.
    pub dl: String,
    /// Web API base URL, when the registry has one.
    #[serde(default)]
    pub api: Option<String>,
}

/// Why `config.json` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON of the expected shape.
    #[error("config.json is not valid: {0}")]
    Json(#[from] serde_json::Error),
}

impl RegistryConfig {
    /// Parse `config.json` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ConfigError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// The download URL of one version, from the `dl` template with cargo's
    /// markers (`{crate}`, `{version}`, `{prefix}`, `{lowerprefix}`,
    /// `{sha256-checksum}`); a template without markers gets
    /// `/{crate}/{version}/download` appended, as cargo does.
    pub fn download_url(&self, name: &CrateName, version: &VersionStr, cksum: &Sha256) -> String {
        const MARKERS: [&str; 5] = ["{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"];
        let mut template = self.dl.clone();
        if !MARKERS.iter().any(|m| template.contains(m)) {
            if !template.ends_with('/') {
                template.push('/');
            }
            template.push_str("{crate}/{version}/download");
        }
        let prefix = prefix_of(name.as_str());
        template
            .replace("{crate}", name.as_str())
            .replace("{version}", version.as_str())
            .replace("{prefix}", &prefix)
            .replace("{lowerprefix}", &prefix.to_ascii_lowercase())
            .replace("{sha256-checksum}", &cksum.to_hex())
    }
}

/// The `{prefix}` marker: the index directory of the name, without the name.
fn prefix_of(name: &str) -> String {
    match name.len() {
        1 => "1".to_owned(),
        2 => "2".to_owned(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    }
}

/// One dependency as listed in the index.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, serde::Serialize)]
pub struct IndexDep {
    /// Name used in the manifest (the rename, when `package` is set).
    pub name: String,
    /// Version requirement.
    pub req: String,
    /// Enabled features.
    #[serde(default)]
    pub features: Vec<String>,
    /// Optional dependency.
    #[serde(default)]
    pub optional: bool,
    /// Whether default features are on.
    #[serde(default = "default_true")]
    pub default_features: bool,
    /// Target cfg, if any.
    #[serde(default)]
    pub target: Option<String>,
    /// `normal`, `dev` or `build`; absent means normal.
    #[serde(default)]
    pub kind: Option<String>,
    /// Registry of the dependency, when not the same registry.
    #[serde(default)]
    pub registry: Option<String>,
    /// The real package name when renamed.
    #[serde(default)]
    pub package: Option<String>,
}

fn default_true() -> bool {
    true
}

/// A usable index line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Crate name as the line spells it.
    pub name: CrateName,
    /// Version as the line spells it.
    pub vers: VersionStr,
    /// The `.crate` sha256.
    pub cksum: Sha256,
    /// Yanked flag.
    pub yanked: bool,
    /// Publication time as seconds since the epoch (`pubtime`), when present.
    pub pubtime: Option<i64>,
    /// The `pubtime` string exactly as given, when present and valid.
    pub pubtime_text: Option<String>,
    /// Dependencies.
    pub deps: Vec<IndexDep>,
    /// `features` and `features2` merged.
    pub features: BTreeMap<String, Vec<String>>,
    /// The `links` value.
    pub links: Option<String>,
    /// `rust_version`.
    pub rust_version: Option<String>,
    /// Index format version (`v`, default 1).
    pub v: u32,
}

/// A line of an index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLine {
    /// A usable entry.
    Entry(Box<IndexEntry>),
    /// A line that cannot be used, with why. The version string is kept when
    /// it could be read, so the skip can be reported against it.
    Skipped {
        /// The `vers` field if readable.
        vers: Option<String>,
        /// Why the line was skipped.
        reason: String,
    },
}

#[derive(Deserialize)]
struct RawLine {
    name: String,
    vers: String,
    #[serde(default)]
    deps: Vec<IndexDep>,
    cksum: String,
    #[serde(default)]
    features: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    features2: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    yanked: bool,
    #[serde(default)]
    links: Option<String>,
    #[serde(default)]
    v: Option<u32>,
    #[serde(default)]
    pubtime: Option<String>,
    #[serde(default)]
    rust_version: Option<String>,
}

/// Parse one line. `expected` is the crate the file belongs to: a line naming
/// another crate (other than by ASCII case) is skipped.
pub fn parse_line(line: &[u8], expected: &CrateName) -> IndexLine {
    let raw: RawLine = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => {
            let vers = serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("vers").and_then(|v| v.as_str()).map(str::to_owned));
            return IndexLine::Skipped {
                vers,
                reason: format!("not a valid index line: {e}"),
            };
        }
    };
    let skip = |reason: String| IndexLine::Skipped {
        vers: Some(raw.vers.clone()),
        reason,
    };
    let v = raw.v.unwrap_or(1);
    if v > MAX_INDEX_FORMAT {
        return skip(format!(
            "index format v{v} is newer than this cargofox understands (v{MAX_INDEX_FORMAT})"
        ));
    }
    let name = match CrateName::new(&raw.name) {
        Ok(n) if n.as_str().eq_ignore_ascii_case(expected.as_str()) => n,
        Ok(n) => return skip(format!("line names crate {n}, expected {expected}")),
        Err(e) => return skip(e.to_string()),
    };
    let vers = match VersionStr::new(&raw.vers) {
        Ok(v) => v,
        Err(e) => return skip(e.to_string()),
    };
    let cksum = match Sha256::from_hex(&raw.cksum) {
        Ok(c) => c,
        Err(e) => return skip(e.to_string()),
    };
    let (pubtime, pubtime_text) = match raw.pubtime.as_deref().map(parse_rfc3339_utc) {
        Some(Some(t)) => (Some(t), raw.pubtime.clone()),
        _ => (None, None),
    };
    let mut features = raw.features;
    if let Some(f2) = raw.features2 {
        features.extend(f2);
    }
    IndexLine::Entry(Box::new(IndexEntry {
        name,
        vers,
        cksum,
        yanked: raw.yanked,
        pubtime,
        pubtime_text,
        deps: raw.deps,
        features,
        links: raw.links,
        rust_version: raw.rust_version,
        v,
    }))
}

/// Parse a whole index file: one JSON object per non-empty line.
pub fn parse_file(bytes: &[u8], expected: &CrateName) -> Vec<IndexLine> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|l| parse_line(l, expected))
        .collect()
}

/// Parse `YYYY-MM-DDTHH:MM:SS[.frac]Z` (what the index uses) into seconds
/// since the epoch. Anything else is `None`: an unusual timestamp falls back to
/// time 0 rather than being guessed at.
pub fn parse_rfc3339_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &s[19..];
    let rest = match rest.strip_prefix('.') {
        Some(frac) => frac.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    if rest != "Z" || !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> CrateName {
        CrateName::new(s).unwrap()
    }

    #[test]
    fn index_paths() {
        assert_eq!(index_path(&name("a")), "1/a");
        assert_eq!(index_path(&name("ab")), "2/ab");
        assert_eq!(index_path(&name("abc")), "3/a/abc");
        assert_eq!(index_path(&name("Serde")), "se/rd/serde");
    }

    #[test]
    fn download_urls() {
        let n = name("Serde");
        let v = VersionStr::new("1.0.0").unwrap();
        let c = Sha256::of(b"x");
        let cfg = |dl: &str| RegistryConfig {
            dl: dl.to_owned(),
            api: None,
        };
        assert_eq!(
            cfg("https://static.example/crates").download_url(&n, &v, &c),
            "https://static.example/crates/Serde/1.0.0/download"
        );
        assert_eq!(
            cfg("https://x/{lowerprefix}/{crate}-{version}.crate?{sha256-checksum}").download_url(&n, &v, &c),
            format!("https://x/se/rd/Serde-1.0.0.crate?{}", c.to_hex())
        );
        assert_eq!(
            cfg("https://x/{prefix}/{crate}").download_url(&n, &v, &c),
            "https://x/Se/rd/Serde"
        );
    }

    #[test]
    fn lines_tolerate_unknown_fields_and_formats() {
        let n = name("foo");
        let ck = "a".repeat(64);
        let line = format!(
            r#"{{"name":"foo","vers":"1.0.0","deps":[],"cksum":"{ck}","features":{{}},"yanked":false,"new_field":[1,2],"pubtime":"2024-01-02T03:04:05Z"}}"#
        );
        let IndexLine::Entry(e) = parse_line(line.as_bytes(), &n) else {
            panic!("expected entry")
        };
        assert_eq!(e.pubtime, Some(1_704_164_645));
        let v3 = format!(r#"{{"name":"foo","vers":"2.0.0","cksum":"{ck}","v":3}}"#);
        assert!(matches!(parse_line(v3.as_bytes(), &n), IndexLine::Skipped { vers: Some(v), .. } if v == "2.0.0"));
        assert!(matches!(
            parse_line(b"{not json", &n),
            IndexLine::Skipped { vers: None, .. }
        ));
        let odd = format!(r#"{{"name":"foo","vers":"0.1","cksum":"{ck}"}}"#);
        assert!(matches!(parse_line(odd.as_bytes(), &n), IndexLine::Entry(e) if e.vers.semver().is_none()));
        let other = format!(r#"{{"name":"bar","vers":"0.1.0","cksum":"{ck}"}}"#);
        assert!(matches!(parse_line(other.as_bytes(), &n), IndexLine::Skipped { .. }));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_utc("2019-10-05T19:52:26Z"), Some(1_570_305_146));
        assert_eq!(parse_rfc3339_utc("2019-10-05T19:52:26.123Z"), Some(1_570_305_146));
        assert_eq!(parse_rfc3339_utc("2019-10-05 19:52:26"), None);
        assert_eq!(parse_rfc3339_utc("2019-10-05T19:52:26+01:00"), None);
    }
}
