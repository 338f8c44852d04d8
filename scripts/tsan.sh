#!/usr/bin/env bash
# ThreadSanitizer run: builds the tests that call the sampler, the objective and eval from several
# std::threads and from OpenMP (tests/unit/test_concurrency.cpp, and the OpenMP paths of
# test_sampler/test_objective/test_eval) with clang-14 -fsanitize=thread against LLVM's libomp,
# whose Archer tool (libarcher.so) tells TSan about OpenMP's barriers and tasks (without it,
# every OpenMP join is a false report). Exits non-zero on any report. BRMRS_TSAN_BUILD picks the
# build folder (default build-tsan/), CXX_TSAN the compiler (default clang++-14).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BRMRS_TSAN_BUILD:-build-tsan}
cxx=${CXX_TSAN:-clang++-14}
command -v "$cxx" >/dev/null || { echo "tsan.sh: $cxx not found (scripts/install-deps.sh installs clang-14)" >&2; exit 1; }
archer=$(ls /usr/lib/llvm-14/lib/libarcher.so 2>/dev/null || true)
[ -n "$archer" ] || { echo "tsan.sh: libarcher.so not found (libomp-14-dev)" >&2; exit 1; }
mkdir -p "$build"
# test_eval is left out: its scorer enters an unnamed omp critical inside eval's parallel loop, which
# Archer 14 reports as a double lock; eval from threads and OpenMP is covered by test_concurrency.
tests=(test_concurrency test_sampler test_objective)
flags=(-std=c++17 -g -O1 -march=native -fsanitize=thread -fopenmp=libomp -fno-omit-frame-pointer
       -Iinclude -Itests/unit -DBRMRS_SHARED_DATA_DIR="\"${BRMRS_DATA_DIR:-../shared/data}\""
       -DBRMRS_TEST_TMP_DIR="\"$PWD/$build\"")
# Catch2's main once, then one binary per test (two at a time).
[ -f "$build/catch_main.o" ] || nice -n 10 "$cxx" "${flags[@]}" -c tests/catch_main.cpp -o "$build/catch_main.o"
pids=()
for t in "${tests[@]}"; do
  nice -n 10 "$cxx" "${flags[@]}" tests/unit/$t.cpp "$build/catch_main.o" -o "$build/$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done
export OMP_TOOL_LIBRARIES=$archer
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for t in "${tests[@]}"; do
  echo "== TSan: $t"
  "$build/$t" --order decl
done
echo "tsan.sh: ${#tests[@]} test programs clean under ThreadSanitizer"
