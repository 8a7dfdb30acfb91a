#!/usr/bin/env bash
# bench/run.sh — time `cargofox sync` (ingest, diffs, reports, audit commit)
# against a `git fast-import` + `git log -p` baseline.
#
# Owns: the benchmark run and its report, bench/out/results.md. For a corpus
# made by bench/build-corpus.py it
#   (a) builds target/release/cargofox unless it is newer than src/,
#       Cargo.toml and Cargo.lock (skipped with --baseline-only), and copies
#       the binary to bench/out/cargofox-bench, so that a rebuild during the
#       runs cannot change what is timed;
#   (b) prepares the two fast-import streams (full trees, changed paths only)
#       with bench/fast-import-stream.py — not timed, reused while newer than
#       the corpus index and the script;
#   (c) times, interleaved, RUNS times each:
#         baseline-full     git init --bare + git fast-import < full stream
#                           + git update-ref --stdin for refs/archives/*
#         git-log-p         git log -p over every refs/crates/* commit of the
#                           store baseline-full just wrote (each commit against
#                           its parent: the pairs cargofox's reports compare)
#         baseline-changed  the fast-import baseline with the --changed-only stream
#         cargofox          cargofox --data DIR --registry file://CORPUS sync CRATES
#                           into a fresh DIR: ingest + diffs + reports + audit
#                           commit; bench/phase-watch.py notes when the first
#                           report and the audit commit begin
#         cargofox-noop     the same command again on the same DIR (nothing new)
#         cargofox-reports  the same command after deleting DIR/audit: the store
#                           holds everything, every report is written again
#       each under /usr/bin/time -v (wall clock, peak RSS of the process tree);
#       after every cargofox run bench/audit-check.py checks the audit
#       repository (one .md and one .json report per version under crates/,
#       everything committed) and measures it;
#   (d) cross-checks that refs/crates/<n>/<v>^{tree} (and the archive blob and
#       the parent version) is the same in every store, for every version, and
#       that the git log -p pass visits every version commit exactly once;
#   (e) prints Markdown tables (medians) and writes them to bench/out/results.md.
# It must not: touch src/, tests/ or the Cargo files, or run any cargo command
# but `cargo build --release`. Everything it writes is under bench/out/.
#
# Usage: bench/run.sh [--baseline-only] [--runs N] [--mirrors FILE] [CORPUS]
#   --mirrors FILE: compare with upstream repositories served from local
#   mirrors (FILE: `<canonical URL> <local git directory>` per line, turned
#   into `insteadOf` rules in a throwaway HOME for the cargofox runs only);
#   without it the cargofox runs use --no-upstream, so that no run depends
#   on the network.
#   CORPUS defaults to bench/corpus; CARGOFOX_BIN=path times another binary
#   instead of building target/release/cargofox. Exit status: 0 all well, 1 tree/ref
#   mismatches, a failed run or a failed audit check, 2 usage or setup error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
WORK=$OUT/work
RUNS=3
BASELINE_ONLY=0
CORPUS=$BENCH/corpus
MIRRORS=

while [ $# -gt 0 ]; do
    case $1 in
        --baseline-only) BASELINE_ONLY=1 ;;
        --runs) RUNS=${2:?--runs needs a number}; shift ;;
        --mirrors) MIRRORS=${2:?--mirrors needs a file}; shift ;;
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
# The audit repository must be DIR/audit, where the checks look for it.
unset CARGOFOX_AUDIT
# CARGOFOX_BIN=/path/to/cargofox benchmarks another build (and skips step a).
BIN=${CARGOFOX_BIN:-$ROOT/target/release/cargofox}
# How cargofox runs: with upstream mirrors (their insteadOf rules in a
# throwaway HOME) or without upstream at all.
if [ -n "$MIRRORS" ]; then
    rm -rf "$WORK/home"; mkdir -p "$WORK/home"
    while read -r url path; do
        [ -n "$url" ] || continue
        printf '[url "file://%s"]\n\tinsteadOf = %s\n' "$(cd "$path" && pwd)" "$url" >>"$WORK/home/.gitconfig"
    done <"$MIRRORS"
    CF=(env -u GIT_CONFIG_GLOBAL "HOME=$WORK/home" "$BIN")
    UPSTREAM_NOTE="upstream compared against local mirrors ($MIRRORS)"
else
    CF=("$BIN")
    UPSTREAM_NOTE="--no-upstream (no --mirrors given)"
fi

# ---- (a) release binary ---------------------------------------------------
if [ "$BASELINE_ONLY" = 0 ] && [ -z "${CARGOFOX_BIN:-}" ]; then
    if [ ! -x "$BIN" ] || [ -n "$(find "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "$BIN" -print -quit)" ]; then
        echo "building release binary..." >&2
        (cd "$ROOT" && cargo build --release)
    else
        echo "release binary is up to date" >&2
    fi
fi
if [ "$BASELINE_ONLY" = 0 ]; then
    [ -x "$BIN" ] || { echo "$BIN: no such binary" >&2; exit 2; }
    # What is timed is a private copy: another build may replace target/release
    # while the runs go on.
    BIN_INFO="$BIN, $(date -u -r "$BIN" '+built %Y-%m-%d %H:%M UTC'), $("$BIN" --version)"
    if [ -z "${CARGOFOX_BIN:-}" ]; then
        BIN_INFO="$BIN_INFO; source: commit $(git -C "$ROOT" rev-parse --short HEAD)"
        dirty=$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock | wc -l)
        [ "$dirty" = 0 ] || BIN_INFO="$BIN_INFO + $dirty uncommitted changed files in src/ and the Cargo files"
    fi
    cp "$BIN" "$OUT/cargofox-bench.tmp" && mv "$OUT/cargofox-bench.tmp" "$OUT/cargofox-bench"
    BIN=$OUT/cargofox-bench
    export BIN_INFO
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

# The git log -p baseline: every commit reachable from refs/crates/* (every
# version, each once), each against its parent, with git's default rename
# detection (-M, as cargofox pairs renames). A root commit (the first version
# of a crate) gets no patch: cargofox has nothing to compare it with either
# (log.showRoot=false). No pager, no colour, no external diff driver; the patch
# text goes to /dev/null (--output), its size is measured in (d), untimed.
LOG_P=(--no-pager -c log.showRoot=false log -p -M --no-color --no-ext-diff)
LOG_REVS=('--glob=refs/crates/*')
export LOG_P_CMD="${LOG_P[*]} ${LOG_REVS[*]}"

TIMINGS=$OUT/timings.tsv
AUDITS=$OUT/audit.jsonl
printf 'method\trun\twall_s\tmax_rss_kb\tstatus\tstore\tstart_epoch\tphases\tload1\tcpu_s\n' > "$TIMINGS"
: > "$AUDITS"
rm -f "$OUT"/*.phases "$OUT"/*.phases.ready

timed() { # METHOD RUN STORE LOG PHASES -- command...
    local method=$1 run=$2 store=$3 log=$4 phases=$5; shift 6
    local status=0 load1 start
    load1=$(cut -d' ' -f1 /proc/loadavg)
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$log.time" "$@" > "$log" 2>&1 || status=$?
    local wall rss cpu
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
                        for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$log.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log.time")
    # CPU seconds (user + system, children included): less sensitive to other
    # work on the machine than the wall clock.
    cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { print s }' "$log.time")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$method" "$run" "$wall" "$rss" "$status" "$store" \
        "$start" "$phases" "$load1" "$cpu" >> "$TIMINGS"
    printf '  %-17s run %s: %6.2f s (%6.2f s CPU), %4d MB peak RSS, load %s%s\n' "$method" "$run" "$wall" "$cpu" \
        $(((rss + 512) / 1024)) "$load1" "$([ "$status" = 0 ] || echo ", FAILED (exit $status, see $log)")" >&2
}

# bench/phase-watch.py beside a cargofox run: when the first report and the
# audit commit begin (see that script). Started and ready before the timing.
WATCH_PID=
watch_start() { # DATA PHASES
    rm -f "$2" "$2.ready"
    python3 "$BENCH/phase-watch.py" "$1" "$BIN" "$2" &
    WATCH_PID=$!
    for _ in $(seq 1 500); do
        [ -e "$2.ready" ] && return
        sleep 0.01
    done
    echo "bench/phase-watch.py did not start" >&2
    exit 2
}
watch_stop() {
    kill -TERM "$WATCH_PID" 2> /dev/null || true
    wait "$WATCH_PID" || true
    WATCH_PID=
}
trap '[ -z "$WATCH_PID" ] || kill -TERM "$WATCH_PID" 2> /dev/null || true' EXIT

# Checks and measures the audit repository a cargofox run left; a failed
# check is recorded and fails the benchmark at the end.
audit_check() { # METHOD RUN DATA
    python3 "$BENCH/audit-check.py" "$OUT/full.stream.json" "$3/audit" "$1" "$2" >> "$AUDITS" \
        || echo "  $1 run $2: AUDIT CHECK FAILED (see $AUDITS)" >&2
}

# Other work on the machine skews wall times: the load average goes in the report.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
export LOAD_BEFORE
methods="baseline-full git-log-p baseline-changed"
[ "$BASELINE_ONLY" = 1 ] || methods="$methods cargofox cargofox-noop cargofox-reports"
for run in $(seq 1 "$RUNS"); do
    for method in $methods; do
        log=$OUT/$method.log
        case $method in
            baseline-full|baseline-changed)
                dir=$WORK/$method
                rm -rf "$dir" "$dir.git" "$dir.git.marks"
                stream=$OUT/full.stream
                [ "$method" = baseline-full ] || stream=$OUT/changed.stream
                timed "$method" "$run" "$dir.git" "$log" "" -- \
                    bash -c 'set -eo pipefail; baseline "$1" "$2"' _ "$stream" "$dir.git" ;;
            git-log-p)
                # Over the store baseline-full wrote in this run.
                store=$WORK/baseline-full.git
                timed "$method" "$run" "$store" "$log" "" -- \
                    git --git-dir="$store" "${LOG_P[@]}" --output=/dev/null "${LOG_REVS[@]}" ;;
            cargofox)
                dir=$WORK/cargofox
                rm -rf "$dir"
                mkdir -p "$dir"
                watch_start "$dir" "$OUT/$method.run$run.phases"
                # shellcheck disable=SC2086 # CRATES is a list of crate names
                timed "$method" "$run" "$dir/store.git" "$log" "$OUT/$method.run$run.phases" -- \
                    "${CF[@]}" --data "$dir" --registry "file://$CORPUS" sync $([ -n "$MIRRORS" ] || echo --no-upstream) $CRATES
                watch_stop
                audit_check "$method" "$run" "$dir" ;;
            cargofox-noop)
                dir=$WORK/cargofox
                # shellcheck disable=SC2086
                timed "$method" "$run" "$dir/store.git" "$log" "" -- \
                    "${CF[@]}" --data "$dir" --registry "file://$CORPUS" sync $([ -n "$MIRRORS" ] || echo --no-upstream) $CRATES
                audit_check "$method" "$run" "$dir" ;;
            cargofox-reports)
                dir=$WORK/cargofox
                rm -rf "$dir/audit"
                watch_start "$dir" "$OUT/$method.run$run.phases"
                # shellcheck disable=SC2086
                timed "$method" "$run" "$dir/store.git" "$log" "$OUT/$method.run$run.phases" -- \
                    "${CF[@]}" --data "$dir" --registry "file://$CORPUS" sync $([ -n "$MIRRORS" ] || echo --no-upstream) $CRATES
                watch_stop
                audit_check "$method" "$run" "$dir" ;;
        esac
    done
done

# ---- (d) cross-check and (e) report ---------------------------------------
# The stores of the last run stay in bench/out/work/ for inspection.
export LOG_P_ARGS UPSTREAM_NOTE
LOG_P_ARGS=$(printf '%s\n' "${LOG_P[@]}" "${LOG_REVS[@]}")
python3 - "$OUT" "$RUNS" <<'PY'
import json, os, re, statistics, subprocess, sys, platform, datetime

out, runs = sys.argv[1], int(sys.argv[2])
stats = json.load(open(os.path.join(out, "full.stream.json")))
tot = stats["totals"]
nv = tot["versions"]
lines = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "timings.tsv"))]
rows = [dict(zip(lines[0], l)) for l in lines[1:]]
methods = list(dict.fromkeys(r["method"] for r in rows))
store_of = {r["method"]: r["store"] for r in rows}  # the last run's store
audits = [json.loads(l) for l in open(os.path.join(out, "audit.jsonl")) if l.strip()]
log_p_args = os.environ["LOG_P_ARGS"].splitlines()
failures = []

def git(store, *args):
    return subprocess.run(["git", "--git-dir", store, *args], check=True,
                          capture_output=True, text=True).stdout

def refs(store, prefix, field):
    if not os.path.isdir(store):
        return {}
    lines = git(store, "for-each-ref", f"--format=%(refname) %({field})", prefix).splitlines()
    return dict(l.split(" ", 1) for l in lines)

def parent_versions(store):
    """{version ref: the version ref of its parent commit, or None}."""
    if not os.path.isdir(store):
        return {}
    by_id, parent = {}, {}
    for l in git(store, "for-each-ref", "--format=%(refname) %(objectname) %(parent)", "refs/crates/").splitlines():
        ref, oid, p = (l.split(" ") + [""])[:3]
        by_id[oid], parent[ref] = ref, p
    return {ref: (by_id.get(p, "unreferenced " + p) if p else None) for ref, p in parent.items()}

def du(path):
    total = 0
    for dp, _, fns in os.walk(path):
        for fn in fns:
            try:
                total += os.lstat(os.path.join(dp, fn)).st_size
            except FileNotFoundError:
                pass
    return total

# (d) Every version's tree, archive blob and parent must agree with baseline-full.
report = []
mismatches = 0
expected = [(v["ref"], v["ref"].replace("refs/crates/", "refs/archives/", 1)) for v in stats["versions"]]
full = store_of.get("baseline-full", "")
ref_trees = refs(full, "refs/crates/", "tree")
ref_blobs = refs(full, "refs/archives/", "objectname")
ref_parents = parent_versions(full)
for m in ("baseline-changed", "cargofox"):
    if m not in store_of:
        continue
    trees = refs(store_of[m], "refs/crates/", "tree")
    blobs = refs(store_of[m], "refs/archives/", "objectname")
    pars = parent_versions(store_of[m])
    bad = badp = 0
    for cref, aref in expected:
        for kind, want, got, name in (("tree", ref_trees.get(cref), trees.get(cref), cref),
                                      ("archive", ref_blobs.get(aref), blobs.get(aref), aref)):
            if want is None or got is None or want != got:
                bad += 1
                print(f"MISMATCH {m} {kind} {name}: baseline-full {want} vs {m} {got}", file=sys.stderr)
        if cref not in ref_parents or cref not in pars or ref_parents[cref] != pars[cref]:
            badp += 1
            print(f"MISMATCH {m} parent of {cref}: baseline-full {ref_parents.get(cref, 'missing')} "
                  f"vs {m} {pars.get(cref, 'missing')}", file=sys.stderr)
    mismatches += bad + badp
    report.append(f"- `{m}` vs `baseline-full`: {len(expected)} versions, "
                  f"{bad} mismatching trees or archive blobs, {badp} mismatching parent versions "
                  f"(missing refs count as mismatches)")

# The git log -p pass (untimed, on the last baseline-full store): every version
# commit visited exactly once, and how much patch text it writes.
logp = {}
if "git-log-p" in methods and os.path.isdir(full):
    revs = [a for a in log_p_args if a.startswith("--glob=")]
    visited = git(full, "log", "--format=%H %P", *revs).split("\n")[:-1]
    ids = [l.split(" ")[0] for l in visited]
    targets = set(refs(full, "refs/crates/", "objectname").values())
    logp["commits"] = len(ids)
    logp["roots"] = sum(1 for l in visited if len(l.split()) == 1)
    if len(ids) != len(set(ids)) or set(ids) != targets or len(ids) != nv:
        failures.append(f"git log -p visits {len(ids)} commits ({len(set(ids))} distinct), "
                        f"want the {len(targets)} version commits, each once")
    p = subprocess.Popen(["git", "--git-dir", full, *log_p_args], stdout=subprocess.PIPE)
    nbytes = headers = diffs = 0
    for line in p.stdout:
        nbytes += len(line)
        if line.startswith(b"commit "):
            headers += 1
        elif line.startswith(b"diff --git "):
            diffs += 1
    if p.wait() != 0:
        failures.append("git log -p failed in the check pass")
    logp.update(bytes=nbytes, headers=headers, file_diffs=diffs)
    if headers != nv:
        failures.append(f"git log -p printed {headers} commit headers, want {nv}")
    shortstat = git(full, "-c", "log.showRoot=false", "log", "-M", "--shortstat", "--format=", *revs)
    ins = dels = 0
    for l in shortstat.splitlines():
        mi = re.search(r"(\d+) insertions?\(\+\)", l)
        md = re.search(r"(\d+) deletions?\(-\)", l)
        ins += int(mi.group(1)) if mi else 0
        dels += int(md.group(1)) if md else 0
    logp.update(insertions=ins, deletions=dels)

# Phases of the watched cargofox runs (bench/phase-watch.py).
def phases(r):
    f = r.get("phases")
    if not f or not os.path.exists(f):
        return None
    d = dict(l.split() for l in open(f) if l.strip())
    if "reports_start" not in d or "commit_start" not in d:
        return None
    start, wall = float(r["start_epoch"]), float(r["wall_s"])
    ingest = float(d["reports_start"]) - start
    reports = float(d["commit_start"]) - float(d["reports_start"])
    return {"ingest": ingest, "reports": reports, "commit": wall - ingest - reports,
            "ingest_hwm_kb": int(d.get("ingest_hwm_kb", 0)), "anon_kb": int(d.get("max_rss_anon_kb", 0)),
            "file_kb": int(d.get("max_rss_file_kb", 0))}

for r in rows:
    r["ph"] = phases(r)
    if r["method"] in ("cargofox", "cargofox-reports") and r["status"] == "0" and r["ph"] is None:
        failures.append(f"{r['method']} run {r['run']}: phases not observed ({r['phases']})")

# (e) Tables: medians over the runs.
def runs_of(m):
    return [r for r in rows if r["method"] == m]

def med(m, col):
    vals = [float(r[col]) for r in runs_of(m)]
    return statistics.median(vals) if vals else float("nan")

def med_phase(m, key):
    vals = [r["ph"][key] for r in runs_of(m) if r["ph"]]
    return statistics.median(vals) if vals else float("nan")

def per_run_sum(*ms, col="wall_s"):
    """Median over runs of the per-run sum of the methods' wall times (or CPU
    times), and of the per-run largest peak RSS."""
    walls, rsss = [], []
    for k in sorted({r["run"] for r in rows}, key=int):
        rs = [r for r in rows if r["run"] == k and r["method"] in ms]
        if len(rs) == len(ms):
            walls.append(sum(float(r[col]) for r in rs))
            rsss.append(max(float(r["max_rss_kb"]) for r in rs))
    return (statistics.median(walls), statistics.median(rsss)) if walls else (float("nan"), float("nan"))

def mb(kb):
    return f"{kb / 1024:.0f}"

def failed(*ms):
    return sum(1 for r in rows if r["method"] in ms and r["status"] != "0")

packs_of = {}
for m in ("baseline-full", "baseline-changed", "cargofox"):
    store = store_of.get(m)
    if not store:
        continue
    packdir = os.path.join(store, "objects", "pack")
    packs = sum(os.path.getsize(os.path.join(packdir, f)) for f in os.listdir(packdir)
                if f.endswith(".pack")) if os.path.isdir(packdir) else 0
    loose = sum(len(os.listdir(os.path.join(store, "objects", d)))
                for d in (os.listdir(os.path.join(store, "objects")) if os.path.isdir(store) else [])
                if len(d) == 2)
    packs_of[m] = (packs, du(os.path.join(store, "objects")), loose)

last_audit = {}
for a in audits:
    last_audit[a["method"]] = a
audit_bad = [a for a in audits if not a["ok"]]
for a in audit_bad:
    failures.append(f"audit check {a['method']} run {a['run']}: " + "; ".join(a["problems"]))

sections = []
base_full = med("baseline-full", "wall_s")
if "git-log-p" in methods:
    comb, comb_rss = per_run_sum("baseline-full", "git-log-p")
    combc, combc_rss = per_run_sum("baseline-changed", "git-log-p")
    cpu_comb = per_run_sum("baseline-full", "git-log-p", col="cpu_s")[0]
    cpu_combc = per_run_sum("baseline-changed", "git-log-p", col="cpu_s")[0]
    def cpu(m):
        c = med(m, "cpu_s")
        return f"{c:.2f} | {c / cpu_comb:.2f}"
    t = ["| method | wall s | × baseline | versions/s | peak RSS MB | CPU s | CPU × baseline | writes | failed runs |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    t.append(f"| baseline-full: `git fast-import` + `update-ref` | {base_full:.2f} | {base_full / comb:.2f} "
             f"| {nv / base_full:.0f} | {mb(med('baseline-full', 'max_rss_kb'))} | {cpu('baseline-full')} "
             f"| store, packs {packs_of.get('baseline-full', (0,))[0] / 1e6:.1f} MB | {failed('baseline-full')} |")
    lp = med("git-log-p", "wall_s")
    t.append(f"| git-log-p: `git log -p` over that store | {lp:.2f} | {lp / comb:.2f} | {nv / lp:.0f} "
             f"| {mb(med('git-log-p', 'max_rss_kb'))} | {cpu('git-log-p')} | {logp.get('bytes', 0) / 1e6:.1f} MB of patch text "
             f"({logp.get('file_diffs', 0)} file diffs) to /dev/null | {failed('git-log-p')} |")
    t.append(f"| **baseline: fast-import + `git log -p`** (per-run sum) | **{comb:.2f}** | **1.00** "
             f"| {nv / comb:.0f} | {mb(comb_rss)} | {cpu_comb:.2f} | 1.00 | | |")
    if "baseline-changed" in methods:
        t.append(f"| baseline-changed + `git log -p` (per-run sum) | {combc:.2f} | {combc / comb:.2f} "
                 f"| {nv / combc:.0f} | {mb(combc_rss)} | {cpu_combc:.2f} | {cpu_combc / cpu_comb:.2f} "
                 f"| | {failed('baseline-changed')} |")
    if "cargofox" in methods:
        cf = med("cargofox", "wall_s")
        a = last_audit.get("cargofox", {})
        t.append(f"| **cargofox sync** (ingest + diffs + reports + audit commit) | **{cf:.2f}** | **{cf / comb:.2f}** "
                 f"| {nv / cf:.0f} | {mb(med('cargofox', 'max_rss_kb'))} | {cpu('cargofox')} "
                 f"| store, packs {packs_of.get('cargofox', (0,))[0] / 1e6:.1f} MB; audit repo "
                 f"{a.get('du_kb', 0) / 1024:.0f} MB (`.git` {a.get('git_du_kb', 0) / 1024:.0f} MB), "
                 f"{a.get('files', 0)} files | {failed('cargofox')} |")
    per_run = []
    for k in sorted({r["run"] for r in rows}, key=int):
        by = {r["method"]: r for r in rows if r["run"] == k}
        if all(m in by for m in ("baseline-full", "git-log-p", "cargofox")):
            w = float(by["cargofox"]["wall_s"]) / (float(by["baseline-full"]["wall_s"]) + float(by["git-log-p"]["wall_s"]))
            c = float(by["cargofox"]["cpu_s"]) / (float(by["baseline-full"]["cpu_s"]) + float(by["git-log-p"]["cpu_s"]))
            per_run.append(f"run {k} {w:.2f} ({c:.2f} CPU)")
    sections += ["## Sync with reports against fast-import + `git log -p`", "",
                 "Medians over the runs; a baseline sum is the median of the per-run sums "
                 "(peak RSS: of the per-run larger of the two). CPU s is user + system time of the "
                 "command and its children (cargofox's includes the `git` of the audit commit).", "", *t, "",
                 *([f"Per run, cargofox sync ÷ (fast-import + `git log -p`) of the same run: {', '.join(per_run)}.", ""]
                   if per_run else [])]

    if "cargofox" in methods:
        ph = {k: med_phase("cargofox", k) for k in ("ingest", "reports", "commit", "ingest_hwm_kb", "anon_kb", "file_kb")}
        cf = med("cargofox", "wall_s")
        t = ["| phase of `cargofox sync` (fresh data directory) | s | share | compared with | s | ratio |",
             "| --- | ---: | ---: | --- | ---: | ---: |",
             f"| ingest: start to the first report file (plan, read, verify, unpack, hash, pack, refs) "
             f"| {ph['ingest']:.2f} | {ph['ingest'] / cf:.0%} | baseline-full | {base_full:.2f} | {ph['ingest'] / base_full:.2f} |",
             f"| reports: compare, analyse, render and write {nv} × (.md + .json), crate pages, README "
             f"| {ph['reports']:.2f} | {ph['reports'] / cf:.0%} | `git log -p` | {lp:.2f} | {ph['reports'] / lp:.2f} |",
             f"| audit commit: `git add -A`, `git status`, `git commit` | {ph['commit']:.2f} | {ph['commit'] / cf:.0%} | | | |",
             f"| whole sync | {cf:.2f} | 100% | fast-import + `git log -p` | {comb:.2f} | {cf / comb:.2f} |"]
        sections += ["Where the time of `cargofox sync` goes (bench/phase-watch.py: first file under "
                     "`audit/crates/`, then `audit/.git/index`; median of each phase separately, "
                     "10 ms resolution):", "", *t, "",
                     f"cargofox memory: peak RSS of the ingest phase alone (VmHWM when the first report "
                     f"appears) {mb(ph['ingest_hwm_kb'])} MB; over the whole sync the largest RssAnon "
                     f"(heap) was {mb(ph['anon_kb'])} MB and the largest RssFile (mapped files: packs, "
                     f"binary) {mb(ph['file_kb'])} MB (medians).", ""]

    if "cargofox-noop" in methods:
        t = ["| rerun on the same data directory | wall s | CPU s | peak RSS MB | to first report s | reports s | commit s | failed runs |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
             f"| cargofox-noop: same command again (nothing new, every report fresh) "
             f"| {med('cargofox-noop', 'wall_s'):.2f} | {med('cargofox-noop', 'cpu_s'):.2f} "
             f"| {mb(med('cargofox-noop', 'max_rss_kb'))} | | | | {failed('cargofox-noop')} |",
             f"| cargofox-reports: `audit/` deleted, store complete (every report written again) "
             f"| {med('cargofox-reports', 'wall_s'):.2f} | {med('cargofox-reports', 'cpu_s'):.2f} "
             f"| {mb(med('cargofox-reports', 'max_rss_kb'))} "
             f"| {med_phase('cargofox-reports', 'ingest'):.2f} | {med_phase('cargofox-reports', 'reports'):.2f} "
             f"| {med_phase('cargofox-reports', 'commit'):.2f} | {failed('cargofox-reports')} |"]
        sections += ["Reruns (each run: right after that run's `cargofox` sync, same data directory):", "", *t, ""]

# The ingest table of the first benchmark, with the whole sync in the cargofox row.
t = ["| method | versions | .crate MB | unpacked MB | wall s | × baseline-full | versions/s | peak RSS MB | packs MB | objects/ MB | loose objects | failed runs |",
     "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for m in ("baseline-full", "baseline-changed", "cargofox"):
    if m not in methods:
        continue
    wall, rss = med(m, "wall_s"), med(m, "max_rss_kb")
    packs, objs, loose = packs_of.get(m, (0, 0, 0))
    label = "cargofox (whole sync)" if m == "cargofox" else m
    t.append(f"| {label} | {nv} | {tot['crate_bytes'] / 1e6:.1f} | {tot['unpacked_bytes'] / 1e6:.1f} "
             f"| {wall:.2f} | {wall / base_full:.2f} | {nv / wall:.0f} | {mb(rss)} "
             f"| {packs / 1e6:.1f} | {objs / 1e6:.1f} | {loose} | {failed(m)} |")
    if m == "cargofox" and not any(r["ph"] is None for r in runs_of(m)):
        ing = med_phase(m, "ingest")
        t.append(f"| cargofox ingest phase | {nv} | | | {ing:.2f} | {ing / base_full:.2f} | {nv / ing:.0f} "
                 f"| {mb(med_phase(m, 'ingest_hwm_kb'))} | | | | |")
sections += ["## Ingest against `git fast-import`", "", *t, ""]

if audits:
    t = ["| method | runs checked | failed checks | .md reports | .json reports | continuation pages (files / diffs; reports paged) | files | tracked at HEAD | commits | repo MB (`du`) | `.git` MB |",
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for m in dict.fromkeys(a["method"] for a in audits):
        am = [a for a in audits if a["method"] == m]
        l = am[-1]
        t.append(f"| {m} | {len(am)} | {sum(1 for a in am if not a['ok'])} | {l['reports_md']} | {l['reports_json']} "
                 f"| {l.get('pages_files', 0)} / {l.get('pages_diffs', 0)}; {l.get('reports_paged', 0)} "
                 f"| {l['files']} | {l['tracked']} | {l['commits']} | {l['du_kb'] / 1024:.1f} | {l['git_du_kb'] / 1024:.1f} |")
    sections += ["## Audit repository", "",
                 f"Checked after every cargofox run (bench/audit-check.py): one `.md` and one `.json` report "
                 f"per version ({nv}) at cargofox's path under `crates/`, one crate page per crate, nothing else "
                 f"there but the continuation pages of long reports, everything committed. Counts and sizes "
                 f"from the last run of each method.", "", *t, ""]
    ct = last_audit.get("cargofox", {}).get("change_totals", {})
    if ct and logp:
        changed = sum(ct.get(k, 0) for k in ("files_added", "files_removed", "files_modified", "files_renamed"))
        sections += ["Same pairs, two outputs (last cargofox run, summed over every report's `changes.totals`; "
                     "`git log -p` and `--shortstat` over the same commits, untimed):", "",
                     "| | cargofox reports | `git log -p` |", "| --- | ---: | ---: |",
                     f"| versions / of which first releases (nothing to compare) "
                     f"| {last_audit['cargofox'].get('reports_json', 0)} / {last_audit['cargofox'].get('without_previous', 0)} "
                     f"| {logp.get('commits', 0)} / {logp.get('roots', 0)} (root commits, no patch) |",
                     f"| files changed (added + removed + modified + renamed) / file diffs | {changed} "
                     f"(+ {ct.get('files_mode_changed', 0)} mode changes) | {logp.get('file_diffs', 0)} |",
                     f"| lines added / removed | {ct.get('lines_added', 0)} / {ct.get('lines_removed', 0)} "
                     f"| {logp.get('insertions', 0)} / {logp.get('deletions', 0)} |",
                     f"| diff text written | {ct.get('diff_bytes_shown', 0) / 1e6:.1f} MB shown, "
                     f"{ct.get('diff_bytes_omitted', 0) / 1e6:.1f} MB left out by the limits "
                     f"({ct.get('files_with_truncated_diff', 0)} files truncated, "
                     f"{ct.get('files_with_omitted_diff', 0)} omitted) | {logp.get('bytes', 0) / 1e6:.1f} MB "
                     f"(whole output, headers included) |", ""]

runs_table = ["| method | run | wall s | CPU s | peak RSS MB | exit | load (1 min) before | phases: ingest / reports / commit s |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
for r in rows:
    ph = r["ph"]
    runs_table.append(f"| {r['method']} | {r['run']} | {float(r['wall_s']):.2f} | {float(r['cpu_s']):.2f} "
                      f"| {int(r['max_rss_kb']) / 1024:.0f} "
                      f"| {r['status']} | {r['load1']} | "
                      + (f"{ph['ingest']:.2f} / {ph['reports']:.2f} / {ph['commit']:.2f}" if ph else "") + " |")

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
anomalies = [f"`{v['name']} {v['vers']}`: " + "; ".join(v["anomalies"]) for v in stats["versions"] if v["anomalies"]]
doc = "\n".join([
    "# cargofox benchmark results",
    "",
    f"Corpus: every version of {', '.join(stats['crates'])} — {nv} versions, "
    f"{tot['files']} files. Median of {runs} runs (each column taken as a median separately), "
    f"interleaved, warm page cache, fresh store each run.",
    f"Machine: {os.cpu_count()} CPUs ({cpu}), {git_version}, {platform.system()} {platform.release()}; "
    f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
    f"load average {os.environ.get('LOAD_BEFORE', '?')} before the runs, "
    f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after.",
    f"cargofox: {os.environ.get('BIN_INFO', 'not run')}; {os.environ.get('UPSTREAM_NOTE', '')}.",
    f"`git log -p` command: `git --git-dir STORE {os.environ.get('LOG_P_CMD', '')}` (patch to /dev/null).",
    "",
    *sections,
    "Cross-check (`refs/crates/<n>/<v>^{tree}`, `refs/archives/<n>/<v>` and the parent version in each store):",
    "",
    *(report or ["- only one store; nothing to compare"]),
    *([f"- `git log -p` visited {logp['commits']} commits, {logp['roots']} of them roots, "
       f"{logp['headers']} commit headers printed"] if logp else []),
    *[f"- FAILED: {f}" for f in failures],
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
for f_ in failures:
    print(f"FAILED: {f_}", file=sys.stderr)
print(f"written: {os.path.join(out, 'results.md')}; {mismatches} mismatches, {len(failures)} other failures",
      file=sys.stderr)
sys.exit(1 if mismatches or failures or any(r["status"] != "0" for r in rows) else 0)
PY
