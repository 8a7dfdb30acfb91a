//! Path escaping: which path components git cannot hold (or `git fsck`
//! refuses), and the reversible, injective `%XX` escaping used to store them.
//! Also the printable forms used when a path has to appear in a commit
//! trailer. Pure functions; see docs/STORE.md for the rule in prose.

use gix_validate::path::component::{Mode, Options};

/// Characters that render as nothing or reorder text: zero-width and
/// bidirectional controls (and the BOM).
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF)
}

/// Whether a path component must be escaped to be stored in a git tree that
/// passes `git fsck --strict` (or that would be invisible to a reader).
/// `is_file` and `content` let the `.gitattributes` rule look at what fsck
/// would look at: a directory with that name is always refused, a file only
/// for its content.
pub fn needs_escape(component: &[u8], is_file: bool, content: Option<&[u8]>) -> bool {
    let Ok(s) = std::str::from_utf8(component) else {
        return true;
    };
    if s.is_empty() || s == "." || s == ".." || s.chars().any(|c| c == '%' || c.is_control() || is_invisible(c)) {
        return true;
    }
    if git_refuses(s) {
        return true;
    }
    if is_gitattributes_alias(s) {
        // fsck: gitattributesBlob (a tree at that name), gitattributesLarge
        // (> 100 MiB), gitattributesLineLength (a line of 2048 bytes or more).
        if !is_file {
            return true;
        }
        if let Some(data) = content {
            let too_long = data.split(|&b| b == b'\n').any(|l| l.len() >= 2048);
            if too_long || data.len() > 100 * 1024 * 1024 {
                return true;
            }
        }
    }
    false
}

/// Whether git (fsck, with the NTFS and HFS+ protections) refuses `s` as a
/// tree entry name: `.git` in any spelling, and every spelling of
/// `.gitmodules` (checked as a symlink, which is how gix flags those names;
/// fsck inspects such files whatever their mode).
fn git_refuses(s: &str) -> bool {
    let opts = Options {
        protect_windows: false,
        protect_hfs: true,
        protect_ntfs: true,
    };
    gix_validate::path::component(s.into(), Some(Mode::Symlink), opts).is_err()
}

fn is_gitattributes_alias(s: &str) -> bool {
    let cleaned: String = s.chars().filter(|&c| !is_invisible(c)).collect();
    let trimmed = cleaned.trim_end_matches(['.', ' ']);
    let lower = trimmed.to_ascii_lowercase();
    lower == ".gitattributes"
        || lower.starts_with(".gitattributes:")
        || ((lower.starts_with("gitatt~") || lower.starts_with("gi7d29~"))
            && lower.len() == 8
            && lower.as_bytes()[7].is_ascii_digit())
}

/// Escape one component: `%`, a leading `.`, trailing dots and spaces, `~`,
/// control and invisible characters and invalid UTF-8 bytes become `%XX`.
/// The result always contains a `%` and is accepted by git.
pub fn escape_component(component: &[u8]) -> String {
    let mut out = String::with_capacity(component.len() + 8);
    let trailing_start = component.len() - component.iter().rev().take_while(|&&b| b == b'.' || b == b' ').count();
    let mut pos = 0usize;
    for chunk in component.utf8_chunks() {
        for c in chunk.valid().chars() {
            let escape = c == '%'
                || c == '~'
                || c.is_control()
                || is_invisible(c)
                || (pos == 0 && c == '.')
                || pos >= trailing_start;
            if escape {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            } else {
                out.push(c);
            }
            pos += c.len_utf8();
        }
        for &b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
            pos += 1;
        }
    }
    if !out.contains('%') || git_refuses(&out) {
        // Defensive: never produce something unstorable or ambiguous.
        return component.iter().map(|b| format!("%{b:02X}")).collect();
    }
    out
}

/// Decode `%XX` sequences back to bytes (the inverse of the escaping and of
/// both printable forms).
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_digit(b[i + 1]), hex_digit(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A raw path (any bytes) in printable ASCII: bytes outside `!`..`~` and `%`
/// itself become `%XX`. Decoding with [`unescape`] gives the raw bytes back.
pub fn printable_raw(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if (0x21..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A stored tree path in printable ASCII: like [`printable_raw`] but `%` is
/// kept, since in a tree path it always starts an escape. Decoding with
/// [`unescape`] gives the original archive path.
pub fn printable_tree_path(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path {
        if (0x21..=0x7e).contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_kept() {
        for n in [
            "lib.rs",
            "README.md",
            ".gitignore",
            "Cargo.toml.orig",
            "é.rs",
            "a b",
            "CON.rs",
            "x.",
        ] {
            assert!(!needs_escape(n.as_bytes(), true, Some(b"")), "{n}");
        }
    }

    #[test]
    fn git_aliases_are_escaped() {
        for n in [
            ".git",
            ".GIT",
            ".g\u{200c}it",
            "git~1",
            ".git.",
            ".git ",
            ".gitmodules",
            ".GitModules",
            "gitmod~1",
        ] {
            assert!(needs_escape(n.as_bytes(), true, Some(b"")), "{n:?}");
            let e = escape_component(n.as_bytes());
            assert!(!git_refuses(&e), "{n:?} -> {e}");
            assert_eq!(unescape(&e), n.as_bytes());
        }
        assert_eq!(escape_component(b".git"), "%2Egit");
        assert_eq!(escape_component(b"git~1"), "git%7E1");
    }

    #[test]
    fn bytes_git_cannot_hold() {
        for n in [&b"a\0b"[..], b"\xff\xfe", b"a%b", b"new\nline", b"..", b"."] {
            assert!(needs_escape(n, true, None));
            let e = escape_component(n);
            assert!(e.is_ascii() || std::str::from_utf8(e.as_bytes()).is_ok());
            assert_eq!(unescape(&e), n);
        }
    }

    #[test]
    fn gitattributes_by_content() {
        let long = vec![b'a'; 3000];
        assert!(needs_escape(b".gitattributes", true, Some(&long)));
        assert!(!needs_escape(b".gitattributes", true, Some(b"* text=auto\n")));
    }

    #[test]
    fn printable_forms_roundtrip() {
        let raw = b"a%b/\xff c\n|`";
        let p = printable_raw(raw);
        assert!(p.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_eq!(unescape(&p), raw);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>().prop_filter("no slash", |b| *b != b'/'), 1..12),
            "[.gGiItT~%\u{200c}\u{202e} 1mdules]{1,12}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #[test]
        fn escaping_is_reversible_and_storable(c in component()) {
            let e = escape_component(&c);
            prop_assert_eq!(unescape(&e), c.clone());
            prop_assert!(!git_refuses(&e));
            prop_assert!(!e.contains('/') && !e.contains('\0'));
        }

        #[test]
        fn stored_names_are_injective(a in component(), b in component()) {
            let store = |c: &[u8]| if needs_escape(c, false, None) {
                escape_component(c).into_bytes()
            } else {
                c.to_vec()
            };
            if a != b {
                prop_assert_ne!(store(&a), store(&b));
            }
        }

        #[test]
        fn printable_forms_are_printable_and_reversible(c in proptest::collection::vec(any::<u8>(), 0..40)) {
            let p = printable_raw(&c);
            prop_assert!(p.bytes().all(|b| (0x21..=0x7e).contains(&b)));
            prop_assert_eq!(unescape(&p), c);
        }
    }
}
