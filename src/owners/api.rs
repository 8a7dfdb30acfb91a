//! The registry's web API as an owner source: `GET
//! /api/v1/crates/{name}/owner_user`, `/owner_team`, `/versions` (paged) and
//! `/{version}`, through the program's one HTTP client ([`Network`]).
//!
//! Manners (crates.io's crawler policy): at most one request a second (a
//! [`RateLimiter`] spaces each request from the end of the previous one, and
//! the client's own retries back off by at least twice that interval),
//! backoff on 429 and 5xx with `Retry-After` honoured (by [`Network`]), a
//! user agent naming a contact — [`ApiSource::new`] refuses crates.io without
//! one — and conditional requests (`ETag` / `Last-Modified`) from an optional
//! on-disk cache.
//!
//! A failed request never looks like an empty answer: [`ApiSource::owners`]
//! marks the kind it could not read as not observed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{AuditAction, Observation, Owner, OwnerKind, PublishMethod, Source, TrustPub, UserRef, VersionRecord};
use crate::net::{Fetched, NetError, Network, Validators};
use crate::output::Clock;
use crate::types::{CrateName, hex};

/// crates.io's web API.
pub const CRATES_IO_API: &str = "https://crates.io";

/// The default (and, for crates.io, the least) interval between requests.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Largest API response accepted (the biggest version lists are a few MB).
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Versions per page of `/versions`.
const PER_PAGE: u32 = 100;

/// Pages followed at most (100,000 versions).
const MAX_PAGES: u32 = 1000;

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The API's base URL, e.g. [`CRATES_IO_API`] (paths are appended).
    pub base: String,
    /// The operator's contact, as configured (`--contact`). Required for
    /// crates.io, and it must be in the client's user agent. Pass `None` when
    /// only the built-in default is in effect.
    pub contact: Option<String>,
    /// Least time between two requests; `None` is [`DEFAULT_MIN_INTERVAL`].
    /// crates.io refuses anything shorter than that.
    pub min_interval: Option<Duration>,
    /// Where to keep responses with their validators, for conditional
    /// requests on the next run (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
}

impl ApiConfig {
    /// crates.io with the operator's contact and the defaults.
    pub fn crates_io(contact: Option<&str>) -> Self {
        ApiConfig {
            base: CRATES_IO_API.to_owned(),
            contact: contact.map(str::to_owned),
            min_interval: None,
            cache_dir: None,
        }
    }
}

/// Why the API source could not be set up or could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// crates.io without a configured contact.
    #[error(
        "refusing to query {base} without a contact: crates.io asks crawlers to identify themselves; set --contact (or CARGOFOX_CONTACT) to an e-mail address or URL where you can be reached"
    )]
    NoContact {
        /// The API base.
        base: String,
    },
    /// The contact is configured but the HTTP client does not send it.
    #[error("the HTTP client's user agent {user_agent:?} does not carry the contact {contact:?}")]
    ContactNotSent {
        /// The client's user agent.
        user_agent: String,
        /// The configured contact.
        contact: String,
    },
    /// A rate faster than the registry allows.
    #[error("{base} allows at most one request per second; a minimum interval of {interval:?} is too short")]
    TooFast {
        /// The API base.
        base: String,
        /// The requested interval.
        interval: Duration,
    },
    /// Not an http(s) URL.
    #[error("invalid API base URL {0:?}: expected http:// or https://")]
    BadBase(String),
    /// The request failed (after the client's retries).
    #[error(transparent)]
    Net(#[from] NetError),
    /// The answer was not the JSON expected.
    #[error("GET {url}: unexpected JSON: {message}")]
    Json {
        /// The URL.
        url: String,
        /// The parser's complaint.
        message: String,
    },
    /// A 304 without a cached copy to reuse.
    #[error("GET {url}: 304 Not Modified but nothing is cached")]
    NotModifiedWithoutCache {
        /// The URL.
        url: String,
    },
    /// The paging did not end.
    #[error("GET {url}: more than {MAX_PAGES} pages, or a next page that is not a query")]
    Paging {
        /// The URL.
        url: String,
    },
}

/// A monotonic clock with a sleep, injectable so that tests can check the
/// spacing of requests without waiting.
pub trait Ticker: Send {
    /// Time since an arbitrary fixed origin.
    fn now(&self) -> Duration;
    /// Wait for `d`.
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemTicker {
    origin: Instant,
}

impl SystemTicker {
    /// A clock starting now.
    pub fn new() -> Self {
        SystemTicker { origin: Instant::now() }
    }
}

impl Default for SystemTicker {
    fn default() -> Self {
        Self::new()
    }
}

impl Ticker for SystemTicker {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Spaces requests: each may start only `interval` after the previous one
/// ended (stricter than start-to-start, and it covers the client's retries).
pub struct RateLimiter {
    interval: Duration,
    last_end: Option<Duration>,
    ticker: Box<dyn Ticker>,
    starts: Vec<Duration>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("interval", &self.interval)
            .field("requests", &self.starts.len())
            .finish()
    }
}

impl RateLimiter {
    /// A limiter with `interval` on `ticker`.
    pub fn new(interval: Duration, ticker: Box<dyn Ticker>) -> Self {
        RateLimiter {
            interval,
            last_end: None,
            ticker,
            starts: Vec::new(),
        }
    }

    /// The interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Wait until a request may start; records its start.
    pub fn acquire(&mut self) {
        let now = self.ticker.now();
        if let Some(next) = self.last_end.map(|e| e + self.interval)
            && now < next
        {
            self.ticker.sleep(next - now);
        }
        let start = self.ticker.now();
        if self.starts.len() >= 4096 {
            self.starts.drain(..2048);
        }
        self.starts.push(start);
    }

    /// The request that [`RateLimiter::acquire`] allowed has ended.
    pub fn release(&mut self) {
        self.last_end = Some(self.ticker.now());
    }

    /// Ticker times at which the recent requests started (the last few
    /// thousand), oldest first.
    pub fn starts(&self) -> &[Duration] {
        &self.starts
    }
}

/// Owners and versions from a registry's web API.
#[derive(Debug)]
pub struct ApiSource {
    net: Network,
    base: String,
    limiter: RateLimiter,
    cache_dir: Option<PathBuf>,
    memory: HashMap<String, (Validators, Vec<u8>)>,
    requests: u64,
}

/// Whether `base` is crates.io's API (the host `crates.io` or a subdomain).
pub fn is_crates_io(base: &str) -> bool {
    reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| {
            let h = h.trim_end_matches('.');
            h == "crates.io" || h.ends_with(".crates.io")
        })
}

impl ApiSource {
    /// Set up the source on `net` (whose user agent must carry the contact).
    /// Refuses crates.io without a contact or faster than one request a
    /// second. The client used is `net`'s configuration with its retry
    /// backoff raised to at least twice the interval, so retries keep the pace.
    pub fn new(net: &Arc<Network>, config: ApiConfig) -> Result<Self, ApiError> {
        let base = config.base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || reqwest::Url::parse(&base).is_err() {
            return Err(ApiError::BadBase(config.base));
        }
        let interval = config.min_interval.unwrap_or(DEFAULT_MIN_INTERVAL);
        let user_agent = &net.config().user_agent;
        let contact = config.contact.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if is_crates_io(&base) {
            let Some(contact) = contact else {
                return Err(ApiError::NoContact { base });
            };
            if interval < DEFAULT_MIN_INTERVAL {
                return Err(ApiError::TooFast { base, interval });
            }
            if !user_agent.contains(contact) {
                return Err(ApiError::ContactNotSent {
                    user_agent: user_agent.clone(),
                    contact: contact.to_owned(),
                });
            }
        }
        let mut cfg = net.config().clone();
        cfg.backoff_base = cfg.backoff_base.max(interval.saturating_mul(2));
        cfg.max_body = cfg.max_body.min(MAX_BODY);
        let net = Network::new(cfg)?;
        Ok(ApiSource {
            net,
            base,
            limiter: RateLimiter::new(interval, Box::new(SystemTicker::new())),
            cache_dir: config.cache_dir,
            memory: HashMap::new(),
            requests: 0,
        })
    }

    /// Use `ticker` for pacing (tests).
    pub fn with_ticker(mut self, ticker: Box<dyn Ticker>) -> Self {
        self.limiter = RateLimiter::new(self.limiter.interval, ticker);
        self
    }

    /// The pacing so far.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Requests sent (each paced; the client's retries are inside one).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The API base in use.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The owners of `name` now: users and teams, each `None` when its
    /// request failed (the errors are in [`Observation::errors`]).
    pub fn owners(&mut self, name: &CrateName, clock: &Clock) -> Observation {
        let observed_at = clock.now();
        let mut errors = Vec::new();
        let users = match self.get_json::<UsersResponse>(&format!("/api/v1/crates/{name}/owner_user")) {
            Ok(r) => Some(r.users.into_iter().map(|o| o.into_owner(OwnerKind::User)).collect()),
            Err(e) => {
                errors.push(e.to_string());
                None
            }
        };
        let teams = match self.get_json::<TeamsResponse>(&format!("/api/v1/crates/{name}/owner_team")) {
            Ok(r) => Some(r.teams.into_iter().map(|o| o.into_owner(OwnerKind::Team)).collect()),
            Err(e) => {
                errors.push(e.to_string());
                None
            }
        };
        Observation {
            observed_at,
            source: Source::Api,
            users,
            teams,
            errors,
        }
    }

    /// Every version of `name` with its publisher data, following the pages
    /// of `/versions`. Pages read before a failure are kept.
    pub fn versions(&mut self, name: &CrateName) -> VersionsFetch {
        let path = format!("/api/v1/crates/{name}/versions");
        let mut query = format!("?per_page={PER_PAGE}");
        let mut out = VersionsFetch::default();
        for _ in 0..MAX_PAGES {
            let page: VersionsResponse = match self.get_json(&format!("{path}{query}")) {
                Ok(p) => p,
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            };
            out.records
                .extend(page.versions.into_iter().map(ApiVersion::into_record));
            match page.meta.and_then(|m| m.next_page) {
                None => return out,
                Some(next) if next.starts_with('?') && next != query => query = next,
                Some(_) => {
                    out.error = Some(ApiError::Paging {
                        url: format!("{}{path}{query}", self.base),
                    });
                    return out;
                }
            }
        }
        out.error = Some(ApiError::Paging {
            url: format!("{}{path}", self.base),
        });
        out
    }

    /// One version of `name` (`/api/v1/crates/{name}/{version}`).
    pub fn version(&mut self, name: &CrateName, version: &str) -> Result<(String, VersionRecord), ApiError> {
        let r: VersionResponse = self.get_json(&format!("/api/v1/crates/{name}/{}", encode_segment(version)))?;
        Ok(r.version.into_record())
    }

    fn get_json<T: for<'de> Deserialize<'de>>(&mut self, path_and_query: &str) -> Result<T, ApiError> {
        let url = format!("{}{path_and_query}", self.base);
        let body = self.get(&url)?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Json {
            url,
            message: e.to_string(),
        })
    }

    /// GET `url` paced, conditionally when a cached copy exists.
    fn get(&mut self, url: &str) -> Result<Vec<u8>, ApiError> {
        let cached = self.cached(url);
        self.limiter.acquire();
        self.requests += 1;
        let result = self.net.get(url, cached.as_ref().map(|(v, _)| v));
        self.limiter.release();
        match result? {
            Fetched::Body(body, validators) => {
                if validators.etag.is_some() || validators.last_modified.is_some() {
                    self.store(url, &validators, &body);
                }
                Ok(body)
            }
            Fetched::NotModified => cached
                .map(|(_, body)| body)
                .ok_or_else(|| ApiError::NotModifiedWithoutCache { url: url.to_owned() }),
        }
    }

    fn cache_file(&self, url: &str) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        Some(dir.join(format!(
            "{}.json",
            &hex(&crate::types::Sha256::of(url.as_bytes()).0)[..32]
        )))
    }

    fn cached(&self, url: &str) -> Option<(Validators, Vec<u8>)> {
        if let Some(hit) = self.memory.get(url) {
            return Some(hit.clone());
        }
        let bytes = std::fs::read(self.cache_file(url)?).ok()?;
        let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
        (entry.url == url).then(|| (entry.validators, entry.body.into_bytes()))
    }

    fn store(&mut self, url: &str, validators: &Validators, body: &[u8]) {
        self.memory.insert(url.to_owned(), (validators.clone(), body.to_vec()));
        let (Some(file), Ok(text)) = (self.cache_file(url), std::str::from_utf8(body)) else {
            return;
        };
        let entry = CacheEntry {
            url: url.to_owned(),
            validators: validators.clone(),
            body: text.to_owned(),
        };
        // The cache is an optimisation: a failed write only costs a full
        // response next time.
        let write = || -> std::io::Result<()> {
            let dir = file.parent().ok_or_else(|| std::io::Error::other("no parent"))?;
            std::fs::create_dir_all(dir)?;
            let tmp = file.with_extension("json.part");
            std::fs::write(&tmp, serde_json::to_vec(&entry).map_err(std::io::Error::other)?)?;
            std::fs::rename(&tmp, &file)
        };
        if let Err(e) = write() {
            tracing::debug!(url, error = %e, "could not cache the API response");
        }
    }
}

/// The result of [`ApiSource::versions`]: the records read, and the error
/// that stopped the paging early, if any.
#[derive(Debug, Default)]
pub struct VersionsFetch {
    /// (version, record), in the API's order.
    pub records: Vec<(String, VersionRecord)>,
    /// Why the list may be incomplete.
    pub error: Option<ApiError>,
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    url: String,
    validators: Validators,
    body: String,
}

/// Percent-encode a path segment (versions may hold `+`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize)]
struct UsersResponse {
    users: Vec<ApiOwner>,
}

#[derive(Deserialize)]
struct TeamsResponse {
    teams: Vec<ApiOwner>,
}

/// `EncodableOwner`: `{id, login, kind, url, name, avatar}` (the last three
/// may be null).
#[derive(Deserialize)]
struct ApiOwner {
    id: u64,
    login: String,
}

impl ApiOwner {
    fn into_owner(self, kind: OwnerKind) -> Owner {
        Owner::new(kind, self.id, &self.login)
    }
}

/// `EncodablePublicUser`: `{id, login, name, avatar, url}`.
#[derive(Deserialize)]
struct ApiUser {
    id: u64,
    login: String,
}

impl From<ApiUser> for UserRef {
    fn from(u: ApiUser) -> Self {
        UserRef {
            id: u.id,
            login: u.login,
        }
    }
}

#[derive(Deserialize)]
struct ApiAuditAction {
    action: String,
    user: Option<ApiUser>,
    time: String,
}

#[derive(Deserialize)]
struct VersionsResponse {
    versions: Vec<ApiVersion>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct VersionResponse {
    version: ApiVersion,
}

/// `EncodableVersion`, the fields used.
#[derive(Deserialize)]
struct ApiVersion {
    num: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    published_by: Option<ApiUser>,
    #[serde(default)]
    audit_actions: Vec<ApiAuditAction>,
    /// Absent (a registry without trusted publishing): unknown; `null`:
    /// published with a token; an object: trusted publishing.
    #[serde(default, deserialize_with = "present")]
    trustpub_data: Option<serde_json::Value>,
}

/// Distinguishes a present `null` (`Some(Null)`) from an absent field (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl ApiVersion {
    fn into_record(self) -> (String, VersionRecord) {
        let trusted = self.trustpub_data.as_ref().and_then(TrustPub::from_json);
        let publish_method = match (&self.trustpub_data, &trusted) {
            (_, Some(_)) => PublishMethod::TrustedPublishing,
            (Some(serde_json::Value::Null), None) => PublishMethod::Token,
            _ => PublishMethod::Unknown,
        };
        let mut audit_actions: Vec<AuditAction> = self
            .audit_actions
            .into_iter()
            .filter_map(|a| {
                Some(AuditAction {
                    time: super::time::parse_timestamp(&a.time)?,
                    action: a.action,
                    user: a.user.map(UserRef::from),
                })
            })
            .collect();
        audit_actions.sort();
        let checksum = self
            .checksum
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty());
        (
            self.num,
            VersionRecord {
                published_by: self.published_by.map(UserRef::from),
                published_at: self.created_at.as_deref().and_then(super::time::parse_timestamp),
                publish_method,
                trusted_publishing: trusted,
                checksum,
                audit_actions,
                sources: [Source::Api].into(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_hosts() {
        assert!(is_crates_io("https://crates.io"));
        assert!(is_crates_io("https://crates.io/"));
        assert!(is_crates_io("https://staging.crates.io"));
        assert!(is_crates_io("https://CRATES.IO."));
        assert!(!is_crates_io("https://notcrates.io"));
        assert!(!is_crates_io("http://127.0.0.1:8080"));
    }

    #[test]
    fn version_json_tristate() {
        let parse = |s: &str| {
            let v: ApiVersion = serde_json::from_str(s).unwrap();
            v.into_record().1
        };
        assert_eq!(parse(r#"{"num":"1.0.0"}"#).publish_method, PublishMethod::Unknown);
        assert_eq!(
            parse(r#"{"num":"1.0.0","trustpub_data":null}"#).publish_method,
            PublishMethod::Token
        );
        let tp = parse(
            r#"{"num":"1.0.0","trustpub_data":{"provider":"github","repository":"o/r","sha":"ab","run_id":"1"}}"#,
        );
        assert_eq!(tp.publish_method, PublishMethod::TrustedPublishing);
        assert_eq!(encode_segment("1.0.0+build"), "1.0.0%2Bbuild");
    }
}
