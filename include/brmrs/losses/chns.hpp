// brmrs/losses/chns.hpp — cross-modal hard-negative sampling (CHNS) over score arrays, for any
// scorer: the argmax selection of each modality's hardest pool member and the loss that makes
// every other modality separate the positive from it.
//
//   template <class T>
//   T chns(const std::vector<vector_view<const T>>& positive,   // M views, B each: s_m(u, i+)
//          const std::vector<matrix_view<const T>>& pool,       // M views, B x K: s_m(u, pool[b][k])
//          reduction reduce = reduction::mean, const chns_outputs<T>& out = {});
//
// For every example b and modality m (M >= 2): k*_m = the FIRST k maximising pool[m](b, k) (ties
// go to the smallest k; a NaN score never wins, so NaN marks a masked candidate). Then
//   ℓ_b = Σ_a 1/(M-1) Σ_{c≠a} softplus(pool[a](b, k*_c) - positive[a][b])
//   L   = reduce_b ℓ_b   (mean: 1/B Σ_b, sum: Σ_b)
// For M = 2 this is softplus(s_1(j^0) - s_1(i+)) + softplus(s_0(j^1) - s_0(i+)). The selection is
// a sampling step: no gradient flows through k*. With x = positive[a][b] - pool[a](b, k*_c) and
// w = scale·σ(-x)/(M-1) (scale = 1/B for mean, 1 for sum):
//   dL/d positive[a][b] = -Σ_{c≠a} w,   dL/d pool[a](b, k*_c) += w,   every other pool entry 0.
// Outputs (each optional: an empty view / vector is not written; all overwritten, not added to):
//   out.selected       B x M positions k*_m;
//   out.grad_positive  M views of B;   out.grad_pool  M views B x K (every entry written).
// Cost: O(B·M·K) comparisons, O(B·M²) softplus/sigmoid.
// Throws brmrs::invalid_argument, before writing anything, when: M < 2, the views' count or shapes
// disagree (every positive view B, every pool view B x K, K >= 1, B >= 1), a positive score is not
// finite, every pool score of some (b, m) is NaN, a score the loss reads (pool[a](b, k*_c),
// c ≠ a) is not finite, an output has the wrong shape, or an output overlaps an input or another
// output. Strong guarantee: on throw no output has changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../detail/example_loss.hpp"
#include "common.hpp"

BRMRS_BEGIN_NAMESPACE

template <class T>
struct chns_outputs {
  matrix_view<std::int64_t> selected;         // B x M: k*_m, or empty
  std::vector<vector_view<T>> grad_positive;  // M views of B, or empty
  std::vector<matrix_view<T>> grad_pool;      // M views B x K, or empty
};

namespace detail {

// First k maximising row[0..K) with NaN never winning; K when every entry is NaN. The rule every
// backend's select_hard follows.
template <class T>
std::size_t first_argmax(const T* row, std::size_t K) {
  std::size_t best = K;
  for (std::size_t k = 0; k < K; ++k) {
    const T s = row[k];
    if (s != s) continue;
    if (best == K || s > row[best]) best = k;
  }
  return best;
}

}  // namespace detail

template <class T>
T chns(const std::vector<vector_view<const T>>& positive, const std::vector<matrix_view<const T>>& pool,
       reduction reduce = reduction::mean, const chns_outputs<T>& out = {}) {
  constexpr const char* fn = "brmrs::chns";
  detail::check_reduction(fn, reduce);
  const std::size_t M = positive.size();
  if (M < 2) detail::throw_invalid_argument(fn, ": positive has ", M, " modalities, expected at least 2");
  if (pool.size() != M)
    detail::throw_invalid_argument(fn, ": pool has ", pool.size(), " views, expected M = ", M);
  const std::size_t B = positive[0].size();
  if (B == 0) detail::throw_invalid_argument(fn, ": positive[0] is empty (B = 0)");
  const std::size_t K = pool[0].cols();
  if (K == 0) detail::throw_invalid_argument(fn, ": pool[0] has K = 0 columns (empty pool)");
  for (std::size_t m = 0; m < M; ++m) {
    detail::check_scores(fn, "positive", static_cast<int>(m), positive[m], B);
    if (pool[m].rows() != B || pool[m].cols() != K)
      detail::throw_invalid_argument(fn, ": pool[", m, "] is ", pool[m].rows(), " x ", pool[m].cols(), ", expected ",
                                     B, " x ", K);
    if (pool[m].data() == nullptr) detail::throw_invalid_argument(fn, ": pool[", m, "].data is null");
  }
  const bool want_sel = !(out.selected.empty() && out.selected.data() == nullptr);
  if (want_sel && (out.selected.rows() != B || out.selected.cols() != M || out.selected.data() == nullptr))
    detail::throw_invalid_argument(fn, ": out.selected is ", out.selected.rows(), " x ", out.selected.cols(),
                                   ", expected ", B, " x ", M, " (or an empty view)");
  const bool want_gp = !out.grad_positive.empty();
  if (want_gp) {
    if (out.grad_positive.size() != M)
      detail::throw_invalid_argument(fn, ": out.grad_positive has ", out.grad_positive.size(), " views, expected M = ",
                                     M, " (or none)");
    for (std::size_t m = 0; m < M; ++m)
      if (out.grad_positive[m].size() != B || out.grad_positive[m].data() == nullptr)
        detail::throw_invalid_argument(fn, ": out.grad_positive[", m, "] has size ", out.grad_positive[m].size(),
                                       ", expected B = ", B);
  }
  const bool want_gq = !out.grad_pool.empty();
  if (want_gq) {
    if (out.grad_pool.size() != M)
      detail::throw_invalid_argument(fn, ": out.grad_pool has ", out.grad_pool.size(), " views, expected M = ", M,
                                     " (or none)");
    for (std::size_t m = 0; m < M; ++m)
      if (out.grad_pool[m].rows() != B || out.grad_pool[m].cols() != K || out.grad_pool[m].data() == nullptr)
        detail::throw_invalid_argument(fn, ": out.grad_pool[", m, "] is ", out.grad_pool[m].rows(), " x ",
                                       out.grad_pool[m].cols(), ", expected ", B, " x ", K);
  }
  {
    std::vector<detail::view_region> in, outs;
    for (std::size_t m = 0; m < M; ++m) {
      in.push_back(detail::region_of(positive[m], "positive", static_cast<int>(m)));
      in.push_back(detail::region_of(pool[m], "pool", static_cast<int>(m)));
    }
    outs.push_back(detail::region_of(out.selected, "out.selected", -1));
    for (std::size_t m = 0; m < out.grad_positive.size(); ++m)
      outs.push_back(detail::region_of(out.grad_positive[m], "out.grad_positive", static_cast<int>(m)));
    for (std::size_t m = 0; m < out.grad_pool.size(); ++m)
      outs.push_back(detail::region_of(out.grad_pool[m], "out.grad_pool", static_cast<int>(m)));
    detail::check_no_overlap(fn, in, outs);
  }

  // Selection, then the checks that need it; nothing is written until every example passed.
  std::vector<std::size_t> sel(B * M);
  double sum = 0;
  const T inv_m1 = T(1) / static_cast<T>(M - 1);
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t m = 0; m < M; ++m) {
      const std::size_t k = detail::first_argmax(pool[m].row(b), K);
      if (k == K)
        detail::throw_invalid_argument(fn, ": example ", b, ", modality ", m, ": every pool score pool[", m, "](", b,
                                       ", 0..", K - 1, ") is NaN, so no hard negative can be selected");
      sel[b * M + m] = k;
    }
    T l = T(0);
    for (std::size_t a = 0; a < M; ++a)
      for (std::size_t c = 0; c < M; ++c) {
        if (c == a) continue;
        const std::size_t k = sel[b * M + c];
        const T s = pool[a](b, k);
        if (!std::isfinite(s))
          detail::throw_invalid_argument(fn, ": example ", b, ": pool[", a, "](", b, ", ", k, ") = ", s,
                                         " is not finite but is read as s_", a, " of modality ", c,
                                         "'s hard negative");
        l += detail::margin_loss(positive[a][b] - s).softplus;
      }
    sum += static_cast<double>(l * inv_m1);
  }
  const T loss = static_cast<T>(sum * detail::reduction_scale_double(reduce, B));
  if (!std::isfinite(loss)) detail::throw_invalid_argument(fn, ": the loss = ", loss, " is not finite");

  const T scale = detail::reduction_scale<T>(reduce, B);
  if (want_sel)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t m = 0; m < M; ++m) out.selected(b, m) = static_cast<std::int64_t>(sel[b * M + m]);
  if (want_gq)
    for (std::size_t m = 0; m < M; ++m)
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t k = 0; k < K; ++k) out.grad_pool[m](b, k) = T(0);
  if (want_gp || want_gq)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t a = 0; a < M; ++a) {
        T g = T(0);
        for (std::size_t c = 0; c < M; ++c) {
          if (c == a) continue;
          const std::size_t k = sel[b * M + c];
          const T w = scale * inv_m1 * detail::margin_loss(positive[a][b] - pool[a](b, k)).sigmoid;
          g -= w;
          if (want_gq) out.grad_pool[a](b, k) += w;
        }
        if (want_gp) out.grad_positive[a][b] = g;
      }
  return loss;
}

BRMRS_END_NAMESPACE
