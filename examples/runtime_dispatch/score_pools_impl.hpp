// examples/runtime_dispatch/score_pools_impl.hpp — the body of score_pools, included only by the
// per-instruction-set translation units. brmrs::backend::simd::kernels<Arch> is a distinct class
// per Arch, so the three copies of select_hard never collide at link time.
#pragma once

#include <brmrs/backend/simd/kernels.hpp>

#include "score_pools.hpp"

template <class Arch>
void score_pools::operator()(Arch, const pool_batch& p) const {
  using kernels = brmrs::backend::simd::kernels<Arch>;
  for (std::size_t b = 0; b < p.B; ++b)
    kernels::template select_hard<float, std::int32_t>(p.M, p.user_rows + b * static_cast<std::size_t>(p.M),
                                                       p.item_base, p.item_stride, p.dims, p.pools + b * p.K, p.K,
                                                       p.scores, p.best + b * static_cast<std::size_t>(p.M));
}
