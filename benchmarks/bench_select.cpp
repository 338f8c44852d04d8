// bench_select — the fused gather–score–argmax alone (hard-negative selection), per backend.
//
// BM_select/<backend>/<d>/<K>/items_<n_items>: backend::simd::select_hard_batch over workload W
// (B = 2048 examples, M = 2 modalities, d = 64, K = 64; benchmarks/peer/workload.hpp) with the
// scalar or the SIMD kernel policy, float, OpenMP over examples (OMP_NUM_THREADS threads).
// n_items = 2 000 (item tables 2 x 512 KB: in cache), 100 000 (2 x 25.6 MB: W's out-of-cache
// shape, which still half fits a 32 MB L3) and 1 000 000 (2 x 256 MB: the DRAM shape).
// Counters: items/s = candidates scored per second (B·K per pass, all modalities),
// bytes/s = item-row bytes gathered per second (B·K·M·d·sizeof(T)), the figure compared with
// the gather roofline of bench_roofline. BM_select/simd_double/... is the same in double.
// BRMRS_BENCH_SMOKE=1: B = 64 and tiny tables.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <brmrs/backend/scalar/kernels.hpp>
#include <brmrs/backend/simd/kernels.hpp>  // empty without xsimd: only the scalar rows are registered
#include <brmrs/backend/simd/select_batch.hpp>

#include "peer/workload.hpp"

namespace {

template <class Policy, class T>
void BM_select(benchmark::State& state, std::size_t n_items) {
  brmrs_bench::shape s;
  s.n_items = n_items;
  if (brmrs_bench::smoke()) s = s.smoke_version();
  const brmrs_bench::workload<T> w(s);
  const auto tables = w.tables();
  const auto b = w.make_batch();
  std::vector<std::int32_t> hard(s.B * s.M);
  const brmrs::matrix_view<std::int32_t> hv(hard.data(), s.B, s.M);
  for (auto _ : state) {
    brmrs::backend::simd::select_hard_batch<Policy>(tables, b, hv);
    benchmark::DoNotOptimize(hard.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * s.B * s.K));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(w.selection_bytes()));
  state.counters["n_items"] = static_cast<double>(s.n_items);
}

const bool registered = [] {
  using scalar = brmrs::backend::scalar::kernels;
  for (std::size_t n : {std::size_t(2000), std::size_t(100000), std::size_t(1000000)}) {
    const std::string tail = "/64/64/items_" + std::to_string(n);
    benchmark::RegisterBenchmark(("BM_select/scalar" + tail).c_str(), BM_select<scalar, float>, n)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
#if BRMRS_HAS_XSIMD
    using simd = brmrs::backend::simd::kernels<>;
    benchmark::RegisterBenchmark(("BM_select/simd" + tail).c_str(), BM_select<simd, float>, n)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
#endif
  }
#if BRMRS_HAS_XSIMD
  benchmark::RegisterBenchmark("BM_select/simd_double/64/64/items_2000",
                               BM_select<brmrs::backend::simd::kernels<>, double>, std::size_t(2000))
      ->UseRealTime()->Unit(benchmark::kMicrosecond);
#endif
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
