//! BAD-INPUTS.md items 1-19 and 29, the cases ingest owns: hostile archives
//! and paths. Most tests call `cargofox::archive::read_crate` directly on
//! archives built with the harness's `TarBuilder` (no subprocess) and check
//! the status, the exact anomaly codes, the files in cargo's view (path,
//! executable bit, content), the extras and the escaped paths. A few run
//! `cargofox sync` end to end and check the stored commit, its trailers, the
//! extras ref and `git fsck --strict`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use cargofox::archive::{File, Limits, Status, View, read_crate};
use cargofox::types::{CrateName, VersionStr};

use crate::harness::{Cargofox, Entry, IndexEntry, TarBuilder, TestRegistry, crate_file, git, gzip, temp_dir};

// ---------------------------------------------------------------------------
// Largest-allocation probe: nothing may be allocated from a size an archive
// claims. The counter is per thread, so tests running in parallel do not see
// each other's allocations.

/// The system allocator, noting the largest single request on each thread.
struct LargestAllocation;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the slot may already be gone while a thread exits.
    let _ = LARGEST.try_with(|l| {
        if size > l.get() {
            l.set(size);
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping
// touches only a `Cell<usize>` thread-local, which never allocates.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// Runs `f` and returns its result with the largest single allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------
// Helpers

const N: &str = "hostile";
const V: &str = "1.0.0";

/// `hostile-1.0.0/<rest>`.
fn under(rest: &str) -> String {
    format!("{N}-{V}/{rest}")
}

/// `hostile-1.0.0/<rest>` for any bytes.
fn under_bytes(rest: &[u8]) -> Vec<u8> {
    let mut p = format!("{N}-{V}/").into_bytes();
    p.extend_from_slice(rest);
    p
}

fn read_with(bytes: &[u8], limits: &Limits) -> View {
    read_crate(
        bytes,
        &CrateName::new(N).expect("valid name"),
        &VersionStr::new(V).expect("valid version"),
        limits,
    )
}

fn read(bytes: &[u8]) -> View {
    read_with(bytes, &Limits::default())
}

/// Cargo's view of `tar` with its end marker, gzipped.
fn read_tar(tar: &TarBuilder) -> View {
    read(&gzip(&tar.finish()))
}

fn codes(view: &View) -> Vec<&'static str> {
    view.anomalies.iter().map(|a| a.code).collect()
}

fn details(view: &View, code: &str) -> Vec<String> {
    view.anomalies
        .iter()
        .filter(|a| a.code == code)
        .map(|a| a.detail.clone())
        .collect()
}

fn paths(files: &[File]) -> Vec<String> {
    files
        .iter()
        .map(|f| String::from_utf8(f.path.clone()).expect("stored paths are UTF-8"))
        .collect()
}

#[track_caller]
fn file<'a>(files: &'a [File], path: &str) -> &'a File {
    files
        .iter()
        .find(|f| f.path == path.as_bytes())
        .unwrap_or_else(|| panic!("no {path:?} among {:?}", paths(files)))
}

#[track_caller]
fn assert_ok(view: &View) {
    assert_eq!(view.status(), Status::Ok, "{view:#?}");
}

/// Incompressible bytes (xorshift), so a cut gzip stream loses real data.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Stored paths are valid UTF-8 without control characters (escaping turns
/// everything odd into `%XX`; plain non-ASCII letters stay).
#[track_caller]
fn assert_no_control_bytes(view: &View) {
    for f in view.files.iter().chain(&view.extras) {
        assert!(
            f.path.iter().all(|b| (0x20..0x7f).contains(b) || *b >= 0x80),
            "control byte in stored path {:?}",
            String::from_utf8_lossy(&f.path)
        );
        assert!(std::str::from_utf8(&f.path).is_ok(), "{:?}", f.path);
    }
}

// ---------------------------------------------------------------------------
// 1. Truncated gzip

#[test]
fn truncated_gzip_is_corrupt() {
    let full = crate_file(
        N,
        V,
        &[("Cargo.toml", b"[package]\n"), ("src/big.bin", &noise(64 * 1024, 7))],
    );
    assert_ok(&read(&full));
    for cut in [full.len() / 2, full.len() - 100, 30, 10, 2] {
        let view = read(&full[..cut]);
        let Status::Corrupt(reason) = view.status() else {
            panic!("cut at {cut}: expected corrupt, got {view:#?}");
        };
        assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
        assert!(view.files.is_empty() && view.extras.is_empty() && view.escaped.is_empty());
        assert_eq!(view.unpacked_size, 0);
    }
    // Not gzip at all (a bare tar).
    let view = read(&crate::harness::crate_tar(N, V, &[("a", 0o644, b"a")]));
    assert!(matches!(view.status(), Status::Corrupt(_)), "{view:#?}");
}

#[test]
fn a_missing_gzip_trailer_after_a_complete_tar_is_a_flag() {
    // Cargo stops at the tar end marker and never checks the gzip trailer, so
    // its view is complete; the damage is a fact, not a failure.
    let full = crate_file(N, V, &[("src/lib.rs", b"pub fn f() {}\n")]);
    let view = read(&full[..full.len() - 4]);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["src/lib.rs"]);
    assert_eq!(codes(&view), ["gzip-error-after-archive"], "{view:#?}");
}

// ---------------------------------------------------------------------------
// 2. Empty

#[test]
fn a_zero_byte_crate_is_empty() {
    let view = read(b"");
    assert_eq!(view.status(), Status::Empty);
    assert_eq!(view.status().as_str(), "empty");
    assert_eq!(codes(&view), ["empty-file"]);
    assert!(view.files.is_empty() && view.extras.is_empty());
    assert_eq!(view.unpacked_size, 0);
}

#[test]
fn an_empty_tar_is_ok_with_no_files() {
    for (what, bytes) in [
        ("end marker only", gzip(&TarBuilder::new().finish())),
        ("no bytes at all", gzip(b"")),
        (
            "the top directory only",
            gzip(&TarBuilder::new().dir(format!("{N}-{V}/")).finish()),
        ),
    ] {
        let view = read(&bytes);
        assert_ok(&view);
        assert!(view.files.is_empty(), "{what}: {view:#?}");
        assert!(view.extras.is_empty(), "{what}");
        assert_eq!(codes(&view), Vec::<&str>::new(), "{what}");
        assert_eq!(view.unpacked_size, 0);
    }
}

// ---------------------------------------------------------------------------
// 3 and 8. Bombs and lying headers: over-limit, memory bounded

fn small_limits() -> Limits {
    Limits {
        base_unpacked: MIB,
        ..Limits::default()
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_limit_without_allocating_it() {
    let mut tar = TarBuilder::new();
    tar.file(under("Cargo.toml"), "[package]\n")
        .file(under("bomb.bin"), vec![0u8; 8 * MIB as usize]);
    let bytes = gzip(&tar.finish());
    drop(tar);
    assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
    let (view, largest) = largest_allocation(|| read_with(&bytes, &small_limits()));
    let Status::OverLimit(reason) = view.status() else {
        panic!("expected over-limit: {view:#?}");
    };
    assert_eq!(
        reason,
        format!("entry 2 claims {} bytes; unpacked limit {MIB} bytes", 8 * MIB)
    );
    assert!(view.files.is_empty() && view.extras.is_empty());
    assert!(largest < 256 * 1024, "largest allocation {largest} bytes");
}

#[test]
fn many_honest_entries_past_the_limit_are_over_limit() {
    let mut tar = TarBuilder::new();
    for i in 0..16 {
        tar.file(under(&format!("part{i}.bin")), vec![0u8; 128 * 1024]);
    }
    let bytes = gzip(&tar.finish());
    let (view, largest) = largest_allocation(|| read_with(&bytes, &small_limits()));
    let Status::OverLimit(reason) = view.status() else {
        panic!("expected over-limit: {view:#?}");
    };
    assert!(reason.contains(&MIB.to_string()), "{reason}");
    assert!(view.files.is_empty());
    assert!(largest <= 2 * MIB as usize, "largest allocation {largest} bytes");
    // The same archive is fine under the default limits.
    assert_ok(&read(&bytes));
}

#[test]
fn a_bomb_in_a_gnu_long_name_is_over_limit() {
    // The tar crate reads long names itself; the limit applies to them too.
    let mut tar = TarBuilder::new();
    tar.gnu_long_name(vec![b'n'; 3 * MIB as usize]).file(under("x"), "x");
    let bytes = gzip(&tar.finish());
    let (view, largest) = largest_allocation(|| read_with(&bytes, &small_limits()));
    assert!(matches!(view.status(), Status::OverLimit(_)), "{view:#?}");
    assert!(largest <= 4 * MIB as usize, "largest allocation {largest} bytes");
}

#[test]
fn a_header_claiming_4_gib_is_over_limit_at_once() {
    let mut tar = TarBuilder::new();
    tar.file(under("Cargo.toml"), "[package]\n")
        .entry(Entry::file(under("huge.bin"), "tiny").claimed_size(4 << 30));
    let bytes = gzip(&tar.finish());
    let (view, largest) = largest_allocation(|| read(&bytes));
    assert_eq!(
        view.status(),
        Status::OverLimit(format!(
            "entry 2 claims {} bytes; unpacked limit {} bytes",
            4u64 << 30,
            512 * MIB
        ))
    );
    assert!(view.files.is_empty());
    assert!(largest < MIB as usize, "largest allocation {largest} bytes");
}

#[test]
fn a_header_claiming_less_than_the_limit_allocates_nothing_from_the_claim() {
    // 400 MiB claimed (under the 512 MiB limit), 4 bytes present: cargo's
    // unpack fails ("failed to write entire file"); nothing of the claimed
    // size may be reserved.
    let mut tar = TarBuilder::new();
    tar.entry(Entry::file(under("liar.bin"), "tiny").claimed_size(400 * MIB));
    let bytes = gzip(&tar.finish());
    let (view, largest) = largest_allocation(|| read(&bytes));
    assert!(matches!(view.status(), Status::Corrupt(_)), "{view:#?}");
    assert!(view.files.is_empty());
    assert!(largest < 4 * MIB as usize, "largest allocation {largest} bytes");
}

#[test]
fn an_entry_shorter_than_its_header_is_corrupt() {
    // The last entry claims 2000 bytes; the stream ends after ~1.5 KiB.
    let mut tar = TarBuilder::new();
    tar.file(under("ok.rs"), "ok")
        .entry(Entry::file(under("short.rs"), "only this").claimed_size(2000));
    let view = read(&gzip(&tar.finish()));
    let Status::Corrupt(reason) = view.status() else {
        panic!("expected corrupt: {view:#?}");
    };
    assert!(reason.contains("entry 2"), "{reason}");
    assert!(view.files.is_empty());
}

#[test]
fn two_hundred_thousand_entries_hit_the_entry_limit() {
    let mut tar = TarBuilder::new();
    for i in 0..200_000 {
        tar.file(under(&format!("f{i}")), b"");
    }
    let bytes = gzip(&tar.finish());
    drop(tar);
    let limits = Limits {
        max_entries: 1000,
        ..Limits::default()
    };
    let (view, largest) = largest_allocation(|| read_with(&bytes, &limits));
    assert_eq!(
        view.status(),
        Status::OverLimit("more than 1000 entries in the archive".into())
    );
    assert!(view.files.is_empty() && view.extras.is_empty());
    assert!(largest < MIB as usize, "largest allocation {largest} bytes");
}

#[test]
fn the_entry_limit_is_exact() {
    let mut tar = TarBuilder::new();
    for i in 0..10 {
        tar.file(under(&format!("f{i}")), b"x");
    }
    let bytes = gzip(&tar.finish());
    let at = |max_entries| {
        read_with(
            &bytes,
            &Limits {
                max_entries,
                ..Limits::default()
            },
        )
    };
    assert_ok(&at(10));
    assert_eq!(at(10).files.len(), 10);
    assert!(matches!(at(9).status(), Status::OverLimit(_)));
}

#[test]
fn the_ratio_raises_the_limit_for_big_crates() {
    let limits = Limits {
        base_unpacked: 1000,
        ratio: 20,
        ..Limits::default()
    };
    assert_eq!(limits.max_unpacked(10), 1000);
    assert_eq!(limits.max_unpacked(100), 2000);
    assert_eq!(Limits::default().max_unpacked(100 * MIB as usize), 2000 * MIB);
}

// ---------------------------------------------------------------------------
// 4. Bytes cargo never reads

#[test]
fn a_second_gzip_member_is_ignored_and_flagged() {
    let first = crate_file(N, V, &[("src/lib.rs", b"first member\n")]);
    let second = crate_file(N, V, &[("src/lib.rs", b"second member\n"), ("evil.rs", b"x")]);
    let mut bytes = first.clone();
    bytes.extend_from_slice(&second);
    let view = read(&bytes);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["src/lib.rs"]);
    assert_eq!(file(&view.files, "src/lib.rs").data, b"first member\n");
    assert_eq!(codes(&view), ["second-gzip-member"]);
    assert_eq!(
        details(&view, "second-gzip-member"),
        [format!(
            "{} bytes after the first gzip member (cargo ignores them)",
            second.len()
        )]
    );
}

#[test]
fn bytes_after_the_gzip_member_are_flagged() {
    let mut bytes = crate_file(N, V, &[("a.rs", b"a")]);
    bytes.extend_from_slice(b"PK\x03\x04 trailing");
    let view = read(&bytes);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["a.rs"]);
    assert_eq!(codes(&view), ["trailing-bytes"]);
}

#[test]
fn junk_after_the_end_of_archive_is_flagged() {
    let mut tar = TarBuilder::new();
    tar.file(under("a.rs"), "a");
    // A whole hidden entry after the end marker, then noise.
    let mut hidden = TarBuilder::new();
    hidden.file(under("hidden.rs"), "never unpacked by cargo");
    let mut junk = hidden.finish_without_end_marker();
    junk.extend_from_slice(b"JUNK");
    let view = read(&gzip(&tar.finish_with_junk(&junk)));
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["a.rs"]);
    assert_eq!(codes(&view), ["junk-after-end-of-archive"]);
    let nonzero = junk.iter().filter(|&&b| b != 0).count();
    assert_eq!(
        details(&view, "junk-after-end-of-archive"),
        [format!("{nonzero} non-zero bytes after the tar end-of-archive marker")]
    );
    // Zero padding after the marker (as GNU tar writes to a record) is not junk.
    let view = read(&gzip(&tar.finish_with_junk(vec![0u8; 8192])));
    assert_eq!(codes(&view), Vec::<&str>::new());
}

#[test]
fn a_tail_past_the_limit_is_read_no_further() {
    let mut tar = TarBuilder::new();
    tar.file(under("a.rs"), "a");
    let bytes = gzip(&tar.finish_with_junk(vec![0u8; 4 * MIB as usize]));
    let (view, largest) = largest_allocation(|| read_with(&bytes, &small_limits()));
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["a.rs"]);
    assert_eq!(codes(&view), ["gzip-error-after-archive"]);
    assert!(
        details(&view, "gzip-error-after-archive")[0].contains("limit"),
        "{view:#?}"
    );
    assert!(largest < 256 * 1024, "largest allocation {largest} bytes");
}

// ---------------------------------------------------------------------------
// 5. PAX size against ustar size

#[test]
fn a_pax_size_that_disagrees_with_ustar_is_flagged_and_pax_wins() {
    let mut tar = TarBuilder::new();
    tar.pax(&[("size", b"10")])
        .entry(Entry::file(under("longer.rs"), "0123456789").claimed_size(5))
        .pax(&[("size", b"3")])
        .entry(Entry::file(under("shorter.rs"), "abcdefgh"))
        .file(under("after.rs"), "after");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["after.rs", "longer.rs", "shorter.rs"]);
    // The tar crate (cargo) reads the PAX size.
    assert_eq!(file(&view.files, "longer.rs").data, b"0123456789");
    assert_eq!(file(&view.files, "shorter.rs").data, b"abc");
    assert_eq!(file(&view.files, "after.rs").data, b"after");
    assert_eq!(codes(&view), ["pax-size-mismatch", "pax-size-mismatch"]);
    assert_eq!(
        details(&view, "pax-size-mismatch"),
        [
            format!("{N}-{V}/longer.rs entry=1 ustar-size=5 pax-size=10"),
            format!("{N}-{V}/shorter.rs entry=2 ustar-size=8 pax-size=3"),
        ]
    );
}

// ---------------------------------------------------------------------------
// 6. Links and special files

#[test]
fn links_and_devices_are_listed_never_followed() {
    let mut tar = TarBuilder::new();
    tar.file(under("src/lib.rs"), "ok")
        .symlink(under("link"), "/etc/passwd")
        .hardlink(under("hard"), under("src/lib.rs"))
        .fifo(under("fifo"))
        .char_device(under("tty"), 5, 0)
        .block_device(under("sda"), 8, 0);
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["src/lib.rs"]);
    assert!(view.extras.is_empty());
    assert_eq!(
        codes(&view),
        [
            "link-entry",
            "link-entry",
            "special-entry",
            "special-entry",
            "special-entry"
        ]
    );
    let d = details(&view, "link-entry");
    assert_eq!(
        d[0],
        format!("{N}-{V}/link entry=2 symlink target=/etc/passwd (cargo >= 1.96 refuses)")
    );
    assert_eq!(
        d[1],
        format!("{N}-{V}/hard entry=3 hardlink target={N}-{V}/src/lib.rs (cargo >= 1.96 refuses)")
    );
    let d = details(&view, "special-entry");
    assert!(d[0].contains("type=Fifo") && d[1].contains("type=Char") && d[2].contains("type=Block"));
    assert!(d.iter().all(|x| x.ends_with("(cargo >= 1.96 refuses)")));
}

// ---------------------------------------------------------------------------
// 7 and 17. The prefix, normalisation, `.cargo-ok`

#[test]
fn entries_outside_the_prefix_are_kept_in_extras() {
    let mut tar = TarBuilder::new();
    tar.file(under("Cargo.toml"), "ok")
        .file("other-1.0.0/x.rs", "x")
        .file("evil.txt", "e")
        .file(format!("{N}-{V}x/y"), "a longer first component")
        .file(format!("{N}-1.0.1/z"), "another version")
        .file(format!("{N}-{V}"), "a file at the prefix itself")
        .dir("elsewhere/")
        .symlink("outside-link", "/");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["Cargo.toml"]);
    assert_eq!(
        paths(&view.extras),
        [
            "e000002/other-1.0.0/x.rs".to_owned(),
            "e000003/evil.txt".to_owned(),
            format!("e000004/{N}-{V}x/y"),
            format!("e000005/{N}-1.0.1/z"),
            format!("e000006/{N}-{V}"),
        ]
    );
    assert_eq!(file(&view.extras, "e000003/evil.txt").data, b"e");
    // Cargo checks every entry, directories and links included.
    assert_eq!(
        codes(&view),
        [
            "outside-prefix",
            "outside-prefix",
            "outside-prefix",
            "outside-prefix",
            "outside-prefix",
            "outside-prefix",
            "outside-prefix",
            "link-entry"
        ]
    );
    assert_eq!(
        details(&view, "outside-prefix")[1],
        format!("evil.txt entry=3 (not under {N}-{V}/; cargo refuses the crate)")
    );
}

#[test]
fn paths_are_normalised_as_cargo_normalises_them() {
    let mut tar = TarBuilder::new();
    tar.file(under("a//b.rs"), "double slash")
        .file(under("./c.rs"), "inner dot")
        .file(format!("{N}-{V}//d.rs"), "double slash after the prefix")
        .dir(under("dir/"))
        .dir(format!("{N}-{V}"))
        .file(under("e.rs"), "plain");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["a/b.rs", "c.rs", "d.rs", "e.rs"]);
    assert!(view.extras.is_empty());
    assert_eq!(codes(&view), ["path-normalised", "path-normalised", "path-normalised"]);
    assert_eq!(
        details(&view, "path-normalised"),
        [
            format!("{N}-{V}/a//b.rs entry=1"),
            format!("{N}-{V}/./c.rs entry=2"),
            format!("{N}-{V}//d.rs entry=3"),
        ]
    );
}

#[test]
fn a_leading_slash_or_dot_fails_cargos_prefix_check() {
    // `Path::new("/hostile-1.0.0/x").starts_with("hostile-1.0.0")` is false,
    // and so is `./hostile-1.0.0/x`: cargo refuses such a crate.
    let mut tar = TarBuilder::new();
    tar.file(format!("/{N}-{V}/abs.rs"), "absolute")
        .file(format!("./{N}-{V}/dot.rs"), "leading dot")
        .file("/etc/passwd", "root:x:0:0")
        .file(under("ok.rs"), "ok");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["ok.rs"]);
    assert_eq!(
        paths(&view.extras),
        [
            format!("e000001/{N}-{V}/abs.rs"),
            format!("e000002/%2E/{N}-{V}/dot.rs"),
            "e000003/etc/passwd".to_owned(),
        ]
    );
    assert_eq!(
        codes(&view),
        [
            "absolute-path",
            "outside-prefix",
            "path-normalised",
            "outside-prefix",
            "absolute-path",
            "outside-prefix"
        ]
    );
}

#[test]
fn cargo_ok_is_dropped_and_kept_in_extras() {
    let mut tar = TarBuilder::new();
    tar.file(under(".cargo-ok"), "{\"v\":1}")
        .file(under("sub/.cargo-ok"), "nested")
        .file(under(".cargo-ok.rs"), "not the lock file");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), [".cargo-ok.rs"]);
    assert_eq!(
        paths(&view.extras),
        [
            format!("e000001/{N}-{V}/.cargo-ok"),
            format!("e000002/{N}-{V}/sub/.cargo-ok")
        ]
    );
    assert_eq!(
        file(&view.extras, &format!("e000001/{N}-{V}/.cargo-ok")).data,
        b"{\"v\":1}"
    );
    assert_eq!(codes(&view), ["cargo-ok", "cargo-ok"]);
}

// ---------------------------------------------------------------------------
// 9. Long paths

#[test]
fn gnu_long_names_and_4_kib_pax_paths_are_handled() {
    let long = format!("long/{}.rs", "x".repeat(280));
    // Exactly 4096 bytes, the path limit.
    let mut pax_rest = String::new();
    while pax_rest.len() + 201 < 4096 - under("").len() - 3 {
        pax_rest.push_str(&"d".repeat(200));
        pax_rest.push('/');
    }
    pax_rest.push_str(&"f".repeat(4096 - under("").len() - pax_rest.len() - 3));
    pax_rest.push_str(".rs");
    assert_eq!(under(&pax_rest).len(), 4096);

    let mut tar = TarBuilder::new();
    tar.long_name_file(under(&long), "gnu")
        .pax(&[("path", under(&pax_rest).as_bytes())])
        .entry(Entry::file("placeholder", "pax"))
        .file(under("short.rs"), "short");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(codes(&view), Vec::<&str>::new());
    assert_eq!(view.files.len(), 3);
    assert_eq!(file(&view.files, &long).data, b"gnu");
    assert_eq!(file(&view.files, &pax_rest).data, b"pax");
    assert!(view.escaped.is_empty());

    // One byte more is past the path limit.
    let mut tar = TarBuilder::new();
    tar.pax(&[("path", under(&format!("{pax_rest}x")).as_bytes())])
        .entry(Entry::file("placeholder", "pax"));
    assert_eq!(
        read_tar(&tar).status(),
        Status::OverLimit("entry 1 has a path of 4097 bytes (limit 4096)".into())
    );
}

// ---------------------------------------------------------------------------
// 12. `..`

#[test]
fn dotdot_entries_are_skipped_and_kept_escaped_in_extras() {
    let mut tar = TarBuilder::new();
    tar.file(under("a/../b"), "dotdot")
        .file(under("../escape"), "up and out")
        .file("../outside", "not under the prefix at all")
        .file(under("b"), "the real b");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["b"]);
    assert_eq!(file(&view.files, "b").data, b"the real b");
    assert_eq!(
        paths(&view.extras),
        [
            format!("e000001/{N}-{V}/a/%2E%2E/b"),
            format!("e000002/{N}-{V}/%2E%2E/escape"),
            "e000003/%2E%2E/outside".to_owned(),
        ]
    );
    assert_eq!(
        file(&view.extras, &format!("e000001/{N}-{V}/a/%2E%2E/b")).data,
        b"dotdot"
    );
    // Cargo's order: `../outside` fails the prefix check before tar skips `..`.
    assert_eq!(codes(&view), ["dotdot-path", "dotdot-path", "outside-prefix"]);
    assert_eq!(
        details(&view, "dotdot-path")[0],
        format!("{N}-{V}/a/../b entry=1 (cargo skips it)")
    );
}

// ---------------------------------------------------------------------------
// 13 and 14. Names git refuses

#[test]
fn git_aliases_are_escaped() {
    let mut tar = TarBuilder::new();
    tar.file_with_mode(under(".git/hooks/pre-commit"), 0o755, "#!/bin/sh\nrm -rf ~\n")
        .file(under(".GIT/config"), "[core]\n")
        .file(under(".g\u{200c}it/x"), "hfs-ignorable")
        .file(under("git~1/x"), "ntfs short name")
        .file(under("sub/.git"), "gitdir: /tmp/elsewhere\n")
        .file(under(".Git/y"), "mixed case");
    let view = read_tar(&tar);
    assert_ok(&view);
    let expected = [
        "%2EGIT/config",
        "%2EGit/y",
        "%2Eg%E2%80%8Cit/x",
        "%2Egit/hooks/pre-commit",
        "git%7E1/x",
        "sub/%2Egit",
    ];
    assert_eq!(paths(&view.files), expected);
    assert_eq!(view.escaped, expected);
    let hook = file(&view.files, "%2Egit/hooks/pre-commit");
    assert!(hook.executable);
    assert_eq!(hook.data, b"#!/bin/sh\nrm -rf ~\n");
    // No two files differ only by case (their directories do; that loses nothing).
    assert_eq!(codes(&view), Vec::<&str>::new());
    assert!(view.extras.is_empty());
    // Escaping is reversible: the printable form decodes to the raw path.
    assert_eq!(
        cargofox::archive::escape::unescape("%2Eg%E2%80%8Cit/x"),
        ".g\u{200c}it/x".as_bytes()
    );
}

#[test]
fn git_aliases_with_trailing_dots_and_spaces_are_escaped() {
    let mut tar = TarBuilder::new();
    tar.file(under(".git./y"), "dot").file(under(".git /z"), "space");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["%2Egit%20/z", "%2Egit%2E/y"]);
    assert_eq!(view.escaped, ["%2Egit%20/z", "%2Egit%2E/y"]);
    assert_eq!(
        codes(&view),
        ["windows-trailing-dot-or-space", "windows-trailing-dot-or-space"]
    );
}

const HOSTILE_GITMODULES: &str = "[submodule \"x\"]\n\tpath = x\n\turl = -oProxyCommand=touch${IFS}/tmp/pwned\n";

fn long_gitattributes() -> Vec<u8> {
    let mut a = b"* text=auto\n".to_vec();
    a.extend_from_slice(&[b'a'; 3000]);
    a.extend_from_slice(b" -diff\n");
    a
}

#[test]
fn gitmodules_and_oversized_gitattributes_are_escaped() {
    let mut tar = TarBuilder::new();
    tar.file(under(".gitmodules"), HOSTILE_GITMODULES)
        .file(under("sub/.GITMODULES"), HOSTILE_GITMODULES)
        .file(under("gitmod~1"), HOSTILE_GITMODULES)
        .file(under(".gitattributes"), long_gitattributes())
        .file(under("ok/.gitattributes"), "* text=auto\n")
        .file(under("attrdir/.gitattributes/x"), "a directory named .gitattributes");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(
        paths(&view.files),
        [
            "%2Egitattributes",
            "%2Egitmodules",
            "attrdir/%2Egitattributes/x",
            "gitmod%7E1",
            "ok/.gitattributes",
            "sub/%2EGITMODULES",
        ]
    );
    assert_eq!(
        view.escaped,
        [
            "%2Egitattributes",
            "%2Egitmodules",
            "attrdir/%2Egitattributes/x",
            "gitmod%7E1",
            "sub/%2EGITMODULES",
        ]
    );
    assert_eq!(file(&view.files, "%2Egitmodules").data, HOSTILE_GITMODULES.as_bytes());
    assert_eq!(file(&view.files, "%2Egitattributes").data, long_gitattributes());
    assert_eq!(codes(&view), Vec::<&str>::new());
}

#[test]
fn an_oversized_gitattributes_in_extras_is_escaped_too() {
    // Shadowed by a later copy: the first goes to extras, which fsck checks
    // just the same.
    let mut tar = TarBuilder::new();
    tar.file(under(".gitattributes"), long_gitattributes())
        .file(under(".gitattributes"), "* -text\n")
        .file("outside/.gitattributes/x", "a directory again");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), [".gitattributes"]);
    assert_eq!(
        paths(&view.extras),
        [
            format!("e000001/{N}-{V}/%2Egitattributes"),
            "e000003/outside/%2Egitattributes/x".to_owned(),
        ]
    );
}

// ---------------------------------------------------------------------------
// 15. Names other systems cannot hold: kept, flagged

#[test]
fn case_twins_normalisation_twins_and_windows_names_are_kept_and_flagged() {
    let mut tar = TarBuilder::new();
    tar.file(under("README.md"), "upper")
        .file(under("readme.md"), "lower")
        .file(under("caf\u{e9}.rs"), "nfc")
        .file(under("cafe\u{301}.rs"), "nfd")
        .file(under("CON.rs"), "con")
        .file(under("src/aux"), "aux")
        .file(under("x."), "trailing dot")
        .file(under("y "), "trailing space");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(
        paths(&view.files),
        [
            "CON.rs",
            "README.md",
            "cafe\u{301}.rs",
            "caf\u{e9}.rs",
            "readme.md",
            "src/aux",
            "x.",
            "y "
        ]
    );
    assert_eq!(file(&view.files, "README.md").data, b"upper");
    assert_eq!(file(&view.files, "readme.md").data, b"lower");
    assert!(view.escaped.is_empty() && view.extras.is_empty());
    assert_eq!(
        codes(&view),
        [
            "windows-reserved-name",
            "windows-reserved-name",
            "windows-trailing-dot-or-space",
            "windows-trailing-dot-or-space",
            "case-collision",
            "unicode-normalisation-collision"
        ]
    );
    assert_eq!(
        details(&view, "case-collision"),
        [format!("{N}-{V}/README.md {N}-{V}/readme.md")]
    );
    assert_eq!(
        details(&view, "unicode-normalisation-collision"),
        [format!("{N}-{V}/cafe%CC%81.rs {N}-{V}/caf%C3%A9.rs")]
    );
    assert_eq!(
        details(&view, "windows-reserved-name"),
        [format!("{N}-{V}/CON.rs entry=5"), format!("{N}-{V}/src/aux entry=6")]
    );
}

// ---------------------------------------------------------------------------
// 16. Duplicates and file/directory conflicts

#[test]
fn the_last_duplicate_wins_and_the_shadowed_one_is_kept() {
    let mut tar = TarBuilder::new();
    tar.file(under("src/lib.rs"), "first")
        .file(under("src/lib.rs"), "second")
        .file(under("same.rs"), "same")
        .file(under("same.rs"), "same")
        .file_with_mode(under("mode.sh"), 0o644, "#!/bin/sh\n")
        .file_with_mode(under("mode.sh"), 0o755, "#!/bin/sh\n")
        .file(under("src//lib.rs"), "third, after normalisation");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["mode.sh", "same.rs", "src/lib.rs"]);
    assert_eq!(file(&view.files, "src/lib.rs").data, b"third, after normalisation");
    assert!(file(&view.files, "mode.sh").executable);
    assert_eq!(
        paths(&view.extras),
        [
            format!("e000001/{N}-{V}/src/lib.rs"),
            format!("e000002/{N}-{V}/src/lib.rs"),
            format!("e000003/{N}-{V}/same.rs"),
            format!("e000005/{N}-{V}/mode.sh"),
        ]
    );
    assert_eq!(
        file(&view.extras, &format!("e000001/{N}-{V}/src/lib.rs")).data,
        b"first"
    );
    assert_eq!(
        file(&view.extras, &format!("e000002/{N}-{V}/src/lib.rs")).data,
        b"second"
    );
    assert!(!file(&view.extras, &format!("e000005/{N}-{V}/mode.sh")).executable);
    assert_eq!(
        codes(&view),
        [
            "duplicate-path",
            "duplicate-path",
            "duplicate-path",
            "path-normalised",
            "duplicate-path"
        ]
    );
    assert_eq!(
        details(&view, "duplicate-path"),
        [
            format!("{N}-{V}/src/lib.rs entries=1,2 different content; the last wins"),
            format!("{N}-{V}/same.rs entries=3,4 same content; the last wins"),
            format!("{N}-{V}/mode.sh entries=5,6 different content; the last wins"),
            format!("{N}-{V}/src//lib.rs entries=2,7 different content; the last wins"),
        ]
    );
    assert_eq!(view.unpacked_size, (4 + 10 + 26) as u64);
}

#[test]
fn a_file_that_is_also_a_directory_goes_to_extras() {
    let mut tar = TarBuilder::new();
    tar.file(under("a"), "file a")
        .file(under("a/b"), "file a/b")
        .file(under("c/d"), "file c/d")
        .file(under("c"), "file c")
        .file(under("x"), "x")
        .file(under("x/y"), "x/y")
        .file(under("x/y/z"), "x/y/z");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), ["a/b", "c/d", "x/y/z"]);
    assert_eq!(
        paths(&view.extras),
        [
            format!("e000001/{N}-{V}/a"),
            format!("e000004/{N}-{V}/c"),
            format!("e000005/{N}-{V}/x"),
            format!("e000006/{N}-{V}/x/y"),
        ]
    );
    assert_eq!(file(&view.extras, &format!("e000004/{N}-{V}/c")).data, b"file c");
    assert_eq!(
        codes(&view),
        [
            "file-directory-conflict",
            "file-directory-conflict",
            "file-directory-conflict",
            "file-directory-conflict"
        ]
    );
    assert_eq!(
        details(&view, "file-directory-conflict")[0],
        format!("{N}-{V}/a entry=1 is a file and a directory; the directory is kept")
    );
}

// ---------------------------------------------------------------------------
// 18. Odd bytes in names

#[test]
fn odd_bytes_in_names_are_escaped_and_harmless_ones_kept() {
    let mut tar = TarBuilder::new();
    tar.file(under_bytes(b"bad\xff\xfe.rs"), "latin-1")
        .file(under("new\nline.rs"), "newline")
        .file(under("tab\there.rs"), "tab")
        .file(under("esc\u{1b}[31m.rs"), "terminal escape")
        .file(under("100%.rs"), "percent")
        .file(under("zero\u{200b}width.rs"), "zero-width space")
        .file(under("rlo\u{202e}sr.txt"), "right-to-left override")
        .file(under("pipe|name.rs"), "pipe")
        .file(under("back`tick`.rs"), "backticks")
        .file(under("caf\u{e9}.rs"), "plain unicode")
        .long_name_file(under_bytes(b"nul\0byte.rs"), "nul via a GNU long name");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_no_control_bytes(&view);
    let escaped = [
        "100%25.rs",
        "bad%FF%FE.rs",
        "esc%1B[31m.rs",
        "new%0Aline.rs",
        "nul%00byte.rs",
        "rlo%E2%80%AEsr.txt",
        "tab%09here.rs",
        "zero%E2%80%8Bwidth.rs",
    ];
    assert_eq!(view.escaped, escaped);
    for p in escaped {
        let f = file(&view.files, p);
        assert!(!f.executable);
    }
    assert_eq!(file(&view.files, "bad%FF%FE.rs").data, b"latin-1");
    assert_eq!(file(&view.files, "nul%00byte.rs").data, b"nul via a GNU long name");
    // Git holds these as they are; they are a rendering matter, not a storage one.
    assert_eq!(file(&view.files, "pipe|name.rs").data, b"pipe");
    assert_eq!(file(&view.files, "back`tick`.rs").data, b"backticks");
    assert_eq!(file(&view.files, "caf\u{e9}.rs").data, b"plain unicode");
    assert_eq!(view.files.len(), 11);
    assert_eq!(codes(&view), Vec::<&str>::new());
    // Every escaped path decodes back to the raw name.
    assert_eq!(cargofox::archive::escape::unescape("bad%FF%FE.rs"), b"bad\xff\xfe.rs");
    assert_eq!(cargofox::archive::escape::unescape("100%25.rs"), b"100%.rs");
}

// ---------------------------------------------------------------------------
// Executable bits

#[test]
fn any_execute_bit_makes_a_file_executable() {
    let modes = [
        0o644, 0o755, 0o700, 0o744, 0o710, 0o701, 0o100, 0o010, 0o001, 0o666, 0o4644, 0o2644, 0o1644, 0o444, 0o000,
        0o7777,
    ];
    let mut tar = TarBuilder::new();
    for m in modes {
        tar.file_with_mode(under(&format!("m{m:05o}")), m, format!("{m:o}"));
    }
    let view = read_tar(&tar);
    assert_ok(&view);
    for m in modes {
        let f = file(&view.files, &format!("m{m:05o}"));
        assert_eq!(f.executable, m & 0o111 != 0, "mode {m:o}");
    }
}

// ---------------------------------------------------------------------------
// 19. `.cargo_vcs_info.json`: content, never interpreted

#[test]
fn vcs_info_claims_are_stored_as_plain_files() {
    let hostile = br#"{"git":{"sha1":"0000000000000000000000000000000000000000","dirty":false},"path_in_vcs":"../.."}"#;
    let mut tar = TarBuilder::new();
    tar.file(under(".cargo_vcs_info.json"), hostile)
        .file(under("sub/.cargo_vcs_info.json"), "{not json");
    let view = read_tar(&tar);
    assert_ok(&view);
    assert_eq!(paths(&view.files), [".cargo_vcs_info.json", "sub/.cargo_vcs_info.json"]);
    assert_eq!(file(&view.files, ".cargo_vcs_info.json").data, hostile);
    assert_eq!(codes(&view), Vec::<&str>::new());
}

// ---------------------------------------------------------------------------
// End to end: `cargofox sync` stores all of it, and the store stays fsck-clean

fn store(data: &Path) -> PathBuf {
    data.join("store.git")
}

/// `git fsck --strict` on the store, failing with everything git printed
/// (missing objects are reported on stdout). A store has an unborn HEAD: git
/// prints a notice about it and still exits 0.
#[track_caller]
fn fsck(data: &Path) {
    let home = temp_dir();
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(store(data))
        .args(["fsck", "--strict", "--no-progress", "--no-dangling"])
        .env_remove("GIT_DIR")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home.path())
        .output()
        .expect("run git fsck");
    assert!(
        out.status.success(),
        "git fsck --strict failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn message(data: &Path, name: &str, vers: &str) -> String {
    git(
        &store(data),
        &["show", "-s", "--format=%B", &format!("refs/crates/{name}/{vers}")],
    )
}

fn trailer_values(msg: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}: ");
    msg.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

fn ref_exists(data: &Path, name: &str) -> bool {
    !git(&store(data), &["for-each-ref", "--format=%(refname)", name])
        .trim()
        .is_empty()
}

/// One archive holding every hostile path and entry kind of items 4-18.
fn everything_tar(name: &str, vers: &str) -> Vec<u8> {
    let u = |rest: &str| format!("{name}-{vers}/{rest}");
    let ub = |rest: &[u8]| {
        let mut p = format!("{name}-{vers}/").into_bytes();
        p.extend_from_slice(rest);
        p
    };
    let mut deep = String::new();
    while deep.len() < 3000 {
        deep.push_str("a/");
    }
    deep.push_str("deep.rs");
    let mut tar = TarBuilder::new();
    tar.file(
        u("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"{vers}\"\n"),
    )
    .file_with_mode(u("src/lib.rs"), 0o755, "pub fn f() {}\n")
    // 5, 6
    .pax(&[("size", b"4")])
    .entry(Entry::file(u("pax.rs"), "paxx").claimed_size(2))
    .symlink(u("link"), "/etc/passwd")
    .hardlink(u("hard"), u("src/lib.rs"))
    .fifo(u("fifo"))
    .char_device(u("tty"), 5, 0)
    .block_device(u("sda"), 8, 0)
    // 7, 17
    .file("evil.txt", "outside")
    .file(format!("/{name}-{vers}/abs.rs"), "absolute")
    .file(format!("./{name}-{vers}/dot.rs"), "leading dot")
    .file(u("a//b.rs"), "double slash")
    .file(u(".cargo-ok"), "ok")
    // 9
    .long_name_file(u(&format!("long/{}.rs", "l".repeat(300))), "gnu long")
    .pax(&[("path", u(&deep).as_bytes())])
    .entry(Entry::file("placeholder", "deep"))
    // 12, 13, 14
    .file(u("x/../y"), "dotdot")
    .file_with_mode(u(".git/hooks/pre-commit"), 0o755, "#!/bin/sh\n")
    .file(u(".GIT/config"), "[core]\n")
    .file(u(".g\u{200c}it/x"), "hfs")
    .file(u("git~1/x"), "ntfs")
    .file(u(".gitmodules"), HOSTILE_GITMODULES)
    .file(u(".gitattributes"), long_gitattributes())
    .file(u("attrs/.gitattributes/x"), "directory named .gitattributes")
    // 15
    .file(u("README.md"), "upper")
    .file(u("readme.md"), "lower")
    .file(u("caf\u{e9}.rs"), "nfc")
    .file(u("cafe\u{301}.rs"), "nfd")
    .file(u("CON.rs"), "con")
    .file(u("trailing."), "dot")
    // 16
    .file(u("dup.rs"), "first")
    .file(u("dup.rs"), "second")
    .file(u("fd"), "file")
    .file(u("fd/inner"), "directory wins")
    .file(u("sub/.gitattributes"), long_gitattributes())
    .file(u("sub/.gitattributes"), "* -text\n")
    // 18
    .file(ub(b"bad\xff.rs"), "latin-1")
    .file(u("new\nline.rs"), "newline\n")
    .file(u("Cargofox-Status: ok\nfake.rs"), "trailer injection attempt")
    .file(u("pipe|back`tick`.rs"), "rendering only")
    .file(u("100%.rs"), "percent");
    tar.finish_with_junk("junk after the end")
}

#[test]
fn a_crate_with_every_hostile_path_syncs_cleanly() {
    let name = "everything";
    let vers = "1.0.0";
    let bytes = gzip(&everything_tar(name, vers));
    let expected = read_crate(
        &bytes,
        &CrateName::new(name).unwrap(),
        &VersionStr::new(vers).unwrap(),
        &Limits::default(),
    );
    assert_ok(&expected);
    let mut reg = TestRegistry::new();
    reg.add(name, vers, bytes.clone());
    let data = temp_dir();
    let out = Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .sync(&[name])
        .run();
    out.assert_success()
        .assert_stdout_contains("everything: 1 added, 0 already stored, 0 failed");
    let d = data.path();
    let msg = message(d, name, vers);

    // The message: a subject, one blank line, then only trailers.
    let mut lines = msg.trim_end_matches('\n').lines();
    assert_eq!(lines.next(), Some("everything 1.0.0"));
    assert_eq!(lines.next(), Some(""));
    for line in lines {
        let key = line.split_once(": ").map(|(k, _)| k).unwrap_or(line);
        assert!(
            [
                "Crate-Name",
                "Crate-Version",
                "Crate-Sha256",
                "Crate-Size",
                "Cargofox-View",
                "Cargofox-Status",
                "Unpacked-Size",
                "File-Count",
                "Cargofox-Extras",
                "Cargofox-Anomaly",
                "Cargofox-Escaped",
            ]
            .contains(&key),
            "unexpected line {line:?} in\n{msg}"
        );
        assert!(line.bytes().all(|b| (0x20..0x7f).contains(&b)), "{line:?}");
    }
    assert_eq!(trailer_values(&msg, "Cargofox-Status"), ["ok"]);
    assert_eq!(
        trailer_values(&msg, "Crate-Sha256"),
        [crate::harness::sha256_hex(&bytes)]
    );
    assert_eq!(trailer_values(&msg, "File-Count"), [expected.files.len().to_string()]);
    assert_eq!(
        trailer_values(&msg, "Unpacked-Size"),
        [expected.unpacked_size.to_string()]
    );

    // Every anomaly is listed, in order, with its code.
    let anomaly_codes: Vec<String> = trailer_values(&msg, "Cargofox-Anomaly")
        .iter()
        .map(|v| v.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(anomaly_codes, codes(&expected));
    for code in [
        "pax-size-mismatch",
        "link-entry",
        "special-entry",
        "outside-prefix",
        "absolute-path",
        "path-normalised",
        "cargo-ok",
        "dotdot-path",
        "duplicate-path",
        "file-directory-conflict",
        "case-collision",
        "unicode-normalisation-collision",
        "windows-reserved-name",
        "windows-trailing-dot-or-space",
        "junk-after-end-of-archive",
    ] {
        assert!(anomaly_codes.iter().any(|c| c == code), "{code} missing from\n{msg}");
    }

    // Escaped paths, exactly.
    let escaped = trailer_values(&msg, "Cargofox-Escaped");
    assert_eq!(escaped, expected.escaped);
    for p in [
        "%2Egit/hooks/pre-commit",
        "%2EGIT/config",
        "%2Eg%E2%80%8Cit/x",
        "git%7E1/x",
        "%2Egitmodules",
        "%2Egitattributes",
        "attrs/%2Egitattributes/x",
        "bad%FF.rs",
        "new%0Aline.rs",
        "Cargofox-Status:%20ok%0Afake.rs",
        "100%25.rs",
    ] {
        assert!(escaped.iter().any(|e| e == p), "{p} not escaped: {escaped:?}");
    }

    // The tree holds exactly cargo's view, with its modes.
    let s = store(d);
    let ls = git(
        &s,
        &[
            "-c",
            "core.quotePath=false",
            "ls-tree",
            "-r",
            "-z",
            "--format=%(objectmode) %(path)",
            &format!("refs/crates/{name}/{vers}"),
        ],
    );
    let mut tree: Vec<&str> = ls.split('\0').filter(|l| !l.is_empty()).collect();
    tree.sort();
    let mut want: Vec<String> = expected
        .files
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                if f.executable { "100755" } else { "100644" },
                String::from_utf8(f.path.clone()).unwrap()
            )
        })
        .collect();
    want.sort();
    assert_eq!(tree, want);
    assert!(tree.contains(&"100755 %2Egit/hooks/pre-commit"));
    assert!(tree.contains(&"100755 src/lib.rs"));
    assert!(tree.contains(&"100644 a/b.rs"));

    // Extras: the ref, the trailer, the shadowed content.
    let extras_ref = format!("refs/extras/{name}/{vers}");
    assert!(ref_exists(d, &extras_ref));
    let extras_id = git(&s, &["rev-parse", &extras_ref]).trim().to_owned();
    assert_eq!(trailer_values(&msg, "Cargofox-Extras"), [extras_id]);
    let dup = expected
        .extras
        .iter()
        .find(|f| f.path.ends_with(b"/dup.rs"))
        .expect("shadowed dup.rs in extras");
    let shown = git(
        &s,
        &[
            "cat-file",
            "blob",
            &format!("{extras_ref}:{}", String::from_utf8(dup.path.clone()).unwrap()),
        ],
    );
    assert_eq!(shown, "first");
    // The archive is kept byte for byte.
    assert_eq!(
        crate::harness::git_bytes(&s, &["cat-file", "blob", &format!("refs/archives/{name}/{vers}")]),
        bytes
    );
    fsck(d);
}

#[test]
fn a_clean_crate_has_no_extras_ref() {
    let mut reg = TestRegistry::new();
    reg.add(
        "clean",
        "0.1.0",
        crate_file("clean", "0.1.0", &[("src/lib.rs", b"//\n")]),
    );
    let data = temp_dir();
    Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .sync(&["clean"])
        .run()
        .assert_success();
    assert!(ref_exists(data.path(), "refs/crates/clean/0.1.0"));
    assert!(!ref_exists(data.path(), "refs/extras/clean/0.1.0"));
    let msg = message(data.path(), "clean", "0.1.0");
    assert!(trailer_values(&msg, "Cargofox-Extras").is_empty(), "{msg}");
    assert!(trailer_values(&msg, "Cargofox-Anomaly").is_empty(), "{msg}");
}

const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

#[test]
fn corrupt_empty_and_over_limit_crates_are_stored_with_their_status() {
    let good = crate_file("broken", "1.0.0", &[("src/lib.rs", &noise(32 * 1024, 3))]);
    let truncated = good[..good.len() / 2].to_vec();
    let mut liar = TarBuilder::new();
    liar.file("broken-3.0.0/Cargo.toml", "[package]\n")
        .entry(Entry::file("broken-3.0.0/huge.bin", "tiny").claimed_size(4 << 30));
    let liar = gzip(&liar.finish());
    let mut reg = TestRegistry::new();
    reg.add("broken", "1.0.0", truncated.clone())
        .add("broken", "2.0.0", Vec::new())
        .add("broken", "3.0.0", liar.clone());
    let data = temp_dir();
    Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .sync(&["broken"])
        .run()
        .assert_success()
        .assert_stdout_contains("broken: 3 added");
    let d = data.path();
    for (vers, status, bytes) in [
        ("1.0.0", "corrupt", &truncated),
        ("2.0.0", "empty", &Vec::new()),
        ("3.0.0", "over-limit", &liar),
    ] {
        let msg = message(d, "broken", vers);
        assert_eq!(trailer_values(&msg, "Cargofox-Status"), [status], "{msg}");
        assert_eq!(trailer_values(&msg, "File-Count"), ["0"], "{msg}");
        assert_eq!(
            trailer_values(&msg, "Crate-Sha256"),
            [crate::harness::sha256_hex(bytes)]
        );
        assert_eq!(
            git(
                &store(d),
                &["rev-parse", &format!("refs/crates/broken/{vers}^{{tree}}")]
            )
            .trim(),
            EMPTY_TREE
        );
        let error = trailer_values(&msg, "Cargofox-Error");
        if status == "empty" {
            assert!(error.is_empty(), "{msg}");
        } else {
            assert_eq!(error.len(), 1, "{msg}");
        }
        // The archive is kept in every case.
        assert_eq!(
            &crate::harness::git_bytes(
                &store(d),
                &["cat-file", "blob", &format!("refs/archives/broken/{vers}")]
            ),
            bytes
        );
    }
    assert!(trailer_values(&message(d, "broken", "3.0.0"), "Cargofox-Error")[0].contains("4294967296"));
}

#[test]
fn a_version_with_an_empty_tree_leaves_the_store_fsck_clean() {
    let mut reg = TestRegistry::new();
    reg.add("hollow", "1.0.0", Vec::new());
    let data = temp_dir();
    Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .sync(&["hollow"])
        .run()
        .assert_success();
    let s = store(data.path());
    // The tree object itself is in the store, not only known to git by heart.
    let objects = git(&s, &["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"]);
    assert!(objects.lines().any(|l| l == EMPTY_TREE), "{objects}");
    fsck(data.path());
}

// ---------------------------------------------------------------------------
// 29. Build metadata

#[test]
fn versions_differing_only_in_build_metadata_are_both_archived() {
    let mut reg = TestRegistry::new();
    for (vers, body) in [("1.0.0+a", "// a\n"), ("1.0.0+b", "// b\n"), ("1.0.0", "// plain\n")] {
        let mut e = IndexEntry::new(
            "meta",
            vers,
            crate_file("meta", vers, &[("src/lib.rs", body.as_bytes())]),
        );
        e.pubtime = Some("2024-01-01T00:00:00Z".into());
        reg.add_entry(e);
    }
    let data = temp_dir();
    Cargofox::new()
        .data(data.path())
        .registry(&reg.file_url())
        .sync(&["meta"])
        .run()
        .assert_success()
        .assert_stdout_contains("meta: 3 added");
    let d = data.path();
    let s = store(d);
    let mut ids = Vec::new();
    for (vers, body) in [("1.0.0+a", "// a\n"), ("1.0.0+b", "// b\n"), ("1.0.0", "// plain\n")] {
        let r = format!("refs/crates/meta/{vers}");
        assert!(ref_exists(d, &r), "{r}");
        // The `+` is part of the prefix directory: the files are in the view.
        assert_eq!(git(&s, &["cat-file", "blob", &format!("{r}:src/lib.rs")]), body);
        let msg = message(d, "meta", vers);
        assert_eq!(trailer_values(&msg, "Crate-Version"), [vers]);
        assert_eq!(trailer_values(&msg, "File-Count"), ["1"]);
        ids.push(git(&s, &["rev-parse", &r]).trim().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three distinct commits");
    fsck(d);
}
