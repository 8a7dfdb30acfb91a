//! A real HTTP/1.1 server on 127.0.0.1 serving a [`TestRegistry`] as a sparse
//! registry, with conditional requests, a record of every request, and
//! scripted faults per path. One thread per connection, one request per
//! connection (`Connection: close` on every response). Dropping the [`Server`]
//! stops it and joins every thread it started.
//!
//! Paths (files are read from the registry's directory at request time, so
//! changes to the registry between runs are served):
//! - `/index/config.json` — `{"dl": ...}` pointing back at this server
//! - `/index/<index path>` — with `ETag` (sha256 of the content) and
//!   `Last-Modified` (the file's mtime); 304 for a matching `If-None-Match`
//!   or, when that header is absent, a not-older `If-Modified-Since`
//! - `/dl/<crate>/<crate>-<version>.crate` ([`DlStyle::Markers`]) or
//!   `/crates/<crate>/<version>/download` ([`DlStyle::NoMarkers`], the client
//!   appends it, as for crates.io)

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, UNIX_EPOCH};

use super::registry::{TestRegistry, index_path};
use super::{sha256_hex, sys};

/// How `config.json`'s `dl` names the download URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DlStyle {
    /// `http://127.0.0.1:PORT/dl/{crate}/{crate}-{version}.crate`
    Markers,
    /// `http://127.0.0.1:PORT/crates`: the client appends `/{crate}/{version}/download`.
    NoMarkers,
}

#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// Send `ETag` on index files (the real crates.io mirror does not).
    pub etag: bool,
    /// Send `Last-Modified` on index files.
    pub last_modified: bool,
    pub dl: DlStyle,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            etag: true,
            last_modified: true,
            dl: DlStyle::Markers,
        }
    }
}

/// A scripted answer to one request for a path.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status, headers and body instead of the normal response
    /// (`Content-Length` is added unless given).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// The normal response's head with its full `Content-Length`, half the
    /// body, then a TCP reset.
    ResetMidBody,
    /// The normal response with a `Content-Length` larger than the body, then close.
    WrongContentLength,
    /// The normal response, one byte per interval (a slowloris server).
    Trickle(Duration),
    /// Read the request, never answer; hold the connection until the server drops.
    Hang,
}

impl Fault {
    /// A response with `status` and a short text body.
    pub fn status(status: u16) -> Self {
        Fault::Respond {
            status,
            headers: Vec::new(),
            body: format!("injected {status}\n").into_bytes(),
        }
    }

    /// Adds a header to a [`Fault::Respond`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match &mut self {
            Fault::Respond { headers, .. } => headers.push((name.into(), value.into())),
            other => panic!("header() only applies to Fault::Respond, not {other:?}"),
        }
        self
    }

    /// Replaces the body of a [`Fault::Respond`].
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        match &mut self {
            Fault::Respond { body, .. } => *body = bytes.into(),
            other => panic!("body() only applies to Fault::Respond, not {other:?}"),
        }
        self
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent (may hold `%XX` and a query).
    pub target: String,
    /// The target's path, percent-decoded, without the query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// When the request head was fully read.
    pub at: Instant,
    /// The status line sent; `None` for [`Fault::Hang`].
    pub status: Option<u16>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    root: PathBuf,
    options: ServeOptions,
    base: String,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    requests: Mutex<Vec<Request>>,
    shutdown: AtomicBool,
    /// Open connections, to be shut down when the server drops.
    conns: Mutex<HashMap<u64, TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    /// Sleeps for `duration` in short steps; `false` as soon as the server stops.
    fn pause(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        while !self.shutdown.load(Ordering::SeqCst) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            thread::sleep(left.min(Duration::from_millis(20)));
        }
        false
    }
}

/// A running server; stops when dropped.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

/// Serves `registry` with the default options.
pub fn serve(registry: &TestRegistry) -> Server {
    serve_with(registry, ServeOptions::default())
}

pub fn serve_with(registry: &TestRegistry, options: ServeOptions) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    let shared = Arc::new(Shared {
        root: registry.root().to_owned(),
        options,
        base: format!("http://{addr}"),
        faults: Mutex::default(),
        requests: Mutex::default(),
        shutdown: AtomicBool::new(false),
        conns: Mutex::default(),
        threads: Mutex::default(),
    });
    let acceptor = {
        let shared = Arc::clone(&shared);
        thread::spawn(move || accept_loop(listener, shared))
    };
    Server {
        shared,
        addr,
        acceptor: Some(acceptor),
    }
}

impl Server {
    /// The sparse index root: `http://127.0.0.1:PORT/index/`.
    pub fn url(&self) -> String {
        format!("{}/index/", self.shared.base)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request path of `name`'s index file, e.g. `/index/se/rd/serde`.
    pub fn index_path(&self, name: &str) -> String {
        format!("/index/{}", index_path(name))
    }

    /// The request path of a download, in this server's [`DlStyle`].
    pub fn dl_path(&self, name: &str, vers: &str) -> String {
        match self.shared.options.dl {
            DlStyle::Markers => format!("/dl/{name}/{name}-{vers}.crate"),
            DlStyle::NoMarkers => format!("/crates/{name}/{vers}/download"),
        }
    }

    /// Queues `fault` as the answer to the next not-yet-faulted request for
    /// `path` (decoded, no query); once the queue is used up, normal service resumes.
    pub fn fault(&self, path: &str, fault: Fault) -> &Self {
        let mut faults = self.shared.faults.lock().unwrap();
        faults.entry(path.to_owned()).or_default().push_back(fault);
        self
    }

    /// Queues the same fault `times` times.
    pub fn fault_times(&self, path: &str, fault: Fault, times: usize) -> &Self {
        for _ in 0..times {
            self.fault(path, fault.clone());
        }
        self
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The requests for exactly `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// The requests for `.crate` downloads.
    pub fn downloads(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| download_target(&r.path, self.shared.options.dl).is_some())
            .collect()
    }

    /// Forgets the recorded requests (e.g. between two runs).
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // Unblock connection threads stuck in read or write.
        for conn in self.shared.conns.lock().unwrap().values() {
            let _ = conn.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *self.shared.threads.lock().unwrap());
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    for stream in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = stream.try_clone() {
            shared.conns.lock().unwrap().insert(id, clone);
        }
        let conn_shared = Arc::clone(&shared);
        let handle = thread::spawn(move || {
            handle_connection(stream, &conn_shared);
            conn_shared.conns.lock().unwrap().remove(&id);
        });
        shared.threads.lock().unwrap().push(handle);
    }
}

fn handle_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Some(mut request) = read_request(&mut stream) else {
        return;
    };
    let fault = shared
        .faults
        .lock()
        .unwrap()
        .get_mut(&request.path)
        .and_then(VecDeque::pop_front);
    let response = normal_response(shared, &request);
    let sent = match fault {
        None => response,
        Some(Fault::Respond { status, headers, body }) => Response { status, headers, body },
        Some(Fault::Hang) => {
            shared.requests.lock().unwrap().push(request);
            while shared.pause(Duration::from_secs(1)) {}
            return;
        }
        Some(Fault::ResetMidBody) => {
            request.status = Some(response.status);
            shared.requests.lock().unwrap().push(request);
            let half = response.body.len() / 2;
            let _ = stream.write_all(&response.head(response.body.len()));
            let _ = stream.write_all(&response.body[..half]);
            let _ = stream.flush();
            sys::reset_on_close(&stream);
            return;
        }
        Some(Fault::WrongContentLength) => {
            request.status = Some(response.status);
            shared.requests.lock().unwrap().push(request);
            let claimed = response.body.len() * 2 + 100;
            let _ = stream.write_all(&response.head(claimed));
            let _ = stream.write_all(&response.body);
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
        Some(Fault::Trickle(interval)) => {
            request.status = Some(response.status);
            let bytes = response.to_bytes(request.method == "HEAD");
            shared.requests.lock().unwrap().push(request);
            for byte in bytes {
                if stream.write_all(&[byte]).is_err() || !shared.pause(interval) {
                    return;
                }
            }
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
    };
    request.status = Some(sent.status);
    let bytes = sent.to_bytes(request.method == "HEAD");
    shared.requests.lock().unwrap().push(request);
    let _ = stream.write_all(&bytes);
    let _ = stream.shutdown(Shutdown::Write);
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body,
        }
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// Status line and headers, with `content_length` unless one was given.
    fn head(&self, content_length: usize) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if self.status != 304 && !self.has_header("content-length") {
            head.push_str(&format!("Content-Length: {content_length}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        head.into_bytes()
    }

    fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let mut bytes = self.head(self.body.len());
        if !head_only && self.status != 304 {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// What the server answers when no fault is queued.
fn normal_response(shared: &Shared, request: &Request) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::new(405, b"only GET and HEAD\n".to_vec());
    }
    let path = &request.path;
    if path.split('/').any(|c| c == "..") {
        return Response::new(400, b"no .. here\n".to_vec());
    }
    if path == "/index/config.json" {
        let dl = match shared.options.dl {
            DlStyle::Markers => format!("{}/dl/{{crate}}/{{crate}}-{{version}}.crate", shared.base),
            DlStyle::NoMarkers => format!("{}/crates", shared.base),
        };
        let body = format!("{}\n", serde_json::json!({ "dl": dl }));
        return Response::new(200, body.into_bytes());
    }
    if let Some(rest) = path.strip_prefix("/index/") {
        return index_response(shared, request, &shared.root.join("index").join(rest));
    }
    if let Some((name, vers)) = download_target(path, shared.options.dl) {
        let file = shared
            .root
            .join("crates")
            .join(&name)
            .join(format!("{name}-{vers}.crate"));
        return match fs::read(file) {
            Ok(bytes) => {
                let mut response = Response::new(200, bytes);
                response
                    .headers
                    .push(("Content-Type".into(), "application/gzip".into()));
                response
            }
            Err(_) => Response::new(404, b"no such crate\n".to_vec()),
        };
    }
    Response::new(404, b"not found\n".to_vec())
}

fn index_response(shared: &Shared, request: &Request, file: &std::path::Path) -> Response {
    let (Ok(body), Ok(meta)) = (fs::read(file), fs::metadata(file)) else {
        return Response::new(404, b"not found\n".to_vec());
    };
    let mtime = meta
        .modified()
        .expect("file mtime")
        .duration_since(UNIX_EPOCH)
        .expect("mtime after 1970")
        .as_secs();
    let etag = format!("\"{}\"", &sha256_hex(&body)[..32]);
    let mut headers = Vec::new();
    if shared.options.etag {
        headers.push(("ETag".to_owned(), etag.clone()));
    }
    if shared.options.last_modified {
        headers.push(("Last-Modified".to_owned(), http_date(mtime)));
    }
    let not_modified = match request.header("if-none-match") {
        Some(tags) => {
            shared.options.etag
                && tags.split(',').any(|t| {
                    let t = t.trim();
                    t == "*" || t.trim_start_matches("W/") == etag
                })
        }
        None => {
            shared.options.last_modified
                && request
                    .header("if-modified-since")
                    .and_then(parse_http_date)
                    .is_some_and(|since| mtime <= since)
        }
    };
    headers.push(("Content-Type".to_owned(), "text/plain".to_owned()));
    Response {
        status: if not_modified { 304 } else { 200 },
        headers,
        body: if not_modified { Vec::new() } else { body },
    }
}

/// (`crate`, `version`) of a download path in `style`.
fn download_target(path: &str, style: DlStyle) -> Option<(String, String)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (style, parts.as_slice()) {
        (DlStyle::Markers, ["dl", name, file]) => {
            let vers = file.strip_prefix(&format!("{name}-"))?.strip_suffix(".crate")?;
            Some((name.to_string(), vers.to_owned()))
        }
        (DlStyle::NoMarkers, ["crates", name, vers, "download"]) => Some((name.to_string(), vers.to_string())),
        _ => None,
    }
}

/// Reads one request head (and discards a body announced by `Content-Length`).
fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let path = percent_decode(target.split('?').next().unwrap_or_default());
    let request = Request {
        method,
        target,
        path,
        headers,
        at,
        status: None,
    };
    let body_len: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - end - 4;
    while have < body_len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some(request)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// RFC 9110 IMF-fixdate, e.g. `Tue, 14 Nov 2023 22:13:21 GMT`.
pub fn http_date(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86400;
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[m as usize - 1],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses an IMF-fixdate; `None` for anything else.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, d, mon, y, hms, "GMT"] = parts.as_slice() else {
        return None;
    };
    let m = MONTHS.iter().position(|x| x == mon)? as i64 + 1;
    let mut t = hms.split(':').map(|x| x.parse::<u64>().ok());
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    let days = days_from_civil(y.parse().ok()?, m, d.parse().ok()?);
    Some(u64::try_from(days).ok()? * 86400 + h * 3600 + min * 60 + sec)
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian, days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
