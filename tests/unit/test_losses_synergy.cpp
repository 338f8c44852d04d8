// Tests for brmrs/losses/synergy.hpp: hand-worked values, both gradient modes, the smooth max,
// finite differences, extremes, float against double, and rejected input.
#include <brmrs/losses/synergy.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using brmrs::reduction;
using brmrs::synergy_gradient;
template <class T>
using cv = brmrs::vector_view<const T>;
template <class T>
using vv = brmrs::vector_view<T>;

namespace {
double sp(double x) { return std::log1p(std::exp(x)); }
double sg(double x) { return 1 / (1 + std::exp(-x)); }
}  // namespace

TEST_CASE("synergy by hand, both gradient modes", "[losses][synergy]") {
  // Two examples, M = 2, θ = 0.5, sum reduction.
  // b = 0: Δ_f = 3 - 1 = 2; Δ_0 = 2 - 1 = 1, Δ_1 = 4 - 1 = 3 -> max 3 (m* = 1)
  //        x = 2 - 3 - 0.5 = -1.5, ℓ = softplus(1.5) = log(1 + e^1.5) = 1.701413; degraded (2 < 3)
  // b = 1: Δ_f = 5 - 0 = 5; Δ_0 = 1 - 0 = 1, Δ_1 = 1 - 0 = 1 -> tie, m* = 0 (first)
  //        x = 5 - 1 - 0.5 = 3.5, ℓ = softplus(-3.5) = 0.029750; not degraded
  // g_b = σ(-x_b): σ(1.5) = 0.817574, σ(-3.5) = 0.029312
  std::vector<double> fp{3, 5}, fn{1, 0}, p0{2, 1}, n0{1, 0}, p1{4, 1}, n1{1, 0};
  for (auto mode : {synergy_gradient::stop_unimodal, synergy_gradient::through_max}) {
    std::vector<double> gfp(2), gfn(2), gp0(2), gp1(2), gn0(2), gn1(2);
    std::vector<std::uint8_t> deg(2, 9);
    brmrs::synergy_outputs<double> out;
    out.grad_fused_positive = {gfp.data(), 2};
    out.grad_fused_negative = {gfn.data(), 2};
    out.grad_positive = {{gp0.data(), 2}, {gp1.data(), 2}};
    out.grad_negative = {{gn0.data(), 2}, {gn1.data(), 2}};
    out.degraded = {deg.data(), 2};
    brmrs::synergy_options<double> opt;
    opt.theta = 0.5;
    opt.reduce = reduction::sum;
    opt.mode = mode;
    const double l = brmrs::synergy<double>(cv<double>(fp.data(), 2), cv<double>(fn.data(), 2),
                                            {cv<double>(p0.data(), 2), cv<double>(p1.data(), 2)},
                                            {cv<double>(n0.data(), 2), cv<double>(n1.data(), 2)}, opt, out);
    CHECK(l == Approx(sp(1.5) + sp(-3.5)).epsilon(1e-15));
    CHECK(l == Approx(1.701413 + 0.029750).epsilon(1e-5));
    CHECK(deg == std::vector<std::uint8_t>{1, 0});
    CHECK(gfp[0] == Approx(-sg(1.5)).epsilon(1e-15));
    CHECK(gfn[1] == Approx(sg(-3.5)).epsilon(1e-15));
    if (mode == synergy_gradient::stop_unimodal) {
      CHECK(gp0 == std::vector<double>{0, 0});
      CHECK(gp1 == std::vector<double>{0, 0});
      CHECK(gn0 == std::vector<double>{-0.0, -0.0});
    } else {
      // b = 0 flows into modality 1, b = 1 into modality 0 (first maximiser of the tie).
      CHECK(gp1[0] == Approx(sg(1.5)).epsilon(1e-15));
      CHECK(gn1[0] == Approx(-sg(1.5)).epsilon(1e-15));
      CHECK(gp0[0] == 0.0);
      CHECK(gp0[1] == Approx(sg(-3.5)).epsilon(1e-15));
      CHECK(gp1[1] == 0.0);
    }
  }
}

TEST_CASE("synergy with a smooth max by hand", "[losses][synergy]") {
  // τ = 0.5, Δ_0 = 1, Δ_1 = 2: best = 0.5·log(e^2 + e^4) = 2 + 0.5·log(1 + e^-2) = 2.063464
  // Δ_f = 1, θ = 0.1: x = 1 - 2.063464 - 0.1, ℓ = softplus(-x); through_max weights
  // softmax(Δ/τ) = (e^2, e^4)/(e^2 + e^4) = (0.119203, 0.880797).
  std::vector<double> fp{1}, fn{0}, p0{1}, p1{2}, n{0}, g0(1), g1(1);
  brmrs::synergy_options<double> opt;
  opt.tau = 0.5;
  opt.mode = synergy_gradient::through_max;
  brmrs::synergy_outputs<double> out;
  out.grad_positive = {{g0.data(), 1}, {g1.data(), 1}};
  const double l = brmrs::synergy<double>(cv<double>(fp.data(), 1), cv<double>(fn.data(), 1),
                                          {cv<double>(p0.data(), 1), cv<double>(p1.data(), 1)},
                                          {cv<double>(n.data(), 1), cv<double>(n.data(), 1)}, opt, out);
  const double best = 0.5 * std::log(std::exp(2.0) + std::exp(4.0));
  CHECK(best == Approx(2.063464).epsilon(1e-6));
  const double x = 1 - best - 0.1;
  CHECK(l == Approx(sp(-x)).epsilon(1e-14));
  CHECK(g0[0] == Approx(sg(-x) * 0.119203).epsilon(1e-5));
  CHECK(g1[0] == Approx(sg(-x) * std::exp(4.0) / (std::exp(2.0) + std::exp(4.0))).epsilon(1e-14));
}

TEST_CASE("synergy gradients match central finite differences", "[losses][synergy][gradient]") {
  // through_max is the derivative of the loss: every input is differenced. stop_unimodal holds
  // the unimodal margins constant by definition: fused gradients are differenced, unimodal
  // gradients must be exactly 0.
  for (std::size_t M : {2, 3, 4})
    for (int variant = 0; variant < 4; ++variant) {
      const std::uint64_t seed = 100 * M + static_cast<std::uint64_t>(variant);
      INFO("seed " << seed << " M " << M << " variant " << variant);
      std::mt19937_64 rng(seed);
      std::normal_distribution<double> n(0, 2);
      const std::size_t B = 6;
      std::vector<double> fp(B), fn(B);
      std::vector<std::vector<double>> p(M, std::vector<double>(B)), q(M, std::vector<double>(B));
      for (auto& x : fp) x = n(rng);
      for (auto& x : fn) x = n(rng);
      for (std::size_t m = 0; m < M; ++m)
        for (std::size_t b = 0; b < B; ++b) {
          p[m][b] = n(rng);
          q[m][b] = n(rng);
        }
      brmrs::synergy_options<double> opt;
      opt.theta = 0.3;
      opt.reduce = variant & 1 ? reduction::sum : reduction::mean;
      opt.tau = variant & 2 ? 0.4 : 0.0;
      for (auto mode : {synergy_gradient::stop_unimodal, synergy_gradient::through_max}) {
        opt.mode = mode;
        std::vector<double> gfp(B), gfn(B);
        std::vector<std::vector<double>> gp(M, std::vector<double>(B)), gq(M, std::vector<double>(B));
        brmrs::synergy_outputs<double> out;
        out.grad_fused_positive = {gfp.data(), B};
        out.grad_fused_negative = {gfn.data(), B};
        std::vector<cv<double>> P, Q;
        for (std::size_t m = 0; m < M; ++m) {
          out.grad_positive.emplace_back(gp[m].data(), B);
          out.grad_negative.emplace_back(gq[m].data(), B);
          P.emplace_back(p[m].data(), B);
          Q.emplace_back(q[m].data(), B);
        }
        auto f = [&] { return brmrs::synergy<double>(cv<double>(fp.data(), B), cv<double>(fn.data(), B), P, Q, opt); };
        brmrs::synergy<double>(cv<double>(fp.data(), B), cv<double>(fn.data(), B), P, Q, opt, out);
        const double h = 1e-6;
        auto fd = [&](double& x) {
          const double x0 = x;
          x = x0 + h;
          const double lp = f();
          x = x0 - h;
          const double lm = f();
          x = x0;
          return (lp - lm) / (2 * h);
        };
        auto ok = [](double a, double g) { return std::fabs(a - g) <= 1e-6 * std::max({1.0, std::fabs(a), std::fabs(g)}); };
        for (std::size_t b = 0; b < B; ++b) {
          CHECK(ok(gfp[b], fd(fp[b])));
          CHECK(ok(gfn[b], fd(fn[b])));
          for (std::size_t m = 0; m < M; ++m) {
            if (mode == synergy_gradient::through_max) {
              CHECK(ok(gp[m][b], fd(p[m][b])));
              CHECK(ok(gq[m][b], fd(q[m][b])));
            } else {
              CHECK(gp[m][b] == 0.0);
              CHECK(gq[m][b] == 0.0);
            }
          }
        }
      }
    }
}

TEMPLATE_TEST_CASE("synergy is finite for extreme scores", "[losses][synergy][extreme]", float, double) {
  using T = TestType;
  const T v[] = {T(1e4), T(-1e4), T(88), T(-88), T(0)};
  for (T a : v)
    for (T c : v)
      for (T tau : {T(0), T(0.5)}) {
        std::vector<T> fp{a}, fn{c}, p0{c}, p1{a}, n0{a}, n1{-c}, g(6);
        brmrs::synergy_options<T> opt;
        opt.tau = tau;
        opt.mode = synergy_gradient::through_max;
        brmrs::synergy_outputs<T> out;
        out.grad_fused_positive = {&g[0], 1};
        out.grad_fused_negative = {&g[1], 1};
        out.grad_positive = {{&g[2], 1}, {&g[3], 1}};
        out.grad_negative = {{&g[4], 1}, {&g[5], 1}};
        const T l = brmrs::synergy<T>(cv<T>(fp.data(), 1), cv<T>(fn.data(), 1), {cv<T>(p0.data(), 1), cv<T>(p1.data(), 1)},
                                      {cv<T>(n0.data(), 1), cv<T>(n1.data(), 1)}, opt, out);
        CHECK(std::isfinite(l));
        for (T x : g) CHECK(std::isfinite(x));
      }
}

TEST_CASE("synergy in float agrees with double", "[losses][synergy][precision]") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> n(0, 2);
  const std::size_t B = 32;
  std::vector<float> f[6];
  std::vector<double> d[6];
  for (int i = 0; i < 6; ++i) {
    for (std::size_t b = 0; b < B; ++b) f[i].push_back(static_cast<float>(n(rng)));
    d[i].assign(f[i].begin(), f[i].end());
  }
  for (float tau : {0.0f, 0.5f}) {
    brmrs::synergy_options<float> of;
    of.tau = tau;
    brmrs::synergy_options<double> od;
    od.tau = tau;
    const float lf = brmrs::synergy<float>(cv<float>(f[0].data(), B), cv<float>(f[1].data(), B),
                                           {cv<float>(f[2].data(), B), cv<float>(f[3].data(), B)},
                                           {cv<float>(f[4].data(), B), cv<float>(f[5].data(), B)}, of);
    const double ld = brmrs::synergy<double>(cv<double>(d[0].data(), B), cv<double>(d[1].data(), B),
                                             {cv<double>(d[2].data(), B), cv<double>(d[3].data(), B)},
                                             {cv<double>(d[4].data(), B), cv<double>(d[5].data(), B)}, od);
    CHECK(std::fabs(ld - lf) <= 1e-5 * ld);
  }
}

TEST_CASE("synergy rejects bad input and leaves outputs untouched", "[losses][synergy][errors]") {
  std::vector<double> fp{1, 2}, fn{0, 0}, p{1, 1}, q{0, 0};
  std::vector<double> g(2, -9);
  std::vector<std::uint8_t> deg(2, 9);
  brmrs::synergy_outputs<double> out;
  out.grad_fused_positive = {g.data(), 2};
  out.degraded = {deg.data(), 2};
  cv<double> FP(fp.data(), 2), FN(fn.data(), 2), P(p.data(), 2), Q(q.data(), 2);
  auto throws = [&](cv<double> a, cv<double> b, std::vector<cv<double>> pp, std::vector<cv<double>> qq,
                    brmrs::synergy_options<double> opt, brmrs::synergy_outputs<double> o, const char* text) {
    std::string msg;
    try {
      brmrs::synergy<double>(a, b, pp, qq, opt, o);
    } catch (const brmrs::invalid_argument& e) {
      msg = e.what();
    }
    INFO("message: " << msg);
    CHECK(msg.find(text) != std::string::npos);
    CHECK(g == std::vector<double>(2, -9));
    CHECK(deg == std::vector<std::uint8_t>(2, 9));
  };
  brmrs::synergy_options<double> opt;
  throws(FP, FN, {}, {}, opt, out, "no modality");
  throws(FP, FN, {P}, {}, opt, out, "negative has 0 views");
  throws(cv<double>(fp.data(), 0), cv<double>(fn.data(), 0), {P}, {Q}, opt, out, "B = 0");
  throws(FP, cv<double>(fn.data(), 1), {P}, {Q}, opt, out, "fused_negative has size 1");
  throws(FP, FN, {P, cv<double>(p.data(), 1)}, {Q, Q}, opt, out, "positive[1] has size 1");
  auto o = opt;
  o.theta = 0;
  throws(FP, FN, {P}, {Q}, o, out, "options.theta = 0");
  o = opt;
  o.tau = -1;
  throws(FP, FN, {P}, {Q}, o, out, "options.tau = -1");
  o = opt;
  o.mode = static_cast<synergy_gradient>(5);
  throws(FP, FN, {P}, {Q}, o, out, "options.mode = 5");
  auto bad = out;
  bad.grad_fused_negative = {g.data(), 2};
  throws(FP, FN, {P}, {Q}, opt, bad, "out.grad_fused_negative overlaps out.grad_fused_positive");
  bad = out;
  bad.grad_positive = {vv<double>(g.data(), 2)};
  throws(FP, FN, {P, P}, {Q, Q}, opt, bad, "out.grad_positive has 1 views");
  q[1] = std::numeric_limits<double>::infinity();
  throws(FP, FN, {P}, {Q}, opt, out, "negative[0][1] = inf");
}
