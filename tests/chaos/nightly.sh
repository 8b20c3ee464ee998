#!/bin/bash
# tests/chaos/nightly.sh - the nightly soak (reliability-tests.md 6.3), about
# an hour on 2 cores; not part of CI.  As root, from a built checkout
# (scripts/test.sh builds build/ with sanitizers; this uses that build):
#
#   tests/chaos/nightly.sh            N1 (2 x 10 min), N2, N4, N6, N7, N8, then N9 (10 min of fuzzing)
#   KB_NIGHTLY_N1_S=120 tests/chaos/nightly.sh      shorter N1 runs
#   PYTEST_ARGS="-k n7" tests/chaos/nightly.sh      one test (N9 still runs unless KB_SKIP_FUZZ=1)
#
# ZooKeeper is a 3-server ensemble.  The report (one line per run, every
# counter of tests/chaos/kbcheck.py) is build/chaos/report.txt, each run's
# history, broker logs and verdict in build/chaos/<run>/; tests/chaos/README
# explains how to read them.  N3 (slow disk) and N5 (lost unsynced writes)
# need device-mapper and lazyfs, which this machine does not have: the
# README says what was done instead.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. scripts/deps.sh
KB_TEST_PACKAGES="$KB_TEST_PACKAGES faketime" kb_install_deps --test || exit 2
[ -x build/kbroker ] || { echo "nightly: no build/kbroker; run scripts/test.sh (or scripts/build.sh) first" >&2; exit 2; }

export KBROKER_BIN="$ROOT/build/kbroker" KBROKER_ADMIN_BIN="$ROOT/build/kbroker-admin"
export PYTHONDONTWRITEBYTECODE=1 KB_CHAOS_ZK=3
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
start=$(date +%s)
rc=0
# shellcheck disable=SC2086
/usr/bin/python3 -m pytest tests/chaos/nightly_tests.py -p no:cacheprovider -ra ${PYTEST_ARGS:-} || rc=1
cp build/chaos/report.txt build/chaos/nightly-report.txt 2>/dev/null

if [ "${KB_SKIP_FUZZ:-0}" != 1 ]; then
    # N9: every fuzz target, 10 minutes in all, two at a time, from the
    # corpus the earlier runs of build-fuzz/ grew.
    targets=$(make -s -C tests/fuzz O="$ROOT/build-fuzz" targets 2>/dev/null | wc -w)
    per=$(( 600 * 2 / (targets > 0 ? targets : 1) ))
    echo "N9: $targets fuzz targets x ${per}s"
    FUZZ_OUT="$ROOT/build-fuzz" tests/fuzz/run.sh "$per" | tee build/chaos/n9-fuzz.txt || rc=1
    tail -1 build/chaos/n9-fuzz.txt | sed 's/^/N9 /' >>build/chaos/nightly-report.txt
fi
echo "nightly: exit $rc after $(( $(date +%s) - start )) s; report: build/chaos/nightly-report.txt"
cat build/chaos/nightly-report.txt
exit $rc
