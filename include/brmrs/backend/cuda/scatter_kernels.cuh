// brmrs/backend/cuda/scatter_kernels.cuh — the kernels of the table-gradient scatter and the
// numbering of contributions (internal; scatter.cuh sorts and launches). Free of launches, CUB and
// runtime calls, so tests/cuda/test_warp_emulation.cpp runs them on the CPU.
//
// Contributions are numbered example-major in the CPU pipeline's order (backend/cpu/scatter_phase.hpp):
// for example b, user[0..M-1], then for m = 0..M-1: i+, i-, j^c (c = 0..M-1; c == m is a skipped
// slot with the sentinel key), then fused user, fused i+, fused i-. Key = group * n_key + row.
//   scatter_keys_kernel        thread per contribution: its key, and its number as the value
//   scatter_add_sorted_kernel  after a stable sort by key: one warp per run of equal keys adds the
//                              run's rows, in order, into the destination row (lanes across d)
//   scatter_add_atomic_kernel  the opt-in: one warp per contribution, atomicAdd per element
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

constexpr int max_scatter_groups = 2 * max_modalities + 2;

template <class T>
struct scatter_groups {
  int n = 0;
  T* data[max_scatter_groups] = {};
  std::size_t stride[max_scatter_groups] = {};
  int cols[max_scatter_groups] = {};
  int user_group[max_modalities] = {};
  int item_group[max_modalities] = {};
  int fu_group = 0, fi_group = 0;
  unsigned long long n_key = 0;     // rows per group in the key space: max(n_users, n_items)
  unsigned long long sentinel = 0;  // key of a contribution that is skipped (j^m of modality m)
};

template <class T, class Id>
struct scatter_inputs {
  int M = 0;
  std::size_t B = 0;
  const Id* users = nullptr;
  const Id* positives = nullptr;
  const Id* neg_id = nullptr;
  const Id* hard_id = nullptr;
  rows_ref<T> r;
};

// The contribution numbering of one call: groups of destinations (the very same view is one
// group), key space, contribution count. Host only; throws when the count does not fit 32 bits.
template <class T>
struct scatter_layout {
  scatter_groups<T> groups;
  std::size_t N = 0;  // contributions, B * per_example
  int per_example = 0;
  int end_bit = 0;    // key bits the sort needs
};

template <class T>
scatter_layout<T> make_scatter_layout(const table_gradients<T>& g, const brmrs::detail::objective_shape& sh) {
  scatter_layout<T> p;
  auto& gr = p.groups;
  auto group_of = [&](matrix_view<T> v) {
    for (int i = 0; i < gr.n; ++i)
      if (gr.data[i] == v.data() && gr.stride[i] == v.stride() && gr.cols[i] == static_cast<int>(v.cols())) return i;
    gr.data[gr.n] = v.data();
    gr.stride[gr.n] = v.stride();
    gr.cols[gr.n] = static_cast<int>(v.cols());
    return gr.n++;
  };
  for (std::size_t m = 0; m < sh.M; ++m) gr.user_group[m] = group_of(g.user[m]);
  for (std::size_t m = 0; m < sh.M; ++m) gr.item_group[m] = group_of(g.item[m]);
  gr.fu_group = group_of(g.fused_user);
  gr.fi_group = group_of(g.fused_item);
  gr.n_key = static_cast<unsigned long long>(sh.n_users > sh.n_items ? sh.n_users : sh.n_items);
  gr.sentinel = static_cast<unsigned long long>(gr.n) * gr.n_key;
  p.end_bit = 1;
  while (p.end_bit < 64 && (gr.sentinel >> p.end_bit) != 0) ++p.end_bit;
  p.per_example = static_cast<int>(sh.M + sh.M * (2 + sh.M) + 3);
  p.N = sh.B * static_cast<std::size_t>(p.per_example);
  if (p.N >= (std::size_t(1) << 32))
    brmrs::detail::throw_invalid_argument(brmrs::detail::objective_fn, ": B = ", sh.B,
                                          " is too large for the CUDA table scatter (B·(M² + 3M + 3) must be < 2^32)");
  return p;
}

// Contribution s -> (key, source row). See the header comment for the numbering.
template <class T, class Id>
__device__ __forceinline__ unsigned long long scatter_decode(std::size_t s, int per_example,
                                                             const scatter_groups<T>& gr,
                                                             const scatter_inputs<T, Id>& in, const T** src) {
  const int M = in.M;
  const std::size_t b = s / static_cast<std::size_t>(per_example);
  int e = static_cast<int>(s % static_cast<std::size_t>(per_example));
  const rows_ref<T>& r = in.r;
  if (e < M) {
    *src = r.user[e] + b * r.user_stride[e];
    return static_cast<unsigned long long>(gr.user_group[e]) * gr.n_key + static_cast<unsigned long long>(in.users[b]);
  }
  e -= M;
  if (e < M * (2 + M)) {
    const int m = e / (2 + M), q = e % (2 + M);
    const unsigned long long g = static_cast<unsigned long long>(gr.item_group[m]) * gr.n_key;
    if (q == 0) {
      *src = r.positive[m] + b * r.positive_stride[m];
      return g + static_cast<unsigned long long>(in.positives[b]);
    }
    if (q == 1) {
      *src = r.negative[m] + b * r.negative_stride[m];
      return g + static_cast<unsigned long long>(in.neg_id[b]);
    }
    const int c = q - 2;
    *src = r.hard[m] + (b * static_cast<std::size_t>(M) + static_cast<std::size_t>(c)) * r.hard_stride[m];
    if (c == m) return gr.sentinel;
    return g + static_cast<unsigned long long>(in.hard_id[b * static_cast<std::size_t>(M) + static_cast<std::size_t>(c)]);
  }
  e -= M * (2 + M);
  if (e == 0) {
    *src = r.fused_user + b * r.fused_user_stride;
    return static_cast<unsigned long long>(gr.fu_group) * gr.n_key + static_cast<unsigned long long>(in.users[b]);
  }
  const unsigned long long g = static_cast<unsigned long long>(gr.fi_group) * gr.n_key;
  if (e == 1) {
    *src = r.fused_positive + b * r.fused_positive_stride;
    return g + static_cast<unsigned long long>(in.positives[b]);
  }
  *src = r.fused_negative + b * r.fused_negative_stride;
  return g + static_cast<unsigned long long>(in.neg_id[b]);
}

template <class T, class Id>
__global__ void scatter_keys_kernel(const scatter_groups<T> gr, const scatter_inputs<T, Id> in, int per_example,
                                    std::size_t N, unsigned long long* keys, unsigned* vals) {
  for (std::size_t s = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; s < N;
       s += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const T* src;
    keys[s] = scatter_decode(s, per_example, gr, in, &src);
    vals[s] = static_cast<unsigned>(s);
  }
}

// One warp per run of equal keys (found at its first position): dest row += each contribution,
// in sorted (= original) order.
template <class T, class Id>
__global__ void scatter_add_sorted_kernel(const scatter_groups<T> gr, const scatter_inputs<T, Id> in, int per_example,
                                          std::size_t N, const unsigned long long* keys, const unsigned* vals) {
  const int lane = static_cast<int>(threadIdx.x) & (warp_size - 1);
  const std::size_t warps = static_cast<std::size_t>(gridDim.x) * (blockDim.x / warp_size);
  for (std::size_t i = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) / warp_size; i < N; i += warps) {
    const unsigned long long key = keys[i];
    if (key >= gr.sentinel || (i > 0 && keys[i - 1] == key)) continue;
    const int g = static_cast<int>(key / gr.n_key);
    const std::size_t row = static_cast<std::size_t>(key % gr.n_key);
    T* dest = gr.data[g] + row * gr.stride[g];
    const int cols = gr.cols[g];
    for (int e0 = 0; e0 < cols; e0 += warp_size) {
      const int e = e0 + lane;
      T acc = e < cols ? dest[e] : T(0);
      for (std::size_t j = i; j < N && keys[j] == key; ++j) {
        const T* src;
        (void)scatter_decode(static_cast<std::size_t>(vals[j]), per_example, gr, in, &src);
        if (e < cols) acc += src[e];
      }
      if (e < cols) dest[e] = acc;
    }
  }
}

template <class T, class Id>
__global__ void scatter_add_atomic_kernel(const scatter_groups<T> gr, const scatter_inputs<T, Id> in, int per_example,
                                          std::size_t N) {
  const int lane = static_cast<int>(threadIdx.x) & (warp_size - 1);
  const std::size_t warps = static_cast<std::size_t>(gridDim.x) * (blockDim.x / warp_size);
  for (std::size_t s = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) / warp_size; s < N; s += warps) {
    const T* src;
    const unsigned long long key = scatter_decode(s, per_example, gr, in, &src);
    if (key >= gr.sentinel) continue;
    const int g = static_cast<int>(key / gr.n_key);
    T* dest = gr.data[g] + static_cast<std::size_t>(key % gr.n_key) * gr.stride[g];
    for (int e = lane; e < gr.cols[g]; e += warp_size) atomicAdd(dest + e, src[e]);
  }
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
