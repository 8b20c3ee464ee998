#!/bin/bash
# tests/bench/partitions.sh - one kbroker hosting many partitions: how long
# it takes to start serving them, and its idle memory.
#
#   tests/bench/partitions.sh       (as root on a fresh Debian 12, or with the
#                                    packages of scripts/deps.sh installed)
#
# It installs what is missing and builds a release kbroker (-O2, no
# sanitizers) in $KB_BENCH_BUILD (default build-bench/) and kbstart as
# compare.sh does (the helpers are lib.sh's), starts ZooKeeper on a free
# 127.0.0.1 port, and then for each partition count N of SCALE_PARTITIONS:
#
#   1. one broker (broker 1) in a fresh directory and a fresh ZooKeeper
#      chroot /kbbench-pN, on a free port; kbroker-admin creates the topic
#      "parts" with N partitions, RF 1; the broker runs until kbstart -l
#      finds every partition led in Metadata and answering ListOffsets
#      (that is, its log created), then is stopped with SIGTERM;
#   2. RUNS times: the broker is started again under kbstart -l, which
#      probes it (every 2 ms, from exec) until ApiVersions, Metadata (every
#      partition of "parts" led) and then ListOffsets v1 latest for every
#      partition (each error 0) succeed in one probe; start-up thus loads N
#      existing logs and reads the topic's N state znodes.  Start to
#      serving is the time from exec to that probe's Metadata answer
#      (kbstart's led_ms): the ListOffsets after it only confirms that
#      every partition is hosted, and its round trip, which grows with N
#      faster than linearly, is shown apart.  Should an
#      earlier probe have found every partition led but not hosted
#      (kbstart's unserved > 0), the run counts until the ListOffsets
#      answer instead and says so.  Idle RSS is the broker's VmRSS 2 s
#      after it serves, no client attached.  Each run is printed, then the
#      broker is stopped (SIGTERM);
#   3. prints a table: start to serving (median, min-max of the runs), the
#      same with the confirming ListOffsets, idle RSS (median) and the
#      targets: idle RSS < 10 MB with 1,000 partitions, start to serving
#      < 100 ms with 10,000.
#
# The broker logs at info level into the work directory (KEEP=1 keeps it,
# pN/kbroker.runR.log for run R): its timestamps show where a start goes.
# Nothing here passes or fails on a figure: the exit status is 1 only when a
# run did not complete.  Everything binds 127.0.0.1; every process started
# here is stopped by its PID.  With the defaults a run takes about a minute
# on 2 cores once built, most of it creating the 10,000 partitions.
#
# Environment: SCALE_PARTITIONS ["1000 10000"] partition counts, one broker
#   each  RUNS [3] timed starts per count  KB_BENCH_BUILD [<repo>/build-bench]
#   KBROKER_BIN, KBROKER_ADMIN_BIN (skip the kbroker build)  BENCH_BIN
#   [$KB_BENCH_BUILD/bench]  KEEP=1 keeps the work directory and says where.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
SCALE_PARTITIONS=${SCALE_PARTITIONS:-1000 10000}
RUNS=${RUNS:-3}
TOPIC=parts
# Creating 10,000 logs, and waiting for them, takes seconds.
PREPARE_TIMEOUT_S=300

for n in $SCALE_PARTITIONS; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "SCALE_PARTITIONS: '$n' is not a partition count"
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS: '$RUNS' is not a positive number"

# stats V...: "median min max" of the numbers given (the median of an even
# count is the mean of the middle two).
stats() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.1f %.1f %.1f\n", m, v[1], v[NR]
    }'
}

# num N: N with thousands separators
num() { echo "$1" | sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta'; }

declare -A R
# measure_count N: steps 1 and 2 for N partitions; the figures go to
# R[N.start] ("median min max" ms), R[N.confirmed] (ms, median), R[N.rss]
# (MB, median) and R[N.runs].
measure_count() {
    local n=$1 dir=$WORK/p$1 r out start rss note starts=() confirmed=() rsses=() runs=""
    write_broker_config "$dir" "/kbbench-p$n"
    say "$n partitions: creating topic $TOPIC and waiting until every partition serves"
    prepare_topic "$TOPIC" "$n" -l -T "$PREPARE_TIMEOUT_S"
    out=$dir/kbroker.prepared
    say "$n partitions: every one led and answering ListOffsets $(field "$out" ms) ms after create-topic" \
        "returned (led in Metadata but not yet hosted in $(field "$out" unserved) probes)"
    for ((r = 1; r <= RUNS; r++)); do
        out=$dir/run$r.serving
        launch "p$n/kbroker.run$r" "$out" -t "$TOPIC" -l -b "127.0.0.1:$KB_PORT" -- "$KBROKER" "$KB_CONFIG"
        if [ "$(field "$out" partitions)" != "$n" ]; then
            die "$n partitions, run $r: kbstart saw $(field "$out" partitions) partitions: $(cat "$out")"
        fi
        start=$(field "$out" led_ms)
        note=""
        if [ "$(field "$out" unserved)" != 0 ]; then
            start=$START_MS
            note="; $(field "$out" unserved) earlier probes found every partition led but not all hosted"
        fi
        sleep 2
        rss=$(awk -v kb="$(rss_kb "$SERVER_PID")" 'BEGIN { printf "%.1f", kb / 1024 }')
        say "$n partitions, run $r: serving after $start ms (ListOffsets answered at $START_MS ms," \
            "$(field "$out" probes) probes$note), idle RSS $rss MB"
        starts+=("$start")
        confirmed+=("$START_MS")
        rsses+=("$rss")
        runs="$runs $start"
        stop_pid "${PIDS[-1]}"
    done
    R[$n.start]=$(stats "${starts[@]}")
    R[$n.confirmed]=$(stats "${confirmed[@]}" | cut -d ' ' -f 1)
    R[$n.rss]=$(stats "${rsses[@]}" | cut -d ' ' -f 1)
    R[$n.runs]=${runs# }
}

row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

print_table() {
    local n s target
    echo
    echo "kbroker with many partitions on one broker, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
        "$(lscpu | sed -n -E 's/^Model name:[[:space:]]*//p' | head -n 1)," \
        "load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo "kbroker $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') (-O2), topic $TOPIC" \
        "(RF 1), restarted $RUNS times per count; serving: exec to the Metadata answer with every partition" \
        "led, in the probe whose ListOffsets then found every partition hosted"
    echo
    row partitions "start to serving, ms: median (min-max)" "to its ListOffsets answer, ms (median)" \
        "idle RSS, MB (median)" target
    row --- --- --- --- ---
    for n in $SCALE_PARTITIONS; do
        read -r -a s <<<"${R[$n.start]}"
        case $n in
        1000) target="idle RSS < 10 MB" ;;
        10000) target="start to serving < 100 ms" ;;
        *) target="" ;;
        esac
        row "$(num "$n")" "${s[0]} (${s[1]}-${s[2]})" "${R[$n.confirmed]}" "${R[$n.rss]}" "$target"
    done
    echo
    echo "Start to serving of each run, ms:"
    for n in $SCALE_PARTITIONS; do
        echo "    $(num "$n") partitions: ${R[$n.runs]}"
    done
}

# -- main ------------------------------------------------------------------------
bench_setup
for n in $SCALE_PARTITIONS; do
    measure_count "$n"
done
print_table
exit 0
