// brmrs/backend/simd/example_loss_lanes.hpp — the per-example loss of the objective, one example
// per SIMD lane.
//
//   example_loss_lanes<T, Arch>::run(arrays, b0, n, params)
//
// Evaluates detail::example_loss_and_grad (detail/example_loss.hpp) for the examples
// [b0, b0 + n) of a detail::example_loss_arrays, N = batch<T, Arch>::size examples at a time: the
// same terms and gradients, the same expressions, with every scalar replaced by a batch whose lane
// e is example b + e, branches by selects, and exp / log1p by xsimd's vector functions
// (accurate to about 1 ulp; libm's scalar ones are used elsewhere, so the results agree with
// example_losses to rounding, not bitwise: tests/equivalence/test_simd_loss.cpp). A lane's result
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

template <class T, class Arch>
struct example_loss_lanes {
  using V = xsimd::batch<T, Arch>;
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

  // exp(x) for x <= 0. Below -1e4 (where exp is 0 in float and double alike) the argument is
  // clamped: xsimd 8.1's exp converts x / ln 2 to an integer before its own range select, which
  // is undefined behaviour once that quotient leaves the integer range (found by fuzz_objective).
  static V exp_nonpositive(const V& x) noexcept { return xsimd::exp(xsimd::max(x, V(T(-1e4)))); }

  // detail::softplus_sigmoid lane by lane: e = exp(-|x|), softplus = max(x, 0) + log1p(e),
  // sigmoid = 1 / (1 + e) for x >= 0, e / (1 + e) otherwise.
  static void softplus_sigmoid(const V& x, V& softplus, V& sigmoid) noexcept {
    const V one(T(1));
    const V e = exp_nonpositive(-xsimd::abs(x));
    softplus = xsimd::max(x, V(T(0))) + xsimd::log1p(e);
    sigmoid = xsimd::select(x >= V(T(0)), one / (one + e), e / (one + e));
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
        g_pos[m] = g_neg[m] = zero;
      }
      for (std::size_t q = 0; q < Mz * Mz; ++q) {
        cross[q] = (q / Mz == q % Mz) ? zero : load(a.cross + q * B + bb, n);
        g_cross[q] = zero;
      }
      const V pos_f = load(a.pos_f + bb, n), neg_f = load(a.neg_f + bb, n);

      // Fused BPR.
      const V delta_f = pos_f - neg_f;
      V bpr, sig;
      softplus_sigmoid(-delta_f, bpr, sig);
      V g_delta_f = -V(p.lambda_bpr) * sig;

      // CHNS.
      const T inv_m1 = T(1) / T(M - 1);
      V chns = zero;
      for (int ai = 0; ai < M; ++ai)
        for (int c = 0; c < M; ++c) {
          if (c == ai) continue;
          const std::size_t q = static_cast<std::size_t>(ai * M + c);
          const V x = pos[ai] - cross[q];
          V h_sp, h_sg;
          softplus_sigmoid(-x, h_sp, h_sg);
          chns += h_sp;
          const V w = V(p.lambda_hard * inv_m1) * h_sg;
          g_pos[ai] -= w;
          g_cross[q] = w;
        }
      chns = chns * V(inv_m1);

      // Synergy: the first maximiser of the margins per lane, then x = Δ_f - max - θ.
      V hard_max = pos[0] - neg[0];
      V arg = zero;
      for (int m = 1; m < M; ++m) {
        const V d = pos[m] - neg[m];
        const auto take = d > hard_max;
        hard_max = xsimd::select(take, d, hard_max);
        arg = xsimd::select(take, V(static_cast<T>(m)), arg);
      }
      const auto degraded = delta_f < hard_max;
      V best = hard_max;
      V sum = zero;
      if (p.tau > T(0)) {
        for (int m = 0; m < M; ++m) sum += exp_nonpositive((pos[m] - neg[m] - hard_max) / V(p.tau));
        // log(sum) as log1p(sum - 1): sum is in [1, M] (M <= 4), where sum - 1 is exact. xsimd
        // 8.1's own log does not compile without optimisation on AVX-512 (its generic code selects
        // between integer batches through an intrinsic GCC then defines as a macro).
        best = hard_max + V(p.tau) * xsimd::log1p(sum - V(T(1)));
      }
      const V x = delta_f - best - V(p.theta);
      V syn, sy_sg;
      softplus_sigmoid(-x, syn, sy_sg);
      const V s = V(p.lambda_synergy) * sy_sg;
      g_delta_f -= s;
      if (p.mode == synergy_gradient::through_max) {
        for (int m = 0; m < M; ++m) {
          const V w = p.tau > T(0) ? s * exp_nonpositive((pos[m] - neg[m] - hard_max) / V(p.tau)) / sum
                                   : xsimd::select(arg == V(static_cast<T>(m)), s, zero);
          g_pos[m] += w;
          g_neg[m] -= w;
        }
      }

      const V scale(p.scale);
      store(scale * g_delta_f, a.g_pos_f + bb, n);
      store(-scale * g_delta_f, a.g_neg_f + bb, n);
      for (std::size_t m = 0; m < Mz; ++m) {
        store(g_pos[m] * scale, a.g_pos + m * B + bb, n);
        store(g_neg[m] * scale, a.g_neg + m * B + bb, n);
      }
      for (std::size_t q = 0; q < Mz * Mz; ++q) store(g_cross[q] * scale, a.g_cross + q * B + bb, n);
      store(bpr, a.bpr + bb, n);
      store(chns, a.chns + bb, n);
      store(syn, a.synergy + bb, n);
      alignas(Arch::alignment()) T deg[N];
      xsimd::select(degraded, V(T(1)), zero).store_aligned(deg);
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
