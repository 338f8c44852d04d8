// brmrs/backend/cuda/options.cuh — launch options shared by every CUDA entry point.
//
//   launch_options.check_ids      validate ids read from device memory (user ids, pools,
//                                 positives, negatives) before anything is written: a check on
//                                 the device and one synchronisation of the stream (default on).
//                                 Off: the ids are preconditions, not checked (an out-of-range id
//                                 is then an out-of-bounds read), and entry points that need no
//                                 host result do not synchronise.
//   launch_options.scatter        how table gradients are accumulated: deterministic (default: a
//                                 stable radix sort of the contributions by destination row, then
//                                 one warp per row adds them in the CPU backends' order, bitwise
//                                 reproducible) or atomic (opt-in: atomicAdd, faster, the order of
//                                 additions and so the last bits vary from run to run).
//   launch_options.block_threads  threads per block, a multiple of 32 in [32, 1024].
// Host only, no device needed; check_launch_options throws brmrs::invalid_argument.
#pragma once

#include <cstddef>

#include "../../config.hpp"
#include "../../error.hpp"
#include "../../views.hpp"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {

enum class scatter_mode { deterministic, atomic };

// Modalities the CUDA kernels support (per-example scores live in fixed-size local arrays).
constexpr int max_modalities = 8;

struct launch_options {
  bool check_ids = true;
  scatter_mode scatter = scatter_mode::deterministic;
  int block_threads = 256;
};

namespace detail {

using brmrs::detail::nondeduced_t;  // views.hpp: keeps id views out of template deduction

inline void check_launch_options(const char* fn, const launch_options& opt) {
  if (opt.block_threads < 32 || opt.block_threads > 1024 || opt.block_threads % 32 != 0)
    brmrs::detail::throw_invalid_argument(fn, ": options.block_threads = ", opt.block_threads,
                                          " must be a multiple of 32 in [32, 1024]");
  if (opt.scatter != scatter_mode::deterministic && opt.scatter != scatter_mode::atomic)
    brmrs::detail::throw_invalid_argument(fn, ": options.scatter = ", static_cast<int>(opt.scatter),
                                          " is not a scatter_mode");
}

// Blocks for n work items (threads or warps already converted to threads), capped: kernels loop.
inline unsigned grid_for(std::size_t n, int threads) {
  const std::size_t blocks = (n + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads);
  const std::size_t cap = 65535u * 32u;
  return static_cast<unsigned>(blocks == 0 ? 1 : (blocks < cap ? blocks : cap));
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
