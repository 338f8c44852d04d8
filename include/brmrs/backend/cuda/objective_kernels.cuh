// brmrs/backend/cuda/objective_kernels.cuh — the kernels of the CUDA compute_objective and
// their parameter blocks (internal; objective.cuh launches them). Kept free of launches and of
// CUDA runtime calls so that tests/cuda/test_warp_emulation.cpp can run them on the CPU.
//   objective_forward_kernel   one warp per example: id checks, the pool negative, the fused
//                              selection of every modality (warp.cuh), the scores of i+, i-,
//                              j^c and the fused pair, the L2 norms; lane 0 runs
//                              detail::example_loss_and_grad and writes terms, score gradients
//                              and the example's fault record (rank 5 = none)
//   objective_reduce_kernel    one block: batch sums in double over a fixed tree, first fault
// The backward kernel is in objective_backward_kernels.cuh.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../../config.hpp"
#include "../../detail/example_loss.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../objective_types.hpp"
#include "../../rng/philox.hpp"
#include "options.cuh"
#include "warp.cuh"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {
namespace detail {

// Raw pointers of a gradient_rows<T>, copyable into a kernel's parameters.
template <class T>
struct rows_ref {
  T* user[max_modalities] = {};
  T* positive[max_modalities] = {};
  T* negative[max_modalities] = {};
  T* hard[max_modalities] = {};
  std::size_t user_stride[max_modalities] = {};
  std::size_t positive_stride[max_modalities] = {};
  std::size_t negative_stride[max_modalities] = {};
  std::size_t hard_stride[max_modalities] = {};
  T* fused_user = nullptr;
  T* fused_positive = nullptr;
  T* fused_negative = nullptr;
  std::size_t fused_user_stride = 0, fused_positive_stride = 0, fused_negative_stride = 0;
};

// What phase 1 found wrong with one example. rank orders faults the way the CPU finds them: it
// checks every user id, then every positive, pool and negative id, before any score, so
// rank 0..3 = bad batch.users / positives / pools / negatives id, 4 = a non-finite value
// (kind as brmrs::detail::example_fault: 1 pool score ... 7 L2 term), 5 = none.
struct example_fault_record {
  int rank;
  int kind;
  int m;
  int pad;
  long long pos;   // pool column k, or 0
  long long ival;  // the bad id
  double value;    // the non-finite value
};

struct objective_summary {
  double bpr, chns, syn, l2, degraded, agree;
  unsigned long long fault_key;  // (rank << 48) | b of the first fault, ~0 if none
};

template <class T, class Id>
struct forward_params {
  int M = 0, K = 0;
  std::size_t B = 0, n_users = 0, n_items = 0;
  const T* user[max_modalities] = {};
  std::size_t user_stride[max_modalities] = {};
  const T* item[max_modalities] = {};
  std::size_t item_stride[max_modalities] = {};
  row_plan plan[max_modalities];
  const T* fu = nullptr;
  const T* fi = nullptr;
  std::size_t fu_stride = 0, fi_stride = 0;
  row_plan fplan;
  const Id* users = nullptr;
  const Id* positives = nullptr;
  const Id* pools = nullptr;
  std::size_t pool_stride = 0;
  const Id* negatives = nullptr;  // null: pool member
  std::uint64_t seed = 0, step = 0, example_offset = 0;
  brmrs::detail::example_loss_params<T> lp{};
  T lambda_reg = T(0);
  bool check_ids = true;
  // Phase-1 results (scratch), one slot per example.
  Id* neg_id = nullptr;   // B
  Id* hard_id = nullptr;  // B x M
  T* g_pos = nullptr;     // B x M
  T* g_neg = nullptr;     // B x M
  T* g_cross = nullptr;   // B x M x M
  T* g_pos_f = nullptr;   // B
  T* g_neg_f = nullptr;   // B
  T* terms = nullptr;     // B x 4: bpr, chns, synergy, l2
  unsigned char* degraded = nullptr;  // B
  example_fault_record* fault = nullptr;  // B
};

template <class Id>
__device__ __forceinline__ bool id_bad(Id id, std::size_t n) {
  if constexpr (std::is_signed_v<Id>) {
    if (id < Id(0)) return true;
  }
  return static_cast<std::size_t>(id) >= n;
}

template <class T, class Id>
__global__ void objective_forward_kernel(const forward_params<T, Id> p) {
  const int lane = static_cast<int>(threadIdx.x) & (warp_size - 1);
  const std::size_t warps = static_cast<std::size_t>(gridDim.x) * (blockDim.x / warp_size);
  const int M = p.M, K = p.K;
  // Lane 0's copies of the example's scores (indices are run-time: they live in local memory).
  T pos[max_modalities], neg[max_modalities], cross[max_modalities * max_modalities];
  T gp[max_modalities], gn[max_modalities], gc[max_modalities * max_modalities];
  int best[max_modalities];

  for (std::size_t b = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) / warp_size; b < p.B;
       b += warps) {
    example_fault_record f{5, 0, -1, 0, 0, 0, 0.0};
    const Id* pool = p.pools + b * p.pool_stride;
    const Id u_id = p.users[b], ip_id = p.positives[b];

    if (p.check_ids) {
      if (id_bad(u_id, p.n_users)) {
        f.rank = 0;
        f.ival = static_cast<long long>(u_id);
      } else if (id_bad(ip_id, p.n_items)) {
        f.rank = 1;
        f.ival = static_cast<long long>(ip_id);
      } else {
        int bad = K;
        for (int k = lane; k < K; k += warp_size)
          if (id_bad(pool[k], p.n_items)) {
            bad = k;
            break;
          }
        for (int off = 16; off > 0; off /= 2) bad = min(bad, __shfl_xor_sync(full_mask, bad, off));
        if (bad < K) {
          f.rank = 2;
          f.pos = bad;
          f.ival = static_cast<long long>(pool[bad]);
        } else if (p.negatives != nullptr && id_bad(p.negatives[b], p.n_items)) {
          f.rank = 3;
          f.ival = static_cast<long long>(p.negatives[b]);
        }
      }
      if (f.rank != 5) {
        if (lane == 0) p.fault[b] = f;
        continue;
      }
    }

    const std::size_t u = static_cast<std::size_t>(u_id), ip = static_cast<std::size_t>(ip_id);
    const Id in_id = p.negatives != nullptr
                         ? p.negatives[b]
                         : pool[pool_negative_slot(p.seed, p.step, p.example_offset + b, static_cast<std::uint64_t>(K))];
    const std::size_t in = static_cast<std::size_t>(in_id);

    // Hard negatives: every pool score of every modality, first non-finite one is a fault.
    for (int m = 0; m < M; ++m) {
      T bs, fs;
      int bk, fk;
      warp_argmax_pool(p.user[m] + u * p.user_stride[m], p.item[m], p.item_stride[m], p.plan[m], pool, K, lane, bs,
                       bk, fs, fk);
      best[m] = bk;
      if (fk < K && f.rank == 5) {
        f = {4, 1, m, 0, fk, 0, static_cast<double>(fs)};
      }
    }
    if (f.rank != 5) {
      if (lane == 0) p.fault[b] = f;
      continue;
    }

    // Scores of i+, i- and of the other modalities' hard negatives; the arg-max's own score of
    // j^c under modality a is recomputed with the same lane layout, so it is the same value.
    T l2 = T(0);
    const bool want_l2 = p.lambda_reg > T(0);
    for (int m = 0; m < M; ++m) {
      const T* urow = p.user[m] + u * p.user_stride[m];
      const T* qp = p.item[m] + ip * p.item_stride[m];
      const T* qn = p.item[m] + in * p.item_stride[m];
      const T sp = warp_row_dot(urow, qp, p.plan[m], lane);
      const T sn = warp_row_dot(urow, qn, p.plan[m], lane);
      if (!isfinite(sp) && f.rank == 5) f = {4, 2, m, 0, 0, 0, static_cast<double>(sp)};
      if (!isfinite(sn) && f.rank == 5) f = {4, 3, m, 0, 0, 0, static_cast<double>(sn)};
      for (int c = 0; c < M; ++c) {
        const std::size_t j = static_cast<std::size_t>(pool[best[c]]);
        const T sc = warp_row_dot(urow, p.item[m] + j * p.item_stride[m], p.plan[m], lane);
        if (lane == 0) cross[m * M + c] = sc;
      }
      if (lane == 0) {
        pos[m] = sp;
        neg[m] = sn;
      }
      if (want_l2) {
        const T a = warp_row_dot(urow, urow, p.plan[m], lane);
        const T bq = warp_row_dot(qp, qp, p.plan[m], lane);
        const T cq = warp_row_dot(qn, qn, p.plan[m], lane);
        l2 += a + bq + cq;
      }
    }
    const T* fu = p.fu + u * p.fu_stride;
    const T* fp = p.fi + ip * p.fi_stride;
    const T* fn = p.fi + in * p.fi_stride;
    const T pos_f = warp_row_dot(fu, fp, p.fplan, lane);
    const T neg_f = warp_row_dot(fu, fn, p.fplan, lane);
    if (!isfinite(pos_f) && f.rank == 5) f = {4, 4, -1, 0, 0, 0, static_cast<double>(pos_f)};
    if (!isfinite(neg_f) && f.rank == 5) f = {4, 5, -1, 0, 0, 0, static_cast<double>(neg_f)};
    if (want_l2) {
      const T a = warp_row_dot(fu, fu, p.fplan, lane);
      const T bq = warp_row_dot(fp, fp, p.fplan, lane);
      const T cq = warp_row_dot(fn, fn, p.fplan, lane);
      l2 += a + bq + cq;
    }
    if (lane != 0) continue;

    for (int m = 0; m < M; ++m) p.hard_id[b * M + m] = pool[best[m]];
    p.neg_id[b] = in_id;
    if (f.rank == 5) {
      T gpf, gnf;
      const brmrs::detail::example_terms<T> t =
          brmrs::detail::example_loss_and_grad(M, pos, neg, pos_f, neg_f, cross, p.lp, gp, gn, gpf, gnf, gc);
      for (int m = 0; m < M; ++m) {
        p.g_pos[b * M + m] = gp[m];
        p.g_neg[b * M + m] = gn[m];
      }
      for (int i = 0; i < M * M; ++i) p.g_cross[b * M * M + i] = gc[i];
      p.g_pos_f[b] = gpf;
      p.g_neg_f[b] = gnf;
      p.terms[b * 4 + 0] = t.bpr;
      p.terms[b * 4 + 1] = t.chns;
      p.terms[b * 4 + 2] = t.synergy;
      p.terms[b * 4 + 3] = l2;
      p.degraded[b] = t.degraded ? 1 : 0;
      const T total = p.lp.lambda_bpr * t.bpr + p.lp.lambda_hard * t.chns + p.lp.lambda_synergy * t.synergy;
      if (!isfinite(total))
        f = {4, 6, -1, 0, 0, 0, static_cast<double>(total)};
      else if (!isfinite(l2))
        f = {4, 7, -1, 0, 0, 0, static_cast<double>(l2)};
    }
    p.fault[b] = f;
  }
}

constexpr int reduce_threads = 512;

// One block: per-thread sums over b = t, t + 512, ..., then a fixed tree. Deterministic.
template <class T, class Id>
__global__ void __launch_bounds__(reduce_threads) objective_reduce_kernel(const T* terms, const unsigned char* degraded,
                                                                          const Id* hard_id,
                                                                          const example_fault_record* fault,
                                                                          std::size_t B, int M,
                                                                          objective_summary* out) {
  __shared__ double sh[6][reduce_threads];
  __shared__ unsigned long long shk[reduce_threads];
  const int t = static_cast<int>(threadIdx.x);
  double acc[6] = {0, 0, 0, 0, 0, 0};
  unsigned long long key = ~0ull;
  for (std::size_t b = static_cast<std::size_t>(t); b < B; b += reduce_threads) {
    const example_fault_record& f = fault[b];
    if (f.rank != 5) {
      const unsigned long long k = (static_cast<unsigned long long>(f.rank) << 48) | b;
      key = k < key ? k : key;
      continue;
    }
    for (int i = 0; i < 4; ++i) acc[i] += static_cast<double>(terms[b * 4 + static_cast<std::size_t>(i)]);
    acc[4] += degraded[b];
    int agree = 0;
    for (int a = 0; a < M; ++a)
      for (int c = a + 1; c < M; ++c) agree += hard_id[b * M + a] == hard_id[b * M + c];
    acc[5] += agree;
  }
  for (int i = 0; i < 6; ++i) sh[i][t] = acc[i];
  shk[t] = key;
  __syncthreads();
  for (int s = reduce_threads / 2; s > 0; s /= 2) {
    if (t < s) {
      for (int i = 0; i < 6; ++i) sh[i][t] += sh[i][t + s];
      shk[t] = shk[t + s] < shk[t] ? shk[t + s] : shk[t];
    }
    __syncthreads();
  }
  if (t == 0) *out = {sh[0][0], sh[1][0], sh[2][0], sh[3][0], sh[4][0], sh[5][0], shk[0]};
}

// Host: the forward kernel's parameters for a validated call, scratch pointers left null.
template <class T, class Id>
forward_params<T, Id> make_forward_params(const dot_tables<T>& tables, const batch<Id>& bt,
                                          const objective_config<T>& cfg, const brmrs::detail::objective_shape& sh,
                                          bool check_ids) {
  const std::size_t M = sh.M, B = sh.B, K = sh.K, d_f = sh.d_f;
  const int Mi = static_cast<int>(M);
  const T scale = cfg.reduce == reduction::mean ? T(1) / static_cast<T>(B) : T(1);
  forward_params<T, Id> fp;
  fp.M = Mi;
  fp.K = static_cast<int>(K);
  fp.B = B;
  fp.n_users = sh.n_users;
  fp.n_items = sh.n_items;
  for (std::size_t m = 0; m < M; ++m) {
    fp.user[m] = tables.user[m].data();
    fp.user_stride[m] = tables.user[m].stride();
    fp.item[m] = tables.item[m].data();
    fp.item_stride[m] = tables.item[m].stride();
    fp.plan[m] = make_row_plan(sh.dims[m], fp.user[m], fp.user_stride[m], fp.item[m], fp.item_stride[m]);
  }
  fp.fu = tables.fused_user.data();
  fp.fi = tables.fused_item.data();
  fp.fu_stride = tables.fused_user.stride();
  fp.fi_stride = tables.fused_item.stride();
  fp.fplan = make_row_plan(d_f, fp.fu, fp.fu_stride, fp.fi, fp.fi_stride);
  fp.users = bt.users.data();
  fp.positives = bt.positives.data();
  fp.pools = bt.pools.data();
  fp.pool_stride = bt.pools.stride();
  fp.negatives = bt.negatives.empty() ? nullptr : bt.negatives.data();
  fp.seed = cfg.seed;
  fp.step = cfg.step;
  fp.example_offset = cfg.example_offset;
  fp.lp = brmrs::detail::example_loss_params<T>{cfg.lambda_bpr, cfg.lambda_hard, cfg.lambda_synergy, cfg.theta,
                                               cfg.tau, scale, cfg.synergy_mode};
  fp.lambda_reg = cfg.lambda_reg;
  fp.check_ids = check_ids;
  return fp;
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
