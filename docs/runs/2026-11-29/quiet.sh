#!/bin/bash
# One-thread in-cache objective, 8 repetitions: ~1.6-1.7 ms on this host when it is quiet (third session A/B medians 1 634-1 882 us).
OMP_NUM_THREADS=1 /tmp/build-lead/benchmarks/bench_objective --benchmark_filter='BM_objective/simd/64/64/items_2000/' --benchmark_repetitions=8 --benchmark_min_time=0.2 2>/dev/null | grep -v '_mean\|_median\|_stddev\|_cv' | awk -v d="$(date -u +%H:%M:%S)" '/BM_/{printf "%s ", $2} END{print " (" d ")"}'
