// backend/simd/example_loss_lanes.hpp: the per-example losses one example per SIMD lane, against
// the scalar detail::example_losses (the arithmetic of every other backend, itself tested against
// the score-level losses and by hand in tests/unit/test_example_loss.cpp). The lanes use xsimd's
// exp / log / log1p, the scalar code libm's, so values agree to a few ulps (relative), and the
// degraded flags exactly (they compare the same differences). Inputs include exact ties between
// margins (the first maximiser takes the through_max gradient), softplus tails (|x| up to 200)
// and blocks that end mid-batch; a lane's result must not depend on where its block starts.
// requires: xsimd
#include <catch2/catch.hpp>

#include <brmrs/config.hpp>

#if !BRMRS_HAS_XSIMD
#error "needs xsimd: tests/CMakeLists.txt builds this test only when xsimd is found"
#endif

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <vector>

#include <brmrs/backend/simd/example_loss_lanes.hpp>
#include <brmrs/backend/simd/kernels.hpp>
#include <brmrs/detail/example_loss.hpp>

namespace {

using brmrs::synergy_gradient;
using brmrs::detail::example_loss_arrays;
using brmrs::detail::example_loss_params;

template <class T>
struct loss_batch {
  std::size_t B;
  int M;
  std::vector<T> pos, neg, cross, pos_f, neg_f;
  std::vector<T> g_pos, g_neg, g_cross, g_pos_f, g_neg_f, bpr, chns, syn;
  std::vector<unsigned char> degraded;

  loss_batch(std::size_t b, int m, std::uint64_t seed) : B(b), M(m) {
    const std::size_t Mz = static_cast<std::size_t>(M);
    pos.resize(Mz * B);
    neg.resize(Mz * B);
    cross.resize(Mz * Mz * B);
    pos_f.resize(B);
    neg_f.resize(B);
    std::mt19937_64 g(seed);
    std::normal_distribution<double> N(0, 3);
    std::uniform_int_distribution<int> kind(0, 9);
    for (std::size_t e = 0; e < B; ++e) {
      const int k = kind(g);
      // Mostly ordinary scores; some examples far in the softplus tails.
      const double big = k == 0 ? 60 : k == 1 ? 200 : 1;
      for (std::size_t q = 0; q < Mz; ++q) {
        pos[q * B + e] = static_cast<T>(N(g) * big);
        neg[q * B + e] = static_cast<T>(N(g) * big);
      }
      for (std::size_t q = 0; q < Mz * Mz; ++q) cross[q * B + e] = static_cast<T>(N(g) * big);
      pos_f[e] = static_cast<T>(N(g) * big);
      neg_f[e] = static_cast<T>(N(g) * big);
      if (k == 2) {
        // Exact tie of the margins of modalities 0 and M-1 (the first one is the maximiser).
        pos[(Mz - 1) * B + e] = pos[e];
        neg[(Mz - 1) * B + e] = neg[e];
      }
      if (k == 3) {
        // The fused margin equal to a unimodal one: not degraded (strict <).
        pos_f[e] = pos[e];
        neg_f[e] = neg[e];
      }
    }
    reset();
  }
  void reset() {
    const std::size_t Mz = static_cast<std::size_t>(M);
    const T junk = std::numeric_limits<T>::quiet_NaN();
    g_pos.assign(Mz * B, junk);
    g_neg.assign(Mz * B, junk);
    g_cross.assign(Mz * Mz * B, junk);
    g_pos_f.assign(B, junk);
    g_neg_f.assign(B, junk);
    bpr.assign(B, junk);
    chns.assign(B, junk);
    syn.assign(B, junk);
    degraded.assign(B, 7);
  }
  example_loss_arrays<T> arrays() {
    example_loss_arrays<T> a;
    a.B = B;
    a.M = M;
    a.pos = pos.data();
    a.neg = neg.data();
    a.cross = cross.data();
    a.pos_f = pos_f.data();
    a.neg_f = neg_f.data();
    a.g_pos = g_pos.data();
    a.g_neg = g_neg.data();
    a.g_cross = g_cross.data();
    a.g_pos_f = g_pos_f.data();
    a.g_neg_f = g_neg_f.data();
    a.bpr = bpr.data();
    a.chns = chns.data();
    a.synergy = syn.data();
    a.degraded = degraded.data();
    return a;
  }
  std::vector<std::vector<T>> outputs() const { return {g_pos, g_neg, g_cross, g_pos_f, g_neg_f, bpr, chns, syn}; }
};

const char* const output_names[] = {"g_pos", "g_neg", "g_cross", "g_pos_f", "g_neg_f", "bpr", "chns", "synergy"};

// A few ulps relative, plus the smallest normal number absolute: far in the exp tails libm
// returns subnormals where xsimd's exp returns 0 (softplus(-723) = 1.3e-314 in double).
template <class T>
bool close(T a, T b) {
  const double eps = std::numeric_limits<T>::epsilon();
  return std::fabs(double(a) - double(b)) <= 16 * eps * std::fabs(double(b)) + double(std::numeric_limits<T>::min());
}

template <class T>
void check_against_scalar(int M, double tau, synergy_gradient mode, std::uint64_t seed) {
  using lanes = brmrs::backend::simd::example_loss_lanes<T, xsimd::default_arch>;
  const std::size_t B = 53;  // not a multiple of any batch width: a partial last block
  INFO("T " << (sizeof(T) == 4 ? "float" : "double") << " M " << M << " tau " << tau << " mode "
            << static_cast<int>(mode) << " seed " << seed);
  loss_batch<T> ref(B, M, seed), simd(B, M, seed);
  const example_loss_params<T> p{T(1), T(0.6), T(0.3), T(0.7), static_cast<T>(tau), T(1) / T(B), mode};
  std::vector<T> work(static_cast<std::size_t>(4 * M + 2 * M * M));
  brmrs::detail::example_losses(ref.arrays(), 0, B, p, work.data());
  lanes::run(simd.arrays(), 0, B, p);

  const auto r = ref.outputs(), s = simd.outputs();
  for (std::size_t o = 0; o < r.size(); ++o)
    for (std::size_t i = 0; i < r[o].size(); ++i) {
      // g_cross's diagonal is written (as 0) by both.
      INFO(output_names[o] << "[" << i << "]: simd " << s[o][i] << " scalar " << r[o][i]);
      REQUIRE(close(s[o][i], r[o][i]));
    }
  for (std::size_t e = 0; e < B; ++e) {
    INFO("degraded[" << e << "]");
    REQUIRE(int(simd.degraded[e]) == int(ref.degraded[e]));
  }

  // Blocks starting anywhere (1 example, then 4, then the rest) give the same bits per example.
  loss_batch<T> split(B, M, seed);
  lanes::run(split.arrays(), 0, 1, p);
  lanes::run(split.arrays(), 1, 4, p);
  lanes::run(split.arrays(), 5, B - 5, p);
  const auto t = split.outputs();
  for (std::size_t o = 0; o < s.size(); ++o)
    for (std::size_t i = 0; i < s[o].size(); ++i) {
      INFO(output_names[o] << "[" << i << "] depends on the block it is evaluated in");
      REQUIRE(((t[o][i] == s[o][i]) || (t[o][i] != t[o][i] && s[o][i] != s[o][i])));
    }
  REQUIRE(split.degraded == simd.degraded);
}

}  // namespace

TEST_CASE("example_loss_lanes agrees with the scalar example_losses", "[simd][loss]") {
  std::uint64_t seed = 11;
  for (int M : {2, 3, 4})
    for (double tau : {0.0, 0.5})
      for (synergy_gradient mode : {synergy_gradient::stop_unimodal, synergy_gradient::through_max}) {
        check_against_scalar<float>(M, tau, mode, ++seed);
        check_against_scalar<double>(M, tau, mode, ++seed);
      }
}

TEST_CASE("simd kernels' example_losses hands M beyond the lanes' limit to the scalar code", "[simd][loss]") {
  using policy = brmrs::backend::simd::kernels<>;
  const int M = brmrs::backend::simd::example_loss_lanes<float, xsimd::default_arch>::max_modalities + 1;
  const std::size_t B = 19;
  loss_batch<float> ref(B, M, 5), simd(B, M, 5);
  const example_loss_params<float> p{1.f, 0.5f, 0.25f, 1.f, 0.f, 1.f, synergy_gradient::through_max};
  std::vector<float> work(static_cast<std::size_t>(4 * M + 2 * M * M));
  brmrs::detail::example_losses(ref.arrays(), 0, B, p, work.data());
  policy::example_losses(simd.arrays(), 0, B, p, work.data());
  REQUIRE(simd.outputs() == ref.outputs());  // the same function: bitwise
  REQUIRE(simd.degraded == ref.degraded);
}
