// Tests for brmrs/losses/chns.hpp: hand-worked values for M = 2 and 3, first-maximum ties, NaN
// candidates, finite differences, extremes, float against double, and rejected input.
#include <brmrs/losses/chns.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using brmrs::reduction;
template <class T>
using cv = brmrs::vector_view<const T>;
template <class T>
using cm = brmrs::matrix_view<const T>;

namespace {
double sp(double x) { return std::log1p(std::exp(x)); }
double sg(double x) { return 1 / (1 + std::exp(-x)); }
}  // namespace

TEST_CASE("chns for M = 2 by hand", "[losses][chns]") {
  // One example, K = 3. Modality 0 pool scores (1, 4, 2) -> k*_0 = 1; modality 1 (0, -1, 3) -> k*_1 = 2.
  // positives: s_0(i+) = 2, s_1(i+) = 1.
  // ℓ = softplus(s_0(j^1) - s_0(i+)) + softplus(s_1(j^0) - s_1(i+))
  //   = softplus(pool0[2] - 2) + softplus(pool1[1] - 1) = softplus(0) + softplus(-2)
  //   = log 2 + log(1 + e^-2) = 0.693147 + 0.126928 = 0.820075
  // grads: modality 0, x = 2 - 2 = 0, w = σ(0) = 0.5: d/dpos0 = -0.5, d/dpool0[2] = +0.5
  //        modality 1, x = 1 - (-1) = 2, w = σ(-2) = 0.119203: d/dpos1 = -w, d/dpool1[1] = +w
  std::vector<double> p0{2}, p1{1}, q0{1, 4, 2}, q1{0, -1, 3};
  std::vector<double> gp0(1), gp1(1), gq0(3, 7.0), gq1(3, 7.0);
  std::vector<std::int64_t> sel(2);
  brmrs::chns_outputs<double> out;
  out.selected = {sel.data(), 1, 2};
  out.grad_positive = {{gp0.data(), 1}, {gp1.data(), 1}};
  out.grad_pool = {{gq0.data(), 1, 3}, {gq1.data(), 1, 3}};
  const double l = brmrs::chns<double>({cv<double>(p0.data(), 1), cv<double>(p1.data(), 1)},
                                       {cm<double>(q0.data(), 1, 3), cm<double>(q1.data(), 1, 3)}, reduction::mean, out);
  CHECK(l == Approx(std::log(2.0) + sp(-2)).epsilon(1e-15));
  CHECK(l == Approx(0.820075).epsilon(1e-6));
  CHECK(sel[0] == 1);
  CHECK(sel[1] == 2);
  CHECK(gp0[0] == Approx(-0.5).epsilon(1e-15));
  CHECK(gp1[0] == Approx(-sg(-2)).epsilon(1e-15));
  CHECK(gq0 == std::vector<double>{0, 0, 0.5});
  CHECK(gq1[0] == 0.0);
  CHECK(gq1[1] == Approx(sg(-2)).epsilon(1e-15));
  CHECK(gq1[2] == 0.0);  // j^1's own-modality score is never read
}

TEST_CASE("chns for M = 3 averages over the other modalities", "[losses][chns]") {
  // K = 2, one example. pool scores: m0 (5, 1) -> k* 0; m1 (0, 2) -> k* 1; m2 (3, 3) -> tie -> k* 0.
  // positives (1, 1, 1). Terms with 1/(M-1) = 1/2:
  //   a=0: c=1 -> pool0[1] = 1, c=2 -> pool0[0] = 5: softplus(0) + softplus(4)
  //   a=1: c=0 -> pool1[0] = 0, c=2 -> pool1[0] = 0: 2·softplus(-1)
  //   a=2: c=0 -> pool2[0] = 3, c=1 -> pool2[1] = 3: 2·softplus(2)
  //   ℓ = (log 2 + log(1+e^4) + 2 log(1+e^-1) + 2 log(1+e^2)) / 2
  // grad pool1[0] gets both c = 0 and c = 2: 2 · σ(0 - 1)/2 = σ(-1).
  std::vector<double> p{1}, q0{5, 1}, q1{0, 2}, q2{3, 3}, gq1(2);
  brmrs::chns_outputs<double> out;
  std::vector<double> gq0(2), gq2(2);
  out.grad_pool = {{gq0.data(), 1, 2}, {gq1.data(), 1, 2}, {gq2.data(), 1, 2}};
  const double l = brmrs::chns<double>({cv<double>(p.data(), 1), cv<double>(p.data(), 1), cv<double>(p.data(), 1)},
                                       {cm<double>(q0.data(), 1, 2), cm<double>(q1.data(), 1, 2), cm<double>(q2.data(), 1, 2)},
                                       reduction::sum, out);
  CHECK(l == Approx((sp(0) + sp(4) + 2 * sp(-1) + 2 * sp(2)) / 2).epsilon(1e-15));
  CHECK(gq1[0] == Approx(sg(-1)).epsilon(1e-15));
  CHECK(gq1[1] == 0.0);
  CHECK(gq2[0] == Approx(sg(2) / 2).epsilon(1e-15));
  CHECK(gq2[1] == Approx(sg(2) / 2).epsilon(1e-15));
}

TEST_CASE("chns selection: ties go to the lowest position, NaN never wins", "[losses][chns][selection]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Rows (B = 4, K = 4), modality 0 (modality 1 is the same matrix).
  std::vector<double> q{2, 2, 2, 2,       // all tie -> 0
                        nan, 1, 3, 3,     // NaN first, tie at 2 and 3 -> 2
                        nan, nan, -5, nan,  // only one number -> 2
                        -1, nan, 7, 7};   // -> 2
  std::vector<double> p(4, 0.0);
  std::vector<std::int64_t> sel(8, -1);
  brmrs::chns_outputs<double> out;
  out.selected = {sel.data(), 4, 2};
  // Modality 1 reads modality 0's picks at the same positions, which are all finite.
  brmrs::chns<double>({cv<double>(p.data(), 4), cv<double>(p.data(), 4)}, {cm<double>(q.data(), 4, 4), cm<double>(q.data(), 4, 4)},
                      reduction::mean, out);
  CHECK(sel == std::vector<std::int64_t>{0, 0, 2, 2, 2, 2, 2, 2});
  CHECK(brmrs::detail::first_argmax(&q[4], 4) == 2);
  std::vector<double> all_nan{nan, nan};
  CHECK(brmrs::detail::first_argmax(all_nan.data(), 2) == 2);
}

TEST_CASE("chns gradients match central finite differences", "[losses][chns][gradient]") {
  for (std::size_t M : {2, 3, 4})
    for (auto red : {reduction::mean, reduction::sum}) {
      const std::uint64_t seed = 10 * M + (red == reduction::sum);
      INFO("seed " << seed << " M " << M);
      std::mt19937_64 rng(seed);
      std::normal_distribution<double> n(0, 2);
      const std::size_t B = 5, K = 6;
      std::vector<std::vector<double>> pos(M, std::vector<double>(B)), pool(M, std::vector<double>(B * K));
      for (auto& v : pos)
        for (auto& x : v) x = n(rng);
      for (auto& v : pool)
        for (auto& x : v) x = n(rng);
      // Selection is a sampling step; with random normal scores the top two differ by far more
      // than h = 1e-6 (checked), so the selection is the same at x ± h.
      for (auto& v : pool)
        for (std::size_t b = 0; b < B; ++b) {
          std::vector<double> r(v.begin() + static_cast<long>(b * K), v.begin() + static_cast<long>((b + 1) * K));
          std::sort(r.rbegin(), r.rend());
          REQUIRE(r[0] - r[1] > 1e-4);
        }
      auto views = [&] {
        std::vector<cv<double>> P;
        std::vector<cm<double>> Q;
        for (std::size_t m = 0; m < M; ++m) {
          P.emplace_back(pos[m].data(), B);
          Q.emplace_back(pool[m].data(), B, K);
        }
        return std::make_pair(P, Q);
      };
      std::vector<std::vector<double>> gp(M, std::vector<double>(B)), gq(M, std::vector<double>(B * K));
      brmrs::chns_outputs<double> out;
      for (std::size_t m = 0; m < M; ++m) {
        out.grad_positive.emplace_back(gp[m].data(), B);
        out.grad_pool.emplace_back(gq[m].data(), B, K);
      }
      auto [P, Q] = views();
      brmrs::chns<double>(P, Q, red, out);
      const double h = 1e-6;
      auto fd = [&](double& x) {
        const double x0 = x;
        x = x0 + h;
        const double lp = brmrs::chns<double>(P, Q, red);
        x = x0 - h;
        const double lm = brmrs::chns<double>(P, Q, red);
        x = x0;
        return (lp - lm) / (2 * h);
      };
      auto ok = [](double a, double f) { return std::fabs(a - f) <= 1e-6 * std::max({1.0, std::fabs(a), std::fabs(f)}); };
      for (std::size_t m = 0; m < M; ++m) {
        for (std::size_t b = 0; b < B; ++b) CHECK(ok(gp[m][b], fd(pos[m][b])));
        for (std::size_t i = 0; i < B * K; ++i) CHECK(ok(gq[m][i], fd(pool[m][i])));
      }
    }
}

TEMPLATE_TEST_CASE("chns is finite for extreme scores", "[losses][chns][extreme]", float, double) {
  using T = TestType;
  const T v[] = {T(1e4), T(-1e4), T(88), T(-88), T(0)};
  for (T a : v)
    for (T c : v) {
      std::vector<T> p0{a}, p1{-a}, q0{c, -c}, q1{-c, c}, g0(1), g1(1), gq0(2), gq1(2);
      brmrs::chns_outputs<T> out;
      out.grad_positive = {{g0.data(), 1}, {g1.data(), 1}};
      out.grad_pool = {{gq0.data(), 1, 2}, {gq1.data(), 1, 2}};
      const T l = brmrs::chns<T>({cv<T>(p0.data(), 1), cv<T>(p1.data(), 1)}, {cm<T>(q0.data(), 1, 2), cm<T>(q1.data(), 1, 2)},
                                 reduction::mean, out);
      CHECK(std::isfinite(l));
      CHECK((std::isfinite(g0[0]) && std::isfinite(g1[0]) && std::isfinite(gq0[0]) && std::isfinite(gq0[1]) &&
             std::isfinite(gq1[0]) && std::isfinite(gq1[1])));
    }
}

TEST_CASE("chns in float agrees with double", "[losses][chns][precision]") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n(0, 2);
  const std::size_t B = 16, K = 8, M = 3;
  std::vector<std::vector<float>> pf(M, std::vector<float>(B)), qf(M, std::vector<float>(B * K));
  for (auto& v : pf)
    for (auto& x : v) x = static_cast<float>(n(rng));
  for (auto& v : qf)
    for (auto& x : v) x = static_cast<float>(n(rng));
  std::vector<cv<float>> Pf;
  std::vector<cm<float>> Qf;
  std::vector<std::vector<double>> pd, qd;
  for (std::size_t m = 0; m < M; ++m) {
    pd.emplace_back(pf[m].begin(), pf[m].end());
    qd.emplace_back(qf[m].begin(), qf[m].end());
  }
  std::vector<cv<double>> Pd;
  std::vector<cm<double>> Qd;
  for (std::size_t m = 0; m < M; ++m) {
    Pf.emplace_back(pf[m].data(), B);
    Qf.emplace_back(qf[m].data(), B, K);
    Pd.emplace_back(pd[m].data(), B);
    Qd.emplace_back(qd[m].data(), B, K);
  }
  const double ld = brmrs::chns<double>(Pd, Qd);
  const float lf = brmrs::chns<float>(Pf, Qf);
  CHECK(std::fabs(ld - lf) <= 1e-5 * ld);
}

TEST_CASE("chns rejects bad input and leaves outputs untouched", "[losses][chns][errors]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> p0{1, 2}, p1{0, 1}, q0{1, 2, 3, 4, 5, 6}, q1{6, 5, 4, 3, 2, 1};
  std::vector<double> gp0(2, -9), gp1(2, -9), gq0(6, -9), gq1(6, -9);
  std::vector<std::int64_t> sel(4, -9);
  brmrs::chns_outputs<double> out;
  out.selected = {sel.data(), 2, 2};
  out.grad_positive = {{gp0.data(), 2}, {gp1.data(), 2}};
  out.grad_pool = {{gq0.data(), 2, 3}, {gq1.data(), 2, 3}};
  std::vector<cv<double>> P{{p0.data(), 2}, {p1.data(), 2}};
  std::vector<cm<double>> Q{{q0.data(), 2, 3}, {q1.data(), 2, 3}};
  auto untouched = [&] {
    return gp0 == std::vector<double>(2, -9) && gp1 == std::vector<double>(2, -9) && gq0 == std::vector<double>(6, -9) &&
           gq1 == std::vector<double>(6, -9) && sel == std::vector<std::int64_t>(4, -9);
  };
  auto throws = [&](std::vector<cv<double>> p, std::vector<cm<double>> q, brmrs::chns_outputs<double> o, const char* text) {
    std::string msg;
    try {
      brmrs::chns<double>(p, q, reduction::mean, o);
    } catch (const brmrs::invalid_argument& e) {
      msg = e.what();
    }
    INFO("message: " << msg);
    CHECK(msg.find(text) != std::string::npos);
    CHECK(untouched());
  };
  throws({P[0]}, {Q[0]}, out, "expected at least 2");
  throws(P, {Q[0]}, out, "pool has 1 views");
  throws({cv<double>(p0.data(), 0), cv<double>(p1.data(), 0)}, Q, out, "B = 0");
  throws(P, {cm<double>(q0.data(), 2, 0), cm<double>(q1.data(), 2, 0)}, out, "K = 0");
  throws(P, {Q[0], cm<double>(q1.data(), 2, 2)}, out, "pool[1] is 2 x 2, expected 2 x 3");
  throws({P[0], cv<double>(p1.data(), 1)}, Q, out, "positive[1] has size 1");
  auto bad = out;
  bad.selected = {sel.data(), 2, 1};
  throws(P, Q, bad, "out.selected");
  bad = out;
  bad.grad_pool.pop_back();
  throws(P, Q, bad, "out.grad_pool has 1 views");
  bad = out;
  bad.grad_pool[1] = {gq0.data(), 2, 3};
  throws(P, Q, bad, "out.grad_pool[1] overlaps out.grad_pool[0]");
  bad = out;
  bad.grad_positive[0] = {p0.data(), 2};
  throws(P, Q, bad, "out.grad_positive[0] overlaps positive[0]");
  p1[1] = nan;
  throws(P, Q, out, "positive[1][1] = nan");
  p1[1] = 1;
  // Every candidate of example 1 in modality 0 is NaN: nothing can be selected.
  q0[3] = q0[4] = q0[5] = nan;
  throws(P, Q, out, "every pool score");
  // Modality 0 picks position 2 of example 0; modality 1's score there is NaN and is read.
  q0 = {1, 2, 3, 4, 5, 6};
  q1[2] = nan;
  throws(P, Q, out, "pool[1](0, 2) = nan");
}
