//! All code that talks HTTP goes through this module. The network is a
//! capability: a [`Network`] exists only when the program is allowed online
//! (`--offline` means there is none), and everything else takes it as an
//! argument, so tests point it at a local server.
//!
//! One client for the whole program: a user agent naming cargofox and a
//! contact, connect and overall timeouts, retries with exponential backoff
//! and jitter on transient failures (connection errors, timeouts, bodies cut
//! short, 429 and 5xx), `Retry-After` honoured up to a cap, and a limit on
//! body size so a hostile server cannot exhaust memory.

use std::io::Read;
use std::time::{Duration, Instant};

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Sent as `User-Agent`.
    pub user_agent: String,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (headers and body).
    pub request_timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay; doubled each retry, with jitter.
    pub backoff_base: Duration,
    /// Longest `Retry-After` (or backoff) the client will wait once.
    pub max_wait: Duration,
    /// Largest body accepted, in bytes.
    pub max_body: u64,
}

impl NetConfig {
    /// Defaults with the user agent `cargofox/<version> (+<contact>)`.
    pub fn new(contact: &str) -> Self {
        NetConfig {
            user_agent: format!("cargofox/{} (+{contact})", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            retries: 4,
            backoff_base: Duration::from_millis(500),
            max_wait: Duration::from_secs(300),
            max_body: 1024 * 1024 * 1024,
        }
    }
}

/// Validators for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    /// `ETag` of the cached copy.
    pub etag: Option<String>,
    /// `Last-Modified` of the cached copy.
    pub last_modified: Option<String>,
}

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    /// 200 with the body and the validators to send next time.
    Body(Vec<u8>, Validators),
    /// 304: the cached copy is current.
    NotModified,
}

/// Why a request failed (after retries, for transient failures).
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The server answered with a status that is not retried (or retries ran out).
    #[error("GET {url}: HTTP {status}{}", if *.attempts > 1 { format!(" after {} attempts", .attempts) } else { String::new() })]
    Status {
        /// The URL.
        url: String,
        /// The final status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Connection, timeout or body errors that outlasted the retries.
    #[error("GET {url}: {message} (after {attempts} attempts)")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong last.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The body was larger than allowed.
    #[error("GET {url}: body larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The client could not be built.
    #[error("building the HTTP client: {0}")]
    Client(String),
}

impl NetError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            NetError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The program's one HTTP client.
#[derive(Debug, Clone)]
pub struct Network {
    client: reqwest::blocking::Client,
    config: NetConfig,
}

enum Attempt {
    Done(Fetched),
    Retry {
        message: String,
        status: Option<u16>,
        after: Option<Duration>,
    },
    Fail(NetError),
}

impl Network {
    /// Build the client.
    pub fn new(config: NetConfig) -> Result<Self, NetError> {
        let client = reqwest::blocking::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| NetError::Client(e.to_string()))?;
        Ok(Network { client, config })
    }

    /// The configuration in use.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// GET `url`, conditionally when `validators` are given, retrying
    /// transient failures.
    pub fn get(&self, url: &str, validators: Option<&Validators>) -> Result<Fetched, NetError> {
        let mut attempt = 0u32;
        let mut rng = Jitter::new(url);
        loop {
            attempt += 1;
            match self.attempt(url, validators) {
                Attempt::Done(f) => return Ok(f),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry { message, status, after } => {
                    if attempt > self.config.retries {
                        return Err(match status {
                            Some(status) => NetError::Status {
                                url: url.to_owned(),
                                status,
                                attempts: attempt,
                            },
                            None => NetError::Transport {
                                url: url.to_owned(),
                                message,
                                attempts: attempt,
                            },
                        });
                    }
                    let backoff = self.config.backoff_base.saturating_mul(1 << (attempt - 1).min(16));
                    let backoff = backoff.mul_f64(0.5 + rng.next_unit() * 0.5);
                    let wait = after.unwrap_or(backoff).min(self.config.max_wait);
                    if after.is_some_and(|a| a > self.config.max_wait) {
                        return Err(NetError::Status {
                            url: url.to_owned(),
                            status: status.unwrap_or(429),
                            attempts: attempt,
                        });
                    }
                    tracing::debug!(url, attempt, ?wait, %message, "retrying");
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// GET `url` into the file `dest`, streaming (for bodies too large to
    /// hold in memory, such as a database dump). Written to `<dest>.part`
    /// and renamed when complete; transient failures are retried from the
    /// start like [`Network::get`].
    pub fn get_to_file(&self, url: &str, dest: &std::path::Path) -> Result<u64, NetError> {
        let transport = |message: String, attempts: u32| NetError::Transport {
            url: url.to_owned(),
            message,
            attempts,
        };
        let part = dest.with_extension("part");
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = (|| -> Result<u64, (bool, NetError)> {
                let mut resp = self
                    .client
                    .get(url)
                    .send()
                    .map_err(|e| (true, transport(error_chain(&e), attempt)))?;
                let status = resp.status().as_u16();
                if !(200..300).contains(&status) {
                    let retry = status == 429 || (500..600).contains(&status);
                    return Err((
                        retry,
                        NetError::Status {
                            url: url.to_owned(),
                            status,
                            attempts: attempt,
                        },
                    ));
                }
                let expected = resp.content_length();
                let mut file = std::fs::File::create(&part).map_err(|e| (false, transport(e.to_string(), attempt)))?;
                let n = std::io::copy(&mut resp, &mut file).map_err(|e| (true, transport(error_chain(&e), attempt)))?;
                if expected.is_some_and(|l| l != n) {
                    return Err((
                        true,
                        transport(format!("body of {n} bytes, Content-Length said {expected:?}"), attempt),
                    ));
                }
                file.sync_all()
                    .map_err(|e| (false, transport(e.to_string(), attempt)))?;
                std::fs::rename(&part, dest).map_err(|e| (false, transport(e.to_string(), attempt)))?;
                Ok(n)
            })();
            match result {
                Ok(n) => return Ok(n),
                Err((retry, e)) if !retry || attempt > self.config.retries => {
                    let _ = std::fs::remove_file(&part);
                    return Err(e);
                }
                Err(_) => {
                    let wait = self.config.backoff_base.saturating_mul(1 << (attempt - 1).min(16));
                    std::thread::sleep(wait.min(self.config.max_wait));
                }
            }
        }
    }

    fn attempt(&self, url: &str, validators: Option<&Validators>) -> Attempt {
        let mut req = self.client.get(url);
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    message: error_chain(&e),
                    status: None,
                    after: None,
                };
            }
        };
        let status = resp.status().as_u16();
        if status == 304 {
            return Attempt::Done(Fetched::NotModified);
        }
        if status == 429 || (500..600).contains(&status) {
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Attempt::Retry {
                message: format!("HTTP {status}"),
                status: Some(status),
                after,
            };
        }
        if !(200..300).contains(&status) {
            return Attempt::Fail(NetError::Status {
                url: url.to_owned(),
                status,
                attempts: 1,
            });
        }
        let header = |h| {
            resp.headers()
                .get(h)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let limit = self.config.max_body;
        if resp.content_length().is_some_and(|l| l > limit) {
            return Attempt::Fail(NetError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        let expected = resp.content_length();
        let mut body = Vec::with_capacity(expected.unwrap_or(0).min(64 * 1024 * 1024) as usize);
        match resp.take(limit + 1).read_to_end(&mut body) {
            Ok(_) if body.len() as u64 > limit => Attempt::Fail(NetError::TooLarge {
                url: url.to_owned(),
                limit,
            }),
            Ok(_) if expected.is_some_and(|l| l != body.len() as u64) => Attempt::Retry {
                message: format!(
                    "body of {} bytes, Content-Length said {}",
                    body.len(),
                    expected.unwrap_or(0)
                ),
                status: None,
                after: None,
            },
            Ok(_) => Attempt::Done(Fetched::Body(body, validators)),
            Err(e) => Attempt::Retry {
                message: format!("reading the body: {}", error_chain(&e)),
                status: None,
                after: None,
            },
        }
    }
}

/// `Retry-After` as seconds (the HTTP-date form is read as "wait a little",
/// since the local clock may disagree with the server's).
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    (!v.is_empty()).then(|| Duration::from_secs(5))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = inner.source();
    }
    s
}

/// A small xorshift generator for backoff jitter; seeded per request from the
/// clock, so concurrent clients do not retry in lockstep.
struct Jitter(u64);

impl Jitter {
    fn new(seed: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        let t = Instant::now().elapsed().as_nanos() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
        Jitter((h ^ t) | 1)
    }

    fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after(""), None);
    }

    #[test]
    fn jitter_is_in_range() {
        let mut j = Jitter::new("x");
        for _ in 0..1000 {
            let u = j.next_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn user_agent_names_contact() {
        let c = NetConfig::new("ops@example.org");
        assert!(c.user_agent.starts_with("cargofox/"));
        assert!(c.user_agent.ends_with("(+ops@example.org)"));
    }
}
