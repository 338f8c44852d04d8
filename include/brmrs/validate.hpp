// brmrs/validate.hpp — input checks shared by every public entry point.
//
// Each check throws brmrs::invalid_argument with a message of the form
//   "<function>: <argument>[<position>] = <value> <what is wrong>"
// and writes nothing. Public entry points run all their checks before the first write to any
// caller buffer, so on throw every output is unchanged (the strong guarantee). Cost: one pass
// over what is checked (ids: O(n); finiteness: O(rows x cols)). Nothing here is ever used in a
// kernel.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "config.hpp"
#include "error.hpp"
#include "views.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// Promotes 8-bit integers so they print as numbers, not characters.
template <class T>
auto printable(T v) {
  if constexpr (std::is_integral_v<T> && sizeof(T) == 1)
    return static_cast<int>(v);
  else
    return v;
}

template <class Id>
void check_id_in_range(const char* fn, const char* name, std::size_t pos, Id id, std::size_t n) {
  if constexpr (std::is_signed_v<Id>) {
    if (id < 0)
      throw_invalid_argument(fn, ": ", name, "[", pos, "] = ", printable(id),
                             " is negative (valid range [0, ", n, "))");
  }
  if (static_cast<std::size_t>(id) >= n)
    throw_invalid_argument(fn, ": ", name, "[", pos, "] = ", printable(id),
                           " is out of range [0, ", n, ")");
}

// Whether every one of `count` ids is in [0, n): one branch-free pass of unsigned compares (a
// negative id converts to a value above every valid one), which the compiler vectorises into a
// compare and an OR per vector of ids. The min/max pass it replaced made the SIMD selection's
// driver 5 % slower at W in cache (64 ids an example; 626 against 597 us a batch, one thread,
// on the Xeon). The position-by-position checks below run only when this fails, to name the id.
template <class Id>
bool ids_in_range(const Id* p, std::size_t count, std::size_t n) {
  static_assert(std::is_integral_v<Id>, "ids are integers");
  using U = std::make_unsigned_t<Id>;
  constexpr std::size_t id_max = static_cast<std::size_t>(std::numeric_limits<Id>::max());
  if (n > id_max) {
    if constexpr (std::is_unsigned_v<Id>)
      return true;  // every id is below n
    else
      n = id_max + 1;  // every non-negative id is below n
  }
  const U limit = static_cast<U>(n);
  unsigned bad = 0;
  for (std::size_t i = 0; i < count; ++i) bad |= static_cast<unsigned>(static_cast<U>(p[i]) >= limit);
  return bad == 0;
}

template <class Id>
void check_ids_in_range(const char* fn, const char* name, vector_view<const Id> ids, std::size_t n) {
  if (ids_in_range(ids.data(), ids.size(), n)) return;
  for (std::size_t i = 0; i < ids.size(); ++i) check_id_in_range(fn, name, i, ids[i], n);
}

template <class Id>
void check_ids_in_range(const char* fn, const char* name, matrix_view<const Id> ids, std::size_t n) {
  if (ids.rows() == 0 || ids.cols() == 0) return;
  if (ids.stride() == ids.cols()) {
    if (ids_in_range(ids.data(), ids.rows() * ids.cols(), n)) return;
  } else {
    bool ok = true;
    for (std::size_t r = 0; r < ids.rows() && ok; ++r) ok = ids_in_range(ids.row(r), ids.cols(), n);
    if (ok) return;
  }
  for (std::size_t r = 0; r < ids.rows(); ++r)
    for (std::size_t c = 0; c < ids.cols(); ++c) {
      const Id id = ids(r, c);
      if constexpr (std::is_signed_v<Id>) {
        if (id < 0)
          throw_invalid_argument(fn, ": ", name, "(", r, ", ", c, ") = ", printable(id),
                                 " is negative (valid range [0, ", n, "))");
      }
      if (static_cast<std::size_t>(id) >= n)
        throw_invalid_argument(fn, ": ", name, "(", r, ", ", c, ") = ", printable(id),
                               " is out of range [0, ", n, ")");
    }
}

template <class T>
void check_finite(const char* fn, const char* name, vector_view<const T> v) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw_invalid_argument(fn, ": ", name, "[", i, "] = ", v[i], " is not finite");
}

template <class T>
void check_finite(const char* fn, const char* name, matrix_view<const T> m) {
  for (std::size_t r = 0; r < m.rows(); ++r)
    for (std::size_t c = 0; c < m.cols(); ++c)
      if (!std::isfinite(m(r, c)))
        throw_invalid_argument(fn, ": ", name, "(", r, ", ", c, ") = ", m(r, c), " is not finite");
}

// A scalar hyper-parameter that must be finite and >= 0 (every lambda) or > 0 (theta, tau).
template <class T>
void check_nonnegative(const char* fn, const char* name, T value) {
  if (!(value >= T(0)) || !std::isfinite(value))
    throw_invalid_argument(fn, ": ", name, " = ", value, " must be finite and >= 0");
}

template <class T>
void check_positive(const char* fn, const char* name, T value) {
  if (!(value > T(0)) || !std::isfinite(value))
    throw_invalid_argument(fn, ": ", name, " = ", value, " must be finite and > 0");
}

inline void check_size(const char* fn, const char* name, std::size_t got, std::size_t expected,
                       const char* expected_what) {
  if (got != expected)
    throw_invalid_argument(fn, ": ", name, " has size ", got, ", expected ", expected, " (",
                           expected_what, ")");
}

template <class T>
void check_shape(const char* fn, const char* name, matrix_view<T> m, std::size_t rows,
                 std::size_t cols) {
  if (m.rows() != rows || m.cols() != cols)
    throw_invalid_argument(fn, ": ", name, " is ", m.rows(), " x ", m.cols(), ", expected ", rows,
                           " x ", cols);
  if (m.data() == nullptr && rows != 0 && cols != 0)
    throw_invalid_argument(fn, ": ", name, ".data is null for a ", rows, " x ", cols, " view");
}

// Output views must not overlap inputs or each other where the documentation says so; this
// compares address ranges of two views' extents.
template <class A, class B>
bool overlaps(const A* a, std::size_t na, const B* b, std::size_t nb) {
  if (na == 0 || nb == 0) return false;
  const auto* a0 = reinterpret_cast<const unsigned char*>(a);
  const auto* b0 = reinterpret_cast<const unsigned char*>(b);
  return a0 < b0 + nb * sizeof(B) && b0 < a0 + na * sizeof(A);
}

}  // namespace detail
BRMRS_END_NAMESPACE
