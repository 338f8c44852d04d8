// brmrs/detail/example_loss.hpp — one example's loss terms and their derivatives with respect to
// its scores: the arithmetic of every backend (scalar and CUDA with T, SIMD with one example per
// lane of an xsimd batch: backend/simd/example_loss_lanes.hpp) and of the score-level losses.
//
// Inputs for one example with M >= 2 modalities (DESIGN.md §1):
//   pos[m]  = s_m(u, i+),  neg[m] = s_m(u, i-)          m = 0..M-1
//   pos_f   = s_f(u, i+),  neg_f  = s_f(u, i-)          the fused representation
//   cross[a*M + c] = s_a(u, j^c)                        modality a's score of modality c's hard
//                                                       negative (the diagonal is not read)
// Terms (unweighted, as defined in docs/math.md):
//   bpr     = softplus(-(pos_f - neg_f))
//   chns    = sum_a 1/(M-1) sum_{c != a} softplus(s_a(u, j^c) - s_a(u, i+))
//   synergy = softplus(-x), x = Δ_f - max_m Δ_m - θ  (max_m replaced by τ·logsumexp(Δ/τ) when τ > 0)
// Gradients written are of scale * (λ_bpr·bpr + λ_h·chns + λ_s·synergy) with respect to each
// score; `scale` carries the reduction (1/B for mean, 1 for sum). g_cross's diagonal is set to 0.
// Under synergy_gradient::stop_unimodal the unimodal margins get no synergy gradient (the
// published method); under through_max the first maximiser m* (or every m, weighted by
// softmax(Δ/τ), when τ > 0) gets +σ(-x) through Δ_m.
// Cost: O(M^2) operations and M^2 - M + 2 softplus/sigmoid pairs (one exp and one log1p each,
// detail::softplus_sigmoid). Never throws.
// Written once: the terms below are templates over a lane type L (detail/math.hpp), instantiated
// with scalar_lanes<T> here and for CUDA, with an xsimd batch by the SIMD backend, and called with
// scalars by the score-level losses (losses/bpr.hpp, chns.hpp, synergy.hpp).
#pragma once

#include <cmath>
#include <cstddef>

#include "../config.hpp"
#include "../objective_types.hpp"  // synergy_gradient
#include "math.hpp"

BRMRS_BEGIN_NAMESPACE

namespace detail {

template <class T>
struct example_loss_params {
  T lambda_bpr, lambda_hard, lambda_synergy;  // already validated >= 0
  T theta;                                    // > 0
  T tau;                                      // 0: hard max; > 0: smooth max temperature
  T scale;                                    // 1/B for mean reduction, 1 for sum
  synergy_gradient mode;
};

// Every term is the logistic loss of a margin x: softplus(-x) = -log σ(x), with slope
// d/dx = -σ(-x); margin_loss returns {softplus(-x), σ(-x)} from one exp (detail/math.hpp). The fused
// BPR term is margin_loss(Δ_f), each CHNS pair margin_loss(s_a(i+) - s_a(j^c)), the synergy term
// margin_loss(Δ_f - best - θ).
template <class L>
BRMRS_HD inline softplus_sigmoid_pair<typename L::V> lanes_margin_loss(typename L::V x) {
  return lanes_softplus_sigmoid<L>(-x);
}
template <class T>
BRMRS_HD inline softplus_sigmoid_pair<T> margin_loss(T x) {
  return lanes_margin_loss<scalar_lanes<T>>(x);
}

// The synergy term of one example: the margins Δ_m = pos[m] - neg[m], their maximum (the FIRST
// maximiser on ties; the smooth max max + τ·log Σ exp((Δ_m - max)/τ) when τ > 0, never
// overflowing), x = Δ_f - best - θ, loss softplus(-x), slope σ(-x) = -dloss/dΔ_f. degraded:
// Δ_f < max_m Δ_m. log Σ is taken as log1p(Σ - 1): Σ >= 1 (the maximiser's own term is 1), where
// Σ - 1 is exact, and xsimd 8.1's vector log does not compile without optimisation on AVX-512.
template <class L>
struct synergy_term {
  typename L::V loss, slope;
  typename L::V hard_max, arg, sum;  // max_m Δ_m, its first maximiser m (as a value), Σ (τ > 0)
  typename L::mask degraded;
};
template <class L>
BRMRS_HD inline synergy_term<L> lanes_synergy(int M, const typename L::V* pos, const typename L::V* neg,
                                              typename L::V delta_f, typename L::scalar theta,
                                              typename L::scalar tau) {
  using V = typename L::V;
  using T = typename L::scalar;
  synergy_term<L> t{};
  t.hard_max = pos[0] - neg[0];
  t.arg = V(T(0));
  for (int m = 1; m < M; ++m) {
    const V d = pos[m] - neg[m];
    const auto take = d > t.hard_max;
    t.hard_max = L::select(take, d, t.hard_max);
    t.arg = L::select(take, V(static_cast<T>(m)), t.arg);
  }
  t.degraded = delta_f < t.hard_max;
  V best = t.hard_max;
  t.sum = V(T(0));
  if (tau > T(0)) {
    for (int m = 0; m < M; ++m) t.sum += L::exp_nonpositive((pos[m] - neg[m] - t.hard_max) / V(tau));
    best = t.hard_max + V(tau) * L::log1p(t.sum - V(T(1)));
  }
  const softplus_sigmoid_pair<V> sp = lanes_margin_loss<L>(delta_f - best - V(theta));
  t.loss = sp.softplus;
  t.slope = sp.sigmoid;
  return t;
}

// The weight w_m of margin m in the maximum, for synergy_gradient::through_max: dloss/dΔ_m =
// slope·w_m, w = one-hot of the first maximiser (τ = 0) or softmax(Δ/τ) (τ > 0).
template <class L>
BRMRS_HD inline typename L::V lanes_synergy_max_weight(const synergy_term<L>& t, int m, typename L::V delta_m,
                                                       typename L::scalar tau) {
  using V = typename L::V;
  using T = typename L::scalar;
  if (tau > T(0)) return L::exp_nonpositive((delta_m - t.hard_max) / V(tau)) / t.sum;
  return L::select(t.arg == V(static_cast<T>(m)), V(T(1)), V(T(0)));
}

// One example's three terms (and whether its fusion is degraded), lanes of L at once.
template <class L>
struct lane_terms {
  typename L::V bpr, chns, synergy;
  typename L::mask degraded;
};
template <class T>
using example_terms = lane_terms<scalar_lanes<T>>;

// The whole per-example loss, written once over the lane type L: scalar_lanes<T> (the scalar and
// CUDA backends, example_loss_and_grad below) or an xsimd batch, one example per lane (the SIMD
// backend, backend/simd/example_loss_lanes.hpp). Arrays as in the header comment, of V.
template <class L>
BRMRS_HD inline lane_terms<L> lanes_example_loss_and_grad(
    int M, const typename L::V* pos, const typename L::V* neg, typename L::V pos_f, typename L::V neg_f,
    const typename L::V* cross, const example_loss_params<typename L::scalar>& p, typename L::V* g_pos,
    typename L::V* g_neg, typename L::V& g_pos_f, typename L::V& g_neg_f, typename L::V* g_cross) {
  using V = typename L::V;
  using T = typename L::scalar;
  const V zero(T(0));
  lane_terms<L> t{};
  for (int m = 0; m < M; ++m) g_pos[m] = g_neg[m] = zero;
  for (int i = 0; i < M * M; ++i) g_cross[i] = zero;

  // Fused BPR: dloss/dΔ_f = -σ(-Δ_f).
  const V delta_f = pos_f - neg_f;
  const softplus_sigmoid_pair<V> f = lanes_margin_loss<L>(delta_f);
  t.bpr = f.softplus;
  V g_delta_f = -V(p.lambda_bpr) * f.sigmoid;

  // CHNS: x = s_a(i+) - s_a(j^c), d/ds_a(i+) = -σ(-x)/(M-1), d/ds_a(j^c) = +σ(-x)/(M-1).
  const T inv_m1 = T(1) / T(M - 1);
  V chns = zero;
  for (int a = 0; a < M; ++a)
    for (int c = 0; c < M; ++c) {
      if (c == a) continue;
      const softplus_sigmoid_pair<V> h = lanes_margin_loss<L>(pos[a] - cross[a * M + c]);
      chns += h.softplus;
      const V w = V(p.lambda_hard * inv_m1) * h.sigmoid;
      g_pos[a] -= w;
      g_cross[a * M + c] = w;
    }
  t.chns = chns * V(inv_m1);

  // Synergy: dloss/dΔ_f = -σ(-x); through the maximum only under through_max.
  const synergy_term<L> sy = lanes_synergy<L>(M, pos, neg, delta_f, p.theta, p.tau);
  t.synergy = sy.loss;
  t.degraded = sy.degraded;
  const V s = V(p.lambda_synergy) * sy.slope;
  g_delta_f -= s;
  if (p.mode == synergy_gradient::through_max)
    for (int m = 0; m < M; ++m) {
      const V w = s * lanes_synergy_max_weight<L>(sy, m, pos[m] - neg[m], p.tau);
      g_pos[m] += w;
      g_neg[m] -= w;
    }

  const V scale(p.scale);
  g_pos_f = scale * g_delta_f;
  g_neg_f = -scale * g_delta_f;
  for (int m = 0; m < M; ++m) {
    g_pos[m] *= scale;
    g_neg[m] *= scale;
  }
  for (int i = 0; i < M * M; ++i) g_cross[i] *= scale;
  return t;
}

// The scalar instance: one example (the scalar backend's loss phase and the CUDA kernels).
template <class T>
BRMRS_HD inline example_terms<T> example_loss_and_grad(int M, const T* pos, const T* neg, T pos_f, T neg_f,
                                                       const T* cross, const example_loss_params<T>& p,
                                                       T* g_pos, T* g_neg, T& g_pos_f, T& g_neg_f,
                                                       T* g_cross) {
  return lanes_example_loss_and_grad<scalar_lanes<T>>(M, pos, neg, pos_f, neg_f, cross, p, g_pos, g_neg, g_pos_f,
                                                      g_neg_f, g_cross);
}

// The losses of a whole batch, structure of arrays (the CPU pipeline's phase 1 fills the inputs,
// then evaluates examples in blocks: example_losses below, or a policy's vectorised version).
// Every array is quantity-major: element (q, b) at [q*B + b], so a block of consecutive examples
// of one quantity is contiguous (a SIMD batch load).
//   inputs   pos, neg: q = m (M·B);  cross: q = a*M + c (M·M·B, diagonal unused);  pos_f, neg_f: B
//   outputs  g_pos, g_neg, g_cross, g_pos_f, g_neg_f: the gradients of example_loss_and_grad, same
//            layouts;  bpr, chns, synergy: the unweighted terms (B);  degraded: 0 / 1 (B)
template <class T>
struct example_loss_arrays {
  std::size_t B = 0;
  int M = 0;
  const T *pos = nullptr, *neg = nullptr, *cross = nullptr, *pos_f = nullptr, *neg_f = nullptr;
  T *g_pos = nullptr, *g_neg = nullptr, *g_cross = nullptr, *g_pos_f = nullptr, *g_neg_f = nullptr;
  T *bpr = nullptr, *chns = nullptr, *synergy = nullptr;
  unsigned char* degraded = nullptr;
};

// example_loss_and_grad for examples [b0, b0 + n), one at a time. work: 2M + M² + 2M + M² values
// of scratch (the example's inputs and gradients gathered contiguously).
template <class T>
inline void example_losses(const example_loss_arrays<T>& a, std::size_t b0, std::size_t n,
                           const example_loss_params<T>& p, T* work) {
  const std::size_t M = static_cast<std::size_t>(a.M), B = a.B;
  T* pos = work;
  T* neg = pos + M;
  T* cross = neg + M;
  T* g_pos = cross + M * M;
  T* g_neg = g_pos + M;
  T* g_cross = g_neg + M;
  for (std::size_t b = b0; b < b0 + n; ++b) {
    for (std::size_t m = 0; m < M; ++m) {
      pos[m] = a.pos[m * B + b];
      neg[m] = a.neg[m * B + b];
    }
    for (std::size_t q = 0; q < M * M; ++q) cross[q] = a.cross[q * B + b];
    const example_terms<T> t = example_loss_and_grad(a.M, pos, neg, a.pos_f[b], a.neg_f[b], cross, p, g_pos, g_neg,
                                                     a.g_pos_f[b], a.g_neg_f[b], g_cross);
    for (std::size_t m = 0; m < M; ++m) {
      a.g_pos[m * B + b] = g_pos[m];
      a.g_neg[m * B + b] = g_neg[m];
    }
    for (std::size_t q = 0; q < M * M; ++q) a.g_cross[q * B + b] = g_cross[q];
    a.bpr[b] = t.bpr;
    a.chns[b] = t.chns;
    a.synergy[b] = t.synergy;
    a.degraded[b] = t.degraded ? 1 : 0;
  }
}

}  // namespace detail
BRMRS_END_NAMESPACE
