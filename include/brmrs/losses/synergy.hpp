// brmrs/losses/synergy.hpp — the synergy-aware BPR loss over score arrays, for any scorer: the
// fused margin must beat the best unimodal margin by θ.
//
//   template <class T>
//   T synergy(vector_view<const T> fused_positive, vector_view<const T> fused_negative,
//             const std::vector<vector_view<const T>>& positive,   // M views, B each: s_m(u, i+)
//             const std::vector<vector_view<const T>>& negative,   // M views, B each: s_m(u, i-)
//             const synergy_options<T>& options = {}, const synergy_outputs<T>& out = {});
//
// Per example: Δ_f = fused_positive - fused_negative, Δ_m = positive[m] - negative[m],
//   best = max_m Δ_m                       (options.tau == 0, the published method)
//        = τ·log Σ_m exp(Δ_m/τ)            (options.tau = τ > 0: smooth max, computed as
//                                           max + τ·log Σ exp((Δ_m - max)/τ), never overflows)
//   x = Δ_f - best - θ,   ℓ_b = softplus(-x),   L = reduce_b ℓ_b  (mean or sum).
// Gradients (scale = 1/B for mean, 1 for sum; g = scale·σ(-x)):
//   dL/d fused_positive = -g,  dL/d fused_negative = +g;
//   options.mode == stop_unimodal (default, the published method): the unimodal margins are under
//     stop-gradient, dL/d positive[m] = dL/d negative[m] = 0. Without it the loss could be lowered
//     by making the best modality worse instead of making the fusion better.
//   options.mode == through_max: dL/dΔ_m = +g·w_m, w = one-hot of the FIRST maximising m (τ = 0)
//     or softmax(Δ/τ) (τ > 0); dL/d positive[m] = +g·w_m, dL/d negative[m] = -g·w_m.
// Outputs are optional (an empty view / vector is not written) and overwritten, not added to;
// out.degraded[b] = 1 when Δ_f < max_m Δ_m (the failure the loss targets), else 0.
// Cost: O(B·M), B softplus + B sigmoid (+ B·M exp when τ > 0).
// Throws brmrs::invalid_argument, before writing anything, when: M < 1, B = 0, sizes differ, a
// score is not finite, θ <= 0, τ < 0 or not finite, an unknown enum, an output of the wrong size, or
// an output overlapping an input or another output. Strong guarantee: on throw nothing changed.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../config.hpp"
#include "../detail/example_loss.hpp"
#include "common.hpp"

BRMRS_BEGIN_NAMESPACE

template <class T>
struct synergy_options {
  T theta = T(0.1);  // margin θ > 0
  T tau = T(0);      // 0: hard max; > 0: smooth max temperature
  synergy_gradient mode = synergy_gradient::stop_unimodal;
  reduction reduce = reduction::mean;
};

template <class T>
struct synergy_outputs {
  vector_view<T> grad_fused_positive;         // B, or empty
  vector_view<T> grad_fused_negative;         // B, or empty
  std::vector<vector_view<T>> grad_positive;  // M views of B, or none
  std::vector<vector_view<T>> grad_negative;  // M views of B, or none
  vector_view<std::uint8_t> degraded;         // B, or empty
};

template <class T>
T synergy(vector_view<const T> fused_positive, vector_view<const T> fused_negative,
          const std::vector<vector_view<const T>>& positive, const std::vector<vector_view<const T>>& negative,
          const synergy_options<T>& options = {}, const synergy_outputs<T>& out = {}) {
  constexpr const char* fn = "brmrs::synergy";
  detail::check_reduction(fn, options.reduce);
  detail::check_positive(fn, "options.theta", options.theta);
  detail::check_nonnegative(fn, "options.tau", options.tau);
  if (options.mode != synergy_gradient::stop_unimodal && options.mode != synergy_gradient::through_max)
    detail::throw_invalid_argument(fn, ": options.mode = ", static_cast<int>(options.mode),
                                   " is not a synergy_gradient");
  const std::size_t M = positive.size();
  if (M < 1) detail::throw_invalid_argument(fn, ": positive has no modality");
  if (negative.size() != M)
    detail::throw_invalid_argument(fn, ": negative has ", negative.size(), " views, expected M = ", M);
  const std::size_t B = fused_positive.size();
  if (B == 0) detail::throw_invalid_argument(fn, ": fused_positive is empty (B = 0)");
  detail::check_scores(fn, "fused_positive", -1, fused_positive, B);
  detail::check_scores(fn, "fused_negative", -1, fused_negative, B);
  for (std::size_t m = 0; m < M; ++m) {
    detail::check_scores(fn, "positive", static_cast<int>(m), positive[m], B);
    detail::check_scores(fn, "negative", static_cast<int>(m), negative[m], B);
  }
  const bool g_fp = detail::check_optional_out(fn, "out.grad_fused_positive", -1, out.grad_fused_positive, B);
  const bool g_fn = detail::check_optional_out(fn, "out.grad_fused_negative", -1, out.grad_fused_negative, B);
  const bool want_deg = detail::check_optional_out(fn, "out.degraded", -1, out.degraded, B);
  const bool g_p = !out.grad_positive.empty(), g_n = !out.grad_negative.empty();
  if (g_p && out.grad_positive.size() != M)
    detail::throw_invalid_argument(fn, ": out.grad_positive has ", out.grad_positive.size(), " views, expected M = ", M,
                                   " (or none)");
  if (g_n && out.grad_negative.size() != M)
    detail::throw_invalid_argument(fn, ": out.grad_negative has ", out.grad_negative.size(), " views, expected M = ", M,
                                   " (or none)");
  for (std::size_t m = 0; m < out.grad_positive.size(); ++m)
    if (out.grad_positive[m].size() != B || out.grad_positive[m].data() == nullptr)
      detail::throw_invalid_argument(fn, ": out.grad_positive[", m, "] has size ", out.grad_positive[m].size(),
                                     ", expected B = ", B);
  for (std::size_t m = 0; m < out.grad_negative.size(); ++m)
    if (out.grad_negative[m].size() != B || out.grad_negative[m].data() == nullptr)
      detail::throw_invalid_argument(fn, ": out.grad_negative[", m, "] has size ", out.grad_negative[m].size(),
                                     ", expected B = ", B);
  {
    std::vector<detail::view_region> in, outs;
    in.push_back(detail::region_of(fused_positive, "fused_positive", -1));
    in.push_back(detail::region_of(fused_negative, "fused_negative", -1));
    for (std::size_t m = 0; m < M; ++m) {
      in.push_back(detail::region_of(positive[m], "positive", static_cast<int>(m)));
      in.push_back(detail::region_of(negative[m], "negative", static_cast<int>(m)));
    }
    outs.push_back(detail::region_of(out.grad_fused_positive, "out.grad_fused_positive", -1));
    outs.push_back(detail::region_of(out.grad_fused_negative, "out.grad_fused_negative", -1));
    outs.push_back(detail::region_of(out.degraded, "out.degraded", -1));
    for (std::size_t m = 0; m < out.grad_positive.size(); ++m)
      outs.push_back(detail::region_of(out.grad_positive[m], "out.grad_positive", static_cast<int>(m)));
    for (std::size_t m = 0; m < out.grad_negative.size(); ++m)
      outs.push_back(detail::region_of(out.grad_negative[m], "out.grad_negative", static_cast<int>(m)));
    detail::check_no_overlap(fn, in, outs);
  }

  // Per example, the synergy term of detail/example_loss.hpp (the objective's own definition).
  const T tau = options.tau, theta = options.theta;
  std::vector<T> pos(M), neg(M);
  auto term = [&](std::size_t b) {
    for (std::size_t m = 0; m < M; ++m) {
      pos[m] = positive[m][b];
      neg[m] = negative[m][b];
    }
    return detail::lanes_synergy<detail::scalar_lanes<T>>(static_cast<int>(M), pos.data(), neg.data(),
                                                          fused_positive[b] - fused_negative[b], theta, tau);
  };
  double sum = 0;
  for (std::size_t b = 0; b < B; ++b) {
    const T l = term(b).loss;
    if (!std::isfinite(l)) detail::throw_invalid_argument(fn, ": example ", b, ": loss = ", l, " is not finite");
    sum += static_cast<double>(l);
  }
  const T loss = static_cast<T>(sum * detail::reduction_scale_double(options.reduce, B));
  if (!std::isfinite(loss)) detail::throw_invalid_argument(fn, ": the loss = ", loss, " is not finite");

  const T scale = detail::reduction_scale<T>(options.reduce, B);
  for (std::size_t b = 0; b < B; ++b) {
    const detail::synergy_term<detail::scalar_lanes<T>> t = term(b);
    const T g = scale * t.slope;
    if (g_fp) out.grad_fused_positive[b] = -g;
    if (g_fn) out.grad_fused_negative[b] = g;
    if (want_deg) out.degraded[b] = t.degraded ? 1 : 0;
    for (std::size_t m = 0; m < M && (g_p || g_n); ++m) {
      const T w = options.mode == synergy_gradient::through_max
                      ? g * detail::lanes_synergy_max_weight(t, static_cast<int>(m), pos[m] - neg[m], tau)
                      : T(0);
      if (g_p) out.grad_positive[m][b] = w;
      if (g_n) out.grad_negative[m][b] = -w;
    }
  }
  return loss;
}

BRMRS_END_NAMESPACE
