//! The store: a bare git repository holding one commit per crate version, the
//! raw archives, and the records of failed attempts. This is the only module
//! that uses gix. Layout and commit rules: docs/STORE.md.
//!
//! Writes go through a [`Batch`]: objects are appended to a pack, and refs are
//! only updated after the pack and its index are on disk, so a killed run can
//! never leave a ref pointing at a missing object.
//!
//! Crash safety: a run killed at any moment leaves the repository readable
//! and `git fsck`-clean, possibly with litter (a temporary pack, a pack whose
//! index was not renamed in yet, ref lock files). The first batch of the next
//! writer takes the store's own lock (`cargofox.lock`, an advisory `flock`,
//! released by the kernel when a process dies) and only then removes that
//! litter: holding it proves no other cargofox is writing. Readers (`diff`,
//! `verify`) never take it and never remove anything.

pub mod objects;
pub mod pack;
pub mod repair;
pub mod upstream;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::refs::{FullName, Target};

pub use objects::{Prepared, commit_object, prepare};
pub use pack::PackedObject;

use crate::types::{CrateName, Sha256, VersionStr};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening or creating the repository failed.
    #[error("opening the store at {path}: {message}")]
    Open {
        /// The repository path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Filesystem trouble while writing objects.
    #[error("writing to the store: {0}")]
    Io(#[from] std::io::Error),
    /// gix reported an error.
    #[error("git store: {0}")]
    Git(String),
    /// Hashing failed (a SHA-1 collision attack was detected).
    #[error("hashing an object: {0}")]
    Hash(String),
    /// A path is both a file and a directory (a bug in the archive stage).
    #[error("internal error: {0} is both a file and a directory")]
    Conflict(String),
    /// Another process holds the store's write lock.
    #[error("another process is writing the store (lock held on {0})")]
    Busy(PathBuf),
}

impl StoreError {
    fn git(e: impl std::fmt::Display) -> Self {
        StoreError::Git(format!("{e:#}"))
    }

    pub(crate) fn hash(e: impl std::fmt::Display) -> Self {
        StoreError::Hash(e.to_string())
    }
}

/// Ref namespaces.
pub mod refs {
    use crate::types::{CrateName, Sha256, VersionStr};

    /// `refs/crates/<name>/<version>`
    pub fn version(name: &CrateName, v: &VersionStr) -> String {
        format!("refs/crates/{name}/{}", v.ref_component())
    }
    /// `refs/archives/<name>/<version>`
    pub fn archive(name: &CrateName, v: &VersionStr) -> String {
        format!("refs/archives/{name}/{}", v.ref_component())
    }
    /// `refs/extras/<name>/<version>`
    pub fn extras(name: &CrateName, v: &VersionStr) -> String {
        format!("refs/extras/{name}/{}", v.ref_component())
    }
    /// `refs/failures/<name>/<version>`
    pub fn failure(name: &CrateName, v: &VersionStr) -> String {
        format!("refs/failures/{name}/{}", v.ref_component())
    }
    /// `refs/reregistered/<name>/<version>/<sha256>/<what>` where `what` is
    /// `crate`, `archive` or `extras`.
    pub fn reregistered(name: &CrateName, v: &VersionStr, sha: &Sha256, what: &str) -> String {
        format!("refs/reregistered/{name}/{}/{sha}/{what}", v.ref_component())
    }
}

/// The record of a failed attempt, kept as a JSON blob under
/// `refs/failures/...` until the version is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailureRecord {
    /// Stable kind: `download`, `checksum-mismatch`, `parent-missing`, ...
    pub kind: String,
    /// Human-readable reason.
    pub message: String,
    /// The checksum the index gives.
    pub expected_sha256: String,
    /// The checksum of what was downloaded, when something was.
    pub actual_sha256: Option<String>,
    /// HTTP status, when the failure was an HTTP answer.
    pub http_status: Option<u16>,
    /// First failure (seconds since the epoch, from the injected clock).
    pub first_seen: i64,
    /// Latest failure.
    pub last_seen: i64,
    /// Number of failed attempts.
    pub attempts: u32,
}

/// A file in a stored tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Path, `/`-separated, as stored.
    pub path: Vec<u8>,
    /// Mode 100755.
    pub executable: bool,
    /// Blob id.
    pub id: ObjectId,
    /// Blob size.
    pub size: u64,
}

/// What a commit holds.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// Its tree.
    pub tree: ObjectId,
    /// Its parents.
    pub parents: Vec<ObjectId>,
    /// Its message.
    pub message: String,
}

/// The store.
pub struct Store {
    repo: gix::ThreadSafeRepository,
    git_dir: PathBuf,
    /// Objects handed to a batch but not yet in a finished pack.
    pending: Arc<Mutex<HashSet<ObjectId>>>,
    /// The write lock (`cargofox.lock`), taken by the first batch and held
    /// until the store is dropped.
    writer: Mutex<Option<std::fs::File>>,
}

/// Pack index slots for gix. gix sizes its table of pack indexes when the
/// repository is opened (by default the number of packs then on disk, at
/// least 32) and fails with "too few index slots" once a run has written
/// more packs than that; every batch writes one. This is gix's maximum: a
/// slot costs a few dozen bytes.
const PACK_INDEX_SLOTS: u16 = (1 << 15) - 1;

/// Packs past which no upstream fetch starts (each fetch writes one): the
/// rest of gix's slots stay for the run's own batches. `git repack
/// --geometric=2 -d` between runs brings the count down (docs/DEPLOY.md).
pub const MAX_PACKS_FOR_FETCH: usize = PACK_INDEX_SLOTS as usize - 2_768;

/// The lock file of writers, inside the git directory (git ignores it).
const WRITE_LOCK: &str = "cargofox.lock";

fn open_options() -> gix::open::Options {
    gix::open::Options::default().object_store_slots(gix::odb::store::init::Slots::Given(PACK_INDEX_SLOTS))
}

/// Create a bare repository at `path` (missing, or an empty directory).
/// `git init` writes `HEAD` before `config`, and a directory holding only
/// part of a repository is neither openable nor re-initialisable; so the
/// repository is built under a temporary name beside `path` and renamed in
/// whole.
fn init_bare(path: &Path) -> Result<(), StoreError> {
    let open_err = |message: String| StoreError::Open {
        path: path.to_owned(),
        message,
    };
    let name = path
        .file_name()
        .ok_or_else(|| open_err("the store path has no file name".to_owned()))?
        .to_string_lossy()
        .into_owned();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    let tmp = parent.join(format!(
        "{}{}_{}",
        init_prefix(&name),
        std::process::id(),
        pack::unique_suffix()
    ));
    gix::ThreadSafeRepository::init_opts(
        &tmp,
        gix::create::Kind::Bare,
        gix::create::Options::default(),
        open_options(),
    )
    .map_err(|e| open_err(format!("{e:#}")))?;
    match std::fs::rename(&tmp, path) {
        Ok(()) => Ok(()),
        // Someone else created it meanwhile: use theirs.
        Err(_) if path.join("HEAD").exists() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(open_err(format!("{e} (it exists and is not a git repository)")))
        }
    }
}

fn init_prefix(store_name: &str) -> String {
    format!(".{store_name}.cargofox-init-")
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("git_dir", &self.git_dir).finish()
    }
}

impl Store {
    /// Open the bare repository at `path`, creating it when missing.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |e: gix::Error| StoreError::Open {
            path: path.to_owned(),
            message: format!("{e:#}"),
        };
        if !path.join("HEAD").exists() {
            init_bare(path)?;
        }
        let repo = gix::ThreadSafeRepository::open_opts(path, open_options()).map_err(open_err)?;
        Ok(Store {
            repo,
            git_dir: path.to_owned(),
            pending: Arc::default(),
            writer: Mutex::new(None),
        })
    }

    /// Take the write lock (once per store), then remove what a killed
    /// writer left behind.
    fn lock_for_writing(&self) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if writer.is_some() {
            return Ok(());
        }
        let path = self.git_dir.join(WRITE_LOCK);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Busy(path)),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        self.remove_litter()?;
        *writer = Some(file);
        Ok(())
    }

    /// What a killed writer can leave: temporary and index-less packs (git
    /// only sees a pack through its index, so neither holds anything the
    /// store refers to), ref lock files (gix takes one per ref edited and
    /// `packed-refs.lock`; a stale one makes every later edit of that ref
    /// fail), and a half-initialised sibling store. Called with the write
    /// lock held.
    fn remove_litter(&self) -> Result<(), StoreError> {
        pack::remove_stale_temporaries(&self.git_dir.join("objects").join("pack"))?;
        remove_if_present(&self.git_dir.join("packed-refs.lock"))?;
        remove_lock_files(&self.git_dir.join("refs"))?;
        if let (Some(parent), Some(name)) = (self.git_dir.parent(), self.git_dir.file_name()) {
            let prefix = init_prefix(&name.to_string_lossy());
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            if let Ok(rd) = std::fs::read_dir(parent) {
                for e in rd.flatten() {
                    if e.file_name().to_string_lossy().starts_with(&prefix) {
                        std::fs::remove_dir_all(e.path())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The repository directory.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    fn local(&self) -> gix::Repository {
        self.repo.to_thread_local()
    }

    /// A handle for one worker thread: tells which objects still need
    /// writing and claims them, so no object is compressed twice.
    pub fn claimer(&self) -> Claimer {
        Claimer {
            repo: self.local(),
            pending: Arc::clone(&self.pending),
        }
    }

    /// The id a full ref name points to, if it exists.
    pub fn resolve(&self, name: &str) -> Result<Option<ObjectId>, StoreError> {
        let repo = self.local();
        let r = repo.try_find_reference(name).map_err(StoreError::git)?;
        Ok(r.and_then(|r| r.target().try_id().map(ToOwned::to_owned)))
    }

    /// Every ref under `prefix` (which must end in `/`), as (name after the
    /// prefix, id).
    pub fn refs_under(&self, prefix: &str) -> Result<BTreeMap<String, ObjectId>, StoreError> {
        let repo = self.local();
        let platform = repo.references().map_err(StoreError::git)?;
        let prefix_rel = prefix.strip_prefix("refs/").unwrap_or(prefix);
        let _ = prefix_rel;
        let iter = platform.prefixed(prefix).map_err(StoreError::git)?;
        let mut out = BTreeMap::new();
        for r in iter {
            let r = r.map_err(StoreError::git)?;
            let name = r.name().as_bstr().to_str_lossy().into_owned();
            if let (Some(rest), Some(id)) = (name.strip_prefix(prefix), r.target().try_id()) {
                out.insert(rest.to_owned(), id.to_owned());
            }
        }
        Ok(out)
    }

    /// Stored versions of a crate: ref component -> commit id.
    pub fn stored_versions(&self, name: &CrateName) -> Result<BTreeMap<String, ObjectId>, StoreError> {
        self.refs_under(&format!("refs/crates/{name}/"))
    }

    /// The message of a commit.
    pub fn commit_message(&self, id: ObjectId) -> Result<String, StoreError> {
        let repo = self.local();
        let commit = repo.find_commit(id).map_err(StoreError::git)?;
        Ok(commit.message_raw_sloppy().to_str_lossy().into_owned())
    }

    /// The `Crate-Sha256` trailer of a version commit.
    pub fn commit_sha256(&self, id: ObjectId) -> Result<Option<Sha256>, StoreError> {
        let msg = self.commit_message(id)?;
        Ok(msg
            .lines()
            .find_map(|l| l.strip_prefix("Crate-Sha256: "))
            .and_then(|h| Sha256::from_hex(h.trim()).ok()))
    }

    /// Tree, parents and message of a commit.
    pub fn commit_info(&self, id: ObjectId) -> Result<CommitInfo, StoreError> {
        let repo = self.local();
        let commit = repo.find_commit(id).map_err(StoreError::git)?;
        Ok(CommitInfo {
            tree: commit.tree_id().map_err(StoreError::git)?.detach(),
            parents: commit.parent_ids().map(|p| p.detach()).collect(),
            message: commit.message_raw_sloppy().to_str_lossy().into_owned(),
        })
    }

    /// Every file of a tree, recursively, sorted by path.
    pub fn tree_files(&self, tree: ObjectId) -> Result<Vec<TreeFile>, StoreError> {
        let repo = self.local();
        let mut out = Vec::new();
        walk_tree(&repo, tree, |path, mode, id| {
            if mode.is_blob() {
                let size = repo.find_header(id).map_err(StoreError::git)?.size();
                out.push(TreeFile {
                    path,
                    executable: mode.is_executable(),
                    id,
                    size,
                });
            }
            Ok(())
        })?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The content of a blob.
    pub fn blob(&self, id: ObjectId) -> Result<Vec<u8>, StoreError> {
        let repo = self.local();
        let blob = repo.find_blob(id).map_err(StoreError::git)?;
        Ok(blob.data.clone())
    }

    /// Failure records of a crate: ref component -> record.
    pub fn failures(&self, name: &CrateName) -> Result<BTreeMap<String, FailureRecord>, StoreError> {
        let mut out = BTreeMap::new();
        for (version, id) in self.refs_under(&format!("refs/failures/{name}/"))? {
            let bytes = self.blob(id)?;
            if let Ok(rec) = serde_json::from_slice(&bytes) {
                out.insert(version, rec);
            }
        }
        Ok(out)
    }

    /// Start a batch of writes. The first batch takes the store's write lock
    /// (see the module documentation).
    pub fn batch(&self) -> Result<Batch<'_>, StoreError> {
        self.lock_for_writing()?;
        Ok(Batch {
            store: self,
            pack: pack::PackWriter::new(&self.git_dir.join("objects").join("pack"))?,
            edits: Vec::new(),
            versions: 0,
        })
    }

    /// The failure ref of a version, for deleting it in a batch.
    pub fn failure_ref(name: &CrateName, v: &VersionStr) -> String {
        refs::failure(name, v)
    }
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Remove every `*.lock` file under `dir`, recursively.
fn remove_lock_files(dir: &Path) -> Result<(), StoreError> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd {
        let e = e?;
        let ty = e.file_type()?;
        if ty.is_dir() {
            remove_lock_files(&e.path())?;
        } else if e.file_name().to_string_lossy().ends_with(".lock") {
            remove_if_present(&e.path())?;
        }
    }
    Ok(())
}

/// A worker's view of which objects still need writing.
pub struct Claimer {
    repo: gix::Repository,
    pending: Arc<Mutex<HashSet<ObjectId>>>,
}

impl Claimer {
    /// True when `id` is neither stored nor claimed yet; claims it.
    pub fn needed(&mut self, id: &ObjectId) -> bool {
        if let Ok(pending) = self.pending.lock()
            && pending.contains(id)
        {
            return false;
        }
        // Not `Repository::has_object`: it answers true for the empty tree
        // even when the store does not hold it, and then nothing writes it.
        if gix::objs::Exists::exists(&self.repo.objects, id) {
            return false;
        }
        match self.pending.lock() {
            Ok(mut pending) => pending.insert(*id),
            // A poisoned lock only happens after a panic elsewhere; writing
            // an object twice is harmless.
            Err(_) => true,
        }
    }
}

/// A set of objects and ref updates written together.
pub struct Batch<'a> {
    store: &'a Store,
    pack: pack::PackWriter,
    edits: Vec<RefEdit>,
    versions: usize,
}

fn full_name(name: &str) -> Result<FullName, StoreError> {
    FullName::try_from(name).map_err(StoreError::git)
}

impl Batch<'_> {
    /// Add a version's prepared objects.
    pub fn add_objects(&mut self, objects: &[PackedObject]) -> Result<(), StoreError> {
        for o in objects {
            self.pack.add(o)?;
        }
        Ok(())
    }

    /// Add one object.
    pub fn add_object(&mut self, object: &PackedObject) -> Result<(), StoreError> {
        Ok(self.pack.add(object)?)
    }

    /// Point `name` at `target` when the batch commits.
    pub fn set_ref(&mut self, name: &str, target: ObjectId) -> Result<(), StoreError> {
        self.edits.push(RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: "cargofox".into(),
                },
                expected: PreviousValue::Any,
                new: Target::Object(target),
            },
            name: full_name(name)?,
            deref: false,
        });
        Ok(())
    }

    /// Delete `name` (which must exist) when the batch commits.
    pub fn delete_ref(&mut self, name: &str) -> Result<(), StoreError> {
        self.edits.push(RefEdit {
            change: Change::Delete {
                expected: PreviousValue::MustExist,
                log: RefLog::AndReference,
            },
            name: full_name(name)?,
            deref: false,
        });
        Ok(())
    }

    /// Record a failed attempt (the blob is written at once, the ref when
    /// the batch commits).
    pub fn record_failure(&mut self, name: &CrateName, v: &VersionStr, rec: &FailureRecord) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(rec).map_err(|e| StoreError::Git(e.to_string()))?;
        let obj = PackedObject::new(gix::objs::Kind::Blob, &json, flate2::Compression::fast())?;
        self.pack.add(&obj)?;
        self.set_ref(&refs::failure(name, v), obj.id)
    }

    /// Count a stored version (for flush decisions).
    pub fn note_version(&mut self) {
        self.versions += 1;
    }

    /// Versions noted so far.
    pub fn versions(&self) -> usize {
        self.versions
    }

    /// Pack bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.pack.bytes()
    }

    /// Whether the batch has nothing to write.
    pub fn is_empty(&self) -> bool {
        self.pack.is_empty() && self.edits.is_empty()
    }

    /// Write the pack, then the refs; then forget the claims the pack
    /// satisfied.
    pub fn commit(self) -> Result<(), StoreError> {
        let Batch { store, pack, edits, .. } = self;
        let kinds = pack.kinds();
        pack.finish()?;
        if !edits.is_empty() {
            let repo = store.local();
            let find: Box<dyn gix::objs::Find> = Box::new(PeelByHeader(kinds, repo.objects.clone()));
            let sig = gix::actor::Signature {
                name: objects::IDENTITY_NAME.into(),
                email: objects::IDENTITY_EMAIL.into(),
                time: gix::date::Time { seconds: 0, offset: 0 },
            };
            let mut time_buf = Default::default();
            repo.refs
                .transaction()
                .packed_refs(
                    gix::refs::file::transaction::PackedRefs::DeletionsAndNonSymbolicUpdatesRemoveLooseSourceReference(
                        find,
                    ),
                )
                .prepare(
                    edits,
                    gix::lock::acquire::Fail::Immediately,
                    gix::lock::acquire::Fail::AfterDurationWithBackoff(std::time::Duration::from_secs(30)),
                )
                .map_err(StoreError::git)?
                .commit(Some(sig.to_ref(&mut time_buf)))
                .map_err(StoreError::git)?;
        }
        if let Ok(mut pending) = store.pending.lock() {
            pending.clear();
        }
        Ok(())
    }
}

/// Object lookup for peeling refs when they are written to `packed-refs`:
/// only an annotated tag needs its content. The kinds of the objects just
/// written are known; anything else is looked up by header, and read in full
/// only when it is a tag. (gix reads whole objects to peel, which for archive
/// blobs costs time and maps the whole pack into memory.)
struct PeelByHeader(std::collections::HashMap<ObjectId, gix::objs::Kind>, gix::OdbHandle);

impl gix::objs::Find for PeelByHeader {
    fn try_find<'a>(&self, id: &gix::hash::oid, buffer: &'a mut Vec<u8>) -> gix::Result<Option<gix::objs::Data<'a>>> {
        use gix::objs::FindHeader as _;
        let kind = match self.0.get(id) {
            Some(&kind) => Some(kind),
            None => self.1.try_header(id)?.map(|h| h.kind),
        };
        match kind {
            None => Ok(None),
            Some(gix::objs::Kind::Tag) => self.1.try_find(id, buffer),
            Some(kind) => {
                buffer.clear();
                Ok(Some(gix::objs::Data::new(buffer, kind, gix::hash::Kind::Sha1)))
            }
        }
    }
}

/// Call `f` with the full path, mode and id of every non-tree entry below
/// `tree` (depth first, in no particular order).
fn walk_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    mut f: impl FnMut(Vec<u8>, gix::object::tree::EntryMode, ObjectId) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stack = vec![(Vec::new(), tree)];
    while let Some((prefix, id)) = stack.pop() {
        let t = repo.find_tree(id).map_err(StoreError::git)?;
        let decoded = t.decode().map_err(StoreError::git)?;
        for e in &decoded.entries {
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(e.filename);
            let oid = e.oid.to_owned();
            if e.mode.is_tree() {
                stack.push((path, oid));
            } else {
                f(path, e.mode, oid)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(data: &[u8]) -> PackedObject {
        PackedObject::new(gix::objs::Kind::Blob, data, flate2::Compression::fast()).expect("compress")
    }

    /// What a killed writer leaves: a temporary pack, `packed-refs.lock`
    /// and the lock of a ref it was editing. A reader leaves them alone (a
    /// writer may be running); the next writer removes them and can edit
    /// that ref.
    #[test]
    fn the_next_writer_removes_what_a_killed_one_left_readers_do_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("store.git");
        let store = Store::open(&path).expect("open");
        let mut b = store.batch().expect("batch");
        let first = blob(b"first");
        b.add_object(&first).expect("add");
        b.set_ref("refs/archives/x/1.0.0", first.id).expect("ref");
        b.commit().expect("commit");
        drop(store);

        let pack_dir = path.join("objects/pack");
        let tmp = pack_dir.join(format!("{TMP_PREFIX}1_2", TMP_PREFIX = "tmp_cargofox_pack_"));
        std::fs::write(&tmp, b"PACK").expect("temp pack");
        std::fs::write(path.join("packed-refs.lock"), b"").expect("packed-refs.lock");
        std::fs::create_dir_all(path.join("refs/archives/x")).expect("dir");
        let ref_lock = path.join("refs/archives/x/1.0.0.lock");
        std::fs::write(&ref_lock, b"").expect("ref lock");

        let reader = Store::open(&path).expect("open");
        assert_eq!(
            reader.resolve("refs/archives/x/1.0.0").expect("resolve"),
            Some(first.id)
        );
        assert!(tmp.exists() && ref_lock.exists(), "a reader removed a writer's files");

        let mut b = reader.batch().expect("batch");
        assert!(!tmp.exists() && !ref_lock.exists() && !path.join("packed-refs.lock").exists());
        let second = blob(b"second");
        b.add_object(&second).expect("add");
        b.set_ref("refs/archives/x/1.0.0", second.id).expect("ref");
        b.commit().expect("commit despite the stale locks");
        assert_eq!(
            reader.resolve("refs/archives/x/1.0.0").expect("resolve"),
            Some(second.id)
        );
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("store.git");
        let one = Store::open(&path).expect("open");
        let two = Store::open(&path).expect("open");
        let _b = one.batch().expect("first writer");
        assert!(matches!(two.batch(), Err(StoreError::Busy(_))));
    }

    /// gix sizes its pack index table when the repository is opened; one
    /// run writes a pack per batch, far more than the 32 it would allow.
    #[test]
    fn a_run_can_write_more_packs_than_gix_default_slots() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("store.git")).expect("open");
        let mut ids = Vec::new();
        for i in 0..70 {
            let mut b = store.batch().expect("batch");
            let o = blob(format!("object {i}").as_bytes());
            b.add_object(&o).expect("add");
            b.set_ref(&format!("refs/archives/x/{i}"), o.id).expect("ref");
            b.commit().expect("commit");
            ids.push(o.id);
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(store.blob(*id).expect("read back"), format!("object {i}").into_bytes());
        }
    }

    #[test]
    fn a_half_initialised_store_from_a_killed_run_is_not_left_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        // What `git init` killed before writing `config` would leave, had it
        // run in place: now it only ever runs under a temporary name.
        let stale = dir.path().join(format!("{}1_2", init_prefix("store.git")));
        std::fs::create_dir_all(stale.join("objects")).expect("dir");
        std::fs::write(stale.join("HEAD"), b"ref: refs/heads/main\n").expect("HEAD");
        let store = Store::open(&dir.path().join("store.git")).expect("open");
        store.batch().expect("batch");
        assert!(!stale.exists());
        assert!(dir.path().join("store.git/config").exists());
    }
}
