// Host emulation of the small part of the CUDA device API that brmrs/backend/cuda/warp.cuh uses,
// for test_warp_emulation.cpp only (it is first on that test's include path, so warp.cuh's
// #include <cuda_runtime.h> lands here). A warp is 32 fibers (ucontext) in one thread, run
// round-robin; __shfl_xor_sync writes the lane's value into a slot array and yields twice (all
// lanes have written, then all have read), so the lanes run the real warp.cuh code in lock-step at
// every shuffle. Fibers rather than 32 std::threads: a shuffle is a context switch, not a barrier
// wait, which is what made the threaded version slow on 2 loaded cores. Not a CUDA
// implementation: enough to check the warp logic
// (layout, reductions, ties, NaN, clamping) and the one-warp-per-example kernels of
// objective_kernels.cuh (run as one block of one warp that loops over the examples) on a machine
// without a GPU. Kernels needing a whole block (the reduction) are not run here.
#pragma once

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <functional>

#if defined(__SANITIZE_ADDRESS__)
#define BRMRS_EMULATION_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BRMRS_EMULATION_ASAN 1
#endif
#endif
#ifdef BRMRS_EMULATION_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

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
inline uint3 threadIdx{0, 0, 0};
inline uint3 blockIdx{0, 0, 0};
inline uint3 blockDim{32, 1, 1};
inline uint3 gridDim{1, 1, 1};
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
constexpr std::size_t lane_stack_bytes = std::size_t(256) << 10;

// One warp: 32 lane fibers and the scheduler's context they yield back to.
struct warp_context {
  ucontext_t scheduler{};
  ucontext_t lanes[32]{};
  void* stacks[32] = {};  // each lane_stack_bytes plus a guard page below it
  bool done[32] = {};
  unsigned long long slot[32] = {};
  const std::function<void(int)>* body = nullptr;
  const void* scheduler_stack = nullptr;  // for ASan's fiber switches
  std::size_t scheduler_stack_size = 0;
};
inline warp_context* ctx = nullptr;
inline int lane = 0;

// Switches from the running lane back to the scheduler (ASan is told the stack changes).
inline void yield_to_scheduler() {
#ifdef BRMRS_EMULATION_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, ctx->scheduler_stack, ctx->scheduler_stack_size);
#endif
  swapcontext(&ctx->lanes[lane], &ctx->scheduler);
#ifdef BRMRS_EMULATION_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

inline void lane_entry() {
#ifdef BRMRS_EMULATION_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &ctx->scheduler_stack, &ctx->scheduler_stack_size);
#endif
  (*ctx->body)(lane);
  ctx->done[lane] = true;
#ifdef BRMRS_EMULATION_ASAN
  __sanitizer_start_switch_fiber(nullptr, ctx->scheduler_stack, ctx->scheduler_stack_size);
#endif
  // returning resumes uc_link, the scheduler
}

// Runs body(lane) for the 32 lanes of one warp, round-robin until every lane has returned. The
// body must not throw (an exception cannot leave a fiber): record results, check them after.
inline void run_warp(const std::function<void(int)>& body) {
  warp_context w;
  warp_context* const outer = ctx;
  ctx = &w;
  w.body = &body;
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  for (int l = 0; l < 32; ++l) {
    void* m = mmap(nullptr, lane_stack_bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    mprotect(m, page, PROT_NONE);  // overflow faults instead of corrupting the next stack
    w.stacks[l] = m;
    getcontext(&w.lanes[l]);
    w.lanes[l].uc_stack.ss_sp = static_cast<char*>(m) + page;
    w.lanes[l].uc_stack.ss_size = lane_stack_bytes;
    w.lanes[l].uc_link = &w.scheduler;
    makecontext(&w.lanes[l], lane_entry, 0);
  }
  for (bool any = true; any;) {
    any = false;
    for (int l = 0; l < 32; ++l) {
      if (w.done[l]) continue;
      any = true;
      lane = l;
      threadIdx.x = static_cast<unsigned>(l);
#ifdef BRMRS_EMULATION_ASAN
      void* fake = nullptr;
      __sanitizer_start_switch_fiber(&fake, w.lanes[l].uc_stack.ss_sp, w.lanes[l].uc_stack.ss_size);
#endif
      swapcontext(&w.scheduler, &w.lanes[l]);
#ifdef BRMRS_EMULATION_ASAN
      __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    }
  }
  for (int l = 0; l < 32; ++l) munmap(w.stacks[l], lane_stack_bytes + page);
  ctx = outer;
}
}  // namespace brmrs_emulation

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int off) {
  static_assert(sizeof(T) <= 8, "emulated shuffles move at most 8 bytes");
  using namespace brmrs_emulation;
  unsigned long long x = 0;
  std::memcpy(&x, &v, sizeof(T));
  ctx->slot[lane] = x;
  yield_to_scheduler();  // every lane has written its slot
  const unsigned long long y = ctx->slot[lane ^ off];
  yield_to_scheduler();  // every lane has read before any writes the next shuffle's value
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
