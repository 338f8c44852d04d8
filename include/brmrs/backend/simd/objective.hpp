// brmrs/backend/simd/objective.hpp — plugs the xsimd kernel policy into compute_objective.
//
// Specialises detail::backend_policy<simd_backend<Arch>> (the extension point documented in
// backend/policy.hpp), so compute_objective(..., brmrs::simd_backend<Arch>{}) runs the
// shared CPU pipeline (validation, phases, reductions, scatter) with backend::simd::kernels<Arch>.
// objective.hpp includes this header when xsimd is available and then makes
// simd_backend<xsimd::default_arch> the default backend. Arch must be an instruction set the
// translation unit is compiled for (xsimd::default_arch always is); runtime dispatch over several
// sets is opt-in, see examples/runtime_dispatch/.
// Results agree with scalar_backend within float tolerance (the lane order of the sums differs)
// and are bitwise identical for any thread count. Throws exactly what compute_objective throws.
#pragma once

#include "../../config.hpp"

#if BRMRS_HAS_XSIMD
#include "../policy.hpp"
#include "../tags.hpp"
#include "kernels.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

template <class Arch>
struct backend_policy<simd_backend<Arch>> {
  using type = backend::simd::kernels<Arch>;
};

}  // namespace detail
BRMRS_END_NAMESPACE
#endif  // BRMRS_HAS_XSIMD
