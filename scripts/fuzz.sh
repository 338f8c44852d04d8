#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang-14 (-fsanitize=fuzzer,address,undefined)
# and runs each for a while: scripts/fuzz.sh [seconds per target, default 60] [target...].
# Each run starts from the seed corpus in the tree (tests/fuzz/corpus/<target>/) copied into the
# build folder, so the tree is never written. Exits 0 when no target found anything; otherwise
# names the target and the input that broke it (copy that file into tests/fuzz/corpus/<target>/
# with a name saying what it is, fix the code, and it is replayed by every ctest run) and exits 1.
# BRMRS_FUZZ_BUILD picks the build folder (default build-fuzz/), BRMRS_FUZZ_JOBS how many
# targets compile and run at once (default: the core count; every libFuzzer run is one process,
# so each still gets a core and its full time), CXX_FUZZ the compiler (default clang++-14).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
all_targets=(npy mmrec from_pairs sample_pools objective eval)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
build=${BRMRS_FUZZ_BUILD:-build-fuzz}
jobs=${BRMRS_FUZZ_JOBS:-$(nproc)}
cxx=${CXX_FUZZ:-clang++-14}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (scripts/install-deps.sh installs clang-14)" >&2; exit 1; }
mkdir -p "$build"
# -O1 keeps the sanitizers' reports readable and the run fast; -march=native so the AVX-512 kernels
# this machine runs are the ones fuzzed (each is checked against the portable definition).
flags=(-std=c++17 -g -O1 -march=native -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -Iinclude -Wall -Wextra)
# in_parallel FN NAME...: runs FN NAME for every NAME, `jobs` at a time; the NAMEs whose FN failed
# are left in `failed`.
in_parallel() {
  local fn=$1 i t
  shift
  local pids=() names=()
  failed=()
  for t in "$@"; do
    "$fn" "$t" &
    pids+=($!)
    names+=("$t")
    if [ ${#pids[@]} -ge "$jobs" ]; then
      wait "${pids[0]}" || failed+=("${names[0]}")
      pids=("${pids[@]:1}")
      names=("${names[@]:1}")
    fi
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
}
# The stale targets are compiled `jobs` at a time (each clang++ is one process).
stale=()
for t in "${targets[@]}"; do
  src=tests/fuzz/fuzz_$t.cpp
  [ -f "$src" ] || { echo "fuzz.sh: no target $t ($src)" >&2; exit 1; }
  if [ ! -x "$build/fuzz_$t" ] || [ -n "$(find include tests/fuzz -newer "$build/fuzz_$t" -name '*.[hc]pp' | head -1)" ]; then
    stale+=("$t")
  fi
done
build_one() {
  echo "== build fuzz_$1"
  nice -n 10 "$cxx" "${flags[@]}" "tests/fuzz/fuzz_$1.cpp" -o "$build/fuzz_$1"
}
in_parallel build_one "${stale[@]}"
[ ${#failed[@]} -eq 0 ] || { echo "fuzz.sh: a fuzz target did not compile (its errors are above)" >&2; exit 1; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
run_one() {
  local t=$1 work="$build/work/$1"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -n tests/fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null || true
  # -rss_limit_mb / -malloc_limit_mb: an allocation a small input does not justify is a finding.
  nice -n 19 "$build/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
}
in_parallel run_one "${targets[@]}"
for t in "${targets[@]}"; do
  log="$build/work/$t/log"
  stats=$(grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | tr -s ' ' | tr '\n' ' ' || true)
  echo "fuzz_$t (${seconds} s): $stats"
done
if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "FUZZ FINDING in fuzz_$t: log $build/work/$t/log; input(s):" >&2
    ls "$build/work/$t/artifacts/" >&2 || true
    grep -E 'ERROR|contract violated|SUMMARY|ALARM' "$build/work/$t/log" | head -5 >&2 || true
  done
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, no finding"
