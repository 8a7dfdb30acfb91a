//! The tar writer against GNU tar (`tar -tvzf`) and the `tar` crate (what
//! cargo uses), for ordinary and hostile archives.

use std::io::Read;
use std::process::Command;

use crate::harness::{Entry, Kind, TarBuilder, crate_file, crate_file_with_modes, gzip, temp_dir};

/// `tar -tvzf` of `archive`, one `(mode, size, name)` per member.
fn gnu_tar_list(archive: &[u8]) -> Vec<(String, String, String)> {
    let dir = temp_dir();
    let path = dir.path().join("a.tar.gz");
    std::fs::write(&path, archive).unwrap();
    let out = Command::new("tar")
        .arg("-tvzf")
        .arg(&path)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            // mode owner size date time name...
            let mut rest = line;
            let mut fields = Vec::new();
            for _ in 0..5 {
                let (field, tail) = rest.split_once(' ').unwrap();
                fields.push(field.to_owned());
                rest = tail.trim_start();
            }
            (fields[0].clone(), fields[2].clone(), rest.to_owned())
        })
        .collect()
}

/// One entry as the `tar` crate (cargo's reader) sees it.
struct ReadEntry {
    kind: ::tar::EntryType,
    path: Vec<u8>,
    mode: u32,
    link: Option<Vec<u8>>,
    data: Vec<u8>,
}

fn tar_crate_read(tar: &[u8]) -> Vec<ReadEntry> {
    let mut archive = ::tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            ReadEntry {
                kind: entry.header().entry_type(),
                path: entry.path_bytes().into_owned(),
                mode: entry.header().mode().unwrap(),
                link: entry.link_name_bytes().map(|l| l.into_owned()),
                data,
            }
        })
        .collect()
}

#[test]
fn crate_file_is_listed_by_gnu_tar() {
    let bytes = crate_file_with_modes(
        "demo",
        "1.2.3",
        &[
            ("Cargo.toml", 0o644, b"[package]\nname = \"demo\"\n"),
            ("src/lib.rs", 0o644, b""),
            ("run.sh", 0o755, b"#!/bin/sh\n"),
        ],
    );
    let listed = gnu_tar_list(&bytes);
    let expected = [
        ("-rw-r--r--", "24", "demo-1.2.3/Cargo.toml"),
        ("-rw-r--r--", "0", "demo-1.2.3/src/lib.rs"),
        ("-rwxr-xr-x", "10", "demo-1.2.3/run.sh"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(m, s, n)| (m.to_string(), s.to_string(), n.to_string()))
        .collect();
    assert_eq!(listed, expected);
}

#[test]
fn every_entry_type_is_listed_by_gnu_tar() {
    let long = format!("dir/{}/file.rs", "x".repeat(150));
    let tar = TarBuilder::new()
        .dir("d/")
        .file("d/f", "hi\n")
        .symlink("d/l", "f")
        .hardlink("d/h", "d/f")
        .fifo("d/p")
        .char_device("d/c", 1, 3)
        .block_device("d/b", 8, 0)
        .long_name_file(&long, "long")
        .pax(&[("path", b"pax/named.rs")])
        .file("ignored-name", "pax")
        .finish();
    let listed = gnu_tar_list(&gzip(&tar));
    let summary: Vec<String> = listed
        .iter()
        .map(|(mode, size, name)| format!("{mode} {size} {name}"))
        .collect();
    assert_eq!(
        summary,
        [
            "drwxr-xr-x 0 d/".to_owned(),
            "-rw-r--r-- 3 d/f".to_owned(),
            "lrwxrwxrwx 0 d/l -> f".to_owned(),
            "hrw-r--r-- 0 d/h link to d/f".to_owned(),
            "prw-r--r-- 0 d/p".to_owned(),
            "crw-r--r-- 1,3 d/c".to_owned(),
            "brw-r--r-- 8,0 d/b".to_owned(),
            format!("-rw-r--r-- 4 {long}"),
            "-rw-r--r-- 3 pax/named.rs".to_owned(),
        ]
    );
}

#[test]
fn ustar_prefix_split_is_read_by_both() {
    let path = format!("{}/{}", "p".repeat(120), "n".repeat(90));
    let tar = TarBuilder::new().file(&path, "x").finish();
    assert_eq!(gnu_tar_list(&gzip(&tar))[0].2, path);
    assert_eq!(tar_crate_read(&tar)[0].path, path.as_bytes());
}

#[test]
fn hostile_paths_come_back_byte_for_byte() {
    let paths: [&[u8]; 10] = [
        b"demo-1.0.0/../escape",
        b"/etc/passwd",
        b"./demo-1.0.0/dot",
        b"demo-1.0.0/a//b",
        b"demo-1.0.0/bad\xff\xfe",
        b"demo-1.0.0/new\nline",
        b"demo-1.0.0/pipe|tick`",
        b"demo-1.0.0/.git/hooks/pre-commit",
        b"demo-1.0.0/.cargo-ok",
        b"outside/x",
    ];
    let mut builder = TarBuilder::new();
    for (i, path) in paths.iter().enumerate() {
        builder.file_with_mode(path, 0o4777 - i as u32, [i as u8]);
    }
    let read = tar_crate_read(&builder.finish());
    assert_eq!(read.len(), paths.len());
    for (i, entry) in read.into_iter().enumerate() {
        let ReadEntry {
            kind, path, mode, data, ..
        } = entry;
        assert_eq!(kind, ::tar::EntryType::Regular);
        assert_eq!(path, paths[i]);
        assert_eq!(mode, 0o4777 - i as u32);
        assert_eq!(data, [i as u8]);
    }
}

#[test]
fn entry_types_links_and_long_names_read_by_tar_crate() {
    let long_path = format!("demo-1.0.0/{}", "d/".repeat(2100)) + "f.rs";
    let long_target = "t".repeat(300);
    let tar = TarBuilder::new()
        .dir("demo-1.0.0/")
        .symlink("demo-1.0.0/l", "../../etc/passwd")
        .hardlink("demo-1.0.0/h", "demo-1.0.0/l")
        .fifo("demo-1.0.0/p")
        .char_device("demo-1.0.0/c", 1, 3)
        .block_device("demo-1.0.0/b", 8, 1)
        .long_name_file(&long_path, "deep")
        .gnu_long_link(&long_target)
        .symlink("demo-1.0.0/long-link", "short")
        .pax(&[("path", long_path.as_bytes())])
        .file("demo-1.0.0/placeholder", "pax")
        .entry(Entry::new(Kind::Other(0), "demo-1.0.0/old-style").data("old"))
        .finish();
    let read = tar_crate_read(&tar);
    use ::tar::EntryType as T;
    let kinds: Vec<_> = read.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            T::Directory,
            T::Symlink,
            T::Link,
            T::Fifo,
            T::Char,
            T::Block,
            T::Regular,
            T::Symlink,
            T::Regular,
            T::Regular,
        ]
    );
    assert_eq!(read[1].link.as_deref(), Some(&b"../../etc/passwd"[..]));
    assert_eq!(read[2].link.as_deref(), Some(&b"demo-1.0.0/l"[..]));
    assert_eq!(read[6].path, long_path.as_bytes());
    assert_eq!(read[6].data, b"deep");
    assert_eq!(read[7].link.as_deref(), Some(long_target.as_bytes()));
    assert_eq!(read[8].path, long_path.as_bytes());
    assert_eq!(read[9].data, b"old");
}

#[test]
fn pax_size_can_disagree_with_ustar_size() {
    // The ustar header says 3 bytes, PAX says 5: the tar crate follows PAX.
    let tar = TarBuilder::new()
        .pax(&[("size", b"5")])
        .file("demo-1.0.0/a", "abc")
        .finish();
    let mut archive = ::tar::Archive::new(&tar[..]);
    let mut entries = archive.entries().unwrap();
    let mut entry = entries.next().unwrap().unwrap();
    assert_eq!(entry.header().size().unwrap(), 3);
    let pax: Vec<_> = entry
        .pax_extensions()
        .unwrap()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.key().unwrap().to_owned(), e.value_bytes().to_vec())
        })
        .collect();
    assert_eq!(pax, [("size".to_owned(), b"5".to_vec())]);
    let mut data = Vec::new();
    entry.read_to_end(&mut data).unwrap();
    assert_eq!(data, b"abc\0\0");
}

#[test]
fn pax_record_lengths_count_themselves() {
    for len in [0, 1, 4, 5, 90, 94, 95, 96, 990, 995, 4096] {
        let value = vec![b'v'; len];
        let tar = TarBuilder::new().pax(&[("path", &value)]).finish();
        let size =
            usize::from_str_radix(std::str::from_utf8(&tar[124..135]).unwrap().trim_start_matches('0'), 8).unwrap();
        let record = &tar[512..512 + size];
        let (n, _) = std::str::from_utf8(record).unwrap().split_once(' ').unwrap();
        assert_eq!(n.parse::<usize>().unwrap(), size, "value of {len} bytes");
    }
}

#[test]
fn huge_claimed_size_with_little_data() {
    let tar = TarBuilder::new()
        .entry(Entry::file("demo-1.0.0/big", "tiny").claimed_size(4 << 30))
        .finish();
    assert_eq!(tar.len(), 512 * 4);
    let mut archive = ::tar::Archive::new(&tar[..]);
    let mut entries = archive.entries().unwrap();
    let mut entry = entries.next().unwrap().unwrap();
    assert_eq!(entry.header().size().unwrap(), 4 << 30);
    let mut data = Vec::new();
    let read = entry.read_to_end(&mut data);
    assert!(data.len() < 2048, "{read:?}");
}

#[test]
fn sizes_past_octal_use_base_256() {
    let big = 1u64 << 40;
    let header = Entry::file("x", "").claimed_size(big).header();
    assert_eq!(header[124], 0x80);
    let read = ::tar::Header::from_byte_slice(&header).size().unwrap();
    assert_eq!(read, big);
}

#[test]
fn checksum_is_valid_unless_overridden() {
    let good = Entry::file("x", "1").mode(0o755).header();
    let sum: u32 = good
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) })
        .sum();
    assert_eq!(&good[148..156], format!("{sum:06o}\0 ").as_bytes());
    assert_eq!(&good[257..265], b"ustar\x0000");

    let bad = TarBuilder::new().entry(Entry::file("x", "1").checksum(1)).finish();
    let mut archive = ::tar::Archive::new(&bad[..]);
    assert!(archive.entries().unwrap().next().unwrap().is_err());
}

#[test]
fn end_marker_junk_and_truncation() {
    let mut builder = TarBuilder::new();
    builder.file("a", "x");
    assert_eq!(builder.finish().len(), 512 * 4);
    assert_eq!(builder.finish_without_end_marker().len(), 512 * 2);
    let junk = builder.finish_with_junk(b"JUNK");
    assert_eq!(&junk[512 * 2..512 * 4], &[0u8; 1024][..]);
    assert_eq!(&junk[512 * 4..], b"JUNK");
    builder.raw(b"raw bytes");
    assert!(builder.finish_without_end_marker().ends_with(b"raw bytes"));
    // Both readable up to the first entry.
    assert_eq!(tar_crate_read(&junk).len(), 1);
}

#[test]
fn gzip_is_one_member_and_crate_file_round_trips() {
    let bytes = crate_file("demo", "0.1.0", &[("src/lib.rs", b"pub fn f() {}\n")]);
    // One member: a single-member decoder reads to the end of the input.
    let mut decoder = flate2::read::GzDecoder::new(&bytes[..]);
    let mut tar = Vec::new();
    decoder.read_to_end(&mut tar).unwrap();
    let read = tar_crate_read(&tar);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].path, b"demo-0.1.0/src/lib.rs");
    assert_eq!(read[0].mode, 0o644);
    assert_eq!(read[0].data, b"pub fn f() {}\n");
    assert_eq!(gzip(b"x")[..3], [0x1f, 0x8b, 8]);
}
