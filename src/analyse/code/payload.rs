//! Hidden payloads: binary files recognised by their magic number, and
//! literals that look like encoded data (base64, hex, escaped bytes, high
//! entropy text, long arrays of byte values).
//!
//! Must not: panic on any input. Thresholds are chosen so that ordinary long
//! strings (prose, URLs, lorem ipsum, format strings, hashes) stay quiet: a
//! literal is reported only when it is long and both its alphabet and its
//! entropy fit an encoding. Details are built from counts and fixed words,
//! so two releases with the same payload give the same detail.

use serde::Serialize;

/// Base64 text shorter than this (in characters) is not reported.
pub(crate) const MIN_BASE64_CHARS: usize = 160;
/// Hex text shorter than this (in characters) is not reported.
pub(crate) const MIN_HEX_CHARS: usize = 256;
/// Escaped or high-entropy literals shorter than this (in bytes) are not
/// reported.
pub(crate) const MIN_OPAQUE_BYTES: usize = 256;
/// Byte arrays with fewer elements are not reported (unless they start with
/// a known magic number).
pub(crate) const MIN_ARRAY_BYTES: usize = 512;
/// Decoded data at least this long is checked for a magic number.
const MIN_MAGIC_BYTES: usize = 16;

/// A file format recognised by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Magic {
    /// ELF executable, shared object or object file.
    Elf,
    /// Windows PE executable or DLL (`MZ` with a `PE\0\0` header).
    Pe,
    /// Mach-O executable, library or object.
    MachO,
    /// Mach-O universal ("fat") binary.
    MachOFat,
    /// WebAssembly module.
    Wasm,
    /// `ar` archive: a static library (`.a`, `.lib`, `.rlib`).
    Ar,
    /// LLVM bitcode.
    LlvmBitcode,
    /// Java class file.
    JavaClass,
    Gzip,
    Zip,
    Xz,
    Zstd,
    Bzip2,
    SevenZip,
    Rar,
    Tar,
}

impl Magic {
    /// Code a machine or a runtime can load: what makes a prebuilt binary a
    /// headline fact.
    pub fn is_executable(self) -> bool {
        matches!(
            self,
            Magic::Elf
                | Magic::Pe
                | Magic::MachO
                | Magic::MachOFat
                | Magic::Wasm
                | Magic::Ar
                | Magic::LlvmBitcode
                | Magic::JavaClass
        )
    }

    /// Short name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Magic::Elf => "ELF",
            Magic::Pe => "PE",
            Magic::MachO => "Mach-O",
            Magic::MachOFat => "Mach-O universal",
            Magic::Wasm => "wasm",
            Magic::Ar => "ar archive",
            Magic::LlvmBitcode => "LLVM bitcode",
            Magic::JavaClass => "Java class",
            Magic::Gzip => "gzip",
            Magic::Zip => "zip",
            Magic::Xz => "xz",
            Magic::Zstd => "zstd",
            Magic::Bzip2 => "bzip2",
            Magic::SevenZip => "7z",
            Magic::Rar => "rar",
            Magic::Tar => "tar",
        }
    }
}

/// The format of `b` by its magic number, if known.
pub(crate) fn magic(b: &[u8]) -> Option<Magic> {
    let be32 = |at: usize| b.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
    let le32 = |at: usize| b.get(at..at + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
    if b.starts_with(b"\x7fELF") {
        return Some(Magic::Elf);
    }
    if b.starts_with(b"MZ") {
        // The PE header offset is at 0x3c; DOS stubs alone are not reported.
        let at = le32(0x3c)? as usize;
        return (b.get(at..at + 4) == Some(b"PE\0\0")).then_some(Magic::Pe);
    }
    match be32(0) {
        Some(0xFEED_FACE | 0xFEED_FACF | 0xCEFA_EDFE | 0xCFFA_EDFE) => return Some(Magic::MachO),
        Some(0xCAFE_BABE) => {
            // Shared with Java class files: a fat header counts its
            // architectures (few), a class file has its version there (>= 45).
            let n = be32(4).unwrap_or(0);
            return Some(if n > 0 && n < 45 {
                Magic::MachOFat
            } else {
                Magic::JavaClass
            });
        }
        _ => {}
    }
    if b.starts_with(b"\0asm") {
        return Some(Magic::Wasm);
    }
    if b.starts_with(b"!<arch>\n") || b.starts_with(b"!<thin>\n") {
        return Some(Magic::Ar);
    }
    if b.starts_with(b"BC\xC0\xDE") || b.starts_with(b"\xDE\xC0\x17\x0B") {
        return Some(Magic::LlvmBitcode);
    }
    if b.starts_with(b"\x1f\x8b") {
        return Some(Magic::Gzip);
    }
    if b.starts_with(b"PK\x03\x04") || b.starts_with(b"PK\x05\x06") {
        return Some(Magic::Zip);
    }
    if b.starts_with(b"\xFD7zXZ\0") {
        return Some(Magic::Xz);
    }
    if b.starts_with(b"\x28\xB5\x2F\xFD") {
        return Some(Magic::Zstd);
    }
    if b.starts_with(b"BZh") && b.get(3).is_some_and(|d| (b'1'..=b'9').contains(d)) {
        return Some(Magic::Bzip2);
    }
    if b.starts_with(b"7z\xBC\xAF\x27\x1C") {
        return Some(Magic::SevenZip);
    }
    if b.starts_with(b"Rar!\x1A\x07") {
        return Some(Magic::Rar);
    }
    if b.get(257..262) == Some(b"ustar") {
        return Some(Magic::Tar);
    }
    None
}

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(b: &[u8]) -> f64 {
    if b.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &x in b {
        counts[x as usize] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The value of a string literal token (`".."`, `b".."`, `c".."`, raw
/// forms), as bytes; suffixes dropped. `None` if it is not a string literal.
pub(crate) fn literal_value(raw: &str) -> Option<Vec<u8>> {
    let body = raw.trim_start_matches(['b', 'c']);
    if let Some(r) = body.strip_prefix('r') {
        let hashes = r.bytes().take_while(|&c| c == b'#').count();
        let inner = r.get(hashes + 1..)?;
        let close = format!("\"{}", "#".repeat(hashes));
        let end = inner.rfind(&close).unwrap_or(inner.len());
        return Some(inner.get(..end)?.as_bytes().to_vec());
    }
    let inner = body.strip_prefix('"')?;
    let end = inner.rfind('"').unwrap_or(inner.len());
    Some(unescape(inner.get(..end)?))
}

/// Rust string escapes, tolerant: anything malformed is kept as written.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.char_indices().peekable();
    while let Some((_, c)) = it.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match it.next().map(|(_, e)| e) {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('\'') => out.push(b'\''),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = (0..2).filter_map(|_| it.next().map(|(_, h)| h)).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(v) => out.push(v),
                    Err(_) => out.extend_from_slice(hex.as_bytes()),
                }
            }
            Some('u') => {
                let mut hex = String::new();
                if it.peek().is_some_and(|(_, c)| *c == '{') {
                    it.next();
                    for (_, h) in it.by_ref() {
                        if h == '}' {
                            break;
                        }
                        hex.push(h);
                    }
                }
                let ch = u32::from_str_radix(&hex.replace('_', ""), 16)
                    .ok()
                    .and_then(char::from_u32);
                if let Some(ch) = ch {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            Some('\n') => {
                // Line continuation: skip the newline and leading whitespace.
                while it.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                    it.next();
                }
            }
            Some(other) => {
                out.push(b'\\');
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

fn decoded_note(bytes: &[u8]) -> String {
    let mut note = format!("{} bytes decoded, entropy {:.1}", bytes.len(), entropy(bytes));
    if bytes.len() >= MIN_MAGIC_BYTES
        && let Some(m) = magic(bytes)
    {
        note.push_str(&format!(", starts like {}", m.name()));
    }
    note
}

/// Whether a literal's value looks like encoded data; the detail says how.
pub(crate) fn classify_literal(value: &[u8]) -> Option<String> {
    if value.len() < MIN_MAGIC_BYTES {
        return None;
    }
    if let Some(m) = magic(value) {
        return Some(format!(
            "literal of {} bytes that starts like {} (entropy {:.1})",
            value.len(),
            m.name(),
            entropy(value)
        ));
    }
    let text = std::str::from_utf8(value).ok();
    if let Some(t) = text
        && let Some(compact) = encoded_text(t)
    {
        if compact.len() >= MIN_HEX_CHARS && hex_like(&compact) {
            let bytes = decode_hex(&compact)?;
            return Some(format!(
                "hex text of {} characters ({})",
                compact.len(),
                decoded_note(&bytes)
            ));
        }
        if compact.len() >= MIN_BASE64_CHARS
            && let Some(bytes) = base64_like(&compact)
        {
            return Some(format!(
                "base64 text of {} characters ({})",
                compact.len(),
                decoded_note(&bytes)
            ));
        }
    }
    if value.len() < MIN_OPAQUE_BYTES {
        return None;
    }
    let printable = value
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    let e = entropy(value);
    if text.is_none() || printable * 10 < value.len() * 7 {
        // Mostly bytes that are not text: escaped binary data.
        if e >= 5.0 && delta_entropy(value) >= 5.0 {
            return Some(format!("binary literal of {} bytes (entropy {:.1})", value.len(), e));
        }
        return None;
    }
    let spaces = value.iter().filter(|b| b.is_ascii_whitespace()).count();
    if spaces * 100 < value.len() && e >= 5.6 {
        return Some(format!(
            "high-entropy text of {} characters without spaces (entropy {:.1})",
            value.len(),
            e
        ));
    }
    None
}

/// The text without line breaks when it is one token, or equal-length lines
/// of one (the PEM and MIME layout); `None` if it has other whitespace.
fn encoded_text(t: &str) -> Option<String> {
    let parts: Vec<&str> = t.split_ascii_whitespace().collect();
    match parts.as_slice() {
        [] => None,
        [one] => Some((*one).to_owned()),
        [init @ .., _] => {
            let w = init[0].len();
            (w >= 40 && init.iter().all(|p| p.len() == w)).then(|| parts.concat())
        }
    }
}

/// Hex digits only, letters and digits both, and the character entropy of
/// random hex (a run of decimal digits is not hex).
fn hex_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len().is_multiple_of(2)
        && b.iter().all(u8::is_ascii_hexdigit)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
        && entropy(b) >= 3.5
}

/// Entropy of the differences between neighbouring bytes: near 8 for random
/// or compressed data, low for ramps, tables and other structured data even
/// when their byte values are evenly spread.
fn delta_entropy(b: &[u8]) -> f64 {
    let d: Vec<u8> = b.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    entropy(&d)
}

/// Decodes `s` if it has base64's alphabet and the look of random data:
/// upper and lower case letters and digits, high character entropy.
fn base64_like(s: &str) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    let standard = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    let url = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !(standard || url) {
        return None;
    }
    let has = |f: fn(&u8) -> bool| body.as_bytes().iter().any(f);
    if !(has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit)) {
        return None;
    }
    if entropy(body.as_bytes()) < 5.0 {
        return None;
    }
    decode_base64(body)
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let val = |c: u8| (c as char).to_digit(16);
    b.chunks(2)
        .map(|p| match p {
            [h, l] => Some((val(*h)? * 16 + val(*l)?) as u8),
            _ => None,
        })
        .collect()
}

/// Whether an array of byte values looks like a payload: it starts with a
/// magic number, or it is long and nearly random (and not a permutation, as
/// cipher S-boxes are).
pub(crate) fn classify_byte_array(bytes: &[u8]) -> Option<String> {
    if bytes.len() >= MIN_MAGIC_BYTES
        && let Some(m) = magic(bytes)
    {
        return Some(format!(
            "array of {} byte values that starts like {} (entropy {:.1})",
            bytes.len(),
            m.name(),
            entropy(bytes)
        ));
    }
    if bytes.len() < MIN_ARRAY_BYTES {
        return None;
    }
    let e = entropy(bytes);
    (e >= 7.0 && delta_entropy(bytes) >= 7.0).then(|| format!("array of {} byte values (entropy {e:.1})", bytes.len()))
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// Deterministic pseudo-random bytes (xorshift).
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    pub(crate) fn b64(b: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{b64, noise};
    use super::*;

    #[test]
    fn magic_numbers() {
        let mut pe = vec![0u8; 0x100];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert_eq!(magic(&pe), Some(Magic::Pe));
        assert_eq!(magic(b"MZ just text"), None);
        assert_eq!(magic(b"\x7fELF\x02\x01\x01"), Some(Magic::Elf));
        assert_eq!(magic(b"\xCF\xFA\xED\xFE\x07\0\0\x01"), Some(Magic::MachO));
        assert_eq!(magic(b"\xCA\xFE\xBA\xBE\0\0\0\x02"), Some(Magic::MachOFat));
        assert_eq!(magic(b"\xCA\xFE\xBA\xBE\0\0\0\x34"), Some(Magic::JavaClass));
        assert_eq!(magic(b"\0asm\x01\0\0\0"), Some(Magic::Wasm));
        assert_eq!(magic(b"!<arch>\nfoo.o/"), Some(Magic::Ar));
        assert_eq!(magic(b"\x1f\x8b\x08\0"), Some(Magic::Gzip));
        assert_eq!(magic(b"PK\x03\x04"), Some(Magic::Zip));
        assert_eq!(magic(b"\xFD7zXZ\0\0"), Some(Magic::Xz));
        assert_eq!(magic(b"\x28\xB5\x2F\xFD"), Some(Magic::Zstd));
        assert_eq!(magic(b"BZh9"), Some(Magic::Bzip2));
        assert_eq!(magic(b"fn main() {}"), None);
        assert!(Magic::Elf.is_executable() && !Magic::Gzip.is_executable());
    }

    #[test]
    fn literal_values() {
        assert_eq!(literal_value(r#""a\x41\u{42}\n""#).unwrap_or_default(), b"aAB\n");
        assert_eq!(literal_value(r##"r#"a"b"#"##).unwrap_or_default(), b"a\"b");
        assert_eq!(literal_value(r#"b"\x7fELF""#).unwrap_or_default(), b"\x7fELF");
        assert_eq!(literal_value("\"ab\\\n     cd\"").unwrap_or_default(), b"abcd");
        assert_eq!(literal_value("\"unterminated").unwrap_or_default(), b"unterminated");
        assert_eq!(literal_value("'c'"), None);
    }

    #[test]
    fn encoded_literals_are_found() {
        let data = noise(600, 7);
        let b = b64(&data);
        let d = classify_literal(b.as_bytes()).unwrap_or_default();
        assert!(d.starts_with("base64 text of 800 characters"), "{d}");
        let pem: String = b
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        assert!(classify_literal(pem.as_bytes()).is_some_and(|d| d.starts_with("base64")));
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        assert!(classify_literal(hex.as_bytes()).is_some_and(|d| d.starts_with("hex text")));
        let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
        elf.extend(noise(200, 3));
        let d = classify_literal(b64(&elf).as_bytes()).unwrap_or_default();
        assert!(d.contains("starts like ELF"), "{d}");
        assert!(classify_literal(&noise(400, 9)).is_some_and(|d| d.starts_with("binary literal")));
    }

    #[test]
    fn ordinary_long_strings_stay_quiet() {
        let lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
            incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud \
            exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure \
            dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur.";
        let english = "The quick brown fox jumps over the lazy dog while the cargo ship sails; ".repeat(20);
        let url = format!(
            "https://example.com/api/v1/downloads/crates/serde/1.0.200/download?token=abc&page={}",
            "segment/".repeat(40)
        );
        let camel = "ThisIsAVeryLongIdentifierLikeStringWithoutAnySpacesInIt".repeat(10);
        let fmt = "{}: {:?} -> {:#x} [{:>8}] ".repeat(30);
        let table = "0123456789".repeat(50);
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let path = "/usr/local/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:".repeat(8);
        for s in [lorem, &english, &url, &camel, &fmt, &table, alphabet, sha, &path] {
            assert_eq!(classify_literal(s.as_bytes()), None, "{s}");
        }
        // Structured binary-ish tables stay quiet too.
        let ramp: Vec<u8> = (0..=255u8).cycle().take(2048).collect();
        let mut perm: Vec<u8> = (0..=255u8).collect();
        perm.reverse();
        assert_eq!(classify_byte_array(&perm), None);
        assert_eq!(classify_byte_array(&vec![0u8; 4096]), None);
        assert_eq!(classify_byte_array(&ramp), None);
    }

    #[test]
    fn byte_arrays() {
        assert!(classify_byte_array(&noise(1024, 5)).is_some());
        let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
        elf.extend([0u8; 40]);
        assert!(classify_byte_array(&elf).is_some_and(|d| d.contains("ELF")));
        assert_eq!(classify_byte_array(&noise(100, 5)), None);
    }
}
