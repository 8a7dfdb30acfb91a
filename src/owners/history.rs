//! The owner history of one crate, as stored in
//! `crates/<ix>/<name>/owners.json` (pure: no I/O). docs/OWNERS.md describes
//! the file.
//!
//! The file only grows. [`observe`] records an observation of the owner set
//! and returns the changes since the previous observation of each kind:
//!
//! - consecutive observations with the same owners are kept as one entry
//!   (first and last time, count, sources), so the file grows with changes,
//!   not with runs;
//! - a kind that was not observed (its fetch failed) is stored as `null` and
//!   compared with nothing: a failed or partial fetch never yields a removal;
//!   a complete failure is not recorded at all;
//! - an observation older than the newest recorded one (an old dump read
//!   again) is ignored, and reading the same observation twice changes
//!   nothing.
//!
//! Changes are dated by the two observations around them. The dump also says
//! when the registry created each ownership (`since`); [`OwnersFile::events`]
//! uses that exact date when it has it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Observation, Owner, OwnerKind, Source, VersionRecord, time};
use crate::types::CrateName;

/// The `schema_version` this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The file's name in the crate's directory of the audit repository.
pub const FILE_NAME: &str = "owners.json";

/// The content of `owners.json`. Field order is the JSON key order; lists are
/// in time order and maps are sorted, so the file diffs stably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnersFile {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The crate.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Runs of identical observations, oldest first.
    pub observations: Vec<ObservedSet>,
    /// Every change between two observations, oldest first.
    pub changes: Vec<Change>,
    /// Per version: who published it and how.
    pub versions: BTreeMap<String, VersionRecord>,
}

/// One or more consecutive observations that saw the same owners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedSet {
    /// The first observation of this run.
    #[serde(with = "time::required")]
    pub first_observed_at: i64,
    /// The last observation of this run.
    #[serde(with = "time::required")]
    pub last_observed_at: i64,
    /// How many observations the run holds.
    pub count: u64,
    /// The sources of those observations.
    pub sources: BTreeSet<Source>,
    /// User owners by id; `null` when they could not be read.
    pub users: Option<Vec<Owner>>,
    /// Team owners by id; `null` when they could not be read.
    pub teams: Option<Vec<Owner>>,
}

/// Added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The owner appeared.
    Added,
    /// The owner disappeared.
    Removed,
}

impl ChangeKind {
    /// `added` or `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
        }
    }
}

/// A difference between two observations of the same kind of owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Added or removed.
    pub change: ChangeKind,
    /// The owner (as last seen, for a removal).
    pub owner: Owner,
    /// The observation that showed the new state.
    #[serde(with = "time::required")]
    pub observed_at: i64,
    /// The last observation that showed the old state: the change happened
    /// after it and no later than `observed_at`.
    #[serde(with = "time::required")]
    pub previous_observed_at: i64,
    /// The source of `observed_at`.
    pub source: Source,
}

/// An owner change on the timeline, with what is known of its date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerEvent {
    /// Added or removed.
    pub change: ChangeKind,
    /// The owner.
    pub owner: Owner,
    /// The change happened strictly after this time (`None`: no bound).
    pub after: Option<i64>,
    /// ... and no later than this one.
    pub by: i64,
    /// The registry dated it exactly (`crate_owners.created_at`): then it
    /// happened at `by`.
    pub exact: bool,
    /// Where the date comes from.
    pub source: Source,
}

impl OwnerEvent {
    /// Could the change have happened in `(after, until]`?
    pub fn may_lie_in(&self, after: Option<i64>, until: i64) -> bool {
        if self.exact {
            return after.is_none_or(|a| self.by > a) && self.by <= until;
        }
        let low = match (self.after, after) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let high = self.by.min(until);
        low.is_none_or(|l| l < high)
    }

    /// `on 2024-01-02T03:04:05Z (registry)` or `between A and B (observed)`.
    pub fn describe_time(&self) -> String {
        let by = crate::output::format_utc(self.by);
        match (self.exact, self.after) {
            (true, _) => format!("at {by} (the registry's date)"),
            (false, Some(a)) => format!("after {} and by {by} (observations)", crate::output::format_utc(a)),
            (false, None) => format!("by {by} (observations)"),
        }
    }
}

/// Why an `owners.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Not valid JSON of this shape.
    #[error("owners.json: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by a newer cargofox.
    #[error("owners.json has schema_version {found}; this cargofox reads up to {supported}")]
    Schema {
        /// The file's version.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
}

impl OwnersFile {
    /// An empty history for `name`.
    pub fn new(name: &CrateName) -> Self {
        OwnersFile {
            schema_version: SCHEMA_VERSION,
            krate: name.as_str().to_owned(),
            observations: Vec::new(),
            changes: Vec::new(),
            versions: BTreeMap::new(),
        }
    }

    /// Parse an `owners.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, HistoryError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let v: Version = serde_json::from_slice(bytes)?;
        if v.schema_version > SCHEMA_VERSION {
            return Err(HistoryError::Schema {
                found: v.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(serde_json::from_slice(bytes)?)
    }

    /// The file's bytes: pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// The newest observed owners of `kind` and when they were last seen.
    pub fn latest(&self, kind: OwnerKind) -> Option<(&[Owner], i64)> {
        self.observations.iter().rev().find_map(|set| {
            let owners = match kind {
                OwnerKind::User => set.users.as_deref(),
                OwnerKind::Team => set.teams.as_deref(),
            };
            owners.map(|o| (o, set.last_observed_at))
        })
    }

    /// When the owners were last observed (either kind).
    pub fn last_observed_at(&self) -> Option<i64> {
        self.observations.last().map(|s| s.last_observed_at)
    }

    /// When both kinds were last observed together: a caller can skip a
    /// fetch when this is recent.
    pub fn last_complete_observation_at(&self) -> Option<i64> {
        self.observations
            .iter()
            .rev()
            .find(|s| s.users.is_some() && s.teams.is_some())
            .map(|s| s.last_observed_at)
    }

    /// Record what is known about `version`, merging with what was recorded
    /// before (see [`VersionRecord::merge`]). Returns whether the file changed.
    pub fn record_version(&mut self, version: &str, record: VersionRecord) -> bool {
        match self.versions.get_mut(version) {
            Some(old) => old.merge(record),
            None => {
                let mut rec = record;
                rec.audit_actions.sort();
                self.versions.insert(version.to_owned(), rec);
                true
            }
        }
    }

    /// The owner timeline: every recorded change, plus the additions the
    /// registry dated (`since`) of owners seen in any observation, oldest
    /// first. A recorded addition whose registry date falls between its two
    /// observations takes that exact date.
    pub fn events(&self) -> Vec<OwnerEvent> {
        let mut out: Vec<OwnerEvent> = self
            .changes
            .iter()
            .map(|c| {
                let exact = c.change == ChangeKind::Added
                    && c.owner
                        .since
                        .is_some_and(|t| t > c.previous_observed_at && t <= c.observed_at);
                OwnerEvent {
                    change: c.change,
                    owner: c.owner.clone(),
                    after: if exact { None } else { Some(c.previous_observed_at) },
                    by: if exact {
                        c.owner.since.unwrap_or(c.observed_at)
                    } else {
                        c.observed_at
                    },
                    exact,
                    source: if exact { Source::Dump } else { c.source },
                }
            })
            .collect();
        let mut dated: BTreeSet<(OwnerKind, u64, i64)> = self
            .changes
            .iter()
            .filter(|c| c.change == ChangeKind::Added)
            .filter_map(|c| c.owner.since.map(|t| (c.owner.kind, c.owner.id, t)))
            .collect();
        for set in &self.observations {
            for owner in set.users.iter().chain(set.teams.iter()).flatten() {
                let Some(t) = owner.since else { continue };
                if dated.insert((owner.kind, owner.id, t)) {
                    out.push(OwnerEvent {
                        change: ChangeKind::Added,
                        owner: owner.clone(),
                        after: None,
                        by: t,
                        exact: true,
                        source: Source::Dump,
                    });
                }
            }
        }
        out.sort_by_key(|e| (e.by, e.owner.kind, e.owner.id, e.change));
        out
    }
}

/// Sorted by id, one entry per id, every entry of `kind`.
fn normalize(mut owners: Vec<Owner>, kind: OwnerKind) -> Vec<Owner> {
    for o in &mut owners {
        o.kind = kind;
    }
    owners.sort_by_key(|o| o.id);
    owners.dedup_by_key(|o| o.id);
    owners
}

/// Same owners with the same logins, and no registry date or adder that
/// contradicts (one side may lack them).
fn same_owners(a: &Option<Vec<Owner>>, b: &Option<Vec<Owner>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| {
                    x.id == y.id
                        && x.login == y.login
                        && (x.since.is_none() || y.since.is_none() || x.since == y.since)
                        && (x.added_by.is_none() || y.added_by.is_none() || x.added_by == y.added_by)
                })
        }
        _ => false,
    }
}

/// Fill what `into` lacks (registry dates, adders) from `from`, same owners.
fn fill(into: &mut Option<Vec<Owner>>, from: Option<Vec<Owner>>) {
    if let (Some(into), Some(from)) = (into, from) {
        for (x, y) in into.iter_mut().zip(from) {
            if x.since.is_none() {
                x.since = y.since;
            }
            if x.added_by.is_none() {
                x.added_by = y.added_by;
            }
        }
    }
}

/// Record `obs` in `file` and return the changes it reveals: for each kind it
/// observed, the owners added and removed since the last observation of that
/// kind. A kind not observed yields nothing; the first observation of a kind
/// is the baseline and yields nothing. A failed observation, an observation
/// older than the newest one recorded, and a repeat of the newest one leave
/// the file unchanged.
pub fn observe(file: &mut OwnersFile, obs: Observation) -> Vec<Change> {
    if obs.is_failed() {
        return Vec::new();
    }
    let at = obs.observed_at;
    let users = obs.users.map(|u| normalize(u, OwnerKind::User));
    let teams = obs.teams.map(|t| normalize(t, OwnerKind::Team));
    if let Some(last) = file.observations.last() {
        if at < last.last_observed_at {
            return Vec::new();
        }
        if at == last.last_observed_at
            && last.sources.contains(&obs.source)
            && same_owners(&last.users, &users)
            && same_owners(&last.teams, &teams)
        {
            return Vec::new();
        }
    }
    let mut changes = Vec::new();
    for (kind, new) in [(OwnerKind::User, &users), (OwnerKind::Team, &teams)] {
        let (Some(new), Some((old, old_at))) = (new, file.latest(kind)) else {
            continue;
        };
        let change = |change, owner: &Owner| Change {
            change,
            owner: owner.clone(),
            observed_at: at,
            previous_observed_at: old_at,
            source: obs.source,
        };
        for o in new.iter().filter(|o| !old.iter().any(|p| p.id == o.id)) {
            changes.push(change(ChangeKind::Added, o));
        }
        for p in old.iter().filter(|p| !new.iter().any(|o| o.id == p.id)) {
            changes.push(change(ChangeKind::Removed, p));
        }
    }
    match file.observations.last_mut() {
        Some(last) if same_owners(&last.users, &users) && same_owners(&last.teams, &teams) => {
            fill(&mut last.users, users);
            fill(&mut last.teams, teams);
            last.last_observed_at = at;
            last.count += 1;
            last.sources.insert(obs.source);
        }
        _ => file.observations.push(ObservedSet {
            first_observed_at: at,
            last_observed_at: at,
            count: 1,
            sources: [obs.source].into(),
            users,
            teams,
        }),
    }
    file.changes.extend(changes.iter().cloned());
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u64, login: &str) -> Owner {
        Owner::new(OwnerKind::User, id, login)
    }

    fn obs(at: i64, users: Option<Vec<Owner>>, teams: Option<Vec<Owner>>) -> Observation {
        Observation {
            observed_at: at,
            source: Source::Api,
            users,
            teams,
            errors: Vec::new(),
        }
    }

    #[test]
    fn event_windows() {
        let e = OwnerEvent {
            change: ChangeKind::Added,
            owner: user(1, "a"),
            after: Some(10),
            by: 20,
            exact: false,
            source: Source::Api,
        };
        assert!(e.may_lie_in(Some(15), 30));
        assert!(e.may_lie_in(None, 11));
        assert!(!e.may_lie_in(None, 10));
        assert!(!e.may_lie_in(Some(20), 30));
        let x = OwnerEvent {
            exact: true,
            after: None,
            by: 20,
            ..e
        };
        assert!(x.may_lie_in(Some(19), 20));
        assert!(!x.may_lie_in(Some(20), 30));
    }

    #[test]
    fn runs_merge_and_repeats_are_noops() {
        let mut f = OwnersFile::new(&CrateName::new("x").unwrap());
        assert!(observe(&mut f, obs(10, Some(vec![user(1, "a")]), Some(vec![]))).is_empty());
        assert!(observe(&mut f, obs(20, Some(vec![user(1, "a")]), Some(vec![]))).is_empty());
        let before = f.clone();
        assert!(observe(&mut f, obs(20, Some(vec![user(1, "a")]), Some(vec![]))).is_empty());
        assert!(observe(&mut f, obs(5, Some(vec![]), Some(vec![]))).is_empty());
        assert!(observe(&mut f, obs(30, None, None)).is_empty());
        assert_eq!(f, before);
        assert_eq!(f.observations.len(), 1);
        assert_eq!(f.observations[0].count, 2);
    }
}
