#!/usr/bin/env bash
# What scripts/test.sh does not build, in its Release build folder (so that nothing test.sh built
# is compiled again): the benchmarks, each run once in a short smoke mode (ctest label
# bench-smoke); every public header compiled alone in C++17 and C++20 with -Werror; and the CUDA
# tests and benchmark, compiled with nvcc whenever it is found and run where a GPU is (elsewhere
# ctest reports them skipped; test_cuda_validation needs no GPU and runs); and on an AVX-512 CPU
# the Python package's x86-64-v3 (AVX2) module, which test.sh does not build there, with the
# pytest suite run on it (BRMRS_LEVEL=v3), and the SIMD equivalence and sampler tests built for
# x86-64-v3 (the AVX2 kernels an AVX-512 build never takes by default). .ci/run calls this
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
levels=$(/usr/bin/python3 -c "import runpy; print(' '.join(runpy.run_path('python/brmrs/_levels.py')['runnable_levels']()))")
if [ "$levels" = "v4 v3" ]; then
  echo "== the Python package's x86-64-v3 module, and its pytest suite on it"
  pydir=$(mktemp -d)
  trap 'rm -rf "$pydir"' EXIT
  if ! python_install v3 "$pydir"; then
    cat "$pydir/pip.log"
    echo "== the Python package's v3 module did not build" >&2
    exit 1
  fi
  (cd "$pydir" && BRMRS_LEVEL=v3 PYTHONPATH="$pydir/site" \
    /usr/bin/python3 -c "import brmrs; print(brmrs.build_info); assert brmrs.level == 'v3', brmrs.level")
  BRMRS_LEVEL=v3 python_tests "$pydir"
  # The equivalence tests (test_simd_*) and test_sampler, which check every kernel against its
  # scalar definition, for an AVX2 target: xsimd's fma3<avx2> kernels and the AVX2 sampler.
  echo "== the SIMD equivalence and sampler tests built for x86-64-v3 (AVX2)"
  v3=$root/x86-64-v3
  cmake -S . -B "$v3" $(generator "$v3") -DCMAKE_BUILD_TYPE=Release -DBRMRS_NATIVE=OFF \
    -DCMAKE_CXX_FLAGS=-march=x86-64-v3 -DBRMRS_WITH_CUDA=OFF -DBRMRS_BUILD_BENCHMARKS=OFF \
    -DBRMRS_BUILD_EXAMPLES=OFF -DBRMRS_BUILD_HEADER_CHECKS=OFF -DBRMRS_BUILD_PYTHON_CHECKS=OFF > /dev/null
  v3_tests=$(cd tests && ls equivalence/test_simd_*.cpp unit/test_sampler.cpp | sed 's#.*/##; s#\.cpp$##')
  cmake --build "$v3" -j "$jobs" --target $v3_tests
  (cd "$v3" && ctest --output-on-failure -j "$jobs" -R "^($(echo $v3_tests | tr ' ' '|'))\$")
else
  echo "== the x86-64-v3 module and tests: not built, this CPU runs no level beyond test.sh's (levels: ${levels:-none})"
fi
echo "== build checks passed in $(( $(date +%s) - start )) s"
