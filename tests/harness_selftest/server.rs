//! The HTTP server, driven by a tiny std `TcpStream` client (and once by
//! curl): files, config.json, conditional requests, the request log, every
//! fault, and a prompt shutdown.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::server::{http_date, parse_http_date};
use crate::harness::{DlStyle, Fault, ServeOptions, Server, TestRegistry, crate_file, serve, serve_with};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends a GET for `path` with extra `headers`; the stream is left for reading.
fn send(server: &Server, path: &str, headers: &[(&str, &str)]) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", server.addr());
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream
}

/// Reads until EOF or an error; returns what arrived and the error, if any.
fn read_all(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (bytes, None),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) => return (bytes, Some(e)),
        }
    }
}

fn parse(bytes: &[u8]) -> Reply {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| l.split_once(": ").unwrap())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: bytes[end + 4..].to_vec(),
    }
}

fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> Reply {
    let (bytes, err) = read_all(&mut send(server, path, headers));
    assert!(err.is_none(), "{err:?}");
    let reply = parse(&bytes);
    if let Some(len) = reply.header("content-length") {
        assert_eq!(len.parse::<usize>().unwrap(), reply.body.len());
    }
    reply
}

fn registry_with_serde() -> (TestRegistry, Vec<u8>) {
    let mut registry = TestRegistry::new();
    let bytes = crate_file("serde", "1.0.0+meta", &[("src/lib.rs", b"// serde\n")]);
    registry.add("serde", "1.0.0+meta", bytes.clone());
    (registry, bytes)
}

fn dl_url(server: &Server, name: &str, vers: &str) -> String {
    let config: Value = serde_json::from_slice(&get(server, "/index/config.json", &[]).body).unwrap();
    let dl = config["dl"].as_str().unwrap();
    if dl.contains("{crate}") {
        dl.replace("{crate}", name).replace("{version}", vers)
    } else {
        format!("{dl}/{name}/{vers}/download")
    }
}

#[test]
fn serves_config_index_and_crates_in_both_dl_styles() {
    let (registry, bytes) = registry_with_serde();
    for style in [DlStyle::Markers, DlStyle::NoMarkers] {
        let server = serve_with(
            &registry,
            ServeOptions {
                dl: style,
                ..ServeOptions::default()
            },
        );
        assert_eq!(server.url(), format!("http://{}/index/", server.addr()));

        let url = dl_url(&server, "serde", "1.0.0+meta");
        let path = url.strip_prefix(&server.base_url()).unwrap();
        assert_eq!(path, server.dl_path("serde", "1.0.0+meta"));
        assert_eq!(style == DlStyle::NoMarkers, path.ends_with("/download"));
        let reply = get(&server, path, &[]);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, bytes);
        // A client may percent-encode the '+'.
        assert_eq!(get(&server, &path.replace('+', "%2B"), &[]).body, bytes);

        let index = get(&server, &server.index_path("serde"), &[]);
        assert_eq!(index.status, 200);
        assert_eq!(index.body, std::fs::read(registry.index_file("serde")).unwrap());
        assert_eq!(get(&server, "/index/3/a/abc", &[]).status, 404);
        assert_eq!(get(&server, &server.dl_path("serde", "9.9.9"), &[]).status, 404);
        assert_eq!(server.downloads().len(), 3);
    }
}

#[test]
fn conditional_requests_answer_304_until_the_file_changes() {
    let (mut registry, _) = registry_with_serde();
    let server = serve(&registry);
    let path = server.index_path("serde");
    let first = get(&server, &path, &[]);
    let etag = first.header("etag").unwrap().to_owned();
    let modified = first.header("last-modified").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    assert!(parse_http_date(&modified).is_some());

    assert_eq!(get(&server, &path, &[("If-None-Match", &etag)]).status, 304);
    assert_eq!(get(&server, &path, &[("If-Modified-Since", &modified)]).status, 304);
    // If-None-Match wins over If-Modified-Since.
    let both = [("If-None-Match", "\"other\""), ("If-Modified-Since", modified.as_str())];
    assert_eq!(get(&server, &path, &both).status, 200);

    registry.add("serde", "1.0.1", b"x".to_vec());
    let after = get(&server, &path, &[("If-None-Match", &etag)]);
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag").unwrap(), etag);
    assert_eq!(get(&server, &path, &[("If-Modified-Since", &modified)]).status, 200);
    let statuses: Vec<_> = server.requests_to(&path).iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(304), Some(304), Some(200), Some(200), Some(200)]
    );
}

#[test]
fn without_etag_last_modified_still_works() {
    let (registry, _) = registry_with_serde();
    let server = serve_with(
        &registry,
        ServeOptions {
            etag: false,
            ..ServeOptions::default()
        },
    );
    let path = server.index_path("serde");
    let first = get(&server, &path, &[]);
    assert_eq!(first.header("etag"), None);
    let modified = first.header("last-modified").unwrap();
    assert_eq!(get(&server, &path, &[("If-None-Match", "*")]).status, 200);
    assert_eq!(get(&server, &path, &[("If-Modified-Since", modified)]).status, 304);
}

#[test]
fn http_dates_round_trip() {
    assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(http_date(1_709_210_096), "Thu, 29 Feb 2024 12:34:56 GMT");
    for t in [0, 784_111_777, 1_700_000_001, 4_102_444_800] {
        assert_eq!(parse_http_date(&http_date(t)), Some(t));
    }
    assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
}

#[test]
fn requests_are_recorded_with_headers_and_times() {
    let (registry, _) = registry_with_serde();
    let server = serve(&registry);
    get(&server, "/index/config.json", &[("User-Agent", "test/1")]);
    get(&server, "/index/se/rd/serde?x=1", &[]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/index/config.json");
    assert_eq!(requests[0].header("user-agent"), Some("test/1"));
    assert_eq!(requests[1].target, "/index/se/rd/serde?x=1");
    assert_eq!(requests[1].path, "/index/se/rd/serde");
    assert!(requests[1].at >= requests[0].at);
    assert!(server.downloads().is_empty());
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[test]
fn scripted_statuses_are_consumed_in_order() {
    let (registry, bytes) = registry_with_serde();
    let server = serve(&registry);
    let path = server.dl_path("serde", "1.0.0+meta");
    server
        .fault(&path, Fault::status(429).header("Retry-After", "1"))
        .fault_times(&path, Fault::status(503), 2)
        .fault(&path, Fault::status(200).body("not the crate"))
        .fault(&path, Fault::status(403));
    let first = get(&server, &path, &[]);
    assert_eq!((first.status, first.header("retry-after")), (429, Some("1")));
    assert_eq!(get(&server, &path, &[]).status, 503);
    assert_eq!(get(&server, &path, &[]).status, 503);
    assert_eq!(get(&server, &path, &[]).body, b"not the crate");
    assert_eq!(get(&server, &path, &[]).status, 403);
    assert_eq!(get(&server, &path, &[]).body, bytes);
    // Other paths are not affected.
    assert_eq!(get(&server, &server.index_path("serde"), &[]).status, 200);
}

#[test]
fn reset_mid_body_sends_half_then_resets() {
    let mut registry = TestRegistry::new();
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    registry.add("big", "1.0.0", bytes.clone());
    let server = serve(&registry);
    let path = server.dl_path("big", "1.0.0");
    server.fault(&path, Fault::ResetMidBody);
    let (received, err) = read_all(&mut send(&server, &path, &[]));
    let end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let reply = parse(&received);
    assert_eq!(reply.header("content-length"), Some("100000"));
    // At most half arrived (a reset may also discard some), then an error or EOF.
    assert!(received.len() - end - 4 <= 50_000);
    if let Some(err) = err {
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }
    assert_eq!(get(&server, &path, &[]).body, bytes);
}

#[test]
fn wrong_content_length_claims_more_than_it_sends() {
    let (registry, bytes) = registry_with_serde();
    let server = serve(&registry);
    let path = server.dl_path("serde", "1.0.0+meta");
    server.fault(&path, Fault::WrongContentLength);
    let (received, err) = read_all(&mut send(&server, &path, &[]));
    assert!(err.is_none());
    let reply = parse(&received);
    let claimed: usize = reply.header("content-length").unwrap().parse().unwrap();
    assert!(claimed > bytes.len());
    assert_eq!(reply.body, bytes);
}

#[test]
fn trickle_sends_one_byte_per_interval() {
    let (registry, _) = registry_with_serde();
    let server = serve(&registry);
    server.fault("/index/config.json", Fault::Trickle(Duration::from_millis(100)));
    let mut stream = send(&server, "/index/config.json", &[]);
    let started = Instant::now();
    let mut got = Vec::new();
    while got.len() < 5 {
        let mut byte = [0u8; 16];
        let n = stream.read(&mut byte).unwrap();
        assert!(n <= 1, "trickle sent {n} bytes at once");
        got.extend_from_slice(&byte[..n]);
    }
    assert_eq!(got, b"HTTP/");
    assert!(started.elapsed() >= Duration::from_millis(350));
    // Dropping the server mid-trickle ends promptly.
    let drop_started = Instant::now();
    drop(server);
    assert!(drop_started.elapsed() < Duration::from_secs(2));
}

#[test]
fn hang_never_answers_and_drop_still_returns() {
    let (registry, _) = registry_with_serde();
    let server = serve(&registry);
    let path = server.index_path("serde");
    server.fault(&path, Fault::Hang);
    let mut stream = send(&server, &path, &[]);
    stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let err = stream.read(&mut [0u8; 16]).unwrap_err();
    assert!(matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ));
    assert_eq!(server.requests_to(&path)[0].status, None);
    // An idle connection that never sends a request must not block shutdown either.
    let _idle = TcpStream::connect(server.addr()).unwrap();
    let drop_started = Instant::now();
    drop(server);
    assert!(drop_started.elapsed() < Duration::from_secs(2));
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(stream.read(&mut [0u8; 16]).unwrap_or(0), 0);
}

#[test]
fn curl_fetches_with_conditional_requests() {
    let (registry, bytes) = registry_with_serde();
    let server = serve(&registry);
    let dir = crate::harness::temp_dir();
    let out = dir.path().join("crate");
    let curl = |args: &[&str]| {
        let output = Command::new("curl")
            .args(["-sS", "--noproxy", "*", "--max-time", "10"])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let url = dl_url(&server, "serde", "1.0.0+meta");
    curl(&["-o", out.to_str().unwrap(), &url]);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);

    let index = format!("{}se/rd/serde", server.url());
    let etag = get(&server, &server.index_path("serde"), &[])
        .header("etag")
        .unwrap()
        .to_owned();
    let code = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        &format!("If-None-Match: {etag}"),
        &index,
    ]);
    assert_eq!(code, "304");
}
