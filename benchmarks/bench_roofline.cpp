// bench_roofline — the gather roofline: how fast this machine can fetch random 256-byte rows.
//
// BM_gather/probe/<d>/<rows>/pf_<distance>[_l2]: for each of B·K·M = 262 144 pre-drawn random row
// ids (the number of row gathers one selection pass of workload W makes), load the row (d = 64
// floats = 256 bytes, 4 cache lines) and add it into vector accumulators, with a software
// prefetch `distance` rows ahead (0: none; 8 to 128), into L1 (prefetcht0) or, with _l2, into L2
// only (prefetcht1, what the SIMD kernels issue; measured on Zen 4, it keeps more rows in flight from
// DRAM, docs/performance.md). OpenMP over the ids with
// schedule(static), like the selection. Tables: 2 000 rows (512 KB, in cache) and 2 000 000 rows (512 MB, the same footprint
// as the two 256 MB item tables of the DRAM selection shape), in 2 MiB-aligned huge-page memory
// as the selection's tables (benchmarks/peer/workload.hpp).
// The roofline of a table size is the best probe variant (peer.py takes the maximum bytes/s);
// selection at X% of the roofline means it fetches its rows at X% of the best plain gather.
// BRMRS_BENCH_SMOKE=1: a 300-row and a 40 000-row table, 4 096 ids.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <brmrs/config.hpp>
#if BRMRS_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

#include "peer/workload.hpp"

namespace {

#if BRMRS_HAS_XSIMD
using V = xsimd::batch<float>;
inline float lane_sum(const V& v) { return xsimd::hadd(v); }
#else
// Without xsimd: a 16-float accumulator the compiler vectorises (-O3 -march=native).
struct V {
  static constexpr std::size_t size = 16;
  float x[16] = {};
  explicit V(float v) { for (auto& e : x) e = v; }
  V() = default;
  static V load_unaligned(const float* p) { V r; for (std::size_t i = 0; i < 16; ++i) r.x[i] = p[i]; return r; }
  V& operator+=(const V& o) { for (std::size_t i = 0; i < 16; ++i) x[i] += o.x[i]; return *this; }
  V operator+(const V& o) const { V r = *this; r += o; return r; }
};
inline float lane_sum(const V& v) { float s = 0; for (float e : v.x) s += e; return s; }
#endif
constexpr std::size_t d = 64;

// to_l1: prefetcht0 (into every level); otherwise prefetcht1 (into L2, not L1).
inline void prefetch_row(const float* p, bool to_l1) {
  if (to_l1)
    for (std::size_t off = 0; off < d; off += 64 / sizeof(float)) __builtin_prefetch(p + off, 0, 3);
  else
    for (std::size_t off = 0; off < d; off += 64 / sizeof(float)) __builtin_prefetch(p + off, 0, 2);
}

void BM_gather(benchmark::State& state, std::size_t rows, std::size_t distance, bool to_l1) {
  const bool smoke = brmrs_bench::smoke();
  if (smoke) rows = rows > 2000 ? 40000 : 300;
  const std::size_t n_ids = smoke ? 4096 : 2048 * 64 * 2;
  brmrs_bench::huge_buffer<float> table(rows * d);
  brmrs_bench::fill_table(table.data(), rows * d, 7, 0);
  std::vector<std::uint32_t> ids(n_ids);
  for (std::size_t i = 0; i < n_ids; ++i) ids[i] = static_cast<std::uint32_t>(brmrs_bench::splitmix64(i + 99) % rows);
  const long long n = static_cast<long long>(n_ids);
  float sink = 0;
  for (auto _ : state) {
    float total = 0;
#if BRMRS_HAS_OPENMP
#pragma omp parallel reduction(+ : total)
#endif
    {
      V a0(0.f), a1(0.f), a2(0.f), a3(0.f);
      constexpr std::size_t N = V::size;
#if BRMRS_HAS_OPENMP
#pragma omp for schedule(static)
#endif
      for (long long i = 0; i < n; ++i) {
        if (distance != 0 && i + static_cast<long long>(distance) < n)
          prefetch_row(table.data() + static_cast<std::size_t>(ids[static_cast<std::size_t>(i) + distance]) * d, to_l1);
        const float* r = table.data() + static_cast<std::size_t>(ids[static_cast<std::size_t>(i)]) * d;
        for (std::size_t c = 0; c < d; c += 4 * N) {
          a0 += V::load_unaligned(r + c);
          if (c + N < d) a1 += V::load_unaligned(r + c + N);
          if (c + 2 * N < d) a2 += V::load_unaligned(r + c + 2 * N);
          if (c + 3 * N < d) a3 += V::load_unaligned(r + c + 3 * N);
        }
      }
      total += lane_sum((a0 + a1) + (a2 + a3));
    }
    sink += total;
    benchmark::DoNotOptimize(sink);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n_ids));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n_ids * d * sizeof(float)));
  state.counters["table_MB"] = static_cast<double>(rows * d * sizeof(float)) / 1e6;
}

const bool registered = [] {
  for (std::size_t rows : {std::size_t(2000), std::size_t(2000000)})
    for (int l1 = 1; l1 >= 0; --l1)
      for (std::size_t pf : {0, 8, 16, 32, 64, 128}) {
        if (pf == 0 && !l1) continue;
        const std::string name = "BM_gather/probe/64/" + std::to_string(rows) + "/pf_" + std::to_string(pf) + (l1 ? "" : "_l2");
        benchmark::RegisterBenchmark(name.c_str(), BM_gather, rows, pf, l1 != 0)->UseRealTime()->Unit(benchmark::kMicrosecond);
      }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
