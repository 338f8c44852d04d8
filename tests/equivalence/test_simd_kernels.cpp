// Equivalence of the xsimd kernel policy (backend/simd/kernels.hpp) with the scalar reference
// policy (backend/scalar/kernels.hpp), kernel by kernel, over the dimensions that exercise every
// vector tail: d in {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 128}, M in {2, 3}, several
// K (one partial SIMD block, exact blocks, a block plus one), float and double, int32 and int64
// ids. Scores must agree within a tolerance scaled by d (the SIMD lanes sum in another order);
// the selection is compared by the CHOSEN SCORE (a near-tie may legitimately pick another slot)
// and, where the inputs make every sum exact (small integers), by the index too, with ties forced
// on purpose (repeated pool ids, repeated rows), so "first slot wins" is tested, not assumed.
// requires: xsimd
#include <catch2/catch.hpp>

#include <brmrs/config.hpp>

#if !BRMRS_HAS_XSIMD
#error "needs xsimd: tests/CMakeLists.txt builds this test only when xsimd is found"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <brmrs/backend/scalar/kernels.hpp>
#include <brmrs/backend/simd/kernels.hpp>

namespace {

using simd_k = brmrs::backend::simd::kernels<xsimd::default_arch>;
using scalar_k = brmrs::backend::scalar::kernels;

const std::size_t dims_sweep[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 128};

// One example's data: M user rows, M item tables (n rows, padded stride), a pool.
template <class T, class Id>
struct example {
  int M;
  std::size_t d, n, stride, K;
  std::vector<std::vector<T>> user, item;
  std::vector<Id> pool;
  std::vector<const T*> urow, ibase;
  std::vector<std::size_t> strides, dims;

  example(int M_, std::size_t d_, std::size_t n_, std::size_t K_)
      : M(M_), d(d_), n(n_), stride(d_ + 3), K(K_), user(M_), item(M_), pool(K_) {
    for (int m = 0; m < M; ++m) {
      user[m].assign(d, T(0));
      item[m].assign(n * stride, T(0));
    }
  }
  void finish() {
    urow.clear();
    ibase.clear();
    for (int m = 0; m < M; ++m) {
      urow.push_back(user[m].data());
      ibase.push_back(item[m].data());
    }
    strides.assign(M, stride);
    dims.assign(M, d);
  }
  T* row(int m, std::size_t i) { return item[m].data() + i * stride; }

  template <class P>
  void select(std::vector<T>& scores, std::vector<std::size_t>& best) const {
    scores.assign(static_cast<std::size_t>(M) * K, T(-7));
    best.assign(M, 12345);
    P::template select_hard<T, Id>(M, urow.data(), ibase.data(), strides.data(), dims.data(), pool.data(), K,
                                   scores.data(), best.data());
  }
  // Σ|u_i q_i| for candidate k of modality m: the scale of the rounding error of its score.
  double magnitude(int m, std::size_t k) const {
    double s = 0;
    const T* q = item[m].data() + static_cast<std::size_t>(pool[k]) * stride;
    for (std::size_t i = 0; i < d; ++i) s += std::fabs(double(user[m][i]) * double(q[i]));
    return s;
  }
};

template <class T>
double tol_for(std::size_t d, double magnitude) {
  // Any two summation orders of d products differ by at most ~2·d·eps·Σ|terms|.
  return 2.0 * static_cast<double>(d + 2) * std::numeric_limits<T>::epsilon() * (magnitude + 1e-30);
}

template <class T, class Id>
void check_random(std::uint64_t seed, int M, std::size_t d, std::size_t K) {
  INFO("seed " << seed << " M " << M << " d " << d << " K " << K);
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> U(-1, 1);
  example<T, Id> e(M, d, 40, K);
  for (int m = 0; m < M; ++m) {
    for (auto& x : e.user[m]) x = static_cast<T>(U(g));
    for (auto& x : e.item[m]) x = static_cast<T>(U(g));
  }
  for (auto& p : e.pool) p = static_cast<Id>(g() % e.n);
  e.finish();
  std::vector<T> s_ref, s_simd;
  std::vector<std::size_t> b_ref, b_simd;
  e.template select<scalar_k>(s_ref, b_ref);
  e.template select<simd_k>(s_simd, b_simd);
  for (int m = 0; m < M; ++m) {
    for (std::size_t k = 0; k < K; ++k) {
      const std::size_t at = static_cast<std::size_t>(m) * K + k;
      INFO("m " << m << " k " << k);
      REQUIRE(std::fabs(double(s_simd[at]) - double(s_ref[at])) <= tol_for<T>(d, e.magnitude(m, k)));
      // The policy contract: dot() returns exactly the pool score of the same rows.
      const T* q = e.row(m, static_cast<std::size_t>(e.pool[k]));
      REQUIRE(simd_k::dot(e.user[m].data(), q, d) == s_simd[at]);
    }
    REQUIRE(b_simd[static_cast<std::size_t>(m)] < K);
    // Compare the chosen score: the SIMD choice must be a maximum of the reference scores up to
    // rounding (near-ties may pick another slot; a real difference may not).
    const std::size_t bs = b_simd[static_cast<std::size_t>(m)], br = b_ref[static_cast<std::size_t>(m)];
    const double chosen = double(s_ref[static_cast<std::size_t>(m) * K + bs]);
    const double best = double(s_ref[static_cast<std::size_t>(m) * K + br]);
    REQUIRE(chosen >= best - 2 * tol_for<T>(d, std::max(e.magnitude(m, bs), e.magnitude(m, br))));
    // And the SIMD choice is the first maximiser of its own scores.
    const T* sm = s_simd.data() + static_cast<std::size_t>(m) * K;
    for (std::size_t k = 0; k < K; ++k) {
      if (k < bs) REQUIRE(sm[k] < sm[bs]);
      if (k > bs) REQUIRE(sm[k] <= sm[bs]);
    }
  }
}

// Small integers: every product and partial sum is exact in any order, so the scores are
// bit-identical across backends and the indices must match exactly. Ties are forced: the pool
// repeats ids (identical rows) and a few distinct rows are copies of each other.
template <class T, class Id>
void check_ties(std::uint64_t seed, int M, std::size_t d, std::size_t K) {
  INFO("seed " << seed << " M " << M << " d " << d << " K " << K);
  std::mt19937_64 g(seed);
  std::uniform_int_distribution<int> I(-3, 3);
  example<T, Id> e(M, d, 12, K);
  for (int m = 0; m < M; ++m) {
    for (auto& x : e.user[m]) x = static_cast<T>(I(g));
    for (auto& x : e.item[m]) x = static_cast<T>(I(g));
    // Rows 0..3 are copies of row 4: distinct ids, equal scores.
    for (std::size_t r = 0; r < 4; ++r) std::copy(e.row(m, 4), e.row(m, 4) + d, e.row(m, r));
  }
  for (auto& p : e.pool) p = static_cast<Id>(g() % 6);  // 12 rows, ids < 6: heavy repetition
  e.finish();
  std::vector<T> s_ref, s_simd;
  std::vector<std::size_t> b_ref, b_simd;
  e.template select<scalar_k>(s_ref, b_ref);
  e.template select<simd_k>(s_simd, b_simd);
  REQUIRE(s_simd == s_ref);
  REQUIRE(b_simd == b_ref);
  // Independent check of "first maximiser": the expectation computed here, in double.
  for (int m = 0; m < M; ++m) {
    std::size_t first = 0;
    double best = -1e300;
    for (std::size_t k = 0; k < K; ++k) {
      double s = 0;
      for (std::size_t i = 0; i < d; ++i)
        s += double(e.user[m][i]) * double(e.row(m, static_cast<std::size_t>(e.pool[k]))[i]);
      if (s > best) {
        best = s;
        first = k;
      }
    }
    REQUIRE(b_simd[static_cast<std::size_t>(m)] == first);
  }
}

}  // namespace

TEST_CASE("simd_haddp puts row j's sum in lane j", "[simd][compat]") {
  // Row j holds j+1 in lane (5j mod N) and (j+1)*100 in lane (5j+1 mod N): lane j must be 101(j+1)
  // (exact in float). xsimd 8.1's own AVX-512 haddp fails this (it permutes lanes 2..5, 10..13).
  auto run = [](auto tag) {
    using T = decltype(tag);
    using V = xsimd::batch<T, xsimd::default_arch>;
    constexpr std::size_t N = V::size;
    V rows[N];
    for (std::size_t j = 0; j < N; ++j) {
      alignas(64) T v[N] = {};
      v[(5 * j) % N] += T(j + 1);
      v[(5 * j + 1) % N] += T(100 * (j + 1));
      rows[j] = V::load_unaligned(v);
    }
    alignas(64) T out[N];
    brmrs::detail::simd_haddp(rows).store_unaligned(out);
    for (std::size_t j = 0; j < N; ++j) {
      INFO("lane " << j);
      CHECK(out[j] == T(101 * (j + 1)));
    }
    CHECK(brmrs::detail::simd_haddp_first(rows[3]) == T(404));
  };
  run(float{});
  run(double{});
}

TEST_CASE("simd select_hard agrees with scalar on random data", "[simd][select]") {
  std::uint64_t seed = 1000;
  for (std::size_t d : dims_sweep)
    for (int M : {2, 3, 5})  // 5: past the kernel's groups of four modalities
      for (std::size_t K : {std::size_t(1), std::size_t(5), std::size_t(16), std::size_t(17), std::size_t(64)}) {
        check_random<float, std::int32_t>(++seed, M, d, K);
        check_random<double, std::int64_t>(++seed, M, d, K);
      }
}

TEST_CASE("simd select_hard breaks exact ties like scalar (first slot)", "[simd][select][ties]") {
  std::uint64_t seed = 5000;
  for (std::size_t d : dims_sweep)
    for (int M : {2, 3})
      for (std::size_t K : {std::size_t(3), std::size_t(16), std::size_t(33), std::size_t(64)}) {
        check_ties<float, std::int32_t>(++seed, M, d, K);
        check_ties<double, std::int32_t>(++seed, M, d, K);
        check_ties<float, std::int64_t>(++seed, M, d, K);
      }
}

TEST_CASE("simd select_hard on near-ties compares the chosen score", "[simd][select][ties]") {
  // Candidate rows are one base row plus perturbations of one ulp-scale: the scores differ by
  // less than the summation error, so either backend may pick any of them, but the score it
  // picks must be within the d-scaled tolerance of the reference maximum.
  for (std::size_t d : dims_sweep)
    for (int M : {2, 3}) {
      const std::uint64_t seed = 9000 + d * 7 + static_cast<std::uint64_t>(M);
      INFO("seed " << seed << " d " << d << " M " << M);
      std::mt19937_64 g(seed);
      std::uniform_real_distribution<float> U(-1, 1);
      const std::size_t K = 40;
      example<float, std::int32_t> e(M, d, K, K);
      for (int m = 0; m < M; ++m) {
        for (auto& x : e.user[m]) x = U(g);
        std::vector<float> base(d);
        for (auto& x : base) x = U(g);
        for (std::size_t r = 0; r < K; ++r)
          for (std::size_t i = 0; i < d; ++i)
            e.row(m, r)[i] = base[i] * (1.0f + 1e-7f * static_cast<float>(static_cast<int>(g() % 5) - 2));
      }
      for (std::size_t k = 0; k < K; ++k) e.pool[k] = static_cast<std::int32_t>(k);
      e.finish();
      std::vector<float> s_ref, s_simd;
      std::vector<std::size_t> b_ref, b_simd;
      e.select<scalar_k>(s_ref, b_ref);
      e.select<simd_k>(s_simd, b_simd);
      for (int m = 0; m < M; ++m) {
        const std::size_t off = static_cast<std::size_t>(m) * K;
        double mag = 0;
        for (std::size_t k = 0; k < K; ++k) mag = std::max(mag, e.magnitude(m, k));
        const double ref_max = *std::max_element(s_ref.begin() + off, s_ref.begin() + off + K);
        REQUIRE(b_simd[static_cast<std::size_t>(m)] < K);
        CHECK(double(s_ref[off + b_simd[static_cast<std::size_t>(m)]]) >= ref_max - 2 * tol_for<float>(d, mag));
      }
    }
}

template <class T>
void check_nan_and_inf_pools() {
  for (std::size_t d : {std::size_t(3), std::size_t(16), std::size_t(33)}) {
    INFO("d " << d);
    const std::size_t K = 20;
    example<T, std::int32_t> e(2, d, K, K);
    for (std::size_t k = 0; k < K; ++k) e.pool[k] = static_cast<std::int32_t>(k);
    for (std::size_t i = 0; i < d; ++i) e.user[0][i] = e.user[1][i] = T(1);
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const T inf = std::numeric_limits<T>::infinity();
    // Modality 0: row 2 is NaN, rows 5 and 17 have the top finite score 2d (5 must win).
    for (std::size_t r = 0; r < K; ++r)
      for (std::size_t i = 0; i < d; ++i) e.row(0, r)[i] = T(1);
    e.row(0, 2)[0] = nan;
    for (std::size_t i = 0; i < d; ++i) e.row(0, 5)[i] = e.row(0, 17)[i] = T(2);
    // Modality 1: every row is NaN except rows 9 and 12, which are -inf: 9 must win.
    for (std::size_t r = 0; r < K; ++r) e.row(1, r)[0] = nan;
    e.row(1, 9)[0] = -inf;
    e.row(1, 12)[0] = -inf;
    e.finish();
    std::vector<T> s;
    std::vector<std::size_t> b, b_ref;
    e.template select<scalar_k>(s, b_ref);
    e.template select<simd_k>(s, b);
    CHECK(b[0] == 5);
    CHECK(b[1] == 9);
    CHECK(b == b_ref);
    for (std::size_t r = 0; r < K; ++r) e.row(1, r)[0] = nan;
    e.template select<simd_k>(s, b);
    CHECK(b[1] == K);
    CHECK(b[0] == 5);
    // The only non-NaN score is -inf, in the last block (K = 20 is not a multiple of the lane
    // count: a partial block for float and double on AVX-512 and AVX2): it wins.
    e.row(1, 18)[0] = -inf;
    e.template select<simd_k>(s, b);
    CHECK(b[1] == 18);
    // Every score -inf: the first slot wins, as in the scalar backend.
    for (std::size_t r = 0; r < K; ++r) e.row(1, r)[0] = -inf;
    e.template select<scalar_k>(s, b_ref);
    e.template select<simd_k>(s, b);
    CHECK(b[1] == 0);
    CHECK(b == b_ref);
    // +inf in a later slot than a finite top, -inf everywhere else of the lane: +inf wins.
    e.row(1, 7)[0] = T(1);
    e.row(1, 14)[0] = inf;
    e.template select<simd_k>(s, b);
    CHECK(b[1] == 14);
  }
}

TEST_CASE("simd select_hard never picks NaN, lets -inf win, and reports K for all-NaN", "[simd][select][nan]") {
  SECTION("float") { check_nan_and_inf_pools<float>(); }
  SECTION("double") { check_nan_and_inf_pools<double>(); }
}

TEST_CASE("simd dot, axpy and scale agree with scalar", "[simd][blas]") {
  std::uint64_t seed = 77;
  for (std::size_t d : dims_sweep) {
    INFO("seed " << seed << " d " << d);
    std::mt19937_64 g(seed++);
    std::uniform_real_distribution<double> U(-1, 1);
    std::vector<float> a(d), b(d), y1(d), y2(d);
    std::vector<double> ad(d), bd(d);
    double mag = 0;
    for (std::size_t i = 0; i < d; ++i) {
      a[i] = static_cast<float>(U(g));
      b[i] = static_cast<float>(U(g));
      ad[i] = U(g);
      bd[i] = U(g);
      mag += std::fabs(double(a[i]) * b[i]);
      y1[i] = y2[i] = static_cast<float>(U(g));
    }
    CHECK(std::fabs(double(simd_k::dot(a.data(), b.data(), d)) - double(scalar_k::dot(a.data(), b.data(), d))) <=
          tol_for<float>(d, mag));
    double magd = 0;
    for (std::size_t i = 0; i < d; ++i) magd += std::fabs(ad[i] * bd[i]);
    CHECK(std::fabs(simd_k::dot(ad.data(), bd.data(), d) - scalar_k::dot(ad.data(), bd.data(), d)) <=
          tol_for<double>(d, magd));
    simd_k::axpy(0.75f, a.data(), y1.data(), d);
    scalar_k::axpy(0.75f, a.data(), y2.data(), d);
    for (std::size_t i = 0; i < d; ++i) CHECK(std::fabs(y1[i] - y2[i]) <= 4 * std::numeric_limits<float>::epsilon());
    simd_k::scale(-1.5f, b.data(), y1.data(), d);
    scalar_k::scale(-1.5f, b.data(), y2.data(), d);
    for (std::size_t i = 0; i < d; ++i) CHECK(y1[i] == y2[i]);  // one rounding each: exact match
    // In-place scale (x == y).
    std::vector<float> z = a;
    simd_k::scale(2.0f, z.data(), z.data(), d);
    for (std::size_t i = 0; i < d; ++i) CHECK(z[i] == 2.0f * a[i]);
  }
}
