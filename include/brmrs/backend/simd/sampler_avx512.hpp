// brmrs/backend/simd/sampler_avx512.hpp — one example's pool draws with AVX-512 intrinsics: the same
// integers as brmrs::detail::sample_pool_row (sampler.hpp), 16 Philox counters (32 slots) per
// pass, in vector registers from the first round to the stored ids.
//
// Why a hand-written kernel: the portable lane loop of sampler.hpp leaves the compiler to
// vectorize the 32x32->64 multiplies (GCC 12 emits the slow 64-bit vpmullq after widening), the
// 128-bit multiply of uniform_below stays scalar, and the rank-select gathers 8 lanes at a time.
// Here:
//   Philox     mulhi by vpmuludq on even and odd lanes, mullo by vpmulld: 16 counters per pass;
//   uniform    floor(x·n / 2^64) for n < 2^32 from two 32x32->64 products per draw:
//              x = xh·2^32 + xl gives floor((xh·n + floor(xl·n / 2^32)) / 2^32), exactly the
//              integer of brmrs::uniform_below (the sum stays below 2^64);
//   rank       c = #{j : o_j - j <= r} by a vector count (small and medium degrees) or a
//              16-lane lockstep binary search (large ones); see small_degree below.
// Preconditions (checked by sample_pools before it calls in): n_items < 2^32, degree < n_items,
// observed strictly increasing, K >= 1. Never throws, never allocates.
// Compiled only when the translation unit targets AVX-512F (BRMRS_SAMPLER_HAS_AVX512 == 1); the
// functions live in namespace detail::avx512, so translation units compiled without it never
// share an inline function with these (sampler.hpp selects the kernel through a template tag).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../config.hpp"
#include "../../rng/philox.hpp"

#if defined(__AVX512F__) && !BRMRS_CUDA_COMPILER
#define BRMRS_SAMPLER_HAS_AVX512 1
#include <immintrin.h>
#else
#define BRMRS_SAMPLER_HAS_AVX512 0
#endif

#if BRMRS_SAMPLER_HAS_AVX512
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_epi32() as the unused merge source, which
// -Wall at -O2/-O3 reports as maybe-uninitialized once inlined (GCC bug 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
BRMRS_BEGIN_NAMESPACE
namespace detail {
namespace avx512 {

// How the rank c = #{j : o_j - j <= r} is found, by degree (measured on Zen 5, one core, a
// 2048 x 64 batch of one user: degree 10 0.12 ms, 64 0.23, 100 0.31, 1000 0.45, 2000 0.57,
// against 0.50-0.93 ms for the portable lane loop):
//   degree <= small_degree: every o_j - j is compared with 16 draws at once (2 instructions per
//     observed item and 16 draws, no memory access per draw);
//   degree <= 16 * max_blocks: two levels: the draws are compared with the first o_j - j of
//     every block of 16, then each draw with the 16 of its block (one masked load);
//   above: a 16-lane lockstep binary search (gathers), nth_unobserved's probe sequence.
constexpr std::uint64_t small_degree = 96;
constexpr std::uint64_t max_blocks = 256;

// The 64-bit products of the low 32 bits of each 64-bit lane (vpmuludq). The zero-masked form:
// GCC 12's _mm512_mul_epu32 passes _mm512_undefined_epi32() through, which -Wall -O3 reports
// as maybe-uninitialized.
inline __m512i mul_even32(__m512i x, __m512i y) noexcept { return _mm512_maskz_mul_epu32(0xFF, x, y); }

// hi and lo halves of m * x for 16 unsigned 32-bit lanes (m broadcast).
inline void mulhilo16(__m512i m, __m512i x, __m512i& hi, __m512i& lo) noexcept {
  const __m512i even = mul_even32(x, m);                         // lanes 0, 2, ... as 64 bits
  const __m512i odd = mul_even32(_mm512_srli_epi64(x, 32), m);  // lanes 1, 3, ...
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  lo = _mm512_mullo_epi32(x, m);
}

// Philox4x32-10 on the 16 counters (a + lane, b, c, d) under `key`: the four output words.
inline void philox16(__m512i& a, __m512i& b, __m512i& c, __m512i& d, philox4x32_key key) noexcept {
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(philox_m0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(philox_m1));
  std::uint32_t k0 = key.v[0], k1 = key.v[1];
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo16(m0, a, hi0, lo0);
    mulhilo16(m1, c, hi1, lo1);
    // a' = hi1 ^ b ^ k0, c' = hi0 ^ d ^ k1 (0x96: three-way xor)
    a = _mm512_ternarylogic_epi32(hi1, b, _mm512_set1_epi32(static_cast<int>(k0)), 0x96);
    c = _mm512_ternarylogic_epi32(hi0, d, _mm512_set1_epi32(static_cast<int>(k1)), 0x96);
    b = lo1;
    d = lo0;
    k0 += philox_w0;
    k1 += philox_w1;
  }
}

// floor(x·n / 2^64) for x = xh·2^32 + xl, per 32-bit lane; n < 2^32 broadcast.
inline __m512i uniform_below16(__m512i xh, __m512i xl, __m512i n) noexcept {
  const __m512i even = _mm512_add_epi64(mul_even32(xh, n), _mm512_srli_epi64(mul_even32(xl, n), 32));
  const __m512i odd = _mm512_add_epi64(mul_even32(_mm512_srli_epi64(xh, 32), n),
                                       _mm512_srli_epi64(mul_even32(_mm512_srli_epi64(xl, 32), n), 32));
  return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// observed[j] for 16 lane indices j, as 32-bit lanes (ids < 2^32).
inline __m512i gather16(const std::int32_t* observed, __m512i j) noexcept {
  return _mm512_i32gather_epi32(j, observed, 4);
}
inline __m512i gather16(const std::int64_t* observed, __m512i j) noexcept {
  const __m256i lo = _mm512_cvtepi64_epi32(_mm512_i32gather_epi64(_mm512_castsi512_si256(j), observed, 8));
  const __m256i hi = _mm512_cvtepi64_epi32(_mm512_i32gather_epi64(_mm512_extracti64x4_epi64(j, 1), observed, 8));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
// c = #{j : observed[j] - j <= r} per lane, by binary search (nth_unobserved's probe sequence).
template <class Id>
inline __m512i rank_search16(const Id* observed, std::uint64_t degree, __m512i r) noexcept {
  __m512i lo = _mm512_setzero_si512();
  for (std::uint64_t n = degree; n > 1;) {
    const std::uint64_t half = n >> 1;
    const __m512i j = _mm512_add_epi32(lo, _mm512_set1_epi32(static_cast<int>(half)));
    const __m512i below = _mm512_sub_epi32(gather16(observed, j), j);  // o_j - j
    lo = _mm512_mask_mov_epi32(lo, _mm512_cmple_epu32_mask(below, r), j);
    n -= half;
  }
  const __m512i last = _mm512_sub_epi32(gather16(observed, lo), lo);
  return _mm512_mask_sub_epi32(lo, _mm512_cmple_epu32_mask(last, r), lo, _mm512_set1_epi32(-1));
}

// observed[j0 .. j0 + 16) - (j0 .. j0 + 15) as 32-bit lanes, lanes at or past `degree` masked off.
inline __m512i below_block16(const std::int32_t* observed, std::uint64_t j0, __mmask16 valid) noexcept {
  const __m512i j = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(j0)),
                                     _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  return _mm512_sub_epi32(_mm512_maskz_loadu_epi32(valid, observed + j0), j);
}
inline __m512i below_block16(const std::int64_t* observed, std::uint64_t j0, __mmask16 valid) noexcept {
  const __m256i lo = _mm512_cvtepi64_epi32(_mm512_maskz_loadu_epi64(static_cast<__mmask8>(valid), observed + j0));
  const __m256i hi = _mm512_cvtepi64_epi32(_mm512_maskz_loadu_epi64(static_cast<__mmask8>(valid >> 8), observed + j0 + 8));
  const __m512i j = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(j0)),
                                     _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  return _mm512_sub_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), j);
}

// Stores 32 ids, interleaved: out[2l] = even lane l, out[2l+1] = odd lane l; only the first
// `count` (<= 32).
template <class Id>
inline void store_interleaved(__m512i even, __m512i odd, Id* out, std::uint64_t count) noexcept {
  const __m512i first = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i second = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  alignas(64) std::uint32_t ids[32];
  _mm512_store_si512(ids, _mm512_permutex2var_epi32(even, first, odd));
  _mm512_store_si512(ids + 16, _mm512_permutex2var_epi32(even, second, odd));
  if constexpr (sizeof(Id) == 4) {
    if (count == 32) {
      _mm512_storeu_si512(out, _mm512_load_si512(ids));
      _mm512_storeu_si512(out + 16, _mm512_load_si512(ids + 16));
      return;
    }
  }
  for (std::uint64_t i = 0; i < count; ++i) out[i] = static_cast<Id>(ids[i]);
}

// c_even / c_odd = per lane, how many of values[0..n) are <= r_even / r_odd (unsigned): each
// value is compared with 32 draws at once.
inline void count_at_most32(const std::uint32_t* values, std::uint64_t n, __m512i r_even, __m512i r_odd,
                            __m512i& c_even, __m512i& c_odd) noexcept {
  const __m512i minus_one = _mm512_set1_epi32(-1);
  c_even = _mm512_setzero_si512();
  c_odd = _mm512_setzero_si512();
  for (std::uint64_t j = 0; j < n; ++j) {
    const __m512i v = _mm512_set1_epi32(static_cast<int>(values[j]));
    c_even = _mm512_mask_sub_epi32(c_even, _mm512_cmple_epu32_mask(v, r_even), c_even, minus_one);
    c_odd = _mm512_mask_sub_epi32(c_odd, _mm512_cmple_epu32_mask(v, r_odd), c_odd, minus_one);
  }
}

// The ranks r (uniform_below of the 64-bit draw, n_free < 2^32) of slots k0 .. k0 + 31: slot
// k0 + 2l in lane l of `even`, slot k0 + 2l + 1 in lane l of `odd`.
inline void draw_ranks32(std::uint64_t k0, std::uint64_t example, std::uint64_t step, philox4x32_key key,
                         __m512i n_free, __m512i& even, __m512i& odd) noexcept {
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  __m512i a = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(k0 >> 1))), lane);
  __m512i b = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(example)));
  __m512i c = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(step)));
  __m512i d = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(step >> 32)));
  philox16(a, b, c, d, key);
  // Slot 2l draws x = (a << 32) | b, slot 2l + 1 draws (c << 32) | d (philox_draw64's layout).
  even = uniform_below16(a, b, n_free);
  odd = uniform_below16(c, d, n_free);
}

// out[0..K) = the ids of sample_pool_row (same integers), for n_items < 2^32. Key is
// std::int32_t or std::int64_t: the observed list viewed as the signed type of its width (ids
// are below n_items, so the bits are the same for an unsigned Id).
template <class Key, class Id>
inline void sample_pool_row_wide(const Key* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                            std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
  const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const __m512i n_free = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(n_items - degree)));
  // The small-degree count compares against o_j - j, computed once per example.
  alignas(64) std::uint32_t below[small_degree];
  const bool small = degree <= small_degree;
  if (small)
    for (std::uint64_t j = 0; j < degree; ++j) below[j] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(observed[j]) - j);
  // Medium degrees: o_j - j at the first item of every block of 16.
  alignas(64) std::uint32_t block_first[max_blocks];
  const std::uint64_t n_blocks = (degree + 15) / 16;
  const bool medium = !small && n_blocks <= max_blocks;
  if (medium)
    for (std::uint64_t t = 0; t < n_blocks; ++t)
      block_first[t] = static_cast<std::uint32_t>(static_cast<std::uint64_t>(observed[16 * t]) - 16 * t);
  for (std::uint64_t k0 = 0; k0 < K; k0 += 32) {
    __m512i r_even, r_odd;
    draw_ranks32(k0, example, step, key, n_free, r_even, r_odd);
    if (small) {
      __m512i c_even, c_odd;
      count_at_most32(below, degree, r_even, r_odd, c_even, c_odd);
      r_even = _mm512_add_epi32(r_even, c_even);
      r_odd = _mm512_add_epi32(r_odd, c_odd);
    } else if (medium) {
      // Level 1: t = #{blocks whose first o_j - j is <= r}, so the last such block holds the
      // boundary; level 2: count inside it with one 16-wide compare.
      const __m512i minus_one = _mm512_set1_epi32(-1);
      __m512i t_even, t_odd;
      count_at_most32(block_first, n_blocks, r_even, r_odd, t_even, t_odd);
      alignas(64) std::uint32_t r[32], t[32];
      _mm512_store_si512(r, r_even);
      _mm512_store_si512(r + 16, r_odd);
      _mm512_store_si512(t, _mm512_max_epi32(_mm512_add_epi32(t_even, minus_one), _mm512_setzero_si512()));
      _mm512_store_si512(t + 16, _mm512_max_epi32(_mm512_add_epi32(t_odd, minus_one), _mm512_setzero_si512()));
      for (int i = 0; i < 32; ++i) {
        const std::uint64_t j0 = std::uint64_t(t[i]) * 16;
        const std::uint64_t left = degree - j0;
        const auto valid = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
        const __mmask16 le = _mm512_mask_cmple_epu32_mask(valid, below_block16(observed, j0, valid),
                                                          _mm512_set1_epi32(static_cast<int>(r[i])));
        r[i] += static_cast<std::uint32_t>(j0) + static_cast<std::uint32_t>(__builtin_popcount(le));
      }
      r_even = _mm512_load_si512(r);
      r_odd = _mm512_load_si512(r + 16);
    } else {
      r_even = _mm512_add_epi32(r_even, rank_search16(observed, degree, r_even));
      r_odd = _mm512_add_epi32(r_odd, rank_search16(observed, degree, r_odd));
    }
    store_interleaved(r_even, r_odd, out + k0, K - k0 < 32 ? K - k0 : 32);
  }
}


// The same for catalogues of at most 65 535 items: ranks, o_j - j and ids all fit 16 bits, so a
// vector holds 32 draws and every comparison covers twice as many. Up to narrow_small_degree
// observed items each is compared with all 32 draws of a pass; above, two levels with blocks of
// 32 (the first o_j - j of every block, then the 32 of the draw's block).
constexpr std::uint64_t narrow_small_degree = 64;
constexpr std::uint64_t narrow_max_degree = 4096;

template <class Key, class Id>
inline void sample_pool_row_narrow(const Key* observed, std::uint64_t degree, std::uint64_t n_items,
                                   std::uint64_t seed, std::uint64_t step, std::uint64_t example, Id* out,
                                   std::uint64_t K) noexcept {
  const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const __m512i n_free = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(n_items - degree)));
  // o_j - j as 16 bits, padded to a whole block with 0xFFFF (above every rank: r < n_free <= 65 535).
  alignas(64) std::uint16_t below[narrow_max_degree + 32];
  for (std::uint64_t j = 0; j < degree; ++j)
    below[j] = static_cast<std::uint16_t>(static_cast<std::uint64_t>(observed[j]) - j);
  const std::uint64_t n_blocks = (degree + 31) / 32;
  for (std::uint64_t j = degree; j < n_blocks * 32; ++j) below[j] = 0xFFFF;
  const bool small = degree <= narrow_small_degree;
  const __m512i minus_one = _mm512_set1_epi16(-1);
  for (std::uint64_t k0 = 0; k0 < K; k0 += 32) {
    __m512i r_even, r_odd;
    draw_ranks32(k0, example, step, key, n_free, r_even, r_odd);
    // 32 ranks as 16-bit lanes; packus interleaves the two inputs per 128-bit lane and the
    // unpacks below undo exactly that.
    const __m512i r = _mm512_packus_epi32(r_even, r_odd);
    __m512i count = _mm512_setzero_si512();
    if (small) {
      for (std::uint64_t j = 0; j < degree; ++j)
        count = _mm512_mask_sub_epi16(count, _mm512_cmple_epu16_mask(_mm512_set1_epi16(static_cast<short>(below[j])), r),
                                      count, minus_one);
    } else {
      __m512i t = _mm512_setzero_si512();
      for (std::uint64_t b = 0; b < n_blocks; ++b)
        t = _mm512_mask_sub_epi16(t, _mm512_cmple_epu16_mask(_mm512_set1_epi16(static_cast<short>(below[32 * b])), r),
                                  t, minus_one);
      // The draw's block: the last one whose first o_j - j is <= r (block 0 when none is).
      t = _mm512_max_epi16(_mm512_add_epi16(t, minus_one), _mm512_setzero_si512());
      alignas(64) std::uint16_t rank[32], block[32], c[32];
      _mm512_store_si512(rank, r);
      _mm512_store_si512(block, t);
      for (int i = 0; i < 32; ++i) {
        const std::uint32_t j0 = 32u * block[i];
        const __m512i v = _mm512_load_si512(below + j0);
        c[i] = static_cast<std::uint16_t>(
            j0 + static_cast<std::uint32_t>(__builtin_popcount(_mm512_cmple_epu16_mask(v, _mm512_set1_epi16(static_cast<short>(rank[i]))))));
      }
      count = _mm512_load_si512(c);
    }
    const __m512i ids = _mm512_add_epi16(r, count);
    store_interleaved(_mm512_unpacklo_epi16(ids, _mm512_setzero_si512()),
                      _mm512_unpackhi_epi16(ids, _mm512_setzero_si512()), out + k0, K - k0 < 32 ? K - k0 : 32);
  }
}

// out[0..K) = the ids of sample_pool_row for n_items < 2^31: the 16-bit kernel where the
// catalogue allows it, the 32-bit one otherwise.
template <class Key, class Id>
inline void sample_pool_row(const Key* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                            std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
  if (n_items <= 65535 && degree <= narrow_max_degree)
    sample_pool_row_narrow(observed, degree, n_items, seed, step, example, out, K);
  else
    sample_pool_row_wide(observed, degree, n_items, seed, step, example, out, K);
}

}  // namespace avx512
}  // namespace detail
BRMRS_END_NAMESPACE
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // BRMRS_SAMPLER_HAS_AVX512
