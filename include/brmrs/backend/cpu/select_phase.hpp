// brmrs/backend/cpu/select_phase.hpp — phase 1 of the CPU pipeline on one thread's block of
// examples: the pool negative i-, the hard negatives j^m (the policy's select_hard), the scores
// of i+ and i-, the cross scores s_a(u, j^c), the L2 term, and each example's faults.
//
// Everything goes into the call's example buffers (detail/objective_workspace.hpp); nothing here
// throws or allocates. A non-finite score is recorded as the example's fault and its loss inputs
// are zeroed, so the loss phase reads only values this call wrote. A pool id out of range is
// recorded as fault 8 and named by check_ids_in_range after the parallel loop.
#pragma once

#include <cmath>
#include <cstddef>

#include "../../config.hpp"
#include "../../detail/example_fault.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/objective_workspace.hpp"
#include "../../objective_types.hpp"
#include "../../rng/philox.hpp"
#include "../../validate.hpp"
#include "../policy.hpp"
#include "schedule.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// The per-batch prefetch decisions of phase 1 (hints: results never depend on them).
struct selection_hints {
  // The next example's first pool rows are requested while the current one is scored (only for
  // tables beyond the cache, as the policy decides inside an example).
  std::size_t lead = 0;
  backend::row_prefetch pool_rows = backend::row_prefetch::by_pool;
  bool explicit_neg = false;
  // Item rows (of every table, fused included) are prefetched only when the item tables exceed
  // the policy's "in cache" size, the test select_hard applies to pool rows: tables that sit in
  // the L2/L3 gain nothing from it and the requests cost issue slots (at 2 000 items, 2 threads:
  // ~10% of the objective's time was spent on prefetch instructions). User rows always are.
  bool prefetch_items = false;
  // One selection pass per modality when selection_pass_width says so, the cross scores then
  // recomputed with dot; otherwise one pass, the cross scores read from the pool scores (no
  // hard-negative row fetched twice).
  bool by_modality = false;
};

template <class P, class T, class Id>
selection_hints make_selection_hints(const dot_tables<T>& tables, const batch<Id>& bt, const objective_shape& sh,
                                     const item_tables<T>& items) {
  selection_hints h;
  h.lead = pool_prefetch_lead<P>(items, sh.n_items, sh.K);
  h.pool_rows = pool_row_prefetch<P>(items, sh.n_items);
  h.explicit_neg = !bt.negatives.empty();
  h.prefetch_items = beyond_policy_cache<P>(sh.n_items, items.row_bytes + tables.fused_item.stride() * sizeof(T));
  h.by_modality = selection_pass_width(h.pool_rows, sh.M) < sh.M;
  return h;
}

// Phase 1 (selection and scores) of the examples of one thread, with kernel policy P.
template <class P, class T, class Id>
struct example_selection {
  const dot_tables<T>& tables;
  const batch<Id>& bt;
  const objective_config<T>& cfg;
  const objective_shape& sh;
  const item_tables<T>& items;
  const selection_hints& hints;
  const example_buffers<T, Id>& e;
  T* scores;          // M·K pool scores of the example being selected
  std::size_t* best;  // M argmax slots
  const T** urow;     // M user rows

  // A faulty example's loss inputs are zeroed: the loss pass reads only values this call wrote.
  void clear_inputs(std::size_t b) const noexcept {
    const std::size_t M = sh.M, B = sh.B;
    for (std::size_t m = 0; m < M; ++m) e.in_pos[m * B + b] = e.in_neg[m * B + b] = T(0);
    for (std::size_t q = 0; q < M * M; ++q) e.in_cross[q * B + b] = T(0);
    e.in_pos_f[b] = e.in_neg_f[b] = T(0);
    e.t_l2[b] = T(0);
  }

  // Whether an example's pool ids are in range, computed one example ahead (b + 1's pool is
  // looked ahead into while b is scored): each pool is checked once, just before it is read.
  bool pool_ok(std::size_t b) const noexcept { return ids_in_range(bt.pools.row(b), sh.K, sh.n_items); }

  // The rows example b + 1 reads after its selection, a hint only: its user, positive and
  // explicit negative rows (a pool negative is a pool row, read by select_hard anyway) in every
  // table, and, for a policy without its own look-ahead, its first `lead` pool rows, which would
  // otherwise start each example cold (a policy with one runs it on into the next pool itself).
  void prefetch_next_rows(std::size_t b, bool next_ok) const noexcept {
    const std::size_t M = sh.M, d_f = sh.d_f;
    const std::size_t* dims = sh.dims.data();
    if (b + 1 >= sh.B) return;
    const std::size_t u1 = static_cast<std::size_t>(bt.users[b + 1]);
    const std::size_t ip1 = static_cast<std::size_t>(bt.positives[b + 1]);
    const Id* pool1 = bt.pools.row(b + 1);
    for (std::size_t m = 0; m < M; ++m) {
      P::prefetch_row(tables.user[m].row(u1), dims[m]);
      if (hints.prefetch_items) {
        P::prefetch_row(tables.item[m].row(ip1), dims[m]);
        if (hints.explicit_neg)
          P::prefetch_row(tables.item[m].row(static_cast<std::size_t>(bt.negatives[b + 1])), dims[m]);
      }
      if (next_ok)
        for (std::size_t k = 0; k < hints.lead; ++k)
          P::prefetch_row(items.base[m] + static_cast<std::size_t>(pool1[k]) * items.stride[m], dims[m]);
    }
    P::prefetch_row(tables.fused_user.row(u1), d_f);
    if (hints.prefetch_items) {
      P::prefetch_row(tables.fused_item.row(ip1), d_f);
      if (hints.explicit_neg) P::prefetch_row(tables.fused_item.row(static_cast<std::size_t>(bt.negatives[b + 1])), d_f);
    }
  }

  // The rest of phase 1 for an example whose hard negatives are known: i-, the scores of i+ and
  // i-, the cross scores s_a(u, j^c) (read back from the pool scores when `scores` still holds
  // this example's, else recomputed with dot, which is bit-identical to them), L2; faults 2-7.
  void finish_example(std::size_t b, bool from_scores) const noexcept {
    const std::size_t M = sh.M, B = sh.B, K = sh.K, d_f = sh.d_f;
    const std::size_t* dims = sh.dims.data();
    example_fault<T>& f = e.fault[b];
    const std::size_t u = static_cast<std::size_t>(bt.users[b]);
    const std::size_t ip = static_cast<std::size_t>(bt.positives[b]);
    const Id* pool = bt.pools.row(b);
    const Id in_id = bt.negatives.empty() ? pool[pool_negative_slot(cfg.seed, cfg.step, cfg.example_offset + b, K)]
                                          : bt.negatives[b];
    const std::size_t in = static_cast<std::size_t>(in_id);
    e.neg_id[b] = in_id;
    for (std::size_t m = 0; m < M; ++m) urow[m] = tables.user[m].row(u);
    for (std::size_t m = 0; m < M; ++m) {
      const T pos = P::dot(urow[m], tables.item[m].row(ip), dims[m]);
      const T neg = P::dot(urow[m], tables.item[m].row(in), dims[m]);
      e.in_pos[m * B + b] = pos;
      e.in_neg[m * B + b] = neg;
      if (from_scores) e.hard_id[b * M + m] = pool[best[m]];
      if (!std::isfinite(pos) && f.kind == 0) f = {2, static_cast<int>(m), 0, pos};
      if (!std::isfinite(neg) && f.kind == 0) f = {3, static_cast<int>(m), 0, neg};
    }
    for (std::size_t a = 0; a < M; ++a)
      for (std::size_t c = 0; c < M; ++c)
        e.in_cross[(a * M + c) * B + b] =
            from_scores ? scores[a * K + best[c]]
            : a == c    ? T(0)  // the diagonal is not read (detail/example_loss.hpp)
                        : P::dot(urow[a], tables.item[a].row(static_cast<std::size_t>(e.hard_id[b * M + c])), dims[a]);
    const T* fu = tables.fused_user.row(u);
    const T pos_f = P::dot(fu, tables.fused_item.row(ip), d_f);
    const T neg_f = P::dot(fu, tables.fused_item.row(in), d_f);
    e.in_pos_f[b] = pos_f;
    e.in_neg_f[b] = neg_f;
    if (!std::isfinite(pos_f) && f.kind == 0) f = {4, -1, 0, pos_f};
    if (!std::isfinite(neg_f) && f.kind == 0) f = {5, -1, 0, neg_f};
    if (f.kind != 0) return clear_inputs(b);

    T l2 = T(0);
    if (cfg.lambda_reg > T(0)) {
      for (std::size_t m = 0; m < M; ++m) {
        const T* q_p = tables.item[m].row(ip);
        const T* q_n = tables.item[m].row(in);
        l2 += P::dot(urow[m], urow[m], dims[m]) + P::dot(q_p, q_p, dims[m]) + P::dot(q_n, q_n, dims[m]);
      }
      const T* f_p = tables.fused_item.row(ip);
      const T* f_n = tables.fused_item.row(in);
      l2 += P::dot(fu, fu, d_f) + P::dot(f_p, f_p, d_f) + P::dot(f_n, f_n, d_f);
    }
    e.t_l2[b] = l2;
  }

  // Records the first non-finite score of modality `m` among `n` (fault 1).
  void score_fault(std::size_t b, std::size_t m, const T* s, std::size_t n) const noexcept {
    for (std::size_t k = 0; k < n; ++k)
      if (!std::isfinite(s[k])) {
        e.fault[b] = {1, static_cast<int>(m), k, s[k]};
        return;
      }
  }

  // One pass: each example's selection of every modality, then the rest of it.
  void select_all_modalities(example_range range) const noexcept {
    const std::size_t M = sh.M, B = sh.B, K = sh.K;
    const int Mi = static_cast<int>(M);
    const std::size_t* dims = sh.dims.data();
    bool ok = range.first < range.end && pool_ok(range.first);
    for (std::size_t b = range.first; b < range.end; ++b) {
      example_fault<T>& f = e.fault[b];
      f = example_fault<T>{};
      const bool next_ok = b + 1 < B && pool_ok(b + 1);
      if (!ok) {
        f.kind = 8;
        clear_inputs(b);
        ok = next_ok;
        continue;
      }
      ok = next_ok;
      prefetch_next_rows(b, next_ok);
      const std::size_t u = static_cast<std::size_t>(bt.users[b]);
      for (std::size_t m = 0; m < M; ++m) urow[m] = tables.user[m].row(u);
      P::select_hard(Mi, urow, items.base.data(), items.stride.data(), dims, bt.pools.row(b), K, scores, best,
                     next_ok ? bt.pools.row(b + 1) : static_cast<const Id*>(nullptr), hints.pool_rows);
      if (!all_finite(scores, M * K)) {
        for (std::size_t m = 0; m < M && f.kind == 0; ++m) score_fault(b, m, scores + m * K, K);
        clear_inputs(b);
        continue;
      }
      finish_example(b, true);
    }
  }

  // One selection pass per modality (see selection_hints::by_modality), then the rest of every
  // example.
  void select_by_modality(example_range range) const noexcept {
    const std::size_t M = sh.M, B = sh.B, K = sh.K;
    const std::size_t* dims = sh.dims.data();
    for (std::size_t m = 0; m < M; ++m) {
      bool ok = range.first < range.end && (m == 0 ? pool_ok(range.first) : e.fault[range.first].kind != 8);
      for (std::size_t b = range.first; b < range.end; ++b) {
        example_fault<T>& f = e.fault[b];
        if (m == 0) f = example_fault<T>{};
        // Later passes read the first pass's verdict on this thread's examples.
        const bool next_ok = b + 1 < B && (m == 0 || b + 1 >= range.end ? pool_ok(b + 1) : e.fault[b + 1].kind != 8);
        if (b + 1 < B) P::prefetch_row(tables.user[m].row(static_cast<std::size_t>(bt.users[b + 1])), dims[m]);
        if (!ok) {
          f.kind = 8;
          ok = next_ok;
          continue;
        }
        ok = next_ok;
        if (f.kind != 0) continue;
        const Id* pool = bt.pools.row(b);
        const T* u_m = tables.user[m].row(static_cast<std::size_t>(bt.users[b]));
        P::select_hard(1, &u_m, items.base.data() + m, items.stride.data() + m, dims + m, pool, K, scores, best,
                       next_ok ? bt.pools.row(b + 1) : static_cast<const Id*>(nullptr), hints.pool_rows);
        if (!all_finite(scores, K)) {
          score_fault(b, m, scores, K);
          continue;
        }
        e.hard_id[b * M + m] = pool[best[0]];
      }
    }
    for (std::size_t b = range.first; b < range.end; ++b) {
      if (e.fault[b].kind != 0) {
        clear_inputs(b);
        continue;
      }
      prefetch_next_rows(b, false);
      finish_example(b, false);
    }
  }

  void select(example_range range) const noexcept {
    if (hints.by_modality)
      select_by_modality(range);
    else
      select_all_modalities(range);
  }
};

}  // namespace detail
BRMRS_END_NAMESPACE
