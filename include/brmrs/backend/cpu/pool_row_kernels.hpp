// brmrs/backend/cpu/pool_row_kernels.hpp — the CPU kernels of sample_pools (sampler.hpp): one
// example's pool by the portable lane loop (32 slots per pass) or, in translation units compiled
// for AVX-512F or AVX2, by backend/simd/sampler_avx512.hpp or sampler_avx2.hpp; all write the same
// bits as detail::sample_pool_row. Also the prefetch of a user's observed row (a hint only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../../config.hpp"
#include "../../detail/sample_pool_row.hpp"
#include "../../rng/philox.hpp"
#include "../../unobserved_draw.hpp"
#include "../simd/sampler_avx2.hpp"
#include "../simd/sampler_avx512.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// --- CPU path ---------------------------------------------------------------------------
// The same function as sample_pool_row, restructured for a CPU core: slots are handled in
// chunks of 2 * sampler_lanes. Philox runs on sampler_lanes counters at once, written lane-wise
// so the compiler vectorizes the 32x32->64 multiplies; the chunk's binary searches run in
// lockstep (they share the list and its length, so the halving sequence is the same for every
// lane), which keeps many independent loads in flight instead of one dependent chain per draw.
// Both steps compute exactly the integers of the scalar definition, so the output is bitwise
// the same (tests compare against a literal implementation of the draw).
constexpr std::size_t sampler_lanes = 16;

// x[2l] and x[2l+1] = the draws of slots 2(j0+l) and 2(j0+l)+1 (philox_draw64's layout).
inline void philox_draw64_lanes(std::uint32_t j0, std::uint64_t example, std::uint64_t step,
                                philox4x32_key key, std::uint64_t* x) noexcept {
  // One lane per loop iteration with the 10 rounds unrolled inside: straight-line code the loop
  // vectorizer maps onto vector multiplies (vpmuludq), one lane per 64-bit element.
  for (std::size_t l = 0; l < sampler_lanes; ++l) {
    std::uint32_t a = j0 + static_cast<std::uint32_t>(l), b = static_cast<std::uint32_t>(example);
    std::uint32_t c = static_cast<std::uint32_t>(step), d = static_cast<std::uint32_t>(step >> 32);
    std::uint32_t k0 = key.v[0], k1 = key.v[1];
#if defined(__GNUC__) && !defined(__clang__) && !BRMRS_CUDA_COMPILER
#pragma GCC unroll 10
#endif
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(philox_m0) * a;
      const std::uint64_t p1 = static_cast<std::uint64_t>(philox_m1) * c;
      a = static_cast<std::uint32_t>(p1 >> 32) ^ b ^ k0;
      b = static_cast<std::uint32_t>(p1);
      c = static_cast<std::uint32_t>(p0 >> 32) ^ d ^ k1;
      d = static_cast<std::uint32_t>(p0);
      k0 += philox_w0;  // the bump after the last round is unused
      k1 += philox_w1;
    }
    x[2 * l] = (static_cast<std::uint64_t>(a) << 32) | b;
    x[2 * l + 1] = (static_cast<std::uint64_t>(c) << 32) | d;
  }
}

// r[i] <- nth_unobserved(observed, degree, r[i]) for i < 2 * sampler_lanes, in lockstep: the
// same search, lane by lane, so the compiler turns the probes into vector gathers.
template <class Id>
inline void nth_unobserved_lanes(const Id* observed, std::uint64_t degree, std::uint64_t* r) noexcept {
  constexpr std::size_t N = 2 * sampler_lanes;
  if (degree == 0) return;
  std::uint64_t lo[N] = {};
  for (std::uint64_t n = degree; n > 1;) {
    const std::uint64_t half = n >> 1;
    for (std::size_t i = 0; i < N; ++i) {
      const std::uint64_t j = lo[i] + half;
      lo[i] = static_cast<std::uint64_t>(observed[j]) - j <= r[i] ? j : lo[i];
    }
    n -= half;
  }
  for (std::size_t i = 0; i < N; ++i)
    r[i] += lo[i] + (static_cast<std::uint64_t>(observed[lo[i]]) - lo[i] <= r[i] ? 1u : 0u);
}

// Which CPU kernel draws a row. A template argument of sample_pools, defaulted from the
// translation unit's target, so translation units compiled for different instruction sets
// instantiate different functions (no ODR clash between a -mavx512f and a generic one).
struct sampler_portable {};  // the lane loop above: any target, vectorized by the compiler
struct sampler_avx2 {};      // backend/simd/sampler_avx2.hpp: needs AVX2 at compile time
struct sampler_avx512 {};    // backend/simd/sampler_avx512.hpp: needs AVX-512F at compile time
#if BRMRS_SAMPLER_HAS_AVX512
using sampler_default_isa = sampler_avx512;
#elif BRMRS_SAMPLER_HAS_AVX2
using sampler_default_isa = sampler_avx2;
#else
using sampler_default_isa = sampler_portable;
#endif

template <class Isa>
struct pool_row_kernel;

template <>
struct pool_row_kernel<sampler_portable> {
  template <class Id>
  static void draw(const Id* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                   std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
    constexpr std::size_t N = 2 * sampler_lanes;
    if (K < N / 2) {  // a chunk would compute mostly unused lanes
      sample_pool_row(observed, degree, n_items, seed, step, example, out, K, static_cast<Id*>(nullptr),
                      negative_source::pool_member);
      return;
    }
    const std::uint64_t n_free = n_items - degree;
    const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
    std::uint64_t x[N];
    for (std::uint64_t k0 = 0; k0 < K; k0 += N) {
      philox_draw64_lanes(static_cast<std::uint32_t>(k0 >> 1), example, step, key, x);
      for (std::size_t i = 0; i < N; ++i) x[i] = uniform_below(x[i], n_free);
      nth_unobserved_lanes(observed, degree, x);
      const std::uint64_t m = K - k0 < N ? K - k0 : N;
      for (std::uint64_t i = 0; i < m; ++i) out[k0 + i] = static_cast<Id>(x[i]);
    }
  }
};

// The vector kernels work in 32-bit lanes (signed compares, signed gather indices): ids below
// 2^31, 32- or 64-bit. `row` is the kernel's sample_pool_row, called with the observed list viewed
// as the signed type of its width (the ids are below n_items, so the bits are the same); other
// catalogues and id widths take the portable loop.
template <class Id, class VectorRow>
inline void draw_vector_or_portable(VectorRow row, const Id* observed, std::uint64_t degree, std::uint64_t n_items,
                                    std::uint64_t seed, std::uint64_t step, std::uint64_t example, Id* out,
                                    std::uint64_t K) noexcept {
  if constexpr (sizeof(Id) == 4 || sizeof(Id) == 8) {
    if (n_items < (std::uint64_t(1) << 31)) {
      using Key = std::conditional_t<sizeof(Id) == 4, std::int32_t, std::int64_t>;
      row(reinterpret_cast<const Key*>(observed), degree, n_items, seed, step, example, out, K);
      return;
    }
  }
  pool_row_kernel<sampler_portable>::draw(observed, degree, n_items, seed, step, example, out, K);
}

#if BRMRS_SAMPLER_HAS_AVX512
template <>
struct pool_row_kernel<sampler_avx512> {
  template <class Id>
  static void draw(const Id* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                   std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
    draw_vector_or_portable([](const auto* o, auto... a) noexcept { avx512::sample_pool_row(o, a...); }, observed,
                            degree, n_items, seed, step, example, out, K);
  }
};
#endif

#if BRMRS_SAMPLER_HAS_AVX2
template <>
struct pool_row_kernel<sampler_avx2> {
  template <class Id>
  static void draw(const Id* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                   std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
    draw_vector_or_portable([](const auto* o, auto... a) noexcept { avx2::sample_pool_row(o, a...); }, observed,
                            degree, n_items, seed, step, example, out, K);
  }
};
#endif

// One example: its pool by the kernel Isa, then the negative (identical for every kernel).
template <class Isa, class Id>
inline void sample_pool_row_cpu(const Id* observed, std::uint64_t degree, std::uint64_t n_items,
                                std::uint64_t seed, std::uint64_t step, std::uint64_t example, Id* out,
                                std::uint64_t K, Id* negative, negative_source source) noexcept {
  pool_row_kernel<Isa>::draw(observed, degree, n_items, seed, step, example, out, K);
  if (negative != nullptr) {
    *negative = source == negative_source::pool_member
                    ? out[pool_negative_slot(seed, step, example, K)]
                    : static_cast<Id>(draw_unobserved(observed, degree, n_items, seed, step, example, K));
  }
}

// Requests the cache lines of a user's observed row ahead of its draws: the K binary searches
// of one example touch most lines of a row up to a few KB (at degree 1 000, a 4 KB row, cold in
// a store that does not fit in cache), so asking for all of them one or two examples early
// overlaps those misses with the current example's work. Rows above sampler_prefetch_max_bytes
// are left alone (the searches touch only a fraction of their lines). A hint only: no output
// depends on it.
constexpr std::size_t sampler_prefetch_max_bytes = 16384;
constexpr std::size_t sampler_prefetch_distance = 2;  // examples ahead

template <class Id>
inline void prefetch_observed_row(const Id* row, std::uint64_t degree) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  const std::uint64_t bytes = degree * sizeof(Id);
  if (bytes == 0 || bytes > sampler_prefetch_max_bytes) return;
  const auto first = reinterpret_cast<std::uintptr_t>(row) & ~std::uintptr_t(63);
  const auto end = reinterpret_cast<std::uintptr_t>(row) + static_cast<std::uintptr_t>(bytes);
  for (std::uintptr_t a = first; a < end; a += 64) __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 3);
#else
  (void)row;
  (void)degree;
#endif
}

}  // namespace detail
BRMRS_END_NAMESPACE
