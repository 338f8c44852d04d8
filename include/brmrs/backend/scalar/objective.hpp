// brmrs/backend/scalar/objective.hpp — plugs the scalar kernel policy into compute_objective.
//
// Specialises detail::backend_policy<scalar_backend> (the extension point documented in
// backend/policy.hpp), so compute_objective(..., brmrs::scalar_backend{}) runs the
// shared CPU pipeline with backend::scalar::kernels. Users include brmrs/objective.hpp, which
// includes this header.
#pragma once

#include "../policy.hpp"
#include "../tags.hpp"
#include "kernels.hpp"

BRMRS_BEGIN_NAMESPACE
namespace detail {

template <>
struct backend_policy<scalar_backend> {
  using type = backend::scalar::kernels;
};

}  // namespace detail
BRMRS_END_NAMESPACE
