//! Ecosystem statistics (pure): counts over the per-release JSON reports of
//! the audit repository, for `STATS.md` and `stats.json`. Owns what is
//! counted and how; walking the repository and writing the files is
//! `commands::stats`.
//!
//! Every figure is recomputed from the reports each time (never kept as a
//! running count), so it can be checked by anyone with the JSON files and
//! `jq`. Fields are read through [`serde_json::Value`] (the provenance
//! section, the signals) or through small views that ignore everything else,
//! so the statistics do not depend on the report structs and a file is
//! scanned once without building its diffs in memory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the `stats.json` layout; bump on any change.
pub const STATS_VERSION: u32 = 1;

/// Provenance verdicts cargofox writes; anything else counts as `other`.
pub const VERDICTS: &[&str] = &["exact", "equivalent", "mismatch", "no-basis"];
/// The verdict of a release whose report has no provenance section.
pub const NOT_CHECKED: &str = "not-checked";

/// The file that `.cargo_vcs_info.json` is.
const VCS_INFO_FILE: &str = ".cargo_vcs_info.json";

/// Present / absent / unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tri {
    /// Known to be there.
    pub yes: u64,
    /// Known not to be there.
    pub no: u64,
    /// Not known from the report.
    pub unknown: u64,
}

/// The counts over one set of releases (all, or one year).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Releases (reports) counted.
    pub releases: u64,
    /// Yanked when their report was last written.
    pub yanked: u64,
    /// With `.cargo_vcs_info.json`: from `provenance.vcs_info`, else from
    /// the file list of `changes`.
    pub vcs_info: Tri,
    /// Of `vcs_info.yes` and `vcs_info.no`, how many were known only from the
    /// file list of `changes` (no provenance section).
    pub vcs_info_from_changes: u64,
    /// With a matched tag (`provenance.tag` an object): yes, no (null), unknown.
    pub tag: Tri,
    /// By `provenance.verdict` (every verdict listed, zeros included).
    pub verdict: BTreeMap<String, u64>,
    /// Releases carrying each signal code (a release counts once per code).
    pub signals: BTreeMap<String, u64>,
}

/// The whole statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// [`STATS_VERSION`].
    pub stats_version: u32,
    /// Crate directories with at least one report.
    pub crates: u64,
    /// JSON files under `crates/` that are not readable release reports
    /// (not counted anywhere else).
    pub unreadable: u64,
    /// Every release.
    pub total: Counts,
    /// By year of publication (`published`), `unknown` without one.
    pub by_year: BTreeMap<String, Counts>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            stats_version: STATS_VERSION,
            crates: 0,
            unreadable: 0,
            total: Counts::with_verdicts(),
            by_year: BTreeMap::new(),
        }
    }
}

impl Counts {
    /// Empty counts with every verdict listed (zeros are shown, not left out).
    fn with_verdicts() -> Self {
        let mut c = Counts::default();
        for v in VERDICTS.iter().chain([&NOT_CHECKED]) {
            c.verdict.insert((*v).to_owned(), 0);
        }
        c
    }

    fn add(&mut self, r: &Release) {
        self.releases += 1;
        self.yanked += u64::from(r.yanked);
        match r.vcs_info {
            Known::Yes => self.vcs_info.yes += 1,
            Known::No => self.vcs_info.no += 1,
            Known::Unknown => self.vcs_info.unknown += 1,
        }
        self.vcs_info_from_changes += u64::from(r.vcs_info_from_changes);
        match r.tag {
            Known::Yes => self.tag.yes += 1,
            Known::No => self.tag.no += 1,
            Known::Unknown => self.tag.unknown += 1,
        }
        *self.verdict.entry(r.verdict.clone()).or_default() += 1;
        for code in &r.signals {
            *self.signals.entry(code.clone()).or_default() += 1;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Yes,
    No,
    Unknown,
}

/// What the statistics take from one report.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Release {
    year: String,
    yanked: bool,
    vcs_info: Known,
    vcs_info_from_changes: bool,
    tag: Known,
    verdict: String,
    signals: Vec<String>,
}

/// The parts of a report the statistics read. Unknown keys (diffs, code
/// facts, manifest) are skipped by the parser without being built.
#[derive(Deserialize)]
struct View {
    schema_version: u64,
    #[serde(rename = "crate")]
    krate: String,
    version: String,
    #[serde(default)]
    published: Value,
    #[serde(default)]
    yanked: Value,
    #[serde(default)]
    signals: Value,
    #[serde(default)]
    changes: Option<ChangesView>,
    #[serde(default)]
    provenance: Value,
}

#[derive(Deserialize)]
struct ChangesView {
    #[serde(default)]
    files: Vec<FileView>,
}

#[derive(Deserialize)]
struct FileView {
    #[serde(default)]
    status: Value,
    #[serde(default)]
    old_path: Value,
    #[serde(default)]
    new_path: Value,
}

/// A signal code as cargofox writes them (lowercase ASCII, digits, `-`);
/// anything else is counted as `other`, so a hostile file cannot fill the
/// page with text.
fn clean_code(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { s.to_owned() } else { "other".to_owned() }
}

/// The year of an RFC 3339 `published` value, or `unknown`.
fn year_of(published: &Value) -> String {
    match published.as_str() {
        Some(s) if s.len() >= 5 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit) && s.as_bytes()[4] == b'-' => {
            s[..4].to_owned()
        }
        _ => "unknown".to_owned(),
    }
}

impl Release {
    fn from_view(v: View) -> Release {
        let prov = v.provenance.as_object();
        let known = |key: &str| match prov.and_then(|p| p.get(key)) {
            Some(Value::Object(_)) => Known::Yes,
            Some(Value::Null) => Known::No,
            _ => Known::Unknown,
        };
        let mut vcs_info = known("vcs_info");
        let mut vcs_info_from_changes = false;
        if vcs_info == Known::Unknown {
            // No provenance section: the file list of `changes` still tells
            // when `.cargo_vcs_info.json` was added, changed or removed.
            for f in v.changes.iter().flat_map(|c| &c.files) {
                let status = f.status.as_str().unwrap_or("");
                if f.new_path.as_str() == Some(VCS_INFO_FILE) && status != "removed" {
                    vcs_info = Known::Yes;
                } else if f.old_path.as_str() == Some(VCS_INFO_FILE) && status == "removed" {
                    vcs_info = Known::No;
                }
            }
            vcs_info_from_changes = vcs_info != Known::Unknown;
        }
        let verdict = match prov.and_then(|p| p.get("verdict")).and_then(Value::as_str) {
            Some(s) if VERDICTS.contains(&s) => s.to_owned(),
            Some(_) => "other".to_owned(),
            None => NOT_CHECKED.to_owned(),
        };
        let mut signals: Vec<String> = v
            .signals
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.get("code").and_then(Value::as_str))
                    .map(clean_code)
                    .collect()
            })
            .unwrap_or_default();
        signals.sort();
        signals.dedup();
        Release {
            year: year_of(&v.published),
            yanked: v.yanked.as_bool().unwrap_or(false),
            vcs_info,
            vcs_info_from_changes,
            tag: known("tag"),
            verdict,
            signals,
        }
    }
}

impl Stats {
    /// Count one release report (the bytes of a `<version>.json`). A file
    /// that is not a release report is counted as unreadable and returns
    /// false.
    pub fn add_report(&mut self, bytes: &[u8]) -> bool {
        let view: View = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(_) => {
                self.unreadable += 1;
                return false;
            }
        };
        if view.schema_version == 0 || view.krate.is_empty() || view.version.is_empty() {
            self.unreadable += 1;
            return false;
        }
        let r = Release::from_view(view);
        self.total.add(&r);
        self.by_year
            .entry(r.year.clone())
            .or_insert_with(Counts::with_verdicts)
            .add(&r);
        true
    }

    /// Count a crate directory that held at least one report.
    pub fn add_crate(&mut self) {
        self.crates += 1;
    }

    /// `stats.json`: pretty, keys in a fixed order, a final newline.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        Ok(json)
    }

    /// The template context of `STATS.md`: the same numbers with
    /// percentages worked out (one decimal, of the releases of the row).
    pub fn context(&self) -> minijinja::Value {
        // Every row has a column for each verdict seen anywhere.
        let verdict_names: Vec<String> = self.total.verdict.keys().cloned().collect();
        let row = |label: &str, c: &Counts| {
            let pct = |n: u64| percent(n, c.releases);
            let verdicts: Vec<minijinja::Value> = verdict_names
                .iter()
                .map(|k| {
                    let n = c.verdict.get(k).copied().unwrap_or(0);
                    minijinja::context! { verdict => k.as_str(), n => n, pct => pct(n) }
                })
                .collect();
            minijinja::context! {
                label => label,
                releases => c.releases,
                yanked => c.yanked,
                vcs_yes => c.vcs_info.yes, vcs_yes_pct => pct(c.vcs_info.yes),
                vcs_no => c.vcs_info.no, vcs_unknown => c.vcs_info.unknown,
                vcs_from_changes => c.vcs_info_from_changes,
                tag_yes => c.tag.yes, tag_yes_pct => pct(c.tag.yes),
                tag_no => c.tag.no, tag_unknown => c.tag.unknown,
                verdicts => verdicts,
            }
        };
        let years: Vec<String> = self.by_year.keys().cloned().collect();
        let mut rows = vec![row("all", &self.total)];
        rows.extend(self.by_year.iter().map(|(y, c)| row(y, c)));
        let signals: Vec<minijinja::Value> = self
            .total
            .signals
            .iter()
            .map(|(code, n)| {
                let per_year: Vec<u64> = self
                    .by_year
                    .values()
                    .map(|c| c.signals.get(code).copied().unwrap_or(0))
                    .collect();
                minijinja::context! { code => code, n => n, pct => percent(*n, self.total.releases), per_year => per_year }
            })
            .collect();
        minijinja::context! {
            crates => self.crates,
            unreadable => self.unreadable,
            releases => self.total.releases,
            rows => rows,
            years => years,
            verdict_names => verdict_names,
            signals => signals,
        }
    }
}

/// `n` as a percentage of `of`, one decimal (`-` when `of` is 0).
fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        return "-".to_owned();
    }
    // Integer arithmetic, rounded half up: no float formatting differences.
    let tenths = (n * 1000 + of / 2) / of;
    format!("{}.{}%", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(version: &str, published: Option<&str>, extra: Value) -> Vec<u8> {
        let mut v = json!({
            "schema_version": 1, "crate": "demo", "version": version, "published": published,
            "yanked": false, "facts": {"sha256": "00"}, "signals": [], "changes": null,
            "manifest": {}, "owners": null, "code": {},
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in e {
                o.insert(k.clone(), x.clone());
            }
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(2, 3), "66.7%");
        assert_eq!(percent(1, 8), "12.5%");
        assert_eq!(percent(0, 0), "-");
        assert_eq!(percent(5, 5), "100.0%");
    }

    #[test]
    fn counts_follow_the_fields() {
        let mut s = Stats::default();
        // Provenance recorded: vcs info and tag, exact.
        assert!(s.add_report(&report(
            "1.0.0",
            Some("2021-03-04T00:00:00Z"),
            json!({"provenance": {"verdict": "exact", "vcs_info": {"git": {"sha1": "ab"}}, "tag": {"name": "v1.0.0"}},
                   "signals": [{"code": "new-build-script"}, {"code": "new-build-script"}, {"code": "Bad Code!"}]}),
        )));
        // Provenance without vcs info or tag.
        assert!(s.add_report(&report(
            "1.1.0",
            Some("2022-01-01T00:00:00Z"),
            json!({"provenance": {"verdict": "no-basis", "vcs_info": null, "tag": null}, "yanked": true}),
        )));
        // No provenance: the file list tells about vcs info.
        assert!(s.add_report(&report(
            "1.2.0",
            Some("2022-06-01T00:00:00Z"),
            json!({"changes": {"files": [{"status": "modified", "old_path": ".cargo_vcs_info.json",
                    "new_path": ".cargo_vcs_info.json", "diff": {"full": "x"}}]}, "provenance": null}),
        )));
        // Nothing known; an unknown verdict; no date.
        assert!(s.add_report(&report("1.3.0", None, json!({"provenance": {"verdict": "weird"}}))));
        assert!(!s.add_report(b"{\"not\": \"a report\"}"));
        assert!(!s.add_report(b"not json"));
        assert_eq!(s.total.releases, 4);
        assert_eq!(s.unreadable, 2);
        assert_eq!(s.total.yanked, 1);
        assert_eq!(
            s.total.vcs_info,
            Tri {
                yes: 2,
                no: 1,
                unknown: 1
            }
        );
        assert_eq!(s.total.vcs_info_from_changes, 1);
        assert_eq!(
            s.total.tag,
            Tri {
                yes: 1,
                no: 1,
                unknown: 2
            }
        );
        assert_eq!(s.total.verdict["exact"], 1);
        assert_eq!(s.total.verdict["no-basis"], 1);
        assert_eq!(s.total.verdict["not-checked"], 1);
        assert_eq!(s.total.verdict["other"], 1);
        assert_eq!(s.total.verdict["mismatch"], 0);
        assert_eq!(s.total.signals.get("new-build-script"), Some(&1));
        assert_eq!(s.total.signals.get("other"), Some(&1));
        assert_eq!(s.by_year["2022"].releases, 2);
        assert_eq!(s.by_year["2021"].releases, 1);
        assert_eq!(s.by_year["unknown"].releases, 1);
    }
}
