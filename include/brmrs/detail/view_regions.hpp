// brmrs/detail/view_regions.hpp — the memory a view covers, and whether two views share an
// element: the aliasing checks of every public entry point (outputs must not overlap inputs or
// each other). Exact for two views of one element size and row stride (column blocks of one
// wider buffer are disjoint); otherwise conservative (compares byte extents). Never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>

#include "../config.hpp"
#include "../views.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// A memory region an input or output view covers, for the aliasing checks.
struct view_region {
  const unsigned char* base;
  std::size_t elem, rows, cols, stride;  // stride in elements
  const char* name;
  int index;  // modality or -1
};

template <class V>
view_region region_of(matrix_view<V> v, const char* name, int index) {
  return {reinterpret_cast<const unsigned char*>(v.data()), sizeof(V), v.rows(), v.cols(), v.stride(),
          name, index};
}
template <class V>
view_region region_of(vector_view<V> v, const char* name, int index) {
  return {reinterpret_cast<const unsigned char*>(v.data()), sizeof(V), v.size() ? 1u : 0u, v.size(),
          v.size(), name, index};
}

inline bool region_empty(const view_region& r) { return r.base == nullptr || r.rows == 0 || r.cols == 0; }

// Whether two regions share an element. Exact for two views of the same element size and row
// stride (e.g. column blocks of one wider buffer are disjoint); otherwise compares byte extents.
inline bool regions_overlap(const view_region& a, const view_region& b) {
  if (region_empty(a) || region_empty(b)) return false;
  const std::size_t ea = ((a.rows - 1) * a.stride + a.cols) * a.elem;
  const std::size_t eb = ((b.rows - 1) * b.stride + b.cols) * b.elem;
  const std::uintptr_t pa = reinterpret_cast<std::uintptr_t>(a.base), pb = reinterpret_cast<std::uintptr_t>(b.base);
  if (!(pa < pb + eb && pb < pa + ea)) return false;
  if (a.elem == b.elem && a.stride == b.stride) {
    const std::ptrdiff_t bytes = static_cast<std::ptrdiff_t>(pb - pa);
    if (bytes % static_cast<std::ptrdiff_t>(a.elem) == 0) {
      const std::ptrdiff_t s = static_cast<std::ptrdiff_t>(a.stride);
      const std::ptrdiff_t off = bytes / static_cast<std::ptrdiff_t>(a.elem);
      const std::size_t c0 = static_cast<std::size_t>(((off % s) + s) % s);
      // b's row starts at column c0 of a's rows; a covers [0, a.cols) and b [c0, c0 + b.cols).
      if (c0 >= a.cols && c0 + b.cols <= a.stride) return false;
    }
  }
  return true;
}

inline bool same_region(const view_region& a, const view_region& b) {
  return a.base == b.base && a.elem == b.elem && a.rows == b.rows && a.cols == b.cols && a.stride == b.stride;
}

inline void name_region(std::ostringstream& os, const view_region& r) {
  os << r.name;
  if (r.index >= 0) os << "[" << r.index << "]";
}

}  // namespace detail
BRMRS_END_NAMESPACE
