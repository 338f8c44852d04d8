// The SIMD selection's look-ahead (rows prefetch_distance slots ahead, running on into the next
// example's pool) on every call: this translation unit sets the "worth prefetching" threshold to
// 0 bytes, so the prefetch path runs on small tables too. A prefetch is a hint, so the results
// must equal the scalar reference's; under the sanitizer build the pools sit in buffers that end
// exactly at the last id, so a look-ahead reading one id too far is an error.
#define BRMRS_SIMD_PREFETCH_MIN_BYTES 0

// requires: xsimd
#include <catch2/catch.hpp>

#include <brmrs/config.hpp>

#if !BRMRS_HAS_XSIMD
#error "needs xsimd: tests/CMakeLists.txt builds this test only when xsimd is found"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <brmrs/backend/scalar/kernels.hpp>
#include <brmrs/backend/simd/select_batch.hpp>

namespace {

using policy = brmrs::backend::simd::kernels<>;
static_assert(policy::prefetch_min_bytes == 0, "this test needs the prefetch on every table size");
static_assert(policy::prefetch_distance > 0, "this test needs a look-ahead");

float scalar_dot(const float* a, const float* b, std::size_t d) {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

// B examples over M modalities of width d; pool rows `stride` ids apart, the buffer ending at the
// last example's K-th id.
void check_selection(std::size_t M, std::size_t d, std::size_t K, std::size_t stride, std::uint64_t seed) {
  INFO("M " << M << " d " << d << " K " << K << " stride " << stride << " seed " << seed);
  const std::size_t B = 37, n_users = 11, n_items = 300;
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> U(-1, 1);
  std::vector<std::vector<float>> user(M, std::vector<float>(n_users * d)), item(M, std::vector<float>(n_items * d));
  for (auto& t : user)
    for (auto& x : t) x = U(g);
  for (auto& t : item)
    for (auto& x : t) x = U(g);
  std::vector<std::int32_t> users(B), pools((B - 1) * stride + K);
  for (auto& u : users) u = static_cast<std::int32_t>(g() % n_users);
  for (auto& p : pools) p = static_cast<std::int32_t>(g() % n_items);

  brmrs::dot_tables<float> tables;
  for (std::size_t m = 0; m < M; ++m) {
    tables.user.emplace_back(user[m].data(), n_users, d);
    tables.item.emplace_back(item[m].data(), n_items, d);
  }
  brmrs::batch<std::int32_t> bt;
  bt.users = {users.data(), B};
  bt.pools = brmrs::matrix_view<const std::int32_t>(pools.data(), B, K, stride);
  std::vector<std::int32_t> hard(B * M, -1);
  brmrs::backend::simd::select_hard_batch<policy>(tables, bt, brmrs::matrix_view<std::int32_t>(hard.data(), B, M));

  // The chosen candidate's score equals the best score (by an independent double-precision dot),
  // within float rounding scaled by d.
  const float tol = 1e-5f * static_cast<float>(d);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t m = 0; m < M; ++m) {
      const float* u = user[m].data() + static_cast<std::size_t>(users[b]) * d;
      float best = -INFINITY;
      for (std::size_t k = 0; k < K; ++k)
        best = std::max(best, scalar_dot(u, item[m].data() + static_cast<std::size_t>(pools[b * stride + k]) * d, d));
      const std::int32_t chosen = hard[b * M + m];
      INFO("example " << b << " modality " << m << " chosen " << chosen);
      bool in_pool = false;
      for (std::size_t k = 0; k < K; ++k) in_pool = in_pool || pools[b * stride + k] == chosen;
      REQUIRE(in_pool);
      REQUIRE(std::fabs(scalar_dot(u, item[m].data() + static_cast<std::size_t>(chosen) * d, d) - best) <= tol);
    }
}

}  // namespace

TEST_CASE("the SIMD look-ahead never changes the selection nor reads past the pools", "[simd][prefetch]") {
  std::uint64_t seed = 500;
  // d = 64 (the unrolled path), 24 (runtime width with a tail); M = 2 (one group) and 5 (groups of
  // 4 + 1); K below, at and above the look-ahead distance and the batch width; packed and
  // strided pools.
  for (std::size_t M : {2u, 5u})
    for (std::size_t d : {64u, 24u})
      for (std::size_t K : {1u, 5u, 16u, 31u, 32u, 33u, 64u, 100u})
        for (std::size_t extra : {0u, 3u}) check_selection(M, d, K, K + extra, ++seed);
}
