// brmrs/backend/cuda/select.cuh — fused hard-negative selection on the GPU: for every example b
// and modality m, the pool member j^m = pools(b, k*) with k* the FIRST slot maximising
// s_m(u, pools(b, k)) = <user[m].row(users[b]), item[m].row(pools(b, k))>.
//
//   select_hard_negatives(user, item, users, pools, hard_negatives, best_scores, stream, options)
//     user, item       M views each (device), user[m] n_users x d_m, item[m] n_items x d_m
//     users, pools     B ids, B x K ids (device)
//     hard_negatives   B x M ids out (device); -1 where every score of the pool is NaN
//     best_scores      B x M out (device) or empty: the maximal score (NaN where none)
// One warp per example, lanes across d (16-byte loads when rows are aligned for them, several
// rows in flight per lane), every modality in one launch; a (score, slot) warp reduction keeps the
// lowest slot on ties and never picks NaN, as the CPU backends (warp.cuh). The scores are the ones
// compute_objective computes (same kernels), so near-ties may pick a different slot than a CPU
// backend, whose additions run in another order; the chosen scores agree within float tolerance.
// Checks: host (no device needed) — M in [1, max_modalities], shapes, null pointers, strides;
// device (options.check_ids) — users in range, pool ids in range, before anything is written (one
// synchronisation). Throws brmrs::invalid_argument, or brmrs::cuda_error on a CUDA failure.
// Cost: B·K·Σ_m d_m multiply-adds; B·K·Σ_m d_m·sizeof(T) bytes gathered (the candidate rows).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../../config.hpp"
#include "../../error.hpp"
#include "../../validate.hpp"
#include "../../views.hpp"
#include "error.cuh"
#include "options.cuh"
#include "validate.cuh"
#include "warp.cuh"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {
namespace detail {

constexpr const char* select_fn = "brmrs::backend::cuda::select_hard_negatives";

template <class T, class Id>
struct select_params {
  int M = 0, K = 0;
  std::size_t B = 0, n_users = 0, n_items = 0;
  const T* user[max_modalities] = {};
  std::size_t user_stride[max_modalities] = {};
  const T* item[max_modalities] = {};
  std::size_t item_stride[max_modalities] = {};
  row_plan plan[max_modalities];
  const Id* users = nullptr;
  const Id* pools = nullptr;
  std::size_t pool_stride = 0;
  Id* hard = nullptr;
  std::size_t hard_stride = 0;
  T* scores = nullptr;
  std::size_t scores_stride = 0;
};

// Lowest (b, what) with a bad id: what 0 = users[b], 1 + k = pools(b, k). Packed for atomicMin.
template <class Id>
__global__ void check_select_ids_kernel(const Id* users, const Id* pools, std::size_t pool_stride, std::size_t B,
                                        std::size_t K, std::size_t n_users, std::size_t n_items,
                                        unsigned long long* verdict) {
  for (std::size_t t = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; t < B * (K + 1);
       t += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t b = t / (K + 1), w = t % (K + 1);
    bool bad;
    if (w == 0) {
      const Id u = users[b];
      bad = (std::is_signed_v<Id> && u < Id(0)) || static_cast<std::size_t>(u) >= n_users;
    } else {
      const Id j = pools[b * pool_stride + (w - 1)];
      bad = (std::is_signed_v<Id> && j < Id(0)) || static_cast<std::size_t>(j) >= n_items;
    }
    if (bad) atomicMin(verdict, static_cast<unsigned long long>(t));
  }
}

template <class T, class Id>
__global__ void select_hard_kernel(const select_params<T, Id> p) {
  const int lane = static_cast<int>(threadIdx.x) & (warp_size - 1);
  const std::size_t warps = static_cast<std::size_t>(gridDim.x) * (blockDim.x / warp_size);
  for (std::size_t b = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) / warp_size; b < p.B;
       b += warps) {
    const Id* pool = p.pools + b * p.pool_stride;
    const std::size_t u = static_cast<std::size_t>(p.users[b]);
    for (int m = 0; m < p.M; ++m) {
      T bs, fs;
      int bk, fk;
      warp_argmax_pool(p.user[m] + u * p.user_stride[m], p.item[m], p.item_stride[m], p.plan[m], pool, p.K, lane, bs, bk,
                       fs, fk);
      if (lane == 0) {
        p.hard[b * p.hard_stride + static_cast<std::size_t>(m)] = bk < p.K ? pool[bk] : Id(-1);
        if (p.scores != nullptr)
          p.scores[b * p.scores_stride + static_cast<std::size_t>(m)] = bk < p.K ? bs : T(NAN);
      }
    }
  }
}

}  // namespace detail

// Host-side checks of select_hard_negatives (no device access).
template <class T, class Id>
void validate_select_hard_negatives(const std::vector<matrix_view<const T>>& user,
                                    const std::vector<matrix_view<const T>>& item, vector_view<const Id> users,
                                    matrix_view<const Id> pools, matrix_view<Id> hard_negatives,
                                    matrix_view<T> best_scores, const launch_options& opt) {
  using brmrs::detail::throw_invalid_argument;
  const char* fn = detail::select_fn;
  detail::check_launch_options(fn, opt);
  const std::size_t M = item.size();
  if (M == 0 || M > static_cast<std::size_t>(max_modalities))
    throw_invalid_argument(fn, ": item has ", M, " views, expected 1 to ", max_modalities);
  if (user.size() != M) throw_invalid_argument(fn, ": user has ", user.size(), " views, expected ", M);
  const std::size_t n_users = user[0].rows(), n_items = item[0].rows();
  for (std::size_t m = 0; m < M; ++m) {
    const int mi = static_cast<int>(m);
    brmrs::detail::check_table("user", mi, user[m], n_users, "every user table has user[0].rows()");
    brmrs::detail::check_table("item", mi, item[m], n_items, "every item table has item[0].rows()");
    if (user[m].cols() != item[m].cols())
      throw_invalid_argument(fn, ": user[", m, "] has ", user[m].cols(), " columns but item[", m, "] has ",
                             item[m].cols());
  }
  const std::size_t B = users.size(), K = pools.cols();
  if (B == 0) throw_invalid_argument(fn, ": users is empty (B = 0)");
  if (users.data() == nullptr) throw_invalid_argument(fn, ": users.data is null");
  if (pools.rows() != B) throw_invalid_argument(fn, ": pools has ", pools.rows(), " rows, expected B = ", B);
  if (K == 0) throw_invalid_argument(fn, ": pools has K = 0 columns (empty pool)");
  if (K >= (std::size_t(1) << 31)) throw_invalid_argument(fn, ": pools has K = ", K, " columns, expected K < 2^31");
  if (pools.data() == nullptr) throw_invalid_argument(fn, ": pools.data is null");
  if (pools.stride() < K) throw_invalid_argument(fn, ": pools.stride = ", pools.stride(), " is smaller than K = ", K);
  brmrs::detail::check_out_matrix("hard_negatives", -1, hard_negatives, B, M);
  if (!best_scores.empty() || best_scores.data() != nullptr)
    brmrs::detail::check_out_matrix("best_scores", -1, best_scores, B, M);
}

template <class T, class Id>
void select_hard_negatives(const std::vector<matrix_view<const T>>& user, const std::vector<matrix_view<const T>>& item,
                           detail::nondeduced_t<vector_view<const Id>> users,
                           detail::nondeduced_t<matrix_view<const Id>> pools,
                           matrix_view<Id> hard_negatives, matrix_view<T> best_scores = {}, cudaStream_t stream = 0,
                           const launch_options& opt = {}) {
  validate_select_hard_negatives(user, item, users, pools, hard_negatives, best_scores, opt);
  const std::size_t M = item.size(), B = users.size(), K = pools.cols();
  const int threads = opt.block_threads;
  detail::select_params<T, Id> p;
  p.M = static_cast<int>(M);
  p.K = static_cast<int>(K);
  p.B = B;
  p.n_users = user[0].rows();
  p.n_items = item[0].rows();
  for (std::size_t m = 0; m < M; ++m) {
    p.user[m] = user[m].data();
    p.user_stride[m] = user[m].stride();
    p.item[m] = item[m].data();
    p.item_stride[m] = item[m].stride();
    p.plan[m] = detail::make_row_plan(item[m].cols(), p.user[m], p.user_stride[m], p.item[m], p.item_stride[m]);
  }
  p.users = users.data();
  p.pools = pools.data();
  p.pool_stride = pools.stride();
  p.hard = hard_negatives.data();
  p.hard_stride = hard_negatives.stride();
  p.scores = best_scores.empty() ? nullptr : best_scores.data();
  p.scores_stride = best_scores.stride();

  if (opt.check_ids) {
    stream_scratch scratch(stream_scratch::bytes_for<unsigned long long>(1), stream);
    unsigned long long* verdict = scratch.take<unsigned long long>(1);
    BRMRS_CUDA_CHECK(cudaMemsetAsync(verdict, 0xFF, sizeof(unsigned long long), stream));
    detail::check_select_ids_kernel<Id><<<detail::grid_for(B * (K + 1), threads), threads, 0, stream>>>(
        p.users, p.pools, p.pool_stride, B, K, p.n_users, p.n_items, verdict);
    BRMRS_CUDA_CHECK_LAUNCH("check_select_ids_kernel");
    unsigned long long v = 0;
    BRMRS_CUDA_CHECK(cudaMemcpyAsync(&v, verdict, sizeof v, cudaMemcpyDeviceToHost, stream));
    BRMRS_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (v != ~0ull) {
      const std::size_t b = static_cast<std::size_t>(v / (K + 1)), w = static_cast<std::size_t>(v % (K + 1));
      Id id{};
      const Id* where = w == 0 ? p.users + b : p.pools + b * p.pool_stride + (w - 1);
      BRMRS_CUDA_CHECK(cudaMemcpy(&id, where, sizeof(Id), cudaMemcpyDeviceToHost));
      if (w == 0) brmrs::detail::check_id_in_range(detail::select_fn, "users", b, id, p.n_users);
      brmrs::detail::throw_invalid_argument(detail::select_fn, ": pools(", b, ", ", w - 1, ") = ",
                                            brmrs::detail::printable(id), " is out of range [0, ", p.n_items, ")");
    }
  }
  detail::select_hard_kernel<T, Id><<<detail::grid_for(B * detail::warp_size, threads), threads, 0, stream>>>(p);
  BRMRS_CUDA_CHECK_LAUNCH("select_hard_kernel");
}

}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
