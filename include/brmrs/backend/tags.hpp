// brmrs/backend/tags.hpp — the backend tags that select an implementation at compile time.
//
//   brmrs::scalar_backend        portable reference, the one every other backend is tested against
//   brmrs::simd_backend<Arch>    xsimd 8.1, one instantiation (and symbol) per instruction set
//   brmrs::cuda_backend          device pointers and a stream (backend/cuda/*.cuh, nvcc only)
// Public entry points take the tag as their last argument, defaulted to brmrs::default_backend
// (objective.hpp): the SIMD backend when xsimd and a SIMD instruction set are enabled by the
// compiler flags, else the scalar one. Includes nothing beyond config.hpp.
#pragma once

#include "../config.hpp"

BRMRS_BEGIN_NAMESPACE

struct scalar_backend {};

// Arch is an xsimd architecture tag (xsimd::avx2, xsimd::avx512f, ...); see backend/simd/.
template <class Arch>
struct simd_backend {
  using arch_type = Arch;
};

struct cuda_backend {};

BRMRS_END_NAMESPACE
