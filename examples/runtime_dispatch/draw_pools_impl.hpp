// examples/runtime_dispatch/draw_pools_impl.hpp — the body of draw_pools, included only by the
// per-instruction-set translation units. Each unit defines the row function of its own
// instruction set only: the AVX-512 and AVX2 kernels live in namespaces of their own
// (detail::avx512, detail::avx2), and the portable loop, whose inline functions main.cpp also
// compiles, is instantiated only in select_sse2.cpp, built like main.cpp for the baseline CPU (an
// AVX copy of it could be the one the linker keeps).
#pragma once

#include <brmrs/backend/cpu/pool_row_kernels.hpp>

#include "draw_pools.hpp"

namespace {

#if BRMRS_SAMPLER_HAS_AVX512
void draw_row(xsimd::avx512bw, const pool_draw& p, std::size_t b) {
  brmrs::detail::avx512::sample_pool_row(p.observed[b], p.degrees[b], p.n_items, p.seed, p.step, p.example_offset + b,
                                         p.pools + b * p.K, p.K);
}
#elif BRMRS_SAMPLER_HAS_AVX2
void draw_row(xsimd::fma3<xsimd::avx2>, const pool_draw& p, std::size_t b) {
  brmrs::detail::avx2::sample_pool_row(p.observed[b], p.degrees[b], p.n_items, p.seed, p.step, p.example_offset + b,
                                       p.pools + b * p.K, p.K);
}
#else
void draw_row(xsimd::sse2, const pool_draw& p, std::size_t b) {
  brmrs::detail::pool_row_kernel<brmrs::detail::sampler_portable>::draw(
      p.observed[b], p.degrees[b], p.n_items, p.seed, p.step, p.example_offset + b, p.pools + b * p.K, p.K);
}
#endif

}  // namespace

template <class Arch>
void draw_pools::operator()(Arch arch, const pool_draw& p) const {
  for (std::size_t b = 0; b < p.B; ++b) draw_row(arch, p, b);
}
