// brmrs/backend/simd/kernels.hpp — the xsimd kernel policy of the CPU objective pipeline.
//
// brmrs::backend::simd::kernels<Arch> implements the kernel policy of
// backend/policy.hpp (the contract is documented there) with xsimd 8.1
// batches of instruction set Arch (xsimd::avx512bw, xsimd::avx2, xsimd::sse2, ...):
//   select_hard   fused gather–score–argmax over one example's pool: every candidate's M rows
//                 are read once, scored against the M user rows, and folded into running
//                 per-lane (score, index) maxima; ties go to the lowest pool slot, NaN never wins
//   dot           <a, b>, summed in exactly the order select_hard sums a candidate's score, so
//                 dot(user, row of the chosen candidate) equals the selection's winning score
//   axpy / scale  y += alpha·x / y = alpha·x, for the gradient rows
//   prefetch_row  software prefetch of a row's cache lines (a hint; no effect on results)
//   example_losses  the per-example losses of a block of examples, one example per lane
// Every function is a static member of a class templated on Arch, so each instruction set is
// its own symbol: translation units compiled with different -m flags never share an inline
// function (the ODR trap that crashes with an illegal instruction in numpy, xsimd and hnswlib).
//
// Cost of select_hard: K·Σ_m d_m multiply-adds and K·Σ_m d_m·sizeof(T) bytes gathered, one
// horizontal transpose-reduction (detail::simd_haddp) per N = batch<T, Arch>::size candidates
// and modality, and one compare/two blends per N candidates for the running maxima. Rows
// prefetch_distance slots ahead (running on into the next example's pool when the caller
// passes it) are prefetched only when the pool spans more than prefetch_threshold_bytes() of
// item rows (in cache, prefetching only costs).
// Preconditions (validated by the public entry point, only asserted here): 1 <= M, K >= 1,
// every pool id is a valid row of every item table, rows hold dims[m] readable elements.
// Never throws, never allocates. Results are deterministic and do not depend on threads: the
// summation order is a fixed function of d and the batch width N; it differs from the scalar
// backend's order, so scores agree with it to rounding (tests/equivalence/).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "../../config.hpp"
#include "xsimd_compat.hpp"
#include "../policy.hpp"
#include "example_loss_lanes.hpp"

// Without xsimd (BRMRS_HAS_XSIMD == 0) this header declares nothing.
#if BRMRS_HAS_XSIMD
#include "../../detail/cache_size.hpp"

BRMRS_BEGIN_NAMESPACE
namespace backend {
namespace simd {

template <class Arch = xsimd::default_arch>
struct kernels {
  static_assert(brmrs::detail::is_simd_arch<Arch>,
                "brmrs::backend::simd::kernels needs a SIMD instruction set (xsimd::default_arch is "
                "unavailable: compile with e.g. -mavx2 or -march=native, or use brmrs::scalar_backend)");
  using arch_type = Arch;

  // How many pool slots ahead select_hard prefetches the candidates' rows: while a candidate's
  // first modality is scored, the rows of every modality of the group of the candidate this many
  // slots later (in this pool or, past its end, the next example's) are requested. A candidate
  // costs a few nanoseconds in cache and a DRAM access ~100 ns, so rows are requested two SIMD
  // blocks ahead (measured on Zen 5 with 2 x 256 MB tables, one thread, on a shared machine: 16
  // to 48 slots all within the run-to-run noise of about 15%, 32 among the fastest in every run;
  // on Zen 4 with the L2 prefetch of prefetch_line, two threads: 16, 32 and 64 slots each the
  // fastest in some of five interleaved rounds, docs/runs/2026-11-29/distance.txt).
  // BRMRS_SIMD_PREFETCH_DISTANCE overrides it at compile time (0 turns the prefetch off).
#ifdef BRMRS_SIMD_PREFETCH_DISTANCE
  static constexpr std::size_t prefetch_distance = BRMRS_SIMD_PREFETCH_DISTANCE;
#else
  static constexpr std::size_t prefetch_distance = 32;
#endif

  // A read prefetch into L2 (prefetcht1), not L1; a no-op where the compiler has no builtin. A
  // member, not a free inline function, so it too is a distinct symbol per instruction set.
  // Why L2: a prefetch into L1 holds one of the core's few L1 miss buffers until its line
  // arrives from DRAM, which caps the rows in flight; into L2 it does not, and the demand load
  // then hits L2 (a few ns, hidden by out-of-order execution). Measured on Zen 4 (2 x 256 MB
  // tables, two threads, five interleaved rounds, 2026-11-29, docs/runs/2026-11-29/ab.txt):
  // selection 2.1-3.8 ms against 4.9-6.8 ms with prefetcht0, 1.4-3.0x faster in every round;
  // the plain gather probe gains alike (benchmarks/bench_roofline.cpp, pf_*_l2;
  // docs/performance.md).
  // On x86 it is an asm volatile statement: GCC 12 treats a helper whose only effect is
  // __builtin_prefetch as free of side effects and deletes the inlined call (measured: no
  // prefetch instruction survived in select_hard).
  static void prefetch_line(const void* p) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("prefetcht1 (%0)" : : "r"(p));
#elif defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 0, 2);
#else
    (void)p;
#endif
  }

  // Prefetching only pays when the rows come from beyond the L2/L3: in cache, the prefetch
  // instructions compete with the row loads for the load ports (measured on Zen 5: -25% in
  // cache, +20% from DRAM). select_hard therefore prefetches only when the item tables the pool
  // spans, estimated as (largest pool id + 1) x the bytes of all M rows of an item, exceed
  // prefetch_threshold_bytes(): a quarter of the last-level cache the OS reports, at least
  // prefetch_min_bytes. A quarter leaves the L3 room for the user tables and the rest of the
  // working set; on the 32 MB L3 of Zen 4 and Zen 5 it is the 8 MB those hosts were tuned with.
  // The CPU drivers take their "in cache" decisions from the same figure (one modality per pass,
  // no look-ahead; backend/cpu/schedule.hpp). On the Intel Xeon of the pool (260 MB L3), W's
  // 2 x 25.6 MB item tables stay L3-resident, and with them below the threshold the selection
  // is 10 % / 5 % faster (1 / 2 threads: 2 066 against 2 285 us, 1 055 against 1 109 us,
  // 2026-12-08). BRMRS_SIMD_PREFETCH_MIN_BYTES fixes the threshold at compile time. A hint
  // only: results never change.
#ifdef BRMRS_SIMD_PREFETCH_MIN_BYTES
  static constexpr std::size_t prefetch_min_bytes = BRMRS_SIMD_PREFETCH_MIN_BYTES;
  static std::size_t prefetch_threshold_bytes() noexcept { return prefetch_min_bytes; }
#else
  static constexpr std::size_t prefetch_min_bytes = std::size_t(8) << 20;
  static std::size_t prefetch_threshold_bytes() noexcept {
    const std::size_t quarter = brmrs::detail::last_level_cache_bytes() / 4;
    return quarter > prefetch_min_bytes ? quarter : prefetch_min_bytes;
  }
#endif

  // Whether rows up to id `max_id` of tables with these strides are worth prefetching.
  template <class T>
  static bool worth_prefetching(std::size_t max_id, int M, const std::size_t* item_stride) noexcept {
    std::size_t row_bytes = 0;
    for (int m = 0; m < M; ++m) row_bytes += item_stride[m] * sizeof(T);
    return (max_id + 1) * row_bytes > prefetch_threshold_bytes();
  }

  // Prefetches every cache line of one row of d elements (the row need not be line aligned).
  template <class T>
  static void prefetch_row(const T* row, std::size_t d) noexcept {
    if (d == 0) return;
    // From the line holding the first element to the line holding the last one, so a row that
    // is not line aligned still gets every line it touches.
    const char* p = reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(row) & ~std::uintptr_t(63));
    const char* last = reinterpret_cast<const char*>(row + d) - 1;
    for (; p <= last; p += 64) prefetch_line(p);
  }

  // prefetch_row for a row of C full batches (C > 0: the line count is known at compile time,
  // so the requests are a straight run of instructions; C = 0: prefetch_row).
  template <class T, int C>
  static void prefetch_row_c(const T* row, std::size_t d) noexcept {
    if constexpr (C > 0) {
      constexpr std::size_t bytes = static_cast<std::size_t>(C) * xsimd::batch<T, Arch>::size * sizeof(T);
      const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(row) & ~std::uintptr_t(63);
      const std::uintptr_t last = (reinterpret_cast<std::uintptr_t>(row) + bytes - 1) & ~std::uintptr_t(63);
      // Every line the row touches: bytes / 64 of them, one more when the row is not line aligned.
      for (std::size_t l = 0; l < (bytes + 63) / 64; ++l) prefetch_line(reinterpret_cast<const void*>(first + 64 * l));
      if (last != first + 64 * ((bytes + 63) / 64 - 1)) prefetch_line(reinterpret_cast<const void*>(last));
      (void)d;
    } else {
      prefetch_row(row, d);
    }
  }

  // Σ_i a[i]·b[i] over the first `chunks` full batches. The order is fixed by (d, N): one
  // multiply-add chain for rows of fewer than 8 batches, whose latency the N independent
  // candidates of a block hide; four interleaved chains (c % 4) for longer rows. One chain is 4
  // multiply-adds a candidate at d = 64 float on AVX-512, where the two chains it replaced took 4
  // and an addition: in-cache selection 3 % faster on the Xeon (one thread, 598-603 against
  // 618-620 us a batch of W, docs/performance.md; two chains had measured 5 % faster on Zen 5,
  // 2026-11).
  // ua(c) returns chunk c of a (a load, or a register the caller loaded once).
  template <class T, int C, class UserChunk>
  static xsimd::batch<T, Arch> row_products_with(UserChunk&& ua, const T* b, std::size_t chunks) noexcept {
    using V = xsimd::batch<T, Arch>;
    constexpr std::size_t N = V::size;
    const std::size_t n = C > 0 ? static_cast<std::size_t>(C) : chunks;
    if (n < 8) {
      // The chain starts from fma(a, b, 0), never a plain product: with -ffp-contract=fast
      // (GCC's default) a product may be fused with a later operation after inlining, and dot()
      // then rounded differently from select_hard (measured: a d = 17 double row at -O2).
      const V zero(T(0));
      if (n == 0) return zero;
      V acc = xsimd::fma(ua(0), V::load_unaligned(b), zero);
      for (std::size_t c = 1; c < n; ++c) acc = xsimd::fma(ua(c), V::load_unaligned(b + c * N), acc);
      return acc;
    }
    V acc0(T(0)), acc1(T(0)), acc2(T(0)), acc3(T(0));
    std::size_t c = 0;
    for (; c + 4 <= n; c += 4) {
      acc0 = xsimd::fma(ua(c), V::load_unaligned(b + c * N), acc0);
      acc1 = xsimd::fma(ua(c + 1), V::load_unaligned(b + (c + 1) * N), acc1);
      acc2 = xsimd::fma(ua(c + 2), V::load_unaligned(b + (c + 2) * N), acc2);
      acc3 = xsimd::fma(ua(c + 3), V::load_unaligned(b + (c + 3) * N), acc3);
    }
    for (; c < n; ++c) acc0 = xsimd::fma(ua(c), V::load_unaligned(b + c * N), acc0);
    return (acc0 + acc1) + (acc2 + acc3);
  }

  template <class T, int C = 0>
  static xsimd::batch<T, Arch> row_products(const T* a, const T* b, std::size_t chunks) noexcept {
    using V = xsimd::batch<T, Arch>;
    return row_products_with<T, C>([a](std::size_t c) { return V::load_unaligned(a + c * V::size); }, b, chunks);
  }

  // Whether Arch has fused multiply-add instructions (a property of the instruction set, not of
  // the translation unit's flags, so kernels<Arch> has one definition everywhere).
  static constexpr bool has_fma = std::is_base_of_v<xsimd::fma3<xsimd::sse4_2>, Arch> ||
                                  std::is_base_of_v<xsimd::fma3<xsimd::avx>, Arch> ||
                                  std::is_base_of_v<xsimd::fma3<xsimd::avx2>, Arch> ||
                                  std::is_base_of_v<xsimd::avx512f, Arch> || std::is_base_of_v<xsimd::neon64, Arch>;

  // The elements past the last full batch, in index order. Where Arch has FMA, every step is an
  // explicit fused multiply-add, so the tail rounds alike in dot() and select_hard whatever each
  // is inlined into (a plain t += a·b leaves the fusing to -ffp-contract).
  template <class T>
  static T tail_products(const T* a, const T* b, std::size_t from, std::size_t d) noexcept {
    T t = T(0);
    if constexpr (has_fma)
      for (std::size_t i = from; i < d; ++i) t = std::fma(a[i], b[i], t);
    else
      for (std::size_t i = from; i < d; ++i) t += a[i] * b[i];
    return t;
  }

  // <a, b>: the lane sum follows the same tree as select_hard's transpose-reduction (lanes of
  // different rows never mix there), then the scalar tail: bit-identical to the pool score.
  template <class T>
  static T dot(const T* a, const T* b, std::size_t d) noexcept {
    using V = xsimd::batch<T, Arch>;
    constexpr std::size_t N = V::size;
    const std::size_t chunks = d / N;
    T s = T(0);
    // The common widths get the unrolled body (the arithmetic is the same for any C).
    switch (chunks) {
      case 0: break;
      case 1: s = brmrs::detail::simd_haddp_first(row_products<T, 1>(a, b, 1)); break;
      case 2: s = brmrs::detail::simd_haddp_first(row_products<T, 2>(a, b, 2)); break;
      case 4: s = brmrs::detail::simd_haddp_first(row_products<T, 4>(a, b, 4)); break;
      case 8: s = brmrs::detail::simd_haddp_first(row_products<T, 8>(a, b, 8)); break;
      default: s = brmrs::detail::simd_haddp_first(row_products<T>(a, b, chunks)); break;
    }
    if (chunks * N != d) s += tail_products(a, b, chunks * N, d);
    return s;
  }

  // y[i] += alpha·x[i]
  template <class T>
  static void axpy(T alpha, const T* x, T* y, std::size_t d) noexcept {
    using V = xsimd::batch<T, Arch>;
    constexpr std::size_t N = V::size;
    const V va(alpha);
    std::size_t i = 0;
    for (; i + N <= d; i += N)
      xsimd::fma(va, V::load_unaligned(x + i), V::load_unaligned(y + i)).store_unaligned(y + i);
    for (; i < d; ++i) y[i] += alpha * x[i];
  }

  // y[i] = alpha·x[i]  (x == y allowed)
  template <class T>
  static void scale(T alpha, const T* x, T* y, std::size_t d) noexcept {
    using V = xsimd::batch<T, Arch>;
    constexpr std::size_t N = V::size;
    const V va(alpha);
    std::size_t i = 0;
    for (; i + N <= d; i += N) (va * V::load_unaligned(x + i)).store_unaligned(y + i);
    for (; i < d; ++i) y[i] = alpha * x[i];
  }

  // The per-example losses of examples [b0, b0 + n), one example per lane (example_loss_lanes.hpp);
  // M beyond its lane version's limit goes through the scalar detail::example_losses.
  template <class T>
  static void example_losses(const brmrs::detail::example_loss_arrays<T>& a, std::size_t b0, std::size_t n,
                             const brmrs::detail::example_loss_params<T>& p, T* work) noexcept {
    if (a.M <= example_loss_lanes<T, Arch>::max_modalities)
      example_loss_lanes<T, Arch>::run(a, b0, n, p);
    else
      brmrs::detail::example_losses(a, b0, n, p, work);
  }

  // Fused gather–score–argmax over one example's pool (see the header comment):
  //   scores[m*K + k] = <user_rows[m], item_base[m] + pool[k]*item_stride[m]>  (dims[m] elements)
  //   best[m] = the first k maximising scores[m*K + k]; NaN never wins; K when all are NaN.
  //   next_pool: the pool row (K ids) of the example the caller scores next, or null; a hint:
  //   the look-ahead runs on into it, so the rows an example starts with are already requested.
  //   rows: whether to prefetch pool rows at all (on / off: the driver's per-batch decision;
  //   by_pool: decided here from the largest pool id, as worth_prefetching says). A hint.
  template <class T, class Id>
  static void select_hard(int M, const T* const* user_rows, const T* const* item_base,
                          const std::size_t* item_stride, const std::size_t* dims, const Id* pool,
                          std::size_t K, T* scores, std::size_t* best, const Id* next_pool = nullptr,
                          row_prefetch rows = row_prefetch::by_pool) noexcept {
    BRMRS_ASSERT(M >= 1 && K >= 1);
    bool prefetch = false;
    if constexpr (prefetch_distance > 0) {
      if (rows != row_prefetch::by_pool) {
        prefetch = rows == row_prefetch::on;
      } else {
        std::size_t max_id = 0;
        for (std::size_t k = 0; k < K; ++k) {
          const std::size_t id = static_cast<std::size_t>(pool[k]);
          max_id = id > max_id ? id : max_id;
        }
        prefetch = worth_prefetching<T>(max_id, M, item_stride);
      }
    }
    // Modalities are processed in groups so the running maxima live in a fixed stack array; a
    // candidate is read once per group, i.e. once for every M <= max_group.
    for (int m0 = 0; m0 < M; m0 += max_group) {
      const int g = M - m0 < max_group ? M - m0 : max_group;
      select_group(g, user_rows + m0, item_base + m0, item_stride + m0, dims + m0, pool, K,
                   scores + static_cast<std::size_t>(m0) * K, best + m0, K, prefetch ? next_pool : nullptr,
                   prefetch);
    }
  }

 private:
  static constexpr int max_group = 4;

  // f(m) for m = 0 .. G - 1: unrolled at compile time when the group size GC is fixed, so the
  // per-modality arrays of select_group_c are indexed by constants and live in registers (with
  // a loop over m, GCC 12 kept the user rows and running maxima on the stack; the two-modality
  // kernel, with the slot vector of select_group_c too, 567-583 against 605-624 us a batch of W
  // at 2 000 items, one thread, on the Xeon); a plain loop otherwise.
  template <int GC, class F>
  BRMRS_ALWAYS_INLINE static void for_each_member(int G, F&& f) noexcept {
    if constexpr (GC > 0)
      unrolled(f, std::make_integer_sequence<int, GC>{});
    else
      for (int m = 0; m < G; ++m) f(m);
  }
  template <class F, int... I>
  BRMRS_ALWAYS_INLINE static void unrolled(F& f, std::integer_sequence<int, I...>) noexcept {
    (f(I), ...);
  }

  // The rows of candidate `id` in the G tables of a group (C as in prefetch_row_c).
  template <class T, int C, class Id>
  static void prefetch_candidate(int G, const T* const* item_base, const std::size_t* item_stride,
                                 const std::size_t* dims, Id id) noexcept {
    for (int m = 0; m < G; ++m)
      prefetch_row_c<T, C>(item_base[m] + static_cast<std::size_t>(id) * item_stride[m], dims[m]);
  }

  // Prefetch is a template argument: the in-cache instantiation carries no look-ahead code at all.
  // GC: the group size when known at compile time (1 or 2), 0 otherwise. With GC and C both
  // fixed, the G·C user-row batches are loaded once per example and stay in registers.
  template <class T, class Id, int C, bool Prefetch, int GC>
  static void select_group_c(int G_runtime, const T* const* user_rows, const T* const* item_base,
                             const std::size_t* item_stride, const std::size_t* dims, const Id* pool,
                             std::size_t K, T* scores, std::size_t* best, std::size_t score_stride,
                             const Id* next_pool) noexcept {
    using V = xsimd::batch<T, Arch>;
    constexpr std::size_t N = V::size;
    constexpr std::size_t PF = prefetch_distance;
    const int G = GC > 0 ? GC : G_runtime;
    BRMRS_ASSERT(GC == 0 || G_runtime == GC);
    constexpr int UC = C > 0 ? C : 1;
    V user_v[max_group][UC];
    if constexpr (C > 0)
      for_each_member<GC>(G, [&](int m) BRMRS_LAMBDA_ALWAYS_INLINE {
        for (int c = 0; c < C; ++c) user_v[m][c] = V::load_unaligned(user_rows[m] + static_cast<std::size_t>(c) * N);
      });
    // Pool slots are carried as T in the running maxima, so their compare/blend share the
    // scores' mask type; exact while K <= 2^digits (2^24 for float). Larger pools fall back to a
    // scan of the stored scores below.
    const bool index_exact = K <= (std::size_t(1) << std::numeric_limits<T>::digits);
    alignas(Arch::alignment()) T lane_index[N];
    for (std::size_t j = 0; j < N; ++j) lane_index[j] = static_cast<T>(j);
    // The pool slots of the current block's lanes, advanced by N a block (exact while
    // index_exact; converting k0 each block took 3 % of the in-cache selection's perf samples
    // on the Xeon).
    V lane_slot = V::load_aligned(lane_index);
    const V block_step(static_cast<T>(N));
    const T nan = std::numeric_limits<T>::quiet_NaN();

    V best_v[max_group], best_i[max_group];
    for_each_member<GC>(G, [&](int m) BRMRS_LAMBDA_ALWAYS_INLINE {
      best_v[m] = V(-std::numeric_limits<T>::infinity());
      best_i[m] = V(T(-1));  // -1: the lane has no candidate yet (NaN and -inf scores leave it so)
    });

    for (std::size_t k0 = 0; k0 < K; k0 += N) {
      const std::size_t n = K - k0 < N ? K - k0 : N;
      // The ids PF slots ahead of this block, running on into the next example's pool: while a
      // row is scored, rows of the candidate PF slots later are requested, so a steady stream of
      // requests stays in flight across example boundaries (measured on Zen 5, 2 x 256 MB
      // tables, one thread: 36 GB/s; 22 GB/s with bursts of requests per block and modality
      // that stopped at the end of each example; docs/performance.md). All G rows of a
      // candidate are requested together, while the first modality is scored (Zen 4, two
      // threads, 2 x 256 MB tables, 10 interleaved rounds, 16:11-16:13 UTC 2026-11-28: 28.2
      // GB/s on average with one row per modality pass, 30.8-32.4 this way, 16 to 48 slots).
      const Id* ahead[N];
      std::size_t n_ahead = 0;
      if constexpr (PF > 0 && Prefetch)
        for (; n_ahead < n; ++n_ahead) {
          const std::size_t slot = k0 + n_ahead + PF;
          const Id* id = slot < K ? pool + slot : (next_pool != nullptr && slot - K < K ? next_pool + (slot - K) : nullptr);
          if (id == nullptr) break;
          ahead[n_ahead] = id;
        }
      for_each_member<GC>(G, [&](int m) BRMRS_LAMBDA_ALWAYS_INLINE {
        const T* u = user_rows[m];
        const T* base = item_base[m];
        const std::size_t stride = item_stride[m];
        const std::size_t dm = dims[m];
        const std::size_t chunks = dm / N;
        V s;
        if (n == N) {
          // A full block: the rows are reduced as they are produced (no accumulator array).
          const Id* pk = pool + k0;
          s = brmrs::detail::simd_haddp_generate<T, Arch>([&](auto J) BRMRS_LAMBDA_ALWAYS_INLINE {
            constexpr std::size_t j = decltype(J)::value;
            if constexpr (Prefetch)
              if (m == 0 && j < n_ahead) prefetch_candidate<T, C>(G, item_base, item_stride, dims, *ahead[j]);
            const T* row = base + static_cast<std::size_t>(pk[j]) * stride;
            if constexpr (C > 0)
              return row_products_with<T, C>([&](std::size_t c) { return user_v[m][c]; }, row, chunks);
            else
              return row_products<T, C>(u, row, chunks);
          });
        } else {
          V acc[N];
          for (std::size_t j = 0; j < n; ++j) {
            if constexpr (Prefetch)
              if (m == 0 && j < n_ahead) prefetch_candidate<T, C>(G, item_base, item_stride, dims, *ahead[j]);
            acc[j] = row_products<T, C>(u, base + static_cast<std::size_t>(pool[k0 + j]) * stride, chunks);
          }
          for (std::size_t j = n; j < N; ++j) acc[j] = V(T(0));
          s = brmrs::detail::simd_haddp(acc);
        }
        T* out = scores + static_cast<std::size_t>(m) * score_stride + k0;
        if (chunks * N != dm || n != N) {
          alignas(Arch::alignment()) T tmp[N];
          s.store_aligned(tmp);
          if (chunks * N != dm)
            for (std::size_t j = 0; j < n; ++j)
              tmp[j] += tail_products(u, base + static_cast<std::size_t>(pool[k0 + j]) * stride, chunks * N, dm);
          for (std::size_t j = 0; j < n; ++j) out[j] = tmp[j];
          for (std::size_t j = n; j < N; ++j) tmp[j] = nan;  // absent slots never win
          s = V::load_aligned(tmp);
        } else {
          s.store_unaligned(out);
        }
        // Strict > keeps the earlier slot of a lane on ties (a lane sees its slots in increasing
        // order) and keeps NaN out; -inf never enters a lane (the scan after the loop handles a
        // pool whose every score is -inf or NaN).
        const auto take = s > best_v[m];
        best_v[m] = xsimd::select(take, s, best_v[m]);
        best_i[m] = xsimd::select(take, lane_slot, best_i[m]);
      });
      lane_slot = lane_slot + block_step;
    }

    for_each_member<GC>(G, [&](int m) BRMRS_LAMBDA_ALWAYS_INLINE {
      std::size_t bi = K;
      if (index_exact && brmrs::detail::simd_has_lane_argmax<T, Arch>) {
        bi = brmrs::detail::simd_lane_argmax(best_v[m], best_i[m], K);
      } else if (index_exact) {
        // Across lanes: the highest score, then the lowest slot among equal scores. Two
        // branch-free passes (the lanes' order is data-dependent: branches would mispredict).
        alignas(Arch::alignment()) T lv[N];
        alignas(Arch::alignment()) T li[N];
        best_v[m].store_aligned(lv);
        best_i[m].store_aligned(li);
        const T inf = std::numeric_limits<T>::infinity();
        T bv = -inf;
        bool any = false;
        for (std::size_t j = 0; j < N; ++j) {
          const bool valid = li[j] >= T(0);
          any = any || valid;
          const T v = valid ? lv[j] : -inf;
          bv = v > bv ? v : bv;
        }
        T bk = inf;
        for (std::size_t j = 0; j < N; ++j) {
          const T k = (li[j] >= T(0) && lv[j] == bv) ? li[j] : inf;
          bk = k < bk ? k : bk;
        }
        if (any) bi = static_cast<std::size_t>(bk);
      } else {
        const T* sm = scores + static_cast<std::size_t>(m) * score_stride;
        T bv = T(0);
        for (std::size_t k = 0; k < K; ++k)
          if (sm[k] == sm[k] && (bi == K || sm[k] > bv)) {
            bv = sm[k];
            bi = k;
          }
      }
      if (bi == K && index_exact) {
        // No lane holds a score above -inf: the first -inf slot wins, if any is not NaN (the
        // stored-score scan above already applies that rule itself).
        const T* sm = scores + static_cast<std::size_t>(m) * score_stride;
        for (std::size_t k = 0; k < K && bi == K; ++k)
          if (sm[k] == sm[k]) bi = k;
      }
      best[m] = bi;
    });
  }

  template <class T, class Id, int C>
  static void select_group_p(int G, const T* const* user_rows, const T* const* item_base,
                             const std::size_t* item_stride, const std::size_t* dims, const Id* pool,
                             std::size_t K, T* scores, std::size_t* best, std::size_t score_stride,
                             const Id* next_pool, bool prefetch) noexcept {
    // One modality (a driver's modality-at-a-time pass) and two (the usual M, workload W) get
    // their own instantiations (GC), each with and without the look-ahead (Prefetch).
    auto run = [&](auto pf, auto gc) {
      select_group_c<T, Id, C, decltype(pf)::value, decltype(gc)::value>(G, user_rows, item_base, item_stride, dims, pool,
                                                                          K, scores, best, score_stride, next_pool);
    };
    auto by_group = [&](auto pf) {
      if (G == 1) return run(pf, std::integral_constant<int, 1>{});
      if (G == 2) return run(pf, std::integral_constant<int, 2>{});
      run(pf, std::integral_constant<int, 0>{});
    };
    if (prefetch)
      by_group(std::true_type{});
    else
      by_group(std::false_type{});
  }

  template <class T, class Id>
  static void select_group(int G, const T* const* user_rows, const T* const* item_base,
                           const std::size_t* item_stride, const std::size_t* dims, const Id* pool,
                           std::size_t K, T* scores, std::size_t* best, std::size_t score_stride,
                           const Id* next_pool, bool prefetch) noexcept {
    constexpr std::size_t N = xsimd::batch<T, Arch>::size;
    // A compile-time chunk count when every modality of the group has the same d, a multiple
    // of the batch width of 1, 2, 4 or 8 batches (d = 64 float on AVX-512 is 4): the user
    // rows then stay in registers and the block is fully unrolled.
    bool same = true;
    for (int m = 1; m < G; ++m) same = same && dims[m] == dims[0];
    const std::size_t chunks = dims[0] / N;
    if (same && chunks * N == dims[0]) {
      switch (chunks) {
        case 1: return select_group_p<T, Id, 1>(G, user_rows, item_base, item_stride, dims, pool, K, scores, best, score_stride, next_pool, prefetch);
        case 2: return select_group_p<T, Id, 2>(G, user_rows, item_base, item_stride, dims, pool, K, scores, best, score_stride, next_pool, prefetch);
        case 4: return select_group_p<T, Id, 4>(G, user_rows, item_base, item_stride, dims, pool, K, scores, best, score_stride, next_pool, prefetch);
        case 8: return select_group_p<T, Id, 8>(G, user_rows, item_base, item_stride, dims, pool, K, scores, best, score_stride, next_pool, prefetch);
        default: break;
      }
    }
    select_group_p<T, Id, 0>(G, user_rows, item_base, item_stride, dims, pool, K, scores, best, score_stride, next_pool, prefetch);
  }
};

}  // namespace simd
}  // namespace backend
BRMRS_END_NAMESPACE
#endif  // BRMRS_HAS_XSIMD
