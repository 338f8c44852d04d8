// Scale limits, checked where a unit test would be too slow or too large for CI (docs/reliability.md):
//  1. ids beyond 2^31: interactions<int64_t> over n_items = 3e9 and the sampler drawing from it
//     (every drawn id in range, none observed, ids above 2^31 drawn; a 32-bit Id refused);
//  2. the objective's workspace does not grow with n_items: peak RSS after the tables are
//     touched, then after compute_objective (loss and selection), at n_items = 1e5 and 1e7.
// Build and run (about a minute, ~6 GB at 1e7 items):
//   g++ -std=c++17 -O2 -march=native -fopenmp -Iinclude benchmarks/scale/scale_check.cpp -o /tmp/scale_check
//   /tmp/scale_check
// Exits 1, naming the check, when one fails.
#include <brmrs/interactions.hpp>
#include <brmrs/objective.hpp>
#include <brmrs/sampler.hpp>

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

long peak_rss_kb() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "scale_check FAILED: %s\n", what);
  std::exit(1);
}

void ids_beyond_2_31() {
  using id64 = std::int64_t;
  const std::size_t n_users = 4, n_items = 3000000000ull, K = 64;
  std::vector<id64> us, is;
  std::mt19937_64 rng(1);
  for (std::size_t u = 0; u < n_users; ++u)
    for (int k = 0; k < 1000; ++k) us.push_back(id64(u)), is.push_back(id64(rng() % n_items));
  const auto x = brmrs::interactions<id64>::from_pairs(n_users, n_items, us, is);
  std::vector<id64> users{0, 1, 2, 3}, pools(users.size() * K, -1);
  brmrs::sample_pools(x, users, 7, 0, 0, brmrs::matrix_view<id64>(pools.data(), users.size(), K));
  std::size_t above = 0;
  for (std::size_t b = 0; b < users.size(); ++b)
    for (std::size_t k = 0; k < K; ++k) {
      const id64 v = pools[b * K + k];
      if (v < 0 || std::uint64_t(v) >= n_items) fail("a drawn id is out of range");
      if (x.contains(std::size_t(users[b]), std::size_t(v))) fail("a drawn id is observed");
      above += std::uint64_t(v) >= (std::uint64_t(1) << 31);
    }
  if (above == 0) fail("no id above 2^31 drawn from 3e9 items");
  bool refused = false;
  try {
    std::vector<std::int32_t> u32{0}, i32{0};
    (void)brmrs::interactions<std::int32_t>::from_pairs(1, n_items, u32, i32);
  } catch (const brmrs::invalid_argument& e) {
    refused = true;
    std::printf("32-bit ids with n_items = 3e9: %s\n", e.what());
  }
  if (!refused) fail("interactions<int32_t> accepted n_items = 3e9");
  std::printf("n_items = 3e9, int64 ids: %zu of %zu drawn ids above 2^31, all in range and unobserved\n", above,
              pools.size());
}

// Peak RSS growth of compute_objective (workspace + outputs of B rows) over the touched tables.
long objective_workspace_kb(std::size_t n_items) {
  const std::size_t M = 2, d = 64, n_users = 10000, B = 2048, K = 64;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> unif(-0.1f, 0.1f);
  std::vector<std::vector<float>> user(M + 1, std::vector<float>(n_users * d)), item(M + 1);
  for (auto& t : user)
    for (auto& v : t) v = unif(rng);
  for (auto& t : item) {
    t.resize(n_items * d);
    for (std::size_t i = 0; i < t.size(); i += 1024) t[i] = unif(rng);  // touch every page
  }
  brmrs::dot_tables<float> tab;
  for (std::size_t m = 0; m < M; ++m) {
    tab.user.push_back({user[m].data(), n_users, d});
    tab.item.push_back({item[m].data(), n_items, d});
  }
  tab.fused_user = {user[M].data(), n_users, d};
  tab.fused_item = {item[M].data(), n_items, d};
  std::vector<std::int32_t> users(B), pos(B), pools(B * K);
  for (auto& v : users) v = std::int32_t(rng() % n_users);
  for (auto& v : pos) v = std::int32_t(rng() % n_items);
  for (auto& v : pools) v = std::int32_t(rng() % n_items);
  brmrs::batch<std::int32_t> bt;
  bt.users = {users.data(), B};
  bt.positives = {pos.data(), B};
  bt.pools = {pools.data(), B, K};
  brmrs::objective_config<float> cfg;
  const long before = peak_rss_kb();
  volatile float sink = 0;
  for (int r = 0; r < 3; ++r) sink = sink + brmrs::compute_objective(tab, bt, cfg).loss;
  return peak_rss_kb() - before;
}

}  // namespace

int main() {
  ids_beyond_2_31();
  const long small = objective_workspace_kb(100000);
  const long large = objective_workspace_kb(10000000);
  std::printf("objective peak-RSS growth over its touched tables: %ld KiB at 1e5 items, %ld KiB at 1e7 items\n",
              small, large);
  // The second call starts from a higher peak (its tables are 100x larger), so its growth can only
  // be smaller unless the workspace scales with n_items; allow 4 MiB of allocator noise.
  if (large > small + 4096) fail("the objective's workspace grows with n_items");
  std::printf("scale_check: passed\n");
  return 0;
}
