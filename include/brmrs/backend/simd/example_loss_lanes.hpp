// brmrs/backend/simd/example_loss_lanes.hpp — the per-example loss of the objective, one example
// per SIMD lane.
//
//   example_loss_lanes<T, Arch>::run(arrays, b0, n, params)
//
// Evaluates detail::lanes_example_loss_and_grad (detail/example_loss.hpp, the one definition of the
// loss) for the examples [b0, b0 + n) of a detail::example_loss_arrays, N = batch<T, Arch>::size
// examples at a time, with the lane type batch_lanes<T, Arch>: every scalar a batch whose lane e
// is example b + e, branches selects, exp / log1p xsimd's vector functions (accurate to about
// 1 ulp; libm's scalar ones are used elsewhere, so the results agree with example_losses to
// rounding, not bitwise: tests/equivalence/test_simd_example_loss_lanes.cpp). A lane's result
// depends only on its own example, so it is the same in a full batch and in the padded last one:
// bitwise deterministic for any split of a batch into blocks (any thread count).
// Why: one example's loss is M² - M + 2 exp/log1p pairs on a single dependency chain; evaluated
// after each example's selection, it stalled the pipeline and cost more than a tenth of the
// objective at workload W (docs/performance.md). Here N examples share each exp and log1p.
// Supports M <= max_modalities (the pipeline evaluates larger M with the scalar function).
// Never throws, never allocates.
#pragma once

#include <cstddef>
#include <limits>

#include "../../config.hpp"
#include "../../detail/example_loss.hpp"
#include "xsimd_compat.hpp"

#if BRMRS_HAS_XSIMD

// xsimd 8.1's AVX-512 exp / log1p build their vectors with intrinsics whose GCC 12
// definitions pass _mm512_undefined_*() through, which -Wmaybe-uninitialized reports once they are
// inlined here (the values are fully defined: every lane is overwritten). GCC checks the pragma
// state along the inlining chain, so ignoring the warning for this header's code silences exactly
// those reports.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace simd {

// The lane vocabulary of detail/math.hpp for an xsimd batch: lane e of every value is example
// b + e of the block.
template <class T, class Arch>
struct batch_lanes {
  using V = xsimd::batch<T, Arch>;
  using scalar = T;
  using mask = xsimd::batch_bool<T, Arch>;
  // exp(x) for x <= 0. Below -1e4 (where exp is 0 in float and double alike) the argument is
  // clamped: xsimd 8.1's exp converts x / ln 2 to an integer before its own range select, which
  // is undefined behaviour once that quotient leaves the integer range (found by fuzz_objective).
  static V exp_nonpositive(const V& x) noexcept { return xsimd::exp(xsimd::max(x, V(T(-1e4)))); }
  static V log1p(const V& x) noexcept { return xsimd::log1p(x); }
  static V abs(const V& x) noexcept { return xsimd::abs(x); }
  static V relu(const V& x) noexcept { return xsimd::max(x, V(T(0))); }
  static V select(const mask& c, const V& a, const V& b) noexcept { return xsimd::select(c, a, b); }
};

template <class T, class Arch>
struct example_loss_lanes {
  using L = batch_lanes<T, Arch>;
  using V = typename L::V;
  static constexpr std::size_t N = V::size;
  static constexpr int max_modalities = 4;

  // Loads lanes b0 .. b0 + n - 1 of one quantity (n <= N); absent lanes read 0.
  static V load(const T* q, std::size_t n) noexcept {
    if (n == N) return V::load_unaligned(q);
    alignas(Arch::alignment()) T tmp[N] = {};
    for (std::size_t e = 0; e < n; ++e) tmp[e] = q[e];
    return V::load_aligned(tmp);
  }
  static void store(const V& v, T* q, std::size_t n) noexcept {
    if (n == N) return v.store_unaligned(q);
    alignas(Arch::alignment()) T tmp[N];
    v.store_aligned(tmp);
    for (std::size_t e = 0; e < n; ++e) q[e] = tmp[e];
  }

  static void run(const detail::example_loss_arrays<T>& a, std::size_t b0, std::size_t n_total,
                  const detail::example_loss_params<T>& p) noexcept {
    BRMRS_ASSERT(a.M >= 2 && a.M <= max_modalities);
    const int M = a.M;
    const std::size_t B = a.B;
    const std::size_t Mz = static_cast<std::size_t>(M);
    const V zero(T(0));
    for (std::size_t bb = b0; bb < b0 + n_total; bb += N) {
      const std::size_t n = b0 + n_total - bb < N ? b0 + n_total - bb : N;
      V pos[max_modalities], neg[max_modalities], g_pos[max_modalities], g_neg[max_modalities];
      V cross[max_modalities * max_modalities], g_cross[max_modalities * max_modalities];
      for (std::size_t m = 0; m < Mz; ++m) {
        pos[m] = load(a.pos + m * B + bb, n);
        neg[m] = load(a.neg + m * B + bb, n);
      }
      for (std::size_t q = 0; q < Mz * Mz; ++q) cross[q] = (q / Mz == q % Mz) ? zero : load(a.cross + q * B + bb, n);
      V g_pos_f, g_neg_f;
      const detail::lane_terms<L> t = detail::lanes_example_loss_and_grad<L>(
          M, pos, neg, load(a.pos_f + bb, n), load(a.neg_f + bb, n), cross, p, g_pos, g_neg, g_pos_f, g_neg_f, g_cross);
      store(g_pos_f, a.g_pos_f + bb, n);
      store(g_neg_f, a.g_neg_f + bb, n);
      for (std::size_t m = 0; m < Mz; ++m) {
        store(g_pos[m], a.g_pos + m * B + bb, n);
        store(g_neg[m], a.g_neg + m * B + bb, n);
      }
      for (std::size_t q = 0; q < Mz * Mz; ++q) store(g_cross[q], a.g_cross + q * B + bb, n);
      store(t.bpr, a.bpr + bb, n);
      store(t.chns, a.chns + bb, n);
      store(t.synergy, a.synergy + bb, n);
      alignas(Arch::alignment()) T deg[N];
      xsimd::select(t.degraded, V(T(1)), zero).store_aligned(deg);
      for (std::size_t e = 0; e < n; ++e) a.degraded[bb + e] = deg[e] != T(0) ? 1 : 0;
    }
  }
};

}  // namespace simd
}  // namespace backend
BRMRS_END_NAMESPACE

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // BRMRS_HAS_XSIMD
