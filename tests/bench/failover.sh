#!/bin/bash
# tests/bench/failover.sh - the controller at scale: time to create
# thousands of partitions on three brokers, to fail over a broker leading a
# third of them (measured from ZooKeeper's expiry of its session to the
# first acknowledged record, and to every survivor's Metadata naming new
# leaders), and to restart it.  The scenario is failover.py's (read it for
# what each figure measures).
#
#   tests/bench/failover.sh        (as root on a fresh Debian 12, or with the
#                                   packages of scripts/deps.sh installed)
#
# It installs what is missing (the test packages too: the driver reads
# ZooKeeper with kazoo), builds a release kbroker (-O2, no sanitizers) in
# $KB_BENCH_BUILD (default build-bench/) unless KBROKER_BIN/KBROKER_ADMIN_BIN
# name one, raises the open-file limit for the brokers (a partition log
# holds a descriptor), and runs failover.py with one ZooKeeper on a free
# 127.0.0.1 port.  Nothing passes or fails on a figure: the exit status is 1
# only when a wait ran out.  Every process started is stopped by its PID.
#
# Environment: SCALE ["3000 10000"] partition counts (topics of 500;
#   half RF 1 from 10,000 on, else RF 3)  SESSION_MS [2000] the brokers'
#   zookeeper.session.timeout.ms  WAIT_S [300] bound of every wait
#   KB_BENCH_BUILD, KBROKER_BIN, KBROKER_ADMIN_BIN  KEEP=1 keeps the work
#   directory (the brokers' logs are in it).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

install_packages
# shellcheck source=../../scripts/deps.sh
. "$ROOT/scripts/deps.sh"
# shellcheck disable=SC2086 # a list of package names, split on purpose
missing=$(kb_missing_packages $KB_TEST_PACKAGES)
if [ -n "$missing" ]; then
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: $missing"
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >&2 || die "apt-get install $missing failed"
fi
build_kbroker
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "open files limit $(ulimit -n); binaries $KBROKER"
WORK="$WORK" KBROKER_BIN="$KBROKER" KBROKER_ADMIN_BIN="$ADMIN" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 "$HERE/failover.py" || FAILED=1
exit "$FAILED"
