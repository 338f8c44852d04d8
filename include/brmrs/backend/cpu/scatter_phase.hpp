// brmrs/backend/cpu/scatter_phase.hpp — the table-shaped gradients of the CPU pipeline: every
// example's gradient rows added (+=) into the caller's table buffers, deterministically.
//
// Owner-computes: the rows of every destination buffer are split into one contiguous range per
// thread; each thread walks every example in order and computes (into a one-row scratch) and adds
// only the gradient rows that land in its ranges. No two threads write the same row, no atomics,
// and no per-example row is written to memory and read back (7 MB for W). Contribution order into
// each destination: example-major, then user[0..M-1], then for m = 0..M-1: i+, i-, j^c (c =
// 0..M-1, c != m), then fused user, fused i+, fused i-; so every table row gets its contributions
// in a fixed order, with the same values as the per-example rows (gradient_phase.hpp), for any
// thread count: bitwise the rows scattered by hand in that order (test_scatter).
//
// The plan (destination groups, per-thread bounds and scratch) is allocated before the first
// write, so a bad_alloc leaves the caller's buffers untouched.
#pragma once

#include <cstddef>
#include <vector>

#include "../../config.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/objective_workspace.hpp"
#include "../../objective_types.hpp"
#include "../../views.hpp"
#include "gradient_phase.hpp"
#include "schedule.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// Below this many added elements a parallel region costs more than it saves.
constexpr std::size_t scatter_parallel_threshold = 1u << 15;

// How many examples ahead the scatter prefetches (a hint: results never depend on it).
#ifdef BRMRS_SCATTER_PREFETCH_AHEAD
constexpr std::size_t scatter_prefetch_ahead = BRMRS_SCATTER_PREFETCH_AHEAD;
#else
constexpr std::size_t scatter_prefetch_ahead = 4;
#endif

// The distinct destination buffers of a call (a buffer repeated for several tables, a shared user
// table, is one group: its contributions are added in one pass), each table's group, and each
// thread's row range in every group and one-row scratch.
template <class T>
struct table_scatter_plan {
  std::vector<matrix_view<T>> dest;
  std::vector<unsigned char> prefetch_dest;  // per group: beyond the policy's cache size
  std::vector<int> user_group, item_group;
  int fu_group = -1, fi_group = -1;
  int n_threads = 1;
  bool prefetch_items = false;  // whether the item rows a gradient row reads are prefetched too
  std::size_t* bounds = nullptr;  // thread t: bounds + t * bounds_block = [lo_0, hi_0, lo_1, hi_1, ...]
  std::size_t bounds_block = 0;
  T* scratch = nullptr;  // thread t: scratch + t * scratch_block, one gradient row
  std::size_t scratch_block = 0;
};

template <class P, class T, class Id>
table_scatter_plan<T> plan_table_scatter(objective_workspace<T, Id>& ws, const objective_shape& sh,
                                         const objective_outputs<T, Id>& out, int n_threads, bool prefetch_items) {
  const std::size_t M = sh.M;
  table_scatter_plan<T> plan;
  if (!sh.want_tables) return plan;
  auto group_of = [&](matrix_view<T> v) {
    for (std::size_t g = 0; g < plan.dest.size(); ++g) {
      const auto& d = plan.dest[g];
      if (d.data() == v.data() && d.rows() == v.rows() && d.cols() == v.cols() && d.stride() == v.stride())
        return static_cast<int>(g);
    }
    plan.dest.push_back(v);
    return static_cast<int>(plan.dest.size() - 1);
  };
  plan.user_group.assign(M, -1);
  plan.item_group.assign(M, -1);
  for (std::size_t m = 0; m < M; ++m) plan.user_group[m] = group_of(out.tables.user[m]);
  for (std::size_t m = 0; m < M; ++m) plan.item_group[m] = group_of(out.tables.item[m]);
  plan.fu_group = group_of(out.tables.fused_user);
  plan.fi_group = group_of(out.tables.fused_item);
  for (const auto& d : plan.dest) plan.prefetch_dest.push_back(beyond_policy_cache<P>(d.rows(), d.cols() * sizeof(T)));
  std::size_t widest = sh.d_f, added = 3 * sh.B * sh.d_f;
  for (std::size_t m = 0; m < M; ++m) {
    widest = sh.dims[m] > widest ? sh.dims[m] : widest;
    added += (M + 2) * sh.B * sh.dims[m];  // the user row, i+, i-, and j^c for c != m
  }
  plan.n_threads = added >= scatter_parallel_threshold ? n_threads : 1;
  plan.prefetch_items = prefetch_items;
  const std::size_t nt = static_cast<std::size_t>(plan.n_threads);
  plan.bounds_block = thread_block_elements<std::size_t>(2 * plan.dest.size());
  plan.bounds = thread_blocks(ws.owner_bounds, nt, 2 * plan.dest.size());
  plan.scratch_block = thread_block_elements<T>(widest);
  plan.scratch = thread_blocks(ws.row_scratch, nt, widest);
  return plan;
}

// Calls f(group, row, d, fill) for every gradient row of example b, in the documented order;
// fill(r) writes that row into r (d elements). An item row that is exactly zero (its score
// gradient is 0 and there is no L2 term: i- in every modality under the stopped synergy
// gradient) is not visited: adding it would change no value (at most a -0 entry to +0).
template <class P, class T, class Id, class F>
inline void for_each_gradient_row(const table_scatter_plan<T>& plan, const dot_tables<T>& tables, const batch<Id>& bt,
                                  const example_buffers<T, Id>& e, const objective_shape& sh, T reg, std::size_t b,
                                  F&& f) noexcept {
  const std::size_t M = sh.M, B = sh.B, d_f = sh.d_f;
  const std::size_t u = static_cast<std::size_t>(bt.users[b]);
  const std::size_t ip = static_cast<std::size_t>(bt.positives[b]);
  const std::size_t in = static_cast<std::size_t>(e.neg_id[b]);
  for (std::size_t m = 0; m < M; ++m)
    f(plan.user_group[m], u, sh.dims[m], [&](T* r) { user_gradient_row<P>(tables, e, sh, b, m, u, ip, in, reg, r); });
  for (std::size_t m = 0; m < M; ++m) {
    const std::size_t d = sh.dims[m];
    const int g = plan.item_group[m];
    const T* p_u = tables.user[m].row(u);
    const T gp = e.g_pos[m * B + b], gn = e.g_neg[m * B + b];
    if (gp != T(0) || reg != T(0)) f(g, ip, d, [&](T* r) { scaled_row<P>(gp, p_u, reg, tables.item[m].row(ip), r, d); });
    if (gn != T(0) || reg != T(0)) f(g, in, d, [&](T* r) { scaled_row<P>(gn, p_u, reg, tables.item[m].row(in), r, d); });
    for (std::size_t c = 0; c < M; ++c) {
      const T gc = c != m ? e.g_cross[(m * M + c) * B + b] : T(0);
      if (gc != T(0)) f(g, static_cast<std::size_t>(e.hard_id[b * M + c]), d, [&](T* r) { P::scale(gc, p_u, r, d); });
    }
  }
  const T *f_u = tables.fused_user.row(u), gpf = e.g_pos_f[b], gnf = e.g_neg_f[b];
  f(plan.fu_group, u, d_f, [&](T* r) { fused_user_gradient_row<P>(tables, e, b, u, ip, in, d_f, reg, r); });
  if (gpf != T(0) || reg != T(0))
    f(plan.fi_group, ip, d_f, [&](T* r) { scaled_row<P>(gpf, f_u, reg, tables.fused_item.row(ip), r, d_f); });
  if (gnf != T(0) || reg != T(0))
    f(plan.fi_group, in, d_f, [&](T* r) { scaled_row<P>(gnf, f_u, reg, tables.fused_item.row(in), r, d_f); });
}

// One thread's share of the table gradients: the rows of its ranges, every example in order.
// The destination rows and the source rows of the example scatter_prefetch_ahead on are
// prefetched (a hint: the destination rows of buffers beyond the policy's cache size only, the
// item sources only when phase 1 found the item tables beyond it).
template <class P, class T, class Id>
void accumulate_owned_rows(const table_scatter_plan<T>& plan, const dot_tables<T>& tables, const batch<Id>& bt,
                           const example_buffers<T, Id>& e, const objective_shape& sh, T reg, std::size_t t,
                           std::size_t nt) noexcept {
  std::size_t* const range = plan.bounds + t * plan.bounds_block;
  for (std::size_t g = 0; g < plan.dest.size(); ++g) {
    const std::size_t rows = plan.dest[g].rows();
    range[2 * g] = rows * t / nt;
    range[2 * g + 1] = rows * (t + 1) / nt;
  }
  auto owns = [&](int g, std::size_t row) {
    return row >= range[2 * g] && row < range[2 * g + 1];
  };
  T* const r = plan.scratch + t * plan.scratch_block;
  for (std::size_t b = 0; b < sh.B; ++b) {
    if (scatter_prefetch_ahead > 0 && b + scatter_prefetch_ahead < sh.B) {
      const std::size_t b1 = b + scatter_prefetch_ahead;
      prefetch_example_rows<P>(tables, bt, e, sh, b1, plan.prefetch_items);
      for_each_gradient_row<P>(plan, tables, bt, e, sh, reg, b1, [&](int g, std::size_t row, std::size_t d, auto&&) {
        if (plan.prefetch_dest[static_cast<std::size_t>(g)] && owns(g, row)) P::prefetch_row(plan.dest[static_cast<std::size_t>(g)].row(row), d);
      });
    }
    for_each_gradient_row<P>(plan, tables, bt, e, sh, reg, b, [&](int g, std::size_t row, std::size_t d, auto&& fill) {
      if (!owns(g, row)) return;
      fill(r);
      T* y = plan.dest[static_cast<std::size_t>(g)].row(row);
      for (std::size_t i = 0; i < d; ++i) y[i] += r[i];
    });
  }
}

// Adds every example's gradient rows into the table-shaped buffers, in the order above.
template <class P, class T, class Id>
void accumulate_table_gradients(const table_scatter_plan<T>& plan, const dot_tables<T>& tables, const batch<Id>& bt,
                                const example_buffers<T, Id>& e, const objective_shape& sh, T reg) noexcept {
#if BRMRS_HAS_OPENMP
#pragma omp parallel num_threads(plan.n_threads) if (plan.n_threads > 1)
#endif
  accumulate_owned_rows<P>(plan, tables, bt, e, sh, reg, static_cast<std::size_t>(pipeline_thread_num()),
                           static_cast<std::size_t>(pipeline_team_size()));
}

}  // namespace detail
BRMRS_END_NAMESPACE
