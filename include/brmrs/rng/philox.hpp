// brmrs/rng/philox.hpp — Philox4x32-10, the counter-based generator of Random123, cuRAND and
// PyTorch, and the keyed draws the sampler is built on.
//
// philox4x32_10(counter, key) is a pure function: 128 bits of counter and 64 bits of key give
// 128 random bits, with no state. brmrs keys every draw by (seed, step, example, slot):
//   key     = (seed low 32 bits, seed high 32 bits)
//   counter = (slot / 2, example, step low 32 bits, step high 32 bits)
// and slot s uses output words 2*(s % 2) (high half) and 2*(s % 2) + 1 (low half) as one 64-bit
// value, so one Philox call serves two slots. A draw therefore depends on nothing but its key:
// pools are identical for any thread count, any sharding of the batch, and on CPU and GPU.
// Precondition: example < 2^32 (the sampler validates it).
//
// uniform_below(x, n) maps a 64-bit uniform x to [0, n) as floor(x * n / 2^64) with no retry
// loop; its deviation from exact uniformity is below n / 2^64 per value (< 1e-13 for any item
// count brmrs accepts), far below what any test or training run can see.
// Cost: 10 rounds of two 32x32->64 multiplies, about 5-10 ns per call on a CPU core.
#pragma once

#include <cstdint>

#include "../config.hpp"

BRMRS_BEGIN_NAMESPACE

struct philox4x32_counter {
  std::uint32_t v[4];
};
struct philox4x32_key {
  std::uint32_t v[2];
};

namespace detail {
constexpr std::uint32_t philox_m0 = 0xD2511F53u;
constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // golden ratio
constexpr std::uint32_t philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1

BRMRS_HD inline std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
}

BRMRS_HD inline philox4x32_counter philox_round(philox4x32_counter c, philox4x32_key k) {
  std::uint32_t hi0, hi1;
  const std::uint32_t lo0 = mulhilo32(philox_m0, c.v[0], hi0);
  const std::uint32_t lo1 = mulhilo32(philox_m1, c.v[2], hi1);
  return philox4x32_counter{{hi1 ^ c.v[1] ^ k.v[0], lo1, hi0 ^ c.v[3] ^ k.v[1], lo0}};
}
}  // namespace detail

// Philox4x32 with 10 rounds, as specified by Salmon et al. (SC'11) and Random123.
BRMRS_HD inline philox4x32_counter philox4x32_10(philox4x32_counter ctr, philox4x32_key key) {
  for (int r = 0; r < 9; ++r) {
    ctr = detail::philox_round(ctr, key);
    key.v[0] += detail::philox_w0;
    key.v[1] += detail::philox_w1;
  }
  return detail::philox_round(ctr, key);
}

// The 64 random bits of draw (seed, step, example, slot); see the header comment for the layout.
BRMRS_HD inline std::uint64_t philox_draw64(std::uint64_t seed, std::uint64_t step,
                                            std::uint64_t example, std::uint64_t slot) {
  const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const philox4x32_counter ctr{{static_cast<std::uint32_t>(slot >> 1), static_cast<std::uint32_t>(example),
                                static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32)}};
  const philox4x32_counter out = philox4x32_10(ctr, key);
  const unsigned w = static_cast<unsigned>(slot & 1u) * 2u;
  return (static_cast<std::uint64_t>(out.v[w]) << 32) | out.v[w + 1];
}

// floor(x * n / 2^64): a uniform 64-bit x mapped to [0, n) without a retry loop.
BRMRS_HD inline std::uint64_t uniform_below(std::uint64_t x, std::uint64_t n) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(x, n);
#elif defined(__SIZEOF_INT128__)
  __extension__ typedef unsigned __int128 u128;  // __extension__: no -Wpedantic warning
  return static_cast<std::uint64_t>((static_cast<u128>(x) * n) >> 64);
#else
  const std::uint64_t x_lo = x & 0xFFFFFFFFu, x_hi = x >> 32, n_lo = n & 0xFFFFFFFFu, n_hi = n >> 32;
  const std::uint64_t lo_lo = x_lo * n_lo, hi_lo = x_hi * n_lo, lo_hi = x_lo * n_hi, hi_hi = x_hi * n_hi;
  const std::uint64_t mid = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFu) + (lo_hi & 0xFFFFFFFFu);
  return hi_hi + (hi_lo >> 32) + (lo_hi >> 32) + (mid >> 32);
#endif
}

// The pool position of example `example`'s negative when the host passes no negatives: draw
// slot `pool_size` (the first slot past the pool's own draws) mapped to [0, pool_size).
BRMRS_HD inline std::uint64_t pool_negative_slot(std::uint64_t seed, std::uint64_t step,
                                                 std::uint64_t example, std::uint64_t pool_size) {
  return uniform_below(philox_draw64(seed, step, example, pool_size), pool_size);
}

BRMRS_END_NAMESPACE
