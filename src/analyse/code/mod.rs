//! What a release's code does: the facts a reviewer wants to see first, read
//! from every file of every release, per file, per release and as a change
//! since the previous release, each with file, line and snippet.
//!
//! Owns: reading Rust files with syn (and a token scanner wherever syn
//! cannot go: files it rejects, macro bodies that are not Rust), binary
//! files by magic number, trojan-source characters and look-alike
//! identifiers, the per-blob cache, the delta between two releases and the
//! code signals (`CODE_SIGNALS`, documented in docs/SIGNALS-CODE.md).
//!
//! The pieces: [`analyse_file`] (one file's bytes to [`FileFacts`]),
//! [`analyse_release`] (every file of a release, through a [`Cache`] keyed
//! by blob id, to [`CodeFacts`]), [`delta`] (what is new, [`CodeDelta`]) and
//! [`signals`].
//!
//! Must not: do I/O or import `store`, `net` or `registry` (contents come
//! through [`crate::compare::Blobs`]); crash or hang on any file (every file
//! is bounded in size, nesting and parser work, and panics are caught); keep
//! syntax trees past the file they came from. An unparsable file is
//! reported as such and still scanned token by token, so it never hides an
//! `unsafe` or a `Command::new`.
//!
//! Determinism: findings are sorted, maps are `BTreeMap`s, and nothing
//! depends on thread scheduling or time.

mod delta;
mod file;
mod lexer;
mod patterns;
mod payload;
mod release;
mod scan;
mod syntax;
mod text;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Link sections whose functions run before `main` (constructors); a
/// `#[link_section]` naming one is a fact.
pub(crate) const INIT_SECTIONS: &[&str] = &[
    ".init_array",
    ".ctors",
    ".preinit_array",
    "__mod_init_func",
    ".CRT$XCU",
    ".CRT$XCT",
];
pub use delta::{CODE_SIGNALS, CodeDelta, KindChange, delta, signals};
pub use file::analyse_file;
pub use payload::Magic;
pub use release::{
    BinaryFile, BuildScriptFacts, Cache, CodeFacts, FileView, KindFacts, Located, MAX_FILE_BYTES, MAX_LOAD_BYTES,
    MAX_SHOWN, NotedFile, Role, WORKERS, analyse_release,
};

/// Findings kept per file and kind; past it only the count grows.
pub const MAX_FINDINGS_PER_KIND: usize = 500;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactKind {
    /// `unsafe { .. }` (detail `block`).
    UnsafeBlock,
    /// `unsafe fn` (detail: its name).
    UnsafeFn,
    /// `unsafe impl` (detail: the trait).
    UnsafeImpl,
    /// `unsafe trait` (detail: its name).
    UnsafeTrait,
    /// `extern "ABI" { .. }` block (detail: the ABI).
    ExternBlock,
    /// A function or static declared in an `extern` block (detail: its name).
    ForeignItem,
    /// `#[link(..)]` (detail: its arguments).
    Link,
    /// `#[no_mangle]` (detail: the item).
    NoMangle,
    /// `#[export_name = ".."]` (detail: the name).
    ExportName,
    /// `#[link_section = ".."]` (detail: the section).
    LinkSection,
    /// Code that runs before `main`: `#[ctor]`, `#[dtor]`, or a static in an
    /// initialiser section such as `.init_array` (detail: which).
    Ctor,
    /// `#[unsafe(..)]` (detail: the attribute inside).
    UnsafeAttribute,
    /// `asm!`, `global_asm!`, `naked_asm!` (detail: the macro).
    Asm,
    /// Starting a program: `std::process::Command`, `libc::system`, ...
    /// (detail: the resolved path and its first literal argument).
    Process,
    /// Network use: `std::net` sockets, HTTP and other client crates.
    Network,
    /// Reading an environment variable at run time (`std::env::var`) or at
    /// compile time (`env!`, `option_env!`) (detail: the call and the name).
    EnvRead,
    /// Writing, removing or renaming files (`std::fs::write`,
    /// `File::create`, ...). In a build script the detail says when the
    /// enclosing function never mentions `OUT_DIR`.
    FsWrite,
    /// `include!`, `include_bytes!`, `include_str!` (detail: the macro and
    /// its path).
    Include,
    /// `#[proc_macro]`, `#[proc_macro_derive]`, `#[proc_macro_attribute]`
    /// (detail: the function).
    ProcMacroEntry,
    /// A function that branches on an environment variable (other than
    /// those cargo sets for builds) and starts a program or uses the network
    /// (detail: `VAR -> callee`).
    EnvGated,
    /// A literal or byte array that looks like encoded data (detail: the
    /// encoding, size, entropy, and the format it decodes to if known).
    EncodedPayload,
    /// A bidirectional control character (detail: which, and where: comment,
    /// string, identifier, code, text).
    BidiControl,
    /// A zero-width or other invisible character (detail as above).
    InvisibleCharacter,
    /// An identifier with look-alike or mixed-script letters (detail: what it
    /// reads as).
    ConfusableIdentifier,
}

impl FactKind {
    /// Every kind, in order.
    pub const ALL: &'static [FactKind] = &[
        FactKind::UnsafeBlock,
        FactKind::UnsafeFn,
        FactKind::UnsafeImpl,
        FactKind::UnsafeTrait,
        FactKind::ExternBlock,
        FactKind::ForeignItem,
        FactKind::Link,
        FactKind::NoMangle,
        FactKind::ExportName,
        FactKind::LinkSection,
        FactKind::Ctor,
        FactKind::UnsafeAttribute,
        FactKind::Asm,
        FactKind::Process,
        FactKind::Network,
        FactKind::EnvRead,
        FactKind::FsWrite,
        FactKind::Include,
        FactKind::ProcMacroEntry,
        FactKind::EnvGated,
        FactKind::EncodedPayload,
        FactKind::BidiControl,
        FactKind::InvisibleCharacter,
        FactKind::ConfusableIdentifier,
    ];

    /// The kebab-case name, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            FactKind::UnsafeBlock => "unsafe-block",
            FactKind::UnsafeFn => "unsafe-fn",
            FactKind::UnsafeImpl => "unsafe-impl",
            FactKind::UnsafeTrait => "unsafe-trait",
            FactKind::ExternBlock => "extern-block",
            FactKind::ForeignItem => "foreign-item",
            FactKind::Link => "link",
            FactKind::NoMangle => "no-mangle",
            FactKind::ExportName => "export-name",
            FactKind::LinkSection => "link-section",
            FactKind::Ctor => "ctor",
            FactKind::UnsafeAttribute => "unsafe-attribute",
            FactKind::Asm => "asm",
            FactKind::Process => "process",
            FactKind::Network => "network",
            FactKind::EnvRead => "env-read",
            FactKind::FsWrite => "fs-write",
            FactKind::Include => "include",
            FactKind::ProcMacroEntry => "proc-macro-entry",
            FactKind::EnvGated => "env-gated",
            FactKind::EncodedPayload => "encoded-payload",
            FactKind::BidiControl => "bidi-control",
            FactKind::InvisibleCharacter => "invisible-character",
            FactKind::ConfusableIdentifier => "confusable-identifier",
        }
    }

    /// The four `unsafe` kinds counted by `unsafe-added`.
    pub fn is_unsafe(self) -> bool {
        matches!(
            self,
            FactKind::UnsafeBlock | FactKind::UnsafeFn | FactKind::UnsafeImpl | FactKind::UnsafeTrait
        )
    }

    /// Code that crosses into foreign code or the linker: what `ffi-added`
    /// looks at.
    pub fn is_ffi(self) -> bool {
        matches!(
            self,
            FactKind::ExternBlock
                | FactKind::ForeignItem
                | FactKind::Link
                | FactKind::NoMangle
                | FactKind::ExportName
                | FactKind::LinkSection
                | FactKind::Ctor
                | FactKind::Asm
        )
    }
}

/// One fact found in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub kind: FactKind,
    /// 1-based line.
    pub line: u32,
    /// What exactly (bounded; crate text, shown escaped).
    pub detail: String,
    /// The source line, trimmed, at most 200 characters around the finding,
    /// hidden characters written as `\u{XXXX}`.
    pub snippet: String,
    /// Inside `#[cfg(test)]` or `#[test]` code.
    pub in_test: bool,
    /// Found by the token scanner (code syn did not parse), not by syn.
    pub token_level: bool,
}

/// How many findings of a kind a file has (complete, even when the list of
/// findings is cut at [`MAX_FINDINGS_PER_KIND`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KindCount {
    pub kind: FactKind,
    pub total: u32,
    /// Of which in test code.
    pub in_test: u32,
}

/// What kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A `.rs` file.
    Rust,
    /// Another UTF-8 text file (scanned for bidirectional and invisible
    /// characters only).
    Text,
    /// Not text (git's rule: a NUL in the first 8000 bytes, or not UTF-8).
    Binary,
}

/// How a Rust file was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ParseStatus {
    /// syn parsed the whole file. Macro bodies that are not Rust were token
    /// scanned (`macro_bodies_scanned` of them).
    Parsed { macro_bodies_scanned: u32 },
    /// syn rejected the file (`error` at `line`); it was parsed again item by
    /// item and statement by statement, and what syn could not read
    /// (`regions_scanned` stretches of tokens) was token scanned.
    Recovered {
        error: String,
        line: u32,
        regions_scanned: u32,
    },
    /// Only the token scanner read the file (why: it does not lex as Rust,
    /// it nests too deeply for the parser, the parser's work budget ran out
    /// or the parser failed).
    TokensOnly { reason: String },
    /// Not a Rust file.
    NotRust,
}

/// A `mod name;` declaration (an out-of-line module), used to tell which
/// files belong to the build script and which are tests.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ModDecl {
    pub name: String,
    /// `#[path = ".."]`, if any.
    pub path: Option<String>,
    /// Enclosing inline modules (`mod a { mod b; }` gives `["a"]`).
    pub inline: Vec<String>,
    /// Declared under `#[cfg(test)]`.
    pub test: bool,
}

/// The facts of one file's content (the same for every path it appears at,
/// so they are cached by blob id).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileFacts {
    pub kind: FileKind,
    /// For Rust files; [`ParseStatus::NotRust`] otherwise.
    pub parse: ParseStatus,
    /// The format, when the content starts with a known magic number.
    pub magic: Option<Magic>,
    /// Bytes.
    pub size: u64,
    /// Lines (text files), 0 for binary files.
    pub lines: u32,
    /// Counts per kind, in kind order.
    pub counts: Vec<KindCount>,
    /// Findings, by line then kind, at most [`MAX_FINDINGS_PER_KIND`] per
    /// kind.
    pub findings: Vec<Finding>,
    /// Out-of-line module declarations.
    pub mods: Vec<ModDecl>,
    /// Literal paths given to `include!`, `include_bytes!`, `include_str!`.
    pub includes: Vec<String>,
}

impl FileFacts {
    /// Count of a kind (0 if none).
    pub fn count(&self, kind: FactKind) -> KindCount {
        self.counts
            .iter()
            .find(|c| c.kind == kind)
            .copied()
            .unwrap_or(KindCount {
                kind,
                total: 0,
                in_test: 0,
            })
    }

    /// A rough size in memory, for the cache's bound.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .findings
                .iter()
                .map(|f| std::mem::size_of::<Finding>() + f.detail.len() + f.snippet.len())
                .sum::<usize>()
            + self.counts.len() * std::mem::size_of::<KindCount>()
            + self.mods.iter().map(|m| 64 + m.name.len()).sum::<usize>()
            + self.includes.iter().map(|i| 24 + i.len()).sum::<usize>()
    }
}

/// Collects the findings of one file.
pub(crate) struct Sink<'a> {
    pub src: &'a str,
    pub lines: &'a text::Lines,
    findings: Vec<Finding>,
    counts: BTreeMap<FactKind, (u32, u32)>,
    /// Byte ranges of test code (`#[cfg(test)]` items, `#[test]` functions).
    pub test_ranges: Vec<(usize, usize)>,
    pub mods: Vec<ModDecl>,
    pub includes: BTreeSet<String>,
    /// Stretches of tokens the scanner read inside a syn-parsed file.
    pub regions_scanned: u32,
    /// `test_ranges` merged and sorted, once frozen: from then on findings
    /// inside them count as test code (the readers mark their own findings
    /// while they read; this is for the passes after them).
    merged: Option<Vec<(usize, usize)>>,
}

impl<'a> Sink<'a> {
    pub fn new(src: &'a str, lines: &'a text::Lines) -> Self {
        Sink {
            src,
            lines,
            findings: Vec::new(),
            counts: BTreeMap::new(),
            test_ranges: Vec::new(),
            mods: Vec::new(),
            includes: BTreeSet::new(),
            regions_scanned: 0,
            merged: None,
        }
    }

    /// Fixes the test ranges for the passes that follow the readers.
    pub fn freeze_test_ranges(&mut self) {
        let mut ranges = self.test_ranges.clone();
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.merged = Some(merged);
    }

    /// Records a finding at byte `offset`.
    pub fn push(&mut self, kind: FactKind, offset: usize, detail: &str, in_test: bool, token_level: bool) {
        let in_test = in_test || self.in_test_range(offset);
        let c = self.counts.entry(kind).or_default();
        c.0 += 1;
        if in_test {
            c.1 += 1;
        }
        if c.0 as usize > MAX_FINDINGS_PER_KIND {
            return;
        }
        let offset = offset.min(self.src.len());
        self.findings.push(Finding {
            kind,
            line: self.lines.line_of(offset),
            detail: text::bounded(detail, 160),
            snippet: text::snippet(self.src, self.lines, offset),
            in_test,
            token_level,
        });
    }

    fn in_test_range(&self, offset: usize) -> bool {
        let Some(m) = &self.merged else { return false };
        let i = m.partition_point(|&(a, _)| a <= offset);
        i > 0 && offset < m[i - 1].1
    }

    /// Counts and sorted findings.
    pub fn finish(mut self) -> (Vec<KindCount>, Vec<Finding>, Vec<ModDecl>, Vec<String>) {
        self.findings.sort();
        let counts = self
            .counts
            .iter()
            .map(|(&kind, &(total, in_test))| KindCount { kind, total, in_test })
            .collect();
        self.mods.sort();
        self.mods.dedup();
        (counts, self.findings, self.mods, self.includes.into_iter().collect())
    }
}

/// What one function (or, for code outside functions, one module) does,
/// gathered while reading it, to find environment-gated code and file
/// writes that do not mention `OUT_DIR`.
#[derive(Debug, Default)]
pub(crate) struct FnFacts {
    pub name: String,
    /// Byte offset of the function.
    pub offset: usize,
    pub in_test: bool,
    /// Environment variables read in a condition (`if`, `match`, `while`,
    /// `let .. else`, guards): offset and name (`?` when not a literal).
    pub cond_env: Vec<(usize, String)>,
    /// Reads an environment variable anywhere (one worth gating on).
    pub reads_env: bool,
    /// Process and network uses: offset and detail.
    pub netproc: Vec<(usize, String)>,
    /// Names of functions and methods called.
    pub calls: BTreeSet<String>,
    /// Names called inside conditions.
    pub cond_calls: BTreeSet<String>,
    /// The text `OUT_DIR` appears in the function (a literal or `env!`).
    pub mentions_out_dir: bool,
    /// File writes, reported once the whole function is read: offset,
    /// detail, in test code, found by the token scanner.
    pub fs_writes: Vec<(usize, String, bool, bool)>,
}

/// Where a call sits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallSite {
    pub offset: usize,
    pub in_cond: bool,
    pub in_test: bool,
    pub token_level: bool,
}

/// Records a classified call (`kind` from [`patterns::classify_path`] or a
/// known macro) made by function `f`, with its first literal argument.
pub(crate) fn record_call(
    sink: &mut Sink<'_>,
    f: &mut FnFacts,
    kind: FactKind,
    resolved: &str,
    arg: Option<&str>,
    at: CallSite,
) {
    let detail = match arg {
        Some(a) => format!("{resolved}(\"{a}\")"),
        None => resolved.to_owned(),
    };
    match kind {
        FactKind::FsWrite => {
            f.fs_writes.push((at.offset, detail, at.in_test, at.token_level));
            return;
        }
        FactKind::Process | FactKind::Network => f.netproc.push((at.offset, detail.clone())),
        FactKind::EnvRead => {
            let var = arg.unwrap_or("?");
            if var == "OUT_DIR" {
                f.mentions_out_dir = true;
            }
            if patterns::gates_on(var) {
                f.reads_env = true;
                if at.in_cond {
                    f.cond_env.push((at.offset, var.to_owned()));
                }
            }
        }
        _ => {}
    }
    sink.push(kind, at.offset, &detail, at.in_test, at.token_level);
}

/// Reports what is known once every function is read: file writes (noting
/// those in functions that never mention `OUT_DIR`), and
/// [`FactKind::EnvGated`] for each function that branches on the
/// environment and starts a program or uses the network, directly or
/// through a function of the same file that does (one level).
pub(crate) fn finish_fns(fns: &[FnFacts], sink: &mut Sink<'_>, token_level: bool) {
    for f in fns {
        for (offset, detail, in_test, tl) in &f.fs_writes {
            let detail = if f.mentions_out_dir {
                detail.clone()
            } else {
                format!("{detail} (the enclosing function does not mention OUT_DIR)")
            };
            sink.push(FactKind::FsWrite, *offset, &detail, *in_test, *tl);
        }
    }
    let env_fns: BTreeSet<&str> = fns
        .iter()
        .filter(|f| f.reads_env && !f.name.is_empty())
        .map(|f| f.name.as_str())
        .collect();
    let netproc_fns: BTreeMap<&str, &str> = fns
        .iter()
        .filter(|f| !f.name.is_empty())
        .filter_map(|f| f.netproc.first().map(|(_, d)| (f.name.as_str(), d.as_str())))
        .collect();
    for f in fns {
        let gate = f.cond_env.first().map(|(o, v)| (*o, v.clone())).or_else(|| {
            f.cond_calls
                .iter()
                .find(|c| env_fns.contains(c.as_str()))
                .map(|c| (f.offset, format!("{c}()")))
        });
        let Some((offset, var)) = gate else { continue };
        let action = f.netproc.first().map(|(_, d)| d.clone()).or_else(|| {
            f.calls
                .iter()
                .filter(|c| c.as_str() != f.name)
                .find_map(|c| netproc_fns.get(c.as_str()).map(|d| format!("{c}() -> {d}")))
        });
        let Some(action) = action else { continue };
        sink.push(
            FactKind::EnvGated,
            offset,
            &format!("{var} -> {action}"),
            f.in_test,
            token_level,
        );
    }
}
