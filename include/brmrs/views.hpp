// brmrs/views.hpp — non-owning views over caller memory: vector_view<T> and matrix_view<T>.
//
// brmrs never allocates the caller's tables or outputs: every function takes views.
//   vector_view<T>   pointer + size (a minimal std::span for C++17).
//   matrix_view<T>   row-major: pointer, rows, cols and a row stride in elements (>= cols),
//                    so a view can cover a slice of a wider table or a padded layout.
// A view of T converts implicitly to a view of const T. Views are trivially copyable, cost
// nothing to pass by value, and are usable in CUDA device code (BRMRS_HD) where the pointer is
// a device pointer. An empty view (data == nullptr, size 0) means "not requested" wherever a
// function documents an output as optional.
// Preconditions (stride >= cols, non-null data when non-empty) are checked by the constructors
// that take user input only through brmrs::make_matrix_view, which throws
// brmrs::invalid_argument naming the value; the raw constructors assert in debug builds.
#pragma once

#include <cstddef>
#include <type_traits>

#include "config.hpp"
#include "error.hpp"

BRMRS_BEGIN_NAMESPACE

template <class T>
class vector_view {
 public:
  using value_type = std::remove_cv_t<T>;
  using element_type = T;

  constexpr vector_view() noexcept = default;
  BRMRS_HD constexpr vector_view(T* data, std::size_t size) noexcept : data_(data), size_(size) {}

  // A view of T is a view of const T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  BRMRS_HD constexpr vector_view(const vector_view<U>& other) noexcept
      : data_(other.data()), size_(other.size()) {}

  BRMRS_HD constexpr T* data() const noexcept { return data_; }
  BRMRS_HD constexpr std::size_t size() const noexcept { return size_; }
  BRMRS_HD constexpr bool empty() const noexcept { return size_ == 0; }
  BRMRS_HD constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  BRMRS_HD constexpr T* begin() const noexcept { return data_; }
  BRMRS_HD constexpr T* end() const noexcept { return data_ + size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

template <class T>
class matrix_view {
 public:
  using value_type = std::remove_cv_t<T>;
  using element_type = T;

  constexpr matrix_view() noexcept = default;
  // Contiguous rows: stride == cols.
  BRMRS_HD constexpr matrix_view(T* data, std::size_t rows, std::size_t cols) noexcept
      : data_(data), rows_(rows), cols_(cols), stride_(cols) {}
  BRMRS_HD constexpr matrix_view(T* data, std::size_t rows, std::size_t cols, std::size_t stride) noexcept
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {
#if !BRMRS_CUDA_COMPILER
    BRMRS_ASSERT(stride >= cols);
#endif
  }

  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  BRMRS_HD constexpr matrix_view(const matrix_view<U>& other) noexcept
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), stride_(other.stride()) {}

  BRMRS_HD constexpr T* data() const noexcept { return data_; }
  BRMRS_HD constexpr std::size_t rows() const noexcept { return rows_; }
  BRMRS_HD constexpr std::size_t cols() const noexcept { return cols_; }
  BRMRS_HD constexpr std::size_t stride() const noexcept { return stride_; }
  BRMRS_HD constexpr bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  // Elements spanned from the first to one past the last element (rows-1)*stride + cols.
  BRMRS_HD constexpr std::size_t extent() const noexcept {
    return rows_ == 0 ? 0 : (rows_ - 1) * stride_ + cols_;
  }
  BRMRS_HD constexpr T* row(std::size_t r) const noexcept { return data_ + r * stride_; }
  BRMRS_HD constexpr T& operator()(std::size_t r, std::size_t c) const noexcept {
    return data_[r * stride_ + c];
  }
  BRMRS_HD constexpr vector_view<T> row_view(std::size_t r) const noexcept {
    return vector_view<T>(row(r), cols_);
  }

 private:
  T* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t stride_ = 0;
};

namespace detail {
// Keeps a parameter out of template deduction, so that a view of Id binds to a parameter
// declared as a view of const Id (used by the entry points that take id views).
template <class T>
struct nondeduced {
  using type = T;
};
template <class T>
using nondeduced_t = typename nondeduced<T>::type;
}  // namespace detail

// Checked construction for views built from user input: throws brmrs::invalid_argument naming
// `what` when the stride is smaller than the row length or the pointer is null for a non-empty
// view.
template <class T>
matrix_view<T> make_matrix_view(T* data, std::size_t rows, std::size_t cols, std::size_t stride,
                                const char* what = "matrix") {
  if (stride < cols)
    detail::throw_invalid_argument("brmrs::make_matrix_view: ", what, ".stride = ", stride,
                                   " is smaller than ", what, ".cols = ", cols);
  if (data == nullptr && rows != 0 && cols != 0)
    detail::throw_invalid_argument("brmrs::make_matrix_view: ", what, ".data is null for a ",
                                   rows, " x ", cols, " view");
  return matrix_view<T>(data, rows, cols, stride);
}

template <class T>
matrix_view<T> make_matrix_view(T* data, std::size_t rows, std::size_t cols,
                                const char* what = "matrix") {
  return make_matrix_view(data, rows, cols, cols, what);
}

template <class T>
vector_view<T> make_vector_view(T* data, std::size_t size, const char* what = "vector") {
  if (data == nullptr && size != 0)
    detail::throw_invalid_argument("brmrs::make_vector_view: ", what, ".data is null for size ", size);
  return vector_view<T>(data, size);
}

BRMRS_END_NAMESPACE
