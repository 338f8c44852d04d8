// brmrs/backend/cuda/objective.cuh — compute_objective on the GPU: the same function as the CPU
// backends (objective.hpp), for tables, batch and outputs in device memory.
//
//   objective_result<T> brmrs::backend::cuda::compute_objective(tables, batch, config, out,
//                                                               stream, options = {})
//   objective_result<T> brmrs::compute_objective(tables, batch, config, out, brmrs::cuda_backend{})
//                       the same on the default stream (the backend tag form of objective.hpp)
//
// Every view in `tables`, `batch` and `out` holds device pointers (cudaMalloc or managed memory),
// T = float or double, Id = int32 or int64, 2 <= M <= max_modalities (8). The math, the order of
// the checks, the messages and the output contracts are those of compute_objective
// (objective.hpp): per-example gradient rows are overwritten, table gradients are added (+=).
//
// Kernels (one warp per example; warp.cuh has the row layout and the tie rule):
//   1. forward   ids checked (users, positives, pools, negatives), the pool negative drawn with
//                pool_negative_slot, for each modality the fused gather-score-argmax over the
//                pool (16-byte loads, several rows in flight per lane, a (score, slot) warp
//                reduction that keeps the lowest slot on ties), the scores of i+, i-, j^c and the
//                fused pair, then lane 0 runs detail::example_loss_and_grad (the BRMRS_HD code
//                the CPU backends test) and writes terms, score gradients and faults to scratch.
//   2. reduce    one block sums the per-example terms in double (a fixed tree: deterministic)
//                and finds the first fault in the CPU's order. The host reads this summary
//                (one synchronisation of `stream`) and throws on a fault: nothing the caller
//                passed has been written yet (strong guarantee, as on the CPU).
//   3. backward  hard negatives, negatives, per-example losses and gradient rows, lanes across d.
//   4. scatter   (table gradients only) scatter.cuh: stable radix sort by destination row, then
//                one warp per row adds its contributions in the CPU backends' order; or atomic.
// The result is returned after step 2; steps 3-4 are queued on `stream` and the outputs are ready
// when the stream reaches them (synchronise before reading them on the host).
// Throws brmrs::invalid_argument (host checks before any CUDA call, id and non-finite checks
// before any write) and brmrs::cuda_error (a CUDA call failed; the CUDA error text included).
// Cost: the CPU objective's arithmetic; memory traffic dominated by B·K·Σd_m gathered elements.
// Scratch: O(B·M²) values, plus the gradient rows when only table gradients are wanted, plus the
// sort buffers of the deterministic scatter; taken with cudaMallocAsync on `stream`.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../../config.hpp"
#include "../../detail/example_loss.hpp"
#include "../../detail/example_fault.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../error.hpp"
#include "../../objective_types.hpp"
#include "../../rng/philox.hpp"
#include "../../validate.hpp"
#include "../../views.hpp"
#include "../tags.hpp"
#include "error.cuh"
#include "objective_backward_kernels.cuh"
#include "objective_kernels.cuh"
#include "options.cuh"
#include "scatter.cuh"
#include "validate.cuh"
#include "warp.cuh"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {
namespace detail {

template <class T, class Id>
[[noreturn]] void throw_objective_fault(std::size_t b, const example_fault_record& f, const objective_shape& sh) {
  using brmrs::detail::objective_fn;
  const auto id = static_cast<Id>(f.ival);
  switch (f.rank) {
    case 0: brmrs::detail::check_id_in_range(objective_fn, "batch.users", b, id, sh.n_users); break;
    case 1: brmrs::detail::check_id_in_range(objective_fn, "batch.positives", b, id, sh.n_items); break;
    case 2: {
      const Id one[1] = {id};
      // The CPU's message for a matrix of ids, at position (b, k).
      try {
        brmrs::detail::check_ids_in_range(objective_fn, "batch.pools", matrix_view<const Id>(one, 1, 1), sh.n_items);
      } catch (const brmrs::invalid_argument& e) {
        std::string msg = e.what();
        const std::string from = "batch.pools(0, 0)";
        const std::size_t at = msg.find(from);
        if (at != std::string::npos)
          msg.replace(at, from.size(), "batch.pools(" + std::to_string(b) + ", " + std::to_string(f.pos) + ")");
        throw brmrs::invalid_argument(msg);
      }
      break;
    }
    case 3: brmrs::detail::check_id_in_range(objective_fn, "batch.negatives", b, id, sh.n_items); break;
    default: break;
  }
  brmrs::detail::example_fault<T> ef;
  ef.kind = f.kind;
  ef.m = f.m;
  ef.k = static_cast<std::size_t>(f.pos);
  ef.value = static_cast<T>(f.value);
  brmrs::detail::throw_fault(b, ef);
}

}  // namespace detail

template <class T, class Id>
objective_result<T> compute_objective(const dot_tables<T>& tables, const batch<Id>& bt, const objective_config<T>& cfg,
                                      const objective_outputs<T, Id>& out, cudaStream_t stream,
                                      const launch_options& opt = {}) {
  using namespace detail;
  const objective_shape_cuda sh = validate_objective_cuda(tables, bt, cfg, out, opt);
  const std::size_t M = sh.M, B = sh.B;
  const int Mi = static_cast<int>(M);
  const int threads = opt.block_threads;
  const unsigned grid = grid_for(B * warp_size, threads);

  // Scratch: phase-1 results, plus the row buffers and sort buffers of the table scatter.
  const bool own_rows = sh.want_tables && !sh.want_rows;
  std::size_t bytes = stream_scratch::bytes_for<Id>(B) + stream_scratch::bytes_for<Id>(B * M) +
                      2 * stream_scratch::bytes_for<T>(B * M) + stream_scratch::bytes_for<T>(B * M * M) +
                      2 * stream_scratch::bytes_for<T>(B) + stream_scratch::bytes_for<T>(B * 4) +
                      stream_scratch::bytes_for<unsigned char>(B) +
                      stream_scratch::bytes_for<example_fault_record>(B) +
                      stream_scratch::bytes_for<objective_summary>(1);
  if (own_rows) bytes += own_rows_bytes<T>(sh);
  scatter_plan<T, Id> splan;
  if (sh.want_tables) splan = plan_scatter<T, Id>(tables, out.tables, sh, opt);
  bytes += splan.scratch_bytes;

  stream_scratch scratch(bytes, stream);
  forward_params<T, Id> fp = make_forward_params(tables, bt, cfg, sh, opt.check_ids);
  fp.neg_id = scratch.take<Id>(B);
  fp.hard_id = scratch.take<Id>(B * M);
  fp.g_pos = scratch.take<T>(B * M);
  fp.g_neg = scratch.take<T>(B * M);
  fp.g_cross = scratch.take<T>(B * M * M);
  fp.g_pos_f = scratch.take<T>(B);
  fp.g_neg_f = scratch.take<T>(B);
  fp.terms = scratch.take<T>(B * 4);
  fp.degraded = scratch.take<unsigned char>(B);
  fp.fault = scratch.take<example_fault_record>(B);
  objective_summary* dsum = scratch.take<objective_summary>(1);

  objective_forward_kernel<T, Id><<<grid, threads, 0, stream>>>(fp);
  BRMRS_CUDA_CHECK_LAUNCH("objective_forward_kernel");
  objective_reduce_kernel<T, Id><<<1, reduce_threads, 0, stream>>>(fp.terms, fp.degraded, fp.hard_id, fp.fault, B, Mi,
                                                                   dsum);
  BRMRS_CUDA_CHECK_LAUNCH("objective_reduce_kernel");
  objective_summary s{};
  BRMRS_CUDA_CHECK(cudaMemcpyAsync(&s, dsum, sizeof s, cudaMemcpyDeviceToHost, stream));
  BRMRS_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (s.fault_key != ~0ull) {
    const std::size_t b = static_cast<std::size_t>(s.fault_key & ((1ull << 48) - 1));
    example_fault_record f{};
    BRMRS_CUDA_CHECK(cudaMemcpy(&f, fp.fault + b, sizeof f, cudaMemcpyDeviceToHost));
    throw_objective_fault<T, Id>(b, f, sh);
  }

  const double dscale = cfg.reduce == reduction::mean ? 1.0 / static_cast<double>(B) : 1.0;
  objective_result<T> res;
  res.bpr = static_cast<T>(s.bpr * dscale);
  res.chns = static_cast<T>(s.chns * dscale);
  res.synergy = static_cast<T>(s.syn * dscale);
  res.l2 = static_cast<T>(s.l2 * dscale);
  res.loss = static_cast<T>((static_cast<double>(cfg.lambda_bpr) * s.bpr + static_cast<double>(cfg.lambda_hard) * s.chns +
                             static_cast<double>(cfg.lambda_synergy) * s.syn + static_cast<double>(cfg.lambda_reg) * s.l2) *
                            dscale);
  res.fusion_degradation_rate = static_cast<T>(s.degraded / static_cast<double>(B));
  res.hard_negative_agreement = static_cast<T>(s.agree / (static_cast<double>(B) * static_cast<double>(M * (M - 1) / 2)));
  if (!std::isfinite(res.loss))
    brmrs::detail::throw_invalid_argument(brmrs::detail::objective_fn, ": the reduced loss = ", res.loss,
                                          " is not finite");

  // ── Phase 2: outputs. Nothing below throws brmrs::invalid_argument. ──
  backward_params<T, Id> bp = make_backward_params(fp, cfg, sh, out);
  bp.rows = sh.want_rows || sh.want_tables;
  if (sh.want_rows) bp.r = rows_ref_of(out.rows, M);
  if (own_rows) bp.r = take_own_rows<T>(scratch, sh);
  objective_backward_kernel<T, Id><<<grid, threads, 0, stream>>>(bp);
  BRMRS_CUDA_CHECK_LAUNCH("objective_backward_kernel");

  if (sh.want_tables) {
    scatter_inputs<T, Id> si;
    si.M = Mi;
    si.B = B;
    si.users = fp.users;
    si.positives = fp.positives;
    si.neg_id = fp.neg_id;
    si.hard_id = fp.hard_id;
    si.r = bp.r;
    run_scatter(splan, si, scratch, stream, opt);
  }
  return res;
}

}  // namespace cuda
}  // namespace backend

// The backend-tag form: compute_objective(tables, batch, config, out, brmrs::cuda_backend{}) runs
// on the default stream with default options. More specialised than objective.hpp's template, so
// it is chosen when both are visible.
template <class T, class Id>
objective_result<T> compute_objective(const dot_tables<T>& tables, const batch<Id>& b, const objective_config<T>& config,
                                      const objective_outputs<T, Id>& out, cuda_backend) {
  return backend::cuda::compute_objective(tables, b, config, out, cudaStream_t{0});
}

BRMRS_END_NAMESPACE
