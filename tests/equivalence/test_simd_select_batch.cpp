// backend::simd::select_hard_batch: the batch-level selection (OpenMP over examples, next-example
// prefetch) must equal the per-example scalar reference and validate before writing (a poisoned
// output stays untouched after a throw). Thread-count determinism: test_simd_select_batch_threads.cpp.
// requires: xsimd
#include <catch2/catch.hpp>

#include "simd_select_batch_data.hpp"

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

using simd_select_batch_data::data;
using simd_select_batch_data::reference;

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
