//! Rename detection between the removed and the added files of a release.
//!
//! Owns: pairing by identical blob id (exact renames), then by content
//! similarity of text files. Similarity follows git's idea (diffcore-delta):
//! each line is hashed into one of a fixed number of buckets, each bucket
//! holds the bytes of its lines, and the score is the bytes the two files
//! share divided by the size of the larger one. The fixed bucket count bounds
//! the memory of a signature whatever the file. Deterministic: ties are broken
//! by path. Pure: no I/O.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::FileEntry;

/// Git's `HASHBASE`: a prime bucket count.
const BUCKETS: u64 = 107_927;

/// Bytes per line bucket of one text, sorted by bucket.
#[derive(Debug)]
pub(crate) struct Signature {
    total: u64,
    buckets: Vec<(u32, u64)>,
}

impl Signature {
    pub fn of(text: &str) -> Self {
        let mut pairs: Vec<(u32, u64)> = text
            .split_inclusive('\n')
            .map(|line| {
                // Lossless: the remainder is below BUCKETS < u32::MAX.
                let bucket = (fnv1a(line.as_bytes()) % BUCKETS) as u32;
                (bucket, line.len() as u64)
            })
            .collect();
        pairs.sort_unstable_by_key(|&(bucket, _)| bucket);
        let mut buckets: Vec<(u32, u64)> = Vec::new();
        for (bucket, bytes) in pairs {
            match buckets.last_mut() {
                Some((last, sum)) if *last == bucket => *sum += bytes,
                _ => buckets.push((bucket, bytes)),
            }
        }
        Signature {
            total: text.len() as u64,
            buckets,
        }
    }

    /// Shared bytes over the larger size, in `0.0..=1.0`.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let larger = self.total.max(other.total);
        if larger == 0 {
            return 0.0;
        }
        let (mut i, mut j, mut common) = (0, 0, 0u64);
        while let (Some(&(a, x)), Some(&(b, y))) = (self.buckets.get(i), other.buckets.get(j)) {
            match a.cmp(&b) {
                Ordering::Less => i += 1,
                Ordering::Greater => j += 1,
                Ordering::Equal => {
                    common += x.min(y);
                    i += 1;
                    j += 1;
                }
            }
        }
        common as f64 / larger as f64
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Pairs removed and added files with the same blob id. Within one id, files
/// with the same base name pair first, then the rest in path order. Returns
/// the pairs as (removed index, added index); inputs are sorted by path.
pub(crate) fn exact(removed: &[&FileEntry], added: &[&FileEntry]) -> Vec<(usize, usize)> {
    let mut by_id: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, e) in removed.iter().enumerate() {
        by_id.entry(e.id.as_str()).or_default().0.push(i);
    }
    for (i, e) in added.iter().enumerate() {
        by_id.entry(e.id.as_str()).or_default().1.push(i);
    }
    let mut pairs = Vec::new();
    for (olds, news) in by_id.values() {
        if olds.is_empty() || news.is_empty() {
            continue;
        }
        let mut old_used = vec![false; olds.len()];
        let mut new_used = vec![false; news.len()];
        for (oi, &o) in olds.iter().enumerate() {
            let base = base_name(&removed[o].path);
            if let Some(ni) = (0..news.len()).find(|&ni| !new_used[ni] && base_name(&added[news[ni]].path) == base) {
                old_used[oi] = true;
                new_used[ni] = true;
                pairs.push((o, news[ni]));
            }
        }
        let rest_old = olds.iter().zip(&old_used).filter(|(_, u)| !**u);
        let rest_new = news.iter().zip(&new_used).filter(|(_, u)| !**u);
        for ((&o, _), (&n, _)) in rest_old.zip(rest_new) {
            pairs.push((o, n));
        }
    }
    pairs.sort_unstable();
    pairs
}

fn base_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// Greedy best-first pairing of signatures scoring at least `min`: the best
/// score first, ties by removed then added index (path order). Returns
/// (removed index, added index, score).
pub(crate) fn similar(
    removed: &[(usize, u64, Signature)],
    added: &[(usize, u64, Signature)],
    min: f64,
) -> Vec<(usize, usize, f64)> {
    let mut scored = Vec::new();
    for (o, old_size, old_sig) in removed {
        for (n, new_size, new_sig) in added {
            // The score cannot exceed smaller/larger size: skip hopeless pairs
            // without looking at their lines.
            let (small, large) = (*old_size.min(new_size), *old_size.max(new_size));
            if large == 0 || (small as f64 / large as f64) < min {
                continue;
            }
            let score = old_sig.similarity(new_sig);
            if score >= min {
                scored.push((*o, *n, score));
            }
        }
    }
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut old_used = std::collections::BTreeSet::new();
    let mut new_used = std::collections::BTreeSet::new();
    let mut pairs = Vec::new();
    for (o, n, score) in scored {
        if old_used.contains(&o) || new_used.contains(&n) {
            continue;
        }
        old_used.insert(o);
        new_used.insert(n);
        pairs.push((o, n, score));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, id: &str) -> FileEntry {
        FileEntry {
            path: path.as_bytes().to_vec(),
            executable: false,
            id: id.to_owned(),
            size: 1,
        }
    }

    #[test]
    fn exact_prefers_same_base_name() {
        let removed = [entry("a/x.rs", "1"), entry("b/y.rs", "1")];
        let added = [entry("c/y.rs", "1"), entry("d/z.rs", "1")];
        let r: Vec<_> = removed.iter().collect();
        let a: Vec<_> = added.iter().collect();
        assert_eq!(exact(&r, &a), vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn similarity_scores() {
        let a = Signature::of("one\ntwo\nthree\nfour\n");
        let b = Signature::of("one\ntwo\nthree\nFOUR\n");
        let s = a.similarity(&b);
        assert!(s > 0.7 && s < 0.9, "{s}");
        assert_eq!(a.similarity(&a), 1.0);
        assert_eq!(a.similarity(&Signature::of("x\n")), 0.0);
    }
}
