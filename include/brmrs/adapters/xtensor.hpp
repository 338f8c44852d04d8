// brmrs/adapters/xtensor.hpp — brmrs views over xtensor containers (opt-in).
//
//   matrix_view_of(a)  -> matrix_view<T> (const T for a const a) for xt::xtensor<T, 2, L> and
//                         xt::xarray<T, L> of dimension 2
//   vector_view_of(a)  -> vector_view<T> for xt::xtensor<T, 1, L> and 1-D xt::xarray<T, L>
// brmrs views are row-major with contiguous rows: a row_major container qualifies, and so does
// any container whose actual strides put element (r, c+1) right after (r, c) (a column-major one
// with a single column, say). A column-major 2-D container with several columns, an xarray of
// the wrong dimension, or non-unit inner strides are refused with brmrs::invalid_argument. No copy
// is made: the view aliases the container's storage. Cost: O(1).
// This is the only brmrs header that includes xtensor.
#pragma once

#include <cstddef>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "../config.hpp"
#include "../error.hpp"
#include "../views.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// xtensor stores strides in elements and sets the stride of an extent-1 axis to 0.
template <class E>
std::size_t xtensor_row_stride(const E& a, const char* fn) {
  if (a.dimension() != 2)
    throw_invalid_argument(fn, ": xtensor container has dimension ", a.dimension(), ", expected 2");
  const auto rows = static_cast<std::size_t>(a.shape()[0]);
  const auto cols = static_cast<std::size_t>(a.shape()[1]);
  const auto row_step = static_cast<std::ptrdiff_t>(a.strides()[0]);
  const auto col_step = static_cast<std::ptrdiff_t>(a.strides()[1]);
  if (cols > 1 && col_step != 1) {
    if (a.layout() == xt::layout_type::column_major)
      throw_invalid_argument(fn, ": xtensor container (", rows, " x ", cols,
                             ") is column-major, so its rows are not contiguous; use "
                             "xt::layout_type::row_major");
    throw_invalid_argument(fn, ": xtensor container (", rows, " x ", cols, ") has inner stride ",
                           col_step, "; brmrs views need contiguous rows");
  }
  if (rows <= 1) return cols;
  if (row_step < 0 || static_cast<std::size_t>(row_step) < cols)
    throw_invalid_argument(fn, ": xtensor container (", rows, " x ", cols, ") has row stride ", row_step,
                           ", smaller than its ", cols, " columns");
  return static_cast<std::size_t>(row_step);
}

template <class E>
void check_xtensor_vector(const E& a, const char* fn) {
  if (a.dimension() != 1)
    throw_invalid_argument(fn, ": xtensor container has dimension ", a.dimension(), ", expected 1");
  if (a.shape()[0] > 1 && a.strides()[0] != 1)
    throw_invalid_argument(fn, ": xtensor vector has stride ", a.strides()[0],
                           "; brmrs vector views need contiguous elements");
}

template <class P, class E>
matrix_view<P> xtensor_matrix(P* data, const E& a) {
  const std::size_t stride = xtensor_row_stride(a, "brmrs::matrix_view_of");
  return matrix_view<P>(data, static_cast<std::size_t>(a.shape()[0]), static_cast<std::size_t>(a.shape()[1]),
                        stride);
}

template <class P, class E>
vector_view<P> xtensor_vector(P* data, const E& a) {
  check_xtensor_vector(a, "brmrs::vector_view_of");
  return vector_view<P>(data, static_cast<std::size_t>(a.shape()[0]));
}

}  // namespace detail

template <class T, xt::layout_type L>
matrix_view<T> matrix_view_of(xt::xtensor<T, 2, L>& a) {
  return detail::xtensor_matrix(a.data(), a);
}
template <class T, xt::layout_type L>
matrix_view<const T> matrix_view_of(const xt::xtensor<T, 2, L>& a) {
  return detail::xtensor_matrix(a.data(), a);
}
template <class T, xt::layout_type L>
matrix_view<T> matrix_view_of(xt::xarray<T, L>& a) {
  return detail::xtensor_matrix(a.data(), a);
}
template <class T, xt::layout_type L>
matrix_view<const T> matrix_view_of(const xt::xarray<T, L>& a) {
  return detail::xtensor_matrix(a.data(), a);
}

template <class T, xt::layout_type L>
vector_view<T> vector_view_of(xt::xtensor<T, 1, L>& a) {
  return detail::xtensor_vector(a.data(), a);
}
template <class T, xt::layout_type L>
vector_view<const T> vector_view_of(const xt::xtensor<T, 1, L>& a) {
  return detail::xtensor_vector(a.data(), a);
}
template <class T, xt::layout_type L>
vector_view<T> vector_view_of(xt::xarray<T, L>& a) {
  return detail::xtensor_vector(a.data(), a);
}
template <class T, xt::layout_type L>
vector_view<const T> vector_view_of(const xt::xarray<T, L>& a) {
  return detail::xtensor_vector(a.data(), a);
}

BRMRS_END_NAMESPACE
