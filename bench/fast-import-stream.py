#!/usr/bin/env python3
"""Write a `git fast-import` stream that rebuilds cargofox's store for a corpus.

Owns: the baseline of the benchmark. For every version of every crate in a
`file://` registry built by `bench/build-corpus.py` (crates in sorted name
order, versions in index-line order) it emits the commit cargofox makes per
docs/STORE.md for a clean archive:

- tree: cargo's view of the `.crate` (first gzip member, `<name>-<version>/`
  prefix stripped, `.cargo-ok` dropped, last duplicate wins, regular files
  only, mode 100755 when any execute bit is set, else 100644);
- author and committer `cargofox <cargofox@invalid>` at the index `pubtime`
  (else 0) `+0000`;
- message `<name> <version>`, a blank line, `Crate-Sha256: <hex>` (only the
  trees are meant to match cargofox; the trailer set is not reproduced);
- parent per the STORE.md parent rule (semver total order, as the `semver`
  crate orders versions, over earlier index lines; else the nearest earlier
  line; else none), ref `refs/crates/<name>/<version>`.

It also emits one `blob` with a mark per raw `.crate`, after all commits, and
writes `OUT.stream.archives` (`:<mark> refs/archives/<name>/<version>` a line)
so that `bench/run.sh` can point the archive refs at them with
`git update-ref --stdin` once `--export-marks` has given the blob ids
(fast-import cannot point a ref at a blob). `OUT.stream.json` holds the
totals and the per-version facts run.sh reports and cross-checks.

Two forms: by default every commit is written in full (`deleteall` plus every
file inline), since cargofox also processes every file of every version;
`--changed-only` writes only the paths that changed or vanished relative to the
parent commit.

It must not: pretend to handle hostile archives. Departures from a clean archive
are only detected and reported (stderr and the JSON file), so that a tree
mismatch in the cross-check can be explained; cargofox's escaping and extras
are not reproduced.

Python 3 standard library only.
"""

import argparse
import datetime
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import zlib

IDENT = b"cargofox <cargofox@invalid>"


# ---------------------------------------------------------------- semver --
# Parsing and ordering follow the `semver` crate (1.x), which cargofox uses:
# the precedence rules of semver.org plus a total order on build metadata.

_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_U64_MAX = (1 << 64) - 1


def parse_semver(text):
    """(major, minor, patch, pre, build) or None when `text` is not semver
    (as the `semver` crate parses: no leading zeros in numbers or in numeric
    pre-release identifiers, numbers fit in u64)."""
    m = _SEMVER.fullmatch(text)
    if not m:
        return None
    major, minor, patch = (int(g) for g in m.group(1, 2, 3))
    if max(major, minor, patch) > _U64_MAX:
        return None
    pre, build = m.group(4) or "", m.group(5) or ""
    for ident in pre.split(".") if pre else ():
        if ident.isdigit() and len(ident) > 1 and ident[0] == "0":
            return None
    return (major, minor, patch, pre, build)


def _cmp(a, b):
    return (a > b) - (a < b)


def _cmp_pre(a, b):
    # A release (empty pre) is greater than any pre-release.
    if a == b:
        return 0
    if not a:
        return 1
    if not b:
        return -1
    la, lb = a.split("."), b.split(".")
    for x, y in zip(la, lb):
        dx, dy = x.isdigit(), y.isdigit()  # identifiers are ASCII here
        if dx and dy:
            c = _cmp(len(x), len(y)) or _cmp(x, y)
        elif dx:
            return -1  # numeric identifiers sort before alphanumeric ones
        elif dy:
            return 1
        else:
            c = _cmp(x, y)
        if c:
            return c
    return _cmp(len(la), len(lb))


def _cmp_build(a, b):
    # semver crate: empty sorts first; numeric identifiers by value, then by
    # length (0 < 00 < 1 < 01); numeric before alphanumeric; else ASCII order.
    if a == b:
        return 0
    la, lb = a.split("."), b.split(".")
    for x, y in zip(la, lb):
        dx = all(ch in "0123456789" for ch in x)  # "" counts as numeric, as in the crate
        dy = all(ch in "0123456789" for ch in y)
        if dx and dy:
            vx, vy = x.lstrip("0"), y.lstrip("0")
            c = _cmp(len(vx), len(vy)) or _cmp(vx, vy) or _cmp(len(x), len(y))
        elif dx:
            return -1
        elif dy:
            return 1
        else:
            c = _cmp(x, y)
        if c:
            return c
    return _cmp(len(la), len(lb))


def cmp_semver(a, b):
    """Total order of parsed versions, as `Ord for semver::Version`."""
    return _cmp(a[:3], b[:3]) or _cmp_pre(a[3], b[3]) or _cmp_build(a[4], b[4])


def parents(versions):
    """Index of each version's parent (or None), per docs/STORE.md: the highest
    semver version lower than it on an earlier line; else the nearest earlier
    line; else none. Non-semver versions only take part in the fallback."""
    parsed = [parse_semver(v) for v in versions]
    out = []
    for i, me in enumerate(parsed):
        best = None
        if me is not None:
            for j in range(i):
                cand = parsed[j]
                if cand is None or cmp_semver(cand, me) >= 0:
                    continue
                if best is None or cmp_semver(cand, parsed[best]) > 0:
                    best = j
        if best is None and i > 0:
            best = i - 1
        out.append(best)
    return out


# ------------------------------------------------------------------ refs --

def ref_component(version):
    """A version as one ref-name component: bytes outside [A-Za-z0-9.+_-] as
    %XX, and the dots git refuses (leading, trailing, `..`, `.lock` suffix)
    as %2E. Every version in the benchmark corpus is plain semver, so only
    the first rule can ever apply to it."""
    out = "".join(
        ch if re.fullmatch(r"[A-Za-z0-9.+_-]", ch) else "".join(f"%{b:02X}" for b in ch.encode())
        for ch in version
    )
    while ".." in out:
        out = out.replace("..", ".%2E", 1)
    if out.startswith("."):
        out = "%2E" + out[1:]
    if out.endswith(".lock"):
        out = out[: -len(".lock")] + "%2Elock"
    if out.endswith("."):
        out = out[:-1] + "%2E"
    return out


# --------------------------------------------------------------- archive --

_NEEDS_ESCAPE = re.compile(rb"[\x00-\x1f\x7f%]")


def cargo_view(name, vers, raw):
    """Cargo's view of a `.crate`: ({path bytes: (mode, data)}, [anomalies]).

    Only what a clean archive needs is modelled; anything else is reported as
    an anomaly string and handled in the simplest cargo-like way."""
    anomalies = []
    if not raw:
        return {}, ["empty-crate"]
    d = zlib.decompressobj(wbits=31)  # gzip framing, first member only
    try:
        data = d.decompress(raw)
    except zlib.error as e:
        return {}, [f"corrupt-gzip {e}"]
    if not d.eof:
        return {}, ["corrupt-gzip truncated"]
    if d.unused_data:
        anomalies.append(f"trailing-bytes {len(d.unused_data)}")

    prefix = f"{name}-{vers}"
    files = {}
    dirs = set()
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:",
                          encoding="utf-8", errors="surrogateescape")
        for m in tf:
            raw_path = m.name.encode("utf-8", "surrogateescape")
            if m.name.startswith("/"):
                anomalies.append(f"absolute-path {raw_path!r}")
            parts = [p for p in raw_path.split(b"/") if p not in (b"", b".")]
            if not parts or parts[0] != prefix.encode():
                anomalies.append(f"outside-prefix {raw_path!r}")
                continue
            parts = parts[1:]
            if not parts:
                continue  # the prefix directory itself
            if b".." in parts:
                anomalies.append(f"dotdot-path {raw_path!r}")
                continue
            if parts[-1] == b".cargo-ok":
                anomalies.append(f"cargo-ok {raw_path!r}")
                continue
            path = b"/".join(parts)
            if m.isdir():
                dirs.add(path)
                continue
            if not m.isreg():
                anomalies.append(f"link-or-special-entry type={m.type!r} {raw_path!r}")
                continue
            content = tf.extractfile(m).read()
            if path in files:
                same = "same content" if files[path][1] == content else "different content"
                anomalies.append(f"duplicate-path {path!r} ({same})")
            files[path] = (0o100755 if m.mode & 0o111 else 0o100644, content)
    except (tarfile.TarError, EOFError, OSError) as e:
        return {}, anomalies + [f"corrupt-tar {e}"]

    # A path that is both a file and a directory: git keeps the directory.
    parent_dirs = set(dirs)
    for path in files:
        parts = path.split(b"/")
        for k in range(1, len(parts)):
            parent_dirs.add(b"/".join(parts[:k]))
    for path in [p for p in files if p in parent_dirs]:
        anomalies.append(f"file-directory-conflict {path!r}")
        del files[path]

    # Paths cargofox stores escaped (docs/STORE.md): flagged here, not escaped.
    for path in files:
        for comp in path.split(b"/"):
            try:
                text = comp.decode("utf-8")
            except UnicodeDecodeError:
                anomalies.append(f"needs-escape non-utf8 {path!r}")
                break
            low = text.lower().rstrip(". ")
            if _NEEDS_ESCAPE.search(comp) or low in (".git", "git~1", ".gitmodules"):
                anomalies.append(f"needs-escape {path!r}")
                break
    return files, anomalies


# ---------------------------------------------------------------- stream --

def quote_path(path):
    """fast-import wants a C-style quoted path when it starts with `"` or
    holds a LF; any other path goes in raw."""
    if not path.startswith(b'"') and b"\n" not in path:
        return path
    out = bytearray(b'"')
    for b in path:
        if b in (0x22, 0x5C):
            out += b"\\" + bytes([b])
        elif b == 0x0A:
            out += b"\\n"
        elif b < 0x20 or b == 0x7F:
            out += b"\\%03o" % b
        else:
            out.append(b)
    return bytes(out + b'"')


def pubtime_seconds(entry):
    s = entry.get("pubtime")
    if not s:
        return 0
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def read_index(corpus):
    """{name: [index entries in line order]}; lines with `v` > 2 take no part."""
    crates = {}
    for dirpath, dirnames, filenames in os.walk(corpus):
        if os.path.abspath(dirpath) == os.path.abspath(corpus):
            dirnames[:] = [d for d in dirnames if d != "crates"]
            filenames = [f for f in filenames if f != "config.json"]
        for fn in filenames:
            if fn.endswith(".part") or fn.startswith("."):
                continue
            with open(os.path.join(dirpath, fn), "rb") as f:
                for line in f:
                    if not line.strip():
                        continue
                    entry = json.loads(line)
                    if entry.get("v", 1) > 2:
                        continue
                    crates.setdefault(entry["name"], []).append(entry)
    return crates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", help="registry directory made by build-corpus.py")
    ap.add_argument("out", help="stream file to write (plus OUT.archives and OUT.json)")
    ap.add_argument("--changed-only", action="store_true",
                    help="write only changed/deleted paths relative to the parent commit")
    args = ap.parse_args()

    crates = read_index(args.corpus)
    mark = 0
    archives = []  # (mark, ref, path of the .crate)
    versions = []  # per-version facts for run.sh
    totals = {"versions": 0, "crate_bytes": 0, "unpacked_bytes": 0, "files": 0,
              "versions_with_anomalies": 0}

    with open(args.out, "wb") as out:
        w = out.write
        for name in sorted(crates):
            entries = crates[name]
            parent_of = parents([e["vers"] for e in entries])
            marks = []       # commit mark of each line
            states = []      # {path: (mode, sha1)} of each line, for --changed-only
            for i, e in enumerate(entries):
                vers = e["vers"]
                crate_path = os.path.join(args.corpus, "crates", name, f"{name}-{vers}.crate")
                with open(crate_path, "rb") as f:
                    raw = f.read()
                sha = hashlib.sha256(raw).hexdigest()
                if sha != e["cksum"]:
                    sys.exit(f"{name} {vers}: sha256 {sha} != index cksum {e['cksum']}")
                files, anomalies = cargo_view(name, vers, raw)
                for a in anomalies:
                    print(f"anomaly: {name} {vers}: {a}", file=sys.stderr)

                ref = f"refs/crates/{name}/{ref_component(vers)}"
                mark += 1
                marks.append(mark)
                ts = pubtime_seconds(e)
                msg = f"{name} {vers}\n\nCrate-Sha256: {sha}\n".encode()
                w(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
                w(b"author %s %d +0000\ncommitter %s %d +0000\n" % (IDENT, ts, IDENT, ts))
                w(b"data %d\n%s\n" % (len(msg), msg))
                p = parent_of[i]
                if p is not None:
                    w(b"from :%d\n" % marks[p])

                state = {path: (mode, hashlib.sha1(data).digest())
                         for path, (mode, data) in files.items()}
                if args.changed_only and p is not None:
                    before = states[p]
                    for path in sorted(set(before) - set(state)):
                        w(b"D %s\n" % quote_path(path))
                    todo = [path for path in sorted(state) if before.get(path) != state[path]]
                else:
                    w(b"deleteall\n")
                    todo = sorted(state)
                for path in todo:
                    mode, data = files[path]
                    w(b"M %o inline %s\ndata %d\n" % (mode, quote_path(path), len(data)))
                    w(data)
                    w(b"\n")
                w(b"\n")
                states.append(state)

                mark += 1
                archives.append((mark, f"refs/archives/{name}/{ref_component(vers)}", crate_path))
                unpacked = sum(len(d) for _, d in files.values())
                versions.append({"name": name, "vers": vers, "ref": ref, "sha256": sha,
                                 "crate_bytes": len(raw), "unpacked_bytes": unpacked,
                                 "files": len(files), "anomalies": anomalies})
                totals["versions"] += 1
                totals["crate_bytes"] += len(raw)
                totals["unpacked_bytes"] += unpacked
                totals["files"] += len(files)
                totals["versions_with_anomalies"] += bool(anomalies)

        # The raw archives, after every commit so they do not sit between a
        # file and its previous version (fast-import deltas against the last blob).
        for m, _, crate_path in archives:
            with open(crate_path, "rb") as f:
                raw = f.read()
            w(b"blob\nmark :%d\ndata %d\n" % (m, len(raw)))
            w(raw)
            w(b"\n")
        w(b"done\n")

    with open(args.out + ".archives", "w") as f:
        for m, ref, _ in archives:
            f.write(f":{m} {ref}\n")
    with open(args.out + ".json", "w") as f:
        json.dump({"form": "changed-only" if args.changed_only else "full",
                   "crates": sorted(crates), "totals": totals, "versions": versions}, f, indent=1)
        f.write("\n")
    print(f"{args.out}: {totals['versions']} versions of {len(crates)} crates, "
          f"{totals['crate_bytes'] / 1e6:.1f} MB .crate, "
          f"{totals['unpacked_bytes'] / 1e6:.1f} MB unpacked, {totals['files']} files, "
          f"{totals['versions_with_anomalies']} versions with anomalies, "
          f"{os.path.getsize(args.out) / 1e6:.1f} MB stream", file=sys.stderr)


if __name__ == "__main__":
    main()
