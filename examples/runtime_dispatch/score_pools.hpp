// examples/runtime_dispatch/score_pools.hpp — what the per-instruction-set translation units
// export: one functor whose call operator is a template on the xsimd architecture, declared here
// and defined (and explicitly instantiated) only in select_<isa>.cpp, each compiled with its own
// -m flags. main.cpp, compiled for the baseline CPU, never sees a SIMD body.
#pragma once

#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

// Plain pointers only: nothing from the standard library or from brmrs's non-Arch templates
// crosses into the SIMD translation units, so no inline function is compiled there with flags
// the running CPU may lack (the linker would keep one copy, possibly the AVX-512 one).
struct pool_batch {
  int M;
  std::size_t B, K;
  const float* const* user_rows;  // B*M pointers: user row of example b, modality m at [b*M + m]
  const float* const* item_base;  // M table pointers
  const std::size_t* item_stride;
  const std::size_t* dims;
  const std::int32_t* pools;      // B x K
  float* scores;                  // M*K scratch
  std::size_t* best;              // B x M out: the chosen pool slot
};

struct score_pools {
  template <class Arch>
  void operator()(Arch, const pool_batch& p) const;
};

// The instruction sets this program carries, best first (xsimd::dispatch takes the first one
// the running CPU supports).
using dispatch_archs = xsimd::arch_list<xsimd::avx512bw, xsimd::fma3<xsimd::avx2>, xsimd::sse2>;

extern template void score_pools::operator()<xsimd::avx512bw>(xsimd::avx512bw, const pool_batch&) const;
extern template void score_pools::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>,
                                                                      const pool_batch&) const;
extern template void score_pools::operator()<xsimd::sse2>(xsimd::sse2, const pool_batch&) const;
