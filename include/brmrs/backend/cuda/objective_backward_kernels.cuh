// brmrs/backend/cuda/objective_backward_kernels.cuh — the backward kernel of the CUDA
// compute_objective and its parameter block (internal; objective.cuh launches it). Kept free of
// launches and of CUDA runtime calls, as objective_kernels.cuh.
//   objective_backward_kernel  one warp per example, lanes across d: hard negatives, negatives,
//                              per-example losses, gradient rows in the CPU pipeline's order
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "../../config.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../objective_types.hpp"
#include "objective_kernels.cuh"
#include "options.cuh"
#include "warp.cuh"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {
namespace detail {

template <class T, class Id>
struct backward_params {
  int M = 0;
  std::size_t B = 0;
  const T* user[max_modalities] = {};
  std::size_t user_stride[max_modalities] = {};
  const T* item[max_modalities] = {};
  std::size_t item_stride[max_modalities] = {};
  int dims[max_modalities] = {};
  const T* fu = nullptr;
  const T* fi = nullptr;
  std::size_t fu_stride = 0, fi_stride = 0;
  int d_f = 0;
  const Id* users = nullptr;
  const Id* positives = nullptr;
  T lambda_bpr = 0, lambda_hard = 0, lambda_synergy = 0, lambda_reg = 0;
  T reg = T(0);  // 2 λ_reg scale
  // Phase-1 results.
  const Id* neg_id = nullptr;
  const Id* hard_id = nullptr;
  const T* g_pos = nullptr;
  const T* g_neg = nullptr;
  const T* g_cross = nullptr;
  const T* g_pos_f = nullptr;
  const T* g_neg_f = nullptr;
  const T* terms = nullptr;
  // Outputs (null: not wanted).
  Id* out_hard = nullptr;
  std::size_t out_hard_stride = 0;
  Id* out_neg = nullptr;
  T* out_loss = nullptr;
  bool rows = false;
  rows_ref<T> r;
};

template <class T, class Id>
__global__ void objective_backward_kernel(const backward_params<T, Id> p) {
  const int lane = static_cast<int>(threadIdx.x) & (warp_size - 1);
  const std::size_t warps = static_cast<std::size_t>(gridDim.x) * (blockDim.x / warp_size);
  const int M = p.M;
  for (std::size_t b = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) / warp_size; b < p.B;
       b += warps) {
    if (p.out_hard != nullptr && lane < M) p.out_hard[b * p.out_hard_stride + lane] = p.hard_id[b * M + lane];
    if (lane == 0) {
      if (p.out_neg != nullptr) p.out_neg[b] = p.neg_id[b];
      if (p.out_loss != nullptr) {
        const T* t = p.terms + b * 4;
        p.out_loss[b] = p.lambda_bpr * t[0] + p.lambda_hard * t[1] + p.lambda_synergy * t[2] + p.lambda_reg * t[3];
      }
    }
    if (!p.rows) continue;
    const std::size_t u = static_cast<std::size_t>(p.users[b]);
    const std::size_t ip = static_cast<std::size_t>(p.positives[b]);
    const std::size_t in = static_cast<std::size_t>(p.neg_id[b]);
    const T reg = p.reg;
    for (int m = 0; m < M; ++m) {
      const int d = p.dims[m];
      const T* pu = p.user[m] + u * p.user_stride[m];
      const T* qp = p.item[m] + ip * p.item_stride[m];
      const T* qn = p.item[m] + in * p.item_stride[m];
      const T gp = p.g_pos[b * M + m], gn = p.g_neg[b * M + m];
      const T* gc = p.g_cross + (b * M + static_cast<std::size_t>(m)) * M;
      T* ru = p.r.user[m] + b * p.r.user_stride[m];
      T* rp = p.r.positive[m] + b * p.r.positive_stride[m];
      T* rn = p.r.negative[m] + b * p.r.negative_stride[m];
      for (int e = lane; e < d; e += warp_size) {
        // Same terms in the same order as the CPU pipeline: g+·q+, g-·q-, Σ_{c≠m} g_{m,c}·q_{j^c}, reg·p_u.
        T acc = gp * qp[e];
        acc = fma_t(gn, qn[e], acc);
        for (int c = 0; c < M; ++c)
          if (c != m) acc = fma_t(gc[c], p.item[m][static_cast<std::size_t>(p.hard_id[b * M + c]) * p.item_stride[m] + e], acc);
        const T pue = pu[e];
        if (reg != T(0)) acc = fma_t(reg, pue, acc);
        ru[e] = acc;
        T vp = gp * pue, vn = gn * pue;
        if (reg != T(0)) {
          vp = fma_t(reg, qp[e], vp);
          vn = fma_t(reg, qn[e], vn);
        }
        rp[e] = vp;
        rn[e] = vn;
        for (int c = 0; c < M; ++c)
          p.r.hard[m][(b * M + static_cast<std::size_t>(c)) * p.r.hard_stride[m] + e] = c == m ? T(0) : gc[c] * pue;
      }
    }
    const T* fu = p.fu + u * p.fu_stride;
    const T* fp = p.fi + ip * p.fi_stride;
    const T* fn = p.fi + in * p.fi_stride;
    const T gpf = p.g_pos_f[b], gnf = p.g_neg_f[b];
    T* rfu = p.r.fused_user + b * p.r.fused_user_stride;
    T* rfp = p.r.fused_positive + b * p.r.fused_positive_stride;
    T* rfn = p.r.fused_negative + b * p.r.fused_negative_stride;
    for (int e = lane; e < p.d_f; e += warp_size) {
      const T fue = fu[e], fpe = fp[e], fne = fn[e];
      T a = gpf * fpe;
      a = fma_t(gnf, fne, a);
      T vp = gpf * fue, vn = gnf * fue;
      if (reg != T(0)) {
        a = fma_t(reg, fue, a);
        vp = fma_t(reg, fpe, vp);
        vn = fma_t(reg, fne, vn);
      }
      rfu[e] = a;
      rfp[e] = vp;
      rfn[e] = vn;
    }
  }
}

template <class T>
rows_ref<T> rows_ref_of(const gradient_rows<T>& r, std::size_t M) {
  rows_ref<T> o;
  for (std::size_t m = 0; m < M; ++m) {
    o.user[m] = r.user[m].data();
    o.user_stride[m] = r.user[m].stride();
    o.positive[m] = r.positive[m].data();
    o.positive_stride[m] = r.positive[m].stride();
    o.negative[m] = r.negative[m].data();
    o.negative_stride[m] = r.negative[m].stride();
    o.hard[m] = r.hard[m].data();
    o.hard_stride[m] = r.hard[m].stride();
  }
  o.fused_user = r.fused_user.data();
  o.fused_user_stride = r.fused_user.stride();
  o.fused_positive = r.fused_positive.data();
  o.fused_positive_stride = r.fused_positive.stride();
  o.fused_negative = r.fused_negative.data();
  o.fused_negative_stride = r.fused_negative.stride();
  return o;
}

// Host: the backward kernel's parameters from the forward ones; rows (bp.r, bp.rows) left unset.
template <class T, class Id>
backward_params<T, Id> make_backward_params(const forward_params<T, Id>& fp, const objective_config<T>& cfg,
                                            const brmrs::detail::objective_shape& sh,
                                            const objective_outputs<T, Id>& out) {
  const std::size_t M = sh.M, B = sh.B, d_f = sh.d_f;
  const int Mi = static_cast<int>(M);
  const T scale = fp.lp.scale;
  backward_params<T, Id> bp;
  bp.M = Mi;
  bp.B = B;
  for (std::size_t m = 0; m < M; ++m) {
    bp.user[m] = fp.user[m];
    bp.user_stride[m] = fp.user_stride[m];
    bp.item[m] = fp.item[m];
    bp.item_stride[m] = fp.item_stride[m];
    bp.dims[m] = static_cast<int>(sh.dims[m]);
  }
  bp.fu = fp.fu;
  bp.fi = fp.fi;
  bp.fu_stride = fp.fu_stride;
  bp.fi_stride = fp.fi_stride;
  bp.d_f = static_cast<int>(d_f);
  bp.users = fp.users;
  bp.positives = fp.positives;
  bp.lambda_bpr = cfg.lambda_bpr;
  bp.lambda_hard = cfg.lambda_hard;
  bp.lambda_synergy = cfg.lambda_synergy;
  bp.lambda_reg = cfg.lambda_reg;
  bp.reg = T(2) * cfg.lambda_reg * scale;
  bp.neg_id = fp.neg_id;
  bp.hard_id = fp.hard_id;
  bp.g_pos = fp.g_pos;
  bp.g_neg = fp.g_neg;
  bp.g_cross = fp.g_cross;
  bp.g_pos_f = fp.g_pos_f;
  bp.g_neg_f = fp.g_neg_f;
  bp.terms = fp.terms;
  if (!out.hard_negatives.empty()) {
    bp.out_hard = out.hard_negatives.data();
    bp.out_hard_stride = out.hard_negatives.stride();
  }
  bp.out_neg = out.negatives.empty() ? nullptr : out.negatives.data();
  bp.out_loss = out.example_loss.empty() ? nullptr : out.example_loss.data();
  return bp;
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
