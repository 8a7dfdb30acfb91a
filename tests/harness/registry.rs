//! A registry on disk, built by the test: `index/config.json`, index files at
//! cargo's paths, and `.crate` files. Every mutation rewrites the files that
//! changed (and only those), so a test can run cargofox, change the registry
//! (add a version, edit or yank a line, delete a crate) and run it again.
//!
//! Layout under `root()`:
//! - `index/config.json` — `{"dl": "file:///<root>/crates/{crate}/{crate}-{version}.crate"}`
//! - `index/<index_path(name)>` — one JSON line per version, in insertion order
//! - `crates/<name>/<name>-<version>.crate`
//!
//! Changed index files get a modification time one second later than any
//! before (from a fixed base), so `Last-Modified` always moves when content does.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::sha256_hex;

/// Cargo's index path of a crate name: `1/a`, `2/ab`, `3/a/abc`, `se/rd/serde`
/// (lower-cased).
pub fn index_path(name: &str) -> String {
    let lower = name.to_lowercase();
    match lower.len() {
        0 => panic!("empty crate name"),
        1 => format!("1/{lower}"),
        2 => format!("2/{lower}"),
        3 => format!("3/{}/{lower}", &lower[..1]),
        _ => format!("{}/{}/{lower}", &lower[..2], &lower[2..4]),
    }
}

/// One index line; the test controls every field.
#[derive(Clone, Debug)]
pub struct IndexEntry {
    pub name: String,
    pub vers: String,
    /// Raw dependency objects, written as given.
    pub deps: Vec<Value>,
    /// `None`: the real sha256 of `crate_bytes` (of no bytes if those are `None`).
    pub cksum: Option<String>,
    pub features: Value,
    pub yanked: bool,
    /// Written as `null` when `None`, as crates.io does.
    pub links: Option<String>,
    /// Omitted when `None`.
    pub v: Option<u32>,
    /// Omitted when `None`.
    pub rust_version: Option<String>,
    /// Omitted when `None`, e.g. `"2024-01-02T03:04:05Z"`.
    pub pubtime: Option<String>,
    /// Further fields, appended in order (e.g. `features2`, or unknown ones).
    pub extra: Vec<(String, Value)>,
    /// The `.crate` served for this version; `None`: no file (a 404).
    pub crate_bytes: Option<Vec<u8>>,
}

impl Default for IndexEntry {
    fn default() -> Self {
        IndexEntry {
            name: String::new(),
            vers: String::new(),
            deps: Vec::new(),
            cksum: None,
            features: json!({}),
            yanked: false,
            links: None,
            v: None,
            rust_version: None,
            pubtime: None,
            extra: Vec::new(),
            crate_bytes: None,
        }
    }
}

impl IndexEntry {
    pub fn new(name: &str, vers: &str, crate_bytes: impl Into<Vec<u8>>) -> Self {
        IndexEntry {
            name: name.to_owned(),
            vers: vers.to_owned(),
            crate_bytes: Some(crate_bytes.into()),
            ..IndexEntry::default()
        }
    }

    /// The `cksum` that will be written.
    pub fn effective_cksum(&self) -> String {
        self.cksum
            .clone()
            .unwrap_or_else(|| sha256_hex(self.crate_bytes.as_deref().unwrap_or_default()))
    }

    /// The JSON line as written to the index file (no newline).
    pub fn to_line(&self) -> String {
        let mut fields: Vec<(&str, Value)> = vec![
            ("name", json!(self.name)),
            ("vers", json!(self.vers)),
            ("deps", json!(self.deps)),
            ("cksum", json!(self.effective_cksum())),
            ("features", self.features.clone()),
            ("yanked", json!(self.yanked)),
            ("links", json!(self.links)),
        ];
        if let Some(v) = self.v {
            fields.push(("v", json!(v)));
        }
        if let Some(rust_version) = &self.rust_version {
            fields.push(("rust_version", json!(rust_version)));
        }
        if let Some(pubtime) = &self.pubtime {
            fields.push(("pubtime", json!(pubtime)));
        }
        fields.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", json!(k))).collect();
        format!("{{{}}}", body.join(","))
    }
}

#[derive(Clone, Debug)]
enum Line {
    Entry(Box<IndexEntry>),
    Raw(String),
}

/// A registry in a temp dir, removed when dropped.
pub struct TestRegistry {
    dir: tempfile::TempDir,
    /// Lower-cased name -> the lines of its index file, in order.
    files: BTreeMap<String, Vec<Line>>,
    /// Bumped on every write; the mtime of changed index files.
    tick: u64,
}

impl Default for TestRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl TestRegistry {
    pub fn new() -> Self {
        let mut registry = TestRegistry {
            dir: super::temp_dir(),
            files: BTreeMap::new(),
            tick: 0,
        };
        registry.write();
        registry
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The directory holding `config.json` and the index files.
    pub fn index_dir(&self) -> PathBuf {
        self.root().join("index")
    }

    /// The index file of `name`.
    pub fn index_file(&self, name: &str) -> PathBuf {
        self.index_dir().join(index_path(name))
    }

    /// Where the `.crate` of `name` `vers` is written.
    pub fn crate_path(&self, name: &str, vers: &str) -> PathBuf {
        self.root()
            .join("crates")
            .join(name)
            .join(format!("{name}-{vers}.crate"))
    }

    /// `file:///.../index/`: the registry as a `file://` URL.
    pub fn file_url(&self) -> String {
        format!("{}/", file_url_of(&self.index_dir()))
    }

    /// Adds a version with default index fields and the real checksum.
    pub fn add(&mut self, name: &str, vers: &str, crate_bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.add_entry(IndexEntry::new(name, vers, crate_bytes))
    }

    /// Appends `entry` as the last line of its index file.
    pub fn add_entry(&mut self, entry: IndexEntry) -> &mut Self {
        let key = entry.name.to_lowercase();
        self.files.entry(key).or_default().push(Line::Entry(Box::new(entry)));
        self.write();
        self
    }

    /// Appends a line written verbatim (bad JSON, an unknown shape...).
    pub fn add_raw_line(&mut self, name: &str, line: &str) -> &mut Self {
        let key = name.to_lowercase();
        self.files.entry(key).or_default().push(Line::Raw(line.to_owned()));
        self.write();
        self
    }

    /// Edits the last line for `name` `vers` in place (panics if there is none).
    pub fn update(&mut self, name: &str, vers: &str, edit: impl FnOnce(&mut IndexEntry)) -> &mut Self {
        let entry = self
            .files
            .get_mut(&name.to_lowercase())
            .into_iter()
            .flatten()
            .rev()
            .find_map(|line| match line {
                Line::Entry(e) if e.name == name && e.vers == vers => Some(e),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no index line for {name} {vers}"));
        edit(entry);
        self.write();
        self
    }

    pub fn yank(&mut self, name: &str, vers: &str, yanked: bool) -> &mut Self {
        self.update(name, vers, |e| e.yanked = yanked)
    }

    /// Removes every line (and the file) of `name` `vers`.
    pub fn remove_version(&mut self, name: &str, vers: &str) -> &mut Self {
        if let Some(lines) = self.files.get_mut(&name.to_lowercase()) {
            lines.retain(|l| !matches!(l, Line::Entry(e) if e.name == name && e.vers == vers));
        }
        self.write();
        self
    }

    /// Removes the crate entirely: its index file and its `.crate` files.
    pub fn remove_crate(&mut self, name: &str) -> &mut Self {
        self.files.remove(&name.to_lowercase());
        self.write();
        self
    }

    /// The current lines of `name`'s index file.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.files
            .get(&name.to_lowercase())
            .into_iter()
            .flatten()
            .map(|line| match line {
                Line::Entry(e) => e.to_line(),
                Line::Raw(raw) => raw.clone(),
            })
            .collect()
    }

    /// Brings the directory in line with `self.files`, touching only what changed.
    fn write(&mut self) {
        self.tick += 1;
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + self.tick);
        let dl = format!(
            "{}/{{crate}}/{{crate}}-{{version}}.crate",
            file_url_of(&self.root().join("crates"))
        );
        let mut wanted: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        wanted.insert(
            self.index_dir().join("config.json"),
            format!("{}\n", json!({ "dl": dl })).into_bytes(),
        );
        let mut index_files = BTreeSet::new();
        for (key, lines) in &self.files {
            if lines.is_empty() {
                continue;
            }
            let path = self.index_file(key);
            let text: String = self.lines(key).iter().map(|l| format!("{l}\n")).collect();
            wanted.insert(path.clone(), text.into_bytes());
            index_files.insert(path);
            for line in lines {
                if let Line::Entry(e) = line
                    && let Some(bytes) = &e.crate_bytes
                {
                    wanted.insert(self.crate_path(&e.name, &e.vers), bytes.clone());
                }
            }
        }
        for (path, bytes) in &wanted {
            if fs::read(path).ok().as_ref() == Some(bytes) {
                continue;
            }
            fs::create_dir_all(path.parent().expect("a parent")).expect("create registry dir");
            fs::write(path, bytes).expect("write registry file");
            if index_files.contains(path) {
                fs::File::options()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_modified(mtime))
                    .expect("set index file mtime");
            }
        }
        for dir in ["index", "crates"] {
            for path in files_under(&self.root().join(dir)) {
                if !wanted.contains_key(&path) {
                    fs::remove_file(&path).expect("remove stale registry file");
                }
            }
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in read {
        let path = entry.expect("read registry dir").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// `file://` URL of an absolute path, percent-encoding all but unreserved bytes and `/`.
fn file_url_of(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}
