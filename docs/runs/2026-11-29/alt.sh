#!/bin/bash
# The DRAM probe's pf_32/pf_64 variants (prefetcht0 and prefetcht1) and the DRAM selection, alternated three times, two threads.
B=/tmp/build-lead; X=/tmp/xp
ld() { echo "== $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg) == $*"; }
for a in 1 2 3; do
  ld "alt $a probe"
  OMP_NUM_THREADS=2 $B/benchmarks/bench_roofline --benchmark_filter='2000000/pf_(32|64)(_l2)?/' --benchmark_repetitions=3 --benchmark_out=$X/alt${a}_probe.json --benchmark_out_format=json 2>&1 | grep -v '_mean\|_median\|_stddev\|_cv'
  ld "alt $a select"
  OMP_NUM_THREADS=2 $B/benchmarks/bench_select --benchmark_filter='BM_select/simd/64/64/items_1000000' --benchmark_repetitions=3 --benchmark_out=$X/alt${a}_select.json --benchmark_out_format=json 2>&1 | grep -v '_mean\|_median\|_stddev\|_cv'
done
ld done
