//! The version commit message (pure): `<name> <version>`, a blank line, then
//! trailers in a fixed order (docs/STORE.md). Every value is either from the
//! validated index entry or computed by cargofox, and paths only appear in
//! printable-ASCII form, so crate content can never add lines.

use crate::archive::{Anomaly, Status};
use crate::types::{CrateName, Sha256, VersionStr};

/// The version of cargo's-view rules recorded in every commit.
pub const VIEW_VERSION: u32 = 1;

/// Facts about one version that go into its commit message.
#[derive(Debug, Clone)]
pub struct VersionFacts {
    /// Crate name.
    pub name: CrateName,
    /// Version.
    pub version: VersionStr,
    /// sha256 of the `.crate`.
    pub sha256: Sha256,
    /// Size of the `.crate`.
    pub crate_size: u64,
    /// How reading the archive ended.
    pub status: Status,
    /// Sum of file sizes in the tree.
    pub unpacked_size: u64,
    /// Files in the tree.
    pub file_count: usize,
    /// The extras tree, if any.
    pub extras: Option<String>,
    /// Anomalies.
    pub anomalies: Vec<Anomaly>,
    /// Escaped paths (printable form).
    pub escaped: Vec<String>,
}

fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Build the message.
pub fn commit_message(f: &VersionFacts) -> String {
    let mut m = format!("{} {}\n\n", f.name, f.version);
    m.push_str(&format!("Crate-Name: {}\n", f.name));
    m.push_str(&format!("Crate-Version: {}\n", f.version));
    m.push_str(&format!("Crate-Sha256: {}\n", f.sha256));
    m.push_str(&format!("Crate-Size: {}\n", f.crate_size));
    m.push_str(&format!("Cargofox-View: {VIEW_VERSION}\n"));
    m.push_str(&format!("Cargofox-Status: {}\n", f.status.as_str()));
    m.push_str(&format!("Unpacked-Size: {}\n", f.unpacked_size));
    m.push_str(&format!("File-Count: {}\n", f.file_count));
    if let Some(reason) = f.status.reason() {
        m.push_str(&format!("Cargofox-Error: {}\n", one_line(reason)));
    }
    if let Some(x) = &f.extras {
        m.push_str(&format!("Cargofox-Extras: {x}\n"));
    }
    for a in &f.anomalies {
        m.push_str(&format!("Cargofox-Anomaly: {} {}\n", a.code, one_line(&a.detail)));
    }
    for e in &f.escaped {
        m.push_str(&format!("Cargofox-Escaped: {}\n", one_line(e)));
    }
    m
}

/// The facts read back from a version commit's trailers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoredFacts {
    /// `Crate-Sha256`.
    pub sha256: String,
    /// `Crate-Size`.
    pub crate_size: u64,
    /// `Cargofox-View`.
    pub view: u32,
    /// `Cargofox-Status`.
    pub status: String,
    /// `Cargofox-Error`.
    pub error: Option<String>,
    /// `Unpacked-Size`.
    pub unpacked_size: u64,
    /// `File-Count`.
    pub file_count: u64,
    /// `Cargofox-Extras`.
    pub extras: Option<String>,
    /// `Cargofox-Anomaly` lines as (code, detail).
    pub anomalies: Vec<StoredAnomaly>,
    /// `Cargofox-Escaped` paths.
    pub escaped: Vec<String>,
}

/// One anomaly read back from a commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredAnomaly {
    /// Stable code.
    pub code: String,
    /// Printable details.
    pub detail: String,
}

/// Read the trailers of a version commit message (unknown keys ignored).
pub fn parse_commit_message(msg: &str) -> StoredFacts {
    let mut f = StoredFacts::default();
    for line in msg.lines() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        match key {
            "Crate-Sha256" => f.sha256 = value.to_owned(),
            "Crate-Size" => f.crate_size = value.parse().unwrap_or(0),
            "Cargofox-View" => f.view = value.parse().unwrap_or(0),
            "Cargofox-Status" => f.status = value.to_owned(),
            "Cargofox-Error" => f.error = Some(value.to_owned()),
            "Unpacked-Size" => f.unpacked_size = value.parse().unwrap_or(0),
            "File-Count" => f.file_count = value.parse().unwrap_or(0),
            "Cargofox-Extras" => f.extras = Some(value.to_owned()),
            "Cargofox-Anomaly" => {
                let (code, detail) = value.split_once(' ').unwrap_or((value, ""));
                f.anomalies.push(StoredAnomaly {
                    code: code.to_owned(),
                    detail: detail.to_owned(),
                });
            }
            "Cargofox-Escaped" => f.escaped.push(value.to_owned()),
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        let f = VersionFacts {
            name: CrateName::new("foo").unwrap(),
            version: VersionStr::new("1.0.0").unwrap(),
            sha256: Sha256::of(b""),
            crate_size: 10,
            status: Status::Corrupt("bad\ngzip".into()),
            unpacked_size: 0,
            file_count: 0,
            extras: None,
            anomalies: vec![Anomaly {
                code: "dotdot-path",
                detail: "a/../b".into(),
            }],
            escaped: vec!["%2Egit/x".into()],
        };
        let m = commit_message(&f);
        assert!(m.starts_with("foo 1.0.0\n\nCrate-Name: foo\n"));
        assert!(m.contains("Cargofox-Error: bad gzip\n"));
        assert!(m.contains("Cargofox-Anomaly: dotdot-path a/../b\n"));
        assert!(m.ends_with("Cargofox-Escaped: %2Egit/x\n"));
        assert_eq!(m.lines().filter(|l| l.is_empty()).count(), 1);
        let back = parse_commit_message(&m);
        assert_eq!(back.status, "corrupt");
        assert_eq!(back.error.as_deref(), Some("bad gzip"));
        assert_eq!(back.crate_size, 10);
        assert_eq!(back.anomalies[0].code, "dotdot-path");
        assert_eq!(back.escaped, vec!["%2Egit/x".to_owned()]);
    }
}
