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
// On the CPU, 32 slots are drawn per pass by one of two kernels that write the same bits
// (detail::pool_row_kernel): with AVX-512F at compile time detail/sampler_avx512.hpp (Philox on
// 16 counters in vector registers, the rank counted by vector compares for rows up to 4 096
// items), otherwise a portable lane loop (16 counters the compiler vectorizes, 32 binary
// searches in lockstep); the observed row of the example two ahead is prefetched
// (detail::prefetch_observed_row). One core of the CI machine draws a workload-W batch
// (2048 x 64 ids) in about 0.14 ms at degree 10 with the AVX-512 kernel, 0.57 ms with the
// portable one (docs/performance.md).
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
#include "detail/sampler_avx512.hpp"
#include "rng/philox.hpp"
#include "validate.hpp"
#include "views.hpp"

BRMRS_BEGIN_NAMESPACE

// Where the BPR / synergy negative of each example comes from (see the header comment).
enum class negative_source {
  pool_member,  // a uniformly chosen member of the example's own pool (the published method)
  complement    // an independent uniform draw from the user's unobserved items (draw slot K)
};

// The r-th (0-based) id in [0, n_items) that is not among observed[0..degree), for a strictly
// increasing `observed`. Precondition r < n_items - degree (not checked: kernels never throw).
// Binary search for c = #{j : observed[j] - j <= r}, returning r + c. The halving sequence
// depends on `degree` alone (ceil(log2(degree)) + 1 probes for degree >= 1; no data-dependent
// branch or trip count), so GPU threads drawing for the same user never diverge.
// Invariant: c is in [lo, lo + n], and lo only moves to a j with observed[j] - j <= r.
template <class Id>
BRMRS_HD inline std::uint64_t nth_unobserved(const Id* observed, std::uint64_t degree,
                                             std::uint64_t r) noexcept {
  if (degree == 0) return r;
  std::uint64_t lo = 0;
  for (std::uint64_t n = degree; n > 1;) {
    const std::uint64_t half = n >> 1;
    const std::uint64_t j = lo + half;
    // observed[j] - j >= 0 because the ids are distinct and non-negative.
    lo = static_cast<std::uint64_t>(observed[j]) - j <= r ? j : lo;
    n -= half;
  }
  return r + lo + (static_cast<std::uint64_t>(observed[lo]) - lo <= r ? 1u : 0u);
}

// One keyed draw from a user's complement: the item of slot `slot` of example `example`.
// Precondition degree < n_items.
template <class Id>
BRMRS_HD inline std::uint64_t draw_unobserved(const Id* observed, std::uint64_t degree, std::uint64_t n_items,
                                              std::uint64_t seed, std::uint64_t step, std::uint64_t example,
                                              std::uint64_t slot) noexcept {
  const std::uint64_t r = uniform_below(philox_draw64(seed, step, example, slot), n_items - degree);
  return nth_unobserved(observed, degree, r);
}

namespace detail {

// One example's pool (K ids into out[0..K)) and, when negative != nullptr, its negative.
// Bit-identical to K calls of draw_unobserved: slots 2j and 2j+1 share Philox counter
// (j, example, step) and take output words (0,1) and (2,3), so one call serves both.
template <class Id>
BRMRS_HD inline void sample_pool_row(const Id* observed, std::uint64_t degree, std::uint64_t n_items,
                                     std::uint64_t seed, std::uint64_t step, std::uint64_t example, Id* out,
                                     std::uint64_t K, Id* negative, negative_source source) noexcept {
  const std::uint64_t n_free = n_items - degree;
  const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  std::uint64_t k = 0;
  for (; k + 1 < K; k += 2) {
    const philox4x32_counter ctr{{static_cast<std::uint32_t>(k >> 1), static_cast<std::uint32_t>(example),
                                  static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32)}};
    const philox4x32_counter w = philox4x32_10(ctr, key);
    const std::uint64_t x0 = (static_cast<std::uint64_t>(w.v[0]) << 32) | w.v[1];
    const std::uint64_t x1 = (static_cast<std::uint64_t>(w.v[2]) << 32) | w.v[3];
    out[k] = static_cast<Id>(nth_unobserved(observed, degree, uniform_below(x0, n_free)));
    out[k + 1] = static_cast<Id>(nth_unobserved(observed, degree, uniform_below(x1, n_free)));
  }
  if (k < K) out[k] = static_cast<Id>(draw_unobserved(observed, degree, n_items, seed, step, example, k));
  if (negative != nullptr) {
    *negative = source == negative_source::pool_member
                    ? out[pool_negative_slot(seed, step, example, K)]
                    : static_cast<Id>(draw_unobserved(observed, degree, n_items, seed, step, example, K));
  }
}

// --- CPU path ---------------------------------------------------------------------------
// The same function as sample_pool_row, restructured for a CPU core: slots are handled in
// chunks of 2 * sampler_lanes. Philox runs on sampler_lanes counters at once, written lane-wise
// so the compiler vectorizes the 32x32->64 multiplies; the chunk's binary searches run in
// lockstep (they share the list and its length, so the halving sequence is the same for every
// lane), which keeps many independent loads in flight instead of one dependent chain per draw.
// Both steps compute exactly the integers of the scalar definition, so the output is bitwise
// the same (tests compare against a literal implementation of the draw).
constexpr std::size_t sampler_lanes = 16;

// x[2l] and x[2l+1] = the draws of slots 2(j0+l) and 2(j0+l)+1 (philox_draw64's layout).
inline void philox_draw64_lanes(std::uint32_t j0, std::uint64_t example, std::uint64_t step,
                                philox4x32_key key, std::uint64_t* x) noexcept {
  // One lane per loop iteration with the 10 rounds unrolled inside: straight-line code the loop
  // vectorizer maps onto vector multiplies (vpmuludq), one lane per 64-bit element.
  for (std::size_t l = 0; l < sampler_lanes; ++l) {
    std::uint32_t a = j0 + static_cast<std::uint32_t>(l), b = static_cast<std::uint32_t>(example);
    std::uint32_t c = static_cast<std::uint32_t>(step), d = static_cast<std::uint32_t>(step >> 32);
    std::uint32_t k0 = key.v[0], k1 = key.v[1];
#if defined(__GNUC__) && !defined(__clang__) && !BRMRS_CUDA_COMPILER
#pragma GCC unroll 10
#endif
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(philox_m0) * a;
      const std::uint64_t p1 = static_cast<std::uint64_t>(philox_m1) * c;
      a = static_cast<std::uint32_t>(p1 >> 32) ^ b ^ k0;
      b = static_cast<std::uint32_t>(p1);
      c = static_cast<std::uint32_t>(p0 >> 32) ^ d ^ k1;
      d = static_cast<std::uint32_t>(p0);
      k0 += philox_w0;  // the bump after the last round is unused
      k1 += philox_w1;
    }
    x[2 * l] = (static_cast<std::uint64_t>(a) << 32) | b;
    x[2 * l + 1] = (static_cast<std::uint64_t>(c) << 32) | d;
  }
}

// r[i] <- nth_unobserved(observed, degree, r[i]) for i < 2 * sampler_lanes, in lockstep: the
// same search, lane by lane, so the compiler turns the probes into vector gathers.
template <class Id>
inline void nth_unobserved_lanes(const Id* observed, std::uint64_t degree, std::uint64_t* r) noexcept {
  constexpr std::size_t N = 2 * sampler_lanes;
  if (degree == 0) return;
  std::uint64_t lo[N] = {};
  for (std::uint64_t n = degree; n > 1;) {
    const std::uint64_t half = n >> 1;
    for (std::size_t i = 0; i < N; ++i) {
      const std::uint64_t j = lo[i] + half;
      lo[i] = static_cast<std::uint64_t>(observed[j]) - j <= r[i] ? j : lo[i];
    }
    n -= half;
  }
  for (std::size_t i = 0; i < N; ++i)
    r[i] += lo[i] + (static_cast<std::uint64_t>(observed[lo[i]]) - lo[i] <= r[i] ? 1u : 0u);
}

// Which CPU kernel draws a row. A template argument of sample_pools, defaulted from the
// translation unit's target, so translation units compiled for different instruction sets
// instantiate different functions (no ODR clash between a -mavx512f and a generic one).
struct sampler_portable {};  // the lane loop above: any target, vectorized by the compiler
struct sampler_avx512 {};    // detail/sampler_avx512.hpp: needs AVX-512F at compile time
#if BRMRS_SAMPLER_HAS_AVX512
using sampler_default_isa = sampler_avx512;
#else
using sampler_default_isa = sampler_portable;
#endif

template <class Isa>
struct pool_row_kernel;

template <>
struct pool_row_kernel<sampler_portable> {
  template <class Id>
  static void draw(const Id* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                   std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
    constexpr std::size_t N = 2 * sampler_lanes;
    if (K < N / 2) {  // a chunk would compute mostly unused lanes
      sample_pool_row(observed, degree, n_items, seed, step, example, out, K, static_cast<Id*>(nullptr),
                      negative_source::pool_member);
      return;
    }
    const std::uint64_t n_free = n_items - degree;
    const philox4x32_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
    std::uint64_t x[N];
    for (std::uint64_t k0 = 0; k0 < K; k0 += N) {
      philox_draw64_lanes(static_cast<std::uint32_t>(k0 >> 1), example, step, key, x);
      for (std::size_t i = 0; i < N; ++i) x[i] = uniform_below(x[i], n_free);
      nth_unobserved_lanes(observed, degree, x);
      const std::uint64_t m = K - k0 < N ? K - k0 : N;
      for (std::uint64_t i = 0; i < m; ++i) out[k0 + i] = static_cast<Id>(x[i]);
    }
  }
};

#if BRMRS_SAMPLER_HAS_AVX512
template <>
struct pool_row_kernel<sampler_avx512> {
  template <class Id>
  static void draw(const Id* observed, std::uint64_t degree, std::uint64_t n_items, std::uint64_t seed,
                   std::uint64_t step, std::uint64_t example, Id* out, std::uint64_t K) noexcept {
    // The vector kernel works in 32-bit lanes with signed gather indices: ids below 2^31.
    if constexpr (sizeof(Id) == 4 || sizeof(Id) == 8) {
      if (n_items < (std::uint64_t(1) << 31)) {
        using Key = std::conditional_t<sizeof(Id) == 4, std::int32_t, std::int64_t>;
        avx512::sample_pool_row(reinterpret_cast<const Key*>(observed), degree, n_items, seed, step, example, out, K);
        return;
      }
    }
    pool_row_kernel<sampler_portable>::draw(observed, degree, n_items, seed, step, example, out, K);
  }
};
#endif

// One example: its pool by the kernel Isa, then the negative (identical for every kernel).
template <class Isa, class Id>
inline void sample_pool_row_cpu(const Id* observed, std::uint64_t degree, std::uint64_t n_items,
                                std::uint64_t seed, std::uint64_t step, std::uint64_t example, Id* out,
                                std::uint64_t K, Id* negative, negative_source source) noexcept {
  pool_row_kernel<Isa>::draw(observed, degree, n_items, seed, step, example, out, K);
  if (negative != nullptr) {
    *negative = source == negative_source::pool_member
                    ? out[pool_negative_slot(seed, step, example, K)]
                    : static_cast<Id>(draw_unobserved(observed, degree, n_items, seed, step, example, K));
  }
}

// Requests the cache lines of a user's observed row ahead of its draws: the K binary searches
// of one example touch most lines of a row up to a few KB (at degree 1 000, a 4 KB row, cold in
// a store that does not fit in cache), so asking for all of them one or two examples early
// overlaps those misses with the current example's work. Rows above sampler_prefetch_max_bytes
// are left alone (the searches touch only a fraction of their lines). A hint only: no output
// depends on it.
constexpr std::size_t sampler_prefetch_max_bytes = 16384;
constexpr std::size_t sampler_prefetch_distance = 2;  // examples ahead

template <class Id>
inline void prefetch_observed_row(const Id* row, std::uint64_t degree) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  const std::uint64_t bytes = degree * sizeof(Id);
  if (bytes == 0 || bytes > sampler_prefetch_max_bytes) return;
  const auto first = reinterpret_cast<std::uintptr_t>(row) & ~std::uintptr_t(63);
  const auto end = reinterpret_cast<std::uintptr_t>(row) + static_cast<std::uintptr_t>(bytes);
  for (std::uintptr_t a = first; a < end; a += 64) __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 3);
#else
  (void)row;
  (void)degree;
#endif
}

}  // namespace detail

// Fills pools (B x K) and optionally negatives (B) for the batch `users`; see the header comment
// for the draw, the guarantees and the checks. Isa picks the CPU kernel (detail::sampler_portable
// or, in translation units compiled for AVX-512F, detail::sampler_avx512, the default there);
// every kernel writes the same bits.
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
