//! The token scanner: code facts read from a flat run of tokens, for code
//! syn did not parse (a whole file it rejects, stretches it could not
//! recover, macro bodies that are not Rust).
//!
//! Owns: spotting, by local token patterns, what the syn visitor finds by
//! structure: `unsafe` (blocks, fns, impls, traits, and the bare keyword),
//! `extern` blocks and their items, attributes (`link`, `no_mangle`,
//! `export_name`, `link_section`, `unsafe(..)`, `ctor`, proc-macro entry
//! points, `cfg(test)`, `test`, `path`), known macros (`env!`,
//! `include_bytes!`, `asm!`, ...), calls resolved through the file's `use`
//! declarations, out-of-line modules, and environment-gated functions.
//!
//! Must not: fail, loop without progress, or index out of bounds on any
//! token sequence, balanced or not. It errs towards reporting: an `unsafe`
//! keyword it cannot place is still an `unsafe` finding.

use super::lexer::{Kind, Tok};
use super::patterns::{KnownMacro, UseMap, classify_path, known_macro};
use super::{CallSite, FactKind, FnFacts, ModDecl, Sink, record_call};

/// Where the tokens come from and what they belong to.
pub(crate) struct ScanCtx<'a, 'b> {
    pub src: &'a str,
    pub uses: &'b UseMap,
    pub sink: &'b mut Sink<'a>,
    pub fns: &'b mut Vec<FnFacts>,
    /// The function the tokens sit in, when the caller knows (a macro body
    /// inside a parsed function); else functions are found in the tokens.
    pub outer_fn: Option<usize>,
    /// The tokens are test code.
    pub in_test: bool,
    /// The tokens are a whole file: also read test regions and out-of-line
    /// module declarations.
    pub whole_file: bool,
}

use super::INIT_SECTIONS;

/// For each token, the index of the token that closes the group it opens
/// (the last index when never closed); its own index for other tokens.
fn pairs(toks: &[Tok]) -> Vec<u32> {
    let mut out: Vec<u32> = (0..toks.len() as u32).collect();
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            Kind::Open(_) => open.push(i),
            Kind::Close(_) => {
                if let Some(o) = open.pop() {
                    out[o] = i as u32;
                }
            }
            _ => {}
        }
    }
    let last = toks.len().saturating_sub(1) as u32;
    for o in open {
        out[o] = last;
    }
    out
}

/// A string literal's text without its quotes (and raw/byte prefixes).
pub(crate) fn literal_text(raw: &str) -> String {
    let s = raw.trim_start_matches(['b', 'c', 'r']).trim_matches('#');
    let s = s.strip_prefix('"').unwrap_or(s);
    let s = s.strip_suffix('"').unwrap_or(s);
    s.chars().take(120).collect()
}

struct Attr {
    test: bool,
    path: Option<String>,
}

struct Scanner<'a, 'b, 'c> {
    toks: &'c [Tok],
    /// See [`pairs`].
    pairs: Vec<u32>,
    cx: &'c mut ScanCtx<'a, 'b>,
    /// Functions whose body is open: (fn index, depth of its body).
    fn_stack: Vec<(usize, u32)>,
    /// The unit for code outside any function.
    module_fn: Option<usize>,
    /// Test items whose body is open: depth of the body, start offset.
    test_stack: Vec<(u32, usize)>,
    depth: u32,
    /// Tokens before this index are in a condition.
    cond_end: usize,
}

/// Scans `toks`.
pub(crate) fn scan(toks: &[Tok], cx: &mut ScanCtx<'_, '_>) {
    let mut s = Scanner {
        toks,
        pairs: pairs(toks),
        cx,
        fn_stack: Vec::new(),
        module_fn: None,
        test_stack: Vec::new(),
        depth: 0,
        cond_end: 0,
    };
    s.run();
}

impl Scanner<'_, '_, '_> {
    /// The index closing the group opened at `i` (see [`pairs`]).
    fn close_of(&self, i: usize) -> usize {
        self.pairs
            .get(i)
            .map_or(self.toks.len().saturating_sub(1), |&p| p as usize)
    }

    /// The first string literal among the first few tokens of `from..to`,
    /// outside nested groups, as written without quotes.
    fn first_str(&self, from: usize, to: usize) -> Option<String> {
        let mut k = from;
        let mut seen = 0;
        while k < to.min(self.toks.len()) && seen < 8 {
            match self.toks[k].kind {
                Kind::Str => return Some(literal_text(self.text(k))),
                Kind::Open(_) => k = self.close_of(k) + 1,
                _ => k += 1,
            }
            seen += 1;
        }
        None
    }

    fn src(&self) -> &str {
        self.cx.src
    }

    fn text(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| t.text(self.cx.src))
    }

    fn kind(&self, i: usize) -> Option<Kind> {
        self.toks.get(i).map(|t| t.kind)
    }

    fn is(&self, i: usize, word: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_ident(self.cx.src, word))
    }

    fn offset(&self, i: usize) -> usize {
        self.toks.get(i).map_or(self.cx.src.len(), |t| t.start as usize)
    }

    fn in_test(&self) -> bool {
        self.cx.in_test || !self.test_stack.is_empty()
    }

    fn push(&mut self, kind: FactKind, i: usize, detail: &str) {
        let off = self.offset(i);
        let in_test = self.in_test();
        self.cx.sink.push(kind, off, detail, in_test, true);
    }

    /// The function the token at hand belongs to.
    fn current_fn(&mut self) -> usize {
        if let Some(&(f, _)) = self.fn_stack.last() {
            return f;
        }
        if let Some(f) = self.cx.outer_fn {
            return f;
        }
        if let Some(f) = self.module_fn {
            return f;
        }
        self.cx.fns.push(FnFacts {
            in_test: self.cx.in_test,
            ..FnFacts::default()
        });
        let f = self.cx.fns.len() - 1;
        self.module_fn = Some(f);
        f
    }

    fn run(&mut self) {
        let mut pending_fn: Option<(usize, u32)> = None;
        let mut pending_test: Option<(u32, usize)> = None;
        let mut pending_path: Option<String> = None;
        let mut i = 0;
        while i < self.toks.len() {
            let t = self.toks[i];
            match t.kind {
                Kind::Open(c) => {
                    if c == '{' {
                        if let Some((f, d)) = pending_fn
                            && d == self.depth
                        {
                            self.fn_stack.push((f, self.depth + 1));
                            pending_fn = None;
                        }
                        if let Some((d, start)) = pending_test
                            && d == self.depth
                        {
                            self.test_stack.push((self.depth + 1, start));
                            pending_test = None;
                        }
                    }
                    self.depth += 1;
                    i += 1;
                    continue;
                }
                Kind::Close(_) => {
                    if self.fn_stack.last().is_some_and(|&(_, d)| d == self.depth) {
                        self.fn_stack.pop();
                    }
                    if let Some(&(d, start)) = self.test_stack.last()
                        && d == self.depth
                    {
                        self.test_stack.pop();
                        self.cx.sink.test_ranges.push((start, t.end as usize));
                    }
                    self.depth = self.depth.saturating_sub(1);
                    i += 1;
                    continue;
                }
                Kind::Punct(';') => {
                    if pending_fn.is_some_and(|(_, d)| d == self.depth) {
                        pending_fn = None;
                    }
                    if pending_test.is_some_and(|(d, _)| d == self.depth) {
                        pending_test = None;
                    }
                    i += 1;
                    continue;
                }
                Kind::Punct('#') => {
                    let mut j = i + 1;
                    if self.kind(j) == Some(Kind::Punct('!')) {
                        j += 1;
                    }
                    if self.kind(j) == Some(Kind::Open('[')) {
                        let end = self.close_of(j);
                        let attr = self.attribute(j + 1, end, end + 1);
                        if attr.test && pending_test.is_none() {
                            pending_test = Some((self.depth, t.start as usize));
                        }
                        if attr.path.is_some() {
                            pending_path = attr.path;
                        }
                        i = end + 1;
                        continue;
                    }
                    i += 1;
                    continue;
                }
                Kind::Str => {
                    if t.text(self.cx.src).contains("OUT_DIR") {
                        let f = self.current_fn();
                        self.cx.fns[f].mentions_out_dir = true;
                    }
                    i += 1;
                    continue;
                }
                Kind::Ident => {}
                // A leading `::` starts a path; one after a name is mid-path.
                Kind::PathSep if i == 0 || self.kind(i - 1) != Some(Kind::Ident) => {}
                _ => {
                    i += 1;
                    continue;
                }
            }
            let word = self.text(i).to_owned();
            match word.as_str() {
                "use" => {
                    // Imports were read by the use map; skip to the `;`.
                    let mut j = i + 1;
                    while j < self.toks.len()
                        && self.kind(j) != Some(Kind::Punct(';'))
                        && !matches!(self.kind(j), Some(Kind::Close(_)))
                    {
                        if let Some(Kind::Open(_)) = self.kind(j) {
                            j = self.close_of(j);
                        }
                        j += 1;
                    }
                    i = j;
                    continue;
                }
                "fn" if self.kind(i + 1) == Some(Kind::Ident) => {
                    let name = self.text(i + 1).trim_start_matches("r#").to_owned();
                    let in_test = self.in_test() || pending_test.is_some();
                    self.cx.fns.push(FnFacts {
                        name,
                        offset: t.start as usize,
                        in_test,
                        ..FnFacts::default()
                    });
                    pending_fn = Some((self.cx.fns.len() - 1, self.depth));
                    i += 2;
                    continue;
                }
                "mod" if self.kind(i + 1) == Some(Kind::Ident) && self.kind(i + 2) == Some(Kind::Punct(';')) => {
                    if self.cx.whole_file {
                        let test = self.in_test() || pending_test.is_some();
                        self.cx.sink.mods.push(ModDecl {
                            name: self.text(i + 1).trim_start_matches("r#").to_owned(),
                            path: pending_path.take(),
                            inline: Vec::new(),
                            test,
                        });
                    }
                    i += 3;
                    continue;
                }
                "unsafe" => {
                    self.unsafe_kw(i);
                    i += 1;
                    continue;
                }
                "extern" => {
                    i = self.extern_kw(i);
                    continue;
                }
                "if" | "while" | "match" => {
                    self.condition(i);
                    i += 1;
                    continue;
                }
                _ => {}
            }
            i = self.path(i);
        }
        // Groups never closed: what is open runs to the end.
        let end = self.cx.src.len();
        while let Some((_, start)) = self.test_stack.pop() {
            self.cx.sink.test_ranges.push((start, end));
        }
    }

    /// Marks the condition after `if`/`while`/`match` at `i`: up to the
    /// first `{` outside parentheses and brackets.
    fn condition(&mut self, i: usize) {
        let mut j = i + 1;
        let mut steps = 0;
        while j < self.toks.len() && steps < 256 {
            match self.toks[j].kind {
                Kind::Open('{') | Kind::Close(_) | Kind::Punct(';') => break,
                Kind::Open(_) => j = self.close_of(j) + 1,
                _ => j += 1,
            }
            steps += 1;
        }
        self.cond_end = self.cond_end.max(j);
    }

    fn unsafe_kw(&mut self, i: usize) {
        match self.kind(i + 1) {
            Some(Kind::Open('{')) => self.push(FactKind::UnsafeBlock, i, "block"),
            Some(Kind::Ident) => {
                let mut j = i + 1;
                if self.is(j, "extern") {
                    j += 1;
                    if self.kind(j) == Some(Kind::Str) {
                        j += 1;
                    }
                    if self.kind(j) == Some(Kind::Open('{')) {
                        // `unsafe extern` block: the `extern` arm reports it.
                        return;
                    }
                }
                match self.text(j) {
                    "fn" => {
                        let name = self.text(j + 1).to_owned();
                        self.push(FactKind::UnsafeFn, i, &name);
                    }
                    "impl" => {
                        let name = self.impl_trait(j + 1);
                        self.push(FactKind::UnsafeImpl, i, &name);
                    }
                    "trait" => {
                        let name = self.text(j + 1).to_owned();
                        self.push(FactKind::UnsafeTrait, i, &name);
                    }
                    "auto" => {
                        let name = self.text(j + 2).to_owned();
                        self.push(FactKind::UnsafeTrait, i, &name);
                    }
                    _ => self.push(FactKind::UnsafeBlock, i, "keyword"),
                }
            }
            // `#[unsafe(..)]` is read with the attribute.
            Some(Kind::Open('(')) => {}
            _ => self.push(FactKind::UnsafeBlock, i, "keyword"),
        }
    }

    /// The trait of `impl<..> Trait for Type`: the identifier before `for`.
    fn impl_trait(&self, from: usize) -> String {
        let mut prev = String::new();
        for j in from..(from + 64).min(self.toks.len()) {
            if self.is(j, "for") {
                return prev;
            }
            match self.kind(j) {
                Some(Kind::Ident) => prev = self.text(j).to_owned(),
                Some(Kind::Open('{') | Kind::Punct(';')) => break,
                _ => {}
            }
        }
        String::new()
    }

    /// `extern` at `i`; returns where to continue.
    fn extern_kw(&mut self, i: usize) -> usize {
        let mut j = i + 1;
        let abi = if self.kind(j) == Some(Kind::Str) {
            j += 1;
            format!("extern {}", self.text(j - 1))
        } else {
            "extern".to_owned()
        };
        if self.kind(j) != Some(Kind::Open('{')) {
            return i + 1;
        }
        self.push(FactKind::ExternBlock, i, &abi);
        let end = self.close_of(j);
        let mut k = j + 1;
        while k < end {
            match self.kind(k) {
                // Nested groups are skipped: items sit at the block's top level.
                Some(Kind::Open(_)) => k = self.close_of(k),
                Some(Kind::Ident) if self.is(k, "fn") || self.is(k, "static") => {
                    let mut n = k + 1;
                    if self.is(n, "mut") {
                        n += 1;
                    }
                    let name = self.text(n).to_owned();
                    self.push(FactKind::ForeignItem, k, &name);
                }
                _ => {}
            }
            k += 1;
        }
        // Attributes inside (`#[link_name]`) do not matter; continue after
        // the opening brace so depth tracking stays right.
        j
    }

    /// The name of the item after an attribute ending before `from`.
    fn item_name(&self, from: usize) -> String {
        let mut j = from;
        let stop = (from + 48).min(self.toks.len());
        while j < stop {
            match self.kind(j) {
                Some(Kind::Punct('#')) => {
                    let open = if self.kind(j + 1) == Some(Kind::Open('[')) {
                        j + 1
                    } else {
                        j + 2
                    };
                    j = self.close_of(open) + 1;
                    continue;
                }
                Some(Kind::Ident) => {
                    let w = self.text(j);
                    if matches!(
                        w,
                        "fn" | "static" | "struct" | "enum" | "mod" | "const" | "trait" | "type"
                    ) {
                        let mut n = j + 1;
                        if self.is(n, "mut") {
                            n += 1;
                        }
                        return self.text(n).to_owned();
                    }
                }
                Some(Kind::Open(_) | Kind::Punct(';')) => break,
                _ => {}
            }
            j += 1;
        }
        String::new()
    }

    /// The attribute whose content is `from..to`; `next` is the first
    /// token after it.
    fn attribute(&mut self, from: usize, to: usize, next: usize) -> Attr {
        let mut attr = Attr {
            test: false,
            path: None,
        };
        let mut from = from;
        let mut to = to;
        if self.is(from, "unsafe") && self.kind(from + 1) == Some(Kind::Open('(')) {
            let inner = self.text(from + 2).to_owned();
            self.push(FactKind::UnsafeAttribute, from, &inner);
            to = self.close_of(from + 1).min(to);
            from += 2;
        }
        // The attribute's path: `a::b::c`.
        let mut segs = Vec::new();
        let mut j = from;
        while j < to && self.kind(j) == Some(Kind::Ident) {
            segs.push(self.text(j).to_owned());
            if self.kind(j + 1) == Some(Kind::PathSep) {
                j += 2;
            } else {
                j += 1;
                break;
            }
        }
        let Some(last) = segs.last().cloned() else { return attr };
        let value = || self.first_str(j, to);
        match (segs.len(), last.as_str()) {
            (1, "cfg") => {
                attr.test = self.cfg_has_test(j, to);
            }
            (_, "test" | "bench") => attr.test = true,
            (1, "path") => attr.path = value(),
            (1, "link") => {
                let args = self.src().get(self.offset(j)..self.offset(to)).unwrap_or("").to_owned();
                let args = args.trim_start_matches('(').trim_end_matches(')').to_owned();
                self.push(FactKind::Link, from, &args);
            }
            (1, "no_mangle") => {
                let name = self.item_name(next);
                self.push(FactKind::NoMangle, from, &name);
            }
            (1, "export_name") => {
                let v = value().unwrap_or_default();
                self.push(FactKind::ExportName, from, &v);
            }
            (1, "link_section") => {
                let v = value().unwrap_or_default();
                self.push(FactKind::LinkSection, from, &v);
                if INIT_SECTIONS.iter().any(|s| v.starts_with(s)) {
                    self.push(FactKind::Ctor, from, &format!("link_section {v}"));
                }
            }
            (_, "ctor" | "dtor") => self.push(FactKind::Ctor, from, &format!("#[{last}]")),
            (1, "proc_macro" | "proc_macro_derive" | "proc_macro_attribute") => {
                let name = self.item_name(next);
                self.push(FactKind::ProcMacroEntry, from, &format!("{last} {name}"));
            }
            _ => {}
        }
        attr
    }

    /// Whether `cfg(..)` (content `from..to`) names `test` outside `not(..)`.
    fn cfg_has_test(&self, from: usize, to: usize) -> bool {
        let mut not_until = 0usize;
        for j in from..to {
            if self.is(j, "not") && self.kind(j + 1) == Some(Kind::Open('(')) {
                not_until = not_until.max(self.close_of(j + 1));
            }
            if j > not_until && self.is(j, "test") {
                return true;
            }
        }
        false
    }

    /// A path starting at `i` (an identifier, or `::`); returns where to
    /// continue.
    fn path(&mut self, i: usize) -> usize {
        // Mid-path or method position: only the name matters.
        let prev = i.checked_sub(1).and_then(|p| self.kind(p));
        if prev == Some(Kind::Punct('.')) {
            if self.kind(i + 1) == Some(Kind::Open('(')) {
                let name = self.text(i).to_owned();
                self.note_call(i, name);
            }
            return i + 1;
        }
        let mut segs = Vec::new();
        let mut j = i;
        if self.kind(j) == Some(Kind::PathSep) {
            j += 1;
        }
        while self.kind(j) == Some(Kind::Ident) {
            segs.push(self.text(j).to_owned());
            if self.kind(j + 1) == Some(Kind::PathSep) && self.kind(j + 2) == Some(Kind::Ident) {
                j += 2;
            } else {
                j += 1;
                break;
            }
        }
        if segs.is_empty() {
            return i + 1;
        }
        let definition = i.checked_sub(1).is_some_and(|p| {
            matches!(
                self.text(p),
                "fn" | "struct" | "enum" | "union" | "trait" | "type" | "mod" | "macro_rules"
            )
        });
        if self.kind(j) == Some(Kind::Punct('!')) && matches!(self.kind(j + 1), Some(Kind::Open(_))) {
            self.macro_call(i, &segs, j + 1);
            // The body is scanned like any other tokens.
            return j + 1;
        }
        if self.kind(j) == Some(Kind::Open('(')) && !definition {
            if segs.len() == 1 {
                let name = segs[0].clone();
                self.note_call(i, name);
            }
            if let Some((kind, resolved)) = classify_path(self.cx.uses, &segs) {
                let arg = (self.kind(j + 1) == Some(Kind::Str)).then(|| literal_text(self.text(j + 1)));
                self.call_fact(i, kind, &resolved, arg);
            }
        }
        j
    }

    fn note_call(&mut self, i: usize, name: String) {
        let f = self.current_fn();
        if i < self.cond_end {
            self.cx.fns[f].cond_calls.insert(name.clone());
        }
        self.cx.fns[f].calls.insert(name);
    }

    fn call_fact(&mut self, i: usize, kind: FactKind, resolved: &str, arg: Option<String>) {
        let f = self.current_fn();
        let at = CallSite {
            offset: self.offset(i),
            in_cond: i < self.cond_end,
            in_test: self.in_test(),
            token_level: true,
        };
        record_call(self.cx.sink, &mut self.cx.fns[f], kind, resolved, arg.as_deref(), at);
    }

    fn macro_call(&mut self, i: usize, segs: &[String], open: usize) {
        let Some(m) = known_macro(segs) else { return };
        let name = segs.last().cloned().unwrap_or_default();
        let close = self.close_of(open);
        let arg = self.first_str(open + 1, close);
        match m {
            KnownMacro::Env => self.call_fact(i, FactKind::EnvRead, &format!("{name}!"), arg),
            KnownMacro::Include => {
                let detail = match &arg {
                    Some(a) => {
                        self.cx.sink.includes.insert(a.clone());
                        format!("{name}!(\"{a}\")")
                    }
                    None => {
                        let inner = self
                            .src()
                            .get(self.offset(open)..self.offset(close))
                            .unwrap_or("")
                            .to_owned();
                        format!("{name}!{inner})")
                    }
                };
                self.push(FactKind::Include, i, &detail);
            }
            KnownMacro::Asm => self.push(FactKind::Asm, i, &format!("{name}!")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::super::text::Lines;
    use super::super::{Finding, finish_fns};
    use super::*;

    pub(crate) fn scan_src(src: &str) -> (Vec<Finding>, Vec<ModDecl>) {
        let lx = lex(src);
        let lines = Lines::new(src);
        let uses = UseMap::from_tokens(&lx.toks, src);
        let mut sink = Sink::new(src, &lines);
        let mut fns = Vec::new();
        let mut cx = ScanCtx {
            src,
            uses: &uses,
            sink: &mut sink,
            fns: &mut fns,
            outer_fn: None,
            in_test: false,
            whole_file: true,
        };
        scan(&lx.toks, &mut cx);
        finish_fns(&fns, &mut sink, true);
        let (_, findings, mods, _) = sink.finish();
        (findings, mods)
    }

    fn has(f: &[Finding], kind: FactKind, detail: &str) -> bool {
        f.iter().any(|x| x.kind == kind && x.detail.contains(detail))
    }

    #[test]
    fn unsafe_forms() {
        let (f, _) = scan_src(
            "unsafe fn a() {} unsafe impl Send for X {} unsafe trait T {} fn b() { unsafe { x() } }\nmacro_rules! m { ($b:block) => { unsafe $b } }",
        );
        assert!(has(&f, FactKind::UnsafeFn, "a"));
        assert!(has(&f, FactKind::UnsafeImpl, "Send"));
        assert!(has(&f, FactKind::UnsafeTrait, "T"));
        assert!(has(&f, FactKind::UnsafeBlock, "block"));
        assert!(has(&f, FactKind::UnsafeBlock, "keyword"));
    }

    #[test]
    fn ffi_and_attributes() {
        let src = r#"
#[link(name = "evil", kind = "static")]
unsafe extern "C" { fn evil(x: i32) -> i32; static mut E: u8; }
#[no_mangle] pub extern "C" fn exported() {}
#[unsafe(export_name = "other")] fn f() {}
#[link_section = ".init_array"] static INIT: extern "C" fn() = f;
#[ctor::ctor] fn early() {}
#[proc_macro_derive(Thing)] pub fn derive(i: TokenStream) -> TokenStream { i }
fn g() { unsafe { core::arch::asm!("nop") } }
"#;
        let (f, _) = scan_src(src);
        assert!(has(&f, FactKind::Link, "name = \"evil\""));
        assert!(has(&f, FactKind::ExternBlock, "extern \"C\""));
        assert!(has(&f, FactKind::ForeignItem, "evil"));
        assert!(has(&f, FactKind::ForeignItem, "E"));
        assert!(has(&f, FactKind::NoMangle, "exported"));
        assert!(has(&f, FactKind::UnsafeAttribute, "export_name"));
        assert!(has(&f, FactKind::ExportName, "other"));
        assert!(has(&f, FactKind::LinkSection, ".init_array"));
        assert!(has(&f, FactKind::Ctor, ".init_array"));
        assert!(has(&f, FactKind::Ctor, "#[ctor]"));
        assert!(has(&f, FactKind::ProcMacroEntry, "proc_macro_derive derive"));
        assert!(has(&f, FactKind::Asm, "asm!"));
        assert!(
            !f.iter().any(|x| x.kind.is_unsafe() && x.line == 3),
            "unsafe extern is not an unsafe block"
        );
    }

    #[test]
    fn calls_macros_tests_and_mods() {
        let src = r#"
use std::process::Command;
#[path = "other.rs"] mod renamed;
mod plain;
fn f() { Command::new("curl").arg("x"); let _ = include_bytes!("blob.bin"); let v = env!("CARGO_PKG_NAME"); }
#[cfg(test)]
mod tests { fn t() { std::net::TcpStream::connect("x"); } }
#[cfg(test)] mod more;
"#;
        let (f, mods) = scan_src(src);
        assert!(has(&f, FactKind::Process, "std::process::Command::new(\"curl\")"));
        assert!(has(&f, FactKind::Include, "include_bytes!(\"blob.bin\")"));
        assert!(has(&f, FactKind::EnvRead, "env!(\"CARGO_PKG_NAME\")"));
        let net: Vec<&Finding> = f.iter().filter(|x| x.kind == FactKind::Network).collect();
        assert_eq!(net.len(), 1);
        assert!(net[0].in_test);
        assert!(
            !f.iter()
                .find(|x| x.kind == FactKind::Process)
                .is_some_and(|x| x.in_test)
        );
        let names: Vec<(&str, Option<&str>, bool)> = mods
            .iter()
            .map(|m| (m.name.as_str(), m.path.as_deref(), m.test))
            .collect();
        assert!(names.contains(&("renamed", Some("other.rs"), false)));
        assert!(names.contains(&("plain", None, false)));
        assert!(names.contains(&("more", None, true)));
    }

    #[test]
    fn env_gating() {
        let src = r#"
fn is_ci() -> bool { std::env::var("CI").is_ok() }
fn fetch() { reqwest::blocking::get("https://x.example/p"); }
fn direct() { if std::env::var("GITHUB_ACTIONS").is_ok() { std::process::Command::new("sh"); } }
fn indirect() { if is_ci() { fetch(); } }
fn cargo_only() { if std::env::var("CARGO_FEATURE_X").is_ok() { std::process::Command::new("cc"); } }
fn ungated() { let cc = std::env::var("CC"); std::process::Command::new("cc"); }
"#;
        let (f, _) = scan_src(src);
        let gated: Vec<&str> = f
            .iter()
            .filter(|x| x.kind == FactKind::EnvGated)
            .map(|x| x.detail.as_str())
            .collect();
        assert_eq!(gated.len(), 2, "{gated:?}");
        assert!(
            gated
                .iter()
                .any(|d| d.starts_with("GITHUB_ACTIONS -> std::process::Command::new"))
        );
        assert!(
            gated
                .iter()
                .any(|d| d.starts_with("is_ci() -> fetch() -> reqwest::blocking::get"))
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for src in [
            "unsafe",
            "extern \"C\" {",
            "#[",
            "#[unsafe(",
            "fn",
            "mod x",
            "use a::{b, {c",
            "if if if",
            "a!(",
            "#[cfg(not(",
            "::",
            "} } {",
        ] {
            let _ = scan_src(src);
        }
    }
}
