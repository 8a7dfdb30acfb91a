#!/usr/bin/env bash
# bench/run.sh — time `cargofox sync` against a `git fast-import` baseline.
#
# Owns: the benchmark run and its report, bench/out/results.md. For a corpus
# made by bench/build-corpus.py it
#   (a) builds target/release/cargofox unless it is newer than src/,
#       Cargo.toml and Cargo.lock (skipped with --baseline-only);
#   (b) prepares the two fast-import streams (full trees, changed paths only)
#       with bench/fast-import-stream.py — not timed, reused while newer than
#       the corpus index and the script;
#   (c) times, interleaved, RUNS times each, into a fresh directory every time:
#         baseline-full     git init --bare + git fast-import < full stream
#                           + git update-ref --stdin for refs/archives/*
#         baseline-changed  the same with the --changed-only stream
#         cargofox          cargofox --data DIR --registry file://CORPUS sync CRATES
#       each under /usr/bin/time -v (wall clock, peak RSS of the process tree);
#   (d) cross-checks that refs/crates/<n>/<v>^{tree} (and the archive blob) is
#       the same in every store, for every version;
#   (e) prints a Markdown table (medians) and writes it to bench/out/results.md.
# It must not: touch src/, tests/ or the Cargo files, or run any cargo command
# but `cargo build --release`. Everything it writes is under bench/out/.
#
# Usage: bench/run.sh [--baseline-only] [--runs N] [CORPUS]
#   CORPUS defaults to bench/corpus; CARGOFOX_BIN=path times another binary
#   instead of building target/release/cargofox. Exit status: 0 all well, 1 tree/ref
#   mismatches or a failed run, 2 usage or setup error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
WORK=$OUT/work
RUNS=3
BASELINE_ONLY=0
CORPUS=$BENCH/corpus

while [ $# -gt 0 ]; do
    case $1 in
        --baseline-only) BASELINE_ONLY=1 ;;
        --runs) RUNS=${2:?--runs needs a number}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) CORPUS=$1 ;;
    esac
    shift
done
CORPUS=$(cd "$CORPUS" && pwd) || { echo "no corpus directory" >&2; exit 2; }
[ -f "$CORPUS/config.json" ] || { echo "$CORPUS: no config.json (run bench/build-corpus.py)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time" >&2; exit 2; }
mkdir -p "$OUT" "$WORK"

# Both sides run with the same, empty git configuration: no user setting
# (compression level, pack options, hooks) may favour one of them.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
# CARGOFOX_BIN=/path/to/cargofox benchmarks another build (and skips step a).
BIN=${CARGOFOX_BIN:-$ROOT/target/release/cargofox}

# ---- (a) release binary ---------------------------------------------------
if [ "$BASELINE_ONLY" = 0 ] && [ -z "${CARGOFOX_BIN:-}" ]; then
    if [ ! -x "$BIN" ] || [ -n "$(find "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "$BIN" -print -quit)" ]; then
        echo "building release binary..." >&2
        (cd "$ROOT" && cargo build --release)
    else
        echo "release binary is up to date" >&2
    fi
fi

# ---- (b) streams (not timed) ----------------------------------------------
make_stream() { # FORM STREAM [flags...]
    local stream=$2; shift 2
    if [ -f "$stream" ] && [ -f "$stream.json" ] && [ -z "$(find "$CORPUS" "$BENCH/fast-import-stream.py" \
            -path "$CORPUS/crates" -prune -o -type f -newer "$stream.json" -print -quit)" ]; then
        echo "reusing $stream" >&2
        return
    fi
    echo "writing $stream..." >&2
    python3 "$BENCH/fast-import-stream.py" "$@" "$CORPUS" "$stream" 2> "$stream.log" \
        || { cat "$stream.log" >&2; exit 2; }
    tail -n 1 "$stream.log" >&2
}
make_stream full "$OUT/full.stream"
make_stream changed "$OUT/changed.stream" --changed-only
grep '^anomaly:' "$OUT/full.stream.log" >&2 || true
CRATES=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["crates"]))' "$OUT/full.stream.json")

# ---- (c) timed runs -------------------------------------------------------
# One baseline run: the whole of it (init, import, archive refs) is timed.
baseline() { # STREAM DIR
    local stream=$1 dir=$2
    git init --bare -q "$dir"
    git --git-dir="$dir" fast-import --quiet --export-marks="$dir.marks" < "$stream"
    # ":<mark> <ref>" joined with ":<mark> <blob id>" -> "create <ref> <blob id>"
    awk 'NR == FNR { ref[$1] = $2; next } ($1 in ref) { print "create " ref[$1] " " $2 }' \
        "$stream.archives" "$dir.marks" | git --git-dir="$dir" update-ref --stdin
}
export -f baseline

TIMINGS=$OUT/timings.tsv
printf 'method\trun\twall_s\tmax_rss_kb\tstatus\tstore\n' > "$TIMINGS"

timed() { # METHOD RUN STORE LOG -- command...
    local method=$1 run=$2 store=$3 log=$4; shift 5
    local status=0
    /usr/bin/time -v -o "$log.time" "$@" > "$log" 2>&1 || status=$?
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
                        for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$log.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log.time")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$method" "$run" "$wall" "$rss" "$status" "$store" >> "$TIMINGS"
    printf '  %-17s run %s: %6.2f s, %4d MB peak RSS%s\n' "$method" "$run" "$wall" $(((rss + 512) / 1024)) \
        "$([ "$status" = 0 ] || echo ", FAILED (exit $status, see $log)")" >&2
}

# Other work on the machine skews wall times: the load average goes in the report.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
export LOAD_BEFORE
methods="baseline-full baseline-changed"
[ "$BASELINE_ONLY" = 1 ] || methods="$methods cargofox"
for run in $(seq 1 "$RUNS"); do
    for method in $methods; do
        dir=$WORK/$method
        rm -rf "$dir" "$dir.git" "$dir.git.marks"
        case $method in
            baseline-full)
                timed "$method" "$run" "$dir.git" "$OUT/$method.log" -- \
                    bash -c 'set -eo pipefail; baseline "$1" "$2"' _ "$OUT/full.stream" "$dir.git" ;;
            baseline-changed)
                timed "$method" "$run" "$dir.git" "$OUT/$method.log" -- \
                    bash -c 'set -eo pipefail; baseline "$1" "$2"' _ "$OUT/changed.stream" "$dir.git" ;;
            cargofox)
                mkdir -p "$dir"
                # shellcheck disable=SC2086 # CRATES is a list of crate names
                timed "$method" "$run" "$dir/store.git" "$OUT/$method.log" -- \
                    "$BIN" --data "$dir" --registry "file://$CORPUS" sync $CRATES ;;
        esac
    done
done

# ---- (d) cross-check and (e) report ---------------------------------------
# The stores of the last run stay in bench/out/work/ for inspection.
python3 - "$OUT" "$RUNS" <<'PY'
import json, os, statistics, subprocess, sys, platform, datetime

out, runs = sys.argv[1], int(sys.argv[2])
stats = json.load(open(os.path.join(out, "full.stream.json")))
tot = stats["totals"]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "timings.tsv"))][1:]
methods = list(dict.fromkeys(r[0] for r in rows))
store_of = {r[0]: r[5] for r in rows}  # the last run's store

def git(store, *args):
    return subprocess.run(["git", "--git-dir", store, *args], check=True,
                          capture_output=True, text=True).stdout

def refs(store, prefix, field):
    if not os.path.isdir(store):
        return {}
    lines = git(store, "for-each-ref", f"--format=%(refname) %({field})", prefix).splitlines()
    return dict(l.split(" ", 1) for l in lines)

def du(path):
    total = 0
    for dp, _, fns in os.walk(path):
        for fn in fns:
            try:
                total += os.lstat(os.path.join(dp, fn)).st_size
            except FileNotFoundError:
                pass
    return total

# (d) Every version's tree (and archive blob) must agree with baseline-full.
report = []
mismatches = 0
expected = [(v["ref"], v["ref"].replace("refs/crates/", "refs/archives/", 1)) for v in stats["versions"]]
ref_trees = refs(store_of["baseline-full"], "refs/crates/", "tree")
ref_blobs = refs(store_of["baseline-full"], "refs/archives/", "objectname")
for m in methods:
    if m == "baseline-full":
        continue
    trees = refs(store_of[m], "refs/crates/", "tree")
    blobs = refs(store_of[m], "refs/archives/", "objectname")
    bad = 0
    for cref, aref in expected:
        for kind, want, got, name in (("tree", ref_trees.get(cref), trees.get(cref), cref),
                                      ("archive", ref_blobs.get(aref), blobs.get(aref), aref)):
            if want is None or got is None or want != got:
                bad += 1
                print(f"MISMATCH {m} {kind} {name}: baseline-full {want} vs {m} {got}", file=sys.stderr)
    mismatches += bad
    report.append(f"- `{m}` vs `baseline-full`: {len(expected)} versions, "
                  f"{bad} mismatching trees or archive blobs (missing refs count as mismatches)")

# (e) The table: medians over the runs.
def med(m, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == m)

base = med("baseline-full", 2)
table = ["| method | versions | .crate MB | unpacked MB | wall s | × baseline-full | versions/s | peak RSS MB | packs MB | objects/ MB | loose objects | failed runs |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for m in methods:
    store = store_of[m]
    wall, rss = med(m, 2), med(m, 3)
    packdir = os.path.join(store, "objects", "pack")
    packs = sum(os.path.getsize(os.path.join(packdir, f)) for f in os.listdir(packdir)
                if f.endswith(".pack")) if os.path.isdir(packdir) else 0
    loose = sum(len(os.listdir(os.path.join(store, "objects", d)))
                for d in (os.listdir(os.path.join(store, "objects")) if os.path.isdir(store) else [])
                if len(d) == 2)
    failed = sum(1 for r in rows if r[0] == m and r[4] != "0")
    table.append(f"| {m} | {tot['versions']} | {tot['crate_bytes'] / 1e6:.1f} | {tot['unpacked_bytes'] / 1e6:.1f} "
                 f"| {wall:.2f} | {wall / base:.2f} | {tot['versions'] / wall:.0f} | {rss / 1024:.0f} "
                 f"| {packs / 1e6:.1f} | {du(os.path.join(store, 'objects')) / 1e6:.1f} | {loose} | {failed} |")

runs_table = ["| method | run | wall s | peak RSS MB | exit |", "| --- | ---: | ---: | ---: | ---: |"]
runs_table += [f"| {r[0]} | {r[1]} | {float(r[2]):.2f} | {int(r[3]) / 1024:.0f} | {r[4]} |" for r in rows]

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
anomalies = [f"`{v['name']} {v['vers']}`: " + "; ".join(v["anomalies"]) for v in stats["versions"] if v["anomalies"]]
doc = "\n".join([
    "# cargofox benchmark results",
    "",
    f"Corpus: every version of {', '.join(stats['crates'])} — {tot['versions']} versions, "
    f"{tot['files']} files. Median of {runs} runs (wall and peak RSS each taken as a median), "
    f"warm page cache, fresh store each run.",
    f"Machine: {os.cpu_count()} CPUs ({cpu}), {git_version}, {platform.system()} {platform.release()}; "
    f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
    f"load average {os.environ.get('LOAD_BEFORE', '?')} before the runs, "
    f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after.",
    "",
    *table,
    "",
    "Cross-check (`refs/crates/<n>/<v>^{tree}` and `refs/archives/<n>/<v>` in each store):",
    "",
    *(report or ["- only one store; nothing to compare"]),
    "",
    "Departures from a clean archive seen while writing the stream:",
    "",
    *([f"- {a}" for a in anomalies] or ["- none"]),
    "",
    "Every run:",
    "",
    *runs_table,
    "",
])
with open(os.path.join(out, "results.md"), "w") as f:
    f.write(doc)
print(doc)
print(f"written: {os.path.join(out, 'results.md')}; {mismatches} mismatches", file=sys.stderr)
sys.exit(1 if mismatches or any(r[4] != "0" for r in rows) else 0)
PY
