#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs the test suite
# twice under ctest: Release (the unit, equivalence, fuzz-corpus, packaging, example and Python
# tests; the CUDA tests where a GPU can run them), and Debug with -fsanitize=address,undefined
# halting on the first error, of the core tests (BRMRS_CORE_TESTS_ONLY: those that need Catch2
# alone; the others are reported skipped). What this leaves out, .ci/run runs after it:
# scripts/build_checks.sh (benchmarks with a smoke run each, the C++17/C++20 header checks, the
# CUDA code compiled with nvcc) and scripts/sanitize_optional.sh (the SIMD, adapter, warp
# emulation and README tests under the sanitizers). Exits non-zero on any failure.
# BRMRS_BUILD_ROOT picks the build folder (default build/; scripts/common.sh holds what the three
# build scripts share). Each phase prints its time; ctest prints each test's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test
. scripts/common.sh
start=$(date +%s)
phase_start=$start
phase_done() {
  local now
  now=$(date +%s)
  echo "== $1: $((now - phase_start)) s"
  phase_start=$now
}
# The data-set tests read BRMRS_DATA_DIR (the folder holding lfm2k/); they skip, saying so, when
# it is unset or absent. A checkout beside the shared data (../shared/data) finds it there.
if [ -z "${BRMRS_DATA_DIR:-}" ] && [ -d ../shared/data/lfm2k ]; then
  BRMRS_DATA_DIR=$(cd ../shared/data && pwd)
fi
export BRMRS_DATA_DIR=${BRMRS_DATA_DIR:-}
echo "data set: ${BRMRS_DATA_DIR:-unset} ($([ -n "$BRMRS_DATA_DIR" ] && [ -d "$BRMRS_DATA_DIR/lfm2k" ] && echo present || echo absent: its tests skip))"

# The CUDA tests are compiled here only where a GPU can run them (scripts/build_checks.sh compiles
# them everywhere nvcc is).
cuda=OFF
if command -v nvidia-smi > /dev/null && nvidia-smi -L > /dev/null 2>&1; then cuda=AUTO; fi
echo "== Release build (CUDA tests: $([ $cuda = OFF ] && echo "not built, no GPU" || echo "built when nvcc is found"))"
cmake -S . -B "$root/release" $(generator "$root/release") -DCMAKE_BUILD_TYPE=Release -DBRMRS_DATA_DIR="$BRMRS_DATA_DIR" \
  -DBRMRS_BUILD_BENCHMARKS=OFF -DBRMRS_BUILD_HEADER_CHECKS=OFF -DBRMRS_WITH_CUDA=$cuda
cmake --build "$root/release" -j "$jobs"
phase_done "Release build"
# The Python package (python/), for this CPU's level only (BRMRS_LEVELS=native: one translation
# unit, 60 CPU-s; scripts/build_checks.sh builds and tests the x86-64-v3 module an AVX-512 CPU does
# not import): it builds in the background, into a temporary folder, while the Release tests and
# the sanitizer build use the cores; its pytest suite runs once it is installed.
pydir=$(mktemp -d)
python_install native "$pydir" &
pip_pid=$!
trap 'kill "$pip_pid" 2>/dev/null || true' EXIT
(cd "$root/release" && ctest --output-on-failure -j "$jobs")
phase_done "Release tests"

echo "== Debug build with -fsanitize=address,undefined of the core tests (scripts/sanitize_optional.sh: the others)"
cmake -S . -B "$root/sanitize" $(generator "$root/sanitize") "${sanitize_options[@]}" -DBRMRS_CORE_TESTS_ONLY=ON \
  -DBRMRS_WITH_XSIMD=OFF -DBRMRS_DATA_DIR="$BRMRS_DATA_DIR"
cmake --build "$root/sanitize" -j "$jobs"
phase_done "sanitizer build"

echo "== Python package (python/): installed offline into a temporary folder, its pytest suite run from outside the tree"
if ! wait "$pip_pid"; then
  cat "$pydir/pip.log"
  echo "== the Python package did not build" >&2
  exit 1
fi
tail -n 1 "$pydir/pip.log"
python_tests "$pydir"
rm -rf "$pydir"
phase_done "Python package (waiting for its build, then its tests)"

sanitizer_env
(cd "$root/sanitize" && ctest --output-on-failure -j "$jobs" -LE "python|packaging")
phase_done "sanitizer tests"

echo "== all tests passed in $(( $(date +%s) - start )) s"
