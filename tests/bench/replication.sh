#!/bin/bash
# tests/bench/replication.sh - what replication costs: produce with acks=1
# and with acks=all to RF 3 topics on three brokers, in one run, side by side.
#
#   tests/bench/replication.sh      (as root on a fresh Debian 12, or with the
#                                    packages of scripts/deps.sh installed)
#
# It installs what is missing and builds a release kbroker (-O2, no
# sanitizers) in $KB_BENCH_BUILD (default build-bench/) and kbperf/kbstart
# as compare.sh does (the helpers are lib.sh's), then:
#
#   1. starts ZooKeeper and brokers 1, 2, 3 on free 127.0.0.1 ports, each with
#      a metrics endpoint, and waits until each serves;
#   2. creates perf-acks1 and perf-acksall (1 partition each, replicas 1,2,3,
#      so broker 1 leads both; perf-acksall with min.insync.replicas=2) and
#      waits until both list all three brokers in their ISR;
#   3. for acks=1 then acks=all: reads the three brokers' CPU (utime + stime
#      from /proc/PID/stat) and the leader's replication counters, runs
#      kbperf produce (N_PRODUCE records of 100 bytes, linger.ms=5), waits
#      until the followers have fetched everything (the leader's
#      kbroker_replica_fetch_bytes_total unchanged for 1 s, at most 60 s;
#      acks=1 finishes before its followers do), and reads them again;
#   4. prints a table: records/s and MB/s, broker CPU seconds per 100 MB of
#      record values summed over the three brokers (replication included),
#      the bytes the leader sent to followers
#      (kbroker_replica_fetch_bytes_total) and the part of them sent with
#      sendfile (kbroker_replica_fetch_sendfile_bytes_total), acks=all
#      over acks=1, and the targets (acks=all >= 500,000 records/s and at
#      least half of acks=1's rate).
#
# Nothing here passes or fails on a figure: the exit status is 1 only when a
# run did not complete.  Everything binds 127.0.0.1; every process started
# here is stopped by its PID.  A run takes about a minute on 2 cores once
# built.
#
# Environment: N_PRODUCE [2000000]  KB_BENCH_BUILD [<repo>/build-bench]
#   KBROKER_BIN, KBROKER_ADMIN_BIN (skip the kbroker build)  BENCH_BIN
#   [$KB_BENCH_BUILD/bench]  KEEP=1 keeps the work directory (broker logs).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
N_PRODUCE=${N_PRODUCE:-2000000}
RECORD_SIZE=100
BROKER_IDS=(1 2 3)
FETCHED=kbroker_replica_fetch_bytes_total
SENDFILE=kbroker_replica_fetch_sendfile_bytes_total
declare -A PORT METRICS_PORT PID R

# -- three brokers ------------------------------------------------------------------
start_broker() {
    local id=$1 dir=$WORK/broker-$1
    mkdir -p "$dir"
    PORT[$id]=$(free_port)
    METRICS_PORT[$id]=$(free_port)
    cat >"$dir/kbroker.properties" <<EOF
broker.id=$id
listeners=PLAINTEXT://127.0.0.1:${PORT[$id]}
log.dirs=$dir/kafka-logs
zookeeper.connect=$KB_ZK
zookeeper.session.timeout.ms=6000
kbroker.log.level=info
kbroker.metrics.listener=127.0.0.1:${METRICS_PORT[$id]}
EOF
    "$KBROKER" "$dir/kbroker.properties" >>"$dir/kbroker.log" 2>&1 </dev/null &
    PID[$id]=$!
    PIDS+=("${PID[$id]}")
    "$BENCH_BIN/kbstart" -b "127.0.0.1:${PORT[$id]}" -T 60 >/dev/null ||
        die "broker $id did not serve (see $dir/kbroker.log; KEEP=1 keeps it)"
}

bootstrap() {
    local id out=""
    for id in "${BROKER_IDS[@]}"; do out+="${out:+,}127.0.0.1:${PORT[$id]}"; done
    echo "$out"
}

# metric ID NAME: a counter of broker ID's /metrics (summed over its label
# sets), or nothing when it is not exported.  Plain HTTP/1.0 over bash's
# /dev/tcp: no client needed.
metric() {
    local body
    body=$(exec 3<>"/dev/tcp/127.0.0.1/${METRICS_PORT[$1]}" &&
        printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && timeout 10 cat <&3) || return 0
    # NAME or NAME without _total (the older counters' style), labels or not.
    awk -v n="$2" 'BEGIN { m = n; sub(/_total$/, "", m) }
        $1 == n || $1 == m || index($1, n "{") == 1 || index($1, m "{") == 1 { s += $NF; f = 1 }
        END { if (f) printf "%.0f\n", s }' <<<"$body"
}

# cpu_sum: "utime stime" clock ticks summed over the three brokers.
cpu_sum() {
    local id u=0 s=0 t
    for id in "${BROKER_IDS[@]}"; do
        read -r -a t <<<"$(cpu_ticks "${PID[$id]}")"
        u=$((u + t[0]))
        s=$((s + t[1]))
    done
    echo "$u $s"
}

# isr_full TOPIC: every replica of TOPIC's partition 0 is in its ISR.
isr_full() {
    "$ADMIN" --zookeeper "$KB_ZK" describe-topic --topic "$1" 2>/dev/null |
        grep -q -E $'\tReplicas: ([0-9]+),([0-9]+),([0-9]+)\tIsr: [0-9]+,[0-9]+,[0-9]+$'
}

create_topic() {
    local topic=$1 n
    shift
    "$ADMIN" --zookeeper "$KB_ZK" create-topic --topic "$topic" --replica-assignment 1:2:3 "$@" >/dev/null ||
        die "create-topic $topic failed"
    "$BENCH_BIN/kbstart" -b "127.0.0.1:${PORT[1]}" -t "$topic" -T 60 >/dev/null || die "$topic was never led"
    for ((n = 0; n < 600; n++)); do
        isr_full "$topic" && return 0
        sleep 0.1
    done
    say "$topic: the ISR never held all three replicas within 60 s; measuring anyway"
}

# settle: waits until the leader's replicated-bytes counter stays put for
# 1 s (at most 60 s): the followers have fetched everything.  Without the
# counter it returns at once.
settle() {
    local n last="" now
    for ((n = 0; n < 60; n++)); do
        now=$(metric 1 "$FETCHED")
        [ -z "$now" ] && return 0 # not exported: nothing to wait for
        [ "$now" = "$last" ] && return 0
        last=$now
        sleep 1
    done
}

# measure LABEL ACKS TOPIC: one kbperf produce run; figures into R[LABEL.*].
measure() {
    local l=$1 acks=$2 topic=$3 c0 c1 f0 f1 s0 s1 out=$WORK/$1.produce
    settle
    c0=$(cpu_sum)
    f0=$(metric 1 "$FETCHED")
    s0=$(metric 1 "$SENDFILE")
    say "$l: producing $N_PRODUCE records of $RECORD_SIZE bytes with acks=$acks to $topic"
    if ! timeout -s INT -k 10 600 "$BENCH_BIN/kbperf" produce -b "$(bootstrap)" -t "$topic" -n "$N_PRODUCE" \
        -s $RECORD_SIZE -a "$acks" -l 5 >"$out" 2>"$out.err" || grep -q 'status=FAILED' "$out"; then
        say "$l failed: $(cat "$out") $(tail -n 3 "$out.err")"
        FAILED=1
    fi
    settle
    c1=$(cpu_sum)
    f1=$(metric 1 "$FETCHED")
    s1=$(metric 1 "$SENDFILE")
    R[$l.rec_s]=$(field "$out" rec_s)
    R[$l.MB_s]=$(field "$out" MB_s)
    R[$l.cpu]=$(per_100mb "$c0" "$c1" "$(field "$out" bytes)")
    if [ -n "$f0" ] && [ -n "$f1" ]; then R[$l.fetched]=$((f1 - f0)); else R[$l.fetched]=""; fi
    if [ -n "$s0" ] && [ -n "$s1" ]; then R[$l.sendfile]=$((s1 - s0)); else R[$l.sendfile]=""; fi
}

# -- the table --------------------------------------------------------------------
pct() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || b + 0 == 0) { print "-"; exit }
        printf "%.1f%%", 100 * a / b
    }'
}
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

print_table() {
    local a=acks1 b=acksall fetched_note="-"
    [ -z "${R[$b.fetched]}" ] && fetched_note="not exported"
    echo
    echo "kbroker replication, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
        "$(lscpu | sed -n -E 's/^Model name:[[:space:]]*//p' | head -n 1)," \
        "load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    echo "kbroker $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') (-O2), 3 brokers," \
        "1 partition with replicas 1,2,3 (broker 1 leads), $N_PRODUCE records of $RECORD_SIZE bytes, linger.ms=5"
    echo
    row figure "acks=1" "acks=all (min.insync 2)" "acks=all / acks=1" "target (acks=all)"
    row --- --- --- --- ---
    row "produce: records/s" "$(num "${R[$a.rec_s]}")" "$(num "${R[$b.rec_s]}")" \
        "$(ratio "${R[$b.rec_s]}" "${R[$a.rec_s]}")" "≥ 500,000 and ≥ 0.5 × acks=1"
    row "produce: MB/s" "${R[$a.MB_s]:--}" "${R[$b.MB_s]:--}" "$(ratio "${R[$b.MB_s]}" "${R[$a.MB_s]}")" ""
    row "CPU s per 100 MB, 3 brokers (user + sys)" "${R[$a.cpu]:--}" "${R[$b.cpu]:--}" \
        "$(ratio "${R[$b.cpu]%% *}" "${R[$a.cpu]%% *}")" ""
    row "bytes sent to followers ($FETCHED)" "$(num "${R[$a.fetched]}")" "$(num "${R[$b.fetched]}")" \
        "" "$fetched_note"
    row "of which by sendfile ($SENDFILE)" "$(pct "${R[$a.sendfile]}" "${R[$a.fetched]}")" \
        "$(pct "${R[$b.sendfile]}" "${R[$b.fetched]}")" "" ""
    echo
    echo "Raw lines:"
    local l
    for l in $a $b; do
        [ -f "$WORK/$l.produce" ] && echo "    $l: $(head -n 1 "$WORK/$l.produce")"
    done
}

# -- main ------------------------------------------------------------------------
bench_setup
KB_ZK=127.0.0.1:$ZK_PORT/kbbench-replication
for id in "${BROKER_IDS[@]}"; do start_broker "$id"; done
create_topic perf-acks1
create_topic perf-acksall --config min.insync.replicas=2
measure acks1 1 perf-acks1
measure acksall all perf-acksall
print_table
exit "$FAILED"
