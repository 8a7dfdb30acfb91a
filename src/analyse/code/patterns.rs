//! What a path in the code means: `use` declarations read from tokens, and
//! the tables that turn a resolved path into a fact (process, network,
//! environment, file-system write) or a known macro.
//!
//! Must not: guess beyond the file. Paths are resolved through the file's own
//! `use` declarations (all scopes merged) and glob imports; a path that stays
//! unresolved is judged by its last segments (`Command::new`,
//! `TcpStream::connect`) so that a missing import never hides a call.

use std::collections::BTreeMap;

use super::FactKind;
use super::lexer::{Kind, Tok};

/// The file's `use` declarations: alias to full path, and glob prefixes.
#[derive(Debug, Default)]
pub(crate) struct UseMap {
    aliases: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

impl UseMap {
    /// Reads every `use` declaration in the tokens (any scope, macro bodies
    /// included).
    pub fn from_tokens(toks: &[Tok], src: &str) -> Self {
        let mut map = UseMap::default();
        let mut i = 0;
        while i < toks.len() {
            if toks[i].is_ident(src, "use") {
                i += 1;
                let mut p = UseParser {
                    toks,
                    src,
                    i,
                    map: &mut map,
                    budget: 10_000,
                };
                p.tree(Vec::new());
                i = p.i.max(i);
            } else {
                i += 1;
            }
        }
        map
    }

    /// The path with its first segment replaced by what it was imported as.
    pub fn resolve(&self, segs: &[String]) -> Vec<String> {
        match segs.split_first() {
            Some((first, rest)) => match self.aliases.get(first) {
                Some(full) => full.iter().chain(rest).cloned().collect(),
                None => segs.to_vec(),
            },
            None => Vec::new(),
        }
    }

    fn is_alias(&self, name: &str) -> bool {
        self.aliases.contains_key(name)
    }

    /// Whether anything is imported from crate `name`.
    fn imports_from(&self, name: &str) -> bool {
        self.aliases
            .values()
            .chain(&self.globs)
            .any(|p| p.first().is_some_and(|f| f == name))
    }
}

/// Longest `use` path read.
const MAX_USE_DEPTH: usize = 32;

struct UseParser<'a, 'm> {
    toks: &'a [Tok],
    src: &'a str,
    i: usize,
    map: &'m mut UseMap,
    budget: u32,
}

impl UseParser<'_, '_> {
    fn tok(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn add(&mut self, alias: &str, path: Vec<String>) {
        if alias != "_" && !path.is_empty() {
            self.map.aliases.insert(alias.to_owned(), path);
        }
    }

    /// One use tree under `prefix`.
    fn tree(&mut self, mut path: Vec<String>) {
        if self.tok().is_some_and(|t| t.kind == Kind::PathSep) {
            self.i += 1;
        }
        loop {
            // Real paths are short; a long one is not worth reading.
            if self.budget == 0 || path.len() > MAX_USE_DEPTH {
                return;
            }
            self.budget -= 1;
            let Some(t) = self.tok().copied() else { return };
            match t.kind {
                Kind::Ident => {
                    let name = t.text(self.src).trim_start_matches("r#").to_owned();
                    self.i += 1;
                    match self.tok().map(|t| t.kind) {
                        Some(Kind::PathSep) => {
                            path.push(name);
                            self.i += 1;
                        }
                        Some(Kind::Ident) if self.tok().is_some_and(|t| t.is_ident(self.src, "as")) => {
                            self.i += 1;
                            let alias = self
                                .tok()
                                .filter(|t| t.kind == Kind::Ident)
                                .map(|t| t.text(self.src).to_owned());
                            if let Some(alias) = alias {
                                self.i += 1;
                                if name != "self" {
                                    path.push(name);
                                }
                                self.add(&alias, path);
                            }
                            return;
                        }
                        _ => {
                            if name == "self" {
                                if let Some(last) = path.last().cloned() {
                                    self.add(&last, path);
                                }
                            } else {
                                path.push(name.clone());
                                self.add(&name, path);
                            }
                            return;
                        }
                    }
                }
                // `$crate` in macro bodies.
                Kind::Punct('$') => self.i += 1,
                Kind::Punct('*') => {
                    self.i += 1;
                    self.map.globs.push(path);
                    return;
                }
                Kind::Open('{') => {
                    self.i += 1;
                    loop {
                        if self.budget == 0 {
                            return;
                        }
                        self.budget -= 1;
                        match self.tok().map(|t| t.kind) {
                            None => return,
                            Some(Kind::Close('}')) => {
                                self.i += 1;
                                return;
                            }
                            Some(Kind::Punct(',')) => self.i += 1,
                            Some(Kind::Ident | Kind::Open('{') | Kind::Punct('*' | '$') | Kind::PathSep) => {
                                let before = self.i;
                                self.tree(path.clone());
                                if self.i == before {
                                    self.i += 1;
                                }
                            }
                            Some(_) => return,
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

/// Crates whose use means network traffic (clients, servers, sockets, TLS,
/// DNS, remote shells and mail).
const NETWORK_CRATES: &[&str] = &[
    "actix_web",
    "async_tungstenite",
    "attohttpc",
    "awc",
    "axum",
    "curl",
    "ehttp",
    "ftp",
    "h2",
    "h3",
    "hickory_client",
    "hickory_resolver",
    "http_req",
    "hyper",
    "hyper_rustls",
    "hyper_tls",
    "hyper_util",
    "isahc",
    "lettre",
    "libp2p",
    "minreq",
    "native_tls",
    "poem",
    "quinn",
    "reqwest",
    "reqwest_middleware",
    "rocket",
    "russh",
    "socket2",
    "ssh2",
    "suppaftp",
    "surf",
    "tide",
    "tiny_http",
    "tokio_native_tls",
    "tokio_rustls",
    "tokio_tungstenite",
    "trust_dns_resolver",
    "tungstenite",
    "ureq",
    "warp",
    "websocket",
];

const SOCKET_TYPES: &[&str] = &["TcpStream", "TcpListener", "UdpSocket", "lookup_host"];

const ASYNC_RUNTIMES: &[&str] = &[
    "tokio",
    "async_std",
    "smol",
    "mio",
    "async_net",
    "async_process",
    "compio",
];

/// Functions of `libc`/`nix` that start programs.
const EXEC_FNS: &[&str] = &[
    "execl",
    "execle",
    "execlp",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "fexecve",
    "fork",
    "vfork",
    "popen",
    "posix_spawn",
    "posix_spawnp",
    "system",
];

const SOCKET_FNS: &[&str] = &["socket", "connect", "getaddrinfo", "gethostbyname", "sendto"];

const WINDOWS_CRATES: &[&str] = &[
    "windows",
    "windows_sys",
    "winapi",
    "kernel32",
    "shell32",
    "wininet",
    "urlmon",
];

const WINDOWS_PROCESS_FNS: &[&str] = &[
    "CreateProcessA",
    "CreateProcessW",
    "CreateProcessAsUserW",
    "ShellExecuteA",
    "ShellExecuteW",
    "ShellExecuteExA",
    "ShellExecuteExW",
    "WinExec",
];

const WINDOWS_NETWORK_FNS: &[&str] = &[
    "WSAStartup",
    "URLDownloadToFileA",
    "URLDownloadToFileW",
    "InternetOpenA",
    "InternetOpenW",
    "InternetOpenUrlA",
    "InternetOpenUrlW",
    "WinHttpOpen",
    "WinHttpConnect",
];

const FS_WRITE_FNS: &[&str] = &[
    "write",
    "copy",
    "rename",
    "remove_file",
    "remove_dir",
    "remove_dir_all",
    "create_dir",
    "create_dir_all",
    "set_permissions",
    "hard_link",
    "soft_link",
];

const ENV_FNS: &[&str] = &["var", "var_os", "vars", "vars_os"];

/// What a called path (`a::b::c(..)`) means, with its resolved spelling.
pub(crate) fn classify_path(map: &UseMap, segs: &[String]) -> Option<(FactKind, String)> {
    let segs: Vec<String> = segs
        .iter()
        .map(|s| s.trim_start_matches("r#").trim_start_matches('$').to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let first = segs.first()?;
    let unresolved = !map.is_alias(first) && !is_root(first);
    if unresolved {
        // A glob import may be what brings the name in.
        for g in &map.globs {
            let full: Vec<String> = g.iter().chain(&segs).cloned().collect();
            if let Some(kind) = classify_resolved(&full, false, map) {
                return Some((kind, full.join("::")));
            }
        }
    }
    let resolved = map.resolve(&segs);
    classify_resolved(&resolved, unresolved, map).map(|kind| (kind, resolved.join("::")))
}

/// First segments that are crate roots rather than imported names.
fn is_root(s: &str) -> bool {
    matches!(
        s,
        "std" | "core" | "alloc" | "crate" | "self" | "super" | "libc" | "nix"
    ) || NETWORK_CRATES.contains(&s)
        || ASYNC_RUNTIMES.contains(&s)
        || WINDOWS_CRATES.contains(&s)
}

fn classify_resolved(p: &[String], unresolved: bool, map: &UseMap) -> Option<FactKind> {
    let s: Vec<&str> = p.iter().map(String::as_str).collect();
    let std = |x: &str| matches!(x, "std" | "core");
    match s.as_slice() {
        [r, "process", "Command", ..] if std(r) || ASYNC_RUNTIMES.contains(r) => Some(FactKind::Process),
        ["async_process", "Command", ..] | ["duct", "cmd", ..] | ["subprocess", ..] | ["xshell", "cmd", ..] => {
            Some(FactKind::Process)
        }
        ["libc" | "nix", .., f] if EXEC_FNS.contains(f) => Some(FactKind::Process),
        ["libc" | "nix", .., f] if SOCKET_FNS.contains(f) => Some(FactKind::Network),
        [w, .., f] if WINDOWS_CRATES.contains(w) && WINDOWS_PROCESS_FNS.contains(f) => Some(FactKind::Process),
        [w, .., f] if WINDOWS_CRATES.contains(w) && WINDOWS_NETWORK_FNS.contains(f) => Some(FactKind::Network),
        [r, "net", t, ..] if (std(r) || ASYNC_RUNTIMES.contains(r)) && SOCKET_TYPES.contains(t) => {
            Some(FactKind::Network)
        }
        ["async_net", t, ..] if SOCKET_TYPES.contains(t) => Some(FactKind::Network),
        ["git2", "Repository", "clone" | "clone_recurse", ..]
        | ["git2", "build", "RepoBuilder", ..]
        | ["git2", "Remote", ..] => Some(FactKind::Network),
        [c, ..] if NETWORK_CRATES.contains(c) => Some(FactKind::Network),
        [r, "env", f] if std(r) && ENV_FNS.contains(f) => Some(FactKind::EnvRead),
        [r, "fs", f] if (std(r) || ASYNC_RUNTIMES.contains(r)) && FS_WRITE_FNS.contains(f) => Some(FactKind::FsWrite),
        [r, "fs", "File", "create" | "create_new" | "options"] if std(r) || ASYNC_RUNTIMES.contains(r) => {
            Some(FactKind::FsWrite)
        }
        [r, "fs", "OpenOptions", "new"] if std(r) || ASYNC_RUNTIMES.contains(r) => Some(FactKind::FsWrite),
        [r, "os", "unix", "fs", "symlink"] if std(r) => Some(FactKind::FsWrite),
        [r, "os", "windows", "fs", "symlink_file" | "symlink_dir"] if std(r) => Some(FactKind::FsWrite),
        // Unresolved names, judged by their spelling.
        ["Command", "new"] if unresolved && !map.imports_from("clap") => Some(FactKind::Process),
        [t, ..] if unresolved && SOCKET_TYPES[..3].contains(t) => Some(FactKind::Network),
        ["env", f] if unresolved && ENV_FNS.contains(f) => Some(FactKind::EnvRead),
        ["fs", f] if unresolved && FS_WRITE_FNS.contains(f) => Some(FactKind::FsWrite),
        ["File", "create" | "create_new"] | ["OpenOptions", "new"] if unresolved => Some(FactKind::FsWrite),
        _ => None,
    }
}

/// The macros with a meaning of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KnownMacro {
    /// `env!`, `option_env!`: compile-time environment.
    Env,
    /// `include!`, `include_bytes!`, `include_str!`.
    Include,
    /// `asm!`, `global_asm!`, `naked_asm!`, `llvm_asm!`.
    Asm,
}

/// A macro by its path (`env`, `std::env`, `core::arch::asm`).
pub(crate) fn known_macro(segs: &[String]) -> Option<KnownMacro> {
    let (last, init) = segs.split_last()?;
    let prefix_ok = init.is_empty() || matches!(init[0].as_str(), "std" | "core" | "$crate" | "crate");
    if !prefix_ok {
        return None;
    }
    match last.as_str() {
        "env" | "option_env" => Some(KnownMacro::Env),
        "include" | "include_bytes" | "include_str" => Some(KnownMacro::Include),
        "asm" | "global_asm" | "naked_asm" | "llvm_asm" => Some(KnownMacro::Asm),
        _ => None,
    }
}

/// Whether branching on this variable is worth a look: everything but the
/// variables cargo sets for builds (package metadata, features, target cfg,
/// output directory, ...). `CARGO_REGISTRY_TOKEN` and other secrets are not
/// in the list, so they count.
pub(crate) fn gates_on(var: &str) -> bool {
    const CARGO_SET: &[&str] = &[
        "CARGO",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_LINKS",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_LINKER",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "DOCS_RS",
    ];
    const CARGO_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_FEATURE_", "CARGO_CFG_", "DEP_", "CARGO_BIN_EXE_"];
    !(CARGO_SET.contains(&var) || CARGO_PREFIXES.iter().any(|p| var.starts_with(p)))
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split("::").map(str::to_owned).collect()
    }

    fn class(src: &str, path: &str) -> Option<(FactKind, String)> {
        let lx = lex(src);
        classify_path(&UseMap::from_tokens(&lx.toks, src), &segs(path))
    }

    #[test]
    fn use_declarations_resolve() {
        let src = "use std::{process::{self, Command as Cmd}, net::TcpStream}; use std::env; use ::reqwest as rq; use super::*; use std::io::prelude::*;";
        assert_eq!(
            class(src, "Cmd::new"),
            Some((FactKind::Process, "std::process::Command::new".into()))
        );
        assert_eq!(
            class(src, "process::Command::new").map(|c| c.0),
            Some(FactKind::Process)
        );
        assert_eq!(class(src, "TcpStream::connect").map(|c| c.0), Some(FactKind::Network));
        assert_eq!(
            class(src, "env::var"),
            Some((FactKind::EnvRead, "std::env::var".into()))
        );
        assert_eq!(
            class(src, "rq::blocking::get"),
            Some((FactKind::Network, "reqwest::blocking::get".into()))
        );
        assert_eq!(class(src, "io::stdout"), None);
    }

    #[test]
    fn clap_command_is_not_a_process() {
        assert_eq!(class("use clap::{Arg, Command};", "Command::new"), None);
        assert_eq!(class("use clap::*;", "Command::new"), None);
        assert_eq!(class("", "Command::new").map(|c| c.0), Some(FactKind::Process));
        assert_eq!(
            class("use std::process::*;", "Command::new").map(|c| c.1),
            Some("std::process::Command::new".into())
        );
        assert_eq!(
            class("use tokio::process::Command;", "Command::new").map(|c| c.0),
            Some(FactKind::Process)
        );
    }

    #[test]
    fn other_tables() {
        assert_eq!(class("", "libc::system").map(|c| c.0), Some(FactKind::Process));
        assert_eq!(class("", "std::fs::write").map(|c| c.0), Some(FactKind::FsWrite));
        assert_eq!(
            class("use std::fs::File;", "File::create").map(|c| c.0),
            Some(FactKind::FsWrite)
        );
        assert_eq!(class("", "fs::read_to_string"), None);
        assert_eq!(
            class("", "windows_sys::Win32::System::Threading::CreateProcessW").map(|c| c.0),
            Some(FactKind::Process)
        );
        assert_eq!(class("", "ureq::get").map(|c| c.0), Some(FactKind::Network));
        assert!(
            gates_on("CI") && gates_on("CARGO_REGISTRY_TOKEN") && !gates_on("CARGO_FEATURE_X") && !gates_on("OUT_DIR")
        );
        assert_eq!(known_macro(&segs("std::env")), Some(KnownMacro::Env));
        assert_eq!(known_macro(&segs("foo::env")), None);
    }
}
