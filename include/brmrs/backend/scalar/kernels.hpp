// brmrs/backend/scalar/kernels.hpp — the scalar kernel policy: the portable reference every other
// backend is tested against.
//
// brmrs::backend::scalar::kernels implements the kernel-policy contract documented in
// backend/policy.hpp (select_hard, dot, axpy, scale, prefetch_row) with plain loops in
// the element order 0, 1, ..., d-1, accumulating in T. It is deliberately simple: what it computes
// is exactly the formula, so a faster policy that disagrees with it beyond rounding has a bug.
// Cost: select_hard O(M·K·d) multiply-adds, the rest O(d). Never throws, never allocates.
// Preconditions (checked by the public entry points, not here): pointers valid for the given
// sizes, ids in range.
#pragma once

#include <cstddef>

#include "../../config.hpp"
#include "../policy.hpp"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace scalar {

struct kernels {
  // <a, b> over d elements, summed left to right.
  template <class T>
  static T dot(const T* a, const T* b, std::size_t d) noexcept {
    T s = T(0);
    for (std::size_t i = 0; i < d; ++i) s += a[i] * b[i];
    return s;
  }

  // y += alpha * x
  template <class T>
  static void axpy(T alpha, const T* x, T* y, std::size_t d) noexcept {
    for (std::size_t i = 0; i < d; ++i) y[i] += alpha * x[i];
  }

  // y = alpha * x
  template <class T>
  static void scale(T alpha, const T* x, T* y, std::size_t d) noexcept {
    for (std::size_t i = 0; i < d; ++i) y[i] = alpha * x[i];
  }

  // A hint that `row` (d elements) will be read soon. The reference does nothing: its timing is
  // not the point, and a hint must never change a result.
  template <class T>
  static void prefetch_row(const T* row, std::size_t d) noexcept {
    (void)row;
    (void)d;
  }

  // Fused gather-score-argmax over one example's pool (see the contract in
  // backend/policy.hpp). Candidates are visited in pool order and, for each, every
  // modality is scored, so each pool row is gathered once per modality while it is hot.
  // Ties keep the earlier k (strict >); a NaN score fails every comparison and so never becomes
  // the maximum; best[m] stays K when every score of modality m is NaN.
  template <class T, class Id>
  static void select_hard(int M, const T* const* user_rows, const T* const* item_base,
                          const std::size_t* item_stride, const std::size_t* dims, const Id* pool,
                          std::size_t K, T* scores, std::size_t* best,
                          const Id* /*next_pool: a look-ahead hint this policy does not use*/ = nullptr,
                          row_prefetch /*rows: a prefetch hint this policy does not use*/ = row_prefetch::by_pool) noexcept {
    for (int m = 0; m < M; ++m) best[m] = K;
    for (std::size_t k = 0; k < K; ++k) {
      const std::size_t id = static_cast<std::size_t>(pool[k]);
      for (int m = 0; m < M; ++m) {
        const T s = dot(user_rows[m], item_base[m] + id * item_stride[m], dims[m]);
        scores[static_cast<std::size_t>(m) * K + k] = s;
        if (s != s) continue;  // NaN never wins
        const std::size_t bm = best[m];
        if (bm == K || s > scores[static_cast<std::size_t>(m) * K + bm]) best[m] = k;
      }
    }
  }
};

}  // namespace scalar
}  // namespace backend
BRMRS_END_NAMESPACE
