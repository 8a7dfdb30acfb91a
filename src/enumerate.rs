//! Which crates a run covers: names from a list file or from a local clone of
//! a git-format registry index (`--all --index-git DIR`), the crates whose
//! database-dump rows changed since the last complete run
//! (`--all --db-dump --dump-changed-only`), and the stable assignment of
//! crates to shards (`--shard I/N`) so that N workers, each with its own
//! store, cover the registry exactly once between them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::owners::dump::DumpData;
use crate::types::CrateName;

/// Per crate of a dump, a digest of what the dump says about it: every
/// version's number, checksum and yanked flag, and the owners' logins.
/// Two dumps give the same digest for a crate exactly when none of these
/// changed.
pub fn dump_digests(data: &DumpData) -> BTreeMap<String, String> {
    use sha2::Digest as _;
    data.crates
        .iter()
        .map(|(name, c)| {
            let mut h = sha2::Sha256::new();
            let mut versions: Vec<String> = c
                .versions
                .iter()
                .map(|v| {
                    format!(
                        "v {} {} {:?}\n",
                        v.num,
                        v.checksum.map(|s| s.to_hex()).unwrap_or_default(),
                        v.yanked
                    )
                })
                .collect();
            versions.sort();
            for v in versions {
                h.update(v.as_bytes());
            }
            for (kind, owners) in [("u", &c.users), ("t", &c.teams)] {
                let mut logins: Vec<&str> = owners.iter().flatten().map(|o| o.login.as_str()).collect();
                logins.sort_unstable();
                h.update(format!("{kind} {}\n", logins.join(",")).as_bytes());
            }
            let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            (name.to_string(), digest)
        })
        .collect()
}

/// The crates whose digest is new or differs from `previous`.
pub fn changed_crates(previous: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Vec<CrateName> {
    now.iter()
        .filter(|(name, d)| previous.get(*name) != Some(d))
        .filter_map(|(name, _)| CrateName::new(name).ok())
        .collect()
}

/// The digests a complete run recorded (`{}` when there are none yet or the
/// file is unreadable: then every crate counts as changed).
pub fn read_digests(path: &Path) -> BTreeMap<String, String> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Record the digests of a complete run (written to a temporary file, then
/// renamed: a killed run leaves the previous record).
pub fn write_digests(path: &Path, digests: &BTreeMap<String, String>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(digests).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, path)
}

/// Names from a list: one per line, `#` comments and blank lines ignored.
/// Lines that are not crate names are returned apart, to be reported.
pub fn from_list(bytes: &[u8]) -> (Vec<CrateName>, Vec<String>) {
    let mut names = Vec::new();
    let mut bad = Vec::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match CrateName::new(line) {
            Ok(n) => names.push(n),
            Err(_) => bad.push(crate::archive::escape::printable_raw(line.as_bytes())),
        }
    }
    names.sort();
    names.dedup();
    (names, bad)
}

/// Every crate of a git-format index checkout: the files under `1/`, `2/`,
/// `3/<c>/` and `<ab>/<cd>/` (the file name is the crate name, lowercased).
pub fn from_index_dir(root: &Path) -> std::io::Result<Vec<CrateName>> {
    let mut names = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "config.json" {
                continue;
            }
            let ty = e.file_type()?;
            if ty.is_dir() && depth < 2 {
                stack.push((e.path(), depth + 1));
            } else if ty.is_file()
                && depth >= 1
                && let Ok(n) = CrateName::new(&name)
            {
                names.push(n);
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// A shard `I/N` (0-based `I`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker's index.
    pub index: u32,
    /// The number of workers.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/8"))?;
        let index: u32 = i.parse().map_err(|_| format!("{s:?}: I is not a number"))?;
        let count: u32 = n.parse().map_err(|_| format!("{s:?}: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("{s:?}: expected 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether `name` belongs to this shard: FNV-1a (64-bit) of the lowercase
    /// name, modulo N. Stable across runs, machines and versions.
    pub fn contains(&self, name: &CrateName) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.as_str().bytes() {
            h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3);
        }
        h % u64::from(self.count) == u64::from(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let (names, bad) = from_list(b"serde\n# comment\n  tokio  # trailing\n\nnot a name\nserde\n");
        assert_eq!(
            names.iter().map(CrateName::as_str).collect::<Vec<_>>(),
            vec!["serde", "tokio"]
        );
        assert_eq!(bad, vec!["not%20a%20name".to_owned()]);
    }

    #[test]
    fn shards_partition_the_names() {
        let names: Vec<CrateName> = (0..1000)
            .map(|i| CrateName::new(&format!("crate{i}")).unwrap())
            .collect();
        let shards: Vec<Shard> = (0..8).map(|i| Shard { index: i, count: 8 }).collect();
        let mut sizes = vec![0; 8];
        for n in &names {
            let owners: Vec<usize> = (0..8).filter(|&i| shards[i].contains(n)).collect();
            assert_eq!(owners.len(), 1, "{n} in exactly one shard");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 80), "roughly balanced: {sizes:?}");
        // Case does not move a crate between shards.
        let a = CrateName::new("Inflector").unwrap();
        let b = CrateName::new("inflector").unwrap();
        assert!(shards.iter().all(|s| s.contains(&a) == s.contains(&b)));
        assert!("8/8".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err());
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
    }

    #[test]
    fn index_dirs() {
        let dir = tempfile::tempdir().unwrap();
        for p in ["1/a", "2/ab", "3/a/abc", "se/rd/serde", "config.json", ".git/HEAD"] {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "{}").unwrap();
        }
        let names = from_index_dir(dir.path()).unwrap();
        assert_eq!(
            names.iter().map(CrateName::as_str).collect::<Vec<_>>(),
            vec!["a", "ab", "abc", "serde"]
        );
    }
}
