// brmrs/detail/objective_pipeline.hpp — the CPU pipeline of compute_objective, generic over a
// kernel policy, and the extension point through which a CPU backend plugs in.
//
// ─── The kernel-policy contract ─────────────────────────────────────────────────────────────────
// A kernel policy is a class with static member function templates (T = float or double,
// Id = std::int32_t or std::int64_t). None of them may throw, allocate or read outside the
// pointers' documented extents:
//
//   template <class T, class Id>
//   static void select_hard(int M, const T* const* user_rows, const T* const* item_base,
//                           const std::size_t* item_stride, const std::size_t* dims,
//                           const Id* pool, std::size_t K, T* scores, std::size_t* best,
//                           const Id* next_pool, backend::row_prefetch rows);
//       Fused gather-score-argmax over one example's pool, every modality in one pass:
//       scores[m*K + k] = <user_rows[m], item_base[m] + pool[k]*item_stride[m]> over dims[m]
//       elements, for m < M, k < K; best[m] = the FIRST k maximising scores[m*K + k] (ties go to
//       the smallest k; a NaN score never wins; best[m] = K when every score of m is NaN).
//       next_pool: the pool row of the example scored next on this thread (null for the last),
//       a hint a policy may use to keep prefetching across the example boundary. rows: whether
//       the item tables are beyond the policy's cache (on / off, decided once per batch by
//       pool_row_prefetch below; by_pool: the policy decides), a hint too.
//       The scores must be the ones `dot` returns for the same rows (the pipeline reads
//       s_a(u, j^c) back from `scores`).
//   template <class T> static T    dot(const T* a, const T* b, std::size_t d);       // <a, b>
//   template <class T> static void axpy(T alpha, const T* x, T* y, std::size_t d);   // y += αx
//   template <class T> static void scale(T alpha, const T* x, T* y, std::size_t d);  // y  = αx
//   template <class T> static void prefetch_row(const T* row, std::size_t d);        // hint, may no-op
// Optional:
//   template <class T> static void example_losses(const example_loss_arrays<T>& a, std::size_t b0,
//                                                 std::size_t n, const example_loss_params<T>& p, T* work);
//       The losses and score gradients of examples [b0, b0 + n) (detail/example_loss.hpp); without
//       it the pipeline calls detail::example_losses, one example at a time.
//
// backend/scalar/kernels.hpp is the reference policy. A policy may reorder the additions inside
// dot (SIMD lanes), so backends agree within float tolerance, not bitwise; each backend is
// bitwise deterministic on its own for any thread count.
//
// ─── How a CPU backend plugs in ─────────────────────────────────────────────────────────────────
// compute_objective(..., Backend) runs run_objective<typename backend_policy<Backend>::type>.
// A backend therefore needs, in its own header (e.g. backend/simd/objective.hpp):
//   1. its policy class, e.g. brmrs::backend::simd::kernels<Arch>;
//   2. a specialisation of the trait below, e.g.
//        BRMRS_BEGIN_NAMESPACE namespace detail {
//        template <class Arch> struct backend_policy<simd_backend<Arch>> {
//          using type = backend::simd::kernels<Arch>;
//        };
//        } BRMRS_END_NAMESPACE
//   3. objective.hpp includes backend/simd/objective.hpp when BRMRS_HAS_XSIMD and the file
//      exists (__has_include), and then makes simd_backend<xsimd::default_arch> the default
//      backend unless xsimd::default_arch is xsimd::unavailable.
// Validation, the forward/backward phases, the reductions and the scatter are shared: a backend
// only supplies arithmetic, so it cannot get the error rules or determinism wrong.
//
// ─── The pipeline ───────────────────────────────────────────────────────────────────────────────
// validate_objective  every check of DESIGN.md §3 before anything is written (throws
//                     brmrs::invalid_argument naming the argument, the position and the value).
// phase 1 (forward)   per example, in parallel (OpenMP, schedule(static)): the pool negative,
//                     select_hard, the scores of i+ and i-, cross scores s_a(u, j^c) read from
//                     the pool scores, example_loss_and_grad (detail/example_loss.hpp), the L2
//                     term; everything goes into internal buffers. A non-finite score or loss is
//                     recorded, and after the loop the lowest failing example throws, so the
//                     message does not depend on the thread count.
// reductions          batch sums in example order, accumulated in double.
// phase 2 (backward)  outputs: hard negatives, negatives, per-example losses, gradient rows (in
//                     parallel over examples), then the deterministic scatter (detail/scatter.hpp)
//                     into the table-shaped buffers.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../backend/row_prefetch.hpp"
#include "../backend/tags.hpp"
#include "../config.hpp"
#include "../error.hpp"
#include "../objective_types.hpp"
#include "../rng/philox.hpp"
#include "../validate.hpp"
#include "../views.hpp"
#include "example_loss.hpp"
#include "scatter.hpp"
#include "view_regions.hpp"

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

BRMRS_BEGIN_NAMESPACE
namespace detail {

// The extension point: maps a backend tag to its kernel policy. Specialised for scalar_backend in
// backend/scalar/objective.hpp and for simd_backend<Arch> in backend/simd/objective.hpp.
template <class Backend>
struct backend_policy;

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

// What phase 1 found wrong with one example (the lowest such example throws after the loop).
template <class T>
struct example_fault {
  int kind = 0;  // 0 none; 8 a pool id out of range (named by check_ids_in_range); see fault_text
  int m = -1;
  std::size_t k = 0;
  T value = T(0);
};

inline const char* fault_text(int kind) {
  switch (kind) {
    case 1: return "pool score";
    case 2: return "positive score";
    case 3: return "negative score";
    case 4: return "fused positive score";
    case 5: return "fused negative score";
    case 6: return "loss";
    case 7: return "L2 term";
    default: return "value";
  }
}

template <class T>
[[noreturn]] void throw_fault(std::size_t b, const example_fault<T>& f) {
  if (f.kind == 1)
    throw_invalid_argument(objective_fn, ": example ", b, ", modality ", f.m, ": pool score s_", f.m, "(u, pool(", b,
                           ", ", f.k, ")) = ", f.value, " is not finite");
  if (f.m >= 0)
    throw_invalid_argument(objective_fn, ": example ", b, ", modality ", f.m, ": ", fault_text(f.kind), " = ", f.value,
                           " is not finite");
  throw_invalid_argument(objective_fn, ": example ", b, ": ", fault_text(f.kind), " = ", f.value, " is not finite");
}

#if BRMRS_HAS_OPENMP
inline int pipeline_max_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }
inline int pipeline_thread_num() { return omp_get_thread_num(); }
inline int pipeline_team_size() { return omp_get_num_threads(); }
#else
inline int pipeline_max_threads() { return 1; }
inline int pipeline_thread_num() { return 0; }
inline int pipeline_team_size() { return 1; }
#endif

// Whether a kernel policy advertises how far ahead it prefetches inside an example
// (P::prefetch_distance) and above which table footprint prefetching pays (P::prefetch_min_bytes).
template <class P, class = void>
struct policy_has_prefetch_distance : std::false_type {};
template <class P>
struct policy_has_prefetch_distance<P, std::void_t<decltype(P::prefetch_distance)>> : std::true_type {};
template <class P, class = void>
struct policy_has_prefetch_min_bytes : std::false_type {};
template <class P>
struct policy_has_prefetch_min_bytes<P, std::void_t<decltype(P::prefetch_min_bytes)>> : std::true_type {};
// Whether a kernel policy evaluates the per-example losses itself, a block of examples at a time
// (P::example_losses, same arguments as detail::example_losses; the optional member of the
// contract): the SIMD policy does, one example per lane.
template <class P, class T, class = void>
struct policy_has_example_losses : std::false_type {};
template <class P, class T>
struct policy_has_example_losses<
    P, T,
    std::void_t<decltype(P::example_losses(std::declval<const example_loss_arrays<T>&>(), std::size_t(0), std::size_t(0),
                                           std::declval<const example_loss_params<T>&>(), static_cast<T*>(nullptr)))>>
    : std::true_type {};

// Examples [first, end) of thread `tid` out of `n` for B examples: contiguous nearly-equal blocks
// in thread order (what OpenMP's schedule(static) does). Which thread evaluates an example never
// changes its results.
struct example_range {
  std::size_t first, end;
};
inline example_range static_block(std::size_t B, std::size_t tid, std::size_t n) noexcept {
  const std::size_t q = B / n, r = B % n;
  const std::size_t first = tid * q + (tid < r ? tid : r);
  return {first, first + q + (tid < r ? 1 : 0)};
}

// The item tables' per-modality constants every example of a batch uses: base pointers and row
// strides (the select_hard arguments), and the bytes of one item's rows over all M tables.
template <class T>
struct item_tables {
  std::vector<const T*> base;
  std::vector<std::size_t> stride;
  std::size_t row_bytes = 0;
  explicit item_tables(const dot_tables<T>& t) : base(t.item.size()), stride(t.item.size()) {
    for (std::size_t m = 0; m < t.item.size(); ++m) {
      base[m] = t.item[m].data();
      stride[m] = t.item[m].stride();
      row_bytes += stride[m] * sizeof(T);
    }
  }
};

// Whether n_items rows of row_bytes bytes exceed policy P's "in cache" size
// (P::prefetch_min_bytes), beyond which prefetching their rows pays; always true for a policy
// that names no such size. The one test behind every prefetch decision of the drivers (the SIMD
// policy applies the same one to pool rows inside select_hard).
template <class P>
bool beyond_policy_cache(std::size_t n_items, std::size_t row_bytes) {
  if constexpr (policy_has_prefetch_min_bytes<P>::value) return n_items * row_bytes > P::prefetch_min_bytes;
  return true;
}

// The drivers' per-batch prefetch hint for select_hard's pool rows: the same test as every other
// prefetch decision of theirs, made once instead of once per example from the pool's ids.
template <class P, class T>
backend::row_prefetch pool_row_prefetch(const item_tables<T>& items, std::size_t n_items) {
  return beyond_policy_cache<P>(n_items, items.row_bytes) ? backend::row_prefetch::on : backend::row_prefetch::off;
}

// How many modalities the drivers score per pass over a thread's block of examples: one at a time
// while the item tables are within the policy's "in cache" size (pool rows not prefetched): each
// pass then works on one modality's table, half the footprint at M = 2 (W's 2 x 512 KB fill a
// 1 MB L2; one of them fits), and the one-modality kernel is the faster per row besides: 10-15%
// less time at 500-8 000 items, two threads (docs/performance.md). Beyond it, all M per pass, so
// the look-ahead keeps one stream of requests. Every id and score is the same either way (a row's
// score does not depend on its group).
inline std::size_t selection_pass_width(backend::row_prefetch pool_rows, std::size_t M) {
  return pool_rows == backend::row_prefetch::off ? 1 : M;
}

// How many leading pool slots of the next example the driver prefetches while the current one
// is scored: none for a policy with its own look-ahead (P::prefetch_distance: select_hard runs
// it on into next_pool itself), 8 (capped at K) for one without, and 0 when the item tables fit
// the policy's "in cache" size (prefetching rows that are already cached only costs). A hint:
// it never changes a result.
template <class P, class T>
std::size_t pool_prefetch_lead(const item_tables<T>& items, std::size_t n_items, std::size_t K) {
  if constexpr (policy_has_prefetch_distance<P>::value) return 0;
  if (!beyond_policy_cache<P>(n_items, items.row_bytes)) return 0;
  return K < 8 ? K : 8;
}

// Whether all n values are finite: one branch-free pass (vectorised by the compiler); the caller
// scans position by position only when it fails, to find the first bad one.
template <class T>
bool all_finite(const T* v, std::size_t n) noexcept {
  const T big = std::numeric_limits<T>::max();
  unsigned bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= static_cast<unsigned>(!(std::fabs(v[i]) <= big));  // NaN, ±inf
  return bad == 0;
}

// Grows v to at least n elements (never shrinks) and returns its data.
template <class V>
auto grow_to(V& v, std::size_t n) -> decltype(v.data()) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Per-thread scratch blocks, each starting on its own 128-byte unit (a cache line and the
// partner line the adjacent-line prefetcher pulls with it): every example writes its thread's
// block, so two threads' blocks sharing a line would bounce it between cores on every example.
constexpr std::size_t thread_block_align = 128;

// Elements of U per thread block holding n of them: n rounded up to whole 128-byte units.
template <class U>
constexpr std::size_t thread_block_elements(std::size_t n) noexcept {
  static_assert(thread_block_align % sizeof(U) == 0, "U must tile a 128-byte unit");
  constexpr std::size_t per_unit = thread_block_align / sizeof(U);
  return (n + per_unit - 1) / per_unit * per_unit;
}

// Grows v to hold `threads` blocks of thread_block_elements<U>(n) elements starting on a 128-byte
// boundary, and returns that boundary.
template <class U>
U* thread_blocks(std::vector<U>& v, std::size_t threads, std::size_t n) {
  constexpr std::size_t slack = thread_block_align / sizeof(U);
  U* p = grow_to(v, threads * thread_block_elements<U>(n) + slack);
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::size_t skip = ((thread_block_align - a % thread_block_align) % thread_block_align) / sizeof(U);
  return p + skip;
}

// The internal buffers of one run_objective call, kept per calling thread between calls
// (thread_local): they only grow, to the largest call the thread has made, so a training loop
// stops paying for allocation, page faults and page clearing per batch (~270 KB for W, the loss
// inputs of every example included; 7 MB more when only table gradients are requested;
// docs/performance.md). Every element a call reads is written by that call first, so results
// never depend on what a previous call left. OpenMP worker threads only use the calling thread's
// buffers through pointers. A nested call on the same thread (none exists
// today) gets a fresh local workspace instead (see workspace_lease).
template <class T, class Id>
struct objective_workspace {
  std::vector<Id> ids;                       // neg_id (B), hard_id (B·M)
  std::vector<T> values;                     // per-example gradients and terms
  std::vector<T> scratch;                    // per-thread scores and example scratch (thread_blocks)
  std::vector<std::size_t> best;             // per-thread argmax slots
  std::vector<const T*> urow;                // per-thread user-row pointers
  std::vector<unsigned char> degraded;       // B
  std::vector<example_fault<T>> fault;       // B
  std::vector<T> own_rows;                   // gradient rows when only tables are requested
  std::vector<scatter_item<T>> items;        // scatter lists, every destination group
  bool busy = false;
};

template <class T, class Id>
class workspace_lease {
 public:
  workspace_lease() {
    static thread_local objective_workspace<T, Id> tls;
    if (!tls.busy) {
      ws_ = &tls;
      tls.busy = true;
    } else {
      local_.reset(new objective_workspace<T, Id>());
      ws_ = local_.get();
    }
  }
  ~workspace_lease() {
    if (!local_) ws_->busy = false;
  }
  workspace_lease(const workspace_lease&) = delete;
  workspace_lease& operator=(const workspace_lease&) = delete;
  objective_workspace<T, Id>& operator*() const noexcept { return *ws_; }

 private:
  objective_workspace<T, Id>* ws_ = nullptr;
  std::unique_ptr<objective_workspace<T, Id>> local_;
};

// How many examples ahead phase 2 prefetches the rows it reads (BRMRS_BACKWARD_PREFETCH_AHEAD
// overrides it at compile time). A hint: results never depend on it.
#ifdef BRMRS_BACKWARD_PREFETCH_AHEAD
constexpr std::size_t backward_prefetch_ahead = BRMRS_BACKWARD_PREFETCH_AHEAD;
#else
constexpr std::size_t backward_prefetch_ahead = 2;
#endif

// The whole objective on the CPU with kernel policy P. Public entry: compute_objective.
template <class P, class T, class Id>
objective_result<T> run_objective(const dot_tables<T>& tables, const batch<Id>& bt, const objective_config<T>& cfg,
                                  const objective_outputs<T, Id>& out) {
  const objective_shape sh = validate_objective(tables, bt, cfg, out, /*check_ids=*/true, /*check_pool_ids=*/false);
  const std::size_t M = sh.M, B = sh.B, K = sh.K, d_f = sh.d_f;
  const int Mi = static_cast<int>(M);
  const T scale = cfg.reduce == reduction::mean ? T(1) / static_cast<T>(B) : T(1);
  const T reg = T(2) * cfg.lambda_reg * scale;  // d(scale·λ_reg·|r|²)/dr = reg·r

  // Per-modality constants shared by every example.
  const item_tables<T> items(tables);
  const std::size_t* dims = sh.dims.data();

  // Phase-1 results, one slot per example (structure of arrays), and per-thread scratch: all in
  // the calling thread's persistent workspace, sized up front (nothing in a parallel region may
  // allocate or throw).
  workspace_lease<T, Id> lease;
  objective_workspace<T, Id>& ws = *lease;
  const int n_threads = pipeline_max_threads();
  const std::size_t nt = static_cast<std::size_t>(n_threads);
  // Per thread: the pool scores, then example_losses' work area.
  const std::size_t per_thread = thread_block_elements<T>(M * K + 4 * M + 2 * M * M);
  Id* const neg_id = grow_to(ws.ids, B + B * M);
  Id* const hard_id = neg_id + B;
  // Loss inputs and score gradients, quantity-major ([q*B + b], detail::example_loss_arrays).
  T* const in_pos = grow_to(ws.values, 4 * B * M + 2 * B * M * M + 8 * B);
  T* const in_neg = in_pos + B * M;
  T* const in_cross = in_neg + B * M;
  T* const in_pos_f = in_cross + B * M * M;
  T* const in_neg_f = in_pos_f + B;
  T* const g_pos = in_neg_f + B;
  T* const g_neg = g_pos + B * M;
  T* const g_cross = g_neg + B * M;
  T* const g_pos_f = g_cross + B * M * M;
  T* const g_neg_f = g_pos_f + B;
  T* const t_bpr = g_neg_f + B;
  T* const t_chns = t_bpr + B;
  T* const t_syn = t_chns + B;
  T* const t_l2 = t_syn + B;
  T* const scratch = thread_blocks(ws.scratch, nt, per_thread);
  unsigned char* const degraded = grow_to(ws.degraded, B);
  example_fault<T>* const fault = grow_to(ws.fault, B);
  const std::size_t best_block = thread_block_elements<std::size_t>(M);
  const std::size_t urow_block = thread_block_elements<const T*>(M);
  std::size_t* const best_scratch = thread_blocks(ws.best, nt, M);
  const T** const urow_scratch = thread_blocks(ws.urow, nt, M);
  // The next example's first pool rows are requested while the current one is scored (only for
  // tables beyond the cache, as the policy decides inside an example).
  const std::size_t lead = pool_prefetch_lead<P>(items, sh.n_items, K);
  const backend::row_prefetch pool_rows = pool_row_prefetch<P>(items, sh.n_items);
  const bool explicit_neg = !bt.negatives.empty();
  // Item rows (of every table, fused included) are prefetched only when the item tables exceed
  // the policy's "in cache" size, the test select_hard applies to pool rows: tables that sit in
  // the L2/L3 gain nothing from it and the requests cost issue slots (at 2 000 items, 2 threads:
  // ~10% of the objective's time was spent on prefetch instructions). User rows always are.
  const bool prefetch_items =
      beyond_policy_cache<P>(sh.n_items, items.row_bytes + tables.fused_item.stride() * sizeof(T));

  const example_loss_params<T> params{cfg.lambda_bpr, cfg.lambda_hard, cfg.lambda_synergy, cfg.theta, cfg.tau,
                                      scale, cfg.synergy_mode};
  example_loss_arrays<T> losses;
  losses.B = B;
  losses.M = Mi;
  losses.pos = in_pos;
  losses.neg = in_neg;
  losses.cross = in_cross;
  losses.pos_f = in_pos_f;
  losses.neg_f = in_neg_f;
  losses.g_pos = g_pos;
  losses.g_neg = g_neg;
  losses.g_cross = g_cross;
  losses.g_pos_f = g_pos_f;
  losses.g_neg_f = g_neg_f;
  losses.bpr = t_bpr;
  losses.chns = t_chns;
  losses.synergy = t_syn;
  losses.degraded = degraded;

  // Each thread scores its block of examples (static_block: contiguous, in thread order), then
  // evaluates their losses in one pass, a block at a time (vectorised by policies that provide
  // example_losses): no example waits on the exp/log1p chain of the one before it.
#if BRMRS_HAS_OPENMP
#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
#endif
  {
    const std::size_t tid = static_cast<std::size_t>(pipeline_thread_num());
    const example_range range = static_block(B, tid, static_cast<std::size_t>(pipeline_team_size()));
    T* const scores = scratch + tid * per_thread;
    T* const work = scores + M * K;
    std::size_t* const best = best_scratch + tid * best_block;
    const T** const urow = urow_scratch + tid * urow_block;
    // A faulty example's loss inputs are zeroed: the loss pass reads only values this call wrote.
    auto clear_inputs = [&](std::size_t b) {
      for (std::size_t m = 0; m < M; ++m) in_pos[m * B + b] = in_neg[m * B + b] = T(0);
      for (std::size_t q = 0; q < M * M; ++q) in_cross[q * B + b] = T(0);
      in_pos_f[b] = in_neg_f[b] = T(0);
      t_l2[b] = T(0);
    };
    // Whether an example's pool ids are in range, computed one example ahead (b + 1's pool is
    // looked ahead into while b is scored): each pool is checked once, just before it is read.
    auto pool_ok = [&](std::size_t e) { return ids_in_range(bt.pools.row(e), K, sh.n_items); };
    // One selection pass per modality when selection_pass_width says so, the cross scores then
    // recomputed with dot; otherwise one pass, the cross scores read from the pool scores (no
    // hard-negative row fetched twice).
    const bool by_modality = selection_pass_width(pool_rows, M) < M;
    // The rows example b + 1 reads after its selection, a hint only: its user, positive and
    // explicit negative rows (a pool negative is a pool row, read by select_hard anyway) in every
    // table, and, for a policy without its own look-ahead, its first `lead` pool rows, which would
    // otherwise start each example cold (a policy with one runs it on into the next pool itself).
    auto prefetch_next_rows = [&](std::size_t b, bool next_ok) {
      if (b + 1 >= B) return;
      const std::size_t u1 = static_cast<std::size_t>(bt.users[b + 1]);
      const std::size_t ip1 = static_cast<std::size_t>(bt.positives[b + 1]);
      const Id* pool1 = bt.pools.row(b + 1);
      for (std::size_t m = 0; m < M; ++m) {
        P::prefetch_row(tables.user[m].row(u1), dims[m]);
        if (prefetch_items) {
          P::prefetch_row(tables.item[m].row(ip1), dims[m]);
          if (explicit_neg) P::prefetch_row(tables.item[m].row(static_cast<std::size_t>(bt.negatives[b + 1])), dims[m]);
        }
        if (next_ok)
          for (std::size_t k = 0; k < lead; ++k)
            P::prefetch_row(items.base[m] + static_cast<std::size_t>(pool1[k]) * items.stride[m], dims[m]);
      }
      P::prefetch_row(tables.fused_user.row(u1), d_f);
      if (prefetch_items) {
        P::prefetch_row(tables.fused_item.row(ip1), d_f);
        if (explicit_neg) P::prefetch_row(tables.fused_item.row(static_cast<std::size_t>(bt.negatives[b + 1])), d_f);
      }
    };

    // The rest of phase 1 for an example whose hard negatives are known: i-, the scores of i+ and
    // i-, the cross scores s_a(u, j^c) (read back from the pool scores when `scores` still holds
    // this example's, else recomputed with dot, which is bit-identical to them), L2; faults 2-7.
    auto finish_example = [&](std::size_t b, bool from_scores) {
      example_fault<T>& f = fault[b];
      const std::size_t u = static_cast<std::size_t>(bt.users[b]);
      const std::size_t ip = static_cast<std::size_t>(bt.positives[b]);
      const Id* pool = bt.pools.row(b);
      const Id in_id = bt.negatives.empty()
                           ? pool[pool_negative_slot(cfg.seed, cfg.step, cfg.example_offset + b, K)]
                           : bt.negatives[b];
      const std::size_t in = static_cast<std::size_t>(in_id);
      neg_id[b] = in_id;
      for (std::size_t m = 0; m < M; ++m) urow[m] = tables.user[m].row(u);
      for (std::size_t m = 0; m < M; ++m) {
        const T pos = P::dot(urow[m], tables.item[m].row(ip), dims[m]);
        const T neg = P::dot(urow[m], tables.item[m].row(in), dims[m]);
        in_pos[m * B + b] = pos;
        in_neg[m * B + b] = neg;
        if (from_scores) hard_id[b * M + m] = pool[best[m]];
        if (!std::isfinite(pos) && f.kind == 0) f = {2, static_cast<int>(m), 0, pos};
        if (!std::isfinite(neg) && f.kind == 0) f = {3, static_cast<int>(m), 0, neg};
      }
      for (std::size_t a = 0; a < M; ++a)
        for (std::size_t c = 0; c < M; ++c)
          in_cross[(a * M + c) * B + b] =
              from_scores ? scores[a * K + best[c]]
              : a == c    ? T(0)  // the diagonal is not read (detail/example_loss.hpp)
                          : P::dot(urow[a], tables.item[a].row(static_cast<std::size_t>(hard_id[b * M + c])), dims[a]);
      const T* fu = tables.fused_user.row(u);
      const T pos_f = P::dot(fu, tables.fused_item.row(ip), d_f);
      const T neg_f = P::dot(fu, tables.fused_item.row(in), d_f);
      in_pos_f[b] = pos_f;
      in_neg_f[b] = neg_f;
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
      t_l2[b] = l2;
    };

    // Records the first non-finite score of modality `m` among `n` (fault 1).
    auto score_fault = [&](std::size_t b, std::size_t m, const T* s, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k)
        if (!std::isfinite(s[k])) {
          fault[b] = {1, static_cast<int>(m), k, s[k]};
          return;
        }
    };

    if (!by_modality) {
      // One pass: each example's selection of every modality, then the rest of it.
      bool ok = range.first < range.end && pool_ok(range.first);
      for (std::size_t b = range.first; b < range.end; ++b) {
        example_fault<T>& f = fault[b];
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
                       next_ok ? bt.pools.row(b + 1) : static_cast<const Id*>(nullptr), pool_rows);
        if (!all_finite(scores, M * K)) {
          for (std::size_t m = 0; m < M && f.kind == 0; ++m) score_fault(b, m, scores + m * K, K);
          clear_inputs(b);
          continue;
        }
        finish_example(b, true);
      }
    } else {
      // One selection pass per modality (see by_modality), then the rest of every example.
      for (std::size_t m = 0; m < M; ++m) {
        bool ok = range.first < range.end && (m == 0 ? pool_ok(range.first) : fault[range.first].kind != 8);
        for (std::size_t b = range.first; b < range.end; ++b) {
          example_fault<T>& f = fault[b];
          if (m == 0) f = example_fault<T>{};
          // Later passes read the first pass's verdict on this thread's examples.
          const bool next_ok = b + 1 < B && (m == 0 || b + 1 >= range.end ? pool_ok(b + 1) : fault[b + 1].kind != 8);
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
                         next_ok ? bt.pools.row(b + 1) : static_cast<const Id*>(nullptr), pool_rows);
          if (!all_finite(scores, K)) {
            score_fault(b, m, scores, K);
            continue;
          }
          hard_id[b * M + m] = pool[best[0]];
        }
      }
      for (std::size_t b = range.first; b < range.end; ++b) {
        if (fault[b].kind != 0) {
          clear_inputs(b);
          continue;
        }
        prefetch_next_rows(b, false);
        finish_example(b, false);
      }
    }

    if constexpr (policy_has_example_losses<P, T>::value)
      P::example_losses(losses, range.first, range.end - range.first, params, work);
    else
      example_losses(losses, range.first, range.end - range.first, params, work);
    for (std::size_t b = range.first; b < range.end; ++b) {
      if (fault[b].kind != 0) continue;
      const T total = cfg.lambda_bpr * t_bpr[b] + cfg.lambda_hard * t_chns[b] + cfg.lambda_synergy * t_syn[b];
      if (!std::isfinite(total)) fault[b] = {6, -1, 0, total};
      else if (!std::isfinite(t_l2[b])) fault[b] = {7, -1, 0, t_l2[b]};
    }
  }
  for (std::size_t b = 0; b < B; ++b)
    if (fault[b].kind == 8) check_ids_in_range(objective_fn, "batch.pools", bt.pools, sh.n_items);  // throws
  for (std::size_t b = 0; b < B; ++b)
    if (fault[b].kind != 0) throw_fault(b, fault[b]);

  // Batch reductions in example order, in double: deterministic and accurate for float too.
  double s_bpr = 0, s_chns = 0, s_syn = 0, s_l2 = 0, s_deg = 0, s_agree = 0;
  for (std::size_t b = 0; b < B; ++b) {
    s_bpr += static_cast<double>(t_bpr[b]);
    s_chns += static_cast<double>(t_chns[b]);
    s_syn += static_cast<double>(t_syn[b]);
    s_l2 += static_cast<double>(t_l2[b]);
    s_deg += degraded[b];
    std::size_t agree = 0;
    for (std::size_t a = 0; a < M; ++a)
      for (std::size_t c = a + 1; c < M; ++c) agree += hard_id[b * M + a] == hard_id[b * M + c];
    s_agree += static_cast<double>(agree);
  }
  const double dscale = cfg.reduce == reduction::mean ? 1.0 / static_cast<double>(B) : 1.0;
  objective_result<T> res;
  res.bpr = static_cast<T>(s_bpr * dscale);
  res.chns = static_cast<T>(s_chns * dscale);
  res.synergy = static_cast<T>(s_syn * dscale);
  res.l2 = static_cast<T>(s_l2 * dscale);
  res.loss = static_cast<T>((static_cast<double>(cfg.lambda_bpr) * s_bpr + static_cast<double>(cfg.lambda_hard) * s_chns +
                             static_cast<double>(cfg.lambda_synergy) * s_syn + static_cast<double>(cfg.lambda_reg) * s_l2) *
                            dscale);
  res.fusion_degradation_rate = static_cast<T>(s_deg / static_cast<double>(B));
  res.hard_negative_agreement = static_cast<T>(s_agree / (static_cast<double>(B) * static_cast<double>(M * (M - 1) / 2)));
  if (!std::isfinite(res.loss))
    throw_invalid_argument(objective_fn, ": the reduced loss = ", res.loss, " is not finite");

  // Internal row buffers when only table gradients are wanted. Allocated before the first write.
  // They live in the workspace too (6.8 MB for W: allocating them per call costs page faults).
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
  // Scatter lists, also allocated before the first write (see write_table_gradients): one
  // contiguous run of the workspace's item buffer per destination group.
  struct dest_group {
    matrix_view<T> dest;
    scatter_item<T>* items = nullptr;
    std::size_t n = 0;
    void push_back(scatter_item<T> e) noexcept { items[n++] = e; }
  };
  std::vector<dest_group> groups;
  std::vector<int> user_group(M, -1), item_group(M, -1);
  int fu_group = -1, fi_group = -1;
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
    for (std::size_t m = 0; m < M; ++m) user_group[m] = group_of(out.tables.user[m]);
    for (std::size_t m = 0; m < M; ++m) item_group[m] = group_of(out.tables.item[m]);
    fu_group = group_of(out.tables.fused_user);
    fi_group = group_of(out.tables.fused_item);
    std::vector<std::size_t> count(groups.size(), 0);
    for (std::size_t m = 0; m < M; ++m) {
      count[static_cast<std::size_t>(user_group[m])] += B;
      count[static_cast<std::size_t>(item_group[m])] += B * (M + 1);  // i+, i-, and j^c for c != m
    }
    count[static_cast<std::size_t>(fu_group)] += B;
    count[static_cast<std::size_t>(fi_group)] += 2 * B;
    std::size_t total_items = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) total_items += count[g];
    scatter_item<T>* next = grow_to(ws.items, total_items);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      groups[g].items = next;
      next += count[g];
    }
  }

  // ── Phase 2: nothing below throws. ──
  if (!out.hard_negatives.empty())
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t m = 0; m < M; ++m) out.hard_negatives(b, m) = hard_id[b * M + m];
  if (!out.negatives.empty())
    for (std::size_t b = 0; b < B; ++b) out.negatives[b] = neg_id[b];
  if (!out.example_loss.empty())
    for (std::size_t b = 0; b < B; ++b)
      out.example_loss[b] = cfg.lambda_bpr * t_bpr[b] + cfg.lambda_hard * t_chns[b] + cfg.lambda_synergy * t_syn[b] +
                            cfg.lambda_reg * t_l2[b];

  if (sh.want_rows || sh.want_tables) {
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

  if (sh.want_tables) {
    // Contribution order into each destination: example-major, then user[0..M-1], then for
    // m = 0..M-1: i+, i-, j^c (c = 0..M-1, c != m), then fused user, fused i+, fused i-.
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
  return res;
}

}  // namespace detail
BRMRS_END_NAMESPACE
