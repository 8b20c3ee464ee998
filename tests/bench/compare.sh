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
#
# Environment: N_PRODUCE [2000000]  LAT_RATE [10000]  LAT_SECS [10]
#   ORDER ["kbroker mock"] which server goes through the loads first
#   KB_BENCH_BUILD [<repo>/build-bench]  KBROKER_BIN, KBROKER_ADMIN_BIN (skip
#   the kbroker build)  BENCH_BIN [$KB_BENCH_BUILD/bench]  KEEP=1 keeps the
#   work directory (logs, broker data) and says where it is.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N_PRODUCE=${N_PRODUCE:-2000000}
LAT_RATE=${LAT_RATE:-10000}
LAT_SECS=${LAT_SECS:-10}
ORDER=${ORDER:-kbroker mock}
RECORD_SIZE=100
BUILD=${KB_BENCH_BUILD:-$ROOT/build-bench}
BENCH_BIN=${BENCH_BIN:-$BUILD/bench}
KBROKER=${KBROKER_BIN:-$BUILD/kbroker}
ADMIN=${KBROKER_ADMIN_BIN:-$BUILD/kbroker-admin}
ZK_CLASSPATH="/usr/share/java/slf4j-simple.jar:/usr/share/java/*:/etc/zookeeper/conf_example"
WORK=$(mktemp -d -t kbbench.XXXXXX)
PIDS=()
FAILED=0

say() { echo "compare: $*" >&2; }
die() {
    say "$*"
    exit 1
}

# stop_pid PID: SIGTERM, up to 15 s, then SIGKILL.
stop_pid() {
    local pid=$1 n
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((n = 0; n < 150; n++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
# Stops every process started here, newest first, each by its PID.
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]}"
    done
    if [ "${KEEP:-0}" = 1 ]; then
        say "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 30000))
        port_in_use "$p" || break
    done
    echo "$p"
}

# -- packages and builds -------------------------------------------------------
install_packages() {
    # shellcheck source=../../scripts/deps.sh
    . "$ROOT/scripts/deps.sh"
    # shellcheck disable=SC2119 # no --test: the test packages are not needed
    kb_install_deps >&2 || die "could not install the build and run packages"
    local missing
    # shellcheck disable=SC2086 # a list of package names, split on purpose
    missing=$(kb_missing_packages $KB_BENCH_PACKAGES)
    [ -z "$missing" ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: $missing (apt-get install -y $missing)"
    say "installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # a list of package names, split on purpose
    { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } >&2 ||
        die "apt-get install $missing failed"
}

build_kbroker() {
    if [ -n "${KBROKER_BIN:-}" ]; then
        if [ ! -x "$KBROKER" ] || [ ! -x "$ADMIN" ]; then
            die "KBROKER_BIN/KBROKER_ADMIN_BIN not executable"
        fi
        return 0
    fi
    [ -x "$ROOT/configure" ] || (cd "$ROOT" && autoreconf -fi >&2) || die "autoreconf failed"
    # A build directory configured otherwise (sanitizers, other flags) is
    # someone else's: refuse rather than reconfigure it.
    if [ -f "$BUILD/config.status" ] &&
        { grep -q -- '--enable-sanitizers' "$BUILD/config.status" || ! grep -q "'CFLAGS=-O2'" "$BUILD/config.status"; }; then
        die "$BUILD is not configured with CFLAGS=-O2 alone; remove it or set KB_BENCH_BUILD"
    fi
    mkdir -p "$BUILD"
    if [ ! -f "$BUILD/config.status" ]; then
        (cd "$BUILD" && "$ROOT/configure" -q CFLAGS=-O2 >&2) || die "configure failed"
    fi
    make -C "$BUILD" -j"$(nproc)" kbroker kbroker-admin >"$WORK/build.log" 2>&1 ||
        die "the kbroker build failed (see $WORK/build.log; KEEP=1 keeps it)"
}

# -- /proc readings -----------------------------------------------------------
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# "utime stime" in clock ticks; the command name in field 2 may hold spaces,
# so count fields after its closing parenthesis.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'; }
HZ=$(getconf CLK_TCK)

# key=value from the RESULT/SERVING line in a file
field() { sed -n -E "s/^(RESULT|SERVING) .*\\b$2=([^ ]+).*/\\2/p" "$1" | tail -n 1; }

# -- ZooKeeper and kbroker ----------------------------------------------------
start_zookeeper() {
    ZK_PORT=$(free_port)
    mkdir -p "$WORK/zk/data"
    cat >"$WORK/zk/zoo.cfg" <<EOF
tickTime=500
dataDir=$WORK/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
forceSync=no
EOF
    java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$ZK_CLASSPATH" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$WORK/zk/zoo.cfg" \
        >"$WORK/zookeeper.log" 2>&1 </dev/null &
    PIDS+=($!)
    local n
    for ((n = 0; n < 300; n++)); do
        "$ADMIN" --zookeeper "127.0.0.1:$ZK_PORT" --timeout 2 list-topics >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "ZooKeeper did not answer on 127.0.0.1:$ZK_PORT within 60 s"
}

write_broker_config() {
    KB_PORT=$(free_port)
    cat >"$WORK/kbroker.properties" <<EOF
broker.id=1
listeners=PLAINTEXT://127.0.0.1:$KB_PORT
log.dirs=$WORK/kafka-logs
zookeeper.connect=127.0.0.1:$ZK_PORT/kbbench
zookeeper.session.timeout.ms=6000
kbroker.log.level=info
EOF
}

# First start: make the topic and wait until the broker leads it; then stop
# the broker, so that the timed start below finds a cluster that is ready.
prepare_topic() {
    "$KBROKER" "$WORK/kbroker.properties" >>"$WORK/kbroker.log" 2>&1 </dev/null &
    local pid=$!
    PIDS+=("$pid")
    "$BENCH_BIN/kbstart" -b "127.0.0.1:$KB_PORT" -T 60 >/dev/null || die "kbroker did not serve (see the log)"
    "$ADMIN" --zookeeper "127.0.0.1:$ZK_PORT/kbbench" create-topic --topic perf \
        --partitions 1 --replication-factor 1 >/dev/null || die "create-topic perf failed"
    "$BENCH_BIN/kbstart" -b "127.0.0.1:$KB_PORT" -t perf -T 60 >/dev/null || die "kbroker never led perf"
    stop_pid "$pid"
}

# launch NAME OUT KBSTART-ARGS...: starts a server under kbstart; sets
# SERVER_PID (the server itself), BOOTSTRAP and START_MS from kbstart's
# SERVING line.  The server's output goes to $WORK/NAME.log.
launch() {
    local name=$1 out=$2 n
    shift 2
    # kbstart and the server append to the same log; nothing reads it here.
    # shellcheck disable=SC2094
    "$BENCH_BIN/kbstart" -t perf -T 60 -o "$WORK/$name.log" "$@" >"$out" 2>>"$WORK/$name.log" </dev/null &
    PIDS+=($!)
    for ((n = 0; n < 700; n++)); do
        grep -q '^SERVING' "$out" 2>/dev/null && break
        sleep 0.1
    done
    if ! grep -q '^SERVING pid=' "$out" || grep -q 'status=FAILED' "$out"; then
        die "$name did not serve: $(cat "$out")"
    fi
    SERVER_PID=$(field "$out" pid)
    BOOTSTRAP=$(field "$out" bootstrap)
    START_MS=$(field "$out" ms)
}

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
    say "$l: latency at $LAT_RATE records/s for $LAT_SECS s"
    run_load "$l latency" "$WORK/$l.latency" latency -b "$BOOTSTRAP" -r "$LAT_RATE" -d "$LAT_SECS" \
        -s $RECORD_SIZE -a all -l 0
    R[$l.cpu_produce]=$(per_100mb "$c0" "$c1" "$(field "$WORK/$l.produce" bytes)")
    R[$l.cpu_consume]=$(per_100mb "$c1" "$c2" "$(field "$WORK/$l.consume" bytes)")
}

# per_100mb "U0 S0" "U1 S1" BYTES: CPU seconds per 10^8 bytes of values,
# "total (user + system)"
per_100mb() {
    awk -v a="$1" -v b="$2" -v bytes="${3:-0}" -v hz="$HZ" 'BEGIN {
        if (bytes <= 0) { print "-"; exit }
        split(a, x, " "); split(b, y, " "); k = hz * bytes / 1e8
        u = (y[1] - x[1]) / k; s = (y[2] - x[2]) / k
        printf "%.3f (%.3f + %.3f)", u + s, u, s
    }'
}

# -- the table --------------------------------------------------------------------
# ratio A B: A / B (2 decimals, or 2 significant digits below 0.1), "-" when
# either is missing
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
        r = a / b
        printf (r < 0.1 ? "%.2g" : "%.2f"), r
    }'
}
# num N: N rounded, with thousands separators
num() {
    awk -v v="$1" 'BEGIN {
        if (v == "") { print "-"; exit }
        s = sprintf("%.0f", v); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        print s out
    }'
}
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
    for what in e2e ack; do
        row "latency $what at $LAT_RATE/s, acks=all, linger 0: p50 / p99 / p99.9 ms" "$(pcts $k $what)" \
            "$(pcts $m $what)" "$(ratio "$(fig $k latency "${what}_p50_ms")" "$(fig $m latency "${what}_p50_ms")") (p50)" ""
    done
    row "idle RSS, MB" "${R[$k.rss_mb]}" "${R[$m.rss_mb]}" "$(ratio "${R[$k.rss_mb]}" "${R[$m.rss_mb]}")" "< 20"
    row "start to serving, ms" "${R[$k.start_ms]}" "${R[$m.start_ms]}" \
        "$(ratio "${R[$k.start_ms]}" "${R[$m.start_ms]}")" "< 200"
    row "produce, acks=all, RF 3 on 3 brokers" "not run: no replication yet" "" "" ""
    echo
    echo "Raw lines:"
    local l t
    for l in $ORDER; do
        for t in serving produce consume latency; do
            [ -f "$WORK/$l.$t" ] && echo "    $l $t: $(head -n 1 "$WORK/$l.$t")"
        done
    done
}

# -- main ------------------------------------------------------------------------
install_packages
build_kbroker
make -C "$HERE" O="$BENCH_BIN" >"$WORK/bench-build.log" 2>&1 || die "building kbperf/kbmock/kbstart failed: $(tail -n 5 "$WORK/bench-build.log")"
LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)

start_zookeeper
write_broker_config
prepare_topic
for server in $ORDER; do
    case $server in
    kbroker) launch kbroker "$WORK/kbroker.serving" -b "127.0.0.1:$KB_PORT" -- "$KBROKER" "$WORK/kbroker.properties" ;;
    mock) launch mock "$WORK/mock.serving" -- "$BENCH_BIN/kbmock" -b 1 -t perf -p 1 ;;
    *) die "ORDER: unknown server $server" ;;
    esac
    measure "$server"
    stop_pid "${PIDS[-1]}"
done

print_table
exit $FAILED
