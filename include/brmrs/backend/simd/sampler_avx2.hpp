// brmrs/backend/simd/sampler_avx2.hpp — one example's pool draws with AVX2 intrinsics, for hosts
// without AVX-512 (x86-64-v3: Haswell and later, Zen): the same integers as
// brmrs::detail::sample_pool_row (sampler.hpp), 8 Philox counters (16 slots) per pass, in vector
// registers from the first round to the stored ids.
//
// The same method as sampler_avx512.hpp at half the width:
//   Philox     mulhi by vpmuludq on even and odd lanes, mullo by vpmulld;
//   uniform    floor(x·n / 2^64) for n < 2^32 from two 32x32->64 products per draw (exactly
//              brmrs::uniform_below);
//   rank       c = #{j : o_j - j <= r} by a vector count (small degrees), a two-level count over
//              blocks of 16 (up to 4 096 observed items) or an 8-lane lockstep binary search
//              with gathers (nth_unobserved's probe sequence); see small_degree below.
// AVX2 has signed 32-bit compares only, so the kernel needs ids below 2^31 (then every rank and
// every o_j - j is a non-negative int32); the caller hands larger catalogues to the portable loop.
// Preconditions (checked by sample_pools before it calls in): n_items < 2^31, degree < n_items,
// observed strictly increasing, K >= 1. Never throws, never allocates.
// Compiled only when the translation unit targets AVX2 (BRMRS_SAMPLER_HAS_AVX2 == 1); namespace
// detail::avx2, so translation units compiled without it share no inline function with these.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../config.hpp"
#include "../../rng/philox.hpp"

#if defined(__AVX2__) && !BRMRS_CUDA_COMPILER
#define BRMRS_SAMPLER_HAS_AVX2 1
#include <immintrin.h>
#else
#define BRMRS_SAMPLER_HAS_AVX2 0
#endif

#if BRMRS_SAMPLER_HAS_AVX2
BRMRS_BEGIN_NAMESPACE
namespace detail {
namespace avx2 {

// How the rank c = #{j : o_j - j <= r} is found, by degree (a W batch of 2048 x 64 on one core of
// an AVX-512 Xeon running the x86-64-v3 build, docs/performance.md):
//   degree <= small_degree: every o_j - j is compared with 8 draws at once (the count alone takes
//     1.1 ms at degree 100 and 8.9 ms at 1 000, so it stops early; 32 is not tuned further);
//   degree <= 16 * max_blocks: two levels: the draws are compared with the first o_j - j of every
//     block of 16, then each draw with the 16 of its block (two loads, one popcount): 0.66 ms at
//     degree 100, 1.4 ms at 1 000;
//   above: an 8-lane lockstep binary search with gathers, slow on AVX2 (1.2 ms at degree 100,
//     2.3 ms at 1 000).
constexpr std::uint64_t small_degree = 32;
constexpr std::uint64_t max_blocks = 256;

// hi and lo halves of m * x for 8 unsigned 32-bit lanes (m broadcast).
inline void mulhilo8(__m256i m, __m256i x, __m256i& hi, __m256i& lo) noexcept {
  const __m256i even = _mm256_mul_epu32(x, m);                         // lanes 0, 2, ... as 64 bits
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);  // lanes 1, 3, ...
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  lo = _mm256_mullo_epi32(x, m);
}

// Philox4x32-10 on the 8 counters (a + lane, b, c, d) under `key`: the four output words.
inline void philox8(__m256i& a, __m256i& b, __m256i& c, __m256i& d, philox4x32_key key) noexcept {
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(philox_m0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(philox_m1));
  std::uint32_t k0 = key.v[0], k1 = key.v[1];
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo8(m0, a, hi0, lo0);
    mulhilo8(m1, c, hi1, lo1);
    a = _mm256_xor_si256(_mm256_xor_si256(hi1, b), _mm256_set1_epi32(static_cast<int>(k0)));
    c = _mm256_xor_si256(_mm256_xor_si256(hi0, d), _mm256_set1_epi32(static_cast<int>(k1)));
    b = lo1;
    d = lo0;
    k0 += philox_w0;
    k1 += philox_w1;
  }
}

// floor(x·n / 2^64) for x = xh·2^32 + xl, per 32-bit lane; n < 2^32 broadcast.
inline __m256i uniform_below8(__m256i xh, __m256i xl, __m256i n) noexcept {
  const __m256i even = _mm256_add_epi64(_mm256_mul_epu32(xh, n), _mm256_srli_epi64(_mm256_mul_epu32(xl, n), 32));
  const __m256i odd =
      _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(xh, 32), n),
                       _mm256_srli_epi64(_mm256_mul_epu32(_mm256_srli_epi64(xl, 32), n), 32));
  return _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// observed[j] for 8 lane indices j, as 32-bit lanes (ids < 2^31).
inline __m256i gather8(const std::int32_t* observed, __m256i j) noexcept {
  return _mm256_i32gather_epi32(observed, j, 4);
}
inline __m256i gather8(const std::int64_t* observed, __m256i j) noexcept {
  const __m256i lo = _mm256_i32gather_epi64(reinterpret_cast<const long long*>(observed), _mm256_castsi256_si128(j), 8);
  const __m256i hi =
      _mm256_i32gather_epi64(reinterpret_cast<const long long*>(observed), _mm256_extracti128_si256(j, 1), 8);
  // The low 32 bits of the four 64-bit lanes of each: elements 0, 2, 4, 6.
  const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  return _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(lo, pick), _mm256_permutevar8x32_epi32(hi, pick),
                                   0x20);
}

// c = #{j : observed[j] - j <= r} per lane, by binary search (nth_unobserved's probe sequence);
// degree >= 1.
template <class Id>
inline __m256i rank_search8(const Id* observed, std::uint64_t degree, __m256i r) noexcept {
  __m256i lo = _mm256_setzero_si256();
  for (std::uint64_t n = degree; n > 1;) {
    const std::uint64_t half = n >> 1;
    const __m256i j = _mm256_add_epi32(lo, _mm256_set1_epi32(static_cast<int>(half)));
    const __m256i above = _mm256_cmpgt_epi32(_mm256_sub_epi32(gather8(observed, j), j), r);  // o_j - j > r
    lo = _mm256_blendv_epi8(j, lo, above);
    n -= half;
  }
  const __m256i above = _mm256_cmpgt_epi32(_mm256_sub_epi32(gather8(observed, lo), lo), r);
  return _mm256_add_epi32(lo, _mm256_add_epi32(_mm256_set1_epi32(1), above));  // lo + 1, or lo when above
}

// c = per lane, how many of values[0], values[stride], ... (n of them, all below 2^31) are <= r:
// n - #{values > r}.
inline __m256i count_at_most8(const std::int32_t* values, std::uint64_t n, std::uint64_t stride, __m256i r) noexcept {
  __m256i above = _mm256_setzero_si256();  // minus the count of values > r
  for (std::uint64_t j = 0; j < n; ++j)
    above = _mm256_add_epi32(above, _mm256_cmpgt_epi32(_mm256_set1_epi32(values[j * stride]), r));
  return _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(n)), above);
}

// The two-level rank of 8 draws r over below[0 .. 16 * n_blocks) (o_j - j, padded with INT32_MAX
// past the degree): t = the last block whose first value is <= r (block 0 when none is), then the
// count inside it.
inline __m256i rank_blocks8(const std::int32_t* below, std::uint64_t n_blocks, __m256i r) noexcept {
  const __m256i t = _mm256_max_epi32(
      _mm256_sub_epi32(count_at_most8(below, n_blocks, 16, r), _mm256_set1_epi32(1)), _mm256_setzero_si256());
  alignas(32) std::int32_t rank[8], block[8], c[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(rank), r);
  _mm256_store_si256(reinterpret_cast<__m256i*>(block), t);
  for (int i = 0; i < 8; ++i) {
    const std::int32_t* v = below + 16 * block[i];
    const __m256i ri = _mm256_set1_epi32(rank[i]);
    const unsigned above =
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(
            _mm256_load_si256(reinterpret_cast<const __m256i*>(v)), ri)))) |
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(
            _mm256_cmpgt_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(v + 8)), ri))))
            << 8;
    c[i] = 16 * block[i] + 16 - __builtin_popcount(above);
  }
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(c));
}

// out[0..K) = the ids of sample_pool_row (same integers), for n_items < 2^31. Key is std::int32_t
// or std::int64_t: the observed list viewed as the signed type of its width.
template <class Key, class Id>
inline void sample_pool_row(const Key* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                            std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
  const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const __m256i n_free = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(n_items - degree)));
  // Up to 16 * max_blocks observed items, o_j - j once per example, padded to a whole block with
  // INT32_MAX (above every rank: r < n_free < 2^31).
  alignas(32) std::int32_t below[16 * max_blocks];
  const std::uint64_t n_blocks = (degree + 15) / 16;
  const bool small = degree <= small_degree, medium = !small && n_blocks <= max_blocks;
  if (small || medium) {
    for (std::uint64_t j = 0; j < degree; ++j)
      below[j] = static_cast<std::int32_t>(static_cast<std::uint64_t>(observed[j]) - j);
    for (std::uint64_t j = degree; j < 16 * n_blocks; ++j) below[j] = 0x7FFFFFFF;
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i b0 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(example)));
  const __m256i c0 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(step)));
  const __m256i d0 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(step >> 32)));
  for (std::uint64_t k0 = 0; k0 < K; k0 += 16) {
    // Counter k0/2 + l serves slots k0 + 2l ((a << 32) | b) and k0 + 2l + 1 ((c << 32) | d),
    // philox_draw64's layout.
    __m256i a = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(k0 >> 1))), lane);
    __m256i b = b0, c = c0, d = d0;
    philox8(a, b, c, d, key);
    __m256i even = uniform_below8(a, b, n_free), odd = uniform_below8(c, d, n_free);
    if (small) {
      even = _mm256_add_epi32(even, count_at_most8(below, degree, 1, even));
      odd = _mm256_add_epi32(odd, count_at_most8(below, degree, 1, odd));
    } else if (medium) {
      even = _mm256_add_epi32(even, rank_blocks8(below, n_blocks, even));
      odd = _mm256_add_epi32(odd, rank_blocks8(below, n_blocks, odd));
    } else {
      even = _mm256_add_epi32(even, rank_search8(observed, degree, even));
      odd = _mm256_add_epi32(odd, rank_search8(observed, degree, odd));
    }
    // Interleave: unpack works per 128-bit half, the permute puts the halves in slot order.
    const __m256i lo = _mm256_unpacklo_epi32(even, odd), hi = _mm256_unpackhi_epi32(even, odd);
    alignas(32) std::int32_t ids[16];
    _mm256_store_si256(reinterpret_cast<__m256i*>(ids), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_store_si256(reinterpret_cast<__m256i*>(ids + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    const std::uint64_t count = K - k0 < 16 ? K - k0 : 16;
    for (std::uint64_t i = 0; i < count; ++i) out[k0 + i] = static_cast<Id>(ids[i]);
  }
}

}  // namespace avx2
}  // namespace detail
BRMRS_END_NAMESPACE
#endif  // BRMRS_SAMPLER_HAS_AVX2
