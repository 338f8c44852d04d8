// bench_objective — the full objective, forward and backward, per backend.
//
// BM_objective/<backend>/<d>/<K>/items_<n_items>: brmrs::compute_objective over workload W
// (B = 2048, M = 2, d = d_f = 64, K = 64, 100 000 users; benchmarks/peer/workload.hpp), float,
// explicit negatives, default config (λ_bpr = λ_h = λ_s = 1, θ = 0.1, mean), returning the
// loss, the hard negatives and every per-example gradient row (what an autograd host takes back).
// BM_objective_tables/...: the same, but the gradients are scattered (+=) into table-shaped
// buffers (zeroed once before timing, not per iteration: a host using brmrs accumulates into its
// own gradient tables; re-zeroing 2 x 25.6 MB per batch would time memset, not brmrs).
// n_items = 100 000 (out of cache) and 2 000 (in cache). OpenMP over examples.
// Counters: items/s = candidates scored per second (B·K per call), bytes/s = item-row bytes the
// selection gathers per second, as in bench_select, so the two can be compared directly.
// BRMRS_BENCH_SMOKE=1: B = 64 and tiny tables.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <brmrs/objective.hpp>

#include "peer/workload.hpp"

namespace {

template <class Backend, class T>
void BM_objective(benchmark::State& state, std::size_t n_items, bool table_grads) {
  brmrs_bench::shape s;
  s.n_items = n_items;
  if (brmrs_bench::smoke()) s = s.smoke_version();
  const brmrs_bench::workload<T> w(s);
  const auto tables = w.tables();
  const auto b = w.make_batch();
  brmrs::objective_config<T> cfg;
  std::vector<std::int32_t> hard(s.B * s.M);
  brmrs::objective_outputs<T, std::int32_t> out;
  out.hard_negatives = brmrs::matrix_view<std::int32_t>(hard.data(), s.B, s.M);
  brmrs_bench::row_buffers<T> rows(s);
  std::vector<std::vector<T>> gu, gi;
  std::vector<T> gfu, gfi;
  if (table_grads) {
    for (std::size_t m = 0; m < s.M; ++m) {
      gu.emplace_back(s.n_users * s.d, T(0));
      gi.emplace_back(s.n_items * s.d, T(0));
      out.tables.user.emplace_back(gu.back().data(), s.n_users, s.d);
      out.tables.item.emplace_back(gi.back().data(), s.n_items, s.d);
    }
    gfu.assign(s.n_users * s.d_f, T(0));
    gfi.assign(s.n_items * s.d_f, T(0));
    out.tables.fused_user = brmrs::matrix_view<T>(gfu.data(), s.n_users, s.d_f);
    out.tables.fused_item = brmrs::matrix_view<T>(gfi.data(), s.n_items, s.d_f);
  } else {
    out.rows = rows.views;
  }
  T loss = 0;
  for (auto _ : state) {
    const auto r = brmrs::compute_objective(tables, b, cfg, out, Backend{});
    loss += r.loss;
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * s.B * s.K));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(w.selection_bytes()));
  state.counters["n_items"] = static_cast<double>(s.n_items);
}

template <class Backend>
void register_backend(const std::string& name) {
  for (std::size_t n : {std::size_t(2000), std::size_t(100000)}) {
    const std::string tail = "/64/64/items_" + std::to_string(n);
    benchmark::RegisterBenchmark(("BM_objective/" + name + tail).c_str(), BM_objective<Backend, float>, n, false)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_objective_tables/" + name + tail).c_str(), BM_objective<Backend, float>, n, true)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
}

const bool registered = [] {
  register_backend<brmrs::scalar_backend>("scalar");
#if BRMRS_HAS_XSIMD
  register_backend<brmrs::simd_backend<xsimd::default_arch>>("simd");
#endif
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
