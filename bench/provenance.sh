#!/usr/bin/env bash
# bench/provenance.sh — what the upstream provenance stage costs, against
# git doing the same work in the same run.
#
# Owns: bench/out/provenance.md and bench/out/provenance/. For a corpus made
# by bench/build-corpus.py and local mirrors of the crates' repositories it
#   (a) ingests the corpus once with `sync --no-upstream` (not timed);
#   (b) times, interleaved, RUNS times each:
#         git-fetch       git init --bare + git fetch of every mirror with the
#                         refspecs cargofox uses (branches and tags): the
#                         fetch baseline
#         fetch+reports   cargofox sync on a copy of the store without
#                         refs/upstream and without the audit repository:
#                         fetch every repository + provenance + all reports
#         warm            the same with the repositories already fetched
#                         (--offline): provenance + all reports
#         no-upstream     the same with --no-upstream: all reports, no
#                         provenance
#         git-diff        `git diff-tree -r -p --stdin` over the same (basis
#                         tree, release tree) pairs the reports compared: git
#                         comparing what provenance compares, contents of the
#                         differing files included
#       under /usr/bin/time -v (wall clock, peak RSS);
#   (c) prints medians and the ratios (warm − no-upstream) / git-diff and
#       fetch+reports − warm against git-fetch, and writes them to
#       bench/out/provenance.md.
#
# Usage: bench/provenance.sh [--runs N] --mirrors FILE [CORPUS]
#   FILE has one line per repository: `<canonical URL> <path of a local git
#   repository>`, e.g. `https://github.com/serde-rs/serde /srv/mirrors/serde.git`
#   (make one with `git clone --mirror`). The rules become `insteadOf` lines
#   in a throwaway HOME, exactly as a user would point cargofox at mirrors.
#   CARGOFOX_BIN=path times another binary (default: target/release/cargofox,
#   built first).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out
WORK=$OUT/provenance
RUNS=3
MIRRORS=
CORPUS=$ROOT/bench/corpus
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=${2:?}; shift ;;
        --mirrors) MIRRORS=${2:?}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) CORPUS=$1 ;;
    esac
    shift
done
[ -n "$MIRRORS" ] || { echo "--mirrors FILE is required" >&2; exit 2; }
[ -f "$CORPUS/config.json" ] || { echo "no corpus at $CORPUS (run bench/build-corpus.py)" >&2; exit 2; }
if [ -z "${CARGOFOX_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --locked >/dev/null)
    CARGOFOX_BIN=$ROOT/target/release/cargofox
fi
mkdir -p "$WORK"
cp "$CARGOFOX_BIN" "$WORK/cargofox"
BIN=$WORK/cargofox

HOME_DIR=$WORK/home
rm -rf "$HOME_DIR"; mkdir -p "$HOME_DIR"
while read -r url path; do
    [ -n "$url" ] || continue
    printf '[url "file://%s"]\n\tinsteadOf = %s\n' "$(cd "$path" && pwd)" "$url" >>"$HOME_DIR/.gitconfig"
done <"$MIRRORS"

CRATES=$(ls "$CORPUS/crates" | tr '\n' ' ')
NOW=2026-01-01T00:00:00Z
CF=(env "HOME=$HOME_DIR" "$BIN" --registry "file://$CORPUS" --current-time "$NOW")

echo "ingesting $CRATES(not timed)"
BASE=$WORK/base
if [ ! -d "$BASE/store.git" ]; then
    "${CF[@]}" --data "$BASE" sync --no-upstream $CRATES >"$WORK/ingest.log" 2>&1
fi

TIMINGS=$WORK/timings.tsv
: >"$TIMINGS"
: >"$WORK/stage.log"
timed() { # name command...
    local name=$1; shift
    /usr/bin/time -f '%e %M' -o "$WORK/time.$name" "$@" >"$WORK/$name.log" 2>&1 || { echo "$name failed, see $WORK/$name.log" >&2; exit 1; }
    read -r secs kib <"$WORK/time.$name"
    printf '%s\t%s\t%s\n' "$name" "$secs" "$kib" >>"$TIMINGS"
    printf '  %-14s %8.2f s %8d MiB\n' "$name" "$secs" $((kib / 1024))
}

fresh_copy() { # a copy of the ingested store, without upstream refs or audit
    rm -rf "$WORK/run"; mkdir -p "$WORK/run"
    cp -a "$BASE/store.git" "$WORK/run/store.git"
    git --git-dir "$WORK/run/store.git" for-each-ref --format='delete %(refname)' refs/upstream/ \
        | git --git-dir "$WORK/run/store.git" update-ref --stdin
}

git_fetch_all() {
    rm -rf "$WORK/gitfetch"; mkdir -p "$WORK/gitfetch"
    local i=0
    while read -r url path; do
        [ -n "$url" ] || continue
        i=$((i + 1))
        git init -q --bare "$WORK/gitfetch/$i.git"
        git --git-dir "$WORK/gitfetch/$i.git" fetch -q --no-tags "file://$(cd "$path" && pwd)" \
            '+refs/heads/*:refs/upstream/heads/*' '+refs/tags/*:refs/upstream/tags/*'
    done <"$MIRRORS"
}

pairs() { # (basis tree, release tree) pairs from the warm run's reports
    python3 - "$WORK/run/audit" "$WORK/run/store.git" <<'EOF' >"$WORK/pairs.txt"
import json, pathlib, subprocess, sys
audit, store = pathlib.Path(sys.argv[1]), sys.argv[2]
specs = []
for f in sorted(audit.glob("crates/**/*.json")):
    try:
        r = json.loads(f.read_text())
    except Exception:
        continue
    p = (r.get("provenance") or {})
    b = p.get("basis")
    if not b:
        continue
    spec = b["commit"] + (":" + b["dir"] if b["dir"] else "^{tree}")
    specs.append((spec, r["facts"]["tree"]))
out = subprocess.run(["git", "--git-dir", store, "cat-file", "--batch-check=%(objectname)"],
                     input="".join(s + "\n" for s, _ in specs), capture_output=True, text=True, check=True).stdout.split("\n")
for (spec, tree), basis in zip(specs, out):
    if len(basis) == 40:
        print(basis, tree)
EOF
    wc -l <"$WORK/pairs.txt"
}

for run in $(seq "$RUNS"); do
    echo "run $run/$RUNS"
    timed git-fetch bash -c "$(declare -f git_fetch_all); WORK='$WORK' MIRRORS='$MIRRORS' git_fetch_all"
    fresh_copy
    timed fetch+reports "${CF[@]}" --data "$WORK/run" -v sync $CRATES
    grep -h 'upstream stage' "$WORK/fetch+reports.log" | sed 's/^/fetch+reports /' >>"$WORK/stage.log"
    rm -rf "$WORK/run/audit"
    timed warm "${CF[@]}" --data "$WORK/run" --offline -v sync $CRATES
    grep -h 'upstream stage' "$WORK/warm.log" | sed 's/^/warm /' >>"$WORK/stage.log"
    [ "$run" = 1 ] && echo "  $(pairs) (basis, release) pairs"
    cp -a "$WORK/run/audit" "$WORK/audit-with-provenance"
    rm -rf "$WORK/run/audit"
    timed no-upstream "${CF[@]}" --data "$WORK/run" --offline sync --no-upstream $CRATES
    timed git-diff sh -c "git --git-dir '$WORK/run/store.git' diff-tree -r -p --stdin <'$WORK/pairs.txt' >/dev/null"
    rm -rf "$WORK/audit-with-provenance"
done

python3 - "$TIMINGS" "$WORK/pairs.txt" "$OUT/provenance.md" "$WORK/stage.log" <<'EOF'
import re, statistics, sys, collections
stage = collections.defaultdict(list)
for line in open(sys.argv[4]):
    kv = dict(re.findall(r"(\w+)=(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", line)))
    stage[line.split()[0]].append({k: int(v) for k, v in kv.items()})
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, s, k = line.split("\t")
    rows[n].append((float(s), int(k)))
med = {n: statistics.median(s for s, _ in v) for n, v in rows.items()}
rss = {n: max(k for _, k in v) // 1024 for n, v in rows.items()}
pairs = sum(1 for _ in open(sys.argv[2]))
prov = med["warm"] - med["no-upstream"]
fetch = med["fetch+reports"] - med["warm"]
lines = ["| step | median s | peak RSS MiB |", "| --- | ---: | ---: |"]
for n in ["git-fetch", "fetch+reports", "warm", "no-upstream", "git-diff"]:
    lines.append(f"| {n} | {med[n]:.2f} | {rss[n]} |")
cmp = statistics.median(x["compare_ms"] for x in stage["warm"]) / 1000
rel = stage["warm"][0]["releases"]
fms = statistics.median(x["fetch_ms"] for x in stage["fetch+reports"]) / 1000
nf = stage["fetch+reports"][0]["fetches"]
lines += [
    "",
    f"- measured inside cargofox (`-v`, line `upstream stage`): provenance of {rel} releases {cmp:.2f} s "
    f"({1000 * cmp / max(rel, 1):.2f} ms per release), {cmp / med['git-diff']:.2f}× `git diff-tree -r -p` of the {pairs} (basis, release) pairs; "
    f"{nf} fetches {fms:.2f} s, {fms / med['git-fetch']:.2f}× `git fetch` of the same mirrors",
    f"- runs per step: {len(rows['warm'])}; releases compared with a basis: {pairs}",
    f"- from wall clock (noisier): provenance (warm − no-upstream): {prov:.2f} s, {1000 * prov / max(pairs, 1):.2f} ms per release; "
    f"ratio to `git diff-tree -r -p` of the same pairs: {prov / med['git-diff']:.2f}×",
    f"- fetch (fetch+reports − warm): {fetch:.2f} s; ratio to `git fetch` of the same mirrors: {fetch / med['git-fetch']:.2f}×",
]
open(sys.argv[3], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
