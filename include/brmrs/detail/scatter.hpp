// brmrs/detail/scatter.hpp — deterministic scatter-add of gradient rows into a table-shaped
// buffer: dest.row(items[e].row) += items[e].src for e = 0, 1, ..., n-1.
//
// Determinism: every destination row receives its contributions in the order of `items`, whatever
// the thread count. With OpenMP the destination rows are split into contiguous ranges, one per
// thread; each thread walks the whole item list and applies only the items whose row falls in its
// range. No two threads ever write the same row, no atomics are used, and the per-row order is
// the list order, so the result is bitwise identical for 1, 2 or 7 threads and to a serial loop
//   for (e = 0; e < n; ++e) for (i = 0; i < cols; ++i) dest(items[e].row, i) += items[e].src[i];
// Cost: O(n·cols) additions plus O(n·threads) index comparisons. Never throws; the caller has
// validated every row index (< dest.rows()) and that no source row overlaps `dest`.
#pragma once

#include <cstddef>

#include "../config.hpp"
#include "../views.hpp"

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

BRMRS_BEGIN_NAMESPACE
namespace detail {

template <class T>
struct scatter_item {
  std::size_t row;  // destination row
  const T* src;     // dest.cols() contiguous elements to add
};

template <class T>
inline void scatter_add_range(matrix_view<T> dest, const scatter_item<T>* items, std::size_t n,
                              std::size_t row_lo, std::size_t row_hi) noexcept {
  const std::size_t cols = dest.cols();
  for (std::size_t e = 0; e < n; ++e) {
    const std::size_t r = items[e].row;
    if (r < row_lo || r >= row_hi) continue;
    T* y = dest.row(r);
    const T* x = items[e].src;
    for (std::size_t i = 0; i < cols; ++i) y[i] += x[i];
  }
}

// Below this many added elements a parallel region costs more than it saves.
constexpr std::size_t scatter_parallel_threshold = 1u << 15;

template <class T>
inline void scatter_add(matrix_view<T> dest, const scatter_item<T>* items, std::size_t n) noexcept {
  if (n == 0 || dest.rows() == 0) return;
#if BRMRS_HAS_OPENMP
  if (n * dest.cols() >= scatter_parallel_threshold && omp_get_max_threads() > 1 && !omp_in_parallel()) {
    const std::size_t rows = dest.rows();
#pragma omp parallel
    {
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      const std::size_t nt = static_cast<std::size_t>(omp_get_num_threads());
      const std::size_t lo = rows * t / nt, hi = rows * (t + 1) / nt;
      scatter_add_range(dest, items, n, lo, hi);
    }
    return;
  }
#endif
  scatter_add_range(dest, items, n, 0, dest.rows());
}

}  // namespace detail
BRMRS_END_NAMESPACE
