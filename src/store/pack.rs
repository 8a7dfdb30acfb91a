//! Writing packs: objects are appended to a temporary pack file as they
//! arrive (already compressed by the workers), and [`PackWriter::finish`]
//! writes the header count, the trailing checksum and a version-2 index, then
//! moves both into `objects/pack/` — the `.idx` last, because git and gix only
//! see a pack once its index exists. A crash before that leaves a stray
//! temporary file and no visible objects; [`remove_stale_temporaries`] cleans
//! them up.
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

/// A pack being written.
pub struct PackWriter {
    pack_dir: PathBuf,
    tmp_path: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    entries: Vec<IdxEntry>,
    ids: HashMap<ObjectId, Kind>,
}

const TMP_PREFIX: &str = "tmp_cargofox_pack_";

/// Remove temporary pack files left by a killed run.
pub fn remove_stale_temporaries(pack_dir: &Path) -> io::Result<()> {
    if let Ok(rd) = std::fs::read_dir(pack_dir) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                std::fs::remove_file(e.path())?;
            }
        }
    }
    Ok(())
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
        let unique = format!(
            "{TMP_PREFIX}{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let tmp_path = pack_dir.join(unique);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp_path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        // The object count is patched in by `finish`.
        out.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
        Ok(PackWriter {
            pack_dir: pack_dir.to_owned(),
            tmp_path,
            out,
            offset: 12,
            entries: Vec::new(),
            ids: HashMap::new(),
        })
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
        if self.ids.insert(obj.id, obj.kind).is_some() {
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
        self.out.write_all(&header[..n])?;
        self.out.write_all(&obj.zdata)?;
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
