#!/usr/bin/env bash
# What scripts/test.sh does not build, in its Release build folder (so that nothing test.sh built
# is compiled again): the benchmarks, each run once in a short smoke mode (ctest label
# bench-smoke); every public header compiled alone in C++17 and C++20 with -Werror; and the CUDA
# tests and benchmark, compiled with nvcc whenever it is found and run where a GPU is (elsewhere
# ctest reports them skipped; test_cuda_validation needs no GPU and runs). .ci/run calls this
# script after test.sh. Exits non-zero on any failure. BRMRS_BUILD_ROOT picks the build
# folder's parent (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test
. scripts/common.sh
build=$root/release
start=$(date +%s)
cmake -S . -B "$build" $(generator "$build") -DCMAKE_BUILD_TYPE=Release -DBRMRS_BUILD_BENCHMARKS=ON \
  -DBRMRS_BUILD_HEADER_CHECKS=ON -DBRMRS_WITH_CUDA=AUTO > /dev/null
grep -E '^BRMRS_(WITH_CUDA|BUILD_BENCHMARKS|BUILD_HEADER_CHECKS):' "$build/CMakeCache.txt"
cmake --build "$build" -j "$jobs"
echo "== build checks compiled in $(( $(date +%s) - start )) s"
(cd "$build" && ctest --output-on-failure -j "$jobs" -L '^(bench-smoke|cuda)$')
echo "== build checks passed in $(( $(date +%s) - start )) s"
