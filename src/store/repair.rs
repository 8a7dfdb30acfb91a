//! Detecting a damaged store and making it whole again (BAD-INPUTS 31): what
//! a power cut, a full disk or a failing disk can leave behind — an empty or
//! truncated pack or pack index, an empty or corrupt loose object, a
//! `packed-refs` whose refs point at objects that never reached the disk.
//!
//! [`Store::check_and_repair`] runs once at the start of every writing run,
//! with the store's write lock held. It is cheap: it reads every pack index
//! and the header and trailer of every pack (never a whole pack), inflates
//! the loose objects (cargofox writes none; other git tools may), and looks
//! up the target of every ref and the tree and parents of every version
//! commit by header. Only when it finds damage does it walk every version's
//! whole tree, since a version can share objects with the damaged one.
//!
//! Damage is never deleted: unreadable files are moved to
//! `cargofox-damaged/` inside the store (git ignores that directory), refs
//! whose objects are missing are dropped, and each finding is returned as a
//! line for the run's output. A dropped version is stored again by the same
//! run — from its `refs/archives/...` blob when that is intact (no download),
//! else downloaded — and, commit ids being deterministic, gets the same
//! commit id as before, so every report stays byte-identical. This module
//! never removes an intact object or ref.

use std::collections::BTreeSet;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::Kind;

use super::{Store, StoreError, open_options, pack};

/// What [`Store::check_and_repair`] found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repair {
    /// One line per finding, for the run's output (`STORE DAMAGE: ...`).
    pub findings: Vec<String>,
    /// Files moved to the quarantine directory.
    pub quarantined: Vec<PathBuf>,
    /// Refs dropped because their objects are missing or unreadable.
    pub dropped_refs: Vec<String>,
}

impl Repair {
    /// Whether the store was found intact.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Where unreadable files go, inside the git directory.
pub const QUARANTINE: &str = "cargofox-damaged";

/// The kind of object a ref in one of cargofox's namespaces must point to.
fn expected_kind(name: &str) -> Option<Kind> {
    let rest = name.strip_prefix("refs/")?;
    let (ns, _) = rest.split_once('/')?;
    match ns {
        "crates" => Some(Kind::Commit),
        "archives" | "failures" => Some(Kind::Blob),
        "extras" => Some(Kind::Tree),
        "reregistered" => match rest.rsplit_once('/').map(|(_, what)| what) {
            Some("crate") => Some(Kind::Commit),
            Some("archive") => Some(Kind::Blob),
            Some("extras") => Some(Kind::Tree),
            _ => None,
        },
        _ => None,
    }
}

/// The version ref that must be rebuilt when `name` (an archive or extras
/// ref) is broken: the version is stored again from its parts.
fn version_ref_of(name: &str) -> Option<String> {
    if let Some(rest) = name.strip_prefix("refs/archives/") {
        return Some(format!("refs/crates/{rest}"));
    }
    if let Some(rest) = name.strip_prefix("refs/extras/") {
        return Some(format!("refs/crates/{rest}"));
    }
    if name.starts_with("refs/reregistered/") {
        let (base, what) = name.rsplit_once('/')?;
        if what == "archive" || what == "extras" {
            return Some(format!("{base}/crate"));
        }
    }
    None
}

impl Store {
    /// Check the store and repair what a power cut or a full disk damaged
    /// (see the module documentation). Takes the write lock. Returns what
    /// was found; an intact store gives an empty [`Repair`].
    pub fn check_and_repair(&mut self) -> Result<Repair, StoreError> {
        self.lock_for_writing()?;
        let mut repair = Repair::default();
        let quarantine = self.git_dir.join(QUARANTINE).join(pack::unique_suffix());
        let pack_dir = self.git_dir.join("objects").join("pack");
        for (idx, problem) in damaged_packs(&pack_dir)? {
            let stem = idx
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            repair.findings.push(format!(
                "STORE DAMAGE: pack {stem} is unreadable ({problem}); moved to {QUARANTINE}/, its objects are looked for elsewhere"
            ));
            for sibling in pack_files(&pack_dir, &stem)? {
                repair.quarantined.push(quarantine_file(&sibling, &quarantine)?);
            }
        }
        for (path, problem) in damaged_loose_objects(&self.git_dir.join("objects"))? {
            repair.findings.push(format!(
                "STORE DAMAGE: loose object {} is unreadable ({problem}); moved to {QUARANTINE}/",
                loose_id(&path)
            ));
            repair.quarantined.push(quarantine_file(&path, &quarantine)?);
        }
        if !repair.quarantined.is_empty() {
            // Caches of what was just moved away would point git at it.
            for rel in [
                "objects/pack/multi-pack-index",
                "objects/info/commit-graph",
                "objects/info/commit-graphs",
            ] {
                let path = self.git_dir.join(rel);
                if path.exists() {
                    repair.quarantined.push(quarantine_file(&path, &quarantine)?);
                }
            }
            // gix may have mapped the moved files: start afresh.
            self.repo =
                gix::ThreadSafeRepository::open_opts(&self.git_dir, open_options()).map_err(|e| StoreError::Open {
                    path: self.git_dir.clone(),
                    message: format!("{e:#}"),
                })?;
        }

        // Refs: cheap checks first; every tree in full once damage is known.
        let all = self.refs_under("refs/")?;
        let mut deep = !repair.is_clean();
        let mut broken = self.broken_refs(&all, deep)?;
        if !deep && !broken.is_empty() {
            deep = true;
            broken = self.broken_refs(&all, deep)?;
        }
        let mut drop: BTreeSet<String> = BTreeSet::new();
        for (name, problem) in &broken {
            drop.insert(name.clone());
            let rebuilt = version_ref_of(name).filter(|v| all.contains_key(v.strip_prefix("refs/").unwrap_or(v)));
            let how = if let Some(v) = &rebuilt {
                drop.insert(v.clone());
                "the version is stored again (downloaded)".to_owned()
            } else if name.starts_with("refs/crates/") {
                let archive = name.replacen("refs/crates/", "refs/archives/", 1);
                let archive_ok = all.contains_key(archive.strip_prefix("refs/").unwrap_or(&archive))
                    && !broken.iter().any(|(n, _)| *n == archive);
                if archive_ok {
                    "the version is rebuilt from its stored .crate".to_owned()
                } else {
                    "the version is stored again (downloaded)".to_owned()
                }
            } else if name.starts_with("refs/failures/") {
                "the version is retried as a new failure".to_owned()
            } else {
                "dropped".to_owned()
            };
            repair
                .findings
                .push(format!("STORE DAMAGE: {name}: {problem}; ref dropped, {how}"));
        }
        if !drop.is_empty() {
            let mut batch = self.batch()?;
            for name in &drop {
                batch.delete_ref(name)?;
            }
            batch.commit()?;
            repair.dropped_refs = drop.into_iter().collect();
        }
        Ok(repair)
    }

    /// Refs whose objects are missing or of the wrong kind, with the reason.
    /// `deep`: walk every version commit's whole tree too.
    fn broken_refs(
        &self,
        all: &std::collections::BTreeMap<String, ObjectId>,
        deep: bool,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let repo = self.local();
        let header = |id: ObjectId| repo.find_header(id).map(|h| h.kind()).ok();
        let mut broken = Vec::new();
        for (rest, &id) in all {
            let name = format!("refs/{rest}");
            let Some(kind) = header(id) else {
                broken.push((name, format!("object {id} is missing")));
                continue;
            };
            let want = expected_kind(&name);
            if want.is_some_and(|w| w != kind) {
                broken.push((name, format!("object {id} is a {kind}, not a {}", want.unwrap_or(kind))));
                continue;
            }
            if kind != Kind::Commit || want.is_none() {
                continue;
            }
            let problem = match self.commit_info(id) {
                Err(e) => Some(format!("commit {id} is unreadable: {e}")),
                Ok(info) => {
                    if let Some(p) = info.parents.iter().find(|p| header(**p) != Some(Kind::Commit)) {
                        Some(format!("its parent commit {p} is missing"))
                    } else if header(info.tree) != Some(Kind::Tree) {
                        Some(format!("its tree {} is missing", info.tree))
                    } else if deep {
                        self.tree_files(info.tree)
                            .err()
                            .map(|_| format!("part of its tree {} is missing or unreadable", info.tree))
                    } else {
                        None
                    }
                }
            };
            if let Some(p) = problem {
                broken.push((name, p));
            }
        }
        // An extras tree is checked in full when damage is known.
        if deep {
            for (rest, &id) in all {
                let name = format!("refs/{rest}");
                if expected_kind(&name) == Some(Kind::Tree)
                    && !broken.iter().any(|(n, _)| *n == name)
                    && self.tree_files(id).is_err()
                {
                    broken.push((name, format!("part of tree {id} is missing or unreadable")));
                }
            }
        }
        Ok(broken)
    }
}

/// Every file of the pack `stem` (`.idx`, `.pack`, `.rev`, `.keep`, ...).
fn pack_files(pack_dir: &Path, stem: &str) -> Result<Vec<PathBuf>, StoreError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(pack_dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.strip_prefix(stem).is_some_and(|rest| rest.starts_with('.')) {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Move `path` into `dir` (created when needed); returns the new path.
fn quarantine_file(path: &Path, dir: &Path) -> Result<PathBuf, StoreError> {
    std::fs::create_dir_all(dir)?;
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    // Loose objects: keep the two-letter directory in the name.
    if let Some(parent) = path.parent().and_then(Path::file_name)
        && parent.len() == 2
        && parent.to_string_lossy() != "pack"
    {
        let mut joined = parent.to_os_string();
        joined.push(&name);
        name = joined;
    }
    let dest = dir.join(name);
    std::fs::rename(path, &dest)?;
    Ok(dest)
}

fn loose_id(path: &Path) -> String {
    let dir = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned());
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
    format!("{}{}", dir.unwrap_or_default(), file.unwrap_or_default())
}

/// Packs whose index or pack file is unreadable, as (index path, reason).
/// An index whose pack is gone counts too.
fn damaged_packs(pack_dir: &Path) -> Result<Vec<(PathBuf, String)>, StoreError> {
    let Ok(rd) = std::fs::read_dir(pack_dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in rd {
        let path = e?.path();
        let is_idx = path.extension().is_some_and(|x| x == "idx")
            && path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pack-"));
        if is_idx && let Err(problem) = check_pack(&path) {
            out.push((path, problem));
        }
    }
    out.sort();
    Ok(out)
}

const IDX_MAGIC: &[u8] = b"\xfftOc\0\0\0\x02";

/// Check a pack index and the header and trailer of its pack, without
/// reading the pack: the index's own checksum, its size against its object
/// count, the pack's signature, object count and trailing checksum (which
/// the index repeats), and that every offset lies inside the pack.
pub fn check_pack(idx_path: &Path) -> Result<(), String> {
    let idx = std::fs::read(idx_path).map_err(|e| format!("reading the index: {e}"))?;
    let fixed = IDX_MAGIC.len() + 256 * 4;
    if idx.len() < fixed + 40 {
        return Err(format!("the index is {} bytes, too short to be one", idx.len()));
    }
    if &idx[..IDX_MAGIC.len()] != IDX_MAGIC {
        return Err("the index does not start with a version-2 signature".to_owned());
    }
    let be32 = |at: usize| u32::from_be_bytes([idx[at], idx[at + 1], idx[at + 2], idx[at + 3]]);
    let count = be32(fixed - 4) as usize;
    let offsets_at = fixed + count * 24;
    if idx.len() < offsets_at + count * 4 + 40 {
        return Err(format!(
            "the index is {} bytes, too short for its {count} objects",
            idx.len()
        ));
    }
    let offsets: Vec<u32> = (0..count).map(|i| be32(offsets_at + i * 4)).collect();
    let large = offsets.iter().filter(|o| *o & 0x8000_0000 != 0).count();
    let expected = offsets_at + count * 4 + large * 8 + 40;
    if idx.len() != expected {
        return Err(format!(
            "the index is {} bytes, expected {expected} for its {count} objects",
            idx.len()
        ));
    }
    let body = &idx[..idx.len() - 20];
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(body);
    let sum = hasher.try_finalize().map_err(|e| e.to_string())?;
    if sum.as_bytes() != &idx[idx.len() - 20..] {
        return Err("the index's checksum does not match its content".to_owned());
    }
    let pack_sum = &idx[idx.len() - 40..idx.len() - 20];
    let large_at = offsets_at + count * 4;
    let max_offset = offsets
        .iter()
        .map(|&o| {
            if o & 0x8000_0000 == 0 {
                u64::from(o)
            } else {
                let at = large_at + (o & 0x7fff_ffff) as usize * 8;
                idx.get(at..at + 8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(u64::MAX, u64::from_be_bytes)
            }
        })
        .max();

    let pack_path = idx_path.with_extension("pack");
    let mut pack = std::fs::File::open(&pack_path).map_err(|e| format!("opening the pack: {e}"))?;
    let len = pack.metadata().map_err(|e| format!("reading the pack: {e}"))?.len();
    if len < 32 {
        return Err(format!("the pack is {len} bytes, too short to be one"));
    }
    let mut head = [0u8; 12];
    pack.read_exact(&mut head)
        .map_err(|e| format!("reading the pack: {e}"))?;
    if &head[..4] != b"PACK" || !matches!(head[7], 2 | 3) || head[4..7] != [0, 0, 0] {
        return Err("the pack does not start with a pack signature".to_owned());
    }
    let pack_count = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
    if pack_count != count {
        return Err(format!(
            "the pack says it holds {pack_count} objects, its index {count}"
        ));
    }
    let mut tail = [0u8; 20];
    pack.seek(SeekFrom::End(-20))
        .and_then(|_| pack.read_exact(&mut tail))
        .map_err(|e| format!("reading the pack: {e}"))?;
    if tail != pack_sum {
        return Err(format!(
            "the pack's trailing checksum is not the one its index names (truncated or overwritten? {len} bytes)"
        ));
    }
    if max_offset.is_some_and(|o| o >= len - 20) {
        return Err("an object offset lies beyond the end of the pack".to_owned());
    }
    Ok(())
}

/// Loose objects that are empty, do not inflate, or do not hash to their
/// name, as (path, reason).
fn damaged_loose_objects(objects: &Path) -> Result<Vec<(PathBuf, String)>, StoreError> {
    let Ok(rd) = std::fs::read_dir(objects) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for dir in rd {
        let dir = dir?;
        let dname = dir.file_name().to_string_lossy().into_owned();
        if dname.len() != 2 || !dname.bytes().all(|b| b.is_ascii_hexdigit()) || !dir.file_type()?.is_dir() {
            continue;
        }
        for e in std::fs::read_dir(dir.path())? {
            let e = e?;
            let fname = e.file_name().to_string_lossy().into_owned();
            if fname.len() != 38 || !fname.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let Ok(id) = ObjectId::from_hex(format!("{dname}{fname}").as_bytes()) else {
                continue;
            };
            if let Err(problem) = check_loose(&e.path(), id) {
                out.push((e.path(), problem));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Inflate a loose object and check its header, size and id.
fn check_loose(path: &Path, id: ObjectId) -> Result<(), String> {
    let compressed = std::fs::read(path).map_err(|e| format!("reading it: {e}"))?;
    if compressed.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut data = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut data)
        .map_err(|e| format!("it does not inflate: {e}"))?;
    let nul = data
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| "it has no object header".to_owned())?;
    let header = std::str::from_utf8(&data[..nul]).map_err(|_| "its header is not text".to_owned())?;
    let (kind, size) = header
        .split_once(' ')
        .ok_or_else(|| "its header has no size".to_owned())?;
    let kind = Kind::from_bytes(kind.as_bytes()).map_err(|_| format!("unknown object type {kind:?}"))?;
    let size: usize = size.parse().map_err(|_| "its header has no size".to_owned())?;
    let body = &data[nul + 1..];
    if body.len() != size {
        return Err(format!("it holds {} bytes, its header says {size}", body.len()));
    }
    let actual = gix::objs::compute_hash(gix::hash::Kind::Sha1, kind, body).map_err(|e| e.to_string())?;
    if actual != id {
        return Err(format!("its content hashes to {actual}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PackedObject;

    fn obj(kind: Kind, data: &[u8]) -> PackedObject {
        PackedObject::new(kind, data, flate2::Compression::fast()).expect("compress")
    }

    /// A store with two versions in two packs: the archive of `b` in the
    /// first pack, its tree and commit in the second.
    fn two_packs(dir: &Path) -> (PathBuf, ObjectId, ObjectId) {
        let path = dir.join("store.git");
        let store = Store::open(&path).expect("open");
        let archive = obj(Kind::Blob, b"the .crate bytes");
        let file = obj(Kind::Blob, b"fn main() {}\n");
        let mut tree_data = b"100644 main.rs\0".to_vec();
        tree_data.extend_from_slice(file.id.as_bytes());
        let tree = obj(Kind::Tree, &tree_data);
        let commit = crate::store::commit_object(tree.id, None, 0, "b 1.0.0\n").expect("commit");
        let mut b = store.batch().expect("batch");
        b.add_object(&archive).expect("add");
        b.set_ref("refs/archives/b/1.0.0", archive.id).expect("ref");
        b.commit().expect("first pack");
        let mut b = store.batch().expect("batch");
        for o in [&file, &tree, &commit] {
            b.add_object(o).expect("add");
        }
        b.set_ref("refs/crates/b/1.0.0", commit.id).expect("ref");
        b.commit().expect("second pack");
        (path, archive.id, commit.id)
    }

    fn idx_files(path: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path.join("objects/pack"))
            .expect("pack dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_intact_store_is_clean_and_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, _, _) = two_packs(dir.path());
        let mut store = Store::open(&path).expect("open");
        assert_eq!(store.check_and_repair().expect("check"), Repair::default());
        for idx in idx_files(&path) {
            check_pack(&idx).expect("intact pack");
        }
    }

    /// Every way a pack can be cut short is detected by the cheap check.
    #[test]
    fn truncated_and_empty_packs_and_indexes_are_detected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, _, _) = two_packs(dir.path());
        let idx = idx_files(&path).remove(0);
        let pack = idx.with_extension("pack");
        let (idx_bytes, pack_bytes) = (std::fs::read(&idx).expect("idx"), std::fs::read(&pack).expect("pack"));
        let cases: Vec<(&str, PathBuf, Vec<u8>)> = vec![
            ("empty pack", pack.clone(), Vec::new()),
            ("half a pack", pack.clone(), pack_bytes[..pack_bytes.len() / 2].to_vec()),
            (
                "pack without trailer",
                pack.clone(),
                pack_bytes[..pack_bytes.len() - 20].to_vec(),
            ),
            ("zeroed pack", pack.clone(), vec![0; pack_bytes.len()]),
            ("empty index", idx.clone(), Vec::new()),
            ("half an index", idx.clone(), idx_bytes[..idx_bytes.len() / 2].to_vec()),
            (
                "index without checksum",
                idx.clone(),
                idx_bytes[..idx_bytes.len() - 20].to_vec(),
            ),
        ];
        for (what, file, bytes) in cases {
            let original = std::fs::read(&file).expect("read");
            std::fs::write(&file, &bytes).expect("damage");
            assert!(check_pack(&idx).is_err(), "{what} passed the check");
            std::fs::write(&file, &original).expect("restore");
            check_pack(&idx).expect("restored");
        }
        std::fs::remove_file(&pack).expect("remove pack");
        assert!(check_pack(&idx).is_err(), "an index without its pack passed");
    }

    /// The pack holding a version's commit and tree is lost; its archive
    /// survives in another pack: the version ref is dropped (its archive ref
    /// kept, for the rebuild), the pack quarantined, not deleted.
    #[test]
    fn a_lost_pack_drops_the_versions_it_held_and_keeps_intact_archives() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, archive, _) = two_packs(dir.path());
        let second = idx_files(&path)
            .into_iter()
            .find(|i| std::fs::read(i).map(|b| b.len()).unwrap_or(0) == 8 + 1024 + 3 * 28 + 40)
            .expect("the pack with three objects");
        std::fs::write(second.with_extension("pack"), b"").expect("power cut");
        let mut store = Store::open(&path).expect("open");
        let repair = store.check_and_repair().expect("repair");
        assert_eq!(
            repair.dropped_refs,
            vec!["refs/crates/b/1.0.0".to_owned()],
            "{repair:#?}"
        );
        assert!(
            repair
                .findings
                .iter()
                .any(|f| f.contains("rebuilt from its stored .crate")),
            "{repair:#?}"
        );
        assert_eq!(repair.quarantined.len(), 2, "{repair:#?}");
        assert!(repair.quarantined.iter().all(|p| p.exists()));
        assert_eq!(store.resolve("refs/crates/b/1.0.0").expect("resolve"), None);
        assert_eq!(store.resolve("refs/archives/b/1.0.0").expect("resolve"), Some(archive));
        assert_eq!(store.blob(archive).expect("archive"), b"the .crate bytes");
        // Repaired: the next check finds nothing.
        assert!(store.check_and_repair().expect("again").is_clean());
    }

    /// An empty loose object (what a power cut leaves of a file that was
    /// never flushed) is moved aside and the ref to it dropped; a loose
    /// object whose content does not match its name too.
    #[test]
    fn empty_and_corrupt_loose_objects_are_quarantined() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, _, commit) = two_packs(dir.path());
        // The archive blob as a loose object that lost its content, and a
        // stray loose object with the wrong content.
        let archive_idx = idx_files(&path)
            .into_iter()
            .find(|i| std::fs::read(i).map(|b| b.len()).unwrap_or(0) == 8 + 1024 + 28 + 40)
            .expect("the one-object pack");
        std::fs::remove_file(archive_idx.with_extension("pack")).expect("rm");
        std::fs::remove_file(&archive_idx).expect("rm");
        let archive = obj(Kind::Blob, b"the .crate bytes").id;
        let hex = archive.to_hex().to_string();
        std::fs::create_dir_all(path.join("objects").join(&hex[..2])).expect("dir");
        std::fs::write(path.join("objects").join(&hex[..2]).join(&hex[2..]), b"").expect("empty");
        let other = "ab".to_owned() + &"c".repeat(38);
        std::fs::create_dir_all(path.join("objects/ab")).expect("dir");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, b"blob 3\0abc").expect("z");
        std::fs::write(path.join("objects/ab").join(&other[2..]), z.finish().expect("z")).expect("write");

        let mut store = Store::open(&path).expect("open");
        let repair = store.check_and_repair().expect("repair");
        assert_eq!(repair.quarantined.len(), 2, "{repair:#?}");
        assert_eq!(
            repair.dropped_refs,
            vec!["refs/archives/b/1.0.0".to_owned(), "refs/crates/b/1.0.0".to_owned()],
            "{repair:#?}"
        );
        assert!(repair.findings.iter().any(|f| f.contains("is empty")), "{repair:#?}");
        assert!(repair.findings.iter().any(|f| f.contains("hashes to")), "{repair:#?}");
        // The commit itself was intact and is still readable.
        store.commit_info(commit).expect("commit kept in its pack");
    }
}
