//! The registry: where index files and `.crate` files come from. A sparse
//! index over HTTP(S) (through [`crate::net::Network`]) or a `file://`
//! directory with the same layout. Index files are cached under
//! `cache/index/` with their validators, so later runs ask conditionally and
//! `--offline` runs read the cache.

pub mod index;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::net::{Fetched, NetError, Network, Validators};
use crate::types::{CrateName, Sha256, VersionStr};
use index::{RegistryConfig, index_path};

/// crates.io's sparse index, as cargo names it.
pub const CRATES_IO: &str = "sparse+https://index.crates.io/";

/// Why the registry could not answer.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry URL is not usable.
    #[error("unsupported registry URL {0:?}: expected sparse+https://, https://, http:// or file://")]
    BadUrl(String),
    /// An HTTP failure.
    #[error(transparent)]
    Net(#[from] NetError),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `config.json` is malformed.
    #[error("{url}: {source}")]
    Config {
        /// Where it came from.
        url: String,
        /// The cause.
        source: index::ConfigError,
    },
    /// The crate has no index file.
    #[error("crate {0} is not in the registry index")]
    NotFound(String),
    /// Offline and nothing cached.
    #[error("offline, and {0} is not in the cache")]
    Offline(String),
}

impl RegistryError {
    /// Whether the registry said the thing does not exist or is forbidden
    /// (as opposed to a transient failure).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            RegistryError::Net(e) => e.status(),
            _ => None,
        }
    }
}

enum Source {
    Http { base: String },
    File { root: PathBuf },
}

/// An opened registry.
pub struct Registry {
    source: Source,
    net: Option<Arc<Network>>,
    config: RegistryConfig,
    cache: PathBuf,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("dl", &self.config.dl).finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RegistryError> {
    std::fs::read(path).map_err(|source| RegistryError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Convert a `file://` URL to a path.
pub fn file_url_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    Some(PathBuf::from(percent_decode(rest)))
}

fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&crate::archive::escape::unescape(s)).into_owned()
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

impl Registry {
    /// Open the registry at `url`, reading its `config.json`. `net` is `None`
    /// when offline; then only cached data is used. `cache` is the data
    /// directory's `cache/`.
    pub fn open(url: &str, net: Option<Arc<Network>>, cache: &Path) -> Result<Self, RegistryError> {
        let cache = cache.join("index").join(cache_key(url));
        let source = if let Some(root) = file_url_path(url) {
            Source::File { root }
        } else {
            let base = url.strip_prefix("sparse+").unwrap_or(url);
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                return Err(RegistryError::BadUrl(url.to_owned()));
            }
            let mut base = base.to_owned();
            if !base.ends_with('/') {
                base.push('/');
            }
            Source::Http { base }
        };
        let mut registry = Registry {
            source,
            net,
            config: RegistryConfig {
                dl: String::new(),
                api: None,
            },
            cache,
        };
        let bytes = registry.fetch_cached("config.json")?;
        registry.config = RegistryConfig::parse(&bytes).map_err(|source| RegistryError::Config {
            url: url.to_owned(),
            source,
        })?;
        Ok(registry)
    }

    /// The registry configuration.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// The index file of `name` (bytes), fetched conditionally.
    pub fn index_file(&self, name: &CrateName) -> Result<Vec<u8>, RegistryError> {
        match self.fetch_cached(&index_path(name)) {
            Err(RegistryError::Net(e)) if matches!(e.status(), Some(404 | 410 | 451)) => {
                Err(RegistryError::NotFound(name.to_string()))
            }
            Err(RegistryError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Err(RegistryError::NotFound(name.to_string()))
            }
            other => other,
        }
    }

    /// Download the `.crate` of one version (not verified here).
    pub fn download(&self, name: &CrateName, version: &VersionStr, cksum: &Sha256) -> Result<Vec<u8>, RegistryError> {
        let url = self.config.download_url(name, version, cksum);
        if let Some(path) = file_url_path(&url) {
            // Only a local registry may point at local files: a remote
            // `config.json` must never make cargofox read this machine's files.
            if !matches!(self.source, Source::File { .. }) {
                return Err(RegistryError::BadUrl(url));
            }
            return read(&path);
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(RegistryError::BadUrl(url));
        }
        let Some(net) = &self.net else {
            return Err(RegistryError::Offline(url));
        };
        match net.get(&url, None)? {
            Fetched::Body(b, _) => Ok(b),
            Fetched::NotModified => Err(RegistryError::Net(NetError::Transport {
                url,
                message: "unexpected 304 to an unconditional request".into(),
                attempts: 1,
            })),
        }
    }

    /// Fetch a file relative to the index root, using and refreshing the
    /// cache for HTTP registries.
    fn fetch_cached(&self, rel: &str) -> Result<Vec<u8>, RegistryError> {
        match &self.source {
            Source::File { root } => read(&root.join(rel)),
            Source::Http { base } => {
                let net = &self.net;
                let cached = self.cache.join(rel);
                let meta_path = self.cache.join(format!("{rel}.meta.json"));
                let Some(net) = net else {
                    return read(&cached).map_err(|_| RegistryError::Offline(format!("{base}{rel}")));
                };
                let validators: Option<Validators> = std::fs::read(&meta_path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .filter(|_| cached.exists());
                let url = format!("{base}{rel}");
                match net.get(&url, validators.as_ref())? {
                    Fetched::NotModified => read(&cached),
                    Fetched::Body(bytes, v) => {
                        // The cache is an optimisation: failing to write it is
                        // not an error for the run.
                        let _ = write_atomic(&cached, &bytes);
                        if v.etag.is_some() || v.last_modified.is_some() {
                            if let Ok(json) = serde_json::to_vec(&v) {
                                let _ = write_atomic(&meta_path, &json);
                            }
                        } else {
                            let _ = std::fs::remove_file(&meta_path);
                        }
                        Ok(bytes)
                    }
                }
            }
        }
    }
}

/// A directory name for a registry URL's cache: its host and path with
/// anything unusual replaced.
fn cache_key(url: &str) -> String {
    let trimmed = url
        .trim_start_matches("sparse+")
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(url);
    trimmed
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys() {
        assert_eq!(cache_key(CRATES_IO), "index.crates.io");
        assert_eq!(cache_key("http://127.0.0.1:8080/index/"), "127.0.0.1_8080_index");
    }

    #[test]
    fn file_urls() {
        assert_eq!(file_url_path("file:///srv/a%20b"), Some(PathBuf::from("/srv/a b")));
        assert_eq!(file_url_path("https://x"), None);
    }
}
