//! Markdown escaping: the one place where untrusted text becomes safe Markdown.
//!
//! Every string that came from a crate, an upstream repository or the registry
//! (file names, diff lines, manifest values, owner names, claims) is untrusted.
//! Templates insert such a string only through one of these functions, each
//! made for one place in a document:
//!
//! | function        | where the output goes                         | renders as            |
//! |-----------------|-----------------------------------------------|-----------------------|
//! | [`code_span`]   | inline text outside tables                    | one inline code span  |
//! | [`table_cell`]  | one cell of a GFM table row                   | one inline code span  |
//! | [`text`]        | inline text where code formatting is unwanted | plain text only       |
//! | [`fenced`]      | a block of its own, from column 0             | one fenced code block |
//! | [`diff_line`]   | one line of a diff, then joined into `fenced` | (a line of a block)   |
//! | [`link_target`] | the destination inside `[...](here)`          | a relative URL        |
//!
//! All but `link_target` (which percent-encodes every non-ASCII byte) pass
//! the text through [`visible`], which replaces invisible and bidirectional
//! control characters by marks such as `<U+202E>`. The inline forms also show
//! a newline as `⏎`, a table cell shows a backslash before `|` as `<U+005C>`,
//! and diff lines mark trailing whitespace and carriage returns. Apart from
//! those documented marks, what a reader sees is exactly the input: nothing is
//! dropped, and nothing the input contains can become a link, an image, HTML,
//! a heading, emphasis, a list or a new table cell. The tests check this by
//! parsing the output with comrak (GitHub Flavored Markdown) and inspecting
//! the syntax tree, for hostile inputs and for generated ones.
//!
//! Each guarantee holds for the context named above. In particular: keep an
//! inline result away from a preceding backslash and from another code span
//! directly adjacent to it (separate two spans by at least a space), and start
//! a `fenced` block on a line of its own, not inside a list item.
//!
//! Only escaping lives here: no I/O, no truncation or paging of big reports,
//! and no judgement of what is suspicious (the report says that, using the
//! flag [`visible`] returns).

/// Replaces invisible and bidirectional control characters with the visible
/// mark `<U+XXXX>` (upper-case hex, at least four digits), and says whether it
/// replaced anything, so that the report can show a warning banner.
///
/// Marked: C0 and C1 controls other than tab and newline (so a carriage
/// return is marked too), DEL, the Unicode Default_Ignorable_Code_Point set
/// (zero-width characters and joiners, U+00AD soft hyphen, U+034F, U+061C,
/// U+180E, the bidi embeddings, overrides and isolates U+202A–U+202E and
/// U+2066–U+2069, U+2060–U+206F, U+FEFF, variation selectors, the Hangul
/// fillers, the tag characters of plane 14), the other format (`Cf`)
/// characters, and the line and paragraph separators U+2028 and U+2029.
///
/// One exception keeps ordinary emoji readable: a single U+FE0E or U+FE0F
/// (text or emoji presentation) directly after a visible character is kept.
/// A selector at the start, after whitespace, after a marked character or
/// after another selector is marked, so data hidden in runs of selectors
/// still shows.
///
/// The input may itself contain text that looks like a mark (`<U+202E>`);
/// such text is kept as it is and does not set the flag.
pub fn visible(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut marked = false;
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if is_invisible(c) && !is_presentation_selector_after_base(c, prev) {
            push_mark(&mut out, c);
            marked = true;
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    (out, marked)
}

/// An inline code span that holds `s` verbatim after [`visible`], with each
/// newline shown as `⏎`.
///
/// The fence is one backtick longer than the longest run of backticks inside,
/// and a space pads each side when the content starts or ends with a backtick
/// or a space (CommonMark strips exactly one such pair of spaces, so the
/// content comes back unchanged). An empty string gives `` ` ` ``, a span
/// holding one space, so the reader still sees that a value is there.
///
/// Not for table cells: use [`table_cell`], because GFM splits table rows on
/// `|` even inside code spans.
pub fn code_span(s: &str) -> String {
    span(&inline_visible(s))
}

/// A code span for one cell of a GFM table: like [`code_span`], and the row
/// can never be split or ended by the content.
///
/// GFM cuts a row into cells before it parses code spans, so each `|` is
/// written as `\|` (which GFM turns back into `|` inside the span). Newlines
/// are shown as `⏎` and carriage returns as `<U+000D>`, so the row stays on one
/// line. A backslash directly before a `|` is shown as `<U+005C>`: renderers
/// disagree about `\\|` in a cell (cmark-gfm, used by GitHub, shows `\|`;
/// comrak shows `\\|`), and the mark makes every renderer show the same text.
pub fn table_cell(s: &str) -> String {
    let content = inline_visible(s);
    let mut escaped = String::with_capacity(content.len() + 8);
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => escaped.push_str("\\|"),
            '\\' if chars.peek() == Some(&'|') => push_mark(&mut escaped, c),
            c => escaped.push(c),
        }
    }
    // Escaping changes neither the backtick runs nor the first and last
    // characters' kinds (space, backtick or other), so `span` pads and fences
    // the escaped text exactly as it would the unescaped one.
    span(&escaped)
}

/// A fenced code block holding `s` after [`visible`], followed by a newline.
///
/// The fence is made of backticks, at least three and one more than the
/// longest backtick run that starts any content line (after its leading
/// spaces and tabs), so no content line can close the block; `~~~` lines
/// cannot close a backtick fence at all. `info` (the language, such as `rust`
/// or `diff`) is kept only if it is non-empty and made of `[A-Za-z0-9_+-]`,
/// and is dropped otherwise. The content always ends with a newline before
/// the closing fence (one is added if missing; empty content stays empty).
///
/// The block must start at the beginning of a line, outside list items and
/// block quotes; it ends with the newline after its closing fence.
pub fn fenced(s: &str, info: &str) -> String {
    let (content, _) = visible(s);
    let longest = content
        .split('\n')
        .map(|line| {
            line.trim_start_matches([' ', '\t'])
                .bytes()
                .take_while(|&b| b == b'`')
                .count()
        })
        .max()
        .unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let info_ok = !info.is_empty()
        && info
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'));
    let info = if info_ok { info } else { "" };
    let newline = if content.is_empty() || content.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{fence}{info}\n{content}{newline}{fence}\n")
}

/// Plain inline text: `s` after [`visible`], with newlines shown as `⏎`, and
/// every ASCII punctuation character backslash-escaped.
///
/// CommonMark makes `\` before any ASCII punctuation character a literal, so
/// no character of `s` can start emphasis, a link, an image, raw HTML, an
/// entity reference (`&#x202E;` stays those eight characters), a heading, a
/// list, a block quote, a table cell or a footnote. Escaping `:`, `.` and `@`
/// also keeps GFM's extended autolinks (`http://`, `www.`, e-mail addresses)
/// from forming, without inserting any invisible character. Leading and
/// trailing spaces and tabs are written as character references (`&#32;`,
/// `&#9;`), so they are neither trimmed away nor read as an indented code
/// block. An empty `s` gives an empty string.
///
/// Note that a web host may post-process rendered text (GitHub turns
/// `@name`, `#123` and `:smile:` in text into mentions, issue links and
/// emoji); only code spans are safe from that, so prefer [`code_span`] for
/// names and identifiers.
pub fn text(s: &str) -> String {
    let content = inline_visible(s);
    let is_blank = |c: char| c == ' ' || c == '\t';
    let lead = content.chars().take_while(|&c| is_blank(c)).count();
    let total = content.chars().count();
    let trail = if lead == total {
        0
    } else {
        content.chars().rev().take_while(|&c| is_blank(c)).count()
    };
    let mut out = String::with_capacity(content.len() * 2);
    for (i, c) in content.chars().enumerate() {
        let at_edge = i < lead || i >= total - trail;
        match c {
            ' ' if at_edge => out.push_str("&#32;"),
            '\t' if at_edge => out.push_str("&#9;"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// One line of a diff, ready to be joined with `\n` and put in
/// [`fenced`]`(.., "diff")`. Whitespace is never hidden.
///
/// Pass the line with its terminator, as `str::split_inclusive('\n')` gives
/// it (not `str::lines`, which drops a carriage return). The result has no
/// terminator; a CRLF ending is shown as `<CRLF>` at the end of the line.
/// Every other carriage return (a lone one, or one at the end of a last line
/// without `\n`) is shown as `<CR>`, and a newline inside the line as `⏎`.
/// Trailing whitespace is shown: each space as `·`, each tab as `→`, any other
/// whitespace character as `<U+XXXX>`. The rest goes through [`visible`].
///
/// A `·` or `→` that was in the input is kept, so a line of the diff can show
/// one that is not a mark; the raw bytes and their hash remain the reference.
pub fn diff_line(s: &str) -> String {
    let (body, ending) = if let Some(body) = s.strip_suffix("\r\n") {
        (body, "<CRLF>")
    } else if let Some(body) = s.strip_suffix('\n') {
        (body, "")
    } else {
        (s, "")
    };
    let trailing = |c: char| c.is_whitespace() && c != '\r' && c != '\n';
    let head_len = body.trim_end_matches(trailing).len();
    let (head, tail) = body.split_at(head_len);

    let mut out = String::with_capacity(body.len() + 8);
    for (i, piece) in head.split('\r').enumerate() {
        if i > 0 {
            out.push_str("<CR>");
        }
        out.push_str(&visible(piece).0.replace('\n', "⏎"));
    }
    for c in tail.chars() {
        match c {
            ' ' => out.push('·'),
            '\t' => out.push('→'),
            c => push_mark(&mut out, c),
        }
    }
    out.push_str(ending);
    out
}

/// Percent-encodes a repository-relative path for use as a Markdown link
/// destination: every byte of its UTF-8 form except `[A-Za-z0-9._~/-]` is
/// written as `%XX` (upper-case hex).
///
/// Nothing else is changed: case is kept (so `-Alpha` and `-alpha` stay two
/// targets), and so are `.` and `..` segments. No scheme can survive (`:` is
/// encoded) and neither can a backslash; a leading `//`, which a browser would
/// read as another host, becomes `/%2F`.
pub fn link_target(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let starts_with_slash = path.starts_with('/');
    for (i, b) in path.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'/' | b'-');
        let second_leading_slash = i == 1 && b == b'/' && starts_with_slash;
        if plain && !second_leading_slash {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
    out
}

/// `s` after [`visible`], with newlines as `⏎`: the content of an inline code
/// span or inline text, which must stay on one line.
fn inline_visible(s: &str) -> String {
    visible(s).0.replace('\n', "⏎")
}

/// A code span around `content`, which has no line endings. Follows
/// CommonMark 6.1: a span closes at the first backtick run of exactly the
/// fence's length, and one space is stripped from each side when both ends are
/// spaces and the content is not all spaces.
/// Longest backtick run a code span keeps as it is. Renderers refuse long
/// fences (comrak reads no code span fenced by more than 80 backticks,
/// cmark-gfm none past 1000), so longer runs are shown as marks instead.
const MAX_SPAN_BACKTICKS: usize = 16;

fn span(content: &str) -> String {
    if content.is_empty() {
        return "` `".to_owned();
    }
    if longest_backtick_run(content) > MAX_SPAN_BACKTICKS {
        return span(&content.replace('`', "<U+0060>"));
    }
    let fence = "`".repeat(longest_backtick_run(content) + 1);
    let edge = |c: Option<char>| matches!(c, Some('`' | ' '));
    let all_spaces = content.bytes().all(|b| b == b' ');
    let pad = if !all_spaces && (edge(content.chars().next()) || edge(content.chars().last())) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{content}{pad}{fence}")
}

fn longest_backtick_run(s: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for b in s.bytes() {
        if b == b'`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

fn push_mark(out: &mut String, c: char) {
    out.push_str(&format!("<U+{:04X}>", u32::from(c)));
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789ABCDEF"[usize::from(nibble & 0x0f)])
}

/// Whether `c` is shown as a mark by [`visible`] (before the emoji exception).
fn is_invisible(c: char) -> bool {
    matches!(c,
        // C0 controls except tab and newline, DEL, C1 controls.
        '\u{0}'..='\u{8}' | '\u{B}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        // Default_Ignorable_Code_Point (Unicode 16).
        | '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}' | '\u{1160}'
        | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}'
        // The other format (Cf) characters.
        | '\u{600}'..='\u{605}' | '\u{6DD}' | '\u{70F}' | '\u{890}' | '\u{891}' | '\u{8E2}'
        | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}'
        // Line and paragraph separators: line breaks Markdown does not see.
        | '\u{2028}' | '\u{2029}'
    )
}

/// A text or emoji presentation selector directly after a visible, non-space
/// character: the ordinary way emoji such as ⚠️ are written.
fn is_presentation_selector_after_base(c: char, prev: Option<char>) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}') && prev.is_some_and(|p| !is_invisible(p) && !p.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use comrak::nodes::{AstNode, NodeValue};
    use comrak::{Arena, Options, parse_document};
    use proptest::prelude::*;

    // ---- A syntax tree that can be compared and printed -------------------

    /// The part of comrak's tree the tests look at. `text` holds the literal
    /// of text and code nodes and the URL of links and images.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Tree {
        kind: &'static str,
        text: String,
        info: String,
        children: Vec<Tree>,
    }

    /// GitHub Flavored Markdown as GitHub renders it, plus the extensions that
    /// could give untrusted text more meaning (footnotes, math, alerts).
    fn gfm() -> Options<'static> {
        let mut options = Options::default();
        options.extension.table = true;
        options.extension.strikethrough = true;
        options.extension.autolink = true;
        options.extension.tasklist = true;
        options.extension.footnotes = true;
        options.extension.math_dollars = true;
        options.extension.math_code = true;
        options.extension.alerts = true;
        options
    }

    fn tree(md: &str) -> Tree {
        let arena = Arena::new();
        let root = parse_document(&arena, md, &gfm());
        build(root)
    }

    fn build<'a>(node: &'a AstNode<'a>) -> Tree {
        let (kind, text, info) = {
            let data = node.data.borrow();
            let none = String::new;
            match &data.value {
                NodeValue::Document => ("Document", none(), none()),
                NodeValue::Paragraph => ("Paragraph", none(), none()),
                NodeValue::Heading(_) => ("Heading", none(), none()),
                NodeValue::List(_) => ("List", none(), none()),
                NodeValue::Item(_) => ("Item", none(), none()),
                NodeValue::Table(_) => ("Table", none(), none()),
                NodeValue::TableRow(_) => ("TableRow", none(), none()),
                NodeValue::TableCell => ("TableCell", none(), none()),
                NodeValue::Text(t) => ("Text", t.to_string(), none()),
                NodeValue::Code(c) => ("Code", c.literal.clone(), none()),
                NodeValue::CodeBlock(b) => ("CodeBlock", b.literal.clone(), b.info.clone()),
                NodeValue::Link(l) => ("Link", l.url.clone(), none()),
                NodeValue::Image(l) => ("Image", l.url.clone(), none()),
                NodeValue::HtmlInline(h) => ("HtmlInline", h.clone(), none()),
                NodeValue::HtmlBlock(h) => ("HtmlBlock", h.literal.clone(), none()),
                other => ("Other", format!("{other:?}"), none()),
            }
        };
        let mut children: Vec<Tree> = Vec::new();
        for child in node.children() {
            let child = build(child);
            // Adjacent text nodes are one text to a reader.
            if child.kind == "Text"
                && let Some(last) = children.last_mut()
                && last.kind == "Text"
            {
                last.text.push_str(&child.text);
                continue;
            }
            children.push(child);
        }
        Tree {
            kind,
            text,
            info,
            children,
        }
    }

    fn leaf(kind: &'static str, text: &str) -> Tree {
        Tree {
            kind,
            text: text.to_owned(),
            info: String::new(),
            children: Vec::new(),
        }
    }

    fn node(kind: &'static str, children: Vec<Tree>) -> Tree {
        Tree {
            kind,
            text: String::new(),
            info: String::new(),
            children,
        }
    }

    fn doc(children: Vec<Tree>) -> Tree {
        node("Document", children)
    }

    fn para(children: Vec<Tree>) -> Tree {
        node("Paragraph", children)
    }

    /// A paragraph of one text node, or nothing for an empty text.
    fn text_children(t: &str) -> Vec<Tree> {
        if t.is_empty() {
            Vec::new()
        } else {
            vec![leaf("Text", t)]
        }
    }

    /// What a reader should see of `s` in an inline context.
    fn shown(s: &str) -> String {
        visible(s).0.replace('\n', "⏎")
    }

    /// What a code span or table cell of `s` should hold.
    fn shown_code(s: &str) -> String {
        if s.is_empty() { " ".to_owned() } else { shown(s) }
    }

    /// Reverses the marks of `visible`, `code_span` and `diff_line`, for
    /// inputs that contain no mark-like text of their own.
    fn unmark(s: &str) -> String {
        let s = s
            .strip_suffix("<CRLF>")
            .map_or_else(|| s.to_owned(), |body| format!("{body}\r\n"));
        let s = s
            .replace("<CR>", "\r")
            .replace('⏎', "\n")
            .replace('·', " ")
            .replace('→', "\t");
        let mut out = String::new();
        let mut rest = s.as_str();
        while let Some(at) = rest.find("<U+") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 3..];
            let end = after.find('>').expect("a mark is closed");
            let code = u32::from_str_radix(&after[..end], 16).expect("a mark is hex");
            out.push(char::from_u32(code).expect("a mark is a char"));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn percent_decode(s: &str) -> Vec<u8> {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    // ---- Checks shared by the examples and the properties -----------------

    fn check_code_span(s: &str) {
        let span = code_span(s);
        let want = shown_code(s);
        assert!(!span.contains(['\n', '\r']), "{s:?} -> {span:?}");
        let code = || leaf("Code", &want);
        assert_eq!(
            tree(&format!("x {span} y\n")),
            doc(vec![para(vec![leaf("Text", "x "), code(), leaf("Text", " y")])]),
            "in a paragraph: {s:?} -> {span:?}"
        );
        assert_eq!(
            tree(&format!("{span}\n")),
            doc(vec![para(vec![code()])]),
            "at the start of a line: {s:?} -> {span:?}"
        );
        assert_eq!(
            tree(&format!("- {span}\n")),
            doc(vec![node("List", vec![node("Item", vec![para(vec![code()])])])]),
            "in a list item: {s:?} -> {span:?}"
        );
        assert_eq!(
            tree(&format!("## Release {span}\n")),
            doc(vec![node("Heading", vec![leaf("Text", "Release "), code()])]),
            "in a heading: {s:?} -> {span:?}"
        );
    }

    fn check_table_cell(s: &str) {
        let cell = table_cell(s);
        // The one mark only table cells make: a backslash before a pipe.
        let want = shown_code(s).replace("\\|", "<U+005C>|");
        assert!(!cell.contains(['\n', '\r']), "{s:?} -> {cell:?}");
        let header = || {
            node(
                "TableRow",
                ["a", "b", "c"]
                    .iter()
                    .map(|h| node("TableCell", vec![leaf("Text", h)]))
                    .collect(),
            )
        };
        let row = || node("TableRow", vec![node("TableCell", vec![leaf("Code", &want)]); 3]);
        let table = doc(vec![node("Table", vec![header(), row()])]);
        assert_eq!(
            tree(&format!("| a | b | c |\n|---|---|---|\n| {cell} | {cell} | {cell} |\n")),
            table,
            "with outer pipes: {s:?} -> {cell:?}"
        );
        assert_eq!(
            tree(&format!("a | b | c\n---|---|---\n{cell} | {cell}|{cell}\n")),
            table,
            "without outer pipes: {s:?} -> {cell:?}"
        );
    }

    fn check_text(s: &str) {
        let t = text(s);
        let want = shown(s);
        assert!(!t.contains(['\n', '\r']), "{s:?} -> {t:?}");
        assert_eq!(
            tree(&format!("x {t} y\n")),
            doc(vec![para(vec![leaf("Text", &format!("x {want} y"))])]),
            "in a paragraph: {s:?} -> {t:?}"
        );
        if !want.is_empty() {
            assert_eq!(
                tree(&format!("{t}\n")),
                doc(vec![para(vec![leaf("Text", &want)])]),
                "at the start of a line: {s:?} -> {t:?}"
            );
            assert_eq!(
                tree(&format!("## {t}\n")),
                doc(vec![node("Heading", vec![leaf("Text", &want)])]),
                "in a heading: {s:?} -> {t:?}"
            );
        }
        let cell = || node("TableCell", text_children(&want));
        let header = || node("TableRow", vec![node("TableCell", vec![leaf("Text", "h")]); 2]);
        assert_eq!(
            tree(&format!("| h | h |\n|---|---|\n| {t} | {t} |\n")),
            doc(vec![node(
                "Table",
                vec![header(), node("TableRow", vec![cell(), cell()])]
            )]),
            "in a table: {s:?} -> {t:?}"
        );
    }

    fn check_fenced(s: &str, info: &str, want_info: &str) {
        let block = fenced(s, info);
        let (mut want, _) = visible(s);
        if !want.is_empty() && !want.ends_with('\n') {
            want.push('\n');
        }
        let mut code = leaf("CodeBlock", &want);
        code.info = want_info.to_owned();
        assert!(block.ends_with('\n'), "{s:?} -> {block:?}");
        assert_eq!(
            tree(&format!("before\n\n{block}after\n")),
            doc(vec![
                para(vec![leaf("Text", "before")]),
                code,
                para(vec![leaf("Text", "after")]),
            ]),
            "{s:?} -> {block:?}"
        );
    }

    fn check_diff_lines(lines: &[String]) {
        let shown: Vec<String> = lines.iter().map(|l| diff_line(l)).collect();
        for (line, out) in lines.iter().zip(&shown) {
            assert!(!out.contains(['\r', '\n']), "{line:?} -> {out:?}");
            assert!(!out.ends_with([' ', '\t']), "{line:?} -> {out:?}");
            assert!(
                !out.chars()
                    .any(|c| is_invisible(c) && !matches!(c, '\u{FE0E}' | '\u{FE0F}')),
                "{line:?} -> {out:?}"
            );
        }
        let joined = shown.join("\n");
        check_fenced(&joined, "diff", "diff");
    }

    fn check_link_target(path: &str) {
        let target = link_target(path);
        assert!(
            target
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._~/-%".contains(&b)),
            "{path:?} -> {target:?}"
        );
        assert!(!target.starts_with("//"), "{path:?} -> {target:?}");
        assert_eq!(percent_decode(&target), path.as_bytes());
        let mut link = node("Link", vec![leaf("Text", "x")]);
        link.text = target.clone();
        assert_eq!(
            tree(&format!("[x]({target})\n")),
            doc(vec![para(vec![link])]),
            "{path:?} -> {target:?}"
        );
    }

    fn check_all(s: &str) {
        check_code_span(s);
        check_table_cell(s);
        check_text(s);
        check_fenced(s, "", "");
        check_link_target(s);
    }

    // ---- Examples ---------------------------------------------------------

    #[test]
    fn visible_marks_invisible_and_bidi_characters() {
        for c in [
            '\u{0}',
            '\u{7}',
            '\u{1B}',
            '\r',
            '\u{B}',
            '\u{C}',
            '\u{7F}',
            '\u{85}',
            '\u{9F}',
            '\u{AD}',
            '\u{34F}',
            '\u{61C}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{206F}',
            '\u{FEFF}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{600}',
            '\u{FFF9}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E0100}',
            '\u{FE00}',
            '\u{1D173}',
        ] {
            let want = format!("a<U+{:04X}>b", u32::from(c));
            assert_eq!(visible(&format!("a{c}b")), (want, true), "{c:?}");
        }
        assert_eq!(visible("\u{202E}"), ("<U+202E>".to_owned(), true));
        assert_eq!(visible("\u{E0041}x"), ("<U+E0041>x".to_owned(), true));
    }

    #[test]
    fn visible_keeps_ordinary_text() {
        for s in [
            "",
            "plain text",
            "tab\tand\nnewline",
            "ünïcödé 語 ✅ →·⏎",
            "emoji ⚠️ and ❤︎ and keycap 1️⃣",
            "<U+202E> typed by hand",
        ] {
            assert_eq!(visible(s), (s.to_owned(), false), "{s:?}");
        }
    }

    #[test]
    fn visible_marks_selectors_that_carry_no_emoji() {
        // At the start, after whitespace, and in runs (data smuggling).
        assert_eq!(visible("\u{FE0F}a").0, "<U+FE0F>a");
        assert_eq!(visible("a \u{FE0F}").0, "a <U+FE0F>");
        assert_eq!(visible("a\u{FE0F}\u{FE0F}").0, "a\u{FE0F}<U+FE0F>");
        assert_eq!(visible("a\u{FE0E}\u{FE01}").0, "a\u{FE0E}<U+FE01>");
        assert_eq!(visible("a\u{200D}\u{FE0F}").0, "a<U+200D><U+FE0F>");
    }

    #[test]
    fn code_span_examples() {
        assert_eq!(code_span("abc"), "`abc`");
        assert_eq!(code_span(""), "` `");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`"), "`` ` ``");
        assert_eq!(code_span("``x"), "``` ``x ```");
        assert_eq!(code_span(" a"), "`  a `");
        assert_eq!(code_span("  "), "`  `");
        assert_eq!(code_span("a\nb"), "`a⏎b`");
        assert_eq!(code_span("a\u{202E}b"), "`a<U+202E>b`");
        for s in [
            "",
            " ",
            "  ",
            "`",
            "``",
            " ` ",
            "a ",
            " a",
            "\t",
            "a`b``c```d",
            "\\",
            "x\\",
        ] {
            check_code_span(s);
        }
    }

    #[test]
    fn table_cell_examples() {
        assert_eq!(table_cell("a|b"), "`a\\|b`");
        assert_eq!(table_cell("a\\|b"), "`a<U+005C>\\|b`");
        assert_eq!(table_cell("a\\\\|b"), "`a\\<U+005C>\\|b`");
        assert_eq!(table_cell("a\nb\r"), "`a⏎b<U+000D>`");
        for s in ["|", "||", "\\|", "\\\\|", "|\\", "`|`", "a\\", "\\", "| x |\n|---|"] {
            check_table_cell(s);
        }
    }

    #[test]
    fn fenced_examples() {
        assert_eq!(fenced("fn main() {}", "rust"), "```rust\nfn main() {}\n```\n");
        assert_eq!(fenced("", "rust"), "```rust\n```\n");
        assert_eq!(fenced("a\n", "x"), "```x\na\n```\n");
        assert_eq!(fenced("```\n", ""), "````\n```\n````\n");
        assert_eq!(fenced("x ````` y\n", ""), "```\nx ````` y\n```\n");
        assert_eq!(fenced("   ````\n", ""), "`````\n   ````\n`````\n");
        for (info, kept) in [
            ("rust", "rust"),
            ("c++", "c++"),
            ("x_y-1", "x_y-1"),
            ("rust`", ""),
            ("a b", ""),
            ("x<script>", ""),
            ("{.rust}", ""),
            ("räst", ""),
        ] {
            check_fenced("let x = 1;", info, kept);
        }
        check_fenced("", "", "");
        check_fenced("\n\n", "", "");
        check_fenced("no newline at the end", "", "");
        check_fenced("a\r\nb\rc", "", "");
    }

    #[test]
    fn text_examples() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("a*b_c"), "a\\*b\\_c");
        assert_eq!(text("&#x202E;"), "\\&\\#x202E\\;");
        assert_eq!(text("  x "), "&#32;&#32;x&#32;");
        assert_eq!(text("\tx"), "&#9;x");
        assert_eq!(text("  "), "&#32;&#32;");
        assert_eq!(text("a\u{202E}"), "a\\<U\\+202E\\>");
        for s in [
            "",
            " ",
            "    indented",
            "trailing  ",
            "1. not a list",
            "- not a list",
            "+ not a list",
            "* not a list",
            "> not a quote",
            "===",
            "---",
            "***",
            "[^1]",
            "- [ ] not a task",
            "$x$ and $`y`$",
            "~~struck~~ ~one~",
            "<!-- comment -->",
            "a\\",
            "\\",
            "\\*",
        ] {
            check_text(s);
        }
    }

    #[test]
    fn diff_line_examples() {
        assert_eq!(diff_line("plain\n"), "plain");
        assert_eq!(diff_line("plain"), "plain");
        assert_eq!(diff_line("x  \n"), "x··");
        assert_eq!(diff_line("x\t\n"), "x→");
        assert_eq!(diff_line("x \t \n"), "x·→·");
        assert_eq!(diff_line("x\r\n"), "x<CRLF>");
        assert_eq!(diff_line("x \r\n"), "x·<CRLF>");
        assert_eq!(diff_line("a\rb\n"), "a<CR>b");
        assert_eq!(diff_line("last\r"), "last<CR>");
        assert_eq!(diff_line("a \rb"), "a <CR>b");
        assert_eq!(diff_line("x\u{A0}\n"), "x<U+00A0>");
        assert_eq!(diff_line("   \n"), "···");
        assert_eq!(diff_line("+a\u{202E}b \n"), "+a<U+202E>b·");
        assert_eq!(diff_line("a\nb"), "a⏎b");
        assert_eq!(diff_line("\r\n"), "<CRLF>");
        let lines: Vec<String> = "-old  \r\n+new\t\n ctx\r\n+```\n+~~~\n+````` \n"
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect();
        check_diff_lines(&lines);
    }

    #[test]
    fn link_target_examples() {
        assert_eq!(link_target("crates/3/s/syn/2.0.1.md"), "crates/3/s/syn/2.0.1.md");
        assert_eq!(link_target("a b/ä.rs"), "a%20b/%C3%A4.rs");
        assert_eq!(link_target("javascript:alert(1)"), "javascript%3Aalert%281%29");
        assert_eq!(link_target("//evil.example/x"), "/%2Fevil.example/x");
        assert_eq!(link_target("/ok/x"), "/ok/x");
        assert_eq!(link_target("a\\b"), "a%5Cb");
        assert_eq!(link_target("50%"), "50%25");
        // BAD-INPUTS 39: case-only differences stay distinct targets.
        assert_ne!(link_target("x/1.0.0-Alpha.md"), link_target("x/1.0.0-alpha.md"));
        for p in ["", "/", "//", "///x", "a)b", "a>b", "<a>", "a b", "\u{202E}", "a\nb"] {
            check_link_target(p);
        }
    }

    // BAD-INPUTS 35: fences in content stay inside their block.
    #[test]
    fn fences_inside_content_stay_inside() {
        let hostile = "```\nnot code\n````\n~~~\n``` rust\n  ```\n\t````\n~~~~~\n";
        check_fenced(hostile, "rust", "rust");
        for s in ["```", "````", "~~~", "```\n# Facts\n```"] {
            check_all(s);
        }
    }

    // BAD-INPUTS 36: HTML, links and entities are rendered inert.
    #[test]
    fn html_links_and_entities_are_inert() {
        for s in [
            "<img src=x onerror=alert(1)>",
            "<details><summary>open me</summary>hidden</details>",
            "<details>",
            "<script>alert(1)</script>",
            "javascript:alert(1)",
            "[x](javascript:alert(1))",
            "![x](https://example.com/t.png)",
            "<https://example.com>",
            "<a@b.example>",
            "https://example.com/a",
            "http://x.y",
            "www.example.com",
            "user@example.com",
            "mailto:user@example.com",
            "xmpp:user@example.com/r",
            "<div dir=rtl>",
            "<p dir=\"rtl\">x</p>",
            "&#x202E;",
            "&amp;&lt;&#60;",
            "[x]: https://example.com",
            "[x][y]\n\n[y]: https://example.com",
            "<!-- hidden -->",
        ] {
            check_all(s);
            check_fenced(s, "html", "html");
        }
    }

    // BAD-INPUTS 37: crate text imitating our verdicts stays in code or text.
    #[test]
    fn imitated_verdicts_stay_inert() {
        for s in [
            "✅ matches upstream",
            "# Facts",
            "**Signals**: none",
            "> [!NOTE]\n> reviewed",
            "| file | verdict |\n|---|---|\n| all | ✅ |",
            "\n\n# Facts\n",
        ] {
            check_all(s);
            check_fenced(s, "", "");
        }
    }

    // BAD-INPUTS 18: hostile file names keep a table row intact.
    #[test]
    fn hostile_names_keep_table_rows_intact() {
        for s in [
            "a|b",
            "a\nb",
            "a\r\nb",
            "a\0b",
            "`a`",
            "``",
            "a\\|b",
            "a`|`b",
            "| x | y |",
            "\u{FFFD}not utf-8",
            "-|-",
        ] {
            check_table_cell(s);
            check_text(s);
        }
    }

    // BAD-INPUTS 20: bidi and zero-width characters become visible marks.
    #[test]
    fn bidi_and_zero_width_become_marks() {
        let trojan = "if access_level != \"user\u{202E} \u{2066}// Check if admin\u{2069} \u{2066}\"";
        let (shown, flagged) = visible(trojan);
        assert!(flagged);
        assert!(shown.contains("<U+202E>") && shown.contains("<U+2066>") && shown.contains("<U+2069>"));
        assert!(code_span(trojan).contains("<U+202E>"));
        assert!(table_cell(".g\u{200C}it").contains(".g<U+200C>it"));
        assert!(fenced(trojan, "rust").contains("<U+2066>"));
        assert!(text("a\u{200B}b").contains("a\\<U\\+200B\\>b"));
        assert!(diff_line("+x\u{FEFF}\n").contains("<U+FEFF>"));
        check_all(trojan);
    }

    // ---- Properties -------------------------------------------------------

    /// Pieces that mean something to Markdown, GFM, HTML or a terminal.
    const HOSTILE: &[&str] = &[
        "`",
        "``",
        "```",
        "````",
        "~~~",
        "|",
        "\\",
        "\\|",
        "<",
        ">",
        "&",
        "#",
        "*",
        "**",
        "_",
        "[",
        "]",
        "(",
        ")",
        "!",
        ":",
        "/",
        ".",
        "@",
        "~",
        "-",
        "=",
        "+",
        "$",
        "^",
        "{",
        "}",
        "\"",
        "'",
        ";",
        "%",
        "?",
        ",",
        " ",
        "  ",
        "\t",
        "\n",
        "\r",
        "\r\n",
        "a",
        "x",
        "1",
        "é",
        "語",
        "✅",
        "⚠\u{FE0F}",
        "http://",
        "https://x.y/",
        "www.",
        "example.com",
        "mailto:",
        "user@example.com",
        "javascript:alert(1)",
        "<img src=x onerror=alert(1)>",
        "<details>",
        "</details>",
        "<div dir=rtl>",
        "&#x202E;",
        "&amp;",
        "&lt;",
        "[x](y)",
        "![i](j)",
        "[^1]",
        "- [ ] ",
        "1. ",
        "# ",
        "> ",
        "    ",
        "---",
        "===",
        "|---|",
        "$x$",
        "<!--",
        "-->",
        "<script>",
        "[!NOTE]",
        "\u{202E}",
        "\u{2066}",
        "\u{200B}",
        "\u{200D}",
        "\u{FEFF}",
        "\u{AD}",
        "\u{0}",
        "\u{7}",
        "\u{1B}",
        "\u{85}",
        "\u{2028}",
        "\u{FE0F}",
        "\u{E0041}",
        "\u{A0}",
    ];

    /// Text that looks like our own marks: fine to render, but it makes
    /// `unmark` ambiguous, so the round-trip properties leave it out.
    const MARK_LIKE: &[&str] = &["<U+", "<U+202E>", "⏎", "·", "→", "<CR>", "<CRLF>"];

    fn hostile_text(with_marks: bool) -> impl Strategy<Value = String> {
        let mut pieces: Vec<&'static str> = HOSTILE.to_vec();
        if with_marks {
            pieces.extend_from_slice(MARK_LIKE);
        }
        let piece = prop_oneof![
            4 => prop::sample::select(pieces).prop_map(str::to_owned),
            1 => any::<char>()
                .prop_filter("not a mark character", |c| !matches!(c, '⏎' | '·' | '→'))
                .prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn code_spans_hold_any_text(s in hostile_text(true)) {
            check_code_span(&s);
        }

        #[test]
        fn table_cells_hold_any_text(s in hostile_text(true)) {
            check_table_cell(&s);
        }

        #[test]
        fn text_stays_text(s in hostile_text(true)) {
            check_text(&s);
        }

        #[test]
        fn fenced_blocks_hold_any_text(s in hostile_text(true), info in "[a-z+`~ {}.-]{0,6}") {
            let kept = if info.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b)) {
                info.clone()
            } else {
                String::new()
            };
            check_fenced(&s, &info, &kept);
        }

        #[test]
        fn diff_lines_stay_lines(lines in prop::collection::vec(hostile_text(true), 0..8)) {
            let lines: Vec<String> = lines.iter().map(|l| format!("{l}\n")).collect();
            let text = lines.concat();
            let inclusive: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
            check_diff_lines(&inclusive);
        }

        #[test]
        fn link_targets_are_relative_and_lossless(s in hostile_text(true)) {
            check_link_target(&s);
        }

        #[test]
        fn visible_only_adds_marks(s in hostile_text(false)) {
            prop_assume!(!s.contains("<U+") && !s.contains("<CR"));
            let (shown, flagged) = visible(&s);
            prop_assert_eq!(flagged, shown != s);
            prop_assert_eq!(unmark(&shown), s.clone());
            // Nothing invisible is left: a second pass finds nothing to mark.
            prop_assert_eq!(visible(&shown), (shown.clone(), false));
        }

        #[test]
        fn diff_line_only_adds_marks(s in hostile_text(false)) {
            prop_assume!(!s.contains("<U+") && !s.contains("<CR"));
            let want = if s.ends_with("\r\n") {
                s.clone()
            } else {
                s.strip_suffix('\n').unwrap_or(&s).to_owned()
            };
            prop_assert_eq!(unmark(&diff_line(&s)), want);
        }

        #[test]
        fn code_spans_only_add_marks(s in hostile_text(false)) {
            prop_assume!(!s.contains("<U+") && !s.contains("<CR") && !s.is_empty());
            let span = code_span(&s);
            let literal = match tree(&format!("{span}\n")).children.as_slice() {
                [p] => p.children.first().map(|c| c.text.clone()).unwrap_or_default(),
                _ => String::new(),
            };
            prop_assert_eq!(unmark(&literal), s.clone());
        }
    }
}
