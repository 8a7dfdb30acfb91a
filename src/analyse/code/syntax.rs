//! The syn reader: code facts from the syntax tree of a Rust file, with a
//! recovering parse for files syn rejects and macro bodies.
//!
//! Owns: visiting a parsed file for `unsafe` items and blocks, FFI,
//! linker attributes, assembly, calls (resolved through the file's `use`
//! declarations), known macros, test code, out-of-line modules and the
//! conditions that gate code on the environment; reading macro bodies as
//! Rust (statements, then expressions, then items) when they are Rust; and,
//! when a file or a body is not, parsing it again statement by statement,
//! handing every stretch syn cannot read to the token scanner.
//!
//! Must not: keep the tree (it is dropped once visited), or do unbounded
//! work: nested bodies are limited in depth, and every parse attempt is
//! charged to a budget proportional to the file's size; past it the rest is
//! token scanned. Spans give byte offsets (proc-macro2's `span-locations`),
//! valid only on the thread that parsed the text; the caller clears them.

use std::str::FromStr;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, Block, Expr, Lit, Meta, Safety, Stmt, Token};

use super::lexer::{Kind, Tok};
use super::patterns::{KnownMacro, UseMap, classify_path, known_macro};
use super::scan::{ScanCtx, scan};
use super::text::bounded;
use super::{CallSite, FactKind, FnFacts, ModDecl, ParseStatus, Sink, record_call};

/// Deepest nesting of macro bodies and unparsed groups read with syn; deeper
/// ones are token scanned.
const MAX_NESTING: u32 = 24;

use super::INIT_SECTIONS;

/// Reads `src` with syn into `sink` and `fns`. `Err` (why) when the text
/// does not even lex as Rust tokens; nothing was recorded then.
pub(crate) fn analyse<'a>(
    src: &'a str,
    uses: &UseMap,
    sink: &mut Sink<'a>,
    fns: &mut Vec<FnFacts>,
) -> Result<ParseStatus, String> {
    let ts = TokenStream::from_str(src)
        .map_err(|e| format!("does not lex as Rust tokens: {}", bounded(&e.to_string(), 120)))?;
    let mut v = V {
        src,
        uses,
        sink,
        fns,
        fn_stack: Vec::new(),
        module_fn: None,
        test_depth: 0,
        cond_depth: 0,
        inline_mods: Vec::new(),
        item_name: String::new(),
        nesting: 0,
        budget: (src.len() as i64).saturating_mul(16).saturating_add(1 << 20),
        bodies_scanned: 0,
    };
    match syn::parse2::<syn::File>(ts.clone()) {
        Ok(file) => {
            v.visit_file(&file);
            drop(file);
            Ok(ParseStatus::Parsed {
                macro_bodies_scanned: v.bodies_scanned,
            })
        }
        Err(e) => {
            let line = e.span().start().line as u32;
            let error = bounded(&e.to_string(), 160);
            v.resync(ts);
            Ok(ParseStatus::Recovered {
                error,
                line,
                regions_scanned: v.sink.regions_scanned,
            })
        }
    }
}

fn off(span: Span) -> usize {
    span.byte_range().start
}

fn path_segs(p: &syn::Path) -> Vec<String> {
    p.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Whether a `cfg(..)` predicate's tokens name `test` outside `not(..)`.
fn cfg_names_test(ts: &TokenStream) -> bool {
    let mut after_not = false;
    for tt in ts.clone() {
        match tt {
            TokenTree::Ident(i) if i == "test" => return true,
            TokenTree::Ident(i) => after_not = i == "not",
            TokenTree::Group(g) => {
                if !after_not && cfg_names_test(&g.stream()) {
                    return true;
                }
                after_not = false;
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => after_not = false,
        }
    }
    false
}

/// `#[test]`, `#[bench]`, `#[tokio::test]`, `#[cfg(test)]`, ...
fn is_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        let segs = path_segs(a.path());
        match segs.last().map(String::as_str) {
            Some("test" | "bench") => true,
            Some("cfg") if segs.len() == 1 => match &a.meta {
                Meta::List(l) => cfg_names_test(&l.tokens),
                _ => false,
            },
            _ => false,
        }
    })
}

/// The value of a `#[name = "value"]` attribute.
fn attr_str(meta: &Meta) -> Option<String> {
    match meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(l) => match &l.lit {
                Lit::Str(s) => Some(s.value()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.path().is_ident("path"))
        .and_then(|a| attr_str(&a.meta))
}

/// The first string literal among the tokens (`env!("X")`, `include_bytes!("f")`).
fn first_lit_str(ts: &TokenStream) -> Option<String> {
    ts.clone().into_iter().find_map(|tt| match tt {
        TokenTree::Literal(l) => syn::parse2::<syn::LitStr>(TokenTree::Literal(l).into())
            .ok()
            .map(|s| s.value()),
        _ => None,
    })
}

fn first_arg_str(args: &Punctuated<Expr, Token![,]>) -> Option<String> {
    match args.first()? {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Some(s.value().chars().take(120).collect()),
            _ => None,
        },
        _ => None,
    }
}

/// Pieces of a stream parsed again statement by statement.
enum Piece {
    Stmt(Box<Stmt>),
    Expr(Box<Expr>),
    Tree(TokenTree),
    /// What was left when the budget ran out.
    Rest(TokenStream),
}

struct V<'a, 'b> {
    src: &'a str,
    uses: &'b UseMap,
    sink: &'b mut Sink<'a>,
    fns: &'b mut Vec<FnFacts>,
    fn_stack: Vec<usize>,
    module_fn: Option<usize>,
    test_depth: u32,
    cond_depth: u32,
    inline_mods: Vec<String>,
    /// The item whose attributes are being read.
    item_name: String,
    nesting: u32,
    budget: i64,
    bodies_scanned: u32,
}

impl V<'_, '_> {
    fn in_test(&self) -> bool {
        self.test_depth > 0
    }

    fn push(&mut self, kind: FactKind, span: Span, detail: &str) {
        let in_test = self.in_test();
        self.sink.push(kind, off(span), detail, in_test, false);
    }

    fn cur_fn(&mut self) -> usize {
        if let Some(&f) = self.fn_stack.last() {
            return f;
        }
        if let Some(f) = self.module_fn {
            return f;
        }
        self.fns.push(FnFacts::default());
        let f = self.fns.len() - 1;
        self.module_fn = Some(f);
        f
    }

    /// Runs `body` inside a new function.
    fn in_fn(&mut self, name: String, at: Span, body: impl FnOnce(&mut Self)) {
        self.fns.push(FnFacts {
            name,
            offset: off(at),
            in_test: self.in_test(),
            ..FnFacts::default()
        });
        self.fn_stack.push(self.fns.len() - 1);
        let cond = std::mem::replace(&mut self.cond_depth, 0);
        body(self);
        self.cond_depth = cond;
        self.fn_stack.pop();
    }

    /// Runs `body` for an item, as test code when its attributes say so;
    /// `end` is where the item ends, for the test range.
    fn item(&mut self, attrs: &[Attribute], start: Span, end: Span, body: impl FnOnce(&mut Self)) {
        let test = is_test(attrs);
        if test {
            let from = attrs.first().map_or(start, |a| a.pound_token.spans[0]);
            self.sink.test_ranges.push((off(from), end.byte_range().end));
            self.test_depth += 1;
        }
        body(self);
        if test {
            self.test_depth -= 1;
        }
    }

    fn note_call(&mut self, name: String) {
        let f = self.cur_fn();
        if self.cond_depth > 0 {
            self.fns[f].cond_calls.insert(name.clone());
        }
        self.fns[f].calls.insert(name);
    }

    fn call(&mut self, kind: FactKind, resolved: &str, arg: Option<&str>, at: Span) {
        let f = self.cur_fn();
        let site = CallSite {
            offset: off(at),
            in_cond: self.cond_depth > 0,
            in_test: self.in_test(),
            token_level: false,
        };
        record_call(self.sink, &mut self.fns[f], kind, resolved, arg, site);
    }

    fn in_cond(&mut self, e: &Expr) {
        self.cond_depth += 1;
        self.visit_expr(e);
        self.cond_depth -= 1;
    }

    fn attribute(&mut self, meta: &Meta, at: Span) {
        let segs = path_segs(meta.path());
        let Some(last) = segs.last().map(String::as_str) else {
            return;
        };
        let one = segs.len() == 1;
        match last {
            "unsafe" if one => {
                if let Meta::List(l) = meta {
                    let inner = syn::parse2::<Meta>(l.tokens.clone()).ok();
                    let name = inner
                        .as_ref()
                        .and_then(|m| m.path().get_ident())
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    self.push(FactKind::UnsafeAttribute, at, &name);
                    if let Some(inner) = inner {
                        self.attribute(&inner, at);
                    }
                }
            }
            "link" if one => {
                let args = match meta {
                    Meta::List(l) => {
                        let r = l.delimiter.span().join().byte_range();
                        let t = self.src.get(r).unwrap_or("");
                        t.trim_start_matches('(').trim_end_matches(')').to_owned()
                    }
                    _ => String::new(),
                };
                self.push(FactKind::Link, at, &args);
            }
            "no_mangle" if one => {
                let name = self.item_name.clone();
                self.push(FactKind::NoMangle, at, &name);
            }
            "export_name" if one => {
                let v = attr_str(meta).unwrap_or_default();
                self.push(FactKind::ExportName, at, &v);
            }
            "link_section" if one => {
                let v = attr_str(meta).unwrap_or_default();
                self.push(FactKind::LinkSection, at, &v);
                if INIT_SECTIONS.iter().any(|s| v.starts_with(s)) {
                    self.push(FactKind::Ctor, at, &format!("link_section {v}"));
                }
            }
            "ctor" | "dtor" => self.push(FactKind::Ctor, at, &format!("#[{last}]")),
            "proc_macro" | "proc_macro_derive" | "proc_macro_attribute" if one => {
                let d = format!("{last} {}", self.item_name);
                self.push(FactKind::ProcMacroEntry, at, &d);
            }
            _ => {}
        }
    }

    /// A macro body or an unparsed group: statements, expressions or items
    /// if it is Rust; else parsed again piece by piece.
    fn walk_body(&mut self, ts: TokenStream, span: Span) {
        if ts.is_empty() {
            return;
        }
        let len = span.byte_range().len() as i64;
        if self.nesting >= MAX_NESTING || self.budget < len {
            self.bodies_scanned += 1;
            self.flatten_scan(ts);
            return;
        }
        self.budget -= len;
        self.nesting += 1;
        // Format-like bodies (`"{}", x`) are expressions; try what fits first,
        // since each failed attempt costs a parse.
        let comma = ts
            .clone()
            .into_iter()
            .any(|tt| matches!(&tt, TokenTree::Punct(p) if p.as_char() == ','));
        type Reader<'x, 'y> = fn(&mut V<'x, 'y>, &TokenStream) -> bool;
        let order: [Reader<'_, '_>; 2] = if comma {
            [V::as_exprs, V::as_stmts]
        } else {
            [V::as_stmts, V::as_exprs]
        };
        let read = order.iter().any(|read| read(self, &ts));
        if !read {
            if let Ok(file) = syn::parse2::<syn::File>(ts.clone()) {
                self.visit_file(&file);
            } else {
                self.bodies_scanned += 1;
                self.resync(ts);
            }
        }
        self.nesting -= 1;
    }

    fn as_stmts(&mut self, ts: &TokenStream) -> bool {
        match Block::parse_within.parse2(ts.clone()) {
            Ok(stmts) => {
                for s in &stmts {
                    self.visit_stmt(s);
                }
                true
            }
            Err(_) => false,
        }
    }

    fn as_exprs(&mut self, ts: &TokenStream) -> bool {
        match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(ts.clone()) {
            Ok(exprs) => {
                for e in &exprs {
                    self.visit_expr(e);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Parses `ts` statement by statement, skipping one token tree where syn
    /// fails; what it skips goes to the token scanner, groups are read again
    /// with [`V::walk_body`].
    fn resync(&mut self, ts: TokenStream) {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut budget = self.budget;
        let parser = |input: ParseStream<'_>| -> syn::Result<()> {
            while !input.is_empty() {
                if budget <= 0 {
                    pieces.push(Piece::Rest(input.parse()?));
                    break;
                }
                let here = input.span().byte_range().start;
                let fork = input.fork();
                let err = match fork.parse::<Stmt>() {
                    Ok(stmt) => {
                        input.advance_to(&fork);
                        let next = if input.is_empty() {
                            here
                        } else {
                            input.span().byte_range().start
                        };
                        budget -= next.saturating_sub(here) as i64 + 16;
                        pieces.push(Piece::Stmt(Box::new(stmt)));
                        continue;
                    }
                    Err(e) => e,
                };
                budget -= off(err.span()).saturating_sub(here) as i64 + 16;
                // A trailing expression without `;`.
                let fork = input.fork();
                if let Ok(e) = fork.parse::<Expr>()
                    && fork.is_empty()
                {
                    input.advance_to(&fork);
                    pieces.push(Piece::Expr(Box::new(e)));
                    continue;
                }
                // Skip to the next statement boundary: past a `;` or a
                // brace group (which is read on its own).
                while !input.is_empty() {
                    let tt: TokenTree = input.parse()?;
                    let boundary = match &tt {
                        TokenTree::Punct(p) => p.as_char() == ';',
                        TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
                        _ => false,
                    };
                    pieces.push(Piece::Tree(tt));
                    if boundary {
                        break;
                    }
                }
            }
            Ok(())
        };
        let ok = parser.parse2(ts.clone()).is_ok();
        self.budget = budget;
        if !ok {
            self.flatten_scan(ts);
            return;
        }
        let mut stretch: Vec<Tok> = Vec::new();
        let mut pending_fn: Option<String> = None;
        let mut after_fn = false;
        for p in pieces {
            match p {
                Piece::Stmt(s) => {
                    self.flush(&mut stretch);
                    self.visit_stmt(&s);
                }
                Piece::Expr(e) => {
                    self.flush(&mut stretch);
                    self.visit_expr(&e);
                }
                Piece::Rest(rest) => {
                    self.flatten(rest, &mut stretch);
                    self.flush(&mut stretch);
                }
                Piece::Tree(TokenTree::Group(g)) => {
                    let open_tok = Tok {
                        kind: Kind::Open(delim_char(g.delimiter(), true)),
                        start: g.span_open().byte_range().start as u32,
                        end: g.span_open().byte_range().end as u32,
                    };
                    let close_tok = Tok {
                        kind: Kind::Close(delim_char(g.delimiter(), false)),
                        start: g.span_close().byte_range().start as u32,
                        end: g.span_close().byte_range().end as u32,
                    };
                    let attr = g.delimiter() == Delimiter::Bracket && ends_with_pound(&stretch);
                    stretch.push(open_tok);
                    stretch.push(close_tok);
                    if attr {
                        if let Ok(meta) = syn::parse2::<Meta>(g.stream()) {
                            self.attribute(&meta, g.span_open());
                        }
                    } else if g.delimiter() == Delimiter::Brace
                        && let Some(name) = pending_fn.take()
                    {
                        let at = g.span_open();
                        self.in_fn(name, at, |v| v.walk_body(g.stream(), g.span()));
                    } else {
                        self.walk_body(g.stream(), g.span());
                    }
                }
                Piece::Tree(tt) => {
                    if let TokenTree::Ident(i) = &tt {
                        if after_fn {
                            pending_fn = Some(i.to_string());
                        }
                        after_fn = i == "fn";
                    } else {
                        after_fn = false;
                        if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ';') {
                            pending_fn = None;
                        }
                    }
                    self.push_tok(&tt, &mut stretch);
                }
            }
        }
        self.flush(&mut stretch);
    }

    fn push_tok(&self, tt: &TokenTree, out: &mut Vec<Tok>) {
        let r = tt.span().byte_range();
        let kind = match tt {
            TokenTree::Ident(_) => Kind::Ident,
            TokenTree::Punct(p) => {
                let c = p.as_char();
                if c == ':'
                    && let Some(last) = out.last_mut()
                    && last.kind == Kind::Punct(':')
                    && last.end as usize == r.start
                {
                    last.kind = Kind::PathSep;
                    last.end = r.end as u32;
                    return;
                }
                Kind::Punct(c)
            }
            TokenTree::Literal(_) => {
                let t = self.src.get(r.clone()).unwrap_or("");
                if t.starts_with('\'') || t.starts_with("b'") {
                    Kind::Char
                } else if t.starts_with(|c: char| c.is_ascii_digit()) {
                    Kind::Num
                } else {
                    Kind::Str
                }
            }
            TokenTree::Group(_) => return,
        };
        out.push(Tok {
            kind,
            start: r.start as u32,
            end: r.end as u32,
        });
    }

    /// All tokens of `ts`, groups opened.
    fn flatten(&self, ts: TokenStream, out: &mut Vec<Tok>) {
        for tt in ts {
            match tt {
                TokenTree::Group(g) => {
                    let (o, c) = (g.span_open().byte_range(), g.span_close().byte_range());
                    if g.delimiter() != Delimiter::None {
                        out.push(Tok {
                            kind: Kind::Open(delim_char(g.delimiter(), true)),
                            start: o.start as u32,
                            end: o.end as u32,
                        });
                    }
                    self.flatten(g.stream(), out);
                    if g.delimiter() != Delimiter::None {
                        out.push(Tok {
                            kind: Kind::Close(delim_char(g.delimiter(), false)),
                            start: c.start as u32,
                            end: c.end as u32,
                        });
                    }
                }
                other => self.push_tok(&other, out),
            }
        }
    }

    fn flatten_scan(&mut self, ts: TokenStream) {
        let mut toks = Vec::new();
        self.flatten(ts, &mut toks);
        self.flush(&mut toks);
    }

    /// Hands a stretch of tokens to the token scanner.
    fn flush(&mut self, stretch: &mut Vec<Tok>) {
        if stretch.is_empty() {
            return;
        }
        self.sink.regions_scanned += 1;
        let f = self.cur_fn();
        let in_test = self.in_test();
        let mut cx = ScanCtx {
            src: self.src,
            uses: self.uses,
            sink: &mut *self.sink,
            fns: &mut *self.fns,
            outer_fn: Some(f),
            in_test,
            whole_file: false,
        };
        scan(stretch, &mut cx);
        stretch.clear();
    }
}

fn delim_char(d: Delimiter, open: bool) -> char {
    match (d, open) {
        (Delimiter::Parenthesis, true) => '(',
        (Delimiter::Parenthesis, false) => ')',
        (Delimiter::Bracket, true) => '[',
        (Delimiter::Bracket, false) => ']',
        (_, true) => '{',
        (_, false) => '}',
    }
}

/// The stretch ends with `#` or `#!`: a bracket group next is an attribute.
fn ends_with_pound(stretch: &[Tok]) -> bool {
    match stretch {
        [.., t] if t.kind == Kind::Punct('#') => true,
        [.., p, t] => p.kind == Kind::Punct('#') && t.kind == Kind::Punct('!'),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for V<'_, '_> {
    fn visit_attribute(&mut self, a: &'ast Attribute) {
        self.attribute(&a.meta, a.pound_token.spans[0]);
    }

    fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
        let name = i.sig.ident.to_string();
        self.item_name.clone_from(&name);
        self.item(&i.attrs, i.sig.fn_token.span, i.block.brace_token.span.close(), |v| {
            if let Safety::Unsafe(t) = &i.sig.safety {
                v.push(FactKind::UnsafeFn, t.span, &name);
            }
            v.in_fn(name.clone(), i.sig.fn_token.span, |v| visit::visit_item_fn(v, i));
        });
    }

    fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
        let name = i.sig.ident.to_string();
        self.item_name.clone_from(&name);
        self.item(&i.attrs, i.sig.fn_token.span, i.block.brace_token.span.close(), |v| {
            if let Safety::Unsafe(t) = &i.sig.safety {
                v.push(FactKind::UnsafeFn, t.span, &name);
            }
            v.in_fn(name.clone(), i.sig.fn_token.span, |v| visit::visit_impl_item_fn(v, i));
        });
    }

    fn visit_trait_item_fn(&mut self, i: &'ast syn::TraitItemFn) {
        let name = i.sig.ident.to_string();
        self.item_name.clone_from(&name);
        let end = i
            .default
            .as_ref()
            .map_or(i.sig.fn_token.span, |b| b.brace_token.span.close());
        self.item(&i.attrs, i.sig.fn_token.span, end, |v| {
            if let Safety::Unsafe(t) = &i.sig.safety {
                v.push(FactKind::UnsafeFn, t.span, &name);
            }
            v.in_fn(name.clone(), i.sig.fn_token.span, |v| visit::visit_trait_item_fn(v, i));
        });
    }

    fn visit_foreign_item_fn(&mut self, i: &'ast syn::ForeignItemFn) {
        let name = i.sig.ident.to_string();
        self.item_name.clone_from(&name);
        self.push(FactKind::ForeignItem, i.sig.ident.span(), &name);
        visit::visit_foreign_item_fn(self, i);
    }

    fn visit_foreign_item_static(&mut self, i: &'ast syn::ForeignItemStatic) {
        let name = i.ident.to_string();
        self.item_name.clone_from(&name);
        self.push(FactKind::ForeignItem, i.ident.span(), &name);
        visit::visit_foreign_item_static(self, i);
    }

    fn visit_item_foreign_mod(&mut self, i: &'ast syn::ItemForeignMod) {
        let abi = match &i.abi.name {
            Some(n) => format!("extern \"{}\"", n.value()),
            None => "extern".to_owned(),
        };
        self.item(&i.attrs, i.abi.extern_token.span, i.brace_token.span.close(), |v| {
            v.push(FactKind::ExternBlock, i.abi.extern_token.span, &abi);
            visit::visit_item_foreign_mod(v, i);
        });
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        self.item_name.clear();
        self.item(&i.attrs, i.impl_token.span, i.brace_token.span.close(), |v| {
            if let Some(t) = &i.unsafety {
                let tr = i
                    .trait_
                    .as_ref()
                    .and_then(|(p, _)| p.segments.last())
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                v.push(FactKind::UnsafeImpl, t.span, &tr);
            }
            visit::visit_item_impl(v, i);
        });
    }

    fn visit_item_trait(&mut self, i: &'ast syn::ItemTrait) {
        self.item_name = i.ident.to_string();
        self.item(&i.attrs, i.trait_token.span, i.brace_token.span.close(), |v| {
            if let Some(t) = &i.unsafety {
                v.push(FactKind::UnsafeTrait, t.span, &i.ident.to_string());
            }
            visit::visit_item_trait(v, i);
        });
    }

    fn visit_item_static(&mut self, i: &'ast syn::ItemStatic) {
        self.item_name = i.ident.to_string();
        self.item(&i.attrs, i.static_token.span, i.semi_token.spans[0], |v| {
            visit::visit_item_static(v, i)
        });
    }

    fn visit_item_const(&mut self, i: &'ast syn::ItemConst) {
        self.item_name = i.ident.to_string();
        self.item(&i.attrs, i.const_token.span, i.semi_token.spans[0], |v| {
            visit::visit_item_const(v, i)
        });
    }

    fn visit_item_mod(&mut self, i: &'ast syn::ItemMod) {
        let name = i.ident.to_string();
        self.item_name.clone_from(&name);
        match &i.content {
            None => {
                let test = self.in_test() || is_test(&i.attrs);
                self.sink.mods.push(ModDecl {
                    name,
                    path: path_attr(&i.attrs),
                    inline: self.inline_mods.clone(),
                    test,
                });
                visit::visit_item_mod(self, i);
            }
            Some((brace, _)) => {
                self.item(&i.attrs, i.mod_token.span, brace.span.close(), |v| {
                    v.inline_mods.push(name);
                    visit::visit_item_mod(v, i);
                    v.inline_mods.pop();
                });
            }
        }
    }

    fn visit_expr_unsafe(&mut self, i: &'ast syn::ExprUnsafe) {
        self.push(FactKind::UnsafeBlock, i.unsafe_token.span, "block");
        visit::visit_expr_unsafe(self, i);
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        for a in &i.attrs {
            self.visit_attribute(a);
        }
        self.in_cond(&i.cond);
        self.visit_block(&i.then_branch);
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
    }

    fn visit_expr_while(&mut self, i: &'ast syn::ExprWhile) {
        for a in &i.attrs {
            self.visit_attribute(a);
        }
        self.in_cond(&i.cond);
        self.visit_block(&i.body);
    }

    fn visit_expr_match(&mut self, i: &'ast syn::ExprMatch) {
        for a in &i.attrs {
            self.visit_attribute(a);
        }
        self.in_cond(&i.expr);
        for arm in &i.arms {
            self.visit_arm(arm);
        }
    }

    fn visit_pat_guard(&mut self, i: &'ast syn::PatGuard) {
        self.visit_pat(&i.pat);
        self.in_cond(&i.guard);
    }

    fn visit_local(&mut self, i: &'ast syn::Local) {
        match &i.init {
            Some(init) if init.diverge.is_some() => {
                for a in &i.attrs {
                    self.visit_attribute(a);
                }
                self.visit_pat(&i.pat);
                self.in_cond(&init.expr);
                if let Some((_, e)) = &init.diverge {
                    self.visit_expr(e);
                }
            }
            _ => visit::visit_local(self, i),
        }
    }

    fn visit_expr_call(&mut self, i: &'ast syn::ExprCall) {
        let Expr::Path(p) = &*i.func else {
            visit::visit_expr_call(self, i);
            return;
        };
        if p.qself.is_some() {
            visit::visit_expr_call(self, i);
            return;
        }
        let segs = path_segs(&p.path);
        if let [name] = segs.as_slice() {
            self.note_call(name.clone());
        }
        if let Some((kind, resolved)) = classify_path(self.uses, &segs) {
            let arg = first_arg_str(&i.args);
            let at = p.path.segments.first().map_or_else(Span::call_site, |s| s.ident.span());
            self.call(kind, &resolved, arg.as_deref(), at);
        } else {
            self.visit_expr_path(p);
        }
        for a in &i.attrs {
            self.visit_attribute(a);
        }
        for a in &i.args {
            self.visit_expr(a);
        }
    }

    fn visit_expr_method_call(&mut self, i: &'ast syn::ExprMethodCall) {
        self.note_call(i.method.to_string());
        visit::visit_expr_method_call(self, i);
    }

    fn visit_expr_path(&mut self, i: &'ast syn::ExprPath) {
        if i.qself.is_none() && i.path.segments.len() > 1 {
            let segs = path_segs(&i.path);
            if let Some((kind, resolved)) = classify_path(self.uses, &segs) {
                let at = i.path.segments.first().map_or_else(Span::call_site, |s| s.ident.span());
                self.call(kind, &resolved, None, at);
            }
        }
        visit::visit_expr_path(self, i);
    }

    fn visit_lit_str(&mut self, s: &'ast syn::LitStr) {
        if s.token().to_string().contains("OUT_DIR") {
            let f = self.cur_fn();
            self.fns[f].mentions_out_dir = true;
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let segs = path_segs(&m.path);
        let at = m
            .path
            .segments
            .first()
            .map_or(m.bang_token.spans[0], |s| s.ident.span());
        let name = segs.last().cloned().unwrap_or_default();
        match known_macro(&segs) {
            Some(KnownMacro::Env) => {
                let arg = first_lit_str(&m.tokens);
                self.call(FactKind::EnvRead, &format!("{name}!"), arg.as_deref(), at);
            }
            Some(KnownMacro::Include) => {
                let detail = match first_lit_str(&m.tokens) {
                    Some(a) => {
                        let d = format!("{name}!(\"{a}\")");
                        self.sink.includes.insert(a);
                        d
                    }
                    None => {
                        let r = m.delimiter.span().join().byte_range();
                        format!("{name}!{}", self.src.get(r).unwrap_or(""))
                    }
                };
                self.push(FactKind::Include, at, &detail);
                // `include!(concat!(env!("OUT_DIR"), ..))`: read the body too.
                self.walk_body(m.tokens.clone(), m.delimiter.span().join());
            }
            Some(KnownMacro::Asm) => self.push(FactKind::Asm, at, &format!("{name}!")),
            // Macro definitions are patterns and templates, not Rust: the
            // token scanner reads them whole.
            None if segs.len() == 1 && name == "macro_rules" => {
                self.bodies_scanned += 1;
                self.flatten_scan(m.tokens.clone());
            }
            None => self.walk_body(m.tokens.clone(), m.delimiter.span().join()),
        }
    }
}
