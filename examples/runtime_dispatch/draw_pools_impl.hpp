// examples/runtime_dispatch/draw_pools_impl.hpp — the body of draw_pools, included only by the
// per-instruction-set translation units. Each select_<isa>.cpp defines draw_row<Arch> for its own
// instruction set only (an explicit specialisation): the AVX-512 and AVX2 kernels live in
// namespaces of their own (detail::avx512, detail::avx2), and the portable loop, whose inline
// functions main.cpp also compiles, is instantiated only in select_sse2.cpp, built like main.cpp
// for the baseline CPU (an AVX copy of it could be the one the linker keeps).
#pragma once

#include <brmrs/backend/cpu/pool_row_kernels.hpp>

#include "draw_pools.hpp"

// Example b's pool by Arch's kernel.
template <class Arch>
void draw_row(const pool_draw& p, std::size_t b);

template <class Arch>
void draw_pools::operator()(Arch, const pool_draw& p) const {
  for (std::size_t b = 0; b < p.B; ++b) draw_row<Arch>(p, b);
}
