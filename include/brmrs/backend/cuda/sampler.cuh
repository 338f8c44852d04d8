// brmrs/backend/cuda/sampler.cuh — candidate pools drawn on the GPU, bit-identical to
// brmrs::sample_pools (sampler.hpp) on the CPU.
//
//   interactions_view<Id>     a device copy of an interactions<Id> CSR (offsets: n_users + 1
//                             int64 row pointers; indices: nnz item ids, sorted per user)
//   device_interactions<Id>   owns such a copy: device_interactions<Id>::upload(observed)
//   sample_pools(observed, users, seed, step, example_offset, pools, negatives, source, stream,
//                options)     fills pools (B x K) and optionally negatives (B) in device memory
//
// The draw is the CPU one, through the same BRMRS_HD functions (draw_unobserved,
// pool_negative_slot): pools(b, k) = the r-th unobserved id of users[b] with
// r = uniform_below(philox_draw64(seed, step, example_offset + b, k), n_free), found by binary
// search over the user's sorted items; negatives[b] = pools(b, pool_negative_slot(...)) for
// negative_source::pool_member, the draw of slot K for negative_source::complement.
// One thread per (example, slot); thread (b, 0) also draws the negative. Cost: K + 1 Philox
// calls and binary searches per example, no shared memory, no atomics; memory traffic is the
// pools write plus the CSR rows read (cached).
//
// Checks, in this order, all before the first write (brmrs::invalid_argument naming argument,
// position and value; pools and negatives are then unchanged):
//   host, no device needed: null pointers, K = 0 or >= 2^32, shapes, example_offset + B > 2^32,
//   overlapping outputs;
//   on the device (options.check_ids, default on): users[b] in [0, n_users) and with at least one
//   unobserved item — a small check kernel, then one synchronisation of `stream` to read its
//   verdict. With check_ids off the call is fully asynchronous and those are preconditions.
// CUDA failures throw brmrs::cuda_error with the CUDA error text. Pointers are device pointers
// (or managed memory); `observed` must describe the CSR as interactions<Id> builds it.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../../config.hpp"
#include "../../error.hpp"
#include "../../rng/philox.hpp"
#include "../../sampler.hpp"
#include "../../validate.hpp"
#include "../../views.hpp"
#include "error.cuh"
#include "options.cuh"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {

template <class Id>
struct interactions_view {
  const std::int64_t* offsets = nullptr;  // n_users + 1, device
  const Id* indices = nullptr;            // nnz, device
  std::size_t n_users = 0;
  std::size_t n_items = 0;
  std::size_t nnz = 0;
};

// A device copy of a CSR of observed items (brmrs::interactions<Id> or anything with the same
// accessors n_users(), n_items(), nnz(), offsets(), indices()).
template <class Id>
class device_interactions {
 public:
  device_interactions() = default;

  template <class Interactions>
  static device_interactions upload(const Interactions& host) {
    device_interactions d;
    d.n_users_ = host.n_users();
    d.n_items_ = host.n_items();
    d.offsets_ = device_buffer<std::int64_t>(host.offsets().size());
    d.indices_ = device_buffer<Id>(host.indices().size());
    if (host.offsets().size() != 0)
      BRMRS_CUDA_CHECK(cudaMemcpy(d.offsets_.data(), host.offsets().data(), host.offsets().size() * sizeof(std::int64_t),
                                  cudaMemcpyHostToDevice));
    if (host.indices().size() != 0)
      BRMRS_CUDA_CHECK(cudaMemcpy(d.indices_.data(), host.indices().data(), host.indices().size() * sizeof(Id),
                                  cudaMemcpyHostToDevice));
    return d;
  }

  interactions_view<Id> view() const {
    return {offsets_.data(), indices_.data(), n_users_, n_items_, indices_.size()};
  }

 private:
  device_buffer<std::int64_t> offsets_;
  device_buffer<Id> indices_;
  std::size_t n_users_ = 0, n_items_ = 0;
};

namespace detail {

constexpr const char* sampler_fn = "brmrs::backend::cuda::sample_pools";

// Lowest b whose user is out of range (code 1) or has no unobserved item (code 2), packed as
// (b << 2) | code into an atomicMin, so the verdict does not depend on scheduling.
template <class Id>
__global__ void check_sampler_users_kernel(interactions_view<Id> g, const Id* users, std::size_t B,
                                           unsigned long long* verdict) {
  for (std::size_t b = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; b < B;
       b += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const Id u = users[b];
    unsigned code = 0;
    if (u < Id(0) || static_cast<std::size_t>(u) >= g.n_users) {
      code = 1;
    } else {
      const auto deg = static_cast<std::uint64_t>(g.offsets[u + 1] - g.offsets[u]);
      if (deg >= g.n_items) code = 2;
    }
    if (code != 0) atomicMin(verdict, (static_cast<unsigned long long>(b) << 2) | code);
  }
}

template <class Id>
__global__ void sample_pools_kernel(interactions_view<Id> g, const Id* users, std::size_t B, std::size_t K,
                                    std::uint64_t seed, std::uint64_t step, std::uint64_t example_offset, Id* pools,
                                    std::size_t pool_stride, Id* negatives, negative_source source) {
  const std::size_t n = B * K;
  for (std::size_t t = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; t < n;
       t += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t b = t / K, k = t % K;
    const auto u = static_cast<std::size_t>(users[b]);
    const std::int64_t begin = g.offsets[u];
    const auto degree = static_cast<std::uint64_t>(g.offsets[u + 1] - begin);
    const Id* observed = g.indices + begin;
    const std::uint64_t e = example_offset + b;
    pools[b * pool_stride + k] = static_cast<Id>(draw_unobserved(observed, degree, g.n_items, seed, step, e, k));
    if (k == 0 && negatives != nullptr) {
      // The slot the CPU reads back from the pool, drawn again here: the same key gives the same id.
      const std::uint64_t slot = source == negative_source::pool_member ? pool_negative_slot(seed, step, e, K) : K;
      negatives[b] = static_cast<Id>(draw_unobserved(observed, degree, g.n_items, seed, step, e, slot));
    }
  }
}

}  // namespace detail

// Host-side checks of sample_pools (no device access): see the header comment.
template <class Id>
void validate_sample_pools(const interactions_view<Id>& observed, vector_view<const Id> users,
                           std::uint64_t example_offset, matrix_view<Id> pools, vector_view<Id> negatives,
                           negative_source source, const launch_options& opt) {
  constexpr const char* fn = detail::sampler_fn;
  const std::size_t B = users.size();
  const std::size_t K = pools.cols();
  detail::check_launch_options(fn, opt);
  if (observed.offsets == nullptr) brmrs::detail::throw_invalid_argument(fn, ": observed.offsets is null");
  if (observed.indices == nullptr && observed.nnz != 0)
    brmrs::detail::throw_invalid_argument(fn, ": observed.indices is null for nnz = ", observed.nnz);
  if (users.data() == nullptr && B != 0) brmrs::detail::throw_invalid_argument(fn, ": users.data is null for size ", B);
  if (K == 0) brmrs::detail::throw_invalid_argument(fn, ": pools has K = pools.cols() = 0 columns, expected K >= 1");
  if (static_cast<std::uint64_t>(K) >= (std::uint64_t(1) << 32))
    brmrs::detail::throw_invalid_argument(fn, ": pools has K = ", K, " columns, expected K < 2^32");
  brmrs::detail::check_shape(fn, "pools", pools, B, K);
  if (pools.stride() < K)
    brmrs::detail::throw_invalid_argument(fn, ": pools.stride = ", pools.stride(), " is smaller than K = ", K);
  if (!negatives.empty()) brmrs::detail::check_size(fn, "negatives", negatives.size(), B, "users.size(), or empty");
  if (!negatives.empty() && negatives.data() == nullptr)
    brmrs::detail::throw_invalid_argument(fn, ": negatives.data is null for size ", negatives.size());
  if (source != negative_source::pool_member && source != negative_source::complement)
    brmrs::detail::throw_invalid_argument(fn, ": source = ", static_cast<int>(source), " is not a negative_source");
  constexpr std::uint64_t example_limit = std::uint64_t(1) << 32;
  if (static_cast<std::uint64_t>(B) > example_limit || example_offset > example_limit - B)
    brmrs::detail::throw_invalid_argument(fn, ": example_offset + B = ", example_offset, " + ", B,
                                          " exceeds 2^32 (the Philox counter holds the example index in 32 bits)");
  if (brmrs::detail::overlaps(pools.data(), pools.extent(), users.data(), B))
    brmrs::detail::throw_invalid_argument(fn, ": pools overlaps users");
  if (brmrs::detail::overlaps(negatives.data(), negatives.size(), users.data(), B))
    brmrs::detail::throw_invalid_argument(fn, ": negatives overlaps users");
  if (brmrs::detail::overlaps(negatives.data(), negatives.size(), pools.data(), pools.extent()))
    brmrs::detail::throw_invalid_argument(fn, ": negatives overlaps pools");
}

// Fills pools (B x K) and optionally negatives (B), device memory, on `stream`; see the header.
template <class Id>
void sample_pools(const interactions_view<Id>& observed, detail::nondeduced_t<vector_view<const Id>> users,
                  std::uint64_t seed, std::uint64_t step, std::uint64_t example_offset, matrix_view<Id> pools,
                  detail::nondeduced_t<vector_view<Id>> negatives = {},
                  negative_source source = negative_source::pool_member, cudaStream_t stream = 0,
                  const launch_options& opt = {}) {
  validate_sample_pools(observed, users, example_offset, pools, negatives, source, opt);
  const std::size_t B = users.size(), K = pools.cols();
  if (B == 0) return;
  const int threads = opt.block_threads;

  if (opt.check_ids) {
    stream_scratch scratch(stream_scratch::bytes_for<unsigned long long>(1), stream);
    unsigned long long* verdict = scratch.take<unsigned long long>(1);
    BRMRS_CUDA_CHECK(cudaMemsetAsync(verdict, 0xFF, sizeof(unsigned long long), stream));
    detail::check_sampler_users_kernel<<<detail::grid_for(B, threads), threads, 0, stream>>>(observed, users.data(), B,
                                                                                             verdict);
    BRMRS_CUDA_CHECK_LAUNCH("check_sampler_users_kernel");
    unsigned long long host_verdict = 0;
    BRMRS_CUDA_CHECK(cudaMemcpyAsync(&host_verdict, verdict, sizeof host_verdict, cudaMemcpyDeviceToHost, stream));
    BRMRS_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (host_verdict != ~0ull) {
      const std::size_t b = static_cast<std::size_t>(host_verdict >> 2);
      Id u{};
      BRMRS_CUDA_CHECK(cudaMemcpy(&u, users.data() + b, sizeof(Id), cudaMemcpyDeviceToHost));
      if ((host_verdict & 3u) == 1u)
        brmrs::detail::check_id_in_range(detail::sampler_fn, "users", b, u, observed.n_users);
      brmrs::detail::throw_invalid_argument(detail::sampler_fn, ": users[", b, "] = ", brmrs::detail::printable(u),
                                            " has no unobserved item (observed all ", observed.n_items,
                                            " items): no negative can be drawn");
    }
  }
  detail::sample_pools_kernel<<<detail::grid_for(B * K, threads), threads, 0, stream>>>(
      observed, users.data(), B, K, seed, step, example_offset, pools.data(), pools.stride(),
      negatives.empty() ? nullptr : negatives.data(), source);
  BRMRS_CUDA_CHECK_LAUNCH("sample_pools_kernel");
}

}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
