#!/usr/bin/env bash
# bench/shards.sh — the whole registry, sharded: `sync --all --index-git DIR
# --shard I/N` on a generated registry of thousands of crates, the shards
# merged, compared byte for byte with one unsharded run.
#
# Owns: bench/out/shards/. It
#   (a) generates a `file://` registry of CRATES crates × VERSIONS releases
#       with bench/daily-increment.py's generator, and makes its index
#       directory a git repository (what `--index-git` reads: a clone of a
#       git-format index);
#   (b) times `cargofox sync --all --index-git INDEX` once, unsharded, and
#       `--shard I/N` for every I, each into its own data directory (run one
#       after another here; on a cluster they run at once);
#   (c) times `cargofox merge` of the N shard audit repositories into a fresh
#       one, and checks that the merged tree equals the unsharded one (same
#       tree id of HEAD and no difference in `diff -r`), and that every
#       crate landed in exactly one shard.
# Usage: bench/shards.sh [--crates 5000] [--versions 3] [--shards 4]
#   CARGOFOX_BIN=path (default target/release/cargofox, built first).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/bench/out/shards
CRATES=5000
VERSIONS=3
SHARDS=4
while [ $# -gt 0 ]; do
    case $1 in
        --crates) CRATES=${2:?}; shift ;;
        --versions) VERSIONS=${2:?}; shift ;;
        --shards) SHARDS=${2:?}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "${CARGOFOX_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --release --locked >/dev/null)
    CARGOFOX_BIN=$ROOT/target/release/cargofox
fi
rm -rf "$OUT"; mkdir -p "$OUT"
REG=$OUT/registry
python3 - "$ROOT/bench/daily-increment.py" "$REG" "$CRATES" "$VERSIONS" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("daily", sys.argv[1])
daily = importlib.util.module_from_spec(spec)
spec.loader.exec_module(daily)
daily.generate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), 7)
EOF
git -C "$REG" init -q && git -C "$REG" add -A . ':!crates' && \
    git -C "$REG" -c user.name=bench -c user.email=bench@invalid commit -q -m index
NOW=2026-01-01T00:00:00Z
run() { # name args...
    local name=$1; shift
    /usr/bin/time -f '%e %M' -o "$OUT/$name.time" "$CARGOFOX_BIN" --current-time "$NOW" "$@" >"$OUT/$name.log" 2>&1 \
        || { echo "$name failed (exit $?), see $OUT/$name.log" >&2; tail -5 "$OUT/$name.log" >&2; exit 1; }
    read -r s k <"$OUT/$name.time"
    printf '| %s | %s | %d |\n' "$name" "$s" $((k / 1024)) | tee -a "$OUT/results.md"
}
printf '| run | wall s | peak RSS MiB |\n| --- | ---: | ---: |\n' | tee "$OUT/results.md"
run unsharded --data "$OUT/one" --registry "file://$REG" sync --all --index-git "$REG"
shard_audits=()
for i in $(seq 0 $((SHARDS - 1))); do
    run "shard-$i-of-$SHARDS" --data "$OUT/shard$i" --registry "file://$REG" sync --all --index-git "$REG" --shard "$i/$SHARDS"
    shard_audits+=("$OUT/shard$i/audit")
done
run merge --data "$OUT/merged" merge "${shard_audits[@]}"
one=$(git -C "$OUT/one/audit" rev-parse 'HEAD^{tree}')
merged=$(git -C "$OUT/merged/audit" rev-parse 'HEAD^{tree}')
diff -r -x .git "$OUT/one/audit" "$OUT/merged/audit" >"$OUT/diff.txt" || true
total=0
for i in $(seq 0 $((SHARDS - 1))); do
    n=$(find "$OUT/shard$i/audit/crates" -mindepth 3 -maxdepth 3 -type d | wc -l)
    echo "shard $i: $n crates" | tee -a "$OUT/results.md"
    total=$((total + n))
done
echo "crates in all shards: $total of $CRATES; HEAD trees: unsharded $one, merged $merged; diff -r lines: $(wc -l <"$OUT/diff.txt")" | tee -a "$OUT/results.md"
[ "$one" = "$merged" ] && [ "$total" = "$CRATES" ] && [ ! -s "$OUT/diff.txt" ]
