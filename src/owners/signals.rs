//! The owner signals of a release (pure): inferences from the owner history
//! and the publisher records of `owners.json`. Each has a stable code listed in
//! [`OWNER_SIGNALS`] and documented in docs/OWNERS.md (merged into
//! docs/SIGNALS.md); summaries are built from trusted text only (counts,
//! codes, days), logins and repositories go into the evidence.

use super::history::{ChangeKind, OwnerEvent, OwnersFile};
use super::{PublishMethod, VersionRecord};
use crate::output::format_utc;
use crate::signals::{Evidence, Signal};

/// Default for [`SignalOptions::added_window_days`].
pub const ADDED_WINDOW_DAYS: i64 = 30;

/// Additions this close after the crate's first release are its creation,
/// not a change of hands (the registry writes both in one transaction).
const CREATION_SLACK_SECS: i64 = 300;

/// Every owner signal code with its one-line meaning.
pub const OWNER_SIGNALS: &[(&str, &str)] = &[
    ("owner-added", "an owner was added since the previous release"),
    ("owner-removed", "an owner was removed since the previous release"),
    (
        "first-release-by-publisher",
        "the release was published by someone who never published this crate before",
    ),
    (
        "owner-added-before-release",
        "the release came within days after an owner was added",
    ),
    (
        "trusted-publishing-dropped",
        "the previous release used trusted publishing, this one a token",
    ),
];

/// Thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalOptions {
    /// `owner-added-before-release` looks this many days back from a release.
    pub added_window_days: i64,
}

impl Default for SignalOptions {
    fn default() -> Self {
        SignalOptions {
            added_window_days: ADDED_WINDOW_DAYS,
        }
    }
}

/// The release the signals are drawn for, and the one published just before
/// it (in time, not semver: owner changes happen in time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release<'a> {
    /// The version, as the index spells it.
    pub version: &'a str,
    /// When it was published (index `pubtime`, or the registry's
    /// `created_at`).
    pub published_at: i64,
    /// The release published most recently before it: (version, time).
    pub previous: Option<(&'a str, i64)>,
}

impl<'a> Release<'a> {
    /// The release as the history's own version records date it (for
    /// callers without index times); `None` when `version` has no recorded
    /// time.
    pub fn from_history(history: &'a OwnersFile, version: &'a str) -> Option<Self> {
        let published_at = history.versions.get(version)?.published_at?;
        let previous = history
            .versions
            .iter()
            .filter_map(|(v, r)| r.published_at.map(|t| (v.as_str(), t)))
            .filter(|&(v, t)| t < published_at && v != version)
            .max_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
        Some(Release {
            version,
            published_at,
            previous,
        })
    }
}

use crate::signals::signal;

fn ev(fact: &'static str, value: String) -> Evidence {
    Evidence { fact, value }
}

fn event_evidence(e: &OwnerEvent) -> Vec<Evidence> {
    vec![
        ev("owner", e.owner.describe()),
        ev(
            if e.change == ChangeKind::Added {
                "owner-added"
            } else {
                "owner-removed"
            },
            e.describe_time(),
        ),
    ]
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Draw the owner signals for `release`, in the order of [`OWNER_SIGNALS`].
pub fn signals(history: &OwnersFile, release: &Release<'_>, options: &SignalOptions) -> Vec<Signal> {
    let mut out = Vec::new();
    let r = release.published_at;
    let events = history.events();
    // The crate's creation: its first release, or the registry's earliest
    // ownership date when the history has no version records. Owners added
    // with it created the crate.
    let first = history
        .versions
        .values()
        .filter_map(|v| v.published_at)
        .chain([r])
        .chain(release.previous.map(|p| p.1))
        .chain(events.iter().filter(|e| e.exact).map(|e| e.by))
        .min()
        .unwrap_or(r);
    let is_creation = |e: &OwnerEvent| e.change == ChangeKind::Added && e.exact && e.by <= first + CREATION_SLACK_SECS;

    if let Some((_, prev_at)) = release.previous {
        for (kind, code, what) in [
            (ChangeKind::Added, "owner-added", "added"),
            (ChangeKind::Removed, "owner-removed", "removed"),
        ] {
            let hits: Vec<&OwnerEvent> = events
                .iter()
                .filter(|e| e.change == kind && !is_creation(e) && e.may_lie_in(Some(prev_at), r))
                .collect();
            if !hits.is_empty() {
                out.push(signal(
                    code,
                    format!(
                        "{} {what} since the previous release: who can publish this crate changed",
                        plural(hits.len(), "owner", "owners")
                    ),
                    hits.iter().flat_map(|e| event_evidence(e)).collect(),
                ));
            }
        }
    }

    let record = history.versions.get(release.version);
    if let Some(this) = record.and_then(VersionRecord::publisher) {
        let earlier: Vec<_> = history
            .versions
            .iter()
            .filter(|(v, rec)| v.as_str() != release.version && rec.published_at.is_some_and(|t| t < r))
            .filter_map(|(v, rec)| rec.publisher().map(|p| (v, p)))
            .collect();
        if !earlier.is_empty() && !earlier.iter().any(|(_, p)| p.same_as(&this)) {
            let mut others: Vec<String> = earlier.iter().map(|(_, p)| p.describe()).collect();
            others.sort();
            others.dedup();
            let mut evidence = vec![ev("publisher", this.describe())];
            evidence.extend(others.into_iter().map(|o| ev("earlier-publisher", o)));
            out.push(signal(
                "first-release-by-publisher",
                format!(
                    "published by someone who published none of the {} earlier with a known publisher",
                    plural(earlier.len(), "release", "releases")
                ),
                evidence,
            ));
        }
    }

    let window = options.added_window_days.max(0).saturating_mul(86_400);
    let near: Vec<&OwnerEvent> = events
        .iter()
        .filter(|e| e.change == ChangeKind::Added && !is_creation(e))
        .filter(|e| e.may_lie_in(Some(r.saturating_sub(window).saturating_sub(1)), r))
        .collect();
    if !near.is_empty() {
        let mut evidence: Vec<Evidence> = near.iter().flat_map(|e| event_evidence(e)).collect();
        evidence.push(ev(
            "release",
            format!("{} published {}", release.version, format_utc(r)),
        ));
        out.push(signal(
            "owner-added-before-release",
            format!(
                "{} added within {} days before this release: a new owner publishing soon after is the pattern of an account takeover",
                plural(near.len(), "owner", "owners"),
                options.added_window_days
            ),
            evidence,
        ));
    }

    if let (Some(this), Some((prev_version, _))) = (record, release.previous) {
        let prev = history.versions.get(prev_version);
        if this.publish_method == PublishMethod::Token
            && prev.is_some_and(|p| p.publish_method == PublishMethod::TrustedPublishing)
        {
            let mut evidence = Vec::new();
            if let Some(tp) = prev.and_then(|p| p.trusted_publishing.as_ref()) {
                evidence.push(ev(
                    "previous-trusted-publishing",
                    format!(
                        "{prev_version}: {} {} at {}",
                        tp.provider,
                        tp.repository.as_deref().unwrap_or("(no repository)"),
                        tp.sha.as_deref().unwrap_or("(no commit)")
                    ),
                ));
            }
            evidence.push(ev(
                "publisher",
                this.publisher().map_or_else(|| "unknown".to_owned(), |p| p.describe()),
            ));
            out.push(signal(
                "trusted-publishing-dropped",
                "the previous release came from a CI run the registry attested; this one was uploaded with an API token"
                    .to_owned(),
                evidence,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let doc = include_str!("../../docs/OWNERS.md");
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in OWNER_SIGNALS {
            assert!(seen.insert(*code), "duplicate {code}");
            assert!(
                doc.contains(&format!("| `{code}` |")),
                "{code} has no row in docs/OWNERS.md"
            );
        }
        for (code, _) in crate::signals::CODES {
            assert!(!seen.contains(code), "{code} is also a release signal code");
        }
    }
}
