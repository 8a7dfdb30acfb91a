#!/usr/bin/env python3
"""Check the audit repository one `cargofox sync` left, and measure it.

Usage: audit-check.py STREAM_JSON AUDIT_DIR METHOD RUN

STREAM_JSON is the `.json` fast-import-stream.py writes beside a stream (the
list of every version of the corpus). Prints one JSON object on stdout (run.sh
appends it to bench/out/audit.jsonl) and exits 1 when the repository is not
what a complete sync must leave:

- under `crates/`: exactly one `<stem>.md` and one `<stem>.json` report per
  version of the corpus, at the path cargofox uses
  (`crates/<cargo index path of the name>/<stem>`, src/report/paths.rs), one
  `README.md` crate page per crate, and nothing else but the continuation
  pages of a long report (`<stem>.files-<n>.md`, `<stem>.diffs-<n>.md`, n
  from 1 without a gap, src/report/render.rs), counted separately;
- the work tree is committed: `git status --porcelain` prints nothing and HEAD
  exists.

Measured: `du -sk` of the whole repository and of its `.git`, the number of
files in the work tree (outside `.git`) and of files tracked at HEAD, the
number of commits, the number of reports without a previous release to
compare with (no `changes`), and the sums over every report's `changes.totals` (diff
text shown and omitted, files with a truncated or omitted diff, lines added and
removed).
"""

import json
import os
import re
import subprocess
import sys


def index_path(name):
    """cargo's index path of a crate name (lowercase), as cargofox uses it."""
    n = name.lower()
    if len(n) <= 2:
        return f"{len(n)}/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def version_stem(v):
    """src/report/paths.rs `version_stem`: injective and case-safe."""
    out = []
    for b in v.encode():
        c = chr(b)
        if c.islower() and c.isascii() or c.isdigit() or c in ".+-":
            out.append(c)
        elif "A" <= c <= "Z":
            out.append("_" + c.lower())
        elif c == "_":
            out.append("__")
        else:
            out.append(f"%{b:02X}")
    s = "".join(out)
    return "%2E" + s[1:] if s.startswith(".") else s


def du_kb(path):
    return int(subprocess.run(["du", "-sk", path], check=True, capture_output=True,
                              text=True).stdout.split()[0])


def git(audit, *args):
    return subprocess.run(["git", "-C", audit, *args], capture_output=True, text=True)


def main():
    stream_json, audit, method, run = sys.argv[1:5]
    stats = json.load(open(stream_json))
    expected = set()
    for v in stats["versions"]:
        base = f"crates/{index_path(v['name'])}/{version_stem(v['vers'])}"
        expected |= {base + ".md", base + ".json"}
    expected |= {f"crates/{index_path(n)}/README.md" for n in stats["crates"]}

    stems = {}  # crates/<dir>/<stem>: whether that version is in the corpus
    for v in stats["versions"]:
        stems[f"crates/{index_path(v['name'])}/{version_stem(v['vers'])}"] = True

    files = []
    for dp, dns, fns in os.walk(audit):
        if dp == audit:
            dns[:] = [d for d in dns if d != ".git"]
        files += [os.path.relpath(os.path.join(dp, f), audit) for f in fns]
    under = {f for f in files if f.startswith("crates/")}
    # Continuation pages: <stem>.files-<n>.md, <stem>.diffs-<n>.md.
    pages = {}
    for f in under - expected:
        m = re.fullmatch(r"(.*)\.(files|diffs)-([1-9][0-9]*)\.md", f)
        if m and m.group(1) in stems:
            pages.setdefault((m.group(1), m.group(2)), set()).add(int(m.group(3)))
    problems = []
    for (stem, kind), ns in sorted(pages.items()):
        if ns != set(range(1, len(ns) + 1)):
            problems.append(f"{stem}.{kind}-<n>.md pages {sorted(ns)} have a gap")
    page_files = {f"{stem}.{kind}-{n}.md" for (stem, kind), ns in pages.items() for n in ns}
    reports_md = sum(1 for f in under & expected if f.endswith(".md") and not f.endswith("/README.md"))
    reports_json = sum(1 for f in under & expected if f.endswith(".json"))
    missing, extra = sorted(expected - under), sorted(under - expected - page_files)
    if missing:
        problems.append(f"{len(missing)} missing under crates/, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} unexpected under crates/, e.g. {extra[:3]}")
    n = stats["totals"]["versions"]
    if reports_md != n or reports_json != n:
        problems.append(f"{reports_md} .md and {reports_json} .json reports under crates/, want {n} of each")
    if len(page_files) + reports_md + len(stats["crates"]) != sum(1 for f in under if f.endswith(".md")):
        problems.append("the .md files under crates/ are not reports, pages and crate pages")

    status = git(audit, "status", "--porcelain")
    if status.returncode != 0 or status.stdout.strip():
        problems.append("work tree not committed: " + (status.stdout or status.stderr).strip()[:200])
    commits = git(audit, "rev-list", "--count", "HEAD")
    if commits.returncode != 0:
        problems.append("no HEAD commit")
    tracked = git(audit, "ls-tree", "-r", "--name-only", "-z", "HEAD").stdout.count("\0")

    totals = {}
    without_previous = 0
    for f in under:
        if f.endswith(".json"):
            try:
                changes = json.load(open(os.path.join(audit, f))).get("changes") or {}
            except (OSError, ValueError) as e:
                problems.append(f"{f}: unreadable report: {e}")
                continue
            without_previous += not changes
            for k, v in (changes.get("totals") or {}).items():
                if isinstance(v, int):
                    totals[k] = totals.get(k, 0) + v

    print(json.dumps({
        "method": method, "run": int(run), "ok": not problems, "problems": problems,
        "reports_md": reports_md, "reports_json": reports_json,
        "pages_files": sum(len(ns) for (_, k), ns in pages.items() if k == "files"),
        "pages_diffs": sum(len(ns) for (_, k), ns in pages.items() if k == "diffs"),
        "reports_paged": len({stem for stem, _ in pages}),
        "files": len(files), "tracked": tracked,
        "commits": int(commits.stdout.strip() or 0) if commits.returncode == 0 else 0,
        "du_kb": du_kb(audit), "git_du_kb": du_kb(os.path.join(audit, ".git")),
        "without_previous": without_previous, "change_totals": totals,
    }))
    for p in problems:
        print(f"audit check {method} run {run}: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
