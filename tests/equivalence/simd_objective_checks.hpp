// Shared by the SIMD objective equivalence tests (test_simd_objective*.cpp): a random problem,
// one compute_objective run that keeps every output, and the checks, each a function so that
// test_simd_objective_beyond_cache.cpp can run them again with another prefetch threshold (a
// macro that must be set before any brmrs header, hence a header, not a shared .cpp).
// compare(): the loss parts, the diagnostics, the hard negatives (by chosen score) and every
// gradient row of simd_backend<xsimd::default_arch> against scalar_backend, at a tolerance scaled
// by d. B is small (the suite also runs under ASAN+UBSAN).
#ifndef BRMRS_TESTS_EQUIVALENCE_SIMD_OBJECTIVE_CHECKS_HPP
#define BRMRS_TESTS_EQUIVALENCE_SIMD_OBJECTIVE_CHECKS_HPP

#include <catch2/catch.hpp>

#include <brmrs/config.hpp>

#if !BRMRS_HAS_XSIMD
#error "needs xsimd: tests/CMakeLists.txt builds the SIMD tests only when xsimd is found"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include <brmrs/objective.hpp>

#if BRMRS_HAS_OPENMP
#include <omp.h>
#endif

namespace simd_objective_checks {

using simd_b = brmrs::simd_backend<xsimd::default_arch>;

template <class T>
struct problem {
  std::size_t M, d, d_f, B, K, n_users = 9, n_items = 50;
  std::vector<std::vector<T>> user, item;
  std::vector<T> fu, fi;
  std::vector<std::int32_t> users, pos, neg, pools;

  problem(std::uint64_t seed, std::size_t M_, std::size_t d_, std::size_t B_, std::size_t K_, bool ties)
      : M(M_), d(d_), d_f(d_ + 1), B(B_), K(K_), user(M_), item(M_) {
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<double> U(-1, 1);
    std::uniform_int_distribution<int> I(-2, 2);
    // Integer-valued rows scaled by 1/8 make every score exact (forced ties); otherwise uniform,
    // scaled so scores stay O(1).
    const double sc = 1.0 / std::sqrt(static_cast<double>(d));
    auto val = [&] { return ties ? static_cast<T>(I(g) * 0.125) : static_cast<T>(U(g) * sc); };
    for (std::size_t m = 0; m < M; ++m) {
      user[m].resize(n_users * d);
      item[m].resize(n_items * d);
      for (auto& x : user[m]) x = val();
      for (auto& x : item[m]) x = val();
    }
    fu.resize(n_users * d_f);
    fi.resize(n_items * d_f);
    for (auto& x : fu) x = val();
    for (auto& x : fi) x = val();
    users.resize(B);
    pos.resize(B);
    neg.resize(B);
    pools.resize(B * K);
    for (std::size_t b = 0; b < B; ++b) {
      users[b] = static_cast<std::int32_t>(g() % n_users);
      pos[b] = static_cast<std::int32_t>(g() % n_items);
      neg[b] = static_cast<std::int32_t>(g() % n_items);
      for (std::size_t k = 0; k < K; ++k)
        pools[b * K + k] = static_cast<std::int32_t>(g() % (ties ? 6 : n_items));  // ties: repeated ids
    }
  }
  brmrs::dot_tables<T> tables() const {
    brmrs::dot_tables<T> t;
    for (std::size_t m = 0; m < M; ++m) {
      t.user.emplace_back(user[m].data(), n_users, d);
      t.item.emplace_back(item[m].data(), n_items, d);
    }
    t.fused_user = brmrs::matrix_view<const T>(fu.data(), n_users, d_f);
    t.fused_item = brmrs::matrix_view<const T>(fi.data(), n_items, d_f);
    return t;
  }
  brmrs::batch<std::int32_t> make_batch(bool explicit_neg) const {
    brmrs::batch<std::int32_t> b;
    b.users = {users.data(), B};
    b.positives = {pos.data(), B};
    b.pools = brmrs::matrix_view<const std::int32_t>(pools.data(), B, K);
    if (explicit_neg) b.negatives = {neg.data(), B};
    return b;
  }
  double score(std::size_t m, std::size_t u, std::size_t i) const {
    double s = 0;
    for (std::size_t c = 0; c < d; ++c) s += double(user[m][u * d + c]) * double(item[m][i * d + c]);
    return s;
  }
};

template <class T>
struct result_set {
  brmrs::objective_result<T> r;
  std::vector<std::int32_t> hard;
  std::vector<T> loss;
  std::vector<std::vector<T>> rows;  // every gradient row buffer, flattened per view
};

template <class T, class Backend>
result_set<T> run(const problem<T>& p, bool explicit_neg, const brmrs::objective_config<T>& cfg) {
  result_set<T> rs;
  rs.hard.assign(p.B * p.M, -1);
  rs.loss.assign(p.B, T(0));
  brmrs::objective_outputs<T, std::int32_t> out;
  out.hard_negatives = brmrs::matrix_view<std::int32_t>(rs.hard.data(), p.B, p.M);
  out.example_loss = brmrs::vector_view<T>(rs.loss.data(), p.B);
  // Views: user, positive, negative (B x d), hard (B*M x d) per m; then the three fused.
  for (std::size_t m = 0; m < p.M; ++m) {
    rs.rows.emplace_back(p.B * p.d);
    rs.rows.emplace_back(p.B * p.d);
    rs.rows.emplace_back(p.B * p.d);
    rs.rows.emplace_back(p.B * p.M * p.d);
  }
  for (int f = 0; f < 3; ++f) rs.rows.emplace_back(p.B * p.d_f);
  for (std::size_t m = 0; m < p.M; ++m) {
    out.rows.user.emplace_back(rs.rows[4 * m].data(), p.B, p.d);
    out.rows.positive.emplace_back(rs.rows[4 * m + 1].data(), p.B, p.d);
    out.rows.negative.emplace_back(rs.rows[4 * m + 2].data(), p.B, p.d);
    out.rows.hard.emplace_back(rs.rows[4 * m + 3].data(), p.B * p.M, p.d);
  }
  out.rows.fused_user = brmrs::matrix_view<T>(rs.rows[4 * p.M].data(), p.B, p.d_f);
  out.rows.fused_positive = brmrs::matrix_view<T>(rs.rows[4 * p.M + 1].data(), p.B, p.d_f);
  out.rows.fused_negative = brmrs::matrix_view<T>(rs.rows[4 * p.M + 2].data(), p.B, p.d_f);
  rs.r = brmrs::compute_objective(p.tables(), p.make_batch(explicit_neg), cfg, out, Backend{});
  return rs;
}

template <class T>
void compare(std::uint64_t seed, std::size_t M, std::size_t d, bool ties) {
  INFO("seed " << seed << " M " << M << " d " << d << " ties " << ties);
  const std::size_t B = 12, K = 19;
  const problem<T> p(seed, M, d, B, K, ties);
  brmrs::objective_config<T> cfg;
  cfg.lambda_reg = T(0.01);
  cfg.seed = seed;
  const bool explicit_neg = (seed % 2) == 0;
  const auto a = run<T, brmrs::scalar_backend>(p, explicit_neg, cfg);
  const auto s = run<T, simd_b>(p, explicit_neg, cfg);
  // Scores are O(1) sums of d products of O(1/sqrt(d)) terms; losses are smooth in the scores.
  const double eps = std::numeric_limits<T>::epsilon();
  const double tol = 16.0 * static_cast<double>(d + 2) * eps;
  // Hard negatives: compare the chosen score (a near-tie may pick another id).
  bool same_hard = true;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t m = 0; m < M; ++m) {
      const std::size_t u = static_cast<std::size_t>(p.users[b]);
      const double chosen = p.score(m, u, static_cast<std::size_t>(s.hard[b * M + m]));
      const double ref = p.score(m, u, static_cast<std::size_t>(a.hard[b * M + m]));
      INFO("b " << b << " m " << m);
      REQUIRE(std::fabs(chosen - ref) <= tol);
      if (ties) REQUIRE(s.hard[b * M + m] == a.hard[b * M + m]);  // exact scores: exact ids
      same_hard = same_hard && s.hard[b * M + m] == a.hard[b * M + m];
    }
  CHECK(std::fabs(double(s.r.loss) - double(a.r.loss)) <= tol * (1 + std::fabs(double(a.r.loss))));
  CHECK(std::fabs(double(s.r.bpr) - double(a.r.bpr)) <= tol * (1 + std::fabs(double(a.r.bpr))));
  CHECK(std::fabs(double(s.r.synergy) - double(a.r.synergy)) <= tol * (1 + std::fabs(double(a.r.synergy))));
  CHECK(std::fabs(double(s.r.l2) - double(a.r.l2)) <= tol * (1 + std::fabs(double(a.r.l2))));
  if (!same_hard) return;  // a near-tie changed j^m: the CHNS terms and rows legitimately differ
  CHECK(std::fabs(double(s.r.chns) - double(a.r.chns)) <= tol * (1 + std::fabs(double(a.r.chns))));
  CHECK(s.r.hard_negative_agreement == a.r.hard_negative_agreement);
  for (std::size_t b = 0; b < B; ++b) CHECK(std::fabs(double(s.loss[b]) - double(a.loss[b])) <= tol * 4);
  for (std::size_t v = 0; v < a.rows.size(); ++v) {
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < a.rows[v].size(); ++i) {
      const double diff = std::fabs(double(s.rows[v][i]) - double(a.rows[v][i]));
      if (diff > worst) {
        worst = diff;
        at = i;
      }
    }
    INFO("row buffer " << v << ", worst element " << at);
    REQUIRE(worst <= tol);
  }
}

inline void check_default_backend_is_simd() {
  if (std::is_same_v<xsimd::default_arch, xsimd::unavailable>)
    CHECK(std::is_same_v<brmrs::default_backend, brmrs::scalar_backend>);
  else
    CHECK(std::is_same_v<brmrs::default_backend, simd_b>);
}

inline void check_agrees_over_odd_dimensions() {
  std::uint64_t seed = 300;
  for (std::size_t d : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 128})
    for (std::size_t M : {2, 3}) {
      compare<float>(++seed, M, d, false);
      compare<double>(++seed, M, d, false);
      compare<float>(++seed, M, d, true);
    }
}

#if BRMRS_HAS_OPENMP
// 1, 2 and 3 OpenMP threads: the SIMD objective must be bitwise identical.
inline void check_bitwise_identical_for_thread_counts() {
  const problem<float> p(42, 2, 33, 64, 24, false);
  brmrs::objective_config<float> cfg;
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = run<float, simd_b>(p, false, cfg);
  omp_set_num_threads(2);
  const auto two = run<float, simd_b>(p, false, cfg);
  omp_set_num_threads(3);
  const auto three = run<float, simd_b>(p, false, cfg);
  omp_set_num_threads(before);
  CHECK(one.r.loss == two.r.loss);
  CHECK(one.r.loss == three.r.loss);
  CHECK(one.hard == two.hard);
  CHECK(one.loss == three.loss);
  CHECK(one.rows == two.rows);
  CHECK(one.rows == three.rows);
}
#endif

}  // namespace simd_objective_checks

#endif  // BRMRS_TESTS_EQUIVALENCE_SIMD_OBJECTIVE_CHECKS_HPP
