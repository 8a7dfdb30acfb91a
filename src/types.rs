//! Validated value types shared by every stage: crate names, versions as the
//! index spells them, and sha256 digests. Raw strings from the registry are
//! turned into these once, at the edge, so the rest of the program can rely on
//! their grammar (for example when they go into ref names or commit messages).

use std::fmt;

/// A crate name that satisfies the crates.io grammar: ASCII letters, digits,
/// `-` and `_`, starting with a letter, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrateName(String);

/// Why a string is not a crate name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid crate name {0:?}: expected 1-64 ASCII letters, digits, '-' or '_', starting with a letter")]
pub struct InvalidCrateName(pub String);

impl CrateName {
    /// Validate `s` against the crate-name grammar.
    pub fn new(s: &str) -> Result<Self, InvalidCrateName> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.as_bytes()[0].is_ascii_alphabetic()
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(CrateName(s.to_owned()))
        } else {
            Err(InvalidCrateName(s.to_owned()))
        }
    }

    /// The name as published.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CrateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A version string exactly as the index spells it. It is usually semver, but
/// old index lines are not always; `semver()` gives the parsed form when there
/// is one. The string is limited to printable ASCII without spaces so that it
/// can appear in commit messages and reports without escaping surprises.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionStr(String);

/// Why a string is not acceptable as a version.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid version string {0:?}: expected 1-128 printable ASCII characters without spaces")]
pub struct InvalidVersion(pub String);

impl VersionStr {
    /// Validate `s`: printable ASCII, no whitespace, at most 128 bytes.
    pub fn new(s: &str) -> Result<Self, InvalidVersion> {
        let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(VersionStr(s.to_owned()))
        } else {
            Err(InvalidVersion(s.to_owned()))
        }
    }

    /// The version as the index spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parsed semver version, if the string is valid semver.
    pub fn semver(&self) -> Option<semver::Version> {
        semver::Version::parse(&self.0).ok()
    }

    /// The ref-name component for this version: characters outside
    /// `[A-Za-z0-9.+_-]` and dots git refuses (leading, doubled, trailing) are
    /// written as `%XX`, so every version string has exactly one ref name and
    /// the mapping can be reversed.
    pub fn ref_component(&self) -> String {
        let bytes = self.0.as_bytes();
        let mut out = String::with_capacity(bytes.len());
        for (i, &b) in bytes.iter().enumerate() {
            let safe = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'_' | b'-');
            let dot_ok = b == b'.'
                && i > 0
                && i + 1 < bytes.len()
                && bytes[i - 1] != b'.'
                && !self.0[i..].eq_ignore_ascii_case(".lock");
            if safe || dot_ok {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
}

impl fmt::Display for VersionStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sha256 digest, kept as 32 bytes and shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256(pub [u8; 32]);

/// Why a string is not a sha256 hex digest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid sha256 {0:?}: expected 64 hex digits")]
pub struct InvalidSha256(pub String);

impl Sha256 {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Sha256(sha2::Sha256::digest(bytes).into())
    }

    /// Parse 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, InvalidSha256> {
        let err = || InvalidSha256(s.to_owned());
        if s.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hi = hex_val(chunk[0]).ok_or_else(err)?;
            let lo = hex_val(chunk[1]).ok_or_else(err)?;
            out[i] = hi << 4 | lo;
        }
        Ok(Sha256(out))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names() {
        assert!(CrateName::new("serde_json").is_ok());
        assert!(CrateName::new("a-b").is_ok());
        assert!(CrateName::new("1abc").is_err());
        assert!(CrateName::new("").is_err());
        assert!(CrateName::new("a/b").is_err());
        assert!(CrateName::new(&"a".repeat(65)).is_err());
    }

    #[test]
    fn version_ref_components() {
        let v = |s: &str| VersionStr::new(s).unwrap().ref_component();
        assert_eq!(v("1.0.0"), "1.0.0");
        assert_eq!(v("1.0.0+build.5"), "1.0.0+build.5");
        assert_eq!(v("1.0.0-Alpha"), "1.0.0-Alpha");
        assert_eq!(v("1..0"), "1.%2E0");
        assert_eq!(v(".1"), "%2E1");
        assert_eq!(v("1."), "1%2E");
        assert_eq!(v("1~2"), "1%7E2");
        assert_eq!(v("1.lock"), "1%2Elock");
        assert!(VersionStr::new("1 0").is_err());
    }

    #[test]
    fn sha256_roundtrip() {
        let d = Sha256::of(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::from_hex(&d.to_hex()).unwrap(), d);
        assert!(Sha256::from_hex("zz").is_err());
    }
}
