//! Where things live in the audit repository (pure): `crates/<ix>/<name>/`,
//! and version file names that stay distinct on case-insensitive file
//! systems (`1.0.0-Alpha` and `1.0.0-alpha` must not collide).

use crate::registry::index::index_path;
use crate::types::{CrateName, VersionStr};

/// `crates/<ix>/<name>` (the index directory of the name, then the name).
pub fn crate_dir(name: &CrateName) -> String {
    format!("crates/{}", index_path(name))
}

/// The file stem of a version: lowercase letters, digits, `.`, `+` and `-`
/// as they are; an uppercase letter `X` as `_x`; `_` as `__`; anything else
/// as `%XX`. Injective, and no two stems differ only by case.
pub fn version_stem(v: &VersionStr) -> String {
    let mut out = String::with_capacity(v.as_str().len() + 4);
    for b in v.as_str().bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'.' | b'+' | b'-' => out.push(b as char),
            b'A'..=b'Z' => {
                out.push('_');
                out.push(b.to_ascii_lowercase() as char);
            }
            b'_' => out.push_str("__"),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "%2E");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_case_safe() {
        let s = |v: &str| version_stem(&VersionStr::new(v).unwrap());
        assert_eq!(s("1.0.0"), "1.0.0");
        assert_eq!(s("1.0.0+build.1"), "1.0.0+build.1");
        assert_eq!(s("1.0.0-Alpha"), "1.0.0-_alpha");
        assert_ne!(s("1.0.0-Alpha").to_lowercase(), s("1.0.0-alpha").to_lowercase());
        assert_eq!(s("1_0"), "1__0");
        assert_ne!(s("1_a"), s("1A"));
        assert_eq!(s("1/2"), "1%2F2");
        assert_eq!(crate_dir(&CrateName::new("serde").unwrap()), "crates/se/rd/serde");
    }
}
