// brmrs/backend/cuda/validate.cuh — the host-side checks of the CUDA compute_objective.
//
// validate_objective_cuda runs every check of brmrs::compute_objective (DESIGN.md §3) that reads
// no device memory — config, table and batch shapes, null pointers, strides, output shapes, the
// aliasing of outputs with inputs and with each other — with the CPU's messages, plus the CUDA
// limits (M <= max_modalities, K < 2^31, launch options). It makes no CUDA call, so it works (and
// is tested) on a machine without a GPU. The id checks, which read device memory, run in the
// forward kernel (objective.cuh) before anything is written.
// validate_objective_no_ids is detail::validate_objective (detail/objective_validation.hpp) called
// with check_ids = false: the same checks and messages, without reading the id arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../../config.hpp"
#include "../../detail/objective_validation.hpp"
#include "../../detail/view_regions.hpp"
#include "../../error.hpp"
#include "../../objective_types.hpp"
#include "../../validate.hpp"
#include "../../views.hpp"
#include "options.cuh"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace cuda {

namespace detail {

using brmrs::detail::objective_shape;

// The CPU validation without the checks that read the id arrays (device memory here).
template <class T, class Id>
objective_shape validate_objective_no_ids(const dot_tables<T>& tables, const batch<Id>& b,
                                          const objective_config<T>& cfg, const objective_outputs<T, Id>& out) {
  return brmrs::detail::validate_objective(tables, b, cfg, out, /*check_ids=*/false);
}

struct objective_shape_cuda : objective_shape {};

template <class T, class Id>
objective_shape_cuda validate_objective_cuda(const dot_tables<T>& tables, const batch<Id>& b,
                                             const objective_config<T>& cfg, const objective_outputs<T, Id>& out,
                                             const launch_options& opt) {
  const char* fn = brmrs::detail::objective_fn;
  check_launch_options(fn, opt);
  objective_shape_cuda s;
  static_cast<objective_shape&>(s) = validate_objective_no_ids(tables, b, cfg, out);
  if (s.M > static_cast<std::size_t>(max_modalities))
    brmrs::detail::throw_invalid_argument(fn, ": tables.item has ", s.M, " modalities, the CUDA backend supports at most ",
                                          max_modalities);
  if (s.K >= (std::size_t(1) << 31))
    brmrs::detail::throw_invalid_argument(fn, ": batch.pools has K = ", s.K, " columns, the CUDA backend supports K < 2^31");
  if (s.B >= (std::size_t(1) << 40))
    brmrs::detail::throw_invalid_argument(fn, ": B = ", s.B, " examples, the CUDA backend supports B < 2^40");
  for (std::size_t m = 0; m < s.M; ++m)
    if (s.dims[m] >= (std::size_t(1) << 31))
      brmrs::detail::throw_invalid_argument(fn, ": tables.item[", m, "] has ", s.dims[m], " columns, at most 2^31 - 1");
  if (s.d_f >= (std::size_t(1) << 31))
    brmrs::detail::throw_invalid_argument(fn, ": tables.fused_item has ", s.d_f, " columns, at most 2^31 - 1");
  return s;
}

}  // namespace detail
}  // namespace cuda
}  // namespace backend
BRMRS_END_NAMESPACE
