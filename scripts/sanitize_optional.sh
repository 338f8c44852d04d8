#!/usr/bin/env bash
# The tests scripts/test.sh's core-only sanitizer build leaves out, in a Debug build with
# -fsanitize=address,undefined halting on the first error: those that need xsimd (the SIMD
# backend), Eigen or xtensor (the adapters), the warp emulation and the README example (ctest
# labels xsimd, eigen, xtensor, cuda-emulation, readme). The fuzz targets' corpora run under the
# same sanitizers in scripts/fuzz.sh. .ci/run calls this script after test.sh. Exits non-zero on
# any failure or when no test carries those labels (xsimd missing, say).
# BRMRS_BUILD_ROOT picks the build folder's parent (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${BRMRS_BUILD_ROOT:-build}
build=$root/sanitize-optional
labels='^(xsimd|eigen|xtensor|cuda-emulation|readme)$'
jobs=$(nproc)
start=$(date +%s)
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja > /dev/null; then generator=(-GNinja); fi
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DBRMRS_SANITIZE=address,undefined \
  -DBRMRS_WITH_XSIMD=ON -DBRMRS_WITH_CUDA=OFF -DBRMRS_BUILD_BENCHMARKS=OFF -DBRMRS_BUILD_EXAMPLES=OFF \
  -DBRMRS_BUILD_HEADER_CHECKS=OFF -DBRMRS_BUILD_PYTHON_CHECKS=OFF > /dev/null
# Only the labelled tests' executables: their names are their ctest names.
mapfile -t targets < <(cd "$build" && ctest -N -L "$labels" | sed -n 's/^ *Test *#[0-9]*: *//p')
if [ ${#targets[@]} -eq 0 ]; then
  echo "sanitize_optional.sh: no test carries the labels $labels" >&2
  exit 1
fi
echo "== tests under -fsanitize=address,undefined: ${targets[*]}"
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
(cd "$build" && ctest --output-on-failure -j "$jobs" -L "$labels")
echo "== sanitizer tests of the optional features passed in $(( $(date +%s) - start )) s"
