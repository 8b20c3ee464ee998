#!/bin/sh
# tests/fuzz/rpc_seeds.sh - (re)writes the fuzz_rpc_frame seed corpus from
# the frames the rpc unit suite builds with proto/kp_rpc.c's encoder (one
# per message and kind, plus the trailer and error shapes):
#
#   tests/fuzz/rpc_seeds.sh [BUILD_DIR]     (default: build)
#
# BUILD_DIR must hold a built tests/unit/test_proto.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build}
OUT="$HERE/corpus/fuzz_rpc_frame"
rm -rf "$OUT"
mkdir -p "$OUT"
KB_RPC_SEED_DIR="$OUT" CK_RUN_SUITE=rpc "$BUILD/tests/unit/test_proto" >/dev/null
ls "$OUT" | wc -l
