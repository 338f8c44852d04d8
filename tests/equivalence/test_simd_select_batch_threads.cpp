// backend::simd::select_hard_batch is identical for 1, 2 and 5 OpenMP threads.
// requires: xsimd openmp
#include <catch2/catch.hpp>

#include <omp.h>

#include "simd_select_batch_data.hpp"

using simd_select_batch_data::data;

TEST_CASE("select_hard_batch is identical for any thread count", "[simd][select_batch][determinism]") {
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
