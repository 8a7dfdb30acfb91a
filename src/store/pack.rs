//! Writing packs: objects are appended to a temporary pack file as they
//! arrive (already compressed by the workers), and [`PackWriter::finish`]
//! writes the header count, the trailing checksum and a version-2 index, then
//! moves both into `objects/pack/` — the `.idx` last, because git and gix only
//! see a pack once its index exists. A crash before that leaves a stray
//! temporary file, or a `.pack` without its `.idx`, and no visible objects;
//! [`remove_stale_temporaries`] cleans both up (only ever with the store's
//! write lock held: a temporary file may belong to a running writer).
//!
//! Undeltified packs are what this writes (git's own `gc` can delta them
//! later); writing one pack per batch is far faster than loose objects.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::Kind;

/// An object ready for a pack: id, kind, inflated size, zlib data.
#[derive(Debug, Clone)]
pub struct PackedObject {
    /// The object id.
    pub id: ObjectId,
    /// Commit, tree or blob.
    pub kind: Kind,
    /// Size of the object data before compression.
    pub size: u64,
    /// zlib-compressed object data.
    pub zdata: Vec<u8>,
}

impl PackedObject {
    /// Hash and compress `data` as an object of `kind`.
    pub fn new(kind: Kind, data: &[u8], level: flate2::Compression) -> Result<Self, io::Error> {
        let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, kind, data).map_err(io::Error::other)?;
        let mut z = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 64), level);
        z.write_all(data)?;
        Ok(PackedObject {
            id,
            kind,
            size: data.len() as u64,
            zdata: z.finish()?,
        })
    }
}

struct IdxEntry {
    id: ObjectId,
    crc: u32,
    offset: u64,
}

/// A pack being written. The temporary file is created by the first
/// [`PackWriter::add`], so a batch with nothing to write leaves nothing on
/// disk even when the process is killed.
pub struct PackWriter {
    pack_dir: PathBuf,
    tmp_path: PathBuf,
    out: Option<BufWriter<File>>,
    offset: u64,
    entries: Vec<IdxEntry>,
    ids: HashMap<ObjectId, Kind>,
}

const TMP_PREFIX: &str = "tmp_cargofox_pack_";

/// Remove temporary pack files left by a killed run, and packs whose index
/// was never renamed in (nothing can refer to their objects: refs are
/// written only after the index). The caller must hold the store's write
/// lock.
pub fn remove_stale_temporaries(pack_dir: &Path) -> io::Result<()> {
    let Ok(rd) = std::fs::read_dir(pack_dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let orphan_pack = name.starts_with("pack-")
            && name
                .strip_suffix(".pack")
                .is_some_and(|stem| !pack_dir.join(format!("{stem}.idx")).exists());
        if name.starts_with(TMP_PREFIX) || orphan_pack {
            match std::fs::remove_file(e.path()) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A suffix for temporary names that differs between calls of one process.
pub(crate) fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn type_code(kind: Kind) -> u8 {
    match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    }
}

impl PackWriter {
    /// Start a pack in `pack_dir` (the repository's `objects/pack`).
    pub fn new(pack_dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(pack_dir)?;
        let unique = format!("{TMP_PREFIX}{}_{}", std::process::id(), unique_suffix());
        Ok(PackWriter {
            pack_dir: pack_dir.to_owned(),
            tmp_path: pack_dir.join(unique),
            out: None,
            offset: 12,
            entries: Vec::new(),
            ids: HashMap::new(),
        })
    }

    /// The temporary file, created (with the pack header) on first use.
    fn out(&mut self) -> io::Result<&mut BufWriter<File>> {
        if self.out.is_none() {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&self.tmp_path)?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            // The object count is patched in by `finish`.
            out.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
            self.out = Some(out);
        }
        Ok(self.out.as_mut().expect("just created"))
    }

    /// Objects written so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.offset
    }

    /// Whether this pack already holds `id`.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.ids.contains_key(id)
    }

    /// Append an object unless this pack already has it.
    pub fn add(&mut self, obj: &PackedObject) -> io::Result<()> {
        if self.ids.contains_key(&obj.id) {
            return Ok(());
        }
        let mut header = [0u8; 16];
        let mut n = 0;
        let mut size = obj.size;
        let mut byte = (type_code(obj.kind) << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size != 0 {
            header[n] = byte | 0x80;
            n += 1;
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        header[n] = byte;
        n += 1;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header[..n]);
        crc.update(&obj.zdata);
        let out = self.out()?;
        out.write_all(&header[..n])?;
        out.write_all(&obj.zdata)?;
        self.ids.insert(obj.id, obj.kind);
        self.entries.push(IdxEntry {
            id: obj.id,
            crc: crc.finalize(),
            offset: self.offset,
        });
        self.offset += (n + obj.zdata.len()) as u64;
        Ok(())
    }

    /// The kinds of the objects in this pack.
    pub fn kinds(&self) -> HashMap<ObjectId, Kind> {
        self.ids.clone()
    }

    /// Complete the pack and its index and make them visible. Returns the
    /// pack's path, or `None` (and removes the file) when nothing was added.
    pub fn finish(self) -> io::Result<Option<PathBuf>> {
        let PackWriter {
            pack_dir,
            tmp_path,
            out,
            entries,
            ..
        } = self;
        let Some(out) = out else {
            return Ok(None);
        };
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        if entries.is_empty() {
            drop(file);
            std::fs::remove_file(&tmp_path)?;
            return Ok(None);
        }
        let count = u32::try_from(entries.len()).map_err(|_| io::Error::other("too many objects for one pack"))?;
        file.seek(SeekFrom::Start(8))?;
        file.write_all(&count.to_be_bytes())?;
        // The trailer is the SHA-1 of everything before it.
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let checksum = hasher.try_finalize().map_err(io::Error::other)?;
        file.seek(SeekFrom::End(0))?;
        file.write_all(checksum.as_bytes())?;
        file.sync_all()?;
        drop(file);

        let idx = build_index(entries, &checksum)?;
        let name = format!("pack-{}", checksum.to_hex());
        let pack_path = pack_dir.join(format!("{name}.pack"));
        let idx_path = pack_dir.join(format!("{name}.idx"));
        let idx_tmp = pack_dir.join(format!("{TMP_PREFIX}{name}.idx"));
        {
            let mut f = File::create(&idx_tmp)?;
            f.write_all(&idx)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp_path, &pack_path)?;
        std::fs::rename(&idx_tmp, &idx_path)?;
        if let Ok(dir) = File::open(&pack_dir) {
            let _ = dir.sync_all();
        }
        Ok(Some(pack_path))
    }
}

/// A version-2 pack index for `entries`.
fn build_index(mut entries: Vec<IdxEntry>, pack_checksum: &ObjectId) -> io::Result<Vec<u8>> {
    entries.sort_by_key(|a| a.id);
    let mut out = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc\0\0\0\x02");
    let mut fanout = [0u32; 256];
    for e in &entries {
        fanout[usize::from(e.id.as_bytes()[0])] += 1;
    }
    let mut running = 0u32;
    for f in fanout {
        running += f;
        out.extend_from_slice(&running.to_be_bytes());
    }
    for e in &entries {
        out.extend_from_slice(e.id.as_bytes());
    }
    for e in &entries {
        out.extend_from_slice(&e.crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for e in &entries {
        if e.offset < 0x8000_0000 {
            out.extend_from_slice(&(e.offset as u32).to_be_bytes());
        } else {
            let i = u32::try_from(large.len()).map_err(io::Error::other)?;
            out.extend_from_slice(&(0x8000_0000 | i).to_be_bytes());
            large.push(e.offset);
        }
    }
    for l in large {
        out.extend_from_slice(&l.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum.as_bytes());
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(&out);
    let idx_checksum = hasher.try_finalize().map_err(io::Error::other)?;
    out.extend_from_slice(idx_checksum.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(data: &[u8]) -> PackedObject {
        PackedObject::new(Kind::Blob, data, flate2::Compression::fast()).expect("compress")
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("read pack dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_empty_pack_never_touches_the_disk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let w = PackWriter::new(dir.path()).expect("new");
        assert!(names(dir.path()).is_empty(), "created before the first object");
        assert!(w.finish().expect("finish").is_none());
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn stale_temporaries_and_index_less_packs_are_removed_complete_packs_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut w = PackWriter::new(dir.path()).expect("new");
        w.add(&blob(b"kept")).expect("add");
        let kept = w.finish().expect("finish").expect("a pack");
        // A killed writer: its temporary pack, and a pack renamed in without
        // its index.
        let mut killed = PackWriter::new(dir.path()).expect("new");
        killed.add(&blob(b"lost")).expect("add");
        killed.out().expect("file").flush().expect("flush");
        std::fs::write(dir.path().join("pack-0123.pack"), b"PACK").expect("write");
        assert_eq!(names(dir.path()).len(), 4);
        remove_stale_temporaries(dir.path()).expect("clean");
        let stem = kept.file_stem().expect("stem").to_string_lossy().into_owned();
        assert_eq!(names(dir.path()), vec![format!("{stem}.idx"), format!("{stem}.pack")]);
    }
}
