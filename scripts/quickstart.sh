#!/bin/bash
# scripts/quickstart.sh - a three-broker kbroker cluster on this machine, from a
# fresh Debian 12 (run as root):
#
#   1. installs the Debian packages that are missing (scripts/deps.sh);
#   2. builds kbroker in build-quickstart/ (no sanitizers; scripts/test.sh
#      builds in build/, so neither reuses the other's binaries);
#   3. starts a standalone ZooKeeper from conf/zoo.cfg (127.0.0.1:2181, data in
#      run/zookeeper) and brokers 1, 2, 3 from conf/server-{1,2,3}.properties
#      (127.0.0.1:9092, 9093, 9094; log dirs run/kafka-logs-N);
#   4. creates the topic "demo" (3 partitions, replication factor 3) and
#      says how to use it with kcat;
#   5. waits.  Ctrl-C, SIGTERM or SIGHUP stops every process it started, by
#      PID, brokers first: each deletes its registration and closes its logs
#      cleanly, then ZooKeeper stops.
#
# The children run in sessions of their own, so the terminal's Ctrl-C reaches
# this script only (a broker that got the terminal's SIGINT and then this
# script's SIGTERM would take the second signal as "exit now" and skip its
# clean-up).  A script started with SIGINT ignored (bash cannot trap it then)
# still stops everything on SIGTERM and SIGHUP.
#
# Each process logs to run/<name>.log.  Data stays in run/ between runs;
# delete run/ for a fresh cluster.  The ports, the run directory and the
# binaries can be changed (the integration suite does, to test this script):
#   KB_QUICKSTART_ZK_PORT (2181), KB_QUICKSTART_BROKER_PORTS ("9092 9093 9094"),
#   KB_QUICKSTART_RUN (run/), KB_QUICKSTART_BIN (a directory holding kbroker
#   and kbroker-admin; skips the build).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/deps.sh
. scripts/build.sh

ZK_PORT=${KB_QUICKSTART_ZK_PORT:-2181}
read -r -a BROKER_PORTS <<<"${KB_QUICKSTART_BROKER_PORTS:-9092 9093 9094}"
RUN=${KB_QUICKSTART_RUN:-$ROOT/run}
BUILD_DIR=build-quickstart
BIN=${KB_QUICKSTART_BIN:-$ROOT/$BUILD_DIR}
KBROKER="$BIN/kbroker"
ADMIN="$BIN/kbroker-admin"
ZK_CONNECT="127.0.0.1:$ZK_PORT"
PIDS=()
NAMES=()

say() { echo "quickstart: $*"; }
# Fails, stopping whatever was already started.
fail() {
    echo "quickstart: $*" >&2
    stop_all 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops what this script started, brokers first, each by its PID: SIGTERM,
# up to 15 s, then SIGKILL.  Exits with status $1 (default 0).
stop_all() {
    local status=${1:-0}
    trap - INT TERM HUP
    local i pid deadline
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        kill -0 "$pid" 2>/dev/null || continue
        say "stopping ${NAMES[$i]} (pid $pid)"
        kill -TERM "$pid" 2>/dev/null
        # A deadline rather than a count of sleeps: on a loaded machine each
        # `sleep` (a fork and an exec) may take far longer than it asks.
        deadline=$((SECONDS + 15))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "${NAMES[$i]} did not stop within 15 s; killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    [ ${#PIDS[@]} -gt 0 ] && say "stopped"
    exit "$status"
}

# Starts a child in a session of its own (no terminal signals reach it).  The
# script is not a process group leader here, so setsid execs the command
# without forking and $! is the command's own PID.
start() { # name command...
    local name=$1
    shift
    setsid "$@" >>"$RUN/$name.log" 2>&1 </dev/null &
    PIDS+=($!)
    NAMES+=("$name")
    say "started $name (pid $!), log: $RUN/$name.log"
}

wait_for() { # seconds description command...
    local secs=$1 what=$2 n
    shift 2
    for ((n = 0; n < secs * 5; n++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    fail "timed out after ${secs}s waiting for $what (see the logs in $RUN/)"
}

# -- 1. refuse early if the ports are taken --------------------------------
for port in "$ZK_PORT" "${BROKER_PORTS[@]}"; do
    if port_in_use "$port"; then
        fail "port $port on 127.0.0.1 is already in use (another ZooKeeper, Kafka or quickstart?); stop it first"
    fi
done
for f in conf/zoo.cfg conf/server-1.properties conf/server-2.properties conf/server-3.properties; do
    [ -f "$f" ] || fail "missing $f"
done

# -- 2. packages and build ---------------------------------------------------
kb_install_deps || fail "could not install the Debian packages"
if [ -z "${KB_QUICKSTART_BIN:-}" ]; then
    kb_build "$BUILD_DIR" || fail "the build failed"
    ! kb_has_asan "$KBROKER" || fail "$KBROKER is linked with AddressSanitizer; remove $BUILD_DIR/ and run again"
fi
say "using $KBROKER and $ADMIN"

# -- 3. ZooKeeper and three brokers -----------------------------------------
trap stop_all INT TERM HUP
mkdir -p "$RUN/zookeeper"
# conf/zoo.cfg with this run's data directory and port.
sed -e "s|^dataDir=.*|dataDir=$RUN/zookeeper|" -e "s|^clientPort=.*|clientPort=$ZK_PORT|" conf/zoo.cfg >"$RUN/zoo.cfg"
start zookeeper java -Xmx256m -cp "/usr/share/java/slf4j-simple.jar:/usr/share/java/*:/etc/zookeeper/conf_example" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$RUN/zoo.cfg"
wait_for 60 "ZooKeeper on $ZK_CONNECT" port_in_use "$ZK_PORT"
wait_for 60 "ZooKeeper to answer" "$ADMIN" --zookeeper "$ZK_CONNECT" --timeout 5 list-topics

# conf/server-N.properties, with this run's ports and directories.
for n in 1 2 3; do
    start "kbroker-$n" "$KBROKER" --override "listeners=PLAINTEXT://127.0.0.1:${BROKER_PORTS[$((n - 1))]}" \
        --override "log.dirs=$RUN/kafka-logs-$n" --override "zookeeper.connect=$ZK_CONNECT" \
        "$ROOT/conf/server-$n.properties"
done
all_registered() {
    local out
    out=$("$ADMIN" --zookeeper "$ZK_CONNECT" --timeout 5 --output json list-brokers) || return 1
    for port in "${BROKER_PORTS[@]}"; do
        grep -q "$port" <<<"$out" || return 1
    done
}
wait_for 60 "brokers 1, 2 and 3 to register in ZooKeeper" all_registered
say "brokers 1, 2, 3 are registered"

# -- 4. the demo topic ---------------------------------------------------------
"$ADMIN" --zookeeper "$ZK_CONNECT" create-topic --topic demo --partitions 3 --replication-factor 3
rc=$?
case $rc in
    0) say "created topic demo (3 partitions, replication factor 3)" ;;
    3) say "topic demo already exists (kept from an earlier run in run/)" ;;
    *) fail "kbroker-admin create-topic failed with status $rc" ;;
esac
"$ADMIN" --zookeeper "$ZK_CONNECT" describe-topic --topic demo

cat <<EOF

kbroker is running: ZooKeeper on $ZK_CONNECT, brokers on 127.0.0.1:${BROKER_PORTS[0]}, ${BROKER_PORTS[1]}, ${BROKER_PORTS[2]}.

  kcat -L -b 127.0.0.1:${BROKER_PORTS[0]}                        # cluster metadata as a Kafka client sees it
  seq 1 10 | kcat -P -b 127.0.0.1:${BROKER_PORTS[0]} -t demo     # produce (one record per line)
  kcat -C -b 127.0.0.1:${BROKER_PORTS[0]} -t demo -o beginning -e  # read them back
  kcat -b 127.0.0.1:${BROKER_PORTS[0]} -G demo-group -o beginning demo  # in a consumer group, committing (Ctrl-C)
  $ADMIN --zookeeper $ZK_CONNECT list-brokers
  $ADMIN --zookeeper $ZK_CONNECT describe-topic --topic demo
  $ADMIN list-groups --bootstrap-server 127.0.0.1:${BROKER_PORTS[0]} --state
  $ADMIN describe-group --bootstrap-server 127.0.0.1:${BROKER_PORTS[0]} --group demo-group

Logs: $RUN/zookeeper.log, $RUN/kbroker-1.log ... $RUN/kbroker-3.log.
Press Ctrl-C to stop everything.
EOF

# -- 5. wait ---------------------------------------------------------------------
declare -A reported=()
while true; do
    sleep 1 &
    wait $! 2>/dev/null
    for i in "${!PIDS[@]}"; do
        if [ -z "${reported[$i]:-}" ] && ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            wait "${PIDS[$i]}" 2>/dev/null
            say "${NAMES[$i]} exited with status $?; see $RUN/${NAMES[$i]}.log"
            reported[$i]=1
        fi
    done
done
