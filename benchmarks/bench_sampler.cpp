// Benchmarks of brmrs/sampler.hpp on workload W (DESIGN.md §4): B = 2048 examples, K = 64 pool
// ids each, 100 000 users, n_items = 100 000 (tables out of cache) and 2 000 (in cache), every
// user with 10, 100 or 1 000 observed items, 1 and 2 OpenMP threads.
//
//   BM_sample_pools/<kernel>/deg<D>/64/items:<N>/omp:<T>  one W batch of pools (B x K ids) by
//       the sampler kernel `avx512` (the default where the build targets AVX-512F) or
//       `portable` (the lane loop every target gets otherwise); items/s = ids drawn per second
//   BM_score_reference/scalar/64/64/items:<N>/omp:<T>    the baseline the issue compares with:
//       a plain scalar loop scoring the same batch, B x K candidates x 2 modalities of d = 64
//       dot products, gathering item rows from an N x 64 float table per modality (user rows
//       from a 100 000 x 64 table); items/s = candidates scored per second (all modalities)
//   BM_select/simd/64/64/items:<N>/omp:<T>               the library's default scorer on the same
//       batch: brmrs::backend::simd::select_hard_batch (xsimd kernel policy, default arch) over
//       the tables of benchmarks/peer/workload.hpp (2 MiB-aligned, MADV_HUGEPAGE, as in
//       bench_select), with the pools replaced by the ones sample_pools draws for degree 10;
//       items/s = candidates scored per second. Registered only when xsimd is available.
// Each iteration is one W-sized batch, so "Time" is the cost of one batch (wall clock: the
// OpenMP team's work is not in the calling thread's CPU time).
// BRMRS_BENCH_SMOKE=1 shrinks every shape so the CI smoke run takes well under a second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <brmrs/sampler.hpp>
#include <brmrs/backend/simd/select_batch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

#include "peer/workload.hpp"

namespace {

using id32 = std::int32_t;

bool smoke() {
  const char* s = std::getenv("BRMRS_BENCH_SMOKE");
  return s != nullptr && std::strcmp(s, "1") == 0;
}

struct shape {
  std::size_t B, K, n_users, d;
};

shape workload() { return smoke() ? shape{64, 8, 1000, 16} : shape{2048, 64, 100000, 64}; }

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Every user observes `degree` distinct uniformly random items; built straight into CSR (a bitmap
// per user gives the sorted row) because 100 000 x 1 000 pairs would not fit from_pairs' copies
// comfortably. The last store built is cached: benchmarks are registered grouped by store.
const brmrs::interactions<id32>& store(std::size_t n_users, std::size_t n_items, std::size_t degree) {
  static std::unique_ptr<brmrs::interactions<id32>> cached;
  static std::size_t key[3] = {0, 0, 0};
  if (cached && key[0] == n_users && key[1] == n_items && key[2] == degree) return *cached;
  cached.reset();
  std::vector<std::int64_t> offsets(n_users + 1);
  std::vector<id32> indices(n_users * degree);
  std::vector<std::uint64_t> bits((n_items + 63) / 64);
  std::uint64_t s = 0x5a3b1e + n_items * 31 + degree;
  for (std::size_t u = 0; u < n_users; ++u) {
    offsets[u] = static_cast<std::int64_t>(u * degree);
    std::fill(bits.begin(), bits.end(), 0);
    for (std::size_t got = 0; got < degree;) {
      const auto i = brmrs::uniform_below(splitmix64(s), n_items);
      std::uint64_t& w = bits[i / 64];
      const std::uint64_t m = std::uint64_t(1) << (i % 64);
      if (!(w & m)) {
        w |= m;
        ++got;
      }
    }
    id32* out = indices.data() + u * degree;
    for (std::size_t wi = 0; wi < bits.size(); ++wi)
      for (std::uint64_t w = bits[wi]; w != 0; w &= w - 1)
        *out++ = static_cast<id32>(wi * 64 + static_cast<std::size_t>(__builtin_ctzll(w)));
  }
  offsets[n_users] = static_cast<std::int64_t>(n_users * degree);
  cached = std::make_unique<brmrs::interactions<id32>>(
      brmrs::interactions<id32>::from_csr(n_users, n_items, std::move(offsets), std::move(indices)));
  key[0] = n_users;
  key[1] = n_items;
  key[2] = degree;
  return *cached;
}

std::vector<id32> batch_users(std::size_t B, std::size_t n_users) {
  std::vector<id32> users(B);
  std::uint64_t s = 2048;
  for (auto& u : users) u = static_cast<id32>(brmrs::uniform_below(splitmix64(s), n_users));
  return users;
}

// Sets the OpenMP team size for one benchmark and restores it afterwards.
struct omp_threads {
#if BRMRS_HAS_OPENMP
  int saved;
  explicit omp_threads(int n) : saved(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~omp_threads() { omp_set_num_threads(saved); }
#else
  explicit omp_threads(int) {}
#endif
};

template <class Isa>
void bm_sample_pools(benchmark::State& state, std::size_t n_items, std::size_t degree, int threads) {
  const shape w = workload();
  const auto& obs = store(w.n_users, n_items, degree);
  const auto users = batch_users(w.B, w.n_users);
  std::vector<id32> pools(w.B * w.K);
  const omp_threads team(threads);
  std::uint64_t step = 0;
  for (auto _ : state) {
    brmrs::sample_pools<id32, Isa>(obs, users, 0xbe4c, step++, 0, brmrs::matrix_view<id32>(pools.data(), w.B, w.K));
    benchmark::DoNotOptimize(pools.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.B * w.K));
}

// A rows x d table of uniform values in [-0.5, 0.5), cached per (rows, d, which): Google
// Benchmark calls a benchmark function several times while it sizes the iteration count.
const std::vector<float>& table(std::size_t rows, std::size_t d, int which) {
  struct entry {
    std::size_t rows, d;
    std::vector<float> values;
  };
  static entry cache[3];
  entry& e = cache[which];
  if (e.rows != rows || e.d != d || e.values.size() != rows * d) {
    e.values.assign(rows * d, 0.0f);
    std::uint64_t s = 99 + static_cast<std::uint64_t>(which);
    for (auto& v : e.values) v = static_cast<float>(splitmix64(s) >> 40) * 0x1p-24f - 0.5f;
    e.rows = rows;
    e.d = d;
  }
  return e.values;
}

// The comparison baseline: plain scalar scoring of the same W batch (no SIMD intrinsics; the
// compiler may not reorder the float sums without -ffast-math, so each dot is a serial chain).
void bm_score_reference(benchmark::State& state, std::size_t n_items, int threads) {
  const shape w = workload();
  constexpr std::size_t M = 2;
  const std::size_t d = w.d;
  const std::vector<float>& user_tab = table(M * w.n_users, d, 1);
  const std::vector<float>& item_tab = table(M * n_items, d, 2);
  const auto users = batch_users(w.B, w.n_users);
  std::vector<id32> pools(w.B * w.K);
  brmrs::sample_pools(store(w.n_users, n_items, 10), users, 0xbe4c, 0, 0,
                      brmrs::matrix_view<id32>(pools.data(), w.B, w.K));
  std::vector<float> scores(w.B * M * w.K);
  const omp_threads team(threads);
  const auto B = static_cast<std::int64_t>(w.B);
  const std::size_t K = w.K, n_users = w.n_users;
  for (auto _ : state) {
#if BRMRS_HAS_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (std::int64_t b = 0; b < B; ++b) {
      const auto bb = static_cast<std::size_t>(b);
      for (std::size_t m = 0; m < M; ++m) {
        const float* urow = user_tab.data() + (m * n_users + static_cast<std::size_t>(users[bb])) * d;
        for (std::size_t k = 0; k < K; ++k) {
          const float* irow =
              item_tab.data() + (m * n_items + static_cast<std::size_t>(pools[bb * K + k])) * d;
          float acc = 0.0f;
          for (std::size_t j = 0; j < d; ++j) acc += urow[j] * irow[j];
          scores[(bb * M + m) * K + k] = acc;
        }
      }
    }
    benchmark::DoNotOptimize(scores.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.B * w.K));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * w.B * w.K * M * d * sizeof(float)));
}

#if BRMRS_HAS_XSIMD
// The SIMD baseline: the default backend's selection (gather, score, argmax) of the same batch.
// The workload (tables + batch) is built once per n_items and cached: Google Benchmark calls the
// function several times while it sizes the iteration count and once per repetition.
void bm_select_simd(benchmark::State& state, std::size_t n_items, int threads) {
  const shape w = workload();
  static std::unique_ptr<brmrs_bench::workload<float>> cached;
  if (!cached || cached->s.n_items != n_items) {
    cached.reset();
    brmrs_bench::shape s;
    s.M = 2;
    s.d = w.d;
    s.d_f = w.d;
    s.B = w.B;
    s.K = w.K;
    s.n_users = w.n_users;
    s.n_items = n_items;
    cached = std::make_unique<brmrs_bench::workload<float>>(s);
    const auto users = batch_users(w.B, w.n_users);
    std::copy(users.begin(), users.end(), cached->users.begin());
    brmrs::sample_pools(store(w.n_users, n_items, 10), users, 0xbe4c, 0, 0,
                        brmrs::matrix_view<id32>(cached->pools.data(), w.B, w.K));
  }
  const auto& wl = *cached;
  const auto tables = wl.tables();
  const auto bt = wl.make_batch();
  std::vector<id32> hard(w.B * wl.s.M);
  const brmrs::matrix_view<id32> hv(hard.data(), w.B, wl.s.M);
  const omp_threads team(threads);
  for (auto _ : state) {
    brmrs::backend::simd::select_hard_batch(tables, bt, hv);
    benchmark::DoNotOptimize(hard.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.B * w.K));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(wl.selection_bytes()));
}
#endif

void register_all() {
  const shape w = workload();
  const std::size_t item_counts[] = {smoke() ? std::size_t(1000) : std::size_t(100000),
                                     smoke() ? std::size_t(200) : std::size_t(2000)};
  const std::size_t degrees[] = {10, 100, smoke() ? std::size_t(150) : std::size_t(1000)};
  // The library's default kernel for this build, and the portable one for comparison.
  using kernel = void (*)(benchmark::State&, std::size_t, std::size_t, int);
  std::vector<std::pair<std::string, kernel>> kernels{
      {"portable", &bm_sample_pools<brmrs::detail::sampler_portable>}};
#if BRMRS_SAMPLER_HAS_AVX2
  kernels.insert(kernels.begin(), {"avx2", &bm_sample_pools<brmrs::detail::sampler_avx2>});
#endif
#if BRMRS_SAMPLER_HAS_AVX512
  kernels.insert(kernels.begin(), {"avx512", &bm_sample_pools<brmrs::detail::sampler_avx512>});
#endif
  for (const std::size_t n_items : item_counts) {
    for (const std::size_t degree : degrees)  // grouped by store: store() caches the last one
      for (const auto& [kernel_name, fn] : kernels)
        for (const int threads : {1, 2}) {
          const std::string name = "BM_sample_pools/" + kernel_name + "/deg" + std::to_string(degree) + "/" +
                                   std::to_string(w.K) + "/items:" + std::to_string(n_items) +
                                   "/omp:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), fn, n_items, degree, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
    for (const int threads : {1, 2}) {
      const std::string name = "BM_score_reference/scalar/" + std::to_string(w.d) + "/" +
                               std::to_string(w.K) + "/items:" + std::to_string(n_items) +
                               "/omp:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), bm_score_reference, n_items, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
#if BRMRS_HAS_XSIMD
    for (const int threads : {1, 2}) {
      const std::string name = "BM_select/simd/" + std::to_string(w.d) + "/" + std::to_string(w.K) +
                               "/items:" + std::to_string(n_items) + "/omp:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), bm_select_simd, n_items, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
