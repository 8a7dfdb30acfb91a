#!/usr/bin/env python3
"""Write seed inputs for the fuzz targets into corpus/<target>/ (run by
run.sh when a corpus is missing). Seeds are small and cover the shapes each
parser knows, so the fuzzer starts from valid structure instead of noise."""

import gzip
import io
import os
import sys
import tarfile

ROOT = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def tar(entries, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                t.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gz(b):
    return gzip.compress(b, mtime=0)


def archives():
    p = "f-1.0.0/"
    toml = b'[package]\nname = "f"\nversion = "1.0.0"\n'
    normal = [(p + "Cargo.toml", "file", toml), (p + "src/lib.rs", "file", b"pub fn f() {}\n")]
    put("archive_read_crate", "normal", gz(tar(normal)))
    put("archive_read_crate", "dirs", gz(tar([(p, "dir", b""), (p + "src/", "dir", b"")] + normal)))
    put("archive_read_crate", "pax", gz(tar(normal + [(p + "x" * 150 + "/y.rs", "file", b"long")], tarfile.PAX_FORMAT)))
    put("archive_read_crate", "gnu", gz(tar(normal + [(p + "g" * 200, "file", b"gnu long name")], tarfile.GNU_FORMAT)))
    put("archive_read_crate", "hostile", gz(tar(normal + [
        (p + "link", "symlink", "../../etc/passwd"),
        (p + "pipe", "fifo", b""),
        (p + "a/../b", "file", b"dotdot"),
        (p + ".cargo-ok", "file", b"ok"),
        ("outside.txt", "file", b"outside"),
        (p + "src/lib.rs", "file", b"duplicate\n"),
        (p + ".git/hooks/pre-commit", "file", b"#!/bin/sh\n"),
        (p + ".gitmodules", "file", b"[submodule \"x\"]\nurl = -oProxyCommand=x\n"),
        (p + "README.md", "file", b"upper"),
        (p + "readme.md", "file", b"lower"),
        (p + "run.sh", "file", b"#!/bin/sh\n"),
        (p + "ba\xe2\x80\xaedi.rs", "file", b"bidi"),
        (p + "f", "file", b"file"),
        (p + "f/g", "file", b"dir"),
    ])))
    body = gz(tar(normal))
    put("archive_read_crate", "trailing", body + b"junk")
    put("archive_read_crate", "two-members", body + gz(b"second"))
    put("archive_read_crate", "truncated", body[: len(body) // 2])
    put("archive_read_crate", "junk-after-eof", gz(tar(normal) + b"\x01" * 512))


def index():
    h = "0" * 64
    base = '"name":"serde","vers":"1.0.0","deps":[],"cksum":"%s","features":{},"yanked":false' % h
    put("index_parse_line", "plain", "{%s}" % base)
    put("index_parse_line", "full", '{"name":"Serde","vers":"1.0.0-Alpha+b.1","deps":[{"name":"x","req":"^1","features":[],'
        '"optional":false,"default_features":true,"target":null,"kind":"normal"}],"cksum":"%s","features":{"a":["x"]},'
        '"yanked":true,"links":"z","v":2,"features2":{"b":["dep:x"]},"rust_version":"1.60",'
        '"pubtime":"2024-01-02T03:04:05Z"}' % h)
    put("index_parse_line", "v3", '{"name":"serde","vers":"2.0.0","deps":[],"cksum":"%s","features":{},"yanked":false,"v":3}' % h)
    put("index_parse_line", "odd-version", '{"name":"serde","vers":"..lock","deps":[],"cksum":"%s","features":{},"yanked":false}' % h)
    put("index_parse_line", "bad", '{"name":"serde","vers":1}')


def escape():
    for i, s in enumerate([
        "plain", "`a` ``b`` ```c```", "| a | b |\\|", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
        "# heading\n- list\n> quote", "\u202eevil\u2066", "line\r\nnext\rlone  \t\n", "~~~\n```\n````",
        "&#x202E; &amp; http://x.example www.x.example a@b.example", "  lead and trail  ", "*em* _em_ $math$ [^1]",
        "\u00ad\u200b\ufe0f\U000e0041",
    ]):
        put("report_escape", str(i), bytes([i]) + s.encode())


def lockfiles():
    v1 = ('[root]\nname = "app"\nversion = "0.1.0"\n\n[[package]]\nname = "serde"\nversion = "1.0.0"\n'
          'source = "registry+https://github.com/rust-lang/crates.io-index"\n\n[metadata]\n'
          '"checksum serde 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)" = "%s"\n' % ("1" * 64))
    v3 = ('version = 3\n\n[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = ["serde"]\n\n'
          '[[package]]\nname = "serde"\nversion = "1.0.0"\nsource = "sparse+https://index.crates.io/"\nchecksum = "%s"\n\n'
          '[[package]]\nname = "g"\nversion = "0.1.0"\nsource = "git+https://example.invalid/g?rev=1#abc"\n' % ("2" * 64))
    put("lockfile_parse", "v1", v1)
    put("lockfile_parse", "v2", v3.replace("version = 3\n\n", ""))
    put("lockfile_parse", "v3", v3)
    put("lockfile_parse", "v4", v3.replace("version = 3", "version = 4"))
    put("lockfile_parse", "bad", 'version = 9\n[[package]]\nname = "\u202e"\n')


if __name__ == "__main__":
    wanted = set(sys.argv[1:])
    for target, make in [("archive_read_crate", archives), ("index_parse_line", index),
                         ("report_escape", escape), ("lockfile_parse", lockfiles)]:
        if not wanted or target in wanted:
            make()
