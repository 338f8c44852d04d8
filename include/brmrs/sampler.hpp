// brmrs/sampler.hpp — candidate pools of negatives drawn exactly uniformly from the items each
// user never interacted with, as a pure function of (seed, step, example, slot).
//
// sample_pools(observed, users, seed, step, example_offset, pools, negatives, source) fills, for
// every example b of the batch (global index e = example_offset + b, user u = users[b],
// n_free = n_items - degree(u)):
//   pools(b, k), k = 0..K-1:  the r-th (0-based) item id u never touched, where
//                             r = uniform_below(philox_draw64(seed, step, e, k), n_free)
//   negatives[b] (optional):  source pool_member: pools(b, pool_negative_slot(seed, step, e, K)),
//                             the member compute_objective picks when batch.negatives is empty;
//                             source complement: the r-th unobserved id for draw slot K, i.e. an
//                             independent uniform draw from the same complement.
// The r-th unobserved id is found without retry loops by rank-select: with the user's sorted
// observed items o_0 < o_1 < ..., o_j - j (the number of unobserved ids below o_j) is
// non-decreasing, so c = #{j : o_j - j <= r} is one binary search and the id is r + c
// (nth_unobserved below). rng/philox.hpp documents the key layout and uniform_below.
//
// Guarantees:
//   - exclusion: no output id is ever an observed item of its user (so never the positive i+
//     when the positive is in `observed`);
//   - uniformity: each pool slot and each complement negative is uniform over the user's
//     unobserved items (exact rank-select; the only deviation is uniform_below's, relative < n / 2^64);
//     slots are independent draws, with replacement;
//   - determinism: every output depends only on (observed, users[b], seed, step, e, slot): the
//     result is bitwise identical for any OpenMP thread count, across repeated calls, for any
//     sharding of a global batch (shard s passes example_offset = its first global index), and
//     on the CUDA backend, which uses the same BRMRS_HD functions.
// Cost: per example, ceil(K/2) Philox4x32-10 calls (one serves two slots) plus K binary searches
// of ceil(log2(degree(u))) + 1 probes each: O(B * K * log(max degree)) time, no allocation,
// no locks.
// On the CPU one of three kernels that write the same bits draws the slots
// (detail::pool_row_kernel): with AVX-512F at compile time backend/simd/sampler_avx512.hpp (Philox on
// 16 counters in vector registers, the rank counted by vector compares for rows up to 4 096
// items), with AVX2 backend/simd/sampler_avx2.hpp (the same on 8 counters; vector counts up to
// 4 096 items, gathered binary searches above), otherwise a portable lane loop (16 counters the
// compiler vectorizes, 32 binary searches in lockstep); the observed row of the example two ahead
// is prefetched (detail::prefetch_observed_row). One core of the CI machine draws a workload-W
// batch (2048 x 64 ids) at degree 10 in about 0.19 ms with the AVX-512 kernel, 0.37 ms with the
// AVX2 one, 0.69 ms (AVX-512 build) to 3.4 ms (x86-64-v3 build) with the portable one
// (docs/performance.md).
// OpenMP `parallel for schedule(static)` over examples when the caller compiles with OpenMP.
//
// Preconditions, all checked before the first write (brmrs::invalid_argument names the argument,
// position and value; on throw, pools and negatives are unchanged):
//   source is pool_member or complement; users[b] in [0, observed.n_users()); pools is users.size() x K with 1 <= K < 2^32 and a
//   non-null pointer; negatives is empty or of size users.size(); every users[b] has at least one
//   unobserved item (the message names the user id and its position b); example_offset + B <=
//   2^32 (the Philox counter holds the example index in 32 bits); outputs overlap neither each
//   other nor users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "error.hpp"
#include "interactions.hpp"
#include "backend/cpu/pool_row_kernels.hpp"
#include "detail/sample_pool_row.hpp"
#include "rng/philox.hpp"
#include "unobserved_draw.hpp"
#include "validate.hpp"
#include "views.hpp"

BRMRS_BEGIN_NAMESPACE

// negative_source, nth_unobserved and draw_unobserved: unobserved_draw.hpp.

// Fills pools (B x K) and optionally negatives (B) for the batch `users`; see the header comment
// for the draw, the guarantees and the checks. Isa picks the CPU kernel (detail::sampler_portable,
// or detail::sampler_avx2 / sampler_avx512 in translation units compiled for AVX2 / AVX-512F; the
// widest one the target has is the default); every kernel writes the same bits.
template <class Id, class Isa = detail::sampler_default_isa>
void sample_pools(const interactions<Id>& observed, detail::nondeduced_t<vector_view<const Id>> users,
                  std::uint64_t seed, std::uint64_t step, std::uint64_t example_offset, matrix_view<Id> pools,
                  detail::nondeduced_t<vector_view<Id>> negatives = {},
                  negative_source source = negative_source::pool_member) {
  constexpr const char* fn = "brmrs::sample_pools";
  const std::size_t B = users.size();
  const std::size_t K = pools.cols();
  const std::size_t n_items = observed.n_items();

  // --- validation: everything before the first write --------------------------------------
  if (users.data() == nullptr && B != 0)
    detail::throw_invalid_argument(fn, ": users.data is null for size ", B);
  if (source != negative_source::pool_member && source != negative_source::complement)
    detail::throw_invalid_argument(fn, ": source = ", static_cast<int>(source), " is not a negative_source");
  if (K == 0) detail::throw_invalid_argument(fn, ": pools has K = pools.cols() = 0 columns, expected K >= 1");
  if (static_cast<std::uint64_t>(K) >= (std::uint64_t(1) << 32))
    detail::throw_invalid_argument(fn, ": pools has K = ", K, " columns, expected K < 2^32");
  if (pools.rows() > 1 && pools.stride() < K)  // overlapping rows would race between threads
    detail::throw_invalid_argument(fn, ": pools.stride = ", pools.stride(), " is smaller than K = ", K);
  detail::check_shape(fn, "pools", pools, B, K);
  if (!negatives.empty()) detail::check_size(fn, "negatives", negatives.size(), B, "users.size(), or empty");
  if (!negatives.empty() && negatives.data() == nullptr)
    detail::throw_invalid_argument(fn, ": negatives.data is null for size ", negatives.size());
  constexpr std::uint64_t example_limit = std::uint64_t(1) << 32;
  if (static_cast<std::uint64_t>(B) > example_limit || example_offset > example_limit - B)
    detail::throw_invalid_argument(fn, ": example_offset + B = ", example_offset, " + ", B,
                                   " exceeds 2^32 (the Philox counter holds the example index in 32 bits)");
  if (detail::overlaps(pools.data(), pools.extent(), users.data(), B))
    detail::throw_invalid_argument(fn, ": pools overlaps users");
  if (detail::overlaps(negatives.data(), negatives.size(), users.data(), B))
    detail::throw_invalid_argument(fn, ": negatives overlaps users");
  if (detail::overlaps(negatives.data(), negatives.size(), pools.data(), pools.extent()))
    detail::throw_invalid_argument(fn, ": negatives overlaps pools");
  detail::check_ids_in_range(fn, "users", users, observed.n_users());
  for (std::size_t b = 0; b < B; ++b) {
    const auto u = static_cast<std::size_t>(users[b]);
    if (observed.degree(u) >= n_items)
      detail::throw_invalid_argument(fn, ": users[", b, "] = ", detail::printable(users[b]),
                                     " has no unobserved item (observed all ", n_items,
                                     " items): no negative can be drawn");
  }

  // --- sampling: pure per example, so any schedule gives the same bits ----------------------
  const auto n_examples = static_cast<std::int64_t>(B);
  const std::int64_t* const offsets = observed.offsets().data();
  const Id* const indices = observed.indices().data();
  Id* const neg = negatives.empty() ? nullptr : negatives.data();
#if BRMRS_HAS_OPENMP
  // Below ~4k draws a thread team costs more than it saves; the result is the same either way.
  const bool parallel = n_examples * static_cast<std::int64_t>(K) >= 4096;
#pragma omp parallel for schedule(static) if (parallel)
#endif
  for (std::int64_t b = 0; b < n_examples; ++b) {
    if (b + static_cast<std::int64_t>(detail::sampler_prefetch_distance) < n_examples) {
      const auto un = static_cast<std::size_t>(
          users[static_cast<std::size_t>(b) + detail::sampler_prefetch_distance]);
      detail::prefetch_observed_row(indices + offsets[un], static_cast<std::uint64_t>(offsets[un + 1] - offsets[un]));
    }
    const auto u = static_cast<std::size_t>(users[static_cast<std::size_t>(b)]);
    const std::int64_t begin = offsets[u];
    const auto degree = static_cast<std::uint64_t>(offsets[u + 1] - begin);
    detail::sample_pool_row_cpu<Isa>(indices + begin, degree, static_cast<std::uint64_t>(n_items), seed, step,
                                example_offset + static_cast<std::uint64_t>(b),
                                pools.row(static_cast<std::size_t>(b)), static_cast<std::uint64_t>(K),
                                neg == nullptr ? nullptr : neg + b, source);
  }
}

// Convenience for std::vector-held users.
template <class Id, class Isa = detail::sampler_default_isa>
void sample_pools(const interactions<Id>& observed, const std::vector<Id>& users, std::uint64_t seed,
                  std::uint64_t step, std::uint64_t example_offset, matrix_view<Id> pools,
                  detail::nondeduced_t<vector_view<Id>> negatives = {},
                  negative_source source = negative_source::pool_member) {
  sample_pools<Id, Isa>(observed, vector_view<const Id>(users.data(), users.size()), seed, step, example_offset,
                        pools, negatives, source);
}

BRMRS_END_NAMESPACE
