//! Text helpers for the code scanners: line numbers from byte offsets,
//! bounded snippets, and the Unicode classes behind the trojan-source facts
//! (bidirectional controls, invisible characters, confusable identifiers).
//!
//! Must not: panic on any text. Snippets make every control, bidirectional
//! and invisible character visible as `\u{XXXX}`, so that a snippet cannot
//! reorder or hide the text around it wherever it is shown.

/// Longest snippet kept, in characters.
pub(crate) const SNIPPET_CHARS: usize = 200;

/// Line starts of a text, for offset-to-line lookups.
#[derive(Debug)]
pub(crate) struct Lines {
    starts: Vec<u32>,
}

impl Lines {
    pub fn new(src: &str) -> Self {
        let mut starts = Vec::with_capacity(src.len() / 32 + 1);
        starts.push(0);
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i as u32 + 1);
            }
        }
        Lines { starts }
    }

    /// Lines in the text (a last line without `\n` counts; an empty text
    /// has one empty line).
    pub fn count(&self) -> u32 {
        self.starts.len() as u32
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&s| s as usize <= offset) as u32
    }

    /// Byte range of a 1-based line, without its `\n`.
    pub fn range(&self, line: u32, src: &str) -> (usize, usize) {
        let idx = (line.max(1) - 1) as usize;
        let start = self.starts.get(idx).map_or(src.len(), |&s| s as usize);
        let end = self
            .starts
            .get(idx + 1)
            .map_or(src.len(), |&s| (s as usize).saturating_sub(1));
        (start.min(src.len()), end.max(start).min(src.len()))
    }
}

/// The line around `offset`, trimmed, bounded to [`SNIPPET_CHARS`] around
/// the offset (with `…` where cut), with hidden characters made visible.
/// Only the bytes near the offset are looked at, so a file that is one
/// long line costs no more per snippet than any other.
pub(crate) fn snippet(src: &str, lines: &Lines, offset: usize) -> String {
    let line = lines.line_of(offset);
    let (start, end) = lines.range(line, src);
    let offset = offset.clamp(start, end);
    let reach = SNIPPET_CHARS * 4;
    let mut a = if offset - start > reach { offset - reach } else { start };
    let mut b = if end - offset > reach { offset + reach } else { end };
    while a > start && !src.is_char_boundary(a) {
        a -= 1;
    }
    while b < end && !src.is_char_boundary(b) {
        b += 1;
    }
    let (lead, trail) = (a > start, b < end);
    let mut text = src.get(a..b).unwrap_or("");
    let mut rel = offset - a;
    if !lead {
        let t = text.trim_start();
        rel = rel.saturating_sub(text.len() - t.len());
        text = t;
    }
    if !trail {
        text = text.trim_end();
    }
    let rel = rel.min(text.len());
    let total = text.chars().count();
    if total <= SNIPPET_CHARS && !lead && !trail {
        return visible(text);
    }
    let at = text.char_indices().take_while(|(i, _)| *i < rel).count();
    let first = at
        .saturating_sub(SNIPPET_CHARS * 2 / 5)
        .min(total.saturating_sub(SNIPPET_CHARS));
    let window: String = text.chars().skip(first).take(SNIPPET_CHARS).collect();
    let mut out = String::new();
    if first > 0 || lead {
        out.push('…');
    }
    out.push_str(&visible(&window));
    if first + SNIPPET_CHARS < total || trail {
        out.push('…');
    }
    out
}

/// `s` with controls, bidirectional and invisible characters written as
/// `\u{XXXX}` (tabs become spaces).
pub(crate) fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\t' {
            out.push(' ');
        } else if c.is_control() || bidi_name(c).is_some() || invisible_name(c).is_some() {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Bounds `s` to `max` characters, adding `…` when cut, hidden characters
/// made visible.
pub(crate) fn bounded(s: &str, max: usize) -> String {
    let v = visible(s);
    if v.chars().count() <= max {
        return v;
    }
    let mut out: String = v.chars().take(max).collect();
    out.push('…');
    out
}

/// Bidirectional control characters (the trojan-source set).
pub(crate) fn bidi_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        _ => return None,
    })
}

/// Zero-width and other invisible characters. Variation selectors are left
/// out: emoji text is full of them.
pub(crate) fn invisible_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => "HANGUL FILLER",
        '\u{17B4}' | '\u{17B5}' => "KHMER INHERENT VOWEL",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}'..='\u{2064}' => "INVISIBLE OPERATOR",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{E0000}'..='\u{E007F}' => "TAG CHARACTER",
        _ => return None,
    })
}

/// A rough script class, enough to tell Latin from its look-alikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Script {
    Latin,
    Greek,
    Cyrillic,
    Armenian,
    Cherokee,
    /// Digits, `_`, marks: no script.
    Common,
    Other,
}

impl Script {
    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Greek => "Greek",
            Script::Cyrillic => "Cyrillic",
            Script::Armenian => "Armenian",
            Script::Cherokee => "Cherokee",
            Script::Common => "Common",
            Script::Other => "other",
        }
    }
}

pub(crate) fn script(c: char) -> Script {
    match c as u32 {
        0x30..=0x39 | 0x5F => Script::Common,
        0x41..=0x5A | 0x61..=0x7A => Script::Latin,
        0xC0..=0x24F | 0x1E00..=0x1EFF | 0x250..=0x2AF | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin,
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x530..=0x58F => Script::Armenian,
        0x13A0..=0x13FF | 0xAB70..=0xABBF => Script::Cherokee,
        0x300..=0x36F | 0xFF10..=0xFF19 => Script::Common,
        _ => Script::Other,
    }
}

/// The ASCII character a non-ASCII letter is easily taken for.
pub(crate) fn confusable(c: char) -> Option<char> {
    let cp = c as u32;
    // Fullwidth forms.
    if (0xFF21..=0xFF3A).contains(&cp) {
        return char::from_u32(cp - 0xFF21 + 'A' as u32);
    }
    if (0xFF41..=0xFF5A).contains(&cp) {
        return char::from_u32(cp - 0xFF41 + 'a' as u32);
    }
    if (0xFF10..=0xFF19).contains(&cp) {
        return char::from_u32(cp - 0xFF10 + '0' as u32);
    }
    // Mathematical alphanumeric symbols: bold, italic, script, ... letters.
    if (0x1D400..=0x1D6A3).contains(&cp) {
        let i = (cp - 0x1D400) % 52;
        let base = if i < 26 { 'A' as u32 + i } else { 'a' as u32 + i - 26 };
        return char::from_u32(base);
    }
    if (0x1D7CE..=0x1D7FF).contains(&cp) {
        return char::from_u32('0' as u32 + (cp - 0x1D7CE) % 10);
    }
    Some(match c {
        // Cyrillic.
        'а' => 'a',
        'е' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'у' => 'y',
        'х' => 'x',
        'і' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'һ' => 'h',
        'ӏ' => 'l',
        'ү' => 'y',
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'І' => 'I',
        'Ј' => 'J',
        'Ѕ' => 'S',
        'Ү' => 'Y',
        'Ԛ' => 'Q',
        'Ԝ' => 'W',
        'Ӏ' => 'I',
        // Greek.
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        'ο' => 'o',
        'ν' => 'v',
        'ρ' => 'p',
        // Latin letters outside ASCII that pass for ASCII ones.
        'ı' => 'i',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ǀ' => 'l',
        // Armenian and Cherokee.
        'օ' => 'o',
        'ս' => 'u',
        'Ꭺ' => 'A',
        'Ꭼ' => 'E',
        'Ꮪ' => 'S',
        'Ꭲ' => 'T',
        _ => return None,
    })
}

/// Why an identifier may pass for another, or `None`. Flags an identifier
/// that mixes Latin with Greek, Cyrillic, Armenian or Cherokee letters, or
/// that contains a letter listed by [`confusable`] when it also contains
/// ASCII letters or reads entirely as ASCII once those letters are swapped.
pub(crate) fn confusable_identifier(ident: &str) -> Option<String> {
    if ident.is_ascii() {
        return None;
    }
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut scripts: Vec<Script> = ident
        .chars()
        .map(script)
        .filter(|s| !matches!(s, Script::Common | Script::Other))
        .collect();
    scripts.sort_unstable();
    scripts.dedup();
    let has_ascii_letter = ident.chars().any(|c| c.is_ascii_alphabetic());
    let skeleton: String = ident.chars().map(|c| confusable(c).unwrap_or(c)).collect();
    let swapped: Vec<char> = ident.chars().filter(|&c| confusable(c).is_some()).collect();
    let lookalike = !swapped.is_empty() && (has_ascii_letter || skeleton.is_ascii());
    if lookalike {
        let c = swapped[0];
        return Some(format!(
            "`{}` reads as `{}` (U+{:04X}, {} letter)",
            visible(ident),
            visible(&skeleton),
            c as u32,
            script(c).name()
        ));
    }
    if scripts.len() > 1 && scripts.contains(&Script::Latin) {
        let names: Vec<&str> = scripts.iter().map(|s| s.name()).collect();
        return Some(format!("`{}` mixes {} letters", visible(ident), names.join(" and ")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_snippets() {
        let src = "a\n  let x = 1;  \n\nlast";
        let l = Lines::new(src);
        assert_eq!(l.count(), 4);
        assert_eq!(l.line_of(0), 1);
        assert_eq!(l.line_of(2), 2);
        assert_eq!(l.line_of(src.len()), 4);
        assert_eq!(snippet(src, &l, 5), "let x = 1;");
        assert_eq!(snippet(src, &l, 18), "last");
        let long = format!("{}X{}", "a".repeat(1000), "b".repeat(1000));
        let l = Lines::new(&long);
        let s = snippet(&long, &l, 1000);
        assert!(s.contains('X') && s.starts_with('…') && s.ends_with('…'));
        assert!(s.chars().count() <= SNIPPET_CHARS + 2);
    }

    #[test]
    fn hidden_characters_are_visible() {
        assert_eq!(visible("a\u{202E}b\u{200B}c\u{7}"), "a\\u{202E}b\\u{200B}c\\u{0007}");
    }

    #[test]
    fn confusables() {
        let d = confusable_identifier("p\u{430}yload").unwrap_or_default();
        assert!(d.contains("reads as `payload`") && d.contains("U+0430"), "{d}");
        assert!(confusable_identifier("\u{440}\u{43E}\u{440}").is_some()); // Cyrillic "pop"
        assert!(confusable_identifier("dat\u{431}").is_some()); // Latin + Cyrillic be
        assert_eq!(confusable_identifier("payload"), None);
        assert_eq!(confusable_identifier("größe"), None);
        assert_eq!(confusable_identifier("λ"), None);
        assert_eq!(confusable_identifier("名前"), None);
        assert_eq!(confusable_identifier("привет"), None);
    }
}
