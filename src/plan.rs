//! The parent rule (pure): which earlier release a version's commit descends
//! from. See docs/STORE.md. Given the usable versions of a crate in index-line
//! order, the parent of version *i* is the highest version lower than it in
//! semver order among lines before *i*; else the line just before *i*; else
//! none. Versions that are not semver only take part in the fallback.

use std::collections::BTreeMap;

use crate::types::VersionStr;

/// For each version (in index order) the position of its parent, if any.
pub fn parents(versions: &[&VersionStr]) -> Vec<Option<usize>> {
    let mut seen: BTreeMap<semver::Version, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(versions.len());
    for (i, v) in versions.iter().enumerate() {
        let parsed = v.semver();
        let lower = parsed
            .as_ref()
            .and_then(|p| seen.range(..p).next_back().map(|(_, &j)| j));
        out.push(lower.or_else(|| i.checked_sub(1)));
        if let Some(p) = parsed {
            // A repeated version string: the later line wins.
            seen.insert(p, i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vs: &[&str]) -> Vec<Option<usize>> {
        let owned: Vec<VersionStr> = vs.iter().map(|s| VersionStr::new(s).unwrap()).collect();
        let refs: Vec<&VersionStr> = owned.iter().collect();
        parents(&refs)
    }

    #[test]
    fn linear() {
        assert_eq!(run(&["0.1.0", "0.2.0", "1.0.0"]), vec![None, Some(0), Some(1)]);
    }

    #[test]
    fn backport_descends_from_highest_lower() {
        // 1.0.1 published after 2.0.0 descends from 1.0.0, not from 2.0.0.
        assert_eq!(run(&["1.0.0", "2.0.0", "1.0.1"]), vec![None, Some(0), Some(0)]);
    }

    #[test]
    fn lower_published_later_with_no_lower_uses_previous_line() {
        // 0.9.0 published after 1.0.0 has no lower version earlier: previous line.
        assert_eq!(run(&["1.0.0", "0.9.0"]), vec![None, Some(0)]);
    }

    #[test]
    fn prereleases_and_build_metadata() {
        assert_eq!(
            run(&["1.0.0-alpha", "1.0.0-beta", "1.0.0", "1.0.0+b", "1.0.0+a"]),
            // 1.0.0+a sorts between 1.0.0 and 1.0.0+b in semver's total order.
            vec![None, Some(0), Some(1), Some(2), Some(2)]
        );
    }

    #[test]
    fn non_semver_uses_fallback() {
        assert_eq!(run(&["0.1", "0.2.0", "0.3"]), vec![None, Some(0), Some(1)]);
    }
}
