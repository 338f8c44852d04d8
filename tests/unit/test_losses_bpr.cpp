// Tests for brmrs/losses/bpr.hpp: hand-worked values, finite differences, reductions, extreme
// scores, float against double, and rejected input with untouched outputs.
#include <brmrs/losses/bpr.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using brmrs::reduction;
template <class T>
using cv = brmrs::vector_view<const T>;
template <class T>
using vv = brmrs::vector_view<T>;

TEST_CASE("bpr by hand", "[losses][bpr]") {
  // Δ = (3 - 1, 0 - 0, -1 - 1) = (2, 0, -2)
  // ℓ = softplus(-Δ) = (log(1+e^-2), log 2, log(1+e^2)) = (0.126928, 0.693147, 2.126928)
  // sum = 2.947003; mean = 0.982334
  // d/dpos = -σ(-Δ) = -(0.119203, 0.5, 0.880797); d/dneg = +σ(-Δ)
  std::vector<double> pos{3, 0, -1}, neg{1, 0, 1}, gp(3), gn(3);
  const double s = brmrs::bpr<double>(cv<double>(pos.data(), 3), cv<double>(neg.data(), 3), reduction::sum,
                                      vv<double>(gp.data(), 3), vv<double>(gn.data(), 3));
  CHECK(s == Approx(std::log1p(std::exp(-2.0)) + std::log(2.0) + std::log1p(std::exp(2.0))).epsilon(1e-15));
  CHECK(s == Approx(2.947003).epsilon(1e-6));
  CHECK(gp[0] == Approx(-0.119203).epsilon(1e-5));
  CHECK(gp[1] == Approx(-0.5).epsilon(1e-15));
  CHECK(gp[2] == Approx(-0.880797).epsilon(1e-5));
  for (int i = 0; i < 3; ++i) CHECK(gn[i] == -gp[i]);
  const double m = brmrs::bpr<double>(cv<double>(pos.data(), 3), cv<double>(neg.data(), 3), reduction::mean,
                                      vv<double>(gp.data(), 3));
  CHECK(m == Approx(s / 3).epsilon(1e-15));
  CHECK(gp[1] == Approx(-0.5 / 3).epsilon(1e-15));
}

TEST_CASE("bpr gradients match central finite differences", "[losses][bpr][gradient]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n(0, 3);
    const std::size_t B = 9;
    std::vector<double> pos(B), neg(B), gp(B), gn(B);
    for (auto& x : pos) x = n(rng);
    for (auto& x : neg) x = n(rng);
    for (auto red : {reduction::mean, reduction::sum}) {
      auto f = [&] { return brmrs::bpr<double>(cv<double>(pos.data(), B), cv<double>(neg.data(), B), red); };
      brmrs::bpr<double>(cv<double>(pos.data(), B), cv<double>(neg.data(), B), red, vv<double>(gp.data(), B),
                         vv<double>(gn.data(), B));
      const double h = 1e-6;
      for (std::size_t b = 0; b < B; ++b)
        for (auto* v : {&pos, &neg}) {
          const double x = (*v)[b];
          (*v)[b] = x + h;
          const double lp = f();
          (*v)[b] = x - h;
          const double lm = f();
          (*v)[b] = x;
          const double fd = (lp - lm) / (2 * h), a = v == &pos ? gp[b] : gn[b];
          CHECK(std::fabs(fd - a) <= 1e-6 * std::max({1.0, std::fabs(a), std::fabs(fd)}));
        }
    }
  }
}

TEMPLATE_TEST_CASE("bpr is finite for extreme scores", "[losses][bpr][extreme]", float, double) {
  using T = TestType;
  std::vector<T> v{T(1e4), T(-1e4), T(88), T(-88), T(0)};
  for (T a : v)
    for (T c : v) {
      T g[2];
      const T l = brmrs::bpr<T>(cv<T>(&a, 1), cv<T>(&c, 1), reduction::mean, vv<T>(&g[0], 1), vv<T>(&g[1], 1));
      CHECK(std::isfinite(l));
      CHECK(std::isfinite(g[0]));
      CHECK(std::isfinite(g[1]));
      // softplus(-Δ) ~ -Δ for large negative Δ: the tail is exact, not clamped.
      if (a - c <= T(-100)) CHECK(l == Approx(double(c) - double(a)).epsilon(1e-6));
    }
}

TEST_CASE("bpr in float agrees with double", "[losses][bpr][precision]") {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> n(0, 2);
  std::vector<double> pd(64), nd(64), gd(64);
  for (auto& x : pd) x = static_cast<float>(n(rng));
  for (auto& x : nd) x = static_cast<float>(n(rng));
  std::vector<float> pf(pd.begin(), pd.end()), nf(nd.begin(), nd.end()), gf(64);
  const double ld = brmrs::bpr<double>(cv<double>(pd.data(), 64), cv<double>(nd.data(), 64), reduction::mean,
                                       vv<double>(gd.data(), 64));
  const float lf = brmrs::bpr<float>(cv<float>(pf.data(), 64), cv<float>(nf.data(), 64), reduction::mean,
                                     vv<float>(gf.data(), 64));
  CHECK(std::fabs(ld - lf) <= 1e-5 * ld);
  for (int i = 0; i < 64; ++i) CHECK(std::fabs(gd[i] - gf[i]) <= 1e-5 * std::fabs(gd[i]) + 1e-9);
}

TEST_CASE("bpr rejects bad input and leaves outputs untouched", "[losses][bpr][errors]") {
  std::vector<double> pos{1, 2, 3}, neg{0, 0, 0};
  std::vector<double> gp(3, -9.0), gn(3, -9.0);
  auto untouched = [&] { return gp == std::vector<double>(3, -9.0) && gn == std::vector<double>(3, -9.0); };
  auto call = [&](cv<double> p, cv<double> n, vv<double> a, vv<double> b, reduction r = reduction::mean) {
    return brmrs::bpr<double>(p, n, r, a, b);
  };
  cv<double> P(pos.data(), 3), N(neg.data(), 3);
  vv<double> GP(gp.data(), 3), GN(gn.data(), 3);
  CHECK_THROWS_WITH(call(cv<double>(pos.data(), 0), cv<double>(neg.data(), 0), GP, GN), Catch::Contains("B = 0"));
  CHECK_THROWS_WITH(call(P, cv<double>(neg.data(), 2), GP, GN), Catch::Contains("negative has size 2"));
  CHECK_THROWS_WITH(call(P, N, vv<double>(gp.data(), 2), GN), Catch::Contains("grad_positive has size 2"));
  CHECK_THROWS_WITH(call(P, N, GP, GN, static_cast<reduction>(3)), Catch::Contains("reduce = 3"));
  pos[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(call(P, N, GP, GN), Catch::Contains("positive[1] = nan"));
  pos[1] = 2;
  neg[2] = HUGE_VAL;
  CHECK_THROWS_WITH(call(P, N, GP, GN), Catch::Contains("negative[2] = inf"));
  neg[2] = 0;
  CHECK_THROWS_WITH(call(P, N, GP, GP), Catch::Contains("grad_negative overlaps grad_positive"));
  CHECK_THROWS_WITH(call(P, N, vv<double>(pos.data(), 3), GN), Catch::Contains("grad_positive overlaps positive"));
  CHECK_THROWS_AS(call(P, N, GP, GP), brmrs::invalid_argument);
  CHECK(untouched());
  CHECK(pos == std::vector<double>{1, 2, 3});
}
