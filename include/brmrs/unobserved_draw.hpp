// brmrs/unobserved_draw.hpp — one keyed uniform draw from a user's unobserved items, the
// definition every sampler kernel (CPU and CUDA) reproduces bit for bit (sampler.hpp).
//
// nth_unobserved maps a rank r to the r-th id not in a sorted observed list by a branch-free
// binary search; draw_unobserved keys r by (seed, step, example, slot) through Philox, so a draw
// is a pure function of its key. Host and device (BRMRS_HD); never throws.
#pragma once

#include <cstdint>

#include "config.hpp"
#include "rng/philox.hpp"

BRMRS_BEGIN_NAMESPACE

// Where the BPR / synergy negative of each example comes from (see the header comment).
enum class negative_source {
  pool_member,  // a uniformly chosen member of the example's own pool (the published method)
  complement    // an independent uniform draw from the user's unobserved items (draw slot K)
};

// The r-th (0-based) id in [0, n_items) that is not among observed[0..degree), for a strictly
// increasing `observed`. Precondition r < n_items - degree (not checked: kernels never throw).
// Binary search for c = #{j : observed[j] - j <= r}, returning r + c. The halving sequence
// depends on `degree` alone (ceil(log2(degree)) + 1 probes for degree >= 1; no data-dependent
// branch or trip count), so GPU threads drawing for the same user never diverge.
// Invariant: c is in [lo, lo + n], and lo only moves to a j with observed[j] - j <= r.
template <class Id>
BRMRS_HD inline std::uint64_t nth_unobserved(const Id* observed, std::uint64_t degree,
                                             std::uint64_t r) noexcept {
  if (degree == 0) return r;
  std::uint64_t lo = 0;
  for (std::uint64_t n = degree; n > 1;) {
    const std::uint64_t half = n >> 1;
    const std::uint64_t j = lo + half;
    // observed[j] - j >= 0 because the ids are distinct and non-negative.
    lo = static_cast<std::uint64_t>(observed[j]) - j <= r ? j : lo;
    n -= half;
  }
  return r + lo + (static_cast<std::uint64_t>(observed[lo]) - lo <= r ? 1u : 0u);
}

// One keyed draw from a user's complement: the item of slot `slot` of example `example`.
// Precondition degree < n_items.
template <class Id>
BRMRS_HD inline std::uint64_t draw_unobserved(const Id* observed, std::uint64_t degree, std::uint64_t n_items,
                                              std::uint64_t seed, std::uint64_t step, std::uint64_t example,
                                              std::uint64_t slot) noexcept {
  const std::uint64_t r = uniform_below(philox_draw64(seed, step, example, slot), n_items - degree);
  return nth_unobserved(observed, degree, r);
}

BRMRS_END_NAMESPACE
