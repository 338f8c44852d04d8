// brmrs/backend/policy.hpp — the backend contract: what a CPU backend provides, how it plugs into
// compute_objective, and the hints the shared pipeline passes it.
//
// A CPU backend supplies arithmetic only (a kernel policy); validation, the phases, the
// reductions and the scatter are the shared pipeline's (backend/cpu/objective_pipeline.hpp), so a
// backend cannot get the error rules or determinism wrong. The CUDA backend (backend/cuda/) runs
// its own pipeline on the device but shares the validation (detail/objective_validation.hpp), the
// fault messages (detail/example_fault.hpp) and the per-example arithmetic
// (detail/example_loss.hpp).
//
// ─── The kernel-policy contract ─────────────────────────────────────────────────────────────────
// A kernel policy is a class with static member function templates (T = float or double,
// Id = std::int32_t or std::int64_t). None of them may throw, allocate or read outside the
// pointers' documented extents:
//
//   template <class T, class Id>
//   static void select_hard(int M, const T* const* user_rows, const T* const* item_base,
//                           const std::size_t* item_stride, const std::size_t* dims,
//                           const Id* pool, std::size_t K, T* scores, std::size_t* best,
//                           const Id* next_pool, backend::row_prefetch rows);
//       Fused gather-score-argmax over one example's pool, every modality in one pass:
//       scores[m*K + k] = <user_rows[m], item_base[m] + pool[k]*item_stride[m]> over dims[m]
//       elements, for m < M, k < K; best[m] = the FIRST k maximising scores[m*K + k] (ties go to
//       the smallest k; a NaN score never wins; best[m] = K when every score of m is NaN).
//       next_pool: the pool row of the example scored next on this thread (null for the last),
//       a hint a policy may use to keep prefetching across the example boundary. rows: whether
//       the item tables are beyond the policy's cache (on / off, decided once per batch by
//       detail::pool_row_prefetch in backend/cpu/schedule.hpp; by_pool: the policy decides), a
//       hint too.
//       The scores must be the ones `dot` returns for the same rows (the pipeline reads
//       s_a(u, j^c) back from `scores`).
//   template <class T> static T    dot(const T* a, const T* b, std::size_t d);       // <a, b>
//   template <class T> static void axpy(T alpha, const T* x, T* y, std::size_t d);   // y += αx
//   template <class T> static void scale(T alpha, const T* x, T* y, std::size_t d);  // y  = αx
//   template <class T> static void prefetch_row(const T* row, std::size_t d);        // hint, may no-op
// Optional:
//   template <class T> static void example_losses(const example_loss_arrays<T>& a, std::size_t b0,
//                                                 std::size_t n, const example_loss_params<T>& p, T* work);
//       The losses and score gradients of examples [b0, b0 + n) (detail/example_loss.hpp); without
//       it the pipeline calls detail::example_losses, one example at a time.
//
// backend/scalar/kernels.hpp is the reference policy. A policy may reorder the additions inside
// dot (SIMD lanes), so backends agree within float tolerance, not bitwise; each backend is
// bitwise deterministic on its own for any thread count.
//
// ─── How a CPU backend plugs in ─────────────────────────────────────────────────────────────────
// compute_objective(..., Backend) runs run_objective<typename backend_policy<Backend>::type>.
// A backend therefore needs, in its own header (e.g. backend/simd/objective.hpp):
//   1. its policy class, e.g. brmrs::backend::simd::kernels<Arch>;
//   2. a specialisation of the trait below, e.g.
//        BRMRS_BEGIN_NAMESPACE namespace detail {
//        template <class Arch> struct backend_policy<simd_backend<Arch>> {
//          using type = backend::simd::kernels<Arch>;
//        };
//        } BRMRS_END_NAMESPACE
//   3. objective.hpp includes backend/simd/objective.hpp when BRMRS_HAS_XSIMD, and then makes
//      simd_backend<xsimd::default_arch> the default backend unless xsimd::default_arch is
//      xsimd::unavailable.
// The traits at the end of this header say which optional members a policy has; the pipeline
// adapts to them (backend/cpu/schedule.hpp).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "../config.hpp"
#include "../detail/example_loss.hpp"

BRMRS_BEGIN_NAMESPACE
namespace backend {

// What a driver tells a kernel policy's select_hard about its pool rows: whether prefetching
// them can pay.
//   row_prefetch::by_pool  the policy decides from the pool it is given (a standalone call)
//   row_prefetch::off      the item tables fit the policy's cache: prefetching only costs
//   row_prefetch::on       the item tables are beyond it: prefetch
// A hint: results never depend on it. Drivers decide once per batch from the tables' size
// (detail::beyond_policy_cache), which spares every example a pass over its pool ids.
enum class row_prefetch : unsigned char { by_pool, off, on };

}  // namespace backend

namespace detail {

// The extension point: maps a backend tag to its kernel policy. Specialised for scalar_backend in
// backend/scalar/objective.hpp and for simd_backend<Arch> in backend/simd/objective.hpp.
template <class Backend>
struct backend_policy;

// Whether a kernel policy advertises how far ahead it prefetches inside an example
// (P::prefetch_distance) and above which table footprint prefetching pays (P::prefetch_min_bytes,
// the floor, and P::prefetch_threshold_bytes(), the run-time value).
template <class P, class = void>
struct policy_has_prefetch_distance : std::false_type {};
template <class P>
struct policy_has_prefetch_distance<P, std::void_t<decltype(P::prefetch_distance)>> : std::true_type {};
template <class P, class = void>
struct policy_has_prefetch_min_bytes : std::false_type {};
template <class P>
struct policy_has_prefetch_min_bytes<P, std::void_t<decltype(P::prefetch_min_bytes)>> : std::true_type {};
template <class P, class = void>
struct policy_has_prefetch_threshold : std::false_type {};
template <class P>
struct policy_has_prefetch_threshold<P, std::void_t<decltype(P::prefetch_threshold_bytes())>> : std::true_type {};
// Whether a kernel policy evaluates the per-example losses itself, a block of examples at a time
// (P::example_losses, same arguments as detail::example_losses; the optional member of the
// contract): the SIMD policy does, one example per lane.
template <class P, class T, class = void>
struct policy_has_example_losses : std::false_type {};
template <class P, class T>
struct policy_has_example_losses<
    P, T,
    std::void_t<decltype(P::example_losses(std::declval<const example_loss_arrays<T>&>(), std::size_t(0), std::size_t(0),
                                           std::declval<const example_loss_params<T>&>(), static_cast<T*>(nullptr)))>>
    : std::true_type {};

}  // namespace detail
BRMRS_END_NAMESPACE
