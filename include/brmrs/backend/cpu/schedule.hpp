// brmrs/backend/cpu/schedule.hpp — how the CPU drivers split a batch over threads and when they
// prefetch: the OpenMP team, each thread's block of examples, and the prefetch heuristics that
// adapt to a kernel policy's optional members (backend/policy.hpp).
//
// Everything here is a schedule or a hint: which thread evaluates an example, and whether a row
// is prefetched, never change a result.
#pragma once

#include <cstddef>
#include <vector>

#include "../../config.hpp"
#include "../../objective_types.hpp"
#include "../policy.hpp"

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

BRMRS_BEGIN_NAMESPACE
namespace detail {

#if BRMRS_HAS_OPENMP
inline int pipeline_max_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }
inline int pipeline_thread_num() { return omp_get_thread_num(); }
inline int pipeline_team_size() { return omp_get_num_threads(); }
#else
inline int pipeline_max_threads() { return 1; }
inline int pipeline_thread_num() { return 0; }
inline int pipeline_team_size() { return 1; }
#endif

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
// (P::prefetch_threshold_bytes(), chosen at run time from the CPU's cache, or else the fixed
// P::prefetch_min_bytes), beyond which prefetching their rows pays; always true for a policy
// that names no such size. The one test behind every prefetch decision of the drivers (the SIMD
// policy applies the same one to pool rows inside select_hard).
template <class P>
bool beyond_policy_cache(std::size_t n_items, std::size_t row_bytes) {
  if constexpr (policy_has_prefetch_threshold<P>::value)
    return n_items * row_bytes > P::prefetch_threshold_bytes();
  else if constexpr (policy_has_prefetch_min_bytes<P>::value)
    return n_items * row_bytes > P::prefetch_min_bytes;
  else
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

// overrides it at compile time). A hint: results never depend on it.
#ifdef BRMRS_BACKWARD_PREFETCH_AHEAD
constexpr std::size_t backward_prefetch_ahead = BRMRS_BACKWARD_PREFETCH_AHEAD;
#else
constexpr std::size_t backward_prefetch_ahead = 2;
#endif

}  // namespace detail
BRMRS_END_NAMESPACE
