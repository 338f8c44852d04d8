// benchmarks/sampler_peers/brmrs_sampler_timer.cpp — times brmrs::sample_pools on an observed
// store written by sampler_peers.py, for the peer comparison of that script.
//
// Usage: brmrs_sampler_timer DIR K SECONDS
// DIR holds meta.txt ("n_users n_items nnz n_batch"), offsets.i64 (n_users + 1 int64), indices.i32
// (nnz int32, sorted per user) and users.i32 (n_batch int32: the batch of users, one pool each).
// The first call's pools are written to DIR/brmrs_pools.i32 (n_batch x K int32) so the script
// checks them like every peer's; then calls are repeated (step = 1, 2, ... so every call draws
// new pools) until SECONDS have passed, and the mean over all timed calls is printed (the
// statistic run.py uses for every peer):
//   pools_per_s <value> threads <omp threads> calls <n>
#include <brmrs/interactions.hpp>
#include <brmrs/sampler.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

namespace {

template <class V>
std::vector<V> read_raw(const std::string& path, std::size_t n) {
  std::vector<V> out(n);
  std::ifstream f(path, std::ios::binary);
  if (!f.read(reinterpret_cast<char*>(out.data()), std::streamsize(n * sizeof(V)))) {
    std::fprintf(stderr, "brmrs_sampler_timer: cannot read %zu values from %s\n", n, path.c_str());
    std::exit(2);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: brmrs_sampler_timer DIR K SECONDS\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::size_t K = std::strtoull(argv[2], nullptr, 10);
  const double seconds = std::strtod(argv[3], nullptr);
  std::size_t n_users = 0, n_items = 0, nnz = 0, n_batch = 0;
  {
    std::ifstream m(dir + "/meta.txt");
    if (!(m >> n_users >> n_items >> nnz >> n_batch)) {
      std::fprintf(stderr, "brmrs_sampler_timer: cannot read %s/meta.txt\n", dir.c_str());
      return 2;
    }
  }
  auto offsets = read_raw<std::int64_t>(dir + "/offsets.i64", n_users + 1);
  auto indices = read_raw<std::int32_t>(dir + "/indices.i32", nnz);
  const auto users = read_raw<std::int32_t>(dir + "/users.i32", n_batch);
  const auto store = brmrs::interactions<std::int32_t>::from_csr(n_users, n_items, std::move(offsets), std::move(indices));
  std::vector<std::int32_t> pools(n_batch * K);
  const brmrs::vector_view<const std::int32_t> uv(users.data(), n_batch);
  const brmrs::matrix_view<std::int32_t> pv(pools.data(), n_batch, K);

  std::uint64_t step = 0;
  brmrs::sample_pools(store, uv, 42, step++, 0, pv);
  {
    std::ofstream f(dir + "/brmrs_pools.i32", std::ios::binary);
    f.write(reinterpret_cast<const char*>(pools.data()), std::streamsize(pools.size() * sizeof(std::int32_t)));
  }
  using clock = std::chrono::steady_clock;
  std::size_t calls = 0;
  const auto t0 = clock::now();
  double dt = 0;
  do {
    brmrs::sample_pools(store, uv, 42, step++, 0, pv);
    ++calls;
    dt = std::chrono::duration<double>(clock::now() - t0).count();
  } while (dt < seconds);
  const double rate = double(calls * n_batch) / dt;
  int threads = 1;
#if BRMRS_HAS_OPENMP
  threads = omp_get_max_threads();
#endif
  std::printf("pools_per_s %.6g threads %d calls %zu\n", rate, threads, calls);
  return 0;
}
