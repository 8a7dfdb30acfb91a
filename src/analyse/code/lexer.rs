//! A tolerant Rust lexer: text in, flat tokens and comment spans out, with
//! byte offsets into the text.
//!
//! Owns: splitting any text into the tokens the code scanners look at
//! (identifiers, literals, `::`, other punctuation, delimiters) and the
//! figures that tell whether a file is safe to hand to syn (nesting depth,
//! longest run of tokens without a separator).
//!
//! Must not: fail or panic. Nothing is rejected: an unterminated literal or
//! comment runs to the end of the text, an unknown character becomes a
//! one-character punctuation token, unbalanced delimiters are kept as they
//! are. It is used on every Rust file, whether syn can parse it or not, so
//! that nothing in a file is hidden from the scanners.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An identifier or keyword, raw ones (`r#x`) included.
    Ident,
    /// `'a` (a lifetime or a label).
    Lifetime,
    /// Any string literal: `".."`, `b".."`, `c".."`, raw ones.
    Str,
    /// `'x'` or `b'x'`.
    Char,
    /// A number literal, suffix included.
    Num,
    /// `::`.
    PathSep,
    /// Any other character outside literals and comments.
    Punct(char),
    /// `(`, `[` or `{`.
    Open(char),
    /// `)`, `]` or `}`.
    Close(char),
}

/// A token: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    pub kind: Kind,
    pub start: u32,
    pub end: u32,
}

impl Tok {
    /// The token's text.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.start as usize..self.end as usize).unwrap_or("")
    }

    /// Whether this is the identifier `word`.
    pub fn is_ident(&self, src: &str, word: &str) -> bool {
        self.kind == Kind::Ident && self.text(src) == word
    }
}

/// The tokens and comments of a text.
#[derive(Debug, Default)]
pub(crate) struct Lexed {
    pub toks: Vec<Tok>,
    /// Byte ranges of comments (doc comments included), in order.
    pub comments: Vec<(u32, u32)>,
    /// Deepest delimiter nesting.
    pub max_depth: u32,
    /// Most tokens in one group between two `;`, `,`, `#` or item keywords
    /// (`fn`, `pub`, `impl`, `let`, ...; a nested group counts as one): a
    /// bound on how deep one expression can nest.
    pub max_run: u32,
    /// A literal or block comment ran to the end of the text.
    pub unterminated: bool,
}

/// Rust's identifier rules, approximated with the standard library's
/// Unicode tables: letters and `_` start, letters, digits, `_` and combining
/// marks continue.
pub(crate) fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

/// See [`is_ident_start`].
pub(crate) fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric() || is_combining_mark(c)
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0900..=0x0903 | 0x093A..=0x094F | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Whitespace as rustc sees it (Pattern_White_Space, which includes the
/// left-to-right and right-to-left marks).
fn is_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{85}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}'
    )
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    i: usize,
    out: Lexed,
    /// Tokens in the current run, one counter per open group.
    runs: Vec<u32>,
}

/// Lexes `src`. Never fails.
pub(crate) fn lex(src: &str) -> Lexed {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        i: 0,
        out: Lexed {
            toks: Vec::with_capacity(src.len() / 5),
            ..Lexed::default()
        },
        runs: vec![0],
    };
    lx.run();
    lx.out
}

impl Lexer<'_> {
    fn peek_char(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|s| s.chars().next())
    }

    fn byte(&self, at: usize) -> u8 {
        self.bytes.get(at).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize) {
        self.out.toks.push(Tok {
            kind,
            start: start as u32,
            end: end as u32,
        });
        let starts_item = kind == Kind::Ident
            && matches!(
                &self.src[start..end],
                "fn" | "pub"
                    | "impl"
                    | "struct"
                    | "enum"
                    | "mod"
                    | "trait"
                    | "const"
                    | "static"
                    | "type"
                    | "use"
                    | "let"
            );
        match kind {
            Kind::Punct(';') | Kind::Punct(',') | Kind::Punct('#') => {
                if let Some(r) = self.runs.last_mut() {
                    *r = 0;
                }
            }
            Kind::Open(_) => {
                self.bump_run();
                self.runs.push(0);
                let depth = (self.runs.len() - 1) as u32;
                self.out.max_depth = self.out.max_depth.max(depth);
            }
            Kind::Close(_) => {
                if self.runs.len() > 1 {
                    self.runs.pop();
                }
            }
            _ if starts_item => {
                // Items and `let` statements start a new run.
                if let Some(r) = self.runs.last_mut() {
                    *r = 1;
                }
            }
            _ => self.bump_run(),
        }
    }

    fn bump_run(&mut self) {
        if let Some(r) = self.runs.last_mut() {
            *r += 1;
            self.out.max_run = self.out.max_run.max(*r);
        }
    }

    fn run(&mut self) {
        while self.i < self.bytes.len() {
            let start = self.i;
            let b = self.bytes[start];
            if b < 0x80 {
                self.ascii(b, start);
            } else {
                let c = self.peek_char(start).unwrap_or('\u{FFFD}');
                let len = c.len_utf8().max(1);
                if is_whitespace(c) {
                    self.i += len;
                } else if is_ident_start(c) {
                    self.ident(start);
                } else {
                    self.i += len;
                    self.push(Kind::Punct(c), start, self.i);
                }
            }
        }
    }

    fn ascii(&mut self, b: u8, start: usize) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => self.i += 1,
            b'/' if self.byte(start + 1) == b'/' => {
                let end = self.bytes[start..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(self.bytes.len(), |p| start + p);
                self.out.comments.push((start as u32, end as u32));
                self.i = end;
            }
            b'/' if self.byte(start + 1) == b'*' => self.block_comment(start),
            b'"' => self.string(start, start + 1),
            b'\'' => self.quote(start),
            b'r' | b'b' | b'c' => {
                if !self.prefixed_literal(start) {
                    self.ident(start);
                }
            }
            b'0'..=b'9' => self.number(start),
            b':' if self.byte(start + 1) == b':' => {
                self.i += 2;
                self.push(Kind::PathSep, start, self.i);
            }
            b'(' | b'[' | b'{' => {
                self.i += 1;
                self.push(Kind::Open(b as char), start, self.i);
            }
            b')' | b']' | b'}' => {
                self.i += 1;
                self.push(Kind::Close(b as char), start, self.i);
            }
            _ if b == b'_' || b.is_ascii_alphabetic() => self.ident(start),
            _ => {
                self.i += 1;
                self.push(Kind::Punct(b as char), start, self.i);
            }
        }
    }

    fn block_comment(&mut self, start: usize) {
        let mut depth = 0u32;
        let mut j = start;
        loop {
            if j + 1 >= self.bytes.len() {
                self.out.unterminated = true;
                j = self.bytes.len();
                break;
            }
            match (self.bytes[j], self.bytes[j + 1]) {
                (b'/', b'*') => {
                    depth += 1;
                    j += 2;
                }
                (b'*', b'/') => {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                }
                _ => j += 1,
            }
        }
        self.out.comments.push((start as u32, j as u32));
        self.i = j;
    }

    /// An escaped string whose opening quote is at `open - 1`.
    fn string(&mut self, start: usize, open: usize) {
        let mut j = open;
        loop {
            match self.bytes.get(j) {
                None => {
                    self.out.unterminated = true;
                    break;
                }
                Some(b'\\') => j += 2,
                Some(b'"') => {
                    j += 1;
                    break;
                }
                Some(_) => j += 1,
            }
        }
        let j = j.min(self.bytes.len());
        self.i = self.suffix(j);
        self.push(Kind::Str, start, self.i);
    }

    /// A raw string: `hashes` `#` then `"` at `open - 1`.
    fn raw_string(&mut self, start: usize, open: usize, hashes: usize) {
        let mut j = open;
        let end = loop {
            match self.bytes.get(j) {
                None => {
                    self.out.unterminated = true;
                    break self.bytes.len();
                }
                Some(b'"')
                    if self
                        .bytes
                        .get(j + 1..j + 1 + hashes)
                        .is_some_and(|h| h.iter().all(|&c| c == b'#')) =>
                {
                    break j + 1 + hashes;
                }
                Some(_) => j += 1,
            }
        };
        self.i = self.suffix(end);
        self.push(Kind::Str, start, self.i);
    }

    /// Literal suffixes (`"x"suffix`, `1u8`): identifier characters.
    fn suffix(&self, mut j: usize) -> usize {
        while j < self.bytes.len() && (self.bytes[j] == b'_' || self.bytes[j].is_ascii_alphanumeric()) {
            j += 1;
        }
        j
    }

    /// `b".."`, `c".."`, `r".."`, `br#".."#`, `cr".."`, `b'x'`, `r#ident`.
    /// Returns false when `start` begins a plain identifier.
    fn prefixed_literal(&mut self, start: usize) -> bool {
        let b0 = self.bytes[start];
        let b1 = self.byte(start + 1);
        let (raw_at, esc) = match (b0, b1) {
            (b'b' | b'c', b'"') => {
                self.string(start, start + 2);
                return true;
            }
            (b'b', b'\'') => {
                self.quote_from(start, start + 1);
                return true;
            }
            (b'r', _) => (start + 1, false),
            (b'b' | b'c', b'r') => (start + 2, false),
            _ => (0, true),
        };
        if esc {
            return false;
        }
        let hashes = self.bytes[raw_at..].iter().take_while(|&&c| c == b'#').count();
        match self.byte(raw_at + hashes) {
            b'"' => {
                self.raw_string(start, raw_at + hashes + 1, hashes);
                true
            }
            _ if b0 == b'r' && hashes == 1 => {
                // `r#ident`
                let at = raw_at + 1;
                if self.peek_char(at).is_some_and(is_ident_start) {
                    self.i = at;
                    self.ident(start);
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }

    fn ident(&mut self, start: usize) {
        let mut j = self.i.max(start);
        while let Some(c) = self.peek_char(j) {
            if (j == start && is_ident_start(c)) || (j > start && is_ident_continue(c)) {
                j += c.len_utf8();
            } else {
                break;
            }
        }
        if j == start {
            j = start + self.peek_char(start).map_or(1, char::len_utf8);
        }
        self.i = j;
        self.push(Kind::Ident, start, j);
    }

    fn quote(&mut self, start: usize) {
        self.quote_from(start, start);
    }

    /// A char literal, a lifetime or a lone quote; the quote is at `q`.
    fn quote_from(&mut self, start: usize, q: usize) {
        let after = q + 1;
        let Some(c) = self.peek_char(after) else {
            self.i = self.bytes.len();
            self.push(Kind::Punct('\''), start, self.i);
            return;
        };
        if c == '\\' {
            // Escaped char: up to the closing quote on this line.
            let mut j = after + 2;
            while j < self.bytes.len() && self.bytes[j] != b'\'' && self.bytes[j] != b'\n' && j < after + 16 {
                j += 1;
            }
            if self.byte(j) == b'\'' {
                self.i = self.suffix(j + 1);
                self.push(Kind::Char, start, self.i);
            } else {
                self.i = after;
                self.push(Kind::Punct('\''), start, self.i);
            }
            return;
        }
        let next = after + c.len_utf8();
        if self.byte(next) == b'\'' && c != '\'' {
            self.i = self.suffix(next + 1);
            self.push(Kind::Char, start, self.i);
        } else if is_ident_start(c) && start == q {
            let mut j = next;
            while let Some(d) = self.peek_char(j) {
                if is_ident_continue(d) {
                    j += d.len_utf8();
                } else {
                    break;
                }
            }
            self.i = j;
            self.push(Kind::Lifetime, start, j);
        } else {
            self.i = after;
            self.push(Kind::Punct('\''), start, self.i);
        }
    }

    fn number(&mut self, start: usize) {
        let hex = self.byte(start) == b'0' && matches!(self.byte(start + 1), b'x' | b'X');
        let mut j = start;
        loop {
            let b = self.byte(j);
            if b == b'_' || b.is_ascii_alphanumeric() {
                j += 1;
                if !hex
                    && (b == b'e' || b == b'E')
                    && matches!(self.byte(j), b'+' | b'-')
                    && self.byte(j + 1).is_ascii_digit()
                {
                    j += 1;
                }
            } else if b == b'.' && self.byte(j + 1).is_ascii_digit() && !hex {
                j += 1;
            } else {
                break;
            }
        }
        self.i = j;
        self.push(Kind::Num, start, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        lex(src).toks.iter().map(|t| (t.kind, t.text(src))).collect()
    }

    #[test]
    fn literals_and_paths() {
        let src = r##"let s = r#"a"b"#; b"\x00" 'a' '\n' 'lt b'x' 1.5e-3 0xFFu8 x::y"##;
        let k = kinds(src);
        assert!(k.contains(&(Kind::Str, r##"r#"a"b"#"##)));
        assert!(k.contains(&(Kind::Str, r#"b"\x00""#)));
        assert!(k.contains(&(Kind::Char, "'a'")));
        assert!(k.contains(&(Kind::Char, r"'\n'")));
        assert!(k.contains(&(Kind::Lifetime, "'lt")));
        assert!(k.contains(&(Kind::Char, "b'x'")));
        assert!(k.contains(&(Kind::Num, "1.5e-3")));
        assert!(k.contains(&(Kind::Num, "0xFFu8")));
        assert!(k.contains(&(Kind::PathSep, "::")));
    }

    #[test]
    fn comments_and_raw_idents() {
        let src = "/* a /* nested */ b */ r#try // tail\nx";
        let lx = lex(src);
        assert_eq!(lx.comments.len(), 2);
        let k = kinds(src);
        assert_eq!(k, vec![(Kind::Ident, "r#try"), (Kind::Ident, "x")]);
    }

    #[test]
    fn unterminated_never_fails() {
        for src in [
            "\"abc", "/* x", "r#\"abc", "'", "b'", "'\\", "r#", "0x", "é", "\u{202E}",
        ] {
            let lx = lex(src);
            assert!(lx.toks.iter().all(|t| t.end as usize <= src.len()), "{src:?}");
        }
        assert!(lex("\"abc").unterminated);
    }

    #[test]
    fn depth_and_runs() {
        let lx = lex("f(((a))); a + b + c; [1, 2]");
        assert_eq!(lx.max_depth, 3);
        assert_eq!(lx.max_run, 5);
    }

    #[test]
    fn unicode_identifiers() {
        let src = "let p\u{430}yload = 1;";
        assert!(kinds(src).contains(&(Kind::Ident, "p\u{430}yload")));
    }
}
