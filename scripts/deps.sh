# scripts/deps.sh - the Debian 12 packages kbroker needs to build, test and
# run, in one place.  Sourced by scripts/quickstart.sh and scripts/test.sh.
#
#   kb_install_deps [--test]   installs what is missing (one apt-get update,
#                              one apt-get install); does nothing when every
#                              package is already installed.
#   kb_install_node_modules    runs `npm ci` in tests/integration/kafkajs
#                              when its node_modules is missing or was
#                              installed from another package-lock.json.
#
# Build: the toolchain, autotools, and the C libraries configure checks for.
# The single-threaded ZooKeeper client (libzookeeper-st-dev) is the one kbroker
# links; it conflicts with libzookeeper-mt-dev, so never add that one.
KB_BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  libzookeeper-st-dev libevent-dev libprotobuf-c-dev protobuf-c-compiler check
  libjansson-dev libisal-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev"

# Run: a ZooKeeper server (Debian's package brings OpenJDK through
# default-jre; the server runs fine on the headless JRE) and kcat, the
# command-line Kafka client the quickstart points you at.
KB_RUN_PACKAGES="zookeeper default-jre-headless kcat"

# Test: the integration suite (pytest, kazoo to read ZooKeeper, two real Kafka
# client libraries with their compression codecs, and node with npm for the
# third, KafkaJS, which kb_install_node_modules installs from its lockfile),
# valgrind, and clang with its sanitizer and libFuzzer runtimes for the fuzz
# targets (tests/fuzz), and iproute2 and iptables for the chaos tier's
# namespaces and faults (tests/chaos).
KB_TEST_PACKAGES="python3-pytest python3-kazoo python3-confluent-kafka python3-kafka
  python3-snappy python3-lz4 python3-zstandard nodejs npm valgrind clang-14 libclang-rt-14-dev
  iproute2 iptables"

# Benchmark (tests/bench/compare.sh installs these itself; the build and the
# test suite never need them): librdkafka's headers and library, for the load
# tool and the in-memory mock cluster it is compared with.
KB_BENCH_PACKAGES="librdkafka-dev"

# kb_provided_by_installed NAME: whether an installed package provides NAME.
# A node from outside Debian (NodeSource's nodejs) brings its own npm,
# provides "npm" and conflicts with Debian's npm package: asking apt for
# that one would fail, and npm is there anyway.
# The list is read whole before it is searched: `grep -q` at the end of the
# pipe would stop reading at the first match, and under `set -o pipefail`
# (scripts/test.sh) the writer's SIGPIPE would then fail the whole test.
kb_provided_by_installed() {
    local provided
    provided=$(dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null |
        sed -n 's/^install ok installed|//p' | tr ',' '\n' | sed 's/(.*//; s/[[:space:]]//g')
    [[ $'\n'"$provided"$'\n' == *$'\n'"$1"$'\n'* ]]
}

kb_missing_packages() {
    local p missing=""
    for p in "$@"; do
        # Compared whole, not piped to grep -q (see kb_has_asan).
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ] &&
            ! kb_provided_by_installed "$p"; then
            missing="$missing $p"
        fi
    done
    echo $missing
}

kb_install_deps() {
    local wanted="$KB_BUILD_PACKAGES $KB_RUN_PACKAGES"
    [ "${1:-}" = "--test" ] && wanted="$wanted $KB_TEST_PACKAGES"
    local missing
    missing=$(kb_missing_packages $wanted)
    if [ -z "$missing" ]; then
        echo "deps: every Debian package needed is installed"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing Debian packages: $missing" >&2
        echo "deps: run as root, or install them with: apt-get install -y $missing" >&2
        return 1
    fi
    echo "deps: installing$( [ -n "$missing" ] && echo ":") $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || return 1
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing || return 1
}

# KafkaJS for the integration suite, exactly as tests/integration/kafkajs/
# package-lock.json pins it (the lockfile names versions and integrity
# hashes only; npm takes the packages from its configured registry).
# `npm ci` runs when node_modules is missing or holds what another lockfile
# installed: the lockfile's SHA-256 is kept beside the modules it installed.
KB_NODE_TEST_DIR=tests/integration/kafkajs

kb_install_node_modules() {
    local dir="${1:-$KB_NODE_TEST_DIR}" want have stamp
    stamp="$dir/node_modules/.kb-package-lock.sha256"
    if ! command -v npm >/dev/null 2>&1; then
        echo "deps: npm is missing: kb_install_deps --test installs it" >&2
        return 1
    fi
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1) || return 1
    have=$(cat "$stamp" 2>/dev/null)
    if [ "$want" = "$have" ]; then
        echo "deps: $dir/node_modules is installed from its lockfile"
        return 0
    fi
    echo "deps: npm ci in $dir (node_modules is missing or stale)"
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts) || return 1
    echo "$want" > "$stamp"
}
