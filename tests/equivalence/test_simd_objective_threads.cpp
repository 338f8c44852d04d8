// The SIMD objective is bitwise identical for 1, 2 and 3 OpenMP threads
// (simd_objective_checks.hpp); test_simd_objective_beyond_cache_threads.cpp does the same on the
// pipeline's other phase-1 path.
// requires: xsimd openmp
#include "simd_objective_checks.hpp"

TEST_CASE("simd objective is bitwise identical for any thread count", "[simd][objective][determinism]") {
  simd_objective_checks::check_bitwise_identical_for_thread_counts();
}
