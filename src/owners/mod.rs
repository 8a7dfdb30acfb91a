//! Who can publish a crate and who did publish each release: the data layer
//! behind `owners.json` in the audit repository (docs/OWNERS.md).
//!
//! crates.io keeps only the current owners, so their history exists only if
//! we record it. Two sources feed it, both real:
//!
//! - [`api`]: the crates.io web API (`owner_user`, `owner_team`, the version
//!   list with `published_by`, `audit_actions` and `trustpub_data`), through
//!   the program's one HTTP client ([`crate::net`]) at no more than one request
//!   a second, with a contact in the user agent;
//! - [`dump`]: the daily database dump (a `.tar.gz` of CSV files), streamed
//!   from any `impl Read`, keeping only the rows of the crates asked for.
//!
//! [`history`] turns observations into the append-only `owners.json`
//! ([`history::OwnersFile`]): every observation of the owner set, every change
//! between two observations, and per version the publisher and the
//! trusted-publishing data. A failed or partial fetch never records an owner
//! as removed. [`signals()`] draws the five owner signals from that history.
//!
//! Only [`api`] touches the network; [`history`] and [`signals()`] are pure, and
//! [`dump`] only reads the bytes it is given.

pub mod api;
pub mod dump;
pub mod history;
mod signals;
pub mod time;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use history::{Change, ChangeKind, OwnerEvent, OwnersFile, observe};
pub use signals::{ADDED_WINDOW_DAYS, OWNER_SIGNALS, Release, SignalOptions, signals};

/// A user or a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    /// A crates.io user (ids from the `users` table).
    User,
    /// A GitHub team, login `github:org:team` (ids from the `teams` table).
    Team,
}

impl OwnerKind {
    /// `user` or `team`.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "user",
            OwnerKind::Team => "team",
        }
    }
}

/// A user, by crates.io id and login (the login is registry text: untrusted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserRef {
    /// crates.io user id: the identity (logins can be renamed).
    pub id: u64,
    /// The login when observed; empty when the source did not name the user.
    pub login: String,
}

/// One owner of a crate as a source reported it. Identity is (`kind`, `id`);
/// the login is what the source called it at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// User or team.
    pub kind: OwnerKind,
    /// crates.io id within its kind.
    pub id: u64,
    /// Login (`github:org:team` for teams); empty when the dump lacked the row.
    pub login: String,
    /// When the registry says this ownership began (`crate_owners.created_at`
    /// in the dump; the API does not say).
    #[serde(default, with = "time::opt")]
    pub since: Option<i64>,
    /// Who added it (`crate_owners.created_by` in the dump), when known.
    #[serde(default)]
    pub added_by: Option<UserRef>,
}

impl Owner {
    /// An owner known only by kind, id and login.
    pub fn new(kind: OwnerKind, id: u64, login: &str) -> Self {
        Owner {
            kind,
            id,
            login: login.to_owned(),
            since: None,
            added_by: None,
        }
    }

    /// `user <login> (id <id>)`, for evidence lines.
    pub fn describe(&self) -> String {
        format!("{} {} (id {})", self.kind.as_str(), self.login, self.id)
    }
}

/// Where an observation or a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The registry's web API.
    Api,
    /// The registry's database dump (observed at the dump's timestamp).
    Dump,
}

impl Source {
    /// `api` or `dump`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Dump => "dump",
        }
    }
}

/// One look at a crate's owners. `None` for a kind means "not observed" (its
/// fetch failed or the source lacks it): such a kind is never compared, so it
/// can never make an owner look removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// When the owners were read (seconds since the epoch); for the dump, the
    /// dump's own timestamp.
    pub observed_at: i64,
    /// Which source.
    pub source: Source,
    /// The user owners, or `None` when they could not be read.
    pub users: Option<Vec<Owner>>,
    /// The team owners, or `None` when they could not be read.
    pub teams: Option<Vec<Owner>>,
    /// Why a kind is missing (for logs; not recorded in `owners.json`).
    pub errors: Vec<String>,
}

impl Observation {
    /// Both kinds were read.
    pub fn is_complete(&self) -> bool {
        self.users.is_some() && self.teams.is_some()
    }

    /// Nothing was read at all (a failed fetch).
    pub fn is_failed(&self) -> bool {
        self.users.is_none() && self.teams.is_none()
    }
}

/// How a version was published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PublishMethod {
    /// Through trusted publishing (the registry attests the CI run and commit).
    TrustedPublishing,
    /// With an API token (the registry reported no trusted-publishing data).
    Token,
    /// The source does not say (the dump keeps `trustpub_data` private).
    #[default]
    Unknown,
}

/// The registry-attested trusted-publishing data of a release
/// (`trustpub_data`: `{"provider": "github", "repository", "run_id", "sha"}`
/// or `{"provider": "gitlab", "project_path", "job_id", "sha"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustPub {
    /// `github`, `gitlab`, ...
    pub provider: String,
    /// The repository (`owner/repo` on GitHub, the project path on GitLab).
    pub repository: Option<String>,
    /// The commit the release was built from, as the CI provider attested it.
    pub sha: Option<String>,
    /// Every other field as given (`run_id`, `job_id`, ...), sorted.
    #[serde(default)]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl TrustPub {
    /// From the API's `trustpub_data` object; `None` when it is not an
    /// object with a `provider`.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        let obj = v.as_object()?;
        let provider = obj.get("provider")?.as_str()?.to_owned();
        let text = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let repository = text("repository").or_else(|| text("project_path"));
        let sha = text("sha");
        let details = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "provider" | "repository" | "project_path" | "sha"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(TrustPub {
            provider,
            repository,
            sha,
            details,
        })
    }
}

/// An entry of a version's `audit_actions` (`publish`, `yank`, `unyank`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AuditAction {
    /// When (seconds since the epoch).
    #[serde(with = "time::required")]
    pub time: i64,
    /// What.
    pub action: String,
    /// Who.
    pub user: Option<UserRef>,
}

/// What is known about how one version was published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The user who published it (null for trusted publishing, for releases
    /// older than the registry's record, or when unknown).
    pub published_by: Option<UserRef>,
    /// The registry's `created_at` of the version.
    #[serde(default, with = "time::opt")]
    pub published_at: Option<i64>,
    /// Trusted publishing, token, or unknown.
    #[serde(default)]
    pub publish_method: PublishMethod,
    /// The trusted-publishing data, when the release used it.
    pub trusted_publishing: Option<TrustPub>,
    /// The registry's sha256 of the `.crate` (lowercase hex).
    pub checksum: Option<String>,
    /// The registry's audit trail of the version.
    #[serde(default)]
    pub audit_actions: Vec<AuditAction>,
    /// Which sources contributed.
    #[serde(default)]
    pub sources: BTreeSet<Source>,
}

/// Who published a release, as an identity that can be compared across
/// releases: a user, or (with no user) a trusted publisher's repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Publisher {
    /// A crates.io user (compared by id).
    User(UserRef),
    /// A trusted publisher: provider and repository.
    Trusted {
        /// `github`, `gitlab`, ...
        provider: String,
        /// The repository.
        repository: String,
    },
}

impl Publisher {
    /// The comparable part: user id, or provider and repository.
    fn key(&self) -> (u8, u64, &str, &str) {
        match self {
            Publisher::User(u) => (0, u.id, "", ""),
            Publisher::Trusted { provider, repository } => (1, 0, provider, repository),
        }
    }

    /// Same identity (logins may differ between observations).
    pub fn same_as(&self, other: &Publisher) -> bool {
        self.key() == other.key()
    }

    /// `user <login> (id N)` or `trusted publisher <provider>:<repository>`.
    pub fn describe(&self) -> String {
        match self {
            Publisher::User(u) => format!("user {} (id {})", u.login, u.id),
            Publisher::Trusted { provider, repository } => {
                format!("trusted publisher {provider}:{repository}")
            }
        }
    }
}

impl VersionRecord {
    /// The publisher's identity, when known.
    pub fn publisher(&self) -> Option<Publisher> {
        if let Some(u) = &self.published_by {
            return Some(Publisher::User(u.clone()));
        }
        let tp = self.trusted_publishing.as_ref()?;
        Some(Publisher::Trusted {
            provider: tp.provider.clone(),
            repository: tp.repository.clone()?,
        })
    }

    /// Merge `other` into `self`: unknown fields are filled, audit actions
    /// united, sources added. A field already known keeps its first value (a
    /// release's publisher and checksum never change). Returns whether
    /// anything changed.
    pub fn merge(&mut self, other: VersionRecord) -> bool {
        let before = self.clone();
        if self.published_by.is_none() {
            self.published_by = other.published_by;
        } else if let (Some(mine), Some(theirs)) = (&mut self.published_by, &other.published_by) {
            // Same user, a login learned later (the dump may lack the users row).
            if mine.id == theirs.id && mine.login.is_empty() {
                mine.login = theirs.login.clone();
            }
        }
        if self.published_at.is_none() {
            self.published_at = other.published_at;
        }
        if self.publish_method == PublishMethod::Unknown {
            self.publish_method = other.publish_method;
        }
        if self.trusted_publishing.is_none() {
            self.trusted_publishing = other.trusted_publishing;
        }
        if self.checksum.is_none() {
            self.checksum = other.checksum;
        }
        for a in other.audit_actions {
            if !self.audit_actions.contains(&a) {
                self.audit_actions.push(a);
            }
        }
        self.audit_actions.sort();
        self.sources.extend(other.sources);
        *self != before
    }
}

/// How the three claims about a release's commit agree: the registry-attested
/// trusted-publishing `sha`, the `.cargo_vcs_info.json` `git.sha1` in the
/// `.crate`, and the commit the upstream tag points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitCheck {
    /// The claims that are present: (`trusted-publishing` | `vcs-info` | `tag`, sha).
    pub claims: Vec<(&'static str, String)>,
    /// `Some(true)` when at least two claims are present and all equal,
    /// `Some(false)` when two differ, `None` with fewer than two.
    pub agree: Option<bool>,
}

/// Compare the commit claims of a release (case-insensitive hex; a shorter
/// claim matches a longer one it prefixes, so abbreviated tags still compare).
pub fn compare_commits(trusted: Option<&str>, vcs_info: Option<&str>, tag: Option<&str>) -> CommitCheck {
    let claims: Vec<(&'static str, String)> = [("trusted-publishing", trusted), ("vcs-info", vcs_info), ("tag", tag)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v.trim().to_ascii_lowercase())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let agree = (claims.len() >= 2).then(|| {
        claims.iter().all(|(_, a)| {
            claims
                .iter()
                .all(|(_, b)| a.starts_with(b.as_str()) || b.starts_with(a.as_str()))
        })
    });
    CommitCheck { claims, agree }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trustpub_shapes() {
        let gh = serde_json::json!({"provider": "github", "repository": "o/r", "run_id": "42", "sha": "abc"});
        let tp = TrustPub::from_json(&gh).expect("github");
        assert_eq!(tp.repository.as_deref(), Some("o/r"));
        assert_eq!(tp.sha.as_deref(), Some("abc"));
        assert_eq!(tp.details.get("run_id"), Some(&serde_json::json!("42")));
        let gl = serde_json::json!({"provider": "gitlab", "project_path": "g/p", "job_id": "7", "sha": "def"});
        assert_eq!(
            TrustPub::from_json(&gl).and_then(|t| t.repository),
            Some("g/p".to_owned())
        );
        assert!(TrustPub::from_json(&serde_json::json!({"sha": "x"})).is_none());
    }

    #[test]
    fn commit_claims() {
        let a = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(compare_commits(Some(a), Some(a), None).agree, Some(true));
        assert_eq!(compare_commits(Some(a), None, Some("0123456")).agree, Some(true));
        assert_eq!(compare_commits(Some(a), Some("ff"), Some(a)).agree, Some(false));
        assert_eq!(compare_commits(Some(a), None, None).agree, None);
    }

    #[test]
    fn version_records_merge_without_overwriting() {
        let mut a = VersionRecord {
            published_by: Some(UserRef {
                id: 1,
                login: String::new(),
            }),
            checksum: Some("aa".into()),
            sources: [Source::Dump].into(),
            ..VersionRecord::default()
        };
        let b = VersionRecord {
            published_by: Some(UserRef {
                id: 1,
                login: "alice".into(),
            }),
            publish_method: PublishMethod::Token,
            checksum: Some("bb".into()),
            sources: [Source::Api].into(),
            ..VersionRecord::default()
        };
        assert!(a.merge(b.clone()));
        assert_eq!(a.published_by.as_ref().map(|u| u.login.as_str()), Some("alice"));
        assert_eq!(a.checksum.as_deref(), Some("aa"));
        assert_eq!(a.publish_method, PublishMethod::Token);
        assert!(!a.merge(b));
    }
}
