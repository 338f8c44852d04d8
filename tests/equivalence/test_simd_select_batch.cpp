// backend::simd::select_hard_batch: the batch-level selection (OpenMP over examples, next-example
// prefetch) must equal the per-example scalar reference, be identical for any thread count,
// and validate before writing (a poisoned output stays untouched after a throw).
// requires: xsimd
// optional: openmp
#include <catch2/catch.hpp>

#include <brmrs/config.hpp>

#if !BRMRS_HAS_XSIMD
#error "needs xsimd: tests/CMakeLists.txt builds this test only when xsimd is found"
#endif

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <brmrs/backend/scalar/kernels.hpp>
#include <brmrs/backend/simd/select_batch.hpp>

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

namespace {

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
std::vector<std::int32_t> reference(const data& x) {
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

}  // namespace

TEST_CASE("select_hard_batch equals the per-example scalar selection", "[simd][select_batch]") {
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    INFO("seed " << seed);
    const data x(seed);
    std::vector<std::int32_t> hard(x.B * x.M, -1);
    brmrs::backend::simd::select_hard_batch(x.tables(), x.make_batch(),
                                            brmrs::matrix_view<std::int32_t>(hard.data(), x.B, x.M));
    // Random continuous scores: a near-tie closer than rounding has probability ~1e-6 here.
    CHECK(hard == reference(x));
    std::vector<std::int32_t> hard_scalar(x.B * x.M, -1);
    brmrs::backend::simd::select_hard_batch<brmrs::backend::scalar::kernels>(
        x.tables(), x.make_batch(), brmrs::matrix_view<std::int32_t>(hard_scalar.data(), x.B, x.M));
    CHECK(hard_scalar == reference(x));
  }
}

#if BRMRS_HAS_OPENMP
// Without OpenMP this case is not compiled and ctest reports test_simd_select_batch_openmp skipped.
TEST_CASE("select_hard_batch is identical for any thread count", "[simd][select_batch][determinism][openmp]") {
  const data x(99);
  const int before = omp_get_max_threads();
  std::vector<std::vector<std::int32_t>> runs;
  for (int t : {1, 2, 5}) {
    omp_set_num_threads(t);
    runs.emplace_back(x.B * x.M, -1);
    brmrs::backend::simd::select_hard_batch(x.tables(), x.make_batch(),
                                            brmrs::matrix_view<std::int32_t>(runs.back().data(), x.B, x.M));
  }
  omp_set_num_threads(before);
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] == runs[2]);
}
#endif

TEST_CASE("select_hard_batch validates before writing", "[simd][select_batch][errors]") {
  data x(5);
  std::vector<std::int32_t> hard(x.B * x.M, -77);
  const brmrs::matrix_view<std::int32_t> hv(hard.data(), x.B, x.M);
  SECTION("pool id out of range names the position and the value") {
    x.pools[3 * x.K + 4] = static_cast<std::int32_t>(x.n_items);  // example 3, slot 4
    try {
      brmrs::backend::simd::select_hard_batch(x.tables(), x.make_batch(), hv);
      FAIL("no throw");
    } catch (const brmrs::invalid_argument& e) {
      const std::string w = e.what();
      CHECK(w.find("batch.pools(3, 4) = 90") != std::string::npos);
    }
  }
  SECTION("negative user id") {
    x.users[7] = -1;
    CHECK_THROWS_AS(brmrs::backend::simd::select_hard_batch(x.tables(), x.make_batch(), hv), brmrs::invalid_argument);
  }
#ifdef NDEBUG  // debug builds refuse to construct such a view (matrix_view asserts stride >= cols)
  SECTION("output rows that overlap (stride < M)") {
    CHECK_THROWS_WITH(brmrs::backend::simd::select_hard_batch(
                          x.tables(), x.make_batch(), brmrs::matrix_view<std::int32_t>(hard.data(), x.B, x.M, x.M - 1)),
                      Catch::Contains("hard.stride = 1 is smaller than M = 2"));
  }
#endif
  SECTION("output of the wrong shape") {
    CHECK_THROWS_AS(brmrs::backend::simd::select_hard_batch(
                        x.tables(), x.make_batch(), brmrs::matrix_view<std::int32_t>(hard.data(), x.B, x.M - 1)),
                    brmrs::invalid_argument);
  }
  for (auto h : hard) REQUIRE(h == -77);
}

TEST_CASE("select_hard_batch checks every example's ids, wherever the thread blocks split", "[simd][select_batch][errors]") {
  // The ids are checked inside the parallel loop, one example ahead of the one being scored: a bad
  // id in the first, a middle or the last example, and a user id, must each be found and named
  // for any thread count, with `hard` untouched.
  data x(6);
  const std::size_t B = x.B;
  struct bad_id {
    std::size_t example, slot;  // slot K: the user id
  };
#if BRMRS_HAS_OPENMP
  const int before = omp_get_max_threads();
  for (int t : {1, 2, 3, 7}) {
    omp_set_num_threads(t);
#else
  for (int t : {1}) {
#endif
    for (const bad_id bad : {bad_id{0, 0}, bad_id{B / 2, x.K - 1}, bad_id{B - 1, 5}, bad_id{B - 1, x.K}, bad_id{1, x.K}}) {
      INFO("threads " << t << " example " << bad.example << " slot " << bad.slot);
      data y(6);
      std::vector<std::int32_t> hard(B * y.M, -77);
      std::string expected;
      if (bad.slot == x.K) {
        y.users[bad.example] = static_cast<std::int32_t>(y.n_users);
        expected = "batch.users[" + std::to_string(bad.example) + "] = " + std::to_string(y.n_users);
      } else {
        y.pools[bad.example * y.K + bad.slot] = -3;
        expected = "batch.pools(" + std::to_string(bad.example) + ", " + std::to_string(bad.slot) + ") = -3";
      }
      try {
        brmrs::backend::simd::select_hard_batch(y.tables(), y.make_batch(),
                                                brmrs::matrix_view<std::int32_t>(hard.data(), B, y.M));
        FAIL("no throw");
      } catch (const brmrs::invalid_argument& e) {
        INFO(e.what());
        CHECK(std::string(e.what()).find(expected) != std::string::npos);
      }
      for (auto h : hard) REQUIRE(h == -77);
    }
  }
#if BRMRS_HAS_OPENMP
  omp_set_num_threads(before);
#endif
}

