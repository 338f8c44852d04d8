// brmrs/detail/objective_validation.hpp — every input check of compute_objective (DESIGN.md §3),
// shared by the CPU pipeline (backend/cpu/objective_pipeline.hpp) and the CUDA backend
// (backend/cuda/validate.cuh).
//
// validate_objective checks the config, the table and batch shapes, null pointers, strides, the
// ids, the output shapes and the aliasing of outputs with inputs and with each other, before
// anything is written; it throws brmrs::invalid_argument naming the argument, the position and
// the value, and returns the validated shape of the call. It includes nothing beyond the core
// headers (no OpenMP, no kernel policy), so an nvcc translation unit can include it alone.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../objective_types.hpp"
#include "../validate.hpp"
#include "../views.hpp"
#include "view_regions.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

constexpr const char* objective_fn = "brmrs::compute_objective";

// The validated shape of one call.
struct objective_shape {
  std::size_t M = 0, B = 0, K = 0, n_users = 0, n_items = 0, d_f = 0;
  std::vector<std::size_t> dims;  // d_m
  bool want_rows = false, want_tables = false;
};

[[noreturn]] inline void throw_overlap(const view_region& a, const view_region& b) {
  std::ostringstream os;
  os << objective_fn << ": ";
  name_region(os, a);
  os << " overlaps ";
  name_region(os, b);
  os << " (outputs must not alias inputs or other outputs)";
  throw brmrs::invalid_argument(os.str());
}

template <class T>
void check_table(const char* name, int m, matrix_view<const T> t, std::size_t rows, const char* rows_what) {
  if (t.rows() != rows)
    throw_invalid_argument(objective_fn, ": ", name, "[", m, "] has ", t.rows(), " rows, expected ", rows,
                           " (", rows_what, ")");
  if (t.cols() == 0) throw_invalid_argument(objective_fn, ": ", name, "[", m, "] has 0 columns");
  if (t.data() == nullptr) throw_invalid_argument(objective_fn, ": ", name, "[", m, "].data is null");
  if (t.stride() < t.cols())
    throw_invalid_argument(objective_fn, ": ", name, "[", m, "].stride = ", t.stride(), " is smaller than its ",
                           t.cols(), " columns");
}

template <class V>
void check_out_matrix(const char* name, int m, matrix_view<V> v, std::size_t rows, std::size_t cols) {
  if (v.rows() != rows || v.cols() != cols)
    throw_invalid_argument(objective_fn, ": ", name, (m >= 0 ? "[" : ""), (m >= 0 ? std::to_string(m) : ""),
                           (m >= 0 ? "]" : ""), " is ", v.rows(), " x ", v.cols(), ", expected ", rows, " x ", cols);
  if (v.data() == nullptr) throw_invalid_argument(objective_fn, ": ", name, ".data is null");
  if (v.stride() < v.cols())
    throw_invalid_argument(objective_fn, ": ", name, ".stride = ", v.stride(), " is smaller than its ", v.cols(),
                           " columns");
}

template <class T>
bool rows_requested(const gradient_rows<T>& r) {
  return !r.user.empty() || !r.positive.empty() || !r.negative.empty() || !r.hard.empty() ||
         !r.fused_user.empty() || !r.fused_positive.empty() || !r.fused_negative.empty() ||
         r.fused_user.data() || r.fused_positive.data() || r.fused_negative.data();
}

template <class T>
bool tables_requested(const table_gradients<T>& g) {
  return !g.user.empty() || !g.item.empty() || !g.fused_user.empty() || !g.fused_item.empty() ||
         g.fused_user.data() || g.fused_item.data();
}

// Every check of DESIGN.md §3 that does not need a score; throws before anything is written.
// check_ids = false skips the four checks that read the id arrays: the CUDA backend passes it for
// device pointers and checks the ids in its forward kernel instead (backend/cuda/validate.cuh).
// check_pool_ids = false skips the pool ids only: the CPU pipeline checks each example's pool in
// its parallel loop, just before reading it (a serial pass over B·K ids evicts the item tables
// from the checking core's L2), and names a bad id after it, before anything is written.
template <class T, class Id>
objective_shape validate_objective(const dot_tables<T>& tables, const batch<Id>& b, const objective_config<T>& cfg,
                                   const objective_outputs<T, Id>& out, bool check_ids = true,
                                   bool check_pool_ids = true) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "brmrs: T must be float or double");
  static_assert(std::is_integral_v<Id> && !std::is_same_v<Id, bool>, "brmrs: Id must be an integer type");
  const char* fn = objective_fn;
  objective_shape s;

  // Config.
  check_nonnegative(fn, "config.lambda_bpr", cfg.lambda_bpr);
  check_nonnegative(fn, "config.lambda_hard", cfg.lambda_hard);
  check_nonnegative(fn, "config.lambda_synergy", cfg.lambda_synergy);
  check_nonnegative(fn, "config.lambda_reg", cfg.lambda_reg);
  check_positive(fn, "config.theta", cfg.theta);
  check_nonnegative(fn, "config.tau", cfg.tau);
  if (cfg.reduce != reduction::mean && cfg.reduce != reduction::sum)
    throw_invalid_argument(fn, ": config.reduce = ", static_cast<int>(cfg.reduce), " is not a reduction");
  if (cfg.synergy_mode != synergy_gradient::stop_unimodal && cfg.synergy_mode != synergy_gradient::through_max)
    throw_invalid_argument(fn, ": config.synergy_mode = ", static_cast<int>(cfg.synergy_mode),
                           " is not a synergy_gradient");

  // Tables.
  s.M = tables.item.size();
  if (s.M < 2) throw_invalid_argument(fn, ": tables.item has ", s.M, " modalities, expected at least 2");
  if (s.M > 1024) throw_invalid_argument(fn, ": tables.item has ", s.M, " modalities, at most 1024 supported");
  if (tables.user.size() != s.M)
    throw_invalid_argument(fn, ": tables.user has ", tables.user.size(), " views, expected ", s.M,
                           " (one per modality, the same view repeated for a shared user table)");
  s.n_users = tables.user[0].rows();
  s.n_items = tables.item[0].rows();
  s.dims.resize(s.M);
  for (std::size_t m = 0; m < s.M; ++m) {
    const int mi = static_cast<int>(m);
    check_table("tables.user", mi, tables.user[m], s.n_users, "every user table has tables.user[0].rows()");
    check_table("tables.item", mi, tables.item[m], s.n_items, "every item table has tables.item[0].rows()");
    if (tables.user[m].cols() != tables.item[m].cols())
      throw_invalid_argument(fn, ": tables.user[", m, "] has ", tables.user[m].cols(), " columns but tables.item[", m,
                             "] has ", tables.item[m].cols());
    s.dims[m] = tables.item[m].cols();
  }
  if (tables.fused_user.rows() != s.n_users)
    throw_invalid_argument(fn, ": tables.fused_user has ", tables.fused_user.rows(), " rows, expected ", s.n_users,
                           " (n_users)");
  if (tables.fused_item.rows() != s.n_items)
    throw_invalid_argument(fn, ": tables.fused_item has ", tables.fused_item.rows(), " rows, expected ", s.n_items,
                           " (n_items)");
  if (tables.fused_user.cols() != tables.fused_item.cols())
    throw_invalid_argument(fn, ": tables.fused_user has ", tables.fused_user.cols(),
                           " columns but tables.fused_item has ", tables.fused_item.cols());
  s.d_f = tables.fused_item.cols();
  if (s.d_f == 0) throw_invalid_argument(fn, ": tables.fused_item has 0 columns");
  if (s.n_users == 0) throw_invalid_argument(fn, ": tables.user[0] has 0 rows (no users)");
  if (s.n_items == 0) throw_invalid_argument(fn, ": tables.item[0] has 0 rows (no items)");
  if (tables.fused_user.data() == nullptr || tables.fused_item.data() == nullptr)
    throw_invalid_argument(fn, ": tables.fused_", tables.fused_user.data() == nullptr ? "user" : "item",
                           ".data is null");
  if (tables.fused_user.stride() < s.d_f || tables.fused_item.stride() < s.d_f)
    throw_invalid_argument(fn, ": tables.fused_", tables.fused_user.stride() < s.d_f ? "user" : "item",
                           ".stride is smaller than its ", s.d_f, " columns");

  // Batch.
  s.B = b.users.size();
  if (s.B == 0) throw_invalid_argument(fn, ": batch.users is empty (B = 0)");
  check_size(fn, "batch.positives", b.positives.size(), s.B, "B = batch.users.size()");
  if (b.pools.rows() != s.B)
    throw_invalid_argument(fn, ": batch.pools has ", b.pools.rows(), " rows, expected B = ", s.B);
  s.K = b.pools.cols();
  if (s.K == 0) throw_invalid_argument(fn, ": batch.pools has K = 0 columns (empty pool)");
  if (b.pools.data() == nullptr) throw_invalid_argument(fn, ": batch.pools.data is null");
  if (b.pools.stride() < s.K)
    throw_invalid_argument(fn, ": batch.pools.stride = ", b.pools.stride(), " is smaller than K = ", s.K);
  if (!b.negatives.empty()) check_size(fn, "batch.negatives", b.negatives.size(), s.B, "B, or empty");
  if (b.users.data() == nullptr) throw_invalid_argument(fn, ": batch.users.data is null");
  if (b.positives.data() == nullptr) throw_invalid_argument(fn, ": batch.positives.data is null");
  if (!b.negatives.empty() && b.negatives.data() == nullptr) throw_invalid_argument(fn, ": batch.negatives.data is null");
  if (check_ids) {
    check_ids_in_range(fn, "batch.users", b.users, s.n_users);
    check_ids_in_range(fn, "batch.positives", b.positives, s.n_items);
    if (check_pool_ids) check_ids_in_range(fn, "batch.pools", b.pools, s.n_items);
    check_ids_in_range(fn, "batch.negatives", b.negatives, s.n_items);
  }
  if (b.negatives.empty() && (cfg.example_offset > 0xFFFFFFFFull || s.B - 1 > 0xFFFFFFFFull - cfg.example_offset))
    throw_invalid_argument(fn, ": config.example_offset = ", cfg.example_offset, " + B = ", s.B,
                           " exceeds 2^32 examples (the pool-negative draw is keyed by a 32-bit example index)");

  // Outputs.
  if (!out.hard_negatives.empty() || out.hard_negatives.data())
    check_out_matrix("out.hard_negatives", -1, out.hard_negatives, s.B, s.M);
  if (!out.negatives.empty()) check_size(fn, "out.negatives", out.negatives.size(), s.B, "B, or empty");
  if (!out.example_loss.empty()) check_size(fn, "out.example_loss", out.example_loss.size(), s.B, "B, or empty");
  if (!out.negatives.empty() && out.negatives.data() == nullptr) throw_invalid_argument(fn, ": out.negatives.data is null");
  if (!out.example_loss.empty() && out.example_loss.data() == nullptr)
    throw_invalid_argument(fn, ": out.example_loss.data is null");

  s.want_rows = rows_requested(out.rows);
  if (s.want_rows) {
    const auto& r = out.rows;
    const char* all = " views (gradient rows are requested, so every one of them is required)";
    if (r.user.size() != s.M) throw_invalid_argument(fn, ": out.rows.user has ", r.user.size(), all, ", expected ", s.M);
    if (r.positive.size() != s.M)
      throw_invalid_argument(fn, ": out.rows.positive has ", r.positive.size(), all, ", expected ", s.M);
    if (r.negative.size() != s.M)
      throw_invalid_argument(fn, ": out.rows.negative has ", r.negative.size(), all, ", expected ", s.M);
    if (r.hard.size() != s.M) throw_invalid_argument(fn, ": out.rows.hard has ", r.hard.size(), all, ", expected ", s.M);
    for (std::size_t m = 0; m < s.M; ++m) {
      const int mi = static_cast<int>(m);
      check_out_matrix("out.rows.user", mi, r.user[m], s.B, s.dims[m]);
      check_out_matrix("out.rows.positive", mi, r.positive[m], s.B, s.dims[m]);
      check_out_matrix("out.rows.negative", mi, r.negative[m], s.B, s.dims[m]);
      check_out_matrix("out.rows.hard", mi, r.hard[m], s.B * s.M, s.dims[m]);
    }
    check_out_matrix("out.rows.fused_user", -1, r.fused_user, s.B, s.d_f);
    check_out_matrix("out.rows.fused_positive", -1, r.fused_positive, s.B, s.d_f);
    check_out_matrix("out.rows.fused_negative", -1, r.fused_negative, s.B, s.d_f);
  }
  s.want_tables = tables_requested(out.tables);
  if (s.want_tables) {
    const auto& g = out.tables;
    const char* all = " views (table gradients are requested, so every one of them is required)";
    if (g.user.size() != s.M) throw_invalid_argument(fn, ": out.tables.user has ", g.user.size(), all, ", expected ", s.M);
    if (g.item.size() != s.M) throw_invalid_argument(fn, ": out.tables.item has ", g.item.size(), all, ", expected ", s.M);
    for (std::size_t m = 0; m < s.M; ++m) {
      const int mi = static_cast<int>(m);
      check_out_matrix("out.tables.user", mi, g.user[m], s.n_users, s.dims[m]);
      check_out_matrix("out.tables.item", mi, g.item[m], s.n_items, s.dims[m]);
    }
    check_out_matrix("out.tables.fused_user", -1, g.fused_user, s.n_users, s.d_f);
    check_out_matrix("out.tables.fused_item", -1, g.fused_item, s.n_items, s.d_f);
  }

  // Aliasing: no output may share memory with an input or with another output. The one exception:
  // two table-gradient views may be the very same view when their tables are the very same view
  // (a shared user table); their contributions are then added into one buffer.
  std::vector<view_region> in, outs;
  std::vector<view_region> outs_table;  // the table each table-gradient output belongs to (or empty)
  for (std::size_t m = 0; m < s.M; ++m) {
    in.push_back(region_of(tables.user[m], "tables.user", static_cast<int>(m)));
    in.push_back(region_of(tables.item[m], "tables.item", static_cast<int>(m)));
  }
  in.push_back(region_of(tables.fused_user, "tables.fused_user", -1));
  in.push_back(region_of(tables.fused_item, "tables.fused_item", -1));
  in.push_back(region_of(b.users, "batch.users", -1));
  in.push_back(region_of(b.positives, "batch.positives", -1));
  in.push_back(region_of(b.pools, "batch.pools", -1));
  in.push_back(region_of(b.negatives, "batch.negatives", -1));
  const view_region none{nullptr, 0, 0, 0, 0, "", -1};
  auto add_out = [&](view_region r, view_region table) {
    outs.push_back(r);
    outs_table.push_back(table);
  };
  add_out(region_of(out.hard_negatives, "out.hard_negatives", -1), none);
  add_out(region_of(out.negatives, "out.negatives", -1), none);
  add_out(region_of(out.example_loss, "out.example_loss", -1), none);
  if (s.want_rows) {
    for (std::size_t m = 0; m < s.M; ++m) {
      const int mi = static_cast<int>(m);
      add_out(region_of(out.rows.user[m], "out.rows.user", mi), none);
      add_out(region_of(out.rows.positive[m], "out.rows.positive", mi), none);
      add_out(region_of(out.rows.negative[m], "out.rows.negative", mi), none);
      add_out(region_of(out.rows.hard[m], "out.rows.hard", mi), none);
    }
    add_out(region_of(out.rows.fused_user, "out.rows.fused_user", -1), none);
    add_out(region_of(out.rows.fused_positive, "out.rows.fused_positive", -1), none);
    add_out(region_of(out.rows.fused_negative, "out.rows.fused_negative", -1), none);
  }
  if (s.want_tables) {
    for (std::size_t m = 0; m < s.M; ++m) {
      const int mi = static_cast<int>(m);
      add_out(region_of(out.tables.user[m], "out.tables.user", mi), region_of(tables.user[m], "", mi));
      add_out(region_of(out.tables.item[m], "out.tables.item", mi), region_of(tables.item[m], "", mi));
    }
    add_out(region_of(out.tables.fused_user, "out.tables.fused_user", -1), region_of(tables.fused_user, "", -1));
    add_out(region_of(out.tables.fused_item, "out.tables.fused_item", -1), region_of(tables.fused_item, "", -1));
  }
  for (std::size_t i = 0; i < outs.size(); ++i) {
    for (const auto& r : in)
      if (regions_overlap(outs[i], r)) throw_overlap(outs[i], r);
    for (std::size_t j = 0; j < i; ++j) {
      if (!regions_overlap(outs[i], outs[j])) continue;
      const bool shared_table = !region_empty(outs_table[i]) && !region_empty(outs_table[j]) &&
                                same_region(outs[i], outs[j]) && same_region(outs_table[i], outs_table[j]);
      if (!shared_table) throw_overlap(outs[i], outs[j]);
    }
  }
  return s;
}

}  // namespace detail
BRMRS_END_NAMESPACE
