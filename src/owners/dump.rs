//! The registry's daily database dump as an owner source: a `.tar.gz` with
//! `<YYYY-MM-DD-HHMMSS>/metadata.json` and `<...>/data/<table>.csv`, read
//! as a stream from any `impl Read` — never unpacked to disk, never held
//! whole in memory.
//!
//! Tables read (columns found by the header row, in any order, extra columns
//! ignored): `crates` (`id`, `name`), `crate_owners` (`crate_id`,
//! `owner_id`, `owner_kind` 0 user / 1 team, `created_at`, `created_by`),
//! `users` (`id`, `gh_login` or `username`), `teams` (`id`, `login`),
//! `versions` (`id`, `crate_id`, `num`, `created_at`, `published_by`,
//! `checksum`, `yanked`). Every other entry is skipped unparsed. The dump's
//! `metadata.json` `timestamp` is the observation time.
//!
//! Memory is bounded by the crates asked for, not by the dump: only their
//! `crates`, `crate_owners` and `versions` rows are kept. Logins of all users
//! and teams are kept compactly (ids and logins only), because crates.io
//! writes `users` and `teams` before the tables that say which are needed;
//! in bulk mode ([`CrateFilter::All`]) versions are handed to the caller as
//! they are read, not collected.
//!
//! Order: crates.io appends tables in dependency order ("to make it possible
//! to pipeline importing"), so `metadata.json` and `crates.csv` come before
//! `crate_owners.csv` and `versions.csv`; a dump that breaks this is refused.
//! `users`/`teams` may come in either place (rows waiting for them are kept).
//!
//! A dump cut short or with unreadable owner rows never yields owner sets it
//! cannot vouch for: owners are emitted only from a complete `crate_owners`
//! table.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::{Observation, Owner, OwnerKind, PublishMethod, Source, UserRef, VersionRecord, time};
use crate::types::{CrateName, Sha256};

/// Which crates to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrateFilter {
    /// Every crate (bulk mode).
    All,
    /// Only these (names exactly as the registry spells them).
    Only(BTreeSet<CrateName>),
}

/// `metadata.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpMetadata {
    /// When the dump was taken: the observation time of its owner sets.
    pub timestamp: i64,
    /// The crates.io commit that wrote it, when given.
    pub crates_io_commit: Option<String>,
}

/// A `versions.csv` row of a kept crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpVersion {
    /// `versions.id`.
    pub id: u64,
    /// `num`.
    pub num: String,
    /// `created_at`.
    pub created_at: Option<i64>,
    /// `published_by`, with the login from `users.csv` (empty if absent).
    pub published_by: Option<UserRef>,
    /// `checksum` (sha256 of the `.crate`).
    pub checksum: Option<Sha256>,
    /// `yanked` (`t`/`f`).
    pub yanked: Option<bool>,
}

impl DumpVersion {
    /// As a version record (the dump does not say whether trusted publishing
    /// was used: the method stays unknown).
    pub fn to_record(&self) -> VersionRecord {
        VersionRecord {
            published_by: self.published_by.clone(),
            published_at: self.created_at,
            publish_method: PublishMethod::Unknown,
            trusted_publishing: None,
            checksum: self.checksum.map(|c| c.to_hex()),
            audit_actions: Vec::new(),
            sources: [Source::Dump].into(),
        }
    }
}

/// The owners of one kept crate, from a complete `crate_owners` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpOwners {
    /// The crate.
    pub krate: CrateName,
    /// `crates.id`.
    pub crate_id: u64,
    /// User owners (with `since` and `added_by` from the registry).
    pub users: Vec<Owner>,
    /// Team owners.
    pub teams: Vec<Owner>,
}

/// What the reader hands to its sink, in dump order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpItem {
    /// `metadata.json` (always before any owners).
    Metadata(DumpMetadata),
    /// A kept crate's owner set (every kept crate, zero owners included),
    /// once `crate_owners`, `users` and `teams` are read.
    Owners(DumpOwners),
    /// A version of a kept crate.
    Version {
        /// The crate.
        krate: CrateName,
        /// The row.
        version: DumpVersion,
    },
}

/// Rows seen per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Data rows read.
    pub rows: u64,
    /// Rows kept (for the crates asked for).
    pub kept: u64,
    /// Rows that could not be read (bad numbers, missing fields).
    pub bad: u64,
    /// CSV bytes.
    pub bytes: u64,
}

/// What a read went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// Archive entries.
    pub entries: u64,
    /// Per table read (`crates`, `crate_owners`, `users`, `teams`, `versions`).
    pub tables: BTreeMap<&'static str, TableStats>,
    /// The metadata, when found.
    pub metadata: Option<DumpMetadata>,
    /// Whether owner sets were emitted (a complete `crate_owners` table).
    pub owners_emitted: bool,
}

impl DumpStats {
    /// CSV bytes parsed over all tables read.
    pub fn csv_bytes(&self) -> u64 {
        self.tables.values().map(|t| t.bytes).sum()
    }
}

/// Why a dump could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// Reading or decompressing failed (a dump cut short ends here).
    #[error("reading the database dump: {0}")]
    Io(#[from] std::io::Error),
    /// A CSV file could not be parsed.
    #[error("database dump {table}.csv: {message}")]
    Csv {
        /// The table.
        table: &'static str,
        /// What and where.
        message: String,
    },
    /// A needed column is missing.
    #[error("database dump {table}.csv has no column {column:?}")]
    MissingColumn {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
    },
    /// Entries in an order this reader cannot stream.
    #[error("database dump layout: {0}")]
    Layout(String),
    /// `metadata.json` unreadable.
    #[error("database dump metadata.json: {0}")]
    Metadata(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Crates,
    CrateOwners,
    Users,
    Teams,
    Versions,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Crates => "crates",
            Table::CrateOwners => "crate_owners",
            Table::Users => "users",
            Table::Teams => "teams",
            Table::Versions => "versions",
        }
    }
}

enum EntryKind {
    Metadata,
    Table(Table),
}

/// An entry's data that must be as long as its header says: the tar reader
/// ends an entry cut short (an uncompressed dump truncated) without an error.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("archive entry cut short: {} bytes missing", self.left),
            ));
        }
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

/// What an archive path holds: `[<dir>/]metadata.json` or
/// `[<dir>/]data/<table>.csv`.
fn classify(path: &[u8]) -> Option<EntryKind> {
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .collect();
    match parts.as_slice() {
        [.., file] if *file == b"metadata.json" && parts.len() <= 2 => Some(EntryKind::Metadata),
        [.., dir, file] if *dir == b"data" && parts.len() <= 3 => {
            let table = match *file {
                b"crates.csv" => Table::Crates,
                b"crate_owners.csv" => Table::CrateOwners,
                b"users.csv" => Table::Users,
                b"teams.csv" => Table::Teams,
                b"versions.csv" => Table::Versions,
                _ => return None,
            };
            Some(EntryKind::Table(table))
        }
        _ => None,
    }
}

/// Ids and logins, compactly: the logins in one string, and per id its
/// (start, end) in it — in a table indexed by id when the ids are dense
/// enough (crates.io's are a sequence: one memory access a lookup), else in a
/// sorted list searched by id.
#[derive(Default)]
struct Logins {
    index: Vec<(u64, u32, u32)>,
    arena: String,
    /// `direct[id]` = (start, end) in `arena`; `start == u32::MAX`: no such id.
    direct: Vec<(u32, u32)>,
}

/// A direct table is used when it has at most this many slots, or four per
/// login (8 bytes a slot: 32 MiB at most for a sparse table).
const DIRECT_MIN_SLOTS: u64 = 4 << 20;

impl Logins {
    fn push(&mut self, id: u64, login: &[u8]) {
        let start = self.arena.len();
        self.arena.push_str(&String::from_utf8_lossy(login));
        // Past 4 GiB of logins the offsets would wrap; such a table is not a
        // crates.io dump, and its extra logins are dropped.
        match (u32::try_from(start), u32::try_from(self.arena.len())) {
            (Ok(s), Ok(e)) if s != u32::MAX => self.index.push((id, s, e)),
            _ => self.arena.truncate(start),
        }
    }

    fn finish(&mut self) {
        self.index.sort_unstable_by_key(|e| e.0);
        self.index.dedup_by_key(|e| e.0);
        self.arena.shrink_to_fit();
        let slots = self.index.last().map_or(0, |e| e.0.saturating_add(1));
        let limit = (self.index.len() as u64).saturating_mul(4).max(DIRECT_MIN_SLOTS);
        match usize::try_from(slots) {
            Ok(n) if slots <= limit => {
                self.direct = vec![(u32::MAX, 0); n];
                for &(id, s, e) in &self.index {
                    // id < slots = n: in bounds.
                    self.direct[id as usize] = (s, e);
                }
                self.index = Vec::new();
            }
            _ => self.index.shrink_to_fit(),
        }
    }

    fn get(&self, id: u64) -> Option<&str> {
        let (s, e) = if self.direct.is_empty() {
            let i = self.index.binary_search_by_key(&id, |e| e.0).ok()?;
            (self.index[i].1, self.index[i].2)
        } else {
            *self.direct.get(usize::try_from(id).ok()?)?
        };
        if s == u32::MAX {
            return None;
        }
        self.arena.get(s as usize..e as usize)
    }
}

/// 64 hex digits (either case) as a digest; `None` for anything else.
fn sha256_hex(b: &[u8]) -> Option<Sha256> {
    const fn table() -> [u8; 256] {
        let mut t = [0xffu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    }
    static HEX: [u8; 256] = table();
    let b = b.trim_ascii();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let (hi, lo) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        if (hi | lo) & 0xf0 != 0 {
            return None;
        }
        *o = hi << 4 | lo;
    }
    Some(Sha256(out))
}

struct OwnerRow {
    owner_id: u64,
    kind: OwnerKind,
    created_at: Option<i64>,
    created_by: Option<u64>,
}

struct VersionRow {
    crate_id: u64,
    id: u64,
    num: String,
    created_at: Option<i64>,
    published_by: Option<u64>,
    checksum: Option<Sha256>,
    yanked: Option<bool>,
}

/// A version row as handed over, with the publisher's login.
fn version_item(krate: &CrateName, users: Option<&Logins>, row: VersionRow) -> DumpItem {
    let published_by = row.published_by.map(|id| UserRef {
        id,
        login: users.and_then(|u| u.get(id)).unwrap_or_default().to_owned(),
    });
    DumpItem::Version {
        krate: krate.clone(),
        version: DumpVersion {
            id: row.id,
            num: row.num,
            created_at: row.created_at,
            published_by,
            checksum: row.checksum,
            yanked: row.yanked,
        },
    }
}

/// Streams a database dump.
#[derive(Debug, Clone)]
pub struct DumpReader {
    filter: CrateFilter,
}

/// A read in progress.
struct State<'f> {
    filter: &'f CrateFilter,
    stats: DumpStats,
    metadata_seen: bool,
    crates: Option<HashMap<u64, CrateName>>,
    users: Option<Logins>,
    teams: Option<Logins>,
    /// Owner rows by crate id, once `crate_owners.csv` was read whole; `None`
    /// inside when the table had unreadable rows without a crate id.
    owners: Option<Option<HashMap<u64, Vec<OwnerRow>>>>,
    /// Crates with an unreadable owner row: their set cannot be vouched for.
    owners_bad: HashSet<u64>,
    owners_done: bool,
    pending_versions: Vec<VersionRow>,
}

impl DumpReader {
    /// A reader keeping the crates of `filter`.
    pub fn new(filter: CrateFilter) -> Self {
        DumpReader { filter }
    }

    /// Read a dump (`.tar.gz`, or an uncompressed `.tar`) from `input`,
    /// handing each item to `sink` as soon as it is known.
    pub fn read(&self, input: impl Read, mut sink: impl FnMut(DumpItem)) -> Result<DumpStats, DumpError> {
        let mut input = BufReader::with_capacity(1 << 20, input);
        let gzip = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let stream: Box<dyn Read> = if gzip {
            Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(input)))
        } else {
            Box::new(input)
        };
        let mut archive = tar::Archive::new(stream);
        let mut st = State {
            filter: &self.filter,
            stats: DumpStats::default(),
            metadata_seen: false,
            crates: None,
            users: None,
            teams: None,
            owners: None,
            owners_bad: HashSet::new(),
            owners_done: false,
            pending_versions: Vec::new(),
        };
        for entry in archive.entries()? {
            let entry = entry?;
            st.stats.entries += 1;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            match classify(&entry.path_bytes()) {
                Some(EntryKind::Metadata) => {
                    let meta = read_metadata(entry)?;
                    st.metadata_seen = true;
                    st.stats.metadata = Some(meta.clone());
                    sink(DumpItem::Metadata(meta));
                }
                Some(EntryKind::Table(table)) => {
                    let size = entry.size();
                    st.read_table(
                        table,
                        Exact {
                            inner: entry,
                            left: size,
                        },
                        &mut sink,
                    )?;
                }
                None => {}
            }
        }
        st.finish(&mut sink);
        Ok(st.stats)
    }

    /// Read a dump and collect what it says of the kept crates. Meant for a
    /// filtered read; in bulk mode this holds every version in memory (use
    /// [`DumpReader::read`] there).
    pub fn read_all(&self, input: impl Read) -> Result<DumpData, DumpError> {
        let mut crates: BTreeMap<CrateName, DumpCrate> = BTreeMap::new();
        let stats = self.read(input, |item| match item {
            DumpItem::Metadata(_) => {}
            DumpItem::Owners(o) => {
                let c = crates.entry(o.krate).or_insert_with(|| DumpCrate::new(o.crate_id));
                c.users = Some(o.users);
                c.teams = Some(o.teams);
            }
            DumpItem::Version { krate, version } => {
                crates
                    .entry(krate)
                    .or_insert_with(|| DumpCrate::new(0))
                    .versions
                    .push(version);
            }
        })?;
        let metadata = stats
            .metadata
            .clone()
            .ok_or_else(|| DumpError::Layout("no metadata.json".to_owned()))?;
        for c in crates.values_mut() {
            c.versions.sort_by_key(|v| v.id);
        }
        Ok(DumpData {
            metadata,
            crates,
            stats,
        })
    }
}

/// What a dump says of the kept crates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpData {
    /// `metadata.json`.
    pub metadata: DumpMetadata,
    /// The kept crates found in the dump.
    pub crates: BTreeMap<CrateName, DumpCrate>,
    /// What the read went through.
    pub stats: DumpStats,
}

/// One crate in a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpCrate {
    /// `crates.id` (0 if only versions were seen).
    pub id: u64,
    /// User owners; `None` when the dump could not vouch for them.
    pub users: Option<Vec<Owner>>,
    /// Team owners; likewise.
    pub teams: Option<Vec<Owner>>,
    /// Its versions, by `versions.id` (publish order).
    pub versions: Vec<DumpVersion>,
}

impl DumpCrate {
    fn new(id: u64) -> Self {
        DumpCrate {
            id,
            users: None,
            teams: None,
            versions: Vec::new(),
        }
    }
}

impl DumpData {
    /// The owner observation of `name`, dated by the dump; `None` when the
    /// crate is not in the dump or its owners could not be read (neither may
    /// be taken as "no owners").
    pub fn observation(&self, name: &CrateName) -> Option<Observation> {
        let c = self.crates.get(name)?;
        if c.users.is_none() && c.teams.is_none() {
            return None;
        }
        Some(Observation {
            observed_at: self.metadata.timestamp,
            source: Source::Dump,
            users: c.users.clone(),
            teams: c.teams.clone(),
            errors: Vec::new(),
        })
    }

    /// (version, record) for every version of `name` in the dump.
    pub fn version_records(&self, name: &CrateName) -> Vec<(String, VersionRecord)> {
        self.crates
            .get(name)
            .map(|c| c.versions.iter().map(|v| (v.num.clone(), v.to_record())).collect())
            .unwrap_or_default()
    }
}

fn read_metadata(entry: impl Read) -> Result<DumpMetadata, DumpError> {
    #[derive(serde::Deserialize)]
    struct Raw {
        timestamp: String,
        #[serde(default)]
        crates_io_commit: Option<String>,
    }
    let mut bytes = Vec::new();
    entry.take(1 << 20).read_to_end(&mut bytes)?;
    let raw: Raw = serde_json::from_slice(&bytes).map_err(|e| DumpError::Metadata(e.to_string()))?;
    let timestamp = time::parse_timestamp(&raw.timestamp)
        .ok_or_else(|| DumpError::Metadata(format!("timestamp {:?} is not a UTC time", raw.timestamp)))?;
    Ok(DumpMetadata {
        timestamp,
        crates_io_commit: raw.crates_io_commit,
    })
}

/// An unsigned decimal; `None` for anything else (including empty).
fn int(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    Some(v)
}

/// An optional id: empty is `Ok(None)`, garbage is `Err`.
fn opt_int(b: Option<&[u8]>) -> Result<Option<u64>, ()> {
    match b {
        None | Some(b"") => Ok(None),
        Some(b) => int(b).map(Some).ok_or(()),
    }
}

fn opt_time(b: Option<&[u8]>) -> Option<i64> {
    b.filter(|b| !b.is_empty()).and_then(time::parse_timestamp_bytes)
}

fn column(headers: &csv::ByteRecord, table: Table, names: &[&'static str]) -> Result<usize, DumpError> {
    names
        .iter()
        .find_map(|n| headers.iter().position(|h| h == n.as_bytes()))
        .ok_or(DumpError::MissingColumn {
            table: table.name(),
            column: names[0],
        })
}

fn optional_column(headers: &csv::ByteRecord, name: &str) -> Option<usize> {
    headers.iter().position(|h| h == name.as_bytes())
}

/// I/O failures (a dump cut short) stay I/O errors; the rest are CSV errors.
fn csv_error(table: Table, e: csv::Error) -> DumpError {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(io) => DumpError::Io(io),
        _ => DumpError::Csv {
            table: table.name(),
            message,
        },
    }
}

impl State<'_> {
    fn read_table(&mut self, table: Table, entry: impl Read, sink: &mut impl FnMut(DumpItem)) -> Result<(), DumpError> {
        if matches!(table, Table::CrateOwners | Table::Versions) && self.crates.is_none() {
            return Err(DumpError::Layout(format!(
                "{}.csv comes before crates.csv; crates.io writes tables in dependency order",
                table.name()
            )));
        }
        if table == Table::CrateOwners && !self.metadata_seen {
            return Err(DumpError::Layout(
                "crate_owners.csv comes before metadata.json, so its owners cannot be dated".to_owned(),
            ));
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(entry);
        let headers = rdr.byte_headers().map_err(|e| csv_error(table, e))?.clone();
        let mut stats = TableStats::default();
        let mut rec = csv::ByteRecord::new();
        match table {
            Table::Crates => {
                let (id, name) = (column(&headers, table, &["id"])?, column(&headers, table, &["name"])?);
                let mut crates = HashMap::new();
                while rdr.read_byte_record(&mut rec).map_err(|e| csv_error(table, e))? {
                    stats.rows += 1;
                    let (Some(i), Some(n)) = (rec.get(id).and_then(int), rec.get(name)) else {
                        stats.bad += 1;
                        continue;
                    };
                    let keep = match self.filter {
                        CrateFilter::All => true,
                        CrateFilter::Only(set) => std::str::from_utf8(n)
                            .ok()
                            .and_then(|n| CrateName::new(n).ok())
                            .is_some_and(|n| set.contains(&n)),
                    };
                    if keep {
                        match std::str::from_utf8(n).ok().and_then(|n| CrateName::new(n).ok()) {
                            Some(n) => {
                                crates.insert(i, n);
                                stats.kept += 1;
                            }
                            None => stats.bad += 1,
                        }
                    }
                }
                self.crates = Some(crates);
            }
            Table::Users | Table::Teams => {
                let id = column(&headers, table, &["id"])?;
                let login = if table == Table::Users {
                    column(&headers, table, &["gh_login", "username", "login"])?
                } else {
                    column(&headers, table, &["login"])?
                };
                let mut logins = Logins::default();
                while rdr.read_byte_record(&mut rec).map_err(|e| csv_error(table, e))? {
                    stats.rows += 1;
                    match (rec.get(id).and_then(int), rec.get(login)) {
                        (Some(i), Some(l)) => {
                            logins.push(i, l);
                            stats.kept += 1;
                        }
                        _ => stats.bad += 1,
                    }
                }
                logins.finish();
                if table == Table::Users {
                    self.users = Some(logins);
                } else {
                    self.teams = Some(logins);
                }
            }
            Table::CrateOwners => {
                let crate_id = column(&headers, table, &["crate_id"])?;
                let owner_id = column(&headers, table, &["owner_id"])?;
                let kind = column(&headers, table, &["owner_kind"])?;
                let created_at = optional_column(&headers, "created_at");
                let created_by = optional_column(&headers, "created_by");
                let crates = self.crates.as_ref();
                let mut rows: HashMap<u64, Vec<OwnerRow>> = HashMap::new();
                let mut whole = true;
                while rdr.read_byte_record(&mut rec).map_err(|e| csv_error(table, e))? {
                    stats.rows += 1;
                    let Some(c) = rec.get(crate_id).and_then(int) else {
                        stats.bad += 1;
                        whole = false;
                        continue;
                    };
                    if !crates.is_some_and(|m| m.contains_key(&c)) {
                        continue;
                    }
                    let owner = rec.get(owner_id).and_then(int);
                    let kind = match rec.get(kind) {
                        Some(b"0") => Some(OwnerKind::User),
                        Some(b"1") => Some(OwnerKind::Team),
                        _ => None,
                    };
                    let by = opt_int(created_by.and_then(|i| rec.get(i)));
                    let (Some(owner), Some(kind), Ok(by)) = (owner, kind, by) else {
                        stats.bad += 1;
                        self.owners_bad.insert(c);
                        continue;
                    };
                    stats.kept += 1;
                    rows.entry(c).or_default().push(OwnerRow {
                        owner_id: owner,
                        kind,
                        created_at: opt_time(created_at.and_then(|i| rec.get(i))),
                        created_by: by,
                    });
                }
                self.owners = Some(whole.then_some(rows));
            }
            Table::Versions => {
                let crate_id = column(&headers, table, &["crate_id"])?;
                let num = column(&headers, table, &["num"])?;
                let id = optional_column(&headers, "id");
                let created_at = optional_column(&headers, "created_at");
                let published_by = optional_column(&headers, "published_by");
                let checksum = optional_column(&headers, "checksum");
                let yanked = optional_column(&headers, "yanked");
                while rdr.read_byte_record(&mut rec).map_err(|e| csv_error(table, e))? {
                    stats.rows += 1;
                    let Some(c) = rec.get(crate_id).and_then(int) else {
                        stats.bad += 1;
                        continue;
                    };
                    let Some(krate) = self.crates.as_ref().and_then(|m| m.get(&c)) else {
                        continue;
                    };
                    let n = rec.get(num).and_then(|n| std::str::from_utf8(n).ok());
                    let by = opt_int(published_by.and_then(|i| rec.get(i)));
                    let (Some(n), Ok(by)) = (n, by) else {
                        stats.bad += 1;
                        continue;
                    };
                    if crate::types::VersionStr::new(n).is_err() {
                        stats.bad += 1;
                        continue;
                    }
                    stats.kept += 1;
                    let row = VersionRow {
                        crate_id: c,
                        id: id.and_then(|i| rec.get(i)).and_then(int).unwrap_or(0),
                        num: n.to_owned(),
                        created_at: opt_time(created_at.and_then(|i| rec.get(i))),
                        published_by: by,
                        checksum: checksum.and_then(|i| rec.get(i)).and_then(sha256_hex),
                        yanked: match yanked.and_then(|i| rec.get(i)) {
                            Some(b"t" | b"true" | b"1") => Some(true),
                            Some(b"f" | b"false" | b"0") => Some(false),
                            _ => None,
                        },
                    };
                    match &self.users {
                        Some(users) => sink(version_item(krate, Some(users), row)),
                        None => self.pending_versions.push(row),
                    }
                }
            }
        }
        stats.bytes = rdr.position().byte();
        self.stats.tables.insert(table.name(), stats);
        if self.users.is_some() && !self.pending_versions.is_empty() {
            for row in std::mem::take(&mut self.pending_versions) {
                self.emit_version(row, sink);
            }
        }
        if self.users.is_some() && self.teams.is_some() {
            self.emit_owners(sink);
        }
        Ok(())
    }

    fn emit_version(&self, row: VersionRow, sink: &mut impl FnMut(DumpItem)) {
        if let Some(krate) = self.crates.as_ref().and_then(|m| m.get(&row.crate_id)) {
            sink(version_item(krate, self.users.as_ref(), row));
        }
    }

    /// Emit every kept crate's owners once `crate_owners` was read whole
    /// (with logins when `users`/`teams` are known).
    fn emit_owners(&mut self, sink: &mut impl FnMut(DumpItem)) {
        if self.owners_done {
            return;
        }
        let (Some(Some(rows)), Some(crates)) = (&self.owners, &self.crates) else {
            return;
        };
        self.owners_done = true;
        let login =
            |table: &Option<Logins>, id: u64| table.as_ref().and_then(|t| t.get(id)).unwrap_or_default().to_owned();
        let mut sorted: Vec<(&u64, &CrateName)> = crates.iter().collect();
        sorted.sort_by(|a, b| a.1.cmp(b.1));
        for (id, name) in sorted {
            if self.owners_bad.contains(id) {
                continue;
            }
            let mut users = Vec::new();
            let mut teams = Vec::new();
            for row in rows.get(id).into_iter().flatten() {
                let (table, list) = match row.kind {
                    OwnerKind::User => (&self.users, &mut users),
                    OwnerKind::Team => (&self.teams, &mut teams),
                };
                list.push(Owner {
                    kind: row.kind,
                    id: row.owner_id,
                    login: login(table, row.owner_id),
                    since: row.created_at,
                    added_by: row.created_by.map(|by| UserRef {
                        id: by,
                        login: login(&self.users, by),
                    }),
                });
            }
            users.sort_by_key(|o: &Owner| o.id);
            teams.sort_by_key(|o: &Owner| o.id);
            sink(DumpItem::Owners(DumpOwners {
                krate: name.clone(),
                crate_id: *id,
                users,
                teams,
            }));
        }
        self.stats.owners_emitted = true;
    }

    /// End of the archive: hand over whatever waited for `users`/`teams`.
    fn finish(&mut self, sink: &mut impl FnMut(DumpItem)) {
        for row in std::mem::take(&mut self.pending_versions) {
            self.emit_version(row, sink);
        }
        self.emit_owners(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let is_table = |p: &str, t: Table| matches!(classify(p.as_bytes()), Some(EntryKind::Table(x)) if x == t);
        assert!(is_table("2024-01-01-020000/data/versions.csv", Table::Versions));
        assert!(is_table("data/crate_owners.csv", Table::CrateOwners));
        assert!(is_table("./2024-01-01-020000/data/users.csv", Table::Users));
        assert!(classify(b"2024-01-01-020000/data/dependencies.csv").is_none());
        assert!(classify(b"a/b/data/versions.csv").is_none());
        assert!(matches!(
            classify(b"2024-01-01-020000/metadata.json"),
            Some(EntryKind::Metadata)
        ));
        assert!(classify(b"x/data/metadata.json").is_none());
    }

    #[test]
    fn logins_lookup() {
        let mut l = Logins::default();
        l.push(5, b"e");
        l.push(1, b"a");
        l.push(3, b"c");
        l.finish();
        assert_eq!(l.get(1), Some("a"));
        assert_eq!(l.get(5), Some("e"));
        assert_eq!(l.get(2), None);
        assert_eq!(l.get(u64::MAX), None);
        let mut sparse = Logins::default();
        sparse.push(1 << 40, b"far");
        sparse.push(7, b"near");
        sparse.finish();
        assert!(sparse.direct.is_empty());
        let digest = Sha256::of(b"x");
        assert_eq!(sha256_hex(digest.to_hex().as_bytes()), Some(digest));
        assert_eq!(sha256_hex(digest.to_hex().to_uppercase().as_bytes()), Some(digest));
        assert_eq!(sha256_hex(b"zz"), None);
        assert_eq!(sha256_hex(&[b'g'; 64]), None);
        assert_eq!(sparse.get(1 << 40), Some("far"));
        assert_eq!(sparse.get(7), Some("near"));
        assert_eq!(int(b"0042"), Some(42));
        assert_eq!(int(b""), None);
        assert_eq!(opt_int(Some(b"")), Ok(None));
        assert_eq!(opt_int(Some(b"x")), Err(()));
    }
}
