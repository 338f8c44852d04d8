// examples/train/synthetic.hpp — the embedded synthetic data set of the training example,
// generated in-process from a seed, with planted signals (docs/results.md describes it).
//
// Items have two modalities:
//   A ("text"):   `dim_a` features, every one of them signal (item vector a_i ~ N(0, I));
//   B ("visual"): `signal_b` signal features b_i ~ N(0, I) followed by `noise_b` features of pure
//                 noise ~ N(0, noise_scale² I) that no user's taste depends on: the modality carries
//                 misleading noise its branch has to learn to ignore.
// Users come in four types (shares `mix`, default equal), each with a taste cluster (`clusters`
// per type; a user's direction is its cluster centre + `jitter` × a random unit vector, then
// normalised: with the default jitter 2 a taste is mostly the user's own, so other users' picks
// (the item ID embedding) transfer little and the content features must carry the ranking):
//   A-only:   utility(i) = <w_u, a_i>
//   B-only:   utility(i) = <w_u, b_i>
//   synergy:  utility(i) = <w_u, a_i> * <v_u, b_i>       an interaction of both: given a_i alone
//             (or b_i alone) the expected utility is 0, so neither modality predicts it by itself.
//   A+B:      utility(i) = (<w_u, a_i> + <v_u, b_i>) / sqrt(2)   both modalities agree: the users
//             for whom both branches are expected to hit, so where "both hit, fused misses" (U_r)
//             has room to occur (the type reuses the synergy type's cluster centres).
// Types are interleaved deterministically by smooth weighted round robin (each user, every type
// gains its share of credit; the type with the most, the first on ties, is chosen and pays the
// total), so any prefix of users has about the planted shares; equal shares of the first three
// types and none of A+B give exactly u % 3 (the data set of earlier versions, bit for bit).
// Each user picks `per_user` distinct items, item i with weight exp(beta * utility(i)) (Gumbel
// top-k), and the picks are split per user at random: 70% train, 10% validation, 20% test. The
// generator plants tastes only; nothing in it knows about the losses.
// Everything is a pure function of the options (std::mt19937_64 seeded with `seed`).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <brmrs/interactions.hpp>

namespace train_example {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct dataset {
  std::string name;
  std::size_t n_users = 0, n_items = 0;
  brmrs::interactions<std::int32_t> train, validation, test;
  std::vector<std::string> modality_names;
  std::vector<row_matrix> features;  // n_items x f_m each
  std::vector<int> user_type;        // synthetic only: 0 A-only, 1 B-only, 2 synergy, 3 A+B
};

struct synthetic_options {
  std::size_t n_users = 1200, n_items = 1000, per_user = 20;
  std::size_t dim_a = 24, signal_b = 16, noise_b = 16;
  std::size_t clusters = 6;  // taste clusters per user type
  double jitter = 2.0;       // spread of a user's taste around its cluster centre
  double beta = 2.5;         // sharpness of the choice
  double noise_scale = 1.0;
  double mix[4] = {1.0, 1.0, 1.0, 1.0};  // relative shares of A-only, B-only, synergy and A+B users
  std::uint64_t seed = 7;
};

namespace detail {
inline Eigen::VectorXd unit_gaussian(std::mt19937_64& g, std::size_t n) {
  std::normal_distribution<double> nd(0.0, 1.0);
  Eigen::VectorXd v(static_cast<Eigen::Index>(n));
  for (Eigen::Index k = 0; k < v.size(); ++k) v[k] = nd(g);
  return v / v.norm();
}
}  // namespace detail

inline dataset make_synthetic(const synthetic_options& o) {
  std::mt19937_64 g(o.seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  const auto I = static_cast<Eigen::Index>(o.n_items);
  Eigen::MatrixXd a(I, static_cast<Eigen::Index>(o.dim_a)), b(I, static_cast<Eigen::Index>(o.signal_b));
  for (Eigen::Index i = 0; i < I; ++i)
    for (Eigen::Index k = 0; k < a.cols(); ++k) a(i, k) = nd(g);
  for (Eigen::Index i = 0; i < I; ++i)
    for (Eigen::Index k = 0; k < b.cols(); ++k) b(i, k) = nd(g);

  dataset ds;
  ds.name = "synthetic";
  ds.n_users = o.n_users;
  ds.n_items = o.n_items;
  ds.modality_names = {"A", "B"};
  row_matrix fa = a.cast<float>();
  row_matrix fb(I, static_cast<Eigen::Index>(o.signal_b + o.noise_b));
  fb.leftCols(static_cast<Eigen::Index>(o.signal_b)) = b.cast<float>();
  for (Eigen::Index i = 0; i < I; ++i)
    for (Eigen::Index k = static_cast<Eigen::Index>(o.signal_b); k < fb.cols(); ++k)
      fb(i, k) = static_cast<float>(o.noise_scale * nd(g));
  ds.features = {fa, fb};

  // Cluster centres: A-only (in A's space), B-only (B's signal space), synergy (a pair).
  std::vector<Eigen::VectorXd> ca, cb, cs_a, cs_b;
  for (std::size_t c = 0; c < o.clusters; ++c) {
    ca.push_back(detail::unit_gaussian(g, o.dim_a));
    cb.push_back(detail::unit_gaussian(g, o.signal_b));
    cs_a.push_back(detail::unit_gaussian(g, o.dim_a));
    cs_b.push_back(detail::unit_gaussian(g, o.signal_b));
  }
  auto jittered = [&](const Eigen::VectorXd& centre) {
    Eigen::VectorXd v = centre + o.jitter * detail::unit_gaussian(g, std::size_t(centre.size()));
    return Eigen::VectorXd(v / v.norm());
  };

  std::vector<std::int32_t> tu, ti, vu, vi, su, si;
  std::uniform_real_distribution<double> unif(1e-12, 1.0);
  std::vector<double> key(o.n_items);
  std::vector<std::int32_t> order(o.n_items);
  ds.user_type.resize(o.n_users);
  double credit[4] = {0, 0, 0, 0};
  const double mix_total = o.mix[0] + o.mix[1] + o.mix[2] + o.mix[3];
  if (!(o.mix[0] >= 0 && o.mix[1] >= 0 && o.mix[2] >= 0 && o.mix[3] >= 0 && mix_total > 0))
    throw std::invalid_argument("synthetic_options::mix: shares must be >= 0 and not all 0");
  const std::size_t n_train = (o.per_user * 7 + 5) / 10, n_val = (o.per_user + 5) / 10;
  for (std::size_t u = 0; u < o.n_users; ++u) {
    // Deterministic interleaving by shares (smooth weighted round robin, see the top of this file).
    int type = 0;
    for (int k = 0; k < 4; ++k) {
      credit[k] += o.mix[k];
      if (credit[k] > credit[type]) type = k;
    }
    credit[type] -= mix_total;
    ds.user_type[u] = type;
    const std::size_t cl = std::uniform_int_distribution<std::size_t>(0, o.clusters - 1)(g);
    Eigen::VectorXd util;
    if (type == 0) {
      util = a * jittered(ca[cl]);
    } else if (type == 1) {
      util = b * jittered(cb[cl]);
    } else if (type == 2) {
      // Product of two unit-variance projections: unit variance, zero mean given either factor.
      util = (a * jittered(cs_a[cl])).cwiseProduct(b * jittered(cs_b[cl]));
    } else {
      // A+B: both modalities, additively (each predicts half of the utility's variance).
      util = (a * jittered(cs_a[cl]) + b * jittered(cs_b[cl])) / std::sqrt(2.0);
    }
    for (std::size_t i = 0; i < o.n_items; ++i) key[i] = o.beta * util[Eigen::Index(i)] - std::log(-std::log(unif(g)));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(o.per_user), order.end(),
                      [&](std::int32_t x, std::int32_t y) { return key[std::size_t(x)] > key[std::size_t(y)]; });
    std::vector<std::int32_t> picks(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(o.per_user));
    std::shuffle(picks.begin(), picks.end(), g);
    for (std::size_t p = 0; p < picks.size(); ++p) {
      auto& us = p < n_train ? tu : p < n_train + n_val ? vu : su;
      auto& is = p < n_train ? ti : p < n_train + n_val ? vi : si;
      us.push_back(static_cast<std::int32_t>(u));
      is.push_back(picks[p]);
    }
  }
  using store = brmrs::interactions<std::int32_t>;
  ds.train = store::from_pairs(o.n_users, o.n_items, tu, ti);
  ds.validation = store::from_pairs(o.n_users, o.n_items, vu, vi);
  ds.test = store::from_pairs(o.n_users, o.n_items, su, si);
  return ds;
}

}  // namespace train_example
