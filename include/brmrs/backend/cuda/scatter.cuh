// brmrs/backend/cuda/scatter.cuh — table-shaped gradients on the GPU: every per-example gradient
// row added (+=) into the row of the table it belongs to (internal to objective.cuh).
//
// Contributions are numbered example-major in the CPU pipeline's order (scatter_kernels.cuh has
// the numbering and the kernels). Each gets the key (destination group, row); destinations that
// are the very same view (a shared user table) form one group.
//   deterministic (default): a stable radix sort (CUB) of the keys groups the contributions of a
//     row in their original order; one warp per row then adds them one by one into the row, lanes
//     across d. The sequence of additions per element is the CPU's, so the result is bitwise
//     reproducible run to run and equals the CPU scatter whenever the rows are equal.
//   atomic (opt-in): one warp per contribution, atomicAdd per element: no sort, but the order of
//     additions, and so the last bits, vary between runs.
// Cost: N = B·(M² + 3M + 3) keys; the sort moves 12 bytes per key over ceil(bits/8) passes, the
// adds read every contribution row once.
#pragma once

#include <cuda_runtime.h>

#include <cub/device/device_radix_sort.cuh>

#include <cstddef>
#include <cstdint>

#include "../../config.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../objective_types.hpp"
#include "error.cuh"
#include "objective_kernels.cuh"
#include "options.cuh"
#include "scatter_kernels.cuh"
#include "validate.cuh"
#include "warp.cuh"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {
namespace detail {

// Scratch for the gradient rows when the caller wants only table gradients.
template <class T>
std::size_t own_rows_bytes(const objective_shape& sh) {
  std::size_t b = 3 * stream_scratch::bytes_for<T>(sh.B * sh.d_f);
  for (std::size_t m = 0; m < sh.M; ++m)
    b += 3 * stream_scratch::bytes_for<T>(sh.B * sh.dims[m]) + stream_scratch::bytes_for<T>(sh.B * sh.M * sh.dims[m]);
  return b;
}

template <class T>
rows_ref<T> take_own_rows(stream_scratch& s, const objective_shape& sh) {
  rows_ref<T> o;
  for (std::size_t m = 0; m < sh.M; ++m) {
    const std::size_t d = sh.dims[m];
    o.user[m] = s.take<T>(sh.B * d);
    o.positive[m] = s.take<T>(sh.B * d);
    o.negative[m] = s.take<T>(sh.B * d);
    o.hard[m] = s.take<T>(sh.B * sh.M * d);
    o.user_stride[m] = o.positive_stride[m] = o.negative_stride[m] = o.hard_stride[m] = d;
  }
  o.fused_user = s.take<T>(sh.B * sh.d_f);
  o.fused_positive = s.take<T>(sh.B * sh.d_f);
  o.fused_negative = s.take<T>(sh.B * sh.d_f);
  o.fused_user_stride = o.fused_positive_stride = o.fused_negative_stride = sh.d_f;
  return o;
}

template <class T, class Id>
struct scatter_plan {
  scatter_layout<T> layout;
  std::size_t cub_bytes = 0;
  std::size_t scratch_bytes = 0;
};

// Host: the layout and the scratch size. Calls CUB's size query (needs a device).
template <class T, class Id>
scatter_plan<T, Id> plan_scatter(const dot_tables<T>&, const table_gradients<T>& g, const objective_shape& sh,
                                 const launch_options& opt) {
  scatter_plan<T, Id> p;
  p.layout = make_scatter_layout(g, sh);
  const std::size_t N = p.layout.N;
  if (opt.scatter == scatter_mode::deterministic) {
    BRMRS_CUDA_CHECK((cub::DeviceRadixSort::SortPairs(nullptr, p.cub_bytes, static_cast<const unsigned long long*>(nullptr),
                                                      static_cast<unsigned long long*>(nullptr),
                                                      static_cast<const unsigned*>(nullptr), static_cast<unsigned*>(nullptr),
                                                      N, 0, p.layout.end_bit)));
    p.scratch_bytes = 2 * stream_scratch::bytes_for<unsigned long long>(N) + 2 * stream_scratch::bytes_for<unsigned>(N) +
                      stream_scratch::bytes_for<unsigned char>(p.cub_bytes);
  }
  return p;
}

template <class T, class Id>
void run_scatter(const scatter_plan<T, Id>& p, const scatter_inputs<T, Id>& in, stream_scratch& scratch,
                 cudaStream_t stream, const launch_options& opt) {
  const int threads = opt.block_threads;
  if (opt.scatter == scatter_mode::atomic) {
    scatter_add_atomic_kernel<T, Id><<<grid_for(p.layout.N * warp_size, threads), threads, 0, stream>>>(p.layout.groups, in,
                                                                                                  p.layout.per_example, p.layout.N);
    BRMRS_CUDA_CHECK_LAUNCH("scatter_add_atomic_kernel");
    return;
  }
  unsigned long long* keys_in = scratch.take<unsigned long long>(p.layout.N);
  unsigned long long* keys_out = scratch.take<unsigned long long>(p.layout.N);
  unsigned* vals_in = scratch.take<unsigned>(p.layout.N);
  unsigned* vals_out = scratch.take<unsigned>(p.layout.N);
  unsigned char* cub_tmp = scratch.take<unsigned char>(p.cub_bytes);
  scatter_keys_kernel<T, Id><<<grid_for(p.layout.N, threads), threads, 0, stream>>>(p.layout.groups, in, p.layout.per_example, p.layout.N, keys_in,
                                                                             vals_in);
  BRMRS_CUDA_CHECK_LAUNCH("scatter_keys_kernel");
  std::size_t cub_bytes = p.cub_bytes;
  BRMRS_CUDA_CHECK((cub::DeviceRadixSort::SortPairs(cub_tmp, cub_bytes, keys_in, keys_out, vals_in, vals_out, p.layout.N, 0,
                                                    p.layout.end_bit, stream)));
  BRMRS_CUDA_CHECK_LAUNCH("cub::DeviceRadixSort::SortPairs");
  scatter_add_sorted_kernel<T, Id><<<grid_for(p.layout.N * warp_size, threads), threads, 0, stream>>>(
      p.layout.groups, in, p.layout.per_example, p.layout.N, keys_out, vals_out);
  BRMRS_CUDA_CHECK_LAUNCH("scatter_add_sorted_kernel");
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
