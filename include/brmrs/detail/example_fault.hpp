// brmrs/detail/example_fault.hpp — how compute_objective reports a non-finite value.
//
// A non-finite score or loss is recorded per example while the examples are evaluated in
// parallel (example_fault); after the loop the LOWEST failing example throws (throw_fault), so the
// message never depends on the thread count. The CPU pipeline and the CUDA backend report the
// same faults with the same messages.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "../config.hpp"
#include "../error.hpp"
#include "objective_validation.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// What phase 1 found wrong with one example (the lowest such example throws after the loop).
template <class T>
struct example_fault {
  int kind = 0;  // 0 none; 8 a pool id out of range (named by check_ids_in_range); see fault_text
  int m = -1;
  std::size_t k = 0;
  T value = T(0);
};

inline const char* fault_text(int kind) {
  switch (kind) {
    case 1: return "pool score";
    case 2: return "positive score";
    case 3: return "negative score";
    case 4: return "fused positive score";
    case 5: return "fused negative score";
    case 6: return "loss";
    case 7: return "L2 term";
    default: return "value";
  }
}

template <class T>
[[noreturn]] void throw_fault(std::size_t b, const example_fault<T>& f) {
  if (f.kind == 1)
    throw_invalid_argument(objective_fn, ": example ", b, ", modality ", f.m, ": pool score s_", f.m, "(u, pool(", b,
                           ", ", f.k, ")) = ", f.value, " is not finite");
  if (f.m >= 0)
    throw_invalid_argument(objective_fn, ": example ", b, ", modality ", f.m, ": ", fault_text(f.kind), " = ", f.value,
                           " is not finite");
  throw_invalid_argument(objective_fn, ": example ", b, ": ", fault_text(f.kind), " = ", f.value, " is not finite");
}

// Whether all n values are finite: one branch-free pass (vectorised by the compiler); the caller
// scans position by position only when it fails, to find the first bad one.
template <class T>
bool all_finite(const T* v, std::size_t n) noexcept {
  const T big = std::numeric_limits<T>::max();
  unsigned bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= static_cast<unsigned>(!(std::fabs(v[i]) <= big));  // NaN, ±inf
  return bad == 0;
}

}  // namespace detail
BRMRS_END_NAMESPACE
