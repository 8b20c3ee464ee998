#!/bin/bash
# tests/bench/compare.sh - kbroker and librdkafka's in-memory mock cluster
# through the same loads in one run, side by side, with ratios.
#
#   tests/bench/compare.sh          (as root on a fresh Debian 12, or with the
#                                    packages of scripts/deps.sh installed)
#
# It installs what is missing (the build and run packages of scripts/deps.sh
# and KB_BENCH_PACKAGES), builds a release kbroker out of tree (-O2, no
# sanitizers) in $KB_BENCH_BUILD (default build-bench/) and the benchmark's
# programs (GNUmakefile here), then:
#
#   1. starts ZooKeeper and one kbroker on free 127.0.0.1 ports, creates the
#      topic "perf" (1 partition, RF 1) with kbroker-admin, stops the broker
#      and starts it again under kbstart: start-to-serving is the time from
#      exec to the first ApiVersions + Metadata answer with "perf" led;
#   2. idle RSS: VmRSS of the broker 2 s after it serves, no client attached;
#   3. the loads, each by kbperf (tests/bench/kbperf.c):
#        produce  N_PRODUCE records of 100 bytes, acks=1, linger.ms=5
#        consume  N_PRODUCE records from the beginning (-w: rewound at the
#                 end of the partition, which only the mock needs)
#        group    the same records with the group consumer (subscribe(),
#                 auto-commit, a synchronous commit at the end): what a
#                 consumer application runs; join and commit times too
#        latency  LAT_RATE records/s for LAT_SECS s, acks=all, linger.ms=0,
#                 a consumer tailing the topic in the same process
#      with the broker's CPU (utime + stime from /proc/PID/stat) read before
#      and after the produce and the consume runs, as seconds per 100 MB of
#      record values (10^8 bytes);
#   4. the same for the mock (kbmock: 1 broker, topic perf, 1 partition);
#   5. prints a table with both columns and kbroker/mock ratios.
#
# Nothing here passes or fails on a figure: the exit status is 1 only when a
# run did not complete.  Everything binds 127.0.0.1; every process started
# here is stopped by its PID.  A run takes 1-2 minutes on 2 cores once built.
# The helpers shared with partitions.sh are in lib.sh.
#
# Environment: N_PRODUCE [2000000]  LAT_RATE [10000]  LAT_SECS [10]
#   ORDER ["kbroker mock"] which server goes through the loads first
#   KB_BENCH_BUILD [<repo>/build-bench]  KBROKER_BIN, KBROKER_ADMIN_BIN (skip
#   the kbroker build)  BENCH_BIN [$KB_BENCH_BUILD/bench]  KEEP=1 keeps the
#   work directory (logs, broker data) and says where it is.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
N_PRODUCE=${N_PRODUCE:-2000000}
LAT_RATE=${LAT_RATE:-10000}
LAT_SECS=${LAT_SECS:-10}
ORDER=${ORDER:-kbroker mock}
RECORD_SIZE=100

# -- the loads ------------------------------------------------------------------
# run_load NAME LOGFILE kbperf-args...: one kbperf run; its RESULT line is
# kept in LOGFILE, its stderr next to it.
run_load() {
    local name=$1 out=$2
    shift 2
    if ! timeout -s INT -k 10 300 "$BENCH_BIN/kbperf" "$@" >"$out" 2>"$out.err" ||
        grep -q 'status=FAILED' "$out"; then
        say "$name failed: $(cat "$out") $(tail -n 3 "$out.err")"
        FAILED=1
    fi
}

# measure LABEL: every figure for the server at $BOOTSTRAP / $SERVER_PID,
# into $WORK/LABEL.*; the figures go to R[LABEL.key].
declare -A R
measure() {
    local l=$1 c0 c1 c2
    sleep 2
    R[$l.rss_mb]=$(awk -v kb="$(rss_kb "$SERVER_PID")" 'BEGIN { printf "%.1f", kb / 1024 }')
    R[$l.start_ms]=$START_MS
    say "$l: serving after $START_MS ms, idle RSS ${R[$l.rss_mb]} MB; producing $N_PRODUCE records"
    c0=$(cpu_ticks "$SERVER_PID")
    run_load "$l produce" "$WORK/$l.produce" produce -b "$BOOTSTRAP" -n "$N_PRODUCE" -s $RECORD_SIZE -a 1 -l 5
    c1=$(cpu_ticks "$SERVER_PID")
    run_load "$l consume" "$WORK/$l.consume" consume -b "$BOOTSTRAP" -n "$N_PRODUCE" -w -X fetch.wait.max.ms=10
    c2=$(cpu_ticks "$SERVER_PID")
    run_load "$l group" "$WORK/$l.group" group -b "$BOOTSTRAP" -n "$N_PRODUCE" -X fetch.wait.max.ms=10
    say "$l: latency at $LAT_RATE records/s for $LAT_SECS s"
    run_load "$l latency" "$WORK/$l.latency" latency -b "$BOOTSTRAP" -r "$LAT_RATE" -d "$LAT_SECS" \
        -s $RECORD_SIZE -a all -l 0
    R[$l.cpu_produce]=$(per_100mb "$c0" "$c1" "$(field "$WORK/$l.produce" bytes)")
    R[$l.cpu_consume]=$(per_100mb "$c1" "$c2" "$(field "$WORK/$l.consume" bytes)")
}

# -- the table --------------------------------------------------------------------
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
# fig LABEL FILE KEY: a figure of one load
fig() { field "$WORK/$1.$2" "$3"; }
pcts() { echo "$(fig "$1" latency "$2_p50_ms") / $(fig "$1" latency "$2_p99_ms") / $(fig "$1" latency "$2_p999_ms")"; }

print_table() {
    local k=kbroker m=mock
    echo
    echo "kbroker vs librdkafka mock cluster, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
        "$(lscpu | sed -n -E 's/^Model name:[[:space:]]*//p' | head -n 1)," \
        "load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo "kbroker $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') (-O2), librdkafka" \
        "$(pkg-config --modversion rdkafka), records of $RECORD_SIZE bytes, topic perf with 1 partition, 1 broker"
    echo
    row figure kbroker mock kbroker/mock "target (kbroker)"
    row --- --- --- --- ---
    row "produce, acks=1, linger 5 ms: records/s" "$(num "$(fig $k produce rec_s)")" "$(num "$(fig $m produce rec_s)")" \
        "$(ratio "$(fig $k produce rec_s)" "$(fig $m produce rec_s)")" "≥ 1,000,000"
    row "produce: MB/s" "$(fig $k produce MB_s)" "$(fig $m produce MB_s)" \
        "$(ratio "$(fig $k produce MB_s)" "$(fig $m produce MB_s)")" ""
    row "produce: broker CPU s per 100 MB (user + sys)" "${R[$k.cpu_produce]}" "${R[$m.cpu_produce]}" \
        "$(ratio "${R[$k.cpu_produce]%% *}" "${R[$m.cpu_produce]%% *}")" "≤ 0.25"
    row "consume from the beginning: records/s" "$(num "$(fig $k consume rec_s)")" "$(num "$(fig $m consume rec_s)")" \
        "$(ratio "$(fig $k consume rec_s)" "$(fig $m consume rec_s)")" "≥ 2,000,000"
    row "consume: broker CPU s per 100 MB (user + sys)" "${R[$k.cpu_consume]}" "${R[$m.cpu_consume]}" \
        "$(ratio "${R[$k.cpu_consume]%% *}" "${R[$m.cpu_consume]%% *}")" "≤ 0.25"
    row "consume: rewinds (mock keeps ~5 MiB)" "$(fig $k consume rewinds)" "$(fig $m consume rewinds)" "" ""
    row "consume in a group (subscribe, auto-commit): records/s" "$(num "$(fig $k group rec_s)")" \
        "$(num "$(fig $m group rec_s)")" "$(ratio "$(fig $k group rec_s)" "$(fig $m group rec_s)")" ""
    row "group: records (the mock keeps ~5 MiB, no rewinds)" "$(fig $k group records)" "$(fig $m group records)" "" ""
    row "group: subscribe to first record / final commit, ms" "$(fig $k group join_ms) / $(fig $k group commit_ms)" \
        "$(fig $m group join_ms) / $(fig $m group commit_ms)" "" ""
    for what in e2e ack; do
        row "latency $what at $LAT_RATE/s, acks=all, linger 0: p50 / p99 / p99.9 ms" "$(pcts $k $what)" \
            "$(pcts $m $what)" "$(ratio "$(fig $k latency "${what}_p50_ms")" "$(fig $m latency "${what}_p50_ms")") (p50)" ""
    done
    row "idle RSS, MB" "${R[$k.rss_mb]}" "${R[$m.rss_mb]}" "$(ratio "${R[$k.rss_mb]}" "${R[$m.rss_mb]}")" "< 20"
    row "start to serving, ms" "${R[$k.start_ms]}" "${R[$m.start_ms]}" \
        "$(ratio "${R[$k.start_ms]}" "${R[$m.start_ms]}")" "< 200"
    row "produce, acks=all, RF 3 on 3 brokers" "see tests/bench/replication.sh" "" "" ""
    echo
    echo "Raw lines:"
    local l t
    for l in $ORDER; do
        for t in serving produce consume group latency; do
            [ -f "$WORK/$l.$t" ] && echo "    $l $t: $(head -n 1 "$WORK/$l.$t")"
        done
    done
}

# -- main ------------------------------------------------------------------------
bench_setup
write_broker_config "$WORK" /kbbench
prepare_topic perf 1
for server in $ORDER; do
    case $server in
    kbroker) launch kbroker "$WORK/kbroker.serving" -t perf -b "127.0.0.1:$KB_PORT" -- "$KBROKER" "$KB_CONFIG" ;;
    mock) launch mock "$WORK/mock.serving" -t perf -- "$BENCH_BIN/kbmock" -b 1 -t perf -p 1 ;;
    *) die "ORDER: unknown server $server" ;;
    esac
    measure "$server"
    stop_pid "${PIDS[-1]}"
done

print_table
exit $FAILED
