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

// Every example's gradient rows into `rows` (the caller's, or internal ones for the scatter).
// prefetch_items: whether item rows are prefetched too (the test of phase 1, selection_hints).
template <class P, class T, class Id>
void write_gradient_rows(const dot_tables<T>& tables, const batch<Id>& bt, const example_buffers<T, Id>& e,
                         const objective_shape& sh, const gradient_rows<T>& rows, T reg, [[maybe_unused]] int n_threads,
                         bool prefetch_items) noexcept {
  const std::size_t M = sh.M, B = sh.B, d_f = sh.d_f;
  const std::size_t* dims = sh.dims.data();
  const Id* const neg_id = e.neg_id;
  const Id* const hard_id = e.hard_id;
  const T *const g_pos = e.g_pos, *const g_neg = e.g_neg, *const g_cross = e.g_cross;
  const T *const g_pos_f = e.g_pos_f, *const g_neg_f = e.g_neg_f;
  const long long Bl = static_cast<long long>(B);
#if BRMRS_HAS_OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1)
#endif
  for (long long bl = 0; bl < Bl; ++bl) {
    const std::size_t b = static_cast<std::size_t>(bl);
    if (b + backward_prefetch_ahead < B) {
      // The rows example b + backward_prefetch_ahead will read (a hint: phase 1 touched them
      // long ago, and the user tables are out of cache even when the item tables are not).
      const std::size_t b1 = b + backward_prefetch_ahead;
      const std::size_t u1 = static_cast<std::size_t>(bt.users[b1]);
      const std::size_t ip1 = static_cast<std::size_t>(bt.positives[b1]);
      const std::size_t in1 = static_cast<std::size_t>(neg_id[b1]);
      for (std::size_t m = 0; m < M; ++m) {
        P::prefetch_row(tables.user[m].row(u1), dims[m]);
        if (prefetch_items) {
          P::prefetch_row(tables.item[m].row(ip1), dims[m]);
          P::prefetch_row(tables.item[m].row(in1), dims[m]);
          for (std::size_t c = 0; c < M; ++c)
            if (c != m) P::prefetch_row(tables.item[m].row(static_cast<std::size_t>(hard_id[b1 * M + c])), dims[m]);
        }
      }
      P::prefetch_row(tables.fused_user.row(u1), d_f);
      if (prefetch_items) {
        P::prefetch_row(tables.fused_item.row(ip1), d_f);
        P::prefetch_row(tables.fused_item.row(in1), d_f);
      }
    }
    const std::size_t u = static_cast<std::size_t>(bt.users[b]);
    const std::size_t ip = static_cast<std::size_t>(bt.positives[b]);
    const std::size_t in = static_cast<std::size_t>(neg_id[b]);
    for (std::size_t m = 0; m < M; ++m) {
      const std::size_t d = sh.dims[m];
      const T* p_u = tables.user[m].row(u);
      const T* q_p = tables.item[m].row(ip);
      const T* q_n = tables.item[m].row(in);
      const T gp = g_pos[m * B + b], gn = g_neg[m * B + b];
      // dL/dp_u = g+·q_{i+} + g-·q_{i-} + Σ_{c≠m} g_{m,c}·q_{j^c} (+ reg·p_u)
      T* ru = rows.user[m].row(b);
      P::scale(gp, q_p, ru, d);
      P::axpy(gn, q_n, ru, d);
      for (std::size_t c = 0; c < M; ++c)
        if (c != m) {
          const std::size_t j = static_cast<std::size_t>(hard_id[b * M + c]);
          P::axpy(g_cross[(m * M + c) * B + b], tables.item[m].row(j), ru, d);
        }
      if (reg != T(0)) P::axpy(reg, p_u, ru, d);
      // dL/dq_{i+} = g+·p_u (+ reg·q_{i+}),  dL/dq_{i-} = g-·p_u (+ reg·q_{i-})
      T* rp = rows.positive[m].row(b);
      P::scale(gp, p_u, rp, d);
      if (reg != T(0)) P::axpy(reg, q_p, rp, d);
      T* rn = rows.negative[m].row(b);
      P::scale(gn, p_u, rn, d);
      if (reg != T(0)) P::axpy(reg, q_n, rn, d);
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
    const T* f_p = tables.fused_item.row(ip);
    const T* f_n = tables.fused_item.row(in);
    T* rfu = rows.fused_user.row(b);
    P::scale(g_pos_f[b], f_p, rfu, d_f);
    P::axpy(g_neg_f[b], f_n, rfu, d_f);
    if (reg != T(0)) P::axpy(reg, f_u, rfu, d_f);
    T* rfp = rows.fused_positive.row(b);
    P::scale(g_pos_f[b], f_u, rfp, d_f);
    if (reg != T(0)) P::axpy(reg, f_p, rfp, d_f);
    T* rfn = rows.fused_negative.row(b);
    P::scale(g_neg_f[b], f_u, rfn, d_f);
    if (reg != T(0)) P::axpy(reg, f_n, rfn, d_f);
  }
}

}  // namespace detail
BRMRS_END_NAMESPACE
