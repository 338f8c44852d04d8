// brmrs/backend/simd/select_batch.hpp — hard-negative selection alone, over a whole batch.
//
//   template <class Policy = kernels<xsimd::default_arch>, class T, class Id>
//   void select_hard_batch(const dot_tables<T>& tables, const batch<Id>& batch,
//                          matrix_view<Id> hard);
//
// hard(b, m) = pools(b, k*), k* the first slot maximising <user[m].row(users[b]),
// item[m].row(pools(b, k))>: the selection step of compute_objective (phase 1 without the loss),
// with any kernel policy (backend::simd::kernels<Arch> or backend::scalar::kernels). It exists to
// measure the selection on its own (benchmarks/bench_select.cpp, the peer script) and for hosts
// that only want the hard negatives.
// Cost: B·K·Σ_m d_m multiply-adds and as many elements gathered; OpenMP over examples in
// contiguous per-thread blocks (detail::static_block), one modality per pass over the block while
// the item tables are within the policy's cache size, all together beyond it; while example b is scored, the user rows of example b + 1 are prefetched and
// the policy's look-ahead over pool rows runs on into b + 1's pool (a policy without one gets
// b + 1's first pool rows prefetched here), so a thread never starts an example on a cold DRAM
// access.
// Validation: the checks compute_objective makes on what the selection reads (tables' shapes,
// user and pool ids in range, K >= 1; M >= 1 suffices here), plus the shape of `hard` (B x M)
// and that it overlaps no input (the ids are checked in the parallel loop, each example's just
// before it is read, and a bad one named after it); throws
// brmrs::invalid_argument before anything is written. An example whose scores of a modality are
// all NaN has no hard negative: that throws too, naming the example, and `hard` is then
// untouched (the ids go through an internal buffer). Bitwise deterministic for any thread count.
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

#include "../../config.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/objective_workspace.hpp"
#include "../cpu/schedule.hpp"
#include "../policy.hpp"
#include "../../validate.hpp"
#include "../../error.hpp"
#include "../../objective_types.hpp"
#include "../../views.hpp"

#if BRMRS_HAS_XSIMD
#include "kernels.hpp"
#endif

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace simd {

// Whether a policy advertises how far ahead it prefetches inside an example (backend/policy.hpp).
template <class P>
using has_prefetch_distance = detail::policy_has_prefetch_distance<P>;
template <class P>
using has_prefetch_min_bytes = detail::policy_has_prefetch_min_bytes<P>;

struct select_shape {
  std::size_t M = 0, B = 0, K = 0, n_users = 0, n_items = 0;
  std::vector<std::size_t> dims;
};

// The checks compute_objective makes on the tables and the batch shape that the selection depends
// on (the fused tables and i+ / i- are not read here); throws before anything is written.
template <class T, class Id>
select_shape validate_selection(const char* fn, const dot_tables<T>& tables, const batch<Id>& b) {
  select_shape s;
  s.M = tables.item.size();
  if (s.M == 0) detail::throw_invalid_argument(fn, ": tables.item is empty (no modality)");
  if (tables.user.size() != s.M)
    detail::throw_invalid_argument(fn, ": tables.user has ", tables.user.size(), " views, expected ", s.M);
  s.n_users = tables.user[0].rows();
  s.n_items = tables.item[0].rows();
  s.dims.resize(s.M);
  for (std::size_t m = 0; m < s.M; ++m) {
    const auto& u = tables.user[m];
    const auto& it = tables.item[m];
    if (u.rows() != s.n_users || it.rows() != s.n_items)
      detail::throw_invalid_argument(fn, ": tables.user[", m, "] / tables.item[", m, "] have ", u.rows(), " / ",
                                     it.rows(), " rows, expected ", s.n_users, " / ", s.n_items);
    if (u.cols() != it.cols() || it.cols() == 0)
      detail::throw_invalid_argument(fn, ": tables.user[", m, "] has ", u.cols(), " columns, tables.item[", m,
                                     "] has ", it.cols(), " (they must match and be > 0)");
    if (u.data() == nullptr || it.data() == nullptr)
      detail::throw_invalid_argument(fn, ": tables.", u.data() == nullptr ? "user[" : "item[", m, "].data is null");
    if (u.stride() < u.cols() || it.stride() < it.cols())
      detail::throw_invalid_argument(fn, ": tables.", u.stride() < u.cols() ? "user[" : "item[", m,
                                     "].stride is smaller than its columns");
    s.dims[m] = it.cols();
  }
  if (s.n_users == 0 || s.n_items == 0)
    detail::throw_invalid_argument(fn, ": the tables have ", s.n_users, " users and ", s.n_items, " items");
  s.B = b.users.size();
  if (s.B == 0) detail::throw_invalid_argument(fn, ": batch.users is empty (B = 0)");
  if (b.users.data() == nullptr) detail::throw_invalid_argument(fn, ": batch.users.data is null");
  if (b.pools.rows() != s.B)
    detail::throw_invalid_argument(fn, ": batch.pools has ", b.pools.rows(), " rows, expected B = ", s.B);
  s.K = b.pools.cols();
  if (s.K == 0) detail::throw_invalid_argument(fn, ": batch.pools has K = 0 columns (empty pool)");
  if (b.pools.data() == nullptr) detail::throw_invalid_argument(fn, ": batch.pools.data is null");
  if (b.pools.stride() < s.K)
    detail::throw_invalid_argument(fn, ": batch.pools.stride = ", b.pools.stride(), " is smaller than K = ", s.K);
  // The ids are checked by the caller (check_selection_ids), which may do it in parallel.
  return s;
}

// Every user and pool id in range; throws naming the first bad one. One branch-free pass each
// (detail::ids_in_range); the position-by-position scan only to name a bad id.
template <class Id>
void check_selection_ids(const char* fn, const batch<Id>& b, const select_shape& s) {
  detail::check_ids_in_range(fn, "batch.users", b.users, s.n_users);
  detail::check_ids_in_range(fn, "batch.pools", b.pools, s.n_items);
}

#if BRMRS_HAS_XSIMD
template <class Policy = kernels<xsimd::default_arch>, class T, class Id>
#else
template <class Policy, class T, class Id>
#endif
void select_hard_batch(const dot_tables<T>& tables, const batch<Id>& bt, matrix_view<Id> hard) {
  constexpr const char* fn = "brmrs::backend::simd::select_hard_batch";
  const select_shape sh = validate_selection(fn, tables, bt);
  const std::size_t M = sh.M, B = sh.B, K = sh.K;
  if (hard.rows() != B || hard.cols() != M)
    detail::throw_invalid_argument(fn, ": hard is ", hard.rows(), " x ", hard.cols(), ", expected B x M = ", B,
                                   " x ", M);
  if (hard.data() == nullptr) detail::throw_invalid_argument(fn, ": hard.data is null");
  if (hard.rows() > 1 && hard.stride() < M)  // overlapping rows would race between threads
    detail::throw_invalid_argument(fn, ": hard.stride = ", hard.stride(), " is smaller than M = ", M);
  const auto* hb = reinterpret_cast<const unsigned char*>(hard.data());
  const auto* he = reinterpret_cast<const unsigned char*>(hard.data() + hard.extent());
  auto overlaps = [&](const void* p, std::size_t bytes) {
    const auto* a = static_cast<const unsigned char*>(p);
    return bytes != 0 && a < he && hb < a + bytes;
  };
  if (overlaps(bt.pools.data(), bt.pools.extent() * sizeof(Id)) ||
      overlaps(bt.users.data(), bt.users.size() * sizeof(Id)))
    detail::throw_invalid_argument(fn, ": hard overlaps batch.pools or batch.users");

  const detail::item_tables<T> items(tables);
  const std::size_t* dims = sh.dims.data();
  std::vector<Id> ids(B * M);
  // Per example: 0 = scored, 1 = a modality's scores all NaN, 2 = an id out of range (not scored).
  std::vector<unsigned char> fault(B, 0);

  const int n_threads = detail::pipeline_max_threads();
  const std::size_t nt = static_cast<std::size_t>(n_threads);
  // Per-thread blocks on separate 128-byte units (detail::thread_blocks): no line shared by two
  // threads' per-example writes.
  const std::size_t per_thread = detail::thread_block_elements<T>(M * K);
  const std::size_t best_block = detail::thread_block_elements<std::size_t>(M);
  const std::size_t urow_block = detail::thread_block_elements<const T*>(M);
  std::vector<T> scratch_buf;
  std::vector<std::size_t> best_buf;
  std::vector<const T*> urow_buf;
  T* const scratch = detail::thread_blocks(scratch_buf, nt, M * K);
  std::size_t* const best_scratch = detail::thread_blocks(best_buf, nt, M);
  const T** const urow_scratch = detail::thread_blocks(urow_buf, nt, M);
  // How many leading pool slots of the next example to request here: none for a policy that
  // runs its own look-ahead on into the next pool (the SIMD one), none for tables in cache.
  const std::size_t lead = detail::pool_prefetch_lead<Policy>(items, sh.n_items, K);
  const row_prefetch pool_rows = detail::pool_row_prefetch<Policy>(items, sh.n_items);

  // Each thread scores its block of examples (detail::static_block, the split of schedule(static)).
  // The ids are checked there, example by example, just before they are read: a serial pass over
  // the batch's pool ids first cost 3% of the selection at W (10 us of 0.34 ms: the pass evicts the
  // item tables from the checking core's L2, measured). An example with a bad id is not scored;
  // the serial check after the loop names the id. ids_ok(b + 1) is computed once, one example
  // ahead, because b + 1's rows are prefetched (and its pool looked ahead into) while b is scored.
  auto ids_ok = [&](std::size_t e) {
    return detail::ids_in_range(bt.users.data() + e, 1, sh.n_users) && detail::ids_in_range(bt.pools.row(e), K, sh.n_items);
  };
  // Modalities per pass over a thread's block: one while the tables are in cache (see there).
  const std::size_t width = detail::selection_pass_width(pool_rows, M);
#if BRMRS_HAS_OPENMP
#pragma omp parallel num_threads(n_threads) if (n_threads > 1)
#endif
  {
    const std::size_t tid = static_cast<std::size_t>(detail::pipeline_thread_num());
    const detail::example_range range = detail::static_block(B, tid, static_cast<std::size_t>(detail::pipeline_team_size()));
    T* const scores = scratch + tid * per_thread;
    std::size_t* const best = best_scratch + tid * best_block;
    const T** const urow = urow_scratch + tid * urow_block;
    for (std::size_t m0 = 0; m0 < M; m0 += width) {
      const std::size_t g = M - m0 < width ? M - m0 : width;
      // The first pass checks the ids (fault 2 marks a bad example); later passes read its verdict
      // for this thread's examples and check the next thread's first example again.
      const bool first_pass = m0 == 0;
      bool ok = range.first < range.end && (first_pass ? ids_ok(range.first) : fault[range.first] != 2);
      for (std::size_t b = range.first; b < range.end; ++b) {
        const bool next_ok = b + 1 < B && (first_pass || b + 1 >= range.end ? ids_ok(b + 1) : fault[b + 1] != 2);
        const Id* next_pool = next_ok ? bt.pools.row(b + 1) : static_cast<const Id*>(nullptr);
        if (next_ok) {
          const std::size_t un = static_cast<std::size_t>(bt.users[b + 1]);
          for (std::size_t m = m0; m < m0 + g; ++m) {
            Policy::prefetch_row(tables.user[m].row(un), dims[m]);
            for (std::size_t k = 0; k < lead; ++k)
              Policy::prefetch_row(items.base[m] + static_cast<std::size_t>(next_pool[k]) * items.stride[m], dims[m]);
          }
        }
        if (!ok) {
          fault[b] = 2;
          ok = next_ok;
          continue;
        }
        ok = next_ok;
        if (fault[b] == 1) continue;  // all-NaN scores in an earlier pass: the example throws anyway
        const Id* pool = bt.pools.row(b);
        const std::size_t u = static_cast<std::size_t>(bt.users[b]);
        for (std::size_t m = m0; m < m0 + g; ++m) urow[m] = tables.user[m].row(u);
        Policy::select_hard(static_cast<int>(g), urow + m0, items.base.data() + m0, items.stride.data() + m0, dims + m0,
                            pool, K, scores, best, next_pool, pool_rows);
        for (std::size_t m = 0; m < g; ++m) {
          if (best[m] >= K) {
            fault[b] = 1;
            break;
          }
          ids[b * M + m0 + m] = pool[best[m]];
        }
      }
    }
  }
  for (std::size_t b = 0; b < B; ++b)
    if (fault[b] == 2) check_selection_ids(fn, bt, sh);  // throws, naming the first bad id
  for (std::size_t b = 0; b < B; ++b)
    if (fault[b] == 1)
      detail::throw_invalid_argument(fn, ": example ", b, ": every pool score of a modality is NaN (no hard negative)");
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t m = 0; m < M; ++m) hard(b, m) = ids[b * M + m];
}

}  // namespace simd
}  // namespace backend
BRMRS_END_NAMESPACE
