#!/bin/bash
# select_hard's look-ahead (prefetch_distance, slots): 16, 32 (HEAD's default) and 64, builds of HEAD with
# -DBRMRS_SIMD_PREFETCH_DISTANCE=<n> in /tmp/build-d<n>; five interleaved rounds, two threads, DRAM selection.
X=/tmp/xp
ld() { echo "== $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg) == $*"; }
for a in 1 2 3 4 5; do
  for dd in 16 32 64; do
    if [ $dd = 32 ]; then D=/tmp/build-lead; else D=/tmp/build-d$dd; fi
    ld "distance round $a, $dd slots"
    OMP_NUM_THREADS=2 $D/benchmarks/bench_select --benchmark_filter='BM_select/simd/64/64/items_1000000' --benchmark_min_time=0.3 --benchmark_out=$X/dist${a}_${dd}.json --benchmark_out_format=json > /dev/null 2>&1
  done
done
ld done
