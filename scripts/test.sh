#!/bin/bash
# scripts/test.sh - every test kbroker has, from a fresh Debian 12 machine (as
# root) to a verdict:
#
#   1. install the Debian packages that are missing (scripts/deps.sh), and
#      KafkaJS for the integration suite with `npm ci` from its lockfile
#      (tests/integration/kafkajs) when node_modules is missing or stale;
#   2. autoreconf, then an out-of-tree build in build/ with -Werror,
#      AddressSanitizer and UBSan (build/ is used by nothing else: a build/
#      configured otherwise is configured again, and the script checks that
#      the broker it tests is linked with ASan);
#   3. make check: the Check unit suites;
#   4. the fuzz targets (tests/fuzz: libFuzzer with clang, ASan and UBSan,
#      built in build-fuzz/), each run for KB_FUZZ_SECONDS (default 4)
#      from its committed seed corpus; a crash prints its reproducer;
#   5. the integration suite (tests/integration, pytest) against that build:
#      a real ZooKeeper per test file, real brokers, real Kafka clients;
#   6. the chaos tier (tests/chaos, pytest, as root): a 3-broker cluster in
#      network namespaces under kills, pauses, network cuts and full disks,
#      every client operation recorded and checked (tests/chaos/README);
#   7. make distcheck in build-dist/ (no sanitizers): builds the release
#      tarball, then builds and unit-tests it from a read-only copy.
#
# A build failure stops the run; a failing test stage does not (the later
# stages still run, so one run shows everything), but the script exits 1.
# The last line is "summary: N passed, M failed" over all stages.
#
# Environment: KB_SKIP_FUZZ=1 skips stage 4, KB_SKIP_CHAOS=1 stage 6,
# KB_SKIP_DISTCHECK=1 stage 7;
# PYTEST_ARGS is passed to pytest (e.g. PYTEST_ARGS="-k failover").
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/deps.sh
. scripts/build.sh

banner() { printf '\n==== %s (%d s into the run) ====\n' "$*" "$SECONDS"; }
die() { echo "test.sh: $*" >&2; echo "summary: 0 passed, 1 failed"; exit 1; }

banner "Debian packages"
kb_install_deps --test || die "could not install the Debian packages"

banner "KafkaJS for the integration suite (npm ci from tests/integration/kafkajs/package-lock.json)"
# npm needs the registry over TLS; where that is not reachable (a sandbox
# whose egress CA this system does not trust, no network) the KafkaJS
# scenarios are skipped with that reason, and everything else still runs.
kb_install_node_modules ||
    echo "test.sh: WARNING: KafkaJS could not be installed (npm ci failed, above): the KafkaJS scenarios" \
        "(tests/integration/test_zm_kafkajs_groups.py) will be SKIPPED" >&2

banner "build with -Werror, AddressSanitizer and UBSan (build/)"
autoreconf -fi || die "autoreconf failed"
# build/ is this script's alone (quickstart builds in build-quickstart/);
# kb_build configures it again if anything configured it otherwise.
kb_build build --enable-werror --enable-sanitizers || die "the sanitized build failed"
kb_has_asan build/kbroker || die "build/kbroker is not linked with AddressSanitizer"

# Sanitizer settings for every kbroker/kbroker-admin the stages below run.
# Leak detection stays on: a clean shutdown (SIGTERM) and every refusal path
# must free what they allocated, and a leak fails the test that caused it
# (LeakSanitizer turns the exit status into 1 and the suite scans every
# broker's log for sanitizer reports).  The ZooKeeper C client frees its
# handle in zookeeper_close(), so nothing of it needs suppressing.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1:print_summary=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="print_suppressions=0"

passed=0
failed=0
stage_failed=""

banner "unit tests (make check)"
if make -C build -j2 check; then unit_ok=1; else unit_ok=0; stage_failed="$stage_failed unit"; fi
# Check prints "NN%: Checks: N, Failures: F, Errors: E" per suite program.
for log in build/tests/unit/*.log; do
    [ -f "$log" ] || continue
    line=$(grep -Eo 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1)
    [ -n "$line" ] || continue
    read -r n f e < <(echo "$line" | grep -Eo '[0-9]+' | tr '\n' ' ')
    passed=$((passed + n - f - e))
    failed=$((failed + f + e))
done
if [ "$unit_ok" = 0 ]; then
    cat build/test-suite.log 2>/dev/null | tail -60
    [ "$failed" -gt 0 ] || failed=$((failed + 1))
fi

if [ "${KB_SKIP_FUZZ:-0}" != 1 ]; then
    banner "fuzz targets (tests/fuzz, ${KB_FUZZ_SECONDS:-4} s each)"
    fuzz_log="$ROOT/build-fuzz/run.log"
    mkdir -p "$ROOT/build-fuzz"
    FUZZ_OUT="$ROOT/build-fuzz" tests/fuzz/run.sh "${KB_FUZZ_SECONDS:-4}" 2>&1 | tee "$fuzz_log"
    fuzz_rc=${PIPESTATUS[0]}
    # run.sh ends with "fuzz: N targets x Ss in Ts, F failed".
    read -r f_targets f_failed < <(sed -nE 's/^fuzz: ([0-9]+) targets.* ([0-9]+) failed$/\1 \2/p' "$fuzz_log" | tail -1)
    if [ -n "${f_targets:-}" ]; then
        passed=$((passed + f_targets - f_failed))
        failed=$((failed + f_failed))
    fi
    if [ "$fuzz_rc" -ne 0 ]; then
        stage_failed="$stage_failed fuzz"
        [ -n "${f_failed:-}" ] && [ "$f_failed" -gt 0 ] || failed=$((failed + 1))
    fi
fi

# run_pytest_stage NAME DIR: one pytest run over DIR with Debian's
# interpreter (Debian's Python packages - pytest, kazoo, the Kafka clients -
# are only visible to it, whatever python3 comes first on PATH); its junit
# counts go into the summary, a failure names the stage.
run_pytest_stage() {
    local name=$1 dir=$2 junit="$ROOT/build/$1-junit.xml" rc t f e s
    rm -f "$junit"
    # shellcheck disable=SC2086
    /usr/bin/python3 -m pytest "$dir" -p no:cacheprovider -ra --junitxml="$junit" ${PYTEST_ARGS:-}
    rc=$?
    if [ -f "$junit" ]; then
        read -r t f e s < <(/usr/bin/python3 - "$junit" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tot = lambda k: sum(int(s.get(k, 0)) for s in suites)
print(tot("tests"), tot("failures"), tot("errors"), tot("skipped"))
EOF
)
        passed=$((passed + t - f - e - s))
        failed=$((failed + f + e))
    fi
    if [ "$rc" -ne 0 ]; then
        stage_failed="$stage_failed $name"
        [ -f "$junit" ] && [ $((f + e)) -gt 0 ] || failed=$((failed + 1))
    fi
}

banner "integration tests (tests/integration, pytest)"
export KBROKER_BIN="$ROOT/build/kbroker"
export KBROKER_ADMIN_BIN="$ROOT/build/kbroker-admin"
export PYTHONDONTWRITEBYTECODE=1
run_pytest_stage integration "$ROOT/tests/integration"

# The chaos tier (reliability-tests.md 6.2): three brokers in network
# namespaces under real faults, each run's history checked by
# tests/chaos/kbcheck.py; the report is build/chaos/report.txt.
if [ "${KB_SKIP_CHAOS:-0}" != 1 ]; then
    banner "chaos tier R0-R8 (tests/chaos, pytest)"
    run_pytest_stage chaos "$ROOT/tests/chaos"
fi

if [ "${KB_SKIP_DISTCHECK:-0}" != 1 ]; then
    banner "make distcheck (build-dist/, no sanitizers)"
    unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
    rm -rf build-dist && mkdir -p build-dist
    if (cd build-dist && ../configure -q && make -j2 distcheck); then
        passed=$((passed + 1))
    else
        stage_failed="$stage_failed distcheck"
        failed=$((failed + 1))
    fi
fi

banner "result"
if [ -n "$stage_failed" ]; then
    echo "failed stages:$stage_failed"
    echo "summary: $passed passed, $failed failed"
    exit 1
fi
echo "all stages passed"
echo "summary: $passed passed, $failed failed"
