// Shared by the select_hard_batch tests (test_simd_select_batch*.cpp): a random two-modality
// problem and the per-example scalar reference selection.
#ifndef BRMRS_TESTS_EQUIVALENCE_SIMD_SELECT_BATCH_DATA_HPP
#define BRMRS_TESTS_EQUIVALENCE_SIMD_SELECT_BATCH_DATA_HPP

#include <brmrs/config.hpp>

#if !BRMRS_HAS_XSIMD
#error "needs xsimd: tests/CMakeLists.txt builds the SIMD tests only when xsimd is found"
#endif

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <brmrs/backend/scalar/kernels.hpp>
#include <brmrs/backend/simd/select_batch.hpp>


namespace simd_select_batch_data {


struct data {
  std::size_t M = 2, d = 24, n_users = 7, n_items = 90, B = 40, K = 21;
  std::vector<std::vector<float>> user, item;
  std::vector<std::int32_t> users, pools;
  explicit data(std::uint64_t seed) : user(M), item(M) {
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<float> U(-1, 1);
    for (std::size_t m = 0; m < M; ++m) {
      user[m].resize(n_users * d);
      item[m].resize(n_items * d);
      for (auto& x : user[m]) x = U(g);
      for (auto& x : item[m]) x = U(g);
    }
    users.resize(B);
    pools.resize(B * K);
    for (auto& u : users) u = static_cast<std::int32_t>(g() % n_users);
    for (auto& p : pools) p = static_cast<std::int32_t>(g() % n_items);
  }
  brmrs::dot_tables<float> tables() const {
    brmrs::dot_tables<float> t;
    for (std::size_t m = 0; m < M; ++m) {
      t.user.emplace_back(user[m].data(), n_users, d);
      t.item.emplace_back(item[m].data(), n_items, d);
    }
    return t;
  }
  brmrs::batch<std::int32_t> make_batch() const {
    brmrs::batch<std::int32_t> b;
    b.users = {users.data(), B};
    b.pools = brmrs::matrix_view<const std::int32_t>(pools.data(), B, K);
    return b;
  }
};

// Per-example scalar reference: hard(b, m) = pools(b, first argmax of the scalar scores).
inline std::vector<std::int32_t> reference(const data& x) {
  std::vector<std::int32_t> out(x.B * x.M);
  std::vector<float> scores(x.M * x.K);
  std::vector<std::size_t> best(x.M);
  std::vector<const float*> ibase(x.M), urow(x.M);
  std::vector<std::size_t> stride(x.M, x.d), dims(x.M, x.d);
  for (std::size_t m = 0; m < x.M; ++m) ibase[m] = x.item[m].data();
  for (std::size_t b = 0; b < x.B; ++b) {
    for (std::size_t m = 0; m < x.M; ++m) urow[m] = x.user[m].data() + static_cast<std::size_t>(x.users[b]) * x.d;
    brmrs::backend::scalar::kernels::select_hard<float, std::int32_t>(
        static_cast<int>(x.M), urow.data(), ibase.data(), stride.data(), dims.data(), x.pools.data() + b * x.K, x.K,
        scores.data(), best.data());
    for (std::size_t m = 0; m < x.M; ++m) out[b * x.M + m] = x.pools[b * x.K + best[m]];
  }
  return out;
}

}  // namespace simd_select_batch_data

#endif  // BRMRS_TESTS_EQUIVALENCE_SIMD_SELECT_BATCH_DATA_HPP
