# tests/bench/lib.sh - what the benchmark scripts here share (compare.sh,
# partitions.sh, compressed.sh, replication.sh): the packages, the release build, ZooKeeper, one kbroker,
# /proc readings, and stopping every process started, each by its PID.
#
#   HERE=$(cd "$(dirname "$0")" && pwd)
#   . "$HERE/lib.sh"
#
# Sourcing it sets ROOT, BUILD, BENCH_BIN, KBROKER, ADMIN (from
# KB_BENCH_BUILD, BENCH_BIN, KBROKER_BIN, KBROKER_ADMIN_BIN as documented in
# the scripts), makes the work directory WORK (kept with KEEP=1), and
# installs the EXIT trap that stops the processes listed in PIDS.  say and
# die prefix their messages with BENCH_NAME (default: the script's name
# without .sh).
# shellcheck shell=bash

ROOT=$(cd "$HERE/../.." && pwd)
BENCH_NAME=${BENCH_NAME:-$(basename "$0" .sh)}
BUILD=${KB_BENCH_BUILD:-$ROOT/build-bench}
BENCH_BIN=${BENCH_BIN:-$BUILD/bench}
KBROKER=${KBROKER_BIN:-$BUILD/kbroker}
ADMIN=${KBROKER_ADMIN_BIN:-$BUILD/kbroker-admin}
ZK_CLASSPATH="/usr/share/java/slf4j-simple.jar:/usr/share/java/*:/etc/zookeeper/conf_example"
WORK=$(mktemp -d -t kbbench.XXXXXX)
PIDS=()
# shellcheck disable=SC2034 # set by the scripts' runs, read at their end
FAILED=0

say() { echo "$BENCH_NAME: $*" >&2; }
die() {
    say "$*"
    exit 1
}

# stop_pid PID: SIGTERM, up to 15 s, then SIGKILL; PID leaves PIDS.
stop_pid() {
    local pid=$1 n p keep=()
    for p in "${PIDS[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    PIDS=("${keep[@]}")
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
# A free port below the kernel's ephemeral range (32768 and up here), so
# that no listener on port 0 or client socket takes it before it is used.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    echo "bench: no free port between 20000 and 31999" >&2
    return 1
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

# The benchmark's programs (GNUmakefile here) into BENCH_BIN.
build_bench_programs() {
    make -C "$HERE" O="$BENCH_BIN" >"$WORK/bench-build.log" 2>&1 ||
        die "building kbperf/kbmock/kbstart failed: $(tail -n 5 "$WORK/bench-build.log")"
}

# -- /proc readings -----------------------------------------------------------
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# "utime stime" in clock ticks; the command name in field 2 may hold spaces,
# so count fields after its closing parenthesis.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'; }
# shellcheck disable=SC2034 # for the scripts' CPU figures
HZ=$(getconf CLK_TCK)

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

# num N: N rounded, with thousands separators; "-" when missing
num() {
    awk -v v="$1" 'BEGIN {
        if (v == "") { print "-"; exit }
        s = sprintf("%.0f", v); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        print s out
    }'
}

# ratio A B: A / B (2 decimals, or 2 significant digits below 0.1), "-" when
# either is missing
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
        r = a / b
        printf (r < 0.1 ? "%.2g" : "%.2f"), r
    }'
}

# key=value from the RESULT/SERVING line in a file
field() { sed -n -E "s/^(RESULT|SERVING) .*\\b$2=([^ ]+).*/\\2/p" "$1" | tail -n 1; }

# The start of a benchmark run: what is missing installed, the release
# kbroker and the load tools built, the load average before (LOAD_BEFORE,
# for the report's header) and ZooKeeper started.
bench_setup() {
    install_packages
    build_kbroker
    build_bench_programs
    LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)
    start_zookeeper
}

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

# write_broker_config [DIR [CHROOT]]: broker 1 on a free port (one broker:
# __consumer_offsets with RF 1, as Kafka's single-broker sample), its config
# DIR/kbroker.properties and its logs in DIR/kafka-logs (DIR: $WORK), its
# cluster under the ZooKeeper chroot CHROOT (/kbbench).  Sets KB_PORT,
# KB_CONFIG, KB_ZK (the connect string, chroot included) and KB_LOG, where
# prepare_topic's broker writes.
write_broker_config() {
    local dir=${1:-$WORK} chroot=${2:-/kbbench}
    mkdir -p "$dir"
    KB_PORT=$(free_port)
    KB_CONFIG=$dir/kbroker.properties
    KB_ZK=127.0.0.1:$ZK_PORT$chroot
    KB_LOG=$dir/kbroker.log
    cat >"$KB_CONFIG" <<EOF
broker.id=1
listeners=PLAINTEXT://127.0.0.1:$KB_PORT
log.dirs=$dir/kafka-logs
zookeeper.connect=$KB_ZK
zookeeper.session.timeout.ms=6000
kbroker.log.level=info
offsets.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
EOF
}

# prepare_topic [TOPIC [PARTITIONS [KBSTART-ARG...]]]: first start, with
# the config of write_broker_config: make the topic (perf, 1 partition, RF
# 1) and wait until the broker leads it (kbstart -t TOPIC and the args
# given; its SERVING line, timed from after the creation, is kept in
# KB_LOG with .prepared for .log); then stop the broker, so that a timed
# start finds a cluster that is ready.
prepare_topic() {
    local topic=${1:-perf} partitions=${2:-1}
    shift $(($# < 2 ? $# : 2))
    "$KBROKER" "$KB_CONFIG" >>"$KB_LOG" 2>&1 </dev/null &
    local pid=$!
    PIDS+=("$pid")
    "$BENCH_BIN/kbstart" -b "127.0.0.1:$KB_PORT" -T 60 >/dev/null || die "kbroker did not serve (see the log)"
    "$ADMIN" --zookeeper "$KB_ZK" create-topic --topic "$topic" \
        --partitions "$partitions" --replication-factor 1 >/dev/null || die "create-topic $topic failed"
    "$BENCH_BIN/kbstart" -b "127.0.0.1:$KB_PORT" -t "$topic" -T 60 "$@" >"${KB_LOG%.log}.prepared" ||
        die "kbroker never led $topic"
    stop_pid "$pid"
}

# launch NAME OUT KBSTART-ARGS...: starts a server under kbstart; sets
# SERVER_PID (the server itself), BOOTSTRAP and START_MS from kbstart's
# SERVING line.  The server's output goes to $WORK/NAME.log.
# shellcheck disable=SC2034 # the figures are the scripts'
launch() {
    local name=$1 out=$2 n
    shift 2
    # kbstart and the server append to the same log; nothing reads it here.
    # shellcheck disable=SC2094
    "$BENCH_BIN/kbstart" -T 60 -o "$WORK/$name.log" "$@" >"$out" 2>>"$WORK/$name.log" </dev/null &
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
