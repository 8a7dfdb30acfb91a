//! Owner history (docs/OWNERS.md) through the library API: the web API
//! source against the harness's HTTP server on 127.0.0.1 answering with
//! crates.io-shaped JSON (nulls, teams, 429 and 500 included), the dump
//! source against generated `.tar.gz` dumps with the real layout and column
//! names, histories across several syncs, and the owner signals. The pacing
//! is checked from the server's request log and from an injected ticker; one
//! test waits in real time for the 1 s default.
//!
//! The benchmark (`bench_dump_*`, ignored) generates a dump with tables the
//! size of the real one's and measures the streaming reader.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cargofox::net::{NetConfig, Network};
use cargofox::output::Clock;
use cargofox::owners::api::{ApiConfig, ApiError, ApiSource, CRATES_IO_API, Ticker};
use cargofox::owners::dump::{CrateFilter, DumpError, DumpItem, DumpReader};
use cargofox::owners::history::{HistoryError, OwnersFile};
use cargofox::owners::{
    ChangeKind, Observation, Owner, OwnerKind, PublishMethod, Release, SignalOptions, Source, observe, signals,
};
use cargofox::types::CrateName;
use serde_json::{Value, json};

use crate::harness::{Fault, IndexEntry, Server, TestRegistry, crate_file, serve, temp_dir};

const DAY: i64 = 86_400;
/// 2025-01-01T00:00:00Z
const T0: i64 = 1_735_689_600;
const CONTACT: &str = "ops@example.org";

fn name(s: &str) -> CrateName {
    CrateName::new(s).unwrap()
}

fn network(retries: u32) -> Arc<Network> {
    let mut cfg = NetConfig::new(CONTACT);
    cfg.retries = retries;
    cfg.backoff_base = Duration::from_millis(20);
    cfg.connect_timeout = Duration::from_secs(5);
    cfg.request_timeout = Duration::from_secs(20);
    Arc::new(Network::new(cfg).unwrap())
}

/// An API source on the test server, `interval` apart (a private registry).
fn api(server: &Server, interval: Duration, retries: u32) -> ApiSource {
    ApiSource::new(
        &network(retries),
        ApiConfig {
            base: server.base_url(),
            contact: Some(CONTACT.into()),
            min_interval: Some(interval),
            cache_dir: None,
        },
    )
    .unwrap()
}

fn json_fault(body: &Value) -> Fault {
    Fault::status(200)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(serde_json::to_vec(body).unwrap())
}

/// `EncodableOwner` of a user, as crates.io writes it (name and avatar may be null).
fn api_user(id: u64, login: &str, display: Option<&str>) -> Value {
    json!({
        "id": id,
        "login": login,
        "kind": "user",
        "url": format!("https://github.com/{login}"),
        "name": display,
        "avatar": display.map(|_| format!("https://avatars.githubusercontent.com/u/{id}?v=4")),
    })
}

fn api_team(id: u64, login: &str) -> Value {
    json!({"id": id, "login": login, "kind": "team", "url": "https://github.com/org", "name": null, "avatar": null})
}

/// `EncodablePublicUser`.
fn public_user(id: u64, login: &str) -> Value {
    json!({"id": id, "login": login, "name": null, "avatar": null, "url": format!("https://github.com/{login}")})
}

/// `EncodableVersion`, every field as crates.io sends it.
fn api_version(krate: &str, num: &str, at: i64, by: Option<(u64, &str)>, trustpub: Value) -> Value {
    let time = cargofox::output::format_utc(at).replace('Z', ".123456Z");
    json!({
        "id": at % 100_000,
        "crate": krate,
        "num": num,
        "dl_path": format!("/api/v1/crates/{krate}/{num}/download"),
        "readme_path": format!("/api/v1/crates/{krate}/{num}/readme"),
        "updated_at": time,
        "created_at": time,
        "downloads": 12,
        "features": {"default": ["std"], "std": []},
        "yanked": false,
        "yank_message": null,
        "lib_links": null,
        "license": "MIT OR Apache-2.0",
        "links": {
            "dependencies": format!("/api/v1/crates/{krate}/{num}/dependencies"),
            "version_downloads": format!("/api/v1/crates/{krate}/{num}/downloads"),
            "authors": format!("/api/v1/crates/{krate}/{num}/authors"),
        },
        "crate_size": 1234,
        "published_by": by.map(|(id, login)| public_user(id, login)),
        "audit_actions": by.map(|(id, login)| vec![json!({
            "action": "publish",
            "user": public_user(id, login),
            "time": time,
        })]).unwrap_or_default(),
        "checksum": format!("{:064x}", at),
        "rust_version": null,
        "has_lib": true,
        "bin_names": [],
        "edition": "2021",
        "description": "a crate, with \"quotes\"",
        "homepage": null,
        "documentation": null,
        "repository": "https://github.com/o/alpha",
        "trustpub_data": trustpub,
        "linecounts": null,
    })
}

fn owners_path(krate: &str, kind: &str) -> String {
    format!("/api/v1/crates/{krate}/owner_{kind}")
}

fn serve_owners(server: &Server, krate: &str, users: &[Value], teams: &[Value]) {
    server.fault(&owners_path(krate, "user"), json_fault(&json!({ "users": users })));
    server.fault(&owners_path(krate, "team"), json_fault(&json!({ "teams": teams })));
}

fn ids(owners: &Option<Vec<Owner>>) -> Option<Vec<u64>> {
    owners.as_ref().map(|o| o.iter().map(|o| o.id).collect())
}

/// Gaps between consecutive requests as the server saw them.
fn gaps(server: &Server) -> Vec<Duration> {
    let reqs = server.requests();
    reqs.windows(2).map(|w| w[1].at.duration_since(w[0].at)).collect()
}

#[test]
fn api_reads_users_and_teams_with_nulls() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    serve_owners(
        &server,
        "alpha",
        &[
            api_user(3618, "dtolnay", Some("David Tolnay")),
            api_user(9, "ghost", None),
        ],
        &[api_team(42, "github:serde-rs:publish")],
    );
    let mut src = api(&server, Duration::from_millis(10), 0);
    let obs = src.owners(&name("alpha"), &Clock::fixed(T0));
    assert_eq!(obs.observed_at, T0);
    assert_eq!(obs.source, Source::Api);
    assert!(obs.is_complete(), "{:?}", obs.errors);
    assert_eq!(ids(&obs.users), Some(vec![3618, 9]));
    let team = &obs.teams.as_ref().unwrap()[0];
    assert_eq!(
        (team.kind, team.id, team.login.as_str()),
        (OwnerKind::Team, 42, "github:serde-rs:publish")
    );
    for r in server.requests() {
        assert_eq!(
            r.header("user-agent").unwrap(),
            format!("cargofox/{} (+{CONTACT})", env!("CARGO_PKG_VERSION"))
        );
    }
    assert_eq!(src.requests(), 2);
}

#[test]
fn api_retries_429_and_500_with_spacing() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    let users = json!({"users": [api_user(1, "alice", None)]});
    server.fault(
        &owners_path("alpha", "user"),
        Fault::status(429).header("Retry-After", "1"),
    );
    server.fault(&owners_path("alpha", "user"), json_fault(&users));
    server.fault(&owners_path("alpha", "team"), Fault::status(500));
    server.fault(&owners_path("alpha", "team"), Fault::status(503));
    server.fault(&owners_path("alpha", "team"), json_fault(&json!({"teams": []})));
    let interval = Duration::from_millis(150);
    let mut src = api(&server, interval, 3);
    let obs = src.owners(&name("alpha"), &Clock::fixed(T0));
    assert!(obs.is_complete(), "{:?}", obs.errors);
    assert_eq!(ids(&obs.users), Some(vec![1]));
    let statuses: Vec<Option<u16>> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(429), Some(200), Some(500), Some(503), Some(200)]);
    let g = gaps(&server);
    assert!(g[0] >= Duration::from_secs(1), "Retry-After: 1 not honoured: {g:?}");
    for gap in &g {
        assert!(*gap >= interval, "requests {interval:?} apart at least, saw {g:?}");
    }
}

#[test]
fn api_failure_is_reported_not_mistaken_for_no_owners() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    server.fault_times(&owners_path("alpha", "user"), Fault::status(500), 2);
    server.fault(&owners_path("alpha", "team"), json_fault(&json!({"teams": []})));
    let mut src = api(&server, Duration::from_millis(10), 1);
    let obs = src.owners(&name("alpha"), &Clock::fixed(T0));
    assert_eq!(obs.users, None);
    assert_eq!(obs.teams, Some(vec![]));
    assert!(obs.errors[0].contains("HTTP 500"), "{:?}", obs.errors);
    // A crate the registry does not know (404 on both): nothing observed.
    let obs = src.owners(&name("nosuch"), &Clock::fixed(T0));
    assert!(obs.is_failed());
    assert_eq!(obs.errors.len(), 2);
    // Garbage where JSON was expected is a failure too.
    server.fault(&owners_path("beta", "user"), Fault::status(200).body("<html>"));
    let obs = src.owners(&name("beta"), &Clock::fixed(T0));
    assert_eq!(obs.users, None);
}

#[test]
fn api_versions_follow_pages_and_read_trusted_publishing() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let page1 = json!({
        "versions": [
            api_version("alpha", "1.2.0", T0 + 11 * DAY, Some((66, "mallory")), Value::Null),
            api_version("alpha", "1.1.0", T0 + 5 * DAY, None,
                json!({"provider": "github", "repository": "o/alpha", "run_id": "987654", "sha": sha})),
        ],
        "meta": {"total": 3, "next_page": "?per_page=100&seek=WzEsMl0"},
    });
    let page2 = json!({
        "versions": [api_version("alpha", "1.0.0", T0, Some((1, "alice")), Value::Null)],
        "meta": {"total": 3, "next_page": null},
    });
    let path = "/api/v1/crates/alpha/versions";
    server.fault(path, json_fault(&page1));
    server.fault(path, json_fault(&page2));
    let mut src = api(&server, Duration::from_millis(10), 0);
    let fetched = src.versions(&name("alpha"));
    assert!(fetched.error.is_none(), "{:?}", fetched.error);
    let targets: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            format!("{path}?per_page=100"),
            format!("{path}?per_page=100&seek=WzEsMl0")
        ]
    );
    let recs: std::collections::BTreeMap<_, _> = fetched.records.into_iter().collect();
    let v110 = &recs["1.1.0"];
    assert_eq!(v110.publish_method, PublishMethod::TrustedPublishing);
    assert_eq!(v110.published_by, None);
    let tp = v110.trusted_publishing.as_ref().unwrap();
    assert_eq!(
        (tp.provider.as_str(), tp.repository.as_deref(), tp.sha.as_deref()),
        ("github", Some("o/alpha"), Some(sha))
    );
    assert_eq!(tp.details.get("run_id"), Some(&json!("987654")));
    let v120 = &recs["1.2.0"];
    assert_eq!(v120.publish_method, PublishMethod::Token);
    assert_eq!(
        v120.published_by.as_ref().map(|u| (u.id, u.login.as_str())),
        Some((66, "mallory"))
    );
    assert_eq!(v120.published_at, Some(T0 + 11 * DAY));
    assert_eq!(v120.audit_actions.len(), 1);
    assert_eq!(v120.audit_actions[0].action, "publish");
    assert_eq!(
        v120.checksum.as_deref(),
        Some(format!("{:064x}", T0 + 11 * DAY).as_str())
    );

    // One version, with build metadata in its number.
    server.fault(
        "/api/v1/crates/alpha/1.3.0+meta",
        json_fault(
            &json!({"version": api_version("alpha", "1.3.0+meta", T0 + 20 * DAY, Some((1, "alice")), Value::Null)}),
        ),
    );
    let (num, rec) = src.version(&name("alpha"), "1.3.0+meta").unwrap();
    assert_eq!(num, "1.3.0+meta");
    assert_eq!(rec.publish_method, PublishMethod::Token);
    assert!(server.requests().last().unwrap().target.ends_with("/1.3.0%2Bmeta"));

    // A page that fails keeps what was read before it.
    server.fault(path, json_fault(&page1));
    server.fault(path, Fault::status(404));
    let partial = src.versions(&name("alpha"));
    assert_eq!(partial.records.len(), 2);
    assert!(matches!(partial.error, Some(ApiError::Net(_))));
}

#[test]
fn api_refuses_crates_io_without_contact_or_too_fast() {
    let net = network(0);
    let cfg = |contact: Option<&str>, interval: Option<Duration>| ApiConfig {
        base: CRATES_IO_API.into(),
        contact: contact.map(str::to_owned),
        min_interval: interval,
        cache_dir: None,
    };
    let err = ApiSource::new(&net, cfg(None, None)).unwrap_err();
    assert!(matches!(err, ApiError::NoContact { .. }), "{err}");
    assert!(err.to_string().contains("--contact"), "{err}");
    assert!(matches!(
        ApiSource::new(&net, cfg(Some("  "), None)),
        Err(ApiError::NoContact { .. })
    ));
    assert!(matches!(
        ApiSource::new(&net, cfg(Some("someone@else.org"), None)),
        Err(ApiError::ContactNotSent { .. })
    ));
    assert!(matches!(
        ApiSource::new(&net, cfg(Some(CONTACT), Some(Duration::from_millis(500)))),
        Err(ApiError::TooFast { .. })
    ));
    let src = ApiSource::new(&net, cfg(Some(CONTACT), None)).unwrap();
    assert_eq!(src.limiter().interval(), Duration::from_secs(1));
    // A private registry: no contact needed, any pace.
    let private = ApiConfig {
        base: "http://127.0.0.1:9".into(),
        contact: None,
        min_interval: Some(Duration::from_millis(1)),
        cache_dir: None,
    };
    assert!(ApiSource::new(&net, private).is_ok());
    assert!(matches!(
        ApiSource::new(
            &net,
            ApiConfig {
                base: "ftp://x".into(),
                ..cfg(Some(CONTACT), None)
            }
        ),
        Err(ApiError::BadBase(_))
    ));
}

/// Virtual time: `sleep` advances it at once.
#[derive(Clone, Default)]
struct FakeTicker(Arc<Mutex<Duration>>);

impl Ticker for FakeTicker {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }

    fn sleep(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

#[test]
fn api_default_pace_is_one_request_a_second_in_virtual_time() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    for k in ["a", "b", "c"] {
        serve_owners(&server, k, &[api_user(1, "alice", None)], &[]);
    }
    let ticker = FakeTicker::default();
    let net = network(0);
    let cfg = ApiConfig {
        base: server.base_url(),
        contact: Some(CONTACT.into()),
        min_interval: None,
        cache_dir: None,
    };
    let mut src = ApiSource::new(&net, cfg).unwrap().with_ticker(Box::new(ticker.clone()));
    let started = Instant::now();
    for k in ["a", "b", "c"] {
        assert!(src.owners(&name(k), &Clock::fixed(T0)).is_complete());
    }
    let starts = src.limiter().starts().to_vec();
    assert_eq!(starts.len(), 6);
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= Duration::from_secs(1), "{starts:?}");
    }
    assert!(ticker.now() >= Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(5), "virtual time must not wait");
}

#[test]
fn api_default_pace_in_real_time() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    serve_owners(&server, "alpha", &[api_user(1, "alice", None)], &[]);
    server.fault(
        "/api/v1/crates/alpha/versions",
        json_fault(&json!({"versions": [], "meta": {"total": 0, "next_page": null}})),
    );
    let net = network(0);
    let cfg = ApiConfig {
        base: server.base_url(),
        contact: Some(CONTACT.into()),
        min_interval: None,
        cache_dir: None,
    };
    let mut src = ApiSource::new(&net, cfg).unwrap();
    assert!(src.owners(&name("alpha"), &Clock::fixed(T0)).is_complete());
    assert!(src.versions(&name("alpha")).error.is_none());
    let g = gaps(&server);
    assert_eq!(g.len(), 2);
    assert!(g.iter().all(|g| *g >= Duration::from_secs(1)), "{g:?}");
}

#[test]
fn api_conditional_requests_reuse_the_cache() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    let cache = temp_dir();
    let users = json!({"users": [api_user(1, "alice", None)]});
    server.fault(
        &owners_path("alpha", "user"),
        json_fault(&users).header("ETag", "\"u1\""),
    );
    server.fault(&owners_path("alpha", "team"), json_fault(&json!({"teams": []})));
    let make = || {
        ApiSource::new(
            &network(0),
            ApiConfig {
                base: server.base_url(),
                contact: None,
                min_interval: Some(Duration::from_millis(5)),
                cache_dir: Some(cache.path().join("api")),
            },
        )
        .unwrap()
    };
    let first = make().owners(&name("alpha"), &Clock::fixed(T0));
    // The next run: the server answers 304 to the conditional request.
    server.clear_requests();
    server.fault(&owners_path("alpha", "user"), Fault::status(304));
    server.fault(&owners_path("alpha", "team"), json_fault(&json!({"teams": []})));
    let second = make().owners(&name("alpha"), &Clock::fixed(T0 + DAY));
    let sent = server.requests_to(&owners_path("alpha", "user"));
    assert_eq!(sent[0].header("if-none-match"), Some("\"u1\""));
    assert_eq!(
        server.requests_to(&owners_path("alpha", "team"))[0].header("if-none-match"),
        None
    );
    assert_eq!(second.users, first.users);
    assert!(second.is_complete());
}

/// Several syncs against the API server: owners added, a partial fetch, a
/// failed one, then a removal; the versions; the signals of each release.
#[test]
fn history_across_api_syncs_and_signals() {
    let reg = TestRegistry::new();
    let server = serve(&reg);
    let mut src = api(&server, Duration::from_millis(5), 0);
    let krate = name("alpha");
    let mut file = OwnersFile::new(&krate);
    let alice = || api_user(1, "alice", Some("Alice"));
    let mallory = || api_user(66, "mallory", None);
    let team = || api_team(42, "github:o:publish");
    let mut sync = |file: &mut OwnersFile, day: i64| observe(file, src.owners(&krate, &Clock::fixed(T0 + day * DAY)));

    serve_owners(&server, "alpha", &[alice()], &[team()]);
    assert!(sync(&mut file, 1).is_empty(), "the first observation is the baseline");
    serve_owners(&server, "alpha", &[alice()], &[team()]);
    assert!(sync(&mut file, 6).is_empty());
    serve_owners(&server, "alpha", &[alice(), mallory()], &[team()]);
    let added = sync(&mut file, 10);
    assert_eq!(added.len(), 1);
    assert_eq!((added[0].change, added[0].owner.id), (ChangeKind::Added, 66));
    assert_eq!(
        (added[0].previous_observed_at, added[0].observed_at),
        (T0 + 6 * DAY, T0 + 10 * DAY)
    );
    // Users fail, teams answer: no removal, the teams are recorded.
    server.fault(&owners_path("alpha", "user"), Fault::status(500));
    server.fault(&owners_path("alpha", "team"), json_fault(&json!({"teams": [team()]})));
    assert!(sync(&mut file, 12).is_empty(), "a failed fetch is no removal");
    // Both fail: nothing recorded at all.
    let before = file.clone();
    assert!(sync(&mut file, 13).is_empty());
    assert_eq!(file, before);
    // Alice really is gone, and the team too.
    serve_owners(&server, "alpha", &[mallory()], &[]);
    let removed = sync(&mut file, 14);
    let got: Vec<(ChangeKind, OwnerKind, u64, i64)> = removed
        .iter()
        .map(|c| (c.change, c.owner.kind, c.owner.id, c.previous_observed_at))
        .collect();
    assert_eq!(
        got,
        [
            (ChangeKind::Removed, OwnerKind::User, 1, T0 + 10 * DAY),
            (ChangeKind::Removed, OwnerKind::Team, 42, T0 + 12 * DAY)
        ]
    );
    assert_eq!(file.observations.len(), 4);
    assert_eq!(file.observations[0].count, 2);
    assert_eq!(file.observations[2].users, None);
    assert_eq!(file.changes.len(), 3);
    assert_eq!(file.last_complete_observation_at(), Some(T0 + 14 * DAY));

    // The versions, from the API.
    let tp = json!({"provider": "github", "repository": "o/alpha", "run_id": "1", "sha": "abc123"});
    server.fault(
        "/api/v1/crates/alpha/versions",
        json_fault(&json!({"versions": [
            api_version("alpha", "1.2.0", T0 + 11 * DAY, Some((66, "mallory")), Value::Null),
            api_version("alpha", "1.1.0", T0 + 5 * DAY, None, tp),
            api_version("alpha", "1.0.0", T0, Some((1, "alice")), Value::Null),
        ], "meta": {"total": 3, "next_page": null}})),
    );
    for (v, rec) in src.versions(&krate).records {
        assert!(file.record_version(&v, rec));
    }

    // The file round-trips byte for byte.
    let text = file.to_json().unwrap();
    let back = OwnersFile::from_json(text.as_bytes()).unwrap();
    assert_eq!(back, file);
    assert_eq!(back.to_json().unwrap(), text);
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&text)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["changes", "crate", "observations", "schema_version", "versions"]);
    assert!(
        text.starts_with("{\n  \"schema_version\": 1,\n  \"crate\": \"alpha\","),
        "{text}"
    );
    assert!(text.contains("\"publish_method\": \"trusted-publishing\""));
    assert!(text.contains("\"first_observed_at\": \"2025-01-02T00:00:00Z\""));

    let codes = |version: &str| -> Vec<&'static str> {
        let release = Release::from_history(&file, version).unwrap();
        signals(&file, &release, &SignalOptions::default())
            .into_iter()
            .map(|s| s.code)
            .collect()
    };
    assert_eq!(codes("1.0.0"), Vec::<&str>::new());
    assert_eq!(
        codes("1.1.0"),
        ["first-release-by-publisher"],
        "first trusted-publishing release"
    );
    assert_eq!(
        codes("1.2.0"),
        [
            "owner-added",
            "owner-removed",
            "first-release-by-publisher",
            "owner-added-before-release",
            "trusted-publishing-dropped"
        ]
    );
    let release = Release::from_history(&file, "1.2.0").unwrap();
    assert_eq!(release.previous, Some(("1.1.0", T0 + 5 * DAY)));
    let s = signals(&file, &release, &SignalOptions::default());
    let added = &s[0];
    assert_eq!(added.kind, "inference");
    assert_eq!(added.evidence[0].value, "user mallory (id 66)");
    assert!(
        added.evidence[1]
            .value
            .contains("after 2025-01-07T00:00:00Z and by 2025-01-11T00:00:00Z")
    );
    assert!(!added.summary.contains("mallory"), "summaries hold trusted text only");
    // A later release: alice's removal may still lie after 1.2.0, mallory's addition may not.
    let later = Release {
        version: "1.3.0",
        published_at: T0 + 20 * DAY,
        previous: Some(("1.2.0", T0 + 11 * DAY)),
    };
    let later: Vec<_> = signals(&file, &later, &SignalOptions::default())
        .into_iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(later, ["owner-removed", "owner-added-before-release"]);
    let narrow = SignalOptions { added_window_days: 5 };
    let later = Release {
        version: "1.3.0",
        published_at: T0 + 20 * DAY,
        previous: Some(("1.2.0", T0 + 11 * DAY)),
    };
    assert!(
        signals(&file, &later, &narrow)
            .iter()
            .all(|s| s.code != "owner-added-before-release")
    );
}

#[test]
fn history_ignores_stale_and_repeated_observations() {
    let mut file = OwnersFile::new(&name("alpha"));
    let obs = |at: i64, source: Source, users: &[u64]| Observation {
        observed_at: at,
        source,
        users: Some(
            users
                .iter()
                .map(|&id| Owner::new(OwnerKind::User, id, &format!("u{id}")))
                .collect(),
        ),
        teams: Some(vec![]),
        errors: vec![],
    };
    assert!(observe(&mut file, obs(T0, Source::Dump, &[1])).is_empty());
    assert_eq!(observe(&mut file, obs(T0 + DAY, Source::Api, &[2, 1])).len(), 1);
    let snapshot = file.clone();
    // The same dump read again, and an older dump: no change, no removal.
    assert!(observe(&mut file, obs(T0 + DAY, Source::Api, &[1, 2])).is_empty());
    assert!(observe(&mut file, obs(T0 + DAY / 2, Source::Dump, &[1])).is_empty());
    assert_eq!(file, snapshot);
    // The same owners from the other source at a later time extend the run.
    assert!(observe(&mut file, obs(T0 + 2 * DAY, Source::Dump, &[1, 2])).is_empty());
    assert_eq!(file.observations.len(), 2);
    assert_eq!(file.observations[1].count, 2);
    assert_eq!(
        file.observations[1].sources,
        BTreeSet::from([Source::Api, Source::Dump])
    );
    // A newer schema is refused, not misread.
    let text = file
        .to_json()
        .unwrap()
        .replace("\"schema_version\": 1", "\"schema_version\": 2");
    assert!(matches!(
        OwnersFile::from_json(text.as_bytes()),
        Err(HistoryError::Schema { found: 2, .. })
    ));
}

// ---------------------------------------------------------------------------
// Generated dumps

/// A `.tar.gz` with these entries (`None`: a directory), in order.
fn tar_gz(entries: &[(String, Option<Vec<u8>>)]) -> Vec<u8> {
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(enc);
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        match data {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                tar.append_data(&mut h, path, std::io::empty()).unwrap();
            }
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(d.len() as u64);
                tar.append_data(&mut h, path, d.as_slice()).unwrap();
            }
        }
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// `crates.csv` columns, as crates.io's dump has them (PostgreSQL's
/// alphabetical order).
const CRATES_COLUMNS: &[&str] = &[
    "created_at",
    "description",
    "documentation",
    "homepage",
    "id",
    "max_features",
    "max_upload_size",
    "name",
    "readme",
    "repository",
    "updated_at",
];

/// `versions.csv` columns, likewise.
const VERSIONS_COLUMNS: &[&str] = &[
    "bin_names",
    "checksum",
    "crate_id",
    "crate_size",
    "created_at",
    "downloads",
    "features",
    "has_lib",
    "id",
    "license",
    "links",
    "num",
    "num_no_build",
    "published_by",
    "rust_version",
    "updated_at",
    "yanked",
];

fn csv(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// PostgreSQL's text form of a timestamp.
fn pg_time(t: i64) -> String {
    cargofox::output::format_utc(t)
        .replace('T', " ")
        .replace('Z', ".654321")
}

fn s(x: impl ToString) -> String {
    x.to_string()
}

struct DumpFixture {
    /// Table name -> CSV bytes, written in crates.io's order.
    tables: Vec<(&'static str, Vec<u8>)>,
    timestamp: String,
}

impl DumpFixture {
    /// Three crates: alpha (alice created it, a team added on day 3,
    /// mallory on day 9 by alice), beta (bob), gamma (no owners); real column
    /// names in PostgreSQL's alphabetical order, extra columns and tables.
    fn standard() -> Self {
        let crates = csv(
            CRATES_COLUMNS,
            &[
                vec![
                    pg_time(T0),
                    s("Alpha, \"the first\""),
                    s(""),
                    s(""),
                    s(1),
                    s(""),
                    s(""),
                    s("alpha"),
                    s("# Alpha\n\nA readme, with \"quotes\",\nand lines.\n"),
                    s("https://github.com/o/alpha"),
                    pg_time(T0),
                ],
                vec![
                    pg_time(T0),
                    s("beta"),
                    s(""),
                    s(""),
                    s(2),
                    s(""),
                    s(""),
                    s("beta"),
                    s(""),
                    s(""),
                    pg_time(T0),
                ],
                vec![
                    pg_time(T0),
                    s("gamma"),
                    s(""),
                    s(""),
                    s(3),
                    s(""),
                    s(""),
                    s("gamma"),
                    s(""),
                    s(""),
                    pg_time(T0),
                ],
            ],
        );
        let teams = csv(
            &["avatar", "github_id", "id", "login", "name", "org_id"],
            &[vec![s(""), s(77), s(42), s("github:o:publish"), s("Publishers"), s(78)]],
        );
        let users = csv(
            &["gh_avatar", "gh_id", "gh_login", "id", "name"],
            &[
                vec![s("https://a/1"), s(11), s("alice"), s(1), s("Alice, \"A\"")],
                vec![s(""), s(12), s("bob"), s(2), s("")],
                vec![s(""), s(13), s("mallory"), s(66), s("")],
            ],
        );
        let owners = csv(
            &["crate_id", "created_at", "created_by", "owner_id", "owner_kind"],
            &[
                vec![s(1), pg_time(T0), s(""), s(1), s(0)],
                vec![s(1), pg_time(T0 + 9 * DAY), s(1), s(66), s(0)],
                vec![s(1), pg_time(T0 + 3 * DAY), s(1), s(42), s(1)],
                vec![s(2), pg_time(T0), s(""), s(2), s(0)],
            ],
        );
        let version = |id: u64, krate: u64, num: &str, day: i64, by: &str, yanked: &str| {
            vec![
                s("{}"),
                format!("{:064x}", id),
                s(krate),
                s(1234),
                pg_time(T0 + day * DAY),
                s(99),
                s("{\"default\":[\"std\"],\"std\":[]}"),
                s("t"),
                s(id),
                s("MIT"),
                s(""),
                s(num),
                s(num),
                s(by),
                s(""),
                pg_time(T0 + day * DAY),
                s(yanked),
            ]
        };
        let versions = csv(
            VERSIONS_COLUMNS,
            &[
                version(10, 1, "1.0.0", 0, "1", "f"),
                version(11, 2, "0.1.0", 1, "2", "f"),
                version(12, 1, "1.1.0", 5, "", "f"),
                version(13, 1, "1.2.0", 11, "66", "t"),
            ],
        );
        let junk = |h: &str| csv(&[h, "x"], &[vec![s(1), s("a,\"b\"\nc")]]);
        DumpFixture {
            tables: vec![
                ("categories", junk("category")),
                ("crate_downloads", junk("crate_id")),
                ("crates", crates),
                ("keywords", junk("keyword")),
                ("metadata", junk("total_downloads")),
                ("reserved_crate_names", junk("name")),
                ("teams", teams),
                ("users", users),
                ("crates_categories", junk("category_id")),
                ("crates_keywords", junk("crate_id")),
                ("crate_owners", owners),
                ("versions", versions),
                ("default_versions", junk("crate_id")),
                ("dependencies", junk("crate_id")),
                ("version_downloads", junk("date")),
            ],
            timestamp: "2025-01-15T02:00:21.810126238Z".into(),
        }
    }

    fn table(&mut self, name: &str) -> &mut Vec<u8> {
        &mut self.tables.iter_mut().find(|(n, _)| *n == name).unwrap().1
    }

    /// The archive as crates.io lays it out.
    fn entries(&self) -> Vec<(String, Option<Vec<u8>>)> {
        let dir = "2025-01-15-020021";
        let mut e = vec![
            (dir.to_owned(), None),
            (
                format!("{dir}/README.md"),
                Some(b"# crates.io Database Dump\n".to_vec()),
            ),
            (format!("{dir}/export.sql"), Some(b"BEGIN;\nCOMMIT;\n".to_vec())),
            (format!("{dir}/import.sql"), Some(b"BEGIN;\nCOMMIT;\n".to_vec())),
            (
                format!("{dir}/metadata.json"),
                Some(
                    serde_json::to_vec_pretty(&json!({"timestamp": self.timestamp, "crates_io_commit": "42df592c"}))
                        .unwrap(),
                ),
            ),
            (format!("{dir}/schema.sql"), Some(b"-- schema\n".to_vec())),
            (format!("{dir}/data"), None),
        ];
        for (t, bytes) in &self.tables {
            e.push((format!("{dir}/data/{t}.csv"), Some(bytes.clone())));
        }
        e
    }

    fn gz(&self) -> Vec<u8> {
        tar_gz(&self.entries())
    }
}

fn only(names: &[&str]) -> CrateFilter {
    CrateFilter::Only(names.iter().map(|n| name(n)).collect())
}

#[test]
fn dump_filtered_read_has_owners_publishers_and_dates() {
    let dump = DumpFixture::standard().gz();
    let data = DumpReader::new(only(&["alpha", "gamma", "missing"]))
        .read_all(dump.as_slice())
        .unwrap();
    assert_eq!(data.metadata.timestamp, T0 + 14 * DAY + 2 * 3600 + 21);
    assert_eq!(data.metadata.crates_io_commit.as_deref(), Some("42df592c"));
    assert_eq!(
        data.crates.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["alpha", "gamma"]
    );
    let alpha = &data.crates[&name("alpha")];
    assert_eq!(alpha.id, 1);
    let users = alpha.users.as_ref().unwrap();
    assert_eq!(
        users.iter().map(|o| (o.id, o.login.as_str())).collect::<Vec<_>>(),
        [(1, "alice"), (66, "mallory")]
    );
    assert_eq!(users[1].since, Some(T0 + 9 * DAY));
    assert_eq!(users[1].added_by.as_ref().map(|u| u.login.as_str()), Some("alice"));
    assert_eq!(users[0].added_by, None);
    let teams = alpha.teams.as_ref().unwrap();
    assert_eq!(
        (teams[0].kind, teams[0].login.as_str()),
        (OwnerKind::Team, "github:o:publish")
    );
    let gamma = &data.crates[&name("gamma")];
    assert_eq!(
        (gamma.users.as_deref(), gamma.teams.as_deref()),
        (Some(&[][..]), Some(&[][..]))
    );

    let versions: Vec<(&str, Option<&str>, Option<bool>)> = alpha
        .versions
        .iter()
        .map(|v| {
            (
                v.num.as_str(),
                v.published_by.as_ref().map(|u| u.login.as_str()),
                v.yanked,
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("1.0.0", Some("alice"), Some(false)),
            ("1.1.0", None, Some(false)),
            ("1.2.0", Some("mallory"), Some(true))
        ]
    );
    assert_eq!(alpha.versions[0].checksum.unwrap().to_hex(), format!("{:064x}", 10));
    assert_eq!(alpha.versions[2].created_at, Some(T0 + 11 * DAY));

    let stats = &data.stats;
    assert_eq!(stats.tables["versions"].rows, 4);
    assert_eq!(stats.tables["versions"].kept, 3);
    assert_eq!(stats.tables["crate_owners"].kept, 3);
    assert_eq!(stats.tables["crates"].kept, 2);
    assert!(
        !stats.tables.contains_key("dependencies"),
        "other tables are skipped unparsed"
    );
    assert!(stats.owners_emitted);

    // Into the history: an observation dated by the dump, and version records.
    let mut file = OwnersFile::new(&name("alpha"));
    let obs = data.observation(&name("alpha")).unwrap();
    assert_eq!((obs.source, obs.observed_at), (Source::Dump, data.metadata.timestamp));
    assert!(observe(&mut file, obs).is_empty());
    assert!(data.observation(&name("missing")).is_none());
    for (v, rec) in data.version_records(&name("alpha")) {
        file.record_version(&v, rec);
    }
    assert_eq!(
        file.versions["1.1.0"].publish_method,
        PublishMethod::Unknown,
        "the dump keeps trustpub_data private"
    );
    // The registry's dates make the takeover pattern visible from the first observation.
    let events = file.events();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.exact && e.change == ChangeKind::Added));
    let codes: Vec<&str> = signals(
        &file,
        &Release::from_history(&file, "1.2.0").unwrap(),
        &SignalOptions::default(),
    )
    .iter()
    .map(|s| s.code)
    .collect();
    assert_eq!(
        codes,
        [
            "owner-added",
            "first-release-by-publisher",
            "owner-added-before-release"
        ]
    );
    // alice created the crate with 1.0.0: a release right after it raises nothing.
    let early = Release {
        version: "1.0.1",
        published_at: T0 + DAY,
        previous: Some(("1.0.0", T0)),
    };
    assert!(signals(&file, &early, &SignalOptions::default()).is_empty());

    // Without version records the registry's earliest date stands for the
    // crate's creation: alice is not flagged, the team and mallory are.
    let mut bare = OwnersFile::new(&name("alpha"));
    observe(&mut bare, data.observation(&name("alpha")).unwrap());
    let release = Release {
        version: "1.2.0",
        published_at: T0 + 11 * DAY,
        previous: Some(("1.1.0", T0 + 5 * DAY)),
    };
    let s = signals(&bare, &release, &SignalOptions::default());
    assert_eq!(
        s.iter().map(|s| s.code).collect::<Vec<_>>(),
        ["owner-added", "owner-added-before-release"]
    );
    assert!(
        s[1].summary.starts_with("2 owners added within 30 days"),
        "{}",
        s[1].summary
    );
    assert_eq!(s[1].evidence[0].value, "team github:o:publish (id 42)");
    assert_eq!(s[1].evidence[1].value, "at 2025-01-04T00:00:00Z (the registry's date)");
}

#[test]
fn dump_bulk_mode_streams_every_crate() {
    let dump = DumpFixture::standard().gz();
    let mut items = Vec::new();
    let stats = DumpReader::new(CrateFilter::All)
        .read(dump.as_slice(), |i| items.push(i))
        .unwrap();
    assert!(matches!(items[0], DumpItem::Metadata(_)));
    let owners: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            DumpItem::Owners(o) => Some(o.krate.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(owners, ["alpha", "beta", "gamma"]);
    let versions = items.iter().filter(|i| matches!(i, DumpItem::Version { .. })).count();
    assert_eq!(versions, 4);
    assert_eq!(stats.tables["versions"].kept, 4);
    assert!(stats.csv_bytes() > 0);
}

#[test]
fn dump_columns_in_any_order_with_extras_and_late_users() {
    let mut f = DumpFixture::standard();
    // users.csv with `username` instead of `gh_login`, columns shuffled and
    // an extra one; versions with columns shuffled.
    *f.table("users") = csv(
        &["username", "extra", "id"],
        &[vec![s("alice"), s("x"), s(1)], vec![s("mallory"), s("y"), s(66)]],
    );
    *f.table("versions") = csv(
        &[
            "yanked",
            "num",
            "new_column",
            "published_by",
            "crate_id",
            "id",
            "created_at",
            "checksum",
        ],
        &[vec![
            s("f"),
            s("1.0.0"),
            s("z"),
            s(1),
            s(1),
            s(10),
            pg_time(T0),
            format!("{:064X}", 10),
        ]],
    );
    // users.csv moved after the tables that refer to it.
    let users = f
        .tables
        .remove(f.tables.iter().position(|(n, _)| *n == "users").unwrap());
    f.tables.push(users);
    let data = DumpReader::new(only(&["alpha"])).read_all(f.gz().as_slice()).unwrap();
    let alpha = &data.crates[&name("alpha")];
    assert_eq!(alpha.users.as_ref().unwrap()[1].login, "mallory");
    assert_eq!(
        alpha.users.as_ref().unwrap()[1].added_by.as_ref().unwrap().login,
        "alice"
    );
    assert_eq!(alpha.versions[0].published_by.as_ref().unwrap().login, "alice");
    assert_eq!(alpha.versions[0].checksum.unwrap().to_hex(), format!("{:064x}", 10));
}

#[test]
fn dump_damage_never_yields_owner_sets() {
    let f = DumpFixture::standard();
    let full = f.gz();
    // Cut inside crate_owners.csv: an error, and no owner set was handed over.
    let entries = f.entries();
    let before_owners: usize = entries
        .iter()
        .take_while(|(p, _)| !p.ends_with("crate_owners.csv"))
        .map(|(_, d)| 512 + d.as_ref().map_or(0, |d| d.len().div_ceil(512) * 512))
        .sum();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(full.as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    let cut = &tar[..before_owners + 512 + 40];
    let mut items = Vec::new();
    let result = DumpReader::new(CrateFilter::All).read(cut, |i| items.push(i));
    assert!(matches!(result, Err(DumpError::Io(_))), "{result:?}");
    assert!(!items.iter().any(|i| matches!(i, DumpItem::Owners(_))));
    // A gzip stream cut short is an error too.
    let result = DumpReader::new(only(&["alpha"])).read_all(&full[..full.len() / 2]);
    assert!(result.is_err());

    // An unreadable owner row: that crate gets no owner set, the others do.
    let mut g = DumpFixture::standard();
    g.table("crate_owners")
        .extend_from_slice(b"1,2025-01-01 00:00:00,,notanumber,0\n");
    let data = DumpReader::new(only(&["alpha", "beta"]))
        .read_all(g.gz().as_slice())
        .unwrap();
    assert!(data.observation(&name("alpha")).is_none());
    assert!(data.observation(&name("beta")).is_some());
    assert_eq!(data.stats.tables["crate_owners"].bad, 1);

    // A history fed from it keeps alpha's owners.
    let mut file = OwnersFile::new(&name("alpha"));
    let good = DumpReader::new(only(&["alpha"])).read_all(full.as_slice()).unwrap();
    observe(&mut file, good.observation(&name("alpha")).unwrap());
    if let Some(obs) = data.observation(&name("alpha")) {
        observe(&mut file, obs);
    }
    assert!(file.changes.is_empty());
}

#[test]
fn dump_layout_errors_are_clear() {
    let mut f = DumpFixture::standard();
    let crates = f
        .tables
        .remove(f.tables.iter().position(|(n, _)| *n == "crates").unwrap());
    f.tables.push(crates);
    let err = DumpReader::new(CrateFilter::All)
        .read_all(f.gz().as_slice())
        .unwrap_err();
    assert!(matches!(err, DumpError::Layout(_)), "{err}");
    assert!(err.to_string().contains("crates.csv"), "{err}");

    let mut g = DumpFixture::standard();
    *g.table("crate_owners") = csv(&["crate_id", "owner_id"], &[vec![s(1), s(1)]]);
    let err = DumpReader::new(CrateFilter::All)
        .read_all(g.gz().as_slice())
        .unwrap_err();
    assert!(
        matches!(
            err,
            DumpError::MissingColumn {
                table: "crate_owners",
                column: "owner_kind"
            }
        ),
        "{err}"
    );

    let mut h = DumpFixture::standard();
    h.timestamp = "yesterday".into();
    let err = DumpReader::new(CrateFilter::All)
        .read_all(h.gz().as_slice())
        .unwrap_err();
    assert!(matches!(err, DumpError::Metadata(_)), "{err}");

    // An uncompressed tar is read as well.
    let mut tar = Vec::new();
    let gz = DumpFixture::standard().gz();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    assert!(DumpReader::new(only(&["beta"])).read_all(tar.as_slice()).is_ok());
}

use std::io::Read;

// ---------------------------------------------------------------------------
// Benchmark: a dump with the real one's owner and version tables' sizes.
//
//   CARGOFOX_DUMP_BENCH=/tmp/bench-dump.tar.gz cargo test --release --test tests \
//       owners::bench_dump_write -- --ignored --nocapture
//   CARGOFOX_DUMP_BENCH=/tmp/bench-dump.tar.gz /usr/bin/time -v \
//       target/release/deps/tests-<hash> owners::bench_dump_read --ignored --nocapture

const BENCH_CRATES: u64 = 200_000;
const BENCH_USERS: u64 = 1_000_000;
const BENCH_TEAMS: u64 = 5_000;
const BENCH_OWNERS: u64 = 400_000;
const BENCH_VERSIONS: u64 = 2_000_000;

fn bench_path() -> std::path::PathBuf {
    std::env::var_os("CARGOFOX_DUMP_BENCH")
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join("cargofox-bench-dump.tar.gz"))
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn write_table(
    dir: &std::path::Path,
    table: &str,
    header: &[&str],
    rows: u64,
    mut row: impl FnMut(u64, &mut Vec<String>),
) -> std::path::PathBuf {
    let path = dir.join(format!("{table}.csv"));
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
    let mut w = csv::Writer::from_writer(file);
    w.write_record(header).unwrap();
    let mut rec = Vec::new();
    for i in 1..=rows {
        rec.clear();
        row(i, &mut rec);
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
#[ignore = "benchmark: writes a dump of about 1.3 GB of CSV"]
fn bench_dump_write() {
    let out = bench_path();
    let work = temp_dir();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let readme = "# A crate\n\nSome text, with \"quotes\", a table | a | b |, and more lines.\n".repeat(12);
    let crates = write_table(work.path(), "crates", CRATES_COLUMNS, BENCH_CRATES, |i, r| {
        r.extend([
            pg_time(T0 - i as i64 * 600),
            format!("Crate number {i}, for things"),
            s(""),
            s(""),
            s(i),
            s(""),
            s(""),
            format!("crate-{i}"),
            readme.clone(),
            format!("https://github.com/owner{}/crate-{i}", i % 5000),
            pg_time(T0),
        ]);
    });
    let teams = write_table(
        work.path(),
        "teams",
        &["avatar", "github_id", "id", "login", "name", "org_id"],
        BENCH_TEAMS,
        |i, r| {
            r.extend([
                s(""),
                s(i * 7),
                s(i),
                format!("github:org{i}:publish"),
                format!("Team {i}"),
                s(i * 3),
            ]);
        },
    );
    let users = write_table(
        work.path(),
        "users",
        &["gh_avatar", "gh_id", "gh_login", "id", "name"],
        BENCH_USERS,
        |i, r| {
            r.extend([
                format!("https://avatars.githubusercontent.com/u/{i}?v=4"),
                s(i * 13),
                format!("user-{i:x}"),
                s(i),
                format!("User {i}"),
            ]);
        },
    );
    let owners = write_table(
        work.path(),
        "crate_owners",
        &["crate_id", "created_at", "created_by", "owner_id", "owner_kind"],
        BENCH_OWNERS,
        |i, r| {
            let team = rng.below(20) == 0;
            r.extend([
                s(1 + (i - 1) % BENCH_CRATES),
                pg_time(T0 - rng.below(3000) as i64 * DAY),
                if i <= BENCH_CRATES {
                    s("")
                } else {
                    s(1 + rng.below(BENCH_USERS))
                },
                s(if team {
                    1 + rng.below(BENCH_TEAMS)
                } else {
                    1 + rng.below(BENCH_USERS)
                }),
                s(u8::from(team)),
            ]);
        },
    );
    let versions = write_table(work.path(), "versions", VERSIONS_COLUMNS, BENCH_VERSIONS, |i, r| {
        let v = format!("{}.{}.{}", i % 3, i % 17, i % 101);
        r.extend([
            s("{}"),
            format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.next(),
                rng.next(),
                rng.next(),
                rng.next()
            ),
            s(1 + rng.below(BENCH_CRATES)),
            s(rng.below(1 << 20)),
            pg_time(T0 - (BENCH_VERSIONS - i) as i64 * 60),
            s(rng.below(1_000_000)),
            s("{\"default\":[\"std\"],\"std\":[\"alloc\"],\"alloc\":[],\"serde\":[\"dep:serde\"]}"),
            s("t"),
            s(i),
            s("MIT OR Apache-2.0"),
            s(""),
            v.clone(),
            v,
            if rng.below(10) == 0 {
                s("")
            } else {
                s(1 + rng.below(BENCH_USERS))
            },
            s("1.70"),
            pg_time(T0),
            s(if rng.below(50) == 0 { "t" } else { "f" }),
        ]);
    });
    let metadata = work.path().join("metadata.json");
    std::fs::write(
        &metadata,
        br#"{"timestamp":"2025-01-15T02:00:21.810126238Z","crates_io_commit":"bench"}"#,
    )
    .unwrap();
    let csv_bytes: u64 = [&crates, &teams, &users, &owners, &versions]
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let generated = started.elapsed();
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out).unwrap());
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::new(6)));
    let dir = "2025-01-15-020021";
    tar.append_path_with_name(&metadata, format!("{dir}/metadata.json"))
        .unwrap();
    for p in [&crates, &teams, &users, &owners, &versions] {
        let name = p.file_name().unwrap().to_str().unwrap();
        tar.append_path_with_name(p, format!("{dir}/data/{name}")).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    println!(
        "wrote {}: {:.0} MB of CSV ({} versions, {} owners, {} users), {:.0} MB compressed; generated in {:.1?}, compressed in {:.1?}",
        out.display(),
        csv_bytes as f64 / 1e6,
        BENCH_VERSIONS,
        BENCH_OWNERS,
        BENCH_USERS,
        std::fs::metadata(&out).unwrap().len() as f64 / 1e6,
        generated,
        started.elapsed() - generated
    );
}

/// CPU time of the calling thread (the machine is shared: wall time varies
/// with the load, CPU time much less).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .map_or(Duration::ZERO, Duration::from_nanos)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[test]
#[ignore = "benchmark: needs the dump written by bench_dump_write"]
fn bench_dump_read() {
    let path = bench_path();
    let mode = std::env::var("CARGOFOX_DUMP_BENCH_MODE").unwrap_or_else(|_| "all".into());
    let open =
        || std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path).expect("run bench_dump_write first"));
    // Decompression alone, for reference.
    let cpu = thread_cpu();
    let mut gz = flate2::read::MultiGzDecoder::new(open());
    let raw = std::io::copy(&mut gz, &mut std::io::sink()).unwrap();
    let gunzip = thread_cpu() - cpu;

    let started = Instant::now();
    let cpu = thread_cpu();
    let (stats, kept) = match mode.as_str() {
        "filter" => {
            let names: BTreeSet<CrateName> = (1..=1000).map(|i| name(&format!("crate-{}", i * 173))).collect();
            let data = DumpReader::new(CrateFilter::Only(names)).read_all(open()).unwrap();
            let kept = data.crates.values().map(|c| c.versions.len()).sum::<usize>() as u64;
            (data.stats, kept)
        }
        _ => {
            let mut kept = 0u64;
            let stats = DumpReader::new(CrateFilter::All)
                .read(open(), |i| {
                    if matches!(i, DumpItem::Version { .. } | DumpItem::Owners(_)) {
                        kept += 1;
                    }
                })
                .unwrap();
            (stats, kept)
        }
    };
    let elapsed = started.elapsed();
    let cpu = thread_cpu() - cpu;
    let csv = stats.csv_bytes();
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "mode {mode}: {:.0} MB of CSV ({:.0} MB tar) in {cpu:.2?} CPU ({:.0} MB/s of CSV a core), {elapsed:.2?} wall; {kept} items; gunzip alone {gunzip:.2?} CPU ({:.0} MB/s); peak RSS {:.0} MB",
        mb(csv),
        mb(raw),
        mb(csv) / cpu.as_secs_f64(),
        mb(raw) / gunzip.as_secs_f64(),
        peak_rss_mb()
    );
    for (t, s) in &stats.tables {
        println!(
            "  {t}: {} rows, {} kept, {:.0} MB",
            s.rows,
            s.kept,
            s.bytes as f64 / 1e6
        );
    }
}

// ---------------------------------------------------------------------------
// End to end: `cargofox sync --api` records owners and publishers in the
// audit repository, and a later sync after an owner change shows it in the
// report with its signals.

fn e2e_registry(versions: &[(&str, i64)]) -> TestRegistry {
    let mut reg = TestRegistry::new();
    for (v, t) in versions {
        let toml = format!("[package]\nname = \"alpha\"\nversion = \"{v}\"\n");
        let mut e = crate::harness::IndexEntry::new(
            "alpha",
            v,
            crate::harness::crate_file("alpha", v, &[("Cargo.toml", toml.as_bytes())]),
        );
        e.pubtime = Some(cargofox::output::format_utc(*t));
        reg.add_entry(e);
    }
    reg
}

fn serve_versions(server: &Server, versions: &[Value]) {
    server.fault(
        "/api/v1/crates/alpha/versions",
        json_fault(&json!({"versions": versions, "meta": {"total": versions.len(), "next_page": null}})),
    );
}

#[test]
fn sync_with_an_api_records_owners_and_shows_their_changes() {
    let mut reg = e2e_registry(&[("1.0.0", T0)]);
    let server = serve(&reg);
    let api_base = server.base_url();
    let data = temp_dir();
    let sync = |now: i64| {
        crate::harness::Cargofox::new()
            .data(data.path())
            .registry(&server.url())
            .args([
                "--current-time",
                &cargofox::output::format_utc(now),
                "--contact",
                "ops@example.org",
            ])
            .args(["sync", "--api", &api_base, "--api-interval", "10", "alpha"])
            .run()
    };
    serve_owners(&server, "alpha", &[api_user(1, "alice", Some("Alice"))], &[]);
    serve_versions(
        &server,
        &[api_version("alpha", "1.0.0", T0, Some((1, "alice")), Value::Null)],
    );
    sync(T0 + DAY).assert_success();
    let owners_json = data.path().join("audit/crates/al/ph/alpha/owners.json");
    let first: Value = serde_json::from_slice(&std::fs::read(&owners_json).unwrap()).unwrap();
    assert_eq!(first["observations"].as_array().unwrap().len(), 1, "{first}");
    let report = std::fs::read_to_string(data.path().join("audit/crates/al/ph/alpha/1.0.0.md")).unwrap();
    assert!(report.contains("**published by**: `user alice (id 1)`"), "{report}");

    // mallory becomes an owner, then releases 1.1.0 two days later.
    reg.add_entry({
        let toml = b"[package]\nname = \"alpha\"\nversion = \"1.1.0\"\n";
        let mut e = crate::harness::IndexEntry::new(
            "alpha",
            "1.1.0",
            crate::harness::crate_file("alpha", "1.1.0", &[("Cargo.toml", toml)]),
        );
        e.pubtime = Some(cargofox::output::format_utc(T0 + 12 * DAY));
        e
    });
    serve_owners(
        &server,
        "alpha",
        &[api_user(1, "alice", Some("Alice")), api_user(66, "mallory", None)],
        &[],
    );
    serve_versions(
        &server,
        &[
            api_version("alpha", "1.1.0", T0 + 12 * DAY, Some((66, "mallory")), Value::Null),
            api_version("alpha", "1.0.0", T0, Some((1, "alice")), Value::Null),
        ],
    );
    sync(T0 + 13 * DAY).assert_success();
    let report = std::fs::read_to_string(data.path().join("audit/crates/al/ph/alpha/1.1.0.md")).unwrap();
    assert!(report.contains("**published by**: `user mallory (id 66)`"), "{report}");
    assert!(report.contains("added user `mallory`"), "{report}");
    for code in ["owner-added", "first-release-by-publisher"] {
        assert!(report.contains(&format!("`{code}`")), "{code} missing: {report}");
    }
    let json: Value =
        serde_json::from_slice(&std::fs::read(data.path().join("audit/crates/al/ph/alpha/1.1.0.json")).unwrap())
            .unwrap();
    assert_eq!(json["owners"]["published_by"], "user mallory (id 66)");
    let page = std::fs::read_to_string(data.path().join("audit/crates/al/ph/alpha/README.md")).unwrap();
    assert!(
        page.contains("## Owners over time") && page.contains("added user `mallory`"),
        "{page}"
    );

    // A failed fetch later never records anyone as removed.
    server.fault(&owners_path("alpha", "user"), Fault::status(500));
    server.fault(&owners_path("alpha", "team"), Fault::status(500));
    serve_versions(&server, &[]);
    sync(T0 + 20 * DAY).assert_success();
    let last: Value = serde_json::from_slice(&std::fs::read(&owners_json).unwrap()).unwrap();
    let removed = last["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "removed")
        .count();
    assert_eq!(removed, 0, "{last}");
}

#[test]
fn sync_with_a_db_dump_records_owners_and_publishers() {
    // The dump's alpha: alice created it, a team was added on day 3 and
    // mallory on day 9.
    let reg = e2e_registry(&[("1.0.0", T0), ("1.1.0", T0 + 10 * DAY)]);
    let dir = temp_dir();
    let dump = dir.path().join("db-dump.tar.gz");
    std::fs::write(&dump, DumpFixture::standard().gz()).unwrap();
    let data = temp_dir();
    crate::harness::Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .args(["--current-time", &cargofox::output::format_utc(T0 + 20 * DAY)])
        .args(["sync", "--db-dump", dump.to_str().unwrap(), "alpha"])
        .run()
        .assert_success();
    let owners: Value =
        serde_json::from_slice(&std::fs::read(data.path().join("audit/crates/al/ph/alpha/owners.json")).unwrap())
            .unwrap();
    assert_eq!(owners["observations"][0]["sources"][0], "dump", "{owners}");
    let page = std::fs::read_to_string(data.path().join("audit/crates/al/ph/alpha/README.md")).unwrap();
    assert!(
        page.contains("`mallory`"),
        "the owner timeline shows the dump's owners: {page}"
    );
    let report = std::fs::read_to_string(data.path().join("audit/crates/al/ph/alpha/1.1.0.md")).unwrap();
    assert!(
        report.contains("## Owners and publisher") && report.contains("`mallory`"),
        "{report}"
    );
}

#[test]
fn a_db_dump_can_be_fetched_by_url() {
    let reg = e2e_registry(&[("1.0.0", T0)]);
    let server = serve(&reg);
    let path = "/dumps/db-dump.tar.gz";
    // The first answer is a 503: the download is retried.
    server.fault(path, Fault::status(503));
    server.fault(path, Fault::status(200).body(DumpFixture::standard().gz()));
    let data = temp_dir();
    let url = format!("{}{path}", server.base_url());
    crate::harness::Cargofox::new()
        .data(data.path())
        .registry(&server.url())
        .args(["sync", "--db-dump", &url, "alpha"])
        .run()
        .assert_success();
    assert_eq!(server.requests_to(path).len(), 2, "retried once");
    let owners = std::fs::read_to_string(data.path().join("audit/crates/al/ph/alpha/owners.json")).unwrap();
    assert!(owners.contains("\"mallory\""), "{owners}");
}

/// A registry with one release of each crate `DumpFixture::standard` names.
fn dump_crates_registry() -> TestRegistry {
    let mut reg = TestRegistry::new();
    for name in ["alpha", "beta", "gamma"] {
        let files: Vec<(&str, &[u8])> = vec![("Cargo.toml", b"[package]\nname = \"x\"\n"), ("src/lib.rs", b"\n")];
        let mut e = IndexEntry::new(name, "1.0.0", crate_file(name, "1.0.0", &files));
        e.pubtime = Some(cargofox::output::format_utc(T0));
        reg.add_entry(e);
    }
    reg
}

/// `sync --all --db-dump`: the dump's `crates` table lists the registry
/// (docs/DEPLOY.md); every crate it names is synced, and `--shard` splits
/// them as it splits an index clone's.
#[test]
fn all_crates_can_be_listed_from_the_db_dump() {
    let reg = dump_crates_registry();
    let dir = temp_dir();
    let dump = dir.path().join("db-dump.tar.gz");
    std::fs::write(&dump, DumpFixture::standard().gz()).unwrap();
    let run = |data: &std::path::Path, extra: &[&str]| {
        crate::harness::Cargofox::new()
            .data(data)
            .registry(&reg.file_url())
            .args(["--current-time", &cargofox::output::format_utc(T0 + DAY)])
            .args(["sync", "--all", "--db-dump", dump.to_str().unwrap()])
            .args(extra)
            .run()
    };
    let all = temp_dir();
    run(all.path(), &[])
        .assert_success()
        .assert_stdout_contains("sync: 3 crates");
    for name in ["alpha", "beta", "gamma"] {
        let page = all.path().join(format!(
            "audit/{}/README.md",
            cargofox::report::paths::crate_dir(&self::name(name))
        ));
        assert!(page.exists(), "{name}: {}", page.display());
    }
    let mut seen = 0;
    for i in 0..2 {
        let shard = temp_dir();
        let out = run(shard.path(), &["--shard", &format!("{i}/2")]);
        out.assert_success();
        seen += ["alpha", "beta", "gamma"]
            .iter()
            .filter(|n| out.stdout.lines().any(|l| l.starts_with(&format!("{n}: "))))
            .count();
    }
    assert_eq!(seen, 3, "every crate in exactly one shard");
    // Without a source for the crate list, `--all` says what it needs.
    crate::harness::Cargofox::new()
        .data(all.path())
        .registry(&reg.file_url())
        .args(["sync", "--all"])
        .run()
        .assert_code(2)
        .assert_stderr_contains("--all needs --index-git DIR or --db-dump");
}

/// `--dump-changed-only`: a daily run over the whole registry fetches only
/// the crates whose dump rows changed since the last complete run.
#[test]
fn a_daily_run_from_the_dump_syncs_only_what_changed() {
    let reg = dump_crates_registry();
    let dir = temp_dir();
    let dump = dir.path().join("db-dump.tar.gz");
    let data = temp_dir();
    let run = |fixture: &DumpFixture| {
        std::fs::write(&dump, fixture.gz()).unwrap();
        crate::harness::Cargofox::new()
            .data(data.path())
            .registry(&reg.file_url())
            .args(["--current-time", &cargofox::output::format_utc(T0 + DAY)])
            .args([
                "sync",
                "--all",
                "--dump-changed-only",
                "--db-dump",
                dump.to_str().unwrap(),
            ])
            .run()
    };
    let mut fixture = DumpFixture::standard();
    run(&fixture)
        .assert_success()
        .assert_stdout_contains("dump: 3 of 3 crates changed")
        .assert_stdout_contains("sync: 3 crates");
    run(&fixture)
        .assert_success()
        .assert_stdout_contains("dump: 0 of 3 crates changed")
        .assert_stdout_contains("sync: 0 crates");
    // beta's only version is yanked in the next dump.
    let versions = String::from_utf8(fixture.table("versions").clone()).unwrap();
    let yanked: Vec<String> = versions
        .lines()
        .map(|l| {
            if l.contains(",0.1.0,0.1.0,") {
                format!("{}t", l.strip_suffix('f').unwrap())
            } else {
                l.to_owned()
            }
        })
        .collect();
    *fixture.table("versions") = (yanked.join("\n") + "\n").into_bytes();
    let out = run(&fixture);
    out.assert_success()
        .assert_stdout_contains("dump: 1 of 3 crates changed")
        .assert_stdout_contains("sync: 1 crates");
    assert!(out.stdout.lines().any(|l| l.starts_with("beta: ")), "{out}");
}
