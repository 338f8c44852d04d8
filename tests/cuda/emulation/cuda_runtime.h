// Host emulation of the small part of the CUDA device API that brmrs/backend/cuda/warp.cuh uses,
// for test_warp_emulation.cpp only (it is first on that test's include path, so warp.cuh's
// #include <cuda_runtime.h> lands here). A warp is 32 std::threads; __shfl_xor_sync exchanges
// values through a shared slot array between two barriers, so the lanes run the real warp.cuh
// code in lock-step at every shuffle. Not a CUDA implementation: enough to check the warp logic
// (layout, reductions, ties, NaN, clamping) and the one-warp-per-example kernels of
// objective_kernels.cuh (run as one block of one warp that loops over the examples) on a machine
// without a GPU. Kernels needing a whole block (the reduction) are not run here.
#pragma once

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>

#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct uint3 {
  unsigned x, y, z;
};
using dim3 = uint3;
// One block of one warp: gridDim = blockDim.x / 32 = 1 warp; threadIdx.x is the lane.
inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local uint3 blockDim{32, 1, 1};
inline thread_local uint3 gridDim{1, 1, 1};
inline void __syncthreads() {}  // only the one-warp kernels are run emulated

struct float4 {
  float x, y, z, w;
};
struct double2 {
  double x, y;
};
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline double2 make_double2(double a, double b) { return {a, b}; }

template <class T>
inline T __ldg(const T* p) {
  return *p;
}
using std::isfinite;
using std::min;

namespace brmrs_emulation {
struct warp_context {
  std::barrier<> bar{32};
  unsigned long long slot[32] = {};
};
inline thread_local warp_context* ctx = nullptr;
inline thread_local int lane = 0;
}  // namespace brmrs_emulation

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int off) {
  static_assert(sizeof(T) <= 8, "emulated shuffles move at most 8 bytes");
  using namespace brmrs_emulation;
  unsigned long long x = 0;
  std::memcpy(&x, &v, sizeof(T));
  ctx->slot[lane] = x;
  ctx->bar.arrive_and_wait();
  const unsigned long long y = ctx->slot[lane ^ off];
  ctx->bar.arrive_and_wait();
  T r;
  std::memcpy(&r, &y, sizeof(T));
  return r;
}

// The lanes of the one emulated warp touch distinct elements, so a plain add is exact here.
template <class T>
inline T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
