#!/bin/bash
# tests/fuzz/run.sh - builds the fuzz targets (tests/fuzz/GNUmakefile) and
# runs each for a bounded time from its committed seed corpus:
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 10 (scripts/test.sh gives 6); targets
# run two at a time.  The committed corpus is only read: each run works on a
# copy in build-fuzz/run/<target>/ (new inputs found stay there, so a later
# run with the same build directory continues from them).  A crash, leak,
# sanitizer report, timeout (10 s on one input) or memory blow-up (2 GiB)
# fails the run; its reproducer is printed as a hex dump with the command
# that replays it.  Prints one line per target: runs, execs/s, coverage.
# Environment: FUZZ_OUT (default build-fuzz), FUZZ_JOBS (default 2).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build-fuzz}
SECONDS_PER=${1:-10}
shift $(( $# > 0 ? 1 : 0 ))
JOBS=${FUZZ_JOBS:-2}

make -s -C "$HERE" O="$OUT" -j"$JOBS" >/dev/null || { echo "fuzz: the build failed" >&2; exit 2; }
targets=${*:-$(make -s -C "$HERE" O="$OUT" targets)}

run_one() {
    local t=$1 work="$OUT/run/$1"
    mkdir -p "$work/corpus" "$work/crashes"
    [ -d "$HERE/corpus/$t" ] && cp -n "$HERE/corpus/$t"/* "$work/corpus/" 2>/dev/null
    rm -f "$work/crashes"/*
    # Leaks are checked at exit of each input; UBSan aborts on its first report.
    ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1" \
        "$OUT/$t" -max_total_time="$SECONDS_PER" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/crashes/" "$work/corpus" >"$work/log" 2>&1
    echo $? >"$work/rc"
}

start=$(date +%s)
running=0
for t in $targets; do
    [ -x "$OUT/$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

failed=0
printf '%-22s %10s %9s %6s %6s %s\n' target runs exec/s cov ft corpus
for t in $targets; do
    work="$OUT/run/$t"
    stats=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$work/log" | tail -1)
    runs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$')
    eps=$(grep -Eo '^stat::average_exec_per_sec: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$')
    cov=$(echo "$stats" | grep -Eo 'cov: [0-9]+' | grep -Eo '[0-9]+')
    ft=$(echo "$stats" | grep -Eo 'ft: [0-9]+' | grep -Eo '[0-9]+')
    corp=$(echo "$stats" | grep -Eo 'corp: [0-9]+/[0-9]+[a-zA-Z]*' | cut -d' ' -f2)
    printf '%-22s %10s %9s %6s %6s %s\n' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
    if [ "$(cat "$work/rc")" != 0 ]; then
        failed=$((failed + 1))
        echo "---- $t FAILED (exit $(cat "$work/rc")):"
        grep -E 'ERROR:|runtime error|broken promise|SUMMARY|^    #[0-9]+ ' "$work/log" | head -25
        for a in "$work/crashes"/*; do
            [ -f "$a" ] || continue
            echo "reproducer $a ($(stat -c %s "$a") bytes):"
            xxd "$a" | head -32
            echo "replay: $OUT/$t $a"
        done
    fi
done
echo "fuzz: $(echo $targets | wc -w) targets x ${SECONDS_PER}s in $(( $(date +%s) - start ))s, $failed failed"
[ "$failed" -eq 0 ]
