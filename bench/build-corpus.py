#!/usr/bin/env python3
"""Build a local `file://` sparse registry from real crates.io releases.

Owns: the benchmark corpus in `bench/corpus` (gitignored). It reads the real
sparse index (`https://index.crates.io`), downloads every version's `.crate`
of the chosen crates through the registry's own `dl` template, verifies each
sha256 against the index `cksum`, and writes a registry directory that
`cargofox --registry file://<dir>` (and `bench/fast-import-stream.py`) read:

    <out>/config.json                        {"dl": "file:///<abs>/crates/{crate}/{crate}-{version}.crate"}
    <out>/<index path>                       the index file, one JSON object a line, original order
    <out>/crates/<name>/<name>-<version>.crate

It must not: touch anything outside `--out`, compare index lines as bytes (the
mirror behind index.crates.io re-serialises them, so lines are parsed as
JSON), or store a download whose sha256 does not match the index.

Python 3 standard library only.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

INDEX_URL = "https://index.crates.io"
USER_AGENT = "cargofox-bench/0.1 (+https://github.com/cargofox)"
PARALLEL_DOWNLOADS = 4
ATTEMPTS = 6
TIMEOUT_S = 60
# HTTP statuses worth another try; anything else (403, 404, ...) is final.
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def index_dir(name):
    """The directory part of a crate's index path, as cargo computes it
    (`1`, `2`, `3/s`, `se/rd`), keeping the name's case (cargo's `{prefix}`)."""
    n = len(name)
    if n == 1:
        return "1"
    if n == 2:
        return "2"
    if n == 3:
        return f"3/{name[0]}"
    return f"{name[0:2]}/{name[2:4]}"


def index_path(name):
    """Index file path of a crate: lowercase, as cargo computes it."""
    lower = name.lower()
    return f"{index_dir(lower)}/{lower}"


def download_url(dl, name, version, cksum):
    """Expand the registry `dl` template the way cargo does: when it has none
    of the markers, append `/{crate}/{version}/download`."""
    markers = ("{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}")
    if not any(m in dl for m in markers):
        return f"{dl.rstrip('/')}/{name}/{version}/download"
    return (
        dl.replace("{crate}", name)
        .replace("{version}", version)
        .replace("{prefix}", index_dir(name))
        .replace("{lowerprefix}", index_dir(name.lower()))
        .replace("{sha256-checksum}", cksum)
    )


def http_get(url, what):
    """GET with retries (exponential backoff + jitter, honours Retry-After).
    Returns the body bytes; raises on a final error."""
    delay = 1.0
    for attempt in range(1, ATTEMPTS + 1):
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                body = resp.read()
                length = resp.headers.get("Content-Length")
                if length is not None and int(length) != len(body):
                    raise OSError(f"short body: {len(body)} of {length} bytes")
                return body
        except urllib.error.HTTPError as e:
            if e.code not in TRANSIENT_STATUS or attempt == ATTEMPTS:
                raise RuntimeError(f"{what}: HTTP {e.code} for {url}") from None
            retry_after = e.headers.get("Retry-After", "")
            wait = float(retry_after) if retry_after.isdigit() else delay
            log(f"  {what}: HTTP {e.code}, retry {attempt}/{ATTEMPTS - 1} in {wait:.1f}s")
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            if attempt == ATTEMPTS:
                raise RuntimeError(f"{what}: {e} for {url}") from None
            wait = delay
            log(f"  {what}: {e}, retry {attempt}/{ATTEMPTS - 1} in {wait:.1f}s")
        time.sleep(wait + random.uniform(0, wait / 2))
        delay = min(delay * 2, 60)
    raise AssertionError("unreachable")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_atomic(path, data):
    """Write to `<path>.part`, then rename: a partial file never has the final name."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def fetch_crate(dl, out, entry):
    """Download one version unless already present and valid. Returns
    (bytes on disk, downloaded?)."""
    name, vers, cksum = entry["name"], entry["vers"], entry["cksum"]
    path = os.path.join(out, "crates", name, f"{name}-{vers}.crate")
    if os.path.exists(path) and sha256_file(path) == cksum:
        return os.path.getsize(path), False
    body = http_get(download_url(dl, name, vers, cksum), f"{name} {vers}")
    got = hashlib.sha256(body).hexdigest()
    if got != cksum:
        raise RuntimeError(f"{name} {vers}: sha256 {got} != index cksum {cksum}")
    write_atomic(path, body)
    return len(body), True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crates", default="serde,syn,regex,tokio",
                    help="comma-separated crate names (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"),
                    help="registry directory to write (default: bench/corpus)")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    names = [c.strip() for c in args.crates.split(",") if c.strip()]

    config = json.loads(http_get(f"{INDEX_URL}/config.json", "config.json"))
    dl = config["dl"]
    log(f"registry dl template: {dl}")

    # Index files: parse every line (never compare bytes), keep original order.
    entries = []
    for name in names:
        raw = http_get(f"{INDEX_URL}/{index_path(name)}", f"index {name}")
        lines = [l for l in raw.decode("utf-8").split("\n") if l.strip()]
        parsed = [json.loads(l) for l in lines]
        for obj in parsed:
            if obj.get("name", "").lower() != name.lower():
                raise RuntimeError(f"index {name}: line for {obj.get('name')!r}")
        # Written as received, one object a line: the mirror's spelling is as
        # good as any, and cargofox parses lines as JSON.
        write_atomic(os.path.join(out, index_path(name)),
                     "".join(l.strip() + "\n" for l in lines).encode("utf-8"))
        entries.extend(parsed)
        log(f"index {name}: {len(parsed)} versions")

    quoted = urllib.parse.quote(out)
    write_atomic(os.path.join(out, "config.json"),
                 (json.dumps({"dl": f"file://{quoted}/crates/{{crate}}/{{crate}}-{{version}}.crate"}) + "\n").encode())

    total_bytes = downloaded = 0
    failures = []
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL_DOWNLOADS) as pool:
        futures = {pool.submit(fetch_crate, dl, out, e): e for e in entries}
        for fut in concurrent.futures.as_completed(futures):
            e = futures[fut]
            done += 1
            try:
                size, fresh = fut.result()
                total_bytes += size
                downloaded += fresh
            except Exception as exc:  # one failure does not stop the others
                failures.append(f"{e['name']} {e['vers']}: {exc}")
                log(f"  FAILED {failures[-1]}")
            if done % 100 == 0 or done == len(entries):
                log(f"  {done}/{len(entries)} crates ({downloaded} downloaded)")

    print(f"corpus: {out}")
    print(f"crates: {len(names)} ({', '.join(names)})")
    print(f"versions: {len(entries)}")
    print(f"downloaded now: {downloaded}")
    print(f".crate bytes: {total_bytes} ({total_bytes / 1e6:.1f} MB)")
    if failures:
        print(f"FAILED: {len(failures)}")
        for f in failures:
            print(f"  {f}")
        sys.exit(1)


if __name__ == "__main__":
    main()
