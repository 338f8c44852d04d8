// brmrs/losses/common.hpp — what the score-level losses (bpr.hpp, chns.hpp, synergy.hpp) share:
// the reduction scale and the checks every one of them runs before writing anything.
//
// Reduction: reduce = mean gives L = (1/B) Σ_b ℓ_b and every gradient carries the factor 1/B;
// reduce = sum gives L = Σ_b ℓ_b. Batch sums run in example order in double (deterministic, and
// accurate for float inputs), and the result is rounded to T once.
// Not a header users need to include on its own.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "../config.hpp"
#include "../detail/view_regions.hpp"
#include "../error.hpp"
#include "../objective_types.hpp"
#include "../validate.hpp"
#include "../views.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

template <class T>
T reduction_scale(reduction r, std::size_t B) {
  return r == reduction::mean ? T(1) / static_cast<T>(B) : T(1);
}

inline double reduction_scale_double(reduction r, std::size_t B) {
  return r == reduction::mean ? 1.0 / static_cast<double>(B) : 1.0;
}

inline void check_reduction(const char* fn, reduction r) {
  if (r != reduction::mean && r != reduction::sum)
    throw_invalid_argument(fn, ": reduce = ", static_cast<int>(r), " is not a reduction");
}

// A score input of B entries: the right size, non-null, every entry finite.
template <class T>
void check_scores(const char* fn, const char* name, int m, vector_view<const T> v, std::size_t B) {
  if (v.size() != B)
    throw_invalid_argument(fn, ": ", name, (m >= 0 ? "[" + std::to_string(m) + "]" : std::string()), " has size ",
                           v.size(), ", expected B = ", B);
  if (B != 0 && v.data() == nullptr)
    throw_invalid_argument(fn, ": ", name, (m >= 0 ? "[" + std::to_string(m) + "]" : std::string()), ".data is null");
  for (std::size_t b = 0; b < B; ++b)
    if (!std::isfinite(v[b]))
      throw_invalid_argument(fn, ": ", name, (m >= 0 ? "[" + std::to_string(m) + "]" : std::string()), "[", b,
                             "] = ", v[b], " is not finite");
}

// An optional gradient output of B entries: empty, or the right size and non-null.
template <class T>
bool check_optional_out(const char* fn, const char* name, int m, vector_view<T> v, std::size_t B) {
  if (v.empty() && v.data() == nullptr) return false;
  if (v.size() != B || v.data() == nullptr)
    throw_invalid_argument(fn, ": ", name, (m >= 0 ? "[" + std::to_string(m) + "]" : std::string()), " has size ",
                           v.size(), ", expected B = ", B, " (or an empty view)");
  return true;
}

// No output region may overlap an input region or another output region.
inline void check_no_overlap(const char* fn, const std::vector<view_region>& inputs,
                             const std::vector<view_region>& outputs) {
  auto fail = [fn](const view_region& a, const view_region& b) {
    std::ostringstream os;
    os << fn << ": ";
    name_region(os, a);
    os << " overlaps ";
    name_region(os, b);
    os << " (outputs must not alias inputs or other outputs)";
    throw brmrs::invalid_argument(os.str());
  };
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    for (const auto& r : inputs)
      if (regions_overlap(outputs[i], r)) fail(outputs[i], r);
    for (std::size_t j = 0; j < i; ++j)
      if (regions_overlap(outputs[i], outputs[j])) fail(outputs[i], outputs[j]);
  }
}

}  // namespace detail
BRMRS_END_NAMESPACE
