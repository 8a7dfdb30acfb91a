#!/bin/bash
# bench/sizes-and-merge.sh — disk and bandwidth per version, the statistics
# recount and `cargofox merge`, on a corpus made by bench/build-corpus.py.
#
# Owns: bench/out/sizes/ (WORK=DIR elsewhere). Syncs the corpus (regex, serde,
# syn, tokio) once, measures the store and the audit repository (before and
# after git gc), times a no-op sync and a sync that must recount the
# statistics (twice each), syncs the corpus again as two shards, merges them,
# merges again, and checks that the merge equals the unsharded run (tree id
# and diff -r). Prints one line per figure (docs/PERFORMANCE.md).
#
# Usage: bench/sizes-and-merge.sh [CORPUS]   (CARGOFOX_BIN=path for another binary)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${CARGOFOX_BIN:-$ROOT/target/release/cargofox}
C=${1:-$ROOT/bench/corpus}
W=${WORK:-$ROOT/bench/out/sizes}
T=2026-01-01T00:00:00Z
rm -rf $W && mkdir -p $W
t() {
    /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB" -o "$W/$1.time" "${@:2}" > "$W/$1.log" 2>&1
    local rc=$?
    echo "$1: $(tail -1 "$W/$1.time") rc=$rc"
}
waitgc() { while [ -e $1/.git/gc.pid ]; do sleep 0.5; done; }
echo "load $(cut -d' ' -f1 /proc/loadavg)"
t whole $B --data $W/whole --registry file://$C --current-time $T sync regex serde syn tokio
waitgc $W/whole/audit
echo "crate bytes: $(du -sb $C/crates | cut -f1)"
echo "store: $(du -sb $W/whole/store.git | cut -f1)"
echo "audit total: $(du -sb $W/whole/audit | cut -f1) git: $(du -sb $W/whole/audit/.git | cut -f1)"
echo "reports json: $(find $W/whole/audit/crates -name '*.json' ! -name owners.json | wc -l) files, $(find $W/whole/audit/crates -name '*.json' ! -name owners.json -print0 | du -cb --files0-from=- | tail -1 | cut -f1) bytes"
git -C $W/whole/audit -c gc.autoDetach=false gc -q
echo "audit git after gc: $(du -sb $W/whole/audit/.git | cut -f1)"
t noop $B --data $W/whole --registry file://$C --current-time $T sync regex serde syn tokio
rm $W/whole/audit/stats.json
t recount $B --data $W/whole --registry file://$C --current-time $T sync regex serde syn tokio
t noop2 $B --data $W/whole --registry file://$C --current-time $T sync regex serde syn tokio
rm $W/whole/audit/stats.json
t recount2 $B --data $W/whole --registry file://$C --current-time $T sync regex serde syn tokio
t shard0 $B --data $W/s0 --registry file://$C --current-time $T sync regex serde syn tokio --shard 0/2
t shard1 $B --data $W/s1 --registry file://$C --current-time $T sync regex serde syn tokio --shard 1/2
waitgc $W/s0/audit; waitgc $W/s1/audit
t merge $B --data $W/m --current-time $T merge $W/s0/audit $W/s1/audit
waitgc $W/m/audit
t merge-again $B --data $W/m --current-time $T merge $W/s0/audit $W/s1/audit
echo "merged tree: $(git -C $W/m/audit rev-parse HEAD^{tree}) whole tree: $(git -C $W/whole/audit rev-parse HEAD^{tree})"
diff -r -x .git $W/m/audit $W/whole/audit > /dev/null && echo "merged == whole (diff -r)" || echo "MERGED DIFFERS"
cp -a $W/whole/store.git $W/store-gc.git
/usr/bin/time -f "%e s" git -C $W/store-gc.git gc -q 2>&1 | sed 's/^/store gc: /'
echo "store after gc: $(du -sb $W/store-gc.git | cut -f1)"
echo "load $(cut -d' ' -f1 /proc/loadavg)"
