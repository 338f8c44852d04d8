// Tests for brmrs/detail/example_loss.hpp, the per-example loss written once for every backend
// (scalar, SIMD, CUDA) and the score-level losses: its score gradients against central finite
// differences of its own terms, a hand-worked case, and the score-level losses (which share its
// margin and synergy terms, so that comparison checks the assembly: the λ weights, the cross
// layout, the hard-negative pool, the reductions).
#include <brmrs/detail/example_loss.hpp>
#include <brmrs/losses/bpr.hpp>
#include <brmrs/losses/chns.hpp>
#include <brmrs/losses/synergy.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

using brmrs::synergy_gradient;
using brmrs::detail::example_loss_and_grad;
using brmrs::detail::example_loss_params;
template <class T>
using cv = brmrs::vector_view<const T>;
template <class T>
using vv = brmrs::vector_view<T>;

TEST_CASE("example_loss_and_grad by hand (M = 2)", "[example_loss]") {
  // pos = (2, 2), neg = (0.5, 0), pos_f = 3, neg_f = 1, cross s_0(j^1) = 1, s_1(j^0) = -2
  // (the worked example of docs/math.md). λ = (1, 1, 1), θ = 0.1, scale 1:
  //   bpr = softplus(-2), chns = softplus(-1) + softplus(-4), synergy = softplus(0.1)
  //   g_pos = (-σ(-1), -σ(-4)), g_cross(0,1) = σ(-1), g_cross(1,0) = σ(-4), g_pos_f = -σ(-2) - σ(0.1)
  const double pos[2] = {2, 2}, neg[2] = {0.5, 0}, cross[4] = {99, 1, -2, 99};
  double gp[2], gn[2], gc[4], gpf, gnf;
  const example_loss_params<double> prm{1, 1, 1, 0.1, 0, 1, synergy_gradient::stop_unimodal};
  const auto t = example_loss_and_grad(2, pos, neg, 3.0, 1.0, cross, prm, gp, gn, gpf, gnf, gc);
  auto sp = [](double x) { return std::log1p(std::exp(x)); };
  auto sg = [](double x) { return 1 / (1 + std::exp(-x)); };
  CHECK(t.bpr == Approx(sp(-2)).epsilon(1e-15));
  CHECK(t.chns == Approx(sp(-1) + sp(-4)).epsilon(1e-15));
  CHECK(t.synergy == Approx(sp(0.1)).epsilon(1e-15));
  CHECK_FALSE(t.degraded);
  CHECK(gp[0] == Approx(-sg(-1)).epsilon(1e-15));
  CHECK(gp[1] == Approx(-sg(-4)).epsilon(1e-15));
  CHECK(gn[0] == 0.0);
  CHECK(gn[1] == 0.0);
  CHECK(gc[0] == 0.0);  // the diagonal is never read and gets 0
  CHECK(gc[1] == Approx(sg(-1)).epsilon(1e-15));
  CHECK(gc[2] == Approx(sg(-4)).epsilon(1e-15));
  CHECK(gc[3] == 0.0);
  CHECK(gpf == Approx(-sg(-2) - sg(0.1)).epsilon(1e-15));
  CHECK(gnf == -gpf);
}

TEST_CASE("example_loss_and_grad gradients equal central finite differences", "[example_loss]") {
  // L = scale·(λ_bpr·bpr + λ_h·chns + λ_s·synergy) as a function of every score it reads, with the
  // synergy gradient through the (hard or smooth) max so that the analytic gradient is the whole
  // derivative; stop_unimodal is the same with λ_s's unimodal part removed (checked by setting
  // λ_s = 0 for those inputs below). Random normal scores: no ties at the hard max.
  for (int M : {2, 3, 4})
    for (int variant = 0; variant < 4; ++variant) {
      const std::size_t Mz = static_cast<std::size_t>(M);
      std::mt19937_64 rng(77 + 10 * static_cast<std::uint64_t>(M) + static_cast<std::uint64_t>(variant));
      std::normal_distribution<double> n(0, 1.5);
      // x = pos (M), neg (M), cross (M·M), pos_f, neg_f
      std::vector<double> x(2 * Mz + Mz * Mz + 2);
      for (auto& v : x) v = n(rng);
      const double tau = variant & 1 ? 0.6 : 0.0;
      const auto mode = variant & 2 ? synergy_gradient::stop_unimodal : synergy_gradient::through_max;
      const example_loss_params<double> prm{0.6, 1.7, 0.9, 0.3, tau, 0.5, mode};
      auto eval = [&](const std::vector<double>& v, double lambda_s, std::vector<double>* grad) {
        std::vector<double> gp(Mz), gn(Mz), gc(Mz * Mz);
        double gpf = 0, gnf = 0;
        example_loss_params<double> q = prm;
        q.lambda_synergy = lambda_s;
        const auto t = example_loss_and_grad(M, v.data(), v.data() + Mz, v[2 * Mz + Mz * Mz], v[2 * Mz + Mz * Mz + 1],
                                             v.data() + 2 * Mz, q, gp.data(), gn.data(), gpf, gnf, gc.data());
        if (grad) {
          grad->assign(gp.begin(), gp.end());
          grad->insert(grad->end(), gn.begin(), gn.end());
          grad->insert(grad->end(), gc.begin(), gc.end());
          grad->push_back(gpf);
          grad->push_back(gnf);
        }
        return q.scale * (q.lambda_bpr * t.bpr + q.lambda_hard * t.chns + lambda_s * t.synergy);
      };
      std::vector<double> g;
      eval(x, prm.lambda_synergy, &g);
      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("M " << M << " variant " << variant << " input " << i);
        // In stop_unimodal mode the unimodal scores get no synergy gradient: compare them with
        // the derivative of the loss without its synergy term.
        const bool unimodal = i < 2 * Mz;
        const double ls = mode == synergy_gradient::stop_unimodal && unimodal ? 0.0 : prm.lambda_synergy;
        const double h = 1e-5;
        std::vector<double> up = x, down = x;
        up[i] += h;
        down[i] -= h;
        const double fd = (eval(up, ls, nullptr) - eval(down, ls, nullptr)) / (2 * h);
        CHECK(g[i] == Approx(fd).epsilon(1e-6).margin(1e-9));
      }
    }
}

TEST_CASE("example_loss_and_grad equals the score-level losses and their gradients", "[example_loss]") {
  // One example at a time through the score-level functions (sum reduction, B = 1): bpr on the
  // fused scores, chns with a pool of the M hard negatives, synergy; weighted by λ and scaled.
  for (std::size_t M : {2, 3, 4})
    for (int variant = 0; variant < 8; ++variant) {
      const std::uint64_t seed = 1000 * M + static_cast<std::uint64_t>(variant);
      INFO("seed " << seed);
      std::mt19937_64 rng(seed);
      std::normal_distribution<double> n(0, 2);
      std::vector<double> pos(M), neg(M), cross(M * M);
      for (auto& x : pos) x = n(rng);
      for (auto& x : neg) x = n(rng);
      for (auto& x : cross) x = n(rng);
      const double pos_f = n(rng), neg_f = n(rng);
      const auto mode = variant & 1 ? synergy_gradient::through_max : synergy_gradient::stop_unimodal;
      const double tau = variant & 2 ? 0.7 : 0.0, scale = variant & 4 ? 0.25 : 1.0;
      const example_loss_params<double> prm{0.6, 1.7, 0.9, 0.2, tau, scale, mode};
      std::vector<double> gp(M), gn(M), gc(M * M);
      double gpf, gnf;
      const auto t = example_loss_and_grad(static_cast<int>(M), pos.data(), neg.data(), pos_f, neg_f, cross.data(),
                                           prm, gp.data(), gn.data(), gpf, gnf, gc.data());
      // bpr
      double bgp, bgn;
      const double bpr = brmrs::bpr<double>(cv<double>(&pos_f, 1), cv<double>(&neg_f, 1), brmrs::reduction::sum,
                                            vv<double>(&bgp, 1), vv<double>(&bgn, 1));
      CHECK(t.bpr == Approx(bpr).epsilon(1e-14));
      // chns: pool of K = M candidates, candidate c scored by modality a as cross[a*M + c]; make
      // candidate c the maximum of modality c by giving the diagonal a large score.
      std::vector<std::vector<double>> pool(M, std::vector<double>(M));
      for (std::size_t a = 0; a < M; ++a)
        for (std::size_t c = 0; c < M; ++c) pool[a][c] = a == c ? 100.0 : cross[a * M + c];
      std::vector<cv<double>> P;
      std::vector<brmrs::matrix_view<const double>> Q;
      std::vector<std::vector<double>> cgp(M, std::vector<double>(1)), cgq(M, std::vector<double>(M));
      brmrs::chns_outputs<double> co;
      for (std::size_t a = 0; a < M; ++a) {
        P.emplace_back(&pos[a], 1);
        Q.emplace_back(pool[a].data(), 1, M);
        co.grad_positive.emplace_back(cgp[a].data(), 1);
        co.grad_pool.emplace_back(cgq[a].data(), 1, M);
      }
      const double chns = brmrs::chns<double>(P, Q, brmrs::reduction::sum, co);
      CHECK(t.chns == Approx(chns).epsilon(1e-14));
      // synergy
      brmrs::synergy_options<double> so;
      so.theta = 0.2;
      so.tau = tau;
      so.mode = mode;
      so.reduce = brmrs::reduction::sum;
      double sgf, sgn;
      std::vector<std::vector<double>> sgp(M, std::vector<double>(1)), sgq(M, std::vector<double>(1));
      brmrs::synergy_outputs<double> sout;
      sout.grad_fused_positive = {&sgf, 1};
      sout.grad_fused_negative = {&sgn, 1};
      std::vector<cv<double>> NP, NN;
      for (std::size_t m = 0; m < M; ++m) {
        sout.grad_positive.emplace_back(sgp[m].data(), 1);
        sout.grad_negative.emplace_back(sgq[m].data(), 1);
        NP.emplace_back(&pos[m], 1);
        NN.emplace_back(&neg[m], 1);
      }
      const double syn = brmrs::synergy<double>(cv<double>(&pos_f, 1), cv<double>(&neg_f, 1), NP, NN, so, sout);
      CHECK(t.synergy == Approx(syn).epsilon(1e-14));
      // Gradients: scale·(λ_bpr·bpr' + λ_h·chns' + λ_s·synergy').
      auto near = [](double a, double b) { return std::fabs(a - b) <= 1e-14 * std::max(1.0, std::fabs(b)); };
      CHECK(near(gpf, scale * (0.6 * bgp + 0.9 * sgf)));
      CHECK(near(gnf, scale * (0.6 * bgn + 0.9 * sgn)));
      for (std::size_t m = 0; m < M; ++m) {
        CHECK(near(gp[m], scale * (1.7 * cgp[m][0] + 0.9 * sgp[m][0])));
        CHECK(near(gn[m], scale * 0.9 * sgq[m][0]));
        for (std::size_t c = 0; c < M; ++c) CHECK(near(gc[m * M + c], c == m ? 0.0 : scale * 1.7 * cgq[m][c]));
      }
    }
}

TEST_CASE("softplus_sigmoid equals softplus and sigmoid bit for bit", "[example_loss][math]") {
  // Both tails, zero, signed zeros, subnormal-producing and overflow-prone arguments; and a
  // sweep. The pair shares one exp, so any difference would be a rounding change.
  auto check = [](auto x) {
    INFO("x " << x);
    const auto pair = brmrs::detail::softplus_sigmoid(x);
    REQUIRE(pair.softplus == brmrs::detail::softplus(x));
    REQUIRE(pair.sigmoid == brmrs::detail::sigmoid(x));
  };
  for (double x : {0.0, -0.0, 1e-300, -1e-300, 1e-8, -1e-8, 0.5, -0.5, 30.0, -30.0, 88.0, -88.0, 700.0, -700.0,
                   1e4, -1e4}) {
    check(x);
    check(static_cast<float>(x));
  }
  for (int i = -2000; i <= 2000; ++i) {
    check(i * 0.0173);
    check(static_cast<float>(i) * 0.0173f);
  }
}

TEST_CASE("example_losses over quantity-major arrays equals example_loss_and_grad per example", "[example_loss]") {
  // The pipeline's block form: inputs and outputs at [q*B + b]. It must be the per-example
  // function, bit for bit, for every example of the block and nothing outside it.
  const std::size_t B = 9;
  for (int M : {2, 3}) {
    const std::size_t Mz = static_cast<std::size_t>(M);
    std::mt19937 g(static_cast<unsigned>(40 + M));
    std::normal_distribution<double> N(0, 2);
    std::vector<double> pos(Mz * B), neg(Mz * B), cross(Mz * Mz * B), pos_f(B), neg_f(B);
    for (auto* v : {&pos, &neg, &cross, &pos_f, &neg_f})
      for (auto& x : *v) x = N(g);
    const double sentinel = -12345;
    std::vector<double> gp(Mz * B, sentinel), gn(Mz * B, sentinel), gc(Mz * Mz * B, sentinel), gpf(B, sentinel),
        gnf(B, sentinel), bpr(B, sentinel), chns(B, sentinel), syn(B, sentinel);
    std::vector<unsigned char> deg(B, 7);
    brmrs::detail::example_loss_arrays<double> a;
    a.B = B;
    a.M = M;
    a.pos = pos.data();
    a.neg = neg.data();
    a.cross = cross.data();
    a.pos_f = pos_f.data();
    a.neg_f = neg_f.data();
    a.g_pos = gp.data();
    a.g_neg = gn.data();
    a.g_cross = gc.data();
    a.g_pos_f = gpf.data();
    a.g_neg_f = gnf.data();
    a.bpr = bpr.data();
    a.chns = chns.data();
    a.synergy = syn.data();
    a.degraded = deg.data();
    const example_loss_params<double> prm{1, 0.5, 0.25, 0.3, 0.2, 0.1, synergy_gradient::through_max};
    std::vector<double> work(4 * Mz + 2 * Mz * Mz);
    const std::size_t first = 2, n = 5;  // examples 2..6
    brmrs::detail::example_losses(a, first, n, prm, work.data());
    for (std::size_t b = 0; b < B; ++b) {
      INFO("M " << M << " example " << b);
      if (b < first || b >= first + n) {
        CHECK(bpr[b] == sentinel);
        CHECK(gpf[b] == sentinel);
        CHECK(int(deg[b]) == 7);
        continue;
      }
      std::vector<double> p(Mz), q(Mz), c(Mz * Mz), ep(Mz), en(Mz), ec(Mz * Mz);
      for (std::size_t m = 0; m < Mz; ++m) {
        p[m] = pos[m * B + b];
        q[m] = neg[m * B + b];
      }
      for (std::size_t k = 0; k < Mz * Mz; ++k) c[k] = cross[k * B + b];
      double epf = 0, enf = 0;
      const auto t = example_loss_and_grad(M, p.data(), q.data(), pos_f[b], neg_f[b], c.data(), prm, ep.data(),
                                           en.data(), epf, enf, ec.data());
      CHECK(bpr[b] == t.bpr);
      CHECK(chns[b] == t.chns);
      CHECK(syn[b] == t.synergy);
      CHECK(int(deg[b]) == (t.degraded ? 1 : 0));
      CHECK(gpf[b] == epf);
      CHECK(gnf[b] == enf);
      for (std::size_t m = 0; m < Mz; ++m) {
        CHECK(gp[m * B + b] == ep[m]);
        CHECK(gn[m * B + b] == en[m]);
      }
      for (std::size_t k = 0; k < Mz * Mz; ++k) CHECK(gc[k * B + b] == ec[k]);
    }
  }
}
