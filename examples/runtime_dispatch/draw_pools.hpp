// examples/runtime_dispatch/draw_pools.hpp — the sampler's hot loop behind the same runtime
// dispatch as score_pools.hpp: one functor templated on the xsimd architecture, defined and
// explicitly instantiated only in select_<isa>.cpp. Plain pointers only, for the reason
// score_pools.hpp gives.
#pragma once

#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

struct pool_draw {
  std::size_t B, K;
  std::uint64_t n_items, seed, step, example_offset;
  const std::int32_t* const* observed;  // B pointers: the sorted observed row of example b's user
  const std::uint64_t* degrees;         // B: that row's length (< n_items)
  std::int32_t* pools;                  // B x K out
};

// Each instruction set's kernel of brmrs::sample_pools (backend/simd/sampler_avx512.hpp,
// sampler_avx2.hpp, the portable lane loop for sse2), called per example: the same ids as
// brmrs::sample_pools for any of them. Needs n_items < 2^31.
struct draw_pools {
  template <class Arch>
  void operator()(Arch, const pool_draw& p) const;
};

extern template void draw_pools::operator()<xsimd::avx512bw>(xsimd::avx512bw, const pool_draw&) const;
extern template void draw_pools::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>,
                                                                     const pool_draw&) const;
extern template void draw_pools::operator()<xsimd::sse2>(xsimd::sse2, const pool_draw&) const;
