// brmrs/objective.hpp — compute_objective: the BR-MRS training objective for the dot-product
// scorer, one call per batch (DESIGN.md §1; every formula and gradient is derived in
// docs/math.md).
//
//   template <class T, class Id, class Backend = default_backend>
//   objective_result<T> compute_objective(const dot_tables<T>& tables, const batch<Id>& batch,
//                                         const objective_config<T>& config,
//                                         const objective_outputs<T, Id>& out = {}, Backend = {});
//
// T is float or double, Id std::int32_t or std::int64_t (types in objective_types.hpp).
// For each example b = (u, i+, pool, i-) and modalities m = 0..M-1 (M >= 2):
//   s_m(u, i) = <tables.user[m].row(u), tables.item[m].row(i)>, s_f likewise with the fused pair;
//   i-  = batch.negatives[b], or when that view is empty the pool member
//         pools(b, pool_negative_slot(config.seed, config.step, config.example_offset + b, K));
//   j^m = pools(b, k*), k* the FIRST k maximising s_m(u, pools(b, k)) (a sampling step: no
//         gradient flows through the choice);
//   bpr_b     = softplus(-(s_f(u,i+) - s_f(u,i-)))
//   chns_b    = Σ_a 1/(M-1) Σ_{c≠a} softplus(s_a(u, j^c) - s_a(u, i+))
//   synergy_b = softplus(-(Δ_f - max_m Δ_m - θ)),  Δ = s(u,i+) - s(u,i-)  (smooth max when τ > 0)
//   l2_b      = Σ_m (|p_u^m|² + |q_{i+}^m|² + |q_{i-}^m|²) + |p_u^f|² + |q_{i+}^f|² + |q_{i-}^f|²
//               (a user view repeated for every m counts once per m)
//   L = reduce_b(λ_bpr·bpr_b + λ_h·chns_b + λ_s·synergy_b + λ_reg·l2_b), reduce = mean or sum.
// The result holds L, each part reduced and unweighted, the fusion degradation rate
// mean_b[Δ_f < max_m Δ_m] and the hard-negative agreement (share of example × modality-pair
// (a < c) with j^a == j^c). Every output in `out` is optional (an empty view is not written):
//   out.hard_negatives  B x M ids j^m;  out.negatives  B ids i-;  out.example_loss  B values
//                       whose reduction is L;
//   out.rows            per-example gradient rows of L (overwritten), see gradient_rows;
//   out.tables          table-shaped gradients of L, ADDED (+=) into the caller's buffers by a
//                       deterministic scatter (zero them first for a plain gradient). A shared
//                       user table may get one buffer repeated M times (contributions add up).
// Cost: O(B·K·Σ_m d_m) multiply-adds for the pool scores (the dominant term, one gather of each
// candidate row per modality), O(B·(M²·d + d_f)) for the rest, O(B·M²) transcendental calls.
// Allocates O(B·M²) internal values, plus one gradient row per thread when table gradients are wanted.
// Preconditions are all checked; throws brmrs::invalid_argument naming the argument, the position
// and the value for: fewer than 2 modalities, mismatched table shapes or dimensions, a null or
// badly strided view, B = 0, K = 0, an id out of range, a negative λ / τ, θ <= 0, an unknown enum,
// outputs of the wrong shape or that overlap an input or each other, and any non-finite score
// (every pool score included) or loss. Everything is checked before the first write: on throw no
// caller buffer has changed (strong guarantee).
// Determinism: OpenMP over examples (when the TU is compiled with OpenMP); per-example work is
// independent, batch sums run in example order in double, and the scatter gives every table row
// its contributions in a fixed order, so results are bitwise identical for any thread count on a
// given backend. Backends (scalar_backend, simd_backend<Arch>) agree within float tolerance.
#pragma once

#include <type_traits>

#include "backend/cpu/objective_pipeline.hpp"
#include "backend/policy.hpp"
#include "backend/scalar/objective.hpp"
#include "backend/tags.hpp"
#include "config.hpp"
#include "objective_types.hpp"

#if BRMRS_HAS_XSIMD
#include <xsimd/xsimd.hpp>

#include "backend/simd/objective.hpp"
#endif

BRMRS_BEGIN_NAMESPACE

// The backend compute_objective uses when none is named: SIMD for the compiler's best
// instruction set when the xsimd backend is available and that set is a real SIMD one, else
// scalar. Name brmrs::scalar_backend{} explicitly for the reference results.
#if BRMRS_HAS_XSIMD
using default_backend = std::conditional_t<std::is_same_v<xsimd::default_arch, xsimd::unavailable>, scalar_backend,
                                           simd_backend<xsimd::default_arch>>;
#else
using default_backend = scalar_backend;
#endif

template <class T, class Id, class Backend = default_backend>
objective_result<T> compute_objective(const dot_tables<T>& tables, const batch<Id>& batch,
                                      const objective_config<T>& config, const objective_outputs<T, Id>& out = {},
                                      Backend = {}) {
  using policy = typename detail::backend_policy<Backend>::type;
  return detail::run_objective<policy>(tables, batch, config, out);
}

BRMRS_END_NAMESPACE
