// brmrs/backend/cuda/warp.cuh — the warp-level building blocks of the CUDA kernels (internal).
//
// One warp serves one example. A row of d elements is read by a *group* of G lanes (G a power of
// two, 1..32), each lane taking 16-byte vectors (float4 / double2) when the rows are aligned for
// it, single elements otherwise; a warp thus reads 32/G candidate rows per step. The group sums
// its lanes' partial dot products with an xor butterfly, after which every lane of the group
// holds the same, bitwise identical, score (IEEE addition is commutative, and every level adds the
// same two values on both lanes). Partial sums use explicit fma so that two call sites of the same
// dot never round differently (no dependence on the compiler's contraction choices).
//
// Ties in the arg-max: every lane keeps the first maximum of the candidates it saw (candidates
// reach a lane in increasing k), then the warp combines (score, k) pairs with "higher score, then
// lower k" — a total order, so the result does not depend on the butterfly's pairing: the lowest
// k among the maximal scores, as CUB's ArgMax and the scalar backend. NaN scores never win; when
// all are NaN the slot is K (none). Cost: one 16-byte load per lane per row step, log2(G)
// shuffles per candidate.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "../../config.hpp"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {
namespace detail {

constexpr int warp_size = 32;
constexpr unsigned full_mask = 0xFFFFFFFFu;

template <class T>
struct vec16;
template <>
struct vec16<float> {
  using type = float4;
  static constexpr int n = 4;
};
template <>
struct vec16<double> {
  using type = double2;
  static constexpr int n = 2;
};

// How a warp reads the rows of one table pair (user row and item rows of one modality).
struct row_plan {
  int d = 0;      // elements per row
  int nv = 0;     // units per row: vectors (vec) or elements
  int G = 1;      // lanes per row, power of two in [1, 32]
  int nt = 0;     // units per lane: ceil(nv / G)
  bool vec = false;
};

inline int next_pow2_capped(int x) {
  int g = 1;
  while (g < x && g < warp_size) g *= 2;
  return g;
}

// Host side: vectors when every row start of both tables is 16-byte aligned and d is a multiple
// of the vector width; else element-wise (still coalesced within a row).
template <class T>
row_plan make_row_plan(std::size_t d, const T* a, std::size_t a_stride, const T* b, std::size_t b_stride) {
  row_plan p;
  p.d = static_cast<int>(d);
  constexpr int vn = vec16<T>::n;
  const bool aligned = d % vn == 0 && reinterpret_cast<std::uintptr_t>(a) % 16 == 0 &&
                       reinterpret_cast<std::uintptr_t>(b) % 16 == 0 && (a_stride * sizeof(T)) % 16 == 0 &&
                       (b_stride * sizeof(T)) % 16 == 0;
  p.vec = aligned;
  p.nv = aligned ? p.d / vn : p.d;
  p.G = next_pow2_capped(p.nv < 1 ? 1 : p.nv);
  p.nt = (p.nv + p.G - 1) / p.G;
  return p;
}

__device__ __forceinline__ float fma_t(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double fma_t(double a, double b, double c) { return fma(a, b, c); }

__device__ __forceinline__ float dot_units(float4 a, float4 b, float acc) {
  acc = fmaf(a.x, b.x, acc);
  acc = fmaf(a.y, b.y, acc);
  acc = fmaf(a.z, b.z, acc);
  return fmaf(a.w, b.w, acc);
}
__device__ __forceinline__ double dot_units(double2 a, double2 b, double acc) {
  acc = fma(a.x, b.x, acc);
  return fma(a.y, b.y, acc);
}

// A row's units as one lane sees them: a 16-byte vector (VEC) or one element.
template <class T, bool VEC>
struct unit_of {
  using type = T;
};
template <class T>
struct unit_of<T, true> {
  using type = typename vec16<T>::type;
};

template <class T>
__device__ __forceinline__ T unit_zero(T*) {
  return T(0);
}
__device__ __forceinline__ float4 unit_zero(float4*) { return make_float4(0.f, 0.f, 0.f, 0.f); }
__device__ __forceinline__ double2 unit_zero(double2*) { return make_double2(0.0, 0.0); }

__device__ __forceinline__ float load_unit(const float* p) { return __ldg(p); }
__device__ __forceinline__ double load_unit(const double* p) { return __ldg(p); }
__device__ __forceinline__ float4 load_unit(const float4* p) { return __ldg(p); }
__device__ __forceinline__ double2 load_unit(const double2* p) { return __ldg(p); }

__device__ __forceinline__ float dot_units(float a, float b, float acc) { return fmaf(a, b, acc); }
__device__ __forceinline__ double dot_units(double a, double b, double acc) { return fma(a, b, acc); }

// This lane's units lg, lg + G, ..., NT of them, of a row (zero past the row's end): loaded once
// per example and modality for the user row, once per candidate for an item row.
template <int NT, bool VEC, class T>
struct lane_units {
  using U = typename unit_of<T, VEC>::type;
  U v[NT];
  __device__ __forceinline__ void load(const T* row, const row_plan& p, int lg) {
    const U* r = reinterpret_cast<const U*>(row);
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      const int i = lg + t * p.G;
      v[t] = i < p.nv ? load_unit(r + i) : unit_zero(static_cast<U*>(nullptr));
    }
  }
};

// sum over t of <u.v[t], q.v[t]>, one fma chain in t order (so every call site rounds alike).
template <int NT, bool VEC, class T>
__device__ __forceinline__ T lane_units_dot(const lane_units<NT, VEC, T>& u, const lane_units<NT, VEC, T>& q) {
  T acc = T(0);
#pragma unroll
  for (int t = 0; t < NT; ++t) acc = dot_units(u.v[t], q.v[t], acc);
  return acc;
}

// Rows of any length: this lane's share of <u, q> by a loop over its units.
template <class T>
__device__ __forceinline__ T lane_dot_loop(const T* __restrict__ u, const T* __restrict__ q, const row_plan& p, int lg) {
  T acc = T(0);
  if (p.vec) {
    using V = typename vec16<T>::type;
    const V* uv = reinterpret_cast<const V*>(u);
    const V* qv = reinterpret_cast<const V*>(q);
    for (int v = lg; v < p.nv; v += p.G) acc = dot_units(load_unit(uv + v), load_unit(qv + v), acc);
  } else {
    for (int v = lg; v < p.nv; v += p.G) acc = dot_units(load_unit(u + v), load_unit(q + v), acc);
  }
  return acc;
}

// Sum over the G lanes of a group (every lane of the warp must call it: it shuffles).
template <class T>
__device__ __forceinline__ T group_sum(T x, int G) {
  for (int off = G / 2; off > 0; off /= 2) x += __shfl_xor_sync(full_mask, x, off);
  return x;
}

// <u, q> over the whole row, the same value on every lane. Every group computes the same dot with
// the arithmetic of the arg-max below, so a candidate's score is reproduced bit for bit.
template <class T>
__device__ __forceinline__ T warp_row_dot(const T* u, const T* q, const row_plan& p, int lane) {
  const int lg = lane & (p.G - 1);
  T acc;
  if (p.vec && p.nt == 1) {
    lane_units<1, true, T> a, b;
    a.load(u, p, lg);
    b.load(q, p, lg);
    acc = lane_units_dot(a, b);
  } else if (p.vec && p.nt == 2) {
    lane_units<2, true, T> a, b;
    a.load(u, p, lg);
    b.load(q, p, lg);
    acc = lane_units_dot(a, b);
  } else if (!p.vec && p.nt == 1) {
    lane_units<1, false, T> a, b;
    a.load(u, p, lg);
    b.load(q, p, lg);
    acc = lane_units_dot(a, b);
  } else if (!p.vec && p.nt == 2) {
    lane_units<2, false, T> a, b;
    a.load(u, p, lg);
    b.load(q, p, lg);
    acc = lane_units_dot(a, b);
  } else {
    acc = lane_dot_loop(u, q, p, lg);
  }
  return group_sum(acc, p.G);
}

// (score, slot) pair combine: higher score wins, then the lower slot; slot == none is empty.
template <class T>
__device__ __forceinline__ void argmax_combine(T& s, int& k, T os, int ok, int none) {
  if (ok != none && (k == none || os > s || (os == s && ok < k))) {
    s = os;
    k = ok;
  }
}

template <class T>
__device__ __forceinline__ void warp_argmax_reduce(T& s, int& k, int none) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    const T os = __shfl_xor_sync(full_mask, s, off);
    const int ok = __shfl_xor_sync(full_mask, k, off);
    argmax_combine(s, k, os, ok, none);
  }
}

// Candidate steps per pass: U steps of 32/G rows each are loaded before any is reduced, so each
// lane has U independent 16-byte loads in flight (the gather is latency-bound otherwise).
constexpr int select_unroll = 8;

// Folds one candidate's score into the lane's running arg-max and first-non-finite slot.
// Candidates reach a group in increasing k: strict > keeps the first maximum.
template <class T>
__device__ __forceinline__ void fold_candidate(T s, int k, int K, T& bs, int& bk, T& fs, int& fk) {
  if (k < K && !(s != s) && (bk == K || s > bs)) {
    bs = s;
    bk = k;
  }
  if (k < K && fk == K && !isfinite(s)) {
    fs = s;
    fk = k;
  }
}

template <class T>
__device__ __forceinline__ void finish_argmax(T bs, int bk, T fs, int fk, int K, T& best_s, int& best_k, T& bad_s,
                                              int& bad_k) {
  warp_argmax_reduce(bs, bk, K);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    const T os = __shfl_xor_sync(full_mask, fs, off);
    const int ok = __shfl_xor_sync(full_mask, fk, off);
    if (ok < fk) {
      fs = os;
      fk = ok;
    }
  }
  best_s = bs;
  best_k = bk;
  bad_s = fs;
  bad_k = fk;
}

// Fixed units per lane: the user row's units stay in registers, candidate slots past K are
// clamped to K - 1 (a valid row, its score ignored) so the U loads issue without branches.
template <int NT, bool VEC, class T, class Id>
__device__ __forceinline__ void warp_argmax_pool_fixed(const T* u, const T* item, std::size_t item_stride,
                                                       const row_plan& p, const Id* pool, int K, int lane, T& best_s,
                                                       int& best_k, T& bad_s, int& bad_k) {
  const int G = p.G, cpw = warp_size / G, grp = lane / G, lg = lane & (G - 1);
  lane_units<NT, VEC, T> ur;
  ur.load(u, p, lg);
  T bs = T(0), fs = T(0);
  int bk = K, fk = K;
  for (int k0 = 0; k0 < K; k0 += cpw * select_unroll) {
    lane_units<NT, VEC, T> q[select_unroll];
#pragma unroll
    for (int j = 0; j < select_unroll; ++j) {
      const int k = min(k0 + j * cpw + grp, K - 1);
      q[j].load(item + static_cast<std::size_t>(pool[k]) * item_stride, p, lg);
    }
#pragma unroll
    for (int j = 0; j < select_unroll; ++j) {
      const T s = group_sum(lane_units_dot(ur, q[j]), G);
      fold_candidate(s, k0 + j * cpw + grp, K, bs, bk, fs, fk);
    }
  }
  finish_argmax(bs, bk, fs, fk, K, best_s, best_k, bad_s, bad_k);
}

// Long rows (more than two units per lane): a loop per candidate.
template <class T, class Id>
__device__ __forceinline__ void warp_argmax_pool_loop(const T* u, const T* item, std::size_t item_stride,
                                                      const row_plan& p, const Id* pool, int K, int lane, T& best_s,
                                                      int& best_k, T& bad_s, int& bad_k) {
  const int G = p.G, cpw = warp_size / G, grp = lane / G, lg = lane & (G - 1);
  T bs = T(0), fs = T(0);
  int bk = K, fk = K;
  for (int k0 = 0; k0 < K; k0 += cpw) {
    const int k = min(k0 + grp, K - 1);
    const T s = group_sum(lane_dot_loop(u, item + static_cast<std::size_t>(pool[k]) * item_stride, p, lg), G);
    fold_candidate(s, k0 + grp, K, bs, bk, fs, fk);
  }
  finish_argmax(bs, bk, fs, fk, K, best_s, best_k, bad_s, bad_k);
}

// The first slot k of `pool` (K >= 1 ids) maximising <u, item.row(pool[k])>, and that score, on
// every lane; best_k == K when every score is NaN. bad_k is the first slot whose score is not
// finite (bad_s that score), K when all are finite. Scores equal warp_row_dot's for the same rows.
template <class T, class Id>
__device__ __forceinline__ void warp_argmax_pool(const T* u, const T* item, std::size_t item_stride,
                                                 const row_plan& p, const Id* pool, int K, int lane, T& best_s,
                                                 int& best_k, T& bad_s, int& bad_k) {
  if (p.vec && p.nt == 1)
    warp_argmax_pool_fixed<1, true>(u, item, item_stride, p, pool, K, lane, best_s, best_k, bad_s, bad_k);
  else if (p.vec && p.nt == 2)
    warp_argmax_pool_fixed<2, true>(u, item, item_stride, p, pool, K, lane, best_s, best_k, bad_s, bad_k);
  else if (!p.vec && p.nt == 1)
    warp_argmax_pool_fixed<1, false>(u, item, item_stride, p, pool, K, lane, best_s, best_k, bad_s, bad_k);
  else if (!p.vec && p.nt == 2)
    warp_argmax_pool_fixed<2, false>(u, item, item_stride, p, pool, K, lane, best_s, best_k, bad_s, bad_k);
  else
    warp_argmax_pool_loop(u, item, item_stride, p, pool, K, lane, best_s, best_k, bad_s, bad_k);
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
