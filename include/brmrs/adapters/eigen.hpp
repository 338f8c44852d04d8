// brmrs/adapters/eigen.hpp — brmrs views over Eigen matrices, vectors and Maps (opt-in).
//
//   matrix_view_of(m)  -> matrix_view<Scalar> (const Scalar for a const m) over m's storage
//   vector_view_of(v)  -> vector_view<Scalar> over a vector with unit inner stride
// Accepts any Eigen object with direct access to its storage: Matrix, Array, Map, Ref, Block of
// those. brmrs views are row-major with contiguous rows, so the element (r, c+1) must sit right
// after (r, c). A row-major matrix or Map qualifies (its outer stride becomes the row stride); so
// does a column-major object with one column (a VectorXf) or one row. Anything else — a
// column-major matrix with several columns, a Map with an inner stride, rows that overlap — is
// refused with brmrs::invalid_argument saying why and what to use instead. Nothing is copied:
// the view aliases m and is valid as long as m's storage is. Cost: O(1).
// This is the only brmrs header that includes Eigen.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <type_traits>

#include "../config.hpp"
#include "../error.hpp"
#include "../views.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// Row-major geometry of an Eigen object: throws unless its rows are contiguous.
template <class Derived>
std::size_t eigen_row_stride(const Eigen::DenseBase<Derived>& m, const char* fn) {
  static_assert(bool(Derived::Flags & Eigen::DirectAccessBit),
                "brmrs adapters need an Eigen object with direct access to its storage "
                "(Matrix, Array, Map, Ref or a Block of them), not an expression");
  const auto& d = m.derived();
  const auto rows = static_cast<std::size_t>(d.rows());
  const auto cols = static_cast<std::size_t>(d.cols());
  const bool row_major = bool(Derived::IsRowMajor);
  const auto row_step = static_cast<std::ptrdiff_t>(row_major ? d.outerStride() : d.innerStride());
  const auto col_step = static_cast<std::ptrdiff_t>(row_major ? d.innerStride() : d.outerStride());
  if (cols > 1 && col_step != 1) {
    if (!row_major)
      throw_invalid_argument(fn, ": Eigen matrix (", rows, " x ", cols,
                             ") is column-major, so its rows are not contiguous (element (r, c+1) is ",
                             col_step, " elements after (r, c)); use "
                             "Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> or a "
                             "row-major Eigen::Map");
    throw_invalid_argument(fn, ": Eigen object (", rows, " x ", cols, ") has inner stride ", col_step,
                           "; brmrs views need contiguous rows (inner stride 1)");
  }
  if (rows <= 1) return cols;
  if (row_step < 0 || static_cast<std::size_t>(row_step) < cols)
    throw_invalid_argument(fn, ": Eigen object (", rows, " x ", cols, ") has row stride ", row_step,
                           ", smaller than its ", cols, " columns (rows overlap)");
  return static_cast<std::size_t>(row_step);
}

}  // namespace detail

template <class Derived>
matrix_view<typename Derived::Scalar> matrix_view_of(Eigen::DenseBase<Derived>& m) {
  const std::size_t stride = detail::eigen_row_stride(m, "brmrs::matrix_view_of");
  return matrix_view<typename Derived::Scalar>(m.derived().data(), static_cast<std::size_t>(m.rows()),
                                               static_cast<std::size_t>(m.cols()), stride);
}

template <class Derived>
matrix_view<const typename Derived::Scalar> matrix_view_of(const Eigen::DenseBase<Derived>& m) {
  const std::size_t stride = detail::eigen_row_stride(m, "brmrs::matrix_view_of");
  return matrix_view<const typename Derived::Scalar>(m.derived().data(), static_cast<std::size_t>(m.rows()),
                                                     static_cast<std::size_t>(m.cols()), stride);
}

namespace detail {
template <class Derived>
void check_eigen_vector(const Eigen::DenseBase<Derived>& v, const char* fn) {
  static_assert(bool(Derived::Flags & Eigen::DirectAccessBit),
                "brmrs adapters need an Eigen object with direct access to its storage");
  if (v.rows() != 1 && v.cols() != 1)
    throw_invalid_argument(fn, ": Eigen object is ", v.rows(), " x ", v.cols(), ", not a vector");
  if (v.size() > 1 && v.derived().innerStride() != 1)
    throw_invalid_argument(fn, ": Eigen vector has inner stride ", v.derived().innerStride(),
                           "; brmrs vector views need contiguous elements");
}
}  // namespace detail

template <class Derived>
vector_view<typename Derived::Scalar> vector_view_of(Eigen::DenseBase<Derived>& v) {
  detail::check_eigen_vector(v, "brmrs::vector_view_of");
  return vector_view<typename Derived::Scalar>(v.derived().data(), static_cast<std::size_t>(v.size()));
}

template <class Derived>
vector_view<const typename Derived::Scalar> vector_view_of(const Eigen::DenseBase<Derived>& v) {
  detail::check_eigen_vector(v, "brmrs::vector_view_of");
  return vector_view<const typename Derived::Scalar>(v.derived().data(), static_cast<std::size_t>(v.size()));
}

BRMRS_END_NAMESPACE
