// examples/runtime_dispatch/select_sse2.cpp — score_pools and draw_pools for xsimd::sse2, compiled
// with that instruction set's flags only (see CMakeLists.txt).
#include "draw_pools_impl.hpp"
#include "score_pools_impl.hpp"

template void score_pools::operator()<xsimd::sse2>(xsimd::sse2, const pool_batch&) const;
template <>
void draw_row<xsimd::sse2>(const pool_draw& p, std::size_t b) {
  brmrs::detail::pool_row_kernel<brmrs::detail::sampler_portable>::draw(
      p.observed[b], p.degrees[b], p.n_items, p.seed, p.step, p.example_offset + b, p.pools + b * p.K, p.K);
}
template void draw_pools::operator()<xsimd::sse2>(xsimd::sse2, const pool_draw&) const;
