// brmrs/config.hpp — version, portability macros and feature detection.
//
// Every other brmrs header includes this one first. It defines:
//   BRMRS_VERSION_{MAJOR,MINOR,PATCH}, BRMRS_VERSION  version of the headers
//   BRMRS_HD            marks functions compiled for host and device (CUDA) alike,
//                       so that CPU tests cover the arithmetic the GPU runs
//   BRMRS_HAS_OPENMP    1 when the including translation unit is compiled with OpenMP
//   BRMRS_HAS_XSIMD     1 when <xsimd/xsimd.hpp> is available and not disabled with
//                       -DBRMRS_NO_XSIMD (the CMake option BRMRS_WITH_XSIMD=OFF sets it)
//   BRMRS_CUDA_COMPILER 1 inside nvcc device/host compilation
//   BRMRS_ALWAYS_INLINE a small hot helper GCC would otherwise call out of line
//   BRMRS_LAMBDA_ALWAYS_INLINE  the same for a lambda, after its parameter list (GCC, Clang)
//   BRMRS_ASSERT(cond)  debug-only check of internal invariants (never for user input:
//                       user input gets brmrs::invalid_argument, see error.hpp)
//   namespace brmrs { inline namespace v0 { ... } } via BRMRS_BEGIN_NAMESPACE, so two
//                       major versions of the headers never collide at link time.
// Includes nothing beyond the standard library.
#pragma once

#include <cassert>

#define BRMRS_VERSION_MAJOR 0
#define BRMRS_VERSION_MINOR 1
#define BRMRS_VERSION_PATCH 0
#define BRMRS_VERSION (BRMRS_VERSION_MAJOR * 10000 + BRMRS_VERSION_MINOR * 100 + BRMRS_VERSION_PATCH)

#if defined(__CUDACC__)
#define BRMRS_CUDA_COMPILER 1
#define BRMRS_HD __host__ __device__
#else
#define BRMRS_CUDA_COMPILER 0
#define BRMRS_HD
#endif

// BRMRS_LAMBDA_ALWAYS_INLINE goes after a lambda's parameter list (GCC and Clang only).
#if defined(__GNUC__) || defined(__clang__)
#define BRMRS_ALWAYS_INLINE inline __attribute__((always_inline))
#define BRMRS_LAMBDA_ALWAYS_INLINE __attribute__((always_inline))
#elif defined(_MSC_VER)
#define BRMRS_ALWAYS_INLINE __forceinline
#define BRMRS_LAMBDA_ALWAYS_INLINE
#else
#define BRMRS_ALWAYS_INLINE inline
#define BRMRS_LAMBDA_ALWAYS_INLINE
#endif

#if defined(_OPENMP)
#define BRMRS_HAS_OPENMP 1
#else
#define BRMRS_HAS_OPENMP 0
#endif

#if !defined(BRMRS_NO_XSIMD) && !defined(__CUDACC__) && defined(__has_include)
#if __has_include(<xsimd/xsimd.hpp>)
#define BRMRS_HAS_XSIMD 1
#endif
#endif
#ifndef BRMRS_HAS_XSIMD
#define BRMRS_HAS_XSIMD 0
#endif

#ifdef NDEBUG
#define BRMRS_ASSERT(cond) ((void)0)
#else
#define BRMRS_ASSERT(cond) assert(cond)
#endif

#define BRMRS_BEGIN_NAMESPACE \
  namespace brmrs {           \
  inline namespace v0 {
#define BRMRS_END_NAMESPACE \
  }                         \
  }
