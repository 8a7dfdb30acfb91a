//! What a release claims about where it came from: `.cargo_vcs_info.json`
//! (the commit, whether the work tree was dirty, the package's directory in
//! the repository) and the tag names a release of this version is commonly
//! given. Everything here is an unverified claim by the publisher. Pure.

use serde::Serialize;

/// The parsed `.cargo_vcs_info.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VcsClaim {
    /// `git.sha1`, when it is 40 hex digits (lowercased).
    pub sha1: Option<String>,
    /// `git.dirty`.
    pub dirty: bool,
    /// `path_in_vcs` as written (untrusted).
    pub path_in_vcs: Option<String>,
    /// `path_in_vcs` when it is safe to follow: relative, no `.`/`..`
    /// segments, no backslashes; `""` for the repository root.
    pub safe_path: Option<String>,
    /// Why the file or a field was not usable, if so.
    pub problem: Option<String>,
}

/// Parse `.cargo_vcs_info.json`. Never fails: what cannot be used is said in
/// [`VcsClaim::problem`].
pub fn parse_vcs_info(bytes: &[u8]) -> VcsClaim {
    let mut claim = VcsClaim::default();
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            claim.problem = Some(format!("not valid JSON: {e}"));
            return claim;
        }
    };
    let git = value.get("git");
    match git.and_then(|g| g.get("sha1")).and_then(|s| s.as_str()) {
        Some(s) if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            claim.sha1 = Some(s.to_ascii_lowercase());
        }
        Some(_) => claim.problem = Some("git.sha1 is not a 40-digit hex commit id".to_owned()),
        None => claim.problem = Some("no git.sha1".to_owned()),
    }
    claim.dirty = git
        .and_then(|g| g.get("dirty"))
        .and_then(|d| d.as_bool())
        .unwrap_or(false);
    if let Some(p) = value.get("path_in_vcs") {
        match p.as_str() {
            Some(p) => {
                claim.path_in_vcs = Some(p.to_owned());
                match safe_relative(p) {
                    Some(safe) => claim.safe_path = Some(safe),
                    None => {
                        claim.problem = Some("path_in_vcs leaves the repository or is not a plain path".to_owned());
                    }
                }
            }
            None => claim.problem = Some("path_in_vcs is not a string".to_owned()),
        }
    }
    claim
}

/// A relative path with only normal components, `/`-joined; `None` for
/// anything absolute, with `.`/`..`, backslashes or control characters.
pub fn safe_relative(p: &str) -> Option<String> {
    if p.starts_with('/') || p.contains('\\') || p.chars().any(char::is_control) {
        return None;
    }
    let comps: Vec<&str> = p.split('/').filter(|c| !c.is_empty()).collect();
    if comps.iter().any(|c| *c == "." || *c == ".." || c.contains(':')) {
        return None;
    }
    Some(comps.join("/"))
}

/// Tag names to look for, most specific first. Build metadata is stripped
/// (tags rarely carry it). `name` is the crate name.
pub fn tag_candidates(name: &str, version: &str) -> Vec<String> {
    let v = version.split('+').next().unwrap_or(version);
    let mut out = vec![
        format!("{name}-v{v}"),
        format!("{name}-{v}"),
        format!("{name}/v{v}"),
        format!("{name}/{v}"),
        format!("{name}@{v}"),
        format!("{name}@v{v}"),
        format!("{name}_v{v}"),
        format!("{name}_{v}"),
        format!("{name}-v.{v}"),
        format!("v{v}"),
        v.to_owned(),
        format!("release-{v}"),
        format!("release/{v}"),
        format!("release/v{v}"),
        format!("version-{v}"),
        format!("rel-{v}"),
    ];
    // Tags spelled with dashes where the crate name has underscores.
    let dashed = name.replace('_', "-");
    if dashed != name {
        out.extend(tag_candidates(&dashed, version).into_iter().take(9));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_vcs_info() {
        let c = parse_vcs_info(
            br#"{"git":{"sha1":"0123456789ABCDEF0123456789abcdef01234567","dirty":true},"path_in_vcs":"crates/foo"}"#,
        );
        assert_eq!(c.sha1.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
        assert!(c.dirty);
        assert_eq!(c.safe_path.as_deref(), Some("crates/foo"));
        assert_eq!(c.problem, None);
        let root = parse_vcs_info(br#"{"git":{"sha1":"0123456789abcdef0123456789abcdef01234567"},"path_in_vcs":""}"#);
        assert_eq!(root.safe_path.as_deref(), Some(""));
        assert!(!root.dirty);
        let old = parse_vcs_info(br#"{"git":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}"#);
        assert_eq!(old.path_in_vcs, None);
        assert_eq!(old.safe_path, None);
    }

    #[test]
    fn hostile_claims_are_not_followed() {
        for p in ["../..", "/etc", "a/../../b", "C:/x", "a\\b", "./a"] {
            let json = format!(
                r#"{{"git":{{"sha1":"0123456789abcdef0123456789abcdef01234567"}},"path_in_vcs":"{}"}}"#,
                p.replace('\\', "\\\\")
            );
            let c = parse_vcs_info(json.as_bytes());
            assert_eq!(c.safe_path, None, "{p}");
            assert!(c.problem.is_some(), "{p}");
            assert_eq!(c.path_in_vcs.as_deref(), Some(p));
        }
        assert!(parse_vcs_info(b"{nope").problem.is_some());
        assert_eq!(parse_vcs_info(br#"{"git":{"sha1":"HEAD"}}"#).sha1, None);
    }

    #[test]
    fn tag_patterns() {
        let t = tag_candidates("my_crate", "1.2.3+build.5");
        for want in [
            "v1.2.3",
            "1.2.3",
            "my_crate-v1.2.3",
            "my_crate/v1.2.3",
            "my_crate@1.2.3",
            "my-crate-v1.2.3",
        ] {
            assert!(t.contains(&want.to_owned()), "{want} in {t:?}");
        }
        assert!(t.iter().all(|x| !x.contains('+')));
        let pos = |s: &str| t.iter().position(|x| x == s);
        assert!(pos("my_crate-v1.2.3") < pos("v1.2.3"), "crate-specific tags first");
    }
}
