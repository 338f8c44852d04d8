// brmrs/backend/cpu/scatter_phase.hpp — the table-shaped gradients of the CPU pipeline: the
// internal gradient rows when only table gradients are wanted, the scatter lists, and the
// deterministic scatter (detail/scatter.hpp) into the caller's buffers.
//
// Both buffers are allocated before the first write (plan_table_scatter, gradient_row_buffers), so a
// bad_alloc leaves the caller's buffers untouched. Contribution order into each destination:
// example-major, then user[0..M-1], then for m = 0..M-1: i+, i-, j^c (c = 0..M-1, c != m), then
// fused user, fused i+, fused i-; so every table row gets its contributions in a fixed order,
// for any thread count.
#pragma once

#include <cstddef>
#include <vector>

#include "../../config.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/objective_workspace.hpp"
#include "../../detail/scatter.hpp"
#include "../../objective_types.hpp"
#include "../../views.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// The gradient rows the backward phase writes: the caller's, or, when only table gradients are
// wanted, internal ones. They live in the workspace too (6.8 MB for W: allocating them per call
// costs page faults).
template <class T, class Id>
gradient_rows<T> gradient_row_buffers(objective_workspace<T, Id>& ws, const objective_shape& sh,
                                      const objective_outputs<T, Id>& out) {
  const std::size_t M = sh.M, B = sh.B, d_f = sh.d_f;
  gradient_rows<T> rows = out.rows;
  if (sh.want_tables && !sh.want_rows) {
    std::size_t total = 3 * B * d_f;
    for (std::size_t m = 0; m < M; ++m) total += (3 + M) * B * sh.dims[m];
    T* p = grow_to(ws.own_rows, total);
    rows.user.resize(M);
    rows.positive.resize(M);
    rows.negative.resize(M);
    rows.hard.resize(M);
    for (std::size_t m = 0; m < M; ++m) {
      const std::size_t d = sh.dims[m];
      rows.user[m] = matrix_view<T>(p, B, d);
      p += B * d;
      rows.positive[m] = matrix_view<T>(p, B, d);
      p += B * d;
      rows.negative[m] = matrix_view<T>(p, B, d);
      p += B * d;
      rows.hard[m] = matrix_view<T>(p, B * M, d);
      p += B * M * d;
    }
    rows.fused_user = matrix_view<T>(p, B, d_f);
    p += B * d_f;
    rows.fused_positive = matrix_view<T>(p, B, d_f);
    p += B * d_f;
    rows.fused_negative = matrix_view<T>(p, B, d_f);
  }
  return rows;
}

// One destination buffer of the scatter and its contiguous run of the workspace's item list.
template <class T>
struct dest_group {
  matrix_view<T> dest;
  scatter_item<T>* items = nullptr;
  std::size_t n = 0;
  void push_back(scatter_item<T> e) noexcept { items[n++] = e; }
};

// The destination groups of a call: a buffer repeated for several tables (a shared user table)
// is one group, its contributions added in one pass.
template <class T>
struct table_scatter_plan {
  std::vector<dest_group<T>> groups;
  std::vector<int> user_group, item_group;
  int fu_group = -1, fi_group = -1;
};

template <class T, class Id>
table_scatter_plan<T> plan_table_scatter(objective_workspace<T, Id>& ws, const objective_shape& sh,
                             const objective_outputs<T, Id>& out) {
  const std::size_t M = sh.M, B = sh.B;
  table_scatter_plan<T> plan;
  auto& groups = plan.groups;
  plan.user_group.assign(M, -1);
  plan.item_group.assign(M, -1);
  if (sh.want_tables) {
    auto group_of = [&](matrix_view<T> v) {
      for (std::size_t g = 0; g < groups.size(); ++g) {
        const auto& d = groups[g].dest;
        if (d.data() == v.data() && d.rows() == v.rows() && d.cols() == v.cols() && d.stride() == v.stride())
          return static_cast<int>(g);
      }
      groups.push_back({v, nullptr, 0});
      return static_cast<int>(groups.size() - 1);
    };
    auto& user_group = plan.user_group;
    auto& item_group = plan.item_group;
    for (std::size_t m = 0; m < M; ++m) user_group[m] = group_of(out.tables.user[m]);
    for (std::size_t m = 0; m < M; ++m) item_group[m] = group_of(out.tables.item[m]);
    plan.fu_group = group_of(out.tables.fused_user);
    plan.fi_group = group_of(out.tables.fused_item);
    std::vector<std::size_t> count(groups.size(), 0);
    for (std::size_t m = 0; m < M; ++m) {
      count[static_cast<std::size_t>(user_group[m])] += B;
      count[static_cast<std::size_t>(item_group[m])] += B * (M + 1);  // i+, i-, and j^c for c != m
    }
    count[static_cast<std::size_t>(plan.fu_group)] += B;
    count[static_cast<std::size_t>(plan.fi_group)] += 2 * B;
    std::size_t total_items = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) total_items += count[g];
    scatter_item<T>* next = grow_to(ws.items, total_items);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      groups[g].items = next;
      next += count[g];
    }
  }
  return plan;
}

// Adds every example's gradient rows into the table-shaped buffers, in the order above.
template <class T, class Id>
void scatter_table_gradients(table_scatter_plan<T>& plan, const batch<Id>& bt, const example_buffers<T, Id>& e,
                             const objective_shape& sh, const gradient_rows<T>& rows) noexcept {
  const std::size_t M = sh.M, B = sh.B;
  const Id* const neg_id = e.neg_id;
  const Id* const hard_id = e.hard_id;
  auto& groups = plan.groups;
  const auto& user_group = plan.user_group;
  const auto& item_group = plan.item_group;
  const int fu_group = plan.fu_group, fi_group = plan.fi_group;
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t u = static_cast<std::size_t>(bt.users[b]);
    const std::size_t ip = static_cast<std::size_t>(bt.positives[b]);
    const std::size_t in = static_cast<std::size_t>(neg_id[b]);
    for (std::size_t m = 0; m < M; ++m)
      groups[static_cast<std::size_t>(user_group[m])].push_back({u, rows.user[m].row(b)});
    for (std::size_t m = 0; m < M; ++m) {
      auto& it = groups[static_cast<std::size_t>(item_group[m])];
      it.push_back({ip, rows.positive[m].row(b)});
      it.push_back({in, rows.negative[m].row(b)});
      for (std::size_t c = 0; c < M; ++c)
        if (c != m) it.push_back({static_cast<std::size_t>(hard_id[b * M + c]), rows.hard[m].row(b * M + c)});
    }
    groups[static_cast<std::size_t>(fu_group)].push_back({u, rows.fused_user.row(b)});
    groups[static_cast<std::size_t>(fi_group)].push_back({ip, rows.fused_positive.row(b)});
    groups[static_cast<std::size_t>(fi_group)].push_back({in, rows.fused_negative.row(b)});
  }
  for (auto& g : groups) scatter_add(g.dest, g.items, g.n);
}

}  // namespace detail
BRMRS_END_NAMESPACE
