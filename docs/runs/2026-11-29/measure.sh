#!/bin/bash
# Measurements of 2026-11-29 (fourth session). Nothing else runs meanwhile.
set -u
B=/tmp/build-lead; V=/tmp/build-t0; R=/tmp/rec; X=/tmp/xp
cd /work/main
ld() { echo "== $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg) == $*"; }
peer() { # name threads
  ld "peer $1 ($2 threads)"
  /usr/bin/python3 benchmarks/peer/peer.py --build $B --threads $2 --out $R/$1 --chart $R/$1/chart.png > $R/$1.txt 2>&1
  echo "rc=$?"; ld "peer $1 done"
}
{
peer r1 2
peer r2 2
peer r1t 1
# Alternation: the DRAM probe (prefetcht0 and prefetcht1 variants) and the DRAM selection, three times.
for a in 1 2 3; do
  ld "alt $a probe"
  OMP_NUM_THREADS=2 $B/benchmarks/bench_roofline --benchmark_filter='2000000/pf_(32|64)(_l2)?$' --benchmark_repetitions=3 --benchmark_out=$X/alt${a}_probe.json --benchmark_out_format=json > $X/alt${a}_probe.txt 2>&1
  ld "alt $a select"
  OMP_NUM_THREADS=2 $B/benchmarks/bench_select --benchmark_filter='BM_select/simd/64/64/items_1000000' --benchmark_repetitions=3 --benchmark_out=$X/alt${a}_select.json --benchmark_out_format=json > $X/alt${a}_select.txt 2>&1
done
# prefetcht1 (HEAD) against prefetcht0 (the same source with the one instruction changed), interleaved.
for a in 1 2 3 4 5; do
  for v in t1 t0; do
    if [ $v = t1 ]; then D=$B; else D=$V; fi
    ld "ab $a $v"
    OMP_NUM_THREADS=2 $D/benchmarks/bench_select --benchmark_filter='BM_select/simd/64/64/items_1000000' --benchmark_min_time=0.3 --benchmark_out=$X/ab${a}_${v}_select.json --benchmark_out_format=json > /dev/null 2>&1
    OMP_NUM_THREADS=2 $D/benchmarks/bench_objective --benchmark_filter='BM_objective/simd/64/64/items_100000' --benchmark_min_time=0.3 --benchmark_out=$X/ab${a}_${v}_objective.json --benchmark_out_format=json > /dev/null 2>&1
  done
done
ld "all done"
} > $X/measure.log 2>&1
