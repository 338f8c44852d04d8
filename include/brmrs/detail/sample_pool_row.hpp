// brmrs/detail/sample_pool_row.hpp — one example's pool and negative by the definition of the
// draw (unobserved_draw.hpp), host and device: the CUDA sampler runs it per example, and the CPU
// kernels (backend/cpu/pool_row_kernels.hpp) are tested against it.
#pragma once

#include <cstdint>

#include "../config.hpp"
#include "../rng/philox.hpp"
#include "../unobserved_draw.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// One example's pool (K ids into out[0..K)) and, when negative != nullptr, its negative.
// Bit-identical to K calls of draw_unobserved: slots 2j and 2j+1 share Philox counter
// (j, example, step) and take output words (0,1) and (2,3), so one call serves both.
template <class Id>
BRMRS_HD inline void sample_pool_row(const Id* observed, std::uint64_t degree, std::uint64_t n_items,
                                     std::uint64_t seed, std::uint64_t step, std::uint64_t example, Id* out,
                                     std::uint64_t K, Id* negative, negative_source source) noexcept {
  const std::uint64_t n_free = n_items - degree;
  const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  std::uint64_t k = 0;
  for (; k + 1 < K; k += 2) {
    const philox4x32_counter ctr{{static_cast<std::uint32_t>(k >> 1), static_cast<std::uint32_t>(example),
                                  static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32)}};
    const philox4x32_counter w = philox4x32_10(ctr, key);
    const std::uint64_t x0 = (static_cast<std::uint64_t>(w.v[0]) << 32) | w.v[1];
    const std::uint64_t x1 = (static_cast<std::uint64_t>(w.v[2]) << 32) | w.v[3];
    out[k] = static_cast<Id>(nth_unobserved(observed, degree, uniform_below(x0, n_free)));
    out[k + 1] = static_cast<Id>(nth_unobserved(observed, degree, uniform_below(x1, n_free)));
  }
  if (k < K) out[k] = static_cast<Id>(draw_unobserved(observed, degree, n_items, seed, step, example, k));
  if (negative != nullptr) {
    *negative = source == negative_source::pool_member
                    ? out[pool_negative_slot(seed, step, example, K)]
                    : static_cast<Id>(draw_unobserved(observed, degree, n_items, seed, step, example, K));
  }
}

}  // namespace detail
BRMRS_END_NAMESPACE
