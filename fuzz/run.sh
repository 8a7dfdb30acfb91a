#!/usr/bin/env bash
# Run every cargo-fuzz target for a few minutes each, one after the other.
#
#   fuzz/run.sh [MINUTES] [TARGET...]     (default: 3 minutes, every target)
#
# Environment: JOBS=N runs N targets at a time (default 1); RSS_MB caps each
# fuzzer's memory (default 2048).
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address, sancov).
# The project's stable toolchain is used with RUSTC_BOOTSTRAP=1, which
# unlocks those flags (fine for a test tool; never for building what we
# ship); FUZZ_TOOLCHAIN=nightly uses a nightly toolchain instead. cargo-fuzz is
# installed from crates.io when missing. Seeds come from seeds.py, and
# crashes land in fuzz/artifacts/<target>/ (reproduce one with
# `cargo fuzz run <target> <file>`). Exit status: 1 when any target found
# a crash.
set -euo pipefail
cd "$(dirname "$0")"

minutes=${1:-3}
shift || true
jobs=${JOBS:-1}
rss=${RSS_MB:-2048}

if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    fuzz=(cargo "+$FUZZ_TOOLCHAIN" fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${fuzz[@]}" list)
fi

echo "building the fuzz targets with ${fuzz[*]}" >&2
"${fuzz[@]}" build -O >&2

mkdir -p logs
run_one() {
    local t=$1
    [ -d "corpus/$t" ] || python3 seeds.py "$t"
    local dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    echo "fuzzing $t for $minutes min (log: fuzz/logs/$t.log)" >&2
    if "${fuzz[@]}" run -O "$t" -- -max_total_time=$((minutes * 60)) -rss_limit_mb="$rss" -timeout=20 \
        -print_final_stats=1 "${dict[@]}" >"logs/$t.log" 2>&1; then
        echo "$t: ok, $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "logs/$t.log" | grep -Eo '[0-9]+$') runs," \
            "corpus $(find "corpus/$t" -type f | wc -l) inputs" >&2
    else
        echo "$t: FAILED, see fuzz/logs/$t.log and fuzz/artifacts/$t/" >&2
        return 1
    fi
}

status=0
running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
exit $status
