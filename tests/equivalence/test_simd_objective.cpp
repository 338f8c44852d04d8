// Equivalence of compute_objective on simd_backend<xsimd::default_arch> with scalar_backend: the
// loss parts, the diagnostics, the hard negatives (by chosen score) and every gradient row, over
// d in {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 128}, M in {2, 3}, float and double, at a
// tolerance scaled by d (simd_objective_checks.hpp). Also: the default backend is the SIMD one
// when xsimd is on, and the SIMD objective is bitwise identical for 1, 2 and 3 OpenMP threads.
// requires: xsimd
// optional: openmp
#include "simd_objective_checks.hpp"

TEST_CASE("default_backend is the SIMD backend when xsimd is on", "[simd][objective]") {
  simd_objective_checks::check_default_backend_is_simd();
}

TEST_CASE("simd objective agrees with scalar over odd dimensions", "[simd][objective]") {
  simd_objective_checks::check_agrees_over_odd_dimensions();
}

#if BRMRS_HAS_OPENMP
// Without OpenMP this case is not compiled and ctest reports test_simd_objective_openmp skipped.
TEST_CASE("simd objective is bitwise identical for any thread count", "[simd][objective][determinism][openmp]") {
  simd_objective_checks::check_bitwise_identical_for_thread_counts();
}
#endif
