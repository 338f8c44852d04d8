#!/usr/bin/env bash
# The SIMD backend's tests (ctest label "xsimd": the `// requires: xsimd` files of
# tests/equivalence) in a Debug build with -fsanitize=address,undefined, halting on the first
# error. scripts/test.sh builds its sanitizer phase without xsimd to stay fast on 2 cores (those
# tests are reported skipped there); .ci/run calls this script after it so that CI still runs the
# SIMD kernels under both sanitizers. Exits non-zero on any failure or when xsimd is missing.
# BRMRS_BUILD_ROOT picks the build folder's parent (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${BRMRS_BUILD_ROOT:-build}
build=$root/sanitize-simd
jobs=$(nproc)
start=$(date +%s)
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja > /dev/null; then generator=(-GNinja); fi
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DBRMRS_SANITIZE=address,undefined \
  -DBRMRS_WITH_XSIMD=ON -DBRMRS_WITH_CUDA=OFF -DBRMRS_BUILD_BENCHMARKS=OFF -DBRMRS_BUILD_EXAMPLES=OFF \
  -DBRMRS_BUILD_HEADER_CHECKS=OFF -DBRMRS_BUILD_PYTHON_CHECKS=OFF > /dev/null
# Only the labelled tests' executables: their names are their ctest names.
mapfile -t targets < <(cd "$build" && ctest -N -L xsimd | sed -n 's/^ *Test *#[0-9]*: *//p')
if [ ${#targets[@]} -eq 0 ]; then
  echo "sanitize_simd.sh: no test carries the label xsimd" >&2
  exit 1
fi
echo "== SIMD tests under -fsanitize=address,undefined: ${targets[*]}"
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
(cd "$build" && ctest --output-on-failure -j "$jobs" -L xsimd)
echo "== SIMD sanitizer tests passed in $(( $(date +%s) - start )) s"
