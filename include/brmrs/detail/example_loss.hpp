// brmrs/detail/example_loss.hpp — one example's loss terms and their derivatives with respect to
// its scores: the arithmetic of the scalar and CUDA backends, host and device (the SIMD backend
// evaluates the same expressions one example per lane: backend/simd/example_loss_lanes.hpp).
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
// Cost: O(M^2) scalar operations and M^2 - M + 2 softplus/sigmoid pairs (one exp and one log1p
// each, detail::softplus_sigmoid). Never throws.
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

template <class T>
struct example_terms {
  T bpr, chns, synergy;
  bool degraded;  // Δ_f < max_m Δ_m: the fused margin loses to a unimodal one
};

template <class T>
BRMRS_HD inline example_terms<T> example_loss_and_grad(int M, const T* pos, const T* neg, T pos_f, T neg_f,
                                                       const T* cross, const example_loss_params<T>& p,
                                                       T* g_pos, T* g_neg, T& g_pos_f, T& g_neg_f,
                                                       T* g_cross) {
  using std::exp;
  using std::log;
  example_terms<T> t{};
  for (int m = 0; m < M; ++m) g_pos[m] = g_neg[m] = T(0);
  for (int i = 0; i < M * M; ++i) g_cross[i] = T(0);

  // Fused BPR: d softplus(-Δ_f) / dΔ_f = -σ(-Δ_f).
  const T delta_f = pos_f - neg_f;
  const softplus_sigmoid_pair<T> f = softplus_sigmoid(-delta_f);
  t.bpr = f.softplus;
  T g_delta_f = -p.lambda_bpr * f.sigmoid;

  // CHNS: x = s_a(i+) - s_a(j^c), term softplus(-x), d/ds_a(i+) = -σ(-x)/(M-1), d/ds_a(j^c) = +σ(-x)/(M-1).
  const T inv_m1 = T(1) / T(M - 1);
  T chns = T(0);
  for (int a = 0; a < M; ++a)
    for (int c = 0; c < M; ++c) {
      if (c == a) continue;
      const T x = pos[a] - cross[a * M + c];
      const softplus_sigmoid_pair<T> h = softplus_sigmoid(-x);
      chns += h.softplus;
      const T w = p.lambda_hard * inv_m1 * h.sigmoid;
      g_pos[a] -= w;
      g_cross[a * M + c] = w;
    }
  t.chns = chns * inv_m1;

  // Synergy: margins Δ_m, their (hard or smooth) maximum, x = Δ_f - max - θ.
  T hard_max = pos[0] - neg[0];
  int arg = 0;
  for (int m = 1; m < M; ++m) {
    const T d = pos[m] - neg[m];
    if (d > hard_max) { hard_max = d; arg = m; }
  }
  t.degraded = delta_f < hard_max;
  T best = hard_max;
  if (p.tau > T(0)) {
    T sum = T(0);
    for (int m = 0; m < M; ++m) sum += exp((pos[m] - neg[m] - hard_max) / p.tau);
    best = hard_max + p.tau * log(sum);
  }
  const T x = delta_f - best - p.theta;
  const softplus_sigmoid_pair<T> sy = softplus_sigmoid(-x);
  t.synergy = sy.softplus;
  const T s = p.lambda_synergy * sy.sigmoid;  // d synergy / d(-x) scaled
  g_delta_f -= s;
  if (p.mode == synergy_gradient::through_max) {
    if (p.tau > T(0)) {
      T sum = T(0);
      for (int m = 0; m < M; ++m) sum += exp((pos[m] - neg[m] - hard_max) / p.tau);
      for (int m = 0; m < M; ++m) {
        const T w = s * exp((pos[m] - neg[m] - hard_max) / p.tau) / sum;
        g_pos[m] += w;
        g_neg[m] -= w;
      }
    } else {
      g_pos[arg] += s;
      g_neg[arg] -= s;
    }
  }

  g_pos_f = p.scale * g_delta_f;
  g_neg_f = -p.scale * g_delta_f;
  for (int m = 0; m < M; ++m) {
    g_pos[m] *= p.scale;
    g_neg[m] *= p.scale;
  }
  for (int i = 0; i < M * M; ++i) g_cross[i] *= p.scale;
  return t;
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
