// test_simd_objective_threads.cpp on the pipeline's beyond-the-cache phase-1 path (see
// test_simd_objective_beyond_cache.cpp): bitwise identical for 1, 2 and 3 OpenMP threads.
// requires: xsimd openmp
#define BRMRS_SIMD_PREFETCH_MIN_BYTES 0

#include "simd_objective_checks.hpp"

static_assert(brmrs::backend::simd::kernels<>::prefetch_min_bytes == 0, "this test needs every table beyond the cache");

TEST_CASE("simd objective is bitwise identical for any thread count", "[simd][objective][determinism]") {
  simd_objective_checks::check_bitwise_identical_for_thread_counts();
}
