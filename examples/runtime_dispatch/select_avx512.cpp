// examples/runtime_dispatch/select_avx512.cpp — score_pools and draw_pools for xsimd::avx512bw, compiled
// with that instruction set's flags only (see CMakeLists.txt).
#include "draw_pools_impl.hpp"
#include "score_pools_impl.hpp"

template void score_pools::operator()<xsimd::avx512bw>(xsimd::avx512bw, const pool_batch&) const;
template <>
void draw_row<xsimd::avx512bw>(const pool_draw& p, std::size_t b) {
  brmrs::detail::avx512::sample_pool_row(p.observed[b], p.degrees[b], p.n_items, p.seed, p.step, p.example_offset + b,
                                         p.pools + b * p.K, p.K);
}
template void draw_pools::operator()<xsimd::avx512bw>(xsimd::avx512bw, const pool_draw&) const;
