#!/bin/bash
# tests/bench/compressed.sh - what compressed data costs kbroker: checking
# the records of every compressed produced batch, rebuilding batches with a
# topic's compression.type, and ListOffsets by timestamp over compressed
# data running next to a producer.
#
#   tests/bench/compressed.sh       (with the packages of scripts/deps.sh and
#                                    librdkafka-dev installed, or as root)
#
# It installs what is missing and builds a release kbroker out of tree (-O2, no sanitizers) in
# $KB_BENCH_BUILD (default build-bench/, as compare.sh does) unless
# KBROKER_BIN/KBROKER_ADMIN_BIN name one, builds kbperf (GNUmakefile here),
# starts ZooKeeper and one broker on free 127.0.0.1 ports, and measures:
#
#   1. produce per codec: N_PRODUCE records of 100 bytes with kbperf -z
#      none|gzip|snappy|lz4|zstd, acks=1, linger.ms=5, each codec to its own
#      topic (1 partition): records/s, and the broker's CPU (utime + stime
#      from /proc/PID/stat) per 100 MB of record values;
#   2. produce latency next to ListOffsets by timestamp: kbfill.py fills the
#      topic "zipped" (ZIPPED_PARTITIONS partitions) with gzip batches that
#      inflate to ZIPPED_MIB MiB each, the record looked for lying after the
#      big one; then kbperf latency (LAT_RATE records/s for LAT_SECS s,
#      acks=1, linger.ms=0) on the topic "lat", alone and then while kbperf
#      times keeps asking for that timestamp on every partition of "zipped".
#      Reported: ack p50/p99/p99.9 of both runs, and the ListOffsets calls,
#      for ROUNDS alternating rounds;
#   3. recompression: for each PRODUCED:TOPIC pair of RECOMPRESS, kbperf -z
#      PRODUCED sends N_PRODUCE records of 100 bytes (acks=1, linger.ms=5)
#      into a topic created with compression.type=TOPIC, which makes the
#      leader rebuild every batch in TOPIC's codec on its worker threads:
#      records/s and the broker's CPU per 100 MB of record values, as in 1.
#      A pair whose TOPIC is producer (or PRODUCED's own codec) is the
#      baseline without rebuilding.
#
# Run it once per binary to compare builds (KBROKER_BIN=... for each).
# Nothing here passes or fails on a figure: the exit status is 1 only when a
# run did not complete.  Every process started here is stopped by its PID.
#
# Environment: N_PRODUCE [1000000]  LAT_RATE [5000]  LAT_SECS [10]
#   ZIPPED_PARTITIONS [8]  ZIPPED_MIB [32]  ROUNDS [3]
#   RECOMPRESS ["lz4:producer lz4:zstd none:producer none:gzip zstd:uncompressed"]
#   PARTS ["codecs latency recompress"]: which of 1, 2, 3 to run
#   KB_BENCH_BUILD, KBROKER_BIN,
#   KBROKER_ADMIN_BIN, BENCH_BIN [$KB_BENCH_BUILD/bench]  KEEP=1 keeps the
#   work directory.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
N_PRODUCE=${N_PRODUCE:-1000000}
LAT_RATE=${LAT_RATE:-5000}
LAT_SECS=${LAT_SECS:-10}
ZIPPED_PARTITIONS=${ZIPPED_PARTITIONS:-8}
ZIPPED_MIB=${ZIPPED_MIB:-32}
ROUNDS=${ROUNDS:-3}
RECOMPRESS=${RECOMPRESS:-"lz4:producer lz4:zstd none:producer none:gzip zstd:uncompressed"}
PARTS=${PARTS:-"codecs latency recompress"}
CODECS="none gzip snappy lz4 zstd"
RECORD_SIZE=100

# -- the broker -------------------------------------------------------------------
start_broker() {
    write_broker_config "$WORK" /kbbench
    "$KBROKER" "$KB_CONFIG" >>"$KB_LOG" 2>&1 </dev/null &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    BOOTSTRAP="127.0.0.1:$KB_PORT"
    "$BENCH_BIN/kbstart" -b "$BOOTSTRAP" -T 60 >/dev/null || die "kbroker did not serve (see $KB_LOG)"
}

# create_topic NAME PARTITIONS [--config K=V]...: and wait until the broker
# leads every partition
create_topic() {
    "$ADMIN" --zookeeper "127.0.0.1:$ZK_PORT/kbbench" create-topic --topic "$1" --partitions "$2" \
        --replication-factor 1 "${@:3}" >/dev/null || die "create-topic $1 failed"
    "$BENCH_BIN/kbstart" -b "$BOOTSTRAP" -t "$1" -T 60 >/dev/null || die "kbroker never led $1"
}

# run_load LOGFILE kbperf-args...: one kbperf run, its RESULT line in LOGFILE
run_load() {
    local out=$1
    shift
    if ! timeout -s INT -k 10 600 "$BENCH_BIN/kbperf" "$@" >"$out" 2>"$out.err" || grep -q 'status=FAILED' "$out"; then
        say "kbperf $* failed: $(cat "$out") $(tail -n 3 "$out.err")"
        FAILED=1
    fi
}

# -- the measurements --------------------------------------------------------------
declare -A CPU
measure_codecs() {
    local z c0 c1
    for z in $CODECS; do
        create_topic "c_$z" 1
        say "produce $N_PRODUCE records with $z"
        c0=$(cpu_ticks "$BROKER_PID")
        run_load "$WORK/produce.$z" produce -b "$BOOTSTRAP" -t "c_$z" -z "$z" -n "$N_PRODUCE" -s $RECORD_SIZE -a 1 -l 5
        c1=$(cpu_ticks "$BROKER_PID")
        CPU[$z]=$(per_100mb "$c0" "$c1" "$(field "$WORK/produce.$z" bytes)")
    done
}

# RECOMPRESS pairs: PRODUCED:TOPIC; the results go by pair into CPU_RE and
# files recompress.PRODUCED.TOPIC.
declare -A CPU_RE
measure_recompression() {
    local pair z t c0 c1
    for pair in $RECOMPRESS; do
        z=${pair%%:*} t=${pair#*:}
        create_topic "re_${z}_$t" 1 --config "compression.type=$t"
        say "produce $N_PRODUCE records with $z into a topic with compression.type=$t"
        c0=$(cpu_ticks "$BROKER_PID")
        run_load "$WORK/recompress.$z.$t" produce -b "$BOOTSTRAP" -t "re_${z}_$t" -z "$z" -n "$N_PRODUCE" \
            -s $RECORD_SIZE -a 1 -l 5
        c1=$(cpu_ticks "$BROKER_PID")
        CPU_RE[$pair]=$(per_100mb "$c0" "$c1" "$(field "$WORK/recompress.$z.$t" bytes)")
    done
}

measure_latency_next_to_lookups() {
    local ts=$(($(date +%s%3N) - 3600000)) times_pid r
    create_topic lat 1
    create_topic zipped "$ZIPPED_PARTITIONS"
    /usr/bin/python3 "$HERE/kbfill.py" "$BOOTSTRAP" zipped "$ZIPPED_PARTITIONS" "$ZIPPED_MIB" "$ts" >&2 ||
        die "kbfill.py failed"
    # Alternating rounds, so that a disturbance from outside (another
    # process on the machine) shows as one odd round, not as a difference.
    for ((r = 1; r <= ROUNDS; r++)); do
        say "round $r: latency alone, $LAT_RATE records/s for $LAT_SECS s"
        run_load "$WORK/lat.alone.$r" latency -b "$BOOTSTRAP" -t lat -r "$LAT_RATE" -d "$LAT_SECS" -s $RECORD_SIZE \
            -a 1 -l 0
        say "round $r: latency while ListOffsets by timestamp runs over zipped"
        timeout -s INT -k 10 600 "$BENCH_BIN/kbperf" times -b "$BOOTSTRAP" -t zipped -o $((ts + 1000)) \
            -d $((LAT_SECS + 2)) >"$WORK/times.$r" 2>"$WORK/times.$r.err" &
        times_pid=$!
        run_load "$WORK/lat.lookups.$r" latency -b "$BOOTSTRAP" -t lat -r "$LAT_RATE" -d "$LAT_SECS" \
            -s $RECORD_SIZE -a 1 -l 0
        wait "$times_pid" || { say "kbperf times failed: $(cat "$WORK/times.$r"*)"; FAILED=1; }
    done
}

row() { printf '| %s | %s | %s |\n' "$@"; }
pcts() { echo "$(field "$1" ack_p50_ms) / $(field "$1" ack_p99_ms) / $(field "$1" ack_p999_ms)"; }

print_codecs() {
    local z
    echo
    row "codec ($N_PRODUCE records of $RECORD_SIZE bytes, acks=1, linger 5 ms)" "records/s" "broker CPU s per 100 MB"
    row --- --- ---
    for z in $CODECS; do row "$z" "$(field "$WORK/produce.$z" rec_s)" "${CPU[$z]}"; done
}

print_recompression() {
    local pair
    echo
    row "produced codec -> topic compression.type ($N_PRODUCE records of $RECORD_SIZE bytes, acks=1, linger 5 ms)" \
        "records/s" "broker CPU s per 100 MB"
    row --- --- ---
    for pair in $RECOMPRESS; do
        row "${pair%%:*} -> ${pair#*:}" "$(field "$WORK/recompress.${pair%%:*}.${pair#*:}" rec_s)" "${CPU_RE[$pair]}"
    done
}

print_latency() {
    echo
    row "produce to lat, $LAT_RATE records/s, acks=1, linger 0" "ack p50 / p99 / p99.9 ms" "ListOffsets calls"
    row --- --- ---
    for ((r = 1; r <= ROUNDS; r++)); do
        row "round $r, alone" "$(pcts "$WORK/lat.alone.$r")" ""
        row "round $r, next to ListOffsets by timestamp over zipped ($ZIPPED_PARTITIONS x $ZIPPED_MIB MiB)" \
            "$(pcts "$WORK/lat.lookups.$r")" \
            "$(field "$WORK/times.$r" calls) in $(field "$WORK/times.$r" secs) s, p50 $(field "$WORK/times.$r" call_p50_ms) ms"
    done
}

has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

print_table() {
    echo
    echo "kbroker $("$KBROKER" --version 2>/dev/null | cut -d' ' -f2) ($KBROKER), $(nproc) cores," \
        "$(lscpu | sed -n -E 's/^Model name:[[:space:]]*//p' | head -n 1), load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
    has_part codecs && print_codecs
    has_part recompress && print_recompression
    has_part latency && print_latency
    echo
    echo "Raw lines:"
    for f in "$WORK"/produce.* "$WORK"/recompress.* "$WORK"/lat.* "$WORK"/times.*; do
        case $f in *.err) continue ;; esac
        [ -f "$f" ] && echo "    $(basename "$f"): $(head -n 1 "$f")"
    done
}

# -- main ---------------------------------------------------------------------------
install_packages
build_kbroker
build_bench_programs
start_zookeeper
start_broker
has_part codecs && measure_codecs
has_part recompress && measure_recompression
has_part latency && measure_latency_next_to_lookups
print_table
exit $FAILED
