// brmrs/losses/bpr.hpp — the BPR loss over score arrays, for any scorer.
//
//   template <class T>
//   T bpr(vector_view<const T> positive, vector_view<const T> negative,
//         reduction reduce = reduction::mean,
//         vector_view<T> grad_positive = {}, vector_view<T> grad_negative = {});
//
// L = reduce_b softplus(-(positive[b] - negative[b]))  (= -log σ(Δ_b), computed stably), with
// reduce = mean (1/B Σ_b) or sum. When requested, grad_positive[b] = dL/d positive[b]
// = -scale·σ(-Δ_b) and grad_negative[b] = dL/d negative[b] = +scale·σ(-Δ_b), scale = 1/B for
// mean and 1 for sum; they are overwritten (not added to). The fused BPR term of the BR-MRS
// objective is this loss applied to the fused scores. Call as brmrs::bpr<float>(...) when passing
// non-const views (the template argument is not deduced through the const conversion).
// Cost: O(B), B softplus and (with gradients) B sigmoid evaluations.
// Throws brmrs::invalid_argument, before writing anything, when: B = 0, the sizes differ, a score
// is not finite, a gradient view is neither empty nor of size B, or an output overlaps an input or
// the other output. Strong guarantee: on throw the gradient buffers are unchanged.
#pragma once

#include <cstddef>

#include "../config.hpp"
#include "../detail/example_loss.hpp"
#include "common.hpp"

BRMRS_BEGIN_NAMESPACE

template <class T>
T bpr(vector_view<const T> positive, vector_view<const T> negative, reduction reduce = reduction::mean,
      vector_view<T> grad_positive = {}, vector_view<T> grad_negative = {}) {
  constexpr const char* fn = "brmrs::bpr";
  const std::size_t B = positive.size();
  detail::check_reduction(fn, reduce);
  if (B == 0) detail::throw_invalid_argument(fn, ": positive is empty (B = 0)");
  detail::check_scores(fn, "positive", -1, positive, B);
  detail::check_scores(fn, "negative", -1, negative, B);
  const bool gp = detail::check_optional_out(fn, "grad_positive", -1, grad_positive, B);
  const bool gn = detail::check_optional_out(fn, "grad_negative", -1, grad_negative, B);
  detail::check_no_overlap(fn,
                           {detail::region_of(positive, "positive", -1), detail::region_of(negative, "negative", -1)},
                           {detail::region_of(grad_positive, "grad_positive", -1),
                            detail::region_of(grad_negative, "grad_negative", -1)});
  const T scale = detail::reduction_scale<T>(reduce, B);
  double sum = 0;
  for (std::size_t b = 0; b < B; ++b)
    sum += static_cast<double>(detail::margin_loss(positive[b] - negative[b]).softplus);
  const T loss = static_cast<T>(sum * detail::reduction_scale_double(reduce, B));
  if (!std::isfinite(loss)) detail::throw_invalid_argument(fn, ": the loss = ", loss, " is not finite");
  for (std::size_t b = 0; b < B; ++b) {
    const T w = scale * detail::margin_loss(positive[b] - negative[b]).sigmoid;
    if (gp) grad_positive[b] = -w;
    if (gn) grad_negative[b] = w;
  }
  return loss;
}

BRMRS_END_NAMESPACE
