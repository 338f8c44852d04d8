// brmrs/backend/simd/xsimd_compat.hpp — the few xsimd API differences brmrs depends on, in one place.
//
// Debian ships xsimd 8.1.0; later releases renamed or removed some functions brmrs uses:
//   horizontal sum of one batch     8.x: xsimd::hadd(b)      >= 9: xsimd::reduce_add(b)
//   horizontal sums of N batches    8.x-10: xsimd::haddp(p)  >= 11: removed (emulated here)
//   8.1's AVX-512 haddp permutes its float output lanes and trips GCC 12's -Wuninitialized:
//   replaced here by an AVX-512 transpose-reduction of brmrs's own (see avx512_haddp_fold)
// Everything else the SIMD backend needs (batch<T, Arch>, load_unaligned, store_unaligned, fma,
// select, comparisons, default_arch) has the same spelling in 8.1 and later releases.
// Defined here, in brmrs::detail, all templated on the batch type (hence on Arch):
//   is_simd_arch<Arch>         false for xsimd::unavailable (default_arch without SIMD flags)
//   simd_reduce_add(b)         hadd / reduce_add
//   simd_haddp(rows)           lane j = sum of rows[j] (N rows of N lanes)
//   simd_haddp_generate(leaf)  the same over rows computed on demand (no array in memory)
//   simd_haddp_first(row)      lane 0 of simd_haddp with rows[0] = row, bit for bit
//   simd_lane_argmax(v, i, none)  the (highest value, lowest index) lane of running maxima
// Without xsimd (BRMRS_HAS_XSIMD == 0, config.hpp) this header declares nothing. Never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <type_traits>

#include "../../config.hpp"

#if BRMRS_HAS_XSIMD
#include <xsimd/xsimd.hpp>

#ifndef XSIMD_VERSION_MAJOR
#error "brmrs: xsimd did not define XSIMD_VERSION_MAJOR; brmrs needs xsimd >= 8"
#endif

BRMRS_BEGIN_NAMESPACE
namespace detail {

template <class Arch>
inline constexpr bool is_simd_arch =
    !std::is_same_v<Arch, xsimd::unavailable> && !std::is_same_v<Arch, xsimd::unsupported>;

// Sum of the lanes of one batch.
template <class T, class Arch>
inline T simd_reduce_add(const xsimd::batch<T, Arch>& b) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(b);
#else
  return xsimd::hadd(b);
#endif
}

#if XSIMD_WITH_AVX512F
// AVX-512 transpose-reduction. xsimd 8.1's own AVX-512 haddp is not used: for float it returns
// the right sums in the wrong lanes (lane p holds row 0 1 4 5 2 3 6 7 8 9 12 13 10 11 14 15 [p]),
// and GCC 12 flags the _mm512_undefined_ps() operands of its shuffles with -W(maybe-)uninitialized,
// which a pragma cannot silence once the call is not inlined. Here every shuffle takes a full
// write mask and a defined pass-through operand (the same instruction, no undefined operand).
// Combining a and b at half-width h: two 2-source shuffles gather, for both rows, the lower and
// the upper h-lane halves of every 2h-block (t1 = the lower halves of a's and b's blocks, t2 the
// upper ones), so out = t1 + t2 holds every row's lane e + lane e + h, a's and b's rows side by
// side: 128-bit blocks (vshuff32x4 / vshuff64x2) for h >= 4 floats / 2 doubles, in-block
// elements (vshufps / vshufpd) below. log2(L) stages, L - 1 additions and 2(L - 1) shuffles for
// L rows, no mask registers and no merge dependency (the merge-masked single-source form of the
// first version cost a mask set-up and a register copy per fold: 5% of the selection at W,
// measured). Rows land transposed (leaf_lane below), so the reductions feed them in that order.
// Rows never mix, so a zero row leaves the others bit-identical; each row's additions are the
// same as a plain halving fold (lane e + lane e + h, h = L/2, ..., 1).
template <class Batch, int H>
inline Batch avx512_fold(const Batch& a, const Batch& b) noexcept {
  if constexpr (std::is_same_v<typename Batch::value_type, float>) {
    constexpr __mmask16 all = 0xFFFF;
    const __m512 x = a, y = b;
    __m512 t1, t2;
    if constexpr (H == 8) {  // 128-bit blocks [x0 x1 y0 y1] + [x2 x3 y2 y3]
      t1 = _mm512_mask_shuffle_f32x4(x, all, x, y, 0x44);
      t2 = _mm512_mask_shuffle_f32x4(x, all, x, y, 0xEE);
    } else if constexpr (H == 4) {  // [x0 x2 y0 y2] + [x1 x3 y1 y3]
      t1 = _mm512_mask_shuffle_f32x4(x, all, x, y, 0x88);
      t2 = _mm512_mask_shuffle_f32x4(x, all, x, y, 0xDD);
    } else if constexpr (H == 2) {  // in each block [x0 x1 y0 y1] + [x2 x3 y2 y3]
      t1 = _mm512_mask_shuffle_ps(x, all, x, y, 0x44);
      t2 = _mm512_mask_shuffle_ps(x, all, x, y, 0xEE);
    } else {  // [x0 x2 y0 y2] + [x1 x3 y1 y3]
      t1 = _mm512_mask_shuffle_ps(x, all, x, y, 0x88);
      t2 = _mm512_mask_shuffle_ps(x, all, x, y, 0xDD);
    }
    return Batch(_mm512_add_ps(t1, t2));
  } else {
    constexpr __mmask8 all = 0xFF;
    const __m512d x = a, y = b;
    __m512d t1, t2;
    if constexpr (H == 4) {  // 128-bit blocks [x0 x1 y0 y1] + [x2 x3 y2 y3]
      t1 = _mm512_mask_shuffle_f64x2(x, all, x, y, 0x44);
      t2 = _mm512_mask_shuffle_f64x2(x, all, x, y, 0xEE);
    } else if constexpr (H == 2) {  // [x0 x2 y0 y2] + [x1 x3 y1 y3]
      t1 = _mm512_mask_shuffle_f64x2(x, all, x, y, 0x88);
      t2 = _mm512_mask_shuffle_f64x2(x, all, x, y, 0xDD);
    } else {  // in each block [x0 y0] + [x1 y1]
      t1 = _mm512_mask_shuffle_pd(x, all, x, y, 0x00);
      t2 = _mm512_mask_shuffle_pd(x, all, x, y, 0xFF);
    }
    return Batch(_mm512_add_pd(t1, t2));
  }
}

// The lane in which the fold tree leaves leaf i's row (leaves paired (2i, 2i + 1) at every
// stage): a 4 x 4 transpose for 16 floats, lane 2(i mod 4) + i / 4 for 8 doubles. An involution
// for 16 lanes, not for 8; the reductions feed leaf i with row leaf_lane(i), which lands in lane
// leaf_lane(i).
constexpr int leaf_lane(int i, int L) { return L == 16 ? 4 * (i % 4) + i / 4 : 2 * (i % 4) + i / 4; }

template <class Batch, int L>
inline Batch avx512_haddp_fold(const Batch* rows) noexcept {
  Batch v[L];
  for (int i = 0; i < L / 2; ++i)
    v[i] = avx512_fold<Batch, L / 2>(rows[leaf_lane(2 * i, L)], rows[leaf_lane(2 * i + 1, L)]);
  for (int i = 0; i < L / 4; ++i) v[i] = avx512_fold<Batch, L / 4>(v[2 * i], v[2 * i + 1]);
  for (int i = 0; i < L / 8; ++i) v[i] = avx512_fold<Batch, L / 8>(v[2 * i], v[2 * i + 1]);
  if constexpr (L == 16) v[0] = avx512_fold<Batch, 1>(v[0], v[1]);
  return v[0];
}

// The same reduction as a tree over rows produced on demand: leaf(std::integral_constant<int, j>)
// returns row j. Each pair of rows is folded as soon as both exist, so at most log2(L) + 1
// batches are live and nothing goes through memory (an array of L accumulators ends up on the
// stack: 2 extra memory operations per row, measured).
template <class Batch, int L, int Level, int I, class Leaf>
BRMRS_ALWAYS_INLINE Batch avx512_tree(Leaf& leaf) noexcept {
  if constexpr (Level == 0) {
    return leaf(std::integral_constant<int, leaf_lane(I, L)>{});
  } else {
    const Batch a = avx512_tree<Batch, L, Level - 1, 2 * I>(leaf);
    const Batch b = avx512_tree<Batch, L, Level - 1, 2 * I + 1>(leaf);
    return avx512_fold<Batch, (L >> Level)>(a, b);
  }
}
#endif  // XSIMD_WITH_AVX512F

template <class Batch, class Leaf, int... J>
inline void generate_rows(Batch* rows, Leaf& leaf, std::integer_sequence<int, J...>) noexcept {
  ((rows[J] = leaf(std::integral_constant<int, J>{})), ...);
}

// Lane j of the result is the sum of the lanes of rows[j], for j < batch size: the transposed
// reduction that turns one accumulator per candidate into one vector of candidate scores.
template <class T, class Arch>
inline xsimd::batch<T, Arch> simd_haddp(const xsimd::batch<T, Arch>* rows) noexcept {
  using batch_type = xsimd::batch<T, Arch>;
  constexpr std::size_t n = batch_type::size;
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    return avx512_haddp_fold<batch_type, static_cast<int>(n)>(rows);
  } else
#endif
  {
#if XSIMD_VERSION_MAJOR < 11
    (void)n;
    return xsimd::haddp(rows);
#else
    alignas(Arch::alignment()) T sums[n];
    for (std::size_t j = 0; j < n; ++j) sums[j] = xsimd::reduce_add(rows[j]);
    return xsimd::batch<T, Arch>::load_aligned(sums);
#endif
  }
}

// simd_haddp over rows computed on demand: lane j = the lane sum of leaf(integral_constant<j>).
// Same sums, same order as simd_haddp of the same rows; leaves may be evaluated in any order.
template <class T, class Arch, class Leaf>
BRMRS_ALWAYS_INLINE xsimd::batch<T, Arch> simd_haddp_generate(Leaf&& leaf) noexcept {
  using batch_type = xsimd::batch<T, Arch>;
  constexpr int n = static_cast<int>(batch_type::size);
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    return avx512_tree<batch_type, n, n == 16 ? 4 : 3, 0>(leaf);
  } else
#endif
  {
    batch_type rows[n];
    generate_rows(rows, leaf, std::make_integer_sequence<int, n>{});
    return simd_haddp(rows);
  }
}

// The value lane 0 of simd_haddp(rows) takes when rows[0] = row: the sum of one batch's lanes
// in exactly the order simd_haddp sums each row, so a single dot product reproduces the score a
// batched reduction produced, bit for bit. On AVX-512 that order is the halving fold
// (lane e + lane e + h, h = L/2, ..., 1), computed on one vector with a zero partner (in the
// first lanes, rows never mix with their partner, so the zero changes nothing).
template <class T, class Arch>
inline T simd_haddp_first(const xsimd::batch<T, Arch>& row) noexcept {
  using batch_type = xsimd::batch<T, Arch>;
  constexpr std::size_t n = batch_type::size;
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    constexpr int L = static_cast<int>(n);
    const batch_type zero(T(0));
    batch_type v = avx512_fold<batch_type, L / 2>(row, zero);
    v = avx512_fold<batch_type, L / 4>(v, zero);
    v = avx512_fold<batch_type, L / 8>(v, zero);
    if constexpr (L == 16) v = avx512_fold<batch_type, 1>(v, zero);
    return v.get(0);
  } else
#endif
  {
    batch_type rows[n];
    rows[0] = row;
    for (std::size_t j = 1; j < n; ++j) rows[j] = batch_type(T(0));
    alignas(Arch::alignment()) T lanes[n];
    simd_haddp(rows).store_aligned(lanes);
    return lanes[0];
  }
}

// Whether simd_lane_argmax has a vector implementation for (T, Arch).
template <class T, class Arch>
inline constexpr bool simd_has_lane_argmax =
#if XSIMD_WITH_AVX512F
    std::is_base_of_v<xsimd::avx512f, Arch> && (std::is_same_v<T, float> || std::is_same_v<T, double>);
#else
    false;
#endif

#if XSIMD_WITH_AVX512F
// Every lane := the maximum (Min = false) or minimum (Min = true) of all lanes: a butterfly of
// in-register swaps. Every operation is merge-masked with a full mask: GCC 12's unmasked forms
// (and its _mm512_reduce_max_ps) pass _mm512_undefined_*() through and trip
// -Wmaybe-uninitialized, as xsimd 8.1's haddp does.
template <bool Min>
inline __m512 avx512_all_lanes(__m512 v) noexcept {
  constexpr __mmask16 all = 0xFFFF;
  auto op = [](__m512 a, __m512 b) { return Min ? _mm512_mask_min_ps(a, all, a, b) : _mm512_mask_max_ps(a, all, a, b); };
  v = op(v, _mm512_mask_shuffle_f32x4(v, all, v, v, 0x4E));
  v = op(v, _mm512_mask_shuffle_f32x4(v, all, v, v, 0xB1));
  v = op(v, _mm512_mask_permute_ps(v, all, v, 0x4E));
  return op(v, _mm512_mask_permute_ps(v, all, v, 0xB1));
}
template <bool Min>
inline __m512d avx512_all_lanes(__m512d v) noexcept {
  constexpr __mmask8 all = 0xFF;
  auto op = [](__m512d a, __m512d b) { return Min ? _mm512_mask_min_pd(a, all, a, b) : _mm512_mask_max_pd(a, all, a, b); };
  v = op(v, _mm512_mask_shuffle_f64x2(v, all, v, v, 0x4E));
  v = op(v, _mm512_mask_shuffle_f64x2(v, all, v, v, 0xB1));
  return op(v, _mm512_mask_permute_pd(v, all, v, 0x55));
}
#endif

// The winner of per-lane running maxima (value, index): lanes with index < 0 hold no candidate;
// among the others the highest value, then the lowest index (values are never NaN in a lane
// that holds a candidate). Returns `none` when no lane holds one. Branch-free but for that case:
// the lanes' order is data-dependent, and a scalar scan of them mispredicts (measured: 5% of the
// selection at workload W).
template <class T, class Arch>
BRMRS_ALWAYS_INLINE std::size_t simd_lane_argmax(const xsimd::batch<T, Arch>& value,
                                                 const xsimd::batch<T, Arch>& index, std::size_t none) noexcept {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_same_v<T, float>) {
    const __m512 v = value, i = index;
    const __mmask16 valid = _mm512_cmp_ps_mask(i, _mm512_setzero_ps(), _CMP_GE_OQ);
    if (valid == 0) return none;
    const __m512 inf = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    const __m512 top = avx512_all_lanes<false>(_mm512_mask_blend_ps(valid, -inf, v));
    const __mmask16 at_top = _mm512_mask_cmp_ps_mask(valid, v, top, _CMP_EQ_OQ);
    return static_cast<std::size_t>(_mm512_cvtss_f32(avx512_all_lanes<true>(_mm512_mask_blend_ps(at_top, inf, i))));
  } else if constexpr (std::is_same_v<T, double>) {
    const __m512d v = value, i = index;
    const __mmask8 valid = _mm512_cmp_pd_mask(i, _mm512_setzero_pd(), _CMP_GE_OQ);
    if (valid == 0) return none;
    const __m512d inf = _mm512_set1_pd(std::numeric_limits<double>::infinity());
    const __m512d top = avx512_all_lanes<false>(_mm512_mask_blend_pd(valid, -inf, v));
    const __mmask8 at_top = _mm512_mask_cmp_pd_mask(valid, v, top, _CMP_EQ_OQ);
    return static_cast<std::size_t>(_mm512_cvtsd_f64(avx512_all_lanes<true>(_mm512_mask_blend_pd(at_top, inf, i))));
  } else
#endif
  {
    (void)value;
    (void)index;
    return none;
  }
}

}  // namespace detail
BRMRS_END_NAMESPACE

#endif  // BRMRS_HAS_XSIMD
