// brmrs/backend/cpu/gradient_phase.hpp — phase 2 of the CPU pipeline, after every check has
// passed: the id and loss outputs, and each example's gradient rows (in parallel over examples,
// with kernel policy P). Nothing here throws.
//
// The rows of example b (modality m, score gradients g from the loss phase):
//   dL/dp_u     = g+·q_{i+} + g-·q_{i-} + Σ_{c≠m} g_{m,c}·q_{j^c} (+ reg·p_u)
//   dL/dq_{i+}  = g+·p_u (+ reg·q_{i+}),  dL/dq_{i-} = g-·p_u (+ reg·q_{i-})
//   dL/dq_{j^c} = g_{m,c}·p_u in modality m's table (the c == m row is zero)
// and the fused rows likewise; reg = 2·λ_reg·scale.
#pragma once

#include <cstddef>

#include "../../config.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/objective_workspace.hpp"
#include "../../objective_types.hpp"
#include "../policy.hpp"
#include "schedule.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// out.hard_negatives, out.negatives and out.example_loss (each only when requested).
template <class T, class Id>
void write_example_outputs(const example_buffers<T, Id>& e, const objective_config<T>& cfg, const objective_shape& sh,
                           const objective_outputs<T, Id>& out) noexcept {
  const std::size_t M = sh.M, B = sh.B;
  const Id* const neg_id = e.neg_id;
  const Id* const hard_id = e.hard_id;
  const T *const t_bpr = e.t_bpr, *const t_chns = e.t_chns, *const t_syn = e.t_syn, *const t_l2 = e.t_l2;
  if (!out.hard_negatives.empty())
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t m = 0; m < M; ++m) out.hard_negatives(b, m) = hard_id[b * M + m];
  if (!out.negatives.empty())
    for (std::size_t b = 0; b < B; ++b) out.negatives[b] = neg_id[b];
  if (!out.example_loss.empty())
    for (std::size_t b = 0; b < B; ++b)
      out.example_loss[b] = cfg.lambda_bpr * t_bpr[b] + cfg.lambda_hard * t_chns[b] + cfg.lambda_synergy * t_syn[b] +
                            cfg.lambda_reg * t_l2[b];
}

// r = g·x (+ reg·self): the gradient row of an item row (or a fused row) under one score, d wide.
template <class P, class T>
inline void scaled_row(T g, const T* x, T reg, const T* self, T* r, std::size_t d) noexcept {
  P::scale(g, x, r, d);
  if (reg != T(0)) P::axpy(reg, self, r, d);
}

// dL/dp_u of example b in modality m into r: g+·q_{i+} + g-·q_{i-} + Σ_{c≠m} g_{m,c}·q_{j^c} (+ reg·p_u).
template <class P, class T, class Id>
inline void user_gradient_row(const dot_tables<T>& tables, const example_buffers<T, Id>& e, const objective_shape& sh,
                              std::size_t b, std::size_t m, std::size_t u, std::size_t ip, std::size_t in, T reg,
                              T* r) noexcept {
  const std::size_t M = sh.M, B = sh.B, d = sh.dims[m];
  P::scale(e.g_pos[m * B + b], tables.item[m].row(ip), r, d);
  P::axpy(e.g_neg[m * B + b], tables.item[m].row(in), r, d);
  for (std::size_t c = 0; c < M; ++c)
    if (c != m)
      P::axpy(e.g_cross[(m * M + c) * B + b], tables.item[m].row(static_cast<std::size_t>(e.hard_id[b * M + c])), r, d);
  if (reg != T(0)) P::axpy(reg, tables.user[m].row(u), r, d);
}

// dL/df_u of example b into r: g+_f·f_{i+} + g-_f·f_{i-} (+ reg·f_u).
template <class P, class T, class Id>
inline void fused_user_gradient_row(const dot_tables<T>& tables, const example_buffers<T, Id>& e, std::size_t b,
                                    std::size_t u, std::size_t ip, std::size_t in, std::size_t d_f, T reg,
                                    T* r) noexcept {
  P::scale(e.g_pos_f[b], tables.fused_item.row(ip), r, d_f);
  P::axpy(e.g_neg_f[b], tables.fused_item.row(in), r, d_f);
  if (reg != T(0)) P::axpy(reg, tables.fused_user.row(u), r, d_f);
}

// Prefetches the table rows the gradient rows of example b read: the user rows, and with
// prefetch_items the item rows too.
template <class P, class T, class Id>
inline void prefetch_example_rows(const dot_tables<T>& tables, const batch<Id>& bt, const example_buffers<T, Id>& e,
                                  const objective_shape& sh, std::size_t b, bool prefetch_items) noexcept {
  const std::size_t M = sh.M;
  const std::size_t u = static_cast<std::size_t>(bt.users[b]);
  const std::size_t ip = static_cast<std::size_t>(bt.positives[b]);
  const std::size_t in = static_cast<std::size_t>(e.neg_id[b]);
  for (std::size_t m = 0; m < M; ++m) {
    const std::size_t d = sh.dims[m];
    P::prefetch_row(tables.user[m].row(u), d);
    if (prefetch_items) {
      P::prefetch_row(tables.item[m].row(ip), d);
      P::prefetch_row(tables.item[m].row(in), d);
      for (std::size_t c = 0; c < M; ++c)
        if (c != m) P::prefetch_row(tables.item[m].row(static_cast<std::size_t>(e.hard_id[b * M + c])), d);
    }
  }
  P::prefetch_row(tables.fused_user.row(u), sh.d_f);
  if (prefetch_items) {
    P::prefetch_row(tables.fused_item.row(ip), sh.d_f);
    P::prefetch_row(tables.fused_item.row(in), sh.d_f);
  }
}

// Every example's gradient rows into the caller's `rows`.
// prefetch_items: whether item rows are prefetched too (the test of phase 1, selection_hints).
template <class P, class T, class Id>
void write_gradient_rows(const dot_tables<T>& tables, const batch<Id>& bt, const example_buffers<T, Id>& e,
                         const objective_shape& sh, const gradient_rows<T>& rows, T reg, [[maybe_unused]] int n_threads,
                         bool prefetch_items) noexcept {
  const std::size_t M = sh.M, B = sh.B, d_f = sh.d_f;
  const Id* const neg_id = e.neg_id;
  const T *const g_pos = e.g_pos, *const g_neg = e.g_neg, *const g_cross = e.g_cross;
  const T *const g_pos_f = e.g_pos_f, *const g_neg_f = e.g_neg_f;
  const long long Bl = static_cast<long long>(B);
#if BRMRS_HAS_OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1)
#endif
  for (long long bl = 0; bl < Bl; ++bl) {
    const std::size_t b = static_cast<std::size_t>(bl);
    // The rows a later example will read (a hint: phase 1 touched them long ago, and the user
    // tables are out of cache even when the item tables are not).
    if (b + backward_prefetch_ahead < B) prefetch_example_rows<P>(tables, bt, e, sh, b + backward_prefetch_ahead, prefetch_items);
    const std::size_t u = static_cast<std::size_t>(bt.users[b]);
    const std::size_t ip = static_cast<std::size_t>(bt.positives[b]);
    const std::size_t in = static_cast<std::size_t>(neg_id[b]);
    for (std::size_t m = 0; m < M; ++m) {
      const std::size_t d = sh.dims[m];
      const T* p_u = tables.user[m].row(u);
      const T gp = g_pos[m * B + b], gn = g_neg[m * B + b];
      user_gradient_row<P>(tables, e, sh, b, m, u, ip, in, reg, rows.user[m].row(b));
      scaled_row<P>(gp, p_u, reg, tables.item[m].row(ip), rows.positive[m].row(b), d);
      scaled_row<P>(gn, p_u, reg, tables.item[m].row(in), rows.negative[m].row(b), d);
      // dL/dq_{j^c} (modality m's table) = g_{m,c}·p_u; the c == m row is zero.
      for (std::size_t c = 0; c < M; ++c) {
        T* rh = rows.hard[m].row(b * M + c);
        if (c == m) {
          for (std::size_t i = 0; i < d; ++i) rh[i] = T(0);
        } else {
          P::scale(g_cross[(m * M + c) * B + b], p_u, rh, d);
        }
      }
    }
    const T* f_u = tables.fused_user.row(u);
    fused_user_gradient_row<P>(tables, e, b, u, ip, in, d_f, reg, rows.fused_user.row(b));
    scaled_row<P>(g_pos_f[b], f_u, reg, tables.fused_item.row(ip), rows.fused_positive.row(b), d_f);
    scaled_row<P>(g_neg_f[b], f_u, reg, tables.fused_item.row(in), rows.fused_negative.row(b), d_f);
  }
}

}  // namespace detail
BRMRS_END_NAMESPACE
