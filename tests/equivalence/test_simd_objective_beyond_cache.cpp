// test_simd_objective.cpp's checks once more, with the SIMD policy's "in cache" size set to 0
// bytes: every table then counts as beyond the cache, so the objective pipeline takes its other
// phase-1 path (one pass per example over every modality, pool rows prefetched ahead, cross scores
// read back from the pool scores) instead of one selection pass per modality
// (backend/cpu/select_phase.hpp, by_modality). Both paths must agree with the scalar backend and
// be deterministic.
// requires: xsimd
// optional: openmp
#define BRMRS_SIMD_PREFETCH_MIN_BYTES 0

#include "simd_objective_checks.hpp"

static_assert(brmrs::backend::simd::kernels<>::prefetch_min_bytes == 0, "this test needs every table beyond the cache");

TEST_CASE("default_backend is the SIMD backend when xsimd is on", "[simd][objective]") {
  simd_objective_checks::check_default_backend_is_simd();
}

TEST_CASE("simd objective agrees with scalar over odd dimensions", "[simd][objective]") {
  simd_objective_checks::check_agrees_over_odd_dimensions();
}

#if BRMRS_HAS_OPENMP
// Without OpenMP this case is not compiled and ctest reports test_simd_objective_beyond_cache_openmp skipped.
TEST_CASE("simd objective is bitwise identical for any thread count", "[simd][objective][determinism][openmp]") {
  simd_objective_checks::check_bitwise_identical_for_thread_counts();
}
#endif
