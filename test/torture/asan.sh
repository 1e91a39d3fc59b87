#!/usr/bin/env bash
# npm run test:asan: the C++ tests and a longer native stress run, built with
# AddressSanitizer + UndefinedBehaviorSanitizer (-DSCIQLOP_CACHE_SANITIZE=ON) in their own
# build directory (build-asan), leak detection on, any UB report fatal.
#   SCIQLOP_CACHE_STRESS_SECONDS   length of the stress run (default 60)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${SCIQLOP_CACHE_ASAN_BUILD:-build-asan}

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCIQLOP_CACHE_BUILD_TESTS=ON -DSCIQLOP_CACHE_SANITIZE=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target sciqlop_cache_tests

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=${LSAN_OPTIONS:-}
TESTS="$BUILD/native/tests/sciqlop_cache_tests"

echo "== C++ tests under ASan/UBSan"
"$TESTS" --test-suite-exclude=stress

echo "== native stress run under ASan/UBSan (${SCIQLOP_CACHE_STRESS_SECONDS:=60} s)"
SCIQLOP_CACHE_STRESS_SECONDS=$SCIQLOP_CACHE_STRESS_SECONDS "$TESTS" --test-suite=stress --success=false
echo "== sanitizers: clean"
