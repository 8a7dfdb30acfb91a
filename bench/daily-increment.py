#!/usr/bin/env python3
"""Simulate cargofox's daily run: a registry snapshot, then a day of new versions.

Owns: the daily-increment benchmark and its report, bench/out/daily/results.md.

1. Generates a `file://` registry (same layout as bench/build-corpus.py) of
   CRATES synthetic crates with VERSIONS releases each (a Cargo.toml, a
   src/lib.rs of a few KiB that changes a little every release, a README and
   a .cargo_vcs_info.json), published over 2019-2025. Deterministic (seeded).
2. Syncs the snapshot once into a fresh data directory (timed: the backfill).
   Then `git gc` of the audit repository (not timed: git starts it, detached,
   after a commit of that size) and `gc.autoDetach=false`.
3. For each NEW in --new (e.g. 20,200): copies the synced data directory
   (and refreshes the copy's git index, untimed: new inodes would otherwise
   make the first `git add -A` rehash every file),
   adds one new release to NEW distinct crates (published on the next day)
   and yanks NEW/10 old releases, in a copy of the registry, then times
   - daily:   `cargofox sync --list ALL` on the copy (every crate of the
              registry is listed, as `sync --all` does; only the new and
              yanked versions need work), ingest + reports + indexes +
              statistics + audit commit;
   - no-op:   the same command again (nothing new);
   - stats:   the same command after deleting stats.json (the no-op plus a
              full recount of every report: the statistics' cost).
4. Writes medians and sizes to bench/out/daily/results.md, with the
   extrapolation to crates.io's scale (docs/PERFORMANCE.md explains it).

Each command runs under /usr/bin/time (wall, user+system CPU, peak RSS).
It must not touch anything outside --out. Python 3 standard library only.

Usage: bench/daily-increment.py [--crates N] [--versions N] [--new 20,200]
       [--runs 3] [--bin PATH] [--out DIR]
"""

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-02T00:00:00Z"
T1_PUB = "2026-01-01T12:00:00Z"


def index_path(name):
    n = name.lower()
    if len(n) == 1:
        return f"1/{n}"
    if len(n) == 2:
        return f"2/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def crate_bytes(name, vers, files):
    """A .crate: gzip of a ustar archive under <name>-<vers>/, fixed mtimes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, data in files:
            info = tarfile.TarInfo(f"{name}-{vers}/{path}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    import gzip

    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


WORDS = "alpha beta gamma delta parse render token value index store report crate version tree".split()


def lib_rs(rng, n_fns):
    lines = ["//! A generated crate for cargofox's daily-increment benchmark.", ""]
    for i in range(n_fns):
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        lines += [
            f"/// {a} then {b}.",
            f"pub fn {a}_{b}_{i}(x: u64) -> u64 {{",
            f"    x.wrapping_mul({rng.randrange(1, 1 << 30)}).rotate_left({rng.randrange(64)})",
            "}",
            "",
        ]
    return "\n".join(lines).encode()


def release_files(name, vers, rng, state):
    """Files of one release: most of lib.rs kept, a few functions changed."""
    fns = state.setdefault("fns", None)
    if fns is None:
        fns = [lib_rs(rng, 1).decode().split("\n", 2)[2] for _ in range(rng.randrange(20, 60))]
    else:
        for _ in range(rng.randrange(1, 4)):
            fns[rng.randrange(len(fns))] = lib_rs(rng, 1).decode().split("\n", 2)[2]
        if rng.random() < 0.3:
            fns.append(lib_rs(rng, 1).decode().split("\n", 2)[2])
    state["fns"] = fns
    lib = ("//! generated\n\n" + "".join(fns)).encode()
    toml = f'[package]\nname = "{name}"\nversion = "{vers}"\nedition = "2021"\nlicense = "MIT"\n'.encode()
    sha = hashlib.sha1(f"{name}{vers}".encode()).hexdigest()
    vcs = json.dumps({"git": {"sha1": sha}, "path_in_vcs": ""}, indent=2).encode() + b"\n"
    readme = f"# {name}\n\nGenerated for a benchmark.\n".encode()
    return [("Cargo.toml", toml), ("src/lib.rs", lib), ("README.md", readme), (".cargo_vcs_info.json", vcs)]


def index_line(name, vers, data, pubtime, yanked=False):
    return {
        "name": name,
        "vers": vers,
        "deps": [],
        "cksum": hashlib.sha256(data).hexdigest(),
        "features": {},
        "yanked": yanked,
        "links": None,
        "v": 2,
        "pubtime": pubtime,
    }


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)  # breaks any hard link: copies made with cp -al stay intact


def write_config(reg):
    cfg = {"dl": f"file://{reg}/crates/{{crate}}/{{crate}}-{{version}}.crate"}
    write_atomic(os.path.join(reg, "config.json"), json.dumps(cfg).encode())


def write_index(reg, name, lines):
    body = "".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines)
    write_atomic(os.path.join(reg, index_path(name)), body.encode())


def generate(reg, n_crates, n_versions, seed):
    rng = random.Random(seed)
    names, index, states = [], {}, {}
    start = 1_546_300_800  # 2019-01-01
    span = 7 * 365 * 86400
    for i in range(n_crates):
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i:06d}"
        names.append(name)
        states[name] = {}
        t = start + rng.randrange(span // 2)
        lines = []
        for v in range(n_versions):
            vers = f"0.{v}.0"
            data = crate_bytes(name, vers, release_files(name, vers, rng, states[name]))
            write_atomic(os.path.join(reg, "crates", name, f"{name}-{vers}.crate"), data)
            t += rng.randrange(86400, span // (2 * n_versions))
            lines.append(index_line(name, vers, data, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))))
        index[name] = lines
        write_index(reg, name, lines)
    write_config(reg)
    return names, index, states


def add_day(reg, names, index, states, n_new, seed):
    """One day: a new release of n_new distinct crates, n_new/10 yanks."""
    rng = random.Random(seed)
    changed = {}
    for name in rng.sample(names, n_new):
        lines = [dict(l) for l in index[name]]
        vers = f"0.{len(lines)}.0"
        state = json.loads(json.dumps(states[name]))
        data = crate_bytes(name, vers, release_files(name, vers, rng, state))
        write_atomic(os.path.join(reg, "crates", name, f"{name}-{vers}.crate"), data)
        lines.append(index_line(name, vers, data, T1_PUB))
        changed[name] = lines
    for name in rng.sample(names, max(1, n_new // 10)):
        lines = changed.get(name) or [dict(l) for l in index[name]]
        lines[0]["yanked"] = True
        changed[name] = lines
    for name, lines in changed.items():
        write_index(reg, name, lines)
    write_config(reg)
    return len(changed)


def timed(cmd, log):
    tfile = log + ".time"
    full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile] + cmd
    with open(log, "wb") as f:
        rc = subprocess.call(full, stdout=f, stderr=subprocess.STDOUT)
    with open(tfile) as f:
        wall, user, sys_, rss = f.read().split()[-4:]
    if rc not in (0,):
        sys.exit(f"command failed ({rc}): {' '.join(cmd)}; see {log}")
    return {"wall": float(wall), "cpu": float(user) + float(sys_), "rss_mb": int(rss) / 1024}


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_size
            except OSError:
                pass
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crates", type=int, default=2000)
    ap.add_argument("--versions", type=int, default=5)
    ap.add_argument("--new", default="20,200")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/cargofox"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/out/daily"))
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    binary = os.path.join(out, "cargofox-bench")
    shutil.copy2(a.bin, binary)
    reg = os.path.join(out, "registry")
    t = time.time()
    names, index, states = generate(reg, a.crates, a.versions, seed=9)
    print(f"generated {a.crates} crates x {a.versions} versions in {time.time() - t:.1f} s", file=sys.stderr)
    listing = os.path.join(out, "crates.txt")
    with open(listing, "w") as f:
        f.write("\n".join(names) + "\n")

    def sync(data, registry, now, log):
        cmd = [binary, "--data", data, "--registry", f"file://{registry}", "--current-time", now,
               "sync", "-j", str(a.jobs), "--list", listing]
        return timed(cmd, log)

    snap = os.path.join(out, "snapshot")
    print("syncing the snapshot ...", file=sys.stderr)
    backfill = sync(snap, reg, T0, os.path.join(out, "backfill.log"))
    backfill["load"] = loadavg()
    # The audit commit of the backfill leaves git's automatic gc running
    # detached in the background; finish it here (not timed), and keep later
    # automatic gcs inside the timed run, so no copy races a repack.
    audit_git = ["git", "-C", os.path.join(snap, "audit")]
    gc_pid = os.path.join(snap, "audit", ".git", "gc.pid")
    deadline = time.time() + 900
    while os.path.exists(gc_pid) and time.time() < deadline:
        time.sleep(0.5)
    subprocess.check_call(audit_git + ["-c", "gc.autoDetach=false", "gc", "--quiet"])
    subprocess.check_call(audit_git + ["config", "gc.autoDetach", "false"])
    crate_bytes_total = sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(reg, "crates")) for f in fs
    )
    sizes = {
        "versions": a.crates * a.versions,
        "crate_bytes": crate_bytes_total,
        "store": du(os.path.join(snap, "store.git")),
        "audit_worktree": du(os.path.join(snap, "audit")) - du(os.path.join(snap, "audit/.git")),
        "audit_git": du(os.path.join(snap, "audit/.git")),
    }
    rows = []
    for n_new in [int(x) for x in a.new.split(",")]:
        for run in range(a.runs):
            work = os.path.join(out, f"day-{n_new}-{run}")
            data, reg_k = os.path.join(work, "data"), os.path.join(work, "registry")
            os.makedirs(work)
            subprocess.check_call(["cp", "-a", snap, data])
            subprocess.check_call(["cp", "-al", reg, reg_k])
            # A copied working copy has new inodes and ctimes: let git refresh
            # its index once (not timed), or the first `git add -A` rehashes
            # every file, which a real daily run never does.
            subprocess.check_call(["git", "-C", os.path.join(data, "audit"), "update-index", "-q", "--refresh"])
            touched = add_day(reg_k, names, index, states, n_new, seed=100 + run)
            load = loadavg()
            daily = sync(data, reg_k, T1, os.path.join(work, "daily.log"))
            noop = sync(data, reg_k, T1, os.path.join(work, "noop.log"))
            os.remove(os.path.join(data, "audit", "stats.json"))
            stats = sync(data, reg_k, T1, os.path.join(work, "stats.log"))
            with open(os.path.join(work, "daily.log")) as f:
                summary = [l.strip() for l in f if l.startswith("sync:")]
            rows.append({"new": n_new, "run": run, "crates_touched": touched, "load": load,
                         "daily": daily, "noop": noop, "stats": stats, "summary": summary})
            print(f"new={n_new} run={run} daily={daily['wall']:.2f}s noop={noop['wall']:.2f}s "
                  f"stats-rerun={stats['wall']:.2f}s (load {load})", file=sys.stderr)
            shutil.rmtree(work)

    med = lambda xs: statistics.median(xs)
    lines = [
        f"# Daily increment ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"Registry: {a.crates} crates x {a.versions} versions = {sizes['versions']} versions, "
        f"{sizes['crate_bytes'] / 1e6:.1f} MB of .crate. Binary: {a.bin}. Jobs: {a.jobs}.",
        "",
        f"Backfill (snapshot sync): {backfill['wall']:.2f} s wall, {backfill['cpu']:.2f} s CPU, "
        f"{backfill['rss_mb']:.0f} MB peak RSS, load {backfill['load']}; "
        f"{sizes['versions'] / backfill['wall']:.1f} versions/s.",
        "",
        f"Sizes after the backfill: store {sizes['store'] / 1e6:.1f} MB, audit work tree "
        f"{sizes['audit_worktree'] / 1e6:.1f} MB, audit .git {sizes['audit_git'] / 1e6:.1f} MB "
        f"(per version: {sizes['store'] / sizes['versions'] / 1e3:.1f} kB store, "
        f"{sizes['audit_worktree'] / sizes['versions'] / 1e3:.1f} kB + {sizes['audit_git'] / sizes['versions'] / 1e3:.1f} kB audit, "
        f"{sizes['crate_bytes'] / sizes['versions'] / 1e3:.1f} kB downloaded).",
        "",
        "| new versions | crates changed | daily wall s | daily CPU s | no-op wall s | no-op CPU s | recount wall s | peak RSS MB | runs (load) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for n_new in sorted({r["new"] for r in rows}):
        rs = [r for r in rows if r["new"] == n_new]
        lines.append(
            f"| {n_new} | {rs[0]['crates_touched']} | {med([r['daily']['wall'] for r in rs]):.2f} | "
            f"{med([r['daily']['cpu'] for r in rs]):.2f} | {med([r['noop']['wall'] for r in rs]):.2f} | "
            f"{med([r['noop']['cpu'] for r in rs]):.2f} | {med([r['stats']['wall'] for r in rs]):.2f} | "
            f"{max(r['daily']['rss_mb'] for r in rs):.0f} | "
            + ", ".join(f"{r['daily']['wall']:.2f} ({r['load']})" for r in rs)
            + " |"
        )
    lines.append("")
    lines.append("What the daily runs did (their summary lines):")
    lines.append("")
    lines += [f"- new={r['new']} run={r['run']}: `{' '.join(r['summary'])}`" for r in rows]
    lines.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"backfill": backfill, "sizes": sizes, "rows": rows}, f, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
