//! Hand-written tar archives. Headers are laid out byte by byte (ustar, 512-byte
//! blocks, checksum computed here), so a test can build what the `tar` crate's
//! Builder refuses: any path bytes, any mode and entry type, GNU long names,
//! PAX records that contradict the ustar header, sizes claimed but not present,
//! a missing end marker, junk after it. Also `gzip` and ordinary `.crate` files.

use std::io::Write;

const BLOCK: usize = 512;

/// The tar entry type (the header's typeflag byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Regular,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
    /// GNU `././@LongLink` carrying the next entry's path (`L`).
    GnuLongName,
    /// GNU `././@LongLink` carrying the next entry's link target (`K`).
    GnuLongLink,
    /// PAX extended header for the next entry (`x`).
    Pax,
    /// PAX global header (`g`).
    PaxGlobal,
    /// Any other typeflag byte, e.g. `b'\0'` (the pre-POSIX regular file).
    Other(u8),
}

impl Kind {
    fn flag(self) -> u8 {
        match self {
            Kind::Regular => b'0',
            Kind::HardLink => b'1',
            Kind::Symlink => b'2',
            Kind::CharDevice => b'3',
            Kind::BlockDevice => b'4',
            Kind::Directory => b'5',
            Kind::Fifo => b'6',
            Kind::GnuLongName => b'L',
            Kind::GnuLongLink => b'K',
            Kind::Pax => b'x',
            Kind::PaxGlobal => b'g',
            Kind::Other(b) => b,
        }
    }

    fn default_mode(self) -> u32 {
        match self {
            Kind::Directory => 0o755,
            Kind::Symlink => 0o777,
            _ => 0o644,
        }
    }
}

/// One header plus its data. Every field is written exactly as given.
#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: Kind,
    /// The `name` field; over 100 bytes it is split into ustar `prefix` + `name`
    /// at a `/` (panics if that is impossible: use `TarBuilder::gnu_long_name`).
    pub path: Vec<u8>,
    /// Explicit ustar `prefix` field (then `path` must fit in 100 bytes).
    pub prefix: Option<Vec<u8>>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: Vec<u8>,
    pub data: Vec<u8>,
    /// The size written in the header; `None` means `data.len()`.
    pub claimed_size: Option<u64>,
    pub device: (u32, u32),
    /// GNU magic (`"ustar  \0"`) instead of POSIX (`"ustar\0" "00"`).
    pub gnu_magic: bool,
    /// Write this checksum instead of the correct one.
    pub checksum: Option<u32>,
}

impl Entry {
    pub fn new(kind: Kind, path: impl AsRef<[u8]>) -> Self {
        Entry {
            kind,
            path: path.as_ref().to_vec(),
            prefix: None,
            mode: kind.default_mode(),
            uid: 0,
            gid: 0,
            mtime: 0,
            link: Vec::new(),
            data: Vec::new(),
            claimed_size: None,
            device: (0, 0),
            gnu_magic: false,
            checksum: None,
        }
    }

    /// A regular file, mode 0o644.
    pub fn file(path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Self {
        Entry::new(Kind::Regular, path).data(data)
    }

    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    pub fn data(mut self, data: impl AsRef<[u8]>) -> Self {
        self.data = data.as_ref().to_vec();
        self
    }

    pub fn link(mut self, target: impl AsRef<[u8]>) -> Self {
        self.link = target.as_ref().to_vec();
        self
    }

    /// Claim `size` bytes in the header whatever `data` holds (e.g. 4 GiB with
    /// a few bytes after it).
    pub fn claimed_size(mut self, size: u64) -> Self {
        self.claimed_size = Some(size);
        self
    }

    pub fn device(mut self, major: u32, minor: u32) -> Self {
        self.device = (major, minor);
        self
    }

    pub fn mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }

    pub fn prefix(mut self, prefix: impl AsRef<[u8]>) -> Self {
        self.prefix = Some(prefix.as_ref().to_vec());
        self
    }

    pub fn gnu_magic(mut self) -> Self {
        self.gnu_magic = true;
        self
    }

    pub fn checksum(mut self, checksum: u32) -> Self {
        self.checksum = Some(checksum);
        self
    }

    /// The 512-byte header block.
    pub fn header(&self) -> [u8; BLOCK] {
        let mut h = [0u8; BLOCK];
        let (prefix, name) = match &self.prefix {
            Some(prefix) => (prefix.as_slice(), self.path.as_slice()),
            None => split_path(&self.path),
        };
        put(&mut h[0..100], name, "name");
        put_number(&mut h[100..108], u64::from(self.mode));
        put_number(&mut h[108..116], self.uid);
        put_number(&mut h[116..124], self.gid);
        put_number(&mut h[124..136], self.claimed_size.unwrap_or(self.data.len() as u64));
        put_number(&mut h[136..148], self.mtime);
        h[156] = self.kind.flag();
        put(&mut h[157..257], &self.link, "link name");
        if self.gnu_magic {
            h[257..265].copy_from_slice(b"ustar  \0");
        } else {
            h[257..265].copy_from_slice(b"ustar\x0000");
        }
        put_number(&mut h[329..337], u64::from(self.device.0));
        put_number(&mut h[337..345], u64::from(self.device.1));
        put(&mut h[345..500], prefix, "prefix");
        // The checksum is the byte sum with the checksum field read as spaces.
        h[148..156].fill(b' ');
        let sum = h.iter().map(|&b| u32::from(b)).sum::<u32>();
        let field = format!("{:06o}\0 ", self.checksum.unwrap_or(sum));
        h[148..156].copy_from_slice(field.as_bytes());
        h
    }
}

/// Splits a path over 100 bytes into ustar (`prefix`, `name`) at a `/`.
fn split_path(path: &[u8]) -> (&[u8], &[u8]) {
    if path.len() <= 100 {
        return (&[], path);
    }
    let split = (1..path.len().min(156))
        .rev()
        .find(|&i| path[i] == b'/' && path.len() - i - 1 <= 100)
        .unwrap_or_else(|| {
            panic!(
                "path of {} bytes does not fit ustar name+prefix; use gnu_long_name or pax",
                path.len()
            )
        });
    (&path[..split], &path[split + 1..])
}

fn put(field: &mut [u8], value: &[u8], what: &str) {
    assert!(
        value.len() <= field.len(),
        "{what} of {} bytes does not fit a {}-byte field",
        value.len(),
        field.len()
    );
    field[..value.len()].copy_from_slice(value);
}

/// Octal with a trailing NUL; GNU base-256 when the octal would not fit.
fn put_number(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let octal = format!("{value:0digits$o}");
    if octal.len() <= digits {
        field[..digits].copy_from_slice(octal.as_bytes());
        field[digits] = 0;
    } else {
        field.fill(0);
        let n = field.len();
        field[n - 8..].copy_from_slice(&value.to_be_bytes());
        field[0] = 0x80;
    }
}

/// Builds a tar stream entry by entry. Methods chain; `finish*` borrow, so
/// `TarBuilder::new().file("a", "x").finish()` works.
#[derive(Clone, Debug, Default)]
pub struct TarBuilder {
    bytes: Vec<u8>,
}

impl TarBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the header of `entry`, its data, and zero padding to a block.
    pub fn entry(&mut self, entry: Entry) -> &mut Self {
        self.bytes.extend_from_slice(&entry.header());
        self.bytes.extend_from_slice(&entry.data);
        let pad = (BLOCK - entry.data.len() % BLOCK) % BLOCK;
        self.bytes.resize(self.bytes.len() + pad, 0);
        self
    }

    /// A regular file, mode 0o644.
    pub fn file(&mut self, path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> &mut Self {
        self.entry(Entry::file(path, data))
    }

    pub fn file_with_mode(&mut self, path: impl AsRef<[u8]>, mode: u32, data: impl AsRef<[u8]>) -> &mut Self {
        self.entry(Entry::file(path, data).mode(mode))
    }

    pub fn dir(&mut self, path: impl AsRef<[u8]>) -> &mut Self {
        self.entry(Entry::new(Kind::Directory, path))
    }

    pub fn symlink(&mut self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> &mut Self {
        self.entry(Entry::new(Kind::Symlink, path).link(target))
    }

    pub fn hardlink(&mut self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> &mut Self {
        self.entry(Entry::new(Kind::HardLink, path).link(target))
    }

    pub fn fifo(&mut self, path: impl AsRef<[u8]>) -> &mut Self {
        self.entry(Entry::new(Kind::Fifo, path))
    }

    pub fn char_device(&mut self, path: impl AsRef<[u8]>, major: u32, minor: u32) -> &mut Self {
        self.entry(Entry::new(Kind::CharDevice, path).device(major, minor))
    }

    pub fn block_device(&mut self, path: impl AsRef<[u8]>, major: u32, minor: u32) -> &mut Self {
        self.entry(Entry::new(Kind::BlockDevice, path).device(major, minor))
    }

    /// A GNU `L` entry: the next entry's path becomes `name` (whatever its own
    /// header says). GNU tar terminates the name with a NUL; so do we.
    pub fn gnu_long_name(&mut self, name: impl AsRef<[u8]>) -> &mut Self {
        let mut data = name.as_ref().to_vec();
        data.push(0);
        self.entry(Entry::new(Kind::GnuLongName, "././@LongLink").data(data).gnu_magic())
    }

    /// A GNU `K` entry: the next entry's link target becomes `target`.
    pub fn gnu_long_link(&mut self, target: impl AsRef<[u8]>) -> &mut Self {
        let mut data = target.as_ref().to_vec();
        data.push(0);
        self.entry(Entry::new(Kind::GnuLongLink, "././@LongLink").data(data).gnu_magic())
    }

    /// A regular file whose path is carried by a GNU long-name entry; the
    /// ustar name field holds the first 100 bytes, as GNU tar writes it.
    pub fn long_name_file(&mut self, path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> &mut Self {
        let path = path.as_ref();
        self.gnu_long_name(path);
        self.entry(Entry::file(&path[..path.len().min(100)], data).gnu_magic())
    }

    /// A PAX extended header (`x`) applying to the next entry, with the given
    /// records in order, e.g. `[("path", b"..."), ("size", b"12")]`.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        self.entry(Entry::new(Kind::Pax, "././@PaxHeader").data(pax_records(records)))
    }

    /// A PAX global header (`g`).
    pub fn pax_global(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        self.entry(Entry::new(Kind::PaxGlobal, "././@PaxGlobal").data(pax_records(records)))
    }

    /// Appends raw bytes (junk, a truncated header, zero blocks...).
    pub fn raw(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        self.bytes.extend_from_slice(bytes.as_ref());
        self
    }

    /// The archive with its end marker (two zero blocks).
    pub fn finish(&self) -> Vec<u8> {
        self.finish_with_junk(b"")
    }

    /// The archive with its end marker, then `junk`.
    pub fn finish_with_junk(&self, junk: impl AsRef<[u8]>) -> Vec<u8> {
        let mut out = self.bytes.clone();
        out.resize(out.len() + 2 * BLOCK, 0);
        out.extend_from_slice(junk.as_ref());
        out
    }

    /// The archive as written so far, with no end marker.
    pub fn finish_without_end_marker(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

/// PAX records: `"<len> <key>=<value>\n"`, where `len` counts itself.
fn pax_records(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} {key}=").as_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

/// One gzip member holding `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// An ordinary `.crate`: every file under `<name>-<version>/`, mode 0o644.
/// Only the given files; no Cargo.toml is invented.
pub fn crate_file(name: &str, version: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let files: Vec<_> = files.iter().map(|&(p, d)| (p, 0o644, d)).collect();
    crate_file_with_modes(name, version, &files)
}

/// Like [`crate_file`], with a mode per file.
pub fn crate_file_with_modes(name: &str, version: &str, files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    gzip(&crate_tar(name, version, files))
}

/// The uncompressed tar of [`crate_file_with_modes`], to be altered before `gzip`.
pub fn crate_tar(name: &str, version: &str, files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut tar = TarBuilder::new();
    for (path, mode, data) in files {
        tar.file_with_mode(format!("{name}-{version}/{path}"), *mode, data);
    }
    tar.finish()
}
