// brmrs/detail/objective_workspace.hpp — the internal buffers of the CPU pipeline: per-thread
// blocks on their own cache lines, and one workspace per calling thread reused between calls.
//
// Nothing here changes a result: every element a call reads is written by that call first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "../config.hpp"
#include "example_fault.hpp"
#include "example_loss.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

// Grows v to at least n elements (never shrinks) and returns its data.
template <class V>
auto grow_to(V& v, std::size_t n) -> decltype(v.data()) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Per-thread scratch blocks, each starting on its own 128-byte unit (a cache line and the
// partner line the adjacent-line prefetcher pulls with it): every example writes its thread's
// block, so two threads' blocks sharing a line would bounce it between cores on every example.
constexpr std::size_t thread_block_align = 128;

// Elements of U per thread block holding n of them: n rounded up to whole 128-byte units.
template <class U>
constexpr std::size_t thread_block_elements(std::size_t n) noexcept {
  static_assert(thread_block_align % sizeof(U) == 0, "U must tile a 128-byte unit");
  constexpr std::size_t per_unit = thread_block_align / sizeof(U);
  return (n + per_unit - 1) / per_unit * per_unit;
}

// Grows v to hold `threads` blocks of thread_block_elements<U>(n) elements starting on a 128-byte
// boundary, and returns that boundary.
template <class U>
U* thread_blocks(std::vector<U>& v, std::size_t threads, std::size_t n) {
  constexpr std::size_t slack = thread_block_align / sizeof(U);
  U* p = grow_to(v, threads * thread_block_elements<U>(n) + slack);
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::size_t skip = ((thread_block_align - a % thread_block_align) % thread_block_align) / sizeof(U);
  return p + skip;
}

// The internal buffers of one run_objective call, kept per calling thread between calls
// (thread_local): they only grow, to the largest call the thread has made, so a training loop
// stops paying for allocation, page faults and page clearing per batch (~270 KB for W, the loss
// inputs of every example included; the table scatter needs one gradient row per thread more;
// docs/performance.md). Every element a call reads is written by that call first, so results
// never depend on what a previous call left. OpenMP worker threads only use the calling thread's
// buffers through pointers. A nested call on the same thread (none exists
// today) gets a fresh local workspace instead (see workspace_lease).
template <class T, class Id>
struct objective_workspace {
  std::vector<Id> ids;                       // neg_id (B), hard_id (B·M)
  std::vector<T> values;                     // per-example gradients and terms
  std::vector<T> scratch;                    // per-thread scores and example scratch (thread_blocks)
  std::vector<std::size_t> best;             // per-thread argmax slots
  std::vector<const T*> urow;                // per-thread user-row pointers
  std::vector<unsigned char> degraded;       // B
  std::vector<example_fault<T>> fault;       // B
  std::vector<T> row_scratch;                // per-thread gradient row of the table scatter
  std::vector<std::size_t> owner_bounds;     // per-thread row ranges of the table scatter
  bool busy = false;
};

template <class T, class Id>
class workspace_lease {
 public:
  workspace_lease() {
    static thread_local objective_workspace<T, Id> tls;
    if (!tls.busy) {
      ws_ = &tls;
      tls.busy = true;
    } else {
      local_.reset(new objective_workspace<T, Id>());
      ws_ = local_.get();
    }
  }
  ~workspace_lease() {
    if (!local_) ws_->busy = false;
  }
  workspace_lease(const workspace_lease&) = delete;
  workspace_lease& operator=(const workspace_lease&) = delete;
  objective_workspace<T, Id>& operator*() const noexcept { return *ws_; }

 private:
  objective_workspace<T, Id>* ws_ = nullptr;
  std::unique_ptr<objective_workspace<T, Id>> local_;
};


// The per-example values of one call, one slot per example (structure of arrays, quantity-major
// [q*B + b] as detail::example_loss_arrays): what selection and scoring write, what the loss
// phase reads and writes, and what the reductions and the backward phase read.
template <class T, class Id>
struct example_buffers {
  Id* neg_id;                                          // B: i-
  Id* hard_id;                                         // B·M: j^m at [b*M + m]
  T *in_pos, *in_neg, *in_cross, *in_pos_f, *in_neg_f;  // loss inputs: the scores
  T *g_pos, *g_neg, *g_cross, *g_pos_f, *g_neg_f;       // their gradients
  T *t_bpr, *t_chns, *t_syn, *t_l2;                     // the unweighted terms
  unsigned char* degraded;                             // B: Δ_f < max_m Δ_m
  example_fault<T>* fault;                             // B

  // The loss phase's view of the same buffers.
  example_loss_arrays<T> loss_arrays(std::size_t B, int M) const noexcept {
    example_loss_arrays<T> a;
    a.B = B;
    a.M = M;
    a.pos = in_pos;
    a.neg = in_neg;
    a.cross = in_cross;
    a.pos_f = in_pos_f;
    a.neg_f = in_neg_f;
    a.g_pos = g_pos;
    a.g_neg = g_neg;
    a.g_cross = g_cross;
    a.g_pos_f = g_pos_f;
    a.g_neg_f = g_neg_f;
    a.bpr = t_bpr;
    a.chns = t_chns;
    a.synergy = t_syn;
    a.degraded = degraded;
    return a;
  }
};

// Carves the example buffers of a call with B examples and M modalities out of the workspace.
template <class T, class Id>
example_buffers<T, Id> lay_out_example_buffers(objective_workspace<T, Id>& ws, std::size_t B, std::size_t M) {
  example_buffers<T, Id> e;
  e.neg_id = grow_to(ws.ids, B + B * M);
  e.hard_id = e.neg_id + B;
  e.in_pos = grow_to(ws.values, 4 * B * M + 2 * B * M * M + 8 * B);
  e.in_neg = e.in_pos + B * M;
  e.in_cross = e.in_neg + B * M;
  e.in_pos_f = e.in_cross + B * M * M;
  e.in_neg_f = e.in_pos_f + B;
  e.g_pos = e.in_neg_f + B;
  e.g_neg = e.g_pos + B * M;
  e.g_cross = e.g_neg + B * M;
  e.g_pos_f = e.g_cross + B * M * M;
  e.g_neg_f = e.g_pos_f + B;
  e.t_bpr = e.g_neg_f + B;
  e.t_chns = e.t_bpr + B;
  e.t_syn = e.t_chns + B;
  e.t_l2 = e.t_syn + B;
  e.degraded = grow_to(ws.degraded, B);
  e.fault = grow_to(ws.fault, B);
  return e;
}

// Per-thread scratch: the pool scores then the loss phase's work area (`per_thread` values), the
// argmax slots and the user-row pointers, each thread's block on its own 128-byte units.
template <class T>
struct thread_scratch {
  T* values;
  std::size_t per_thread;
  std::size_t* best;
  std::size_t best_block;
  const T** urow;
  std::size_t urow_block;
};

template <class T, class Id>
thread_scratch<T> lay_out_thread_scratch(objective_workspace<T, Id>& ws, std::size_t nt, std::size_t M, std::size_t K) {
  thread_scratch<T> s;
  s.per_thread = thread_block_elements<T>(M * K + 4 * M + 2 * M * M);
  s.values = thread_blocks(ws.scratch, nt, s.per_thread);
  s.best_block = thread_block_elements<std::size_t>(M);
  s.urow_block = thread_block_elements<const T*>(M);
  s.best = thread_blocks(ws.best, nt, M);
  s.urow = thread_blocks(ws.urow, nt, M);
  return s;
}

}  // namespace detail
BRMRS_END_NAMESPACE
