//! Cargo's view of a `.crate` (pure): bytes in, the files cargo would unpack
//! plus every departure from a clean archive ("anomalies") out. Nothing is
//! written to the filesystem and nothing is allocated from a size an archive
//! claims. The rules are listed in docs/STORE.md; this module owns them.

pub mod escape;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};

use unicode_normalization::UnicodeNormalization;

use crate::types::{CrateName, VersionStr};
use escape::{escape_component, needs_escape, printable_raw, printable_tree_path};

/// Limits on what one archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Unpacked bytes allowed regardless of the `.crate` size.
    pub base_unpacked: u64,
    /// Unpacked bytes allowed per `.crate` byte (cargo: 20).
    pub ratio: u64,
    /// Maximum number of tar entries.
    pub max_entries: usize,
    /// Maximum path length in bytes.
    pub max_path: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            base_unpacked: 512 * 1024 * 1024,
            ratio: 20,
            max_entries: 100_000,
            max_path: 4096,
        }
    }
}

impl Limits {
    /// Unpacked bytes allowed for an archive of `crate_len` bytes.
    pub fn max_unpacked(&self, crate_len: usize) -> u64 {
        self.base_unpacked.max(self.ratio.saturating_mul(crate_len as u64))
    }
}

/// The outcome of reading an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Read to the end of the tar archive.
    Ok,
    /// A zero-byte `.crate`.
    Empty,
    /// Not valid gzip or tar; the reason.
    Corrupt(String),
    /// Past a limit; the reason with sizes.
    OverLimit(String),
    /// No archive could be had: the registry refused it for long enough that
    /// the version is recorded as gone (set by `sync`, never by the reader).
    Unavailable(String),
}

impl Status {
    /// The status word used in commit trailers.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Empty => "empty",
            Status::Corrupt(_) => "corrupt",
            Status::OverLimit(_) => "over-limit",
            Status::Unavailable(_) => "unavailable",
        }
    }

    /// The reason, for corrupt and over-limit archives.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Corrupt(r) | Status::OverLimit(r) | Status::Unavailable(r) => Some(r),
            _ => None,
        }
    }
}

/// A file in the view (or in the extras).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The path as stored in git, `/`-separated, components escaped where
    /// needed.
    pub path: Vec<u8>,
    /// Any execute bit set in the tar header.
    pub executable: bool,
    /// Content.
    pub data: Vec<u8>,
}

/// A departure from a clean archive, kept as a fact on the release.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Anomaly {
    /// Stable code (see docs/STORE.md).
    pub code: &'static str,
    /// Printable-ASCII details (paths in printable form).
    pub detail: String,
}

/// Cargo's view of one `.crate`.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// How reading ended.
    pub status: Option<Status>,
    /// Files cargo would unpack, sorted by stored path.
    pub files: Vec<File>,
    /// Entries kept outside the view (shadowed, skipped, refused), with paths
    /// `e<entry number>/<escaped raw path>`.
    pub extras: Vec<File>,
    /// Anomalies in the order found, then the whole-archive flags.
    pub anomalies: Vec<Anomaly>,
    /// Stored paths that were escaped, in printable form.
    pub escaped: Vec<String>,
    /// Sum of the sizes of the files in the view.
    pub unpacked_size: u64,
}

impl View {
    /// The status (defaults to ok).
    pub fn status(&self) -> Status {
        self.status.clone().unwrap_or(Status::Ok)
    }
}

const LIMIT_MARK: &str = "cargofox: unpacked size limit";

/// The most memory reserved up front for one entry, whatever size its
/// header claims; larger entries grow as their bytes arrive.
const PREALLOCATE_MAX: u64 = 1024 * 1024;

/// A reader that fails once more than `limit` bytes have passed through it.
struct LimitReader<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for LimitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(LIMIT_MARK));
        }
        Ok(n)
    }
}

fn is_limit(e: &io::Error) -> bool {
    e.to_string().contains(LIMIT_MARK)
}

/// Make library error text safe for a single trailer line.
fn clean_reason(s: &str) -> String {
    // Printable ASCII only: library messages may quote bytes of the archive.
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else if c.is_control() {
            out.push(' ');
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    crate::output::truncate_with(&mut out, 200, "...");
    out
}

struct Pending {
    entry: usize,
    raw: Vec<u8>,
    executable: bool,
    data: Vec<u8>,
}

/// Read `bytes` as cargo would unpack the crate `name`-`version`.
pub fn read_crate(bytes: &[u8], name: &CrateName, version: &VersionStr, limits: &Limits) -> View {
    let mut view = View::default();
    if bytes.is_empty() {
        view.status = Some(Status::Empty);
        view.anomalies.push(Anomaly {
            code: "empty-file",
            detail: "the .crate file has zero bytes".into(),
        });
        return view;
    }
    let prefix = format!("{}-{}", name.as_str(), version.as_str());
    let max_unpacked = limits.max_unpacked(bytes.len());
    let gz = flate2::bufread::GzDecoder::new(bytes);
    let reader = LimitReader {
        inner: gz,
        read: 0,
        limit: max_unpacked,
    };
    let mut archive = tar::Archive::new(reader);
    let mut files: BTreeMap<Vec<Vec<u8>>, Pending> = BTreeMap::new();
    let mut extras: Vec<Pending> = Vec::new();
    let mut total: u64 = 0;

    let outcome = (|| -> Result<(), Status> {
        let entries = archive.entries().map_err(|e| corrupt_or_limit(&e, max_unpacked))?;
        for (index, entry) in entries.enumerate() {
            let number = index + 1;
            let mut entry = entry.map_err(|e| corrupt_or_limit(&e, max_unpacked))?;
            if number > limits.max_entries {
                return Err(Status::OverLimit(format!(
                    "more than {} entries in the archive",
                    limits.max_entries
                )));
            }
            let raw: Vec<u8> = entry.path_bytes().into_owned();
            if raw.len() > limits.max_path {
                return Err(Status::OverLimit(format!(
                    "entry {number} has a path of {} bytes (limit {})",
                    raw.len(),
                    limits.max_path
                )));
            }
            let shown = printable_raw(&raw);
            let kind = entry.header().entry_type();
            let header_size = entry.header().size().unwrap_or(0);
            let size = entry.size();
            if let Ok(Some(pax)) = entry.pax_extensions() {
                let pax_size = pax
                    .filter_map(Result::ok)
                    .find(|e| e.key_bytes() == b"size")
                    .map(|e| e.value_bytes().to_vec());
                if let Some(v) = pax_size
                    && std::str::from_utf8(&v).ok().and_then(|s| s.parse::<u64>().ok()) != Some(header_size)
                {
                    view.anomalies.push(Anomaly {
                        code: "pax-size-mismatch",
                        detail: format!(
                            "{shown} entry={number} ustar-size={header_size} pax-size={}",
                            printable_raw(&v)
                        ),
                    });
                }
            }
            use tar::EntryType as T;
            let is_dir = kind == T::Directory;
            // Normalise the path the way cargo sees it: std's `Path`
            // components, as the tar crate hands them over. Repeated `/` and
            // inner `.` components vanish; a leading `/` or `.` stays (as
            // `RootDir` / `CurDir`), so such a path is not under the prefix.
            let absolute = raw.first() == Some(&b'/');
            let parts: Vec<&[u8]> = raw.split(|&b| b == b'/').collect();
            let leading_dot = !absolute && parts.first().is_some_and(|p| *p == b".");
            let mut components: Vec<Vec<u8>> = Vec::new();
            let mut normalised = absolute;
            for (i, p) in parts.iter().enumerate() {
                if p.is_empty() {
                    // A trailing slash on a directory is ordinary.
                    if i != 0 && (!is_dir || i != parts.len() - 1) {
                        normalised = true;
                    }
                    continue;
                }
                if *p == b"." {
                    normalised = true;
                    continue;
                }
                components.push(p.to_vec());
            }
            if absolute {
                view.anomalies.push(Anomaly {
                    code: "absolute-path",
                    detail: format!("{shown} entry={number}"),
                });
            } else if normalised {
                view.anomalies.push(Anomaly {
                    code: "path-normalised",
                    detail: format!("{shown} entry={number}"),
                });
            }
            // Cargo checks every entry, whatever its type, with
            // `Path::starts_with(prefix)` and refuses the crate when one
            // fails. A file at the prefix itself cannot be unpacked either.
            let under_prefix = !absolute
                && !leading_dot
                && components.first().map(|c| c.as_slice()) == Some(prefix.as_bytes())
                && (is_dir || components.len() >= 2);
            if !under_prefix {
                view.anomalies.push(Anomaly {
                    code: "outside-prefix",
                    detail: format!("{shown} entry={number} (not under {prefix}/; cargo refuses the crate)"),
                });
            }
            match kind {
                T::Regular | T::Continuous => {}
                T::Directory => continue,
                T::Symlink | T::Link => {
                    let target = entry.link_name_bytes().map(|t| printable_raw(&t)).unwrap_or_default();
                    let what = if kind == T::Symlink { "symlink" } else { "hardlink" };
                    view.anomalies.push(Anomaly {
                        code: "link-entry",
                        detail: format!("{shown} entry={number} {what} target={target} (cargo >= 1.96 refuses)"),
                    });
                    continue;
                }
                T::Char | T::Block | T::Fifo => {
                    view.anomalies.push(Anomaly {
                        code: "special-entry",
                        detail: format!("{shown} entry={number} type={kind:?} (cargo >= 1.96 refuses)"),
                    });
                    continue;
                }
                other => {
                    view.anomalies.push(Anomaly {
                        code: "unusual-entry-type",
                        detail: format!("{shown} entry={number} type={other:?} (not unpacked)"),
                    });
                    continue;
                }
            }
            if size > max_unpacked.saturating_sub(total) {
                return Err(Status::OverLimit(format!(
                    "entry {number} claims {size} bytes; unpacked limit {max_unpacked} bytes"
                )));
            }
            // The claimed size only bounds what is read; memory grows with
            // the bytes actually there.
            let mut data = Vec::with_capacity(size.min(PREALLOCATE_MAX) as usize);
            entry
                .read_to_end(&mut data)
                .map_err(|e| corrupt_or_limit(&e, max_unpacked))?;
            if data.len() as u64 != size {
                // tar's unpack (cargo) fails with "failed to write entire file".
                return Err(Status::Corrupt(format!(
                    "entry {number} ends after {} of its {size} bytes",
                    data.len()
                )));
            }
            total += data.len() as u64;
            let executable = entry.header().mode().map(|m| m & 0o111 != 0).unwrap_or(false);
            let pending = Pending {
                entry: number,
                raw: raw.clone(),
                executable,
                data,
            };
            if !under_prefix {
                extras.push(pending);
                continue;
            }
            // Cargo's order: the prefix check, then `.cargo-ok` by file
            // name, then the tar crate skips any `..` component.
            if components.last().map(|c| c.as_slice()) == Some(b".cargo-ok") {
                view.anomalies.push(Anomaly {
                    code: "cargo-ok",
                    detail: format!("{shown} entry={number} (cargo drops it)"),
                });
                extras.push(pending);
                continue;
            }
            if components.iter().any(|c| c == b"..") {
                view.anomalies.push(Anomaly {
                    code: "dotdot-path",
                    detail: format!("{shown} entry={number} (cargo skips it)"),
                });
                extras.push(pending);
                continue;
            }
            let key = components[1..].to_vec();
            if let Some(old) = files.remove(&key) {
                let same = if old.data == pending.data && old.executable == pending.executable {
                    "same content"
                } else {
                    "different content"
                };
                view.anomalies.push(Anomaly {
                    code: "duplicate-path",
                    detail: format!("{shown} entries={},{number} {same}; the last wins", old.entry),
                });
                extras.push(old);
            }
            files.insert(key, pending);
        }
        Ok(())
    })();

    if let Err(status) = outcome {
        view.status = Some(status);
        view.files.clear();
        return view;
    }

    // What follows the end-of-archive marker: cargo never reads it.
    let mut reader = archive.into_inner();
    let mut junk: u64 = 0;
    let mut tail_error = None;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => junk += buf[..n].iter().filter(|&&b| b != 0).count() as u64,
            Err(e) => {
                tail_error = Some(e);
                break;
            }
        }
    }
    if junk > 0 {
        view.anomalies.push(Anomaly {
            code: "junk-after-end-of-archive",
            detail: format!("{junk} non-zero bytes after the tar end-of-archive marker"),
        });
    }
    if let Some(e) = tail_error {
        view.anomalies.push(Anomaly {
            code: "gzip-error-after-archive",
            detail: format!("after the archive's end: {}", clean_reason(&e.to_string())),
        });
    } else {
        let rest: &[u8] = reader.inner.into_inner();
        if !rest.is_empty() {
            let code = if rest.starts_with(&[0x1f, 0x8b]) {
                "second-gzip-member"
            } else {
                "trailing-bytes"
            };
            view.anomalies.push(Anomaly {
                code,
                detail: format!("{} bytes after the first gzip member (cargo ignores them)", rest.len()),
            });
        }
    }

    // A file that is also a directory: the directory wins, the file goes to
    // extras.
    let keys: Vec<Vec<Vec<u8>>> = files.keys().cloned().collect();
    let paths: BTreeSet<Vec<u8>> = keys.iter().map(|k| k.join(&b'/')).collect();
    for k in &keys {
        let mut dir = k.join(&b'/');
        dir.push(b'/');
        let conflict = paths.range(dir.clone()..).next().is_some_and(|p| p.starts_with(&dir));
        if conflict && let Some(p) = files.remove(k) {
            view.anomalies.push(Anomaly {
                code: "file-directory-conflict",
                detail: format!(
                    "{} entry={} is a file and a directory; the directory is kept",
                    printable_raw(&p.raw),
                    p.entry
                ),
            });
            extras.push(p);
        }
    }

    flag_names(&files, &mut view);

    for (key, p) in files {
        let last = key.len() - 1;
        let mut escaped_any = false;
        let stored: Vec<Vec<u8>> = key
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let content = (i == last).then_some(p.data.as_slice());
                if needs_escape(c, i == last, content) {
                    escaped_any = true;
                    escape_component(c).into_bytes()
                } else {
                    c.clone()
                }
            })
            .collect();
        let path = stored.join(&b'/');
        if escaped_any {
            view.escaped.push(printable_tree_path(&path));
        }
        view.unpacked_size += p.data.len() as u64;
        view.files.push(File {
            path,
            executable: p.executable,
            data: p.data,
        });
    }
    view.files.sort_by(|a, b| a.path.cmp(&b.path));
    view.escaped.sort();

    extras.sort_by_key(|p| p.entry);
    for p in extras {
        let mut path = format!("e{:06}", p.entry).into_bytes();
        let parts: Vec<&[u8]> = p.raw.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
        for (i, c) in parts.iter().enumerate() {
            // The last component is the file: fsck looks at the content of
            // a `.gitattributes` wherever it is, extras included.
            let is_file = i + 1 == parts.len();
            path.push(b'/');
            if needs_escape(c, is_file, is_file.then_some(p.data.as_slice())) {
                path.extend_from_slice(escape_component(c).as_bytes());
            } else {
                path.extend_from_slice(c);
            }
        }
        view.extras.push(File {
            path,
            executable: p.executable,
            data: p.data,
        });
    }
    // Within one entry number a raw path may end up a prefix of nothing
    // else, so extras paths are unique; keep them sorted for the tree builder.
    view.extras.sort_by(|a, b| a.path.cmp(&b.path));
    view.status = Some(Status::Ok);
    view
}

fn corrupt_or_limit(e: &io::Error, max: u64) -> Status {
    if is_limit(e) {
        Status::OverLimit(format!("unpacked size exceeds the limit of {max} bytes"))
    } else {
        Status::Corrupt(clean_reason(&e.to_string()))
    }
}

/// Flags for names that git holds but other systems may not.
fn flag_names(files: &BTreeMap<Vec<Vec<u8>>, Pending>, view: &mut View) {
    let mut lower: BTreeMap<Vec<u8>, Vec<&[u8]>> = BTreeMap::new();
    let mut nfc: BTreeMap<String, Vec<&[u8]>> = BTreeMap::new();
    for (key, p) in files {
        let joined = &p.raw;
        let path = key.join(&b'/');
        lower.entry(path.to_ascii_lowercase()).or_default().push(joined);
        if let Ok(s) = std::str::from_utf8(&path) {
            nfc.entry(s.nfc().collect()).or_default().push(joined);
        }
        for c in key {
            if is_windows_reserved(c) {
                view.anomalies.push(Anomaly {
                    code: "windows-reserved-name",
                    detail: format!("{} entry={}", printable_raw(joined), p.entry),
                });
            } else if c.last().is_some_and(|&b| b == b'.' || b == b' ') && c != b"." && c != b".." {
                view.anomalies.push(Anomaly {
                    code: "windows-trailing-dot-or-space",
                    detail: format!("{} entry={}", printable_raw(joined), p.entry),
                });
            }
        }
    }
    for group in lower.values().filter(|g| g.len() > 1) {
        let names: Vec<String> = group.iter().map(|r| printable_raw(r)).collect();
        view.anomalies.push(Anomaly {
            code: "case-collision",
            detail: names.join(" "),
        });
    }
    for group in nfc.values().filter(|g| g.len() > 1) {
        let names: Vec<String> = group.iter().map(|r| printable_raw(r)).collect();
        view.anomalies.push(Anomaly {
            code: "unicode-normalisation-collision",
            detail: names.join(" "),
        });
    }
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM1`-`COM9`, `LPT1`-`LPT9`, with or without
/// an extension, in any case.
fn is_windows_reserved(c: &[u8]) -> bool {
    let stem = c.split(|&b| b == b'.').next().unwrap_or(c);
    let stem: Vec<u8> = stem.iter().map(u8::to_ascii_uppercase).collect();
    let stem = stem.strip_suffix(b" ").unwrap_or(&stem);
    matches!(stem, b"CON" | b"PRN" | b"AUX" | b"NUL")
        || (stem.len() == 4
            && (stem.starts_with(b"COM") || stem.starts_with(b"LPT"))
            && (b'1'..=b'9').contains(&stem[3]))
}
